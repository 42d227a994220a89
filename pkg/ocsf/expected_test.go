package ocsf

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// These tests map every input sample that has an AWS-produced Security Lake twin
// (ocsf-expected/aws-samples-ocsf-validation/1.0.0-rc.2) and compare, field by field, what OCSF
// 1.1.0 still defines. The twins are rc.2: where 1.1.0 renamed an attribute the pair names both
// paths, and where the mapping deliberately differs (docs/security-lake.md, "Differences from the
// rc.2 samples") the field is skipped or checked against the 1.1.0 value instead.

type pair struct {
	exp, got string // rc.2 path in the expected file, 1.1.0 path in ours
}

func same(paths ...string) []pair {
	out := make([]pair, len(paths))
	for i, p := range paths {
		out[i] = pair{p, p}
	}
	return out
}

var cloudTrailPairs = append(same(
	"time", "metadata.uid", "metadata.product.name", "metadata.product.vendor_name",
	"metadata.product.version", "metadata.product.feature.name", "cloud.region", "cloud.provider",
	"severity_id", "severity", "activity_id", "activity_name", "type_name",
	"api.operation", "api.service.name", "api.version", "api.request.uid", "api.response.error",
	"api.response.message", "actor.user.type", "actor.user.name", "actor.user.credential_uid",
	"actor.session.created_time", "actor.session.issuer", "actor.invoked_by", "actor.idp.name",
	"http_request.user_agent", "src_endpoint.ip", "src_endpoint.domain", "src_endpoint.uid"),
	pair{"actor.user.uid", "actor.user.uid_alt"}, // rc.2 uid/uuid became 1.1.0 uid_alt/uid
	pair{"actor.user.uuid", "actor.user.uid"},
	pair{"actor.user.account_uid", "actor.user.account.uid"},
	pair{"actor.session.mfa", "actor.session.is_mfa"},
)

// unmappedPrefixes are the unmapped keys both versions keep (rc.2 also flattened requestParameters,
// responseElements and eventType, which 1.1.0 maps to api.request.data, api.response.data and
// metadata.event_code).
var unmappedPrefixes = []string{"additionalEventData.", "recipientAccountId", "readOnly", "managementEvent",
	"sessionCredentialFromConsole", "sharedEventID", "userIdentity.sessionContext.sessionIssuer.", "resources[]."}

