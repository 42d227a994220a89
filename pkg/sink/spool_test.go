package sink

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// TestSpoolChunks: a spool written in pieces of every size, in memory (several chunks) or moved to
// a file past its memory limit midway, reads back the same bytes at every offset, and writeTo
// writes exactly the prefix asked for.
func TestSpoolChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 300_001)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name     string
		memLimit int64
		file     bool
	}{
		{"memory", 1 << 30, false},
		{"file", int64(len(want) / 2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := &spool{dir: t.TempDir(), memLimit: tc.memLimit}
			defer sp.remove()
			for rest := want; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(3000))
				if m, err := sp.Write(rest[:n]); err != nil || m != n {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
				rest = rest[n:]
			}
			if sp.size() != int64(len(want)) {
				t.Fatalf("size %d, want %d", sp.size(), len(want))
			}
			if got := sp.f != nil; got != tc.file {
				t.Fatalf("spooled to a file: %v, want %v", got, tc.file)
			}
			if !tc.file {
				if len(sp.chunks) < 3 {
					t.Fatalf("%d chunks, want several", len(sp.chunks))
				}
				if sp.memBytes() < sp.size() {
					t.Fatalf("memBytes %d < size %d", sp.memBytes(), sp.size())
				}
			}
			offs := []int{0, 1, len(want) - 10}
			at := 0
			for _, c := range sp.chunks { // around every boundary between chunks
				at += len(c)
				offs = append(offs, at-50, at-1, at)
			}
			ra, err := sp.readerAt()
			if err != nil {
				t.Fatal(err)
			}
			for _, off := range offs {
				if off >= len(want) {
					continue
				}
				buf := make([]byte, 100)
				n, err := ra.ReadAt(buf, int64(off))
				end := min(off+100, len(want))
				if n != end-off || !bytes.Equal(buf[:n], want[off:end]) {
					t.Errorf("ReadAt(%d): %d bytes, err %v, content differs: %v", off, n, err, !bytes.Equal(buf[:n], want[off:end]))
				}
				if end-off < 100 && err != io.EOF {
					t.Errorf("ReadAt(%d) past the end: err %v, want io.EOF", off, err)
				}
			}
			for _, n := range []int{len(want), len(want)/2 + 7, 0} {
				var out bytes.Buffer
				if m, err := sp.writeTo(&out, int64(n)); err != nil || m != int64(n) || !bytes.Equal(out.Bytes(), want[:n]) {
					t.Errorf("writeTo(%d) = %d, %v; content equal %v", n, m, err, bytes.Equal(out.Bytes(), want[:n]))
				}
			}
		})
	}
}
