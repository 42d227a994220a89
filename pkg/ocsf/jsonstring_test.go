package ocsf

import (
	"encoding/json"
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
