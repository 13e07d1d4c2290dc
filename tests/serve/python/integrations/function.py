#!/usr/bin/env python3
"""A Lambda function for serve's integration checks, speaking the Lambda Runtime API itself
(a custom runtime, as serve runs `provided.*` functions; stdlib only).

Each event is written to $OUT_DIR as one JSON file, so the checks see what arrived and in
which shape. SQS batches: a record whose body is "fail-me" is reported in
`batchItemFailures` (the function's event source has ReportBatchItemFailures). Any other
event (a workflow's Task) is answered with {"echo": event, "function": name}."""
import json
import os
import urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
out_dir = os.environ["OUT_DIR"]
seen = 0

while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    seen += 1
    path = os.path.join(out_dir, f"{os.getpid()}-{seen:05d}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(event, f)
    os.rename(path + ".tmp", path)
    records = event.get("Records") if isinstance(event, dict) else None
    if records and records[0].get("eventSource") == "aws:sqs":
        answer = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "fail-me"]}
    elif records and records[0].get("EventSource") == "aws:sns":
        answer = None
    else:
        answer = {"echo": event, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
    body = json.dumps(answer).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
