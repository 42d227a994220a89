package validate

import (
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// DigestResult is the outcome for one digest file, with the log files it lists (checked only when the
// digest itself is authentic, as in aws-cli).
type DigestResult struct {
	Bucket   string       `json:"bucket"`
	Key      string       `json:"key"`
	Backfill bool         `json:"backfill,omitempty"`
	Class    digest.Class `json:"class"`
	// Reason is aws-cli's text after "INVALID: " for the same failure (or ours for new classes).
	Reason        string             `json:"reason,omitempty"`
	Detail        string             `json:"detail,omitempty"`
	Start         *time.Time         `json:"start,omitempty"`
	End           *time.Time         `json:"end,omitempty"`
	SignatureFrom string             `json:"signature_from,omitempty"`
	Findings      []digest.Finding   `json:"findings,omitempty"`
	Logs          []digest.LogResult `json:"logs,omitempty"`

	authentic  bool // passed aws-cli's checks (the signature verified)
	chainStart bool // all previous* null
	prevKey    string
	stray      bool // listed but not reached by the traversal
}

// Authentic reports whether the digest's signature verified (its content can be trusted even when a
// stronger chain check failed).
func (d *DigestResult) Authentic() bool { return d.authentic }

// Failed reports whether the digest counts as INVALID (aws-cli failure or an error finding).
func (d *DigestResult) Failed() bool {
	if d.Class.Unreadable() {
		return false
	}
	if d.Class != digest.ClassValid {
		return true
	}
	for _, f := range d.Findings {
		if f.Severity == digest.SeverityError {
			return true
		}
	}
	return false
}

// Event is one entry of a chain's output, in aws-cli order (newest to oldest, standard pass first).
type Event struct {
	Digest *DigestResult `json:"digest,omitempty"`
	// Restart is aws-cli's "No log files were delivered by CloudTrail between From and To" line.
	Restart *Interval `json:"restart,omitempty"`
	// Backfill marks events of the backfill pass.
	Backfill bool `json:"backfill,omitempty"`
}

// Interval is a closed time interval.
type Interval struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Gap reasons.
const (
	GapChainRestart   = "chain_restart"    // a starting digest: logging or validation was off (not tampering)
	GapMissingDigests = "missing_digests"  // the chain links to digests that do not exist
	GapInvalidDigest  = "invalid_digest"   // digests exist but failed verification
	GapUnreadable     = "unreadable"       // digests could not be read (access, KMS, archive)
	GapDiscontinuity  = "discontinuity"    // linked digests whose times do not meet
	GapNoRecentDigest = "no_recent_digest" // --expect-recent: the chain's head is older than allowed
)

// Gap is an uncovered interval of a chain's standard digests.
type Gap struct {
	Interval
	Reason string `json:"reason"`
	// Missing estimates how many digests are missing (one per hour of gap) for missing_digests;
	// aws-cli reports only the first of several consecutive deleted digests.
	Missing int `json:"missing,omitempty"`
	// After is the digest just newer than the gap (the one whose link is broken), when known.
	After string `json:"after,omitempty"`
	// Failure is false only for chain restarts.
	Failure bool `json:"failure"`
}

// Counts are a chain's (or a run's) counters. The first six are aws-cli's.
type Counts struct {
	ValidDigests           int   `json:"valid_digests"`
	InvalidDigests         int   `json:"invalid_digests"`
	ValidBackfillDigests   int   `json:"valid_backfill_digests"`
	InvalidBackfillDigests int   `json:"invalid_backfill_digests"`
	ValidLogs              int   `json:"valid_logs"`
	InvalidLogs            int   `json:"invalid_logs"`
	UnreadableDigests      int   `json:"unreadable_digests"`
	UnreadableLogs         int   `json:"unreadable_logs"`
	Warnings               int   `json:"warnings"`
	FailedGaps             int   `json:"failed_gaps"`
	LogBytes               int64 `json:"log_bytes"`
}

func (c *Counts) add(o Counts) {
	c.ValidDigests += o.ValidDigests
	c.InvalidDigests += o.InvalidDigests
	c.ValidBackfillDigests += o.ValidBackfillDigests
	c.InvalidBackfillDigests += o.InvalidBackfillDigests
	c.ValidLogs += o.ValidLogs
	c.InvalidLogs += o.InvalidLogs
	c.UnreadableDigests += o.UnreadableDigests
	c.UnreadableLogs += o.UnreadableLogs
	c.Warnings += o.Warnings
	c.FailedGaps += o.FailedGaps
	c.LogBytes += o.LogBytes
}

// ChainResult is everything found about one chain.
type ChainResult struct {
	Chain     digest.ChainID `json:"chain"`
	Requested Interval       `json:"requested"`
	// Found is aws-cli's "Results found for" range; nil when no digest verified.
	Found   *Interval  `json:"found,omitempty"`
	Counts  Counts     `json:"counts"`
	Covered []Interval `json:"covered"`
	Gaps    []Gap      `json:"gaps"`
	Events  []Event    `json:"events"`
	// Fatal is set when the chain could not be validated at all (aws-cli would abort, rc 255).
	Fatal string `json:"fatal,omitempty"`
}

// Exit codes, by precedence (docs/validate.md).
const (
	ExitOK         = 0
	ExitInvalid    = 1   // an invalid or missing digest or log file: evidence of tampering
	ExitIncomplete = 2   // coverage incomplete (--expect-recent) or, with --strict, warnings
	ExitUnreadable = 3   // some files could not be read (access denied, KMS, archived)
	ExitFatal      = 255 // usage error, or a chain could not be validated at all
)

// ExitCode maps results to the documented exit code.
func ExitCode(chains []*ChainResult, strict bool) int {
	var c Counts
	fatal := false
	noRecent := false
	for _, ch := range chains {
		c.add(ch.Counts)
		fatal = fatal || ch.Fatal != ""
		for _, g := range ch.Gaps {
			noRecent = noRecent || g.Reason == GapNoRecentDigest
		}
	}
	switch {
	case fatal:
		return ExitFatal
	case c.InvalidDigests+c.InvalidBackfillDigests+c.InvalidLogs > 0:
		return ExitInvalid
	case c.UnreadableDigests+c.UnreadableLogs > 0:
		return ExitUnreadable
	case noRecent, strict && (c.Warnings > 0 || c.FailedGaps > 0):
		return ExitIncomplete
	}
	return ExitOK
}
