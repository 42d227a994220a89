package sink

import (
	"encoding/json"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
)

// Column conventions shared by every table (and by the DDL in deploy/athena):
//   - names are lower case; CloudTrail keeps the names of AWS's own Athena DDL (eventtime,
//     useridentity …) and flow logs / Resolver logs keep their field names with "_", so published
//     queries keep working;
//   - strings are optional: an absent value is NULL, never "" (the parse model uses "" for absent);
//   - timestamps are INT64 TIMESTAMP(MILLIS, UTC): Athena reads them as `timestamp`; nullable ones
//     are *time.Time (parquet-go v0.32 loses a non-pointer optional time.Time inside a nested group);
//   - nullable numbers and booleans are pointers (a zero port or readOnly=false is a value, not NULL);
//   - free-form JSON members are their JSON text in a STRING column (query with json_extract);
//   - low-cardinality strings are dictionary-encoded ("dict"), which pays for sources, names,
//     regions, accounts and enums; high-cardinality ids and JSON text use plain encoding;
//   - every row carries lineage (source_bucket, source_key, source_index) so it traces back to the
//     exact record of the exact object it came from.

// CloudTrailRow is one row of the cloudtrail table: management, data, network-activity and Insights
// events (Insights rows have no useridentity and carry insightdetails).
type CloudTrailRow struct {
	EventVersion                 string           `parquet:"eventversion,optional,dict"`
	UserIdentity                 *UserIdentityCol `parquet:"useridentity,optional"`
	EventTime                    time.Time        `parquet:"eventtime,timestamp(millisecond)"`
	EventSource                  string           `parquet:"eventsource,optional,dict"`
	EventName                    string           `parquet:"eventname,optional,dict"`
	AWSRegion                    string           `parquet:"awsregion,optional,dict"`
	SourceIPAddress              string           `parquet:"sourceipaddress,optional,dict"`
	UserAgent                    string           `parquet:"useragent,optional,dict"`
	ErrorCode                    string           `parquet:"errorcode,optional,dict"`
	ErrorMessage                 string           `parquet:"errormessage,optional"`
	RequestParameters            string           `parquet:"requestparameters,optional"`
	ResponseElements             string           `parquet:"responseelements,optional"`
	AdditionalEventData          string           `parquet:"additionaleventdata,optional"`
	RequestID                    string           `parquet:"requestid,optional"`
	EventID                      string           `parquet:"eventid,optional"`
	ReadOnly                     *bool            `parquet:"readonly,optional"`
	Resources                    []ResourceCol    `parquet:"resources,optional,list"`
	EventType                    string           `parquet:"eventtype,optional,dict"`
	APIVersion                   string           `parquet:"apiversion,optional,dict"`
	RecipientAccountID           string           `parquet:"recipientaccountid,optional,dict"`
	SharedEventID                string           `parquet:"sharedeventid,optional"`
	VPCEndpointID                string           `parquet:"vpcendpointid,optional,dict"`
	VPCEndpointAccountID         string           `parquet:"vpcendpointaccountid,optional,dict"`
	ServiceEventDetails          string           `parquet:"serviceeventdetails,optional"`
	ManagementEvent              *bool            `parquet:"managementevent,optional"`
	EventCategory                string           `parquet:"eventcategory,optional,dict"`
	Addendum                     *AddendumCol     `parquet:"addendum,optional"`
	SessionCredentialFromConsole *bool            `parquet:"sessioncredentialfromconsole,optional"`
	EdgeDeviceDetails            string           `parquet:"edgedevicedetails,optional"`
	TLSDetails                   *TLSDetailsCol   `parquet:"tlsdetails,optional"`
	EventContext                 string           `parquet:"eventcontext,optional"`
	InsightDetails               string           `parquet:"insightdetails,optional"`
	SourceBucket                 string           `parquet:"source_bucket,dict"`
	SourceKey                    string           `parquet:"source_key,dict"`
	SourceIndex                  int64            `parquet:"source_index"`
}

