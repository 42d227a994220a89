package ocsf

import "time"

// Objects shared by the classes (OCSF 1.1.0 objects/*.json), limited to the attributes the AWS
// mappings fill. Conventions, from the Parquet files Security Lake writes itself:
//   - an attribute OCSF marks required is a required column (non-pointer); every other one is
//     optional (pointer, nil when the source has no value: "" in the parse model becomes NULL);
//   - an optional object is a pointer and is nil when it would hold nothing, so no row carries an
//     all-NULL struct and no schema has an empty struct (Glue cannot declare struct<>);
//   - timestamp_t is INT64 epoch milliseconds without a logical type; its datetime-profile twin
//     (<name>_dt) is TIMESTAMP(MILLIS, UTC);
//   - json_t members (request/response data) hold the source's JSON text.

// Metadata is the metadata object (required in every class).
type Metadata struct {
	Version   string   `parquet:"version,dict"`
	Product   Product  `parquet:"product"`
	Profiles  []string `parquet:"profiles,list"`
	UID       *string  `parquet:"uid,optional"`
	EventCode *string  `parquet:"event_code,optional,dict"`
}

// Product is the product object; vendor_name is its one required attribute.
type Product struct {
	Name       *string  `parquet:"name,optional,dict"`
	VendorName string   `parquet:"vendor_name,dict"`
	Version    *string  `parquet:"version,optional,dict"`
	Feature    *Feature `parquet:"feature,optional"`
}

type Feature struct {
	Name *string `parquet:"name,optional,dict"`
}

// Cloud is the cloud object (cloud profile); provider is required.
type Cloud struct {
	Provider string   `parquet:"provider,dict"`
	Region   *string  `parquet:"region,optional,dict"`
	Zone     *string  `parquet:"zone,optional,dict"`
	Account  *Account `parquet:"account,optional"`
}

type Account struct {
	UID *string `parquet:"uid,optional,dict"`
}

type Actor struct {
	User      *User    `parquet:"user,optional"`
	Session   *Session `parquet:"session,optional"`
	InvokedBy *string  `parquet:"invoked_by,optional,dict"`
	IDP       *IDP     `parquet:"idp,optional"`
}

type User struct {
	UID           *string  `parquet:"uid,optional,dict"`
	UIDAlt        *string  `parquet:"uid_alt,optional,dict"`
	Name          *string  `parquet:"name,optional,dict"`
	Type          *string  `parquet:"type,optional,dict"`
	CredentialUID *string  `parquet:"credential_uid,optional,dict"`
	Account       *Account `parquet:"account,optional"`
}

// Session carries timestamps both ways, as the datetime profile does: INT64 milliseconds and
// TIMESTAMP(MILLIS). Nullable timestamps are *time.Time: parquet-go loses a non-pointer optional
// time.Time inside a nested group.
type Session struct {
	CreatedTime      *int64     `parquet:"created_time,optional"`
	CreatedTimeDT    *time.Time `parquet:"created_time_dt,optional,timestamp(millisecond)"`
	ExpirationTime   *int64     `parquet:"expiration_time,optional"`
	ExpirationTimeDT *time.Time `parquet:"expiration_time_dt,optional,timestamp(millisecond)"`
	IsMFA            *bool      `parquet:"is_mfa,optional"`
	Issuer           *string    `parquet:"issuer,optional,dict"`
}

type IDP struct {
	Name *string `parquet:"name,optional,dict"`
	UID  *string `parquet:"uid,optional,dict"`
}

// API is the api object; operation is required.
type API struct {
	Operation string    `parquet:"operation,dict"`
	Service   *Service  `parquet:"service,optional"`
	Version   *string   `parquet:"version,optional,dict"`
	Request   *Request  `parquet:"request,optional"`
	Response  *Response `parquet:"response,optional"`
}

type Service struct {
	Name *string `parquet:"name,optional,dict"`
}

// Request is the request object; uid is required (AWS writes "" when CloudTrail has no requestID).
type Request struct {
	UID  string  `parquet:"uid"`
	Data *string `parquet:"data,optional"`
}

type Response struct {
	Error   *string `parquet:"error,optional,dict"`
	Message *string `parquet:"message,optional"`
	Data    *string `parquet:"data,optional"`
}

