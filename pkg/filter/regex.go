package filter

import (
	"regexp"
	"strings"
)

// Regexes run on Go's RE2 engine (linear time). AWS accepts a narrow, Java-flavoured subset (spec
// §3.2); validateRegex enforces that subset first so that Go-only syntax which would otherwise slip
// through (\x{41}, [[:alpha:]], \b, \Q…\E) is rejected as AWS rejects it, and so that Java constructs
// RE2 would read differently (a stray '{', nested classes) are refused instead of silently changing
// meaning.

const regexSymbols = ":_#=@/;,- "
const regexOperators = "^$?[]{}|\\*+."

func isRegexPlain(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		strings.IndexByte(regexSymbols, c) >= 0
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// compileRegex validates body (the text between the % delimiters, starting at byte offset pos of the
// pattern) and compiles it.
func compileRegex(body string, pos int) (*regexp.Regexp, error) {
	if body == "" {
		return nil, errAt(ErrRegex, pos, "Invalid character(s) in term '%%%%': empty regular expression")
	}
	inClass := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\':
			if i+1 >= len(body) {
				return nil, errAt(ErrRegex, pos+i, "Failed to compile regular expression: trailing backslash")
			}
			n := body[i+1]
			switch {
			case strings.IndexByte("dDsSwW", n) >= 0:
				i++
			case n == 'x':
				if i+3 >= len(body) || !isHex(body[i+2]) || !isHex(body[i+3]) {
					return nil, errAt(ErrRegex, pos+i, "Failed to compile regular expression: \\x needs two hex digits")
				}
				i += 3
			case n == '(' || n == ')':
				return nil, errAt(ErrRegex, pos+i, "Invalid character(s) in term '%%\\%c'", n)
			case strings.IndexByte(regexOperators, n) >= 0 || strings.IndexByte(regexSymbols, n) >= 0:
				i++
			default:
				return nil, errAt(ErrRegex, pos+i, "Failed to compile regular expression: unsupported escape \\%c", n)
			}
			continue
		case c == '(' || c == ')':
			return nil, errAt(ErrRegex, pos+i, "Invalid character(s) in term '%%%c'", c)
		case isRegexPlain(c):
		case strings.IndexByte(regexOperators, c) >= 0:
		default:
			return nil, errAt(ErrRegex, pos+i, "Invalid character(s) in term '%%%s'", printableByte(body, i))
		}
		switch c {
		case '[':
			if inClass {
				// Java nests classes ([a[bc]] is a union, [[:alpha:]] a set of letters); RE2 reads a
				// nested '[' literally or as a POSIX class. Refuse rather than change the meaning.
				return nil, errAt(ErrRegex, pos+i, "Failed to compile regular expression: nested character class")
			}
			inClass = true
			// A ']' right after '[' or '[^' is a literal member in both dialects.
			if i+1 < len(body) && body[i+1] == '^' {
				i++
			}
			if i+1 < len(body) && body[i+1] == ']' {
				i++
			}
		case ']':
			inClass = false
		case '{':
			if inClass {
				break
			}
			// Java requires '{' to open a bounded repetition; RE2 would take a malformed one literally.
			end := strings.IndexByte(body[i:], '}')
			if end < 0 || !validRepeat(body[i+1:i+end]) {
				return nil, errAt(ErrRegex, pos+i, "Failed to compile regular expression: illegal repetition")
			}
		}
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, errAt(ErrRegex, pos, "Failed to compile regular expression: %v", err)
	}
	return re, nil
}

// validRepeat accepts the inside of {n}, {n,} and {n,m}.
func validRepeat(s string) bool {
	lo, hi, comma := strings.Cut(s, ",")
	if lo == "" || !allDigits(lo) {
		return false
	}
	return !comma || hi == "" || allDigits(hi)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// printableByte returns the (possibly multi-byte) character starting at s[i], for messages.
func printableByte(s string, i int) string {
	for _, r := range s[i:] {
		return string(r)
	}
	return ""
}
