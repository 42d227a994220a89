// Package emf aggregates metric samples per minute and writes them as CloudWatch Embedded Metric
// Format documents, so that the awslogs driver (stdout on ECS) turns them into CloudWatch metrics
// without a PutMetricData call.
//
// What it promises:
//   - Samples are grouped per minute, namespace and dimension set; each flush writes one document
//     per group (more only when EMF limits force a split), never one per event.
//   - Every sample is kept: values are written as EMF value arrays, so CloudWatch's SampleCount, Sum,
//     Minimum and Maximum equal those of publishing each sample. A metric with more than 100 samples
//     in a group spills into further documents for the same minute (EMF allows ≤ 100 values per
//     array), and a group with more than 100 metrics is split likewise (≤ 100 metrics per directive).
//   - Output is deterministic: groups by minute, namespace and dimensions; metrics by name.
//   - No goroutines are started behind the caller's back: Flush and Close are explicit, and Run
//     flushes on an interval until its context is cancelled.
//
// The aggregator is generic (namespace, dimensions, metric name, unit, value) so it carries the
// metric filters' metrics and the service's own operational metrics alike.
package emf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EMF limits (CloudWatch Embedded Metric Format specification).
const (
	MaxMetricsPerDocument = 100
	MaxValuesPerMetric    = 100
	MaxDimensions         = 30
)

// Dimension is a metric dimension.
type Dimension struct {
	Name  string
	Value string
}

// Datum is one metric sample.
type Datum struct {
	Time       time.Time
	Namespace  string
	Name       string
	Unit       string // CloudWatch StandardUnit; empty means none
	Dimensions []Dimension
	Value      float64
}

// Options configure an Aggregator.
type Options struct {
	// StorageResolution, when 1, marks metrics as high resolution; 0 leaves the default (60).
	// Aggregation stays per minute either way.
	StorageResolution int
	// MaxAge and MaxFuture bound sample timestamps relative to Now: CloudWatch drops EMF metrics
	// older than two weeks or more than two hours ahead, so such samples (a backfill of old logs)
	// are counted in Stats().Dropped instead of written. Zero means DefaultMaxAge and
	// DefaultMaxFuture; negative disables the check.
	MaxAge, MaxFuture time.Duration
	// Now is the clock for MaxAge and MaxFuture; default time.Now.
	Now func() time.Time
}

// CloudWatch's acceptance window for metric timestamps.
const (
	DefaultMaxAge    = 14 * 24 * time.Hour
	DefaultMaxFuture = 2 * time.Hour
)

// Stats are the aggregator's counters since it was created.
type Stats struct {
	Added   int64 // samples accepted
	Dropped int64 // samples CloudWatch would refuse, not written: the sum of the fields below
	// Why samples were dropped. CloudWatch accepts EMF metrics with timestamps from two weeks ago to
	// two hours ahead, dimension values of 1–1,024 ASCII characters, and namespaces outside AWS/.
	DroppedTooOld, DroppedFuture, DroppedDimension, DroppedNamespace int64
	Written                                                          int64 // documents written
}

// Aggregator collects samples between flushes. It is safe for concurrent use.
type Aggregator struct {
	opts Options
	mu   sync.Mutex
	wmu  sync.Mutex // serializes writes, so that concurrent flushes never interleave documents
	w    io.Writer
	// groups are keyed by minute, namespace and the canonical dimension text.
	groups map[groupKey]*group
	buf    bytes.Buffer
	stats  Stats
}

type groupKey struct {
	minute    int64
	namespace string
	dims      string
}

type group struct {
	dims    []Dimension // sorted by name
	metrics map[string]*series
}

type series struct {
	unit   string
	values []float64
}

