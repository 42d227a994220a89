package sink

import (
	"io"
	"slices"

	"github.com/logarchive/logarchive/pkg/ack"
)

// writable is a row set the benchmarks can write again and again.
type writable interface {
	write(w io.Writer, cfg writeConfig) error
}

// write encodes a copy of the pending rows as one file into w, the way a checkpoint finishes and
// uploads a file, leaving r as it was.
func (r *rowsOf[T]) write(w io.Writer, cfg writeConfig) error {
	def := r.def
	if def == nil {
		def = NewTable[T](TableSpec{Name: "bench"})
	}
	c := &rowsOf[T]{def: def, rows: slices.Clone(r.rows), keys: slices.Clone(r.keys), lo: r.lo, hi: r.hi}
	if cfg.spoolMem == 0 {
		cfg.spoolMem = 1 << 40
	}
	defer c.discard()
	if err := c.finish(cfg); err != nil {
		return err
	}
	_, err := copySpool(w, &TableSpec{}, c.sp)
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// InputRef is the shape the tests were written with: an input and its Done as func(error).
type InputRef struct {
	Bucket, Key     string
	ETag, VersionID string
	Done            func(err error)
}

// outcomeErr maps an outcome to the error the tests check: nil when durable.
func outcomeErr(o ack.Outcome) error {
	if o.Kind == ack.Durable {
		return nil
	}
	if o.Err == nil {
		return errorString(o.Kind.String())
	}
	return o.Err
}

type errorString string

func (e errorString) Error() string { return string(e) }

func beginRef(s *Sink, r InputRef) *Input {
	var done ack.Done
	if r.Done != nil {
		done = func(o ack.Outcome) { r.Done(outcomeErr(o)) }
	}
	return s.Begin(ack.Ref{Bucket: r.Bucket, Key: r.Key, ETag: r.ETag, VersionID: r.VersionID, Size: -1}, done)
}