// NetworkEndpoint is the network_endpoint object.
type NetworkEndpoint struct {
	IP              *string  `parquet:"ip,optional,dict"`
	Port            *int32   `parquet:"port,optional"`
	Domain          *string  `parquet:"domain,optional,dict"`
	Name            *string  `parquet:"name,optional,dict"`
	UID             *string  `parquet:"uid,optional,dict"`
	SvcName         *string  `parquet:"svc_name,optional,dict"`
	InstanceUID     *string  `parquet:"instance_uid,optional,dict"`
	InterfaceUID    *string  `parquet:"interface_uid,optional,dict"`
	SubnetUID       *string  `parquet:"subnet_uid,optional,dict"`
	VPCUID          *string  `parquet:"vpc_uid,optional,dict"`
	IntermediateIPs []string `parquet:"intermediate_ips,optional,list"`
}

func (e *NetworkEndpoint) empty() bool {
	return e.IP == nil && e.Port == nil && e.Domain == nil && e.Name == nil && e.UID == nil && e.SvcName == nil &&
		e.InstanceUID == nil && e.InterfaceUID == nil && e.SubnetUID == nil && e.VPCUID == nil &&
		len(e.IntermediateIPs) == 0
}

type HTTPRequest struct {
	UserAgent *string `parquet:"user_agent,optional,dict"`
}

// ResourceDetails is the resource_details object (CloudTrail resources[]).
type ResourceDetails struct {
	UID   *string `parquet:"uid,optional"`
	Type  *string `parquet:"type,optional,dict"`
	Owner *User   `parquet:"owner,optional"`
}

// Observable is the observable object; name and type_id are required.
type Observable struct {
	Name   string  `parquet:"name,dict"`
	Type   *string `parquet:"type,optional,dict"`
	TypeID int32   `parquet:"type_id"`
	Value  *string `parquet:"value,optional"`
}

// ConnectionInfo is the network_connection_info object; direction_id is required.
type ConnectionInfo struct {
	ProtocolNum   *int32  `parquet:"protocol_num,optional"`
	ProtocolName  *string `parquet:"protocol_name,optional,dict"`
	ProtocolVer   *string `parquet:"protocol_ver,optional,dict"`
	ProtocolVerID *int32  `parquet:"protocol_ver_id,optional"`
	TCPFlags      *int32  `parquet:"tcp_flags,optional"`
	Direction     *string `parquet:"direction,optional,dict"`
	DirectionID   int32   `parquet:"direction_id"`
	Boundary      *string `parquet:"boundary,optional,dict"`
	BoundaryID    *int32  `parquet:"boundary_id,optional"`
}

// Traffic is the network_traffic object (long_t counters: INT64).
type Traffic struct {
	Bytes   *int64 `parquet:"bytes,optional"`
	Packets *int64 `parquet:"packets,optional"`
}

// DNSQuery is the dns_query object; hostname is required.
type DNSQuery struct {
	Hostname string  `parquet:"hostname,dict"`
	Type     *string `parquet:"type,optional,dict"`
	Class    *string `parquet:"class,optional,dict"`
}

// DNSAnswer is the dns_answer object; rdata is required.
type DNSAnswer struct {
	Rdata string  `parquet:"rdata,dict"`
	Type  *string `parquet:"type,optional,dict"`
	Class *string `parquet:"class,optional,dict"`
}

type FirewallRule struct {
	UID *string `parquet:"uid,optional,dict"`
}

// FindingInfo is the finding_info object of a finding; uid and title are required in 1.1.0.
type FindingInfo struct {
	UID           string         `parquet:"uid"`
	Title         string         `parquet:"title,dict"`
	Desc          *string        `parquet:"desc,optional,dict"`
	Types         []string       `parquet:"types,optional,list"`
	DataSources   []string       `parquet:"data_sources,optional,list"`
	CreatedTime   *int64         `parquet:"created_time,optional"`
	CreatedTimeDT *time.Time     `parquet:"created_time_dt,optional,timestamp(millisecond)"`
	Analytic      *Analytic      `parquet:"analytic,optional"`
	RelatedEvents []RelatedEvent `parquet:"related_events,optional,list"`
}

// Analytic is the analytic object; type_id is required (1 Rule).
type Analytic struct {
	UID    *string `parquet:"uid,optional,dict"`
	Name   *string `parquet:"name,optional,dict"`
	Type   *string `parquet:"type,optional,dict"`
	TypeID int32   `parquet:"type_id"`
}

// RelatedEvent is the related_event object; uid is required.
type RelatedEvent struct {
	UID string `parquet:"uid"`
}
