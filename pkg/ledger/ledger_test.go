package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/store"
)

// env is one store shared by several simulated worker processes.
type env struct {
	t      *testing.T
	loc    store.Location
	out    store.Location // where "Parquet files" go
	bucket string
}

func localEnv(t *testing.T) *env {
	s := store.NewLocal(t.TempDir())
	return &env{t: t, bucket: "out", loc: store.Location{Store: s, Bucket: "out", Prefix: "_ledger/"},
		out: store.Location{Store: s, Bucket: "out", Prefix: "tables/"}}
}

// open starts a worker; skew shifts its clock, so a worker far in the future sees every other lease
// as expired (the others are "dead" to it).
func (e *env) open(name string, skew time.Duration) *Ledger {
	e.t.Helper()
	l, err := Open(context.Background(), Options{Loc: e.loc, Owner: name, LeaseTTL: time.Minute,
		Now: func() time.Time { return time.Now().Add(skew) }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// crash stops a worker's lease renewal without dropping the lease, as kill -9 would.
func crash(l *Ledger) {
	close(l.stop)
	l.wg.Wait()
}

// expire makes every other worker see l's lease as expired (as LeaseTTL after its last renewal).
func (e *env) expire(l *Ledger) {
	e.t.Helper()
	if err := e.loc.Store.Delete(context.Background(), e.loc.Bucket, e.loc.Key("owners/"+l.Owner())); err != nil {
		e.t.Fatal(err)
	}
}

// t0 is the time the test inputs were announced at.
var t0 = time.Date(2026, 3, 2, 8, 5, 0, 0, time.UTC)

func (e *env) claim(l *Ledger, in ack.Ref, want Decision) {
	e.t.Helper()
	d, err := l.Claim(context.Background(), in, t0)
	if err != nil {
		e.t.Fatalf("%s claim %s: %v", l.Owner(), in.Key, err)
	}
	if d != want {
		e.t.Fatalf("%s claim %s = %v, want %v", l.Owner(), in.Key, d, want)
	}
}

// writeFiles makes a checkpoint's files visible, as the sink does between the hooks.
func (e *env) writeFiles(files []File) {
	e.t.Helper()
	for _, f := range files {
		if err := e.out.Store.Put(context.Background(), f.Bucket, f.Key, []byte("rows"), nil); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) exists(f File) bool {
	_, err := e.out.Store.Head(context.Background(), f.Bucket, f.Key)
	if err != nil && !store.IsNotFound(err) {
		e.t.Fatal(err)
	}
	return err == nil
}

func (e *env) files(c string, n int) []File {
	var fs []File
	for i := 0; i < n; i++ {
		fs = append(fs, File{Bucket: e.bucket, Key: fmt.Sprintf("%s%s-%d.parquet", e.out.Prefix, c, i)})
	}
	return fs
}

var (
	inA = ack.Ref{Bucket: "logs", Key: "AWSLogs/1/CloudTrail/a.json.gz", ETag: `"e1"`, Size: -1}
	inB = ack.Ref{Bucket: "logs", Key: "AWSLogs/1/CloudTrail/b b+c.json.gz", ETag: "e2", VersionID: "v2", Size: 10}
)

// checkpoint runs one sink checkpoint holding ins and marks them durable, as the worker does before
// a seal.
func checkpoint(t *testing.T, e *env, l *Ledger, ins []ack.Ref, files []File) {
	t.Helper()
	ctx := context.Background()
	if err := l.BeforeCommit(ctx, ins, files); err != nil {
		t.Fatal(err)
	}
	e.writeFiles(files)
	l.AfterCommit()
	for _, in := range ins {
		if acked, err := l.Finish(ctx, in, ack.Durable); err != nil || acked {
			t.Fatalf("finish %s before seal = %v, %v; want no ack yet", in.Key, acked, err)
		}
	}
}

// commit runs one sink checkpoint holding ins and seals the transaction.
func commit(t *testing.T, e *env, l *Ledger, ins []ack.Ref, files []File) {
	t.Helper()
	checkpoint(t, e, l, ins, files)
	sealed, err := l.Seal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(ins) {
		t.Fatalf("seal acknowledged %d inputs, want %d", len(sealed), len(ins))
	}
}

func TestLedger(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"commit then redelivery is done", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			e.claim(w, inA, Busy) // duplicate message while in flight
			commit(t, e, w, []ack.Ref{inA}, e.files("c1", 2))
			e.claim(w, inA, Done)
			e.claim(e.open("w2", 0), inA, Done)
			// Same key, new content: new work.
			e.claim(w, ack.Ref{Bucket: inA.Bucket, Key: inA.Key, ETag: "e9"}, Process)
		}},
		{"etag quotes do not matter", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, ack.Ref{Bucket: "b", Key: "k", ETag: `"x"`}, Process)
			e.claim(w, ack.Ref{Bucket: "b", Key: "k", ETag: "x"}, Busy)
		}},
		{"crash after files visible rolls back", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			e.claim(w1, inB, Process)
			files := e.files("c1", 3)
			if err := w1.BeforeCommit(ctx, []ack.Ref{inA, inB}, files); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(files[:2]) // killed while the third file uploads
			crash(w1)
			// While w1's lease is fresh, another worker must wait.
			e.claim(e.open("w2", 0), inA, Busy)
			e.expire(w1)
			w3 := e.open("w3", 0)
			e.claim(w3, inB, Process)
			for _, f := range files {
				if e.exists(f) {
					t.Fatalf("%s of the dead checkpoint is still visible", f.Key)
				}
			}
			e.claim(w3, inA, Process)
			commit(t, e, w3, []ack.Ref{inA, inB}, e.files("c2", 1))
			e.claim(e.open("w4", 0), inA, Done)
		}},
		{"crash after commit marker acknowledges", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			files := e.files("c1", 1)
			commit(t, e, w1, []ack.Ref{inA}, files)
			crash(w1) // before deleting the message
			e.expire(w1)
			e.claim(e.open("w2", 0), inA, Done)
			if !e.exists(files[0]) {
				t.Fatal("committed file was deleted")
			}
		}},
		{"crash before any checkpoint leaves no trace", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			crash(w1)
			// Claims write nothing: the next receiver processes at once, whatever w1's lease says.
			e.claim(e.open("w2", 0), inA, Process)
		}},
		{"one input processed twice commits once", func(t *testing.T, e *env) {
			// A duplicate notification reaches two live workers at once: both process it.
			w1, w2 := e.open("w1", 0), e.open("w2", 0)
			e.claim(w1, inA, Process)
			e.claim(w2, inA, Process)
			f1, f2 := e.files("c1", 1), e.files("c2", 1)
			commit(t, e, w1, []ack.Ref{inA}, f1)
			checkpoint(t, e, w2, []ack.Ref{inA}, f2)
			if _, err := w2.Seal(ctx); !errors.Is(err, ErrAborted) || !errors.Is(err, ErrConflict) {
				t.Fatalf("second seal = %v, want ErrAborted and ErrConflict", err)
			}
			if !e.exists(f1[0]) || e.exists(f2[0]) {
				t.Fatal("the committed file must stay and the conflicting one go")
			}
			e.claim(w2, inA, Done)
		}},
		{"announcements less than an hour apart meet", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			if d, err := w1.Claim(ctx, inA, time.Date(2026, 3, 2, 8, 59, 50, 0, time.UTC)); err != nil || d != Process {
				t.Fatal(d, err)
			}
			commit(t, e, w1, []ack.Ref{inA}, e.files("c1", 1))
			// The same object announced with a time in the next hour (an eventTime after LastModified).
			if d, err := e.open("w2", 0).Claim(ctx, inA, time.Date(2026, 3, 2, 9, 0, 20, 0, time.UTC)); err != nil || d != Done {
				t.Fatalf("claim in the next hour = %v, %v; want done", d, err)
			}
		}},
		{"clean shutdown hands over at once", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			if err := w1.Close(ctx); err != nil {
				t.Fatal(err)
			}
			e.claim(e.open("w2", 0), inA, Process)
		}},
		{"zombie cannot commit after takeover", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			e.claim(w1, inB, Process)
			if err := w1.BeforeCommit(ctx, []ack.Ref{inA, inB}, e.files("c1", 1)); err != nil {
				t.Fatal(err)
			}
			w1.AfterCommit()
			e.expire(w1) // w1 stalls: the others presume it dead
			w2 := e.open("w2", 0)
			e.claim(w2, inA, Process) // aborts w1's transaction
			err := w1.BeforeCommit(ctx, []ack.Ref{inA, inB}, e.files("c2", 1))
			if !errors.Is(err, ErrFenced) {
				t.Fatalf("zombie BeforeCommit = %v, want ErrFenced", err)
			}
			// The zombie's other input is free at once: its transaction was decided aborted.
			e.claim(e.open("w3", 0), inB, Process)
			if acked, _ := w1.Finish(ctx, inA, ack.Retry); acked {
				t.Fatal("fenced input acknowledged")
			}
		}},
		{"zombie commit loses to abort", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			files := e.files("c1", 1)
			if err := w1.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
				t.Fatal(err)
			}
			e.expire(w1)
			w2 := e.open("w2", 0)
			e.claim(w2, inA, Process) // aborts c1
			e.writeFiles(files)       // the zombie's upload lands late
			w1.AfterCommit()
			if acked, _ := w1.Finish(ctx, inA, ack.Durable); acked {
				t.Fatal("input acknowledged before its transaction committed")
			}
			if sealed, err := w1.Seal(ctx); !errors.Is(err, ErrFenced) || len(sealed) != 0 {
				t.Fatalf("zombie Seal = %v, %v; want ErrFenced", sealed, err)
			}
			if e.exists(files[0]) {
				t.Fatal("the zombie's late file is still visible")
			}
		}},
		{"inputs without rows are acknowledged at once and recorded at the seal", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			e.claim(w, inB, Process)
			if acked, err := w.Finish(ctx, inA, ack.Durable); err != nil || !acked {
				t.Fatal(acked, err)
			}
			if acked, err := w.Finish(ctx, inB, ack.Quarantined); err != nil || !acked {
				t.Fatal(acked, err)
			}
			// Recorded at the next seal, with no write of their own: until then another worker
			// would process them again (to the same result, with no rows written).
			w2 := e.open("w2", 0)
			e.claim(w2, inA, Process)
			if acked, err := w2.Finish(ctx, inA, ack.Retry); err != nil || acked {
				t.Fatal(acked, err)
			}
			if !w.Pending() {
				t.Fatal("inputs without rows are not waiting for the seal")
			}
			if sealed, err := w.Seal(ctx); err != nil || len(sealed) != 0 {
				t.Fatalf("seal = %v, %v", sealed, err)
			}
			w3 := e.open("w3", 0) // w2's view of the index may be IndexMaxAge old
			e.claim(w3, inA, Done)
			e.claim(w3, inB, Done)
		}},
		{"failed input is released to live workers", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			if acked, err := w1.Finish(ctx, inA, ack.Retry); err != nil || acked {
				t.Fatal(acked, err)
			}
			e.claim(e.open("w2", 0), inA, Process)
		}},
		{"own stale attempt is retaken", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			w1.mu.Lock()
			delete(w1.claims, hashOf(inA)) // lost track
			w1.mu.Unlock()
			e.claim(w1, inA, Process)
		}},
		{"unclaimed input cannot enter a checkpoint", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, nil); err == nil {
				t.Fatal("BeforeCommit accepted an input this process does not own")
			}
		}},
		{"recover removes dead transactions", func(t *testing.T, e *env) {
			w1 := e.open("w1", 0)
			e.claim(w1, inA, Process)
			e.claim(w1, inB, Process)
			kept := e.files("c2", 1)
			commit(t, e, w1, []ack.Ref{inB}, kept)
			dead := e.files("c1", 2)
			if err := w1.BeforeCommit(ctx, []ack.Ref{inA}, dead); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(dead)
			crash(w1)
			if n, err := e.open("w2", 0).Recover(ctx); err != nil || n != 0 {
				t.Fatalf("recover with a live owner = %d, %v; want 0", n, err)
			}
			e.expire(w1)
			n, err := e.open("w3", 0).Recover(ctx)
			if err != nil || n != 1 {
				t.Fatalf("recover = %d, %v; want 1", n, err)
			}
			if e.exists(dead[0]) || e.exists(dead[1]) || !e.exists(kept[0]) {
				t.Fatal("recover deleted the wrong files")
			}
		}},
		{"one transaction spans checkpoints", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			e.claim(w, inB, Process)
			// inA's rows land in two files written by two sink checkpoints (two days, say).
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, e.files("c1", 1)); err != nil {
				t.Fatal(err)
			}
			w.AfterCommit()
			if err := w.BeforeCommit(ctx, []ack.Ref{inA, inB}, e.files("c2", 1)); err != nil {
				t.Fatal(err)
			}
			w.AfterCommit()
			for _, in := range []ack.Ref{inA, inB} {
				if acked, err := w.Finish(ctx, in, ack.Durable); err != nil || acked {
					t.Fatal(acked, err)
				}
			}
			e.claim(e.open("w2", 0), inA, Busy) // undecided, owner alive
			sealed, err := w.Seal(ctx)
			if err != nil || len(sealed) != 2 {
				t.Fatalf("seal = %v, %v", sealed, err)
			}
			e.claim(e.open("w3", 0), inA, Done)
			e.claim(e.open("w4", 0), inB, Done)
		}},
		{"seal with an unfinished input rolls back", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			e.claim(w, inB, Process)
			files := e.files("c1", 2)
			if err := w.BeforeCommit(ctx, []ack.Ref{inA, inB}, files); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(files)
			w.Finish(ctx, inA, ack.Durable)
			if _, err := w.Seal(ctx); !errors.Is(err, ErrAborted) {
				t.Fatalf("seal = %v, want ErrAborted", err)
			}
			if e.exists(files[0]) || e.exists(files[1]) {
				t.Fatal("files of an aborted transaction still visible")
			}
			w2 := e.open("w2", 0)
			e.claim(w2, inA, Process)
			e.claim(w2, inB, Process)
		}},
		{"failed input with rows breaks the transaction", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			files := e.files("c1", 1)
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(files)
			if acked, _ := w.Finish(ctx, inA, ack.Retry); acked {
				t.Fatal("failed input acknowledged")
			}
			if _, err := w.Seal(ctx); !errors.Is(err, ErrAborted) {
				t.Fatalf("seal = %v, want ErrAborted", err)
			}
			if e.exists(files[0]) {
				t.Fatal("file still visible")
			}
		}},
		{"failed sink checkpoint voids the transaction", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			e.claim(w, inB, Process)
			files := e.files("c1", 2)
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(files[:1]) // the second upload fails: no AfterCommit
			if err := w.BeforeCommit(ctx, []ack.Ref{inA, inB}, e.files("c2", 1)); err == nil {
				t.Fatal("BeforeCommit accepted a checkpoint after a failed one")
			}
			if w.Broken() == nil {
				t.Fatal("transaction not marked broken")
			}
			if _, err := w.Seal(ctx); !errors.Is(err, ErrAborted) {
				t.Fatalf("seal = %v, want ErrAborted", err)
			}
			if e.exists(files[0]) {
				t.Fatal("file of the void transaction still visible")
			}
		}},
		{"abort frees inputs at once", func(t *testing.T, e *env) {
			w := e.open("w1", 0)
			e.claim(w, inA, Process)
			files := e.files("c1", 1)
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
				t.Fatal(err)
			}
			e.writeFiles(files)
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if e.exists(files[0]) {
				t.Fatal("file still visible")
			}
			e.claim(e.open("w2", 0), inA, Process)
		}},
	}
	for _, tc := range tests {
		t.Run("local/"+tc.name, func(t *testing.T) { tc.run(t, localEnv(t)) })
	}
	// The same protocol on moto_server, whose PutObject honours If-None-Match: *.
	newS3 := s3Env(t)
	for i, tc := range tests {
		t.Run("s3/"+tc.name, func(t *testing.T) { tc.run(t, newS3(t, i)) })
	}
}

