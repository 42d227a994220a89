package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// TestDegenerateObjectQuarantined: a tiny gzip of {"Records":[{},{},…]} (200,000 empty records)
// is refused by the record budget while it streams, quarantined with its class and counted; it
// writes no row, and the good object beside it is written and acknowledged as usual.
func TestDegenerateObjectQuarantined(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := store.NewLocal(dir)
	const bucket = "org-archive"
	var b bytes.Buffer
	b.WriteString(`{"Records":[{}`)
	b.WriteString(strings.Repeat(`,{}`, 200_000-1))
	b.WriteString(`]}`)
	degenerate := gz(t, b.Bytes())
	if len(degenerate) > 64<<10 {
		t.Fatalf("the degenerate object is %d bytes gzipped: not the tiny poison the test is about", len(degenerate))
	}
	const badKey = "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1100Z_emptyemptyempty1.json.gz"
	const goodKey = "AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2023/07/10/111111111111_CloudTrail_us-east-1_20230710T1105Z_goodgoodgoodgood.json.gz"
	src.Put(ctx, bucket, badKey, degenerate, nil)
	src.Put(ctx, bucket, goodKey, gz(t, []byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2023-07-10T11:00:00Z","eventName":"X"},{"eventVersion":"1.08","eventTime":"2023-07-10T11:01:00Z","eventName":"Y"}]}`)), nil)

	lake := t.TempDir()
	sk, err := sink.New(sink.Options{Dest: store.Location{Store: store.NewLocal(lake), Bucket: "lake"}})
	if err != nil {
		t.Fatal(err)
	}
	qdir := t.TempDir()
	p, err := New(Options{Store: src, Sink: ParquetSink{S: sk}, Quarantine: store.Location{Store: store.NewLocal(qdir), Prefix: "q/"}})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := processAll(t, ctx, p, src, bucket, 2, sk.Flush)
	n, quarantined := kinds(outcomes)
	if len(outcomes) != 2 || n[ack.Durable] != 1 || !slices.Equal(quarantined, []string{badKey}) {
		t.Fatalf("outcomes: %d objects, %v, quarantined %v", len(outcomes), n, quarantined)
	}
	q := outcomes[badKey]
	if q.Class != "record_budget" {
		t.Fatalf("quarantined %s as %q, want the degenerate object as record_budget", badKey, q.Class)
	}
	var be *sink.BudgetError
	if !errors.As(q.Err, &be) || be.What != "untimed rows" {
		t.Errorf("quarantine error %v does not carry the budget error", q.Err)
	}
	if _, err := os.Stat(filepath.Join(qdir, "q", QuarantineKey(q.Class, bucket, badKey))); err != nil {
		t.Errorf("no quarantined copy: %v", err)
	}
	if n := p.Stats().Get(parse.SourceCloudTrail, "errors_record_budget"); n != 1 {
		t.Errorf("errors_record_budget = %d, want 1", n)
	}
	if err := sk.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := sk.Stats()
	if st.RowsWritten != 2 || st.BufferedBytes != 0 {
		t.Errorf("%+v: want the good object's 2 rows written and nothing left counted", st)
	}
}
