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
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startCPUProfile()
	args := os.Args[2:]
	var code int
	switch os.Args[1] {
	case "local":
		code = cmdLocal(ctx, args)
	case "run":
		code = cmdRun(ctx, args)
	case "backfill":
		code = cmdBackfill(ctx, args)
	case "test-metric-filter":
		code = cmdTestMetricFilter(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	case "healthcheck":
		code = cmdHealthcheck(ctx, args, os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "ingest: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	stopProfile()
	os.Exit(code)
}
