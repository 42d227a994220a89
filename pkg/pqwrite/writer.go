package pqwrite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Options configure a Writer.
type Options struct {
	// Codec compresses every page; nil writes them uncompressed.
	Codec compress.Codec
	// PageBytes is the encoded size (levels, values, four bytes per dictionary index) at which a
	// data page is cut, between rows. Default 256 KiB.
	PageBytes int
	// DictionaryMaxBytes is the size of a column chunk's dictionary past which the rest of the
	// chunk is written PLAIN (as Arrow and parquet-mr do): a dictionary of mostly distinct values
	// only costs. Default 1 MiB.
	DictionaryMaxBytes int
	// DictionarySample is how many values a column chunk dictionary-encodes before the writer
	// checks that its dictionary pays (parquet-mr's rule, applied early: the dictionary plus the
	// bit-packed indexes must be smaller than the values PLAIN). When it does not, the values so
	// far are re-encoded PLAIN and the chunk is written without a dictionary: a column of mostly
	// distinct values (ids, keys, addresses) then costs no hash lookup, no dictionary insert and
	// no dictionary page. A chunk whose first page is cut, or that ends, before the sample is full
	// is checked then, on all its values. Default 1024; negative never checks.
	DictionarySample int
	// ColumnIndexSizeLimit truncates byte array min/max in the column index. Default 16 (parquet-go's).
	ColumnIndexSizeLimit int
	// SortingColumns are recorded as every row group's sorting_columns.
	SortingColumns []parquet.SortingColumn
	// CreatedBy is the footer's created_by.
	CreatedBy string
	// KeyValueMetadata is the footer's key/value metadata.
	KeyValueMetadata map[string]string

	// intsPlain writes every integer page that is not ascending PLAIN, as before chooseDelta:
	// the baseline of the benchmarks.
	intsPlain bool
}

// Writer writes one Parquet file. Rows are written column by column (Columns), each column
// receiving whole rows; Flush ends a row group, Close writes the page index and the footer.
// A Writer is not safe for concurrent use.
type Writer struct {
	out     io.Writer
	offset  int64
	err     error
	schema  *Schema
	opts    Options
	codec   compress.Codec // nil: uncompressed
	cols    []*Column
	sorting []format.SortingColumn

	rowGroups []format.RowGroup
	colIndex  [][]format.ColumnIndex
	offIndex  [][]format.OffsetIndex

	hdr    bytes.Buffer
	hdrEnc *thrift.Encoder
	closed bool
}

// New returns a writer of a file of schema s to w.
func New(w io.Writer, s *Schema, opts Options) (*Writer, error) {
	if opts.PageBytes <= 0 {
		opts.PageBytes = 256 << 10
	}
	if opts.DictionaryMaxBytes <= 0 {
		opts.DictionaryMaxBytes = 1 << 20
	}
	if opts.DictionarySample == 0 {
		opts.DictionarySample = 1024
	}
	if opts.ColumnIndexSizeLimit <= 0 {
		opts.ColumnIndexSizeLimit = 16
	}
	pw := &Writer{out: w, schema: s, opts: opts}
	if opts.Codec != nil && opts.Codec.CompressionCodec() != format.Uncompressed {
		pw.codec = opts.Codec
	}
	pw.hdrEnc = thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&pw.hdr))
	for _, sc := range opts.SortingColumns {
		i := slices.IndexFunc(s.leaves, func(l leaf) bool { return slices.Equal(l.path, sc.Path()) })
		if i < 0 {
			return nil, fmt.Errorf("pqwrite: sorting column %s not in schema", strings.Join(sc.Path(), "."))
		}
		pw.sorting = append(pw.sorting, format.SortingColumn{ColumnIdx: int32(i), Descending: sc.Descending(), NullsFirst: sc.NullsFirst()})
	}
	pw.acquire()
	return pw, nil
}

// acquire takes a set of column writers: one a closed (or released) file left in the schema's
// pool, or new ones.
func (w *Writer) acquire() {
	if cols, _ := w.schema.columns.Get().([]*Column); cols != nil {
		for _, c := range cols {
			c.attach(w)
		}
		w.cols = cols
		return
	}
	for i := range w.schema.leaves {
		w.cols = append(w.cols, newColumn(w, i))
	}
}

// Columns returns the column writers, indexed by leaf column.
func (w *Writer) Columns() []*Column {
	if w.cols == nil && !w.closed {
		w.acquire()
	}
	return w.cols
}

// Release hands the column writers back to the schema's pool between row groups, and with them
// the buffers they keep for the next chunk (pages, dictionaries, compression): a file kept open
// while it waits for more rows then holds only its row groups' metadata, however many such files
// a process has. The next write takes a set again (Columns), most often the one just released.
// It does nothing while a row group is in progress.
func (w *Writer) Release() {
	if w.cols == nil || w.closed {
		return
	}
	for _, c := range w.cols {
		if c.rows != 0 || c.pageValues != 0 || len(c.data) != 0 {
			return
		}
	}
	w.putColumns()
}

// putColumns returns the column writers, each at the start of a chunk with an empty page, to the
// schema's pool.
func (w *Writer) putColumns() {
	for _, c := range w.cols {
		c.w = nil
	}
	w.schema.columns.Put(w.cols)
	w.cols = nil
}

// BufferedBytes is the memory the writer holds: encoded pages of the row group in progress,
// page and compression buffers, dictionaries, and the page index of the row groups written.
func (w *Writer) BufferedBytes() int64 {
	var n int64
	for _, c := range w.cols {
		n += int64(cap(c.data) + cap(c.vals) + cap(c.rep) + cap(c.def) + 4*cap(c.ids) + 4*cap(c.offs) + cap(c.body) + cap(c.zbuf) + cap(c.scratch))
		if d := c.dict; d != nil {
			for _, b := range d.blocks {
				n += int64(cap(b))
			}
			// the hash table, and per entry its string header and seen mark
			n += 8*int64(cap(d.slots)) + 20*int64(cap(d.entries))
		}
	}
	for _, ci := range w.colIndex {
		for i := range ci {
			for j := range ci[i].MinValues {
				n += int64(len(ci[i].MinValues[j])+len(ci[i].MaxValues[j])) + 64 // with the offset index entry
			}
		}
	}
	// The footer's metadata of the row groups written, per column chunk: with a wide schema, many
	// small row groups of an open file add up (an OCSF API Activity row group's is ~100 KiB).
	for _, rg := range w.rowGroups {
		for i := range rg.Columns {
			st := &rg.Columns[i].MetaData.Statistics
			n += chunkMetaBytes + int64(len(st.MinValue)+len(st.MaxValue))
		}
	}
	return n
}

