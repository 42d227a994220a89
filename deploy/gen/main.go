// Command gen writes the generated CloudFormation templates of deploy/ from their single sources of
// truth, so they cannot drift:
//
//   - lake.yaml: the Glue tables from deploy/athena/*.sql (which pkg/sink's TestDDLMatchesWriterSchema
//     checks against the Parquet writer's schema), with the same partition projection;
//   - alarms.yaml: one alarm per metric the worker's rule packs publish (pkg/rules: CIS and the
//     elevated-role rule) plus the worker's own health metrics;
//   - cloudwatch-controls.yaml: the same rule pack as CloudWatch Logs metric filters and alarms on
//     the trail's log group, for Security Hub's CloudWatch.1–14 controls.
//
// Run `go generate ./deploy` (or `go run ./deploy/gen`) after changing a DDL file or a rule pack;
// deploy's TestGeneratedTemplates fails while a file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "deploy", "the deploy directory (templates are written here, DDL read from <dir>/athena)")
	flag.Parse()
	files, err := Render(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for name, data := range files {
		p := filepath.Join(*dir, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Println("gen: wrote", p)
	}
}

// Render returns the generated templates by file name.
func Render(dir string) (map[string][]byte, error) {
	lake, err := renderLake(filepath.Join(dir, "athena"))
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"lake.yaml":                lake,
		"alarms.yaml":              renderAlarms(),
		"cloudwatch-controls.yaml": renderControls(),
	}, nil
}
