// Package sink writes parsed records, metric-filter findings and digest-verification results as
// Parquet tables for Athena (and DuckDB, Spark, Trino) under a file:// or s3:// destination.
//
// It promises:
//   - Typed columns (timestamps as TIMESTAMP(MILLIS), ports and counters as integers, nested
//     userIdentity as a struct, free-form members as JSON text) whose Parquet types match the DDL in
//     deploy/athena exactly, and lineage columns on every row (source bucket, key, record index).
//   - Hive partitions <table>/dt=YYYY-MM-DD/ by event time (docs/lake.md says why), files sized by
//     a target (default 128 MiB) or an age (default 5 min), rows sorted by time within each file,
//     zstd pages (snappy optional), dictionary encoding where it pays, column statistics on.
//   - Atomic, idempotent files: a file becomes visible only when complete (store.Upload.Commit), and
//     its name is a hash of the inputs whose rows it holds, so redoing the same work overwrites the
//     same objects instead of adding duplicates.
//   - Durability callbacks: every input object (InputRef) gets its Done callback exactly once, after
//     the last file holding any of its rows is committed (or with the error that prevented it).
//   - Bounded memory: a partition holds at most Options.SpillBytes of rows; beyond that its rows are
//     kept only as compressed, time-sorted row groups (merged into one sorted file when written), so
//     a file can grow to the target size. Everything buffered stays under Options.MemoryBudget:
//     past it, the largest pending row sets are spilled, then the largest partitions written.
//
// A Sink is safe for concurrent use by several parse workers. Checkpoints run one at a time; while
// one encodes and uploads its files, Add goes on filling new buffers (the files being written take
// no more rows). An Add that needs a checkpoint itself (its partition is full, the memory budget is
// exceeded, a partition is due) waits for the running one: that is the back-pressure that keeps
// memory bounded.
package sink

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// Table names an output table; it is the first segment of the table's keys and its Athena name.
type Table string

const (
	TableCloudTrail Table = "cloudtrail"
	TableVPCFlow    Table = "vpcflow"
	TableResolver   Table = "resolver"
	TableFindings   Table = "findings"
	TableIntegrity  Table = "integrity"
)

// Tables lists every table the sink writes, in a fixed order.
func Tables() []Table {
	return []Table{TableCloudTrail, TableVPCFlow, TableResolver, TableFindings, TableIntegrity}
}

// Compression is the page codec.
type Compression string

const (
	Zstd   Compression = "zstd"
	Snappy Compression = "snappy"
)

// Options configure a Sink. Zero values take the defaults below.
type Options struct {
	// Dest is where tables are written: Dest.Prefix + "<table>/dt=YYYY-MM-DD/<hash>.parquet".
	Dest store.Location
	// TargetFileBytes is the file size a partition is written at (estimated from its buffered rows
	// and the compression ratio seen so far for its table). Default DefaultTargetFileBytes.
	TargetFileBytes int64
	// MaxAge bounds how long a row waits in memory: a partition whose first buffered row is older is
	// written at the next Add, FlushDue or Run tick. Default DefaultMaxAge.
	MaxAge time.Duration
	// MemoryBudget bounds the estimated in-memory size of everything buffered (pending rows and
	// compressed spools). When an Add takes the total past it, the largest pending row sets (of at
	// least 1 MiB) are spilled until the total is at most 3/4 of it; if spools alone still exceed
	// it, the largest partitions are written until the total is at most half of it.
	// Default DefaultMemoryBudget.
	MemoryBudget int64
	// SpillBytes is how much a partition buffers as rows before encoding them, time-sorted and
	// compressed, into the partition's spool (one row group); at write time the spool's row groups
	// are merged in time order. It bounds the uncompressed memory per partition while its file
	// grows toward TargetFileBytes. Default DefaultSpillBytes.
	SpillBytes int64
	// RowGroupBytes is the estimated compressed size of a row group. Default DefaultRowGroupBytes.
	RowGroupBytes int64
	// PageBytes is the size of the in-memory page buffer per column, i.e. the uncompressed size at
	// which a data page is cut. Default DefaultPageBytes.
	PageBytes int
	// Compression is the page codec; default Zstd.
	Compression Compression
	// BeforeCommit, when set, is called with a checkpoint's final file keys before any of its files
	// becomes visible (so a worker can write an intent marker). An error cancels the checkpoint:
	// nothing is written, and the next checkpoint retries the same files under the same names. The
	// hooks run inside the checkpoint: they must not call Flush, FlushDue or Close.
	BeforeCommit func(ctx context.Context, cp Checkpoint) error
	// AfterCommit, when set, is called after every file of a checkpoint is committed, before the Done
	// callbacks of the inputs it completed.
	AfterCommit func(ctx context.Context, cp Checkpoint)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Logger receives one line per committed file; default slog.Default().
	Logger *slog.Logger
}