// chunkMetaBytes is what a column chunk's metadata holds besides its statistics' values: its
// structs in the row group and the page index, and the small slices they point to.
const chunkMetaBytes = int64(unsafe.Sizeof(format.ColumnChunk{})+unsafe.Sizeof(format.ColumnIndex{})+unsafe.Sizeof(format.OffsetIndex{})) + 96

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.out.Write(p)
	w.offset += int64(n)
	if err != nil {
		w.err = fmt.Errorf("pqwrite: %w", err)
	}
}

func (w *Writer) encodeHeader(v any) ([]byte, error) {
	w.hdr.Reset()
	if err := w.hdrEnc.Encode(v); err != nil {
		return nil, fmt.Errorf("pqwrite: encode page header: %w", err)
	}
	return w.hdr.Bytes(), nil
}

// Flush writes the rows written so far as one row group. Every column must have received the
// same number of rows.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("pqwrite: flush of a closed writer")
	}
	if w.cols == nil {
		return nil // released: no row since the last row group
	}
	rows := w.cols[0].rows
	for _, c := range w.cols {
		if c.rows != rows {
			return fmt.Errorf("pqwrite: column %s has %d rows, column %s %d",
				strings.Join(c.leaf.path, "."), c.rows, strings.Join(w.cols[0].leaf.path, "."), rows)
		}
	}
	if rows == 0 {
		return nil
	}
	for _, c := range w.cols {
		if err := c.flushPage(); err != nil {
			return err
		}
	}
	if w.offset == 0 {
		w.write([]byte("PAR1"))
	}
	rg := format.RowGroup{NumRows: rows, FileOffset: w.offset, SortingColumns: slices.Clone(w.sorting), Ordinal: int16(len(w.rowGroups))}
	cis := make([]format.ColumnIndex, len(w.cols))
	ois := make([]format.OffsetIndex, len(w.cols))
	for i, c := range w.cols {
		cc, err := c.writeChunk()
		if err != nil {
			return err
		}
		rg.Columns = append(rg.Columns, cc)
		rg.TotalByteSize += cc.MetaData.TotalUncompressedSize
		rg.TotalCompressedSize += cc.MetaData.TotalCompressedSize
		cis[i], ois[i] = c.index()
		c.resetChunk()
	}
	if w.err != nil {
		return w.err
	}
	w.rowGroups = append(w.rowGroups, rg)
	w.colIndex = append(w.colIndex, cis)
	w.offIndex = append(w.offIndex, ois)
	return nil
}

// Close flushes pending rows and writes the page index and the footer. The file is complete
// (and well-formed with no rows at all).
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	w.closed = true
	if w.offset == 0 {
		w.write([]byte("PAR1"))
	}
	enc := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&w.hdr))
	encode := func(v any) (int64, int32, error) {
		w.hdr.Reset()
		if err := enc.Encode(v); err != nil {
			return 0, 0, fmt.Errorf("pqwrite: encode footer: %w", err)
		}
		off := w.offset
		w.write(w.hdr.Bytes())
		return off, int32(w.hdr.Len()), w.err
	}
	for g := range w.rowGroups {
		for c := range w.rowGroups[g].Columns {
			off, n, err := encode(&w.colIndex[g][c])
			if err != nil {
				return err
			}
			w.rowGroups[g].Columns[c].ColumnIndexOffset, w.rowGroups[g].Columns[c].ColumnIndexLength = off, n
		}
	}
	for g := range w.rowGroups {
		for c := range w.rowGroups[g].Columns {
			off, n, err := encode(&w.offIndex[g][c])
			if err != nil {
				return err
			}
			w.rowGroups[g].Columns[c].OffsetIndexOffset, w.rowGroups[g].Columns[c].OffsetIndexLength = off, n
		}
	}
	md := format.FileMetaData{
		Version:      2, // as parquet-go: format version 2 (data pages v2)
		Schema:       w.schema.elements,
		RowGroups:    w.rowGroups,
		CreatedBy:    w.opts.CreatedBy,
		ColumnOrders: w.schema.orders,
	}
	for _, g := range w.rowGroups {
		md.NumRows += g.NumRows
	}
	for k, v := range w.opts.KeyValueMetadata {
		md.KeyValueMetadata = append(md.KeyValueMetadata, format.KeyValue{Key: k, Value: v})
	}
	slices.SortFunc(md.KeyValueMetadata, func(a, b format.KeyValue) int { return strings.Compare(a.Key, b.Key) })
	_, n, err := encode(&md)
	if err != nil {
		return err
	}
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(n))
	copy(tail[4:], "PAR1")
	w.write(tail[:])
	w.rowGroups, w.colIndex, w.offIndex = nil, nil, nil
	if w.err == nil && w.cols != nil {
		// Every column is at the start of a chunk with an empty page: ready for another file.
		w.putColumns()
	}
	return w.err
}

// Column writes the values of one leaf column.
type Column struct {
	// What every value touches comes first, in as few cache lines as it fits: a row of a wide
	// table visits every column once, so the lines a value touches, not its instructions, are
	// most of its cost (the leaf's levels and kind are copied here for that reason).

	w *Writer
	// The page in progress: levels one byte per value, values PLAIN-encoded (booleans one byte
	// each until the page is cut) or as dictionary indexes.
	rep, def   []byte
	ids        []int32
	vals       []byte
	dict       *dictionary
	pageValues int
	pageNulls  int
	pageRows   int
	rows       int64 // in the chunk
	dictRaw    int   // PLAIN size of the values dictionary-encoded in the chunk, until checked
	// cut is the page size at which a row start takes startRow's slow path; slow sends it there
	// whatever the size, set where a dictionary condition may have become true (idsDue indexes
	// in the page, a dictionary past dictMax bytes), so that a row start is one compare.
	cut      int
	idsDue   int
	dictMax  int
	kind     parquet.Kind
	maxRep   byte
	maxDef   byte
	slow     bool
	pageDict bool // the page's values are dictionary indexes
	fallback bool // the dictionary outgrew DictionaryMaxBytes or did not pay: the rest of the chunk is PLAIN
	unsign   bool // INT64 compared unsigned
	pb       bounds

	idx  int
	leaf *leaf

	// The rest of the chunk in progress: its encoded data pages, dictionary, statistics and page index.
	data       []byte
	noDict     bool // the dictionary did not pay on the chunk's first values: the chunk has none
	checked    bool // the chunk's dictionary was checked against DictionarySample's rule
	numValues  int64
	nulls      int64
	uncomp     int64
	comp       int64
	dictPages  int32
	plainPages int32
	deltaPages int32
	dbaPages   int32
	cb         bounds // chunk min/max
	cmin, cmax []byte // the chunk's min/max, encoded
	locs       []format.PageLocation
	nullPages  []bool
	nullCounts []int64
	minVals    [][]byte
	maxVals    [][]byte
	asc, desc  bool
	prev       bounds // the last non-null page's bounds (for the boundary order)
	prevMin    []byte
	prevMax    []byte

	scratch, body, zbuf []byte
	offs                []uint32 // DELTA_BYTE_ARRAY: the page's value offsets in zbuf
}