// s3Env starts moto_server and returns a constructor of fresh environments, one bucket each.
func s3Env(t *testing.T) func(t *testing.T, i int) *env {
	srv := motoserver.Start(t)
	s := store.NewS3(srv.S3, store.S3Options{})
	return func(t *testing.T, i int) *env {
		bucket := fmt.Sprintf("ledger-%d", i)
		if _, err := srv.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		return &env{t: t, bucket: bucket, loc: store.Location{Store: s, Bucket: bucket, Prefix: "_ledger/"},
			out: store.Location{Store: s, Bucket: bucket, Prefix: "tables/"}}
	}
}

// TestSealRace: many live workers process the same object at once (duplicate notifications) and
// seal together; at most one transaction commits, and a later claim agrees with the outcome.
func TestSealRace(t *testing.T) {
	t.Run("local", func(t *testing.T) { sealRace(t, localEnv(t), nil) })
	t.Run("s3", func(t *testing.T) { sealRace(t, s3Env(t)(t, 100), nil) })
	// The same with a dead owner's undecided transaction holding the object: taken over once.
	t.Run("takeover", func(t *testing.T) {
		e := localEnv(t)
		w0 := e.open("w0", 0)
		e.claim(w0, inA, Process)
		dead := e.files("c0", 1)
		if err := w0.BeforeCommit(context.Background(), []ack.Ref{inA}, dead); err != nil {
			t.Fatal(err)
		}
		e.writeFiles(dead)
		crash(w0)
		e.expire(w0)
		sealRace(t, e, dead)
	})
}

