package sink

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/logarchive/logarchive/pkg/pqwrite"
)

// shredder writes rows of a tagged struct type straight to a file's column writers: each row is
// walked once (Dremel record shredding) with field offsets, pointer tests and levels worked out
// from the type and schema at start-up, and each value goes to its column writer as it is reached
// (no parquet.Value is built). parquet-go's reflective row path writes every pointer field one value at a time
// through a chain of function values; that was most of the encoding cost of every table.
//
// It supports what the tables use: structs, pointers (optional), string, int32, int64, bool,
// float64, time.Time as TIMESTAMP(MILLIS), lists of any of these (nil is NULL when the list is
// optional, empty is an empty list), map[string]string and optional plain strings ("" is NULL). compileShredder refuses anything else
// and the table keeps parquet-go's path. The semantics are parquet-go's own (TestShredMatchesReflective).
type shredder struct {
	root    *snode
	leaves  int
	rowSize uintptr
	// touch are the offsets in a row of the strings, slices and pointers it holds itself: what
	// a block's rows point to is loaded before the block is walked (see shredEncoder).
	touch []touchField
}

// touchField is a word of a row pointing at data the walk will read: a string's or slice's
// bytes (n: the length word's offset) or a pointer's target (n: 0). With via, the word is in the
// struct the row's pointer at offset via-1 points to.
type touchField struct{ via, p, n uintptr }

type snodeKind uint8

const (
	sStruct snodeKind = iota
	sList
	sMap
	sString
	sInt32
	sInt64
	sBool
	sFloat64
	sTime
)

type snode struct {
	kind     snodeKind
	offset   uintptr // within the enclosing struct
	ptr      bool    // the field is a pointer: nil is NULL
	optional bool    // a list or map that is NULL when nil, a string that is NULL when empty
	defNull  int     // definition level written when this node is NULL
	def      int     // definition level when present
	rep      int     // list, map: repetition level of entries after the first
	children []*snode
	elem     *snode   // list
	elemSize uintptr  // list
	target   int64    // pointer: the heap block its target takes (its size rounded to Go's size class)
	leaf     int      // leaf column (map: the key column)
	valLeaf  int      // map: the value column
	leaves   []int    // every leaf column under this node
	sizeOps  []sizeOp // struct: its size walk (see sized)
}

var goTime = reflect.TypeFor[time.Time]()

// compileShredder builds the shredder of struct type t for schema (parquet.SchemaOf of t).
func compileShredder(t reflect.Type, schema *parquet.Schema) (*shredder, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	c := &shredCompiler{schema: schema}
	root, err := c.compile(t, schema, nil, 0, 0, false)
	if err != nil {
		return nil, err
	}
	if len(root.leaves) != len(schema.Columns()) {
		return nil, fmt.Errorf("%d of %d columns placed", len(root.leaves), len(schema.Columns()))
	}
	root.sized()
	s := &shredder{root: root, leaves: len(schema.Columns()), rowSize: t.Size()}
	const word = unsafe.Sizeof(uintptr(0))
	for _, c := range root.children {
		switch {
		case c.ptr:
			s.touch = append(s.touch, touchField{p: c.offset})
			if c.kind != sStruct {
				continue
			}
			for _, g := range c.children {
				if !g.ptr && (g.kind == sString || g.kind == sList) {
					s.touch = append(s.touch, touchField{via: c.offset + 1, p: g.offset, n: g.offset + word})
				}
			}
		case c.kind == sString || c.kind == sList:
			s.touch = append(s.touch, touchField{p: c.offset, n: c.offset + word})
		}
	}
	return s, nil
}

// touchBlock loads the first byte of what the rows of a block point to and returns their sum (for
// the caller to keep, or the loads would be dropped). Rows are written in sort order, not in
// the order they were decoded, so a row's strings are a cache miss each the walk would wait on
// one after the other; loaded here, a block's misses are independent loads that overlap.
func (s *shredder) touchBlock(rows unsafe.Pointer, n int) byte {
	var sum byte
	for j := range n {
		row := unsafe.Add(rows, uintptr(j)*s.rowSize)
		for _, f := range s.touch {
			base := row
			if f.via != 0 {
				if base = *(*unsafe.Pointer)(unsafe.Add(row, f.via-1)); base == nil {
					continue
				}
			}
			p := *(*unsafe.Pointer)(unsafe.Add(base, f.p))
			if p == nil || f.n != 0 && *(*int)(unsafe.Add(base, f.n)) == 0 {
				continue
			}
			sum += *(*byte)(p)
		}
	}
	return sum
}

