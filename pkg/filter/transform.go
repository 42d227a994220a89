package filter

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MetricTransformation is PutMetricFilter's MetricTransformation (spec §8.1).
type MetricTransformation struct {
	MetricName      string
	MetricNamespace string
	// MetricValue is a number, a JSON selector ($.latency), or a space-delimited field ($size, $7).
	MetricValue  string
	DefaultValue *float64
	// Dimensions maps a dimension name to a field reference ($.eventName, $user, $3).
	Dimensions map[string]string
	// Unit is a CloudWatch StandardUnit; empty means "None".
	Unit string
}

// System field dimensions (emitSystemFieldDimensions).
const (
	SystemAccount = "@aws.account"
	SystemRegion  = "@aws.region"
)

// MaxDimensions counts ordinary and system dimensions together (§7).
const MaxDimensions = 3

// StandardUnits is CloudWatch's StandardUnit enumeration.
var standardUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// Dimension is a metric dimension name and value.
type Dimension struct {
	Name  string
	Value string
}

// Sample is what one event publishes for a metric filter (§8.3).
type Sample struct {
	Value float64
	// Dimensions are sorted by name; empty for dimensionless samples (and always for defaults).
	Dimensions []Dimension
	// Default is true when the sample is the transformation's defaultValue.
	Default bool
}

// SystemFields are the values of @aws.account and @aws.region for one event.
type SystemFields struct {
	Account string
	Region  string
}

// ref is a compiled field reference.
type ref struct {
	text  string
	sel   int    // JSON: selector id in the transform's extractor
	name  string // space-delimited: "$name" or "$N"
	isPos bool
}

// Transform is a compiled MetricTransformation bound to its pattern.
type Transform struct {
	def      MetricTransformation
	pattern  *Pattern
	system   []string
	literal  *float64
	value    *ref
	dims     []dimRef
	sels     []*selector
	root     *node
	pool     sync.Pool
	unit     string
	hasValue bool
}

type dimRef struct {
	name string
	ref  ref
}

// Unit is the transformation's unit ("None" when unset).
func (t *Transform) Unit() string { return t.unit }

// Name and Namespace of the metric.
func (t *Transform) Name() string      { return t.def.MetricName }
func (t *Transform) Namespace() string { return t.def.MetricNamespace }

// Definition returns the transformation as given.
func (t *Transform) Definition() MetricTransformation { return t.def }

func terr(format string, args ...any) error {
	return &Error{Kind: ErrTransformation, Pos: -1, Msg: "Invalid metric transformation: " + sprintf(format, args...)}
}

func validMetricName(s string) bool {
	return s != "" && len(s) <= 255 && !strings.ContainsAny(s, ":*$")
}

// NewTransform validates t against p as PutMetricFilter does and compiles its field references.
// system lists the emitSystemFieldDimensions (@aws.account, @aws.region).
func NewTransform(p *Pattern, t MetricTransformation, system []string) (*Transform, error) {
	if !validMetricName(t.MetricName) {
		return nil, terr("metricName %q must be 1-255 characters without ':', '*' or '$'", t.MetricName)
	}
	if !validMetricName(t.MetricNamespace) {
		return nil, terr("metricNamespace %q must be 1-255 characters without ':', '*' or '$'", t.MetricNamespace)
	}
	if t.MetricValue == "" || len(t.MetricValue) > 100 {
		return nil, terr("metricValue must be 1-100 characters")
	}
	unit := t.Unit
	if unit == "" {
		unit = "None"
	}
	if !standardUnits[unit] {
		return nil, terr("unit %q is not a CloudWatch standard unit", t.Unit)
	}
	if len(t.Dimensions)+len(system) > MaxDimensions {
		return nil, terr("at most %d dimensions, system field dimensions included; got %d", MaxDimensions, len(t.Dimensions)+len(system))
	}
	// System field dimensions may go with a default (default samples are then dimensionless,
	// §8.4); ordinary dimensions may not.
	if len(t.Dimensions) > 0 && t.DefaultValue != nil {
		return nil, terr("a transformation with dimensions cannot have a defaultValue")
	}
	if len(t.Dimensions) > 0 && p.kind != KindJSON && p.kind != KindSpace {
		return nil, terr("dimensions are only allowed with JSON and space-delimited patterns")
	}
	seen := map[string]bool{}
	for _, s := range system {
		if s != SystemAccount && s != SystemRegion {
			return nil, terr("system field dimension %q must be %s or %s", s, SystemAccount, SystemRegion)
		}
		if seen[s] {
			return nil, terr("system field dimension %q given twice", s)
		}
		seen[s] = true
	}
	tr := &Transform{def: t, pattern: p, system: append([]string(nil), system...), unit: unit}
	selIdx := map[string]int{}
	compileRef := func(what, text string) (ref, error) {
		switch {
		case strings.HasPrefix(text, "$."):
			if p.kind != KindJSON {
				return ref{}, terr("%s %s is a JSON selector but the pattern is not a JSON pattern", what, text)
			}
			sel, end, err := parseSelector(text, 0)
			if err != nil || end != len(text) {
				return ref{}, terr("%s %s must be a valid number or field reference", what, text)
			}
			if sel.wild >= 0 {
				return ref{}, terr("%s %s must be a valid number", what, text)
			}
			key := sel.canonical()
			id, ok := selIdx[key]
			if !ok {
				id = len(tr.sels)
				tr.sels = append(tr.sels, sel)
				selIdx[key] = id
			}
			return ref{text: text, sel: id}, nil
		case strings.HasPrefix(text, "$") && len(text) > 1:
			if p.kind != KindSpace {
				return ref{}, terr("%s %s names a space-delimited field but the pattern is not space-delimited", what, text)
			}
			name := text[1:]
			if allDigits(name) {
				if n, err := strconv.Atoi(name); err != nil || n < 1 {
					return ref{}, terr("%s %s: positions start at $1", what, text)
				}
				return ref{text: text, name: text, isPos: true}, nil
			}
			if !isIdentStart(name[0]) {
				return ref{}, terr("%s %s is not a valid field reference", what, text)
			}
			for i := 1; i < len(name); i++ {
				if !isIdentChar(name[i]) {
					return ref{}, terr("%s %s is not a valid field reference", what, text)
				}
			}
			return ref{text: text, name: text}, nil
		}
		return ref{}, terr("%s %s must be a valid number or field reference", what, text)
	}
	if d, ok := looseNumber(t.MetricValue); ok {
		f := d.toFloat()
		if math.IsInf(f, 0) {
			return nil, terr("metric value %s is out of range", t.MetricValue)
		}
		tr.literal = &f
	} else {
		r, err := compileRef("metric value", t.MetricValue)
		if err != nil {
			return nil, err
		}
		tr.value = &r
	}
	names := make([]string, 0, len(t.Dimensions))
	for k := range t.Dimensions {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "" || len(k) > 255 {
			return nil, terr("dimension name %q must be 1-255 characters", k)
		}
		if strings.HasPrefix(k, "@aws.") {
			return nil, terr("dimension %q: system fields are set with emitSystemFieldDimensions", k)
		}
		r, err := compileRef("dimension "+k, t.Dimensions[k])
		if err != nil {
			return nil, err
		}
		tr.dims = append(tr.dims, dimRef{name: k, ref: r})
	}
	if len(tr.sels) > 0 {
		tr.root = buildTrie(tr.sels)
	}
	return tr, nil
}

