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
	r := new(DNSActivity)
	if err := fillDNSActivity(r, q); err != nil {
		return nil, err
	}
	return r, nil
}

// dnsBlock is a Resolver row's one allocation for its small parts (see block).
type dnsBlock struct {
	block
	slots   [20]string
	feature Feature
	account Account
	query   DNSQuery
	conn    ConnectionInfo
	fw      FirewallRule
	answers [2]DNSAnswer
	obs     [4]Observable
}

// fillDNSActivity maps q into r, which must be zero.
func fillDNSActivity(r *DNSActivity, q *parse.ResolverQuery) error {
	if q.QueryTimestamp.IsZero() {
		return fmt.Errorf("ocsf: Resolver query %q: %w", q.QueryName, ErrNoTime)
	}
	b := new(dnsBlock)
	b.s = b.slots[:0]
	h := headerOf(ClassDNSActivity, 6, "Traffic")
	*r = DNSActivity{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
	}
	r.Time = q.QueryTimestamp.UnixMilli()
	r.TimeDT = b.dt(r.Time)
	b.feature.Name = b.str("Resolver Query Logs")
	r.Metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: b.str("Route 53"), VendorName: "AWS", Version: b.str(q.Version),
			Feature: &b.feature},
		Profiles: b.strs("cloud", "security_control", "datetime"),
	}
	r.Cloud = Cloud{Provider: "AWS", Region: b.str(q.Region)}
	if q.AccountID != "" {
		b.account.UID = b.str(q.AccountID)
		r.Cloud.Account = &b.account
	}
	r.SrcEndpoint = NetworkEndpoint{IP: b.str(q.SrcAddr), Port: b.optI32(q.SrcPort), VPCUID: b.str(q.VPCID),
		InstanceUID: b.str(q.SrcIDs.Instance)}
	if q.SrcIDs.ResolverEndpoint != "" || q.SrcIDs.ResolverNetworkInterface != "" {
		r.DstEndpoint = &NetworkEndpoint{InstanceUID: b.str(q.SrcIDs.ResolverEndpoint), InterfaceUID: b.str(q.SrcIDs.ResolverNetworkInterface)}
	}
	var um map[string]string
	// query.hostname is hostname_t, which has no root label: the Resolver's fully qualified
	// "example.com." is written "example.com" (AWS's own example keeps the dot and fails the type).
	// A name that is not a hostname even so (an SRV "_sip._tcp…" label, a raw label with other
	// bytes) cannot be query.hostname; it stays whole in unmapped, with its type and class.
	if name := strings.TrimSuffix(q.QueryName, "."); isHostname(name) {
		b.query = DNSQuery{Hostname: name, Type: b.str(q.QueryType), Class: b.str(q.QueryClass)}
		r.Query = &b.query
	} else if q.QueryName != "" {
		um = addUnmapped(um, "query_name", q.QueryName)
		um = addUnmapped(um, "query_type", q.QueryType)
		um = addUnmapped(um, "query_class", q.QueryClass)
	}
	if len(q.Answers) > 0 {
		r.Answers = b.answers[:0:len(b.answers)]
		for _, a := range q.Answers {
			r.Answers = append(r.Answers, DNSAnswer{Rdata: a.RData, Type: b.str(a.Type), Class: b.str(a.Class)})
		}
	}
	if q.RCode != "" {
		rc, ok := rcodes[q.RCode]
		if !ok {
			rc.id, rc.name = 99, "Other"
		}
		r.RCodeID, r.RCode = b.i32(rc.id), b.str(rc.name)
	}
	b.conn = ConnectionInfo{ProtocolName: b.str(q.Transport), Direction: b.str("Unknown"), DirectionID: 0}
	r.ConnectionInfo = &b.conn
	if q.FirewallRuleGroupID != "" {
		b.fw.UID = b.str(q.FirewallRuleGroupID)
		r.FirewallRule = &b.fw
	}
	// A query no firewall rule matched was allowed: AWS leaves that case unspecified.
	actionID, action, dispositionID, disposition := int32(1), "Allowed", int32(1), "Allowed"
	switch q.FirewallRuleAction {
	case "BLOCK":
		actionID, action, dispositionID, disposition = 2, "Denied", 2, "Blocked"
	case "ALERT":
		dispositionID, disposition = 19, "Alert"
	}
	r.ActionID, r.Action, r.DispositionID, r.Disposition = actionID, b.str(action), b.i32(dispositionID), b.str(disposition)

	um = addUnmapped(um, "firewall_domain_list_id", q.FirewallDomainListID)
	um = addUnmapped(um, "firewall_protection", q.FirewallProtection)
	if len(q.Unmapped) > 0 {
		if um == nil {
			um = map[string]string{}
		}
		if err := flattenJSON(um, "", q.Unmapped, nil); err != nil {
			return err
		}
	}
	r.Unmapped = nilIfEmpty(um)

	obs := b.obs[:0:len(b.obs)]
	if r.Query != nil {
		obs = appendObs(&b.block, obs, "query.hostname", obsHostname, &r.Query.Hostname)
	}
	obs = appendObs(&b.block, obs, "src_endpoint.ip", obsIPAddress, r.SrcEndpoint.IP)
	for i := range r.Answers {
		if _, err := netip.ParseAddr(r.Answers[i].Rdata); err == nil {
			obs = appendObs(&b.block, obs, "answers.rdata", obsIPAddress, &r.Answers[i].Rdata)
		}
	}
	if r.DstEndpoint != nil {
		obs = appendObs(&b.block, obs, "dst_endpoint.instance_uid", obsResourceUID, r.DstEndpoint.InstanceUID)
	}
	if len(obs) > 0 {
		r.Observables = obs
	}
	return nil
}
