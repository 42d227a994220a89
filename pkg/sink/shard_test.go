package sink

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestBusyWriterOpensAnotherFile: an input that ends while its partition's writer is encoding a
// batch joins another file of the same partition (up to WritersPerPartition), so workers do not
// queue behind one writer; with one writer per partition it joins the busy file. Either way every
// row is written once and every input is durable once.
func TestBusyWriterOpensAnotherFile(t *testing.T) {
	ctx := context.Background()
	const perInput = 40
	one := finding(day1, "x", 0)
	col := findingColOf(&one)
	rowSize := sizeFinding(&col)
	for _, tc := range []struct{ writers, files int }{{2, 2}, {1, 1}} {
		t.Run(fmt.Sprint(tc.writers, "writers"), func(t *testing.T) {
			// The second input's rows fill SpillBytes at its End: it spills into the first file.
			s, root := newLocalSink(t, Options{SpillBytes: rowSize * perInput * 3 / 2, WritersPerPartition: tc.writers})
			var o outcomes
			add := func(key string) *Input {
				in := o.begin(s, key)
				for _, f := range shuffledFindings(key, perInput, 1) {
					if err := in.AddFinding(ctx, f); err != nil {
						t.Fatal(err)
					}
				}
				return in
			}
			add("first").End()
			s.mu.Lock()
			first := s.sortedBuffersLocked()[0]
			s.mu.Unlock()
			// Hold the first file's writer, as a worker encoding a batch of it does.
			first.wmu.Lock()
			spilled := make(chan struct{})
			second := add("second")
			go func() { second.End(); close(spilled) }()
			for busy := false; !busy; {
				time.Sleep(time.Millisecond)
				s.mu.Lock()
				busy = first.encoding > 0
				s.mu.Unlock()
			}
			add("third").End()
			first.wmu.Unlock()
			<-spilled
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if files := tableFiles(t, root, TableFindings); len(files) != tc.files {
				t.Errorf("%d files %v, want %d", len(files), files, tc.files)
			}
			if rows := readTable(t, root, TableFindings); len(rows) != 3*perInput {
				t.Errorf("%d rows, want %d", len(rows), 3*perInput)
			}
			for _, k := range []string{"first", "second", "third"} {
				if c := o.log.calls(k); len(c) != 1 || c[0] != nil {
					t.Errorf("%s: Done calls %v", k, c)
				}
			}
		})
	}
}
