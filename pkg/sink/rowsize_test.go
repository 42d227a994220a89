package sink

import (
	"testing"
	"time"
	"unsafe"
)

type sizeLeaf struct {
	Name *string `parquet:"name,optional"`
	N    int32   `parquet:"n"`
}

type sizeMid struct {
	S    string     `parquet:"s"`
	Leaf sizeLeaf   `parquet:"leaf"`
	Tags []string   `parquet:"tags,optional,list"`
	At   *time.Time `parquet:"at,optional,timestamp(millisecond)"`
}

type sizeRow struct {
	ID    string            `parquet:"id"`
	Count *int64            `parquet:"count,optional"`
	Mid   sizeMid           `parquet:"mid"`
	Ptr   *sizeMid          `parquet:"ptr,optional"`
	Leafs []sizeLeaf        `parquet:"leafs,optional,list"`
	Ptrs  []*sizeLeaf       `parquet:"ptrs,optional,list"`
	M     map[string]string `parquet:"m,optional"`
	Note  *string           `parquet:"note,optional"`
}

// TestRowBytes checks the size walk against what a row reaches, worked out from the types' sizes
// and the strings' lengths: every pointer target, string, list backing array (by capacity) and
// map, through structs held by value and by pointer, with NULLs at every kind of node.
func TestRowBytes(t *testing.T) {
	tab := NewTable[sizeRow](TableSpec{})
	if tab.shred == nil {
		t.Fatal("sizeRow did not compile to a shredder")
	}
	str := func(s string) *string { return &s }
	strSize := int64(unsafe.Sizeof(""))
	// The map's header and its one group of 8 slots (a control word and 8 key/value pairs).
	smallMap := 48 + allocSize(8+8*2*strSize)

	empty := sizeRow{}
	if got, want := tab.RowBytes(&empty), int64(unsafe.Sizeof(empty)); got != want {
		t.Errorf("all NULL: %d bytes, want the struct's %d", got, want)
	}

	count := int64(7)
	at := time.Now()
	tags := make([]string, 2, 5)
	tags[0], tags[1] = "alpha", "be"
	r := sizeRow{
		ID:    "row-1",
		Count: &count,
		Mid:   sizeMid{S: "mid", Leaf: sizeLeaf{Name: str("leafname")}, Tags: tags, At: &at},
		Ptr:   &sizeMid{S: "pp", Tags: []string{}},
		Leafs: []sizeLeaf{{Name: str("x")}, {}},
		Ptrs:  []*sizeLeaf{{Name: str("yy")}, nil},
		M:     map[string]string{"k1": "value", "key2": ""},
	}
	want := int64(unsafe.Sizeof(r)) + int64(len(r.ID)) +
		allocSize(int64(unsafe.Sizeof(count))) +
		// Mid, by value: its string, its leaf's name, its tags' array and strings, its time.
		int64(len(r.Mid.S)) + allocSize(strSize) + 8 +
		allocSize(5*strSize) + 5 + 2 + allocSize(int64(unsafe.Sizeof(at))) +
		// Ptr: the struct, its string, an empty list's (zero-size) array.
		allocSize(int64(unsafe.Sizeof(sizeMid{}))) + 2 +
		// Leafs: the array of two structs, one name.
		allocSize(2*int64(unsafe.Sizeof(sizeLeaf{}))) + allocSize(strSize) + 1 +
		// Ptrs: the array of two pointers, one struct with its name, one NULL.
		allocSize(2*int64(unsafe.Sizeof(&sizeLeaf{}))) + allocSize(int64(unsafe.Sizeof(sizeLeaf{}))) + allocSize(strSize) + 2 +
		smallMap + 2 + 5 + 4
	if got := tab.RowBytes(&r); got != want {
		t.Errorf("row: %d bytes, want %d", got, want)
	}

	// A NULL and an empty string pointer, and a map past one group.
	r.Note = str("")
	r.Ptr = nil
	want += allocSize(strSize) - (allocSize(int64(unsafe.Sizeof(sizeMid{}))) + 2)
	for i := range 20 {
		r.M[string(rune('a'+i))] = "v"
	}
	want -= smallMap
	want += 48 + 64 + allocSize(32/8*(8+8*2*strSize)) + 20*2 // 22 entries fill 32 slots to 7/8 at most
	if got := tab.RowBytes(&r); got != want {
		t.Errorf("row with a large map: %d bytes, want %d", got, want)
	}
}

// TestAllocSize: allocations up to 1 KiB, and the first class above, round to Go's size classes.
func TestAllocSize(t *testing.T) {
	for n, want := range map[int64]int64{0: 0, 1: 8, 4: 8, 16: 16, 17: 24, 40: 48, 264: 288, 1000: 1024, 1025: 1152} {
		if got := allocSize(n); got != want {
			t.Errorf("allocSize(%d) = %d, want %d", n, got, want)
		}
	}
}
