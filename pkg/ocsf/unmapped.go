package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
