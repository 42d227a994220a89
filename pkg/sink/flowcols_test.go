package sink

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
)

// TestFlowColumnsMatchReflective writes the same flow rows through the vpcflow column encoder and
// through parquet-go's reflective writer of the schema struct (VPCFlowRow, the path the encoder
// replaced), with every column NULL or not at random, unmapped members on some rows and a first
// stretch of default-format rows, and reads both files back with pqarrow: every row must be
// identical.
func TestFlowColumnsMatchReflective(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := &Input{id: "t"}
	var rows []flowRow
	var keys []sortKey
	opt32 := func(v int32) parse.OptInt32 { return parse.OptInt32{V: v, Valid: rng.IntN(3) > 0} }
	opt64 := func(v int64) parse.OptInt64 { return parse.OptInt64{V: v, Valid: rng.IntN(3) > 0} }
	str := func(v string) string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return v
	}
	for i := range 2000 {
		f := parse.FlowRecord{Version: opt32(int32(rng.IntN(6))), AccountID: str(fmt.Sprint("1111222233", rng.IntN(40))),
			InterfaceID: str(fmt.Sprint("eni-", rng.IntN(500))), SrcAddr: str(fmt.Sprint("10.0.", rng.IntN(255), ".", rng.IntN(255))),
			DstAddr: str("198.51.100.7"), SrcPort: opt32(int32(rng.IntN(65536))), DstPort: opt32(0), Protocol: opt32(6),
			Packets: opt64(rng.Int64N(1000)), Bytes: opt64(rng.Int64N(1 << 40)), Start: opt64(1_700_000_000 + int64(rng.IntN(86400))),
			End: opt64(1_700_000_060 + int64(rng.IntN(86400))), Action: str("ACCEPT"), LogStatus: str("OK"),
			VPCID: str("vpc-1"), SubnetID: str("subnet-2"), InstanceID: str("i-3"), TCPFlags: opt32(int32(rng.IntN(64))),
			Type: str("IPv4"), PktSrcAddr: str("10.1.1.1"), PktDstAddr: str("10.2.2.2"), Region: str("us-east-1"),
			AZID: str("use1-az1"), SublocationType: str("wavelength"), SublocationID: str("wl-1"),
			PktSrcAWSService: str("S3"), PktDstAWSService: str("AMAZON"), FlowDirection: str("ingress"),
			TrafficPath: opt32(int32(rng.IntN(8))), ECSClusterARN: str("arn:aws:ecs:c"), ECSClusterName: str("c"),
			ECSContainerInstanceARN: str("arn:ci"), ECSContainerInstanceID: str("ci"), ECSContainerID: str("cid"),
			ECSSecondContainerID: str("cid2"), ECSServiceName: str("svc"), ECSTaskDefinitionARN: str("arn:td"),
			ECSTaskARN: str("arn:task"), ECSTaskID: str("task"), RejectReason: str("BPA"), ResourceID: str("r-1"),
			EncryptionStatus: opt32(int32(rng.IntN(3)))}
		if rng.IntN(4) == 0 {
			f.Unmapped = map[string]string{"zeta": fmt.Sprint(i), "alpha": "", "mid": "m"}
		}
		if i < 1100 {
			// Default-format rows, earliest in time: whole chunks without any custom column.
			f = parse.FlowRecord{Version: f.Version, AccountID: f.AccountID, InterfaceID: f.InterfaceID, SrcAddr: f.SrcAddr,
				DstAddr: f.DstAddr, SrcPort: f.SrcPort, DstPort: f.DstPort, Protocol: f.Protocol, Packets: f.Packets,
				Bytes: f.Bytes, Start: parse.OptInt64{V: 1_600_000_000 + int64(i), Valid: true}, End: f.End,
				Action: f.Action, LogStatus: f.LogStatus}
		}
		r := flowRowOf(Lineage{Bucket: "b", Key: fmt.Sprint("k", i/100), Index: int64(i % 100)}, &f)
		rows = append(rows, r)
		ms, ok := r.startMillis()
		if !ok {
			ms = 1 << 50 // the sink sorts a row without a time at processing time: after the others
		}
		keys = append(keys, sortKey{t: ms, in: in, ord: int64(i)})
	}
	schemaRows := make([]VPCFlowRow, len(rows))
	for i := range rows {
		schemaRows[i] = rows[i].schemaRow()
	}
	cfg := writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: 16 << 10, rowGroupRows: 1 << 20}
	var ours, theirs bytes.Buffer
	cols := &rowsOf[flowRow]{def: newFlowTable(TableSpec{Name: "vpcflow"}), rows: rows, keys: keys}
	if err := cols.write(&ours, cfg); err != nil {
		t.Fatal(err)
	}
	refl := &rowsOf[VPCFlowRow]{def: newReflectiveTable[VPCFlowRow](TableSpec{Name: "vpcflow"}), rows: schemaRows, keys: keys}
	if err := refl.write(&theirs, cfg); err != nil {
		t.Fatal(err)
	}
	// Every column chunk holds as many values (levels) as the reference's: pqarrow reads a map
	// whose value column lacks the levels of entry-less rows without complaint.
	fo, err := parquet.OpenFile(bytes.NewReader(ours.Bytes()), int64(ours.Len()))
	if err != nil {
		t.Fatal(err)
	}
	ft, err := parquet.OpenFile(bytes.NewReader(theirs.Bytes()), int64(theirs.Len()))
	if err != nil {
		t.Fatal(err)
	}
	mo, mt := fo.Metadata(), ft.Metadata()
	if len(mo.RowGroups) != len(mt.RowGroups) {
		t.Fatalf("row groups: column encoder %d, reflective %d", len(mo.RowGroups), len(mt.RowGroups))
	}
	for g := range mo.RowGroups {
		for c := range mo.RowGroups[g].Columns {
			o, r := mo.RowGroups[g].Columns[c].MetaData, mt.RowGroups[g].Columns[c].MetaData
			if o.NumValues != r.NumValues {
				t.Errorf("row group %d column %v: %d values, reflective %d", g, o.PathInSchema, o.NumValues, r.NumValues)
			}
		}
	}
	dir := t.TempDir()
	ra, rb := arrowRows(t, writeTemp(t, dir, "ours.parquet", ours.Bytes())), arrowRows(t, writeTemp(t, dir, "theirs.parquet", theirs.Bytes()))
	if len(ra) != len(rows) || len(rb) != len(rows) {
		t.Fatalf("rows: column encoder %d, reflective %d, want %d", len(ra), len(rb), len(rows))
	}
	nonEmpty := 0
	for i := range ra {
		if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
			t.Fatalf("row %d differs:\ncolumns    %v\nreflective %v", i, ra[i], rb[i])
		}
		if m, _ := ra[i]["unmapped"].([]any); len(m) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		t.Error("no row read back with unmapped members")
	}
}

