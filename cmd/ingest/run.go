package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/ledger"
	"github.com/logarchive/logarchive/pkg/ops"
	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

// ecsMaxStopTimeout is the longest ECS waits between SIGTERM and SIGKILL.
const ecsMaxStopTimeout = 120 * time.Second

// runFlags are the worker's own flags, beside processingFlags.
type runFlags struct {
	queueURL, dlqURL    string
	region              string
	ledgerLoc           string
	visibility          time.Duration
	waitTime            time.Duration
	maxMessages         int
	maxBytes            int64
	drainTimeout        time.Duration
	exitWhenIdle        time.Duration
	commitInterval      time.Duration
	leaseTTL            time.Duration
	busyRetry           time.Duration
	retryBase, retryMax time.Duration
	opsAddr             string
	unhealthyAfter      time.Duration
	metricsOut          string
	namespace           string
}

func (r *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.queueURL, "queue-url", "", "SQS queue receiving the bucket's S3 event notifications (required)")
	fs.StringVar(&r.dlqURL, "dlq-url", "", "dead-letter queue for malformed messages (default: log them and delete)")
	fs.StringVar(&r.region, "region", "", "AWS region (default: AWS_REGION)")
	fs.StringVar(&r.ledgerLoc, "ledger", "", "where the exactly-once ledger lives (default: <dest>/_ledger/)")
	fs.DurationVar(&r.visibility, "visibility-timeout", 5*time.Minute, "visibility timeout set on receive and renewed by the heartbeat")
	fs.DurationVar(&r.waitTime, "wait-time", 20*time.Second, "SQS long-poll wait")
	fs.IntVar(&r.maxMessages, "max-messages", 20000, "messages held (processing or waiting for a commit) at most; SQS allows ~120,000 in flight per queue")
	fs.Int64Var(&r.maxBytes, "max-bytes", 1<<30, "announced object bytes held at most")
	fs.DurationVar(&r.drainTimeout, "drain-timeout", 90*time.Second, "on SIGTERM, time to flush and acknowledge before releasing the rest (must fit ECS stopTimeout, <= 120s)")
	fs.DurationVar(&r.exitWhenIdle, "exit-when-idle", 0, "exit after no message arrived for this long (0: run until SIGTERM)")
	fs.DurationVar(&r.commitInterval, "commit-interval", 5*time.Minute, "how often buffered rows are flushed and their messages deleted (longer: fewer, larger Parquet files)")
	fs.DurationVar(&r.leaseTTL, "lease-ttl", ledger.DefaultLeaseTTL, "how long a silent worker is presumed alive before its objects are taken over")
	fs.DurationVar(&r.busyRetry, "busy-retry", 30*time.Second, "delay before retrying an object another live worker owns")
	fs.DurationVar(&r.retryBase, "retry-base", 10*time.Second, "first backoff of a failed object (doubles per receive)")
	fs.DurationVar(&r.retryMax, "retry-max", 15*time.Minute, "longest backoff of a failed object")
	fs.StringVar(&r.opsAddr, "ops-addr", ":9090", "listen address of /healthz and /metrics (empty: off)")
	fs.DurationVar(&r.unhealthyAfter, "unhealthy-after", defaultUnhealthyAfter, "/healthz fails once every SQS receive, or every object read, has failed for this long")
	fs.StringVar(&r.metricsOut, "metrics-out", "-", "CloudWatch EMF documents: - (stdout, for the awslogs driver), a file, or empty for none")
	fs.StringVar(&r.namespace, "emf-namespace", "LogArchive/Ingest", "CloudWatch namespace of the worker's own metrics")
}

func cmdRun(ctx context.Context, args []string) int {
	return runWorker(ctx, args, os.Stdout, os.Stderr)
}

var runCommand = command{name: "ingest run", synopsis: "ingest run --queue-url URL --dest s3://BUCKET/PREFIX [flags]",
	about: "The long-running worker (ECS/Fargate): processes the objects announced by S3 event notifications on SQS,\nexactly once, into the Parquet tables; logs and EMF metrics on stdout."}

