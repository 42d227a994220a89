package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: a rules file never panics the loader or the compiler; failures are errors.
func FuzzLoad(f *testing.F) {
	f.Add("Rules:\n  - FilterName: a\n    FilterPattern: ERROR\n    MetricTransformations:\n      - {MetricName: m, MetricNamespace: n, MetricValue: 1}\n")
	f.Add(`[{"FilterName":"x","FilterPattern":"{ $.a = 1 }","MetricTransformations":[{"MetricName":"m","MetricNamespace":"n","MetricValue":"$.a","DefaultValue":0}],"Sources":["vpcflow"]}]`)
	f.Add("- FilterName: &a x\n  FilterPattern: *a\n")
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := Load(strings.NewReader(text))
		if err != nil {
			return
		}
		if _, err := Compile(rules, Options{}); err != nil {
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("compile error %v is not a *rules.Error", err)
			}
		}
	})
}

// FuzzLoadTemplate: templates with arbitrary intrinsics resolve or report, never panic.
func FuzzLoadTemplate(f *testing.F) {
	for _, name := range []string{"alarms.yaml", "alarms.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("Resources:\n  F:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n      FilterPattern: !If [C, !Select [9, !Split [',', a]], !FindInMap [M, !Ref A, b]]\nConditions:\n  C: !Not [!Condition C]\n")
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := LoadTemplate([]byte(text), TemplateOptions{Parameters: map[string]string{"AWS::Region": "eu-west-1"}})
		var ue *UnresolvedError
		if err != nil && errors.As(err, &ue) && len(ue.Items) == 0 {
			t.Fatal("UnresolvedError without items")
		}
		for _, r := range rules {
			if r.FilterName == "" {
				t.Fatalf("rule without a name: %+v", r)
			}
		}
	})
}
