package synth

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// flowParquetKinds are the physical types of the numeric flow-log fields when AWS delivers Parquet
// (formats.md §2.1); every other field is a UTF-8 string.
var flowParquetKinds = map[string]parquet.Kind{
	"version": parquet.Int32, "srcport": parquet.Int32, "dstport": parquet.Int32, "protocol": parquet.Int32,
	"tcp-flags": parquet.Int32, "traffic-path": parquet.Int32,
	"packets": parquet.Int64, "bytes": parquet.Int64, "start": parquet.Int64, "end": parquet.Int64,
}

// flowParquetSchema is the Parquet schema of a flow-log format: one optional column per field, named
// with "_" for "-" as AWS's Parquet and Athena do; "-" values are NULL.
func flowParquetSchema(f flowFormat) *parquet.Schema {
	g := parquet.Group{}
	for _, fl := range f.fields {
		var n parquet.Node
		switch flowParquetKinds[fl] {
		case parquet.Int32:
			n = parquet.Int(32)
		case parquet.Int64:
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
		g[strings.ReplaceAll(fl, "-", "_")] = parquet.Optional(n)
	}
	return parquet.NewSchema("flow_log", g)
}

// flowParquet accumulates the rows of one flow-log file.
type flowParquet struct {
	schema *parquet.Schema
	fields []string // field name per leaf column, in column order
	rows   []parquet.Row
}

func newFlowParquet(schema *parquet.Schema) *flowParquet {
	fp := &flowParquet{schema: schema}
	for _, path := range schema.Columns() {
		fp.fields = append(fp.fields, strings.ReplaceAll(path[0], "_", "-"))
	}
	return fp
}

func (fp *flowParquet) add(vals map[string]string) error {
	row := make(parquet.Row, len(fp.fields))
	for i, fl := range fp.fields {
		v := vals[fl]
		if v == "" || v == "-" {
			row[i] = parquet.NullValue().Level(0, 0, i)
			continue
		}
		switch flowParquetKinds[fl] {
		case parquet.Int32:
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return fmt.Errorf("flow field %s=%q: %w", fl, v, err)
			}
			row[i] = parquet.Int32Value(int32(n)).Level(0, 1, i)
		case parquet.Int64:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("flow field %s=%q: %w", fl, v, err)
			}
			row[i] = parquet.Int64Value(n).Level(0, 1, i)
		default:
			row[i] = parquet.ByteArrayValue([]byte(v)).Level(0, 1, i)
		}
	}
	fp.rows = append(fp.rows, row)
	return nil
}

// bytes writes the file: GZIP pages as AWS's "Parquet format with Gzip compression", and a fixed
// created_by so that the bytes do not depend on how the binary was built.
func (fp *flowParquet) bytes() ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, fp.schema, parquet.Compression(&parquet.Gzip), parquet.CreatedBy("logarchive-synth", "1", "0"))
	if _, err := w.WriteRows(fp.rows); err != nil {
		return nil, fmt.Errorf("write flow-log Parquet: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write flow-log Parquet: %w", err)
	}
	return buf.Bytes(), nil
}
