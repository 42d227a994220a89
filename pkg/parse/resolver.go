package parse

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
	"unsafe"
)

// resolverDecoder reads Route 53 Resolver query logs: JSON objects one after the other, one per line
// as Resolver writes them to S3, or pretty-printed over several lines as some samples are. A record
// that is not valid JSON, or of the wrong shape, is skipped and counted; input that ends inside an
// object is ErrTruncated.
type resolverDecoder struct {
	badRecords
	obj     Object
	w       *window
	line    int64 // 1-based line of w.buf[w.pos]
	index   int64
	err     error
	answers []ResolverAnswer
	unm     []byte
	reuse   bool // Decoders.ReuseRecords: every record is decoded into one
	one     ResolverQuery
	// view is the record being decoded as a string that aliases the window (see decode): the
	// cursor slices values from it, and own copies the ones a record keeps.
	view string
	// checked bytes of the stream from offset checkOff on were checked for UTF-8 at once (see
	// invalidUTF8); checkValid is whether they are valid.
	checkOff   int64
	checked    int
	checkValid bool
	// arena is the block the kept strings are copied into, and last the string kept last for each
	// member (see own). Both outlive an object: their strings are never written again.
	arena []byte
	last  [rsSlots]string
	// head is the start of a record up to the ',' after its first resolverHead members, and
	// headVals their values (see noteHead).
	head     []byte
	headVals [resolverHead]string
	// succ is the member order seen so far: succ[k] is the member that followed k last time.
	succ  [rkStart + 1]resolverKey
	times timeMemo
}

// reset readies d for an object read through w, keeping only scratch space from the last one.
func (d *resolverDecoder) reset(obj Object, w *window, opts Options, reuse bool) *resolverDecoder {
	*d = resolverDecoder{obj: obj, w: w, line: 1, answers: d.answers[:0], unm: d.unm[:0], reuse: reuse, succ: resolverOrder,
		arena: d.arena, last: d.last, head: d.head, headVals: d.headVals}
	d.keep = opts.MaxBadRecordErrors
	return d
}

// advance consumes n bytes, keeping the line count.
func (d *resolverDecoder) advance(n int) {
	w := d.w
	d.line += int64(bytes.Count(w.buf[w.pos:w.pos+n], []byte{'\n'}))
	w.pos += n
}

func (d *resolverDecoder) Next(rec *Record) error {
	if d.err != nil {
		return d.err
	}
	for {
		w := d.w
		b := w.buf[w.pos:w.end]
		// Counted here rather than by advance: between records the space is mostly one newline,
		// too short to be worth bytes.Count's call.
		i := 0
		for i < len(b) && isSpace(b[i]) {
			if b[i] == '\n' {
				d.line++
			}
			i++
		}
		w.pos += i
		b = b[i:]
		if len(b) == 0 {
			if err := d.more(); err != nil {
				return err
			}
			continue
		}
		idx := d.index
		if q, n := d.decodeLine(b); q != nil {
			// The common case, one record per line, decoded in one pass.
			d.index++
			raw := b[:n:n]
			w.pos += n // the line's text holds no newline to count
			*rec = Record{Source: SourceResolver, Index: idx, Raw: raw, DNS: q}
			return nil
		}
		if b[0] != '{' {
			// Not an object: skip the line.
			nl := bytes.IndexByte(b, '\n')
			if nl < 0 {
				if err := d.more(); err == nil {
					continue
				} else if d.err != io.EOF {
					return err
				}
				d.err = nil
				nl = len(b)
			}
			d.index++
			d.add(d.obj.newError(ErrBadRecord, w.offset(w.pos), d.line,
				fmt.Errorf("record %d: line does not start a JSON object", idx)))
			d.advance(nl)
			continue
		}
		end, err := objectEnd(b, 0)
		if err == errShort {
			if err := d.more(); err != nil {
				if err == io.EOF {
					d.err = d.obj.newError(ErrTruncated, w.offset(w.end), d.line,
						errors.New("input ends inside a JSON object"))
				}
				return d.err
			}
			continue
		}
		d.index++
		if err != nil {
			// Unbalanced or bad strings: skip to the end of the line and go on.
			d.add(d.obj.newError(ErrBadRecord, w.offset(w.pos), d.line, fmt.Errorf("record %d: %w", idx, err)))
			nl := bytes.IndexByte(b, '\n')
			if nl < 0 {
				nl = len(b)
			}
			d.advance(nl)
			continue
		}
		raw := b[:end:end]
		q, fixed, _, err := d.decode(raw)
		if fixed {
			d.fixed++
		}
		line := d.line
		off := w.offset(w.pos)
		d.advance(end)
		if err != nil {
			d.add(d.obj.newError(ErrBadRecord, off, line, fmt.Errorf("record %d: %w", idx, err)))
			continue
		}
		*rec = Record{Source: SourceResolver, Index: idx, Raw: raw, DNS: q}
		return nil
	}
}