// bounds are the min and max of some values of a column: as integers (booleans 0/1, unsigned
// INT64 with the sign bit flipped, so that signed comparison orders them), doubles, or bytes.
type bounds struct {
	ok         bool
	imin, imax int64
	fmin, fmax float64
	bmin, bmax []byte
	// The first 8 bytes of bmin and bmax (zero-padded), big-endian, as the PLAIN byte-array
	// path sets them with the bounds: a value whose own such prefix lies strictly between them
	// lies strictly between the bounds. Where the bounds are set otherwise, pmin is MaxUint64
	// or pmax 0 (as in the zero bounds), which admits no value until both are set again.
	pmin, pmax uint64
}

func newColumn(w *Writer, i int) *Column {
	l := &w.schema.leaves[i]
	c := &Column{idx: i, leaf: l, unsign: l.unsigned && l.kind == parquet.Int64, asc: true, desc: true,
		kind: l.kind, maxRep: l.maxRep, maxDef: l.maxDef}
	if l.dict {
		c.dict = newDictionary()
	}
	c.attach(w)
	return c
}

// attach gives the column (new, or from the schema's pool) to w, whose options may differ from
// those of the writer it last served.
func (c *Column) attach(w *Writer) {
	c.w = w
	c.cut = w.opts.PageBytes
	c.dictMax = w.opts.DictionaryMaxBytes
	c.setIDsDue()
}

// setIDsDue sets how many dictionary indexes a page holds when DictionarySample's check is due.
func (c *Column) setIDsDue() {
	c.idsDue = math.MaxInt
	if s := c.w.opts.DictionarySample; s > 0 && !c.checked {
		c.idsDue = s
	}
}

func (c *Column) name() string { return strings.Join(c.leaf.path, ".") }

// pageSize estimates the page's encoded size, as parquet-go's column buffers count it
// (dictionary indexes four bytes each).
func (c *Column) pageSize() int { return len(c.rep) + len(c.def) + len(c.vals) + 4*len(c.ids) }

// WriteRowValues appends whole rows of values (the first value of each row has repetition level
// 0) and returns the number of rows. A data page is cut before a row when the page reached
// PageBytes.
func (c *Column) WriteRowValues(values []parquet.Value) (int, error) {
	if c.w.err != nil {
		return 0, c.w.err
	}
	n, err := c.writeRowValues(values)
	if err != nil {
		c.w.err = err // the column is mid-row: the file cannot be completed
	}
	return n, err
}

func (c *Column) writeRowValues(values []parquet.Value) (int, error) {
	if len(values) > 0 && values[0].RepetitionLevel() != 0 {
		return 0, fmt.Errorf("pqwrite: column %s: rows must start at repetition level 0", c.name())
	}
	l := c.leaf
	rows := 0
	for i := range values {
		v := &values[i]
		r := v.RepetitionLevel()
		if r == 0 {
			if err := c.startRow(); err != nil {
				return rows, err
			}
			rows++
			c.rows++
			c.pageRows++
		} else if r > int(l.maxRep) {
			return rows, fmt.Errorf("pqwrite: column %s: repetition level %d above %d", c.name(), r, l.maxRep)
		}
		d := v.DefinitionLevel()
		if l.maxRep > 0 {
			c.rep = append(c.rep, byte(r))
		}
		if l.maxDef > 0 {
			c.def = append(c.def, byte(d))
		}
		c.pageValues++
		if d != int(l.maxDef) {
			if d > int(l.maxDef) {
				return rows, fmt.Errorf("pqwrite: column %s: definition level %d above %d", c.name(), d, l.maxDef)
			}
			c.pageNulls++
			continue
		}
		if k := v.Kind(); k != l.kind {
			return rows, fmt.Errorf("pqwrite: column %s: %v value in a %v column", c.name(), k, l.kind)
		}
		switch l.kind {
		case parquet.ByteArray:
			c.byteArray(v.ByteArray())
		case parquet.Int64:
			c.int64(v.Int64())
		case parquet.Int32:
			c.int32(v.Int32())
		case parquet.Double:
			c.double(v.Double())
		case parquet.Boolean:
			c.boolean(v.Boolean())
		}
	}
	return rows, nil
}

// startRow cuts the page before a row when it is full, and ends the chunk's dictionary when it
// outgrew DictionaryMaxBytes or does not pay (see DictionarySample).
func (c *Column) startRow() error {
	if !c.rowDue() {
		return nil
	}
	return c.startRowSlow()
}

// rowDue says whether a row start has work to do (startRowSlow): the page reached its cut, or a
// dictionary condition may have become true. It is the one compare a row start costs otherwise.
func (c *Column) rowDue() bool { return c.pageSize() >= c.cut || c.slow }

func (c *Column) startRowSlow() error {
	err := c.cutRow()
	// What the next row start must look at again: a dictionary checked here may still be past
	// DictionaryMaxBytes.
	c.slow = c.dict != nil && !c.fallback && (len(c.ids) >= c.idsDue || c.dict.size > c.dictMax)
	return err
}

func (c *Column) cutRow() error {
	opts := &c.w.opts
	if c.pageRows > 0 && c.pageSize() >= opts.PageBytes {
		if err := c.flushPage(); err != nil {
			return err
		}
	}
	if c.dict == nil || c.fallback {
		return nil
	}
	if !c.checked && len(c.ids) >= opts.DictionarySample && opts.DictionarySample > 0 {
		c.checkDictionary()
		return nil
	}
	if c.dict.size > opts.DictionaryMaxBytes {
		if err := c.flushPage(); err != nil {
			return err
		}
		c.fallback = true
	}
	return nil
}

