package parse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// flowParquetDecoder reads Parquet-delivered flow logs. Parquet keeps its index at the end of the
// file, so the object is buffered in memory first: VPC Flow Logs cap a file at 75 MB and
// Options.MaxInflatedBytes bounds it for anything else. This is the one exception to "never hold a
// whole object"; spooling to a temporary file would trade that memory for disk I/O on every Parquet
// object, which the size cap does not justify.
//
// Record.Raw is rebuilt as a text flow-log line: the row's values in the file's column order,
// space-separated, with "-" for null, so filter patterns written for text flow logs match Parquet
// ones too. Integer values are written in decimal, DOUBLE values (pandas-written files) in the
// shortest form that reads back, which for whole numbers is the integer. Flow-log values never
// contain spaces; should one, it is written (and typed) with '_' in place of each space, so the
// line keeps one token per column.
type flowParquetDecoder struct {
	badRecords
	obj    Object
	file   *parquet.File
	cols   []flowColumn // by leaf column index
	groups []parquet.RowGroup
	group  int
	rows   parquet.Rows
	buf    []parquet.Row
	n, i   int // rows in buf, next row in buf
	index  int64
	raw    []byte
	spans  []int
	slab   flowSlabs
	err    error
}

func newFlowParquetDecoder(obj Object, r io.Reader, opts Options) (d *flowParquetDecoder, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, obj.asError(err, nil, int64(len(data)))
	}
	defer func() {
		// parquet-go trusts a file's metadata more than hostile input deserves; a panic on a
		// malformed file is that file's syntax error, not ours to crash on.
		if p := recover(); p != nil {
			d, err = nil, obj.newError(ErrSyntax, -1, 0, fmt.Errorf("malformed Parquet file: %v", p))
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, obj.newError(ErrSyntax, -1, 0, fmt.Errorf("opening Parquet: %w", err))
	}
	// parquet-go sizes its buffers from the file's own claims; refuse claims past the object limit
	// before anything is read, so a hostile footer cannot make it allocate more than that.
	var claimed int64
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if sz := cc.MetaData.TotalUncompressedSize; sz > 0 {
				claimed += min(sz, opts.MaxInflatedBytes+1) // min: no overflow from absurd claims
			}
		}
	}
	if claimed > opts.MaxInflatedBytes {
		return nil, obj.newError(ErrTooLarge, -1, 0,
			fmt.Errorf("Parquet columns claim %d uncompressed bytes, past the %d-byte limit", claimed, opts.MaxInflatedBytes))
	}
	paths := f.Schema().Columns()
	cols := make([]flowColumn, len(paths))
	known := 0
	for i, p := range paths {
		if len(p) != 1 {
			return nil, obj.newError(ErrUnknownFormat, -1, 0,
				fmt.Errorf("Parquet column %v is nested: not a flow log", p))
		}
		cols[i] = flowColumn{name: p[0], field: lookupFlowField(p[0])}
		if cols[i].field != flowUnknown {
			known++
		}
	}
	if known == 0 {
		return nil, obj.newError(ErrUnknownFormat, -1, 0, errors.New("Parquet file has no flow-log columns"))
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	if dup := duplicateName(names); dup != "" {
		return nil, obj.newError(ErrSyntax, -1, 0, fmt.Errorf("Parquet flow log has two columns named %q", dup))
	}
	d = &flowParquetDecoder{obj: obj, file: f, cols: cols, groups: f.RowGroups(), buf: make([]parquet.Row, 128)}
	d.keep = opts.MaxBadRecordErrors
	return d, nil
}

func (d *flowParquetDecoder) Next(rec *Record) (err error) {
	if d.err != nil {
		return d.err
	}
	defer func() {
		if p := recover(); p != nil {
			d.err = d.obj.newError(ErrSyntax, -1, 0, fmt.Errorf("malformed Parquet file at row %d: %v", d.index, p))
			err = d.err
		}
	}()
	for {
		for d.i >= d.n {
			if err := d.nextBatch(); err != nil {
				d.err = err
				return err
			}
		}
		row := d.buf[d.i]
		d.i++
		idx := d.index
		d.index++
		fr, err := d.decodeRow(row)
		if err != nil {
			d.add(d.obj.newError(ErrBadRecord, -1, 0, fmt.Errorf("row %d: %w", idx, err)))
			continue
		}
		*rec = Record{Source: SourceVPCFlow, Index: idx, Raw: d.raw, Flow: fr}
		return nil
	}
}

func (d *flowParquetDecoder) nextBatch() error {
	d.i, d.n = 0, 0
	for {
		if d.rows == nil {
			if d.group >= len(d.groups) {
				return io.EOF
			}
			d.rows = d.groups[d.group].Rows()
			d.group++
		}
		n, err := d.rows.ReadRows(d.buf)
		d.n = n
		if err == io.EOF || (err == nil && n == 0) {
			d.rows.Close()
			d.rows = nil
			if n > 0 {
				return nil
			}
			continue
		}
		if err != nil {
			return d.obj.newError(ErrSyntax, -1, 0, fmt.Errorf("reading Parquet rows at row %d: %w", d.index, err))
		}
		return nil
	}
}

func (d *flowParquetDecoder) decodeRow(row parquet.Row) (*FlowRecord, error) {
	raw := d.raw[:0]
	spans := d.spans[:0]
	for range d.cols {
		spans = append(spans, -1, -1) // -1: the row has no value for the column
	}
	for _, v := range row {
		ci := v.Column()
		if ci < 0 || ci >= len(d.cols) {
			continue
		}
		if len(raw) > 0 {
			raw = append(raw, ' ')
		}
		start := len(raw)
		raw = appendParquetValue(raw, v)
		spans[2*ci], spans[2*ci+1] = start, len(raw)
	}
	d.raw, d.spans = raw, spans
	ls := string(raw)
	fix := !utf8.Valid(raw)
	if fix {
		d.fixed++
	}
	fr := d.slab.newRecord()
	for ci, col := range d.cols {
		s := spans[2*ci]
		if s < 0 {
			continue
		}
		v := ls[s:spans[2*ci+1]]
		if fix {
			v = validUTF8(v)
		}
		if err := setFlowField(fr, col, v); err != nil {
			return nil, err
		}
	}
	return fr, nil
}

func appendParquetValue(b []byte, v parquet.Value) []byte {
	if v.IsNull() {
		return append(b, '-')
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(b, v.Boolean())
	case parquet.Int32:
		return strconv.AppendInt(b, int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case parquet.Float:
		return appendFloat(b, float64(v.Float()))
	case parquet.Double:
		return appendFloat(b, v.Double())
	case parquet.ByteArray, parquet.FixedLenByteArray:
		s := v.ByteArray()
		if len(s) == 0 {
			return append(b, '-')
		}
		// A space inside a value would shift every later field of the rebuilt line.
		for _, ch := range s {
			if ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' {
				ch = '_'
			}
			b = append(b, ch)
		}
		return b
	}
	return append(b, '-')
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '-')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
