package filter

import (
	"bytes"
	"regexp"
	"strings"
)

type opKind uint8

const (
	opEq opKind = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func (o opKind) ordering() bool { return o >= opLt }

func (o opKind) String() string {
	return [...]string{"=", "!=", "<", "<=", ">", ">="}[o]
}

type litKind uint8

const (
	litNumber litKind = iota // unquoted numeric literal: numeric comparison, or source text vs strings
	litText                  // quoted or bare word, no '*'
	litGlob                  // contains '*'
	litRegex                 // %…%
)

type literal struct {
	kind  litKind
	text  string // number: source text; text: decoded value; glob: the glob text
	textB []byte
	num   decimal
	glob  *glob
	re    *regexp.Regexp
}

// matchText applies a text, glob or regex literal to a string or rendered number.
func (l *literal) matchText(t []byte) bool {
	switch l.kind {
	case litText, litNumber:
		return bytes.Equal(t, l.textB)
	case litGlob:
		return l.glob.match(string(t))
	case litRegex:
		return l.re.Match(t)
	}
	return false
}

// cmpOp applies op to two decimals.
func cmpOp(op opKind, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

type unaryKind uint8

const (
	unNone unaryKind = iota
	unIsNull
	unIsTrue
	unIsFalse
	unNotExists
)

type expr interface {
	eval(st *jsonState) bool
}

type orExpr []expr
type andExpr []expr

func (e orExpr) eval(st *jsonState) bool {
	for _, x := range e {
		if x.eval(st) {
			return true
		}
	}
	return false
}

func (e andExpr) eval(st *jsonState) bool {
	for _, x := range e {
		if !x.eval(st) {
			return false
		}
	}
	return true
}

type atom struct {
	sel   int
	wild  bool
	op    opKind
	unary unaryKind
	lit   *literal
}

// cmp is the comparison table of spec §4.5 for one value.
func (a *atom) cmp(st *jsonState, v jval, op opKind) bool {
	if v.kind != jString && v.kind != jNumber {
		return false
	}
	l := a.lit
	if l.kind == litNumber {
		if v.kind == jNumber {
			d, ok := jsonNumber(v.raw)
			if !ok {
				return false // ±Infinity satisfies no numeric operator
			}
			return cmpOp(op, d.cmp(l.num))
		}
		switch op {
		case opEq:
			return bytes.Equal(st.text(v), l.textB)
		case opNe:
			return !bytes.Equal(st.text(v), l.textB)
		}
		return false // ordering never matches strings
	}
	eq := l.matchText(st.text(v))
	if op == opNe {
		return !eq
	}
	return eq
}

func (a *atom) eval(st *jsonState) bool {
	id := a.sel
	if st.remap != nil {
		id = st.remap[id]
	}
	s := &st.slots[id]
	if !a.wild {
		switch a.unary {
		case unNotExists:
			return !s.set
		case unIsNull:
			return s.set && (s.v.kind == jNull || (s.v.kind == jArray && s.v.nullElem))
		case unIsTrue:
			return s.set && s.v.kind == jTrue
		case unIsFalse:
			return s.set && s.v.kind == jFalse
		}
		return s.set && a.cmp(st, s.v, a.op)
	}
	switch a.unary {
	case unNotExists:
		return s.children == 0
	case unIsNull, unIsTrue, unIsFalse:
		want := jNull
		switch a.unary {
		case unIsTrue:
			want = jTrue
		case unIsFalse:
			want = jFalse
		}
		for _, v := range s.vals {
			if v.kind == want {
				return true
			}
		}
		return false
	}
	if a.op == opNe {
		// Some child equal means not "not equal"; children whose rest-of-path did not resolve do
		// not count as equal (§4.7).
		if !s.pexists {
			return false
		}
		for _, v := range s.vals {
			if a.cmp(st, v, opEq) {
				return false
			}
		}
		return true
	}
	for _, v := range s.vals {
		if a.cmp(st, v, a.op) {
			return true
		}
	}
	return false
}

// jsonProgram is a compiled JSON pattern.
type jsonProgram struct {
	sels  []*selector
	root  *node
	expr  expr
	atoms []*atom
}

type jparser struct {
	lexer
	sels     []*selector
	selIdx   map[string]int
	atoms    []*atom
	regexes  int
	wildSels int
}

func compileJSON(s string, start, end int) (*jsonProgram, error) {
	// s[start] == '{' and s[end-1] == '}'
	p := &jparser{lexer: lexer{s: s[:end-1], i: start + 1}, selIdx: map[string]int{}}
	p.skipWS()
	if p.i >= len(p.s) {
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: empty JSON pattern")
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.i < len(p.s) {
		return nil, p.unexpected()
	}
	prog := &jsonProgram{sels: p.sels, expr: e, atoms: p.atoms}
	prog.root = buildTrie(p.sels)
	return prog, nil
}

// lexer is the position in a pattern that the JSON and space-delimited parsers share.
type lexer struct {
	s string
	i int
}

func (l *lexer) skipWS() {
	for l.i < len(l.s) && isSpace(l.s[l.i]) {
		l.i++
	}
}

// operands reads one or more operands separated by op ("||" or "&&", optional white space
// around it): the shape of every boolean level of both pattern grammars.
func operands[E any](l *lexer, op string, operand func() (E, error)) ([]E, error) {
	var terms []E
	for {
		e, err := operand()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		l.skipWS()
		if !strings.HasPrefix(l.s[l.i:], op) {
			return terms, nil
		}
		l.i += len(op)
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// word returns the run of non-space, non-structural characters at the cursor (for messages).
func (p *jparser) word() string {
	j := p.i
	for j < len(p.s) && !isSpace(p.s[j]) && !strings.ContainsRune("()&|", rune(p.s[j])) {
		j++
	}
	if j == p.i && j < len(p.s) {
		j++
	}
	return p.s[p.i:j]
}

func (p *jparser) unexpected() error {
	w := p.word()
	if up := strings.ToUpper(w); up == "AND" || up == "OR" || up == "NOT" {
		return errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", w)
	}
	if w == "" {
		return errAt(ErrSyntax, p.i, "Invalid metric filter pattern: unexpected end of pattern")
	}
	return errAt(ErrSyntax, p.i, "Invalid metric filter pattern: unexpected '%s'", clip(w, 40))
}

const maxParenDepth = 100

func (p *jparser) parseOr(depth int) (expr, error) {
	terms, err := operands(&p.lexer, "||", func() (expr, error) { return p.parseAnd(depth) })
	if err != nil || len(terms) == 1 {
		return firstOf(terms), err
	}
	return orExpr(terms), nil
}

func (p *jparser) parseAnd(depth int) (expr, error) {
	terms, err := operands(&p.lexer, "&&", func() (expr, error) { return p.parseUnary(depth) })
	if err != nil || len(terms) == 1 {
		return firstOf(terms), err
	}
	return andExpr(terms), nil
}

// firstOf is the only operand of a one-operand level (or the zero value after an error).
func firstOf[E any](terms []E) E {
	var zero E
	if len(terms) == 0 {
		return zero
	}
	return terms[0]
}

func (p *jparser) parseUnary(depth int) (expr, error) {
	p.skipWS()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if depth >= maxParenDepth {
			return nil, errAt(ErrLimit, p.i, "Invalid metric filter pattern: parentheses nested too deeply")
		}
		open := p.i
		p.i++
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			if p.i >= len(p.s) {
				return nil, errAt(ErrSyntax, open, "Invalid metric filter pattern: unbalanced parenthesis")
			}
			return nil, p.unexpected()
		}
		p.i++
		return e, nil
	}
	return p.parseAtom()
}

func (p *jparser) parseAtom() (expr, error) {
	if p.i >= len(p.s) {
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected a selector")
	}
	if p.s[p.i] != '$' {
		return nil, p.unexpected()
	}
	selPos := p.i
	sel, next, err := parseSelector(p.s, p.i)
	if err != nil {
		return nil, err
	}
	p.i = next
	a := &atom{wild: sel.wild >= 0}
	if a.wild {
		p.wildSels++
		if p.wildSels > 3 {
			return nil, errAt(ErrLimit, selPos, "Your filter pattern exceeds the maximum of 3 wildcard JSON selectors per filter pattern.")
		}
	}
	key := sel.canonical()
	id, ok := p.selIdx[key]
	if !ok {
		id = len(p.sels)
		p.sels = append(p.sels, sel)
		p.selIdx[key] = id
	}
	a.sel = id
	hadSpace := p.i < len(p.s) && isSpace(p.s[p.i])
	p.skipWS()
	if p.i >= len(p.s) {
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected an operator after %s", sel.text)
	}
	// Keyword forms: IS NULL / IS TRUE / IS FALSE / NOT EXISTS (case-insensitive, §4.1).
	if hadSpace && isLetter(p.s[p.i]) {
		kw := p.keyword()
		switch strings.ToUpper(kw) {
		case "IS":
			p.i += len(kw)
			if !p.requireSpace() {
				return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected NULL, TRUE or FALSE after IS")
			}
			w := p.keyword()
			switch strings.ToUpper(w) {
			case "NULL":
				a.unary = unIsNull
			case "TRUE":
				a.unary = unIsTrue
			case "FALSE":
				a.unary = unIsFalse
			default:
				return nil, errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", p.word())
			}
			p.i += len(w)
		case "NOT":
			p.i += len(kw)
			if !p.requireSpace() {
				return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: expected EXISTS after NOT")
			}
			w := p.keyword()
			if strings.ToUpper(w) != "EXISTS" {
				return nil, errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", p.word())
			}
			p.i += len(w)
			a.unary = unNotExists
		default:
			return nil, errAt(ErrInvalidChar, p.i, "Invalid character(s) in term '%s'", p.word())
		}
		if p.i < len(p.s) && !isSpace(p.s[p.i]) && p.s[p.i] != ')' && p.s[p.i] != '&' && p.s[p.i] != '|' {
			return nil, p.unexpected()
		}
		p.atoms = append(p.atoms, a)
		return a, nil
	}
	opPos := p.i
	switch {
	case strings.HasPrefix(p.s[p.i:], "=="):
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: '==' is not an operator, use '='")
	case strings.HasPrefix(p.s[p.i:], "!="):
		a.op, p.i = opNe, p.i+2
	case strings.HasPrefix(p.s[p.i:], "<="):
		a.op, p.i = opLe, p.i+2
	case strings.HasPrefix(p.s[p.i:], ">="):
		a.op, p.i = opGe, p.i+2
	case p.s[p.i] == '=':
		a.op, p.i = opEq, p.i+1
	case p.s[p.i] == '<':
		a.op, p.i = opLt, p.i+1
	case p.s[p.i] == '>':
		a.op, p.i = opGt, p.i+1
	default:
		return nil, p.unexpected()
	}
	p.skipWS()
	lit, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if a.op.ordering() && lit.kind != litNumber {
		return nil, errAt(ErrSyntax, opPos, "Invalid metric filter pattern: %s needs a numeric value", a.op)
	}
	if lit.kind == litRegex {
		p.regexes++
		if p.regexes > 2 {
			return nil, errAt(ErrLimit, opPos, "Your input has exceeded the maximum of 2 regular expressions per filter pattern.")
		}
	}
	a.lit = lit
	p.atoms = append(p.atoms, a)
	return a, nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func (p *jparser) keyword() string {
	j := p.i
	for j < len(p.s) && isLetter(p.s[j]) {
		j++
	}
	return p.s[p.i:j]
}

func (p *jparser) requireSpace() bool {
	if p.i >= len(p.s) || !isSpace(p.s[p.i]) {
		return false
	}
	p.skipWS()
	return true
}

// bareValueChar is what an unquoted JSON comparison value may contain (§4.1: word, number, glob).
func bareValueChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-' || c == '+' || c == '*'
}

// delimitedLiteral reads a value that starts with its own delimiter — a "quoted string" or a
// %regex% — at s[i]; ok is false when s[i] starts neither, and the caller reads a bare value.
// JSON and space-delimited patterns share this lexical rule.
func delimitedLiteral(s string, i int) (lit *literal, end int, ok bool, err error) {
	switch s[i] {
	case '"':
		text, end, err := readQuoted(s, i)
		if err != nil {
			return nil, 0, true, err
		}
		return textLiteral(text), end, true, nil
	case '%':
		n := strings.IndexByte(s[i+1:], '%')
		if n < 0 {
			return nil, 0, true, errAt(ErrSyntax, i, "Invalid metric filter pattern: unterminated regular expression")
		}
		body := s[i+1 : i+1+n]
		re, err := compileRegex(body, i+1)
		if err != nil {
			return nil, 0, true, err
		}
		return &literal{kind: litRegex, text: body, re: re}, i + n + 2, true, nil
	}
	return nil, 0, false, nil
}

// delimitedValue reads a comparison value that carries its own delimiters ("…" or %…%) and
// advances past it; ok is false, with no error, when the value is bare and the caller reads it.
func (l *lexer) delimitedValue() (lit *literal, ok bool, err error) {
	if l.i >= len(l.s) {
		return nil, false, errAt(ErrSyntax, l.i, "Invalid metric filter pattern: expected a value")
	}
	lit, end, ok, err := delimitedLiteral(l.s, l.i)
	if ok && err == nil {
		l.i = end
	}
	return lit, ok, err
}

func (p *jparser) parseValue() (*literal, error) {
	if lit, ok, err := p.delimitedValue(); ok || err != nil {
		return lit, err
	}
	j := p.i
	for j < len(p.s) && !isSpace(p.s[j]) && p.s[j] != ')' && p.s[j] != '&' && p.s[j] != '|' {
		j++
	}
	tok := p.s[p.i:j]
	if tok == "" {
		return nil, p.unexpected()
	}
	for k := 0; k < len(tok); k++ {
		if !bareValueChar(tok[k]) {
			return nil, errAt(ErrInvalidChar, p.i+k, "Invalid character(s) in term '%s'", tok)
		}
	}
	if strings.EqualFold(tok, "null") {
		return nil, errAt(ErrSyntax, p.i, "Invalid metric filter pattern: use IS NULL to test for null")
	}
	lit, err := bareLiteral(tok, p.i)
	if err != nil {
		return nil, err
	}
	p.i = j
	return lit, nil
}

// bareLiteral classifies an unquoted value: number, glob, or word (a string; true/false are strings).
func bareLiteral(tok string, pos int) (*literal, error) {
	if d, ok := parseDecimal(tok, true, maxLiteralExp); ok {
		return &literal{kind: litNumber, text: tok, textB: []byte(tok), num: d}, nil
	}
	if _, ok := parseDecimal(tok, true, 1<<62); ok {
		return nil, errAt(ErrSyntax, pos, "Invalid metric filter pattern: numeric literal %s is out of range", tok)
	}
	return textLiteral(tok), nil
}

func textLiteral(text string) *literal {
	if strings.Contains(text, "*") {
		return &literal{kind: litGlob, text: text, glob: newGlob(text)}
	}
	return &literal{kind: litText, text: text, textB: []byte(text)}
}

// readQuoted reads a double-quoted literal at s[i]; \" and \\ are decoded (spec §10 Q1 is open; this
// is floci's reading), any other backslash is kept as written.
func readQuoted(s string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1, nil
		case c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\'):
			b.WriteByte(s[j+1])
			j += 2
			continue
		}
		b.WriteByte(c)
		j++
	}
	return "", j, errAt(ErrSyntax, i, "Invalid metric filter pattern: unterminated quoted string")
}
