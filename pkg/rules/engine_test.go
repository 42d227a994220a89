package rules

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/parse"
)

func f64(v float64) *float64 { return &v }

// customRules are fifteen org-trail rules of the kinds teams add beside CIS: exact event names,
// globs, wildcards, regexes, unary atoms, dimensions and system fields. Several name fields the
// prefilter cannot see, so they scan every record.
func customRules() []Rule {
	one := func(name, pattern string) Rule {
		return Rule{FilterName: name, FilterPattern: pattern,
			MetricTransformations: []Transformation{{MetricName: name + "-count", MetricNamespace: "OrgTrailMetrics", MetricValue: "1", Unit: "Count"}}}
	}
	rules := []Rule{
		ElevatedRole("prod"),
		one("iam-user-creds", `{ $.eventName = "CreateUser" || $.eventName = "CreateAccessKey" || $.eventName = "CreateLoginProfile" }`),
		one("sts-assume-errors", `{ $.eventSource = "sts.amazonaws.com" && $.eventName = "AssumeRole" && $.errorCode = * }`),
		one("org-access-role", `{ $.userIdentity.sessionContext.sessionIssuer.userName = "OrganizationAccountAccessRole" }`),
		one("public-access-block", `{ $.eventName = "PutBucketPublicAccessBlock" || $.eventName = "DeletePublicAccessBlock" }`),
		one("open-ingress", `{ $.eventName = "AuthorizeSecurityGroupIngress" && $.requestParameters.ipPermissions.items[0].ipRanges.items[0].cidrIp = "0.0.0.0/0" }`),
		one("secret-reads", `{ $.eventName = "GetSecretValue" && $.userIdentity.type = "AssumedRole" }`),
		one("guardduty-tamper", `{ $.eventSource = "guardduty.amazonaws.com" && ($.eventName = "DeleteDetector" || $.eventName = "DisassociateFromMasterAccount") }`),
		one("cli-writes", `{ $.userAgent = "*aws-cli*" && $.readOnly IS FALSE }`),
		one("console-from-outside", `{ $.eventName = "ConsoleLogin" && $.sourceIPAddress != "192.168.*" }`),
		one("throttling", `{ $.errorCode = "ThrottlingException" }`),
		one("bucket-deletes", `{ $.eventName = %^DeleteBucket% }`),
		one("kms-resources", `{ $.resources[*].ARN = "arn:aws:kms:*" }`),
		one("old-tls", `{ $.tlsDetails.tlsVersion = "TLSv1" || $.tlsDetails.tlsVersion = "TLSv1.1" }`),
		{FilterName: "instance-stops", FilterPattern: `{ $.eventName = "StopInstances" || $.eventName = "TerminateInstances" }`,
			MetricTransformations: []Transformation{{MetricName: "instance-stops", MetricNamespace: "OrgTrailMetrics", MetricValue: "1",
				Dimensions: []Dimension{{"EventName", "$.eventName"}}}},
			EmitSystemFieldDimensions: []string{"@aws.account"}},
	}
	return rules
}

func corpus(tb testing.TB) ([]*parse.Record, []Lineage) {
	var recs []*parse.Record
	var lins []Lineage
	for _, f := range sampleFiles(tb) {
		for _, r := range decodeAll(tb, f.key, f.body) {
			recs = append(recs, r)
			lins = append(lins, Lineage{Bucket: "archive", Key: f.key})
		}
	}
	return recs, lins
}

