package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// The request budget of docs/worker.md ("Cost model"), per input object, with default settings.
const (
	budgetS3PutsPerObject   = 0.1 // ledger and Parquet together (PUT, POST)
	budgetSQSCallsPerObject = 0.5 // receive, delete, visibility (heartbeats included)
	// The object itself is one GET; the ledger and metric staging may add reads, but not per object.
	budgetS3ReadsPerObject = 1.1 // GET and HEAD
)

// recorder is a reverse proxy in front of moto_server that counts the requests passing through by
// service and kind, as they would be billed: S3 GET/HEAD/LIST/PUT/POST/DELETE (PUTs also by the area
// of the output they write), SQS and CloudTrail by API name.
type recorder struct {
	mu sync.Mutex
	n  map[string]int
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request`)

func (r *recorder) kind(req *http.Request) string {
	service := "unknown"
	if m := scopeRE.FindStringSubmatch(req.Header.Get("Authorization")); m != nil {
		service = m[1]
	}
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		return service + " " + t[strings.LastIndex(t, ".")+1:]
	}
	if service != "s3" {
		if err := req.ParseForm(); err == nil && req.Form.Get("Action") != "" {
			return service + " " + req.Form.Get("Action")
		}
		return service + " " + req.Method
	}
	// Path-style: /bucket[/key].
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	_ = bucket
	switch {
	case req.Method == http.MethodGet && key == "":
		return "s3 LIST"
	case req.Method == http.MethodPut || req.Method == http.MethodPost:
		area := "tables"
		switch {
		case strings.Contains(key, "_ledger/"):
			area = "_ledger"
		case strings.Contains(key, "_quarantine/"):
			area = "_quarantine"
		}
		return "s3 " + req.Method + " " + area
	}
	return "s3 " + req.Method
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.n))
	for k, v := range r.n {
		out[k] = v
	}
	return out
}

func startRecorder(t *testing.T, target string) (*recorder, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Reading the form consumes the body: keep a copy for the proxy.
		var body []byte
		if req.Body != nil {
			body, _ = readAll(req)
		}
		req.Body = nopCloser{bytes.NewReader(body)}
		probe := req.Clone(req.Context())
		probe.Body = nopCloser{bytes.NewReader(body)}
		k := rec.kind(probe)
		rec.mu.Lock()
		rec.n[k]++
		rec.mu.Unlock()
		req.Body = nopCloser{bytes.NewReader(body)}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func readAll(req *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(req.Body)
	req.Body.Close()
	return b.Bytes(), err
}

// ctObject is a small CloudTrail log object with n records.
func ctObject(t *testing.T, i, n int) (key string, body []byte) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Duration(i) * time.Second)
	acct := fmt.Sprintf("1111%08d", i%50)
	key = fmt.Sprintf("AWSLogs/o-costmodel1/%s/CloudTrail/eu-west-1/%s/%s_CloudTrail_eu-west-1_%s_%08d.json.gz",
		acct, at.Format("2006/01/02"), acct, at.Format("20060102T1504Z"), i)
	if o := parse.Classify("org-log-archive", key); o.Source != parse.SourceCloudTrail {
		t.Fatalf("%s is not a CloudTrail key: %s", key, o.Reason)
	}
	var recs []string
	for j := 0; j < n; j++ {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","accountId":"%s"},"eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-cli","eventID":"%08d-%04d","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"%s","eventCategory":"Data"}`,
			acct, at.Format(time.RFC3339), i, j, acct))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, `{"Records":[%s]}`, strings.Join(recs, ","))
	zw.Close()
	return key, buf.Bytes()
}

// TestRequestBudget runs `ingest run` with default settings over 1,000 small CloudTrail objects
// announced by S3 notifications, stops it with SIGTERM once every object is processed (the drain
// commits and deletes), and counts every AWS request it made. It fails above the budget of
// docs/worker.md; the figures it logs are the ones the cost model quotes.
func TestRequestBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	objects, records := soak(1000, 250), 3
	ctx := context.Background()
	srv := motoserver.Start(t)
	st := store.NewS3(srv.S3, store.S3Options{})
	bucket := "org-log-archive"
	queueURL := srv.CreateArchive(ctx, t, bucket)
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("out")}); err != nil {
		t.Fatal(err)
	}
	// Upload straight to moto (not counted); each PUT sends its notification to the queue.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < objects; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, b := ctObject(t, i, records)
			if err := st.Put(ctx, bucket, k, b, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rec, proxyURL := startRecorder(t, srv.URL)
	bin := buildIngest(t)
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--queue-url", queueURL, "--dest", "s3://out/tables", "--ops-addr", addr,
		"--metrics-out", filepath.Join(t.TempDir(), "metrics.emf"), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for scrapeSum(addr, "logarchive_pipeline_objects_total") < float64(objects) {
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("not every object processed within 10 minutes\n%s", tail(logs.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	processed := time.Since(start)
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	if err := wait(t, cmd, 2*time.Minute, &logs); err != nil {
		t.Fatalf("worker: %v\n%s", err, tail(logs.String(), 4000))
	}
	a := &archive{srv: srv, st: st, bucket: bucket, queueURL: queueURL}
	if v, inv := a.queueDepth(t, queueURL); v+inv != 0 {
		t.Fatalf("queue holds %d visible and %d invisible messages\n%s", v, inv, tail(logs.String(), 4000))
	}
	got := a.readTables(t)["cloudtrail"]
	if got.rows != objects*records || got.distinct != objects*records {
		t.Fatalf("cloudtrail: %d rows, %d distinct; want %d each", got.rows, got.distinct, objects*records)
	}

	n := rec.counts()
	var kinds []string
	for k := range n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var report strings.Builder
	fmt.Fprintf(&report, "%d objects (%d records each) processed in %s, drained in %s; requests:\n", objects, records,
		processed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	var s3Puts, s3Reads, sqsCalls int
	for _, k := range kinds {
		fmt.Fprintf(&report, "  %-40s %6d  %.3f per object\n", k, n[k], float64(n[k])/float64(objects))
		switch {
		case strings.HasPrefix(k, "s3 PUT"), strings.HasPrefix(k, "s3 POST"):
			s3Puts += n[k]
		case k == "s3 GET", k == "s3 HEAD":
			s3Reads += n[k]
		case strings.HasPrefix(k, "sqs "):
			sqsCalls += n[k]
		}
	}
	fmt.Fprintf(&report, "  S3 PUT+POST %d (%.3f per object, budget %.2f); SQS calls %d (%.3f per object, budget %.2f)",
		s3Puts, float64(s3Puts)/float64(objects), budgetS3PutsPerObject, sqsCalls, float64(sqsCalls)/float64(objects), budgetSQSCallsPerObject)
	t.Log(report.String())
	if float64(s3Puts)/float64(objects) > budgetS3PutsPerObject {
		t.Errorf("S3 PUTs %.3f per object, budget %.2f", float64(s3Puts)/float64(objects), budgetS3PutsPerObject)
	}
	if float64(s3Reads)/float64(objects) > budgetS3ReadsPerObject {
		t.Errorf("S3 GET+HEAD %.3f per object, budget %.2f", float64(s3Reads)/float64(objects), budgetS3ReadsPerObject)
	}
	if float64(sqsCalls)/float64(objects) > budgetSQSCallsPerObject {
		t.Errorf("SQS calls %.3f per object, budget %.2f", float64(sqsCalls)/float64(objects), budgetSQSCallsPerObject)
	}
}

// scrapeSum adds up every sample of a metric on /metrics, whatever its labels (-1 when unavailable).
func scrapeSum(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += f
		}
	}
	return sum
}
