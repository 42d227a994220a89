package sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// The tests in this file write real sample logs through the sink and read every table back with
// Arrow's pqarrow (an independent Parquet implementation). Expected values come from the sample
// bytes themselves (encoding/json maps, flow-log header tokens), not from the sink's converters.

const srcBucket = "org-log-archive"

type sampleObject struct {
	key  string // S3 key in the layout AWS uses, so parse.Classify routes it
	body []byte // as stored (gzip or not)
}

func readSample(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inflate(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func cloudTrailSamples(t *testing.T) []sampleObject {
	t.Helper()
	var objs []sampleObject
	dir := samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset")
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range names {
		n := filepath.Base(p)
		objs = append(objs, sampleObject{"AWSLogs/o-exampleorg1/218007301253/CloudTrail/us-east-1/2023/07/10/" + n, readSample(t, p)})
	}
	gz, _ := filepath.Glob(filepath.Join(samples.Samples(t, "cloudtrail", "aws-samples-ocsf-validation"), "*", "*.test.gz"))
	for _, p := range gz {
		n := strings.TrimSuffix(filepath.Base(p), ".test.gz")
		objs = append(objs, sampleObject{"AWSLogs/111122223333/CloudTrail/us-east-1/2023/02/03/111122223333_CloudTrail_us-east-1_20230203T0000Z_" + n + ".json.gz", readSample(t, p)})
	}
	docs, _ := filepath.Glob(filepath.Join(samples.Samples(t, "cloudtrail", "awsdocs"), "*.json"))
	for _, p := range docs {
		n := strings.TrimSuffix(filepath.Base(p), ".json")
		kind := "CloudTrail"
		if strings.HasPrefix(n, "insights") {
			kind = "CloudTrail-Insight"
		}
		objs = append(objs, sampleObject{"AWSLogs/123456789012/" + kind + "/us-east-1/2019/11/14/123456789012_" + kind + "_us-east-1_20191114T0000Z_" + n + ".json", readSample(t, p)})
	}
	if len(objs) < 79 {
		t.Fatalf("found %d CloudTrail samples, SOURCES.md lists 79", len(objs))
	}
	return objs
}

func flowTextSamples(t *testing.T) []sampleObject {
	t.Helper()
	var objs []sampleObject
	for _, sub := range []string{"awsdocs", "sekoia-automation-library"} {
		names, _ := filepath.Glob(filepath.Join(samples.Samples(t, "vpcflow", sub), "*.log"))
		for _, p := range names {
			n := strings.TrimSuffix(filepath.Base(p), ".log")
			if !strings.Contains(n, "_vpcflowlogs_") {
				n = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20210326T0000Z_" + n
			}
			objs = append(objs, sampleObject{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/03/26/" + n + ".log", readSample(t, p)})
		}
	}
	if len(objs) != 7 {
		t.Fatalf("found %d text flow-log samples, want 7", len(objs))
	}
	return objs
}

func resolverSamples(t *testing.T) []sampleObject {
	t.Helper()
	var objs []sampleObject
	names, _ := filepath.Glob(filepath.Join(samples.Samples(t, "route53-resolver"), "*", "*.json*"))
	for _, p := range names {
		n := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".gz"), ".json")
		objs = append(objs, sampleObject{"AWSLogs/123456789012/vpcdnsquerylogs/vpc-00000000000000000/2022/10/13/vpc-00000000000000000_vpcdnsquerylogs_123456789012_20221013T2100Z_" + n + ".log.gz", readSample(t, p)})
	}
	if len(objs) != 5 {
		t.Fatalf("found %d Resolver samples, want 5", len(objs))
	}
	return objs
}

// ingest decodes each object with pkg/parse and adds its records through one Input per object.
// It returns the number of records per key.
func ingest(t *testing.T, s *Sink, objs []sampleObject) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, o := range objs {
		n, err := addObject(context.Background(), s, o)
		if err != nil {
			t.Fatal(err)
		}
		counts[o.key] += n
	}
	return counts
}

// addObject decodes one object and adds its records through one input, returning how many it
// added. It returns an error rather than failing the test so that goroutines can call it.
func addObject(ctx context.Context, s *Sink, o sampleObject) (int, error) {
	obj := parse.Classify(srcBucket, o.key)
	dec, err := parse.NewDecoder(obj, bytes.NewReader(o.body), parse.Options{})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", o.key, err)
	}
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: o.key, ETag: fmt.Sprintf("%x", len(o.body))})
	var rec parse.Record
	n := 0
	for {
		err := dec.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", o.key, err)
		}
		if err := in.Add(ctx, &rec); err != nil {
			return n, fmt.Errorf("%s: add: %w", o.key, err)
		}
		n++
	}
	if br, ok := dec.(parse.BadRecordReporter); ok {
		if bad, first := br.BadRecords(); bad > 0 {
			return n, fmt.Errorf("%s: %d bad records, first %v", o.key, bad, first[0])
		}
	}
	in.End()
	return n, nil
}

