package ocsf

import (
	"fmt"
	"strconv"

	"github.com/logarchive/logarchive/pkg/parse"
)

// boundaryNames are network_connection_info.boundary captions by boundary_id; a flow log's
// traffic-path n is boundary_id n+3.
var boundaryNames = map[int32]string{4: "Same VPC", 5: "Internet/VPC Gateway", 6: "Virtual Private Gateway",
	7: "Intra-region VPC", 8: "Inter-region VPC", 9: "Local Gateway", 10: "Gateway VPC", 11: "Internet Gateway"}

// NetworkActivityOf maps a VPC flow log record to class 4001. `time` is the window start (the end
// when a NODATA/SKIPDATA record has no start); a record with neither is an error wrapping ErrNoTime
// (FromRecordIn gives it its object's time instead).
func NetworkActivityOf(f *parse.FlowRecord) (*NetworkActivity, error) {
	return networkActivityAt(f, 0)
}

// networkActivityAt maps f; objectMs, when not 0, is the `time` of a record without start and end.
func networkActivityAt(f *parse.FlowRecord, objectMs int64) (*NetworkActivity, error) {
	r := new(NetworkActivity)
	if err := fillNetworkActivity(r, f, objectMs); err != nil {
		return nil, err
	}
	return r, nil
}

// flowBlock is a flow row's one allocation for its small parts (see block).
type flowBlock struct {
	block
	slots   [16]string
	feature Feature
	account Account
	ci      ConnectionInfo
	traffic Traffic
	obs     [4]Observable
}

