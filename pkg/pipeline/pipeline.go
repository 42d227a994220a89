// Package pipeline processes one object of the Log Archive bucket end to end: fetch it from the
// store, detect and decode it (pkg/parse), run the metric-filter rules on every record, hand the rows
// to the sink, and tell the caller when the object's output is durable. Digest files go to the
// integrity verifier instead of the decoder.
//
// An object's rows are written all or none: records are staged per object and reach the sink only
// when the whole object decoded. A poison object (corrupt gzip, truncated JSON, unknown format,
// oversize) yields no rows; it is copied under the quarantine location with its reason, counted, and
// reported to the caller as done-with-error so its message can be deleted. Failures to read the
// object (throttling, network) are returned for the caller to retry. The sources that feed it (SQS,
// backfill, a local directory walk) live elsewhere; this package does not know about queues.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// Input is one object to process.
type Input struct {
	Bucket string
	Key    string
	ETag   string // empty when unknown; then the store's ETag is used
	// Done is called exactly once, possibly from another goroutine and after Process returned: with
	// nil when the object's output is durable (or it needed none), with a *QuarantinedError when the
	// object was set aside as poison. It is not called when Process returns an error.
	Done func(error)
}

// Batch is everything one object produced, handed to the sink in one call so that it is written
// all or none.
type Batch struct {
	Object parse.Object
	ETag   string
	// Records are owned by the batch (copied out of the decoder's reused Record).
	Records   []parse.Record
	Findings  []rules.Finding
	Integrity []sink.IntegrityRow
}

// Sink takes batches and reports when each is durable. Implementations must be safe for concurrent
// Write calls.
type Sink interface {
	// Write hands over a batch; done is called once all its rows are durable (or with the error that
	// made that impossible).
	Write(ctx context.Context, b *Batch, done func(error)) error
}

// Rules evaluates metric-filter rules on one record, appending what matched to dst
// (*rules.Engine).
type Rules interface {
	Process(rec *parse.Record, lin rules.Lineage, dst []rules.Finding) ([]rules.Finding, error)
}

// Verifier checks a CloudTrail digest object as it arrives and returns one integrity row per object
// it vouches for, plus rows about the digest itself.
type Verifier interface {
	VerifyDigest(ctx context.Context, bucket, key string) ([]sink.IntegrityRow, error)
}

// QuarantinedError is passed to Input.Done for an object set aside as poison.
type QuarantinedError struct {
	Bucket, Key string
	Class       string // parse.ErrorClass, or "fetch" classes for objects that can never be read
	Where       string // key of the copy in the quarantine location ("" when quarantine is off)
	Err         error
}

func (e *QuarantinedError) Error() string {
	return fmt.Sprintf("s3://%s/%s quarantined (%s): %v", e.Bucket, e.Key, e.Class, e.Err)
}

func (e *QuarantinedError) Unwrap() error { return e.Err }

// Options configure a Processor.
type Options struct {
	Store      store.Store    // where inputs are read from
	Sink       Sink           // where rows go
	Rules      Rules          // nil: no metric filters
	Verifier   Verifier       // nil: digests are acknowledged without verification
	Quarantine store.Location // where poison objects are copied; a zero Location disables the copy
	Parse      parse.Options
	Logger     *slog.Logger
	Stats      *Stats // nil: a fresh one
}

// Processor runs objects through the pipeline. It is safe for concurrent use.
type Processor struct {
	opts  Options
	log   *slog.Logger
	stats *Stats
}

// New checks opts and returns a Processor.
func New(opts Options) (*Processor, error) {
	if opts.Store == nil {
		return nil, errors.New("pipeline: no input store")
	}
	if opts.Sink == nil {
		return nil, errors.New("pipeline: no sink")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = NewStats()
	}
	return &Processor{opts: opts, log: opts.Logger, stats: opts.Stats}, nil
}

// Stats returns the processor's counters.
func (p *Processor) Stats() *Stats { return p.stats }

