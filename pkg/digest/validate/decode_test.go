package validate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// member is one "name": raw-JSON pair of a hand-written digest.
type member struct{ name, raw string }

// putRawDigest writes a digest whose JSON is exactly members (in order, duplicates and odd types
// allowed), signed over toSignEnd and toSignPrev as aws-cli would render them in its string to sign.
func (f *fx) putRawDigest(key string, members []member, toSignEnd, toSignPrev string) {
	f.t.Helper()
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m.name + `":` + m.raw)
	}
	b.WriteByte('}')
	inflated := []byte(b.String())
	sum := sha256.Sum256(inflated)
	msg := toSignEnd + "\n" + f.chain.Bucket + "/" + key + "\n" + hex.EncodeToString(sum[:]) + "\n" + toSignPrev
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.signer, crypto.SHA256, h[:])
	if err != nil {
		f.t.Fatal(err)
	}
	meta := map[string]string{digest.MetaSignature: hex.EncodeToString(sig), digest.MetaSignatureAlgorithm: digest.SignatureAlgorithm}
	if err := f.st.Put(context.Background(), f.chain.Bucket, key, gz(inflated), meta); err != nil {
		f.t.Fatal(err)
	}
}

func q(s string) string { return `"` + s + `"` }

// Digest JSON is read as aws-cli reads it (Python's json.loads and dict look-ups): exact member names,
// the last duplicate wins, and types aws-cli never checks are accepted. Each expectation is aws-cli's
// verdict for the same bytes (validation.py: only digestS3Bucket/Object, the fingerprint, the string
// to sign and the two times are read).
func TestDecodeLikeAWSCLI(t *testing.T) {
	end := fxStart.Add(time.Hour)
	endS, startS := digest.DisplayTime(end), digest.DisplayTime(fxStart)
	cases := []struct {
		name      string
		extra     func(key, fp string) []member // members after the standard ones
		base      func(key, fp, bucket string) []member
		signEnd   string
		wantValid bool
		wantMsg   string
	}{
		{name: "extra DigestEndTime member is not digestEndTime", signEnd: endS, wantValid: true,
			extra: func(string, string) []member { return []member{{"DigestEndTime", q("2099-01-01T00:00:00Z")}} }},
		{name: "signed over DigestEndTime is invalid", signEnd: "2099-01-01T00:00:00Z", wantMsg: "signature verification failed",
			extra: func(string, string) []member { return []member{{"DigestEndTime", q("2099-01-01T00:00:00Z")}} }},
		{name: "duplicate digestEndTime: the last wins", signEnd: digest.DisplayTime(end.Add(time.Second)), wantValid: true,
			extra: func(string, string) []member {
				return []member{{"digestEndTime", q(digest.DisplayTime(end.Add(time.Second)))}}
			}},
		{name: "numeric awsAccountId, newestEventTime and hashAlgorithm", signEnd: endS, wantValid: true,
			base: func(key, fp, bucket string) []member {
				return []member{{"awsAccountId", "123456789012"}, {"digestStartTime", q(startS)}, {"digestEndTime", q(endS)},
					{"digestS3Bucket", q(bucket)}, {"digestS3Object", q(key)}, {"digestPublicKeyFingerprint", q(fp)},
					{"digestSignatureAlgorithm", q("SHA256withRSA")}, {"newestEventTime", "1407628800"}, {"oldestEventTime", "null"},
					{"previousDigestS3Bucket", "null"}, {"previousDigestS3Object", "null"}, {"previousDigestHashValue", "null"},
					{"previousDigestHashAlgorithm", "null"}, {"previousDigestSignature", "null"},
					{"logFiles", `[{"s3Bucket":"decode-case-3","s3Object":"l","hashValue":"x","hashAlgorithm":256}]`}}
			}},
		{name: "numeric digestEndTime signed as Python prints it", signEnd: "1407632400", wantMsg: "Parser must be a string or character stream, not int",
			extra: func(string, string) []member { return []member{{"digestEndTime", "1407632400"}} }},
		{name: "numeric digestS3Bucket has moved", signEnd: endS, wantMsg: "has been moved from its original location",
			extra: func(string, string) []member { return []member{{"digestS3Bucket", "1"}} }},
		{name: "lower-case is required", signEnd: endS, wantMsg: "invalid format",
			base: func(key, fp, bucket string) []member {
				return []member{{"DigestStartTime", q(startS)}, {"digestEndTime", q(endS)}, {"digestS3Bucket", q(bucket)},
					{"digestS3Object", q(key)}, {"digestPublicKeyFingerprint", q(fp)}, {"previousDigestSignature", "null"}, {"logFiles", "[]"}}
			}},
	}
	cli := newAWSCLI(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFx(t)
			f.chain.Bucket = fmt.Sprintf("decode-case-%d", i)
			key := f.chain.Key(end)
			fp := f.pub.Fingerprint
			ms := []member{{"awsAccountId", q(f.chain.Account)}, {"digestStartTime", q(startS)}, {"digestEndTime", q(endS)},
				{"digestS3Bucket", q(f.chain.Bucket)}, {"digestS3Object", q(key)}, {"digestPublicKeyFingerprint", q(fp)},
				{"digestSignatureAlgorithm", q("SHA256withRSA")}, {"newestEventTime", "null"}, {"oldestEventTime", "null"},
				{"previousDigestS3Bucket", "null"}, {"previousDigestS3Object", "null"}, {"previousDigestHashValue", "null"},
				{"previousDigestHashAlgorithm", "null"}, {"previousDigestSignature", "null"}, {"logFiles", "[]"}}
			if tc.base != nil {
				ms = tc.base(key, fp, f.chain.Bucket)
			}
			if tc.extra != nil {
				ms = append(ms, tc.extra(key, fp)...)
			}
			f.putRawDigest(key, ms, tc.signEnd, "null")
			out, eout, res, _ := f.run(nil, true)
			cli.compare(t, f, key, out+eout)
			if len(res.Events) == 0 || res.Events[0].Digest == nil {
				t.Fatalf("no digest result: %+v", res)
			}
			d := res.Events[0].Digest
			if tc.wantValid {
				if d.Class != digest.ClassValid || d.Failed() {
					t.Fatalf("want valid, got %s %q %q\n%s", d.Class, d.Reason, d.Detail, eout)
				}
				return
			}
			if !d.Failed() || d.Reason != tc.wantMsg {
				t.Fatalf("want INVALID: %s, got %s %q (%s)", tc.wantMsg, d.Class, d.Reason, d.Detail)
			}
		})
	}
}

