package ocsf

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
)

func TestCloudTrailClassAndActivity(t *testing.T) {
	yes := parse.OptBool{V: true, Valid: true}
	tests := []struct {
		event    string
		readOnly parse.OptBool
		class    Class
		activity int32
	}{
		// 3002 Authentication: Logon for sign-ins and role assumptions, Other for the MFA steps.
		{"ConsoleLogin", parse.OptBool{}, ClassAuthentication, 1},
		{"ExternalIdPDirectoryLogin", parse.OptBool{}, ClassAuthentication, 1},
		{"UserAuthentication", parse.OptBool{}, ClassAuthentication, 1},
		{"AssumeRole", parse.OptBool{}, ClassAuthentication, 1},
		{"AssumeRoleWithSAML", parse.OptBool{}, ClassAuthentication, 1},
		{"AssumeRoleWithWebIdentity", parse.OptBool{}, ClassAuthentication, 1},
		{"CheckMfa", parse.OptBool{}, ClassAuthentication, 99},
		{"CredentialChallenge", parse.OptBool{}, ClassAuthentication, 99},
		{"CredentialVerification", parse.OptBool{}, ClassAuthentication, 99},
		// 3001 Account Change.
		{"CreateUser", parse.OptBool{}, ClassAccountChange, 1},
		{"CreateAccessKey", parse.OptBool{}, ClassAccountChange, 1},
		{"EnableMFADevice", parse.OptBool{}, ClassAccountChange, 1},
		{"ResyncMFADevice", parse.OptBool{}, ClassAccountChange, 1},
		{"ChangePassword", parse.OptBool{}, ClassAccountChange, 3},
		{"PasswordUpdated", parse.OptBool{}, ClassAccountChange, 3},
		{"AttachRolePolicy", parse.OptBool{}, ClassAccountChange, 7},
		{"PutUserPolicy", parse.OptBool{}, ClassAccountChange, 7},
		{"AddUserToGroup", parse.OptBool{}, ClassAccountChange, 7},
		{"DetachUserPolicy", parse.OptBool{}, ClassAccountChange, 8},
		{"RemoveRoleFromInstanceProfile", parse.OptBool{}, ClassAccountChange, 8},
		{"DeleteRole", parse.OptBool{}, ClassAccountChange, 6},
		{"DeleteAccessKey", parse.OptBool{}, ClassAccountChange, 6},
		{"DeleteAccountAlias", parse.OptBool{}, ClassAccountChange, 99},
		{"DeleteServiceLinkedRole", parse.OptBool{}, ClassAccountChange, 99},
		{"DeactivateMFADevice", parse.OptBool{}, ClassAccountChange, 99},
		{"UpdateUser", parse.OptBool{}, ClassAccountChange, 99},
		{"TagRole", parse.OptBool{}, ClassAccountChange, 99},
		// 6003 API Activity: everything else, by leading verb.
		{"CreateLoadBalancer", parse.OptBool{}, ClassAPIActivity, 1},
		{"RunInstances", parse.OptBool{}, ClassAPIActivity, 1},
		{"CreateFunction20150331", parse.OptBool{}, ClassAPIActivity, 1},
		{"GenerateDataKey", parse.OptBool{}, ClassAPIActivity, 1},
		{"DescribeDirectConnectGateways", parse.OptBool{}, ClassAPIActivity, 2},
		{"GetVpcLinks", parse.OptBool{}, ClassAPIActivity, 2},
		{"ListCloudFrontOriginAccessIdentities", parse.OptBool{}, ClassAPIActivity, 2},
		{"LookupEvents", parse.OptBool{}, ClassAPIActivity, 2},
		{"UpdateTrail", parse.OptBool{}, ClassAPIActivity, 3},
		{"StopLogging", parse.OptBool{}, ClassAPIActivity, 3},
		{"PutBucketPolicy", parse.OptBool{}, ClassAPIActivity, 3},
		{"AuthorizeSecurityGroupIngress", parse.OptBool{}, ClassAPIActivity, 99},
		{"DeleteLoadBalancer", parse.OptBool{}, ClassAPIActivity, 4},
		{"TerminateInstances", parse.OptBool{}, ClassAPIActivity, 4},
		// Substring matching (AWS) reads these as Read through "Get"/"List"; the leading verb does not.
		{"DeleteTargetGroup", parse.OptBool{}, ClassAPIActivity, 4},
		{"StartListener", parse.OptBool{}, ClassAPIActivity, 3},
		// A verb must end at a word boundary: "Getaway" is not "Get".
		{"GetawayStart", parse.OptBool{}, ClassAPIActivity, 99},
		{"UnknownAPI", parse.OptBool{}, ClassAPIActivity, 99},
		{"ConsoleLoginX", parse.OptBool{}, ClassAPIActivity, 99},
		// No verb: readOnly decides Read.
		{"AssumeRoot", yes, ClassAPIActivity, 2},
		{"", parse.OptBool{}, ClassAPIActivity, 99},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			if got := CloudTrailClass(tc.event); got != tc.class {
				t.Fatalf("class %v, want %v", got, tc.class)
			}
			ev := &parse.CloudTrailEvent{EventName: tc.event, ReadOnly: tc.readOnly, EventTime: time.Unix(1700000000, 0).UTC(),
				AWSRegion: "us-east-1", RecipientAccountID: "123456789012", SourceIPAddress: "192.0.2.1",
				UserIdentity: &parse.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/a", PrincipalID: "AIDAEXAMPLE", UserName: "a"}}
			row, err := FromCloudTrail(ev)
			if err != nil {
				t.Fatal(err)
			}
			var id int32
			var typeUID int64
			switch r := row.(type) {
			case *APIActivity:
				id, typeUID = r.ActivityID, r.TypeUID
			case *Authentication:
				id, typeUID = r.ActivityID, r.TypeUID
			case *AccountChange:
				id, typeUID = r.ActivityID, r.TypeUID
			}
			if row.Class() != tc.class || id != tc.activity || typeUID != int64(tc.class)*100+int64(tc.activity) {
				t.Errorf("%v activity %d type_uid %d, want %v %d", row.Class(), id, typeUID, tc.class, tc.activity)
			}
		})
	}
}

