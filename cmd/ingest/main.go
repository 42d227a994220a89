// Command ingest turns an org Log Archive bucket into Parquet and metric-filter metrics.
//
//	ingest local --src DIR --dest DIR        process every object under a local mirror of the bucket
//	ingest run [flags]                       the SQS-fed worker that runs on ECS/Fargate
//	ingest backfill --bucket B ...           enqueue (or process) objects already in the bucket
//	ingest test-metric-filter ...            like `aws logs test-metric-filter`, offline
//	ingest healthcheck                       exit 0/1 from the worker's /healthz (container health check)
//
// Only flag and environment wiring lives here; the work is done by the packages under pkg/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: ingest <command> [flags]

commands:
  local               process a local mirror of the Log Archive bucket (no AWS needed)
  run                 long-running worker fed by S3 event notifications on SQS
  backfill            enqueue or process objects already in the bucket
  test-metric-filter  test a CloudWatch Logs filter pattern against messages
  healthcheck         probe a running worker's /healthz (the container health check)

Run 'ingest <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile() // LOGARCHIVE_CPUPROFILE, for bench/e2e (see profile.go)
	code := ingestMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// ingestMain dispatches to a command and returns the exit status: 0 success, 1 failure, 2 a command
// line that cannot be used (aws-cli's convention).
func ingestMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	rest := args[1:]
	switch args[0] {
	case "local":
		return runLocal(ctx, rest, stdout, stderr)
	case "run":
		return runWorker(ctx, rest, stdout, stderr)
	case "backfill":
		return runBackfill(ctx, rest, stdout, stderr)
	case "test-metric-filter":
		return cmdTestMetricFilter(ctx, rest, stdin, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "ingest: unknown command %q (want local, run, backfill, test-metric-filter or healthcheck)\n", args[0])
	fmt.Fprintln(stderr, "Run 'ingest --help' for the commands.")
	return exitUsage
}