// A chain whose oldest digest links back to its newest terminates (aws-cli loops forever), is
// INVALID, and counts each of its digests once.
func TestCycleCountedOnce(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link"}, 1, false)
	d := *b[0].d
	d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = sp(f.chain.Bucket), sp(b[2].key)
	d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = sp(strings.Repeat("0", 64)), sp("SHA-256"), sp(b[2].sig)
	f.put(f.chain.Bucket, b[0].key, &d, nil)
	_, eout, res, rc := f.run(nil, false)
	c := res.Counts
	if total := c.ValidDigests + c.InvalidDigests + c.UnreadableDigests; total != 3 || c.InvalidDigests == 0 || rc != ExitInvalid {
		t.Fatalf("counts %+v rc %d\n%s", c, rc, eout)
	}
	if !strings.Contains(eout, "links back to a digest already validated") {
		t.Fatalf("cycle not reported:\n%s", eout)
	}
}

// A predecessor in another account's chain, a log file in another bucket and a log file listed
// twice are reported (aws-cli says nothing).
func TestForeignLinksAndLogsReported(t *testing.T) {
	f := newFx(t)
	other := f.chain
	other.Account = "210987654321"
	end1, end2 := fxStart.Add(time.Hour), fxStart.Add(2*time.Hour)
	pd := &digest.Digest{AWSAccountID: other.Account, DigestStartTime: digest.DisplayTime(fxStart), DigestEndTime: digest.DisplayTime(end1),
		DigestS3Bucket: f.chain.Bucket, DigestS3Object: other.Key(end1), DigestPublicKeyFingerprint: f.pub.Fingerprint,
		DigestSignatureAlgorithm: digest.SignatureAlgorithm}
	psig, pinfl := f.put(f.chain.Bucket, other.Key(end1), pd, nil)
	lf := f.putLog(f.chain.Bucket, "AWSLogs/123456789012/CloudTrail/us-east-1/2014/08/10/a.json.gz", `{"Records":[]}`)
	foreign := f.putLog("elsewhere", "AWSLogs/123456789012/CloudTrail/us-east-1/2014/08/10/b.json.gz", `{"Records":[]}`)
	sum := sha256.Sum256(pinfl)
	d := &digest.Digest{AWSAccountID: f.chain.Account, DigestStartTime: digest.DisplayTime(end1), DigestEndTime: digest.DisplayTime(end2),
		DigestS3Bucket: f.chain.Bucket, DigestS3Object: f.chain.Key(end2), DigestPublicKeyFingerprint: f.pub.Fingerprint,
		DigestSignatureAlgorithm: digest.SignatureAlgorithm, PreviousDigestS3Bucket: sp(f.chain.Bucket), PreviousDigestS3Object: sp(other.Key(end1)),
		PreviousDigestHashValue: sp(hex.EncodeToString(sum[:])), PreviousDigestHashAlgorithm: sp("SHA-256"), PreviousDigestSignature: sp(psig),
		LogFiles: []digest.LogFile{lf, lf, foreign}}
	f.put(f.chain.Bucket, f.chain.Key(end2), d, nil)
	_, eout, _, _ := f.run(nil, true)
	for _, want := range []string{"belongs to another chain", "is listed twice", "is in another bucket than the digest"} {
		if !strings.Contains(eout, want) {
			t.Errorf("no %q warning:\n%s", want, eout)
		}
	}
}

