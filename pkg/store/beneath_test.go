package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Both ways of opening a file (openat2 where the kernel has it, os.Root for the rest) give the same
// verdict on every kind of entry a hostile mirror can hold: same bytes, same metadata, same error
// kind.
func TestLocalOpenPathsAgree(t *testing.T) {
	l, outside := mirror(t)
	root := l.Root()
	b := filepath.Join(root, "b")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(b, "d", "e"), 0o755))
	must(os.WriteFile(filepath.Join(b, "d", "e", "obj"), []byte("deep"), 0o644))
	must(os.WriteFile(filepath.Join(b, "d", "e", "obj"+sidecarSuffix), []byte(`{"Signature":"abc"}`), 0o644))
	must(os.WriteFile(filepath.Join(b, "plain"), []byte("plain"), 0o644))
	must(os.WriteFile(filepath.Join(b, "bad"), []byte("bad"), 0o644))
	must(os.WriteFile(filepath.Join(b, "bad"+sidecarSuffix), []byte(`{not json`), 0o644))
	must(os.Symlink("plain", filepath.Join(b, "in")))
	must(os.Symlink("../b/plain", filepath.Join(b, "up-in")))
	must(os.Symlink("../../secret", filepath.Join(b, "rel-out")))
	must(os.Symlink(filepath.Join(filepath.Dir(root), "secret"), filepath.Join(b, "abs-out")))
	must(os.Symlink("d", filepath.Join(b, "dirlink")))
	must(os.Symlink("/", filepath.Join(b, "rootlink")))
	// Directories out of the root, to the one that holds the secret: a key through them must not
	// read it, whichever path opens it.
	must(os.Symlink("../..", filepath.Join(b, "updir")))
	must(os.Symlink(filepath.Dir(root), filepath.Join(b, "absdir")))
	must(os.Symlink("../b/d", filepath.Join(b, "up-in-dir")))
	must(os.Symlink("loop", filepath.Join(b, "loop")))
	must(syscall.Mkfifo(filepath.Join(b, "fifo"), 0o644))
	keys := []string{"d/e/obj", "plain", "bad", "in", "up-in", "rel-out", "abs-out", "dirlink/e/obj", "rootlink/etc/passwd",
		"updir/secret", "absdir/secret", "up-in-dir/e/obj", "d/e/../../../../secret", "loop", "fifo", "d", "d/e", "missing", "d/missing/x", "plain/x", "../secret", "d/../../secret"}

	verdict := func(l *Local, key string) string {
		rc, info, err := l.Get(context.Background(), "b", key)
		if err != nil {
			return fmt.Sprintf("error kind %s, not regular %v", KindOf(err), strings.Contains(err.Error(), errNotRegular.Error()))
		}
		defer rc.Close()
		body, err := io.ReadAll(rc)
		return fmt.Sprintf("%q %v size %d meta %v metaErr %v", body, err, info.Size, info.Metadata, info.MetadataErr != nil)
	}
	// GetBody: the same verdict on the object, no metadata whatever the sidecar holds.
	bodyVerdict := func(l *Local, key string, get func(context.Context, Store, string, string) (io.ReadCloser, Info, error)) string {
		rc, info, err := get(context.Background(), l, "b", key)
		if err != nil {
			return fmt.Sprintf("error kind %s, not regular %v", KindOf(err), strings.Contains(err.Error(), errNotRegular.Error()))
		}
		defer rc.Close()
		body, err := io.ReadAll(rc)
		return fmt.Sprintf("%q %v size %d", body, err, info.Size)
	}
	slow := NewLocal(root)
	slow.osRootOnly = true
	for _, k := range keys {
		fast, want := verdict(l, k), verdict(slow, k)
		if fast != want {
			t.Errorf("%s: openat2 path %s, os.Root path %s", k, fast, want)
		}
		get := func(ctx context.Context, s Store, bucket, key string) (io.ReadCloser, Info, error) {
			return s.Get(ctx, bucket, key)
		}
		if body, want := bodyVerdict(l, k, GetBody), bodyVerdict(slow, k, get); body != want {
			t.Errorf("%s: GetBody %s, Get on the os.Root path %s", k, body, want)
		}
		if rc, info, err := GetBody(context.Background(), l, "b", k); err == nil {
			rc.Close()
			if info.Metadata != nil || info.MetadataErr != nil {
				t.Errorf("%s: GetBody read metadata %v %v", k, info.Metadata, info.MetadataErr)
			}
		}
		if strings.Contains(fast, "outside") {
			t.Errorf("%s read the file outside the root: %s", k, fast)
		}
	}
	for _, k := range []string{"d/e/obj", "dirlink/e/obj", "up-in-dir/e/obj"} {
		if got := verdict(l, k); got != `"deep" <nil> size 4 meta map[signature:abc] metaErr false` {
			t.Errorf("%s: %s", k, got)
		}
	}
	// Refused: a ".." segment is a name, not a step up (not found); a link out is an escape (os.Root's
	// error, kind other).
	for _, k := range []string{"updir/secret", "absdir/secret", "rootlink/etc/passwd", "d/e/../../../../secret"} {
		if got := verdict(l, k); !strings.HasPrefix(got, "error kind") {
			t.Errorf("%s: %s, want a refusal", k, got)
		}
	}
	outside()
}

// BenchmarkLocalGet opens and reads a small object under a CloudTrail-deep key, as ingest local
// does per object: the openat2 path against the os.Root walk (baseline, same run), and GetBody, which
// ingest uses (no sidecar lookup).
func BenchmarkLocalGet(b *testing.B) {
	const key = "AWSLogs/o-abc1234567/111122223333/CloudTrail/eu-west-1/2026/03/02/111122223333_CloudTrail_eu-west-1_20260302T1059Z_abc.json.gz"
	root := b.TempDir()
	l := NewLocal(root)
	body := make([]byte, 6<<10)
	if err := l.Put(context.Background(), "bucket", key, body, nil); err != nil {
		b.Fatal(err)
	}
	slow := NewLocal(root)
	slow.osRootOnly = true
	get := func(ctx context.Context, s Store, bucket, key string) (io.ReadCloser, Info, error) {
		return s.Get(ctx, bucket, key)
	}
	for _, c := range []struct {
		name string
		l    *Local
		get  func(context.Context, Store, string, string) (io.ReadCloser, Info, error)
	}{{"openat2", l, get}, {"os.Root", slow, get}, {"openat2 GetBody", l, GetBody}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rc, _, err := c.get(context.Background(), c.l, "bucket", key)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}
