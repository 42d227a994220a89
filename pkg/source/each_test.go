package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
)

// committer acknowledges objects the way the ledger's coordinator does: a quarantine at once, from
// Handle's goroutine; a durable object only at the Drain (its commit), from the draining one; a
// late one from a goroutine of its own after Handle returned.
type committer struct {
	mu       sync.Mutex
	held     []ack.Done
	inHandle atomic.Int64
	maxIn    atomic.Int64
	drainErr error
	// drainedWithHandles is set when Drain ran while a Handle had not returned.
	drainedWithHandles atomic.Bool
}

func (c *committer) Handle(_ context.Context, obj ObjectRef, _ int, done ack.Done) {
	n := c.inHandle.Add(1)
	defer c.inHandle.Add(-1)
	for {
		m := c.maxIn.Load()
		if n <= m || c.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond) // overlap the workers
	switch obj.Key[0] {
	case 'q':
		done(ack.Quarantine("truncated", errors.New("poison")))
	case 'l':
		go func() { time.Sleep(5 * time.Millisecond); done(ack.Ok("ignored")); done(ack.Ok("ignored")) }()
	default:
		c.mu.Lock()
		c.held = append(c.held, done)
		c.mu.Unlock()
	}
}

func (c *committer) Drain(context.Context) error {
	if c.inHandle.Load() != 0 {
		c.drainedWithHandles.Store(true)
	}
	if c.drainErr != nil {
		return c.drainErr
	}
	c.mu.Lock()
	held := c.held
	c.held = nil
	c.mu.Unlock()
	for _, d := range held {
		go d(ack.Ok("durable"))
	}
	return nil
}

func listOf(keys []string) func(handle func(ObjectRef) error) error {
	return func(handle func(ObjectRef) error) error {
		for _, k := range keys {
			if err := handle(ObjectRef{Ref: ack.Ref{Bucket: "b", Key: k}}); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestHandleEach: every object's outcome arrives once, including those acknowledged only by the
// Drain; no more than workers Handles run at once; Drain runs after every Handle returned.
func TestHandleEach(t *testing.T) {
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("%c%02d", "dql"[i%3], i))
	}
	c := &committer{}
	got := map[string]ack.Outcome{} // written without a lock: HandleEach serializes the calls
	calls := 0
	listErr, drainErr := HandleEach(context.Background(), c, 3, 1, listOf(keys), func(ref ObjectRef, o ack.Outcome) {
		got[ref.Key] = o
		calls++
	})
	if listErr != nil || drainErr != nil {
		t.Fatal(listErr, drainErr)
	}
	if calls != len(keys) || len(got) != len(keys) {
		t.Fatalf("%d outcome calls for %d objects (%d distinct), want one each", calls, len(keys), len(got))
	}
	for k, o := range got {
		want := map[byte]ack.Kind{'d': ack.Durable, 'q': ack.Quarantined, 'l': ack.Durable}[k[0]]
		if o.Kind != want {
			t.Errorf("%s ended %v, want %v", k, o.Kind, want)
		}
	}
	if m := c.maxIn.Load(); m > 3 {
		t.Errorf("%d Handles at once with 3 workers", m)
	}
	if c.drainedWithHandles.Load() {
		t.Error("Drain ran before every Handle returned")
	}
}

// TestHandleEachFailedDrain: after a failed Drain, HandleEach returns without waiting for the
// objects that commit would have acknowledged, and no outcome is delivered after it returned.
func TestHandleEachFailedDrain(t *testing.T) {
	c := &committer{drainErr: errors.New("seal failed")}
	var mu sync.Mutex
	returned := false
	late := 0
	_, drainErr := HandleEach(context.Background(), c, 2, 1, listOf([]string{"d1", "l2", "d3"}), func(ObjectRef, ack.Outcome) {
		mu.Lock()
		if returned {
			late++
		}
		mu.Unlock()
	})
	mu.Lock()
	returned = true
	mu.Unlock()
	if !errors.Is(drainErr, c.drainErr) {
		t.Fatalf("drain error %v", drainErr)
	}
	// The held objects are released now (as a rollback would) and the late one fires.
	c.drainErr = nil
	c.Drain(context.Background())
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if late != 0 {
		t.Fatalf("%d outcomes delivered after HandleEach returned", late)
	}
}

// TestHandleEachCancelled: once ctx is done, handle refuses further objects and the list stops
// with ctx's error; what was started is still drained.
func TestHandleEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &committer{}
	n := 0
	listErr, drainErr := HandleEach(ctx, c, 1, 1, func(handle func(ObjectRef) error) error {
		for i := 0; ; i++ {
			if i == 5 {
				cancel()
			}
			if err := handle(ObjectRef{Ref: ack.Ref{Bucket: "b", Key: fmt.Sprintf("q%d", i)}}); err != nil {
				return err
			}
		}
	}, func(ObjectRef, ack.Outcome) { n++ })
	if !errors.Is(listErr, context.Canceled) || drainErr != nil {
		t.Fatalf("list %v, drain %v", listErr, drainErr)
	}
	if n != 5 {
		t.Fatalf("%d outcomes, want the 5 objects handed before the cancellation", n)
	}
}

// orderHandler records the keys it is given and acknowledges each at once; it cancels its context
// at the key cancelAt.
type orderHandler struct {
	mu       sync.Mutex
	keys     []string
	cancelAt string
	cancel   context.CancelFunc
}

func (h *orderHandler) Handle(_ context.Context, obj ObjectRef, _ int, done ack.Done) {
	h.mu.Lock()
	h.keys = append(h.keys, obj.Key)
	h.mu.Unlock()
	if obj.Key == h.cancelAt {
		h.cancel()
	}
	done(ack.Ok("durable"))
}

func (h *orderHandler) Drain(context.Context) error { return nil }

// TestHandleEachOrderAndCancel: one worker handles objects in listing order (the queue ahead of it
// is FIFO, also across its refills); once ctx is done the listing stops with ctx's error, and every
// object handle accepted still reaches Handle and its outcome.
func TestHandleEachOrderAndCancel(t *testing.T) {
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("d%03d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &orderHandler{cancelAt: "d150", cancel: cancel}
	var outcomes []string
	accepted := 0
	listErr, drainErr := HandleEach(ctx, h, 1, 1, func(handle func(ObjectRef) error) error {
		for _, k := range keys {
			if err := handle(ObjectRef{Ref: ack.Ref{Bucket: "b", Key: k}}); err != nil {
				return err
			}
			accepted++
		}
		return nil
	}, func(ref ObjectRef, _ ack.Outcome) { outcomes = append(outcomes, ref.Key) })
	if !errors.Is(listErr, context.Canceled) || drainErr != nil {
		t.Fatalf("listErr %v, drainErr %v; want the cancellation and nil", listErr, drainErr)
	}
	if accepted <= 150 || accepted == len(keys) {
		t.Fatalf("%d objects accepted; want the listing to stop after d150 was handled", accepted)
	}
	if len(h.keys) != accepted || len(outcomes) != accepted {
		t.Fatalf("%d accepted, %d handled, %d outcomes; want them equal", accepted, len(h.keys), len(outcomes))
	}
	for i, k := range h.keys {
		if k != keys[i] || outcomes[i] != keys[i] {
			t.Fatalf("object %d handled as %s with outcome %s, want %s", i, k, outcomes[i], keys[i])
		}
	}
}
