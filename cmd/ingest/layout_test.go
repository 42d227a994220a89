package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/pkg/synth"
)

// sortedRows reads every row of a table with Arrow's pqarrow (independent of the writer) as one
// string per row, sorted; columns that record when the tool ran (verified_at) are left out.
func sortedRows(t *testing.T, lake, table string) []string {
	t.Helper()
	var rows []string
	files, _ := filepath.Glob(filepath.Join(lake, table, "dt=*", "*.parquet"))
	for _, f := range files {
		rdr, err := file.OpenParquetFile(f, false)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := int(tbl.NumRows())
		cells := make([][]string, n)
		for c := 0; c < int(tbl.NumCols()); c++ {
			if tbl.Schema().Field(c).Name == "verified_at" {
				continue
			}
			i := 0
			for _, chunk := range tbl.Column(c).Data().Chunks() {
				for j := 0; j < chunk.Len(); j++ {
					cells[i] = append(cells[i], chunk.ValueStr(j))
					i++
				}
			}
		}
		for _, r := range cells {
			rows = append(rows, strings.Join(r, "\x1f"))
		}
		tbl.Release()
		rdr.Close()
	}
	slices.Sort(rows)
	return rows
}

func ingestLocal(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runLocal(context.Background(), append(args, "--log-level", "warn"), &out, &errOut)
	return code, out.String(), errOut.String()
}

func tinyLocalArchive(t *testing.T, seed uint64) (dir, bucket string, m *synth.Manifest) {
	t.Helper()
	opts, err := synth.Preset("tiny", seed)
	if err != nil {
		t.Fatal(err)
	}
	dir, m = generate(t, opts)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			bucket = e.Name()
		}
	}
	return dir, bucket, m
}

var tables = []string{"cloudtrail", "vpcflow", "resolver", "findings", "integrity"}

// TestLocalLayoutsGiveTheSameRows: a directory of buckets, an `aws s3 sync s3://B DIR` mirror (bucket
// named by --bucket), and the same mirror named after the bucket give identical tables.
func TestLocalLayoutsGiveTheSameRows(t *testing.T) {
	src, bucket, _ := tinyLocalArchive(t, 11)
	keys := []string{"--public-keys", filepath.Join(src, "public-keys.json")}
	lakeA := filepath.Join(t.TempDir(), "a")
	if code, out, errOut := ingestLocal(t, append([]string{"--src", src, "--dest", lakeA}, keys...)...); code != 0 {
		t.Fatalf("buckets layout: exit %d\n%s%s", code, out, errOut)
	}
	// What `aws s3 sync s3://<bucket> mirror` leaves: AWSLogs/ at the top, sidecars aside.
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := os.Rename(filepath.Join(src, bucket), mirror); err != nil {
		t.Fatal(err)
	}
	lakeB := filepath.Join(t.TempDir(), "b")
	code, out, errOut := ingestLocal(t, append([]string{"--src", mirror, "--bucket", bucket, "--dest", lakeB}, keys...)...)
	if code != 0 || !strings.Contains(out, "bucket-mirror, bucket "+bucket) {
		t.Fatalf("bucket mirror: exit %d\n%s%s", code, out, errOut)
	}
	named := filepath.Join(filepath.Dir(mirror), bucket)
	if err := os.Rename(mirror, named); err != nil {
		t.Fatal(err)
	}
	lakeC := filepath.Join(t.TempDir(), "c")
	if code, out, errOut := ingestLocal(t, append([]string{"--src", named, "--dest", lakeC}, keys...)...); code != 0 ||
		!strings.Contains(out, "bucket "+bucket) {
		t.Fatalf("bucket mirror named after the bucket: exit %d\n%s%s", code, out, errOut)
	}
	for _, table := range tables {
		a, b, c := sortedRows(t, lakeA, table), sortedRows(t, lakeB, table), sortedRows(t, lakeC, table)
		if len(a) == 0 {
			t.Errorf("table %s: no rows", table)
		}
		if !slices.Equal(a, b) || !slices.Equal(a, c) {
			t.Errorf("table %s: %d rows from the buckets layout, %d from the mirror with --bucket, %d from the named mirror, or different rows",
				table, len(a), len(b), len(c))
		}
	}
}

