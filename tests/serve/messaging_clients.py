#!/usr/bin/env python3
"""SQS and SNS through `asl-sim serve` with the real clients: boto3 (SQS over the JSON
protocol, SNS over the query protocol) and the AWS CLI. Starts its own serve on free ports.

Run from the repository root after `cargo build -p asl-sim`:
    python3 tests/serve/messaging_clients.py [path/to/asl-sim]
Exits non-zero on the first failed check."""
import json, os, re, subprocess, sys, tempfile, threading, time

import boto3, botocore

binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/asl-sim"
data = tempfile.mkdtemp(prefix="asl-sim-messaging-")
serve = subprocess.Popen([binary, "serve", "--template", "template.yaml", "--api-port", "0", "--aws-port", "0",
                          "--in-memory", "--data-dir", data, "--quiet"], stdout=subprocess.PIPE, text=True)
try:
    endpoint = None
    for line in serve.stdout:
        m = re.search(r"AWS endpoint\s+(http://\S+)", line)
        if m:
            endpoint = m.group(1)
            break
    assert endpoint, "serve printed no AWS endpoint"
    threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    sqs, sns = boto3.client("sqs", **kw), boto3.client("sns", **kw)

    q = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    r = sqs.send_message(QueueUrl=q, MessageBody="This is a test message", MessageAttributes={
        "my_attribute_name_1": {"DataType": "String", "StringValue": "my_attribute_value_1"},
        "my_attribute_name_2": {"DataType": "String", "StringValue": "my_attribute_value_2"}})
    assert r["MD5OfMessageBody"] == "fafb00f5732ab283681e124bf8747ed1", r
    assert r["MD5OfMessageAttributes"] == "c48838208d2b4e14e3ca0093a8443f09", r
    m = sqs.receive_message(QueueUrl=q, MessageAttributeNames=["All"])["Messages"][0]
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])

    threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=q, MessageBody="late")).start()
    t = time.time()
    m = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=5)["Messages"][0]
    assert m["Body"] == "late" and time.time() - t < 4, (m, time.time() - t)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])

    try:
        sqs.get_queue_url(QueueName="nope")
        raise AssertionError("GetQueueUrl of a missing queue succeeded")
    except sqs.exceptions.QueueDoesNotExist as e:
        assert e.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue", e.response

    topic = sns.create_topic(Name="events")["TopicArn"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="via sns", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    m = sqs.receive_message(QueueUrl=q, MessageAttributeNames=["All"])["Messages"][0]
    assert m["Body"] == "via sns" and m["MessageAttributes"]["k"]["StringValue"] == "v", m
    try:
        sns.publish(TopicArn=topic + "x", Message="m")
        raise AssertionError("Publish to a missing topic succeeded")
    except sns.exceptions.NotFoundException as e:
        assert e.response["Error"]["Message"] == "Topic does not exist", e.response

    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    cli = lambda *a: json.loads(subprocess.run(["aws", "--endpoint-url", endpoint, *a], env=env, check=True,
                                               capture_output=True, text=True).stdout or "{}")
    f = cli("sqs", "create-queue", "--queue-name", "cli.fifo", "--attributes", "FifoQueue=true,ContentBasedDeduplication=true")["QueueUrl"]
    s1 = cli("sqs", "send-message", "--queue-url", f, "--message-body", "hi", "--message-group-id", "g")
    s2 = cli("sqs", "send-message", "--queue-url", f, "--message-body", "hi", "--message-group-id", "g")
    assert s1["MessageId"] == s2["MessageId"], (s1, s2)  # content-based deduplication
    got = cli("sqs", "receive-message", "--queue-url", f, "--max-number-of-messages", "10")["Messages"]
    assert [g["Body"] for g in got] == ["hi"], got
    t2 = cli("sns", "create-topic", "--name", "cli-topic")["TopicArn"]
    assert t2.endswith(":cli-topic"), t2
    print("messaging clients: all checks passed against", endpoint)
finally:
    serve.terminate()
    serve.wait(timeout=10)
