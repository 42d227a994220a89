package validate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

const fxARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo"

func startup() string {
	return "Validating log files for trail " + fxARN + " between 2014-08-10T00:00:00Z and 2014-08-11T00:00:00Z\n\n"
}

func dline(b built, bucket, status string) string {
	return "Digest file\ts3://" + bucket + "/" + b.key + "\t" + status
}

// TestTraversalParity ports aws-cli's traversal scenarios (unit tests test_invokes_cb_and_continues_*,
// functional tests test_warns_when_*): which digests are reported, on which stream, with which
// framing, and the summary and exit code.
func TestTraversalParity(t *testing.T) {
	type want struct {
		stderr  func(b []built) string // exact stderr
		summary string                 // exact stdout after the startup line (verbose off)
		rc      int
	}
	cases := []struct {
		name    string
		actions []string
		logs    int
		want    want
	}{
		{"happy", []string{"gap", "link", "link"}, 2, want{
			stderr:  func([]built) string { return "" },
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T03:00:00Z:\n\n3/3 digest files valid\n6/6 log files valid\n",
			rc:      0}},
		// test_warns_when_digest_deleted: [gap, missing, link, missing]
		{"deleted", []string{"gap", "missing", "link", "missing"}, 0, want{
			stderr: func(b []built) string {
				return dline(b[3], "1", "INVALID: not found") + "\n\n" + dline(b[1], "1", "INVALID: not found") + "\n\n"
			},
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T03:00:00Z:\n\n2/4 digest files valid, 2/4 digest files INVALID\n",
			rc:      1}},
		// test_invokes_cb_and_continues_when_invalid: [gap, link, invalid, link, invalid]
		{"invalid", []string{"gap", "link", "invalid", "link", "invalid"}, 0, want{
			stderr: func(b []built) string {
				return dline(b[4], "1", "INVALID: signature verification failed") + "\n\n" +
					dline(b[2], "1", "INVALID: signature verification failed") + "\n\n"
			},
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T04:00:00Z:\n\n3/5 digest files valid, 2/5 digest files INVALID\n",
			rc:      1}},
		// test_invokes_cb_and_continues_when_gap: [gap, link, gap, gap] ⇒ 2 gap lines, rc 0
		{"gaps", []string{"gap", "link", "gap", "gap"}, 0, want{
			stderr: func(b []built) string {
				// gap lines: next key's date .. this digest's start
				return "No log files were delivered by CloudTrail between 2014-08-10T03:00:00Z and 2014-08-10T03:00:00Z\n\n" +
					"No log files were delivered by CloudTrail between 2014-08-10T02:00:00Z and 2014-08-10T02:00:00Z\n\n"
			},
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T04:00:00Z:\n\n4/4 digest files valid\n",
			rc:      0}},
		// Beyond aws-cli: two consecutive deleted digests; aws-cli names only the first.
		{"two-deleted", []string{"gap", "link", "deleted", "deleted", "link"}, 0, want{
			stderr: func(b []built) string {
				return dline(b[3], "1", "INVALID: not found") + "\n\n" +
					"Gap\t2014-08-10T02:00:00Z\t2014-08-10T04:00:00Z\tmissing_digests: about 2 consecutive digests missing\n\n"
			},
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T05:00:00Z:\n\n3/4 digest files valid, 1/4 digest files INVALID\n",
			rc:      1}},
		{"no-digests", nil, 0, want{
			stderr:  func([]built) string { return "" },
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nNo digests found\n",
			rc:      0}},
		// test_warns_when_no_valid_digests_found_in_range
		{"none-valid", []string{"invalid"}, 1, want{
			stderr: func(b []built) string {
				return dline(b[0], "1", "INVALID: signature verification failed") + "\n\n"
			},
			summary: "Results requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nNo valid digests found in range\n\n0/1 digest files valid, 1/1 digest files INVALID\n",
			rc:      1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFx(t)
			b := f.scenario(tc.actions, tc.logs, false)
			out, eout, _, rc := f.run(nil, false)
			if want := tc.want.stderr(b); eout != want {
				t.Errorf("stderr:\n%q\nwant\n%q", eout, want)
			}
			if want := startup() + tc.want.summary; out != want {
				t.Errorf("stdout:\n%q\nwant\n%q", out, want)
			}
			if rc != tc.want.rc {
				t.Errorf("rc %d, want %d", rc, tc.want.rc)
			}
		})
	}
}

