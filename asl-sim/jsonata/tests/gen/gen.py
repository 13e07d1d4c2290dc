#!/usr/bin/env python3
"""Regenerate tests/cases/*.json from cases.txt (expr<TAB>data per line, '# group: name' headers)
by running the jeval example; review the diff before committing (the outcomes are the spec)."""
import json, os, subprocess, sys
here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, '..', 'cases')
jeval = sys.argv[1]
groups, cur = {}, None
for line in open(os.path.join(here, 'cases.txt'), encoding='utf-8'):
    line = line.rstrip('\n')
    if line.startswith('# group:'):
        cur = line.split(':', 1)[1].strip(); groups[cur] = []; continue
    if not line.strip() or line.startswith('#'):
        continue
    groups[cur].append(line)
for g, lines in groups.items():
    res = subprocess.run([jeval], input='\n'.join(lines) + '\n', capture_output=True, text=True,
                         env=dict(os.environ, JEVAL_JSON='1')).stdout.splitlines()
    cases = []
    for line, r in zip(lines, res):
        expr, _, data = line.partition('\t')
        c = {"expr": expr.strip()}
        if data:
            c["data"] = json.loads(data)
        c["expected"] = json.loads(r)
        cases.append(c)
    d = os.path.join(out_dir, g)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    for i, c in enumerate(cases):
        c = {"name": f"{g}/case{i:03d}", **c}
        with open(os.path.join(d, f"case{i:03d}.json"), 'w', encoding='utf-8') as fh:
            json.dump(c, fh, ensure_ascii=False, indent=1)
    print(g, len(cases))
