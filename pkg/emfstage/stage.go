// Package emfstage makes the metric filters' samples follow their rows: an object's samples are
// held until the transaction holding its rows commits, published once then, and never for an
// attempt that was rolled back. Between processing and commit they are also written to a small
// object per input object in the ledger's location, so that a worker killed after the commit and
// before publishing leaves them to the next delivery of the object's message: the ledger then says
// the object is done, and the samples are published from that object instead of being lost.
//
// The order per object is: samples staged in memory as the rules run → Persist (before the rows can
// commit) → commit → Publish (EMF documents written, then the persisted copy deleted) → the
// message is deleted. The one window left: a crash after the documents are written and before the
// copy is deleted publishes the samples twice on redelivery (one S3 DELETE long). A message that
// goes to the dead-letter queue after a crash in the window before it leaves its copy behind;
// redriving it publishes them.
package emfstage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/store"
)

// Publisher is where samples go once their rows are committed (*emf.Aggregator).
type Publisher interface {
	Add(d emf.Datum) error
	// Flush writes what was added, so that it is out before the message is deleted.
	Flush() error
}

// Stage holds samples per object. It implements rules.LineageMetricSink. It is safe for concurrent use.
type Stage struct {
	out Publisher
	loc store.Location // where persisted copies go: <loc>samples/<hash of bucket and key>.json

	mu      sync.Mutex
	pending map[object][]emf.Datum
	saved   map[object]bool
}

type object struct{ bucket, key string }

// New returns a Stage publishing to out and persisting under loc (a zero loc: memory only, for
// runs without a ledger).
func New(out Publisher, loc store.Location) *Stage {
	return &Stage{out: out, loc: loc, pending: map[object][]emf.Datum{}, saved: map[object]bool{}}
}

// Add publishes a sample that belongs to no object at once.
func (s *Stage) Add(d emf.Datum) error { return s.out.Add(d) }

// AddFor stages a sample of the object lin.
func (s *Stage) AddFor(lin rules.Lineage, d emf.Datum) error {
	o := object{lin.Bucket, lin.Key}
	s.mu.Lock()
	s.pending[o] = append(s.pending[o], d)
	s.mu.Unlock()
	return nil
}

func (s *Stage) path(o object) string {
	h := sha256.Sum256([]byte(o.bucket + "\x00" + o.key))
	return s.loc.Key("samples/" + hex.EncodeToString(h[:16]) + ".json")
}

// copyBody is a persisted copy.
type copyBody struct {
	Bucket  string      `json:"bucket"`
	Key     string      `json:"key"`
	Samples []emf.Datum `json:"samples"`
}

// Persist writes the object's staged samples (if any) to its copy. Call it after the object was
// processed and before its rows can commit.
func (s *Stage) Persist(ctx context.Context, bucket, key string) error {
	o := object{bucket, key}
	s.mu.Lock()
	ds := s.pending[o]
	s.mu.Unlock()
	if len(ds) == 0 || s.loc.Store == nil {
		return nil
	}
	body, err := json.Marshal(copyBody{Bucket: bucket, Key: key, Samples: ds})
	if err != nil {
		return err
	}
	if err := s.loc.Store.Put(ctx, s.loc.Bucket, s.path(o), body, nil); err != nil {
		return fmt.Errorf("persist metric samples of s3://%s/%s: %w", bucket, key, err)
	}
	s.mu.Lock()
	s.saved[o] = true
	s.mu.Unlock()
	return nil
}

// Discard forgets the samples of an attempt that will not commit (it failed, was retried, or the
// object was quarantined). A persisted copy is left: the next attempt overwrites it, and only a
// committed attempt's copy is ever published.
func (s *Stage) Discard(bucket, key string) {
	o := object{bucket, key}
	s.mu.Lock()
	delete(s.pending, o)
	delete(s.saved, o)
	s.mu.Unlock()
}

// Publish publishes the samples of an object whose rows are committed: the ones staged by this
// process, or — when it did not process the object in this life (a redelivery after a crash; the
// ledger said "done before") — the persisted copy. It returns once the documents are written and
// the copy is deleted. err means the samples may not be out (the caller retries the message); warn
// reports what publishing again would not cure (samples refused as invalid, a copy that could not
// be deleted).
func (s *Stage) Publish(ctx context.Context, bucket, key string) (n int, warn, err error) {
	o := object{bucket, key}
	s.mu.Lock()
	ds, staged := s.pending[o]
	saved := s.saved[o]
	delete(s.pending, o)
	delete(s.saved, o)
	s.mu.Unlock()
	if !staged && s.loc.Store != nil {
		if ds, saved, err = s.load(ctx, o); err != nil {
			return 0, nil, err
		}
	}
	if len(ds) == 0 {
		return 0, nil, nil
	}
	var warns []error
	for _, d := range ds {
		if err := s.out.Add(d); err != nil {
			warns = append(warns, err)
		}
	}
	if err := s.out.Flush(); err != nil {
		return 0, nil, err
	}
	if saved {
		if err := s.loc.Store.Delete(ctx, s.loc.Bucket, s.path(o)); err != nil {
			warns = append(warns, fmt.Errorf("delete published metric samples: %w", err))
		}
	}
	return len(ds), errors.Join(warns...), nil
}

// PublishStaged is Publish for an object this process processed and committed itself: its samples,
// if it had any, are staged here, so an object without them costs no read of the store (a GET per
// object otherwise, docs/worker.md "Cost model").
func (s *Stage) PublishStaged(ctx context.Context, bucket, key string) (n int, warn, err error) {
	o := object{bucket, key}
	s.mu.Lock()
	_, staged := s.pending[o]
	if !staged {
		delete(s.saved, o)
	}
	s.mu.Unlock()
	if !staged {
		return 0, nil, nil
	}
	return s.Publish(ctx, bucket, key)
}

func (s *Stage) load(ctx context.Context, o object) ([]emf.Datum, bool, error) {
	rc, _, err := s.loc.Store.Get(ctx, s.loc.Bucket, s.path(o))
	if store.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read metric samples of s3://%s/%s: %w", o.bucket, o.key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return nil, false, err
	}
	var c copyBody
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&c); err != nil {
		return nil, true, fmt.Errorf("metric samples of s3://%s/%s: %w", o.bucket, o.key, err)
	}
	if c.Bucket != o.bucket || c.Key != o.key {
		return nil, true, nil // a hash collision: not this object's
	}
	return c.Samples, true, nil
}
