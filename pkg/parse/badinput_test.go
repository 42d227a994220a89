package parse

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/logarchive/logarchive/internal/samples"
)

func gz(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

const (
	trailKey = "AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2024/01/01/111122223333_CloudTrail_us-east-1_20240101T0000Z_abc.json.gz"
	flowKey  = "AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/01/01/111122223333_vpcflowlogs_us-east-1_fl-1_20240101T0000Z_abc.log.gz"
	dnsKey   = "AWSLogs/111122223333/vpcdnsquerylogs/vpc-1/2024/01/01/vpc-1_vpcdnsquerylogs_111122223333_20240101T0000Z_abc.log.gz"
)

func TestBadInput(t *testing.T) {
	realCT, err := os.ReadFile(filepath.Join(samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset"),
		"218007301253_CloudTrail_us-east-1_20230710T1200Z_x9kHmzMa7cx6l9wM.json")) // 132 records, 173,877 bytes
	if err != nil {
		t.Fatal(err)
	}
	realGz := gz(t, realCT)
	corrupt := append([]byte(nil), realGz...)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x55
	}
	badCRC := append([]byte(nil), realGz...)
	badCRC[len(badCRC)-6] ^= 0xff // CRC-32 sits in the 8-byte trailer

	tests := []struct {
		name     string
		key      string
		body     []byte
		opts     Options
		class    ErrorClass
		minRecs  int   // records yielded before the error, at least
		offset   int64 // expected Offset when >= 0; -2 to skip the check
		line     int64
		wantRecs int // exact count, when minRecs is -1
	}{
		{name: "corrupt deflate data", key: trailKey, body: corrupt, class: ErrCorruptGzip, offset: -2},
		{name: "bad gzip checksum", key: trailKey, body: badCRC, class: ErrCorruptGzip, minRecs: 132, offset: int64(len(realCT))},
		{name: "truncated gzip", key: trailKey, body: realGz[:len(realGz)/2], class: ErrTruncated, minRecs: 1, offset: -2},
		{name: "truncated JSON", key: trailKey, body: realCT[:100000], class: ErrTruncated, minRecs: 70, offset: 100000},
		{name: "truncated JSON in gzip", key: trailKey, body: gz(t, realCT[:100000]), class: ErrTruncated, minRecs: 70, offset: 100000},
		{name: "garbage after gzip member", key: trailKey, body: append(append([]byte(nil), realGz...), "garbage!"...), class: ErrTrailingData, minRecs: 132, offset: int64(len(realCT))},
		{name: "garbage after JSON document", key: trailKey, body: []byte(`{"Records":[]} {"Records":[]}`), class: ErrTrailingData, offset: 15},
		{name: "JSON syntax", key: trailKey, body: []byte(`{"Records":[{"eventName":"A"},{"eventName" "B"}]}`), class: ErrSyntax, minRecs: 1, offset: 43},
		{name: "Records not an array", key: trailKey, body: []byte(`{"Records":{}}`), class: ErrSyntax, offset: 11},
		{name: "no Records member", key: trailKey, body: []byte(`{"version":"1.1","query_name":"x."}`), class: ErrUnknownFormat, offset: -2},
		{name: "text under a CloudTrail key", key: trailKey, body: []byte("version srcaddr\n2 10.0.0.1\n"), class: ErrUnknownFormat, offset: -2},
		{name: "JSON under a flow-log key", key: flowKey, body: realGz, class: ErrUnknownFormat, offset: -2},
		{name: "binary under a Resolver key", key: dnsKey, body: []byte("\x00\x01\x02binary"), class: ErrUnknownFormat, offset: -2},
		{name: "digest", key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/01/d.json.gz", body: []byte(`{"awsAccountId":"111122223333"}`), class: ErrUnknownFormat, offset: -2},
		{name: "header-less flow log", key: flowKey, body: []byte("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n"), class: ErrUnknownFormat, line: 1, offset: -2},
		{name: "inflates past the limit", key: trailKey, body: realGz, opts: Options{MaxInflatedBytes: 50000}, class: ErrTooLarge, minRecs: 1, offset: 50000},
		{name: "plain object past the limit", key: trailKey, body: realCT, opts: Options{MaxInflatedBytes: 50000}, class: ErrTooLarge, minRecs: 1, offset: 50000},
		{name: "record past the record limit", key: trailKey, body: realCT, opts: Options{MaxRecordBytes: 1000}, class: ErrTooLarge, offset: -2},
		{name: "flow line past the record limit", key: flowKey, body: []byte("version srcaddr\n2 " + strings.Repeat("1", 5000) + "\n"), opts: Options{MaxRecordBytes: 1024}, class: ErrTooLarge, offset: -2},
		{name: "resolver object cut short", key: dnsKey, body: []byte("{\"version\":\"1.1\"}\n{\"version\":\n"), class: ErrTruncated, minRecs: 1, line: 2, offset: -2},
		{name: "empty CloudTrail object", key: trailKey, body: nil, class: ErrTruncated, offset: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeAll(t, Classify("archive", tc.key), bytes.NewReader(tc.body), tc.opts)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *Error of class %s", err, err, tc.class)
			}
			if pe.Class != tc.class {
				t.Fatalf("class %s, want %s: %v", pe.Class, tc.class, err)
			}
			if !IsPoison(err) || pe.Key != tc.key || pe.Bucket != "archive" || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error does not name the object: %v", err)
			}
			if tc.offset >= 0 && pe.Offset != tc.offset {
				t.Errorf("offset %d, want %d: %v", pe.Offset, tc.offset, err)
			}
			if tc.line > 0 && pe.Line != tc.line {
				t.Errorf("line %d, want %d: %v", pe.Line, tc.line, err)
			}
			if len(d.recs) < tc.minRecs {
				t.Errorf("%d records yielded before the error, want at least %d", len(d.recs), tc.minRecs)
			}
			for _, r := range d.recs {
				if r.CloudTrail != nil && r.CloudTrail.EventID == "" && tc.key == trailKey && len(tc.body) > 1000 {
					t.Errorf("record %d yielded before the error is incomplete", r.Index)
				}
			}
		})
	}
}

