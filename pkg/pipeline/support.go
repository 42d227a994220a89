package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// quarantine copies the object under the quarantine location as <class>/<bucket>/<key> (see
// QuarantineKey), with the reason in its metadata, and returns where it went.
func (p *Processor) quarantine(ctx context.Context, in Input, class string, cause error) (string, error) {
	loc := p.opts.Quarantine
	if loc.Store == nil {
		return "", nil
	}
	rc, _, err := p.opts.Store.Get(ctx, in.Bucket, in.Key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	key := loc.Key(QuarantineKey(class, in.Bucket, in.Key))
	meta := map[string]string{
		"reason":        metaValue(cause.Error()),
		"class":         class,
		"source-bucket": metaValue(in.Bucket),
		"source-key":    metaValue(in.Key),
		"quarantined":   time.Now().UTC().Format(time.RFC3339),
	}
	up, err := loc.Store.Create(ctx, loc.Bucket, key, meta)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(up, rc); err != nil {
		up.Abort()
		return "", fmt.Errorf("copy to quarantine: %w", err)
	}
	if err := up.Commit(); err != nil {
		return "", err
	}
	return key, nil
}

// RejectsSuffix ends the name of the side file that lists the records skipped inside an otherwise
// good object: <quarantine>/<QuarantineKey("bad_record", bucket, key)>.rejects.jsonl.
const RejectsSuffix = ".rejects.jsonl"

// Reject is one line of a rejects side file.
type Reject struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Line   int64  `json:"line,omitempty"`   // 1-based, line-oriented formats
	Offset int64  `json:"offset,omitempty"` // inflated byte offset, when known
	Reason string `json:"reason"`
	// Skipped is on the last line only: how many records the object had skipped in all (the
	// decoder keeps the first parse.Options.MaxBadRecordErrors with their reason).
	Skipped int64 `json:"skipped,omitempty"`
}

// keepRejects writes the side file for an object with skipped records, and returns its key ("" when
// quarantine is off). Rewriting it on a retry gives the same content.
func (p *Processor) keepRejects(ctx context.Context, in Input, n int64, first []*parse.Error) (string, error) {
	loc := p.opts.Quarantine
	if loc.Store == nil {
		return "", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, e := range first {
		r := Reject{Bucket: in.Bucket, Key: in.Key, Line: e.Line, Reason: strings.ToValidUTF8(e.Err.Error(), "\uFFFD")}
		if e.Offset > 0 {
			r.Offset = e.Offset
		}
		if i == len(first)-1 {
			r.Skipped = n
		}
		if err := enc.Encode(r); err != nil {
			return "", err
		}
	}
	if len(first) == 0 {
		enc.Encode(Reject{Bucket: in.Bucket, Key: in.Key, Reason: "records skipped", Skipped: n})
	}
	key := loc.Key(QuarantineKey(string(parse.ErrBadRecord), in.Bucket, in.Key) + RejectsSuffix)
	meta := map[string]string{"source-bucket": metaValue(in.Bucket), "source-key": metaValue(in.Key), "skipped": strconv.FormatInt(n, 10)}
	if err := loc.Store.Put(ctx, loc.Bucket, key, buf.Bytes(), meta); err != nil {
		return "", err
	}
	return key, nil
}

// QuarantineKey is the key, relative to the quarantine location, of a poison object's copy:
// <class>/<bucket>/<key> when bucket and key are plain, and otherwise
// <class>/<bucket or "_encoded">/_encoded/<hash>-<escaped key>, one path segment holding no '/', no
// dot segment and no byte a file name cannot take. The bucket and key come from a notification (or a
// listing) and are data, never a path: a key with "..", an absolute path, a NUL, invalid UTF-8, a
// segment longer than a file name, or the store's own temp-file or sidecar names would otherwise
// place the copy outside the quarantine location, or over a table's files, on a local
// destination. The full key is always in the copy's metadata (source-key).
func QuarantineKey(class, bucket, key string) string {
	if !plainSegment(class) {
		class = "_encoded"
	}
	if plainBucket(bucket) && plainKey(key) {
		return class + "/" + bucket + "/" + key
	}
	sum := sha256.Sum256([]byte(bucket + "\x00" + key))
	esc := url.PathEscape(strings.ToValidUTF8(key, "\uFFFD"))
	const keep = 160 // the escaped key is for people; the hash is what makes the name unique
	if len(esc) > keep {
		esc = esc[len(esc)-keep:]                              // the end of a key (its file name) says most
		esc = strings.TrimLeft(esc, "0123456789ABCDEFabcdef%") // never start inside an escape
	}
	name := hex.EncodeToString(sum[:12]) + "-" + esc
	if strings.HasSuffix(name, sidecarSuffix) {
		name += "_"
	}
	if !plainBucket(bucket) {
		bucket = "_encoded"
	}
	return class + "/" + bucket + "/_encoded/" + name
}

// sidecarSuffix names the local store's metadata files (store.Local): no copy may take such a name.
const sidecarSuffix = ".s3meta.json"

// plainKey reports whether key can be a relative path as is: valid UTF-8 without control characters
// or backslashes, at most 1,024 bytes (S3's limit), every segment a plain file name.
func plainKey(key string) bool {
	if key == "" || len(key) > 1024 || !utf8.ValidString(key) {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if !plainSegment(seg) {
			return false
		}
	}
	return true
}

// plainSegment: a file name on every file system the local store runs on, that the local store
// treats as an ordinary object (not a temp file, not a metadata sidecar) and whose percent escapes
// decode to nothing dangerous either (a later tool may unescape it).
func plainSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." || len(seg) > 200 || strings.HasPrefix(seg, ".tmp-") ||
		strings.HasSuffix(seg, sidecarSuffix) || strings.HasPrefix(seg, "_encoded") {
		return false
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '/' || r == '%' || r == ':' {
			return false
		}
	}
	return true
}

