package sink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// A worker adds each object's rows through one Input and acknowledges the object when its Done
// callback reports the rows durable.
func Example() {
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sink.New(sink.Options{
		Dest: store.Location{Store: store.NewLocal(dir)}, // or store.ParseLocation(ctx, "s3://bucket/prefix", …)
		BeforeCommit: func(_ context.Context, cp sink.Checkpoint) error {
			fmt.Printf("about to commit %d file(s) for %d input(s)\n", len(cp.Files), len(cp.Inputs))
			return nil // a worker writes its intent marker here
		},
	})
	if err != nil {
		panic(err)
	}
	in := s.Begin(ack.Ref{Bucket: "org-logs", Key: "AWSLogs/…/digest.json.gz", ETag: "e1"},
		func(o ack.Outcome) { fmt.Println("durable:", o.Kind == ack.Durable) })
	// Records from pkg/parse go through in.Add(ctx, &rec); findings and digest results have their own rows.
	in.AddIntegrity(ctx, sink.IntegrityRow{VerifiedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		DigestBucket: "org-logs", DigestKey: "AWSLogs/…/digest.json.gz", Status: "valid"})
	in.End()
	if err := s.Close(ctx); err != nil { // or Flush; Run(ctx) flushes aged partitions in the background
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "integrity", "dt=2026-03-02", "*.parquet"))
	fmt.Println(len(files), "file under integrity/dt=2026-03-02/")
	// Output:
	// about to commit 1 file(s) for 1 input(s)
	// durable: true
	// 1 file under integrity/dt=2026-03-02/
}