// TestLocalSingleFile: one log file on its own is read with the key from its AWSLogs/ element on.
func TestLocalSingleFile(t *testing.T) {
	src, bucket, _ := tinyLocalArchive(t, 12)
	var log string
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if log == "" && strings.Contains(p, "/vpcflowlogs/") && strings.HasSuffix(p, ".log.gz") {
			log = p
		}
		return nil
	})
	lake := t.TempDir()
	code, out, errOut := ingestLocal(t, "--src", log, "--dest", lake, "--json")
	var sum localSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if sum.Layout != "file" || sum.Objects != 1 || sum.Buckets[0] != bucket || sum.Counters["vpcflow"]["records"] == 0 {
		t.Errorf("summary %+v", sum)
	}
	if rows := sortedRows(t, lake, "vpcflow"); int64(len(rows)) != sum.Counters["vpcflow"]["records"] {
		t.Errorf("%d rows, %d records", len(rows), sum.Counters["vpcflow"]["records"])
	}
}

// TestLocalRefusesEmptyAndUnrecognisedSources: nothing to read is an error that shows the layouts.
func TestLocalRefusesEmptyAndUnrecognisedSources(t *testing.T) {
	empty := t.TempDir()
	junk := t.TempDir()
	os.MkdirAll(filepath.Join(junk, "photos"), 0o755)
	os.WriteFile(filepath.Join(junk, "photos", "cat.txt"), []byte("meow\n"), 0o644)
	emptyBucket := t.TempDir()
	os.MkdirAll(filepath.Join(emptyBucket, "AWSLogs"), 0o755)
	for name, src := range map[string]string{"empty": empty, "junk": junk, "empty bucket": emptyBucket} {
		code, _, errOut := ingestLocal(t, "--src", src, "--dest", filepath.Join(t.TempDir(), "lake"))
		if code == 0 || !strings.Contains(errOut, "aws s3 sync s3://BUCKET DIR") || !strings.Contains(errOut, "DIR/<bucket>/AWSLogs/") {
			t.Errorf("%s source: exit %d, stderr:\n%s", name, code, errOut)
		}
	}
}

// TestLocalIncremental: a second run over a source that gained one file writes that file's rows
// and nothing else again, and says what it skipped (issue 14: the partition used to be doubled).
func TestLocalIncremental(t *testing.T) {
	src, bucket, m := tinyLocalArchive(t, 13)
	// Hold one CloudTrail log back for the second run.
	var held string
	filepath.WalkDir(filepath.Join(src, bucket), func(p string, d os.DirEntry, err error) error {
		if held == "" && strings.Contains(p, "/CloudTrail/") && strings.HasSuffix(p, ".json.gz") {
			held = p
		}
		return nil
	})
	aside := filepath.Join(t.TempDir(), "held")
	if err := os.Rename(held, aside); err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	code, out1, errOut := ingestLocal(t, "--src", src, "--dest", lake, "--json")
	var first localSummary
	if err := json.Unmarshal([]byte(out1), &first); err != nil || code != 0 {
		t.Fatalf("first run: exit %d %v\n%s%s", code, err, out1, errOut)
	}
	before := sortedRows(t, lake, "cloudtrail")
	if err := os.Rename(aside, held); err != nil {
		t.Fatal(err)
	}
	code, out2, errOut := ingestLocal(t, "--src", src, "--dest", lake, "--json")
	var second localSummary
	if err := json.Unmarshal([]byte(out2), &second); err != nil || code != 0 {
		t.Fatalf("second run: exit %d %v\n%s%s", code, err, out2, errOut)
	}
	if second.Objects != first.Objects+1 || second.SkippedDone != first.Objects || second.Done != 1 {
		t.Errorf("second run: %d objects, %d skipped, %d done; first run listed %d", second.Objects, second.SkippedDone, second.Done, first.Objects)
	}
	rows := sortedRows(t, lake, "cloudtrail")
	want := m.Tables["cloudtrail"].Records + m.Tables["insight"].Records
	if len(rows) != want || len(rows) <= len(before) {
		t.Errorf("cloudtrail: %d rows after the second run (%d after the first), %d records generated", len(rows), len(before), want)
	}
	if dup := len(rows) - len(slices.Compact(slices.Clone(rows))); dup != 0 {
		t.Errorf("%d duplicate rows", dup)
	}
	// A third run over the unchanged source writes nothing and says so.
	code, out3, _ := ingestLocal(t, "--src", src, "--dest", lake)
	if code != 0 || !strings.Contains(out3, "skipped: "+itoa(second.Objects)+" objects already ingested") {
		t.Errorf("third run: exit %d\n%s", code, out3)
	}
	if got := sortedRows(t, lake, "cloudtrail"); !slices.Equal(got, rows) {
		t.Errorf("third run changed the table: %d rows, had %d", len(got), len(rows))
	}
}

