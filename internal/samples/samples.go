// Package samples locates the real public sample logs that tests and benchmarks read: the corpus
// under testdata/samples at the module root, with its provenance (SOURCES.md) and licences
// (LICENSES/). It travels with the repository, so a clone tests itself and no test reads outside it.
package samples

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// modulePath identifies this repository's go.mod, so a go.mod of some enclosing module (or of a
// test's temporary directory) is never mistaken for the root.
const modulePath = "module github.com/logarchive/logarchive"

// Dir returns the absolute path of testdata/samples at the module root, found by walking up from
// the working directory (go test runs a test in its package's directory) to this module's go.mod.
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("samples: working directory: %w", err)
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && isThisModule(mod) {
			d := filepath.Join(dir, "testdata", "samples")
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				return "", fmt.Errorf("samples: %s missing from the checkout", d)
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("samples: no go.mod of github.com/logarchive/logarchive above the working directory")
		}
		dir = parent
	}
}

func isThisModule(gomod []byte) bool {
	for _, line := range bytes.Split(gomod, []byte("\n")) {
		if string(bytes.TrimSpace(line)) == modulePath {
			return true
		}
	}
	return false
}

// Samples returns testdata/samples/<elem...>. The corpus is part of the repository, so its absence
// is a broken checkout and fails the test rather than skipping it.
func Samples(tb testing.TB, elem ...string) string {
	tb.Helper()
	d, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(append([]string{d}, elem...)...)
}
