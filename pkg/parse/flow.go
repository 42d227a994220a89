package parse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// flowField is a known flow-log field; flowUnknown columns go to FlowRecord.Unmapped.
type flowField uint8

const (
	flowUnknown flowField = iota
	flowVersion
	flowAccountID
	flowInterfaceID
	flowSrcAddr
	flowDstAddr
	flowSrcPort
	flowDstPort
	flowProtocol
	flowPackets
	flowBytes
	flowStart
	flowEnd
	flowAction
	flowLogStatus
	flowVPCID
	flowSubnetID
	flowInstanceID
	flowTCPFlags
	flowType
	flowPktSrcAddr
	flowPktDstAddr
	flowRegion
	flowAZID
	flowSublocationType
	flowSublocationID
	flowPktSrcAWSService
	flowPktDstAWSService
	flowFlowDirection
	flowTrafficPath
	flowECSClusterARN
	flowECSClusterName
	flowECSContainerInstanceARN
	flowECSContainerInstanceID
	flowECSContainerID
	flowECSSecondContainerID
	flowECSServiceName
	flowECSTaskDefinitionARN
	flowECSTaskARN
	flowECSTaskID
	flowRejectReason
	flowResourceID
	flowEncryptionStatus
)

// flowFieldNames maps header names (text form, with '-') to fields.
var flowFieldNames = map[string]flowField{
	"version": flowVersion, "account-id": flowAccountID, "interface-id": flowInterfaceID,
	"srcaddr": flowSrcAddr, "dstaddr": flowDstAddr, "srcport": flowSrcPort, "dstport": flowDstPort,
	"protocol": flowProtocol, "packets": flowPackets, "bytes": flowBytes, "start": flowStart,
	"end": flowEnd, "action": flowAction, "log-status": flowLogStatus, "vpc-id": flowVPCID,
	"subnet-id": flowSubnetID, "instance-id": flowInstanceID, "tcp-flags": flowTCPFlags,
	"type": flowType, "pkt-srcaddr": flowPktSrcAddr, "pkt-dstaddr": flowPktDstAddr,
	"region": flowRegion, "az-id": flowAZID, "sublocation-type": flowSublocationType,
	"sublocation-id": flowSublocationID, "pkt-src-aws-service": flowPktSrcAWSService,
	"pkt-dst-aws-service": flowPktDstAWSService, "flow-direction": flowFlowDirection,
	"traffic-path": flowTrafficPath, "ecs-cluster-arn": flowECSClusterARN,
	"ecs-cluster-name": flowECSClusterName, "ecs-container-instance-arn": flowECSContainerInstanceARN,
	"ecs-container-instance-id": flowECSContainerInstanceID, "ecs-container-id": flowECSContainerID,
	"ecs-second-container-id": flowECSSecondContainerID, "ecs-service-name": flowECSServiceName,
	"ecs-task-definition-arn": flowECSTaskDefinitionARN, "ecs-task-arn": flowECSTaskARN,
	"ecs-task-id": flowECSTaskID, "reject-reason": flowRejectReason, "resource-id": flowResourceID,
	"encryption-status": flowEncryptionStatus,
}

// flowColumn is one column of a flow log's format.
type flowColumn struct {
	name  string // as the header (or Parquet schema) writes it
	field flowField
}

func lookupFlowField(name string) flowField {
	return flowFieldNames[strings.ReplaceAll(strings.ToLower(name), "_", "-")]
}

func flowColumns(names []string) []flowColumn {
	cols := make([]flowColumn, len(names))
	for i, n := range names {
		cols[i] = flowColumn{name: n, field: lookupFlowField(n)}
	}
	return cols
}

