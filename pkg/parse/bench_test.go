package parse

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/logarchive/logarchive/internal/cputime"
	"github.com/logarchive/logarchive/internal/samples"
)

// Benchmarks run on inputs generated from the real samples: their records repeated, with the
// identifying values varied so no two records are byte-identical, up to benchSize bytes.
const benchSize = 20 << 20

var benchInputs struct {
	once                  sync.Once
	cloudtrail, flow, dns []byte
	ctN, flowN, dnsN      int
}

func loadBenchInputs(b *testing.B) {
	b.Helper()
	dir := samples.Samples(b, "")
	benchInputs.once.Do(func() {
		benchInputs.cloudtrail, benchInputs.ctN = genCloudTrail(b, dir)
		benchInputs.flow, benchInputs.flowN = genFlow(b, dir)
		benchInputs.dns, benchInputs.dnsN = genResolver(b, dir)
	})
	if benchInputs.ctN == 0 || benchInputs.flowN == 0 || benchInputs.dnsN == 0 {
		b.Fatal("benchmark inputs could not be generated")
	}
}

// genCloudTrail builds one {"Records":[…]} document from the invictus-ir records, giving each copy a
// distinct eventID.
func genCloudTrail(b *testing.B, dir string) ([]byte, int) {
	files, _ := filepath.Glob(filepath.Join(dir, "cloudtrail", "invictus-ir-aws_dataset", "*.json"))
	var recs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		d, err := decodeAll(b, Object{Source: SourceCloudTrail}, bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range d.recs {
			recs = append(recs, r.Raw)
		}
	}
	var out bytes.Buffer
	out.WriteString(`{"Records":[`)
	n := 0
	for out.Len() < benchSize {
		for _, r := range recs {
			if n > 0 {
				out.WriteByte(',')
			}
			if i := bytes.Index(r, []byte(`"eventID":"`)); i >= 0 && len(r) > i+19 {
				out.Write(r[:i+11])
				fmt.Fprintf(&out, "%08x", n)
				out.Write(r[i+19:])
			} else {
				out.Write(r)
			}
			n++
		}
	}
	out.WriteString("]}\n")
	return out.Bytes(), n
}

// genFlow builds a default-format (v2) text flow log from the sample lines, varying ports and times.
func genFlow(b *testing.B, dir string) ([]byte, int) {
	var lines []string
	for _, f := range []string{
		"sekoia-automation-library/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log",
		"sekoia-automation-library/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T2025Z_55a7d2af.log",
		"awsdocs/default-v2-examples.log",
	} {
		data, err := os.ReadFile(filepath.Join(dir, "vpcflow", f))
		if err != nil {
			b.Fatal(err)
		}
		ls := strings.Split(strings.TrimSpace(string(data)), "\n")
		lines = append(lines, ls[1:]...)
	}
	var out bytes.Buffer
	out.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	n := 0
	for out.Len() < benchSize {
		for _, l := range lines {
			f := strings.Fields(l)
			if f[5] != "-" {
				f[5] = fmt.Sprint(1024 + n%60000)
				f[10] = fmt.Sprint(1645469669 + n/1000)
				f[11] = fmt.Sprint(1645469724 + n/1000)
			}
			out.WriteString(strings.Join(f, " "))
			out.WriteByte('\n')
			n++
		}
	}
	return out.Bytes(), n
}

// genResolver builds JSON lines (Resolver's S3 form) from the sample queries, compacted, with
// varied source ports and query names.
func genResolver(b *testing.B, dir string) ([]byte, int) {
	files, _ := filepath.Glob(filepath.Join(dir, "route53-resolver", "*", "*"))
	var recs []map[string]any
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		var r io.Reader = fh
		if strings.HasSuffix(f, ".gz") {
			if r, err = gzip.NewReader(fh); err != nil {
				b.Fatal(err)
			}
		}
		var m map[string]any
		if err := json.NewDecoder(r).Decode(&m); err != nil {
			b.Fatal(err)
		}
		fh.Close()
		recs = append(recs, m)
	}
	var out bytes.Buffer
	n := 0
	for out.Len() < benchSize {
		for _, m := range recs {
			m["srcport"] = fmt.Sprint(1024 + n%60000)
			m["query_name"] = fmt.Sprintf("host%d.example.com.", n%5000)
			line, err := json.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			out.Write(line)
			out.WriteByte('\n')
			n++
		}
	}
	return out.Bytes(), n
}

