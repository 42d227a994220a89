package sink

import (
	"math/bits"
	"unsafe"
)

// The size walk estimates the heap a row keeps alive while it is staged, from the same compiled
// tree the shredder writes with (so a field added to a row type is counted without anyone
// remembering to): every pointer's target (at the size class Go allocates it in), the bytes of
// every string, the backing array of every list and its elements, and every map's table and
// entries. Strings are counted by their length whether or not they alias a buffer shared with
// other strings: aliasing makes this an overcount, never an undercount.

// sizeOp is one step of a struct's size walk: the field at off, a string, a pointer to a scalar
// (op: what to count), or a node to walk. A struct's ops are one flat array, with the fields of
// the structs it holds by value folded in at their offsets: the walk then reads contiguous memory
// and calls itself only for pointers to structs, lists and maps.
type sizeOp struct {
	off    uintptr
	target int64 // the pointer's target block
	op     uint8
	node   *snode
}

const (
	opString    uint8 = iota // a string: its bytes
	opPtrString              // a *string: its target and bytes
	opPtr                    // a pointer to a scalar or time.Time: its target
	opNode                   // a pointer to a struct, a list or a map: heapBytes
)

// sized compiles the size walk of n's subtree and says whether n can reach heap beyond its own
// bytes (plain scalars and structs of them cannot, and are left out of the walk).
func (n *snode) sized() bool {
	switch n.kind {
	case sStruct:
		n.sizeOps = n.appendOps(nil, 0)
		return n.ptr || len(n.sizeOps) > 0
	case sList:
		n.elem.sized()
		return true
	case sMap, sString:
		return true
	}
	return n.ptr
}

func (n *snode) appendOps(ops []sizeOp, base uintptr) []sizeOp {
	for _, c := range n.children {
		off := base + c.offset
		switch {
		case c.kind == sStruct && !c.ptr:
			ops = c.appendOps(ops, off)
		case !c.sized():
		case c.kind == sString && !c.ptr:
			ops = append(ops, sizeOp{off: off, op: opString})
		case c.kind == sString:
			ops = append(ops, sizeOp{off: off, op: opPtrString, target: c.target})
		case c.kind == sStruct || c.kind == sList || c.kind == sMap:
			ops = append(ops, sizeOp{off: off, op: opNode, node: c})
		default:
			ops = append(ops, sizeOp{off: off, op: opPtr, target: c.target})
		}
	}
	return ops
}

// rowBytes is the heap the row at p holds: its own struct (as one element of a slice of rows)
// and everything it reaches.
func (s *shredder) rowBytes(p unsafe.Pointer) int64 {
	return int64(s.rowSize) + heapBytes(s.root, p)
}

// heapBytes is what node n at p reaches on the heap, beyond the bytes of n itself.
func heapBytes(n *snode, p unsafe.Pointer) int64 {
	var b int64
	if n.ptr {
		p = *(*unsafe.Pointer)(p)
		if p == nil {
			return 0
		}
		b = n.target
	}
	switch n.kind {
	case sStruct:
		for i := range n.sizeOps {
			o := &n.sizeOps[i]
			q := unsafe.Add(p, o.off)
			switch o.op {
			case opString:
				b += int64(len(*(*string)(q)))
			case opPtrString:
				if s := *(**string)(q); s != nil {
					b += o.target + int64(len(*s))
				}
			case opPtr:
				if *(*unsafe.Pointer)(q) != nil {
					b += o.target
				}
			default:
				b += heapBytes(o.node, q)
			}
		}
	case sList:
		h := (*sliceHeader)(p)
		if h.data == nil {
			return b
		}
		b += allocSize(int64(h.cap) * int64(n.elemSize))
		if e := n.elem; e.ptr || e.kind == sString || e.kind == sList || e.kind == sMap || len(e.sizeOps) > 0 {
			for j := range h.len {
				b += heapBytes(e, unsafe.Add(h.data, uintptr(j)*n.elemSize))
			}
		}
	case sMap:
		b += mapBytes(*(*map[string]string)(p))
	case sString:
		b += int64(len(*(*string)(p)))
	}
	return b
}

// mapBytes sizes a map[string]string as Go's swiss tables lay it out: a header, and groups of 8
// slots (an 8-byte control word and 8 key/value pairs) filled to at most 7/8; up to 8 entries
// fit one group without a table. Keys and values count by their length.
func mapBytes(m map[string]string) int64 {
	n := len(m)
	if n == 0 {
		return 0
	}
	const header, group = 48, 8 + 8*32
	var b int64
	if n <= 8 {
		b = header + allocSize(group)
	} else {
		slots := int64(1) << bits.Len(uint((n*8+6)/7-1))
		b = header + 64 + allocSize(slots/8*group)
	}
	for k, v := range m {
		b += int64(len(k) + len(v))
	}
	return b
}

// smallClass[(n+7)/8] is the size class of an allocation of n ≤ 1 KiB bytes: Go's small size
// classes up to 1 KiB (runtime/sizeclasses.go), by 8-byte steps.
var smallClass = func() (t [129]int16) {
	classes := [...]int16{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
		240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024}
	c := 0
	for i := 1; i < len(t); i++ {
		for int(classes[c]) < i*8 {
			c++
		}
		t[i] = classes[c]
	}
	return t
}()

// allocSize is the heap block an allocation of n bytes takes: n rounded up to its size class up
// to 1 KiB, and to 128 bytes above (the larger classes are about that far apart or closer, relative
// to their size, so this is within a few percent).
func allocSize(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > 1024 {
		return (n + 127) &^ 127
	}
	return int64(smallClass[(n+7)>>3])
}
