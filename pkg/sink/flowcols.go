package sink

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/pqwrite"
)

// flowRow is a vpcflow row as the sink stages it: every value inline (the strings only the
// custom formats have in one block beside it), so converting a default-format record allocates
// nothing, a row is 216 bytes to copy, and the collector has no pointer per value to follow. VPCFlowRow stays the
// table's schema (and the DDL's); encodeFlow writes these rows into its columns directly.
// An empty string is NULL, as everywhere in the tables; a number or time is NULL unless its bit
// is set in present.
type flowRow struct {
	present  uint16
	i32      [flowI32s]int32
	i64      [flowI64s]int64                  // start_time and end_time in Unix milliseconds, packets, bytes
	str      [flowCoreStrs]string             // the default format's strings
	ext      *[flowStrs - flowCoreStrs]string // the others, nil when all are empty
	unmapped map[string]string
	bucket   string
	key      string
	index    int64
}

// Slots of flowRow's arrays.
const (
	fVersion = iota
	fSrcPort
	fDstPort
	fProtocol
	fTCPFlags
	fTrafficPath
	fEncryptionStatus
	flowI32s
)

const (
	fStart = iota
	fEnd
	fPackets
	fBytes
	flowI64s
)

const (
	fAccountID = iota
	fInterfaceID
	fSrcAddr
	fDstAddr
	fAction
	fLogStatus // the strings of the default (version 2) format come first
	fVPCID
	fSubnetID
	fInstanceID
	fType
	fPktSrcAddr
	fPktDstAddr
	fRegion
	fAZID
	fSublocationType
	fSublocationID
	fPktSrcAWSService
	fPktDstAWSService
	fFlowDirection
	fECSClusterARN
	fECSClusterName
	fECSContainerInstanceARN
	fECSContainerInstanceID
	fECSContainerID
	fECSSecondContainerID
	fECSServiceName
	fECSTaskDefinitionARN
	fECSTaskARN
	fECSTaskID
	fRejectReason
	fResourceID
	flowStrs
)

// flowCoreStrs are the strings of the default format, kept in the row itself.
const flowCoreStrs = fLogStatus + 1

// present bits: i32 slots first, then i64 slots.
func i32Bit(slot int) uint16 { return 1 << slot }
func i64Bit(slot int) uint16 { return 1 << (flowI32s + slot) }

func (r *flowRow) setI32(slot int, o parse.OptInt32) {
	if o.Valid {
		r.i32[slot] = o.V
		r.present |= i32Bit(slot)
	}
}

func (r *flowRow) setI64(slot int, o parse.OptInt64) {
	if o.Valid {
		r.i64[slot] = o.V
		r.present |= i64Bit(slot)
	}
}