// TestErrorIsSticky: after a fatal error Next keeps returning it.
func TestErrorIsSticky(t *testing.T) {
	dec, err := NewDecoder(Classify("b", trailKey), strings.NewReader(`{"Records":[{"a":1},`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := dec.Next(&rec); err != nil {
		t.Fatalf("first record: %v", err)
	}
	first := dec.Next(&rec)
	second := dec.Next(&rec)
	var pe *Error
	if !errors.As(first, &pe) || pe.Class != ErrTruncated || first != second {
		t.Errorf("errors %v then %v", first, second)
	}
}

func TestBadRecordsAreSkippedAndCounted(t *testing.T) {
	tests := []struct {
		name      string
		key, body string
		opts      Options
		good      []int64 // indexes of records yielded
		badLines  []int64
		badOffset []int64
	}{
		{
			name: "flow lines with wrong field counts and bad numbers",
			key:  flowKey,
			body: "version srcaddr dstport\n2 10.0.0.1 80\n2 10.0.0.2\n\n2 10.0.0.3 http\n2 10.0.0.4 443 extra\n2 10.0.0.5 99999999999\n2 - -\n",
			good: []int64{0, 5}, badLines: []int64{3, 5, 6, 7},
		},
		{
			name: "header-less flow log with FlowFields",
			key:  flowKey,
			body: "2 10.0.0.1 80\r\n2 10.0.0.2 81",
			opts: Options{FlowFields: []string{"version", "srcaddr", "dstport"}},
			good: []int64{0, 1},
		},
		{
			name: "CloudTrail records of the wrong shape",
			key:  trailKey,
			body: `{"Records":[{"eventName":{"x":1}},{"eventName":"ok","eventTime":"2024-01-01T00:00:00Z"},{"eventTime":"not a time"},{"resources":"arn"},{"readOnly":"maybe"}]}`,
			good: []int64{1}, badOffset: []int64{25, 101, 128, 147},
		},
		{
			name: "Resolver lines",
			key:  dnsKey,
			body: "{\"srcport\":\"x\"}\n[1,2]\n{\"query_name\":\"a.\"}\n{\"answers\":{}}\n",
			good: []int64{2}, badLines: []int64{1, 2, 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeAll(t, Classify("b", tc.key), strings.NewReader(tc.body), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range d.recs {
				got = append(got, r.Index)
			}
			if !equalInts(got, tc.good) {
				t.Errorf("yielded indexes %v, want %v", got, tc.good)
			}
			if int(d.bad) != len(tc.badLines)+len(tc.badOffset) || len(d.errs) != int(d.bad) {
				t.Fatalf("%d bad records, %d kept: %v", d.bad, len(d.errs), d.errs)
			}
			for i, e := range d.errs {
				if e.Class != ErrBadRecord || IsPoison(error(nil)) {
					t.Errorf("class %s", e.Class)
				}
				if tc.badLines != nil && e.Line != tc.badLines[i] {
					t.Errorf("bad record %d at line %d, want %d: %v", i, e.Line, tc.badLines[i], e)
				}
				if tc.badOffset != nil && e.Offset != tc.badOffset[i] {
					t.Errorf("bad record %d at offset %d, want %d: %v", i, e.Offset, tc.badOffset[i], e)
				}
			}
		})
	}
	t.Run("kept errors are capped", func(t *testing.T) {
		body := "version srcaddr\n" + strings.Repeat("2\n", 50)
		d, err := decodeAll(t, Classify("b", flowKey), strings.NewReader(body), Options{MaxBadRecordErrors: 10})
		if err != nil || d.bad != 50 || len(d.errs) != 10 {
			t.Errorf("err %v, %d bad, %d kept", err, d.bad, len(d.errs))
		}
	})
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadFailureIsNotPoison(t *testing.T) {
	cause := errors.New("connection reset")
	body := gz(t, []byte(strings.Repeat(`{"query_name":"a."}`+"\n", 20000)))
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"before the first byte", iotest.ErrReader(cause)},
		{"inside a gzip stream", io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(cause))},
		{"inside a plain stream", io.MultiReader(strings.NewReader(strings.Repeat(`{"query_name":"a."}`+"\n", 20000)), iotest.ErrReader(cause))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(t, Classify("b", dnsKey), tc.r, Options{})
			if err == nil || IsPoison(err) || !errors.Is(err, cause) {
				t.Errorf("err %v: want a wrapped read error that is not poison", err)
			}
		})
	}
}

func TestGzipMembers(t *testing.T) {
	line := func(n string) string { return `{"query_name":"` + n + `."}` + "\n" }
	body := append(gz(t, []byte(line("a")+line("b"))), gz(t, []byte(line("c")))...)
	d, err := decodeAll(t, Classify("b", dnsKey), bytes.NewReader(body), Options{})
	if err != nil || len(d.recs) != 3 || d.recs[2].DNS.QueryName != "c." {
		t.Fatalf("err %v, %d records", err, len(d.recs))
	}
	// An empty member (valid gzip of nothing) is no record and no error.
	d, err = decodeAll(t, Classify("b", dnsKey), bytes.NewReader(gz(t, nil)), Options{})
	if err != nil || len(d.recs) != 0 {
		t.Fatalf("empty gzip: err %v, %d records", err, len(d.recs))
	}
}
