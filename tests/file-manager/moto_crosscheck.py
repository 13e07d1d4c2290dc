#!/usr/bin/env python3
"""Second opinion on the scenarios: runs their sequential runs on moto_server's Step Functions
(a port of LocalStack's interpreter, executing against moto's DynamoDB and S3). Interleaved runs
are skipped (moto cannot pause an execution). Needs `pip install "moto[server]"`.
Usage: python tests/file-manager/moto_crosscheck.py [--max-runs N] [scenario.json ...]"""
import glob, json, os, sys, time, urllib.request, uuid

import boto3
import yaml

from moto_local import start_moto
from reference_runner import HERE, ROOT, like

# moto's names for errors whose AWS name is recorded differently (AWS is the oracle).
MOTO_ALIASES = {"DynamoDB.ValidationException": "DynamoDB.AmazonDynamoDBException"}


def main(args):
    max_runs = 3
    if args[:1] == ["--max-runs"]:
        max_runs, args = int(args[1]), args[2:]
    files = args or sorted(glob.glob(os.path.join(HERE, "scenarios", "**", "*.json"), recursive=True))
    server, ep = start_moto()
    problems = 0
    try:
        urllib.request.urlopen(urllib.request.Request(ep + "/moto-api/config", method="POST", headers={"Content-Type": "application/json"},
                                                      data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()))
        kw = dict(endpoint_url=ep, region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
        sfn, ddb, s3 = boto3.client("stepfunctions", **kw), boto3.client("dynamodb", **kw), boto3.client("s3", **kw)

        def reset(fx):
            for t in ddb.list_tables()["TableNames"]:
                ddb.delete_table(TableName=t)
            for t in fx["dynamodb"]["tables"]:
                ddb.create_table(**{k: v for k, v in t.items() if k != "Items"})
                for i in t.get("Items", []):
                    ddb.put_item(TableName=t["TableName"], Item=i)
            for b in fx["s3"]["buckets"]:
                try:
                    s3.create_bucket(Bucket=b["Name"], CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
                except s3.exceptions.ClientError:
                    pass
                for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []):
                    s3.delete_object(Bucket=b["Name"], Key=o["Key"])
                for o in b.get("Objects", []):
                    s3.put_object(Bucket=b["Name"], Key=o["Key"], Body=o["Body"].encode())

        for f in files:
            scn = json.load(open(f))
            text = open(os.path.join(ROOT, scn["workflow"])).read()
            for k, v in scn["substitutions"].items():
                text = text.replace("${%s}" % k, str(v))
            arn = sfn.create_state_machine(name="m" + uuid.uuid4().hex[:16], definition=json.dumps(yaml.safe_load(text)),
                                           roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
            bad = []
            runs = [r for r in scn["runs"] if "executions" in r][:max_runs]
            for run in runs:
                reset(scn["fixture"])
                for e in run["executions"]:
                    ex = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(scn["inputs"][e["input"]]))
                    for _ in range(300):
                        d = sfn.describe_execution(executionArn=ex["executionArn"])
                        if d["status"] != "RUNNING":
                            break
                        time.sleep(0.05)
                    out = json.loads(d.get("output") or "null")
                    if d["status"] != e.get("status", d["status"]) or ("output" in e and not like(e["output"], out)) \
                            or ("error" in e and MOTO_ALIASES.get(d.get("error"), d.get("error")) != e["error"]):
                        bad.append(f"{run.get('name', '')} {e['input']}: {d['status']} {d.get('error', '')} {json.dumps(out)[:200]}")
                if "tables" in scn["expect"]:
                    for t, want in scn["expect"]["tables"].items():
                        got = sorted(ddb.scan(TableName=t)["Items"], key=lambda i: (i["PK"]["S"].encode(), i["SK"]["S"].encode()))
                        if got != want:
                            bad.append(f"{run.get('name', '')}: table {t} = {json.dumps(got)[:300]}")
            print(("FAIL " if bad else "ok   ") + os.path.relpath(f, ROOT) + f" ({len(runs)} runs)")
            for b in bad:
                print("     " + b)
            problems += bool(bad)
    finally:
        server.kill()
    print(f"{len(files) - problems}/{len(files)} scenarios agree on moto")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
