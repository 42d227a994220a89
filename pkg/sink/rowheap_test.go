package sink

import (
	"testing"
	"unsafe"
)

// TestRowHeapsWithinEstimates: what a CloudTrail or Resolver row points to is one allocation
// (ctHeap, resolverRowHeap); the memory budget's per-row estimates must cover it, or a spill of
// 32 MiB by estimate would hold more.
func TestRowHeapsWithinEstimates(t *testing.T) {
	if n := int64(unsafe.Sizeof(ctHeap{})); n > cloudTrailHeap {
		t.Errorf("ctHeap is %d bytes, cloudTrailHeap estimates %d", n, cloudTrailHeap)
	}
	if n := int64(unsafe.Sizeof(resolverRowHeap{})); n > resolverHeap {
		t.Errorf("resolverRowHeap is %d bytes, resolverHeap estimates %d", n, resolverHeap)
	}
	t.Logf("ctHeap %d bytes (estimate %d), resolverRowHeap %d (estimate %d)",
		unsafe.Sizeof(ctHeap{}), cloudTrailHeap, unsafe.Sizeof(resolverRowHeap{}), resolverHeap)
}
