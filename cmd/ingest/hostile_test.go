package main

// The adversarial suite (issue 14): hostile and broken input against the commands, each case
// asserting where every byte went (rows, quarantine, dead-letter queue) and that nothing was
// written outside the destination.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeSrc writes objects (key → body) under dir/<bucket>/.
func writeSrc(t *testing.T, dir, bucket string, objs map[string][]byte) {
	t.Helper()
	for k, body := range objs {
		p := filepath.Join(dir, bucket, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// stringValues appends every string held by arr (nested lists, structs and maps included).
func stringValues(arr arrow.Array, out *[]string) {
	switch a := arr.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				*out = append(*out, a.Value(i))
			}
		}
	case *array.LargeString:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				*out = append(*out, a.Value(i))
			}
		}
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			stringValues(a.Field(f), out)
		}
	case array.ListLike:
		stringValues(a.ListValues(), out)
	}
}

// readAllStrings reads every Parquet file under dir with Arrow's pqarrow and returns the rows per
// table directory and every string value.
func readAllStrings(t *testing.T, dir string) (rows map[string]int64, values []string) {
	t.Helper()
	rows = map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		table := filepath.ToSlash(rel)
		if i := bytes.IndexByte([]byte(table), '/'); i > 0 {
			table = table[:i]
		}
		rdr, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer rdr.Close()
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer tbl.Release()
		rows[table] += tbl.NumRows()
		for c := 0; c < int(tbl.NumCols()); c++ {
			for _, ch := range tbl.Column(c).Data().Chunks() {
				stringValues(ch, &values)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, values
}

// TestLocalInvalidUTF8ReadsBack: one invalid byte in a CloudTrail userAgent, a Resolver query_name
// and a flow log's interface-id costs nothing: every row is written, every file reads back in full
// with an independent reader, every string in it is valid UTF-8, and the replacements are counted
// per source in the summary.
func TestLocalInvalidUTF8ReadsBack(t *testing.T) {
	src := t.TempDir()
	writeSrc(t, src, "org-archive", map[string][]byte{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0805Z_abcdefabcdefabcd.json.gz": gzipped(t, []byte(
			`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:00Z","eventSource":"sts.amazonaws.com","eventName":"A","awsRegion":"us-east-1","userAgent":"aws-cli","recipientAccountId":"111122223333"},`+
				`{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:01Z","eventSource":"sts.amazonaws.com","eventName":"B","awsRegion":"us-east-1","userAgent":"aws-`+"\xff"+`-cli","recipientAccountId":"111122223333","requestParameters":{"roleSessionName":"x`+"\xc3"+`"}}]}`)),
		"AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2026/03/02/vpc-0abc_vpcdnsquerylogs_111122223333_20260302T0000Z_abcd.log.gz": gzipped(t, []byte(
			`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2026-03-02T00:00:00Z","query_name":"ok.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"}}`+"\n"+
				`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2026-03-02T00:00:01Z","query_name":"bad`+"\xff"+`.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"}}`+"\n")),
		"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/03/02/111122223333_vpcflowlogs_us-east-1_fl-1234abcd_20260302T0000Z_fe123456.log.gz": gzipped(t, []byte(
			"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"+
				"2 111122223333 eni-good 10.0.0.1 10.0.0.2 443 49152 6 10 840 1772409600 1772409660 ACCEPT OK\n"+
				"2 111122223333 eni-\xff\xfe 10.0.0.1 10.0.0.2 443 49152 6 10 840 1772409600 1772409660 ACCEPT OK\n")),
	})
	lake := filepath.Join(t.TempDir(), "lake")
	var out, errOut bytes.Buffer
	if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--json", "--log-level", "error", "--no-builtin-rules"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var sum localSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, src := range []string{"cloudtrail", "resolver", "vpcflow"} {
		if got := sum.Counters[src]["invalid_utf8_records"]; got != 1 {
			t.Errorf("%s: invalid_utf8_records = %d, want 1 (%v)", src, got, sum.Counters[src])
		}
	}
	rows, values := readAllStrings(t, lake)
	for _, table := range []string{"cloudtrail", "resolver", "vpcflow"} {
		if rows[table] != 2 {
			t.Errorf("table %s: %d rows read back, want 2", table, rows[table])
		}
	}
	replaced := 0
	for _, v := range values {
		if !utf8.ValidString(v) {
			t.Fatalf("invalid UTF-8 read back: %q", v)
		}
		switch v {
		case "aws-\uFFFD-cli", "bad\uFFFD.example.com.", "eni-\uFFFD":
			replaced++
		}
	}
	if replaced != 3 {
		t.Fatalf("%d of the 3 replaced values read back", replaced)
	}
}

