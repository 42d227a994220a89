package ocsf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/store"
)

// corpus maps every CloudTrail, flow-log and Resolver sample with a known account, plus findings.
type corpusRow struct {
	row Row
	lin Lineage
}

func sampleCorpus(t testing.TB) []corpusRow {
	t.Helper()
	var out []corpusRow
	add := func(key, path string) {
		obj := parse.Classify("archive", key)
		for i, r := range mapFile(t, key, path) {
			out = append(out, corpusRow{r, Lineage{Bucket: "archive", Key: key, Index: int64(i), Account: obj.Account, Region: obj.Region}})
		}
	}
	ct, err := filepath.Glob(filepath.Join(samples.Samples(t, "cloudtrail", "invictus-ir-aws_dataset"), "*.json"))
	if err != nil || len(ct) == 0 {
		t.Fatalf("no CloudTrail samples: %v", err)
	}
	for _, f := range ct {
		add("AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"+filepath.Base(f)+".gz", f)
	}
	flows := samples.Samples(t, "vpcflow")
	add("AWSLogs/123456789010/vpcflowlogs/us-east-1/2019/05/20/custom-v5.log", filepath.Join(flows, "awsdocs", "custom-v5-service-path-direction.log"))
	// Version 2 records carry no region: they are partitioned by their object's key (eu-west-1).
	add("AWSLogs/123456789010/vpcflowlogs/"+v2Region+"/2016/01/01/default-v2.log", filepath.Join(flows, "awsdocs", "default-v2-examples.log"))
	for _, f := range []string{"vpc_flow-input0.json.parquet", "vpc_flow-input1.json.parquet", "vpc_flow-input2.json.parquet", "vpc_flow-input3.parquet"} {
		add("AWSLogs/374946600775/vpcflowlogs/us-east-1/2023/01/01/"+f, filepath.Join(flows, "aws-samples-ocsf-validation", f))
	}
	r53 := samples.Samples(t, "route53-resolver", "aws-samples-ocsf-validation")
	for i := range 4 {
		add("AWSLogs/111122223333/vpcdnsquerylogs/vpc-7example/2021/02/04/x.log.gz", filepath.Join(r53, "route53-inputs"+string(rune('0'+i))+".json.gz"))
	}
	v := 1.0
	for i := range 3 {
		f := rules.Finding{EventTime: time.Date(2023, 7, 10, 12, i, 0, 0, time.UTC), Rule: "RootAccountUsage",
			MetricNamespace: "CISBenchmark", MetricName: "RootAccountUsageCount", MetricValue: &v, Source: "cloudtrail",
			Account: "218007301253", Region: "us-east-1", EventID: "ev-" + string(rune('a'+i)), EventJSON: `{"eventName":"ConsoleLogin"}`,
			SourceBucket: "archive", SourceKey: "k", SourceIndex: int64(i)}
		row, err := DetectionFindingOf(&f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusRow{row, Lineage{Bucket: "archive", Key: "findings", Index: int64(i)}})
	}
	return out
}

const v2Region = "eu-west-1"

func writeCorpus(t testing.TB, opts WriterOptions) ([]File, *store.Local, []corpusRow) {
	t.Helper()
	w, st := testWriter(t, opts)
	rows := sampleCorpus(t)
	ctx := context.Background()
	var files []File
	for _, r := range rows {
		if err := w.Add(ctx, r.row, r.lin); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := w.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, fs...)
	if w.Buffered() != 0 {
		t.Fatalf("%d rows still buffered after Flush", w.Buffered())
	}
	return files, st, rows
}

var keyRE = regexp.MustCompile(`^ext/logarchive-[a-z-]+/1\.0/region=([a-z0-9-]+)/accountId=(\d{12})/eventDay=(\d{8})/[0-9a-f]{40}\.zstd\.parquet$`)

