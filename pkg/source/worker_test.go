package source

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logarchive/logarchive/pkg/ack"
)

// fakeSQS is an in-memory queue with SQS's visibility semantics.
type fakeSQS struct {
	mu       sync.Mutex
	msgs     []*fmsg
	seq      int
	dlq      []string
	asked    []int // MaxNumberOfMessages of each receive
	busyAtRx []int // handler calls in progress at each receive (filled by the test's handler)
	onRx     func() int
	vis      []int32 // every visibility change
	delCalls int     // DeleteMessageBatch requests
}

type fmsg struct {
	id, body, receipt string
	visibleAt         time.Time
	receives          int
	deleted           bool
}

func (f *fakeSQS) add(body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.msgs = append(f.msgs, &fmsg{id: "m" + strconv.Itoa(f.seq), body: body})
}

func (f *fakeSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	deadline := time.Now().Add(time.Duration(in.WaitTimeSeconds) * time.Second)
	f.mu.Lock()
	f.asked = append(f.asked, int(in.MaxNumberOfMessages))
	if f.onRx != nil {
		f.busyAtRx = append(f.busyAtRx, f.onRx())
	}
	f.mu.Unlock()
	for {
		f.mu.Lock()
		var out []types.Message
		now := time.Now()
		for _, m := range f.msgs {
			if len(out) == int(in.MaxNumberOfMessages) {
				break
			}
			if m.deleted || m.visibleAt.After(now) {
				continue
			}
			f.seq++
			m.receipt = fmt.Sprintf("%s-r%d", m.id, f.seq)
			m.receives++
			m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
			out = append(out, types.Message{MessageId: aws.String(m.id), ReceiptHandle: aws.String(m.receipt), Body: aws.String(m.body),
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
		}
		f.mu.Unlock()
		if len(out) > 0 || time.Now().After(deadline) {
			return &sqs.ReceiveMessageOutput{Messages: out}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (f *fakeSQS) find(receipt string) *fmsg {
	for _, m := range f.msgs {
		if m.receipt == receipt && !m.deleted {
			return m
		}
	}
	return nil
}

func (f *fakeSQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delCalls++
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		if m := f.find(*e.ReceiptHandle); m != nil {
			m.deleted = true
			out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
		} else {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Message: aws.String("stale receipt")})
		}
	}
	return out, nil
}

func (f *fakeSQS) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		f.vis = append(f.vis, e.VisibilityTimeout)
		if m := f.find(*e.ReceiptHandle); m != nil {
			m.visibleAt = time.Now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
			out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
		}
	}
	return out, nil
}

func (f *fakeSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dlq = append(f.dlq, *in.MessageBody)
	return &sqs.SendMessageOutput{}, nil
}

// state returns (not deleted, of which visible now).
func (f *fakeSQS) state() (left, visible int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.msgs {
		if !m.deleted {
			left++
			if !m.visibleAt.After(time.Now()) {
				visible++
			}
		}
	}
	return
}

func s3Note(keys ...string) string {
	s := `{"Records":[`
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += `{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"` + k + `","size":100,"eTag":"e-` + k + `"}}}`
	}
	return s + `]}`
}

// funcHandler adapts functions to Handler.
type funcHandler struct {
	handle func(ctx context.Context, obj ObjectRef, attempt int, done ack.Done)
	drain  func(ctx context.Context) error
}

func (h *funcHandler) Handle(ctx context.Context, obj ObjectRef, attempt int, done ack.Done) {
	h.handle(ctx, obj, attempt, done)
}

func (h *funcHandler) Drain(ctx context.Context) error {
	if h.drain == nil {
		return nil
	}
	return h.drain(ctx)
}

