package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformance runs the behaviour every Store must have; the S3 variant runs it on moto_server.
func conformance(t *testing.T, s Store, bucket string) {
	ctx := context.Background()
	// "a/b.json" sorts before "a/b/…" in byte order but after it in a directory walk.
	keys := []string{"a/b.json", "a-c", "a/b/c d+e=f.json.gz", "z"}
	for _, k := range keys {
		if err := s.Put(ctx, bucket, k, []byte("body:"+k), map[string]string{"Signature": "ab" + k}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	rc, info, err := s.Get(ctx, bucket, "a/b/c d+e=f.json.gz")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "body:a/b/c d+e=f.json.gz" || info.Size != int64(len(body)) {
		t.Fatalf("get returned %q size %d", body, info.Size)
	}
	if got := info.Metadata["signature"]; got != "ab"+"a/b/c d+e=f.json.gz" {
		t.Fatalf("metadata signature = %q (keys must be lower case): %v", got, info.Metadata)
	}

	var listed []string
	if err := s.List(ctx, bucket, "a", "", func(i Info) error { listed = append(listed, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"a-c", "a/b.json", "a/b/c d+e=f.json.gz"}
	if strings.Join(listed, "|") != strings.Join(want, "|") {
		t.Fatalf("list a = %q, want byte order %q", listed, want)
	}
	listed = nil
	if err := s.List(ctx, bucket, "a/", "a/b.json", func(i Info) error { listed = append(listed, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != "a/b/c d+e=f.json.gz" {
		t.Fatalf("list after a/b.json = %q", listed)
	}

	if _, _, err := s.Get(ctx, bucket, "missing"); !IsNotFound(err) {
		t.Fatalf("get missing: want not found, got %v", err)
	}
	created, err := s.PutIfAbsent(ctx, bucket, "marker", []byte("1"), nil)
	if err != nil || !created {
		t.Fatalf("first PutIfAbsent = %v, %v", created, err)
	}
	created, err = s.PutIfAbsent(ctx, bucket, "marker", []byte("2"), nil)
	if err != nil || created {
		t.Fatalf("second PutIfAbsent = %v, %v; want false, nil", created, err)
	}

	// A streamed object is invisible until Commit, and Abort leaves nothing behind.
	u, err := s.Create(ctx, bucket, "stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(bytes.Repeat([]byte("x"), 1000))
	if _, err := s.Head(ctx, bucket, "stream"); !IsNotFound(err) {
		t.Fatalf("uncommitted object visible: %v", err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if i, err := s.Head(ctx, bucket, "stream"); err != nil || i.Size != 1000 {
		t.Fatalf("committed object: %+v %v", i, err)
	}
	u, _ = s.Create(ctx, bucket, "aborted", nil)
	u.Write([]byte("nope"))
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(ctx, bucket, "aborted"); !IsNotFound(err) {
		t.Fatalf("aborted object visible: %v", err)
	}
	if err := s.Delete(ctx, bucket, "z"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, bucket, "z"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
}

func TestLocalConformance(t *testing.T) {
	dir := t.TempDir()
	conformance(t, NewLocal(dir), "bucket")
	// No temp files may be left behind.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if strings.HasPrefix(filepath.Base(p), tmpPrefix) {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
}

func TestParseLocation(t *testing.T) {
	ctx := context.Background()
	noS3 := func(context.Context) (Store, error) { t.Fatal("S3 configured for a local location"); return nil, nil }
	loc, err := ParseLocation(ctx, "file:///tmp/out", noS3)
	if err != nil || loc.Store.(*Local).Root() != "/tmp/out" || loc.Bucket != "" {
		t.Fatalf("file location: %+v %v", loc, err)
	}
	fake := NewLocal(t.TempDir())
	loc, err = ParseLocation(ctx, "s3://bkt/some/prefix/", func(context.Context) (Store, error) { return fake, nil })
	if err != nil || loc.Bucket != "bkt" || loc.Prefix != "some/prefix/" {
		t.Fatalf("s3 location: %+v %v", loc, err)
	}
	for _, bad := range []string{"s3:///x", "ftp://h/x", "file://host/x"} {
		if _, err := ParseLocation(ctx, bad, noS3); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}
