package validate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// Test keys are generated once per test binary: 2048-bit generation is slow and Go refuses the 512-bit
// keys aws-cli's tests use.
var (
	keyOnce sync.Once
	keyA    *rsa.PrivateKey
	keyB    *rsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if keyA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

var fxStart = time.Date(2014, 8, 10, 0, 0, 0, 0, time.UTC)

// countingKeys is a KeySource over fixed keys that records its calls.
type countingKeys struct {
	mu    sync.Mutex
	keys  map[string][]digest.PublicKey
	calls []string
}

func (c *countingKeys) PublicKeys(_ context.Context, region string, start, end time.Time) ([]digest.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, fmt.Sprintf("%s %s %s", region, digest.DisplayTime(start), digest.DisplayTime(end)))
	var out []digest.PublicKey
	for _, k := range c.keys[region] {
		if !k.ValidityEndTime.Before(start) && !k.ValidityStartTime.After(end) {
			out = append(out, k)
		}
	}
	return out, nil
}

func pubKey(t testing.TB, k *rsa.PrivateKey, spki bool) digest.PublicKey {
	der := x509.MarshalPKCS1PublicKey(&k.PublicKey)
	if spki {
		var err error
		if der, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
			t.Fatal(err)
		}
	}
	return digest.PublicKey{Value: der, Fingerprint: digest.Fingerprint(der),
		ValidityStartTime: fxStart.AddDate(0, 0, -10), ValidityEndTime: fxStart.AddDate(0, 0, 20)}
}

// fx is a small synthetic archive in a local store.
type fx struct {
	t      testing.TB
	st     *store.Local
	chain  digest.ChainID
	signer *rsa.PrivateKey
	keys   *countingKeys
	pub    digest.PublicKey
	ghosts map[string]bool // keys still listed but gone (aws-cli's "missing" scenario action)
}

