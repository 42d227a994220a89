package sink

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/logarchive/logarchive/pkg/parse"
)

// Column conventions shared by every table (and by the DDL in deploy/athena):
//   - names are lower case; CloudTrail keeps the names of AWS's own Athena DDL (eventtime,
//     useridentity …) and flow logs / Resolver logs keep their field names with "_", so published
//     queries keep working;
//   - strings are optional: an absent value is NULL, never "" (the parse model uses "" for absent);
//   - timestamps are INT64 TIMESTAMP(MILLIS, UTC): Athena reads them as `timestamp`;
//   - an optional string column of the CloudTrail and Resolver rows is a plain string, "" being
//     NULL (the shredder writes it so; a pointer per string cost an allocation per row and doubled
//     the pointers the collector scans); other optional columns are pointers (*int32, *time.Time …),
//     as a zero port or readOnly=false is a value, not NULL. parquet-go v0.32's row path writes a
//     plain optional field wrongly once a Write mixes zero and non-zero values (a zero after a
//     non-zero comes out present), so a table it writes gets one row per Write (chunkRows);
//   - free-form JSON members are their JSON text in a STRING column (query with json_extract);
//   - low-cardinality strings are dictionary-encoded ("dict"), which pays for sources, names,
//     regions, accounts and enums; JSON text and the addresses of flow and Resolver records use
//     plain encoding (zstd still finds their repeats): on the synthetic flow archive,
//     dictionaries on the four flow address columns made files 9 % larger and writing 2.6 times
//     slower; ids unique per record (CloudTrail's eventid, requestid, sharedeventid) are tagged
//     "delta": written DELTA_BYTE_ARRAY (pqwrite), which zstd codes about as small as PLAIN in a
//     third of the time, and no dictionary is tried on them first;
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
	RequestID                    string           `parquet:"requestid,optional,delta"`
	EventID                      string           `parquet:"eventid,optional,delta"`
	ReadOnly                     *bool            `parquet:"readonly,optional"`
	Resources                    []ResourceCol    `parquet:"resources,optional,list"`
	EventType                    string           `parquet:"eventtype,optional,dict"`
	APIVersion                   string           `parquet:"apiversion,optional,dict"`
	RecipientAccountID           string           `parquet:"recipientaccountid,optional,dict"`
	SharedEventID                string           `parquet:"sharedeventid,optional,delta"`
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
	AccountID               *string           `parquet:"account_id,optional,dict"`
	InterfaceID             *string           `parquet:"interface_id,optional,dict"`
	SrcAddr                 *string           `parquet:"srcaddr,optional"`
	DstAddr                 *string           `parquet:"dstaddr,optional"`
	SrcPort                 *int32            `parquet:"srcport,optional"`
	DstPort                 *int32            `parquet:"dstport,optional"`
	Protocol                *int32            `parquet:"protocol,optional"`
	Packets                 *int64            `parquet:"packets,optional"`
	Bytes                   *int64            `parquet:"bytes,optional"`
	Action                  *string           `parquet:"action,optional,dict"`
	LogStatus               *string           `parquet:"log_status,optional,dict"`
	VPCID                   *string           `parquet:"vpc_id,optional,dict"`
	SubnetID                *string           `parquet:"subnet_id,optional,dict"`
	InstanceID              *string           `parquet:"instance_id,optional,dict"`
	TCPFlags                *int32            `parquet:"tcp_flags,optional"`
	Type                    *string           `parquet:"type,optional,dict"`
	PktSrcAddr              *string           `parquet:"pkt_srcaddr,optional"`
	PktDstAddr              *string           `parquet:"pkt_dstaddr,optional"`
	Region                  *string           `parquet:"region,optional,dict"`
	AZID                    *string           `parquet:"az_id,optional,dict"`
	SublocationType         *string           `parquet:"sublocation_type,optional,dict"`
	SublocationID           *string           `parquet:"sublocation_id,optional,dict"`
	PktSrcAWSService        *string           `parquet:"pkt_src_aws_service,optional,dict"`
	PktDstAWSService        *string           `parquet:"pkt_dst_aws_service,optional,dict"`
	FlowDirection           *string           `parquet:"flow_direction,optional,dict"`
	TrafficPath             *int32            `parquet:"traffic_path,optional"`
	ECSClusterARN           *string           `parquet:"ecs_cluster_arn,optional,dict"`
	ECSClusterName          *string           `parquet:"ecs_cluster_name,optional,dict"`
	ECSContainerInstanceARN *string           `parquet:"ecs_container_instance_arn,optional,dict"`
	ECSContainerInstanceID  *string           `parquet:"ecs_container_instance_id,optional,dict"`
	ECSContainerID          *string           `parquet:"ecs_container_id,optional,dict"`
	ECSSecondContainerID    *string           `parquet:"ecs_second_container_id,optional,dict"`
	ECSServiceName          *string           `parquet:"ecs_service_name,optional,dict"`
	ECSTaskDefinitionARN    *string           `parquet:"ecs_task_definition_arn,optional,dict"`
	ECSTaskARN              *string           `parquet:"ecs_task_arn,optional,dict"`
	ECSTaskID               *string           `parquet:"ecs_task_id,optional,dict"`
	RejectReason            *string           `parquet:"reject_reason,optional,dict"`
	ResourceID              *string           `parquet:"resource_id,optional,dict"`
	EncryptionStatus        *int32            `parquet:"encryption_status,optional"`
	Unmapped                map[string]string `parquet:"unmapped"`
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
	SrcAddr              string              `parquet:"srcaddr,optional"`
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

