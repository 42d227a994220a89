// Package ledger makes the worker's output exactly-once although SQS delivers at least once and a
// worker can die at any instant. It keeps, in the output store, a small record per input object and
// per checkpoint (a set of Parquet files made visible together), written with conditional writes
// (PutIfAbsent) so that every decision — who processes an object, whether a checkpoint counts — is
// taken by exactly one writer. It relies on S3's strong read-after-write consistency and on
// If-None-Match: * being atomic; nothing else (no DynamoDB, no clocks agreeing beyond a lease TTL).
//
// The protocol (see docs/worker.md for the failure analysis). A transaction groups every sink
// checkpoint written between two Seal calls, so an input whose rows land in several files (several
// tables, several days) is committed all at once:
//
//	inputs/<h>/<gen>      attempt gen at processing input h; holds its owner        (PutIfAbsent)
//	inputs/<h>/<gen>.x    how that attempt ended: in transaction T, "empty",
//	                      "quarantined", "abandoned" or "released"                  (PutIfAbsent)
//	intents/<T>           transaction T's inputs and final file keys, rewritten
//	                      before any further file of T becomes visible              (Put)
//	commits/<T>           "committed" or "aborted": the one decision on T           (PutIfAbsent)
//	owners/<id>           an owner's lease, rewritten every LeaseRefresh             (Put)
//
// A redelivered input whose attempt ended in a committed transaction is acknowledged without being
// processed; one whose transaction was aborted, or whose owner's lease expired, is taken over with
// the next generation after the dead owner's transaction is aborted and its files deleted.
package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/store"
)

// Options configure a Ledger.
type Options struct {
	// Loc is where the ledger lives, e.g. the output bucket under "_ledger/". Required.
	Loc store.Location
	// Owner names this process in the ledger; it must never be reused by another process. Default:
	// host name + random suffix.
	Owner string
	// LeaseTTL is how long an owner that stopped renewing its lease is still presumed alive. It must
	// exceed the longest pause a live worker can take between renewals (GC, network). Default 2m.
	LeaseTTL time.Duration
	// LeaseRefresh is how often the lease is rewritten. Default LeaseTTL/4.
	LeaseRefresh time.Duration
	// Parallel bounds concurrent ledger writes within one checkpoint. Default 16.
	Parallel int
	Logger   *slog.Logger
	// Now is the clock; default time.Now. Lease ages compare it with the store's LastModified.
	Now func() time.Time
}

// DefaultLeaseTTL is long enough to ride out a stalled network on Fargate and short enough that a
// crashed task's objects are taken over within a few visibility timeouts.
const DefaultLeaseTTL = 2 * time.Minute

func (o Options) withDefaults() Options {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.LeaseRefresh <= 0 {
		o.LeaseRefresh = o.LeaseTTL / 4
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [6]byte
		rand.Read(b[:])
		o.Owner = strings.Map(keySafe, host) + "-" + hex.EncodeToString(b[:])
	}
	return o
}

func keySafe(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
		return r
	}
	return '_'
}

// Input identifies one input object. ETag quotes are ignored.
type Input struct {
	Bucket, Key, ETag string
}

func (in Input) norm() Input { in.ETag = strings.Trim(in.ETag, `"`); return in }

// hash names an input's ledger directory: fixed length whatever the key, and no key characters.
func (in Input) hash() string {
	in = in.norm()
	h := sha256.Sum256([]byte(in.Bucket + "\x00" + in.Key + "\x00" + in.ETag))
	return hex.EncodeToString(h[:16])
}

// File is one output object of a checkpoint.
type File struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Decision is what Claim tells the caller to do with an input.
type Decision int

const (
	// Process: this process now owns the input; process it and report through the checkpoint hooks
	// and Finish.
	Process Decision = iota
	// Done: the input's output is already durable (or it needed none); acknowledge its message.
	Done
	// Busy: a live owner is working on it; try again later (its message becomes visible again).
	Busy
)

