package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/compress"

	"github.com/logarchive/logarchive/internal/ocsfcheck"
	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/synth"
)

// TestSecurityLakeAcceptance is issue 11's acceptance: an archive through `ingest local --format
// security-lake` exits 0, every OCSF row read back with Arrow is valid OCSF 1.1.0, nothing but
// .zstd.parquet objects sit in the lake, and each class holds as many rows as the Athena layout's
// table holds records from the same archive: CloudTrail = 6003 + 3002 + 3001 (+ the Insights events,
// which have no OCSF mapping and are counted as ocsf_unsupported), vpcflow = 4001, resolver = 4003,
// findings = 2004. Archives: synth's (small; LOGARCHIVE_ACCEPT_DEMO=1 adds `make demo`'s)
// and the real public samples under AWS-style keys.
func TestSecurityLakeAcceptance(t *testing.T) {
	cases := map[string]func(t *testing.T) string{
		"synth-small": func(t *testing.T) string {
			// The tiny preset cut to one hour: every source, scenario and
			// finding kind, at a size that keeps two CLI runs under race cheap.
			opts, err := synth.Preset("tiny", 1)
			if err != nil {
				t.Fatal(err)
			}
			opts.NumAccounts, opts.Hours = 3, 1
			dir, _ := generate(t, opts)
			return dir
		},
		"real-samples": sampleArchive,
	}
	if os.Getenv("LOGARCHIVE_ACCEPT_DEMO") != "" {
		cases["synth-demo"] = func(t *testing.T) string {
			opts, err := synth.Preset("demo", 1)
			if err != nil {
				t.Fatal(err)
			}
			dir, _ := generate(t, opts)
			return dir
		}
	}
	sc, err := ocsfcheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	for name, archive := range cases {
		t.Run(name, func(t *testing.T) {
			src := archive(t)
			athena := filepath.Join(t.TempDir(), "athena")
			var out, errOut bytes.Buffer
			if code := runLocal(context.Background(), []string{"--src", src, "--dest", athena, "--log-level", "warn"}, &out, &errOut); code != 0 {
				t.Fatalf("athena: exit %d: %s %s", code, out.String(), errOut.String())
			}
			tables := map[string]int64{}
			for _, table := range []string{"cloudtrail", "vpcflow", "resolver", "findings"} {
				tables[table], _ = readTable(t, athena, table)
			}

			lake := filepath.Join(t.TempDir(), "sl")
			out.Reset()
			errOut.Reset()
			if code := runLocal(context.Background(), []string{"--src", src, "--dest", lake, "--format", "security-lake",
				"--log-level", "warn", "--json"}, &out, &errOut); code != 0 {
				t.Fatalf("security-lake: exit %d: %s %s", code, out.String(), errOut.String())
			}
			var sum struct {
				Objects  int                         `json:"objects"`
				Done     int                         `json:"done"`
				Counters map[string]map[string]int64 `json:"counters"`
				Failed   []string                    `json:"failed"`
			}
			if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
				t.Fatalf("summary: %v\n%s", err, out.String())
			}
			if sum.Done != sum.Objects || len(sum.Failed) > 0 {
				t.Errorf("%d of %d objects done, failed %v", sum.Done, sum.Objects, sum.Failed)
			}
			// Records the output cannot map are counted (unsupported_records); they must be exactly
			// the Insights events (no OCSF mapping), counted here by decoding the archive.
			var unsupported int64
			for _, c := range sum.Counters {
				unsupported += c["unsupported_records"]
			}
			if insights := countInsights(t, src); unsupported != insights {
				t.Errorf("%d records not mapped, %d of them Insights events: counters %v", unsupported, insights, sum.Counters)
			}
			// The lake is the custom sources' prefixes (ext/); the exactly-once ledger keeps its
			// state at the destination root, outside them.
			rows, invalid := validateLakeDir(t, sc, filepath.Join(lake, "ext"))
			if invalid != 0 {
				t.Errorf("%d invalid rows", invalid)
			}
			ct := rows[6003] + rows[3002] + rows[3001]
			for _, c := range []struct {
				table      string
				got, extra int64
			}{
				{"cloudtrail", ct, unsupported}, // the Insights events stay in the Athena table
				{"vpcflow", rows[4001], 0},
				{"resolver", rows[4003], 0},
				{"findings", rows[2004], 0},
			} {
				if c.got+c.extra != tables[c.table] {
					t.Errorf("%s: %d OCSF rows (+%d unsupported), Athena table holds %d", c.table, c.got, c.extra, tables[c.table])
				}
			}
			t.Logf("Athena %v; OCSF rows %v; unsupported %d; invalid %d", tables, rows, unsupported, invalid)
		})
	}
}

// countInsights decodes every CloudTrail object of an archive (<dir>/<bucket>/<key>) and counts
// its Insights events.
func countInsights(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		bucket, key, _ := strings.Cut(filepath.ToSlash(rel), "/")
		obj := parse.Classify(bucket, key)
		if obj.Source != parse.SourceCloudTrail && obj.Source != parse.SourceInsight {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		dec, err := parse.NewDecoder(obj, f, parse.Options{})
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("%s: %w", key, err)
			}
			if rec.Source == parse.SourceInsight || rec.CloudTrail != nil && rec.CloudTrail.InsightDetails != nil {
				n++
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sampleArchive lays the real CloudTrail, flow-log and Resolver samples out as an archive bucket
// under AWS-style keys (the file names are kept, prefixed with their corpus).
func sampleArchive(t *testing.T) string {
	dir := t.TempDir()
	for sub, prefix := range map[string]string{
		"cloudtrail":       "AWSLogs/111122223333/CloudTrail/us-east-1/2023/07/10/",
		"vpcflow":          "AWSLogs/111122223333/vpcflowlogs/eu-west-2/2022/02/21/",
		"route53-resolver": "AWSLogs/111122223333/vpcdnsquerylogs/vpc-0123456789abcdef0/2023/07/10/",
	} {
		root := samples.Samples(t, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			corpus := filepath.Base(filepath.Dir(p))
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, "archive", filepath.FromSlash(prefix), corpus+"_"+d.Name())
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// validateLakeDir validates every row of every object under lake and returns the rows per class
// and the number of invalid rows; anything in the lake but a zstd .zstd.parquet object fails.
func validateLakeDir(t *testing.T, sc *ocsfcheck.Schema, lake string) (map[int]int64, int) {
	t.Helper()
	rows := map[int]int64{}
	invalid := 0
	kinds := map[string]int{}
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".zstd.parquet") {
			t.Errorf("lake holds %s: only .zstd.parquet objects belong there", p)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rs, codecs, err := ocsfcheck.ReadParquet(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(codecs) != 1 || !codecs[compress.Codecs.Zstd] {
			t.Errorf("%s: codecs %v, not zstd", p, codecs)
		}
		for _, r := range rs {
			uid, _ := r["class_uid"].(float64)
			rows[int(uid)]++
			// Every row names its Region: a record without one (flow logs) takes its key's.
			if cloud, _ := r["cloud"].(map[string]any); cloud == nil || cloud["region"] == nil {
				kinds[fmt.Sprintf("%v cloud.region: NULL", uid)]++
			}
			if vs := sc.Validate(r); len(vs) > 0 {
				invalid++
				for _, v := range vs {
					kinds[fmt.Sprintf("%v %s: %s", uid, v.Path, v.Rule)]++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%d× %s", kinds[k], k)
	}
	return rows, invalid
}