// UserIdentityCol is CloudTrail's userIdentity. inscopeof is JSON text: its members are new and
// not yet stable across eventVersions.
type UserIdentityCol struct {
	Type             string             `parquet:"type,optional,dict"`
	PrincipalID      string             `parquet:"principalid,optional,dict"`
	ARN              string             `parquet:"arn,optional,dict"`
	AccountID        string             `parquet:"accountid,optional,dict"`
	InvokedBy        string             `parquet:"invokedby,optional,dict"`
	AccessKeyID      string             `parquet:"accesskeyid,optional,dict"`
	UserName         string             `parquet:"username,optional,dict"`
	IdentityProvider string             `parquet:"identityprovider,optional,dict"`
	CredentialID     string             `parquet:"credentialid,optional"`
	OnBehalfOf       *OnBehalfOfCol     `parquet:"onbehalfof,optional"`
	InScopeOf        string             `parquet:"inscopeof,optional"`
	SessionContext   *SessionContextCol `parquet:"sessioncontext,optional"`
}

type OnBehalfOfCol struct {
	UserID           string `parquet:"userid,optional"`
	IdentityStoreARN string `parquet:"identitystorearn,optional"`
}

// SessionContextCol types what CloudTrail writes as strings: mfaauthenticated ("true"/"false") is a
// boolean and creationdate (extended or basic ISO-8601) a timestamp.
type SessionContextCol struct {
	Attributes          *SessionAttributesCol `parquet:"attributes,optional"`
	SessionIssuer       *SessionIssuerCol     `parquet:"sessionissuer,optional"`
	WebIDFederationData string                `parquet:"webidfederationdata,optional"`
	SourceIdentity      string                `parquet:"sourceidentity,optional"`
	EC2RoleDelivery     string                `parquet:"ec2roledelivery,optional,dict"`
	EC2IssuedInVPC      string                `parquet:"ec2issuedinvpc,optional,dict"`
}

type SessionAttributesCol struct {
	MFAAuthenticated *bool      `parquet:"mfaauthenticated,optional"`
	CreationDate     *time.Time `parquet:"creationdate,optional,timestamp(millisecond)"`
}

type SessionIssuerCol struct {
	Type        string `parquet:"type,optional,dict"`
	PrincipalID string `parquet:"principalid,optional,dict"`
	ARN         string `parquet:"arn,optional,dict"`
	AccountID   string `parquet:"accountid,optional,dict"`
	UserName    string `parquet:"username,optional,dict"`
}

type ResourceCol struct {
	ARN       string `parquet:"arn,optional"`
	AccountID string `parquet:"accountid,optional,dict"`
	Type      string `parquet:"type,optional,dict"`
}

type AddendumCol struct {
	Reason            string `parquet:"reason,optional"`
	UpdatedFields     string `parquet:"updatedfields,optional"`
	OriginalRequestID string `parquet:"originalrequestid,optional"`
	OriginalEventID   string `parquet:"originaleventid,optional"`
}

type TLSDetailsCol struct {
	TLSVersion               string `parquet:"tlsversion,optional,dict"`
	CipherSuite              string `parquet:"ciphersuite,optional,dict"`
	ClientProvidedHostHeader string `parquet:"clientprovidedhostheader,optional,dict"`
}

