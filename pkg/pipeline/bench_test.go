package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"testing"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// discardSink takes rows and drops them: what is left of a benchmark over it is the pipeline's own
// cost.
type discardSink struct{}

type discardObject struct{ done ack.Done }

func (discardSink) Begin(_ ack.Ref, done ack.Done) ObjectWriter { return discardObject{done} }

func (discardObject) Add(context.Context, *parse.Record) error              { return nil }
func (discardObject) AddFinding(context.Context, sink.FindingRow) error     { return nil }
func (discardObject) AddIntegrity(context.Context, sink.IntegrityRow) error { return nil }
func (o discardObject) End()                                                { o.done(ack.Ok("durable")) }
func (o discardObject) Abort(out ack.Outcome)                               { o.done(out) }

// BenchmarkProcessSmallObject runs one-record CloudTrail objects, under keys as deep as real ones,
// from a local mirror through Process into a sink that drops the rows: one op is one object, so
// ns/op and allocs/op are the fixed cost an object pays whatever its records (fetch, decoder
// setup, begin and end), the cost that dominates a bucket of many small objects.
func BenchmarkProcessSmallObject(b *testing.B) {
	ctx := context.Background()
	const objects = 64
	local := store.NewLocal(b.TempDir())
	defer local.Close()
	keys := make([]string, objects)
	for i := range keys {
		keys[i] = fmt.Sprintf("AWSLogs/o-abc1234567/111122223333/CloudTrail/eu-west-1/2026/03/02/"+
			"111122223333_CloudTrail_eu-west-1_20260302T%04dZ_abcdefghij.json.gz", i)
		rec := fmt.Sprintf(`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T10:%02d:00Z",`+
			`"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1",`+
			`"sourceIPAddress":"192.0.2.1","eventID":"id-%d","recipientAccountId":"111122223333"}]}`, i%60, i)
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write([]byte(rec))
		w.Close()
		if err := local.Put(ctx, "bucket", keys[i], buf.Bytes(), nil); err != nil {
			b.Fatal(err)
		}
	}
	p, err := New(Options{Store: local, Sink: discardSink{}})
	if err != nil {
		b.Fatal(err)
	}
	var durable int
	var bad []ack.Outcome
	done := func(o ack.Outcome) {
		if o.Kind == ack.Durable {
			durable++
		} else {
			bad = append(bad, o)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := Input{Ref: ack.Ref{Bucket: "bucket", Key: keys[i%objects]}, Done: done}
		if err := p.Process(ctx, in); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if durable != i || len(bad) > 0 {
		b.Fatalf("%d objects durable of %d; others: %+v", durable, i, bad)
	}
	if got := p.Stats().Get(parse.SourceCloudTrail, "records"); got != int64(i) {
		b.Fatalf("%d records for %d objects", got, i)
	}
}
