package sink

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/logarchive/logarchive/pkg/pqwrite"
)

// rowSet is one file in the making, without its row type: pending rows in memory (sorted and
// encoded at the next spill) and, once the first spill happened, an open Parquet writer whose
// row groups (one per spill) stream into a spool. Rows are encoded and compressed exactly once.
type rowSet interface {
	len() int64
	pendingLen() int
	timeRange() (minT, maxT time.Time)
	// absorb adds the pending rows of o (same row type; o is dropped afterwards) as a segment of
	// their own: o's slices are handed over, not copied.
	absorb(o rowSet)
	// take detaches the pending rows as a batch to encode outside the sink's lock.
	take() rowSet
	// giveBack returns an encoded batch's slices to the table's next inputs (and to the collector).
	giveBack(batch rowSet)
	// encode sorts a batch (or the set's own pending rows when batch is nil) and writes it as one
	// row group.
	encode(batch rowSet, cfg writeConfig) error
	// finish encodes what is pending and closes the file: its spool is then a complete Parquet file.
	finish(cfg writeConfig) error
	finished() bool
	spool() *spool
	// discard drops the rows and the spool (an aborted input, a committed file).
	discard()
	// memBytes is the memory held besides pending rows: the spool in memory and an open writer.
	memBytes() int64
	// release lets an open file that waits for more rows drop its writer's buffers (they are
	// taken again at the next encode).
	release()
}

type writeConfig struct {
	codec        compress.Codec
	pageBytes    int
	rowGroupRows int64
	spoolDir     string
	spoolMem     int64
}

// sortKey orders rows by event time, then by input identity and ordinal, so equal times still
// sort the same way every run.
type sortKey struct {
	t   int64 // Unix milliseconds
	in  *Input
	ord int64
}

func compareKeys(a, b *sortKey) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	if a.in != b.in {
		if c := cmp.Compare(a.in.id, b.in.id); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ord, b.ord)
}

// sortOrder fills perm with the indexes of keys in compareKeys order; buf is scratch space,
// returned for reuse. Rows are packed into one integer each, time then input (ranked by id) then
// index, and sorted as plain integers: sorting indexes through compareKeys, with a pointer to
// follow per comparison, was 5 % of flow's ingest CPU (an object's flow records are in no time
// order). Within an input, index order is ordinal order (rows are staged in order); when that or
// the packing does not hold, the rows are sorted through compareKeys.
func sortOrder(keys []sortKey, perm []int32, buf []uint64) []uint64 {
	if len(keys) == 0 {
		return buf
	}
	// Rank the batch's inputs by id (a batch holds rows of a few inputs, in runs).
	var ins []*Input
	var last *Input
	lo, hi := keys[0].t, keys[0].t
	for i := range keys {
		k := &keys[i]
		lo, hi = min(lo, k.t), max(hi, k.t)
		if i == 0 || k.in != last {
			if !slices.Contains(ins, k.in) {
				ins = append(ins, k.in)
			}
			last = k.in
		}
	}
	slices.SortFunc(ins, func(a, b *Input) int { return cmp.Compare(inputID(a), inputID(b)) })
	distinct := true
	for i := 1; i < len(ins); i++ {
		distinct = distinct && inputID(ins[i-1]) != inputID(ins[i])
	}
	ib := uint(bits.Len(uint(len(keys) - 1)))
	rb := uint(bits.Len(uint(len(ins) - 1)))
	if !distinct || uint64(hi-lo)>>(64-ib-rb) != 0 {
		sortByKeys(keys, perm)
		return buf
	}
	buf = slices.Grow(buf[:0], len(keys))[:len(keys)]
	lastOrd := make([]int64, len(ins))
	last, rank := nil, 0
	for i := range keys {
		k := &keys[i]
		if i == 0 || k.in != last {
			last, rank = k.in, slices.Index(ins, k.in)
		}
		if lastOrd[rank] > k.ord {
			sortByKeys(keys, perm)
			return buf[:0]
		}
		lastOrd[rank] = k.ord
		buf[i] = uint64(k.t-lo)<<(ib+rb) | uint64(rank)<<ib | uint64(i)
	}
	if !slices.IsSorted(buf) {
		slices.Sort(buf)
	}
	mask := uint64(1)<<ib - 1
	for i, u := range buf {
		perm[i] = int32(u & mask)
	}
	return buf[:0]
}

func inputID(in *Input) string {
	if in == nil {
		return "" // rows staged without an input (tests)
	}
	return in.id
}

func sortByKeys(keys []sortKey, perm []int32) {
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return compareKeys(&keys[a], &keys[b]) })
}

