package filter

import (
	"bytes"
	"strconv"
	"strings"
)

// spaceProgram is a space-delimited pattern (§5).
type spaceProgram struct {
	fields   []sfield
	ellipsis int // index of "..." in fields, -1 if none
	named    int // number of slots other than "..."
}

type sfield struct {
	name string // "" for an unnamed slot
	cond sexpr  // nil when the field has no condition
}

type sexpr interface {
	eval(tok []byte) bool
}

type sor []sexpr
type sand []sexpr

func (e sor) eval(t []byte) bool {
	for _, x := range e {
		if x.eval(t) {
			return true
		}
	}
	return false
}

func (e sand) eval(t []byte) bool {
	for _, x := range e {
		if !x.eval(t) {
			return false
		}
	}
	return true
}

type scond struct {
	op  opKind
	lit *literal
}

func (c *scond) eval(t []byte) bool {
	if c.lit.kind == litNumber {
		d, ok := looseNumber(string(t))
		if !ok {
			return false
		}
		return cmpOp(c.op, d.cmp(c.lit.num))
	}
	eq := c.lit.matchText(t)
	if c.op == opNe {
		return !eq
	}
	return eq
}

// token is one field of an event: [start,end) is the raw token (quotes or brackets included),
// [vstart,vend) its value.
type token struct {
	start, end, vstart, vend int
}

// tokenize splits an event into fields (§5.2).
func tokenize(msg []byte, dst []token) []token {
	i := 0
	for {
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t') {
			i++
		}
		if i >= len(msg) {
			return dst
		}
		start := i
		if c := msg[i]; c == '"' || c == '[' {
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			if j := bytes.IndexByte(msg[i+1:], closer); j >= 0 {
				end := i + 1 + j + 1
				dst = append(dst, token{start: start, end: end, vstart: i + 1, vend: end - 1})
				i = end
				continue
			}
			// An opener with no closer is an ordinary character.
		}
		for i < len(msg) && msg[i] != ' ' && msg[i] != '\t' {
			i++
		}
		dst = append(dst, token{start: start, end: i, vstart: start, vend: i})
	}
}

// binding is a token bound to a slot; field is -1 for a token covered by "...".
type binding struct {
	field int
	pos   int // 1-based token position
	value []byte
}

// bind maps tokens to slots (§5.3); it reports false when the event has too few tokens.
func (p *spaceProgram) bind(msg []byte, toks []token, dst []binding) ([]binding, bool) {
	n, k := len(toks), p.named
	val := func(t token) []byte { return msg[t.vstart:t.vend] }
	if p.ellipsis < 0 {
		if n < k {
			return dst, false
		}
		for f := 0; f < k-1; f++ {
			dst = append(dst, binding{field: f, pos: f + 1, value: val(toks[f])})
		}
		if k > 0 {
			last := toks[k-1]
			v := val(last)
			if n > k {
				// Two or more tokens left: the last slot takes the raw remainder of the message.
				v = msg[last.start:]
			}
			dst = append(dst, binding{field: k - 1, pos: k, value: v})
		}
		return dst, true
	}
	before := p.ellipsis
	after := k - before
	if n < k {
		return dst, false
	}
	for f := 0; f < before; f++ {
		dst = append(dst, binding{field: f, pos: f + 1, value: val(toks[f])})
	}
	for t := before; t < n-after; t++ {
		dst = append(dst, binding{field: -1, pos: t + 1, value: val(toks[t])})
	}
	for f := 0; f < after; f++ {
		t := n - after + f
		dst = append(dst, binding{field: before + 1 + f, pos: t + 1, value: val(toks[t])})
	}
	return dst, true
}

func (p *spaceProgram) match(msg []byte, toks []token, binds []binding) ([]token, []binding, bool) {
	toks = tokenize(msg, toks[:0])
	binds, ok := p.bind(msg, toks, binds[:0])
	if !ok {
		return toks, binds, false
	}
	for _, b := range binds {
		if b.field >= 0 {
			if c := p.fields[b.field].cond; c != nil && !c.eval(b.value) {
				return toks, binds, false
			}
		}
	}
	return toks, binds, true
}

// key is the extracted-value name of a binding: $name for named slots, $N otherwise.
func (p *spaceProgram) key(b binding) string {
	if b.field >= 0 && p.fields[b.field].name != "" {
		return "$" + p.fields[b.field].name
	}
	return "$" + strconv.Itoa(b.pos)
}

