package sink

import (
	"fmt"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

type segRow struct {
	T time.Time `parquet:"t,timestamp(millisecond)"`
	S string    `parquet:"s,optional"`
}

// TestSegmentsEncodeInOrder: the inputs joining a shared partition keep their rows where they were
// staged (one segment each); an encoded batch is one row group sorted across the segments, and the
// segments' slices are cleared when given back, so the rows' strings are not kept by the pool.
func TestSegmentsEncodeInOrder(t *testing.T) {
	def := NewTable[segRow](TableSpec{Name: "seg"})
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	shared := def.newRows().(*rowsOf[segRow])
	var staged [][]segRow
	const inputs, per = 4, 50
	for i := range inputs {
		in := &Input{id: fmt.Sprintf("in%d", i)}
		st := &rowsOf[segRow]{def: def}
		for j := range per {
			// Input i holds times i, i+inputs, i+2*inputs…: every segment interleaves with the others.
			ts := base.Add(time.Duration(j*inputs+i) * time.Second)
			st.add(segRow{T: ts, S: fmt.Sprintf("row %d/%d", i, j)}, sortKey{t: ts.UnixMilli(), in: in, ord: int64(j)})
		}
		staged = append(staged, st.rows)
		shared.absorb(st)
		if st.pendingLen() != 0 {
			t.Fatalf("input %d: %d rows left behind after absorb", i, st.pendingLen())
		}
	}
	if n := shared.pendingLen(); n != inputs*per {
		t.Fatalf("pending %d rows, want %d", n, inputs*per)
	}
	if &shared.rows[0] != &staged[0][0] || len(shared.segs) != inputs-1 || &shared.segs[0].rows[0] != &staged[1][0] {
		t.Fatal("absorbed rows were copied, not handed over")
	}
	batch := shared.take()
	cfg := writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: DefaultPageBytes, rowGroupRows: 1 << 20, spoolMem: 1 << 30}
	if err := shared.encode(batch, cfg); err != nil {
		t.Fatal(err)
	}
	shared.giveBack(batch)
	for i, rows := range staged {
		for j, r := range rows[:per] {
			if r != (segRow{}) {
				t.Fatalf("input %d row %d still held after giveBack: %+v", i, j, r)
			}
		}
	}
	if err := shared.finish(cfg); err != nil {
		t.Fatal(err)
	}
	sp := shared.spool()
	ra, err := sp.readerAt()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[segRow](ra, sp.size())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != inputs*per {
		t.Fatalf("read %d rows, want %d", len(got), inputs*per)
	}
	for k, r := range got {
		i, j := k%inputs, k/inputs
		want := segRow{T: base.Add(time.Duration(k) * time.Second), S: fmt.Sprintf("row %d/%d", i, j)}
		if !r.T.Equal(want.T) || r.S != want.S {
			t.Fatalf("row %d: got %v %q, want %v %q", k, r.T, r.S, want.T, want.S)
		}
	}
}
