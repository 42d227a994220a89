package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/emfstage"
	"github.com/logarchive/logarchive/pkg/ledger"
	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

// stackOptions is what differs between the commands that feed objects to the exactly-once stack
// (run: SQS; backfill --dest: a listing; local: a directory walk): where things are and how often to
// commit.
type stackOptions struct {
	inputs store.Store
	// offline: never call AWS (ingest local): digests are verified only against --public-keys.
	offline                  bool
	dest, quarantine, ledger store.Location
	leaseTTL                 time.Duration // 0: ledger default
	commitInterval           time.Duration // 0: coordinator default
	busyRetry                time.Duration // 0: coordinator default
	// metrics receives the metric filters' EMF documents; nil: no samples published (said in the log).
	metrics io.Writer
	// fatal is told when output can no longer be exactly-once; the command stops its source.
	fatal func(error)
	log   *slog.Logger
}

// stack is everything between a source and the output store, built in one place for run, backfill
// and local: rules, metric samples that follow their rows, digest verifier, ledger, writer (the
// --format layout), pipeline and coordinator. Commands differ only in their source and flush policy.
type stack struct {
	led     *ledger.Ledger
	sk      *sink.Sink
	proc    *pipeline.Processor
	coord   *ledger.Coordinator
	handler source.Handler // coord, with metric samples published after their rows commit
	stats   *pipeline.Stats
	agg     *emf.Aggregator // nil without metrics
	flushes flushWatch

	persistFails, samplesPublished atomic.Int64
}

// ledgerLocation resolves the ledger's place: --ledger, or <dest>/_ledger/.
func ledgerLocation(ctx context.Context, dest store.Location, flag string) (store.Location, error) {
	if flag == "" {
		loc := dest
		loc.Prefix += "_ledger/"
		return loc, nil
	}
	loc, err := store.ParseLocation(ctx, flag, newS3Store)
	if err != nil {
		return loc, fmt.Errorf("--ledger: %w", err)
	}
	return loc, nil
}

// buildStack opens the ledger (its lease is renewed from now on: Close it) and wires the rest. A
// flag error is returned wrapped in flagError.
func (pf *processingFlags) buildStack(ctx context.Context, o stackOptions) (*stack, error) {
	set, err := pf.ruleSet()
	if err != nil {
		return nil, flagError{err}
	}
	verifier, err := pf.verifier(ctx, o.inputs, !o.offline, o.log)
	if err != nil {
		return nil, flagError{err}
	}
	sopts, err := pf.sinkOptions(o.dest, o.log)
	if err != nil {
		return nil, flagError{err}
	}
	rollback, err := pf.rollbackStores(ctx)
	if err != nil {
		return nil, flagError{err}
	}
	led, err := ledger.Open(ctx, ledger.Options{Loc: o.ledger, LeaseTTL: o.leaseTTL, Logger: o.log, Files: rollback})
	if err != nil {
		return nil, err
	}
	s := &stack{led: led, stats: pipeline.NewStats()}
	var msink rules.MetricSink
	var stage *emfstage.Stage
	if o.metrics != nil {
		// The metric filters' samples follow their rows: published after the commit (pkg/emfstage).
		s.agg = emf.New(o.metrics, emf.Options{})
		stage = emfstage.New(s.agg, o.ledger)
		msink = stage
	} else if len(set.Rules) > 0 {
		o.log.Info("metric filters evaluated, samples not published: no --metrics-out")
	}
	withLedger(&sopts, led)
	if o.commitInterval > 0 {
		// Rows wait at most one commit interval; the sink's own age trigger would only cut files early.
		sopts.MaxAge = max(sopts.MaxAge, 2*o.commitInterval)
	}
	if s.sk, err = sink.New(sopts); err != nil {
		led.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s.proc, err = pipeline.New(pipeline.Options{Store: o.inputs, Sink: pipeline.ParquetSink{S: s.sk},
		Rules: rules.NewEngine(set, msink, rules.EngineOptions{OmitEventJSON: !pf.findingJSON}), Verifier: verifier,
		Quarantine: o.quarantine, Parse: pf.parseOptions(), Logger: o.log, Stats: s.stats, FindingEventJSON: pf.findingJSON})
	if err != nil {
		led.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	var lproc ledger.Processor = pipelineProcessor{s.proc}
	if stage != nil {
		lproc = stagedProcessor{p: s.proc, stage: stage, log: o.log, fails: &s.persistFails}
	}
	s.coord, err = ledger.NewCoordinator(ledger.CoordinatorOptions{Ledger: led, Processor: lproc,
		Flush: s.flushes.wrap(s.sk.Flush), Inputs: observedInputs{o.inputs, s.stats}, CommitInterval: o.commitInterval, BusyRetry: o.busyRetry,
		Logger: o.log, Fatal: o.fatal})
	if err != nil {
		led.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s.handler = s.coord
	if stage != nil {
		s.handler = stagedHandler{Coordinator: s.coord, stage: stage, log: o.log, published: &s.samplesPublished}
	}
	return s, nil
}

// flagError marks an error caused by the command line (exit code 2).
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }
