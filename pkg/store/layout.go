package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Layout is how a local path holds objects of the Log Archive bucket(s).
type Layout string

const (
	// LayoutBuckets: DIR/<bucket>/<key>, one directory per bucket (what bench/synth writes).
	LayoutBuckets Layout = "buckets"
	// LayoutBucketMirror: DIR/<key>, one bucket, as `aws s3 sync s3://BUCKET DIR` leaves it
	// (DIR/AWSLogs/… at the top).
	LayoutBucketMirror Layout = "bucket-mirror"
	// LayoutFile: one object on its own; its key is the path from an AWSLogs/ element on, else the
	// file's name.
	LayoutFile Layout = "file"
)

// ExpectedLayouts is what a user is told when a source matches none of them.
const ExpectedLayouts = `expected one of:
  DIR/AWSLogs/...            a bucket mirror, as 'aws s3 sync s3://BUCKET DIR' makes it
                             (bucket name: --bucket, else the directory's name)
  DIR/<bucket>/AWSLogs/...   one directory per bucket
  FILE                       a single log or digest file (.json.gz, .log.gz, .parquet, ...)`

// ErrUnrecognisedSource is returned (wrapped) for a source that holds nothing to read.
var ErrUnrecognisedSource = errors.New("no log objects found")

// LocalSource is a local path opened as S3 objects: a Store to read them and the list of what it
// holds. Only regular files are objects: symbolic links and other special files are never followed
// out of the source, they are counted in Skipped.
type LocalSource struct {
	Layout Layout
	// Root is the directory objects are read from: DIR, or for a single file the directory above its
	// AWSLogs/ element (else its parent).
	Root string
	// Buckets are the bucket names, sorted.
	Buckets []string
	// Store reads Buckets' objects (Get, Head, List). It is read-only.
	Store Store

	file  struct{ bucket, key string }
	local *Local // the store beneath Store, listed directly
	// dirs maps a bucket to its directory under Root ("" for a mirror: Root itself).
	dirs map[string]string
}

// OpenLocalSource recognises path's layout. bucket names the bucket of a bucket mirror or single file
// (default: the directory's name); with bucket set, a directory is always read as a bucket mirror.
func OpenLocalSource(path, bucket string) (*LocalSource, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if st.Mode().IsRegular() {
		return openFile(abs, bucket)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is neither a directory nor a regular file", path)
	}
	if fi, err := os.Stat(filepath.Join(abs, "AWSLogs")); bucket != "" || (err == nil && fi.IsDir()) {
		if bucket == "" {
			bucket = filepath.Base(abs)
		}
		return newMirror(LayoutBucketMirror, abs, bucket), nil
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, err
	}
	s := &LocalSource{Layout: LayoutBuckets, Root: abs, dirs: map[string]string{}}
	for _, e := range entries {
		// A symlinked directory is not a bucket of this source (e.IsDir is false for links).
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			s.Buckets = append(s.Buckets, e.Name())
			s.dirs[e.Name()] = e.Name()
		}
	}
	if len(s.Buckets) == 0 {
		return nil, fmt.Errorf("%s: %w (neither AWSLogs/ nor bucket directories in it)\n%s", path, ErrUnrecognisedSource, ExpectedLayouts)
	}
	sort.Strings(s.Buckets)
	s.local = NewLocal(abs)
	s.Store = readOnly{s.local}
	return s, nil
}

func newMirror(layout Layout, root, bucket string) *LocalSource {
	l := NewLocal(root)
	return &LocalSource{Layout: layout, Root: root, Buckets: []string{bucket}, dirs: map[string]string{bucket: ""},
		Store: bucketAlias{inner: l, bucket: bucket}, local: l}
}

func openFile(abs, bucket string) (*LocalSource, error) {
	root, key := filepath.Dir(abs), filepath.Base(abs)
	slash := filepath.ToSlash(abs)
	if i := strings.LastIndex(slash, "/AWSLogs/"); i >= 0 {
		root, key = filepath.FromSlash(slash[:i]), slash[i+1:]
		if root == "" {
			root = string(filepath.Separator)
		}
	}
	if bucket == "" {
		bucket = filepath.Base(root)
	}
	s := newMirror(LayoutFile, root, bucket)
	s.file.bucket, s.file.key = bucket, key
	return s, nil
}

// SkippedFile is a directory entry that is not an object: a symbolic link, a device, a socket.
type SkippedFile struct {
	Path   string
	Reason string
}

