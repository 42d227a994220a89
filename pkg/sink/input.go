package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
)

// Input collects the rows of one input object. Different inputs may add from different goroutines
// at once; one input's rows must be added by one goroutine at a time, in record order (the order is
// part of file naming).
//
// Its rows are staged per partition inside the input until End: no checkpoint can take a row of an
// input that has not ended, and Abort leaves no row behind. While small, the staged rows stay in
// memory and join the shared partition buffers at End; past Options.StageBytes (or a file's worth of
// rows, or when the memory budget is exceeded) the input goes solo: its partitions become files of
// their own, encoded as they grow (one row group per spill, spooled to disk), which join the next
// checkpoint whole after End or are deleted by Abort. So an object is all-or-none without being held
// in memory.
type Input struct {
	s    *Sink
	ref  ack.Ref
	done ack.Done
	id   string

	// Owned by the input's goroutine.
	ordinal  int64
	stages   map[partKey]*buffer
	last     *buffer
	rolled   []*buffer // solo files finished at the target size, waiting for End
	staged   int64     // estimated bytes of the stages' pending rows
	rowBytes int64     // estimated bytes of every row added (the record budget)
	untimed  int64
	unacct   int64 // bytes not yet added to s.buffered (accounted in steps, not per row)
	acct     int64 // bytes this input has added to s.buffered
	solo     bool
	ended    bool
	aborted  bool
	memo     [2]memo
	// Scratch is the layout\'s own state for this input (e.g. what the object\'s key says), set by
	// the layout on first use.
	Scratch    any
	object     parse.Object
	classified bool

	// Guarded by s.mu.
	open     int  // buffers holding rows of this input, not yet committed
	finished bool // Done was called (or is about to be)
	rejected error
}

type memo struct {
	k int64
	s string
}

// Memo returns the string make gives for k, remembering the last two: layouts use it to format a
// partition path once per day rather than once per row.
func (in *Input) Memo(k int64, make func(int64) string) string {
	if in.memo[0].s != "" && in.memo[0].k == k {
		return in.memo[0].s
	}
	if in.memo[1].s != "" && in.memo[1].k == k {
		in.memo[0], in.memo[1] = in.memo[1], in.memo[0]
		return in.memo[0].s
	}
	in.memo[1] = in.memo[0]
	in.memo[0] = memo{k, make(k)}
	return in.memo[0].s
}

// Begin starts an input object. Call End when all its rows are added, or Abort to drop them. done
// (may be nil) receives the input's outcome exactly once: Durable after every row is in a committed
// file (at End when it had none), the outcome given to Abort, or Retry with the error that made the
// sink give up (Close failing, rows refused after Close). It is called without the sink's lock held,
// from whichever goroutine completed the input, and must not block for long.
func (s *Sink) Begin(ref ack.Ref, done ack.Done) *Input {
	ref.ETag = ack.NormalizeETag(ref.ETag)
	return &Input{s: s, ref: ref, done: done, id: ref.ID()}
}

// Ref returns the input's reference.
func (in *Input) Ref() ack.Ref { return in.ref }

// Object is the input's key classified (pkg/parse): its source, account and region, computed once.
func (in *Input) Object() parse.Object {
	if !in.classified {
		in.object = parse.Classify(in.ref.Bucket, in.ref.Key)
		in.classified = true
	}
	return in.object
}

// Add converts a parsed record through the sink's layout and stages it. The record may be reused
// after Add returns; the strings and json.RawMessage bytes it points to are kept, not copied, so
// they must not be modified afterwards (pkg/parse never does). Errors: *UnsupportedRecordError (the record was skipped; go on), ErrClosed,
// *BudgetError (the object is degenerate: Abort it), or a failure to spool this input's rows (Abort
// it with a Retry). Checkpoint failures triggered meanwhile are logged, not returned: the rows they
// concern stay buffered and are retried.
func (in *Input) Add(ctx context.Context, rec *parse.Record) error {
	return in.s.layout.Record(ctx, in, rec)
}

// AddFinding stages one metric-filter match attributed to this input.
func (in *Input) AddFinding(ctx context.Context, f FindingRow) error {
	return in.s.layout.Finding(ctx, in, &f)
}

// AddIntegrity stages one digest-verification result attributed to this input.
func (in *Input) AddIntegrity(ctx context.Context, r IntegrityRow) error {
	return in.s.layout.Integrity(ctx, in, &r)
}