// fillNetworkActivity maps f into r, which must be zero.
func fillNetworkActivity(r *NetworkActivity, f *parse.FlowRecord, objectMs int64) error {
	b := new(flowBlock)
	b.s = b.slots[:0]
	var start, end *int64
	if f.Start.Valid {
		start = b.i64(f.Start.V * 1000)
	}
	if f.End.Valid {
		end = b.i64(f.End.V * 1000)
	}
	t := start
	if t == nil {
		t = end
	}
	fromObject := false
	if t == nil && objectMs != 0 {
		t, fromObject = &objectMs, true
	}
	if t == nil {
		return fmt.Errorf("ocsf: flow record of %s (%s): %w", f.InterfaceID, f.LogStatus, ErrNoTime)
	}

	// ACCEPT/REJECT decide activity, action and disposition; NODATA and SKIPDATA records have no
	// action and are kept as Unknown so their status_code and window stay queryable.
	var activityID, actionID, dispositionID int32
	activityName, action, disposition := "Unknown", "Unknown", "Unknown"
	switch f.Action {
	case "ACCEPT":
		activityID, activityName, actionID, action, dispositionID, disposition = 6, "Traffic", 1, "Allowed", 1, "Allowed"
	case "REJECT":
		activityID, activityName, actionID, action, dispositionID, disposition = 5, "Refuse", 2, "Denied", 2, "Blocked"
	}
	h := headerOf(ClassNetworkActivity, activityID, activityName)
	*r = NetworkActivity{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		StatusCode: b.str(f.LogStatus),
		Time:       *t, StartTime: start, EndTime: end,
		ActionID: actionID, Action: b.str(action), DispositionID: b.i32(dispositionID), Disposition: b.str(disposition),
	}
	r.TimeDT = b.dt(r.Time)
	if start != nil {
		r.StartTimeDT = b.dt(*start)
	}
	if end != nil {
		r.EndTimeDT = b.dt(*end)
	}
	var version *string
	if f.Version.Valid {
		version = b.str(strconv.Itoa(int(f.Version.V)))
	}
	b.feature.Name = b.str("Flowlogs")
	r.Metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: b.str("Amazon VPC"), VendorName: "AWS", Version: version,
			Feature: &b.feature},
		Profiles: b.strs("cloud", "security_control", "datetime"),
	}
	r.Cloud = Cloud{Provider: "AWS", Region: b.str(f.Region), Zone: b.str(f.AZID)}
	if f.AccountID != "" {
		b.account.UID = b.str(f.AccountID)
		r.Cloud.Account = &b.account
	}

	// The packet-level address is the endpoint; the ENI-level one, when it differs (NAT, transit
	// gateway), is the hop in between.
	r.SrcEndpoint.IP, r.SrcEndpoint.IntermediateIPs = endpointIP(&b.block, f.SrcAddr, f.PktSrcAddr)
	r.DstEndpoint.IP, r.DstEndpoint.IntermediateIPs = endpointIP(&b.block, f.DstAddr, f.PktDstAddr)
	r.SrcEndpoint.Port = b.optI32(f.SrcPort)
	r.DstEndpoint.Port = b.optI32(f.DstPort)
	r.SrcEndpoint.SvcName = b.str(f.PktSrcAWSService)
	r.DstEndpoint.SvcName = b.str(f.PktDstAWSService)
	// The flow log's own ENI is the destination of ingress traffic and the source otherwise.
	eni := &r.SrcEndpoint
	if f.FlowDirection == "ingress" {
		eni = &r.DstEndpoint
	}
	eni.InterfaceUID, eni.VPCUID = b.str(f.InterfaceID), b.str(f.VPCID)
	eni.InstanceUID, eni.SubnetUID = b.str(f.InstanceID), b.str(f.SubnetID)
	// Both endpoints are required. A NODATA/SKIPDATA record (or a custom format without addresses)
	// names no peer: the interface the window was recorded on is then the endpoint on both sides,
	// rather than an empty struct that says nothing.
	for _, e := range [2]*NetworkEndpoint{&r.SrcEndpoint, &r.DstEndpoint} {
		if e.empty() && e != eni {
			e.InterfaceUID, e.VPCUID, e.InstanceUID, e.SubnetUID = eni.InterfaceUID, eni.VPCUID, eni.InstanceUID, eni.SubnetUID
		}
	}

	ci := &b.ci
	*ci = ConnectionInfo{ProtocolNum: b.optI32(f.Protocol), TCPFlags: b.optI32(f.TCPFlags), Direction: b.str("Unknown")}
	// protocol_ver is the caption of protocol_ver_id (OCSF 1.1.0 network_connection_info); a type
	// OCSF has no id for (EFA) is Other with the flow log's own word.
	switch f.Type {
	case "":
	case "IPv4":
		ci.ProtocolVerID, ci.ProtocolVer = b.i32(4), b.str("Internet Protocol version 4 (IPv4)")
	case "IPv6":
		ci.ProtocolVerID, ci.ProtocolVer = b.i32(6), b.str("Internet Protocol version 6 (IPv6)")
	default:
		ci.ProtocolVerID, ci.ProtocolVer = b.i32(99), b.str(f.Type)
	}
	switch f.FlowDirection {
	case "ingress":
		ci.DirectionID, ci.Direction = 1, b.str("Inbound")
	case "egress":
		ci.DirectionID, ci.Direction = 2, b.str("Outbound")
	}
	if f.TrafficPath.Valid {
		id := f.TrafficPath.V + 3
		if n, ok := boundaryNames[id]; ok {
			ci.BoundaryID, ci.Boundary = b.i32(id), b.str(n)
		} else {
			ci.BoundaryID, ci.Boundary = b.i32(99), b.str("Other")
		}
	}
	r.ConnectionInfo = ci
	if f.Bytes.Valid || f.Packets.Valid {
		b.traffic = Traffic{Bytes: b.optI64(f.Bytes), Packets: b.optI64(f.Packets)}
		r.Traffic = &b.traffic
	}

	// Most flow records have nothing unmapped: the map is made for the first entry.
	var um map[string]string
	if fromObject {
		um = addUnmapped(um, "time_source", "object") // no start or end: time is the object's delivery time
	}
	um = addUnmapped(um, "sublocation_type", f.SublocationType)
	um = addUnmapped(um, "sublocation_id", f.SublocationID)
	um = addUnmapped(um, "ecs_cluster_arn", f.ECSClusterARN)
	um = addUnmapped(um, "ecs_cluster_name", f.ECSClusterName)
	um = addUnmapped(um, "ecs_container_instance_arn", f.ECSContainerInstanceARN)
	um = addUnmapped(um, "ecs_container_instance_id", f.ECSContainerInstanceID)
	um = addUnmapped(um, "ecs_container_id", f.ECSContainerID)
	um = addUnmapped(um, "ecs_second_container_id", f.ECSSecondContainerID)
	um = addUnmapped(um, "ecs_service_name", f.ECSServiceName)
	um = addUnmapped(um, "ecs_task_definition_arn", f.ECSTaskDefinitionARN)
	um = addUnmapped(um, "ecs_task_arn", f.ECSTaskARN)
	um = addUnmapped(um, "ecs_task_id", f.ECSTaskID)
	um = addUnmapped(um, "reject_reason", f.RejectReason)
	um = addUnmapped(um, "resource_id", f.ResourceID)
	if f.EncryptionStatus.Valid {
		um = addUnmapped(um, "encryption_status", strconv.Itoa(int(f.EncryptionStatus.V)))
	}
	for k, v := range f.Unmapped {
		if v != "-" {
			um = addUnmapped(um, k, v)
		}
	}
	r.Unmapped = um

	obs := b.obs[:0:len(b.obs)]
	obs = appendObs(&b.block, obs, "src_endpoint.ip", obsIPAddress, r.SrcEndpoint.IP)
	obs = appendObs(&b.block, obs, "dst_endpoint.ip", obsIPAddress, r.DstEndpoint.IP)
	obs = appendObs(&b.block, obs, "src_endpoint.instance_uid", obsResourceUID, r.SrcEndpoint.InstanceUID)
	obs = appendObs(&b.block, obs, "dst_endpoint.instance_uid", obsResourceUID, r.DstEndpoint.InstanceUID)
	if len(obs) > 0 {
		r.Observables = obs
	}
	return nil
}

func endpointIP(b *block, eniAddr, pktAddr string) (*string, []string) {
	if pktAddr != "" && pktAddr != eniAddr {
		if eniAddr == "" {
			return b.str(pktAddr), nil
		}
		return b.str(pktAddr), b.strs(eniAddr)
	}
	return b.str(eniAddr), nil
}

func (b *block) optI32(v parse.OptInt32) *int32 {
	if !v.Valid {
		return nil
	}
	return b.i32(v.V)
}

func (b *block) optI64(v parse.OptInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return b.i64(v.V)
}
