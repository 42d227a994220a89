package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

// Processor runs one object through parse, rules and sink (pipeline.Processor). done is called
// exactly once unless Process returns an error: Durable when the object's rows are in committed
// files (or it had none), Quarantined when it was set aside as poison, Retry when the sink gave up.
type Processor interface {
	Process(ctx context.Context, ref ack.Ref, done ack.Done) error
}

// CoordinatorOptions configure a Coordinator.
type CoordinatorOptions struct {
	Ledger    *Ledger
	Processor Processor
	// Flush writes every row buffered in the sink (sink.Flush). Required.
	Flush func(ctx context.Context) error
	// Inputs is the store objects are read from; Head fills in the ETag and time a notification
	// lacks.
	Inputs store.Store
	// CommitInterval is how often the current transaction is flushed and sealed, i.e. the longest a
	// message waits for deletion after its object was processed, and what sizes the Parquet files
	// (every seal flushes every open partition). Default 5m.
	CommitInterval time.Duration
	// BusyRetry is how long a message stays invisible when another live worker owns its object.
	// Default 30s.
	BusyRetry time.Duration
	// RecoverInterval is how often dead owners' transactions are looked for. Default 10m.
	RecoverInterval time.Duration
	// Fatal is called (once) when this process can no longer make its output exactly-once: a sink
	// checkpoint failed after BeforeCommit or the ledger fenced it off. The process must stop
	// receiving and exit; a restarted worker (or any other) picks its objects up.
	Fatal  func(error)
	Logger *slog.Logger
}

func (o CoordinatorOptions) withDefaults() CoordinatorOptions {
	if o.CommitInterval <= 0 {
		o.CommitInterval = 5 * time.Minute
	}
	if o.BusyRetry <= 0 {
		o.BusyRetry = 30 * time.Second
	}
	if o.RecoverInterval <= 0 {
		o.RecoverInterval = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Fatal == nil {
		o.Fatal = func(error) {}
	}
	return o
}

// Coordinator implements source.Handler with exactly-once output: it claims each object in the
// ledger, processes it, and acknowledges it only when the transaction holding its rows commits.
type Coordinator struct {
	opts CoordinatorOptions
	l    *Ledger
	log  *slog.Logger

	// gate is held shared while an object goes through Claim and Process, and exclusively while the
	// sink is flushed and the transaction sealed, so that no input is half-way through the sink then.
	gate sync.RWMutex

	mu      sync.Mutex
	waiting map[string]ack.Done // durable inputs waiting for Seal, by ack.Ref.ID
	fatal   sync.Once
	stats   CoordinatorStats
}

// CoordinatorStats count transactions.
type CoordinatorStats struct {
	Sealed, SealedInputs, Aborted int64
	LastSealSeconds               float64
}

// NewCoordinator checks opts and returns a Coordinator.
func NewCoordinator(opts CoordinatorOptions) (*Coordinator, error) {
	if opts.Ledger == nil || opts.Processor == nil || opts.Flush == nil || opts.Inputs == nil {
		return nil, errors.New("ledger: coordinator needs Ledger, Processor, Flush and Inputs")
	}
	opts = opts.withDefaults()
	return &Coordinator{opts: opts, l: opts.Ledger, log: opts.Logger, waiting: map[string]ack.Done{}}, nil
}

// Stats returns the transaction counters.
func (c *Coordinator) Stats() CoordinatorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Coordinator) die(err error) {
	c.fatal.Do(func() {
		c.log.Error("exactly-once output can no longer be guaranteed; stopping", "error", err.Error())
		c.opts.Fatal(err)
	})
}

// Handle implements source.Handler.
func (c *Coordinator) Handle(ctx context.Context, obj source.ObjectRef, attempt int, done ack.Done) {
	ref, at := obj.Ref, obj.EventTime
	if ref.ETag == "" || at.IsZero() {
		// CloudTrail's SNS notice names neither: the ledger keys objects by ETag and files them by time.
		info, err := c.opts.Inputs.Head(ctx, ref.Bucket, ref.Key)
		switch {
		case store.IsNotFound(err):
			done(ack.Ok("not_found"))
			return
		case err != nil:
			done(ack.Again("transient", err))
			return
		}
		if ref.ETag == "" {
			ref.ETag = info.ETag
		}
		if at.IsZero() {
			at = info.LastModified
		}
		if ref.Size < 0 {
			ref.Size = info.Size
		}
	}
	ref.ETag = ack.NormalizeETag(ref.ETag)
	c.gate.RLock()
	defer c.gate.RUnlock()
	if err := c.l.Broken(); err != nil {
		done(ack.Outcome{Kind: ack.Retry, Class: "shutdown", Err: err})
		return
	}
	d, err := c.l.Claim(ctx, ref, at)
	switch {
	case err != nil:
		done(ack.Again("ledger", err))
		return
	case d == Done:
		done(ack.Ok("done_before"))
		return
	case d == Busy:
		done(ack.Outcome{Kind: ack.Retry, Class: "busy", RetryAfter: c.opts.BusyRetry})
		return
	}
	err = c.opts.Processor.Process(ctx, ref, func(o ack.Outcome) { c.processed(ref, o, done) })
	if err != nil {
		if _, ferr := c.l.Finish(context.WithoutCancel(ctx), ref, ack.Retry); ferr != nil {
			c.log.Warn("could not release input in the ledger", "key", ref.Key, "error", ferr.Error())
		}
		done(ack.Again("transient", err))
	}
	if err := c.l.Broken(); err != nil {
		c.die(err)
	}
}

