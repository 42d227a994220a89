package filter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// cloudTrailRecords splits the invictus-ir sample files (2,900 real records) into one JSON text per
// record, as pkg/parse hands them over in Record.Raw.
func cloudTrailRecords(tb testing.TB) [][]byte {
	tb.Helper()
	dir := samples.Samples(tb, "cloudtrail", "invictus-ir-aws_dataset")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no samples in %s: %v", dir, err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(data, &doc); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for _, r := range doc.Records {
			out = append(out, []byte(r))
		}
	}
	return out
}

func totalBytes(recs [][]byte) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r))
	}
	return n
}

// TestSamplesCount pins the corpus the benchmarks use (SOURCES.md: 2,900 records).
func TestSamplesCount(t *testing.T) {
	if n := len(cloudTrailRecords(t)); n != 2900 {
		t.Fatalf("got %d records, want 2900", n)
	}
}

// TestRealRecords checks patterns against facts SOURCES.md states about the sample corpus.
func TestRealRecords(t *testing.T) {
	recs := cloudTrailRecords(t)
	count := func(pattern string) int {
		p := MustCompile(pattern)
		n := 0
		for _, r := range recs {
			if p.Match(r) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		pattern string
		want    int
	}{
		{`{ $.eventType = "AwsConsoleSignIn" }`, 3},
		{`{ $.eventType = "AwsServiceEvent" }`, 42},
		{`{ $.eventType = "AwsServiceEvent" && $.userIdentity.type NOT EXISTS }`, 42},
		{`{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed = "No" }`, 1},
		{`{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed = "Yes" }`, 1},
		{`{ $.sourceIPAddress = "192.168.10.20" }`, 2154},
		{`{ $.recipientAccountId = 123837392027 }`, 2900},
		{`{ $.requestParameters IS NULL }`, 333},
		{`{ $.responseElements IS NULL }`, 2573},
		{`{ $.requestID NOT EXISTS }`, 5},
		{`{ $.eventName = * }`, 2900},
		{`123837392027`, 2900},
	} {
		if got := count(c.pattern); got != c.want {
			t.Errorf("%s: %d records, want %d", c.pattern, got, c.want)
		}
	}
}

// BenchmarkJSONRule: the elevated-role SwitchRole rule over pre-split CloudTrail records, against
// two baselines measured in the same run: encoding/json into map[string]any (the approach the
// lazy scanner replaces) and json.Valid (one validating pass, no extraction).
func BenchmarkJSONRule(b *testing.B) {
	recs := cloudTrailRecords(b)
	size := totalBytes(recs)
	p := MustCompile(switchRole)
	arnGlob := newGlob("arn:aws:sts::*:assumed-role/elevated-security-role/*")
	report := func(b *testing.B) {
		b.SetBytes(size)
		b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("filter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				p.Match(r)
			}
		}
		report(b)
	})
	b.Run("baseline=encoding-json-map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				var m map[string]any
				if json.Unmarshal(r, &m) != nil {
					continue
				}
				if m["eventName"] != "SwitchRole" {
					continue
				}
				if ui, ok := m["userIdentity"].(map[string]any); ok {
					if arn, ok := ui["arn"].(string); ok {
						_ = arnGlob.match(arn)
					}
				}
			}
		}
		report(b)
	})
	b.Run("baseline=json-valid", func(b *testing.B) {
		for b.Loop() {
			for _, r := range recs {
				json.Valid(r)
			}
		}
		report(b)
	})
}

// BenchmarkCompile measures compiling a long CIS-style pattern.
func BenchmarkCompile(b *testing.B) {
	var parts []string
	for _, n := range []string{"CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection"} {
		parts = append(parts, "($.eventName = "+n+")")
	}
	pat := "{ " + strings.Join(parts, " || ") + " }"
	for b.Loop() {
		if _, err := Compile(pat); err != nil {
			b.Fatal(err)
		}
	}
}