func (d Decision) String() string {
	switch d {
	case Process:
		return "process"
	case Done:
		return "done"
	case Busy:
		return "busy"
	}
	return "unknown"
}

// Outcome values written in an attempt's end marker.
const (
	endCheckpoint  = "checkpoint"
	endEmpty       = "empty"
	endQuarantined = "quarantined"
	endAbandoned   = "abandoned"
	endReleased    = "released"

	stateCommitted = "committed"
	stateAborted   = "aborted"
)

// ErrFenced means a checkpoint cannot commit because one of its inputs was taken over by another
// owner (this process was presumed dead), or the checkpoint was aborted by another owner. The caller
// must not make the checkpoint's files visible (BeforeCommit) or must treat them as gone (AfterCommit).
var ErrFenced = errors.New("ledger: checkpoint fenced off by another owner")

// Error is a failed ledger operation.
type Error struct {
	Op  string
	Key string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("ledger %s %s: %v", e.Op, e.Key, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

type attemptBody struct {
	Owner  string    `json:"owner"`
	Bucket string    `json:"bucket"`
	Key    string    `json:"key"`
	ETag   string    `json:"etag"`
	At     time.Time `json:"at"`
}

type endBody struct {
	End        string `json:"end"`
	Checkpoint string `json:"checkpoint,omitempty"`
	By         string `json:"by"`
}

type intentInput struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	ETag   string `json:"etag"`
	Gen    int    `json:"gen"`
}

type intentBody struct {
	Owner  string        `json:"owner"`
	At     time.Time     `json:"at"`
	Inputs []intentInput `json:"inputs"`
	Files  []File        `json:"files"`
}

type commitBody struct {
	State string    `json:"state"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// claim is an input this process owns.
type claim struct {
	gen     int
	txn     string // the transaction holding its rows, set by BeforeCommit
	durable bool   // the sink reported all its rows durable
}

// Ledger is safe for concurrent use.
type Ledger struct {
	opts Options
	loc  store.Location
	log  *slog.Logger

	mu     sync.Mutex
	claims map[Input]*claim

	// txMu serialises BeforeCommit, Finish of linked inputs and Seal; it is taken before mu.
	txMu sync.Mutex
	cur  *txn
	seq  int

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open writes this owner's lease and keeps renewing it until Close.
func Open(ctx context.Context, opts Options) (*Ledger, error) {
	if opts.Loc.Store == nil {
		return nil, errors.New("ledger: no store location")
	}
	opts = opts.withDefaults()
	l := &Ledger{opts: opts, loc: opts.Loc, log: opts.Logger, claims: map[Input]*claim{}, stop: make(chan struct{})}
	if err := l.renew(ctx); err != nil {
		return nil, err
	}
	l.wg.Add(1)
	go l.renewLoop()
	return l, nil
}

// Owner is this process's owner id.
func (l *Ledger) Owner() string { return l.opts.Owner }

func (l *Ledger) key(rel string) string { return l.loc.Key(rel) }

func (l *Ledger) renew(ctx context.Context) error {
	b, _ := json.Marshal(map[string]any{"owner": l.opts.Owner, "renewed": l.opts.Now().UTC(), "ttl_seconds": l.opts.LeaseTTL.Seconds()})
	k := l.key("owners/" + l.opts.Owner)
	if err := l.loc.Store.Put(ctx, l.loc.Bucket, k, b, nil); err != nil {
		return &Error{Op: "renew lease", Key: k, Err: err}
	}
	return nil
}

func (l *Ledger) renewLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.LeaseRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.LeaseRefresh)
			if err := l.renew(ctx); err != nil {
				l.log.Warn("lease renewal failed", "error", err.Error())
			}
			cancel()
		}
	}
}

// Close stops renewing the lease and deletes it, so that anything this process left unfinished is
// taken over at once instead of after LeaseTTL.
func (l *Ledger) Close(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	l.wg.Wait()
	k := l.key("owners/" + l.opts.Owner)
	if err := l.loc.Store.Delete(ctx, l.loc.Bucket, k); err != nil {
		return &Error{Op: "drop lease", Key: k, Err: err}
	}
	return nil
}

// alive reports whether owner's lease is fresh. This process is always alive to itself.
func (l *Ledger) alive(ctx context.Context, owner string) (bool, error) {
	if owner == l.opts.Owner {
		return true, nil
	}
	k := l.key("owners/" + owner)
	info, err := l.loc.Store.Head(ctx, l.loc.Bucket, k)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, &Error{Op: "read lease", Key: k, Err: err}
	}
	return l.opts.Now().Sub(info.LastModified) < l.opts.LeaseTTL, nil
}

func (l *Ledger) getJSON(ctx context.Context, k string, v any) (bool, error) {
	rc, _, err := l.loc.Store.Get(ctx, l.loc.Bucket, k)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, &Error{Op: "read", Key: k, Err: err}
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return false, &Error{Op: "read", Key: k, Err: err}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, &Error{Op: "decode", Key: k, Err: err}
	}
	return true, nil
}

// putNew writes v at k only if k does not exist; created is false when it did.
func (l *Ledger) putNew(ctx context.Context, k string, v any) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, &Error{Op: "encode", Key: k, Err: err}
	}
	created, err := l.loc.Store.PutIfAbsent(ctx, l.loc.Bucket, k, b, nil)
	if err != nil {
		return false, &Error{Op: "put-if-absent", Key: k, Err: err}
	}
	return created, nil
}

func attemptKey(h string, gen int) string { return fmt.Sprintf("inputs/%s/%06d", h, gen) }

// Claim decides what to do with an input announced to this process. On Process the input is owned
// by this process until Finish.
func (l *Ledger) Claim(ctx context.Context, in Input) (Decision, error) {
	in = in.norm()
	l.mu.Lock()
	if _, mine := l.claims[in]; mine {
		l.mu.Unlock()
		// A duplicate notification of an object this process is working on right now.
		return Busy, nil
	}
	l.mu.Unlock()
	h := in.hash()
	// Fast path: a never-seen input (the common case) costs one conditional PUT and no listing.
	created, err := l.putNew(ctx, l.key(attemptKey(h, 1)), l.attempt(in))
	if err != nil {
		return Busy, err
	}
	if created {
		return l.own(in, 1), nil
	}
	for round := 0; round < 4; round++ {
		d, next, err := l.resolve(ctx, in, h)
		if err != nil || d != Process {
			return d, err
		}
		created, err := l.putNew(ctx, l.key(attemptKey(h, next)), l.attempt(in))
		if err != nil {
			return Busy, err
		}
		if created {
			return l.own(in, next), nil
		}
		// Another process took the same generation a moment ago: look again.
	}
	return Busy, nil
}

func (l *Ledger) attempt(in Input) attemptBody {
	return attemptBody{Owner: l.opts.Owner, Bucket: in.Bucket, Key: in.Key, ETag: in.ETag, At: l.opts.Now().UTC()}
}

func (l *Ledger) own(in Input, gen int) Decision {
	l.mu.Lock()
	l.claims[in] = &claim{gen: gen}
	l.mu.Unlock()
	return Process
}

// resolve reads the latest attempt at h and returns Done, Busy, or Process with the generation to
// claim next (after closing the latest attempt when its owner is gone).
func (l *Ledger) resolve(ctx context.Context, in Input, h string) (Decision, int, error) {
	gen, hasEnd, err := l.latest(ctx, h)
	if err != nil {
		return Busy, 0, err
	}
	if gen == 0 {
		return Process, 1, nil
	}
	ak := l.key(attemptKey(h, gen))
	for {
		if hasEnd {
			var end endBody
			ok, err := l.getJSON(ctx, ak+".x", &end)
			if err != nil {
				return Busy, 0, err
			}
			if !ok {
				return Busy, 0, &Error{Op: "read", Key: ak + ".x", Err: errors.New("end marker listed but missing")}
			}
			switch end.End {
			case endEmpty, endQuarantined:
				return Done, 0, nil
			case endAbandoned, endReleased:
				return Process, gen + 1, nil
			case endCheckpoint:
				d, err := l.settle(ctx, end.Checkpoint)
				if err != nil || d != Process {
					return d, 0, err
				}
				return Process, gen + 1, nil
			default:
				return Busy, 0, &Error{Op: "decode", Key: ak + ".x", Err: fmt.Errorf("unknown end %q", end.End)}
			}
		}
		// The attempt has not ended: its owner is processing it, or died doing so.
		var a attemptBody
		ok, err := l.getJSON(ctx, ak, &a)
		if err != nil {
			return Busy, 0, err
		}
		if !ok {
			return Busy, 0, nil
		}
		if a.Owner == l.opts.Owner {
			l.mu.Lock()
			_, active := l.claims[in]
			l.mu.Unlock()
			if active {
				return Busy, 0, nil
			}
		} else {
			live, err := l.alive(ctx, a.Owner)
			if err != nil || live {
				return Busy, 0, err
			}
		}
		// Fence the dead attempt: if its owner was only paused, its BeforeCommit now fails.
		created, err := l.putNew(ctx, ak+".x", endBody{End: endAbandoned, By: l.opts.Owner})
		if err != nil {
			return Busy, 0, err
		}
		if created {
			l.log.Info("took over input from a dead owner", "bucket", in.Bucket, "key", in.Key, "owner", a.Owner, "gen", gen)
			return Process, gen + 1, nil
		}
		hasEnd = true // the owner ended it just now: read how
	}
}

// latest lists h's attempts and returns the highest generation and whether it has an end marker.
func (l *Ledger) latest(ctx context.Context, h string) (gen int, hasEnd bool, err error) {
	prefix := l.key("inputs/" + h + "/")
	ends := map[int]bool{}
	err = l.loc.Store.List(ctx, l.loc.Bucket, prefix, "", func(i store.Info) error {
		name := strings.TrimPrefix(i.Key, prefix)
		isEnd := strings.HasSuffix(name, ".x")
		g, perr := strconv.Atoi(strings.TrimSuffix(name, ".x"))
		if perr != nil {
			return nil // not ours
		}
		if isEnd {
			ends[g] = true
		}
		if g > gen {
			gen = g
		}
		return nil
	})
	if err != nil {
		return 0, false, &Error{Op: "list", Key: prefix, Err: err}
	}
	return gen, ends[gen], nil
}

// settle decides checkpoint c for a reader that found an input's attempt linked to it: Done when it
// committed, Process when it was (or is now) aborted and its files are gone, Busy while a live owner
// may still commit it or is still rolling it back.
func (l *Ledger) settle(ctx context.Context, c string) (Decision, error) {
	for round := 0; round < 3; round++ {
		var cb commitBody
		decided, err := l.getJSON(ctx, l.key("commits/"+c), &cb)
		if err != nil {
			return Busy, err
		}
		if decided && cb.State == stateCommitted {
			return Done, nil
		}
		var ib intentBody
		hasIntent, err := l.getJSON(ctx, l.key("intents/"+c), &ib)
		if err != nil {
			return Busy, err
		}
		if decided {
			// Aborted. The intent outlives the deletion of the files, so while it exists the files may
			// too; no input of c is reprocessed before they are gone, or a new checkpoint could write
			// files of the same name only to have them deleted.
			if !hasIntent {
				return Process, nil
			}
			if live, err := l.alive(ctx, cb.By); err != nil || live {
				if cb.By != l.opts.Owner {
					return Busy, err
				}
			}
			if err := l.rollback(ctx, c, ib); err != nil {
				return Busy, err
			}
			return Process, nil
		}
		if !hasIntent {
			// Links are written after the intent and the intent is deleted only after the decision,
			// so this is a decision being written right now.
			return Busy, nil
		}
		if live, err := l.alive(ctx, ib.Owner); err != nil || live {
			return Busy, err
		}
		state, err := l.abort(ctx, c, ib)
		if err != nil {
			return Busy, err
		}
		if state == stateCommitted {
			return Done, nil
		}
		if state == stateAborted {
			return Process, nil
		}
		// Aborted by someone else a moment ago: look again.
	}
	return Busy, nil
}

// abort decides checkpoint c as aborted unless it already was decided; when this call made the
// decision it deletes c's files and then its intent, and returns stateAborted. It returns
// stateCommitted when c had committed, and "" when another owner aborted it first.
func (l *Ledger) abort(ctx context.Context, c string, ib intentBody) (string, error) {
	ck := l.key("commits/" + c)
	created, err := l.putNew(ctx, ck, commitBody{State: stateAborted, By: l.opts.Owner, At: l.opts.Now().UTC()})
	if err != nil {
		return "", err
	}
	if !created {
		var cb commitBody
		if _, err := l.getJSON(ctx, ck, &cb); err != nil {
			return "", err
		}
		if cb.State == stateCommitted {
			l.deleteIntent(ctx, c)
			return stateCommitted, nil
		}
		return "", nil
	}
	if ib.Owner != l.opts.Owner {
		l.log.Warn("aborting checkpoint of a dead owner", "checkpoint", c, "owner", ib.Owner, "files", len(ib.Files), "inputs", len(ib.Inputs))
	}
	if err := l.rollback(ctx, c, ib); err != nil {
		return "", err
	}
	return stateAborted, nil
}

// rollback deletes an aborted checkpoint's files, then its intent (the record that they may exist).
func (l *Ledger) rollback(ctx context.Context, c string, ib intentBody) error {
	for _, f := range ib.Files {
		if err := l.loc.Store.Delete(ctx, f.Bucket, f.Key); err != nil {
			return &Error{Op: "roll back file", Key: f.Key, Err: err}
		}
	}
	k := l.key("intents/" + c)
	if err := l.loc.Store.Delete(ctx, l.loc.Bucket, k); err != nil {
		return &Error{Op: "delete intent", Key: k, Err: err}
	}
	return nil
}

func (l *Ledger) deleteIntent(ctx context.Context, c string) {
	if err := l.loc.Store.Delete(ctx, l.loc.Bucket, l.key("intents/"+c)); err != nil {
		l.log.Warn("could not delete checkpoint intent", "checkpoint", c, "error", err.Error())
	}
}

// txn is the current transaction: the sink checkpoints written since the last Seal.
type txn struct {
	id     string
	inputs map[Input]bool
	body   intentBody
	broken error // why the transaction can no longer commit
	// open: a sink checkpoint passed BeforeCommit and has not reached AfterCommit yet. Seeing a
	// second BeforeCommit (or a Seal) while open means the sink failed to write it: some of its files
	// may be visible and its rows may be retried under other names, so the transaction is void.
	open bool
}

// BeforeCommit adds a sink checkpoint — its inputs (every one claimed by this process) and the final
// keys of its files — to the current transaction before any of the files becomes visible. An error
// means no file may be made visible; ErrFenced means an input was taken over by another owner (this
// process was presumed dead) and the current transaction can never commit.
func (l *Ledger) BeforeCommit(ctx context.Context, inputs []Input, files []File) error {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	if l.cur == nil {
		l.seq++
		l.cur = &txn{id: fmt.Sprintf("%s-%06d", l.opts.Owner, l.seq), inputs: map[Input]bool{},
			body: intentBody{Owner: l.opts.Owner, At: l.opts.Now().UTC()}}
	}
	t := l.cur
	if t.open && t.broken == nil {
		t.broken = errors.New("a sink checkpoint failed after BeforeCommit")
	}
	if t.broken != nil {
		return fmt.Errorf("ledger: transaction %s cannot commit: %w", t.id, t.broken)
	}
	t.open = true
	var fresh []Input
	var gens []int
	l.mu.Lock()
	for _, in := range inputs {
		in = in.norm()
		cl, ok := l.claims[in]
		switch {
		case !ok:
			l.mu.Unlock()
			return &Error{Op: "before commit", Key: t.id, Err: fmt.Errorf("input s3://%s/%s (etag %s) was not claimed by this process", in.Bucket, in.Key, in.ETag)}
		case cl.txn == t.id:
		case cl.txn != "":
			l.mu.Unlock()
			return &Error{Op: "before commit", Key: t.id, Err: fmt.Errorf("input s3://%s/%s already belongs to transaction %s", in.Bucket, in.Key, cl.txn)}
		default:
			fresh = append(fresh, in)
			gens = append(gens, cl.gen)
		}
	}
	l.mu.Unlock()
	body := t.body
	body.Files = append(append([]File(nil), t.body.Files...), files...)
	body.Inputs = append([]intentInput(nil), t.body.Inputs...)
	for i, in := range fresh {
		body.Inputs = append(body.Inputs, intentInput{Bucket: in.Bucket, Key: in.Key, ETag: in.ETag, Gen: gens[i]})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &Error{Op: "encode intent", Key: t.id, Err: err}
	}
	ik := l.key("intents/" + t.id)
	if err := l.loc.Store.Put(ctx, l.loc.Bucket, ik, b, nil); err != nil {
		return &Error{Op: "write intent", Key: ik, Err: err}
	}
	t.body = body
	// Link every new input's attempt to t. Losing one race means someone presumed this process dead.
	var mu sync.Mutex
	var fenced []Input
	err = l.parallel(ctx, len(fresh), func(i int) error {
		ek := l.key(attemptKey(fresh[i].hash(), gens[i]) + ".x")
		created, err := l.putNew(ctx, ek, endBody{End: endCheckpoint, Checkpoint: t.id, By: l.opts.Owner})
		if err != nil || created {
			return err
		}
		var end endBody
		if _, err := l.getJSON(ctx, ek, &end); err != nil {
			return err
		}
		if end.End != endCheckpoint || end.Checkpoint != t.id {
			mu.Lock()
			fenced = append(fenced, fresh[i])
			mu.Unlock()
		}
		return nil
	})
	if err == nil && len(fenced) > 0 {
		t.broken = fmt.Errorf("s3://%s/%s taken over by another owner: %w", fenced[0].Bucket, fenced[0].Key, ErrFenced)
		return t.broken
	}
	if err != nil {
		// A link may or may not have been written: the transaction cannot be trusted any more.
		t.broken = err
		return fmt.Errorf("before commit in transaction %s: %w", t.id, err)
	}
	l.mu.Lock()
	for _, in := range fresh {
		if cl, ok := l.claims[in]; ok {
			cl.txn = t.id
		}
	}
	l.mu.Unlock()
	for _, in := range fresh {
		t.inputs[in] = true
	}
	return nil
}

// AfterCommit records that the sink made every file of its last checkpoint visible.
func (l *Ledger) AfterCommit() {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	if l.cur != nil {
		l.cur.open = false
	}
}

// Broken returns why the current transaction can no longer commit, or nil.
func (l *Ledger) Broken() error {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	if l.cur == nil {
		return nil
	}
	return l.cur.broken
}

// Result is how the pipeline disposed of a claimed input.
type Result int

const (
	// Durable: the pipeline reported the input's output durable (Done(nil)).
	Durable Result = iota
	// Quarantined: the input was set aside as poison.
	Quarantined
	// Failed: processing failed transiently; the input will be retried.
	Failed
)

// Finish records how the pipeline disposed of a claimed input and says whether its message may be
// deleted now. An input with rows in the current transaction is not acknowledged here but by Seal;
// a Failed input with rows in it makes the transaction uncommittable. A Failed input without rows is
// released so that any worker may take it over at once.
func (l *Ledger) Finish(ctx context.Context, in Input, r Result) (ack bool, err error) {
	in = in.norm()
	l.txMu.Lock()
	l.mu.Lock()
	cl, ok := l.claims[in]
	if ok && (cl.txn == "" || r != Durable) {
		delete(l.claims, in)
	}
	l.mu.Unlock()
	if ok && cl.txn != "" {
		defer l.txMu.Unlock()
		if l.cur == nil || l.cur.id != cl.txn {
			return false, &Error{Op: "finish", Key: in.Key, Err: fmt.Errorf("transaction %s is no longer open", cl.txn)}
		}
		if r == Durable {
			cl.durable = true
			return false, nil
		}
		if l.cur.broken == nil {
			l.cur.broken = fmt.Errorf("s3://%s/%s has rows in the transaction but ended %v", in.Bucket, in.Key, r)
		}
		return false, nil
	}
	l.txMu.Unlock()
	if !ok {
		return false, &Error{Op: "finish", Key: in.Key, Err: errors.New("input not claimed by this process")}
	}
	ek := l.key(attemptKey(in.hash(), cl.gen) + ".x")
	end := endEmpty
	switch r {
	case Failed:
		end = endReleased
	case Quarantined:
		end = endQuarantined
	}
	created, err := l.putNew(ctx, ek, endBody{End: end, By: l.opts.Owner})
	if err != nil || r == Failed {
		return false, err
	}
	if !created {
		// Fenced: another owner took the input over while this process was presumed dead.
		var eb endBody
		if _, err := l.getJSON(ctx, ek, &eb); err != nil {
			return false, err
		}
		return eb.End == end, nil
	}
	return true, nil
}

// ErrAborted means Seal could not commit the transaction and rolled it back: its files are deleted
// and its inputs must be processed again (by this process only after a restart, since the sink's
// state no longer matches).
var ErrAborted = errors.New("ledger: transaction aborted")

// Pending reports whether the current transaction holds any checkpoint.
func (l *Ledger) Pending() bool {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	return l.cur != nil
}

// Seal commits the current transaction — every sink checkpoint since the last Seal — and returns its
// inputs, whose messages may now be deleted. Call it when no input is mid-way through the sink and
// everything has been flushed, so that every input of the transaction is Durable. If one is not, or
// another owner aborted the transaction, Seal rolls it back and returns an error wrapping ErrAborted
// or ErrFenced.
func (l *Ledger) Seal(ctx context.Context) ([]Input, error) {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	t := l.cur
	if t == nil {
		return nil, nil
	}
	l.cur = nil
	if t.open && t.broken == nil {
		t.broken = errors.New("a sink checkpoint failed after BeforeCommit")
	}
	inputs := make([]Input, 0, len(t.inputs))
	l.mu.Lock()
	for in := range t.inputs {
		inputs = append(inputs, in)
		if cl := l.claims[in]; t.broken == nil && (cl == nil || !cl.durable) {
			t.broken = fmt.Errorf("s3://%s/%s is not durable at seal", in.Bucket, in.Key)
		}
		delete(l.claims, in)
	}
	l.mu.Unlock()
	if t.broken != nil {
		if _, err := l.abort(context.WithoutCancel(ctx), t.id, t.body); err != nil {
			l.log.Error("could not roll back transaction; a restarted worker will", "txn", t.id, "error", err.Error())
		}
		return nil, fmt.Errorf("seal %s: %w: %w", t.id, ErrAborted, t.broken)
	}
	ck := l.key("commits/" + t.id)
	created, err := l.putNew(ctx, ck, commitBody{State: stateCommitted, By: l.opts.Owner, At: l.opts.Now().UTC()})
	if err != nil {
		// The commit record may or may not exist (a PUT can land and still fail). Deciding the
		// transaction aborted is conditional too: either it settles that it did commit, or its
		// files are deleted now rather than left visible until another worker's recovery.
		st, aerr := l.abort(context.WithoutCancel(ctx), t.id, t.body)
		if aerr == nil && st == stateCommitted {
			return inputs, nil
		}
		return nil, fmt.Errorf("seal %s: %w", t.id, errors.Join(err, aerr))
	}
	if !created {
		var cb commitBody
		if _, err := l.getJSON(ctx, ck, &cb); err != nil {
			return nil, fmt.Errorf("seal %s: %w", t.id, err)
		}
		if cb.State != stateCommitted {
			return nil, fmt.Errorf("seal %s: aborted by %s: %w", t.id, cb.By, ErrFenced)
		}
	}
	l.deleteIntent(ctx, t.id)
	return inputs, nil
}

// Abort rolls back the current transaction, if any, deleting the files it made visible. Call it
// before exiting after a sink failure, so that its inputs are free at once.
func (l *Ledger) Abort(ctx context.Context) error {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	t := l.cur
	if t == nil {
		return nil
	}
	l.cur = nil
	l.mu.Lock()
	for in := range t.inputs {
		delete(l.claims, in)
	}
	l.mu.Unlock()
	_, err := l.abort(ctx, t.id, t.body)
	return err
}

// Recover aborts every checkpoint whose owner is gone and which was never decided, deleting its
// files, so that no output of a crashed worker stays visible even if none of its inputs is ever
// redelivered (e.g. their messages went to the dead-letter queue). It returns how many it aborted.
func (l *Ledger) Recover(ctx context.Context) (int, error) {
	prefix := l.key("intents/")
	var names []string
	err := l.loc.Store.List(ctx, l.loc.Bucket, prefix, "", func(i store.Info) error {
		names = append(names, strings.TrimPrefix(i.Key, prefix))
		return nil
	})
	if err != nil {
		return 0, &Error{Op: "list", Key: prefix, Err: err}
	}
	n := 0
	for _, c := range names {
		var ib intentBody
		ok, err := l.getJSON(ctx, prefix+c, &ib)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		var cb commitBody
		decided, err := l.getJSON(ctx, l.key("commits/"+c), &cb)
		if err != nil {
			return n, err
		}
		if decided {
			switch live, err := l.alive(ctx, cb.By); {
			case err != nil:
				return n, err
			case cb.State == stateCommitted:
				l.deleteIntent(ctx, c)
			case !live || cb.By == l.opts.Owner:
				// Its aborter died before deleting everything: finish the job.
				if err := l.rollback(ctx, c, ib); err != nil {
					return n, err
				}
				n++
			}
			continue
		}
		if live, err := l.alive(ctx, ib.Owner); err != nil || live {
			if err != nil {
				return n, err
			}
			continue
		}
		state, err := l.abort(ctx, c, ib)
		if err != nil {
			return n, err
		}
		if state == stateAborted {
			n++
		}
	}
	l.dropDeadLeases(ctx)
	return n, nil
}

// dropDeadLeases deletes the leases of owners killed without Close (kill -9, OOM), once their
// transactions are settled above: a missing lease reads as dead, exactly like an expired one, so
// this changes no decision and keeps owners/ from growing with every crash.
func (l *Ledger) dropDeadLeases(ctx context.Context) {
	prefix := l.key("owners/")
	var dead []string
	err := l.loc.Store.List(ctx, l.loc.Bucket, prefix, "", func(i store.Info) error {
		// Well past the TTL: a lease renewed late by a stalled owner is not taken from under it.
		if i.Key != l.key("owners/"+l.opts.Owner) && l.opts.Now().Sub(i.LastModified) > 2*l.opts.LeaseTTL {
			dead = append(dead, i.Key)
		}
		return nil
	})
	if err != nil {
		l.log.Warn("could not list leases", "error", err.Error())
		return
	}
	for _, k := range dead {
		if err := l.loc.Store.Delete(ctx, l.loc.Bucket, k); err != nil {
			l.log.Warn("could not delete a dead owner's lease", "key", k, "error", err.Error())
		}
	}
	if len(dead) > 0 {
		l.log.Info("deleted leases of dead owners", "count", len(dead))
	}
}

func (l *Ledger) parallel(ctx context.Context, n int, fn func(i int) error) error {
	sem := make(chan struct{}, l.opts.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return first
}
