package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

const (
	u8CTKey   = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0805Z_abcdefabcdefabcd.json.gz"
	u8DNSKey  = "AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2024/01/02/vpc-0abc_vpcdnsquerylogs_111122223333_20240102T0000Z_abcd.log.gz"
	u8FlowKey = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
)

// decodeAll decodes body under key and returns the records (Raw copied) and the decoder.
func decodeUTF8(t *testing.T, key string, body []byte) ([]Record, Decoder) {
	t.Helper()
	dec, err := NewDecoder(Classify("b", key), bytes.NewReader(body), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for {
		var r Record
		err := dec.Next(&r)
		if err == io.EOF {
			return out, dec
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		r.Raw = append([]byte(nil), r.Raw...)
		out = append(out, r)
	}
}

// strings returns every string reachable from v (struct fields, pointers, slices, RawMessages).
func allStrings(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		*out = append(*out, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			allStrings(v.Elem(), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Name == "Raw" {
				continue // the record's bytes as delivered, kept unchanged on purpose
			}
			allStrings(v.Field(i), out)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			*out = append(*out, string(v.Bytes()))
			return
		}
		for i := 0; i < v.Len(); i++ {
			allStrings(v.Index(i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			allStrings(k, out)
			allStrings(v.MapIndex(k), out)
		}
	}
}

// TestInvalidUTF8IsReplaced: one invalid byte in a CloudTrail userAgent (and in a free-form
// member), a Resolver query_name (and an unmapped member), a flow log's interface-id: every record
// is kept, every string of the typed record is valid UTF-8 with U+FFFD where the byte was, Raw is
// unchanged, and the records are counted.
func TestInvalidUTF8IsReplaced(t *testing.T) {
	cases := []struct {
		name, key string
		body      string
		records   int
		want      func(r *Record) string
		wantValue string
	}{
		{"cloudtrail userAgent", u8CTKey,
			`{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:00Z","eventName":"A","userAgent":"aws-cli"},` +
				`{"eventVersion":"1.08","eventTime":"2026-03-02T08:00:01Z","eventName":"B","userAgent":"aws-` + "\xff" + `-cli","requestParameters":{"k":"v` + "\xc3" + `"}}]}`,
			2, func(r *Record) string { return r.CloudTrail.UserAgent }, "aws-\uFFFD-cli"},
		{"resolver query_name", u8DNSKey,
			`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2024-01-02T00:00:00Z","query_name":"ok.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"}}` + "\n" +
				`{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0abc","query_timestamp":"2024-01-02T00:00:01Z","query_name":"bad` + "\xff" + `.example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.1","srcport":"53","transport":"UDP","srcids":{"instance":"i-1"},"extra":"x` + "\xfe" + `"}` + "\n",
			2, func(r *Record) string { return r.DNS.QueryName }, "bad\uFFFD.example.com."},
		{"flow interface-id", u8FlowKey,
			"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
				"2 123456789012 eni-good 10.0.0.1 10.0.0.2 443 49152 6 10 840 1529511600 1529511660 ACCEPT OK\n" +
				"2 123456789012 eni-\xff\xfe 10.0.0.1 10.0.0.2 443 49152 6 10 840 1529511600 1529511660 ACCEPT OK\n",
			2, func(r *Record) string { return r.Flow.InterfaceID }, "eni-\uFFFD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, dec := decodeUTF8(t, c.key, []byte(c.body))
			if len(recs) != c.records {
				t.Fatalf("%d records, want %d", len(recs), c.records)
			}
			if n, _ := dec.(BadRecordReporter).BadRecords(); n != 0 {
				t.Fatalf("%d bad records", n)
			}
			if got := dec.(UTF8Reporter).InvalidUTF8Records(); got != 1 {
				t.Fatalf("InvalidUTF8Records = %d, want 1", got)
			}
			last := &recs[len(recs)-1]
			if got := c.want(last); got != c.wantValue {
				t.Fatalf("value %q, want %q", got, c.wantValue)
			}
			if utf8.Valid(last.Raw) || !strings.Contains(c.body, string(last.Raw)) {
				t.Fatalf("Raw was changed: %q", last.Raw)
			}
			for i := range recs {
				var ss []string
				allStrings(reflect.ValueOf(recs[i]), &ss)
				for _, s := range ss {
					if !utf8.ValidString(s) {
						t.Fatalf("record %d: invalid UTF-8 string %q", i, s)
					}
				}
			}
			if ct := last.CloudTrail; ct != nil && !json.Valid(ct.RequestParameters) {
				t.Fatalf("requestParameters no longer JSON: %q", ct.RequestParameters)
			}
			if q := last.DNS; q != nil && !json.Valid(q.Unmapped) {
				t.Fatalf("unmapped no longer JSON: %q", q.Unmapped)
			}
		})
	}
}

// TestFlowHeaderNamingAFieldTwice: which column would hold the field is a guess; the object is
// poison with a clear error instead of the last column silently winning.
func TestFlowHeaderNamingAFieldTwice(t *testing.T) {
	body := "version account-id interface-id srcaddr dstaddr srcport srcport protocol packets bytes start end action log-status\n" +
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1529511600 1529511660 ACCEPT OK\n"
	_, err := NewDecoder(Classify("b", u8FlowKey), strings.NewReader(body), Options{})
	var pe *Error
	if !errors.As(err, &pe) || pe.Class != ErrSyntax || !strings.Contains(err.Error(), `"srcport" twice`) {
		t.Fatalf("NewDecoder: %v, want a syntax error naming srcport", err)
	}
}

// TestInvalidUTF8InParquetFlowLog: a Parquet-delivered flow log whose BYTE_ARRAY values hold
// invalid UTF-8 (Parquet does not check) yields valid strings, counted.
func TestInvalidUTF8InParquetFlowLog(t *testing.T) {
	type row struct {
		Version     *int32  `parquet:"version,optional"`
		AccountID   *string `parquet:"account_id,optional"`
		InterfaceID *string `parquet:"interface_id,optional"`
		Action      *string `parquet:"action,optional"`
	}
	v, acct, good, bad, act := int32(5), "111122223333", "eni-good", "eni-\xff\xfe", "ACCEPT"
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write([]row{{&v, &acct, &good, &act}, {&v, &acct, &bad, &act}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=01/day=01/f.log.parquet"
	recs, dec := decodeUTF8(t, key, buf.Bytes())
	if len(recs) != 2 || recs[1].Flow.InterfaceID != "eni-\uFFFD" || recs[0].Flow.InterfaceID != "eni-good" {
		t.Fatalf("records %+v", recs)
	}
	if n := dec.(UTF8Reporter).InvalidUTF8Records(); n != 1 {
		t.Fatalf("InvalidUTF8Records = %d", n)
	}
}

// TestResolverChunkEndsInsideACharacter: Resolver strings are sliced from string copies of 16 KiB
// of records at a time, checked for UTF-8 once a chunk; a chunk that ends inside a multi-byte
// character must not make a valid record look invalid, nor let an invalid one through. Query names
// of every length with two- and three-byte characters put chunk ends at every offset of a
// character; every 37th holds an invalid byte. Each record must equal encoding/json's decoding of
// its line (which replaces invalid bytes with U+FFFD too).
func TestResolverChunkEndsInsideACharacter(t *testing.T) {
	var body bytes.Buffer
	invalid := 0
	for i := 0; body.Len() < 5*resolverChunk; i++ {
		name := strings.Repeat("é", i%7) + "x" + strings.Repeat("日", i%5)
		if i%37 == 36 {
			name += "\xff"
			invalid++
		}
		fmt.Fprintf(&body, `{"version":"1.100000","account_id":"111122223333","query_timestamp":"2024-01-02T00:00:01Z","query_name":"%s.example.","answers":[{"Rdata":"%s","Type":"CNAME","Class":"IN"}],"srcport":"53"}`+"\n", name, name)
	}
	recs, dec := decodeUTF8(t, u8DNSKey, body.Bytes())
	var want []ResolverQuery
	if err := refDecodeResolver(bytes.NewReader(body.Bytes()), func(q *ResolverQuery) { want = append(want, *q) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	if got := dec.(UTF8Reporter).InvalidUTF8Records(); got != int64(invalid) {
		t.Fatalf("InvalidUTF8Records = %d, want %d", got, invalid)
	}
	for i := range recs {
		got := *recs[i].DNS
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

// TestResolverStringsOutliveTheWindow: a Resolver record's strings alias the decoder's window only
// while it is decoded; what the record keeps is copied (or is the same value kept for the record
// before). Records decoded from an object several windows long, all kept to the end, must each
// still equal encoding/json's decoding of its line after the window has been refilled many times
// over: members that repeat (runs of records with the same first four members, which decodeWith
// takes from the head of the record before), members that change every record, escaped strings,
// spaces, unknown members, answers and srcids in Resolver's own form and in another, and some
// invalid UTF-8.
func TestResolverStringsOutliveTheWindow(t *testing.T) {
	var body bytes.Buffer
	for i := 0; body.Len() < 5*windowStart; i++ {
		region := []string{"us-east-1", "eu-west-3"}[i/50%2]
		fmt.Fprintf(&body, `{"version":"1.100000","account_id":"%012d","region":"%s","vpc_id":"vpc-%d","query_timestamp":"2024-01-02T%02d:00:01Z",`, i/7, region, i/3%3, i/100%24)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&body, `"query_name":"host-%d.example.","query_type":"A","answers":[{"Rdata":"10.0.%d.%d","Type":"A","Class":"IN"}],"srcids":{"instance":"i-%x"}`, i, i/256%256, i%256, i)
		case 1:
			fmt.Fprintf(&body, `"query_name":"caf\u00e9-%d.example.","query_type":"AAAA","answers":[{"Type":"AAAA","Rdata":"::%d"},{"Rdata":"x%d%s","Class":"IN","Type":"A"}],"srcids":{"resolver_endpoint":"rslvr-in-%d","instance":"i-%d"}`, i, i, i, "\xff", i, i)
		case 2:
			fmt.Fprintf(&body, `"query_name" : "spaced-%d.", "srcport" : "%d", "extra_%d" : {"k":["v%d"]}`, i, i%65536, i%3, i)
		default:
			fmt.Fprintf(&body, `"query_name":"h%d\"q\".","rcode":"NOERROR","transport":"UDP","srcaddr":"10.1.%d.%d","srcport":"%d"`, i, i/256%256, i%256, i%65536)
		}
		body.WriteString("}\n")
	}
	recs, _ := decodeUTF8(t, u8DNSKey, body.Bytes())
	var want []ResolverQuery
	if err := refDecodeResolver(bytes.NewReader(body.Bytes()), func(q *ResolverQuery) { want = append(want, *q) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i := range recs {
		got := *recs[i].DNS
		// The reference has no Unmapped: the unknown member is checked on its own.
		unm := ""
		if i%4 == 2 {
			unm = fmt.Sprintf(`{"extra_%d":{"k":["v%d"]}}`, i%3, i)
		}
		if string(got.Unmapped) != unm {
			t.Fatalf("record %d: Unmapped %s, want %s", i, got.Unmapped, unm)
		}
		got.Unmapped = nil
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}
