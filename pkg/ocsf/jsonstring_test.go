package ocsf

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// jsonStringParsed is jsonString without the look before parsing: the reference.
func jsonStringParsed(doc json.RawMessage, path ...string) string {
	var v any
	if len(doc) == 0 || json.Unmarshal(doc, &v) != nil {
		return ""
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

var jsonStringSeeds = []string{``, `{}`, `null`, `{"UserName":"alice"}`, `{"userName":"UserName"}`,
	`{"U\u0073erName":"escaped"}`, `{"credentials":{"expiration":"Jul 18, 2023, 4:07:39 PM"}}`,
	`{"credentials":{"expiration":1}}`, `{"a":"\"UserName\""}`, `{"UserName":["x"]}`, `{"UserName":"x"`,
	`["UserName"]`, `{"LoginTo":"https://console.aws.amazon.com","MFAUsed":"No"}`}

// FuzzJSONString checks that looking for the quoted names before parsing never changes what
// jsonString returns.
func FuzzJSONString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s, "UserName", "")
		f.Add(s, "credentials", "expiration")
	}
	f.Fuzz(func(t *testing.T, doc, k1, k2 string) {
		path := []string{k1}
		if k2 != "" {
			path = append(path, k2)
		}
		if got, want := jsonString(json.RawMessage(doc), path...), jsonStringParsed(json.RawMessage(doc), path...); got != want {
			t.Errorf("jsonString(%q, %q) = %q, parsing says %q", doc, path, got, want)
		}
	})
}

// FuzzFlattenJSONWalk checks the in-place walk of flattenJSON against decoding the document.
// Where two paths collide ({"a.b":1,"a":{"b":2}}) decoding joins their values in map order, so
// only the set of values is compared.
func FuzzFlattenJSONWalk(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[1,{"c":"d"}]}}`, `[]`, `"x"`, `{"a":null}`, `{"a":[[1,2],[3]]}`, `{`,
		`{"a":1,"a":2}`, `{"a":"\u00e9\ud800","b":-1.5e3,"c":true,"d":false}`, `{"a.b":1,"a":{"b":2}}`,
		`{"a":[{"b":1},{"b":2},{"c":[true,null,"x"]}]} `, `{"a":1} x`, "{\"a\":\"\xff\"}", `{"":{"":[""]}}`,
		`{"sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":"2023-07-10T10:00:00Z"}}}`} {
		f.Add([]byte(s), "p")
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, doc []byte, prefix string) {
		got, want := map[string]string{"keep": "x"}, map[string]string{"keep": "x"}
		skip := func(p string) bool { return strings.HasSuffix(p, ".skip") }
		gerr := flattenJSON(got, prefix, doc, skip)
		werr := flattenDecoded(want, prefix, doc, skip)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("%q: error %v, decoding says %v", doc, gerr, werr)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %v, decoding says %v", doc, got, want)
		}
		for k, v := range want {
			if got[k] == v {
				continue
			}
			g, w := strings.Split(got[k], ","), strings.Split(v, ",")
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) || !strings.Contains(string(doc), ".") {
				t.Fatalf("%q: %q = %q, decoding says %q", doc, k, got[k], v)
			}
		}
	})
}