// VPCFlowRow is one row of the vpcflow table. Column names and integer widths follow AWS's own
// Parquet flow logs (INT32 ports, protocol and flags; INT64 counters), except that the window
// bounds are timestamps named start_time/end_time: a query written for AWS's bigint `start`
// fails loudly ("column not found") instead of comparing seconds with a timestamp.
type VPCFlowRow struct {
	StartTime               *time.Time        `parquet:"start_time,optional,timestamp(millisecond)"`
	EndTime                 *time.Time        `parquet:"end_time,optional,timestamp(millisecond)"`
	Version                 *int32            `parquet:"version,optional"`
	AccountID               string            `parquet:"account_id,optional,dict"`
	InterfaceID             string            `parquet:"interface_id,optional,dict"`
	SrcAddr                 string            `parquet:"srcaddr,optional,dict"`
	DstAddr                 string            `parquet:"dstaddr,optional,dict"`
	SrcPort                 *int32            `parquet:"srcport,optional"`
	DstPort                 *int32            `parquet:"dstport,optional"`
	Protocol                *int32            `parquet:"protocol,optional"`
	Packets                 *int64            `parquet:"packets,optional"`
	Bytes                   *int64            `parquet:"bytes,optional"`
	Action                  string            `parquet:"action,optional,dict"`
	LogStatus               string            `parquet:"log_status,optional,dict"`
	VPCID                   string            `parquet:"vpc_id,optional,dict"`
	SubnetID                string            `parquet:"subnet_id,optional,dict"`
	InstanceID              string            `parquet:"instance_id,optional,dict"`
	TCPFlags                *int32            `parquet:"tcp_flags,optional"`
	Type                    string            `parquet:"type,optional,dict"`
	PktSrcAddr              string            `parquet:"pkt_srcaddr,optional,dict"`
	PktDstAddr              string            `parquet:"pkt_dstaddr,optional,dict"`
	Region                  string            `parquet:"region,optional,dict"`
	AZID                    string            `parquet:"az_id,optional,dict"`
	SublocationType         string            `parquet:"sublocation_type,optional,dict"`
	SublocationID           string            `parquet:"sublocation_id,optional,dict"`
	PktSrcAWSService        string            `parquet:"pkt_src_aws_service,optional,dict"`
	PktDstAWSService        string            `parquet:"pkt_dst_aws_service,optional,dict"`
	FlowDirection           string            `parquet:"flow_direction,optional,dict"`
	TrafficPath             *int32            `parquet:"traffic_path,optional"`
	ECSClusterARN           string            `parquet:"ecs_cluster_arn,optional,dict"`
	ECSClusterName          string            `parquet:"ecs_cluster_name,optional,dict"`
	ECSContainerInstanceARN string            `parquet:"ecs_container_instance_arn,optional,dict"`
	ECSContainerInstanceID  string            `parquet:"ecs_container_instance_id,optional,dict"`
	ECSContainerID          string            `parquet:"ecs_container_id,optional,dict"`
	ECSSecondContainerID    string            `parquet:"ecs_second_container_id,optional,dict"`
	ECSServiceName          string            `parquet:"ecs_service_name,optional,dict"`
	ECSTaskDefinitionARN    string            `parquet:"ecs_task_definition_arn,optional,dict"`
	ECSTaskARN              string            `parquet:"ecs_task_arn,optional,dict"`
	ECSTaskID               string            `parquet:"ecs_task_id,optional,dict"`
	RejectReason            string            `parquet:"reject_reason,optional,dict"`
	ResourceID              string            `parquet:"resource_id,optional,dict"`
	EncryptionStatus        *int32            `parquet:"encryption_status,optional"`
	Unmapped                map[string]string `parquet:"unmapped,optional"`
	SourceBucket            string            `parquet:"source_bucket,dict"`
	SourceKey               string            `parquet:"source_key,dict"`
	SourceIndex             int64             `parquet:"source_index"`
}

// ResolverRow is one row of the resolver table. srcport is an int (a string in the JSON);
// unmapped holds members this version does not know, as JSON text.
type ResolverRow struct {
	Version              string              `parquet:"version,optional,dict"`
	AccountID            string              `parquet:"account_id,optional,dict"`
	Region               string              `parquet:"region,optional,dict"`
	VPCID                string              `parquet:"vpc_id,optional,dict"`
	QueryTimestamp       time.Time           `parquet:"query_timestamp,timestamp(millisecond)"`
	QueryName            string              `parquet:"query_name,optional,dict"`
	QueryType            string              `parquet:"query_type,optional,dict"`
	QueryClass           string              `parquet:"query_class,optional,dict"`
	RCode                string              `parquet:"rcode,optional,dict"`
	Answers              []ResolverAnswerCol `parquet:"answers,optional,list"`
	SrcAddr              string              `parquet:"srcaddr,optional,dict"`
	SrcPort              *int32              `parquet:"srcport,optional"`
	Transport            string              `parquet:"transport,optional,dict"`
	SrcIDs               *ResolverSrcIDsCol  `parquet:"srcids,optional"`
	FirewallRuleGroupID  string              `parquet:"firewall_rule_group_id,optional,dict"`
	FirewallRuleAction   string              `parquet:"firewall_rule_action,optional,dict"`
	FirewallDomainListID string              `parquet:"firewall_domain_list_id,optional,dict"`
	FirewallProtection   string              `parquet:"firewall_protection,optional,dict"`
	Unmapped             string              `parquet:"unmapped,optional"`
	SourceBucket         string              `parquet:"source_bucket,dict"`
	SourceKey            string              `parquet:"source_key,dict"`
	SourceIndex          int64               `parquet:"source_index"`
}

