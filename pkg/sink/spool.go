package sink

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/logarchive/logarchive/pkg/store"
)

// spool collects a file's encoded bytes until its checkpoint uploads them: in memory while the file
// is small (most files of a busy sink are), in an unlinked temporary file past memLimit, so a
// large file costs disk, not memory, and a killed process leaves nothing behind.
//
// In memory the bytes are a list of chunks, each as large as all before it (up to spoolChunkMax),
// rather than one slice grown by append: regrowing copied every byte written about
// once more, and the copies and their garbage were over 2 % of a Resolver run's CPU.
type spool struct {
	dir      string
	memLimit int64
	chunks   [][]byte // full but for the last
	memCap   int64    // the chunks' capacity
	f        *os.File
	fw       *bufio.Writer // in front of f: the writer's pieces (page headers, levels, index entries) are small
	n        int64
	err      error
}

// spoolChunkMin and spoolChunkMax bound the size of a memory spool's chunks.
const (
	spoolChunkMin = 512
	spoolChunkMax = 4 << 20
	// spoolFileBuffer is the buffer in front of a spool's file. Unbuffered, each of the Parquet
	// writer's pieces was a write(2) of its own: ~2,300 calls for CloudTrail's one 7 MB file.
	spoolFileBuffer = 256 << 10
)

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.f == nil && s.n+int64(len(p)) > s.memLimit {
		f, err := os.CreateTemp(s.dir, "logarchive-spool-*")
		if err != nil {
			s.err = fmt.Errorf("sink: spool file: %w", err)
			return 0, s.err
		}
		// Unlinked at once: the descriptor keeps the data; nothing outlives the process.
		os.Remove(f.Name())
		for _, c := range s.chunks {
			if _, err := f.Write(c); err != nil {
				f.Close()
				s.err = fmt.Errorf("sink: spool file: %w", err)
				return 0, s.err
			}
		}
		s.f, s.fw, s.chunks, s.memCap = f, bufio.NewWriterSize(f, spoolFileBuffer), nil, 0
	}
	if s.f != nil {
		n, err := s.fw.Write(p)
		s.n += int64(n)
		if err != nil {
			s.err = fmt.Errorf("sink: spool file: %w", err)
		}
		return n, s.err
	}
	n := len(p)
	for len(p) > 0 {
		last := len(s.chunks) - 1
		if last < 0 || len(s.chunks[last]) == cap(s.chunks[last]) {
			// As large as all before it, as append would grow one slice: a small file's spool
			// stays small (the memory budget counts its capacity), a large one has few chunks.
			size := int(min(max(s.memCap, int64(len(p)), spoolChunkMin), spoolChunkMax))
			s.chunks = append(s.chunks, make([]byte, 0, size))
			s.memCap += int64(size)
			last++
		}
		c := &s.chunks[last]
		k := min(len(p), cap(*c)-len(*c))
		*c = append(*c, p[:k]...)
		p = p[k:]
	}
	s.n += int64(n)
	return n, nil
}

// memBytes is what the spool holds in memory.
func (s *spool) memBytes() int64 {
	if s == nil {
		return 0
	}
	if s.fw != nil {
		return int64(s.fw.Size())
	}
	return s.memCap
}

// flush writes out what the file's buffer holds: before the spool is read.
func (s *spool) flush() error {
	if s.err == nil && s.fw != nil {
		if err := s.fw.Flush(); err != nil {
			s.err = fmt.Errorf("sink: spool file: %w", err)
		}
	}
	return s.err
}

func (s *spool) size() int64 {
	if s == nil {
		return 0
	}
	return s.n
}

// readerAt reads what was written so far.
func (s *spool) readerAt() (io.ReaderAt, error) {
	if err := s.flush(); err != nil {
		return nil, err
	}
	if s.f != nil {
		return s.f, nil
	}
	return chunkReader(s.chunks), nil
}

// writeTo writes the spool's first n bytes to w: from memory without copying them first.
func (s *spool) writeTo(w io.Writer, n int64) (int64, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	if s.f != nil {
		return io.Copy(w, io.NewSectionReader(s.f, 0, n))
	}
	var done int64
	for _, c := range s.chunks {
		if done >= n {
			break
		}
		c = c[:min(int64(len(c)), n-done)]
		m, err := w.Write(c)
		done += int64(m)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *spool) remove() {
	if s.f != nil {
		s.f.Close()
		s.f, s.fw = nil, nil
	}
	s.chunks, s.memCap = nil, 0
}

// chunkReader reads a memory spool's chunks as one run of bytes.
type chunkReader [][]byte

func (cr chunkReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("sink: spool: negative offset")
	}
	n := 0
	for _, c := range cr {
		if len(p) == 0 {
			break
		}
		if off >= int64(len(c)) {
			off -= int64(len(c))
			continue
		}
		k := copy(p, c[off:])
		n += k
		p = p[k:]
		off = 0
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// upload writes a finished spool as one object and commits it, rewriting the footer first when the
// table asks for it. A failed upload leaves the spool intact for the retry.
func upload(ctx context.Context, spec *TableSpec, loc store.Location, key string, rows int64, sp *spool) (int64, error) {
	var meta map[string]string
	if spec.Metadata != nil {
		meta = spec.Metadata(rows)
	}
	up, err := loc.Store.Create(ctx, loc.Bucket, key, meta)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	n, err := copySpool(up, spec, sp)
	if err != nil {
		up.Abort()
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	if err := up.Commit(); err != nil {
		return 0, fmt.Errorf("commit %s: %w", key, err)
	}
	return n, nil
}

func copySpool(w io.Writer, spec *TableSpec, sp *spool) (int64, error) {
	size := sp.size()
	if spec.RewriteFooter == nil {
		return sp.writeTo(w, size)
	}
	ra, err := sp.readerAt()
	if err != nil {
		return 0, err
	}
	var tail [8]byte
	if size < 12 {
		return 0, errors.New("spool is not a Parquet file")
	}
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		return 0, fmt.Errorf("read footer length: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return 0, errors.New("spool is not a Parquet file")
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	start := size - 8 - flen
	if flen <= 0 || start < 4 {
		return 0, fmt.Errorf("footer length %d out of range", flen)
	}
	footer := make([]byte, flen)
	if _, err := ra.ReadAt(footer, start); err != nil {
		return 0, fmt.Errorf("read footer: %w", err)
	}
	nf, err := spec.RewriteFooter(footer)
	if err != nil {
		return 0, fmt.Errorf("rewrite footer: %w", err)
	}
	n, err := sp.writeTo(w, start)
	if err != nil {
		return n, err
	}
	nf = binary.LittleEndian.AppendUint32(nf, uint32(len(nf)))
	nf = append(nf, "PAR1"...)
	m, err := w.Write(nf)
	return n + int64(m), err
}
