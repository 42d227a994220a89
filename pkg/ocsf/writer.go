package ocsf

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
	"github.com/logarchive/logarchive/pkg/store"
)

// Layout is the Security Lake layout of the writer core (pkg/sink): one table per OCSF class, each
// written under its custom source's location as
// <source prefix>region=<region>/accountId=<account>/eventDay=YYYYMMDD/<hash>.zstd.parquet, with the
// bare integer annotations Security Lake's own objects carry (the footer is rewritten before
// upload; see stripIntAnnotations). Staging, spilling, naming, commit hooks and Done are the core's:
// the Security Lake output has the same exactly-once protocol as the Athena tables.
type Layout struct {
	sources map[Class]store.Location
	api     *sink.TableDef[APIActivity]
	auth    *sink.TableDef[Authentication]
	account *sink.TableDef[AccountChange]
	network *sink.TableDef[NetworkActivity]
	dns     *sink.TableDef[DNSActivity]
	finding *sink.TableDef[DetectionFinding]
}

// NewLayout returns the layout for the given sources: the provider.location of each class's custom
// source (ProviderLocation), or a store location with SourcePrefix. A row of a class without a
// source is refused with *NoSourceError.
func NewLayout(sources map[Class]store.Location) (*Layout, error) {
	for c, loc := range sources {
		if loc.Store == nil {
			return nil, fmt.Errorf("ocsf: source of class %v has no store", c)
		}
		if _, ok := classInfos[c]; !ok {
			return nil, fmt.Errorf("ocsf: source for unknown class %v", c)
		}
	}
	l := &Layout{sources: sources}
	l.api = sink.NewTable[APIActivity](l.spec(ClassAPIActivity))
	l.auth = sink.NewTable[Authentication](l.spec(ClassAuthentication))
	l.account = sink.NewTable[AccountChange](l.spec(ClassAccountChange))
	l.network = sink.NewTable[NetworkActivity](l.spec(ClassNetworkActivity))
	l.dns = sink.NewTable[DNSActivity](l.spec(ClassDNSActivity))
	l.finding = sink.NewTable[DetectionFinding](l.spec(ClassDetectionFinding))
	return l, nil
}

// layoutRatio is the compressed/estimated size ratio assumed before the first object of a class.
const layoutRatio = 0.10

func (l *Layout) spec(c Class) sink.TableSpec {
	root := classInfos[c].table()
	src := l.sources[c]
	return sink.TableSpec{
		Name: sink.Table(root), SortColumn: "time", Ratio: layoutRatio,
		File: func(part, name string) (store.Location, string) {
			p, err := PartitionOfPath(part)
			if err != nil {
				// Never: the layout made the path from a valid Partition.
				return src, src.Key(part + name + ".zstd.parquet")
			}
			return src, ObjectKey(src, p, name)
		},
		RewriteFooter: func(footer []byte) ([]byte, error) { return plainFooter(footer, root) },
		// No user metadata: a local store keeps it in a sidecar file beside the object, and nothing
		// but Parquet objects may sit in a lake partition (a synced folder would put the sidecar in
		// the lake).
	}
}

// ClassOf returns the class of a table this layout writes (File.Table of a checkpoint).
func ClassOf(t sink.Table) (Class, bool) {
	for c, info := range classInfos {
		if info.table() == string(t) {
			return c, true
		}
	}
	return 0, false
}

