package parse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// decoded is everything a decoder yielded for one object.
type decoded struct {
	recs []Record // Raw copied, since decoders reuse their buffer
	bad  int64
	errs []*Error
}

func decodeAll(tb testing.TB, obj Object, r io.Reader, opts Options) (decoded, error) {
	tb.Helper()
	dec, err := NewDecoder(obj, r, opts)
	return drain(dec, err)
}

// drain reads every record of dec (made with error err), copying Raw.
func drain(dec Decoder, err error) (decoded, error) {
	var out decoded
	if err != nil {
		return out, err
	}
	for {
		var rec Record
		err := dec.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			out.bad, out.errs = dec.(BadRecordReporter).BadRecords()
			return out, err
		}
		rec.Raw = append([]byte(nil), rec.Raw...)
		out.recs = append(out.recs, rec)
	}
	out.bad, out.errs = dec.(BadRecordReporter).BadRecords()
	return out, nil
}

func decodeFile(t *testing.T, key, path string) decoded {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := decodeAll(t, Classify("archive", key), f, Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.bad != 0 {
		t.Fatalf("%s: %d bad records, first %v", path, d.bad, d.errs[0])
	}
	return d
}

// sourcesTable reads a markdown table from SOURCES.md: the rows after the first line starting with
// heading, as cells.
func sourcesTable(t *testing.T, heading string) [][]string {
	t.Helper()
	f, err := os.Open(samples.Samples(t, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !in {
			in = strings.HasPrefix(line, heading)
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") || cells[0] == "file" {
			continue
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatalf("table %q not found in SOURCES.md", heading)
	}
	return rows
}

// TestCloudTrailInvictus decodes the 55 real log files: per-file counts and dataset facts from
// SOURCES.md, and every record equal to what encoding/json makes of it.
func TestCloudTrailInvictus(t *testing.T) {
	dir := samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset")
	rows := sourcesTable(t, "## Per-file record counts: cloudtrail/invictus-ir-aws_dataset/")
	if len(rows) != 55 {
		t.Fatalf("SOURCES.md lists %d files, want 55", len(rows))
	}
	var (
		total, noType, noRequestID, nullParams, nullResp, opIP, signIn, svcEvent int
		versions                                                                 = map[string]int{}
	)
	for _, row := range rows {
		name := row[0]
		want, err := strconv.Atoi(row[2])
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		key := "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + name
		d := decodeFile(t, key, path)
		if len(d.recs) != want {
			t.Errorf("%s: %d records, SOURCES.md says %d", name, len(d.recs), want)
		}
		// Differential check against encoding/json.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var ref []*CloudTrailEvent
		if err := refDecodeCloudTrail(f, func(ev *CloudTrailEvent) { ref = append(ref, ev) }); err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		f.Close()
		if len(ref) != len(d.recs) {
			t.Fatalf("%s: encoding/json finds %d records, decoder %d", name, len(ref), len(d.recs))
		}
		for i, rec := range d.recs {
			if rec.Source != SourceCloudTrail || rec.Index != int64(i) {
				t.Fatalf("%s record %d: source %v index %d", name, i, rec.Source, rec.Index)
			}
			if !reflect.DeepEqual(rec.CloudTrail, ref[i]) {
				t.Fatalf("%s record %d differs from encoding/json:\n got %+v\nwant %+v", name, i, rec.CloudTrail, ref[i])
			}
			var probe refEvent
			if err := json.Unmarshal(rec.Raw, &probe); err != nil || probe.EventID != rec.CloudTrail.EventID {
				t.Fatalf("%s record %d: Raw is not the record's JSON object (%v)", name, i, err)
			}
			ev := rec.CloudTrail
			versions[ev.EventVersion]++
			if ev.UserIdentity != nil && ev.UserIdentity.Type == "" {
				noType++
			}
			if ev.RequestID == "" {
				noRequestID++
			}
			if ev.RequestParameters == nil {
				nullParams++
			}
			if ev.ResponseElements == nil {
				nullResp++
			}
			if ev.SourceIPAddress == "192.168.10.20" {
				opIP++
			}
			switch ev.EventType {
			case "AwsConsoleSignIn":
				signIn++
			case "AwsServiceEvent":
				svcEvent++
			}
			if rec.Account() != "123837392027" || rec.Region() != "us-east-1" {
				t.Fatalf("%s record %d: account %q region %q", name, i, rec.Account(), rec.Region())
			}
		}
		total += len(d.recs)
	}
	// Facts stated in SOURCES.md for the whole dataset.
	checks := []struct {
		what      string
		got, want int
	}{
		{"records", total, 2900},
		{"userIdentity without type", noType, 42},
		{"records without requestID", noRequestID, 5},
		{"null requestParameters", nullParams, 333},
		{"null responseElements", nullResp, 2573},
		{"sourceIPAddress 192.168.10.20", opIP, 2154},
		{"AwsConsoleSignIn", signIn, 3},
		{"AwsServiceEvent", svcEvent, 42},
		{"eventVersion 1.08 + 1.09", versions["1.08"] + versions["1.09"], 2900},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, SOURCES.md says %d", c.what, c.got, c.want)
		}
	}
}

// TestCloudTrailOCSFInputs decodes the 21 gzip single-record files and checks them against the table
// in SOURCES.md.
func TestCloudTrailOCSFInputs(t *testing.T) {
	dir := samples.Samples(t, "cloudtrail", "aws-samples-ocsf-validation")
	rows := sourcesTable(t, "### cloudtrail/aws-samples-ocsf-validation/")
	if len(rows) != 21 {
		t.Fatalf("SOURCES.md lists %d files, want 21", len(rows))
	}
	for _, row := range rows {
		file, eventName, identity, version := row[0], row[1], row[2], row[3]
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != 0x1f || raw[1] != 0x8b {
				t.Fatalf("sample is not gzip")
			}
			// Their keys were never CloudTrail keys: content sniffing decides.
			d, err := decodeAll(t, Classify("archive", "samples/"+file), bytes.NewReader(raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.recs) != 1 {
				t.Fatalf("%d records, want 1", len(d.recs))
			}
			ev := d.recs[0].CloudTrail
			if ev.EventName != eventName || ev.UserIdentity == nil || ev.UserIdentity.Type != identity || ev.EventVersion != version {
				t.Errorf("got %s/%v/%s, SOURCES.md says %s/%s/%s", ev.EventName, ev.UserIdentity, ev.EventVersion, eventName, identity, version)
			}
			if ev.EventTime.IsZero() || ev.EventID == "" {
				t.Errorf("eventTime %v eventID %q", ev.EventTime, ev.EventID)
			}
			notes := row[4]
			if strings.Contains(notes, "errorMessage without errorCode") && (ev.ErrorCode != "" || ev.ErrorMessage == "") {
				t.Errorf("errorCode %q errorMessage %q", ev.ErrorCode, ev.ErrorMessage)
			}
			if strings.Contains(notes, "errorCode ") {
				want := strings.Fields(notes[strings.Index(notes, "errorCode ")+len("errorCode "):])[0]
				want = strings.TrimRight(want, ";,")
				if ev.ErrorCode != want {
					t.Errorf("errorCode %q, SOURCES.md says %q", ev.ErrorCode, want)
				}
			}
			if strings.Contains(notes, "no recipientAccountId") && ev.RecipientAccountID != "" {
				t.Errorf("recipientAccountId %q", ev.RecipientAccountID)
			}
			if strings.Contains(notes, "accessKeyId: \"\"") && ev.UserIdentity.AccessKeyID != "" {
				t.Errorf("accessKeyId %q", ev.UserIdentity.AccessKeyID)
			}
		})
	}
}

func TestCloudTrailDocs(t *testing.T) {
	dir := samples.Samples(t, "cloudtrail", "awsdocs")
	t.Run("eventVersion 1.0", func(t *testing.T) {
		d := decodeFile(t, "AWSLogs/777788889999/CloudTrail/us-east-2/2014/03/06/x.json.gz", filepath.Join(dir, "ec2-StartInstances.json"))
		if len(d.recs) != 1 {
			t.Fatalf("%d records", len(d.recs))
		}
		ev := d.recs[0].CloudTrail
		if ev.EventVersion != "1.0" || ev.UserIdentity.Type != "IAMUser" || ev.EventID != "" || ev.EventType != "" || ev.RequestID != "" || ev.RecipientAccountID != "" {
			t.Errorf("got %+v", ev)
		}
		if ev.EventName != "StartInstances" || ev.EventTime.IsZero() {
			t.Errorf("eventName %q time %v", ev.EventName, ev.EventTime)
		}
	})
	t.Run("error code", func(t *testing.T) {
		d := decodeFile(t, "AWSLogs/777788889999/CloudTrail/us-east-2/2014/03/06/x.json.gz", filepath.Join(dir, "error-code-UpdateTrail.json"))
		ev := d.recs[0].CloudTrail
		if len(d.recs) != 1 || ev.EventVersion != "1.04" || ev.ErrorCode != "TrailNotFoundException" || ev.ErrorMessage == "" {
			t.Errorf("got %d records, %+v", len(d.recs), ev)
		}
	})
	t.Run("insights", func(t *testing.T) {
		d := decodeFile(t, "AWSLogs/o-exampleorgid/123456789012/CloudTrail-Insight/us-east-1/2019/11/14/x.json.gz",
			filepath.Join(dir, "insights-start-end-UpdateInstanceInformation.json"))
		if len(d.recs) != 2 {
			t.Fatalf("%d records, want 2", len(d.recs))
		}
		var states []string
		for _, rec := range d.recs {
			ev := rec.CloudTrail
			if rec.Source != SourceInsight || ev.UserIdentity != nil || ev.EventSource != "" || ev.EventName != "" || ev.EventType != "AwsCloudTrailInsight" || ev.EventCategory != "Insight" {
				t.Errorf("record %d: %v %+v", rec.Index, rec.Source, ev)
			}
			var det struct {
				State          string
				InsightContext struct{ Statistics map[string]json.RawMessage }
			}
			if err := json.Unmarshal(ev.InsightDetails, &det); err != nil {
				t.Fatal(err)
			}
			states = append(states, det.State)
			_, hasDuration := det.InsightContext.Statistics["insightDuration"]
			if hasDuration != (det.State == "End") {
				t.Errorf("state %s: insightDuration present %v", det.State, hasDuration)
			}
		}
		if strings.Join(states, ",") != "Start,End" || d.recs[0].CloudTrail.SharedEventID != d.recs[1].CloudTrail.SharedEventID {
			t.Errorf("states %v, sharedEventIDs %q %q", states, d.recs[0].CloudTrail.SharedEventID, d.recs[1].CloudTrail.SharedEventID)
		}
	})
	t.Run("insights by content", func(t *testing.T) {
		// A record's own eventType marks it an Insight even under a plain key.
		d := decodeFile(t, "exports/insights.json", filepath.Join(dir, "insights-start-end-UpdateInstanceInformation.json"))
		if len(d.recs) != 2 || d.recs[0].Source != SourceInsight {
			t.Errorf("%d records, source %v", len(d.recs), d.recs[0].Source)
		}
	})
}

func TestVPCFlowText(t *testing.T) {
	type check func(t *testing.T, recs []Record)
	countBy := func(recs []Record, f func(*FlowRecord) string) map[string]int {
		m := map[string]int{}
		for _, r := range recs {
			m[f(r.Flow)]++
		}
		return m
	}
	action := func(f *FlowRecord) string { return f.Action }
	tests := []struct {
		file  string
		n     int
		check check
	}{
		{"sekoia-automation-library/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log", 5, func(t *testing.T, recs []Record) {
			if m := countBy(recs, action); m["REJECT"] != 3 || m["ACCEPT"] != 2 {
				t.Errorf("actions %v", m)
			}
			if m := countBy(recs, func(f *FlowRecord) string { return strconv.Itoa(int(f.Protocol.V)) }); m["6"] == 0 || m["17"] == 0 {
				t.Errorf("protocols %v, want TCP and UDP", m)
			}
		}},
		{"sekoia-automation-library/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T2025Z_55a7d2af.log", 5, func(t *testing.T, recs []Record) {
			if m := countBy(recs, action); m["REJECT"] != 5 {
				t.Errorf("actions %v", m)
			}
		}},
		{"awsdocs/default-v2-examples.log", 7, func(t *testing.T, recs []Record) {
			st := countBy(recs, func(f *FlowRecord) string { return f.LogStatus })
			if st["NODATA"] != 1 || st["SKIPDATA"] != 1 || st["OK"] != 5 {
				t.Errorf("log-status %v", st)
			}
			for _, r := range recs {
				f := r.Flow
				if f.LogStatus != "OK" && (f.SrcAddr != "" || f.SrcPort.Valid || f.Packets.Valid || f.Action != "" || !f.Start.Valid) {
					t.Errorf("%s record: '-' fields not null: %+v", f.LogStatus, f)
				}
				if !f.Version.Valid || f.Version.V != 2 || f.AccountID != "123456789010" {
					t.Errorf("version %v account %q", f.Version, f.AccountID)
				}
			}
			first := recs[0].Flow
			if first.SrcAddr != "172.31.16.139" || first.DstPort.V != 22 || first.Packets.V != 20 || first.Bytes.V != 4249 || first.Start.V != 1418530010 || first.Action != "ACCEPT" {
				t.Errorf("first record %+v", first)
			}
			if string(recs[0].Raw) != "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK" {
				t.Errorf("Raw %q", recs[0].Raw)
			}
			if !strings.Contains(countKeys(countBy(recs, func(f *FlowRecord) string { return f.SrcAddr })), ":") {
				t.Errorf("no IPv6 source address")
			}
		}},
		{"awsdocs/custom-v3-tcp-flag-sequence.log", 8, func(t *testing.T, recs []Record) {
			flags := countBy(recs, func(f *FlowRecord) string { return strconv.Itoa(int(f.TCPFlags.V)) })
			for _, want := range []string{"2", "18", "1", "3", "19"} {
				if flags[want] == 0 {
					t.Errorf("tcp-flags %v lacks %s", flags, want)
				}
			}
			f := recs[0].Flow
			if f.Version.V != 3 || f.AccountID != "123456789010" || f.Bytes.V != 568 || f.Packets.V != 8 || f.Type != "IPv4" {
				t.Errorf("first record %+v (bytes come before packets in this format)", f)
			}
		}},
		{"awsdocs/custom-nat-gateway-eni.log", 4, func(t *testing.T, recs []Record) {
			for _, r := range recs {
				f := r.Flow
				if f.Version.Valid || f.Action != "" || f.LogStatus != "" || f.InstanceID != "" || f.InterfaceID != "eni-1235b8ca123456789" || f.PktSrcAddr == "" {
					t.Errorf("%+v", f)
				}
			}
		}},
		{"awsdocs/custom-v3-transit-gateway-vpc-b.log", 4, func(t *testing.T, recs []Record) {
			managed := 0
			for _, r := range recs {
				if r.Flow.InstanceID == "" {
					managed++
				}
			}
			if managed != 2 {
				t.Errorf("%d records without instance-id, want 2", managed)
			}
		}},
		{"awsdocs/custom-v5-service-path-direction.log", 2, func(t *testing.T, recs []Record) {
			in, out := recs[0].Flow, recs[1].Flow
			if in.FlowDirection != "ingress" || out.FlowDirection != "egress" {
				t.Fatalf("directions %q %q", in.FlowDirection, out.FlowDirection)
			}
			if in.TrafficPath.Valid || !out.TrafficPath.Valid || out.TrafficPath.V != 8 {
				t.Errorf("traffic-path %v %v", in.TrafficPath, out.TrafficPath)
			}
			if in.PktSrcAWSService != "S3" || out.PktDstAWSService != "S3" || in.SublocationType != "" || in.Region != "ap-southeast-2" || in.AZID != "apse2-az3" {
				t.Errorf("%+v / %+v", in, out)
			}
			if recs[0].Region() != "ap-southeast-2" || recs[0].Time().Unix() != 1616729292 {
				t.Errorf("Region %q Time %v", recs[0].Region(), recs[0].Time())
			}
		}},
	}
	dir := samples.Samples(t, "vpcflow")
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			d := decodeFile(t, "AWSLogs/123456789010/vpcflowlogs/eu-west-2/2022/02/21/"+filepath.Base(tc.file)+".gz", filepath.Join(dir, tc.file))
			if len(d.recs) != tc.n {
				t.Fatalf("%d records, want %d", len(d.recs), tc.n)
			}
			for i, r := range d.recs {
				if r.Source != SourceVPCFlow || r.Index != int64(i) || r.Flow == nil {
					t.Fatalf("record %d: %+v", i, r)
				}
			}
			tc.check(t, d.recs)
		})
	}
}