func newLocalSink(t *testing.T, opts Options) (*Sink, string) {
	t.Helper()
	root := t.TempDir()
	opts.Dest = store.Location{Store: store.NewLocal(root), Bucket: "lake", Prefix: "tables/"}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(root, "lake", "tables")
}

// tableFiles lists the Parquet files of a table, by partition directory.
func tableFiles(t *testing.T, root string, table Table) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, string(table)), func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if !strings.HasSuffix(p, ".parquet") {
				// Engines reading a partition directory take every file in it for Parquet.
				t.Errorf("%s: a file that is not Parquet in a table directory", p)
			}
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// arrowRows reads one Parquet file with pqarrow and returns its rows as JSON-decoded maps.
func arrowRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	var rows []map[string]any
	for tr.Next() {
		var buf bytes.Buffer
		if err := array.RecordToJSON(tr.Record(), &buf); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&buf)
		dec.UseNumber()
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, m)
		}
	}
	return rows
}

// rowGroupStarts returns the index of the first row of each row group of a file (Arrow's reader).
func rowGroupStarts(t *testing.T, path string) map[int]bool {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rdr.Close()
	starts := map[int]bool{}
	n := 0
	for i := range rdr.NumRowGroups() {
		starts[n] = true
		n += int(rdr.RowGroup(i).NumRows())
	}
	return starts
}

// readTable reads every file of a table and checks each row group is sorted by its time column
// (each spill is one sorted row group: min/max pruning holds, and the file is encoded once) and
// every row lies in the partition its time says.
func readTable(t *testing.T, root string, table Table) []map[string]any {
	t.Helper()
	timeCol := map[Table]string{TableCloudTrail: "eventtime", TableVPCFlow: "start_time", TableResolver: "query_timestamp",
		TableFindings: "event_time", TableIntegrity: "verified_at"}[table]
	var all []map[string]any
	for _, f := range tableFiles(t, root, table) {
		rows := arrowRows(t, f)
		dt := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "dt=")
		starts := rowGroupStarts(t, f)
		var prev time.Time
		for i, r := range rows {
			if starts[i] {
				prev = time.Time{}
			}
			ts := arrowTime(t, r[timeCol])
			if ts.IsZero() {
				continue
			}
			if ts.Before(prev) {
				t.Errorf("%s: row %d %s %v before row %d's %v: not sorted", f, i, timeCol, ts, i-1, prev)
			}
			prev = ts
			if got := ts.Format("2006-01-02"); got != dt {
				t.Errorf("%s: row %d at %v is in partition dt=%s", f, i, ts, dt)
			}
		}
		all = append(all, rows...)
	}
	return all
}

// arrowTime parses Arrow's JSON rendering of a timestamp[ms, tz=UTC] value.
func arrowTime(t *testing.T, v any) time.Time {
	t.Helper()
	if v == nil {
		return time.Time{}
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("timestamp rendered as %T %v", v, v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z", time.RFC3339Nano} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UTC()
		}
	}
	t.Fatalf("cannot parse Arrow timestamp %q", s)
	return time.Time{}
}

// lineageOf returns a row's (key, index).
func lineageOf(t *testing.T, r map[string]any) (string, int) {
	t.Helper()
	if r["source_bucket"] != srcBucket {
		t.Fatalf("source_bucket %v", r["source_bucket"])
	}
	idx, err := strconv.Atoi(fmt.Sprint(r["source_index"]))
	if err != nil {
		t.Fatal(err)
	}
	return r["source_key"].(string), idx
}

