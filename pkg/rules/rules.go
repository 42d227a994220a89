// Package rules holds metric-filter rules — entries shaped like AWS::Logs::MetricFilter properties
// plus the log sources they apply to — loads them from a rules file or a CloudFormation template,
// ships the built-in packs (CIS AWS Foundations monitoring filters, the elevated-role SwitchRole
// rule), and runs them over parsed records: every applicable rule is evaluated on every record,
// publishing metric samples exactly as CloudWatch metric filters would and a Finding per match.
//
// What it promises:
//   - A rule set is validated as PutMetricFilter validates it (pattern, exactly one transformation,
//     names, units, dimensions); errors name the rule and the field.
//   - Evaluation never re-parses a record: patterns run on Record.Raw, and the typed CloudTrail fields
//     decoded by pkg/parse only serve as a sound prefilter (a rule is skipped only when its pattern
//     provably cannot match; see Engine).
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/logarchive/logarchive/pkg/filter"
	"github.com/logarchive/logarchive/pkg/parse"
)

// Rule is one metric filter: the properties of AWS::Logs::MetricFilter (LogGroupName aside) plus
// the sources whose records it applies to.
type Rule struct {
	FilterName                string           `yaml:"FilterName" json:"FilterName"`
	FilterPattern             string           `yaml:"FilterPattern" json:"FilterPattern"`
	MetricTransformations     []Transformation `yaml:"MetricTransformations" json:"MetricTransformations"`
	EmitSystemFieldDimensions []string         `yaml:"EmitSystemFieldDimensions,omitempty" json:"EmitSystemFieldDimensions,omitempty"`
	// FieldSelectionCriteria restricts the events the filter considers by @aws.account and
	// @aws.region (e.g. `@aws.account IN ["111122223333"]`); events it does not select publish
	// nothing, not even a default value.
	FieldSelectionCriteria string `yaml:"FieldSelectionCriteria,omitempty" json:"FieldSelectionCriteria,omitempty"`
	// Sources are parse.Source names: cloudtrail, vpcflow, resolver (insight for CloudTrail Insights).
	// Empty means the Options' default (cloudtrail).
	Sources []string `yaml:"Sources,omitempty" json:"Sources,omitempty"`
}

// Transformation is AWS::Logs::MetricFilter MetricTransformation.
type Transformation struct {
	MetricName      string      `yaml:"MetricName" json:"MetricName"`
	MetricNamespace string      `yaml:"MetricNamespace" json:"MetricNamespace"`
	MetricValue     string      `yaml:"MetricValue" json:"MetricValue"`
	DefaultValue    *float64    `yaml:"DefaultValue,omitempty" json:"DefaultValue,omitempty"`
	Dimensions      []Dimension `yaml:"Dimensions,omitempty" json:"Dimensions,omitempty"`
	Unit            string      `yaml:"Unit,omitempty" json:"Unit,omitempty"`
}

// Dimension is a MetricTransformation dimension: Value is a field reference ($.eventName, $user).
type Dimension struct {
	Key   string `yaml:"Key" json:"Key"`
	Value string `yaml:"Value" json:"Value"`
}

