package ocsf

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
)

// These pin the mapping choices docs/security-lake.md §5 makes for OCSF's at-least-one and
// required rules; TestOCSFSchema* prove the rows valid, these say which value goes where.

func ctEvent(name, source, ip string, ui *parse.UserIdentity) *parse.CloudTrailEvent {
	return &parse.CloudTrailEvent{EventTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), EventName: name,
		EventSource: source, SourceIPAddress: ip, UserIdentity: ui, RecipientAccountID: "111122223333", AWSRegion: "us-east-1"}
}

func TestSourceEndpointAndServiceCallers(t *testing.T) {
	for _, c := range []struct {
		ip, invokedBy            string
		wantIP, wantName, wantSv string
	}{
		{"192.0.2.10", "", "192.0.2.10", "", ""},
		{"AWS Internal", "", "", "AWS Internal", ""},
		{"ec2.amazonaws.com", "", "", "", "ec2.amazonaws.com"},
		{"", "lambda.amazonaws.com", "", "", "lambda.amazonaws.com"},
	} {
		ev := ctEvent("DescribeInstances", "ec2.amazonaws.com", c.ip, &parse.UserIdentity{Type: "AWSService", InvokedBy: c.invokedBy})
		r, err := APIActivityOfEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if c.invokedBy != "" {
			// Without invokedBy this identity names no actor at all (CloudTrail writes none such;
			// docs/security-lake.md §8): only the mapping is checked.
			encodeValidRow(t, r) // valid OCSF 1.1.0
		}
		e := r.SrcEndpoint
		if deref(e.IP) != c.wantIP || deref(e.Name) != c.wantName || deref(e.SvcName) != c.wantSv {
			t.Errorf("%q: ip %q name %q svc_name %q", c.ip, deref(e.IP), deref(e.Name), deref(e.SvcName))
		}
		if c.ip != "" && c.wantIP == "" && deref(e.Domain) != c.ip {
			t.Errorf("%q: domain %q, AWS's mapping keeps it there", c.ip, deref(e.Domain))
		}
		// An AWSService identity is named by the service that acts.
		if c.invokedBy != "" && (r.Actor.User == nil || deref(r.Actor.User.Name) != c.invokedBy || deref(r.Actor.User.Type) != "AWSService") {
			t.Errorf("actor.user %+v, want name %s", r.Actor.User, c.invokedBy)
		}
		if c.invokedBy == "" && (r.Actor.User != nil || r.Unmapped["userIdentity.type"] != "AWSService") {
			t.Errorf("unidentified actor.user %+v kept; unmapped %v", r.Actor.User, r.Unmapped)
		}
	}
}

func TestAuthenticationUserAndService(t *testing.T) {
	// A failed console sign-in: CloudTrail hides the name; the account identifies the user.
	ev := ctEvent("ConsoleLogin", "signin.amazonaws.com", "198.51.100.7", &parse.UserIdentity{Type: "IAMUser",
		PrincipalID: "AIDAEXAMPLE", AccountID: "111122223333", UserName: "HIDDEN_DUE_TO_SECURITY_REASONS"})
	ev.ResponseElements = json.RawMessage(`{"ConsoleLogin":"Failure"}`)
	r, err := AuthenticationOf(ev)
	if err != nil {
		t.Fatal(err)
	}
	encodeValidRow(t, r) // valid OCSF 1.1.0
	if deref(r.User.UID) != "AIDAEXAMPLE" || r.User.UIDAlt != nil || deref(r.User.Name) != "HIDDEN_DUE_TO_SECURITY_REASONS" ||
		r.User.Account == nil || deref(r.User.Account.UID) != "111122223333" || deref(r.User.Type) != "IAMUser" {
		t.Errorf("user %+v", r.User)
	}
	if r.Service == nil || deref(r.Service.Name) != "signin.amazonaws.com" || deref(r.Status) != "Failure" {
		t.Errorf("service %+v status %v", r.Service, deref(r.Status))
	}
	// A role assumption: the role is the user, sts the service.
	ev = ctEvent("AssumeRole", "sts.amazonaws.com", "ec2.amazonaws.com", &parse.UserIdentity{Type: "AWSService", InvokedBy: "ec2.amazonaws.com"})
	ev.RequestParameters = json.RawMessage(`{"roleArn":"arn:aws:iam::111122223333:role/r","roleSessionName":"i-0abc"}`)
	r, err = AuthenticationOf(ev)
	if err != nil {
		t.Fatal(err)
	}
	encodeValidRow(t, r) // valid OCSF 1.1.0
	if deref(r.User.UID) != "arn:aws:iam::111122223333:role/r" || deref(r.User.Name) != "i-0abc" || deref(r.Service.Name) != "sts.amazonaws.com" {
		t.Errorf("user %+v service %+v", r.User, r.Service)
	}
	// Nothing identifies the caller: the account signed in to does.
	r, err = AuthenticationOf(ctEvent("CheckMfa", "signin.amazonaws.com", "198.51.100.7", nil))
	if err != nil {
		t.Fatal(err)
	}
	encodeValidRow(t, r) // valid OCSF 1.1.0
	if r.User.Account == nil || deref(r.User.Account.UID) != "111122223333" {
		t.Errorf("user %+v, want the recipient account", r.User)
	}
}

