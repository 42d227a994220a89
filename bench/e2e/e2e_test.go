package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke runs the whole harness on tiny archives (no DuckDB): the real ingest binary must count
// exactly the records the generator wrote in every dataset, gzip must read the same files, the big
// flow object must be ingested whole, and the report must carry every dataset and target.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/ingest and runs it a dozen times")
	}
	repo, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := config{Mode: "tiny", Seed: 7, Repeat: 1, Work: t.TempDir(), Repo: repo, Memory: true}
	rep, err := bench(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 4 {
		t.Fatalf("%d datasets measured, want 4", len(rep.Results))
	}
	for _, r := range rep.Results {
		ds := r.DS
		if ds.Records == 0 || len(ds.Files) == 0 || ds.Inflated <= ds.Compressed {
			t.Errorf("%s: implausible dataset: %d records, %d files, %d → %d bytes", ds.Name, ds.Records, len(ds.Files), ds.Compressed, ds.Inflated)
		}
		for _, tool := range []string{oneCore.Name, twoCores.Name} {
			ms := r.Runs[tool]
			if len(ms) != 1 {
				t.Fatalf("%s %s: %d runs, want 1", ds.Name, tool, len(ms))
			}
			if ms[0].Records != ds.Records {
				t.Errorf("%s %s: ingest counted %d records, generator wrote %d", ds.Name, tool, ms[0].Records, ds.Records)
			}
			if ms[0].MaxRSS <= 0 || ms[0].Seconds <= 0 {
				t.Errorf("%s %s: no rusage (rss %d, %v s)", ds.Name, tool, ms[0].MaxRSS, ms[0].Seconds)
			}
		}
		if g := r.Runs["gzip -dc"]; len(g) != 1 || g[0].Seconds <= 0 {
			t.Errorf("%s: gzip runs %+v", ds.Name, g)
		}
		if g := r.Runs[ingestPair]; len(g) != 1 || g[0].Seconds <= 0 || g[0].Records != ds.Records {
			t.Errorf("%s: %s runs %+v (the generator wrote %d records)", ds.Name, ingestPair, g, ds.Records)
		}
		if _, ok := r.Runs["DuckDB 1 thread"]; ok {
			t.Errorf("%s: DuckDB ran although it was disabled", ds.Name)
		}
	}
	var big, raised int
	for _, mc := range rep.Memory {
		if mc.DS.Name != "flow-1-object" {
			continue
		}
		if mc.Label != "" {
			raised++
		} else {
			big++
		}
		if mc.M.Records != mc.DS.Records || mc.M.Note != "" {
			t.Errorf("big flow object, %d workers: %d of %d records (%s)", mc.Workers, mc.M.Records, mc.DS.Records, mc.M.Note)
		}
		if mc.DS.Inflated < 4<<20 {
			t.Errorf("big flow object inflates to %d bytes, want ≥ 4 MiB", mc.DS.Inflated)
		}
	}
	if big != 2 || raised != 1 {
		t.Errorf("%d big-object memory cases and %d with the cap raised, want 2 (1 and 2 workers) and 1", big, raised)
	}
	md := rep.Markdown()
	for _, want := range []string{"## Targets", "| cloudtrail | ingest 1 core |", "| flow-default |", "| flow-custom |", "| resolver |", "DuckDB: skipped", "peak RSS, one VPC flow object"} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	head := rep.Headline()
	for _, n := range []string{"cloudtrail", "flow-default", "flow-custom", "resolver"} {
		if !strings.Contains(head, "| "+n+" |") {
			t.Errorf("headline lacks %s:\n%s", n, head)
		}
	}

	// --render must give the same report from the saved measurements.
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var again report
	if err := json.Unmarshal(raw, &again); err != nil {
		t.Fatal(err)
	}
	if again.Markdown() != md {
		t.Error("report rendered from its JSON differs from the original")
	}

	// The record check must be able to fail: a dataset claiming one record more is an error.
	r := rep.Results[0]
	wrong := *r.DS
	wrong.Records++
	tl := tools{Work: c.Work, Ingest: filepath.Join(c.Work, "bin", "ingest")}
	if _, err := measureDataset(ctx, config{Repeat: 1}, tl, &wrong, &report{}); err == nil || !strings.Contains(err.Error(), "the generator wrote") {
		t.Errorf("miscounted dataset: err = %v, want a record-count mismatch", err)
	}
}

func TestUpdateReadme(t *testing.T) {
	p := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\n## Performance\n\nintro\n\n" + readmeBegin + "\nold table\n" + readmeEnd + "\n\nmore\n\n## Limits\n"
	if err := os.WriteFile(p, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateReadme(p, "| new |\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "# x\n\n## Performance\n\nintro\n\n" + readmeBegin + "\n| new |\n" + readmeEnd + "\n\nmore\n\n## Limits\n"
	if string(b) != want {
		t.Errorf("README after update:\n%s\nwant:\n%s", b, want)
	}
	if err := updateReadme(filepath.Join(t.TempDir(), "none.md"), "x"); err == nil {
		t.Error("missing README: no error")
	}
	np := filepath.Join(t.TempDir(), "nomarkers.md")
	os.WriteFile(np, []byte("# no markers\n"), 0o644)
	if err := updateReadme(np, "x"); err == nil {
		t.Error("README without markers: no error")
	}
}

func TestMedianAndRatio(t *testing.T) {
	ms := []measurement{{Seconds: 3, MaxRSS: 10}, {Seconds: 1, MaxRSS: 30}, {Seconds: 2, MaxRSS: 20}}
	if m := median(ms); m.Seconds != 2 {
		t.Errorf("median = %v, want 2", m.Seconds)
	}
	if p := peak(ms); p.Seconds != 2 || p.MaxRSS != 30 {
		t.Errorf("peak = %+v, want 2 s and the largest RSS 30", p)
	}
	r := &dsResult{DS: &dataset{Records: 100}, Runs: map[string][]measurement{
		oneCore.Name: {{Seconds: 2}}, "DuckDB 1 thread": {{Seconds: 3}},
	}}
	if v, ok := r.ratio(oneCore.Name, "DuckDB 1 thread"); !ok || v != 1.5 {
		t.Errorf("ratio = %v %v, want 1.5 (ingest takes 2 s where DuckDB takes 3 s)", v, ok)
	}
	if _, ok := r.ratio(oneCore.Name, "gzip -dc"); ok {
		t.Error("ratio to an unmeasured tool reported as measured")
	}
}
