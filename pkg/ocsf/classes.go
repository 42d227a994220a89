package ocsf

import (
	"fmt"
	"time"
)

// Class is an OCSF 1.1.0 event class uid. Each class is delivered to its own Security Lake custom
// source: every object holds one class.
type Class int32

const (
	ClassDetectionFinding Class = 2004
	ClassAccountChange    Class = 3001
	ClassAuthentication   Class = 3002
	ClassNetworkActivity  Class = 4001
	ClassDNSActivity      Class = 4003
	ClassAPIActivity      Class = 6003
)

// Classes lists the classes this package writes, in a fixed order.
func Classes() []Class {
	return []Class{ClassAPIActivity, ClassAuthentication, ClassAccountChange, ClassNetworkActivity,
		ClassDNSActivity, ClassDetectionFinding}
}

type classInfo struct {
	name, category string
	categoryUID    int32
	eventClass     string // CreateCustomLogSource eventClasses value
	source         string // default custom source name
}

var classInfos = map[Class]classInfo{
	ClassDetectionFinding: {"Detection Finding", "Findings", 2, "DETECTION_FINDING", "logarchive-detection-finding"},
	ClassAccountChange:    {"Account Change", "Identity & Access Management", 3, "ACCOUNT_CHANGE", "logarchive-account-change"},
	ClassAuthentication:   {"Authentication", "Identity & Access Management", 3, "AUTHENTICATION", "logarchive-authentication"},
	ClassNetworkActivity:  {"Network Activity", "Network Activity", 4, "NETWORK_ACTIVITY", "logarchive-network-activity"},
	ClassDNSActivity:      {"DNS Activity", "Network Activity", 4, "DNS_ACTIVITY", "logarchive-dns-activity"},
	ClassAPIActivity:      {"API Activity", "Application Activity", 6, "API_ACTIVITY", "logarchive-api-activity"},
}

// Name is the class caption ("API Activity").
func (c Class) Name() string { return classInfos[c].name }

// CategoryUID and CategoryName are the class's OCSF category.
func (c Class) CategoryUID() int32   { return classInfos[c].categoryUID }
func (c Class) CategoryName() string { return classInfos[c].category }

// EventClass is the value CreateCustomLogSource takes in eventClasses for this class.
func (c Class) EventClass() string { return classInfos[c].eventClass }

// DefaultSourceName is the custom source name docs/security-lake.md registers for this class.
func (c Class) DefaultSourceName() string { return classInfos[c].source }

func (c Class) String() string {
	if n := c.Name(); n != "" {
		return fmt.Sprintf("%d %s", int32(c), n)
	}
	return fmt.Sprintf("%d", int32(c))
}

// Row is one OCSF event of any class this package maps. The writer partitions by its time, region
// and account.
type Row interface {
	Class() Class
	// EventTime is the event's `time`, epoch milliseconds.
	EventTime() int64
	// Region and Account are cloud.region and cloud.account.uid ("" when the source had none).
	Region() string
	Account() string
}

// header fills the classification attributes of a row: the caller passes its class and activity.
type header struct {
	ActivityID   int32
	ActivityName string
	CategoryUID  int32
	CategoryName string
	ClassUID     int32
	ClassName    string
	TypeUID      int64
	TypeName     string
}

func headerOf(c Class, activityID int32, activityName string) header {
	if h, ok := headers[int64(c)<<32|int64(uint32(activityID))]; ok && h.ActivityName == activityName {
		return h
	}
	return makeHeader(c, activityID, activityName)
}

type headerKey struct {
	class Class
	id    int32
	name  string
}

// headers holds the header of every activity the mappings produce by class and activity id, made
// once: per row, the type name's concatenation and the class lookups were a tenth of mapping a
// flow record. Read-only.
var headers = func() map[int64]header {
	m := map[int64]header{}
	for c, acts := range map[Class][]headerKey{
		ClassAPIActivity:      {{id: 1, name: "Create"}, {id: 2, name: "Read"}, {id: 3, name: "Update"}, {id: 4, name: "Delete"}, {id: 99, name: "Other"}},
		ClassAuthentication:   {{id: 1, name: "Logon"}, {id: 99, name: "Other"}},
		ClassAccountChange:    {{id: 1, name: "Create"}, {id: 3, name: "Password Change"}, {id: 6, name: "Delete"}, {id: 7, name: "Attach Policy"}, {id: 8, name: "Detach Policy"}, {id: 99, name: "Other"}},
		ClassNetworkActivity:  {{id: 0, name: "Unknown"}, {id: 5, name: "Refuse"}, {id: 6, name: "Traffic"}},
		ClassDNSActivity:      {{id: 6, name: "Traffic"}},
		ClassDetectionFinding: {{id: 1, name: "Create"}},
	} {
		for _, a := range acts {
			m[int64(c)<<32|int64(uint32(a.id))] = makeHeader(c, a.id, a.name)
		}
	}
	return m
}()

