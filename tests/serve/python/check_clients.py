#!/usr/bin/env python3
"""asl-sim serve driven by boto3 and the AWS CLI v1 (both from PyPI): the Step Functions
control plane, executions and their paging, the `sync-` host prefix, TestState with mocks,
Step Functions Local's `#TestCase` executions, the author's loop (activity → answer → history),
EventBridge's rules and targets, S3's UploadPartCopy (through `aws s3 cp` between S3 locations),
S3 object tagging (boto3 and `aws s3api`),
and the refusals of malformed requests (signed by botocore's own SigV4 signer).

Usage: check_clients.py ASL_SIM_BINARY   (run from the repository root; exits 1 on a failure)

A plain script rather than pytest: every check runs, and a run that checks nothing cannot pass.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

import common

ROLE = "arn:aws:iam::123456789012:role/local"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": 1}, "End": True}}})
ECHO = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
BUCKET = "file-manager-filebucket"
MOCK_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "MockConfigFile.json")
MOCKED = json.dumps({"StartAt": "Charge", "States": {
    "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "charge"}, "OutputPath": "$.Payload", "Next": "Wait"},
    "Wait": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
             "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/none", "MessageBody": {"t.$": "$$.Task.Token"}}, "End": True}}})


def start_serve(binary):
    data = tempfile.mkdtemp(prefix="asl-serve-py-")
    proc, endpoint, _ = common.start_serve(
        [binary, "serve", "--in-memory", "--aws-port", "0", "--api-port", "0", "--quiet", "--data-dir", data, "--mock-config", MOCK_CONFIG]
    )
    return proc, endpoint


def client(service, endpoint, **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, **config),
    )


def expect_error(code, fn, *args, message=None, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]
        assert got["Code"] == code, f"expected {code}, got {got}"
        if message is not None:
            assert got["Message"] == message, f"expected {message!r}, got {got['Message']!r}"
        return got
    raise AssertionError(f"expected {code}, the call succeeded")


def wait_done(sfn, arn):
    for _ in range(500):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.01)
    raise AssertionError(f"{arn} still running")


# ------------------------------------------------------------------ checks


def check_control_plane(endpoint):
    sfn = client("stepfunctions", endpoint)
    arn = sfn.create_state_machine(name="py-made", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:py-made", arn
    expect_error(
        "InvalidDefinition",
        sfn.create_state_machine,
        name="py-bad",
        definition="{}",
        roleArn=ROLE,
        message="Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /'",
    )
    expect_error("InvalidName", sfn.create_state_machine, name="py bad", definition=PASS, roleArn=ROLE, message="Invalid Name: 'py bad'")
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["definition"] == PASS and d["status"] == "ACTIVE", d
    u = sfn.update_state_machine(stateMachineArn=arn, definition=ECHO, publish=True, versionDescription="v1")
    assert u["stateMachineVersionArn"] == arn + ":1", u
    assert sfn.describe_state_machine(stateMachineArn=arn)["revisionId"] == u["revisionId"]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[{"stateMachineVersionArn": arn + ":1", "weight": 100}])
    assert alias["stateMachineAliasArn"] == arn + ":live"
    x = sfn.start_execution(stateMachineArn=arn + ":live", name="via-alias", input='{"a":1}')
    done = wait_done(sfn, x["executionArn"])
    assert done["output"] == '{"a":1}' and done["stateMachineAliasArn"] == arn + ":live", done
    fe = sfn.describe_state_machine_for_execution(executionArn=x["executionArn"])
    # The revision the alias routed to (version 1's). The API model of DescribeStateMachineForExecution has
    # no alias or version field (botocore drops what serve adds); DescribeExecution names both (above).
    assert fe["definition"] == ECHO and fe["revisionId"] == u["revisionId"] and fe["stateMachineArn"] == arn, fe
    expect_error("ConflictException", sfn.delete_state_machine_version, stateMachineVersionArn=arn + ":1")
    sfn.delete_state_machine_alias(stateMachineAliasArn=arn + ":live")
    sfn.delete_state_machine_version(stateMachineVersionArn=arn + ":1")
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
    sfn.untag_resource(resourceArn=arn, tagKeys=["k"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []
    v = sfn.validate_state_machine_definition(definition='{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"}}}')
    assert v["result"] == "FAIL", v
    assert v["diagnostics"][0] == {"code": "MISSING_TRANSITION_TARGET", "message": "Missing 'Next' target: Z", "location": "/States/A/Next", "severity": "ERROR"}, v
    sfn.delete_state_machine(stateMachineArn=arn)
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn, message=f"State Machine Does Not Exist: '{arn}'")
    expect_error("InvalidArn", sfn.describe_state_machine, stateMachineArn="not_a_valid_arn", message="Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'")


def check_paging(endpoint):
    sfn = client("stepfunctions", endpoint)
    arn = sfn.create_state_machine(name="py-pages", definition=ECHO, roleArn=ROLE)["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn, name="n0", input='{"i":0}')
    for i in range(1, 5):
        sfn.start_execution(stateMachineArn=arn, name=f"n{i}", input=json.dumps({"i": i}))
    wait_done(sfn, first["executionArn"])
    time.sleep(0.2)
    pages = list(sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, PaginationConfig={"PageSize": 2}))
    assert [len(p["executions"]) for p in pages] == [2, 2, 1], [len(p["executions"]) for p in pages]
    assert sorted(e["name"] for p in pages for e in p["executions"]) == [f"n{i}" for i in range(5)]
    history = list(sfn.get_paginator("get_execution_history").paginate(executionArn=first["executionArn"], PaginationConfig={"PageSize": 1}))
    assert [e["type"] for p in history for e in p["events"]] == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    rev = sfn.get_execution_history(executionArn=first["executionArn"], reverseOrder=True, includeExecutionData=False)
    assert rev["events"][0]["type"] == "ExecutionSucceeded" and "output" not in rev["events"][0]["executionSucceededEventDetails"], rev["events"][0]
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="n0", input='{"i":0}')
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="n0", input='{"i":99}')
    big = json.dumps({"x": "a" * 262144})
    expect_error("ValidationException", sfn.start_execution, stateMachineArn=arn, input=big)


def check_sync_prefix(endpoint):
    # boto3's own setting: inject_host_prefix=False (without it the request goes to sync-127.0.0.1).
    sfn = client("stepfunctions", endpoint, inject_host_prefix=False)
    arn = sfn.create_state_machine(name="py-sync", definition=PASS, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    out = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert out["status"] == "SUCCEEDED" and out["output"] == '{"v":1}', out
    # The AWS CLI v1: AWS_DISABLE_HOST_PREFIX_INJECTION=true (or disable_host_prefix_injection in ~/.aws/config).
    r = aws_cli(endpoint, ["stepfunctions", "start-sync-execution", "--state-machine-arn", arn, "--input", "{}"], {"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"})
    assert json.loads(r)["status"] == "SUCCEEDED", r


def check_eventbridge(endpoint):
    eb = client("events", endpoint)
    sfn = client("stepfunctions", endpoint)
    target = sfn.create_state_machine(name="py-sink", definition=ECHO, roleArn=ROLE)["stateMachineArn"]
    eb.create_event_bus(Name="py-bus")
    eb.put_rule(Name="py-rule", EventBusName="py-bus", EventPattern=json.dumps({"source": ["py"]}))
    eb.put_targets(Rule="py-rule", EventBusName="py-bus", Targets=[{"Id": "t", "Arn": target, "InputPath": "$.detail"}])
    assert [r["Name"] for r in eb.list_rules(EventBusName="py-bus")["Rules"]] == ["py-rule"]
    assert eb.list_targets_by_rule(Rule="py-rule", EventBusName="py-bus")["Targets"] == [{"Id": "t", "Arn": target, "InputPath": "$.detail"}]
    eb.put_events(Entries=[{"EventBusName": "py-bus", "Source": "py", "DetailType": "t", "Detail": '{"n":5}'}])
    for _ in range(300):
        ex = sfn.list_executions(stateMachineArn=target)["executions"]
        if ex:
            break
        time.sleep(0.01)
    assert len(ex) == 1, ex
    assert wait_done(sfn, ex[0]["executionArn"])["output"] == '{"n":5}'
    expect_error("ResourceNotFoundException", eb.describe_rule, Name="nope", EventBusName="py-bus", message="Rule nope does not exist on EventBus py-bus.")
    eb.remove_targets(Rule="py-rule", EventBusName="py-bus", Ids=["t"])
    eb.delete_rule(Name="py-rule", EventBusName="py-bus")
    eb.delete_event_bus(Name="py-bus")
    # The CLI too.
    out = json.loads(aws_cli(endpoint, ["events", "list-event-buses"]))
    names = [b["Name"] for b in out["EventBuses"]]
    assert "default" in names and "py-bus" not in names, out


def check_s3_copy_above_multipart_threshold(endpoint):
    # `aws s3 cp s3://b/big s3://b/copy` uses UploadPartCopy above 8 MB.
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(os.urandom(9 * 1024 * 1024))
        path = f.name
    aws_cli(endpoint, ["s3", "cp", path, f"s3://{BUCKET}/py-big"])
    aws_cli(endpoint, ["s3", "cp", f"s3://{BUCKET}/py-big", f"s3://{BUCKET}/py-copy"])
    s3 = client("s3", endpoint, s3={"addressing_style": "path"})
    a = s3.head_object(Bucket=BUCKET, Key="py-big")
    b = s3.get_object(Bucket=BUCKET, Key="py-copy")["Body"].read()
    with open(path, "rb") as f:
        assert b == f.read(), "the copy differs"
    assert a["ContentLength"] == len(b)
    os.unlink(path)


def signed(endpoint, target, body):
    """A request signed by botocore's SigV4 signer with a body no SDK would send."""
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=endpoint + "/", data=body, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "states", "us-east-1").add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# The Task state machine TestState tests here and in testapi.rs.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test_state_task.asl.json")) as f:
    TASK = f.read()


