"""What the serve check scripts share: starting `asl-sim serve` and reading its banner, and
running a list of checks with one ok/FAIL line each. Imported by check_clients.py and
check_integrations.py (a script's own directory is on sys.path, so `import common` works
when .ci/run starts them as `.venv/bin/python tests/serve/python/X.py`)."""
import re
import subprocess
import time
import traceback


def start_serve(args):
    """Starts `args` (a serve command line) and reads its banner until `ready in`:
    (process, AWS endpoint, {stack output name: value})."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    endpoint, outputs = None, {}
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("serve exited before its banner: " + proc.stderr.read())
        m = re.search(r"AWS endpoint\s+(http://127\.0\.0\.1:\d+)", line)
        if m:
            endpoint = m.group(1)
        m = re.match(r"\s+output\s+(\S+) = (\S+)", line)
        if m:
            outputs[m.group(1)] = m.group(2)
        if line.startswith("ready in"):
            break
    if endpoint is None:
        raise SystemExit("no AWS endpoint in serve's banner")
    return proc, endpoint, outputs


def run_checks(checks, arg, timed=False):
    """Runs each check with `arg`, printing `ok` (with its duration if `timed`) or `FAIL`
    and the traceback; returns how many failed."""
    failed = 0
    for check in checks:
        t = time.time()
        try:
            check(arg)
            took = f" ({time.time() - t:.1f} s)" if timed else ""
            print(f"ok    {check.__name__}{took}")
        except Exception:
            failed += 1
            print(f"FAIL  {check.__name__}")
            traceback.print_exc()
    return failed
