package pqwrite

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

type intRow struct {
	Restart int64  `parquet:"restart"`       // 0, 1, ..., k, 0, 1, ...: a record's index in its object
	Index   int64  `parquet:"index"`         // the same after a sort by time: random in [0, 183)
	Port    int32  `parquet:"port"`          // mostly one value, else random: zstd codes the repeats in bits
	Random  int64  `parquet:"random"`        // random 64-bit: neither encoding shrinks it
	Wrap    *int64 `parquet:"wrap,optional"` // small, with jumps to MinInt64 and MaxInt64 whose deltas wrap; NULLs
	Down    int32  `parquet:"down"`          // descending: negative deltas
	Edge    *int32 `parquet:"edge,optional"` // MinInt32, MaxInt32, 0 and -1 in turn; NULLs
}

func intRows(seed uint64, n int) []intRow {
	rng := rand.New(rand.NewPCG(seed, 9))
	rows := make([]intRow, n)
	edges := []int32{math.MinInt32, math.MaxInt32, 0, -1}
	k := int64(0)
	wrap := int64(math.MaxInt64 - 1_000_000)
	for i := range rows {
		r := &rows[i]
		r.Restart = k
		if k++; k > 182 || rng.IntN(200) == 0 {
			k = 0
		}
		r.Index = rng.Int64N(183)
		r.Port = 443
		if rng.IntN(10) < 3 {
			r.Port = 32768 + rng.Int32N(28232)
		}
		r.Random = int64(rng.Uint64())
		wrap += rng.Int64N(1000) // wraps (as Go's and the spec's delta arithmetic do) around row 2000
		if rng.IntN(5) > 0 {
			r.Wrap = ptr(wrap)
		}
		r.Down = int32(1_000_000 - 3*i)
		if i%7 != 0 {
			r.Edge = ptr(edges[i%4])
		}
	}
	return rows
}

// writeIntRows writes rows through the flat Column API, groupRows to a row group.
func writeIntRows(t testing.TB, rows []intRow, opts Options, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(&buf, schemaOf[intRow](t), opts)
	if err != nil {
		t.Fatal(err)
	}
	cols := w.Columns()
	for i, r := range rows {
		cols[0].WriteInt64(r.Restart)
		cols[1].WriteInt64(r.Index)
		cols[2].WriteInt32(r.Port)
		cols[3].WriteInt64(r.Random)
		if r.Wrap != nil {
			cols[4].WriteInt64(*r.Wrap)
		} else {
			cols[4].WriteNull()
		}
		cols[5].WriteInt32(r.Down)
		if r.Edge != nil {
			cols[6].WriteInt32(*r.Edge)
		} else {
			cols[6].WriteNull()
		}
		if (i+1)%groupRows == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkIntRows requires every value of rows read back by Arrow (pqarrow) and parquet-go.
func checkIntRows(t testing.TB, data []byte, rows []intRow) {
	t.Helper()
	checkReadBack(t, data, rows)
	tbl := arrowTable(t, data)
	defer tbl.Release()
	want := func(c, i int) (int64, bool) {
		r := &rows[i]
		switch c {
		case 0:
			return r.Restart, true
		case 1:
			return r.Index, true
		case 2:
			return int64(r.Port), true
		case 3:
			return r.Random, true
		case 4:
			if r.Wrap == nil {
				return 0, false
			}
			return *r.Wrap, true
		case 5:
			return int64(r.Down), true
		}
		if r.Edge == nil {
			return 0, false
		}
		return int64(*r.Edge), true
	}
	checkArrowInts(t, tbl, 7, len(rows), want)
}

// pageEncodings counts each column's data pages by encoding, from the chunks' encoding stats.
func pageEncodings(t *testing.T, data []byte) []map[format.Encoding]int32 {
	t.Helper()
	f := openParquet(t, data)
	var out []map[format.Encoding]int32
	for _, rg := range f.Metadata().RowGroups {
		for c, cc := range rg.Columns {
			if c == len(out) {
				out = append(out, map[format.Encoding]int32{})
			}
			for _, s := range cc.MetaData.EncodingStats {
				out[c][s.Encoding] += s.Count
			}
		}
	}
	return out
}

// TestIntEncodingChoice: an INT32/INT64 page is DELTA_BINARY_PACKED where that is about as small
// as the codec's PLAIN or smaller (random small values, descending values, ascending values whose
// delta wraps past MaxInt64), PLAIN where the codec does clearly better (repeats, a cycle of
// extremes) or neither shrinks the values (random 64-bit); every value reads back with Arrow and
// parquet-go, with pages of one value, uncompressed, and pages smaller than the sample. (A
// restarting index in order, 0..k 0..k', is either: zstd matches the runs.)
func TestIntEncodingChoice(t *testing.T) {
	rows := intRows(1, 20000)
	for _, tc := range []struct {
		name      string
		codec     compress.Codec
		pageBytes int
		rows      int
		group     int
		delta     []int // per column: 1 every page DELTA_BINARY_PACKED, 2 every page PLAIN, 0 either
	}{
		{"zstd", &zstd.Codec{}, 64 << 10, 20000, 9000, []int{0, 1, 2, 2, 1, 1, 2}},
		{"uncompressed", nil, 64 << 10, 20000, 9000, []int{1, 1, 1, 2, 1, 1, 2}},
		{"one value a page", &zstd.Codec{}, 1, 300, 120, nil},
		{"pages below the sample", &zstd.Codec{}, 2 << 10, 5000, 5000, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := rows[:tc.rows]
			data := writeIntRows(t, rows, Options{Codec: tc.codec, PageBytes: tc.pageBytes}, tc.group)
			checkIntRows(t, data, rows)
			checkPageIndex(t, data, max(tc.pageBytes, 16)) // a page of one value is a few times 1 byte
			encs := pageEncodings(t, data)
			for c, want := range tc.delta {
				d, p := encs[c][format.DeltaBinaryPacked], encs[c][format.Plain]
				if want == 1 && (p != 0 || d == 0) || want == 2 && (d != 0 || p == 0) {
					t.Errorf("column %d: %d DELTA_BINARY_PACKED pages, %d PLAIN; want %d", c, d, p, want)
				}
			}
		})
	}
}

// FuzzIntPages writes pages of integers built from a few random shapes (runs, steps, restarts,
// extremes, NULLs) and requires them read back by Arrow and parquet-go whichever encoding each
// page took.
func FuzzIntPages(f *testing.F) {
	f.Add(uint64(1), uint16(300), uint16(64), uint8(0))
	f.Add(uint64(2), uint16(2000), uint16(4096), uint8(3))
	f.Add(uint64(3), uint16(1), uint16(1), uint8(7))
	f.Fuzz(func(t *testing.T, seed uint64, n, pageBytes uint16, shape uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(shape)))
		rows := make([]intRow, int(n)%3000)
		extremes := []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}
		var x int64
		for i := range rows {
			switch (int(shape) + i/64) % 5 { // the shape changes every 64 rows
			case 0:
				x += rng.Int64N(3) - 1
			case 1:
				x = extremes[rng.IntN(len(extremes))]
			case 2:
				x = rng.Int64N(1000)
			case 3:
				x = int64(rng.Uint64())
			default:
				x -= rng.Int64N(1 << 40)
			}
			r := &rows[i]
			r.Restart, r.Index, r.Random = x, -x, x^int64(i)
			r.Port, r.Down = int32(x), int32(x>>32)
			if rng.IntN(4) > 0 {
				r.Wrap = ptr(x)
			}
			if rng.IntN(4) > 0 {
				r.Edge = ptr(int32(x >> 16))
			}
		}
		var codec compress.Codec
		if shape&8 == 0 {
			codec = &zstd.Codec{}
		}
		data := writeIntRows(t, rows, Options{Codec: codec, PageBytes: int(pageBytes)}, 1000)
		checkIntRows(t, data, rows)
	})
}

