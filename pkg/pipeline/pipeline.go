// Package pipeline processes one object of the Log Archive bucket end to end: fetch it from the
// store, detect and decode it (pkg/parse), run the metric-filter rules on every record, stream the
// rows into the writer (pkg/sink), and tell the caller when the object's output is durable. Digest
// files go to the integrity verifier instead of the decoder.
//
// Records flow from the decoder into the writer one at a time: the pipeline never holds an object's
// records. An object's rows are still written all or none: the writer stages them per object (in
// memory while small, encoded into spool files beyond) and takes them into a checkpoint only after
// End; a decode failure midway Aborts the object and leaves no row. A poison object (corrupt gzip,
// truncated JSON, unknown format, oversize, over the record budget) yields no rows; it is copied
// under the quarantine location with its reason, counted, and reported to the caller as Quarantined
// with its class (pkg/ack) so its message can be deleted. Failures to read the object (throttling, network)
// are returned for the caller to retry. The sources that feed it (SQS, backfill, a local directory
// walk) live elsewhere; this package does not know about queues.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// Input is one object to process: its identity (ETag empty when unknown; then the store's is used)
// and where its outcome goes.
type Input struct {
	ack.Ref
	// Done is called exactly once, possibly from another goroutine and after Process returned, with
	// the outcome the pipeline decided: Durable when the object's output is durable (class "durable")
	// or it needed none ("ignored", "not_found"); Quarantined, with the poison class (a
	// parse.ErrorClass, "record_budget", "archived": the errors_<class> counter and the quarantine
	// folder use the same name) and its cause, once the object was set aside; Retry when the writer
	// gave up on its rows. It is not called when Process returns an error.
	Done ack.Done
}

// Sink is where an object's rows go, as they are decoded (ParquetSink: a *sink.Sink, whatever its
// layout). Implementations must be safe for concurrent Begin calls.
type Sink interface {
	// Begin starts an object; done receives its outcome once its rows are durable (or not).
	Begin(ref ack.Ref, done ack.Done) ObjectWriter
}

// ObjectWriter takes one object's rows (*sink.Input).
type ObjectWriter interface {
	Add(ctx context.Context, rec *parse.Record) error
	AddFinding(ctx context.Context, f sink.FindingRow) error
	AddIntegrity(ctx context.Context, r sink.IntegrityRow) error
	// End: every row is added; the object's rows may be committed.
	End()
	// Abort drops every row added and reports o.
	Abort(o ack.Outcome)
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

// Options configure a Processor.
type Options struct {
	Store      store.Store    // where inputs are read from
	Sink       Sink           // where rows go
	Rules      Rules          // nil: no metric filters
	Verifier   Verifier       // nil: digests are acknowledged without verification
	Quarantine store.Location // where poison objects are copied; a zero Location disables the copy
	Parse      parse.Options
	// FindingEventJSON keeps each matched record's text in its finding row (event_json). Off by
	// default: a finding names its event (event id and lineage: bucket, key, record index), which
	// joins back to the log table without copying the event (docs/lake.md).
	FindingEventJSON bool
	Logger           *slog.Logger
	Stats            *Stats // nil: a fresh one
}

// Processor runs objects through the pipeline. It is safe for concurrent use.
type Processor struct {
	opts  Options
	log   *slog.Logger
	stats *Stats
	// decoders holds *parse.Decoders between objects: a worker's next object reuses the read
	// buffers and inflater of its last instead of allocating and clearing them afresh.
	decoders sync.Pool
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
		in.Done(ack.Ok("ignored"))
		return nil
	case parse.SourceDigest:
		return p.processDigest(ctx, in, obj)
	}
	return p.processLog(ctx, in, obj)
}