// FindingRow is one metric-filter match. The lead maps the rules engine's findings onto it. Empty
// strings, a nil MetricValue and a nil DigestEndTime are written as NULL.
type FindingRow struct {
	EventTime       time.Time // partition and sort key
	Rule            string
	MetricNamespace string
	MetricName      string
	MetricValue     *float64
	Source          string // parse.Source name: cloudtrail, vpcflow, resolver
	Account         string
	Region          string
	EventID         string
	EventJSON       string // the matched record's text (parse.Record.Raw)
	Lineage         Lineage
}

// IntegrityRow is one digest-verification result: one per checked log object, plus rows about a
// digest itself (a broken chain or signature) with the object fields empty.
type IntegrityRow struct {
	VerifiedAt    time.Time // partition and sort key
	DigestBucket  string
	DigestKey     string
	ChainAccount  string
	ChainRegion   string
	ChainTrail    string
	ObjectBucket  string
	ObjectKey     string
	Status        string // e.g. valid, invalid, missing
	Class         string
	Reason        string
	DigestEndTime *time.Time
}

// findingCol is FindingRow as written (the findings table's schema).
type findingCol struct {
	EventTime       time.Time `parquet:"event_time,timestamp(millisecond)"`
	Rule            string    `parquet:"rule,dict"`
	MetricNamespace *string   `parquet:"metric_namespace,optional,dict"`
	MetricName      *string   `parquet:"metric_name,optional,dict"`
	MetricValue     *float64  `parquet:"metric_value,optional"`
	Source          *string   `parquet:"source,optional,dict"`
	Account         *string   `parquet:"account,optional,dict"`
	Region          *string   `parquet:"region,optional,dict"`
	EventID         *string   `parquet:"event_id,optional"`
	EventJSON       *string   `parquet:"event_json,optional"`
	SourceBucket    string    `parquet:"source_bucket,dict"`
	SourceKey       string    `parquet:"source_key,dict"`
	SourceIndex     int64     `parquet:"source_index"`
}

// integrityCol is IntegrityRow as written (the integrity table's schema).
type integrityCol struct {
	VerifiedAt    time.Time  `parquet:"verified_at,timestamp(millisecond)"`
	DigestBucket  *string    `parquet:"digest_bucket,optional,dict"`
	DigestKey     *string    `parquet:"digest_key,optional"`
	ChainAccount  *string    `parquet:"chain_account,optional,dict"`
	ChainRegion   *string    `parquet:"chain_region,optional,dict"`
	ChainTrail    *string    `parquet:"chain_trail,optional,dict"`
	ObjectBucket  *string    `parquet:"object_bucket,optional,dict"`
	ObjectKey     *string    `parquet:"object_key,optional"`
	Status        string     `parquet:"status,dict"`
	Class         *string    `parquet:"class,optional,dict"`
	Reason        *string    `parquet:"reason,optional"`
	DigestEndTime *time.Time `parquet:"digest_end_time,optional,timestamp(millisecond)"`
}

