package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func touch(t *testing.T, root string, rel ...string) {
	t.Helper()
	for _, r := range rel {
		p := filepath.Join(root, filepath.FromSlash(r))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func listed(t *testing.T, s *LocalSource) (objs []string, skipped []SkippedFile) {
	t.Helper()
	skipped, err := s.List(context.Background(), func(in Info) error {
		objs = append(objs, in.Bucket+"/"+in.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs, skipped
}

func TestOpenLocalSourceLayouts(t *testing.T) {
	const k1, k2 = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/a.json.gz", "AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/01/b.log.gz"

	// A directory of buckets; hidden directories and top-level files are not buckets.
	buckets := t.TempDir()
	touch(t, buckets, "b1/"+k1, "b2/"+k2, ".cache/x", "public-keys.json")
	s, err := OpenLocalSource(buckets, "")
	if err != nil || s.Layout != LayoutBuckets || !slices.Equal(s.Buckets, []string{"b1", "b2"}) {
		t.Fatalf("buckets: %+v %v", s, err)
	}
	if objs, _ := listed(t, s); !slices.Equal(objs, []string{"b1/" + k1, "b2/" + k2}) {
		t.Errorf("buckets: listed %v", objs)
	}

	// A bucket mirror: AWSLogs/ at the top; the bucket is the directory's name unless given.
	mirror := filepath.Join(t.TempDir(), "my-bucket")
	touch(t, mirror, k1, k2)
	for _, tc := range []struct{ flag, want string }{{"", "my-bucket"}, {"real-bucket", "real-bucket"}} {
		s, err := OpenLocalSource(mirror, tc.flag)
		if err != nil || s.Layout != LayoutBucketMirror || !slices.Equal(s.Buckets, []string{tc.want}) {
			t.Fatalf("mirror --bucket %q: %+v %v", tc.flag, s, err)
		}
		if objs, _ := listed(t, s); !slices.Equal(objs, []string{tc.want + "/" + k1, tc.want + "/" + k2}) {
			t.Errorf("mirror: listed %v", objs)
		}
		rc, info, err := s.Store.Get(context.Background(), tc.want, k2)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if info.Bucket != tc.want || string(body) != k2 {
			t.Errorf("mirror Get: bucket %q body %q", info.Bucket, body)
		}
		if _, _, err := s.Store.Get(context.Background(), "other-bucket", k2); !IsNotFound(err) {
			t.Errorf("Get from another bucket: %v", err)
		}
		if err := s.Store.Put(context.Background(), tc.want, "x", []byte("x"), nil); err == nil {
			t.Error("a source accepted a write")
		}
	}

	// A single file: the key runs from AWSLogs/ on.
	s, err = OpenLocalSource(filepath.Join(mirror, filepath.FromSlash(k1)), "")
	if err != nil || s.Layout != LayoutFile || s.Root != mirror {
		t.Fatalf("file: %+v %v", s, err)
	}
	if objs, _ := listed(t, s); !slices.Equal(objs, []string{"my-bucket/" + k1}) {
		t.Errorf("file: listed %v", objs)
	}

	// Nothing to read.
	if _, err := OpenLocalSource(t.TempDir(), ""); !errors.Is(err, ErrUnrecognisedSource) {
		t.Errorf("empty directory: %v", err)
	}
}

func TestLocalSourceSkipsLinks(t *testing.T) {
	outside := t.TempDir()
	touch(t, outside, "secret", "dir/inner")
	src := t.TempDir()
	touch(t, src, "b/AWSLogs/1/x.json.gz")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(src, "b", "AWSLogs", "1", "link.json.gz")); err != nil {
		t.Fatal(err)
	}
	// A linked directory is neither a bucket nor walked into.
	if err := os.Symlink(filepath.Join(outside, "dir"), filepath.Join(src, "linked-bucket")); err != nil {
		t.Fatal(err)
	}
	s, err := OpenLocalSource(src, "")
	if err != nil || !slices.Equal(s.Buckets, []string{"b"}) {
		t.Fatalf("%+v %v", s, err)
	}
	objs, skipped := listed(t, s)
	if !slices.Equal(objs, []string{"b/AWSLogs/1/x.json.gz"}) {
		t.Errorf("listed %v", objs)
	}
	if len(skipped) != 1 || skipped[0].Path != filepath.Join(src, "b", "AWSLogs", "1", "link.json.gz") {
		t.Errorf("skipped %+v", skipped)
	}
}
