package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/source"
	"github.com/logarchive/logarchive/pkg/store"
)

func cmdLocal(ctx context.Context, args []string) int {
	return runLocal(ctx, args, os.Stdout, os.Stderr)
}

var localCommand = command{name: "ingest local",
	synopsis: "ingest local --src DIR|FILE --dest DIR [--bucket B] [flags]",
	about: `Processes local copies of Log Archive objects, with no AWS at all. --src is one of:
  DIR/AWSLogs/...            a bucket mirror, as 'aws s3 sync s3://BUCKET DIR' makes it
                             (bucket name: --bucket, else the directory's name)
  DIR/<bucket>/AWSLogs/...   one directory per bucket (what 'make demo' generates)
  FILE                       a single log or digest file
Running it again over the same or a grown source writes each object's rows once: the output keeps the
same exactly-once ledger as 'ingest run' (<dest>/_ledger/) and objects already done are skipped. The summary goes to stdout (to stderr when stdout carries --metrics-out - or --json).`}

// runLocal processes local copies of Log Archive objects: no AWS at all (digests are verified
// against --public-keys when given).
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest local", flag.ContinueOnError)
	var (
		pf         processingFlags
		src        string
		bucket     string
		metrics    string
		jsonOutput bool
	)
	fs.StringVar(&src, "src", "", "a bucket mirror (DIR/AWSLogs/...), a directory of buckets (DIR/<bucket>/AWSLogs/...) or a single file")
	fs.StringVar(&bucket, "bucket", "", "bucket name of a bucket mirror or single file (default: the directory's name)")
	fs.StringVar(&metrics, "metrics-out", "", "write CloudWatch EMF metric documents to this file (- for stdout)")
	fs.BoolVar(&jsonOutput, "json", false, "print the summary as JSON on stdout")
	pf.register(fs)
	// Local runs never call AWS: without a keys file there is no digest verification.
	fs.Lookup("public-keys").Usage = "CloudTrail public keys file (aws cloudtrail list-public-keys JSON) to verify digests; default: no verification (local runs never call AWS)"
	if code, done := localCommand.parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	fail := localCommand.failer(stderr)
	if src == "" {
		return fail(exitUsage, errors.New("--src is required"))
	}
	if err := pf.checkFormat(); err != nil {
		return fail(exitUsage, err)
	}
	if jsonOutput && metrics == "-" {
		return fail(exitUsage, errors.New("--json and --metrics-out - both write to stdout: send the metrics to a file"))
	}
	// Human output goes to stderr whenever stdout carries data.
	human := stdout
	if jsonOutput || metrics == "-" {
		human = stderr
	}
	log, err := pf.logger(stderr)
	if err != nil {
		return fail(exitUsage, err)
	}
	defer tuneGC(ctx, log, pf.memoryBudget)()
	in, err := store.OpenLocalSource(src, bucket)
	if err != nil {
		return fail(exitUsage, fmt.Errorf("--src: %w", err))
	}
	defer in.Close()
	dest, quarantine, err := pf.locations(ctx)
	if err != nil {
		return fail(exitUsage, err)
	}
	if err := checkDest(ctx, dest); err != nil {
		return fail(exitUsage, err)
	}
	mw, closeMetrics, err := metricsOut(metrics, stdout)
	if err != nil {
		return fail(exitUsage, err)
	}
	defer closeMetrics()
	// The same stack as the worker's, exactly-once ledger included: a second run over a grown source
	// skips what the first one committed. Only the source differs, and that no AWS is called.
	ledgerLoc, err := ledgerLocation(ctx, dest, "")
	if err != nil {
		return fail(exitUsage, err)
	}
	var fatal error
	stk, err := pf.buildStack(ctx, stackOptions{inputs: in.Store, offline: true, dest: dest, quarantine: quarantine,
		ledger: ledgerLoc, metrics: mw, log: log, fatal: func(err error) { fatal = err }})
	var fe flagError
	switch {
	case errors.As(err, &fe):
		return fail(exitUsage, err)
	case err != nil:
		return fail(1, err)
	}
	led, sk, stats, agg := stk.led, stk.sk, stk.stats, stk.agg
	defer led.Close(context.WithoutCancel(ctx))
	if n, err := led.Recover(ctx); err != nil {
		log.Warn("recovery sweep failed", "error", err.Error())
	} else if n > 0 {
		log.Info("rolled back the transactions of an interrupted earlier run", "count", n)
	}
	h := localHandler{handler: stk.handler, fatal: func() error { return fatal }}

	start := time.Now()
	rep, runErr := h.run(ctx, in, pf.workers)
	if err := sk.Close(ctx); err != nil && runErr == nil {
		runErr = err
	}
	if agg != nil {
		if err := agg.Close(); err != nil && runErr == nil {
			runErr = err
		}
	}
	sum := localSummary{
		Source: in.Root, Layout: string(in.Layout), Buckets: in.Buckets, Dest: dest.String(),
		Quarantine: quarantine.String(), Objects: rep.objects, Done: rep.done, SkippedDone: rep.doneBefore,
		Seconds: time.Since(start).Seconds(), Counters: map[string]map[string]int64{},
	}
	if in.Layout == store.LayoutFile {
		sum.Source = src
	}
	if sk != nil {
		st := sk.Stats()
		sum.Parquet = &parquetSummary{Rows: st.RowsWritten, Files: st.FilesWritten, Bytes: st.BytesWritten,
			Spills: st.Spills, PressureSpills: st.PressureSpills, PeakBufferedBytes: st.PeakBufferedBytes}
	}
	for _, c := range stats.Snapshot() {
		m := sum.Counters[c.Source.String()]
		if m == nil {
			m = map[string]int64{}
			sum.Counters[c.Source.String()] = m
		}
		m[c.Name] = c.Value
	}
	if agg != nil {
		// Samples CloudWatch would refuse (older than 14 days, say) are reported, not dropped in silence.
		st := agg.Stats()
		sum.Counters["metrics"] = map[string]int64{"samples_written": st.Added, "samples_dropped_too_old": st.DroppedTooOld,
			"samples_dropped_future": st.DroppedFuture, "samples_dropped_dimension_value": st.DroppedDimension,
			"samples_dropped_reserved_namespace": st.DroppedNamespace}
		reportDropped(log, agg)
	}
	sum.Quarantined = rep.quarantined
	for _, sf := range rep.skipped {
		sum.NotRead = append(sum.NotRead, notRead{Path: sf.Path, Reason: sf.Reason})
	}
	sum.Failed = rep.failed
	if jsonOutput {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else {
		sum.writeText(human, stats.Summary())
	}
	if runErr != nil {
		return fail(1, runErr)
	}
	if len(rep.failed) > 0 {
		return fail(1, fmt.Errorf("%d objects failed", len(rep.failed)))
	}
	switch ignored := int(stats.Get(parse.SourceUnknown, "ignored")); {
	case rep.objects == 0:
		return fail(1, fmt.Errorf("--src %s: %w\n%s", src, store.ErrUnrecognisedSource, store.ExpectedLayouts))
	case rep.objects-rep.doneBefore > 0 && ignored == rep.objects-rep.doneBefore:
		return fail(1, fmt.Errorf("--src %s: none of its %d objects is a log this tool reads (keys must look like AWSLogs/...)\n%s",
			src, ignored, store.ExpectedLayouts))
	}
	return 0
}

