package filter

import "strings"

// Requirement is a necessary condition a JSON pattern places on one selector: the pattern can match
// a message only if the value there is a JSON string equal to one of Exact or matching one of Globs.
// Callers that already hold that value decoded (pkg/rules has CloudTrail's typed fields) use it to
// skip patterns that cannot match, without scanning the message.
type Requirement struct {
	Exact []string
	Globs []string
	globs []*glob
}

// Allows reports whether a string value could satisfy the pattern.
func (r *Requirement) Allows(s string) bool {
	for _, e := range r.Exact {
		if e == s {
			return true
		}
	}
	for _, g := range r.globs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// Require derives the pattern's requirement on selector (e.g. "$.eventName"). ok is false when the
// pattern places none that can be proven: not a JSON pattern, the selector only appears under ||
// beside atoms on other selectors, or its literals could also match a number's text.
func (p *Pattern) Require(selector string) (r *Requirement, ok bool) {
	if p.kind != KindJSON {
		return nil, false
	}
	sel, end, err := parseSelector(selector, 0)
	if err != nil || end != len(selector) || sel.wild >= 0 {
		return nil, false
	}
	key := sel.canonical()
	id := -1
	for i, s := range p.json.sels {
		if s.canonical() == key {
			id = i
		}
	}
	if id < 0 {
		return nil, false
	}
	lits, ok := require(p.json.expr, id)
	if !ok {
		return nil, false
	}
	r = &Requirement{}
	for _, l := range lits {
		if l.kind == litGlob {
			r.Globs = append(r.Globs, l.text)
			r.globs = append(r.globs, l.glob)
		} else {
			r.Exact = append(r.Exact, l.text)
		}
	}
	return r, true
}

func require(e expr, id int) ([]*literal, bool) {
	switch x := e.(type) {
	case andExpr:
		for _, c := range x {
			if lits, ok := require(c, id); ok {
				return lits, true
			}
		}
		return nil, false
	case orExpr:
		var all []*literal
		for _, c := range x {
			lits, ok := require(c, id)
			if !ok {
				return nil, false
			}
			all = append(all, lits...)
		}
		return all, true
	case *atom:
		if x.sel != id || x.wild || x.unary != unNone || x.op != opEq || x.lit == nil {
			return nil, false
		}
		if x.lit.kind != litText && x.lit.kind != litGlob {
			return nil, false
		}
		if couldBeNumberText(x.lit.text) {
			return nil, false
		}
		return []*literal{x.lit}, true
	}
	return nil, false
}

// couldBeNumberText reports whether a text or glob literal might equal a rendered JSON number (digits,
// sign, point, exponent, Infinity, NaN): then a numeric value could satisfy it, and a string-typed
// field says nothing.
func couldBeNumberText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '*' && !strings.ContainsRune("0123456789+-.EInfityNa", rune(s[i])) {
			return false
		}
	}
	return true
}
