package parse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		key                    string
		source                 Source
		org, account, region   string
		reasonWhenUnknownIsSet bool
	}{
		{key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
			source: SourceCloudTrail, account: "111122223333", region: "us-east-2"},
		{key: "AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/01/02/f.json.gz",
			source: SourceCloudTrail, org: "o-exampleorgid", account: "111122223333", region: "eu-west-1"},
		{key: "org-trail/logs/AWSLogs/o-aa11bb22cc/444455556666/CloudTrail/ap-south-1/2024/01/02/f.json.gz",
			source: SourceCloudTrail, org: "o-aa11bb22cc", account: "444455556666", region: "ap-south-1"},
		{key: "AWSLogs/o-exampleorgid/111122223333/CloudTrail-Insight/us-east-1/2024/01/02/f.json.gz",
			source: SourceInsight, org: "o-exampleorgid", account: "111122223333", region: "us-east-1"},
		{key: "AWSLogs/111122223333/CloudTrail-NetworkActivity/us-east-1/2024/01/02/f.json.gz",
			source: SourceCloudTrail, account: "111122223333", region: "us-east-1"},
		{key: "AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240102T000000Z.json.gz",
			source: SourceDigest, org: "o-exampleorgid", account: "111122223333", region: "us-east-1"},
		{key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
			source: SourceVPCFlow, account: "123456789012", region: "us-east-1"},
		{key: "flows/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/f.log.parquet",
			source: SourceVPCFlow, account: "123456789012", region: "us-east-1"},
		{key: "AWSLogs/aws-account-id=111111111111/aws-service=vpcflowlogs/aws-region=eu-west-3/year=2022/month=08/day=31/111111111111_vpcflowlogs_eu-west-3_fl-032a163fae170ae52_20220831T1255Z_2ad4bef5.log.parquet",
			source: SourceVPCFlow, account: "111111111111", region: "eu-west-3"},
		{key: "p/AWSLogs/aws-account-id=111111111111/aws-service=vpcflowlogs/aws-region=eu-west-3/year=2022/month=08/day=31/hour=12/f.log.gz",
			source: SourceVPCFlow, account: "111111111111", region: "eu-west-3"},
		{key: "AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2024/01/02/vpc-0abc_vpcdnsquerylogs_111122223333_20240102T0000Z_abcd.log.gz",
			source: SourceResolver, account: "111122223333"},
		// Unknown layouts, each with a reason.
		{key: "AWSLogs/111122223333/CloudTrail-Aggregated/us-east-1/2025/01/02/f.json.gz"},
		{key: "AWSLogs/111122223333/Config/ConfigWritabilityCheckFile"},
		{key: "AWSLogs/111122223333/CloudTrail/"},
		{key: "AWSLogs/111122223333/CloudTrail/us-east-1"},
		{key: "AWSLogs/12345/CloudTrail/us-east-1/2024/01/02/f.json.gz"},
		{key: "AWSLogs/aws-account-id=111111111111/aws-service=cloudtrail/aws-region=eu-west-3/f.gz"},
		{key: "AWSLogs/aws-account-id%3D111111111111/aws-service%3Dvpcflowlogs/aws-region%3Deu-west-3/f.gz"}, // not URL-decoded
		{key: "exports/2024/cloudtrail.json"},
		{key: ""},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			o := Classify("bucket", tc.key)
			if o.Bucket != "bucket" || o.Key != tc.key {
				t.Fatalf("object %+v", o)
			}
			if o.Source != tc.source {
				t.Fatalf("source %v (%s), want %v", o.Source, o.Reason, tc.source)
			}
			if tc.source == SourceUnknown {
				if o.Reason == "" {
					t.Errorf("unknown without a reason")
				}
				return
			}
			if o.Reason != "" || o.OrgID != tc.org || o.Account != tc.account || o.Region != tc.region {
				t.Errorf("got org %q account %q region %q reason %q", o.OrgID, o.Account, o.Region, o.Reason)
			}
		})
	}
}

// TestClassifyNotificationKeys: the keys of the real notification samples are CloudTrail keys.
func TestClassifyNotificationKeys(t *testing.T) {
	dir := samples.Samples(t, "notifications")
	var keys []string
	for _, f := range []string{"awsdocs/cloudtrail-sns-message-multiple.json", "awsdocs/cloudtrail-sns-message-single.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var msg struct{ S3ObjectKey []string }
		if err := json.Unmarshal(data, &msg); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, msg.S3ObjectKey...)
	}
	if len(keys) != 4 {
		t.Fatalf("%d keys, want 4", len(keys))
	}
	for _, k := range keys {
		if o := Classify("b", k); o.Source != SourceCloudTrail || o.Account == "" || o.Region == "" {
			t.Errorf("%s: %+v", k, o)
		}
	}
}
