package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mirror returns a Local rooted one level below a temp dir, and a function that fails the test if
// anything was created beside the root (outside it).
func mirror(t *testing.T) (*Local, func()) {
	t.Helper()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		ents, _ := os.ReadDir(parent)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "root,secret" {
			t.Fatalf("files appeared outside the mirror root: %v", names)
		}
		if b, _ := os.ReadFile(filepath.Join(parent, "secret")); string(b) != "outside" {
			t.Fatalf("file outside the root was changed: %q", b)
		}
	}
	return NewLocal(root), check
}

// Hostile keys are data: each is written beneath the root, read back, listed under its own key and
// deleted, and nothing outside the root is touched.
func TestLocalHostileKeysConfined(t *testing.T) {
	l, outside := mirror(t)
	ctx := context.Background()
	keys := []string{
		"../secret", "../../secret", "/etc/passwd", "a/../../secret", "./x", "a//b", "a/./b", "trailing/.",
		"%2e%2e/%2e%2e/secret", "%41", "a\x00b", ".tmp-hidden", "x" + sidecarSuffix,
		"AWSLogs/123/CloudTrail/ok.json.gz", "line\nbreak\tkey",
	}
	buckets := []string{"bucket", "../x", "..", "a/b", ""}
	for _, b := range buckets {
		for _, k := range keys {
			if err := l.Put(ctx, b, k, []byte("body:"+k), map[string]string{"k": k}); err != nil {
				t.Fatalf("put %q/%q: %v", b, k, err)
			}
		}
		outside()
		for _, k := range keys {
			rc, info, err := l.Get(ctx, b, k)
			if err != nil {
				t.Fatalf("get %q/%q: %v", b, k, err)
			}
			body, _ := io.ReadAll(rc)
			rc.Close()
			if string(body) != "body:"+k || info.Metadata["k"] != k {
				t.Fatalf("get %q/%q = %q meta %v", b, k, body, info.Metadata)
			}
		}
	}
	var listed []string
	if err := l.List(ctx, "bucket", "", "", func(i Info) error { listed = append(listed, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	want := append([]string(nil), keys...)
	sort.Strings(want)
	if strings.Join(listed, "|") != strings.Join(want, "|") {
		t.Fatalf("listed %q\nwant     %q", listed, want)
	}
	for _, k := range keys {
		if err := l.Delete(ctx, "bucket", k); err != nil {
			t.Fatalf("delete %q: %v", k, err)
		}
		if _, err := l.Head(ctx, "bucket", k); !IsNotFound(err) {
			t.Fatalf("%q still there after delete: %v", k, err)
		}
	}
	outside()
}

// Keys no directory can hold are never found by reads (as S3 says NoSuchKey) and refused by writes.
func TestLocalUnholdableKeys(t *testing.T) {
	l, outside := mirror(t)
	ctx := context.Background()
	for _, k := range []string{"", strings.Repeat("a", 300), "x/" + strings.Repeat("%", 100), strings.Repeat("ab/", 400)} {
		err := l.Put(ctx, "b", k, []byte("x"), nil)
		if err == nil || !errors.Is(err, ErrInvalidKey) || IsNotFound(err) {
			t.Errorf("put %d-byte key: want an invalid-key error that is not not-found, got %v", len(k), err)
		}
		if _, _, err := l.Get(ctx, "b", k); !IsNotFound(err) {
			t.Errorf("get %d-byte key: want not found, got %v", len(k), err)
		}
		if err := l.Delete(ctx, "b", k); err != nil {
			t.Errorf("delete %d-byte key: %v", len(k), err)
		}
	}
	outside()
}

// Reads through a key never reach a file outside the root; symbolic links are followed only while
// they stay beneath it.
func TestLocalReadsStayInRoot(t *testing.T) {
	l, outside := mirror(t)
	ctx := context.Background()
	for _, k := range []string{"../secret", "../../root/../secret", "/../secret"} {
		if _, _, err := l.Get(ctx, "", k); !IsNotFound(err) {
			t.Errorf("get %q: want not found, got %v", k, err)
		}
	}
	if _, _, err := l.Get(ctx, "..", "secret"); !IsNotFound(err) {
		t.Errorf("bucket ..: want not found, got %v", err)
	}
	bdir := filepath.Join(l.Root(), "b")
	os.MkdirAll(bdir, 0o755)
	os.WriteFile(filepath.Join(bdir, "real"), []byte("inside"), 0o644)
	for name, target := range map[string]string{"rel-out": "../../secret", "abs-out": filepath.Join(filepath.Dir(l.Root()), "secret"), "etc": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(bdir, name)); err != nil {
			t.Fatal(err)
		}
		rc, _, err := l.Get(ctx, "b", name)
		if err == nil {
			body, _ := io.ReadAll(rc)
			t.Errorf("symlink %s → %s read %q", name, target, body)
		}
	}
	os.Symlink("real", filepath.Join(bdir, "in"))
	rc, _, err := l.Get(ctx, "b", "in")
	if err != nil {
		t.Fatalf("symlink inside the root: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "inside" {
		t.Fatalf("symlink inside the root read %q", body)
	}
	// Links out are listed (so the refusal is reported), links to directories are not followed
	// (this one would loop).
	os.Symlink(".", filepath.Join(bdir, "dirlink"))
	os.Symlink("/", filepath.Join(bdir, "outdir"))
	var listed []string
	l.List(ctx, "b", "", "", func(i Info) error { listed = append(listed, i.Key); return nil })
	if got := strings.Join(listed, ","); got != "abs-out,etc,in,outdir,real,rel-out" {
		t.Fatalf("listed %s", got)
	}
	outside()
}

// A FIFO (or device) in the mirror is refused at once: neither Get nor Head waits for a writer.
func TestLocalSpecialFilesRefused(t *testing.T) {
	l, _ := mirror(t)
	ctx := context.Background()
	bdir := filepath.Join(l.Root(), "b")
	os.MkdirAll(bdir, 0o755)
	if err := syscall.Mkfifo(filepath.Join(bdir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(bdir, "obj"+sidecarSuffix), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bdir, "obj"), []byte("x"), 0o644)
	special := []string{"fifo"}
	// Creating a device node needs privileges; when the test has them it checks devices too.
	if err := syscall.Mknod(filepath.Join(bdir, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err == nil {
		special = append(special, "null")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, k := range special {
			if _, _, err := l.Get(ctx, "b", k); err == nil || IsNotFound(err) {
				t.Errorf("get %s: want a not-a-regular-file error, got %v", k, err)
			}
			if _, err := l.Head(ctx, "b", k); err == nil {
				t.Errorf("head %s: want an error", k)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO hung")
	}
	// A FIFO sidecar is not waited on either: the object reads, its metadata is reported unreadable.
	if _, info, err := l.Get(ctx, "b", "obj"); err != nil || info.MetadataErr == nil || info.Metadata != nil {
		t.Fatalf("object with a FIFO sidecar: %v, %+v", err, info)
	}
}

// An object's reader stops when its context is cancelled and returns no more than the file's size
// when it was opened.
func TestLocalReadBoundedAndCancellable(t *testing.T) {
	l, _ := mirror(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Put(ctx, "b", "k", []byte("0123456789"), nil); err != nil {
		t.Fatal(err)
	}
	rc, info, err := l.Get(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, _ := os.OpenFile(filepath.Join(l.Root(), "b", "k"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("grown after open")
	f.Close()
	buf := make([]byte, 4)
	if n, err := rc.Read(buf); n != 4 || err != nil {
		t.Fatalf("first read: %d %v", n, err)
	}
	rest, _ := io.ReadAll(io.LimitReader(rc, 2))
	if info.Size != 10 || string(rest) != "45" {
		t.Fatalf("size %d, rest %q", info.Size, rest)
	}
	all, _ := io.ReadAll(rc)
	if string(all) != "6789" {
		t.Fatalf("read past the size at open: %q", all)
	}
	rc2, _, _ := l.Get(ctx, "b", "k")
	defer rc2.Close()
	cancel()
	if _, err := rc2.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	if _, _, err := l.Get(ctx, "b", "k"); err == nil {
		t.Fatal("get after cancel succeeded")
	}
}

func TestLocalOversizedSidecar(t *testing.T) {
	l, _ := mirror(t)
	ctx := context.Background()
	l.Put(ctx, "b", "k", []byte("x"), nil)
	os.WriteFile(filepath.Join(l.Root(), "b", "k"+sidecarSuffix), []byte(`{"a":"`+strings.Repeat("x", maxSidecar)+`"}`), 0o644)
	if _, info, err := l.Get(ctx, "b", "k"); err != nil || info.MetadataErr == nil || !strings.Contains(info.MetadataErr.Error(), "over") {
		t.Fatalf("want the object with a size error for its metadata, got %v %+v", err, info)
	}
}

// Listing prunes by prefix and startAfter and keeps S3's byte order across directories.
func TestLocalListOrderAndFolders(t *testing.T) {
	l, _ := mirror(t)
	ctx := context.Background()
	keys := []string{"p/a/1", "p/a-b", "p/a.c", "p/b/2", "p/..", "q/1", "p0"}
	for _, k := range keys {
		l.Put(ctx, "b", k, []byte(k), nil)
	}
	var got []string
	l.List(ctx, "b", "p/", "p/a-b", func(i Info) error { got = append(got, i.Key); return nil })
	if s := strings.Join(got, ","); s != "p/a.c,p/a/1,p/b/2" {
		t.Fatalf("list p/ after p/a-b = %s", s)
	}
	got = nil
	stop := errors.New("stop")
	err := l.List(ctx, "b", "p", "", func(i Info) error { got = append(got, i.Key); return stop })
	if err != stop || len(got) != 1 || got[0] != "p/.." {
		t.Fatalf("stop: %v %q", err, got)
	}
	folders, err := l.Folders(ctx, "b", "p/")
	if err != nil || strings.Join(folders, ",") != "a,b" {
		t.Fatalf("folders = %q %v", folders, err)
	}
	if f, err := l.Folders(ctx, "b", "../"); err != nil || len(f) != 0 {
		t.Fatalf("folders of ../ = %q %v", f, err)
	}
	if f, _ := l.Folders(ctx, "..", ""); len(f) != 0 {
		t.Fatalf("folders of bucket .. = %q", f)
	}
}

func TestLocalMissingRoot(t *testing.T) {
	l := NewLocal(filepath.Join(t.TempDir(), "absent"))
	ctx := context.Background()
	if _, _, err := l.Get(ctx, "b", "k"); !IsNotFound(err) {
		t.Fatalf("get: %v", err)
	}
	if err := l.List(ctx, "b", "", "", func(Info) error { t.Fatal("listed"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, "b", "k", []byte("x"), nil); err != nil {
		t.Fatalf("first write creates the root: %v", err)
	}
	st, err := os.Stat(filepath.Join(l.Root(), "b", "k"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatal(err)
	}
	if _, err := l.Head(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	var _ fs.FileInfo = st
}

// A Local keeps its root's descriptor between reads, yet reads answer as a fresh open of the root
// would: after the root is replaced, after Close, and with Close racing reads.
func TestLocalHeldRoot(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	l := NewLocal(root)
	if _, _, err := l.Get(ctx, "b", "k"); !IsNotFound(err) {
		t.Fatalf("get before the root exists: %v", err)
	}
	read := func(key string) string {
		t.Helper()
		rc, _, err := l.Get(ctx, "b", key)
		if err != nil {
			return "error " + KindOf(err).String()
		}
		defer rc.Close()
		body, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	if err := l.Put(ctx, "b", "k", []byte("first"), nil); err != nil {
		t.Fatal(err)
	}
	if got := read("k"); got != "first" {
		t.Fatalf("after the first write: %q", got)
	}
	// The root directory itself is replaced: the held descriptor names the old one.
	if err := os.Rename(root, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	if got := read("new"); got != "error not_found" {
		t.Fatalf("missing key after the root moved: %q", got)
	}
	if err := l.Put(ctx, "b", "new", []byte("second"), nil); err != nil {
		t.Fatal(err)
	}
	if got := read("new"); got != "second" {
		t.Fatalf("object written under the new root: %q", got)
	}
	if got := read("k"); got != "error not_found" {
		t.Fatalf("object of the old root still read: %q", got)
	}

	// Close races reads; every read either finds the object or fails, none reads elsewhere.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			if got := read("new"); got != "second" {
				t.Errorf("read racing Close: %q", got)
				return
			}
		}
	}()
	l.Close()
	<-done
	if got := read("new"); got != "second" {
		t.Fatalf("read after Close: %q", got)
	}
}

// GetBody reads what Get reads, without the sidecar: no metadata, even a broken one.
func TestLocalGetBody(t *testing.T) {
	l, outside := mirror(t)
	ctx := context.Background()
	if err := l.Put(ctx, "b", "AWSLogs/x.json.gz", []byte("body"), map[string]string{"Signature": "s"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.Path("b", "AWSLogs/x.json.gz")+sidecarSuffix, []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Store{l, readOnly{l}} {
		rc, info, err := GetBody(ctx, s, "b", "AWSLogs/x.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		_, full, err := s.Get(ctx, "b", "AWSLogs/x.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		if full.MetadataErr == nil {
			t.Fatal("Get does not report the broken sidecar")
		}
		full.Metadata, full.MetadataErr = nil, nil
		if string(body) != "body" || info.Metadata != nil || info.MetadataErr != nil || !reflect.DeepEqual(info, full) {
			t.Fatalf("GetBody: %q %+v, Get without metadata %+v", body, info, full)
		}
	}
	if _, _, err := GetBody(ctx, l, "b", "AWSLogs/missing"); !IsNotFound(err) {
		t.Fatalf("missing object: %v", err)
	}
	outside()
}

// rel's shortcut for keys with nothing to escape names the same file as the escaping path.
func TestRelShortcut(t *testing.T) {
	keys := []string{"AWSLogs/1/CloudTrail/eu-west-1/2026/03/02/x.json.gz", "a", "a/b/c", "a//b", "/a", "a/", ".", "a/../b",
		"%41", ".tmp-x/y", "x" + sidecarSuffix, "a\x00b", strings.Repeat("x", 255), strings.Repeat("x", 256) + "/y"}
	for _, b := range []string{"", "bucket", "..", "%b"} {
		for _, k := range keys {
			got, err := rel(b, k)
			want, werr := relEscaped(b, k)
			if got != want || (err == nil) != (werr == nil) {
				t.Errorf("rel(%q, %q) = %q, %v; escaped %q, %v", b, k, got, err, want, werr)
			}
		}
	}
}

// The local ETag keeps its format (size and modification time in hex): ledgers written before
// name objects by it.
func TestLocalETagFormat(t *testing.T) {
	for _, c := range []struct {
		size  int64
		mtime time.Time
	}{{0, time.Unix(0, 0)}, {10918, time.Unix(1780000000, 123456789)}, {1 << 40, time.Unix(-5, 0)}} {
		st := fakeInfo{size: c.size, mtime: c.mtime}
		if got, want := localETag(st), fmt.Sprintf("%x-%x", c.size, c.mtime.UnixNano()); got != want {
			t.Errorf("localETag(%d, %v) = %q, want %q", c.size, c.mtime, got, want)
		}
	}
}

type fakeInfo struct {
	fs.FileInfo
	size  int64
	mtime time.Time
}

func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) ModTime() time.Time { return f.mtime }

func FuzzSegment(f *testing.F) {
	for _, s := range []string{"", ".", "..", "%", "%2E", "a\x00b", ".tmp-x", "x.s3meta.json", "plain", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		name := EncodeSegment(seg)
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") ||
			strings.HasPrefix(name, tmpPrefix) || strings.HasSuffix(name, sidecarSuffix) {
			t.Fatalf("segment %q encodes to unsafe name %q", seg, name)
		}
		back, ok := DecodeSegment(name)
		if !ok || back != seg {
			t.Fatalf("%q → %q → %q %v", seg, name, back, ok)
		}
		// Any file name decodes to at most one key segment, and that segment encodes back to it.
		if s2, ok := DecodeSegment(seg); ok && EncodeSegment(s2) != seg {
			t.Fatalf("name %q decodes to %q which encodes to %q", seg, s2, EncodeSegment(s2))
		}
	})
}

// An upload copies what it is given from any reader: a section of a file (copied by the kernel on
// Linux), the rest of a section already partly read, and a plain reader; the object holds exactly
// those bytes.
func TestLocalUploadReadFrom(t *testing.T) {
	l, outside := mirror(t)
	ctx := context.Background()
	src, err := os.CreateTemp(t.TempDir(), "spool-*")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	data := make([]byte, 300<<10+17)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	if _, err := src.Write(data); err != nil {
		t.Fatal(err)
	}
	partly := io.NewSectionReader(src, 1000, 200<<10)
	if _, err := partly.Read(make([]byte, 333)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    io.Reader
		want []byte
	}{
		{"whole file section", io.NewSectionReader(src, 0, int64(len(data))), data},
		{"inner section", io.NewSectionReader(src, 4097, 100<<10), data[4097 : 4097+100<<10]},
		{"section partly read", partly, data[1333 : 1000+200<<10]},
		{"empty section", io.NewSectionReader(src, 10, 0), nil},
		{"plain reader", strings.NewReader("not a file"), []byte("not a file")},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("out/%d.parquet", i)
			up, err := l.Create(ctx, "b", key, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Something written before the copy stays in front of it.
			if _, err := up.Write([]byte("PAR1")); err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(up, tc.r)
			if err != nil || n != int64(len(tc.want)) {
				t.Fatalf("copied %d bytes, err %v; want %d", n, err, len(tc.want))
			}
			if err := up.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(l.Path("b", key))
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("PAR1"), tc.want...); string(got) != string(want) {
				t.Fatalf("object holds %d bytes, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
		})
	}
	// The source file's own offset is untouched: a spool written after a copy still appends.
	if off, _ := src.Seek(0, io.SeekCurrent); off != int64(len(data)) {
		t.Fatalf("source offset moved to %d, want %d", off, len(data))
	}
	outside()
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
