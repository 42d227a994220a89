package synth_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/logarchive/logarchive/pkg/synth"
)

func TestFlowLogParquet(t *testing.T) {
	o, err := synth.Preset("tiny", 17)
	if err != nil {
		t.Fatal(err)
	}
	o.FlowLogParquet = true
	w := newMem()
	m, err := synth.Generate(context.Background(), w, o)
	if err != nil {
		t.Fatal(err)
	}
	wantType := map[string]parquet.Kind{"dstport": parquet.Int32, "version": parquet.Int32, "bytes": parquet.Int64, "start": parquet.Int64, "srcaddr": parquet.ByteArray}
	nulls, rows, files := 0, 0, 0
	for _, ob := range m.Objects {
		if ob.Table != synth.TableVPCFlow {
			continue
		}
		files++
		if !strings.HasSuffix(ob.Key, ".log.parquet") {
			t.Fatalf("flow-log key %s", ob.Key)
		}
		body := w.objs[m.Bucket+"/"+ob.Key].body
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("%s: %v", ob.Key, err)
		}
		if int(f.NumRows()) != ob.Records {
			t.Errorf("%s: %d rows, manifest %d", ob.Key, f.NumRows(), ob.Records)
		}
		cols := f.Schema().Columns()
		srcaddr := -1
		for i, c := range cols {
			if strings.Contains(c[0], "-") {
				t.Errorf("column %q: Parquet names use '_'", c[0])
			}
			leaf, _ := f.Schema().Lookup(c...)
			if k, ok := wantType[c[0]]; ok && leaf.Node.Type().Kind() != k {
				t.Errorf("column %s is %v, want %v", c[0], leaf.Node.Type().Kind(), k)
			}
			if c[0] == "srcaddr" {
				srcaddr = i
			}
			if !leaf.Node.Optional() {
				t.Errorf("column %s is not optional", c[0])
			}
		}
		for _, rg := range f.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				if cc.MetaData.Codec != format.Gzip {
					t.Fatalf("%s: column %v compressed with %v, want GZIP", ob.Key, cc.MetaData.PathInSchema, cc.MetaData.Codec)
				}
			}
		}
		for _, rg := range f.RowGroups() {
			rr := rg.Rows()
			buf := make([]parquet.Row, 64)
			for {
				n, err := rr.ReadRows(buf)
				for _, row := range buf[:n] {
					rows++
					if srcaddr >= 0 && row[srcaddr].IsNull() {
						nulls++ // NODATA / SKIPDATA rows
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			rr.Close()
		}
	}
	if files == 0 || rows != m.Tables[synth.TableVPCFlow].Records {
		t.Errorf("%d files, %d rows; manifest %d records", files, rows, m.Tables[synth.TableVPCFlow].Records)
	}
	if nulls == 0 {
		t.Error("no NULL srcaddr (NODATA) rows")
	}
	// Parquet output is deterministic too.
	w2 := newMem()
	if _, err := synth.Generate(context.Background(), w2, o); err != nil {
		t.Fatal(err)
	}
	if w.hash() != w2.hash() {
		t.Error("same seed, different Parquet archive")
	}
}
