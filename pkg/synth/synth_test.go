package synth_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// memWriter keeps objects in memory.
type memWriter struct {
	mu   sync.Mutex
	objs map[string]memObject
}

type memObject struct {
	body []byte
	meta map[string]string
}

func newMem() *memWriter { return &memWriter{objs: map[string]memObject{}} }

func (m *memWriter) Put(_ context.Context, bucket, key string, body []byte, meta map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[bucket+"/"+key] = memObject{body: bytes.Clone(body), meta: meta}
	return nil
}

// hash covers every object's name, bytes and metadata, in key order.
func (m *memWriter) hash() string {
	keys := make([]string, 0, len(m.objs))
	for k := range m.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		o := m.objs[k]
		fmt.Fprintf(h, "%s\x00%d\x00", k, len(o.body))
		h.Write(o.body)
		mk := make([]string, 0, len(o.meta))
		for n := range o.meta {
			mk = append(mk, n)
		}
		sort.Strings(mk)
		for _, n := range mk {
			fmt.Fprintf(h, "%s=%s\x00", n, o.meta[n])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// small is a quick archive with every feature: 3 accounts × 2 regions × 3 hours.
func small(seed uint64) synth.Options {
	return synth.Options{
		Seed: seed, NumAccounts: 3, Hours: 3, EventsPerHour: 60, FlowRecordsPerHour: 60, ResolverQueriesPerHour: 36,
	}
}

func TestDeterministic(t *testing.T) {
	ctx := context.Background()
	run := func(o synth.Options) (string, []byte) {
		t.Helper()
		w := newMem()
		m, err := synth.Generate(ctx, w, o)
		if err != nil {
			t.Fatal(err)
		}
		mj, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return w.hash(), mj
	}
	base := small(7)
	base.Tamper = synth.TamperKinds()
	base.Workers = 4
	h1, m1 := run(base)
	serial := base
	serial.Workers = 1
	h2, m2 := run(serial)
	if h1 != h2 {
		t.Errorf("same seed, different worker count: archive hash %s vs %s", h1, h2)
	}
	if !bytes.Equal(m1, m2) {
		t.Errorf("same seed, different manifests")
	}
	other := base
	other.Seed = 8
	if h3, _ := run(other); h3 == h1 {
		t.Errorf("seeds 7 and 8 gave the same archive")
	}
}

func TestStringToSignVector(t *testing.T) {
	// aws-cli test_properly_signs_when_no_previous_signature (cloudtrail-digest.md §1.4).
	d := &digest.Digest{DigestEndTime: "a", DigestS3Bucket: "b", DigestS3Object: "c"}
	got := string(digest.StringToSign(d, []byte("abc")))
	want := "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
	if got != want {
		t.Fatalf("StringToSign = %q, want %q", got, want)
	}
}

// archive is a generated archive on local disk, read back the way a user would read it.
type archive struct {
	dir, bucket string
	m           *synth.Manifest
	keys        map[string]map[string]*rsa.PublicKey // region → fingerprint → key
}

// shared is one clean archive (small(3) with a backfill digest) that the read-only tests share, so
// the package's tests generate a handful of archives instead of one each.
var shared struct {
	once sync.Once
	a    *archive
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.a != nil {
		os.RemoveAll(shared.a.dir)
	}
	os.Exit(code)
}

func sharedArchive(t *testing.T) *archive {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "synth-shared-")
		if err != nil {
			shared.err = err
			return
		}
		o := small(3)
		o.Backfill = true
		shared.a, shared.err = writeArchive(dir, o)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.a
}

func writeArchive(dir string, o synth.Options) (*archive, error) {
	m, err := synth.Generate(context.Background(), store.NewLocal(dir), o)
	if err != nil {
		return nil, err
	}
	kb, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "public-keys.json"), kb, 0o644); err != nil {
		return nil, err
	}
	return &archive{dir: dir, bucket: m.Bucket, m: m}, nil
}

