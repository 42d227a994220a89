package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveStaleTemp(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l := NewLocal(root)
	if err := l.Put(ctx, "", "out/tables/cloudtrail/dt=2026-03-02/a.parquet", []byte("rows"), nil); err != nil {
		t.Fatal(err)
	}
	// A killed writer's temp file, and a live one's.
	dir := filepath.Join(root, "out", "tables", "cloudtrail", "dt=2026-03-02")
	dead, live := filepath.Join(dir, ".tmp-dead"), filepath.Join(dir, ".tmp-live")
	for _, p := range []string{dead, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(dead, old, old)
	n, err := l.RemoveStaleTemp(ctx, "", "out/tables/", StaleTempAge)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("dead temp file kept")
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("live temp file removed")
	}
	if _, _, err := l.Get(ctx, "", "out/tables/cloudtrail/dt=2026-03-02/a.parquet"); err != nil {
		t.Fatal("object removed")
	}
}
