package main

import "os"

// soak picks a test's scale: full under `make soak` (LOGARCHIVE_SOAK=1), where the acceptance
// figures are measured (20 kill -9s, 1,000 objects), and quick otherwise, so that `make test` runs
// the same assertions on a smaller sample within its time budget on two cores.
func soak(full, quick int) int {
	if os.Getenv("LOGARCHIVE_SOAK") != "" {
		return full
	}
	return quick
}