// Error is a rule that cannot be used; Err is often a *filter.Error.
type Error struct {
	Rule  string // FilterName, or "#n" when the rule has none
	Field string // e.g. FilterPattern, MetricTransformations[0].Unit, Sources
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("rule %s: %s: %v", e.Rule, e.Field, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// rulesFile is the top level of a rules file: either a list of rules or {Rules: [...]}.
type rulesFile struct {
	Rules []Rule `yaml:"Rules"`
}

// Load reads a rules file (YAML or JSON). Unknown keys are errors, so a misspelt property does not
// silently disable a rule.
func Load(r io.Reader) ([]Rule, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("rules: reading: %w", err)
	}
	return parseRules(data)
}

// LoadFile reads a rules file, or a CloudFormation template when the document has a Resources
// section (params then resolve its parameters; see LoadTemplate).
func LoadFile(path string, params map[string]string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if isTemplate(data) {
		rules, err := LoadTemplate(data, TemplateOptions{Parameters: params})
		if err != nil {
			return rules, fmt.Errorf("rules: %s: %w", path, err)
		}
		return rules, nil
	}
	rules, err := parseRules(data)
	if err != nil {
		return nil, fmt.Errorf("rules: %s: %w", path, err)
	}
	return rules, nil
}

func parseRules(data []byte) ([]Rule, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var list []Rule
	if trimmed[0] == '[' || trimmed[0] == '-' {
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		return list, nil
	}
	var f rulesFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	return f.Rules, nil
}

// Options configure Compile.
type Options struct {
	// DefaultSources apply to rules without Sources. Nil means cloudtrail only: the metric filters this
	// project replaces sit on the organization trail's log group.
	DefaultSources []parse.Source
}

// Compiled is a validated rule ready to evaluate.
type Compiled struct {
	Rule      Rule
	Pattern   *filter.Pattern
	Transform *filter.Transform
	Selection *filter.Selection
	sources   [8]bool
}

// AppliesTo reports whether the rule runs on records of source s.
func (c *Compiled) AppliesTo(s parse.Source) bool { return int(s) < len(c.sources) && c.sources[s] }

// Set is a compiled rule set.
type Set struct {
	Rules []*Compiled
}

// Compile validates and compiles rules. It reports every invalid rule (errors.Join of *Error), not
// just the first.
func Compile(rules []Rule, opts Options) (*Set, error) {
	defaults := opts.DefaultSources
	if defaults == nil {
		defaults = []parse.Source{parse.SourceCloudTrail}
	}
	set := &Set{}
	var errs []error
	names := map[string]bool{}
	for i, r := range rules {
		c, err := compileRule(r, i, defaults)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if names[r.FilterName] {
			errs = append(errs, &Error{Rule: r.FilterName, Field: "FilterName", Err: errors.New("duplicate filter name")})
			continue
		}
		names[r.FilterName] = true
		set.Rules = append(set.Rules, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

func compileRule(r Rule, i int, defaults []parse.Source) (*Compiled, error) {
	name := r.FilterName
	if name == "" {
		name = fmt.Sprintf("#%d", i+1)
	}
	fail := func(field string, err error) error { return &Error{Rule: name, Field: field, Err: err} }
	if r.FilterName == "" || len(r.FilterName) > 512 || strings.ContainsAny(r.FilterName, ":*") {
		return nil, fail("FilterName", errors.New("must be 1-512 characters without ':' or '*'"))
	}
	p, err := filter.Compile(r.FilterPattern)
	if err != nil {
		return nil, fail("FilterPattern", err)
	}
	if len(r.MetricTransformations) != 1 {
		return nil, fail("MetricTransformations", fmt.Errorf("exactly one transformation is required, got %d", len(r.MetricTransformations)))
	}
	t := r.MetricTransformations[0]
	mt := filter.MetricTransformation{
		MetricName: t.MetricName, MetricNamespace: t.MetricNamespace, MetricValue: t.MetricValue,
		DefaultValue: t.DefaultValue, Unit: t.Unit,
	}
	if len(t.Dimensions) > 0 {
		mt.Dimensions = map[string]string{}
		for _, d := range t.Dimensions {
			if _, dup := mt.Dimensions[d.Key]; dup {
				return nil, fail("MetricTransformations[0].Dimensions", fmt.Errorf("dimension %q given twice", d.Key))
			}
			// EMF documents carry dimension values and metric values side by side as members.
			if d.Key == t.MetricName || d.Key == "_aws" {
				return nil, fail("MetricTransformations[0].Dimensions", fmt.Errorf("dimension %q cannot be named like the metric or _aws in EMF output", d.Key))
			}
			mt.Dimensions[d.Key] = d.Value
		}
	}
	tr, err := filter.NewTransform(p, mt, r.EmitSystemFieldDimensions)
	if err != nil {
		return nil, fail("MetricTransformations[0]", err)
	}
	sel, err := filter.CompileSelection(r.FieldSelectionCriteria)
	if err != nil {
		return nil, fail("FieldSelectionCriteria", err)
	}
	c := &Compiled{Rule: r, Pattern: p, Transform: tr, Selection: sel}
	srcs := r.Sources
	if len(srcs) == 0 {
		for _, s := range defaults {
			c.sources[s] = true
		}
	}
	for _, s := range srcs {
		src, ok := parse.ParseSource(s)
		if !ok || src == parse.SourceUnknown || src == parse.SourceDigest {
			return nil, fail("Sources", fmt.Errorf("unknown source %q (want cloudtrail, insight, vpcflow or resolver)", s))
		}
		c.sources[src] = true
	}
	return c, nil
}
