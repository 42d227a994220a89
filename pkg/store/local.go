package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/logarchive/logarchive/pkg/digest"
)

// Local is a Store over a directory that mirrors S3: <root>/<bucket>/<key>, with an object's user
// metadata in <key>.s3meta.json beside it (digest.MetadataSidecarSuffix). An empty bucket means the
// root itself. Like any directory mirror it cannot hold both "a/b" and "a/b/c"; S3 keys of the logs
// it mirrors never collide that way. Temporary files of unfinished writes start with ".tmp-" and are
// never dirEntry.
//
// Promises: bucket names and keys are data, never paths. Every file Local touches is beneath the root
// whatever a key holds ("..", "/etc/passwd", NUL, a 2 KB segment): the path is resolved through an
// os.Root, so neither a key nor a symbolic link inside the mirror can lead outside it. A key segment
// that a directory cannot hold verbatim ("", ".", "..", a NUL byte, a leading "%" or ".tmp-", a
// trailing ".s3meta.json") is stored under an escaped name (EncodeSegment) and dirEntry back under its
// real key; a key no directory can hold (over 1024 bytes, a segment over 255 bytes once escaped) is
// never found by reads and refused by writes. Only regular files are read: a FIFO, device or socket
// is refused without being waited on, and an object's reader returns at most the size the file had
// when opened and stops when its context is cancelled.
type Local struct {
	root string
	// single, when set, makes the root itself the mirror of that one bucket (DIR/AWSLogs/…, what
	// `aws s3 sync s3://B DIR` produces); other buckets then hold nothing.
	single string
	// osRootOnly turns the openat2 fast path off (tests compare both paths).
	osRootOnly bool
	// held is the root's descriptor for openat2, kept between reads (see heldRoot).
	held *heldRoot
}

// NewLocalBucket returns a Local store whose root mirrors the single bucket named bucket: the
// object bucket/key is the file DIR/key. Other buckets hold nothing (reads find nothing, writes
// fail).
func NewLocalBucket(dir, bucket string) *Local {
	l := NewLocal(dir)
	l.single = bucket
	return l
}

// errOtherBucket is the error for a bucket a single-bucket mirror does not hold.
var errOtherBucket = fmt.Errorf("%w: the mirror holds one bucket only", ErrInvalidKey)

// rel maps bucket for a single-bucket mirror, then returns the file name of bucket/key.
func (l *Local) rel(bucket, key string) (string, error) {
	if l.single != "" {
		if bucket != l.single {
			return "", errOtherBucket
		}
		bucket = ""
	}
	return rel(bucket, key)
}

func (l *Local) dirRel(bucket, dir string) (string, bool) {
	if l.single != "" {
		if bucket != l.single {
			return "", false
		}
		bucket = ""
	}
	return dirRel(bucket, dir)
}

// NewLocal returns a Local store rooted at dir. The directory need not exist yet: reads then find
// nothing and the first write creates it.
func NewLocal(dir string) *Local {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	l := &Local{root: filepath.Clean(dir), held: &heldRoot{fd: -1}}
	// A store nobody closes (Store has no Close) still gives its descriptor back once unreachable.
	runtime.AddCleanup(l, (*heldRoot).close, l.held)
	return l
}

// Close gives back the root directory's descriptor that reads keep open. The store stays usable:
// later reads open and close the root around each operation, as before the first read.
func (l *Local) Close() error {
	l.held.close()
	return nil
}

// Root is the directory the store mirrors.
func (l *Local) Root() string { return l.root }

const (
	sidecarSuffix = digest.MetadataSidecarSuffix
	tmpPrefix     = ".tmp-"

	// maxKeyLen is S3's limit on a key's UTF-8 length.
	maxKeyLen = 1024
	// maxNameLen is the longest file name Linux file systems hold (NAME_MAX).
	maxNameLen = 255
	// maxSidecar bounds a metadata sidecar: S3 user metadata is at most 2 KB; JSON escaping of
	// hostile values can multiply that, never by more than 6.
	maxSidecar = 16 << 10
	// escapeMark starts the file name of an escaped key segment.
	escapeMark = "%"
)