// checkDictionary applies DictionarySample's rule to the chunk's values so far, all in the page
// in progress; when the dictionary does not pay they are re-encoded PLAIN and the chunk will
// have no dictionary. (The dictionary's entries stay until the chunk ends: the page's bounds
// point into them.)
func (c *Column) checkDictionary() {
	c.checked = true
	c.idsDue = math.MaxInt
	if c.dictPages > 0 || len(c.ids) == 0 {
		return
	}
	d := c.dict
	idBytes := (len(c.ids)*bits.Len32(uint32(len(d.entries)-1)) + 7) / 8
	if d.size+idBytes < c.dictRaw {
		return
	}
	for _, id := range c.ids {
		e := d.entries[id]
		c.vals = binary.LittleEndian.AppendUint32(c.vals, uint32(len(e)))
		c.vals = append(c.vals, e...)
	}
	c.ids = c.ids[:0]
	c.pageDict = false
	c.fallback, c.noDict = true, true
}

func (c *Column) byteArray(b []byte) {
	if c.dict != nil && !c.fallback {
		c.pageDict = true
		c.dictRaw += 4 + len(b)
		d := c.dict
		id := d.lastID
		// Runs of one value are common (sorted rows, one account or region): they skip the
		// table, and the page's bounds, which the run's first value set.
		if !d.hasLast || string(b) != d.last {
			id = d.id(b, &c.pb)
			if d.size > c.dictMax {
				c.slow = true
			}
		}
		c.ids = append(c.ids, id)
		if len(c.ids) >= c.idsDue {
			c.slow = true
		}
		return
	}
	off := len(c.vals)
	c.vals = binary.LittleEndian.AppendUint32(c.vals, uint32(len(b)))
	c.vals = append(c.vals, b...)
	b = c.vals[off+4:]
	pb := &c.pb
	// Most values of a page lie inside its bounds by their first bytes: one integer compare
	// each instead of two byte compares (ids, addresses, names of a busy column).
	p := prefix8(b)
	if p > pb.pmin && p < pb.pmax {
		return
	}
	switch {
	case !pb.ok:
		pb.ok, pb.bmin, pb.bmax, pb.pmin, pb.pmax = true, b, b, p, p
	case bytes.Compare(b, pb.bmin) < 0:
		pb.bmin, pb.pmin = b, p
	case bytes.Compare(b, pb.bmax) > 0:
		pb.bmax, pb.pmax = b, p
	}
}

// prefix8 is b's first 8 bytes, zero-padded, as a big-endian integer: where those of two byte
// strings differ, the strings compare as they do (a string that ends first pads with 0, below
// any byte that a longer one has there, or equal to it, which is not a difference).
func prefix8(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.BigEndian.Uint64(b)
	}
	var x uint64
	for i := range 8 {
		x <<= 8
		if i < len(b) {
			x |= uint64(b[i])
		}
	}
	return x
}

func (c *Column) int64(x int64) {
	c.vals = binary.LittleEndian.AppendUint64(c.vals, uint64(x))
	if c.unsign {
		x ^= math.MinInt64
	}
	c.pb.int(x)
}

func (c *Column) int32(x int32) {
	c.vals = binary.LittleEndian.AppendUint32(c.vals, uint32(x))
	if c.leaf.unsigned { // only INT64's flag is in c.unsign
		c.pb.int(int64(uint32(x)))
	} else {
		c.pb.int(int64(x))
	}
}

func (c *Column) double(f float64) {
	c.vals = binary.LittleEndian.AppendUint64(c.vals, math.Float64bits(f))
	if f == f { // NaN orders nowhere: left out of min/max
		if !c.pb.ok {
			c.pb.ok, c.pb.fmin, c.pb.fmax = true, f, f
		} else {
			c.pb.fmin, c.pb.fmax = min(c.pb.fmin, f), max(c.pb.fmax, f)
		}
	}
}

func (c *Column) boolean(v bool) {
	var x byte
	if v {
		x = 1
	}
	c.vals = append(c.vals, x)
	c.pb.int(int64(x))
}

// Flat columns (no repetition) can be written a row at a time without building parquet.Values:
// WriteNull, WriteByteArray, WriteInt64 and WriteInt32 each write one row. An error (a write that
// does not fit the column, a page that failed to encode) sticks to the writer: later writes do
// nothing and Flush and Close return it.

// flatRow starts a row of a flat column holding a value (or NULL) of kind k; false when the writer
// has failed.
func (c *Column) flatRow(k parquet.Kind, null bool) bool {
	w := c.w
	if w.err != nil {
		return false
	}
	if c.leaf.maxRep != 0 || (!null && k != c.leaf.kind) || (null && c.leaf.maxDef == 0) {
		w.err = fmt.Errorf("pqwrite: column %s: a flat %v write (null %t) to a %v column (max repetition %d, definition %d)",
			c.name(), k, null, c.leaf.kind, c.leaf.maxRep, c.leaf.maxDef)
		return false
	}
	if w.err = c.startRow(); w.err != nil {
		return false
	}
	c.rows++
	c.pageRows++
	c.pageValues++
	if c.maxDef > 0 {
		d := c.maxDef
		if null {
			d = 0
		}
		c.def = append(c.def, d)
	}
	return true
}

// WriteNull writes a NULL row to an optional flat column.
func (c *Column) WriteNull() {
	if c.flatRow(parquet.ByteArray, true) {
		c.pageNulls++
	}
}

// WriteNulls writes n NULL rows to an optional flat column.
func (c *Column) WriteNulls(n int) {
	for n > 0 {
		if !c.flatRow(parquet.ByteArray, true) {
			return
		}
		c.pageNulls++
		n--
		// The rest of the run, as far as the page goes: one definition level byte per row.
		k := min(n, c.w.opts.PageBytes-c.pageSize())
		if k <= 0 {
			continue
		}
		c.def = append(c.def, make([]byte, k)...)
		c.rows += int64(k)
		c.pageRows += k
		c.pageValues += k
		c.pageNulls += k
		n -= k
	}
}