// Record maps a parsed record to its OCSF class and adds it. Records OCSF has no class for
// (Insights), that cannot be mapped (no time) or placed (no valid region or account) return
// *sink.UnsupportedRecordError: counted by the caller, not fatal to the object, whose other records
// are still good events. A record without a time or Region of its own takes its object's (Origin).
func (l *Layout) Record(ctx context.Context, in *sink.Input, rec *parse.Record) error {
	sc, _ := in.Scratch.(*inputScratch)
	if sc == nil {
		sc = new(inputScratch)
		obj := in.Object()
		sc.origin = OriginOf(obj, time.Now())
		sc.lin = Lineage{Bucket: obj.Bucket, Key: obj.Key, Account: obj.Account, Region: obj.Region}
		in.Scratch = sc
	}
	row, err := fromRecordIn(rec, sc.origin, &sc.rows)
	if err != nil {
		return &sink.UnsupportedRecordError{Source: rec.Source, Reason: err.Error()}
	}
	lin := sc.lin
	lin.Index = rec.Index
	part, err := PartitionOf(row, lin)
	if err != nil {
		return &sink.UnsupportedRecordError{Source: rec.Source, Reason: err.Error()}
	}
	if part != sc.part || sc.path == "" {
		sc.part, sc.path = part, part.Path()
	}
	return l.addRow(ctx, in, row, sc.path, len(rec.Raw))
}

// inputScratch is what Record keeps per input: the object's origin and lineage, the rows it maps
// into, and the last partition's path (an object's records mostly share one).
type inputScratch struct {
	origin Origin
	lin    Lineage
	rows   rowScratch
	part   Partition
	path   string
}

// Finding adds a metric-filter match as a Detection Finding (2004).
func (l *Layout) Finding(ctx context.Context, in *sink.Input, f *sink.FindingRow) error {
	rf := rules.Finding{EventTime: f.EventTime, Rule: f.Rule, MetricNamespace: f.MetricNamespace, MetricName: f.MetricName,
		MetricValue: f.MetricValue, Source: f.Source, Account: f.Account, Region: f.Region, EventID: f.EventID,
		EventJSON: f.EventJSON, SourceBucket: f.Lineage.Bucket, SourceKey: f.Lineage.Key, SourceIndex: f.Lineage.Index}
	row, err := DetectionFindingOf(&rf)
	if err != nil {
		return &sink.UnsupportedRecordError{Source: parse.SourceUnknown, Reason: err.Error()}
	}
	obj := in.Object()
	part, err := PartitionOf(row, Lineage{Account: obj.Account, Region: obj.Region})
	if err != nil {
		return &sink.UnsupportedRecordError{Source: obj.Source, Reason: err.Error()}
	}
	return l.addRow(ctx, in, row, part.Path(), 0)
}

// Integrity results have no OCSF class here: they stay in the Athena integrity table.
func (l *Layout) Integrity(context.Context, *sink.Input, *sink.IntegrityRow) error { return nil }

// Add adds one mapped row (see PartitionOf for its partition).
func (l *Layout) Add(ctx context.Context, in *sink.Input, row Row, lin Lineage) error {
	c := row.Class()
	if _, ok := l.sources[c]; !ok {
		return &NoSourceError{Class: c}
	}
	part, err := PartitionOf(row, lin)
	if err != nil {
		return fmt.Errorf("ocsf: s3://%s/%s record %d: %w", lin.Bucket, lin.Key, lin.Index, err)
	}
	return l.addRow(ctx, in, row, part.Path(), 0)
}

// addRow adds a row to its class's table in the given partition path; raw is the length of the
// record text it was mapped from (see rowBytes).
func (l *Layout) addRow(ctx context.Context, in *sink.Input, row Row, path string, raw int) error {
	ts := time.UnixMilli(row.EventTime()).UTC()
	size := l.rowBytes(row, raw)
	switch x := row.(type) {
	case *APIActivity:
		return sink.AddRow(ctx, in, l.api, path, *x, ts, size)
	case *Authentication:
		return sink.AddRow(ctx, in, l.auth, path, *x, ts, size)
	case *AccountChange:
		return sink.AddRow(ctx, in, l.account, path, *x, ts, size)
	case *NetworkActivity:
		return sink.AddRow(ctx, in, l.network, path, *x, ts, size)
	case *DNSActivity:
		return sink.AddRow(ctx, in, l.dns, path, *x, ts, size)
	case *DetectionFinding:
		return sink.AddRow(ctx, in, l.finding, path, *x, ts, size)
	}
	return fmt.Errorf("ocsf: no table for %T", row)
}