// Path returns the file that holds bucket/key, or "" for a key no mirror can hold. It is for
// diagnostics and tests: opening it directly would follow symbolic links out of the root, which the
// Store methods refuse.
func (l *Local) Path(bucket, key string) string {
	name, err := l.rel(bucket, key)
	if err != nil {
		return ""
	}
	return filepath.Join(l.root, filepath.FromSlash(name))
}

// ErrInvalidKey says a bucket or key cannot be held by a directory mirror (see Local).
var ErrInvalidKey = errors.New("key cannot be held by a local mirror")

// EncodeSegment returns the file name that holds one "/"-separated segment of a key (or a bucket
// name). Segments a directory holds verbatim are returned unchanged; the others become "%" followed by
// the segment with every byte outside [A-Za-z0-9_-] percent-encoded.
func EncodeSegment(seg string) string {
	if !needsEscape(seg) {
		return seg
	}
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString(escapeMark)
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if isPlain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// DecodeSegment is the inverse of EncodeSegment; ok is false for a file name EncodeSegment never
// produces (a name starting with "%" that is not a canonical escape), which Local does not list.
func DecodeSegment(name string) (seg string, ok bool) {
	if !strings.HasPrefix(name, escapeMark) {
		return name, !needsEscape(name)
	}
	s := name[len(escapeMark):]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+3 > len(s) {
			return "", false
		}
		v, err := hex.DecodeString(s[i+1 : i+3])
		if err != nil {
			return "", false
		}
		b.WriteByte(v[0])
		i += 2
	}
	seg = b.String()
	return seg, EncodeSegment(seg) == name
}

func isPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func needsEscape(seg string) bool {
	return seg == "" || seg == "." || seg == ".." || strings.IndexByte(seg, 0) >= 0 ||
		strings.IndexByte(seg, '/') >= 0 || strings.HasPrefix(seg, escapeMark) ||
		strings.HasPrefix(seg, tmpPrefix) || strings.HasSuffix(seg, sidecarSuffix)
}

// rel returns the root-relative, slash-separated file name of bucket/key.
func rel(bucket, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return "", fmt.Errorf("%w: key is %d bytes, over S3's %d", ErrInvalidKey, len(key), maxKeyLen)
	}
	if verbatim(bucket) && verbatim(key) {
		// The common case (every AWS log key): no segment to escape, no allocation but the join.
		if bucket == "" {
			return key, nil
		}
		return bucket + "/" + key, nil
	}
	return relEscaped(bucket, key)
}

// relEscaped is rel segment by segment, escaping what needs it.
func relEscaped(bucket, key string) (string, error) {
	parts := strings.Split(key, "/")
	if bucket != "" {
		parts = append([]string{bucket}, parts...)
	}
	for i, p := range parts {
		e := EncodeSegment(p)
		if len(e) > maxNameLen {
			return "", fmt.Errorf("%w: a segment is %d bytes as a file name, over %d", ErrInvalidKey, len(e), maxNameLen)
		}
		parts[i] = e
	}
	return strings.Join(parts, "/"), nil
}

// verbatim says every "/"-separated segment of s is its own file name (EncodeSegment leaves it
// unchanged) and fits in one; "" is verbatim (no bucket).
func verbatim(s string) bool {
	for s != "" {
		seg := s
		if i := strings.IndexByte(s, '/'); i >= 0 {
			seg, s = s[:i], s[i+1:]
			if s == "" {
				return false // a trailing "/": an empty last segment
			}
		} else {
			s = ""
		}
		if len(seg) > maxNameLen || needsEscape(seg) {
			return false
		}
	}
	return true
}

// dirRel is rel for a bucket plus a directory part of a prefix ("" or ending in "/"); ok is false
// when no key under it can be held by the mirror.
func dirRel(bucket, dir string) (string, bool) {
	var parts []string
	if bucket != "" {
		parts = append(parts, bucket)
	}
	if dir != "" {
		parts = append(parts, strings.Split(strings.TrimSuffix(dir, "/"), "/")...)
	}
	if len(parts) == 0 {
		return ".", true
	}
	for i, p := range parts {
		e := EncodeSegment(p)
		if len(e) > maxNameLen {
			return "", false
		}
		parts[i] = e
	}
	return strings.Join(parts, "/"), true
}

