package validate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEscape: whatever a key holds, its printed form is one line of valid UTF-8 without control
// characters, and keys that need no escaping print unchanged.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"AWSLogs/1/k.json.gz", "a\nb\tc", "\x1b[2J", "\u202eevil", "\xff\xfe", `back\slash`, "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !utf8.ValidString(e) || strings.ContainsAny(e, "\n\r\t\x00\x1b\u2028\u2029\u202e\x7f") {
			t.Fatalf("Escape(%q) = %q", s, e)
		}
		clean := true
		for _, r := range s {
			clean = clean && !needsEscape(r)
		}
		if clean && e != s {
			t.Fatalf("clean %q changed to %q", s, e)
		}
		if !clean && e == s {
			t.Fatalf("%q not escaped", s)
		}
	})
}
