package filter

import (
	"errors"
	"strings"
	"testing"
)

type matchCase struct {
	pattern string
	msg     string
	want    bool
}

func runMatch(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match([]byte(c.msg)); got != c.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", c.pattern, c.msg, got, c.want)
		}
	}
}

// Spec §9: the fifteen illustrative examples (14 and 15 are in TestElevatedRole and transform_test).
func TestSpecExamples(t *testing.T) {
	runMatch(t, []matchCase{
		{`ERROR`, `xERRORS`, true},
		{`?ERROR timeout`, `INFO timeout`, true},
		{`a-b`, `a-b`, false},
		{`" "`, `nospace`, false},
		{`%a.b%`, "a\nb", false},
		{`{ $.a = 1 }`, `{"a":"01"}`, false},
		{`{ $.a > 0 }`, `{"a":"1"}`, false},
		{`{ $.a = 9007199254740992 }`, `{"a":9007199254740993}`, false},
		{`{ $.a IS NULL }`, `{"a":[null,2]}`, true},
		{`{ $.a[*] != 2 }`, `{"a":[1,2]}`, false},
		{`{ $.a.b = 2 }`, `{"a":[{"b":2}]}`, false},
	})
	for _, c := range []struct {
		pattern, msg string
		want         []Field
	}{
		{`[a, rest]`, "a  b   c ", []Field{{"$a", "a"}, {"$rest", "b   c "}}},
		{`[..., last]`, "a b c d", []Field{{"$1", "a"}, {"$2", "b"}, {"$3", "c"}, {"$last", "d"}}},
	} {
		r := MustCompile(c.pattern).MatchFields([]byte(c.msg))
		if !r.Matched || !equalFields(r.Fields, c.want) {
			t.Errorf("%q on %q = %+v, want match with %v", c.pattern, c.msg, r, c.want)
		}
	}
}

