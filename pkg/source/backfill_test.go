package source

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logarchive/logarchive/pkg/store"

	"github.com/logarchive/logarchive/pkg/ack"
)

// sendQueue records SendMessageBatch bodies; failAfter > 0 makes the call after that many fail.
type sendQueue struct {
	fakeSQS
	mu        sync.Mutex
	bodies    []string
	calls     int
	failAfter int
}

func (q *sendQueue) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.failAfter > 0 && q.calls > q.failAfter {
		return nil, errors.New("queue unavailable")
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		q.bodies = append(q.bodies, aws.ToString(e.MessageBody))
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func TestBackfillEnqueueResumes(t *testing.T) {
	ctx := context.Background()
	s := store.NewLocal(t.TempDir())
	var keys []string
	for i := 0; i < 25; i++ {
		// Keys with the characters S3 form-encodes: space, '+', '='.
		k := fmt.Sprintf("AWSLogs/aws-account-id=1/x/file %02d+v.log.gz", i)
		keys = append(keys, k)
		if err := s.Put(ctx, "logs", k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "logs", "other/ignored", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	o := BackfillOptions{Store: s, Bucket: "logs", Prefix: "AWSLogs/", State: store.Location{Store: s, Bucket: "out", Prefix: "_ledger/"}, Every: 10}
	q := &sendQueue{failAfter: 2} // 10 objects per batch, 10 per call: the second batch fails
	st, err := EnqueueBackfill(ctx, o, q, "q")
	if err == nil || st.Finished {
		t.Fatalf("first run: %+v, %v; want a failure", st, err)
	}
	q.failAfter = 0
	st, err = EnqueueBackfill(ctx, o, q, "q")
	if err != nil || !st.Finished {
		t.Fatalf("resumed run: %+v, %v", st, err)
	}
	var got []string
	for _, b := range q.bodies {
		n, err := ParseMessage([]byte(b))
		if err != nil {
			t.Fatalf("backfill notification does not parse: %v\n%s", err, b)
		}
		for _, obj := range n.Objects {
			got = append(got, obj.Key)
		}
	}
	sort.Strings(got)
	// Resumed after the last saved checkpoint: the first 10 are not sent twice, and all 25 arrive.
	if strings.Join(got, "|") != strings.Join(keys, "|") {
		t.Fatalf("enqueued keys\n%q\nwant\n%q", got, keys)
	}
	st, err = EnqueueBackfill(ctx, o, q, "q")
	if err != nil || !st.Finished || len(q.bodies) != 25 {
		t.Fatalf("third run must do nothing: %+v %v, %d bodies", st, err, len(q.bodies))
	}
}

func TestBackfillTimeRange(t *testing.T) {
	ctx := context.Background()
	s := store.NewLocal(t.TempDir())
	for _, k := range []string{"a", "b"} {
		if err := s.Put(ctx, "logs", k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tests := []struct {
		name       string
		start, end time.Time
		want       int
	}{
		{"open", time.Time{}, time.Time{}, 2},
		{"in range", now.Add(-time.Hour), now.Add(time.Hour), 2},
		{"future", now.Add(time.Hour), time.Time{}, 0},
		{"past", time.Time{}, now.Add(-time.Hour), 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &sendQueue{}
			o := BackfillOptions{Store: s, Bucket: "logs", Start: tc.start, End: tc.end, State: store.Location{Store: s, Bucket: "out", Prefix: fmt.Sprintf("s%d/", i)}}
			st, err := EnqueueBackfill(ctx, o, q, "q")
			if err != nil || len(q.bodies) != tc.want || st.Done != int64(tc.want) {
				t.Fatalf("%d enqueued (%+v, %v), want %d", len(q.bodies), st, err, tc.want)
			}
		})
	}
	o := BackfillOptions{Store: s, Bucket: "logs", Start: now, End: now.Add(-time.Hour), State: store.Location{Store: s, Bucket: "out"}}
	if _, err := EnqueueBackfill(ctx, o, &sendQueue{}, "q"); err == nil {
		t.Fatal("end before start accepted")
	}
}

func TestProcessBackfill(t *testing.T) {
	ctx := context.Background()
	s := store.NewLocal(t.TempDir())
	for i := 0; i < 7; i++ {
		if err := s.Put(ctx, "logs", fmt.Sprintf("k%d", i), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := map[string]int{}
	var held []ack.Done
	h := &funcHandler{
		handle: func(ctx context.Context, obj ObjectRef, attempt int, done ack.Done) {
			mu.Lock()
			defer mu.Unlock()
			calls[obj.Key]++
			switch {
			case obj.Key == "k3" && calls[obj.Key] == 1:
				done(ack.Outcome{Kind: ack.Retry, Class: "transient"}) // succeeds on the second attempt
			case obj.Key == "k5":
				done(ack.Outcome{Kind: ack.Retry, Class: "transient"}) // never succeeds
			default:
				held = append(held, done) // durable at the next commit
			}
		},
		drain: func(ctx context.Context) error {
			mu.Lock()
			hs := held
			held = nil
			mu.Unlock()
			for _, d := range hs {
				d(ack.Ok(""))
			}
			return nil
		},
	}
	o := BackfillOptions{Store: s, Bucket: "logs", State: store.Location{Store: s, Bucket: "out"}, Every: 3}
	st, err := ProcessBackfill(ctx, o, h, 2)
	if err != nil || !st.Finished || st.Done != 6 || strings.Join(st.Failed, ",") != "k5" {
		t.Fatalf("state %+v, %v", st, err)
	}
	if calls["k3"] != 2 || calls["k5"] != 3 || calls["k0"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}
