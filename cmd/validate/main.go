// Command validate checks CloudTrail log file integrity through the signed digest chain: a drop-in
// for `aws cloudtrail validate-logs`, plus whole-organization discovery, offline mode and reports.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "validate: not built yet")
	os.Exit(2)
}
