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
	var start, end *int64
	if f.Start.Valid {
		start = i64(f.Start.V * 1000)
	}
	if f.End.Valid {
		end = i64(f.End.V * 1000)
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
		return nil, fmt.Errorf("ocsf: flow record of %s (%s): %w", f.InterfaceID, f.LogStatus, ErrNoTime)
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
	r := &NetworkActivity{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		StatusCode: str(f.LogStatus),
		Time:       *t, StartTime: start, EndTime: end,
		ActionID: actionID, Action: &action, DispositionID: &dispositionID, Disposition: &disposition,
	}
	r.TimeDT = dtOf(r.Time)
	if start != nil {
		r.StartTimeDT = dtOf(*start)
	}
	if end != nil {
		r.EndTimeDT = dtOf(*end)
	}
	var version *string
	if f.Version.Valid {
		version = str(strconv.Itoa(int(f.Version.V)))
	}
	r.Metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: str("Amazon VPC"), VendorName: "AWS", Version: version,
			Feature: &Feature{Name: str("Flowlogs")}},
		Profiles: []string{"cloud", "security_control", "datetime"},
	}
	r.Cloud = Cloud{Provider: "AWS", Region: str(f.Region), Zone: str(f.AZID)}
	if f.AccountID != "" {
		r.Cloud.Account = &Account{UID: str(f.AccountID)}
	}

	// The packet-level address is the endpoint; the ENI-level one, when it differs (NAT, transit
	// gateway), is the hop in between.
	r.SrcEndpoint.IP, r.SrcEndpoint.IntermediateIPs = endpointIP(f.SrcAddr, f.PktSrcAddr)
	r.DstEndpoint.IP, r.DstEndpoint.IntermediateIPs = endpointIP(f.DstAddr, f.PktDstAddr)
	r.SrcEndpoint.Port = optI32(f.SrcPort)
	r.DstEndpoint.Port = optI32(f.DstPort)
	r.SrcEndpoint.SvcName = str(f.PktSrcAWSService)
	r.DstEndpoint.SvcName = str(f.PktDstAWSService)
	// The flow log's own ENI is the destination of ingress traffic and the source otherwise.
	eni := &r.SrcEndpoint
	if f.FlowDirection == "ingress" {
		eni = &r.DstEndpoint
	}
	eni.InterfaceUID, eni.VPCUID = str(f.InterfaceID), str(f.VPCID)
	eni.InstanceUID, eni.SubnetUID = str(f.InstanceID), str(f.SubnetID)
	// Both endpoints are required. A NODATA/SKIPDATA record (or a custom format without addresses)
	// names no peer: the interface the window was recorded on is then the endpoint on both sides,
	// rather than an empty struct that says nothing.
	for _, e := range []*NetworkEndpoint{&r.SrcEndpoint, &r.DstEndpoint} {
		if e.empty() && e != eni {
			e.InterfaceUID, e.VPCUID, e.InstanceUID, e.SubnetUID = eni.InterfaceUID, eni.VPCUID, eni.InstanceUID, eni.SubnetUID
		}
	}

	ci := ConnectionInfo{ProtocolNum: optI32(f.Protocol), TCPFlags: optI32(f.TCPFlags), Direction: str("Unknown")}
	// protocol_ver is the caption of protocol_ver_id (OCSF 1.1.0 network_connection_info); a type
	// OCSF has no id for (EFA) is Other with the flow log's own word.
	switch f.Type {
	case "":
	case "IPv4":
		ci.ProtocolVerID, ci.ProtocolVer = i32(4), str("Internet Protocol version 4 (IPv4)")
	case "IPv6":
		ci.ProtocolVerID, ci.ProtocolVer = i32(6), str("Internet Protocol version 6 (IPv6)")
	default:
		ci.ProtocolVerID, ci.ProtocolVer = i32(99), str(f.Type)
	}
	switch f.FlowDirection {
	case "ingress":
		ci.DirectionID, ci.Direction = 1, str("Inbound")
	case "egress":
		ci.DirectionID, ci.Direction = 2, str("Outbound")
	}
	if f.TrafficPath.Valid {
		id := f.TrafficPath.V + 3
		ci.BoundaryID = &id
		if n, ok := boundaryNames[id]; ok {
			ci.Boundary = &n
		} else {
			ci.BoundaryID, ci.Boundary = i32(99), str("Other")
		}
	}
	r.ConnectionInfo = &ci
	if f.Bytes.Valid || f.Packets.Valid {
		r.Traffic = &Traffic{Bytes: optI64(f.Bytes), Packets: optI64(f.Packets)}
	}

	um := map[string]string{}
	if fromObject {
		um["time_source"] = "object" // no start or end: time is the object's delivery time
	}
	setUnmapped(um, "sublocation_type", f.SublocationType)
	setUnmapped(um, "sublocation_id", f.SublocationID)
	setUnmapped(um, "ecs_cluster_arn", f.ECSClusterARN)
	setUnmapped(um, "ecs_cluster_name", f.ECSClusterName)
	setUnmapped(um, "ecs_container_instance_arn", f.ECSContainerInstanceARN)
	setUnmapped(um, "ecs_container_instance_id", f.ECSContainerInstanceID)
	setUnmapped(um, "ecs_container_id", f.ECSContainerID)
	setUnmapped(um, "ecs_second_container_id", f.ECSSecondContainerID)
	setUnmapped(um, "ecs_service_name", f.ECSServiceName)
	setUnmapped(um, "ecs_task_definition_arn", f.ECSTaskDefinitionARN)
	setUnmapped(um, "ecs_task_arn", f.ECSTaskARN)
	setUnmapped(um, "ecs_task_id", f.ECSTaskID)
	setUnmapped(um, "reject_reason", f.RejectReason)
	setUnmapped(um, "resource_id", f.ResourceID)
	if f.EncryptionStatus.Valid {
		um["encryption_status"] = strconv.Itoa(int(f.EncryptionStatus.V))
	}
	for k, v := range f.Unmapped {
		if v != "" && v != "-" {
			um[k] = v
		}
	}
	r.Unmapped = nilIfEmpty(um)

	var obs []Observable
	obs = appendObs(obs, "src_endpoint.ip", obsIPAddress, r.SrcEndpoint.IP)
	obs = appendObs(obs, "dst_endpoint.ip", obsIPAddress, r.DstEndpoint.IP)
	obs = appendObs(obs, "src_endpoint.instance_uid", obsResourceUID, r.SrcEndpoint.InstanceUID)
	obs = appendObs(obs, "dst_endpoint.instance_uid", obsResourceUID, r.DstEndpoint.InstanceUID)
	r.Observables = obs
	return r, nil
}

func endpointIP(eniAddr, pktAddr string) (*string, []string) {
	if pktAddr != "" && pktAddr != eniAddr {
		if eniAddr == "" {
			return &pktAddr, nil
		}
		return &pktAddr, []string{eniAddr}
	}
	return str(eniAddr), nil
}

func optI32(v parse.OptInt32) *int32 {
	if !v.Valid {
		return nil
	}
	return &v.V
}

func optI64(v parse.OptInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.V
}
