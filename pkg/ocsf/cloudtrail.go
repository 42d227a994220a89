package ocsf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/logarchive/logarchive/pkg/parse"
)

// OCSFVersion is the schema version every row declares in metadata.version.
const OCSFVersion = "1.1.0"

// authenticationEvents and accountChangeEvents are AWS's class selector for CloudTrail (ocsf/examples
// mappings/bloblang/AWS/CloudTrail/v1.1.0/cloudtrail.yml); every other eventName is API Activity.
var authenticationEvents = setOf("ConsoleLogin", "ExternalIdPDirectoryLogin", "CheckMfa",
	"CredentialChallenge", "CredentialVerification", "UserAuthentication", "AssumeRole",
	"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")

var accountChangeEvents = setOf("UpdateRole", "AttachUserPolicy", "PutRolePermissionsBoundary",
	"DeletePolicy", "RemoveUserFromGroup", "ChangePassword", "CreateAccessKey", "AttachGroupPolicy",
	"ResyncMFADevice", "DeleteRolePolicy", "PutUserPermissionsBoundary", "CreateUser",
	"CreateServiceLinkedRole", "PutRolePolicy", "DetachGroupPolicy", "UpdateAccessKey",
	"CreateInstanceProfile", "CreateRole", "DeleteUserPermissionsBoundary", "DeleteAccountAlias",
	"PutGroupPolicy", "CreateLoginProfile", "DeleteGroupPolicy", "DeleteLoginProfile", "DeleteUserPolicy",
	"DeactivateMFADevice", "RemoveRoleFromInstanceProfile", "UpdateUser", "EnableMFADevice", "DeleteUser",
	"AddRoleToInstanceProfile", "UpdateAccountEmailAddress", "UpdateRoleDescription", "DetachUserPolicy",
	"UpdateAssumeRolePolicy", "DeleteGroup", "DeleteServiceLinkedRole", "DeleteAccessKey", "AddUserToGroup",
	"DeleteVirtualMFADevice", "FinalizeSmsMfaRegistration", "DeleteRolePermissionsBoundary",
	"DetachRolePolicy", "DeleteInstanceProfile", "UpdateGroup", "UpdateLoginProfile",
	"RequestSmsMfaRegistration", "DeleteRole", "PutUserPolicy", "CreateVirtualMFADevice",
	"AttachRolePolicy", "EmailUpdated", "AccountNameUpdated", "PasswordUpdated",
	"DeleteAccountPasswordPolicy", "UpdateAccountPasswordPolicy", "UpdateAccountName",
	"TagInstanceProfile", "TagRole", "TagUser", "UntagInstanceProfile", "UntagRole", "UntagUser",
	"CreateAccountAlias")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// CloudTrailClass selects the OCSF class of a CloudTrail event by its eventName, as AWS does.
func CloudTrailClass(eventName string) Class {
	switch {
	case authenticationEvents[eventName]:
		return ClassAuthentication
	case accountChangeEvents[eventName]:
		return ClassAccountChange
	}
	return ClassAPIActivity
}

// apiVerbs are 6003's activities by the verb an eventName starts with (AWS matches anywhere in
// the name, which reads DeleteTargetGroup as Read through "Get"; a leading verb does not).
var apiVerbs = []struct {
	name  string
	verbs []string
}{
	{"Create", []string{"Create", "Run", "Generate"}},
	{"Read", []string{"Get", "List", "Describe", "Search", "Lookup"}},
	{"Update", []string{"Update", "Put", "Modify", "Add", "Remove", "Start", "Stop", "Attach",
		"Detach", "Associate", "Disassociate", "Tag", "Untag", "Enable", "Disable", "Register", "Deregister"}},
	{"Delete", []string{"Delete", "Terminate"}},
}

// APIActivityOf returns 6003's activity for an eventName: its leading verb, else Read when
// CloudTrail marks the call readOnly, else Other.
func APIActivityOf(eventName string, readOnly parse.OptBool) (int32, string) {
	for i, a := range apiVerbs {
		for _, v := range a.verbs {
			if hasVerb(eventName, v) {
				return int32(i + 1), a.name
			}
		}
	}
	if readOnly.Valid && readOnly.V {
		return 2, "Read"
	}
	return 99, "Other"
}

