package ocsf

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
)

// TestDetectionFindingsFromCIS runs the CIS pack over the invictus trail, maps every match to
// 2004, writes it and reads it back.
func TestDetectionFindingsFromCIS(t *testing.T) {
	set, err := rules.Compile(rules.CIS(""), rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := rules.NewEngine(set, nil, rules.EngineOptions{})
	files, err := filepath.Glob(filepath.Join(samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset"), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var findings []rules.Finding
	for _, f := range files {
		key := "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + filepath.Base(f) + ".gz"
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := parse.NewDecoder(parse.Classify("archive", key), fh, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if findings, err = eng.Process(&rec, rules.Lineage{Bucket: "archive", Key: key}, findings); err != nil {
				t.Fatal(err)
			}
		}
		fh.Close()
	}
	if len(findings) == 0 {
		t.Fatal("the CIS pack matched nothing in the invictus trail")
	}

	w, st := testWriter(t, WriterOptions{})
	ctx := context.Background()
	byUID := map[string]*rules.Finding{}
	for i := range findings {
		f := &findings[i]
		row, err := DetectionFindingOf(f)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := DetectionFindingOf(f)
		if again.FindingInfo.UID != row.FindingInfo.UID {
			t.Fatal("finding uid is not deterministic")
		}
		if prev := byUID[row.FindingInfo.UID]; prev != nil {
			t.Fatalf("findings %s/%d and %s/%d share uid", prev.Rule, prev.SourceIndex, f.Rule, f.SourceIndex)
		}
		byUID[row.FindingInfo.UID] = f
		if err := w.Add(ctx, row, Lineage{Bucket: f.SourceBucket, Key: f.SourceKey, Index: f.SourceIndex}); err != nil {
			t.Fatal(err)
		}
	}
	files2, err := w.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fl := range files2 {
		if fl.Class != ClassDetectionFinding {
			t.Fatalf("%v object from findings", fl.Class)
		}
		data, err := os.ReadFile(filepath.Join(st.Root(), "lake", fl.Key))
		if err != nil {
			t.Fatal(err)
		}
		checkOCSF(t, data)
		for _, r := range readRows(t, data) {
			n++
			f := byUID[get(r, "finding_info.uid").(string)]
			if f == nil {
				t.Fatalf("row with unknown finding uid %v", get(r, "finding_info.uid"))
			}
			var ev struct{ EventID, EventName string }
			if err := json.Unmarshal([]byte(r["raw_data"].(string)), &ev); err != nil {
				t.Fatalf("raw_data is not the record's JSON: %v", err)
			}
			rel, _ := get(r, "finding_info.related_events").([]any)
			if len(rel) != 1 || rel[0].(map[string]any)["uid"] != ev.EventID || ev.EventID != f.EventID {
				t.Errorf("related_events %v, raw eventID %q, finding %q", rel, ev.EventID, f.EventID)
			}
			if get(r, "finding_info.title") != f.Rule || get(r, "finding_info.analytic.name") != f.Rule ||
				get(r, "cloud.account.uid") != f.Account || r["time"] != float64(f.EventTime.UnixMilli()) ||
				r["type_uid"] != 200401.0 || get(r, "finding_info.analytic.type_id") != 1.0 {
				t.Errorf("row %v for finding %+v", r["finding_info"], f)
			}
			if um := unmappedOf(r["unmapped"]); um["metric.name"] != f.MetricName || um["source.key"] != f.SourceKey {
				t.Errorf("unmapped %v", um)
			}
		}
	}
	if n != len(findings) {
		t.Errorf("%d rows read back, %d findings", n, len(findings))
	}
	t.Logf("%d CIS findings", n)
}