// --- expectations from raw JSON ---

func jsonRecords(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(inflate(t, body)))
	dec.UseNumber()
	var env struct{ Records []map[string]any }
	if err := dec.Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env.Records
}

func jsonLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(inflate(t, body)))
	dec.UseNumber()
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

// at walks a path of object members; nil when any step is absent or not an object.
func at(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// wantString is how a JSON string member appears in a column: absent, null and "" are NULL.
func wantString(v any) any {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return nil
}

type checker struct {
	t    *testing.T
	what string
	errs int
}

func (c *checker) eq(col string, got, want any) {
	c.t.Helper()
	if !reflect.DeepEqual(got, want) {
		c.errs++
		if c.errs <= 20 {
			c.t.Errorf("%s: %s = %#v, want %#v", c.what, col, got, want)
		}
	}
}

// eqJSON compares a JSON-text column with the raw member semantically (CloudTrail's own key order
// and spacing are not part of the contract).
func (c *checker) eqJSON(col string, got, raw any) {
	c.t.Helper()
	if raw == nil {
		c.eq(col, got, nil)
		return
	}
	s, ok := got.(string)
	if !ok {
		c.eq(col, got, "JSON text")
		return
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		c.eq(col, s, "valid JSON")
		return
	}
	c.eq(col, v, raw)
}

func (c *checker) eqTime(col string, got any, want time.Time) {
	c.t.Helper()
	g := arrowTime(c.t, got)
	if !g.Equal(want) {
		c.eq(col, g, want)
	}
}

func parseISO(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	for _, layout := range []string{time.RFC3339Nano, "20060102T150405Z"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UTC()
		}
	}
	t.Fatalf("cannot parse time %q", s)
	return time.Time{}
}

func TestCloudTrailRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"defaults", Options{}},
		// Spilling every 256 KiB makes the 3.4 MB partition a spool of many sorted row groups that
		// the writer merges; small row groups make the merged file cut several.
		{"spill-merge", Options{SpillBytes: 256 << 10, RowGroupBytes: 64 << 10}},
		{"snappy", Options{Compression: Snappy}},
	} {
		t.Run(tc.name, func(t *testing.T) { testCloudTrailRoundTrip(t, tc.opts) })
	}
}