type rowsOf[T any] struct {
	def *TableDef[T]
	// rows and keys are the pending rows staged here, or handed over by the first input to join
	// a shared partition; segs are those of the inputs that joined after it, each input's slices
	// handed over whole and read in place at the next encode. Appending them to one growing slice
	// copied every row of a shared partition at least once (rows are large structs with
	// pointers: memmove, write barriers and the doubling's garbage).
	rows []T
	keys []sortKey
	segs []rowSlices[T]
	nseg int // rows in segs
	// blocks are the resolverBlocks the pending rows (rows and segs) may point into, one
	// reference each (resolverBlock says how they are recycled); empty for other tables.
	blocks []*resolverBlock

	written int64 // rows already in the writer
	lo, hi  int64 // time range over every row
	pw      *parquet.GenericWriter[T]
	cw      *pqwrite.Writer // instead of pw when the table has its own column encoder
	sp      *spool
	done    bool
	chunk   []T
	perm    []int32
	sorted  []uint64
}

func (r *rowsOf[T]) add(row T, k sortKey) {
	r.key(k)
	r.rows = append(r.rows, row)
}

// slot stages a zero row with key k and returns it for the caller to fill before the next row.
func (r *rowsOf[T]) slot(k sortKey) *T {
	r.key(k)
	var zero T
	r.rows = append(r.rows, zero)
	return &r.rows[len(r.rows)-1]
}

// key records the key of the row being staged, widening the rows' time range by it.
func (r *rowsOf[T]) key(k sortKey) {
	if r.len() == 0 {
		r.lo, r.hi = k.t, k.t
	}
	r.lo, r.hi = min(r.lo, k.t), max(r.hi, k.t)
	r.keys = append(r.keys, k)
}

func (r *rowsOf[T]) len() int64      { return int64(r.pendingLen()) + r.written }
func (r *rowsOf[T]) pendingLen() int { return len(r.rows) + r.nseg }
func (r *rowsOf[T]) finished() bool  { return r.done }
func (r *rowsOf[T]) spool() *spool   { return r.sp }

func (r *rowsOf[T]) timeRange() (time.Time, time.Time) {
	if r.len() == 0 {
		return time.Time{}, time.Time{}
	}
	return time.UnixMilli(r.lo).UTC(), time.UnixMilli(r.hi).UTC()
}

func (r *rowsOf[T]) absorb(o rowSet) {
	src := o.(*rowsOf[T])
	if src.pendingLen() == 0 {
		return
	}
	r.def.noteStaged(len(src.rows))
	if r.len() == 0 {
		r.lo, r.hi = src.lo, src.hi
	}
	r.lo, r.hi = min(r.lo, src.lo), max(r.hi, src.hi)
	if r.pendingLen() == 0 {
		r.def.putSpare(r.rows, r.keys)
		r.rows, r.keys = src.rows, src.keys
	} else if rows, keys := r.lastSeg(); cap(*rows)-len(*rows) >= len(src.rows) && cap(*keys)-len(*keys) >= len(src.keys) {
		// The last segment's spare capacity takes the rows (no allocation): an input's slices
		// are sized by a guess, and their slack would otherwise stay with the partition.
		*rows = append(*rows, src.rows...)
		*keys = append(*keys, src.keys...)
		if len(r.segs) > 0 {
			r.nseg += len(src.rows)
		}
		clear(src.rows)
		r.def.putSpare(src.rows, src.keys)
	} else if len(src.rows) > 0 {
		r.segs = append(r.segs, rowSlices[T]{rows: src.rows, keys: src.keys})
		r.nseg += len(src.rows)
	}
	r.segs = append(r.segs, src.segs...)
	r.nseg += src.nseg
	r.blocks = append(r.blocks, src.blocks...)
	src.rows, src.keys, src.segs, src.nseg, src.blocks = nil, nil, nil, 0, nil
}

// lastSeg is the segment rows were last added to.
func (r *rowsOf[T]) lastSeg() (*[]T, *[]sortKey) {
	if n := len(r.segs); n > 0 {
		return &r.segs[n-1].rows, &r.segs[n-1].keys
	}
	return &r.rows, &r.keys
}

func (r *rowsOf[T]) take() rowSet {
	b := &rowsOf[T]{def: r.def, rows: r.rows, keys: r.keys, segs: r.segs, nseg: r.nseg, blocks: r.blocks}
	r.written += int64(r.pendingLen())
	r.rows, r.keys, r.segs, r.nseg, r.blocks = nil, nil, nil, 0, nil
	return b
}

func (r *rowsOf[T]) giveBack(batch rowSet) {
	b := batch.(*rowsOf[T])
	b.recycle(false)
}

