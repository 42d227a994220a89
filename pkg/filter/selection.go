package filter

import (
	"strings"
)

// Selection is a compiled fieldSelectionCriteria (PutMetricFilter, spec §8.1): a condition on the
// system fields @aws.account and @aws.region that decides which events a metric filter considers at
// all. Syntax: comparisons `@aws.account = "1…"`, `!=`, `IN ["…", …]`, `NOT IN [...]`, combined
// with AND, OR and parentheses (AND binds tighter).
type Selection struct {
	text string
	expr selExpr
}

// MaxSelectionLength is fieldSelectionCriteria's documented limit.
const MaxSelectionLength = 2000

type selExpr interface {
	eval(sys SystemFields) bool
}

type selOr []selExpr
type selAnd []selExpr

func (e selOr) eval(s SystemFields) bool {
	for _, x := range e {
		if x.eval(s) {
			return true
		}
	}
	return false
}

func (e selAnd) eval(s SystemFields) bool {
	for _, x := range e {
		if !x.eval(s) {
			return false
		}
	}
	return true
}

type selCmp struct {
	region bool
	negate bool
	values []string
}

func (c *selCmp) eval(s SystemFields) bool {
	v := s.Account
	if c.region {
		v = s.Region
	}
	in := false
	for _, x := range c.values {
		if x == v {
			in = true
			break
		}
	}
	return in != c.negate
}

// CompileSelection parses a fieldSelectionCriteria string. The empty string selects every event.
func CompileSelection(s string) (*Selection, error) {
	if len(s) > MaxSelectionLength {
		return nil, &Error{Kind: ErrLimit, Pos: -1, Pattern: s, Msg: "fieldSelectionCriteria is longer than 2000 characters"}
	}
	sel := &Selection{text: s}
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	p := &selParser{s: s}
	e, err := p.or(0)
	if err == nil {
		p.ws()
		if p.i < len(p.s) {
			err = errAt(ErrSyntax, p.i, "fieldSelectionCriteria: unexpected %q", clip(p.s[p.i:], 20))
		}
	}
	if err != nil {
		if fe, ok := err.(*Error); ok {
			fe.Pattern = s
		}
		return nil, err
	}
	sel.expr = e
	return sel, nil
}

// Selects reports whether an event with these system fields is considered by the filter.
func (s *Selection) Selects(sys SystemFields) bool {
	return s == nil || s.expr == nil || s.expr.eval(sys)
}

// String returns the criteria as written.
func (s *Selection) String() string { return s.text }

type selParser struct {
	s string
	i int
}

func (p *selParser) ws() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// keyword consumes kw (case-insensitive) when it stands as a whole word at the cursor.
func (p *selParser) keyword(kw string) bool {
	p.ws()
	end := p.i + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], kw) {
		return false
	}
	if end < len(p.s) && (isLetter(p.s[end]) || isDigit(p.s[end])) {
		return false
	}
	p.i = end
	return true
}

func (p *selParser) or(depth int) (selExpr, error) {
	var terms selOr
	for {
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.keyword("OR") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *selParser) and(depth int) (selExpr, error) {
	var terms selAnd
	for {
		e, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.keyword("AND") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *selParser) factor(depth int) (selExpr, error) {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if depth >= maxParenDepth {
			return nil, errAt(ErrLimit, p.i, "fieldSelectionCriteria: parentheses nested too deeply")
		}
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, errAt(ErrSyntax, p.i, "fieldSelectionCriteria: missing ')'")
		}
		p.i++
		return e, nil
	}
	c := &selCmp{}
	switch {
	case p.keyword(SystemAccount):
	case p.keyword(SystemRegion):
		c.region = true
	default:
		return nil, errAt(ErrSyntax, p.i, "fieldSelectionCriteria: expected @aws.account or @aws.region at %q", clip(p.s[p.i:], 20))
	}
	p.ws()
	switch {
	case strings.HasPrefix(p.s[p.i:], "!="):
		p.i += 2
		c.negate = true
		v, err := p.quoted()
		if err != nil {
			return nil, err
		}
		c.values = []string{v}
	case strings.HasPrefix(p.s[p.i:], "="):
		p.i++
		v, err := p.quoted()
		if err != nil {
			return nil, err
		}
		c.values = []string{v}
	default:
		if p.keyword("NOT") {
			c.negate = true
		}
		if !p.keyword("IN") {
			return nil, errAt(ErrSyntax, p.i, "fieldSelectionCriteria: expected =, !=, IN or NOT IN")
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '[' {
			return nil, errAt(ErrSyntax, p.i, "fieldSelectionCriteria: IN needs a [list]")
		}
		p.i++
		for {
			v, err := p.quoted()
			if err != nil {
				return nil, err
			}
			c.values = append(c.values, v)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				break
			}
			return nil, errAt(ErrSyntax, p.i, "fieldSelectionCriteria: expected ',' or ']'")
		}
	}
	return c, nil
}

func (p *selParser) quoted() (string, error) {
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", errAt(ErrSyntax, p.i, "fieldSelectionCriteria: values are double-quoted strings")
	}
	v, end, err := readQuoted(p.s, p.i)
	if err != nil {
		return "", err
	}
	p.i = end
	return v, nil
}
