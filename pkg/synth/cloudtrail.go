package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ctRecord is one CloudTrail record, members in the order CloudTrail writes them. requestParameters
// and responseElements are always present (null when nil), like in real files.
type ctRecord struct {
	EventVersion                 string          `json:"eventVersion"`
	UserIdentity                 *identity       `json:"userIdentity,omitempty"`
	EventTime                    string          `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress"`
	UserAgent                    string          `json:"userAgent,omitempty"`
	ErrorCode                    string          `json:"errorCode,omitempty"`
	ErrorMessage                 string          `json:"errorMessage,omitempty"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`
	AdditionalEventData          json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID                    string          `json:"requestID,omitempty"`
	EventID                      string          `json:"eventID"`
	ReadOnly                     *bool           `json:"readOnly,omitempty"`
	Resources                    []resource      `json:"resources,omitempty"`
	EventType                    string          `json:"eventType"`
	APIVersion                   string          `json:"apiVersion,omitempty"`
	ManagementEvent              *bool           `json:"managementEvent,omitempty"`
	RecipientAccountID           string          `json:"recipientAccountId"`
	SharedEventID                string          `json:"sharedEventID,omitempty"`
	VPCEndpointID                string          `json:"vpcEndpointId,omitempty"`
	VPCEndpointAccountID         string          `json:"vpcEndpointAccountId,omitempty"`
	ServiceEventDetails          json.RawMessage `json:"serviceEventDetails,omitempty"`
	EventCategory                string          `json:"eventCategory"`
	Addendum                     *addendum       `json:"addendum,omitempty"`
	SessionCredentialFromConsole string          `json:"sessionCredentialFromConsole,omitempty"`
	TLSDetails                   *tlsDetails     `json:"tlsDetails,omitempty"`

	t time.Time // event time, for the digest's event-time bounds
}

type addendum struct {
	Reason            string `json:"reason"`
	UpdatedFields     string `json:"updatedFields,omitempty"`
	OriginalRequestID string `json:"originalRequestID,omitempty"`
	OriginalEventID   string `json:"originalEventID,omitempty"`
}

type identity struct {
	Type           string          `json:"type,omitempty"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *sessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
	OnBehalfOf     *onBehalfOf     `json:"onBehalfOf,omitempty"`
	CredentialID   string          `json:"credentialId,omitempty"`
	InScopeOf      *inScopeOf      `json:"inScopeOf,omitempty"`
}

// inScopeOf marks credentials scoped to a service resource (here: a Lambda function's role).
type inScopeOf struct {
	SourceARN           string `json:"sourceArn"`
	SourceAccount       string `json:"sourceAccount"`
	IssuerType          string `json:"issuerType"`
	CredentialsIssuedTo string `json:"credentialsIssuedTo"`
}

type sessionContext struct {
	SessionIssuer       *sessionIssuer `json:"sessionIssuer,omitempty"`
	WebIDFederationData *struct{}      `json:"webIdFederationData,omitempty"`
	Attributes          attributes     `json:"attributes"`
	SourceIdentity      string         `json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string         `json:"ec2RoleDelivery,omitempty"`
}

// sessionIssuer is empty ({}) for an IAM user's console session, as CloudTrail writes it.
type sessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

type attributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type onBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreARN string `json:"identityStoreArn"`
}

type resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type tlsDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// obj builds a JSON object with members in the given order: obj("k1", v1, "k2", v2, …). Values that
// are json.RawMessage are inserted as they are.
func obj(pairs ...any) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(pairs[i].(string))
		b.Write(k)
		b.WriteByte(':')
		switch v := pairs[i+1].(type) {
		case json.RawMessage:
			b.Write(v)
		default:
			enc, err := json.Marshal(v)
			if err != nil {
				// Only literal Go values built in this package reach here.
				panic(fmt.Sprintf("synth: obj value for %v: %v", pairs[i], err))
			}
			b.Write(enc)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func arr(items ...json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func ptr[T any](v T) *T { return &v }

const ctTime = "2006-01-02T15:04:05Z"

// principals are the stable identities of one account, derived from the seed so that the same
// principal keeps its ids across chains and hours.
type principals struct {
	acct      Account
	users     []principal // IAM users
	roles     []principal // roles assumed by people and workloads
	instance  principal   // an EC2 instance role
	elevated  principal   // elevated-security-role
	ssoAdmin  principal   // AWSReservedSSO_… role
	fedSource principal   // IAM user behind GetFederationToken
	idStore   string      // Identity Center identity store ARN
	icUsers   []string    // Identity Center user ids
	people    []string    // session names of the humans
}

type principal struct {
	name string
	id   string // AIDA… or AROA…
	path string
}

func newPrincipals(seed uint64, a Account) *principals {
	r := newRand(seed, "principals", a.ID)
	p := &principals{acct: a}
	for _, n := range []string{"alice", "bob", "ci-deployer", "terraform", "backup-operator"} {
		p.users = append(p.users, principal{name: n, id: "AIDA" + r.upperAlnum(17)})
	}
	for _, n := range []string{"OrganizationAccountAccessRole", "app-orders-service", "github-actions-deploy", "lambda-ingest-role", "AWSControlTowerExecution", "read-only-auditor"} {
		p.roles = append(p.roles, principal{name: n, id: "AROA" + r.upperAlnum(17)})
	}
	p.instance = principal{name: "ec2-app-instance-role", id: "AROA" + r.upperAlnum(17)}
	p.elevated = principal{name: "elevated-security-role", id: "AROA" + r.upperAlnum(17)}
	p.ssoAdmin = principal{name: "AWSReservedSSO_AdministratorAccess_" + r.hex(16), id: "AROA" + r.upperAlnum(17), path: "aws-reserved/sso.amazonaws.com/"}
	p.fedSource = p.users[3]
	p.idStore = "arn:aws:identitystore::" + a.ID + ":identitystore/d-" + r.lowerAlnum(10)
	for range 4 {
		p.icUsers = append(p.icUsers, r.uuid())
	}
	p.people = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}
	return p
}

func (p *principals) userARN(u principal) string {
	return "arn:aws:iam::" + p.acct.ID + ":user/" + u.name
}

func (p *principals) roleARN(ro principal) string {
	return "arn:aws:iam::" + p.acct.ID + ":role/" + ro.path + ro.name
}

// actorKind selects the userIdentity type of a generated call.
type actorKind int

const (
	actorAssumedRole actorKind = iota
	actorIAMUser
	actorAWSService
	actorFederated
	actorIdentityCenter
	actorRoot
	actorSSO // AssumedRole through IAM Identity Center, from the console
	actorInstance
)

// actor is who made a call and from where.
type actor struct {
	kind      actorKind
	id        *identity
	ip        string
	userAgent string
	console   bool
}

var userAgents = []string{
	"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/%s",
	"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
	"aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/%s",
	"Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0",
	"aws-sdk-java/2.25.11 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_Lambda_java17",
}

const consoleUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36"

func (c *chain) sessionAttrs(t time.Time, mfa bool) attributes {
	created := t.Add(-time.Duration(1+c.r.IntN(3500)) * time.Second)
	m := "false"
	if mfa {
		m = "true"
	}
	return attributes{CreationDate: created.UTC().Format(ctTime), MFAAuthenticated: m}
}

func (c *chain) assumedRole(ro principal, session string, t time.Time, mfa bool) *identity {
	p := c.p
	return &identity{
		Type:        "AssumedRole",
		PrincipalID: ro.id + ":" + session,
		ARN:         "arn:aws:sts::" + p.acct.ID + ":assumed-role/" + ro.name + "/" + session,
		AccountID:   p.acct.ID,
		AccessKeyID: "ASIA" + c.r.upperAlnum(16),
		SessionContext: &sessionContext{
			SessionIssuer:       &sessionIssuer{Type: "Role", PrincipalID: ro.id, ARN: p.roleARN(ro), AccountID: p.acct.ID, UserName: ro.name},
			WebIDFederationData: &struct{}{},
			Attributes:          c.sessionAttrs(t, mfa),
		},
	}
}

func (c *chain) iamUser(u principal, t time.Time, console bool) *identity {
	id := &identity{
		Type:        "IAMUser",
		PrincipalID: u.id,
		ARN:         c.p.userARN(u),
		AccountID:   c.p.acct.ID,
		AccessKeyID: "AKIA" + c.r.upperAlnum(16),
		UserName:    u.name,
	}
	if console {
		id.AccessKeyID = "ASIA" + c.r.upperAlnum(16)
		id.SessionContext = &sessionContext{SessionIssuer: &sessionIssuer{}, WebIDFederationData: &struct{}{}, Attributes: c.sessionAttrs(t, true)}
	}
	return id
}

func (c *chain) root(t time.Time, console bool) *identity {
	id := &identity{
		Type:        "Root",
		PrincipalID: c.p.acct.ID,
		ARN:         "arn:aws:iam::" + c.p.acct.ID + ":root",
		AccountID:   c.p.acct.ID,
	}
	if console {
		id.AccessKeyID = "ASIA" + c.r.upperAlnum(16)
		id.SessionContext = &sessionContext{WebIDFederationData: &struct{}{}, Attributes: c.sessionAttrs(t, c.r.chance(0.5))}
	}
	return id
}

var services = []string{"ec2.amazonaws.com", "lambda.amazonaws.com", "s3.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "config.amazonaws.com", "cloudformation.amazonaws.com"}

// pickActor chooses who makes an ordinary call: mostly roles, some users, services and federations.
func (c *chain) pickActor(t time.Time, allowService bool) actor {
	r := c.r
	weights := []int{40, 12, 14, 4, 0, 0, 14, 10}
	if !allowService {
		weights[actorAWSService] = 0
	}
	k := actorKind(r.weighted(weights))
	a := actor{kind: k, ip: c.privateOrPublicIP(), userAgent: c.sdkUA()}
	switch k {
	case actorAssumedRole:
		ro := pick(r, c.p.roles)
		session := pick(r, []string{"aws-go-sdk-" + r.digits(19), "botocore-session-" + r.digits(10), "GitHubActions", "i-0" + r.hex(16), pick(r, c.p.people)})
		a.id = c.assumedRole(ro, session, t, false)
		if ro.name == "github-actions-deploy" {
			a.id.SessionContext.SourceIdentity = "repo:example-org/app:ref:refs/heads/main"
		}
	case actorIAMUser:
		console := r.chance(0.3)
		a.id = c.iamUser(pick(r, c.p.users), t, console)
		if console {
			a.userAgent, a.console, a.ip = consoleUA, true, r.publicIP()
		}
	case actorAWSService:
		svc := pick(r, services)
		a.id = &identity{Type: "AWSService", InvokedBy: svc}
		a.ip, a.userAgent = svc, svc
		if r.chance(0.1) {
			a.id.InvokedBy, a.ip, a.userAgent = "AWS Internal", "AWS Internal", "AWS Internal"
		}
	case actorFederated:
		u := c.p.fedSource
		name := pick(r, []string{"jenkins-build", "reporting-batch", "vendor-support"})
		a.id = &identity{
			Type:        "FederatedUser",
			PrincipalID: c.p.acct.ID + ":" + name,
			ARN:         "arn:aws:sts::" + c.p.acct.ID + ":federated-user/" + name,
			AccountID:   c.p.acct.ID,
			AccessKeyID: "ASIA" + r.upperAlnum(16),
			SessionContext: &sessionContext{
				SessionIssuer:       &sessionIssuer{Type: "IAMUser", PrincipalID: u.id, ARN: c.p.userARN(u), AccountID: c.p.acct.ID, UserName: u.name},
				WebIDFederationData: &struct{}{},
				Attributes:          c.sessionAttrs(t, false),
			},
		}
	case actorSSO:
		a.id = c.assumedRole(c.p.ssoAdmin, pick(r, c.p.people), t, false)
		a.userAgent, a.console, a.ip = consoleUA, true, r.publicIP()
	case actorInstance:
		a.id = c.assumedRole(c.p.instance, "i-0"+r.hex(16), t, false)
		a.id.SessionContext.EC2RoleDelivery = pick(r, []string{"2.0", "2.0", "2.0", "1.0"})
		a.ip = c.privateIP()
	}
	return a
}

func (c *chain) sdkUA() string {
	ua := pick(c.r, userAgents)
	if strings.Contains(ua, "%s") {
		ua = fmt.Sprintf(ua, pick(c.r, []string{"ec2.describe-instances", "s3.ls", "sts.get-caller-identity", "iam.get-role"}))
	}
	return ua
}

func (c *chain) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", c.vpcOctet, c.r.IntN(16), 4+c.r.IntN(250))
}

func (c *chain) privateOrPublicIP() string {
	if c.r.chance(0.6) {
		return c.privateIP()
	}
	return c.r.publicIP()
}

// eventVersions in use today; newer fields appear with newer minors.
var eventVersions = []string{"1.08", "1.09", "1.09", "1.10", "1.11"}

// newRecord fills the members every API call has.
func (c *chain) newRecord(t time.Time, a actor, source, name string, readOnly bool) *ctRecord {
	r := c.r
	rec := &ctRecord{
		EventVersion:       pick(r, eventVersions),
		UserIdentity:       a.id,
		EventTime:          t.Format(ctTime),
		EventSource:        source,
		EventName:          name,
		AWSRegion:          c.region,
		SourceIPAddress:    a.ip,
		UserAgent:          a.userAgent,
		RequestID:          r.uuid(),
		EventID:            r.uuid(),
		ReadOnly:           ptr(readOnly),
		EventType:          "AwsApiCall",
		ManagementEvent:    ptr(true),
		RecipientAccountID: c.acct.ID,
		EventCategory:      "Management",
		t:                  t,
	}
	if a.console {
		rec.SessionCredentialFromConsole = "true"
	}
	// Calls from inside the VPC to S3, KMS, STS and Secrets Manager go through interface endpoints.
	if strings.HasPrefix(a.ip, "10.") && (source == "s3.amazonaws.com" || source == "kms.amazonaws.com" || source == "sts.amazonaws.com" || source == "secretsmanager.amazonaws.com") {
		rec.VPCEndpointID = "vpce-0" + c.vpce
		if rec.EventVersion >= "1.09" {
			rec.VPCEndpointAccountID = c.acct.ID
		}
	}
	// A few late deliveries carry the addendum CloudTrail adds to delayed events.
	if r.IntN(200) == 0 {
		rec.Addendum = &addendum{Reason: "DELIVERY_DELAY"}
	}
	if a.kind != actorAWSService {
		host := strings.TrimSuffix(source, ".amazonaws.com") + "." + c.region + ".amazonaws.com"
		rec.TLSDetails = &tlsDetails{TLSVersion: pick(r, []string{"TLSv1.3", "TLSv1.2"}), CipherSuite: pick(r, []string{"TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"}), ClientProvidedHostHeader: host}
	}
	return rec
}

// maybeFail turns a call into a failed one with the error codes services really return.
func (c *chain) maybeFail(rec *ctRecord, p float64) {
	if !c.r.chance(p) {
		return
	}
	arn := ""
	if rec.UserIdentity != nil {
		arn = rec.UserIdentity.ARN
	}
	svc := strings.TrimSuffix(rec.EventSource, ".amazonaws.com")
	switch {
	case svc == "ec2" && c.r.chance(0.7):
		rec.ErrorCode = "Client.UnauthorizedOperation"
		rec.ErrorMessage = "You are not authorized to perform this operation. User: " + arn + " is not authorized to perform: ec2:" + rec.EventName + " because no identity-based policy allows the ec2:" + rec.EventName + " action. Encoded authorization failure message: " + c.r.mixedAlnum(48)
	case svc == "s3" && c.r.chance(0.5):
		rec.ErrorCode, rec.ErrorMessage = "NoSuchBucket", "The specified bucket does not exist"
	case c.r.chance(0.3):
		rec.ErrorCode, rec.ErrorMessage = "ThrottlingException", "Rate exceeded"
	default:
		rec.ErrorCode = "AccessDenied"
		rec.ErrorMessage = "User: " + arn + " is not authorized to perform: " + svc + ":" + rec.EventName + " because no identity-based policy allows the " + svc + ":" + rec.EventName + " action"
		if svc == "s3" {
			rec.ErrorMessage = "Access Denied"
		}
	}
	rec.ResponseElements = nil
}

// template builds one ordinary (non-scenario) record.
type template struct {
	weight int
	global bool // IAM, Organizations and sign-in: logged in the global-service region only
	build  func(c *chain, t time.Time) *ctRecord
}

func (c *chain) arnOf(kind, rest string) string {
	return "arn:aws:" + kind + ":" + c.region + ":" + c.acct.ID + ":" + rest
}

var templates = []template{
	{weight: 14, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, true), "ec2.amazonaws.com", pick(c.r, []string{"DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeNetworkInterfaces", "DescribeVolumes"}), true)
		rec.RequestParameters = obj("maxResults", 1000, "filterSet", obj())
		c.maybeFail(rec, 0.06)
		return rec
	}},
	{weight: 3, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "ec2.amazonaws.com", "RunInstances", false)
		inst := "i-0" + c.r.hex(16)
		rec.RequestParameters = obj("instancesSet", obj("items", arr(obj("imageId", "ami-0"+c.r.hex(16), "minCount", 1, "maxCount", 1))), "instanceType", pick(c.r, []string{"t3.micro", "m6i.large", "c7g.xlarge"}), "subnetId", c.subnet)
		rec.ResponseElements = obj("requestId", rec.RequestID, "instancesSet", obj("items", arr(obj("instanceId", inst, "currentState", obj("code", 0, "name", "pending")))))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::EC2::Instance", ARN: c.arnOf("ec2", "instance/"+inst)}}
		c.maybeFail(rec, 0.1)
		return rec
	}},
	{weight: 3, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, true), "ec2.amazonaws.com", "CreateTags", false)
		rec.RequestParameters = obj("resourcesSet", obj("items", arr(obj("resourceId", "i-0"+c.r.hex(16)))), "tagSet", obj("items", arr(obj("key", "Name", "value", "app-"+c.r.lowerAlnum(4)))))
		rec.ResponseElements = obj("requestId", rec.RequestID, "_return", true)
		return rec
	}},
	{weight: 6, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "s3.amazonaws.com", pick(c.r, []string{"ListBuckets", "GetBucketAcl", "GetBucketPolicy", "GetBucketEncryption", "GetBucketPublicAccessBlock"}), true)
		rec.RequestParameters = obj("bucketName", c.appBucket, "Host", c.appBucket+".s3."+c.region+".amazonaws.com")
		rec.AdditionalEventData = obj("SignatureVersion", "SigV4", "CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256", "bytesTransferredIn", 0, "AuthenticationMethod", "AuthHeader", "x-amz-id-2", c.r.mixedAlnum(56)+"=", "bytesTransferredOut", 300+c.r.IntN(900))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + c.appBucket}}
		if c.r.chance(0.2) && rec.UserIdentity.Type != "AWSService" {
			// The S3 console calls on the user's behalf: AWS writes "AWS Internal" for all three.
			rec.UserIdentity.InvokedBy, rec.SourceIPAddress, rec.UserAgent = "AWS Internal", "AWS Internal", "AWS Internal"
			rec.VPCEndpointID, rec.VPCEndpointAccountID = "", ""
		}
		c.maybeFail(rec, 0.08)
		return rec
	}},
	{weight: 1, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "s3.amazonaws.com", "PutBucketTagging", false)
		rec.RequestParameters = obj("bucketName", c.appBucket, "Host", c.appBucket+".s3."+c.region+".amazonaws.com", "tagging", "",
			"Tagging", obj("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/", "TagSet", obj("Tag", obj("Key", "cost-center", "Value", "cc-"+c.r.digits(4)))))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + c.appBucket}}
		return rec
	}},
	{weight: 6, global: true, build: func(c *chain, t time.Time) *ctRecord {
		name := pick(c.r, []string{"GetRole", "ListRoles", "ListAttachedRolePolicies", "GetUser", "ListPolicies", "GetAccountSummary"})
		rec := c.newRecord(t, c.pickActor(t, false), "iam.amazonaws.com", name, true)
		rec.RequestParameters = obj("roleName", pick(c.r, c.p.roles).name)
		if name == "ListRoles" || name == "ListPolicies" || name == "GetAccountSummary" {
			rec.RequestParameters = nil
		}
		c.maybeFail(rec, 0.08)
		return rec
	}},
	{weight: 7, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "sts.amazonaws.com", "GetCallerIdentity", true)
		return rec
	}},
	{weight: 8, build: func(c *chain, t time.Time) *ctRecord {
		a := actor{kind: actorAWSService, ip: "lambda.amazonaws.com", userAgent: "lambda.amazonaws.com", id: &identity{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"}}
		ro := c.p.roles[3]
		rec := c.newRecord(t, a, "sts.amazonaws.com", "AssumeRole", true)
		session := "awslambda_" + c.r.digits(3) + "_" + t.Format("20060102150405") + c.r.digits(3)
		rec.RequestParameters = obj("roleArn", c.p.roleARN(ro), "roleSessionName", session)
		rec.ResponseElements = obj("credentials", obj("accessKeyId", "ASIA"+c.r.upperAlnum(16), "sessionToken", c.r.mixedAlnum(64), "expiration", t.Add(12*time.Hour).Format("Jan 2, 2006, 3:04:05 PM")))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::IAM::Role", ARN: c.p.roleARN(ro)}}
		rec.SharedEventID = c.r.uuid()
		return rec
	}},
	{weight: 9, build: func(c *chain, t time.Time) *ctRecord {
		svc := pick(c.r, []string{"s3.amazonaws.com", "secretsmanager.amazonaws.com", "ebs.amazonaws.com"})
		a := actor{kind: actorAWSService, ip: svc, userAgent: svc, id: &identity{Type: "AWSService", InvokedBy: svc}}
		if c.r.chance(0.5) {
			a = c.pickActor(t, false)
		}
		rec := c.newRecord(t, a, "kms.amazonaws.com", pick(c.r, []string{"Decrypt", "GenerateDataKey", "Encrypt"}), true)
		key := c.arnOf("kms", "key/"+c.kmsKey)
		rec.RequestParameters = obj("keyId", key, "encryptionAlgorithm", "SYMMETRIC_DEFAULT", "encryptionContext", obj("aws:s3:arn", "arn:aws:s3:::"+c.appBucket))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::KMS::Key", ARN: key}}
		return rec
	}},
	{weight: 3, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "cloudtrail.amazonaws.com", pick(c.r, []string{"LookupEvents", "DescribeTrails", "GetTrailStatus"}), true)
		rec.RequestParameters = obj("maxResults", 50)
		return rec
	}},
	{weight: 4, build: func(c *chain, t time.Time) *ctRecord {
		ro := c.p.roles[3]
		a := actor{kind: actorAssumedRole, id: c.assumedRole(ro, "ingest-fn", t, false), ip: c.privateIP(), userAgent: "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 exec-env/AWS_Lambda_provided.al2"}
		a.id.InScopeOf = &inScopeOf{SourceARN: c.arnOf("lambda", "function:ingest"), SourceAccount: c.acct.ID, IssuerType: "AWS::Lambda::Function", CredentialsIssuedTo: a.id.ARN}
		rec := c.newRecord(t, a, "logs.amazonaws.com", "CreateLogStream", false)
		rec.EventVersion = pick(c.r, []string{"1.10", "1.11"})
		rec.RequestParameters = obj("logGroupName", "/aws/lambda/ingest", "logStreamName", t.Format("2006/01/02")+"/[$LATEST]"+c.r.hex(32))
		return rec
	}},
	{weight: 4, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "secretsmanager.amazonaws.com", "GetSecretValue", true)
		sec := c.arnOf("secretsmanager", "secret:prod/db/password-"+c.r.mixedAlnum(6))
		rec.RequestParameters = obj("secretId", sec)
		c.maybeFail(rec, 0.1)
		return rec
	}},
	{weight: 4, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "ssm.amazonaws.com", "GetParameter", true)
		rec.RequestParameters = obj("name", "/app/config/"+pick(c.r, []string{"feature-flags", "endpoint", "timeout"}), "withDecryption", c.r.chance(0.5))
		return rec
	}},
	{weight: 3, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "monitoring.amazonaws.com", pick(c.r, []string{"GetMetricData", "DescribeAlarms"}), true)
		rec.RequestParameters = obj("maxRecords", 100)
		return rec
	}},
	{weight: 1, global: true, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "organizations.amazonaws.com", pick(c.r, []string{"DescribeOrganization", "ListAccounts"}), true)
		return rec
	}},
	// Data events: S3 objects, Lambda invocations, DynamoDB items.
	{weight: 14, build: func(c *chain, t time.Time) *ctRecord {
		get := c.r.chance(0.7)
		name := "PutObject"
		if get {
			name = "GetObject"
		}
		rec := c.newRecord(t, c.pickActor(t, false), "s3.amazonaws.com", name, get)
		key := pick(c.r, []string{"orders/", "invoices/", "exports/"}) + t.Format("2006/01/02/") + c.r.lowerAlnum(12) + ".json"
		rec.RequestParameters = obj("bucketName", c.appBucket, "Host", c.appBucket+".s3."+c.region+".amazonaws.com", "key", key)
		n := 200 + c.r.IntN(200000)
		in, out := 0, n
		if !get {
			in, out = n, 0
		}
		rec.AdditionalEventData = obj("SignatureVersion", "SigV4", "CipherSuite", "TLS_AES_128_GCM_SHA256", "bytesTransferredIn", in, "AuthenticationMethod", "AuthHeader", "x-amz-id-2", c.r.mixedAlnum(56)+"=", "bytesTransferredOut", out)
		rec.Resources = []resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + c.appBucket + "/" + key}, {AccountID: c.acct.ID, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + c.appBucket}}
		rec.ManagementEvent = ptr(false)
		rec.EventCategory = "Data"
		c.maybeFail(rec, 0.04)
		return rec
	}},
	{weight: 5, build: func(c *chain, t time.Time) *ctRecord {
		a := c.pickActor(t, true)
		rec := c.newRecord(t, a, "lambda.amazonaws.com", "Invoke", false)
		fn := c.arnOf("lambda", "function:"+pick(c.r, []string{"ingest", "orders-api", "nightly-report"}))
		rec.RequestParameters = obj("functionName", fn, "invocationType", pick(c.r, []string{"RequestResponse", "Event"}))
		rec.AdditionalEventData = obj("functionVersion", fn+":$LATEST")
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::Lambda::Function", ARN: fn}}
		rec.ManagementEvent = ptr(false)
		rec.EventCategory = "Data"
		return rec
	}},
	{weight: 4, build: func(c *chain, t time.Time) *ctRecord {
		rec := c.newRecord(t, c.pickActor(t, false), "dynamodb.amazonaws.com", pick(c.r, []string{"GetItem", "Query", "PutItem"}), true)
		rec.ReadOnly = ptr(rec.EventName != "PutItem")
		table := c.arnOf("dynamodb", "table/orders")
		rec.RequestParameters = obj("tableName", "orders", "key", obj("orderId", obj("S", c.r.uuid())))
		rec.Resources = []resource{{AccountID: c.acct.ID, Type: "AWS::DynamoDB::Table", ARN: table}}
		rec.ManagementEvent = ptr(false)
		rec.EventCategory = "Data"
		return rec
	}},
	// Console sign-ins: with and without MFA, and the occasional failure.
	{weight: 2, global: true, build: func(c *chain, t time.Time) *ctRecord {
		u := pick(c.r, c.p.users[:2])
		mfa := c.r.chance(0.9)
		rec := c.consoleLogin(t, c.iamUser(u, t, false), c.r.publicIP(), mfa, c.r.chance(0.1), false)
		return rec
	}},
	// IAM Identity Center users in the access portal.
	{weight: 2, global: true, build: func(c *chain, t time.Time) *ctRecord {
		a := actor{kind: actorIdentityCenter, ip: c.r.publicIP(), userAgent: consoleUA, id: &identity{
			Type: "IdentityCenterUser", AccountID: c.acct.ID,
			OnBehalfOf:   &onBehalfOf{UserID: pick(c.r, c.p.icUsers), IdentityStoreARN: c.p.idStore},
			CredentialID: c.r.mixedAlnum(32),
		}}
		rec := c.newRecord(t, a, "sso.amazonaws.com", pick(c.r, []string{"ListAccounts", "ListAccountRoles", "GetRoleCredentials", "Federate"}), true)
		rec.EventVersion = pick(c.r, []string{"1.10", "1.11"})
		rec.RequestParameters = nil
		rec.TLSDetails = nil
		return rec
	}},
	// Service events without a user identity type (as Secrets Manager and EC2 write them).
	{weight: 1, build: func(c *chain, t time.Time) *ctRecord {
		a := actor{kind: actorAWSService, ip: "secretsmanager.amazonaws.com", userAgent: "", id: &identity{AccountID: c.acct.ID, InvokedBy: "secretsmanager.amazonaws.com"}}
		rec := c.newRecord(t, a, "secretsmanager.amazonaws.com", "RotationSucceeded", false)
		rec.EventType = "AwsServiceEvent"
		rec.ReadOnly = nil
		rec.RequestID = ""
		rec.SourceIPAddress = "secretsmanager.amazonaws.com"
		rec.ServiceEventDetails = obj("versionId", c.r.uuid())
		rec.AdditionalEventData = obj("SecretId", c.arnOf("secretsmanager", "secret:prod/db/password-"+c.r.mixedAlnum(6)))
		return rec
	}},
}