// BenchmarkIntPages writes integer columns shaped as the sink's (an index in an object after the
// time sort, a source port, a destination port that repeats, a byte count, an end time near the
// sorted start time) through the flat Column API with zstd and 256 KiB pages, each page
// encoding chosen ("chosen") and, the baseline, every unsorted page PLAIN ("plain"). It reports
// the file's bytes per row.
func BenchmarkIntPages(b *testing.B) {
	type row struct {
		Index, Bytes, End int64
		Src, Dst          int32
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]row, 100000)
	start := int64(1772438400000)
	for i := range rows {
		start += rng.Int64N(40)
		rows[i] = row{Index: rng.Int64N(183), Bytes: 40 + rng.Int64N(60000), End: start + 1000*rng.Int64N(60),
			Src: 1024 + rng.Int32N(64000), Dst: 443}
		if rng.IntN(10) < 3 {
			rows[i].Dst = []int32{22, 80, 3389, 5432, 8080}[rng.IntN(5)]
		}
	}
	type schemaRow struct {
		Index int64 `parquet:"index"`
		Bytes int64 `parquet:"bytes"`
		End   int64 `parquet:"end"`
		Src   int32 `parquet:"src"`
		Dst   int32 `parquet:"dst"`
	}
	sc := schemaOf[schemaRow](b)
	for _, mode := range []string{"plain", "chosen"} {
		b.Run(mode, func(b *testing.B) {
			opts := Options{Codec: &zstd.Codec{Level: zstd.SpeedFastest}, PageBytes: 256 << 10, intsPlain: mode == "plain"}
			var buf bytes.Buffer
			b.SetBytes(int64(len(rows)) * (3*8 + 2*4))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				w, err := New(&buf, sc, opts)
				if err != nil {
					b.Fatal(err)
				}
				cols := w.Columns()
				for _, r := range rows {
					cols[0].WriteInt64(r.Index)
					cols[1].WriteInt64(r.Bytes)
					cols[2].WriteInt64(r.End)
					cols[3].WriteInt32(r.Src)
					cols[4].WriteInt32(r.Dst)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/float64(len(rows)), "file-B/row")
		})
	}
}

// BenchmarkAppendInt32 appends INT32 values a value at a time (an optional column and a required
// one, as the shredder writes a port), uncompressed with every page PLAIN: the per-value cost of
// the append path alone.
func BenchmarkAppendInt32(b *testing.B) {
	type row struct {
		P *int32 `parquet:"p,optional"`
		Q int32  `parquet:"q"`
	}
	sc := schemaOf[row](b)
	const n = 200000
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		w, err := New(&buf, sc, Options{PageBytes: 256 << 10, intsPlain: true})
		if err != nil {
			b.Fatal(err)
		}
		cols := w.Columns()
		for i := range n {
			cols[0].AppendInt32(0, int32(i))
			cols[1].AppendInt32(0, int32(i*7))
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(2*n), "ns/value")
}
