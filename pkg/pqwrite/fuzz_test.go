package pqwrite

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// FuzzRoundTrip writes random rows with random page, dictionary and row group sizes and reads
// them back with parquet-go (every Go value) and Arrow (every row is readable).
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), uint16(50), uint16(300), uint16(100), uint16(7))
	f.Add(uint64(2), uint16(0), uint16(0), uint16(0), uint16(1))
	f.Add(uint64(3), uint16(400), uint16(1), uint16(1), uint16(400))
	sc, err := Compile(parquet.SchemaOf(testRow{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, seed uint64, n, pageBytes, dictMax, group uint16) {
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		rows := make([]testRow, int(n)%500)
		for i := range rows {
			rows[i] = randRow(rng, i)
		}
		opts := Options{Codec: &snappy.Codec{}, PageBytes: int(pageBytes), DictionaryMaxBytes: int(dictMax)}
		data := writeOurs(t, sc, rows, opts, max(int(group), 1))
		back, err := parquet.Read[testRow](bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != len(rows) {
			t.Fatalf("%d rows read back, want %d", len(back), len(rows))
		}
		for i := range back {
			a, _ := json.Marshal(back[i])
			b, _ := json.Marshal(rows[i])
			if !bytes.Equal(a, b) {
				t.Fatalf("row %d read back:\n%s\nwant\n%s", i, a, b)
			}
		}
		if got := arrowRows(t, data); len(got) != len(rows) {
			t.Fatalf("Arrow read %d rows, want %d", len(got), len(rows))
		}
	})
}
