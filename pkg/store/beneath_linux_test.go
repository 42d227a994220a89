package store

import (
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
	fd := openRootFD(root)
	if fd < 0 {
		t.Fatal("cannot open the root")
	}
	defer closeRootFD(fd)
	f, err, settled := openat2Beneath(fd, root, "a/b/c")
	if !settled {
		t.Skip("openat2 unavailable here (old kernel or seccomp): every open goes through os.Root")
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err, settled := openat2Beneath(fd, root, "a/../../x"); settled {
		t.Fatalf("a path above the root was settled by openat2: %v", err)
	}
}
