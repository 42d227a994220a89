package filter

import (
	"encoding/json"
	"testing"
)

// The worked examples of the TestMetricFilter API reference and the 2026 recording's numbering.
func TestTestMessages(t *testing.T) {
	cases := []struct {
		pattern string
		msgs    []string
		want    string
	}{
		{`[]`, []string{"a b c", "d"},
			`{"matches":[{"eventNumber":1,"eventMessage":"a b c","extractedValues":{"$1":"a","$2":"b","$3":"c"}},{"eventNumber":2,"eventMessage":"d","extractedValues":{"$1":"d"}}]}`},
		{`[,,]`, []string{"127.0.0.1 - frank"},
			`{"matches":[{"eventNumber":1,"eventMessage":"127.0.0.1 - frank","extractedValues":{"$1":"127.0.0.1","$2":"-","$3":"frank"}}]}`},
		{`{ $.a = 1 }`, []string{`{"a":2}`, `{"a":1}`},
			`{"matches":[{"eventNumber":2,"eventMessage":"{\"a\":1}","extractedValues":{}}]}`},
		{`ERROR`, []string{"INFO"}, `{"matches":[]}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(TestMessages(MustCompile(c.pattern), c.msgs))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.pattern, got, c.want)
		}
	}
}
