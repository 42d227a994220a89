package sink

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/pqwrite"
	"github.com/logarchive/logarchive/pkg/store"
)

// Layout is what a Sink writes: which tables exist and where each record, finding and integrity
// result goes. The Athena tables (AthenaLayout) are one layout; the Security Lake sources of
// pkg/ocsf are another, built on the same core. A layout converts the input to a typed row and hands
// it to AddRow with the row's table, partition, time and size; everything after that (staging,
// spilling, naming, committing, Done) is the core's.
//
// A layout is called from the goroutine that feeds one Input, concurrently for different inputs.
type Layout interface {
	// Record converts one parsed record and adds it to in (AddRow). A record the layout has no
	// table for returns *UnsupportedRecordError and adds nothing.
	Record(ctx context.Context, in *Input, rec *parse.Record) error
	// Finding adds one metric-filter match (its Lineage names the matched record).
	Finding(ctx context.Context, in *Input, f *FindingRow) error
	// Integrity adds one digest-verification result; a layout without an integrity table ignores it.
	Integrity(ctx context.Context, in *Input, r *IntegrityRow) error
}

// TableSpec describes one table of a layout.
type TableSpec struct {
	// Name is the table's name in File.Table, logs and stats.
	Name Table
	// SortColumn is the time column rows are sorted by within each row group; it is recorded as the
	// row groups' sorting_columns.
	SortColumn string
	// File returns where a file of a partition goes: the store location and the object key, given
	// the file's name (a hash of what it holds).
	File func(partition, name string) (store.Location, string)
	// Ratio is the file size / estimated row size assumed before the table's first file is written
	// (the sink learns the real ratio from the files it writes).
	Ratio float64
	// RewriteFooter, when set, replaces the Parquet footer (thrift FileMetaData) of every file before
	// upload: Security Lake wants bare integer annotations. Pages precede the footer, so nothing else
	// moves.
	RewriteFooter func(footer []byte) ([]byte, error)
	// Metadata, when set, gives the user metadata of a file's object.
	Metadata func(rows int64) map[string]string
}

// TableDef is a table whose rows are T (a struct whose parquet tags are its schema).
type TableDef[T any] struct {
	sp     TableSpec
	schema *parquet.Schema
	// writerBytes estimates what an open parquet-go writer of this table (the reflective path)
	// holds between row groups (column and page buffers kept for reuse): about 48 KiB per leaf
	// column, measured on parquet-go v0.32. A pqwrite writer counts its own (BufferedBytes).
	writerBytes int64
	// chunkRows is how many rows the reflective path hands parquet-go per Write.
	chunkRows int
	// enc, when set, writes batches of T straight to a file's column writers (pqwrite, compiled
	// for schema as pq); T may then be a staging type of the layout's own, not the schema's struct.
	enc columnEncoder[T]
	pq  *pqwrite.Schema
	// shred, when T compiled to a shredder, walks rows for RowBytes.
	shred *shredder
	// spare holds the row slices of encoded batches, for the next inputs: grown from nil for
	// every object, they were a tenth of flow's CPU (growslice).
	spare sync.Pool // *rowSlices[T]
	// scratch is what an encode sorts through.
	scratch sync.Pool // *encodeScratch[T]
	// stageRows is a moving average of the rows an input stages in one partition, in sixteenths:
	// an input's slices start at about that size rather than growing (copying) from nil, as the
	// spare slices stay with their partitions until it is encoded.
	stageRows atomic.Int64
}

type encodeScratch[T any] struct {
	rows []*T
	keys []sortKey
}

type rowSlices[T any] struct {
	rows []T
	keys []sortKey
}

// columnEncoder writes *rows[0], *rows[1] … (rows in sort order, read where they were staged) as
// whole rows to a file's column writers (cw is indexed by leaf column). It replaces parquet-go's
// reflective row path, which writes every pointer field one value at a time through function
// values, for the tables where that path was most of the cost.
type columnEncoder[T any] func(cw []*pqwrite.Column, rows []*T) error

// newColumnTable is a table whose rows are staged as T and encoded by enc into schema's columns.
// The schema is one of the sink's own: a schema pqwrite cannot write is a programming error.
func newColumnTable[T any](spec TableSpec, schema *parquet.Schema, enc columnEncoder[T]) *TableDef[T] {
	if spec.Ratio <= 0 {
		spec.Ratio = 0.12
	}
	pq, err := pqwrite.Compile(schema)
	if err != nil {
		panic(fmt.Sprintf("sink: table %s: %v", spec.Name, err))
	}
	return &TableDef[T]{sp: spec, schema: schema, enc: enc, pq: pq}
}

// NewTable derives the schema of T once: reflecting per file would dominate small files. Rows are
// shredded into columns by a shredder compiled for T and written by pqwrite; a type either does
// not support keeps parquet-go's reflective row path.
func NewTable[T any](spec TableSpec) *TableDef[T] {
	t := newReflectiveTable[T](spec)
	if s, err := compileShredder(reflect.TypeFor[T](), t.schema); err == nil {
		t.shred = s
		if pq, err := pqwrite.Compile(t.schema); err == nil {
			t.enc, t.pq = shredEncoder[T](s), pq
		}
	}
	return t
}

// RowBytes estimates the heap row keeps alive while staged by value in a slice of T: the struct,
// every pointer's target, the bytes of its strings, its lists' backing arrays and elements and its
// maps' tables and entries, walked with the table's compiled shredder (strings that alias a shared
// buffer count by their length, an overcount). A table of a type the shredder does not support
// counts the struct alone: callers that stage such rows must add what they reach.
func (t *TableDef[T]) RowBytes(row *T) int64 {
	if t.shred == nil {
		return int64(unsafe.Sizeof(*row))
	}
	return t.shred.rowBytes(unsafe.Pointer(row))
}