func newWorker(t *testing.T, q *fakeSQS, h Handler, mod func(*Options)) *Worker {
	t.Helper()
	o := Options{QueueURL: "q", Client: q, Handler: h, Workers: 3, VisibilityTimeout: 3 * time.Second,
		Heartbeat: time.Second, WaitTime: time.Second, ExitWhenIdle: 1500 * time.Millisecond, DrainTimeout: 5 * time.Second,
		RetryBase: time.Second}
	if mod != nil {
		mod(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWorkerDispositions(t *testing.T) {
	q := &fakeSQS{}
	q.add(s3Note("ok1", "ok2"))
	q.add(s3Note("ok1")) // the same object in a second message: handled once, both deleted
	q.add(`{"Service":"Amazon S3","Event":"s3:TestEvent"}`)
	q.add(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"gone"}}}]}`)
	q.add(`{"not":"a notification"}`)
	q.add(s3Note("transient"))
	var mu sync.Mutex
	calls := map[string]int{}
	h := &funcHandler{handle: func(ctx context.Context, obj ObjectRef, attempt int, done ack.Done) {
		mu.Lock()
		calls[obj.Key]++
		n := calls[obj.Key]
		mu.Unlock()
		if obj.Key == "transient" && n == 1 {
			time.Sleep(50 * time.Millisecond) // let the duplicate arrive while ok1 is in flight
			done(ack.Outcome{Kind: ack.Retry, Class: "transient", Err: fmt.Errorf("throttled")})
			return
		}
		// Acknowledge later, from another goroutine, as a flush would.
		go func() { time.Sleep(100 * time.Millisecond); done(ack.Ok("durable")) }()
	}}
	w := newWorker(t, q, h, func(o *Options) { o.DeadLetterURL = "dlq" })
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := q.state(); left != 0 {
		t.Fatalf("%d messages left in the queue", left)
	}
	if calls["ok1"] != 1 || calls["ok2"] != 1 || calls["transient"] != 2 || calls["gone"] != 0 {
		t.Fatalf("handler calls %v", calls)
	}
	if len(q.dlq) != 1 || q.dlq[0] != `{"not":"a notification"}` {
		t.Fatalf("dead-letter queue holds %q", q.dlq)
	}
	st := w.Stats()
	if st.Malformed != 1 || st.TestEvents != 1 || st.DuplicateObjects != 1 || st.IgnoredNotes != 1 || st.Released != 1 {
		t.Fatalf("stats %+v", st)
	}
	if time.Since(st.LastReceive) > 5*time.Second {
		t.Fatalf("last successful receive %v", st.LastReceive)
	}
}

func TestWorkerFlowControl(t *testing.T) {
	q := &fakeSQS{}
	for i := 0; i < 40; i++ {
		q.add(s3Note("k" + strconv.Itoa(i)))
	}
	var busy, maxBusy atomic.Int32
	q.onRx = func() int { return int(busy.Load()) }
	h := &funcHandler{handle: func(ctx context.Context, obj ObjectRef, attempt int, done ack.Done) {
		n := busy.Add(1)
		for {
			m := maxBusy.Load()
			if n <= m || maxBusy.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		busy.Add(-1)
		done(ack.Ok(""))
	}}
	w := newWorker(t, q, h, nil)
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := q.state(); left != 0 {
		t.Fatalf("%d messages left", left)
	}
	if maxBusy.Load() > 3 {
		t.Fatalf("%d objects processed at once with 3 workers", maxBusy.Load())
	}
	// A receive asks for a whole batch, and only while a worker is idle.
	for i, n := range q.asked {
		if n < 1 || n > 10 {
			t.Fatalf("receive %d asked for %d messages", i, n)
		}
		if q.busyAtRx[i] >= 3 {
			t.Fatalf("receive %d asked for %d messages while all %d workers were busy", i, n, q.busyAtRx[i])
		}
	}
	// Deletes are gathered across objects: 40 messages settled one by one cost far fewer requests.
	if q.delCalls > 10 {
		t.Fatalf("%d DeleteMessageBatch requests for 40 messages; want them batched", q.delCalls)
	}
	if st := w.Stats(); st.DeleteCalls != int64(q.delCalls) || st.ReceiveCalls != int64(len(q.asked)) {
		t.Fatalf("stats count %d deletes and %d receives; the queue saw %d and %d", st.DeleteCalls, st.ReceiveCalls, q.delCalls, len(q.asked))
	}
}

func TestWorkerHeartbeatAndShutdown(t *testing.T) {
	q := &fakeSQS{}
	for i := 0; i < 8; i++ {
		q.add(s3Note("k" + strconv.Itoa(i)))
	}
	started := make(chan struct{}, 8)
	var held []ack.Done
	var mu sync.Mutex
	drained := false
	h := &funcHandler{
		handle: func(ctx context.Context, obj ObjectRef, attempt int, done ack.Done) {
			mu.Lock()
			held = append(held, done) // waits for a flush that only Drain does
			mu.Unlock()
			started <- struct{}{}
		},
		drain: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			drained = true
			// Only the first object's output becomes durable; the rest are left for the release.
			held[0](ack.Ok(""))
			return nil
		},
	}
	w := newWorker(t, q, h, func(o *Options) { o.ExitWhenIdle = 0; o.Workers = 8; o.MaxMessages = 3 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	for i := 0; i < 3; i++ {
		<-started
	}
	// Held past the visibility timeout: only the heartbeat keeps them invisible.
	time.Sleep(4 * time.Second)
	if left, visible := q.state(); left != 8 || visible != 5 {
		t.Fatalf("left %d visible %d; want 8 and 5 (3 held invisible by the heartbeat, MaxMessages 3)", left, visible)
	}
	cancel()
	start := time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2*time.Second || !drained {
		t.Fatalf("drain took %s (drained %v)", time.Since(start), drained)
	}
	if left, visible := q.state(); left != 7 || visible != 7 {
		t.Fatalf("after shutdown left %d visible %d; want 7 and 7 (one durable, the rest released at once)", left, visible)
	}
}