// TestSortOrderMatchesCompareKeys: the packed sort orders rows exactly as compareKeys does,
// on keys with many equal times, several inputs (two sharing an id) in runs, and runs out of order.
func TestSortOrderMatchesCompareKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for round := range 100 {
		// Every other round two inputs share an id (the path through compareKeys).
		ins := []*Input{{id: "b"}, {id: "a"}, {id: "c"}, {id: "d"}}
		if round%2 == 1 {
			ins[3].id = "a"
		}
		ords := map[*Input]int64{}
		var keys []sortKey
		for range 1 + rng.IntN(6) {
			in := ins[rng.IntN(len(ins))]
			base := rng.Int64N(20)
			for j := range rng.IntN(300) {
				keys = append(keys, sortKey{t: (base + rng.Int64N(5) + int64(j/50)) * 1000, in: in, ord: ords[in]})
				ords[in]++
			}
		}
		want := make([]int32, len(keys))
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return compareKeys(&keys[a], &keys[b]) })
		got := make([]int32, len(keys))
		sortOrder(keys, got, nil)
		for i := range got {
			if compareKeys(&keys[got[i]], &keys[want[i]]) != 0 || (i > 0 && compareKeys(&keys[got[i-1]], &keys[got[i]]) > 0) {
				t.Fatalf("round %d: row %d is key %+v, want %+v", round, i, keys[got[i]], keys[want[i]])
			}
		}
	}
}