func (p *Processor) processDigest(ctx context.Context, in Input, obj parse.Object) error {
	p.stats.add(obj.Source, "objects", 1)
	if p.opts.Verifier == nil {
		in.Done(ack.Ok("durable"))
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
	w, aborted := p.begin(in, in.ETag)
	for _, r := range results {
		if err := w.AddIntegrity(ctx, r); err != nil {
			*aborted = true
			w.Abort(ack.Again("sink", err))
			return fmt.Errorf("write s3://%s/%s: %w", in.Bucket, in.Key, err)
		}
	}
	w.End()
	return nil
}

// begin starts the object in the sink, which reports Durable or Retry through in.Done; after the
// pipeline aborts the object (*aborted set first), its own quarantine logic reports instead.
func (p *Processor) begin(in Input, etag string) (ObjectWriter, *bool) {
	aborted := new(bool)
	done := func(o ack.Outcome) {
		if !*aborted {
			in.Done(o)
		}
	}
	ref := in.Ref
	ref.ETag = etag
	return p.opts.Sink.Begin(ref, done), aborted
}

func (p *Processor) processLog(ctx context.Context, in Input, obj parse.Object) error {
	start := time.Now()
	// A log object's user metadata is never read: GetBody spares the local store a sidecar lookup.
	rc, info, err := store.GetBody(ctx, p.opts.Store, in.Bucket, in.Key)
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
	ds, _ := p.decoders.Get().(*parse.Decoders)
	if ds == nil {
		// The rules and the sinks copy what they keep out of a record before the next one.
		ds = &parse.Decoders{ReuseRecords: true}
	}
	defer p.decoders.Put(ds) // after the last use of dec and its records
	dec, err := ds.New(obj, counted, p.opts.Parse)
	if err != nil {
		return p.decodeFailed(ctx, in, obj, err)
	}
	w, aborted := p.begin(in, etag)
	// abort drops the rows added so far; the caller then quarantines or retries the object.
	abort := func() {
		*aborted = true
		w.Abort(ack.Outcome{Kind: ack.Retry, Class: "aborted"})
	}
	lin := rules.Lineage{Bucket: in.Bucket, Key: in.Key}
	var (
		rec      parse.Record
		findings []rules.Finding
		records  int64
		nfind    int64
	)
	for {
		err := dec.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			abort()
			return p.decodeFailed(ctx, in, obj, err)
		}
		records++
		if p.opts.Rules != nil {
			var rerr error
			if findings, rerr = p.opts.Rules.Process(&rec, lin, findings[:0]); rerr != nil {
				// A rule that cannot evaluate a record (say a metric value that is not a number) is
				// the rule's problem, not the object's: count it and go on.
				p.stats.add(obj.Source, "rule_errors", 1)
				p.log.Debug("rule evaluation", "key", in.Key, "index", rec.Index, "error", rerr.Error())
			}
		}
		if err := w.Add(ctx, &rec); err != nil && !p.skippable(obj, err) {
			abort()
			return p.writeFailed(ctx, in, obj, err)
		}
		for i := range findings {
			row := FindingRow(findings[i])
			if !p.opts.FindingEventJSON {
				row.EventJSON = ""
			}
			if err := w.AddFinding(ctx, row); err != nil && !p.skippable(obj, err) {
				abort()
				return p.writeFailed(ctx, in, obj, err)
			}
		}
		nfind += int64(len(findings))
	}
	if br, ok := dec.(parse.BadRecordReporter); ok {
		if n, first := br.BadRecords(); n > 0 {
			where, err := p.keepRejects(ctx, in, n, first)
			if err != nil {
				// Without the record of what was skipped the message must not be deleted: retry.
				abort()
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
	p.stats.add(obj.Source, "records", records)
	p.stats.add(obj.Source, "bytes", counted.n)
	p.stats.add(obj.Source, "findings", nfind)
	p.stats.observeLag(info.LastModified)
	p.log.Debug("decoded object", "bucket", in.Bucket, "key", in.Key, "source", obj.Source.String(),
		"records", records, "findings", nfind, "elapsed", time.Since(start))
	w.End()
	return nil
}

// skippable says whether an Add error concerns only that row: a record the output has no table
// for is counted and skipped, the object's other records are still good events.
func (p *Processor) skippable(obj parse.Object, err error) bool {
	var unsupported *sink.UnsupportedRecordError
	if errors.As(err, &unsupported) {
		p.stats.add(obj.Source, "unsupported_records", 1)
		return true
	}
	return false
}

// writeFailed handles an Add error after the object was aborted: over its record budget the
// object is degenerate (quarantined like any poison); otherwise (the writer closed, a spool file
// failed) it is retried.
func (p *Processor) writeFailed(ctx context.Context, in Input, obj parse.Object, err error) error {
	var be *sink.BudgetError
	if !errors.As(err, &be) {
		return fmt.Errorf("write s3://%s/%s: %w", in.Bucket, in.Key, err)
	}
	return p.setAside(ctx, in, obj, be.Class(), err)
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
		in.Done(ack.Ok("not_found"))
		return nil
	case store.KindArchived:
		p.stats.fetched()
		p.stats.add(obj.Source, "errors_archived", 1)
		in.Done(ack.Quarantine("archived", err))
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
	return p.setAside(ctx, in, obj, string(pe.Class), err)
}

// setAside quarantines a poison object under class: counted, copied with its reason, logged once,
// and reported done so its message can be deleted.
func (p *Processor) setAside(ctx context.Context, in Input, obj parse.Object, class string, err error) error {
	p.stats.add(obj.Source, "errors_"+class, 1)
	where, qerr := p.quarantine(ctx, in, class, err)
	if qerr != nil {
		// Without a durable copy the message must not be deleted: retry later.
		return fmt.Errorf("quarantine s3://%s/%s: %w", in.Bucket, in.Key, qerr)
	}
	p.log.Error("object quarantined", "bucket", in.Bucket, "key", in.Key, "class", class, "error", err.Error(), "copy", where)
	in.Done(ack.Quarantine(class, err))
	return nil
}
