package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// cfnTemplate is the part of a template these tests read; intrinsic functions stay yaml.Nodes.
type cfnTemplate struct {
	Parameters map[string]struct {
		Default string `yaml:"Default"`
	} `yaml:"Parameters"`
	Resources map[string]struct {
		Type       string               `yaml:"Type"`
		Condition  string               `yaml:"Condition"`
		Properties map[string]yaml.Node `yaml:"Properties"`
	} `yaml:"Resources"`
}

func readTemplate(t *testing.T, name string) cfnTemplate {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tpl
}

// scalar resolves a plain scalar or a !Sub of parameters (at their defaults, or params).
func (tpl cfnTemplate) scalar(t *testing.T, n yaml.Node, params map[string]string) string {
	t.Helper()
	if n.Kind != yaml.ScalarNode {
		t.Fatalf("line %d: not a scalar (%v)", n.Line, n.Tag)
	}
	switch n.Tag {
	case "!Sub":
		return os.Expand(n.Value, func(k string) string {
			if v, ok := params[k]; ok {
				return v
			}
			p, ok := tpl.Parameters[k]
			if !ok {
				t.Fatalf("line %d: ${%s} is not a parameter", n.Line, k)
			}
			return p.Default
		})
	case "!!str", "!!int", "":
		return n.Value
	}
	t.Fatalf("line %d: cannot resolve %s", n.Line, n.Tag)
	return ""
}

type metricKey struct{ namespace, name, dims string }

// alarmMetrics lists the (namespace, metric, dimension names) of every rule alarm of alarms.yaml
// whose namespace is a literal (the rule packs'), by logical id.
func alarmMetrics(t *testing.T, tpl cfnTemplate, params map[string]string) map[string]metricKey {
	out := map[string]metricKey{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		ns := r.Properties["Namespace"]
		if ns.Tag == "!Ref" || ns.Value == "AWS/SQS" {
			continue // the worker's health metrics and SQS's own
		}
		var dims []string
		if d, ok := r.Properties["Dimensions"]; ok {
			for _, item := range d.Content {
				var dim struct {
					Name  string `yaml:"Name"`
					Value string `yaml:"Value"`
				}
				if err := item.Decode(&dim); err != nil {
					t.Fatal(err)
				}
				dims = append(dims, dim.Name+"="+dim.Value)
			}
		}
		out[id] = metricKey{tpl.scalar(t, ns, params), tpl.scalar(t, r.Properties["MetricName"], params), strings.Join(dims, ",")}
	}
	return out
}

// buildCmd compiles ./cmd/<name> into dir the way the image does (static, trimmed), so these
// tests and deploy/image's share one build cache instead of compiling the module twice more.
func buildCmd(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/"+name)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return bin
}

func buildIngest(t *testing.T, dir string) string { return buildCmd(t, dir, "ingest") }

// TestAlarmsMatchWorkerEMF is the acceptance check that the elevated-role alarm watches what the
// worker publishes: the demo's archive goes through `ingest local --metrics-out`, and the EMF
// documents' namespace, metric name and dimension set must equal the alarm's, with the template's
// EnvPrefix and the worker's --env-prefix set alike. Every rule metric the demo emits has an alarm.
func TestAlarmsMatchWorkerEMF(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ingest")
	}
	dir := t.TempDir()
	bin := buildIngest(t, dir)
	opts := synth.DefaultOptions(3)
	// Recent activity, as the demo makes it: CloudWatch takes EMF samples at most 14 days old.
	opts.Start = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	opts.Hours, opts.EventsPerHour, opts.FlowRecordsPerHour, opts.ResolverQueriesPerHour = 1, 20, -1, -1
	man, err := synth.Generate(context.Background(), store.NewLocal(filepath.Join(dir, "archive")), opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := synth.MarshalPublicKeys(man.PublicKeys)
	os.WriteFile(filepath.Join(dir, "keys.json"), keys, 0o644)

	tpl := readTemplate(t, "alarms.yaml")
	for _, prefix := range []string{"", "staging"} {
		args := []string{"local", "--src", filepath.Join(dir, "archive"), "--dest", filepath.Join(dir, "lake-"+prefix),
			"--public-keys", filepath.Join(dir, "keys.json"), "--metrics-out", filepath.Join(dir, "m-"+prefix+".jsonl"), "--log-level", "warn"}
		params := map[string]string{}
		if prefix != "" {
			args = append(args, "--env-prefix", prefix)
			params["EnvPrefix"] = prefix
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ingest local: %v\n%s", err, out)
		}
		emitted := readEMF(t, filepath.Join(dir, "m-"+prefix+".jsonl"))
		alarms := alarmMetrics(t, tpl, params)
		elevated, ok := alarms["ElevatedRoleSwitchAlarm"]
		if !ok {
			t.Fatal("alarms.yaml has no ElevatedRoleSwitchAlarm")
		}
		if emitted[elevated] < 1 {
			t.Errorf("env prefix %q: the alarm watches %+v; the worker emitted %v", prefix, elevated, emitted)
		}
		watched := map[metricKey]bool{}
		for _, k := range alarms {
			watched[k] = true
		}
		for k := range emitted {
			if !watched[k] {
				t.Errorf("env prefix %q: the worker emits %+v and no alarm watches it", prefix, k)
			}
		}
	}
}

// readEMF sums the values of every (namespace, metric, dimensions as name=value) in an EMF file.
func readEMF(t *testing.T, p string) map[metricKey]float64 {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[metricKey]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
			t.Fatal(err)
		}
		for _, d := range meta.CloudWatchMetrics {
			for _, dimSet := range d.Dimensions {
				for _, m := range d.Metrics {
					var v float64
					var vs []float64
					if json.Unmarshal(doc[m.Name], &v) != nil {
						if err := json.Unmarshal(doc[m.Name], &vs); err != nil {
							t.Fatalf("metric %s value %s", m.Name, doc[m.Name])
						}
						for _, x := range vs {
							v += x
						}
					}
					var dims []string
					for _, name := range dimSet {
						var val string
						json.Unmarshal(doc[name], &val)
						dims = append(dims, name+"="+val)
					}
					out[metricKey{d.Namespace, m.Name, strings.Join(dims, ",")}] += v
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no metrics", p)
	}
	return out
}