func equalFields(a, b []Field) bool {
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

const switchRole = `{($.eventName = "SwitchRole") && ($.userIdentity.arn = "arn:aws:sts::*:assumed-role/elevated-security-role/*") }`

func TestElevatedRole(t *testing.T) {
	ev := func(name, arn string) string {
		return `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"` + arn + `"},"eventName":"` + name + `","eventSource":"signin.amazonaws.com"}`
	}
	runMatch(t, []matchCase{
		{switchRole, ev("SwitchRole", "arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice"), true},
		{switchRole, ev("SwitchRole", "arn:aws:sts::210987654321:assumed-role/elevated-security-role/bob@example.com"), true},
		{switchRole, ev("SwitchRole", "arn:aws:sts::123456789012:assumed-role/readonly-role/alice"), false},
		{switchRole, ev("SwitchRole", "arn:aws:sts::123456789012:assumed-role/elevated-security-role-2/alice"), false},
		{switchRole, ev("SwitchRole", "arn:aws:sts::123456789012:assumed-role/my-elevated-security-role/alice"), false},
		{switchRole, ev("SwitchRole", "arn:aws:iam::123456789012:role/elevated-security-role/alice"), false},
		{switchRole, ev("ConsoleLogin", "arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice"), false},
		{switchRole, `{"eventName":"SwitchRole"}`, false},
		// Escaped JSON text is compared decoded.
		{switchRole, `{"eventName":"Switch\u0052ole","userIdentity":{"arn":"arn:aws:sts::1:assumed-role\/elevated-security-role\/x"}}`, true},
	})
}

// Spec §2: unstructured terms.
func TestTerms(t *testing.T) {
	runMatch(t, []matchCase{
		{``, `anything`, true},
		{`   `, ``, true},
		{`ERROR`, `an ERROR here`, true},
		{`ERROR`, `an error here`, false},
		{`ERROR Exception`, `ERROR x Exception`, true},
		{`ERROR Exception`, `ERROR only`, false},
		{`"ERROR Exception"`, `ERROR Exception`, true},
		{`"ERROR Exception"`, `ERROR  Exception`, false},
		{`"a*b"`, `a*b`, true},
		{`"a*b"`, `axb`, false},
		{`ERROR -Throttled`, `ERROR Throttled`, false},
		{`ERROR -Throttled`, `ERROR other`, true},
		{`-DEBUG`, `INFO x`, true},
		{`-DEBUG`, `DEBUG x`, false},
		{`?ERROR ?WARN`, `WARN x`, true},
		{`?ERROR ?WARN`, `INFO x`, false},
		{`?ERROR -INFO`, `INFO x`, false},
		{`?ERROR -INFO`, `DEBUG x`, true}, // ? ignored beside a - term
		{`a?b`, `a`, true},                // a ?b: ?b ignored
		{`a?b`, `b`, false},
		{`and`, `a and b`, true},
		{`AND OR`, `AND x`, false},
		{`v1.2_x`, `v1.2_x`, true},
		{`Ärger`, `viel Ärger`, true},
		{`-"a b"`, `a b`, false},
	})
}

// Spec §3: regex semantics.
func TestRegex(t *testing.T) {
	runMatch(t, []matchCase{
		{`%ERR[0-9]+%`, `x ERR42 y`, true},
		{`%^ERR%`, `x ERR`, false},
		{`%^ERR%`, `ERR x`, true},
		{`%x$%`, "ab x", true},
		{`%\s%`, "a\nb", true},
		{`%a\x28b%`, `a(b`, true},
		{`%a.*?b%`, `a--b`, true},
		{`%\d{2,3}%`, `a12`, true},
		{`%\-\:%`, `-:`, true},
		{`{ $.eventType = %Trail% }`, `{"eventType":"UpdateTrail"}`, true},
		{`{ $.eventType != %Trail% }`, `{"eventType":"UpdateTrail"}`, false},
		{`{ $.eventType != %Trail% }`, `{"eventType":"Other"}`, true},
		{`{ $.n = %^4% }`, `{"n":404}`, true},
		{`{ $.n = %\.0$% }`, `{"n":4e2}`, true}, // rendered 400.0
		{`{ $.b = %true% }`, `{"b":true}`, false},
		{`{ $.b != %x% }`, `{"b":null}`, false},
		{`[ip, user = %^adm%]`, `1.2.3.4 admin`, true},
		{`[ip, user = %^adm% || user = root]`, `1.2.3.4 root`, true},
	})
}

// Spec §4.5 comparison table, row by row.
func TestComparisonTable(t *testing.T) {
	values := map[string]string{
		"num": `{"v":404}`, "dbl": `{"v":404.0}`, "inf": `{"v":1e400}`, "str": `{"v":"404"}`,
		"true": `{"v":true}`, "null": `{"v":null}`, "obj": `{"v":{"a":1}}`, "arr": `{"v":[404]}`,
		"missing": `{"w":1}`, "str4": `{"v":"4x4"}`,
	}
	cases := []struct {
		pattern string
		want    map[string]bool // absent keys: false
	}{
		{`{ $.v = 404 }`, map[string]bool{"num": true, "dbl": true, "str": true}},
		{`{ $.v = 404.00 }`, map[string]bool{"num": true, "dbl": true}}, // string compares source text
		{`{ $.v = 4.04e2 }`, map[string]bool{"num": true, "dbl": true}},
		{`{ $.v != 404 }`, map[string]bool{"str4": true}},
		{`{ $.v != 405 }`, map[string]bool{"num": true, "dbl": true, "str": true, "str4": true}},
		{`{ $.v < 405 }`, map[string]bool{"num": true, "dbl": true}},
		{`{ $.v >= 404 }`, map[string]bool{"num": true, "dbl": true}},
		{`{ $.v > 404 }`, map[string]bool{}},
		{`{ $.v = "404" }`, map[string]bool{"num": true, "str": true}}, // 404.0 renders "404.0"
		{`{ $.v = "404.0" }`, map[string]bool{"dbl": true}},
		{`{ $.v = "Infinity" }`, map[string]bool{"inf": true}},
		{`{ $.v != "404" }`, map[string]bool{"dbl": true, "inf": true, "str4": true}},
		{`{ $.v = * }`, map[string]bool{"num": true, "dbl": true, "inf": true, "str": true, "str4": true}},
		{`{ $.v = "*" }`, map[string]bool{"num": true, "dbl": true, "inf": true, "str": true, "str4": true}},
		{`{ $.v = 4* }`, map[string]bool{"num": true, "dbl": true, "str": true, "str4": true}},
		{`{ $.v = "4*4" }`, map[string]bool{"num": true, "str": true, "str4": true}},
		{`{ $.v = true }`, map[string]bool{}}, // bare true is a string
		{`{ $.v IS TRUE }`, map[string]bool{"true": true}},
		{`{ $.v IS FALSE }`, map[string]bool{}},
		{`{ $.v IS NULL }`, map[string]bool{"null": true}},
		{`{ $.v NOT EXISTS }`, map[string]bool{"missing": true}},
		{`{ $.v = %4% }`, map[string]bool{"num": true, "dbl": true, "str": true, "str4": true}},
		{`{ $.v != %x% }`, map[string]bool{"num": true, "dbl": true, "inf": true, "str": true}},
	}
	for _, c := range cases {
		p := MustCompile(c.pattern)
		for name, msg := range values {
			if got := p.Match([]byte(msg)); got != c.want[name] {
				t.Errorf("%s on %s (%s) = %v, want %v", c.pattern, name, msg, got, c.want[name])
			}
		}
	}
}

func TestJSONSemantics(t *testing.T) {
	runMatch(t, []matchCase{
		// Numbers (§4.4).
		{`{ $.a = 1 }`, `{"a":1.0}`, true},
		{`{ $.a = 1 }`, `{"a":1e0}`, true},
		{`{ $.a = 1.0 }`, `{"a":1}`, true},
		{`{ $.a = 0.1 }`, `{"a":0.1}`, true},
		{`{ $.a = 0 }`, `{"a":1e-400}`, true},  // underflow is zero
		{`{ $.a > 0 }`, `{"a":1e-400}`, false}, //
		{`{ $.a = 1e-400 }`, `{"a":0}`, false}, // a literal is exact
		{`{ $.a = -0 }`, `{"a":-0.0}`, true},
		{`{ $.a != 1 }`, `{"a":1e400}`, false}, // Infinity is not comparable
		{`{ $.a = 9007199254740993 }`, `{"a":9007199254740993}`, true},
		{`{ $.a = 12345678901234567890123 }`, `{"a":12345678901234567890123}`, true},
		{`{ $.a = 1 }`, `{"a":"1"}`, true},
		{`{ $.a = 1.0 }`, `{"a":"1"}`, false},
		{`{ $.a = "1" }`, `{"a":1.0}`, false},
		{`{ $.a = "1e0" }`, `{"a":1e0}`, false},
		{`{ $.a = "1.0" }`, `{"a":1e0}`, true},
		{`{ $.a = "1.0E7" }`, `{"a":1e7}`, true},
		{`{ $.a = "1.0E-5" }`, `{"a":0.00001}`, true},
		// Selectors (§4.2).
		{`{ $.a-b = 1 }`, `{"a-b":1}`, true},
		{`{ $.['cluster.name'] = x }`, `{"cluster.name":"x"}`, true},
		{`{ $.a[1] = 2 }`, `{"a":[1,2]}`, true},
		{`{ $.a[0][1] = 2 }`, `{"a":[[1,2]]}`, true},
		{`{ $.a[0] = 1 }`, `{"a":{"0":1}}`, false},
		{`{ $.A = 1 }`, `{"a":1}`, false},
		{`{ $.a.b NOT EXISTS }`, `{"a":[{"b":2}]}`, true},
		{`{ $.a = 1 }`, `{"a":2,"a":1}`, true}, // last duplicate wins
		// Only a whole JSON object can match (§4.3).
		{`{ $.a NOT EXISTS }`, `[1]`, false},
		{`{ $.a NOT EXISTS }`, `{"b":1} x`, false},
		{`{ $.a NOT EXISTS }`, `prefix {"b":1}`, false},
		{`{ $.a NOT EXISTS }`, `{"b":1,}`, false},
		{`{ $.a NOT EXISTS }`, `{"b":01}`, false},
		{`{ $.a NOT EXISTS }`, " \n{\"b\":[1, 2.5e3, true, null, \"\\u00e9\"]}\n ", true},
		// IS NULL quirk, NOT EXISTS vs null (§4.5).
		{`{ $.a IS NULL }`, `{"a":[2,null]}`, true},
		{`{ $.a IS NULL }`, `{"a":[[null]]}`, false},
		{`{ $.a IS NULL }`, `{"a":[]}`, false},
		{`{ $.a IS NULL }`, `{}`, false},
		{`{ $.a NOT EXISTS }`, `{"a":null}`, false},
		{`{ $.a IS TRUE }`, `{"a":"true"}`, false},
		{`{ $.a IS TRUE }`, `{"a":[true]}`, false},
		{`{ $.a is null }`, `{"a":null}`, true},
		{`{ $.a not exists }`, `{}`, true},
		// Objects and arrays satisfy no comparison.
		{`{ $.users = 1 }`, `{"users":[1]}`, false},
		{`{ $.users != 1 }`, `{"users":[1]}`, false},
		// Boolean structure and precedence: && binds tighter than ||.
		{`{ $.a = 1 || $.b = 1 && $.c = 1 }`, `{"a":1}`, true},
		{`{ ($.a = 1 || $.b = 1) && $.c = 1 }`, `{"a":1}`, false},
		{`{$.a=1&&$.b=2}`, `{"a":1,"b":2}`, true},
		// Globs: every * is a wildcard (§4.5 [DEC]).
		{`{ $.e = "*Event" }`, `{"e":"MyEvent"}`, true},
		{`{ $.e = "Ev*ent" }`, `{"e":"EvXYZent"}`, true},
		{`{ $.e = "Ev*ent" }`, `{"e":"Event"}`, true},
		{`{ $.e = "Ev*ent" }`, `{"e":"Evnt"}`, false},
		{`{ $.e = a*b*c }`, `{"e":"aXbYc"}`, true},
		{`{ $.e = a*b*c }`, `{"e":"aXcYb"}`, false},
		{`{ $.ip = 123.123.* }`, `{"ip":"123.123.0.1"}`, true},
		{`{ $.e != "a*" }`, `{"e":"ba"}`, true},
		{`{ $.e != "a*" }`, `{"e":"ab"}`, false},
		// Quoted escapes.
		{`{ $.q = "say \"hi\"" }`, `{"q":"say \"hi\""}`, true},
	})
}

// Spec §4.7: wildcard selectors.
func TestWildcards(t *testing.T) {
	runMatch(t, []matchCase{
		{`{ $.a[*] = 2 }`, `{"a":[1,2]}`, true},
		{`{ $.a.* = 2 }`, `{"a":[1,2]}`, true},
		{`{ $.a[*] = 2 }`, `{"a":{"x":1,"y":2}}`, true},
		{`{ $.* = 2 }`, `{"x":1,"y":2}`, true},
		{`{ $.a[*].b = 2 }`, `{"a":[{"b":1},{"b":2}]}`, true},
		{`{ $.a[*].b > 1 }`, `{"a":[{"b":1},{"c":5}]}`, false},
		{`{ $.a[*] != 3 }`, `{"a":[1,2]}`, true},
		{`{ $.a[*] != 3 }`, `{"a":[]}`, true},
		{`{ $.a[*] != 3 }`, `{"a":null}`, true},
		{`{ $.a[*] != 3 }`, `{"a":7}`, true},
		{`{ $.a[*] != 3 }`, `{}`, false},
		{`{ $.a[*].b != 3 }`, `{"a":[{"c":3}]}`, true},
		{`{ $.a[*] IS NULL }`, `{"a":[1,null]}`, true},
		{`{ $.a[*] IS NULL }`, `{"a":null}`, false},
		{`{ $.a[*] NOT EXISTS }`, `{"a":[]}`, true},
		{`{ $.a[*] NOT EXISTS }`, `{"a":{}}`, true},
		{`{ $.a[*] NOT EXISTS }`, `{"a":5}`, true},
		{`{ $.a[*] NOT EXISTS }`, `{}`, true},
		{`{ $.a[*] NOT EXISTS }`, `{"a":[1]}`, false},
		{`{ $.a[*] IS TRUE }`, `{"a":[false,true]}`, true},
		{`{ $.a[*] = x && $.a[0] = y }`, `{"a":["y","x"]}`, true},
	})
}

// Spec §5: space-delimited patterns.
func TestSpaceDelimited(t *testing.T) {
	const flow = `2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 REJECT OK`
	f14 := `[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, windowstart, windowend, action, flowlogstatus]`
	runMatch(t, []matchCase{
		{`[]`, ``, true},
		{`[]`, `a b`, true},
		{`[ERROR]`, `nothing to do with errors`, true},
		{strings.Replace(f14, "action,", "action = REJECT,", 1), flow, true},
		{strings.Replace(f14, "action,", "action = ACCEPT,", 1), flow, false},
		{strings.Replace(f14, "destport,", "destport = 22,", 1), flow, true},
		{strings.Replace(f14, "destport,", "destport = 22.0,", 1), flow, true},
		{strings.Replace(f14, "destport,", "destport != 22,", 1), flow, false},
		{strings.Replace(f14, "bytes,", "bytes > 4000,", 1), flow, true},
		{strings.Replace(f14, "bytes,", "bytes >= 5000,", 1), flow, false},
		{strings.Replace(f14, "destport,", "destport = 2*,", 1), flow, true},
		{strings.Replace(f14, "destport,", `destport = "22",`, 1), flow, true},
		{`[a, b, c]`, `x y`, false},
		{`[a, b, c]`, `x y z w`, true},
		{`[a = x, ..., z = w]`, `x y z w`, true},
		{`[a = x, ..., z = z]`, `x y z w`, false},
		{`[..., z = w]`, `w`, true},
		{`[a, ...]`, `x`, true},
		{`[a, ...]`, ``, false},
		{`[a, ..., z]`, `x`, false},
		{`[ip, user = "-", ts, req = "*.html*", status = 4* || status = 5*, size]`,
			`127.0.0.1 - [10/Oct/2000:13:55:36 -0700] "GET /a.html HTTP/1.0" 404 2326`, true},
		{`[ip, user, ts, req, status = 4* && status != 404, size]`,
			`127.0.0.1 - [10/Oct/2000:13:55:36 -0700] "GET /a.html HTTP/1.0" 404 2326`, false},
		{`[a, b = 5]`, `x five`, false},
		{`[a, b > 1]`, `x 1e3`, true},
		{`[a, b = 1]`, `x 01`, true},
		{`[a, b = %^f.v%]`, `x five`, true},
		{`[a,b,c]`, "x\ty\t\tz", true},
	})
	r := MustCompile(`[ip, user, ts, req, status, size]`).MatchFields(
		[]byte(`127.0.0.1 - [10/Oct/2000:13:55:36 -0700] "GET /a.html HTTP/1.0" 404 2326`))
	want := []Field{{"$ip", "127.0.0.1"}, {"$user", "-"}, {"$ts", "10/Oct/2000:13:55:36 -0700"},
		{"$req", "GET /a.html HTTP/1.0"}, {"$status", "404"}, {"$size", "2326"}}
	if !r.Matched || !equalFields(r.Fields, want) {
		t.Errorf("apache fields = %+v, want %v", r, want)
	}
	r = MustCompile(`[a,]`).MatchFields([]byte(`x y z`))
	if want := []Field{{"$a", "x"}, {"$2", "y z"}}; !r.Matched || !equalFields(r.Fields, want) {
		t.Errorf("trailing comma fields = %+v, want %v", r, want)
	}
	r = MustCompile(`[]`).MatchFields([]byte(`p "q r" [s]`))
	if want := []Field{{"$1", "p"}, {"$2", "q r"}, {"$3", "s"}}; !r.Matched || !equalFields(r.Fields, want) {
		t.Errorf("[] fields = %+v, want %v", r, want)
	}
	r = MustCompile(`[a, b]`).MatchFields([]byte(`x "unterminated y`))
	if want := []Field{{"$a", "x"}, {"$b", `"unterminated y`}}; !r.Matched || !equalFields(r.Fields, want) {
		t.Errorf("opener without closer = %+v, want %v", r, want)
	}
}

// Must-reject patterns from the spec, with the kind of error expected.
func TestReject(t *testing.T) {
	cases := []struct {
		pattern string
		kind    ErrorKind
	}{
		{`{ $.a = 1`, ErrSyntax},
		{`%abc`, ErrSyntax},
		{`%a% %b%`, ErrInvalidChar},
		{`a*b`, ErrInvalidChar},
		{`a!`, ErrInvalidChar},
		{`a:b`, ErrInvalidChar},
		{`a/b`, ErrInvalidChar},
		{`@a`, ErrInvalidChar},
		{`a%b%`, ErrInvalidChar},
		{`a#b`, ErrInvalidChar},
		{`a(b`, ErrInvalidChar},
		{`a[b`, ErrInvalidChar},
		{`- x`, ErrInvalidChar},
		{`{ $.a > %x% }`, ErrSyntax},
		{`{ $.a = "x }`, ErrSyntax},
		{`{ $.a = %x }`, ErrSyntax},
		{`{ $.a = 1 $.b = 2 }`, ErrSyntax},
		{`{ $.a.['b = 1 }`, ErrSyntax},
		{`""`, ErrInvalidChar},
		{`"abc`, ErrSyntax},
		{`"abc"def`, ErrSyntax},
		{`ERROR %abc%`, ErrInvalidChar},
		{`?%abc%`, ErrInvalidChar},
		{`%%`, ErrRegex},
		{`%a(b%`, ErrRegex},
		{`%a\(b%`, ErrRegex},
		{`%a!b%`, ErrRegex},
		{`%a&b%`, ErrRegex},
		{`%aé%`, ErrRegex},
		{`%\p{L}%`, ErrRegex},
		{`%[b-a]%`, ErrRegex},
		{`%a*+%`, ErrRegex},
		{`%\x{41}%`, ErrRegex},
		{`%[[:alpha:]]%`, ErrRegex},
		{`%\bword%`, ErrRegex},
		{`%a{,3}%`, ErrRegex},
		{`%a{x%`, ErrRegex},
		{`{ $.a = %x% || $.b = %y% || $.c = %z% }`, ErrLimit},
		{`[a = %x%, b = %y%, c = %z%]`, ErrLimit},
		{`{ $.a = 1 AND $.b = 2 }`, ErrInvalidChar},
		{`{ $.a = 1 OR $.b = 2 }`, ErrInvalidChar},
		{`{ $.a == 1 }`, ErrSyntax},
		{`{ $.a = null }`, ErrSyntax},
		{`{ $.a IS NOT NULL }`, ErrInvalidChar},
		{`{ $.a EXISTS }`, ErrInvalidChar},
		{`{ $ = 1 }`, ErrInvalidChar},
		{`{ $[0] = 1 }`, ErrInvalidChar},
		{`{ $['a'] = 1 }`, ErrInvalidChar},
		{`{ $.a["b"] = 1 }`, ErrInvalidChar},
		{`{ $.a[-1] = 1 }`, ErrInvalidChar},
		{`{ $.a < "5" }`, ErrSyntax},
		{`{ $.a > abc }`, ErrSyntax},
		{`{ $.a = b:c }`, ErrInvalidChar},
		{`{ $.a = b@c }`, ErrInvalidChar},
		{`{ $.a = 1e99999999999 }`, ErrSyntax},
		{`{ $.a[*].b[*] = 1 }`, ErrLimit},
		{`{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }`, ErrLimit},
		{`{ }`, ErrSyntax},
		{`{ ($.a = 1 }`, ErrSyntax},
		{`{ $.a = 1 && }`, ErrSyntax},
		{`[1a]`, ErrInvalidChar},
		{`[a, a]`, ErrSyntax},
		{`[..., a, ...]`, ErrSyntax},
		{`[a == 1]`, ErrSyntax},
		{`[a < "1"]`, ErrSyntax},
		{`[a = 1 && b = 2]`, ErrSyntax},
		{`[a = 1`, ErrSyntax},
		{strings.Repeat("a", MaxPatternLength+1), ErrLimit},
	}
	for _, c := range cases {
		_, err := Compile(c.pattern)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%q) = %v, want *Error of kind %v", c.pattern, err, c.kind)
			continue
		}
		if fe.Kind != c.kind {
			t.Errorf("Compile(%q) kind = %v (%v), want %v", c.pattern, fe.Kind, fe, c.kind)
		}
		if fe.Pattern != c.pattern || fe.Msg == "" {
			t.Errorf("Compile(%q) error lacks pattern or message: %+v", c.pattern, fe)
		}
	}
}

