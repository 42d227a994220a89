package pqwrite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

type inner struct {
	A *string  `parquet:"a,optional,dict"`
	B int32    `parquet:"b"`
	L []string `parquet:"l,optional,list"`
}

// testRow has every physical type the writer supports, NULL at every depth, lists, maps,
// dictionary and plain byte arrays, unsigned integers.
type testRow struct {
	S   string            `parquet:"s"`
	D   *string           `parquet:"d,optional,dict"`
	DR  string            `parquet:"dr,dict"`
	I32 *int32            `parquet:"i32,optional"`
	I64 int64             `parquet:"i64"`
	U64 uint64            `parquet:"u64"`
	U32 *uint32           `parquet:"u32,optional"`
	F   *float64          `parquet:"f,optional"`
	B   *bool             `parquet:"b,optional"`
	BR  bool              `parquet:"br"`
	T   time.Time         `parquet:"t,timestamp(millisecond)"`
	L   []int64           `parquet:"l,list"`
	LO  []inner           `parquet:"lo,optional,list"`
	M   map[string]string `parquet:"m,optional"`
	In  *inner            `parquet:"in,optional"`
}

func randString(rng *rand.Rand) string {
	switch rng.IntN(10) {
	case 0:
		return ""
	case 1:
		return strings.Repeat(string(rune('a'+rng.IntN(26))), 17+rng.IntN(40)) // past the index's 16 bytes
	case 2:
		return string([]byte{0xff, 0xff, byte(rng.IntN(256))}) + strings.Repeat("\xff", 20) // max's increment overflows
	}
	return fmt.Sprintf("v%d", rng.IntN(50))
}

func ptr[T any](v T) *T { return &v }

func randInner(rng *rand.Rand) inner {
	in := inner{B: rng.Int32()}
	if rng.IntN(3) > 0 {
		in.A = ptr(randString(rng))
	}
	switch rng.IntN(3) {
	case 1:
		in.L = []string{}
	case 2:
		for range rng.IntN(4) + 1 {
			in.L = append(in.L, randString(rng))
		}
	}
	return in
}

// randRows is n random rows from the generator seeded with seed.
func randRows(seed uint64, n int) []testRow {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	rows := make([]testRow, n)
	for i := range rows {
		rows[i] = randRow(rng, i)
	}
	return rows
}

// testSchema compiles testRow's schema.
func testSchema(tb testing.TB) *Schema { return schemaOf[testRow](tb) }