// runWorker is the SQS-fed worker. Exit codes: 0 after a clean drain, 1 when it stopped because
// output could no longer be exactly-once or a component failed, 2 for bad flags.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest run", flag.ContinueOnError)
	var pf processingFlags
	var rf runFlags
	pf.register(fs)
	rf.register(fs)
	if code, done := runCommand.parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	fail := runCommand.failer(stderr)
	if rf.queueURL == "" {
		return fail(2, errors.New("--queue-url is required"))
	}
	if rf.drainTimeout <= 0 || rf.drainTimeout > ecsMaxStopTimeout {
		return fail(2, fmt.Errorf("--drain-timeout %s: must be in (0, %s] to fit the ECS stopTimeout", rf.drainTimeout, ecsMaxStopTimeout))
	}
	if rf.waitTime > 20*time.Second || rf.waitTime >= rf.drainTimeout/2 {
		return fail(2, fmt.Errorf("--wait-time %s: at most 20s and under half of --drain-timeout (a long poll in progress delays the drain)", rf.waitTime))
	}
	if rf.visibility < 3*time.Second {
		return fail(2, fmt.Errorf("--visibility-timeout %s: at least 3s (the heartbeat renews it every third)", rf.visibility))
	}
	log, err := pf.logger(stdout)
	if err != nil {
		return fail(2, err)
	}
	defer tuneGC(ctx, log, pf.memoryBudget)()
	cfg, err := awsconfig.Load(ctx, rf.region)
	if err != nil {
		return fail(1, err)
	}
	inputs := store.NewS3(awsconfig.NewS3(cfg, quietChecksums), store.S3Options{})
	dest, quarantine, err := pf.locations(ctx)
	if err != nil {
		return fail(2, err)
	}
	if err := checkDest(ctx, dest); err != nil {
		return fail(2, err)
	}
	ledgerLoc, err := ledgerLocation(ctx, dest, rf.ledgerLoc)
	if err != nil {
		return fail(2, err)
	}
	mw, closeMetrics, err := metricsOut(rf.metricsOut, stdout)
	if err != nil {
		return fail(2, err)
	}
	defer closeMetrics()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var fatal atomic.Pointer[error]
	stk, err := pf.buildStack(ctx, stackOptions{inputs: inputs, dest: dest, quarantine: quarantine, ledger: ledgerLoc,
		leaseTTL: rf.leaseTTL, commitInterval: rf.commitInterval, busyRetry: rf.busyRetry, metrics: mw, log: log,
		fatal: func(err error) { fatal.Store(&err); stop(err) }})
	var fe flagError
	switch {
	case errors.As(err, &fe):
		return fail(2, err)
	case err != nil:
		return fail(1, err)
	}
	led, sk, coord, stats, agg, handler := stk.led, stk.sk, stk.coord, stk.stats, stk.agg, stk.handler
	persistFails, samplesPublished, flushes := &stk.persistFails, &stk.samplesPublished, &stk.flushes
	log.Info("worker starting", "owner", led.Owner(), "queue", rf.queueURL, "dest", dest.String(), "ledger", ledgerLoc.String())

	worker, err := source.New(source.Options{QueueURL: rf.queueURL, Client: sqs.NewFromConfig(cfg), Handler: handler,
		Workers: pf.workers, MaxMessages: rf.maxMessages, MaxBytes: rf.maxBytes, VisibilityTimeout: rf.visibility,
		WaitTime: rf.waitTime, RetryBase: rf.retryBase, RetryMax: rf.retryMax, DrainTimeout: rf.drainTimeout,
		ExitWhenIdle: rf.exitWhenIdle, DeadLetterURL: rf.dlqURL, Logger: log})
	if err != nil {
		return fail(2, err)
	}

	var lag atomic.Int64 // largest object lag (ms) in the last minute
	collectors := []ops.Collector{
		workerCollector(worker), pipelineCollector(stats), sinkCollector(sk), coordCollector(coord),
		emfCollector(agg, samplesPublished, persistFails),
		func(w *ops.Writer) {
			w.Add("logarchive_lag_seconds", "Largest delay from object write to processing in the last minute.", ops.Gauge, float64(lag.Load())/1000)
		},
	}
	var opsSrv *ops.Server
	if rf.opsAddr != "" {
		opsSrv, err = ops.Start(ops.Options{Addr: rf.opsAddr, Collectors: collectors, Logger: log,
			Health: workerHealth(&fatal, worker, stats, flushes, rf.commitInterval+rf.unhealthyAfter, rf.unhealthyAfter)})
		if err != nil {
			return fail(1, err)
		}
		log.Info("ops endpoints listening", "addr", opsSrv.Addr())
	}
	bridge := &ops.EMFBridge{Agg: agg, Namespace: rf.namespace, Collectors: collectors,
		Units: map[string]string{"logarchive_lag_seconds": "Seconds", "logarchive_pipeline_bytes_total": "Bytes", "logarchive_sink_bytes_written_total": "Bytes", "logarchive_sink_mean_file_bytes": "Bytes"}}
	tick := func() {
		lag.Store(stats.TakeMaxLag().Milliseconds())
		if agg == nil {
			return
		}
		if err := bridge.Tick(time.Now()); err != nil {
			log.Warn("EMF metrics", "error", err.Error())
		}
		if err := agg.Flush(); err != nil {
			log.Warn("EMF metrics", "error", err.Error())
		}
	}
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-t.C:
				tick()
			}
		}
	}()
	sweepDone := sweepTemp(runCtx, dest, log)
	defer func() { <-sweepDone }()
	coordCtx, stopCoord := context.WithCancel(runCtx)
	coordDone := make(chan struct{})
	go func() { defer close(coordDone); coord.Run(coordCtx) }()

	runErr := worker.Run(runCtx)
	stopCoord()
	<-coordDone
	closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelClose()
	if fatal.Load() != nil {
		// Roll back what this process made visible, so its objects are taken over at once.
		if err := led.Abort(closeCtx); err != nil {
			log.Error("rollback on exit failed; another worker will roll back after the lease expires", "error", err.Error())
		}
	} else if err := sk.Close(closeCtx); err != nil {
		log.Warn("sink close", "error", err.Error())
	}
	if err := led.Close(closeCtx); err != nil {
		log.Warn("ledger close", "error", err.Error())
	}
	stopBG()
	<-bgDone
	tick() // the last partial minute
	reportDropped(log, agg)

	if opsSrv != nil {
		opsSrv.Shutdown(closeCtx)
	}
	st := worker.Stats()
	log.Info("worker stopped", "received", st.Received, "deleted", st.Deleted, "released", st.Released,
		"malformed", st.Malformed, "objects_acked", st.ObjectsAcked, "objects_retried", st.ObjectsRetried)
	if e := fatal.Load(); e != nil {
		return fail(1, *e)
	}
	if runErr != nil {
		return fail(1, runErr)
	}
	return 0
}

