package deploy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gopkg.in/yaml.v3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// auditorNotExercisedOnMoto: the same for the auditor role and validate.
var auditorNotExercisedOnMoto = map[string]string{
	"cloudtrail:ListPublicKeys": "moto has no CloudTrail signing keys; the recorded run reads synth's keys with --public-keys",
	"s3:GetBucketLocation":      "cmd/validate bucketClient asks it only without a custom S3 endpoint (moto is one)",
}

// notExercisedOnMoto are actions the task role grants for calls the recorded run cannot make, each
// with the reason. Everything else the role grants must show up in the recording, and everything
// recorded must be granted.
var notExercisedOnMoto = map[string]string{
	"cloudtrail:ListPublicKeys": "moto has no CloudTrail signing keys; the recorded run reads synth's keys with --public-keys (pkg/digest CloudTrailKeys calls it in production)",
	"s3:AbortMultipartUpload":   "only after a failed multipart upload of a Parquet file (pkg/store S3 upload abort)",
}

// recording is one request the commands sent.
type recording struct {
	Method string
	URL    *url.URL
	Target string // X-Amz-Target (JSON protocols)
	Copy   bool   // X-Amz-Copy-Source present
}

// recordingProxy forwards to moto_server and records every request, so the commands' calls are
// what they send on the wire (moto's own recorder serializes bodies and is too slow for a run).
type recordingProxy struct {
	mu   sync.Mutex
	reqs []recording
}

func (p *recordingProxy) start(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, recording{Method: r.Method, URL: r.URL, Target: r.Header.Get("X-Amz-Target"), Copy: r.Header.Get("X-Amz-Copy-Source") != ""})
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (p *recordingProxy) take() []recording {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reqs
	p.reqs = nil
	return out
}

// iamAction names the IAM action that authorizes a recorded request, and the S3 bucket it touches.
func iamAction(t *testing.T, r recording) (action, bucket string) {
	u := r.URL
	if target := r.Target; target != "" {
		// "AmazonSQS.ReceiveMessage", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"
		i := strings.LastIndex(target, ".")
		svc, op := target[:max(i, 0)], target[i+1:]
		switch {
		case svc == "AmazonSQS":
			// Batch calls are authorized by their single-message action.
			return "sqs:" + strings.TrimSuffix(op, "Batch"), ""
		case strings.Contains(svc, "CloudTrail"):
			return "cloudtrail:" + op, ""
		case strings.Contains(svc, "Organizations"):
			return "organizations:" + op, ""
		}
		t.Fatalf("unmapped request %s %s", target, r.URL)
	}
	// S3, path style: /bucket[/key].
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)
	bucket = parts[0]
	q := u.Query()
	hasKey := len(parts) == 2 && parts[1] != ""
	switch {
	case !hasKey && q.Has("location"):
		return "s3:GetBucketLocation", bucket
	case !hasKey && (r.Method == "GET" || r.Method == "HEAD"):
		return "s3:ListBucket", bucket
	case hasKey && (r.Method == "GET" || r.Method == "HEAD"):
		return "s3:GetObject", bucket
	case hasKey && r.Method == "DELETE" && q.Has("uploadId"):
		return "s3:AbortMultipartUpload", bucket
	case hasKey && r.Method == "DELETE":
		return "s3:DeleteObject", bucket
	case hasKey && (r.Method == "PUT" || r.Method == "POST"):
		if r.Copy {
			t.Fatalf("CopyObject needs s3:GetObject on the source too: %s", r.URL)
		}
		return "s3:PutObject", bucket // PutObject, multipart create/part/complete
	}
	t.Fatalf("unmapped S3 request %s %s", r.Method, r.URL)
	return "", ""
}

