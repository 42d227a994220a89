package pqwrite

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestReleaseBetweenRowGroups: two files of one schema written in turns, each releasing its column
// writers after every row group (so each row group is written with the set the other file just
// released), come out byte for byte as a file written without Release, and a released writer
// holds far less than one that keeps its buffers.
func TestReleaseBetweenRowGroups(t *testing.T) {
	rows := deconstruct(testSchema(t), randRows(11, 3000))
	sc := testSchema(t)
	const groupRows = 700
	want := writeRows(t, sc, rows, testOptions(), groupRows)

	var bufs [2]bytes.Buffer
	var ws [2]*Writer
	for i := range ws {
		w, err := New(&bufs[i], sc, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	var kept, released int64
	for start := 0; start < len(rows); start += groupRows {
		for _, w := range ws {
			cols := w.Columns()
			for _, vals := range rows[start:min(start+groupRows, len(rows))] {
				perCol := make([][]parquet.Value, len(cols))
				for _, v := range vals {
					perCol[v.Column()] = append(perCol[v.Column()], v)
				}
				for ci, vs := range perCol {
					if _, err := cols[ci].WriteRowValues(vs); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			kept = max(kept, w.BufferedBytes())
			w.Release()
			released = max(released, w.BufferedBytes())
		}
	}
	for i, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bufs[i].Bytes(), want) {
			t.Errorf("file %d written with Release differs from the file written without (%d vs %d bytes)", i, bufs[i].Len(), len(want))
		}
	}
	checkReadBack(t, bufs[0].Bytes(), randRows(11, 3000))
	if released*4 > kept {
		t.Errorf("a released writer holds %d bytes, one keeping its buffers %d: want under a quarter", released, kept)
	}
	t.Logf("writer between row groups: %d bytes kept, %d released", kept, released)
}