var templateWeights = func() []int {
	w := make([]int, len(templates))
	for i, t := range templates {
		w[i] = t.weight
	}
	return w
}()

// consoleLogin builds a ConsoleLogin record. badUser hides the user name the way CloudTrail does
// when the name typed does not exist.
func (c *chain) consoleLogin(t time.Time, id *identity, ip string, mfa, failed, badUser bool) *ctRecord {
	a := actor{kind: actorIAMUser, id: id, ip: ip, userAgent: consoleUA, console: false}
	rec := c.newRecord(t, a, "signin.amazonaws.com", "ConsoleLogin", false)
	rec.EventType = "AwsConsoleSignIn"
	rec.AWSRegion = c.region
	rec.ReadOnly = ptr(false)
	rec.RequestID = ""
	rec.TLSDetails = &tlsDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "signin.aws.amazon.com"}
	rec.RequestParameters = nil
	mfaUsed := "No"
	if mfa {
		mfaUsed = "Yes"
	}
	loginTo := "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_" + c.region + "_" + c.r.hex(16)
	if failed {
		rec.ErrorMessage = "Failed authentication"
		rec.ResponseElements = obj("ConsoleLogin", "Failure")
		rec.AdditionalEventData = obj("LoginTo", loginTo, "MobileVersion", "No", "MFAUsed", mfaUsed)
		if badUser {
			id.UserName = "HIDDEN_DUE_TO_SECURITY_REASONS"
			id.ARN = ""
			id.PrincipalID = ""
			id.AccessKeyID = ""
		}
	} else {
		rec.ResponseElements = obj("ConsoleLogin", "Success")
		if mfa {
			mfaID := "arn:aws:iam::" + c.acct.ID + ":mfa/" + id.UserName
			if id.Type == "Root" {
				mfaID = "arn:aws:iam::" + c.acct.ID + ":mfa/root-account-mfa-device"
			}
			rec.AdditionalEventData = obj("LoginTo", loginTo, "MobileVersion", "No", "MFAIdentifier", mfaID, "MFAUsed", mfaUsed)
		} else {
			rec.AdditionalEventData = obj("LoginTo", loginTo, "MobileVersion", "No", "MFAUsed", mfaUsed)
		}
	}
	id.AccessKeyID = ""
	id.SessionContext = nil
	return rec
}