// recycle drops the pending rows (an encoded batch): every slice is cleared, so the rows' strings
// go to the collector, and goes back to the table's next inputs (putSpare), but the first, which
// stays with r when keep (a solo input stages its next rows in it).
func (r *rowsOf[T]) recycle(keep bool) {
	clear(r.rows)
	if keep {
		r.rows, r.keys = r.rows[:0], r.keys[:0]
	} else {
		r.def.putSpare(r.rows, r.keys)
		r.rows, r.keys = nil, nil
	}
	for i := range r.segs {
		sg := &r.segs[i]
		clear(sg.rows)
		r.def.putSpare(sg.rows, sg.keys)
	}
	clear(r.segs)
	r.segs, r.nseg = r.segs[:0], 0
	// Only now, with no row left pointing into them, may the blocks go back to their pool.
	for _, b := range r.blocks {
		b.release()
	}
	clear(r.blocks)
	r.blocks = r.blocks[:0]
}

// flatKeys returns the keys of the pending rows in flat order: the rows', then each segment's in
// turn (the order inOrder's permutation indexes); with segments they are gathered into scratch.
func (r *rowsOf[T]) flatKeys(scratch []sortKey) []sortKey {
	if len(r.segs) == 0 {
		return r.keys
	}
	keys := append(scratch[:0], r.keys...)
	for i := range r.segs {
		keys = append(keys, r.segs[i].keys...)
	}
	return keys
}

// inOrder returns pointers to the pending rows in perm's order, in scratch (which it grows).
func (r *rowsOf[T]) inOrder(perm []int32, scratch []*T) []*T {
	n := len(perm)
	if len(r.segs) == 0 {
		out := slices.Grow(scratch[:0], n)[:n]
		for j, i := range perm {
			out[j] = &r.rows[i]
		}
		return out
	}
	// Flat index to row first (in the scratch's second half), then in perm's order.
	buf := slices.Grow(scratch[:0], 2*n)[:2*n]
	out, flat := buf[:n], buf[n:]
	k := 0
	for i := range r.rows {
		flat[k] = &r.rows[i]
		k++
	}
	for s := range r.segs {
		rows := r.segs[s].rows
		for i := range rows {
			flat[k] = &rows[i]
			k++
		}
	}
	for j, i := range perm {
		out[j] = flat[i]
	}
	clear(flat)
	return out
}

func (r *rowsOf[T]) open(cfg writeConfig) error {
	if r.pw != nil || r.cw != nil {
		return nil
	}
	r.sp = &spool{dir: cfg.spoolDir, memLimit: cfg.spoolMem}
	if r.def.enc != nil {
		w, err := pqwrite.New(r.sp, r.def.pq, pqwriteOptions(r.def, cfg))
		if err != nil {
			return fmt.Errorf("parquet writer: %w", err)
		}
		r.cw = w
		return nil
	}
	r.pw = parquet.NewGenericWriter[T](r.sp, writerOptions(r.def, cfg)...)
	return nil
}

// writeSorted writes rows (in sort order) and closes the row group.
func (r *rowsOf[T]) writeSorted(rows []*T, cfg writeConfig) error {
	if r.cw != nil {
		// Column writers take rows without counting them against MaxRowsPerRowGroup (the row
		// path does): a batch larger than a row group is cut here, each part still sorted.
		step := int(max(cfg.rowGroupRows, minRowGroupRows))
		for start := 0; start < len(rows); start += step {
			if err := r.def.enc(r.cw.Columns(), rows[start:min(start+step, len(rows))]); err != nil {
				return fmt.Errorf("parquet write: %w", err)
			}
			if err := r.cw.Flush(); err != nil {
				return fmt.Errorf("parquet flush row group: %w", err)
			}
		}
		return nil
	}
	// Rows are large structs: they are sorted through pointers and copied out in chunks.
	if r.chunk == nil {
		r.chunk = make([]T, 0, r.def.chunkRows)
	}
	for start := 0; start < len(rows); start += r.def.chunkRows {
		chunk := r.chunk[:0]
		for _, p := range rows[start:min(start+r.def.chunkRows, len(rows))] {
			chunk = append(chunk, *p)
		}
		if _, err := r.pw.Write(chunk); err != nil {
			return fmt.Errorf("parquet write: %w", err)
		}
		clear(chunk)
	}
	if err := r.pw.Flush(); err != nil { // one sorted row group per spill
		return fmt.Errorf("parquet flush row group: %w", err)
	}
	return nil
}

