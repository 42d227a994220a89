package sink

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// rowSet is a buffer's typed rows: pending rows in memory, plus (once the partition has grown past
// Options.SpillBytes) earlier rows already encoded and compressed as time-sorted row groups in a
// spool, so a partition can grow to a full-size file while holding only its compressed bytes.
type rowSet interface {
	len() int
	timeRange() (minT, maxT time.Time)
	// spill sorts the pending rows by time and encodes them as one row group into the spool.
	spill(cfg writeConfig) error
	spoolBytes() int64
	// write writes every row, sorted by time, as one Parquet file: pending rows are sorted and
	// encoded directly; with a spool, the sorted row groups are merged.
	write(w io.Writer, cfg writeConfig) error
}

type writeConfig struct {
	schema       *parquet.Schema
	compression  Compression
	pageBytes    int
	rowGroupRows int64
}

// sortKey orders rows by event time, then by input identity and ordinal, so equal times still
// sort the same way every run (files are reproducible).
type sortKey struct {
	t   int64 // Unix milliseconds
	in  *Input
	ord int64
}

func compareKeys(a, b *sortKey) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	if a.in != b.in {
		if c := cmp.Compare(a.in.id, b.in.id); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ord, b.ord)
}

type rowsOf[T any] struct {
	rows []T // pending
	keys []sortKey

	// spool holds spilled rows as complete Parquet files of one sorted row group each. Closing a
	// writer per spill, rather than keeping one open, leaves no column buffers behind: a spilled
	// partition holds only its compressed bytes.
	spool   [][]byte
	spooled int
	// Time range over pending and spooled rows.
	lo, hi int64
}

func (r *rowsOf[T]) add(row T, k sortKey) {
	if r.len() == 0 {
		r.lo, r.hi = k.t, k.t
	}
	r.lo, r.hi = min(r.lo, k.t), max(r.hi, k.t)
	r.rows = append(r.rows, row)
	r.keys = append(r.keys, k)
}

func (r *rowsOf[T]) len() int { return len(r.rows) + r.spooled }

func (r *rowsOf[T]) timeRange() (time.Time, time.Time) {
	if r.len() == 0 {
		return time.Time{}, time.Time{}
	}
	return time.UnixMilli(r.lo).UTC(), time.UnixMilli(r.hi).UTC()
}

func (r *rowsOf[T]) spoolBytes() int64 {
	var n int64
	for _, seg := range r.spool {
		n += int64(len(seg))
	}
	return n
}

// writeChunkRows bounds the sorted copy made while writing: rows are sorted through a permutation
// (rows are large structs, swapping them is slow) and copied out in chunks of this many rows.
const writeChunkRows = 1024

// writeSorted writes the pending rows in time order to pw.
func (r *rowsOf[T]) writeSorted(pw *parquet.GenericWriter[T]) error {
	perm := make([]int32, len(r.rows))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return compareKeys(&r.keys[a], &r.keys[b]) })
	chunk := make([]T, 0, min(writeChunkRows, len(perm)))
	for start := 0; start < len(perm); start += writeChunkRows {
		chunk = chunk[:0]
		for _, i := range perm[start:min(start+writeChunkRows, len(perm))] {
			chunk = append(chunk, r.rows[i])
		}
		if _, err := pw.Write(chunk); err != nil {
			return fmt.Errorf("parquet write: %w", err)
		}
	}
	return nil
}

func (r *rowsOf[T]) spill(cfg writeConfig) error {
	if len(r.rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	cfg.rowGroupRows = math.MaxInt64 // one sorted row group per spill
	pw := parquet.NewGenericWriter[T](&buf, writerOptions[T](cfg)...)
	if err := r.writeSorted(pw); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet close spill: %w", err)
	}
	r.spool = append(r.spool, bytes.Clone(buf.Bytes())) // trimmed: the buffer grew in steps
	r.spooled += len(r.rows)
	r.rows, r.keys = nil, nil // release the pending rows' memory now
	return nil
}