type shredCompiler struct{ schema *parquet.Schema }

func fieldName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
	if tag == "-" {
		return "", false
	}
	if tag == "" {
		tag = f.Name
	}
	return tag, true
}

func childNode(n parquet.Node, name string) parquet.Node {
	for _, f := range n.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

func (c *shredCompiler) leafOf(path []string, n *snode, rep int) error {
	leaf, ok := c.schema.Lookup(path...)
	if !ok {
		return fmt.Errorf("no column %s", strings.Join(path, "."))
	}
	if leaf.MaxDefinitionLevel != n.def || leaf.MaxRepetitionLevel != rep {
		return fmt.Errorf("column %s: definition level %d, computed %d", strings.Join(path, "."), leaf.MaxDefinitionLevel, n.def)
	}
	n.leaf = leaf.ColumnIndex
	n.leaves = []int{leaf.ColumnIndex}
	return nil
}

// compile places Go type t on schema node node at path; def and rep are the levels of the parent.
func (c *shredCompiler) compile(t reflect.Type, node parquet.Node, path []string, def, rep int, root bool) (*snode, error) {
	where := strings.Join(path, ".")
	if node.Repeated() {
		return nil, fmt.Errorf("%s: repeated field outside a list or map", where)
	}
	n := &snode{defNull: def}
	if t.Kind() == reflect.Pointer {
		if !node.Optional() {
			return nil, fmt.Errorf("%s: pointer to a required field", where)
		}
		n.ptr = true
		t = t.Elem()
		n.target = allocSize(int64(t.Size()))
		def++
	} else if node.Optional() && !root {
		// A plain string is NULL when empty (the tables' rule: an absent value is NULL, never
		// ""), which spares the rows a pointer and a heap block per optional string.
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Map && t.Kind() != reflect.String {
			return nil, fmt.Errorf("%s: optional field of non-pointer type %s", where, t)
		}
		n.optional = true
		def++
	}
	n.def = def
	var kind parquet.Kind = -1
	if node.Leaf() {
		kind = node.Type().Kind()
	}
	switch {
	case t == goTime:
		var millis bool
		if lt := node.Type().LogicalType(); lt != nil {
			if ts, ok := lt.Value.(*format.TimestampType); ok {
				_, millis = ts.Unit.Value.(*format.MilliSeconds)
			}
		}
		if kind != parquet.Int64 || !millis {
			return nil, fmt.Errorf("%s: time.Time not stored as TIMESTAMP(MILLIS)", where)
		}
		n.kind = sTime
		return n, c.leafOf(path, n, rep)
	case t.Kind() == reflect.Struct:
		if node.Leaf() {
			return nil, fmt.Errorf("%s: struct on a leaf", where)
		}
		n.kind = sStruct
		for i := range t.NumField() {
			f := t.Field(i)
			name, ok := fieldName(f)
			if !ok {
				continue
			}
			cn := childNode(node, name)
			if cn == nil {
				return nil, fmt.Errorf("%s: no schema field %s", where, name)
			}
			ch, err := c.compile(f.Type, cn, append(slices.Clip(path), name), def, rep, false)
			if err != nil {
				return nil, err
			}
			ch.offset = f.Offset
			n.children = append(n.children, ch)
			n.leaves = append(n.leaves, ch.leaves...)
		}
		return n, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		fs := node.Fields()
		if len(fs) != 1 || !fs[0].Repeated() || len(fs[0].Fields()) != 1 {
			return nil, fmt.Errorf("%s: slice without a LIST group", where)
		}
		rg := fs[0]
		el := rg.Fields()[0]
		n.kind, n.rep, n.elemSize = sList, rep+1, t.Elem().Size()
		e, err := c.compile(t.Elem(), el, append(slices.Clip(path), rg.Name(), el.Name()), def+1, rep+1, false)
		if err != nil {
			return nil, err
		}
		n.elem, n.leaves = e, e.leaves
		return n, nil
	case t.Kind() == reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map other than map[string]string", where)
		}
		kv := childNode(node, "key_value")
		if kv == nil || !kv.Repeated() {
			return nil, fmt.Errorf("%s: map without key_value", where)
		}
		kn, vn := childNode(kv, "key"), childNode(kv, "value")
		if kn == nil || vn == nil || kn.Optional() || vn.Optional() || kn.Repeated() || vn.Repeated() {
			return nil, fmt.Errorf("%s: map key_value is not required key and value", where)
		}
		n.kind, n.rep = sMap, rep+1
		kl, ok1 := c.schema.Lookup(append(slices.Clip(path), "key_value", "key")...)
		vl, ok2 := c.schema.Lookup(append(slices.Clip(path), "key_value", "value")...)
		if !ok1 || !ok2 || kl.MaxDefinitionLevel != def+1 || vl.MaxDefinitionLevel != def+1 ||
			kl.MaxRepetitionLevel != rep+1 || vl.MaxRepetitionLevel != rep+1 {
			return nil, fmt.Errorf("%s: map columns not at the expected levels", where)
		}
		n.leaf, n.valLeaf = kl.ColumnIndex, vl.ColumnIndex
		n.leaves = []int{kl.ColumnIndex, vl.ColumnIndex}
		return n, nil
	}
	want, ok := map[reflect.Kind]struct {
		k  snodeKind
		pk parquet.Kind
	}{
		reflect.String: {sString, parquet.ByteArray}, reflect.Int32: {sInt32, parquet.Int32},
		reflect.Int64: {sInt64, parquet.Int64}, reflect.Bool: {sBool, parquet.Boolean},
		reflect.Float64: {sFloat64, parquet.Double},
	}[t.Kind()]
	if !ok || !node.Leaf() || kind != want.pk {
		return nil, fmt.Errorf("%s: unsupported type %s for %v", where, t, kind)
	}
	n.kind = want.k
	return n, c.leafOf(path, n, rep)
}

