//go:build !linux

package store

import "io/fs"

// Without openat2 every open goes through os.Root.
func openRootFD(string) int { return -1 }

func closeRootFD(int) {}

func openat2Beneath(int, string, string) (readFile, fs.FileInfo, error, bool) {
	return nil, nil, nil, false
}

// sameDir is never asked: without openat2 no descriptor is held.
func sameDir(int, string) bool { return false }