def check_test_state(endpoint):
    # boto3 sends TestState to the sync- host prefix, as StartSyncExecution (see check_sync_prefix).
    sfn = client("stepfunctions", endpoint, inject_host_prefix=False)
    mock = {"result": json.dumps({"Payload": {"ok": True}})}
    expected = {"order": {"id": 7}, "payment": {"charged": True}}
    for level in ["INFO", "DEBUG", "TRACE"]:
        r = sfn.test_state(definition=TASK, stateName="Charge", input='{"order": {"id": 7}}', mock=mock, inspectionLevel=level)
        assert r["status"] == "SUCCEEDED" and r["nextState"] == "Ship" and json.loads(r["output"]) == expected, r
        if level == "INFO":
            assert "inspectionData" not in r, r
        else:
            d = r["inspectionData"]
            assert json.loads(d["afterParameters"]) == {"FunctionName": "charge", "Payload": {"id": 7}}, d
            assert json.loads(d["result"]) == {"Payload": {"ok": True}} and json.loads(d["afterResultSelector"]) == {"charged": True}, d
    busy = {"errorOutput": {"error": "Busy", "cause": "try later"}}
    r = sfn.test_state(definition=TASK, stateName="Charge", input='{"order": {}}', mock=busy, inspectionLevel="DEBUG", stateConfiguration={"retrierRetryCount": 3})
    assert r["status"] == "RETRIABLE" and r["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 16}, r
    r = sfn.test_state(definition=TASK, stateName="Charge", input='{"order": {}}', mock=busy, stateConfiguration={"retrierRetryCount": 4})
    assert r["status"] == "CAUGHT_ERROR" and r["nextState"] == "Refund", r
    expect_error("ValidationException", sfn.test_state, definition=TASK, stateName="Nope", roleArn=ROLE, message="State not found in definition")
    expect_error("ValidationException", sfn.test_state, definition=TASK, stateName="Charge", message="RoleArn must be specified when testing a Task state")
    expect_error(
        "ValidationException", sfn.test_state, definition=TASK, stateName="Charge", mock={"result": "{", "fieldValidationMode": "NONE"}, message="Mocked result must be valid JSON"
    )
    # fieldValidationMode (STRICT by default) checks a mocked result against the API's output shape.
    start = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}, "End": True})
    expect_error("ValidationException", sfn.test_state, definition=start, mock={"result": "{}"}, message="Mock result schema validation error: Required field 'ExecutionArn' is missing")
    r = sfn.test_state(definition=start, mock={"result": "{}", "fieldValidationMode": "PRESENT"})
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {}, r
    # The AWS CLI v1, with its documented switch for the host prefix.
    out = aws_cli(
        endpoint,
        ["stepfunctions", "test-state", "--definition", TASK, "--state-name", "Charge", "--input", '{"order": {"id": 8}}',
         "--mock", json.dumps(mock), "--inspection-level", "DEBUG"],
        {"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
    )
    r = json.loads(out)
    assert r["status"] == "SUCCEEDED" and json.loads(r["inspectionData"]["input"]) == {"order": {"id": 8}}, r


def check_test_cases(endpoint):
    # serve runs with tests/serve/python/MockConfigFile.json (SFN Local's format): see start_serve.
    sfn = client("stepfunctions", endpoint)
    arn = sfn.create_state_machine(name="py-orders", definition=MOCKED, roleArn=ROLE)["stateMachineArn"]
    ok = sfn.start_execution(stateMachineArn=arn + "#HappyPath", name="happy", input="{}")
    assert ok["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:py-orders:happy", ok
    d = wait_done(sfn, ok["executionArn"])
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"approved": True}, d
    bad = sfn.start_execution(stateMachineArn=arn + "#Denied", name="denied")
    d = wait_done(sfn, bad["executionArn"])
    assert d["status"] == "FAILED" and d["error"] == "Denied", d
    expect_error("ValidationException", sfn.start_execution, stateMachineArn=arn + "#Nope",
                 message="The mock config has no test case 'Nope' for state machine 'py-orders'")
    out = json.loads(aws_cli(endpoint, ["stepfunctions", "start-execution", "--state-machine-arn", arn + "#HappyPath", "--name", "cli"]))
    assert wait_done(sfn, out["executionArn"])["status"] == "SUCCEEDED"
    # RedriveExecution: the failed state runs again (its mock's next response).
    expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=ok["executionArn"])
    x = sfn.start_execution(stateMachineArn=arn + "#FailThenOk", name="redriven")
    d = wait_done(sfn, x["executionArn"])
    assert d["status"] == "FAILED" and d["redriveStatus"] == "REDRIVABLE", d
    aws_cli(endpoint, ["stepfunctions", "redrive-execution", "--execution-arn", x["executionArn"]])
    d = wait_done(sfn, x["executionArn"])
    assert d["status"] == "SUCCEEDED" and d["redriveCount"] == 1, d