func isIdentStart(c byte) bool { return isLetter(c) || c == '_' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

type sparser struct {
	lexer
	regexes int
}

func compileSpace(s string, start, end int) (*spaceProgram, error) {
	p := &sparser{lexer: lexer{s: s[:end-1], i: start + 1}}
	prog := &spaceProgram{ellipsis: -1}
	seen := map[string]bool{}
	p.skipWS()
	if p.i >= len(p.s) {
		// [] matches every event and extracts $1..$n.
		prog.ellipsis = 0
		prog.fields = []sfield{{name: "..."}}
		return prog, nil
	}
	for {
		p.skipWS()
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		if f.name == "..." {
			if prog.ellipsis >= 0 {
				return nil, errAt(ErrSyntax, p.i, "Duplicate field '...'")
			}
			prog.ellipsis = len(prog.fields)
		} else {
			if f.name != "" {
				if seen[f.name] {
					return nil, errAt(ErrSyntax, p.i, "Duplicate field '%s'", f.name)
				}
				seen[f.name] = true
			}
			prog.named++
		}
		prog.fields = append(prog.fields, f)
		p.skipWS()
		if p.i >= len(p.s) {
			return prog, nil
		}
		if p.s[p.i] != ',' {
			return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected ',' or ']' at '%s'", clip(p.s[p.i:], 20))
		}
		p.i++
		p.skipWS()
		if p.i >= len(p.s) {
			// A trailing comma adds an unnamed last slot.
			prog.fields = append(prog.fields, sfield{})
			prog.named++
			return prog, nil
		}
	}
}

func (p *sparser) field() (sfield, error) {
	if p.i >= len(p.s) || p.s[p.i] == ',' {
		return sfield{}, nil
	}
	if strings.HasPrefix(p.s[p.i:], "...") {
		p.i += 3
		return sfield{name: "..."}, nil
	}
	name, err := p.ident()
	if err != nil {
		return sfield{}, err
	}
	p.skipWS()
	if p.i >= len(p.s) || p.s[p.i] == ',' {
		return sfield{name: name}, nil
	}
	cond, err := p.or(name, 0, true)
	if err != nil {
		return sfield{}, err
	}
	return sfield{name: name, cond: cond}, nil
}

func (p *sparser) ident() (string, error) {
	j := p.i
	for j < len(p.s) && !isSpace(p.s[j]) && !strings.ContainsRune(",=!<>()&|", rune(p.s[j])) {
		j++
	}
	w := p.s[p.i:j]
	if w == "" {
		return "", errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected a field name at '%s'", clip(p.s[p.i:], 20))
	}
	if !isIdentStart(w[0]) {
		return "", errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", w)
	}
	for k := 1; k < len(w); k++ {
		if !isIdentChar(w[k]) {
			return "", errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", w)
		}
	}
	p.i = j
	return w, nil
}

// or parses a field condition; first is true when the field name was already read.
func (p *sparser) or(name string, depth int, first bool) (sexpr, error) {
	terms, err := operands(&p.lexer, "||", func() (sexpr, error) {
		e, err := p.and(name, depth, first)
		first = false
		return e, err
	})
	if err != nil || len(terms) == 1 {
		return firstOf(terms), err
	}
	return sor(terms), nil
}

func (p *sparser) and(name string, depth int, first bool) (sexpr, error) {
	terms, err := operands(&p.lexer, "&&", func() (sexpr, error) {
		e, err := p.unary(name, depth, first)
		first = false
		return e, err
	})
	if err != nil || len(terms) == 1 {
		return firstOf(terms), err
	}
	return sand(terms), nil
}

func (p *sparser) unary(name string, depth int, first bool) (sexpr, error) {
	p.skipWS()
	if !first && p.i < len(p.s) && p.s[p.i] == '(' {
		if depth >= maxParenDepth {
			return nil, errAt(ErrLimit, p.i, "Invalid metric filter pattern: parentheses nested too deeply")
		}
		p.i++
		e, err := p.or(name, depth+1, false)
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: unbalanced parenthesis")
		}
		p.i++
		return e, nil
	}
	if !first {
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		if n != name {
			return nil, errAt(ErrSyntax, p.i, "Multiple variables used in a single filter. Var1 : %s, Var2 : %s", name, n)
		}
		p.skipWS()
	}
	c := &scond{}
	opPos := p.i
	switch {
	case strings.HasPrefix(p.s[p.i:], "=="):
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern")
	case strings.HasPrefix(p.s[p.i:], "!="):
		c.op, p.i = opNe, p.i+2
	case strings.HasPrefix(p.s[p.i:], "<="):
		c.op, p.i = opLe, p.i+2
	case strings.HasPrefix(p.s[p.i:], ">="):
		c.op, p.i = opGe, p.i+2
	case p.i < len(p.s) && p.s[p.i] == '=':
		c.op, p.i = opEq, p.i+1
	case p.i < len(p.s) && p.s[p.i] == '<':
		c.op, p.i = opLt, p.i+1
	case p.i < len(p.s) && p.s[p.i] == '>':
		c.op, p.i = opGt, p.i+1
	default:
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected an operator after field '%s'", name)
	}
	p.skipWS()
	lit, err := p.value()
	if err != nil {
		return nil, err
	}
	if c.op.ordering() && lit.kind != litNumber {
		return nil, errAt(ErrSyntax, opPos, "Invalid metric filter pattern")
	}
	if lit.kind == litRegex {
		p.regexes++
		if p.regexes > 2 {
			return nil, errAt(ErrLimit, opPos, "Your input has exceeded the maximum of 2 regular expressions per filter pattern.")
		}
	}
	c.lit = lit
	return c, nil
}

// spaceValueChar is permissive: AWS documents words, numbers and globs such as *.html* or 4*; what
// else it accepts unquoted is open (§10 Q6), so only structural characters are refused.
func spaceValueChar(c byte) bool {
	return !isSpace(c) && !strings.ContainsRune(",[]()&|\"%=!<>", rune(c))
}

func (p *sparser) value() (*literal, error) {
	if lit, ok, err := p.delimitedValue(); ok || err != nil {
		return lit, err
	}
	j := p.i
	for j < len(p.s) && spaceValueChar(p.s[j]) {
		j++
	}
	tok := p.s[p.i:j]
	if tok == "" {
		return nil, errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", clip(p.s[p.i:], 20))
	}
	lit, err := bareLiteral(tok, p.i)
	if err != nil {
		return nil, err
	}
	p.i = j
	return lit, nil
}
