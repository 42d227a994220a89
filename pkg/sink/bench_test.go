package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	arrowparquet "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// The benchmarks time the write path — sort the buffered rows by time, encode, compress, write one
// Parquet file — per table, and the same rows written by Arrow's pqarrow writer as the baseline
// (rows converted to an Arrow record by reflection, then pqarrow.FileWriter with the same codec,
// dictionary encoding and statistics). MB/s is over the source records' text (what the pipeline
// read); rows/s over rows written.

type benchSet struct {
	rows  writable
	n     int
	raw   int64                                      // source text bytes
	build func(tb testing.TB) (arrow.Record, func()) // the rows, time-sorted, as an Arrow record
}

func collect[T any](rows []T, keys []sortKey) (*rowsOf[T], func(tb testing.TB) (arrow.Record, func())) {
	rs := &rowsOf[T]{def: NewTable[T](TableSpec{Name: "bench"}), rows: rows, keys: keys}
	build := func(tb testing.TB) (arrow.Record, func()) {
		perm := make([]int, len(rows))
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(a, b int) int { return compareKeys(&keys[a], &keys[b]) })
		sorted := make([]T, len(rows))
		for i, p := range perm {
			sorted[i] = rows[p]
		}
		return arrowRecord(tb, sorted)
	}
	return rs, build
}

// recordSets decodes objects with pkg/parse and converts them to rows of one table.
func benchFromObjects(tb testing.TB, bucket string, objs []sampleObject, table Table) benchSet {
	tb.Helper()
	in := &Input{id: "bench"}
	var (
		ct  []CloudTrailRow
		fl  []flowRow
		rv  []ResolverRow
		ks  []sortKey
		raw int64
	)
	for _, o := range objs {
		obj := parse.Classify(bucket, o.key)
		if obj.Source == parse.SourceDigest {
			continue
		}
		dec, err := parse.NewDecoder(obj, bytes.NewReader(o.body), parse.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatal(err)
			}
			l := Lineage{Bucket: bucket, Key: o.key, Index: rec.Index}
			var ts time.Time
			switch {
			case table == TableCloudTrail && rec.CloudTrail != nil:
				ct = append(ct, CloudTrailRowOf(l, rec.CloudTrail))
				ts = rec.CloudTrail.EventTime
			case table == TableVPCFlow && rec.Flow != nil:
				fl = append(fl, flowRowOf(l, rec.Flow))
				ts = rec.Time()
			case table == TableResolver && rec.DNS != nil:
				rv = append(rv, ResolverRowOf(l, rec.DNS))
				ts = rec.DNS.QueryTimestamp
			default:
				continue
			}
			raw += int64(len(rec.Raw))
			ks = append(ks, sortKey{t: ts.UnixMilli(), in: in, ord: int64(len(ks))})
		}
	}
	var bs benchSet
	switch table {
	case TableCloudTrail:
		bs.rows, bs.build = collect(ct, ks)
	case TableVPCFlow:
		// The sink stages flowRows; Arrow's baseline is built from the schema's struct.
		vr := make([]VPCFlowRow, len(fl))
		for i := range fl {
			vr[i] = fl[i].schemaRow()
		}
		_, bs.build = collect(vr, ks)
		bs.rows = &rowsOf[flowRow]{def: newFlowTable(TableSpec{Name: "bench"}), rows: fl, keys: ks}
	case TableResolver:
		bs.rows, bs.build = collect(rv, ks)
	}
	bs.n, bs.raw = len(ks), raw
	return bs
}

