package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// sniffBytes is how much inflated input NewDecoder looks at to tell formats apart.
const sniffBytes = 64 << 10

// NewDecoder reads the first bytes of an object, inflates it when they are gzip's magic bytes (the
// key's suffix is never trusted), and returns the decoder for what the object is.
//
// The key layout (obj.Source, from Classify) decides the format when it is known; the content must
// then agree (a flow-log key holding JSON is ErrUnknownFormat). When the layout is unknown the
// content decides: a JSON object whose first member is "Records" is CloudTrail, JSON objects with a
// "query_timestamp" member are Resolver query logs, a first line naming flow-log fields is a text
// flow log, and Parquet with flow-log columns is a Parquet flow log. Digest files are refused: they
// are verified by pkg/digest, not decoded as records.
//
// Every decoder returned also implements BadRecordReporter. A failure to read r is returned wrapped
// and is not an *Error (IsPoison is false); everything wrong with the object's bytes is an *Error.
func NewDecoder(obj Object, r io.Reader, opts Options) (Decoder, error) {
	ds := Decoders{oneShot: true}
	return ds.New(obj, r, opts)
}

// Decoders makes decoders (as NewDecoder does) that reuse the buffers, inflater and decoder state of
// the one made before, so that a worker decoding its thousandth small object allocates next to
// nothing for it: a fresh decoder costs two 64 KiB read buffers, a window and gzip's tables, more
// than decoding a small CloudTrail file does. The zero value is ready to use.
//
// A Decoders is not safe for concurrent use: give each worker its own (or keep them in a
// sync.Pool). The decoder New returns, and every Record.Raw it filled, are valid only until the next
// call to New; the strings and structs of decoded records stay valid, as they do with NewDecoder.
type Decoders struct {
	// ReuseRecords makes the decoders fill the same CloudTrailEvent, FlowRecord or ResolverQuery
	// (the structs they point to, a CloudTrail event's Resources and a Resolver record's Answers
	// arrays) for every record, rather than allocating them afresh: like Raw, they are then valid
	// only until the next call to Next. The strings, the other slices, maps and json.RawMessage
	// values they hold are still the record's own and may be kept. Set it when every consumer
	// copies what it keeps out of the record before the next one (pkg/pipeline's sinks and rules
	// do): a flow log's record struct is larger than its line.
	ReuseRecords bool

	oneShot bool // NewDecoder's: size buffers for this object alone, nothing is reused
	obj     Object
	src     sourceReader
	br, ib  *bufio.Reader
	gz      gunzip
	lim     limitReader
	checked gzipChecked
	win     window
	ct      cloudTrailDecoder
	dns     resolverDecoder
	flow    flowTextDecoder
}

// keepWindow is the largest window buffer Decoders keeps for the next object; one grown for a huge
// record is let go rather than held by an idle worker.
const keepWindow = 1 << 20

// New returns the decoder for obj, read from r; see NewDecoder. The decoder New returned before is
// no longer valid.
func (ds *Decoders) New(obj Object, r io.Reader, opts Options) (Decoder, error) {
	opts = opts.withDefaults()
	ds.obj = obj
	ds.src = sourceReader{r: r}
	src := &ds.src
	if ds.br == nil {
		ds.br = bufio.NewReaderSize(src, 64<<10)
	} else {
		ds.br.Reset(src)
	}
	br := ds.br
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		if e := obj.asError(err, src, 0); e != nil {
			return nil, e
		}
	}
	var in io.Reader
	gzipped := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if gzipped {
		if err := ds.gz.reset(&ds.obj, br, src, opts.MaxInflatedBytes); err != nil {
			return nil, err
		}
		in = &ds.gz
	} else {
		ds.lim = limitReader{obj: &ds.obj, r: br, src: src, max: opts.MaxInflatedBytes}
		in = &ds.lim
	}

	if ds.ib == nil {
		ds.ib = bufio.NewReaderSize(in, sniffBytes)
	} else {
		ds.ib.Reset(in)
	}
	ib := ds.ib
	head, err := ib.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if len(head) == 0 {
			return nil, obj.asError(err, src, 0)
		}
		// The error resurfaces to the decoder after the bytes that came before it.
	}

	size := 0 // the object's whole inflated size, when the sniffed head holds all of it
	if err == io.EOF {
		size = len(head) + 1 // +1: the window needs room to see the end
	}
	dec, err := ds.pick(obj, ib, head, size, opts)
	if gzipped {
		if err != nil {
			return nil, gzipCause(ib, err)
		}
		ds.checked = gzipChecked{Decoder: dec, rest: ib}
		return &ds.checked, nil
	}
	return dec, err
}

