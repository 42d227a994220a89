package source

import (
	"context"
	"sync"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/store"
)

// ListedRef is the reference of an object found by listing: the listing says all a notification
// would (ETag, size, and LastModified as the event time).
func ListedRef(info store.Info) ObjectRef {
	return ObjectRef{Ref: ack.Ref{Bucket: info.Bucket, Key: info.Key, Size: info.Size, ETag: ack.NormalizeETag(info.ETag)},
		RawKey: info.Key, EventTime: info.LastModified}
}

// HandleEach drives h without a queue (a backfill batch, a local directory): every object list
// passes to handle goes to h.Handle as the given attempt, workers at a time. Once list returned and
// every Handle has, it drains h, so that the last commit acknowledges the objects waiting for it,
// and then waits for every outcome. outcome receives each object's outcome once; its calls are
// serialized and none comes after HandleEach returned: after a failed Drain the outcomes still to
// come are dropped (drainErr says those objects are not durable). handle queues the object for a
// fixed set of `workers` goroutines, in listing order, blocking while max(32, 4×workers) objects
// wait; it returns ctx's error once ctx is done (list should stop and return it then), and every
// object it accepted still goes to Handle.
func HandleEach(ctx context.Context, h Handler, workers, attempt int, list func(handle func(ObjectRef) error) error,
	outcome func(ObjectRef, ack.Outcome)) (listErr, drainErr error) {
	workers = max(workers, 1)
	var (
		mu      sync.Mutex
		closed  bool
		pending sync.WaitGroup // objects whose outcome has not come yet
		running sync.WaitGroup // the worker goroutines
	)
	q := newRefQueue(max(eachQueueMin, 4*workers))
	for range workers {
		running.Add(1)
		go func() {
			defer running.Done()
			for {
				ref, ok := q.pop()
				if !ok {
					return
				}
				var once sync.Once
				h.Handle(ctx, ref, attempt, func(o ack.Outcome) {
					once.Do(func() {
						mu.Lock()
						if !closed {
							outcome(ref, o)
						}
						mu.Unlock()
						pending.Done()
					})
				})
			}
		}()
	}
	listErr = list(func(ref ObjectRef) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		pending.Add(1)
		q.push(ref)
		return nil
	})
	// Every object listed goes to Handle, even once ctx is done (Handle resolves it then).
	q.close()
	running.Wait()
	drainErr = h.Drain(ctx)
	if drainErr == nil {
		pending.Wait()
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	return listErr, drainErr
}

// eachQueueMin is the fewest listed objects HandleEach holds ahead of its workers.
const eachQueueMin = 32

// refQueue hands listed objects to a fixed set of worker goroutines. Why not a goroutine per
// object behind a semaphore, or a channel: every hand-over then readies a parked goroutine, and
// with an idle P the runtime wakes a thread to run it, which spins, steals and sleeps again (with
// two workers in one process that cost ~20 % more CPU per record than one worker, spread over
// every function as cache misses of work moved between cores). Here the lister fills the queue,
// sleeps until it is half empty, and workers only park when it is empty: a wake-up per cap/2
// objects instead of two per object.
type refQueue struct {
	mu            sync.Mutex
	notEmpty      sync.Cond
	notFull       sync.Cond
	refs          []ObjectRef
	head          int
	cap           int
	idle          int // workers waiting on notEmpty
	listerWaiting bool
	closed        bool
}

func newRefQueue(capacity int) *refQueue {
	q := &refQueue{cap: capacity, refs: make([]ObjectRef, 0, capacity)}
	q.notEmpty.L = &q.mu
	q.notFull.L = &q.mu
	return q
}

// push appends ref, waiting while the queue is full.
func (q *refQueue) push(ref ObjectRef) {
	q.mu.Lock()
	for len(q.refs)-q.head >= q.cap {
		q.listerWaiting = true
		q.notFull.Wait()
	}
	if q.head > 0 && len(q.refs) == cap(q.refs) {
		// Reuse the slots already taken instead of growing.
		n := copy(q.refs, q.refs[q.head:])
		clear(q.refs[n:])
		q.refs = q.refs[:n]
		q.head = 0
	}
	q.refs = append(q.refs, ref)
	if q.idle > 0 {
		q.notEmpty.Signal()
	}
	q.mu.Unlock()
}

// pop takes the oldest object, waiting while the queue is empty; false once it is closed and empty.
func (q *refQueue) pop() (ObjectRef, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.refs) {
		if q.closed {
			return ObjectRef{}, false
		}
		q.idle++
		q.notEmpty.Wait()
		q.idle--
	}
	ref := q.refs[q.head]
	q.refs[q.head] = ObjectRef{}
	q.head++
	if q.head == len(q.refs) {
		q.refs = q.refs[:0]
		q.head = 0
	}
	if q.listerWaiting && len(q.refs)-q.head <= q.cap/2 {
		q.listerWaiting = false
		q.notFull.Signal()
	}
	return ref, true
}

// close lets the workers return once the queue is empty.
func (q *refQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.notEmpty.Broadcast()
	q.mu.Unlock()
}