// hasVerb reports whether name starts with verb as a whole word: "Get" matches GetObject and Get,
// not Getaway; "Tag" does not match TagsUpdate but "Untag" is its own verb.
func hasVerb(name, verb string) bool {
	if !strings.HasPrefix(name, verb) {
		return false
	}
	rest := name[len(verb):]
	return rest == "" || rest[0] < 'a' || rest[0] > 'z'
}

// AuthenticationActivityOf returns 3002's activity: Logon for sign-ins and role assumptions.
func AuthenticationActivityOf(eventName string) (int32, string) {
	switch {
	case eventName == "ConsoleLogin", eventName == "ExternalIdPDirectoryLogin",
		eventName == "UserAuthentication", strings.HasPrefix(eventName, "AssumeRole"):
		return 1, "Logon"
	}
	return 99, "Other"
}

// AccountChangeActivityOf returns 3001's activity, AWS's rule by eventName.
func AccountChangeActivityOf(eventName string) (int32, string) {
	switch {
	case strings.HasPrefix(eventName, "Create"), eventName == "ResyncMFADevice", eventName == "EnableMFADevice":
		return 1, "Create"
	case eventName == "ChangePassword", eventName == "PasswordUpdated":
		return 3, "Password Change"
	case strings.HasPrefix(eventName, "Attach"), strings.HasPrefix(eventName, "Put"), eventName == "AddUserToGroup":
		return 7, "Attach Policy"
	case strings.HasPrefix(eventName, "Detach"), strings.HasPrefix(eventName, "Remove"):
		return 8, "Detach Policy"
	case strings.HasPrefix(eventName, "Delete"):
		for _, p := range []string{"DeleteSSH", "DeleteServer", "DeleteSign", "DeleteAccount", "DeleteCloudFront", "DeleteService"} {
			if strings.HasPrefix(eventName, p) {
				return 99, "Other"
			}
		}
		return 6, "Delete"
	}
	return 99, "Other"
}

// UnsupportedError says a record has no OCSF class here (CloudTrail Insights, digests).
type UnsupportedError struct {
	Source parse.Source
	Why    string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("ocsf: %s records are not mapped: %s", e.Source, e.Why)
}

// ErrNoTime is wrapped by mapping errors for a record without an event time (`time` is required).
var ErrNoTime = errors.New("record has no event time")

