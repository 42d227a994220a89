package ocsf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// TestManyPartitionsMemoryBudget is an organisation's shape: many accounts and Regions, so every
// partition stays far under SpillBytes and nothing but the memory budget would ever encode its
// rows before the final write. Objects of API Activity rows (real CloudTrail samples, mapped once,
// each object given one of 24 account/Region pairs) are fed until three budgets' worth is estimated.
// The buffered estimate and the live heap must stay within the budget plus slack, the budget must
// act by spilling (no file written before Flush: files stay one per partition), and every row must
// read back (pqarrow) in the file of its partition, each input durable exactly once.
func TestManyPartitionsMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~10k rows")
	}
	type held struct {
		row APIActivity
		raw int
	}
	var corpusRows []held
	mapCorpus(t, sizeCorpus(t), ClassAPIActivity, 1000, func(r Row, raw []byte) {
		corpusRows = append(corpusRows, held{*r.(*APIActivity), len(raw)})
	})
	const (
		budget   = 16 << 20
		overhead = 12 << 20 // as TestLayoutMemoryBudget: writers in use, encoders, pools
		accounts = 12
		objRows  = 30
	)
	regions := []string{"us-east-1", "eu-west-1"}
	ctx := context.Background()
	root := t.TempDir()
	sources, err := Sources(store.Location{Store: store.NewLocal(root), Bucket: "lake"}, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(sources)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sink.New(sink.Options{Layout: l, MemoryBudget: budget, SpillBytes: SpillBytes})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	dones := map[string][]ack.Outcome{}
	fed := map[string]int{} // rows per partition path (Region, account, day)

	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := int64(m.HeapAlloc)
	var peak, est int64
	next := 0
	for obj := 0; est < 3*budget; obj++ {
		p := obj % (accounts * len(regions))
		acct, region := fmt.Sprintf("1000000000%02d", p/len(regions)), regions[p%len(regions)]
		key := fmt.Sprintf("obj-%d", obj)
		in := s.Begin(ack.Ref{Bucket: "archive", Key: key, Size: -1}, func(o ack.Outcome) {
			mu.Lock()
			dones[key] = append(dones[key], o)
			mu.Unlock()
		})
		for i := range objRows {
			h := corpusRows[next%len(corpusRows)]
			next++
			r := h.row
			r.Cloud.Region, r.Cloud.Account = &region, &Account{UID: &acct}
			lin := Lineage{Bucket: "archive", Key: key, Index: int64(i)}
			if err := l.Add(ctx, in, &r, lin); err != nil {
				t.Fatal(err)
			}
			part, err := PartitionOf(&r, lin)
			if err != nil {
				t.Fatal(err)
			}
			fed[part.Path()]++
			est += l.rowBytes(&r, h.raw)
		}
		in.End()
		if obj%40 == 0 {
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, int64(m.HeapAlloc)-base)
		}
	}
	st := s.Stats()
	t.Logf("%d rows in %d partitions: %d spills (%d for the budget), %d files before Flush; peak estimate %.1f MiB, live heap %.1f MiB over the start, budget %d MiB",
		next, len(fed), st.Spills, st.PressureSpills, st.FilesWritten, float64(st.PeakBufferedBytes)/(1<<20), float64(peak)/(1<<20), budget>>20)
	if st.PeakBufferedBytes > budget+1<<20 {
		t.Errorf("buffered estimate peaked at %d bytes, budget %d", st.PeakBufferedBytes, budget)
	}
	if peak > budget+overhead {
		t.Errorf("live heap peaked %.1f MiB over the start with a %d MiB budget", float64(peak)/(1<<20), budget>>20)
	}
	if st.PressureSpills == 0 || st.FilesWritten != 0 {
		t.Errorf("want the budget to spill (%d spills) and no file written before Flush (%d)", st.PressureSpills, st.FilesWritten)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BufferedBytes != 0 {
		t.Errorf("after Flush: %d bytes still counted", st.BufferedBytes)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	got := map[string]int{}
	files := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		files++
		dir := filepath.ToSlash(filepath.Dir(path))
		p, err := PartitionOfPath(dir[strings.Index(dir, "region="):] + "/")
		if err != nil {
			return err
		}
		for _, row := range readFile(t, path) {
			if a, r := get(row, "cloud.account.uid"), get(row, "cloud.region"); a != p.Account || r != p.Region {
				t.Fatalf("%s: row of %v/%v", path, r, a)
			}
			got[p.Path()]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != len(fed) {
		t.Errorf("%d files for %d partitions, want one each", files, len(fed))
	}
	for part, n := range fed {
		if got[part] != n {
			t.Errorf("%s: %d rows read back, %d written", part, got[part], n)
		}
	}
	for obj := range len(dones) {
		if ds := dones[fmt.Sprintf("obj-%d", obj)]; len(ds) != 1 || ds[0].Kind != ack.Durable {
			t.Errorf("obj-%d: outcomes %v, want one Durable", obj, ds)
		}
	}
	if len(dones) == 0 || len(dones)*objRows != next {
		t.Errorf("%d inputs done for %d rows", len(dones), next)
	}
}
