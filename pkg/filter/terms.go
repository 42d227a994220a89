package filter

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// termsProgram is an unstructured pattern (§2): case-sensitive substring tests.
type termsProgram struct {
	include  [][]byte
	exclude  [][]byte
	optional [][]byte
}

func (t *termsProgram) match(msg []byte) bool {
	if len(t.include) == 0 && len(t.exclude) == 0 {
		if len(t.optional) == 0 {
			return true
		}
		for _, o := range t.optional {
			if bytes.Contains(msg, o) {
				return true
			}
		}
		return false
	}
	// '?' terms are ignored beside plain or '-' terms (§2.2).
	for _, in := range t.include {
		if !bytes.Contains(msg, in) {
			return false
		}
	}
	for _, ex := range t.exclude {
		if bytes.Contains(msg, ex) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.'
}

func compileTerms(s string) (*termsProgram, error) {
	t := &termsProgram{}
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return t, nil
		}
		start := i
		prefix := byte(0)
		if s[i] == '-' || s[i] == '?' {
			prefix = s[i]
			i++
		}
		var text string
		switch {
		case i < len(s) && s[i] == '"':
			q, end, err := readQuoted(s, i)
			if err != nil {
				return nil, err
			}
			if q == "" {
				return nil, errAt(ErrInvalidChar, i, `Invalid character(s) in term '""'`)
			}
			if end < len(s) && !isSpace(s[end]) {
				return nil, errAt(ErrSyntax, end, "Invalid metric filter pattern: a quoted term must be followed by whitespace")
			}
			text, i = q, end
		default:
			ws := i
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if !isWordRune(r) || (r == utf8.RuneError && n == 1) {
					break
				}
				i += n
			}
			if i == ws {
				end := i
				for end < len(s) && !isSpace(s[end]) {
					end++
				}
				if end == i {
					end = len(s)
				}
				term := s[start:end]
				if i < len(s) && s[i] == '%' {
					return nil, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s': a regular expression cannot be combined with terms", term)
				}
				return nil, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s'", term)
			}
			text = s[ws:i]
			// A word ends at whitespace, or where '-' / '?' starts the next term (a-b is "a -b").
			if i < len(s) && !isSpace(s[i]) && s[i] != '-' && s[i] != '?' {
				end := i
				for end < len(s) && !isSpace(s[end]) {
					end++
				}
				if s[i] == '"' {
					return nil, errAt(ErrSyntax, i, "Invalid metric filter pattern: a quoted term must be preceded by whitespace")
				}
				return nil, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s'", s[start:end])
			}
		}
		switch prefix {
		case '-':
			t.exclude = append(t.exclude, []byte(text))
		case '?':
			t.optional = append(t.optional, []byte(text))
		default:
			t.include = append(t.include, []byte(text))
		}
	}
}
