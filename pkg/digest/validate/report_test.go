package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// reportFixture validates a tampered synthetic archive.
func reportFixture(t *testing.T) (*Report, *synth.Manifest) {
	t.Helper()
	st := store.NewLocal(t.TempDir())
	m, o := tamperArchive(t, st)
	res := validateArchive(t, st, m, o, false)
	return NewReport(res, Interval{o.Start, o.Start.Add(time.Duration(o.Hours+2) * time.Hour)}, false, o.Start.Add(48*time.Hour)), m
}

func TestJSONReport(t *testing.T) {
	r, m := reportFixture(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// Decode generically: the schema documented in docs/validate.md, not the Go structs.
	var doc struct {
		Version  int `json:"version"`
		ExitCode int `json:"exit_code"`
		Chains   []struct {
			Chain   map[string]string `json:"chain"`
			Status  string            `json:"status"`
			Gaps    []map[string]any  `json:"gaps"`
			Digests []struct {
				Key   string `json:"key"`
				Class string `json:"class"`
				Logs  []struct {
					Key   string `json:"key"`
					Class string `json:"class"`
				} `json:"logs"`
			} `json:"digests"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != ReportVersion || doc.ExitCode != ExitInvalid || len(doc.Chains) != len(m.Accounts)*len(m.Regions) {
		t.Fatalf("version %d exit %d chains %d", doc.Version, doc.ExitCode, len(doc.Chains))
	}
	classes := map[string]string{}
	invalidChains := 0
	for _, c := range doc.Chains {
		if c.Chain["account"] == "" || c.Chain["source_region"] == "" || c.Chain["org_id"] != m.OrgID {
			t.Errorf("chain %v", c.Chain)
		}
		if c.Status == "invalid" {
			invalidChains++
		}
		for _, d := range c.Digests {
			classes[d.Key] = d.Class
			for _, l := range d.Logs {
				classes[l.Key] = l.Class
			}
		}
	}
	for _, tm := range m.Tampered {
		if tm.Kind == synth.TamperModifyLog && classes[tm.Key] != string(digest.ClassHashMismatch) {
			t.Errorf("modified log %s: %q", tm.Key, classes[tm.Key])
		}
		if tm.Kind == synth.TamperMoveDigest && classes[tm.Key] != string(digest.ClassMoved) {
			t.Errorf("moved digest %s: %q", tm.Key, classes[tm.Key])
		}
	}
	if invalidChains == 0 {
		t.Error("no chain has status invalid")
	}
}

// TestHTMLReportInChromium renders the report in headless Chromium and checks that chains, gaps and
// failures are on the page. LOGARCHIVE_UPDATE_DOCS=1 also stores the screenshot as
// docs/validate-report.png.
func TestHTMLReportInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found (scripts/tools.sh installs it)")
		}
		t.Skip("chromium not found; install it with scripts/tools.sh")
	}
	r, m := reportFixture(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	raw, _ := os.ReadFile(page)
	for _, external := range []string{"src=", "href=", "@import", "url("} {
		if bytes.Contains(raw, []byte(external)) {
			t.Errorf("page references an external asset (%s)", external)
		}
	}
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, bin, append(common, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	s := string(dom)
	if n := strings.Count(s, `<section class="chain"`); n != len(m.Accounts)*len(m.Regions) {
		t.Errorf("%d chain sections rendered", n)
	}
	for _, want := range []string{"missing_digests", "hash_mismatch", "trailing_data", "signature_mismatch", "moved", "key_not_found",
		`<rect class="gap"`, `<rect class="covered"`, `<line class="fail"`} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	for _, tm := range m.Tampered {
		if tm.Kind == synth.TamperDeleteLog && !strings.Contains(s, tm.Key) {
			t.Errorf("deleted log %s not listed", tm.Key)
		}
	}
	png := filepath.Join(dir, "report.png")
	cmd := exec.CommandContext(ctx, bin, append(common, "--hide-scrollbars", "--window-size=1100,1500", "--screenshot="+png, "file://"+page)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	img, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v", err)
	}
	if os.Getenv("LOGARCHIVE_UPDATE_DOCS") == "1" {
		if err := os.WriteFile("../../../docs/validate-report.png", img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
