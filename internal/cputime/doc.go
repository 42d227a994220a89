// Package cputime reads the process's CPU time for the micro-benchmarks: on a shared machine,
// work per CPU-second is the per-core throughput, where wall time also counts the time other
// processes held the cores.
package cputime
