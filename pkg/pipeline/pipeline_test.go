package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// memSink keeps what each object handed on and acknowledges it at End: enough to observe what the
// pipeline streams.
type memSink struct {
	mu      sync.Mutex
	batches []*memObject
}

// memObject is what one object handed on; aborted objects are dropped.
type memObject struct {
	m         *memSink
	ref       ack.Ref
	done      ack.Done
	Records   []parse.Record
	Findings  []sink.FindingRow
	Integrity []sink.IntegrityRow
}

func (m *memSink) Begin(ref ack.Ref, done ack.Done) ObjectWriter {
	return &memObject{m: m, ref: ref, done: done}
}

func (o *memObject) Add(_ context.Context, rec *parse.Record) error {
	r := *rec
	r.Raw = nil // Raw aliases the decoder's buffer
	o.Records = append(o.Records, r)
	return nil
}

func (o *memObject) AddFinding(_ context.Context, f sink.FindingRow) error {
	o.Findings = append(o.Findings, f)
	return nil
}

func (o *memObject) AddIntegrity(_ context.Context, r sink.IntegrityRow) error {
	o.Integrity = append(o.Integrity, r)
	return nil
}

func (o *memObject) End() {
	o.m.mu.Lock()
	o.m.batches = append(o.m.batches, o)
	o.m.mu.Unlock()
	o.done(ack.Ok("durable"))
}

func (o *memObject) Abort(out ack.Outcome) { o.done(out) }

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestRunLocalRealSamplesAndPoison(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := store.NewLocal(dir)
	const bucket = "org-archive"
	// Real CloudTrail files (stored inflated upstream) put where an org trail delivers them, gzipped.
	realDir := samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset")
	files, _ := filepath.Glob(filepath.Join(realDir, "*.json"))
	if len(files) != 55 {
		t.Fatalf("want the 55 invictus-ir files, found %d", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		key := "AWSLogs/o-abcdefghij/218007301253/CloudTrail/us-east-1/2023/07/10/" + filepath.Base(f) + ".gz"
		if err := src.Put(ctx, bucket, key, gz(t, body), nil); err != nil {
			t.Fatal(err)
		}
	}
	// A corrupt object and a truncated one must be quarantined without affecting the others.
	good := gz(t, []byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2023-07-10T11:00:00Z","eventName":"X"}]}`))
	corrupt := append([]byte{}, good...)
	corrupt[len(corrupt)/2] ^= 0xff
	src.Put(ctx, bucket, "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1100Z_corruptcorruptco.json.gz", corrupt, nil)
	src.Put(ctx, bucket, "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1105Z_truncatedtruncat.json.gz", gz(t, []byte(`{"Records":[{"eventVersion":"1.08",`)), nil)
	src.Put(ctx, bucket, "unrelated/readme.txt", []byte("hello"), nil)

	qdir := t.TempDir()
	sink := &memSink{}
	p, err := New(Options{Store: src, Sink: sink, Quarantine: store.Location{Store: store.NewLocal(qdir), Prefix: "quarantine/"}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunLocal(ctx, p, src, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Objects != 58 || rep.Done != 56 || len(rep.Quarantined) != 2 || len(rep.Failed) != 0 {
		t.Fatalf("report: objects=%d done=%d quarantined=%d failed=%v", rep.Objects, rep.Done, len(rep.Quarantined), rep.Failed)
	}
	records := 0
	for _, b := range sink.batches {
		records += len(b.Records)
		for _, r := range b.Records {
			if r.CloudTrail == nil || r.CloudTrail.EventTime.IsZero() {
				t.Fatalf("record without a CloudTrail event time in %s", b.ref.Key)
			}
		}
	}
	// SOURCES.md: the dataset holds 2,900 records.
	if records != 2900 || p.Stats().Get(parse.SourceCloudTrail, "records") != 2900 {
		t.Fatalf("records = %d (stats %d), want 2900", records, p.Stats().Get(parse.SourceCloudTrail, "records"))
	}
	if p.Stats().Get(parse.SourceUnknown, "ignored") != 1 {
		t.Fatalf("the unrelated object was not counted as ignored: %s", p.Stats().Summary())
	}
	for _, q := range rep.Quarantined {
		var pe *parse.Error
		if !errors.As(q, &pe) {
			t.Fatalf("quarantine error does not carry the parse error: %v", q)
		}
		info, err := store.NewLocal(qdir).Head(ctx, "", q.Where)
		if err != nil {
			t.Fatalf("quarantined copy of %s missing: %v", q.Key, err)
		}
		if info.Metadata["class"] != q.Class || info.Metadata["reason"] == "" || info.Metadata["source-key"] != q.Key {
			t.Fatalf("quarantine metadata %v for %s", info.Metadata, q.Key)
		}
	}
}
