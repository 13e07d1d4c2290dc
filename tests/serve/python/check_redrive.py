#!/usr/bin/env python3
"""The redrive (workflows/redrive.asl.yaml) end to end through `asl-sim serve` with the file
manager's template.yaml, driven by boto3: events are made to land in the two dead-letter queues
as AWS would put them there (the rule that should have started the workflow is disabled and a
capture rule sends the event to the queue instead, so each body is the event exactly as
EventBridge delivered it), plus a body that is not JSON; then the redrive runs on each queue and
the checks are on the effects (the inventory records the replayed upload, the replayed delete
request removes the object and the inventory records the tombstone) and on the queues (empty,
except the malformed message, kept and reported).

Usage: check_redrive.py ASL_SIM_BINARY   (run from the repository root; exits 1 on a failure)
"""
import json
import sys
import tempfile
import time

import boto3
from botocore.config import Config

import common

STACK = "file-manager"


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def wait_for(what, fn, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def machine_arn(sfn, name):
    for m in sfn.list_state_machines()["stateMachines"]:
        if m["name"] == name:
            return m["stateMachineArn"]
    raise AssertionError(f"no state machine {name}")


def executions(sfn, arn):
    return sfn.list_executions(stateMachineArn=arn)["executions"]


def all_done(sfn, arn):
    ex = executions(sfn, arn)
    return ex if all(e["status"] != "RUNNING" for e in ex) else None


def queue_counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def capture(eb, sqs, rule, bus, pattern, queue_url):
    """Disables `rule` and sends what it would have matched to the queue instead: the event
    lands in the dead-letter queue as the body EventBridge delivers."""
    eb.disable_rule(Name=rule, EventBusName=bus)
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eb.put_rule(Name="capture", EventBusName=bus, EventPattern=json.dumps(pattern))
    eb.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "dlq", "Arn": arn}])


def release(eb, rule, bus):
    eb.remove_targets(Rule="capture", EventBusName=bus, Ids=["dlq"])
    eb.delete_rule(Name="capture", EventBusName=bus)
    eb.enable_rule(Name=rule, EventBusName=bus)


def redrive(sfn, arn, queue):
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"Queue": queue}))["executionArn"]
    d = wait_for("the redrive", lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)), 60)
    assert d["status"] == "SUCCEEDED", d
    return json.loads(d["output"])


def check_redrive(ctx):
    endpoint, out = ctx
    s3, ddb, sfn, eb, sqs = (client(s, endpoint) for s in ("s3", "dynamodb", "stepfunctions", "events", "sqs"))
    bucket, table, bus = out["BucketName"], out["TableName"], out["EventBusName"]
    inv_q, del_q = out["UpdateInventoryDeadLetterQueueUrl"], out["DeleteDeadLetterQueueUrl"]
    redrive_arn = out["RedriveStateMachineArn"]
    update_inventory = machine_arn(sfn, "UpdateInventoryStateMachine")
    inv_rule, del_rule = f"{STACK}-UpdateInventoryStateMachineObjectEvents", f"{STACK}-DeleteStateMachineDeleteRequests"

    def item(key):
        return ddb.get_item(TableName=table, Key={"PK": {"S": "alice"}, "SK": {"S": key}}, ConsistentRead=True).get("Item")

    # 1. A file whose Object Created event did not reach update-inventory: it is in the queue.
    capture(eb, sqs, inv_rule, "default", {"source": ["aws.s3"]}, inv_q)
    s3.put_object(Bucket=bucket, Key="alice/lost.txt", Body=b"12345678")
    wait_for("the S3 event in the queue", lambda: queue_counts(sqs, inv_q)[0] == 1)
    release(eb, inv_rule, "default")
    assert item("alice/lost.txt") is None, "the event was not lost"
    assert executions(sfn, update_inventory) == []

    # 2. A kept file, recorded normally, and a delete request for it that was not delivered.
    s3.put_object(Bucket=bucket, Key="alice/kept.txt", Body=b"abc")
    wait_for("kept.txt in the inventory", lambda: item("alice/kept.txt"))
    wait_for("update-inventory to finish", lambda: all_done(sfn, update_inventory))
    capture(eb, sqs, del_rule, bus, {"source": ["FileApi"]}, del_q)
    eb.put_events(Entries=[{"EventBusName": bus, "Source": "FileApi", "DetailType": "DeleteFile",
                            "Detail": json.dumps({"user": "alice", "body": {"name": "kept.txt"}})}])
    wait_for("the request in the queue", lambda: queue_counts(sqs, del_q)[0] == 1)
    release(eb, del_rule, bus)
    sqs.send_message(QueueUrl=del_q, MessageBody="this is not an event {")
    assert queue_counts(sqs, del_q) == (2, 0)

    # 3. Redrive the S3 queue: update-inventory started with the event; the queue is empty.
    result = redrive(sfn, redrive_arn, "update-inventory")
    assert result == {"Queue": "update-inventory", "Replayed": 1, "Failed": 0, "Malformed": 0, "Failures": [],
                      "MalformedMessages": [], "Complete": True}, result
    assert queue_counts(sqs, inv_q) == (0, 0), queue_counts(sqs, inv_q)
    wait_for("update-inventory to finish", lambda: all_done(sfn, update_inventory))
    lost = item("alice/lost.txt")
    assert lost and lost["Live"] == {"BOOL": True} and lost["Size"] == {"N": "8"}, lost

    # 4. Redrive the request queue by its URL: the delete runs (the object goes, and its event
    # makes the inventory's tombstone); the malformed message stays, reported.
    result = redrive(sfn, redrive_arn, del_q)
    assert result["Queue"] == "delete" and result["Replayed"] == 1 and result["Failed"] == 0, result
    assert result["Malformed"] == 1 and result["MalformedMessages"][0]["Reason"] == "the body is not JSON", result
    assert result["Complete"] is True, result
    assert queue_counts(sqs, del_q) == (0, 1), queue_counts(sqs, del_q)
    wait_for("kept.txt deleted from the bucket",
             lambda: "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="alice/kept.txt"))
    wait_for("the tombstone of kept.txt", lambda: (item("alice/kept.txt") or {}).get("Live") == {"BOOL": False})

    # 5. A second run finds nothing to do (the malformed message is still invisible): nothing replayed twice.
    result = redrive(sfn, redrive_arn, "delete")
    assert (result["Replayed"], result["Failed"], result["Malformed"]) == (0, 0, 0), result

    # 6. Another queue is refused.
    ex = sfn.start_execution(stateMachineArn=redrive_arn, input=json.dumps({"Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/other"}))["executionArn"]
    d = wait_for("the refusal", lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)))
    assert d["status"] == "FAILED" and d["error"] == "InvalidInput", d


CHECKS = [check_redrive]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    data = tempfile.mkdtemp(prefix="asl-serve-redrive-")
    proc, endpoint, outputs = common.start_serve(
        [sys.argv[1], "serve", "--in-memory", "--aws-port", "0", "--api-port", "0", "--quiet", "--data-dir", data])
    try:
        failed = common.run_checks(CHECKS, (endpoint, outputs), timed=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} redrive checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
