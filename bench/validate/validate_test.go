// Package validate_test benchmarks `validate` over a generated organization archive of about 3,000
// CloudTrail log files: offline (local mirror) and S3 (moto_server), each against a baseline
// measured in the same run over the same files — `gzip -dc FILE | sha256sum` per file, which is what
// a shell script checking the digests' hashes would do.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/validate
package validate_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/internal/motoserver"
	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/digest/validate"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

func archiveOptions() synth.Options {
	o := synth.DefaultOptions(42)
	o.NumAccounts = 6
	o.Regions = []string{"us-east-1", "eu-west-1", "us-west-2"}
	o.Hours = 14
	o.FlowRecordsPerHour, o.ResolverQueriesPerHour = -1, -1
	return o
}

func keysOf(m *synth.Manifest) *digest.FileKeys {
	fk := &digest.FileKeys{ByRegion: map[string][]digest.PublicKey{}}
	for r, l := range m.PublicKeys {
		fk.ByRegion[r] = l.PublicKeyList
	}
	return fk
}

// run validates every chain once and returns counts.
func run(b *testing.B, st store.Store, m *synth.Manifest, o synth.Options, offline bool) validate.Counts {
	end := o.Start.Add(time.Duration(o.Hours+2) * time.Hour)
	v, err := validate.New(validate.Options{Store: st, Keys: keysOf(m), Start: o.Start, End: end, Offline: offline,
		Now: func() time.Time { return end }})
	if err != nil {
		b.Fatal(err)
	}
	chains, err := v.Discover(context.Background(), m.Bucket, m.Prefix)
	if err != nil {
		b.Fatal(err)
	}
	res, err := v.ValidateAll(context.Background(), chains)
	if err != nil {
		b.Fatal(err)
	}
	var c validate.Counts
	for _, r := range res {
		c.ValidLogs += r.Counts.ValidLogs
		c.InvalidLogs += r.Counts.InvalidLogs
		c.ValidDigests += r.Counts.ValidDigests
		c.InvalidDigests += r.Counts.InvalidDigests
		c.LogBytes += r.Counts.LogBytes
	}
	if c.InvalidLogs+c.InvalidDigests > 0 || c.ValidLogs < 2000 {
		b.Fatalf("unexpected result %+v", c)
	}
	return c
}

// baseline hashes the same log files with gzip -dc | sha256sum, one pipeline per file inside a single
// shell, and returns the elapsed time.
func baseline(b *testing.B, root string, m *synth.Manifest) time.Duration {
	var list bytes.Buffer
	n := 0
	for _, obj := range m.Objects {
		if obj.Table == synth.TableCloudTrail {
			list.WriteString(filepath.Join(root, m.Bucket, filepath.FromSlash(obj.Key)) + "\n")
			n++
		}
	}
	cmd := exec.Command("bash", "-c", `while IFS= read -r f; do gzip -dc "$f" | sha256sum; done`)
	cmd.Stdin = &list
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("baseline: %v", err)
	}
	d := time.Since(t0)
	if got := strings.Count(string(out), "\n"); got != n {
		b.Fatalf("baseline hashed %d of %d files", got, n)
	}
	return d
}

// report sets the metrics; the ratio to the baseline (which reads local files) only means something
// for the offline run.
func report(b *testing.B, c validate.Counts, elapsed, base time.Duration, files int, ratio bool) {
	perOp := elapsed.Seconds() / float64(b.N)
	b.SetBytes(c.LogBytes)
	b.ReportMetric(float64(c.ValidLogs)/perOp, "files/s")
	b.ReportMetric(float64(c.LogBytes)/1e6/perOp, "MB/s")
	if ratio {
		baseRate := float64(files) / base.Seconds()
		b.ReportMetric(baseRate, "baseline-files/s")
		b.ReportMetric(float64(c.ValidLogs)/perOp/baseRate, "x-baseline")
	}
}

func BenchmarkValidate(b *testing.B) {
	dir := b.TempDir()
	o := archiveOptions()
	local := store.NewLocal(dir)
	m, err := synth.Generate(context.Background(), local, o)
	if err != nil {
		b.Fatal(err)
	}
	files := m.Tables[synth.TableCloudTrail].Files
	base := baseline(b, dir, m)
	b.Logf("archive: %d CloudTrail log files, %.1f MB stored; baseline gzip -dc | sha256sum: %v (%.0f files/s)",
		files, float64(m.Tables[synth.TableCloudTrail].Bytes)/1e6, base, float64(files)/base.Seconds())

	b.Run("offline", func(b *testing.B) {
		b.ReportAllocs()
		var c validate.Counts
		t0 := time.Now()
		for range b.N {
			c = run(b, local, m, o, true)
		}
		report(b, c, time.Since(t0), base, files, true)
	})
	b.Run("s3-moto", func(b *testing.B) {
		srv := motoserver.Start(b)
		if _, err := srv.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(m.Bucket)}); err != nil {
			b.Fatal(err)
		}
		st := store.NewS3(srv.S3, store.S3Options{})
		if _, err := synth.Generate(context.Background(), st, o); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		var c validate.Counts
		t0 := time.Now()
		for range b.N {
			c = run(b, st, m, o, false)
		}
		report(b, c, time.Since(t0), base, files, false)
	})
}
