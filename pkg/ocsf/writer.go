package ocsf

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/logarchive/logarchive/pkg/store"
)

// WriterOptions configure a Writer. Zero values take the defaults below.
type WriterOptions struct {
	// Sources is where each class goes: the provider.location of its custom source
	// (ProviderLocation), or a store location with SourcePrefix. Adding a row of a class without a
	// source is an error.
	Sources map[Class]store.Location
	// FileBytes is the estimated uncompressed size at which a partition's buffered rows are written
	// as one object. Default DefaultFileBytes.
	FileBytes int64
	// MemoryBudget bounds the estimated uncompressed size of all buffered rows. When an Add takes
	// the total past it, the largest partitions are written until at most half of it is left.
	// Default DefaultMemoryBudget.
	MemoryBudget int64
	// MaxAge bounds how long a row waits in memory: FlushDue writes partitions whose first buffered
	// row is older. Default DefaultMaxAge (Security Lake wants objects at most every 5 minutes).
	MaxAge time.Duration
	// RowGroupBytes is the estimated uncompressed size of a row group; compressed it is far below
	// Security Lake's 256 MB limit. Default DefaultRowGroupBytes.
	RowGroupBytes int64
	// PageBytes is the column page buffer, i.e. the uncompressed size at which a data page is cut.
	// Default DefaultPageBytes.
	PageBytes int
	// AfterCommit, when set, is called for every object once it is committed.
	AfterCommit func(ctx context.Context, f File)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Logger gets one debug line per object; default slog.Default().
	Logger *slog.Logger
}

const (
	DefaultFileBytes     = 256 << 20
	DefaultMemoryBudget  = 1 << 30
	DefaultMaxAge        = 5 * time.Minute
	DefaultRowGroupBytes = 128 << 20
	// DefaultPageBytes keeps data pages far under Security Lake's 1 MB uncompressed limit: a page
	// is cut once its buffer reaches this size, so it holds at most this plus one value, and one
	// CloudTrail event is at most 256 KB.
	DefaultPageBytes = 256 << 10
)

func (o WriterOptions) withDefaults() WriterOptions {
	if o.FileBytes <= 0 {
		o.FileBytes = DefaultFileBytes
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.PageBytes <= 0 {
		o.PageBytes = DefaultPageBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Lineage names the record a row came from. Bucket, Key and Index order rows with equal times and
// name objects; Account and Region (the object's, from its key) partition a row that names none.
type Lineage struct {
	Bucket, Key     string
	Index           int64
	Account, Region string
}

// File is one committed Security Lake object.
type File struct {
	Class            Class
	Partition        Partition
	Bucket, Key      string
	Rows, Bytes      int64
	MinTime, MaxTime time.Time
}

// NoSourceError says rows of a class were added but WriterOptions.Sources has no location for it.
type NoSourceError struct{ Class Class }

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("ocsf: no Security Lake source configured for class %v", e.Class)
}

// Writer buffers rows per (class, region, account, event day) and writes each buffer as one
// Parquet object under its class's source. It is safe for concurrent use; writing holds its lock,
// which is the back-pressure on Add.
type Writer struct {
	opts WriterOptions

	mu       sync.Mutex
	bufs     map[bufKey]*buffer
	buffered int64 // estimated bytes of every buffered row
}

type bufKey struct {
	class                Class
	region, account, day string
}

type buffer struct {
	class   Class
	part    Partition
	rows    []Row
	keys    []sortKey
	bytes   int64 // estimated uncompressed
	created time.Time
}

type sortKey struct {
	t   int64
	lin Lineage
}

func compareKeys(a, b *sortKey) int {
	return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.lin.Bucket, b.lin.Bucket),
		cmp.Compare(a.lin.Key, b.lin.Key), cmp.Compare(a.lin.Index, b.lin.Index))
}

// NewWriter returns a Writer for the given sources.
func NewWriter(opts WriterOptions) (*Writer, error) {
	opts = opts.withDefaults()
	w := &Writer{opts: opts, bufs: map[bufKey]*buffer{}}
	for c, loc := range opts.Sources {
		if loc.Store == nil {
			return nil, fmt.Errorf("ocsf: source of class %v has no store", c)
		}
		if _, ok := classInfos[c]; !ok {
			return nil, fmt.Errorf("ocsf: source for unknown class %v", c)
		}
	}
	return w, nil
}

