// Package sink is where rows go: the one Parquet writer core that both outputs are layouts of. The
// Athena tables (AthenaLayout: cloudtrail, vpcflow, resolver, findings, integrity under
// <table>/dt=YYYY-MM-DD/) are one layout; the Security Lake custom sources of pkg/ocsf are another,
// built on this package. A layout says which tables exist (row struct = schema, sort column, file
// location) and routes each record; the core does the rest, once, for both.
//
// It promises:
//   - Typed columns whose Parquet types are the row structs' tags (for Athena: the DDL in
//     deploy/athena, exactly), lineage on every row, rows sorted by time within each row group
//     (sorting_columns recorded, min/max statistics on), zstd pages (snappy optional).
//   - Each row is encoded and compressed once. A partition's file is an open Parquet writer whose
//     row groups are its spills: pending rows are sorted and written as one row group into a spool
//     (memory while small, an unlinked temporary file beyond), and a checkpoint closes the writer
//     and uploads the spool. Nothing is ever decoded and re-encoded: a global sort is not worth a
//     second encode, and per-row-group order keeps min/max pruning.
//   - Streaming, all-or-none per input without the input in memory: an input's rows are staged in
//     the input until End, so no checkpoint ever takes rows of an input still being read, and Abort
//     leaves no row. Past Options.StageBytes an input goes solo: its rows stream into files of its
//     own (encoded once, spooled), which join a checkpoint whole after End or are deleted on Abort.
//   - A record budget per input (rows, bytes, rows without a time) rejects degenerate objects with
//     *BudgetError before they cost memory or produce millions of empty rows.
//   - Atomic, idempotent files: a file becomes visible only when complete (store.Upload.Commit), and
//     its name is a hash of the inputs and row ordinals it holds, so redoing the same work
//     overwrites the same objects instead of adding duplicates.
//   - Durability: every input gets its Done exactly once, Durable after the last file holding any
//     of its rows is committed, or Retry with the error that made the sink give up. BeforeCommit
//     sees a checkpoint's inputs and final keys before any file is visible (the exactly-once ledger).
//   - Bounded memory, whatever the number of partitions: everything buffered (staged and pending
//     rows, spools in memory, open writers) is estimated and kept under Options.MemoryBudget, the
//     cheapest way first so files stay large while memory allows. Past half the budget the largest
//     pending row sets are encoded as row groups of their open files, however far each is from
//     SpillBytes; past the budget an input still being read goes solo and spills
//     its own rows; only if that is not enough (the open writers and spools of very many
//     partitions) are the partitions holding the most memory written as files.
//
// A Sink is safe for concurrent use by several parse workers. Adding a row touches only its input;
// the sink's lock is taken once per input at End (to merge its rows) and briefly around checkpoints.
// Spills and uploads run outside it, and a checkpoint uploads its files concurrently; checkpoints
// themselves run one at a time, which is the back-pressure when memory is short. A partition whose
// writer is busy encoding takes the rows of the next inputs into another file of its own
// (Options.WritersPerPartition), so workers never wait for each other's encodes.
package sink

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go/compress"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/store"
)

// Table names an output table; it is the first segment of the table's keys and its Athena name.
type Table string

// Compression is the page codec.
type Compression string

const (
	Zstd   Compression = "zstd"
	Snappy Compression = "snappy"
)

