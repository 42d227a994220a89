package digest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// LogResult is the outcome of checking one log file listed by a digest.
type LogResult struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Class    Class  `json:"class"`
	Reason   string `json:"reason,omitempty"` // aws-cli's text after "INVALID: " (or ours for new classes)
	Detail   string `json:"detail,omitempty"`
	Bytes    int64  `json:"bytes"`    // compressed bytes read
	Inflated int64  `json:"inflated"` // uncompressed bytes hashed
}

// Valid reports whether the log file matched its digest entry.
func (r LogResult) Valid() bool { return r.Class == ClassValid }

// readBufSize is the read-ahead in front of the inflater; large enough that S3 bodies and files are
// read in big chunks, small enough to run many hashers at once.
const readBufSize = 64 << 10

// countingReader counts bytes and remembers the source's own error (anything but EOF), so a failed
// read of the object is told apart from a corrupt stream.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = fmt.Errorf("read object: %w", err)
	}
	return n, err
}

// Hasher hashes log files, reusing read buffers and inflaters across calls (a log file is small, so
// per-file allocations would dominate). Safe for concurrent use; the zero value is ready.
type Hasher struct {
	pool sync.Pool // *hashState
}

type hashState struct {
	br *bufio.Reader
	zr *gzip.Reader
	h  hash.Hash
}

// HashLog is Hasher.Hash with a throwaway Hasher.
func HashLog(r io.Reader) (sum string, compressed, inflated int64, err error) {
	var h Hasher
	return h.Hash(r)
}

// Hash inflates one gzip member from r and returns the hex SHA-256 of the inflated bytes, streaming.
// Data after the member is an error (aws-cli rejects it since 2026-05), as are non-gzip input and a
// corrupt stream; a stream that ends early reports ClassTruncated (aws-cli says "hash value doesn't
// match"). Format problems are *CheckError; read errors of r are returned wrapped, for the caller to
// classify.
func (hs *Hasher) Hash(r io.Reader) (sum string, compressed, inflated int64, err error) {
	cr := &countingReader{r: r}
	st, _ := hs.pool.Get().(*hashState)
	if st == nil {
		st = &hashState{br: bufio.NewReaderSize(cr, readBufSize), h: sha256.New()}
	} else {
		st.br.Reset(cr)
		st.h.Reset()
	}
	defer hs.pool.Put(st)
	br := st.br
	if st.zr == nil {
		st.zr, err = gzip.NewReader(br)
	} else {
		err = st.zr.Reset(br)
	}
	if err != nil {
		st.zr = nil
		if errors.Is(err, io.EOF) {
			return "", cr.n, 0, checkErr(ClassTruncated, "hash value doesn't match", "empty object")
		}
		if cr.err != nil {
			return "", cr.n, 0, cr.err
		}
		return "", cr.n, 0, &CheckError{Class: ClassInvalidFormat, Msg: "invalid format", Detail: "not gzip", Err: err}
	}
	zr := st.zr
	zr.Multistream(false)
	h := st.h
	inflated, err = io.Copy(h, zr)
	if err != nil {
		switch {
		case cr.err != nil:
			return "", cr.n, inflated, cr.err
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "", cr.n, inflated, checkErr(ClassTruncated, "hash value doesn't match", "gzip stream truncated after %d inflated bytes", inflated)
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), isCorrupt(err):
			return "", cr.n, inflated, &CheckError{Class: ClassInvalidFormat, Msg: "invalid format", Detail: "corrupt gzip stream", Err: err}
		}
		return "", cr.n, inflated, &CheckError{Class: ClassInvalidFormat, Msg: "invalid format", Err: err}
	}
	if _, perr := br.Peek(1); perr == nil {
		return "", cr.n, inflated, checkErr(ClassTrailingData, errTrailingMsg, "data after the first gzip member")
	} else if !errors.Is(perr, io.EOF) {
		return "", cr.n, inflated, fmt.Errorf("read after gzip member: %w", perr)
	}
	return hex.EncodeToString(h.Sum(nil)), cr.n, inflated, nil
}

const errTrailingMsg = "unexpected data after end of compressed stream"

func isCorrupt(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}
