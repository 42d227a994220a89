package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireTool finds a test tool on PATH; without it the test is skipped, or fails under CI
// (scripts/tools.sh installs it, so CI must not silently skip).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not on PATH (CI is set; scripts/tools.sh installs it): %v", name, err)
		}
		t.Skipf("%s not on PATH (scripts/tools.sh installs it): %v", name, err)
	}
	return p
}

func templates(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("templates %v: %v", files, err)
	}
	return files
}

// TestCfnLint: every template is free of cfn-lint errors and warnings (exit code 0; informational
// findings would exit 8, which we also refuse).
func TestCfnLint(t *testing.T) {
	bin := requireTool(t, "cfn-lint")
	out, err := exec.Command(bin, append([]string{"--format", "parseable"}, templates(t)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}
