package parse

import (
	"encoding/json"
	"time"
)

// Source names the kind of log a record (or an object) belongs to. Its string form is used as a
// table name, a metric dimension and a rule's "sources" entry, so it never changes once released.
type Source uint8

const (
	SourceUnknown    Source = iota
	SourceCloudTrail        // management, data and network activity events (CloudTrail/, CloudTrail-NetworkActivity/)
	SourceInsight           // CloudTrail Insights events (CloudTrail-Insight/)
	SourceVPCFlow           // VPC Flow Logs, text or Parquet
	SourceResolver          // Route 53 Resolver query logs
	SourceDigest            // CloudTrail digest files: verified by pkg/digest, never decoded as events
)

var sourceNames = [...]string{"unknown", "cloudtrail", "insight", "vpcflow", "resolver", "digest"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// ParseSource is the inverse of Source.String.
func ParseSource(name string) (Source, bool) {
	for i, n := range sourceNames {
		if n == name {
			return Source(i), true
		}
	}
	return SourceUnknown, false
}

// Record is one decoded log record. Exactly one of CloudTrail, Flow and DNS is set, matching Source.
//
// Decoders reuse a Record between calls to Next: Raw aliases the decoder's buffer and is valid only
// until the next call. Strings and the json.RawMessage members are owned by the record and may be kept.
// The structs CloudTrail, Flow and DNS point to (and everything they point to) are allocated afresh
// for every record, so keeping them needs no deep copy; only Raw must be copied to be kept. The
// exception is a decoder from Decoders with ReuseRecords set, which fills the same structs again.
type Record struct {
	Source Source
	// Index is the record's zero-based position in its object; with the object's bucket and key it
	// identifies the record (lineage) and makes output deterministic.
	Index int64
	// Raw is the cheap text view that filter patterns match: the record's JSON text for CloudTrail and
	// Resolver, the line for a flow log (rebuilt, space-separated, for Parquet-delivered flow logs).
	Raw []byte

	CloudTrail *CloudTrailEvent
	Flow       *FlowRecord
	DNS        *ResolverQuery
}

// Time is the record's event time, used for partitioning and per-minute metric aggregation.
func (r *Record) Time() time.Time {
	switch {
	case r.CloudTrail != nil:
		return r.CloudTrail.EventTime
	case r.Flow != nil:
		if r.Flow.Start.Valid {
			return time.Unix(r.Flow.Start.V, 0).UTC()
		}
	case r.DNS != nil:
		return r.DNS.QueryTimestamp
	}
	return time.Time{}
}

// Account is the account the record is about (recipientAccountId, the flow's account-id, the
// resolver record's account_id); empty when the record does not say.
func (r *Record) Account() string {
	switch {
	case r.CloudTrail != nil:
		if r.CloudTrail.RecipientAccountID != "" {
			return r.CloudTrail.RecipientAccountID
		}
		if r.CloudTrail.UserIdentity != nil {
			return r.CloudTrail.UserIdentity.AccountID
		}
	case r.Flow != nil:
		return r.Flow.AccountID
	case r.DNS != nil:
		return r.DNS.AccountID
	}
	return ""
}

// Region is the record's region; empty when the record does not say (flow logs before v4).
func (r *Record) Region() string {
	switch {
	case r.CloudTrail != nil:
		return r.CloudTrail.AWSRegion
	case r.Flow != nil:
		return r.Flow.Region
	case r.DNS != nil:
		return r.DNS.Region
	}
	return ""
}

// CloudTrailEvent is one CloudTrail record (eventVersion 1.0–1.11, Insights included). Optional string
// fields are "" when absent or null; free-form members are kept as their JSON text (nil when absent
// or null) because they have no fixed schema (Athena declares them STRING).
type CloudTrailEvent struct {
	EventVersion       string
	UserIdentity       *UserIdentity // nil in Insights records
	EventTime          time.Time     // UTC
	EventSource        string
	EventName          string
	AWSRegion          string
	SourceIPAddress    string
	UserAgent          string
	ErrorCode          string
	ErrorMessage       string
	RequestParameters  json.RawMessage
	ResponseElements   json.RawMessage
	AdditionalEvent    json.RawMessage // additionalEventData
	RequestID          string
	EventID            string
	ReadOnly           OptBool
	Resources          []Resource
	EventType          string
	APIVersion         string
	RecipientAccountID string
	SharedEventID      string
	VPCEndpointID      string
	VPCEndpointAccount string // vpcEndpointAccountId
	ServiceEventDetail json.RawMessage
	ManagementEvent    OptBool
	EventCategory      string
	Addendum           *Addendum
	// SessionCredentialFromConsole is the string "true" when present (CloudTrail writes a string).
	SessionCredentialFromConsole string
	EdgeDeviceDetails            json.RawMessage
	TLSDetails                   *TLSDetails
	EventContext                 json.RawMessage
	InsightDetails               json.RawMessage // Insights only
}

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type             string
	PrincipalID      string
	ARN              string
	AccountID        string
	AccessKeyID      string
	UserName         string
	InvokedBy        string
	IdentityProvider string
	CredentialID     string
	OnBehalfOf       *OnBehalfOf
	InScopeOf        json.RawMessage
	SessionContext   *SessionContext
}

