package synth_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/pkg/synth"
)

// Key layouts from formats.md §1.1, §2.3, §3.1 and cloudtrail-digest.md §2.1.
var (
	reCloudTrail = regexp.MustCompile(`^AWSLogs/o-[a-z0-9]{10,32}/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{4})(\d{2})(\d{2})T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
	reNetwork    = regexp.MustCompile(`^AWSLogs/o-[a-z0-9]{10,32}/(\d{12})/CloudTrail-NetworkActivity/([a-z0-9-]+)/\d{4}/\d{2}/\d{2}/(\d{12})_CloudTrail-NetworkActivity_([a-z0-9-]+)_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
	reInsight    = regexp.MustCompile(`^AWSLogs/o-[a-z0-9]{10,32}/(\d{12})/CloudTrail-Insight/([a-z0-9-]+)/\d{4}/\d{2}/\d{2}/(\d{12})_CloudTrail-Insight_([a-z0-9-]+)_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
	reDigest     = regexp.MustCompile(`^AWSLogs/o-[a-z0-9]{10,32}/(\d{12})/CloudTrail-Digest/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_aws-controltower-BaselineCloudTrail_us-east-1_(\d{4})(\d{2})(\d{2})T\d{6}Z\.json\.gz$`)
	reFlow       = regexp.MustCompile(`^AWSLogs/(\d{12})/vpcflowlogs/([a-z0-9-]+)/\d{4}/\d{2}/\d{2}/(?:(\d{2})/)?(\d{12})_vpcflowlogs_([a-z0-9-]+)_fl-[0-9a-f]{17}_\d{8}T(\d{2})\d{2}Z_[0-9a-f]{8}\.log\.(?:gz|parquet)$`)
	reFlowHive   = regexp.MustCompile(`^AWSLogs/aws-account-id=(\d{12})/aws-service=vpcflowlogs/aws-region=([a-z0-9-]+)/year=\d{4}/month=\d{2}/day=\d{2}/(?:hour=(\d{2})/)?(\d{12})_vpcflowlogs_([a-z0-9-]+)_fl-[0-9a-f]{17}_\d{8}T(\d{2})\d{2}Z_[0-9a-f]{8}\.log\.(?:gz|parquet)$`)
	reResolver   = regexp.MustCompile(`^AWSLogs/(\d{12})/vpcdnsquerylogs/(vpc-[0-9a-f]{17})/\d{4}/\d{2}/\d{2}/(vpc-[0-9a-f]{17})_vpcdnsquerylogs_(\d{12})_\d{8}T\d{4}Z_[0-9a-f]{8}\.log\.gz$`)
)

// classify names a key's table from its layout alone, checking that the repeated parts agree.
func classify(t *testing.T, key string) string {
	t.Helper()
	if m := reCloudTrail.FindStringSubmatch(key); m != nil {
		if m[1] != m[6] || m[2] != m[7] || m[3]+m[4]+m[5] != m[8]+m[9]+m[10] {
			t.Errorf("inconsistent CloudTrail key %s", key)
		}
		return synth.TableCloudTrail
	}
	if m := reNetwork.FindStringSubmatch(key); m != nil {
		if m[1] != m[3] || m[2] != m[4] {
			t.Errorf("inconsistent network activity key %s", key)
		}
		return synth.TableCloudTrail
	}
	if m := reInsight.FindStringSubmatch(key); m != nil {
		if m[1] != m[3] || m[2] != m[4] {
			t.Errorf("inconsistent Insights key %s", key)
		}
		return synth.TableInsight
	}
	if m := reDigest.FindStringSubmatch(key); m != nil {
		if m[1] != m[6] || m[2] != m[7] || m[3]+m[4]+m[5] != m[8]+m[9]+m[10] {
			t.Errorf("inconsistent digest key %s", key)
		}
		return synth.TableDigest
	}
	for _, re := range []*regexp.Regexp{reFlow, reFlowHive} {
		if m := re.FindStringSubmatch(key); m != nil {
			if m[1] != m[4] || m[2] != m[5] || (m[3] != "" && m[3] != m[6]) {
				t.Errorf("inconsistent flow-log key %s", key)
			}
			return synth.TableVPCFlow
		}
	}
	if m := reResolver.FindStringSubmatch(key); m != nil {
		if m[1] != m[4] || m[2] != m[3] {
			t.Errorf("inconsistent Resolver key %s", key)
		}
		return synth.TableResolver
	}
	t.Errorf("key matches no AWS layout: %s", key)
	return ""
}

// countRecords decodes an object and counts its records the way each format defines them.
func countRecords(t *testing.T, a *archive, table, key string) int {
	t.Helper()
	body := a.inflate(t, key)
	switch table {
	case synth.TableCloudTrail, synth.TableInsight:
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return len(doc.Records)
	case synth.TableVPCFlow:
		return bytes.Count(body, []byte("\n")) - 1 // header line
	case synth.TableResolver:
		return bytes.Count(body, []byte("\n"))
	}
	return 0
}

func TestManifestMatchesDisk(t *testing.T) {
	cases := []struct {
		name string
		opts func() synth.Options
	}{
		{"demo preset", func() synth.Options { return synth.DefaultOptions(11) }},
		{"hive hourly, tampered", func() synth.Options {
			o := small(12)
			o.FlowLogHive, o.FlowLogHourly = true, true
			o.Tamper = synth.TamperKinds()
			return o
		}},
		{"hourly, network activity", func() synth.Options {
			o, _ := synth.Preset("tiny", 13)
			o.FlowLogHourly, o.NetworkActivity = true, true
			return o
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name == "demo preset" {
				t.Skip("short")
			}
			a := generateToDisk(t, tc.opts())
			got := map[string]synth.TableCount{}
			listed := map[string]synth.Object{}
			for _, o := range a.m.Objects {
				listed[o.Key] = o
			}
			wantHourly := tc.opts().FlowLogHourly
			hourly := regexp.MustCompile(`/(?:\d{4}/\d{2}/\d{2}/\d{2}|day=\d{2}/hour=\d{2})/[^/]+$`)
			for _, key := range a.keysUnder(t, "") {
				table := classify(t, key)
				if table == synth.TableVPCFlow && wantHourly != hourly.MatchString(key) {
					t.Errorf("flow-log key %s: hourly partition %v, want %v", key, hourly.MatchString(key), wantHourly)
				}
				tc := got[table]
				tc.Files++
				n := countRecords(t, a, table, key)
				tc.Records += n
				got[table] = tc
				o, ok := listed[key]
				switch {
				case !ok:
					t.Errorf("%s on disk but not in the manifest", key)
				case o.Table != table || o.Records != n:
					t.Errorf("%s: manifest says %s/%d records, disk %s/%d", key, o.Table, o.Records, table, n)
				}
				delete(listed, key)
			}
			for k := range listed {
				t.Errorf("%s in the manifest but not on disk", k)
			}
			for _, table := range []string{synth.TableCloudTrail, synth.TableInsight, synth.TableDigest, synth.TableVPCFlow, synth.TableResolver} {
				want := a.m.Tables[table]
				if got[table].Files != want.Files || got[table].Records != want.Records {
					t.Errorf("table %s: disk %d files/%d records, manifest %d/%d", table, got[table].Files, got[table].Records, want.Files, want.Records)
				}
				if got[table].Files == 0 {
					t.Errorf("table %s is empty", table)
				}
			}
		})
	}
}

func TestScenarioEvents(t *testing.T) {
	a := sharedArchive(t)
	var prod string
	for _, acc := range a.m.Accounts {
		if acc.Name == synth.ProdAccountName {
			prod = acc.ID
		}
	}
	records := map[string]map[string]any{} // eventID → record, for every file that holds scenario events
	for _, ev := range a.m.Scenario {
		var doc struct{ Records []map[string]any }
		if err := json.Unmarshal(a.inflate(t, ev.Key), &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			records[r["eventID"].(string)] = r
		}
	}
	str := func(r map[string]any, path ...string) string {
		var v any = r
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = m[p]
		}
		s, _ := v.(string)
		return s
	}
	tests := []struct {
		scenario string
		min      int
		check    func(r map[string]any) bool
	}{
		{synth.ScenarioSwitchRole, 1, func(r map[string]any) bool {
			return str(r, "eventName") == "SwitchRole" && str(r, "eventSource") == "signin.amazonaws.com" &&
				regexp.MustCompile(`^arn:aws:sts::`+prod+`:assumed-role/elevated-security-role/[^/]+$`).MatchString(str(r, "userIdentity", "arn")) &&
				str(r, "responseElements", "SwitchRole") == "Success"
		}},
		{synth.ScenarioFailedConsoleLogin, 5, func(r map[string]any) bool {
			return str(r, "eventName") == "ConsoleLogin" && str(r, "errorMessage") == "Failed authentication" &&
				str(r, "responseElements", "ConsoleLogin") == "Failure"
		}},
		{synth.ScenarioConsoleLoginNoMFA, 1, func(r map[string]any) bool {
			return str(r, "additionalEventData", "MFAUsed") == "No" && str(r, "responseElements", "ConsoleLogin") == "Success"
		}},
		{synth.ScenarioRootLogin, 1, func(r map[string]any) bool {
			return str(r, "userIdentity", "type") == "Root" && str(r, "eventName") == "ConsoleLogin"
		}},
		{synth.ScenarioRootUsage, 1, func(r map[string]any) bool {
			return str(r, "userIdentity", "type") == "Root" && str(r, "eventType") == "AwsApiCall"
		}},
		{synth.ScenarioIAMPolicyChange, 4, func(r map[string]any) bool {
			return str(r, "eventSource") == "iam.amazonaws.com" && slices.Contains([]string{"AttachRolePolicy", "PutRolePolicy", "CreatePolicyVersion", "DeleteUserPolicy"}, str(r, "eventName"))
		}},
		{synth.ScenarioSecurityGroup, 3, func(r map[string]any) bool {
			return str(r, "eventSource") == "ec2.amazonaws.com" && strings.Contains(str(r, "eventName"), "SecurityGroup")
		}},
		{synth.ScenarioUnauthorized, 2, func(r map[string]any) bool {
			return strings.HasSuffix(str(r, "errorCode"), "UnauthorizedOperation") || strings.HasPrefix(str(r, "errorCode"), "AccessDenied")
		}},
		{synth.ScenarioCloudTrailChange, 1, eventIn("cloudtrail.amazonaws.com", "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")},
		{synth.ScenarioKMSKeyDisable, 2, eventIn("kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion")},
		{synth.ScenarioS3BucketPolicy, 1, eventIn("s3.amazonaws.com", "PutBucketPolicy", "PutBucketAcl", "DeleteBucketPolicy")},
		{synth.ScenarioConfigChange, 1, eventIn("config.amazonaws.com", "StopConfigurationRecorder", "DeleteDeliveryChannel")},
		{synth.ScenarioNACLChange, 1, eventIn("ec2.amazonaws.com", "CreateNetworkAcl", "CreateNetworkAclEntry", "ReplaceNetworkAclEntry")},
		{synth.ScenarioGatewayChange, 2, eventIn("ec2.amazonaws.com", "CreateInternetGateway", "AttachInternetGateway")},
		{synth.ScenarioRouteTableChange, 1, eventIn("ec2.amazonaws.com", "CreateRoute", "ReplaceRoute")},
		{synth.ScenarioVPCChange, 2, eventIn("ec2.amazonaws.com", "ModifyVpcAttribute", "CreateVpcPeeringConnection")},
		{synth.ScenarioOrganizations, 1, eventIn("organizations.amazonaws.com", "LeaveOrganization")},
	}
	if len(tests) != len(synth.Scenarios()) {
		t.Errorf("%d scenarios checked, %d defined", len(tests), len(synth.Scenarios()))
	}
	for _, tc := range tests {
		evs := a.m.Events(tc.scenario)
		if len(evs) < tc.min {
			t.Errorf("%s: %d events, want at least %d", tc.scenario, len(evs), tc.min)
		}
		for _, ev := range evs {
			r := records[ev.EventID]
			switch {
			case r == nil:
				t.Errorf("%s: event %s not in %s", tc.scenario, ev.EventID, ev.Key)
			case ev.Account != prod || str(r, "recipientAccountId") != prod:
				t.Errorf("%s: event %s not in the prod account", tc.scenario, ev.EventID)
			case str(r, "eventName") != ev.EventName || !tc.check(r):
				t.Errorf("%s: record %s does not fit: %v", tc.scenario, ev.EventID, r)
			}
		}
	}
}

func eventIn(source string, names ...string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["eventSource"] == source && slices.Contains(names, r["eventName"].(string))
	}
}

// TestCloudTrailVariety checks that the ordinary traffic covers what parsers and detections must
// handle (formats.md §1.3-1.6).
func TestCloudTrailVariety(t *testing.T) {
	a := sharedArchive(t)
	seen := map[string]map[string]bool{}
	note := func(k, v string) {
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		seen[k][v] = true
	}
	for _, o := range a.m.Objects {
		if o.Table != synth.TableCloudTrail && o.Table != synth.TableInsight {
			continue
		}
		var doc struct {
			Records []struct {
				EventVersion string
				EventType    string
				EventName    string
				EventCat     string `json:"eventCategory"`
				ErrorCode    string
				ReadOnly     *bool
				UserIdentity *struct {
					Type           string
					InvokedBy      string
					SessionContext *struct {
						Attributes struct{ MFAAuthenticated string }
					}
				}
				AdditionalEventData map[string]any
				InsightDetails      *struct{ State string }
			}
		}
		if err := json.Unmarshal(a.inflate(t, o.Key), &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			note("eventVersion", r.EventVersion)
			note("eventType", r.EventType)
			note("eventCategory", r.EventCat)
			if r.UserIdentity != nil {
				note("userIdentity.type", r.UserIdentity.Type)
				if r.UserIdentity.InvokedBy == "AWS Internal" {
					note("invokedBy", "AWS Internal")
				}
				if r.UserIdentity.Type == "AssumedRole" && r.UserIdentity.SessionContext == nil {
					t.Errorf("AssumedRole without sessionContext")
				}
			}
			if r.ErrorCode != "" {
				note("errorCode", r.ErrorCode)
			}
			if r.ReadOnly != nil {
				note("readOnly", map[bool]string{true: "true", false: "false"}[*r.ReadOnly])
			}
			if r.EventName == "ConsoleLogin" {
				note("MFAUsed", r.AdditionalEventData["MFAUsed"].(string))
			}
			if r.InsightDetails != nil {
				note("insight", r.InsightDetails.State)
			}
		}
	}
	want := map[string][]string{
		"eventVersion":      {"1.08", "1.09", "1.10", "1.11"},
		"eventType":         {"AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn", "AwsCloudTrailInsight"},
		"eventCategory":     {"Management", "Data", "Insight"},
		"userIdentity.type": {"Root", "IAMUser", "AssumedRole", "AWSService", "FederatedUser", "IdentityCenterUser"},
		"errorCode":         {"AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException"},
		"readOnly":          {"true", "false"},
		"MFAUsed":           {"Yes", "No"},
		"insight":           {"Start", "End"},
		"invokedBy":         {"AWS Internal"},
	}
	for k, vs := range want {
		for _, v := range vs {
			if !seen[k][v] {
				t.Errorf("%s: no record with %q (seen %v)", k, v, seen[k])
			}
		}
	}
}

func TestFlowLogsAndResolver(t *testing.T) {
	a := sharedArchive(t)
	headers := map[string]bool{}
	statuses := map[string]bool{}
	for _, o := range a.m.Objects {
		switch o.Table {
		case synth.TableVPCFlow:
			sc := bufio.NewScanner(bytes.NewReader(a.inflate(t, o.Key)))
			sc.Buffer(nil, 1<<20)
			sc.Scan()
			header := strings.Fields(sc.Text())
			headers[sc.Text()] = true
			for _, ch := range a.m.Chains {
				if ch.Account == o.Account && ch.Region == o.Region && !slices.Equal(ch.FlowFields, header) {
					t.Errorf("%s: header %v, manifest says %s %v", o.Key, header, ch.FlowFormat, ch.FlowFields)
				}
			}
			idx := slices.Index(header, "log-status")
			ver := slices.Index(header, "version")
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != len(header) {
					t.Fatalf("%s: %d fields, header has %d: %q", o.Key, len(f), len(header), sc.Text())
				}
				statuses[f[idx]] = true
				if f[ver] != "2" && f[ver] != "5" {
					t.Errorf("%s: version %s", o.Key, f[ver])
				}
			}
		case synth.TableResolver:
			sc := bufio.NewScanner(bytes.NewReader(a.inflate(t, o.Key)))
			for sc.Scan() {
				var r map[string]any
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("%s: %v", o.Key, err)
				}
				if _, ok := r["srcport"].(string); !ok {
					t.Errorf("%s: srcport is not a string", o.Key)
				}
				if r["version"] != "1.100000" {
					t.Errorf("%s: version %v", o.Key, r["version"])
				}
				if act, ok := r["firewall_rule_action"]; ok {
					statuses["firewall:"+act.(string)] = true
				}
				if _, ok := r["srcids"].(map[string]any); !ok {
					t.Errorf("%s: srcids missing", o.Key)
				}
				statuses["rcode:"+r["rcode"].(string)] = true
				if !strings.HasSuffix(r["query_name"].(string), ".") {
					statuses["name without root dot"] = true
				}
			}
		}
	}
	if len(headers) < 3 {
		t.Errorf("%d flow-log formats, want at least 3 (default + 2 custom)", len(headers))
	}
	for _, s := range []string{"OK", "NODATA", "firewall:BLOCK", "firewall:ALERT", "rcode:NXDOMAIN", "rcode:NOERROR", "name without root dot"} {
		if !statuses[s] {
			t.Errorf("no %s record", s)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(o *synth.Options)
		field string
	}{
		{"bad org", func(o *synth.Options) { o.OrgID = "org-1" }, "OrgID"},
		{"no prod", func(o *synth.Options) {
			o.Accounts = []synth.Account{{ID: "111111111111", Name: "a"}, {ID: "222222222222", Name: "b"}}
		}, "Accounts"},
		{"two prods", func(o *synth.Options) {
			o.Accounts = []synth.Account{{ID: "111111111111", Name: "prod"}, {ID: "222222222222", Name: "prod"}}
		}, "Accounts"},
		{"short id", func(o *synth.Options) { o.Accounts = []synth.Account{{ID: "1234", Name: "prod"}} }, "Accounts"},
		{"home not in regions", func(o *synth.Options) { o.HomeRegion = "ap-south-1" }, "HomeRegion"},
		{"bad region", func(o *synth.Options) { o.Regions = []string{"useast1"} }, "Regions"},
		{"tamper one hour", func(o *synth.Options) { o.Hours = 1; o.Tamper = []synth.TamperKind{synth.TamperDeleteLog} }, "Tamper"},
		{"unknown tamper", func(o *synth.Options) { o.Tamper = []synth.TamperKind{"shred"} }, "Tamper"},
		{"prefix slash", func(o *synth.Options) { o.Prefix = "/x" }, "Prefix"},
		{"bad trail", func(o *synth.Options) { o.TrailName = "a b" }, "TrailName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := synth.Options{Seed: 1}
			tc.mod(&o)
			err := o.Validate()
			var oe *synth.OptionsError
			if !errorsAs(err, &oe) || oe.Field != tc.field {
				t.Fatalf("Validate() = %v, want an OptionsError on %s", err, tc.field)
			}
		})
	}
	o := synth.DefaultOptions(1)
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestParseTamperList(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"all", len(synth.TamperKinds()), false},
		{"modify-log, delete-digest", 2, false},
		{"modify-log,nope", 0, true},
	}
	for _, tc := range tests {
		got, err := synth.ParseTamperList(tc.in)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("ParseTamperList(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseTamperList(f *testing.F) {
	f.Add("all")
	f.Add("modify-log,delete-log")
	f.Add(",,")
	f.Fuzz(func(t *testing.T, s string) {
		kinds, err := synth.ParseTamperList(s)
		if err != nil {
			return
		}
		for _, k := range kinds {
			if !slices.Contains(synth.TamperKinds(), k) {
				t.Fatalf("accepted unknown kind %q", k)
			}
		}
	})
}

func TestPresets(t *testing.T) {
	for _, name := range synth.Presets() {
		o, err := synth.Preset(name, 1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := synth.Preset("huge", 1); err == nil {
		t.Error("unknown preset accepted")
	}
	// The bench preset promises more than 2,000 CloudTrail log files: 16 chains × 144 windows, one
	// file per window at least (a window is empty only with probability e^-10 at 10 events).
	o, _ := synth.Preset("bench", 1)
	o.Validate()
	if windows := len(o.Accounts) * len(o.Regions) * o.Hours * 12; windows < 2000 {
		t.Errorf("bench preset has %d delivery windows, want >= 2000", windows)
	}
}

// TestAttackerAcrossSources checks that the scenario's attacker shows up in CloudTrail (the failed
// logins) and, after the security group opens SSH, as accepted SSH flows in the prod account.
func TestAttackerAcrossSources(t *testing.T) {
	a := sharedArchive(t)
	if a.m.AttackerIP == "" {
		t.Fatal("no attacker IP in the manifest")
	}
	var prod string
	for _, acc := range a.m.Accounts {
		if acc.Name == synth.ProdAccountName {
			prod = acc.ID
		}
	}
	opened := a.m.Events(synth.ScenarioSecurityGroup)
	for _, ev := range a.m.Events(synth.ScenarioFailedConsoleLogin) {
		var doc struct {
			Records []struct{ EventID, SourceIPAddress string }
		}
		if err := json.Unmarshal(a.inflate(t, ev.Key), &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			if r.EventID == ev.EventID && r.SourceIPAddress != a.m.AttackerIP {
				t.Errorf("failed login from %s, want the attacker %s", r.SourceIPAddress, a.m.AttackerIP)
			}
		}
	}
	ssh := 0
	for _, o := range a.m.Objects {
		if o.Table != synth.TableVPCFlow {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(a.inflate(t, o.Key)))
		sc.Scan()
		h := strings.Fields(sc.Text())
		col := func(f []string, name string) string { return f[slices.Index(h, name)] }
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if col(f, "srcaddr") != a.m.AttackerIP {
				continue
			}
			if o.Account != prod || col(f, "dstport") != "22" || col(f, "action") != "ACCEPT" {
				t.Errorf("attacker flow %q in %s", sc.Text(), o.Key)
			}
			end, err := strconv.ParseInt(col(f, "end"), 10, 64)
			if err != nil || end < opened[0].Time.Unix() {
				t.Errorf("attacker flow ends %s, before SSH was opened at %s", col(f, "end"), opened[0].Time)
			}
			ssh++
		}
	}
	if ssh == 0 {
		t.Error("no accepted SSH flow from the attacker")
	}
}

func TestNetworkActivity(t *testing.T) {
	o, _ := synth.Preset("tiny", 19)
	o.NetworkActivity = true
	w := newMem()
	m, err := synth.Generate(context.Background(), w, o)
	if err != nil {
		t.Fatal(err)
	}
	files, denied := 0, 0
	for _, ob := range m.Objects {
		switch {
		case strings.Contains(ob.Key, "/CloudTrail-NetworkActivity/"):
			files++
			if classifyKey := reNetwork.MatchString(ob.Key); !classifyKey || ob.Table != synth.TableCloudTrail {
				t.Errorf("network activity object %s (table %s)", ob.Key, ob.Table)
			}
			var doc struct {
				Records []struct{ EventType, EventCategory, VPCEndpointID, ErrorCode string }
			}
			if err := json.Unmarshal(inflateMem(t, w, m.Bucket, ob.Key), &doc); err != nil {
				t.Fatal(err)
			}
			for _, r := range doc.Records {
				if r.EventType != "AwsVpceEvent" || r.EventCategory != "NetworkActivity" || r.VPCEndpointID == "" {
					t.Errorf("%s: record %+v", ob.Key, r)
				}
				if r.ErrorCode == "VpceAccessDenied" {
					denied++
				}
			}
		case ob.Table == synth.TableDigest:
			if bytes.Contains(inflateMem(t, w, m.Bucket, ob.Key), []byte("CloudTrail-NetworkActivity")) {
				t.Errorf("digest %s lists network activity files", ob.Key)
			}
		}
	}
	if files == 0 || denied == 0 {
		t.Errorf("%d network activity files, %d denied events; want some of each", files, denied)
	}
}

func inflateMem(t *testing.T, w *memWriter, bucket, key string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(w.objs[bucket+"/"+key].body))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return b
}
