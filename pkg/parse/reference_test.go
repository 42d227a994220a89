package parse

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// This file is the baseline: encoding/json decoding CloudTrail into the same record model, through
// mirror structs that carry CloudTrail's member names. The differential tests compare the hand
// written decoder against it record by record, and BenchmarkCloudTrailEncodingJSON times it.

type refEvent struct {
	EventVersion                 string          `json:"eventVersion"`
	UserIdentity                 *refIdentity    `json:"userIdentity"`
	EventTime                    string          `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress"`
	UserAgent                    string          `json:"userAgent"`
	ErrorCode                    string          `json:"errorCode"`
	ErrorMessage                 string          `json:"errorMessage"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`
	AdditionalEventData          json.RawMessage `json:"additionalEventData"`
	RequestID                    string          `json:"requestID"`
	EventID                      string          `json:"eventID"`
	ReadOnly                     *bool           `json:"readOnly"`
	Resources                    []Resource      `json:"resources"`
	EventType                    string          `json:"eventType"`
	APIVersion                   string          `json:"apiVersion"`
	RecipientAccountID           string          `json:"recipientAccountId"`
	SharedEventID                string          `json:"sharedEventID"`
	VPCEndpointID                string          `json:"vpcEndpointId"`
	VPCEndpointAccountID         string          `json:"vpcEndpointAccountId"`
	ServiceEventDetails          json.RawMessage `json:"serviceEventDetails"`
	ManagementEvent              *bool           `json:"managementEvent"`
	EventCategory                string          `json:"eventCategory"`
	Addendum                     *refAddendum    `json:"addendum"`
	SessionCredentialFromConsole string          `json:"sessionCredentialFromConsole"`
	EdgeDeviceDetails            json.RawMessage `json:"edgeDeviceDetails"`
	TLSDetails                   *refTLS         `json:"tlsDetails"`
	EventContext                 json.RawMessage `json:"eventContext"`
	InsightDetails               json.RawMessage `json:"insightDetails"`
}

type refIdentity struct {
	Type             string          `json:"type"`
	PrincipalID      string          `json:"principalId"`
	ARN              string          `json:"arn"`
	AccountID        string          `json:"accountId"`
	AccessKeyID      string          `json:"accessKeyId"`
	UserName         string          `json:"userName"`
	InvokedBy        string          `json:"invokedBy"`
	IdentityProvider string          `json:"identityProvider"`
	CredentialID     string          `json:"credentialId"`
	OnBehalfOf       *refOnBehalfOf  `json:"onBehalfOf"`
	InScopeOf        json.RawMessage `json:"inScopeOf"`
	SessionContext   *refSession     `json:"sessionContext"`
}

type refOnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreARN string `json:"identityStoreArn"`
}

type refSession struct {
	Attributes *struct {
		MFAAuthenticated string `json:"mfaAuthenticated"`
		CreationDate     string `json:"creationDate"`
	} `json:"attributes"`
	SessionIssuer       *SessionIssuer  `json:"sessionIssuer"`
	WebIDFederationData json.RawMessage `json:"webIdFederationData"`
	SourceIdentity      string          `json:"sourceIdentity"`
	EC2RoleDelivery     string          `json:"ec2RoleDelivery"`
	EC2IssuedInVPC      string          `json:"ec2IssuedInVpc"`
}

type refAddendum struct {
	Reason            string `json:"reason"`
	UpdatedFields     string `json:"updatedFields"`
	OriginalRequestID string `json:"originalRequestID"`
	OriginalEventID   string `json:"originalEventID"`
}

type refTLS struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

func nullRaw(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return m
}

func optBool(b *bool) OptBool {
	if b == nil {
		return OptBool{}
	}
	return OptBool{V: *b, Valid: true}
}

// toEvent converts the mirror struct into the record model, as the hand-written decoder should.
func (r *refEvent) toEvent() (*CloudTrailEvent, error) {
	ev := &CloudTrailEvent{
		EventVersion: r.EventVersion, EventSource: r.EventSource, EventName: r.EventName,
		AWSRegion: r.AWSRegion, SourceIPAddress: r.SourceIPAddress, UserAgent: r.UserAgent,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		RequestParameters: nullRaw(r.RequestParameters), ResponseElements: nullRaw(r.ResponseElements),
		AdditionalEvent: nullRaw(r.AdditionalEventData), RequestID: r.RequestID, EventID: r.EventID,
		ReadOnly: optBool(r.ReadOnly), Resources: r.Resources, EventType: r.EventType,
		APIVersion: r.APIVersion, RecipientAccountID: r.RecipientAccountID,
		SharedEventID: r.SharedEventID, VPCEndpointID: r.VPCEndpointID,
		VPCEndpointAccount: r.VPCEndpointAccountID, ServiceEventDetail: nullRaw(r.ServiceEventDetails),
		ManagementEvent: optBool(r.ManagementEvent), EventCategory: r.EventCategory,
		SessionCredentialFromConsole: r.SessionCredentialFromConsole,
		EdgeDeviceDetails:            nullRaw(r.EdgeDeviceDetails), EventContext: nullRaw(r.EventContext),
		InsightDetails: nullRaw(r.InsightDetails),
	}
	if len(ev.Resources) == 0 {
		ev.Resources = nil
	}
	if r.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, r.EventTime)
		if err != nil {
			return nil, err
		}
		ev.EventTime = t.UTC()
	}
	if a := r.Addendum; a != nil {
		ev.Addendum = &Addendum{a.Reason, a.UpdatedFields, a.OriginalRequestID, a.OriginalEventID}
	}
	if t := r.TLSDetails; t != nil {
		ev.TLSDetails = &TLSDetails{t.TLSVersion, t.CipherSuite, t.ClientProvidedHostHeader}
	}
	if u := r.UserIdentity; u != nil {
		ui := &UserIdentity{
			Type: u.Type, PrincipalID: u.PrincipalID, ARN: u.ARN, AccountID: u.AccountID,
			AccessKeyID: u.AccessKeyID, UserName: u.UserName, InvokedBy: u.InvokedBy,
			IdentityProvider: u.IdentityProvider, CredentialID: u.CredentialID, InScopeOf: nullRaw(u.InScopeOf),
		}
		if o := u.OnBehalfOf; o != nil {
			ui.OnBehalfOf = &OnBehalfOf{o.UserID, o.IdentityStoreARN}
		}
		if s := u.SessionContext; s != nil {
			sc := &SessionContext{
				SessionIssuer: s.SessionIssuer, WebIDFederationData: nullRaw(s.WebIDFederationData),
				SourceIdentity: s.SourceIdentity, EC2RoleDelivery: s.EC2RoleDelivery, EC2IssuedInVPC: s.EC2IssuedInVPC,
			}
			if s.Attributes != nil {
				sc.MFAAuthenticated, sc.CreationDate = s.Attributes.MFAAuthenticated, s.Attributes.CreationDate
			}
			ui.SessionContext = sc
		}
		ev.UserIdentity = ui
	}
	return ev, nil
}