// WriteByteArray writes one row to a flat BYTE_ARRAY column.
func (c *Column) WriteByteArray(b []byte) {
	if c.flatRow(parquet.ByteArray, false) {
		c.byteArray(b)
	}
}

// WriteInt64 writes one row to a flat INT64 column.
func (c *Column) WriteInt64(x int64) {
	if c.flatRow(parquet.Int64, false) {
		c.int64(x)
	}
}

// WriteInt32 writes one row to a flat INT32 column.
func (c *Column) WriteInt32(x int32) {
	if c.flatRow(parquet.Int32, false) {
		c.int32(x)
	}
}

// Nested columns can be written a value at a time too: AppendNull and the Append methods each
// write one value with its repetition level (0 starts a row, where a page may be cut) and, for
// NULL, its definition level (a value has the column's maximum). A walk over rows (the sink's
// shredder) calls them straight from the row instead of building parquet.Values. Errors stick to
// the writer as for the flat writes; Err returns them.

// Err returns the error that failed the writer, if any.
func (c *Column) Err() error { return c.w.err }

// leveled starts a value of kind k (null: a NULL at definition level def) at repetition level
// rep; false when the writer has failed.
func (c *Column) leveled(rep, def int, k parquet.Kind, null bool) bool {
	w := c.w
	if w.err != nil {
		return false
	}
	if rep == 0 {
		if c.rowDue() {
			if w.err = c.startRowSlow(); w.err != nil {
				return false
			}
		}
		c.rows++
		c.pageRows++
	} else if uint(rep) > uint(c.maxRep) || c.rows == 0 {
		return c.fail(rep, def, k, null)
	}
	if null {
		if uint(def) >= uint(c.maxDef) {
			return c.fail(rep, def, k, null)
		}
		c.pageNulls++
	} else {
		if k != c.kind {
			return c.fail(rep, def, k, null)
		}
		def = int(c.maxDef)
	}
	if c.maxRep > 0 {
		c.rep = append(c.rep, byte(rep))
	}
	if c.maxDef > 0 {
		c.def = append(c.def, byte(def))
	}
	c.pageValues++
	return true
}

// fail fails the writer with what is wrong with a value leveled refused (out of the way of its
// fast path); false.
func (c *Column) fail(rep, def int, k parquet.Kind, null bool) bool {
	l := c.leaf
	switch {
	case rep != 0 && (rep > int(l.maxRep) || rep < 0 || c.rows == 0):
		c.w.err = fmt.Errorf("pqwrite: column %s: repetition level %d (max %d) at row %d", c.name(), rep, l.maxRep, c.rows)
	case null:
		c.w.err = fmt.Errorf("pqwrite: column %s: NULL at definition level %d (max %d)", c.name(), def, l.maxDef)
	default:
		c.w.err = fmt.Errorf("pqwrite: column %s: %v value in a %v column", c.name(), k, l.kind)
	}
	return false
}

// AppendNull writes a NULL at repetition level rep and definition level def (below the maximum).
func (c *Column) AppendNull(rep, def int) {
	if !c.plainRow(rep) || uint(def) >= uint(c.maxDef) {
		c.leveled(rep, def, 0, true)
		return
	}
	c.startValue(byte(def))
	c.pageNulls++
}

// plainRow reports whether a value at repetition level rep starts a row that needs none of
// leveled's work but its levels: most values (a call and a dozen branches less a value).
func (c *Column) plainRow(rep int) bool {
	return rep == 0 && c.w.err == nil && !c.rowDue()
}

// startValue starts a row of one value at definition level def that plainRow admitted (kind or
// level checked by the caller).
func (c *Column) startValue(def byte) {
	c.rows++
	c.pageRows++
	c.pageValues++
	if c.maxRep > 0 {
		c.rep = append(c.rep, 0)
	}
	if c.maxDef > 0 {
		c.def = append(c.def, def)
	}
}

// AppendByteArray writes a BYTE_ARRAY value at repetition level rep.
func (c *Column) AppendByteArray(rep int, b []byte) {
	if c.plainRow(rep) && c.kind == parquet.ByteArray {
		c.startValue(c.maxDef)
		c.byteArray(b)
		return
	}
	if c.leveled(rep, 0, parquet.ByteArray, false) {
		c.byteArray(b)
	}
}

// AppendInt64 writes an INT64 value at repetition level rep.
func (c *Column) AppendInt64(rep int, x int64) {
	if c.plainRow(rep) && c.kind == parquet.Int64 {
		c.startValue(c.maxDef)
		c.int64(x)
		return
	}
	if c.leveled(rep, 0, parquet.Int64, false) {
		c.int64(x)
	}
}

// AppendInt32 writes an INT32 value at repetition level rep.
func (c *Column) AppendInt32(rep int, x int32) {
	if c.plainRow(rep) && c.kind == parquet.Int32 {
		c.startValue(c.maxDef)
		c.int32(x)
		return
	}
	if c.leveled(rep, 0, parquet.Int32, false) {
		c.int32(x)
	}
}

// AppendDouble writes a DOUBLE value at repetition level rep.
func (c *Column) AppendDouble(rep int, f float64) {
	if c.leveled(rep, 0, parquet.Double, false) {
		c.double(f)
	}
}

// AppendBoolean writes a BOOLEAN value at repetition level rep.
func (c *Column) AppendBoolean(rep int, v bool) {
	if c.leveled(rep, 0, parquet.Boolean, false) {
		c.boolean(v)
	}
}

func (b *bounds) int(x int64) {
	if !b.ok {
		b.ok, b.imin, b.imax = true, x, x
		return
	}
	b.imin, b.imax = min(b.imin, x), max(b.imax, x)
}

// encodeBound appends the PLAIN encoding of a bound (byte arrays without their length).
func (c *Column) encodeBound(dst []byte, b *bounds, isMax bool) []byte {
	switch c.leaf.kind {
	case parquet.ByteArray:
		if isMax {
			return append(dst, b.bmax...)
		}
		return append(dst, b.bmin...)
	case parquet.Double:
		f := b.fmin
		if isMax {
			f = b.fmax
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	}
	x := b.imin
	if isMax {
		x = b.imax
	}
	switch c.leaf.kind {
	case parquet.Int64:
		if c.unsign {
			x ^= math.MinInt64
		}
		return binary.LittleEndian.AppendUint64(dst, uint64(x))
	case parquet.Int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(x))
	}
	return append(dst, byte(x)) // boolean
}