type ResolverAnswerCol struct {
	RData string `parquet:"rdata,optional"`
	Type  string `parquet:"type,optional,dict"`
	Class string `parquet:"class,optional,dict"`
}

type ResolverSrcIDsCol struct {
	Instance                 string `parquet:"instance,optional,dict"`
	ResolverEndpoint         string `parquet:"resolver_endpoint,optional,dict"`
	ResolverNetworkInterface string `parquet:"resolver_network_interface,optional,dict"`
}

// FindingRow is one metric-filter match. The lead maps the rules engine's findings onto it; the
// sink only needs EventTime (partition and sort key) and the lineage.
type FindingRow struct {
	EventTime       time.Time `parquet:"event_time,timestamp(millisecond)"`
	Rule            string    `parquet:"rule,dict"`
	MetricNamespace string    `parquet:"metric_namespace,optional,dict"`
	MetricName      string    `parquet:"metric_name,optional,dict"`
	MetricValue     *float64  `parquet:"metric_value,optional"`
	Source          string    `parquet:"source,optional,dict"` // parse.Source name: cloudtrail, vpcflow, resolver
	Account         string    `parquet:"account,optional,dict"`
	Region          string    `parquet:"region,optional,dict"`
	EventID         string    `parquet:"event_id,optional"`
	EventJSON       string    `parquet:"event_json,optional"` // the matched record's text (Record.Raw)
	SourceBucket    string    `parquet:"source_bucket,dict"`
	SourceKey       string    `parquet:"source_key,dict"`
	SourceIndex     int64     `parquet:"source_index"`
}

// IntegrityRow is one digest-verification result: one per checked log object, plus rows about a
// digest itself (a broken chain or signature) with the object columns NULL.
type IntegrityRow struct {
	VerifiedAt    time.Time  `parquet:"verified_at,timestamp(millisecond)"`
	DigestBucket  string     `parquet:"digest_bucket,optional,dict"`
	DigestKey     string     `parquet:"digest_key,optional"`
	ChainAccount  string     `parquet:"chain_account,optional,dict"`
	ChainRegion   string     `parquet:"chain_region,optional,dict"`
	ChainTrail    string     `parquet:"chain_trail,optional,dict"`
	ObjectBucket  string     `parquet:"object_bucket,optional,dict"`
	ObjectKey     string     `parquet:"object_key,optional"`
	Status        string     `parquet:"status,dict"` // e.g. valid, invalid, missing
	Class         string     `parquet:"class,optional,dict"`
	Reason        string     `parquet:"reason,optional"`
	DigestEndTime *time.Time `parquet:"digest_end_time,optional,timestamp(millisecond)"`
}

// Lineage names the record a row came from.
type Lineage struct {
	Bucket string
	Key    string
	Index  int64
}

// CloudTrailRowOf converts a CloudTrail (or Insights) event.
func CloudTrailRowOf(l Lineage, ev *parse.CloudTrailEvent) CloudTrailRow {
	r := CloudTrailRow{
		EventVersion:         ev.EventVersion,
		UserIdentity:         userIdentityCol(ev.UserIdentity),
		EventTime:            ev.EventTime.UTC(),
		EventSource:          ev.EventSource,
		EventName:            ev.EventName,
		AWSRegion:            ev.AWSRegion,
		SourceIPAddress:      ev.SourceIPAddress,
		UserAgent:            ev.UserAgent,
		ErrorCode:            ev.ErrorCode,
		ErrorMessage:         ev.ErrorMessage,
		RequestParameters:    jsonText(ev.RequestParameters),
		ResponseElements:     jsonText(ev.ResponseElements),
		AdditionalEventData:  jsonText(ev.AdditionalEvent),
		RequestID:            ev.RequestID,
		EventID:              ev.EventID,
		ReadOnly:             optBool(ev.ReadOnly),
		EventType:            ev.EventType,
		APIVersion:           ev.APIVersion,
		RecipientAccountID:   ev.RecipientAccountID,
		SharedEventID:        ev.SharedEventID,
		VPCEndpointID:        ev.VPCEndpointID,
		VPCEndpointAccountID: ev.VPCEndpointAccount,
		ServiceEventDetails:  jsonText(ev.ServiceEventDetail),
		ManagementEvent:      optBool(ev.ManagementEvent),
		EventCategory:        ev.EventCategory,
		EdgeDeviceDetails:    jsonText(ev.EdgeDeviceDetails),
		EventContext:         jsonText(ev.EventContext),
		InsightDetails:       jsonText(ev.InsightDetails),
		SourceBucket:         l.Bucket,
		SourceKey:            l.Key,
		SourceIndex:          l.Index,
	}
	if len(ev.Resources) > 0 {
		r.Resources = make([]ResourceCol, len(ev.Resources))
		for i, res := range ev.Resources {
			r.Resources[i] = ResourceCol{ARN: res.ARN, AccountID: res.AccountID, Type: res.Type}
		}
	}
	if a := ev.Addendum; a != nil {
		r.Addendum = &AddendumCol{Reason: a.Reason, UpdatedFields: a.UpdatedFields,
			OriginalRequestID: a.OriginalRequestID, OriginalEventID: a.OriginalEventID}
	}
	if ev.SessionCredentialFromConsole != "" {
		b := ev.SessionCredentialFromConsole == "true"
		r.SessionCredentialFromConsole = &b
	}
	if t := ev.TLSDetails; t != nil {
		r.TLSDetails = &TLSDetailsCol{TLSVersion: t.TLSVersion, CipherSuite: t.CipherSuite,
			ClientProvidedHostHeader: t.ClientProvidedHostHeader}
	}
	return r
}