// FromRecord maps a parsed record to its OCSF row: CloudTrail events to 6003/3002/3001 by
// eventName, flow records to 4001, Resolver queries to 4003. The row shares no memory with the
// decoder's reused Record (only the record's strings and the bytes of its json.RawMessage members,
// which the parse model lets callers keep and which the caller must not modify afterwards), so it
// may be buffered after the next call to Next.
func FromRecord(rec *parse.Record) (Row, error) {
	switch {
	case rec.Source == parse.SourceInsight:
		return nil, &UnsupportedError{Source: rec.Source, Why: "Insights events have no AWS OCSF mapping"}
	case rec.CloudTrail != nil:
		return FromCloudTrail(rec.CloudTrail)
	case rec.Flow != nil:
		r, err := NetworkActivityOf(rec.Flow)
		if err != nil {
			return nil, err
		}
		return r, nil
	case rec.DNS != nil:
		r, err := DNSActivityOf(rec.DNS)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, &UnsupportedError{Source: rec.Source, Why: "no payload"}
}

// FromCloudTrail maps a CloudTrail event to the class CloudTrailClass selects.
func FromCloudTrail(ev *parse.CloudTrailEvent) (Row, error) {
	if ev.EventTime.IsZero() {
		return nil, fmt.Errorf("ocsf: CloudTrail event %q: %w", ev.EventID, ErrNoTime)
	}
	if ev.InsightDetails != nil {
		return nil, &UnsupportedError{Source: parse.SourceInsight, Why: "Insights events have no AWS OCSF mapping"}
	}
	switch CloudTrailClass(ev.EventName) {
	case ClassAuthentication:
		return AuthenticationOf(ev)
	case ClassAccountChange:
		return AccountChangeOf(ev)
	}
	return APIActivityOfEvent(ev)
}

// ctCommon is what the three CloudTrail classes share.
type ctCommon struct {
	time     int64
	timeDT   *time.Time
	metadata Metadata
	cloud    Cloud
	actor    Actor
	api      API
	src      NetworkEndpoint
	http     *HTTPRequest
	unmapped map[string]string
	obs      []Observable
	// b holds the row's small parts (see block).
	b *ctBlock
}

// ctBlock is a CloudTrail row's one allocation for its small parts (see block).
type ctBlock struct {
	block
	slots   [24]string
	feature Feature
	account Account
	user    User
	userAcc Account
	service Service
	request Request
	http    HTTPRequest
	obs     [4]Observable
}

func cloudTrailCommon(ev *parse.CloudTrailEvent) (ctCommon, error) {
	b := new(ctBlock)
	b.s = b.slots[:0]
	c := ctCommon{b: b}
	c.time = ev.EventTime.UnixMilli()
	c.timeDT = b.dt(c.time)
	feature := ev.EventCategory
	if feature == "" {
		feature = "Management, Data, and Insights" // AWS's default before eventCategory existed (1.07)
	}
	b.feature.Name = b.str(feature)
	c.metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: b.str("CloudTrail"), VendorName: "AWS", Version: b.str(ev.EventVersion),
			Feature: &b.feature},
		Profiles:  b.strs("cloud", "datetime"),
		UID:       b.str(ev.EventID),
		EventCode: b.str(ev.EventType),
	}
	account := ev.RecipientAccountID
	if account == "" && ev.UserIdentity != nil {
		account = ev.UserIdentity.AccountID
	}
	c.cloud = Cloud{Provider: "AWS", Region: b.str(ev.AWSRegion)}
	if account != "" {
		b.account.UID = b.str(account)
		c.cloud.Account = &b.account
	}
	c.unmapped = make(map[string]string, 8)
	c.actor = actorOf(ev, c.unmapped, b)

	b.request = Request{UID: ev.RequestID, Data: b.jsonText(ev.RequestParameters)}
	c.api = API{Operation: ev.EventName, Service: b.service.of(ev.EventSource, &b.block), Version: b.str(ev.APIVersion),
		Request: &b.request}
	if ev.ErrorCode != "" || ev.ErrorMessage != "" || len(ev.ResponseElements) > 0 && string(ev.ResponseElements) != "null" {
		c.api.Response = &Response{Error: b.str(ev.ErrorCode), Message: b.str(ev.ErrorMessage), Data: jsonText(ev.ResponseElements)}
	}

	c.src = sourceEndpoint(ev, &b.block)
	if ev.UserAgent != "" {
		b.http.UserAgent = b.str(ev.UserAgent)
		c.http = &b.http
	}

	if ev.RecipientAccountID != "" {
		c.unmapped["recipientAccountId"] = ev.RecipientAccountID
	}
	setUnmapped(c.unmapped, "sharedEventID", ev.SharedEventID)
	setUnmapped(c.unmapped, "vpcEndpointAccountId", ev.VPCEndpointAccount)
	setUnmapped(c.unmapped, "sessionCredentialFromConsole", ev.SessionCredentialFromConsole)
	setBool(c.unmapped, "readOnly", ev.ReadOnly)
	setBool(c.unmapped, "managementEvent", ev.ManagementEvent)
	if t := ev.TLSDetails; t != nil {
		setUnmapped(c.unmapped, "tlsDetails.tlsVersion", t.TLSVersion)
		setUnmapped(c.unmapped, "tlsDetails.cipherSuite", t.CipherSuite)
		setUnmapped(c.unmapped, "tlsDetails.clientProvidedHostHeader", t.ClientProvidedHostHeader)
	}
	if a := ev.Addendum; a != nil {
		setUnmapped(c.unmapped, "addendum.reason", a.Reason)
		setUnmapped(c.unmapped, "addendum.updatedFields", a.UpdatedFields)
		setUnmapped(c.unmapped, "addendum.originalRequestID", a.OriginalRequestID)
		setUnmapped(c.unmapped, "addendum.originalEventID", a.OriginalEventID)
	}
	for _, m := range []struct {
		prefix string
		doc    []byte
	}{
		{"serviceEventDetails", ev.ServiceEventDetail},
		{"edgeDeviceDetails", ev.EdgeDeviceDetails},
		{"eventContext", ev.EventContext},
	} {
		if err := flattenJSON(c.unmapped, m.prefix, m.doc, nil); err != nil {
			return c, err
		}
	}
	return c, nil
}