// notification is an S3 event notification for one object, as S3 sends it to SQS.
func notification(bucket, key string, size int) string {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-03-02T08:10:00.000Z",
		"eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(key), "size": size, "eTag": "0123456789abcdef0123456789abcdef"}},
	}}})
	return string(b)
}

// ctKey is a CloudTrail log key of account 111122223333 (so it classifies as a log).
func ctKey(i int) string {
	return fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T08%02dZ_hostile%09d.json.gz", i%60, i)
}

// ctBody is a CloudTrail log file of n records whose eventIDs start with id.
func ctBody(t *testing.T, id string, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.08","eventTime":"2026-03-02T08:%02d:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","eventID":"%s-%d","recipientAccountId":"111122223333"}`, i%60, id, i)
	}
	b.WriteString(`]}`)
	return gzipped(t, []byte(b.String()))
}

type forgedRow struct {
	EventName string `parquet:"eventname"`
}

// writeNoKeys writes an empty public-keys file, so that a run needs no CloudTrail call.
func writeNoKeys(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(p, []byte(`{"PublicKeyList":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type ctEventID struct {
	EventID *string `parquet:"eventid,optional"`
}

// hostileMoto is one moto_server and one ingest binary shared by the worker cases below.
type hostileMoto struct {
	srv *motoserver.Server
	st  *store.S3
	bin string
}

func (h *hostileMoto) queue(t *testing.T, name string) string {
	t.Helper()
	out, err := h.srv.SQS.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl
}

func (h *hostileMoto) send(t *testing.T, q string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := h.srv.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *hostileMoto) depth(t *testing.T, q string) int {
	t.Helper()
	out, err := h.srv.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inv, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return v + inv
}

// start runs `ingest run` with args; env entries are added to the environment.
func (h *hostileMoto) start(t *testing.T, logs *bytes.Buffer, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(h.bin, append([]string{"run"}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd
}

// healthz returns /healthz's status code (0 when it does not answer).
func healthz(addr string) int {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metricSum sums every sample of a metric, whatever its labels (-1 when /metrics does not answer).
func metricSum(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f, _ := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		sum += f
	}
	return sum
}

// s3Front stands between the worker and moto_server: requests for the buckets it knows get its
// canned answer (what a denying bucket policy or a wrong endpoint answers), the rest go to moto.
func s3Front(t *testing.T, target string, canned map[string]func(http.ResponseWriter)) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if answer, ok := canned[bucket]; ok {
			answer(w)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRunHostileMoto: `ingest run` on moto_server against what the operator must see and fix, and
// against the back-pressure and idleness it must ride out.
func TestRunHostileMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := context.Background()
	h := &hostileMoto{srv: motoserver.Start(t), bin: buildIngest(t)}
	h.st = store.NewS3(h.srv.S3, store.S3Options{})
	if _, err := h.srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("out")}); err != nil {
		t.Fatal(err)
	}
	const archive = "hostile-archive"
	if _, err := h.srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(archive)}); err != nil {
		t.Fatal(err)
	}
	front := s3Front(t, h.srv.URL, map[string]func(http.ResponseWriter){
		"denied-archive": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		},
		"elsewhere-archive": func(w http.ResponseWriter) { // not S3 at all: a web server's 404 page
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<html><body><h1>404 Not Found</h1></body></html>")
		},
	})
	const unhealthyAfter = 3 * time.Second

	// Objects the worker cannot read for a reason only the operator can fix: 0 messages deleted,
	// /healthz 503 once the failures have lasted --unhealthy-after.
	for _, c := range []struct {
		name, bucket, kind string
		head               bool // the notification names no ETag: the coordinator HEADs the object first
	}{
		{"no such bucket", "gone-archive", "no_bucket", false},
		{"no such bucket, HEAD", "gone2-archive", "", true},
		{"access denied", "denied-archive", "access_denied", false},
		{"wrong endpoint", "elsewhere-archive", "no_bucket", false},
		{"wrong endpoint, HEAD", "elsewhere-archive", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := h.queue(t, fmt.Sprintf("q-%s-%v", c.bucket, c.head))
			for i := 1; i <= 3; i++ {
				n := notification(c.bucket, ctKey(i), 100)
				if c.head {
					n = strings.Replace(n, `"eTag":"0123456789abcdef0123456789abcdef",`, "", 1)
					if strings.Contains(n, "eTag") {
						t.Fatalf("notification still has its ETag: %s", n)
					}
				}
				h.send(t, q, n)
			}
			addr := freeAddr(t)
			var logs bytes.Buffer
			start := time.Now()
			cmd := h.start(t, &logs, []string{"AWS_ENDPOINT_URL_S3=" + front}, "--queue-url", q, "--dest", "s3://out/"+c.bucket+"/",
				"--ops-addr", addr, "--unhealthy-after", unhealthyAfter.String(), "--wait-time", "1s", "--retry-base", "1s",
				"--visibility-timeout", "6s", "--commit-interval", "1s", "--metrics-out", "", "--no-builtin-rules")
			var unhealthyAt time.Duration
			for time.Since(start) < unhealthyAfter+20*time.Second {
				if healthz(addr) == http.StatusServiceUnavailable {
					unhealthyAt = time.Since(start)
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if unhealthyAt == 0 {
				t.Fatalf("/healthz never turned 503\n%s", tail(logs.String(), 3000))
			}
			if unhealthyAt < unhealthyAfter {
				t.Fatalf("/healthz 503 after %s, before --unhealthy-after %s", unhealthyAt, unhealthyAfter)
			}
			if n := metricSum(addr, "logarchive_pipeline_errors_fetch_"+c.kind+"_total"); c.kind != "" && n < 1 {
				t.Errorf("errors_fetch_%s = %v\n%s", c.kind, n, tail(logs.String(), 3000))
			}
			if n := metricSum(addr, "logarchive_sqs_messages_deleted_total"); n != 0 {
				t.Errorf("%v messages deleted", n)
			}
			syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
			if err := wait(t, cmd, 30*time.Second, &logs); err != nil {
				t.Fatalf("after SIGTERM: %v\n%s", err, tail(logs.String(), 3000))
			}
			if n := h.depth(t, q); n != 3 {
				t.Fatalf("queue holds %d messages, want the 3 sent (none deleted)", n)
			}
			t.Logf("/healthz 503 after %s (--unhealthy-after %s)", unhealthyAt.Round(100*time.Millisecond), unhealthyAfter)
		})
	}

	// No credentials: every ReceiveMessage fails; /healthz 503 after --unhealthy-after (it used to
	// stay 200).
	t.Run("receives failing", func(t *testing.T) {
		q := h.queue(t, "q-nocreds")
		addr := freeAddr(t)
		var logs bytes.Buffer
		start := time.Now()
		cmd := h.start(t, &logs, []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN="},
			"--queue-url", q, "--dest", "file://"+t.TempDir(), "--ops-addr", addr, "--unhealthy-after", unhealthyAfter.String(),
			"--wait-time", "1s", "--metrics-out", "", "--no-builtin-rules", "--public-keys", writeNoKeys(t))
		var unhealthyAt time.Duration
		for time.Since(start) < unhealthyAfter+20*time.Second {
			if healthz(addr) == http.StatusServiceUnavailable {
				unhealthyAt = time.Since(start)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if unhealthyAt < unhealthyAfter {
			t.Fatalf("/healthz 503 after %s (0: never), want after %s\n%s", unhealthyAt, unhealthyAfter, tail(logs.String(), 3000))
		}
		if n := metricSum(addr, "logarchive_sqs_receive_errors_total"); n < 1 {
			t.Fatalf("receive errors %v", n)
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		wait(t, cmd, 30*time.Second, &logs)
		t.Logf("/healthz 503 after %s", unhealthyAt.Round(100*time.Millisecond))
	})

	// Keys that are paths out of the destination, on a file:// destination: every byte the worker
	// writes stays under it, the forged Parquet body never reaches a table, every message is settled.
	t.Run("hostile keys stay inside the destination", func(t *testing.T) {
		q := h.queue(t, "q-hostile-keys")
		var forged bytes.Buffer
		pw := parquet.NewGenericWriter[forgedRow](&forged)
		pw.Write([]forgedRow{{EventName: "ConsoleLogin"}, {EventName: "SwitchRole"}})
		pw.Close()
		keys := map[string][]byte{
			"AWSLogs/111122223333/vpcdnsquerylogs/x/../../../../../../etc/evil.txt":                                                                        []byte("\x1f\x8b\x08\x00 not deflate"),
			"AWSLogs/111122223333/vpcflowlogs/us-east-1/../../../../../../../cloudtrail/dt=2026-11-20/injected.parquet":                                    forged.Bytes(),
			"AWSLogs/111122223333/vpcflowlogs/us-east-1/../../../../../../../../../../../../../../../../tmp/hostile-escape.log.gz":                         []byte("garbage"),
			"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/%2e%2e/%2e%2e/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz": []byte("{"),
			"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/.tmp-1/111122223333_CloudTrail_us-east-1_20261120T0000Z_bbbbbbbbbbbbbbbb.json.gz":        []byte("{"),
		}
		for k, body := range keys {
			if err := h.st.Put(ctx, archive, k, body, nil); err != nil {
				t.Fatalf("put %q: %v", k, err)
			}
			h.send(t, q, notification(archive, k, len(body)))
		}
		outer := t.TempDir()
		dest := filepath.Join(outer, "dest")
		var logs bytes.Buffer
		cmd := h.start(t, &logs, nil, "--queue-url", q, "--dest", "file://"+dest, "--ops-addr", freeAddr(t),
			"--wait-time", "1s", "--commit-interval", "1s", "--exit-when-idle", "3s", "--metrics-out", "", "--no-builtin-rules",
			"--log-level", "info")
		if err := wait(t, cmd, 60*time.Second, &logs); err != nil {
			t.Fatalf("%v\n%s", err, tail(logs.String(), 3000))
		}
		if n := h.depth(t, q); n != 0 {
			t.Fatalf("queue holds %d messages\n%s", n, tail(logs.String(), 3000))
		}
		quarantined := 0
		filepath.WalkDir(outer, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dest, path)
			top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
			switch {
			case !filepath.IsLocal(rel):
				t.Errorf("written outside the destination: %s", path)
			case top == "_quarantine":
				if !strings.HasSuffix(path, ".s3meta.json") {
					quarantined++
				}
			case top != "_ledger":
				t.Errorf("a hostile object reached %s", rel)
			}
			return nil
		})
		if _, err := os.Stat("/tmp/hostile-escape.log.gz"); err == nil {
			t.Errorf("/tmp/hostile-escape.log.gz written")
		}
		if quarantined != len(keys) {
			t.Fatalf("%d quarantined copies, want %d\n%s", quarantined, len(keys), tail(logs.String(), 3000))
		}
	})

	// The same keys through `ingest backfill --dest` (direct mode): nothing outside the destination.
	t.Run("backfill hostile keys stay inside the destination", func(t *testing.T) {
		const b = "hostile-backfill"
		if _, err := h.srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		keys := []string{
			"AWSLogs/111122223333/vpcdnsquerylogs/x/../../../../../../etc/evil.txt",
			"AWSLogs/111122223333/vpcflowlogs/us-east-1/../../../../../../../cloudtrail/dt=2026-11-20/injected.log.gz",
			"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/../../../../../../../../../../../../../../../../../../tmp/x.json.gz",
		}
		for _, k := range keys {
			if err := h.st.Put(ctx, b, k, []byte("\x1f\x8b\x08\x00 not deflate"), nil); err != nil {
				t.Fatal(err)
			}
		}
		outer := t.TempDir()
		dest := filepath.Join(outer, "dest")
		out, err := exec.Command(h.bin, "backfill", "--bucket", "s3://"+b+"/AWSLogs/", "--dest", "file://"+dest,
			"--no-builtin-rules", "--public-keys", writeNoKeys(t), "--log-level", "warn").CombinedOutput()
		if err != nil {
			t.Fatalf("backfill: %v\n%s", err, out)
		}
		quarantined := 0
		filepath.WalkDir(outer, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dest, path)
			top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
			switch {
			case !filepath.IsLocal(rel):
				t.Errorf("written outside the destination: %s", path)
			case top == "_quarantine":
				if !strings.HasSuffix(path, ".s3meta.json") {
					quarantined++
				}
			case top != "_ledger":
				t.Errorf("a hostile object reached %s", rel)
			}
			return nil
		})
		if quarantined != len(keys) {
			t.Fatalf("%d quarantined copies, want %d\n%s", quarantined, len(keys), out)
		}
	})

	// An object removed after its notification (NoSuchKey): acknowledged, counted, logged.
	t.Run("no such key", func(t *testing.T) {
		q := h.queue(t, "q-nosuchkey")
		h.send(t, q, notification(archive, ctKey(4), 100))
		addr := freeAddr(t)
		var logs bytes.Buffer
		emfPath := filepath.Join(t.TempDir(), "metrics.emf")
		cmd := h.start(t, &logs, nil, "--queue-url", q, "--dest", "s3://out/nosuchkey/", "--ops-addr", addr,
			"--wait-time", "1s", "--commit-interval", "1s", "--metrics-out", emfPath, "--no-builtin-rules", "--exit-when-idle", "3s",
			"--log-level", "info")
		if err := wait(t, cmd, 30*time.Second, &logs); err != nil {
			t.Fatalf("%v\n%s", err, tail(logs.String(), 3000))
		}
		if n := h.depth(t, q); n != 0 {
			t.Fatalf("queue holds %d messages", n)
		}
		if !strings.Contains(logs.String(), "object not found") || !strings.Contains(logs.String(), ctKey(4)) {
			t.Fatalf("no log line names the missing object\n%s", tail(logs.String(), 3000))
		}
		docs, err := os.ReadFile(emfPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := emfSum(t, docs, "logarchive_pipeline_errors_not_found"); n != 1 {
			t.Fatalf("errors_not_found metric = %v, want 1", n)
		}
	})

	// Intended back-pressure: the worker holds --max-bytes of objects waiting for their commit and
	// stops receiving; for a whole commit interval (4× --unhealthy-after) /healthz stays 200.
	t.Run("back-pressure is healthy", func(t *testing.T) {
		q := h.queue(t, "q-backpressure")
		for i := 10; i < 13; i++ {
			if err := h.st.Put(ctx, archive, ctKey(i), ctBody(t, fmt.Sprint("bp", i), 3), nil); err != nil {
				t.Fatal(err)
			}
			h.send(t, q, notification(archive, ctKey(i), 100))
		}
		addr := freeAddr(t)
		var logs bytes.Buffer
		const commit = 4 * unhealthyAfter
		cmd := h.start(t, &logs, nil, "--queue-url", q, "--dest", "s3://out/backpressure/", "--ops-addr", addr,
			"--max-bytes", "1", "--commit-interval", commit.String(), "--wait-time", "1s", "--visibility-timeout", "30s",
			"--unhealthy-after", unhealthyAfter.String(), "--metrics-out", "", "--no-builtin-rules")
		start := time.Now()
		held := false
		for time.Since(start) < commit-time.Second {
			code := healthz(addr)
			if code != http.StatusOK && code != 0 {
				t.Fatalf("/healthz %d after %s while holding the backlog\n%s", code, time.Since(start), tail(logs.String(), 3000))
			}
			if metricSum(addr, "logarchive_in_flight_messages") >= 1 {
				held = true
			}
			time.Sleep(250 * time.Millisecond)
		}
		if !held {
			t.Fatalf("no message was ever held\n%s", tail(logs.String(), 3000))
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		if err := wait(t, cmd, 30*time.Second, &logs); err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, tail(logs.String(), 3000))
		}
	})

	// --exit-when-idle 5s with the default commit interval (5 minutes): an archive of 12 objects is
	// written, committed and deleted, and the worker exits 0 within 30 s.
	t.Run("exit when idle", func(t *testing.T) {
		q := h.queue(t, "q-idle")
		const objects, perObject = 12, 7
		for i := 20; i < 20+objects; i++ {
			if err := h.st.Put(ctx, archive, ctKey(i), ctBody(t, fmt.Sprint("idle", i), perObject), nil); err != nil {
				t.Fatal(err)
			}
			h.send(t, q, notification(archive, ctKey(i), 100))
		}
		var logs bytes.Buffer
		start := time.Now()
		cmd := h.start(t, &logs, nil, "--queue-url", q, "--dest", "s3://out/idle/", "--exit-when-idle", "5s",
			"--ops-addr", freeAddr(t), "--metrics-out", "")
		if err := wait(t, cmd, 60*time.Second, &logs); err != nil {
			t.Fatalf("exit: %v\n%s", err, tail(logs.String(), 3000))
		}
		took := time.Since(start)
		if took > 30*time.Second {
			t.Fatalf("exited after %s, want within 30s", took)
		}
		if n := h.depth(t, q); n != 0 {
			t.Fatalf("queue holds %d messages", n)
		}
		rows, ids := 0, map[string]bool{}
		err := h.st.List(ctx, "out", "idle/cloudtrail/", "", func(info store.Info) error {
			rc, _, err := h.st.Get(ctx, "out", info.Key)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				return err
			}
			r := parquet.NewGenericReader[ctEventID](f)
			buf := make([]ctEventID, 64)
			for {
				n, err := r.Read(buf)
				for _, b := range buf[:n] {
					rows++
					if b.EventID != nil {
						ids[*b.EventID] = true
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
			}
			return r.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		if rows != objects*perObject || len(ids) != objects*perObject {
			t.Fatalf("%d rows, %d distinct, want %d each", rows, len(ids), objects*perObject)
		}
		t.Logf("12 objects, %d rows, exit 0 after %s", rows, took.Round(100*time.Millisecond))
	})
}

type findingMetric struct {
	MetricName  *string  `parquet:"metric_name,optional"`
	MetricValue *float64 `parquet:"metric_value,optional"`
}

// findingMetricSums adds up the committed findings' metric values per metric name.
func (a *archive) findingMetricSums(t *testing.T) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	sums := map[string]float64{}
	err := a.st.List(ctx, "out", "tables/findings/", "", func(info store.Info) error {
		if !strings.HasSuffix(info.Key, ".parquet") {
			return nil
		}
		rc, _, err := a.st.Get(ctx, "out", info.Key)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			return err
		}
		r := parquet.NewGenericReader[findingMetric](f)
		buf := make([]findingMetric, 256)
		for {
			n, err := r.Read(buf)
			for _, m := range buf[:n] {
				if m.MetricName != nil && m.MetricValue != nil {
					sums[*m.MetricName] += *m.MetricValue
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		return r.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestLocalReportsRefusedSamples: a backfill of logs older than CloudWatch's two weeks still writes
// every finding, and the summary says how many metric samples were not published and why (they
// used to vanish with exit 0).
func TestLocalReportsRefusedSamples(t *testing.T) {
	opts, err := synth.Preset("tiny", 3)
	if err != nil {
		t.Fatal(err)
	}
	opts.Start = time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	src, _ := generate(t, opts)
	lake := filepath.Join(t.TempDir(), "lake")
	emfPath := filepath.Join(t.TempDir(), "m.emf")
	var out, errOut bytes.Buffer
	if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--metrics-out", emfPath, "--json", "--log-level", "error"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	var sum localSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	rows, _ := readTable(t, lake, "findings")
	if rows == 0 {
		t.Fatal("no findings")
	}
	m := sum.Counters["metrics"]
	if m["samples_dropped_too_old"] < rows || m["samples_written"] != 0 {
		t.Fatalf("metrics summary %v for %d findings", m, rows)
	}
}

// TestLocalHostileObjectsAccounted: the broken inputs that held (corrupt and truncated gzip,
// truncated JSON, trailing garbage, 100k-deep nesting, a record over the size limit, a gzip bomb)
// beside good objects: every object's bytes went to exactly one place — rows (counted per record)
// or a byte-identical quarantine copy with its class — and nothing was written outside the
// destination.
func TestLocalHostileObjectsAccounted(t *testing.T) {
	src := t.TempDir()
	good := ctBody(t, "good", 3)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	// Valid JSON all the way: 8 MiB of whitespace between the brackets (limit 4 MiB), in 8 KiB.
	zw.Write([]byte(`{"Records":[`))
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for i := 0; i < 8; i++ {
		zw.Write(spaces)
	}
	zw.Write([]byte(`]}`))
	zw.Close()
	huge := append([]byte(`{"version":"1.100000","query_name":"`), bytes.Repeat([]byte("a"), 5<<20)...)
	huge = append(huge, `"}`+"\n"...)
	type want struct {
		rows  int
		class string // quarantine class when rows is 0
	}
	dns := func(i int) string {
		return fmt.Sprintf("AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2026/03/02/vpc-0abc_vpcdnsquerylogs_111122223333_20260302T00%02dZ_abcd.log.gz", i)
	}
	objs := map[string][]byte{
		ctKey(1): good,
		ctKey(2): append(append([]byte(nil), good[:len(good)/2]...), bytes.Repeat([]byte{0x55}, 40)...),
		ctKey(3): good[:len(good)/2],
		ctKey(4): gzipped(t, []byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:00Z"`)),
		ctKey(5): gzipped(t, []byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:00Z","eventName":"A"}]} trailing garbage`)),
		ctKey(6): gzipped(t, []byte(`{"Records":[{"eventVersion":"1.08","requestParameters":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}]}`)),
		dns(1):   gzipped(t, huge),
		ctKey(7): bomb.Bytes(),
	}
	wants := map[string]want{
		ctKey(1): {rows: 3}, ctKey(2): {class: "corrupt_gzip"}, ctKey(3): {class: "truncated"}, ctKey(4): {class: "truncated"},
		ctKey(5): {class: "trailing_data"}, ctKey(6): {class: "syntax"}, dns(1): {class: "too_large"}, ctKey(7): {class: "too_large"},
	}
	const bucket = "org-archive"
	writeSrc(t, src, bucket, objs)
	outer := t.TempDir()
	lake := filepath.Join(outer, "lake")
	var out, errOut bytes.Buffer
	code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--json", "--log-level", "error",
		"--no-builtin-rules", "--max-inflated-bytes", strconv.Itoa(4 << 20), "--workers", "2"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var sum localSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	classes := map[string]string{}
	for _, q := range sum.Quarantined {
		classes[strings.TrimPrefix(q.Key, bucket+"/")] = q.Class
	}
	rows, _ := readAllStrings(t, lake)
	totalRows := 0
	for k, w := range wants {
		if w.rows > 0 {
			totalRows += w.rows
			if c, q := classes[k]; q {
				t.Errorf("%s: quarantined (%s), want %d rows", k, c, w.rows)
			}
			continue
		}
		if classes[k] != w.class {
			t.Errorf("%s: quarantined as %q, want %q", k, classes[k], w.class)
		}
		copyPath := filepath.Join(lake, "_quarantine", w.class, bucket, filepath.FromSlash(k))
		body, err := os.ReadFile(copyPath)
		if err != nil || !bytes.Equal(body, objs[k]) {
			t.Errorf("%s: quarantine copy missing or different (%v)", k, err)
		}
	}
	if got := rows["cloudtrail"] + rows["resolver"]; got != int64(totalRows) {
		t.Errorf("%d rows, want %d (%v)", got, totalRows, rows)
	}
	if len(sum.Quarantined) != len(wants)-1 {
		t.Errorf("%d objects quarantined, want %d: %+v", len(sum.Quarantined), len(wants)-1, sum.Quarantined)
	}
	filepath.WalkDir(outer, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, _ := filepath.Rel(lake, path); !filepath.IsLocal(rel) {
				t.Errorf("written outside the destination: %s", path)
			}
		}
		return err
	})
}