// window readies the window for the next object, keeping the last one's buffer when it is big
// enough and not too big.
func (ds *Decoders) window(r io.Reader, size, maxRecord int) *window {
	if size <= 0 || size > windowStart {
		size = windowStart
	}
	if size > maxRecord {
		size = maxRecord
	}
	buf := ds.win.buf[:cap(ds.win.buf)]
	if len(buf) > keepWindow {
		buf = nil
	}
	if len(buf) < size {
		n := windowStart
		if ds.oneShot || n > maxRecord {
			n = size // a small object does not cost a full-size buffer
		}
		buf = make([]byte, max(n, size))
	}
	if len(buf) > maxRecord {
		buf = buf[:maxRecord] // the window's length is what bounds a record
	}
	ds.win = window{r: r, buf: buf, max: maxRecord}
	return &ds.win
}

func (ds *Decoders) pick(obj Object, ib *bufio.Reader, head []byte, size int, opts Options) (Decoder, error) {
	kind := sniff(head)
	source := obj.Source
	if source == SourceUnknown {
		source = sourceFromContent(kind, head)
		if source == SourceUnknown {
			why := "content is not a CloudTrail, VPC flow log or Resolver log"
			if obj.Reason != "" {
				why += " (key: " + obj.Reason + ")"
			}
			return nil, obj.newError(ErrUnknownFormat, 0, 0, errors.New(why))
		}
	}

	switch source {
	case SourceDigest:
		return nil, obj.newError(ErrUnknownFormat, 0, 0,
			errors.New("CloudTrail digest files are verified by pkg/digest, not decoded as records"))
	case SourceCloudTrail, SourceInsight:
		if kind != kindJSON && kind != kindEmpty {
			return nil, obj.newError(ErrUnknownFormat, 0, 0, fmt.Errorf("CloudTrail key but the content is %s", kind))
		}
		return ds.ct.reset(obj, source, ds.window(ib, size, opts.MaxRecordBytes), opts, ds.ReuseRecords), nil
	case SourceResolver:
		if kind != kindJSON && kind != kindEmpty {
			return nil, obj.newError(ErrUnknownFormat, 0, 0, fmt.Errorf("Resolver query log key but the content is %s", kind))
		}
		return ds.dns.reset(obj, ds.window(ib, size, opts.MaxRecordBytes), opts, ds.ReuseRecords), nil
	case SourceVPCFlow:
		switch kind {
		case kindParquet:
			d, err := newFlowParquetDecoder(obj, ib, opts)
			if err != nil {
				return nil, err
			}
			return d, nil
		case kindText, kindEmpty:
			d, err := ds.flow.reset(obj, ds.window(ib, size, opts.MaxRecordBytes), opts, ds.ReuseRecords)
			if err != nil {
				return nil, err // not a typed nil in a non-nil interface
			}
			return d, nil
		}
		return nil, obj.newError(ErrUnknownFormat, 0, 0, fmt.Errorf("VPC flow log key but the content is %s", kind))
	}
	return nil, obj.newError(ErrUnknownFormat, 0, 0, fmt.Errorf("no decoder for source %s", source))
}

type contentKind uint8

const (
	kindEmpty contentKind = iota
	kindJSON
	kindParquet
	kindText
	kindBinary
)

func (k contentKind) String() string {
	return [...]string{"empty", "JSON", "Parquet", "text", "binary"}[k]
}