// Options configure a Sink. Zero values take the defaults below.
type Options struct {
	// Layout is what the sink writes; nil: AthenaLayout(Dest).
	Layout Layout
	// Dest is where the Athena layout writes: Dest.Prefix + "<table>/dt=YYYY-MM-DD/<hash>.parquet".
	Dest store.Location
	// TargetFileBytes is the file size a partition is written at (estimated from its spool and its
	// pending rows at the compression ratio seen so far for its table). Default DefaultTargetFileBytes.
	TargetFileBytes int64
	// MaxAge bounds how long a row waits in memory: a partition whose first rows are older is
	// written at the next End, FlushDue or Run tick. Default DefaultMaxAge.
	MaxAge time.Duration
	// MemoryBudget bounds the estimated size of everything buffered. Past half of it the largest
	// pending row sets are encoded (spilled) before they reach SpillBytes; past all of it the
	// partitions holding the most memory are written as files. Default DefaultMemoryBudget.
	MemoryBudget int64
	// SpillBytes is how much a partition buffers as rows before encoding them, time-sorted, as one
	// row group of its file. Default DefaultSpillBytes.
	SpillBytes int64
	// StageBytes is how much of one input is staged in memory before the input goes solo (writes
	// files of its own). Default DefaultStageBytes.
	StageBytes int64
	// RowGroupBytes caps a row group's estimated compressed size (a spill is one row group unless
	// it is larger). Default DefaultRowGroupBytes.
	RowGroupBytes int64
	// PageBytes is the size of the in-memory page buffer per column, i.e. the uncompressed size at
	// which a data page is cut. Default DefaultPageBytes.
	PageBytes int
	// Compression is the page codec; default Zstd.
	Compression Compression
	// SpoolDir holds the temporary files of files larger than SpoolMemoryBytes; default os.TempDir().
	SpoolDir string
	// SpoolMemoryBytes is how large a file in the making grows in memory before it moves to a
	// temporary file. Default DefaultSpoolMemoryBytes.
	SpoolMemoryBytes int64
	// MaxInputRows, MaxInputBytes and MaxUntimedRows are the record budget of one input: its rows,
	// their estimated bytes, and its rows without a time (which no real log record lacks:
	// `{"Records":[{},{},…]}` is all of them). Past any of them Add returns *BudgetError.
	// Defaults DefaultMaxInputRows, DefaultMaxInputBytes, DefaultMaxUntimedRows.
	MaxInputRows, MaxInputBytes, MaxUntimedRows int64
	// Concurrency is how many files a checkpoint uploads at once; default 4.
	Concurrency int
	// WritersPerPartition is how many files of one partition may be in the making at once. A file
	// has one writer, so its row groups are encoded one after another: when every row goes to one
	// partition (a day of VPC flow logs), one writer would make the other workers wait for its
	// encodes. An ended input's rows join a file whose writer is idle, opening another one of the
	// same partition only when all are busy. Default GOMAXPROCS (at most 8): with one processor
	// there is one file per partition.
	WritersPerPartition int
	// BeforeCommit, when set, is called with a checkpoint's final file keys before any of its files
	// becomes visible (so a worker can write an intent marker). An error cancels the checkpoint:
	// nothing is written, and the next checkpoint retries the same files under the same names. The
	// hooks run inside the checkpoint: they must not call Flush, FlushDue or Close.
	BeforeCommit func(ctx context.Context, cp Checkpoint) error
	// AfterCommit, when set, is called after every file of a checkpoint is committed, before the Done
	// callbacks of the inputs it completed.
	AfterCommit func(ctx context.Context, cp Checkpoint)
	// NameSalt, when set, is mixed into every file name. Processes that may hold the same inputs at
	// once (two workers given one object by a duplicate notification) then never write the same key,
	// so the rollback of one's transaction cannot delete the file the other committed. A retried
	// checkpoint of the same process still overwrites its earlier attempt. The worker sets it to its
	// ledger owner id.
	NameSalt string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Logger receives one line per committed file; default slog.Default().
	Logger *slog.Logger
}

const (
	DefaultTargetFileBytes = 128 << 20
	DefaultMaxAge          = 5 * time.Minute
	DefaultMemoryBudget    = 1 << 30
	// DefaultSpillBytes: a spill is a row group, so this is also (at a ~10-20× compression
	// ratio) a row group of 0.7-1.3 MB; smaller would cut row groups too fine for Athena's
	// splits. 16 MiB rather than 32: a batch is sorted and encoded in one go, and at 32 MiB
	// (40-80 MB of row structs) two workers' batches no longer fit in the cache they share, and
	// the heap they keep makes every collection longer (bench e2e, alternated runs, mean CPU s,
	// one core / two: CloudTrail 1.31 -> 1.27 / 1.51 -> 1.43, flow-default 4.41 -> 4.18 / 4.93
	// -> 4.73; peak RSS 126 -> 116 / 186 -> 140 MiB, 270 -> 168 / 452 -> 276 MiB). Files:
	// CloudTrail -1 %, flow +1.7 %. The Security Lake layout spilled at 16 MiB already.
	DefaultSpillBytes = 16 << 20
	// DefaultStageBytes keeps most objects (a CloudTrail file is a few MB of JSON) in memory until
	// End, where they merge into shared partitions; larger ones become files of their own.
	DefaultStageBytes       = 16 << 20
	DefaultRowGroupBytes    = 64 << 20
	DefaultPageBytes        = 256 << 10
	DefaultSpoolMemoryBytes = 4 << 20
	DefaultMaxInputRows     = 200_000_000
	DefaultMaxInputBytes    = 256 << 30
	DefaultMaxUntimedRows   = 100_000
)

