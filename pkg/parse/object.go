package parse

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Object describes one S3 object as far as its key layout tells (Classify) and, once its first bytes
// have been seen, its encoding.
type Object struct {
	Bucket string
	Key    string
	Source Source
	OrgID  string // "o-…" for organization trails, else ""
	// Account and Region come from the key (for flow logs and resolver logs: the delivering account);
	// records carry their own.
	Account string
	Region  string
	// Reason says why Source is SourceUnknown, for the "ignored" counter and the logs.
	Reason string
}

// Options bound what a decoder will accept.
type Options struct {
	// MaxInflatedBytes caps the decompressed size of one object (gzip bomb guard). Zero means
	// DefaultMaxInflatedBytes.
	MaxInflatedBytes int64
	// MaxRecordBytes caps one record (a CloudTrail event, a Resolver query, a flow-log line); the
	// decoder buffers a record whole. Zero means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// FlowFields names the fields of header-less flow logs (CloudWatch Logs or Firehose deliveries),
	// in order, as the header line would ("version account-id …"). A header line in the object wins.
	// Without it, a flow log with no header line is an ErrUnknownFormat error.
	FlowFields []string
	// MaxBadRecordErrors caps how many skipped-record errors a decoder keeps (it counts them all).
	// Zero means DefaultMaxBadRecordErrors.
	MaxBadRecordErrors int
}

// DefaultMaxRecordBytes is far above CloudTrail's 256 KB per-event limit and a flow-log line, and
// small enough that a hostile record cannot take the process down.
const DefaultMaxRecordBytes = 16 << 20

// DefaultMaxBadRecordErrors keeps enough skipped-record errors to diagnose a file without letting a
// wholly bad file grow the list without bound.
const DefaultMaxBadRecordErrors = 100

func (o Options) withDefaults() Options {
	if o.MaxInflatedBytes <= 0 {
		o.MaxInflatedBytes = DefaultMaxInflatedBytes
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxBadRecordErrors <= 0 {
		o.MaxBadRecordErrors = DefaultMaxBadRecordErrors
	}
	return o
}

// DefaultMaxInflatedBytes is 40× CloudTrail's 50 MB maximum gzip file: it admits a busy interface's
// 1 GiB flow-log object, and is far below what a bomb would inflate to. It bounds work and spool
// disk, not memory: records stream into the writer, which holds one spill of rows per object.
const DefaultMaxInflatedBytes = 2 << 30

// Decoder yields an object's records one at a time.
type Decoder interface {
	// Next fills rec with the next record. It returns io.EOF after the last one, and an *Error when the
	// object turns out to be bad; records returned before that error are valid (see ErrorPolicy).
	Next(rec *Record) error
}

// BadRecordReporter is implemented by every Decoder this package returns. A record that cannot be
// decoded on its own (a flow-log line with the wrong number of fields or a non-numeric port, a
// CloudTrail or Resolver record of the wrong shape) is skipped rather than failing the object: Next
// moves on to the following record. BadRecords says how many were skipped so far and returns the
// first of them (at most Options.MaxBadRecordErrors) as *Error with Class ErrBadRecord and the line
// (line-oriented formats) or inflated offset. Call it after Next returns io.EOF to report the object.
type BadRecordReporter interface {
	BadRecords() (count int64, first []*Error)
}

// ErrorClass says what went wrong with an object, for metrics and the quarantine reason.
type ErrorClass string

const (
	ErrCorruptGzip   ErrorClass = "corrupt_gzip"
	ErrTruncated     ErrorClass = "truncated"
	ErrSyntax        ErrorClass = "syntax"
	ErrTrailingData  ErrorClass = "trailing_data"
	ErrUnknownFormat ErrorClass = "unknown_format"
	ErrTooLarge      ErrorClass = "too_large"
	ErrBadRecord     ErrorClass = "bad_record" // a line or record that could not be decoded; not fatal to the object
)

// Error is a decoding failure that names the object, where it happened and why.
type Error struct {
	Bucket, Key string
	Class       ErrorClass
	Offset      int64 // inflated byte offset, -1 when unknown
	Line        int64 // 1-based line for line-oriented formats, 0 when not applicable
	Err         error
}

func (e *Error) Error() string {
	where := ""
	switch {
	case e.Line > 0:
		where = fmt.Sprintf(" at line %d", e.Line)
	case e.Offset >= 0:
		where = fmt.Sprintf(" at offset %d", e.Offset)
	}
	return fmt.Sprintf("s3://%s/%s: %s%s: %v", e.Bucket, e.Key, e.Class, where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsPoison reports whether err means the object itself is bad (so retrying cannot help and it should
// be set aside), as opposed to an I/O failure while reading it.
func IsPoison(err error) bool {
	var pe *Error
	return errors.As(err, &pe)
}

// badRecords is the BadRecordReporter state the decoders embed.
type badRecords struct {
	count int64
	first []*Error
	keep  int
	fixed int64 // records whose invalid UTF-8 was replaced
}

// InvalidUTF8Records implements UTF8Reporter.
func (b *badRecords) InvalidUTF8Records() int64 { return b.fixed }

// UTF8Reporter is implemented by every Decoder this package returns. Strings in the typed record
// (what goes to Parquet string columns, which readers such as DuckDB and Arrow refuse when invalid)
// are always valid UTF-8: a decoder replaces each run of invalid bytes with U+FFFD and counts the
// record here. Record.Raw keeps the bytes as they were.
type UTF8Reporter interface {
	InvalidUTF8Records() int64
}

// validUTF8 replaces every run of invalid UTF-8 in s with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (b *badRecords) add(e *Error) {
	b.count++
	if len(b.first) < b.keep {
		b.first = append(b.first, e)
	}
}

func (b *badRecords) BadRecords() (int64, []*Error) { return b.count, b.first }

var _ = io.EOF