// more reads more input; at the end it sets d.err to io.EOF, or to the read error.
func (d *resolverDecoder) more() error {
	err := d.w.fill()
	if err == nil {
		return nil
	}
	if err == io.EOF {
		d.err = io.EOF
	} else if errors.Is(err, errRecordTooLarge) {
		d.err = d.obj.newError(ErrTooLarge, d.w.offset(d.w.pos), d.line, err)
	} else {
		d.err = d.obj.asError(err, nil, d.w.offset(d.w.end))
	}
	return d.err
}

// decodeLine decodes the record at b[0] in one pass when it is a JSON object that ends its line
// (as Resolver writes them) and is well formed and of the right shape, returning the record and its
// length. Otherwise it returns nil and Next takes the general path: find the object's extent
// (objectEnd, which can step over a bad one), then decode it.
func (d *resolverDecoder) decodeLine(b []byte) (*ResolverQuery, int) {
	if b[0] != '{' {
		return nil, 0
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, 0 // maybe the last line, maybe the window ends mid-record: the general path knows
	}
	e := nl
	for e > 0 && isSpace(b[e-1]) {
		e--
	}
	if b[e-1] != '}' {
		return nil, 0
	}
	q, fixed, n, err := d.decode(b[:e:e])
	if err != nil || n != e {
		return nil, 0
	}
	if fixed {
		d.fixed++
	}
	return q, n
}

// decode decodes the JSON object at the start of raw; n is where it ends, fixed whether it held
// invalid UTF-8.
func (d *resolverDecoder) decode(raw []byte) (q *ResolverQuery, fixed bool, n int, err error) {
	// raw is never empty (a record starts with '{'). The view is only read while raw is at hand:
	// what a record keeps goes through own, which copies what aliases it.
	d.view = unsafe.String(&raw[0], len(raw))
	c := cursor{b: raw, s: d.view, fixUTF8: d.invalidUTF8(raw), depth: 1}
	q, err = d.decodeWith(&c)
	d.view = ""
	return q, c.fixUTF8, c.i, err
}