// TestInvictusCorpus maps all 2,900 records of a real trail and checks what must hold for every row.
func TestInvictusCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset"), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	counts := map[Class]int{}
	total := 0
	for _, f := range files {
		for _, row := range mapFile(t, "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"+filepath.Base(f)+".gz", f) {
			total++
			counts[row.Class()]++
			if row.Account() != "123837392027" || row.Region() != "us-east-1" {
				t.Errorf("%s: account %q region %q", f, row.Account(), row.Region())
			}
			if tm := time.UnixMilli(row.EventTime()).UTC(); tm.Format("2006-01-02") != "2023-07-10" {
				t.Errorf("%s: time %v", f, tm)
			}
			var api *API
			switch r := row.(type) {
			case *APIActivity:
				api = &r.API
			case *Authentication:
				api = r.API
				if r.User == (User{}) {
					t.Errorf("3002 row without user: %+v", r.API)
				}
			case *AccountChange:
				api = r.API
				if r.User == (User{}) {
					t.Errorf("3001 row without user: %+v", r.API)
				}
			}
			if api == nil || api.Operation == "" || api.Request == nil {
				t.Fatalf("row without api.operation/request: %+v", api)
			}
			for _, d := range []*string{api.Request.Data, responseData(api)} {
				if d != nil && !json.Valid([]byte(*d)) {
					t.Errorf("%s: json_t member is not JSON: %.80s", api.Operation, *d)
				}
			}
		}
	}
	// SOURCES.md: 2,900 records, 2 ConsoleLogin + 1 CheckMfa sign-ins; the Stratus techniques
	// include IAM changes (CreateUser, CreateAccessKey, CreateLoginProfile, AttachUserPolicy …) and
	// role assumptions.
	t.Logf("classes: %v", counts)
	if total != 2900 {
		t.Errorf("%d rows, want 2900", total)
	}
	if counts[ClassAuthentication] < 3 || counts[ClassAccountChange] == 0 || counts[ClassAPIActivity] < 2000 {
		t.Errorf("class counts %v", counts)
	}
}

func responseData(a *API) *string {
	if a.Response == nil {
		return nil
	}
	return a.Response.Data
}

func TestUnsupportedRecords(t *testing.T) {
	var ue *UnsupportedError
	if _, err := FromRecord(&parse.Record{Source: parse.SourceInsight, CloudTrail: &parse.CloudTrailEvent{EventTime: time.Now()}}); !errors.As(err, &ue) {
		t.Errorf("Insights: %v", err)
	}
	if _, err := FromRecord(&parse.Record{Source: parse.SourceDigest}); !errors.As(err, &ue) {
		t.Errorf("digest: %v", err)
	}
	for name, rec := range map[string]*parse.Record{
		"cloudtrail": {Source: parse.SourceCloudTrail, CloudTrail: &parse.CloudTrailEvent{EventName: "GetObject"}},
		"flow":       {Source: parse.SourceVPCFlow, Flow: &parse.FlowRecord{LogStatus: "NODATA"}},
		"resolver":   {Source: parse.SourceResolver, DNS: &parse.ResolverQuery{QueryName: "example.com."}},
	} {
		if _, err := FromRecord(rec); !errors.Is(err, ErrNoTime) {
			t.Errorf("%s without time: %v", name, err)
		}
	}
}

func TestFlattenJSON(t *testing.T) {
	tests := []struct {
		doc  string
		want map[string]string
	}{
		{`{"a":{"b":1,"c":"x"},"d":true}`, map[string]string{"p.a.b": "1", "p.a.c": "x", "p.d": "true"}},
		{`{"loadBalancers":[{"zones":[{"id":"a"},{"id":"b"}]},{"zones":[{"id":"c"}]}]}`, map[string]string{"p.loadBalancers[].zones[].id": "a,b,c"}},
		{`{"s":["x","y"],"n":null,"e":{},"f":[]}`, map[string]string{"p.s[]": "x,y"}},
		{`{"big":12345678901234567890,"f":1.5e3}`, map[string]string{"p.big": "12345678901234567890", "p.f": "1.5e3"}},
		{`null`, map[string]string{}},
	}
	for _, tc := range tests {
		got := map[string]string{}
		if err := flattenJSON(got, "p", json.RawMessage(tc.doc), nil); err != nil {
			t.Errorf("%s: %v", tc.doc, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.doc, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: [%s] = %q, want %q", tc.doc, k, got[k], v)
			}
		}
	}
	if err := flattenJSON(map[string]string{}, "p", json.RawMessage(`{"a":`), nil); err == nil {
		t.Error("truncated JSON accepted")
	}
}