// benchSynthetic builds a table's rows: CloudTrail from the real sample corpus, flow and Resolver
// rows from a synthetic archive, findings and integrity rows shaped like the pipeline's. scale
// multiplies the synthetic volumes (1 for benchmarks; tests use less).
func benchSynthetic(tb testing.TB, table Table, scale float64) benchSet {
	tb.Helper()
	switch table {
	case TableCloudTrail:
		dir := samples.Samples(tb, "cloudtrail", "invictus-ir-aws_dataset")
		names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		var objs []sampleObject
		for _, p := range names {
			objs = append(objs, sampleObject{"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + filepath.Base(p), readSample(tb, p)})
		}
		return benchFromObjects(tb, srcBucket, objs, table)
	case TableVPCFlow, TableResolver:
		opts := synth.DefaultOptions(11)
		opts.EventsPerHour = 1
		opts.FlowRecordsPerHour = max(int(2000*scale), 1)
		opts.ResolverQueriesPerHour = max(int(1000*scale), 1)
		m, arch := generate(tb, opts)
		return benchFromObjects(tb, m.Bucket, arch.sortedObjects(m.Bucket), table)
	}
	// findings and integrity: rows shaped like the rules engine's and the verifier's output.
	in := &Input{id: "bench"}
	var ks []sortKey
	var raw int64
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	n := max(int(20000*scale), 10)
	if table == TableFindings {
		rows := make([]findingCol, n)
		for i := range rows {
			f := FindingRow{EventTime: base.Add(time.Duration(i%3600) * time.Second), Rule: fmt.Sprint("rule-", i%12),
				MetricNamespace: "LogMetrics", MetricName: fmt.Sprint("Metric", i%12), MetricValue: ptr(1.0), Source: "cloudtrail",
				Account: fmt.Sprintf("1111222233%02d", i%40), Region: "us-east-1", EventID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
				EventJSON: fmt.Sprintf(`{"eventName":"ConsoleLogin","eventTime":"2026-03-02T08:%02d:00Z","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"sourceIPAddress":"198.51.100.%d"}`, i%60, i%250),
				Lineage:   Lineage{srcBucket, fmt.Sprintf("AWSLogs/o-x/1111222233%02d/CloudTrail/us-east-1/2026/03/02/f%d.json.gz", i%40, i/50), int64(i % 50)}}
			rows[i] = findingColOf(&f)
			raw += int64(len(f.EventJSON))
			ks = append(ks, sortKey{t: f.EventTime.UnixMilli(), in: in, ord: int64(i)})
		}
		rs, build := collect(rows, ks)
		return benchSet{rows: rs, n: n, raw: raw, build: build}
	}
	rows := make([]integrityCol, n)
	for i := range rows {
		end := base.Add(time.Duration(i/100) * time.Hour)
		r := IntegrityRow{VerifiedAt: base.Add(time.Duration(i) * time.Second), DigestBucket: srcBucket,
			DigestKey:    fmt.Sprintf("AWSLogs/o-x/1111222233%02d/CloudTrail-Digest/us-east-1/2026/03/02/d%d.json.gz", i%40, i/100),
			ChainAccount: fmt.Sprintf("1111222233%02d", i%40), ChainRegion: "us-east-1", ChainTrail: "org-trail",
			ObjectBucket: srcBucket, ObjectKey: fmt.Sprintf("AWSLogs/o-x/1111222233%02d/CloudTrail/us-east-1/2026/03/02/f%d.json.gz", i%40, i),
			Status: "valid", DigestEndTime: &end}
		rows[i] = integrityColOf(&r)
		raw += sizeIntegrity(&rows[i])
		ks = append(ks, sortKey{t: r.VerifiedAt.UnixMilli(), in: in, ord: int64(i)})
	}
	rs, build := collect(rows, ks)
	return benchSet{rows: rs, n: n, raw: raw, build: build}
}

func BenchmarkWrite(b *testing.B) {
	for _, table := range Tables() {
		// Built on first use, so -bench filters skip the setup of tables they do not run.
		data := sync.OnceValue(func() benchSet { return benchSynthetic(b, table, 1) })
		cfg := writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: DefaultPageBytes, rowGroupRows: 1 << 20}
		b.Run(string(table)+"/parquet-go", func(b *testing.B) {
			bs := data()
			var out countingWriter
			b.SetBytes(bs.raw)
			b.ReportAllocs()
			m0 := mallocs()
			for b.Loop() {
				out = countingWriter{w: io.Discard}
				if err := bs.rows.write(&out, cfg); err != nil {
					b.Fatal(err)
				}
			}
			perRow(b, bs.n, m0)
			report(b, bs, out.n)
		})
		b.Run(string(table)+"/arrow-pqarrow", func(b *testing.B) {
			bs := data()
			var out countingWriter
			b.SetBytes(bs.raw)
			b.ReportAllocs()
			for b.Loop() {
				rec, release := bs.build(b)
				out = countingWriter{w: io.Discard}
				writeArrow(b, rec, &out)
				release()
			}
			report(b, bs, out.n)
		})
		b.Run(string(table)+"/arrow-pqarrow-prebuilt", func(b *testing.B) {
			bs := data()
			rec, release := bs.build(b)
			defer release()
			var out countingWriter
			b.SetBytes(bs.raw)
			b.ReportAllocs()
			for b.Loop() {
				out = countingWriter{w: io.Discard}
				writeArrow(b, rec, &out)
			}
			report(b, bs, out.n)
		})
	}
}

func report(b *testing.B, bs benchSet, outBytes int64) {
	b.ReportMetric(float64(bs.n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(outBytes)/float64(bs.raw), "out/in")
}

// perRow reports ns/row and allocs/row over the benchmark loop; start is mallocs() before it.
func perRow(b *testing.B, rows int, start uint64) {
	total := float64(rows) * float64(b.N)
	if total == 0 {
		return
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/row")
	b.ReportMetric(float64(mallocs()-start)/total, "allocs/row")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

func writeArrow(tb testing.TB, rec arrow.Record, w io.Writer) {
	props := arrowparquet.NewWriterProperties(
		arrowparquet.WithCompression(compress.Codecs.Zstd),
		arrowparquet.WithDictionaryDefault(true),
		arrowparquet.WithStats(true),
		arrowparquet.WithMaxRowGroupLength(1<<20),
		arrowparquet.WithDataPageSize(DefaultPageBytes),
	)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		tb.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
}

// arrowRecord converts rows to an Arrow record whose schema is the one pqarrow derives from the
// sink's Parquet schema, so both writers produce the same columns.
func arrowRecord[T any](tb testing.TB, rows []T) (arrow.Record, func()) {
	var zero T
	var buf bytes.Buffer
	one := &rowsOf[T]{def: NewTable[T](TableSpec{Name: "bench"}), rows: []T{zero}, keys: []sortKey{{}}}
	if err := one.write(&buf, writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: DefaultPageBytes, rowGroupRows: 1024}); err != nil {
		tb.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		tb.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	schema, err := fr.Schema()
	if err != nil {
		tb.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for _, r := range rows {
		v := reflect.ValueOf(r)
		for i := range schema.NumFields() {
			appendArrow(tb, rb.Field(i), v.Field(i), schema.Field(i).Nullable)
		}
	}
	rec := rb.NewRecord()
	return rec, rec.Release
}

var timeType = reflect.TypeOf(time.Time{})

// appendArrow appends v to b; nullable says b's field is optional, where a plain string "" is NULL
// (as the shredder writes it).
func appendArrow(tb testing.TB, b array.Builder, v reflect.Value, nullable bool) {
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			b.AppendNull()
			return
		}
		appendArrow(tb, b, v.Elem(), nullable)
	case v.Type() == timeType:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.Interface().(time.Time).UnixMilli()))
	case v.Kind() == reflect.String:
		if nullable && v.Len() == 0 {
			b.AppendNull()
			return
		}
		b.(*array.StringBuilder).Append(v.String())
	case v.Kind() == reflect.Bool:
		b.(*array.BooleanBuilder).Append(v.Bool())
	case v.Kind() == reflect.Int32:
		b.(*array.Int32Builder).Append(int32(v.Int()))
	case v.Kind() == reflect.Int64:
		b.(*array.Int64Builder).Append(v.Int())
	case v.Kind() == reflect.Float64:
		b.(*array.Float64Builder).Append(v.Float())
	case v.Kind() == reflect.Struct:
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		for i := range sb.NumField() {
			appendArrow(tb, sb.FieldBuilder(i), v.Field(i), sb.Type().(*arrow.StructType).Field(i).Nullable)
		}
	case v.Kind() == reflect.Slice:
		if v.IsNil() {
			b.AppendNull()
			return
		}
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		for i := range v.Len() {
			appendArrow(tb, lb.ValueBuilder(), v.Index(i), lb.Type().(*arrow.ListType).ElemField().Nullable)
		}
	case v.Kind() == reflect.Map:
		mb := b.(*array.MapBuilder)
		mb.Append(true)
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			mb.KeyBuilder().(*array.StringBuilder).Append(k.String())
			mb.ItemBuilder().(*array.StringBuilder).Append(v.MapIndex(k).String())
		}
	default:
		tb.Fatalf("no Arrow appender for %s", v.Type())
	}
}

