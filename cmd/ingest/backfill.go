package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

func cmdBackfill(ctx context.Context, args []string) int {
	return runBackfill(ctx, args, os.Stdout, os.Stderr)
}

// timeFlag parses RFC 3339 times or dates (YYYY-MM-DD, UTC midnight).
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(v string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			f.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", v)
}

var backfillCommand = command{name: "ingest backfill",
	synopsis: "ingest backfill --bucket B [--prefix P] [--start T] [--end T] (--queue-url URL | --dest LOCATION) [flags]",
	about:    "Objects already in the bucket: enqueue S3-style notifications for the workers (--queue-url), or process them\nhere, exactly once (--dest). Prints the resumable state as JSON on stdout."}

// runBackfill enqueues (--queue-url) or processes (--dest) objects already in the bucket.
func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest backfill", flag.ContinueOnError)
	var (
		pf                 processingFlags
		bucket, prefix     string
		queueURL, stateLoc string
		metricsPath        string
		region             string
		start, end         timeFlag
		every              int
	)
	pf.register(fs)
	fs.StringVar(&bucket, "bucket", "", "the Log Archive bucket (required); s3://bucket/prefix is accepted too")
	fs.StringVar(&prefix, "prefix", "", "only keys under this prefix (e.g. AWSLogs/o-abc/)")
	fs.Var(&start, "start", "only objects last modified at or after this time (RFC 3339 or YYYY-MM-DD)")
	fs.Var(&end, "end", "only objects last modified before this time (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&queueURL, "queue-url", "", "enqueue S3-style notifications here for the workers")
	fs.StringVar(&stateLoc, "state", "", "where the resumable checkpoint is kept (default: the ledger, <dest>/_ledger/, or with --queue-url s3://<bucket>/_logarchive/)")
	fs.StringVar(&region, "region", "", "AWS region (default: AWS_REGION)")
	fs.IntVar(&every, "checkpoint-every", 1000, "objects between checkpoints")
	fs.StringVar(&metricsPath, "metrics-out", "", "with --dest: the metric filters' CloudWatch EMF documents go to this file (- is stderr: stdout holds the state); empty: evaluated, not published")
	if code, done := backfillCommand.parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	fail := backfillCommand.failer(stderr)
	if rest, ok := strings.CutPrefix(bucket, "s3://"); ok {
		b, p, _ := strings.Cut(rest, "/")
		bucket, prefix = b, p+prefix
	}
	if bucket == "" {
		return fail(2, errors.New("--bucket is required"))
	}
	if (queueURL == "") == (pf.dest == "") {
		return fail(2, errors.New("give exactly one of --queue-url (enqueue) and --dest (process here)"))
	}
	log, err := pf.logger(stderr)
	if err != nil {
		return fail(2, err)
	}
	cfg, err := awsconfig.Load(ctx, region)
	if err != nil {
		return fail(1, err)
	}
	inputs := store.NewS3(awsconfig.NewS3(cfg, quietChecksums), store.S3Options{})
	o := source.BackfillOptions{Store: inputs, Bucket: bucket, Prefix: prefix, Start: start.t, End: end.t, Every: every, Logger: log}

	var st source.BackfillState
	if queueURL != "" {
		o.State = store.Location{Store: inputs, Bucket: bucket, Prefix: "_logarchive/"}
		if stateLoc != "" {
			if o.State, err = store.ParseLocation(ctx, stateLoc, newS3Store); err != nil {
				return fail(2, fmt.Errorf("--state: %w", err))
			}
		}
		st, err = source.EnqueueBackfill(ctx, o, sqs.NewFromConfig(cfg), queueURL)
	} else {
		st, err = processBackfill(ctx, o, pf, stateLoc, metricsPath, stderr, log)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(st)
	if err != nil {
		return fail(1, err)
	}
	if len(st.Failed) > 0 {
		return fail(1, fmt.Errorf("%d objects failed; see \"failed\"", len(st.Failed)))
	}
	return 0
}

// processBackfill runs the selected objects through the pipeline here, exactly once (same ledger as
// the workers, so a backfill and the workers never both write an object's rows).
func processBackfill(ctx context.Context, o source.BackfillOptions, pf processingFlags, stateLoc, metricsPath string, stderr io.Writer, log interface {
	Info(string, ...any)
}) (source.BackfillState, error) {
	lg, err := pf.logger(os.Stderr)
	if err != nil {
		return source.BackfillState{}, err
	}
	dest, quarantine, err := pf.locations(ctx)
	if err != nil {
		return source.BackfillState{}, err
	}
	if err := checkDest(ctx, dest); err != nil {
		return source.BackfillState{}, err
	}
	ledgerLoc, err := ledgerLocation(ctx, dest, "")
	if err != nil {
		return source.BackfillState{}, err
	}
	o.State = ledgerLoc
	if stateLoc != "" {
		if o.State, err = store.ParseLocation(ctx, stateLoc, newS3Store); err != nil {
			return source.BackfillState{}, fmt.Errorf("--state: %w", err)
		}
	}
	// EMF documents never go to stdout here: it holds the backfill state.
	mw, closeMetrics, err := metricsOut(metricsPath, stderr)
	if err != nil {
		return source.BackfillState{}, err
	}
	defer closeMetrics()
	var fatal error
	stk, err := pf.buildStack(ctx, stackOptions{inputs: o.Store, dest: dest, quarantine: quarantine, ledger: ledgerLoc,
		metrics: mw, log: lg, fatal: func(err error) { fatal = err }})
	if err != nil {
		return source.BackfillState{}, err
	}
	led, sk := stk.led, stk.sk
	defer led.Close(context.WithoutCancel(ctx))
	if _, err := led.Recover(ctx); err != nil {
		lg.Warn("recovery sweep failed", "error", err.Error())
	}
	o.Logger = lg
	st, err := source.ProcessBackfill(ctx, o, stk.handler, pf.workers)
	if fatal != nil {
		led.Abort(context.WithoutCancel(ctx))
		return st, errors.Join(err, fatal)
	}
	if cerr := sk.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	reportDropped(lg, stk.agg)
	log.Info("backfill processed", "done", st.Done, "failed", len(st.Failed))
	return st, err
}