// cmpMin, cmpMax compare the min (max) of a with that of b.
func (c *Column) cmpMin(a, b *bounds) int {
	switch c.leaf.kind {
	case parquet.ByteArray:
		return bytes.Compare(a.bmin, b.bmin)
	case parquet.Double:
		return cmpFloat(a.fmin, b.fmin)
	}
	return cmpInt(a.imin, b.imin)
}

func (c *Column) cmpMax(a, b *bounds) int {
	switch c.leaf.kind {
	case parquet.ByteArray:
		return bytes.Compare(a.bmax, b.bmax)
	case parquet.Double:
		return cmpFloat(a.fmax, b.fmax)
	}
	return cmpInt(a.imax, b.imax)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// flushPage encodes, compresses and appends the page in progress to the chunk.
func (c *Column) flushPage() error {
	if c.pageValues == 0 {
		return nil
	}
	if c.pageDict && !c.checked && c.w.opts.DictionarySample > 0 {
		c.checkDictionary()
	}
	l := c.leaf
	var err error
	lv := c.scratch[:0]
	if l.maxRep > 0 {
		e := rle.Encoding{BitWidth: bitWidth(l.maxRep)}
		if lv, err = e.EncodeLevels(lv, c.rep); err != nil {
			return fmt.Errorf("pqwrite: column %s: repetition levels: %w", c.name(), err)
		}
	}
	repLen := len(lv)
	if l.maxDef > 0 {
		e := rle.Encoding{BitWidth: bitWidth(l.maxDef)}
		var dl []byte
		if dl, err = e.EncodeLevels(c.body[:0], c.def); err != nil {
			return fmt.Errorf("pqwrite: column %s: definition levels: %w", c.name(), err)
		}
		lv = append(lv, dl...)
		c.body = dl
	}
	c.scratch = lv
	encoding := format.Plain
	body := c.vals
	compressed := false
	switch {
	case c.pageDict:
		encoding = format.RLEDictionary
		// The bit width is the page's largest index's, as rle.DictionaryEncoding finds it, but
		// known from the dictionary without a pass over the indexes. The encoding overwrites
		// its dst from the start, so the indexes go to zbuf (free until the page is compressed)
		// and after the width byte.
		width := bits.Len32(uint32(c.dict.pageMax))
		e := rle.Encoding{BitWidth: width}
		if c.zbuf, err = e.EncodeInt32(c.zbuf[:0], c.ids); err != nil {
			return fmt.Errorf("pqwrite: column %s: dictionary indexes: %w", c.name(), err)
		}
		c.body = append(append(c.body[:0], byte(width)), c.zbuf...)
		body = c.body
	case l.kind == parquet.Boolean:
		c.body = packBits(c.body[:0], c.vals)
		body = c.body
	case l.kind == parquet.Int64 || l.kind == parquet.Int32:
		var useDelta bool
		if useDelta, compressed, err = c.chooseDelta(); err != nil {
			return err
		}
		if useDelta {
			encoding = format.DeltaBinaryPacked
			if c.body, err = c.encodeDelta(c.body[:0], c.vals); err != nil {
				return err
			}
			body = c.body
		}
	case l.kind == parquet.ByteArray && (c.noDict || l.delta):
		// A column of ids (tagged delta), or a chunk whose values were mostly distinct on its
		// first ones (its dictionary did not pay): ids, as a rule, as random as their length
		// prefixes are alike. PLAIN, zstd spends its time matching the prefixes (and an id's
		// fixed start) between values it can only entropy-code; DELTA_BYTE_ARRAY (what
		// parquet-mr's v2 writer falls back to from a dictionary) stores each value's prefix
		// shared with the one before and its length bit-packed, and the rest back to back, which
		// zstd codes about as small, or smaller, in a third of the time (Resolver's source ids:
		// 1.68 -> 1.62 MB, 31 -> 9 ms a run).
		encoding = format.DeltaByteArray
		c.zbuf, c.offs = c.zbuf[:0], append(c.offs[:0], 0)
		for v := c.vals; len(v) >= 4; {
			n := int(binary.LittleEndian.Uint32(v))
			c.zbuf = append(c.zbuf, v[4:4+n]...)
			c.offs = append(c.offs, uint32(len(c.zbuf)))
			v = v[4+n:]
		}
		var e delta.ByteArrayEncoding
		if c.body, err = e.EncodeByteArray(c.body[:0], c.zbuf, c.offs); err != nil {
			return fmt.Errorf("pqwrite: column %s: delta byte array encoding: %w", c.name(), err)
		}
		body = c.body
	}
	uncompressed := len(lv) + len(body)
	if compressed {
		body = c.zbuf // chooseDelta compressed the whole page PLAIN, and PLAIN won
	} else if c.w.codec != nil {
		if c.zbuf, err = c.w.codec.Encode(c.zbuf[:0], body); err != nil {
			return fmt.Errorf("pqwrite: column %s: compress page: %w", c.name(), err)
		}
		body = c.zbuf
	}
	crc := crc32.Update(crc32.ChecksumIEEE(lv), crc32.IEEETable, body)
	h := format.PageHeader{
		Type:                 format.DataPageV2,
		UncompressedPageSize: int32(uncompressed),
		CompressedPageSize:   int32(len(lv) + len(body)),
		CRC:                  int32(crc),
		DataPageHeaderV2: thrift.New(format.DataPageHeaderV2{
			NumValues:                  int32(c.pageValues),
			NumNulls:                   int32(c.pageNulls),
			NumRows:                    int32(c.pageRows),
			Encoding:                   encoding,
			DefinitionLevelsByteLength: int32(len(lv) - repLen),
			RepetitionLevelsByteLength: int32(repLen),
			IsCompressed:               thrift.New(c.w.codec != nil),
		}),
	}
	hb, err := c.w.encodeHeader(&h)
	if err != nil {
		return err
	}
	c.locs = append(c.locs, format.PageLocation{
		Offset:             int64(len(c.data)), // within the chunk's data pages until written
		CompressedPageSize: int32(len(hb) + len(lv) + len(body)),
		FirstRowIndex:      c.rows - int64(c.pageRows),
	})
	c.data = append(c.data, hb...)
	c.data = append(c.data, lv...)
	c.data = append(c.data, body...)
	c.uncomp += int64(len(hb) + uncompressed)
	c.comp += int64(len(hb) + len(lv) + len(body))
	switch encoding {
	case format.RLEDictionary:
		c.dictPages++
	case format.DeltaBinaryPacked:
		c.deltaPages++
	case format.DeltaByteArray:
		c.dbaPages++
	default:
		c.plainPages++
	}
	c.numValues += int64(c.pageValues)
	c.nulls += int64(c.pageNulls)
	c.indexPage()
	c.rep, c.def, c.vals, c.ids = c.rep[:0], c.def[:0], c.vals[:0], c.ids[:0]
	c.pageValues, c.pageNulls, c.pageRows, c.pageDict = 0, 0, 0, false
	c.pb = bounds{}
	if c.dict != nil {
		c.dict.nextPage()
	}
	return nil
}

// deltaSample is how many bytes of a page's PLAIN integers chooseDelta compresses to learn what
// the codec makes of them.
const deltaSample = 16 << 10

// chooseDelta decides whether the page's integers are written DELTA_BINARY_PACKED rather than
// PLAIN. A page whose integers never decrease (the sort key: a row group's time column) always
// is: small deltas, smaller than the codec makes of PLAIN, at a tenth of its time. Other pages are
// decided on their first deltaSample bytes: the codec's output for them PLAIN against their
// DELTA_BINARY_PACKED encoding (which zstd barely shrinks: bit-packed, it is short of byte
// patterns to match). zstd over PLAIN integers is slow (~110 MB/s: a match every few bytes
// between the zero high bytes) and delta encoding plus zstd over its output takes a fifth of
// that, so delta is taken while it is at most 5/4 of PLAIN's size: random small values (a row's
// index in its object, after the time sort; source ports; byte counts; end times) go delta,
// values that repeat (destination ports, packet counts), whose repeats zstd codes in a few bits,
// stay PLAIN, and so do values that delta does not make clearly smaller than PLAIN (random 64-bit
// ones: it would only add its own pass; with no codec, that is the whole rule). Where the sample is the whole page and PLAIN wins, its compressed form is the
// page's (compressed true, in zbuf).
func (c *Column) chooseDelta() (useDelta, compressed bool, err error) {
	if len(c.vals) == 0 {
		return false, false, nil
	}
	if c.ascending() {
		return true, false, nil
	}
	if c.w.opts.intsPlain {
		return false, false, nil
	}
	n := min(len(c.vals), deltaSample)
	sample := c.vals[:n]
	if c.body, err = c.encodeDelta(c.body[:0], sample); err != nil {
		return false, false, err
	}
	deltaBytes, plainBytes := len(c.body), len(sample)
	if codec := c.w.codec; codec != nil {
		if c.zbuf, err = codec.Encode(c.zbuf[:0], sample); err != nil {
			return false, false, fmt.Errorf("pqwrite: column %s: compress page sample: %w", c.name(), err)
		}
		plainBytes = len(c.zbuf)
	}
	if 4*deltaBytes <= 5*plainBytes && 4*deltaBytes <= 3*n {
		return true, false, nil
	}
	return false, c.w.codec != nil && n == len(c.vals), nil
}

// encodeDelta appends the DELTA_BINARY_PACKED encoding of PLAIN integers of the column's kind.
func (c *Column) encodeDelta(dst, vals []byte) ([]byte, error) {
	var e delta.BinaryPackedEncoding
	var err error
	if c.leaf.kind == parquet.Int64 {
		dst, err = e.EncodeInt64(dst, intsOf[int64](vals))
	} else {
		dst, err = e.EncodeInt32(dst, intsOf[int32](vals))
	}
	if err != nil {
		return dst, fmt.Errorf("pqwrite: column %s: delta encoding: %w", c.name(), err)
	}
	return dst, nil
}

// ascending reports whether the page's integers never decrease.
func (c *Column) ascending() bool {
	if c.leaf.kind == parquet.Int64 {
		return nonDecreasing(intsOf[int64](c.vals))
	}
	return nonDecreasing(intsOf[int32](c.vals))
}

// nonDecreasing reports whether xs holds two or more values, none below the one before.
func nonDecreasing[T int32 | int64](xs []T) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] {
			return false
		}
	}
	return len(xs) > 1
}