// write may run again after a failed attempt (a retried checkpoint): it then finds every row in
// the spool and writes the same file again.
func (r *rowsOf[T]) write(w io.Writer, cfg writeConfig) error {
	if len(r.spool) == 0 {
		pw := parquet.NewGenericWriter[T](w, writerOptions[T](cfg)...)
		if err := r.writeSorted(pw); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("parquet close: %w", err)
		}
		return nil
	}
	if err := r.spill(cfg); err != nil {
		return err
	}
	if len(r.spool) == 1 {
		_, err := w.Write(r.spool[0])
		return err
	}
	// Each spilled row group is sorted; merging them keeps the whole file in time order and lets
	// the output writer cut row groups at the configured size.
	var groups []parquet.RowGroup
	for i, seg := range r.spool {
		f, err := parquet.OpenFile(bytes.NewReader(seg), int64(len(seg)))
		if err != nil {
			return fmt.Errorf("open spilled segment %d: %w", i, err)
		}
		groups = append(groups, f.RowGroups()...)
	}
	merged, err := parquet.MergeRowGroups(groups, cfg.schema,
		parquet.SortingRowGroupConfig(parquet.SortingColumns(parquet.Ascending(sortColumn[T]()))))
	if err != nil {
		return fmt.Errorf("merge spilled row groups: %w", err)
	}
	pw := parquet.NewGenericWriter[T](w, writerOptions[T](cfg)...)
	if _, err := pw.WriteRowGroup(merged); err != nil {
		return fmt.Errorf("write merged row groups: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet close: %w", err)
	}
	return nil
}

// Schema returns the Parquet schema of a table's files (derived from its row struct's tags).
func Schema(t Table) (*parquet.Schema, error) {
	switch t {
	case TableCloudTrail:
		return parquet.SchemaOf(CloudTrailRow{}), nil
	case TableVPCFlow:
		return parquet.SchemaOf(VPCFlowRow{}), nil
	case TableResolver:
		return parquet.SchemaOf(ResolverRow{}), nil
	case TableFindings:
		return parquet.SchemaOf(findingCol{}), nil
	case TableIntegrity:
		return parquet.SchemaOf(integrityCol{}), nil
	}
	return nil, fmt.Errorf("sink: unknown table %q", t)
}

// sortColumn is the time column each table's rows are sorted by; it is recorded in the row-group
// metadata (sorting_columns) so engines can rely on the order.
func sortColumn[T any]() string {
	var zero T
	switch any(zero).(type) {
	case CloudTrailRow:
		return "eventtime"
	case VPCFlowRow:
		return "start_time"
	case ResolverRow:
		return "query_timestamp"
	case findingCol:
		return "event_time"
	case integrityCol:
		return "verified_at"
	}
	return ""
}

func codec(c Compression) compress.Codec {
	if c == Snappy {
		return &snappy.Codec{}
	}
	return &zstd.Codec{Level: zstd.SpeedDefault}
}

func writerOptions[T any](cfg writeConfig) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		cfg.schema,
		parquet.Compression(codec(cfg.compression)),
		parquet.PageBufferSize(cfg.pageBytes),
		parquet.MaxRowsPerRowGroup(cfg.rowGroupRows),
		parquet.DataPageStatistics(true),
		parquet.CreatedBy("logarchive", "1", ""),
	}
	if col := sortColumn[T](); col != "" {
		opts = append(opts, parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(col))))
	}
	return opts
}

// Size estimates, used for the memory budget and (times the learned compression ratio) for file
// sizing. A record's text (Record.Raw) is a close proxy for what its row holds: every string of the
// row is a piece of it. Findings and integrity rows have no source text; their strings are summed.

func recordSize[T any](row *T, raw []byte) int64 {
	n := int64(unsafe.Sizeof(*row))
	if len(raw) > 0 {
		return n + int64(len(raw))
	}
	return n + 512 // a record without text: assume a typical flow-log line's worth
}

func sizeFinding(r *findingCol) int64 {
	return int64(unsafe.Sizeof(*r)) + strLen(r.Rule, r.SourceBucket, r.SourceKey) + ptrLen(r.MetricNamespace,
		r.MetricName, r.Source, r.Account, r.Region, r.EventID, r.EventJSON)
}

func sizeIntegrity(r *integrityCol) int64 {
	return int64(unsafe.Sizeof(*r)) + strLen(r.Status) + ptrLen(r.DigestBucket, r.DigestKey, r.ChainAccount,
		r.ChainRegion, r.ChainTrail, r.ObjectBucket, r.ObjectKey, r.Class, r.Reason)
}

func strLen(ss ...string) int64 {
	var n int
	for _, s := range ss {
		n += len(s)
	}
	return int64(n)
}

func ptrLen(ss ...*string) int64 {
	var n int
	for _, s := range ss {
		if s != nil {
			n += len(*s) + 16
		}
	}
	return int64(n)
}
