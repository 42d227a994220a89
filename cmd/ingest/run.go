package main

import (
	"context"
	"fmt"
	"os"
)

func cmdRun(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "ingest run: not built yet")
	return 2
}
