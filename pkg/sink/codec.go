package sink

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is parquet-go's zstd codec with three differences that matter at this volume: its
// encoders are shared by every file of a sink (parquet-go's pool lives in the codec value, so a
// codec per file built new encoders for every file); their window is the page size: a page is
// compressed on its own (EncodeAll), so a larger window only costs memory (the default 8 MiB
// window made each encoder's history buffer the largest thing a busy sink held); and they run
// at zstd's fastest level with entropy coding of every literal block.
//
// klauspost's fastest and default levels both store a block in which they find no match as raw
// literals, without Huffman coding. Random-hex ids (CloudTrail's eventid and requestid, Resolver's
// instance ids) find few matches, so at the fastest level their pages stayed nearly raw: that was
// why CloudTrail files were 12.6 % larger at the fastest level than at the default (level 3, as
// DuckDB's), not the match finder. With every literal block entropy-coded, the fastest level's
// pages are as small as level 3's (measured on every page of the synthetic CloudTrail archive:
// 9.00 vs 8.98 MB; Resolver 5.90 → 5.48 MB, flow 36.98 → 36.86 MB against the fastest level
// without it) for about half level 3's time, so every table takes this one setting.
//
// Its cost is per byte, not per call: on the Resolver archive (673 pages, 21 MB before
// compression, ~90 ms of zstd a run) the 471 pages under 4 KiB (dictionary pages and indexes of
// low-cardinality columns, all-NULL pages) take 1 ms, and zstd adds 3.6 KB to the pages it does
// not shrink (CloudTrail: 1,146 of 1,541 pages, 5 ms, 6.3 KB). The time goes to random ids and
// addresses (Resolver srcids.instance 27 ms, answers rdata 20 ms, srcaddr 13 ms; CloudTrail
// eventid and requestid 16 ms each) that only entropy coding shrinks. A chunk whose dictionary
// did not pay (ids) is DELTA_BYTE_ARRAY for that reason (pqwrite). Measured on those pages and
// not taken, as each costs bytes: Huffman-only frames (no match finder) save 60-75 % of the time
// but lose the length prefixes' matches (Resolver instance ids +40 %, CloudTrail ids +3 %);
// DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY on every PLAIN byte-array page, -30 % time, +9-12 %
// bytes on Resolver's (DNS answers and addresses repeat, and their matches got shorter); frames
// of 128 KiB (one block, no history copy), CloudTrail -19 % time, +1.8 % bytes; dictionaries on
// Resolver's addresses, slower and +3 % bytes.
type zstdCodec struct {
	window int
	enc    sync.Pool // *zstd.Encoder
	dec    sync.Pool // *zstd.Decoder
}

func newZstdCodec(pageBytes int) *zstdCodec {
	w := 1 << 10 // zstd.MinWindowSize
	for w < pageBytes && w < 8<<20 {
		w <<= 1
	}
	return &zstdCodec{window: w}
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.enc.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithAllLitEntropyCompression(true), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(c.window))
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

// newCodec returns the page codec a sink shares between all its files.
func newCodec(c Compression, pageBytes int) compress.Codec {
	if c == Snappy {
		return &snappy.Codec{}
	}
	return newZstdCodec(pageBytes)
}