// extraction holds the resolved references of one event.
type extraction struct {
	js    jsonState
	toks  []token
	binds []binding
}

func (t *Transform) extract(msg []byte) *extraction {
	ex, _ := t.pool.Get().(*extraction)
	if ex == nil {
		ex = &extraction{}
		ex.js.slots = make([]slot, len(t.sels))
	}
	switch {
	case t.root != nil:
		if !ex.js.resolve(t.root, msg) {
			for i := range ex.js.slots {
				ex.js.slots[i].set = false
			}
		}
	case t.pattern.kind == KindSpace:
		ex.toks = tokenize(msg, ex.toks[:0])
		ex.binds, _ = t.pattern.space.bind(msg, ex.toks, ex.binds[:0])
	}
	return ex
}

// lookup returns a reference's value: found is false when the field is missing or null; text is the
// value as a dimension value; jsonKind tells strings from numbers for JSON values.
func (t *Transform) lookup(ex *extraction, r ref) (text string, kind jkind, found bool) {
	if r.name != "" {
		for _, b := range ex.binds {
			if t.pattern.space.key(b) == r.name {
				return string(b.value), jString, true
			}
		}
		return "", jNone, false
	}
	s := &ex.js.slots[r.sel]
	if !s.set || s.v.kind == jNull {
		return "", jNone, false
	}
	switch s.v.kind {
	case jString:
		return string(ex.js.text(s.v)), jString, true
	case jNumber:
		return string(s.v.raw), jNumber, true
	case jTrue:
		return "true", jTrue, true
	case jFalse:
		return "false", jFalse, true
	}
	return "", s.v.kind, true
}

// Sample computes what one event publishes (§8.3, §8.4). matched is the pattern's verdict on msg. ok is
// false when the event publishes nothing.
func (t *Transform) Sample(msg []byte, matched bool, sys SystemFields) (Sample, bool) {
	if !matched {
		if t.def.DefaultValue != nil {
			return Sample{Value: *t.def.DefaultValue, Default: true}, true
		}
		return Sample{}, false
	}
	var ex *extraction
	if t.value != nil || len(t.dims) > 0 {
		ex = t.extract(msg)
		defer func() {
			ex.js.data = nil
			t.pool.Put(ex)
		}()
	}
	var s Sample
	if t.literal != nil {
		s.Value = *t.literal
	} else {
		text, kind, found := t.lookup(ex, *t.value)
		if !found {
			if t.def.DefaultValue != nil {
				return Sample{Value: *t.def.DefaultValue, Default: true}, true
			}
			return Sample{}, false
		}
		// A present but non-numeric field publishes nothing, not even the default (§8.3).
		if kind != jString && kind != jNumber {
			return Sample{}, false
		}
		var f float64
		var err error
		if kind == jNumber {
			f, err = strconv.ParseFloat(text, 64)
		} else {
			d, ok := looseNumber(text)
			if !ok {
				return Sample{}, false
			}
			f = d.toFloat()
		}
		if err != nil || math.IsInf(f, 0) {
			return Sample{}, false // a value CloudWatch cannot store publishes nothing
		}
		s.Value = f
	}
	if len(t.dims) > 0 {
		dims := make([]Dimension, 0, len(t.dims)+len(t.system))
		complete := true
		for _, d := range t.dims {
			text, kind, found := t.lookup(ex, d.ref)
			if !found || kind == jObject || kind == jArray {
				complete = false
				break
			}
			dims = append(dims, Dimension{Name: d.name, Value: text})
		}
		if complete {
			s.Dimensions = dims
		}
	}
	for _, name := range t.system {
		v := sys.Account
		if name == SystemRegion {
			v = sys.Region
		}
		if v != "" {
			s.Dimensions = append(s.Dimensions, Dimension{Name: name, Value: v})
		}
	}
	if len(s.Dimensions) > 1 {
		sort.Slice(s.Dimensions, func(i, j int) bool { return s.Dimensions[i].Name < s.Dimensions[j].Name })
	}
	return s, true
}
