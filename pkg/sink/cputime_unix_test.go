//go:build unix

package sink

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine, bytes per CPU-second is the
// per-core throughput, where wall time also counts the time other processes held the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
