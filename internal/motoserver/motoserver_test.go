package motoserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logarchive/logarchive/internal/motoserver"
)

// TestDefaultConfigReachesMoto checks that a client built only from the environment (no endpoint
// option in code) talks to the emulator.
func TestDefaultConfigReachesMoto(t *testing.T) {
	srv := motoserver.Start(t)
	if got := os.Getenv("AWS_ENDPOINT_URL"); got != srv.URL {
		t.Fatalf("AWS_ENDPOINT_URL = %q, want %q", got, srv.URL)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("env-only")}); err != nil {
		t.Fatalf("create bucket through the environment's endpoint: %v", err)
	}
	out, err := srv.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "env-only" {
		t.Fatalf("buckets = %+v, want exactly env-only", out.Buckets)
	}
	srv.Reset(t)
	out, err = srv.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Buckets) != 0 {
		t.Errorf("after Reset: buckets %+v, want none", out.Buckets)
	}
}

func TestCreateArchiveRedrive(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	qURL := srv.CreateArchive(ctx, t, "redrive-archive")
	attrs, err := srv.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &qURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		t.Fatal(err)
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &rp); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	_, dlq := motoserver.QueueNames("redrive-archive")
	if !strings.HasSuffix(rp.DeadLetterTargetArn, ":"+dlq) {
		t.Errorf("dead-letter target %q, want the %s queue", rp.DeadLetterTargetArn, dlq)
	}
	if n := toInt(rp.MaxReceiveCount); n != motoserver.MaxReceiveCount {
		t.Errorf("maxReceiveCount %v, want %d", rp.MaxReceiveCount, motoserver.MaxReceiveCount)
	}
}

func toInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		var n int
		_ = json.Unmarshal([]byte(x), &n)
		return n
	}
	return -1
}

// TestNotificationKeyDecoding puts objects whose keys need form-URL encoding and checks that the
// key in each S3 event, decoded with url.QueryUnescape, is the original key (formats.md §0).
func TestNotificationKeyDecoding(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	const bucket = "org-log-archive"
	qURL := srv.CreateArchive(ctx, t, bucket)
	keys := []string{
		"AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2026/03/02/plain.json.gz",
		"exports/with space/file name.json.gz",
		"exports/plus+sign/a+b.json.gz",
		"AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/x.log.gz",
		"mixed/a b+c=d.log.gz",
	}
	for _, k := range keys {
		if _, err := srv.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte("x"))}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	raw := map[string]string{}
	deadline := time.Now().Add(30 * time.Second)
	for len(raw) < len(keys) && time.Now().Before(deadline) {
		out, err := srv.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &qURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var body struct {
				Event   string
				Records []struct {
					EventSource string `json:"eventSource"`
					S3          struct {
						Bucket struct{ Name string } `json:"bucket"`
						Object struct{ Key string }  `json:"object"`
					} `json:"s3"`
				}
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
				t.Fatalf("message body %q: %v", aws.ToString(m.Body), err)
			}
			for _, r := range body.Records {
				if r.EventSource != "aws:s3" || r.S3.Bucket.Name != bucket {
					t.Errorf("unexpected record %+v", r)
					continue
				}
				dec, err := url.QueryUnescape(r.S3.Object.Key)
				if err != nil {
					t.Errorf("key %q does not decode: %v", r.S3.Object.Key, err)
					continue
				}
				raw[dec] = r.S3.Object.Key
			}
			if _, err := srv.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &qURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range want {
		enc, ok := raw[k]
		if !ok {
			t.Errorf("no event decodes to %q (got %v)", k, raw)
			continue
		}
		if strings.ContainsAny(k, " +=") && enc == k {
			t.Errorf("key %q arrived unencoded", k)
		}
	}
	for k := range raw {
		if !want[k] {
			t.Errorf("event for unexpected key %q (raw %q)", k, raw[k])
		}
	}
}