// checkDest refuses a destination that cannot be written before any work is done: a local path
// that is a file or not writable, an S3 location whose bucket cannot be listed (no region, no
// credentials, no such bucket, access denied).
func checkDest(ctx context.Context, dest store.Location) error {
	if l, ok := dest.Store.(*store.Local); ok {
		dir := filepath.Join(l.Root(), dest.Bucket, filepath.FromSlash(dest.Prefix))
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			return fmt.Errorf("--dest %s is a file, not a directory", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--dest: %w", err)
		}
		probe, err := os.CreateTemp(dir, ".tmp-probe-*")
		if err != nil {
			return fmt.Errorf("--dest %s is not writable: %w", dir, err)
		}
		probe.Close()
		os.Remove(probe.Name())
		return nil
	}
	errFound := errors.New("found")
	err := dest.Store.List(ctx, dest.Bucket, dest.Prefix, "", func(store.Info) error { return errFound })
	if err != nil && !errors.Is(err, errFound) {
		return fmt.Errorf("--dest %s: %w", dest, err)
	}
	return nil
}

// localHandler drives a source.Handler over every object of a local source.
type localHandler struct {
	handler source.Handler
	fatal   func() error
}

type localReport struct {
	objects, done, doneBefore int
	quarantined               []quarantined
	failed                    []string
	skipped                   []store.SkippedFile
}

