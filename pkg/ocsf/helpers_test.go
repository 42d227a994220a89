package ocsf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/internal/ocsfcheck"
	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// mapFile decodes one sample object with pkg/parse (key decides the source) and maps every record.
func mapFile(t testing.TB, key, path string) []Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := parse.NewDecoder(parse.Classify("archive", key), f, parse.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rows []Row
	var rec parse.Record
	for {
		err := dec.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		row, err := FromRecord(&rec)
		if err != nil {
			t.Fatalf("%s record %d: %v", path, rec.Index, err)
		}
		rows = append(rows, row)
	}
	return rows
}

// testWriter writes to a local directory, one source per class under ext/<default name>/1.0/.
func testWriter(t testing.TB, opts WriterOptions) (*Writer, *store.Local) {
	t.Helper()
	st := store.NewLocal(t.TempDir())
	opts.Sources = map[Class]store.Location{}
	for _, c := range Classes() {
		prefix, err := SourcePrefix(c.DefaultSourceName(), "1.0")
		if err != nil {
			t.Fatal(err)
		}
		opts.Sources[c] = store.Location{Store: st, Bucket: "lake", Prefix: prefix}
	}
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

// encodeRow writes one row as a Security Lake object through the writer core (the footer rewritten
// as for every object) and returns the object's bytes.
func encodeRow(t testing.TB, row Row) []byte {
	t.Helper()
	w, st := testWriter(t, WriterOptions{})
	// The partition is the layout's business, not the encoding's: any valid one will do.
	in := w.s.Begin(ack.Ref{Bucket: "archive", Key: "k", Size: -1}, nil)
	if err := w.layout.addRow(context.Background(), in, row, "region=us-east-1/accountId=123456789012/eventDay=20240101/", 0); err != nil {
		t.Fatal(err)
	}
	in.End()
	files, err := w.Flush(context.Background())
	if err != nil || len(files) != 1 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	data, err := os.ReadFile(filepath.Join(st.Root(), files[0].Bucket, files[0].Key))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// encodeValidRow is encodeRow for a row mapped from a real record: it must be valid OCSF 1.1.0.
func encodeValidRow(t testing.TB, row Row) []byte {
	t.Helper()
	data := encodeRow(t, row)
	checkOCSF(t, data)
	return data
}

var ocsfSchema = sync.OnceValues(ocsfcheck.Default)

// checkOCSF reads a Parquet object this package wrote back with Arrow and fails the test on any
// row that is not valid OCSF 1.1.0 (internal/ocsfcheck), so every test that writes rows checks
// them.
func checkOCSF(t testing.TB, data []byte) {
	t.Helper()
	sc, err := ocsfSchema()
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := ocsfcheck.ReadParquet(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		for _, v := range sc.Validate(r) {
			t.Errorf("row %d (class %v): %s", i, r["class_uid"], v)
		}
	}
}

// readRows reads a Parquet file with Arrow (pqarrow) and returns its rows as JSON-shaped maps:
// structs are objects, lists arrays, maps arrays of {key, value}.
func readRows(t testing.TB, data []byte) []map[string]any {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var rows []map[string]any
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, map[string]any{})
		}
		base := len(rows) - int(rec.NumRows())
		for c, col := range rec.Columns() {
			js, err := col.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var vals []any
			if err := json.Unmarshal(js, &vals); err != nil {
				t.Fatalf("column %s: %v", rec.ColumnName(c), err)
			}
			for i, v := range vals {
				rows[base+i][rec.ColumnName(c)] = v
			}
		}
	}
	return rows
}

func readFile(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readRows(t, data)
}

// get walks a dotted path through nested objects; nil when any step is missing or null.
func get(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// unmappedOf turns an Arrow MAP column value into a Go map.
func unmappedOf(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, e := range list {
		kv, _ := e.(map[string]any)
		k, _ := kv["key"].(string)
		s, _ := kv["value"].(string)
		out[k] = s
	}
	return out
}