func countKeys(m map[string]int) string {
	var b strings.Builder
	for k := range m {
		b.WriteString(k + " ")
	}
	return b.String()
}

func TestVPCFlowParquet(t *testing.T) {
	dir := samples.Samples(t, "vpcflow")
	t.Run("AWS-written", func(t *testing.T) {
		name := "111111111111_vpcflowlogs_eu-west-3_fl-032a163fae170ae52_20220831T1255Z_2ad4bef5.parquet"
		key := "AWSLogs/aws-account-id=111111111111/aws-service=vpcflowlogs/aws-region=eu-west-3/year=2022/month=08/day=31/" + name
		d := decodeFile(t, key, filepath.Join(dir, "sekoia-automation-library", name))
		if len(d.recs) != 7 {
			t.Fatalf("%d rows, want 7", len(d.recs))
		}
		actions := map[string]int{}
		for _, r := range d.recs {
			f := r.Flow
			actions[f.Action]++
			if !f.Version.Valid || f.Version.V != 2 || f.AccountID != "111111111111" || f.InterfaceID == "" || f.LogStatus == "" || !f.Start.Valid {
				t.Errorf("row %d: %+v", r.Index, f)
			}
			// Raw is the rebuilt v2 line: 14 space-separated fields that decode to the same record.
			fields := strings.Fields(string(r.Raw))
			if len(fields) != 14 || fields[1] != f.AccountID || fields[12] != f.Action {
				t.Errorf("row %d Raw %q", r.Index, r.Raw)
			}
		}
		if actions["ACCEPT"] != 4 || actions["REJECT"] != 3 {
			t.Errorf("actions %v, want 4 ACCEPT 3 REJECT", actions)
		}
	})
	lenient := []struct {
		file  string
		check func(t *testing.T, f *FlowRecord)
	}{
		{"vpc_flow-input0.json.parquet", func(t *testing.T, f *FlowRecord) {
			if f.FlowDirection != "ingress" || f.Action != "REJECT" || f.TrafficPath.Valid {
				t.Errorf("%+v", f)
			}
		}},
		{"vpc_flow-input1.json.parquet", func(t *testing.T, f *FlowRecord) {
			if f.FlowDirection != "egress" || f.Action != "ACCEPT" {
				t.Errorf("%+v", f)
			}
		}},
		{"vpc_flow-input2.json.parquet", func(t *testing.T, f *FlowRecord) {
			if f.FlowDirection != "egress" || f.Action != "ACCEPT" || f.SrcAddr == f.PktSrcAddr || f.DstAddr == f.PktDstAddr || f.PktSrcAddr == "" {
				t.Errorf("%+v", f)
			}
		}},
		{"vpc_flow-input3.parquet", func(t *testing.T, f *FlowRecord) {
			if f.LogStatus != "NODATA" || f.AccountID != "374946600775" || f.SrcPort.Valid || f.Packets.Valid || f.SrcAddr != "" || !f.Version.Valid || f.Version.V != 5 {
				t.Errorf("%+v", f)
			}
		}},
	}
	for _, tc := range lenient {
		t.Run(tc.file, func(t *testing.T) {
			key := "AWSLogs/374946600775/vpcflowlogs/us-east-1/2023/01/01/" + tc.file
			d := decodeFile(t, key, filepath.Join(dir, "aws-samples-ocsf-validation", tc.file))
			if len(d.recs) != 1 {
				t.Fatalf("%d rows, want 1", len(d.recs))
			}
			tc.check(t, d.recs[0].Flow)
		})
	}
}