func findingColOf(f *FindingRow) findingCol {
	a := newStrings(8)
	return findingCol{
		EventTime: f.EventTime.UTC(), Rule: f.Rule, MetricNamespace: a.s(f.MetricNamespace),
		MetricName: a.s(f.MetricName), MetricValue: f.MetricValue, Source: a.s(f.Source), Account: a.s(f.Account),
		Region: a.s(f.Region), EventID: a.s(f.EventID), EventJSON: a.s(f.EventJSON),
		SourceBucket: f.Lineage.Bucket, SourceKey: f.Lineage.Key, SourceIndex: f.Lineage.Index,
	}
}

func integrityColOf(r *IntegrityRow) integrityCol {
	a := newStrings(10)
	c := integrityCol{
		VerifiedAt: r.VerifiedAt.UTC(), DigestBucket: a.s(r.DigestBucket), DigestKey: a.s(r.DigestKey),
		ChainAccount: a.s(r.ChainAccount), ChainRegion: a.s(r.ChainRegion), ChainTrail: a.s(r.ChainTrail),
		ObjectBucket: a.s(r.ObjectBucket), ObjectKey: a.s(r.ObjectKey), Status: r.Status, Class: a.s(r.Class),
		Reason: a.s(r.Reason),
	}
	if r.DigestEndTime != nil {
		c.DigestEndTime = ptr(r.DigestEndTime.UTC())
	}
	return c
}

// Lineage names the record a row came from.
type Lineage struct {
	Bucket string
	Key    string
	Index  int64
}

// ctHeap is everything a CloudTrail row points to, in one allocation per row rather than one per
// nested struct: seven to ten allocations a row were a tenth of CloudTrail's CPU (malloc and GC).
// Optional strings are plain strings in the row ("" is NULL), so no string needs a heap slot. Its
// size (under 640 bytes) stays under cloudTrailHeap.
type ctHeap struct {
	ui  UserIdentityCol
	obo OnBehalfOfCol
	sc  SessionContextCol
	at  SessionAttributesCol
	si  SessionIssuerCol
	add AddendumCol
	tls TLSDetailsCol
	res [2]ResourceCol
	cd  time.Time
	// The row's booleans: readonly, managementevent, sessioncredentialfromconsole, mfaauthenticated.
	readOnly, mgmt, console, mfa bool
}

// CloudTrailRowOf converts a CloudTrail (or Insights) event.
func CloudTrailRowOf(l Lineage, ev *parse.CloudTrailEvent) CloudTrailRow {
	h := new(ctHeap)
	r := CloudTrailRow{
		EventVersion:         ev.EventVersion,
		UserIdentity:         userIdentityCol(h, ev.UserIdentity),
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
		ReadOnly:             boolIn(&h.readOnly, ev.ReadOnly),
		EventType:            ev.EventType,
		APIVersion:           ev.APIVersion,
		RecipientAccountID:   ev.RecipientAccountID,
		SharedEventID:        ev.SharedEventID,
		VPCEndpointID:        ev.VPCEndpointID,
		VPCEndpointAccountID: ev.VPCEndpointAccount,
		ServiceEventDetails:  jsonText(ev.ServiceEventDetail),
		ManagementEvent:      boolIn(&h.mgmt, ev.ManagementEvent),
		EventCategory:        ev.EventCategory,
		EdgeDeviceDetails:    jsonText(ev.EdgeDeviceDetails),
		EventContext:         jsonText(ev.EventContext),
		InsightDetails:       jsonText(ev.InsightDetails),
		SourceBucket:         l.Bucket,
		SourceKey:            l.Key,
		SourceIndex:          l.Index,
	}
	if n := len(ev.Resources); n > 0 {
		if n <= len(h.res) {
			r.Resources = h.res[:n:n]
		} else {
			r.Resources = make([]ResourceCol, n)
		}
		for i, res := range ev.Resources {
			r.Resources[i] = ResourceCol{ARN: res.ARN, AccountID: res.AccountID, Type: res.Type}
		}
	}
	if ad := ev.Addendum; ad != nil {
		h.add = AddendumCol{Reason: ad.Reason, UpdatedFields: ad.UpdatedFields,
			OriginalRequestID: ad.OriginalRequestID, OriginalEventID: ad.OriginalEventID}
		r.Addendum = &h.add
	}
	if ev.SessionCredentialFromConsole != "" {
		h.console = ev.SessionCredentialFromConsole == "true"
		r.SessionCredentialFromConsole = &h.console
	}
	if t := ev.TLSDetails; t != nil {
		h.tls = TLSDetailsCol{TLSVersion: t.TLSVersion, CipherSuite: t.CipherSuite,
			ClientProvidedHostHeader: t.ClientProvidedHostHeader}
		r.TLSDetails = &h.tls
	}
	return r
}

