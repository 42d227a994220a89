package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/source"
)

// TestBackfillEnqueueTwiceAnnounced: every object is announced by S3 and again by a backfill; the
// worker writes each record once and the queue ends empty.
func TestBackfillEnqueueTwiceAnnounced(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	a := newArchive(t, tinyArchive(), 0)
	var logs bytes.Buffer
	// One account's objects are announced a second time (the whole archive would only add time).
	prefix := "AWSLogs/" + a.manifest.OrgID + "/" + a.manifest.Accounts[0].ID + "/"
	want := 0
	for _, o := range a.manifest.Objects {
		if strings.HasPrefix(o.Key, prefix) {
			want++
		}
	}
	out, err := exec.Command(a.bin, "backfill", "--bucket", a.bucket, "--prefix", prefix, "--queue-url", a.queueURL,
		"--start", "2000-01-01", "--checkpoint-every", "50").CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	var st source.BackfillState
	if err := json.Unmarshal(out[:bytes.LastIndexByte(out, '}')+1], &st); err != nil {
		t.Fatalf("backfill output: %v\n%s", err, out)
	}
	if !st.Finished || st.Done != int64(want) || want == 0 {
		t.Fatalf("backfill state %+v, want %d objects", st, want)
	}
	cmd := a.worker(t, &logs, "--exit-when-idle", "4s")
	if err := wait(t, cmd, 120*time.Second, &logs); err != nil {
		t.Fatalf("worker: %v\n%s", err, tail(logs.String(), 4000))
	}
	if v, inv := a.queueDepth(t, a.queueURL); v+inv != 0 {
		t.Fatalf("queue holds %d messages", v+inv)
	}
	a.checkExactlyOnce(t)
}

// TestBackfillDirect processes the archive without a queue, then resumes as a no-op.
func TestBackfillDirect(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	a := newArchive(t, tinyArchive(), 0)
	args := []string{"backfill", "--bucket", "s3://" + a.bucket + "/AWSLogs/", "--dest", a.outURL, "--public-keys", a.keys,
		"--checkpoint-every", "100", "--no-builtin-rules", "--log-level", "warn"}
	for run := 0; run < 2; run++ {
		out, err := exec.Command(a.bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("backfill run %d: %v\n%s", run, err, out)
		}
		var st source.BackfillState
		start := bytes.IndexByte(out, '{')
		if err := json.Unmarshal(out[start:bytes.LastIndexByte(out, '}')+1], &st); err != nil {
			t.Fatalf("backfill output: %v\n%s", err, out)
		}
		if !st.Finished || st.Done != int64(len(a.manifest.Objects)) || len(st.Failed) != 0 {
			t.Fatalf("run %d: state %+v, want %d objects done", run, st, len(a.manifest.Objects))
		}
	}
	a.checkExactlyOnce(t)
}

// TestBackfillPublishesMetrics: backfill --dest builds the same stack as run, metric samples
// included: with --metrics-out, every metric the rules count adds up to the committed findings (it
// used to evaluate the rules and publish nothing).
func TestBackfillPublishesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	opts := tinyArchive()
	opts.Start = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour) // samples CloudWatch accepts
	a := newArchive(t, opts, 0)
	emfPath := filepath.Join(t.TempDir(), "backfill.emf")
	out, err := exec.Command(a.bin, "backfill", "--bucket", "s3://"+a.bucket+"/AWSLogs/", "--dest", a.outURL,
		"--public-keys", a.keys, "--metrics-out", emfPath, "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	a.checkExactlyOnce(t)
	docs, err := os.ReadFile(emfPath)
	if err != nil {
		t.Fatal(err)
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
}
