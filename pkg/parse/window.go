package parse

import (
	"errors"
	"io"
)

// window is a sliding buffer over an object's inflated bytes. A record must fit in it whole (that
// is what lets Raw alias the buffer), so it grows up to the record limit, never beyond.
type window struct {
	r    io.Reader
	buf  []byte
	pos  int   // first unconsumed byte
	end  int   // end of valid bytes
	base int64 // stream offset of buf[0]
	max  int   // largest the buffer may grow to
	eof  bool
	err  error // sticky read error other than io.EOF
}

const windowStart = 256 << 10

// errRecordTooLarge means one record does not fit in the largest window allowed.
var errRecordTooLarge = errors.New("record exceeds the record size limit")

// fill reads more bytes after end, moving the unconsumed tail to the front (or growing the buffer)
// first. It returns io.EOF when the input is exhausted, the read error when there is one, and
// errRecordTooLarge when the buffer is full of one unfinished record.
func (w *window) fill() error {
	if w.err != nil {
		return w.err
	}
	if w.eof {
		return io.EOF
	}
	if w.pos > 0 {
		n := copy(w.buf, w.buf[w.pos:w.end])
		w.base += int64(w.pos)
		w.end = n
		w.pos = 0
	}
	if w.end == len(w.buf) {
		if len(w.buf) >= w.max {
			return errRecordTooLarge
		}
		size := 2 * len(w.buf)
		if size > w.max {
			size = w.max
		}
		nb := make([]byte, size)
		copy(nb, w.buf[:w.end])
		w.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := w.r.Read(w.buf[w.end:])
		w.end += n
		if err != nil {
			if err == io.EOF {
				w.eof = true
			} else {
				w.err = err
			}
			if n > 0 {
				return nil
			}
			return w.fill()
		}
		if n > 0 {
			return nil
		}
	}
	w.err = io.ErrNoProgress
	return w.err
}

// offset is the stream offset of buf[i].
func (w *window) offset(i int) int64 { return w.base + int64(i) }