func (r *rowsOf[T]) encode(batch rowSet, cfg writeConfig) error {
	src := r
	if batch != nil {
		src = batch.(*rowsOf[T])
	} else {
		r.written += int64(r.pendingLen())
	}
	n := src.pendingLen()
	if n == 0 {
		return nil
	}
	if r.done {
		return errors.New("sink: encode into a finished file")
	}
	if err := r.open(cfg); err != nil {
		return err
	}
	sc, _ := r.def.scratch.Get().(*encodeScratch[T])
	if sc == nil {
		sc = new(encodeScratch[T])
	}
	keys := src.flatKeys(sc.keys)
	perm := slices.Grow(r.perm[:0], n)[:n]
	r.sorted = sortOrder(keys, perm, r.sorted)
	rows := src.inOrder(perm, sc.rows)
	err := r.writeSorted(rows, cfg) // one sorted row group per spill
	// The scratch keeps no reference to the rows (or their inputs) in the pool.
	clear(rows)
	sc.rows = rows[:0]
	if len(src.segs) > 0 {
		clear(keys)
		sc.keys = keys[:0]
	}
	r.def.scratch.Put(sc)
	if err != nil {
		return err
	}
	r.perm = perm[:0]
	if batch == nil {
		r.recycle(true)
	}
	return nil
}

// minRowGroupRows keeps a badly estimated row size from cutting row groups too fine.
const minRowGroupRows = 1024

// writeChunkRows bounds the sorted copy made while encoding.
const writeChunkRows = 512

func (r *rowsOf[T]) finish(cfg writeConfig) error {
	if r.done {
		return nil
	}
	if err := r.encode(nil, cfg); err != nil {
		return err
	}
	// A file with no rows is never written, but stays well-formed.
	if err := r.open(cfg); err != nil {
		return err
	}
	var err error
	if r.cw != nil {
		err = r.cw.Close()
	} else {
		err = r.pw.Close()
	}
	if err != nil {
		return fmt.Errorf("parquet close: %w", err)
	}
	r.done = true
	r.pw, r.cw, r.chunk, r.perm, r.sorted = nil, nil, nil, nil, nil
	r.rows, r.keys, r.segs, r.blocks = nil, nil, nil, nil
	return nil
}

// memBytes is called by whoever encodes the set, after encoding (never alongside it): the
// pqwrite writer's buffers are counted as they are.
func (r *rowsOf[T]) memBytes() int64 {
	n := r.sp.memBytes()
	switch {
	case r.cw != nil:
		n += r.cw.BufferedBytes()
	case r.pw != nil:
		n += r.def.writerBytes
	}
	return n
}

func (r *rowsOf[T]) release() {
	if r.cw != nil {
		r.cw.Release()
	}
}

func (r *rowsOf[T]) discard() {
	// The blocks are not released: whatever may still read the dropped rows, their blocks go to
	// the collector with them.
	r.rows, r.keys, r.segs, r.nseg, r.chunk, r.blocks = nil, nil, nil, 0, nil, nil
	r.pw, r.cw = nil, nil
	if r.sp != nil {
		r.sp.remove()
	}
}

// createdBy is the files' created_by (as parquet-go formats parquet.CreatedBy("logarchive", "1", "")).
const createdBy = "logarchive version 1(build )"

// pqwriteOptions are the options of a table's pqwrite file writer. As with parquet-go's (below),
// pages carry no statistics: min/max live in the column chunk and the page index.
func pqwriteOptions[T any](t *TableDef[T], cfg writeConfig) pqwrite.Options {
	o := pqwrite.Options{Codec: cfg.codec, PageBytes: cfg.pageBytes, CreatedBy: createdBy}
	if col := t.sp.SortColumn; col != "" {
		o.SortingColumns = []parquet.SortingColumn{parquet.Ascending(col)}
	}
	return o
}

// writerOptions are the options of parquet-go's writer, for the tables written by its reflective
// row path.
func writerOptions[T any](t *TableDef[T], cfg writeConfig) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		t.schema,
		parquet.Compression(cfg.codec),
		parquet.PageBufferSize(cfg.pageBytes),
		parquet.MaxRowsPerRowGroup(max(cfg.rowGroupRows, minRowGroupRows)),
		// No statistics in page headers: min/max live in the column chunk's statistics and in the
		// page index (column index truncated to 16 bytes), which is what Athena, Trino and Spark
		// prune with (parquet-mr stopped writing page-header statistics when it got the page
		// index). parquet-go copies a page's min and max into its header twice (with the deprecated
		// fields), so one 3 MiB string made a 12 MiB header: past Arrow's 4 MiB page-header limit,
		// pqarrow read the column as empty and panicked. It also computed each page's bounds twice.
		parquet.DataPageStatistics(false),
		parquet.CreatedBy("logarchive", "1", ""),
	}
	if col := t.sp.SortColumn; col != "" {
		opts = append(opts, parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(col))))
	}
	return opts
}