func userIdentityCol(u *parse.UserIdentity) *UserIdentityCol {
	if u == nil {
		return nil
	}
	c := &UserIdentityCol{
		Type:             u.Type,
		PrincipalID:      u.PrincipalID,
		ARN:              u.ARN,
		AccountID:        u.AccountID,
		InvokedBy:        u.InvokedBy,
		AccessKeyID:      u.AccessKeyID,
		UserName:         u.UserName,
		IdentityProvider: u.IdentityProvider,
		CredentialID:     u.CredentialID,
		InScopeOf:        jsonText(u.InScopeOf),
	}
	if o := u.OnBehalfOf; o != nil {
		c.OnBehalfOf = &OnBehalfOfCol{UserID: o.UserID, IdentityStoreARN: o.IdentityStoreARN}
	}
	if s := u.SessionContext; s != nil {
		sc := &SessionContextCol{
			WebIDFederationData: jsonText(s.WebIDFederationData),
			SourceIdentity:      s.SourceIdentity,
			EC2RoleDelivery:     s.EC2RoleDelivery,
			EC2IssuedInVPC:      s.EC2IssuedInVPC,
		}
		if s.MFAAuthenticated != "" || s.CreationDate != "" {
			at := &SessionAttributesCol{CreationDate: parseCreationDate(s.CreationDate)}
			switch s.MFAAuthenticated {
			case "true":
				at.MFAAuthenticated = ptr(true)
			case "false":
				at.MFAAuthenticated = ptr(false)
			}
			sc.Attributes = at
		}
		if si := s.SessionIssuer; si != nil {
			sc.SessionIssuer = &SessionIssuerCol{Type: si.Type, PrincipalID: si.PrincipalID, ARN: si.ARN,
				AccountID: si.AccountID, UserName: si.UserName}
		}
		c.SessionContext = sc
	}
	return c
}

// creationDateLayouts are the forms CloudTrail has used for sessionContext.attributes.creationDate:
// extended ISO-8601 (current) and the basic form of older events.
var creationDateLayouts = [...]string{time.RFC3339Nano, "20060102T150405Z"}

// parseCreationDate returns nil (NULL) for a value in neither form rather than failing the row: the
// column is informative, and the raw event is still in the source object.
func parseCreationDate(s string) *time.Time {
	for _, layout := range creationDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return ptr(t.UTC())
		}
	}
	return nil
}

