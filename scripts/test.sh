#!/usr/bin/env bash
# The project's test command: vet, race-enabled tests (unit + integration on moto_server), short fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/tools.sh
test -z "$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
go vet ./...
go test -race -count=1 -timeout 20m ./...
FUZZTIME="${FUZZTIME:-5s}" ./scripts/fuzz.sh
