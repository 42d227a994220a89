package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
)

func TestWriteText(t *testing.T) {
	tests := []struct {
		name    string
		collect Collector
		want    string
		wantErr bool
	}{
		{"counter with labels sorted", func(w *Writer) {
			w.Add("objects_total", "Objects processed.", Counter, 3, "source", "cloudtrail", "class", "durable")
			w.Add("objects_total", "Objects processed.", Counter, 1, "source", "vpcflow", "class", "durable")
		}, "# HELP objects_total Objects processed.\n# TYPE objects_total counter\n" +
			"objects_total{class=\"durable\",source=\"cloudtrail\"} 3\nobjects_total{class=\"durable\",source=\"vpcflow\"} 1\n", false},
		{"escaping", func(w *Writer) {
			w.Add("g", "line1\nback\\slash", Gauge, 0.5, "key", "a\"b\\c\nd")
		}, "# HELP g line1\\nback\\\\slash\n# TYPE g gauge\ng{key=\"a\\\"b\\\\c\\nd\"} 0.5\n", false},
		{"special values", func(w *Writer) {
			w.Add("a", "h", Gauge, math.Inf(1))
			w.Add("b", "h", Gauge, math.NaN())
			w.Add("c", "h", Gauge, 1e21)
		}, "# HELP a h\n# TYPE a gauge\na +Inf\n# HELP b h\n# TYPE b gauge\nb NaN\n# HELP c h\n# TYPE c gauge\nc 1e+21\n", false},
		{"bad metric name", func(w *Writer) { w.Add("1bad", "h", Gauge, 1) }, "", true},
		{"bad label name", func(w *Writer) { w.Add("ok", "h", Gauge, 1, "bad-label", "x") }, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			err := WriteText(&b, tc.collect)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; output %q", b.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestServer(t *testing.T) {
	var unhealthy atomic.Pointer[error]
	s, err := Start(Options{Addr: "127.0.0.1:0", Health: func() error {
		if e := unhealthy.Load(); e != nil {
			return *e
		}
		return nil
	},
		Collectors: []Collector{func(w *Writer) { w.Add("up", "Always 1.", Gauge, 1) }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	stuck := errors.New("sink stuck")
	unhealthy.Store(&stuck)
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "sink stuck") {
		t.Fatalf("unhealthy healthz %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || body != "# HELP up Always 1.\n# TYPE up gauge\nup 1\n" {
		t.Fatalf("metrics %d %q", code, body)
	}
}

func TestEMFBridgeDeltas(t *testing.T) {
	var out strings.Builder
	agg := emf.New(&out, emf.Options{})
	var objects, inflight float64
	b := &EMFBridge{Agg: agg, Namespace: "LogArchive/Ingest", Collectors: []Collector{func(w *Writer) {
		w.Add("objects_total", "h", Counter, objects, "source", "cloudtrail")
		w.Add("in_flight_messages", "h", Gauge, inflight)
	}}}
	// Recent minutes: the aggregator drops samples outside CloudWatch's timestamp window.
	minute := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	for i, step := range []struct{ objects, inflight float64 }{{3, 7}, {5, 2}, {1, 0}} {
		objects, inflight = step.objects, step.inflight
		if err := b.Tick(minute.Add(time.Duration(i) * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Flush(); err != nil {
		t.Fatal(err)
	}
	// Per minute: counter deltas 3, 2, then 1 (the counter restarted), gauges as sampled.
	want := map[string][]float64{"objects": {3, 2, 1}, "in_flight_messages": {7, 2, 0}}
	got := map[string][]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		for name := range want {
			switch v := doc[name].(type) {
			case float64:
				got[name] = append(got[name], v)
			case []any:
				for _, x := range v {
					got[name] = append(got[name], x.(float64))
				}
			}
		}
	}
	for name, w := range want {
		if fmt.Sprint(got[name]) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v\n%s", name, got[name], w, out.String())
		}
	}
}
