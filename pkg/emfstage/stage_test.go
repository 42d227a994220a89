package emfstage

import (
	"context"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/store"
)

type pub struct {
	added   []emf.Datum
	flushes int
}

func (p *pub) Add(d emf.Datum) error { p.added = append(p.added, d); return nil }
func (p *pub) Flush() error          { p.flushes++; return nil }

func datum(v float64) emf.Datum {
	return emf.Datum{Time: time.Now(), Namespace: "CloudTrailMetrics", Name: "prod-switch-elevated-count", Value: v}
}

// TestStageLifecycle: samples wait for the commit; a rolled-back attempt publishes nothing; a
// process that died after the commit leaves them to the next one, which publishes them once.
func TestStageLifecycle(t *testing.T) {
	ctx := context.Background()
	loc := store.Location{Store: store.NewLocal(t.TempDir()), Prefix: "_ledger/"}
	lin := rules.Lineage{Bucket: "b", Key: "AWSLogs/1/CloudTrail/k.json.gz"}

	// Rolled back: staged, persisted, discarded. Nothing published.
	p1 := &pub{}
	s1 := New(p1, loc)
	s1.AddFor(lin, datum(1))
	if err := s1.Persist(ctx, lin.Bucket, lin.Key); err != nil {
		t.Fatal(err)
	}
	s1.Discard(lin.Bucket, lin.Key)
	if len(p1.added) != 0 {
		t.Fatal("published before any commit")
	}

	// The next attempt commits, and the process dies before publishing (s2 is never asked to).
	s2 := New(&pub{}, loc)
	s2.AddFor(lin, datum(1))
	if err := s2.Persist(ctx, lin.Bucket, lin.Key); err != nil {
		t.Fatal(err)
	}

	// Redelivered to a new process, the ledger says done before: the persisted copy is published,
	// flushed, and gone, so a further redelivery publishes nothing.
	p3 := &pub{}
	s3 := New(p3, loc)
	for i := 0; i < 2; i++ {
		n, warn, err := s3.Publish(ctx, lin.Bucket, lin.Key)
		if err != nil || warn != nil {
			t.Fatal(err, warn)
		}
		if want := 1 - i; n != want {
			t.Fatalf("publish %d: %d samples, want %d", i, n, want)
		}
	}
	if len(p3.added) != 1 || p3.flushes != 1 {
		t.Fatalf("published %d samples in %d flushes", len(p3.added), p3.flushes)
	}

	// The ordinary path: staged, persisted, committed, published from memory, copy deleted.
	p4 := &pub{}
	s4 := New(p4, loc)
	s4.AddFor(lin, datum(2))
	s4.AddFor(lin, datum(3))
	if err := s4.Persist(ctx, lin.Bucket, lin.Key); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s4.Publish(ctx, lin.Bucket, lin.Key); err != nil || n != 2 {
		t.Fatalf("publish: %d, %v", n, err)
	}
	if n, _, _ := New(&pub{}, loc).Publish(ctx, lin.Bucket, lin.Key); n != 0 {
		t.Fatalf("copy left behind: %d samples", n)
	}
}
