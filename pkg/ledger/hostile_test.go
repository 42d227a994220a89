package ledger

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/store"
)

// failCommitStore fails the first conditional write of a commit record, as S3 may (or as a commits
// directory made read-only does).
type failCommitStore struct {
	store.Store
	failed atomic.Bool
}

func (s *failCommitStore) PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (bool, error) {
	if strings.Contains(key, "/commits/") && s.failed.CompareAndSwap(false, true) {
		return false, &store.Error{Op: "put-if-absent", Bucket: bucket, Key: key, Kind: store.KindTransient, Err: errors.New("injected")}
	}
	return s.Store.PutIfAbsent(ctx, bucket, key, body, meta)
}

// TestSealFailureLeavesNothingVisible: when the commit record cannot be written, Seal fails and the
// transaction's files are gone at once (not left visible until another worker's recovery), and the
// input is processed again.
func TestSealFailureLeavesNothingVisible(t *testing.T) {
	e := localEnv(t)
	fs := &failCommitStore{Store: e.loc.Store}
	e.loc.Store = fs
	l := e.open("w1", 0)
	ctx := context.Background()
	e.claim(l, inA, Process)
	files := e.files("c1", 2)
	if err := l.BeforeCommit(ctx, []ack.Ref{inA}, files); err != nil {
		t.Fatal(err)
	}
	e.writeFiles(files)
	l.AfterCommit()
	if _, err := l.Finish(ctx, inA, ack.Durable); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Seal(ctx); err == nil {
		t.Fatal("Seal succeeded although its commit record failed")
	}
	for _, f := range files {
		if e.exists(f) {
			t.Fatalf("%s still visible after the failed seal", f.Key)
		}
	}
	e.claim(l, inA, Process)
}

// TestRecoverDropsDeadLeases: leases of owners killed without Close do not pile up; live ones stay.
func TestRecoverDropsDeadLeases(t *testing.T) {
	e := localEnv(t)
	dead := e.open("dead", 0)
	crash(dead)
	old := time.Now().Add(-5 * time.Minute) // its last renewal, well past the one-minute TTL
	if err := os.Chtimes(e.loc.Store.(*store.Local).Path(e.loc.Bucket, e.loc.Key("owners/dead")), old, old); err != nil {
		t.Fatal(err)
	}
	e.open("live", 0)
	later := e.open("later", 0)
	if _, err := later.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	var owners []string
	e.loc.Store.List(context.Background(), e.loc.Bucket, e.loc.Key("owners/"), "", func(i store.Info) error {
		owners = append(owners, strings.TrimPrefix(i.Key, e.loc.Key("owners/")))
		return nil
	})
	for _, o := range owners {
		if o == "dead" {
			t.Fatalf("dead owner's lease kept: %v", owners)
		}
	}
	if len(owners) != 2 {
		t.Fatalf("leases %v, want live and later", owners)
	}
}

// failDeleteStore refuses the first delete of a data file (not of the ledger's own records), as a
// lake bucket whose policy does not let the worker delete would, or S3 after its retries.
type failDeleteStore struct {
	store.Store
	ledger string // the ledger's prefix
	failed atomic.Bool
}

func (s *failDeleteStore) Delete(ctx context.Context, bucket, key string) error {
	if !strings.HasPrefix(key, s.ledger) && s.failed.CompareAndSwap(false, true) {
		return &store.Error{Op: "delete", Bucket: bucket, Key: key, Kind: store.KindTransient, Err: errors.New("injected AccessDenied")}
	}
	return s.Store.Delete(ctx, bucket, key)
}

// deadOwnerFiles leaves the files of an undecided transaction of inA behind a dead owner whose
// lease has run out: what the next claim of inA must roll back.
func (e *env) deadOwnerFiles() []File {
	w1 := e.open("w1", 0)
	e.claim(w1, inA, Process)
	files := e.files("c1", 2)
	if err := w1.BeforeCommit(context.Background(), []ack.Ref{inA}, files); err != nil {
		e.t.Fatal(err)
	}
	e.writeFiles(files)
	crash(w1)
	e.expire(w1)
	return files
}

// TestFailedRollbackIsFinishedBeforeReprocessing: when a dead owner's files cannot all be deleted,
// the claim fails; the next claim of the same worker, which finds the transaction already decided
// aborted by itself, finishes the rollback before it lets the input be processed again. Otherwise
// the aborted files would stay visible beside the input's new ones: its records twice.
func TestFailedRollbackIsFinishedBeforeReprocessing(t *testing.T) {
	e := localEnv(t)
	ctx := context.Background()
	files := e.deadOwnerFiles()

	fs := &failDeleteStore{Store: e.loc.Store, ledger: e.loc.Prefix}
	e.loc.Store = fs
	w2 := e.open("w2", 0)
	if d, err := w2.Claim(ctx, inA, t0); err == nil {
		t.Fatalf("claim = %v with a file that could not be deleted, want an error", d)
	}
	if !fs.failed.Load() {
		t.Fatal("no delete was refused")
	}
	e.claim(w2, inA, Process)
	for _, f := range files {
		if e.exists(f) {
			t.Fatalf("%s of the aborted transaction is still visible when its input is processed again", f.Key)
		}
	}
}

// deleteLog records the deletes that go through it.
type deleteLog struct {
	store.Store
	keys []string
}

func (s *deleteLog) Delete(ctx context.Context, bucket, key string) error {
	s.keys = append(s.keys, bucket+"/"+key)
	return s.Store.Delete(ctx, bucket, key)
}

// TestRollbackDeletesFilesThroughFiles: Options.Files decides which store deletes a rolled-back
// file, bucket by bucket; the ledger's own records stay with Loc.Store.
func TestRollbackDeletesFilesThroughFiles(t *testing.T) {
	e := localEnv(t)
	ctx := context.Background()
	files := e.deadOwnerFiles()

	lake := &deleteLog{Store: e.out.Store}
	w2, err := Open(ctx, Options{Loc: e.loc, Owner: "w2", LeaseTTL: time.Minute, Files: func(bucket string) store.Store {
		if bucket == e.bucket {
			return lake
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close(ctx)
	e.claim(w2, inA, Process)
	if len(lake.keys) != len(files) {
		t.Fatalf("deletes through Files: %v, want the %d files", lake.keys, len(files))
	}
	for i, f := range files {
		if lake.keys[i] != f.Bucket+"/"+f.Key || e.exists(f) {
			t.Fatalf("file %s: deletes %v, still there: %v", f.Key, lake.keys, e.exists(f))
		}
	}
}
