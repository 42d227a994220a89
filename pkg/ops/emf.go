package ops

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
)

// EMFBridge publishes the same collectors /metrics serves as CloudWatch EMF samples: counters as
// their increase since the previous tick, gauges as their value. One source of truth feeds both, so
// the two views cannot disagree.
type EMFBridge struct {
	Agg        *emf.Aggregator
	Namespace  string
	Collectors []Collector
	// Units maps a metric name to its CloudWatch unit ("Count" when absent for counters).
	Units map[string]string

	mu   sync.Mutex
	last map[string]float64
}

// Tick takes one sample of every metric at now.
func (b *EMFBridge) Tick(now time.Time) error {
	w := &Writer{fams: map[string]*Family{}}
	for _, c := range b.Collectors {
		c(w)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]float64{}
	}
	var firstErr error
	for name, f := range w.fams {
		for _, s := range f.Samples {
			dims := make([]emf.Dimension, 0, len(s.Labels))
			for k, v := range s.Labels {
				dims = append(dims, emf.Dimension{Name: k, Value: v})
			}
			sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
			v := s.Value
			unit := b.Units[name]
			if f.Kind == Counter {
				id := seriesID(name, dims)
				prev, seen := b.last[id]
				b.last[id] = s.Value
				if !seen {
					prev = 0
				}
				v = s.Value - prev
				if v < 0 { // the component restarted its counter
					v = s.Value
				}
				if unit == "" {
					unit = "Count"
				}
			}
			err := b.Agg.Add(emf.Datum{Time: now, Namespace: b.Namespace, Name: strings.TrimSuffix(name, "_total"), Unit: unit, Dimensions: dims, Value: v})
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

func seriesID(name string, dims []emf.Dimension) string {
	var sb strings.Builder
	sb.WriteString(name)
	for _, d := range dims {
		sb.WriteByte(0)
		sb.WriteString(d.Name)
		sb.WriteByte(0)
		sb.WriteString(d.Value)
	}
	return sb.String()
}
