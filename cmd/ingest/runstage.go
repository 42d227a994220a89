package main

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/emfstage"
	"github.com/logarchive/logarchive/pkg/ledger"
	"github.com/logarchive/logarchive/pkg/ops"
	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/source"
)

// stagedProcessor is pipelineProcessor that also persists the object's metric samples once it is
// processed. It runs inside the coordinator's Handle, before the object's rows can commit.
type stagedProcessor struct {
	p     *pipeline.Processor
	stage *emfstage.Stage
	log   *slog.Logger
	fails *atomic.Int64
}

func (a stagedProcessor) Process(ctx context.Context, ref ack.Ref, done ack.Done) error {
	bucket, key := ref.Bucket, ref.Key
	err := pipelineProcessor{a.p}.Process(ctx, ref, done)
	if err != nil {
		a.stage.Discard(bucket, key)
		return err
	}
	if err := a.stage.Persist(context.WithoutCancel(ctx), bucket, key); err != nil {
		// The samples are still published after the commit; only a crash between the commit and
		// that would lose them.
		a.fails.Add(1)
		a.log.Warn("could not persist metric samples before the commit", "bucket", bucket, "key", key, "error", err.Error())
	}
	return nil
}

// stagedHandler publishes an object's metric samples when the coordinator acknowledges its rows as
// committed (by this process, or before: a redelivery after a crash), before the message is
// deleted; any other outcome discards them.
type stagedHandler struct {
	*ledger.Coordinator
	stage     *emfstage.Stage
	log       *slog.Logger
	published *atomic.Int64
}

func (h stagedHandler) Handle(ctx context.Context, obj source.ObjectRef, attempt int, done ack.Done) {
	h.Coordinator.Handle(ctx, obj, attempt, func(r ack.Outcome) {
		if r.Kind != ack.Durable || (r.Class != "durable" && r.Class != "done_before") {
			h.stage.Discard(obj.Bucket, obj.Key)
			done(r)
			return
		}
		publish := h.stage.Publish // done before: the samples are in the persisted copy, if anywhere
		if r.Class == "durable" {
			publish = h.stage.PublishStaged // processed here: staged in memory or none
		}
		n, warn, err := publish(context.WithoutCancel(ctx), obj.Bucket, obj.Key)
		if err != nil {
			// Committed rows whose samples are not out: keep the message; its redelivery is
			// acknowledged as done before and publishes them then.
			h.log.Warn("could not publish metric samples; retrying the message", "bucket", obj.Bucket, "key", obj.Key, "error", err.Error())
			done(ack.Again("metrics", err))
			return
		}
		if warn != nil {
			h.log.Warn("metric samples", "bucket", obj.Bucket, "key", obj.Key, "error", warn.Error())
		}
		h.published.Add(int64(n))
		done(r)
	})
}

// emfCollector exports what became of the metric filters' samples, including those CloudWatch
// would refuse (counted and reported, never dropped in silence).
func emfCollector(agg *emf.Aggregator, published, persistFails *atomic.Int64) ops.Collector {
	return func(w *ops.Writer) {
		w.Add("logarchive_metric_samples_published_total", "Metric-filter samples published after their rows committed.", ops.Counter, float64(published.Load()))
		w.Add("logarchive_metric_samples_persist_errors_total", "Objects whose samples could not be persisted before the commit.", ops.Counter, float64(persistFails.Load()))
		if agg == nil {
			return
		}
		st := agg.Stats()
		for reason, n := range map[string]int64{"too_old": st.DroppedTooOld, "future": st.DroppedFuture,
			"dimension_value": st.DroppedDimension, "reserved_namespace": st.DroppedNamespace} {
			w.Add("logarchive_metric_samples_dropped_total", "Samples CloudWatch would refuse, not published, by reason.", ops.Counter, float64(n), "reason", reason)
		}
	}
}

// reportDropped logs, once at exit, the samples CloudWatch would have refused.
func reportDropped(log *slog.Logger, agg *emf.Aggregator) {
	if agg == nil {
		return
	}
	if st := agg.Stats(); st.Dropped > 0 {
		log.Warn("metric samples CloudWatch would refuse were not published", "dropped", st.Dropped,
			"too_old", st.DroppedTooOld, "future", st.DroppedFuture, "dimension_value", st.DroppedDimension, "reserved_namespace", st.DroppedNamespace)
	}
}