// plainBucket is an S3 bucket name as AWS allows them.
func plainBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-'
}

// metaValue makes s safe for S3 user metadata: ASCII only (HTTP headers) and short (S3 caps all
// user metadata at 2 KB).
func metaValue(s string) string {
	q := strconv.QuoteToASCII(s)
	q = q[1 : len(q)-1]
	if len(q) > 512 {
		q = q[:512] + "..."
	}
	return q
}

// ownRecord keeps a record past the decoder's next call. pkg/parse allocates the typed structs
// afresh for every record, so only Raw (an alias of the decoder's buffer) has to go; the rules
// already took what they needed from it and the sinks write typed fields.
func ownRecord(r *parse.Record) parse.Record {
	out := *r
	out.Raw = nil
	return out
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Stats counts what the pipeline did, per source. It is safe for concurrent use; exporters (EMF,
// Prometheus, the local summary) read Snapshot.
type Stats struct {
	mu       sync.Mutex
	counters map[statKey]int64
	maxLag   time.Duration
	// failSince is when the current streak of failed object reads began (zero after a read that
	// worked); failKind is the last failure's kind.
	failSince time.Time
	failKind  store.Kind
}

func (s *Stats) fetched() {
	s.mu.Lock()
	s.failSince = time.Time{}
	s.mu.Unlock()
}

func (s *Stats) fetchFailed(k store.Kind) {
	s.mu.Lock()
	if s.failSince.IsZero() {
		s.failSince = time.Now()
	}
	s.failKind = k
	s.mu.Unlock()
}

// ObserveRead records the outcome of a read of an input object made outside the pipeline (the
// coordinator's HEAD for a notification without an ETag), so that /healthz sees those failures too.
func (s *Stats) ObserveRead(err error) {
	switch k := store.KindOf(err); {
	case err == nil, k == store.KindNotFound, k == store.KindArchived:
		s.fetched()
	case operatorKind(k):
		s.fetchFailed(k)
	}
}

// FetchFailingSince returns when the current streak of failed object reads began, with the kind of
// the last failure; zero when the last read worked (or none was tried).
func (s *Stats) FetchFailingSince() (time.Time, store.Kind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failSince, s.failKind
}

type statKey struct {
	source parse.Source
	name   string
}

// NewStats returns empty counters.
func NewStats() *Stats { return &Stats{counters: map[statKey]int64{}} }

func (s *Stats) add(src parse.Source, name string, n int64) {
	s.mu.Lock()
	s.counters[statKey{src, name}] += n
	s.mu.Unlock()
}

// Add increments a counter; other packages (the sink wiring, the worker) count through it too.
func (s *Stats) Add(src parse.Source, name string, n int64) { s.add(src, name, n) }

func (s *Stats) observeLag(objectTime time.Time) {
	if objectTime.IsZero() {
		return
	}
	lag := time.Since(objectTime)
	s.mu.Lock()
	if lag > s.maxLag {
		s.maxLag = lag
	}
	s.mu.Unlock()
}

// Counter is one counter's value.
type Counter struct {
	Source parse.Source
	Name   string
	Value  int64
}

// Snapshot returns every counter, sorted by source then name.
func (s *Stats) Snapshot() []Counter {
	s.mu.Lock()
	out := make([]Counter, 0, len(s.counters))
	for k, v := range s.counters {
		out = append(out, Counter{Source: k.source, Name: k.name, Value: v})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Get returns one counter's value.
func (s *Stats) Get(src parse.Source, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[statKey{src, name}]
}

// TakeMaxLag returns the largest lag from object time seen since the last call, and resets it.
func (s *Stats) TakeMaxLag() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.maxLag
	s.maxLag = 0
	return l
}

// Summary renders the counters as one line per source, for the local run's report.
func (s *Stats) Summary() string {
	var b strings.Builder
	var cur parse.Source = 255
	for _, c := range s.Snapshot() {
		if c.Source != cur {
			if cur != 255 {
				b.WriteByte('\n')
			}
			cur = c.Source
			fmt.Fprintf(&b, "%-10s", c.Source.String())
		}
		fmt.Fprintf(&b, " %s=%d", c.Name, c.Value)
	}
	if cur != 255 {
		b.WriteByte('\n')
	}
	return b.String()
}
