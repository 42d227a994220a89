package digest

import (
	"encoding/json"
	"testing"
)

func TestPyStr(t *testing.T) {
	for raw, want := range map[string]string{
		`"a\/b"`: "a/b", "null": "None", "true": "True", "false": "False", "123456789012": "123456789012",
		"-0": "0", "1.0": "1.0", "1e5": "100000.0", "1e16": "1e+16", "1.5e-7": "1.5e-07", "0.0001": "0.0001",
		"123.456": "123.456", "1E400": "inf", "99999999999999999999999": "99999999999999999999999",
	} {
		if got := pyStr(json.RawMessage(raw)); got != want {
			t.Errorf("pyStr(%s) = %q, want %q", raw, got, want)
		}
	}
}
