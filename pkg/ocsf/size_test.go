package ocsf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// heldRows keeps rows the way the writer core stages them: by value, in one slice per class.
type heldRows struct {
	api  []APIActivity
	auth []Authentication
	acct []AccountChange
	net  []NetworkActivity
	dns  []DNSActivity
	find []DetectionFinding
}

func (h *heldRows) add(r Row) {
	switch x := r.(type) {
	case *APIActivity:
		h.api = append(h.api, *x)
	case *Authentication:
		h.auth = append(h.auth, *x)
	case *AccountChange:
		h.acct = append(h.acct, *x)
	case *NetworkActivity:
		h.net = append(h.net, *x)
	case *DNSActivity:
		h.dns = append(h.dns, *x)
	case *DetectionFinding:
		h.find = append(h.find, *x)
	}
}

// slack is the bytes of the slices' spare capacity: the core's row slices are reused, so growth
// slack is not a row's cost.
func (h *heldRows) slack() int64 {
	return spare(h.api) + spare(h.auth) + spare(h.acct) + spare(h.net) + spare(h.dns) + spare(h.find)
}

func spare[T any](s []T) int64 {
	var zero T
	return int64(cap(s)-len(s)) * int64(unsafe.Sizeof(zero))
}

// retainedBytes measures what the rows build adds to the heap keep alive once nothing else is
// referenced (decoders, their buffers and the records are garbage by then), without the row
// slices' spare capacity, and returns it with the sum of the estimates build reported.
func retainedBytes(t *testing.T, build func(h *heldRows) (est int64, rows int)) (actual, est int64, rows int) {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	h := new(heldRows)
	est, rows = build(h)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	actual = int64(m1.HeapAlloc) - int64(m0.HeapAlloc) - h.slack()
	runtime.KeepAlive(h)
	return actual, est, rows
}

type corpusFile struct {
	obj  parse.Object
	data []byte
}

// sizeCorpus is every real sample and pkg/synth's tiny archive, read into memory once for the
// tests that use it (generating the archive is most of their time under -race).
func sizeCorpus(t testing.TB) []corpusFile {
	t.Helper()
	corpusOnce.Do(func() { corpus = readSizeCorpus(t) })
	if corpus == nil {
		t.Fatal("no corpus (see the first test that read it)")
	}
	return corpus
}

var (
	corpusOnce sync.Once
	corpus     []corpusFile
)

func readSizeCorpus(t testing.TB) []corpusFile {
	t.Helper()
	var out []corpusFile
	for _, o := range append(realSampleObjects(t), synthObjects(t, "tiny")...) {
		data, err := os.ReadFile(o.path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusFile{obj: parse.Classify(o.bucket, o.key), data: data})
	}
	return out
}

// mapCorpus decodes the files of the corpus that hold rows of class c and hands each row of the
// class to keep with its record's text, until at least n rows were kept (the files are decoded
// again as often as needed: every pass allocates its records afresh, as a real run's next objects
// do).
func mapCorpus(t testing.TB, files []corpusFile, c Class, n int, keep func(Row, []byte)) {
	t.Helper()
	src := map[Class]parse.Source{ClassNetworkActivity: parse.SourceVPCFlow, ClassDNSActivity: parse.SourceResolver}[c]
	if src == parse.SourceUnknown {
		src = parse.SourceCloudTrail
	}
	files = slices.DeleteFunc(slices.Clone(files), func(f corpusFile) bool { return f.obj.Source != src })
	kept := 0
	for pass := 0; kept < n; pass++ {
		if pass > 0 && kept == 0 {
			t.Fatalf("%v: no rows in the corpus", c)
		}
		var holding []corpusFile
		for _, f := range files {
			dec, err := parse.NewDecoder(f.obj, bytes.NewReader(f.data), parse.Options{})
			if err != nil {
				t.Fatalf("%s: %v", f.obj.Key, err)
			}
			origin := OriginOf(f.obj, time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC))
			var rec parse.Record
			found := false
			for {
				err := dec.Next(&rec)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", f.obj.Key, err)
				}
				row, err := FromRecordIn(&rec, origin)
				if err != nil || row.Class() != c {
					continue
				}
				keep(row, rec.Raw)
				kept, found = kept+1, true
			}
			if found {
				holding = append(holding, f)
			}
		}
		files = holding
	}
}

