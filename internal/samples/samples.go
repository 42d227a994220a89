// Package samples locates the shared reference material (specs and real public sample logs) that
// lives beside the repository checkout, at ../shared, for tests and benchmarks.
package samples

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the absolute path of ../shared relative to the module root, or "" when absent.
func SharedDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if st, err := os.Stat(shared); err == nil && st.IsDir() {
				return filepath.Clean(shared)
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Samples returns ../shared/samples/<elem...>. It fails the test when the samples are missing under
// CI (they always travel with the checkout there) and skips it, saying why, elsewhere.
func Samples(tb testing.TB, elem ...string) string {
	tb.Helper()
	shared := SharedDir()
	if shared == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("../shared/samples not found beside the checkout")
		}
		tb.Skip("../shared/samples not found beside the checkout; skipping sample-based test")
	}
	return filepath.Join(append([]string{shared, "samples"}, elem...)...)
}
