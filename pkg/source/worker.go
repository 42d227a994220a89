package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logarchive/logarchive/pkg/ack"
)

// SQSClient is the part of *sqs.Client the worker uses.
type SQSClient interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Handler processes objects. Handle is called on one of Options.Workers goroutines and may block
// while it fetches and parses; it must call done exactly once, possibly later and from another
// goroutine (after the output is flushed). A message is deleted when every object it names ended
// Durable or Quarantined; a Retry outcome makes it visible again after RetryAfter (0: at once;
// negative: exponential backoff on the receive count; the longest among the message's objects).
// Drain is called once at shutdown, after the last Handle returned: it must flush what it can and
// call every outstanding done before it returns.
type Handler interface {
	Handle(ctx context.Context, obj ObjectRef, attempt int, done ack.Done)
	Drain(ctx context.Context) error
}

// Options configure a Worker.
type Options struct {
	QueueURL string
	Client   SQSClient
	Handler  Handler
	// Workers is how many objects are processed at once. Default 4.
	Workers int
	// MaxMessages bounds messages received and not yet deleted or released (they wait for their
	// output to become durable). Default 20000 — well below SQS's in-flight quota of ~120,000.
	MaxMessages int
	// MaxBytes bounds the announced size of objects held (received, not yet acknowledged). Default 1 GiB.
	MaxBytes int64
	// VisibilityTimeout is set on receive and renewed by the heartbeat. Default 5m.
	VisibilityTimeout time.Duration
	// Heartbeat is how often in-flight messages get their visibility extended. Default VisibilityTimeout/3.
	Heartbeat time.Duration
	// WaitTime is the long-poll wait. Default 20s (the maximum).
	WaitTime time.Duration
	// RetryBase and RetryMax shape the backoff of failed objects: RetryBase·2^(receives-1), capped.
	// Defaults 10s and 15m.
	RetryBase, RetryMax time.Duration
	// DrainTimeout bounds shutdown from the moment Run's context ends (it includes a long poll in
	// progress, up to WaitTime): after it, everything not finished is released. Default 90s (ECS
	// stopTimeout is at most 120 s).
	DrainTimeout time.Duration
	// ExitWhenIdle, when positive, makes Run return after no message arrived for that long and none
	// is in flight.
	ExitWhenIdle time.Duration
	// DeadLetterURL, when set, receives malformed messages (with the reason as a message attribute)
	// before they are deleted; without it they are logged in full and deleted.
	DeadLetterURL string
	// BatchDelay is how long a delete or visibility change waits for nine more to share its
	// request (SQS batches hold 10 entries and cost one request). Default 250ms.
	BatchDelay time.Duration
	Logger     *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 20000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = 5 * time.Minute
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = o.VisibilityTimeout / 3
	}
	if o.WaitTime <= 0 {
		o.WaitTime = 20 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 15 * time.Minute
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 90 * time.Second
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats are the worker's counters (cumulative) and gauges (now).
type Stats struct {
	Received, Deleted, Released, Malformed, TestEvents, Control                  int64
	ObjectsStarted, ObjectsAcked, ObjectsRetried, DuplicateObjects, IgnoredNotes int64
	ReceiveErrors, DeleteErrors, VisibilityErrors                                int64
	// Requests made to SQS, by kind: what the worker costs (SendMessage: dead-lettered messages).
	ReceiveCalls, DeleteCalls, VisibilityCalls, SendCalls int64
	InFlightMessages, InFlightObjects                     int64
	InFlightBytes                                         int64
	ByClass                                               map[string]int64
	// ByOutcome counts objects by how they ended (ack.Kind's name): what alarms watch, whatever
	// the class.
	ByOutcome map[string]int64
	// LastReceive is when a ReceiveMessage call last succeeded (zero before the first).
	LastReceive time.Time
	// ReceiveFailingSince is when the current streak of failed ReceiveMessage calls began; zero
	// while receives succeed. Not receiving because the worker is full (back-pressure) is no failure.
	ReceiveFailingSince time.Time
}

type counters struct {
	received, deleted, released, malformed, testEvents, control                 atomic.Int64
	objectsStarted, objectsAcked, objectsRetried, duplicateObjects, ignoredNote atomic.Int64
	receiveErrors, deleteErrors, visibilityErrors                               atomic.Int64
	receiveCalls, deleteCalls, visibilityCalls, sendCalls                       atomic.Int64
}

// Worker receives S3 notifications from SQS and hands their objects to a Handler.
type Worker struct {
	opts Options
	log  *slog.Logger
	c    counters

	mu       sync.Mutex
	msgs     map[string]*message // by receipt handle
	objs     map[Identity]*object
	pending  int   // objects handed over whose Handle call has not returned
	bytes    int64 // announced bytes of objects not yet resolved
	byClass  map[string]int64
	byKind   map[string]int64
	lastSeen time.Time
	lastRx   time.Time
	rxFail   time.Time     // start of the current streak of failed receives
	wake     chan struct{} // signalled when capacity frees up

	slots chan struct{}
	hwg   sync.WaitGroup // Handle calls

	// Deletes and visibility changes wait here (at most BatchDelay) to share requests of 10.
	bmu      sync.Mutex
	dels     []*message
	vis      []visChange
	armed    bool // a flush is scheduled
	inflight sync.WaitGroup
}

type visChange struct {
	m    *message
	secs int32
}

type message struct {
	id, receipt string
	receives    int
	remaining   int
	ack         bool
	retry       time.Duration
	done        bool
	expires     time.Time // when its visibility runs out unless renewed (under Worker.mu)
}

type object struct {
	ref  ObjectRef
	msgs []*message
	size int64
}

// New checks opts and returns a Worker.
func New(opts Options) (*Worker, error) {
	if opts.QueueURL == "" || opts.Client == nil || opts.Handler == nil {
		return nil, errors.New("source: QueueURL, Client and Handler are required")
	}
	opts = opts.withDefaults()
	if opts.Heartbeat >= opts.VisibilityTimeout {
		return nil, fmt.Errorf("source: heartbeat %s must be shorter than the visibility timeout %s", opts.Heartbeat, opts.VisibilityTimeout)
	}
	return &Worker{opts: opts, log: opts.Logger, msgs: map[string]*message{}, objs: map[Identity]*object{},
		byClass: map[string]int64{}, byKind: map[string]int64{}, wake: make(chan struct{}, 1), slots: make(chan struct{}, opts.Workers)}, nil
}

// Stats returns a snapshot of the counters.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	by := make(map[string]int64, len(w.byClass))
	for k, v := range w.byClass {
		by[k] = v
	}
	byKind := make(map[string]int64, len(w.byKind))
	for k, v := range w.byKind {
		byKind[k] = v
	}
	st := Stats{ByOutcome: byKind, InFlightMessages: int64(len(w.msgs)), InFlightObjects: int64(len(w.objs)), InFlightBytes: w.bytes, ByClass: by, LastReceive: w.lastRx, ReceiveFailingSince: w.rxFail}
	w.mu.Unlock()
	st.Received, st.Deleted, st.Released = w.c.received.Load(), w.c.deleted.Load(), w.c.released.Load()
	st.Malformed, st.TestEvents, st.Control = w.c.malformed.Load(), w.c.testEvents.Load(), w.c.control.Load()
	st.ObjectsStarted, st.ObjectsAcked, st.ObjectsRetried = w.c.objectsStarted.Load(), w.c.objectsAcked.Load(), w.c.objectsRetried.Load()
	st.DuplicateObjects, st.IgnoredNotes = w.c.duplicateObjects.Load(), w.c.ignoredNote.Load()
	st.ReceiveErrors, st.DeleteErrors, st.VisibilityErrors = w.c.receiveErrors.Load(), w.c.deleteErrors.Load(), w.c.visibilityErrors.Load()
	st.ReceiveCalls, st.DeleteCalls, st.VisibilityCalls, st.SendCalls = w.c.receiveCalls.Load(), w.c.deleteCalls.Load(), w.c.visibilityCalls.Load(), w.c.sendCalls.Load()
	return st
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// capacity returns how many messages may be asked for now (0..10). As soon as one worker is idle it
// asks for a full batch of 10 (one request instead of up to ten): at most 10 objects then wait for a
// worker, and their messages are kept invisible by the heartbeat like every held message.
func (w *Worker) capacity() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending >= w.opts.Workers || w.bytes >= w.opts.MaxBytes {
		return 0
	}
	return max(min(w.opts.MaxMessages-len(w.msgs), 10), 0)
}

