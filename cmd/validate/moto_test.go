package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// TestParityModeS3DescribeTrails runs the aws-cli path end to end on moto_server: the bucket comes
// from DescribeTrails, the organization id from DescribeOrganization, digests and logs from S3.
func TestParityModeS3DescribeTrails(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	org, err := organizations.NewFromConfig(srv.Config).CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	orgID := aws.ToString(org.Organization.Id)
	mgmt := aws.ToString(org.Organization.MasterAccountId)

	o := synth.DefaultOptions(5)
	o.OrgID = orgID
	o.Accounts = []synth.Account{{ID: mgmt, Name: "management"}, {ID: "222233334444", Name: "log-archive"}, {ID: "333344445555", Name: "prod"}}
	o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 3, 10, -1, -1
	o.Tamper = []synth.TamperKind{synth.TamperDeleteLog}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)}); err != nil {
		t.Fatal(err)
	}
	m, err := synth.Generate(ctx, store.NewS3(srv.S3, store.S3Options{}), o)
	if err != nil {
		t.Fatal(err)
	}
	trail, err := srv.CloudTrail.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(m.TrailName), S3BucketName: aws.String(m.Bucket),
		IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := synth.MarshalPublicKeys(m.PublicKeys)
	keys := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(keys, kb, 0o644)

	tm := m.Tampered[0]
	start, end := digest.DisplayTime(o.Start), digest.DisplayTime(o.Start.Add(5*time.Hour))
	args := []string{"--trail-arn", aws.ToString(trail.TrailARN), "--start-time", start, "--end-time", end,
		"--account-id", tm.Account, "--region", tm.Region, "--public-keys", keys}
	out, eout, rc := archive{}.run(t, args...)
	if rc != 1 {
		t.Errorf("rc %d\nstdout %s\nstderr %s", rc, out, eout)
	}
	if want := "Log file\ts3://" + m.Bucket + "/" + tm.Key + "\tINVALID: not found\n\n"; !strings.Contains(eout, want) {
		t.Errorf("stderr %q lacks %q", eout, want)
	}
	if !strings.Contains(out, "digest files valid\n") || !strings.Contains(out, "log files INVALID") {
		t.Errorf("stdout %s", out)
	}
	// Organization trail without --account-id: aws-cli's error.
	_, eout, rc = archive{}.run(t, args[:len(args)-6]...)
	if rc != 255 || eout != "\nMissing required parameter for organization trail: '--account-id'\n" {
		t.Errorf("rc %d stderr %q", rc, eout)
	}
}
