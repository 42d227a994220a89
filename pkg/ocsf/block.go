package ocsf

import "time"

// block is one allocation that a row's optional scalars point into. An OCSF row is a tree of
// pointers (every optional attribute is one): a flow row had some 45 allocations of 4 to 24 bytes,
// most of its mapping's CPU and much of the collector's work. A mapping takes one block per row
// and hands out pointers to its slots; past a slot array's end it falls back to the heap. Slots are
// never reused: the row keeps its block alive for as long as it is staged. The string slots are an
// array of the class's own block (s is set to it, empty), sized to what its rows use, as unused
// slots cost memory for as long as the row is staged.
type block struct {
	s          []string
	i          [6]int32
	l          [4]int64
	t          [3]time.Time
	ni, nl, nt uint8
}

// str is str(v) in the block: nil for "". A nil block allocates.
func (b *block) str(v string) *string {
	if v == "" {
		return nil
	}
	if b == nil || len(b.s) == cap(b.s) {
		return heap(v)
	}
	b.s = append(b.s, v)
	return &b.s[len(b.s)-1]
}

// strs is a list of the values backed by the block.
func (b *block) strs(vs ...string) []string {
	n := len(b.s)
	if n+len(vs) > cap(b.s) {
		return append([]string(nil), vs...)
	}
	b.s = append(b.s, vs...)
	return b.s[n:len(b.s):len(b.s)]
}

func (b *block) i32(v int32) *int32 {
	if int(b.ni) == len(b.i) {
		return heap(v)
	}
	p := &b.i[b.ni]
	b.ni++
	*p = v
	return p
}

func (b *block) i64(v int64) *int64 {
	if int(b.nl) == len(b.l) {
		return heap(v)
	}
	p := &b.l[b.nl]
	b.nl++
	*p = v
	return p
}

// dt is the datetime twin of epoch milliseconds ms.
func (b *block) dt(ms int64) *time.Time {
	t := time.UnixMilli(ms).UTC()
	if int(b.nt) == len(b.t) {
		return heap(t)
	}
	p := &b.t[b.nt]
	b.nt++
	*p = t
	return p
}

// heap returns a pointer to a new copy of v. The slot methods call it rather than return &v,
// which would make v escape on every call, not only when the block is full.
func heap[T any](v T) *T {
	p := new(T)
	*p = v
	return p
}
