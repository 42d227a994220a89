package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/synth"
)

var smallArgs = []string{"--accounts", "3", "--hours", "2", "--events-per-hour", "40", "--flow-per-hour", "24", "--resolver-per-hour", "24"}

// treeHash hashes every file under dir (paths and bytes).
func treeHash(t *testing.T, dir string) (string, int) {
	t.Helper()
	h := sha256.New()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(rel + "\x00"))
		h.Write(b)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func TestRunLocalIsReproducible(t *testing.T) {
	ctx := context.Background()
	var hashes []string
	for range 2 {
		dir := t.TempDir()
		var out bytes.Buffer
		args := append([]string{"--seed", "3", "--out", dir, "--tamper", "delete-log,break-signature", "--prefix", "org/"}, smallArgs...)
		if err := run(ctx, args, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "objects/s") {
			t.Errorf("summary lacks the speed line:\n%s", out.String())
		}
		raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m synth.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.Prefix != "org" || len(m.Tampered) != 2 {
			t.Errorf("manifest prefix %q, %d tamperings; want org, 2", m.Prefix, len(m.Tampered))
		}
		kraw, err := os.ReadFile(filepath.Join(dir, "public-keys.json"))
		if err != nil {
			t.Fatal(err)
		}
		var keys map[string]digest.PublicKeyList
		if err := json.Unmarshal(kraw, &keys); err != nil || len(keys) != 2 {
			t.Fatalf("keys file: %d regions, %v", len(keys), err)
		}
		// The first digest of every chain must be on disk under the prefix, with its sidecar.
		for _, o := range m.Objects {
			if !strings.HasPrefix(o.Key, "org/AWSLogs/") {
				t.Fatalf("key %s lacks the prefix", o.Key)
			}
			if o.Table == synth.TableDigest {
				if _, err := os.Stat(filepath.Join(dir, m.Bucket, o.Key+digest.MetadataSidecarSuffix)); err != nil {
					t.Errorf("digest %s: %v", o.Key, err)
				}
				break
			}
		}
		h, n := treeHash(t, dir)
		// Objects, one metadata sidecar per digest (a broken signature is still metadata), keys, manifest.
		if want := len(m.Objects) + m.Tables[synth.TableDigest].Files + 2; n != want {
			t.Errorf("%d files on disk, want %d", n, want)
		}
		hashes = append(hashes, h)
	}
	if hashes[0] != hashes[1] {
		t.Errorf("two runs with the same seed wrote different trees")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no destination", []string{"--seed", "1"}, "--out"},
		{"bad start", []string{"--out", "x", "--start", "yesterday"}, "--start"},
		{"bad tamper", []string{"--out", "x", "--tamper", "shred"}, "shred"},
		{"bad region", []string{"--out", "x", "--regions", "mars"}, "Regions"},
		{"stray argument", []string{"--out", "x", "extra"}, "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestRunToS3 writes to moto through the default credential chain and AWS_ENDPOINT_URL.
func TestRunToS3(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	args := append([]string{"--seed", "4", "--bucket", "synth-archive", "--create-bucket",
		"--keys", filepath.Join(dir, "keys.json"), "--manifest", filepath.Join(dir, "manifest.json")}, smallArgs...)
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m synth.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(srv.S3, &s3.ListObjectsV2Input{Bucket: aws.String("synth-archive")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			listed[aws.ToString(o.Key)] = true
		}
	}
	if len(listed) != len(m.Objects) {
		t.Errorf("bucket holds %d objects, manifest lists %d", len(listed), len(m.Objects))
	}
	checked := false
	for _, o := range m.Objects {
		if !listed[o.Key] {
			t.Errorf("%s missing from the bucket", o.Key)
		}
		if o.Table == synth.TableDigest && !checked {
			head, err := srv.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("synth-archive"), Key: aws.String(o.Key)})
			if err != nil {
				t.Fatal(err)
			}
			if len(head.Metadata[digest.MetaSignature]) != 512 || head.Metadata[digest.MetaSignatureAlgorithm] != digest.SignatureAlgorithm {
				t.Errorf("digest %s metadata %v", o.Key, head.Metadata)
			}
			checked = true
		}
	}
}