// flowRowOf converts a flow-log record. Strings are shared with the record (they are immutable);
// the unmapped map is copied, as the decoder may reuse it.
func flowRowOf(l Lineage, f *parse.FlowRecord) flowRow {
	r := flowRow{bucket: l.Bucket, key: l.Key, index: l.Index}
	r.setI32(fVersion, f.Version)
	r.setI32(fSrcPort, f.SrcPort)
	r.setI32(fDstPort, f.DstPort)
	r.setI32(fProtocol, f.Protocol)
	r.setI32(fTCPFlags, f.TCPFlags)
	r.setI32(fTrafficPath, f.TrafficPath)
	r.setI32(fEncryptionStatus, f.EncryptionStatus)
	if f.Start.Valid {
		r.i64[fStart] = f.Start.V * 1000
		r.present |= i64Bit(fStart)
	}
	if f.End.Valid {
		r.i64[fEnd] = f.End.V * 1000
		r.present |= i64Bit(fEnd)
	}
	r.setI64(fPackets, f.Packets)
	r.setI64(fBytes, f.Bytes)
	r.str = [flowCoreStrs]string{
		fAccountID: f.AccountID, fInterfaceID: f.InterfaceID, fSrcAddr: f.SrcAddr, fDstAddr: f.DstAddr,
		fAction: f.Action, fLogStatus: f.LogStatus,
	}
	ext := [flowStrs - flowCoreStrs]string{
		fVPCID - flowCoreStrs: f.VPCID, fSubnetID - flowCoreStrs: f.SubnetID,
		fInstanceID - flowCoreStrs: f.InstanceID, fType - flowCoreStrs: f.Type, fPktSrcAddr - flowCoreStrs: f.PktSrcAddr,
		fPktDstAddr - flowCoreStrs: f.PktDstAddr, fRegion - flowCoreStrs: f.Region, fAZID - flowCoreStrs: f.AZID,
		fSublocationType - flowCoreStrs: f.SublocationType, fSublocationID - flowCoreStrs: f.SublocationID,
		fPktSrcAWSService - flowCoreStrs: f.PktSrcAWSService, fPktDstAWSService - flowCoreStrs: f.PktDstAWSService,
		fFlowDirection - flowCoreStrs: f.FlowDirection, fECSClusterARN - flowCoreStrs: f.ECSClusterARN,
		fECSClusterName - flowCoreStrs: f.ECSClusterName, fECSContainerInstanceARN - flowCoreStrs: f.ECSContainerInstanceARN,
		fECSContainerInstanceID - flowCoreStrs: f.ECSContainerInstanceID, fECSContainerID - flowCoreStrs: f.ECSContainerID,
		fECSSecondContainerID - flowCoreStrs: f.ECSSecondContainerID, fECSServiceName - flowCoreStrs: f.ECSServiceName,
		fECSTaskDefinitionARN - flowCoreStrs: f.ECSTaskDefinitionARN, fECSTaskARN - flowCoreStrs: f.ECSTaskARN,
		fECSTaskID - flowCoreStrs: f.ECSTaskID, fRejectReason - flowCoreStrs: f.RejectReason,
		fResourceID - flowCoreStrs: f.ResourceID,
	}
	if ext != ([flowStrs - flowCoreStrs]string{}) {
		// Copied, not &ext: taking ext's address moved it to the heap for every row, default
		// format included (7 % of flow-default's CPU).
		r.ext = new([flowStrs - flowCoreStrs]string)
		*r.ext = ext
	}
	if len(f.Unmapped) > 0 {
		r.unmapped = make(map[string]string, len(f.Unmapped))
		for k, v := range f.Unmapped {
			r.unmapped[k] = v
		}
	}
	return r
}

// s returns the string in slot ("" is NULL).
func (r *flowRow) s(slot int) string {
	if slot < flowCoreStrs {
		return r.str[slot]
	}
	if r.ext == nil {
		return ""
	}
	return r.ext[slot-flowCoreStrs]
}

// time returns the row's start time (its sort and partition key), zero when it has none.
func (r *flowRow) startMillis() (int64, bool) {
	return r.i64[fStart], r.present&i64Bit(fStart) != 0
}

type flowColKind uint8

const (
	colStr flowColKind = iota
	colI32
	colI64
	colBucket
	colKey
	colIndex
	colUnmapped
)

