package rules

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// TemplateOptions configure LoadTemplate.
type TemplateOptions struct {
	// Parameters give template parameter values (key=value on the command line) and pseudo
	// parameters such as AWS::AccountId, AWS::Region, AWS::Partition or AWS::StackName. Template
	// parameter defaults fill in the rest.
	Parameters map[string]string
	// Sources are set on every rule loaded (empty: the rule set's default, cloudtrail).
	Sources []string
}

// Unresolved is one value of a template that could not be resolved offline.
type Unresolved struct {
	Resource string // logical ID
	Path     string // e.g. Properties.FilterPattern
	Reason   string
}

// UnresolvedError lists every AWS::Logs::MetricFilter value LoadTemplate could not resolve; the
// rules that resolved fully are still returned beside it.
type UnresolvedError struct {
	Items []Unresolved
}

func (e *UnresolvedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d template value(s) cannot be resolved:", len(e.Items))
	for _, u := range e.Items {
		fmt.Fprintf(&b, "\n  %s.%s: %s", u.Resource, u.Path, u.Reason)
	}
	return b.String()
}

func isTemplate(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return false
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "Resources" {
			return true
		}
	}
	return false
}

// maxTemplateNodes bounds the values a template may expand to: YAML aliases can multiply a small
// document exponentially ("billion laughs"). CloudFormation's own limit is 1 MB of template text.
const maxTemplateNodes = 1 << 20

// fromNode converts YAML (or JSON) into plain values — string scalars, []any, map[string]any —
// rewriting short-form intrinsics (!Ref, !Sub, !Join, …) into their long form.
func fromNode(n *yaml.Node) (any, error) {
	budget := maxTemplateNodes
	return convertNode(n, &budget)
}

func convertNode(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, errors.New("template expands to too many values (YAML aliases?)")
	}
	fromNode := func(n *yaml.Node) (any, error) { return convertNode(n, budget) }
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			v = nil
		} else {
			v = n.Value
		}
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			x, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		v = list
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			x, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = x
		}
		v = m
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		switch name {
		case "Ref", "Condition":
		default:
			name = "Fn::" + name
		}
		if name == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				parts := strings.SplitN(s, ".", 2)
				l := make([]any, len(parts))
				for i, p := range parts {
					l[i] = p
				}
				v = l
			}
		}
		return map[string]any{name: v}, nil
	}
	return v, nil
}

type template struct {
	params     map[string]any
	mappings   map[string]any
	conditions map[string]any
	resources  map[string]any
	condCache  map[string]*bool
}

type resolveErr struct{ path, reason string }

func (e *resolveErr) Error() string { return e.reason }

// LoadTemplate reads the AWS::Logs::MetricFilter resources of a CloudFormation template (YAML with
// short-form tags, or JSON). Values are resolved from parameters, template defaults, mappings and
// conditions; whatever cannot be resolved offline (GetAtt, ImportValue, references to resources,
// parameters without a value) is reported in an *UnresolvedError, and the rule is left out.
func LoadTemplate(data []byte, opts TemplateOptions) ([]Rule, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	doc, err := fromNode(&root)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("template: the document is not a mapping")
	}
	t := &template{params: map[string]any{}, condCache: map[string]*bool{}}
	t.mappings, _ = top["Mappings"].(map[string]any)
	t.conditions, _ = top["Conditions"].(map[string]any)
	t.resources, _ = top["Resources"].(map[string]any)
	if t.resources == nil {
		return nil, errors.New("template: no Resources section")
	}
	declared, _ := top["Parameters"].(map[string]any)
	for name, decl := range declared {
		d, _ := decl.(map[string]any)
		typ, _ := d["Type"].(string)
		val, given := opts.Parameters[name]
		if !given {
			def, has := d["Default"]
			if !has {
				continue
			}
			s, ok := def.(string)
			if !ok {
				continue
			}
			val = s
		}
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var l []any
			for _, p := range strings.Split(val, ",") {
				l = append(l, strings.TrimSpace(p))
			}
			t.params[name] = l
		} else {
			t.params[name] = val
		}
	}
	for k, v := range opts.Parameters {
		if strings.HasPrefix(k, "AWS::") {
			t.params[k] = v
		} else if _, ok := declared[k]; !ok {
			return nil, fmt.Errorf("template: parameter %q is not declared by the template", k)
		}
	}

	ids := make([]string, 0, len(t.resources))
	for id := range t.resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var rules []Rule
	var unresolved []Unresolved
	for _, id := range ids {
		res, _ := t.resources[id].(map[string]any)
		if typ, _ := res["Type"].(string); typ != "AWS::Logs::MetricFilter" {
			continue
		}
		if cond, ok := res["Condition"].(string); ok {
			on, err := t.condition(cond)
			if err != nil {
				unresolved = append(unresolved, Unresolved{id, "Condition", err.Error()})
				continue
			}
			if !on {
				continue
			}
		}
		props, _ := res["Properties"].(map[string]any)
		var errs []Unresolved
		resolved := map[string]any{}
		for _, k := range sortedKeys(props) {
			v, err := t.resolve(props[k], "Properties."+k)
			if err != nil {
				var re *resolveErr
				if errors.As(err, &re) {
					errs = append(errs, Unresolved{id, re.path, re.reason})
					continue
				}
				return nil, err
			}
			if v != noValue {
				resolved[k] = v
			}
		}
		if len(errs) > 0 {
			unresolved = append(unresolved, errs...)
			continue
		}
		r, bad := toRule(id, resolved)
		if len(bad) > 0 {
			unresolved = append(unresolved, bad...)
			continue
		}
		r.Sources = append([]string(nil), opts.Sources...)
		rules = append(rules, r)
	}
	if len(unresolved) > 0 {
		return rules, &UnresolvedError{Items: unresolved}
	}
	return rules, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// noValue is what AWS::NoValue resolves to: the property is dropped.
