#!/usr/bin/env python3
"""Holds CI to the issues' bars: reads a runner's --json verdicts and fails the
build on any crash or on a pass rate under the floor for that suite."""
import json
import sys

# Floors are the "Done means" bars (or where the work stands, when higher).
FLOORS = {"conformance": 0.95, "jsonata": 0.90}

def main():
    suite, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as fh:
        records = json.load(fh)
    total = len(records)
    passed = sum(r["verdict"] == "pass" for r in records)
    crashes = [r for r in records if r["verdict"] == "crash"]
    rate = passed / total if total else 0.0
    print(f"{suite} gate: {passed}/{total} = {100 * rate:.1f}% (floor {100 * FLOORS[suite]:.0f}%), {len(crashes)} crash(es)")
    for r in crashes[:10]:
        print(f"  crash: {r['name']}: {r.get('why', '')[:200]}")
    if crashes or rate < FLOORS[suite]:
        sys.exit(1)

if __name__ == "__main__":
    main()
