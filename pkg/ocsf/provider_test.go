package ocsf

import (
	"strings"
	"testing"
)

func TestParseProviders(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/AmazonSecurityLake-Provider-logarchive-api-activity-us-east-1"
	got, err := ParseProviders([]byte(`{"externalId":"shared-id","sources":{
		"NETWORK_ACTIVITY":{"location":"s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-network-activity/1.0/","roleArn":"` + role + `","externalId":"own-id"},
		"API_ACTIVITY":{"location":"s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-api-activity/1.0/","roleArn":"` + role + `"},
		"DNS_ACTIVITY":{"location":"s3://staging/ext/logarchive-dns-activity/"},
		"AUTHENTICATION":{"location":"s3://staging/ext/logarchive-authentication/","region":"eu-west-3"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Provider{
		{ClassAPIActivity, "s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-api-activity/1.0/", role, "shared-id", "us-east-1"},
		{ClassAuthentication, "s3://staging/ext/logarchive-authentication/", "", "shared-id", "eu-west-3"},
		{ClassNetworkActivity, "s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-network-activity/1.0/", role, "own-id", "us-east-1"},
		{ClassDNSActivity, "s3://staging/ext/logarchive-dns-activity/", "", "shared-id", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("provider %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, tc := range []struct{ name, doc, wantErr string }{
		{"not json", `{`, "providers"},
		{"no sources", `{"externalId":"x"}`, `no "sources"`},
		{"typo", `{"sources":{"API_ACTIVITY":{"locaton":"s3://b/p/"}}}`, "locaton"},
		{"unknown class", `{"sources":{"FILE_ACTIVITY":{"location":"s3://b/p/"}}}`, `"FILE_ACTIVITY"`},
		{"not s3", `{"sources":{"API_ACTIVITY":{"location":"file:///tmp/x"}}}`, "provider.location"},
		{"bad role", `{"externalId":"xx","sources":{"API_ACTIVITY":{"location":"s3://b/p/","roleArn":"AmazonSecurityLake-Provider"}}}`, "provider.roleArn"},
		{"role without external id", `{"sources":{"API_ACTIVITY":{"location":"s3://b/p/","roleArn":"` + role + `"}}}`, "externalId"},
		{"bad region", `{"sources":{"API_ACTIVITY":{"location":"s3://b/p/","region":"Mars"}}}`, "region"},
		{"bad external id", `{"externalId":"a b","sources":{"API_ACTIVITY":{"location":"s3://b/p/","roleArn":"` + role + `"}}}`, "externalId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProviders([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}