// TestRowBytesCoversHeap builds a thousand rows or more of every class from the real samples and
// the synthetic archive, keeps them as the writer core does (by value, in a slice per class) and
// compares the heap they keep alive with the sum of rowBytes: the memory budget is only as good
// as this estimate. It fails when the estimate undercounts by more than 10 %, or overcounts by
// more than 2× (a budget that spills at half its size wastes it).
func TestRowBytesCoversHeap(t *testing.T) {
	files := sizeCorpus(t)
	l, err := NewLayout(nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	check := func(t *testing.T, actual, est int64, rows int) {
		t.Helper()
		t.Logf("%d rows: %.0f bytes a row on the heap, %.0f estimated (%.2f×)", rows,
			float64(actual)/float64(rows), float64(est)/float64(rows), float64(est)/float64(actual))
		if float64(est) < 0.9*float64(actual) {
			t.Errorf("rowBytes undercounts: %d bytes estimated for %d rows that hold %d", est, rows, actual)
		}
		if est > 2*actual {
			t.Errorf("rowBytes overcounts: %d bytes estimated for %d rows that hold %d", est, rows, actual)
		}
	}
	for _, c := range []Class{ClassAPIActivity, ClassAuthentication, ClassAccountChange, ClassNetworkActivity, ClassDNSActivity} {
		t.Run(fmt.Sprint(int32(c)), func(t *testing.T) {
			actual, est, rows := retainedBytes(t, func(h *heldRows) (int64, int) {
				var est int64
				var rows int
				mapCorpus(t, files, c, n, func(r Row, raw []byte) {
					est += l.rowBytes(r, len(raw))
					h.add(r)
					rows++
				})
				return est, rows
			})
			check(t, actual, est, rows)
		})
	}
	// Findings, as the pipeline hands them over: without the event's JSON (the default) and with it
	// (--finding-event-json).
	for _, withJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("2004/event-json=%v", withJSON), func(t *testing.T) {
			actual, est, rows := retainedBytes(t, func(h *heldRows) (int64, int) {
				var est int64
				for i := range n {
					f := rules.Finding{EventTime: time.UnixMilli(1700000000000 + int64(i)), Rule: "RootAccountUsage",
						MetricNamespace: "CISBenchmark", MetricName: "RootAccountUsageCount", Source: "cloudtrail",
						Account: "111122223333", Region: "us-east-1", EventID: "ev-" + strconv.Itoa(i),
						SourceBucket: "archive", SourceKey: "AWSLogs/111122223333/CloudTrail/us-east-1/2023/07/10/f" + strconv.Itoa(i) + ".json.gz",
						SourceIndex: int64(i)}
					if withJSON {
						f.EventJSON = `{"eventVersion":"1.08","eventID":"` + strconv.Itoa(i) + `","userIdentity":{"type":"Root"}}`
					}
					r, err := DetectionFindingOf(&f)
					if err != nil {
						t.Fatal(err)
					}
					est += l.rowBytes(r, 0)
					h.add(r)
				}
				return est, n
			})
			check(t, actual, est, rows)
		})
	}
}

// TestLayoutMemoryBudget runs the Security Lake layout through the writer core as ingest does
// (one input per object, every record through Layout.Record) with a small memory budget, over
// two budgets' worth of record text of every record class (some 30k rows), and measures the live
// heap every few thousand rows, after two collections (one leaves what sync.Pools hold, which made
// the figure swing by 20 MiB with timing). The heap must stay within the budget plus what is not
// rows (column writers, encoders). With the estimate halved (the old one, 1 KiB + free text, was
// about half the real size) the peak is 35 MiB over a 16 MiB budget; with rowBytes 21 MiB.
func TestLayoutMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("maps ~30k rows")
	}
	files := sizeCorpus(t)
	ctx := context.Background()
	// overhead is what the heap holds beside rows: the open column writers' page buffers, zstd
	// encoders and the row slices' spare capacity of a few dozen partitions, 5-10 MiB here (heap
	// profile at the peak, and the live heap less the sink's estimate).
	const budget, overhead = 16 << 20, 12 << 20
	sources, err := Sources(store.Location{Store: store.NewLocal(t.TempDir()), Bucket: "lake"}, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(sources)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sink.New(sink.Options{Layout: l, MemoryBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := int64(m.HeapAlloc)
	var peak, peakBuf, rows, est int64
	sample := func() {
		runtime.GC()
		runtime.GC() // and what sync.Pools kept through the first
		runtime.ReadMemStats(&m)
		if h := int64(m.HeapAlloc) - base; h > peak {
			peak, peakBuf = h, s.Stats().BufferedBytes
		}
	}
	for pass := 0; est < 2*budget; pass++ {
		for i, f := range files {
			dec, err := parse.NewDecoder(f.obj, bytes.NewReader(f.data), parse.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := s.Begin(ack.Ref{Bucket: f.obj.Bucket, Key: f.obj.Key, VersionID: fmt.Sprintf("pass-%d-%d", pass, i), Size: -1}, nil)
			var rec parse.Record
			for {
				err := dec.Next(&rec)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var unsup *sink.UnsupportedRecordError
				if err := in.Add(ctx, &rec); errors.As(err, &unsup) {
					continue
				} else if err != nil {
					t.Fatal(err)
				}
				rows++
				est += int64(len(rec.Raw)) // a lower bound of what the rows added: ends the loop
				if rows%4000 == 0 {
					sample()
				}
			}
			in.End()
		}
	}
	sample()
	st := s.Stats()
	t.Logf("%d rows, %d spills, %d files; peak live heap %.1f MiB over the start (sink's estimate then %.1f MiB), budget %d MiB",
		rows, st.Spills, st.FilesWritten, float64(peak)/(1<<20), float64(peakBuf)/(1<<20), budget>>20)
	if st.Spills+st.FilesWritten == 0 {
		t.Fatal("the budget never made the sink spill or write: too few rows for the test to mean anything")
	}
	if peak > budget+overhead {
		t.Errorf("live heap peaked %.1f MiB over the start with a %d MiB budget", float64(peak)/(1<<20), budget>>20)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRowBytes prices the row-size estimate per row, over rows of every record class mapped
// from the size corpus (the writer core estimates every row it stages).
func BenchmarkRowBytes(b *testing.B) {
	files := sizeCorpus(b)
	l, err := NewLayout(nil)
	if err != nil {
		b.Fatal(err)
	}
	type held struct {
		r   Row
		raw int
	}
	var rows []held
	for _, c := range []Class{ClassAPIActivity, ClassAuthentication, ClassAccountChange, ClassNetworkActivity, ClassDNSActivity} {
		mapCorpus(b, files, c, 200, func(r Row, raw []byte) { rows = append(rows, held{r, len(raw)}) })
	}
	b.ResetTimer()
	var sum int64
	for b.Loop() {
		for _, h := range rows {
			sum += l.rowBytes(h.r, h.raw)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	if sum == 0 {
		b.Fatal("no bytes estimated")
	}
}
