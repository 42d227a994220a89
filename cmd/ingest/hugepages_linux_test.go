package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestHugePagesWanted(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                            true,
		"madvdontneed=1":              true,
		"disablethp=1":                false,
		"gctrace=1, disablethp=1":     false,
		"disablethp=0":                true,
		"madvdontneed=1,disablethp=1": false,
	} {
		if got := hugePagesWanted(godebug); got != want {
			t.Errorf("GODEBUG=%q: %v, want %v", godebug, got, want)
		}
	}
}

// TestHugeHeap checks, in this process's own memory map, that heap allocated after hugeHeap lies
// in a mapping the kernel may back with huge pages. With the kernel's "madvise" setting (the usual
// one) such a mapping is eligible only because it was advised; with "always" every one is.
func TestHugeHeap(t *testing.T) {
	if !hugePagesAvailable() {
		t.Skip("transparent huge pages are off in this kernel")
	}
	if !hugePagesWanted(os.Getenv("GODEBUG")) {
		t.Skip("GODEBUG has disablethp=1")
	}
	if !hugeHeap("", 32<<20) {
		t.Fatal("hugeHeap: false with huge pages available")
	}
	b := make([]byte, 8<<20)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	eligible, err := thpEligible(p)
	if err != nil {
		t.Fatal(err)
	}
	if !eligible {
		t.Errorf("heap at %#x allocated after hugeHeap is not eligible for huge pages", p)
	}
	b[0] = 1
}

// thpEligible reads /proc/self/smaps for the mapping holding address p.
func thpEligible(p uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		l := sc.Text()
		// A mapping's header is "start-end perms offset dev inode [path]"; its fields follow as
		// "Key: value" lines.
		if f := strings.Fields(l); len(f) >= 5 && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			z, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(p) >= a && uint64(p) < z
			continue
		}
		if in && strings.HasPrefix(l, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "THPeligible:")) == "1", nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("no mapping holds %#x, or it has no THPeligible line", p)
}