func TestDNSQueryHostname(t *testing.T) {
	for name, want := range map[string]string{
		"example.com.":              "example.com",
		"15.3.4.32.in-addr.arpa.":   "15.3.4.32.in-addr.arpa",
		"_sip._tcp.example.com.":    "",
		"www.example.com":           "www.example.com",
		"bad name with spaces.com.": "",
	} {
		q := &parse.ResolverQuery{QueryTimestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), QueryName: name,
			QueryType: "A", QueryClass: "IN", SrcAddr: "10.0.0.1", Region: "us-east-1"}
		r, err := DNSActivityOf(q)
		if err != nil {
			t.Fatal(err)
		}
		encodeValidRow(t, r) // valid OCSF 1.1.0
		switch {
		case want != "" && (r.Query == nil || r.Query.Hostname != want):
			t.Errorf("%q: query %+v, want hostname %q", name, r.Query, want)
		case want == "" && (r.Query != nil || r.Unmapped["query_name"] != name || r.Unmapped["query_type"] != "A"):
			t.Errorf("%q: query %+v unmapped %v, want the name kept in unmapped", name, r.Query, r.Unmapped)
		}
	}
}

func TestFlowNoDataEndpointsAndProtocolVer(t *testing.T) {
	r, err := NetworkActivityOf(&parse.FlowRecord{InterfaceID: "eni-1", AccountID: "111122223333",
		Start: parse.OptInt64{V: 1700000000, Valid: true}, End: parse.OptInt64{V: 1700000060, Valid: true}, LogStatus: "NODATA"})
	if err != nil {
		t.Fatal(err)
	}
	if deref(r.SrcEndpoint.InterfaceUID) != "eni-1" || deref(r.DstEndpoint.InterfaceUID) != "eni-1" {
		t.Errorf("NODATA endpoints %+v / %+v, want the interface on both", r.SrcEndpoint, r.DstEndpoint)
	}
	for typ, want := range map[string][2]any{"IPv4": {int32(4), "Internet Protocol version 4 (IPv4)"},
		"IPv6": {int32(6), "Internet Protocol version 6 (IPv6)"}, "EFA": {int32(99), "EFA"}} {
		r, err := NetworkActivityOf(&parse.FlowRecord{InterfaceID: "eni-1", Type: typ, SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2",
			Start: parse.OptInt64{V: 1700000000, Valid: true}, Action: "ACCEPT", LogStatus: "OK"})
		if err != nil {
			t.Fatal(err)
		}
		ci := r.ConnectionInfo
		if ci.ProtocolVerID == nil || *ci.ProtocolVerID != want[0] || deref(ci.ProtocolVer) != want[1] {
			t.Errorf("%s: protocol_ver_id %v protocol_ver %q", typ, ci.ProtocolVerID, deref(ci.ProtocolVer))
		}
	}
}
