// Package awsconfig builds AWS SDK clients the way AWS users expect: the default credential chain,
// AWS_REGION, and the AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables (which the SDK resolves
// itself). When a custom S3 endpoint is configured (moto, MinIO, LocalStack), S3 is addressed
// path-style, because such endpoints rarely serve virtual-hosted bucket names.
package awsconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Load returns the default AWS configuration. region overrides AWS_REGION when not empty.
// Retries use the SDK's adaptive mode so throttling backs off across all workers of the process.
func Load(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) { so.MaxAttempts = 8 })
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// CustomS3Endpoint reports whether S3 requests go to an endpoint other than AWS's.
func CustomS3Endpoint() bool {
	return os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// NewS3 returns an S3 client for cfg, path-style when a custom endpoint is configured.
func NewS3(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	pathStyle := CustomS3Endpoint()
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = o.UsePathStyle || pathStyle
	}}, optFns...)...)
}

// AssumeRole returns a copy of cfg whose credentials are those of roleARN, assumed with cfg's own
// credentials, the external ID the role's trust policy requires and sessionName (shown in the
// role account's CloudTrail). The credentials are cached and refreshed before they expire, so a
// client built from the result calls sts:AssumeRole once per session, not once per request. STS is
// reached the way cfg says (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, the regional endpoint).
func AssumeRole(cfg aws.Config, roleARN, externalID, sessionName string) aws.Config {
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.ExternalID = aws.String(externalID)
		o.RoleSessionName = sessionName
	})
	out := cfg.Copy()
	out.Credentials = aws.NewCredentialsCache(provider)
	return out
}
