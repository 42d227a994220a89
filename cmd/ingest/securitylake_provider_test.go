package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/synth"
)

// lakeBucket is named as Security Lake names its buckets, in another Region than the worker's
// (motoserver.Region): the sources' clients must sign for the bucket's Region.
const lakeBucket = "aws-security-data-lake-eu-west-1-test"

// signedRequest is one request the worker sent, with the access key id and Region that signed it.
type signedRequest struct {
	method, bucket, key, akid, region string
}

// assumeRoleCall is one sts:AssumeRole the worker made and the access key id moto answered with.
type assumeRoleCall struct {
	role, externalID, session, akid, signedBy string
}

// signingProxy sits between the worker and moto_server and records who signed each request: the
// access key id of its SigV4 Authorization header, and for sts:AssumeRole the parameters and the
// access key id of the temporary credentials moto returned.
type signingProxy struct {
	mu      sync.Mutex
	reqs    []signedRequest
	assumes []assumeRoleCall
	// crash, when set, is called (once) instead of forwarding the first ledger decision
	// (_ledger/commits/) that follows a write to the lake: the worker dies with the transaction's
	// lake objects visible and undecided, so the next worker must roll them back.
	crash     func()
	lakeWrite bool
}

type assumeCtxKey struct{}

// credential splits a SigV4 Authorization header's Credential=AKID/date/region/service/aws4_request.
func credential(auth string) (akid, region string) {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", ""
	}
	rest, _, _ = strings.Cut(rest, ",")
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return parts[0], ""
	}
	return parts[0], parts[2]
}