// processed is the pipeline's done callback.
func (c *Coordinator) processed(ref ack.Ref, o ack.Outcome, done ack.Done) {
	ctx := context.Background()
	if o.Class == "" {
		o.Class = o.Kind.String()
	}
	if o.Kind == ack.Retry && o.Class == ack.Retry.String() {
		o.Class = "sink"
	}
	// Register before Finish: Seal may run as soon as Finish returns.
	id := ref.ID()
	if o.Kind == ack.Durable {
		c.mu.Lock()
		c.waiting[id] = done
		c.mu.Unlock()
	}
	acked, err := c.l.Finish(ctx, ref, o.Kind)
	if o.Kind == ack.Durable && (acked || err != nil) {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}
	switch {
	case err != nil:
		done(ack.Again("ledger", err))
	case acked:
		done(o)
	case o.Kind != ack.Durable:
		if o.RetryAfter == 0 {
			o.RetryAfter = -1
		}
		done(o)
	}
	// Durable and not acknowledged: Seal acknowledges it.
}

// Run seals the current transaction every CommitInterval and looks for dead owners' transactions
// every RecoverInterval, until ctx ends.
func (c *Coordinator) Run(ctx context.Context) {
	if n, err := c.l.Recover(ctx); err != nil {
		c.log.Warn("recovery sweep failed", "error", err.Error())
	} else if n > 0 {
		c.log.Info("rolled back transactions of dead workers", "count", n)
	}
	seal := time.NewTicker(c.opts.CommitInterval)
	defer seal.Stop()
	rec := time.NewTicker(c.opts.RecoverInterval)
	defer rec.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-seal.C:
			if err := c.Seal(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("seal failed", "error", err.Error())
			}
		case <-rec.C:
			if _, err := c.l.Recover(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("recovery sweep failed", "error", err.Error())
			}
		}
	}
}

// Seal pauses intake, flushes the sink and commits the transaction, then acknowledges its inputs.
func (c *Coordinator) Seal(ctx context.Context) error {
	start := time.Now()
	c.gate.Lock()
	// The flush opens the transaction (its first BeforeCommit) when rows are buffered.
	ferr := c.opts.Flush(ctx)
	if ferr == nil && !c.l.Pending() {
		c.gate.Unlock()
		return nil
	}
	var inputs []ack.Ref
	var err error
	if ferr != nil {
		// The sink still holds rows it will retry under other names: this process cannot go on.
		aerr := c.l.Abort(context.WithoutCancel(ctx))
		err = errors.Join(fmt.Errorf("flush: %w", ferr), aerr)
	} else {
		inputs, err = c.l.Seal(ctx)
	}
	c.gate.Unlock()

	c.mu.Lock()
	var acks, retries []ack.Done
	for _, in := range inputs {
		if d, ok := c.waiting[in.ID()]; ok {
			acks = append(acks, d)
			delete(c.waiting, in.ID())
		}
	}
	if err != nil {
		// Every waiting input belonged to the failed transaction.
		for in, d := range c.waiting {
			retries = append(retries, d)
			delete(c.waiting, in)
		}
		c.stats.Aborted++
	} else {
		c.stats.Sealed++
		c.stats.SealedInputs += int64(len(inputs))
		c.stats.LastSealSeconds = time.Since(start).Seconds()
	}
	c.mu.Unlock()
	for _, d := range acks {
		d(ack.Ok("durable"))
	}
	for _, d := range retries {
		d(ack.Outcome{Kind: ack.Retry, Class: "aborted", Err: err})
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		// Flushed rows that could not be committed (an upload, the commit record, a fenced
		// transaction): output can no longer be made durable by this process. Exit non-zero; the
		// rollback on exit (or the next worker's recovery) removes what was made visible. A
		// conflict is not such a failure: the transaction was rolled back, its inputs are retried
		// and the duplicate among them is found done.
		c.die(err)
	}
	if err == nil && len(inputs) > 0 {
		c.log.Debug("transaction sealed", "inputs", len(inputs), "seconds", time.Since(start).Seconds())
	}
	return err
}

// Drain implements source.Handler: a last Seal, so that everything processed is acknowledged.
func (c *Coordinator) Drain(ctx context.Context) error {
	err := c.Seal(ctx)
	if err != nil {
		return err
	}
	// Inputs still waiting belong to no transaction any more (should not happen): release them.
	c.mu.Lock()
	left := c.waiting
	c.waiting = map[string]ack.Done{}
	c.mu.Unlock()
	for _, d := range left {
		d(ack.Outcome{Kind: ack.Retry, Class: "shutdown"})
	}
	return nil
}
