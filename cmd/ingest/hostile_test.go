package main

// The adversarial suite (issue 14): hostile and broken input against the commands, each case
// asserting where every byte went (rows, quarantine, dead-letter queue) and that nothing was
// written outside the destination.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeSrc writes objects (key → body) under dir/<bucket>/.
func writeSrc(t *testing.T, dir, bucket string, objs map[string][]byte) {
	t.Helper()
	for k, body := range objs {
		p := filepath.Join(dir, bucket, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// stringValues appends every string held by arr (nested lists, structs and maps included).
func stringValues(arr arrow.Array, out *[]string) {
	switch a := arr.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				*out = append(*out, a.Value(i))
			}
		}
	case *array.LargeString:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				*out = append(*out, a.Value(i))
			}
		}
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			stringValues(a.Field(f), out)
		}
	case array.ListLike:
		stringValues(a.ListValues(), out)
	}
}

// readAllStrings reads every Parquet file under dir with Arrow's pqarrow and returns the rows per
// table directory and every string value.
func readAllStrings(t *testing.T, dir string) (rows map[string]int64, values []string) {
	t.Helper()
	rows = map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		table := filepath.ToSlash(rel)
		if i := bytes.IndexByte([]byte(table), '/'); i > 0 {
			table = table[:i]
		}
		rdr, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer rdr.Close()
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer tbl.Release()
		rows[table] += tbl.NumRows()
		for c := 0; c < int(tbl.NumCols()); c++ {
			for _, ch := range tbl.Column(c).Data().Chunks() {
				stringValues(ch, &values)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, values
}

// TestLocalInvalidUTF8ReadsBack: one invalid byte in a CloudTrail userAgent, a Resolver query_name
// and a flow log's interface-id costs nothing: every row is written, every file reads back in full
// with an independent reader, every string in it is valid UTF-8, and the replacements are counted
// per source in the summary.
func TestLocalInvalidUTF8ReadsBack(t *testing.T) {
	src := t.TempDir()
	writeSrc(t, src, "org-archive", map[string][]byte{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0805Z_abcdefabcdefabcd.json.gz": gzipped(t, []byte(
			`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:00Z","eventSource":"sts.amazonaws.com","eventName":"A","awsRegion":"us-east-1","userAgent":"aws-cli","recipientAccountId":"111122223333"},`+
				`{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:01Z","eventSource":"sts.amazonaws.com","eventName":"B","awsRegion":"us-east-1","userAgent":"aws-`+"\xff"+`-cli","recipientAccountId":"111122223333","requestParameters":{"roleSessionName":"x`+"\xc3"+`"}}]}`)),
		"AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2026/03/02/vpc-0abc_vpcdnsquerylogs_111122223333_20260302T0000Z_abcd.log.gz": gzipped(t, []byte(
			`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2026-03-02T00:00:00Z","query_name":"ok.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"}}`+"\n"+
				`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2026-03-02T00:00:01Z","query_name":"bad`+"\xff"+`.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"}}`+"\n")),
		"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/03/02/111122223333_vpcflowlogs_us-east-1_fl-1234abcd_20260302T0000Z_fe123456.log.gz": gzipped(t, []byte(
			"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"+
				"2 111122223333 eni-good 10.0.0.1 10.0.0.2 443 49152 6 10 840 1772409600 1772409660 ACCEPT OK\n"+
				"2 111122223333 eni-\xff\xfe 10.0.0.1 10.0.0.2 443 49152 6 10 840 1772409600 1772409660 ACCEPT OK\n")),
	})
	lake := filepath.Join(t.TempDir(), "lake")
	var out, errOut bytes.Buffer
	if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--json", "--log-level", "error", "--no-builtin-rules"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var sum localSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, src := range []string{"cloudtrail", "resolver", "vpcflow"} {
		if got := sum.Counters[src]["invalid_utf8_records"]; got != 1 {
			t.Errorf("%s: invalid_utf8_records = %d, want 1 (%v)", src, got, sum.Counters[src])
		}
	}
	rows, values := readAllStrings(t, lake)
	for _, table := range []string{"cloudtrail", "resolver", "vpcflow"} {
		if rows[table] != 2 {
			t.Errorf("table %s: %d rows read back, want 2", table, rows[table])
		}
	}
	replaced := 0
	for _, v := range values {
		if !utf8.ValidString(v) {
			t.Fatalf("invalid UTF-8 read back: %q", v)
		}
		switch v {
		case "aws-\uFFFD-cli", "bad\uFFFD.example.com.", "eni-\uFFFD":
			replaced++
		}
	}
	if replaced != 3 {
		t.Fatalf("%d of the 3 replaced values read back", replaced)
	}
}
