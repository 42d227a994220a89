package store

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// On Linux a plain object is opened in one openat2 call (when the kernel has it): the fast path
// settles it rather than falling back to os.Root's walk.
func TestOpenat2SettlesPlainFiles(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := rootFD(t, root)
	f, _ := openSettled(t, fd, root, "a/b/c")
	f.Close()
	if _, _, err, settled := openat2Beneath(fd, root, "a/../../x"); settled {
		t.Fatalf("a path above the root was settled by openat2: %v", err)
	}
}

// TestOpenat2RegularFile: a regular file opened by openat2 is read through its bare descriptor
// (fdFile), with the size, mode and modification time os.Stat gives, and refuses reads and a
// second close once closed.
func TestOpenat2RegularFile(t *testing.T) {
	root := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	p := filepath.Join(root, "obj")
	if err := os.WriteFile(p, body, 0o640); err != nil {
		t.Fatal(err)
	}
	fd := rootFD(t, root)
	f, st := openSettled(t, fd, root, "obj")
	if _, ok := f.(*fdFile); !ok {
		t.Fatalf("a regular file opened as %T", f)
	}
	want, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != want.Size() || st.Mode() != want.Mode() || !st.ModTime().Equal(want.ModTime()) || st.Name() != "obj" || st.IsDir() {
		t.Fatalf("stat %v %v %v %q, want %v %v %v", st.Size(), st.Mode(), st.ModTime(), st.Name(), want.Size(), want.Mode(), want.ModTime())
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(body))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

// rootFD opens root for openat2Beneath, closed when the test ends.
func rootFD(t *testing.T, root string) int {
	t.Helper()
	fd := openRootFD(root)
	if fd < 0 {
		t.Fatal("cannot open the root")
	}
	t.Cleanup(func() { closeRootFD(fd) })
	return fd
}

// openSettled opens name beneath root with openat2, skipping the test where openat2 is
// unavailable.
func openSettled(t *testing.T, fd int, root, name string) (readFile, fs.FileInfo) {
	t.Helper()
	f, st, err, settled := openat2Beneath(fd, root, name)
	if !settled {
		t.Skip("openat2 unavailable here (old kernel or seccomp): every open goes through os.Root")
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, st
}
