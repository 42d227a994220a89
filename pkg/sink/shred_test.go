package sink

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/pqwrite"
	"github.com/logarchive/logarchive/pkg/store"
)

// TestShredderCompiles: every Athena table is shredded and written by pqwrite (none falls back
// to the reflective path).
func TestShredderCompiles(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[CloudTrailRow](), reflect.TypeFor[VPCFlowRow](),
		reflect.TypeFor[ResolverRow](), reflect.TypeFor[findingCol](), reflect.TypeFor[integrityCol]()} {
		sc := parquet.SchemaOf(reflect.New(typ).Elem().Interface())
		if _, err := compileShredder(typ, sc); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		if _, err := pqwrite.Compile(sc); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	a := AthenaLayout(store.Location{}).(*athena)
	for name, pq := range map[string]*pqwrite.Schema{"cloudtrail": a.cloudtrail().pq, "vpcflow": a.vpcflow().pq,
		"resolver": a.resolver().pq, "findings": a.findings().pq, "integrity": a.integrity().pq} {
		if pq == nil {
			t.Errorf("%s: not written by pqwrite", name)
		}
	}
}

// TestShredMatchesReflective writes each table's rows (the CloudTrail sample corpus, synthetic
// flow, Resolver, findings and integrity rows) through the shredder and through parquet-go's
// reflective row path, reads both with pqarrow and compares every row.
func TestShredMatchesReflective(t *testing.T) {
	for _, table := range Tables() {
		t.Run(string(table), func(t *testing.T) {
			bs := benchSynthetic(t, table, 0.05)
			var ours, theirs bytes.Buffer
			cfg := writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: 8 << 10, rowGroupRows: 1 << 20}
			if err := bs.rows.write(&ours, cfg); err != nil {
				t.Fatal(err)
			}
			if err := reflective(bs.rows).write(&theirs, cfg); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			ra, rb := arrowRows(t, writeTemp(t, dir, "ours.parquet", ours.Bytes())), arrowRows(t, writeTemp(t, dir, "theirs.parquet", theirs.Bytes()))
			if len(ra) != bs.n || len(rb) != bs.n {
				t.Fatalf("rows: shredded %d, reflective %d, want %d", len(ra), len(rb), bs.n)
			}
			for i := range ra {
				if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
					t.Fatalf("row %d differs:\nshredded   %v\nreflective %v", i, ra[i], rb[i])
				}
			}
		})
	}
}

// reflective is the same rows written by parquet-go's reflective path (flow rows as VPCFlowRow).
func reflective(w writable) writable {
	switch r := w.(type) {
	case *rowsOf[CloudTrailRow]:
		return &rowsOf[CloudTrailRow]{def: newReflectiveTable[CloudTrailRow](TableSpec{}), rows: r.rows, keys: r.keys}
	case *rowsOf[ResolverRow]:
		return &rowsOf[ResolverRow]{def: newReflectiveTable[ResolverRow](TableSpec{}), rows: r.rows, keys: r.keys}
	case *rowsOf[findingCol]:
		return &rowsOf[findingCol]{def: newReflectiveTable[findingCol](TableSpec{}), rows: r.rows, keys: r.keys}
	case *rowsOf[integrityCol]:
		return &rowsOf[integrityCol]{def: newReflectiveTable[integrityCol](TableSpec{}), rows: r.rows, keys: r.keys}
	case *rowsOf[flowRow]:
		vr := make([]VPCFlowRow, len(r.rows))
		for i := range r.rows {
			vr[i] = r.rows[i].schemaRow()
		}
		return &rowsOf[VPCFlowRow]{def: newReflectiveTable[VPCFlowRow](TableSpec{}), rows: vr, keys: r.keys}
	}
	panic(fmt.Sprintf("no reflective twin for %T", w))
}

type shredInner struct {
	A *string  `parquet:"a,optional,dict"`
	B int32    `parquet:"b"`
	L []string `parquet:"l,optional,list"`
}

