package ocsf

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/store"
)

// Security Lake's naming rules (CreateCustomLogSource; "Collecting data from custom sources").
var (
	sourceNameRE    = lazyRegexp(`^[\w\-:.]{1,64}$`)
	sourceVersionRE = lazyRegexp(`^[A-Za-z0-9\-._]{1,32}$`)
)

// isRegion reports whether s is an AWS Region name, ^[a-z]{2}(-[a-z]+)+-\d+$ ("us-east-1",
// "us-gov-west-1"). Every row is checked, and the regular expression was a tenth of the Security
// Lake path's CPU on flow logs.
func isRegion(s string) bool {
	if len(s) < 6 || !isLower(s[0]) || !isLower(s[1]) || s[2] != '-' {
		return false
	}
	last := strings.LastIndexByte(s, '-')
	if last == 2 || last == len(s)-1 {
		return false // no letter group, or no number
	}
	if !allDigits(s[last+1:]) {
		return false
	}
	// s[2:last] is one or more groups of "-" and letters.
	for i := 2; i < last; i++ {
		if s[i] == '-' {
			if s[i+1] == '-' {
				return false
			}
		} else if !isLower(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isAccount reports whether s is a Security Lake accountId, ^(\d{12}|external|external_[\w\-]+)$.
func isAccount(s string) bool {
	if len(s) == 12 && allDigits(s) {
		return true
	}
	rest, ok := strings.CutPrefix(s, "external")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	if rest[0] != '_' || len(rest) == 1 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if !(isLower(c) || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// LayoutError says a value cannot go into a Security Lake key.
type LayoutError struct {
	Field, Value, Rule string
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("ocsf: %s %q is not a valid Security Lake value (%s)", e.Field, e.Value, e.Rule)
}

// SourcePrefix is the key prefix of a custom source when no provider.location is at hand:
// "ext/<name>/" or, with a version, "ext/<name>/<version>/". Prefer ProviderLocation: whether
// Security Lake adds the version segment is its decision, returned by CreateCustomLogSource.
func SourcePrefix(name, version string) (string, error) {
	if !sourceNameRE().MatchString(name) {
		return "", &LayoutError{"sourceName", name, `1-64 of [\w\-_:.]`}
	}
	if version == "" {
		return "ext/" + name + "/", nil
	}
	if !sourceVersionRE().MatchString(version) {
		return "", &LayoutError{"sourceVersion", version, `1-32 of [A-Za-z0-9\-._]`}
	}
	return "ext/" + name + "/" + version + "/", nil
}

// ProviderLocation turns the provider.location CreateCustomLogSource returns
// ("s3://aws-security-data-lake-<region>-<id>/ext/<name>/<version>/") into a store location.
func ProviderLocation(st store.Store, location string) (store.Location, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return store.Location{}, &LayoutError{"provider.location", location, "s3://bucket/prefix/"}
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return store.Location{Store: st, Bucket: u.Host, Prefix: prefix}, nil
}

// Partition is one Security Lake partition of a source: region, account and UTC event day.
type Partition struct {
	Region  string
	Account string
	Day     time.Time // truncated to the UTC day
}

// PartitionOf is the partition of a row, by the rule of Security Lake's custom-source layout
// ("region" and "accountId" are the Region and account the records pertain to, "external" for
// records that pertain to no account):
//   - region: the row's cloud.region when it is an AWS Region, else the object's (lin.Region,
//     parse.Object's key region: a version-2 flow log has no region field);
//   - accountId: the row's cloud.account.uid when it is a 12-digit account, else the object's
//     (lin.Account, the account the key delivers for) when that is one, else "external". A flow
//     log writes account-id "unknown" for interfaces AWS services create, and public samples carry
//     13-digit accounts: such a record still pertains to the account whose log holds it, and the
//     row's cloud keeps the value as the record says.
//
// Only a row with no usable region anywhere is refused (*LayoutError), so a mapped record of an
// object with an AWS key always has a partition.
func PartitionOf(r Row, lin Lineage) (Partition, error) {
	p := Partition{Region: r.Region(), Account: r.Account(),
		Day: time.UnixMilli(r.EventTime()).UTC().Truncate(24 * time.Hour)}
	if !isRegion(p.Region) {
		p.Region = lin.Region
	}
	if !isAccount(p.Account) {
		p.Account = lin.Account
		if !isAccount(p.Account) {
			p.Account = "external"
		}
	}
	return p, p.validate()
}

func (p Partition) validate() error {
	if !isRegion(p.Region) {
		return &LayoutError{"region", p.Region, "an AWS region such as us-east-1"}
	}
	if !isAccount(p.Account) {
		return &LayoutError{"accountId", p.Account, "12 digits, external or external_<id>"}
	}
	return nil
}

// Path is the partition's part of an object key: "region=…/accountId=…/eventDay=YYYYMMDD/".
func (p Partition) Path() string {
	return "region=" + p.Region + "/accountId=" + p.Account + "/eventDay=" + p.Day.UTC().Format("20060102") + "/"
}

// ObjectKey is the full key of an object of a source: the source location's prefix, the partition
// path and <name>.zstd.parquet. The suffix names the page codec the writer uses (zstd), as Spark and
// parquet-mr name theirs; Security Lake's own objects say .gz.parquet, but the codec is in the
// Parquet footer and no reader goes by the suffix, so the name should not claim gzip.
func ObjectKey(src store.Location, p Partition, name string) string {
	return src.Key(p.Path() + name + ".zstd.parquet")
}

// lazyRegexp compiles expr at its first use, not at package init: the ingest binary links this
// package for every run, and compiling its six patterns was ~0.3 ms of each run's start-up, Athena
// runs that never use them included. The result is read-only and safe for concurrent use.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
