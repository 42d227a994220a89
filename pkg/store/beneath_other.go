//go:build !linux

package store

import (
	"io/fs"
	"os"
)

// Without openat2 every open goes through os.Root.
func openRootFD(string) int { return -1 }

func closeRootFD(int) {}

func openat2Beneath(int, string, string) (readFile, fs.FileInfo, error, bool) {
	return nil, nil, nil, false
}

// sameDir is never asked: without openat2 no descriptor is held.
func sameDir(int, string) bool { return false }

// copyRange never handles a copy: the caller copies through user space.
func copyRange(dst, src *os.File, off, n int64) (int64, bool, error) { return 0, false, nil }