func runEngine(t *testing.T, set *Set, opts EngineOptions, recs []*parse.Record, lins []Lineage) ([]Finding, []byte) {
	t.Helper()
	var out bytes.Buffer
	agg := emf.New(&out, emf.Options{MaxAge: -1, MaxFuture: -1})
	e := NewEngine(set, agg, opts)
	var findings []Finding
	for i, r := range recs {
		var err error
		findings, err = e.Process(r, lins[i], findings)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Close(); err != nil {
		t.Fatal(err)
	}
	return findings, out.Bytes()
}

// TestEngineOnSamples: over the 2,900 real records, the typed-field prefilter changes nothing —
// same findings, same EMF documents — and the rules find what SOURCES.md says is there.
func TestEngineOnSamples(t *testing.T) {
	recs, lins := corpus(t)
	if len(recs) != 2900 {
		t.Fatalf("%d records, want 2900", len(recs))
	}
	rules := append(CIS(""), customRules()...)
	// A rule with a default value publishes on every record, prefilter or not.
	rules = append(rules, Rule{FilterName: "console-logins", FilterPattern: `{ $.eventName = ConsoleLogin }`,
		MetricTransformations: []Transformation{{MetricName: "logins", MetricNamespace: "T", MetricValue: "1", DefaultValue: f64(0)}}})
	set, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fast, fastEMF := runEngine(t, set, EngineOptions{}, recs, lins)
	slow, slowEMF := runEngine(t, set, EngineOptions{NoPrefilter: true}, recs, lins)
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("prefilter changed findings: %d vs %d", len(fast), len(slow))
	}
	if !bytes.Equal(fastEMF, slowEMF) {
		t.Errorf("prefilter changed metrics")
	}
	perRule := map[string]int{}
	for _, f := range fast {
		perRule[f.Rule]++
	}
	// SOURCES.md: 2 ConsoleLogin records (MFAUsed Yes and No), about 10% of records carry errorCode.
	if perRule["console-logins"] != 2 {
		t.Errorf("console-logins %d, want 2", perRule["console-logins"])
	}
	if n := perRule["CIS-4.1-UnauthorizedAPICalls"]; n == 0 || n > 290 {
		t.Errorf("unauthorized API calls: %d findings, want some and at most the ~10%% with errorCode", n)
	}
	if bytes.Count(fastEMF, []byte(`"logins"`)) == 0 {
		t.Error("no logins metric")
	}
	t.Logf("findings per rule: %v", perRule)
}

