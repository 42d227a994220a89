package synth

import (
	"encoding/json"
	"time"
)

// Scenario names: the security-relevant events planted in the prod account that detections and
// metric filters must find. Each planted record is listed in Manifest.Scenario.
const (
	ScenarioFailedConsoleLogin = "failed-console-login"  // five failures, the last with an unknown user name
	ScenarioConsoleLoginNoMFA  = "console-login-no-mfa"  // the attacker gets in without MFA
	ScenarioSwitchRole         = "switch-role-elevated"  // SwitchRole into elevated-security-role
	ScenarioIAMPolicyChange    = "iam-policy-change"     // AttachRolePolicy, PutRolePolicy, CreatePolicyVersion, DeleteUserPolicy
	ScenarioSecurityGroup      = "security-group-change" // AuthorizeSecurityGroupIngress 0.0.0.0/0:22, RevokeSecurityGroupEgress, CreateSecurityGroup
	ScenarioRootLogin          = "root-console-login"    // root signs in
	ScenarioRootUsage          = "root-api-call"         // root creates an access key
	ScenarioUnauthorized       = "unauthorized-api-call" // the elevated session probes and is refused
	ScenarioCloudTrailChange   = "cloudtrail-config-change"
	ScenarioKMSKeyDisable      = "kms-key-disable-or-delete"
	ScenarioS3BucketPolicy     = "s3-bucket-policy-change"
	ScenarioConfigChange       = "aws-config-change"
	ScenarioNACLChange         = "nacl-change"
	ScenarioGatewayChange      = "network-gateway-change"
	ScenarioRouteTableChange   = "route-table-change"
	ScenarioVPCChange          = "vpc-change"
	ScenarioOrganizations      = "organizations-change" // prod tries to leave the organization
)

// Scenarios lists every scenario name; together they trigger each CIS AWS Foundations v3.0
// monitoring filter (4.1-4.15) and the elevated-role alarm at least once.
func Scenarios() []string {
	return []string{ScenarioFailedConsoleLogin, ScenarioConsoleLoginNoMFA, ScenarioSwitchRole, ScenarioIAMPolicyChange,
		ScenarioSecurityGroup, ScenarioRootLogin, ScenarioRootUsage, ScenarioUnauthorized, ScenarioCloudTrailChange,
		ScenarioKMSKeyDisable, ScenarioS3BucketPolicy, ScenarioConfigChange, ScenarioNACLChange, ScenarioGatewayChange,
		ScenarioRouteTableChange, ScenarioVPCChange, ScenarioOrganizations}
}

// ElevatedRoleName is the role the scenario switches into.
const ElevatedRoleName = "elevated-security-role"

