package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCLIConventions runs every ingest command's help and a bad flag: help on stdout with exit 0,
// a usage error as one line plus a hint on stderr with exit 2 (aws-cli's conventions), nothing on
// the other stream.
func TestCLIConventions(t *testing.T) {
	commands := []string{"local", "run", "backfill", "test-metric-filter", "healthcheck"}
	run := func(args ...string) (code int, stdout, stderr string) {
		var out, errOut bytes.Buffer
		code = ingestMain(context.Background(), args, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := run(c, h)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: ingest "+c) {
				t.Errorf("ingest %s %s: exit %d, stderr %q, stdout starts %q; want exit 0, usage on stdout only", c, h, code, errOut, first(out))
			}
		}
		code, out, errOut := run(c, "--no-such-flag")
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code != 2 || out != "" || len(lines) != 2 || !strings.Contains(lines[0], "no-such-flag") ||
			!strings.Contains(lines[1], "ingest "+c+" --help") {
			t.Errorf("ingest %s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2 and two lines on stderr (error, hint)", c, code, out, errOut)
		}
	}
	if code, out, errOut := run("--help"); code != 0 || errOut != "" || !strings.Contains(out, "test-metric-filter") {
		t.Errorf("ingest --help: exit %d, stdout %q, stderr %q", code, first(out), errOut)
	}
	if code, out, errOut := run("frobnicate"); code != 2 || out != "" || strings.Count(errOut, "\n") != 2 {
		t.Errorf("ingest frobnicate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A required flag missing is a usage error too, and so is a stray argument.
	for _, args := range [][]string{{"local", "--dest", t.TempDir()}, {"local", "--src", ".", "stray"}, {"run"}, {"backfill"}} {
		if code, out, errOut := run(args...); code != 2 || out != "" || strings.Count(errOut, "\n") != 2 {
			t.Errorf("ingest %v: exit %d, stdout %q, stderr %q; want exit 2, error and hint on stderr", args, code, out, errOut)
		}
	}
}

// TestLocalHelpTellsTheTruthAboutKeys: local runs never call AWS, so --public-keys has no
// ListPublicKeys default there.
func TestLocalHelpTellsTheTruthAboutKeys(t *testing.T) {
	var out, errOut bytes.Buffer
	runLocal(context.Background(), []string{"-h"}, &out, &errOut)
	i := strings.Index(out.String(), "-public-keys")
	if i < 0 {
		t.Fatalf("no --public-keys in help:\n%s", out.String())
	}
	help := out.String()[i:]
	help = help[:strings.Index(help[1:], "\n  -")+1]
	if strings.Contains(help, "ListPublicKeys") || !strings.Contains(help, "no verification") {
		t.Errorf("--public-keys help: %q", help)
	}
}

// TestEnvironmentSetsFlags: LOGARCHIVE_<FLAG> works for every command, and a bad value in it is a
// usage error naming the variable.
func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("LOGARCHIVE_FILTER_PATTERN", `{ $.eventName = "SwitchRole" }`)
	var out, errOut bytes.Buffer
	code := ingestMain(context.Background(), []string{"test-metric-filter", "--log-event-messages", `{"eventName":"SwitchRole"}`},
		strings.NewReader(""), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), `"eventNumber": 1`) {
		t.Errorf("test-metric-filter with LOGARCHIVE_FILTER_PATTERN: exit %d, %s %s", code, out.String(), errOut.String())
	}
	t.Setenv("LOGARCHIVE_WORKERS", "many")
	out.Reset()
	errOut.Reset()
	code = ingestMain(context.Background(), []string{"local", "--src", ".", "--dest", t.TempDir()}, strings.NewReader(""), &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "LOGARCHIVE_WORKERS") {
		t.Errorf("LOGARCHIVE_WORKERS=many: exit %d, stderr %q", code, errOut.String())
	}
}

func first(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
