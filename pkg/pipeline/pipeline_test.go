package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
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

// processAll runs every object of bucket in src through p, workers at a time, as a source would:
// Process, then flush (nil: the sink acknowledges at End) and wait for every outcome. It returns
// the outcomes by key; an object Process could not read fails the test.
func processAll(t *testing.T, ctx context.Context, p *Processor, src store.Store, bucket string, workers int, flush func(context.Context) error) map[string]ack.Outcome {
	t.Helper()
	var keys []string
	if err := src.List(ctx, bucket, "", "", func(info store.Info) error { keys = append(keys, info.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		outcomes = map[string]ack.Outcome{}
		calls    = map[string]int{}
		wg       sync.WaitGroup
		sem      = make(chan struct{}, workers)
		failed   []error
	)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			in := Input{Ref: ack.Ref{Bucket: bucket, Key: k, Size: -1}, Done: func(o ack.Outcome) {
				mu.Lock()
				outcomes[k] = o
				calls[k]++
				mu.Unlock()
			}}
			if err := p.Process(ctx, in); err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("objects not read: %v", failed)
	}
	if flush != nil {
		if err := flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range keys {
		if calls[k] != 1 {
			t.Fatalf("%s: done called %d times, want once", k, calls[k])
		}
	}
	return outcomes
}

// kinds counts outcomes by kind, and returns the quarantined keys.
func kinds(outcomes map[string]ack.Outcome) (n map[ack.Kind]int, quarantined []string) {
	n = map[ack.Kind]int{}
	for k, o := range outcomes {
		n[o.Kind]++
		if o.Kind == ack.Quarantined {
			quarantined = append(quarantined, k)
		}
	}
	sort.Strings(quarantined)
	return n, quarantined
}

func TestRealSamplesAndPoison(t *testing.T) {
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
	const (
		corruptKey   = "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1100Z_corruptcorruptco.json.gz"
		truncatedKey = "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1105Z_truncatedtruncat.json.gz"
		unrelatedKey = "unrelated/readme.txt"
	)
	src.Put(ctx, bucket, corruptKey, corrupt, nil)
	src.Put(ctx, bucket, truncatedKey, gz(t, []byte(`{"Records":[{"eventVersion":"1.08",`)), nil)
	src.Put(ctx, bucket, unrelatedKey, []byte("hello"), nil)

	qdir := t.TempDir()
	qloc := store.Location{Store: store.NewLocal(qdir), Prefix: "quarantine/"}
	sink := &memSink{}
	p, err := New(Options{Store: src, Sink: sink, Quarantine: qloc})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := processAll(t, ctx, p, src, bucket, 3, nil)
	n, quarantined := kinds(outcomes)
	if len(outcomes) != 58 || n[ack.Durable] != 56 || n[ack.Retry] != 0 || !slices.Equal(quarantined, []string{corruptKey, truncatedKey}) {
		t.Fatalf("outcomes: %d objects, %v, quarantined %v", len(outcomes), n, quarantined)
	}
	if o := outcomes[unrelatedKey]; o.Class != "ignored" {
		t.Fatalf("the unrelated object ended %+v, want durable as ignored", o)
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
	for _, key := range quarantined {
		q := outcomes[key]
		var pe *parse.Error
		if !errors.As(q.Err, &pe) || string(pe.Class) != q.Class {
			t.Fatalf("%s: quarantine outcome %+v does not carry the parse error of its class", key, q)
		}
		if n := p.Stats().Get(parse.SourceCloudTrail, "errors_"+q.Class); n < 1 {
			t.Fatalf("%s: errors_%s not counted", key, q.Class)
		}
		where := qloc.Key(QuarantineKey(q.Class, bucket, key))
		info, err := qloc.Store.Head(ctx, "", where)
		if err != nil {
			t.Fatalf("quarantined copy of %s missing: %v", key, err)
		}
		if info.Metadata["class"] != q.Class || info.Metadata["reason"] == "" || info.Metadata["source-key"] != key {
			t.Fatalf("quarantine metadata %v for %s", info.Metadata, key)
		}
	}
}