// BudgetError says an input exceeded its record budget (Options.MaxInputRows, MaxInputBytes,
// MaxUntimedRows): it is degenerate, and must be aborted and set aside.
type BudgetError struct {
	Ref   ack.Ref
	What  string // "rows", "bytes", "untimed rows"
	Limit int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("sink: %s exceeds the record budget: more than %d %s", e.Ref, e.Limit, e.What)
}

// Class is the quarantine class of a degenerate object.
func (e *BudgetError) Class() string { return "record_budget" }

func (in *Input) stageFor(t table, part string) (*buffer, error) {
	if b := in.last; b != nil && b.key.part == part && b.key.table == t {
		return b, nil
	}
	if in.ended || in.aborted {
		return nil, fmt.Errorf("sink: Add after End or Abort for %s", in.ref)
	}
	s := in.s
	if s.closed.Load() {
		s.mu.Lock()
		if in.rejected == nil {
			in.rejected = ErrClosed
		}
		s.mu.Unlock()
		return nil, ErrClosed
	}
	k := partKey{table: t, part: part}
	b := in.stages[k]
	if b == nil {
		if in.stages == nil {
			in.stages = map[partKey]*buffer{}
		}
		b = s.newBuffer(k)
		b.first = in.ordinal
		b.created = s.opts.Now()
		in.stages[k] = b
	}
	in.last = b
	return b, nil
}

// added accounts for the row just staged in b and applies the record budget, the solo threshold
// and the memory budget.
func (in *Input) added(ctx context.Context, b *buffer, size int64, untimed bool) error {
	s := in.s
	b.last = in.ordinal
	in.ordinal++
	b.raw += size
	b.pending += size
	b.mem += size
	in.staged += size
	in.rowBytes += size
	in.unacct += size
	if untimed {
		in.untimed++
		if in.untimed > s.opts.MaxUntimedRows {
			return &BudgetError{Ref: in.ref, What: "untimed rows", Limit: s.opts.MaxUntimedRows}
		}
	}
	if in.ordinal > s.opts.MaxInputRows {
		return &BudgetError{Ref: in.ref, What: "rows", Limit: s.opts.MaxInputRows}
	}
	if in.rowBytes > s.opts.MaxInputBytes {
		return &BudgetError{Ref: in.ref, What: "bytes", Limit: s.opts.MaxInputBytes}
	}
	if !in.solo && (in.staged >= s.opts.StageBytes || b.fileEstimate() >= float64(s.opts.TargetFileBytes)) {
		in.solo = true
	}
	if in.solo && (b.pending >= s.opts.SpillBytes || b.fileEstimate() >= float64(s.opts.TargetFileBytes)) {
		if err := in.spill(b); err != nil {
			return err
		}
	}
	if in.unacct >= accountStep {
		return in.account(ctx)
	}
	return nil
}

// accountStep is how many bytes an input stages before adding them to the sink's total: one
// atomic add per row would make workers contend on one cache line.
const accountStep = 256 << 10

// account publishes the input's unaccounted bytes and applies the memory policy (see the package
// comment): past half the budget the largest pending row sets of shared partitions are spilled;
// past the budget this input goes solo and spills its largest partitions, and then, if that is
// not enough, the partitions holding the most memory are written.
func (in *Input) account(ctx context.Context) error {
	s := in.s
	total := s.buffered.Add(in.unacct)
	s.notePeak(total)
	in.acct += in.unacct
	in.unacct = 0
	if total <= s.spillAt() {
		return nil
	}
	// Shared partitions first: their inputs have ended, and their files keep growing.
	s.spillShared()
	if s.buffered.Load() <= s.opts.MemoryBudget {
		return nil
	}
	// Then this input's own largest partitions: it goes solo (its rows become files of its own).
	for in.staged >= minSpillBytes && s.buffered.Load()+in.unacct > s.opts.MemoryBudget*3/4 {
		in.solo = true
		var big *buffer
		for _, b := range in.stages {
			if big == nil || b.pending > big.pending {
				big = b
			}
		}
		if big == nil || big.pending < minSpillBytes/4 {
			break
		}
		if err := in.spill(big); err != nil {
			return err
		}
	}
	s.buffered.Add(in.unacct)
	in.acct += in.unacct
	in.unacct = 0
	if s.buffered.Load() <= s.opts.MemoryBudget {
		return nil
	}
	if err := s.checkpoint(ctx, s.relievePick); err != nil {
		s.opts.Logger.Error("sink: memory-budget checkpoint failed; rows stay buffered", "err", err)
	}
	return nil
}