// Run receives and processes messages until ctx ends (or the worker has been idle for
// ExitWhenIdle), then drains: it stops receiving, releases messages whose objects never started,
// lets started objects finish and flush within DrainTimeout, and releases whatever is left.
func (w *Worker) Run(ctx context.Context) error {
	// Handlers and SQS calls outlive ctx by up to DrainTimeout, then they are cancelled too.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	hbCtx, stopHB := context.WithCancel(workCtx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); w.heartbeat(hbCtx) }()

	// The drain deadline runs from the moment ctx ends.
	deadline := make(chan struct{})
	go func() {
		defer close(deadline)
		select {
		case <-ctx.Done():
			w.log.Info("draining", "in_flight_messages", w.Stats().InFlightMessages, "deadline", w.opts.DrainTimeout.String())
		case <-workCtx.Done():
			return
		}
		t := time.NewTimer(w.opts.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			w.log.Warn("drain deadline reached; releasing what is left")
			cancelWork()
		case <-workCtx.Done():
		}
	}()
	defer func() { cancelWork(); <-deadline }()

	w.mu.Lock()
	w.lastSeen = time.Now()
	w.mu.Unlock()
	recvErr := w.receiveLoop(ctx, workCtx)

	// Drain. Objects waiting for a worker slot see ctx done and resolve as "shutdown" at once.
	w.hwg.Wait()
	drainErr := w.opts.Handler.Drain(workCtx)
	stopHB()
	<-hbDone
	// Whatever is still held (the drain deadline passed, or Drain failed) goes back to the queue now.
	w.releaseAll(context.WithoutCancel(ctx))
	w.flushBatches(context.WithoutCancel(ctx))
	if drainErr != nil {
		return fmt.Errorf("drain: %w", drainErr)
	}
	return recvErr
}

