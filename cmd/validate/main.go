// Command validate checks CloudTrail log file integrity through the signed digest chain: a drop-in
// for `aws cloudtrail validate-logs` (same flags, lines, streams and exit codes), plus whole-bucket
// discovery of every chain of an organization, offline validation of a local mirror, JSON and HTML
// reports. See docs/validate.md.
//
//	validate --trail-arn ARN --start-time T [--end-time T] [--s3-bucket B [--s3-prefix P]] [--account-id A] [--verbose]
//	validate --s3-bucket B [--s3-prefix P] --start-time T            every chain in the bucket
//	validate --local DIR --public-keys FILE --start-time T [...]     offline, DIR mirrors bucket/key
//
// Only flag and environment wiring lives here; the work is done by pkg/digest and pkg/digest/validate.
package main

import (
	"github.com/logarchive/logarchive/internal/envflag"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/digest/validate"
	"github.com/logarchive/logarchive/pkg/store"
)

// ExitUsage is aws-cli's exit code for command-line errors (its argument parser's).
const ExitUsage = 2

// DefaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT is set: validation
// holds little (digests are decoded one at a time per chain, one oversized digest at a time), so a
// tight limit keeps garbage from a hostile digest from inflating the resident set.
const DefaultMemoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type flags struct {
	trailARN, start, end, bucket, prefix, account, region, orgID string
	verbose, strict                                              bool
	local, publicKeys, output, html                              string
	expectRecent                                                 time.Duration
	workers, chainWorkers, prefetch                              int
	progress, bucketOwner                                        string
}

// errUsage marks a command-line error (exit 2, as aws-cli's argument parser exits).
type errUsage struct{ msg string }

func (e *errUsage) Error() string { return e.msg }

const usageHead = `usage: validate --start-time T [--end-time T] (--trail-arn ARN | --s3-bucket B | --local DIR) [flags]

Validates CloudTrail log file integrity like "aws cloudtrail validate-logs", or every chain of an
organization's Log Archive bucket, on S3 or offline (docs/validate.md). Every flag can also be set
as LOGARCHIVE_<FLAG> (dashes as underscores); the command line wins.

flags:
`

func parseFlags(args []string, stdout io.Writer, getenv func(string) string) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.trailARN, "trail-arn", "", "ARN of the trail to validate (aws-cli mode); without it, every chain under --s3-bucket/--s3-prefix")
	fs.StringVar(&f.start, "start-time", "", "validate log files delivered on or after this time (required; offsets are converted to UTC)")
	fs.StringVar(&f.end, "end-time", "", "validate log files delivered on or before this time (default: now)")
	fs.StringVar(&f.bucket, "s3-bucket", "", "bucket holding the digests (skips DescribeTrails)")
	fs.StringVar(&f.prefix, "s3-prefix", "", "S3 key prefix of the trail (used with --s3-bucket)")
	fs.StringVar(&f.account, "account-id", "", "member account whose chain to validate (organization trails)")
	fs.StringVar(&f.region, "region", "", "source region whose chain to validate; also the region of API calls (default AWS_REGION, then the trail's home region)")
	fs.StringVar(&f.orgID, "org-id", "", "organization id of an organization trail when --s3-bucket is given (default: detected from the bucket)")
	fs.BoolVar(&f.verbose, "verbose", false, "print valid lines too")
	fs.StringVar(&f.local, "local", "", "validate offline: DIR mirrors bucket/key (signatures in .s3meta.json sidecars); needs --public-keys")
	fs.StringVar(&f.publicKeys, "public-keys", "", "public keys file (aws cloudtrail list-public-keys JSON, or a map region → list) instead of ListPublicKeys")
	fs.StringVar(&f.output, "output", "text", "text (aws-cli's lines) or json (report on stdout)")
	fs.StringVar(&f.html, "html", "", "also write a self-contained HTML report to this file")
	fs.DurationVar(&f.expectRecent, "expect-recent", 0, "fail (exit 2) when a chain's newest digest ends more than this before the end time (head truncation)")
	fs.BoolVar(&f.strict, "strict", false, "exit 2 on warnings and on gaps other than chain restarts")
	fs.IntVar(&f.workers, "workers", 0, "log files fetched and hashed at once (default max(32, 4×CPUs))")
	fs.IntVar(&f.chainWorkers, "chain-workers", 0, "chains validated at once (default 4)")
	fs.IntVar(&f.prefetch, "prefetch", 0, "digests fetched ahead per chain (default 8)")
	fs.StringVar(&f.bucketOwner, "expected-bucket-owner", "", "account id that must own the bucket (sent with every S3 request)")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageHead)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, &errUsage{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &errUsage{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, &errUsage{err.Error()}
	}
	return f, nil
}

