// Package ocsfcheck validates OCSF event rows against a compiled OCSF schema (the compact JSON that
// ./gen compiles from the public ocsf/ocsf-schema sources; OCSF 1.1.0 is vendored at
// testdata/ocsf-1.1.0 with its licence and provenance). Tests use it on every row they write.
//
// A row is JSON-shaped (map[string]any of strings, float64 or json.Number, bools, []any and nested
// maps), as decoding a row's JSON or reading its Parquet with Arrow gives. Null is absent.
//
// Rules checked, for the class named by class_uid and every object reached:
//   - required attributes present (profile attributes only when the row declares the profile in
//     metadata.profiles); no attribute the schema does not define, except inside unmapped; a
//     profile's attributes only with that profile declared;
//   - types: strings, integers, booleans and numbers as declared; arrays as declared; the regex,
//     max_len and range of the attribute's type (hostname_t, ip_t, port_t, …);
//   - enums: every *_id value is one of the enum's ids, and its sibling (activity_name for
//     activity_id, …) is the id's caption, except for 99 Other whose sibling names the source's own
//     value; type_uid = class_uid × 100 + activity_id;
//   - at_least_one and just_one constraints of the class and of every object;
//   - no empty object (an object with no non-null attribute says nothing and breaks its
//     constraints' intent).
package ocsfcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Schema is a compiled OCSF schema.
type Schema struct {
	Version string             `json:"version"`
	Source  map[string]string  `json:"source"`
	Types   map[string]*Type   `json:"types"`
	Classes map[string]*Class  `json:"classes"`
	Objects map[string]*Object `json:"objects"`
}

// Type is a scalar type; Base is the type it refines ("" for the primitive types).
type Type struct {
	Base   string  `json:"base"`
	Regex  string  `json:"regex"`
	MaxLen int     `json:"max_len"`
	Range  []int64 `json:"range"`
	re     *regexp.Regexp
}

// Attr is one attribute of a class or object.
type Attr struct {
	Type    string            `json:"type"`
	Object  string            `json:"object"`
	Array   bool              `json:"array"`
	Req     string            `json:"req"`
	Enum    map[string]string `json:"enum"`
	Sibling string            `json:"sibling"`
	Profile string            `json:"profile"`
}

// Constraints are OCSF's attribute-group constraints.
type Constraints struct {
	AtLeastOne []string `json:"at_least_one"`
	JustOne    []string `json:"just_one"`
}

type Class struct {
	UID         int              `json:"uid"`
	Name        string           `json:"name"`
	Caption     string           `json:"caption"`
	CategoryUID int              `json:"category_uid"`
	Profiles    []string         `json:"profiles"`
	Attributes  map[string]*Attr `json:"attributes"`
	Constraints *Constraints     `json:"constraints"`
}

type Object struct {
	Attributes  map[string]*Attr `json:"attributes"`
	Constraints *Constraints     `json:"constraints"`
}

// Load reads a compiled schema.
func Load(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ocsfcheck: %w", err)
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("ocsfcheck: %s: %w", path, err)
	}
	for name, t := range s.Types {
		if t.Regex != "" {
			if t.re, err = regexp.Compile(t.Regex); err != nil {
				return nil, fmt.Errorf("ocsfcheck: type %s regex: %w", name, err)
			}
		}
	}
	return &s, nil
}

// Default loads OCSF 1.1.0 from testdata/ocsf-1.1.0/schema.json at the module root, found by
// walking up from the working directory (go test runs in the package's directory).
func Default() (*Schema, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(mod, []byte("module github.com/logarchive/logarchive\n")) {
			return Load(filepath.Join(dir, "testdata", "ocsf-1.1.0", "schema.json"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, errors.New("ocsfcheck: no go.mod of github.com/logarchive/logarchive above the working directory")
		}
		dir = parent
	}
}

// Violation is one broken rule at a path of the row ("actor.user", "src_endpoint.ip").
type Violation struct {
	Path, Rule, Detail string
}

func (v Violation) String() string {
	if v.Detail == "" {
		return v.Path + ": " + v.Rule
	}
	return v.Path + ": " + v.Rule + " (" + v.Detail + ")"
}

// Validate checks one row and returns its violations (nil when the row is valid).
func (s *Schema) Validate(row map[string]any) []Violation {
	v := &validator{s: s}
	uid, ok := intOf(row["class_uid"])
	if !ok {
		return []Violation{{Path: "class_uid", Rule: "missing or not an integer"}}
	}
	c, ok := s.Classes[strconv.FormatInt(uid, 10)]
	if !ok {
		return []Violation{{Path: "class_uid", Rule: "class not in the schema", Detail: strconv.FormatInt(uid, 10)}}
	}
	v.profiles = map[string]bool{}
	if md, ok := row["metadata"].(map[string]any); ok {
		if ps, ok := md["profiles"].([]any); ok {
			for _, p := range ps {
				if ps, ok := p.(string); ok {
					v.profiles[ps] = true
				}
			}
		}
	}
	v.attrs("", row, c.Attributes, c.Constraints)
	act, aok := intOf(row["activity_id"])
	tu, tok := intOf(row["type_uid"])
	if aok && tok && tu != uid*100+act {
		v.add("type_uid", "is not class_uid*100+activity_id", fmt.Sprintf("%d vs %d", tu, uid*100+act))
	}
	return v.out
}

type validator struct {
	s        *Schema
	profiles map[string]bool
	out      []Violation
}

func (v *validator) add(path, rule, detail string) {
	v.out = append(v.out, Violation{Path: path, Rule: rule, Detail: detail})
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func present(x any) bool { return x != nil }

func (v *validator) attrs(prefix string, m map[string]any, defs map[string]*Attr, cons *Constraints) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		if !present(val) {
			continue
		}
		a, ok := defs[k]
		if !ok {
			v.add(join(prefix, k), "unknown attribute", "")
			continue
		}
		if a.Profile != "" && !v.profiles[a.Profile] {
			v.add(join(prefix, k), "attribute of a profile the row does not declare", a.Profile)
		}
		v.value(join(prefix, k), val, a)
		if a.Sibling != "" && len(a.Enum) > 0 {
			v.sibling(prefix, k, val, a, m)
		}
	}
	names := make([]string, 0, len(defs))
	for k := range defs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a := defs[k]
		if a.Req == "required" && !present(m[k]) && (a.Profile == "" || v.profiles[a.Profile]) {
			v.add(join(prefix, k), "required attribute missing", "")
		}
	}
	if cons != nil {
		if len(cons.AtLeastOne) > 0 && count(m, cons.AtLeastOne) == 0 {
			v.add(prefixOr(prefix), "at_least_one not satisfied", strings.Join(cons.AtLeastOne, ","))
		}
		if len(cons.JustOne) > 0 && count(m, cons.JustOne) != 1 {
			v.add(prefixOr(prefix), "just_one not satisfied", strings.Join(cons.JustOne, ","))
		}
	}
}

