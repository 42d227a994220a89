package validate

import (
	"context"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

func TestVerifyDigestObject(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(f *fx, b []built)
		want   map[string]digest.Class // kind → class of the first entry of that kind that is not valid ("" = all valid)
	}{
		{"intact", func(*fx, []built) {}, nil},
		{"log-modified", func(f *fx, b []built) {
			lf := b[2].d.LogFiles[1]
			f.putLog(lf.S3Bucket, lf.S3Object, "forged")
		}, map[string]digest.Class{FileLog: digest.ClassHashMismatch}},
		{"predecessor-deleted", func(f *fx, b []built) {
			f.st.Delete(context.Background(), "1", b[1].key)
		}, map[string]digest.Class{FilePreviousDigest: digest.ClassNotFound}},
		{"predecessor-resigned", func(f *fx, b []built) {
			// A forger who holds a signing key rewrites the predecessor: its own signature verifies,
			// but it is not the digest the successor signed over.
			d := *b[1].d
			d.LogFiles = d.LogFiles[:1]
			f.put("1", b[1].key, &d, nil)
		}, map[string]digest.Class{FilePreviousDigest: digest.ClassPrevHash}},
		{"digest-signature-broken", func(f *fx, b []built) {
			body, meta := readAll(f.st, "1", b[2].key)
			meta[digest.MetaSignature] = flipHex(meta[digest.MetaSignature])
			f.st.Put(context.Background(), "1", b[2].key, body, meta)
		}, map[string]digest.Class{FileDigest: digest.ClassSignature}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFx(t)
			b := f.scenario([]string{"gap", "link", "link"}, 2, false)
			tc.tamper(f, b)
			v, err := New(Options{Store: f.st, Keys: f.keys, Start: fxStart, End: fxStart.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.VerifyDigestObject(context.Background(), "1", b[2].key)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]digest.Class{}
			for _, fl := range res.Files {
				if _, seen := got[fl.Kind]; fl.Class != digest.ClassValid && !seen {
					got[fl.Kind] = fl.Class
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("failures %v, want %v (files %+v)", got, tc.want, res.Files)
			}
			for k, c := range tc.want {
				if got[k] != c {
					t.Errorf("%s: %s, want %s", k, got[k], c)
				}
			}
			if res.Valid != (tc.want == nil) {
				t.Errorf("valid %v", res.Valid)
			}
			wantFiles := 1 + 1 + 2 // digest, predecessor, two logs
			if tc.name == "digest-signature-broken" {
				wantFiles = 1 // nothing else is trusted
			}
			if len(res.Files) != wantFiles {
				t.Errorf("%d files, want %d", len(res.Files), wantFiles)
			}
		})
	}
	if _, err := (&Validator{}).VerifyDigestObject(context.Background(), "b", "AWSLogs/x.json.gz"); err == nil {
		t.Error("non-digest key accepted")
	}
}
