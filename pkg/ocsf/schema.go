package ocsf

import (
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// Schema returns the Parquet schema a class's objects declare: the row struct's schema with the
// integer annotations removed and the root named after the class ("api_activity"), because
// Security Lake's own objects carry bare INT32/INT64 (the crawler infers one type per column
// across every file of a table, and timestamp_t must read as nothing but a plain bigint).
// parquet-go annotates every Go integer INT(bits, signed). Writer encodes with the struct's own
// schema (parquet-go's fast path) and rewrites the footer to this one (stripIntAnnotations);
// Schema serves readers, DDL and the baseline benchmark.
func Schema(c Class) (*parquet.Schema, error) {
	var sc *parquet.Schema
	switch c {
	case ClassAPIActivity:
		sc = parquet.SchemaOf(APIActivity{})
	case ClassAuthentication:
		sc = parquet.SchemaOf(Authentication{})
	case ClassAccountChange:
		sc = parquet.SchemaOf(AccountChange{})
	case ClassNetworkActivity:
		sc = parquet.SchemaOf(NetworkActivity{})
	case ClassDNSActivity:
		sc = parquet.SchemaOf(DNSActivity{})
	case ClassDetectionFinding:
		sc = parquet.SchemaOf(DetectionFinding{})
	default:
		return nil, fmt.Errorf("ocsf: no schema for class %v", c)
	}
	return parquet.NewSchema(classInfos[c].table(), plainInts(sc)), nil
}

// table is the schema's root name: AWS names it after the class ("api_activity").
func (i classInfo) table() string {
	out := make([]byte, 0, len(i.name))
	for _, r := range []byte(i.name) {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		case r == ' ':
			out = append(out, '_')
		default:
			out = append(out, r)
		}
	}
	return string(out)
}

// plainInts wraps a node so that integer leaves report the bare physical type. Everything else
// (repetition, encoding, compression, group logical types such as LIST and MAP, the Go type used
// to deconstruct rows) is the wrapped node's.
func plainInts(n parquet.Node) parquet.Node {
	if n.Leaf() {
		if lt := n.Type().LogicalType(); lt != nil {
			if _, isInt := lt.Value.(*format.IntType); isInt {
				return plainLeaf{n}
			}
		}
		return n
	}
	fields := n.Fields()
	wrapped := make([]parquet.Field, len(fields))
	for i, f := range fields {
		wrapped[i] = field{Field: f, node: plainInts(f)}
	}
	return group{Node: n, fields: wrapped}
}

type plainLeaf struct{ parquet.Node }

func (l plainLeaf) Type() parquet.Type { return bareInt{l.Node.Type()} }

// bareInt is an integer type without its logical annotation; parquet-go's own Int32Type and
// Int64Type carry INT(bits, signed), so the annotation has to be hidden at the type.
type bareInt struct{ parquet.Type }

func (bareInt) LogicalType() *format.LogicalType         { return nil }
func (bareInt) ConvertedType() *deprecated.ConvertedType { return nil }

type group struct {
	parquet.Node
	fields []parquet.Field
}

func (g group) Fields() []parquet.Field { return g.fields }

// field keeps the wrapped field's name and value access and answers as its rewritten node.
type field struct {
	parquet.Field
	node parquet.Node
}

func (f field) Type() parquet.Type          { return f.node.Type() }
func (f field) Fields() []parquet.Field     { return f.node.Fields() }
func (f field) Leaf() bool                  { return f.node.Leaf() }
func (f field) Optional() bool              { return f.node.Optional() }
func (f field) Repeated() bool              { return f.node.Repeated() }
func (f field) Required() bool              { return f.node.Required() }
func (f field) Encoding() encoding.Encoding { return f.node.Encoding() }
func (f field) Compression() compress.Codec { return f.node.Compression() }