func TestEngineFinding(t *testing.T) {
	set, err := Compile([]Rule{ElevatedRole("prod")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	agg := emf.New(&out, emf.Options{MaxAge: -1, MaxFuture: -1})
	e := NewEngine(set, agg, EngineOptions{})
	event := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice","accountId":"123456789012"},` +
		`"eventTime":"2026-09-16T08:30:12Z","eventSource":"signin.amazonaws.com","eventName":"SwitchRole","awsRegion":"eu-west-1",` +
		`"eventID":"3f1c2e5a-0000-4000-8000-000000000001","recipientAccountId":"123456789012"}`
	rec := ctRecord(t, event)
	rec.Index = 7
	findings, err := e.Process(rec, Lineage{Bucket: "org-archive", Key: "AWSLogs/o-abc/123456789012/CloudTrail/eu-west-1/x.json.gz"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 {
		t.Fatalf("%d findings", len(findings))
	}
	f := findings[0]
	want := Finding{
		EventTime: time.Date(2026, 9, 16, 8, 30, 12, 0, time.UTC), Rule: "prod-switch-elevated-role",
		MetricNamespace: "OrgTrailMetrics", MetricName: "prod-switch-elevated-count", MetricValue: f64(1),
		Source: "cloudtrail", Account: "123456789012", Region: "eu-west-1",
		EventID: "3f1c2e5a-0000-4000-8000-000000000001", EventJSON: event,
		SourceBucket: "org-archive", SourceKey: "AWSLogs/o-abc/123456789012/CloudTrail/eu-west-1/x.json.gz", SourceIndex: 7,
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("finding\n got %+v\nwant %+v", f, want)
	}
	other := ctRecord(t,
		`{"eventVersion":"1.08","userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/dev/alice"},"eventTime":"2026-09-16T08:31:00Z","eventName":"SwitchRole"}`)
	if fs, _ := e.Process(other, Lineage{}, nil); len(fs) != 0 {
		t.Errorf("other role matched: %+v", fs)
	}
	if err := agg.Close(); err != nil {
		t.Fatal(err)
	}
	wantEMF := `{"_aws":{"Timestamp":1789547400000,"CloudWatchMetrics":[{"Namespace":"OrgTrailMetrics","Dimensions":[[]],"Metrics":[{"Name":"prod-switch-elevated-count","Unit":"Count"}]}]},"prod-switch-elevated-count":1}` + "\n"
	if out.String() != wantEMF {
		t.Errorf("EMF\n got %s\nwant %s", out.String(), wantEMF)
	}
}

// TestEngineOtherSources: rules scoped to flow logs and resolver logs see only those records.
func TestEngineOtherSources(t *testing.T) {
	rules := []Rule{
		{FilterName: "rejected-ssh", Sources: []string{"vpcflow"},
			FilterPattern: `[version, account, eni, source, destination, srcport, destport = 22, protocol, packets, bytes, windowstart, windowend, action = REJECT, flowlogstatus]`,
			MetricTransformations: []Transformation{{MetricName: "rejected-ssh-bytes", MetricNamespace: "Net", MetricValue: "$bytes", Unit: "Bytes",
				Dimensions: []Dimension{{"Eni", "$eni"}}}}},
		{FilterName: "nxdomain", Sources: []string{"resolver"}, FilterPattern: `{ $.rcode = "NXDOMAIN" }`,
			MetricTransformations:     []Transformation{{MetricName: "nxdomain", MetricNamespace: "Dns", MetricValue: "1"}},
			EmitSystemFieldDimensions: []string{"@aws.region"}},
	}
	set, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	agg := emf.New(&out, emf.Options{MaxAge: -1, MaxFuture: -1})
	now := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	e := NewEngine(set, agg, EngineOptions{Now: func() time.Time { return now }})
	flow := &parse.Record{Source: parse.SourceVPCFlow,
		Raw:  []byte(`2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 REJECT OK`),
		Flow: &parse.FlowRecord{AccountID: "123456789010", Start: parse.OptInt64{V: 1418530010, Valid: true}}}
	dns := &parse.Record{Source: parse.SourceResolver,
		Raw: []byte(`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","query_name":"nope.example.","rcode":"NXDOMAIN"}`),
		DNS: &parse.ResolverQuery{AccountID: "111122223333", Region: "us-east-1"}}
	var findings []Finding
	for _, r := range []*parse.Record{flow, dns} {
		if findings, err = e.Process(r, Lineage{}, findings); err != nil {
			t.Fatal(err)
		}
	}
	if len(findings) != 2 || findings[0].Rule != "rejected-ssh" || *findings[0].MetricValue != 4249 || findings[1].Rule != "nxdomain" {
		t.Fatalf("findings %+v", findings)
	}
	if !findings[1].EventTime.Equal(now) || findings[1].Region != "us-east-1" {
		t.Errorf("resolver finding without time uses Now: %+v", findings[1])
	}
	_ = agg.Close()
	for _, want := range []string{`"Eni":"eni-1235b8ca123456789","rejected-ssh-bytes":4249`, `"@aws.region":"us-east-1","nxdomain":1`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("EMF lacks %s:\n%s", want, out.String())
		}
	}
}

// TestEngineConcurrent: one Engine and one aggregator shared by several workers give the same
// findings and the same number of samples as a single worker.
func TestEngineConcurrent(t *testing.T) {
	recs, lins := corpus(t)
	set, err := Compile(append(CIS(""), customRules()...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := runEngine(t, set, EngineOptions{}, recs, lins)
	agg := emf.New(io.Discard, emf.Options{MaxAge: -1, MaxFuture: -1})
	e := NewEngine(set, agg, EngineOptions{})
	const workers = 4
	results := make([][]Finding, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(recs); i += workers {
				var err error
				results[w], err = e.Process(recs[i], lins[i], results[w])
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, r := range results {
		total += len(r)
	}
	if total != len(want) {
		t.Errorf("%d findings concurrently, %d sequentially", total, len(want))
	}
	if agg.Pending() != len(want) {
		t.Errorf("%d samples pending, want one per finding (%d)", agg.Pending(), len(want))
	}
}

// TestEngineFieldSelection: events outside fieldSelectionCriteria publish nothing, not even the
// default value, and produce no finding.
func TestEngineFieldSelection(t *testing.T) {
	rule := ElevatedRole("prod")
	rule.FieldSelectionCriteria = `@aws.account IN ["123456789012"]`
	rule.MetricTransformations[0].DefaultValue = f64(0)
	set, err := Compile([]Rule{rule}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	agg := emf.New(io.Discard, emf.Options{MaxAge: -1, MaxFuture: -1})
	e := NewEngine(set, agg, EngineOptions{})
	ev := func(account string) string {
		return `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::` + account +
			`:assumed-role/elevated-security-role/alice"},"eventTime":"2026-09-16T08:30:12Z","eventName":"SwitchRole","recipientAccountId":"` + account + `"}`
	}
	var findings []Finding
	for _, acct := range []string{"123456789012", "999999999999"} {
		if findings, err = e.Process(ctRecord(t, ev(acct)), Lineage{}, findings); err != nil {
			t.Fatal(err)
		}
	}
	if len(findings) != 1 || findings[0].Account != "123456789012" {
		t.Errorf("findings %+v, want only the selected account", findings)
	}
	if s := agg.Stats(); s.Added != 1 {
		t.Errorf("%d samples, want 1 (the unselected event publishes no default)", s.Added)
	}
	bad := rule
	bad.FieldSelectionCriteria = `@aws.account = 1`
	var re *Error
	if _, err := Compile([]Rule{bad}, Options{}); !errors.As(err, &re) || re.Field != "FieldSelectionCriteria" {
		t.Errorf("bad criteria: %v", err)
	}
}
