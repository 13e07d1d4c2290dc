#!/usr/bin/env python3
"""Interim check of the sequential runs of every scenario with the asl-sim CLI (until the real
scenario runner exists): each run starts from the fixture, and `--state DIR` carries the services'
state from one execution to the next. Interleaved runs are skipped.
Usage: ASL_SIM=path/to/asl-sim MAXRUNS=3 python tests/file-manager/aslsim_crosscheck.py [scenario.json ...]"""
import json, glob, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_runner import like
B = os.environ.get("ASL_SIM", "asl-sim")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
max_runs = int(os.environ.get("MAXRUNS", "3"))
tot = bad = 0
for f in sorted(glob.glob(ROOT + "/tests/file-manager/scenarios/**/*.json", recursive=True)) if len(sys.argv) < 2 else sys.argv[1:]:
    scn = json.load(open(f)); probs = []
    typ = "EXPRESS" if any(w in scn["workflow"] for w in ("list", "fetch", "quota")) else "STANDARD"
    for run in [r for r in scn["runs"] if "executions" in r][:max_runs]:
        d = tempfile.mkdtemp()
        json.dump(scn["fixture"], open(d + "/fx.json", "w"))
        for i, e in enumerate(run["executions"]):
            json.dump(scn["inputs"][e["input"]], open(d + "/in.json", "w"))
            cmd = [B, "run", ROOT + "/" + scn["workflow"], "--input", d + "/in.json", "--format", "json", "--type", typ,
                   "--state", d + "/state", "--dump-state", d + "/final.json", "--seed", "1"]
            if i == 0:
                cmd += ["--fixture", d + "/fx.json"]
            for k, v in scn["substitutions"].items():
                cmd += ["--sub", f"{k}={v}"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            try:
                r = json.loads(p.stdout)
            except Exception:
                probs.append(f"{e['input']}: no JSON: {p.stdout[:200]} {p.stderr[:300]}"); break
            if r.get("status") != e.get("status", r.get("status")) or ("output" in e and not like(e["output"], r.get("output"))) \
               or ("error" in e and r.get("error") != e["error"]):
                probs.append(f"{run.get('name','')} {e['input']}: {json.dumps(r)[:300]}")
        if "tables" in scn["expect"] and os.path.exists(d + "/final.json"):
            st = json.load(open(d + "/final.json"))
            # find the table items wherever the dump puts them
            def find(o):
                if isinstance(o, dict):
                    if (o.get("TableName") == "Inventory" or o.get("Table", {}).get("TableName") == "Inventory") and "Items" in o: return o["Items"]
                    for v in o.values():
                        x = find(v)
                        if x is not None: return x
                if isinstance(o, list):
                    for v in o:
                        x = find(v)
                        if x is not None: return x
            items = find(st)
            if items is not None:
                items = sorted(items, key=lambda i: (i["PK"]["S"].encode(), i["SK"]["S"].encode()))
                if items != scn["expect"]["tables"]["Inventory"]:
                    probs.append(f"{run.get('name','')}: table {json.dumps(items)[:400]}")
            else:
                probs.append("no table in dump: " + json.dumps(st)[:200])
        shutil.rmtree(d, ignore_errors=True)
    tot += 1; bad += bool(probs)
    print(("FAIL " if probs else "ok   ") + f.split("scenarios/")[1])
    for p_ in probs[:3]: print("     " + p_)
print(f"{tot-bad}/{tot} scenarios pass on asl-sim")
sys.exit(1 if bad else 0)
