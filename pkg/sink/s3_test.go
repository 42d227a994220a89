package sink

import (
	"context"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/store"
)

// TestS3Destination writes through the S3 store (moto_server on loopback): an s3:// location,
// multipart upload for a file larger than one part, objects that read back with pqarrow, and a
// second run that overwrites the same keys instead of adding objects.
func TestS3Destination(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	srv := motoserver.Start(t)
	ctx := context.Background()
	if _, err := srv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	s3store := store.NewS3(srv.S3, store.S3Options{PartSize: 5 << 20})
	loc, err := store.ParseLocation(ctx, "s3://lake/logarchive", func(context.Context) (store.Store, error) { return s3store, nil })
	if err != nil {
		t.Fatal(err)
	}
	const rows = 6000
	run := func() []string {
		s, err := New(Options{Dest: loc})
		if err != nil {
			t.Fatal(err)
		}
		in := beginRef(s, InputRef{Bucket: srcBucket, Key: "big", ETag: "1"})
		rnd := rand.New(rand.NewPCG(1, 2)) // the same rows both runs
		noise := make([]byte, 1024)
		for i := range rows {
			// 2 KB of random hex per row: it compresses only to half, so the file spans several
			// 5 MiB parts.
			for j := range noise {
				noise[j] = byte(rnd.Uint32())
			}
			f := finding(day1.Add(time.Duration(i)*time.Second), "big", int64(i))
			f.EventJSON = hex.EncodeToString(noise)
			if err := in.AddFinding(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		in.End()
		ct := objectsFrom(t, s, loc)
		return ct
	}
	first := run()
	if len(first) != 1 {
		t.Fatalf("wrote %v, want one findings file", first)
	}
	if !strings.HasPrefix(first[0], "logarchive/findings/dt=2026-03-02/") {
		t.Errorf("key %s: not under the location's prefix and partition", first[0])
	}
	info, err := s3store.Head(ctx, "lake", first[0])
	if err != nil {
		t.Fatal(err)
	}
	if info.Size <= 5<<20 {
		t.Fatalf("file is %d bytes: not large enough to need a multipart upload", info.Size)
	}
	rc, _, err := s3store.Get(ctx, "lake", first[0])
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := arrowRows(t, p); len(got) != rows {
		t.Fatalf("read %d rows back from S3, wrote %d", len(got), rows)
	}
	second := run()
	if !slices.Equal(first, second) {
		t.Fatalf("second run wrote %v, first %v: not idempotent", second, first)
	}
}

// objectsFrom closes the sink and lists the data objects under the location.
func objectsFrom(t *testing.T, s *Sink, loc store.Location) []string {
	t.Helper()
	ctx := context.Background()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := loc.Store.List(ctx, loc.Bucket, loc.Prefix, "", func(in store.Info) error {
		if strings.HasSuffix(in.Key, ".parquet") {
			keys = append(keys, in.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
