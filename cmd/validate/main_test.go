package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

type archive struct {
	dir, keys string
	m         *synth.Manifest
	o         synth.Options
}

func newArchive(t *testing.T, tamper []synth.TamperKind) archive {
	t.Helper()
	dir := t.TempDir()
	o := synth.DefaultOptions(3)
	o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 3, 10, -1, -1
	o.Tamper = tamper
	m, err := synth.Generate(context.Background(), store.NewLocal(filepath.Join(dir, "mirror")), o)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keys, kb, 0o644); err != nil {
		t.Fatal(err)
	}
	return archive{dir: filepath.Join(dir, "mirror"), keys: keys, m: m, o: o}
}

func (a archive) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, eout bytes.Buffer
	env := func(string) string { return "" }
	rc := run(context.Background(), args, &out, &eout, env)
	return out.String(), eout.String(), rc
}

func TestParityModeOffline(t *testing.T) {
	a := newArchive(t, nil)
	acct := a.m.Accounts[2].ID
	arn := "arn:aws:cloudtrail:" + a.m.HomeRegion + ":" + a.m.Accounts[0].ID + ":trail/" + a.m.TrailName
	start := digest.DisplayTime(a.o.Start)
	end := digest.DisplayTime(a.o.Start.Add(5 * time.Hour))
	out, eout, rc := a.run(t, "--trail-arn", arn, "--start-time", start, "--end-time", end, "--s3-bucket", a.m.Bucket,
		"--account-id", acct, "--region", a.m.Regions[1], "--local", a.dir, "--public-keys", a.keys, "--verbose")
	if rc != 0 || eout != "" {
		t.Fatalf("rc %d stderr %q\n%s", rc, eout, out)
	}
	if !strings.HasPrefix(out, "Validating log files for trail "+arn+" between "+start+" and "+end+"\n\n") {
		t.Errorf("startup: %q", out[:min(len(out), 200)])
	}
	// The org folder was found although the bucket was given explicitly (aws-cli cannot do this).
	if !strings.Contains(out, "Digest file\ts3://"+a.m.Bucket+"/AWSLogs/"+a.m.OrgID+"/"+acct+"/CloudTrail-Digest/"+a.m.Regions[1]+"/") {
		t.Errorf("no valid digest line of the org chain:\n%s", out)
	}
	if !strings.Contains(out, "\nResults requested for "+start+" to "+end+"\nResults found for "+start+" to ") ||
		!strings.Contains(out, " digest files valid\n") || strings.Contains(out, "INVALID") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestDiscoveryJSONAndHTML(t *testing.T) {
	a := newArchive(t, []synth.TamperKind{synth.TamperModifyLog, synth.TamperDeleteDigest})
	html := filepath.Join(t.TempDir(), "r.html")
	out, _, rc := a.run(t, "--local", a.dir, "--public-keys", a.keys, "--start-time", digest.DisplayTime(a.o.Start),
		"--end-time", digest.DisplayTime(a.o.Start.Add(5*time.Hour)), "--output", "json", "--html", html)
	if rc != 1 {
		t.Errorf("rc %d", rc)
	}
	var doc struct {
		ExitCode int `json:"exit_code"`
		Totals   struct {
			InvalidDigests int `json:"invalid_digests"`
			InvalidLogs    int `json:"invalid_logs"`
		} `json:"totals"`
		Chains []json.RawMessage `json:"chains"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.ExitCode != 1 || doc.Totals.InvalidDigests != 1 || doc.Totals.InvalidLogs != 1 || len(doc.Chains) != len(a.m.Accounts)*len(a.m.Regions) {
		t.Errorf("report: %+v, %d chains", doc.Totals, len(doc.Chains))
	}
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(b, []byte("missing_digests")) {
		t.Errorf("html: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	a := archive{}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--trail-arn", "foo", "--start-time", "2014-08-10"}, "\nInvalid trail ARN provided: foo\n"},
		{[]string{"--s3-bucket", "b", "--start-time", "nope"}, "\nUnable to parse date value: nope\n"},
		{[]string{"--s3-bucket", "b", "--start-time", "2014-08-11", "--end-time", "2014-08-10"},
			"\nInvalid time range specified: start-time must occur before end-time\n"},
		{[]string{"--local", "/nonexistent", "--start-time", "2014-08-10"}, "\n--local needs --public-keys (offline validation cannot call ListPublicKeys)\n"},
	}
	for _, tc := range cases {
		out, eout, rc := a.run(t, tc.args...)
		if rc != 255 || eout != tc.want || out != "" {
			t.Errorf("%v: rc %d stderr %q stdout %q, want %q", tc.args, rc, eout, out, tc.want)
		}
	}
}