// VPCFlowRowOf converts a flow-log record.
func VPCFlowRowOf(l Lineage, f *parse.FlowRecord) VPCFlowRow {
	r := VPCFlowRow{
		Version:                 optI32(f.Version),
		AccountID:               f.AccountID,
		InterfaceID:             f.InterfaceID,
		SrcAddr:                 f.SrcAddr,
		DstAddr:                 f.DstAddr,
		SrcPort:                 optI32(f.SrcPort),
		DstPort:                 optI32(f.DstPort),
		Protocol:                optI32(f.Protocol),
		Packets:                 optI64(f.Packets),
		Bytes:                   optI64(f.Bytes),
		Action:                  f.Action,
		LogStatus:               f.LogStatus,
		VPCID:                   f.VPCID,
		SubnetID:                f.SubnetID,
		InstanceID:              f.InstanceID,
		TCPFlags:                optI32(f.TCPFlags),
		Type:                    f.Type,
		PktSrcAddr:              f.PktSrcAddr,
		PktDstAddr:              f.PktDstAddr,
		Region:                  f.Region,
		AZID:                    f.AZID,
		SublocationType:         f.SublocationType,
		SublocationID:           f.SublocationID,
		PktSrcAWSService:        f.PktSrcAWSService,
		PktDstAWSService:        f.PktDstAWSService,
		FlowDirection:           f.FlowDirection,
		TrafficPath:             optI32(f.TrafficPath),
		ECSClusterARN:           f.ECSClusterARN,
		ECSClusterName:          f.ECSClusterName,
		ECSContainerInstanceARN: f.ECSContainerInstanceARN,
		ECSContainerInstanceID:  f.ECSContainerInstanceID,
		ECSContainerID:          f.ECSContainerID,
		ECSSecondContainerID:    f.ECSSecondContainerID,
		ECSServiceName:          f.ECSServiceName,
		ECSTaskDefinitionARN:    f.ECSTaskDefinitionARN,
		ECSTaskARN:              f.ECSTaskARN,
		ECSTaskID:               f.ECSTaskID,
		RejectReason:            f.RejectReason,
		ResourceID:              f.ResourceID,
		EncryptionStatus:        optI32(f.EncryptionStatus),
		SourceBucket:            l.Bucket,
		SourceKey:               l.Key,
		SourceIndex:             l.Index,
	}
	if f.Start.Valid {
		r.StartTime = ptr(time.Unix(f.Start.V, 0).UTC())
	}
	if f.End.Valid {
		r.EndTime = ptr(time.Unix(f.End.V, 0).UTC())
	}
	if len(f.Unmapped) > 0 {
		r.Unmapped = make(map[string]string, len(f.Unmapped))
		for k, v := range f.Unmapped {
			r.Unmapped[k] = v
		}
	}
	return r
}

// ResolverRowOf converts a Resolver query-log record.
func ResolverRowOf(l Lineage, q *parse.ResolverQuery) ResolverRow {
	r := ResolverRow{
		Version:              q.Version,
		AccountID:            q.AccountID,
		Region:               q.Region,
		VPCID:                q.VPCID,
		QueryTimestamp:       q.QueryTimestamp.UTC(),
		QueryName:            q.QueryName,
		QueryType:            q.QueryType,
		QueryClass:           q.QueryClass,
		RCode:                q.RCode,
		SrcAddr:              q.SrcAddr,
		SrcPort:              optI32(q.SrcPort),
		Transport:            q.Transport,
		FirewallRuleGroupID:  q.FirewallRuleGroupID,
		FirewallRuleAction:   q.FirewallRuleAction,
		FirewallDomainListID: q.FirewallDomainListID,
		FirewallProtection:   q.FirewallProtection,
		Unmapped:             jsonText(q.Unmapped),
		SourceBucket:         l.Bucket,
		SourceKey:            l.Key,
		SourceIndex:          l.Index,
	}
	if len(q.Answers) > 0 {
		r.Answers = make([]ResolverAnswerCol, len(q.Answers))
		for i, a := range q.Answers {
			r.Answers[i] = ResolverAnswerCol{RData: a.RData, Type: a.Type, Class: a.Class}
		}
	}
	if s := q.SrcIDs; s != (parse.ResolverSrcIDs{}) {
		r.SrcIDs = &ResolverSrcIDsCol{Instance: s.Instance, ResolverEndpoint: s.ResolverEndpoint,
			ResolverNetworkInterface: s.ResolverNetworkInterface}
	}
	return r
}

// jsonText keeps a free-form member as the JSON text CloudTrail wrote; JSON null is NULL.
func jsonText(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	return string(m)
}

func optBool(b parse.OptBool) *bool {
	if !b.Valid {
		return nil
	}
	return ptr(b.V)
}

func optI32(v parse.OptInt32) *int32 {
	if !v.Valid {
		return nil
	}
	return ptr(v.V)
}

func optI64(v parse.OptInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return ptr(v.V)
}

func ptr[T any](v T) *T { return &v }