// columnErr returns the error the column writers failed with, if any.
func columnErr(cw []*pqwrite.Column) error {
	for leaf, c := range cw {
		if err := c.Err(); err != nil {
			return fmt.Errorf("column %d: %w", leaf, err)
		}
	}
	return nil
}

func (s *shredder) nulls(n *snode, rep, def int, cw []*pqwrite.Column) {
	for _, l := range n.leaves {
		cw[l].AppendNull(rep, def)
	}
}

type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// walk writes the values of node n at p straight to the column writers (errors stick to them).
func (s *shredder) walk(n *snode, p unsafe.Pointer, rep int, cw []*pqwrite.Column, keys []string) []string {
	if n.ptr {
		p = *(*unsafe.Pointer)(p)
		if p == nil {
			s.nulls(n, rep, n.defNull, cw)
			return keys
		}
	}
	switch n.kind {
	case sStruct:
		for _, c := range n.children {
			q := unsafe.Add(p, c.offset)
			if c.kind == sString && !c.ptr {
				// Most values are strings in the row itself: written here, not a call deeper.
				if v := *(*string)(q); c.optional && v == "" {
					cw[c.leaf].AppendNull(rep, c.defNull)
				} else {
					cw[c.leaf].AppendByteArray(rep, bytesOf(v))
				}
				continue
			}
			keys = s.walk(c, q, rep, cw, keys)
		}
	case sList:
		h := (*sliceHeader)(p)
		if h.data == nil && n.optional {
			s.nulls(n, rep, n.defNull, cw)
			return keys
		}
		if h.len == 0 {
			s.nulls(n, rep, n.def, cw)
			return keys
		}
		for j := range h.len {
			r := rep
			if j > 0 {
				r = n.rep
			}
			keys = s.walk(n.elem, unsafe.Add(h.data, uintptr(j)*n.elemSize), r, cw, keys)
		}
	case sMap:
		m := *(*map[string]string)(p)
		if m == nil && n.optional {
			s.nulls(n, rep, n.defNull, cw)
			return keys
		}
		if len(m) == 0 {
			s.nulls(n, rep, n.def, cw)
			return keys
		}
		keys = sortedKeys(keys, m)
		kc, vc := cw[n.leaf], cw[n.valLeaf]
		for j, k := range keys {
			r := rep
			if j > 0 {
				r = n.rep
			}
			kc.AppendByteArray(r, bytesOf(k))
			vc.AppendByteArray(r, bytesOf(m[k]))
		}
	case sString:
		v := *(*string)(p)
		if n.optional && v == "" {
			cw[n.leaf].AppendNull(rep, n.defNull)
			return keys
		}
		cw[n.leaf].AppendByteArray(rep, bytesOf(v))
	case sInt32:
		cw[n.leaf].AppendInt32(rep, *(*int32)(p))
	case sInt64:
		cw[n.leaf].AppendInt64(rep, *(*int64)(p))
	case sBool:
		cw[n.leaf].AppendBoolean(rep, *(*bool)(p))
	case sFloat64:
		cw[n.leaf].AppendDouble(rep, *(*float64)(p))
	case sTime:
		cw[n.leaf].AppendInt64(rep, (*time.Time)(p).UnixMilli())
	}
	return keys
}