// TestWrittenObjects reads every object the writer produced back with Arrow and checks Security
// Lake's layout and the physical types of formats.md §5.2.
func TestWrittenObjects(t *testing.T) {
	files, st, rows := writeCorpus(t, WriterOptions{RowGroupBytes: 1 << 20, PageBytes: 64 << 10})
	perClass := map[Class]int64{}
	for _, r := range rows {
		perClass[r.row.Class()]++
	}
	for _, c := range Classes() {
		if perClass[c] == 0 {
			t.Errorf("corpus has no %v rows", c)
		}
	}
	written := map[Class]int64{}
	multiGroup := false
	for _, f := range files {
		m := keyRE.FindStringSubmatch(f.Key)
		if m == nil {
			t.Errorf("key %q does not follow the Security Lake layout", f.Key)
			continue
		}
		if !strings.HasPrefix(f.Key, "ext/"+f.Class.DefaultSourceName()+"/") {
			t.Errorf("%v object under %s", f.Class, f.Key)
		}
		data, err := os.ReadFile(filepath.Join(st.Root(), "lake", f.Key))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != f.Bytes {
			t.Errorf("%s: %d bytes on disk, File says %d", f.Key, len(data), f.Bytes)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		checkPhysical(t, f.Key, pf)
		multiGroup = multiGroup || pf.NumRowGroups() > 1
		pf.Close()

		got := readRows(t, data)
		checkOCSF(t, data)
		written[f.Class] += int64(len(got))
		var prev float64
		for i, r := range got {
			ts := r["time"].(float64)
			if ts < prev {
				t.Errorf("%s: row %d time %v before %v: rows not sorted", f.Key, i, ts, prev)
			}
			prev = ts
			day := time.UnixMilli(int64(ts)).UTC().Format("20060102")
			region := get(r, "cloud.region")
			if region == nil && get(r, "metadata.product.version") == "2" {
				region = v2Region
			}
			if region != m[1] || get(r, "cloud.account.uid") != m[2] || day != m[3] {
				t.Errorf("%s: row %d (%v, %v, %s) in the wrong partition", f.Key, i, get(r, "cloud.region"), get(r, "cloud.account.uid"), day)
			}
			if r["class_uid"] != float64(f.Class) || r["type_uid"] != float64(f.Class)*100+r["activity_id"].(float64) {
				t.Errorf("%s: row %d class %v type %v", f.Key, i, r["class_uid"], r["type_uid"])
			}
			if p := emptyStruct(r, ""); p != "" {
				t.Errorf("%s: row %d has an all-NULL struct at %s", f.Key, i, p)
			}
		}
	}
	for c, n := range perClass {
		if written[c] != n {
			t.Errorf("%v: %d rows written, %d added", c, written[c], n)
		}
	}
	if !multiGroup {
		t.Error("no object was cut into several row groups at RowGroupBytes 1 MiB")
	}
}

// emptyStruct returns the path of a nested object whose members are all NULL ("" if none). The
// classes' required endpoints may legitimately hold nothing (a NODATA flow record).
func emptyStruct(v any, path string) string {
	switch x := v.(type) {
	case map[string]any:
		if path != "" && path != "src_endpoint" && path != "dst_endpoint" {
			allNull := true
			for _, e := range x {
				allNull = allNull && e == nil
			}
			if allNull && len(x) > 0 {
				return path
			}
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if r := emptyStruct(e, p); r != "" {
				return r
			}
		}
	case []any:
		for _, e := range x {
			if r := emptyStruct(e, path+"[]"); r != "" {
				return r
			}
		}
	}
	return ""
}

// timestampT are the timestamp_t leaves (INT64 epoch ms, no logical type); every *_dt leaf is
// their datetime_t twin.
var timestampT = regexp.MustCompile(`(^|\.)(time|start_time|end_time|created_time|expiration_time)$`)

func checkPhysical(t *testing.T, key string, pf *file.Reader) {
	t.Helper()
	sc := pf.MetaData().Schema
	seen := map[string]bool{}
	for i := 0; i < sc.NumColumns(); i++ {
		col := sc.Column(i)
		path := col.Path()
		// Arrow names list and map levels; drop them to get the OCSF attribute path.
		attr := strings.NewReplacer(".list.element", "", ".key_value", "").Replace(path)
		seen[attr] = true
		lt := col.LogicalType()
		switch {
		case strings.HasSuffix(attr, "_dt"):
			ts, ok := lt.(*schema.TimestampLogicalType)
			if col.PhysicalType() != parquet.Types.Int64 || !ok || ts.TimeUnit() != schema.TimeUnitMillis || !ts.IsAdjustedToUTC() {
				t.Errorf("%s: %s is %v %v, want INT64 TIMESTAMP(MILLIS, UTC)", key, attr, col.PhysicalType(), lt)
			}
		case timestampT.MatchString(attr), attr == "type_uid", strings.HasPrefix(attr, "traffic."):
			if col.PhysicalType() != parquet.Types.Int64 || !lt.IsNone() || col.ConvertedType() != schema.ConvertedTypes.None {
				t.Errorf("%s: %s is %v %v/%v, want bare INT64", key, attr, col.PhysicalType(), lt, col.ConvertedType())
			}
		case strings.HasSuffix(attr, "_id") || strings.HasSuffix(attr, "_uid") && col.PhysicalType() == parquet.Types.Int32 ||
			strings.HasSuffix(attr, "port") || strings.HasSuffix(attr, "_num") || strings.HasSuffix(attr, "tcp_flags"):
			if col.PhysicalType() != parquet.Types.Int32 || !lt.IsNone() || col.ConvertedType() != schema.ConvertedTypes.None {
				t.Errorf("%s: %s is %v %v/%v, want bare INT32", key, attr, col.PhysicalType(), lt, col.ConvertedType())
			}
		case col.PhysicalType() == parquet.Types.ByteArray:
			if !lt.Equals(schema.StringLogicalType{}) {
				t.Errorf("%s: %s is BYTE_ARRAY %v, want UTF8", key, attr, lt)
			}
		case col.PhysicalType() == parquet.Types.Boolean:
		default:
			t.Errorf("%s: %s has unexpected type %v %v", key, attr, col.PhysicalType(), lt)
		}
		if attr == "time" && col.MaxDefinitionLevel() != 0 {
			t.Errorf("%s: time is not REQUIRED", key)
		}
	}
	for _, want := range []string{"time", "time_dt", "type_uid", "metadata.version", "cloud.provider", "unmapped.key", "unmapped.value"} {
		if !seen[want] {
			t.Errorf("%s: no column %s", key, want)
		}
	}
	// unmapped is MAP<STRING,STRING>: a group annotated MAP.
	root := sc.Root()
	if idx := root.FieldIndexByName("unmapped"); idx < 0 {
		t.Errorf("%s: no unmapped group", key)
	} else if g, ok := root.Field(idx).(*schema.GroupNode); !ok || g.LogicalType().String() != (schema.MapLogicalType{}).String() {
		t.Errorf("%s: unmapped is %v, want MAP", key, root.Field(idx))
	}
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.RowGroup(g)
		for c := 0; c < sc.NumColumns(); c++ {
			md, err := rg.MetaData().ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if md.Compression() != compress.Codecs.Zstd {
				t.Errorf("%s: column %s compressed with %v, want zstd", key, sc.Column(c).Path(), md.Compression())
			}
			pr, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				if dp, ok := pr.Page().(file.DataPage); ok && dp.UncompressedSize() > 1<<20 {
					t.Errorf("%s: column %s has a %d-byte data page (Security Lake: ≤ 1 MB)", key, sc.Column(c).Path(), dp.UncompressedSize())
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestWriterIsReproducible: the same inputs give the same object names and the same bytes (map
// entries are written in key order), so a replay overwrites instead of adding.
func TestWriterIsReproducible(t *testing.T) {
	a, sa, _ := writeCorpus(t, WriterOptions{})
	b, sb, _ := writeCorpus(t, WriterOptions{})
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d and %d objects", len(a), len(b))
	}
	keys := map[string]bool{}
	for _, f := range a {
		keys[f.Key] = true
	}
	for _, f := range b {
		if !keys[f.Key] {
			t.Errorf("second run wrote %s, not written by the first", f.Key)
			continue
		}
		da, err := os.ReadFile(filepath.Join(sa.Root(), "lake", f.Key))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(sb.Root(), "lake", f.Key))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s: contents differ between runs", f.Key)
		}
	}
}

func TestWriterSizeAndAgeTriggers(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var committed []File
	w, _ := testWriter(t, WriterOptions{FileBytes: 8 << 10, MaxAge: time.Minute, Now: func() time.Time { return now },
		AfterCommit: func(_ context.Context, f File) { committed = append(committed, f) }})
	ctx := context.Background()
	rows := sampleCorpus(t)
	var flows []corpusRow
	for _, r := range rows {
		if r.row.Class() == ClassNetworkActivity && r.row.Region() != "" {
			flows = append(flows, r)
		}
	}
	if len(flows) < 4 {
		t.Fatalf("%d flow rows", len(flows))
	}
	// Each flow row is estimated at ≥ 1 KiB: the partition passes 8 KiB within a few rows.
	for _, r := range rows[:20] {
		if err := w.Add(ctx, r.row, r.lin); err != nil {
			t.Fatal(err)
		}
	}
	if len(committed) == 0 {
		t.Error("no object written after passing FileBytes")
	}
	n := len(committed)
	if err := w.Add(ctx, flows[0].row, flows[0].lin); err != nil {
		t.Fatal(err)
	}
	if fs, err := w.FlushDue(ctx); err != nil || len(fs) != 0 {
		t.Errorf("FlushDue before MaxAge wrote %d objects (%v)", len(fs), err)
	}
	now = now.Add(time.Minute)
	fs, err := w.FlushDue(ctx)
	if err != nil || len(fs) == 0 {
		t.Errorf("FlushDue after MaxAge wrote %d objects (%v)", len(fs), err)
	}
	if len(committed) != n+len(fs) {
		t.Errorf("AfterCommit saw %d objects, want %d", len(committed), n+len(fs))
	}
}

func TestWriterMemoryBudget(t *testing.T) {
	var committed []File
	// Each row is estimated at ≥ 1 KiB; the CloudTrail rows share one partition, the flow and
	// Resolver rows several others. A 64 KiB budget forces writes well before FileBytes.
	w, _ := testWriter(t, WriterOptions{MemoryBudget: 64 << 10,
		AfterCommit: func(_ context.Context, f File) { committed = append(committed, f) }})
	ctx := context.Background()
	rows := sampleCorpus(t)
	for _, r := range rows {
		if err := w.Add(ctx, r.row, r.lin); err != nil {
			t.Fatal(err)
		}
		if n := w.BufferedBytes(); n > 64<<10 {
			t.Fatalf("%d bytes buffered after Add, budget 64 KiB", n)
		}
	}
	if len(committed) == 0 {
		t.Fatal("the budget wrote nothing")
	}
	if _, err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range committed { // AfterCommit sees Flush's objects too
		n += f.Rows
	}
	if n != int64(len(rows)) || w.BufferedBytes() != 0 {
		t.Errorf("%d rows written of %d, %d bytes still counted", n, len(rows), w.BufferedBytes())
	}
}

func TestWriterErrors(t *testing.T) {
	ctx := context.Background()
	rows := sampleCorpus(t)
	st := store.NewLocal(t.TempDir())
	w, err := NewWriter(WriterOptions{Sources: map[Class]store.Location{ClassDNSActivity: {Store: st, Bucket: "b", Prefix: "ext/dns/"}}})
	if err != nil {
		t.Fatal(err)
	}
	var nse *NoSourceError
	if err := w.Add(ctx, rows[0].row, rows[0].lin); !errors.As(err, &nse) || nse.Class != rows[0].row.Class() {
		t.Errorf("row of a class without a source: %v", err)
	}
	// A CloudTrail event that names no account goes under its object's account; a bad one is refused.
	row := *rows[0].row.(*APIActivity)
	row.Cloud.Account = nil
	w2, _ := testWriter(t, WriterOptions{})
	lin := rows[0].lin
	if lin.Account != "218007301253" {
		t.Fatalf("corpus lineage account %q", lin.Account)
	}
	if err := w2.Add(ctx, &row, lin); err != nil {
		t.Errorf("object account: %v", err)
	}
	// Neither the row nor the object has a 12-digit account: the records pertain to no account
	// Security Lake knows, "external".
	var le *LayoutError
	for _, fallback := range []string{"", "12345", "../../x"} {
		lin.Account = fallback
		if p, err := PartitionOf(&row, lin); err != nil || p.Account != "external" {
			t.Errorf("object account %q: %+v %v, want accountId external", fallback, p, err)
		}
	}
	lin.Account = "218007301253"
	row.Cloud.Region = nil
	for _, region := range []string{"", "US-EAST-1", "us-east-1/../x"} {
		lin.Region = region
		if err := w2.Add(ctx, &row, lin); !errors.As(err, &le) || le.Field != "region" {
			t.Errorf("region %q: %v", region, err)
		}
	}
	if _, err := NewWriter(WriterOptions{Sources: map[Class]store.Location{ClassAPIActivity: {}}}); err == nil {
		t.Error("a source without a store was accepted")
	}
	// A cancelled context writes nothing and keeps the rows.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w2.Flush(cctx); !errors.Is(err, context.Canceled) || w2.Buffered() != 1 {
		t.Errorf("cancelled Flush: %v, %d buffered", err, w2.Buffered())
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name, version, want string
		bad                 bool
	}{
		{"logarchive-api-activity", "", "ext/logarchive-api-activity/", false},
		{"logarchive-api-activity", "1.0", "ext/logarchive-api-activity/1.0/", false},
		{"org:trail_v2.api", "2.0-beta_1", "ext/org:trail_v2.api/2.0-beta_1/", false},
		{"", "", "", true},
		{"has space", "", "", true},
		{"../escape", "", "", true},
		{strings.Repeat("a", 65), "", "", true},
		{"ok", "v:1", "", true},
		{"ok", strings.Repeat("1", 33), "", true},
	}
	for _, tc := range tests {
		got, err := SourcePrefix(tc.name, tc.version)
		var le *LayoutError
		if tc.bad != (err != nil) || tc.bad && !errors.As(err, &le) || got != tc.want {
			t.Errorf("SourcePrefix(%q, %q) = %q, %v", tc.name, tc.version, got, err)
		}
	}
	loc, err := ProviderLocation(store.NewLocal(t.TempDir()), "s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-api-activity/1.0/")
	if err != nil || loc.Bucket != "aws-security-data-lake-us-east-1-abc" || loc.Prefix != "ext/logarchive-api-activity/1.0/" {
		t.Errorf("ProviderLocation: %+v %v", loc, err)
	}
	for _, bad := range []string{"", "ext/x/", "https://b/ext/x/", "s3:///ext/x/"} {
		if _, err := ProviderLocation(nil, bad); err == nil {
			t.Errorf("ProviderLocation(%q) accepted", bad)
		}
	}
	p := Partition{Region: "eu-west-1", Account: "123456789012", Day: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)}
	if got := ObjectKey(loc, p, "abc"); got != "ext/logarchive-api-activity/1.0/region=eu-west-1/accountId=123456789012/eventDay=20240229/abc.zstd.parquet" {
		t.Errorf("ObjectKey = %q", got)
	}
	// eventDay is the UTC day of the event, whatever the local zone of the time given.
	row := &DNSActivity{Time: time.Date(2024, 2, 29, 23, 30, 0, 0, time.FixedZone("x", -5*3600)).UnixMilli(),
		Cloud: Cloud{Region: str("us-east-1"), Account: &Account{UID: str("123456789012")}}}
	if p, err := PartitionOf(row, Lineage{Region: "eu-west-1", Account: "210987654321"}); err != nil || p.Path() != "region=us-east-1/accountId=123456789012/eventDay=20240301/" {
		t.Errorf("PartitionOf = %q, %v (the row's own region and account win)", p.Path(), err)
	}
	row.Cloud = Cloud{}
	if p, err := PartitionOf(row, Lineage{Region: "eu-west-1", Account: "210987654321"}); err != nil || p.Path() != "region=eu-west-1/accountId=210987654321/eventDay=20240301/" {
		t.Errorf("PartitionOf without cloud = %q, %v", p.Path(), err)
	}
}

func TestStripIntAnnotationsRefusesNonParquet(t *testing.T) {
	good := encodeRow(t, &DNSActivity{Time: 1, Cloud: Cloud{Provider: "AWS"}})
	for name, data := range map[string][]byte{
		"empty":          nil,
		"no magic":       []byte("not a parquet file at all"),
		"footer too big": append([]byte("PAR1"), []byte("\xff\xff\x00\x00PAR1")...),
		"zero footer":    []byte("PAR1\x00\x00\x00\x00PAR1"),
		"garbage footer": append(append([]byte("PAR1"), bytes.Repeat([]byte{0xff}, 16)...), []byte("\x10\x00\x00\x00PAR1")...),
		"truncated":      good[:len(good)-1],
	} {
		if _, err := stripIntAnnotations(data, "x"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