func (w *Worker) receiveLoop(ctx, workCtx context.Context) error {
	backoff := time.Second
	for ctx.Err() == nil {
		if w.opts.ExitWhenIdle > 0 {
			// Idle: nothing received for ExitWhenIdle (receives working) and no object being
			// processed. Messages whose objects wait for a commit do not count: the drain that
			// follows flushes, commits and deletes them, instead of waiting a commit interval.
			w.mu.Lock()
			idle := w.pending == 0 && w.rxFail.IsZero() && time.Since(w.lastSeen) >= w.opts.ExitWhenIdle
			w.mu.Unlock()
			if idle {
				w.log.Info("idle; exiting", "idle_for", w.opts.ExitWhenIdle.String())
				return nil
			}
		}
		n := w.capacity()
		if n == 0 {
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		wait := w.opts.WaitTime
		if w.opts.ExitWhenIdle > 0 {
			wait = min(wait, max(w.opts.ExitWhenIdle/2, time.Second))
		}
		// Not cancelled by ctx: SQS may already have hidden the messages of an interrupted long
		// poll, and they would stay invisible for a whole visibility timeout. A receive that
		// returns after shutdown began hands its messages straight back.
		w.c.receiveCalls.Add(1)
		out, err := w.opts.Client.ReceiveMessage(workCtx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.opts.QueueURL), MaxNumberOfMessages: int32(n),
			WaitTimeSeconds: int32(wait / time.Second), VisibilityTimeout: int32(w.opts.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			if ctx.Err() != nil || workCtx.Err() != nil {
				break
			}
			w.c.receiveErrors.Add(1)
			w.mu.Lock()
			if w.rxFail.IsZero() {
				w.rxFail = time.Now()
			}
			w.mu.Unlock()
			w.log.Warn("receive failed; backing off", "error", err.Error(), "backoff", backoff.String())
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		w.mu.Lock()
		w.lastRx = time.Now()
		w.rxFail = time.Time{}
		w.mu.Unlock()
		if ctx.Err() != nil {
			w.releaseUnstarted(workCtx, out.Messages)
			break
		}
		if len(out.Messages) > 0 {
			w.mu.Lock()
			w.lastSeen = time.Now()
			w.mu.Unlock()
		}
		for _, m := range out.Messages {
			w.accept(ctx, workCtx, m)
		}
	}
	return nil
}

// accept decodes one message and hands its objects over.
func (w *Worker) accept(ctx, workCtx context.Context, m types.Message) {
	w.c.received.Add(1)
	receives, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	msg := &message{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle), receives: max(receives, 1), ack: true,
		expires: time.Now().Add(w.opts.VisibilityTimeout)}
	n, err := ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil {
		w.c.malformed.Add(1)
		w.moveAside(workCtx, m, err)
		return
	}
	w.c.ignoredNote.Add(int64(n.Ignored))
	switch n.Kind {
	case KindTest:
		w.c.testEvents.Add(1)
		w.log.Info("S3 test event; deleting", "message_id", msg.id, "envelope", n.Envelope)
		w.deleteNow(workCtx, msg)
		return
	case KindControl:
		w.c.control.Add(1)
		w.log.Info("SNS subscription message; deleting", "message_id", msg.id)
		w.deleteNow(workCtx, msg)
		return
	}
	if len(n.Objects) == 0 {
		w.deleteNow(workCtx, msg)
		return
	}
	var start []*object
	w.mu.Lock()
	w.msgs[msg.receipt] = msg
	for _, ref := range n.Objects {
		msg.remaining++
		if o, ok := w.objs[ref.Identity()]; ok {
			// The same object announced twice (two notifications, or SNS and S3 both): one run, and
			// both messages are settled by its result.
			w.c.duplicateObjects.Add(1)
			o.msgs = append(o.msgs, msg)
			continue
		}
		o := &object{ref: ref, msgs: []*message{msg}, size: max(ref.Size, 0)}
		w.objs[ref.Identity()] = o
		w.pending++
		w.bytes += o.size
		start = append(start, o)
	}
	w.mu.Unlock()
	for _, o := range start {
		w.hwg.Add(1)
		go w.run(ctx, workCtx, o, msg.receives)
	}
}

// run waits for a worker slot and calls the handler.
func (w *Worker) run(ctx, workCtx context.Context, o *object, receives int) {
	defer w.hwg.Done()
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		w.handed()
		w.resolve(o, shutdown)
		return
	}
	if ctx.Err() != nil {
		<-w.slots
		w.handed()
		w.resolve(o, shutdown)
		return
	}
	w.c.objectsStarted.Add(1)
	var once sync.Once
	w.opts.Handler.Handle(workCtx, o.ref, receives, func(r ack.Outcome) {
		once.Do(func() { w.resolve(o, r) })
	})
	<-w.slots
	w.handed()
}

