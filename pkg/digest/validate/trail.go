package validate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/logarchive/logarchive/pkg/digest"
)

// TrailAPI is the part of the CloudTrail API the trail lookup uses.
type TrailAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
}

// OrgAPI is what the trail lookup asks AWS Organizations: the organization's id
// (DescribeOrganization; "" when the answer holds none). It is an interface of this package's own,
// not the SDK client's method, so that linking this package (the ingest binary does, to verify
// digests) does not link the Organizations service client: its schemas and endpoint rules were
// ~1 ms of every ingest run's package initialization. cmd/validate adapts the SDK client.
type OrgAPI interface {
	OrganizationID(ctx context.Context) (string, error)
}

// TrailLookup says where a trail delivers, as aws-cli's create_digest_traverser works it out.
type TrailLookup struct {
	ARN          string
	SourceRegion string // default: the ARN's home region
	AccountID    string // --account-id: the member account, required for organization trails
	Bucket       string // --s3-bucket: skips DescribeTrails
	Prefix       string // --s3-prefix (used only with Bucket, as in aws-cli)
	OrgID        string // organization id when known (for Bucket given explicitly)
}

// ResolveTrail returns the chain to validate. Without Bucket it calls DescribeTrails (shadow trails
// included) and, for an organization trail, DescribeOrganization. Errors carry aws-cli's messages.
func ResolveTrail(ctx context.Context, l TrailLookup, ct TrailAPI, org OrgAPI) (digest.ChainID, error) {
	home, account, name, err := digest.ParseTrailARN(l.ARN)
	if err != nil {
		return digest.ChainID{}, err
	}
	id := digest.ChainID{Account: account, HomeRegion: home, Trail: name, SourceRegion: l.SourceRegion, OrgID: l.OrgID}
	if id.SourceRegion == "" {
		id.SourceRegion = home
	}
	if l.AccountID != "" {
		id.Account = l.AccountID
	}
	if l.Bucket != "" {
		id.Bucket, id.Prefix = l.Bucket, strings.Trim(l.Prefix, "/")
		return id, nil
	}
	if ct == nil {
		return id, errors.New("no CloudTrail client to look the trail up (pass --s3-bucket)")
	}
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return id, fmt.Errorf("cloudtrail DescribeTrails: %w", err)
	}
	for _, t := range out.TrailList {
		if aws.ToString(t.TrailARN) != l.ARN {
			continue
		}
		id.Bucket, id.Prefix = aws.ToString(t.S3BucketName), strings.Trim(aws.ToString(t.S3KeyPrefix), "/")
		if aws.ToBool(t.IsOrganizationTrail) {
			if l.AccountID == "" {
				return id, errors.New("Missing required parameter for organization trail: '--account-id'")
			}
			if org == nil {
				return id, errors.New("no Organizations client for an organization trail")
			}
			oid, err := org.OrganizationID(ctx)
			if err != nil {
				return id, fmt.Errorf("organizations DescribeOrganization: %w", err)
			}
			if oid == "" {
				return id, errors.New("organizations DescribeOrganization returned no organization id")
			}
			id.OrgID = oid
		}
		return id, nil
	}
	return id, fmt.Errorf("A trail could not be found for %s", l.ARN)
}

// DetectOrg finds the organization folder that holds id's digests when the bucket is given explicitly
// (aws-cli then assumes the non-organization layout and cannot validate organization trails). It goes
// by the digests' own layout, AWSLogs/[o-…/]<account>/CloudTrail-Digest/<region>/, whatever else
// lives under AWSLogs/<account>/ (a Log Archive keeps the account's flow and Resolver logs there).
// It returns "" when the digests sit directly under AWSLogs/<account>/ or are found nowhere.
func (v *Validator) DetectOrg(ctx context.Context, id digest.ChainID) (string, error) {
	root := "AWSLogs/"
	if id.Prefix != "" {
		root = id.Prefix + "/" + root
	}
	hasDigests := func(acctDir string) (bool, error) {
		regions, err := v.folders(ctx, id.Bucket, acctDir+"CloudTrail-Digest/")
		return contains(regions, id.SourceRegion), err
	}
	if ok, err := hasDigests(root + id.Account + "/"); err != nil || ok {
		return "", err
	}
	top, err := v.folders(ctx, id.Bucket, root)
	if err != nil {
		return "", err
	}
	for _, t := range top {
		if !strings.HasPrefix(t, "o-") {
			continue
		}
		ok, err := hasDigests(root + t + "/" + id.Account + "/")
		if err != nil {
			return "", err
		}
		if ok {
			return t, nil
		}
	}
	return "", nil
}
