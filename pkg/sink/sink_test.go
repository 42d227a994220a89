package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// fakeClock is a settable clock for age-based flushing.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// failingStore fails the Commit of keys for which fail returns true.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail func(key string) bool
}

func (f *failingStore) Create(ctx context.Context, bucket, key string, meta map[string]string) (store.Upload, error) {
	u, err := f.Store.Create(ctx, bucket, key, meta)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	fail := f.fail != nil && f.fail(key)
	f.mu.Unlock()
	if fail {
		return &failingUpload{Upload: u, key: key}, nil
	}
	return u, nil
}

type failingUpload struct {
	store.Upload
	key string
}

func (u *failingUpload) Commit() error {
	u.Upload.Abort()
	return &store.Error{Op: "put", Key: u.key, Kind: store.KindTransient, Err: errors.New("injected failure")}
}

// doneLog records Done callbacks by input key.
type doneLog struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (d *doneLog) ref(key string) InputRef {
	return InputRef{Bucket: srcBucket, Key: key, ETag: "etag-" + key, Done: func(err error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.errs == nil {
			d.errs = map[string][]error{}
		}
		d.errs[key] = append(d.errs[key], err)
	}}
}

func (d *doneLog) calls(key string) []error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.errs[key])
}

func finding(ts time.Time, key string, idx int64) FindingRow {
	return FindingRow{EventTime: ts, Rule: "r", MetricName: "m", EventJSON: strings.Repeat("x", 200),
		Lineage: Lineage{Bucket: srcBucket, Key: key, Index: idx}}
}

