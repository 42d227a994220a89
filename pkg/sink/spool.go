package sink

import (
	"bytes"
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
type spool struct {
	dir      string
	memLimit int64
	mem      []byte
	f        *os.File
	n        int64
	err      error
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.f == nil && int64(len(s.mem)+len(p)) > s.memLimit {
		f, err := os.CreateTemp(s.dir, "logarchive-spool-*")
		if err != nil {
			s.err = fmt.Errorf("sink: spool file: %w", err)
			return 0, s.err
		}
		// Unlinked at once: the descriptor keeps the data; nothing outlives the process.
		os.Remove(f.Name())
		if _, err := f.Write(s.mem); err != nil {
			f.Close()
			s.err = fmt.Errorf("sink: spool file: %w", err)
			return 0, s.err
		}
		s.f, s.mem = f, nil
	}
	if s.f != nil {
		n, err := s.f.Write(p)
		s.n += int64(n)
		if err != nil {
			s.err = fmt.Errorf("sink: spool file: %w", err)
		}
		return n, s.err
	}
	s.mem = append(s.mem, p...)
	s.n += int64(len(p))
	return len(p), nil
}

// memBytes is what the spool holds in memory.
func (s *spool) memBytes() int64 {
	if s == nil {
		return 0
	}
	return int64(cap(s.mem))
}

func (s *spool) size() int64 {
	if s == nil {
		return 0
	}
	return s.n
}

func (s *spool) readerAt() io.ReaderAt {
	if s.f != nil {
		return s.f
	}
	return bytes.NewReader(s.mem)
}

func (s *spool) remove() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.mem = nil
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
	ra, size := sp.readerAt(), sp.size()
	if spec.RewriteFooter == nil {
		return io.Copy(w, io.NewSectionReader(ra, 0, size))
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
	n, err := io.Copy(w, io.NewSectionReader(ra, 0, start))
	if err != nil {
		return n, err
	}
	nf = binary.LittleEndian.AppendUint32(nf, uint32(len(nf)))
	nf = append(nf, "PAR1"...)
	m, err := w.Write(nf)
	return n + int64(m), err
}
