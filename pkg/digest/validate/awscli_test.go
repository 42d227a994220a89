package validate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// awsCLI runs `aws cloudtrail validate-logs` (aws-cli v1) over a fixture copied into moto_server's
// S3, with ListPublicKeys served by a small HTTP server (moto does not implement it), so that a test
// can compare our verdict lines with aws-cli's for the same bytes.
type awsCLI struct {
	bin  string
	srv  *motoserver.Server
	keys *httptest.Server
	// mu orders the test's writes of pub before the key server's reads: aws-cli's requests come
	// from another process, which gives the race detector no happens-before edge.
	mu  sync.Mutex
	pub []digest.PublicKey
}

func newAWSCLI(t *testing.T) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("aws-cli not found on PATH (CI is set, so this is an error; pip install awscli): %v", err)
		}
		t.Logf("aws-cli not found on PATH: comparing with our expectations only (pip install awscli to compare): %v", err)
		return nil
	}
	c := &awsCLI{bin: bin, srv: motoserver.Start(t)}
	c.keys = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		type key struct {
			Value             string
			ValidityStartTime float64
			ValidityEndTime   float64
			Fingerprint       string
		}
		var out struct{ PublicKeyList []key }
		out.PublicKeyList = []key{}
		c.mu.Lock()
		pub := c.pub
		c.mu.Unlock()
		for _, k := range pub {
			out.PublicKeyList = append(out.PublicKeyList, key{base64.StdEncoding.EncodeToString(k.Value),
				float64(k.ValidityStartTime.Unix()), float64(k.ValidityEndTime.Unix()), k.Fingerprint})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(c.keys.Close)
	return c
}

var verdictLine = regexp.MustCompile(`(?m)^(\(backfill\) )?(Digest|Log) file\t.*$`)

// compare runs aws-cli over f's bucket and fails the test when its verdict lines differ from ours
// (our lines are taken from our text output, which is aws-cli's format). key is only for messages.
func (c *awsCLI) compare(t *testing.T, f *fx, key, ours string) {
	t.Helper()
	if c == nil {
		return
	}
	ctx := context.Background()
	bucket := f.chain.Bucket
	if _, err := c.srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var infos []store.Info
	f.st.List(ctx, bucket, "", "", func(in store.Info) error { infos = append(infos, in); return nil })
	for _, in := range infos {
		rc, info, err := f.st.Get(ctx, bucket, in.Key)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if _, err := c.srv.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(in.Key),
			Body: bytes.NewReader(body), Metadata: info.Metadata}); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	c.pub = []digest.PublicKey{f.pub}
	c.mu.Unlock()
	cmd := exec.Command(c.bin, "cloudtrail", "validate-logs", "--trail-arn", "arn:aws:cloudtrail:us-east-1:"+f.chain.Account+":trail/"+f.chain.Trail,
		"--s3-bucket", bucket, "--start-time", digest.DisplayTime(fxStart), "--end-time", digest.DisplayTime(fxStart.Add(24*time.Hour)),
		"--verbose", "--endpoint-url", c.keys.URL, "--region", "us-east-1")
	// motoserver.Start blanks AWS_PROFILE and friends; aws-cli reads an empty profile as a name.
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "AWS_") || v != "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, eout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &eout
	cmd.Run()
	theirs := verdictLine.FindAllString(out.String()+eout.String(), -1)
	// WARNING lines are ours alone (docs/validate.md); verdicts must agree.
	var mine []string
	for _, l := range verdictLine.FindAllString(ours, -1) {
		if !strings.Contains(l, "\tWARNING: ") {
			mine = append(mine, l)
		}
	}
	sort.Strings(theirs)
	sort.Strings(mine)
	if strings.Join(theirs, "\n") != strings.Join(mine, "\n") {
		t.Errorf("verdicts for %s differ from aws-cli's\naws-cli:\n%s\nours:\n%s\n(aws-cli stderr: %s)", key,
			strings.Join(theirs, "\n"), strings.Join(mine, "\n"), eout.String())
	}
}
