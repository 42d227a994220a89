package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/logarchive/logarchive/pkg/ack"
)

// outcomes records Done calls by input key.
type outcomes struct{ log doneLog }

func (o *outcomes) begin(s *Sink, key string) *Input {
	return beginRef(s, o.log.ref(key))
}

// shuffledFindings returns n finding rows of one input, at times out of order within day1.
func shuffledFindings(key string, n int, seed uint64) []FindingRow {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]FindingRow, n)
	for i := range out {
		out[i] = finding(day1.Add(time.Duration(r.IntN(3600))*time.Second), key, int64(i))
	}
	return out
}

// rowGroups opens a file with Arrow's reader and returns its row counts per row group.
func groupRows(t *testing.T, path string) []int64 {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rdr.Close()
	var out []int64
	for i := range rdr.NumRowGroups() {
		out = append(out, rdr.RowGroup(i).NumRows())
	}
	return out
}

// TestSingleEncode: every spill is one row group of the final file, sorted on its own; the file is
// never re-encoded, so a partition that spilled N times has exactly N row groups. Both paths: a
// shared partition fed by small inputs, and a solo input writing its own file.
func TestSingleEncode(t *testing.T) {
	ctx := context.Background()
	const inputs, perInput = 6, 50
	one := finding(day1, "x", 0)
	col := findingColOf(&one)
	rowSize := sizeFinding(&col)

	t.Run("shared", func(t *testing.T) {
		// Each input's rows pass SpillBytes when they join the partition at End: one spill each.
		s, root := newLocalSink(t, Options{SpillBytes: rowSize * perInput})
		var o outcomes
		for i := range inputs {
			key := fmt.Sprint("in-", i)
			in := o.begin(s, key)
			for _, f := range shuffledFindings(key, perInput, uint64(i)) {
				if err := in.AddFinding(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			in.End()
		}
		if st := s.Stats(); st.Spills != inputs || st.FilesWritten != 0 {
			t.Fatalf("%+v: want %d spills and no file yet", st, inputs)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		files := tableFiles(t, root, TableFindings)
		if len(files) != 1 {
			t.Fatalf("%d files, want 1", len(files))
		}
		if groups := groupRows(t, files[0]); len(groups) != inputs {
			t.Errorf("row groups %v: want %d, one per spill", groups, inputs)
		}
		if rows := readTable(t, root, TableFindings); len(rows) != inputs*perInput { // checks each group sorted
			t.Errorf("%d rows, want %d", len(rows), inputs*perInput)
		}
		for i := range inputs {
			if c := o.log.calls(fmt.Sprint("in-", i)); len(c) != 1 || c[0] != nil {
				t.Errorf("in-%d: Done calls %v", i, c)
			}
		}
	})

	t.Run("solo", func(t *testing.T) {
		// A tiny StageBytes makes the input solo at once; it spills every perInput rows.
		s, root := newLocalSink(t, Options{StageBytes: 1, SpillBytes: rowSize * perInput})
		var o outcomes
		in := o.begin(s, "big")
		for _, f := range shuffledFindings("big", inputs*perInput, 7) {
			if err := in.AddFinding(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		in.End()
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		files := tableFiles(t, root, TableFindings)
		if len(files) != 1 {
			t.Fatalf("%d files, want 1", len(files))
		}
		groups := groupRows(t, files[0])
		if len(groups) != inputs {
			t.Errorf("row groups %v: want %d, one per spill", groups, inputs)
		}
		if st := s.Stats(); st.Spills != inputs { // every perInput-th row fills SpillBytes
			t.Errorf("%d spills, want %d", st.Spills, inputs)
		}
		if rows := readTable(t, root, TableFindings); len(rows) != inputs*perInput {
			t.Errorf("%d rows, want %d", len(rows), inputs*perInput)
		}
		if c := o.log.calls("big"); len(c) != 1 || c[0] != nil {
			t.Errorf("Done calls %v", c)
		}
	})
}

// TestAbortLeavesNoRows: an input aborted midway (a poison record found late) leaves no row and no
// spool file, whether its rows were still staged in memory or already encoded into files of its
// own; its Done gets the abort's outcome, once; the other inputs are untouched.
func TestAbortLeavesNoRows(t *testing.T) {
	ctx := context.Background()
	spool := t.TempDir()
	// StageBytes makes "solo" solo after a few rows; SpoolMemoryBytes 1 sends its files to disk.
	s, root := newLocalSink(t, Options{StageBytes: 4 << 10, SpillBytes: 8 << 10, SpoolMemoryBytes: 1, SpoolDir: spool})
	var o outcomes
	good := o.begin(s, "good")
	small := o.begin(s, "small")
	solo := o.begin(s, "solo")
	for i := range 200 {
		for _, in := range []*Input{good, small, solo} {
			if in == small && i >= 3 {
				continue
			}
			if err := in.AddFinding(ctx, finding(day1.Add(time.Duration(i)*time.Minute), in.Ref().Key, int64(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !solo.solo || len(solo.stages) == 0 || s.Stats().Spills == 0 {
		t.Fatalf("the large input did not go solo and spill (solo=%v, spills=%d)", solo.solo, s.Stats().Spills)
	}
	poison := errors.New("truncated JSON at record 201")
	small.Abort(ack.Quarantine("truncated", poison))
	solo.Abort(ack.Quarantine("truncated", poison))
	good.End()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range readTable(t, root, TableFindings) {
		if k, _ := lineageOf(t, r); k != "good" {
			t.Fatalf("a row of aborted input %s was written", k)
		}
	}
	if rows := readTable(t, root, TableFindings); len(rows) != 200 {
		t.Errorf("%d rows, want the good input's 200", len(rows))
	}
	for _, k := range []string{"small", "solo"} {
		if c := o.log.calls(k); len(c) != 1 || !errors.Is(c[0], poison) {
			t.Errorf("%s: Done calls %v, want one with the abort's error", k, c)
		}
	}
	if c := o.log.calls("good"); len(c) != 1 || c[0] != nil {
		t.Errorf("good: Done calls %v", c)
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("%d spool files left behind", len(left))
	}
	if st := s.Stats(); st.BufferedBytes != 0 {
		t.Errorf("%d bytes still counted after Close", st.BufferedBytes)
	}
	// Abort after End, End after Abort: no second Done.
	good.Abort(ack.Again("late", poison))
	small.End()
	if len(o.log.calls("good")) != 1 || len(o.log.calls("small")) != 1 {
		t.Error("a second Done after End or Abort")
	}
}

// TestOpenInputNotCommitted: checkpoints triggered by age, size or Flush never take rows of an
// input that has not ended, even when the input is solo and has finished files of its own; they
// join the first checkpoint after End.
func TestOpenInputNotCommitted(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: day1}
	s, root := newLocalSink(t, Options{Now: clock.Now, MaxAge: time.Minute, StageBytes: 4 << 10,
		SpillBytes: 8 << 10, TargetFileBytes: 4 << 10})
	var o outcomes
	open := o.begin(s, "open")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		f := finding(day1.Add(time.Duration(i)*time.Second), "open", int64(i))
		// Random text compresses poorly: the solo input's files fill and roll over (past parquet-go's
		// 32 KiB write buffer, which is when the spool sees the bytes).
		var buf []byte
		for range 32 {
			buf = fmt.Appendf(buf, "%016x", r.Uint64())
		}
		f.EventJSON = `{"n":"` + string(buf) + `"}`
		if err := open.AddFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if len(open.rolled) == 0 {
		t.Fatal("the open input finished no file of its own: the test does not exercise rolled files")
	}
	closed := o.begin(s, "closed")
	closed.AddFinding(ctx, finding(day1, "closed", 0))
	closed.End()
	clock.Add(time.Hour)
	if err := s.FlushDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range readTable(t, root, TableFindings) {
		if k, _ := lineageOf(t, r); k == "open" {
			t.Fatal("a row of an input that has not ended was committed")
		}
	}
	if c := o.log.calls("open"); len(c) != 0 {
		t.Fatalf("open input done before End: %v", c)
	}
	if c := o.log.calls("closed"); len(c) != 1 || c[0] != nil {
		t.Fatalf("closed: Done calls %v", c)
	}
	open.End()
	if err := s.FlushDue(ctx); err != nil { // ended solo files join any checkpoint
		t.Fatal(err)
	}
	if c := o.log.calls("open"); len(c) != 1 || c[0] != nil {
		t.Fatalf("open: Done calls %v after End and a checkpoint", c)
	}
	n := 0
	for _, r := range readTable(t, root, TableFindings) {
		if k, _ := lineageOf(t, r); k == "open" {
			n++
		}
	}
	if n != 300 {
		t.Errorf("%d rows of the ended input, want 300", n)
	}
	if files := tableFiles(t, root, TableFindings); len(files) < 3 {
		t.Errorf("%d files: the solo input's rolled files were not kept apart", len(files))
	}
}

// TestRecordBudget: an input whose rows have no time ({"Records":[{},{},…]}) or are too many is
// refused with *BudgetError past the budget; aborting it leaves nothing and frees its memory.
func TestRecordBudget(t *testing.T) {
	ctx := context.Background()
	s, root := newLocalSink(t, Options{MaxUntimedRows: 10, MaxInputRows: 50})
	var o outcomes
	untimed := o.begin(s, "untimed")
	var err error
	n := 0
	for ; n < 100 && err == nil; n++ {
		err = untimed.AddFinding(ctx, FindingRow{Rule: "r", Lineage: Lineage{Bucket: srcBucket, Key: "untimed", Index: int64(n)}})
	}
	var be *BudgetError
	if !errors.As(err, &be) || be.What != "untimed rows" || n != 11 {
		t.Fatalf("after %d untimed rows: %v, want a BudgetError on the 11th", n, err)
	}
	untimed.Abort(ack.Quarantine(be.Class(), err))

	many := o.begin(s, "many")
	err = nil
	for n = 0; n < 100 && err == nil; n++ {
		err = many.AddFinding(ctx, finding(day1, "many", int64(n)))
	}
	if !errors.As(err, &be) || be.What != "rows" || n != 51 {
		t.Fatalf("after %d rows: %v, want a BudgetError on the 51st", n, err)
	}
	many.Abort(ack.Quarantine(be.Class(), err))
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if files := tableFiles(t, root, TableFindings); len(files) != 0 {
		t.Errorf("%d files written for refused inputs", len(files))
	}
	if st := s.Stats(); st.BufferedBytes != 0 {
		t.Errorf("%d bytes still counted", st.BufferedBytes)
	}
}

// TestBrokenFileRetried: a file that cannot be encoded (here its spool file cannot be created) is
// never committed short of rows: it is dropped and its inputs are told to retry, once each.
func TestBrokenFileRetried(t *testing.T) {
	ctx := context.Background()
	missing := t.TempDir() + "/no/such/dir"
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"shared spill", Options{SpillBytes: 1, SpoolMemoryBytes: 1, SpoolDir: missing}},
		{"finish at checkpoint", Options{SpoolMemoryBytes: 1, SpoolDir: missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, root := newLocalSink(t, tc.opts)
			var o outcomes
			for _, k := range []string{"a", "b"} {
				in := o.begin(s, k)
				for i := range 3 {
					in.AddFinding(ctx, finding(day1, k, int64(i)))
				}
				in.End()
			}
			if err := s.Flush(ctx); err == nil && tc.name == "finish at checkpoint" {
				t.Error("Flush reported success for a file it could not write")
			}
			if err := s.Flush(ctx); err != nil {
				t.Errorf("the next Flush still fails: %v (the broken file should be dropped, not sealed)", err)
			}
			for _, k := range []string{"a", "b"} {
				if c := o.log.calls(k); len(c) != 1 || c[0] == nil {
					t.Errorf("%s: Done calls %v, want one retry", k, c)
				}
			}
			if files := tableFiles(t, root, TableFindings); len(files) != 0 {
				t.Errorf("%d files written", len(files))
			}
			if st := s.Stats(); st.BufferedBytes != 0 || st.OpenPartitions != 0 {
				t.Errorf("%+v: the dropped file is still counted", st)
			}
		})
	}
}