def check_the_authors_loop(endpoint):
    sfn = client("stepfunctions", endpoint)
    activity = sfn.create_activity(name="py-approve")["activityArn"]
    definition = json.dumps({"StartAt": "Approve", "States": {
        "Approve": {"Type": "Task", "Resource": activity, "ResultPath": "$.decision", "Next": "Done"}, "Done": {"Type": "Succeed"}}})
    arn = sfn.create_state_machine(name="py-approval", definition=definition, roleArn=ROLE)["stateMachineArn"]
    x = sfn.start_execution(stateMachineArn=arn, input='{"cost": 12}')
    task = sfn.get_activity_task(activityArn=activity, workerName="py")
    assert json.loads(task["input"]) == {"cost": 12}, task
    sfn.send_task_success(taskToken=task["taskToken"], output='{"ok": true}')
    d = wait_done(sfn, x["executionArn"])
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"cost": 12, "decision": {"ok": True}}, d
    types = [e["type"] for e in sfn.get_execution_history(executionArn=x["executionArn"])["events"]]
    assert "ActivitySucceeded" in types and types[-1] == "ExecutionSucceeded", types
    # An answered token: serve's TaskTimedOut "Provided task does not exist anymore" (sfn_tasks.rs).
    expect_error("TaskTimedOut", sfn.send_task_success, taskToken=task["taskToken"], output="{}")