// newReflectiveTable is a table written by parquet-go's reflective row path (the tests' reference).
func newReflectiveTable[T any](spec TableSpec) *TableDef[T] {
	var zero T
	if spec.Ratio <= 0 {
		spec.Ratio = 0.12
	}
	sc := parquet.SchemaOf(zero)
	chunk := writeChunkRows
	if plainOptional(reflect.TypeFor[T]()) {
		// parquet-go v0.32 writes a zero of a non-pointer optional field as present when an
		// earlier row of the same Write had the field non-zero; one row per Write is correct.
		chunk = 1
	}
	return &TableDef[T]{sp: spec, schema: sc, writerBytes: int64(len(sc.Columns())) * 48 << 10, chunkRows: chunk}
}

// plainOptional says whether t (a struct) has an optional field of non-pointer scalar type at
// any depth.
func plainOptional(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == goTime {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if _, ok := fieldName(f); !ok {
			continue
		}
		_, opts, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		switch k := f.Type.Kind(); {
		case k == reflect.Pointer || k == reflect.Slice || k == reflect.Map || k == reflect.Struct:
			if plainOptional(f.Type) {
				return true
			}
		case slices.Contains(strings.Split(opts, ","), "optional"):
			return true
		}
	}
	return false
}

// Spec returns the table's description.
func (t *TableDef[T]) Spec() TableSpec { return t.sp }

// Schema is the schema rows are encoded with (before any footer rewrite).
func (t *TableDef[T]) Schema() *parquet.Schema { return t.schema }

// table is TableDef without its row type, as the core's buffers see it.
type table interface {
	spec() *TableSpec
	newRows() rowSet
}

func (t *TableDef[T]) spec() *TableSpec { return &t.sp }
func (t *TableDef[T]) newRows() rowSet {
	r := &rowsOf[T]{def: t}
	if sl, _ := t.spare.Get().(*rowSlices[T]); sl != nil {
		r.rows, r.keys = sl.rows, sl.keys
	} else if n := t.stageRows.Load() >> 4; n > 0 {
		n = min(n+n/4+1, maxStageHint)
		r.rows, r.keys = make([]T, 0, n), make([]sortKey, 0, n)
	}
	return r
}

// putSpare keeps slices of encoded rows for the table's next inputs, but not one much larger than
// an input stages: handed to a small input, it would sit in a partition as a segment, its slack
// counted nowhere.
func (t *TableDef[T]) putSpare(rows []T, keys []sortKey) {
	if c := int64(cap(rows)); c == 0 || c > max(4*(t.stageRows.Load()>>4), 256) {
		return
	}
	t.spare.Put(&rowSlices[T]{rows: rows[:0], keys: keys[:0]})
}

// maxStageHint bounds the slices made from stageRows (an input's rows beyond it grow as usual).
const maxStageHint = 4096

// noteStaged folds the row count of an input's partition into stageRows.
func (t *TableDef[T]) noteStaged(n int) {
	old := t.stageRows.Load()
	t.stageRows.Store(old + (int64(n)<<4-old)/8) // racing inputs may lose an update: it is a hint
}

// UnsupportedRecordError is returned by Add for a record the layout has no table for (a digest,
// a record with no payload, an Insights event in Security Lake).
type UnsupportedRecordError struct {
	Source parse.Source
	Reason string
}

func (e *UnsupportedRecordError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("sink: no table for %s record: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("sink: no table for %s records", e.Source)
}

// AddRow stages one row of table t in partition part ("dt=2026-03-02", "region=…/accountId=…/
// eventDay=…/": whatever the table's File function understands) for input in. ts partitions
// nothing here (the layout already chose part): it sorts rows within row groups and bounds the
// file's time range; a zero ts (a record without a time) counts against Options.MaxUntimedRows and
// sorts at processing time. size estimates the row's in-memory bytes, for the memory budget and
// file sizing. The row may not be modified after AddRow.
func AddRow[T any](ctx context.Context, in *Input, t *TableDef[T], part string, row T, ts time.Time, size int64) error {
	st, err := in.stageFor(t, part)
	if err != nil {
		return err
	}
	k, untimed := in.sortKey(ts)
	st.rows.(*rowsOf[T]).add(row, k)
	return in.added(ctx, st, size, untimed)
}

// stageSlot is AddRow for a row built where it is staged: it stages a zero row of t in part (ts
// as for AddRow) and returns it with its buffer. The caller fills the row, then accounts for it
// with in.added(ctx, st, size, untimed) before staging the next.
func stageSlot[T any](in *Input, t *TableDef[T], part string, ts time.Time) (row *T, st *buffer, untimed bool, err error) {
	if st, err = in.stageFor(t, part); err != nil {
		return nil, nil, false, err
	}
	k, untimed := in.sortKey(ts)
	return st.rows.(*rowsOf[T]).slot(k), st, untimed, nil
}

// sortKey is the key of a row of time ts staged by in; a zero ts (untimed) sorts at processing
// time.
func (in *Input) sortKey(ts time.Time) (k sortKey, untimed bool) {
	if untimed = ts.IsZero(); untimed {
		ts = in.s.opts.Now()
	}
	return sortKey{t: ts.UnixMilli(), in: in, ord: in.ordinal}, untimed
}