// errNotRegular says a mirror entry is a FIFO, device, socket or directory, which Local never reads.
var errNotRegular = errors.New("not a regular file")

func (l *Local) wrap(op, bucket, key string, err error) error {
	kind := KindOther
	switch {
	case errors.Is(err, ErrInvalidKey), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR),
		errors.Is(err, syscall.ENAMETOOLONG):
		// S3 answers NoSuchKey for a key no mirror can hold, so reads say the same.
		kind = KindNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = KindAccessDenied
	case errors.Is(err, fs.ErrExist):
		kind = KindConflict
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Kind: kind, Err: err}
}

func (l *Local) openRoot() (*os.Root, error) { return os.OpenRoot(l.root) }

// openRegular opens name beneath r for reading, refusing anything but a regular file. O_NONBLOCK
// keeps the open of a FIFO from waiting for a writer; it changes nothing for regular files.
func openRegular(r *os.Root, name string) (readFile, fs.FileInfo, error) {
	return regular(r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0))
}

// readFile is a file opened for reading: an *os.File, or on Linux a bare descriptor (fdFile).
type readFile interface {
	io.Reader
	io.Closer
}

// regular checks that a file just opened is a regular file, closing it otherwise.
func regular(f *os.File, err error) (readFile, fs.FileInfo, error) {
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%w (%s)", errNotRegular, st.Mode().Type())
	}
	return f, st, nil
}

// beneath opens files beneath the root for one operation. Where the kernel can confine a whole
// path in one system call (openat2 with RESOLVE_BENEATH on Linux), it does, relative to the root's
// descriptor the store holds (heldRoot); anything that call does not settle (no openat2, a step the
// kernel refuses, an error other than a missing file) is decided by os.Root, which opens every
// directory on the way: two system calls per key segment, about forty for a CloudTrail key.
type beneath struct {
	root string
	fd   int       // the root's descriptor for openat2, or -1
	held *heldRoot // fd is held's (read-locked until close); nil: fd is this operation's own
	slow *os.Root  // opened on first use
}

func (l *Local) beneath() beneath {
	if l.osRootOnly {
		return beneath{root: l.root, fd: -1}
	}
	if fd, ok := l.held.acquire(l.root); ok {
		return beneath{root: l.root, fd: fd, held: l.held}
	}
	// The root is missing (reads find nothing) or the store is closed: one descriptor for this
	// operation.
	return beneath{root: l.root, fd: openRootFD(l.root)}
}

// openRegular is openRegular for a root-relative, slash-separated name.
func (b *beneath) openRegular(name string) (readFile, fs.FileInfo, error) {
	if b.fd >= 0 {
		f, st, err, settled := openat2Beneath(b.fd, b.root, name)
		if settled {
			return f, st, err
		}
	}
	if b.slow == nil {
		r, err := os.OpenRoot(b.root)
		if err != nil {
			return nil, nil, err
		}
		b.slow = r
	}
	return openRegular(b.slow, name)
}

func (b *beneath) close() {
	if b.held != nil {
		b.held.release()
	} else {
		closeRootFD(b.fd)
	}
	if b.slow != nil {
		b.slow.Close()
	}
}

// heldRoot is the root directory's O_PATH descriptor, opened by the first read that finds the root
// and kept until Close, so that a read costs one openat2 instead of an open and a close of the root
// around it (ingest local reads thousands of small objects). Readers hold mu shared while they use
// fd: Close never closes it under an openat2, which would otherwise resolve the key against
// whatever the reused descriptor number names next. A held descriptor keeps naming the directory
// it was opened on; a miss through it is therefore checked against the root path (removed or
// replaced since: the descriptor is dropped and the read retried), so reads see what a fresh open
// of the root would.
type heldRoot struct {
	mu     sync.RWMutex
	fd     int // -1: not open
	closed bool
}