func (w *Worker) handed() {
	w.mu.Lock()
	w.pending--
	w.mu.Unlock()
	w.signal()
}

// shutdown is the outcome of an object never started because the worker is stopping.
var shutdown = ack.Outcome{Kind: ack.Retry, Class: "shutdown"}

// resolve records an object's outcome on every message that announced it, and settles the
// messages that have nothing left.
func (w *Worker) resolve(o *object, r ack.Outcome) {
	var settle []*message
	w.mu.Lock()
	delete(w.objs, o.ref.Identity())
	w.bytes -= o.size
	if r.Class != "" {
		w.byClass[r.Class]++
	}
	w.byKind[r.Kind.String()]++
	for _, m := range o.msgs {
		m.remaining--
		if !r.Acked() {
			m.ack = false
			retry := r.RetryAfter
			if retry < 0 {
				retry = w.backoff(m.receives)
			}
			m.retry = max(m.retry, retry)
		}
		if m.remaining == 0 && !m.done {
			m.done = true
			delete(w.msgs, m.receipt)
			settle = append(settle, m)
		}
	}
	w.mu.Unlock()
	if r.Acked() {
		w.c.objectsAcked.Add(1)
	} else {
		w.c.objectsRetried.Add(1)
		if r.Err != nil && r.Class != "busy" && r.Class != "shutdown" {
			w.log.Warn("object will be retried", "bucket", o.ref.Bucket, "key", o.ref.Key, "class", r.Class, "error", r.Err.Error())
		}
	}
	for _, m := range settle {
		if m.ack {
			w.queueDelete(m)
		} else {
			w.queueRelease(m, m.retry)
		}
	}
	w.signal()
}

// queueDelete deletes m in the next batch.
func (w *Worker) queueDelete(m *message) {
	w.bmu.Lock()
	w.dels = append(w.dels, m)
	w.schedule()
}

// queueRelease makes m visible again after d, in the next batch.
func (w *Worker) queueRelease(m *message, d time.Duration) {
	w.bmu.Lock()
	w.vis = append(w.vis, visChange{m, int32(min(d, 12*time.Hour) / time.Second)})
	w.schedule()
}