// PartitionOfPath parses a partition path ("region=…/accountId=…/eventDay=YYYYMMDD/").
func PartitionOfPath(path string) (Partition, error) {
	var p Partition
	for _, seg := range strings.Split(strings.TrimSuffix(path, "/"), "/") {
		k, v, _ := strings.Cut(seg, "=")
		switch k {
		case "region":
			p.Region = v
		case "accountId":
			p.Account = v
		case "eventDay":
			d, err := time.Parse("20060102", v)
			if err != nil {
				return p, fmt.Errorf("ocsf: partition %q: %w", path, err)
			}
			p.Day = d
		}
	}
	return p, p.validate()
}

// Sources maps every class to ext/<default source name>/[<version>/] under loc (or under the
// provider.location-style prefix already in loc).
func Sources(loc store.Location, version string) (map[Class]store.Location, error) {
	out := map[Class]store.Location{}
	for _, c := range Classes() {
		prefix, err := SourcePrefix(c.DefaultSourceName(), version)
		if err != nil {
			return nil, err
		}
		l := loc
		l.Prefix += prefix
		out[c] = l
	}
	return out, nil
}

// WriterOptions configure a Writer. Zero values take the writer core's defaults.
type WriterOptions struct {
	// Sources is where each class goes (see NewLayout).
	Sources map[Class]store.Location
	// FileBytes is the estimated uncompressed size at which a partition is written as one object.
	// Default DefaultFileBytes.
	FileBytes int64
	// MemoryBudget bounds the estimated size of everything buffered. Default sink.DefaultMemoryBudget.
	MemoryBudget int64
	// MaxAge bounds how long a row waits: FlushDue writes partitions whose first row is older.
	// Default sink.DefaultMaxAge (Security Lake wants objects at most every 5 minutes).
	MaxAge time.Duration
	// RowGroupBytes caps a row group (far below Security Lake's 256 MB). PageBytes is the column page
	// buffer: pages stay far under Security Lake's 1 MB uncompressed limit.
	RowGroupBytes int64
	PageBytes     int
	// AfterCommit, when set, is called for every object once it is committed.
	AfterCommit func(ctx context.Context, f File)
	Now         func() time.Time
	Logger      *slog.Logger
}

// DefaultFileBytes is the uncompressed size a partition is written at.
const DefaultFileBytes = 256 << 20

// SpillBytes is the writer core's Options.SpillBytes for this layout: how much a partition
// buffers as rows before they are encoded as one row group. The Athena tables partition by day;
// this layout by class, Region, account and day, so one object's rows spread over many more
// partitions, and at the core's default of the time (32 MiB each) they stayed as rows until the end: on the
// benchmark's Resolver archive (16 partitions) 549 MiB peak RSS. At 16 MiB, one core, bench data:
// CloudTrail 3.49 -> 3.03 s CPU, 502 -> 471 MiB, files +2.9 %; Resolver 3.20 -> 2.63 s, 549 ->
// 294 MiB, +4.0 %; VPC flow 10.1 -> 9.7 s, 273 -> 188 MiB, +1.9 %. (8 MiB: 371, 242, 163 MiB but
// files +5-9 %.)
const SpillBytes = 16 << 20

// Writer adds already-mapped rows to a writer core with the Security Lake layout, one row at a
// time, each row its own input (named by its lineage): a convenience for callers that hold rows
// rather than objects. Objects streamed from the pipeline use the layout through a sink.Sink.
type Writer struct {
	layout *Layout
	s      *sink.Sink
	after  func(ctx context.Context, f File)

	mu        sync.Mutex
	committed []File
}

