// Package synth generates a synthetic Log Archive bucket of an AWS Organization: organization-trail
// CloudTrail log files (management, data and Insights events), hourly signed and chained CloudTrail
// digests, VPC Flow Logs in several text formats and Route 53 Resolver query logs, all in the key
// layouts AWS uses, for demos, tests and benchmarks.
//
// It promises:
//   - Determinism: the same Options (including Seed) produce byte-identical objects, metadata and
//     Manifest, whatever the number of workers. Randomness comes only from seeded math/rand/v2
//     generators (one per chain, so that concurrency cannot reorder draws), nothing reads the clock,
//     no output depends on map iteration order, and gzip runs at a fixed level with no header time.
//   - Verifiability: every digest is signed exactly as CloudTrail signs (RSA-2048, PKCS#1 v1.5,
//     SHA-256 over digest.StringToSign) with keys derived from the seed and published in a
//     list-public-keys shaped document (Manifest.PublicKeys, MarshalPublicKeys); two keys per region
//     with overlapping validity, rotated in the middle of the run. Every untampered digest verifies,
//     links to its predecessor (key, hash of the inflated bytes, signature) and lists log files that
//     hash to the listed values.
//   - Known ground truth: the Manifest lists every object written, counts per table, the ids of the
//     scenario events that detections must find (see the Scenario* names), the events delivered
//     twice, the backfill digest (Options.Backfill) and each deliberate tampering (Options.Tamper,
//     TamperKinds), so tests assert against it rather than against the generator's internals.
//
// Presets name the usual sizes ("demo", "bench", "tiny"). The RSA keys are synthetic test material
// derived from the seed (see deterministicKey); never use them for anything else.
package synth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// ObjectWriter stores one object. Put must be safe for concurrent use: Generate calls it from several
// goroutines (one per chain). meta holds S3 user metadata with lower-case keys, or nil.
type ObjectWriter interface {
	Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error
}

// Account is one member account of the synthetic organization.
type Account struct {
	ID   string `json:"id"`   // 12 digits
	Name string `json:"name"` // e.g. "prod"; the account named ProdAccountName receives the scenario
}

// ProdAccountName is the account name that receives the scenario events (SwitchRole into
// elevated-security-role, root usage, policy and security-group changes, failed console logins).
const ProdAccountName = "prod"

// Options control the size and shape of the archive. Zero values take the defaults documented per
// field (see DefaultOptions); validate with Options.Validate.
type Options struct {
	Seed uint64
	// OrgID is the organization id ("o-" + 10..32 lower-case alphanumerics). Default: derived from Seed.
	OrgID  string
	Bucket string // default "aws-controltower-logs-<log-archive account>-<home region>"
	Prefix string // optional key prefix (no leading or trailing "/"), prepended to every key
	// Accounts lists the member accounts. Default: NumAccounts accounts with seed-derived ids, named
	// management, log-archive, prod, dev, then workload-NN; the account named "prod" is required.
	Accounts    []Account
	NumAccounts int       // used when Accounts is empty; default 4, minimum 3
	Regions     []string  // source regions of the multi-region trail; default us-east-1, eu-west-1
	HomeRegion  string    // trail home region; default Regions[0]
	TrailName   string    // default "aws-controltower-BaselineCloudTrail"
	Start       time.Time // first instant of activity; default DefaultStart()
	Hours       int       // hours of activity; default 3

	// EventsPerHour is the mean number of ordinary CloudTrail records per account, region and hour
	// (default 300); negative means none (the scenario's records are still written).
	EventsPerHour int
	// FlowRecordsPerHour is the number of VPC flow-log records per account, region and hour (default
	// 600); negative disables flow logs.
	FlowRecordsPerHour int
	// ResolverQueriesPerHour is the number of Resolver query-log records per account, region and hour
	// (default 300); negative disables Resolver logs.
	ResolverQueriesPerHour int
	// FlowLogHive selects the Hive-compatible flow-log prefix (aws-account-id=…/aws-service=…/…).
	FlowLogHive bool
	// FlowLogHourly adds hourly partitions to flow-log keys (…/DD/HH/, or …/day=DD/hour=HH/).
	FlowLogHourly bool
	// FlowLogParquet delivers flow logs as Parquet (…_<hash>.log.parquet, GZIP pages, columns named
	// with "_", numeric fields typed, "-" as NULL) instead of gzip text.
	FlowLogParquet bool
	// NetworkActivity adds VPC endpoint network activity events (CloudTrail-NetworkActivity/,
	// eventType AwsVpceEvent, some VpceAccessDenied), counted in the cloudtrail table and not listed
	// by digests [unverified: AWS documents neither their file names nor their digest coverage].
	NetworkActivity bool
	// Backfill holds one log file of one clean chain back from its digest and lists it in a backfill
	// digest (…_backfill.json.gz, own chain, backfill-generation-timestamp metadata) instead.
	Backfill bool

	// Tamper lists the tamperings to apply, in order; each lands on its own chain and hour where the
	// archive allows it. See TamperKinds.
	Tamper []TamperKind

	// Workers bounds the chains generated at once; default GOMAXPROCS. Output does not depend on it.
	Workers int
	// Writers bounds the concurrent ObjectWriter.Put calls; default DefaultWriters.
	Writers int
}

