package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/pkg/filter"
	"github.com/logarchive/logarchive/pkg/parse"
)

func TestLoadRulesFile(t *testing.T) {
	yamlText := `
Rules:
  - FilterName: errors
    FilterPattern: '{ $.errorCode = "AccessDenied*" }'
    MetricTransformations:
      - MetricName: denied
        MetricNamespace: Sec
        MetricValue: 1
        DefaultValue: 0
    Sources: [cloudtrail]
  - FilterName: rejects
    FilterPattern: '[version, account, eni, src, dst, srcport, dstport, protocol, packets, bytes, start, end, action = REJECT, status]'
    MetricTransformations:
      - MetricName: rejected-bytes
        MetricNamespace: Net
        MetricValue: $bytes
        Unit: Bytes
        Dimensions:
          - Key: Port
            Value: $dstport
    Sources: [vpcflow]
`
	jsonText := `[{"FilterName":"errors","FilterPattern":"{ $.errorCode = \"AccessDenied*\" }",
  "MetricTransformations":[{"MetricName":"denied","MetricNamespace":"Sec","MetricValue":"1","DefaultValue":0}],
  "Sources":["cloudtrail"]}]`
	for name, text := range map[string]string{"yaml": yamlText, "json": jsonText} {
		rules, err := Load(strings.NewReader(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rules) == 0 || rules[0].FilterName != "errors" || rules[0].MetricTransformations[0].MetricValue != "1" ||
			rules[0].MetricTransformations[0].DefaultValue == nil || *rules[0].MetricTransformations[0].DefaultValue != 0 {
			t.Errorf("%s: %+v", name, rules)
		}
		set, err := Compile(rules, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !set.Rules[0].AppliesTo(parse.SourceCloudTrail) || set.Rules[0].AppliesTo(parse.SourceVPCFlow) {
			t.Errorf("%s: sources wrong", name)
		}
	}
	if _, err := Load(strings.NewReader("Rules:\n  - FilterName: x\n    FilterPatern: y\n")); err == nil {
		t.Error("misspelt key accepted")
	}
}

func TestCompileErrors(t *testing.T) {
	good := Rule{FilterName: "ok", FilterPattern: "ERROR",
		MetricTransformations: []Transformation{{MetricName: "m", MetricNamespace: "n", MetricValue: "1"}}}
	mod := func(f func(*Rule)) Rule {
		r := good
		r.MetricTransformations = append([]Transformation(nil), good.MetricTransformations...)
		f(&r)
		return r
	}
	cases := []struct {
		rule  Rule
		field string
	}{
		{mod(func(r *Rule) { r.FilterName = "" }), "FilterName"},
		{mod(func(r *Rule) { r.FilterName = "a:b" }), "FilterName"},
		{mod(func(r *Rule) { r.FilterPattern = "{ $.a = " }), "FilterPattern"},
		{mod(func(r *Rule) { r.MetricTransformations = nil }), "MetricTransformations"},
		{mod(func(r *Rule) { r.MetricTransformations = append(r.MetricTransformations, r.MetricTransformations[0]) }), "MetricTransformations"},
		{mod(func(r *Rule) { r.MetricTransformations[0].Unit = "Widgets" }), "MetricTransformations[0]"},
		{mod(func(r *Rule) { r.Sources = []string{"cloudtrial"} }), "Sources"},
		{mod(func(r *Rule) { r.Sources = []string{"digest"} }), "Sources"},
		{mod(func(r *Rule) {
			r.FilterPattern = "{ $.a = 1 }"
			r.MetricTransformations[0].Dimensions = []Dimension{{"m", "$.a"}}
		}), "MetricTransformations[0].Dimensions"},
	}
	for _, c := range cases {
		_, err := Compile([]Rule{c.rule}, Options{})
		var re *Error
		if !errors.As(err, &re) || re.Field != c.field {
			t.Errorf("%+v: err %v, want field %s", c.rule, err, c.field)
		}
	}
	_, err := Compile([]Rule{good, good}, Options{})
	var re *Error
	if !errors.As(err, &re) || re.Field != "FilterName" {
		t.Errorf("duplicate names: %v", err)
	}
	// The pattern error is reachable through the rule error.
	_, err = Compile([]Rule{mod(func(r *Rule) { r.FilterPattern = "a*b" })}, Options{})
	var fe *filter.Error
	if !errors.As(err, &fe) || fe.Kind != filter.ErrInvalidChar {
		t.Errorf("pattern error not wrapped: %v", err)
	}
}

// TestCISPack: every CIS filter matches the event it exists for and not a near miss. Events are
// minimal CloudTrail records, parsed by pkg/parse like real deliveries.
func TestCISPack(t *testing.T) {
	set, err := Compile(CIS(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 15 {
		t.Fatalf("%d CIS rules, want 15", len(set.Rules))
	}
	ev := func(fields string) string {
		return `{"eventVersion":"1.08","eventTime":"2023-07-10T11:45:00Z","awsRegion":"us-east-1","recipientAccountId":"123456789012",` + fields + `}`
	}
	cases := []struct {
		control   string
		match, no string
	}{
		{"4.1", ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","errorCode":"Client.UnauthorizedOperation"`),
			ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","errorCode":"Client.InvalidParameter"`)},
		{"4.1", ev(`"eventSource":"s3.amazonaws.com","eventName":"GetObject","errorCode":"AccessDenied","sourceIPAddress":"10.0.0.1"`),
			ev(`"eventSource":"s3.amazonaws.com","eventName":"HeadBucket","errorCode":"AccessDenied","sourceIPAddress":"10.0.0.1"`)},
		{"4.2", ev(`"eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser"},"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}`),
			ev(`"eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser"},"additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"}`)},
		{"4.3", ev(`"eventName":"ListBuckets","eventType":"AwsApiCall","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}`),
			ev(`"eventName":"ListBuckets","eventType":"AwsApiCall","userIdentity":{"type":"Root","invokedBy":"support.amazonaws.com"}`)},
		{"4.4", ev(`"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy"`), ev(`"eventSource":"iam.amazonaws.com","eventName":"GetRolePolicy"`)},
		{"4.5", ev(`"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"`), ev(`"eventSource":"cloudtrail.amazonaws.com","eventName":"LookupEvents"`)},
		{"4.6", ev(`"eventName":"ConsoleLogin","errorMessage":"Failed authentication"`), ev(`"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}`)},
		{"4.7", ev(`"eventSource":"kms.amazonaws.com","eventName":"ScheduleKeyDeletion"`), ev(`"eventSource":"kms.amazonaws.com","eventName":"Decrypt"`)},
		{"4.8", ev(`"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy"`), ev(`"eventSource":"s3.amazonaws.com","eventName":"GetBucketPolicy"`)},
		{"4.9", ev(`"eventSource":"config.amazonaws.com","eventName":"StopConfigurationRecorder"`), ev(`"eventSource":"config.amazonaws.com","eventName":"DescribeConfigRules"`)},
		{"4.10", ev(`"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress"`), ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeSecurityGroups"`)},
		{"4.11", ev(`"eventSource":"ec2.amazonaws.com","eventName":"CreateNetworkAclEntry"`), ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeNetworkAcls"`)},
		{"4.12", ev(`"eventSource":"ec2.amazonaws.com","eventName":"AttachInternetGateway"`), ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeInternetGateways"`)},
		{"4.13", ev(`"eventSource":"ec2.amazonaws.com","eventName":"CreateRoute"`), ev(`"eventSource":"other.amazonaws.com","eventName":"CreateRoute"`)},
		{"4.14", ev(`"eventSource":"ec2.amazonaws.com","eventName":"CreateVpcPeeringConnection"`), ev(`"eventSource":"ec2.amazonaws.com","eventName":"DescribeVpcs"`)},
		{"4.15", ev(`"eventSource":"organizations.amazonaws.com","eventName":"LeaveOrganization"`), ev(`"eventSource":"sso.amazonaws.com","eventName":"LeaveOrganization"`)},
	}
	for _, c := range cases {
		var rule *Compiled
		for _, r := range set.Rules {
			if strings.HasPrefix(r.Rule.FilterName, "CIS-"+c.control+"-") {
				rule = r
			}
		}
		if rule == nil {
			t.Fatalf("no rule for CIS %s", c.control)
		}
		if !rule.Pattern.Match(ctRecord(t, c.match).Raw) {
			t.Errorf("CIS %s should match %s", c.control, c.match)
		}
		if rule.Pattern.Match(ctRecord(t, c.no).Raw) {
			t.Errorf("CIS %s should not match %s", c.control, c.no)
		}
	}
	// CIS 4.13's missing parentheses: && binds tighter, so only CreateRoute checks eventSource.
	for _, r := range set.Rules {
		if strings.HasPrefix(r.Rule.FilterName, "CIS-4.13-") &&
			!r.Pattern.Match(ctRecord(t, ev(`"eventSource":"other.amazonaws.com","eventName":"DeleteRoute"`)).Raw) {
			t.Error("CIS 4.13 is kept verbatim: DeleteRoute from any source matches")
		}
	}
}

func TestElevatedRoleRule(t *testing.T) {
	r := ElevatedRole("")
	if r.MetricTransformations[0].MetricName != "prod-switch-elevated-count" || r.MetricTransformations[0].MetricNamespace != "OrgTrailMetrics" {
		t.Errorf("default rule %+v", r.MetricTransformations[0])
	}
	if got := ElevatedRole("staging").MetricTransformations[0].MetricName; got != "staging-switch-elevated-count" {
		t.Errorf("prefix: %s", got)
	}
	set, err := Compile([]Rule{r}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := set.Rules[0].Pattern
	mk := func(name, arn string) []byte {
		return ctRecord(t, `{"eventVersion":"1.08","eventTime":"2023-07-10T11:45:00Z","eventSource":"signin.amazonaws.com","eventName":"`+name+
			`","userIdentity":{"type":"AssumedRole","arn":"`+arn+`"},"recipientAccountId":"123456789012"}`).Raw
	}
	if !p.Match(mk("SwitchRole", "arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice")) {
		t.Error("SwitchRole into elevated-security-role by alice should match")
	}
	for _, arn := range []string{
		"arn:aws:sts::123456789012:assumed-role/developer-role/alice",
		"arn:aws:sts::123456789012:assumed-role/elevated-security-role-readonly/alice",
		"arn:aws:sts::123456789012:assumed-role/not-elevated-security-role/alice",
	} {
		if p.Match(mk("SwitchRole", arn)) {
			t.Errorf("SwitchRole by %s should not match", arn)
		}
	}
	if p.Match(mk("AssumeRole", "arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice")) {
		t.Error("AssumeRole should not match")
	}
}

func TestBuiltin(t *testing.T) {
	rules, err := Builtin([]string{"cis", "elevated-role"}, "dev")
	if err != nil || len(rules) != 16 || rules[15].MetricTransformations[0].MetricName != "dev-switch-elevated-count" {
		t.Fatalf("Builtin: %d rules, %v", len(rules), err)
	}
	if _, err := Compile(rules, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Builtin([]string{"nist"}, ""); err == nil {
		t.Error("unknown pack accepted")
	}
}