// intsOf views a page's PLAIN integers (little-endian, as the machine's) as a slice of them.
func intsOf[T int32 | int64](vals []byte) []T {
	var x T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(vals))), len(vals)/int(unsafe.Sizeof(x)))
}

// indexPage adds the page just written to the column index and the chunk's statistics.
func (c *Column) indexPage() {
	pb := &c.pb
	c.nullPages = append(c.nullPages, !pb.ok)
	c.nullCounts = append(c.nullCounts, int64(c.pageNulls))
	if !pb.ok {
		c.minVals = append(c.minVals, []byte{})
		c.maxVals = append(c.maxVals, []byte{})
		return
	}
	limit := c.w.opts.ColumnIndexSizeLimit
	mn := c.encodeBound(nil, pb, false)
	mx := c.encodeBound(nil, pb, true)
	if c.leaf.kind == parquet.ByteArray {
		if len(mn) > limit {
			mn = mn[:limit:limit]
		}
		if len(mx) > limit {
			mx = mx[:limit:limit]
			incrementBytes(mx)
		}
	}
	c.minVals = append(c.minVals, mn)
	c.maxVals = append(c.maxVals, mx)
	if c.prev.ok {
		if c.cmpMin(&c.prev, pb) > 0 || c.cmpMax(&c.prev, pb) > 0 {
			c.asc = false
		}
		if c.cmpMin(&c.prev, pb) < 0 || c.cmpMax(&c.prev, pb) < 0 {
			c.desc = false
		}
	}
	// Chunk statistics: the page's bounds, copied where they are new extremes (page bounds of
	// byte arrays point into page buffers that are reused).
	if !c.cb.ok || c.cmpMin(pb, &c.cb) < 0 {
		c.cmin = c.encodeBound(c.cmin[:0], pb, false)
		c.cb.imin, c.cb.fmin = pb.imin, pb.fmin
		c.cb.bmin = c.cmin
	}
	if !c.cb.ok || c.cmpMax(pb, &c.cb) > 0 {
		c.cmax = c.encodeBound(c.cmax[:0], pb, true)
		c.cb.imax, c.cb.fmax = pb.imax, pb.fmax
		c.cb.bmax = c.cmax
	}
	c.cb.ok = true
	// The previous page's bounds, for the boundary order: byte arrays copied.
	c.prevMin = append(c.prevMin[:0], pb.bmin...)
	c.prevMax = append(c.prevMax[:0], pb.bmax...)
	c.prev = *pb
	c.prev.bmin, c.prev.bmax = c.prevMin, c.prevMax
}

