package parse

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the small JSON machinery the CloudTrail and Resolver decoders share. A record must
// sit whole in the decoder's buffer, so that its text can be Record.Raw without a copy. CloudTrail
// records are decoded in one pass straight from the buffer: a cursor walks the record, validating it
// and noting where the members the record model names are; when the buffer ends first (errShort)
// the decoder reads more and walks the record again; when the record is complete, its strings are
// sliced from one string copy of it. Resolver records, whose bad lines are skipped rather than fatal,
// first have their extent found by objectEnd (aware of strings and escapes, nothing more), so a bad
// one can be stepped over. Strings are unescaped only when they contain a backslash, which keeps
// allocations per record to a handful.

// errShort means the bytes at hand end before the value does: read more and try again.
var errShort = errors.New("input ends inside a value")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 1000

// syntaxError is malformed JSON: the object is not JSON and cannot be decoded further.
type syntaxError struct {
	off int // offset in the bytes being scanned
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// shapeError is well-formed JSON of the wrong shape for the record model (a string where an
// object belongs, an unparsable time): that record is skipped and counted, the object goes on.
type shapeError struct {
	off   int
	field string
	msg   string
}

func (e *shapeError) Error() string { return fmt.Sprintf("member %q: %s", e.field, e.msg) }

// keepShape lets a decoder finish walking a record after a shape error (the offending value is
// already consumed), so the rest of the record is still checked for syntax. It returns the error to
// stop on, nil to go on; *first keeps the first shape error.
func keepShape(err error, first *error) error {
	if _, ok := err.(*shapeError); ok {
		if *first == nil {
			*first = err
		}
		return nil
	}
	return err
}

// byteClass marks bytes that end a fast run inside a string.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// nextStop returns the index of the first byte at or after i that ends a fast run inside a string
// ('"', '\\' or a control character), or len(b). It tests eight bytes at a time: strings are most
// of a CloudTrail record's bytes, so this loop is the decoder's hottest.
func nextStop(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * '"')
		bs := x ^ (ones * '\\')
		m := ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((x - ones*0x20) &^ x)
		if m &= highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if strStop[b[i]] {
			return i
		}
	}
	return i
}

