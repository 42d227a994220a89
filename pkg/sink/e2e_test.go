package sink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/synth"
)

// memArchive holds a generated archive in memory (synth.ObjectWriter).
type memArchive struct {
	mu      sync.Mutex
	objects map[string][]byte // key → body
}

func (m *memArchive) Put(_ context.Context, _, key string, body []byte, _ map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	m.objects[key] = slices.Clone(body)
	return nil
}

// sortedObjects returns the archive's log objects (digests left out) in key order.
func (m *memArchive) sortedObjects(bucket string) []sampleObject {
	var out []sampleObject
	for k, b := range m.objects {
		if parse.Classify(bucket, k).Source == parse.SourceDigest {
			continue
		}
		out = append(out, sampleObject{key: k, body: b})
	}
	slices.SortFunc(out, func(a, b sampleObject) int { return strings.Compare(a.key, b.key) })
	return out
}

func generate(tb testing.TB, opts synth.Options) (*synth.Manifest, *memArchive) {
	tb.Helper()
	arch := &memArchive{}
	m, err := synth.Generate(context.Background(), arch, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return m, arch
}

// TestEndToEndSynthetic runs a synthetic org archive (two days: 22:00–02:00 UTC) through parse and
// the sink and checks rows in = rows out per table, partitions by event day, and one file per
// table and day when everything fits one checkpoint.
func TestEndToEndSynthetic(t *testing.T) {
	opts := synth.DefaultOptions(7)
	opts.Start = time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)
	opts.Hours = 4
	opts.EventsPerHour = 60
	opts.FlowRecordsPerHour = 120
	opts.ResolverQueriesPerHour = 60
	m, arch := generate(t, opts)
	objs := arch.sortedObjects(m.Bucket)

	s, root := newLocalSink(t, Options{})
	var (
		mu   sync.Mutex
		done int
	)
	ctx := context.Background()
	counts := map[Table]int{}
	for _, o := range objs {
		obj := parse.Classify(m.Bucket, o.key)
		dec, err := parse.NewDecoder(obj, bytes.NewReader(o.body), parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", o.key, err)
		}
		in := beginRef(s, InputRef{Bucket: m.Bucket, Key: o.key, Done: func(err error) {
			if err != nil {
				t.Errorf("%s: %v", o.key, err)
			}
			mu.Lock()
			done++
			mu.Unlock()
		}})
		var rec parse.Record
		for {
			if err := dec.Next(&rec); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", o.key, err)
			}
			if err := in.Add(ctx, &rec); err != nil {
				t.Fatal(err)
			}
			switch rec.Source {
			case parse.SourceCloudTrail, parse.SourceInsight:
				counts[TableCloudTrail]++
			case parse.SourceVPCFlow:
				counts[TableVPCFlow]++
			case parse.SourceResolver:
				counts[TableResolver]++
			}
		}
		in.End()
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if done != len(objs) {
		t.Errorf("%d of %d inputs done", done, len(objs))
	}
	want := map[Table]int{
		TableCloudTrail: m.Tables[synth.TableCloudTrail].Records + m.Tables[synth.TableInsight].Records,
		TableVPCFlow:    m.Tables[synth.TableVPCFlow].Records,
		TableResolver:   m.Tables[synth.TableResolver].Records,
	}
	for table, n := range want {
		if n == 0 {
			t.Fatalf("manifest has no %s records", table)
		}
		if counts[table] != n {
			t.Errorf("%s: parse yielded %d records, manifest says %d", table, counts[table], n)
		}
		rows := readTable(t, root, table) // also checks sort order and partition of every row
		if len(rows) != n {
			t.Errorf("%s: read %d rows, manifest says %d", table, len(rows), n)
		}
		files := tableFiles(t, root, table)
		t.Logf("%s: %d rows in %d files", table, len(rows), len(files))
		days := map[string]bool{}
		for _, f := range files {
			days[f[strings.Index(f, "dt="):strings.LastIndex(f, "/")]] = true
		}
		if len(days) != len(files) {
			t.Errorf("%s: %d files in %d partitions, want one per partition", table, len(files), len(days))
		}
		if !days["dt=2026-03-02"] || !days["dt=2026-03-03"] {
			t.Errorf("%s: partitions %v, want both days of the 22:00–02:00 archive", table, days)
		}
	}
}
