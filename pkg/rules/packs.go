package rules

import "fmt"

// The built-in packs. Patterns are copied character for character from their sources, quirks
// included: CIS 4.1 and 4.13 mix || and && without parentheses, and since && binds tighter, their
// trailing conditions apply only to the last/first alternative. We keep them exact because CIS
// audits (and Security Hub's CloudWatch.x controls) compare filter patterns textually.

// CISNamespace is the namespace the CIS remediation steps use.
const CISNamespace = "CISBenchmark"

type cisEntry struct {
	control, name, metric, pattern string
}

// cisFilters: CIS Amazon Web Services Foundations Benchmark v3.0.0, section 4 ("Monitoring"),
// controls 4.1–4.15, remediation filter patterns.
var cisFilters = []cisEntry{
	{"4.1", "UnauthorizedAPICalls", "unauthorized_api_calls_metric",
		`{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }`},
	{"4.2", "ConsoleSignInWithoutMFA", "no_mfa_console_signin_metric",
		`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`},
	{"4.3", "RootAccountUsage", "root_usage_metric",
		`{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`},
	{"4.4", "IAMPolicyChanges", "iam_changes_metric",
		`{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`},
	{"4.5", "CloudTrailConfigChanges", "cloudtrail_cfg_changes_metric",
		`{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }`},
	{"4.6", "ConsoleAuthenticationFailures", "console_signin_failure_metric",
		`{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`},
	{"4.7", "DisableOrDeleteCMK", "disable_or_delete_cmk_changes_metric",
		`{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }`},
	{"4.8", "S3BucketPolicyChanges", "s3_bucket_policy_changes_metric",
		`{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }`},
	{"4.9", "AWSConfigChanges", "aws_config_changes_metric",
		`{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel) ||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }`},
	{"4.10", "SecurityGroupChanges", "security_group_changes_metric",
		`{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }`},
	{"4.11", "NACLChanges", "nacl_changes_metric",
		`{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }`},
	{"4.12", "NetworkGatewayChanges", "network_gw_changes_metric",
		`{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }`},
	{"4.13", "RouteTableChanges", "route_table_changes_metric",
		`{($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }`},
	{"4.14", "VPCChanges", "vpc_changes_metric",
		`{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }`},
	{"4.15", "OrganizationsChanges", "organizations_changes",
		`{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }`},
}

// CIS returns the CIS AWS Foundations monitoring filters (v3.0.0 controls 4.1–4.15) as rules on
// CloudTrail records, each publishing 1 per matching event into namespace (CISNamespace when empty),
// with the metric names the benchmark's remediation uses.
func CIS(namespace string) []Rule {
	if namespace == "" {
		namespace = CISNamespace
	}
	out := make([]Rule, 0, len(cisFilters))
	for _, e := range cisFilters {
		out = append(out, Rule{
			FilterName:    "CIS-" + e.control + "-" + e.name,
			FilterPattern: e.pattern,
			MetricTransformations: []Transformation{{
				MetricName: e.metric, MetricNamespace: namespace, MetricValue: "1",
			}},
			Sources: []string{"cloudtrail"},
		})
	}
	return out
}

// ElevatedRoleNamespace is the namespace of the elevated-role alarm's metric.
const ElevatedRoleNamespace = "OrgTrailMetrics"

// DefaultEnvPrefix is the metric name prefix when none is configured.
const DefaultEnvPrefix = "prod"

// ElevatedRolePattern is the organization-trail filter behind the alarm "Security switched to
// Elevated Role in Prod", verbatim.
const ElevatedRolePattern = `{($.eventName = "SwitchRole") && ($.userIdentity.arn = "arn:aws:sts::*:assumed-role/elevated-security-role/*") }`

// ElevatedRole returns the SwitchRole-into-elevated-security-role rule, publishing 1 per match to
// OrgTrailMetrics/<prefix>-switch-elevated-count (prefix DefaultEnvPrefix when empty).
func ElevatedRole(prefix string) Rule {
	if prefix == "" {
		prefix = DefaultEnvPrefix
	}
	return Rule{
		FilterName:    prefix + "-switch-elevated-role",
		FilterPattern: ElevatedRolePattern,
		MetricTransformations: []Transformation{{
			MetricName: prefix + "-switch-elevated-count", MetricNamespace: ElevatedRoleNamespace,
			MetricValue: "1", Unit: "Count",
		}},
		Sources: []string{"cloudtrail"},
	}
}

// Builtin returns the named built-in packs: "cis" (CIS AWS Foundations monitoring filters) and
// "elevated-role" (the SwitchRole alarm rule with the given prefix).
func Builtin(names []string, prefix string) ([]Rule, error) {
	var out []Rule
	for _, n := range names {
		switch n {
		case "cis":
			out = append(out, CIS("")...)
		case "elevated-role":
			out = append(out, ElevatedRole(prefix))
		default:
			return nil, fmt.Errorf("rules: unknown built-in pack %q (want cis or elevated-role)", n)
		}
	}
	return out, nil
}