// sourceEndpoint maps sourceIPAddress. An IP address is src_endpoint.ip. Anything else is kept in
// src_endpoint.domain, as AWS's mapping writes it, and also in an attribute that satisfies
// network_endpoint's at-least-one rule (ip, uid, name, hostname, svc_name, instance_uid,
// interface_uid, interface_name; domain does not count): an AWS service principal
// ("ec2.amazonaws.com") is the calling service, svc_name; any other text ("AWS Internal") is the
// endpoint's name. With no sourceIPAddress at all, the service that invoked the call on the
// caller's behalf (userIdentity.invokedBy) is the source.
func sourceEndpoint(ev *parse.CloudTrailEvent, b *block) NetworkEndpoint {
	var e NetworkEndpoint
	e.UID = b.str(ev.VPCEndpointID)
	src := ev.SourceIPAddress
	switch addr, err := netip.ParseAddr(src); {
	case err == nil:
		s := src
		if !addr.Is4() || addr.Zone() != "" {
			s = addr.String() // the canonical text of an IPv6 address; an IPv4 address is its own
		}
		e.IP = b.str(s)
	case src == "":
		if ev.UserIdentity != nil {
			e.SvcName = b.str(ev.UserIdentity.InvokedBy)
		}
	case isHostname(src) && strings.Contains(src, "."):
		p := b.str(src)
		e.Domain, e.SvcName = p, p
	default:
		p := b.str(src)
		e.Domain, e.Name = p, p
	}
	return e
}

