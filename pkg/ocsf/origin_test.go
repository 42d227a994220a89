package ocsf

import (
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
)

// TestPartitionAccountRule: a record account Security Lake cannot take (flow logs' "unknown", a
// 13-digit sample account) goes under the object's account, else "external"; the row keeps its own.
func TestPartitionAccountRule(t *testing.T) {
	day := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		record, object, want string
	}{
		{"111122223333", "444455556666", "111122223333"},
		{"unknown", "444455556666", "444455556666"},
		{"1234567890123", "444455556666", "444455556666"},
		{"", "444455556666", "444455556666"},
		{"unknown", "", "external"},
		{"external_partner-1", "444455556666", "external_partner-1"},
	} {
		f := &parse.FlowRecord{AccountID: c.record, Start: parse.OptInt64{V: day.Unix(), Valid: true}, Action: "ACCEPT", LogStatus: "OK", InterfaceID: "eni-1"}
		r, err := NetworkActivityOf(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := PartitionOf(r, Lineage{Account: c.object, Region: "eu-west-1"})
		if err != nil || p.Account != c.want || p.Region != "eu-west-1" {
			t.Errorf("record %q object %q: %+v %v, want account %s", c.record, c.object, p, err, c.want)
		}
		if r.Account() != c.record {
			t.Errorf("cloud.account.uid %q, want the record's %q", r.Account(), c.record)
		}
	}
	r, _ := NetworkActivityOf(&parse.FlowRecord{AccountID: "111122223333", Start: parse.OptInt64{V: day.Unix(), Valid: true}})
	if _, err := PartitionOf(r, Lineage{Region: "not a region"}); err == nil {
		t.Error("no usable region anywhere was accepted")
	}
}

// TestFromRecordIn: a flow record without start and end takes its object's delivery time, and a
// record without a region its key's.
func TestFromRecordIn(t *testing.T) {
	key := "AWSLogs/111122223333/vpcflowlogs/eu-west-2/2022/02/21/111122223333_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log.gz"
	obj := parse.Classify("archive", key)
	o := OriginOf(obj, time.Time{})
	if want := time.Date(2022, 2, 21, 19, 55, 0, 0, time.UTC); !o.Time.Equal(want) || o.Region != "eu-west-2" || o.Account != "111122223333" {
		t.Fatalf("origin %+v", o)
	}
	rec := &parse.Record{Source: parse.SourceVPCFlow, Flow: &parse.FlowRecord{InterfaceID: "eni-1", SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2", Action: "ACCEPT", LogStatus: "OK"}}
	if _, err := FromRecord(rec); err == nil {
		t.Error("FromRecord mapped a flow record without any time")
	}
	row, err := FromRecordIn(rec, o)
	if err != nil {
		t.Fatal(err)
	}
	r := row.(*NetworkActivity)
	if r.Time != o.Time.UnixMilli() || r.StartTime != nil || r.EndTime != nil || r.Unmapped["time_source"] != "object" {
		t.Errorf("time %d start %v end %v unmapped %v", r.Time, r.StartTime, r.EndTime, r.Unmapped)
	}
	if r.Region() != "eu-west-2" {
		t.Errorf("cloud.region %q, want the key's", r.Region())
	}
	if _, err := FromRecordIn(rec, Origin{Region: "eu-west-2"}); err == nil {
		t.Error("mapped a record with no time and no object time")
	}
	if got := OriginOf(parse.Classify("b", "local/custom.log"), o.Time); !got.Time.Equal(o.Time) {
		t.Errorf("fallback time %v", got.Time)
	}
}

// FuzzFlowObject: every record pkg/parse accepts from a flow-log object maps with FromRecordIn to a
// row with a partition under an AWS key (the key gives the Region, the account and the time), so
// the mapping never refuses a record halfway through an object.
func FuzzFlowObject(f *testing.F) {
	f.Add("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 unknown eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1418530010 1418530070 ACCEPT OK\n" +
		"2 1234567890123 eni-1 - - - - - - - 1418530010 1418530070 - NODATA\n")
	f.Add("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr\n- eni-1 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5\n")
	f.Add("version interface-id account-id type action log-status\n3 eni-3 123456789010 EFA ACCEPT OK\n")
	f.Fuzz(func(t *testing.T, body string) {
		obj := parse.Classify("archive", "AWSLogs/111122223333/vpcflowlogs/eu-west-2/2022/02/21/111122223333_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log")
		dec, err := parse.NewDecoder(obj, strings.NewReader(body), parse.Options{MaxRecordBytes: 1 << 16})
		if err != nil {
			return
		}
		o := OriginOf(obj, time.Time{})
		var rec parse.Record
		for {
			if err := dec.Next(&rec); err != nil {
				return
			}
			row, err := FromRecordIn(&rec, o)
			if err != nil {
				t.Fatalf("record %d %+v: %v", rec.Index, rec.Flow, err)
			}
			if _, err := PartitionOf(row, Lineage{Account: obj.Account, Region: obj.Region}); err != nil {
				t.Fatalf("record %d: %v", rec.Index, err)
			}
		}
	})
}