// runDecoder times NewDecoder+Next over input and reports MB/s (SetBytes), records/s and
// allocations per record.
func runDecoder(b *testing.B, obj Object, input []byte, want int) {
	runDecoderOn(b, obj, input, int64(len(input)), want)
}

func runDecoderOn(b *testing.B, obj Object, input []byte, inflated int64, want int) {
	bytesPerOp := inflated
	b.SetBytes(inflated)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cputime.Process()
	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		dec, err := NewDecoder(obj, bytes.NewReader(input), Options{})
		if err != nil {
			b.Fatal(err)
		}
		var rec Record
		n := 0
		for {
			err := dec.Next(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("%d records, want %d", n, want)
		}
		total += n
	}
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/record")
	if cpu > 0 {
		// Per core on a shared machine: CPU time (GC included) rather than wall time.
		b.ReportMetric(float64(b.N)*float64(bytesPerOp)/cpu.Seconds()/1e6, "MB/cpu-s")
		b.ReportMetric(float64(total)/cpu.Seconds(), "records/cpu-s")
	}
}

func BenchmarkCloudTrail(b *testing.B) {
	loadBenchInputs(b)
	runDecoder(b, Object{Source: SourceCloudTrail}, benchInputs.cloudtrail, benchInputs.ctN)
}

// BenchmarkCloudTrailEncodingJSON is the baseline: the same input, decoded record by record with
// encoding/json's Decoder into the same record model.
func BenchmarkCloudTrailEncodingJSON(b *testing.B) {
	loadBenchInputs(b)
	input := benchInputs.cloudtrail
	runBaseline(b, input, benchInputs.ctN, func(r io.Reader, count func()) error {
		return refDecodeCloudTrail(r, func(*CloudTrailEvent) { count() })
	})
}

func BenchmarkVPCFlow(b *testing.B) {
	loadBenchInputs(b)
	runDecoder(b, Object{Source: SourceVPCFlow}, benchInputs.flow, benchInputs.flowN)
}

func BenchmarkResolver(b *testing.B) {
	loadBenchInputs(b)
	runDecoder(b, Object{Source: SourceResolver}, benchInputs.dns, benchInputs.dnsN)
}

// BenchmarkCloudTrailGzip is the whole path a delivered object takes (gunzip included); MB/s counts
// inflated bytes, so the gap to BenchmarkCloudTrail is the cost of inflating.
func BenchmarkCloudTrailGzip(b *testing.B) {
	loadBenchInputs(b)
	compressed := gz(b, benchInputs.cloudtrail)
	b.ReportMetric(float64(len(benchInputs.cloudtrail))/float64(len(compressed)), "ratio")
	runDecoderOn(b, Object{Source: SourceCloudTrail}, compressed, int64(len(benchInputs.cloudtrail)), benchInputs.ctN)
}

