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
)

// SQSClient is the part of *sqs.Client the worker uses.
type SQSClient interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Result is how a Handler disposed of one object.
type Result struct {
	// Ack: as far as this object goes, its message may be deleted (output durable, already done
	// before, quarantined, or nothing to do).
	Ack bool
	// RetryAfter, when Ack is false, is how long the message stays invisible before it is retried
	// (0: at once; negative: exponential backoff on the message's receive count). The worker uses
	// the longest among a message's objects.
	RetryAfter time.Duration
	// Class names the outcome for metrics and logs: "durable", "done_before", "quarantined",
	// "busy", "transient", "shutdown"…
	Class string
	Err   error
}

// Handler processes objects. Handle is called on one of Options.Workers goroutines and may block
// while it fetches and parses; it must call done exactly once, possibly later and from another
// goroutine (after the output is flushed). Drain is called once at shutdown, after the last Handle
// returned: it must flush what it can and call every outstanding done before it returns.
type Handler interface {
	Handle(ctx context.Context, obj ObjectRef, attempt int, done func(Result))
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
	Logger        *slog.Logger
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
	InFlightMessages, InFlightObjects                                            int64
	InFlightBytes                                                                int64
	ByClass                                                                      map[string]int64
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
	lastSeen time.Time
	lastRx   time.Time
	rxFail   time.Time     // start of the current streak of failed receives
	wake     chan struct{} // signalled when capacity frees up

	slots chan struct{}
	hwg   sync.WaitGroup // Handle calls
}

type message struct {
	id, receipt string
	receives    int
	remaining   int
	ack         bool
	retry       time.Duration
	done        bool
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
		byClass: map[string]int64{}, wake: make(chan struct{}, 1), slots: make(chan struct{}, opts.Workers)}, nil
}

// Stats returns a snapshot of the counters.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	by := make(map[string]int64, len(w.byClass))
	for k, v := range w.byClass {
		by[k] = v
	}
	st := Stats{InFlightMessages: int64(len(w.msgs)), InFlightObjects: int64(len(w.objs)), InFlightBytes: w.bytes, ByClass: by, LastReceive: w.lastRx, ReceiveFailingSince: w.rxFail}
	w.mu.Unlock()
	st.Received, st.Deleted, st.Released = w.c.received.Load(), w.c.deleted.Load(), w.c.released.Load()
	st.Malformed, st.TestEvents, st.Control = w.c.malformed.Load(), w.c.testEvents.Load(), w.c.control.Load()
	st.ObjectsStarted, st.ObjectsAcked, st.ObjectsRetried = w.c.objectsStarted.Load(), w.c.objectsAcked.Load(), w.c.objectsRetried.Load()
	st.DuplicateObjects, st.IgnoredNotes = w.c.duplicateObjects.Load(), w.c.ignoredNote.Load()
	st.ReceiveErrors, st.DeleteErrors, st.VisibilityErrors = w.c.receiveErrors.Load(), w.c.deleteErrors.Load(), w.c.visibilityErrors.Load()
	return st
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// capacity returns how many messages may be asked for now (0..10).
func (w *Worker) capacity() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.opts.Workers - w.pending
	n = min(n, w.opts.MaxMessages-len(w.msgs), 10)
	if w.bytes >= w.opts.MaxBytes {
		n = 0
	}
	return max(n, 0)
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
	msg := &message{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle), receives: max(receives, 1), ack: true}
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
		if o, ok := w.objs[ref.ID()]; ok {
			// The same object announced twice (two notifications, or SNS and S3 both): one run, and
			// both messages are settled by its result.
			w.c.duplicateObjects.Add(1)
			o.msgs = append(o.msgs, msg)
			continue
		}
		o := &object{ref: ref, msgs: []*message{msg}, size: max(ref.Size, 0)}
		w.objs[ref.ID()] = o
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
		w.resolve(o, Result{Class: "shutdown"})
		return
	}
	if ctx.Err() != nil {
		<-w.slots
		w.handed()
		w.resolve(o, Result{Class: "shutdown"})
		return
	}
	w.c.objectsStarted.Add(1)
	var once sync.Once
	w.opts.Handler.Handle(workCtx, o.ref, receives, func(r Result) {
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

// resolve records an object's result on every message that announced it, and settles the
// messages that have nothing left.
func (w *Worker) resolve(o *object, r Result) {
	var settle []*message
	w.mu.Lock()
	delete(w.objs, o.ref.ID())
	w.bytes -= o.size
	if r.Class != "" {
		w.byClass[r.Class]++
	}
	for _, m := range o.msgs {
		m.remaining--
		if !r.Ack {
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
	if r.Ack {
		w.c.objectsAcked.Add(1)
	} else {
		w.c.objectsRetried.Add(1)
		if r.Err != nil && r.Class != "busy" && r.Class != "shutdown" {
			w.log.Warn("object will be retried", "bucket", o.ref.Bucket, "key", o.ref.Key, "class", r.Class, "error", r.Err.Error())
		}
	}
	ctx := context.Background()
	for _, m := range settle {
		if m.ack {
			w.deleteNow(ctx, m)
		} else {
			w.release(ctx, []*message{m}, m.retry)
		}
	}
	w.signal()
}

// backoff returns the visibility delay before the receives-th retry: RetryBase·2^(receives-1)
// with ±20 % jitter, capped at RetryMax.
func (w *Worker) backoff(receives int) time.Duration {
	d := w.opts.RetryBase << min(max(receives-1, 0), 16)
	d = min(d, w.opts.RetryMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func (w *Worker) deleteNow(ctx context.Context, m *message) {
	w.deleteBatch(ctx, []*message{m})
}

func (w *Worker) deleteBatch(ctx context.Context, ms []*message) {
	for len(ms) > 0 {
		chunk := ms[:min(10, len(ms))]
		ms = ms[len(chunk):]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt)}
		}
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

// release makes messages visible again after d.
func (w *Worker) release(ctx context.Context, ms []*message, d time.Duration) {
	secs := int32(min(d, 12*time.Hour) / time.Second)
	if err := w.changeVisibility(ctx, ms, secs); err != nil {
		w.log.Warn("release failed; the message reappears after its visibility timeout", "error", err.Error())
		return
	}
	w.c.released.Add(int64(len(ms)))
}

func (w *Worker) changeVisibility(ctx context.Context, ms []*message, secs int32) error {
	var errs []error
	for len(ms) > 0 {
		chunk := ms[:min(10, len(ms))]
		ms = ms[len(chunk):]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				ReceiptHandle: aws.String(m.receipt), VisibilityTimeout: secs}
		}
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
func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		ms := make([]*message, 0, len(w.msgs))
		for _, m := range w.msgs {
			ms = append(ms, m)
		}
		w.mu.Unlock()
		if err := w.changeVisibility(ctx, ms, int32(w.opts.VisibilityTimeout/time.Second)); err != nil && ctx.Err() == nil {
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
