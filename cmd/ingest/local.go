package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

func cmdLocal(ctx context.Context, args []string) int {
	return runLocal(ctx, args, os.Stdout, os.Stderr)
}

// runLocal processes a local mirror of the Log Archive bucket: no AWS at all (digests are verified
// against --public-keys when given).
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		pf         processingFlags
		src        string
		metrics    string
		jsonOutput bool
		format     string
		slVersion  string
	)
	fs.StringVar(&src, "src", "", "directory mirroring the Log Archive bucket(s): DIR/<bucket>/<key>")
	fs.StringVar(&metrics, "metrics-out", "", "write CloudWatch EMF metric documents to this file (- for stdout)")
	fs.BoolVar(&jsonOutput, "json", false, "print the summary as JSON")
	fs.StringVar(&format, "format", "athena", "output: athena (Parquet tables) or security-lake (OCSF 1.1.0 custom sources under <dest>/ext/<source>/)")
	fs.StringVar(&slVersion, "source-version", "", "security-lake: custom source version segment, if the sources were registered with one")
	pf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := applyEnv(fs); err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	if src == "" {
		fmt.Fprintln(stderr, "ingest local: --src is required")
		return 2
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "ingest local: --src %s is not a directory\n", src)
		return 2
	}
	log, err := pf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	dest, quarantine, err := pf.locations(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	set, err := pf.ruleSet()
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	mw, closeMetrics, err := metricsOut(metrics, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	defer closeMetrics()
	var agg *emf.Aggregator
	var msink rules.MetricSink
	if mw != nil {
		agg = emf.New(mw, emf.Options{})
		msink = agg
	}
	stats := pipeline.NewStats()
	var (
		out   pipeline.Sink
		flush func(context.Context) error
		close func(context.Context) error
		sk    *sink.Sink
	)
	switch format {
	case "athena":
		sopts, err := pf.sinkOptions(dest, log)
		if err != nil {
			fmt.Fprintln(stderr, "ingest local:", err)
			return 2
		}
		if sk, err = sink.New(sopts); err != nil {
			fmt.Fprintln(stderr, "ingest local:", err)
			return 1
		}
		out, flush, close = pipeline.ParquetSink{S: sk}, sk.Flush, sk.Close
	case "security-lake":
		sources, err := pipeline.SecurityLakeSources(dest, slVersion)
		if err != nil {
			fmt.Fprintln(stderr, "ingest local:", err)
			return 2
		}
		w, err := ocsf.NewWriter(ocsf.WriterOptions{Sources: sources, MaxAge: pf.maxAge, MemoryBudget: pf.memoryBudget, Logger: log})
		if err != nil {
			fmt.Fprintln(stderr, "ingest local:", err)
			return 1
		}
		sl := &pipeline.SecurityLakeSink{W: w, Stats: stats}
		out, flush, close = sl, sl.Flush, func(context.Context) error { return nil }
	default:
		fmt.Fprintf(stderr, "ingest local: --format %q: want athena or security-lake\n", format)
		return 2
	}
	srcStore := store.NewLocal(src)
	verifier, err := pf.verifier(ctx, srcStore, false, log)
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 2
	}
	p, err := pipeline.New(pipeline.Options{
		Store: srcStore, Sink: out, Stats: stats, Rules: rules.NewEngine(set, msink, rules.EngineOptions{}),
		Verifier: verifier, Quarantine: quarantine, Parse: pf.parseOptions(), Logger: log,
	})
	if err != nil {
		fmt.Fprintln(stderr, "ingest local:", err)
		return 1
	}
	start := time.Now()
	rep, runErr := pipeline.RunLocal(ctx, p, srcStore, pf.workers, flush)
	if err := close(ctx); err != nil && runErr == nil {
		runErr = err
	}
	if agg != nil {
		if err := agg.Close(); err != nil && runErr == nil {
			runErr = err
		}
	}
	sum := localSummary{
		Source: srcStore.Root(), Dest: dest.String(), Quarantine: quarantine.String(),
		Objects: rep.Objects, Done: rep.Done, Seconds: time.Since(start).Seconds(),
		Counters: map[string]map[string]int64{},
	}
	if sk != nil {
		st := sk.Stats()
		sum.Sink = &st
	}
	for _, c := range p.Stats().Snapshot() {
		m := sum.Counters[c.Source.String()]
		if m == nil {
			m = map[string]int64{}
			sum.Counters[c.Source.String()] = m
		}
		m[c.Name] = c.Value
	}
	for _, q := range rep.Quarantined {
		sum.Quarantined = append(sum.Quarantined, quarantined{Key: q.Bucket + "/" + q.Key, Class: q.Class, Reason: q.Err.Error()})
	}
	for _, f := range rep.Failed {
		sum.Failed = append(sum.Failed, f.Error())
	}
	if jsonOutput {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else {
		sum.writeText(stdout, p.Stats().Summary())
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "ingest local:", runErr)
		return 1
	}
	if len(rep.Failed) > 0 {
		return 1
	}
	return 0
}

type quarantined struct {
	Key    string `json:"key"`
	Class  string `json:"class"`
	Reason string `json:"reason"`
}

type localSummary struct {
	Source      string                      `json:"source"`
	Dest        string                      `json:"dest"`
	Quarantine  string                      `json:"quarantine"`
	Objects     int                         `json:"objects"`
	Done        int                         `json:"done"`
	Seconds     float64                     `json:"seconds"`
	Counters    map[string]map[string]int64 `json:"counters"`
	Sink        *sink.Stats                 `json:"sink,omitempty"`
	Quarantined []quarantined               `json:"quarantined,omitempty"`
	Failed      []string                    `json:"failed,omitempty"`
}

func (s *localSummary) writeText(w io.Writer, counters string) {
	fmt.Fprintf(w, "ingest local: %d objects from %s in %.1fs\n", s.Objects, s.Source, s.Seconds)
	fmt.Fprint(w, counters)
	if s.Sink != nil {
		fmt.Fprintf(w, "parquet: %d rows in %d files (%d bytes) under %s\n", s.Sink.RowsWritten, s.Sink.FilesWritten, s.Sink.BytesWritten, s.Dest)
	} else {
		fmt.Fprintf(w, "security lake: OCSF objects under %sext/\n", s.Dest)
	}
	if len(s.Quarantined) > 0 {
		fmt.Fprintf(w, "quarantined: %d objects under %s\n", len(s.Quarantined), s.Quarantine)
		for _, q := range s.Quarantined {
			fmt.Fprintf(w, "  %s (%s): %s\n", q.Key, q.Class, q.Reason)
		}
	}
	for _, f := range s.Failed {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
}