// TestLocalDoesNotFollowSymlinks: a file link pointing out of --src is not read, not copied into
// quarantine, and reported.
func TestLocalDoesNotFollowSymlinks(t *testing.T) {
	src, bucket, _ := tinyLocalArchive(t, 14)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("do not copy me\n"), 0o600)
	link := filepath.Join(src, bucket, "AWSLogs", "111122223333", "vpcflowlogs", "us-east-1", "2026", "01", "01", "111122223333_vpcflowlogs_us-east-1_fl-1_20260101T0000Z_abcd.log.gz")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	code, out, errOut := ingestLocal(t, "--src", src, "--dest", lake, "--json")
	var sum localSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
		t.Fatalf("exit %d %v\n%s%s", code, err, out, errOut)
	}
	if len(sum.NotRead) != 1 || sum.NotRead[0].Path != link || len(sum.Quarantined) != 0 {
		t.Errorf("not read %+v, quarantined %+v", sum.NotRead, sum.Quarantined)
	}
	filepath.WalkDir(lake, func(p string, d os.DirEntry, err error) error {
		if b, _ := os.ReadFile(p); d != nil && !d.IsDir() && bytes.Contains(b, []byte("do not copy me")) {
			t.Errorf("%s holds the linked file's content", p)
		}
		return nil
	})
}

// TestLocalChecksDestFirst: a destination that cannot be written is refused before any work, with
// nothing written anywhere.
func TestLocalChecksDestFirst(t *testing.T) {
	src, _, _ := tinyLocalArchive(t, 15)
	aFile := filepath.Join(t.TempDir(), "file")
	os.WriteFile(aFile, []byte("x"), 0o644)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	for _, dest := range []string{aFile, filepath.Join(aFile, "sub"), "s3://lake-bucket/prefix/"} {
		code, out, errOut := ingestLocal(t, "--src", src, "--dest", dest)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 2 {
			t.Errorf("--dest %s: exit %d, stdout %q, stderr %q", dest, code, out, errOut)
		}
		if strings.HasPrefix(dest, "s3:") && !strings.Contains(errOut, "AWS_REGION") {
			t.Errorf("--dest %s without a region: %q", dest, errOut)
		}
	}
	if os.Geteuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o555)
		if code, _, errOut := ingestLocal(t, "--src", src, "--dest", filepath.Join(ro, "lake")); code != 2 {
			t.Errorf("unwritable --dest: exit %d, %q", code, errOut)
		}
	}
}

// TestLocalStdoutCarriesOnlyData: with --metrics-out - every stdout line is an EMF document, and the
// summary is on stderr.
func TestLocalStdoutCarriesOnlyData(t *testing.T) {
	opts, err := synth.Preset("tiny", 16)
	if err != nil {
		t.Fatal(err)
	}
	// Recent activity: CloudWatch (and so the EMF writer) accepts samples at most 14 days old.
	opts.Start = time.Now().UTC().Add(-4 * time.Hour).Truncate(time.Hour)
	src, _ := generate(t, opts)
	code, out, errOut := ingestLocal(t, "--src", src, "--dest", t.TempDir(), "--metrics-out", "-")
	if code != 0 || !strings.Contains(errOut, "parquet: ") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil || doc["_aws"] == nil {
			t.Fatalf("stdout line is not an EMF document: %q", l)
		}
	}
	if len(lines) == 0 {
		t.Error("no EMF documents on stdout")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
