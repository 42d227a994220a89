package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/logarchive/logarchive/pkg/store"
)

// LocalReport summarises a RunLocal.
type LocalReport struct {
	Objects     int // objects listed
	Done        int // objects whose output is durable (or needed none)
	Quarantined []*QuarantinedError
	Failed      []error // objects that could not be read at all
}

// RunLocal processes every object of every bucket directory under src.Root() (a local mirror of
// the Log Archive bucket(s): <root>/<bucket>/<key>) with the given number of workers, then calls
// flush so that buffered rows are written, and waits until every object is done.
func RunLocal(ctx context.Context, p *Processor, src *store.Local, workers int, flush func(context.Context) error) (LocalReport, error) {
	if workers < 1 {
		workers = 1
	}
	entries, err := os.ReadDir(src.Root())
	if err != nil {
		return LocalReport{}, fmt.Errorf("read %s: %w", src.Root(), err)
	}
	var buckets []string
	for _, e := range entries {
		if e.IsDir() {
			buckets = append(buckets, e.Name())
		}
	}
	sort.Strings(buckets)

	var (
		rep  LocalReport
		mu   sync.Mutex
		done sync.WaitGroup
	)
	inputs := make(chan Input)
	var workersWG sync.WaitGroup
	for i := 0; i < workers; i++ {
		workersWG.Add(1)
		go func() {
			defer workersWG.Done()
			for in := range inputs {
				if err := p.Process(ctx, in); err != nil {
					mu.Lock()
					rep.Failed = append(rep.Failed, err)
					mu.Unlock()
					done.Done()
				}
			}
		}()
	}
	listErr := func() error {
		defer close(inputs)
		for _, b := range buckets {
			err := src.List(ctx, b, "", "", func(info store.Info) error {
				done.Add(1)
				mu.Lock()
				rep.Objects++
				mu.Unlock()
				in := Input{Bucket: b, Key: info.Key, ETag: info.ETag}
				in.Done = func(err error) {
					mu.Lock()
					var q *QuarantinedError
					switch {
					case err == nil:
						rep.Done++
					case errors.As(err, &q):
						rep.Quarantined = append(rep.Quarantined, q)
					default:
						rep.Failed = append(rep.Failed, err)
					}
					mu.Unlock()
					done.Done()
				}
				select {
				case inputs <- in:
					return nil
				case <-ctx.Done():
					done.Done()
					return ctx.Err()
				}
			})
			if err != nil {
				return fmt.Errorf("list bucket %s: %w", b, err)
			}
		}
		return nil
	}()
	workersWG.Wait()
	if flush != nil {
		if err := flush(ctx); err != nil {
			return rep, fmt.Errorf("flush: %w", err)
		}
	}
	done.Wait()
	return rep, listErr
}