// TestVerboseFraming checks aws-cli's blank-line framing between stdout valid lines and stderr errors
// (test_verbose_output_shows_happy_case, test_fails_and_warns_when_log_hash_is_invalid).
func TestVerboseFraming(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link"}, 1, false)
	// Tamper with the newest digest's log: rewrite it with other content.
	lf := b[1].d.LogFiles[0]
	f.putLog(lf.S3Bucket, lf.S3Object, `{"Records":[{"forged":true}]}`)
	out, eout, _, rc := f.run(nil, true)
	wantOut := startup() +
		dline(b[1], "1", "valid") + "\n" +
		dline(b[0], "1", "valid") + "\n" +
		"Log file\ts3://1/" + b[0].d.LogFiles[0].S3Object + "\tvalid\n" +
		"\nResults requested for 2014-08-10T00:00:00Z to 2014-08-11T00:00:00Z\nResults found for 2014-08-10T00:00:00Z to 2014-08-10T02:00:00Z:\n\n2/2 digest files valid\n1/2 log files valid, 1/2 log files INVALID\n"
	if out != wantOut {
		t.Errorf("stdout:\n%q\nwant\n%q", out, wantOut)
	}
	wantErr := "\nLog file\ts3://1/" + lf.S3Object + "\tINVALID: hash value doesn't match\n\n"
	if eout != wantErr {
		t.Errorf("stderr:\n%q\nwant\n%q", eout, wantErr)
	}
	if rc != 1 {
		t.Errorf("rc %d", rc)
	}
}