// objectEnd returns the offset just past the JSON object starting at b[i] (which must be '{'),
// or errShort when b ends first. It tracks only strings and bracket depth; full validation is the
// decoder's job.
func objectEnd(b []byte, i int) (int, error) {
	depth := 0
	n := len(b)
	for i < n {
		c := b[i]
		switch c {
		case '"':
			i++
			for {
				i = nextStop(b, i)
				if i >= n {
					return 0, errShort
				}
				c = b[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					i += 2
					continue
				}
				return 0, &syntaxError{off: i, msg: "control character in string"}
			}
			continue
		case '{', '[':
			depth++
			if depth > maxDepth {
				return 0, &syntaxError{off: i, msg: "nesting too deep"}
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
			if depth < 0 {
				return 0, &syntaxError{off: i, msg: "unbalanced " + string(c)}
			}
		}
		i++
	}
	return 0, errShort
}

// cursor walks JSON. With s set, b and s hold the same bytes (s is a string copy of the record, the
// source of every unescaped string value) and str returns strings at once. With deferred set there
// is no string copy yet, because the record's end is not known: strTo and rawTo note spans, which
// the decoder turns into strings once the record is complete.
type cursor struct {
	b        []byte
	s        string
	i        int
	depth    int
	deferred bool
	spans    []span
	// fixUTF8 is set when the record holds invalid UTF-8: str then replaces the invalid bytes of
	// every value with U+FFFD, so that nothing written to a Parquet string column is invalid.
	fixUTF8 bool
}

// span is a string or raw member of a record being decoded in deferred mode. Exactly one target is
// set: str, raw, or (both nil) field fld of resource res. a is -1 when the value is val (a string
// that had escapes, decoded already).
type span struct {
	str  *string
	raw  *json.RawMessage
	res  int32
	fld  uint8
	a, b int
	val  string
}

// strTo stores a string member (see str) into dst, now or, in deferred mode, once the record ends.
func (c *cursor) strTo(dst *string, field string) error {
	if !c.deferred {
		s, err := c.str(field)
		if err == nil {
			*dst = s
		}
		return err
	}
	return c.deferStr(span{str: dst}, field)
}

func (c *cursor) deferStr(sp span, field string) error {
	switch c.peek() {
	case '"':
		start, end, esc, err := c.scanString()
		if err != nil {
			return err
		}
		if esc {
			sp.a, sp.val = -1, string(unescape(make([]byte, 0, end-start), c.b[start:end]))
		} else {
			sp.a, sp.b = start, end
		}
	case 'n':
		return c.literal("null")
	case 0:
		return errShort
	case '{', '[':
		return c.wrongType(field, "a string")
	default:
		start, end, err := c.skip()
		if err != nil {
			return err
		}
		sp.a, sp.b = start, end
	}
	c.spans = append(c.spans, sp)
	return nil
}

// strBytes reads a string member's bytes (unescaped), for values the decoder parses rather than
// keeps; null reads as nil.
func (c *cursor) strBytes(field string) ([]byte, error) {
	switch c.peek() {
	case '"':
		start, end, esc, err := c.scanString()
		if err != nil {
			return nil, err
		}
		if esc {
			return unescape(nil, c.b[start:end]), nil
		}
		return c.b[start:end], nil
	case 'n':
		return nil, c.literal("null")
	case 0:
		return nil, errShort
	}
	return nil, c.wrongType(field, "a string")
}

// rawTo stores a free-form member's JSON text into dst (nil for null), in deferred mode only.
func (c *cursor) rawTo(dst *json.RawMessage) error {
	s, e, isNull, err := c.raw()
	if err != nil || isNull {
		return err
	}
	c.spans = append(c.spans, span{raw: dst, a: s, b: e})
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func (c *cursor) ws() {
	// Compact JSON (CloudTrail's) has no space between tokens: one comparison settles that case.
	for c.i < len(c.b) && c.b[c.i] <= ' ' && isSpace(c.b[c.i]) {
		c.i++
	}
}

func (c *cursor) synErr(msg string) error { return &syntaxError{off: c.i, msg: msg} }

// peek returns the next non-space byte, 0 at the end.
func (c *cursor) peek() byte {
	c.ws()
	if c.i >= len(c.b) {
		return 0
	}
	return c.b[c.i]
}

func (c *cursor) expect(ch byte) error {
	if c.peek() != ch {
		if c.i >= len(c.b) {
			return errShort
		}
		return c.synErr(fmt.Sprintf("expected %q, found %q", ch, c.b[c.i]))
	}
	c.i++
	return nil
}

// objectStart consumes '{' and reports whether the object is empty (its '}' consumed too).
func (c *cursor) objectStart() (empty bool, err error) {
	if err := c.expect('{'); err != nil {
		return false, err
	}
	if c.peek() == '}' {
		c.i++
		return true, nil
	}
	return false, nil
}

// key reads a member name and its ':'; the name aliases the input unless it has escapes.
func (c *cursor) key() ([]byte, error) {
	if c.peek() != '"' {
		if c.i >= len(c.b) {
			return nil, errShort
		}
		return nil, c.synErr("expected a member name")
	}
	start, end, esc, err := c.scanString()
	if err != nil {
		return nil, err
	}
	k := c.b[start:end]
	if esc {
		k = unescape(nil, k)
	}
	if c.i < len(c.b) && c.b[c.i] == ':' { // compact JSON's case, without peek's space skipping
		c.i++
		return k, nil
	}
	if err := c.expect(':'); err != nil {
		return nil, err
	}
	return k, nil
}

// next consumes the ',' or closing byte after a member or element; more is false at the close.
func (c *cursor) next(closing byte) (more bool, err error) {
	if c.i < len(c.b) && c.b[c.i] == ',' { // compact JSON's case, without peek's space skipping
		c.i++
		return true, nil
	}
	switch c.peek() {
	case ',':
		c.i++
		return true, nil
	case closing:
		c.i++
		return false, nil
	case 0:
		return false, errShort
	}
	return false, c.synErr(fmt.Sprintf("expected ',' or %q", closing))
}

// scanString consumes a string at c.i (a '"') and returns the bounds of its content.
func (c *cursor) scanString() (start, end int, esc bool, err error) {
	b := c.b
	i := c.i + 1
	start = i
	for {
		i = nextStop(b, i)
		if i >= len(b) {
			return 0, 0, false, errShort
		}
		switch b[i] {
		case '"':
			c.i = i + 1
			return start, i, esc, nil
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, 0, false, errShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, 0, false, errShort
				}
				for _, h := range b[i+2 : i+6] {
					if hexVal(h) < 0 {
						return 0, 0, false, &syntaxError{off: i, msg: "bad \\u escape"}
					}
				}
				i += 6
			default:
				return 0, 0, false, &syntaxError{off: i, msg: "bad escape"}
			}
		default:
			return 0, 0, false, &syntaxError{off: i, msg: "control character in string"}
		}
	}
}

