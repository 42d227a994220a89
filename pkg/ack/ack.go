// Package ack is the one acknowledgement vocabulary shared from the SQS message to the Parquet
// file: what an input object is (Ref) and how its processing ended (Outcome), delivered once through
// a Done callback. The source (SQS, backfill, a local walk), the ledger, the pipeline and the writer
// all speak it, so an object's identity never changes type on its way and every layer decides on
// the same three outcomes.
//
// Promises: Outcome kinds are exhaustive (Durable, Quarantined, Retry); a Done is called exactly once
// per Ref by whoever finishes it last.
package ack

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ref identifies one version of one S3 object: the unit of work from notification to file.
type Ref struct {
	Bucket string
	Key    string
	// ETag without quotes; "" when the notification did not say (the store's value is used then).
	ETag string
	// VersionID of a versioned bucket's object; "" when unversioned or unknown.
	VersionID string
	// Size in bytes; -1 when unknown.
	Size int64
}

// NormalizeETag strips the quotes S3 puts around ETags in some APIs but not in notifications.
func NormalizeETag(etag string) string { return strings.Trim(etag, `"`) }

// ID is a stable identity string for the object version: equal Refs give equal IDs, and no field can
// run into the next (NUL never appears in a bucket name or an ETag, and keys are length-prefixed).
func (r Ref) ID() string {
	// Concatenated rather than formatted: it is built several times per object.
	etag := NormalizeETag(r.ETag)
	b := make([]byte, 0, len(r.Bucket)+len(r.Key)+len(etag)+len(r.VersionID)+8)
	b = append(b, r.Bucket...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(len(r.Key)), 10)
	b = append(b, ':')
	b = append(b, r.Key...)
	b = append(b, 0)
	b = append(b, etag...)
	b = append(b, 0)
	b = append(b, r.VersionID...)
	return string(b)
}

// String names the object for logs and errors.
func (r Ref) String() string {
	s := "s3://" + r.Bucket + "/" + r.Key
	if r.VersionID != "" {
		s += "?versionId=" + r.VersionID
	}
	return s
}

// Kind is how processing an object ended.
type Kind int

const (
	// Durable: every row of the object is in committed output, or it needed none (ignored, gone,
	// processed before). Its message may be deleted.
	Durable Kind = iota
	// Quarantined: the object is poison (corrupt, unknown, oversize, degenerate) and was set aside
	// with its reason; none of its rows are in the output. Its message may be deleted.
	Quarantined
	// Retry: the object could not be finished for a reason that may pass (throttling, network, a
	// failed commit, shutdown). Its message must not be deleted.
	Retry
)

func (k Kind) String() string {
	switch k {
	case Durable:
		return "durable"
	case Quarantined:
		return "quarantined"
	case Retry:
		return "retry"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Outcome is how one object ended.
type Outcome struct {
	Kind Kind
	// Class refines Kind for metrics and logs: "durable", "done_before", "ignored", "not_found",
	// a parse.ErrorClass for quarantines, "transient", "shutdown"…
	Class string
	// Err is why (nil for a plain Durable).
	Err error
	// RetryAfter, for Retry, is how long the message should stay invisible (0: at once, negative:
	// back off on the receive count).
	RetryAfter time.Duration
}

// Acked says whether the object's message may be deleted.
func (o Outcome) Acked() bool { return o.Kind != Retry }

// Done receives an object's outcome, exactly once.
type Done func(Outcome)

// Ok is the Outcome of an object whose output is durable.
func Ok(class string) Outcome { return Outcome{Kind: Durable, Class: class} }

// Quarantine is the Outcome of a poison object.
func Quarantine(class string, err error) Outcome {
	return Outcome{Kind: Quarantined, Class: class, Err: err}
}

// Again is the Outcome of an object to retry.
func Again(class string, err error) Outcome {
	return Outcome{Kind: Retry, Class: class, Err: err, RetryAfter: -1}
}
