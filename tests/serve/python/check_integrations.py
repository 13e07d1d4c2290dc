#!/usr/bin/env python3
"""serve's integrations driven by boto3 and the AWS CLI v1 (issue 14), with the template in
integrations/: template queues, topics and subscriptions; an SQS `.waitForTaskToken` callback
answered by a consumer; SNS → SQS (envelope and raw, with a filter policy), SNS → Lambda and
SNS → an HTTP subscriber confirmed by its SubscribeURL;
an SQS event source with partial batch failures and a redrive to the dead-letter queue; the
HTTP Task calling a local server with each kind of EventBridge connection auth; apigateway:invoke
of the template's HTTP API; a workflow invoking the template's function.

Usage: check_integrations.py ASL_SIM_BINARY   (run from the repository root; exits 1 on a failure)

A plain script (not pytest): every check runs, and a run that checks nothing cannot pass.
Bounded: every wait has a deadline; the whole run takes about 10 s.
"""
import base64
import glob
import hashlib
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config

import common

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "integrations")
ACCOUNT = "123456789012"


class Recorder(http.server.BaseHTTPRequestHandler):
    """The HTTP endpoint the HTTP Task calls, and the OAuth authorization endpoint."""

    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        Recorder.requests.append({"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        if self.path == "/oauth/token":
            self.answer(200, {"access_token": "tok-123", "token_type": "Bearer", "expires_in": 3600})
        elif self.path.startswith("/sns/"):
            # An SNS HTTP subscriber: any 2xx tells SNS the delivery succeeded.
            self.answer(200, {})
        else:
            self.answer(404, {"error": "no such path"})

    def do_GET(self):
        Recorder.requests.append({"method": "GET", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": ""})
        if self.path.startswith("/items"):
            self.answer(200, {"items": [1, 2, 3], "authorization": self.headers.get("Authorization"), "apiKey": self.headers.get("x-api-key")})
        else:
            self.answer(404, {"error": "no such path"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def start_serve(binary, out_dir, http_base):
    data = tempfile.mkdtemp(prefix="asl-serve-integrations-")
    proc, endpoint, outputs = common.start_serve(
        [binary, "serve", "--template", os.path.join(HERE, "template.yaml"), "--in-memory", "--aws-port", "0", "--api-port", "0",
         "--quiet", "--data-dir", data, "--stack-name", "itest", "--parameter", f"OutDir={out_dir}", "--parameter", f"HttpBase={http_base}",
         "--function-binary", f"Worker={os.path.join(HERE, 'function.py')}"]
    )
    # Keep draining the pipes so that a chatty serve never blocks on a full pipe.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, endpoint, outputs


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def aws_cli(endpoint, args):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint})
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    if not os.path.exists(aws):
        aws = "aws"
    # --endpoint-url too: CLI releases before AWS_ENDPOINT_URL support ignore the variable.
    r = subprocess.run([aws, *args, "--endpoint-url", endpoint, "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout) if r.stdout.strip() else None


def eventually(what, fn, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_done(sfn, arn, seconds=20):
    return eventually(f"{arn} to end", lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=arn)), seconds)


def machine(name):
    return f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}"


class Events:
    """The events the template's function received (one JSON file each)."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def all(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.out_dir, "*.json"))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def sqs_records(self):
        return [r for e in self.all() if isinstance(e, dict) for r in e.get("Records", []) if r.get("eventSource") == "aws:sqs"]

    def sns_records(self):
        return [r for e in self.all() if isinstance(e, dict) for r in e.get("Records", []) if r.get("EventSource") == "aws:sns"]


# ------------------------------------------------------------------ checks


def check_template_resources(ctx):
    """AWS::SQS::Queue, AWS::SNS::Topic, its Subscription property and AWS::SNS::Subscription
    exist in serve; Ref/GetAtt give the queue URL and ARN
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queue.html#aws-resource-sqs-queue-return-values)."""
    sqs, sns = client("sqs", ctx["endpoint"]), client("sns", ctx["endpoint"])
    names = sorted(u.rsplit("/", 1)[1] for u in sqs.list_queues()["QueueUrls"])
    assert names == sorted(f"itest-{n}" for n in ["AlertInbox", "Callbacks", "Jobs", "JobsDlq", "UrgentInbox"]), names
    assert ctx["outputs"]["JobsUrl"] == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/itest-Jobs", ctx["outputs"]
    attrs = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="itest-Jobs")["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "1", attrs
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:itest-JobsDlq", "maxReceiveCount": 2}, attrs
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [topic]
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"].rsplit(":", 1)[1]) for s in subs) == [
        ("lambda", "Worker"), ("sqs", "itest-AlertInbox"), ("sqs", "itest-UrgentInbox")], subs
    # The AWS CLI sees the same.
    out = aws_cli(ctx["endpoint"], ["sqs", "list-queues", "--queue-name-prefix", "itest-Call"])
    assert [u.rsplit("/", 1)[1] for u in out["QueueUrls"]] == ["itest-Callbacks"], out


def check_sqs_callback(ctx):
    """sqs:sendMessage.waitForTaskToken: the execution waits until a consumer that received
    the token calls SendTaskSuccess (https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token)."""
    sfn, sqs = client("stepfunctions", ctx["endpoint"]), client("sqs", ctx["endpoint"])
    url = sqs.get_queue_url(QueueName="itest-Callbacks")["QueueUrl"]
    arn = sfn.start_execution(stateMachineArn=machine("callback"), input='{"order": 7}')["executionArn"]
    msgs = eventually("the callback message", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"))
    body = json.loads(msgs[0]["Body"])
    assert body["order"] == 7 and body["token"], body
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=body["token"], output=json.dumps({"approved": True}))
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    done = wait_done(sfn, arn)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"approved": True}, done
    # The same with the AWS CLI as the consumer.
    arn = sfn.start_execution(stateMachineArn=machine("callback"), input='{"order": 8}')["executionArn"]
    got = eventually("the CLI's message", lambda: (aws_cli(ctx["endpoint"], ["sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "1"]) or {}).get("Messages"))
    token = json.loads(got[0]["Body"])["token"]
    aws_cli(ctx["endpoint"], ["stepfunctions", "send-task-success", "--task-token", token, "--task-output", '{"by": "cli"}'])
    done = wait_done(sfn, arn)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"by": "cli"}, done


def check_sns_fan_out(ctx):
    """A publish reaches the subscribed queues (the JSON envelope, or the raw message with
    RawMessageDelivery) and the subscribed function (the SNS event), filter policies applied
    (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html#http-notification-json,
    https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html,
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html)."""
    sqs, sns = client("sqs", ctx["endpoint"]), client("sns", ctx["endpoint"])
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
    inbox = sqs.get_queue_url(QueueName="itest-AlertInbox")["QueueUrl"]
    urgent = sqs.get_queue_url(QueueName="itest-UrgentInbox")["QueueUrl"]
    low = sns.publish(TopicArn=topic, Message="disk at 70%", Subject="disk", MessageAttributes={"severity": {"DataType": "String", "StringValue": "low"}})
    # The AWS CLI publishes the urgent one.
    high = aws_cli(ctx["endpoint"], ["sns", "publish", "--topic-arn", topic, "--message", "disk full",
                                     "--message-attributes", '{"severity": {"DataType": "String", "StringValue": "high"}}'])
    envelopes = []
    eventually("two envelopes", lambda: envelopes.extend(sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])) or len(envelopes) >= 2)
    bodies = sorted((json.loads(m["Body"]) for m in envelopes), key=lambda b: b["Message"])
    assert [b["Message"] for b in bodies] == ["disk at 70%", "disk full"], bodies
    first = bodies[0]
    assert first["Type"] == "Notification" and first["TopicArn"] == topic and first["MessageId"] == low["MessageId"], first
    assert first["Subject"] == "disk" and first["MessageAttributes"] == {"severity": {"Type": "String", "Value": "low"}}, first
    for k in ["Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"]:
        assert k in first, (k, first)
    raw = eventually("the urgent message", lambda: sqs.receive_message(QueueUrl=urgent, MessageAttributeNames=["All"]).get("Messages"))
    assert len(raw) == 1 and raw[0]["Body"] == "disk full", raw
    assert raw[0]["MessageAttributes"]["severity"]["StringValue"] == "high", raw
    records = eventually("two SNS events at the function", lambda: (lambda r: r if len(r) >= 2 else None)(ctx["events"].sns_records()))
    by_message = {r["Sns"]["Message"]: r for r in records}
    r = by_message["disk full"]
    assert r["EventSource"] == "aws:sns" and r["EventVersion"] == "1.0" and r["EventSubscriptionArn"].startswith(topic + ":"), r
    assert r["Sns"]["MessageId"] == high["MessageId"] and r["Sns"]["TopicArn"] == topic and r["Sns"]["Type"] == "Notification", r
    assert r["Sns"]["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}, r
    # A workflow's sns:publish takes the same path.
    sfn = client("stepfunctions", ctx["endpoint"])
    arn = sfn.start_execution(stateMachineArn=machine("publish"), input='{"message": "from a workflow", "severity": "high"}')["executionArn"]
    assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
    raw = eventually("the workflow's message", lambda: sqs.receive_message(QueueUrl=urgent).get("Messages"))
    assert raw[0]["Body"] == "from a workflow", raw
    eventually("the workflow's message at the function", lambda: any(r["Sns"]["Message"] == "from a workflow" for r in ctx["events"].sns_records()))


def check_sns_http_subscription(ctx):
    """An HTTP subscription (issue 14): Subscribe with an http endpoint on 127.0.0.1 (this
    script's server) is pending until the endpoint's SubscriptionConfirmation is confirmed by
    a GET of its SubscribeURL (no credentials, as on AWS); a Publish then POSTs the
    notification envelope with SNS's headers
    (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html,
    https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html)."""
    import urllib.request
    import xml.etree.ElementTree as ET

    sns = client("sns", ctx["endpoint"])
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    hook = ctx["http_base"] + "/sns/hook"
    sub = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook)
    assert sub["SubscriptionArn"] == "pending confirmation", sub
    posts = lambda kind: [r for r in Recorder.requests if r["method"] == "POST" and r["path"] == "/sns/hook" and r["headers"].get("x-amz-sns-message-type") == kind]
    confirmation = eventually("the SubscriptionConfirmation POST", lambda: posts("SubscriptionConfirmation"))
    assert len(confirmation) == 1, confirmation
    c = json.loads(confirmation[0]["body"])
    assert c["Type"] == "SubscriptionConfirmation" and c["TopicArn"] == topic and c["Token"], c
    assert c["SubscribeURL"].startswith("http://127.0.0.1:") and "Action=ConfirmSubscription" in c["SubscribeURL"], c
    assert confirmation[0]["headers"]["x-amz-sns-topic-arn"] == topic, confirmation[0]["headers"]
    [pending] = [s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"] == hook]
    assert pending["SubscriptionArn"] == "PendingConfirmation", pending
    with urllib.request.urlopen(c["SubscribeURL"], timeout=10) as r:
        assert r.status == 200, r.status
        answer = ET.fromstring(r.read())
    arn = [e.text for e in answer.iter() if e.tag.endswith("SubscriptionArn")]
    assert len(arn) == 1 and arn[0].startswith(topic + ":"), ET.tostring(answer)
    [confirmed] = [s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"] == hook]
    assert confirmed["SubscriptionArn"] == arn[0] and confirmed["Protocol"] == "http", confirmed
    sent = sns.publish(TopicArn=topic, Message="build 42 passed", Subject="ci")
    notification = eventually("the Notification POST", lambda: posts("Notification"))
    assert len(notification) == 1, notification
    h, n = notification[0]["headers"], json.loads(notification[0]["body"])
    assert h["x-amz-sns-message-id"] == sent["MessageId"] and h["x-amz-sns-topic-arn"] == topic, h
    assert h["x-amz-sns-subscription-arn"] == arn[0], h
    assert n["Type"] == "Notification" and n["MessageId"] == sent["MessageId"] and n["TopicArn"] == topic, n
    assert n["Message"] == "build 42 passed" and n["Subject"] == "ci", n
    for k in ["Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"]:
        assert k in n, (k, n)
    assert "Token" not in n and "SubscribeURL" not in n, n


def check_sqs_event_source(ctx):
    """An SQS event source: batches in Lambda's event shape, processed messages deleted, a
    reported failure returned to the queue and, past maxReceiveCount, moved to the DLQ
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""
    sqs = client("sqs", ctx["endpoint"])
    jobs = sqs.get_queue_url(QueueName="itest-Jobs")["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName="itest-JobsDlq")["QueueUrl"]
    sent = sqs.send_message_batch(QueueUrl=jobs, Entries=[
        {"Id": "a", "MessageBody": "job-a", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "resize"}}},
        {"Id": "b", "MessageBody": "fail-me"},
        {"Id": "c", "MessageBody": "job-c"}])["Successful"]
    ids = {e["Id"]: e["MessageId"] for e in sent}
    dead = eventually("the failing job in the DLQ", lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages"), seconds=15)
    assert [m["Body"] for m in dead] == ["fail-me"] and dead[0]["MessageId"] == ids["b"], dead
    records = ctx["events"].sqs_records()
    a = next(r for r in records if r["body"] == "job-a")
    assert a["messageId"] == ids["a"] and a["eventSource"] == "aws:sqs" and a["awsRegion"] == "us-east-1", a
    assert a["eventSourceARN"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:itest-Jobs", a
    assert a["md5OfBody"] == hashlib.md5(b"job-a").hexdigest(), a
    assert a["messageAttributes"] == {"kind": {"stringValue": "resize", "stringListValues": [], "binaryListValues": [], "dataType": "String"}}, a
    assert a["attributes"]["ApproximateReceiveCount"] == "1" and "SentTimestamp" in a["attributes"], a
    # The processed jobs were delivered once each and deleted; the failing one twice.
    bodies = sorted(r["body"] for r in records)
    assert bodies == ["fail-me", "fail-me", "job-a", "job-c"], bodies
    attrs = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, attrs


def check_http_task(ctx):
    """http:invoke with each connection's auth, as EventBridge applies it
    (https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html)."""
    sfn = client("stepfunctions", ctx["endpoint"])
    url = ctx["http_base"] + "/items"
    cases = [
        ("ApiKeyConnectionArn", lambda body, req: body["apiKey"] == "secret-key" and body["authorization"] is None),
        ("BasicConnectionArn", lambda body, req: body["authorization"] == "Basic " + base64.b64encode(b"ada:lovelace").decode()),
        ("OAuthConnectionArn", lambda body, req: body["authorization"] == "Bearer tok-123"),
    ]
    for output, ok in cases:
        Recorder.requests.clear()
        arn = sfn.start_execution(stateMachineArn=machine("http"), input=json.dumps({"url": url, "connection": ctx["outputs"][output]}))["executionArn"]
        done = wait_done(sfn, arn)
        assert done["status"] == "SUCCEEDED", (output, done)
        result = json.loads(done["output"])
        assert result["StatusCode"] == 200 and result["StatusText"] == "OK", result
        body = result["ResponseBody"]
        assert body["items"] == [1, 2, 3] and ok(body, Recorder.requests), (output, body)
        get = [r for r in Recorder.requests if r["method"] == "GET"]
        assert len(get) == 1 and get[0]["path"] == "/items?q=items", Recorder.requests
        if output == "OAuthConnectionArn":
            token = [r for r in Recorder.requests if r["path"] == "/oauth/token"]
            assert len(token) == 1 and token[0]["headers"].get("authorization") == "Basic " + base64.b64encode(b"client-1:s3cret").decode(), token
            assert "grant_type=client_credentials" in token[0]["body"], token
    # A server error is the task's States.Http.StatusCode.404 error.
    arn = sfn.start_execution(stateMachineArn=machine("http"), input=json.dumps({"url": ctx["http_base"] + "/missing", "connection": ctx["outputs"]["BasicConnectionArn"]}))["executionArn"]
    done = wait_done(sfn, arn)
    assert done["status"] == "FAILED" and done["error"] == "States.Http.StatusCode.404", done


def check_workflow_invokes_function(ctx):
    """A workflow's lambda:invoke runs the template's function
    (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html)."""
    sfn = client("stepfunctions", ctx["endpoint"])
    arn = sfn.start_execution(stateMachineArn=machine("invoke"), input='{"n": 42}')["executionArn"]
    done = wait_done(sfn, arn)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"echo": {"n": 42}, "function": "Worker"}, done


def check_api_gateway_task(ctx):
    """apigateway:invoke reaches the template's HTTP API (a route to the function), with the
    result shape and the ApiGateway.<status> error of
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html."""
    sfn = client("stepfunctions", ctx["endpoint"])
    arn = sfn.start_execution(stateMachineArn=machine("gateway"), input='{"path": "/hello", "name": "ada"}')["executionArn"]
    done = wait_done(sfn, arn)
    assert done["status"] == "SUCCEEDED", done
    result = json.loads(done["output"])
    assert result["StatusCode"] == 200 and result["StatusText"] == "OK", result
    echo = result["ResponseBody"]["echo"]
    assert json.loads(echo["body"]) == {"name": "ada"} and echo["rawPath"] == "/hello" and echo["rawQueryString"] == "lang=en", echo
    assert echo["requestContext"]["http"]["method"] == "POST", echo
    arn = sfn.start_execution(stateMachineArn=machine("gateway"), input='{"path": "/nowhere", "name": "x"}')["executionArn"]
    done = wait_done(sfn, arn)
    assert done["status"] == "FAILED" and done["error"] == "ApiGateway.404", done


CHECKS = [check_template_resources, check_sqs_callback, check_sns_fan_out, check_sns_http_subscription, check_sqs_event_source, check_http_task, check_api_gateway_task, check_workflow_invokes_function]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http_base = f"http://127.0.0.1:{server.server_address[1]}"
    out_dir = tempfile.mkdtemp(prefix="asl-serve-events-")
    proc, endpoint, outputs = start_serve(sys.argv[1], out_dir, http_base)
    ctx = {"endpoint": endpoint, "outputs": outputs, "http_base": http_base, "events": Events(out_dir)}
    try:
        failed = common.run_checks(CHECKS, ctx, timed=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.shutdown()
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} integration checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
