// Command synth writes a synthetic organization Log Archive (CloudTrail logs, signed digests, VPC
// Flow Logs, Route 53 Resolver query logs) to a local directory that mirrors S3, or to an S3 bucket.
//
//	go run ./bench/synth --seed 1 --out demo                    # demo preset under demo/<bucket>/…
//	go run ./bench/synth --seed 1 --bucket my-archive --prefix p # to S3 (default credentials, AWS_ENDPOINT_URL)
//
// Besides the objects it writes the public keys (list-public-keys shape, a map region → list) and the
// manifest (ground truth: counts, scenario event ids, tamperings) as local files.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "synth:") {
			msg = "synth: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	d := synth.DefaultOptions(1)
	seed := fs.Uint64("seed", 1, "seed; the same seed and flags give byte-identical output")
	preset := fs.String("preset", "demo", "size preset: "+strings.Join(synth.Presets(), ", ")+"; the flags below override it")
	out := fs.String("out", "", "local directory mirroring S3 (<out>/<bucket>/<key>, metadata in <key>.s3meta.json)")
	bucket := fs.String("bucket", "", "bucket name; without --out, objects go to this S3 bucket (default: aws-controltower-logs-<log-archive acct>-<home region>)")
	createBucket := fs.Bool("create-bucket", false, "with S3 output: create the bucket first (for moto or MinIO)")
	prefix := fs.String("prefix", "", "key prefix (S3KeyPrefix of the trail)")
	org := fs.String("org", "", "organization id o-…; default derived from the seed")
	accounts := fs.Int("accounts", d.NumAccounts, "member accounts (named management, log-archive, prod, dev, workload-NN)")
	regions := fs.String("regions", strings.Join(d.Regions, ","), "comma-separated source regions")
	home := fs.String("home-region", "", "trail home region (default: first region)")
	trail := fs.String("trail", d.TrailName, "trail name")
	start := fs.String("start", d.Start.Format(time.RFC3339), "first hour of activity (RFC 3339)")
	hours := fs.Int("hours", d.Hours, "hours of activity")
	events := fs.Int("events-per-hour", d.EventsPerHour, "mean ordinary CloudTrail records per account, region and hour (-1: none, scenario only)")
	flows := fs.Int("flow-per-hour", d.FlowRecordsPerHour, "flow-log records per account, region and hour (-1: none)")
	queries := fs.Int("resolver-per-hour", d.ResolverQueriesPerHour, "Resolver query-log records per account, region and hour (-1: none)")
	hive := fs.Bool("hive", false, "Hive-compatible flow-log prefixes")
	flowParquet := fs.Bool("flow-parquet", false, "deliver flow logs as Parquet (.log.parquet) instead of gzip text")
	flowHourly := fs.Bool("flow-hourly", false, "hourly partitions in flow-log keys")
	network := fs.Bool("network-activity", false, "add VPC endpoint network activity events (CloudTrail-NetworkActivity/)")
	backfill := fs.Bool("backfill", false, "hold one log back from its digest and list it in a backfill digest")
	tamper := fs.String("tamper", "", "comma-separated tamperings, or all: "+strings.Join(kindNames(), ","))
	workers := fs.Int("workers", 0, "chains generated at once (default GOMAXPROCS)")
	writers := fs.Int("writers", synth.DefaultWriters, "concurrent object writes")
	keysPath := fs.String("keys", "", "public keys file (default <out>/public-keys.json, or ./public-keys.json for S3)")
	manifestPath := fs.String("manifest", "", "manifest file (default <out>/manifest.json, or ./manifest.json for S3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" && *bucket == "" {
		return errors.New("give --out DIR (local) or --bucket NAME (S3)")
	}
	opts, err := synth.Preset(*preset, *seed)
	if err != nil {
		return err
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "org":
			opts.OrgID = *org
		case "accounts":
			opts.NumAccounts = *accounts
		case "regions":
			opts.Regions = splitList(*regions)
		case "home-region":
			opts.HomeRegion = *home
		case "trail":
			opts.TrailName = *trail
		case "start":
			st, err := time.Parse(time.RFC3339, *start)
			if err != nil {
				flagErr = errors.Join(flagErr, fmt.Errorf("--start: %w", err))
			}
			opts.Start = st
		case "hours":
			opts.Hours = *hours
		case "events-per-hour":
			opts.EventsPerHour = *events
		case "flow-per-hour":
			opts.FlowRecordsPerHour = *flows
		case "resolver-per-hour":
			opts.ResolverQueriesPerHour = *queries
		case "tamper":
			kinds, err := synth.ParseTamperList(*tamper)
			if err != nil {
				flagErr = errors.Join(flagErr, fmt.Errorf("--tamper: %w", err))
			}
			opts.Tamper = kinds
		}
	})
	if flagErr != nil {
		return flagErr
	}
	opts.Bucket, opts.Prefix, opts.FlowLogHive, opts.Backfill = *bucket, strings.Trim(*prefix, "/"), *hive, *backfill
	opts.FlowLogParquet, opts.FlowLogHourly, opts.NetworkActivity = *flowParquet, *flowHourly, *network
	opts.Workers, opts.Writers = *workers, *writers
	if err := opts.Validate(); err != nil {
		return err
	}

	var w synth.ObjectWriter
	var where string
	localDir := "."
	if *out != "" {
		localDir = *out
		w = store.NewLocal(*out)
		where = filepath.Join(*out, opts.Bucket)
	} else {
		cfg, err := awsconfig.Load(ctx, "")
		if err != nil {
			return err
		}
		client := awsconfig.NewS3(cfg)
		if *createBucket {
			if err := ensureBucket(ctx, client, opts.Bucket, cfg.Region); err != nil {
				return err
			}
		}
		w = store.NewS3(client, store.S3Options{})
		where = "s3://" + opts.Bucket
	}
	if *keysPath == "" {
		*keysPath = filepath.Join(localDir, "public-keys.json")
	}
	if *manifestPath == "" {
		*manifestPath = filepath.Join(localDir, "manifest.json")
	}

	t0 := time.Now()
	m, err := synth.Generate(ctx, w, opts)
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)

	keys, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		return err
	}
	if err := writeFile(*keysPath, keys); err != nil {
		return err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal manifest: %w", err)
	}
	if err := writeFile(*manifestPath, append(mj, '\n')); err != nil {
		return err
	}
	printSummary(stdout, m, where, *keysPath, *manifestPath, elapsed)
	return nil
}

