package filter

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxPatternLength is the longest filter pattern CloudWatch Logs accepts (§1).
const MaxPatternLength = 1024

// Kind is the kind of a filter pattern, chosen by its first non-blank character (§1).
type Kind uint8

const (
	KindMatchAll Kind = iota // empty or blank
	KindTerms                // unstructured terms
	KindRegex                // one standalone %regex%
	KindJSON                 // { … }
	KindSpace                // [ … ]
)

func (k Kind) String() string {
	return [...]string{"match-all", "terms", "regex", "json", "space-delimited"}[k]
}

// Pattern is a compiled filter pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	text  string
	kind  Kind
	terms *termsProgram
	re    *literal
	json  *jsonProgram
	space *spaceProgram

	pool sync.Pool // *evalState
}

// evalState is the scratch space one evaluation needs; Pattern pools them so Match does not allocate
// in steady state.
type evalState struct {
	js    jsonState
	toks  []token
	binds []binding
}

// Compile parses and validates a filter pattern, rejecting what CloudWatch Logs rejects. Errors are
// *Error values (use errors.As) carrying the offending position.
func Compile(pattern string) (*Pattern, error) {
	p, err := compile(pattern)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Pattern = pattern
		}
		return nil, err
	}
	return p, nil
}

// MustCompile is Compile for patterns known at build time (the built-in packs); it panics on error.
func MustCompile(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

func compile(s string) (*Pattern, error) {
	if n := utf8.RuneCountInString(s); n > MaxPatternLength {
		return nil, errAt(ErrLimit, -1, "filter pattern is %d characters long; the maximum is %d", n, MaxPatternLength)
	}
	p := &Pattern{text: s}
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	if start == end {
		p.kind = KindMatchAll
		return p, nil
	}
	switch s[start] {
	case '{':
		if s[end-1] != '}' {
			return nil, errAt(ErrSyntax, end-1, "If a filter pattern starts with '{' it must end with '}'")
		}
		prog, err := compileJSON(s, start, end)
		if err != nil {
			return nil, err
		}
		p.kind, p.json = KindJSON, prog
	case '[':
		if s[end-1] != ']' {
			return nil, errAt(ErrSyntax, end-1, "If a filter pattern starts with '[' it must end with ']'")
		}
		prog, err := compileSpace(s, start, end)
		if err != nil {
			return nil, err
		}
		p.kind, p.space = KindSpace, prog
	case '%':
		if end-start < 2 || s[end-1] != '%' {
			return nil, errAt(ErrSyntax, end-1, "If a filter pattern starts with '%%' it must end with '%%'")
		}
		body := s[start+1 : end-1]
		if i := strings.IndexByte(body, '%'); i >= 0 {
			// Two regexes, or a regex followed by more text: what stands between them is an invalid term.
			term := body[i+1:]
			if k := strings.IndexByte(term, '%'); k >= 0 {
				term = term[:k]
			}
			return nil, errAt(ErrInvalidChar, start+1+i, "Invalid character(s) in term '%s'", term)
		}
		re, err := compileRegex(body, start+1)
		if err != nil {
			return nil, err
		}
		p.kind, p.re = KindRegex, &literal{kind: litRegex, text: body, re: re}
	default:
		prog, err := compileTerms(s[:end])
		if err != nil {
			return nil, err
		}
		p.kind, p.terms = KindTerms, prog
	}
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.text }

// Kind reports which of the pattern languages the pattern uses.
func (p *Pattern) Kind() Kind { return p.kind }

func (p *Pattern) state() *evalState {
	if st, ok := p.pool.Get().(*evalState); ok {
		return st
	}
	st := &evalState{}
	if p.json != nil {
		st.js.slots = make([]slot, len(p.json.sels))
	}
	return st
}

// Match reports whether msg matches the pattern. Evaluation time is linear in len(msg) for a given
// pattern.
func (p *Pattern) Match(msg []byte) bool {
	switch p.kind {
	case KindMatchAll:
		return true
	case KindTerms:
		return p.terms.match(msg)
	case KindRegex:
		return p.re.re.Match(msg)
	}
	st := p.state()
	ok := p.matchState(st, msg)
	p.release(st)
	return ok
}

func (p *Pattern) release(st *evalState) {
	st.js.data = nil
	p.pool.Put(st)
}

func (p *Pattern) matchState(st *evalState, msg []byte) bool {
	switch p.kind {
	case KindJSON:
		if !st.js.resolve(p.json.root, msg) {
			return false
		}
		return p.json.expr.eval(&st.js)
	case KindSpace:
		var ok bool
		st.toks, st.binds, ok = p.space.match(msg, st.toks, st.binds)
		return ok
	}
	return false
}

// Field is one extracted value of a space-delimited match: Name is "$name" for a named slot and "$N"
// (1-based token position) for an unnamed slot or a token covered by "...".
type Field struct {
	Name  string
	Value string
}

// Result is the outcome of MatchFields.
type Result struct {
	Matched bool
	// Fields are the extracted values in slot order (space-delimited patterns only; empty otherwise,
	// as TestMetricFilter returns for JSON, term and regex patterns).
	Fields []Field
}

// MatchFields is Match plus the extracted values TestMetricFilter reports.
func (p *Pattern) MatchFields(msg []byte) Result {
	if p.kind != KindSpace {
		return Result{Matched: p.Match(msg)}
	}
	st := p.state()
	defer p.release(st)
	if !p.matchState(st, msg) {
		return Result{}
	}
	r := Result{Matched: true, Fields: make([]Field, 0, len(st.binds))}
	for _, b := range st.binds {
		r.Fields = append(r.Fields, Field{Name: p.space.key(b), Value: string(b.value)})
	}
	return r
}
