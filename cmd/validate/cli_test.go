package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// -h goes to stdout with exit 0; command-line errors are one line and a hint with exit 2 (aws-cli's
// argument parser), never a page of usage.
func TestHelpAndUsageErrors(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		out, eout, rc := archive{}.run(t, h)
		if rc != 0 || eout != "" || !strings.Contains(out, "usage: validate") || !strings.Contains(out, "-start-time") {
			t.Errorf("%s: rc %d stderr %q stdout %q", h, rc, eout, out)
		}
	}
	for _, args := range [][]string{{"--no-such-flag"}, {"--s3-bucket", "b"}, {"--s3-bucket", "b", "--start-time", "2026-01-01", "--output", "xml"},
		{"--start-time", "2026-01-01"}, {"--s3-bucket", "b", "--start-time", "2026-01-01", "extra"}, {"--workers", "many"}} {
		out, eout, rc := archive{}.run(t, args...)
		lines := strings.Split(strings.TrimSuffix(eout, "\n"), "\n")
		if rc != ExitUsage || out != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "validate: error: ") || !strings.Contains(lines[1], "--help") {
			t.Errorf("%v: rc %d stdout %q stderr %q", args, rc, out, eout)
		}
	}
}

// Every flag can come from LOGARCHIVE_<FLAG>; the command line wins.
func TestEnvironmentFlags(t *testing.T) {
	a := newArchive(t, nil)
	env := map[string]string{"LOGARCHIVE_LOCAL": a.dir, "LOGARCHIVE_PUBLIC_KEYS": a.keys, "LOGARCHIVE_START_TIME": digest.DisplayTime(a.o.Start),
		"LOGARCHIVE_END_TIME": digest.DisplayTime(a.o.Start.Add(5 * time.Hour)), "LOGARCHIVE_OUTPUT": "text"}
	var out, eout bytes.Buffer
	rc := run(context.Background(), []string{"--output", "json"}, &out, &eout, func(k string) string { return env[k] })
	if rc != 0 || !strings.HasPrefix(out.String(), "{") {
		t.Fatalf("rc %d stdout %.200s stderr %s", rc, out.String(), eout.String())
	}
	env["LOGARCHIVE_WORKERS"] = "many"
	if rc := run(context.Background(), nil, &out, &eout, func(k string) string { return env[k] }); rc != ExitUsage {
		t.Fatalf("bad LOGARCHIVE_WORKERS: rc %d", rc)
	}
}

// `aws s3 sync s3://B DIR` gives DIR/AWSLogs/…: validated with --s3-bucket B exactly as DIR/B/…;
// an empty or unrecognised directory is an error that shows the expected layouts.
func TestLocalLayouts(t *testing.T) {
	a := newArchive(t, nil)
	args := func(dir string, extra ...string) []string {
		return append([]string{"--local", dir, "--public-keys", a.keys, "--start-time", digest.DisplayTime(a.o.Start),
			"--end-time", digest.DisplayTime(a.o.Start.Add(5 * time.Hour))}, extra...)
	}
	want, _, rc := a.run(t, args(a.dir)...)
	if rc != 0 {
		t.Fatalf("bucket-directory layout: rc %d", rc)
	}
	synced := filepath.Join(a.dir, a.m.Bucket)
	got, eout, rc := a.run(t, args(synced, "--s3-bucket", a.m.Bucket)...)
	if rc != 0 || got != want {
		t.Fatalf("sync layout: rc %d\n%s\n%s\nwant\n%s", rc, got, eout, want)
	}
	if _, eout, rc := a.run(t, args(synced)...); rc != 255 || !strings.Contains(eout, "pass --s3-bucket") {
		t.Errorf("sync layout without --s3-bucket: rc %d %q", rc, eout)
	}
	empty := t.TempDir()
	os.MkdirAll(filepath.Join(empty, "notes"), 0o755)
	for _, extra := range [][]string{nil, {"--s3-bucket", "b"}} {
		if _, eout, rc := a.run(t, args(empty, extra...)...); rc != 255 || !strings.Contains(eout, "DIR/AWSLogs/") || !strings.Contains(eout, "DIR/<bucket>/AWSLogs/") {
			t.Errorf("empty dir %v: rc %d %q", extra, rc, eout)
		}
	}
}

// An organization trail is found offline by its digests' own layout even when AWSLogs/<account>/
// also exists (it holds that account's flow and Resolver logs in a Log Archive).
func TestOrgDetectedBesideAccountFolder(t *testing.T) {
	a := newArchive(t, nil)
	acct := a.m.Accounts[1].ID
	if err := store.NewLocal(a.dir).Put(context.Background(), a.m.Bucket, "AWSLogs/"+acct+"/vpcflowlogs/eu-west-1/2026/03/02/x.log.gz", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:cloudtrail:" + a.m.HomeRegion + ":" + a.m.Accounts[0].ID + ":trail/" + a.m.TrailName
	out, eout, rc := a.run(t, "--local", a.dir, "--public-keys", a.keys, "--trail-arn", arn, "--s3-bucket", a.m.Bucket, "--account-id", acct,
		"--region", a.m.Regions[1], "--start-time", digest.DisplayTime(a.o.Start), "--end-time", digest.DisplayTime(a.o.Start.Add(5*time.Hour)))
	if rc != 0 || strings.Contains(out, "No digests found") || !strings.Contains(out, "digest files valid") {
		t.Fatalf("rc %d\n%s\n%s", rc, out, eout)
	}
}
