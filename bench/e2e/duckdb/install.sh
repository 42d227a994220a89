#!/usr/bin/env bash
# Installs the DuckDB baseline of bench/e2e (@duckdb/node-api, pinned by package-lock.json) into
# this folder only. Without node/npm it says so and exits 0: the benchmark then skips DuckDB.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "bench/e2e/duckdb: node and npm are not installed; the DuckDB baseline will be skipped" >&2
	exit 0
fi
if [ -d node_modules/@duckdb/node-api ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
	exit 0
fi
if ! npm ci --no-audit --no-fund --loglevel=error; then
	echo "bench/e2e/duckdb: npm ci failed; the DuckDB baseline will be skipped" >&2
	exit 0
fi