// TestLogFailures covers each log-file outcome and its class.
func TestLogFailures(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(f *fx, lf digest.LogFile)
		class  digest.Class
		line   string
	}{
		{"deleted", func(f *fx, lf digest.LogFile) { f.st.Delete(context.Background(), lf.S3Bucket, lf.S3Object) },
			digest.ClassNotFound, "INVALID: not found"},
		{"second-gzip-member", func(f *fx, lf digest.LogFile) {
			p := localPath(f.st, lf.S3Bucket, lf.S3Object)
			appendFile(t, p, gz([]byte(`{"Records":[{"forged":1}]}`)))
		}, digest.ClassTrailingData, "INVALID: unexpected data after end of compressed stream"},
		{"not-gzip", func(f *fx, lf digest.LogFile) {
			f.st.Put(context.Background(), lf.S3Bucket, lf.S3Object, []byte(`{"Records":[]}`), nil)
		}, digest.ClassInvalidFormat, "INVALID: invalid format"},
		{"truncated", func(f *fx, lf digest.LogFile) {
			body := gz([]byte(strings.Repeat(`{"Records":[{"a":1}]}`, 100)))
			f.st.Put(context.Background(), lf.S3Bucket, lf.S3Object, body[:len(body)/2], nil)
		}, digest.ClassTruncated, "INVALID: hash value doesn't match"},
		{"empty-object", func(f *fx, lf digest.LogFile) {
			f.st.Put(context.Background(), lf.S3Bucket, lf.S3Object, []byte{}, nil)
		}, digest.ClassTruncated, "INVALID: hash value doesn't match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFx(t)
			b := f.scenario([]string{"gap"}, 1, false)
			lf := b[0].d.LogFiles[0]
			tc.tamper(f, lf)
			_, eout, res, rc := f.run(nil, false)
			want := "Log file\ts3://1/" + lf.S3Object + "\t" + tc.line + "\n\n"
			if eout != want {
				t.Errorf("stderr %q, want %q", eout, want)
			}
			if got := res.Events[0].Digest.Logs[0].Class; got != tc.class {
				t.Errorf("class %s, want %s", got, tc.class)
			}
			if rc != ExitInvalid {
				t.Errorf("rc %d", rc)
			}
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := openAppend(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// deny wraps a store and fails reads of chosen keys with a classified error, as S3 does for
// AccessDenied, KMS and archived objects.
type deny struct {
	store.Store
	kind store.Kind
	keys map[string]bool
}

func (d *deny) Get(ctx context.Context, bucket, key string) (io.ReadCloser, store.Info, error) {
	if d.keys[key] {
		return nil, store.Info{}, &store.Error{Op: "get", Bucket: bucket, Key: key, Kind: d.kind, Err: fmt.Errorf("denied")}
	}
	return d.Store.Get(ctx, bucket, key)
}

// TestUnreadableFilesAreReportedNotFatal: aws-cli aborts on AccessDenied/KMS/InvalidObjectState; we
// report each file and go on.
func TestUnreadableFilesAreReportedNotFatal(t *testing.T) {
	for _, kind := range []store.Kind{store.KindAccessDenied, store.KindKMS, store.KindArchived} {
		t.Run(kind.String(), func(t *testing.T) {
			f := newFx(t)
			b := f.scenario([]string{"gap", "link", "link"}, 2, false)
			denied := b[1].d.LogFiles[1].S3Object
			_, eout, res, rc := f.run(func(o *Options) {
				o.Store = &deny{Store: f.st, kind: kind, keys: map[string]bool{denied: true, b[2].key: true}}
			}, false)
			if rc != ExitUnreadable {
				t.Errorf("rc %d, want %d", rc, ExitUnreadable)
			}
			if res.Counts.UnreadableLogs != 1 || res.Counts.UnreadableDigests != 1 || res.Counts.ValidLogs != 3 {
				t.Errorf("counts %+v", res.Counts)
			}
			if !strings.Contains(eout, "Log file\ts3://1/"+denied+"\tERROR: ") || !strings.Contains(eout, b[2].key+"\tERROR: ") {
				t.Errorf("stderr %q", eout)
			}
		})
	}
}

// TestBucketChange: test_reloads_objects_on_bucket_change / test_follows_trails_when_bucket_changes.
func TestBucketChange(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "bucket_change", "link"}, 1, false)
	out, eout, res, rc := f.run(nil, true)
	if rc != 0 || eout != "" {
		t.Fatalf("rc %d stderr %q", rc, eout)
	}
	for i, bucket := range []string{"2", "2", "1", "1"} {
		if !strings.Contains(out, dline(b[i], bucket, "valid")) {
			t.Errorf("missing valid line for digest %d in bucket %s:\n%s", i, bucket, out)
		}
	}
	if res.Counts.ValidDigests != 4 || res.Counts.ValidLogs != 4 {
		t.Errorf("counts %+v", res.Counts)
	}
}

// TestDigestChecks covers the per-digest checks in aws-cli's order and the checks beyond it.
func TestDigestChecks(t *testing.T) {
	_, other := testKeys(t)
	cases := []struct {
		name   string
		build  func(f *fx) (key string)
		class  digest.Class
		reason string
	}{
		{"missing-required-members", func(f *fx) string {
			k := f.chain.Key(fxStart.Add(time.Hour))
			f.st.Put(context.Background(), "1", k, gz([]byte(`{}`)), map[string]string{"signature": "00", "signature-algorithm": "SHA256withRSA"})
			return k
		}, digest.ClassInvalidFormat, "invalid format"},
		{"not-gzip", func(f *fx) string {
			k := f.chain.Key(fxStart.Add(time.Hour))
			f.st.Put(context.Background(), "1", k, []byte(`{}`), map[string]string{"signature": "00", "signature-algorithm": "SHA256withRSA"})
			return k
		}, digest.ClassInvalidFormat, "invalid format"},
		{"not-json", func(f *fx) string {
			k := f.chain.Key(fxStart.Add(time.Hour))
			f.st.Put(context.Background(), "1", k, gz([]byte(`{"a"`)), map[string]string{"signature": "00", "signature-algorithm": "SHA256withRSA"})
			return k
		}, digest.ClassInvalidFormat, "invalid format"},
		{"no-metadata", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			p := localPath(f.st, "1", b[0].key) + digest.MetadataSidecarSuffix
			removeFile(t, p)
			return b[0].key
		}, digest.ClassNoSignature, "signature verification failed"},
		{"no-signature-algorithm", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			body, _ := readAll(f.st, "1", b[0].key)
			f.st.Put(context.Background(), "1", b[0].key, body, map[string]string{"signature": b[0].sig})
			return b[0].key
		}, digest.ClassNoSignature, "signature verification failed"},
		{"moved", func(f *fx) string {
			// test_fails_when_digest_not_from_same_location_as_json_contents
			b := f.scenario([]string{"gap"}, 0, false)
			body, info := readAll(f.st, "1", b[0].key)
			f.st.Delete(context.Background(), "1", b[0].key)
			k2 := f.chain.Key(fxStart.Add(90 * time.Minute))
			f.st.Put(context.Background(), "1", k2, body, info)
			return k2
		}, digest.ClassMoved, "has been moved from its original location"},
		{"unknown-key", func(f *fx) string {
			// test_fails_when_digest_public_key_not_found; the region named is the source region
			f.signer = other
			pub := f.pub
			f.pub = pubKey(t, other, false) // the digest names it; the key source does not have it
			b := f.scenario([]string{"gap"}, 0, false)
			f.pub = pub
			return b[0].key
		}, digest.ClassKeyNotFound, "public key not found in region us-east-1 for fingerprint " + "FP"},
		{"odd-hex-signature", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			body, _ := readAll(f.st, "1", b[0].key)
			f.st.Put(context.Background(), "1", b[0].key, body, map[string]string{"signature": b[0].sig[1:], "signature-algorithm": "SHA256withRSA"})
			return b[0].key
		}, digest.ClassMalformedSig, "Odd-length string"},
		{"non-hex-signature", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			body, _ := readAll(f.st, "1", b[0].key)
			f.st.Put(context.Background(), "1", b[0].key, body, map[string]string{"signature": "zz" + b[0].sig[2:], "signature-algorithm": "SHA256withRSA"})
			return b[0].key
		}, digest.ClassMalformedSig, "Non-hexadecimal digit found"},
		{"missing-logFiles", func(f *fx) string {
			k := f.chain.Key(fxStart.Add(time.Hour))
			raw := fmt.Sprintf(`{"awsAccountId":"123456789012","digestStartTime":"2014-08-10T00:00:00Z","digestEndTime":"2014-08-10T01:00:00Z","digestS3Bucket":"1","digestS3Object":%q,"digestPublicKeyFingerprint":%q,"digestSignatureAlgorithm":"SHA256withRSA","previousDigestSignature":null}`, k, f.pub.Fingerprint)
			d, _, _, _ := digest.Decode([]byte(raw))
			sig := f.sign(f.signer, d, []byte(raw))
			f.st.Put(context.Background(), "1", k, gz([]byte(raw)), map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"})
			return k
		}, digest.ClassInvalidFormat, "invalid format"},
		{"key-not-pkcs1", func(f *fx) string {
			f.pub.Value = []byte("not a key")
			f.pub.Fingerprint = digest.Fingerprint(f.pub.Value)
			f.keys.keys["us-east-1"] = []digest.PublicKey{f.pub}
			b := f.scenario([]string{"gap"}, 0, false)
			return b[0].key
		}, digest.ClassKeyInvalid, "Unable to load PKCS #1 key with fingerprint FP"},
		{"api-key-fingerprint-mismatch", func(f *fx) string {
			// ListPublicKeys returning a key under another key's fingerprint (aws-cli trusts it).
			bad := f.pub
			bad.Value = pubKey(t, other, false).Value
			f.keys.keys["us-east-1"] = []digest.PublicKey{bad}
			b := f.scenario([]string{"gap"}, 0, false)
			return b[0].key
		}, digest.ClassKeyInvalid, "public key for fingerprint FP does not match its fingerprint"},
		{"previous-hash-mismatch", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			sum := strings.Repeat("ab", 32)
			d := &digest.Digest{AWSAccountID: f.chain.Account, DigestStartTime: "2014-08-10T01:00:00Z", DigestEndTime: "2014-08-10T02:00:00Z",
				DigestS3Bucket: "1", DigestS3Object: f.chain.Key(fxStart.Add(2 * time.Hour)), DigestPublicKeyFingerprint: f.pub.Fingerprint,
				DigestSignatureAlgorithm: "SHA256withRSA", PreviousDigestS3Bucket: sp("1"), PreviousDigestS3Object: sp(b[0].key),
				PreviousDigestHashValue: &sum, PreviousDigestHashAlgorithm: sp("SHA-256"), PreviousDigestSignature: sp(b[0].sig)}
			f.put("1", d.DigestS3Object, d, nil)
			return b[0].key
		}, digest.ClassPrevHash, ""},
		{"previous-signature-mismatch", func(f *fx) string {
			b := f.scenario([]string{"gap"}, 0, false)
			s := b[0].inflated
			sum := sha256hex(s)
			d := &digest.Digest{AWSAccountID: f.chain.Account, DigestStartTime: "2014-08-10T01:00:00Z", DigestEndTime: "2014-08-10T02:00:00Z",
				DigestS3Bucket: "1", DigestS3Object: f.chain.Key(fxStart.Add(2 * time.Hour)), DigestPublicKeyFingerprint: f.pub.Fingerprint,
				DigestSignatureAlgorithm: "SHA256withRSA", PreviousDigestS3Bucket: sp("1"), PreviousDigestS3Object: sp(b[0].key),
				PreviousDigestHashValue: &sum, PreviousDigestHashAlgorithm: sp("SHA-256"), PreviousDigestSignature: sp(flipHex(b[0].sig))}
			f.put("1", d.DigestS3Object, d, nil)
			return b[0].key
		}, digest.ClassPrevSignature, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFx(t)
			key := tc.build(f)
			_, eout, res, rc := f.run(nil, false)
			var dr *DigestResult
			for _, ev := range res.Events {
				if ev.Digest != nil && ev.Digest.Key == key {
					dr = ev.Digest
				}
			}
			if dr == nil {
				t.Fatalf("no result for %s; events %+v", key, res.Events)
			}
			got := dr.Class
			if got == digest.ClassValid {
				for _, fd := range dr.Findings {
					if fd.Severity == digest.SeverityError {
						got = fd.Class
					}
				}
			}
			if got != tc.class {
				t.Errorf("class %s (%s), want %s", got, dr.Reason+" "+dr.Detail, tc.class)
			}
			if tc.reason != "" {
				want := strings.ReplaceAll(tc.reason, "FP", f.pub.Fingerprint)
				if tc.name == "unknown-key" {
					_, o := testKeys(t)
					want = strings.ReplaceAll(tc.reason, "FP", pubKey(t, o, false).Fingerprint)
				}
				line := "Digest file\ts3://1/" + key + "\tINVALID: " + want + "\n\n"
				if !strings.Contains(eout, line) {
					t.Errorf("stderr %q lacks %q", eout, line)
				}
			}
			if rc != ExitInvalid {
				t.Errorf("rc %d", rc)
			}
		})
	}
}