// walkBlock writes node n of a block of rows column by column: each column takes the block's
// values one after another, so its writer's state stays in cache, instead of every column of the
// table taking one value a row (a column's values, and so its file, are the same either way: the
// columns are independent). ps[j] points at n in row j, or is nil when a pointer above n is nil
// in that row, which then writes NULL at definition level defs[j] to every column under n. Lists
// and maps are walked a row at a time below this level.
func (s *shredder) walkBlock(n *snode, ps []unsafe.Pointer, defs []int, cw []*pqwrite.Column, keys []string) []string {
	if n.kind != sStruct {
		for j, p := range ps {
			if p == nil {
				s.nulls(n, 0, defs[j], cw)
				continue
			}
			keys = s.walk(n, p, 0, cw, keys)
		}
		return keys
	}
	var qs, cs [gatherRows]unsafe.Pointer
	var qdefs [gatherRows]int
	copy(qs[:], ps)
	copy(qdefs[:], defs)
	if n.ptr {
		for j, p := range ps {
			if p == nil {
				continue
			}
			if qs[j] = *(*unsafe.Pointer)(p); qs[j] == nil {
				qdefs[j] = n.defNull
			}
		}
	}
	rows := len(ps)
	for _, c := range n.children {
		if c.kind == sString && !c.ptr {
			// Most values are strings in the row itself: a loop over the block, not a call deeper.
			col := cw[c.leaf]
			for j, p := range qs[:rows] {
				if p == nil {
					col.AppendNull(0, qdefs[j])
				} else if v := *(*string)(unsafe.Add(p, c.offset)); c.optional && v == "" {
					col.AppendNull(0, c.defNull)
				} else {
					col.AppendByteArray(0, bytesOf(v))
				}
			}
			continue
		}
		for j, p := range qs[:rows] {
			cs[j] = nil
			if p != nil {
				cs[j] = unsafe.Add(p, c.offset)
			}
		}
		keys = s.walkBlock(c, cs[:rows], qdefs[:rows], cw, keys)
	}
	return keys
}

// shredEncoder adapts a shredder to a table's row type.
func shredEncoder[T any](s *shredder) columnEncoder[T] {
	return func(cw []*pqwrite.Column, rows []*T) error {
		if len(rows) == 0 {
			return nil
		}
		// Rows are written in sort order, not memory order, so the walk waited on a cache miss
		// at the start of each row. Copied a block at a time (independent loads, which the CPU
		// overlaps), they are walked from the block: CloudTrail 1.32 -> 1.26 s CPU, Resolver
		// 0.99 -> 0.97 s (blocks of 16 and 64 rows did no better).
		buf := make([]T, min(len(rows), gatherRows))
		var keys []string
		var touched byte
		for start := 0; start < len(rows); start += len(buf) {
			part := rows[start:min(start+len(buf), len(rows))]
			for j, p := range part {
				buf[j] = *p
			}
			touched += s.touchBlock(unsafe.Pointer(&buf[0]), len(part))
			var ps [gatherRows]unsafe.Pointer
			for j := range part {
				ps[j] = unsafe.Pointer(&buf[j])
			}
			var defs [gatherRows]int
			keys = s.walkBlock(s.root, ps[:len(part)], defs[:len(part)], cw, keys)
		}
		clear(buf) // no references into the rows stay behind
		clear(keys[:cap(keys)])
		keep(touched)
		return columnErr(cw)
	}
}

// keep uses what touchBlock loaded, so that the compiler keeps the loads.
//
//go:noinline
func keep(byte) {}

// gatherRows is the block of rows shredEncoder copies before walking them.
const gatherRows = 32

// leveled sets a value's levels and column (Value.Level, inlined: it was a tenth of flow's CPU).
func leveled(v parquet.Value, rep, def, col int) parquet.Value {
	v.SetRepetitionLevel(rep)
	v.SetDefinitionLevel(def)
	v.SetColumnIndex(col)
	return v
}

// sortedKeys returns m's keys in order in keys' backing array: a map column's entries are written
// sorted so that equal maps encode alike.
func sortedKeys(keys []string, m map[string]string) []string {
	keys = slices.AppendSeq(keys[:0], maps.Keys(m))
	slices.Sort(keys)
	return keys
}