// keepBytes is the largest buffer a column keeps between chunks.
const keepBytes = 1 << 20

func trim(b []byte) []byte {
	if cap(b) > keepBytes {
		return nil
	}
	return b[:0]
}

// incrementBytes makes a truncated max an upper bound again (parquet-mr's BinaryTruncator).
func incrementBytes(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
	for i := range b {
		b[i] = 0xff
	}
}

// packBits packs booleans (one byte each, 0 or 1) LSB first: PLAIN booleans.
func packBits(dst, src []byte) []byte {
	for i := 0; i < len(src); i += 8 {
		var x byte
		for j, b := range src[i:min(i+8, len(src))] {
			x |= b << j
		}
		dst = append(dst, x)
	}
	return dst
}

// writeChunk writes the column's chunk (dictionary page, then data pages) to the file.
func (c *Column) writeChunk() (format.ColumnChunk, error) {
	w := c.w
	l := c.leaf
	md := format.ColumnMetaData{
		Type:         format.Type(l.kind),
		PathInSchema: l.path,
		Codec:        format.Uncompressed,
		NumValues:    c.numValues,
	}
	if w.codec != nil {
		md.Codec = w.codec.CompressionCodec()
	}
	md.Encoding = append(md.Encoding, format.Plain)
	if l.maxDef > 0 || l.maxRep > 0 {
		md.Encoding = append(md.Encoding, format.RLE)
	}
	if c.dict != nil && !c.noDict {
		md.Encoding = append(md.Encoding, format.RLEDictionary)
		md.DictionaryPageOffset = w.offset
		if err := c.writeDictionaryPage(&md); err != nil {
			return format.ColumnChunk{}, err
		}
	}
	if c.deltaPages > 0 {
		md.Encoding = append(md.Encoding, format.DeltaBinaryPacked)
	}
	if c.dbaPages > 0 {
		md.Encoding = append(md.Encoding, format.DeltaByteArray)
	}
	md.DataPageOffset = w.offset
	for i := range c.locs {
		c.locs[i].Offset += w.offset
	}
	w.write(c.data)
	md.TotalUncompressedSize += c.uncomp
	md.TotalCompressedSize += c.comp
	if c.plainPages > 0 {
		md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DataPageV2, Encoding: format.Plain, Count: c.plainPages})
	}
	if c.dictPages > 0 {
		md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DataPageV2, Encoding: format.RLEDictionary, Count: c.dictPages})
	}
	if c.deltaPages > 0 {
		md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DataPageV2, Encoding: format.DeltaBinaryPacked, Count: c.deltaPages})
	}
	if c.dbaPages > 0 {
		md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DataPageV2, Encoding: format.DeltaByteArray, Count: c.dbaPages})
	}
	md.Statistics.NullCount = c.nulls
	if c.cb.ok {
		// Never nil: an empty min or max (the empty string) is a bound, and a nil one is left out
		// of the footer (a fresh column's buffer is nil, a pooled one's is not).
		md.Statistics.MinValue = append(make([]byte, 0, len(c.cmin)), c.cmin...)
		md.Statistics.MaxValue = append(make([]byte, 0, len(c.cmax)), c.cmax...)
	}
	return format.ColumnChunk{MetaData: md}, w.err
}

func (c *Column) writeDictionaryPage(md *format.ColumnMetaData) error {
	w := c.w
	d := c.dict
	body := d.page(c.body[:0])
	c.body = body
	uncompressed := len(body)
	if w.codec != nil {
		var err error
		if c.zbuf, err = w.codec.Encode(c.zbuf[:0], body); err != nil {
			return fmt.Errorf("pqwrite: column %s: compress dictionary page: %w", c.name(), err)
		}
		body = c.zbuf
	}
	h := format.PageHeader{
		Type:                 format.DictionaryPage,
		UncompressedPageSize: int32(uncompressed),
		CompressedPageSize:   int32(len(body)),
		CRC:                  int32(crc32.ChecksumIEEE(body)),
		DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: int32(len(d.entries)), Encoding: format.Plain}),
	}
	hb, err := w.encodeHeader(&h)
	if err != nil {
		return err
	}
	w.write(hb)
	w.write(body)
	md.TotalUncompressedSize += int64(len(hb) + uncompressed)
	md.TotalCompressedSize += int64(len(hb) + len(body))
	md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DictionaryPage, Encoding: format.Plain, Count: 1})
	return w.err
}

// index returns the chunk's column index and offset index.
func (c *Column) index() (format.ColumnIndex, format.OffsetIndex) {
	order := format.Unordered
	switch {
	case c.asc:
		order = format.Ascending
	case c.desc:
		order = format.Descending
	}
	ci := format.ColumnIndex{
		NullPages:     c.nullPages,
		MinValues:     c.minVals,
		MaxValues:     c.maxVals,
		BoundaryOrder: order,
		NullCounts:    c.nullCounts,
	}
	return ci, format.OffsetIndex{PageLocations: c.locs}
}

// resetChunk starts a new chunk; the page index slices now belong to the writer.
func (c *Column) resetChunk() {
	c.rows, c.numValues, c.nulls, c.uncomp, c.comp = 0, 0, 0, 0, 0
	// Buffers are kept for the next chunk up to a page's size or so: a writer between row groups
	// (a file kept open across spills) should not hold its largest chunk per column.
	c.data = trim(c.data)
	c.vals, c.body, c.zbuf, c.scratch = trim(c.vals), trim(c.body), trim(c.zbuf), trim(c.scratch)
	if cap(c.offs) > keepBytes/4 {
		c.offs = nil
	}
	c.fallback, c.noDict, c.checked, c.dictRaw = false, false, false, 0
	c.slow = false
	c.setIDsDue()
	if c.dict != nil {
		c.dict.reset()
	}
	c.dictPages, c.plainPages, c.deltaPages, c.dbaPages = 0, 0, 0, 0
	c.cb, c.prev = bounds{}, bounds{}
	c.asc, c.desc = true, true
	c.locs, c.nullPages, c.nullCounts, c.minVals, c.maxVals = nil, nil, nil, nil, nil
}