// schemaOf compiles the schema of T's parquet tags.
func schemaOf[T any](tb testing.TB) *Schema {
	tb.Helper()
	var zero T
	sc, err := Compile(parquet.SchemaOf(zero))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// checkReadBack reads data back with parquet-go and requires exactly rows, compared as JSON.
func checkReadBack[T any](tb testing.TB, data []byte, rows []T) {
	tb.Helper()
	back, err := parquet.Read[T](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	if len(back) != len(rows) {
		tb.Fatalf("%d rows read back, want %d", len(back), len(rows))
	}
	for i := range back {
		a, _ := json.Marshal(back[i])
		b, _ := json.Marshal(rows[i])
		if !bytes.Equal(a, b) {
			tb.Fatalf("row %d read back by parquet-go:\n%s\nwant\n%s", i, a, b)
		}
	}
}

func randRow(rng *rand.Rand, i int) testRow {
	r := testRow{
		S:   randString(rng),
		DR:  fmt.Sprintf("k%d", rng.IntN(5)),
		I64: rng.Int64() - math.MaxInt64/2,
		U64: rng.Uint64(),
		BR:  rng.IntN(2) == 0,
		T:   time.UnixMilli(1_700_000_000_000 + int64(i)*1000).UTC(),
		L:   []int64{}, // a required list: nil reads back empty
	}
	if rng.IntN(4) > 0 {
		r.D = ptr(randString(rng))
	}
	if rng.IntN(3) > 0 {
		r.I32 = ptr(int32(rng.Uint32()))
	}
	if rng.IntN(3) > 0 {
		r.U32 = ptr(rng.Uint32())
	}
	if rng.IntN(3) > 0 {
		f := rng.NormFloat64() * 1e6
		if rng.IntN(20) == 0 {
			f = -math.MaxFloat64
		}
		r.F = &f
	}
	if rng.IntN(3) > 0 {
		r.B = ptr(rng.IntN(2) == 0)
	}
	for range rng.IntN(4) {
		r.L = append(r.L, rng.Int64N(1000)-500)
	}
	switch rng.IntN(3) {
	case 1:
		r.LO = []inner{}
	case 2:
		for range rng.IntN(3) + 1 {
			r.LO = append(r.LO, randInner(rng))
		}
	}
	switch rng.IntN(3) {
	case 1:
		r.M = map[string]string{}
	case 2:
		r.M = map[string]string{}
		for range rng.IntN(4) + 1 {
			r.M[randString(rng)] = randString(rng)
		}
	}
	if rng.IntN(2) == 0 {
		r.In = ptr(randInner(rng))
	}
	return r
}

// writeOurs writes rows with pqwrite, in batches of a few rows per column call, flushing a row
// group every groupRows rows.
func writeOurs(t testing.TB, sc *Schema, rows []testRow, opts Options, groupRows int) []byte {
	t.Helper()
	return writeRows(t, sc, deconstruct(sc, rows), opts, groupRows)
}

// checkFlatFile checks a file of flat rows written through the Column API: parquet-go reads rows
// back, Arrow as many rows, and the page index is consistent with pages cut at pageBytes.
func checkFlatFile[T any](t *testing.T, data []byte, rows []T, pageBytes int) {
	t.Helper()
	checkReadBack(t, data, rows)
	if got := arrowRowsFlat(t, data); got != len(rows) {
		t.Fatalf("Arrow read %d rows", got)
	}
	checkPageIndex(t, data, pageBytes)
}

// deconstruct returns the leveled values of each row (map entries in Go's iteration order).
func deconstruct[T any](sc *Schema, rows []T) []parquet.Row {
	out := make([]parquet.Row, len(rows))
	for i := range rows {
		out[i] = sc.Parquet().Deconstruct(nil, &rows[i]).Clone()
	}
	return out
}

func writeRows(t testing.TB, sc *Schema, rows []parquet.Row, opts Options, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(&buf, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	cols := w.Columns()
	for start := 0; start < len(rows); start += groupRows {
		perCol := make([][]parquet.Value, len(cols))
		for _, vals := range rows[start:min(start+groupRows, len(rows))] {
			for _, v := range vals {
				perCol[v.Column()] = append(perCol[v.Column()], v)
			}
		}
		for ci, vs := range perCol {
			// Whole rows, a varying number per call.
			for len(vs) > 0 {
				n, rowsIn := 0, 0
				for n < len(vs) {
					if vs[n].RepetitionLevel() == 0 {
						if rowsIn == 7 {
							break
						}
						rowsIn++
					}
					n++
				}
				got, err := cols[ci].WriteRowValues(vs[:n])
				if err != nil {
					t.Fatal(err)
				}
				if got != rowsIn {
					t.Fatalf("column %d: %d rows written, want %d", ci, got, rowsIn)
				}
				vs = vs[n:]
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTheirs(t testing.TB, rows []testRow, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[testRow](&buf, parquet.Compression(&zstd.Codec{}), parquet.PageBufferSize(4<<10), parquet.DataPageStatistics(false))
	for start := 0; start < len(rows); start += groupRows {
		if _, err := w.Write(rows[start:min(start+groupRows, len(rows))]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// arrowTable reads a whole file with Arrow (pqarrow); the caller releases the table.
func arrowTable(t testing.TB, data []byte) arrow.Table {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// checkArrowInts requires Arrow's values of tbl's first cols integer columns to be want(column,
// row) (ok false: NULL), and each of those columns to hold rows values.
func checkArrowInts(t testing.TB, tbl arrow.Table, cols, rows int, want func(c, i int) (int64, bool)) {
	t.Helper()
	for c := range cols {
		i := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for j := range chunk.Len() {
				w, ok := want(c, i)
				if chunk.IsNull(j) != !ok {
					t.Fatalf("column %d row %d: Arrow NULL %t, want %t", c, i, chunk.IsNull(j), !ok)
				}
				if ok {
					var got int64
					switch a := chunk.(type) {
					case interface{ Value(int) int64 }:
						got = a.Value(j)
					case interface{ Value(int) int32 }:
						got = int64(a.Value(j))
					case interface{ Value(int) uint64 }:
						got = int64(a.Value(j))
					default:
						t.Fatalf("column %d: Arrow type %T", c, chunk)
					}
					if got != w {
						t.Fatalf("column %d row %d: Arrow read %d, want %d", c, i, got, w)
					}
				}
				i++
			}
		}
		if i != rows {
			t.Fatalf("column %d: Arrow read %d values, want %d", c, i, rows)
		}
	}
}

// arrowRows reads a file with Arrow (pqarrow) as one JSON object per row.
func arrowRows(t testing.TB, data []byte) []string {
	t.Helper()
	tbl := arrowTable(t, data)
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	var rows []string
	for tr.Next() {
		var buf bytes.Buffer
		if err := array.RecordToJSON(tr.Record(), &buf); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&buf)
		for {
			var m json.RawMessage
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, sortMaps(t, m))
		}
	}
	return rows
}

// sortMaps orders the entries of the row's map column m by key: parquet-go's Deconstruct walks a
// Go map in random order, its GenericWriter in key order.
func sortMaps(t testing.TB, raw json.RawMessage) string {
	var row map[string]any
	if err := json.Unmarshal(raw, &row); err != nil {
		t.Fatal(err)
	}
	if m, ok := row["m"].([]any); ok {
		slices.SortFunc(m, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	}
	out, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func testOptions() Options {
	return Options{
		Codec:            &zstd.Codec{},
		PageBytes:        4 << 10,
		SortingColumns:   []parquet.SortingColumn{parquet.Ascending("t")},
		CreatedBy:        "pqwrite test",
		KeyValueMetadata: map[string]string{"b": "2", "a": "1"},
	}
}

// TestRoundTrip writes the same random rows with pqwrite and with parquet-go and reads both back
// with Arrow (every value) and parquet-go (every row), and compares the chunks' statistics.
func TestRoundTrip(t *testing.T) {
	fallback := testOptions()
	fallback.DictionaryMaxBytes = 64 // chunks of dictionary pages, then PLAIN pages
	fallback.DictionarySample = -1   // (not a chunk without dictionary, as parquet-go writes none)
	plain := testOptions()
	plain.Codec = nil
	for name, opts := range map[string]Options{"zstd": testOptions(), "dictionary fallback": fallback, "uncompressed": plain} {
		t.Run(name, func(t *testing.T) { testRoundTrip(t, opts) })
	}
}

func testRoundTrip(t *testing.T, opts Options) {
	rows := randRows(1, 3000)
	sc := testSchema(t)
	const groupRows = 1100
	ours := writeOurs(t, sc, rows, opts, groupRows)
	theirs := writeTheirs(t, rows, groupRows)
	ra, rb := arrowRows(t, ours), arrowRows(t, theirs)
	if len(ra) != len(rows) || len(rb) != len(rows) {
		t.Fatalf("rows: ours %d, parquet-go %d, want %d", len(ra), len(rb), len(rows))
	}
	for i := range ra {
		if ra[i] != rb[i] {
			t.Fatalf("row %d differs:\nours       %s\nparquet-go %s", i, ra[i], rb[i])
		}
	}
	// parquet-go reads it back to the same Go values.
	checkReadBack(t, ours, rows)
	fo := openParquet(t, ours)
	ft := openParquet(t, theirs)
	mo, mt := fo.Metadata(), ft.Metadata()
	if fmt.Sprint(mo.Schema) != fmt.Sprint(mt.Schema) || fmt.Sprint(mo.ColumnOrders) != fmt.Sprint(mt.ColumnOrders) {
		t.Errorf("schema differs from parquet-go's:\n%v\n%v", mo.Schema, mt.Schema)
	}
	if len(mo.RowGroups) != 3 || len(mt.RowGroups) != 3 {
		t.Fatalf("row groups: ours %d, parquet-go %d, want 3", len(mo.RowGroups), len(mt.RowGroups))
	}
	if got := fmt.Sprint(mo.KeyValueMetadata); got != "[{a 1} {b 2}]" {
		t.Errorf("key/value metadata %s", got)
	}
	for g := range mo.RowGroups {
		if s := mo.RowGroups[g].SortingColumns; len(s) != 1 || s[0].ColumnIdx != 10 || s[0].Descending {
			t.Errorf("row group %d: sorting columns %+v", g, s)
		}
		for c := range mo.RowGroups[g].Columns {
			o, r := mo.RowGroups[g].Columns[c].MetaData, mt.RowGroups[g].Columns[c].MetaData
			name := strings.Join(o.PathInSchema, ".")
			if o.NumValues != r.NumValues {
				t.Errorf("row group %d column %s: %d values, parquet-go %d", g, name, o.NumValues, r.NumValues)
			}
			if !bytes.Equal(o.Statistics.MinValue, r.Statistics.MinValue) || !bytes.Equal(o.Statistics.MaxValue, r.Statistics.MaxValue) ||
				o.Statistics.NullCount != r.Statistics.NullCount {
				t.Errorf("row group %d column %s: statistics %+v, parquet-go %+v", g, name, o.Statistics, r.Statistics)
			}
			if opts.Codec != nil && o.Codec != r.Codec || (o.DictionaryPageOffset != 0) != (r.DictionaryPageOffset != 0) {
				t.Errorf("row group %d column %s: codec %v dictionary %v, parquet-go %v %v", g, name, o.Codec, o.DictionaryPageOffset, r.Codec, r.DictionaryPageOffset)
			}
		}
	}
	checkPageIndex(t, ours, 4<<10)
}

// checkPageIndex checks every column chunk's page index against its pages, as Arrow reads them:
// each page's values lie within the column index's min/max (before truncation), page locations
// point at the pages, and no data page is much above the page size.
func checkPageIndex(t *testing.T, data []byte, pageBytes int) {
	t.Helper()
	f := openParquet(t, data)
	multi := false
	for _, rg := range f.RowGroups() {
		for ci, cc := range rg.ColumnChunks() {
			idx, err := cc.ColumnIndex()
			if err != nil {
				t.Fatalf("column %d: column index: %v", ci, err)
			}
			oi, err := cc.OffsetIndex()
			if err != nil {
				t.Fatalf("column %d: offset index: %v", ci, err)
			}
			pages := cc.Pages()
			n := 0
			for {
				p, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("column %d page %d: %v", ci, n, err)
				}
				if n >= idx.NumPages() || n >= oi.NumPages() {
					t.Fatalf("column %d: more pages than the page index has", ci)
				}
				if p.NumNulls() != idx.NullCount(n) || (p.NumValues() == p.NumNulls()) != idx.NullPage(n) {
					t.Errorf("column %d page %d: nulls %d, index %d", ci, n, p.NumNulls(), idx.NullCount(n))
				}
				if oi.FirstRowIndex(n) < 0 {
					t.Errorf("column %d page %d: first row %d", ci, n, oi.FirstRowIndex(n))
				}
				if mn, mx, ok := p.Bounds(); ok {
					typ := f.Schema().Columns()[ci]
					leaf, _ := f.Schema().Lookup(typ...)
					ty := leaf.Node.Type()
					if ty.Kind() == parquet.ByteArray {
						imn, imx := idx.MinValue(n).ByteArray(), idx.MaxValue(n).ByteArray()
						if !bytes.HasPrefix(mn.ByteArray(), imn) || bytes.Compare(mx.ByteArray(), imx) > 0 && !bytes.HasPrefix(mx.ByteArray(), imx) {
							t.Errorf("column %d page %d: bounds %q %q, index %q %q", ci, n, mn.ByteArray(), mx.ByteArray(), imn, imx)
						}
					} else if ty.Compare(mn, idx.MinValue(n)) != 0 || ty.Compare(mx, idx.MaxValue(n)) != 0 {
						t.Errorf("column %d page %d: bounds %v %v, index %v %v", ci, n, mn, mx, idx.MinValue(n), idx.MaxValue(n))
					}
				}
				n++
				parquet.Release(p)
			}
			if n != idx.NumPages() || n != oi.NumPages() {
				t.Errorf("column %d: %d pages, column index %d, offset index %d", ci, n, idx.NumPages(), oi.NumPages())
			}
			multi = multi || n > 1
			for p := range oi.NumPages() {
				if sz := oi.CompressedPageSize(p); sz > int64(pageBytes)*4 {
					t.Errorf("column %d page %d: %d bytes", ci, p, sz)
				}
			}
		}
	}
	if !multi {
		t.Error("no column chunk with more than one page")
	}
}

type flatRow struct {
	S *string `parquet:"s,optional,dict"`
	P string  `parquet:"p"`
	I *int32  `parquet:"i,optional"`
	L int64   `parquet:"l"`
}

// TestFlatWrites writes flat columns a row at a time (WriteNull, WriteByteArray, WriteInt32,
// WriteInt64) across pages and row groups and reads them back with parquet-go and Arrow.
func TestFlatWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([]flatRow, 5000)
	for i := range rows {
		r := &rows[i]
		if rng.IntN(3) > 0 && i%1000 > 300 { // long NULL runs
			r.S = ptr(randString(rng))
		}
		r.P = randString(rng) + fmt.Sprint(i)
		if rng.IntN(3) > 0 {
			r.I = ptr(rng.Int32() - math.MaxInt32/2)
		}
		r.L = rng.Int64()
	}
	sc := schemaOf[flatRow](t)
	var buf bytes.Buffer
	w, err := New(&buf, sc, Options{Codec: &zstd.Codec{}, PageBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	cols := w.Columns()
	for start := 0; start < len(rows); start += 1700 {
		for i := start; i < min(start+1700, len(rows)); i++ {
			r := &rows[i]
			if r.S == nil && i%5 == 0 {
				// A run of NULLs in one call: as many rows as the run.
				n := 1
				for i+n < min(start+1700, len(rows)) && rows[i+n].S == nil {
					n++
				}
				cols[0].WriteNulls(n)
				for j := i; j < i+n; j++ {
					cols[1].WriteByteArray([]byte(rows[j].P))
					if rows[j].I != nil {
						cols[2].WriteInt32(*rows[j].I)
					} else {
						cols[2].WriteNull()
					}
					cols[3].WriteInt64(rows[j].L)
				}
				i += n - 1
				continue
			}
			if r.S != nil {
				cols[0].WriteByteArray([]byte(*r.S))
			} else {
				cols[0].WriteNull()
			}
			cols[1].WriteByteArray([]byte(r.P))
			if r.I != nil {
				cols[2].WriteInt32(*r.I)
			} else {
				cols[2].WriteNull()
			}
			cols[3].WriteInt64(r.L)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	checkFlatFile(t, data, rows, 2<<10)
}

func arrowRowsFlat(t *testing.T, data []byte) int {
	tbl := arrowTable(t, data)
	defer tbl.Release()
	return int(tbl.NumRows())
}

// TestFlatWriteErrors: a flat write that does not fit the column fails the file at Flush.
func TestFlatWriteErrors(t *testing.T) {
	sc := schemaOf[flatRow](t)
	for name, write := range map[string]func(cols []*Column){
		"int64 to a string column":  func(cols []*Column) { cols[0].WriteInt64(1) },
		"NULL to a required column": func(cols []*Column) { cols[1].WriteNull() },
	} {
		w, err := New(io.Discard, sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		write(w.Columns())
		if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "flat") {
			t.Errorf("%s: Flush returned %v", name, err)
		}
	}
	sc2 := testSchema(t)
	w, err := New(io.Discard, sc2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Columns()[11].WriteInt64(1) // the list column l
	if err := w.Flush(); err == nil {
		t.Error("a flat write to a list column was accepted")
	}
}

// TestHugeValues: values of several MiB, in a PLAIN and in a dictionary column (past
// DictionaryMaxBytes, so the chunk falls back to PLAIN), between small ones: each is its own
// page, the column index keeps 16 bytes of them, and everything reads back.
func TestHugeValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows := make([]testRow, 40)
	for i := range rows {
		rows[i] = randRow(rng, i)
		if i%7 == 3 {
			rows[i].S = strings.Repeat(fmt.Sprint(i%10), 3<<19)
			rows[i].D = ptr(strings.Repeat("d", 1<<20) + fmt.Sprint(i))
		}
	}
	sc := testSchema(t)
	data := writeOurs(t, sc, rows, testOptions(), 25)
	checkReadBack(t, data, rows)
	if got, want := arrowRows(t, data), arrowRows(t, writeTheirs(t, rows, 25)); !slices.Equal(got, want) {
		t.Fatal("Arrow reads other rows than from parquet-go's file")
	}
	f := openParquet(t, data)
	for _, rg := range f.RowGroups() {
		for ci, cc := range rg.ColumnChunks() {
			idx, err := cc.ColumnIndex()
			if err != nil {
				t.Fatal(err)
			}
			for p := range idx.NumPages() {
				if n := len(idx.MinValue(p).Bytes()) + len(idx.MaxValue(p).Bytes()); n > 32 {
					t.Errorf("column %d page %d: %d bytes of min/max in the column index", ci, p, n)
				}
			}
		}
	}
}

type sampleRow struct {
	ID   *string  `parquet:"id,optional,dict"` // distinct in every row: the dictionary does not pay
	Few  string   `parquet:"few,dict"`         // five values: it does
	Late *string  `parquet:"late,optional,dict"`
	L    []string `parquet:"l,list,dict"` // nested (repeated) values, distinct
}

// TestDictionarySample: a chunk whose first DictionarySample values would not shrink with a
// dictionary is written PLAIN without one (also a chunk that ends before the sample is full),
// others keep theirs; the file reads back with parquet-go and Arrow, is smaller than with every
// dictionary kept, and is the same bytes when written again.
func TestDictionarySample(t *testing.T) {
	var rows []sampleRow
	for i := range 7100 {
		r := sampleRow{Few: fmt.Sprintf("few-%d", i%5), L: []string{fmt.Sprintf("l-%d-a", i), fmt.Sprintf("l-%d-b", i)}}
		if i%10 != 3 {
			r.ID = ptr(fmt.Sprintf("%08x-4b1e-%04x", i*2654435761, i))
		}
		// Distinct for the first 2000 rows of each group of 3000, then one value: judged on
		// the sample, the chunk is PLAIN (zstd still finds the repeats).
		if i%3000 < 2000 {
			r.Late = ptr(fmt.Sprintf("late-%d", i))
		} else {
			r.Late = ptr("late")
		}
		rows = append(rows, r)
	}
	sc := schemaOf[sampleRow](t)
	prow := deconstruct(sc, rows)
	opts := testOptions()
	opts.SortingColumns = nil
	opts.PageBytes = 64 << 10
	data := writeRows(t, sc, prow, opts, 3000) // row groups of 3000, 3000 and 1100 rows
	checkReadBack(t, data, rows)
	var theirs bytes.Buffer
	w := parquet.NewGenericWriter[sampleRow](&theirs, parquet.Compression(&zstd.Codec{}))
	for start := 0; start < len(rows); start += 3000 {
		if _, err := w.Write(rows[start:min(start+3000, len(rows))]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := arrowRows(t, data), arrowRows(t, theirs.Bytes()); !slices.Equal(got, want) {
		t.Fatal("Arrow reads other rows than from parquet-go's file")
	}
	if again := writeRows(t, sc, prow, opts, 3000); !bytes.Equal(again, data) {
		t.Fatal("the same rows written twice differ")
	}
	keep := opts
	keep.DictionarySample = -1
	kept := writeRows(t, sc, prow, keep, 3000)
	if len(data) >= len(kept) {
		t.Errorf("file %d bytes, %d with every dictionary kept", len(data), len(kept))
	}
	f := openParquet(t, data)
	fk := openParquet(t, kept)
	md, mk := f.Metadata(), fk.Metadata()
	if len(md.RowGroups) != 3 {
		t.Fatalf("%d row groups, want 3", len(md.RowGroups))
	}
	wantDict := map[string]bool{"id": false, "few": true, "late": false, "l.list.element": false}
	for g, rg := range md.RowGroups {
		for c, cc := range rg.Columns {
			name := strings.Join(cc.MetaData.PathInSchema, ".")
			dict := cc.MetaData.DictionaryPageOffset != 0
			listed := slices.Contains(cc.MetaData.Encoding, format.RLEDictionary)
			if dict != wantDict[name] || listed != dict {
				t.Errorf("row group %d column %s: dictionary page %t, RLE_DICTIONARY listed %t, want %t", g, name, dict, listed, wantDict[name])
			}
			// A chunk without a dictionary (mostly distinct values) is DELTA_BYTE_ARRAY.
			dba := slices.Contains(cc.MetaData.Encoding, format.DeltaByteArray)
			for _, st := range cc.MetaData.EncodingStats {
				if st.PageType == format.DataPageV2 && (st.Encoding == format.Plain || (st.Encoding == format.DeltaByteArray) != !dict) {
					t.Errorf("row group %d column %s: %d data pages %v", g, name, st.Count, st.Encoding)
				}
			}
			if dba == dict {
				t.Errorf("row group %d column %s: DELTA_BYTE_ARRAY listed %t with a dictionary page %t", g, name, dba, dict)
			}
			k := mk.RowGroups[g].Columns[c].MetaData
			if k.DictionaryPageOffset == 0 {
				t.Errorf("row group %d column %s: no dictionary with DictionarySample -1", g, name)
			}
			if name == "id" && cc.MetaData.TotalUncompressedSize >= k.TotalUncompressedSize {
				t.Errorf("row group %d column %s: %d bytes PLAIN, %d with its dictionary", g, name, cc.MetaData.TotalUncompressedSize, k.TotalUncompressedSize)
			}
		}
	}
	checkPageIndex(t, data, opts.PageBytes)
}

// TestRowValueErrors: values that do not fit the column fail the call and the file.
func TestRowValueErrors(t *testing.T) {
	sc := schemaOf[flatRow](t)
	for name, vals := range map[string][]parquet.Value{
		"not at a row start":   {parquet.Int64Value(1).Level(1, 0, 3)},
		"repetition too high":  {parquet.Int64Value(1).Level(0, 0, 3), parquet.Int64Value(1).Level(1, 0, 3)},
		"definition too high":  {parquet.Int64Value(1).Level(0, 1, 3)},
		"kind of another type": {parquet.ByteArrayValue([]byte("x")).Level(0, 0, 3)},
	} {
		w, err := New(io.Discard, sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Columns()[3].WriteRowValues(vals); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if err := w.Close(); err == nil {
			t.Errorf("%s: Close succeeded after a failed write", name)
		}
	}
}

// appendValues writes rows a value at a time through the Append methods, as the sink's shredder
// does, flushing a row group every groupRows rows.
func appendValues(t testing.TB, sc *Schema, rows []parquet.Row, opts Options, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(&buf, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	cols := w.Columns()
	for i, vals := range rows {
		for _, v := range vals {
			c, r := cols[v.Column()], v.RepetitionLevel()
			switch {
			case v.IsNull():
				c.AppendNull(r, v.DefinitionLevel())
			case v.Kind() == parquet.ByteArray:
				c.AppendByteArray(r, v.ByteArray())
			case v.Kind() == parquet.Int64:
				c.AppendInt64(r, v.Int64())
			case v.Kind() == parquet.Int32:
				c.AppendInt32(r, v.Int32())
			case v.Kind() == parquet.Double:
				c.AppendDouble(r, v.Double())
			case v.Kind() == parquet.Boolean:
				c.AppendBoolean(r, v.Boolean())
			default:
				t.Fatalf("value %v", v)
			}
		}
		if (i+1)%groupRows == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range cols {
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAppendMatchesRowValues: a value at a time writes the very file that batches of rows
// (checked against parquet-go and Arrow by TestRoundTrip) write.
func TestAppendMatchesRowValues(t *testing.T) {
	rows := randRows(3, 3000)
	sc := testSchema(t)
	fallback := testOptions()
	fallback.DictionaryMaxBytes = 64
	fallback.DictionarySample = -1
	plain := testOptions()
	plain.Codec = nil
	for name, opts := range map[string]Options{"zstd": testOptions(), "dictionary fallback": fallback, "uncompressed": plain} {
		vals := deconstruct(sc, rows)
		b, a := writeRows(t, sc, vals, opts, 1100), appendValues(t, sc, vals, opts, 1100)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: Append wrote %d bytes, WriteRowValues %d, not the same file", name, len(a), len(b))
		}
		if n := len(arrowRows(t, a)); n != len(rows) {
			t.Errorf("%s: Arrow reads %d rows, want %d", name, n, len(rows))
		}
	}
}

// TestAppendErrors: values that do not fit the column fail the writer.
func TestAppendErrors(t *testing.T) {
	sc := testSchema(t)
	const col = 4 // i64: required, flat
	cases := map[string]func(c *Column){
		"not at a row start":               func(c *Column) { c.AppendInt64(1, 1) },
		"repetition too high":              func(c *Column) { c.AppendInt64(0, 1); c.AppendInt64(1, 1) },
		"NULL at the max definition level": func(c *Column) { c.AppendNull(0, 0) },
		"kind of another type":             func(c *Column) { c.AppendByteArray(0, []byte("x")) },
	}
	if l := sc.leaves[col]; l.kind != parquet.Int64 || l.maxRep != 0 || l.maxDef != 0 {
		t.Fatalf("column %d is %v, max levels %d %d: the cases assume a required flat INT64", col, l.kind, l.maxRep, l.maxDef)
	}
	for name, write := range cases {
		w, err := New(io.Discard, sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		write(w.Columns()[col])
		if w.Columns()[col].Err() == nil {
			t.Errorf("%s: accepted", name)
		}
		if err := w.Close(); err == nil {
			t.Errorf("%s: Close succeeded after a failed write", name)
		}
	}
}

// BenchmarkAppend writes random rows of every physical type a value at a time (zstd, 256 KiB
// pages), as the sink's shredder does: the per-value cost of the writer.
func BenchmarkAppend(b *testing.B) {
	rows := randRows(5, 20000)
	sc := testSchema(b)
	vals := deconstruct(sc, rows)
	n := 0
	for _, r := range vals {
		n += len(r)
	}
	opts := testOptions()
	opts.PageBytes = 256 << 10
	b.ReportAllocs()
	for b.Loop() {
		appendValues(b, sc, vals, opts, len(vals))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
}

// TestDictionaryIDs: indexes are given in insertion order and found again across the hash
// table's growth and after a reset, for empty, short, long and colliding-prefix values.
func TestDictionaryIDs(t *testing.T) {
	d := newDictionary()
	for round := range 2 {
		var vals []string
		for i := range 20000 {
			vals = append(vals, fmt.Sprintf("%s%d", strings.Repeat("p", i%7*100), i))
		}
		vals = append(vals, "")
		for i, v := range vals {
			if got := d.id([]byte(v), new(bounds)); got != int32(i) {
				t.Fatalf("round %d: new value %d got index %d", round, i, got)
			}
		}
		for i := len(vals) - 1; i >= 0; i -= 3 {
			if got := d.id([]byte(vals[i]), new(bounds)); got != int32(i) || d.entries[got] != vals[i] {
				t.Fatalf("round %d: value %d found at %d", round, i, got)
			}
		}
		if len(d.entries) != len(vals) {
			t.Fatalf("round %d: %d entries, want %d", round, len(d.entries), len(vals))
		}
		d.reset()
	}
}

// openParquet opens a file written in memory with parquet-go's reader.
func openParquet(t *testing.T, data []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type deltaTagRow struct {
	ID string `parquet:"id,optional,delta"` // "" is NULL
	N  int64  `parquet:"n"`
}

// TestDeltaTag: a byte-array column tagged delta (ids known to be distinct) is DELTA_BYTE_ARRAY
// from its first value, with no dictionary tried first: chunks shorter than DictionarySample too,
// which a dict-tagged column would write with a dictionary of distinct values.
func TestDeltaTag(t *testing.T) {
	var rows []deltaTagRow
	for i := range 700 {
		r := deltaTagRow{N: int64(i)}
		if i%7 != 2 {
			r.ID = fmt.Sprintf("%08x-4b1e-%04x", i*2654435761, i)
		}
		rows = append(rows, r)
	}
	sc := schemaOf[deltaTagRow](t)
	prow := deconstruct(sc, rows)
	opts := testOptions()
	opts.SortingColumns = nil
	opts.PageBytes = 4 << 10
	data := writeRows(t, sc, prow, opts, 300) // row groups of 300, 300 and 100 rows: under the sample
	checkReadBack(t, data, rows)
	md := openParquet(t, data).Metadata()
	for g, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			name := strings.Join(cc.MetaData.PathInSchema, ".")
			if name == "n" {
				continue
			}
			if cc.MetaData.DictionaryPageOffset != 0 || slices.Contains(cc.MetaData.Encoding, format.RLEDictionary) {
				t.Errorf("row group %d column %s has a dictionary", g, name)
			}
			pages := int32(0)
			for _, st := range cc.MetaData.EncodingStats {
				if st.PageType != format.DataPageV2 {
					continue
				}
				if st.Encoding != format.DeltaByteArray {
					t.Errorf("row group %d column %s: %d data pages %v", g, name, st.Count, st.Encoding)
				}
				pages += st.Count
			}
			if pages == 0 {
				t.Errorf("row group %d column %s: no DELTA_BYTE_ARRAY data page", g, name)
			}
		}
	}
}
