package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestCmdTestMetricFilter(t *testing.T) {
	type match struct {
		EventNumber     int               `json:"eventNumber"`
		EventMessage    string            `json:"eventMessage"`
		ExtractedValues map[string]string `json:"extractedValues"`
	}
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		want   []match
		stderr string
	}{
		{"several messages after one flag",
			[]string{"--filter-pattern", `{($.eventName = "SwitchRole") && ($.userIdentity.arn = "arn:aws:sts::*:assumed-role/elevated-security-role/*") }`,
				"--log-event-messages",
				`{"eventName":"SwitchRole","userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice"}}`,
				`{"eventName":"SwitchRole","userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/dev/alice"}}`},
			"", 0, []match{{1, `{"eventName":"SwitchRole","userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/elevated-security-role/alice"}}`, map[string]string{}}}, ""},
		{"space-delimited extraction, flag=value form",
			[]string{"--filter-pattern=[ip, user, ...]", "--log-event-messages", "10.0.0.1 alice GET /", "x"},
			"", 0, []match{{1, "10.0.0.1 alice GET /", map[string]string{"$ip": "10.0.0.1", "$user": "alice", "$3": "GET", "$4": "/"}}}, ""},
		{"messages on stdin",
			[]string{"--filter-pattern", "ERROR -Throttled"},
			"INFO ok\nERROR disk\n\nERROR Throttled\nERROR again\n", 0,
			[]match{{2, "ERROR disk", map[string]string{}}, {4, "ERROR again", map[string]string{}}}, ""},
		{"invalid pattern", []string{"--filter-pattern", "{ $.a == 1 }", "--log-event-messages", "x"}, "", 2, nil, "offset"},
		{"missing pattern", []string{"--log-event-messages", "x"}, "", 2, nil, "--filter-pattern is required"},
		{"flag without messages", []string{"--filter-pattern", "x", "--log-event-messages"}, "", 2, nil, "at least one message"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := cmdTestMetricFilter(context.Background(), c.args, strings.NewReader(c.stdin), &out, &errOut)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", c.name, code, c.code, errOut.String())
			continue
		}
		if c.stderr != "" && !strings.Contains(errOut.String(), c.stderr) {
			t.Errorf("%s: stderr %q lacks %q", c.name, errOut.String(), c.stderr)
		}
		if code != 0 {
			if out.Len() != 0 {
				t.Errorf("%s: wrote to stdout on error: %q", c.name, out.String())
			}
			continue
		}
		var got struct{ Matches []match }
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", c.name, err, out.String())
		}
		if len(got.Matches) != len(c.want) {
			t.Errorf("%s: %d matches, want %d: %s", c.name, len(got.Matches), len(c.want), out.String())
			continue
		}
		for i := range c.want {
			g, w := got.Matches[i], c.want[i]
			if g.EventNumber != w.EventNumber || g.EventMessage != w.EventMessage || len(g.ExtractedValues) != len(w.ExtractedValues) {
				t.Errorf("%s: match %d = %+v, want %+v", c.name, i, g, w)
			}
			for k, v := range w.ExtractedValues {
				if g.ExtractedValues[k] != v {
					t.Errorf("%s: %s = %q, want %q", c.name, k, g.ExtractedValues[k], v)
				}
			}
		}
	}
}
