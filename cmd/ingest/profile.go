package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to write a CPU profile of the whole command to. It is an environment
// variable rather than a flag so that it stays out of every command's usage: it exists for
// bench/e2e and for whoever profiles a real run, not for operators.
const cpuProfileEnv = "LOGARCHIVE_CPUPROFILE"

// startCPUProfile starts profiling when cpuProfileEnv is set; the returned stop writes the profile
// and must run before os.Exit.
func startCPUProfile() (stop func()) {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %s: %v\n", cpuProfileEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "ingest: %s: %v\n", cpuProfileEnv, err)
		}
	}
}