// str reads a string value; null reads as "". Other types are a shape error naming field.
func (c *cursor) str(field string) (string, error) {
	// In compact JSON a value starts right at c.i: a string without escapes is sliced at once,
	// sparing peek's space skipping and scanString's escape handling for most values. Anything
	// else (spaces before it, escapes, another type, the end of the input) takes the general path.
	if b := c.b; c.i < len(b) && b[c.i] == '"' {
		start := c.i + 1
		if j := nextStop(b, start); j < len(b) && b[j] == '"' {
			c.i = j + 1
			return c.valid(c.s[start:j]), nil
		}
	}
	switch c.peek() {
	case '"':
		start, end, esc, err := c.scanString()
		if err != nil {
			return "", err
		}
		if esc {
			return c.valid(string(unescape(make([]byte, 0, end-start), c.b[start:end]))), nil
		}
		return c.valid(c.s[start:end]), nil
	case 'n':
		return "", c.literal("null")
	case 0:
		return "", errShort
	case '{', '[':
		return "", c.wrongType(field, "a string")
	}
	// A number or boolean where a string belongs keeps its text: AWS's own fixtures are not strict.
	start, end, err := c.skip()
	if err != nil {
		return "", err
	}
	return c.valid(c.s[start:end]), nil
}

// valid returns s, with invalid UTF-8 replaced when the record has any.
func (c *cursor) valid(s string) string {
	if c.fixUTF8 {
		return validUTF8(s)
	}
	return s
}

// wrongType skips the offending value (so the error is a shape error, not a syntax error, when the
// JSON itself is fine) and reports it.
func (c *cursor) wrongType(field, want string) error {
	at := c.i
	if _, _, err := c.skip(); err != nil {
		return err
	}
	return &shapeError{off: at, field: field, msg: "want " + want}
}

func (c *cursor) literal(lit string) error {
	if len(c.b)-c.i < len(lit) {
		return errShort
	}
	if string(c.b[c.i:c.i+len(lit)]) != lit {
		return c.synErr("invalid literal")
	}
	c.i += len(lit)
	return nil
}

// optBool reads true, false or null (and, leniently, the strings "true"/"false").
func (c *cursor) optBool(field string) (OptBool, error) {
	switch c.peek() {
	case 't':
		return OptBool{V: true, Valid: true}, c.literal("true")
	case 'f':
		return OptBool{V: false, Valid: true}, c.literal("false")
	case 'n':
		return OptBool{}, c.literal("null")
	case '"':
		at := c.i
		s, err := c.strBytes(field)
		if err != nil {
			return OptBool{}, err
		}
		switch string(s) {
		case "true":
			return OptBool{V: true, Valid: true}, nil
		case "false":
			return OptBool{V: false, Valid: true}, nil
		case "":
			return OptBool{}, nil
		}
		return OptBool{}, &shapeError{off: at, field: field, msg: "want a boolean"}
	case 0:
		return OptBool{}, errShort
	}
	return OptBool{}, c.wrongType(field, "a boolean")
}

// raw reads any value and returns its text, or nil for null.
func (c *cursor) raw() (start, end int, isNull bool, err error) {
	c.ws()
	start = c.i
	if c.i < len(c.b) && c.b[c.i] == 'n' {
		if err := c.literal("null"); err != nil {
			return 0, 0, false, err
		}
		return start, c.i, true, nil
	}
	s, e, err := c.skip()
	return s, e, false, err
}