type OnBehalfOf struct {
	UserID           string
	IdentityStoreARN string
}

type SessionContext struct {
	// MFAAuthenticated and CreationDate are kept as CloudTrail writes them: the string "true"/"false",
	// and ISO-8601 in extended or (older events) basic form.
	MFAAuthenticated    string
	CreationDate        string
	SessionIssuer       *SessionIssuer
	WebIDFederationData json.RawMessage
	SourceIdentity      string
	EC2RoleDelivery     string
	EC2IssuedInVPC      string
}

type SessionIssuer struct {
	Type        string
	PrincipalID string
	ARN         string
	AccountID   string
	UserName    string
}

type Resource struct {
	ARN       string
	AccountID string
	Type      string
}

type Addendum struct {
	Reason            string
	UpdatedFields     string
	OriginalRequestID string
	OriginalEventID   string
}

type TLSDetails struct {
	TLSVersion               string
	CipherSuite              string
	ClientProvidedHostHeader string
}

// FlowRecord is one VPC flow log record. Which fields exist depends on the flow log's format (its
// header line or Parquet columns); a field the format lacks, or written as "-", is null (Valid false
// or "").
type FlowRecord struct {
	Version                 OptInt32
	AccountID               string
	InterfaceID             string
	SrcAddr                 string
	DstAddr                 string
	SrcPort                 OptInt32
	DstPort                 OptInt32
	Protocol                OptInt32
	Packets                 OptInt64
	Bytes                   OptInt64
	Start                   OptInt64 // Unix seconds
	End                     OptInt64 // Unix seconds
	Action                  string
	LogStatus               string
	VPCID                   string
	SubnetID                string
	InstanceID              string
	TCPFlags                OptInt32
	Type                    string
	PktSrcAddr              string
	PktDstAddr              string
	Region                  string
	AZID                    string
	SublocationType         string
	SublocationID           string
	PktSrcAWSService        string
	PktDstAWSService        string
	FlowDirection           string
	TrafficPath             OptInt32
	ECSClusterARN           string
	ECSClusterName          string
	ECSContainerInstanceARN string
	ECSContainerInstanceID  string
	ECSContainerID          string
	ECSSecondContainerID    string
	ECSServiceName          string
	ECSTaskDefinitionARN    string
	ECSTaskARN              string
	ECSTaskID               string
	RejectReason            string
	ResourceID              string
	EncryptionStatus        OptInt32
	// Unmapped holds fields this version does not know, by header name, so nothing is dropped.
	Unmapped map[string]string
}

// ResolverQuery is one Route 53 Resolver query log record.
type ResolverQuery struct {
	Version              string // "1.1" in the docs, "1.100000" in real data: kept as written
	AccountID            string
	Region               string
	VPCID                string
	QueryTimestamp       time.Time // UTC
	QueryName            string
	QueryType            string
	QueryClass           string
	RCode                string
	Answers              []ResolverAnswer
	SrcAddr              string
	SrcPort              OptInt32 // a string in the JSON
	Transport            string
	SrcIDs               ResolverSrcIDs
	FirewallRuleGroupID  string
	FirewallRuleAction   string
	FirewallDomainListID string
	FirewallProtection   string
	// Unmapped holds members this version does not know, as JSON text, so nothing is dropped.
	Unmapped json.RawMessage
}

type ResolverAnswer struct {
	RData string
	Type  string
	Class string
}

type ResolverSrcIDs struct {
	Instance                 string
	ResolverEndpoint         string
	ResolverNetworkInterface string
}

// OptBool, OptInt32 and OptInt64 are nullable values without a pointer, so decoding a record does
// not allocate per field.
type OptBool struct {
	V     bool
	Valid bool
}

type OptInt32 struct {
	V     int32
	Valid bool
}

type OptInt64 struct {
	V     int64
	Valid bool
}

// target returns where a decoder decodes its next record: one, zeroed, when the decoder reuses its
// record (Decoders.ReuseRecords), else a new value the caller may keep.
func target[T any](reuse bool, one *T) *T {
	if reuse {
		var zero T
		*one = zero
		return one
	}
	return new(T)
}
