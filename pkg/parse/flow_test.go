package parse

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestVPCFlowNewerFields: v7 (ECS), v8 (reject-reason), resource-id, encryption-status and a field
// this version does not know, in a custom order.
func TestVPCFlowNewerFields(t *testing.T) {
	header := "version flow-direction ecs-cluster-name ecs-task-id reject-reason resource-id encryption-status tgw-attachment-id srcport"
	body := header + "\n" +
		"8 egress my-cluster 0123abcd BPA nat-0abc 3 tgw-attach-1 443\n" +
		"10 ingress - - - - - - -\n"
	d, err := decodeAll(t, Classify("b", flowKey), strings.NewReader(body), Options{})
	if err != nil || len(d.recs) != 2 || d.bad != 0 {
		t.Fatalf("err %v, %d records, %d bad %v", err, len(d.recs), d.bad, d.errs)
	}
	a, b := d.recs[0].Flow, d.recs[1].Flow
	want := FlowRecord{
		Version: OptInt32{8, true}, FlowDirection: "egress", ECSClusterName: "my-cluster", ECSTaskID: "0123abcd",
		RejectReason: "BPA", ResourceID: "nat-0abc", EncryptionStatus: OptInt32{3, true},
		SrcPort: OptInt32{443, true}, Unmapped: map[string]string{"tgw-attachment-id": "tgw-attach-1"},
	}
	if fmt.Sprint(*a) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", *a, want)
	}
	if b.Version.V != 10 || b.ECSClusterName != "" || b.EncryptionStatus.Valid || b.SrcPort.Valid || b.Unmapped["tgw-attachment-id"] != "-" {
		t.Errorf("nulls: %+v", *b)
	}
}

type pqFlowRow struct {
	Version          *int32   `parquet:"version,optional"`
	AccountID        *string  `parquet:"account_id,optional"`
	SrcAddr          *string  `parquet:"srcaddr,optional"`
	SrcPort          *int32   `parquet:"srcport,optional"`
	Packets          *int64   `parquet:"packets,optional"`
	Start            *int64   `parquet:"start,optional"`
	Action           *string  `parquet:"action,optional"`
	TrafficPath      *float64 `parquet:"traffic_path,optional"`
	ECSClusterName   *string  `parquet:"ecs_cluster_name,optional"`
	EncryptionStatus *int32   `parquet:"encryption_status,optional"`
	TGWID            *string  `parquet:"tgw_id,optional"`
}

// TestVPCFlowParquetWritten writes a flow-log Parquet file with several row groups, nulls, a DOUBLE
// numeric (as pandas writes) and an unknown column, and reads it back.
func TestVPCFlowParquetWritten(t *testing.T) {
	const n = 1000
	rows := make([]pqFlowRow, n)
	for i := range rows {
		v, port, pk, st := int32(5), int32(i), int64(i*10), int64(1700000000+i)
		acct, addr, act, tgw := "111122223333", fmt.Sprintf("10.0.%d.%d", i/256, i%256), "ACCEPT", "tgw-1"
		tp, es, cl := float64(i%8+1), int32(i%4), "cluster"
		rows[i] = pqFlowRow{&v, &acct, &addr, &port, &pk, &st, &act, &tp, &cl, &es, &tgw}
		if i%7 == 0 { // nulls in every kind of column
			rows[i].SrcPort, rows[i].SrcAddr, rows[i].TrafficPath, rows[i].TGWID = nil, nil, nil, nil
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqFlowRow](&buf, parquet.MaxRowsPerRowGroup(300))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=01/day=01/f.log.parquet"
	d, err := decodeAll(t, Classify("b", key), bytes.NewReader(buf.Bytes()), Options{})
	if err != nil || d.bad != 0 {
		t.Fatalf("err %v, %d bad %v", err, d.bad, d.errs)
	}
	if len(d.recs) != n {
		t.Fatalf("%d records, want %d", len(d.recs), n)
	}
	for i, rec := range d.recs {
		f, r := rec.Flow, rows[i]
		if rec.Index != int64(i) || f.Version.V != 5 || f.AccountID != "111122223333" || f.Packets.V != *r.Packets || f.Start.V != *r.Start || f.Action != "ACCEPT" || f.ECSClusterName != "cluster" || f.EncryptionStatus.V != *r.EncryptionStatus {
			t.Fatalf("row %d: %+v", i, f)
		}
		if i%7 == 0 {
			if f.SrcPort.Valid || f.SrcAddr != "" || f.TrafficPath.Valid || f.Unmapped["tgw_id"] != "-" {
				t.Fatalf("row %d nulls: %+v", i, f)
			}
			continue
		}
		if f.SrcPort.V != *r.SrcPort || f.SrcAddr != *r.SrcAddr || f.TrafficPath.V != int32(*r.TrafficPath) || f.Unmapped["tgw_id"] != "tgw-1" {
			t.Fatalf("row %d: %+v", i, f)
		}
		wantRaw := fmt.Sprintf("5 111122223333 %s %d %d %d ACCEPT %d cluster %d tgw-1", *r.SrcAddr, *r.SrcPort, *r.Packets, *r.Start, int(*r.TrafficPath), *r.EncryptionStatus)
		if string(rec.Raw) != wantRaw {
			t.Fatalf("row %d Raw %q, want %q", i, rec.Raw, wantRaw)
		}
	}
}

func TestVPCFlowParquetNotFlow(t *testing.T) {
	type other struct {
		Name string `parquet:"name"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[other](&buf)
	if _, err := w.Write([]other{{"x"}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err := decodeAll(t, Classify("b", flowKey), bytes.NewReader(buf.Bytes()), Options{})
	if pe, ok := err.(*Error); !ok || pe.Class != ErrUnknownFormat {
		t.Errorf("err %v, want ErrUnknownFormat", err)
	}
	// Truncated Parquet: the footer is gone.
	data := buf.Bytes()
	_, err = decodeAll(t, Classify("b", flowKey), bytes.NewReader(data[:len(data)-20]), Options{})
	if pe, ok := err.(*Error); !ok || pe.Class != ErrSyntax {
		t.Errorf("err %v, want ErrSyntax", err)
	}
}

// TestVPCFlowParquetClaimsPastLimit: a small file whose columns claim to inflate past
// MaxInflatedBytes is refused before parquet-go reads (and allocates for) them.
func TestVPCFlowParquetClaimsPastLimit(t *testing.T) {
	type row struct {
		Action string `parquet:"action,zstd"`
	}
	rows := make([]row, 20000)
	for i := range rows {
		rows[i].Action = fmt.Sprintf("ACCEPT-%08d", i) // distinct (no dictionary), compressible
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	limit := int64(buf.Len()) * 2 // room for the file itself, not for what it claims to inflate to
	_, err := decodeAll(t, Classify("b", flowKey), bytes.NewReader(buf.Bytes()), Options{MaxInflatedBytes: limit})
	if pe, ok := err.(*Error); !ok || pe.Class != ErrTooLarge {
		t.Fatalf("file %d bytes, limit %d: err %v, want ErrTooLarge", buf.Len(), limit, err)
	}
	d, err := decodeAll(t, Classify("b", flowKey), bytes.NewReader(buf.Bytes()), Options{})
	if err != nil || len(d.recs) != len(rows) {
		t.Fatalf("default limit: err %v, %d records", err, len(d.recs))
	}
}
