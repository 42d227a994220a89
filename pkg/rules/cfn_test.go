package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTemplateYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "alarms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := LoadTemplate(data, TemplateOptions{Parameters: map[string]string{
		"TrailLogGroup": "org-trail", "AWS::StackName": "security",
	}})
	var ue *UnresolvedError
	if !errors.As(err, &ue) {
		t.Fatalf("want *UnresolvedError, got %v", err)
	}
	// AccountFilter: AWS::AccountId not given, ${OtherStack.Output} and GetAtt are deploy-time.
	var paths []string
	for _, u := range ue.Items {
		if u.Resource != "AccountFilter" {
			t.Errorf("unexpected unresolved %+v", u)
		}
		paths = append(paths, u.Path)
	}
	if strings.Join(paths, ",") != "Properties.FilterPattern,Properties.MetricTransformations[0].MetricNamespace" {
		t.Errorf("unresolved paths %v", paths)
	}
	if !strings.Contains(err.Error(), "AWS::AccountId") {
		t.Errorf("message should say which pseudo parameter is missing: %v", err)
	}
	if len(rules) != 2 {
		t.Fatalf("got %d rules, want 2: %+v", len(rules), rules)
	}
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.FilterName] = r
	}
	sw, ok := byName["prod-switch-elevated-role"]
	if !ok {
		t.Fatalf("rules %+v", rules)
	}
	if sw.FilterPattern != ElevatedRolePattern {
		t.Errorf("pattern\n got %s\nwant %s", sw.FilterPattern, ElevatedRolePattern)
	}
	mt := sw.MetricTransformations[0]
	if mt.MetricName != "prod-switch-elevated-count" || mt.MetricNamespace != "OrgTrailMetrics" || mt.Unit != "Count" {
		t.Errorf("transformation %+v", mt)
	}
	root, ok := byName["RootFilter"] // no FilterName: the logical ID
	if !ok || root.MetricTransformations[0].MetricNamespace != "security-cis" ||
		root.MetricTransformations[0].DefaultValue == nil || *root.MetricTransformations[0].DefaultValue != 0 {
		t.Errorf("root rule %+v", root)
	}
	if _, err := Compile(rules, Options{}); err != nil {
		t.Errorf("loaded rules do not compile: %v", err)
	}

	// Parameters change the result: staging namespace, no Unit (AWS::NoValue), root disabled.
	rules, err = LoadTemplate(data, TemplateOptions{Parameters: map[string]string{
		"TrailLogGroup": "g", "Env": "staging", "EnableRoot": "false", "ElevatedRoles": "break-glass,x",
		"AWS::AccountId": "123456789012",
	}})
	if !errors.As(err, &ue) || len(ue.Items) != 2 {
		t.Fatalf("want the two deploy-time values unresolved, got %v", err)
	}
	if len(rules) != 1 || rules[0].FilterName != "staging-switch-elevated-role" ||
		rules[0].MetricTransformations[0].MetricNamespace != "StagingMetrics" || rules[0].MetricTransformations[0].Unit != "" ||
		!strings.Contains(rules[0].FilterPattern, "assumed-role/break-glass/*") {
		t.Errorf("staging rules %+v", rules)
	}

	// A required parameter without a value is reported, naming it.
	_, err = LoadTemplate(data, TemplateOptions{})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "parameter TrailLogGroup has no value") {
		t.Errorf("missing parameter not reported: %v", err)
	}
	if _, err := LoadTemplate(data, TemplateOptions{Parameters: map[string]string{"Nope": "1"}}); err == nil {
		t.Error("undeclared parameter accepted")
	}
}

func TestLoadTemplateJSON(t *testing.T) {
	path := filepath.Join("testdata", "alarms.json")
	rules, err := LoadFile(path, map[string]string{"Env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].FilterPattern != ElevatedRolePattern ||
		rules[0].MetricTransformations[0].Dimensions[0] != (Dimension{"Account", "$.recipientAccountId"}) {
		t.Errorf("rules %+v", rules)
	}
	set, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Rules[0].Transform.Name() != "prod-switch-elevated-count" {
		t.Errorf("metric %s", set.Rules[0].Transform.Name())
	}
}

func TestLoadTemplateAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString(fmt.Sprintf("a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1))
	}
	b.WriteString("Resources: {}\n")
	if _, err := LoadTemplate([]byte(b.String()), TemplateOptions{}); err == nil {
		t.Error("alias bomb accepted")
	}
}