const (
	DefaultTargetFileBytes = 128 << 20
	DefaultMaxAge          = 5 * time.Minute
	DefaultMemoryBudget    = 1 << 30
	DefaultSpillBytes      = 32 << 20
	// DefaultRowGroupBytes gives a full-size file two row groups: Athena splits work by row group,
	// and 64 MiB groups keep per-group statistics selective without tiny column chunks.
	DefaultRowGroupBytes = 64 << 20
	// DefaultPageBytes keeps pages well under Security Lake's 1 MB uncompressed limit and makes the
	// page index fine-grained enough to skip pages on eventtime.
	DefaultPageBytes = 256 << 10
)

func (o Options) withDefaults() Options {
	if o.TargetFileBytes <= 0 {
		o.TargetFileBytes = DefaultTargetFileBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.SpillBytes <= 0 {
		o.SpillBytes = DefaultSpillBytes
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.PageBytes <= 0 {
		o.PageBytes = DefaultPageBytes
	}
	if o.Compression == "" {
		o.Compression = Zstd
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// InputRef identifies one input object. Bucket, Key, ETag and VersionID name the input in file
// names (so retries are idempotent); Done is opaque to the sink.
type InputRef struct {
	Bucket, Key     string
	ETag, VersionID string
	// Done is called exactly once: with nil after every row added for this input is in a committed
	// file (at End when it had no rows), or with the error that made the sink give up on them
	// (Close failing, or ErrClosed when a row arrived after Close). It is called without the sink's
	// lock held, from whichever goroutine completed the input; it must not block for long.
	Done func(err error)
}

func (r InputRef) id() string {
	return r.Bucket + "\x00" + r.Key + "\x00" + r.ETag + "\x00" + r.VersionID
}

// Checkpoint is one set of files written together.
type Checkpoint struct {
	// ID is a hash of the checkpoint's sorted file keys: the same inputs give the same ID.
	ID     string
	Inputs []InputRef // inputs with rows in these files, sorted; Done is nil in these copies
	Files  []File
}

// File is one Parquet object of a checkpoint.
type File struct {
	Table     Table
	Partition string // "dt=YYYY-MM-DD"
	Bucket    string
	Key       string
	Rows      int64
	// Bytes is the object's size; 0 in BeforeCommit (the file is not written yet).
	Bytes            int64
	MinTime, MaxTime time.Time
}

// Stats are cumulative counters.
type Stats struct {
	RowsAdded, RowsWritten int64
	FilesWritten           int64
	BytesWritten           int64
	Checkpoints            int64
	Spills                 int64
	BufferedBytes          int64 // estimate, now
	OpenPartitions         int   // now
}

// Sink buffers rows per (table, partition) and writes them as Parquet files.
type Sink struct {
	opts Options

	// cpMu serializes checkpoints (it is taken before mu, never while holding it).
	cpMu sync.Mutex

	mu       sync.Mutex
	bufs     map[partKey]*buffer
	buffered int64 // estimated bytes of all buffered rows: pending rows plus spools
	// sealed are buffers of a checkpoint that failed after BeforeCommit: they take no more rows and
	// every later checkpoint retries them first, under the names already announced.
	sealed []*buffer
	// inflight counts the buffers of the running checkpoint not yet committed.
	inflight int
	// oldest is no later than the creation time of every open buffer (exact after dueLocked), so
	// Add can skip the scan for due partitions until one may be due.
	oldest time.Time
	ratio  map[Table]float64
	// schemas are derived once per table: reflecting per file would dominate small files.
	schemas map[Table]*parquet.Schema
	closed  bool
	stats   Stats
}

type partKey struct {
	table Table
	dt    string
}

func (k partKey) partition() string { return "dt=" + k.dt }

// New returns a Sink writing to opts.Dest.
func New(opts Options) (*Sink, error) {
	if opts.Dest.Store == nil {
		return nil, errors.New("sink: Options.Dest has no store")
	}
	if opts.Compression != "" && opts.Compression != Zstd && opts.Compression != Snappy {
		return nil, fmt.Errorf("sink: unsupported compression %q (want zstd or snappy)", opts.Compression)
	}
	opts = opts.withDefaults()
	s := &Sink{opts: opts, bufs: map[partKey]*buffer{}, ratio: map[Table]float64{}, schemas: map[Table]*parquet.Schema{}}
	for _, t := range Tables() {
		s.ratio[t] = initialRatio(t, opts.Compression)
		sc, err := Schema(t)
		if err != nil {
			return nil, err
		}
		s.schemas[t] = sc
	}
	return s, nil
}

// initialRatio is the file size / estimated size ratio assumed before a table's first file; after
// that the ratio is learned from the files written, so these are rough priors (zstd; snappy
// compresses less).
func initialRatio(t Table, c Compression) float64 {
	r := 0.12
	switch t {
	case TableVPCFlow:
		r = 0.10
	case TableFindings, TableIntegrity:
		r = 0.20
	}
	if c == Snappy {
		r *= 1.6
	}
	return r
}

// Input collects the rows of one input object. Different inputs may add from different goroutines
// at once; one input's rows must be added by one goroutine at a time, in record order (the order is
// part of file naming).
type Input struct {
	s   *Sink
	ref InputRef
	id  string

	// Guarded by s.mu.
	ordinal int64 // rows added so far
	open    int   // buffers holding rows of this input
	ended   bool
	done    bool
	// rejected is why a row of this input was refused (the sink was closed): the input can then
	// never be reported durable, so its Done gets this error instead of nil.
	rejected error
}

// Begin starts an input object. Call End when all its rows are added.
func (s *Sink) Begin(ref InputRef) *Input {
	return &Input{s: s, ref: ref, id: ref.id()}
}

// Ref returns the input's reference.
func (in *Input) Ref() InputRef { return in.ref }

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("sink: closed")

// UnsupportedRecordError is returned by Add for a record the sink has no table for (a digest, or a
// record with no payload).
type UnsupportedRecordError struct {
	Source parse.Source
}

func (e *UnsupportedRecordError) Error() string {
	return fmt.Sprintf("sink: no table for %s records", e.Source)
}

// Add converts a parsed record and buffers it in its table. The record may be reused after Add
// returns. An error other than *UnsupportedRecordError, ErrClosed or "Add after End" comes from
// writing that the add triggered (a *CommitError, or a failed spill): the row itself was kept and
// a later checkpoint writes it.
func (in *Input) Add(ctx context.Context, rec *parse.Record) error {
	l := Lineage{Bucket: in.ref.Bucket, Key: in.ref.Key, Index: rec.Index}
	switch {
	case rec.CloudTrail != nil:
		row := CloudTrailRowOf(l, rec.CloudTrail)
		return addRow(ctx, in, TableCloudTrail, row, row.EventTime, recordSize(&row, rec.Raw))
	case rec.Flow != nil:
		row := VPCFlowRowOf(l, rec.Flow)
		var ts time.Time
		if row.StartTime != nil {
			ts = *row.StartTime
		}
		return addRow(ctx, in, TableVPCFlow, row, ts, recordSize(&row, rec.Raw))
	case rec.DNS != nil:
		row := ResolverRowOf(l, rec.DNS)
		return addRow(ctx, in, TableResolver, row, row.QueryTimestamp, recordSize(&row, rec.Raw))
	}
	return &UnsupportedRecordError{Source: rec.Source}
}

// AddFinding buffers one metric-filter match attributed to this input (normally the input whose
// record matched; its Lineage names that record).
func (in *Input) AddFinding(ctx context.Context, f FindingRow) error {
	row := findingColOf(&f)
	return addRow(ctx, in, TableFindings, row, row.EventTime, sizeFinding(&row))
}

// AddIntegrity buffers one digest-verification result attributed to this input (the digest object).
func (in *Input) AddIntegrity(ctx context.Context, r IntegrityRow) error {
	row := integrityColOf(&r)
	return addRow(ctx, in, TableIntegrity, row, row.VerifiedAt, sizeIntegrity(&row))
}

// End says no more rows will be added for this input. An input that added no rows is done at once
// (its Done callback runs before End returns); otherwise Done runs after its last file commits.
func (in *Input) End() {
	s := in.s
	s.mu.Lock()
	in.ended = true
	finish := in.open == 0 && !in.done
	if finish {
		in.done = true
	}
	rejected := in.rejected
	s.mu.Unlock()
	if finish && in.ref.Done != nil {
		in.ref.Done(rejected)
	}
}

func addRow[T any](ctx context.Context, in *Input, t Table, row T, ts time.Time, size int64) error {
	s := in.s
	s.mu.Lock()
	if s.closed {
		if in.rejected == nil {
			in.rejected = ErrClosed
		}
		s.mu.Unlock()
		return ErrClosed
	}
	if in.ended {
		s.mu.Unlock()
		return fmt.Errorf("sink: Add after End for s3://%s/%s", in.ref.Bucket, in.ref.Key)
	}
	now := s.opts.Now()
	if ts.IsZero() {
		// A record without a time (a flow-log NODATA line without start) still needs a partition;
		// processing time keeps it findable instead of piling up under 1970.
		ts = now
	}
	k := partKey{table: t, dt: ts.UTC().Format("2006-01-02")}
	b := s.bufs[k]
	if b == nil {
		b = &buffer{key: k, rows: &rowsOf[T]{}, created: now, spans: map[*Input]*span{}}
		if len(s.bufs) == 0 || now.Before(s.oldest) {
			s.oldest = now
		}
		s.bufs[k] = b
	}
	b.rows.(*rowsOf[T]).add(row, sortKey{t: ts.UnixMilli(), in: in, ord: in.ordinal})
	sp := b.spans[in]
	if sp == nil {
		sp = &span{first: in.ordinal}
		b.spans[in] = sp
		in.open++
	}
	sp.last = in.ordinal
	in.ordinal++
	b.raw += size
	b.pending += size
	s.buffered += size
	s.stats.RowsAdded++

	if b.pending >= s.opts.SpillBytes {
		if err := s.spillLocked(b); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	// Decide whether a checkpoint is due; the checkpoint re-evaluates the condition once it owns
	// the writer, since another one may have written these partitions meanwhile.
	var pick func() ([]*buffer, error)
	switch {
	case s.buffered > s.opts.MemoryBudget:
		pick = func() ([]*buffer, error) {
			if s.buffered <= s.opts.MemoryBudget {
				return nil, nil
			}
			return s.relieveLocked()
		}
	case s.estimate(b) >= float64(s.opts.TargetFileBytes):
		pick = func() ([]*buffer, error) {
			if s.bufs[b.key] == b && s.estimate(b) >= float64(s.opts.TargetFileBytes) {
				return []*buffer{b}, nil
			}
			return nil, nil
		}
	case now.Sub(s.oldest) >= s.opts.MaxAge: // cheap test first: Add is the hot path
		pick = func() ([]*buffer, error) { return s.dueLocked(now), nil }
	}
	s.mu.Unlock()
	if pick == nil {
		return nil
	}
	return s.checkpoint(ctx, pick)
}

// estimate is the size a buffer's file would have now: its spool plus its pending rows at the
// table's compression ratio.
func (s *Sink) estimate(b *buffer) float64 {
	return float64(b.rows.spoolBytes()) + float64(b.pending)*s.ratio[b.key.table]
}

// spillLocked encodes a buffer's pending rows into its spool.
func (s *Sink) spillLocked(b *buffer) error {
	before := b.rows.spoolBytes()
	if err := b.rows.spill(s.writeConfig(b)); err != nil {
		return fmt.Errorf("sink: spill %s/%s: %w", b.key.table, b.key.partition(), err)
	}
	s.buffered += b.rows.spoolBytes() - before - b.pending
	b.pending = 0
	s.stats.Spills++
	return nil
}

// minSpillBytes keeps the memory-budget policy from cutting tiny row groups.
const minSpillBytes = 1 << 20

// relieveLocked brings the buffered total back under the budget: first by encoding the largest
// pending row sets into their spools (cheap, and files keep growing toward the target), then, if
// compressed spools alone still exceed the budget, by choosing the largest partitions to write
// until at most half the budget is left.
func (s *Sink) relieveLocked() ([]*buffer, error) {
	all := s.sortedBuffersLocked()
	slices.SortStableFunc(all, func(a, b *buffer) int { return cmp.Compare(b.pending, a.pending) })
	for _, b := range all {
		if s.buffered <= s.opts.MemoryBudget*3/4 || b.pending < minSpillBytes {
			break
		}
		if err := s.spillLocked(b); err != nil {
			return nil, err
		}
	}
	if s.buffered <= s.opts.MemoryBudget {
		return nil, nil
	}
	slices.SortStableFunc(all, func(a, b *buffer) int { return cmp.Compare(b.mem(), a.mem()) })
	var sel []*buffer
	rest := s.buffered
	for _, b := range all {
		if rest <= s.opts.MemoryBudget/2 {
			break
		}
		sel = append(sel, b)
		rest -= b.mem()
	}
	return sel, nil
}

// dueLocked picks the partitions whose first row has waited MaxAge, and recomputes oldest over
// the others.
func (s *Sink) dueLocked(now time.Time) []*buffer {
	var sel []*buffer
	s.oldest = now
	for _, b := range s.sortedBuffersLocked() {
		if now.Sub(b.created) >= s.opts.MaxAge {
			sel = append(sel, b)
		} else if b.created.Before(s.oldest) {
			s.oldest = b.created
		}
	}
	return sel
}

func (s *Sink) sortedBuffersLocked() []*buffer {
	all := make([]*buffer, 0, len(s.bufs))
	for _, b := range s.bufs {
		all = append(all, b)
	}
	slices.SortFunc(all, func(a, b *buffer) int {
		return cmp.Or(cmp.Compare(a.key.table, b.key.table), cmp.Compare(a.key.dt, b.key.dt))
	})
	return all
}

// Flush writes every buffered row now, in one checkpoint.
func (s *Sink) Flush(ctx context.Context) error {
	return s.checkpoint(ctx, func() ([]*buffer, error) { return s.sortedBuffersLocked(), nil })
}

// FlushDue writes the partitions whose oldest row has waited MaxAge or longer.
func (s *Sink) FlushDue(ctx context.Context) error {
	return s.checkpoint(ctx, func() ([]*buffer, error) { return s.dueLocked(s.opts.Now()), nil })
}

// Run calls FlushDue every MaxAge/10 (at least every second, at most every 30 s) until ctx ends,
// so rows do not wait past MaxAge when no Add arrives. Checkpoint errors are logged; the rows stay
// buffered and are retried at the next tick.
func (s *Sink) Run(ctx context.Context) error {
	every := min(max(s.opts.MaxAge/10, time.Second), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := s.FlushDue(ctx); err != nil {
				s.opts.Logger.Error("sink: age-triggered checkpoint failed; rows stay buffered", "err", err)
			}
		}
	}
}

// Close writes everything still buffered and refuses further rows. If that fails, every input that
// is not done gets Done(err) and its rows are dropped: the caller must not acknowledge them.
func (s *Sink) Close(ctx context.Context) error {
	s.cpMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.cpMu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	dones, err := s.runCheckpoint(ctx, func() ([]*buffer, error) { return s.sortedBuffersLocked(), nil })
	if err != nil {
		s.mu.Lock()
		seen := map[*Input]bool{}
		for _, b := range append(s.sortedBuffersLocked(), s.sealed...) {
			for in := range b.spans {
				if !seen[in] && !in.done {
					seen[in] = true
					in.done = true
					dones = append(dones, done{in: in, err: err})
				}
			}
		}
		clear(s.bufs)
		s.sealed = nil
		s.buffered = 0
		s.mu.Unlock()
	}
	s.cpMu.Unlock()
	runDones(dones)
	return err
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.BufferedBytes = s.buffered
	st.OpenPartitions = len(s.bufs) + len(s.sealed) + s.inflight
	return st
}

// CommitError says a checkpoint did not complete. Files listed in Committed are durable; the rows
// of the others stay buffered and the next checkpoint retries them under the same names.
type CommitError struct {
	CheckpointID string
	Committed    []File
	Err          error
}

func (e *CommitError) Error() string {
	return fmt.Sprintf("sink: checkpoint %s: %d file(s) committed before failure: %v", e.CheckpointID, len(e.Committed), e.Err)
}

func (e *CommitError) Unwrap() error { return e.Err }

type done struct {
	in  *Input
	err error
}

func runDones(ds []done) {
	for _, d := range ds {
		if d.in.ref.Done != nil {
			d.in.ref.Done(d.err)
		}
	}
}

// checkpoint runs one checkpoint over the buffers pick chooses and calls the Done callbacks of the
// inputs it completed.
func (s *Sink) checkpoint(ctx context.Context, pick func() ([]*buffer, error)) error {
	s.cpMu.Lock()
	dones, err := s.runCheckpoint(ctx, pick)
	s.cpMu.Unlock()
	runDones(dones)
	return err
}

// runCheckpoint writes, as one checkpoint, the sealed buffers of a failed checkpoint (first, under
// the names already announced) and the buffers pick chooses (pick runs under s.mu). The caller holds
// cpMu, so checkpoints run one at a time, but s.mu is held only to choose and detach the buffers and
// to account for each committed file: Add goes on filling new buffers while files are encoded and
// uploaded, and only waits (for cpMu) when it needs a checkpoint itself.
func (s *Sink) runCheckpoint(ctx context.Context, pick func() ([]*buffer, error)) ([]done, error) {
	s.mu.Lock()
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("sink: checkpoint: %w", err)
	}
	picked, err := pick()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	sel := append(s.sealed, picked...)
	s.sealed = nil
	if len(sel) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	// Detach: rows arriving from now on start new buffers, which can never share a name with these.
	for _, b := range sel {
		if s.bufs[b.key] == b {
			delete(s.bufs, b.key)
		}
	}
	s.inflight = len(sel)
	cp := Checkpoint{Files: make([]File, len(sel))}
	inputs := map[*Input]bool{}
	for i, b := range sel {
		minT, maxT := b.rows.timeRange()
		cp.Files[i] = File{
			Table: b.key.table, Partition: b.key.partition(), Bucket: s.opts.Dest.Bucket,
			Key:  s.opts.Dest.Key(string(b.key.table) + "/" + b.key.partition() + "/" + b.name() + ".parquet"),
			Rows: int64(b.rows.len()), MinTime: minT, MaxTime: maxT,
		}
		for in := range b.spans {
			inputs[in] = true
		}
	}
	for in := range inputs {
		r := in.ref
		r.Done = nil
		cp.Inputs = append(cp.Inputs, r)
	}
	s.mu.Unlock()

	keys := make([]string, len(cp.Files))
	for i, f := range cp.Files {
		keys[i] = f.Key
	}
	slices.Sort(keys)
	cp.ID = hashHex(keys...)[:32]
	slices.SortFunc(cp.Inputs, func(a, b InputRef) int { return cmp.Compare(a.id(), b.id()) })

	// seal keeps the buffers not committed for the next checkpoint, exactly as announced.
	seal := func(rest []*buffer) {
		s.mu.Lock()
		s.sealed = rest
		s.inflight = 0
		s.mu.Unlock()
	}
	if s.opts.BeforeCommit != nil {
		// The hook gets its own Files: the sink fills in sizes as files commit.
		before := cp
		before.Files = slices.Clone(cp.Files)
		if err := s.opts.BeforeCommit(ctx, before); err != nil {
			seal(sel)
			return nil, &CommitError{CheckpointID: cp.ID, Err: fmt.Errorf("before-commit hook: %w", err)}
		}
	}
	var dones []done
	var committed []File
	for i, b := range sel {
		f := &cp.Files[i]
		var err error
		if b.rows.spoolBytes() > 0 && b.pending > 0 {
			// Spill the rest first, through the accounting, so a failed write leaves the buffer
			// counted at what it holds (its rows are all in the spool then).
			err = s.spillDetached(b)
		}
		var n int64
		if err == nil {
			n, err = s.writeFile(ctx, b, f)
		}
		if err != nil {
			seal(sel[i:])
			return dones, &CommitError{CheckpointID: cp.ID, Committed: committed, Err: err}
		}
		f.Bytes = n
		committed = append(committed, *f)
		s.mu.Lock()
		if b.raw > 0 && n > 0 {
			// Learn the table's compression ratio so size-triggered files land near the target.
			s.ratio[b.key.table] = 0.5*s.ratio[b.key.table] + 0.5*float64(n)/float64(b.raw)
		}
		s.stats.FilesWritten++
		s.stats.RowsWritten += f.Rows
		s.stats.BytesWritten += n
		s.buffered -= b.mem()
		s.inflight--
		for in := range b.spans {
			in.open--
			if in.open == 0 && in.ended && !in.done {
				in.done = true
				dones = append(dones, done{in: in, err: in.rejected})
			}
		}
		s.mu.Unlock()
		s.opts.Logger.Debug("sink: file committed", "table", f.Table, "key", f.Key, "rows", f.Rows, "bytes", n)
	}
	s.mu.Lock()
	s.stats.Checkpoints++
	s.mu.Unlock()
	if s.opts.AfterCommit != nil {
		s.opts.AfterCommit(ctx, cp)
	}
	return dones, nil
}

// spillDetached spills a buffer that belongs to the running checkpoint (no Add can reach it), then
// accounts for it under the lock.
func (s *Sink) spillDetached(b *buffer) error {
	before := b.rows.spoolBytes()
	if err := b.rows.spill(s.writeConfig(b)); err != nil {
		return fmt.Errorf("sink: spill %s/%s: %w", b.key.table, b.key.partition(), err)
	}
	s.mu.Lock()
	s.buffered += b.rows.spoolBytes() - before - b.pending
	b.pending = 0
	s.stats.Spills++
	s.mu.Unlock()
	return nil
}

// writeFile streams one buffer as a Parquet object and commits it.
func (s *Sink) writeFile(ctx context.Context, b *buffer, f *File) (int64, error) {
	// No user metadata: the local store would keep it in a sidecar file beside the data, and Spark
	// or Trino reading a partition directory treat every file in it as Parquet.
	up, err := s.opts.Dest.Store.Create(ctx, f.Bucket, f.Key, nil)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", f.Key, err)
	}
	cw := &countingWriter{w: up}
	if err := b.rows.write(cw, s.writeConfig(b)); err != nil {
		up.Abort()
		return 0, fmt.Errorf("write %s: %w", f.Key, err)
	}
	if err := up.Commit(); err != nil {
		return 0, fmt.Errorf("commit %s: %w", f.Key, err)
	}
	return cw.n, nil
}

// writeConfig sizes row groups from the table's learned bytes per row.
func (s *Sink) writeConfig(b *buffer) writeConfig {
	perRow := s.ratio[b.key.table] * float64(b.raw) / float64(max(b.rows.len(), 1))
	rowGroupRows := int64(float64(s.opts.RowGroupBytes) / max(perRow, 1))
	return writeConfig{schema: s.schemas[b.key.table], compression: s.opts.Compression,
		pageBytes: s.opts.PageBytes, rowGroupRows: max(rowGroupRows, 1024)}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// buffer holds the rows of one (table, partition) waiting for a checkpoint.
type buffer struct {
	key     partKey
	rows    rowSet
	raw     int64 // estimated bytes of every row added (for the compression ratio)
	pending int64 // estimated bytes of the rows not yet spilled
	created time.Time
	spans   map[*Input]*span
}

// mem is what the buffer holds in memory: pending rows and the compressed spool.
func (b *buffer) mem() int64 { return b.pending + b.rows.spoolBytes() }

// span is the range of an input's row ordinals in a buffer: rows in two buffers never share an
// ordinal, so (input, first, last) tells buffers apart even when they hold the same inputs.
type span struct{ first, last int64 }

// name derives the file name from what the file holds: its table and partition, and for each input
// (sorted) its identity and the ordinals of its rows. Processing the same inputs again yields the
// same names, so a retried checkpoint overwrites its earlier attempt instead of duplicating it.
func (b *buffer) name() string {
	type part struct {
		id          string
		first, last int64
	}
	parts := make([]part, 0, len(b.spans))
	for in, sp := range b.spans {
		parts = append(parts, part{in.id, sp.first, sp.last})
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.id, b.id) })
	fields := []string{string(b.key.table), b.key.partition()}
	for _, p := range parts {
		fields = append(fields, p.id, strconv.FormatInt(p.first, 10), strconv.FormatInt(p.last, 10))
	}
	return hashHex(fields...)[:40]
}

func hashHex(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0xff}) // never in a UTF-8 string: fields cannot run into each other
	}
	return hex.EncodeToString(h.Sum(nil))
}