// Add buffers a row (see PartitionOf for its partition). When the row's partition reaches
// FileBytes it is written before Add returns; a failed write keeps its rows buffered for the next
// Flush.
func (w *Writer) Add(ctx context.Context, row Row, lin Lineage) error {
	c := row.Class()
	if _, ok := w.opts.Sources[c]; !ok {
		return &NoSourceError{Class: c}
	}
	part, err := PartitionOf(row, lin)
	if err != nil {
		return fmt.Errorf("ocsf: s3://%s/%s record %d: %w", lin.Bucket, lin.Key, lin.Index, err)
	}
	k := bufKey{c, part.Region, part.Account, part.Day.Format("20060102")}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.bufs[k]
	if b == nil {
		b = &buffer{class: c, part: part, created: w.opts.Now()}
		w.bufs[k] = b
	}
	b.rows = append(b.rows, row)
	b.keys = append(b.keys, sortKey{t: row.EventTime(), lin: Lineage{Bucket: lin.Bucket, Key: lin.Key, Index: lin.Index}})
	size := rowBytes(row)
	b.bytes += size
	w.buffered += size
	switch {
	case b.bytes >= w.opts.FileBytes:
		_, err = w.writeLocked(ctx, []bufKey{k})
	case w.buffered > w.opts.MemoryBudget:
		_, err = w.writeLocked(ctx, w.largestLocked(w.opts.MemoryBudget/2))
	}
	return err
}

// largestLocked picks the largest partitions whose writing leaves at most keep bytes buffered.
func (w *Writer) largestLocked(keep int64) []bufKey {
	ks := w.sortedKeysLocked(func(*buffer) bool { return true })
	slices.SortStableFunc(ks, func(a, b bufKey) int { return cmp.Compare(w.bufs[b].bytes, w.bufs[a].bytes) })
	rest := w.buffered
	var sel []bufKey
	for _, k := range ks {
		if rest <= keep {
			break
		}
		sel = append(sel, k)
		rest -= w.bufs[k].bytes
	}
	return sel
}

// Flush writes every buffered partition.
func (w *Writer) Flush(ctx context.Context) ([]File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(ctx, w.sortedKeysLocked(func(*buffer) bool { return true }))
}

// FlushDue writes the partitions whose first buffered row has waited MaxAge or longer.
func (w *Writer) FlushDue(ctx context.Context) ([]File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opts.Now()
	return w.writeLocked(ctx, w.sortedKeysLocked(func(b *buffer) bool { return now.Sub(b.created) >= w.opts.MaxAge }))
}

// Buffered returns the number of rows waiting to be written.
func (w *Writer) Buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.bufs {
		n += len(b.rows)
	}
	return n
}

func (w *Writer) sortedKeysLocked(pick func(*buffer) bool) []bufKey {
	var ks []bufKey
	for k, b := range w.bufs {
		if pick(b) {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b bufKey) int {
		return cmp.Or(cmp.Compare(a.class, b.class), cmp.Compare(a.region, b.region),
			cmp.Compare(a.account, b.account), cmp.Compare(a.day, b.day))
	})
	return ks
}

// writeLocked writes the buffers in turn. A buffer whose write fails stays buffered; the others
// are still attempted, and the errors are joined.
func (w *Writer) writeLocked(ctx context.Context, ks []bufKey) ([]File, error) {
	var files []File
	var errs []error
	for _, k := range ks {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("ocsf: write: %w", err))
			break
		}
		f, err := w.writeBuffer(ctx, w.bufs[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.buffered -= w.bufs[k].bytes
		delete(w.bufs, k)
		files = append(files, f)
		w.opts.Logger.Debug("ocsf: object committed", "class", int32(f.Class), "key", f.Key, "rows", f.Rows, "bytes", f.Bytes)
		if w.opts.AfterCommit != nil {
			w.opts.AfterCommit(ctx, f)
		}
	}
	return files, errors.Join(errs...)
}

func (w *Writer) writeBuffer(ctx context.Context, b *buffer) (File, error) {
	src := w.opts.Sources[b.class]
	perm := make([]int, len(b.rows))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(x, y int) int { return compareKeys(&b.keys[x], &b.keys[y]) })
	f := File{Class: b.class, Partition: b.part, Bucket: src.Bucket, Rows: int64(len(b.rows)),
		MinTime: time.UnixMilli(b.keys[perm[0]].t).UTC(), MaxTime: time.UnixMilli(b.keys[perm[len(perm)-1]].t).UTC()}
	f.Key = ObjectKey(src, b.part, b.name())

	// No user metadata: a local store keeps it in a sidecar file beside the object, and nothing but
	// Parquet objects may sit in a lake partition (a synced folder would put the sidecar in the lake).
	up, err := src.Store.Create(ctx, src.Bucket, f.Key, nil)
	if err != nil {
		return f, fmt.Errorf("ocsf: create %s: %w", f.Key, err)
	}
	// The object is encoded in memory: its footer is rewritten before upload (stripIntAnnotations).
	// It is the compressed form of rows already held, a fraction of their size.
	var buf bytes.Buffer
	data, err := w.encode(&buf, b, perm)
	if err == nil {
		_, err = up.Write(data)
	}
	if err != nil {
		if aerr := up.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return f, fmt.Errorf("ocsf: write %s: %w", f.Key, err)
	}
	if err := up.Commit(); err != nil {
		return f, fmt.Errorf("ocsf: commit %s: %w", f.Key, err)
	}
	f.Bytes = int64(len(data))
	return f, nil
}

