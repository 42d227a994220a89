package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// generate writes a synthetic archive (what `make demo` does first) and its public keys file.
func generate(t *testing.T, opts synth.Options) (dir string, m *synth.Manifest) {
	t.Helper()
	dir = t.TempDir()
	m, err := synth.Generate(context.Background(), store.NewLocal(dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public-keys.json"), keys, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// readTable reads every Parquet file of a table with Arrow's pqarrow, an implementation independent
// of the writer's, and returns the row count and the values of the named string columns.
func readTable(t *testing.T, lake, table string, cols ...string) (rows int64, values map[string][]string) {
	t.Helper()
	values = map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(lake, table, "dt=*", "*.parquet"))
	for _, f := range files {
		rdr, err := file.OpenParquetFile(f, false)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rows += tbl.NumRows()
		for _, c := range cols {
			idx := tbl.Schema().FieldIndices(c)
			if len(idx) == 0 {
				t.Fatalf("%s: no column %q", f, c)
			}
			for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
				s := chunk.(*array.String)
				for i := 0; i < s.Len(); i++ {
					values[c] = append(values[c], s.Value(i))
				}
			}
		}
		tbl.Release()
		rdr.Close()
	}
	return rows, values
}

func TestLocalDemoArchive(t *testing.T) {
	opts, err := synth.Preset("demo", 1)
	if err != nil {
		t.Fatal(err)
	}
	src, m := generate(t, opts)
	lake := filepath.Join(t.TempDir(), "lake")
	var out, errOut bytes.Buffer
	code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--public-keys",
		filepath.Join(src, "public-keys.json"), "--log-level", "warn"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}

	want := map[string]int{
		"cloudtrail": m.Tables["cloudtrail"].Records + m.Tables["insight"].Records,
		"vpcflow":    m.Tables["vpcflow"].Records,
		"resolver":   m.Tables["resolver"].Records,
	}
	for table, n := range want {
		if n == 0 {
			t.Fatalf("the demo archive has no %s records: %+v", table, m.Tables)
		}
		if got, _ := readTable(t, lake, table); got != int64(n) {
			t.Errorf("table %s: %d rows read back, %d records generated", table, got, n)
		}
	}

	// Every planted SwitchRole into the elevated role is a finding of the elevated-role rule.
	_, f := readTable(t, lake, "findings", "rule", "event_id")
	switches := m.Events(synth.ScenarioSwitchRole)
	if len(switches) == 0 {
		t.Fatal("the demo archive has no elevated-role switch")
	}
	for _, ev := range switches {
		found := false
		for i, id := range f["event_id"] {
			if id == ev.EventID && f["rule"][i] == "prod-switch-elevated-role" {
				found = true
			}
		}
		if !found {
			t.Errorf("SwitchRole %s (%s) has no prod-switch-elevated-role finding", ev.EventID, ev.Account)
		}
	}

	// Untampered: every integrity row is valid, and every log file was vouched for by a digest.
	_, integ := readTable(t, lake, "integrity", "status", "object_key")
	logs := 0
	for i, s := range integ["status"] {
		if s != "valid" {
			t.Errorf("integrity row for %s: %s", integ["object_key"][i], s)
		}
		if strings.Contains(integ["object_key"][i], "/CloudTrail/") {
			logs++
		}
	}
	if logs != m.Tables["cloudtrail"].Files {
		t.Errorf("%d log files verified by digests, %d generated", logs, m.Tables["cloudtrail"].Files)
	}
}

func TestLocalTamperedLogIsAnInvalidIntegrityRow(t *testing.T) {
	opts, err := synth.Preset("tiny", 7)
	if err != nil {
		t.Fatal(err)
	}
	opts.Tamper = []synth.TamperKind{synth.TamperModifyLog}
	src, m := generate(t, opts)
	if len(m.Tampered) != 1 {
		t.Fatalf("tamperings applied: %+v", m.Tampered)
	}
	lake := filepath.Join(t.TempDir(), "lake")
	var out, errOut bytes.Buffer
	if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--public-keys",
		filepath.Join(src, "public-keys.json"), "--log-level", "error"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	_, integ := readTable(t, lake, "integrity", "status", "class", "object_key")
	bad := 0
	for i, k := range integ["object_key"] {
		if integ["status"][i] == "valid" {
			continue
		}
		bad++
		if k != m.Tampered[0].Key || integ["class"][i] != "hash_mismatch" {
			t.Errorf("unexpected failure row: %s %s %s", k, integ["status"][i], integ["class"][i])
		}
	}
	if bad != 1 {
		t.Fatalf("%d failed integrity rows, want exactly the modified log %s", bad, m.Tampered[0].Key)
	}
	if !strings.Contains(out.String(), "integrity_failures=1") {
		t.Errorf("summary does not count the failure:\n%s", out.String())
	}
}

func TestLocalSecurityLakeFormat(t *testing.T) {
	opts, err := synth.Preset("tiny", 3)
	if err != nil {
		t.Fatal(err)
	}
	src, m := generate(t, opts)
	lake := filepath.Join(t.TempDir(), "sl")
	var out, errOut bytes.Buffer
	if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--format", "security-lake",
		"--log-level", "warn"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	// One custom source per OCSF class; each object sits in region=/accountId=/eventDay= partitions.
	count := func(source string) int64 {
		var n int64
		files, _ := filepath.Glob(filepath.Join(lake, "ext", source, "region=*", "accountId=*", "eventDay=*", "*.zstd.parquet"))
		for _, f := range files {
			rdr, err := file.OpenParquetFile(f, false)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			n += rdr.NumRows()
			rdr.Close()
		}
		return n
	}
	ct := count("logarchive-api-activity") + count("logarchive-authentication") + count("logarchive-account-change")
	if want := int64(m.Tables["cloudtrail"].Records); ct != want {
		t.Errorf("CloudTrail classes hold %d rows, %d records generated", ct, want)
	}
	if got, want := count("logarchive-network-activity"), int64(m.Tables["vpcflow"].Records); got != want {
		t.Errorf("network activity: %d rows, want %d", got, want)
	}
	if got, want := count("logarchive-dns-activity"), int64(m.Tables["resolver"].Records); got != want {
		t.Errorf("dns activity: %d rows, want %d", got, want)
	}
	if count("logarchive-detection-finding") == 0 {
		t.Error("no detection findings written")
	}
}
