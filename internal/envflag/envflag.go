// Package envflag lets every flag of a command be set from the environment as LOGARCHIVE_<FLAG>
// (upper case, dashes as underscores), the convention both ingest and validate follow; a flag given
// on the command line wins.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Prefix starts every variable name.
const Prefix = "LOGARCHIVE_"

// Name is the variable that sets flag f.
func Name(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Apply sets every flag of fs not given on the command line from its variable, as lookup finds it
// (os.LookupEnv, or a test's map). Every bad value is reported, named by its variable.
func Apply(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		name := Name(f.Name)
		if v, ok := lookup(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}
