package ocsfcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// ReadParquet reads a Parquet object with Arrow (pqarrow, an implementation independent of the
// writer's) into JSON-shaped rows: structs are objects, lists arrays, a MAP an array of {key,
// value}, numbers float64, and TIMESTAMP columns (the datetime profile's *_dt) RFC 3339 strings.
// It also returns the codecs the column chunks use.
func ReadParquet(data []byte) (rows []map[string]any, codecs map[compress.Compression]bool, err error) {
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("ocsfcheck: parquet: %w", err)
	}
	defer pf.Close()
	codecs = map[compress.Compression]bool{}
	md := pf.MetaData()
	for g := range md.RowGroups {
		rg := md.RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return nil, nil, fmt.Errorf("ocsfcheck: column chunk: %w", err)
			}
			codecs[cc.Compression()] = true
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("ocsfcheck: arrow: %w", err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("ocsfcheck: arrow: %w", err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		base := len(rows)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, map[string]any{})
		}
		for c, col := range rec.Columns() {
			js, err := col.MarshalJSON()
			if err != nil {
				return nil, nil, fmt.Errorf("ocsfcheck: column %s: %w", rec.ColumnName(c), err)
			}
			var vals []any
			if err := json.Unmarshal(js, &vals); err != nil {
				return nil, nil, fmt.Errorf("ocsfcheck: column %s: %w", rec.ColumnName(c), err)
			}
			for i, v := range vals {
				rows[base+i][rec.ColumnName(c)] = v
			}
		}
	}
	for _, r := range rows {
		normalizeTimestamps(r)
	}
	return rows, codecs, nil
}

// normalizeTimestamps turns Arrow's JSON for TIMESTAMP values ("2006-01-02 15:04:05.000Z") into
// RFC 3339, datetime_t's form; the Parquet type itself is the timestamp.
func normalizeTimestamps(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && strings.HasSuffix(k, "_dt") {
				for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
					if ts, err := time.Parse(layout, s); err == nil {
						x[k] = ts.UTC().Format(time.RFC3339Nano)
						break
					}
				}
				continue
			}
			normalizeTimestamps(e)
		}
	case []any:
		for _, e := range x {
			normalizeTimestamps(e)
		}
	}
}
