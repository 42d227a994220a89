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
// come are dropped (drainErr says those objects are not durable). handle blocks for a free worker
// and returns ctx's error once ctx is done; list should stop and return it then.
func HandleEach(ctx context.Context, h Handler, workers, attempt int, list func(handle func(ObjectRef) error) error,
	outcome func(ObjectRef, ack.Outcome)) (listErr, drainErr error) {
	workers = max(workers, 1)
	var (
		mu     sync.Mutex
		closed bool
		wg     sync.WaitGroup
		sem    = make(chan struct{}, workers)
	)
	listErr = list(func(ref ObjectRef) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem }()
			var once sync.Once
			h.Handle(ctx, ref, attempt, func(o ack.Outcome) {
				once.Do(func() {
					mu.Lock()
					if !closed {
						outcome(ref, o)
					}
					mu.Unlock()
					wg.Done()
				})
			})
		}()
		return nil
	})
	// Every Handle has returned once the semaphore is full again.
	for range workers {
		sem <- struct{}{}
	}
	drainErr = h.Drain(ctx)
	if drainErr == nil {
		wg.Wait()
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	return listErr, drainErr
}
