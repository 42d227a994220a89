package filter

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON scanner resolves a pattern's selectors in one pass over the raw message, without building a
// tree: members no selector names are skipped (and still validated, because a message that is not
// exactly one JSON object never matches, §4.3). Work is linear in the message: every byte is visited a
// bounded number of times, and only the members on a selector's path are descended into.

// maxDepth mirrors Jackson's default nesting limit (StreamReadConstraints, 1000): deeper documents
// fail to parse on AWS, so they match nothing here either. It also bounds recursion.
const maxDepth = 1000

type jkind uint8

const (
	jNone jkind = iota
	jString
	jNumber
	jTrue
	jFalse
	jNull
	jObject
	jArray
)

// jval is a value found at a selector: for strings, raw is the text between the quotes (still
// escaped when esc); for numbers, the number's text; for objects and arrays, the whole text.
type jval struct {
	kind     jkind
	esc      bool
	nullElem bool // an array with a top-level null element (the IS NULL quirk, §4.5)
	raw      []byte
}

type slot struct {
	set      bool // a plain selector resolved
	v        jval
	pexists  bool // wildcard selectors: the path before the wildcard resolved
	children int  // wildcard selectors: number of children at that path
	vals     []jval
}

// jsonState is the per-evaluation scratch space of a JSON pattern; patterns keep a pool of them.
type jsonState struct {
	data  []byte
	slots []slot
	buf   []byte // unescaped key or string text
	nbuf  []byte // rendered number text
	// remap, when set, translates a pattern's selector ids into slot ids (patterns evaluated
	// together by a Set share one slot table).
	remap []int
}

var wsTable = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strStop marks bytes that end a fast run inside a string.
var strStop = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	return
}()

func (st *jsonState) ws(i int) int {
	d := st.data
	for i < len(d) && wsTable[d[i]] {
		i++
	}
	return i
}

// resolve scans msg and fills st.slots. It reports false when msg is not exactly one JSON object.
func (st *jsonState) resolve(root *node, msg []byte) bool {
	st.data = msg
	for i := range st.slots {
		s := &st.slots[i]
		s.set, s.pexists, s.children, s.vals = false, false, 0, s.vals[:0]
	}
	i := st.ws(0)
	if i >= len(msg) || msg[i] != '{' {
		return false
	}
	active := [1]*node{root}
	end, ok := st.value(i, active[:], 0)
	if !ok {
		return false
	}
	return st.ws(end) == len(msg)
}

// value parses the value starting at i for the active trie nodes and returns the offset after it.
func (st *jsonState) value(i int, active []*node, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	d := st.data
	if i >= len(d) {
		return i, false
	}
	needInfo, descend := false, false
	for _, n := range active {
		if len(n.ends) > 0 || len(n.parents) > 0 {
			needInfo = true
		}
		if n.hasChildren() {
			descend = true
		}
	}
	if !needInfo && !descend {
		return st.skip(i, depth)
	}
	start := i
	var v jval
	var end, children int
	var ok bool
	switch c := d[i]; {
	case c == '{':
		v.kind = jObject
		if descend {
			end, children, ok = st.object(i, active, depth)
		} else {
			end, ok = st.skip(i, depth)
		}
	case c == '[':
		v.kind = jArray
		if descend {
			end, children, v.nullElem, ok = st.array(i, active, depth)
		} else {
			end, children, v.nullElem, ok = st.array(i, nil, depth)
		}
	case c == '"':
		v.kind = jString
		end, v.esc, ok = st.str(i)
		if ok {
			v.raw = d[start+1 : end-1]
		}
	default:
		v.kind, end, ok = st.scalar(i)
	}
	if !ok {
		return end, false
	}
	if v.kind != jString {
		v.raw = d[start:end]
	}
	if !needInfo {
		return end, true
	}
	for _, n := range active {
		for _, id := range n.parents {
			s := &st.slots[id]
			s.pexists = true
			s.children += children
		}
		for _, id := range n.ends {
			s := &st.slots[id]
			if n.wildEnd {
				s.vals = append(s.vals, v)
			} else {
				// Duplicate keys: the last occurrence wins, as with Jackson's tree model.
				s.set, s.v = true, v
			}
		}
	}
	return end, true
}

func (st *jsonState) object(i int, active []*node, depth int) (end, count int, ok bool) {
	d := st.data
	i = st.ws(i + 1)
	if i < len(d) && d[i] == '}' {
		return i + 1, 0, true
	}
	var buf [8]*node
	for {
		if i >= len(d) || d[i] != '"' {
			return i, count, false
		}
		kend, esc, ok := st.str(i)
		if !ok {
			return kend, count, false
		}
		key := d[i+1 : kend-1]
		i = st.ws(kend)
		if i >= len(d) || d[i] != ':' {
			return i, count, false
		}
		i = st.ws(i + 1)
		next := buf[:0]
		if esc {
			key = unescape(st.buf[:0], key)
			st.buf = key
		}
		for _, n := range active {
			if c := n.child(key); c != nil {
				next = append(next, c)
			}
			if n.wild != nil {
				next = append(next, n.wild)
			}
		}
		if len(next) == 0 {
			i, ok = st.skip(i, depth+1)
		} else {
			i, ok = st.value(i, next, depth+1)
		}
		if !ok {
			return i, count, false
		}
		count++
		i = st.ws(i)
		if i >= len(d) {
			return i, count, false
		}
		switch d[i] {
		case ',':
			i = st.ws(i + 1)
		case '}':
			return i + 1, count, true
		default:
			return i, count, false
		}
	}
}

