package main

import (
	"github.com/logarchive/logarchive/internal/envflag"

	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The command-line conventions every ingest command follows, those of aws-cli:
//   - -h/--help prints the command's usage on stdout and exits 0;
//   - a usage error (unknown flag, bad value, missing required flag) prints one line saying what is
//     wrong and one line saying how to get help, on stderr, and exits 2;
//   - every flag can also be set as LOGARCHIVE_<FLAG> (dashes as underscores); the command line wins.

// exitUsage is aws-cli's exit status for a command line it cannot use.
const exitUsage = 2

// command describes one ingest command for its help text.
type command struct {
	name     string // "ingest local"
	synopsis string // one line after "usage: "
	about    string // a paragraph, may be empty
}

// parseFlags parses args into fs under the conventions above. When done is true the command must
// return code at once (help was printed, or the command line was refused).
func (c command) parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(fs, stdout)
		return 0, true
	}
	if err != nil {
		return c.usageError(stderr, err), true
	}
	if fs.NArg() > 0 {
		return c.usageError(stderr, fmt.Errorf("unexpected argument %q (every option is a --flag)", fs.Arg(0))), true
	}
	if err := applyEnv(fs); err != nil {
		return c.usageError(stderr, err), true
	}
	return 0, false
}

func (c command) printHelp(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", c.synopsis)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.about))
	}
	fmt.Fprintf(w, "\nflags (each also settable as %s<FLAG>, dashes as underscores):\n", envflag.Prefix)
	// flag.PrintDefaults writes -name; the documentation and aws-cli users write --name.
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "0", "false", "[]", "0s":
		default:
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// usageError reports a command line that cannot be used: one line, then the hint.
func (c command) usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", c.name, err)
	fmt.Fprintf(stderr, "Run '%s --help' for the flags.\n", c.name)
	return exitUsage
}

// failer returns the command's error reporter: usage errors (code 2) get the help hint, others are
// one line.
func (c command) failer(stderr io.Writer) func(code int, err error) int {
	return func(code int, err error) int {
		if code == exitUsage {
			return c.usageError(stderr, err)
		}
		fmt.Fprintf(stderr, "%s: %v\n", c.name, err)
		return code
	}
}