// List calls fn for every object of the source, bucket by bucket in key order, and returns the
// entries it would not read.
func (s *LocalSource) List(ctx context.Context, fn func(Info) error) ([]SkippedFile, error) {
	if s.Layout == LayoutFile {
		info, err := s.Store.Head(ctx, s.file.bucket, s.file.key)
		if err != nil {
			return nil, err
		}
		return nil, fn(info)
	}
	var skipped []SkippedFile
	for _, b := range s.Buckets {
		dir := filepath.Join(s.Root, s.dirs[b])
		// The listing's own stat says which entries are regular files: no second stat per object.
		err := s.local.list(ctx, s.localBucket(b), "", "", func(e dirEntry) error {
			if e.StatErr != nil {
				return e.StatErr
			}
			if !e.Mode.IsRegular() {
				p := filepath.Join(dir, filepath.FromSlash(e.Key))
				skipped = append(skipped, SkippedFile{Path: p, Reason: "not a regular file (" + e.Mode.Type().String() + ")"})
				return nil
			}
			e.Info.Bucket = b
			return fn(e.Info)
		})
		if s.Layout != LayoutBuckets {
			err = bucketAlias{bucket: b}.rename(err)
		}
		if err != nil {
			return skipped, fmt.Errorf("list bucket %s under %s: %w", b, dir, err)
		}
	}
	return skipped, nil
}

// localBucket is the bucket name the local store knows b by: "" for a mirror, whose root is the
// bucket itself.
func (s *LocalSource) localBucket(b string) string {
	if s.Layout == LayoutBuckets {
		return b
	}
	return ""
}

// Close gives back the descriptor the source's store keeps on its directory (Local.Close); reads
// still work after it, opening the directory each time.
func (s *LocalSource) Close() error {
	if s.local == nil {
		return nil
	}
	return s.local.Close()
}

var errReadOnly = errors.New("local source is read-only")

// readOnly is a Store whose writes fail: a source is never written to.
type readOnly struct{ Store }

func (r readOnly) getBody(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	return GetBody(ctx, r.Store, bucket, key)
}

func (readOnly) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	return &Error{Op: "put", Bucket: bucket, Key: key, Err: errReadOnly}
}
func (readOnly) PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (bool, error) {
	return false, &Error{Op: "put", Bucket: bucket, Key: key, Err: errReadOnly}
}
func (readOnly) Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error) {
	return nil, &Error{Op: "create", Bucket: bucket, Key: key, Err: errReadOnly}
}
func (readOnly) Delete(ctx context.Context, bucket, key string) error {
	return &Error{Op: "delete", Bucket: bucket, Key: key, Err: errReadOnly}
}

// bucketAlias reads one bucket from a directory that is the bucket itself (a Local store's root,
// its "" bucket), under the bucket's real name.
type bucketAlias struct {
	inner  *Local
	bucket string
}

func (a bucketAlias) check(op, bucket, key string) error {
	if bucket != a.bucket {
		return &Error{Op: op, Bucket: bucket, Key: key, Kind: KindNotFound, Err: fmt.Errorf("no bucket %q in this source (it holds %q)", bucket, a.bucket)}
	}
	return nil
}

func (a bucketAlias) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	return a.get(ctx, bucket, key, true)
}

func (a bucketAlias) getBody(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	return a.get(ctx, bucket, key, false)
}

func (a bucketAlias) get(ctx context.Context, bucket, key string, withMeta bool) (io.ReadCloser, Info, error) {
	if err := a.check("get", bucket, key); err != nil {
		return nil, Info{}, err
	}
	rc, info, err := a.inner.get(ctx, "", key, withMeta)
	info.Bucket = bucket
	return rc, info, a.rename(err)
}

func (a bucketAlias) Head(ctx context.Context, bucket, key string) (Info, error) {
	if err := a.check("head", bucket, key); err != nil {
		return Info{}, err
	}
	info, err := a.inner.Head(ctx, "", key)
	info.Bucket = bucket
	return info, a.rename(err)
}

func (a bucketAlias) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Info) error) error {
	if err := a.check("list", bucket, prefix); err != nil {
		return err
	}
	return a.rename(a.inner.List(ctx, "", prefix, startAfter, func(info Info) error {
		info.Bucket = bucket
		return fn(info)
	}))
}

// rename puts the bucket's name into errors from the inner store, which knows it as "".
func (a bucketAlias) rename(err error) error {
	var se *Error
	if errors.As(err, &se) && se.Bucket == "" {
		c := *se
		c.Bucket = a.bucket
		return &c
	}
	return err
}

func (a bucketAlias) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	return readOnly{}.Put(ctx, bucket, key, body, meta)
}
func (a bucketAlias) PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (bool, error) {
	return readOnly{}.PutIfAbsent(ctx, bucket, key, body, meta)
}
func (a bucketAlias) Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error) {
	return readOnly{}.Create(ctx, bucket, key, meta)
}
func (a bucketAlias) Delete(ctx context.Context, bucket, key string) error {
	return readOnly{}.Delete(ctx, bucket, key)
}