// applyEnv sets every flag not given on the command line from LOGARCHIVE_<FLAG>, as ingest does;
// an empty variable counts as unset.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	return envflag.Apply(fs, func(k string) (string, bool) { v := getenv(k); return v, v != "" })
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "validate: error: %s\nRun 'validate --help' for the flags.\n", validate.Escape(msg))
		return ExitUsage
	}
	f, err := parseFlags(args, stdout, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usage(err.Error())
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "\n%s\n", validate.Escape(err.Error()))
		return validate.ExitFatal
	}
	if f.start == "" {
		return usage("the following arguments are required: --start-time")
	}
	if f.output != "text" && f.output != "json" {
		return usage(fmt.Sprintf("argument --output: invalid choice: %q (choose from text, json)", f.output))
	}
	if f.progress != "auto" && f.progress != "always" && f.progress != "never" {
		return usage(fmt.Sprintf("argument --progress: invalid choice: %q (choose from auto, always, never)", f.progress))
	}
	var arnHome string
	if f.trailARN != "" {
		if arnHome, _, _, err = digest.ParseTrailARN(f.trailARN); err != nil {
			return fail(err)
		}
	}
	start, err := digest.ParseUserTime(f.start)
	if err != nil {
		return fail(err)
	}
	end := time.Now().UTC().Truncate(time.Second)
	if f.end != "" {
		if end, err = digest.ParseUserTime(f.end); err != nil {
			return fail(err)
		}
	}
	if start.After(end) {
		return fail(errors.New("Invalid time range specified: start-time must occur before end-time"))
	}
	if err := digest.CheckUserRange(start, end); err != nil {
		// aws-cli has printed its startup line by the time the range overflows.
		if f.trailARN != "" && f.output == "text" {
			validate.NewTextWriter(stdout, stderr, false).Startup(f.trailARN, validate.Interval{From: start, To: end})
		}
		return fail(err)
	}
	if f.trailARN == "" && f.bucket == "" && f.local == "" {
		return usage("pass --trail-arn (one trail, like aws-cli) or --s3-bucket / --local (every chain)")
	}
	region := f.region
	if region == "" {
		region = getenv("AWS_REGION")
	}
	if region == "" {
		region = arnHome
	}

	var (
		st   store.Store
		keys digest.KeySource
		cfg  *aws.Config
	)
	loadCfg := func() (aws.Config, error) {
		if cfg == nil {
			c, err := awsconfig.Load(ctx, region)
			if err != nil {
				return aws.Config{}, err
			}
			// The SDK's own log lines ("Response has no supported checksum…", once per object) would
			// mix with aws-cli's output format; validate reports problems itself.
			c.Logger = logging.Nop{}
			c.ClientLogMode = 0
			cfg = &c
		}
		return *cfg, nil
	}
	if f.local != "" {
		if f.publicKeys == "" {
			return fail(errors.New("--local needs --public-keys (offline validation cannot call ListPublicKeys)"))
		}
		lst, bucket, err := localMirror(f.local, f.bucket)
		if err != nil {
			fmt.Fprintf(stderr, "\n%s\n", err)
			return validate.ExitFatal
		}
		st, f.bucket = lst, bucket
	}
	if f.publicKeys != "" {
		fk, err := digest.LoadKeysFile(f.publicKeys)
		if err != nil {
			return fail(err)
		}
		keys = fk
	} else {
		c, err := loadCfg()
		if err != nil {
			return fail(err)
		}
		keys = digest.NewCloudTrailKeys(c)
	}

	var trailID *digest.ChainID
	if f.trailARN != "" {
		l := validate.TrailLookup{ARN: f.trailARN, SourceRegion: region, AccountID: f.account, Bucket: f.bucket,
			Prefix: f.prefix, OrgID: f.orgID}
		var ct validate.TrailAPI
		var org validate.OrgAPI
		if f.bucket == "" {
			c, err := loadCfg()
			if err != nil {
				return fail(err)
			}
			// DescribeTrails in the trail's home region finds it whatever the CLI region.
			ct = cloudtrail.NewFromConfig(c, func(o *cloudtrail.Options) { o.Region = arnHome })
			org = orgClient{organizations.NewFromConfig(c)}
		}
		id, err := validate.ResolveTrail(ctx, l, ct, org)
		if err != nil {
			return fail(err)
		}
		trailID = &id
	}
	if st == nil {
		c, err := loadCfg()
		if err != nil {
			return fail(err)
		}
		bucket := f.bucket
		if trailID != nil {
			bucket = trailID.Bucket
		}
		st = store.NewS3(bucketClient(ctx, c, bucket), store.S3Options{ExpectedBucketOwner: f.bucketOwner})
	}

	v, err := validate.New(validate.Options{Store: st, Keys: keys, Start: start, End: end, LogWorkers: f.workers,
		ChainWorkers: f.chainWorkers, Prefetch: f.prefetch, Offline: f.local != "", ExpectRecent: f.expectRecent,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fail(err)
	}

	var chains []digest.ChainID
	var subjects []string
	if trailID != nil {
		id := *trailID
		if f.bucket != "" && f.orgID == "" {
			if id.OrgID, err = v.DetectOrg(ctx, id); err != nil {
				return fail(err)
			}
		}
		chains, subjects = []digest.ChainID{id}, []string{f.trailARN}
	} else {
		if chains, err = v.Discover(ctx, f.bucket, f.prefix); err != nil {
			return fail(err)
		}
		for _, c := range chains {
			subjects = append(subjects, chainSubject(c))
		}
	}

	stopProgress := startProgress(ctx, v, stderr, f.progress, f.output)
	results, err := v.ValidateAll(ctx, chains)
	stopProgress()
	if err != nil {
		return fail(err)
	}
	report := validate.NewReport(results, validate.Interval{From: start, To: end}, f.strict, time.Now())
	if f.html != "" {
		if err := writeFile(f.html, report.WriteHTML); err != nil {
			return fail(err)
		}
	}
	if f.output == "json" {
		if err := report.WriteJSON(stdout); err != nil {
			return fail(err)
		}
		return report.ExitCode
	}
	tw := validate.NewTextWriter(stdout, stderr, f.verbose)
	if len(results) == 0 {
		tw.Startup("(none found under s3://"+f.bucket+"/"+f.prefix+")", validate.Interval{From: start, To: end})
		tw.Summary(validate.Interval{From: start, To: end}, nil, validate.Counts{})
	}
	for i, r := range results {
		tw.Chain(subjects[i], r)
	}
	if len(results) > 1 {
		t := report.Totals
		fmt.Fprintf(stdout, "\n%d chains: %d/%d digest files valid, %d/%d log files valid, exit code %d\n", len(results),
			t.ValidDigests+t.ValidBackfillDigests, t.ValidDigests+t.ValidBackfillDigests+t.InvalidDigests+t.InvalidBackfillDigests+t.UnreadableDigests,
			t.ValidLogs, t.ValidLogs+t.InvalidLogs+t.UnreadableLogs, report.ExitCode)
	}
	return report.ExitCode
}

