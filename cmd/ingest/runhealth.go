package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

// defaultUnhealthyAfter is how long a failure a restart could cure must last before /healthz says
// 503: long enough to ride out an S3 or SQS hiccup and the backoff between attempts (receives back
// off up to 30 s, objects 10 s doubling), short enough that ECS replaces a wedged task within a few
// minutes (three failed checks 30 s apart on top of it).
const defaultUnhealthyAfter = 2 * time.Minute

// workerHealth is /healthz of `ingest run` (docs/worker.md, "Health"). It fails only for what a
// restart (or an operator) must cure:
//   - a fatal error (output can no longer be exactly-once; the process is exiting anyway);
//   - every ReceiveMessage failing for `after` (no credentials, wrong queue URL or endpoint, SQS
//     unreachable);
//   - every object read failing for `after` (the bucket is gone or misnamed, a wrong S3 endpoint,
//     access or KMS denied, throttling that does not end);
//   - a commit stuck: the flush of a commit running for longer than `stuck` (an S3 request that
//     never returns).
//
// It never fails for intended back-pressure: a worker that holds --max-bytes or --max-messages of
// objects waiting for their commit, or whose workers are all busy, does not receive and is healthy.
func workerHealth(fatal *atomic.Pointer[error], worker *source.Worker, stats *pipeline.Stats, flushes *flushWatch, stuck, after time.Duration) func() error {
	return func() error {
		if e := fatal.Load(); e != nil {
			return *e
		}
		now := time.Now()
		if since := worker.Stats().ReceiveFailingSince; !since.IsZero() && now.Sub(since) > after {
			return fmt.Errorf("every SQS receive failed for %s", now.Sub(since).Round(time.Second))
		}
		if since, kind := stats.FetchFailingSince(); !since.IsZero() && now.Sub(since) > after {
			return fmt.Errorf("every object read failed for %s (last: %s)", now.Sub(since).Round(time.Second), kind)
		}
		if since := flushes.since(); !since.IsZero() && now.Sub(since) > stuck {
			return fmt.Errorf("a commit's flush has been running for %s", now.Sub(since).Round(time.Second))
		}
		return nil
	}
}

// flushWatch notes when the flush in progress (if any) began.
type flushWatch struct{ started atomic.Int64 } // unix nanoseconds; 0: none running

func (f *flushWatch) wrap(flush func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		f.started.Store(time.Now().UnixNano())
		defer f.started.Store(0)
		return flush(ctx)
	}
}

func (f *flushWatch) since() time.Time {
	if n := f.started.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// sweepTemp removes, in the background, the temp files a worker killed mid-write left under a
// local destination (S3 needs a lifecycle rule aborting incomplete multipart uploads instead). The
// returned channel closes when it is done.
func sweepTemp(ctx context.Context, dest store.Location, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	lo, ok := dest.Store.(*store.Local)
	if !ok {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		n, err := lo.RemoveStaleTemp(ctx, dest.Bucket, dest.Prefix, store.StaleTempAge)
		if err != nil && ctx.Err() == nil {
			log.Warn("could not sweep temp files of killed writers", "error", err.Error())
		}
		if n > 0 {
			log.Info("removed temp files of killed writers", "count", n)
		}
	}()
	return done
}

// observedInputs reports the outcome of every HEAD of an input object (the coordinator's, for
// notifications without an ETag: CloudTrail's SNS notice) to the read-failure streak /healthz
// watches; reads through the pipeline report themselves.
type observedInputs struct {
	store.Store
	stats *pipeline.Stats
}

func (o observedInputs) Head(ctx context.Context, bucket, key string) (store.Info, error) {
	info, err := o.Store.Head(ctx, bucket, key)
	if ctx.Err() == nil {
		o.stats.ObserveRead(err)
	}
	return info, err
}
