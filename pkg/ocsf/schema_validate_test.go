package ocsf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/compress"

	"github.com/logarchive/logarchive/internal/ocsfcheck"
	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// tally is what one run of the real path produced: records decoded, mapped rows by class, and
// records not mapped by reason.
type tally struct {
	records  int
	mapped   map[Class]int
	skipped  map[string]int
	findings int
}

// mapObjects decodes every object, maps each record with FromRecordIn (the object's origin, with
// fallback as the time of an object whose key has none), runs the CIS metric filters over it for
// 2004 findings, and adds every row to w. It is what --format security-lake does per object.
func mapObjects(t testing.TB, w *Writer, objs []sampleObject, fallback time.Time) tally {
	t.Helper()
	set, err := rules.Compile(rules.CIS(""), rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := rules.NewEngine(set, nil, rules.EngineOptions{})
	ctx := context.Background()
	tl := tally{mapped: map[Class]int{}, skipped: map[string]int{}}
	for _, o := range objs {
		obj := parse.Classify(o.bucket, o.key)
		f, err := os.Open(o.path)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := parse.NewDecoder(obj, f, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", o.key, err)
		}
		origin := OriginOf(obj, fallback)
		var rec parse.Record
		for {
			err := dec.Next(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", o.key, err)
			}
			tl.records++
			lin := Lineage{Bucket: obj.Bucket, Key: obj.Key, Index: rec.Index, Account: obj.Account, Region: obj.Region}
			row, err := FromRecordIn(&rec, origin)
			var unsup *UnsupportedError
			switch {
			case errors.As(err, &unsup):
				tl.skipped["unsupported: "+unsup.Why]++
				continue
			case err != nil:
				t.Errorf("%s record %d: %v", o.key, rec.Index, err)
				continue
			}
			if err := w.Add(ctx, row, lin); err != nil {
				t.Errorf("%s record %d: %v", o.key, rec.Index, err)
				continue
			}
			tl.mapped[row.Class()]++
			fs, err := eng.Process(&rec, rules.Lineage{Bucket: obj.Bucket, Key: obj.Key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range fs {
				fr, err := DetectionFindingOf(&fs[i])
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Add(ctx, fr, lin); err != nil {
					t.Fatal(err)
				}
				tl.mapped[ClassDetectionFinding]++
				tl.findings++
			}
		}
		f.Close()
	}
	if _, err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return tl
}

type sampleObject struct{ bucket, key, path string }

// realSampleObjects lists the CloudTrail, flow-log and Resolver samples under AWS-style keys (the
// account and Region of the key are what an archive would give; the file name is the sample's).
func realSampleObjects(t testing.TB) []sampleObject {
	t.Helper()
	var objs []sampleObject
	for dir, prefix := range map[string]string{
		"cloudtrail":       "AWSLogs/111122223333/CloudTrail/us-east-1/2023/07/10/",
		"vpcflow":          "AWSLogs/111122223333/vpcflowlogs/eu-west-2/2022/02/21/",
		"route53-resolver": "AWSLogs/111122223333/vpcdnsquerylogs/vpc-0123456789abcdef0/2023/07/10/",
	} {
		root := samples.Samples(t, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			objs = append(objs, sampleObject{bucket: "archive", key: prefix + d.Name(), path: p})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].path < objs[j].path })
	return objs
}

// synthObjects generates pkg/synth's archive (the preset) and lists its log objects.
func synthObjects(t testing.TB, preset string) []sampleObject {
	t.Helper()
	opts, err := synth.Preset(preset, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), store.NewLocal(dir), opts); err != nil {
		t.Fatal(err)
	}
	var objs []sampleObject
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".s3meta.json") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		bucket, key, _ := strings.Cut(filepath.ToSlash(rel), "/")
		switch parse.Classify(bucket, key).Source {
		case parse.SourceCloudTrail, parse.SourceInsight, parse.SourceVPCFlow, parse.SourceResolver:
			objs = append(objs, sampleObject{bucket: bucket, key: key, path: p})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// validateLake reads back every object under the lake with Arrow and validates every row against
// OCSF 1.1.0. It fails on any violation, on any file in the lake that is not a zstd Parquet object
// named .zstd.parquet (no sidecars), and returns the rows read per class.
func validateLake(t testing.TB, root string) map[Class]int {
	t.Helper()
	sc, err := ocsfcheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[Class]int{}
	bad := map[string]int{}
	var examples []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".zstd.parquet") {
			t.Errorf("lake holds %s: only .zstd.parquet objects belong there", p)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rs, codecs, err := ocsfcheck.ReadParquet(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(codecs) != 1 || !codecs[compress.Codecs.Zstd] {
			t.Errorf("%s: codecs %v, not zstd as its name says", p, codecs)
		}
		for i, r := range rs {
			uid, _ := r["class_uid"].(float64)
			rows[Class(uid)]++
			for _, v := range sc.Validate(r) {
				k := fmt.Sprintf("%v %s: %s", Class(uid), stripIndex(v.Path), v.Rule)
				if bad[k] == 0 && len(examples) < 40 {
					examples = append(examples, fmt.Sprintf("%s row %d: %s", filepath.Base(p), i, v))
				}
				bad[k]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		keys := make([]string, 0, len(bad))
		for k := range bad {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Errorf("%d rows: %s", bad[k], k)
		}
		for _, e := range examples {
			t.Log(e)
		}
	}
	return rows
}

func stripIndex(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
			b.WriteString("[]")
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestOCSFSchemaRealSamples maps every real CloudTrail, flow-log and Resolver sample by the real
// path (decode, FromRecordIn, CIS findings, Writer), reads the written Parquet back with Arrow and
// validates every row against OCSF 1.1.0. Every record is written except the Insights events
// (no AWS mapping), and the objects hold exactly the rows mapped.
func TestOCSFSchemaRealSamples(t *testing.T) {
	w, st := testWriter(t, WriterOptions{})
	tl := mapObjects(t, w, realSampleObjects(t), time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC))
	got := validateLake(t, st.Root())
	checkCounts(t, tl, got)
	for reason, n := range tl.skipped {
		if !strings.HasPrefix(reason, "unsupported: Insights") {
			t.Errorf("%d records skipped: %s", n, reason)
		}
	}
	t.Logf("%d records: rows %v, skipped %v, findings %d", tl.records, got, tl.skipped, tl.findings)
}

// TestOCSFSchemaSynth does the same over pkg/synth's archive.
func TestOCSFSchemaSynth(t *testing.T) {
	w, st := testWriter(t, WriterOptions{})
	tl := mapObjects(t, w, synthObjects(t, "tiny"), time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC))
	got := validateLake(t, st.Root())
	checkCounts(t, tl, got)
	for reason, n := range tl.skipped {
		if !strings.HasPrefix(reason, "unsupported: Insights") {
			t.Errorf("%d records skipped: %s", n, reason)
		}
	}
	t.Logf("%d records: rows %v, skipped %v, findings %d", tl.records, got, tl.skipped, tl.findings)
}

func checkCounts(t testing.TB, tl tally, got map[Class]int) {
	t.Helper()
	for _, c := range Classes() {
		if got[c] != tl.mapped[c] {
			t.Errorf("%v: %d rows in the lake, %d mapped", c, got[c], tl.mapped[c])
		}
	}
	total := 0
	for _, n := range tl.skipped {
		total += n
	}
	if sum := tl.mapped[ClassAPIActivity] + tl.mapped[ClassAuthentication] + tl.mapped[ClassAccountChange] +
		tl.mapped[ClassNetworkActivity] + tl.mapped[ClassDNSActivity]; sum+total != tl.records {
		t.Errorf("%d records decoded, %d mapped + %d skipped", tl.records, sum, total)
	}
}