var noValue = &struct{ x int }{}

func (t *template) resolve(v any, path string) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			r, err := t.resolve(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return t.intrinsic(k, arg, path)
				}
			}
		}
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := t.resolve(x[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (t *template) ref(name, path string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if v, ok := t.params[name]; ok {
		return v, nil
	}
	if strings.HasPrefix(name, "AWS::") {
		return nil, &resolveErr{path, fmt.Sprintf("pseudo parameter %s has no value (pass %s=…)", name, name)}
	}
	if _, ok := t.resources[name]; ok {
		return nil, &resolveErr{path, fmt.Sprintf("Ref %s refers to a resource, known only once deployed", name)}
	}
	return nil, &resolveErr{path, fmt.Sprintf("parameter %s has no value and no default (pass %s=…)", name, name)}
}

func (t *template) str(v any, path, what string) (string, error) {
	r, err := t.resolve(v, path)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", &resolveErr{path, what + " must resolve to a string"}
	}
	return s, nil
}

func (t *template) intrinsic(fn string, arg any, path string) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, &resolveErr{path, "Ref needs a name"}
		}
		return t.ref(name, path)
	case "Fn::Sub":
		var text string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			text = a
		case []any:
			if len(a) != 2 {
				return nil, &resolveErr{path, "Fn::Sub takes a string or [string, map]"}
			}
			s, ok := a[0].(string)
			m, ok2 := a[1].(map[string]any)
			if !ok || !ok2 {
				return nil, &resolveErr{path, "Fn::Sub takes a string or [string, map]"}
			}
			text = s
			for k, v := range m {
				r, err := t.resolve(v, path+".Fn::Sub."+k)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		default:
			return nil, &resolveErr{path, "Fn::Sub takes a string or [string, map]"}
		}
		return t.sub(text, vars, path)
	case "Fn::Join":
		if len(args) != 2 {
			return nil, &resolveErr{path, "Fn::Join takes [delimiter, list]"}
		}
		delim, ok := args[0].(string)
		if !ok {
			return nil, &resolveErr{path, "Fn::Join delimiter must be a string"}
		}
		list, err := t.resolve(args[1], path+".Fn::Join")
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, &resolveErr{path, "Fn::Join needs a list"}
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, &resolveErr{path, "Fn::Join items must be strings"}
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		if len(args) != 2 {
			return nil, &resolveErr{path, "Fn::Select takes [index, list]"}
		}
		is, err := t.str(args[0], path, "Fn::Select index")
		if err != nil {
			return nil, err
		}
		list, err := t.resolve(args[1], path+".Fn::Select")
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		i, err2 := strconv.Atoi(is)
		if err2 != nil || i < 0 || i >= len(items) {
			return nil, &resolveErr{path, fmt.Sprintf("Fn::Select index %s out of range", is)}
		}
		return items[i], nil
	case "Fn::Split":
		if len(args) != 2 {
			return nil, &resolveErr{path, "Fn::Split takes [delimiter, string]"}
		}
		delim, ok := args[0].(string)
		if !ok {
			return nil, &resolveErr{path, "Fn::Split delimiter must be a string"}
		}
		s, err := t.str(args[1], path, "Fn::Split source")
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		if len(args) != 3 {
			return nil, &resolveErr{path, "Fn::If takes [condition, then, else]"}
		}
		name, ok := args[0].(string)
		if !ok {
			return nil, &resolveErr{path, "Fn::If needs a condition name"}
		}
		on, err := t.condition(name)
		if err != nil {
			return nil, &resolveErr{path, err.Error()}
		}
		if on {
			return t.resolve(args[1], path)
		}
		return t.resolve(args[2], path)
	case "Fn::FindInMap":
		if len(args) != 3 {
			return nil, &resolveErr{path, "Fn::FindInMap takes [map, key, key]"}
		}
		var keys [3]string
		for i := range keys {
			s, err := t.str(args[i], path, "Fn::FindInMap key")
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		m1, _ := t.mappings[keys[0]].(map[string]any)
		m2, _ := m1[keys[1]].(map[string]any)
		v, ok := m2[keys[2]]
		if !ok {
			return nil, &resolveErr{path, fmt.Sprintf("mapping %s.%s.%s not found", keys[0], keys[1], keys[2])}
		}
		return t.resolve(v, path)
	}
	return nil, &resolveErr{path, fmt.Sprintf("%s cannot be resolved without deploying the stack", fn)}
}