// relKeys lists the data objects under root, relative to it.
func relKeys(t *testing.T, root string) []string {
	t.Helper()
	var keys []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(root, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(keys)
	return keys
}

var day1 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func TestDoneCallbacks(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: day1}
	var log doneLog
	s, _ := newLocalSink(t, Options{Now: clock.Now, MaxAge: 5 * time.Minute})

	// An input with no rows is done at End.
	empty := beginRef(s, log.ref("empty"))
	empty.End()
	if got := log.calls("empty"); len(got) != 1 || got[0] != nil {
		t.Fatalf("empty input: Done calls %v, want one nil", got)
	}

	// An input with rows in two partitions is done only when both are committed.
	two := beginRef(s, log.ref("two"))
	if err := two.AddFinding(ctx, finding(day1, "two", 0)); err != nil {
		t.Fatal(err)
	}
	clock.Add(4 * time.Minute)
	if err := two.AddFinding(ctx, finding(day1.Add(24*time.Hour), "two", 1)); err != nil {
		t.Fatal(err)
	}
	two.End()
	if got := log.calls("two"); len(got) != 0 {
		t.Fatalf("Done before any commit: %v", got)
	}
	clock.Add(time.Minute) // the first partition is 5 min old, the second 1 min
	if err := s.FlushDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FilesWritten != 1 || st.OpenPartitions != 1 {
		t.Fatalf("after the first due flush: %+v, want 1 file written and 1 partition open", st)
	}
	if got := log.calls("two"); len(got) != 0 {
		t.Fatalf("Done with a partition still buffered: %v", got)
	}
	clock.Add(4 * time.Minute)
	if err := s.FlushDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := log.calls("two"); len(got) != 1 || got[0] != nil {
		t.Fatalf("after both commits: Done calls %v, want one nil", got)
	}

	// Adding after End is refused; so is adding after Close.
	if err := two.AddFinding(ctx, finding(day1, "two", 2)); err == nil {
		t.Error("Add after End succeeded")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	late := beginRef(s, log.ref("late"))
	if err := late.AddFinding(ctx, finding(day1, "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	// An input with a refused row must never be reported durable.
	late.End()
	if got := log.calls("late"); len(got) != 1 || !errors.Is(got[0], ErrClosed) {
		t.Errorf("input with a row refused after Close: Done calls %v, want one ErrClosed", got)
	}
}

func TestUnsupportedRecord(t *testing.T) {
	s, _ := newLocalSink(t, Options{})
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "d"})
	err := in.Add(context.Background(), &parse.Record{Source: parse.SourceDigest})
	var ue *UnsupportedRecordError
	if !errors.As(err, &ue) || ue.Source != parse.SourceDigest {
		t.Fatalf("Add(digest record) = %v, want *UnsupportedRecordError for digest", err)
	}
}

// TestIdempotentNames writes the same inputs twice, in a different order and from a fresh sink,
// into one destination: the second run must produce exactly the same object names (overwriting),
// never additional objects.
func TestIdempotentNames(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	loc := store.Location{Store: store.NewLocal(root), Bucket: "lake"}
	salt := ""
	run := func(order []string) []string {
		s, err := New(Options{Dest: loc, NameSalt: salt})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		s.opts.AfterCommit = func(_ context.Context, cp Checkpoint) {
			for _, f := range cp.Files {
				keys = append(keys, f.Key)
			}
		}
		for _, k := range order {
			in := beginRef(s, InputRef{Bucket: srcBucket, Key: k, ETag: "e1"})
			for i := range 3 {
				if err := in.AddFinding(ctx, finding(day1.Add(time.Duration(i)*time.Hour*10), k, int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			in.End()
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		return keys
	}
	first := run([]string{"a", "b", "c"})
	files := relKeys(t, root)
	second := run([]string{"c", "a", "b"})
	if !slices.Equal(first, second) {
		t.Fatalf("names differ between runs:\n%v\n%v", first, second)
	}
	if again := relKeys(t, root); !slices.Equal(files, again) {
		t.Fatalf("second run changed the object set:\n%v\n%v", files, again)
	}
	if len(files) != 2 { // 10:00 and 20:00 on day 1, 06:00 on day 2
		t.Fatalf("wrote %d files, want 2 (one per day): %v", len(files), files)
	}
	// Another process (another salt) holding the same inputs never writes the same keys.
	salt, home := "owner-2", loc
	loc = store.Location{Store: store.NewLocal(t.TempDir()), Bucket: "lake"}
	salted := run([]string{"a", "b", "c"})
	for _, k := range salted {
		if slices.Contains(first, k) {
			t.Fatalf("salted run reused the name %s", k)
		}
	}
	if again := run([]string{"b", "c", "a"}); !slices.Equal(salted, again) {
		t.Fatalf("salted names differ between runs:\n%v\n%v", salted, again)
	}
	salt, loc = "", home
	// A different ETag is a different input: new names.
	s, _ := New(Options{Dest: loc})
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "a", ETag: "e2"})
	in.AddFinding(ctx, finding(day1, "a", 0))
	in.End()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(relKeys(t, root)); n != len(files)+1 {
		t.Errorf("a changed input reused a name: %d objects, want %d", n, len(files)+1)
	}
}

// TestBeforeCommit checks the hook sees the final keys while nothing is visible yet, and that its
// error cancels the checkpoint with the rows kept for the next one, under the same names.
func TestBeforeCommit(t *testing.T) {
	ctx := context.Background()
	var log doneLog
	s, root := newLocalSink(t, Options{})
	var seen []Checkpoint
	hookErr := errors.New("intent marker not written")
	s.opts.BeforeCommit = func(_ context.Context, cp Checkpoint) error {
		seen = append(seen, cp)
		if n := len(relKeys(t, root)); n != 0 {
			t.Errorf("BeforeCommit: %d data objects already visible", n)
		}
		if len(seen) == 1 {
			return hookErr
		}
		return nil
	}
	var after []Checkpoint
	s.opts.AfterCommit = func(_ context.Context, cp Checkpoint) { after = append(after, cp) }
	in := beginRef(s, log.ref("k"))
	in.AddFinding(ctx, finding(day1, "k", 0))
	in.AddIntegrity(ctx, IntegrityRow{VerifiedAt: day1, Status: "valid", DigestKey: "d"})
	in.End()

	err := s.Flush(ctx)
	var ce *CommitError
	if !errors.As(err, &ce) || !errors.Is(err, hookErr) {
		t.Fatalf("Flush = %v, want a *CommitError wrapping the hook's error", err)
	}
	if len(relKeys(t, root)) != 0 || len(log.calls("k")) != 0 || len(after) != 0 {
		t.Fatal("a cancelled checkpoint wrote files, called Done or AfterCommit")
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].ID != seen[1].ID {
		t.Fatalf("retry checkpoint ID changed: %+v", seen)
	}
	cp := seen[1]
	if len(cp.Inputs) != 1 || cp.Inputs[0].Key != "k" || cp.Inputs[0].ETag != "etag-k" {
		t.Errorf("Inputs = %+v, want k with its ETag", cp.Inputs)
	}
	var want []string
	for _, f := range cp.Files {
		want = append(want, "lake/"+f.Key)
		if f.Bytes != 0 {
			t.Errorf("BeforeCommit saw Bytes=%d for %s", f.Bytes, f.Key)
		}
	}
	slices.Sort(want)
	got := relKeys(t, filepath.Dir(filepath.Dir(root)))
	if !slices.Equal(got, want) {
		t.Errorf("files %v, BeforeCommit announced %v", got, want)
	}
	if len(after) != 1 || after[0].ID != cp.ID {
		t.Fatalf("AfterCommit calls %+v", after)
	}
	for _, f := range after[0].Files {
		if f.Bytes <= 0 || f.Rows != 1 {
			t.Errorf("AfterCommit file %+v: want rows 1 and a size", f)
		}
	}
	if c := log.calls("k"); len(c) != 1 || c[0] != nil {
		t.Errorf("Done calls %v", c)
	}
}

// TestCommitFailure injects a failed upload: the committed file's inputs are done, the failed
// file's rows stay buffered and the retry writes them under the same name.
func TestCommitFailure(t *testing.T) {
	ctx := context.Background()
	var log doneLog
	root := t.TempDir()
	fs := &failingStore{Store: store.NewLocal(root)}
	fs.fail = func(key string) bool { return strings.HasPrefix(key, "integrity/") }
	// SpillBytes 1 spools every row: the retry must re-send a closed spool.
	s, err := New(Options{Dest: store.Location{Store: fs, Bucket: "lake"}, SpillBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	var announced, written []string
	s.opts.BeforeCommit = func(_ context.Context, cp Checkpoint) error {
		for _, f := range cp.Files {
			if f.Table == TableIntegrity {
				announced = append(announced, f.Key)
			}
		}
		return nil
	}
	s.opts.AfterCommit = func(_ context.Context, cp Checkpoint) {
		for _, f := range cp.Files {
			if f.Table == TableIntegrity {
				written = append(written, f.Key)
			}
		}
	}
	a := beginRef(s, log.ref("a")) // findings only: committed
	a.AddFinding(ctx, finding(day1, "a", 0))
	a.End()
	b := beginRef(s, log.ref("b")) // findings and integrity: waits for the failed file
	b.AddFinding(ctx, finding(day1, "b", 0))
	b.AddIntegrity(ctx, IntegrityRow{VerifiedAt: day1, Status: "valid"})
	b.End()

	err = s.Flush(ctx)
	var ce *CommitError
	if !errors.As(err, &ce) || store.KindOf(err) != store.KindTransient {
		t.Fatalf("Flush = %v, want *CommitError wrapping a transient store error", err)
	}
	if len(ce.Committed) != 1 || ce.Committed[0].Table != TableFindings {
		t.Errorf("Committed = %+v, want the findings file", ce.Committed)
	}
	if c := log.calls("a"); len(c) != 1 || c[0] != nil {
		t.Errorf("a: Done calls %v, want one nil", c)
	}
	if c := log.calls("b"); len(c) != 0 {
		t.Errorf("b: Done called %v with its integrity rows unwritten", c)
	}
	if st := s.Stats(); st.OpenPartitions != 1 {
		t.Errorf("%d partitions buffered after the failure, want 1 (integrity)", st.OpenPartitions)
	}
	// A row arriving after the failure must not change what the failed file holds or its name.
	c := beginRef(s, log.ref("c"))
	c.AddIntegrity(ctx, IntegrityRow{VerifiedAt: day1.Add(time.Minute), Status: "missing"})
	c.End()
	fs.mu.Lock()
	fs.fail = nil
	fs.mu.Unlock()
	// A retry refused by BeforeCommit keeps the sealed rows for the next one.
	refuse := true
	hook := s.opts.BeforeCommit
	s.opts.BeforeCommit = func(ctx context.Context, cp Checkpoint) error {
		if refuse {
			refuse = false
			return errors.New("intent store unavailable")
		}
		return hook(ctx, cp)
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded although BeforeCommit refused")
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c := log.calls("b"); len(c) != 1 || c[0] != nil {
		t.Errorf("b: Done calls %v after the retry", c)
	}
	if c := log.calls("c"); len(c) != 1 || c[0] != nil {
		t.Errorf("c: Done calls %v after the retry", c)
	}
	if st := s.Stats(); st.BufferedBytes != 0 || st.OpenPartitions != 0 {
		t.Errorf("after the retry: %d bytes in %d partitions still counted", st.BufferedBytes, st.OpenPartitions)
	}
	if n := len(relKeys(t, root)); n != 3 {
		t.Errorf("%d objects, want 3 (findings, the retried integrity file, c's integrity file)", n)
	}
	if len(announced) != 3 || announced[0] != announced[1] || len(written) != 2 || written[0] != announced[0] {
		t.Errorf("integrity keys announced %v, written %v: the retry must write the announced name", announced, written)
	}
	if rows := readTable(t, filepath.Join(root, "lake"), TableIntegrity); len(rows) != 2 {
		t.Errorf("%d integrity rows, want 2", len(rows))
	}
}

// TestCloseFailure: if the final flush fails, every pending input learns it through Done(err).
func TestCloseFailure(t *testing.T) {
	ctx := context.Background()
	var log doneLog
	fs := &failingStore{Store: store.NewLocal(t.TempDir()), fail: func(string) bool { return true }}
	s, _ := New(Options{Dest: store.Location{Store: fs, Bucket: "lake"}})
	in := beginRef(s, log.ref("x"))
	in.AddFinding(ctx, finding(day1, "x", 0))
	in.End()
	if err := s.Close(ctx); err == nil {
		t.Fatal("Close succeeded with a failing store")
	}
	if c := log.calls("x"); len(c) != 1 || c[0] == nil {
		t.Fatalf("Done calls %v, want one error", c)
	}
}

// TestSizeTrigger: with a small target, a partition is written whenever its estimate reaches it;
// files come out near the target and no row is lost or duplicated.
func TestSizeTrigger(t *testing.T) {
	const target = 96 << 10
	objs := cloudTrailSamples(t)
	s, root := newLocalSink(t, Options{TargetFileBytes: target})
	counts := ingest(t, s, objs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	files := tableFiles(t, root, TableCloudTrail)
	rows := readTable(t, root, TableCloudTrail)
	if len(rows) != total {
		t.Fatalf("read %d rows, wrote %d", len(rows), total)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		k, i := lineageOf(t, r)
		id := fmt.Sprint(k, i)
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
	}
	// The samples' 2023-07-10 partition holds ~3.4 MB of JSON: many files, all but the partition's
	// last one near the target (the learned ratio converges after the first file).
	var big []int64
	for _, f := range files {
		if strings.Contains(f, "dt=2023-07-10") {
			st, _ := os.Stat(f)
			big = append(big, st.Size())
		}
	}
	if len(big) < 3 {
		t.Fatalf("only %d files for dt=2023-07-10 with a %d-byte target", len(big), target)
	}
	near := 0
	for _, n := range big {
		if n > 3*target {
			t.Errorf("file of %d bytes, over 3x the %d target", n, target)
		}
		if n > target/3 {
			near++
		}
	}
	if near < len(big)-2 {
		t.Errorf("sizes %v: fewer than all but two within a factor 3 of the target", big)
	}
}

// TestMemoryBudget: past half the budget the largest pending row set is spilled (a row group of
// its file, which stays open) rather than written as a small file; when spilling cannot help (every
// partition's rows too few for a row group of their own), the partitions holding the most memory
// are written. Either way the buffered estimate never stays above the budget.
func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	const budget = 64 << 10
	t.Run("spill", func(t *testing.T) {
		s, root := newLocalSink(t, Options{MemoryBudget: budget})
		in := beginRef(s, InputRef{Bucket: srcBucket, Key: "m"})
		// Day 1 gets 9 rows for every row of day 2: day 1 is the largest whenever the budget trips.
		for i := range 600 {
			ts := day1
			if i%10 == 9 {
				ts = day1.Add(24 * time.Hour)
			}
			if err := in.AddFinding(ctx, finding(ts, "m", int64(i))); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.BufferedBytes > budget {
				t.Fatalf("row %d: %d bytes buffered, budget %d", i, st.BufferedBytes, budget)
			}
		}
		in.End()
		st := s.Stats()
		if st.PressureSpills == 0 || st.FilesWritten != 0 || st.BufferedBytes > budget {
			t.Fatalf("%+v: want the largest partition spilled, no file written, at most %d bytes buffered", st, budget)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if files := tableFiles(t, root, TableFindings); len(files) != 2 {
			t.Errorf("%d files, want one per day: %v", len(files), files)
		}
		if rows := readTable(t, root, TableFindings); len(rows) != 600 {
			t.Errorf("read %d rows, wrote 600", len(rows))
		}
	})
	t.Run("write", func(t *testing.T) {
		s, root := newLocalSink(t, Options{MemoryBudget: budget})
		// 40 days of 15 rows each, one input per day: no partition holds enough for a row group.
		for d := range 40 {
			in := beginRef(s, InputRef{Bucket: srcBucket, Key: fmt.Sprint("d", d)})
			for i := range 15 {
				if err := in.AddFinding(ctx, finding(day1.Add(time.Duration(d)*24*time.Hour), fmt.Sprint("d", d), int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			in.End()
			if st := s.Stats(); st.BufferedBytes > budget {
				t.Fatalf("day %d: %d bytes buffered, budget %d", d, st.BufferedBytes, budget)
			}
		}
		if st := s.Stats(); st.FilesWritten == 0 || st.PressureSpills != 0 {
			t.Fatalf("%+v: want files written by the budget and no spill", st)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if rows := readTable(t, root, TableFindings); len(rows) != 600 {
			t.Errorf("read %d rows, wrote 600", len(rows))
		}
	})
}

// TestMemoryBudgetSpills: under the budget's pressure, large pending row sets are encoded into
// their spools first (files keep growing) instead of being written out as small files.
func TestMemoryBudgetSpills(t *testing.T) {
	ctx := context.Background()
	const budget = 4 << 20
	s, root := newLocalSink(t, Options{MemoryBudget: budget})
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "m"})
	const n = 3000
	for i := range n {
		f := finding(day1.Add(time.Duration(i%48)*time.Hour), "m", int64(i))
		f.EventJSON = fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("y", 2000))
		if err := in.AddFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.BufferedBytes > budget {
			t.Fatalf("row %d: %d bytes buffered, budget %d", i, st.BufferedBytes, budget)
		}
	}
	in.End()
	st := s.Stats()
	if st.Spills == 0 || st.FilesWritten != 0 {
		t.Fatalf("%+v: want spills and no file written before Flush", st)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if files := tableFiles(t, root, TableFindings); len(files) != 3 { // 10:00 + 0..47 h
		t.Errorf("%d files, want 3 (one per day)", len(files))
	}
	if rows := readTable(t, root, TableFindings); len(rows) != n {
		t.Errorf("read %d rows, wrote %d", len(rows), n)
	}
}

// TestFileLayout reads the footer with Arrow's reader: codec, statistics, dictionary pages,
// sorting columns and page sizes are what the package promises.
func TestFileLayout(t *testing.T) {
	for _, tc := range []struct {
		comp Compression
		want compress.Compression
	}{
		{"", compress.Codecs.Zstd},
		{Snappy, compress.Codecs.Snappy},
	} {
		t.Run(string(tc.want.String()), func(t *testing.T) {
			s, root := newLocalSink(t, Options{Compression: tc.comp})
			ingest(t, s, cloudTrailSamples(t)[:20])
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			files := tableFiles(t, root, TableCloudTrail)
			if len(files) == 0 {
				t.Fatal("no files")
			}
			rdr, err := file.OpenParquetFile(files[0], false)
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			md := rdr.MetaData()
			sc := md.Schema
			for rg := 0; rg < len(md.RowGroups); rg++ {
				rgm := md.RowGroup(rg)
				for c := 0; c < rgm.NumColumns(); c++ {
					cc, err := rgm.ColumnChunk(c)
					if err != nil {
						t.Fatal(err)
					}
					name := sc.Column(c).Path()
					if cc.Compression() != tc.want {
						t.Errorf("%s: codec %v, want %v", name, cc.Compression(), tc.want)
					}
					ok, err := cc.StatsSet()
					if err != nil || !ok {
						t.Errorf("%s: no column statistics", name)
					}
					if name == "eventname" && !cc.HasDictionaryPage() {
						t.Errorf("eventname has no dictionary page")
					}
					if name == "eventtime" {
						st, err := cc.Statistics()
						if err != nil || !st.HasMinMax() {
							t.Errorf("eventtime: no min/max (%v)", err)
						}
					}
				}
				for c, col := range md.RowGroups[rg].Columns {
					if col.ColumnIndexOffset == nil || col.OffsetIndexOffset == nil {
						t.Errorf("%s: no page index (column/offset index)", sc.Column(c).Path())
					}
				}
				sorting := md.RowGroups[rg].SortingColumns
				if len(sorting) != 1 || sc.Column(int(sorting[0].ColumnIdx)).Path() != "eventtime" || sorting[0].Descending {
					t.Errorf("row group %d sorting_columns %+v, want eventtime ascending", rg, sorting)
				}
			}
		})
	}
}

// TestNullPatterns guards the workaround for parquet-go's optional-value bug: NULL and non-NULL
// values alternating in every pattern within one write batch must read back exactly.
func TestNullPatterns(t *testing.T) {
	ctx := context.Background()
	s, root := newLocalSink(t, Options{})
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "n"})
	const n = 200
	present := func(i, col int) bool { return (i*7+col*3)%5 < 2 || i%(col+2) == 0 }
	for i := range n {
		f := FindingRow{EventTime: day1.Add(time.Duration(i) * time.Second), Rule: "r", Lineage: Lineage{srcBucket, "n", int64(i)}}
		if present(i, 0) {
			f.MetricNamespace = fmt.Sprint("ns", i)
		}
		if present(i, 1) {
			f.Account = fmt.Sprint(i)
		}
		if present(i, 2) {
			v := float64(i)
			f.MetricValue = &v
		}
		if err := in.AddFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	in.End()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows := readTable(t, root, TableFindings)
	if len(rows) != n {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		for col, name := range []string{"metric_namespace", "account", "metric_value"} {
			if got := r[name] != nil; got != present(i, col) {
				t.Errorf("row %d %s: present=%v, want %v (%v)", i, name, got, present(i, col), r[name])
			}
		}
	}
}

// TestConcurrentAdd adds from several goroutines (run with -race): every row arrives once and
// every input is done once.
func TestConcurrentAdd(t *testing.T) {
	ctx := context.Background()
	var log doneLog
	s, root := newLocalSink(t, Options{TargetFileBytes: 16 << 10, MemoryBudget: 256 << 10})
	const workers, inputs, perInput = 4, 10, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range inputs {
				key := fmt.Sprintf("w%d-i%d", w, i)
				in := beginRef(s, log.ref(key))
				for j := range perInput {
					if err := in.AddFinding(ctx, finding(day1.Add(time.Duration(j)*time.Hour), key, int64(j))); err != nil {
						t.Error(err)
						return
					}
				}
				in.End()
			}
		}()
	}
	wg.Wait()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rows := readTable(t, root, TableFindings); len(rows) != workers*inputs*perInput {
		t.Errorf("read %d rows, wrote %d", len(rows), workers*inputs*perInput)
	}
	for w := range workers {
		for i := range inputs {
			if c := log.calls(fmt.Sprintf("w%d-i%d", w, i)); len(c) != 1 || c[0] != nil {
				t.Errorf("w%d-i%d: Done calls %v", w, i, c)
			}
		}
	}
}

// TestRun checks the ticker flushes aged partitions without any Add.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	s, _ := newLocalSink(t, Options{MaxAge: time.Second})
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "r", Done: func(err error) { done <- err }})
	in.AddFinding(ctx, finding(day1, "r", 0))
	in.End()
	go s.Run(ctx)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not flush a 1 s old partition within 10 s")
	}
}

// TestSpillAccounting: a shared partition spilled at SpillBytes over and over counts exactly its
// pending rows, writer and spool (its encoded batches' row slices go back to the table, none is
// kept uncounted); after Flush nothing is counted.
func TestSpillAccounting(t *testing.T) {
	ctx := context.Background()
	s, root := newLocalSink(t, Options{SpillBytes: 16 << 10})
	for i := range 30 {
		in := beginRef(s, InputRef{Bucket: srcBucket, Key: fmt.Sprint("a", i)})
		for j := range 20 {
			if err := in.AddFinding(ctx, finding(day1, fmt.Sprint("a", i), int64(j))); err != nil {
				t.Fatal(err)
			}
		}
		in.End()
		// Every input has ended: what is counted is the shared buffers' pending rows, writers
		// and spools, exactly.
		s.mu.Lock()
		var want int64
		for _, b := range s.bufs {
			want += b.pending + b.rows.memBytes()
		}
		got := s.buffered.Load()
		s.mu.Unlock()
		if got != want {
			t.Fatalf("input %d: %d bytes counted, buffers hold %d", i, got, want)
		}
	}
	if st := s.Stats(); st.Spills < 5 || st.PressureSpills != 0 {
		t.Fatalf("%+v: want several spills at SpillBytes, none for the budget", st)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BufferedBytes != 0 || st.OpenPartitions != 0 {
		t.Errorf("after Flush: %d bytes in %d partitions still counted", st.BufferedBytes, st.OpenPartitions)
	}
	if rows := readTable(t, root, TableFindings); len(rows) != 600 {
		t.Errorf("read %d rows, wrote 600", len(rows))
	}
}

// TestRetryAccounting: a partition with both a spool and pending rows fails to commit; the retry
// writes every row once and the buffered estimate returns to zero.
func TestRetryAccounting(t *testing.T) {
	ctx := context.Background()
	small := IntegrityRow{VerifiedAt: day1, Status: "valid"}
	colSmall := integrityColOf(&small)
	spill := sizeIntegrity(&colSmall) + 1 // a small row stays pending, a big one spills
	root := t.TempDir()
	fs := &failingStore{Store: store.NewLocal(root), fail: func(string) bool { return true }}
	s, err := New(Options{Dest: store.Location{Store: fs, Bucket: "lake"}, SpillBytes: spill})
	if err != nil {
		t.Fatal(err)
	}
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "r"})
	in.AddIntegrity(ctx, IntegrityRow{VerifiedAt: day1, Status: "invalid", Reason: strings.Repeat("z", 1000)})
	in.AddIntegrity(ctx, small)
	in.End()
	if st := s.Stats(); st.Spills != 1 {
		t.Fatalf("%d spills, want 1 (the big row)", st.Spills)
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with a failing store")
	}
	fs.mu.Lock()
	fs.fail = nil
	fs.mu.Unlock()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BufferedBytes != 0 || st.OpenPartitions != 0 {
		t.Errorf("after the retry: %d bytes in %d partitions still counted", st.BufferedBytes, st.OpenPartitions)
	}
	if rows := readTable(t, filepath.Join(root, "lake"), TableIntegrity); len(rows) != 2 {
		t.Errorf("%d rows, want 2", len(rows))
	}
}

// blockingStore holds every Commit until release is closed.
type blockingStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) Create(ctx context.Context, bucket, key string, meta map[string]string) (store.Upload, error) {
	u, err := b.Store.Create(ctx, bucket, key, meta)
	if err != nil {
		return nil, err
	}
	return &blockingUpload{Upload: u, s: b}, nil
}

