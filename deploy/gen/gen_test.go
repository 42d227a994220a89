package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
)

// TestGeneratedTemplates fails while a generated template differs from what its sources give.
func TestGeneratedTemplates(t *testing.T) {
	files, err := Render("..")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/%s is stale: run `go generate ./deploy`", name)
		}
	}
}

// TestLakeTablesFollowDDL checks the parse the Glue tables come from: every sink table, every DDL
// column in order (nested types included), and the projection properties.
func TestLakeTablesFollowDDL(t *testing.T) {
	ddls, err := ReadDDL(filepath.Join("..", "athena"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ddls) != len(sink.Tables()) {
		t.Fatalf("%d DDL tables, sink writes %d", len(ddls), len(sink.Tables()))
	}
	lake, err := os.ReadFile(filepath.Join("..", "lake.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ddls {
		raw, _ := os.ReadFile(filepath.Join("..", "athena", d.Table+".sql"))
		for _, c := range d.Columns {
			// The column's name and type appear in the DDL text (modulo whitespace) ...
			flat := strings.Join(strings.Fields(strings.ToLower(string(raw))), "")
			if !strings.Contains(flat, "`"+c.Name+"`"+c.Type) {
				t.Errorf("%s: parsed column %s %s not in the DDL", d.Table, c.Name, c.Type)
			}
			// ... and in the Glue table.
			if !bytes.Contains(lake, []byte("{ Name: "+c.Name+", Type: '"+c.Type+"' }")) {
				t.Errorf("%s: column %s %s missing from lake.yaml", d.Table, c.Name, c.Type)
			}
		}
		if d.Props["projection.enabled"] != "true" || d.Props["projection.dt.type"] != "date" {
			t.Errorf("%s: projection properties %v", d.Table, d.Props)
		}
	}
	if _, err := ParseDDL("CREATE EXTERNAL TABLE x (a string, b struct<c:string>"); err == nil {
		t.Error("unbalanced DDL parsed")
	}
}

// TestControlsTemplateLoadsAsRules reads cloudwatch-controls.yaml back with the worker's own
// template loader: the filters it deploys are exactly the worker's built-in rules.
func TestControlsTemplateLoadsAsRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "cloudwatch-controls.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := rules.LoadTemplate(data, rules.TemplateOptions{Parameters: map[string]string{
		"TrailLogGroupName": "org-trail", "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:t", "AWS::StackName": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := rules.Builtin([]string{"elevated-role", "cis"}, "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]rules.Rule{}
	for _, r := range got {
		byName[r.FilterName] = r
	}
	if len(got) != len(want) {
		t.Errorf("template has %d filters, built-in packs %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := byName[w.FilterName]
		if !ok {
			t.Errorf("filter %s missing", w.FilterName)
			continue
		}
		if g.FilterPattern != w.FilterPattern || g.MetricTransformations[0].MetricName != w.MetricTransformations[0].MetricName {
			t.Errorf("filter %s: %q → %s, want %q → %s", w.FilterName, g.FilterPattern, g.MetricTransformations[0].MetricName, w.FilterPattern, w.MetricTransformations[0].MetricName)
		}
	}
}