// sub expands ${Name} (variables, parameters, pseudo parameters) and ${!Literal}.
func (t *template) sub(text string, vars map[string]any, path string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			b.WriteString(text[i:])
			return b.String(), nil
		}
		name := text[i+2 : i+end]
		text = text[i+end+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v any
		if x, ok := vars[name]; ok {
			v = x
		} else if strings.Contains(name, ".") {
			return "", &resolveErr{path, fmt.Sprintf("${%s} is a resource attribute, known only once deployed", name)}
		} else {
			x, err := t.ref(name, path)
			if err != nil {
				return "", err
			}
			v = x
		}
		s, ok := v.(string)
		if !ok {
			return "", &resolveErr{path, fmt.Sprintf("${%s} does not resolve to a string", name)}
		}
		b.WriteString(s)
	}
}

func (t *template) condition(name string) (bool, error) {
	if c, ok := t.condCache[name]; ok {
		if c == nil {
			return false, fmt.Errorf("condition %s refers to itself", name)
		}
		return *c, nil
	}
	def, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	t.condCache[name] = nil
	v, err := t.condExpr(def, "Conditions."+name)
	if err != nil {
		delete(t.condCache, name)
		return false, err
	}
	t.condCache[name] = &v
	return v, nil
}

func (t *template) condExpr(v any, path string) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("%s: not a condition function", path)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return t.condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("%s: Fn::Equals takes two values", path)
			}
			a, err := t.resolve(args[0], path)
			if err != nil {
				return false, err
			}
			b, err := t.resolve(args[1], path)
			if err != nil {
				return false, err
			}
			return fmt.Sprint(a) == fmt.Sprint(b), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("%s: Fn::Not takes one condition", path)
			}
			r, err := t.condExpr(args[0], path)
			return !r, err
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				r, err := t.condExpr(a, path)
				if err != nil {
					return false, err
				}
				if r != and {
					return r, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s: %s is not a condition function", path, fn)
	}
	return false, nil
}

// toRule maps resolved MetricFilter properties onto a Rule.
func toRule(id string, p map[string]any) (Rule, []Unresolved) {
	var bad []Unresolved
	fail := func(path, reason string) { bad = append(bad, Unresolved{id, path, reason}) }
	str := func(v any, path string) string {
		if v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			fail(path, "must be a string")
		}
		return s
	}
	r := Rule{FilterName: str(p["FilterName"], "Properties.FilterName")}
	if r.FilterName == "" {
		// CloudFormation generates a name; the logical ID is the stable one we have.
		r.FilterName = id
	}
	r.FilterPattern = str(p["FilterPattern"], "Properties.FilterPattern")
	if _, ok := p["FilterPattern"]; !ok {
		fail("Properties.FilterPattern", "required property missing")
	}
	r.FieldSelectionCriteria = str(p["FieldSelectionCriteria"], "Properties.FieldSelectionCriteria")
	if v, ok := p["ApplyOnTransformedLogs"]; ok && v != "false" {
		fail("Properties.ApplyOnTransformedLogs", "log transformers are not supported by the offline engine (it would change which events count)")
	}
	if list, ok := p["EmitSystemFieldDimensions"].([]any); ok {
		for i, v := range list {
			r.EmitSystemFieldDimensions = append(r.EmitSystemFieldDimensions, str(v, fmt.Sprintf("Properties.EmitSystemFieldDimensions[%d]", i)))
		}
	}
	mts, ok := p["MetricTransformations"].([]any)
	if !ok {
		fail("Properties.MetricTransformations", "required list missing")
	}
	for i, m := range mts {
		path := fmt.Sprintf("Properties.MetricTransformations[%d]", i)
		mm, ok := m.(map[string]any)
		if !ok {
			fail(path, "must be a mapping")
			continue
		}
		tr := Transformation{
			MetricName:      str(mm["MetricName"], path+".MetricName"),
			MetricNamespace: str(mm["MetricNamespace"], path+".MetricNamespace"),
			MetricValue:     str(mm["MetricValue"], path+".MetricValue"),
			Unit:            str(mm["Unit"], path+".Unit"),
		}
		if dv, ok := mm["DefaultValue"]; ok && dv != nil {
			f, err := strconv.ParseFloat(str(dv, path+".DefaultValue"), 64)
			if err != nil {
				fail(path+".DefaultValue", "must be a number")
			}
			tr.DefaultValue = &f
		}
		if dims, ok := mm["Dimensions"].([]any); ok {
			for j, d := range dims {
				dm, _ := d.(map[string]any)
				tr.Dimensions = append(tr.Dimensions, Dimension{
					Key:   str(dm["Key"], fmt.Sprintf("%s.Dimensions[%d].Key", path, j)),
					Value: str(dm["Value"], fmt.Sprintf("%s.Dimensions[%d].Value", path, j)),
				})
			}
		}
		r.MetricTransformations = append(r.MetricTransformations, tr)
	}
	return r, bad
}