// TestSPKIKey: a key published as SubjectPublicKeyInfo (as one in AWS's documentation) verifies.
func TestSPKIKey(t *testing.T) {
	f := newFx(t)
	f.pub = pubKey(t, f.signer, true)
	f.keys.keys["us-east-1"] = []digest.PublicKey{f.pub}
	f.scenario([]string{"gap", "link"}, 1, false)
	_, eout, res, rc := f.run(nil, false)
	if rc != 0 || res.Counts.ValidDigests != 2 {
		t.Fatalf("rc %d counts %+v stderr %q", rc, res.Counts, eout)
	}
}

// TestKeyWindow: standard keys are requested once for [start, end+2h]; none ⇒ fatal like aws-cli.
func TestKeyWindow(t *testing.T) {
	f := newFx(t)
	f.scenario([]string{"gap", "link", "link", "link"}, 0, false)
	_, _, res, _ := f.run(nil, false)
	if res.Counts.ValidDigests != 4 {
		t.Fatalf("counts %+v", res.Counts)
	}
	if want := []string{"us-east-1 2014-08-10T00:00:00Z 2014-08-11T02:00:00Z"}; fmt.Sprint(f.keys.calls) != fmt.Sprint(want) {
		t.Errorf("key calls %v, want %v", f.keys.calls, want)
	}
	f.keys.keys = map[string][]digest.PublicKey{}
	f.keys.calls = nil
	out, eout, res, rc := f.run(nil, false)
	if res.Fatal == "" || rc != ExitFatal {
		t.Fatalf("fatal %q rc %d", res.Fatal, rc)
	}
	if want := "\nNo public keys found between 2014-08-10T00:00:00Z and 2014-08-11T02:00:00Z\n"; eout != want {
		t.Errorf("stderr %q want %q", eout, want)
	}
	if out != startup() {
		t.Errorf("stdout %q", out)
	}
}

