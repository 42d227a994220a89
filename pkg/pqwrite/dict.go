package pqwrite

import (
	"bytes"
	"encoding/binary"
	"unsafe"
)

// dictionary is a column chunk's byte-array dictionary: entries in insertion order (their index is
// what data pages hold), the map from value to index keyed by strings over arena blocks the
// dictionary owns (no allocation per distinct value once the blocks exist), and per entry the last
// page it was seen in, so a page's min/max compares each distinct value once, not every value.
type dictionary struct {
	ids     map[string]int32
	entries []string
	size    int // PLAIN-encoded size of the entries
	blocks  [][]byte
	nblock  int // blocks[:nblock] are in use
	seen    []uint32
	epoch   uint32
	last    string
	lastID  int32
	hasLast bool
}

const (
	arenaBlock = 64 << 10
	arenaLarge = 4 << 10 // larger values get their own allocation
)

func newDictionary() *dictionary {
	return &dictionary{ids: make(map[string]int32), epoch: 1}
}

// id returns the index of b, adding it when new.
func (d *dictionary) id(b []byte) int32 {
	// Runs of one value are common (sorted rows, one account or region): skip the map for them.
	if d.hasLast && string(b) == d.last {
		return d.lastID
	}
	id, ok := d.ids[string(b)]
	if !ok {
		s := d.store(b)
		id = int32(len(d.entries))
		d.entries = append(d.entries, s)
		d.ids[s] = id
		d.size += 4 + len(b)
		d.seen = append(d.seen, 0)
	}
	d.last, d.lastID, d.hasLast = d.entries[id], id, true
	return id
}

// store copies b into the arena and returns it as a string.
func (d *dictionary) store(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaLarge {
		return string(b)
	}
	if d.nblock == 0 || cap(d.blocks[d.nblock-1])-len(d.blocks[d.nblock-1]) < len(b) {
		if d.nblock == len(d.blocks) {
			d.blocks = append(d.blocks, make([]byte, 0, arenaBlock))
		}
		d.blocks[d.nblock] = d.blocks[d.nblock][:0]
		d.nblock++
	}
	blk := &d.blocks[d.nblock-1]
	start := len(*blk)
	*blk = append(*blk, b...)
	return unsafe.String(&(*blk)[start], len(b))
}

// observe widens a page's bounds by entry id the first time the page holds it.
func (d *dictionary) observe(id int32, pb *bounds) {
	if d.seen[id] == d.epoch {
		return
	}
	d.seen[id] = d.epoch
	v := bytesOf(d.entries[id])
	switch {
	case !pb.ok:
		pb.ok, pb.bmin, pb.bmax = true, v, v
	case bytes.Compare(v, pb.bmin) < 0:
		pb.bmin = v
	case bytes.Compare(v, pb.bmax) > 0:
		pb.bmax = v
	}
}

// nextPage starts a new page for observe.
func (d *dictionary) nextPage() { d.epoch++ }

// page appends the PLAIN-encoded entries to dst.
func (d *dictionary) page(dst []byte) []byte {
	for _, e := range d.entries {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e)))
		dst = append(dst, e...)
	}
	return dst
}

// reset empties the dictionary for the next chunk, keeping its memory.
func (d *dictionary) reset() {
	clear(d.ids)
	clear(d.entries)
	d.entries = d.entries[:0]
	d.seen = d.seen[:0]
	d.size, d.nblock = 0, 0
	d.last, d.hasLast = "", false
	d.epoch++
}

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