func (d *resolverDecoder) decodeWith(c *cursor) (*ResolverQuery, error) {
	raw := c.b
	q := target(d.reuse, &d.one)
	d.answers = d.answers[:0]
	d.unm = d.unm[:0]
	var shape error // the first shape error; the record is still walked to its end
	empty, err := c.objectStart()
	if err != nil || empty {
		return q, err
	}
	prev := rkStart
	lead := 0 // members read so far while they are Resolver's first, in its order (see head); -1: not
	if h := d.head; len(h) > 0 && len(raw) > len(h) && string(raw[:len(h)]) == string(h) {
		// The record starts with the same bytes as the one the head was taken from: the same
		// version, account, region and VPC, already read.
		q.Version, q.AccountID, q.Region, q.VPCID = d.headVals[0], d.headVals[1], d.headVals[2], d.headVals[3]
		c.i, prev, lead = len(h), rkVPCID, -1
	}
	for {
		c.ws()
		keyStart := c.i
		// A writer puts its members in one order (Resolver's is resolverKeys'): the member that
		// followed prev last time is expected, and its quoted name and ':' compared in place,
		// which spares scanning the name and looking it up. Any other name (another order,
		// escapes, an unknown member) takes the general path and teaches the order.
		id := d.succ[prev]
		if tok := resolverKeyTokens[id]; id == rkUnknown || !hasToken(raw, c.i, tok, &resolverKeyWords[id]) {
			k, err := c.key()
			if err != nil {
				return nil, err
			}
			if id = resolverKeyOf(k); id != rkUnknown {
				d.succ[prev] = id
			}
		} else {
			c.i += len(tok)
		}
		if id != rkUnknown {
			prev = id
		}
		var err error
		switch id {
		case rkVersion:
			q.Version, err = d.str(c, rsVersion, "version")
		case rkAccountID:
			q.AccountID, err = d.str(c, rsAccountID, "account_id")
		case rkRegion:
			q.Region, err = d.str(c, rsRegion, "region")
		case rkVPCID:
			q.VPCID, err = d.str(c, rsVPCID, "vpc_id")
		case rkQueryTimestamp:
			var s string
			at := c.i
			if s, err = c.str("query_timestamp"); err == nil && s != "" {
				if q.QueryTimestamp, err = d.times.parse(s); err != nil {
					err = &shapeError{off: at, field: "query_timestamp", msg: err.Error()}
				}
			}
		case rkQueryName:
			q.QueryName, err = d.str(c, rsQueryName, "query_name")
		case rkQueryType:
			q.QueryType, err = d.str(c, rsQueryType, "query_type")
		case rkQueryClass:
			q.QueryClass, err = d.str(c, rsQueryClass, "query_class")
		case rkRCode:
			q.RCode, err = d.str(c, rsRCode, "rcode")
		case rkAnswers:
			err = d.decodeAnswers(c)
			if err == nil && len(d.answers) > 0 {
				if d.reuse {
					// Reused like the record (Decoders.ReuseRecords): its consumers copy the
					// answers, and a copy per record was a tenth of decoding one.
					q.Answers = d.answers[:len(d.answers):len(d.answers)]
				} else {
					q.Answers = append([]ResolverAnswer(nil), d.answers...)
				}
			}
		case rkSrcAddr:
			q.SrcAddr, err = d.str(c, rsSrcAddr, "srcaddr")
		case rkSrcPort:
			var s string
			at := c.i
			if s, err = c.str("srcport"); err == nil && s != "" && s != "-" {
				v, ok := parseInt(s)
				if !ok || v < 0 || v > 65535 {
					err = &shapeError{off: at, field: "srcport", msg: "not a port number: " + s}
				} else {
					q.SrcPort = OptInt32{V: int32(v), Valid: true}
				}
			}
		case rkTransport:
			q.Transport, err = d.str(c, rsTransport, "transport")
		case rkSrcIDs:
			if srcIDsAsWritten(c, &q.SrcIDs) {
				q.SrcIDs.Instance = d.own(rsInstance, q.SrcIDs.Instance)
			} else {
				err = d.decodeSrcIDs(c, &q.SrcIDs)
			}
		case rkFirewallRuleGroupID:
			q.FirewallRuleGroupID, err = d.str(c, rsFirewallRuleGroupID, "firewall_rule_group_id")
		case rkFirewallRuleAction:
			q.FirewallRuleAction, err = d.str(c, rsFirewallRuleAction, "firewall_rule_action")
		case rkFirewallDomainListID:
			q.FirewallDomainListID, err = d.str(c, rsFirewallDomainListID, "firewall_domain_list_id")
		case rkFirewallProtection:
			q.FirewallProtection, err = d.str(c, rsFirewallProtection, "firewall_protection")
		default:
			keyEnd := c.i - 1 // the ':'
			for raw[keyEnd] != '"' {
				keyEnd--
			}
			var s, e int
			if s, e, err = c.skip(); err == nil {
				if len(d.unm) == 0 {
					d.unm = append(d.unm, '{')
				} else {
					d.unm = append(d.unm, ',')
				}
				d.unm = append(d.unm, raw[keyStart:keyEnd+1]...)
				d.unm = append(d.unm, ':')
				d.unm = append(d.unm, raw[s:e]...)
			}
		}
		if err := keepShape(err, &shape); err != nil {
			return nil, err
		}
		if c.i < len(raw) && raw[c.i] == ',' { // compact JSON's case, without a call
			if lead >= 0 {
				lead = d.noteHead(raw, c, id, lead, err == nil && shape == nil, q)
			}
			c.i++
			continue
		}
		more, err := c.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if shape != nil {
		return nil, shape
	}
	if len(d.unm) > 0 {
		q.Unmapped = json.RawMessage(append(append([]byte(nil), d.unm...), '}'))
		if c.fixUTF8 {
			q.Unmapped = bytes.ToValidUTF8(q.Unmapped, []byte("\uFFFD"))
		}
	}
	return q, nil
}

func (d *resolverDecoder) decodeAnswers(c *cursor) error {
	switch c.peek() {
	case 'n':
		return c.literal("null")
	case '[':
	case 0:
		return errShort
	default:
		return c.wrongType("answers", "an array")
	}
	c.i++
	if c.peek() == ']' {
		c.i++
		return nil
	}
	var shape error
	for {
		var a ResolverAnswer
		if answerAsWritten(c, &a) {
			a.RData, a.Type, a.Class = d.own(rsRData, a.RData), d.own(rsAnswerType, a.Type), d.own(rsAnswerClass, a.Class)
		} else if err := d.decodeAnswer(c, &a); keepShape(err, &shape) != nil {
			return err
		}
		d.answers = append(d.answers, a)
		more, err := c.next(']')
		if err != nil {
			return err
		}
		if !more {
			return shape
		}
	}
}

// answerTokens and srcIDsTokens are the members of an answer and of srcids as Resolver writes them,
// in its order, quoted and followed by ':' as in compact JSON.
var (
	answerTokens = []string{`"Rdata":`, `"Type":`, `"Class":`}
	srcIDsTokens = []string{`"instance":`, `"resolver_endpoint":`, `"resolver_network_interface":`}
)

func answerMember(k []byte) int {
	switch string(k) {
	case "Rdata", "RData", "rdata":
		return 0
	case "Type", "type":
		return 1
	case "Class", "class":
		return 2
	}
	return -1
}

func srcIDsMember(k []byte) int {
	switch string(k) {
	case "instance":
		return 0
	case "resolver_endpoint":
		return 1
	case "resolver_network_interface":
		return 2
	}
	return -1
}

// answerWritten are the tokens before an answer's values as Resolver writes them (answerAsWritten),
// instanceWritten the one before srcids' instance (srcIDsAsWritten's); their words as tokenWords.
var (
	answerWritten   = [3]string{`{"Rdata":`, `,"Type":`, `,"Class":`}
	answerWords     = [3]tokenWords{wordsOf(answerWritten[0]), wordsOf(answerWritten[1]), wordsOf(answerWritten[2])}
	instanceWritten = `{"instance":`
	instanceWords   = wordsOf(instanceWritten)
)

// writtenValue reads tok (words: its tokenWords) at b[i:] and the string after it, written without
// escapes: start and end bound the string's bytes (end is its closing quote). ok is false for
// anything else.
func writtenValue(b []byte, i int, tok string, words *tokenWords) (start, end int, ok bool) {
	if !hasToken(b, i, tok, words) {
		return 0, 0, false
	}
	i += len(tok)
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	j := nextStop(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return 0, 0, false
	}
	return i + 1, j, true
}

// answerAsWritten reads an answer written as Resolver writes it, {"Rdata":"…","Type":"…","Class":"…"}
// without spaces or escapes, in one pass without a call per member (answers and srcids through
// knownMembers were a third of decoding a record). Any other form returns false with c unmoved, for decodeAnswer.
func answerAsWritten(c *cursor, a *ResolverAnswer) bool {
	b, i := c.b, c.i
	var v [3][2]int
	for f := range answerWords {
		start, end, ok := writtenValue(b, i, answerWritten[f], &answerWords[f])
		if !ok {
			return false
		}
		v[f] = [2]int{start, end}
		i = end + 1
	}
	if i >= len(b) || b[i] != '}' {
		return false
	}
	c.i = i + 1
	a.RData, a.Type, a.Class = c.valid(c.s[v[0][0]:v[0][1]]), c.valid(c.s[v[1][0]:v[1][1]]), c.valid(c.s[v[2][0]:v[2][1]])
	return true
}

// srcIDsAsWritten reads srcids written as Resolver writes them for a query from an instance,
// {"instance":"…"} without spaces or escapes; any other form returns false with c unmoved.
func srcIDsAsWritten(c *cursor, ids *ResolverSrcIDs) bool {
	b := c.b
	start, end, ok := writtenValue(b, c.i, instanceWritten, &instanceWords)
	if !ok || end+1 >= len(b) || b[end+1] != '}' {
		return false
	}
	ids.Instance = c.valid(c.s[start:end])
	c.i = end + 2
	return true
}

// decodeAnswer reads one element of answers (null reads as empty).
func (d *resolverDecoder) decodeAnswer(c *cursor, a *ResolverAnswer) error {
	return knownMembers(c, "answers[]", answerTokens, answerMember, func(f int) (err error) {
		switch f {
		case 0:
			a.RData, err = d.str(c, rsRData, "answers.Rdata")
		case 1:
			a.Type, err = d.str(c, rsAnswerType, "answers.Type")
		case 2:
			a.Class, err = d.str(c, rsAnswerClass, "answers.Class")
		}
		return err
	})
}

func (d *resolverDecoder) decodeSrcIDs(c *cursor, ids *ResolverSrcIDs) error {
	return knownMembers(c, "srcids", srcIDsTokens, srcIDsMember, func(f int) (err error) {
		switch f {
		case 0:
			ids.Instance, err = d.str(c, rsInstance, "srcids.instance")
		case 1:
			ids.ResolverEndpoint, err = d.str(c, rsResolverEndpoint, "srcids.resolver_endpoint")
		case 2:
			ids.ResolverNetworkInterface, err = d.str(c, rsResolverNetworkInterface, "srcids.resolver_network_interface")
		}
		return err
	})
}

// resolverChunk is how many bytes of records one UTF-8 check covers (see invalidUTF8): one call
// for thirty-odd records rather than one each.
const resolverChunk = 16 << 10

// invalidUTF8 says whether raw, the bytes of a record at the window's read position, hold invalid
// UTF-8.
func (d *resolverDecoder) invalidUTF8(raw []byte) bool {
	w := d.w
	off := w.offset(w.pos)
	if off < d.checkOff || off+int64(len(raw)) > d.checkOff+int64(d.checked) {
		// The stream's bytes at an offset never change, so a check made now serves the records
		// after this one as they come.
		end := min(w.end, w.pos+max(resolverChunk, len(raw)))
		d.checkOff, d.checked = off, end-w.pos
		d.checkValid = utf8.Valid(w.buf[w.pos:end])
	}
	// A record begins and ends with an ASCII byte, so it cannot split a character: in a valid
	// stretch it is valid. A stretch may end inside a character, though; then each record is checked.
	return !d.checkValid && !utf8.Valid(raw)
}

// resolverHead is how many members the head holds: version, account_id, region and vpc_id, which
// are the same in every record of a VPC's logs.
const resolverHead = 4

// noteHead follows the record's first members (id the one just read, lead how many were read before
// it, ok whether it read without error) and, once they are Resolver's first resolverHead in its
// order, each read cleanly from a record of valid UTF-8, takes the record's bytes up to the ','
// after them as the head: a record starting with the same bytes has the same values, and
// decodeWith takes them from headVals without reading them again. It returns the new lead, -1
// when there is nothing more to follow.
func (d *resolverDecoder) noteHead(raw []byte, c *cursor, id resolverKey, lead int, ok bool, q *ResolverQuery) int {
	if !ok || c.fixUTF8 || id != resolverKey(lead) {
		return -1
	}
	if lead++; lead < resolverHead {
		return lead
	}
	d.head = append(d.head[:0], raw[:c.i+1]...)
	d.headVals = [resolverHead]string{q.Version, q.AccountID, q.Region, q.VPCID}
	return -1
}

// rsSlot names a string member of a Resolver record for own's memory of the last value kept.
type rsSlot uint8

const (
	rsVersion rsSlot = iota
	rsAccountID
	rsRegion
	rsVPCID
	rsQueryName
	rsQueryType
	rsQueryClass
	rsRCode
	rsSrcAddr
	rsTransport
	rsFirewallRuleGroupID
	rsFirewallRuleAction
	rsFirewallDomainListID
	rsFirewallProtection
	rsRData
	rsAnswerType
	rsAnswerClass
	rsInstance
	rsResolverEndpoint
	rsResolverNetworkInterface
	rsSlots
)

// str reads a string member (cursor.str) the record keeps, as own makes it.
func (d *resolverDecoder) str(c *cursor, slot rsSlot, field string) (string, error) {
	// cursor.str's fast path, without making a string of the view first: a string without
	// escapes in a record of valid UTF-8.
	if b := c.b; c.i < len(b) && b[c.i] == '"' && !c.fixUTF8 {
		start := c.i + 1
		if j := nextStop(b, start); j < len(b) && b[j] == '"' {
			c.i = j + 1
			return d.keepBytes(slot, b[start:j]), nil
		}
	}
	s, err := c.str(field)
	return d.own(slot, s), err
}

// keepBytes is own for v, bytes of the record: the last string kept for slot when equal, else a
// copy.
func (d *resolverDecoder) keepBytes(slot rsSlot, v []byte) string {
	if last := d.last[slot]; string(v) == last {
		return last
	}
	if len(v) == 0 {
		return ""
	}
	var s string
	if len(v) > resolverOwnMax {
		s = string(v)
	} else {
		if cap(d.arena)-len(d.arena) < len(v) {
			// The old block stays as long as a string refers to it. Bytes handed out are never
			// written again: the arena only grows into its spare capacity.
			d.arena = make([]byte, 0, d.arenaSize(len(v)))
		}
		n := len(d.arena)
		d.arena = append(d.arena, v...)
		s = unsafe.String(&d.arena[n], len(v))
	}
	d.last[slot] = s
	return s
}

// arenaSize is the size of a new arena block that must hold n bytes: resolverArena, or less
// when the window holds less than that of the object. What is kept comes from the window's
// bytes, and a row pins its block: a block of 16 KiB for a small object's few records held
// four times what the sink's estimate counts for them (TestRowBytesCoversHeap in pkg/ocsf).
func (d *resolverDecoder) arenaSize(n int) int {
	size := resolverArena
	if w := d.w; w != nil && w.end-w.pos < size {
		size = w.end - w.pos
	}
	return max(size, n)
}

// resolverArena is the size of the blocks own copies strings into, resolverOwnMax the longest
// string copied into one (a longer one gets its own allocation).
const (
	resolverArena  = 16 << 10
	resolverOwnMax = 1 << 10
)

// own returns s, a member's value, as a string the record may keep. Copying every record's text
// was a tenth of a Resolver ingest's CPU, and most of its allocations: most members (version,
// account, region, VPC, type, class, rcode, transport, often the instance) repeat the record
// before's, so the string kept for the member last time is kept again when equal; only the others
// (query name, addresses, answers) are copied, into a block shared by many records. A value that
// does not alias the record (unescaped, or with its invalid UTF-8 replaced) is already a copy.
func (d *resolverDecoder) own(slot rsSlot, s string) string {
	if len(s) == 0 {
		return ""
	}
	if s == d.last[slot] {
		return d.last[slot]
	}
	if p, base := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(d.view))); p-base < uintptr(len(d.view)) {
		return d.keepBytes(slot, unsafe.Slice(unsafe.StringData(s), len(s)))
	}
	d.last[slot] = s
	return s
}

