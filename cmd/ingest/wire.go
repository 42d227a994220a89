package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/logarchive/logarchive/internal/envflag"
	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/digest/validate"
	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/ledger"
	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/pipeline"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// applyEnv sets every flag not given on the command line from its LOGARCHIVE_* variable.
func applyEnv(fs *flag.FlagSet) error { return envflag.Apply(fs, os.LookupEnv) }

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// processingFlags are the flags every processing command shares (local, run, backfill --dest).
type processingFlags struct {
	dest            string
	quarantine      string
	workers         int
	rulesFiles      listFlag
	params          listFlag
	noBuiltinRules  bool
	envPrefix       string
	compression     string
	targetFileBytes int64
	maxAge          time.Duration
	memoryBudget    int64
	maxInflated     int64
	publicKeys      string
	logLevel        string
	format          string
	sourceVersion   string
	providers       string
	maxObjectRows   int64
	maxUntimedRows  int64
	findingJSON     bool
}

func (p *processingFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.dest, "dest", "", "where Parquet tables go: file:///path, a directory, or s3://bucket/prefix")
	fs.StringVar(&p.quarantine, "quarantine", "", "where poison objects are copied with their reason (default: <dest>/_quarantine/)")
	fs.IntVar(&p.workers, "workers", runtime.GOMAXPROCS(0), "objects processed in parallel")
	fs.Var(&p.rulesFiles, "rules", "metric-filter rules file or CloudFormation template (repeatable)")
	fs.Var(&p.params, "param", "CloudFormation parameter for --rules templates, Key=Value (repeatable)")
	fs.BoolVar(&p.noBuiltinRules, "no-builtin-rules", false, "do not load the built-in CIS and elevated-role rules")
	fs.StringVar(&p.envPrefix, "env-prefix", rules.DefaultEnvPrefix, "metric name prefix of the elevated-role rule (<prefix>-switch-elevated-count)")
	fs.StringVar(&p.compression, "compression", string(sink.Zstd), "Parquet page compression: zstd or snappy")
	fs.Int64Var(&p.targetFileBytes, "target-file-bytes", sink.DefaultTargetFileBytes, "Parquet file size to aim for")
	fs.DurationVar(&p.maxAge, "max-age", sink.DefaultMaxAge, "longest a row waits in memory before its file is written")
	fs.Int64Var(&p.memoryBudget, "memory-budget", sink.DefaultMemoryBudget, "estimated bytes buffered: past half of it the largest partitions' rows are encoded as row groups, past all of it the largest partitions are written")
	fs.Int64Var(&p.maxInflated, "max-inflated-bytes", parse.DefaultMaxInflatedBytes, "largest decompressed object accepted (gzip bomb guard)")
	fs.StringVar(&p.publicKeys, "public-keys", "", "CloudTrail public keys file (list-public-keys JSON) to verify digests offline; default: cloudtrail:ListPublicKeys")
	fs.StringVar(&p.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&p.format, "format", "athena", "output: athena (Parquet tables) or security-lake (OCSF 1.1.0 custom sources under <dest>/ext/<source>/)")
	fs.StringVar(&p.sourceVersion, "source-version", "", "security-lake: custom source version segment, if the sources were registered with one")
	fs.StringVar(&p.providers, "security-lake-providers", "", "security-lake: each custom source's provider location, role ARN and external ID, as JSON or file://path (docs/security-lake.md §2); default: <dest>/ext/<source>/ with the worker's own credentials")
	fs.Int64Var(&p.maxObjectRows, "max-object-rows", sink.DefaultMaxInputRows, "record budget: rows one object may produce before it is quarantined (record_budget)")
	fs.Int64Var(&p.maxUntimedRows, "max-untimed-rows", sink.DefaultMaxUntimedRows, "record budget: records without a time one object may hold (e.g. {\"Records\":[{},{},…]}) before it is quarantined")
	fs.BoolVar(&p.findingJSON, "finding-event-json", false, "copy each matched record's JSON into its finding row (event_json); by default findings refer to their event by id and lineage")
}

// checkFormat validates --format.
func (p *processingFlags) checkFormat() error {
	if p.format != "athena" && p.format != "security-lake" {
		return fmt.Errorf("--format %q: want athena or security-lake", p.format)
	}
	return nil
}

