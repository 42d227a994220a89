package sink

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

const (
	TableCloudTrail Table = "cloudtrail"
	TableVPCFlow    Table = "vpcflow"
	TableResolver   Table = "resolver"
	TableFindings   Table = "findings"
	TableIntegrity  Table = "integrity"
)

// Tables lists every table of the Athena layout, in a fixed order.
func Tables() []Table {
	return []Table{TableCloudTrail, TableVPCFlow, TableResolver, TableFindings, TableIntegrity}
}

// Schema returns the Parquet schema of an Athena table's files (derived from its row struct's tags).
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

// athena is the Athena layout: one table per log type plus findings and integrity, Hive partitions
// <table>/dt=YYYY-MM-DD/ by event time (docs/lake.md says why), files <hash>.parquet.
//
// Each table is compiled (schema, shredder, pqwrite schema: a parquet-go writer writes an empty
// file) at its first row, not when the layout is made: a run sees one or two of the five, and
// compiling all of them was a quarter of the start-up before the first object is read.
type athena struct {
	cloudtrail func() *TableDef[CloudTrailRow]
	vpcflow    func() *TableDef[flowRow]
	resolver   func() *TableDef[ResolverRow]
	findings   func() *TableDef[findingCol]
	integrity  func() *TableDef[integrityCol]
	// blocks recycles what Resolver rows point to (resolverSlab).
	blocks blockPool
}

// AthenaLayout writes the Athena tables of deploy/athena under dest:
// dest.Prefix + "<table>/dt=YYYY-MM-DD/<hash>.parquet". No user metadata: the local store would
// keep it in a sidecar file beside the data, and Spark or Trino reading a partition directory take
// every file in it for Parquet.
func AthenaLayout(dest store.Location) Layout {
	spec := func(t Table, sortCol string, ratio float64) TableSpec {
		return TableSpec{Name: t, SortColumn: sortCol, Ratio: ratio,
			File: func(part, name string) (store.Location, string) {
				return dest, dest.Key(string(t) + "/" + part + "/" + name + ".parquet")
			}}
	}
	// Ratios are rough zstd priors; the sink learns the real ones from the files it writes.
	return &athena{
		cloudtrail: lazyTable(NewTable[CloudTrailRow], spec(TableCloudTrail, "eventtime", 0.12)),
		vpcflow:    lazyTable(newFlowTable, spec(TableVPCFlow, "start_time", 0.10)),
		resolver:   lazyTable(NewTable[ResolverRow], spec(TableResolver, "query_timestamp", 0.12)),
		findings:   lazyTable(NewTable[findingCol], spec(TableFindings, "event_time", 0.20)),
		integrity:  lazyTable(NewTable[integrityCol], spec(TableIntegrity, "verified_at", 0.20)),
	}
}

// lazyTable returns the table newTable makes of spec, made at the first call.
func lazyTable[T any](newTable func(TableSpec) *TableDef[T], spec TableSpec) func() *TableDef[T] {
	return sync.OnceValue(func() *TableDef[T] { return newTable(spec) })
}

func (a *athena) Record(ctx context.Context, in *Input, rec *parse.Record) error {
	l := Lineage{Bucket: in.ref.Bucket, Key: in.ref.Key, Index: rec.Index}
	switch {
	case rec.CloudTrail != nil:
		row := CloudTrailRowOf(l, rec.CloudTrail)
		return addDaily(ctx, in, a.cloudtrail(), row, row.EventTime, recordSize(&row, rec.Raw, cloudTrailHeap))
	case rec.Flow != nil:
		row := flowRowOf(l, rec.Flow)
		var ts time.Time
		if ms, ok := row.startMillis(); ok {
			ts = time.UnixMilli(ms).UTC()
		}
		return addDaily(ctx, in, a.vpcflow(), row, ts, recordSize(&row, rec.Raw, flowHeap(&row)))
	case rec.DNS != nil:
		ts := rec.DNS.QueryTimestamp.UTC()
		row, st, untimed, err := stageSlot(in, a.resolver(), dayPartition(in, ts), ts)
		if err != nil {
			return err
		}
		slab, _ := in.Scratch.(*resolverSlab)
		if slab == nil {
			slab = &resolverSlab{pool: &a.blocks}
			in.Scratch = slab
		}
		slab.fill(row, l, rec.DNS, st.rows.(*rowsOf[ResolverRow]))
		return in.added(ctx, st, recordSize(row, rec.Raw, resolverHeap), untimed)
	}
	return &UnsupportedRecordError{Source: rec.Source}
}

func (a *athena) Finding(ctx context.Context, in *Input, f *FindingRow) error {
	row := findingColOf(f)
	return addDaily(ctx, in, a.findings(), row, row.EventTime, sizeFinding(&row))
}

func (a *athena) Integrity(ctx context.Context, in *Input, r *IntegrityRow) error {
	row := integrityColOf(r)
	return addDaily(ctx, in, a.integrity(), row, row.VerifiedAt, sizeIntegrity(&row))
}

const msPerDay = 24 * 60 * 60 * 1000

// addDaily adds a row to its table's dt=YYYY-MM-DD partition. A record without a time (a flow-log
// NODATA line without start) still needs a partition: processing time keeps it findable instead of
// piling up under 1970.
func addDaily[T any](ctx context.Context, in *Input, t *TableDef[T], row T, ts time.Time, size int64) error {
	return AddRow(ctx, in, t, dayPartition(in, ts), row, ts, size)
}

// dayPartition is the dt=YYYY-MM-DD partition of a row of time ts (see addDaily).
func dayPartition(in *Input, ts time.Time) string {
	if ts.IsZero() {
		ts = in.s.opts.Now()
	}
	ms := ts.UnixMilli()
	day := ms / msPerDay
	if ms < 0 && ms%msPerDay != 0 {
		day--
	}
	return in.Memo(day, dtPartition)
}

func dtPartition(day int64) string {
	return "dt=" + time.UnixMilli(day*msPerDay).UTC().Format("2006-01-02")
}

// Size estimates, used for the memory budget and (times the learned compression ratio) for file
// sizing. A record's text (Record.Raw) is a close proxy for what its row holds: every string of the
// row is a piece of it. Findings and integrity rows have no source text; their strings are summed.

// The heap a row holds besides its struct and its text: its block of nested structs (ctHeap, 640
// bytes as allocated; resolverRowHeap, 208), lists longer than the block holds, and for flow rows
// the block of nullable numbers. Undercounting them made a 32 MiB spill hold 80 MiB of rows.
const (
	cloudTrailHeap = 640 + 384
	resolverHeap   = 208 + 128
)

// flowHeap is what a flow row holds beside itself: the block of custom-format strings and the
// unmapped map (the strings' bytes are in the record's text). Leaving the block out let a
// custom-format sink hold 400 bytes a row more than its budget said.
func flowHeap(r *flowRow) int64 {
	n := int64(len(r.unmapped)) * 64
	if r.ext != nil {
		n += int64(unsafe.Sizeof(*r.ext))
	}
	return n
}

func recordSize[T any](row *T, raw []byte, heap int64) int64 {
	n := int64(unsafe.Sizeof(*row)) + heap
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