// encode encodes the buffer's rows in perm order as one Parquet file into buf and returns the
// file with Security Lake's bare integer annotations.
func (w *Writer) encode(buf *bytes.Buffer, b *buffer, perm []int) ([]byte, error) {
	var err error
	switch b.class {
	case ClassAPIActivity:
		err = encodeRows[APIActivity](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	case ClassAuthentication:
		err = encodeRows[Authentication](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	case ClassAccountChange:
		err = encodeRows[AccountChange](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	case ClassNetworkActivity:
		err = encodeRows[NetworkActivity](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	case ClassDNSActivity:
		err = encodeRows[DNSActivity](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	case ClassDetectionFinding:
		err = encodeRows[DetectionFinding](buf, w.writerOptions(), b, perm, w.opts.RowGroupBytes)
	default:
		err = fmt.Errorf("no encoder for class %v", b.class)
	}
	if err != nil {
		return nil, err
	}
	return stripIntAnnotations(buf.Bytes(), classInfos[b.class].table())
}

// writerOptions leave the schema to the row type: parquet-go's fast path needs exactly the
// struct's schema.
func (w *Writer) writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.PageBufferSize(w.opts.PageBytes),
		parquet.DataPageStatistics(true),
		parquet.CreatedBy("logarchive", "1", ""),
	}
}

// encodeChunkRows bounds the typed copy made while encoding.
const encodeChunkRows = 512

// encodeRows writes rows of one class; a row group is cut when its estimated uncompressed size
// reaches rowGroupBytes.
func encodeRows[T any](out io.Writer, opts []parquet.WriterOption, b *buffer, perm []int, rowGroupBytes int64) error {
	pw := parquet.NewGenericWriter[T](out, opts...)
	chunk := make([]T, 0, min(encodeChunkRows, len(perm)))
	var group int64
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if _, err := pw.Write(chunk); err != nil {
			return fmt.Errorf("parquet write: %w", err)
		}
		chunk = chunk[:0]
		return nil
	}
	for _, i := range perm {
		row, ok := any(b.rows[i]).(*T)
		if !ok {
			return fmt.Errorf("row %d is %T in a class %v buffer", i, b.rows[i], b.class)
		}
		chunk = append(chunk, *row)
		group += rowBytes(b.rows[i])
		if len(chunk) == cap(chunk) {
			if err := flush(); err != nil {
				return err
			}
		}
		if group >= rowGroupBytes {
			if err := flush(); err != nil {
				return err
			}
			if err := pw.Flush(); err != nil { // ends the row group
				return fmt.Errorf("parquet flush row group: %w", err)
			}
			group = 0
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet close: %w", err)
	}
	return nil
}

// name derives the object name from what it holds: its class, partition and, per input object,
// the range of record indexes. Redoing the same work yields the same name, so a retry overwrites
// its earlier attempt instead of adding a duplicate.
func (b *buffer) name() string {
	type span struct{ first, last int64 }
	spans := map[[2]string]*span{}
	for _, k := range b.keys {
		id := [2]string{k.lin.Bucket, k.lin.Key}
		s := spans[id]
		if s == nil {
			spans[id] = &span{k.lin.Index, k.lin.Index}
			continue
		}
		s.first, s.last = min(s.first, k.lin.Index), max(s.last, k.lin.Index)
	}
	ids := make([][2]string, 0, len(spans))
	for id := range spans {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0xff}) // never in UTF-8: fields cannot run into each other
	}
	field(strconv.Itoa(int(b.class)))
	field(b.part.Path())
	field(strconv.Itoa(len(b.rows)))
	for _, id := range ids {
		s := spans[id]
		field(id[0])
		field(id[1])
		field(strconv.FormatInt(s.first, 10))
		field(strconv.FormatInt(s.last, 10))
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// rowBytes estimates a row's uncompressed size: a fixed part for its scalar columns plus the
// free-form text it carries, which dominates large rows.
func rowBytes(r Row) int64 {
	n := int64(1024)
	add := func(s *string) {
		if s != nil {
			n += int64(len(*s))
		}
	}
	var um map[string]string
	switch x := r.(type) {
	case *APIActivity:
		if x.API.Request != nil {
			add(x.API.Request.Data)
		}
		if x.API.Response != nil {
			add(x.API.Response.Data)
			add(x.API.Response.Message)
		}
		um = x.Unmapped
	case *Authentication:
		if x.API != nil && x.API.Request != nil {
			add(x.API.Request.Data)
		}
		if x.API != nil && x.API.Response != nil {
			add(x.API.Response.Data)
		}
		um = x.Unmapped
	case *AccountChange:
		if x.API != nil && x.API.Request != nil {
			add(x.API.Request.Data)
		}
		if x.API != nil && x.API.Response != nil {
			add(x.API.Response.Data)
		}
		um = x.Unmapped
	case *NetworkActivity:
		um = x.Unmapped
	case *DNSActivity:
		um = x.Unmapped
	case *DetectionFinding:
		add(x.RawData)
		um = x.Unmapped
	}
	for k, v := range um {
		n += int64(len(k) + len(v))
	}
	return n
}
