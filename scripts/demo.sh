#!/usr/bin/env bash
# Builds a small synthetic org Log Archive under $1, ingests it to Parquet and validates it offline.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: not wired yet"
