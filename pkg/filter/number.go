package filter

import (
	"math"
	"strconv"
	"strings"
)

// decimal is an exact decimal number: 0.digits × 10^exp, negated when neg. digits has no leading or
// trailing zeros; the empty string is zero. It lets pattern literals compare exactly with message
// values (spec §4.4) without big-number arithmetic, and without letting a literal such as 1e999999
// allocate anything proportional to its exponent.
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// maxLiteralExp bounds pattern literal exponents: AWS rejects exponents beyond 32 bits (§4.1).
const maxLiteralExp = math.MaxInt32

// parseDecimal reads [+-]?digits(.digits*)?([eE][+-]?digits)?. It reports false for anything else,
// and for exponents whose magnitude exceeds maxExp.
func parseDecimal(s string, allowPlus bool, maxExp int64) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '-' || (allowPlus && s[i] == '+')) {
		d.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	if intPart == "" {
		return d, false
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
	}
	var e int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if e > maxExp {
				return d, false
			}
			e = e*10 + int64(s[i]-'0')
			i++
		}
		if i == es || e > maxExp {
			return d, false
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return d, false
	}
	// Normalise: strip leading zeros of the integer part and trailing zeros of the fraction.
	lead := 0
	for lead < len(intPart) && intPart[lead] == '0' {
		lead++
	}
	intPart = intPart[lead:]
	var all string
	switch {
	case frac == "":
		all = intPart
	case intPart == "":
		all = frac
	default:
		all = intPart + frac
	}
	pointPos := int64(len(intPart)) // digits before the decimal point in `all`
	lz := 0
	for lz < len(all) && all[lz] == '0' {
		lz++
	}
	all = all[lz:]
	pointPos -= int64(lz)
	all = strings.TrimRight(all, "0")
	if all == "" {
		return decimal{}, true // zero: sign dropped, -0 equals 0
	}
	d.digits = all
	d.exp = pointPos + e
	return d, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (a decimal) sign() int {
	if a.digits == "" {
		return 0
	}
	if a.neg {
		return -1
	}
	return 1
}

// cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a decimal) cmp(b decimal) int {
	sa, sb := a.sign(), b.sign()
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	if sa == 0 {
		return 0
	}
	m := cmpMagnitude(a, b)
	if sa < 0 {
		return -m
	}
	return m
}

func cmpMagnitude(a, b decimal) int {
	if a.exp != b.exp {
		if a.exp < b.exp {
			return -1
		}
		return 1
	}
	switch c := strings.Compare(a.digits, b.digits); {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// isIntegerText reports whether raw (a valid JSON number) is an integer: no fraction, no exponent.
func isIntegerText(raw []byte) bool {
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// jsonNumber converts a JSON number from a message into the spec's number model (§4.4): integers are
// exact, anything else is an IEEE double. ok is false for a double that overflowed to ±Infinity, which
// is not comparable.
func jsonNumber(raw []byte) (d decimal, ok bool) {
	if isIntegerText(raw) {
		return parseDecimal(string(raw), false, math.MaxInt64/10)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !(math.IsInf(f, 0) || f == 0) {
		return decimal{}, false
	}
	if math.IsInf(f, 0) {
		return decimal{}, false
	}
	return parseDecimal(strconv.FormatFloat(f, 'e', -1, 64), false, 1000)
}

// renderNumber renders a JSON number the way CloudWatch does for text, glob and regex comparisons
// (§4.6): integers as their digits, doubles as Java's Double.toString.
func renderNumber(raw []byte) string {
	if isIntegerText(raw) {
		s := string(raw)
		if strings.TrimLeft(s, "-0") == "" {
			return "0"
		}
		return s
	}
	f, _ := strconv.ParseFloat(string(raw), 64)
	return javaDouble(f)
}

// javaDouble formats f like Java's Double.toString (shortest round-trip digits).
func javaDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1.5E+308, 1E-05
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-")
	exp = strings.TrimLeft(exp, "0")
	if exp == "" {
		exp = "0"
	}
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// looseNumber parses a space-delimited token or JSON string as a number for numeric comparison and
// metric values: an optional sign (+ allowed) and decimal notation, compared exactly.
func looseNumber(s string) (decimal, bool) {
	return parseDecimal(s, true, 1<<20)
}

// toFloat converts a decimal to the float64 a metric sample carries.
func (a decimal) toFloat() float64 {
	if a.digits == "" {
		return 0
	}
	var b strings.Builder
	if a.neg {
		b.WriteByte('-')
	}
	b.WriteString("0.")
	b.WriteString(a.digits)
	b.WriteString("e")
	b.WriteString(strconv.FormatInt(a.exp, 10))
	f, _ := strconv.ParseFloat(b.String(), 64)
	return f
}