// knownMembers is objectMembers for a small object whose members the decoder knows, with
// decodeWith's fast path: the member the writer puts next (tokens, in its order) is compared in
// place, and only another name is scanned and looked up (lookup: its index in tokens, or -1).
// member reads member f's value; other members are skipped. null reads as absent.
func knownMembers(c *cursor, field string, tokens []string, lookup func(k []byte) int, member func(f int) error) error {
	switch c.peek() {
	case 'n':
		return c.literal("null")
	case '{':
	case 0:
		return errShort
	default:
		return c.wrongType(field, "an object")
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.depth-- }()
	empty, err := c.objectStart()
	if err != nil || empty {
		return err
	}
	var shape error
	want := 0
	for {
		c.ws()
		f := want
		if f >= len(tokens) || len(c.b)-c.i <= len(tokens[f]) || string(c.b[c.i:c.i+len(tokens[f])]) != tokens[f] {
			k, err := c.key()
			if err != nil {
				return err
			}
			f = lookup(k)
		} else {
			c.i += len(tokens[f])
		}
		if f >= 0 {
			want = f + 1
			err = member(f)
		} else {
			_, _, err = c.skip()
		}
		if err := keepShape(err, &shape); err != nil {
			return err
		}
		more, err := c.next('}')
		if err != nil {
			return err
		}
		if !more {
			return shape
		}
	}
}

