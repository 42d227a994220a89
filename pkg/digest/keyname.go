package digest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key-layout constants (CloudTrail's S3 layout for digest files).
const (
	awsLogs        = "AWSLogs"
	digestFolder   = "CloudTrail-Digest"
	digestSuffix   = ".json.gz"
	backfillSuffix = "_backfill.json.gz"
	stampLayout    = "20060102T150405Z"
)

// ChainID names one digest chain: the digests one trail delivers for one account and source region
// into one bucket. OrgID is empty for a trail that is not an organization trail.
type ChainID struct {
	Bucket       string `json:"bucket"`
	Prefix       string `json:"prefix,omitempty"` // S3KeyPrefix, without leading or trailing "/"
	OrgID        string `json:"org_id,omitempty"`
	Account      string `json:"account"`
	SourceRegion string `json:"source_region"`
	Trail        string `json:"trail"`
	HomeRegion   string `json:"home_region"`
}

func (c ChainID) String() string {
	org := c.OrgID
	if org == "" {
		org = "-"
	}
	return fmt.Sprintf("s3://%s/%s org=%s account=%s region=%s trail=%s home=%s", c.Bucket, c.Prefix, org,
		c.Account, c.SourceRegion, c.Trail, c.HomeRegion)
}

// RegionPrefix is the listing prefix of the chain's source-region folder, without a trailing "/"
// (aws-cli lists with exactly this prefix).
func (c ChainID) RegionPrefix() string {
	var b strings.Builder
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		b.WriteString(p)
		b.WriteByte('/')
	}
	b.WriteString(awsLogs + "/")
	if c.OrgID != "" {
		b.WriteString(c.OrgID + "/")
	}
	b.WriteString(c.Account + "/" + digestFolder + "/" + c.SourceRegion)
	return b.String()
}

// Key is the key CloudTrail would give this chain's standard digest ending at t.
func (c ChainID) Key(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s%s", c.RegionPrefix(), t.Format("2006/01/02"),
		c.Account, c.SourceRegion, c.Trail, c.HomeRegion, t.Format(stampLayout), digestSuffix)
}

// KeyName is a parsed digest key.
type KeyName struct {
	ChainID            // Bucket is left empty
	Time     time.Time // from the file name: digestEndTime to the second
	Stamp    string    // the file name's YYYYMMDDTHHMMSSZ
	Backfill bool
}

// ErrNotDigestKey is returned (wrapped) by ParseKey for keys outside CloudTrail's digest layout.
var ErrNotDigestKey = errors.New("not a CloudTrail digest key")

// ParseKey parses a digest key structurally. Trail names may contain "_" and ".", so the file name is
// never split on "_" blindly: the known account/region head and timestamp tail are stripped, and the
// home region is what follows the last "_" of the rest.
func ParseKey(key string) (KeyName, error) {
	bad := func(why string) (KeyName, error) {
		return KeyName{}, fmt.Errorf("%w: %q: %s", ErrNotDigestKey, key, why)
	}
	seg := strings.Split(key, "/")
	n := len(seg)
	if n < 8 {
		return bad("too few path segments")
	}
	file, dd, mm, yyyy, src, folder, acct := seg[n-1], seg[n-2], seg[n-3], seg[n-4], seg[n-5], seg[n-6], seg[n-7]
	if folder != digestFolder {
		return bad("no " + digestFolder + " folder")
	}
	var kn KeyName
	rest := n - 8
	switch {
	case seg[rest] == awsLogs:
	case rest >= 1 && seg[rest-1] == awsLogs && strings.HasPrefix(seg[rest], "o-"):
		kn.OrgID = seg[rest]
		rest--
	default:
		return bad("no AWSLogs/[o-id/]account/ path")
	}
	kn.Prefix = strings.Join(seg[:rest], "/")
	if !isAccount(acct) {
		return bad("account is not 12 digits")
	}
	kn.Account, kn.SourceRegion = acct, src
	head := acct + "_CloudTrail-Digest_" + src + "_"
	if !strings.HasPrefix(file, head) {
		return bad("file name does not start with " + head)
	}
	body := file[len(head):]
	switch {
	case strings.HasSuffix(body, backfillSuffix):
		kn.Backfill = true
		body = strings.TrimSuffix(body, backfillSuffix)
	case strings.HasSuffix(body, digestSuffix):
		body = strings.TrimSuffix(body, digestSuffix)
	default:
		return bad("file name does not end in .json.gz")
	}
	i := strings.LastIndexByte(body, '_')
	if i < 0 {
		return bad("no timestamp")
	}
	kn.Stamp = body[i+1:]
	t, err := time.Parse(stampLayout, kn.Stamp)
	if err != nil || len(kn.Stamp) != len(stampLayout) {
		return bad("timestamp is not YYYYMMDDTHHMMSSZ")
	}
	kn.Time = t
	if t.Format("2006/01/02") != yyyy+"/"+mm+"/"+dd {
		return bad("date folders do not match the timestamp")
	}
	body = body[:i]
	j := strings.LastIndexByte(body, '_')
	if j <= 0 || j == len(body)-1 {
		return bad("no trail name and home region")
	}
	kn.Trail, kn.HomeRegion = body[:j], body[j+1:]
	return kn, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseTrailARN splits arn:<partition>:cloudtrail:<home region>:<account>:trail/<name>. It accepts what
// aws-cli accepts (its check is anchored at the start only) and reports the same message otherwise.
func ParseTrailARN(arn string) (home, account, name string, err error) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[1] == "" || p[2] != "cloudtrail" || p[3] == "" || !isAccount(p[4]) ||
		!strings.HasPrefix(p[5], "trail/") || len(p[5]) == len("trail/") {
		return "", "", "", fmt.Errorf("Invalid trail ARN provided: %s", arn)
	}
	name = p[5][strings.LastIndexByte(p[5], '/')+1:]
	if name == "" {
		return "", "", "", fmt.Errorf("Invalid trail ARN provided: %s", arn)
	}
	return p[3], p[4], name, nil
}