func generateToDisk(t *testing.T, o synth.Options) *archive {
	t.Helper()
	a, err := writeArchive(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	a.keys = loadKeysFile(t, filepath.Join(a.dir, "public-keys.json"))
	return a
}

// loadKeysFile parses a region → list-public-keys document with the standard library only.
func loadKeysFile(t *testing.T, path string) map[string]map[string]*rsa.PublicKey {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]struct {
		PublicKeyList []struct {
			Value             string
			ValidityStartTime time.Time
			ValidityEndTime   time.Time
			Fingerprint       string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("keys file: %v", err)
	}
	out := map[string]map[string]*rsa.PublicKey{}
	for region, l := range doc {
		if len(l.PublicKeyList) < 2 {
			t.Errorf("region %s: %d keys, want at least 2 (rotation)", region, len(l.PublicKeyList))
		}
		out[region] = map[string]*rsa.PublicKey{}
		for _, k := range l.PublicKeyList {
			der, err := base64Decode(k.Value)
			if err != nil {
				t.Fatalf("region %s key %s: %v", region, k.Fingerprint, err)
			}
			sum := md5.Sum(der)
			if hex.EncodeToString(sum[:]) != k.Fingerprint {
				t.Errorf("region %s: fingerprint %s is not md5(Value)", region, k.Fingerprint)
			}
			pub, err := x509.ParsePKCS1PublicKey(der)
			if err != nil {
				t.Fatalf("region %s key %s: %v", region, k.Fingerprint, err)
			}
			if pub.N.BitLen() != 2048 || pub.E != 65537 {
				t.Errorf("key %s: %d bits, e=%d; want 2048, 65537", k.Fingerprint, pub.N.BitLen(), pub.E)
			}
			if !k.ValidityStartTime.Before(k.ValidityEndTime) {
				t.Errorf("key %s: empty validity", k.Fingerprint)
			}
			out[region][k.Fingerprint] = pub
		}
	}
	return out
}

func (a *archive) path(key string) string {
	return filepath.Join(a.dir, a.bucket, filepath.FromSlash(key))
}

func (a *archive) exists(key string) bool {
	_, err := os.Stat(a.path(key))
	return err == nil
}

func (a *archive) inflate(t *testing.T, key string) []byte {
	t.Helper()
	f, err := os.Open(a.path(key))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	zr.Multistream(false) // the digest hashes the first member only
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return b
}

func (a *archive) meta(t *testing.T, key string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(a.path(key) + digest.MetadataSidecarSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s sidecar: %v", key, err)
	}
	return m
}

// keysUnder lists the object keys under prefix on disk (sidecars excluded), sorted.
func (a *archive) keysUnder(t *testing.T, prefix string) []string {
	t.Helper()
	root := filepath.Join(a.dir, a.bucket)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, digest.MetadataSidecarSuffix) {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, prefix) {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// problem is one check failure found by verifyArchive, attributed to an object key.
type problem struct{ key, what, related string }

// verifyArchive checks every digest chain on disk like an offline validator would: signature with
// the published key of the digest's region, location, links (key, hash, signature, continuity), and
// the hash of every listed log. It returns the failures, so tests can expect exactly the tamperings.
func verifyArchive(t *testing.T, a *archive) []problem {
	t.Helper()
	var probs []problem
	bad := func(key, format string, args ...any) {
		probs = append(probs, problem{key, fmt.Sprintf(format, args...), ""})
	}
	type loaded struct {
		key      string
		d        digest.Digest
		inflated []byte
		sig      string
	}
	chains := map[string][]loaded{} // account/region → digests in key order
	for _, key := range a.keysUnder(t, "") {
		if !strings.Contains(key, "/CloudTrail-Digest/") {
			continue
		}
		parts := strings.Split(key, "/")
		i := slices.Index(parts, "CloudTrail-Digest")
		region, acct := parts[i+1], parts[i-1]
		l := loaded{key: key, inflated: a.inflate(t, key)}
		if err := json.Unmarshal(l.inflated, &l.d); err != nil {
			bad(key, "json: %v", err)
			continue
		}
		meta := a.meta(t, key)
		l.sig = meta[digest.MetaSignature]
		switch {
		case l.d.DigestS3Object != key || l.d.DigestS3Bucket != a.bucket:
			bad(key, "moved from %s", l.d.DigestS3Object)
		case meta[digest.MetaSignature] == "" || meta[digest.MetaSignatureAlgorithm] != digest.SignatureAlgorithm:
			bad(key, "no signature metadata")
		default:
			pub := a.keys[region][l.d.DigestPublicKeyFingerprint]
			sig, err := hex.DecodeString(l.sig)
			h := sha256.Sum256(digest.StringToSign(&l.d, l.inflated))
			switch {
			case pub == nil:
				bad(key, "public key %s not found in %s", l.d.DigestPublicKeyFingerprint, region)
			case err != nil:
				bad(key, "signature not hex: %v", err)
			case rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil:
				bad(key, "signature verification failed")
			}
		}
		for _, lf := range l.d.LogFiles {
			if !a.exists(lf.S3Object) {
				bad(lf.S3Object, "listed log missing")
				continue
			}
			raw, err := os.ReadFile(a.path(lf.S3Object))
			if err != nil {
				t.Fatal(err)
			}
			inflated := a.inflate(t, lf.S3Object)
			sum := sha256.Sum256(inflated)
			if hex.EncodeToString(sum[:]) != lf.HashValue {
				bad(lf.S3Object, "hash mismatch")
			}
			if n := gzipMembers(t, raw); n != 1 {
				bad(lf.S3Object, "%d gzip members", n)
			}
		}
		// Backfill digests form a chain of their own.
		id := acct + "/" + region
		if strings.HasSuffix(key, "_backfill.json.gz") {
			id += "/backfill"
			if meta[digest.MetaBackfillTimestamp] == "" {
				bad(key, "backfill digest without generation timestamp")
			}
		}
		chains[id] = append(chains[id], l)
	}
	for _, ch := range chains {
		for i, l := range ch {
			if l.d.DigestS3Object != l.key {
				continue // a moved copy: already reported
			}
			if i == 0 {
				if !l.d.IsStart() {
					bad(l.key, "oldest digest is not a starting digest")
				}
				continue
			}
			p := ch[i-1]
			if p.d.DigestS3Object != p.key && i >= 2 {
				p = ch[i-2]
			}
			if l.d.PreviousDigestS3Object == nil || *l.d.PreviousDigestS3Object != p.key {
				bad(l.key, "previous digest link does not name %s", p.key)
				continue
			}
			sum := sha256.Sum256(p.inflated)
			if l.d.PreviousDigestHashValue == nil || *l.d.PreviousDigestHashValue != hex.EncodeToString(sum[:]) {
				bad(l.key, "previousDigestHashValue mismatch")
			}
			if l.d.PreviousDigestSignature == nil || *l.d.PreviousDigestSignature != p.sig {
				probs = append(probs, problem{l.key, "previousDigestSignature differs from the predecessor's metadata", p.key})
			}
			if l.d.DigestStartTime != p.d.DigestEndTime {
				bad(l.key, "gap: starts %s, predecessor ends %s", l.d.DigestStartTime, p.d.DigestEndTime)
			}
		}
	}
	return probs
}

func gzipMembers(t *testing.T, raw []byte) int {
	t.Helper()
	br := bytes.NewReader(raw)
	n := 0
	for br.Len() > 0 {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("gzip member %d: %v", n+1, err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("gzip member %d: %v", n+1, err)
		}
		n++
	}
	return n
}

func TestCleanArchiveVerifies(t *testing.T) {
	cp := *sharedArchive(t)
	cp.keys = loadKeysFile(t, filepath.Join(cp.dir, "public-keys.json"))
	a := &cp
	for _, p := range verifyArchive(t, a) {
		t.Errorf("%s: %s", p.key, p.what)
	}
	// The run spans a key rotation: both keys of each region sign digests.
	used := map[string]bool{}
	digests := 0
	for _, key := range a.keysUnder(t, "") {
		if strings.Contains(key, "/CloudTrail-Digest/") {
			var d digest.Digest
			if err := json.Unmarshal(a.inflate(t, key), &d); err != nil {
				t.Fatal(err)
			}
			used[d.DigestPublicKeyFingerprint] = true
			digests++
		}
	}
	if want := 2 * len(a.m.Regions); len(used) != want {
		t.Errorf("%d signing keys used, want %d (two per region)", len(used), want)
	}
	if want := len(a.m.Accounts)*len(a.m.Regions)*(a.m.Hours+1) + 1; digests != want {
		t.Errorf("%d digests, want %d (hours+1 per chain, one backfill)", digests, want)
	}
	if a.m.EmptyDigests < 1 {
		t.Errorf("no empty digest generated")
	}
}

// TestTamperingsAreDetectable checks that each tampering is exactly what the manifest says: an
// offline check flags the tampered objects and nothing else.
func TestTamperingsAreDetectable(t *testing.T) {
	o := small(5)
	o.Tamper = synth.TamperKinds()
	o.Backfill = true
	a := generateToDisk(t, o)
	if len(a.m.Backfill) != 1 {
		t.Errorf("%d backfill digests, want 1 beside the tamperings", len(a.m.Backfill))
	}
	if len(a.m.Tampered) != len(o.Tamper) {
		t.Fatalf("%d tamperings recorded, want %d", len(a.m.Tampered), len(o.Tamper))
	}
	probs := verifyArchive(t, a)
	flagged := map[string][]string{}
	for _, p := range probs {
		flagged[p.key] = append(flagged[p.key], p.what)
	}
	expect := map[synth.TamperKind]func(tp synth.Tampering) bool{
		synth.TamperModifyLog:        func(tp synth.Tampering) bool { return has(flagged[tp.Key], "hash mismatch") },
		synth.TamperDeleteLog:        func(tp synth.Tampering) bool { return has(flagged[tp.Key], "listed log missing") },
		synth.TamperAppendGzipMember: func(tp synth.Tampering) bool { return has(flagged[tp.Key], "2 gzip members") },
		synth.TamperBreakSignature:   func(tp synth.Tampering) bool { return has(flagged[tp.Key], "signature verification failed") },
		synth.TamperDropSignature:    func(tp synth.Tampering) bool { return has(flagged[tp.Key], "no signature metadata") },
		synth.TamperMoveDigest:       func(tp synth.Tampering) bool { return has(flagged[tp.Key], "moved from "+tp.OriginalKey) },
		synth.TamperUnknownKey:       func(tp synth.Tampering) bool { return has(flagged[tp.Key], "public key") },
		synth.TamperDeleteDigest: func(tp synth.Tampering) bool {
			return !a.exists(tp.Key) && len(probsAfter(probs, tp.Key)) > 0
		},
		synth.TamperDeleteTwoDigests: func(tp synth.Tampering) bool {
			return len(tp.DigestKeys) == 2 && !a.exists(tp.DigestKeys[0]) && !a.exists(tp.DigestKeys[1]) && len(probsAfter(probs, tp.DigestKeys[1])) > 0
		},
	}
	explained := map[string]bool{}
	for _, tp := range a.m.Tampered {
		if !expect[tp.Kind](tp) {
			t.Errorf("%s on %s not detected as expected; flagged: %v", tp.Kind, tp.Key, flagged[tp.Key])
		}
		explained[tp.Key] = true
		for _, k := range tp.DigestKeys {
			if tp.Kind == synth.TamperDeleteDigest || tp.Kind == synth.TamperDeleteTwoDigests {
				explained[k] = true
			}
		}
	}
	for _, p := range probs {
		if explained[p.key] {
			continue
		}
		// A deleted digest breaks its successor's link; that successor is explained by the deletion.
		if strings.Contains(p.what, "previous digest link") && linksToDeleted(a, p.key) {
			continue
		}
		// Breaking or dropping a digest's signature metadata also breaks its successor's copy of it.
		if p.related != "" && slices.ContainsFunc(a.m.Tampered, func(tp synth.Tampering) bool {
			return tp.Key == p.related && (tp.Kind == synth.TamperBreakSignature || tp.Kind == synth.TamperDropSignature)
		}) {
			continue
		}
		t.Errorf("unexpected problem %s: %s", p.key, p.what)
	}
}

func has(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// probsAfter returns the broken previous-digest links in the chain of key: a deleted digest must
// show up as its successor's broken link.
func probsAfter(probs []problem, key string) []problem {
	var out []problem
	for _, p := range probs {
		if strings.Contains(p.what, "previous digest link") && sameChain(p.key, key) {
			out = append(out, p)
		}
	}
	return out
}

func linksToDeleted(a *archive, key string) bool {
	for _, tp := range a.m.Tampered {
		if tp.Kind == synth.TamperDeleteDigest || tp.Kind == synth.TamperDeleteTwoDigests {
			for _, k := range tp.DigestKeys {
				if sameChain(k, key) {
					return true
				}
			}
		}
	}
	return false
}

// sameChain reports whether two digest keys belong to one chain (same account and region folder).
func sameChain(a, b string) bool {
	chainOf := func(k string) string {
		i := strings.Index(k, "/CloudTrail-Digest/")
		if i < 0 {
			return ""
		}
		rest := k[i+len("/CloudTrail-Digest/"):]
		return k[:i] + "/" + rest[:strings.IndexByte(rest, '/')]
	}
	return chainOf(a) != "" && chainOf(a) == chainOf(b)
}

func base64Decode(s string) ([]byte, error) {
	var b []byte
	err := json.Unmarshal([]byte(`"`+s+`"`), &b)
	return b, err
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestBackfill checks the backfill digest: a starting digest of its own chain that lists a log no
// regular digest lists, signed with the key valid at its generation time.
func TestBackfill(t *testing.T) {
	a := sharedArchive(t)
	if len(a.m.Backfill) != 1 || len(a.m.Backfill[0].LogKeys) != 1 {
		t.Fatalf("backfill manifest %+v, want one digest with one log", a.m.Backfill)
	}
	bf := a.m.Backfill[0]
	var d digest.Digest
	if err := json.Unmarshal(a.inflate(t, bf.Key), &d); err != nil {
		t.Fatal(err)
	}
	if !d.IsStart() || len(d.LogFiles) != 1 || d.LogFiles[0].S3Object != bf.LogKeys[0] {
		t.Errorf("backfill digest %+v", d)
	}
	meta := a.meta(t, bf.Key)
	gen, err := time.Parse(time.RFC3339, meta[digest.MetaBackfillTimestamp])
	if err != nil || !gen.Equal(bf.GeneratedAt) {
		t.Errorf("backfill-generation-timestamp %q (%v), manifest %s", meta[digest.MetaBackfillTimestamp], err, bf.GeneratedAt)
	}
	// The signing key is the one valid at generation time, not at the digest's end.
	var valid []string
	for _, k := range a.m.PublicKeys[regionOf(bf.Key)].PublicKeyList {
		if !gen.Before(k.ValidityStartTime) && gen.Before(k.ValidityEndTime) {
			valid = append(valid, k.Fingerprint)
		}
	}
	if !slices.Contains(valid, d.DigestPublicKeyFingerprint) {
		t.Errorf("backfill signed with %s, keys valid at %s: %v", d.DigestPublicKeyFingerprint, gen, valid)
	}
	for _, key := range a.keysUnder(t, "") {
		if !strings.Contains(key, "/CloudTrail-Digest/") || key == bf.Key {
			continue
		}
		var rd digest.Digest
		if err := json.Unmarshal(a.inflate(t, key), &rd); err != nil {
			t.Fatal(err)
		}
		for _, lf := range rd.LogFiles {
			if lf.S3Object == bf.LogKeys[0] {
				t.Errorf("backfilled log %s also listed by %s", lf.S3Object, key)
			}
		}
	}
}

func regionOf(digestKey string) string {
	parts := strings.Split(digestKey, "/")
	return parts[slices.Index(parts, "CloudTrail-Digest")+1]
}

// TestDuplicates checks that each duplicated eventID is delivered in exactly two files, with
// identical record bytes.
func TestDuplicates(t *testing.T) {
	a := sharedArchive(t)
	if len(a.m.Duplicates) == 0 {
		t.Fatal("no duplicates generated")
	}
	seen := map[string][]string{}
	for _, o := range a.m.Objects {
		if o.Table != synth.TableCloudTrail {
			continue
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(a.inflate(t, o.Key), &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			var id struct{ EventID string }
			if err := json.Unmarshal(r, &id); err != nil {
				t.Fatal(err)
			}
			seen[id.EventID] = append(seen[id.EventID], string(r))
		}
	}
	dups := 0
	for id, rs := range seen {
		if len(rs) > 1 {
			dups++
			if !slices.Contains(a.m.Duplicates, id) {
				t.Errorf("event %s delivered %d times but not listed as a duplicate", id, len(rs))
			}
			if len(rs) != 2 || rs[0] != rs[1] {
				t.Errorf("duplicate %s: %d copies, identical=%v", id, len(rs), len(rs) == 2 && rs[0] == rs[1])
			}
		}
	}
	if dups != len(a.m.Duplicates) {
		t.Errorf("%d duplicated events on disk, manifest lists %d", dups, len(a.m.Duplicates))
	}
}

// failWriter fails the n-th Put with a typed error.
type failWriter struct {
	mu sync.Mutex
	n  int
}

type diskFullError struct{ key string }

func (e *diskFullError) Error() string { return "disk full writing " + e.key }

func (f *failWriter) Put(_ context.Context, _, key string, _ []byte, _ map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		return &diskFullError{key}
	}
	return nil
}

func TestGenerateErrors(t *testing.T) {
	o := small(1)
	_, err := synth.Generate(context.Background(), &failWriter{n: 50}, o)
	var df *diskFullError
	if !errors.As(err, &df) {
		t.Fatalf("Generate with a failing writer: %v, want the writer's error wrapped", err)
	}
	if !strings.Contains(err.Error(), "s3://") || !strings.Contains(err.Error(), df.key) {
		t.Errorf("error %q does not name the object", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := synth.Generate(ctx, newMem(), o); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := synth.Generate(context.Background(), nil, o); err == nil {
		t.Error("Generate with a nil writer succeeded")
	}
}

// TestDeleteTwoKeepsHead checks that deleting two digests leaves the chain's newest digest in place
// when the archive has room (Hours >= 3), and falls back to the head only when it must (Hours = 2).
func TestDeleteTwoKeepsHead(t *testing.T) {
	for _, hours := range []int{2, 3, 5} {
		o := small(6)
		o.Hours, o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = hours, 24, -1, -1
		o.Tamper = []synth.TamperKind{synth.TamperDeleteTwoDigests}
		w := newMem()
		m, err := synth.Generate(context.Background(), w, o)
		if err != nil {
			t.Fatal(err)
		}
		tp := m.Tampered[0]
		// The newest digest of that chain is the lexically greatest key in its folder.
		var newest string
		for k := range w.objs {
			if sameChain(strings.TrimPrefix(k, m.Bucket+"/"), tp.DigestKeys[0]) && k > newest {
				newest = k
			}
		}
		headDeleted := strings.TrimPrefix(newest, m.Bucket+"/") < tp.DigestKeys[1]
		if headDeleted != (hours == 2) {
			t.Errorf("hours %d: head deleted = %v (deleted %v, newest left %s)", hours, headDeleted, tp.DigestKeys, newest)
		}
	}
}
