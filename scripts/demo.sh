#!/usr/bin/env bash
# make demo: what the product is for, on local disk with no AWS. A small synthetic org Log Archive
# and, beside it, the same archive after an attacker covered their tracks (a log deleted, a log
# modified, a digest deleted). The clean one is ingested to Parquet (ingest local); both are
# validated offline (validate --local), and the report catches every tampering.
# Usage: scripts/demo.sh [DIR] [SEED]
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
tamper=delete-log,modify-log,delete-digest
echo "== 1. generate a synthetic org Log Archive (seed $seed, from $start)"
"$bin/synth" --seed "$seed" --start "$start" --out "$dir/archive" >"$dir/synth.log"
echo "   clean:    $dir/archive"
"$bin/synth" --seed "$seed" --start "$start" --out "$dir/tampered" --tamper "$tamper" >>"$dir/synth.log"
echo "   tampered: $dir/tampered, the same archive after:"
# The manifest lists each tampering as {"kind": ..., "key": ...}.
tr -d '\n' <"$dir/tampered/manifest.json" | grep -o '"tampered".*' |
  grep -o '"kind": *"[^"]*", *"account": *"[^"]*", *"region": *"[^"]*", *"key": *"[^"]*"' |
  sed -E 's/"kind": *"([^"]*)".*"key": *"([^"]*)"/     \1  \2/'
bucket=$(find "$dir/archive" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -1)

echo
echo "== 2. ingest the clean archive: parse, run the metric filters (CIS + elevated role), write Parquet to $dir/lake"
"$bin/ingest" local --src "$dir/archive" --dest "$dir/lake" \
  --public-keys "$dir/archive/public-keys.json" --metrics-out "$dir/metrics.emf.jsonl" \
  --log-level warn 2>"$dir/ingest.log" | sed 's/^/   /'
echo "   metrics (CloudWatch EMF): $dir/metrics.emf.jsonl ($(wc -l <"$dir/metrics.emf.jsonl") documents); logs: $dir/ingest.log"
echo "   elevated-role switches found: $(grep -o '"prod-switch-elevated-count":[0-9]*' "$dir/metrics.emf.jsonl" | awk -F: '{s+=$2} END {print s+0}')"
echo "   Parquet files:"
find "$dir/lake" -name '*.parquet' | sort | sed 's/^/     /'

# validate NAME: like `aws cloudtrail validate-logs`, for every chain of the organization at once,
# over the generated range. Writes the text, JSON and HTML reports; returns validate's exit code.
validate() {
  local name=$1 rc=0
  "$bin/validate" --local "$dir/$name" --public-keys "$dir/$name/public-keys.json" --s3-bucket "$bucket" \
    --start-time "$start" --html "$dir/validate-$name.html" >"$dir/validate-$name.txt" 2>"$dir/validate-$name.err" || rc=$?
  "$bin/validate" --local "$dir/$name" --public-keys "$dir/$name/public-keys.json" --s3-bucket "$bucket" \
    --start-time "$start" --output json >"$dir/validate-$name.json" 2>/dev/null || true
  # Failures (aws-cli prints them on stderr), then the summary line, whole.
  grep -v '^$' "$dir/validate-$name.err" | sed -E 's/^/   /' || true
  echo "   $(tail -1 "$dir/validate-$name.txt")"
  echo "   reports: $dir/validate-$name.txt, .json, .html"
  return $rc
}

echo
echo "== 3. validate the clean archive's CloudTrail digest chains offline"
set +e
validate archive
clean_rc=$?
echo
echo "== 4. validate the tampered archive: every tampering is caught"
validate tampered
tampered_rc=$?
set -e
echo "   exit codes: clean $clean_rc (0: all valid), tampered $tampered_rc (1: invalid or missing files)"

# The README's screenshot is this page (scripts/tools.sh installs Chromium).
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -n "$chrome" ]; then
  "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$dir/.chromium" \
    --window-size=1100,1300 --screenshot="$dir/validate-report.png" "file://$(realpath "$dir/validate-tampered.html")" >/dev/null 2>&1 &&
    echo "   screenshot of the tampered report: $dir/validate-report.png"
fi
[ "$clean_rc" = 0 ] && [ "$tampered_rc" = 1 ]