// isHostname reports whether s is OCSF 1.1.0's hostname_t: labels of letters, digits and inner
// hyphens, joined by dots (the tests hold OCSF's regular expression and check this against it).
// Every Resolver query is checked, and the regular expression was a tenth of the Resolver path's
// CPU.
func isHostname(s string) bool {
	for {
		label, rest, more := strings.Cut(s, ".")
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(isLower(c) || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		if !more {
			return true
		}
		s = rest
	}
}

// identified reports whether u satisfies OCSF's at-least-one rule for user (account, name, uid).
func identified(u *User) bool { return u.UID != nil || u.Name != nil || u.Account != nil }

// actorOf maps userIdentity; the members it does not map go to unmapped.
func actorOf(ev *parse.CloudTrailEvent, unmapped map[string]string, b *ctBlock) Actor {
	var a Actor
	ui := ev.UserIdentity
	if ui == nil {
		return a
	}
	u := &b.user
	*u = User{UID: b.str(ui.ARN), UIDAlt: b.str(ui.PrincipalID), Name: b.str(ui.UserName), Type: b.str(ui.Type),
		CredentialUID: b.str(ui.AccessKeyID)}
	if u.Name == nil {
		u.Name = b.str(jsonString(ev.AdditionalEvent, "UserName"))
	}
	if u.CredentialUID == nil {
		u.CredentialUID = b.str(ui.CredentialID)
	}
	if ui.AccountID != "" {
		b.userAcc.UID = b.str(ui.AccountID)
		u.Account = &b.userAcc
	}
	if ui.OnBehalfOf != nil {
		if ui.OnBehalfOf.UserID != "" {
			u.UIDAlt = b.str(ui.OnBehalfOf.UserID) // Identity Center: the user behind the session
		}
		if ui.OnBehalfOf.IdentityStoreARN != "" {
			a.IDP = &IDP{UID: b.str(ui.OnBehalfOf.IdentityStoreARN)}
		}
	}
	if !identified(u) && ui.InvokedBy != "" {
		// An AWSService identity has only a type and the service principal that acts.
		u.Name = b.str(ui.InvokedBy)
	}
	if identified(u) {
		a.User = u
	} else {
		// Nothing that identifies a user: keep what there is where a reader can find it.
		setUnmapped(unmapped, "userIdentity.type", ui.Type)
		setUnmapped(unmapped, "userIdentity.principalId", ui.PrincipalID)
		setUnmapped(unmapped, "userIdentity.accessKeyId", ui.AccessKeyID)
	}
	a.InvokedBy = b.str(ui.InvokedBy)
	idp := ui.IdentityProvider
	if sc := ui.SessionContext; sc != nil {
		var s Session
		if t, ok := parseISO(sc.CreationDate); ok {
			ms := t.UnixMilli()
			s.CreatedTime, s.CreatedTimeDT = b.i64(ms), b.dt(ms)
		}
		switch sc.MFAAuthenticated {
		case "true":
			s.IsMFA = boolp(true)
		case "false":
			s.IsMFA = boolp(false)
		}
		if si := sc.SessionIssuer; si != nil {
			s.Issuer = b.str(si.ARN)
			setUnmapped(unmapped, "userIdentity.sessionContext.sessionIssuer.type", si.Type)
			setUnmapped(unmapped, "userIdentity.sessionContext.sessionIssuer.principalId", si.PrincipalID)
			setUnmapped(unmapped, "userIdentity.sessionContext.sessionIssuer.accountId", si.AccountID)
			setUnmapped(unmapped, "userIdentity.sessionContext.sessionIssuer.userName", si.UserName)
		}
		if s != (Session{}) {
			a.Session = &s
		}
		if p := jsonString(sc.WebIDFederationData, "federatedProvider"); p != "" {
			idp = p
		}
		setUnmapped(unmapped, "userIdentity.sessionContext.sourceIdentity", sc.SourceIdentity)
		setUnmapped(unmapped, "userIdentity.sessionContext.ec2RoleDelivery", sc.EC2RoleDelivery)
		setUnmapped(unmapped, "userIdentity.sessionContext.ec2IssuedInVPC", sc.EC2IssuedInVPC)
	}
	if idp != "" {
		if a.IDP == nil {
			a.IDP = &IDP{}
		}
		a.IDP.Name = b.str(idp)
	}
	if len(ui.InScopeOf) > 0 {
		_ = flattenJSON(unmapped, "userIdentity.inScopeOf", ui.InScopeOf, nil) // parse validated it
	}
	return a
}

func serviceOf(name string) *Service {
	if name == "" {
		return nil
	}
	return &Service{Name: &name}
}

// of is serviceOf(name) in s, its string in b.
func (s *Service) of(name string, b *block) *Service {
	if name == "" {
		return nil
	}
	s.Name = b.str(name)
	return s
}

// jsonText keeps a free-form member as its JSON text (json_t); JSON null is absent.
// The text aliases raw rather than copying it (request and response data are a third of a
// CloudTrail record, and the record's own buffer stays alive with the row anyway): a decoded
// record's json.RawMessage members are its own and never written again (pkg/parse), and
// FromRecord's callers may not modify them once mapped.
func jsonText(raw []byte) *string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := unsafe.String(&raw[0], len(raw))
	return &s
}

// jsonText is jsonText(raw) with its string header in b.
func (b *block) jsonText(raw []byte) *string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return b.str(unsafe.String(&raw[0], len(raw)))
}