// schedule sends full batches at once and arms a timer for the rest; it is called with bmu held
// and releases it.
func (w *Worker) schedule() {
	var dels []*message
	var vis []visChange
	if len(w.dels) >= 10 {
		dels, w.dels = w.dels, nil
	}
	if len(w.vis) >= 10 {
		vis, w.vis = w.vis, nil
	}
	if !w.armed && len(w.dels)+len(w.vis) > 0 {
		w.armed = true
		w.inflight.Add(1)
		time.AfterFunc(w.opts.BatchDelay, func() {
			defer w.inflight.Done()
			w.bmu.Lock()
			w.armed = false
			d, v := w.dels, w.vis
			w.dels, w.vis = nil, nil
			w.bmu.Unlock()
			w.send(context.Background(), d, v)
		})
	}
	w.bmu.Unlock()
	w.send(context.Background(), dels, vis)
}

// flushBatches sends whatever waits and returns when every batch sent so far is done.
func (w *Worker) flushBatches(ctx context.Context) {
	w.bmu.Lock()
	d, v := w.dels, w.vis
	w.dels, w.vis = nil, nil
	w.bmu.Unlock()
	w.send(ctx, d, v)
	w.inflight.Wait()
}

func (w *Worker) send(ctx context.Context, dels []*message, vis []visChange) {
	if len(dels) > 0 {
		w.deleteBatch(ctx, dels)
	}
	if len(vis) == 0 {
		return
	}
	if err := w.changeVisibility(ctx, vis); err != nil {
		w.log.Warn("release failed; the message reappears after its visibility timeout", "error", err.Error())
	}
	w.c.released.Add(int64(len(vis)))
}

// backoff returns the visibility delay before the receives-th retry: RetryBase·2^(receives-1)
// with ±20 % jitter, capped at RetryMax.
func (w *Worker) backoff(receives int) time.Duration {
	d := w.opts.RetryBase << min(max(receives-1, 0), 16)
	d = min(d, w.opts.RetryMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func (w *Worker) deleteNow(_ context.Context, m *message) { w.queueDelete(m) }

func (w *Worker) deleteBatch(ctx context.Context, ms []*message) {
	for len(ms) > 0 {
		chunk := ms[:min(10, len(ms))]
		ms = ms[len(chunk):]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt)}
		}
		w.c.deleteCalls.Add(1)
		out, err := w.opts.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(w.opts.QueueURL), Entries: entries})
		if err != nil {
			w.c.deleteErrors.Add(int64(len(chunk)))
			// Not fatal: the message comes back and the ledger acknowledges it without reprocessing.
			w.log.Warn("delete failed; the message will be redelivered and acknowledged then", "error", err.Error())
			continue
		}
		w.c.deleted.Add(int64(len(out.Successful)))
		if len(out.Failed) > 0 {
			w.c.deleteErrors.Add(int64(len(out.Failed)))
			w.log.Warn("delete partly failed", "failed", len(out.Failed), "first", aws.ToString(out.Failed[0].Message))
		}
	}
}

// release makes messages visible again after d, at once (shutdown).
func (w *Worker) release(ctx context.Context, ms []*message, d time.Duration) {
	secs := int32(min(d, 12*time.Hour) / time.Second)
	vs := make([]visChange, len(ms))
	for i, m := range ms {
		vs[i] = visChange{m, secs}
	}
	if err := w.changeVisibility(ctx, vs); err != nil {
		w.log.Warn("release failed; the message reappears after its visibility timeout", "error", err.Error())
		return
	}
	w.c.released.Add(int64(len(ms)))
}

func (w *Worker) changeVisibility(ctx context.Context, vs []visChange) error {
	var errs []error
	for len(vs) > 0 {
		chunk := vs[:min(10, len(vs))]
		vs = vs[len(chunk):]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, v := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				ReceiptHandle: aws.String(v.m.receipt), VisibilityTimeout: v.secs}
		}
		w.c.visibilityCalls.Add(1)
		out, err := w.opts.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(w.opts.QueueURL), Entries: entries})
		if err != nil {
			w.c.visibilityErrors.Add(int64(len(chunk)))
			errs = append(errs, err)
			continue
		}
		if len(out.Failed) > 0 {
			w.c.visibilityErrors.Add(int64(len(out.Failed)))
			errs = append(errs, fmt.Errorf("change visibility: %d of %d failed: %s", len(out.Failed), len(chunk), aws.ToString(out.Failed[0].Message)))
		}
	}
	return errors.Join(errs...)
}