// resolverKey names a member of a Resolver record; rkUnknown is any other.
type resolverKey uint8

const (
	rkVersion resolverKey = iota
	rkAccountID
	rkRegion
	rkVPCID
	rkQueryTimestamp
	rkQueryName
	rkQueryType
	rkQueryClass
	rkRCode
	rkAnswers
	rkSrcAddr
	rkSrcPort
	rkTransport
	rkSrcIDs
	rkFirewallRuleGroupID
	rkFirewallRuleAction
	rkFirewallDomainListID
	rkFirewallProtection
	rkUnknown
)

// resolverKeys are the member names in the order Resolver writes them (resolverKey order).
var resolverKeys = [rkUnknown]string{"version", "account_id", "region", "vpc_id", "query_timestamp", "query_name",
	"query_type", "query_class", "rcode", "answers", "srcaddr", "srcport", "transport", "srcids",
	"firewall_rule_group_id", "firewall_rule_action", "firewall_domain_list_id", "firewall_protection"}

// rkStart stands for the start of a record in resolverDecoder.succ.
const rkStart = rkUnknown + 1

// resolverOrder is Resolver's own member order as a successor table, the decoder's first guess.
var resolverOrder = func() (t [rkStart + 1]resolverKey) {
	t[rkStart] = 0
	for k := rkVersion; k < rkUnknown; k++ {
		t[k] = k + 1 // after the last member: rkUnknown, nothing expected
	}
	t[rkUnknown] = rkUnknown
	return t
}()

