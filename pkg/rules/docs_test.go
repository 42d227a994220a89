package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/pkg/filter"
)

// yamlBlocks returns the ```yaml blocks of a markdown file that hold rules.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	parts := strings.Split(string(b), "```yaml\n")
	for _, p := range parts[1:] {
		block, _, ok := strings.Cut(p, "```")
		if !ok {
			t.Fatalf("%s: unterminated yaml block", path)
		}
		if strings.Contains(block, "FilterName:") {
			out = append(out, block)
		}
	}
	return out
}

// TestDocumentedRulesFiles: the rules examples in docs/rules.md and the README load and pass
// PutMetricFilter's validation, and the documented example matches what it says it matches.
func TestDocumentedRulesFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	docs := yamlBlocks(t, filepath.Join(root, "docs", "rules.md"))
	readme := yamlBlocks(t, filepath.Join(root, "README.md"))
	if len(docs) == 0 || len(readme) == 0 {
		t.Fatalf("rules examples: %d in docs/rules.md, %d in README.md", len(docs), len(readme))
	}
	for i, block := range append(docs, readme...) {
		rs, err := Load(strings.NewReader(block))
		if err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if len(rs) == 0 {
			t.Fatalf("example %d: no rules", i)
		}
		if _, err := Compile(rs, Options{}); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
	}

	rs, _ := Load(strings.NewReader(docs[0]))
	cases := map[string]struct{ match, miss string }{
		"console-login-without-mfa": {
			`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"},"recipientAccountId":"111122223333"}`,
			`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"},"recipientAccountId":"111122223333"}`,
		},
		"large-s3-get": {
			`{"eventName":"GetObject","additionalEventData":{"bytesTransferredOut":250000000}}`,
			`{"eventName":"GetObject","additionalEventData":{"bytesTransferredOut":1024}}`,
		},
		"ssh-accepted": {
			"2 111122223333 eni-0a1b 198.51.100.7 10.0.1.5 49152 22 6 20 4249 1700000000 1700000060 ACCEPT OK",
			"2 111122223333 eni-0a1b 198.51.100.7 10.0.1.5 49152 22 6 20 4249 1700000000 1700000060 REJECT OK",
		},
		"dns-firewall-block": {
			`{"query_name":"evil.example.","firewall_rule_action":"BLOCK"}`,
			`{"query_name":"example.com.","firewall_rule_action":"ALERT"}`,
		},
	}
	for _, r := range rs {
		c, ok := cases[r.FilterName]
		if !ok {
			t.Errorf("rule %s in docs/rules.md has no test case", r.FilterName)
			continue
		}
		p, err := filter.Compile(r.FilterPattern)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Match([]byte(c.match)) || p.Match([]byte(c.miss)) {
			t.Errorf("rule %s: match %v on %s, %v on %s", r.FilterName, p.Match([]byte(c.match)), c.match, p.Match([]byte(c.miss)), c.miss)
		}
		delete(cases, r.FilterName)
	}
	for name := range cases {
		t.Errorf("rule %s missing from docs/rules.md", name)
	}
}
