package filter

import "regexp"

// Requirement is a necessary condition a JSON pattern places on one selector: the pattern can match
// a message only if the value there equals one of Exact, matches one of Globs or Regexes, or is a
// number. Callers that already hold that value as text (pkg/rules has CloudTrail's typed fields, which
// keep a number's JSON text) use it to skip patterns that cannot match without scanning the message.
// For a wildcard selector, the condition applies to at least one child.
type Requirement struct {
	Exact   []string
	Globs   []string
	Regexes []string
	globs   []*glob
	res     []*regexp.Regexp
}

// Allows reports whether a value with text s could satisfy the pattern. Text that is a JSON number
// is always allowed: the pattern compares a number's rendered form, which the text need not equal.
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
	for _, re := range r.res {
		if re.MatchString(s) {
			return true
		}
	}
	return looksNumeric(s)
}

// looksNumeric reports whether s is JSON number text, without allocating.
func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return false // the common case, decided on the first byte
	}
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// ExactOnly reports whether the requirement is a finite set of strings (no globs or regexes), which
// callers can index.
func (r *Requirement) ExactOnly() bool { return len(r.Globs) == 0 && len(r.Regexes) == 0 }

// Require derives the pattern's requirement on selector (e.g. "$.eventName", "$.resources[*].ARN").
// ok is false when the pattern places none that can be proven: not a JSON pattern, or the selector
// only appears under || beside atoms on other selectors, or only with !=, ordering or unary atoms.
func (p *Pattern) Require(selector string) (r *Requirement, ok bool) {
	if p.kind != KindJSON {
		return nil, false
	}
	sel, end, err := parseSelector(selector, 0)
	if err != nil || end != len(selector) {
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
		switch l.kind {
		case litGlob:
			r.Globs = append(r.Globs, l.text)
			r.globs = append(r.globs, l.glob)
		case litRegex:
			r.Regexes = append(r.Regexes, l.text)
			r.res = append(r.res, l.re)
		default:
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
		// Only '=' says what the value must be; a plain string value satisfies it exactly when it
		// equals (or matches) the literal's text — for number literals too, which compare their
		// source text with strings.
		if x.sel != id || x.unary != unNone || x.op != opEq || x.lit == nil {
			return nil, false
		}
		return []*literal{x.lit}, true
	}
	return nil, false
}

// IsNumberText reports whether s is the text of a JSON number; Requirement.Allows lets such text
// through whatever the requirement, and indexes keyed by exact strings must too.
func IsNumberText(s string) bool { return looksNumeric(s) }
