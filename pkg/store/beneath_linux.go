//go:build linux

package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
// A regular file comes back as an fdFile, anything else as regular (os.File's Stat) decides.
func openat2Beneath(rootfd int, root, name string) (f readFile, st fs.FileInfo, err error, settled bool) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(rootfd, name, &how)
		switch {
		case err == nil:
			// name is already clean (rel never yields "", "." or ".." segments): a concatenation
			// names the file without filepath.Join's pass over a long path.
			path := strings.TrimSuffix(root, "/") + "/" + name
			var s unix.Stat_t
			if unix.Fstat(fd, &s) == nil && s.Mode&unix.S_IFMT == unix.S_IFREG {
				return &fdFile{fd: fd, name: path}, statInfo(path, &s), nil, true
			}
			f, st, err := regular(os.NewFile(uintptr(fd), path), nil)
			return f, st, err, true
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return nil, nil, &fs.PathError{Op: "openat2", Path: name, Err: err}, true
		}
		return nil, nil, nil, false
	}
}

// fdFile reads a regular file through its bare descriptor. An *os.File around it cost two more
// system calls per object (an fcntl to see O_NONBLOCK, then an epoll_ctl that the kernel refuses
// for a regular file), and its allocations: ingest local reads thousands of small objects. The
// descriptor is closed by Close, which every caller of Local.open defers; mu keeps a Close from
// racing a Read into a descriptor number already reused.
type fdFile struct {
	mu   sync.Mutex
	fd   int // -1 once closed
	name string
}

func (f *fdFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrClosed}
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &fs.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

// fileStat is the fs.FileInfo of a regular file from its fstat, as os.File.Stat would give it.
type fileStat struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func statInfo(path string, s *unix.Stat_t) fs.FileInfo {
	mode := fs.FileMode(s.Mode & 0o777)
	if s.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if s.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if s.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return &fileStat{name: filepath.Base(path), size: s.Size, mode: mode, mod: time.Unix(s.Mtim.Sec, s.Mtim.Nsec)}
}

func (s *fileStat) Name() string       { return s.name }
func (s *fileStat) Size() int64        { return s.size }
func (s *fileStat) Mode() fs.FileMode  { return s.mode }
func (s *fileStat) ModTime() time.Time { return s.mod }
func (s *fileStat) IsDir() bool        { return false }
func (s *fileStat) Sys() any           { return nil }

// sameDir says the descriptor fd still names the directory at root: neither removed nor replaced
// since it was opened.
func sameDir(fd int, root string) bool {
	var held, now unix.Stat_t
	if unix.Fstat(fd, &held) != nil || unix.Stat(root, &now) != nil {
		return false
	}
	return held.Dev == now.Dev && held.Ino == now.Ino
}

// copyRange copies n bytes of src from offset off to dst's current offset with copy_file_range,
// without moving src's own offset. handled is false, and nothing copied, when the kernel cannot copy
// between the two files (no copy_file_range, different file systems on an old kernel, a file system
// that refuses it): the caller copies through user space instead.
func copyRange(dst, src *os.File, off, n int64) (done int64, handled bool, err error) {
	dc, err := dst.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	sc, err := src.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var cerr error
	ctlErr := sc.Control(func(sfd uintptr) {
		ctlErr := dc.Control(func(dfd uintptr) {
			for done < n {
				roff := off + done
				k, err := unix.CopyFileRange(int(sfd), &roff, int(dfd), nil, int(min(n-done, 1<<30)), 0)
				switch {
				case err == unix.EINTR:
					continue
				case err != nil && done == 0 && !handled:
					// ENOSYS, EXDEV, EINVAL, EOPNOTSUPP...: nothing copied yet; the caller falls back.
					return
				case err != nil:
					cerr = &fs.PathError{Op: "copy_file_range", Path: dst.Name(), Err: err}
					return
				case k == 0:
					cerr = io.ErrUnexpectedEOF
					return
				}
				handled = true
				done += int64(k)
			}
			handled = true
		})
		if ctlErr != nil {
			cerr = ctlErr
		}
	})
	if ctlErr != nil && cerr == nil {
		cerr = ctlErr
	}
	if !handled {
		return 0, false, nil
	}
	return done, true, cerr
}
