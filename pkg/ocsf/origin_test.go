package ocsf

import (
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