// insightRecord is a CloudTrail Insights record (a different shape: no identity, source or name at
// the top level).
type insightRecord struct {
	EventVersion       string          `json:"eventVersion"`
	EventTime          string          `json:"eventTime"`
	AWSRegion          string          `json:"awsRegion"`
	EventID            string          `json:"eventID"`
	EventType          string          `json:"eventType"`
	RecipientAccountID string          `json:"recipientAccountId"`
	SharedEventID      string          `json:"sharedEventID"`
	InsightDetails     json.RawMessage `json:"insightDetails"`
	EventCategory      string          `json:"eventCategory"`
}

func (c *chain) insightPair(start, end time.Time) []insightRecord {
	shared := c.r.uuid()
	details := func(state string) json.RawMessage {
		stats := obj("baseline", obj("average", 0.0347), "insight", obj("average", 2.4))
		if state == "End" {
			stats = obj("baseline", obj("average", 0.0347), "insight", obj("average", 2.1), "insightDuration", 22, "baselineDuration", 10079)
		}
		arnAttr := "arn:aws:sts::" + c.acct.ID + ":assumed-role/" + c.p.roles[2].name + "/GitHubActions"
		return obj("state", state, "eventSource", "ec2.amazonaws.com", "eventName", "RunInstances", "insightType", "ApiCallRateInsight",
			"insightContext", obj("statistics", stats, "attributions", arr(
				obj("attribute", "userIdentityArn", "insight", arr(obj("value", arnAttr, "average", 2.1)), "baseline", arr(obj("value", arnAttr, "average", 0.03))),
				obj("attribute", "userAgent", "insight", arr(obj("value", userAgents[3], "average", 2.1)), "baseline", arr(obj("value", userAgents[3], "average", 0.03))),
				obj("attribute", "errorCode", "insight", arr(obj("value", "null", "average", 2.4)), "baseline", arr(obj("value", "null", "average", 0.0347))),
			)))
	}
	mk := func(t time.Time, state string) insightRecord {
		return insightRecord{EventVersion: "1.08", EventTime: t.Format(ctTime), AWSRegion: c.region, EventID: c.r.uuid(), EventType: "AwsCloudTrailInsight",
			RecipientAccountID: c.acct.ID, SharedEventID: shared, InsightDetails: details(state), EventCategory: "Insight"}
	}
	return []insightRecord{mk(start, "Start"), mk(end, "End")}
}
