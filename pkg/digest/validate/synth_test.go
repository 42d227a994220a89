package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// tamperArchive generates a small organization archive with every tampering applied.
func tamperArchive(t *testing.T, w synth.ObjectWriter) (*synth.Manifest, synth.Options) {
	t.Helper()
	o := synth.DefaultOptions(7)
	o.Hours = 4
	o.EventsPerHour = 20
	o.FlowRecordsPerHour = -1
	o.ResolverQueriesPerHour = -1
	o.Tamper = synth.TamperKinds()
	m, err := synth.Generate(context.Background(), w, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, o
}

func manifestKeys(m *synth.Manifest) *digest.FileKeys {
	fk := &digest.FileKeys{ByRegion: map[string][]digest.PublicKey{}}
	for r, l := range m.PublicKeys {
		fk.ByRegion[r] = l.PublicKeyList
	}
	return fk
}

// validateArchive discovers and validates every chain of the archive.
func validateArchive(t *testing.T, st store.Store, m *synth.Manifest, o synth.Options, offline bool) []*ChainResult {
	t.Helper()
	v, err := New(Options{Store: st, Keys: manifestKeys(m), Start: o.Start, End: o.Start.Add(time.Duration(o.Hours+2) * time.Hour),
		Offline: offline, Now: func() time.Time { return o.Start.Add(time.Duration(o.Hours+2) * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	chains, err := v.Discover(context.Background(), m.Bucket, m.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(m.Accounts) * len(m.Regions); len(chains) != want {
		t.Fatalf("discovered %d chains, want %d: %v", len(chains), want, chains)
	}
	for _, c := range chains {
		if c.OrgID != m.OrgID || c.Trail != m.TrailName || c.HomeRegion != m.HomeRegion {
			t.Errorf("chain %v does not match the archive (org %s trail %s home %s)", c, m.OrgID, m.TrailName, m.HomeRegion)
		}
	}
	res, err := v.ValidateAll(context.Background(), chains)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// classes indexes every failing digest, log and gap by key.
func classes(res []*ChainResult) (files map[string]digest.Class, gaps map[string]Gap, failures int) {
	files, gaps = map[string]digest.Class{}, map[string]Gap{}
	for _, c := range res {
		for _, ev := range c.Events {
			d := ev.Digest
			if d == nil {
				continue
			}
			cl := d.Class
			for _, f := range d.Findings {
				if f.Severity == digest.SeverityError && cl == digest.ClassValid {
					cl = f.Class
				}
			}
			files[d.Key] = cl
			if cl != digest.ClassValid {
				failures++
			}
			for _, l := range d.Logs {
				files[l.Key] = l.Class
				if l.Class != digest.ClassValid {
					failures++
				}
			}
		}
		for _, g := range c.Gaps {
			gaps[g.After] = g
		}
	}
	return files, gaps, failures
}

// checkTampering asserts that every tampering of the manifest is reported with its class and that
// nothing else fails.
func checkTampering(t *testing.T, m *synth.Manifest, res []*ChainResult, offline bool) {
	t.Helper()
	files, gaps, failures := classes(res)
	want := 0
	for _, tm := range m.Tampered {
		var key string
		var class digest.Class
		switch tm.Kind {
		case synth.TamperModifyLog:
			key, class = tm.Key, digest.ClassHashMismatch
		case synth.TamperDeleteLog:
			key, class = tm.Key, digest.ClassNotFound
		case synth.TamperAppendGzipMember:
			key, class = tm.Key, digest.ClassTrailingData
		case synth.TamperDeleteDigest:
			key, class = tm.Key, digest.ClassNotFound
		case synth.TamperDeleteTwoDigests:
			// the successor links to the newer of the two; the older is never named (aws-cli#7054)
			key, class = tm.DigestKeys[1], digest.ClassNotFound
			found := false
			for _, g := range gaps {
				if g.Reason == GapMissingDigests && g.Missing >= 2 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no missing_digests gap of 2 or more: %+v", tm.Kind, gaps)
			}
		case synth.TamperBreakSignature:
			key, class = tm.Key, digest.ClassSignature
			if offline {
				// Offline, the verified successor vouches for the digest's signature: an altered
				// sidecar on an intact digest is a warning (docs/validate.md), the bytes are intact.
				class = digest.ClassValid
			}
		case synth.TamperDropSignature:
			key, class = tm.Key, digest.ClassNoSignature
			if offline {
				// Offline, a digest's signature comes from its verified successor: missing metadata
				// is expected there, not tampering.
				class = digest.ClassValid
			}
		case synth.TamperMoveDigest:
			key, class = tm.Key, digest.ClassMoved
		case synth.TamperUnknownKey:
			key, class = tm.Key, digest.ClassKeyNotFound
		default:
			t.Fatalf("tampering %s not covered by this test", tm.Kind)
		}
		got, ok := files[key]
		if !ok {
			t.Errorf("%s: %s not reported", tm.Kind, key)
			continue
		}
		if got != class {
			t.Errorf("%s: %s reported %s, want %s", tm.Kind, key, got, class)
		}
		if class != digest.ClassValid {
			want++
		}
	}
	if failures != want {
		for k, c := range files {
			if c != digest.ClassValid {
				t.Logf("failure %s: %s", c, k)
			}
		}
		t.Errorf("%d failures, want exactly the %d tamperings", failures, want)
	}
	if ExitCode(res, false) != ExitInvalid {
		t.Errorf("exit code %d", ExitCode(res, false))
	}
}

func TestSynthTamperingLocal(t *testing.T) {
	dir := t.TempDir()
	st := store.NewLocal(dir)
	m, o := tamperArchive(t, st)
	if len(m.Tampered) != len(synth.TamperKinds()) {
		t.Fatalf("manifest lists %d tamperings", len(m.Tampered))
	}
	t.Run("online-semantics", func(t *testing.T) { checkTampering(t, m, validateArchive(t, st, m, o, false), false) })
	t.Run("offline", func(t *testing.T) { checkTampering(t, m, validateArchive(t, st, m, o, true), true) })
}

// TestSynthOfflineNewestSidecarOnly: a mirror made with `aws s3 sync` plus one HeadObject per chain
// head validates completely.
func TestSynthOfflineNewestSidecarOnly(t *testing.T) {
	dir := t.TempDir()
	st := store.NewLocal(dir)
	o := synth.DefaultOptions(11)
	o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 4, 10, -1, -1
	m, err := synth.Generate(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	newest := map[string]string{} // region folder → newest digest key
	removed := 0
	for _, obj := range m.Objects {
		if !strings.Contains(obj.Key, "/CloudTrail-Digest/") {
			continue
		}
		folder := obj.Key[:strings.LastIndex(obj.Key, "/CloudTrail-Digest/")] + obj.Region
		if obj.Key > newest[folder] {
			newest[folder] = obj.Key
		}
	}
	for _, obj := range m.Objects {
		if strings.Contains(obj.Key, "/CloudTrail-Digest/") {
			folder := obj.Key[:strings.LastIndex(obj.Key, "/CloudTrail-Digest/")] + obj.Region
			if newest[folder] != obj.Key {
				if err := os.Remove(filepath.Join(dir, m.Bucket, filepath.FromSlash(obj.Key)) + digest.MetadataSidecarSuffix); err != nil {
					t.Fatal(err)
				}
				removed++
			}
		}
	}
	if removed == 0 {
		t.Fatal("no sidecar removed")
	}
	res := validateArchive(t, st, m, o, true)
	var c Counts
	for _, r := range res {
		c.add(r.Counts)
	}
	if ExitCode(res, false) != ExitOK || c.ValidDigests == 0 || c.InvalidDigests != 0 || c.ValidLogs == 0 {
		t.Fatalf("exit %d counts %+v", ExitCode(res, false), c)
	}
	if got := m.Tables[synth.TableDigest].Files; c.ValidDigests != got {
		t.Errorf("%d valid digests, archive has %d", c.ValidDigests, got)
	}
	// Online semantics (metadata required) fail every digest without a sidecar.
	res = validateArchive(t, st, m, o, false)
	c = Counts{}
	for _, r := range res {
		c.add(r.Counts)
	}
	if c.InvalidDigests != removed {
		t.Errorf("online: %d invalid digests, want %d", c.InvalidDigests, removed)
	}
}

// TestSynthTamperingS3 runs the same detection against S3 (moto_server).
func TestSynthTamperingS3(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	o := synth.DefaultOptions(7)
	o.Validate()
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)}); err != nil {
		t.Fatal(err)
	}
	st := store.NewS3(srv.S3, store.S3Options{})
	m, so := tamperArchive(t, st)
	checkTampering(t, m, validateArchive(t, st, m, so, false), false)
}

var _ = fmt.Sprint

// TestSynthBackfill: a backfill digest (own chain, generation-timestamp metadata, signed with a newer
// key) validates in the backfill pass, and the log file it took over is counted once there.
func TestSynthBackfill(t *testing.T) {
	st := store.NewLocal(t.TempDir())
	o := synth.DefaultOptions(9)
	o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = 3, 10, -1, -1
	o.Backfill = true
	m, err := synth.Generate(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, offline := range []bool{false, true} {
		res := validateArchive(t, st, m, o, offline)
		var c Counts
		for _, r := range res {
			c.add(r.Counts)
		}
		if ExitCode(res, false) != ExitOK || c.ValidBackfillDigests < 1 || c.InvalidBackfillDigests != 0 {
			t.Errorf("offline=%v: exit %d counts %+v", offline, ExitCode(res, false), c)
		}
	}
}