// Process runs one object. A nil return means in.Done will be (or was) called; an error means the
// object could not be read for a reason that may pass (the caller retries or releases its message)
// and in.Done is not called.
func (p *Processor) Process(ctx context.Context, in Input) error {
	obj := parse.Classify(in.Bucket, in.Key)
	switch obj.Source {
	case parse.SourceUnknown:
		// Not a log we handle (our own output in the same bucket, AWS Config, …): acknowledged, counted.
		p.stats.add(obj.Source, "ignored", 1)
		p.log.Debug("ignored object", "bucket", in.Bucket, "key", in.Key, "reason", obj.Reason)
		in.Done(nil)
		return nil
	case parse.SourceDigest:
		return p.processDigest(ctx, in, obj)
	}
	return p.processLog(ctx, in, obj)
}

func (p *Processor) processDigest(ctx context.Context, in Input, obj parse.Object) error {
	p.stats.add(obj.Source, "objects", 1)
	if p.opts.Verifier == nil {
		in.Done(nil)
		return nil
	}
	results, err := p.opts.Verifier.VerifyDigest(ctx, in.Bucket, in.Key)
	if err != nil {
		if ctx.Err() != nil || operatorKind(store.KindOf(err)) {
			p.stats.fetchFailed(store.KindOf(err))
			return fmt.Errorf("verify digest s3://%s/%s: %w", in.Bucket, in.Key, err)
		}
		// Anything else is a verdict on the digest, recorded rather than retried forever.
		results = append(results, sink.IntegrityRow{VerifiedAt: time.Now().UTC(), DigestBucket: in.Bucket, DigestKey: in.Key,
			Status: "invalid", Class: "unreadable", Reason: err.Error()})
	}
	for _, r := range results {
		if r.Status != "valid" {
			p.stats.add(obj.Source, "integrity_failures", 1)
			p.log.Warn("integrity check failed", "digest", in.Key, "object", r.ObjectKey, "class", r.Class, "reason", r.Reason)
		}
	}
	p.stats.add(obj.Source, "integrity_checks", int64(len(results)))
	b := &Batch{Object: obj, ETag: in.ETag, Integrity: results}
	return p.write(ctx, in, b)
}

func (p *Processor) processLog(ctx context.Context, in Input, obj parse.Object) error {
	start := time.Now()
	rc, info, err := p.opts.Store.Get(ctx, in.Bucket, in.Key)
	if err != nil {
		return p.fetchFailed(ctx, in, obj, err)
	}
	p.stats.fetched()
	defer rc.Close()
	etag := in.ETag
	if etag == "" {
		etag = info.ETag
	}
	counted := &countingReader{r: rc}
	dec, err := parse.NewDecoder(obj, counted, p.opts.Parse)
	if err != nil {
		return p.decodeFailed(ctx, in, obj, err)
	}
	b := &Batch{Object: obj, ETag: etag}
	lin := rules.Lineage{Bucket: in.Bucket, Key: in.Key}
	var rec parse.Record
	for {
		err := dec.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.decodeFailed(ctx, in, obj, err)
		}
		if p.opts.Rules != nil {
			var rerr error
			if b.Findings, rerr = p.opts.Rules.Process(&rec, lin, b.Findings); rerr != nil {
				// A rule that cannot evaluate a record (say a metric value that is not a number) is
				// the rule's problem, not the object's: count it and go on.
				p.stats.add(obj.Source, "rule_errors", 1)
				p.log.Debug("rule evaluation", "key", in.Key, "index", rec.Index, "error", rerr.Error())
			}
		}
		b.Records = append(b.Records, ownRecord(&rec))
	}
	if br, ok := dec.(parse.BadRecordReporter); ok {
		if n, first := br.BadRecords(); n > 0 {
			where, err := p.keepRejects(ctx, in, n, first)
			if err != nil {
				// Without the record of what was skipped the message must not be deleted: retry.
				return fmt.Errorf("keep skipped records of s3://%s/%s: %w", in.Bucket, in.Key, err)
			}
			p.stats.add(obj.Source, "bad_records", n)
			if where != "" {
				p.stats.add(obj.Source, "rejects_files", 1)
			}
			attrs := []any{"bucket", in.Bucket, "key", in.Key, "count", n, "rejects", where}
			if len(first) > 0 {
				attrs = append(attrs, "first", first[0].Error())
			}
			p.log.Warn("skipped bad records", attrs...)
		}
	}
	if ur, ok := dec.(parse.UTF8Reporter); ok {
		if n := ur.InvalidUTF8Records(); n > 0 {
			// Written with U+FFFD in place of the invalid bytes: Parquet readers refuse invalid strings.
			p.stats.add(obj.Source, "invalid_utf8_records", n)
			p.log.Warn("invalid UTF-8 replaced", "bucket", in.Bucket, "key", in.Key, "records", n)
		}
	}
	p.stats.add(obj.Source, "objects", 1)
	p.stats.add(obj.Source, "records", int64(len(b.Records)))
	p.stats.add(obj.Source, "bytes", counted.n)
	p.stats.add(obj.Source, "findings", int64(len(b.Findings)))
	p.stats.observeLag(info.LastModified)
	p.log.Debug("decoded object", "bucket", in.Bucket, "key", in.Key, "source", obj.Source.String(),
		"records", len(b.Records), "findings", len(b.Findings), "elapsed", time.Since(start))
	return p.write(ctx, in, b)
}

