//go:build linux

package store

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// openRootFD opens the root as an O_PATH descriptor for openat2, or returns -1 (the root is missing:
// os.Root then reports it).
func openRootFD(root string) int {
	for {
		fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1
		}
		return fd
	}
}

func closeRootFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// openat2Beneath opens name beneath the root descriptor in one system call. RESOLVE_BENEATH makes
// the kernel refuse any resolution step that leaves the root (a ".." above it, an absolute or
// escaping symbolic link) and RESOLVE_NO_MAGICLINKS the /proc links; O_NONBLOCK keeps a FIFO from
// blocking the open. settled is false when os.Root must decide instead: openat2 missing (ENOSYS,
// or EPERM under a seccomp filter), a step refused (EXDEV), a link loop or anything unexpected.
// A missing file or a file where a directory should be is settled: os.Root would say the same.
func openat2Beneath(rootfd int, root, name string) (f *os.File, err error, settled bool) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(rootfd, name, &how)
		switch {
		case err == nil:
			// name is already clean (rel never yields "", "." or ".." segments): a concatenation
			// names the file without filepath.Join's pass over a long path.
			return os.NewFile(uintptr(fd), strings.TrimSuffix(root, "/")+"/"+name), nil, true
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return nil, &fs.PathError{Op: "openat2", Path: name, Err: err}, true
		}
		return nil, nil, false
	}
}

// sameDir says the descriptor fd still names the directory at root: neither removed nor replaced
// since it was opened.
func sameDir(fd int, root string) bool {
	var held, now unix.Stat_t
	if unix.Fstat(fd, &held) != nil || unix.Stat(root, &now) != nil {
		return false
	}
	return held.Dev == now.Dev && held.Ino == now.Ino
}
