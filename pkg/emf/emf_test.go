package emf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2023, 7, 10, 11, 45, 0, 0, time.UTC)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// doc is the EMF document structure, decoded to check the limits independently of the golden text.
type doc struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	rest map[string]json.RawMessage
}

func parseDocs(t *testing.T, out []byte) []doc {
	t.Helper()
	var docs []doc
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("not JSON: %s: %v", sc.Bytes(), err)
		}
		if err := json.Unmarshal(sc.Bytes(), &d.rest); err != nil {
			t.Fatal(err)
		}
		if len(d.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("want one directive: %s", sc.Bytes())
		}
		dir := d.AWS.CloudWatchMetrics[0]
		if len(dir.Metrics) > MaxMetricsPerDocument {
			t.Errorf("%d metrics in one document", len(dir.Metrics))
		}
		for _, set := range dir.Dimensions {
			if len(set) > MaxDimensions {
				t.Errorf("%d dimensions", len(set))
			}
			for _, name := range set {
				if _, ok := d.rest[name]; !ok {
					t.Errorf("dimension %s has no value member", name)
				}
			}
		}
		for _, m := range dir.Metrics {
			var vals []float64
			raw := d.rest[m.Name]
			if err := json.Unmarshal(raw, &vals); err != nil {
				var v float64
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("metric %s value %s", m.Name, raw)
				}
				vals = []float64{v}
			}
			if len(vals) > MaxValuesPerMetric {
				t.Errorf("metric %s has %d values", m.Name, len(vals))
			}
		}
		docs = append(docs, d)
	}
	return docs
}

func TestGoldenOrgTrail(t *testing.T) {
	var out bytes.Buffer
	a := New(&out, Options{Now: func() time.Time { return t0 }})
	add := func(d Datum) {
		if err := a.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	// Three SwitchRole matches in one minute, one in the next; two accounts as dimensions on a
	// second metric; an operational metric without dimensions.
	for _, sec := range []int{1, 20, 59} {
		add(Datum{Time: t0.Add(time.Duration(sec) * time.Second), Namespace: "OrgTrailMetrics", Name: "prod-switch-elevated-count", Unit: "Count", Value: 1})
	}
	add(Datum{Time: t0.Add(61 * time.Second), Namespace: "OrgTrailMetrics", Name: "prod-switch-elevated-count", Unit: "Count", Value: 1})
	add(Datum{Time: t0, Namespace: "OrgTrailMetrics", Name: "RootUsage", Unit: "Count", Value: 1,
		Dimensions: []Dimension{{"@aws.region", "us-east-1"}, {"@aws.account", "123456789012"}}})
	add(Datum{Time: t0.Add(5 * time.Second), Namespace: "OrgTrailMetrics", Name: "RootUsage", Unit: "Count", Value: 1,
		Dimensions: []Dimension{{"@aws.account", "123456789012"}, {"@aws.region", "us-east-1"}}})
	add(Datum{Time: t0.Add(5 * time.Second), Namespace: "logarchive", Name: "RecordsParsed", Unit: "Count", Value: 2900})
	add(Datum{Time: t0.Add(5 * time.Second), Namespace: "logarchive", Name: "ObjectBytes", Unit: "Bytes", Value: 521389.5})
	if a.Pending() != 8 {
		t.Fatalf("pending %d", a.Pending())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	docs := parseDocs(t, out.Bytes())
	if len(docs) != 4 {
		t.Errorf("%d documents, want 4 (two minutes of SwitchRole, one RootUsage group, one operational)", len(docs))
	}
	golden(t, "orgtrail", out.Bytes())
	if a.Pending() != 0 {
		t.Errorf("flush left %d samples", a.Pending())
	}
	out.Reset()
	if err := a.Flush(); err != nil || out.Len() != 0 {
		t.Errorf("empty flush wrote %q, %v", out.String(), err)
	}
}

func TestGoldenSplitsAtLimits(t *testing.T) {
	var out bytes.Buffer
	a := New(&out, Options{Now: func() time.Time { return t0 }})
	// 150 samples of one metric and 101 metrics with one sample each in the same group.
	for i := 0; i < 150; i++ {
		_ = a.Add(Datum{Time: t0, Namespace: "N", Name: "busy", Value: float64(i % 3)})
	}
	for i := 0; i < 101; i++ {
		_ = a.Add(Datum{Time: t0, Namespace: "N", Name: fmt.Sprintf("m%03d", i), Value: 1})
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	docs := parseDocs(t, out.Bytes())
	// busy + m000..m098 (100 metrics) → 2 documents for busy's 150 values; m099, m100 → 1 more.
	if len(docs) != 3 {
		t.Errorf("%d documents, want 3", len(docs))
	}
	var total int
	for _, d := range docs {
		if raw, ok := d.rest["busy"]; ok {
			var vals []float64
			_ = json.Unmarshal(raw, &vals)
			total += len(vals)
		}
	}
	if total != 150 {
		t.Errorf("busy carried %d samples in all, want 150", total)
	}
	golden(t, "split", out.Bytes())
}

func TestAddRejects(t *testing.T) {
	a := New(&bytes.Buffer{}, Options{})
	many := make([]Dimension, 31)
	for i := range many {
		many[i] = Dimension{fmt.Sprintf("d%d", i), "v"}
	}
	for _, d := range []Datum{
		{Namespace: "", Name: "x"},
		{Namespace: "n", Name: ""},
		{Namespace: "n", Name: "x", Value: 1 / zero()},
		{Namespace: "n", Name: "x", Dimensions: many},
		{Namespace: "n", Name: "x", Dimensions: []Dimension{{"x", "v"}}},
		{Namespace: "n", Name: "x", Dimensions: []Dimension{{"a", "v"}, {"a", "w"}}},
	} {
		if err := a.Add(d); !errors.Is(err, ErrInvalidDatum) {
			t.Errorf("Add(%+v) = %v, want ErrInvalidDatum", d.Name, err)
		}
	}
}

func zero() float64 { return 0 }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFlushErrorAndRun(t *testing.T) {
	a := New(failWriter{}, Options{Now: func() time.Time { return t0 }})
	_ = a.Add(Datum{Time: t0, Namespace: "n", Name: "x", Value: 1})
	if err := a.Flush(); err == nil {
		t.Error("write error not reported")
	}
	var out bytes.Buffer
	b := New(&out, Options{Now: func() time.Time { return t0 }})
	_ = b.Add(Datum{Time: t0, Namespace: "n", Name: "x", Value: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Run(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(parseDocs(t, out.Bytes())) != 1 {
		t.Errorf("Run did not flush on cancel: %q", out.String())
	}
}

func TestTimestampWindow(t *testing.T) {
	var out bytes.Buffer
	a := New(&out, Options{Now: func() time.Time { return t0 }})
	for _, ts := range []time.Time{t0.Add(-15 * 24 * time.Hour), t0.Add(3 * time.Hour), t0.Add(-13 * 24 * time.Hour), t0.Add(time.Hour)} {
		if err := a.Add(Datum{Time: ts, Namespace: "n", Name: "x", Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.Flush()
	if s := a.Stats(); s.Added != 2 || s.Dropped != 2 || s.Written != 2 {
		t.Errorf("stats %+v, want 2 added, 2 dropped, 2 documents", s)
	}
	all := New(&out, Options{Now: func() time.Time { return t0 }, MaxAge: -1, MaxFuture: -1})
	_ = all.Add(Datum{Time: t0.Add(-400 * 24 * time.Hour), Namespace: "n", Name: "x", Value: 1})
	if all.Stats().Added != 1 {
		t.Error("window not disabled")
	}
}