// policyActions lists the actions of a role's inline policies in a template, without the
// optional (conditioned) policies.
func policyActions(t *testing.T, tpl cfnTemplate, role string) map[string][]string {
	t.Helper()
	res, ok := tpl.Resources[role]
	if !ok {
		t.Fatalf("no resource %s", role)
	}
	var policies []struct {
		PolicyDocument struct {
			Statement []struct {
				Sid    string    `yaml:"Sid"`
				Action yaml.Node `yaml:"Action"`
			} `yaml:"Statement"`
		} `yaml:"PolicyDocument"`
	}
	n := res.Properties["Policies"]
	if err := n.Decode(&policies); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{} // action → Sids
	for _, p := range policies {
		for _, st := range p.PolicyDocument.Statement {
			var acts []string
			if st.Action.Kind == yaml.ScalarNode {
				acts = []string{st.Action.Value}
			} else if err := st.Action.Decode(&acts); err != nil {
				t.Fatal(err)
			}
			for _, a := range acts {
				out[a] = append(out[a], st.Sid)
			}
		}
	}
	return out
}

// recorded runs cmd through the proxy and returns the IAM actions it needed, with the buckets
// each S3 action touched.
func recorded(t *testing.T, p *recordingProxy, name string, cmd *exec.Cmd) map[string]map[string]bool {
	t.Helper()
	p.take()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s: %v after %s\n%s", name, err, time.Since(start), out.String())
	}
	reqs := p.take()
	t.Logf("%s: %s, %d requests", name, time.Since(start), len(reqs))
	if os.Getenv("DEPLOY_TEST_VERBOSE") != "" {
		t.Logf("%s output:\n%s", name, out.String())
	}
	acts := map[string]map[string]bool{}
	for _, r := range reqs {
		a, b := iamAction(t, r)
		if acts[a] == nil {
			acts[a] = map[string]bool{}
		}
		acts[a][b] = true
	}
	if len(acts) == 0 {
		t.Fatalf("%s: nothing recorded", name)
	}
	return acts
}

// TestTaskRoleGrantsExactlyTheCalls runs `ingest backfill` (enqueue mode) and `ingest run` against
// moto_server with its request recorder on, maps every recorded request to the IAM action that
// authorizes it, and compares with worker.yaml's task role: nothing recorded is missing from the
// policy, and nothing in the policy is unused except the calls listed in notExercisedOnMoto.
// Writes must only touch the output bucket. The list derives from the requests, so it stays true
// when the worker's request pattern changes (batching, ledger writes).
func TestTaskRoleGrantsExactlyTheCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := t.TempDir()
	srv := motoserver.Start(t)
	var proxy recordingProxy
	proxyURL := proxy.start(t, srv.URL)
	bin := buildIngest(t, dir)
	ctx := context.Background()

	opts, err := synth.Preset("tiny", 7)
	if err != nil {
		t.Fatal(err)
	}
	opts.Bucket = "org-log-archive"
	// Small: moto answers a few dozen requests a second on a shared machine. Two hours, because
	// tampering needs interior digests; flow and Resolver logs add objects but no new calls.
	opts.Hours, opts.EventsPerHour, opts.FlowRecordsPerHour, opts.ResolverQueriesPerHour = 2, 10, -1, -1
	opts.Regions = []string{"us-east-1"}
	opts.Tamper = []synth.TamperKind{synth.TamperModifyLog}
	queueURL := srv.CreateArchive(ctx, t, opts.Bucket)
	_, dlqName := motoserver.QueueNames(opts.Bucket)
	dlq, err := srv.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(dlqName)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake-out")}); err != nil {
		t.Fatal(err)
	}
	man, err := synth.Generate(ctx, store.NewS3(srv.S3, store.S3Options{}), opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := synth.MarshalPublicKeys(man.PublicKeys)
	keysPath := filepath.Join(dir, "keys.json")
	os.WriteFile(keysPath, keys, 0o644)
	// A corrupt object, so the quarantine path (a write to the output bucket) is exercised too.
	acct := man.Accounts[0].ID
	corrupt := "AWSLogs/" + man.OrgID + "/" + acct + "/CloudTrail/us-east-1/2026/03/02/" + acct + "_CloudTrail_us-east-1_20260302T0805Z_corruptcorrupt01.json.gz"
	if _, err := srv.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(opts.Bucket), Key: aws.String(corrupt), Body: strings.NewReader("\x1f\x8b\x08\x00not deflate")}); err != nil {
		t.Fatal(err)
	}

	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
		return cmd
	}
	dest := "s3://lake-out/logarchive/"
	// Backfill one account's trail logs: the announcements duplicate notifications the run dedups.
	backfill := recorded(t, &proxy, "ingest backfill", command("backfill", "--bucket", opts.Bucket,
		"--prefix", "AWSLogs/"+man.OrgID+"/"+acct+"/CloudTrail/",
		"--queue-url", queueURL, "--state", dest+"_backfill/", "--log-level", "warn"))
	emf := filepath.Join(dir, "metrics.emf")
	ctxRun, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	runCmd := command("run", "--queue-url", queueURL, "--dlq-url", *dlq.QueueUrl, "--dest", dest, "--public-keys", keysPath,
		// Commits further apart than a third of the visibility timeout: the heartbeat must renew
		// (ChangeMessageVisibility) before the messages are deleted, as in production.
		"--visibility-timeout", "3s", "--wait-time", "1s", "--commit-interval", "4s", "--exit-when-idle", "5s",
		"--lease-ttl", "2s", "--busy-retry", "1s", "--retry-base", "1s", "--workers", "4",
		"--ops-addr", "", "--metrics-out", emf, "--log-level", "info")
	runCmd = exec.CommandContext(ctxRun, runCmd.Path, runCmd.Args[1:]...)
	runCmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
	run := recorded(t, &proxy, "ingest run", runCmd)

	used := map[string]map[string]bool{}
	for _, rec := range []map[string]map[string]bool{backfill, run} {
		for a, buckets := range rec {
			if used[a] == nil {
				used[a] = map[string]bool{}
			}
			for b := range buckets {
				used[a][b] = true
			}
		}
	}
	compareGrants(t, "TaskRole", policyActions(t, readTemplate(t, "worker.yaml"), "TaskRole"), used, notExercisedOnMoto)
	for _, a := range []string{"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} {
		for b := range used[a] {
			if b != "lake-out" {
				t.Errorf("%s on bucket %s: the worker must write only to the output bucket", a, b)
			}
		}
	}
	t.Logf("backfill: %v; run: %v", keysOf(backfill), keysOf(run))
	checkWorkerAlarms(t, emf)
}