// resolverKeyTokens are the names as they appear in compact JSON: quoted and followed by ':'.
var resolverKeyTokens = func() (t [rkUnknown + 1]string) {
	for i, k := range resolverKeys {
		t[i] = `"` + k + `":`
	}
	return t
}()

// tokenWords is a token of at most 16 bytes as two little-endian words, for hasToken to compare
// with two loads instead of a call to compare strings.
type tokenWords struct {
	lo, hi, mask uint64 // hi holds the bytes past the eighth; mask selects them
	ok           bool   // the token is 8 to 16 bytes long
}

func wordsOf(tok string) (w tokenWords) {
	if len(tok) < 8 || len(tok) > 16 {
		return w
	}
	var b [16]byte
	copy(b[:], tok)
	return tokenWords{lo: binary.LittleEndian.Uint64(b[:8]), hi: binary.LittleEndian.Uint64(b[8:]),
		mask: ^uint64(0) >> (8 * (16 - len(tok))), ok: true}
}

// resolverKeyWords are resolverKeyTokens as tokenWords.
var resolverKeyWords = func() (t [rkUnknown + 1]tokenWords) {
	for i, tok := range resolverKeyTokens {
		t[i] = wordsOf(tok)
	}
	return t
}()

// hasToken says whether b[i:] starts with tok (w: its words) and goes on after it.
func hasToken(b []byte, i int, tok string, w *tokenWords) bool {
	if w.ok && len(b)-i > 16 {
		return binary.LittleEndian.Uint64(b[i:]) == w.lo && binary.LittleEndian.Uint64(b[i+8:])&w.mask == w.hi
	}
	return len(b)-i > len(tok) && string(b[i:i+len(tok)]) == tok
}