// array walks an array; with no active nodes it only counts elements and looks for a top-level null.
func (st *jsonState) array(i int, active []*node, depth int) (end, count int, nullElem, ok bool) {
	d := st.data
	i = st.ws(i + 1)
	if i < len(d) && d[i] == ']' {
		return i + 1, 0, false, true
	}
	var buf [8]*node
	for {
		if i >= len(d) {
			return i, count, nullElem, false
		}
		if d[i] == 'n' {
			nullElem = true
		}
		next := buf[:0]
		for _, n := range active {
			if n.index != nil {
				if c := n.index[count]; c != nil {
					next = append(next, c)
				}
			}
			if n.wild != nil {
				next = append(next, n.wild)
			}
		}
		if len(next) == 0 {
			i, ok = st.skip(i, depth+1)
		} else {
			i, ok = st.value(i, next, depth+1)
		}
		if !ok {
			return i, count, nullElem, false
		}
		count++
		i = st.ws(i)
		if i >= len(d) {
			return i, count, nullElem, false
		}
		switch d[i] {
		case ',':
			i = st.ws(i + 1)
		case ']':
			return i + 1, count, nullElem, true
		default:
			return i, count, nullElem, false
		}
	}
}

// skip validates and passes over one value.
func (st *jsonState) skip(i int, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	d := st.data
	if i >= len(d) {
		return i, false
	}
	switch d[i] {
	case '"':
		end, _, ok := st.str(i)
		return end, ok
	case '{':
		i = st.ws(i + 1)
		if i < len(d) && d[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(d) || d[i] != '"' {
				return i, false
			}
			end, _, ok := st.str(i)
			if !ok {
				return end, false
			}
			i = st.ws(end)
			if i >= len(d) || d[i] != ':' {
				return i, false
			}
			if i, ok = st.skip(st.ws(i+1), depth+1); !ok {
				return i, false
			}
			i = st.ws(i)
			if i >= len(d) {
				return i, false
			}
			if d[i] == '}' {
				return i + 1, true
			}
			if d[i] != ',' {
				return i, false
			}
			i = st.ws(i + 1)
		}
	case '[':
		i = st.ws(i + 1)
		if i < len(d) && d[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = st.skip(i, depth+1); !ok {
				return i, false
			}
			i = st.ws(i)
			if i >= len(d) {
				return i, false
			}
			if d[i] == ']' {
				return i + 1, true
			}
			if d[i] != ',' {
				return i, false
			}
			i = st.ws(i + 1)
		}
	}
	_, end, ok := st.scalar(i)
	return end, ok
}

// str validates the string starting at the quote at i; end is just past the closing quote.
func (st *jsonState) str(i int) (end int, esc bool, ok bool) {
	d := st.data
	i++
	for {
		// Eight bytes at a time while none is a quote, a backslash or a control character; the
		// lowest flagged byte is exact, which is all the byte loop below needs.
		for i+8 <= len(d) {
			x := binary.LittleEndian.Uint64(d[i:])
			q := x ^ 0x2222222222222222
			b := x ^ 0x5c5c5c5c5c5c5c5c
			m := ((q - 0x0101010101010101) &^ q) | ((b - 0x0101010101010101) &^ b) | ((x - 0x2020202020202020) &^ x)
			if m &= 0x8080808080808080; m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(d) && !strStop[d[i]] {
			i++
		}
		if i >= len(d) {
			return i, esc, false
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return i, esc, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		default: // control character
			return i, esc, false
		}
	}
}

// scalar validates a number or a true/false/null literal at i.
func (st *jsonState) scalar(i int) (jkind, int, bool) {
	d := st.data
	if i >= len(d) {
		return jNone, i, false
	}
	lit := func(word string, k jkind) (jkind, int, bool) {
		if len(d)-i >= len(word) && string(d[i:i+len(word)]) == word {
			return k, i + len(word), true
		}
		return jNone, i, false
	}
	switch d[i] {
	case 't':
		return lit("true", jTrue)
	case 'f':
		return lit("false", jFalse)
	case 'n':
		return lit("null", jNull)
	}
	j := i
	if d[j] == '-' {
		j++
	}
	if j >= len(d) {
		return jNone, j, false
	}
	if d[j] == '0' {
		j++
	} else if d[j] >= '1' && d[j] <= '9' {
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	} else {
		return jNone, j, false
	}
	if j < len(d) && d[j] == '.' {
		j++
		s := j
		for j < len(d) && isDigit(d[j]) {
			j++
		}
		if j == s {
			return jNone, j, false
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		s := j
		for j < len(d) && isDigit(d[j]) {
			j++
		}
		if j == s {
			return jNone, j, false
		}
	}
	return jNumber, j, true
}

// unescape appends the decoded form of a validated JSON string body to dst.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
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
			r := rune(hexVal(s[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 := rune(hexVal(s[i+3 : i+7]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hexVal(b []byte) int {
	v := 0
	for _, c := range b {
		v <<= 4
		switch {
		case isDigit(c):
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

// text returns the text a string or number value compares as (§4.6), using st's scratch buffers.
func (st *jsonState) text(v jval) []byte {
	switch v.kind {
	case jString:
		if !v.esc {
			return v.raw
		}
		st.buf = unescape(st.buf[:0], v.raw)
		return st.buf
	case jNumber:
		st.nbuf = append(st.nbuf[:0], renderNumber(v.raw)...)
		return st.nbuf
	}
	return nil
}