// quietChecksums stops the SDK from logging, for every object without a stored checksum (all
// CloudTrail deliveries), that it skipped checksum validation.
func quietChecksums(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }

// pipelineProcessor is the pipeline as the coordinator's Processor: the same Ref and Done, in
// pipeline.Input's clothes.
type pipelineProcessor struct{ p *pipeline.Processor }

func (a pipelineProcessor) Process(ctx context.Context, ref ack.Ref, done ack.Done) error {
	return a.p.Process(ctx, pipeline.Input{Ref: ref, Done: done})
}

func workerCollector(wk *source.Worker) ops.Collector {
	return func(w *ops.Writer) {
		st := wk.Stats()
		c := func(name, help string, v int64) { w.Add("logarchive_sqs_"+name, help, ops.Counter, float64(v)) }
		c("messages_received_total", "SQS messages received.", st.Received)
		c("messages_deleted_total", "SQS messages deleted after their output was durable.", st.Deleted)
		c("messages_released_total", "SQS messages made visible again (retry, busy, shutdown).", st.Released)
		c("messages_malformed_total", "SQS messages that are not notifications (moved aside).", st.Malformed)
		c("test_events_total", "S3 test events deleted.", st.TestEvents)
		c("duplicate_objects_total", "Objects announced again while in flight.", st.DuplicateObjects)
		c("ignored_records_total", "Notification records that announce no new object (removals…).", st.IgnoredNotes)
		c("receive_errors_total", "Failed ReceiveMessage calls.", st.ReceiveErrors)
		c("delete_errors_total", "Messages whose deletion failed.", st.DeleteErrors)
		c("visibility_errors_total", "Messages whose visibility change failed.", st.VisibilityErrors)
		for _, r := range []struct {
			kind string
			n    int64
		}{{"ReceiveMessage", st.ReceiveCalls}, {"DeleteMessageBatch", st.DeleteCalls}, {"ChangeMessageVisibilityBatch", st.VisibilityCalls}, {"SendMessage", st.SendCalls}} {
			w.Add("logarchive_sqs_requests_total", "SQS requests made, by API (what the worker costs).", ops.Counter, float64(r.n), "api", r.kind)
		}
		for class, n := range st.ByClass {
			w.Add("logarchive_objects_total", "Objects disposed of, by class (poison class, durable, ignored, retry reason…).", ops.Counter, float64(n), "class", class)
		}
		for kind, n := range st.ByOutcome {
			w.Add("logarchive_objects_outcome_total", "Objects disposed of, by outcome (durable, quarantined, retry): what the quarantine alarm watches.", ops.Counter, float64(n), "outcome", kind)
		}
		g := func(name, help string, v int64) { w.Add("logarchive_"+name, help, ops.Gauge, float64(v)) }
		g("in_flight_messages", "Messages held now.", st.InFlightMessages)
		g("in_flight_objects", "Objects being processed or waiting for a commit.", st.InFlightObjects)
		g("in_flight_bytes", "Announced bytes of objects held now.", st.InFlightBytes)
	}
}

