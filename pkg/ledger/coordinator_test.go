package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

// fakeSink buffers processed inputs and, on Flush, runs the sink's checkpoint protocol: BeforeCommit,
// write one file, AfterCommit, then the inputs' done callbacks.
type fakeSink struct {
	e       *env
	l       *Ledger
	mu      sync.Mutex
	pending []ack.Ref
	dones   []ack.Done
	rows    map[string]int // input key → rows written
	files   int
	failAt  int // fail the file write of the failAt-th flush (1-based); 0 never
	flushes int
}

func (s *fakeSink) Process(ctx context.Context, ref ack.Ref, done ack.Done) error {
	switch ref.Key {
	case "poison":
		done(ack.Quarantine("corrupt", errors.New("corrupt gzip")))
		return nil
	case "empty":
		done(ack.Ok(""))
		return nil
	case "throttled":
		return errors.New("SlowDown")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, ref)
	s.dones = append(s.dones, done)
	return nil
}

func (s *fakeSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	ins, dones := s.pending, s.dones
	s.flushes++
	fail := s.flushes == s.failAt
	s.mu.Unlock()
	if len(ins) == 0 {
		return nil
	}
	f := File{Bucket: s.e.bucket, Key: fmt.Sprintf("tables/f%d.parquet", s.flushes)}
	if err := s.l.BeforeCommit(ctx, ins, []File{f}); err != nil {
		return err
	}
	if fail {
		return errors.New("upload failed")
	}
	s.e.writeFiles([]File{f})
	s.l.AfterCommit()
	s.mu.Lock()
	s.pending, s.dones = nil, nil
	for _, in := range ins {
		s.rows[in.Key]++
	}
	s.files++
	s.mu.Unlock()
	for _, d := range dones {
		d(ack.Ok(""))
	}
	return nil
}

type results struct {
	mu sync.Mutex
	m  map[string]ack.Outcome
}

func (r *results) done(key string) ack.Done {
	return func(res ack.Outcome) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, dup := r.m[key]; dup {
			panic("done called twice for " + key)
		}
		r.m[key] = res
	}
}

func (r *results) get(key string) (ack.Outcome, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.m[key]
	return res, ok
}

func obj(key, etag string) source.ObjectRef {
	return source.ObjectRef{Ref: ack.Ref{Bucket: "logs", Key: key, ETag: etag, Size: 10}, EventTime: t0}
}

func newCoordinator(t *testing.T, e *env, name string) (*Coordinator, *fakeSink, *[]error) {
	t.Helper()
	l := e.open(name, 0)
	fs := &fakeSink{e: e, l: l, rows: map[string]int{}}
	var fatal []error
	c, err := NewCoordinator(CoordinatorOptions{Ledger: l, Processor: fs, Flush: fs.Flush, Inputs: e.loc.Store,
		Fatal: func(err error) { fatal = append(fatal, err) }})
	if err != nil {
		t.Fatal(err)
	}
	return c, fs, &fatal
}

func TestCoordinator(t *testing.T) {
	ctx := context.Background()
	e := localEnv(t)
	c, fs, fatal := newCoordinator(t, e, "w1")
	r := &results{m: map[string]ack.Outcome{}}
	for _, k := range []string{"a", "b", "poison", "empty", "throttled"} {
		c.Handle(ctx, obj(k, "e-"+k), 1, r.done(k))
	}
	// Rows wait for the seal; the others are settled at once.
	for k, want := range map[string]ack.Outcome{
		"poison": {Kind: ack.Quarantined, Class: "corrupt"}, "empty": {Kind: ack.Durable, Class: "durable"},
	} {
		if got, ok := r.get(k); !ok || got.Kind != want.Kind || got.Class != want.Class {
			t.Fatalf("%s: %+v, want %+v", k, got, want)
		}
	}
	if got, _ := r.get("throttled"); got.Acked() || got.RetryAfter >= 0 || got.Class != "transient" {
		t.Fatalf("throttled: %+v, want a backoff retry", got)
	}
	if _, ok := r.get("a"); ok {
		t.Fatal("a acknowledged before its rows were committed")
	}
	// A duplicate delivery while a is in flight is busy, not processed twice.
	c.Handle(ctx, obj("a", "e-a"), 1, r.done("a-dup"))
	if got, _ := r.get("a-dup"); got.Class != "busy" || got.Acked() {
		t.Fatalf("duplicate: %+v", got)
	}
	if err := c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if got, ok := r.get(k); !ok || !got.Acked() {
			t.Fatalf("%s after seal: %+v %v", k, got, ok)
		}
	}
	// Redelivered after the commit: acknowledged without processing.
	c2, fs2, _ := newCoordinator(t, e, "w2")
	c2.Handle(ctx, obj("a", "e-a"), 2, r.done("a-again"))
	if got, _ := r.get("a-again"); !got.Acked() || got.Class != "done_before" {
		t.Fatalf("redelivery: %+v", got)
	}
	if fs.rows["a"] != 1 || fs2.rows["a"] != 0 || len(*fatal) != 0 {
		t.Fatalf("rows %v / %v, fatal %v", fs.rows, fs2.rows, *fatal)
	}
	if st := c.Stats(); st.Sealed != 1 || st.SealedInputs != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCoordinatorFailedFlushIsFatal(t *testing.T) {
	ctx := context.Background()
	e := localEnv(t)
	c, fs, fatal := newCoordinator(t, e, "w1")
	fs.failAt = 1
	r := &results{m: map[string]ack.Outcome{}}
	c.Handle(ctx, obj("a", "e"), 1, r.done("a"))
	if err := c.Seal(ctx); err == nil {
		t.Fatal("seal succeeded with a failed upload")
	}
	if len(*fatal) != 1 {
		t.Fatalf("fatal called %d times", len(*fatal))
	}
	// The object is free for another worker at once: the transaction was rolled back.
	l2 := e.open("w2", 0)
	e.claim(l2, ack.Ref{Bucket: "logs", Key: "a", ETag: "e"}, Process)
	if n, err := l2.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("recover found %d dead transactions (%v); the rollback should have left none", n, err)
	}
	var left []string
	e.loc.Store.List(ctx, e.bucket, "tables/", "", func(i store.Info) error { left = append(left, i.Key); return nil })
	if len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}