func userIdentityCol(h *ctHeap, u *parse.UserIdentity) *UserIdentityCol {
	if u == nil {
		return nil
	}
	c := &h.ui
	*c = UserIdentityCol{
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
		h.obo = OnBehalfOfCol{UserID: o.UserID, IdentityStoreARN: o.IdentityStoreARN}
		c.OnBehalfOf = &h.obo
	}
	if s := u.SessionContext; s != nil {
		sc := &h.sc
		*sc = SessionContextCol{
			WebIDFederationData: jsonText(s.WebIDFederationData),
			SourceIdentity:      s.SourceIdentity,
			EC2RoleDelivery:     s.EC2RoleDelivery,
			EC2IssuedInVPC:      s.EC2IssuedInVPC,
		}
		if s.MFAAuthenticated != "" || s.CreationDate != "" {
			switch s.MFAAuthenticated {
			case "true", "false":
				h.mfa = s.MFAAuthenticated == "true"
				h.at.MFAAuthenticated = &h.mfa
			}
			if t, ok := parseCreationDate(s.CreationDate); ok {
				h.cd = t
				h.at.CreationDate = &h.cd
			}
			sc.Attributes = &h.at
		}
		if si := s.SessionIssuer; si != nil {
			h.si = SessionIssuerCol{Type: si.Type, PrincipalID: si.PrincipalID, ARN: si.ARN,
				AccountID: si.AccountID, UserName: si.UserName}
			sc.SessionIssuer = &h.si
		}
		c.SessionContext = sc
	}
	return c
}

// creationDateLayouts are the forms CloudTrail has used for sessionContext.attributes.creationDate:
// extended ISO-8601 (current) and the basic form of older events.
var creationDateLayouts = [...]string{time.RFC3339Nano, "20060102T150405Z"}