// New returns an aggregator that writes documents to w.
func New(w io.Writer, opts Options) *Aggregator {
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxFuture == 0 {
		opts.MaxFuture = DefaultMaxFuture
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Aggregator{opts: opts, w: w, groups: map[groupKey]*group{}}
}

// Stats returns the counters.
func (a *Aggregator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// ErrInvalidDatum wraps the reason a sample was refused.
var ErrInvalidDatum = errors.New("emf: invalid datum")

// Add records one sample. It refuses samples EMF cannot carry (no name or namespace, NaN or infinite
// values, more than 30 dimensions, a dimension named like a metric of the same document).
func (a *Aggregator) Add(d Datum) error {
	if d.Namespace == "" || d.Name == "" {
		return fmt.Errorf("%w: metric needs a namespace and a name", ErrInvalidDatum)
	}
	if math.IsNaN(d.Value) || math.IsInf(d.Value, 0) {
		return fmt.Errorf("%w: %s/%s value %v", ErrInvalidDatum, d.Namespace, d.Name, d.Value)
	}
	if len(d.Dimensions) > MaxDimensions {
		return fmt.Errorf("%w: %s/%s has %d dimensions, EMF allows %d", ErrInvalidDatum, d.Namespace, d.Name, len(d.Dimensions), MaxDimensions)
	}
	dims := append([]Dimension(nil), d.Dimensions...)
	sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
	var key strings.Builder
	for i, dim := range dims {
		if dim.Name == "" || dim.Name == "_aws" {
			return fmt.Errorf("%w: %s/%s dimension name %q", ErrInvalidDatum, d.Namespace, d.Name, dim.Name)
		}
		if i > 0 && dims[i-1].Name == dim.Name {
			return fmt.Errorf("%w: %s/%s dimension %q given twice", ErrInvalidDatum, d.Namespace, d.Name, dim.Name)
		}
		if dim.Name == d.Name {
			return fmt.Errorf("%w: %s/%s: a dimension cannot share the metric's name", ErrInvalidDatum, d.Namespace, d.Name)
		}
		key.WriteString(dim.Name)
		key.WriteByte(0)
		key.WriteString(dim.Value)
		key.WriteByte(0)
	}
	if d.Name == "_aws" {
		return fmt.Errorf("%w: metric name _aws is reserved", ErrInvalidDatum)
	}
	if why := refusal(d, dims, a.opts); why != nil {
		a.mu.Lock()
		a.stats.Dropped++
		*why(&a.stats)++
		a.mu.Unlock()
		return nil
	}
	minute := d.Time.Unix()
	minute -= ((minute % 60) + 60) % 60
	k := groupKey{minute: minute, namespace: d.Namespace, dims: key.String()}
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[k]
	if g == nil {
		g = &group{dims: dims, metrics: map[string]*series{}}
		a.groups[k] = g
	}
	for _, dim := range g.dims {
		if dim.Name == d.Name {
			return fmt.Errorf("%w: %s/%s: a dimension cannot share the metric's name", ErrInvalidDatum, d.Namespace, d.Name)
		}
	}
	s := g.metrics[d.Name]
	if s == nil {
		s = &series{unit: d.Unit}
		g.metrics[d.Name] = s
	}
	s.values = append(s.values, d.Value)
	a.stats.Added++
	return nil
}

// refusal says which counter a sample CloudWatch would refuse goes to, or nil.
func refusal(d Datum, dims []Dimension, o Options) func(*Stats) *int64 {
	now := o.Now()
	switch {
	case o.MaxAge > 0 && d.Time.Before(now.Add(-o.MaxAge)):
		return func(s *Stats) *int64 { return &s.DroppedTooOld }
	case o.MaxFuture > 0 && d.Time.After(now.Add(o.MaxFuture)):
		return func(s *Stats) *int64 { return &s.DroppedFuture }
	case strings.HasPrefix(d.Namespace, "AWS/"):
		return func(s *Stats) *int64 { return &s.DroppedNamespace }
	}
	for _, dim := range dims {
		if dim.Value == "" || len(dim.Value) > 1024 || !isASCII(dim.Value) {
			return func(s *Stats) *int64 { return &s.DroppedDimension }
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Pending reports how many samples wait for the next flush.
func (a *Aggregator) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, g := range a.groups {
		for _, s := range g.metrics {
			n += len(s.values)
		}
	}
	return n
}

// Flush writes every pending group as EMF documents, one JSON object per line, and forgets them.
func (a *Aggregator) Flush() error {
	a.mu.Lock()
	groups := a.groups
	a.groups = map[groupKey]*group{}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := keys[i], keys[j]
		if x.minute != y.minute {
			return x.minute < y.minute
		}
		if x.namespace != y.namespace {
			return x.namespace < y.namespace
		}
		return x.dims < y.dims
	})
	// Written in the order flushed: the write lock is taken before the groups are let go.
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.buf.Reset()
	for _, k := range keys {
		a.writeGroup(&a.buf, k, groups[k])
	}
	out := a.buf.Bytes()
	a.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	if _, err := a.w.Write(out); err != nil {
		return fmt.Errorf("emf: writing %d bytes of metric documents: %w", len(out), err)
	}
	return nil
}

// Close flushes what is pending.
func (a *Aggregator) Close() error { return a.Flush() }

// Run flushes every interval until ctx is done, then flushes once more and returns. It is the only
// loop the package offers, and it runs on the caller's goroutine.
func (a *Aggregator) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return a.Flush()
		case <-t.C:
			if err := a.Flush(); err != nil {
				return err
			}
		}
	}
}

func (a *Aggregator) writeGroup(b *bytes.Buffer, k groupKey, g *group) {
	names := make([]string, 0, len(g.metrics))
	for n := range g.metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for start := 0; start < len(names); start += MaxMetricsPerDocument {
		chunk := names[start:min(start+MaxMetricsPerDocument, len(names))]
		for off := 0; ; off += MaxValuesPerMetric {
			var inDoc []string
			for _, n := range chunk {
				if len(g.metrics[n].values) > off {
					inDoc = append(inDoc, n)
				}
			}
			if len(inDoc) == 0 {
				break
			}
			a.writeDoc(b, k, g, inDoc, off)
		}
	}
}

func (a *Aggregator) writeDoc(b *bytes.Buffer, k groupKey, g *group, names []string, off int) {
	a.stats.Written++
	b.WriteString(`{"_aws":{"Timestamp":`)
	b.WriteString(strconv.FormatInt(k.minute*1000, 10))
	b.WriteString(`,"CloudWatchMetrics":[{"Namespace":`)
	writeString(b, k.namespace)
	b.WriteString(`,"Dimensions":[[`)
	for i, d := range g.dims {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, d.Name)
	}
	b.WriteString(`]],"Metrics":[`)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Name":`)
		writeString(b, n)
		if u := g.metrics[n].unit; u != "" {
			b.WriteString(`,"Unit":`)
			writeString(b, u)
		}
		if a.opts.StorageResolution == 1 {
			b.WriteString(`,"StorageResolution":1`)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}]}`)
	for _, d := range g.dims {
		b.WriteByte(',')
		writeString(b, d.Name)
		b.WriteByte(':')
		writeString(b, d.Value)
	}
	for _, n := range names {
		vals := g.metrics[n].values[off:]
		vals = vals[:min(len(vals), MaxValuesPerMetric)]
		b.WriteByte(',')
		writeString(b, n)
		b.WriteByte(':')
		if len(vals) == 1 {
			b.WriteString(strconv.FormatFloat(vals[0], 'g', -1, 64))
			continue
		}
		b.WriteByte('[')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte(']')
	}
	b.WriteString("}\n")
}

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a Go string always marshals
	b.Write(q)
}
