package main

import (
	"context"
	"fmt"
	"os"
)

func cmdLocal(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "ingest local: not built yet")
	return 2
}
