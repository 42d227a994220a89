package main

import (
	"context"
	"fmt"
	"os"
)

func cmdBackfill(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "ingest backfill: not built yet")
	return 2
}
