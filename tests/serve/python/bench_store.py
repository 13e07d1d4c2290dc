#!/usr/bin/env python3
"""Benchmarks of serve's store (issue 12). One command, from the repository root:

    python3 tests/serve/python/bench_store.py target/release/asl-sim

1. 100 MB stored (400 x 256 KiB, uploaded through the S3 endpoint): serve's RSS, the time to
   restart until ready, the time SIGTERM takes to stop it.
2. 500 MB stored (2,000 x 256 KiB): the latency of small PUTs, one client (p50, p99).
3. Small PUTs with durability on, many concurrent clients (presigned URLs over keep-alive
   connections, 4 client processes): PUTs per second.
4. 1,000,000 DynamoDB items and 100,000 objects: the restart time. The data directory is
   written directly in the store's format (entries of `store.sqlite`, 16-byte blob files), as
   serve would have left it, because loading it through the API would take minutes.

Prints one line per figure; exits 1 when a figure misses issue 12's target.
"""
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse

import boto3
from botocore.config import Config

BINARY = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    def __init__(self, data):
        self.data = data
        self.ports = (free_port(), free_port())

    def start(self):
        t0 = time.time()
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data-dir", self.data, "--aws-port", str(self.ports[0]), "--api-port", str(self.ports[1]), "--quiet"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.data, "serve.log"), "a"), text=True,
        )
        text = ""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("serve exited: " + open(os.path.join(self.data, "serve.log")).read()[-2000:])
            text += line
            if line.startswith("ready in"):
                break
        self.ready_s = time.time() - t0
        self.aws = re.search(r"AWS endpoint\s+(http://\S+)", text).group(1)
        self.bucket = re.search(r"bucket\s+(\S+)", text).group(1)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def rss_mb(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def sigterm(self):
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        return time.time() - t0

    def s3(self):
        return boto3.client("s3", endpoint_url=self.aws, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, max_pool_connections=16))


def upload(serve, count, size, prefix, threads=8):
    s3 = serve.s3()
    body = os.urandom(size)
    keys = [f"{prefix}/{i:06d}" for i in range(count)]

    def work(part):
        for k in part:
            s3.put_object(Bucket=serve.bucket, Key=k, Body=body)

    ts = [threading.Thread(target=work, args=(keys[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def put_worker(args):
    urls, body = args
    conns = {}
    done = 0
    t0 = time.time()
    for url in urls:
        u = urllib.parse.urlsplit(url)
        c = conns.get(u.netloc) or http.client.HTTPConnection(u.netloc, timeout=30)
        conns[u.netloc] = c
        c.request("PUT", u.path + "?" + u.query, body=body, headers={"content-length": str(len(body))})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            done += 1
    return done, time.time() - t0


def main():
    global BINARY
    BINARY = sys.argv[1]
    failures = []
    figures = {}

    def figure(name, value, unit, ok):
        figures[name] = value
        print(f"{name}: {value:.1f} {unit}{'' if ok else '  (MISSES THE TARGET)'}")
        if not ok:
            failures.append(name)

    # 1. 100 MB stored.
    data = tempfile.mkdtemp(prefix="asl-bench-")
    s = Serve(data)
    s.start()
    upload(s, 400, 256 * 1024, "bench100")
    figure("RSS with 100 MB stored (while running, after the uploads)", s.rss_mb(), "MB", s.rss_mb() <= 150)
    figure("SIGTERM stop with 100 MB stored", s.sigterm() * 1000, "ms", True)
    s.start()
    figure("restart ready with 100 MB stored", s.ready_s * 1000, "ms", s.ready_s <= 0.5)
    figure("RSS after the restart with 100 MB stored", s.rss_mb(), "MB", s.rss_mb() <= 150)
    stop = s.sigterm()
    figure("SIGTERM stop", stop * 1000, "ms", stop <= 1.0)

    # 2. 500 MB stored: small PUT latency.
    s.start()
    upload(s, 1600, 256 * 1024, "bench500")
    s3 = s.s3()
    lat = []
    for i in range(1000):
        t0 = time.perf_counter()
        s3.put_object(Bucket=s.bucket, Key=f"small/{i:05d}", Body=b"x" * 1024)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    figure("small PUT p50 with 500 MB stored (boto3, one client)", lat[len(lat) // 2] * 1000, "ms", True)
    figure("small PUT p99 with 500 MB stored (boto3, one client)", lat[int(len(lat) * 0.99)] * 1000, "ms", lat[int(len(lat) * 0.99)] < 0.020)

    # 3. Throughput of small durable PUTs.
    n, procs = 8000, 4
    urls = [s3.generate_presigned_url("put_object", Params={"Bucket": s.bucket, "Key": f"tput/{i:06d}"}, ExpiresIn=3600) for i in range(n)]
    t0 = time.time()
    with multiprocessing.Pool(procs * 4) as pool:
        results = pool.map(put_worker, [(urls[i::procs * 4], b"y" * 512) for i in range(procs * 4)])
    elapsed = time.time() - t0
    ok = sum(r[0] for r in results)
    figure("small PUTs per second, durable (16 keep-alive clients)", ok / elapsed, "PUT/s", ok == n and ok / elapsed >= 2000)
    s.sigterm()
    shutil.rmtree(data, ignore_errors=True)

    # 4. 1,000,000 items and 100,000 objects: restart.
    data = tempfile.mkdtemp(prefix="asl-bench-big-")
    s = Serve(data)
    s.start()
    s.sigterm()
    db = sqlite3.connect(os.path.join(data, "store.sqlite"))
    tname = [k for (k,) in db.execute("SELECT key FROM entries WHERE space = 'ddb:table'")][0]
    blobs = os.path.join(data, "blobs")
    rows = []
    for i in range(100_000):
        bid = f"{0xb0000000 + i:032x}"
        with open(os.path.join(blobs, bid), "wb") as f:
            f.write(b"0123456789abcdef")
        meta = {"etag": '"4032af8d61035123906e58e067140cc5"', "contentType": "binary/octet-stream", "metadata": {}, "lastModified": 1_700_000_000_000, "partsCount": None, "size": 16, "blob": bid}
        rows.append((f"s3:object:{s.bucket}", f"big/{i:07d}", json.dumps(meta).encode()))
    db.executemany("INSERT INTO entries (space, key, value) VALUES (?, ?, ?)", rows)
    rows = []
    for i in range(1_000_000):
        key = {"PK": {"S": f"user{i % 1000}"}, "SK": {"S": f"file{i:07d}"}}
        item = dict(key, Size={"N": str(i % 5000)}, Live={"BOOL": True})
        rows.append((f"ddb:item:{tname}", json.dumps(key, separators=(",", ":")), json.dumps(item, separators=(",", ":")).encode()))
        if len(rows) == 100_000:
            db.executemany("INSERT INTO entries (space, key, value) VALUES (?, ?, ?)", rows)
            rows = []
    db.commit()
    db.close()
    s.start()
    figure("restart ready with 1,000,000 items and 100,000 objects", s.ready_s * 1000, "ms", s.ready_s < 1.0)
    figure("RSS with 1,000,000 items and 100,000 objects", s.rss_mb(), "MB", True)
    s.sigterm()
    shutil.rmtree(data, ignore_errors=True)
    print(json.dumps(figures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
