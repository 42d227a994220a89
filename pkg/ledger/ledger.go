// Package ledger makes the worker's output exactly-once although SQS delivers at least once and a
// worker can die at any instant. It keeps, in the output store, a record per transaction (every sink
// checkpoint written between two Seal calls) — its intent, its entries in an index of inputs, its
// decision — written with plain and conditional writes (PutIfAbsent), so that whether a transaction
// counts is decided by exactly one writer. It relies on S3's strong read-after-write and list
// consistency and on If-None-Match: * being atomic; nothing else (no DynamoDB, no clocks agreeing
// beyond a lease TTL). Its writes are per transaction, never per input: an input costs no ledger
// request in the common case, only a share of a few per transaction (docs/worker.md, "Cost").
//
// The protocol (the failure analysis is in docs/worker.md):
//
//	intents/<T>          T's inputs and the final keys of its files, rewritten by each
//	                     checkpoint before any of its files becomes visible            (Put)
//	index/<hour>/<T>     the hashes of T's inputs whose time falls in <hour>, written
//	                     with the intent                                                (Put)
//	commits/<T>          "committed" or "aborted": the one decision on T                (PutIfAbsent)
//	owners/<id>          an owner's lease, rewritten every LeaseRefresh                 (Put)
//
// Claim looks an input up in the index (its hour and the two beside it, read through a cache
// refreshed at most every IndexMaxAge): in a committed T it is done (acknowledge without processing);
// in an undecided T of a live owner it is busy; in an undecided T of a dead owner that T is aborted
// and its files deleted first; otherwise it is processed. Claim writes nothing, so two workers may
// process one input at once (a duplicate notification); Seal settles that: after T's index entries
// are written it lists the index again, and commits T only if no other transaction holding one of
// its inputs is committed, undecided with a live owner, or fails to be aborted. Of two such
// transactions the later lister always sees the earlier one's entry, so at most one commits.
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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
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
	// IndexMaxAge is how stale Claim's view of the index may be: each hour of the index is listed at
	// most this often while inputs of that hour are claimed (a LIST costs as much as a PUT). A stale
	// view costs nothing in correctness (Seal lists afresh) but may process an input another worker
	// committed within IndexMaxAge, and then abort the transaction. Redeliveries come a visibility
	// timeout (minutes) after the commit they follow, so this window is rarely hit. Default 30s.
	IndexMaxAge time.Duration
	Logger      *slog.Logger
	// Files, when set, names the store that deletes a rolled-back transaction's files in a bucket
	// (nil for a bucket: Loc.Store). Files may live where Loc.Store cannot delete them: a Security
	// Lake bucket in another Region (docs/security-lake.md §2).
	Files func(bucket string) store.Store
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
	if o.IndexMaxAge <= 0 {
		o.IndexMaxAge = 30 * time.Second
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

// hashOf names an input in the ledger: fixed length whatever the key, no key characters. The
// version id is left out: not every announcement of an object carries it (CloudTrail's SNS notice,
// backfill listings), and two versions with one ETag hold the same bytes.
func hashOf(r ack.Ref) string {
	// Built in a stack buffer (keys are at most 1 KiB): three calls per object, one allocation each.
	var buf [1200]byte
	b := append(buf[:0], r.Bucket...)
	b = append(b, 0)
	b = append(b, r.Key...)
	b = append(b, 0)
	b = append(b, ack.NormalizeETag(r.ETag)...)
	h := sha256.Sum256(b)
	return string(hex.AppendEncode(buf[:0], h[:16]))
}

// Hours partition the index by the input's time (see Claim). An input is looked up in its own hour
// and the two beside it, so two announcements of one object whose times differ by less than an hour
// (an S3 eventTime and the object's LastModified) always meet.
const hourLayout = "2006-01-02T15"

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

func hourName(h int64) string { return time.Unix(h*3600, 0).UTC().Format(hourLayout) }

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
	// Done: the input's output is already durable; acknowledge its message.
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

const (
	stateCommitted = "committed"
	stateAborted   = "aborted"
)

// ErrFenced means a transaction cannot commit because another owner aborted it (this process was
// presumed dead). The caller must not make further files visible.
var ErrFenced = errors.New("ledger: transaction fenced off by another owner")

// ErrConflict means Seal found an input of the transaction in another transaction that committed or
// may still commit (a duplicate notification processed by two workers at once): the transaction is
// rolled back and its inputs are retried, when the lookup finds the other one's decision.
var ErrConflict = errors.New("ledger: an input is in another transaction")

// Error is a failed ledger operation.
type Error struct {
	Op  string
	Key string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("ledger %s %s: %v", e.Op, e.Key, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

type intentInput struct {
	Hash      string `json:"hash"`
	Hour      string `json:"hour"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	ETag      string `json:"etag"`
	VersionID string `json:"version_id,omitempty"`
}

type intentBody struct {
	Owner  string        `json:"owner"`
	At     time.Time     `json:"at"`
	Inputs []intentInput `json:"inputs"`
	Files  []File        `json:"files"`
}

type indexBody struct {
	Owner  string   `json:"owner"`
	Txn    string   `json:"txn"`
	Hashes []string `json:"hashes"`          // inputs with rows in the transaction's files
	Empty  []string `json:"empty,omitempty"` // inputs that ended without rows (quarantined, ignored)
}

type commitBody struct {
	State string    `json:"state"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// claim is an input this process owns.
type claim struct {
	ref     ack.Ref
	hash    string
	hour    int64
	txn     string // the transaction holding its rows, set by BeforeCommit
	durable bool   // the sink reported all its rows durable
}

// Ledger is safe for concurrent use.
type Ledger struct {
	opts Options
	loc  store.Location
	log  *slog.Logger
	idx  index

	mu     sync.Mutex
	claims map[string]*claim // by hash

	// txMu serialises BeforeCommit, Finish of linked inputs and Seal; it is taken before mu.
	txMu sync.Mutex
	cur  *txn
	seq  int
	// rowless are inputs acknowledged without rows since the last checkpoint: recorded in the next
	// transaction's index entries, so a later announcement finds them done.
	rowless []*claim

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open writes this owner's lease and keeps renewing it until Close.
func Open(ctx context.Context, opts Options) (*Ledger, error) {
	if opts.Loc.Store == nil {
		return nil, errors.New("ledger: no store location")
	}
	opts = opts.withDefaults()
	l := &Ledger{opts: opts, loc: opts.Loc, log: opts.Logger, claims: map[string]*claim{}, stop: make(chan struct{}),
		idx: index{parts: map[int64]*part{}}}
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

func (l *Ledger) putJSON(ctx context.Context, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return &Error{Op: "encode", Key: k, Err: err}
	}
	if err := l.loc.Store.Put(ctx, l.loc.Bucket, k, b, nil); err != nil {
		return &Error{Op: "write", Key: k, Err: err}
	}
	return nil
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

func indexKey(hour int64, txn string) string { return "index/" + hourName(hour) + "/" + txn }

// Claim decides what to do with an input announced to this process. at is the input's time: the
// notification's event time or the object's LastModified; it only chooses where in the index the
// input is recorded and looked up, and must be within an hour of the time any other announcement of
// the same object carries. On Process the input is owned by this process until Finish (or Seal).
func (l *Ledger) Claim(ctx context.Context, in ack.Ref, at time.Time) (Decision, error) {
	if at.IsZero() {
		return Busy, &Error{Op: "claim", Key: in.Key, Err: errors.New("input time unknown")}
	}
	cl := &claim{ref: in, hash: hashOf(in), hour: hourOf(at)}
	l.mu.Lock()
	if _, mine := l.claims[cl.hash]; mine {
		l.mu.Unlock()
		// A duplicate notification of an object this process is working on right now.
		return Busy, nil
	}
	l.claims[cl.hash] = cl
	l.mu.Unlock()
	d, err := l.decide(ctx, cl, l.opts.IndexMaxAge)
	if err != nil || d != Process {
		l.mu.Lock()
		delete(l.claims, cl.hash)
		l.mu.Unlock()
	}
	return d, err
}

// decide looks an input up in the index: Done if a committed transaction holds it, Busy if an
// undecided one of a live owner does, Process otherwise (after aborting undecided transactions of
// dead owners that hold it, so that their files are gone before it is processed again).
func (l *Ledger) decide(ctx context.Context, cl *claim, maxAge time.Duration) (Decision, error) {
	hits, err := l.lookup(ctx, cl.hash, cl.hour, maxAge)
	if err != nil {
		return Busy, err
	}
	for _, e := range hits {
		st, err := l.settle(ctx, e)
		if err != nil {
			return Busy, err
		}
		switch st {
		case stateCommitted:
			return Done, nil
		case stateAborted:
			continue
		default:
			return Busy, nil
		}
	}
	return Process, nil
}

// settle returns the decision on an index entry's transaction, aborting it when its owner is dead:
// stateCommitted, stateAborted, or "" while a live owner may still commit it.
func (l *Ledger) settle(ctx context.Context, e *entry) (string, error) {
	if st := e.decided(); st != "" {
		return st, nil
	}
	for round := 0; round < 3; round++ {
		var cb commitBody
		decided, err := l.getJSON(ctx, l.key("commits/"+e.txn), &cb)
		if err != nil {
			return "", err
		}
		if decided {
			if cb.State == stateAborted {
				// Its aborter may have died before deleting the files, or be this process with a
				// delete that failed: finish the job if so (the intent goes last, so it is there
				// until the rollback is complete; deleting twice is harmless).
				if cb.By != l.opts.Owner {
					if live, err := l.alive(ctx, cb.By); err != nil || live {
						e.decide(cb.State)
						return cb.State, err
					}
				}
				var ib intentBody
				if ok, err := l.getJSON(ctx, l.key("intents/"+e.txn), &ib); err != nil {
					return "", err
				} else if ok {
					if err := l.rollback(ctx, e.txn, ib); err != nil {
						return "", err
					}
				}
			}
			e.decide(cb.State)
			return cb.State, nil
		}
		if e.owner == l.opts.Owner {
			return "", nil // our own open transaction
		}
		if live, err := l.alive(ctx, e.owner); err != nil || live {
			return "", err
		}
		var ib intentBody
		if _, err := l.getJSON(ctx, l.key("intents/"+e.txn), &ib); err != nil {
			return "", err
		}
		st, err := l.abort(ctx, e.txn, ib)
		if err != nil {
			return "", err
		}
		if st != "" {
			e.decide(st)
			return st, nil
		}
		// Decided by someone else a moment ago: read it.
	}
	return "", nil
}

// abort decides transaction c as aborted unless it already was decided; when this call made the
// decision it deletes c's files, index entries and intent, and returns stateAborted. It returns
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
		l.log.Warn("aborting transaction of a dead owner", "txn", c, "owner", ib.Owner, "files", len(ib.Files), "inputs", len(ib.Inputs))
	}
	if err := l.rollback(ctx, c, ib); err != nil {
		return "", err
	}
	return stateAborted, nil
}

// rollback deletes an aborted transaction's files, then its index entries, then its intent (the
// record that the files may exist).
func (l *Ledger) rollback(ctx context.Context, c string, ib intentBody) error {
	for _, f := range ib.Files {
		st := l.loc.Store
		if l.opts.Files != nil {
			if fs := l.opts.Files(f.Bucket); fs != nil {
				st = fs
			}
		}
		if err := st.Delete(ctx, f.Bucket, f.Key); err != nil {
			return &Error{Op: "roll back file", Key: f.Key, Err: err}
		}
	}
	hours := map[string]bool{}
	for _, in := range ib.Inputs {
		hours[in.Hour] = true
	}
	for h := range hours {
		k := l.key("index/" + h + "/" + c)
		if err := l.loc.Store.Delete(ctx, l.loc.Bucket, k); err != nil {
			return &Error{Op: "delete index entry", Key: k, Err: err}
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
		l.log.Warn("could not delete transaction intent", "txn", c, "error", err.Error())
	}
}

// txn is the current transaction: the sink checkpoints written since the last Seal.
type txn struct {
	id     string
	inputs map[string]*claim  // by hash
	hours  map[int64][]string // index entries: hour → hashes
	empty  map[int64][]string // index entries: hour → hashes of inputs without rows
	body   intentBody
	broken error // why the transaction can no longer commit
	// open: a sink checkpoint passed BeforeCommit and has not reached AfterCommit yet. Seeing a
	// second BeforeCommit (or a Seal) while open means the sink failed to write it: some of its files
	// may be visible and its rows may be retried under other names, so the transaction is void.
	open bool
}

// BeforeCommit adds a sink checkpoint — its inputs (every one claimed by this process) and the final
// keys of its files — to the current transaction before any of the files becomes visible: it
// rewrites the intent and the index entries of the hours the new inputs fall in. An error means no
// file may be made visible; ErrFenced means another owner aborted the transaction (this process was
// presumed dead) and it can never commit.
func (l *Ledger) BeforeCommit(ctx context.Context, inputs []ack.Ref, files []File) error {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	t := l.open()
	if t.open && t.broken == nil {
		t.broken = errors.New("a sink checkpoint failed after BeforeCommit")
	}
	if t.broken != nil {
		return fmt.Errorf("ledger: transaction %s cannot commit: %w", t.id, t.broken)
	}
	t.open = true
	var fresh []*claim
	l.mu.Lock()
	for _, in := range inputs {
		cl, ok := l.claims[hashOf(in)]
		switch {
		case !ok:
			l.mu.Unlock()
			return &Error{Op: "before commit", Key: t.id, Err: fmt.Errorf("input %s (etag %s) was not claimed by this process", in, in.ETag)}
		case cl.txn == t.id:
		case cl.txn != "":
			l.mu.Unlock()
			return &Error{Op: "before commit", Key: t.id, Err: fmt.Errorf("input %s already belongs to transaction %s", in, cl.txn)}
		default:
			cl.txn = t.id
			fresh = append(fresh, cl)
		}
	}
	l.mu.Unlock()
	touched := l.foldRowless(t)
	for _, cl := range fresh {
		t.inputs[cl.hash] = cl
		t.hours[cl.hour] = append(t.hours[cl.hour], cl.hash)
		touched[cl.hour] = true
		t.body.Inputs = append(t.body.Inputs, intentInput{Hash: cl.hash, Hour: hourName(cl.hour), Bucket: cl.ref.Bucket,
			Key: cl.ref.Key, ETag: ack.NormalizeETag(cl.ref.ETag), VersionID: cl.ref.VersionID})
	}
	t.body.Files = append(t.body.Files, files...)
	if err := l.record(ctx, t, touched); err != nil {
		return err
	}
	// A cheap look (HEAD) at the decision: a presumed-dead process learns here, before writing more
	// files, that its transaction was aborted.
	if _, err := l.loc.Store.Head(ctx, l.loc.Bucket, l.key("commits/"+t.id)); err == nil {
		t.broken = fmt.Errorf("transaction %s was aborted by another owner: %w", t.id, ErrFenced)
		return t.broken
	} else if !store.IsNotFound(err) {
		t.broken = &Error{Op: "read decision", Key: t.id, Err: err}
		return t.broken
	}
	return nil
}

// open returns the current transaction, starting one if needed. txMu is held.
func (l *Ledger) open() *txn {
	if l.cur == nil {
		l.seq++
		l.cur = &txn{id: fmt.Sprintf("%s-%06d", l.opts.Owner, l.seq), inputs: map[string]*claim{}, hours: map[int64][]string{},
			empty: map[int64][]string{}, body: intentBody{Owner: l.opts.Owner, At: l.opts.Now().UTC()}}
	}
	return l.cur
}

// foldRowless moves the inputs acknowledged without rows into t's index entries and returns the
// hours it touched. txMu is held.
func (l *Ledger) foldRowless(t *txn) map[int64]bool {
	touched := map[int64]bool{}
	for _, cl := range l.rowless {
		t.empty[cl.hour] = append(t.empty[cl.hour], cl.hash)
		touched[cl.hour] = true
		t.body.Inputs = append(t.body.Inputs, intentInput{Hash: cl.hash, Hour: hourName(cl.hour), Bucket: cl.ref.Bucket,
			Key: cl.ref.Key, ETag: ack.NormalizeETag(cl.ref.ETag), VersionID: cl.ref.VersionID})
	}
	l.rowless = nil
	return touched
}

// record writes t's intent, then the index entries of the touched hours. Intent first: whoever
// finds an index entry of T can then find the files to delete.
func (l *Ledger) record(ctx context.Context, t *txn, touched map[int64]bool) error {
	if err := l.putJSON(ctx, l.key("intents/"+t.id), t.body); err != nil {
		t.broken = err
		return err
	}
	for h := range touched {
		if err := l.putJSON(ctx, l.key(indexKey(h, t.id)), indexBody{Owner: l.opts.Owner, Txn: t.id, Hashes: t.hours[h], Empty: t.empty[h]}); err != nil {
			t.broken = err
			return err
		}
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

// Finish records how the pipeline disposed of a claimed input and says whether its message may be
// deleted now. It writes nothing: an input without rows in the transaction (quarantined, ignored,
// empty) is acknowledged at once and recorded in the next transaction's index entries (if this
// process dies first, it is processed again, to the same result and with no rows written); a Retry
// releases it. An input with rows in the current transaction is acknowledged by Seal; one that ends
// other than Durable makes the transaction uncommittable.
func (l *Ledger) Finish(ctx context.Context, in ack.Ref, k ack.Kind) (acked bool, err error) {
	h := hashOf(in)
	l.txMu.Lock()
	defer l.txMu.Unlock()
	l.mu.Lock()
	cl, ok := l.claims[h]
	if ok && (cl.txn == "" || k != ack.Durable) {
		delete(l.claims, h)
	}
	l.mu.Unlock()
	if !ok {
		return false, &Error{Op: "finish", Key: in.Key, Err: errors.New("input not claimed by this process")}
	}
	if cl.txn == "" {
		if k != ack.Retry {
			l.rowless = append(l.rowless, cl)
		}
		return k != ack.Retry, nil
	}
	if l.cur == nil || l.cur.id != cl.txn {
		return false, &Error{Op: "finish", Key: in.Key, Err: fmt.Errorf("transaction %s is no longer open", cl.txn)}
	}
	if k == ack.Durable {
		cl.durable = true
		return false, nil
	}
	if l.cur.broken == nil {
		l.cur.broken = fmt.Errorf("%s has rows in the transaction but ended %v", in, k)
	}
	return false, nil
}

// ErrAborted means Seal could not commit the transaction and rolled it back: its files are deleted
// and its inputs must be processed again.
var ErrAborted = errors.New("ledger: transaction aborted")

// Pending reports whether the current transaction holds any checkpoint, or inputs acknowledged
// without rows wait to be recorded.
func (l *Ledger) Pending() bool {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	return l.cur != nil || len(l.rowless) > 0
}

// Seal commits the current transaction — every sink checkpoint since the last Seal — and returns its
// inputs, whose messages may now be deleted. Call it when no input is mid-way through the sink and
// everything has been flushed, so that every input of the transaction is Durable. If one is not, if
// one of its inputs is in another transaction that committed or may commit (ErrConflict), or if
// another owner aborted it (ErrFenced), Seal rolls it back and returns an error wrapping ErrAborted
// or ErrFenced.
func (l *Ledger) Seal(ctx context.Context) ([]ack.Ref, error) {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	if len(l.rowless) > 0 && (l.cur == nil || l.cur.broken == nil) {
		t := l.open()
		l.record(ctx, t, l.foldRowless(t)) // a failure breaks t
	}
	t := l.cur
	if t == nil {
		return nil, nil
	}
	l.cur = nil
	if t.open && t.broken == nil {
		t.broken = errors.New("a sink checkpoint failed after BeforeCommit")
	}
	inputs := make([]ack.Ref, 0, len(t.inputs))
	l.mu.Lock()
	for h, cl := range t.inputs {
		inputs = append(inputs, cl.ref)
		if t.broken == nil && !cl.durable {
			t.broken = fmt.Errorf("%s is not durable at seal", cl.ref)
		}
		delete(l.claims, h)
	}
	l.mu.Unlock()
	if t.broken == nil {
		t.broken = l.conflicts(ctx, t)
	}
	if t.broken != nil {
		if errors.Is(t.broken, ErrFenced) {
			// The aborter deleted the files it knew of; later ones are ours to delete.
			if err := l.rollback(context.WithoutCancel(ctx), t.id, t.body); err != nil {
				l.log.Error("could not roll back fenced transaction", "txn", t.id, "error", err.Error())
			}
			return nil, fmt.Errorf("seal %s: %w", t.id, t.broken)
		}
		if _, err := l.abort(context.WithoutCancel(ctx), t.id, t.body); err != nil {
			l.log.Error("could not roll back transaction; a restarted worker will", "txn", t.id, "error", err.Error())
			// Files may still be visible: not a plain conflict the caller can shrug off.
			return nil, fmt.Errorf("seal %s: %w: %v; rollback: %w", t.id, ErrAborted, t.broken, err)
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
			l.learn(t)
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
			if err := l.rollback(context.WithoutCancel(ctx), t.id, t.body); err != nil {
				l.log.Error("could not roll back fenced transaction", "txn", t.id, "error", err.Error())
			}
			return nil, fmt.Errorf("seal %s: aborted by %s: %w", t.id, cb.By, ErrFenced)
		}
	}
	l.learn(t)
	l.deleteIntent(ctx, t.id)
	return inputs, nil
}

// learn records a transaction this process committed in its view of the index.
func (l *Ledger) learn(t *txn) {
	for h, hashes := range t.hours {
		l.idx.learn(h, t.id, l.opts.Owner, hashes, false, stateCommitted)
	}
	for h, hashes := range t.empty {
		l.idx.learn(h, t.id, l.opts.Owner, hashes, true, stateCommitted)
	}
}

// conflicts lists afresh every index hour t's inputs are looked up in (t's own entries are written)
// and returns an error wrapping ErrConflict if another transaction holding one of t's inputs
// committed, or is undecided with a live owner, or ErrFenced if t was aborted.
func (l *Ledger) conflicts(ctx context.Context, t *txn) error {
	hours := map[int64]bool{}
	for h := range t.hours {
		hours[h-1], hours[h], hours[h+1] = true, true, true
	}
	for h := range hours {
		hits, err := l.idx.scan(ctx, l, h, 0, func(e *entry) bool {
			if e.txn == t.id {
				return false
			}
			// Only rows can be duplicated: inputs that ended without rows never conflict.
			for hash := range t.inputs {
				if _, ok := e.hashes[hash]; ok && !e.isEmpty(hash) {
					return true
				}
			}
			return false
		})
		if err != nil {
			return err
		}
		for _, e := range hits {
			st, err := l.settle(ctx, e)
			if err != nil {
				return err
			}
			if st != stateAborted {
				what := "is undecided with a live owner"
				if st == stateCommitted {
					what = "committed"
				}
				return fmt.Errorf("transaction %s holding one of its inputs %s: %w", e.txn, what, ErrConflict)
			}
		}
	}
	var cb commitBody
	if decided, err := l.getJSON(ctx, l.key("commits/"+t.id), &cb); err != nil {
		return err
	} else if decided && cb.State != stateCommitted {
		return fmt.Errorf("transaction %s was aborted by %s: %w", t.id, cb.By, ErrFenced)
	}
	return nil
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
	for h := range t.inputs {
		delete(l.claims, h)
	}
	l.mu.Unlock()
	_, err := l.abort(ctx, t.id, t.body)
	return err
}

// Recover aborts every transaction whose owner is gone and which was never decided, deleting its
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

// index caches the ledger's index: per hour, every transaction's entry (its input hashes) and, once
// known, its decision. Entries of decided transactions never change; undecided ones are re-read
// when the listing shows them rewritten.
type index struct {
	mu    sync.Mutex
	parts map[int64]*part
}

type part struct {
	mu      sync.Mutex // held while listing and while scanning
	listed  time.Time
	used    time.Time
	entries map[string]*entry // by transaction id
}

type entry struct {
	txn, owner string
	sig        string              // ETag and size of the entry object last read
	hashes     map[string]struct{} // every input recorded, with rows or not
	empty      map[string]struct{} // those without rows
	mu         sync.Mutex
	state      string // decision once known
}

func (e *entry) isEmpty(hash string) bool { _, ok := e.empty[hash]; return ok }

func (e *entry) decided() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

func (e *entry) decide(st string) {
	e.mu.Lock()
	e.state = st
	e.mu.Unlock()
}

// maxParts bounds the hours kept in memory: the current ones plus those of older inputs (a backfill,
// a backlog) being looked up.
const maxParts = 48

func (x *index) part(h int64) *part {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := x.parts[h]
	if p == nil {
		if len(x.parts) >= maxParts {
			var oldest int64
			first := true
			for k, q := range x.parts {
				if first || q.used.Before(x.parts[oldest].used) {
					oldest, first = k, false
				}
			}
			delete(x.parts, oldest)
		}
		p = &part{entries: map[string]*entry{}}
		x.parts[h] = p
	}
	p.used = time.Now()
	return p
}

// learn records a transaction this process decided, so its own lookups need no listing for it.
func (x *index) learn(h int64, txn, owner string, hashes []string, empty bool, state string) {
	p := x.part(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[txn]
	if e == nil {
		e = &entry{txn: txn, owner: owner, hashes: map[string]struct{}{}, empty: map[string]struct{}{}}
		p.entries[txn] = e
	}
	for _, hs := range hashes {
		e.hashes[hs] = struct{}{}
		if empty {
			e.empty[hs] = struct{}{}
		}
	}
	e.decide(state)
}

// scan lists hour h again if its view is older than maxAge, and returns the entries match selects.
func (x *index) scan(ctx context.Context, l *Ledger, h int64, maxAge time.Duration, match func(*entry) bool) ([]*entry, error) {
	p := x.part(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	if maxAge <= 0 || time.Since(p.listed) >= maxAge {
		if err := p.refresh(ctx, l, h); err != nil {
			return nil, err
		}
	}
	var hits []*entry
	for _, e := range p.entries {
		if match(e) {
			hits = append(hits, e)
		}
	}
	// Oldest transaction first: deterministic, and a committed one is usually found first. Most
	// claims find nothing, and sort.Slice costs reflection even then.
	if len(hits) > 1 {
		slices.SortFunc(hits, func(a, b *entry) int { return strings.Compare(a.txn, b.txn) })
	}
	return hits, nil
}

func (p *part) refresh(ctx context.Context, l *Ledger, h int64) error {
	started := time.Now()
	prefix := l.key("index/" + hourName(h) + "/")
	seen := map[string]bool{}
	var stale []store.Info
	err := l.loc.Store.List(ctx, l.loc.Bucket, prefix, "", func(i store.Info) error {
		name := strings.TrimPrefix(i.Key, prefix)
		seen[name] = true
		e := p.entries[name]
		if e == nil || (e.decided() == "" && e.sig != sigOf(i)) {
			stale = append(stale, i)
		}
		return nil
	})
	if err != nil {
		return &Error{Op: "list", Key: prefix, Err: err}
	}
	for _, i := range stale {
		var ib indexBody
		ok, err := l.getJSON(ctx, i.Key, &ib)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(i.Key, prefix)
		if !ok {
			delete(p.entries, name) // rolled back since the listing
			continue
		}
		e := p.entries[name]
		if e == nil {
			e = &entry{txn: name, owner: ib.Owner}
			p.entries[name] = e
		}
		e.sig = sigOf(i)
		e.hashes = make(map[string]struct{}, len(ib.Hashes)+len(ib.Empty))
		e.empty = make(map[string]struct{}, len(ib.Empty))
		for _, hs := range ib.Hashes {
			e.hashes[hs] = struct{}{}
		}
		for _, hs := range ib.Empty {
			e.hashes[hs] = struct{}{}
			e.empty[hs] = struct{}{}
		}
	}
	for name, e := range p.entries {
		// Gone from the listing: rolled back. Entries this process learned at its own commits are
		// listed too, except in the instant between its commit and its next listing.
		if !seen[name] && e.decided() != stateCommitted {
			delete(p.entries, name)
		}
	}
	p.listed = started
	return nil
}

func sigOf(i store.Info) string { return fmt.Sprintf("%s/%d", i.ETag, i.Size) }

// lookup returns the index entries, in the input's hour and the two beside it, that hold hash.
func (l *Ledger) lookup(ctx context.Context, hash string, hour int64, maxAge time.Duration) ([]*entry, error) {
	var hits []*entry
	for h := hour - 1; h <= hour+1; h++ {
		es, err := l.idx.scan(ctx, l, h, maxAge, func(e *entry) bool { _, ok := e.hashes[hash]; return ok })
		if err != nil {
			return nil, err
		}
		hits = append(hits, es...)
	}
	return hits, nil
}