// Defaults of Options.
const (
	DefaultNumAccounts            = 4
	DefaultHours                  = 3
	DefaultEventsPerHour          = 300
	DefaultFlowRecordsPerHour     = 600
	DefaultResolverQueriesPerHour = 300
	DefaultTrailName              = "aws-controltower-BaselineCloudTrail"
	DefaultWriters                = 16
)

// DefaultStart is the first hour of activity when Options.Start is zero: a fixed instant, so that
// output never depends on the clock.
func DefaultStart() time.Time { return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) }

// DefaultRegions are the trail's source regions when Options.Regions is empty.
func DefaultRegions() []string { return []string{"us-east-1", "eu-west-1"} }

// DefaultOptions is the "demo" preset: one organization, four accounts (one named prod), two
// regions, three hours, a few hundred events per account-hour, every log type. It generates in a
// few seconds.
func DefaultOptions(seed uint64) Options {
	o := Options{Seed: seed}
	o.applyDefaults()
	return o
}

// Presets are named option sets: "demo" (DefaultOptions: 4 accounts, 2 regions, 3 hours, ~930
// objects), "bench" (8 accounts, 2 regions, 12 hours: more than 2,000 CloudTrail log files and
// about 7,000 objects, for other packages' benchmarks) and "tiny" (3 accounts, 2 regions, 2 hours,
// a few records per file, for quick tests).
func Presets() []string { return []string{"demo", "bench", "tiny"} }

// Preset returns the named preset (see Presets) for seed. It sets only the size fields; the others
// stay zero and take their defaults in Validate and Generate, so a caller can still change, say, the
// accounts or regions and get consistent derived defaults (bucket name, home region).
func Preset(name string, seed uint64) (Options, error) {
	o := Options{Seed: seed}
	switch name {
	case "demo":
	case "bench":
		o.NumAccounts, o.Hours = 8, 12
		o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 120, 120, 60
	case "tiny":
		o.NumAccounts, o.Hours = 3, 2
		o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 36, 24, 24
	default:
		return Options{}, &OptionsError{Field: "preset", Reason: fmt.Sprintf("unknown preset %q (known: %s)", name, strings.Join(Presets(), ", "))}
	}
	return o, nil
}

