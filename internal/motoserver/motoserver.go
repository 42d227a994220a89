// Package motoserver runs a private moto_server (the moto project's AWS emulator) for integration
// tests, and points the AWS SDK at it the way a user would point it at any endpoint: through
// AWS_ENDPOINT_URL and the default configuration chain, so tests exercise the real endpoint
// resolution path.
//
// Each Start gets its own server on a free loopback port, stopped when the test ends; its output is
// kept in a file and printed when the test fails. Start changes process environment (t.Setenv), so
// tests that use it cannot run in parallel.
package motoserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Region is the region the emulated clients use.
const Region = "us-east-1"

// Server is a running moto_server and SDK clients configured for it.
type Server struct {
	URL        string // http://127.0.0.1:<port>
	Config     aws.Config
	S3         *s3.Client // path-style, as custom endpoints need
	SQS        *sqs.Client
	CloudTrail *cloudtrail.Client
	LogPath    string // the server's stdout and stderr
}

// startTimeout bounds how long the server may take to answer; moto imports a lot of Python.
const startTimeout = 60 * time.Second

// Start runs moto_server from PATH. Without it the test is skipped, or fails when the CI variable is
// set (CI must not silently skip integration tests).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server not found on PATH (CI is set, so this is an error): %v", err)
		}
		t.Skipf("moto_server not found on PATH; skipping integration test (pip install 'moto[server]' to run it): %v", err)
	}
	dir := t.TempDir()
	var srv *Server
	// A freshly released port can be taken by someone else before moto binds it; retry then.
	for attempt := 1; ; attempt++ {
		srv, err = launch(t, bin, dir, attempt)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("start moto_server: %v", err)
		}
		t.Logf("start moto_server (attempt %d): %v; retrying", attempt, err)
	}

	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_DEFAULT_REGION", Region)
	// Keep the developer's own configuration and instance metadata out of the test.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS config for moto: %v", err)
	}
	srv.Config = cfg
	srv.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	srv.SQS = sqs.NewFromConfig(cfg)
	srv.CloudTrail = cloudtrail.NewFromConfig(cfg)
	return srv
}

func launch(t testing.TB, bin, dir string, attempt int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, fmt.Sprintf("moto-%d.log", attempt))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("moto log file: %w", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	}
	srv := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), LogPath: logPath}
	if err := waitReady(srv.URL, exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w; output:\n%s", err, readLog(logPath))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("moto_server output (%s):\n%s", logPath, readLog(logPath))
		}
	})
	return srv, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(url string, exited <-chan error) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("moto_server exited before answering: %v", err)
		default:
		}
		resp, err := client.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server did not answer on %s within %s", url, startTimeout)
}

func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	const max = 64 << 10
	if len(b) > max {
		b = append([]byte("…\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// Reset drops every resource the server holds (moto's POST /moto-api/reset), so one server can serve
// several subtests from a clean slate.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto_server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto_server: HTTP %d", resp.StatusCode)
	}
}

// QueueNames returns the names CreateArchive gives the notification queue and its dead-letter queue.
func QueueNames(bucket string) (queue, dlq string) {
	base := strings.NewReplacer(".", "-").Replace(bucket)
	return base + "-events", base + "-events-dlq"
}

// MaxReceiveCount is the redrive threshold of the queue CreateArchive makes.
const MaxReceiveCount = 5

// CreateArchive creates the Log Archive bucket, an SQS queue with a dead-letter queue (redrive after
// MaxReceiveCount receives), and the bucket notification s3:ObjectCreated:* → queue. It returns the
// queue URL. Note that S3 sends an s3:TestEvent message when the notification is configured.
func (s *Server) CreateArchive(ctx context.Context, t testing.TB, bucket string) (queueURL string) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create archive %s: %s: %v", bucket, what, err)
		}
	}
	_, err := s.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		must("create bucket", err)
	}
	qName, dlqName := QueueNames(bucket)
	dlq, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlqName), Attributes: map[string]string{
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod): "1209600",
	}})
	must("create dead-letter queue", err)
	dlqARN := s.queueARN(ctx, t, *dlq.QueueUrl)
	redrive, err := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(MaxReceiveCount)})
	must("redrive policy", err)
	q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(qName), Attributes: map[string]string{
		string(sqstypes.QueueAttributeNameRedrivePolicy):     string(redrive),
		string(sqstypes.QueueAttributeNameVisibilityTimeout): "60",
	}})
	must("create queue", err)
	qARN := s.queueARN(ctx, t, *q.QueueUrl)
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": "AllowS3", "Effect": "Allow", "Principal": map[string]string{"Service": "s3.amazonaws.com"},
			"Action": "sqs:SendMessage", "Resource": qARN,
			"Condition": map[string]any{"ArnLike": map[string]string{"aws:SourceArn": "arn:aws:s3:::" + bucket}},
		}},
	})
	must("queue policy", err)
	_, err = s.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{
		string(sqstypes.QueueAttributeNamePolicy): string(policy),
	}})
	must("set queue policy", err)
	_, err = s.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			Id: aws.String("log-archive-object-created"), QueueArn: aws.String(qARN), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	must("bucket notification", err)
	return *q.QueueUrl
}

func (s *Server) queueARN(ctx context.Context, t testing.TB, url string) string {
	t.Helper()
	out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue ARN of %s: %v", url, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		t.Fatalf("queue %s has no QueueArn attribute", url)
	}
	return arn
}
