// Package pqwrite writes Parquet files from per-column batches of parquet.Value that carry their
// repetition and definition levels: the batches pkg/sink's shredder and flow encoder produce. It
// is a small writer for what those tables need (PLAIN and RLE_DICTIONARY byte arrays, PLAIN
// numbers and booleans, data pages v2, column chunk statistics, the page index, sorting columns),
// doing per value little more than appending levels and bytes: parquet-go's ColumnWriter, which it
// replaces on that path, was a third of the sink's CPU (per-value level handling through column
// buffers, dictionary inserts through an interface, page bounds and level histograms per page).
//
// The files it writes carry the schema elements and column orders parquet-go writes for the same
// schema (Compile takes them from parquet-go itself), so readers see the same file shape.
package pqwrite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Schema is a parquet-go schema compiled for writing: its footer schema elements and column
// orders, and what the writer needs to know of each leaf column. Compile it once per table.
type Schema struct {
	schema   *parquet.Schema
	elements []format.SchemaElement
	orders   []format.ColumnOrder
	leaves   []leaf
	// columns holds the column writers of closed files ([]*Column) for the next file of the
	// schema: grown from nil for every file, their buffers were most of the writer's allocation.
	columns sync.Pool
}

type leaf struct {
	path     []string
	kind     parquet.Kind
	maxRep   byte
	maxDef   byte
	dict     bool // RLE_DICTIONARY (byte arrays only)
	delta    bool // DELTA_BYTE_ARRAY (byte arrays only): values known to be distinct, ids
	unsigned bool // INT32/INT64 with an unsigned integer logical type: min/max compare unsigned
}

// Compile derives what the writer needs from s. The schema elements and column orders are the
// ones parquet-go writes for s: an empty file is written with parquet-go and its footer decoded,
// so any difference in how parquet-go maps a node to a schema element cannot creep in. Columns
// whose encoding or compression the writer does not support are an error.
func Compile(s *parquet.Schema) (*Schema, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, s)
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pqwrite: write empty file for schema: %w", err)
	}
	b := buf.Bytes()
	if len(b) < 12 || string(b[len(b)-4:]) != "PAR1" {
		return nil, errors.New("pqwrite: parquet-go wrote no footer for the schema")
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	if n > len(b)-12 {
		return nil, errors.New("pqwrite: parquet-go footer length out of range")
	}
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), b[len(b)-8-n:len(b)-8], &md); err != nil {
		return nil, fmt.Errorf("pqwrite: decode parquet-go footer: %w", err)
	}
	sc := &Schema{schema: s, elements: md.Schema, orders: md.ColumnOrders}
	for _, path := range s.Columns() {
		lc, ok := s.Lookup(path...)
		if !ok {
			return nil, fmt.Errorf("pqwrite: column %s not found", strings.Join(path, "."))
		}
		node := lc.Node
		l := leaf{path: path, kind: node.Type().Kind(), maxRep: byte(lc.MaxRepetitionLevel), maxDef: byte(lc.MaxDefinitionLevel)}
		name := strings.Join(path, ".")
		switch l.kind {
		case parquet.Boolean, parquet.Int32, parquet.Int64, parquet.Double, parquet.ByteArray:
		default:
			return nil, fmt.Errorf("pqwrite: column %s: physical type %v not supported", name, l.kind)
		}
		if enc := node.Encoding(); enc != nil {
			switch enc.Encoding() {
			case format.Plain:
			case format.RLEDictionary, format.PlainDictionary:
				if l.kind != parquet.ByteArray {
					return nil, fmt.Errorf("pqwrite: column %s: dictionary encoding of %v not supported", name, l.kind)
				}
				l.dict = true
			case format.DeltaByteArray:
				if l.kind != parquet.ByteArray {
					return nil, fmt.Errorf("pqwrite: column %s: DELTA_BYTE_ARRAY encoding of %v not supported", name, l.kind)
				}
				l.delta = true
			default:
				return nil, fmt.Errorf("pqwrite: column %s: encoding %v not supported", name, enc)
			}
		}
		if node.Compression() != nil {
			return nil, fmt.Errorf("pqwrite: column %s: per-column compression not supported", name)
		}
		if lt := node.Type().LogicalType(); lt != nil {
			if it, ok := lt.Value.(*format.IntType); ok && !it.IsSigned {
				l.unsigned = true
			}
		}
		if lc.ColumnIndex != len(sc.leaves) {
			return nil, fmt.Errorf("pqwrite: column %s has index %d, expected %d", name, lc.ColumnIndex, len(sc.leaves))
		}
		sc.leaves = append(sc.leaves, l)
	}
	if len(sc.orders) != len(sc.leaves) {
		return nil, fmt.Errorf("pqwrite: %d column orders for %d columns", len(sc.orders), len(sc.leaves))
	}
	return sc, nil
}

// Parquet returns the schema Compile was given.
func (s *Schema) Parquet() *parquet.Schema { return s.schema }

// bitWidth is the width of levels up to max in the RLE/bit-packed hybrid encoding.
func bitWidth(max byte) int { return bits.Len8(max) }