// acquire returns the held descriptor, opening it if needed, with mu read-locked (release
// unlocks); ok is false, and nothing locked, when there is none: the root is missing or the store
// closed.
func (h *heldRoot) acquire(root string) (fd int, ok bool) {
	h.mu.RLock()
	if h.fd >= 0 {
		return h.fd, true
	}
	h.mu.RUnlock()
	h.mu.Lock()
	if h.fd < 0 && !h.closed {
		h.fd = openRootFD(root)
	}
	h.mu.Unlock()
	h.mu.RLock()
	if h.fd >= 0 {
		return h.fd, true
	}
	h.mu.RUnlock()
	return -1, false
}

func (h *heldRoot) release() { h.mu.RUnlock() }

// drop closes fd if it is still the held descriptor; the next acquire opens the root afresh.
func (h *heldRoot) drop(fd int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fd == fd && fd >= 0 {
		closeRootFD(fd)
		h.fd = -1
	}
}

func (h *heldRoot) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	closeRootFD(h.fd)
	h.fd = -1
}

// open opens bucket/key, with its metadata sidecar when withMeta.
func (l *Local) open(op, bucket, key string, withMeta bool) (readFile, Info, error) {
	name, err := l.rel(bucket, key)
	if err != nil {
		return nil, Info{}, l.wrap(op, bucket, key, err)
	}
	b := l.beneath()
	f, st, err := b.openRegular(name)
	if err != nil && b.held != nil && missing(err) && !sameDir(b.fd, l.root) {
		// The held descriptor names a directory that is no longer the root: ask the root itself.
		fd := b.fd
		b.close()
		l.held.drop(fd)
		b = l.beneath()
		f, st, err = b.openRegular(name)
	}
	defer b.close()
	if err != nil {
		return nil, Info{}, l.wrap(op, bucket, key, err)
	}
	info := Info{Bucket: bucket, Key: key, Size: st.Size(), ETag: localETag(st), LastModified: st.ModTime().UTC()}
	if withMeta {
		// A broken sidecar does not make the object unreadable; the caller decides what missing
		// metadata means. The sidecar is looked up through the same descriptor as its object.
		info.Metadata, info.MetadataErr = l.readMeta(&b, name, bucket, key)
	}
	return f, info, nil
}

// missing says err is a lookup that found nothing (what a stale held root would answer).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (l *Local) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	return l.get(ctx, bucket, key, true)
}

// getBody is Get without the metadata sidecar (GetBody): one file opened per object, not two.
func (l *Local) getBody(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	return l.get(ctx, bucket, key, false)
}

func (l *Local) get(ctx context.Context, bucket, key string, withMeta bool) (io.ReadCloser, Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, Info{}, &Error{Op: "get", Bucket: bucket, Key: key, Kind: KindTransient, Err: err}
	}
	f, info, err := l.open("get", bucket, key, withMeta)
	if err != nil {
		return nil, Info{}, err
	}
	return &localReader{ctx: ctx, f: f, r: io.LimitReader(f, info.Size)}, info, nil
}

// localReader reads an object as it was when opened (a file growing meanwhile is cut at its size
// then, as an S3 GET is) and stops at the first Read after its context is cancelled.
type localReader struct {
	ctx context.Context
	f   readFile
	r   io.Reader
}

func (r *localReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *localReader) Close() error { return r.f.Close() }

func (l *Local) Head(ctx context.Context, bucket, key string) (Info, error) {
	f, info, err := l.open("head", bucket, key, true)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

// localETag stands in for S3's ETag: it changes whenever the file is rewritten, which is all the
// callers (idempotency ledgers) need, without reading the file.
func localETag(st fs.FileInfo) string {
	// fmt's "%x-%x", without its reflection: it runs once per object read or listed.
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, st.Size(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, st.ModTime().UnixNano(), 16)
	return string(b)
}

func (l *Local) readMeta(dir *beneath, name, bucket, key string) (map[string]string, error) {
	f, _, err := dir.openRegular(name + sidecarSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Op: "read metadata", Bucket: bucket, Key: key, Err: fmt.Errorf("sidecar %s: %w", sidecarSuffix, err)}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return nil, l.wrap("read metadata", bucket, key, err)
	}
	if len(b) > maxSidecar {
		return nil, &Error{Op: "read metadata", Bucket: bucket, Key: key, Err: fmt.Errorf("sidecar %s is over %d bytes", sidecarSuffix, maxSidecar)}
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &Error{Op: "read metadata", Bucket: bucket, Key: key, Err: fmt.Errorf("sidecar %s: %w", sidecarSuffix, err)}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

// List walks only the directories that can hold keys after startAfter under prefix, one directory
// at a time in key order, so memory is bounded by the largest directory, not the mirror. Entries
// that are not directories are dirEntry whatever their type, so that a FIFO or a symbolic link out of
// the mirror is reported by the Get that refuses it rather than silently skipped; symbolic links to
// directories are not followed.
func (l *Local) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Info) error) error {
	return l.list(ctx, bucket, prefix, startAfter, func(e dirEntry) error { return fn(e.Info) })
}