// flowColumns maps VPCFlowRow's columns to flowRow's slots, by column name.
var flowColumns = map[string]struct {
	kind flowColKind
	slot int
}{
	"start_time": {colI64, fStart}, "end_time": {colI64, fEnd}, "version": {colI32, fVersion},
	"account_id": {colStr, fAccountID}, "interface_id": {colStr, fInterfaceID},
	"srcaddr": {colStr, fSrcAddr}, "dstaddr": {colStr, fDstAddr},
	"srcport": {colI32, fSrcPort}, "dstport": {colI32, fDstPort}, "protocol": {colI32, fProtocol},
	"packets": {colI64, fPackets}, "bytes": {colI64, fBytes},
	"action": {colStr, fAction}, "log_status": {colStr, fLogStatus}, "vpc_id": {colStr, fVPCID},
	"subnet_id": {colStr, fSubnetID}, "instance_id": {colStr, fInstanceID}, "tcp_flags": {colI32, fTCPFlags},
	"type": {colStr, fType}, "pkt_srcaddr": {colStr, fPktSrcAddr}, "pkt_dstaddr": {colStr, fPktDstAddr},
	"region": {colStr, fRegion}, "az_id": {colStr, fAZID}, "sublocation_type": {colStr, fSublocationType},
	"sublocation_id": {colStr, fSublocationID}, "pkt_src_aws_service": {colStr, fPktSrcAWSService},
	"pkt_dst_aws_service": {colStr, fPktDstAWSService}, "flow_direction": {colStr, fFlowDirection},
	"traffic_path": {colI32, fTrafficPath}, "ecs_cluster_arn": {colStr, fECSClusterARN},
	"ecs_cluster_name": {colStr, fECSClusterName}, "ecs_container_instance_arn": {colStr, fECSContainerInstanceARN},
	"ecs_container_instance_id": {colStr, fECSContainerInstanceID}, "ecs_container_id": {colStr, fECSContainerID},
	"ecs_second_container_id": {colStr, fECSSecondContainerID}, "ecs_service_name": {colStr, fECSServiceName},
	"ecs_task_definition_arn": {colStr, fECSTaskDefinitionARN}, "ecs_task_arn": {colStr, fECSTaskARN},
	"ecs_task_id": {colStr, fECSTaskID}, "reject_reason": {colStr, fRejectReason}, "resource_id": {colStr, fResourceID},
	"encryption_status": {colI32, fEncryptionStatus},
	"unmapped":          {colUnmapped, 0},
	"source_bucket":     {colBucket, 0}, "source_key": {colKey, 0}, "source_index": {colIndex, 0},
}

// flowCol is one leaf column of the vpcflow schema and where its values come from.
type flowCol struct {
	name   string
	kind   flowColKind
	slot   int
	idx    int // leaf column index
	maxDef int
	valIdx int // unmapped: the value leaf (idx is the key leaf)
	valDef int
}

// flowEncoder writes flowRows into the columns of VPCFlowRow's schema.
type flowEncoder struct {
	cols []flowCol
	vals sync.Pool // *[]parquet.Value
}

// newFlowEncoder resolves every leaf column of schema to a flowRow slot; a column it cannot place
// is a programming error (a field added to VPCFlowRow and not to flowRow) and panics at start-up.
func newFlowEncoder(schema *parquet.Schema) *flowEncoder {
	e := &flowEncoder{}
	seen := map[string]bool{}
	for _, path := range schema.Columns() {
		name := path[0]
		spec, ok := flowColumns[name]
		if !ok {
			panic(fmt.Sprintf("sink: vpcflow column %s has no flowRow slot", strings.Join(path, ".")))
		}
		leaf, _ := schema.Lookup(path...)
		if spec.kind == colUnmapped {
			if seen[name] {
				continue
			}
			seen[name] = true
			key, ok1 := schema.Lookup(name, "key_value", "key")
			val, ok2 := schema.Lookup(name, "key_value", "value")
			if !ok1 || !ok2 {
				panic("sink: vpcflow unmapped is not a map of key_value.key/value")
			}
			e.cols = append(e.cols, flowCol{name: name, kind: colUnmapped, idx: key.ColumnIndex, maxDef: key.MaxDefinitionLevel,
				valIdx: val.ColumnIndex, valDef: val.MaxDefinitionLevel})
			continue
		}
		if len(path) != 1 || leaf.MaxRepetitionLevel != 0 {
			panic(fmt.Sprintf("sink: vpcflow column %s is not flat", strings.Join(path, ".")))
		}
		seen[name] = true
		e.cols = append(e.cols, flowCol{name: name, kind: spec.kind, slot: spec.slot, idx: leaf.ColumnIndex, maxDef: leaf.MaxDefinitionLevel})
	}
	if len(seen) != len(flowColumns) {
		panic(fmt.Sprintf("sink: vpcflow schema has %d columns, flowRow %d", len(seen), len(flowColumns)))
	}
	return e
}

// newFlowTable is the vpcflow table: VPCFlowRow's schema, rows staged as flowRow.
func newFlowTable(spec TableSpec) *TableDef[flowRow] {
	schema := parquet.SchemaOf(VPCFlowRow{})
	return newColumnTable(spec, schema, newFlowEncoder(schema).encode)
}

