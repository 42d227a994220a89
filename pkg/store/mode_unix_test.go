//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLocalFileModesFollowUmask: written objects and their directories get the modes of ordinary
// files (0666/0777 less the umask), so a lake written under umask 022 is readable by other users.
func TestLocalFileModesFollowUmask(t *testing.T) {
	for _, tc := range []struct {
		umask          int
		file, dirPerms os.FileMode
	}{{0o022, 0o644, 0o755}, {0o077, 0o600, 0o700}} {
		old := syscall.Umask(tc.umask)
		root := t.TempDir()
		l := NewLocal(root)
		ctx := context.Background()
		err := l.Put(ctx, "b", "t/dt=2026-01-01/f.parquet", []byte("x"), map[string]string{"k": "v"})
		created, err2 := l.PutIfAbsent(ctx, "b", "ledger/x", []byte("y"), nil)
		syscall.Umask(old)
		if err != nil || err2 != nil || !created {
			t.Fatal(err, err2, created)
		}
		for _, p := range []string{"b/t/dt=2026-01-01/f.parquet", "b/t/dt=2026-01-01/f.parquet" + sidecarSuffix, "b/ledger/x"} {
			st, err := os.Stat(filepath.Join(root, p))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tc.file {
				t.Errorf("umask %03o: %s has mode %v, want %v", tc.umask, p, st.Mode().Perm(), tc.file)
			}
		}
		st, err := os.Stat(filepath.Join(root, "b/t/dt=2026-01-01"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tc.dirPerms {
			t.Errorf("umask %03o: directory mode %v, want %v", tc.umask, st.Mode().Perm(), tc.dirPerms)
		}
	}
}
