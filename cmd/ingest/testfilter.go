package main

import (
	"github.com/logarchive/logarchive/internal/envflag"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/logarchive/logarchive/pkg/filter"
)

const testFilterUsage = `usage: ingest test-metric-filter --filter-pattern PATTERN [--log-event-messages MSG [MSG ...]]

Tests a CloudWatch Logs filter pattern offline and prints what 'aws logs test-metric-filter' prints.
Without --log-event-messages, messages are read from stdin, one per line (empty lines skipped).
An invalid pattern exits with status 2 and the reason on stderr. The pattern can also be given as
LOGARCHIVE_FILTER_PATTERN.
`

// testFilterArgs is the command line of test-metric-filter. --log-event-messages takes every
// following argument up to the next flag, as the AWS CLI's list parameters do.
type testFilterArgs struct {
	pattern    string
	hasPattern bool
	messages   []string
	hasMsgs    bool
	help       bool
}

func parseTestFilterArgs(args []string) (testFilterArgs, error) {
	var a testFilterArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, inline := strings.Cut(arg, "=")
		switch name {
		case "-h", "-help", "--help":
			a.help = true
		case "--filter-pattern", "-filter-pattern":
			switch {
			case inline:
				a.pattern = value
			case i+1 < len(args):
				i++
				a.pattern = args[i]
			default:
				return a, fmt.Errorf("%s needs a value", name)
			}
			a.hasPattern = true
		case "--log-event-messages", "-log-event-messages":
			a.hasMsgs = true
			if inline {
				a.messages = append(a.messages, value)
			}
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				a.messages = append(a.messages, args[i])
			}
		default:
			return a, fmt.Errorf("unknown argument %q", arg)
		}
	}
	if !a.help && !a.hasPattern {
		return a, fmt.Errorf("--filter-pattern is required")
	}
	if a.hasMsgs && len(a.messages) == 0 {
		return a, fmt.Errorf("--log-event-messages needs at least one message")
	}
	return a, nil
}

var testFilterCommand = command{name: "ingest test-metric-filter"}

func isPatternFlag(a string) bool {
	name, _, _ := strings.Cut(a, "=")
	return name == "--filter-pattern" || name == "-filter-pattern"
}

func cmdTestMetricFilter(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if v, ok := os.LookupEnv(envflag.Name("filter-pattern")); ok && !slices.ContainsFunc(args, isPatternFlag) {
		args = append([]string{"--filter-pattern", v}, args...)
	}
	a, err := parseTestFilterArgs(args)
	if err != nil {
		return testFilterCommand.usageError(stderr, err)
	}
	if a.help {
		fmt.Fprint(stdout, testFilterUsage)
		return 0
	}
	p, err := filter.Compile(a.pattern)
	if err != nil {
		fmt.Fprintf(stderr, "ingest test-metric-filter: %v\n", err)
		return 2
	}
	msgs := a.messages
	if !a.hasMsgs {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20) // a CloudWatch Logs event is at most 1 MB
		for sc.Scan() {
			if ctx.Err() != nil {
				return 1
			}
			if line := sc.Text(); line != "" {
				msgs = append(msgs, line)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "ingest test-metric-filter: reading stdin: %v\n", err)
			return 1
		}
	}
	out, err := json.MarshalIndent(filter.TestMessages(p, msgs), "", "    ")
	if err != nil {
		fmt.Fprintf(stderr, "ingest test-metric-filter: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