// dirEntry is one entry of a listing with what the listing learnt of it anyway.
type dirEntry struct {
	Info
	// Mode is the entry's type and permissions (not following a symbolic link); StatErr, when set,
	// says why they are unknown (Info then has no size or time).
	Mode    fs.FileMode
	StatErr error
}

// list is List with each entry's type, so that a caller that reads only regular files (LocalSource)
// needs no second stat per file.
func (l *Local) list(ctx context.Context, bucket, prefix, startAfter string, fn func(dirEntry) error) error {
	r, err := l.openRoot()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return l.wrap("list", bucket, prefix, err)
	}
	defer r.Close()
	keyDir := prefix[:strings.LastIndexByte(prefix, '/')+1]
	dir, ok := l.dirRel(bucket, keyDir)
	if !ok {
		return nil
	}
	w := &walker{ctx: ctx, r: r, bucket: bucket, prefix: prefix, startAfter: startAfter, fn: fn}
	err = w.walk(nil, dir, keyDir, true)
	var se *Error
	if err != nil && !errors.As(err, &se) && !errors.Is(err, errStop) {
		return l.wrap("list", bucket, prefix, err)
	}
	if errors.Is(err, errStop) {
		return w.stopErr
	}
	return err
}

var errStop = errors.New("listing stopped by its callback")

type walker struct {
	ctx                context.Context
	r                  *os.Root
	bucket             string
	prefix, startAfter string
	fn                 func(dirEntry) error
	stopErr            error
}

type listEntry struct {
	key  string // the key, or the key prefix ending in "/" for a directory
	name string // file name
	dir  bool
	ent  fs.DirEntry
}

// walk lists the directory dir (root-relative) whose keys start with keyDir. parent is the
// directory above it, opened as a root of its own, so that each entry costs one stat relative to
// its directory rather than a walk down from the mirror's root (two system calls per segment).
// Confinement is unchanged: parent was itself opened beneath the root, without following links.
func (w *walker) walk(parent *os.Root, dir, keyDir string, top bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	var d *os.Root
	var err error
	if parent == nil {
		d, err = w.r.OpenRoot(dir)
	} else {
		d, err = parent.OpenRoot(path.Base(dir))
	}
	if err != nil {
		if top && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
			return nil
		}
		return err
	}
	defer d.Close()
	f, err := d.Open(".")
	if err != nil {
		return err
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	list := make([]listEntry, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) || strings.HasSuffix(name, sidecarSuffix) {
			continue
		}
		seg, ok := DecodeSegment(name)
		if !ok {
			continue
		}
		le := listEntry{key: keyDir + seg, name: name, dir: e.IsDir(), ent: e}
		if e.Type()&fs.ModeSymlink != 0 {
			// Resolved beneath the mirror's root (not just this directory): a link out of it fails
			// here and is dirEntry as a file.
			if st, err := w.r.Stat(path.Join(dir, name)); err == nil && st.IsDir() {
				continue
			}
		}
		if le.dir {
			le.key += "/"
		}
		list = append(list, le)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].key < list[j].key })
	for _, le := range list {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if le.dir {
			if !strings.HasPrefix(le.key, w.prefix) && !strings.HasPrefix(w.prefix, le.key) {
				continue
			}
			if w.startAfter >= le.key && !strings.HasPrefix(w.startAfter, le.key) {
				continue
			}
			if err := w.walk(d, path.Join(dir, le.name), le.key, false); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(le.key, w.prefix) || le.key <= w.startAfter {
			continue
		}
		e := dirEntry{Info: Info{Bucket: w.bucket, Key: le.key}}
		// A directory opened beneath an os.Root stats its entries as it reads them (relative to
		// its descriptor, not following links): Info costs nothing more.
		if st, err := le.ent.Info(); err == nil {
			e.Size, e.ETag, e.LastModified, e.Mode = st.Size(), localETag(st), st.ModTime().UTC(), st.Mode()
		} else if errors.Is(err, fs.ErrNotExist) {
			continue
		} else {
			e.StatErr = err
		}
		if err := w.fn(e); err != nil {
			w.stopErr = err
			return errStop
		}
	}
	return nil
}