type blockingUpload struct {
	store.Upload
	s *blockingStore
}

func (u *blockingUpload) Commit() error {
	u.s.entered <- struct{}{}
	<-u.s.release
	return u.Upload.Commit()
}

// TestAddDuringUpload: rows keep flowing into new buffers while a checkpoint uploads; they are not
// part of the running checkpoint and are written by the next one.
func TestAddDuringUpload(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bs := &blockingStore{Store: store.NewLocal(root), entered: make(chan struct{}), release: make(chan struct{})}
	s, err := New(Options{Dest: store.Location{Store: bs, Bucket: "lake"}})
	if err != nil {
		t.Fatal(err)
	}
	var log doneLog
	a := beginRef(s, log.ref("a"))
	a.AddFinding(ctx, finding(day1, "a", 0))
	a.End()
	flushed := make(chan error, 1)
	go func() { flushed <- s.Flush(ctx) }()
	<-bs.entered // the checkpoint is committing a's file

	b := beginRef(s, log.ref("b"))
	added := make(chan error, 1)
	go func() { added <- b.AddFinding(ctx, finding(day1, "b", 0)) }()
	select {
	case err := <-added:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Add waited for a running upload")
	}
	b.End()
	if st := s.Stats(); st.OpenPartitions != 2 {
		t.Errorf("%d partitions open, want 2 (one uploading, one new)", st.OpenPartitions)
	}
	close(bs.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if c := log.calls("a"); len(c) != 1 || c[0] != nil {
		t.Errorf("a: Done calls %v", c)
	}
	if c := log.calls("b"); len(c) != 0 {
		t.Errorf("b done by a checkpoint that started before its row: %v", c)
	}
	go func() {
		for range bs.entered { // let the next checkpoint's commits through
		}
	}()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(bs.entered)
	if c := log.calls("b"); len(c) != 1 || c[0] != nil {
		t.Errorf("b: Done calls %v", c)
	}
	if rows := readTable(t, filepath.Join(root, "lake"), TableFindings); len(rows) != 2 {
		t.Errorf("%d rows, want 2", len(rows))
	}
}