func (h localHandler) run(ctx context.Context, src *store.LocalSource, workers int) (localReport, error) {
	var rep localReport
	var skipped []store.SkippedFile
	listErr, drainErr := source.HandleEach(ctx, h.handler, workers, 1, func(handle func(source.ObjectRef) error) error {
		var err error
		skipped, err = src.List(ctx, func(info store.Info) error {
			if err := handle(source.ListedRef(info)); err != nil {
				return err
			}
			rep.objects++
			return nil
		})
		return err
	}, func(ref source.ObjectRef, r ack.Outcome) {
		switch {
		case r.Acked() && r.Class == "done_before":
			rep.doneBefore++
		case r.Kind == ack.Quarantined:
			reason := ""
			if r.Err != nil {
				reason = r.Err.Error()
			}
			rep.quarantined = append(rep.quarantined, quarantined{Key: ref.Bucket + "/" + ref.Key, Class: r.Class, Reason: reason})
		case r.Acked():
			rep.done++
		default:
			msg := fmt.Sprintf("s3://%s/%s: %s", ref.Bucket, ref.Key, r.Class)
			if r.Err != nil {
				msg += ": " + r.Err.Error()
			}
			if r.Class == "busy" {
				msg += " (another process holds it in the ledger; run again when it is done)"
			}
			rep.failed = append(rep.failed, msg)
		}
	})
	rep.skipped = skipped
	// Outcomes arrive in completion order.
	slices.SortFunc(rep.quarantined, func(a, b quarantined) int { return strings.Compare(a.Key, b.Key) })
	var fatal error
	if h.fatal != nil {
		fatal = h.fatal()
	}
	return rep, errors.Join(listErr, drainErr, fatal)
}

type quarantined struct {
	Key    string `json:"key"`
	Class  string `json:"class"`
	Reason string `json:"reason"`
}

type notRead struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

type parquetSummary struct {
	Rows  int64 `json:"rows"`
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
	// Spills are row groups encoded before their file was written (PressureSpills of them forced
	// by the memory budget); PeakBufferedBytes is the most the sink held, by its estimate.
	Spills            int64 `json:"spills"`
	PressureSpills    int64 `json:"pressure_spills"`
	PeakBufferedBytes int64 `json:"peak_buffered_bytes"`
}

// localSummary is what a local run did; its JSON keys are snake_case throughout.
type localSummary struct {
	Source      string                      `json:"source"`
	Layout      string                      `json:"layout"`
	Buckets     []string                    `json:"buckets"`
	Dest        string                      `json:"dest"`
	Quarantine  string                      `json:"quarantine"`
	Objects     int                         `json:"objects"`
	Done        int                         `json:"done"`
	SkippedDone int                         `json:"skipped_done_before"`
	Seconds     float64                     `json:"seconds"`
	Counters    map[string]map[string]int64 `json:"counters"`
	Parquet     *parquetSummary             `json:"parquet,omitempty"`
	Quarantined []quarantined               `json:"quarantined,omitempty"`
	NotRead     []notRead                   `json:"not_read,omitempty"`
	Failed      []string                    `json:"failed,omitempty"`
}

func (s *localSummary) writeText(w io.Writer, counters string) {
	fmt.Fprintf(w, "ingest local: %d objects from %s (%s, bucket %s) in %.1fs\n", s.Objects, s.Source, s.Layout,
		strings.Join(s.Buckets, ", "), s.Seconds)
	if s.SkippedDone > 0 {
		fmt.Fprintf(w, "skipped: %d objects already ingested into %s by an earlier run\n", s.SkippedDone, s.Dest)
	}
	fmt.Fprint(w, counters)
	if s.Parquet != nil {
		fmt.Fprintf(w, "parquet: %d rows in %d files (%d bytes) under %s\n", s.Parquet.Rows, s.Parquet.Files, s.Parquet.Bytes, s.Dest)
	} else {
		fmt.Fprintf(w, "security lake: OCSF objects under %sext/\n", s.Dest)
	}
	if m := s.Counters["metrics"]; m != nil {
		if dropped := m["samples_dropped_too_old"] + m["samples_dropped_future"] + m["samples_dropped_dimension_value"] + m["samples_dropped_reserved_namespace"]; dropped > 0 {
			fmt.Fprintf(w, "metric samples not published (CloudWatch would refuse them): %d (too old %d, future %d, bad dimension value %d, reserved namespace %d)\n",
				dropped, m["samples_dropped_too_old"], m["samples_dropped_future"], m["samples_dropped_dimension_value"], m["samples_dropped_reserved_namespace"])
		}
	}
	if len(s.Quarantined) > 0 {
		fmt.Fprintf(w, "quarantined: %d objects under %s\n", len(s.Quarantined), s.Quarantine)
		for _, q := range s.Quarantined {
			fmt.Fprintf(w, "  %s (%s): %s\n", q.Key, q.Class, q.Reason)
		}
	}
	for _, n := range s.NotRead {
		fmt.Fprintf(w, "not read: %s: %s\n", n.Path, n.Reason)
	}
	for _, f := range s.Failed {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
}
