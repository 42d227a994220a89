package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzTimeMemo: a time read through the memo of the hour before it reads as parseTime reads it
// alone: the same instant in UTC, or an error for both.
func FuzzTimeMemo(f *testing.F) {
	for _, p := range [][2]string{
		{"2026-03-02T11:16:53.995Z", "2026-03-02T11:17:59Z"},
		{"2026-03-02T11:16:53.995Z", "2026-03-02T12:00:00.1Z"},
		{"2024-02-29T23:59:59Z", "2024-02-29T23:00:00.123456789Z"},
		{"2026-03-02T11:16:53Z", "2026-03-02T11:60:00Z"},
		{"2026-03-02T11:16:53Z", "2026-03-02T11:16:5xZ"},
		{"2021-02-04T19:51:25+02:00", "2021-02-04T19:51:25Z"},
		{"2023-02-30T00:00:00.5Z", "2023-02-30T00:10:00Z"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, first, s string) {
		var m timeMemo
		m.parse(first)
		got, err := m.parse(s)
		want, werr := parseTime(s)
		if (err == nil) != (werr == nil) || !got.Equal(want) || (err == nil && got.Location() != time.UTC) {
			t.Fatalf("after %q: memo reads %q as %v, %v; parseTime: %v, %v", first, s, got, err, want, werr)
		}
	})
}

// TestTimeMemoHours: times of one hour are read from the memo, and a new hour replaces it.
func TestTimeMemoHours(t *testing.T) {
	var m timeMemo
	for _, s := range []string{"2026-03-02T11:16:53.995Z", "2026-03-02T11:17:59Z", "2026-03-02T12:00:00.5Z", "2026-03-02T12:59:59.000000001Z"} {
		got, err := m.parse(s)
		want, werr := time.Parse(time.RFC3339Nano, s)
		if err != nil || werr != nil || !got.Equal(want) {
			t.Fatalf("parse(%q) = %v, %v; want %v, %v", s, got, err, want, werr)
		}
		if string(m.hour[:]) != s[:13] {
			t.Fatalf("after %q the memo holds hour %q", s, m.hour)
		}
	}
}

// TestHasToken: hasToken answers as comparing the strings does, for every member name of a
// Resolver record against itself, each one-byte change of it, and inputs ending at or just after it.
func TestHasToken(t *testing.T) {
	for id, tok := range resolverKeyTokens {
		if tok == "" {
			continue
		}
		w := &resolverKeyWords[id]
		for _, tail := range []string{"", "\"", "\"1.100000\",\"account_id\":\"791359182849\""} {
			in := []byte(tok + tail)
			for pos := -1; pos < len(tok); pos++ {
				b := append([]byte(nil), in...)
				if pos >= 0 {
					b[pos] ^= 0x20
				}
				want := len(b) > len(tok) && string(b[:len(tok)]) == tok
				if got := hasToken(b, 0, tok, w); got != want {
					t.Errorf("hasToken(%q, %q) = %v, want %v", b, tok, got, want)
				}
				if pos < 0 && len(tail) > 0 && !want {
					t.Errorf("%q does not start with %q", b, tok)
				}
			}
		}
	}
}

// FuzzResolverAsWritten: answers and srcids in Resolver's own compact form take one-pass paths
// (answerAsWritten, srcIDsAsWritten). Whatever the values hold (escapes, quotes, invalid UTF-8,
// braces), a record must decode as the same record with a space before each answer and before
// srcids' object, which takes the general path (knownMembers).
func FuzzResolverAsWritten(f *testing.F) {
	f.Add(`52.216.60.191`, `A`, `IN`, `i-0c87275a3629f1e76`)
	f.Add(`a\"b`, `\u0041`, "I\xffN", `i-1\"}`)
	f.Add(`x","Type":"B`, ``, `IN","Class":"CH`, `i","resolver_endpoint":"r`)
	f.Fuzz(func(t *testing.T, rdata, typ, class, inst string) {
		answer := `{"Rdata":"` + rdata + `","Type":"` + typ + `","Class":"` + class + `"}`
		ids := `{"instance":"` + inst + `"}`
		record := func(sp string) string {
			return `{"version":"1.100000","query_timestamp":"2024-01-02T00:00:01Z","answers":[` + sp + answer + `,` + sp + answer +
				`],"srcids":` + sp + ids + `,"srcaddr":"10.0.0.1"}` + "\n"
		}
		compact, spaced := record(""), record(" ")
		if strings.Count(compact, "\n") != 1 || !json.Valid([]byte(compact)) {
			return
		}
		decodeOne := func(line string) (*ResolverQuery, error) {
			dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceResolver}, strings.NewReader(line), Options{})
			if err != nil {
				return nil, err
			}
			var rec Record
			if err := dec.Next(&rec); err != nil {
				return nil, err
			}
			return rec.DNS, nil
		}
		got, err1 := decodeOne(compact)
		want, err2 := decodeOne(spaced)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("compact: %v, spaced: %v", err1, err2)
		}
		if err1 == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("compact %q\n got %+v\nspaced %+v", compact, got, want)
		}
	})
}

// BenchmarkResolverAsWritten decodes records as Resolver writes them (its member order, compact,
// one VPC's records in an object), which BenchmarkResolver's input (members in alphabetical order)
// is not.
func BenchmarkResolverAsWritten(b *testing.B) {
	var body bytes.Buffer
	n := 0
	for ; body.Len() < 4<<20; n++ {
		fmt.Fprintf(&body, `{"version":"1.100000","account_id":"791359182849","region":"eu-west-1","vpc_id":"vpc-0cb6269cbcc8cb963","query_timestamp":"2026-03-02T11:%02d:%02d.%03dZ","query_name":"host%d.eu-west-1.compute.internal.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"10.51.%d.%d","Type":"A","Class":"IN"}],"srcaddr":"10.51.%d.%d","srcport":"%d","transport":"UDP","srcids":{"instance":"i-0f1e2d3c4b5a%04d"}}`+"\n",
			n/60%60, n%60, n%1000, n%5000, n/256%256, n%256, n/7%256, n%251, 1024+n%60000, n%16)
	}
	runDecoder(b, Object{Source: SourceResolver}, body.Bytes(), n)
}