// TestBackfill: backfill digests form their own pass with "(backfill) " prefixes, lazy key fetches
// around the generation timestamp and separate counters (test_traverse_backfill_digests_*,
// test_validates_mixed_digests_*).
func TestBackfill(t *testing.T) {
	f := newFx(t)
	f.scenario([]string{"gap", "link"}, 1, false)
	bf := f.scenario([]string{"gap", "missing", "link"}, 1, true)
	out, eout, res, rc := f.run(nil, true)
	if rc != 1 {
		t.Errorf("rc %d", rc)
	}
	wantErr := "\n(backfill) Digest file\ts3://1/" + bf[1].key + "\tINVALID: not found\n\n"
	if eout != wantErr {
		t.Errorf("stderr %q want %q", eout, wantErr)
	}
	if !strings.Contains(out, "(backfill) Digest file\ts3://1/"+bf[2].key+"\tvalid\n") {
		t.Errorf("stdout lacks backfill valid line:\n%s", out)
	}
	if !strings.Contains(out, "Results found for 2014-08-10T00:00:00Z to 2014-08-10T03:00:00Z:\n\n2/2 digest files valid\n2/3 backfill digest files valid, 1/3 backfill digest files INVALID\n4/4 log files valid\n") {
		t.Errorf("summary:\n%s", out)
	}
	if res.Counts.ValidBackfillDigests != 2 || res.Counts.InvalidBackfillDigests != 1 {
		t.Errorf("counts %+v", res.Counts)
	}
	// Standard keys once; backfill keys already known, so no extra call is needed.
	if len(f.keys.calls) != 1 {
		t.Errorf("key calls %v", f.keys.calls)
	}
}

