#!/usr/bin/env python3
"""Benchmark (issue 17): the console's executions page with 10,000 executions recorded.

Starts `asl-sim serve` on tests/serve/callbacks/template.yaml, starts N executions of
SleepyStateMachine (a 0-second Wait, then a Pass) through the console's own start form,
waits until they all ended, then times whole HTTP GETs of the console's pages (first
page, a status filter, a deep page, the machines page), each page loaded 20 times.

Usage: tests/bench/console.py path/to/asl-sim [N]
"""
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

bin_path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
work = tempfile.mkdtemp()
serve = subprocess.Popen(
    [bin_path, "serve", "--template", os.path.join(root, "tests/serve/callbacks/template.yaml"), "--aws-port", "0", "--api-port", "0", "--in-memory", "--quiet", "--data-dir", os.path.join(work, "d")],
    stdout=subprocess.PIPE,
    text=True,
)
try:
    console = None
    for line in serve.stdout:
        m = re.match(r"\s+console\s+(http://\S+)", line)
        if m:
            console = m.group(1)
        if line.startswith("ready in"):
            break
    u = urllib.parse.urlparse(console)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    origin = f"http://{u.hostname}:{u.port}"
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:SleepyStateMachine"
    body = urllib.parse.urlencode({"machine": machine, "input": '{"seconds": 0}'})
    t0 = time.time()
    for i in range(n):
        conn.request("POST", "/_console/start", body, {"Origin": origin, "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        if r.status != 303:
            sys.exit(f"start {i}: HTTP {r.status}")
    started = time.time() - t0

    def get(path):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        data = r.read()
        return time.perf_counter() - t, r.status, data.decode()

    while True:
        _, _, page = get(f"/_console/executions?status=RUNNING")
        if f"0 executions ·" in page:
            break
        time.sleep(0.2)
    _, _, page = get("/_console/executions")
    if f"{n} executions" not in page:
        sys.exit(f"expected {n} executions listed")
    print(f"{n} executions started through the console in {started:.1f} s; all ended")
    pages = {
        "executions, page 1": "/_console/executions",
        "executions, status SUCCEEDED": "/_console/executions?status=SUCCEEDED",
        f"executions, page {n // 100}": f"/_console/executions?page={n // 100}",
        "state machines (counts every execution)": "/_console/",
    }
    worst = 0.0
    for label, path in pages.items():
        times = []
        for _ in range(20):
            dt, status, _ = get(path)
            assert status == 200
            times.append(dt * 1000)
        worst = max(worst, max(times))
        print(f"  {label:42} median {statistics.median(times):6.1f} ms   max {max(times):6.1f} ms")
    print(f"slowest load: {worst:.1f} ms (the bound is 200 ms)")
    sys.exit(0 if worst < 200 else 1)
finally:
    serve.terminate()
    serve.wait()