// TestArrowBaselineMatches keeps the benchmark honest: the Arrow baseline must write the same
// values (read back through pqarrow) as the sink's writer for every table.
func TestArrowBaselineMatches(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, table := range Tables() {
		t.Run(string(table), func(t *testing.T) {
			bs := benchSynthetic(t, table, 0.05)
			dir := t.TempDir()
			var ours, theirs bytes.Buffer
			if err := bs.rows.write(&ours, writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: DefaultPageBytes, rowGroupRows: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			rec, release := bs.build(t)
			writeArrow(t, rec, &theirs)
			release()
			a := writeTemp(t, dir, "ours.parquet", ours.Bytes())
			b := writeTemp(t, dir, "theirs.parquet", theirs.Bytes())
			ra, rb := arrowRows(t, a), arrowRows(t, b)
			if len(ra) != bs.n || len(rb) != bs.n {
				t.Fatalf("rows: ours %d, arrow %d, want %d", len(ra), len(rb), bs.n)
			}
			for i := range ra {
				if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
					t.Fatalf("row %d differs:\nours  %v\narrow %v", i, ra[i], rb[i])
				}
			}
		})
	}
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// discardStore accepts uploads and throws them away: the pipeline benchmark measures the sink, not
// a disk.
type discardStore struct{ store.Store }

func (discardStore) Create(context.Context, string, string, map[string]string) (store.Upload, error) {
	return discardUpload{}, nil
}

type discardUpload struct{}

func (discardUpload) Write(p []byte) (int, error) { return len(p), nil }
func (discardUpload) Commit() error               { return nil }
func (discardUpload) Abort() error                { return nil }

// BenchmarkPipeline decodes objects with pkg/parse and adds every record through the sink (convert,
// buffer, sort, encode, compress; uploads discarded). Its baseline, in the same run, is decoding
// alone: the difference is what the sink adds per record.
func BenchmarkPipeline(b *testing.B) {
	sets := map[Table]objectSet{}
	dir := samples.Samples(b, "cloudtrail", "invictus-ir-aws_dataset")
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var ct []sampleObject
	for _, p := range names {
		ct = append(ct, sampleObject{"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + filepath.Base(p), readSample(b, p)})
	}
	sets[TableCloudTrail] = objectSet{srcBucket, ct}
	opts := synth.DefaultOptions(11)
	opts.EventsPerHour = 1
	opts.FlowRecordsPerHour = 2000
	opts.ResolverQueriesPerHour = 1000
	m, arch := generate(b, opts)
	var fl, rv []sampleObject
	for _, o := range arch.sortedObjects(m.Bucket) {
		switch parse.Classify(m.Bucket, o.key).Source {
		case parse.SourceVPCFlow:
			fl = append(fl, o)
		case parse.SourceResolver:
			rv = append(rv, o)
		}
	}
	sets[TableVPCFlow] = objectSet{m.Bucket, fl}
	sets[TableResolver] = objectSet{m.Bucket, rv}

	for _, table := range []Table{TableCloudTrail, TableVPCFlow, TableResolver} {
		st := sets[table]
		var inflated int64
		for _, o := range st.objs {
			inflated += int64(len(inflate(b, o.body)))
		}
		run := func(b *testing.B, withSink bool) {
			ctx := context.Background()
			b.SetBytes(inflated)
			b.ReportAllocs()
			var n int
			m0 := mallocs()
			for b.Loop() {
				var s *Sink
				if withSink {
					var err error
					if s, err = New(Options{Dest: store.Location{Store: discardStore{}}}); err != nil {
						b.Fatal(err)
					}
				}
				n = feedObjects(b, ctx, s, nil, st, withSink)
				if s != nil {
					if err := s.Close(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			perRow(b, n, m0)
		}
		b.Run(string(table)+"/parse-only", func(b *testing.B) { run(b, false) })
		b.Run(string(table)+"/parse+sink", func(b *testing.B) { run(b, true) })
	}
}

// objectSet is the objects of one table and the bucket they are in.
type objectSet struct {
	bucket string
	objs   []sampleObject
}

// feedObjects decodes every object of st (with ds, or a fresh decoder per object when ds is nil)
// and returns how many records it decoded. With s, each object is an input of s, begun and ended;
// with add, every record is also added to it.
func feedObjects(b *testing.B, ctx context.Context, s *Sink, ds *parse.Decoders, st objectSet, add bool) int {
	n := 0
	for _, o := range st.objs {
		obj := parse.Classify(st.bucket, o.key)
		var dec parse.Decoder
		var err error
		if ds != nil {
			dec, err = ds.New(obj, bytes.NewReader(o.body), parse.Options{})
		} else {
			dec, err = parse.NewDecoder(obj, bytes.NewReader(o.body), parse.Options{})
		}
		if err != nil {
			b.Fatal(err)
		}
		var in *Input
		if s != nil {
			in = beginRef(s, InputRef{Bucket: st.bucket, Key: o.key})
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
			if add {
				if err := in.Add(ctx, &rec); err != nil {
					b.Fatal(err)
				}
			}
		}
		if in != nil {
			in.End()
		}
	}
	return n
}