// refDecodeCloudTrail streams a CloudTrail document's Records with json.Decoder (one record
// decoded at a time, as a careful encoding/json user would) and calls fn for each event.
func refDecodeCloudTrail(r io.Reader, fn func(*CloudTrailEvent)) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return err
		}
		for dec.More() {
			var ref refEvent
			if err := dec.Decode(&ref); err != nil {
				return err
			}
			ev, err := ref.toEvent()
			if err != nil {
				return err
			}
			fn(ev)
		}
		if _, err := dec.Token(); err != nil { // ]
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return fmt.Errorf("closing brace: %w", err)
	}
	return nil
}

// refQuery mirrors a Resolver query log line for the encoding/json baseline.
type refQuery struct {
	Version        string           `json:"version"`
	AccountID      string           `json:"account_id"`
	Region         string           `json:"region"`
	VPCID          string           `json:"vpc_id"`
	QueryTimestamp time.Time        `json:"query_timestamp"`
	QueryName      string           `json:"query_name"`
	QueryType      string           `json:"query_type"`
	QueryClass     string           `json:"query_class"`
	RCode          string           `json:"rcode"`
	Answers        []ResolverAnswer `json:"answers"`
	SrcAddr        string           `json:"srcaddr"`
	SrcPort        string           `json:"srcport"`
	Transport      string           `json:"transport"`
	SrcIDs         struct {
		Instance                 string `json:"instance"`
		ResolverEndpoint         string `json:"resolver_endpoint"`
		ResolverNetworkInterface string `json:"resolver_network_interface"`
	} `json:"srcids"`
	FirewallRuleGroupID  string `json:"firewall_rule_group_id"`
	FirewallRuleAction   string `json:"firewall_rule_action"`
	FirewallDomainListID string `json:"firewall_domain_list_id"`
	FirewallProtection   string `json:"firewall_protection"`
}

// refDecodeResolver is the baseline for Resolver: one json.Unmarshal per line into a mirror struct,
// converted to the record model (without Unmapped, which encoding/json cannot collect cheaply).
func refDecodeResolver(r io.Reader, fn func(*ResolverQuery)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ref refQuery
		if err := json.Unmarshal(sc.Bytes(), &ref); err != nil {
			return err
		}
		q := &ResolverQuery{
			Version: ref.Version, AccountID: ref.AccountID, Region: ref.Region, VPCID: ref.VPCID,
			QueryTimestamp: ref.QueryTimestamp.UTC(), QueryName: ref.QueryName, QueryType: ref.QueryType,
			QueryClass: ref.QueryClass, RCode: ref.RCode, Answers: ref.Answers, SrcAddr: ref.SrcAddr,
			Transport: ref.Transport, SrcIDs: ResolverSrcIDs(ref.SrcIDs),
			FirewallRuleGroupID: ref.FirewallRuleGroupID, FirewallRuleAction: ref.FirewallRuleAction,
			FirewallDomainListID: ref.FirewallDomainListID, FirewallProtection: ref.FirewallProtection,
		}
		if p, err := strconv.Atoi(ref.SrcPort); err == nil {
			q.SrcPort = OptInt32{V: int32(p), Valid: true}
		}
		fn(q)
	}
	return sc.Err()
}

// refDecodeFlow is the baseline for text flow logs, written the obvious way: bufio.Scanner,
// strings.Fields and strconv per field, through the same field table.
func refDecodeFlow(r io.Reader, fn func(*FlowRecord)) error {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return sc.Err()
	}
	cols := flowColumns(strings.Fields(sc.Text()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != len(cols) {
			continue
		}
		fr := new(FlowRecord)
		for i, col := range cols {
			v := f[i]
			if v == "-" {
				continue
			}
			switch col.field {
			case flowVersion, flowSrcPort, flowDstPort, flowProtocol, flowTCPFlags, flowTrafficPath, flowEncryptionStatus,
				flowPackets, flowBytes, flowStart, flowEnd:
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					return err
				}
			}
			if err := setFlowField(fr, col, v); err != nil {
				return err
			}
		}
		fn(fr)
	}
	return sc.Err()
}
