//go:build linux

package rules

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUTime is the CPU time consumed by the calling OS thread (CLOCK_THREAD_CPUTIME_ID): unlike
// wall-clock time it does not grow while other processes hold the CPU, so growth ratios stay
// meaningful on a busy machine. Callers lock the goroutine to its thread.
func threadCPUTime() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