func resolverKeyOf(k []byte) resolverKey {
	switch string(k) {
	case "version":
		return rkVersion
	case "account_id":
		return rkAccountID
	case "region":
		return rkRegion
	case "vpc_id":
		return rkVPCID
	case "query_timestamp":
		return rkQueryTimestamp
	case "query_name":
		return rkQueryName
	case "query_type":
		return rkQueryType
	case "query_class":
		return rkQueryClass
	case "rcode":
		return rkRCode
	case "answers":
		return rkAnswers
	case "srcaddr":
		return rkSrcAddr
	case "srcport":
		return rkSrcPort
	case "transport":
		return rkTransport
	case "srcids":
		return rkSrcIDs
	case "firewall_rule_group_id":
		return rkFirewallRuleGroupID
	case "firewall_rule_action":
		return rkFirewallRuleAction
	case "firewall_domain_list_id":
		return rkFirewallDomainListID
	case "firewall_protection":
		return rkFirewallProtection
	}
	return rkUnknown
}

// timeMemo reads Resolver's query_timestamp ("2026-03-02T11:16:53.995Z", as parseTime does)
// knowing that an object's records mostly fall in one hour: the date and hour of the last time
// read are kept with their Unix time, and a time of the same hour has only its minutes, seconds
// and fraction read. Checking and converting the date was most of parseTime's cost.
type timeMemo struct {
	hour [13]byte // "2026-03-02T11" of the last time read, zero for none (a copy: s may alias the input)
	base int64    // its Unix time
}