// skip validates and consumes any value, returning its bounds.
func (c *cursor) skip() (start, end int, err error) {
	c.ws()
	start = c.i
	if c.i >= len(c.b) {
		return 0, 0, errShort
	}
	switch ch := c.b[c.i]; {
	case ch == '"':
		if _, _, _, err := c.scanString(); err != nil {
			return 0, 0, err
		}
	case ch == '{':
		if err := c.skipObject(); err != nil {
			return 0, 0, err
		}
	case ch == '[':
		if err := c.skipArray(); err != nil {
			return 0, 0, err
		}
	case ch == 't':
		err = c.literal("true")
	case ch == 'f':
		err = c.literal("false")
	case ch == 'n':
		err = c.literal("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		err = c.number()
	default:
		return 0, 0, c.synErr(fmt.Sprintf("unexpected %q", ch))
	}
	if err != nil {
		return 0, 0, err
	}
	return start, c.i, nil
}

func (c *cursor) enter() error {
	c.depth++
	if c.depth > maxDepth {
		return c.synErr("nesting too deep")
	}
	return nil
}

func (c *cursor) skipObject() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.depth-- }()
	empty, err := c.objectStart()
	if err != nil || empty {
		return err
	}
	for {
		if _, err := c.key(); err != nil {
			return err
		}
		if _, _, err := c.skip(); err != nil {
			return err
		}
		more, err := c.next('}')
		if err != nil || !more {
			return err
		}
	}
}

func (c *cursor) skipArray() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.depth-- }()
	c.i++ // '['
	if c.peek() == ']' {
		c.i++
		return nil
	}
	for {
		if _, _, err := c.skip(); err != nil {
			return err
		}
		more, err := c.next(']')
		if err != nil || !more {
			return err
		}
	}
}

// number consumes a JSON number, checking its grammar.
func (c *cursor) number() error {
	b := c.b
	i := c.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - s
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		if i >= len(b) {
			return errShort
		}
		return &syntaxError{off: i, msg: "invalid number"}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			if i >= len(b) {
				return errShort
			}
			return &syntaxError{off: i, msg: "invalid number"}
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			if i >= len(b) {
				return errShort
			}
			return &syntaxError{off: i, msg: "invalid number"}
		}
	}
	if i >= len(b) {
		return errShort // a number is never the last byte of a complete record
	}
	c.i = i
	return nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// unescape appends the decoded form of a string's content (already checked by scanString) to dst.
// Invalid surrogates decode to U+FFFD, as encoding/json does.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		ch := s[i]
		if ch != '\\' {
			dst = append(dst, ch)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return dst
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, ok := hex4(s[i+2:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							i += 6
							dst = utf8.AppendRune(dst, dec)
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, h := range s[:4] {
		v := hexVal(h)
		if v < 0 {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// parseTime reads ISO-8601 UTC times as CloudTrail and Resolver write them, with a fast path for
// the common "2006-01-02T15:04:05Z" form and its fractional variant "2006-01-02T15:04:05.999Z"
// (Resolver's, one to nine digits): time.Parse was a tenth of a Resolver record's decoding.
func parseTime[T string | []byte](s T) (time.Time, error) {
	n := len(s)
	if n >= 20 && n <= 30 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[n-1] == 'Z' &&
		(n == 20 || (n >= 22 && s[19] == '.')) {
		ns := 0
		ok := true
		if n > 20 {
			frac := s[20 : n-1]
			ns, ok = atoiN(frac)
			for i := len(frac); i < 9; i++ {
				ns *= 10
			}
		}
		y, ok1 := atoiN(s[0:4])
		mo, ok2 := atoiN(s[5:7])
		d, ok3 := atoiN(s[8:10])
		h, ok4 := atoiN(s[11:13])
		mi, ok5 := atoiN(s[14:16])
		sec, ok6 := atoiN(s[17:19])
		if ok && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) && h < 24 && mi < 60 && sec < 60 {
			// time.Date (normalising, zone lookup) was half of this function's cost.
			unix := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec)
			return time.Unix(unix, int64(ns)).UTC(), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// daysIn is the number of days of month mo (1-12) in year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-mo-d in the proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil).
func daysFromCivil(y, mo, d int) int64 {
	if mo <= 2 {
		y--
	}
	era := y
	if era < 0 { // year 0000, January or February
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (mo + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func atoiN[T string | []byte](s T) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
