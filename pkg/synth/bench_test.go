package synth_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// countWriter discards objects, counting them.
type countWriter struct{ objects, bytes atomic.Int64 }

func (c *countWriter) Put(_ context.Context, _, _ string, body []byte, _ map[string]string) error {
	c.objects.Add(1)
	c.bytes.Add(int64(len(body)))
	return nil
}

// benchOptions is sized like the archives other benchmarks need: about 2,450 objects.
func benchOptions() synth.Options {
	o := synth.DefaultOptions(99)
	o.Hours = 8
	o.EventsPerHour = 200
	return o
}

// BenchmarkGenerate measures generation speed (objects/s) against a floor measured in the same run:
// only gzip-compressing the same inflated bytes, which any generator of these objects must do.
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	// The inflated bodies of one archive, for the baseline.
	mem := newMem()
	m, err := synth.Generate(ctx, mem, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	var inflated [][]byte
	var stored int64
	for _, o := range mem.objs {
		stored += int64(len(o.body))
		zr, err := kgzip.NewReader(bytes.NewReader(o.body))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		inflated = append(inflated, raw)
	}
	objects := float64(len(m.Objects))

	b.Run("baseline-gzip-only", func(b *testing.B) {
		b.SetBytes(stored)
		var buf bytes.Buffer
		zw, _ := kgzip.NewWriterLevel(&buf, kgzip.DefaultCompression)
		for b.Loop() {
			for _, raw := range inflated {
				buf.Reset()
				zw.Reset(&buf)
				zw.Write(raw)
				zw.Close()
			}
		}
		b.ReportMetric(objects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("generate-discard", func(b *testing.B) {
		b.SetBytes(stored)
		for b.Loop() {
			var w countWriter
			if _, err := synth.Generate(ctx, &w, benchOptions()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(objects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("generate-local-store", func(b *testing.B) {
		b.SetBytes(stored)
		for b.Loop() {
			if _, err := synth.Generate(ctx, store.NewLocal(b.TempDir()), benchOptions()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(objects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}
