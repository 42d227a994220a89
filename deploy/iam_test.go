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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gopkg.in/yaml.v3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

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
		svc, op, _ := strings.Cut(target, ".")
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
		"--visibility-timeout", "4s", "--wait-time", "1s", "--commit-interval", "1s", "--exit-when-idle", "4s",
		"--lease-ttl", "2s", "--busy-retry", "1s", "--retry-base", "1s", "--workers", "4",
		"--ops-addr", "", "--metrics-out", emf, "--log-level", "info")
	runCmd = exec.CommandContext(ctxRun, runCmd.Path, runCmd.Args[1:]...)
	runCmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
	run := recorded(t, &proxy, "ingest run", runCmd)

	granted := policyActions(t, readTemplate(t, "worker.yaml"), "TaskRole")
	used := map[string]bool{}
	for _, rec := range []map[string]map[string]bool{backfill, run} {
		for a, buckets := range rec {
			used[a] = true
			if _, ok := granted[a]; !ok {
				t.Errorf("the commands call %s (buckets %v) but the task role does not grant it", a, keysOf(buckets))
			}
			if a == "s3:PutObject" || a == "s3:DeleteObject" || a == "s3:AbortMultipartUpload" {
				for b := range buckets {
					if b != "lake-out" {
						t.Errorf("%s on bucket %s: the worker must write only to the output bucket", a, b)
					}
				}
			}
		}
	}
	for a := range granted {
		if !used[a] && notExercisedOnMoto[a] == "" {
			t.Errorf("the task role grants %s, which neither command called", a)
		}
		if used[a] && notExercisedOnMoto[a] != "" {
			t.Errorf("%s was called after all: remove it from notExercisedOnMoto", a)
		}
	}
	t.Logf("backfill: %v; run: %v", keysOf(backfill), keysOf(run))
	checkWorkerAlarms(t, emf)
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
