package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// archive is a synthetic Log Archive on moto_server whose objects were announced on the queue.
type archive struct {
	srv      *motoserver.Server
	st       *store.S3
	bucket   string
	queueURL string
	dlqURL   string
	outURL   string // s3://out/tables
	keys     string // public keys file
	manifest *synth.Manifest
	bin      string
}

// buildIngest compiles this command once per test into a temporary directory.
func buildIngest(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingest")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func newArchive(t *testing.T, opts synth.Options, maxReceives int) *archive {
	t.Helper()
	ctx := context.Background()
	srv := motoserver.Start(t)
	a := &archive{srv: srv, st: store.NewS3(srv.S3, store.S3Options{}), bin: buildIngest(t)}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	a.bucket = opts.Bucket
	if a.bucket == "" {
		a.bucket = "org-log-archive"
		opts.Bucket = a.bucket
	}
	a.queueURL = srv.CreateArchive(ctx, t, a.bucket)
	_, dlqName := motoserver.QueueNames(a.bucket)
	dlq, err := srv.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(dlqName)})
	if err != nil {
		t.Fatal(err)
	}
	a.dlqURL = *dlq.QueueUrl
	if maxReceives > 0 {
		// The fault test kills workers on purpose; every kill adds a receive to the messages held.
		arn, err := srv.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, arn.Attributes["QueueArn"], maxReceives)
		if _, err := srv.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(a.queueURL),
			Attributes: map[string]string{"RedrivePolicy": redrive}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("out")}); err != nil {
		t.Fatal(err)
	}
	a.outURL = "s3://out/tables"
	m, err := synth.Generate(ctx, a.st, opts)
	if err != nil {
		t.Fatal(err)
	}
	a.manifest = m
	kb, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		t.Fatal(err)
	}
	a.keys = filepath.Join(t.TempDir(), "public-keys.json")
	if err := os.WriteFile(a.keys, kb, 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

// worker starts `ingest run` against the archive; extra flags override the defaults.
func (a *archive) worker(t *testing.T, logw io.Writer, extra ...string) *exec.Cmd {
	t.Helper()
	args := []string{"run", "--queue-url", a.queueURL, "--dest", a.outURL, "--public-keys", a.keys,
		"--visibility-timeout", "4s", "--wait-time", "1s", "--commit-interval", "1s", "--lease-ttl", "2s",
		"--busy-retry", "1s", "--retry-base", "1s", "--workers", "4", "--ops-addr", "", "--metrics-out", "",
		"--no-builtin-rules", "--log-level", "warn"}
	args = append(args, extra...)
	cmd := exec.Command(a.bin, args...)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func (a *archive) queueDepth(t *testing.T, url string) (visible, invisible int) {
	t.Helper()
	out, err := a.srv.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	invisible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, invisible
}

// lineage is the part of every table's row that says where it came from.
type lineage struct {
	SourceKey   string `parquet:"source_key"`
	SourceIndex int64  `parquet:"source_index"`
}

type tableRows struct {
	rows     int
	distinct int // distinct (source_key, source_index)
	files    int
}

// readTables counts rows per table under out/tables/, and distinct lineage pairs.
func (a *archive) readTables(t *testing.T) map[string]tableRows {
	t.Helper()
	ctx := context.Background()
	res := map[string]tableRows{}
	seen := map[string]map[string]bool{}
	err := a.st.List(ctx, "out", "tables/", "", func(info store.Info) error {
		rel := strings.TrimPrefix(info.Key, "tables/")
		table, _, _ := strings.Cut(rel, "/")
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
			return fmt.Errorf("%s: %w", info.Key, err)
		}
		tr := res[table]
		tr.files++
		if table != "cloudtrail" && table != "vpcflow" && table != "resolver" {
			// findings and integrity rows carry no per-record lineage.
			tr.rows += int(f.NumRows())
			res[table] = tr
			return nil
		}
		r := parquet.NewGenericReader[lineage](f)
		buf := make([]lineage, 256)
		if seen[table] == nil {
			seen[table] = map[string]bool{}
		}
		for {
			n, err := r.Read(buf)
			for _, l := range buf[:n] {
				tr.rows++
				id := l.SourceKey + "#" + strconv.FormatInt(l.SourceIndex, 10)
				if !seen[table][id] {
					seen[table][id] = true
					tr.distinct++
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", info.Key, err)
			}
		}
		r.Close()
		res[table] = tr
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantRows is what the generator wrote, per output table (Insights records go to cloudtrail).
func (a *archive) wantRows() map[string]int {
	w := map[string]int{}
	for name, tc := range a.manifest.Tables {
		switch name {
		case synth.TableCloudTrail, synth.TableInsight:
			w["cloudtrail"] += tc.Records
		case synth.TableVPCFlow, synth.TableResolver:
			w[name] += tc.Records
		}
	}
	return w
}

func (a *archive) checkExactlyOnce(t *testing.T) map[string]tableRows {
	t.Helper()
	got := a.readTables(t)
	for table, want := range a.wantRows() {
		g := got[table]
		if g.rows != want || g.distinct != want {
			t.Errorf("table %s: %d rows, %d distinct, want %d each (files %d)", table, g.rows, g.distinct, want, g.files)
		}
	}
	return got
}

func tinyArchive() synth.Options {
	o, _ := synth.Preset("tiny", 7)
	o.Bucket = "org-log-archive"
	return o
}

// TestRunDrainsArchive: every notification is consumed, the queue ends empty, every input record is
// in the output once; a corrupt object is quarantined with its reason; a tampered log file yields an
// invalid integrity row and a metric.
func TestRunDrainsArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	opts := tinyArchive()
	opts.Tamper = []synth.TamperKind{synth.TamperModifyLog}
	a := newArchive(t, opts, 0)
	ctx := context.Background()
	// A corrupt CloudTrail object: gzip magic, then garbage.
	corruptKey := "AWSLogs/" + a.manifest.OrgID + "/" + a.manifest.Accounts[0].ID + "/CloudTrail/us-east-1/2026/03/02/" +
		a.manifest.Accounts[0].ID + "_CloudTrail_us-east-1_20260302T0805Z_corruptcorrupt01.json.gz"
	if err := a.st.Put(ctx, a.bucket, corruptKey, []byte("\x1f\x8b\x08\x00garbage that is not deflate"), nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	emfPath := filepath.Join(t.TempDir(), "metrics.emf")
	cmd := a.worker(t, &logs, "--exit-when-idle", "4s", "--metrics-out", emfPath, "--log-level", "info", "--ops-addr", freeAddr(t))
	if err := wait(t, cmd, 90*time.Second, &logs); err != nil {
		t.Fatalf("worker: %v\n%s", err, logs.String())
	}
	if v, inv := a.queueDepth(t, a.queueURL); v+inv != 0 {
		t.Fatalf("queue holds %d visible and %d invisible messages", v, inv)
	}
	if v, inv := a.queueDepth(t, a.dlqURL); v+inv != 0 {
		t.Fatalf("dead-letter queue holds %d messages", v+inv)
	}
	got := a.checkExactlyOnce(t)
	t.Logf("output: %+v", got)

	// The corrupt object is set aside with its reason.
	var qkeys []string
	a.st.List(ctx, "out", "tables/_quarantine/", "", func(i store.Info) error { qkeys = append(qkeys, i.Key); return nil })
	if len(qkeys) != 1 || !strings.HasSuffix(qkeys[0], corruptKey) {
		t.Fatalf("quarantine holds %q, want the corrupt object", qkeys)
	}
	info, err := a.st.Head(ctx, "out", qkeys[0])
	if err != nil || info.Metadata["reason"] == "" || info.Metadata["class"] == "" {
		t.Fatalf("quarantined object lacks its reason: %+v %v", info.Metadata, err)
	}

	// The tampered log shows up as an invalid integrity row and in the metrics.
	if got["integrity"].rows == 0 {
		t.Fatal("no integrity rows")
	}
	invalid := a.invalidIntegrityRows(t)
	var tamperedKey string
	for _, tp := range a.manifest.Tampered {
		if tp.Kind == synth.TamperModifyLog {
			tamperedKey = tp.Key
		}
	}
	if tamperedKey == "" || !invalid[tamperedKey] {
		t.Fatalf("tampered log %q not among invalid integrity rows %v", tamperedKey, invalid)
	}
	emfDocs, err := os.ReadFile(emfPath)
	if err != nil {
		t.Fatal(err)
	}
	if v := emfSum(t, emfDocs, "logarchive_pipeline_integrity_failures"); v < 1 {
		t.Fatalf("integrity failures metric = %v, want >= 1", v)
	}
}

type integrityRow struct {
	Key    *string `parquet:"object_key,optional"`
	Status string  `parquet:"status"`
}

func (a *archive) invalidIntegrityRows(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	out := map[string]bool{}
	a.st.List(ctx, "out", "tables/integrity/", "", func(info store.Info) error {
		rc, _, err := a.st.Get(ctx, "out", info.Key)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquet.Read[integrityRow](bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("%s: %v", info.Key, err)
		}
		for _, r := range rows {
			if r.Status != "valid" && r.Key != nil {
				out[*r.Key] = true
			}
		}
		return nil
	})
	return out
}

// emfSum adds up every value of a metric across EMF documents.
func emfSum(t *testing.T, docs []byte, name string) float64 {
	t.Helper()
	var sum float64
	sc := bufio.NewScanner(bytes.NewReader(docs))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var doc map[string]any
		if json.Unmarshal(sc.Bytes(), &doc) != nil {
			continue
		}
		switch v := doc[name].(type) {
		case float64:
			sum += v
		case []any:
			for _, x := range v {
				sum += x.(float64)
			}
		}
	}
	return sum
}

// TestRunSurvivesKill9: the worker is killed with SIGKILL at random moments, at least 20 times,
// and restarted each time; the final output holds every input record exactly once.
func TestRunSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	opts := tinyArchive()
	// Recent activity, so that CloudWatch would accept every metric sample (within 14 days).
	opts.Start = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	a := newArchive(t, opts, 1000)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var logs bytes.Buffer
	kills := soak(20, 6)
	// The built-in rules (CIS, elevated role) on, every worker's EMF documents kept: what the
	// awslogs driver would have shipped before each kill.
	emfDir := t.TempDir()
	metrics := func(i int) []string {
		return []string{"--no-builtin-rules=false", "--metrics-out", filepath.Join(emfDir, fmt.Sprintf("run%02d.emf", i))}
	}
	for i := 0; i < kills; i++ {
		cmd := a.worker(t, &logs, append(metrics(i), "--log-level", "info")...)
		// Between 0.3 s and 2.5 s: during startup, receive, processing, flush and seal.
		time.Sleep(time.Duration(300+rng.IntN(2200)) * time.Millisecond)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	cmd := a.worker(t, &logs, append(metrics(kills), "--exit-when-idle", "8s", "--log-level", "info")...)
	// Generous: on a shared 2-core machine moto_server alone can take seconds per receive.
	if err := wait(t, cmd, 3*time.Minute, &logs); err != nil {
		t.Fatalf("final worker: %v\n%s", err, tail(logs.String(), 4000))
	}
	if v, inv := a.queueDepth(t, a.queueURL); v+inv != 0 {
		t.Fatalf("queue holds %d visible and %d invisible messages", v, inv)
	}
	if v, inv := a.queueDepth(t, a.dlqURL); v+inv != 0 {
		t.Fatalf("dead-letter queue holds %d messages", v+inv)
	}
	got := a.checkExactlyOnce(t)
	// Metric samples follow their rows: for every metric the rules published, the samples of all
	// the workers' EMF documents add up to the committed findings, exactly (none lost, none twice).
	var docs []byte
	runs, _ := filepath.Glob(filepath.Join(emfDir, "*.emf"))
	for _, f := range runs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b...)
	}
	findings := a.findingMetricSums(t)
	if findings["prod-switch-elevated-count"] < 1 {
		t.Fatalf("no elevated-role finding in the archive: %v", findings)
	}
	for name, want := range findings {
		if got := emfSum(t, docs, name); got != want {
			t.Errorf("metric %s: %v published, %v in the committed findings", name, got, want)
		}
	}
	t.Logf("metrics published once each: %v", findings)
	t.Logf("after %d kills: %+v; transactions of killed workers rolled back: %d; own seals aborted: %d", kills, got,
		strings.Count(logs.String(), "aborting transaction of a dead owner"), strings.Count(logs.String(), "seal failed"))
	if t.Failed() {
		t.Log(tail(logs.String(), 8000))
	}
}

// wait waits for the worker to exit, killing it after d.
func wait(t *testing.T, cmd *exec.Cmd, d time.Duration, logs *bytes.Buffer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		for i, a := range cmd.Args {
			if a == "--ops-addr" && cmd.Args[i+1] != "" {
				if resp, err := http.Get("http://" + cmd.Args[i+1] + "/metrics"); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("metrics at timeout:\n%s", b)
				}
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("worker still running after %s\n%s", d, tail(logs.String(), 6000))
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestRunSIGTERMDrains: SIGTERM mid-batch stops receiving, commits or releases everything within
// the drain deadline, and leaves no message invisible.
func TestRunSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	a := newArchive(t, tinyArchive(), 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	// A long commit interval: at SIGTERM, processed objects still wait for their commit.
	cmd := a.worker(t, &logs, "--ops-addr", addr, "--commit-interval", "1m", "--visibility-timeout", "60s", "--drain-timeout", "10s")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no message in flight within 30s\n%s", logs.String())
		}
		if m := scrape(addr, "logarchive_in_flight_messages"); m >= 4 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	if err := wait(t, cmd, 30*time.Second, &logs); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, logs.String())
	}
	took := time.Since(start)
	if took > 10*time.Second {
		t.Fatalf("drain took %s, deadline 10s", took)
	}
	if _, inv := a.queueDepth(t, a.queueURL); inv != 0 {
		t.Fatalf("%d messages left invisible after the drain", inv)
	}
	// Whatever was committed is exactly-once so far: a second worker finishes the archive.
	cmd = a.worker(t, &logs, "--exit-when-idle", "4s")
	if err := wait(t, cmd, 90*time.Second, &logs); err != nil {
		t.Fatalf("second worker: %v\n%s", err, logs.String())
	}
	a.checkExactlyOnce(t)
	t.Logf("drained in %s", took)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape reads one unlabelled sample from /metrics (-1 when unavailable).
func scrape(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