// TestBackfillLazyKeys: a backfill digest signed with a key outside the standard window triggers one
// ListPublicKeys call around its generation timestamp.
func TestBackfillLazyKeys(t *testing.T) {
	_, other := testKeys(t)
	late := pubKey(t, other, false)
	// The standard window [start, end+2h] does not reach the late key; the backfill digest signed
	// with it was generated days later.
	f2 := newFx(t)
	f2.scenario([]string{"gap"}, 0, false)
	f2.keys.keys["us-east-1"] = append(f2.keys.keys["us-east-1"], late)
	f2.keys.keys["us-east-1"][1].ValidityStartTime = fxStart.AddDate(0, 0, 5)
	f2.keys.keys["us-east-1"][1].ValidityEndTime = fxStart.AddDate(0, 0, 30)
	f2.signer, f2.pub = other, late
	bf := f2.scenario([]string{"gap"}, 0, true)
	// backfill generated 5 days later
	body, meta := readAll(f2.st, "1", bf[0].key)
	meta[digest.MetaBackfillTimestamp] = digest.DisplayTime(fxStart.AddDate(0, 0, 6))
	f2.st.Put(context.Background(), "1", bf[0].key, body, meta)
	_, eout2, res2, rc := f2.run(nil, false)
	if rc != 0 || res2.Counts.ValidBackfillDigests != 1 {
		t.Fatalf("rc %d counts %+v stderr %q", rc, res2.Counts, eout2)
	}
	want := "us-east-1 2014-08-15T23:00:00Z 2014-08-16T01:00:00Z"
	if len(f2.keys.calls) != 2 || f2.keys.calls[1] != want {
		t.Errorf("key calls %v, want second %q", f2.keys.calls, want)
	}
}

// TestOffline: only the newest digest keeps its signature metadata; older ones verify with the
// signature their successor names. Without Offline they fail as in aws-cli.
func TestOffline(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link"}, 1, false)
	for _, x := range b[:2] {
		removeFile(t, localPath(f.st, "1", x.key)+digest.MetadataSidecarSuffix)
	}
	_, _, res, rc := f.run(func(o *Options) { o.Offline = true }, false)
	if rc != 0 || res.Counts.ValidDigests != 3 || res.Counts.ValidLogs != 3 {
		t.Fatalf("offline: rc %d counts %+v", rc, res.Counts)
	}
	if got := res.Events[1].Digest.SignatureFrom; got != digest.SignatureFromSuccessor {
		t.Errorf("signature from %q", got)
	}
	_, _, res, rc = f.run(nil, false)
	if rc != 1 || res.Counts.InvalidDigests != 2 {
		t.Fatalf("online: rc %d counts %+v", rc, res.Counts)
	}
	// A forged predecessor cannot borrow the successor's signature.
	body, _ := readAll(f.st, "1", b[0].key)
	forged := gz([]byte(strings.Replace(string(b[0].inflated), `"logFiles":[`, `"logFiles":[ `, 1)))
	_ = body
	f.st.Put(context.Background(), "1", b[0].key, forged, nil)
	_, _, res, rc = f.run(func(o *Options) { o.Offline = true }, false)
	if rc != 1 || res.Counts.InvalidDigests != 1 {
		t.Fatalf("forged: rc %d counts %+v", rc, res.Counts)
	}
}