func (o *Options) applyDefaults() {
	if len(o.Regions) == 0 {
		o.Regions = DefaultRegions()
	}
	if o.HomeRegion == "" {
		o.HomeRegion = o.Regions[0]
	}
	if o.TrailName == "" {
		o.TrailName = DefaultTrailName
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart()
	}
	o.Start = o.Start.UTC()
	if o.Hours == 0 {
		o.Hours = DefaultHours
	}
	if o.EventsPerHour == 0 {
		o.EventsPerHour = DefaultEventsPerHour
	}
	if o.FlowRecordsPerHour == 0 {
		o.FlowRecordsPerHour = DefaultFlowRecordsPerHour
	}
	if o.ResolverQueriesPerHour == 0 {
		o.ResolverQueriesPerHour = DefaultResolverQueriesPerHour
	}
	if o.NumAccounts == 0 {
		o.NumAccounts = DefaultNumAccounts
	}
	if len(o.Accounts) == 0 {
		o.Accounts = defaultAccounts(o.Seed, o.NumAccounts)
	}
	if o.OrgID == "" {
		o.OrgID = "o-" + newRand(o.Seed, "org").lowerAlnum(10)
	}
	if o.Bucket == "" {
		la := o.Accounts[0].ID
		for _, a := range o.Accounts {
			if a.Name == "log-archive" {
				la = a.ID
			}
		}
		o.Bucket = "aws-controltower-logs-" + la + "-" + o.HomeRegion
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Writers <= 0 {
		o.Writers = DefaultWriters
	}
}

// OptionsError reports an unusable option.
type OptionsError struct {
	Field, Reason string
}

func (e *OptionsError) Error() string { return "synth: option " + e.Field + ": " + e.Reason }

// Validate applies the defaults and checks the options.
func (o *Options) Validate() error {
	o.applyDefaults()
	bad := func(field, format string, a ...any) error {
		return &OptionsError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	if !validOrgID(o.OrgID) {
		return bad("OrgID", "%q does not match o-[a-z0-9]{10,32}", o.OrgID)
	}
	if o.NumAccounts < 3 && len(o.Accounts) == 0 {
		return bad("NumAccounts", "need at least 3, got %d", o.NumAccounts)
	}
	seen := map[string]bool{}
	prods := 0
	for _, a := range o.Accounts {
		if len(a.ID) != 12 || strings.Trim(a.ID, "0123456789") != "" {
			return bad("Accounts", "account id %q is not 12 digits", a.ID)
		}
		if seen[a.ID] {
			return bad("Accounts", "account id %s listed twice", a.ID)
		}
		seen[a.ID] = true
		if a.Name == ProdAccountName {
			prods++
		}
	}
	if prods != 1 {
		return bad("Accounts", "%d accounts are named %q; exactly one receives the scenario events", prods, ProdAccountName)
	}
	regionSeen := map[string]bool{}
	for _, r := range o.Regions {
		if !validRegion(r) {
			return bad("Regions", "%q is not a region name", r)
		}
		if regionSeen[r] {
			return bad("Regions", "%s listed twice", r)
		}
		regionSeen[r] = true
	}
	if !regionSeen[o.HomeRegion] {
		return bad("HomeRegion", "%q is not one of Regions", o.HomeRegion)
	}
	if len(o.TrailName) < 3 || len(o.TrailName) > 128 || strings.Trim(o.TrailName, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
		return bad("TrailName", "%q: 3-128 letters, digits, '.', '_' or '-'", o.TrailName)
	}
	if o.Hours < 1 || o.Hours > 24*31 {
		return bad("Hours", "%d is outside 1..744", o.Hours)
	}
	if o.EventsPerHour > 1_000_000 {
		return bad("EventsPerHour", "%d is above 1000000", o.EventsPerHour)
	}
	if o.FlowRecordsPerHour > 10_000_000 || o.ResolverQueriesPerHour > 10_000_000 {
		return bad("FlowRecordsPerHour/ResolverQueriesPerHour", "at most 10000000")
	}
	if o.Bucket == "" || len(o.Bucket) > 63 || strings.Trim(o.Bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return bad("Bucket", "%q is not an S3 bucket name", o.Bucket)
	}
	if strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") {
		return bad("Prefix", "%q must not start or end with '/'", o.Prefix)
	}
	for _, k := range o.Tamper {
		if !k.valid() {
			return bad("Tamper", "unknown kind %q (known: %s)", k, strings.Join(tamperKindNames(), ", "))
		}
	}
	if len(o.Tamper) > 0 && o.Hours < 2 {
		return bad("Tamper", "tampering needs Hours >= 2 so that a chain has interior digests")
	}
	return nil
}

func validOrgID(s string) bool {
	if !strings.HasPrefix(s, "o-") || len(s) < 12 || len(s) > 34 {
		return false
	}
	return strings.Trim(s[2:], "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}

func validRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return false
		}
	}
	return true
}

func defaultAccounts(seed uint64, n int) []Account {
	names := []string{"management", "log-archive", ProdAccountName, "dev"}
	r := newRand(seed, "accounts")
	out := make([]Account, 0, n)
	seen := map[string]bool{}
	for i := 0; len(out) < n; i++ {
		id := r.digits(12)
		if id[0] == '0' || seen[id] {
			continue
		}
		seen[id] = true
		name := fmt.Sprintf("workload-%02d", len(out)-len(names)+1)
		if len(out) < len(names) {
			name = names[len(out)]
		}
		out = append(out, Account{ID: id, Name: name})
	}
	return out
}

// Generate writes the archive described by opts through w and returns its manifest. On error the
// archive is incomplete; the error names the object that failed.
func Generate(ctx context.Context, w ObjectWriter, opts Options) (*Manifest, error) {
	if w == nil {
		return nil, errors.New("synth: nil ObjectWriter")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	g, err := newGenerator(opts)
	if err != nil {
		return nil, err
	}
	return g.run(ctx, w)
}