// flowChunkRows bounds the values buffered per column before they go to its writer.
const flowChunkRows = 1024

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (e *flowEncoder) encode(cw []*pqwrite.Column, rows []*flowRow) error {
	bp, _ := e.vals.Get().(*[]parquet.Value)
	if bp == nil {
		bp = new([]parquet.Value)
	}
	defer func() {
		clear((*bp)[:cap(*bp)]) // drop the references into rows
		e.vals.Put(bp)
	}()
	var keys []string
	for start := 0; start < len(rows); start += flowChunkRows {
		part := rows[start:min(start+flowChunkRows, len(rows))]
		// The default format's rows have no extra strings and no unmapped fields: those columns
		// are NULL (empty) for the whole chunk, written without visiting each row again per
		// column (25 such columns; visiting rows per column was 6 % of flow-default's CPU).
		ext, unmapped := false, false
		for _, r := range part {
			ext, unmapped = ext || r.ext != nil, unmapped || len(r.unmapped) > 0
		}
		// Flat columns are written a value at a time, without building parquet.Values (that and
		// the writer reading them back were a fifth of flow's CPU); a failed write sticks to the
		// file's writer and surfaces at its Flush.
		for ci := range e.cols {
			c := &e.cols[ci]
			w := cw[c.idx]
			switch c.kind {
			case colStr:
				if c.slot >= flowCoreStrs && !ext {
					w.WriteNulls(len(part))
					break
				}
				for _, r := range part {
					if s := r.s(c.slot); s != "" {
						w.WriteByteArray(bytesOf(s))
					} else {
						w.WriteNull()
					}
				}
			case colI32:
				bit := i32Bit(c.slot)
				for _, r := range part {
					if r.present&bit != 0 {
						w.WriteInt32(r.i32[c.slot])
					} else {
						w.WriteNull()
					}
				}
			case colI64:
				bit := i64Bit(c.slot)
				for _, r := range part {
					if r.present&bit != 0 {
						w.WriteInt64(r.i64[c.slot])
					} else {
						w.WriteNull()
					}
				}
			case colBucket:
				for _, r := range part {
					w.WriteByteArray(bytesOf(r.bucket))
				}
			case colKey:
				for _, r := range part {
					w.WriteByteArray(bytesOf(r.key))
				}
			case colIndex:
				for _, r := range part {
					w.WriteInt64(r.index)
				}
			case colUnmapped:
				// Keys then values, entries in key order (a map has none; the order makes files
				// reproducible). An empty map is one entry-less row: levels 0/0.
				var err error
				if *bp, keys, err = writeUnmapped(cw, c, part, (*bp)[:0], keys, !unmapped); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// appendNulls appends n NULL values to vals.
func appendNulls(vals []parquet.Value, n int) []parquet.Value {
	vals = slices.Grow(vals, n)
	nulls := vals[len(vals) : len(vals)+n]
	clear(nulls)
	return vals[:len(vals)+n]
}

// writeUnmapped writes the unmapped maps of part's rows; none says every one is empty.
// vals is scratch space, returned for reuse.
func writeUnmapped(cw []*pqwrite.Column, c *flowCol, part []*flowRow, vals []parquet.Value, keys []string, none bool) ([]parquet.Value, []string, error) {
	for pass, idx := range []int{c.idx, c.valIdx} {
		def := c.maxDef
		if pass == 1 {
			def = c.valDef
		}
		vals = vals[:0]
		each := part
		if none {
			vals = appendNulls(vals, len(part))
			for j := range vals {
				vals[j].SetColumnIndex(idx) // levels 0/0: an entry-less row
			}
			each = nil
		}
		for _, r := range each {
			m := r.unmapped
			if len(m) == 0 {
				vals = append(vals, leveled(parquet.Value{}, 0, 0, idx))
				continue
			}
			keys = sortedKeys(keys, m)
			for n, k := range keys {
				s := k
				if pass == 1 {
					s = m[k]
				}
				vals = append(vals, parquet.ByteArrayValue(bytesOf(s)).Level(min(n, 1), def, idx))
			}
		}
		if _, err := cw[idx].WriteRowValues(vals); err != nil {
			return vals, keys, fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	clear(vals)
	return vals, keys, nil
}
