#!/usr/bin/env bash
# Generates a suite of 1,000 small cases (100 files x 10 cases: a DynamoDB
# fixture, a getItem Task, a Choice, a Pass) in a temporary directory and
# times `asl-sim test` on it. The goal: under 2 seconds on 2 cores (release).
# Usage: tests/workflows/bench_1000.sh [path/to/asl-sim]
set -euo pipefail
bin=${1:-target/release/asl-sim}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/m.asl.yaml" <<'ASL'
StartAt: Get
States:
  Get:
    Type: Task
    Resource: arn:aws:states:::aws-sdk:dynamodb:getItem
    Parameters:
      TableName: ${Table}
      Key: {PK: {S.$: $.id}}
    ResultPath: $.found
    Next: Known?
  Known?:
    Type: Choice
    Choices:
      - Variable: $.found.Item
        IsPresent: true
        Next: Known
    Default: Unknown
  Known:
    Type: Pass
    Parameters:
      id.$: $.id
      n.$: States.StringToJson($.found.Item.N.N)
    End: true
  Unknown:
    Type: Fail
    Error: NotFound
    Cause: no such id
ASL
cat > "$dir/fixture.yaml" <<'FX'
dynamodb:
  tables:
    - TableName: Things
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      Items:
FX
for i in $(seq 0 9); do
  echo "        - {PK: {S: id$i}, N: {N: \"$i\"}}" >> "$dir/fixture.yaml"
done
for f in $(seq -w 0 99); do
  {
    echo "definition: m.asl.yaml"
    echo "substitutions: {Table: Things}"
    echo "fixture: fixture.yaml"
    echo "cases:"
    for c in $(seq 0 9); do
      if [ "$c" = 9 ]; then
        echo "  case $c: {input: {id: nope}, error: NotFound, path: [Get, Known?, Unknown]}"
      else
        echo "  case $c: {input: {id: id$c}, output: {id: id$c, n: $c}, path: [Get, Known?, Known]}"
      fi
    done
  } > "$dir/s$f.test.yaml"
done
start=$(date +%s.%N)
"$bin" test "$dir" > "$dir/out.txt" || { tail -30 "$dir/out.txt"; exit 1; }
end=$(date +%s.%N)
tail -2 "$dir/out.txt" | head -1
awk -v s="$start" -v e="$end" 'BEGIN { t = e - s; printf "1,000 cases in %.2f s (wall, including start-up)\n", t; exit !(t < 2.0) }'
