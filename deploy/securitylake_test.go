package deploy

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// statements decodes a policy resource's statements with their Action and Resource as written
// (a list, a scalar or a !Ref).
func statements(t *testing.T, tpl cfnTemplate, resource string) (condition string, sts []map[string]yaml.Node) {
	t.Helper()
	res, ok := tpl.Resources[resource]
	if !ok {
		t.Fatalf("no resource %s", resource)
	}
	var doc struct {
		Statement []map[string]yaml.Node `yaml:"Statement"`
	}
	n := res.Properties["PolicyDocument"]
	if err := n.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return res.Condition, doc.Statement
}

// TestWorkerSecurityLakeGrants: with Security Lake configured, the task role may assume the
// provider roles and delete (roll back) under the sources' prefixes, nothing more: it never writes
// the lake itself; the provider roles do (cmd/ingest TestSecurityLakeProviderRoles checks the
// signatures on the wire). Without the parameters the policies do not exist.
func TestWorkerSecurityLakeGrants(t *testing.T) {
	tpl := readTemplate(t, "worker.yaml")
	for _, tc := range []struct{ resource, condition, action, param string }{
		{"TaskSecurityLakePolicy", "HasSecurityLake", "sts:AssumeRole", "SecurityLakeProviderRoleArns"},
		{"TaskSecurityLakeRollbackPolicy", "HasSecurityLakeRollback", "s3:DeleteObject", "SecurityLakeRollbackArns"},
	} {
		cond, sts := statements(t, tpl, tc.resource)
		if cond != tc.condition {
			t.Errorf("%s: condition %q, want %q", tc.resource, cond, tc.condition)
		}
		if len(sts) != 1 {
			t.Fatalf("%s: %d statements, want 1", tc.resource, len(sts))
		}
		st := sts[0]
		action, res := st["Action"], st["Resource"]
		if action.Kind != yaml.ScalarNode || action.Value != tc.action {
			t.Errorf("%s: action %q, want only %s", tc.resource, action.Value, tc.action)
		}
		if res.Tag != "!Ref" || res.Value != tc.param {
			t.Errorf("%s: resource %s %q, want !Ref %s", tc.resource, res.Tag, res.Value, tc.param)
		}
		if e := st["Effect"]; e.Value != "Allow" {
			t.Errorf("%s: effect %q", tc.resource, e.Value)
		}
	}
	// The role's main policy names no Security Lake resource.
	main := tpl.Resources["TaskRole"].Properties["Policies"]
	b, err := yaml.Marshal(&main)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SecurityLake") {
		t.Errorf("TaskRole's own policy mentions Security Lake:\n%s", b)
	}
}

// TestWorkerEnvironmentNamesFlags: every LOGARCHIVE_* variable the task definition sets is a flag
// of `ingest run` or `ingest backfill`, the two commands it runs (internal/envflag ignores a variable
// no flag reads, so a misspelt one would be silently without effect), conditional ones (!If)
// included.
func TestWorkerEnvironmentNamesFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ingest")
	}
	tpl := readTemplate(t, "worker.yaml")
	var containers []struct {
		Environment []yaml.Node `yaml:"Environment"`
	}
	n := tpl.Resources["TaskDefinition"].Properties["ContainerDefinitions"]
	if err := n.Decode(&containers); err != nil || len(containers) != 1 {
		t.Fatalf("container definitions: %v (%d)", err, len(containers))
	}
	var names []string
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "Name" && strings.HasPrefix(n.Content[i+1].Value, "LOGARCHIVE_") {
					names = append(names, n.Content[i+1].Value)
				}
			}
		case yaml.SequenceNode: // the branches of an !If
			for _, c := range n.Content {
				collect(c)
			}
		}
	}
	for i := range containers[0].Environment {
		collect(&containers[0].Environment[i])
	}
	if len(names) < 10 {
		t.Fatalf("found only %v", names)
	}
	bin := buildIngest(t, t.TempDir())
	var help []byte
	for _, cmd := range []string{"run", "backfill"} {
		out, err := exec.Command(bin, cmd, "-h").CombinedOutput()
		if err != nil {
			t.Fatalf("ingest %s -h: %v\n%s", cmd, err, out)
		}
		help = append(help, out...)
	}
	seen := map[string]bool{}
	for _, name := range names {
		flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "LOGARCHIVE_"), "_", "-"))
		if !regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(flagName) + `\b`).Match(help) {
			t.Errorf("%s: neither `ingest run` nor `ingest backfill` has --%s", name, flagName)
		}
		seen[name] = true
	}
	for _, want := range []string{"LOGARCHIVE_FORMAT", "LOGARCHIVE_SECURITY_LAKE_PROVIDERS"} {
		if !seen[want] {
			t.Errorf("the task definition does not set %s", want)
		}
	}
}
