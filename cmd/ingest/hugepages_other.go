//go:build !linux

package main

// Huge pages for the heap are a Linux matter (hugepages_linux.go); elsewhere the heap is left as
// the runtime makes it.

func hugeHeap(string, int) bool { return false }
func adviseHugePages() error    { return nil }