func keepUnmapped(k string) bool {
	for _, p := range unmappedPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func TestCloudTrailMatchesSecurityLake(t *testing.T) {
	in := samples.Samples(t, "cloudtrail", "aws-samples-ocsf-validation")
	exp := samples.Samples(t, "ocsf-expected", "aws-samples-ocsf-validation", "1.0.0-rc.2", "CLOUD_TRAIL")
	classes := []struct {
		dir   string
		class Class
		extra []pair
	}{
		{"api_activity", ClassAPIActivity, same("status", "status_id")},
		{"account_change", ClassAccountChange, same("status", "status_id", "class_uid", "type_uid", "user.name", "user.uid")},
		{"authentication", ClassAuthentication, append(same("class_uid", "type_uid", "dst_endpoint.svc_name"),
			pair{"mfa", "is_mfa"})},
	}
	const key = "AWSLogs/111122223333/CloudTrail/us-east-1/2023/01/01/111122223333_CloudTrail_us-east-1_20230101T0000Z_abcd.json.gz"
	n := 0
	for _, cl := range classes {
		files, err := filepath.Glob(filepath.Join(in, cl.dir, "*.test.gz"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no samples in %s: %v", cl.dir, err)
		}
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(cl.dir+"/"+name, func(t *testing.T) {
				rows := mapFile(t, key, f)
				if len(rows) != 1 {
					t.Fatalf("%d rows, want 1", len(rows))
				}
				if rows[0].Class() != cl.class {
					t.Fatalf("class %v, want %v", rows[0].Class(), cl.class)
				}
				got := readRows(t, encodeValidRow(t, rows[0]))[0]
				want := readFile(t, filepath.Join(exp, cl.dir, name+".parquet"))[0]
				comparePairs(t, want, got, append(slicesClone(cloudTrailPairs), cl.extra...), cloudTrailKnown)

				// 1.1.0 values that replaced rc.2 ones.
				if got["metadata"].(map[string]any)["version"] != "1.1.0" {
					t.Errorf("metadata.version %v", get(got, "metadata.version"))
				}
				if cl.class == ClassAPIActivity {
					if got["class_uid"] != 6003.0 || got["type_uid"] != 600300+got["activity_id"].(float64) || got["category_uid"] != 6.0 {
						t.Errorf("6003 classification: class %v type %v category %v", got["class_uid"], got["type_uid"], got["category_uid"])
					}
				}
				if cl.class == ClassAuthentication {
					// rc.2: uid = principalId, uuid = ARN. 1.1.0: uid = ARN with principalId as
					// uid_alt, or principalId as uid when there is no ARN (user needs uid, name or
					// account); name is userIdentity.userName, which rc.2 left out.
					wantUID, wantAlt := get(want, "user.uuid"), get(want, "user.uid")
					if wantUID == nil {
						wantUID, wantAlt = wantAlt, nil
					}
					if get(got, "user.uid") != wantUID || get(got, "user.uid_alt") != wantAlt {
						t.Errorf("user uid %v alt %v, AWS uid %v uuid %v", get(got, "user.uid"), get(got, "user.uid_alt"), get(want, "user.uid"), get(want, "user.uuid"))
					}
					if w := get(want, "user.name"); w != nil && get(got, "user.name") != w {
						t.Errorf("user.name %v, AWS %v", get(got, "user.name"), w)
					}
					if get(got, "service.name") != get(got, "api.service.name") || get(got, "service.name") == nil {
						t.Errorf("service.name %v, want the eventSource %v", get(got, "service.name"), get(got, "api.service.name"))
					}
				}
				if want["status_id"] == 0.0 && got["status_id"] != 1.0 {
					// rc.2 left a successful role assumption Other/0; 1.1.0 rows say Success.
					t.Errorf("status_id %v for a call without errorCode, want 1", got["status_id"])
				}
				if get(got, "api.request.data") == nil && get(want, "unmapped") != nil && hasPrefixKey(unmappedOf(want["unmapped"]), "requestParameters.") {
					t.Error("requestParameters were flattened by AWS but are missing from api.request.data")
				}

				wu, gu := unmappedOf(want["unmapped"]), unmappedOf(got["unmapped"])
				for k, v := range wu {
					if keepUnmapped(k) && gu[k] != v {
						t.Errorf("unmapped[%q] = %q, want %q", k, gu[k], v)
					}
				}
				for k, v := range gu {
					if keepUnmapped(k) && wu[k] != v {
						t.Errorf("unmapped[%q] = %q, AWS has %q", k, v, wu[k])
					}
				}
				n++
			})
		}
	}
	if n != 21 {
		t.Errorf("compared %d CloudTrail samples, want 21", n)
	}
}

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func slicesClone(p []pair) []pair { return append([]pair(nil), p...) }

// cloudTrailKnown normalises the rc.2 values 1.1.0 deliberately writes differently.
func cloudTrailKnown(path string, want, got any) (any, bool) {
	switch {
	case path == "api.request.uid" && want == "''":
		return "", true // AWS wrote the literal two quotes for a missing requestID; we write ""
	case path == "actor.user.credential_uid" && want == "":
		return nil, true // "" is NULL here
	case path == "status_id" && want == 0.0, path == "status" && want == "Other":
		return nil, false // checked against 1.1.0 above
	}
	return want, true
}

var flowPairs = append(same(
	"time", "start_time", "end_time", "status_code", "severity_id", "severity", "class_uid", "class_name",
	"category_uid", "category_name", "activity_id", "activity_name", "type_uid", "type_name",
	"disposition", "disposition_id", "cloud.region", "cloud.zone", "cloud.provider",
	"src_endpoint.port", "src_endpoint.ip", "src_endpoint.intermediate_ips", "src_endpoint.interface_uid",
	"src_endpoint.vpc_uid", "src_endpoint.instance_uid", "src_endpoint.subnet_uid", "src_endpoint.svc_name",
	"dst_endpoint.port", "dst_endpoint.ip", "dst_endpoint.intermediate_ips", "dst_endpoint.interface_uid",
	"dst_endpoint.vpc_uid", "dst_endpoint.instance_uid", "dst_endpoint.subnet_uid", "dst_endpoint.svc_name",
	"connection_info.protocol_num", "connection_info.tcp_flags", "connection_info.protocol_ver",
	"connection_info.direction", "connection_info.direction_id", "connection_info.boundary",
	"connection_info.boundary_id", "traffic.bytes", "traffic.packets", "metadata.product.name",
	"metadata.product.vendor_name", "metadata.product.version", "metadata.product.feature.name"),
	pair{"cloud.account_uid", "cloud.account.uid"},
)

// flowKnown: AWS copies "-" literally where the parse model has no value (NULL here), and writes
// 99 with "-" for the enums of a record without an action (NODATA), where we write 0 Unknown.
func flowKnown(path string, want, got any) (any, bool) {
	if path == "connection_info.protocol_ver" && want == "IPv4" {
		return "Internet Protocol version 4 (IPv4)", true // 1.1.0: the caption of protocol_ver_id 4
	}
	if want == nil && strings.HasPrefix(path, "dst_endpoint.") && got != nil {
		return nil, false // NODATA: the interface is both endpoints here (dst_endpoint is required)
	}
	if want == "-" {
		if path == "connection_info.direction" {
			return nil, false // "-" with 99 in rc.2, "Unknown" with 0 here
		}
		return nil, true
	}
	if want == 99.0 && (strings.HasSuffix(path, "_id")) {
		return nil, false
	}
	return want, true
}

func TestFlowMatchesSecurityLake(t *testing.T) {
	in := samples.Samples(t, "vpcflow", "aws-samples-ocsf-validation")
	exp := samples.Samples(t, "ocsf-expected", "aws-samples-ocsf-validation", "1.0.0-rc.2", "VPC_FLOW")
	inputs := []string{"vpc_flow-input0.json.parquet", "vpc_flow-input1.json.parquet", "vpc_flow-input2.json.parquet", "vpc_flow-input3.parquet"}
	for i, file := range inputs {
		t.Run(file, func(t *testing.T) {
			rows := mapFile(t, "AWSLogs/374946600775/vpcflowlogs/us-east-1/2023/01/01/"+file, filepath.Join(in, file))
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			got := readRows(t, encodeValidRow(t, rows[0]))[0]
			want := readFile(t, filepath.Join(exp, fmt.Sprintf("example%d.gz.parquet", i)))[0]
			pairs := flowPairs
			if want["disposition_id"] == 99.0 { // NODATA: AWS "-"/99, ours Unknown
				pairs = withoutPaths(pairs, "disposition", "activity_name")
				if got["action_id"] != 0.0 || got["disposition_id"] != 0.0 || got["activity_id"] != 0.0 {
					t.Errorf("NODATA: action %v disposition %v activity %v, want 0 Unknown", got["action_id"], got["disposition_id"], got["activity_id"])
				}
			}
			comparePairs(t, want, got, pairs, flowKnown)
			wantAction := map[float64]float64{6: 1, 5: 2, 0: 0}[want["activity_id"].(float64)]
			if got["action_id"] != wantAction {
				t.Errorf("action_id %v, want %v for activity %v", got["action_id"], wantAction, want["activity_id"])
			}
		})
	}
}

func withoutPaths(ps []pair, drop ...string) []pair {
	var out []pair
	for _, p := range ps {
		keep := true
		for _, d := range drop {
			keep = keep && p.exp != d
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

var dnsPairs = append(same(
	"time", "severity_id", "severity", "class_uid", "class_name", "category_uid", "category_name",
	"cloud.region", "cloud.provider", "src_endpoint.vpc_uid", "src_endpoint.ip", "src_endpoint.port",
	"src_endpoint.instance_uid", "query.hostname", "query.type", "query.class", "answers",
	"connection_info.protocol_name", "connection_info.direction", "connection_info.direction_id",
	"dst_endpoint.instance_uid", "dst_endpoint.interface_uid", "rcode", "rcode_id",
	"metadata.product.name", "metadata.product.vendor_name", "metadata.product.version",
	"metadata.product.feature.name"),
	pair{"cloud.account_uid", "cloud.account.uid"},
)

func TestResolverMatchesSecurityLake(t *testing.T) {
	in := samples.Samples(t, "route53-resolver", "aws-samples-ocsf-validation")
	exp := samples.Samples(t, "ocsf-expected", "aws-samples-ocsf-validation", "1.0.0-rc.2", "ROUTE53")
	const key = "AWSLogs/111122223333/vpcdnsquerylogs/vpc-7example/2021/02/04/vpc-7example_vpcdnsquerylogs_111122223333_20210204T1750Z_abcd.log.gz"
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			rows := mapFile(t, key, filepath.Join(in, fmt.Sprintf("route53-inputs%d.json.gz", i)))
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			got := readRows(t, encodeValidRow(t, rows[0]))[0]
			want := readFile(t, filepath.Join(exp, fmt.Sprintf("example%d.json.gz.parquet", i)))[0]
			comparePairs(t, want, got, dnsPairs, func(path string, want, got any) (any, bool) {
				if w, ok := want.(string); ok && path == "query.hostname" {
					return strings.TrimSuffix(w, "."), true // hostname_t has no root label
				}
				return want, true
			})
			wu, gu := unmappedOf(want["unmapped"]), unmappedOf(got["unmapped"])
			if get(got, "firewall_rule.uid") != wu["firewall_rule_group_id"] || gu["firewall_domain_list_id"] != wu["firewall_domain_list_id"] {
				t.Errorf("firewall_rule.uid %v / domain list %q, AWS unmapped %v", get(got, "firewall_rule.uid"), gu["firewall_domain_list_id"], wu)
			}
			// 1.1.0: every query is activity 6 Traffic; rc.2 derived Response/Refuse/Fail from rcode.
			if got["activity_id"] != 6.0 || got["type_uid"] != 400306.0 {
				t.Errorf("activity %v type_uid %v, want 6 / 400306", got["activity_id"], got["type_uid"])
			}
			// BLOCK is Denied/Blocked in both; ALERT was "No Action" (16) in rc.2 and is Alert (19).
			switch want["disposition"] {
			case "Blocked":
				if got["disposition_id"] != 2.0 || got["action_id"] != 2.0 {
					t.Errorf("BLOCK: disposition %v action %v", got["disposition_id"], got["action_id"])
				}
			case "No Action":
				if got["disposition_id"] != 19.0 || got["action_id"] != 1.0 {
					t.Errorf("ALERT: disposition %v action %v", got["disposition_id"], got["action_id"])
				}
			default:
				t.Errorf("unexpected AWS disposition %v", want["disposition"])
			}
		})
	}
}

// comparePairs compares want[p.exp] with got[p.got]. known, when set, may rewrite the expected
// value of a documented difference or skip the field (ok false).
func comparePairs(t *testing.T, want, got map[string]any, pairs []pair, known func(path string, want, got any) (any, bool)) {
	t.Helper()
	for _, p := range pairs {
		w, g := get(want, p.exp), get(got, p.got)
		if known != nil {
			var ok bool
			if w, ok = known(p.exp, w, g); !ok {
				continue
			}
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%s = %#v, AWS %s = %#v", p.got, g, p.exp, w)
		}
	}
}