func (o Options) withDefaults() Options {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.TargetFileBytes, DefaultTargetFileBytes)
	def(&o.MemoryBudget, DefaultMemoryBudget)
	def(&o.SpillBytes, DefaultSpillBytes)
	def(&o.StageBytes, DefaultStageBytes)
	def(&o.RowGroupBytes, DefaultRowGroupBytes)
	def(&o.SpoolMemoryBytes, DefaultSpoolMemoryBytes)
	def(&o.MaxInputRows, DefaultMaxInputRows)
	def(&o.MaxInputBytes, DefaultMaxInputBytes)
	def(&o.MaxUntimedRows, DefaultMaxUntimedRows)
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.PageBytes <= 0 {
		o.PageBytes = DefaultPageBytes
	}
	if o.Compression == "" {
		o.Compression = Zstd
	}
	if o.SpoolDir == "" {
		o.SpoolDir = os.TempDir()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.WritersPerPartition <= 0 {
		o.WritersPerPartition = min(runtime.GOMAXPROCS(0), 8)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Checkpoint is one set of files written together.
type Checkpoint struct {
	// ID is a hash of the checkpoint's sorted file keys: the same inputs give the same ID.
	ID     string
	Inputs []ack.Ref // inputs with rows in these files, sorted by ID
	Files  []File
}

// File is one Parquet object of a checkpoint.
type File struct {
	Table     Table
	Partition string // "dt=YYYY-MM-DD" (Athena), "region=…/accountId=…/eventDay=…/" (Security Lake)
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
	// PeakBufferedBytes is the largest BufferedBytes seen (sampled as inputs account their rows,
	// at End and after spills): what the memory budget held.
	PeakBufferedBytes int64
	// PressureSpills are the Spills the memory budget forced (row sets under SpillBytes encoded
	// because the buffered total passed half the budget).
	PressureSpills int64
}

// Sink stages rows per input, buffers them per (table, partition) and writes them as Parquet files.
type Sink struct {
	opts   Options
	layout Layout
	codec  compress.Codec

	// cpMu serializes checkpoints (it is taken before mu, never while holding it).
	cpMu sync.Mutex

	// buffered estimates every byte held: inputs' staged rows, pending rows, spools in memory and
	// open writers (a partition's share is its buffer's mem). Inputs add to it in steps without
	// the lock.
	buffered atomic.Int64
	peak     atomic.Int64
	spills   atomic.Int64
	pressure atomic.Int64
	closed   atomic.Bool

	mu   sync.Mutex
	bufs map[partKey]*buffer
	// ready are the files of ended solo inputs, taken by the next checkpoint whatever triggers it.
	ready []*buffer
	// sealed are buffers of a checkpoint that failed after BeforeCommit: they take no more rows and
	// every later checkpoint retries them first, under the names already announced.
	sealed []*buffer
	// inflight counts the buffers of the running checkpoint not yet committed.
	inflight int
	// encodingBytes are the pending bytes of batches taken for encoding and not yet encoded: they
	// leave the buffered total soon, so memory pressure does not spill more to make up for them.
	encodingBytes int64
	// oldest is no later than the creation time of every shared buffer (exact after dueLocked).
	oldest time.Time
	stats  Stats

	// tables maps each table to its *tableState. It is not under mu: every input looks it up for
	// the first row of each partition it stages, and waiting there for another worker's End to
	// merge its rows cost flow-default at two workers ~55 ms of blocked worker time per run.
	tables sync.Map
}

// tableState is what the sink learns about a table: its compression ratio.
type tableState struct {
	ratio atomic.Uint64 // float64 bits
}

func (t *tableState) get() float64  { return math.Float64frombits(t.ratio.Load()) }
func (t *tableState) set(r float64) { t.ratio.Store(math.Float64bits(r)) }

type partKey struct {
	table table
	part  string
	// shard tells apart the files of one partition in the making at once (shardLocked).
	shard int
}

func (k partKey) String() string { return string(k.table.spec().Name) + "/" + k.part }

// New returns a Sink writing opts.Layout (by default the Athena tables under opts.Dest).
func New(opts Options) (*Sink, error) {
	if opts.Compression != "" && opts.Compression != Zstd && opts.Compression != Snappy {
		return nil, fmt.Errorf("sink: unsupported compression %q (want zstd or snappy)", opts.Compression)
	}
	if opts.Layout == nil {
		if opts.Dest.Store == nil {
			return nil, errors.New("sink: Options.Dest has no store")
		}
		opts.Layout = AthenaLayout(opts.Dest)
	}
	opts = opts.withDefaults()
	return &Sink{opts: opts, layout: opts.Layout, codec: newCodec(opts.Compression, opts.PageBytes),
		bufs: map[partKey]*buffer{}}, nil
}

func (s *Sink) newBuffer(k partKey) *buffer {
	ts, ok := s.tables.Load(k.table)
	if !ok {
		n := &tableState{}
		r := k.table.spec().Ratio
		if s.opts.Compression == Snappy {
			r *= 1.6 // snappy compresses less than zstd
		}
		n.set(r)
		ts, _ = s.tables.LoadOrStore(k.table, n)
	}
	return &buffer{key: k, rows: k.table.newRows(), ts: ts.(*tableState)}
}

// buffer is one file in the making: an input's staged rows of one partition, a shared partition's
// rows, or a solo input's file.
type buffer struct {
	key  partKey
	rows rowSet
	ts   *tableState
	raw  int64 // estimated bytes of every row added (for the compression ratio)
	// pending is the estimated bytes of rows not yet encoded; written the spool's size after the
	// last encode; mem what the buffer counts in Sink.buffered.
	pending, written, mem int64
	created               time.Time
	first, last           int64 // ordinals of a stage's rows
	spans                 map[*Input]*span

	// Shared buffers encode detached batches outside the sink's lock: wmu guards the writer, and
	// spilling counts batches not yet encoded (a checkpoint waits for them before closing);
	// encoding counts them too, under the sink's lock (shardLocked reads it).
	wmu      sync.Mutex
	spilling sync.WaitGroup
	encoding int
	// broken is why the file cannot be completed (a failed encode): it is dropped, its inputs retried.
	broken error
}

// brokenError marks a file that failed to encode, not to upload: retrying cannot complete it.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }
func (e *brokenError) Unwrap() error { return e.err }

// dropLocked discards a file that cannot be completed; its inputs not yet done get Retry.
func (s *Sink) dropLocked(b *buffer, err error, dones []done) []done {
	s.buffered.Add(-b.mem)
	b.mem = 0
	b.rows.discard()
	for in := range b.spans {
		in.open--
		if !in.finished {
			in.finished = true
			dones = append(dones, done{in: in, o: ack.Again("sink", err)})
		}
	}
	return dones
}

// fileEstimate is the size the buffer's file would have now.
func (b *buffer) fileEstimate() float64 {
	return float64(b.written) + float64(b.pending)*b.ts.get()
}

// memBytes is what the buffer holds in memory now (its rows' writer is not being used elsewhere).
func (b *buffer) memBytes() int64 { return b.pending + b.rows.memBytes() }

// span is the range of an input's row ordinals in a buffer.
type span struct{ first, last int64 }

// name derives the file name from what the file holds: its table and partition, and for each input
// (sorted) its identity and the ordinals of its rows. Processing the same inputs again yields the
// same names, so a retried checkpoint overwrites its earlier attempt instead of duplicating it.
func (b *buffer) name(salt string) string {
	type part struct {
		id          string
		first, last int64
	}
	parts := make([]part, 0, len(b.spans))
	for in, sp := range b.spans {
		parts = append(parts, part{in.id, sp.first, sp.last})
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.id, b.id) })
	fields := []string{string(b.key.table.spec().Name), b.key.part}
	if salt != "" {
		fields = append(fields, "salt", salt)
	}
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

// writeConfig sizes row groups from the table's learned bytes per row.
func (s *Sink) writeConfig(b *buffer) writeConfig {
	perRow := b.ts.get() * float64(b.raw) / float64(max(b.rows.len(), 1))
	return writeConfig{codec: s.codec, pageBytes: s.opts.PageBytes,
		rowGroupRows: int64(float64(s.opts.RowGroupBytes) / max(perRow, 1)),
		spoolDir:     s.opts.SpoolDir, spoolMem: s.opts.SpoolMemoryBytes}
}

// batch is a shared buffer's pending rows detached for encoding outside the lock.
type batch struct {
	b     *buffer
	rows  rowSet
	bytes int64
	// pressure: the memory budget forced the spill.
	pressure bool
	// cfg is taken with the batch, under the lock: it reads the buffer's row count and bytes,
	// which inputs ending meanwhile change.
	cfg writeConfig
}

// takeLocked detaches the pending rows of bs for encoding.
func (s *Sink) takeLocked(bs []*buffer, pressure bool) []batch {
	out := make([]batch, 0, len(bs))
	for _, b := range bs {
		if b.pending == 0 || b.rows.pendingLen() == 0 {
			continue
		}
		// The encoded row group stays in the file's spool in memory (a tenth of the rows' size)
		// up to SpoolMemoryBytes, also under pressure: moving every spilled file to disk would
		// hold a descriptor per partition, thousands for an organisation's accounts and Regions.
		out = append(out, batch{b: b, rows: b.rows.take(), bytes: b.pending, pressure: pressure, cfg: s.writeConfig(b)})
		b.spilling.Add(1)
		b.encoding++
		s.encodingBytes += b.pending
		b.pending = 0
	}
	return out
}

// encodeBatches encodes detached batches, each as one row group of its buffer's file.
func (s *Sink) encodeBatches(bs []batch) {
	for _, x := range bs {
		b := x.b
		if x.pressure {
			s.pressure.Add(1)
		}
		b.wmu.Lock()
		err := b.rows.encode(x.rows, x.cfg)
		// A shared partition's next rows come with later inputs, perhaps much later: its writer's
		// buffers (3-9 MiB for an OCSF class of ~4k rows) go back to the pool meanwhile, so open
		// files cost their spools and footers, not a writer each.
		b.rows.release()
		written, mem := b.rows.spool().size(), b.rows.memBytes()
		b.wmu.Unlock()
		s.mu.Lock()
		s.encodingBytes -= x.bytes
		if err != nil {
			// The file can never be completed with these rows: the next checkpoint drops it and
			// tells its inputs to retry (never a file short of rows reported durable).
			s.opts.Logger.Error("sink: spill failed", "partition", b.key.String(), "err", err)
			if b.broken == nil {
				b.broken = err
			}
		}
		// The batch's slices (one per input that joined the partition) go to the table's next
		// inputs; none stays on the partition, where it would hold memory uncounted.
		b.rows.giveBack(x.rows)
		b.encoding--
		b.written = written
		d := mem + b.pending - b.mem
		b.mem += d
		s.notePeak(s.buffered.Add(d))
		s.mu.Unlock()
		s.spills.Add(1)
		b.spilling.Done()
	}
}

// notePeak records a buffered total just computed (Stats.PeakBufferedBytes).
func (s *Sink) notePeak(total int64) {
	for {
		p := s.peak.Load()
		if total <= p || s.peak.CompareAndSwap(p, total) {
			return
		}
	}
}

// shardLocked chooses the shared buffer of partition k that an ended input's rows join: the first
// one whose writer is not encoding, a new one when all are busy and fewer than WritersPerPartition
// exist, else the first. Rows of one input stay in one file per partition either way.
func (s *Sink) shardLocked(k partKey) partKey {
	for i := range s.opts.WritersPerPartition {
		k.shard = i
		if b := s.bufs[k]; b == nil || b.encoding == 0 {
			return k
		}
	}
	k.shard = 0
	return k
}

// shardSpillBytesLocked is the pending size at which shared buffer k is spilled: SpillBytes while
// it is its partition's only file in the making, half of it once shardLocked has opened another
// (workers ended inputs while its writer was encoding). Two files of a partition each spilling at
// SpillBytes hold twice one worker's rows between spills: a larger heap for the collector to mark
// and fresh pages to fault in, which made two workers' CPU grow beyond one worker's. At half, the
// partition holds about what one worker's file holds (bench data, --workers 2, GOMAXPROCS=2,
// 11 alternated runs each against the same build at SpillBytes, median task-clock: CloudTrail
// 1210 -> 1173 ms, flow-default 4146 -> 4074 ms, Resolver 875 -> 877 ms; page faults 29.0k ->
// 27.0k, 53.5k -> 42.8k). Row groups at two workers are then half as large (0.35-0.65 MB
// encoded): files CloudTrail +3.1 %, flow +0.8 %, Resolver +1 %. Not below half: more files of a partition (up to WritersPerPartition) would cut ever
// smaller row groups.
func (s *Sink) shardSpillBytesLocked(k partKey) int64 {
	for i := range s.opts.WritersPerPartition {
		if i == k.shard {
			continue
		}
		o := k
		o.shard = i
		if s.bufs[o] != nil {
			return max(s.opts.SpillBytes/2, 1)
		}
	}
	return s.opts.SpillBytes
}

// minSpillBytes keeps the memory-budget policy from cutting tiny row groups: a row set smaller
// than this (about 100 KiB encoded) is left to the partition's file, written whole if memory runs
// out.
const minSpillBytes = 1 << 20

// minPressureSpill is the smallest row set spilled for the budget's sake: minSpillBytes, or under
// a budget below 64 MiB a 64th of it (at least 64 KiB): so small a budget cannot hold 1 MiB for
// each of a few dozen partitions, and a small row group in a file still costs less than a small
// file. (Smaller still would not pay: each row group of an open file keeps its footer metadata,
// ~100 KiB for a wide OCSF class, until the file is written.)
func (s *Sink) minPressureSpill() int64 {
	return min(minSpillBytes, max(s.opts.MemoryBudget/64, 64<<10))
}

// spillAt is the buffered total past which the largest pending row sets are spilled: half the
// budget, so that what is not rows (open writers, spools, decoders, the collector's headroom) has
// room beside them and files are written early only when spilling cannot keep up.
func (s *Sink) spillAt() int64 { return s.opts.MemoryBudget / 2 }

// pressureLocked chooses, largest first, the shared partitions whose pending rows to encode so the
// buffered total (less what is already being encoded) falls back to three quarters of spillAt: a
// margin, so that the next few inputs do not each trigger a spill of their own. Row sets under
// minPressureSpill are left alone, and so is everything while the shared pending rows are under
// a quarter of the budget: the pressure is then elsewhere (inputs being read, spools, footers),
// and spilling would only cut ever smaller row groups at every End (a 32 MiB budget with two
// workers made 400 row groups of CloudTrail's 80k rows, the files 57 % larger); past the budget,
// inputs go solo and files are written instead.
func (s *Sink) pressureLocked() []*buffer {
	rest := s.buffered.Load() - s.encodingBytes
	if rest <= s.spillAt() {
		return nil
	}
	var cands []*buffer
	var pending int64
	least := s.minPressureSpill()
	for _, b := range s.bufs {
		pending += b.pending
		if b.pending >= least && b.rows.pendingLen() > 0 {
			cands = append(cands, b)
		}
	}
	if pending < s.opts.MemoryBudget/4 {
		return nil
	}
	slices.SortFunc(cands, func(a, b *buffer) int {
		return cmp.Or(cmp.Compare(b.pending, a.pending), compareKeysOf(a, b))
	})
	target := s.spillAt() * 3 / 4
	sel := cands[:0]
	for _, b := range cands {
		if rest <= target {
			break
		}
		sel = append(sel, b)
		rest -= b.pending
	}
	return sel
}

// spillShared encodes the largest pending row sets of shared partitions when the buffered total is
// past spillAt (pressureLocked), in the calling goroutine.
func (s *Sink) spillShared() {
	s.mu.Lock()
	batches := s.takeLocked(s.pressureLocked(), true)
	s.mu.Unlock()
	s.encodeBatches(batches)
}

// relieve brings the buffered total back under the budget: first by spilling the largest pending
// row sets of shared partitions (cheap, and files keep growing toward the target), then, if still
// over, by writing the partitions holding the most memory until at most half the budget is left.
func (s *Sink) relieve(ctx context.Context) error {
	s.spillShared()
	if s.buffered.Load() <= s.opts.MemoryBudget {
		return nil
	}
	return s.checkpoint(ctx, s.relievePick)
}

// relievePick (under s.mu) chooses the shared partitions holding the most memory (pending rows,
// spool in memory, open writer) to write until at most half the budget is left.
func (s *Sink) relievePick() ([]*buffer, error) {
	if s.buffered.Load() <= s.opts.MemoryBudget {
		return nil, nil
	}
	all := s.sortedBuffersLocked()
	slices.SortStableFunc(all, func(a, b *buffer) int { return cmp.Compare(b.mem, a.mem) })
	var sel []*buffer
	rest := s.buffered.Load()
	for _, b := range all {
		if rest <= s.opts.MemoryBudget/2 {
			break
		}
		sel = append(sel, b)
		rest -= b.mem
	}
	return sel, nil
}

// dueLocked picks the partitions whose first rows have waited MaxAge, and recomputes oldest over
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

func (s *Sink) readyBytesLocked() int64 {
	var n int64
	for _, b := range s.ready {
		n += b.written
	}
	return n
}

func (s *Sink) sortedBuffersLocked() []*buffer {
	all := make([]*buffer, 0, len(s.bufs))
	for _, b := range s.bufs {
		all = append(all, b)
	}
	slices.SortFunc(all, compareKeysOf)
	return all
}

// compareKeysOf orders buffers by table, partition and shard.
func compareKeysOf(a, b *buffer) int {
	return cmp.Or(cmp.Compare(a.key.table.spec().Name, b.key.table.spec().Name), cmp.Compare(a.key.part, b.key.part),
		cmp.Compare(a.key.shard, b.key.shard))
}

// Flush writes every buffered row of every ended input now, in one checkpoint.
func (s *Sink) Flush(ctx context.Context) error {
	return s.checkpoint(ctx, func() ([]*buffer, error) { return s.sortedBuffersLocked(), nil })
}

// FlushDue writes the partitions whose oldest rows have waited MaxAge or longer, and the files of
// ended solo inputs.
func (s *Sink) FlushDue(ctx context.Context) error {
	return s.checkpoint(ctx, func() ([]*buffer, error) { return s.dueLocked(s.opts.Now()), nil })
}

// Run calls FlushDue every MaxAge/10 (at least every second, at most every 30 s) until ctx ends,
// so rows do not wait past MaxAge when no input ends. Checkpoint errors are logged; the rows stay
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

// Close writes everything buffered and refuses further rows. If that fails, every ended input that
// is not done gets Done(Retry) and its rows are dropped: the caller must not acknowledge them.
// Inputs still open at Close are refused at their next Add or End (Retry, ErrClosed).
func (s *Sink) Close(ctx context.Context) error {
	s.cpMu.Lock()
	if s.closed.Swap(true) {
		s.cpMu.Unlock()
		return nil
	}
	dones, err := s.runCheckpoint(ctx, func() ([]*buffer, error) { return s.sortedBuffersLocked(), nil })
	if err != nil {
		s.mu.Lock()
		seen := map[*Input]bool{}
		all := append(s.sortedBuffersLocked(), s.sealed...)
		all = append(all, s.ready...)
		for _, b := range all {
			for in := range b.spans {
				if !seen[in] && !in.finished {
					seen[in] = true
					in.finished = true
					dones = append(dones, done{in: in, o: ack.Again("sink", err)})
				}
			}
			b.rows.discard()
			s.buffered.Add(-b.mem)
		}
		clear(s.bufs)
		s.sealed, s.ready = nil, nil
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
	st.Spills = s.spills.Load()
	st.PressureSpills = s.pressure.Load()
	st.BufferedBytes = s.buffered.Load()
	st.PeakBufferedBytes = max(s.peak.Load(), st.BufferedBytes)
	st.OpenPartitions = len(s.bufs) + len(s.sealed) + len(s.ready) + s.inflight
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
	in *Input
	o  ack.Outcome
}

func runDones(ds []done) {
	for _, d := range ds {
		d.in.report(d.o)
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
// the names already announced), the files of ended solo inputs, and the buffers pick chooses (pick
// runs under s.mu). The caller holds cpMu, so checkpoints run one at a time, but s.mu is held only
// to choose and detach the buffers and to account for the committed files: inputs go on staging
// and ending while files are finished and uploaded, several at once.
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
	sel := append(s.sealed, s.ready...)
	sel = append(sel, picked...)
	s.sealed, s.ready = nil, nil
	if len(sel) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	// Detach: rows arriving from now on start new buffers, which can never share a name with these.
	var dropped []done
	kept := sel[:0]
	for _, b := range sel {
		if s.bufs[b.key] == b {
			delete(s.bufs, b.key)
		}
		if b.broken != nil {
			dropped = s.dropLocked(b, b.broken, dropped)
			continue
		}
		kept = append(kept, b)
	}
	sel = kept
	if len(sel) == 0 {
		s.mu.Unlock()
		return dropped, nil
	}
	s.inflight = len(sel)
	cp := Checkpoint{Files: make([]File, len(sel))}
	locs := make([]store.Location, len(sel))
	inputs := map[*Input]bool{}
	for i, b := range sel {
		minT, maxT := b.rows.timeRange()
		sp := b.key.table.spec()
		loc, key := sp.File(b.key.part, b.name(s.opts.NameSalt))
		locs[i] = loc
		cp.Files[i] = File{Table: sp.Name, Partition: b.key.part, Bucket: loc.Bucket, Key: key,
			Rows: b.rows.len(), MinTime: minT, MaxTime: maxT}
		for in := range b.spans {
			inputs[in] = true
		}
	}
	ins := make([]*Input, 0, len(inputs))
	for in := range inputs {
		ins = append(ins, in)
	}
	s.mu.Unlock()
	// Sorted by the IDs the inputs computed once (Begin): comparing ref.ID()s formatted both
	// strings on every comparison, 3% of ingesting small CloudTrail objects.
	slices.SortFunc(ins, func(a, b *Input) int { return cmp.Compare(a.id, b.id) })
	for _, in := range ins {
		cp.Inputs = append(cp.Inputs, in.ref)
	}

	keys := make([]string, len(cp.Files))
	for i, f := range cp.Files {
		keys[i] = f.Key
	}
	slices.Sort(keys)
	cp.ID = hashHex(keys...)[:32]

	// The hook runs while the files are finished (their last rows encoded, writers closed), which
	// makes nothing visible: only the uploads wait for it. At the end of a run the final
	// checkpoint's hook (the ledger's intent for every input, an fsync on local disk) then no
	// longer leaves the processors idle before the last encodes start.
	hookDone := make(chan struct{})
	var hookErr error
	if s.opts.BeforeCommit != nil {
		// The hook gets its own Files: the sink fills in sizes as files commit.
		before := cp
		before.Files = slices.Clone(cp.Files)
		go func() {
			defer close(hookDone)
			hookErr = s.opts.BeforeCommit(ctx, before)
		}()
	} else {
		close(hookDone)
	}

	// Finish and upload the files, several at once.
	errs := make([]error, len(sel))
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(s.opts.Concurrency, runtime.GOMAXPROCS(0)*2))
	for i, b := range sel {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.writeFile(ctx, b, locs[i], &cp.Files[i], hookDone, &hookErr)
		}()
	}
	wg.Wait()
	<-hookDone
	if hookErr != nil {
		// Nothing was uploaded. Files finished meanwhile stay finished (the retry only uploads
		// them); one that failed to finish can never be completed: the retry drops it.
		s.mu.Lock()
		for i, b := range sel {
			var be *brokenError
			if errors.As(errs[i], &be) && b.broken == nil {
				b.broken = be.err
			}
		}
		s.sealed = sel
		s.inflight = 0
		s.mu.Unlock()
		return dropped, &CommitError{CheckpointID: cp.ID, Err: fmt.Errorf("before-commit hook: %w", hookErr)}
	}

	dones := dropped
	var committed []File
	var failed []*buffer
	var firstErr error
	s.mu.Lock()
	for i, b := range sel {
		f := &cp.Files[i]
		s.inflight--
		var be *brokenError
		if errors.As(errs[i], &be) {
			dones = s.dropLocked(b, be.err, dones)
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		if errs[i] != nil {
			failed = append(failed, b)
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		committed = append(committed, *f)
		if b.raw > 0 && f.Bytes > 0 {
			// Learn the table's compression ratio so size-triggered files land near the target.
			b.ts.set(0.5*b.ts.get() + 0.5*float64(f.Bytes)/float64(b.raw))
		}
		s.stats.FilesWritten++
		s.stats.RowsWritten += f.Rows
		s.stats.BytesWritten += f.Bytes
		s.buffered.Add(-b.mem)
		b.mem = 0
		b.rows.discard()
		for in := range b.spans {
			in.open--
			if in.open == 0 && !in.finished {
				in.finished = true
				o := ack.Ok("durable")
				if in.rejected != nil {
					o = ack.Again("shutdown", in.rejected)
				}
				dones = append(dones, done{in: in, o: o})
			}
		}
		s.opts.Logger.Debug("sink: file committed", "table", f.Table, "key", f.Key, "rows", f.Rows, "bytes", f.Bytes)
	}
	if firstErr != nil {
		s.sealed = failed
		s.mu.Unlock()
		return dones, &CommitError{CheckpointID: cp.ID, Committed: committed, Err: firstErr}
	}
	s.stats.Checkpoints++
	s.mu.Unlock()
	if s.opts.AfterCommit != nil {
		s.opts.AfterCommit(ctx, cp)
	}
	return dones, nil
}

// writeFile finishes a buffer's file (encoding what is pending, closing the writer) and, once the
// BeforeCommit hook has returned (hookDone closed) without error (*hookErr), uploads it. A retry
// after a failed upload or hook finds the file finished and uploads the same bytes again.
func (s *Sink) writeFile(ctx context.Context, b *buffer, loc store.Location, f *File, hookDone <-chan struct{}, hookErr *error) error {
	b.spilling.Wait()
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if !b.rows.finished() {
		if err := b.rows.finish(s.writeConfig(b)); err != nil {
			return &brokenError{fmt.Errorf("finish %s: %w", f.Key, err)}
		}
	}
	<-hookDone
	if *hookErr != nil {
		return *hookErr
	}
	n, err := upload(ctx, b.key.table.spec(), loc, f.Key, f.Rows, b.rows.spool())
	if err != nil {
		return err
	}
	f.Bytes = n
	return nil
}