func (p *Processor) write(ctx context.Context, in Input, b *Batch) error {
	if err := p.opts.Sink.Write(ctx, b, in.Done); err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", in.Bucket, in.Key, err)
	}
	return nil
}

// operatorKind: errors that say nothing about the object but about the deployment (a bucket that is
// gone or misnamed, a wrong endpoint, a denied role or KMS key) or about S3 right now (throttling,
// 5xx). The object stays unread and its message is retried with backoff, never deleted; the
// failure streak shows in Stats.FetchFailingSince, which /healthz turns into a 503.
func operatorKind(k store.Kind) bool {
	switch k {
	case store.KindNoBucket, store.KindAccessDenied, store.KindKMS, store.KindTransient:
		return true
	}
	return false
}

// fetchFailed decides between retrying and setting aside an object that could not be read.
func (p *Processor) fetchFailed(ctx context.Context, in Input, obj parse.Object, err error) error {
	kind := store.KindOf(err)
	switch kind {
	case store.KindNotFound:
		// NoSuchKey: deleted after the notification (or never there: a stale one). Nothing to write
		// and retrying cannot help. The bucket answered, so reads work.
		p.stats.fetched()
		p.stats.add(obj.Source, "errors_not_found", 1)
		p.log.Warn("object not found (removed after its notification); acknowledging", "bucket", in.Bucket, "key", in.Key)
		in.Done(nil)
		return nil
	case store.KindArchived:
		p.stats.fetched()
		p.stats.add(obj.Source, "errors_archived", 1)
		in.Done(&QuarantinedError{Bucket: in.Bucket, Key: in.Key, Class: "archived", Err: err})
		return nil
	}
	if ctx.Err() == nil {
		p.stats.fetchFailed(kind)
	}
	p.stats.add(obj.Source, "errors_fetch", 1)
	p.stats.add(obj.Source, "errors_fetch_"+kind.String(), 1)
	return fmt.Errorf("fetch s3://%s/%s (%s): %w", in.Bucket, in.Key, kind, err)
}

// decodeFailed quarantines a poison object; other errors (the body stream broke) are retryable.
func (p *Processor) decodeFailed(ctx context.Context, in Input, obj parse.Object, err error) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		p.stats.add(obj.Source, "errors_fetch", 1)
		return fmt.Errorf("read s3://%s/%s: %w", in.Bucket, in.Key, err)
	}
	class := string(pe.Class)
	p.stats.add(obj.Source, "errors_"+class, 1)
	where, qerr := p.quarantine(ctx, in, class, err)
	if qerr != nil {
		// Without a durable copy the message must not be deleted: retry later.
		return fmt.Errorf("quarantine s3://%s/%s: %w", in.Bucket, in.Key, qerr)
	}
	p.log.Error("object quarantined", "bucket", in.Bucket, "key", in.Key, "class", class, "error", err.Error(), "copy", where)
	in.Done(&QuarantinedError{Bucket: in.Bucket, Key: in.Key, Class: class, Where: where, Err: err})
	return nil
}
