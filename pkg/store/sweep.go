package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleTempAge is how long a temp file must have gone unwritten before RemoveStaleTemp takes it for
// the leftover of a killed writer: a live upload writes to its temp file continuously, so a quarter
// of an hour without a write means nobody will commit it.
const StaleTempAge = 15 * time.Minute

// RemoveStaleTemp deletes the temp files of unfinished writes (".tmp-…", never listed, never
// visible as objects) under bucket/prefix that were last written more than olderThan ago: what a
// writer killed between Create and Commit leaves behind. It returns how many it removed.
func (l *Local) RemoveStaleTemp(ctx context.Context, bucket, prefix string, olderThan time.Duration) (int, error) {
	dir := filepath.Join(l.root, filepath.FromSlash(bucket))
	if p := strings.Trim(prefix, "/"); p != "" {
		// The prefix is ours (a --dest path), not a key: its segments are plain.
		dir = filepath.Join(dir, filepath.FromSlash(p))
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() || !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err == nil {
			n++
		}
		return nil
	})
	return n, err
}