func TestAcceptEdges(t *testing.T) {
	for _, p := range []string{
		strings.Repeat("a", MaxPatternLength),
		strings.Repeat("é", MaxPatternLength), // characters, not bytes
		`{ $.a = %x% || $.b = %y% }`,
		`{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
		`{ $.a = 1e2147483647 }`,
		`{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 }`,
		`%a.*?b%`,
		`%[a-z]{2,}%`,
		`%\w\W\d\D\s\S\x41\-\.\*%`,
		`[a, ..., b]`,
		`[,]`,
		`{ $.a = kms.amazonaws.com }`,
		`{ $.a IS null }`,
	} {
		if _, err := Compile(p); err != nil {
			t.Errorf("Compile(%q): %v", p, err)
		}
	}
}

func TestRenderNumber(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"1", "1"}, {"-0", "0"}, {"1.0", "1.0"}, {"1000.0", "1000.0"}, {"1e3", "1000.0"},
		{"1e7", "1.0E7"}, {"1.5e308", "1.5E308"}, {"1e400", "Infinity"}, {"-1e400", "-Infinity"},
		{"0.001", "0.001"}, {"0.0001", "1.0E-4"}, {"1e-5", "1.0E-5"}, {"-0.0", "-0.0"}, {"9999999.0", "9999999.0"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
	} {
		if got := renderNumber([]byte(c.raw)); got != c.want {
			t.Errorf("renderNumber(%s) = %s, want %s", c.raw, got, c.want)
		}
	}
}

func TestRequire(t *testing.T) {
	cases := []struct {
		pattern, sel string
		ok           bool
		allow, deny  []string
	}{
		{switchRole, "$.eventName", true, []string{"SwitchRole"}, []string{"", "ConsoleLogin"}},
		{switchRole, "$.userIdentity.arn", true, []string{"arn:aws:sts::1:assumed-role/elevated-security-role/x"}, []string{"arn:aws:sts::1:assumed-role/other/x"}},
		{`{ ($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }`, "$.eventName", true,
			[]string{"DisableKey", "ScheduleKeyDeletion"}, []string{"EnableKey"}},
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, "$.errorCode", true,
			[]string{"Client.UnauthorizedOperation", "AccessDeniedException"}, []string{"Throttling"}},
		{`{ $.eventName = A || $.eventSource = B }`, "$.eventName", false, nil, nil},
		{`{ $.eventName != A }`, "$.eventName", false, nil, nil},
		{`{ $.eventName > 4 }`, "$.eventName", false, nil, nil},
		{`{ $.eventName IS NULL }`, "$.eventName", false, nil, nil},
		// Number text is always allowed: a number's rendering need not equal its JSON text.
		{`{ $.eventName = 42 }`, "$.eventName", true, []string{"42", "4.2e1", "1"}, []string{"x42", ""}},
		{`{ $.eventName = "1.0" }`, "$.eventName", true, []string{"1.0", "1e0"}, []string{"one"}},
		{`{ $.eventName = * }`, "$.eventName", true, []string{"x", "7", ""}, nil},
		{`{ $.eventName = %^Delete% }`, "$.eventName", true, []string{"DeleteBucket"}, []string{"PutBucket"}},
		{`{ $.resources[*].ARN = "arn:aws:kms:*" }`, "$.resources[*].ARN", true, []string{"arn:aws:kms:us-east-1:1:key/x"}, []string{"arn:aws:s3:::b"}},
		{`{ $.resources[*].ARN = "arn:aws:kms:*" }`, "$.resources.*.ARN", true, []string{"arn:aws:kms:x"}, nil},
		{`ERROR`, "$.eventName", false, nil, nil},
		{`{ $.other = A }`, "$.eventName", false, nil, nil},
	}
	for _, c := range cases {
		r, ok := MustCompile(c.pattern).Require(c.sel)
		if ok != c.ok {
			t.Errorf("%s on %s: ok = %v, want %v", c.pattern, c.sel, ok, c.ok)
			continue
		}
		for _, s := range c.allow {
			if !r.Allows(s) {
				t.Errorf("%s on %s should allow %q", c.pattern, c.sel, s)
			}
		}
		for _, s := range c.deny {
			if r.Allows(s) {
				t.Errorf("%s on %s should not allow %q", c.pattern, c.sel, s)
			}
		}
	}
}

// TestSetAgreesWithMatch: evaluating patterns together (one scan) gives each pattern's own verdict.
func TestSetAgreesWithMatch(t *testing.T) {
	patterns := []*Pattern{
		MustCompile(switchRole),
		MustCompile(`{ $.userIdentity.arn = "*alice" || $.a[*].b = 2 }`),
		MustCompile(`{ $.a[*].b NOT EXISTS }`),
		MustCompile(`ERROR`),
		MustCompile(`[x, y = 2*]`),
		MustCompile(`{ $.eventName = SwitchRole && $.n > 3 }`),
		MustCompile(``),
	}
	set := NewSet(patterns)
	msgs := []string{
		`{"eventName":"SwitchRole","userIdentity":{"arn":"arn:aws:sts::1:assumed-role/elevated-security-role/alice"},"n":4}`,
		`{"a":[{"b":2}],"eventName":"x"}`,
		`ERROR 2x`,
		`{"a":[]} trailing`,
		`{"a":[{"c":1}],"n":3}`,
	}
	for _, m := range msgs {
		ev := set.Begin([]byte(m))
		for i, p := range patterns {
			if got, want := ev.Match(i), p.Match([]byte(m)); got != want {
				t.Errorf("set pattern %d (%s) on %s = %v, alone %v", i, p, m, got, want)
			}
		}
		ev.Release()
	}
}

func TestLooksNumeric(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "-1": true, "1.5": true, "1e5": true, "1E+5": true, "-0.0e-0": true,
		"": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false, "abc": false, "192.168.1.1": false, "123837392027": true} {
		if got := looksNumeric(s); got != want {
			t.Errorf("looksNumeric(%q) = %v", s, got)
		}
	}
}

// TestManySelectors exercises the trie's bucketed lookup (more than a handful of names at a level).
func TestManySelectors(t *testing.T) {
	var parts []string
	for i := 0; i < 30; i++ {
		parts = append(parts, "$."+strings.Repeat("k", i%7+1)+strings.Repeat("x", i)+" = v")
	}
	p := MustCompile("{ " + strings.Join(parts, " || ") + " }")
	if !p.Match([]byte(`{"a":1,"kkkxxxxxxxxx":"v"}`)) {
		t.Error("bucketed name not found")
	}
	if p.Match([]byte(`{"kkkxxxxxxxxy":"v","` + strings.Repeat("z", 300) + `":"v"}`)) {
		t.Error("wrong name matched")
	}
}