func sealRace(t *testing.T, e *env, gone []File) {
	ctx := context.Background()
	const n = 8
	var ws []*Ledger
	for i := 0; i < n; i++ {
		w := e.open(fmt.Sprintf("w%d", i+1), 0)
		e.claim(w, inA, Process)
		ws = append(ws, w)
	}
	var committed atomic.Int32
	var wg sync.WaitGroup
	for i, w := range ws {
		files := e.files(fmt.Sprintf("r%d", i), 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
				return // fenced by a takeover: a correct outcome
			}
			e.writeFiles(files)
			w.AfterCommit()
			w.Finish(ctx, inA, ack.Durable)
			if _, err := w.Seal(ctx); err == nil {
				committed.Add(1)
			} else if !errors.Is(err, ErrAborted) && !errors.Is(err, ErrFenced) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := committed.Load()
	if got > 1 {
		t.Fatalf("%d transactions holding the same input committed", got)
	}
	want := Process
	if got == 1 {
		want = Done
	}
	e.claim(e.open("late", 0), inA, want)
	for _, f := range gone {
		if e.exists(f) {
			t.Fatalf("%s of the dead owner's transaction is still visible", f.Key)
		}
	}
	t.Logf("%d of %d transactions committed", got, n)
}

// BenchmarkClaimFinish measures the ledger's cost per input with no rows (claim + finish, which

// An input's hash names it in ledgers already written: its text stays hex(sha256(bucket NUL key NUL
// etag))[:32].
func TestHashOfText(t *testing.T) {
	long := strings.Repeat("k", 1500) // beyond hashOf's stack buffer
	for _, r := range []ack.Ref{{}, {Bucket: "b", Key: "AWSLogs/1/x.json.gz", ETag: `"abc-2"`}, {Bucket: "b", Key: long, ETag: "e"}} {
		sum := sha256.Sum256([]byte(r.Bucket + "\x00" + r.Key + "\x00" + ack.NormalizeETag(r.ETag)))
		if got, want := hashOf(r), hex.EncodeToString(sum[:16]); got != want {
			t.Errorf("hashOf(%.40q) = %s, want %s", r.Key, got, want)
		}
	}
}

// write nothing) on store.Local; the baseline is one bare conditional write, what a claim cost before.
func BenchmarkClaimFinish(b *testing.B) {
	ctx := context.Background()
	s := store.NewLocal(b.TempDir())
	loc := store.Location{Store: s, Bucket: "out", Prefix: "_ledger/"}
	seq := 0
	b.Run("baseline-PutIfAbsent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			seq++
			if _, err := s.PutIfAbsent(ctx, "out", fmt.Sprintf("base/%d", seq), []byte(`{"owner":"w"}`), nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
	})
	b.Run("Claim+Finish", func(b *testing.B) {
		l, err := Open(ctx, Options{Loc: loc, Owner: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close(ctx)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			seq++ // b.Run calls this body several times: keys must stay new
			in := ack.Ref{Bucket: "logs", Key: fmt.Sprintf("k/%d", seq), ETag: "e"}
			if d, err := l.Claim(ctx, in, t0); err != nil || d != Process {
				b.Fatal(d, err)
			}
			if acked, err := l.Finish(ctx, in, ack.Durable); err != nil || !acked {
				b.Fatal(acked, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
	})
}