// bucketClient returns an S3 client in the bucket's region (aws-cli asks GetBucketLocation too):
// requests to another region's endpoint fail with a redirect the SDK does not follow. Custom
// endpoints (moto, MinIO) and failed lookups keep the configured region.
func bucketClient(ctx context.Context, cfg aws.Config, bucket string) *s3.Client {
	client := awsconfig.NewS3(cfg, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if bucket == "" || awsconfig.CustomS3Endpoint() {
		return client
	}
	out, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		return client
	}
	region := string(out.LocationConstraint)
	switch region {
	case "":
		region = "us-east-1"
	case "EU":
		region = "eu-west-1"
	}
	if region == cfg.Region {
		return client
	}
	return awsconfig.NewS3(cfg, func(o *s3.Options) { o.Region = region; o.DisableLogOutputChecksumValidationSkipped = true })
}

func chainSubject(c digest.ChainID) string {
	s := c.Trail + " (home " + c.HomeRegion + ") account " + c.Account + " region " + c.SourceRegion
	if c.OrgID != "" {
		s += " org " + c.OrgID
	}
	return s
}

// localMirror recognises the layout of a --local directory: a directory of buckets
// (DIR/<bucket>/[prefix/]AWSLogs/…) or one bucket mirrored with `aws s3 sync` (DIR/[prefix/]AWSLogs/…,
// the bucket's name from --s3-bucket). Anything else, an empty directory included, is an error that
// shows the expected layouts.
func localMirror(dir, bucket string) (*store.Local, string, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("--local %s: not a directory", validate.Escape(dir))
	}
	holdsArchive := func(d string) bool {
		if isDir(filepath.Join(d, "AWSLogs")) {
			return true
		}
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() && isDir(filepath.Join(d, e.Name(), "AWSLogs")) {
				return true
			}
		}
		return false
	}
	if bucket != "" && !strings.ContainsAny(bucket, "/\x00") && bucket != "." && bucket != ".." && holdsArchive(filepath.Join(dir, bucket)) {
		return store.NewLocal(dir), bucket, nil
	}
	// One synced bucket: AWSLogs/ at the top, or under an organization-id prefix (Control Tower).
	mirrorTop := isDir(filepath.Join(dir, "AWSLogs"))
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), "o-") && isDir(filepath.Join(dir, e.Name(), "AWSLogs")) {
				mirrorTop = true
			}
		}
	}
	if mirrorTop {
		if bucket == "" {
			return nil, "", fmt.Errorf("--local %s is one bucket mirrored (AWSLogs/ at its top): pass --s3-bucket with the bucket's name,\nwhich the digests name and validation checks", validate.Escape(dir))
		}
		return store.NewLocalBucket(dir, bucket), bucket, nil
	}
	if bucket == "" {
		switch dirs := bucketDirs(dir, holdsArchive); len(dirs) {
		case 1:
			return store.NewLocal(dir), dirs[0], nil
		case 0:
		default:
			return nil, "", fmt.Errorf("--local %s holds %d bucket folders (%s); pass --s3-bucket", validate.Escape(dir), len(dirs),
				validate.Escape(strings.Join(dirs, ", ")))
		}
	}
	where := ""
	if bucket != "" {
		where = " for bucket " + validate.Escape(bucket)
	}
	return nil, "", fmt.Errorf(`--local %s holds no CloudTrail archive%s. Expected one of:
  DIR/<bucket>/AWSLogs/...   a directory of bucket mirrors (--s3-bucket picks one when there are several)
  DIR/AWSLogs/...            one bucket, as "aws s3 sync s3://<bucket> DIR" leaves it (pass --s3-bucket <bucket>)
either with an optional key-prefix folder before AWSLogs/ (Control Tower: DIR/<bucket>/o-.../AWSLogs/...)`,
		validate.Escape(dir), where)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// bucketDirs lists the folders of dir that hold an archive themselves.
func bucketDirs(dir string, holdsArchive func(string) bool) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && holdsArchive(filepath.Join(dir, e.Name())) {
			out = append(out, e.Name())
		}
	}
	return out
}

func writeFile(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fn(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// startProgress prints a one-line progress counter on stderr when it is a terminal (text output is
// printed at the end, so the line never mixes with it).
func startProgress(ctx context.Context, v *validate.Validator, stderr io.Writer, mode, output string) func() {
	on := mode == "always"
	if mode == "auto" {
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				on = true
			}
		}
	}
	if !on {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(stderr, "\r\033[K")
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p := v.Progress()
				fmt.Fprintf(stderr, "\r\033[Kvalidating: %d chains done, %d digests, %d log files (%.1f MB)", p.Chains, p.Digests, p.Logs, float64(p.LogBytes)/1e6)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// orgClient answers validate.OrgAPI with Organizations' DescribeOrganization.
type orgClient struct{ c *organizations.Client }

func (o orgClient) OrganizationID(ctx context.Context) (string, error) {
	out, err := o.c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return "", err
	}
	if out.Organization == nil {
		return "", nil
	}
	return aws.ToString(out.Organization.Id), nil
}