// compareGrants reports recorded actions the role lacks and granted actions nobody used.
func compareGrants(t *testing.T, role string, granted map[string][]string, used map[string]map[string]bool, unexercised map[string]string) {
	t.Helper()
	for a, buckets := range used {
		if _, ok := granted[a]; !ok {
			t.Errorf("%s: the command calls %s (buckets %v) but the role does not grant it", role, a, keysOf(buckets))
		}
	}
	for a := range granted {
		if used[a] == nil && unexercised[a] == "" {
			t.Errorf("%s grants %s, which the command never called", role, a)
		}
		if used[a] != nil && unexercised[a] != "" {
			t.Errorf("%s: %s was called after all: remove it from the not-exercised list", role, a)
		}
	}
}

// TestAuditorRoleGrantsExactlyTheCalls does for validate and worker.yaml's auditor role what
// TestTaskRoleGrantsExactlyTheCalls does for the worker: validate in its aws-cli mode (trail from
// DescribeTrails, organization from DescribeOrganization, digests and logs from S3) against moto.
func TestAuditorRoleGrantsExactlyTheCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := t.TempDir()
	srv := motoserver.Start(t)
	var proxy recordingProxy
	proxyURL := proxy.start(t, srv.URL)
	bin := buildCmd(t, dir, "validate")
	ctx := context.Background()
	org, err := organizations.NewFromConfig(srv.Config).CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	o := synth.DefaultOptions(5)
	o.OrgID = aws.ToString(org.Organization.Id)
	o.Accounts = []synth.Account{{ID: aws.ToString(org.Organization.MasterAccountId), Name: "management"}, {ID: "222233334444", Name: "log-archive"}, {ID: "333344445555", Name: "prod"}}
	o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 2, 10, -1, -1
	o.Regions = []string{"us-east-1"}
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
	keys := filepath.Join(dir, "keys.json")
	os.WriteFile(keys, kb, 0o644)
	cmd := exec.Command(bin, "--trail-arn", aws.ToString(trail.TrailARN), "--start-time", digest.DisplayTime(o.Start),
		"--end-time", digest.DisplayTime(o.Start.Add(4*time.Hour)), "--account-id", "333344445555", "--region", "us-east-1", "--public-keys", keys)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
	used := recorded(t, &proxy, "validate", cmd)
	compareGrants(t, "AuditorRole", policyActions(t, readTemplate(t, "worker.yaml"), "AuditorRole"), used, auditorNotExercisedOnMoto)
	for a, buckets := range used {
		for b := range buckets {
			if b != "" && b != m.Bucket {
				t.Errorf("validate called %s on bucket %s, not the log bucket", a, b)
			}
		}
	}
	t.Logf("validate: %v", keysOf(used))
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkWorkerAlarms: the integrity-failure and quarantine alarms watch metrics the run emitted
// (the archive has a tampered log file and a corrupt object).
func checkWorkerAlarms(t *testing.T, emfPath string) {
	t.Helper()
	emitted := readEMF(t, emfPath)
	tpl := readTemplate(t, "alarms.yaml")
	ns := tpl.Parameters["WorkerNamespace"].Default
	for _, id := range []string{"DigestIntegrityFailureAlarm", "QuarantinedObjectsAlarm"} {
		r := tpl.Resources[id]
		var dims []struct {
			Name  string `yaml:"Name"`
			Value string `yaml:"Value"`
		}
		d := r.Properties["Dimensions"]
		if err := d.Decode(&dims); err != nil {
			t.Fatal(err)
		}
		name := tpl.scalar(t, r.Properties["MetricName"], nil)
		if len(dims) != 1 {
			t.Fatalf("%s: dimensions %v", id, dims)
		}
		key := metricKey{ns, name, dims[0].Name + "=" + dims[0].Value}
		if emitted[key] < 1 {
			t.Errorf("%s watches %+v (%s=%s); the run emitted %v", id, key, dims[0].Name, dims[0].Value, keysOf(stringKeys(emitted)))
		}
	}
}

