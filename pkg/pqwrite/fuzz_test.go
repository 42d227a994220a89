package pqwrite

import (
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go/compress/snappy"
)

// FuzzRoundTrip writes random rows with random page, dictionary and row group sizes and reads
// them back with parquet-go (every Go value) and Arrow (every row is readable).
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), uint16(50), uint16(300), uint16(100), uint16(7))
	f.Add(uint64(2), uint16(0), uint16(0), uint16(0), uint16(1))
	f.Add(uint64(3), uint16(400), uint16(1), uint16(1), uint16(400))
	sc := testSchema(f)
	f.Fuzz(func(t *testing.T, seed uint64, n, pageBytes, dictMax, group uint16) {
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		rows := make([]testRow, int(n)%500)
		for i := range rows {
			rows[i] = randRow(rng, i)
		}
		opts := Options{Codec: &snappy.Codec{}, PageBytes: int(pageBytes), DictionaryMaxBytes: int(dictMax)}
		data := writeOurs(t, sc, rows, opts, max(int(group), 1))
		checkReadBack(t, data, rows)
		if got := arrowRows(t, data); len(got) != len(rows) {
			t.Fatalf("Arrow read %d rows, want %d", len(got), len(rows))
		}
	})
}