func (m *timeMemo) parse(s string) (time.Time, error) {
	n := len(s)
	if n < 20 || n > 30 || s[13] != ':' || s[16] != ':' || s[n-1] != 'Z' || (n > 20 && (n < 22 || s[19] != '.')) {
		return parseTime(s)
	}
	mi, ok1 := atoiN(s[14:16])
	sec, ok2 := atoiN(s[17:19])
	if !ok1 || !ok2 || mi >= 60 || sec >= 60 {
		return parseTime(s) // its error
	}
	if m.hour[0] != 0 && s[:13] == string(m.hour[:]) {
		ns, ok := 0, true
		if n > 20 {
			frac := s[20 : n-1]
			ns, ok = atoiN(frac)
			for i := len(frac); i < 9; i++ {
				ns *= 10
			}
		}
		if ok {
			return time.Unix(m.base+int64(mi*60+sec), int64(ns)).UTC(), nil
		}
	}
	t, err := parseTime(s)
	if err == nil && t.Minute() == mi && t.Second() == sec {
		// s[:13] is a date and hour parseTime accepted, whatever follows it in the same form.
		copy(m.hour[:], s[:13])
		m.base = t.Unix() - int64(mi*60+sec)
	}
	return t, err
}

// parseInt parses a decimal integer of at most 18 digits (no overflow possible), with optional '-'.
func parseInt(s string) (int64, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
