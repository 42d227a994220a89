#!/usr/bin/env bash
# make demo: a small synthetic org Log Archive on local disk → Parquet (ingest local) → offline digest
# validation (validate --local). No AWS needed. Usage: scripts/demo.sh [DIR] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-demo}
seed=${2:-1}
bin=./bin
[ -x "$bin/ingest" ] && [ -x "$bin/validate" ] && [ -x "$bin/synth" ] || go build -o "$bin/" ./cmd/... ./bench/synth

rm -rf "$dir"
mkdir -p "$dir"
# Activity ends an hour ago: CloudWatch accepts EMF samples at most 14 days old, so a fixed date would
# publish no metrics. The same seed and start still give byte-identical archives.
start=$(date -u -d '-4 hours' +%Y-%m-%dT%H:00:00Z)
echo "== 1. generate a synthetic org Log Archive (seed $seed, from $start) under $dir/archive"
"$bin/synth" --seed "$seed" --start "$start" --out "$dir/archive"
bucket=$(find "$dir/archive" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -1)

echo
echo "== 2. ingest it: parse, run the metric filters (CIS + elevated role), write Parquet to $dir/lake"
"$bin/ingest" local --src "$dir/archive" --dest "$dir/lake" \
  --public-keys "$dir/archive/public-keys.json" --metrics-out "$dir/metrics.emf.jsonl" \
  --log-level warn 2>"$dir/ingest.log"
echo "   metrics (CloudWatch EMF): $dir/metrics.emf.jsonl ($(wc -l <"$dir/metrics.emf.jsonl") documents); logs: $dir/ingest.log"
echo "   elevated-role switches found: $(grep -o '"prod-switch-elevated-count":[0-9]*' "$dir/metrics.emf.jsonl" | awk -F: '{s+=$2} END {print s+0}')"
echo "   Parquet files:"
find "$dir/lake" -name '*.parquet' | sort | sed 's/^/     /'

echo
echo "== 3. validate the CloudTrail digest chains offline (like aws cloudtrail validate-logs, whole org)"
set +e
"$bin/validate" --local "$dir/archive" --public-keys "$dir/archive/public-keys.json" --s3-bucket "$bucket" \
  --start-time 2000-01-01T00:00:00Z --output json --html "$dir/validate.html" >"$dir/validate.json" 2>"$dir/validate.log"
rc=$?
set -e
python3 - "$dir/validate.json" <<'PY' 2>/dev/null || grep -o '"exit_code":[0-9]*' "$dir/validate.json"
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("summary", r)
print("   " + json.dumps(s)[:400])
PY
echo "   report: $dir/validate.json, $dir/validate.html (exit code $rc)"
exit $rc
