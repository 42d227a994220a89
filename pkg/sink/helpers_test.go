package sink

import (
	"io"
	"slices"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
)

// writable is a row set the benchmarks can write again and again.
type writable interface {
	write(w io.Writer, cfg writeConfig) error
}

// write encodes a copy of the pending rows as one file into w, the way a checkpoint finishes and
// uploads a file, leaving r as it was.
func (r *rowsOf[T]) write(w io.Writer, cfg writeConfig) error {
	def := r.def
	if def == nil {
		def = NewTable[T](TableSpec{Name: "bench"})
	}
	c := &rowsOf[T]{def: def, rows: slices.Clone(r.rows), keys: slices.Clone(r.keys), lo: r.lo, hi: r.hi}
	if cfg.spoolMem == 0 {
		cfg.spoolMem = 1 << 40
	}
	defer c.discard()
	if err := c.finish(cfg); err != nil {
		return err
	}
	_, err := copySpool(w, &TableSpec{}, c.sp)
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// InputRef is the shape the tests were written with: an input and its Done as func(error).
type InputRef struct {
	Bucket, Key     string
	ETag, VersionID string
	Done            func(err error)
}

// outcomeErr maps an outcome to the error the tests check: nil when durable.
func outcomeErr(o ack.Outcome) error {
	if o.Kind == ack.Durable {
		return nil
	}
	if o.Err == nil {
		return errorString(o.Kind.String())
	}
	return o.Err
}

type errorString string

func (e errorString) Error() string { return string(e) }

func beginRef(s *Sink, r InputRef) *Input {
	var done ack.Done
	if r.Done != nil {
		done = func(o ack.Outcome) { r.Done(outcomeErr(o)) }
	}
	return s.Begin(ack.Ref{Bucket: r.Bucket, Key: r.Key, ETag: r.ETag, VersionID: r.VersionID, Size: -1}, done)
}

// schemaRow is the row as VPCFlowRow (the schema's struct), for Arrow's baseline writer.
func (r *flowRow) schemaRow() VPCFlowRow {
	s := func(slot int) *string {
		if r.s(slot) == "" {
			return nil
		}
		return ptr(r.s(slot))
	}
	i32 := func(slot int) *int32 {
		if r.present&i32Bit(slot) == 0 {
			return nil
		}
		return ptr(r.i32[slot])
	}
	i64 := func(slot int) *int64 {
		if r.present&i64Bit(slot) == 0 {
			return nil
		}
		return ptr(r.i64[slot])
	}
	ts := func(slot int) *time.Time {
		if r.present&i64Bit(slot) == 0 {
			return nil
		}
		return ptr(time.UnixMilli(r.i64[slot]).UTC())
	}
	return VPCFlowRow{StartTime: ts(fStart), EndTime: ts(fEnd), Version: i32(fVersion), AccountID: s(fAccountID),
		InterfaceID: s(fInterfaceID), SrcAddr: s(fSrcAddr), DstAddr: s(fDstAddr), SrcPort: i32(fSrcPort),
		DstPort: i32(fDstPort), Protocol: i32(fProtocol), Packets: i64(fPackets), Bytes: i64(fBytes),
		Action: s(fAction), LogStatus: s(fLogStatus), VPCID: s(fVPCID), SubnetID: s(fSubnetID),
		InstanceID: s(fInstanceID), TCPFlags: i32(fTCPFlags), Type: s(fType), PktSrcAddr: s(fPktSrcAddr),
		PktDstAddr: s(fPktDstAddr), Region: s(fRegion), AZID: s(fAZID), SublocationType: s(fSublocationType),
		SublocationID: s(fSublocationID), PktSrcAWSService: s(fPktSrcAWSService), PktDstAWSService: s(fPktDstAWSService),
		FlowDirection: s(fFlowDirection), TrafficPath: i32(fTrafficPath), ECSClusterARN: s(fECSClusterARN),
		ECSClusterName: s(fECSClusterName), ECSContainerInstanceARN: s(fECSContainerInstanceARN),
		ECSContainerInstanceID: s(fECSContainerInstanceID), ECSContainerID: s(fECSContainerID),
		ECSSecondContainerID: s(fECSSecondContainerID), ECSServiceName: s(fECSServiceName),
		ECSTaskDefinitionARN: s(fECSTaskDefinitionARN), ECSTaskARN: s(fECSTaskARN), ECSTaskID: s(fECSTaskID),
		RejectReason: s(fRejectReason), ResourceID: s(fResourceID), EncryptionStatus: i32(fEncryptionStatus),
		Unmapped: r.unmapped, SourceBucket: r.bucket, SourceKey: r.key, SourceIndex: r.index}
}
