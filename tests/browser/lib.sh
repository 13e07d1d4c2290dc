# What the browser checks share; sourced first by check_console.sh and check_report.sh:
# they run from the repository root, and headless Chromium must be there (Debian's
# chromium is installed when it is missing).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium..." >&2
  (apt-get update && apt-get install -y chromium) >/dev/null
fi