func sniff(head []byte) contentKind {
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return kindParquet
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return kindEmpty
	}
	if t[0] == '{' {
		return kindJSON
	}
	if bytes.IndexByte(head, 0) >= 0 || head[0] == 0x1f {
		return kindBinary
	}
	return kindText
}

// sourceFromContent decides what an object under an unknown key layout is from its first bytes.
func sourceFromContent(kind contentKind, head []byte) Source {
	switch kind {
	case kindJSON:
		switch firstKey(head) {
		case "Records":
			return SourceCloudTrail
		case "awsAccountId", "digestStartTime", "digestEndTime":
			return SourceDigest
		}
		if bytes.Contains(head, []byte(`"query_timestamp"`)) {
			return SourceResolver
		}
	case kindText:
		line := head
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		if isFlowHeader(bytes.TrimRight(line, "\r")) {
			return SourceVPCFlow
		}
	case kindParquet:
		return SourceVPCFlow // the Parquet decoder checks the columns
	}
	return SourceUnknown
}

// firstKey returns the name of the first member of the JSON object at the start of head.
func firstKey(head []byte) string {
	c := cursor{b: head, s: string(head)}
	if empty, err := c.objectStart(); err != nil || empty {
		return ""
	}
	k, err := c.key()
	if err != nil {
		return ""
	}
	return string(k)
}

// sourceReader remembers the caller's reader's error, so a failure to read the object (retryable)
// is told apart from a fault in its bytes (poison).
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

func (o *Object) newError(class ErrorClass, off, line int64, err error) *Error {
	return &Error{Bucket: o.Bucket, Key: o.Key, Class: class, Offset: off, Line: line, Err: err}
}

// asError turns an error met while reading the object into an *Error when the bytes are at fault,
// or a wrapped error when reading failed.
func (o *Object) asError(err error, src *sourceReader, off int64) error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if src != nil && src.err != nil && errors.Is(err, src.err) {
		return fmt.Errorf("reading s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return o.newError(ErrTruncated, off, 0, err)
	case errors.Is(err, errRecordTooLarge):
		return o.newError(ErrTooLarge, off, 0, err)
	}
	return fmt.Errorf("reading s3://%s/%s: %w", o.Bucket, o.Key, err)
}

// limitReader enforces MaxInflatedBytes on an object stored without compression.
type limitReader struct {
	obj *Object
	r   io.Reader
	src *sourceReader
	n   int64
	max int64
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		// Hand over the bytes up to the limit, so records before it are still decoded.
		n -= int(l.n - l.max)
		l.n = l.max
		l.err = l.obj.newError(ErrTooLarge, l.max, 0, fmt.Errorf("object is larger than the %d-byte limit", l.max))
		if n > 0 {
			return n, nil
		}
		return 0, l.err
	}
	if err != nil && err != io.EOF {
		l.err = l.obj.asError(err, l.src, l.n)
		return n, l.err
	}
	return n, err
}

// gunzip inflates every gzip member of an object, one after the other, and reports bytes after the
// last member that are not another member as trailing data; Multistream(false) is what makes the
// member boundaries visible (a multistream reader would call trailing garbage a bad header).
type gunzip struct {
	obj        *Object
	src        *bufio.Reader
	raw        *sourceReader
	zr         *gzip.Reader
	out        int64 // inflated bytes so far
	max        int64
	memberDone bool
	err        error
}

// reset readies g for the next object, reusing the inflater (and its tables and window) of the last.
func (g *gunzip) reset(obj *Object, src *bufio.Reader, raw *sourceReader, max int64) error {
	zr := g.zr
	*g = gunzip{obj: obj, src: src, raw: raw, max: max}
	if zr == nil {
		zr = new(gzip.Reader)
	}
	g.zr = zr // Reset starts afresh even after a failed header: kept for the next object
	if err := zr.Reset(src); err != nil {
		return g.classify(err)
	}
	zr.Multistream(false)
	return nil
}

