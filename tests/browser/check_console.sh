#!/usr/bin/env bash
# The console (issue 17) in headless Chromium: serve runs tests/serve/callbacks/template.yaml,
# tests/browser/console_cdp.py drives the pages over the DevTools protocol (opens the
# console, sees every state machine of the template, starts an execution through the
# page, watches it finish, opens its graph and history, answers a waiting callback and an
# activity task through the forms). Bounded: the whole check has 60 s (about 10 s is typical).
# Usage: tests/browser/check_console.sh [path/to/asl-sim] [screenshot-dir]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=${1:-target/release/asl-sim}
shots=${2:-}
# One budget for the whole check (serve, Chromium, the script): 60 s from here.
deadline=$((SECONDS + 60))
work=$(mktemp -d)
serve_pid=
chrome_pid=
cleanup() {
  [ -n "$chrome_pid" ] && stop_group "$chrome_pid"
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  remove_scratch "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "check_console: FAILED: $*" >&2; sed 's/^/  serve: /' "$work/serve.err" >&2 || true; exit 1; }

template=tests/serve/callbacks/template.yaml
"$bin" serve --template "$template" --aws-port 0 --api-port 0 --in-memory --data-dir "$work/data" --quiet > "$work/serve.out" 2> "$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do grep -q '^ready in' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready in' "$work/serve.out" || fail "serve did not start"
console=$(sed -n 's/^  console *\(http[^ ]*\).*/\1/p' "$work/serve.out")
[ -n "$console" ] || fail "the banner does not print the console's address"
# The template's state machines, as the banner names them.
mapfile -t machines < <(sed -n 's/^  state machine \([^ ]*\) .*/\1/p' "$work/serve.out")

# Readable without JavaScript: the first page is a plain table naming every machine.
page=$(curl -sf "$console")
for m in "${machines[@]}"; do
  grep -q "data-machine=\"$m\"" <<<"$page" || fail "the console's HTML (no script) does not list $m"
done

# setsid: Chromium and its helper processes form one group that cleanup stops as a whole.
setsid chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --user-data-dir="$work/profile" --remote-debugging-port=0 about:blank 2> "$work/chromium.log" &
chrome_pid=$!
for _ in $(seq 200); do [ -s "$work/profile/DevToolsActivePort" ] && break; sleep 0.1; done
[ -s "$work/profile/DevToolsActivePort" ] || fail "Chromium did not open its DevTools port"
port=$(sed -n 1p "$work/profile/DevToolsActivePort")
path=$(sed -n 2p "$work/profile/DevToolsActivePort")
args=("$console" "ws://127.0.0.1:$port$path" "${machines[@]}")
[ -n "$shots" ] && mkdir -p "$shots" && args+=(--shots "$shots")
left=$((deadline - SECONDS))
[ "$left" -gt 5 ] || fail "no time left for the browser check"
timeout "$left" python3 tests/browser/console_cdp.py "${args[@]}" || fail "the browser check failed or ran out of its 60 s (above)"
echo "check_console: ok (every template machine listed; started, watched, graph and history shown; callback and activity answered through the forms)"
