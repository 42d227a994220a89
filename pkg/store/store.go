// Package store is the object store logarchive reads from and writes to: Amazon S3, or a local
// directory that mirrors bucket/key (so everything runs offline with no AWS at all).
//
// It promises atomic writes (a reader never sees a partial object: temp file + rename locally,
// single PUT or a multipart upload completed only on Commit in S3) and classified errors (not found,
// access denied, archived, KMS, transient) so callers decide with errors.As, never string matching.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Info describes one object.
type Info struct {
	Bucket       string
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	// Metadata is the object's user metadata with lower-case keys (x-amz-meta-* without the prefix).
	// List does not fill it.
	Metadata map[string]string
	// MetadataErr is set when the metadata exists but cannot be read (a malformed local sidecar);
	// Metadata is then nil and the object itself is still readable.
	MetadataErr error
}

// Store reads and writes objects. Implementations are safe for concurrent use.
type Store interface {
	// Get opens an object for reading. The caller closes the reader.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error)
	// Head returns an object's Info, with metadata.
	Head(ctx context.Context, bucket, key string) (Info, error)
	// List calls fn for every object whose key starts with prefix and sorts after startAfter, in
	// ascending key order (S3's UTF-8 binary order). Returning an error from fn stops the listing and
	// List returns that error.
	List(ctx context.Context, bucket, prefix, startAfter string, fn func(Info) error) error
	// Put writes a whole object atomically.
	Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error
	// PutIfAbsent writes the object only when no object has that key; created is false when one
	// already existed (S3 conditional write, If-None-Match: *).
	PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (created bool, err error)
	// Create starts a streaming write that becomes visible only when Commit succeeds.
	Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, bucket, key string) error
}

// GetBody is Get for a caller that does not use the object's user metadata: a store for which
// reading it is extra work (Local: a sidecar file beside each object) leaves Info.Metadata and
// MetadataErr empty; any other store answers exactly as Get.
func GetBody(ctx context.Context, s Store, bucket, key string) (io.ReadCloser, Info, error) {
	if b, ok := s.(bodyGetter); ok {
		return b.getBody(ctx, bucket, key)
	}
	return s.Get(ctx, bucket, key)
}

// bodyGetter is a store (or a wrapper of one) that can skip the metadata GetBody does not need.
type bodyGetter interface {
	getBody(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error)
}

// Upload is an object being written. Exactly one of Commit or Abort must be called.
type Upload interface {
	io.Writer
	Commit() error
	Abort() error
}

// Kind classifies a store error.
type Kind int

const (
	KindOther        Kind = iota
	KindNotFound          // the object does not exist: NoSuchKey, or a missing file
	KindAccessDenied      // IAM, bucket policy or SCP denial (403)
	KindKMS               // the object's KMS key cannot be used
	KindArchived          // InvalidObjectState: Glacier / Deep Archive object needs a restore
	KindTransient         // throttling, 5xx, timeouts: retry with backoff
	KindConflict          // a conditional write lost (PreconditionFailed / ConditionalRequestConflict)
	// KindNoBucket: the bucket does not exist (NoSuchBucket), or the endpoint answered 404 without
	// saying the key is missing (not the S3 that holds the bucket). Unlike KindNotFound it says
	// nothing about the object: the operator must fix the configuration; callers retry.
	KindNoBucket
)

var kindNames = [...]string{"other", "not_found", "access_denied", "kms", "archived", "transient", "conflict", "no_bucket"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}

// Error is a failed store operation.
type Error struct {
	Op     string // "get", "head", "list", "put", …
	Bucket string
	Key    string
	Kind   Kind
	Err    error
}

func (e *Error) Error() string {
	loc := e.Bucket + "/" + e.Key
	return fmt.Sprintf("%s %s: %s: %v", e.Op, loc, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err (KindOther when err is not a store error).
func KindOf(err error) Kind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return KindOther
}

// IsNotFound reports whether err says the object does not exist (its bucket does).
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// Location is a place to write under: a store, a bucket and a key prefix ("" or ending in "/").
type Location struct {
	Store  Store
	Bucket string
	Prefix string
}

// Key joins the location's prefix and a relative key.
func (l Location) Key(rel string) string { return l.Prefix + rel }

// String renders the location as a URL (file:///… or s3://…).
func (l Location) String() string {
	if lo, ok := l.Store.(*Local); ok {
		return "file://" + lo.Root() + "/" + l.Prefix
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// ParseLocation splits a destination URL: file:///abs/path (or a bare path) → a Local store rooted
// there with an empty bucket; s3://bucket/prefix → the given S3 store (newS3 is called only then, so
// purely local runs never load AWS configuration).
func ParseLocation(ctx context.Context, raw string, newS3 func(ctx context.Context) (Store, error)) (Location, error) {
	if !strings.Contains(raw, "://") {
		return Location{Store: NewLocal(raw)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("parse location %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Location{}, fmt.Errorf("location %q: file URLs take an absolute path (file:///path)", raw)
		}
		return Location{Store: NewLocal(u.Path)}, nil
	case "s3":
		if u.Host == "" {
			return Location{}, fmt.Errorf("location %q: no bucket", raw)
		}
		s, err := newS3(ctx)
		if err != nil {
			return Location{}, err
		}
		prefix := strings.Trim(u.Path, "/")
		if prefix != "" {
			prefix += "/"
		}
		return Location{Store: s, Bucket: u.Host, Prefix: prefix}, nil
	default:
		return Location{}, fmt.Errorf("location %q: unsupported scheme %q (want file:// or s3://)", raw, u.Scheme)
	}
}
