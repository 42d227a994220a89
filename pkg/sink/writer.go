package sink

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// rowSet is a buffer's typed rows.
type rowSet interface {
	len() int
	timeRange() (minT, maxT time.Time)
	// write sorts the rows by time and writes them as one Parquet file.
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
	rows []T
	keys []sortKey
}

func (r *rowsOf[T]) len() int { return len(r.rows) }

func (r *rowsOf[T]) timeRange() (time.Time, time.Time) {
	if len(r.keys) == 0 {
		return time.Time{}, time.Time{}
	}
	lo, hi := r.keys[0].t, r.keys[0].t
	for _, k := range r.keys[1:] {
		lo, hi = min(lo, k.t), max(hi, k.t)
	}
	return time.UnixMilli(lo).UTC(), time.UnixMilli(hi).UTC()
}

// writeChunkRows bounds the sorted copy made while writing: rows are sorted through a permutation
// (rows are large structs, swapping them is slow) and copied out in chunks of this many rows.
const writeChunkRows = 1024

func (r *rowsOf[T]) write(w io.Writer, cfg writeConfig) error {
	perm := make([]int32, len(r.rows))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return compareKeys(&r.keys[a], &r.keys[b]) })

	pw := parquet.NewGenericWriter[T](w, writerOptions[T](cfg)...)
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
		return parquet.SchemaOf(FindingRow{}), nil
	case TableIntegrity:
		return parquet.SchemaOf(IntegrityRow{}), nil
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
	case FindingRow:
		return "event_time"
	case IntegrityRow:
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

// Size estimates: the bytes a row holds (string contents plus the fixed struct), used for the
// memory budget and, times the learned compression ratio, for file sizing.

func sizeCloudTrail(r *CloudTrailRow) int64 {
	n := int64(unsafe.Sizeof(*r)) + strLen(r.EventVersion, r.EventSource, r.EventName, r.AWSRegion,
		r.SourceIPAddress, r.UserAgent, r.ErrorCode, r.ErrorMessage, r.RequestParameters, r.ResponseElements,
		r.AdditionalEventData, r.RequestID, r.EventID, r.EventType, r.APIVersion, r.RecipientAccountID,
		r.SharedEventID, r.VPCEndpointID, r.VPCEndpointAccountID, r.ServiceEventDetails, r.EventCategory,
		r.EdgeDeviceDetails, r.EventContext, r.InsightDetails, r.SourceBucket, r.SourceKey)
	if u := r.UserIdentity; u != nil {
		n += int64(unsafe.Sizeof(*u)) + strLen(u.Type, u.PrincipalID, u.ARN, u.AccountID, u.InvokedBy,
			u.AccessKeyID, u.UserName, u.IdentityProvider, u.CredentialID, u.InScopeOf)
		if sc := u.SessionContext; sc != nil {
			n += int64(unsafe.Sizeof(*sc)) + strLen(sc.WebIDFederationData, sc.SourceIdentity, sc.EC2RoleDelivery, sc.EC2IssuedInVPC)
			if si := sc.SessionIssuer; si != nil {
				n += int64(unsafe.Sizeof(*si)) + strLen(si.Type, si.PrincipalID, si.ARN, si.AccountID, si.UserName)
			}
			if sc.Attributes != nil {
				n += int64(unsafe.Sizeof(*sc.Attributes))
			}
		}
		if o := u.OnBehalfOf; o != nil {
			n += strLen(o.UserID, o.IdentityStoreARN) + 32
		}
	}
	for _, res := range r.Resources {
		n += int64(unsafe.Sizeof(res)) + strLen(res.ARN, res.AccountID, res.Type)
	}
	if a := r.Addendum; a != nil {
		n += int64(unsafe.Sizeof(*a)) + strLen(a.Reason, a.UpdatedFields, a.OriginalRequestID, a.OriginalEventID)
	}
	if t := r.TLSDetails; t != nil {
		n += int64(unsafe.Sizeof(*t)) + strLen(t.TLSVersion, t.CipherSuite, t.ClientProvidedHostHeader)
	}
	return n
}

func sizeFlow(r *VPCFlowRow) int64 {
	n := int64(unsafe.Sizeof(*r)) + strLen(r.AccountID, r.InterfaceID, r.SrcAddr, r.DstAddr, r.Action,
		r.LogStatus, r.VPCID, r.SubnetID, r.InstanceID, r.Type, r.PktSrcAddr, r.PktDstAddr, r.Region, r.AZID,
		r.SublocationType, r.SublocationID, r.PktSrcAWSService, r.PktDstAWSService, r.FlowDirection,
		r.ECSClusterARN, r.ECSClusterName, r.ECSContainerInstanceARN, r.ECSContainerInstanceID, r.ECSContainerID,
		r.ECSSecondContainerID, r.ECSServiceName, r.ECSTaskDefinitionARN, r.ECSTaskARN, r.ECSTaskID,
		r.RejectReason, r.ResourceID, r.SourceBucket, r.SourceKey)
	for k, v := range r.Unmapped {
		n += int64(len(k)+len(v)) + 32
	}
	return n
}

func sizeResolver(r *ResolverRow) int64 {
	n := int64(unsafe.Sizeof(*r)) + strLen(r.Version, r.AccountID, r.Region, r.VPCID, r.QueryName, r.QueryType,
		r.QueryClass, r.RCode, r.SrcAddr, r.Transport, r.FirewallRuleGroupID, r.FirewallRuleAction,
		r.FirewallDomainListID, r.FirewallProtection, r.Unmapped, r.SourceBucket, r.SourceKey)
	for _, a := range r.Answers {
		n += int64(unsafe.Sizeof(a)) + strLen(a.RData, a.Type, a.Class)
	}
	if s := r.SrcIDs; s != nil {
		n += int64(unsafe.Sizeof(*s)) + strLen(s.Instance, s.ResolverEndpoint, s.ResolverNetworkInterface)
	}
	return n
}

func sizeFinding(r *FindingRow) int64 {
	return int64(unsafe.Sizeof(*r)) + strLen(r.Rule, r.MetricNamespace, r.MetricName, r.Source, r.Account,
		r.Region, r.EventID, r.EventJSON, r.SourceBucket, r.SourceKey)
}

func sizeIntegrity(r *IntegrityRow) int64 {
	return int64(unsafe.Sizeof(*r)) + strLen(r.DigestBucket, r.DigestKey, r.ChainAccount, r.ChainRegion,
		r.ChainTrail, r.ObjectBucket, r.ObjectKey, r.Status, r.Class, r.Reason)
}

func strLen(ss ...string) int64 {
	var n int
	for _, s := range ss {
		n += len(s)
	}
	return int64(n)
}