func TestResolverSamples(t *testing.T) {
	dir := samples.Samples(t, "route53-resolver")
	tests := []struct {
		file                 string
		rcode, action, qtype string
	}{
		{"aws-samples-ocsf-validation/route53-inputs0.json.gz", "NOERROR", "ALERT", "A"},
		{"aws-samples-ocsf-validation/route53-inputs1.json.gz", "REFUSED", "BLOCK", "A"},
		{"aws-samples-ocsf-validation/route53-inputs2.json.gz", "SERVFAIL", "ALERT", "A"},
		{"aws-samples-ocsf-validation/route53-inputs3.json.gz", "NOERROR", "BLOCK", "PTR"},
		{"awsdocs/resolver-query-log-example.json", "NOERROR", "BLOCK", "PTR"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			key := "AWSLogs/111122223333/vpcdnsquerylogs/vpc-7example/2021/02/04/vpc-7example_vpcdnsquerylogs_111122223333_20210204T1750Z_abcd.log.gz"
			d := decodeFile(t, key, filepath.Join(dir, tc.file))
			if len(d.recs) != 1 {
				t.Fatalf("%d records, want 1", len(d.recs))
			}
			q := d.recs[0].DNS
			if q.RCode != tc.rcode || q.FirewallRuleAction != tc.action || q.QueryType != tc.qtype {
				t.Errorf("rcode %s action %s type %s", q.RCode, q.FirewallRuleAction, q.QueryType)
			}
			if q.Version != "1.100000" || !q.SrcPort.Valid || q.QueryTimestamp.IsZero() || q.QueryClass != "IN" || q.Transport != "UDP" || q.FirewallRuleGroupID == "" || q.FirewallDomainListID == "" || len(q.Answers) != 1 || q.Unmapped != nil {
				t.Errorf("%+v", q)
			}
			if tc.qtype == "PTR" {
				if q.QueryName != "15.3.4.32.in-addr.arpa." || q.SrcPort.V != 56067 || q.SrcIDs.Instance != "i-0d15cd0d3example" || q.Answers[0] != (ResolverAnswer{"203.0.113.9", "PTR", "IN"}) || q.AccountID != "111122223333" {
					t.Errorf("%+v", q)
				}
			} else if q.SrcIDs.ResolverEndpoint == "" || q.SrcIDs.ResolverNetworkInterface == "" || q.SrcIDs.Instance != "" || q.QueryName != "ip-127-0-0-62.alert.firewall.canary." {
				t.Errorf("srcids %+v", q.SrcIDs)
			}
			var m map[string]any
			if err := json.Unmarshal(d.recs[0].Raw, &m); err != nil || m["query_name"] != q.QueryName {
				t.Errorf("Raw is not the record's JSON (%v)", err)
			}
		})
	}
}