func stringKeys(m map[metricKey]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k.namespace+"/"+k.name+"["+k.dims+"]"] = v
	}
	return out
}

// TestListBucketUnconditioned: a GET or HEAD of a missing key answers 404 only to a caller allowed
// s3:ListBucket on the bucket, and that request carries no s3:prefix, so a ListBucket grant with an
// s3:prefix condition would not apply and S3 would answer 403, which the worker reads as "denied"
// rather than "deleted". Every ListBucket grant of the task and auditor roles must be unconditioned.
func TestListBucketUnconditioned(t *testing.T) {
	tpl := readTemplate(t, "worker.yaml")
	for _, role := range []string{"TaskRole", "AuditorRole"} {
		var policies []struct {
			PolicyDocument struct {
				Statement []struct {
					Sid       string    `yaml:"Sid"`
					Action    yaml.Node `yaml:"Action"`
					Condition yaml.Node `yaml:"Condition"`
				} `yaml:"Statement"`
			} `yaml:"PolicyDocument"`
		}
		n := tpl.Resources[role].Properties["Policies"]
		if err := n.Decode(&policies); err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, p := range policies {
			for _, st := range p.PolicyDocument.Statement {
				var acts []string
				if st.Action.Kind == yaml.ScalarNode {
					acts = []string{st.Action.Value}
				} else if err := st.Action.Decode(&acts); err != nil {
					t.Fatal(err)
				}
				for _, a := range acts {
					if a == "s3:ListBucket" {
						found++
						if st.Condition.Kind != 0 {
							t.Errorf("%s %s: s3:ListBucket has a condition (line %d)", role, st.Sid, st.Condition.Line)
						}
					}
				}
			}
		}
		if found == 0 {
			t.Errorf("%s grants no s3:ListBucket", role)
		}
	}
}
