package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestResolverBlocksRecycled: the blocks Resolver rows point into (answers, srcids, ports) are
// recycled once the rows are encoded. With recycled blocks poisoned, every row read back must
// still equal its record: a block recycled while a staged row pointed into it would show as
// "recycled!" or another row's values. The inputs are small (they join shared partitions, spilled
// every few inputs) and large (solo, spilled as they grow), span two days (a row set per day,
// blocks shared between them), and are added by two goroutines.
func TestResolverBlocksRecycled(t *testing.T) {
	s, root := newLocalSink(t, Options{SpillBytes: 48 << 10, StageBytes: 160 << 10})
	pool := poisonResolverBlocks(s)
	rng := rand.New(rand.NewPCG(10, 8))
	var objs []sampleObject
	want := map[string][]map[string]any{}
	for i := range 30 {
		n := 5 + rng.IntN(60)
		if i%7 == 3 {
			n = 500 + rng.IntN(300) // past StageBytes: solo
		}
		key := fmt.Sprintf("AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a/2022/10/13/vpc-0a_vpcdnsquerylogs_123456789012_20221013T2355Z_%02d.log", i)
		body := resolverLines(t, rng, i, n)
		objs = append(objs, sampleObject{key, body})
		want[key] = jsonLines(t, body)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(objs); i += 2 {
				if _, err := addObject(ctx, s, objs[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows := readTable(t, root, TableResolver)
	total := 0
	for _, w := range want {
		total += len(w)
	}
	if len(rows) != total {
		t.Fatalf("read %d rows, wrote %d", len(rows), total)
	}
	checkResolverRows(t, rows, want)
	if n := pool.recycled.Load(); n < int64(total/resolverSlabLen/2) {
		t.Errorf("%d blocks recycled for %d rows: the test does not exercise recycling", n, total)
	}
	t.Logf("%d rows, %d blocks recycled", total, pool.recycled.Load())
}

// resolverLines is n Resolver query-log records of object i, as JSON lines: every string distinct,
// 0-4 answers (sometimes 40), srcids and srcport sometimes absent, times either side of midnight.
func resolverLines(t *testing.T, rng *rand.Rand, i, n int) []byte {
	t.Helper()
	base := time.Date(2022, 10, 13, 23, 59, 0, 0, time.UTC)
	var buf bytes.Buffer
	for j := range n {
		id := fmt.Sprintf("%d-%d", i, j)
		m := map[string]any{
			"version": "1.100000", "account_id": "123456789012", "region": "us-east-1", "vpc_id": "vpc-0a",
			"query_timestamp": base.Add(time.Duration(rng.IntN(120)) * time.Second).Format(time.RFC3339),
			"query_name":      "q" + id + ".example.com.", "query_type": "A", "query_class": "IN", "rcode": "NOERROR",
			"srcaddr": fmt.Sprintf("10.0.%d.%d", i, j%250), "transport": "UDP",
		}
		na := rng.IntN(5)
		if rng.IntN(50) == 0 {
			na = 40
		}
		var answers []map[string]string
		for k := range na {
			answers = append(answers, map[string]string{"Rdata": fmt.Sprintf("192.0.2.%d/%s", k, id), "Type": "A", "Class": "IN"})
		}
		m["answers"] = answers
		if rng.IntN(4) != 0 {
			m["srcport"] = fmt.Sprint(1024 + rng.IntN(60000))
		}
		switch rng.IntN(3) {
		case 0:
			m["srcids"] = map[string]string{"instance": "i-" + id}
		case 1:
			m["srcids"] = map[string]string{"resolver_endpoint": "rslvr-in-" + id, "resolver_network_interface": "rni-" + id}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