type shredEdge struct {
	T    time.Time         `parquet:"t,timestamp(millisecond)"`
	P    *time.Time        `parquet:"p,optional,timestamp(millisecond)"`
	S    string            `parquet:"s"`
	F    *float64          `parquet:"f,optional"`
	Ok   *bool             `parquet:"ok,optional"`
	N    *int64            `parquet:"n,optional"`
	Req  []string          `parquet:"req,list"`
	Opt  []shredInner      `parquet:"opt,optional,list"`
	Ptrs []*shredInner     `parquet:"ptrs,optional,list"`
	In   *shredInner       `parquet:"in,optional"`
	M    map[string]string `parquet:"m,optional"`
	RM   map[string]string `parquet:"rm"`
}

// TestShredEdgeCases covers what the tables' rows do not: empty versus nil lists and maps,
// required lists, lists of optional structs holding lists, NULL nested at every depth.
func TestShredEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func() int { return rng.IntN(3) }
	inner := func() shredInner {
		x := shredInner{B: int32(rng.IntN(5))}
		if pick() > 0 {
			x.A = ptr(fmt.Sprint("a", rng.IntN(4)))
		}
		switch pick() {
		case 1:
			x.L = []string{}
		case 2:
			x.L = []string{"x", fmt.Sprint(rng.IntN(9))}
		}
		return x
	}
	var rows []shredEdge
	var keys []sortKey
	in := &Input{id: "t"}
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 3000 {
		r := shredEdge{T: base.Add(time.Duration(rng.IntN(1e6)) * time.Millisecond), S: fmt.Sprint(i % 7)}
		if pick() > 0 {
			r.P, r.F, r.Ok, r.N = ptr(r.T.Add(time.Hour)), ptr(float64(i)/3), ptr(i%2 == 0), ptr(int64(i))
		}
		switch pick() {
		case 1:
			r.Req = []string{}
		case 2:
			r.Req = []string{"r1", "r2", "r3"}
		}
		switch pick() {
		case 1:
			r.Opt = []shredInner{}
			r.Ptrs = []*shredInner{}
		case 2:
			a, b := inner(), inner()
			r.Opt = []shredInner{a, b}
			r.Ptrs = []*shredInner{&a, nil, &b}
		}
		if pick() > 0 {
			x := inner()
			r.In = &x
		}
		switch pick() {
		case 1:
			r.M, r.RM = map[string]string{}, map[string]string{}
		case 2:
			r.M, r.RM = map[string]string{"k2": "v2", "k1": ""}, map[string]string{"z": "1", "a": "2"}
		}
		rows = append(rows, r)
		keys = append(keys, sortKey{t: r.T.UnixMilli(), in: in, ord: int64(i)})
	}
	if _, err := compileShredder(reflect.TypeFor[shredEdge](), parquet.SchemaOf(shredEdge{})); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: 4 << 10, rowGroupRows: 1 << 20}
	var ours, theirs bytes.Buffer
	if err := (&rowsOf[shredEdge]{def: NewTable[shredEdge](TableSpec{}), rows: rows, keys: keys}).write(&ours, cfg); err != nil {
		t.Fatal(err)
	}
	if err := (&rowsOf[shredEdge]{def: newReflectiveTable[shredEdge](TableSpec{}), rows: rows, keys: keys}).write(&theirs, cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ra, rb := arrowRows(t, writeTemp(t, dir, "ours.parquet", ours.Bytes())), arrowRows(t, writeTemp(t, dir, "theirs.parquet", theirs.Bytes()))
	if len(ra) != len(rows) || len(rb) != len(rows) {
		t.Fatalf("rows: shredded %d, reflective %d, want %d", len(ra), len(rb), len(rows))
	}
	for i := range ra {
		if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
			t.Fatalf("row %d differs:\nshredded   %v\nreflective %v", i, ra[i], rb[i])
		}
	}
}
