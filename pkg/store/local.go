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
	"path/filepath"
	"sort"
	"strings"

	"github.com/logarchive/logarchive/pkg/digest"
)

// Local is a Store over a directory that mirrors S3: <root>/<bucket>/<key>, with an object's user
// metadata in <key>.s3meta.json beside it (digest.MetadataSidecarSuffix). An empty bucket means the
// root itself. Like any directory mirror it cannot hold both "a/b" and "a/b/c"; S3 keys of the logs
// it mirrors never collide that way. Temporary files of unfinished writes start with ".tmp-" and are never listed.
type Local struct {
	root string
}

// NewLocal returns a Local store rooted at dir.
func NewLocal(dir string) *Local {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Local{root: filepath.Clean(dir)}
}

// Root is the directory the store mirrors.
func (l *Local) Root() string { return l.root }

const (
	sidecarSuffix = digest.MetadataSidecarSuffix
	tmpPrefix     = ".tmp-"
)

// Path returns the file that holds bucket/key.
func (l *Local) Path(bucket, key string) string {
	return filepath.Join(l.root, bucket, filepath.FromSlash(key))
}

func (l *Local) wrap(op, bucket, key string, err error) error {
	kind := KindOther
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = KindNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = KindAccessDenied
	case errors.Is(err, fs.ErrExist):
		kind = KindConflict
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Kind: kind, Err: err}
}

func (l *Local) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	f, err := os.Open(l.Path(bucket, key))
	if err != nil {
		return nil, Info{}, l.wrap("get", bucket, key, err)
	}
	info, err := l.info(f, bucket, key)
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	return f, info, nil
}

func (l *Local) Head(ctx context.Context, bucket, key string) (Info, error) {
	f, err := os.Open(l.Path(bucket, key))
	if err != nil {
		return Info{}, l.wrap("head", bucket, key, err)
	}
	defer f.Close()
	return l.info(f, bucket, key)
}

func (l *Local) info(f *os.File, bucket, key string) (Info, error) {
	st, err := f.Stat()
	if err != nil {
		return Info{}, l.wrap("stat", bucket, key, err)
	}
	if st.IsDir() {
		return Info{}, l.wrap("stat", bucket, key, fs.ErrNotExist)
	}
	meta, err := l.readMeta(bucket, key)
	if err != nil {
		return Info{}, err
	}
	return Info{Bucket: bucket, Key: key, Size: st.Size(), ETag: localETag(st), LastModified: st.ModTime().UTC(), Metadata: meta}, nil
}

// localETag stands in for S3's ETag: it changes whenever the file is rewritten, which is all the
// callers (idempotency ledgers) need, without reading the file.
func localETag(st fs.FileInfo) string {
	return fmt.Sprintf("%x-%x", st.Size(), st.ModTime().UnixNano())
}

func (l *Local) readMeta(bucket, key string) (map[string]string, error) {
	b, err := os.ReadFile(l.Path(bucket, key) + sidecarSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, l.wrap("read metadata", bucket, key, err)
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

func (l *Local) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Info) error) error {
	base := filepath.Join(l.root, bucket)
	// Walk only the deepest directory the prefix names; the rest of the prefix filters names.
	dir := base
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = filepath.Join(base, filepath.FromSlash(prefix[:i]))
	}
	var infos []Info
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := d.Name()
		if d.IsDir() || strings.HasPrefix(name, tmpPrefix) || strings.HasSuffix(name, sidecarSuffix) {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || key <= startAfter {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		infos = append(infos, Info{Bucket: bucket, Key: key, Size: st.Size(), ETag: localETag(st), LastModified: st.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return l.wrap("list", bucket, prefix, err)
	}
	// Directory walks order "a/b" before "a-c"; S3 lists in plain byte order, and callers rely on it.
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	for _, in := range infos {
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
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

func (l *Local) Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, &Error{Op: "create", Bucket: bucket, Key: key, Err: errors.New("invalid key")}
	}
	final := l.Path(bucket, key)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, l.wrap("create", bucket, key, err)
	}
	f, err := createTemp(filepath.Dir(final))
	if err != nil {
		return nil, l.wrap("create", bucket, key, err)
	}
	return &localUpload{l: l, bucket: bucket, key: key, final: final, f: f, meta: meta}, nil
}

func (l *Local) Delete(ctx context.Context, bucket, key string) error {
	p := l.Path(bucket, key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.wrap("delete", bucket, key, err)
	}
	if err := os.Remove(p + sidecarSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.wrap("delete", bucket, key, err)
	}
	return nil
}

type localUpload struct {
	l           *Local
	bucket, key string
	final       string
	f           *os.File
	meta        map[string]string
	exclusive   bool
	done        bool
}

func (u *localUpload) Write(p []byte) (int, error) { return u.f.Write(p) }

// Commit makes the object durable (fsync) and visible (rename). The metadata sidecar is renamed into
// place first, so a visible object never lacks its metadata.
func (u *localUpload) Commit() error {
	if u.done {
		return errors.New("upload already finished")
	}
	u.done = true
	tmp := u.f.Name()
	if err := u.f.Sync(); err != nil {
		u.f.Close()
		os.Remove(tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	if err := u.f.Close(); err != nil {
		os.Remove(tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	if u.exclusive {
		// A hard link fails if the target exists, which makes create-if-absent atomic.
		if err := os.Link(tmp, u.final); err != nil {
			os.Remove(tmp)
			return u.l.wrap("put", u.bucket, u.key, err)
		}
		os.Remove(tmp)
		return u.writeMeta()
	}
	if err := u.writeMeta(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, u.final); err != nil {
		os.Remove(tmp)
		return u.l.wrap("put", u.bucket, u.key, err)
	}
	return syncDir(filepath.Dir(u.final))
}

func (u *localUpload) writeMeta() error {
	side := u.final + sidecarSuffix
	if len(u.meta) == 0 {
		if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return u.l.wrap("put metadata", u.bucket, u.key, err)
		}
		return nil
	}
	b, err := json.Marshal(u.meta)
	if err != nil {
		return &Error{Op: "put metadata", Bucket: u.bucket, Key: u.key, Err: err}
	}
	f, err := createTemp(filepath.Dir(u.final))
	if err != nil {
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	_, werr := io.Copy(f, bytes.NewReader(b))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	if err := os.Rename(f.Name(), side); err != nil {
		os.Remove(f.Name())
		return u.l.wrap("put metadata", u.bucket, u.key, err)
	}
	return nil
}

func (u *localUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	u.f.Close()
	return os.Remove(u.f.Name())
}

// createTemp is os.CreateTemp with the mode of an ordinary new file (0666 less the umask, so 0644
// under the usual 022) instead of 0600: the files are tables and logs meant to be read by others.
func createTemp(dir string) (*os.File, error) {
	for try := 0; ; try++ {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(filepath.Join(dir, tmpPrefix+hex.EncodeToString(b[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		return f, err
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some filesystems refuse fsync on directories; durability of the rename is best effort there.
	_ = d.Sync()
	return nil
}