// compressedOffset is how far into the stored object the inflater has read.
func (g *gunzip) compressedOffset() int64 { return g.raw.n - int64(g.src.Buffered()) }

func (g *gunzip) classify(err error) error {
	if g.raw.err != nil && errors.Is(err, g.raw.err) {
		return fmt.Errorf("reading s3://%s/%s: %w", g.obj.Bucket, g.obj.Key, err)
	}
	where := fmt.Errorf("at compressed offset %d: %w", g.compressedOffset(), err)
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return g.obj.newError(ErrTruncated, g.out, 0, fmt.Errorf("gzip stream ends early %w", where))
	case errors.As(err, &corrupt), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return g.obj.newError(ErrCorruptGzip, g.out, 0, where)
	}
	return g.obj.newError(ErrCorruptGzip, g.out, 0, where)
}

func (g *gunzip) Read(p []byte) (int, error) {
	for g.err == nil {
		if g.memberDone {
			g.nextMember()
			continue
		}
		n, err := g.zr.Read(p)
		g.out += int64(n)
		if g.out > g.max {
			n -= int(g.out - g.max)
			g.out = g.max
			g.err = g.obj.newError(ErrTooLarge, g.max, 0,
				fmt.Errorf("inflates to more than the %d-byte limit (compressed offset %d)", g.max, g.compressedOffset()))
			if n > 0 {
				return n, nil
			}
			return 0, g.err
		}
		if err == io.EOF {
			g.memberDone = true
		} else if err != nil {
			g.err = g.classify(err)
			return n, g.err
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
	return 0, g.err
}

func (g *gunzip) nextMember() {
	g.memberDone = false
	b, err := g.src.Peek(2)
	switch {
	case len(b) == 0 && err == io.EOF:
		g.err = io.EOF
	case len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b:
		if err := g.zr.Reset(g.src); err != nil {
			g.err = g.classify(err)
			return
		}
		g.zr.Multistream(false)
	case err != nil && err != io.EOF:
		g.err = g.classify(err)
	default:
		trailing := int64(g.src.Buffered())
		g.err = g.obj.newError(ErrTrailingData, g.out, 0,
			fmt.Errorf("bytes after the last gzip member (compressed offset %d, at least %d bytes) are not gzip",
				g.compressedOffset(), trailing))
	}
}

// gzipChecked wraps the decoder of a gzip object. Gzip checks its CRC only at the end of a member,
// so a corrupt stream usually shows first as malformed content; when the decoder fails on the
// content, gzipChecked reads the rest of the stream and, if gzip is at fault, reports that instead,
// so the quarantine reason names the real cause.
type gzipChecked struct {
	Decoder
	rest io.Reader
	err  error
}

func (g *gzipChecked) Next(rec *Record) error {
	if g.err != nil {
		return g.err
	}
	err := g.Decoder.Next(rec)
	if err != nil && err != io.EOF {
		err = gzipCause(g.rest, err)
		g.err = err
	}
	return err
}

func (g *gzipChecked) InvalidUTF8Records() int64 {
	if r, ok := g.Decoder.(UTF8Reporter); ok {
		return r.InvalidUTF8Records()
	}
	return 0
}

func (g *gzipChecked) BadRecords() (int64, []*Error) {
	if r, ok := g.Decoder.(BadRecordReporter); ok {
		return r.BadRecords()
	}
	return 0, nil
}

// gzipCause returns the gzip stream's own error when err is a content error and the rest of the
// stream turns out to be corrupt or truncated; otherwise err.
func gzipCause(rest io.Reader, err error) error {
	var pe *Error
	if !errors.As(err, &pe) || (pe.Class != ErrSyntax && pe.Class != ErrUnknownFormat && pe.Class != ErrTruncated) {
		return err
	}
	_, derr := io.Copy(io.Discard, rest)
	var ge *Error
	if errors.As(derr, &ge) && (ge.Class == ErrCorruptGzip || ge.Class == ErrTruncated) {
		return ge
	}
	return err
}