// Folders returns the names of the "folders" directly under bucket/prefix (prefix "" or ending in
// "/"), like S3's CommonPrefixes with the "/" delimiter, in key order.
func (l *Local) Folders(ctx context.Context, bucket, prefix string) ([]string, error) {
	r, err := l.openRoot()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, l.wrap("list folders", bucket, prefix, err)
	}
	defer r.Close()
	dir, ok := l.dirRel(bucket, prefix)
	if !ok {
		return nil, nil
	}
	d, err := r.Open(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, l.wrap("list folders", bucket, prefix, err)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, l.wrap("list folders", bucket, prefix, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if seg, ok := DecodeSegment(e.Name()); ok {
			out = append(out, seg)
		}
	}
	sort.Strings(out)
	return out, ctx.Err()
}

func (l *Local) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	u, err := l.Create(ctx, bucket, key, meta)
	if err != nil {
		return err
	}
	if _, err := u.Write(body); err != nil {
		u.Abort()
		return err
	}
	return u.Commit()
}

func (l *Local) PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (bool, error) {
	u, err := l.Create(ctx, bucket, key, meta)
	if err != nil {
		return false, err
	}
	lu := u.(*localUpload)
	lu.exclusive = true
	if _, err := u.Write(body); err != nil {
		u.Abort()
		return false, err
	}
	if err := u.Commit(); err != nil {
		if KindOf(err) == KindConflict {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Create starts a write. Files are created 0666 and directories 0777, less the umask.
func (l *Local) Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error) {
	if strings.HasSuffix(key, "/") {
		return nil, &Error{Op: "create", Bucket: bucket, Key: key, Err: fmt.Errorf("%w: a key ending in / names a folder", ErrInvalidKey)}
	}
	name, err := l.rel(bucket, key)
	if err != nil {
		// A write must not look like a missing object: the key is refused.
		return nil, &Error{Op: "create", Bucket: bucket, Key: key, Err: err}
	}
	if err := os.MkdirAll(l.root, 0o777); err != nil {
		return nil, l.wrap("create", bucket, key, err)
	}
	r, err := l.openRoot()
	if err != nil {
		return nil, l.wrap("create", bucket, key, err)
	}
	dir := path.Dir(name)
	if err := r.MkdirAll(dir, 0o777); err != nil {
		r.Close()
		return nil, l.wrap("create", bucket, key, err)
	}
	tmp, f, err := createTemp(r, dir)
	if err != nil {
		r.Close()
		return nil, l.wrap("create", bucket, key, err)
	}
	return &localUpload{l: l, r: r, bucket: bucket, key: key, final: name, tmp: tmp, f: f, meta: meta}, nil
}

// createTemp creates a new file named .tmp-<random> in dir beneath r.
func createTemp(r *os.Root, dir string) (string, *os.File, error) {
	for i := 0; ; i++ {
		var b [8]byte
		rand.Read(b[:])
		name := path.Join(dir, tmpPrefix+hex.EncodeToString(b[:]))
		f, err := r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil || !errors.Is(err, fs.ErrExist) || i == 10 {
			return name, f, err
		}
	}
}

func (l *Local) Delete(ctx context.Context, bucket, key string) error {
	name, err := l.rel(bucket, key)
	if err != nil {
		return nil // no such object can exist
	}
	r, err := l.openRoot()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return l.wrap("delete", bucket, key, err)
	}
	defer r.Close()
	if err := r.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return l.wrap("delete", bucket, key, err)
	}
	if err := r.Remove(name + sidecarSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return l.wrap("delete", bucket, key, err)
	}
	return nil
}