func prefixOr(p string) string {
	if p == "" {
		return "(event)"
	}
	return p
}

func count(m map[string]any, names []string) int {
	n := 0
	for _, k := range names {
		if present(m[k]) {
			n++
		}
	}
	return n
}

func (v *validator) sibling(prefix, k string, val any, a *Attr, m map[string]any) {
	id, ok := intOf(val)
	if !ok {
		return
	}
	sib, ok := m[a.Sibling].(string)
	if !ok || id == 99 {
		return
	}
	if capt, ok := a.Enum[strconv.FormatInt(id, 10)]; ok && sib != capt {
		v.add(join(prefix, a.Sibling), "is not the caption of "+k, fmt.Sprintf("%q, %d is %q", sib, id, capt))
	}
}

func (v *validator) value(path string, val any, a *Attr) {
	if a.Array {
		list, ok := val.([]any)
		if !ok {
			v.add(path, "not an array", fmt.Sprintf("%T", val))
			return
		}
		one := *a
		one.Array = false
		for i, e := range list {
			if present(e) {
				v.value(fmt.Sprintf("%s[%d]", path, i), e, &one)
			}
		}
		return
	}
	if a.Type == "object_t" {
		if a.Object == "" {
			return // free-form (unmapped): anything goes
		}
		m, ok := val.(map[string]any)
		if !ok {
			v.add(path, "not an object", fmt.Sprintf("%T", val))
			return
		}
		empty := true
		for _, x := range m {
			if present(x) {
				empty = false
				break
			}
		}
		if empty {
			v.add(path, "empty object", a.Object)
			return
		}
		o, ok := v.s.Objects[a.Object]
		if !ok {
			v.add(path, "object type not in the schema", a.Object)
			return
		}
		v.attrs(path, m, o.Attributes, o.Constraints)
		return
	}
	v.scalar(path, val, a.Type)
	if len(a.Enum) > 0 {
		id, ok := intOf(val)
		if ok {
			if _, known := a.Enum[strconv.FormatInt(id, 10)]; !known {
				v.add(path, "not an enum value", strconv.FormatInt(id, 10))
			}
		}
	}
}

// scalar checks a value against a type and the types it refines.
func (v *validator) scalar(path string, val any, name string) {
	for t := name; t != ""; {
		ty, ok := v.s.Types[t]
		if !ok {
			v.add(path, "unknown type", t)
			return
		}
		switch t {
		case "string_t":
			s, ok := val.(string)
			if !ok {
				v.add(path, "not a string", fmt.Sprintf("%s: %T", name, val))
				return
			}
			if ty.MaxLen > 0 && len(s) > ty.MaxLen {
				v.add(path, "longer than "+t+" allows", strconv.Itoa(len(s)))
			}
		case "integer_t", "long_t":
			if _, ok := intOf(val); !ok {
				v.add(path, "not an integer", fmt.Sprintf("%s: %v", name, val))
				return
			}
			if t == "integer_t" {
				n, _ := intOf(val)
				if n < math.MinInt32 || n > math.MaxInt32 {
					v.add(path, "out of integer_t range", strconv.FormatInt(n, 10))
				}
			}
		case "float_t":
			if _, ok := numOf(val); !ok {
				v.add(path, "not a number", fmt.Sprintf("%s: %T", name, val))
				return
			}
		case "boolean_t":
			if _, ok := val.(bool); !ok {
				v.add(path, "not a boolean", fmt.Sprintf("%T", val))
				return
			}
		case "json_t":
			return
		default:
			if s, ok := val.(string); ok {
				if ty.MaxLen > 0 && len(s) > ty.MaxLen {
					v.add(path, "longer than "+t+" allows", fmt.Sprintf("%d > %d", len(s), ty.MaxLen))
				}
				if ty.re != nil && !ty.re.MatchString(s) {
					v.add(path, "does not match "+t, s)
				}
			}
			if len(ty.Range) == 2 {
				if n, ok := intOf(val); ok && (n < ty.Range[0] || n > ty.Range[1]) {
					v.add(path, "outside the range of "+t, strconv.FormatInt(n, 10))
				}
			}
		}
		t = ty.Base
	}
}

func numOf(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func intOf(x any) (int64, bool) {
	switch n := x.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	f, ok := numOf(x)
	if !ok || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}
