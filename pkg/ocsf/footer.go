package ocsf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// stripIntAnnotations rewrites a Parquet file's footer so that integer columns carry no
// INT(bits, signed) annotation and the root is named root, as in Security Lake's own objects.
//
// The rows are encoded with the struct's own schema, which keeps parquet-go on its fast path (and
// writes map entries in sorted key order, so objects are reproducible); a schema without the
// annotations forces its generic row path, 1.5–6× slower. The annotation lives only in the
// footer: pages, statistics and indexes of an INT32/INT64 column are the same either way (both
// sort as signed), and they all precede the footer, so replacing it moves nothing else.
func stripIntAnnotations(data []byte, root string) ([]byte, error) {
	n := len(data)
	if n < 12 || !bytes.Equal(data[n-4:], []byte("PAR1")) {
		return nil, errors.New("not a Parquet file")
	}
	size := int(binary.LittleEndian.Uint32(data[n-8 : n-4]))
	start := n - 8 - size
	if size <= 0 || start < 4 {
		return nil, fmt.Errorf("footer length %d out of range", size)
	}
	footer, err := plainFooter(data[start:n-8], root)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, start+len(footer)+8)
	out = append(out, data[:start]...)
	out = append(out, footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...), nil
}

// plainFooter is stripIntAnnotations on the footer alone (the thrift FileMetaData), as the writer
// core's TableSpec.RewriteFooter applies it to a spooled file.
func plainFooter(footer []byte, root string) ([]byte, error) {
	var proto thrift.CompactProtocol
	var md format.FileMetaData
	if err := thrift.Unmarshal(&proto, footer, &md); err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	if len(md.Schema) > 0 {
		md.Schema[0].Name = root
	}
	for i := range md.Schema {
		e := &md.Schema[i]
		if _, isInt := e.LogicalType.Value.(*format.IntType); !isInt {
			continue
		}
		if t, ok := e.Type.Get(); ok && (t == format.Int32 || t == format.Int64) {
			e.LogicalType = format.LogicalType{}
			e.ConvertedType = thrift.Null[deprecated.ConvertedType]{}
		}
	}
	out, err := thrift.Marshal(&proto, &md)
	if err != nil {
		return nil, fmt.Errorf("write footer: %w", err)
	}
	return out, nil
}