func printSummary(w io.Writer, m *synth.Manifest, where, keys, manifest string, elapsed time.Duration) {
	fmt.Fprintf(w, "synthetic Log Archive: seed %d, org %s, %d accounts × %d regions, %d h from %s\n",
		m.Seed, m.OrgID, len(m.Accounts), len(m.Regions), m.Hours, m.Start.Format(time.RFC3339))
	fmt.Fprintf(w, "  objects in %s\n  public keys %s\n  manifest    %s\n", where, keys, manifest)
	tables := make([]string, 0, len(m.Tables))
	for t := range m.Tables {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var files int
	var bytes int64
	for _, t := range tables {
		c := m.Tables[t]
		files += c.Files
		bytes += c.Bytes
		fmt.Fprintf(w, "  %-10s %6d files %9d records %8.1f MB\n", t, c.Files, c.Records, float64(c.Bytes)/1e6)
	}
	fmt.Fprintf(w, "  empty digests %d, backfill digests %d, duplicate events %d, scenario events %d, tamperings %d\n",
		m.EmptyDigests, len(m.Backfill), len(m.Duplicates), len(m.Scenario), len(m.Tampered))
	for _, t := range m.Tampered {
		fmt.Fprintf(w, "    %-18s %s\n", t.Kind, t.Key)
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "  %d objects, %.1f MB in %.2f s: %.0f objects/s\n", files, float64(bytes)/1e6, secs, float64(files)/secs)
}

func ensureBucket(ctx context.Context, client *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	_, err := client.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s in %s: %w", bucket, region, err)
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func kindNames() []string {
	var out []string
	for _, k := range synth.TamperKinds() {
		out = append(out, string(k))
	}
	return out
}