// Offline sidecars behave as docs/validate.md says: a malformed sidecar is missing metadata (the
// verified successor vouches for an older digest), never a read error; on the newest digest, which
// nothing vouches for, it is a signature failure.
func TestOfflineMalformedSidecar(t *testing.T) {
	f := newFx(t)
	b := f.scenario([]string{"gap", "link", "link"}, 1, false)
	for _, i := range []int{0, 2} {
		if err := os.WriteFile(localPath(f.st, f.chain.Bucket, b[i].key)+digest.MetadataSidecarSuffix, []byte("not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, eout, res, rc := f.run(func(o *Options) { o.Offline = true }, true)
	byKey := map[string]*DigestResult{}
	for _, ev := range res.Events {
		if ev.Digest != nil {
			byKey[ev.Digest.Key] = ev.Digest
		}
	}
	if d := byKey[b[2].key]; d == nil || d.Class != digest.ClassNoSignature {
		t.Fatalf("newest digest with a malformed sidecar: %+v\n%s", d, eout)
	}
	if d := byKey[b[0].key]; d == nil || d.Class != digest.ClassValid || d.SignatureFrom != digest.SignatureFromSuccessor {
		t.Fatalf("older digest with a malformed sidecar: %+v\n%s", d, eout)
	}
	if res.Counts.UnreadableDigests != 0 || rc == ExitUnreadable {
		t.Fatalf("a malformed sidecar made a read error: %+v rc %d", res.Counts, rc)
	}
}

// The streamed JSON report holds exactly what encoding the Report in one piece would.
func TestStreamedJSONReportMatchesReport(t *testing.T) {
	f := newFx(t)
	f.scenario([]string{"gap", "link", "invalid", "link"}, 2, false)
	_, _, res, _ := f.run(nil, false)
	rep := NewReport([]*ChainResult{res, res}, Interval{fxStart, fxStart.Add(24 * time.Hour)}, false, fxStart)
	var streamed bytes.Buffer
	if err := rep.WriteJSON(&streamed); err != nil {
		t.Fatal(err)
	}
	whole, _ := json.Marshal(rep)
	var a, b any
	if err := json.Unmarshal(streamed.Bytes(), &a); err != nil {
		t.Fatalf("%v\n%s", err, streamed.String())
	}
	json.Unmarshal(whole, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("streamed report differs:\n%s\nwant\n%s", streamed.String(), whole)
	}
}
