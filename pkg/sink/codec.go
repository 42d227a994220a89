package sink

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is parquet-go's zstd codec with two differences that matter at this volume: its
// encoders are shared by every file of a sink (parquet-go's pool lives in the codec value, so a
// codec per file built new encoders for every file), and their window is the page size: a page is
// compressed on its own (EncodeAll), so a larger window only costs memory. The default 8 MiB
// window made each encoder's history buffer the largest thing a busy sink held.
type zstdCodec struct {
	window int
	level  zstd.EncoderLevel
	enc    sync.Pool // *zstd.Encoder
	dec    sync.Pool // *zstd.Decoder
}

func newZstdCodec(pageBytes int, level zstd.EncoderLevel) *zstdCodec {
	w := 1 << 10 // zstd.MinWindowSize
	for w < pageBytes && w < 8<<20 {
		w <<= 1
	}
	return &zstdCodec{window: w, level: level}
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.enc.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(c.level),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(c.window))
		if err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	c.enc.Put(e)
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.dec.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		if d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
			return nil, err
		}
	}
	out, err := d.DecodeAll(src, dst[:0])
	c.dec.Put(d)
	return out, err
}

// newCodec returns the page codec a sink shares between all its files; fastest selects zstd's
// fastest level (TableSpec.FastCompression) instead of its default (level 3, as DuckDB's).
func newCodec(c Compression, pageBytes int, fastest bool) compress.Codec {
	if c == Snappy {
		return &snappy.Codec{}
	}
	if fastest {
		return newZstdCodec(pageBytes, zstd.SpeedFastest)
	}
	return newZstdCodec(pageBytes, zstd.SpeedDefault)
}