// adjust changes the input's accounted bytes by d (d < 0 after a spill).
func (in *Input) adjust(d int64) {
	in.s.buffered.Add(d)
	in.acct += d
}

// spill encodes a solo partition's pending rows as one row group of its own file and, once that file
// reaches the target size, finishes it and starts the next one.
func (in *Input) spill(b *buffer) error {
	s := in.s
	if b.rows.pendingLen() == 0 {
		return nil
	}
	cfg := s.writeConfig(b)
	before := b.mem
	if err := b.rows.encode(nil, cfg); err != nil {
		return fmt.Errorf("sink: spill %s for %s: %w", b.key, in.ref, err)
	}
	in.staged -= b.pending
	b.pending = 0
	b.written = b.rows.spool().size()
	s.spills.Add(1)
	if float64(b.written) >= float64(s.opts.TargetFileBytes) {
		if err := b.rows.finish(cfg); err != nil {
			return fmt.Errorf("sink: finish %s for %s: %w", b.key, in.ref, err)
		}
		b.written = b.rows.spool().size()
		in.rolled = append(in.rolled, b)
		delete(in.stages, b.key)
		in.last = nil
	}
	b.mem = b.memBytes()
	in.unacct += b.mem - before
	return nil
}

// End says no more rows will be added. A small input's rows join the shared partition buffers; a
// solo input's files join the next checkpoint. An input that added no rows is done at once (its
// Done runs before End returns); otherwise Done runs after its last file commits. End may run a
// checkpoint (a partition reached its size or age, or the memory budget is exceeded); its failure
// is logged and retried later.
func (in *Input) End() {
	if in.ended || in.aborted {
		return
	}
	in.ended = true
	s := in.s
	all := in.buffers()
	in.stages, in.rolled, in.last = nil, nil, nil
	// The input stays referenced (by its spans) until its files commit: the layout's scratch (a
	// few KiB of row structs for OCSF) must not stay with it, for each of thousands of inputs.
	in.dropScratch()
	in.memo = [2]memo{}
	if in.solo {
		// Finish the input's files now, in its own goroutine: their writers' buffers and pending
		// rows are released, and the checkpoint that takes them only uploads.
		for _, b := range all {
			if b.rows.finished() {
				continue
			}
			before := b.mem
			if err := b.rows.finish(s.writeConfig(b)); err != nil {
				for _, b := range all {
					b.rows.discard()
				}
				s.buffered.Add(-in.acct)
				in.acct, in.unacct = 0, 0
				s.mu.Lock()
				in.finished = true
				s.mu.Unlock()
				in.report(ack.Again("spool", fmt.Errorf("sink: finish %s for %s: %w", b.key, in.ref, err)))
				return
			}
			b.pending = 0
			b.written = b.rows.spool().size()
			b.mem = b.memBytes()
			in.unacct += b.mem - before
		}
	}
	s.notePeak(s.buffered.Add(in.unacct))
	in.acct += in.unacct
	in.unacct = 0

	s.mu.Lock()
	if in.rejected != nil || (s.closed.Load() && len(all) > 0) {
		// Rows arrived after Close (or were refused): the input can never be durable.
		if in.rejected == nil {
			in.rejected = ErrClosed
		}
		for _, b := range all {
			b.rows.discard()
		}
		s.buffered.Add(-in.acct)
		in.finished = true
		err := in.rejected
		s.mu.Unlock()
		in.report(ack.Again("shutdown", err))
		return
	}
	s.stats.RowsAdded += in.ordinal
	now := s.opts.Now()
	var spills []*buffer
	var touched []*buffer
	for _, st := range all {
		sp := &span{first: st.first, last: st.last}
		if in.solo {
			st.spans = map[*Input]*span{in: sp}
			s.ready = append(s.ready, st)
			in.open++
			continue
		}
		k := s.shardLocked(st.key)
		sh := s.bufs[k]
		if sh == nil {
			sh = st
			sh.key = k
			sh.mem = st.pending
			sh.spans = map[*Input]*span{}
			if len(s.bufs) == 0 || sh.created.Before(s.oldest) {
				s.oldest = sh.created
			}
			s.bufs[k] = sh
		} else {
			if st.created.Before(sh.created) {
				// The partition's age is its oldest row's: rows staged long ago do not wait twice.
				sh.created = st.created
				if sh.created.Before(s.oldest) {
					s.oldest = sh.created
				}
			}
			sh.rows.absorb(st.rows)
			sh.raw += st.raw
			sh.pending += st.pending
			sh.mem += st.pending
		}
		sh.spans[in] = sp
		in.open++
		touched = append(touched, sh)
		if sh.pending >= s.shardSpillBytesLocked(k) {
			spills = append(spills, sh)
		}
	}
	finish := in.open == 0 && !in.finished
	if finish {
		in.finished = true
	}
	// Decide whether a checkpoint is due; the checkpoint re-evaluates once it owns the writer.
	var pick func() ([]*buffer, error)
	switch {
	case len(s.ready) > 0 && s.readyBytesLocked() >= s.opts.TargetFileBytes:
		pick = func() ([]*buffer, error) { return nil, nil } // the ready files are always taken
	case len(s.bufs) > 0 && now.Sub(s.oldest) >= s.opts.MaxAge:
		pick = func() ([]*buffer, error) { return s.dueLocked(now), nil }
	}
	var full []*buffer
	for _, b := range touched {
		if b.fileEstimate() >= float64(s.opts.TargetFileBytes) {
			full = append(full, b)
		}
	}
	if len(full) > 0 && pick == nil {
		pick = func() ([]*buffer, error) {
			var sel []*buffer
			for _, b := range full {
				if s.bufs[b.key] == b && b.fileEstimate() >= float64(s.opts.TargetFileBytes) {
					sel = append(sel, b)
				}
			}
			return sel, nil
		}
	}
	batches := s.takeLocked(spills, false)
	// The memory policy: past half the budget, the largest pending row sets are spilled too.
	batches = append(batches, s.takeLocked(s.pressureLocked(), true)...)
	s.mu.Unlock()

	if finish {
		in.report(ack.Ok("durable"))
	}
	s.encodeBatches(batches)
	if s.buffered.Load() > s.opts.MemoryBudget {
		// Spilling was not enough (open writers and spools of very many partitions): write the
		// partitions holding the most memory.
		if err := s.relieve(ctx0); err != nil {
			s.opts.Logger.Error("sink: memory-budget checkpoint failed; rows stay buffered", "err", err)
		}
	}
	if pick != nil {
		if err := s.checkpoint(ctx0, pick); err != nil {
			s.opts.Logger.Error("sink: checkpoint failed; rows stay buffered", "err", err)
		}
	}
}