type localUpload struct {
	l           *Local
	r           *os.Root
	bucket, key string
	final, tmp  string // root-relative names
	f           *os.File
	meta        map[string]string
	exclusive   bool
	done        bool
}

func (u *localUpload) Write(p []byte) (int, error) { return u.f.Write(p) }

// ReadFrom copies r into the file. A section of another file (a sink's spool on disk, read through
// io.SectionReader) is copied by the kernel (copyRange: copy_file_range on Linux), not through a
// 32 KiB buffer: one system call per 1 GiB instead of a pread and a write per 32 KiB, and no copy
// through user space. The last file of a run is written after its last object, on the run's serial
// tail.
func (u *localUpload) ReadFrom(r io.Reader) (int64, error) {
	if sr, ok := r.(*io.SectionReader); ok {
		if src, off, n := sr.Outer(); n >= 0 {
			if sf, ok := src.(*os.File); ok {
				pos, err := sr.Seek(0, io.SeekCurrent)
				if err != nil {
					return 0, err
				}
				done, handled, err := copyRange(u.f, sf, off+pos, n-pos)
				if handled {
					sr.Seek(done, io.SeekCurrent)
					return done, err
				}
			}
		}
	}
	// Not a file section, or the kernel cannot copy between these files: the plain copy, from
	// where r stands (copyRange copied nothing when it did not handle the copy).
	return io.Copy(writerOnly{u.f}, r)
}

// writerOnly hides *os.File's ReadFrom from io.Copy, which would otherwise call it again.
type writerOnly struct{ io.Writer }

// Commit makes the object durable (fsync) and visible (rename). The metadata sidecar is renamed into
// place first, so a visible object never lacks its metadata.
func (u *localUpload) Commit() error {
	if u.done {
		return errors.New("upload already finished")
	}
	u.done = true
	defer u.r.Close()
	if err := u.f.Sync(); err != nil {
		u.f.Close()
		u.r.Remove(u.tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	if err := u.f.Close(); err != nil {
		u.r.Remove(u.tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	if u.exclusive {
		// A hard link fails if the target exists, which makes create-if-absent atomic.
		if err := u.r.Link(u.tmp, u.final); err != nil {
			u.r.Remove(u.tmp)
			return u.l.wrap("put", u.bucket, u.key, err)
		}
		u.r.Remove(u.tmp)
		if err := u.writeMeta(); err != nil {
			return err
		}
		// The new name is durable only once its directory is: the ledger's commit record is a
		// create-if-absent, and a Seal that returned before the link reached the disk could, after
		// a power loss, find its transaction undecided and rolled back although its inputs were
		// acknowledged. Rename's path below already did this.
		syncDir(u.r, path.Dir(u.final))
		return nil
	}
	if err := u.writeMeta(); err != nil {
		u.r.Remove(u.tmp)
		return err
	}
	if err := u.r.Rename(u.tmp, u.final); err != nil {
		u.r.Remove(u.tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	syncDir(u.r, path.Dir(u.final))
	return nil
}

func (u *localUpload) writeMeta() error {
	side := u.final + sidecarSuffix
	if len(u.meta) == 0 {
		if err := u.r.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return u.l.wrap("put metadata", u.bucket, u.key, err)
		}
		return nil
	}
	b, err := json.Marshal(u.meta)
	if err != nil {
		return &Error{Op: "put metadata", Bucket: u.bucket, Key: u.key, Err: err}
	}
	tmp, f, err := createTemp(u.r, path.Dir(u.final))
	if err != nil {
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	_, werr := io.Copy(f, bytes.NewReader(b))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		u.r.Remove(tmp)
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	if err := u.r.Rename(tmp, side); err != nil {
		u.r.Remove(tmp)
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	return nil
}

func (u *localUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	defer u.r.Close()
	u.f.Close()
	return u.r.Remove(u.tmp)
}

func syncDir(r *os.Root, dir string) {
	d, err := r.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	// Some filesystems refuse fsync on directories; durability of the rename is best effort there.
	_ = d.Sync()
}
