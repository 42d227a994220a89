package validate

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

type fakeTrails struct {
	trails []cttypes.Trail
	calls  int
}

func (f *fakeTrails) DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error) {
	f.calls++
	return &cloudtrail.DescribeTrailsOutput{TrailList: f.trails}, nil
}

type fakeOrg struct{ id string }

func (f fakeOrg) OrganizationID(context.Context) (string, error) { return f.id, nil }

// TestResolveTrail ports test_creates_traverser_*: bucket and prefix from DescribeTrails, account from
// the ARN or --account-id, org id for organization trails, and the error messages.
func TestResolveTrail(t *testing.T) {
	arn := "arn:aws:cloudtrail:us-west-2:123456789012:trail/foo"
	trails := []cttypes.Trail{
		{TrailARN: aws.String("arn:aws:cloudtrail:us-west-2:123456789012:trail/other"), S3BucketName: aws.String("x")},
		{TrailARN: aws.String(arn), S3BucketName: aws.String("bucket"), S3KeyPrefix: aws.String("pre/")},
	}
	orgTrails := []cttypes.Trail{{TrailARN: aws.String(arn), S3BucketName: aws.String("bucket"), IsOrganizationTrail: aws.Bool(true)}}
	cases := []struct {
		name    string
		l       TrailLookup
		trails  []cttypes.Trail
		want    string // ChainID.String() or error text
		wantErr bool
		calls   int
	}{
		{"describe", TrailLookup{ARN: arn}, trails, "s3://bucket/pre org=- account=123456789012 region=us-west-2 trail=foo home=us-west-2", false, 1},
		// IsOrganizationTrail absent ⇒ not an org trail (test_create_traverser_organizational_trail_not_launched)
		{"source-region", TrailLookup{ARN: arn, SourceRegion: "eu-west-1"}, trails, "s3://bucket/pre org=- account=123456789012 region=eu-west-1 trail=foo home=us-west-2", false, 1},
		{"bucket-given", TrailLookup{ARN: arn, Bucket: "b", Prefix: "p", AccountID: "210987654321"}, trails, "s3://b/p org=- account=210987654321 region=us-west-2 trail=foo home=us-west-2", false, 0},
		{"org", TrailLookup{ARN: arn, AccountID: "210987654321"}, orgTrails, "s3://bucket/ org=o-123 account=210987654321 region=us-west-2 trail=foo home=us-west-2", false, 1},
		{"org-without-account", TrailLookup{ARN: arn}, orgTrails, "Missing required parameter for organization trail: '--account-id'", true, 1},
		{"not-found", TrailLookup{ARN: "arn:aws:cloudtrail:us-west-2:123456789012:trail/nope"}, trails, "A trail could not be found for arn:aws:cloudtrail:us-west-2:123456789012:trail/nope", true, 1},
		{"bad-arn", TrailLookup{ARN: "arn:aws:cloudtrail:us-west-2:1:trail/x"}, trails, "Invalid trail ARN provided: arn:aws:cloudtrail:us-west-2:1:trail/x", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTrails{trails: tc.trails}
			id, err := ResolveTrail(context.Background(), tc.l, ft, fakeOrg{"o-123"})
			switch {
			case tc.wantErr && (err == nil || err.Error() != tc.want):
				t.Errorf("err %v, want %q", err, tc.want)
			case !tc.wantErr && (err != nil || id.String() != tc.want):
				t.Errorf("got %s %v, want %s", id, err, tc.want)
			}
			if ft.calls != tc.calls {
				t.Errorf("%d DescribeTrails calls, want %d", ft.calls, tc.calls)
			}
		})
	}
}