func testCloudTrailRoundTrip(t *testing.T, opts Options) {
	objs := cloudTrailSamples(t)
	s, root := newLocalSink(t, opts)
	counts := ingest(t, s, objs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BufferedBytes != 0 || st.OpenPartitions != 0 {
		t.Errorf("after Flush: %d bytes in %d partitions still buffered", st.BufferedBytes, st.OpenPartitions)
	}
	if opts.SpillBytes > 0 {
		if st := s.Stats(); st.Spills < 5 {
			t.Fatalf("only %d spills with SpillBytes %d", st.Spills, opts.SpillBytes)
		}
		files := tableFiles(t, root, TableCloudTrail)
		parts := map[string]bool{}
		for _, f := range files {
			parts[filepath.Dir(f)] = true
		}
		if len(files) != len(parts) {
			t.Fatalf("%d files in %d partitions, want one per partition", len(files), len(parts))
		}
		groups := rowGroups(t, tableFiles(t, root, TableCloudTrail))
		if groups < 4 {
			t.Errorf("%d row groups with RowGroupBytes %d, want several", groups, opts.RowGroupBytes)
		}
	}
	raw := map[string][]map[string]any{}
	total := 0
	for _, o := range objs {
		raw[o.key] = jsonRecords(t, o.body)
		if counts[o.key] != len(raw[o.key]) {
			t.Errorf("%s: parse yielded %d records, the JSON has %d", o.key, counts[o.key], len(raw[o.key]))
		}
		total += len(raw[o.key])
	}
	rows := readTable(t, root, TableCloudTrail)
	if len(rows) != total {
		t.Fatalf("read %d rows, wrote %d records", len(rows), total)
	}
	if total < 2900+21+4 {
		t.Fatalf("only %d records in the samples; SOURCES.md lists 2,925", total)
	}
	seen := map[string]bool{}
	c := &checker{t: t}
	strCols := map[string]string{
		"eventversion": "eventVersion", "eventsource": "eventSource", "eventname": "eventName", "awsregion": "awsRegion",
		"sourceipaddress": "sourceIPAddress", "useragent": "userAgent", "errorcode": "errorCode", "errormessage": "errorMessage",
		"requestid": "requestID", "eventid": "eventID", "eventtype": "eventType", "apiversion": "apiVersion",
		"recipientaccountid": "recipientAccountId", "sharedeventid": "sharedEventID", "vpcendpointid": "vpcEndpointId",
		"vpcendpointaccountid": "vpcEndpointAccountId", "eventcategory": "eventCategory",
	}
	jsonCols := map[string]string{
		"requestparameters": "requestParameters", "responseelements": "responseElements", "additionaleventdata": "additionalEventData",
		"serviceeventdetails": "serviceEventDetails", "edgedevicedetails": "edgeDeviceDetails", "eventcontext": "eventContext",
		"insightdetails": "insightDetails",
	}
	uidCols := map[string]string{"type": "type", "principalid": "principalId", "arn": "arn", "accountid": "accountId",
		"invokedby": "invokedBy", "accesskeyid": "accessKeyId", "username": "userName", "identityprovider": "identityProvider",
		"credentialid": "credentialId"}
	issuerCols := map[string]string{"type": "type", "principalid": "principalId", "arn": "arn", "accountid": "accountId", "username": "userName"}
	for _, r := range rows {
		key, idx := lineageOf(t, r)
		id := fmt.Sprintf("%s#%d", key, idx)
		if seen[id] {
			t.Errorf("%s written twice", id)
		}
		seen[id] = true
		recs, ok := raw[key]
		if !ok || idx >= len(recs) {
			t.Fatalf("row traces to %s which is not a sample record", id)
		}
		want := recs[idx]
		c.what = id
		for col, member := range strCols {
			c.eq(col, r[col], wantString(want[member]))
		}
		for col, member := range jsonCols {
			c.eqJSON(col, r[col], want[member])
		}
		c.eqTime("eventtime", r["eventtime"], parseISO(t, want["eventTime"]))
		for col, member := range map[string]string{"readonly": "readOnly", "managementevent": "managementEvent"} {
			c.eq(col, r[col], want[member])
		}
		var scfc any
		if v, ok := want["sessionCredentialFromConsole"]; ok {
			scfc = fmt.Sprint(v) == "true"
		}
		c.eq("sessioncredentialfromconsole", r["sessioncredentialfromconsole"], scfc)

		wu, _ := want["userIdentity"].(map[string]any)
		gu, _ := r["useridentity"].(map[string]any)
		if (wu == nil) != (gu == nil) {
			c.eq("useridentity", r["useridentity"], want["userIdentity"])
		} else if wu != nil {
			for col, member := range uidCols {
				c.eq("useridentity."+col, gu[col], wantString(wu[member]))
			}
			c.eqJSON("useridentity.inscopeof", gu["inscopeof"], wu["inScopeOf"])
			wsc, _ := wu["sessionContext"].(map[string]any)
			gsc, _ := gu["sessioncontext"].(map[string]any)
			if (wsc == nil) != (gsc == nil) {
				c.eq("useridentity.sessioncontext", gu["sessioncontext"], wu["sessionContext"])
			} else if wsc != nil {
				var mfa any
				switch at(wsc, "attributes", "mfaAuthenticated") {
				case "true":
					mfa = true
				case "false":
					mfa = false
				}
				c.eq("sessioncontext.attributes.mfaauthenticated", at(gsc, "attributes", "mfaauthenticated"), mfa)
				if cd := at(wsc, "attributes", "creationDate"); cd != nil {
					c.eqTime("sessioncontext.attributes.creationdate", at(gsc, "attributes", "creationdate"), parseISO(t, cd))
				} else {
					c.eq("sessioncontext.attributes.creationdate", at(gsc, "attributes", "creationdate"), nil)
				}
				if wsi, ok := wsc["sessionIssuer"].(map[string]any); ok {
					for col, member := range issuerCols {
						c.eq("sessionissuer."+col, at(gsc, "sessionissuer", col), wantString(wsi[member]))
					}
				} else {
					c.eq("sessionissuer", gsc["sessionissuer"], nil)
				}
				c.eqJSON("webidfederationdata", gsc["webidfederationdata"], wsc["webIdFederationData"])
				c.eq("ec2roledelivery", gsc["ec2roledelivery"], wantString(wsc["ec2RoleDelivery"]))
				c.eq("sourceidentity", gsc["sourceidentity"], wantString(wsc["sourceIdentity"]))
			}
		}
		var wantRes any
		if res, ok := want["resources"].([]any); ok && len(res) > 0 {
			var list []any
			for _, x := range res {
				list = append(list, map[string]any{"arn": wantString(at(x, "ARN")), "accountid": wantString(at(x, "accountId")), "type": wantString(at(x, "type"))})
			}
			wantRes = list
		}
		c.eq("resources", r["resources"], wantRes)
		if tls, ok := want["tlsDetails"].(map[string]any); ok {
			c.eq("tlsdetails", r["tlsdetails"], map[string]any{"tlsversion": wantString(tls["tlsVersion"]),
				"ciphersuite": wantString(tls["cipherSuite"]), "clientprovidedhostheader": wantString(tls["clientProvidedHostHeader"])})
		} else {
			c.eq("tlsdetails", r["tlsdetails"], nil)
		}
		if add, ok := want["addendum"].(map[string]any); ok {
			c.eq("addendum.reason", at(r["addendum"], "reason"), wantString(add["reason"]))
		} else {
			c.eq("addendum", r["addendum"], nil)
		}
	}
}

func TestVPCFlowRoundTrip(t *testing.T) {
	objs := flowTextSamples(t)
	s, root := newLocalSink(t, Options{})
	counts := ingest(t, s, objs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Expected rows: header names → tokens, per data line.
	want := map[string][]map[string]string{}
	total := 0
	for _, o := range objs {
		sc := bufio.NewScanner(bytes.NewReader(o.body))
		var header []string
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			if header == nil {
				header = f
				continue
			}
			m := map[string]string{}
			for i, h := range header {
				m[h] = f[i]
			}
			want[o.key] = append(want[o.key], m)
		}
		if counts[o.key] != len(want[o.key]) {
			t.Errorf("%s: parse yielded %d records, the text has %d lines", o.key, counts[o.key], len(want[o.key]))
		}
		total += len(want[o.key])
	}
	rows := readTable(t, root, TableVPCFlow)
	if len(rows) != total || total != 35 {
		t.Fatalf("read %d rows, wrote %d records (SOURCES.md: 10 + 25 text records)", len(rows), total)
	}
	cols := schemaColumns(t, TableVPCFlow)
	c := &checker{t: t}
	for _, r := range rows {
		key, idx := lineageOf(t, r)
		w := want[key][idx]
		c.what = fmt.Sprintf("%s#%d", key, idx)
		for _, col := range cols {
			field := strings.ReplaceAll(col.name, "_", "-")
			switch col.name {
			case "source_bucket", "source_key", "source_index", "unmapped":
				continue
			case "start_time":
				field = "start"
			case "end_time":
				field = "end"
			}
			tok, ok := w[field]
			if !ok || tok == "-" {
				c.eq(col.name, r[col.name], nil)
				continue
			}
			switch col.typ {
			case "string":
				c.eq(col.name, r[col.name], tok)
			case "int", "bigint":
				c.eq(col.name, r[col.name], json.Number(tok))
			case "timestamp":
				sec, err := strconv.ParseInt(tok, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				c.eqTime(col.name, r[col.name], time.Unix(sec, 0).UTC())
			default:
				t.Fatalf("no expectation for %s %s", col.name, col.typ)
			}
		}
		// No sample has a field this version does not know: the map is present and empty.
		c.eq("unmapped", r["unmapped"], []any{})
	}
}

func TestVPCFlowParquetInput(t *testing.T) {
	var objs []sampleObject
	for _, sub := range []string{"aws-samples-ocsf-validation", "sekoia-automation-library"} {
		names, _ := filepath.Glob(filepath.Join(samples.Samples(t, "vpcflow", sub), "*.parquet"))
		for _, p := range names {
			n := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".parquet"), ".json")
			if !strings.Contains(n, "_vpcflowlogs_") {
				n = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20210326T0000Z_" + n
			}
			objs = append(objs, sampleObject{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/03/26/" + n + ".log.parquet", readSample(t, p)})
		}
	}
	s, root := newLocalSink(t, Options{})
	counts := ingest(t, s, objs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := readTable(t, root, TableVPCFlow)
	total := 0
	for _, o := range objs {
		total += counts[o.key]
	}
	if len(rows) != total || total != 11 {
		t.Fatalf("read %d rows, parse yielded %d (SOURCES.md: 7 + 4 Parquet rows)", len(rows), total)
	}
	// Values: every row's addresses and ports against the input Parquet read by Arrow.
	c := &checker{t: t}
	byKey := map[string][]map[string]any{}
	for _, o := range objs {
		p := filepath.Join(t.TempDir(), "in.parquet")
		if err := os.WriteFile(p, o.body, 0o644); err != nil {
			t.Fatal(err)
		}
		byKey[o.key] = arrowRows(t, p)
	}
	for _, r := range rows {
		key, idx := lineageOf(t, r)
		in := byKey[key][idx]
		c.what = fmt.Sprintf("%s#%d", key, idx)
		for _, col := range []string{"srcaddr", "dstaddr", "action", "interface_id"} {
			want := wantString(in[col])
			if want == "-" { // "-" is NULL for every flow-log field
				want = nil
			}
			c.eq(col, r[col], want)
		}
		for _, col := range []string{"srcport", "dstport", "protocol", "packets", "bytes"} {
			if in[col] == nil {
				c.eq(col, r[col], nil)
				continue
			}
			f, err := strconv.ParseFloat(fmt.Sprint(in[col]), 64) // pandas-written inputs use DOUBLE
			if err != nil {
				t.Fatal(err)
			}
			c.eq(col, r[col], json.Number(strconv.FormatInt(int64(f), 10)))
		}
	}
}

func TestResolverRoundTrip(t *testing.T) {
	objs := resolverSamples(t)
	s, root := newLocalSink(t, Options{})
	counts := ingest(t, s, objs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]map[string]any{}
	total := 0
	for _, o := range objs {
		want[o.key] = jsonLines(t, o.body)
		if counts[o.key] != len(want[o.key]) {
			t.Errorf("%s: parse yielded %d records, the JSON has %d", o.key, counts[o.key], len(want[o.key]))
		}
		total += len(want[o.key])
	}
	rows := readTable(t, root, TableResolver)
	if len(rows) != total || total != 5 {
		t.Fatalf("read %d rows, wrote %d (SOURCES.md: 5 queries)", len(rows), total)
	}
	checkResolverRows(t, rows, want)
}

// checkResolverRows checks every row read back against the JSON record its lineage names.
func checkResolverRows(t *testing.T, rows []map[string]any, want map[string][]map[string]any) {
	t.Helper()
	c := &checker{t: t}
	for _, r := range rows {
		key, idx := lineageOf(t, r)
		w := want[key][idx]
		c.what = fmt.Sprintf("%s#%d", key, idx)
		for _, col := range []string{"version", "account_id", "region", "vpc_id", "query_name", "query_type", "query_class",
			"rcode", "srcaddr", "transport", "firewall_rule_group_id", "firewall_rule_action", "firewall_domain_list_id"} {
			c.eq(col, r[col], wantString(w[col]))
		}
		c.eqTime("query_timestamp", r["query_timestamp"], parseISO(t, w["query_timestamp"]))
		var port any
		if p, ok := w["srcport"].(string); ok {
			port = json.Number(p)
		}
		c.eq("srcport", r["srcport"], port)
		var answers any
		if list, _ := w["answers"].([]any); len(list) > 0 {
			var got []any
			for _, a := range list {
				got = append(got, map[string]any{"rdata": wantString(at(a, "Rdata")), "type": wantString(at(a, "Type")), "class": wantString(at(a, "Class"))})
			}
			answers = got
		}
		c.eq("answers", r["answers"], answers)
		var ids any
		if m, _ := w["srcids"].(map[string]any); len(m) > 0 {
			ids = map[string]any{"instance": wantString(m["instance"]), "resolver_endpoint": wantString(m["resolver_endpoint"]),
				"resolver_network_interface": wantString(m["resolver_network_interface"])}
		}
		c.eq("srcids", r["srcids"], ids)
	}
}

func TestFindingsAndIntegrityRoundTrip(t *testing.T) {
	s, root := newLocalSink(t, Options{})
	ctx := context.Background()
	base := time.Date(2026, 3, 2, 23, 59, 58, 123e6, time.UTC)
	findings := []FindingRow{
		{EventTime: base.Add(3 * time.Second), Rule: "RootUsage", MetricNamespace: "CISBenchmark", MetricName: "RootAccountUsageCount",
			MetricValue: ptr(1.0), Source: "cloudtrail", Account: "111122223333", Region: "us-east-1", EventID: "e-2",
			EventJSON: `{"eventName":"ConsoleLogin"}`, Lineage: Lineage{srcBucket, "k1", 7}},
		{EventTime: base, Rule: "UnauthorizedAPICalls", MetricName: "UnauthorizedAPICallsCount", Source: "cloudtrail",
			EventID: "e-1", Lineage: Lineage{srcBucket, "k1", 2}},
	}
	integrity := []IntegrityRow{
		{VerifiedAt: base, DigestBucket: srcBucket, DigestKey: "AWSLogs/o-x/1/CloudTrail-Digest/us-east-1/d.json.gz",
			ChainAccount: "111122223333", ChainRegion: "us-east-1", ChainTrail: "org-trail", ObjectBucket: srcBucket,
			ObjectKey: "AWSLogs/o-x/1/CloudTrail/us-east-1/a.json.gz", Status: "invalid", Class: "hash_mismatch",
			Reason: "SHA-256 differs", DigestEndTime: ptr(base.Add(-time.Hour))},
		{VerifiedAt: base.Add(time.Minute), DigestKey: "d2", Status: "missing"},
	}
	in := beginRef(s, InputRef{Bucket: srcBucket, Key: "k1"})
	for _, f := range findings {
		if err := in.AddFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range integrity {
		if err := in.AddIntegrity(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	in.End()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Findings span two days (23:59:58 and 00:00:01): two partitions, each sorted.
	if n := len(tableFiles(t, root, TableFindings)); n != 2 {
		t.Errorf("findings in %d files, want 2 (one per day)", n)
	}
	fr := readTable(t, root, TableFindings)
	if len(fr) != 2 {
		t.Fatalf("read %d findings", len(fr))
	}
	c := &checker{t: t, what: "findings"}
	for _, r := range fr {
		_, idx := lineageOf(t, r)
		w := findings[0]
		if idx == 2 {
			w = findings[1]
		}
		c.eqTime("event_time", r["event_time"], w.EventTime)
		c.eq("rule", r["rule"], w.Rule)
		c.eq("metric_name", r["metric_name"], w.MetricName)
		c.eq("metric_namespace", r["metric_namespace"], wantString(w.MetricNamespace))
		if w.MetricValue != nil {
			c.eq("metric_value", r["metric_value"], json.Number(strconv.FormatFloat(*w.MetricValue, 'f', -1, 64)))
		} else {
			c.eq("metric_value", r["metric_value"], nil)
		}
		c.eq("event_json", r["event_json"], wantString(w.EventJSON))
		c.eq("account", r["account"], wantString(w.Account))
	}
	ir := readTable(t, root, TableIntegrity)
	if len(ir) != 2 {
		t.Fatalf("read %d integrity rows", len(ir))
	}
	c.what = "integrity"
	for i, w := range integrity { // same day, sorted by verified_at: file order is input order
		r := ir[i]
		c.eq("status", r["status"], w.Status)
		c.eq("digest_key", r["digest_key"], w.DigestKey)
		c.eq("object_key", r["object_key"], wantString(w.ObjectKey))
		c.eq("class", r["class"], wantString(w.Class))
		c.eqTime("verified_at", r["verified_at"], w.VerifiedAt)
		if w.DigestEndTime != nil {
			c.eqTime("digest_end_time", r["digest_end_time"], *w.DigestEndTime)
		} else {
			c.eq("digest_end_time", r["digest_end_time"], nil)
		}
	}
}

// rowGroups counts the row groups of the given files.
func rowGroups(t *testing.T, files []string) int {
	t.Helper()
	n := 0
	for _, f := range files {
		rdr, err := file.OpenParquetFile(f, false)
		if err != nil {
			t.Fatal(err)
		}
		n += rdr.NumRowGroups()
		rdr.Close()
	}
	return n
}