// parseCreationDate returns false (NULL) for a value in neither form rather than failing the row:
// the column is informative, and the raw event is still in the source object.
func parseCreationDate(s string) (time.Time, bool) {
	if t, ok := parseUTCSeconds(s); ok {
		return t, true
	}
	for _, layout := range creationDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseUTCSeconds reads "2006-01-02T15:04:05Z", the form CloudTrail writes almost always, without
// time.Parse (a tenth of a CloudTrail row's conversion); anything else is left to time.Parse.
func parseUTCSeconds(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	var v [6]int
	for i, f := range [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		for j := f[0]; j < f[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC)
	if t.Day() != v[2] {
		return time.Time{}, false // 2023-02-30, which time.Date would normalise
	}
	return t, true
}

// resolverRowHeap is everything a Resolver row points to, in one allocation (it was four or five):
// three answers, the srcids and the port. Its size (under 208 bytes) stays under resolverHeap.
type resolverRowHeap struct {
	ans  [3]ResolverAnswerCol
	ids  [1]ResolverSrcIDsCol
	port [1]int32
}

// ResolverRowOf converts a Resolver query-log record.
func ResolverRowOf(l Lineage, q *parse.ResolverQuery) ResolverRow {
	var r ResolverRow
	h := new(resolverRowHeap)
	s := resolverSlab{ans: h.ans[:], ids: h.ids[:], ports: h.port[:]}
	fillResolverRow(&r, l, q, &s)
	return r
}

// fillResolverRow converts q into *r, which must be zero, with what the row points to taken from
// s. The layout fills rows where they are staged (rowsOf.slot): built on the stack and passed
// down by value, a row (over 300 bytes) was copied four times.
func fillResolverRow(r *ResolverRow, l Lineage, q *parse.ResolverQuery, s *resolverSlab) {
	r.Version = q.Version
	r.AccountID = q.AccountID
	r.Region = q.Region
	r.VPCID = q.VPCID
	r.QueryTimestamp = q.QueryTimestamp.UTC()
	r.QueryName = q.QueryName
	r.QueryType = q.QueryType
	r.QueryClass = q.QueryClass
	r.RCode = q.RCode
	r.SrcAddr = q.SrcAddr
	r.Transport = q.Transport
	r.FirewallRuleGroupID = q.FirewallRuleGroupID
	r.FirewallRuleAction = q.FirewallRuleAction
	r.FirewallDomainListID = q.FirewallDomainListID
	r.FirewallProtection = q.FirewallProtection
	r.Unmapped = jsonText(q.Unmapped)
	r.SourceBucket = l.Bucket
	r.SourceKey = l.Key
	r.SourceIndex = l.Index
	if q.SrcPort.Valid {
		p := s.port()
		*p = q.SrcPort.V
		r.SrcPort = p
	}
	if n := len(q.Answers); n > 0 {
		r.Answers = s.answers(n)
		for i, ans := range q.Answers {
			r.Answers[i] = ResolverAnswerCol{RData: ans.RData, Type: ans.Type, Class: ans.Class}
		}
	}
	if ids := q.SrcIDs; ids != (parse.ResolverSrcIDs{}) {
		c := s.srcIDs()
		*c = ResolverSrcIDsCol{Instance: ids.Instance, ResolverEndpoint: ids.ResolverEndpoint,
			ResolverNetworkInterface: ids.ResolverNetworkInterface}
		r.SrcIDs = c
	}
}

// resolverSlab hands out what an input's Resolver rows point to (answers, srcids, ports) from
// blocks: a few allocations per block of rows rather than one per row (malloc was a third of
// staging a Resolver row), each row taking only what it holds. ResolverRowOf's slab is one row's
// heap; the Athena layout's takes resolverBlocks from its pool, which get them back once every row
// pointing into them is encoded (resolverBlock says how), so a run stages its rows in the same few
// blocks rather than in ~27 MB of fresh memory on the Resolver benchmark.
type resolverSlab struct {
	ans   []ResolverAnswerCol
	ids   []ResolverSrcIDsCol
	ports []int32
	pool  *blockPool     // nil: blocks are made, and left to the collector
	cur   *resolverBlock // the block ans, ids and ports are the rest of (pool only)
	// dst is the row set of the row being filled (pool only): it must hold every block the row
	// takes from, including one the slab moves on from halfway through the row.
	dst *rowsOf[ResolverRow]
}

const resolverSlabLen = 32

// answers returns n zero answers.
func (s *resolverSlab) answers(n int) []ResolverAnswerCol {
	if n > len(s.ans) {
		if n > 2*resolverSlabLen {
			return make([]ResolverAnswerCol, n)
		}
		if s.pool != nil {
			s.next()
		} else {
			s.ans = make([]ResolverAnswerCol, 2*resolverSlabLen)
		}
	}
	a := s.ans[:n:n]
	s.ans = s.ans[n:]
	return a
}

func (s *resolverSlab) srcIDs() *ResolverSrcIDsCol {
	if len(s.ids) == 0 {
		if s.pool != nil {
			s.next()
		} else {
			s.ids = make([]ResolverSrcIDsCol, resolverSlabLen)
		}
	}
	c := &s.ids[0]
	s.ids = s.ids[1:]
	return c
}

func (s *resolverSlab) port() *int32 {
	if len(s.ports) == 0 {
		if s.pool != nil {
			s.next()
		} else {
			s.ports = make([]int32, 2*resolverSlabLen)
		}
	}
	p := &s.ports[0]
	s.ports = s.ports[1:]
	return p
}

// next moves the slab to a fresh block from its pool, letting go of the one it had (once the row
// being filled holds it).
func (s *resolverSlab) next() {
	s.hold()
	s.release()
	b := s.pool.get()
	s.cur = b
	s.ans, s.ids, s.ports = b.ans[:], b.ids[:], b.ports[:]
}

// release lets go of the slab's block (the rows staged from it still hold it): at End or Abort of
// its input, or when the slab moves on.
func (s *resolverSlab) release() {
	if s.cur != nil {
		s.cur.release()
		s.cur = nil
	}
	s.ans, s.ids, s.ports = nil, nil, nil
}

// fill is fillResolverRow for a row staged in dst, which then holds every block the row points
// into (until it is encoded or dropped).
func (s *resolverSlab) fill(r *ResolverRow, l Lineage, q *parse.ResolverQuery, dst *rowsOf[ResolverRow]) {
	s.dst = dst
	fillResolverRow(r, l, q, s)
	s.hold()
	s.dst = nil
}

// hold makes dst a holder of the slab's block.
func (s *resolverSlab) hold() {
	if b, r := s.cur, s.dst; b != nil && r != nil {
		if n := len(r.blocks); n == 0 || r.blocks[n-1] != b {
			b.refs.Add(1)
			r.blocks = append(r.blocks, b)
		}
	}
}

// resolverBlock is what resolverSlab hands out for up to resolverSlabLen rows, recycled
// through a blockPool. Ownership is counted: the slab filling it holds one reference, and each
// row set (rowsOf) holding rows that may point into it one more (rowsOf.blocks). A row set lets
// go of its blocks only after its rows are encoded and cleared (rowsOf.recycle); a row set that is
// dropped (discard) keeps its references and its blocks go to the collector. The block goes back
// to the pool, cleared, when the last reference goes: no row can point into it then, since rows
// only move between row sets together with their blocks (absorb, take).
type resolverBlock struct {
	ans   [2 * resolverSlabLen]ResolverAnswerCol
	ids   [resolverSlabLen]ResolverSrcIDsCol
	ports [resolverSlabLen]int32
	refs  atomic.Int32
	pool  *blockPool
}

func (b *resolverBlock) release() {
	switch n := b.refs.Add(-1); {
	case n == 0:
		b.pool.put(b)
	case n < 0:
		panic("sink: resolver block released more often than held")
	}
}

// blockPool keeps resolverBlocks for the next rows. It is a sync.Pool: what a quiet table does not
// take back goes to the collector within two cycles.
type blockPool struct {
	p sync.Pool
	// poison fills a released block with values no record has instead of zeros (tests): a row
	// still pointing into a recycled block then reads back wrong; recycled counts them.
	poison   bool
	recycled atomic.Int64
}

func (p *blockPool) get() *resolverBlock {
	b, _ := p.p.Get().(*resolverBlock)
	if b == nil {
		b = &resolverBlock{pool: p}
	} else if p.poison {
		clear(b.ans[:])
		clear(b.ids[:])
		clear(b.ports[:])
	}
	b.refs.Store(1)
	return b
}

func (p *blockPool) put(b *resolverBlock) {
	if p.poison {
		p.recycled.Add(1)
		const bad = "recycled!"
		for i := range b.ans {
			b.ans[i] = ResolverAnswerCol{RData: bad, Type: bad, Class: bad}
		}
		for i := range b.ids {
			b.ids[i] = ResolverSrcIDsCol{Instance: bad, ResolverEndpoint: bad, ResolverNetworkInterface: bad}
		}
		for i := range b.ports {
			b.ports[i] = -1
		}
	} else {
		// Nothing stale stays reachable from the pool (the strings point into decoders' arenas).
		clear(b.ans[:])
		clear(b.ids[:])
	}
	p.p.Put(b)
}

// jsonText keeps a free-form member as the JSON text CloudTrail wrote; JSON null is "" (NULL). The
// string aliases m rather than copying it (requestparameters and responseelements are a third of a
// CloudTrail record): a decoded record's json.RawMessage members are its own and never written
// again (pkg/parse), and Input.Add's callers may not modify them once added.
func jsonText(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	return unsafe.String(&m[0], len(m))
}

// stringArena hands out *string for the optional string columns of findings and integrity rows from
// one backing array per row, so a row costs one allocation for all its strings rather than one per
// column (those rows are few; they keep pointers).
type stringArena struct{ buf []string }

func newStrings(n int) *stringArena { return &stringArena{buf: make([]string, 0, n)} }

// s returns nil (NULL) for "", else a pointer to a copy of v.
func (a *stringArena) s(v string) *string {
	if v == "" {
		return nil
	}
	if len(a.buf) == cap(a.buf) {
		// Earlier pointers keep the old array alive; a row's arena in a row heap is sized to
		// overflow rarely.
		a.buf = make([]string, 0, max(cap(a.buf), 8))
	}
	a.buf = append(a.buf, v)
	return &a.buf[len(a.buf)-1]
}

// boolIn stores b in *dst and returns dst, or nil (NULL) when b is not valid.
func boolIn(dst *bool, b parse.OptBool) *bool {
	if !b.Valid {
		return nil
	}
	*dst = b.V
	return dst
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