func newFx(t testing.TB) *fx {
	a, _ := testKeys(t)
	f := &fx{t: t, st: store.NewLocal(t.TempDir()), signer: a,
		chain: digest.ChainID{Bucket: "1", Account: "123456789012", SourceRegion: "us-east-1", Trail: "foo", HomeRegion: "us-east-1"}}
	f.pub = pubKey(t, a, false)
	f.keys = &countingKeys{keys: map[string][]digest.PublicKey{"us-east-1": {f.pub}}}
	return f
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func (f *fx) sign(k *rsa.PrivateKey, d *digest.Digest, inflated []byte) string {
	h := sha256.Sum256(digest.StringToSign(d, inflated))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	if err != nil {
		f.t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// put writes a digest and returns its signature and inflated bytes.
func (f *fx) put(bucket, key string, d *digest.Digest, meta map[string]string) (string, []byte) {
	inflated, err := digest.Marshal(d)
	if err != nil {
		f.t.Fatal(err)
	}
	sig := f.sign(f.signer, d, inflated)
	if meta == nil {
		meta = map[string]string{digest.MetaSignature: sig, digest.MetaSignatureAlgorithm: digest.SignatureAlgorithm}
	}
	if err := f.st.Put(context.Background(), bucket, key, gz(inflated), meta); err != nil {
		f.t.Fatal(err)
	}
	return sig, inflated
}

func (f *fx) putLog(bucket, key string, content string) digest.LogFile {
	if err := f.st.Put(context.Background(), bucket, key, gz([]byte(content)), nil); err != nil {
		f.t.Fatal(err)
	}
	s := sha256.Sum256([]byte(content))
	return digest.LogFile{S3Bucket: bucket, S3Object: key, HashValue: hex.EncodeToString(s[:]), HashAlgorithm: "SHA-256",
		NewestEventTime: "2014-08-10T00:00:00Z", OldestEventTime: "2014-08-10T00:00:00Z"}
}

func sp(s string) *string { return &s }

// built is one digest written by scenario.
type built struct {
	key      string
	sig      string
	inflated []byte
	d        *digest.Digest
}

// scenario writes one digest per action, hourly from fxStart (aws-cli's create_scenario): "gap" starts
// a chain, "link" links to the previous digest, "missing" is linked to but deleted afterwards,
// "invalid" carries a broken signature, "deleted" is linked to but gone from the bucket, "missing"
// is gone but still listed (aws-cli's tests mock the listing that way), "bucket_change" links to a previous digest in bucket "2".
// Each digest lists logs log files. backfill writes _backfill digests.
func (f *fx) scenario(actions []string, logs int, backfill bool) []built {
	var out []built
	change := -1
	for i, a := range actions {
		if a == "bucket_change" {
			change = i
		}
	}
	var prev *built
	for i, a := range actions {
		end := fxStart.Add(time.Duration(i+1) * time.Hour)
		key := f.chain.Key(end)
		if backfill {
			key = strings.TrimSuffix(key, ".json.gz") + "_backfill.json.gz"
		}
		b := f.chain.Bucket
		if i < change {
			b = "2"
		}
		d := &digest.Digest{AWSAccountID: f.chain.Account, DigestStartTime: digest.DisplayTime(end.Add(-time.Hour)),
			DigestEndTime: digest.DisplayTime(end), DigestS3Bucket: b, DigestS3Object: key,
			DigestPublicKeyFingerprint: f.pub.Fingerprint, DigestSignatureAlgorithm: digest.SignatureAlgorithm}
		if a != "gap" && prev != nil {
			sum := sha256.Sum256(prev.inflated)
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = sp(prev.d.DigestS3Bucket), sp(prev.key)
			d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm = sp(hex.EncodeToString(sum[:])), sp("SHA-256")
			d.PreviousDigestSignature = sp(prev.sig)
		}
		for j := 0; j < logs; j++ {
			lk := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/2014/08/10/%s_CloudTrail_us-east-1_%s_%02d%s.json.gz",
				f.chain.Account, f.chain.Account, end.Format("20060102T1504Z"), j, map[bool]string{true: "b", false: ""}[backfill])
			d.LogFiles = append(d.LogFiles, f.putLog(b, lk, fmt.Sprintf(`{"Records":[{"n":%d,"h":%d}]}`, j, i)))
		}
		inflated, _ := digest.Marshal(d)
		sig := f.sign(f.signer, d, inflated)
		meta := map[string]string{digest.MetaSignature: sig, digest.MetaSignatureAlgorithm: digest.SignatureAlgorithm}
		if backfill {
			meta[digest.MetaBackfillTimestamp] = digest.DisplayTime(end.Add(30 * time.Minute))
		}
		if a == "invalid" {
			meta[digest.MetaSignature] = flipHex(sig)
		}
		if err := f.st.Put(context.Background(), b, key, gz(inflated), meta); err != nil {
			f.t.Fatal(err)
		}
		switch a {
		case "missing":
			f.st.Delete(context.Background(), b, key)
			if f.ghosts == nil {
				f.ghosts = map[string]bool{}
			}
			f.ghosts[b+"/"+key] = true
		case "deleted":
			f.st.Delete(context.Background(), b, key)
		}
		bl := built{key: key, sig: sig, inflated: inflated, d: d}
		out = append(out, bl)
		prev = &out[len(out)-1]
	}
	return out
}

func flipHex(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}

// run validates the fixture's chain and renders it like aws-cli.
func (f *fx) run(mod func(*Options), verbose bool) (stdout, stderr string, res *ChainResult, rc int) {
	f.t.Helper()
	var st store.Store = f.st
	if len(f.ghosts) > 0 {
		st = &ghostStore{Store: f.st, ghosts: f.ghosts}
	}
	o := Options{Store: st, Keys: f.keys, Start: fxStart, End: fxStart.Add(24 * time.Hour),
		Now: func() time.Time { return fxStart.Add(24 * time.Hour) }}
	if mod != nil {
		mod(&o)
	}
	v, err := New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err = v.ValidateChain(context.Background(), f.chain)
	if err != nil {
		f.t.Fatal(err)
	}
	var out, eout bytes.Buffer
	tw := NewTextWriter(&out, &eout, verbose)
	tw.Chain("arn:aws:cloudtrail:us-east-1:123456789012:trail/foo", res)
	return out.String(), eout.String(), res, ExitCode([]*ChainResult{res}, false)
}

// ghostStore lists keys that no longer exist, as when an object is deleted between List and Get.
type ghostStore struct {
	store.Store
	ghosts map[string]bool
}

func (g *ghostStore) List(ctx context.Context, bucket, prefix, startAfter string, fn func(store.Info) error) error {
	var infos []store.Info
	err := g.Store.List(ctx, bucket, prefix, startAfter, func(in store.Info) error { infos = append(infos, in); return nil })
	if err != nil {
		return err
	}
	for k := range g.ghosts {
		b, key, _ := strings.Cut(k, "/")
		if b == bucket && strings.HasPrefix(key, prefix) && key > startAfter {
			infos = append(infos, store.Info{Bucket: b, Key: key})
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	for _, in := range infos {
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

var _ = io.Discard