def check_malformed_requests(endpoint):
    status, body = signed(endpoint, "AWSStepFunctions.CreateStateMachine", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException", (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.CreateStateMachine", json.dumps({"name": 7, "definition": PASS, "roleArn": ROLE}).encode())
    assert status == 400 and body["__type"] == "SerializationException", (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.CreateStateMachine", json.dumps({"definition": PASS, "roleArn": ROLE}).encode())
    assert status == 400 and body["__type"] == "ValidationException" and "'name'" in body["message"], (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.ListExecutions", json.dumps({"stateMachineArn": "x", "statusFilter": "succeeded"}).encode())
    assert status == 400 and body["message"].startswith("1 validation error detected: Value 'succeeded' at 'statusFilter'"), (status, body)
    # SendTaskSuccess exists now: without a token it is AWS's validation error.
    status, body = signed(endpoint, "AWSStepFunctions.SendTaskSuccess", b"{}")
    assert status == 400 and body["__type"] == "ValidationException" and "'taskToken'" in body["message"], (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.TestState", b"{}")
    assert status == 400 and body["__type"] == "ValidationException" and "'definition'" in body["message"], (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.RedriveExecution", b"{}")
    assert status == 400 and body["__type"] == "ValidationException" and "'executionArn'" in body["message"], (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.ListMapRuns", b"{}")
    assert status == 400 and body["__type"] == "ValidationException" and "'executionArn'" in body["message"], (status, body)
    status, body = signed(endpoint, "AWSStepFunctions.DescribeEverything", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException", (status, body)



def check_s3_object_tagging(endpoint):
    # boto3 and `aws s3api`: tags on PUT, Put/Get/DeleteObjectTagging, the copy directive, refusals.
    s3 = client("s3", endpoint, s3={"addressing_style": "path"})
    s3.put_object(Bucket=BUCKET, Key="py-tagged", Body=b"t", Tagging="team=ops&note=a%20b")
    assert s3.get_object(Bucket=BUCKET, Key="py-tagged")["TagCount"] == 2
    got = s3.get_object_tagging(Bucket=BUCKET, Key="py-tagged")["TagSet"]
    assert got == [{"Key": "note", "Value": "a b"}, {"Key": "team", "Value": "ops"}], got
    s3.copy_object(Bucket=BUCKET, Key="py-tagged-copy", CopySource=f"{BUCKET}/py-tagged", TaggingDirective="REPLACE", Tagging="x=1")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="py-tagged-copy")["TagSet"] == [{"Key": "x", "Value": "1"}]
    aws_cli(endpoint, ["s3api", "put-object-tagging", "--bucket", BUCKET, "--key", "py-tagged",
                       "--tagging", json.dumps({"TagSet": [{"Key": "stage", "Value": "prod"}]})])
    out = json.loads(aws_cli(endpoint, ["s3api", "get-object-tagging", "--bucket", BUCKET, "--key", "py-tagged"]))
    assert out["TagSet"] == [{"Key": "stage", "Value": "prod"}], out
    expect_error("InvalidTag", s3.put_object_tagging, Bucket=BUCKET, Key="py-tagged",
                 Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]}, message="Your TagKey cannot be prefixed with aws:")
    expect_error("BadRequest", s3.put_object_tagging, Bucket=BUCKET, Key="py-tagged",
                 Tagging={"TagSet": [{"Key": f"k{i}", "Value": ""} for i in range(11)]}, message="Object tags cannot be greater than 10")
    expect_error("NoSuchKey", s3.get_object_tagging, Bucket=BUCKET, Key="py-missing")
    aws_cli(endpoint, ["s3api", "delete-object-tagging", "--bucket", BUCKET, "--key", "py-tagged"])
    assert s3.get_object_tagging(Bucket=BUCKET, Key="py-tagged")["TagSet"] == []


def check_s3_bucket_versioning(endpoint):
    # boto3 and `aws s3api` on a bucket of its own: versions, delete markers, reads by version
    # id, ListObjectVersions through boto3's paginator, suspension.
    s3 = client("s3", endpoint, s3={"addressing_style": "path"})
    bucket = "py-versioned"
    s3.create_bucket(Bucket=bucket)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    aws_cli(endpoint, ["s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled"])
    assert json.loads(aws_cli(endpoint, ["s3api", "get-bucket-versioning", "--bucket", bucket]))["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    gone = s3.delete_object(Bucket=bucket, Key="doc")
    assert gone["DeleteMarker"] is True, gone
    expect_error("NoSuchKey", s3.get_object, Bucket=bucket, Key="doc")
    expect_error("NoSuchVersion", s3.get_object, Bucket=bucket, Key="doc", VersionId="x" * 32)
    for i in range(4):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    entries = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        entries += [(v["Key"], v["VersionId"], v["IsLatest"], "version") for v in page.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["IsLatest"], "marker") for m in page.get("DeleteMarkers", [])]
    doc = [e for e in entries if e[0] == "doc"]
    assert sorted(doc) == sorted([("doc", v2, False, "version"), ("doc", v1, False, "version"),
                                  ("doc", gone["VersionId"], True, "marker")]), entries
    assert sorted(e[0] for e in entries if e[0] != "doc") == ["k0", "k1", "k2", "k3"], entries
    assert all(e[2] for e in entries if e[0] != "doc"), entries
    assert len(entries) == 7, entries
    out = json.loads(aws_cli(endpoint, ["s3api", "list-object-versions", "--bucket", bucket, "--prefix", "doc"]))
    assert [v["VersionId"] for v in out["Versions"]] == [v2, v1], out
    aws_cli(endpoint, ["s3api", "delete-object", "--bucket", bucket, "--key", "doc", "--version-id", gone["VersionId"]])
    assert s3.get_object(Bucket=bucket, Key="doc")["VersionId"] == v2
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="doc", Body=b"null")["VersionId"] == "null"
    expect_error("MalformedXML", s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Off"})


def aws_cli(endpoint, args, env_extra=None):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint})
    env.update(env_extra or {})
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    r = subprocess.run([aws, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


CHECKS = [
    check_control_plane,
    check_paging,
    check_sync_prefix,
    check_eventbridge,
    check_s3_copy_above_multipart_threshold,
    check_s3_object_tagging,
    check_s3_bucket_versioning,
    check_test_state,
    check_test_cases,
    check_the_authors_loop,
    check_malformed_requests,
]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    proc, endpoint = start_serve(sys.argv[1])
    try:
        failed = common.run_checks(CHECKS, endpoint)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} client checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
