#!/usr/bin/env bash
# Renders the HTML report of an update-inventory execution in headless
# Chromium and checks that the page's script ran (it adds #report-ready) and
# that the diagram shows the path taken. Installs Debian's chromium if missing.
# Usage: tests/browser/check_report.sh [path/to/asl-sim] [screenshot.png]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=${1:-target/release/asl-sim}
shot=${2:-}
work=$(mktemp -d)
trap 'remove_scratch "$work"' EXIT
"$bin" run workflows/update-inventory.asl.yaml --sub TableName=InventoryTable \
  --fixture tests/workflows/fixtures/inventory.yaml --input tests/workflows/events/put-new.json \
  --seed 1 --format json --report "$work/update-inventory.html" > "$work/run.json"
grep -q '"SUCCEEDED"' "$work/run.json"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
        --disable-sync --no-first-run --user-data-dir="$work/profile")
timeout 120 "${chrome[@]}" --dump-dom "file://$work/update-inventory.html" > "$work/dom.html" 2> "$work/chromium.log"
fail() { echo "check_report: FAILED: $*" >&2; exit 1; }
grep -q 'id="report-ready"' "$work/dom.html" || fail "the page's script did not run (no #report-ready)"
grep -q 'class="node task visited' "$work/dom.html" || fail "no visited Task state highlighted"
grep -q 'class="edge choice taken"' "$work/dom.html" || fail "no Choice edge highlighted as taken"
grep -q '<h2>Report Applied</h2>' "$work/dom.html" || fail "the details panel does not show the last state"
if [ -n "$shot" ]; then
  timeout 120 "${chrome[@]}" --window-size=1400,1000 --screenshot="$shot" "file://$work/update-inventory.html" 2>> "$work/chromium.log" >/dev/null
  echo "screenshot: $shot"
fi
echo "check_report: ok (the report's script ran; path highlighted; details panel filled)"
