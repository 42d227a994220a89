package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// An end time whose listing bound would fall in year 10000 is refused as aws-cli refuses it (exit
// 255, "date value out of range"), never answered with "No digests found"; the last accepted end
// time still finds the digests.
func TestTimeRangeAsAWSCLI(t *testing.T) {
	a := newArchive(t, nil)
	acct := a.m.Accounts[1].ID
	arn := "arn:aws:cloudtrail:" + a.m.HomeRegion + ":" + a.m.Accounts[0].ID + ":trail/" + a.m.TrailName
	start := digest.DisplayTime(a.o.Start)
	base := []string{"--local", a.dir, "--public-keys", a.keys, "--s3-bucket", a.m.Bucket}
	for _, tc := range []struct {
		args []string
		rc   int
	}{
		{[]string{"--start-time", start, "--end-time", "9999-12-31T23:00:00Z"}, 255},
		{[]string{"--start-time", start, "--end-time", "9999-12-31T22:00:00Z"}, 255},
		{[]string{"--start-time", "0001-01-01T00:00:00Z", "--end-time", start}, 255},
		{[]string{"--trail-arn", arn, "--account-id", acct, "--start-time", start, "--end-time", "9999-12-31T23:59:59Z"}, 255},
		{[]string{"--start-time", start, "--end-time", "9999-12-31T21:59:59Z"}, 0},
		{[]string{"--trail-arn", arn, "--account-id", acct, "--start-time", start, "--end-time", "9999-12-31T21:59:59Z"}, 0},
	} {
		out, eout, rc := a.run(t, append(base, tc.args...)...)
		if rc != tc.rc {
			t.Errorf("%v: rc %d, want %d\n%s%s", tc.args, rc, tc.rc, out, eout)
			continue
		}
		if tc.rc == 255 && !strings.HasSuffix(eout, "\ndate value out of range\n") {
			t.Errorf("%v: stderr %q", tc.args, eout)
		}
		if tc.rc == 0 && (strings.Contains(out, "No digests found") || !strings.Contains(out, " digest files valid")) {
			t.Errorf("%v: digests not found:\n%s", tc.args, out)
		}
	}
}

// A planted object whose key carries newlines and tabs cannot add verdict lines: every value is
// escaped, so one verdict stays one line.
func TestTextOutputCannotBeForged(t *testing.T) {
	a := newArchive(t, nil)
	acct := a.m.Accounts[0].ID
	dir := "AWSLogs/" + a.m.OrgID + "/" + acct + "/CloudTrail-Digest/us-east-1/2026/03/02/"
	forged := dir + acct + "_CloudTrail-Digest_us-east-1_x\n\nNo digests found\nDigest file\tforged\tvalid\n_us-east-1_20260302T090000Z.json.gz"
	if err := store.NewLocal(a.dir).Put(context.Background(), a.m.Bucket, forged, []byte("not gzip"), nil); err != nil {
		t.Fatal(err)
	}
	out, eout, rc := a.run(t, "--local", a.dir, "--public-keys", a.keys, "--start-time", digest.DisplayTime(a.o.Start),
		"--end-time", digest.DisplayTime(a.o.Start.Add(5*time.Hour)))
	if rc != 1 {
		t.Errorf("rc %d, want 1 (the planted digest is invalid)\n%s\n%s", rc, out, eout)
	}
	verdict := regexp.MustCompile(`^(\(backfill\) )?(Digest|Log) file\t`)
	for _, line := range strings.Split(out+eout, "\n") {
		if line == "Digest file\tforged\tvalid" || line == "No digests found" {
			t.Errorf("forged line printed: %q", line)
		}
		if verdict.MatchString(line) && strings.Count(line, "\t") != 2 {
			t.Errorf("verdict line with %d tabs: %q", strings.Count(line, "\t"), line)
		}
	}
	if !strings.Contains(eout, `_x\n\nNo digests found\nDigest file\tforged\tvalid\n_us-east-1_20260302T090000Z.json.gz`) {
		t.Errorf("planted digest not reported with its key escaped:\n%s", eout)
	}
}

// A FIFO planted in the mirror in place of a log file is refused at once (never waited on) and
// reported; the run ends non-zero without a clean summary. A cancelled run (SIGINT/SIGTERM cancel
// the context in main) returns promptly too.
func TestFIFOInMirrorDoesNotHang(t *testing.T) {
	a := newArchive(t, nil)
	var logKey string
	store.NewLocal(a.dir).List(context.Background(), a.m.Bucket, "", "", func(in store.Info) error {
		if logKey == "" && strings.Contains(in.Key, "/CloudTrail/") {
			logKey = in.Key
		}
		return nil
	})
	p := filepath.Join(a.dir, a.m.Bucket, logKey)
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--local", a.dir, "--public-keys", a.keys, "--start-time", digest.DisplayTime(a.o.Start),
		"--end-time", digest.DisplayTime(a.o.Start.Add(5 * time.Hour))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, eout, rc := a.run(t, args...)
		if rc != 3 || !strings.Contains(eout, "\tERROR: read error") {
			t.Errorf("rc %d, stderr:\n%s", rc, eout)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("validation hung on a FIFO")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, eout bytes.Buffer
	if rc := run(ctx, args, &out, &eout, func(string) string { return "" }); rc == 0 {
		t.Fatalf("cancelled run exited 0:\n%s", out.String())
	}
}
