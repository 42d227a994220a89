package digest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDigestSize bounds the inflated size of one digest, checked while inflating. A digest covers one
// account and region for about an hour, and each log file it lists takes about 330 bytes of JSON;
// 16 MB is some 50,000 log files in an hour (14 a second), far beyond what CloudTrail delivers (it
// writes a log file per account and region about every 5 minutes, more only under heavy load). A
// larger digest is refused as invalid format, so a gzip bomb costs at most this much.
const MaxDigestSize = 16 << 20

// MaxDigestObject bounds a digest object as stored: gzip never grows data by more than a few bytes
// per 32 KB block, so a larger object cannot inflate to MaxDigestSize or less.
const MaxDigestObject = MaxDigestSize + MaxDigestSize/256 + 1024

// requiredMembers must be present (null allowed) before a digest is checked further, in aws-cli's order.
var requiredMembers = []string{
	"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime",
}

// Inflate gunzips one digest object. trailing reports bytes after the first gzip member, which
// aws-cli silently ignores for digests (zlib.decompress) — we keep going but say so.
func Inflate(body []byte) (inflated []byte, trailing bool, err error) {
	br := bytes.NewReader(body)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	zr.Multistream(false)
	inflated, err = io.ReadAll(io.LimitReader(zr, MaxDigestSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	if len(inflated) > MaxDigestSize {
		return nil, false, errTooLarge
	}
	return inflated, br.Len() > 0, nil
}

var errTooLarge = fmt.Errorf("gunzip: inflated digest exceeds %d bytes", MaxDigestSize)

// ReadDigest inflates and decodes one digest object in a single pass, never holding the inflated
// bytes: they stream through SHA-256, a UTF-8 check and the JSON decoder, and inflation stops at
// MaxDigestSize. Results are Decode's, with sum = sha256 of the inflated bytes and trailing as
// Inflate's.
func ReadDigest(body []byte) (d *Digest, sum [32]byte, missing string, hasLogFiles, trailing bool, err error) {
	return readDigest(bytes.NewReader(body), nil)
}

// readDigest is ReadDigest over a stream of the stored object, calling onLarge (when not nil) once
// the inflated size passes SmallDigest; an error from it stops decoding. Bytes after the gzip
// member are detected, not read.
func readDigest(body io.Reader, onLarge func() error) (d *Digest, sum [32]byte, missing string, hasLogFiles, trailing bool, err error) {
	br := bufio.NewReader(body)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, sum, "", false, false, fmt.Errorf("gunzip: %w", err)
	}
	zr.Multistream(false)
	lr := &capReader{r: zr, left: MaxDigestSize, crossAt: MaxDigestSize - SmallDigest, onCross: onLarge}
	h := sha256.New()
	var uv utf8Check
	src := io.TeeReader(lr, io.MultiWriter(h, &uv))
	d, missing, hasLogFiles, err = decodeStream(src)
	if err == nil {
		// Python's json.loads accepts only whitespace after the value; it is part of the hash too.
		err = onlySpace(src)
	}
	if lr.over {
		return nil, sum, "", false, false, errTooLarge
	}
	if lr.crossErr != nil {
		return nil, sum, "", false, false, lr.crossErr
	}
	if err != nil {
		var se *json.SyntaxError
		if rerr := lr.err; rerr != nil && !errors.As(err, &se) {
			return nil, sum, "", false, false, fmt.Errorf("gunzip: %w", rerr)
		}
		return nil, sum, "", false, false, err
	}
	if !uv.ok() {
		return nil, sum, "", false, false, errors.New("digest is not UTF-8")
	}
	copy(sum[:], h.Sum(nil))
	_, perr := br.Peek(1)
	return d, sum, missing, hasLogFiles, perr == nil, nil
}

// capReader reads at most left bytes and records whether the source held more, and its error.
type capReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
	// onCross is called once when left falls to crossAt or below.
	crossAt  int64
	onCross  func() error
	crossErr error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.onCross != nil && c.left <= c.crossAt {
		f := c.onCross
		c.onCross = nil
		if err := f(); err != nil {
			c.crossErr = err
			return 0, err
		}
	}
	if c.left <= 0 {
		var one [1]byte
		if n, _ := io.ReadFull(c.r, one[:]); n > 0 {
			c.over = true
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// utf8Check validates a byte stream written in arbitrary pieces.
type utf8Check struct {
	carry []byte
	bad   bool
}

func (u *utf8Check) Write(p []byte) (int, error) {
	n := len(p)
	if u.bad {
		return n, nil
	}
	if len(u.carry) > 0 {
		p = append(u.carry, p...)
		u.carry = nil
	}
	// Hold back an incomplete rune at the end for the next piece.
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(p[:end]) {
		u.bad = true
		return n, nil
	}
	u.carry = append([]byte(nil), p[end:]...)
	return n, nil
}

func (u *utf8Check) ok() bool { return !u.bad && len(u.carry) == 0 }

func onlySpace(r io.Reader) error {
	var buf [4096]byte
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return errors.New("digest JSON: extra data after the object")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Decode parses inflated digest JSON the way aws-cli reads it (Python's json.loads, then dictionary
// look-ups): member names match exactly (Go's encoding/json would also match "DigestEndTime"), the
// last of duplicated members wins, and a member of another JSON type than CloudTrail writes is kept
// rather than refused, rendered as Python's str() renders it where aws-cli formats it into the string
// to sign (a numeric awsAccountId, which aws-cli never reads, leaves the digest valid). missing names
// the first member aws-cli requires that is absent ("" when all are present); hasLogFiles is false
// when logFiles is absent (aws-cli crashes on that). err is set when the bytes are not UTF-8 JSON
// with an object at the top.
func Decode(inflated []byte) (d *Digest, missing string, hasLogFiles bool, err error) {
	if !utf8.Valid(inflated) {
		return nil, "", false, errors.New("digest is not UTF-8")
	}
	r := bytes.NewReader(inflated)
	d, missing, hasLogFiles, err = decodeStream(r)
	if err == nil {
		err = onlySpace(r)
	}
	if err != nil {
		return nil, "", false, err
	}
	return d, missing, hasLogFiles, nil
}

// decodeStream is Decode over a stream: members are read one at a time, logFiles one entry at a
// time, so memory is that of the decoded digest, not of its text.
func decodeStream(r io.Reader) (d *Digest, missing string, hasLogFiles bool, err error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, "", false, fmt.Errorf("digest JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, "", false, fmt.Errorf("digest JSON: top level is %v, not an object", tok)
	}
	members := map[string]json.RawMessage{}
	d = &Digest{kinds: map[string]byte{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", false, fmt.Errorf("digest JSON: %w", err)
		}
		name := tok.(string)
		if name == "logFiles" {
			hasLogFiles = true
			d.LogFiles, d.logFilesErr, d.kinds[name], err = decodeLogFiles(dec)
			if err != nil {
				return nil, "", false, fmt.Errorf("digest JSON: logFiles: %w", err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, "", false, fmt.Errorf("digest JSON: member %q: %w", name, err)
		}
		if isDigestMember(name) {
			members[name] = raw
		} else {
			members[name] = nil // presence is all that matters
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, "", false, fmt.Errorf("digest JSON: %w", err)
	}
	if _, err := io.Copy(io.Discard, dec.Buffered()); err != nil {
		return nil, "", false, err
	}
	str := func(name string, dst *string) {
		raw, ok := members[name]
		if !ok {
			return
		}
		d.kinds[name] = kindOf(raw)
		*dst = pyStr(raw)
	}
	nullable := func(name string, dst **string) {
		raw, ok := members[name]
		if !ok {
			return
		}
		d.kinds[name] = kindOf(raw)
		if d.kinds[name] != 'n' {
			v := pyStr(raw)
			*dst = &v
		}
	}
	str("awsAccountId", &d.AWSAccountID)
	str("digestStartTime", &d.DigestStartTime)
	str("digestEndTime", &d.DigestEndTime)
	str("digestS3Bucket", &d.DigestS3Bucket)
	str("digestS3Object", &d.DigestS3Object)
	str("digestPublicKeyFingerprint", &d.DigestPublicKeyFingerprint)
	str("digestSignatureAlgorithm", &d.DigestSignatureAlgorithm)
	nullable("newestEventTime", &d.NewestEventTime)
	nullable("oldestEventTime", &d.OldestEventTime)
	nullable("previousDigestS3Bucket", &d.PreviousDigestS3Bucket)
	nullable("previousDigestS3Object", &d.PreviousDigestS3Object)
	nullable("previousDigestHashValue", &d.PreviousDigestHashValue)
	nullable("previousDigestHashAlgorithm", &d.PreviousDigestHashAlgorithm)
	nullable("previousDigestSignature", &d.PreviousDigestSignature)
	for _, m := range requiredMembers {
		if _, ok := members[m]; !ok {
			missing = m
			break
		}
	}
	return d, missing, hasLogFiles, nil
}

func isDigestMember(name string) bool {
	switch name {
	case "awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
		"digestPublicKeyFingerprint", "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime",
		"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
		"previousDigestHashAlgorithm", "previousDigestSignature":
		return true
	}
	return false
}

// decodeLogFiles reads logFiles as aws-cli iterates it: a false value (null, [], 0, "", {}, false)
// lists nothing; a list lists its entries. An entry whose s3Bucket or s3Object is absent or not a
// string is kept with LogFile.Invalid set (aws-cli reports such a log as "invalid format"); a
// non-string hashValue is rendered and so never matches. A later logFiles member replaces an
// earlier one (the last duplicate wins). invalid is set when logFiles is neither false nor a list
// of objects; err only for malformed JSON.
func decodeLogFiles(dec *json.Decoder) (out []LogFile, invalid error, kind byte, err error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, 0, err
	}
	if tok != json.Delim('[') {
		// A scalar, or an object (whose members are read and dropped).
		var raw json.RawMessage
		switch tok {
		case json.Delim('{'):
			empty := !dec.More()
			for dec.More() {
				if _, err := dec.Token(); err != nil {
					return nil, nil, 0, err
				}
				if err := dec.Decode(&raw); err != nil {
					return nil, nil, 0, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, nil, 0, err
			}
			if empty {
				return nil, nil, '{', nil
			}
			return nil, errors.New("logFiles is a JSON object, not a list"), '{', nil
		}
		raw, _ = json.Marshal(tok)
		if tok == nil {
			raw = json.RawMessage("null")
		}
		if isFalsy(raw) {
			return nil, nil, kindOf(raw), nil
		}
		return nil, fmt.Errorf("logFiles is a JSON %s, not a list", kindName(kindOf(raw))), kindOf(raw), nil
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, 0, err
		}
		if invalid != nil {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			invalid = fmt.Errorf("logFiles[%d] is a JSON %s, not an object", i, kindName(kindOf(raw)))
			out = nil
			continue
		}
		var lf LogFile
		get := func(name string, dst *string) bool {
			r, ok := m[name]
			if ok {
				*dst = pyStr(r)
			}
			return ok && kindOf(r) == '"'
		}
		okB := get("s3Bucket", &lf.S3Bucket)
		okO := get("s3Object", &lf.S3Object)
		if _, ok := m["hashValue"]; !ok {
			lf.Invalid = "logFiles entry without hashValue"
		}
		get("hashValue", &lf.HashValue)
		get("hashAlgorithm", &lf.HashAlgorithm)
		get("newestEventTime", &lf.NewestEventTime)
		get("oldestEventTime", &lf.OldestEventTime)
		if !okB || !okO {
			lf.Invalid = "s3Bucket and s3Object must be strings"
		}
		out = append(out, lf)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, 0, err
	}
	return out, invalid, '[', nil
}

// kindOf returns the first byte of a JSON value: '"' string, 'n' null, 't'/'f' booleans, '{' object,
// '[' array, anything else a number.
func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 'n'
	}
	switch raw[0] {
	case '"', 'n', 't', 'f', '{', '[':
		return raw[0]
	}
	return '0'
}

func kindName(k byte) string {
	switch k {
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "number"
}

func isFalsy(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "null", "false", "[]", "{}", `""`:
		return true
	}
	if kindOf(raw) == '0' {
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
		return err == nil && f == 0
	}
	if k := kindOf(raw); k == '[' || k == '{' {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			switch x := v.(type) {
			case []any:
				return len(x) == 0
			case map[string]any:
				return len(x) == 0
			}
		}
	}
	return false
}

// pyStr renders a JSON value as Python's str() renders what json.loads returns: strings as they are,
// null as None, booleans as True/False, integers in full, floats as repr(float). Objects and arrays
// keep their JSON text (Python's repr differs, but no such value can be part of a valid digest).
func pyStr(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch kindOf(raw) {
	case '"':
		var s string
		json.Unmarshal(raw, &s)
		return s
	case 'n':
		return "None"
	case 't':
		return "True"
	case 'f':
		return "False"
	case '{', '[':
		return string(raw)
	}
	num := string(raw)
	if !strings.ContainsAny(num, ".eE") {
		if i, ok := new(big.Int).SetString(num, 10); ok {
			return i.String()
		}
		return num
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return "inf" // out of float64 range: Python's float('1e999')
	}
	return pyFloat(f)
}

// pyFloat is Python's repr(float): the shortest round-tripping digits, fixed notation with at least
// one decimal for exponents -4..15, otherwise d.ddde±XX.
func pyFloat(f float64) string {
	if math.IsInf(f, 0) {
		if f < 0 {
			return "-inf"
		}
		return "inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	neg := strings.HasPrefix(e, "-")
	e = strings.TrimPrefix(e, "-")
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	var out string
	if exp >= -4 && exp < 16 {
		if exp >= 0 {
			if len(digits) <= exp+1 {
				out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
			} else {
				out = digits[:exp+1] + "." + digits[exp+1:]
			}
		} else {
			out = "0." + strings.Repeat("0", -exp-1) + digits
		}
	} else {
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		out += fmt.Sprintf("e%s%02d", sign, exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}

// ParseDigestTime parses a digest timestamp (YYYY-MM-DDTHH:MM:SSZ, RFC 3339 tolerated).
func ParseDigestTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("digest time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// ParseUserTime parses a --start-time/--end-time value. Offsets are converted to UTC (aws-cli
// replaces them, silently shifting the range); values without a zone are UTC, as in aws-cli.
// The error text matches aws-cli's.
func ParseUserTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	layouts := []string{
		time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02 15:04:05Z07:00",
		"20060102T150405Z", "20060102T1504Z", "20060102T150405Z0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	local := []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04",
		"2006-01-02 15:04", "2006-01-02", "2006/01/02", "20060102", "20060102T150405"}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Unable to parse date value: %s", s)
}

// The range of --start-time/--end-time values aws-cli can validate: it lists from start − 1 minute
// and loads keys up to end + 2 hours with Python datetimes, which end at years 1 and 9999. Outside it
// aws-cli stops with "date value out of range" (rc 255); beyond it our own key bounds would name
// year 10000, which sorts below every real key as a string and would silently list nothing.
var (
	MinUserTime = time.Date(1, 1, 1, 0, 1, 0, 0, time.UTC)
	MaxUserTime = time.Date(9999, 12, 31, 21, 59, 59, 999999000, time.UTC)
)

// ErrDateRange is aws-cli's message (Python's OverflowError) for a time outside
// [MinUserTime, MaxUserTime].
var ErrDateRange = errors.New("date value out of range")

// CheckUserRange reports ErrDateRange when start or end lies outside what aws-cli can validate.
func CheckUserRange(start, end time.Time) error {
	if start.Before(MinUserTime) || end.After(MaxUserTime) {
		return ErrDateRange
	}
	return nil
}