// ScenarioEvent identifies one planted record.
type ScenarioEvent struct {
	Scenario  string    `json:"scenario"`
	EventID   string    `json:"eventId"`
	EventName string    `json:"eventName"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Time      time.Time `json:"time"`
	Key       string    `json:"key"` // the CloudTrail log file that holds it
}

// planted is a scenario record waiting for its 5-minute window.
type planted struct {
	scenario string
	rec      *ctRecord
}

// plantScenario builds the scenario records for the prod account's chain in the global-service
// region. The story unfolds over the run: a password spray, a login without MFA, a switch into the
// elevated role, then policy and security-group changes and finally root activity. Times are fixed
// fractions of the run so that every scenario lands inside it whatever Hours is.
func (c *chain) plantScenario() []planted {
	o := c.g.opts
	span := time.Duration(o.Hours) * time.Hour
	at := func(frac float64, extra time.Duration) time.Time {
		return o.Start.Add(time.Duration(float64(span)*frac) + extra).Truncate(time.Second)
	}
	attackerIP := c.g.attackerIP
	victim := c.p.users[1] // bob
	var out []planted
	add := func(s string, rec *ctRecord) { out = append(out, planted{s, rec}) }

	// Password spray: four failures for the real user, one for a user name that does not exist.
	for i := range 5 {
		t := at(0.12, time.Duration(i*17)*time.Second)
		id := c.iamUser(victim, t, false)
		add(ScenarioFailedConsoleLogin, c.consoleLogin(t, id, attackerIP, false, true, i == 4))
	}
	tLogin := at(0.12, 3*time.Minute)
	add(ScenarioConsoleLoginNoMFA, c.consoleLogin(tLogin, c.iamUser(victim, tLogin, false), attackerIP, false, false, false))

	// SwitchRole: a console sign-in event whose identity is the assumed elevated role.
	tSwitch := at(0.35, 0)
	{
		a := actor{kind: actorAssumedRole, id: c.assumedRole(c.p.elevated, victim.name, tSwitch, false), ip: attackerIP, userAgent: consoleUA}
		rec := c.newRecord(tSwitch, a, "signin.amazonaws.com", "SwitchRole", false)
		rec.EventType = "AwsConsoleSignIn"
		rec.RequestID = ""
		rec.RequestParameters = nil
		rec.ResponseElements = obj("SwitchRole", "Success")
		rec.AdditionalEventData = obj("SwitchFrom", c.p.userARN(victim), "RedirectTo", "https://console.aws.amazon.com/iam/home?region="+c.region)
		rec.TLSDetails = &tlsDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "signin.aws.amazon.com"}
		add(ScenarioSwitchRole, rec)
	}
	elevated := func(t time.Time) actor {
		a := actor{kind: actorAssumedRole, id: c.assumedRole(c.p.elevated, victim.name, t, false), ip: attackerIP, userAgent: consoleUA, console: true}
		return a
	}

	// IAM policy changes by the elevated session.
	iam := []struct {
		name   string
		params json.RawMessage
	}{
		{"AttachRolePolicy", obj("roleName", c.p.roles[1].name, "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess")},
		{"PutRolePolicy", obj("roleName", c.p.elevated.name, "policyName", "break-glass", "policyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)},
		{"CreatePolicyVersion", obj("policyArn", "arn:aws:iam::"+c.acct.ID+":policy/app-deploy", "policyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","s3:*"],"Resource":"*"}]}`, "setAsDefault", true)},
		{"DeleteUserPolicy", obj("userName", c.p.users[2].name, "policyName", "deny-outside-vpn")},
	}
	for i, e := range iam {
		t := at(0.40, time.Duration(i)*70*time.Second)
		rec := c.newRecord(t, elevated(t), "iam.amazonaws.com", e.name, false)
		rec.RequestParameters = e.params
		add(ScenarioIAMPolicyChange, rec)
	}

	// Security-group changes, opening SSH to the world.
	sg := "sg-0" + c.r.hex(16)
	{
		t := at(0.45, 0)
		rec := c.newRecord(t, elevated(t), "ec2.amazonaws.com", "CreateSecurityGroup", false)
		rec.RequestParameters = obj("groupName", "maintenance", "groupDescription", "temporary access", "vpcId", c.vpc)
		rec.ResponseElements = obj("requestId", rec.RequestID, "_return", true, "groupId", sg)
		add(ScenarioSecurityGroup, rec)

		t = at(0.45, 40*time.Second)
		c.sshOpenedAt = t
		rec = c.newRecord(t, elevated(t), "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false)
		rec.RequestParameters = obj("groupId", sg, "ipPermissions", obj("items", arr(obj("ipProtocol", "tcp", "fromPort", 22, "toPort", 22, "ipRanges", obj("items", arr(obj("cidrIp", "0.0.0.0/0")))))))
		rec.ResponseElements = obj("requestId", rec.RequestID, "_return", true, "securityGroupRuleSet", obj("items", arr(obj("groupOwnerId", c.acct.ID, "groupId", sg, "securityGroupRuleId", "sgr-0"+c.r.hex(16), "isEgress", false, "ipProtocol", "tcp", "fromPort", 22, "toPort", 22, "cidrIpv4", "0.0.0.0/0"))))
		add(ScenarioSecurityGroup, rec)

		t = at(0.45, 95*time.Second)
		rec = c.newRecord(t, elevated(t), "ec2.amazonaws.com", "RevokeSecurityGroupEgress", false)
		rec.RequestParameters = obj("groupId", sg, "ipPermissions", obj("items", arr(obj("ipProtocol", "-1", "ipRanges", obj("items", arr(obj("cidrIp", "0.0.0.0/0")))))))
		rec.ResponseElements = obj("requestId", rec.RequestID, "_return", true)
		add(ScenarioSecurityGroup, rec)
	}

	// The rest of the elevated session: every other control the CIS monitoring filters watch.
	type call struct {
		scenario, source, name string
		params                 json.RawMessage
		errCode, errMsg        string
	}
	igw, rtb, acl := "igw-0"+c.r.hex(16), "rtb-0"+c.r.hex(16), "acl-0"+c.r.hex(16)
	kmsKey := c.arnOf("kms", "key/"+c.kmsKey)
	calls := []call{
		{ScenarioUnauthorized, "ec2.amazonaws.com", "DescribeInstances", obj("maxResults", 1000), "Client.UnauthorizedOperation", "You are not authorized to perform this operation."},
		{ScenarioUnauthorized, "secretsmanager.amazonaws.com", "GetSecretValue", obj("secretId", "prod/db/password"), "AccessDenied", "User is not authorized to perform: secretsmanager:GetSecretValue"},
		{ScenarioCloudTrailChange, "cloudtrail.amazonaws.com", "StopLogging", obj("name", "arn:aws:cloudtrail:"+c.region+":"+c.acct.ID+":trail/prod-local-trail"), "", ""},
		{ScenarioKMSKeyDisable, "kms.amazonaws.com", "DisableKey", obj("keyId", kmsKey), "", ""},
		{ScenarioKMSKeyDisable, "kms.amazonaws.com", "ScheduleKeyDeletion", obj("keyId", kmsKey, "pendingWindowInDays", 7), "", ""},
		{ScenarioS3BucketPolicy, "s3.amazonaws.com", "PutBucketPolicy", obj("bucketName", c.appBucket, "Host", c.appBucket+".s3."+c.region+".amazonaws.com",
			"bucketPolicy", json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+c.appBucket+`/*"}]}`), "policy", ""), "", ""},
		{ScenarioConfigChange, "config.amazonaws.com", "StopConfigurationRecorder", obj("configurationRecorderName", "default"), "", ""},
		{ScenarioNACLChange, "ec2.amazonaws.com", "CreateNetworkAclEntry", obj("networkAclId", acl, "ruleNumber", 90, "egress", false, "ruleAction", "allow", "icmpTypeCode", obj(), "portRange", obj("from", 0, "to", 65535), "aclProtocol", "-1", "cidrBlock", "0.0.0.0/0"), "", ""},
		{ScenarioGatewayChange, "ec2.amazonaws.com", "CreateInternetGateway", obj(), "", ""},
		{ScenarioGatewayChange, "ec2.amazonaws.com", "AttachInternetGateway", obj("internetGatewayId", igw, "vpcId", c.vpc), "", ""},
		{ScenarioRouteTableChange, "ec2.amazonaws.com", "CreateRoute", obj("routeTableId", rtb, "destinationCidrBlock", "0.0.0.0/0", "gatewayId", igw), "", ""},
		{ScenarioVPCChange, "ec2.amazonaws.com", "ModifyVpcAttribute", obj("vpcId", c.vpc, "enableDnsHostnames", obj("value", true)), "", ""},
		{ScenarioVPCChange, "ec2.amazonaws.com", "CreateVpcPeeringConnection", obj("vpcId", c.vpc, "peerVpcId", "vpc-0"+c.r.hex(16), "peerOwnerId", "999988887777"), "", ""},
		{ScenarioOrganizations, "organizations.amazonaws.com", "LeaveOrganization", nil, "AccessDeniedException", "You don't have permissions to access this resource."},
	}
	for i, cl := range calls {
		t := at(0.50, time.Duration(i)*53*time.Second)
		rec := c.newRecord(t, elevated(t), cl.source, cl.name, cl.name == "DescribeInstances" || cl.name == "GetSecretValue")
		rec.RequestParameters = cl.params
		rec.ErrorCode, rec.ErrorMessage = cl.errCode, cl.errMsg
		if cl.errCode == "" && cl.source == "ec2.amazonaws.com" {
			rec.ResponseElements = obj("requestId", rec.RequestID, "_return", true)
		}
		if cl.name == "CreateInternetGateway" {
			rec.ResponseElements = obj("requestId", rec.RequestID, "internetGateway", obj("internetGatewayId", igw, "attachmentSet", obj(), "tagSet", obj()))
		}
		add(cl.scenario, rec)
	}

	// Root: a console sign-in with MFA, then an access key for root.
	tRoot := at(0.70, 0)
	add(ScenarioRootLogin, c.consoleLogin(tRoot, c.root(tRoot, false), c.r.publicIP(), true, false, false))
	{
		t := tRoot.Add(2 * time.Minute)
		a := actor{kind: actorRoot, id: c.root(t, true), ip: c.r.publicIP(), userAgent: consoleUA, console: true}
		rec := c.newRecord(t, a, "iam.amazonaws.com", "CreateAccessKey", false)
		rec.RequestParameters = nil
		rec.ResponseElements = obj("accessKey", obj("accessKeyId", "AKIA"+c.r.upperAlnum(16), "status", "Active", "userName", c.acct.ID, "createDate", t.Format("Jan 2, 2006, 3:04:05 PM")))
		add(ScenarioRootUsage, rec)
	}
	return out
}