func TestResolverQuirks(t *testing.T) {
	lines := `{"version":"1.100000","account_id":"111122223333","region":"eu-west-1","vpc_id":"vpc-1","query_timestamp":"2024-05-01T10:00:25.177Z","query_name":"example.com","query_type":"AAAA","query_class":"IN","rcode":"NXDOMAIN","answers":[],"srcaddr":"10.0.0.1","srcport":"53000","transport":"TCP","srcids":{},"firewall_protection":"DGA","new_thing":{"a":[1,2]},"other":"x\"y"}
not json at all
{"version":"1.100000","query_timestamp":"2024-05-01T10:00:26Z","srcport":5353,"answers":[{"Rdata":"a.example.","Type":"CNAME","Class":"IN"},{"Rdata":"192.0.2.1","Type":"A","Class":"IN"}]}
{"version":"1.1","query_timestamp":"yesterday"}
`
	d, err := decodeAll(t, Classify("b", "AWSLogs/111122223333/vpcdnsquerylogs/vpc-1/2024/05/01/f.log.gz"), strings.NewReader(lines), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.recs) != 2 || d.bad != 2 {
		t.Fatalf("%d records, %d bad (%v)", len(d.recs), d.bad, d.errs)
	}
	if d.errs[0].Line != 2 || d.errs[1].Line != 4 || d.errs[0].Class != ErrBadRecord {
		t.Errorf("bad lines at %d and %d, want 2 and 4", d.errs[0].Line, d.errs[1].Line)
	}
	q := d.recs[0].DNS
	if q.QueryTimestamp.Nanosecond() != 177e6 || q.SrcPort.V != 53000 || q.Answers != nil || q.SrcIDs != (ResolverSrcIDs{}) || q.FirewallProtection != "DGA" {
		t.Errorf("%+v", q)
	}
	var unm map[string]any
	if err := json.Unmarshal(q.Unmapped, &unm); err != nil || len(unm) != 2 || unm["other"] != `x"y` {
		t.Errorf("Unmapped %s (%v)", q.Unmapped, err)
	}
	q2 := d.recs[1].DNS
	if d.recs[1].Index != 2 || q2.SrcPort.V != 5353 || len(q2.Answers) != 2 || q2.Answers[0].Type != "CNAME" {
		t.Errorf("index %d, %+v", d.recs[1].Index, q2)
	}
}

