package filter

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCompile: the compiler never panics, errors are always *Error, and a compiled pattern can be
// evaluated on a few shapes of message.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		switchRole, `ERROR -x ?y "a b"`, `%a[0-9]{2,}\x41%`, `[a, ..., b = 4* || b = %x%]`, `[]`,
		`{ $.a[*].b != 1 || ($.c IS NULL && $.d NOT EXISTS) }`, `{ $.['k.x'] >= 1e5 }`, `{ $.a = "x\"*" }`,
		`{ $.a = %a{2}% }`, `[a,,b,]`, `{$.a=1&&$.b=2}`, `a-b?c`,
	} {
		f.Add(s)
	}
	msgs := [][]byte{
		[]byte(`{"a":[1,null,{"b":"x"}],"c":null,"k.x":2e5}`),
		[]byte(`a b "c d" [e f] 12`),
		[]byte(`not json {`),
		{},
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Compile(pattern)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("Compile(%q) error %v is not a descriptive *Error", pattern, err)
			}
			return
		}
		for _, m := range msgs {
			r := p.MatchFields(m)
			if r.Matched != p.Match(m) {
				t.Fatalf("Match and MatchFields disagree for %q on %q", pattern, m)
			}
		}
	})
}

// FuzzMatch compares the scanner with encoding/json: a JSON pattern sees a message exactly when it is
// one JSON object, and finds the same value for a key.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"b":[1,2,{"a":3}]}`, `{"a":"x\u00e9\"y"}`, `{"a":null}`, `[{"a":1}]`, `{"a":1} x`,
		`{"a":1,"a":"2"}`, `{"\u0061":true}`, `{"a":-0.0e+1}`, `  {"a" : [ ] }  `, `{"a":01}`, `{"a":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	notExists := MustCompile(`{ $.a NOT EXISTS }`)
	isNull := MustCompile(`{ $.a IS NULL }`)
	anyValue := MustCompile(`{ $.a = * }`)
	wild := MustCompile(`{ $.* = "x" }`)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1<<16 {
			return
		}
		var obj map[string]json.RawMessage
		isObject := json.Unmarshal(msg, &obj) == nil && obj != nil
		if depth(msg) > maxDepth-10 {
			return // encoding/json allows deeper nesting than CloudWatch
		}
		raw, has := obj["a"]
		if got := notExists.Match(msg); got != (isObject && !has) {
			t.Fatalf("NOT EXISTS on %q = %v, encoding/json says object=%v has=%v", msg, got, isObject, has)
		}
		var v any
		if has {
			_ = json.Unmarshal(raw, &v)
		}
		_, isString := v.(string)
		_, isNumber := v.(float64)
		if got := isNull.Match(msg); got && !(has && (v == nil || isArrayWithNull(v))) {
			t.Fatalf("IS NULL on %q = %v, value %v", msg, got, v)
		}
		if got := anyValue.Match(msg); got != (has && (isString || isNumber)) {
			t.Fatalf("= * on %q = %v, value %#v", msg, got, v)
		}
		wantWild := false
		for _, r := range obj {
			var s string
			if json.Unmarshal(r, &s) == nil && s == "x" {
				wantWild = true
			}
		}
		if got := wild.Match(msg); got != wantWild {
			t.Fatalf(`$.* = "x" on %q = %v, want %v`, msg, got, wantWild)
		}
	})
}

func isArrayWithNull(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		if e == nil {
			return true
		}
	}
	return false
}

func depth(b []byte) int {
	d, m := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			d++
			m = max(m, d)
		case ']', '}':
			d--
		}
	}
	return m
}

// FuzzCompileSelection: the fieldSelectionCriteria parser never panics and reports *Error.
func FuzzCompileSelection(f *testing.F) {
	for _, s := range []string{`@aws.account IN ["1","2"]`, `(@aws.region = "x" OR @aws.region != "y") AND @aws.account NOT IN ["3"]`, `@aws.account = "\"q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := CompileSelection(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not *Error", err)
			}
			return
		}
		sel.Selects(SystemFields{Account: "1", Region: "x"})
	})
}
