package parse

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNextStop compares the eight-bytes-at-a-time scan with the obvious byte loop on random inputs
// rich in the bytes it must stop at (and in their neighbours, where SWAR tricks go wrong).
func TestNextStop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff, 'a', '0'}
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(6) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte(0x21 + rng.IntN(0x5e))
				if b[i] == '"' || b[i] == '\\' {
					b[i] = 'x'
				}
			}
		}
		start := 0
		if len(b) > 0 {
			start = rng.IntN(len(b) + 1)
		}
		want := start
		for want < len(b) && !strStop[b[want]] {
			want++
		}
		if got := nextStop(b, start); got != want {
			t.Fatalf("nextStop(%q, %d) = %d, want %d", b, start, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2023-07-10T11:42:36Z", time.Date(2023, 7, 10, 11, 42, 36, 0, time.UTC), true},
		{"2021-02-04T17:51:25.177Z", time.Date(2021, 2, 4, 17, 51, 25, 177e6, time.UTC), true},
		{"2021-02-04T17:51:25.1Z", time.Date(2021, 2, 4, 17, 51, 25, 1e8, time.UTC), true},
		{"2021-02-04T17:51:25.123456789Z", time.Date(2021, 2, 4, 17, 51, 25, 123456789, time.UTC), true},
		{"2021-02-04T17:51:25.Z", time.Time{}, false},
		{"2021-02-04T17:51:25.1x3Z", time.Time{}, false},
		{"2021-02-30T17:51:25.123Z", time.Time{}, false},
		{"2024-02-29T23:59:59.999Z", time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC), true},
		{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"1900-02-29T00:00:00Z", time.Time{}, false},
		{"2023-04-31T00:00:00Z", time.Time{}, false},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"1969-12-31T23:59:59.5Z", time.Date(1969, 12, 31, 23, 59, 59, 5e8, time.UTC), true},
		{"2021-02-04T19:51:25+02:00", time.Date(2021, 2, 4, 17, 51, 25, 0, time.UTC), true},
		{"2023-02-30T00:00:00Z", time.Time{}, false},
		{"2023-07-10T24:00:00Z", time.Time{}, false},
		{"20131102T010628Z", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		// The fast paths agree with time.Parse, which parseTime falls back to.
		ref, rerr := time.Parse(time.RFC3339Nano, tc.in)
		if (rerr == nil) != tc.ok || !ref.Equal(tc.want) {
			t.Errorf("time.Parse(%q) = %v, %v; the test case is wrong", tc.in, ref, rerr)
		}
		got, err := parseTime(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) || (tc.ok && got.Location() != time.UTC) {
			t.Errorf("parseTime(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestEscapesMatchEncodingJSON: strings with escapes decode as encoding/json decodes them, including
// surrogate pairs and lone surrogates (U+FFFD).
func TestEscapesMatchEncodingJSON(t *testing.T) {
	doc := `{"Records":[{"eventName":"a\u00e9\"\\\/\b\f\n\r\t\ud83d\ude00","errorMessage":"lone \ud800 and \udc00x and \ud800\u0041","userAgent":"\u0000\u001F","eventSource":"plain","userIdentity":{"arn":"arn:aws:iam::1:user/\u0041"}}]}`
	var want []*CloudTrailEvent
	if err := refDecodeCloudTrail(strings.NewReader(doc), func(ev *CloudTrailEvent) { want = append(want, ev) }); err != nil {
		t.Fatal(err)
	}
	d, err := decodeAll(t, Object{Source: SourceCloudTrail}, strings.NewReader(doc), Options{})
	if err != nil || len(d.recs) != 1 {
		t.Fatalf("err %v, %d records", err, len(d.recs))
	}
	if !reflect.DeepEqual(d.recs[0].CloudTrail, want[0]) {
		t.Errorf("got  %+v\nwant %+v", d.recs[0].CloudTrail, want[0])
	}
}

// TestCloudTrailEnvelope: records keep their exact text, duplicates are kept, and envelope members
// other than Records are tolerated wherever they sit.
func TestCloudTrailEnvelope(t *testing.T) {
	r1 := `{"eventID":"dup","eventName":"A"}`
	r2 := "{ \"eventID\" : \"dup\",\n  \"eventName\" : \"B\" }"
	doc := "\n{ \"meta\": {\"x\": [1, {\"y\": null}]},\n \"Records\" : [ " + r1 + " ,\n" + r2 + " ], \"more\": true }\n\n"
	d, err := decodeAll(t, Object{Source: SourceCloudTrail}, strings.NewReader(doc), Options{})
	if err != nil || len(d.recs) != 2 {
		t.Fatalf("err %v, %d records", err, len(d.recs))
	}
	if string(d.recs[0].Raw) != r1 || string(d.recs[1].Raw) != r2 {
		t.Errorf("Raw %q / %q", d.recs[0].Raw, d.recs[1].Raw)
	}
	if d.recs[0].CloudTrail.EventID != "dup" || d.recs[1].CloudTrail.EventID != "dup" || d.recs[1].CloudTrail.EventName != "B" || d.recs[1].Index != 1 {
		t.Errorf("records %+v %+v", d.recs[0].CloudTrail, d.recs[1].CloudTrail)
	}
	for _, empty := range []string{`{"Records":[]}`, `{"Records":null}`, `{"Records":[]}` + "\n"} {
		d, err := decodeAll(t, Object{Source: SourceCloudTrail}, strings.NewReader(empty), Options{})
		if err != nil || len(d.recs) != 0 {
			t.Errorf("%q: err %v, %d records", empty, err, len(d.recs))
		}
	}
}

// TestRecordsAreFreshPerNext: what Next fills in (except Raw) survives the next call unchanged, as
// record.go promises, for every decoder.
func TestRecordsAreFreshPerNext(t *testing.T) {
	tests := []struct {
		name, key, body string
		first           func(r *Record) string
	}{
		{"cloudtrail", trailKey, `{"Records":[{"eventName":"A","userIdentity":{"arn":"x"},"requestParameters":{"p":1},"resources":[{"ARN":"r1"}]},{"eventName":"B","userIdentity":{"arn":"y"},"requestParameters":{"p":2},"resources":[{"ARN":"r2"}]}]}`,
			func(r *Record) string {
				ev := r.CloudTrail
				return ev.EventName + ev.UserIdentity.ARN + string(ev.RequestParameters) + ev.Resources[0].ARN
			}},
		{"flow", flowKey, "version srcaddr\n2 10.0.0.1\n3 10.0.0.2\n", func(r *Record) string { return r.Flow.SrcAddr + strconv.Itoa(int(r.Flow.Version.V)) }},
		{"resolver", dnsKey, `{"query_name":"a.","answers":[{"Rdata":"1"}],"x":1}` + "\n" + `{"query_name":"b.","answers":[{"Rdata":"2"}],"y":2}`,
			func(r *Record) string { return r.DNS.QueryName + r.DNS.Answers[0].RData + string(r.DNS.Unmapped) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := NewDecoder(Classify("b", tc.key), strings.NewReader(tc.body), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var rec Record
			if err := dec.Next(&rec); err != nil {
				t.Fatal(err)
			}
			kept := rec // a shallow copy: the pointers are what a caller keeps
			before := tc.first(&kept)
			if err := dec.Next(&rec); err != nil {
				t.Fatal(err)
			}
			if after := tc.first(&kept); after != before || tc.first(&rec) == before {
				t.Errorf("first record changed from %q to %q after the second Next (second %q)", before, after, tc.first(&rec))
			}
		})
	}
}

// FuzzParseTime: the fast paths accept only what time.Parse accepts, and read it the same.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2023-07-10T11:42:36Z", "2021-02-04T17:51:25.177Z", "2021-02-04T17:51:25.123456789Z",
		"2021-02-04T19:51:25+02:00", "2023-02-30T00:00:00.5Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		ref, rerr := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return // stricter than time.Parse is fine (it never is for these forms)
		}
		if rerr != nil || !got.Equal(ref) || got.Location() != time.UTC {
			t.Fatalf("parseTime(%q) = %v; time.Parse: %v, %v", s, got, ref, rerr)
		}
	})
}
