package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// memStore holds objects under any key, including keys no directory could hold: it plays the S3
// bucket an attacker who can write to the Log Archive bucket (or forge a notification) controls.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte // bucket + "\x00" + key
}

func (m *memStore) put(bucket, key string, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[bucket+"\x00"+key] = body
}

func (m *memStore) Get(ctx context.Context, bucket, key string) (io.ReadCloser, store.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[bucket+"\x00"+key]
	if !ok {
		return nil, store.Info{}, &store.Error{Op: "get", Bucket: bucket, Key: key, Kind: store.KindNotFound, Err: fs.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(b)), store.Info{Bucket: bucket, Key: key, Size: int64(len(b)), ETag: "e"}, nil
}

var errMemStore = errors.New("memStore: read only")

func (m *memStore) Head(ctx context.Context, bucket, key string) (store.Info, error) {
	_, info, err := m.Get(ctx, bucket, key)
	return info, err
}
func (m *memStore) List(context.Context, string, string, string, func(store.Info) error) error {
	return errMemStore
}
func (m *memStore) Put(context.Context, string, string, []byte, map[string]string) error {
	return errMemStore
}
func (m *memStore) PutIfAbsent(context.Context, string, string, []byte, map[string]string) (bool, error) {
	return false, errMemStore
}
func (m *memStore) Create(context.Context, string, string, map[string]string) (store.Upload, error) {
	return nil, errMemStore
}
func (m *memStore) Delete(context.Context, string, string) error { return errMemStore }

// hostileKeys are keys an attacker would try; every one classifies as a log (so its poison body is
// quarantined, i.e. copied under a name derived from the key).
var hostileKeys = []string{
	"AWSLogs/111122223333/vpcdnsquerylogs/x/../../../../../../etc/evil.txt",
	"AWSLogs/111122223333/vpcflowlogs/us-east-1/../../../../../../../cloudtrail/dt=2026-11-20/injected.parquet",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/../../../../../../../../../../../../../../../../tmp/x.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/%2e%2e/%2e%2e/%2e%2e/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/a\x00b/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/\xff\xfe/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/" + strings.Repeat("A", 300) + "/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/" + strings.Repeat("d/", 600) + "111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/.tmp-123/111122223333_CloudTrail_us-east-1_20261120T0000Z_aaaaaaaaaaaaaaaa.json.gz",
	"AWSLogs/111122223333/vpcdnsquerylogs/x/2026/11/20/y.log.gz.s3meta.json",
	"AWSLogs/111122223333/vpcdnsquerylogs/x/..\\..\\..\\..\\evil.log.gz",
	"AWSLogs/111122223333/vpcdnsquerylogs/x//y.log.gz",
	"/AWSLogs/111122223333/vpcdnsquerylogs/x/y.log.gz",
}

// TestQuarantineConfinedWhateverTheKey: a poison object under a hostile key is copied inside the
// quarantine location, readable under the name the pipeline reports, with its real key in the
// metadata, and nothing at all is written anywhere else.
func TestQuarantineConfinedWhateverTheKey(t *testing.T) {
	ctx := context.Background()
	outer := t.TempDir() // everything the test may see written is under here
	qroot := filepath.Join(outer, "dest")
	src := &memStore{}
	buckets := []string{"org-archive", "../../evil", "a/b"}
	for _, b := range buckets {
		for _, k := range hostileKeys {
			src.put(b, k, []byte("\x1f\x8b\x08\x00 this is not deflate"))
		}
	}
	qloc := store.Location{Store: store.NewLocal(qroot), Prefix: "_quarantine/"}
	p, err := New(Options{Store: src, Sink: &memSink{}, Quarantine: qloc})
	if err != nil {
		t.Fatal(err)
	}
	wheres := map[string]string{}
	for _, b := range buckets {
		for _, k := range hostileKeys {
			if c := parse.Classify(b, k); c.Source == parse.SourceUnknown {
				continue // ignored, nothing written; checked by the walk below
			}
			var got ack.Outcome
			if err := p.Process(ctx, Input{Ref: ack.Ref{Bucket: b, Key: k}, Done: func(o ack.Outcome) { got = o }}); err != nil {
				t.Fatalf("%q %q: %v", b, k, err)
			}
			if got.Kind != ack.Quarantined || got.Class != string(parse.ErrCorruptGzip) {
				t.Fatalf("%q %q: done(%+v), want quarantined as %s", b, k, got, parse.ErrCorruptGzip)
			}
			where := qloc.Key(QuarantineKey(got.Class, b, k))
			if !strings.HasPrefix(where, "_quarantine/") {
				t.Fatalf("%q: quarantined as %q", k, where)
			}
			if prev, dup := wheres[where]; dup {
				t.Fatalf("%q and %q share the quarantine name %q", prev, k, where)
			}
			wheres[where] = b + "/" + k
			info, err := qloc.Store.Head(ctx, "", where)
			if err != nil {
				t.Fatalf("%q: copy %q unreadable: %v", k, where, err)
			}
			if info.Metadata["source-key"] != metaValue(k) {
				t.Fatalf("%q: metadata source-key %q", k, info.Metadata["source-key"])
			}
		}
	}
	if len(wheres) < 2*len(hostileKeys) {
		t.Fatalf("only %d of the hostile keys classified as logs", len(wheres))
	}
	// Every file written is under <dest>/_quarantine, and is a copy or its metadata sidecar.
	files := 0
	err = filepath.WalkDir(outer, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(qroot, path)
		if !filepath.IsLocal(rel) || !strings.HasPrefix(rel, "_quarantine"+string(filepath.Separator)) {
			t.Errorf("file written outside the quarantine: %s", path)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("nothing written")
	}
}

func TestQuarantineKeyKeepsPlainKeys(t *testing.T) {
	k := "AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0805Z_abcdefabcdefabcd.json.gz"
	if got := QuarantineKey("corrupt_gzip", "org-archive", k); got != "corrupt_gzip/org-archive/"+k {
		t.Fatalf("plain key renamed: %q", got)
	}
}

// checkQuarantineKey asserts what QuarantineKey promises for any input.
func checkQuarantineKey(t *testing.T, class, bucket, key string) {
	q := QuarantineKey(class, bucket, key)
	if !utf8.ValidString(q) || !filepath.IsLocal(filepath.FromSlash(q)) || filepath.ToSlash(filepath.Clean(filepath.FromSlash(q))) != q {
		t.Fatalf("QuarantineKey(%q, %q, %q) = %q: not a clean relative path", class, bucket, key, q)
	}
	for _, seg := range strings.Split(q, "/") {
		if seg == "" || seg == "." || seg == ".." || len(seg) > 255 || strings.HasPrefix(seg, ".tmp-") ||
			strings.HasSuffix(seg, ".s3meta.json") || strings.ContainsAny(seg, "\x00\\") {
			t.Fatalf("QuarantineKey(%q, %q, %q) = %q: bad segment %q", class, bucket, key, q, seg)
		}
	}
	if len(q) > 4096 {
		t.Fatalf("QuarantineKey(%q, %q, %q): %d bytes", class, bucket, key, len(q))
	}
	if got := QuarantineKey(class, bucket, key); got != q {
		t.Fatal("not deterministic")
	}
}

func TestQuarantineKeyHostile(t *testing.T) {
	for _, k := range hostileKeys {
		checkQuarantineKey(t, "corrupt_gzip", "org-archive", k)
		checkQuarantineKey(t, "../x", "..", k)
	}
}

// FuzzObjectKey: whatever the key, classification does not panic and the names built from the key
// stay confined, valid and distinct.
func FuzzObjectKey(f *testing.F) {
	for _, k := range hostileKeys {
		f.Add("org-archive", k)
	}
	f.Add("org-archive", "AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0805Z_abcdefabcdefabcd.json.gz")
	f.Add("..", "..")
	f.Add("", "/")
	f.Fuzz(func(t *testing.T, bucket, key string) {
		obj := parse.Classify(bucket, key)
		if obj.Source > parse.SourceDigest {
			t.Fatalf("source %d", obj.Source)
		}
		checkQuarantineKey(t, "corrupt_gzip", bucket, key)
		if key != key+"x" && QuarantineKey("c", bucket, key) == QuarantineKey("c", bucket, key+"x") {
			t.Fatalf("%q and %q share a quarantine name", key, key+"x")
		}
	})
}

// TestSkippedRecordsKeptWithReason: a flow log with one line of the wrong shape among good ones:
// the good lines are rows, the bad one is listed (line and reason) in a side file beside the
// quarantine, and counted.
func TestSkippedRecordsKeptWithReason(t *testing.T) {
	ctx := context.Background()
	key := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/03/02/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20260302T0000Z_fe123456.log.gz"
	body := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1772409600 1772409660 ACCEPT OK\n" +
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 notaport 6 10 840 1772409600 1772409660 ACCEPT OK\n" +
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49153 6 10 840 1772409600 1772409660 ACCEPT OK\n"
	src := &memStore{}
	src.put("org-archive", key, gz(t, []byte(body)))
	qroot := t.TempDir()
	sink := &memSink{}
	p, err := New(Options{Store: src, Sink: sink, Quarantine: store.Location{Store: store.NewLocal(qroot), Prefix: "_quarantine/"}})
	if err != nil {
		t.Fatal(err)
	}
	done := ack.Outcome{Kind: ack.Retry, Class: "not called"}
	if err := p.Process(ctx, Input{Ref: ack.Ref{Bucket: "org-archive", Key: key}, Done: func(o ack.Outcome) { done = o }}); err != nil {
		t.Fatal(err)
	}
	if done.Kind != ack.Durable || done.Err != nil {
		t.Fatalf("done(%+v)", done)
	}
	if len(sink.batches) != 1 || len(sink.batches[0].Records) != 2 {
		t.Fatalf("want one batch of the 2 good lines, got %d batches", len(sink.batches))
	}
	if got := p.Stats().Get(parse.SourceVPCFlow, "bad_records"); got != 1 {
		t.Fatalf("bad_records = %d", got)
	}
	side := "_quarantine/" + QuarantineKey("bad_record", "org-archive", key) + RejectsSuffix
	rc, _, err := store.NewLocal(qroot).Get(ctx, "", side)
	if err != nil {
		t.Fatalf("side file: %v", err)
	}
	defer rc.Close()
	var rejects []Reject
	dec := json.NewDecoder(rc)
	for dec.More() {
		var r Reject
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rejects = append(rejects, r)
	}
	if len(rejects) != 1 || rejects[0].Line != 3 || rejects[0].Key != key || rejects[0].Skipped != 1 || !strings.Contains(rejects[0].Reason, "notaport") {
		t.Fatalf("rejects %+v", rejects)
	}
}