func pipelineCollector(s *pipeline.Stats) ops.Collector {
	return func(w *ops.Writer) {
		for _, c := range s.Snapshot() {
			w.Add("logarchive_pipeline_"+c.Name+"_total", "Pipeline counter "+c.Name+", by source.", ops.Counter, float64(c.Value), "source", c.Source.String())
		}
	}
}

func sinkCollector(sk *sink.Sink) ops.Collector {
	return func(w *ops.Writer) {
		st := sk.Stats()
		w.Add("logarchive_sink_rows_written_total", "Rows written to Parquet.", ops.Counter, float64(st.RowsWritten))
		w.Add("logarchive_sink_files_written_total", "Parquet files committed.", ops.Counter, float64(st.FilesWritten))
		w.Add("logarchive_sink_bytes_written_total", "Parquet bytes committed.", ops.Counter, float64(st.BytesWritten))
		w.Add("logarchive_sink_checkpoints_total", "Sink checkpoints.", ops.Counter, float64(st.Checkpoints))
		if st.FilesWritten > 0 {
			// Flush sizes: small files are what makes Athena slow and expensive (lesson 4).
			w.Add("logarchive_sink_mean_file_bytes", "Mean size of the Parquet files written so far.", ops.Gauge, float64(st.BytesWritten)/float64(st.FilesWritten))
		}
		w.Add("logarchive_sink_buffered_bytes", "Estimated bytes of rows waiting in memory.", ops.Gauge, float64(st.BufferedBytes))
		w.Add("logarchive_sink_open_partitions", "Partitions with buffered rows.", ops.Gauge, float64(st.OpenPartitions))
	}
}

func coordCollector(c *ledger.Coordinator) ops.Collector {
	return func(w *ops.Writer) {
		st := c.Stats()
		w.Add("logarchive_ledger_transactions_sealed_total", "Transactions committed.", ops.Counter, float64(st.Sealed))
		w.Add("logarchive_ledger_inputs_sealed_total", "Inputs acknowledged by committed transactions.", ops.Counter, float64(st.SealedInputs))
		w.Add("logarchive_ledger_transactions_aborted_total", "Transactions rolled back.", ops.Counter, float64(st.Aborted))
		w.Add("logarchive_ledger_last_seal_seconds", "Duration of the last flush and seal.", ops.Gauge, st.LastSealSeconds)
	}
}
