package parse

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// TestResolverMemberOrder: a record decodes the same whether its members come in the order Resolver
// writes them (the decoder's fast path, which compares the expected names in place) or in any other
// order (the general path), on every sample record.
func TestResolverMemberOrder(t *testing.T) {
	paths, _ := filepath.Glob(samples.Samples(t, "route53-resolver", "*", "*"))
	if len(paths) == 0 {
		t.Fatal("no Resolver samples")
	}
	rank := func(k string) int {
		if i := slices.Index(resolverKeys[:], k); i >= 0 {
			return i
		}
		return len(resolverKeys)
	}
	// Beside the samples: members the samples lack, unknown ones, escapes in names and values.
	extra := []byte(`{"version":"1.100000","account_id":"111122223333","region":"eu-west-1","vpc_id":"vpc-1","query_timestamp":"2026-03-02T11:16:53.995Z","query_name":"a.example.","query_type":"AAAA","query_class":"IN","rcode":"NXDOMAIN","answers":[],"srcaddr":"10.0.0.1","srcport":"-","transport":"TCP","srcids":{"resolver_endpoint":"rslvr-in-1","resolver_network_interface":"rni-1"},"firewall_rule_group_id":"rslvr-frg-1","firewall_rule_action":"ALERT","firewall_domain_list_id":"rslvr-fdl-1","firewall_protection":"DGA","new_member":{"x":[1,"y"]}}
{"vers\u0069on":"1.1","query_name":"\u00e9t\u00e9.example.","srcport":"53","answers":[{"Rdata":"a","Type":"CNAME","Class":"IN"},{"rdata":"b"}],"srcids":null,"rcode":null}
{"query_timestamp":"2021-02-04T17:51:55Z","account_id":"1","account_id":"2","x":1}
`)
	var n int
	for _, p := range append(paths, "") {
		data := extra
		if p != "" {
			var err error
			if data, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
		for _, raw := range resolverRaws(t, data) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
			canonical := resolverLine(t, m, keys)
			slices.Reverse(keys)
			reversed := resolverLine(t, m, keys)
			a, b := decodeOneResolver(t, canonical), decodeOneResolver(t, reversed)
			if !sameJSON(t, a.Unmapped, b.Unmapped) {
				t.Fatalf("unmapped differs: %s vs %s", a.Unmapped, b.Unmapped)
			}
			a.Unmapped, b.Unmapped = nil, nil
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("in Resolver's order:\n%+v\nreversed:\n%+v\n(%s)", a, b, canonical)
			}
			// One decoder learns the order as it goes: orders changing from line to line decode
			// the same too.
			mixed := slices.Concat(canonical, reversed, reversed, canonical)
			for _, q := range decodeResolverLines(t, mixed) {
				q.Unmapped = nil
				if !reflect.DeepEqual(q, a) {
					t.Fatalf("orders mixed in one object:\n%+v\nalone:\n%+v", q, a)
				}
			}
			n++
		}
	}
	if n < 8 {
		t.Fatalf("only %d sample records", n)
	}
}

// resolverRaws returns the text of every record of a Resolver object.
func resolverRaws(t *testing.T, data []byte) [][]byte {
	dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceResolver}, bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var rec Record
	for {
		if err := dec.Next(&rec); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(rec.Raw))
	}
}

func resolverLine(t *testing.T, m map[string]json.RawMessage, keys []string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		if err := json.Compact(&b, m[k]); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func decodeResolverLines(t *testing.T, lines []byte) []*ResolverQuery {
	dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceResolver}, bytes.NewReader(lines), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*ResolverQuery
	var rec Record
	for {
		if err := dec.Next(&rec); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.DNS)
	}
}

func decodeOneResolver(t *testing.T, line []byte) *ResolverQuery {
	dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceResolver}, bytes.NewReader(line), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := dec.Next(&rec); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return rec.DNS
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		t.Fatalf("unmapped is not JSON: %s / %s", a, b)
	}
	return reflect.DeepEqual(x, y)
}

// TestResolverAnswerOrder: an answer's members decode the same in any order, escaped or not.
func TestResolverAnswerOrder(t *testing.T) {
	q := decodeOneResolver(t, []byte(`{"answers":[{"Rdata":"x","Type":"A","Class":"IN"},{"Class":"IN","Type":"A","Rdata":"x"},`+
		`{"Type":"A","Rdata":"x","Class":"IN","TTL":"60"},{"\u0052data":"x","type":"A","class":"IN"},{ "Rdata" : "x" , "Type":"A","Class":"IN"}]}`+"\n"))
	want := ResolverAnswer{RData: "x", Type: "A", Class: "IN"}
	if len(q.Answers) != 5 {
		t.Fatalf("%d answers", len(q.Answers))
	}
	for i, a := range q.Answers {
		if a != want {
			t.Errorf("answer %d: %+v, want %+v", i, a, want)
		}
	}
}
