//go:build linux

package main

import (
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Transparent huge pages for the Go heap.
//
// Every page of heap the process touches for the first time is a page fault, and on the
// virtual machines ingest runs on (Firecracker, as Fargate) a fault is expensive: a CloudTrail
// run on one core took ~22k faults for a ~100 MiB resident set, 13 % of its CPU time in the
// kernel's fault path; with two workers the faults also flush the other core's TLB (writes to
// pages first read as the shared zero page), which one worker never pays. Kernels whose
// transparent_hugepage setting is "madvise" (Debian's, Amazon Linux's) give 2 MiB pages only to
// memory that asks for them, and the Go runtime stopped asking for its heap in Go 1.21.1 (for
// services with large sparse heaps, where huge pages inflate the resident set). ingest's heap is
// dense and bounded by the memory budget, so it asks itself: 2 MiB pages fault 512 times less.
// The advice alone, measured at bd45622, alternated runs on one core, median task-clock: Resolver
// 685 -> 630 ms (9 of 10 pairs lower), page faults 13.4k -> 10.4k; CloudTrail 1.03 -> 0.98 s of
// CPU, 22.5k -> 16.1k faults (two workers 1.23 -> 1.16 s). With the reserve (hugeHeap): below.
//
// GODEBUG=disablethp=1, the runtime's own switch against huge pages for the heap, turns this off.

// hugeHeap turns huge pages on for the heap when the kernel has them and GODEBUG does not say
// disablethp=1, and reports whether it did (the tuner then keeps advising as the heap grows).
//
// Advice alone reaches half the heap: the runtime maps its heap in 4 MiB pieces, each a new
// mapping without the advice, and starts using a piece at once, so the first 2 MiB of every
// piece has small pages before the tuner can advise it (CloudTrail: 22.4k faults -> 15.1k). So
// the heap is grown first, by reserve bytes (hugeReserve), in one piece that nothing touches:
// one allocation, advised, dropped and collected. The runtime keeps the pages as free heap and
// allocates from them as the heap grows, now in huge pages from their first touch (CloudTrail
// 4.2k faults, one core 1.04 -> 0.91 s of CPU; Resolver 10.3k -> 2.2k, 718 -> 644 ms). What is
// never touched costs address space, not memory.
func hugeHeap(godebug string, reserve int) bool {
	if !hugePagesWanted(godebug) || !hugePagesAvailable() || adviseHugePages() != nil {
		return false
	}
	if reserve <= 0 {
		return true
	}
	b := make([]byte, reserve)
	err := adviseHugePages()
	runtime.KeepAlive(b) // advised while it exists; collected next
	runtime.GC()
	return err == nil
}

// heapArena is the Go runtime's heap arena size on 64-bit Linux: the heap grows from a randomised
// base in arenas of this size, mapped piece by piece.
const heapArena = 64 << 20

// hugePagesWanted reports whether to advise huge pages: not when GODEBUG says disablethp=1.
func hugePagesWanted(godebug string) bool {
	for _, kv := range strings.Split(godebug, ",") {
		if strings.TrimSpace(kv) == "disablethp=1" {
			return false
		}
	}
	return true
}

// adviseHugePages marks the address range around the Go heap MADV_HUGEPAGE: 4 arenas below the
// arena of a fresh heap allocation and 28 above (2 GiB). The runtime maps new heap memory over
// its reservation with MAP_FIXED, which drops the advice, so the tuner calls this again whenever
// the runtime has mapped more. Holes in the range are expected (madvise says ENOMEM and advises
// the mapped parts); any other error means the kernel cannot do it, and is returned so that the
// caller stops asking.
func adviseHugePages() error {
	probe := make([]byte, 80<<10) // over the 64 KiB a non-escaping make may take on the stack
	p := uintptr(unsafe.Pointer(unsafe.SliceData(probe)))
	base := p &^ (heapArena - 1)
	if base < 4*heapArena {
		return nil
	}
	base -= 4 * heapArena
	// The raw call takes the range as integers: the range is not memory this code reads or writes.
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, base, 32*heapArena, unix.MADV_HUGEPAGE)
	if errno != 0 && errno != unix.ENOMEM {
		return errno
	}
	return nil
}

// hugePagesAvailable reports whether the kernel has transparent huge pages at all.
func hugePagesAvailable() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !strings.Contains(string(b), "[never]")
}
