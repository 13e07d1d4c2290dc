# What the browser checks share; sourced first by check_console.sh and check_report.sh:
# they run from the repository root, and headless Chromium must be there (Debian's
# chromium is installed when it is missing).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium..." >&2
  (apt-get update && apt-get install -y chromium) >/dev/null
fi

# Removes a check's scratch directory without failing the check: Chromium's helper
# processes (zygote, renderers) can outlive the browser's pid for a moment and write into
# the profile while rm walks it ("Directory not empty" failed a CI run that had passed).
remove_scratch() {
  local dir=$1 try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    rm -rf "$dir" 2>/dev/null && return 0
    sleep 0.3
  done
  echo "note: could not remove $dir (left behind)" >&2
  return 0
}

# Stops a process group started with setsid (Chromium and all of its helpers) and waits,
# at most 5 s, for every member to be gone.
stop_group() {
  local pgid=$1 try
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for try in $(seq 50); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  sleep 0.2
}