// TestContentDecidesUnknownKeys: a key outside the known layouts is decided by its bytes.
func TestContentDecidesUnknownKeys(t *testing.T) {
	tests := []struct {
		name, body string
		want       Source
		wantClass  ErrorClass
	}{
		{"cloudtrail", `{"Records":[{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z"}]}`, SourceCloudTrail, ""},
		{"resolver", `{"version":"1.100000","query_timestamp":"2024-01-01T00:00:00Z"}` + "\n", SourceResolver, ""},
		{"flow", "version srcaddr\n2 10.0.0.1\n", SourceVPCFlow, ""},
		{"digest", `{"awsAccountId":"1","digestStartTime":"x"}`, 0, ErrUnknownFormat},
		{"other JSON", `{"foo":1}`, 0, ErrUnknownFormat},
		{"other text", "hello world\n", 0, ErrUnknownFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeAll(t, Classify("b", "random/"+tc.name), strings.NewReader(tc.body), Options{})
			if tc.wantClass != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.Class != tc.wantClass {
					t.Fatalf("err %v, want class %s", err, tc.wantClass)
				}
				return
			}
			if err != nil || len(d.recs) != 1 || d.recs[0].Source != tc.want {
				t.Fatalf("err %v, %d records", err, len(d.recs))
			}
		})
	}
}