// runBaseline times a baseline decoder over input with the same metrics as runDecoder.
func runBaseline(b *testing.B, input []byte, want int, decode func(io.Reader, func()) error) {
	bytesPerOp := len(input)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cputime.Process()
	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		n := 0
		if err := decode(bytes.NewReader(input), func() { n++ }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("%d records, want %d", n, want)
		}
		total += n
	}
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/record")
	if cpu > 0 {
		// Per core on a shared machine: CPU time (GC included) rather than wall time.
		b.ReportMetric(float64(b.N)*float64(bytesPerOp)/cpu.Seconds()/1e6, "MB/cpu-s")
		b.ReportMetric(float64(total)/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkVPCFlowBaseline: the same input through bufio.Scanner, strings.Fields and strconv.
func BenchmarkVPCFlowBaseline(b *testing.B) {
	loadBenchInputs(b)
	runBaseline(b, benchInputs.flow, benchInputs.flowN, func(r io.Reader, count func()) error {
		return refDecodeFlow(r, func(*FlowRecord) { count() })
	})
}

// BenchmarkResolverEncodingJSON: the same input, one json.Unmarshal per line.
func BenchmarkResolverEncodingJSON(b *testing.B) {
	loadBenchInputs(b)
	runBaseline(b, benchInputs.dns, benchInputs.dnsN, func(r io.Reader, count func()) error {
		return refDecodeResolver(r, func(*ResolverQuery) { count() })
	})
}

// smallObjects splits the first records of a benchmark input into gzipped objects of perObject
// records each, the shape CloudTrail (about 36 events a file) and Resolver deliver.
func smallObjects(b *testing.B, obj Object, input []byte, perObject, objects int, wrap func([][]byte) []byte) ([][]byte, int) {
	b.Helper()
	d, err := decodeAll(b, obj, bytes.NewReader(input), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	n := 0
	for i := 0; i < objects && (i+1)*perObject <= len(d.recs); i++ {
		var raws [][]byte
		for _, r := range d.recs[i*perObject : (i+1)*perObject] {
			raws = append(raws, r.Raw)
		}
		out = append(out, gz(b, wrap(raws)))
		n += perObject
	}
	return out, n
}

// runObjects decodes every object once per iteration, with a fresh decoder per object (NewDecoder)
// or one Decoders reused, and reports allocations and bytes per object as well as per record.
func runObjects(b *testing.B, obj Object, objs [][]byte, records int, reuse, reuseRecords bool) {
	ds := Decoders{ReuseRecords: reuseRecords}
	var ms0, ms1 runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&ms0)
	cpu0 := cputime.Process()
	b.ResetTimer()
	var rec Record
	for i := 0; i < b.N; i++ {
		n := 0
		for _, o := range objs {
			var dec Decoder
			var err error
			if reuse {
				dec, err = ds.New(obj, bytes.NewReader(o), Options{})
			} else {
				dec, err = NewDecoder(obj, bytes.NewReader(o), Options{})
			}
			if err != nil {
				b.Fatal(err)
			}
			for {
				err := dec.Next(&rec)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		if n != records {
			b.Fatalf("%d records, want %d", n, records)
		}
	}
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms1)
	nobj := float64(b.N) * float64(len(objs))
	nrec := float64(b.N) * float64(records)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/nobj, "allocs/object")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/nobj, "B/object")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/nrec, "allocs/record")
	if cpu > 0 {
		b.ReportMetric(nobj/cpu.Seconds(), "objects/cpu-s")
		b.ReportMetric(nrec/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkSmallObjects is the per-object cost: many small gzipped objects, as `ingest local` sees
// CloudTrail and Resolver archives, with a decoder made afresh for each or reused (Decoders), and
// with the record structs reused too (Decoders.ReuseRecords, as pkg/pipeline runs). The flow case is
// one large object, where only the record structs differ.
func BenchmarkSmallObjects(b *testing.B) {
	loadBenchInputs(b)
	ct := Object{Source: SourceCloudTrail}
	ctObjs, ctN := smallObjects(b, ct, benchInputs.cloudtrail, 36, 64, func(raws [][]byte) []byte {
		return append(append([]byte(`{"Records":[`), bytes.Join(raws, []byte(","))...), "]}\n"...)
	})
	dns := Object{Source: SourceResolver}
	dnsObjs, dnsN := smallObjects(b, dns, benchInputs.dns, 180, 16, func(raws [][]byte) []byte {
		return append(bytes.Join(raws, []byte("\n")), '\n')
	})
	for _, c := range []struct {
		name string
		obj  Object
		objs [][]byte
		n    int
	}{{"cloudtrail", ct, ctObjs, ctN}, {"resolver", dns, dnsObjs, dnsN},
		{"flow", Object{Source: SourceVPCFlow}, [][]byte{gz(b, benchInputs.flow)}, benchInputs.flowN}} {
		b.Run(c.name+"/fresh", func(b *testing.B) { runObjects(b, c.obj, c.objs, c.n, false, false) })
		b.Run(c.name+"/reused", func(b *testing.B) { runObjects(b, c.obj, c.objs, c.n, true, false) })
		b.Run(c.name+"/reused-records", func(b *testing.B) { runObjects(b, c.obj, c.objs, c.n, true, true) })
	}
}