func setUnmapped(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// addUnmapped is setUnmapped for a map made at its first entry (nil until then).
func addUnmapped(m map[string]string, k, v string) map[string]string {
	if v == "" {
		return m
	}
	if m == nil {
		m = make(map[string]string, 4)
	}
	m[k] = v
	return m
}

func setBool(m map[string]string, k string, v parse.OptBool) {
	if v.Valid {
		m[k] = strconv.FormatBool(v.V)
	}
}

func boolp(b bool) *bool { return &b }

// parseISO reads CloudTrail's session creationDate: extended ISO-8601 (2023-02-06T20:57:02Z) or,
// in older events, basic form (20230206T205702Z).
func parseISO(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "20060102T150405Z0700", "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseIAMTime reads the timestamps IAM and STS write in responseElements, "Jul 18, 2023, 4:07:39
// PM" or "Mar 17, 2023 5:07:59 PM" (UTC), or ISO-8601.
func parseIAMTime(s string) (time.Time, bool) {
	if t, ok := parseISO(s); ok {
		return t, true
	}
	for _, layout := range []string{"Jan 2, 2006, 3:04:05 PM", "Jan 2, 2006 3:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func statusOf(errorCode string) (*int32, *string) {
	if errorCode == "" {
		return i32(1), str("Success")
	}
	return i32(2), str("Failure")
}

// status is statusOf in the block.
func (b *block) status(errorCode string) (*int32, *string) {
	if errorCode == "" {
		return b.i32(1), b.str("Success")
	}
	return b.i32(2), b.str("Failure")
}

// observablesOf lists the user names, IP addresses and ARNs of a CloudTrail row.
func observablesOf(b *ctBlock, a *Actor, src *NetworkEndpoint, user *User, resources []ResourceDetails) []Observable {
	obs := b.obs[:0:len(b.obs)]
	if a != nil && a.User != nil {
		obs = appendObs(&b.block, obs, "actor.user.name", obsUserName, a.User.Name)
		obs = appendObs(&b.block, obs, "actor.user.uid", obsResourceUID, arnOnly(a.User.UID))
	}
	if user != nil {
		obs = appendObs(&b.block, obs, "user.name", obsUserName, user.Name)
		obs = appendObs(&b.block, obs, "user.uid", obsResourceUID, arnOnly(user.UID))
	}
	if src != nil {
		obs = appendObs(&b.block, obs, "src_endpoint.ip", obsIPAddress, src.IP)
		obs = appendObs(&b.block, obs, "src_endpoint.domain", obsHostname, src.Domain)
	}
	for _, r := range resources {
		obs = appendObs(&b.block, obs, "resources.uid", obsResourceUID, arnOnly(r.UID))
	}
	if len(obs) == 0 {
		return nil
	}
	return obs
}

func arnOnly(s *string) *string {
	if s == nil || !strings.HasPrefix(*s, "arn:") {
		return nil
	}
	return s
}

// Observable type ids (OCSF 1.1.0 dictionary types.*.observable).
const (
	obsHostname    = 1
	obsIPAddress   = 2
	obsUserName    = 4
	obsResourceUID = 10
)

var obsTypeNames = map[int32]string{obsHostname: "Hostname", obsIPAddress: "IP Address",
	obsUserName: "User Name", obsResourceUID: "Resource UID"}

// appendObs appends an observable of value, if any; its type caption goes into b (nil: the heap).
func appendObs(b *block, obs []Observable, name string, typeID int32, value *string) []Observable {
	if value == nil {
		return obs
	}
	return append(obs, Observable{Name: name, Type: b.str(obsTypeNames[typeID]), TypeID: typeID, Value: value})
}

func resourcesOf(ev *parse.CloudTrailEvent) []ResourceDetails {
	if len(ev.Resources) == 0 {
		return nil
	}
	out := make([]ResourceDetails, 0, len(ev.Resources))
	for _, r := range ev.Resources {
		d := ResourceDetails{UID: str(r.ARN), Type: str(r.Type)}
		if r.AccountID != "" {
			d.Owner = &User{Account: &Account{UID: str(r.AccountID)}}
		}
		out = append(out, d)
	}
	return out
}

// resourcesUnmapped keeps resources[] for the classes that have no resources attribute.
func resourcesUnmapped(m map[string]string, ev *parse.CloudTrailEvent) {
	var arns, accts, types []string
	for _, r := range ev.Resources {
		arns, accts, types = appendNonEmpty(arns, r.ARN), appendNonEmpty(accts, r.AccountID), appendNonEmpty(types, r.Type)
	}
	setUnmapped(m, "resources[].ARN", strings.Join(arns, ","))
	setUnmapped(m, "resources[].accountId", strings.Join(accts, ","))
	setUnmapped(m, "resources[].type", strings.Join(types, ","))
}

func appendNonEmpty(s []string, v string) []string {
	if v == "" {
		return s
	}
	return append(s, v)
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// APIActivityOfEvent maps a CloudTrail event to class 6003 whatever its eventName.
func APIActivityOfEvent(ev *parse.CloudTrailEvent) (*APIActivity, error) {
	r := new(APIActivity)
	if err := fillAPIActivity(r, ev); err != nil {
		return nil, err
	}
	return r, nil
}

// fillAPIActivity maps ev into r (whatever r held before).
func fillAPIActivity(r *APIActivity, ev *parse.CloudTrailEvent) error {
	c, err := cloudTrailCommon(ev)
	if err != nil {
		return err
	}
	if err := flattenJSON(c.unmapped, "additionalEventData", ev.AdditionalEvent, nil); err != nil {
		return err
	}
	id, name := APIActivityOf(ev.EventName, ev.ReadOnly)
	h := headerOf(ClassAPIActivity, id, name)
	*r = APIActivity{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		Time: c.time, TimeDT: c.timeDT, Metadata: c.metadata, Cloud: c.cloud,
		Actor: c.actor, API: c.api, SrcEndpoint: c.src, HTTPRequest: c.http,
		Resources: resourcesOf(ev),
	}
	r.StatusID, r.Status = c.b.status(ev.ErrorCode)
	r.Observables = observablesOf(c.b, &r.Actor, &r.SrcEndpoint, nil, r.Resources)
	r.Unmapped = nilIfEmpty(c.unmapped)
	return nil
}

// AuthenticationOf maps a sign-in or role assumption to class 3002.
func AuthenticationOf(ev *parse.CloudTrailEvent) (*Authentication, error) {
	c, err := cloudTrailCommon(ev)
	if err != nil {
		return nil, err
	}
	// additionalEventData members mapped to attributes stay out of unmapped.
	if err := flattenJSON(c.unmapped, "additionalEventData", ev.AdditionalEvent, func(p string) bool {
		return p == "additionalEventData.LoginTo" || p == "additionalEventData.MFAUsed"
	}); err != nil {
		return nil, err
	}
	resourcesUnmapped(c.unmapped, ev)
	id, name := AuthenticationActivityOf(ev.EventName)
	h := headerOf(ClassAuthentication, id, name)
	r := &Authentication{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		Time: c.time, TimeDT: c.timeDT, Metadata: c.metadata, Cloud: c.cloud,
		API: &c.api, HTTPRequest: c.http,
		// The service signed in to (signin, sts, sso): 3002 needs service or dst_endpoint.
		Service: serviceOf(ev.EventSource),
	}
	if c.actor != (Actor{}) {
		r.Actor = &c.actor
	}
	if !c.src.empty() {
		r.SrcEndpoint = &c.src
	}
	r.User = authUser(ev, c.cloud.Account)
	if svc := jsonString(ev.AdditionalEvent, "LoginTo"); svc != "" {
		r.DstEndpoint = &NetworkEndpoint{SvcName: &svc}
	}
	switch jsonString(ev.AdditionalEvent, "MFAUsed") {
	case "Yes":
		r.IsMFA = boolp(true)
	case "No":
		r.IsMFA = boolp(false)
	}
	if exp, ok := parseIAMTime(jsonString(ev.ResponseElements, "credentials", "expiration")); ok {
		var s Session
		s.ExpirationTime, s.ExpirationTimeDT = millis(exp)
		r.Session = &s
	}
	// Console sign-ins report their outcome in responseElements (a failed ConsoleLogin may carry
	// errorMessage without errorCode); other calls fail with errorCode.
	outcome := jsonString(ev.ResponseElements, ev.EventName)
	switch {
	case outcome == "Success" && ev.ErrorCode == "":
		r.StatusID, r.Status = i32(1), str("Success")
	case outcome == "Failure" || ev.ErrorCode != "":
		r.StatusID, r.Status = i32(2), str("Failure")
	default:
		r.StatusID, r.Status = statusOf("")
	}
	r.Observables = observablesOf(c.b, r.Actor, r.SrcEndpoint, &r.User, nil)
	r.Unmapped = nilIfEmpty(c.unmapped)
	return r, nil
}

// authUser is the user who signs in: the role assumed (roleArn, roleSessionName), else the
// identity itself (arn, principalId, userName, type, accountId; a failed ConsoleLogin names the
// user HIDDEN_DUE_TO_SECURITY_REASONS and that is what CloudTrail recorded). An identity with only a
// principalId has it as uid; one with nothing that identifies it is the account signed in to, so the
// user always satisfies OCSF's at-least-one rule (account, name, uid).
func authUser(ev *parse.CloudTrailEvent, account *Account) User {
	var u User
	if roleArn := jsonString(ev.RequestParameters, "roleArn"); roleArn != "" {
		u = User{UID: &roleArn, Name: str(jsonString(ev.RequestParameters, "roleSessionName"))}
	} else if ui := ev.UserIdentity; ui != nil {
		u = User{UID: str(ui.ARN), UIDAlt: str(ui.PrincipalID), Name: str(ui.UserName), Type: str(ui.Type)}
		if ui.AccountID != "" {
			u.Account = &Account{UID: str(ui.AccountID)}
		}
		if u.UID == nil {
			u.UID, u.UIDAlt = u.UIDAlt, nil
		}
	}
	if u.Name == nil {
		u.Name = str(jsonString(ev.AdditionalEvent, "UserName"))
	}
	if !identified(&u) && account != nil {
		u.Account = account
	}
	return u
}

// AccountChangeOf maps an IAM or account change to class 3001.
func AccountChangeOf(ev *parse.CloudTrailEvent) (*AccountChange, error) {
	c, err := cloudTrailCommon(ev)
	if err != nil {
		return nil, err
	}
	if err := flattenJSON(c.unmapped, "additionalEventData", ev.AdditionalEvent, nil); err != nil {
		return nil, err
	}
	resourcesUnmapped(c.unmapped, ev)
	id, name := AccountChangeActivityOf(ev.EventName)
	h := headerOf(ClassAccountChange, id, name)
	r := &AccountChange{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		Time: c.time, TimeDT: c.timeDT, Metadata: c.metadata, Cloud: c.cloud,
		API: &c.api, HTTPRequest: c.http,
	}
	if c.actor != (Actor{}) {
		r.Actor = &c.actor
	}
	if !c.src.empty() {
		r.SrcEndpoint = &c.src
	}
	// The user is the account changed: the role or user the call names or creates.
	r.User.UID = str(firstNonEmpty(
		jsonString(ev.ResponseElements, "role", "roleId"),
		jsonString(ev.ResponseElements, "user", "userId")))
	r.User.Name = str(firstNonEmpty(
		jsonString(ev.RequestParameters, "userName"),
		jsonString(ev.RequestParameters, "roleName"),
		jsonString(ev.ResponseElements, "role", "roleName"),
		jsonString(ev.ResponseElements, "user", "userName")))
	if r.User == (User{}) && ev.UserIdentity != nil {
		// IAM calls that name no user act on the caller (CreateAccessKey, ChangePassword): the
		// caller's principalId, as AWS's conditional mapping lists first.
		r.User = User{UID: str(ev.UserIdentity.PrincipalID), Name: str(ev.UserIdentity.UserName)}
	}
	if !identified(&r.User) {
		// Nobody named at all: the account changed is the one the event was recorded for.
		r.User.Account = c.cloud.Account
	}
	r.StatusID, r.Status = statusOf(ev.ErrorCode)
	r.Observables = observablesOf(c.b, r.Actor, r.SrcEndpoint, &r.User, nil)
	r.Unmapped = nilIfEmpty(c.unmapped)
	return r, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