// heartbeat keeps every held message invisible while its objects are worked on or wait for a flush.
// Each tick renews only the messages that would run out before the tick after next: a message is
// renewed once per VisibilityTimeout − Heartbeat instead of once per Heartbeat, with at least one
// Heartbeat to spare.
func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.opts.Heartbeat)
	defer t.Stop()
	secs := int32(w.opts.VisibilityTimeout / time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		w.mu.Lock()
		var ms []*message
		var vs []visChange
		var was []time.Time
		for _, m := range w.msgs {
			if m.expires.Sub(now) < 2*w.opts.Heartbeat {
				ms = append(ms, m)
				vs = append(vs, visChange{m, secs})
				was = append(was, m.expires)
				m.expires = now.Add(w.opts.VisibilityTimeout)
			}
		}
		w.mu.Unlock()
		err := w.changeVisibility(ctx, vs)
		if err != nil {
			// Which entries failed is not worth tracking: all are renewed again next tick.
			w.mu.Lock()
			for i, m := range ms {
				m.expires = was[i]
			}
			w.mu.Unlock()
		}
		if err != nil && ctx.Err() == nil {
			// A message settled (deleted) since the snapshot fails harmlessly; only a held one matters.
			held := 0
			w.mu.Lock()
			for _, m := range ms {
				if !m.done {
					held++
				}
			}
			w.mu.Unlock()
			if held == len(ms) {
				w.log.Warn("heartbeat failed for some messages; they may be redelivered (the ledger makes that harmless)", "error", err.Error())
			} else {
				w.log.Debug("heartbeat raced with settled messages", "error", err.Error())
			}
		}
	}
}

// releaseUnstarted hands back messages received after shutdown began.
func (w *Worker) releaseUnstarted(ctx context.Context, ms []types.Message) {
	if len(ms) == 0 {
		return
	}
	held := make([]*message, len(ms))
	for i, m := range ms {
		held[i] = &message{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle)}
	}
	w.c.received.Add(int64(len(ms)))
	w.release(ctx, held, 0)
}

// releaseAll hands every held message back to the queue at once.
func (w *Worker) releaseAll(ctx context.Context) {
	w.mu.Lock()
	ms := make([]*message, 0, len(w.msgs))
	for _, m := range w.msgs {
		m.done = true
		ms = append(ms, m)
	}
	clear(w.msgs)
	w.mu.Unlock()
	if len(ms) > 0 {
		w.log.Info("releasing unfinished messages", "count", len(ms))
		w.release(ctx, ms, 0)
	}
}

// moveAside deals with a message that can never be processed: to the dead-letter queue when one is
// configured (so it can be redriven once the code learns its shape), else logged whole; then deleted.
func (w *Worker) moveAside(ctx context.Context, m types.Message, cause error) {
	msg := &message{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle)}
	body := aws.ToString(m.Body)
	if w.opts.DeadLetterURL != "" {
		reason := cause.Error()
		if len(reason) > 1024 {
			reason = reason[:1024]
		}
		w.c.sendCalls.Add(1)
		_, err := w.opts.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.opts.DeadLetterURL), MessageBody: m.Body,
			MessageAttributes: map[string]types.MessageAttributeValue{
				"logarchive-reason":     {DataType: aws.String("String"), StringValue: aws.String(reason)},
				"logarchive-message-id": {DataType: aws.String("String"), StringValue: aws.String(msg.id)},
			}})
		if err != nil {
			// Leave it: it comes back, and after maxReceiveCount the redrive policy moves it.
			w.log.Error("malformed message; could not move it to the dead-letter queue", "message_id", msg.id, "reason", cause.Error(), "error", err.Error())
			return
		}
		w.log.Error("malformed message moved to the dead-letter queue", "message_id", msg.id, "reason", cause.Error())
	} else {
		if len(body) > 256<<10 {
			body = body[:256<<10]
		}
		w.log.Error("malformed message deleted", "message_id", msg.id, "reason", cause.Error(), "body", body)
	}
	w.deleteNow(ctx, msg)
}
