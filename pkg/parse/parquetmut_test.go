package parse

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// TestParquetMutations corrupts real Parquet flow logs byte by byte: whatever parquet-go makes of
// them, the decoder ends with records, an *Error or io.EOF, and never panics.
func TestParquetMutations(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(samples.Samples(t, "vpcflow"), "*", "*.parquet"))
	if len(paths) == 0 {
		t.Fatal("no Parquet samples")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 120; i++ {
			data := append([]byte(nil), orig...)
			for j := 0; j < 1+rng.IntN(8); j++ {
				data[4+rng.IntN(len(data)-8)] = byte(rng.IntN(256))
			}
			dec, err := NewDecoder(Object{Bucket: "b", Key: p, Source: SourceVPCFlow}, bytes.NewReader(data), fuzzOpts)
			if err != nil {
				if !IsPoison(err) {
					t.Fatalf("mutation %d of %s: %v is not an *Error", i, p, err)
				}
				continue
			}
			fuzzDrain(t, dec, nil)
		}
	}
}