// ctx0 is the context of checkpoints End triggers: End has no context of its own, and a checkpoint
// must not be cut short by the cancellation of the one object that happened to trigger it.
var ctx0 = context.Background()

// Abort drops every row of the input (staged rows, solo files) and reports o. It does nothing after
// End.
func (in *Input) Abort(o ack.Outcome) {
	if in.ended || in.aborted {
		return
	}
	in.aborted = true
	in.dropScratch()
	for _, b := range in.buffers() {
		b.rows.discard()
	}
	in.stages, in.rolled, in.last = nil, nil, nil
	in.s.buffered.Add(-in.acct)
	in.acct, in.unacct = 0, 0
	s := in.s
	s.mu.Lock()
	already := in.finished
	in.finished = true
	s.mu.Unlock()
	if !already {
		in.report(o)
	}
}

// dropScratch lets go of the layout's scratch, and of what it holds from a pool (the Athena
// layout's resolverSlab block).
func (in *Input) dropScratch() {
	if sl, ok := in.Scratch.(*resolverSlab); ok {
		sl.release()
	}
	in.Scratch = nil
}

func (in *Input) buffers() []*buffer {
	all := make([]*buffer, 0, len(in.stages)+len(in.rolled))
	all = append(all, in.rolled...)
	for _, b := range in.stages {
		all = append(all, b)
	}
	slices.SortFunc(all, func(a, b *buffer) int { return cmp.Compare(a.first, b.first) })
	return all
}

func (in *Input) report(o ack.Outcome) {
	if in.done != nil {
		in.done(o)
	}
}

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("sink: closed")