// TestExpectRecent: the newest digests deleted (head truncation) is invisible to aws-cli.
func TestExpectRecent(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link", "link"}, 0, false)
	for _, x := range b[2:] {
		f.st.Delete(context.Background(), "1", x.key)
	}
	now := fxStart.Add(4*time.Hour + 10*time.Minute)
	_, eout, res, rc := f.run(func(o *Options) {
		o.End = now
		o.Now = func() time.Time { return now }
		o.ExpectRecent = 2 * time.Hour
	}, false)
	if rc != ExitIncomplete {
		t.Errorf("rc %d", rc)
	}
	if len(res.Gaps) != 1 || res.Gaps[0].Reason != GapNoRecentDigest || !res.Gaps[0].From.Equal(fxStart.Add(2*time.Hour)) {
		t.Errorf("gaps %+v", res.Gaps)
	}
	if !strings.Contains(eout, "Gap\t2014-08-10T02:00:00Z\t2014-08-10T04:10:00Z\tno_recent_digest") {
		t.Errorf("stderr %q", eout)
	}
}

// TestGapReasons: every uncovered interval is named.
func TestGapReasons(t *testing.T) {
	cases := []struct {
		actions []string
		want    []string // reason@from-to (hours after fxStart), newest first
	}{
		{[]string{"gap", "link", "link"}, nil},
		{[]string{"gap", "link", "missing", "link"}, []string{"missing_digests@2-3"}},
		{[]string{"gap", "link", "deleted", "deleted", "link"}, []string{"missing_digests@2-4"}},
		{[]string{"gap", "link", "deleted", "link"}, []string{"missing_digests@2-3"}},
		{[]string{"gap", "invalid", "link"}, []string{"invalid_digest@1-2"}},
		{[]string{"gap", "link", "link", "missing"}, []string{"missing_digests@3-4"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.actions, ","), func(t *testing.T) {
			f := newFx(t)
			f.scenario(tc.actions, 0, false)
			_, _, res, _ := f.run(nil, false)
			var got []string
			for _, g := range res.Gaps {
				got = append(got, fmt.Sprintf("%s@%d-%d", g.Reason, int(g.From.Sub(fxStart).Hours()), int(g.To.Sub(fxStart).Hours())))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("gaps %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChainRestartGap: a chain restart after a pause is a gap that is not a failure.
func TestChainRestartGap(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link"}, 0, false)
	// Remove the middle digest and restart the chain at the newest: logging was stopped for an hour.
	f.st.Delete(context.Background(), "1", b[1].key)
	d := *b[2].d
	d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = nil, nil, nil, nil, nil
	f.put("1", d.DigestS3Object, &d, nil)
	_, eout, res, rc := f.run(nil, false)
	if rc != 0 {
		t.Errorf("rc %d", rc)
	}
	if want := "No log files were delivered by CloudTrail between 2014-08-10T01:00:00Z and 2014-08-10T02:00:00Z\n\n"; eout != want {
		t.Errorf("stderr %q want %q", eout, want)
	}
	if len(res.Gaps) != 1 || res.Gaps[0].Reason != GapChainRestart || res.Gaps[0].Failure {
		t.Errorf("gaps %+v", res.Gaps)
	}
}

// TestListingRange ports test_returns_digests_in_range: keys dated up to end+1h are kept; keys before
// start, after end+1h, of other trails, other source regions and bogus keys are dropped; ascending.
func TestListingRange(t *testing.T) {
	f := newFx(t)
	ctx := context.Background()
	end := fxStart.Add(10 * time.Hour)
	put := func(id digest.ChainID, at time.Time) string {
		k := id.Key(at)
		if err := f.st.Put(ctx, "1", k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		return k
	}
	keep := []string{put(f.chain, fxStart), put(f.chain, fxStart.Add(5*time.Hour)), put(f.chain, end.Add(time.Hour))}
	put(f.chain, fxStart.Add(-24*time.Hour))
	put(f.chain, end.Add(24*time.Hour))
	other := f.chain
	other.Trail = "foo_bar" // a name that starts like ours
	put(other, fxStart.Add(time.Hour))
	other = f.chain
	other.SourceRegion = "us-east-2"
	put(other, fxStart.Add(time.Hour))
	f.st.Put(ctx, "1", f.chain.RegionPrefix()+"/2014/08/10/bogus.json.gz", []byte("x"), nil)
	bf := strings.TrimSuffix(f.chain.Key(fxStart.Add(2*time.Hour)), ".json.gz") + "_backfill.json.gz"
	f.st.Put(ctx, "1", bf, []byte("x"), nil)

	v, _ := New(Options{Store: f.st, Keys: f.keys, Start: fxStart, End: end})
	std, bfl, err := v.listChain(ctx, f.chain, "1", fxStart, end)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range std {
		got = append(got, l.key)
	}
	if fmt.Sprint(got) != fmt.Sprint(keep) {
		t.Errorf("standard keys:\n%v\nwant\n%v", got, keep)
	}
	if len(bfl) != 1 || bfl[0].key != bf {
		t.Errorf("backfill keys %v", bfl)
	}
}

// TestTrailNameWithUnderscore: trail names may contain "_" and "."; keys are parsed structurally.
func TestTrailNameWithUnderscore(t *testing.T) {
	f := newFx(t)
	f.chain.Trail = "my_trail.v2"
	f.scenario([]string{"gap", "link", "link"}, 1, false)
	_, eout, res, rc := f.run(nil, false)
	if rc != 0 || res.Counts.ValidDigests != 3 || res.Counts.ValidLogs != 3 {
		t.Fatalf("rc %d counts %+v stderr %q", rc, res.Counts, eout)
	}
}

// TestDigestTrailingData: bytes after a digest's gzip member are ignored by aws-cli; we keep the
// digest valid and warn (shown with --verbose).
func TestDigestTrailingData(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap"}, 0, false)
	appendFile(t, localPath(f.st, "1", b[0].key), gz([]byte(`{"forged":true}`)))
	_, eout, res, rc := f.run(nil, true)
	if rc != 0 || res.Counts.ValidDigests != 1 || res.Counts.Warnings != 1 {
		t.Fatalf("rc %d counts %+v", rc, res.Counts)
	}
	if !strings.Contains(eout, "\tWARNING: trailing_data: ") {
		t.Errorf("stderr %q", eout)
	}
	if _, _, _, rc := f.run(func(o *Options) {}, false); rc != 0 {
		t.Errorf("rc %d", rc)
	}
	if ExitCode([]*ChainResult{res}, true) != ExitIncomplete {
		t.Errorf("strict exit code %d", ExitCode([]*ChainResult{res}, true))
	}
}

// TestSelfLinkTerminates: a digest whose back link names itself must not loop.
func TestSelfLinkTerminates(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap"}, 0, false)
	d := *b[0].d
	d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = sp("1"), sp(b[0].key)
	d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = sp("00"), sp("SHA-256"), sp("00")
	f.put("1", b[0].key, &d, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, res, rc := f.run(nil, false)
		if rc != ExitInvalid || res.Counts.InvalidDigests == 0 {
			t.Errorf("rc %d counts %+v", rc, res.Counts)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("traversal did not terminate")
	}
}

// countingStore counts store calls.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	lists int
	gets  map[string]int
}

func (c *countingStore) List(ctx context.Context, bucket, prefix, startAfter string, fn func(store.Info) error) error {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Store.List(ctx, bucket, prefix, startAfter, fn)
}

func (c *countingStore) Get(ctx context.Context, bucket, key string) (io.ReadCloser, store.Info, error) {
	c.mu.Lock()
	c.gets[key]++
	c.mu.Unlock()
	return c.Store.Get(ctx, bucket, key)
}

// TestLoadsDigestsInRange ports test_loads_digests_in_range: four linked digests take one key call,
// one listing (shared by both passes) and one fetch each, prefetching included.
func TestLoadsDigestsInRange(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link", "link"}, 0, false)
	cs := &countingStore{Store: f.st, gets: map[string]int{}}
	_, _, res, rc := f.run(func(o *Options) { o.Store = cs }, false)
	if rc != 0 || res.Counts.ValidDigests != 4 {
		t.Fatalf("rc %d counts %+v", rc, res.Counts)
	}
	if cs.lists != 1 || len(f.keys.calls) != 1 {
		t.Errorf("%d listings, %d key calls; want 1 and 1", cs.lists, len(f.keys.calls))
	}
	for _, x := range b {
		if cs.gets[x.key] != 1 {
			t.Errorf("%s fetched %d times", x.key, cs.gets[x.key])
		}
	}
}