// duplicateName returns a name that occurs twice in names, or "".
func duplicateName(names []string) string {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

// isFlowHeader reports whether line is a list of field names rather than a record: every token is
// name-like and at least one is a known field (a value such as "eni-…" is name-like, but never a
// field name).
func isFlowHeader(line []byte) bool {
	known := 0
	n := 0
	for _, tok := range bytes.Fields(line) {
		n++
		if !(tok[0] >= 'a' && tok[0] <= 'z') {
			return false
		}
		for _, ch := range tok {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
		if lookupFlowField(string(tok)) != flowUnknown {
			known++
		}
	}
	return n > 0 && known > 0
}

// flowTextDecoder reads a text flow log: a header line naming the fields, then one record per line.
type flowTextDecoder struct {
	badRecords
	obj   Object
	w     *window
	cols  []flowColumn
	line  int64 // 1-based number of the next line
	index int64
	err   error
	// lineLen is the length, end of line included, of the line peekLine returned.
	lineLen  int
	slab     flowSlabs
	chunk    string // copy of the lines from stream offset chunkOff on (decodeLine)
	chunkOff int64
	reuse    bool // Decoders.ReuseRecords: every record is decoded into one
	one      FlowRecord
}

// reset readies d for an object read through w and reads its header. Of the last object it keeps
// only the slab's records not yet handed out.
func (d *flowTextDecoder) reset(obj Object, w *window, opts Options, reuse bool) (*flowTextDecoder, error) {
	*d = flowTextDecoder{obj: obj, w: w, line: 1, slab: d.slab, reuse: reuse}
	d.keep = opts.MaxBadRecordErrors
	first, err := d.peekLine()
	if err == io.EOF {
		d.err = io.EOF // an empty object: no header, no records
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case isFlowHeader(first):
		names := strings.Fields(string(first))
		if dup := duplicateName(names); dup != "" {
			// Which of the two columns holds the field? Guessing would write one of them as the
			// other: the object is set aside instead.
			return nil, obj.newError(ErrSyntax, 0, 1, fmt.Errorf("flow log header names the field %q twice", dup))
		}
		d.cols = flowColumns(names)
		d.consumeLine()
	case len(opts.FlowFields) > 0:
		d.cols = flowColumns(opts.FlowFields)
	default:
		shown := first
		if len(shown) > 80 {
			shown = shown[:80]
		}
		return nil, obj.newError(ErrUnknownFormat, 0, 1, fmt.Errorf(
			"flow log has no header line (line 1 is %q); header-less deliveries need Options.FlowFields", shown))
	}
	return d, nil
}

// peekLine returns the next line without its end-of-line bytes, reading more as needed, or io.EOF.
// consumeLine moves past it.
func (d *flowTextDecoder) peekLine() ([]byte, error) {
	for {
		w := d.w
		b := w.buf[w.pos:w.end]
		if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
			d.lineLen = nl + 1
			if nl > 0 && b[nl-1] == '\r' {
				nl--
			}
			return b[:nl], nil
		}
		err := w.fill()
		if err == nil {
			continue
		}
		if err == io.EOF {
			b = w.buf[w.pos:w.end]
			if len(b) == 0 {
				return nil, io.EOF
			}
			d.lineLen = len(b)
			return bytes.TrimRight(b, "\r"), nil // last line without a newline
		}
		if errors.Is(err, errRecordTooLarge) {
			return nil, d.obj.newError(ErrTooLarge, w.offset(w.pos), d.line, fmt.Errorf("line longer than the record limit: %w", err))
		}
		return nil, d.obj.asError(err, nil, w.offset(w.end))
	}
}

// consumeLine moves past the line peekLine returned.
func (d *flowTextDecoder) consumeLine() {
	d.w.pos += d.lineLen
	d.lineLen = 0
	d.line++
}

func (d *flowTextDecoder) Next(rec *Record) error {
	if d.err != nil {
		return d.err
	}
	for {
		line, err := d.peekLine()
		if err != nil {
			d.err = err
			return err
		}
		lineNo := d.line
		off := d.w.offset(d.w.pos)
		d.consumeLine()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		idx := d.index
		d.index++
		fr, err := d.decodeLine(line, off)
		if err != nil {
			d.add(d.obj.newError(ErrBadRecord, off, lineNo, fmt.Errorf("record %d: %w", idx, err)))
			continue
		}
		*rec = Record{Source: SourceVPCFlow, Index: idx, Raw: line, Flow: fr}
		return nil
	}
}

// flowChunk is how many bytes of lines one string copy holds (see decodeLine): one allocation for
// a hundred-odd lines rather than one each. A kept record pins its chunk, which is nothing next to
// the object it came from.
const flowChunk = 16 << 10

// decodeLine decodes the line at stream offset off. Every string field is a slice of one string
// copy of the line's bytes: of the chunk of lines that holds it, or of the line alone when it has
// invalid UTF-8.
func (d *flowTextDecoder) decodeLine(line []byte, off int64) (*FlowRecord, error) {
	var ls string
	switch {
	case !utf8.Valid(line):
		// U+FFFD holds no space or tab, so the fields split as they would have.
		ls = strings.ToValidUTF8(string(line), "\uFFFD")
		d.fixed++
	case off >= d.chunkOff && off+int64(len(line)) <= d.chunkOff+int64(len(d.chunk)):
		ls = d.chunk[off-d.chunkOff:][:len(line)]
	default:
		// The stream's bytes at an offset never change, so a chunk copied now serves the lines
		// after this one as they come.
		w := d.w
		start := int(off - w.base)
		end := min(w.end, start+max(flowChunk, len(line)))
		d.chunk, d.chunkOff = string(w.buf[start:end]), off
		ls = d.chunk[:len(line)]
	}
	var fr *FlowRecord
	if d.reuse {
		// No need to zero the whole struct: a good line sets every column's field ("-" included),
		// and no other field is ever set for this object (reset zeroes the struct per object).
		fr = &d.one
		fr.Unmapped = nil
	} else {
		fr = d.slab.newRecord()
	}
	k := 0
	for i := 0; i < len(ls); {
		for i < len(ls) && (ls[i] == ' ' || ls[i] == '\t') {
			i++
		}
		if i >= len(ls) {
			break
		}
		start := i
		for i < len(ls) && ls[i] != ' ' && ls[i] != '\t' {
			i++
		}
		if k == len(d.cols) {
			return nil, fmt.Errorf("%d fields, the header names %d", len(strings.Fields(ls)), len(d.cols))
		}
		if err := setFlowField(fr, d.cols[k], ls[start:i]); err != nil {
			if n := len(strings.Fields(ls)); n != len(d.cols) {
				return nil, fmt.Errorf("%d fields, the header names %d", n, len(d.cols))
			}
			return nil, err
		}
		k++
	}
	if k != len(d.cols) {
		return nil, fmt.Errorf("%d fields, the header names %d", k, len(d.cols))
	}
	return fr, nil
}

// flowSlab is how many FlowRecords are allocated together. A FlowRecord is large and full of
// pointers; allocating them in slabs halves the allocator's share of decoding a line. A caller that
// keeps one record keeps its slab (about 20 KB) alive, which is nothing next to the object it came
// from.
const flowSlab = 32

type flowSlabs []FlowRecord // records not yet handed out

func (s *flowSlabs) newRecord() *FlowRecord {
	if len(*s) == 0 {
		*s = make([]FlowRecord, flowSlab)
	}
	fr := &(*s)[0]
	*s = (*s)[1:]
	return fr
}

// setFlowField stores one text value; "-" is null, and is stored too (as the zero value), so that a
// reused record needs no clearing.
func setFlowField(fr *FlowRecord, col flowColumn, v string) error {
	s := v // a string field's value
	if v == "-" {
		if col.field == flowUnknown {
			setUnmapped(fr, col.name, v)
			return nil
		}
		s = ""
	}
	var err error
	switch col.field {
	case flowVersion:
		fr.Version, err = flowInt32(col, v)
	case flowAccountID:
		fr.AccountID = s
	case flowInterfaceID:
		fr.InterfaceID = s
	case flowSrcAddr:
		fr.SrcAddr = s
	case flowDstAddr:
		fr.DstAddr = s
	case flowSrcPort:
		fr.SrcPort, err = flowInt32(col, v)
	case flowDstPort:
		fr.DstPort, err = flowInt32(col, v)
	case flowProtocol:
		fr.Protocol, err = flowInt32(col, v)
	case flowPackets:
		fr.Packets, err = flowInt64(col, v)
	case flowBytes:
		fr.Bytes, err = flowInt64(col, v)
	case flowStart:
		fr.Start, err = flowInt64(col, v)
	case flowEnd:
		fr.End, err = flowInt64(col, v)
	case flowAction:
		fr.Action = s
	case flowLogStatus:
		fr.LogStatus = s
	case flowVPCID:
		fr.VPCID = s
	case flowSubnetID:
		fr.SubnetID = s
	case flowInstanceID:
		fr.InstanceID = s
	case flowTCPFlags:
		fr.TCPFlags, err = flowInt32(col, v)
	case flowType:
		fr.Type = s
	case flowPktSrcAddr:
		fr.PktSrcAddr = s
	case flowPktDstAddr:
		fr.PktDstAddr = s
	case flowRegion:
		fr.Region = s
	case flowAZID:
		fr.AZID = s
	case flowSublocationType:
		fr.SublocationType = s
	case flowSublocationID:
		fr.SublocationID = s
	case flowPktSrcAWSService:
		fr.PktSrcAWSService = s
	case flowPktDstAWSService:
		fr.PktDstAWSService = s
	case flowFlowDirection:
		fr.FlowDirection = s
	case flowTrafficPath:
		fr.TrafficPath, err = flowInt32(col, v)
	case flowECSClusterARN:
		fr.ECSClusterARN = s
	case flowECSClusterName:
		fr.ECSClusterName = s
	case flowECSContainerInstanceARN:
		fr.ECSContainerInstanceARN = s
	case flowECSContainerInstanceID:
		fr.ECSContainerInstanceID = s
	case flowECSContainerID:
		fr.ECSContainerID = s
	case flowECSSecondContainerID:
		fr.ECSSecondContainerID = s
	case flowECSServiceName:
		fr.ECSServiceName = s
	case flowECSTaskDefinitionARN:
		fr.ECSTaskDefinitionARN = s
	case flowECSTaskARN:
		fr.ECSTaskARN = s
	case flowECSTaskID:
		fr.ECSTaskID = s
	case flowRejectReason:
		fr.RejectReason = s
	case flowResourceID:
		fr.ResourceID = s
	case flowEncryptionStatus:
		fr.EncryptionStatus, err = flowInt32(col, v)
	default:
		setUnmapped(fr, col.name, v)
	}
	return err
}

func setUnmapped(fr *FlowRecord, name, v string) {
	if fr.Unmapped == nil {
		fr.Unmapped = make(map[string]string, 2)
	}
	fr.Unmapped[name] = v
}

func flowInt32(col flowColumn, v string) (OptInt32, error) {
	if v == "-" {
		return OptInt32{}, nil
	}
	n, ok := parseInt(v)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return OptInt32{}, fmt.Errorf("field %s: %q is not a 32-bit integer", col.name, v)
	}
	return OptInt32{V: int32(n), Valid: true}, nil
}

func flowInt64(col flowColumn, v string) (OptInt64, error) {
	if v == "-" {
		return OptInt64{}, nil
	}
	n, ok := parseInt(v)
	if !ok {
		// parseInt stops at 18 digits; bytes and packets never get near 10^18.
		return OptInt64{}, fmt.Errorf("field %s: %q is not an integer", col.name, v)
	}
	return OptInt64{V: n, Valid: true}, nil
}