func (p *signingProxy) start(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		call, ok := resp.Request.Context().Value(assumeCtxKey{}).(*assumeRoleCall)
		if !ok {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var out struct {
			AccessKeyID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		}
		if err := xml.Unmarshal(body, &out); err != nil || out.AccessKeyID == "" {
			return fmt.Errorf("AssumeRole answer without credentials (%v): %s", err, body)
		}
		call.akid = out.AccessKeyID
		p.mu.Lock()
		p.assumes = append(p.assumes, *call)
		p.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		akid, region := credential(r.Header.Get("Authorization"))
		if r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") == "" {
			// A query-protocol call (STS): its parameters are the form body.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			if form.Get("Action") == "AssumeRole" {
				call := &assumeRoleCall{role: form.Get("RoleArn"), externalID: form.Get("ExternalId"),
					session: form.Get("RoleSessionName"), signedBy: akid}
				r = r.WithContext(context.WithValue(r.Context(), assumeCtxKey{}, call))
			}
		} else if r.Header.Get("X-Amz-Target") == "" {
			bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			write := r.Method == http.MethodPut || r.Method == http.MethodPost
			p.mu.Lock()
			p.reqs = append(p.reqs, signedRequest{method: r.Method, bucket: bucket, key: key, akid: akid, region: region})
			p.lakeWrite = p.lakeWrite || write && bucket == lakeBucket
			var crash func()
			if p.crash != nil && p.lakeWrite && write && strings.Contains(key, "_ledger/commits/") {
				crash, p.crash = p.crash, nil
			}
			p.mu.Unlock()
			if crash != nil {
				crash()
				http.Error(w, "worker killed", http.StatusServiceUnavailable)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSecurityLakeProviderRoles: with --security-lake-providers, `ingest run --format
// security-lake` writes each source's objects with that source's provider role: every S3 request
// under a source's provider.location is signed with the access key id sts:AssumeRole returned for
// that source's role, asked with the source's external ID and a session naming the worker, once
// per role and process (cached, not per object); the ledger and a source without a role use the
// worker's own credentials, and so does the rollback of a killed worker's uncommitted lake objects
// (Security Lake's provider roles may not delete); every record is in the output once.
func TestSecurityLakeProviderRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	opts := tinyArchive()
	// Small: every object is a few requests through moto; one Region still gives
	// CloudTrail, flow and Resolver objects (the three sources under test).
	opts.Hours, opts.Regions = 1, []string{"us-east-1"}
	start := time.Now()
	a := newArchive(t, opts, 0)
	t.Logf("archive ready in %s", time.Since(start))
	ctx := context.Background()
	if _, err := a.srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lakeBucket)}); err != nil {
		t.Fatal(err)
	}
	const (
		roleAPI  = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-logarchive-api-activity-us-east-1"
		roleFlow = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-logarchive-network-activity-us-east-1"
		ownKey   = "test" // internal/motoserver's AWS_ACCESS_KEY_ID
	)
	providers := `{"externalId":"shared-external-id","sources":{
		"API_ACTIVITY":{"location":"s3://` + lakeBucket + `/ext/logarchive-api-activity/1.0/","roleArn":"` + roleAPI + `"},
		"NETWORK_ACTIVITY":{"location":"s3://` + lakeBucket + `/ext/logarchive-network-activity/1.0/","roleArn":"` + roleFlow + `","externalId":"flow-external-id"},
		"DNS_ACTIVITY":{"location":"s3://` + lakeBucket + `/ext/logarchive-dns-activity/1.0/"}}}`
	providersFile := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(providersFile, []byte(providers), 0o644); err != nil {
		t.Fatal(err)
	}

	var proxy signingProxy
	proxyURL := proxy.start(t, a.srv.URL)
	var logs bytes.Buffer
	worker := func(extra ...string) *exec.Cmd {
		cmd := exec.Command(a.bin, append([]string{"run", "--queue-url", a.queueURL, "--dest", a.outURL, "--public-keys", a.keys,
			"--format", "security-lake", "--security-lake-providers", "file://" + providersFile,
			"--visibility-timeout", "3s", "--wait-time", "1s", "--commit-interval", "1s", "--lease-ttl", "2s",
			"--busy-retry", "1s", "--retry-base", "1s", "--workers", "4", "--ops-addr", "", "--metrics-out", "",
			"--no-builtin-rules", "--log-level", "info"}, extra...)...)
		cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxyURL)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// The first worker dies between its lake objects and their commit; the second rolls them back
	// (with the worker's own credentials: the provider roles may not delete) and finishes.
	first := worker()
	proxy.mu.Lock()
	proxy.crash = func() { syscall.Kill(-first.Process.Pid, syscall.SIGKILL) }
	proxy.mu.Unlock()
	first.Wait()
	proxy.mu.Lock()
	crashed := proxy.crash == nil
	proxy.mu.Unlock()
	if !crashed {
		t.Fatalf("the first worker never committed after writing to the lake\n%s", tail(logs.String(), 4000))
	}
	if err := wait(t, worker("--exit-when-idle", "3s"), 2*time.Minute, &logs); err != nil {
		t.Fatalf("worker: %v\n%s", err, tail(logs.String(), 4000))
	}
	t.Logf("workers done at %s", time.Since(start))

	proxy.mu.Lock()
	reqs, assumes := proxy.reqs, proxy.assumes
	proxy.mu.Unlock()

	// One AssumeRole per role for the whole run, with the source's external ID, signed by the
	// worker's own key, in a session that names the worker.
	keyOf := map[string]string{} // assumed-role access key id → role
	calls := map[string]int{}
	for _, c := range assumes {
		calls[c.role]++
		keyOf[c.akid] = c.role
		want := map[string]string{roleAPI: "shared-external-id", roleFlow: "flow-external-id"}[c.role]
		if want == "" {
			t.Errorf("AssumeRole of %s: not a configured role", c.role)
		}
		if c.externalID != want {
			t.Errorf("AssumeRole of %s with external ID %q, want %q", c.role, c.externalID, want)
		}
		if !strings.HasPrefix(c.session, "logarchive-") {
			t.Errorf("AssumeRole of %s: session %q does not name the worker", c.role, c.session)
		}
		if c.signedBy != ownKey {
			t.Errorf("AssumeRole of %s signed by %q, want the worker's own key", c.role, c.signedBy)
		}
	}
	if calls[roleAPI] != 2 || calls[roleFlow] != 2 {
		t.Errorf("AssumeRole calls %v: want exactly one per role and worker (credentials cached)", calls)
	}

	// Who must sign a request: the role of the source whose location it touches, else the worker.
	wantRole := func(bucket, key string) string {
		if bucket == lakeBucket {
			switch {
			case strings.HasPrefix(key, "ext/logarchive-api-activity/1.0/"):
				return roleAPI
			case strings.HasPrefix(key, "ext/logarchive-network-activity/1.0/"):
				return roleFlow
			}
		}
		return ""
	}
	writes := map[string]int{} // by signer: role ARN, or "own" for the ledger/other locations
	var ledgerWrites, dnsWrites, rollbacks int
	for _, r := range reqs {
		want, got := wantRole(r.bucket, r.key), keyOf[r.akid]
		if r.method == http.MethodDelete && r.bucket == lakeBucket {
			// The ledger's rollback of the killed worker's transaction.
			want = ""
			rollbacks++
		}
		if got == "" && r.akid != ownKey {
			t.Errorf("%s s3://%s/%s signed by unknown key %q", r.method, r.bucket, r.key, r.akid)
			continue
		}
		if got != want {
			t.Errorf("%s s3://%s/%s signed by %q (role %q), want role %q", r.method, r.bucket, r.key, r.akid, got, want)
		}
		if wantRegion := map[bool]string{true: "eu-west-1", false: motoserver.Region}[r.bucket == lakeBucket]; r.region != wantRegion {
			t.Errorf("%s s3://%s/%s signed for Region %q, want %q (the bucket's)", r.method, r.bucket, r.key, r.region, wantRegion)
		}
		if r.method != http.MethodPut && r.method != http.MethodPost {
			continue
		}
		switch {
		case want != "":
			writes[want]++
		case r.bucket == "out" && strings.HasPrefix(r.key, "tables/_ledger/"):
			ledgerWrites++
		case r.bucket == lakeBucket && strings.HasPrefix(r.key, "ext/logarchive-dns-activity/1.0/"):
			dnsWrites++
		}
	}
	if rollbacks == 0 || !strings.Contains(logs.String(), "aborting transaction of a dead owner") {
		t.Errorf("the killed worker's lake objects were not rolled back (%d deletes)", rollbacks)
	}
	if writes[roleAPI] == 0 || writes[roleFlow] == 0 || ledgerWrites == 0 || dnsWrites == 0 {
		t.Errorf("writes: api-activity role %d, network-activity role %d, ledger (own) %d, dns-activity (own) %d: want some of each",
			writes[roleAPI], writes[roleFlow], ledgerWrites, dnsWrites)
	}

	// Every mapped record once, wherever its source is.
	got := a.readOCSFIn(t, lakeBucket, "ext/")
	rest := a.readOCSFIn(t, "out", "tables/ext/")
	for k, v := range rest.rows {
		got.rows[k] += v
	}
	m := a.manifest
	for product, n := range map[string]int{
		"CloudTrail": m.Tables[synth.TableCloudTrail].Records,
		"Amazon VPC": m.Tables[synth.TableVPCFlow].Records,
		"Route 53":   m.Tables[synth.TableResolver].Records,
	} {
		if n == 0 || got.rows[product] != n {
			t.Errorf("%s: %d OCSF rows, want %d (one per record)", product, got.rows[product], n)
		}
	}
	for _, line := range []string{`"credentials":"role ` + roleAPI, `"credentials":"worker's own"`, "security-lake source not in --security-lake-providers"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("startup log lacks %q", line)
		}
	}
	t.Logf("AssumeRole calls %v; writes by role %v, ledger %d, dns (own) %d, rollback deletes %d; %d requests",
		calls, writes, ledgerWrites, dnsWrites, rollbacks, len(reqs))
	if t.Failed() {
		t.Log(tail(logs.String(), 6000))
	}
}