func (p *processingFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(p.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

func newS3Store(ctx context.Context) (store.Store, error) {
	cfg, err := awsconfig.Load(ctx, "")
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		// Caught here, the SDK would only say "Invalid region" at the first request, after all the work.
		return nil, errors.New("no AWS region for S3: set AWS_REGION (or a region in the AWS profile)")
	}
	return store.NewS3(awsconfig.NewS3(cfg), store.S3Options{}), nil
}

// locations resolves --dest and --quarantine.
func (p *processingFlags) locations(ctx context.Context) (dest, quarantine store.Location, err error) {
	if p.dest == "" {
		return dest, quarantine, errors.New("--dest is required")
	}
	if dest, err = store.ParseLocation(ctx, p.dest, newS3Store); err != nil {
		return dest, quarantine, fmt.Errorf("--dest: %w", err)
	}
	if p.quarantine == "" {
		quarantine = dest
		quarantine.Prefix += "_quarantine/"
		return dest, quarantine, nil
	}
	if quarantine, err = store.ParseLocation(ctx, p.quarantine, newS3Store); err != nil {
		return dest, quarantine, fmt.Errorf("--quarantine: %w", err)
	}
	return dest, quarantine, nil
}

// ruleSet compiles the built-in packs and the --rules files.
func (p *processingFlags) ruleSet() (*rules.Set, error) {
	var all []rules.Rule
	if !p.noBuiltinRules {
		all = append(all, rules.CIS("")...)
		all = append(all, rules.ElevatedRole(p.envPrefix))
	}
	params := map[string]string{}
	for _, kv := range p.params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--param %q: want Key=Value", kv)
		}
		params[k] = v
	}
	for _, f := range p.rulesFiles {
		rs, err := rules.LoadFile(f, params)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	set, err := rules.Compile(all, rules.Options{})
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return set, nil
}

func (p *processingFlags) sinkOptions(dest store.Location, log *slog.Logger) (sink.Options, error) {
	c := sink.Compression(p.compression)
	if c != sink.Zstd && c != sink.Snappy {
		return sink.Options{}, fmt.Errorf("--compression %q: want zstd or snappy", p.compression)
	}
	if err := p.checkFormat(); err != nil {
		return sink.Options{}, err
	}
	opts := sink.Options{Dest: dest, TargetFileBytes: p.targetFileBytes, MaxAge: p.maxAge,
		MemoryBudget: p.memoryBudget, Compression: c, Logger: log,
		MaxInputRows: p.maxObjectRows, MaxUntimedRows: p.maxUntimedRows}
	if p.format == "security-lake" {
		// The same writer core with the Security Lake layout: same staging, commit hooks and ledger.
		// Loading the AWS configuration for the provider roles makes no request: no context to cancel.
		sources, err := p.securityLakeSources(context.Background(), dest, log)
		if err != nil {
			return sink.Options{}, err
		}
		if opts.Layout, err = ocsf.NewLayout(sources); err != nil {
			return sink.Options{}, err
		}
		opts.SpillBytes = ocsf.SpillBytes
	}
	return opts, nil
}

func (p *processingFlags) parseOptions() parse.Options {
	return parse.Options{MaxInflatedBytes: p.maxInflated}
}

// metricsOut opens where EMF documents go: "-" is stdout (the awslogs driver turns them into
// CloudWatch metrics), "" disables them.
func metricsOut(path string, stdout io.Writer) (io.Writer, func() error, error) {
	switch path {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-out: %w", err)
	}
	return f, f.Close, nil
}

var _ = emf.New

// verifier returns the digest verifier for continuous integrity over src. Keys come from
// --public-keys, or else from cloudtrail:ListPublicKeys (loadAWS false: no keys file means no
// verification, for runs that must not touch AWS).
func (p *processingFlags) verifier(ctx context.Context, src store.Store, loadAWS bool, log *slog.Logger) (pipeline.Verifier, error) {
	var keys digest.KeySource
	switch {
	case p.publicKeys != "":
		fk, err := digest.LoadKeysFile(p.publicKeys)
		if err != nil {
			return nil, fmt.Errorf("--public-keys: %w", err)
		}
		keys = fk
	case loadAWS:
		cfg, err := awsconfig.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		keys = digest.NewCloudTrailKeys(cfg)
	default:
		log.Info("digest verification off: no --public-keys given")
		return nil, nil
	}
	// The range only bounds chain traversal, which continuous integrity does not do: each digest is
	// checked with its predecessor as it arrives.
	v, err := validate.New(validate.Options{Store: src, Keys: keys, Start: time.Unix(0, 0), Offline: !loadAWS,
		LogWorkers: max(4, p.workers), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("digest verifier: %w", err)
	}
	return pipeline.DigestVerifier{V: v}, nil
}

// withLedger makes every sink checkpoint a step of the exactly-once protocol: the ledger records the
// inputs and final file keys before any file is visible, and learns when they all are.
func withLedger(sopts *sink.Options, led *ledger.Ledger) {
	// Another process may hold the same object (a duplicate notification): its files must never
	// share a name with ours, or the loser's rollback would delete the winner's file.
	sopts.NameSalt = led.Owner()
	sopts.BeforeCommit = func(ctx context.Context, cp sink.Checkpoint) error {
		files := make([]ledger.File, len(cp.Files))
		for i, f := range cp.Files {
			files[i] = ledger.File{Bucket: f.Bucket, Key: f.Key}
		}
		return led.BeforeCommit(ctx, cp.Inputs, files)
	}
	sopts.AfterCommit = func(context.Context, sink.Checkpoint) { led.AfterCommit() }
}