func makeHeader(c Class, activityID int32, activityName string) header {
	return header{
		ActivityID: activityID, ActivityName: activityName,
		CategoryUID: c.CategoryUID(), CategoryName: c.CategoryName(),
		ClassUID: int32(c), ClassName: c.Name(),
		TypeUID:  int64(c)*100 + int64(activityID),
		TypeName: c.Name() + ": " + activityName,
	}
}

// Severity: AWS's native mappings write every record Informational.
const (
	severityInformational   = "Informational"
	severityIDInformational = int32(1)
)

// APIActivity is class 6003 (category 6 Application Activity), profiles cloud and datetime.
type APIActivity struct {
	ActivityID   int32   `parquet:"activity_id"`
	ActivityName string  `parquet:"activity_name,dict"`
	CategoryUID  int32   `parquet:"category_uid"`
	CategoryName string  `parquet:"category_name,dict"`
	ClassUID     int32   `parquet:"class_uid"`
	ClassName    string  `parquet:"class_name,dict"`
	TypeUID      int64   `parquet:"type_uid"`
	TypeName     string  `parquet:"type_name,dict"`
	SeverityID   int32   `parquet:"severity_id"`
	Severity     string  `parquet:"severity,dict"`
	StatusID     *int32  `parquet:"status_id,optional"`
	Status       *string `parquet:"status,optional,dict"`

	Time     int64      `parquet:"time"`
	TimeDT   *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	Metadata Metadata   `parquet:"metadata"`
	Cloud    Cloud      `parquet:"cloud"`

	Actor       Actor             `parquet:"actor"`
	API         API               `parquet:"api"`
	SrcEndpoint NetworkEndpoint   `parquet:"src_endpoint"`
	HTTPRequest *HTTPRequest      `parquet:"http_request,optional"`
	Resources   []ResourceDetails `parquet:"resources,optional,list"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

// Authentication is class 3002 (category 3 Identity & Access Management).
type Authentication struct {
	ActivityID   int32   `parquet:"activity_id"`
	ActivityName string  `parquet:"activity_name,dict"`
	CategoryUID  int32   `parquet:"category_uid"`
	CategoryName string  `parquet:"category_name,dict"`
	ClassUID     int32   `parquet:"class_uid"`
	ClassName    string  `parquet:"class_name,dict"`
	TypeUID      int64   `parquet:"type_uid"`
	TypeName     string  `parquet:"type_name,dict"`
	SeverityID   int32   `parquet:"severity_id"`
	Severity     string  `parquet:"severity,dict"`
	StatusID     *int32  `parquet:"status_id,optional"`
	Status       *string `parquet:"status,optional,dict"`

	Time     int64      `parquet:"time"`
	TimeDT   *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	Metadata Metadata   `parquet:"metadata"`
	Cloud    Cloud      `parquet:"cloud"`

	User        User             `parquet:"user"`
	Actor       *Actor           `parquet:"actor,optional"`
	API         *API             `parquet:"api,optional"`
	Service     *Service         `parquet:"service,optional"`
	SrcEndpoint *NetworkEndpoint `parquet:"src_endpoint,optional"`
	DstEndpoint *NetworkEndpoint `parquet:"dst_endpoint,optional"`
	HTTPRequest *HTTPRequest     `parquet:"http_request,optional"`
	Session     *Session         `parquet:"session,optional"`
	IsMFA       *bool            `parquet:"is_mfa,optional"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

// AccountChange is class 3001 (category 3 Identity & Access Management).
type AccountChange struct {
	ActivityID   int32   `parquet:"activity_id"`
	ActivityName string  `parquet:"activity_name,dict"`
	CategoryUID  int32   `parquet:"category_uid"`
	CategoryName string  `parquet:"category_name,dict"`
	ClassUID     int32   `parquet:"class_uid"`
	ClassName    string  `parquet:"class_name,dict"`
	TypeUID      int64   `parquet:"type_uid"`
	TypeName     string  `parquet:"type_name,dict"`
	SeverityID   int32   `parquet:"severity_id"`
	Severity     string  `parquet:"severity,dict"`
	StatusID     *int32  `parquet:"status_id,optional"`
	Status       *string `parquet:"status,optional,dict"`

	Time     int64      `parquet:"time"`
	TimeDT   *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	Metadata Metadata   `parquet:"metadata"`
	Cloud    Cloud      `parquet:"cloud"`

	User        User             `parquet:"user"`
	Actor       *Actor           `parquet:"actor,optional"`
	API         *API             `parquet:"api,optional"`
	SrcEndpoint *NetworkEndpoint `parquet:"src_endpoint,optional"`
	HTTPRequest *HTTPRequest     `parquet:"http_request,optional"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

// NetworkActivity is class 4001 (category 4 Network Activity), one VPC flow log record.
type NetworkActivity struct {
	ActivityID   int32   `parquet:"activity_id"`
	ActivityName string  `parquet:"activity_name,dict"`
	CategoryUID  int32   `parquet:"category_uid"`
	CategoryName string  `parquet:"category_name,dict"`
	ClassUID     int32   `parquet:"class_uid"`
	ClassName    string  `parquet:"class_name,dict"`
	TypeUID      int64   `parquet:"type_uid"`
	TypeName     string  `parquet:"type_name,dict"`
	SeverityID   int32   `parquet:"severity_id"`
	Severity     string  `parquet:"severity,dict"`
	StatusCode   *string `parquet:"status_code,optional,dict"`

	Time        int64      `parquet:"time"`
	TimeDT      *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	StartTime   *int64     `parquet:"start_time,optional"`
	StartTimeDT *time.Time `parquet:"start_time_dt,optional,timestamp(millisecond)"`
	EndTime     *int64     `parquet:"end_time,optional"`
	EndTimeDT   *time.Time `parquet:"end_time_dt,optional,timestamp(millisecond)"`
	Metadata    Metadata   `parquet:"metadata"`
	Cloud       Cloud      `parquet:"cloud"`

	SrcEndpoint    NetworkEndpoint `parquet:"src_endpoint"`
	DstEndpoint    NetworkEndpoint `parquet:"dst_endpoint"`
	ConnectionInfo *ConnectionInfo `parquet:"connection_info,optional"`
	Traffic        *Traffic        `parquet:"traffic,optional"`
	ActionID       int32           `parquet:"action_id"`
	Action         *string         `parquet:"action,optional,dict"`
	DispositionID  *int32          `parquet:"disposition_id,optional"`
	Disposition    *string         `parquet:"disposition,optional,dict"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

// DNSActivity is class 4003 (category 4 Network Activity), one Route 53 Resolver query.
type DNSActivity struct {
	ActivityID   int32  `parquet:"activity_id"`
	ActivityName string `parquet:"activity_name,dict"`
	CategoryUID  int32  `parquet:"category_uid"`
	CategoryName string `parquet:"category_name,dict"`
	ClassUID     int32  `parquet:"class_uid"`
	ClassName    string `parquet:"class_name,dict"`
	TypeUID      int64  `parquet:"type_uid"`
	TypeName     string `parquet:"type_name,dict"`
	SeverityID   int32  `parquet:"severity_id"`
	Severity     string `parquet:"severity,dict"`

	Time     int64      `parquet:"time"`
	TimeDT   *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	Metadata Metadata   `parquet:"metadata"`
	Cloud    Cloud      `parquet:"cloud"`

	SrcEndpoint    NetworkEndpoint  `parquet:"src_endpoint"`
	DstEndpoint    *NetworkEndpoint `parquet:"dst_endpoint,optional"`
	Query          *DNSQuery        `parquet:"query,optional"`
	Answers        []DNSAnswer      `parquet:"answers,optional,list"`
	RCodeID        *int32           `parquet:"rcode_id,optional"`
	RCode          *string          `parquet:"rcode,optional,dict"`
	ConnectionInfo *ConnectionInfo  `parquet:"connection_info,optional"`
	FirewallRule   *FirewallRule    `parquet:"firewall_rule,optional"`
	ActionID       int32            `parquet:"action_id"`
	Action         *string          `parquet:"action,optional,dict"`
	DispositionID  *int32           `parquet:"disposition_id,optional"`
	Disposition    *string          `parquet:"disposition,optional,dict"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

// DetectionFinding is class 2004 (category 2 Findings): one metric-filter match.
type DetectionFinding struct {
	ActivityID   int32   `parquet:"activity_id"`
	ActivityName string  `parquet:"activity_name,dict"`
	CategoryUID  int32   `parquet:"category_uid"`
	CategoryName string  `parquet:"category_name,dict"`
	ClassUID     int32   `parquet:"class_uid"`
	ClassName    string  `parquet:"class_name,dict"`
	TypeUID      int64   `parquet:"type_uid"`
	TypeName     string  `parquet:"type_name,dict"`
	SeverityID   int32   `parquet:"severity_id"`
	Severity     string  `parquet:"severity,dict"`
	StatusID     *int32  `parquet:"status_id,optional"`
	Status       *string `parquet:"status,optional,dict"`
	Message      *string `parquet:"message,optional"`

	Time     int64      `parquet:"time"`
	TimeDT   *time.Time `parquet:"time_dt,optional,timestamp(millisecond)"`
	Metadata Metadata   `parquet:"metadata"`
	Cloud    Cloud      `parquet:"cloud"`

	FindingInfo FindingInfo `parquet:"finding_info"`
	RawData     *string     `parquet:"raw_data,optional"`

	Observables []Observable      `parquet:"observables,optional,list"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
}

func (r *APIActivity) Class() Class      { return ClassAPIActivity }
func (r *Authentication) Class() Class   { return ClassAuthentication }
func (r *AccountChange) Class() Class    { return ClassAccountChange }
func (r *NetworkActivity) Class() Class  { return ClassNetworkActivity }
func (r *DNSActivity) Class() Class      { return ClassDNSActivity }
func (r *DetectionFinding) Class() Class { return ClassDetectionFinding }

func (r *APIActivity) EventTime() int64      { return r.Time }
func (r *Authentication) EventTime() int64   { return r.Time }
func (r *AccountChange) EventTime() int64    { return r.Time }
func (r *NetworkActivity) EventTime() int64  { return r.Time }
func (r *DNSActivity) EventTime() int64      { return r.Time }
func (r *DetectionFinding) EventTime() int64 { return r.Time }

func (r *APIActivity) Region() string      { return deref(r.Cloud.Region) }
func (r *Authentication) Region() string   { return deref(r.Cloud.Region) }
func (r *AccountChange) Region() string    { return deref(r.Cloud.Region) }
func (r *NetworkActivity) Region() string  { return deref(r.Cloud.Region) }
func (r *DNSActivity) Region() string      { return deref(r.Cloud.Region) }
func (r *DetectionFinding) Region() string { return deref(r.Cloud.Region) }

func (r *APIActivity) Account() string      { return r.Cloud.accountUID() }
func (r *Authentication) Account() string   { return r.Cloud.accountUID() }
func (r *AccountChange) Account() string    { return r.Cloud.accountUID() }
func (r *NetworkActivity) Account() string  { return r.Cloud.accountUID() }
func (r *DNSActivity) Account() string      { return r.Cloud.accountUID() }
func (r *DetectionFinding) Account() string { return r.Cloud.accountUID() }

func (c *Cloud) accountUID() string {
	if c.Account == nil {
		return ""
	}
	return deref(c.Account.UID)
}

// str returns nil for "": the parse model uses "" for absent, OCSF rows use NULL.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

// millis returns t's epoch milliseconds and its datetime twin; (nil, nil) for the zero time.
func millis(t time.Time) (*int64, *time.Time) {
	if t.IsZero() {
		return nil, nil
	}
	ms := t.UnixMilli()
	dt := time.UnixMilli(ms).UTC()
	return &ms, &dt
}

func dtOf(ms int64) *time.Time {
	t := time.UnixMilli(ms).UTC()
	return &t
}
