package ocsf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/sink"
)

type benchFile struct {
	key  string
	data []byte
}

func benchCorpus(b *testing.B) ([]benchFile, int64) {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(samples.Samples(b, "cloudtrail", "invictus-ir-aws_dataset"), "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no samples: %v", err)
	}
	var out []benchFile
	var n int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, benchFile{"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + filepath.Base(f) + ".gz", data})
		n += int64(len(data))
	}
	return out, n
}

// BenchmarkCloudTrail measures the cost this package adds to ingest on the 2,900-record invictus
// trail: "parse" (pkg/parse alone) is the baseline, "parse+map" adds FromRecord, and
// "parse+map+encode" adds the Parquet encoding of every row (one object per class).
func BenchmarkCloudTrail(b *testing.B) {
	files, size := benchCorpus(b)
	for _, stage := range []string{"parse", "parse+map", "parse+map+encode"} {
		b.Run(stage, func(b *testing.B) {
			w, _ := testWriter(b, WriterOptions{})
			b.SetBytes(size)
			b.ReportAllocs()
			records := 0
			ctx := context.Background()
			for b.Loop() {
				records = 0
				for _, f := range files {
					dec, err := parse.NewDecoder(parse.Classify("archive", f.key), bytes.NewReader(f.data), parse.Options{})
					if err != nil {
						b.Fatal(err)
					}
					in := w.s.Begin(ack.Ref{Bucket: "archive", Key: f.key, Size: -1}, nil)
					var rec parse.Record
					for {
						err := dec.Next(&rec)
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						records++
						switch stage {
						case "parse":
							continue
						case "parse+map":
							if _, err := FromRecord(&rec); err != nil {
								b.Fatal(err)
							}
							continue
						}
						// The writer core maps, stages, encodes once and uploads (one object per class
						// and partition).
						if err := w.layout.Record(ctx, in, &rec); err != nil {
							b.Fatal(err)
						}
					}
					in.End()
				}
				if err := w.s.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkEncodeSchema prices the two ways to get Security Lake's bare INT32/INT64 columns, on
// the same 6003 rows: "generic-bare-schema" (baseline) hands parquet-go Schema's annotation-free
// schema, which forces its generic row path; "fast-path+footer" (what Writer does) encodes with
// the struct's own schema and rewrites the footer.
func BenchmarkEncodeSchema(b *testing.B) {
	files, size := benchCorpus(b)
	var rows []APIActivity
	for _, f := range files {
		dec, err := parse.NewDecoder(parse.Classify("archive", f.key), bytes.NewReader(f.data), parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var rec parse.Record
		for dec.Next(&rec) == nil {
			if r, err := FromRecord(&rec); err == nil {
				if a, ok := r.(*APIActivity); ok {
					rows = append(rows, *a)
				}
			}
		}
	}
	bare, err := Schema(ClassAPIActivity)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		schema *parquet.Schema
		footer bool
	}{{"generic-bare-schema", bare, false}, {"fast-path+footer", nil, true}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				var buf bytes.Buffer
				opts := []parquet.WriterOption{parquet.PageBufferSize(sink.DefaultPageBytes)}
				if tc.schema != nil {
					opts = append(opts, tc.schema)
				}
				pw := parquet.NewGenericWriter[APIActivity](&buf, opts...)
				if _, err := pw.Write(rows); err != nil {
					b.Fatal(err)
				}
				if err := pw.Close(); err != nil {
					b.Fatal(err)
				}
				if tc.footer {
					if _, err := stripIntAnnotations(buf.Bytes(), "api_activity"); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
