package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// flattenJSON adds the leaves of a JSON document to dst the way Security Lake's own mappings fill
// `unmapped`: object members join their path with ".", array elements share their array's path
// with a "[]" suffix, and the values found under one path are joined with "," in document order
// (so {"a":[{"b":1},{"b":2}]} becomes "a[].b" = "1,2"). JSON null and empty containers add
// nothing. skip, when set, drops paths the class maps elsewhere.
func flattenJSON(dst map[string]string, prefix string, doc json.RawMessage, skip func(path string) bool) error {
	if len(doc) == 0 {
		return nil
	}
	// A valid document is walked in place (decoding it into maps of any was a third of mapping
	// a CloudTrail event); anything else, or an object that repeats a name (decoding keeps the
	// last), takes the decoder's way, with its error. Invalid UTF-8 too: the decoder replaces it.
	if json.Valid(doc) && utf8.Valid(doc) {
		f := flattener{doc: doc, skip: skip}
		f.value(prefix)
		if !f.dup {
			f.into(dst)
			return nil
		}
	}
	return flattenDecoded(dst, prefix, doc, skip)
}

// flattenDecoded is flattenJSON by decoding the document.
func flattenDecoded(dst map[string]string, prefix string, doc json.RawMessage, skip func(path string) bool) error {
	if len(doc) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("ocsf: unmapped %s: %w", prefix, err)
	}
	vals := map[string][]string{}
	var order []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case nil:
		default:
			if skip != nil && skip(path) {
				return
			}
			if _, seen := vals[path]; !seen {
				order = append(order, path)
			}
			vals[path] = append(vals[path], scalarText(x))
		}
	}
	walk(prefix, v)
	for _, p := range order {
		dst[p] = strings.Join(vals[p], ",")
	}
	return nil
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// jsonString returns the string member at path (nested object keys) of a JSON object, "" when it
// is absent or not a string.
func jsonString(doc json.RawMessage, path ...string) string {
	if len(doc) == 0 {
		return ""
	}
	// Most documents lack the member asked for (a CloudTrail row asks up to seven times): look for
	// the quoted names before parsing. A name written with escapes is only found by parsing.
	if bytes.IndexByte(doc, '\\') < 0 {
		for _, k := range path {
			if !hasQuoted(doc, k) {
				return ""
			}
		}
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
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

// hasQuoted reports whether doc holds k between double quotes.
func hasQuoted(doc []byte, k string) bool {
	for i := 0; i < len(doc); {
		j := bytes.Index(doc[i:], []byte(k))
		if j < 0 {
			return false
		}
		j += i
		if j > 0 && doc[j-1] == '"' && j+len(k) < len(doc) && doc[j+len(k)] == '"' {
			return true
		}
		i = j + 1
	}
	return false
}

// flattener walks a valid JSON document and lists its leaves in document order.
type flattener struct {
	doc  []byte
	i    int
	skip func(string) bool
	out  []leaf
	dup  bool // an object repeats a member name
}

type leaf struct{ path, val string }

func (f *flattener) ws() {
	for f.i < len(f.doc) {
		switch f.doc[f.i] {
		case ' ', '\t', '\n', '\r':
			f.i++
		default:
			return
		}
	}
}

func (f *flattener) value(path string) {
	f.ws()
	switch c := f.doc[f.i]; c {
	case '{':
		f.i++
		f.ws()
		if f.doc[f.i] == '}' {
			f.i++
			return
		}
		var names []string
		for {
			f.ws()
			k := f.str()
			if !f.dup && slices.Contains(names, k) {
				f.dup = true
			}
			names = append(names, k)
			f.ws()
			f.i++ // ':'
			p := k
			if path != "" {
				p = path + "." + k
			}
			f.value(p)
			f.ws()
			if f.doc[f.i] == ',' {
				f.i++
				continue
			}
			f.i++ // '}'
			return
		}
	case '[':
		f.i++
		f.ws()
		if f.doc[f.i] == ']' {
			f.i++
			return
		}
		p := path + "[]"
		for {
			f.value(p)
			f.ws()
			if f.doc[f.i] == ',' {
				f.i++
				continue
			}
			f.i++ // ']'
			return
		}
	case '"':
		f.leaf(path, f.str())
	case 'n':
		f.i += len("null")
	case 't':
		f.i += len("true")
		f.leaf(path, "true")
	case 'f':
		f.i += len("false")
		f.leaf(path, "false")
	default: // a number: its text, as json.Number keeps it
		start := f.i
		for f.i < len(f.doc) && strings.IndexByte("+-.0123456789eE", f.doc[f.i]) >= 0 {
			f.i++
		}
		f.leaf(path, unsafe.String(&f.doc[start], f.i-start))
	}
}

// str reads the string at f.i; one with escapes is unquoted by the decoder, for its exact rules.
func (f *flattener) str() string {
	start := f.i // the opening quote
	f.i++
	escaped := false
	for f.doc[f.i] != '"' {
		if f.doc[f.i] == '\\' {
			escaped = true
			f.i++
		}
		f.i++
	}
	f.i++
	if !escaped {
		// Aliased, not copied: the documents are a record's json.RawMessage members (see jsonText).
		if n := f.i - 1 - (start + 1); n > 0 {
			return unsafe.String(&f.doc[start+1], n)
		}
		return ""
	}
	var s string
	_ = json.Unmarshal(f.doc[start:f.i], &s) // the document is valid
	return s
}

func (f *flattener) leaf(path, val string) {
	if f.skip != nil && f.skip(path) {
		return
	}
	f.out = append(f.out, leaf{path, val})
}

// into sets each path's values in dst, joined with "," in document order.
func (f *flattener) into(dst map[string]string) {
	if len(f.out) > 32 {
		// Large documents by a map: the pairwise look below is quadratic.
		vals := make(map[string][]string, len(f.out))
		var order []string
		for _, l := range f.out {
			if _, seen := vals[l.path]; !seen {
				order = append(order, l.path)
			}
			vals[l.path] = append(vals[l.path], l.val)
		}
		for _, p := range order {
			dst[p] = strings.Join(vals[p], ",")
		}
		return
	}
	var joined []string // paths with more than one value (array members), done
	for i, l := range f.out {
		if slices.Contains(joined, l.path) {
			continue
		}
		v := l.val
		for _, m := range f.out[i+1:] {
			if m.path == l.path {
				v += "," + m.val
			}
		}
		if len(v) != len(l.val) {
			joined = append(joined, l.path)
		}
		dst[l.path] = v
	}
}