// File is one committed Security Lake object.
type File struct {
	Class            Class
	Partition        Partition
	Bucket, Key      string
	Rows, Bytes      int64
	MinTime, MaxTime time.Time
}

// NoSourceError says rows of a class were added but no source is configured for it.
type NoSourceError struct{ Class Class }

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("ocsf: no Security Lake source configured for class %v", e.Class)
}

// Lineage names the record a row came from. Bucket, Key and Index order rows with equal times and
// name objects; Account and Region (the object's, from its key) partition a row that names none.
type Lineage struct {
	Bucket, Key     string
	Index           int64
	Account, Region string
}

// NewWriter returns a Writer for the given sources.
func NewWriter(opts WriterOptions) (*Writer, error) {
	l, err := NewLayout(opts.Sources)
	if err != nil {
		return nil, err
	}
	if opts.FileBytes <= 0 {
		opts.FileBytes = DefaultFileBytes
	}
	w := &Writer{layout: l, after: opts.AfterCommit}
	// The core sizes files and row groups by their compressed estimate; these options are
	// uncompressed sizes, at the layout's prior ratio.
	s, err := sink.New(sink.Options{Layout: l, TargetFileBytes: int64(float64(opts.FileBytes) * layoutRatio),
		MemoryBudget: opts.MemoryBudget, SpillBytes: SpillBytes, MaxAge: opts.MaxAge, RowGroupBytes: int64(float64(opts.RowGroupBytes) * layoutRatio),
		PageBytes: opts.PageBytes, Now: opts.Now, Logger: opts.Logger, AfterCommit: w.afterCommit})
	if err != nil {
		return nil, err
	}
	w.s = s
	return w, nil
}

func (w *Writer) afterCommit(ctx context.Context, cp sink.Checkpoint) {
	for _, f := range cp.Files {
		c, _ := ClassOf(f.Table)
		p, _ := PartitionOfPath(f.Partition)
		of := File{Class: c, Partition: p, Bucket: f.Bucket, Key: f.Key, Rows: f.Rows, Bytes: f.Bytes,
			MinTime: f.MinTime, MaxTime: f.MaxTime}
		w.mu.Lock()
		w.committed = append(w.committed, of)
		w.mu.Unlock()
		if w.after != nil {
			w.after(ctx, of)
		}
	}
}

// Add adds a row (see PartitionOf for its partition); it is written when its partition reaches
// FileBytes, the memory budget is exceeded, or at Flush.
func (w *Writer) Add(ctx context.Context, row Row, lin Lineage) error {
	in := w.s.Begin(ack.Ref{Bucket: lin.Bucket, Key: lin.Key, VersionID: "record-" + strconv.FormatInt(lin.Index, 10), Size: -1}, nil)
	if err := w.layout.Add(ctx, in, row, lin); err != nil {
		in.Abort(ack.Outcome{Kind: ack.Retry, Class: "refused", Err: err})
		return err
	}
	in.End()
	return nil
}

// Flush writes every buffered row and returns the objects committed since the call began.
func (w *Writer) Flush(ctx context.Context) ([]File, error) {
	return w.since(func() error { return w.s.Flush(ctx) })
}

// FlushDue writes the partitions whose first buffered row has waited MaxAge or longer.
func (w *Writer) FlushDue(ctx context.Context) ([]File, error) {
	return w.since(func() error { return w.s.FlushDue(ctx) })
}

func (w *Writer) since(f func() error) ([]File, error) {
	w.mu.Lock()
	n := len(w.committed)
	w.mu.Unlock()
	err := f()
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]File(nil), w.committed[n:]...), err
}

// Buffered returns the number of rows waiting to be written.
func (w *Writer) Buffered() int {
	st := w.s.Stats()
	return int(st.RowsAdded - st.RowsWritten)
}

// BufferedBytes returns the estimated bytes buffered.
func (w *Writer) BufferedBytes() int64 { return w.s.Stats().BufferedBytes }
