package digest

import (
	"fmt"
	"time"
)

// Class names the outcome of checking one digest or log file. Every class has a stable string used in
// JSON reports and in the exit-code table of docs/validate.md.
type Class string

// Classes of digest and log file results. The first group mirrors aws-cli's outcomes; the second is
// what aws-cli does not check or aborts on.
const (
	ClassValid         Class = "valid"
	ClassNotFound      Class = "not_found"      // NoSuchKey
	ClassMoved         Class = "moved"          // digestS3Bucket/Object differ from where it was read
	ClassInvalidFormat Class = "invalid_format" // not gzip, not JSON, required member missing
	ClassNoSignature   Class = "signature_missing"
	ClassSignature     Class = "signature_mismatch"
	ClassMalformedSig  Class = "signature_malformed" // not hex
	ClassKeyNotFound   Class = "key_not_found"
	ClassKeyInvalid    Class = "key_invalid" // neither PKCS#1 nor SubjectPublicKeyInfo RSA
	ClassHashMismatch  Class = "hash_mismatch"
	ClassTrailingData  Class = "trailing_data" // bytes after the gzip member
	ClassTruncated     Class = "truncated"     // gzip stream ends early

	ClassAccessDenied Class = "access_denied"
	ClassKMS          Class = "kms"
	ClassArchived     Class = "archived" // Glacier / Deep Archive: restore needed
	ClassReadError    Class = "read_error"

	ClassPrevHash      Class = "previous_hash_mismatch"      // previousDigestHashValue ≠ sha256(predecessor)
	ClassPrevSignature Class = "previous_signature_mismatch" // previousDigestSignature ≠ predecessor's signature
	ClassDiscontinuity Class = "discontinuity"               // predecessor's end ≠ this start
	ClassInconsistent  Class = "inconsistent"                // key name, account, region or algorithm disagree
	ClassKeyWindow     Class = "key_window"                  // signing time outside the key's validity
)

// Unreadable reports whether c means the object could not be read (as opposed to read and found bad).
func (c Class) Unreadable() bool {
	switch c {
	case ClassAccessDenied, ClassKMS, ClassArchived, ClassReadError:
		return true
	}
	return false
}

// Severity of a Finding.
type Severity string

const (
	SeverityError   Severity = "error"   // the file or link is not trustworthy
	SeverityWarning Severity = "warning" // unexpected but not evidence of tampering
)

// Finding is one result of a check beyond aws-cli's, attached to a digest.
type Finding struct {
	Class    Class    `json:"class"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// CheckError is a failed per-digest check. Msg is the text aws-cli prints after "INVALID: " for the
// same failure, so the parity output can reuse it; Detail says more for reports.
type CheckError struct {
	Class  Class
	Msg    string
	Detail string
	Err    error
}

func (e *CheckError) Error() string {
	s := string(e.Class) + ": " + e.Msg
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CheckError) Unwrap() error { return e.Err }

// DisplayTime formats t the way aws-cli displays dates.
func DisplayTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// CompactTime formats t the way digest keys carry it.
func CompactTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func checkErr(c Class, msg string, detail string, args ...any) *CheckError {
	if len(args) > 0 {
		detail = fmt.Sprintf(detail, args...)
	}
	return &CheckError{Class: c, Msg: msg, Detail: detail}
}
