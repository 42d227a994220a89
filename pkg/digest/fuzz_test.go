package digest

import (
	"bytes"
	"context"
	"testing"
)

func FuzzParseKey(f *testing.F) {
	f.Add("AWSLogs/o-wwwwwwgggg/234567890123/CloudTrail-Digest/ca-central-1/2020/02/14/234567890123_CloudTrail-Digest_ca-central-1_POrgTrail_us-east-1_20200214T001007Z.json.gz")
	f.Add("p/AWSLogs/123456789012/CloudTrail-Digest/r/2014/08/10/123456789012_CloudTrail-Digest_r_a_b_c_20140810T010000Z_backfill.json.gz")
	f.Fuzz(func(t *testing.T, key string) {
		kn, err := ParseKey(key)
		if err != nil {
			return
		}
		// A parsed standard key rebuilds to itself.
		if !kn.Backfill && kn.ChainID.Key(kn.Time) != key {
			t.Fatalf("round trip %q → %q", key, kn.ChainID.Key(kn.Time))
		}
	})
}

// FuzzCheck feeds arbitrary gzip bodies through the per-digest checks: never a panic, always a
// classified result.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"digestPublicKeyFingerprint":"x","digestS3Bucket":"1","digestS3Object":"k","previousDigestSignature":null,"digestEndTime":"2014-08-10T01:00:00Z","digestStartTime":"2014-08-10T00:00:00Z","logFiles":[]}`), "ab")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, inflated []byte, sig string) {
		c := &Checker{Keys: NewKeyRing(&FileKeys{})}
		for _, body := range [][]byte{gzipBytes(inflated), inflated} {
			v, ce := c.Check(context.Background(), Object{Bucket: "1", Key: "k", Body: body,
				Metadata: map[string]string{MetaSignature: sig, MetaSignatureAlgorithm: SignatureAlgorithm}}, "us-east-1", "")
			if (v == nil) == (ce == nil) {
				t.Fatalf("result %v and error %v", v, ce)
			}
		}
	})
}

func FuzzHashLog(f *testing.F) {
	f.Add(gzipBytes([]byte(`{"Records":[]}`)))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, body []byte) {
		sum, n, _, err := HashLog(bytes.NewReader(body))
		if err == nil && len(sum) != 64 {
			t.Fatalf("sum %q", sum)
		}
		if n > int64(len(body)) {
			t.Fatalf("read %d of %d bytes", n, len(body))
		}
	})
}
