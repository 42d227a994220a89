package ocsfcheck

import (
	"encoding/json"
	"strings"
	"testing"
)

// valid6003 is a minimal valid API Activity row.
const valid6003 = `{
 "activity_id": 2, "activity_name": "Read", "category_uid": 6, "category_name": "Application Activity",
 "class_uid": 6003, "class_name": "API Activity", "type_uid": 600302, "type_name": "API Activity: Read",
 "severity_id": 1, "severity": "Informational", "time": 1700000000000, "time_dt": "2023-11-14T22:13:20Z",
 "metadata": {"version": "1.1.0", "product": {"name": "CloudTrail", "vendor_name": "AWS"}, "profiles": ["cloud", "datetime"]},
 "cloud": {"provider": "AWS", "region": "us-east-1"},
 "actor": {"user": {"uid": "arn:aws:iam::111122223333:user/a", "type": "IAMUser"}},
 "api": {"operation": "GetObject", "request": {"uid": "r"}},
 "src_endpoint": {"ip": "192.0.2.1"},
 "unmapped": {"anything": {"goes": 1}}
}`

func row(t *testing.T, patch func(m map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(valid6003), &m); err != nil {
		t.Fatal(err)
	}
	if patch != nil {
		patch(m)
	}
	return m
}

func TestValidate(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if v := s.Validate(row(t, nil)); len(v) != 0 {
		t.Fatalf("valid row: %v", v)
	}
	obj := func(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }
	for _, c := range []struct {
		name  string
		patch func(m map[string]any)
		want  string // substring of one violation
	}{
		{"domain only", func(m map[string]any) { m["src_endpoint"] = map[string]any{"domain": "AWS Internal"} }, "src_endpoint: at_least_one"},
		{"user type only", func(m map[string]any) { obj(m, "actor")["user"] = map[string]any{"type": "AWSService"} }, "actor.user: at_least_one"},
		{"type_uid", func(m map[string]any) { m["type_uid"] = 600303.0; m["type_name"] = "API Activity: Update" }, "type_uid: is not class_uid*100+activity_id"},
		{"caption", func(m map[string]any) { m["activity_name"] = "Get" }, "activity_name: is not the caption of activity_id"},
		{"enum", func(m map[string]any) { m["severity_id"] = 42.0 }, "severity_id: not an enum value"},
		{"unknown attribute", func(m map[string]any) { obj(m, "api")["verb"] = "GET" }, "api.verb: unknown attribute"},
		{"required", func(m map[string]any) { delete(m, "api") }, "api: required attribute missing"},
		{"required in object", func(m map[string]any) { delete(obj(m, "metadata"), "version") }, "metadata.version: required"},
		{"profile required", func(m map[string]any) { delete(m, "cloud") }, "cloud: required"},
		{"undeclared profile", func(m map[string]any) { obj(m, "metadata")["profiles"] = []any{"datetime"} }, "cloud: attribute of a profile"},
		{"empty object", func(m map[string]any) { m["http_request"] = map[string]any{"user_agent": nil} }, "http_request: empty object"},
		{"hostname_t", func(m map[string]any) { obj(m, "src_endpoint")["hostname"] = "example.com." }, "src_endpoint.hostname: does not match hostname_t"},
		{"ip_t", func(m map[string]any) { obj(m, "src_endpoint")["ip"] = "AWS Internal" }, "src_endpoint.ip: does not match ip_t"},
		{"port range", func(m map[string]any) { obj(m, "src_endpoint")["port"] = 70000.0 }, "outside the range of port_t"},
		{"type", func(m map[string]any) { m["time"] = "yesterday" }, "time: not an integer"},
		{"array", func(m map[string]any) { m["observables"] = map[string]any{} }, "observables: not an array"},
		{"class", func(m map[string]any) { m["class_uid"] = 1001.0 }, "class not in the schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := s.Validate(row(t, c.patch))
			for _, v := range vs {
				if strings.Contains(v.String(), c.want) {
					return
				}
			}
			t.Errorf("want %q among %v", c.want, vs)
		})
	}
}
