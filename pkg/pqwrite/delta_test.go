package pqwrite

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

type deltaRow struct {
	T  int64  `parquet:"t"`           // ascending, across the whole int64 range
	TO *int64 `parquet:"to,optional"` // ascending with NULLs, runs of equal values
	I  *int32 `parquet:"i,optional"`  // ascending int32, across the whole int32 range
	U  int64  `parquet:"u"`           // unsorted, random
	C  int32  `parquet:"c"`           // constant
	UT uint64 `parquet:"ut"`          // ascending unsigned, past MaxInt64
}

// TestDeltaPages: a page of integers that never decrease is written DELTA_BINARY_PACKED, one of
// random 64-bit integers (which neither encoding shrinks) stays PLAIN, and both Arrow and parquet-go read every value back, including deltas that
// overflow int64 (MinInt64 to MaxInt64) and pages of one value.
func TestDeltaPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows := make([]deltaRow, 6000)
	t64, t32 := int64(math.MinInt64), int32(math.MinInt32)
	var to int64 = -5
	for i := range rows {
		r := &rows[i]
		switch {
		case i == len(rows)-1:
			t64, t32 = math.MaxInt64, math.MaxInt32
		case i%2000 == 1: // a jump that overflows a delta
			t64 += math.MaxInt64 / 2
		default:
			t64 += rng.Int64N(5000)
			t32 += rng.Int32N(3)
		}
		r.T = t64
		if rng.IntN(4) > 0 {
			if rng.IntN(3) == 0 {
				to += rng.Int64N(1 << 40)
			}
			r.TO = ptr(to)
		}
		if rng.IntN(5) > 0 {
			r.I = ptr(t32)
		}
		r.U = rng.Int64()
		r.C = 42
		r.UT = uint64(i) * (math.MaxUint64 / uint64(len(rows)))
	}
	sc := schemaOf[deltaRow](t)
	var buf bytes.Buffer
	w, err := New(&buf, sc, Options{Codec: &zstd.Codec{}, PageBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	cols := w.Columns()
	for start := 0; start < len(rows); start += 2500 {
		for _, r := range rows[start:min(start+2500, len(rows))] {
			cols[0].WriteInt64(r.T)
			if r.TO != nil {
				cols[1].WriteInt64(*r.TO)
			} else {
				cols[1].WriteNull()
			}
			if r.I != nil {
				cols[2].WriteInt32(*r.I)
			} else {
				cols[2].WriteNull()
			}
			cols[3].WriteInt64(r.U)
			cols[4].WriteInt32(r.C)
			cols[5].WriteInt64(int64(r.UT))
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	checkFlatFile(t, data, rows, 4<<10)

	// Arrow's values, column by column, against the rows.
	tbl := arrowTable(t, data)
	defer tbl.Release()
	want := func(c int, i int) (int64, bool) {
		r := &rows[i]
		switch c {
		case 0:
			return r.T, true
		case 1:
			if r.TO == nil {
				return 0, false
			}
			return *r.TO, true
		case 2:
			if r.I == nil {
				return 0, false
			}
			return int64(*r.I), true
		case 3:
			return r.U, true
		case 4:
			return int64(r.C), true
		}
		return int64(r.UT), true
	}
	checkArrowInts(t, tbl, 6, len(rows), want)

	// Which encoding each column's pages took.
	f := openParquet(t, data)
	for _, rg := range f.Metadata().RowGroups {
		for c, cc := range rg.Columns {
			var delta, plain int32
			for _, s := range cc.MetaData.EncodingStats {
				switch s.Encoding {
				case format.DeltaBinaryPacked:
					delta += s.Count
				case format.Plain:
					plain += s.Count
				}
			}
			if delta == 0 && c != 3 || c == 3 && (delta != 0 || plain == 0) {
				t.Errorf("column %d: %d DELTA_BINARY_PACKED pages, %d PLAIN", c, delta, plain)
			}
			listed := false
			for _, e := range cc.MetaData.Encoding {
				listed = listed || e == format.DeltaBinaryPacked
			}
			if listed != (delta > 0) {
				t.Errorf("column %d: encodings %v with %d delta pages", c, cc.MetaData.Encoding, delta)
			}
		}
	}
}
