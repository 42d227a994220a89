package ocsf

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/logarchive/logarchive/pkg/parse"
)

// rcodes are OCSF 1.1.0 dns rcode_id values and captions by the Resolver's RCODE name.
var rcodes = map[string]struct {
	id   int32
	name string
}{
	"NOERROR": {0, "NoError"}, "FORMERR": {1, "FormError"}, "SERVFAIL": {2, "ServError"},
	"NXDOMAIN": {3, "NXDomain"}, "NOTIMP": {4, "NotImp"}, "REFUSED": {5, "Refused"},
	"YXDOMAIN": {6, "YXDomain"}, "YXRRSET": {7, "YXRRSet"}, "NXRRSET": {8, "NXRRSet"},
	"NOTAUTH": {9, "NotAuth"}, "NOTZONE": {10, "NotZone"},
}

// DNSActivityOf maps a Route 53 Resolver query log record to class 4003. AWS writes every query as
// activity 6 Traffic (the record is a query and its response at once).
func DNSActivityOf(q *parse.ResolverQuery) (*DNSActivity, error) {
	if q.QueryTimestamp.IsZero() {
		return nil, fmt.Errorf("ocsf: Resolver query %q: %w", q.QueryName, ErrNoTime)
	}
	h := headerOf(ClassDNSActivity, 6, "Traffic")
	r := &DNSActivity{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
	}
	ms, dt := millis(q.QueryTimestamp)
	r.Time, r.TimeDT = *ms, dt
	r.Metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: str("Route 53"), VendorName: "AWS", Version: str(q.Version),
			Feature: &Feature{Name: str("Resolver Query Logs")}},
		Profiles: []string{"cloud", "security_control", "datetime"},
	}
	r.Cloud = Cloud{Provider: "AWS", Region: str(q.Region)}
	if q.AccountID != "" {
		r.Cloud.Account = &Account{UID: str(q.AccountID)}
	}
	r.SrcEndpoint = NetworkEndpoint{IP: str(q.SrcAddr), Port: optI32(q.SrcPort), VPCUID: str(q.VPCID),
		InstanceUID: str(q.SrcIDs.Instance)}
	dst := NetworkEndpoint{InstanceUID: str(q.SrcIDs.ResolverEndpoint), InterfaceUID: str(q.SrcIDs.ResolverNetworkInterface)}
	if !dst.empty() {
		r.DstEndpoint = &dst
	}
	um := map[string]string{}
	// query.hostname is hostname_t, which has no root label: the Resolver's fully qualified
	// "example.com." is written "example.com" (AWS's own example keeps the dot and fails the type).
	// A name that is not a hostname even so (an SRV "_sip._tcp…" label, a raw label with other
	// bytes) cannot be query.hostname; it stays whole in unmapped, with its type and class.
	if name := strings.TrimSuffix(q.QueryName, "."); hostnameRE.MatchString(name) {
		r.Query = &DNSQuery{Hostname: name, Type: str(q.QueryType), Class: str(q.QueryClass)}
	} else if q.QueryName != "" {
		setUnmapped(um, "query_name", q.QueryName)
		setUnmapped(um, "query_type", q.QueryType)
		setUnmapped(um, "query_class", q.QueryClass)
	}
	for _, a := range q.Answers {
		r.Answers = append(r.Answers, DNSAnswer{Rdata: a.RData, Type: str(a.Type), Class: str(a.Class)})
	}
	if q.RCode != "" {
		rc, ok := rcodes[q.RCode]
		if !ok {
			rc.id, rc.name = 99, "Other"
		}
		r.RCodeID, r.RCode = &rc.id, &rc.name
	}
	r.ConnectionInfo = &ConnectionInfo{ProtocolName: str(q.Transport), Direction: str("Unknown"), DirectionID: 0}
	if q.FirewallRuleGroupID != "" {
		r.FirewallRule = &FirewallRule{UID: str(q.FirewallRuleGroupID)}
	}
	// A query no firewall rule matched was allowed: AWS leaves that case unspecified.
	actionID, action, dispositionID, disposition := int32(1), "Allowed", int32(1), "Allowed"
	switch q.FirewallRuleAction {
	case "BLOCK":
		actionID, action, dispositionID, disposition = 2, "Denied", 2, "Blocked"
	case "ALERT":
		dispositionID, disposition = 19, "Alert"
	}
	r.ActionID, r.Action, r.DispositionID, r.Disposition = actionID, &action, &dispositionID, &disposition

	setUnmapped(um, "firewall_domain_list_id", q.FirewallDomainListID)
	setUnmapped(um, "firewall_protection", q.FirewallProtection)
	if err := flattenJSON(um, "", q.Unmapped, nil); err != nil {
		return nil, err
	}
	r.Unmapped = nilIfEmpty(um)

	var obs []Observable
	if r.Query != nil {
		obs = appendObs(obs, "query.hostname", obsHostname, &r.Query.Hostname)
	}
	obs = appendObs(obs, "src_endpoint.ip", obsIPAddress, r.SrcEndpoint.IP)
	for i := range r.Answers {
		if _, err := netip.ParseAddr(r.Answers[i].Rdata); err == nil {
			obs = appendObs(obs, "answers.rdata", obsIPAddress, &r.Answers[i].Rdata)
		}
	}
	if r.DstEndpoint != nil {
		obs = appendObs(obs, "dst_endpoint.instance_uid", obsResourceUID, r.DstEndpoint.InstanceUID)
	}
	r.Observables = obs
	return r, nil
}
