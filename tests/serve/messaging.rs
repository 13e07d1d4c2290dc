//! SQS and SNS through `asl-sim serve`'s AWS port, with SigV4-signed raw HTTP requests in
//! the protocols real clients use: SQS's JSON protocol (current SDKs, botocore) and query
//! protocol (AWS CLI v1, older SDKs), SNS's query protocol.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

mod wire;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Serve {
    handle: Option<asl_serve::Handle>,
}

fn temp_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "asl-serve-messaging-{}-{}",
        std::process::id(),
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()
    ))
}

impl Serve {
    /// In memory.
    fn start() -> Serve {
        Serve::start_with(temp_data_dir(), true)
    }
    /// On a data directory that outlives it.
    fn start_in(data_dir: PathBuf) -> Serve {
        Serve::start_with(data_dir, false)
    }
    fn start_with(data_dir: PathBuf, in_memory: bool) -> Serve {
        let args = asl_serve::ServeArgs { stack_name: "file-manager".into(), in_memory, ..asl_serve::ServeArgs::local(root().join("template.yaml"), data_dir) };
        let (handle, _) = asl_serve::start(&args).unwrap_or_else(|e| panic!("serve did not start: {e}"));
        Serve { handle: Some(handle) }
    }
    fn aws(&self) -> String {
        format!("127.0.0.1:{}", self.handle.as_ref().unwrap().aws_addr.port())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

/// A SigV4-signed POST to the AWS port.
fn post(host: &str, service: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut all = vec![("host".to_string(), host.to_string())];
    all.extend(wire::sign_request(service, "POST", &format!("http://{host}/"), headers, body));
    let head = wire::head_with(format!("POST / HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n", body.len()), &all);
    let wire::Raw { status, headers, head, body: raw } = wire::exchange(host, &head, body);
    let raw = raw.as_slice();
    // Chunked answers: join the chunks.
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = raw;
        while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..i]).unwrap().trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[i + 2..i + 2 + n]);
            rest = &rest[i + 4 + n..];
        }
        out
    } else {
        raw.to_vec()
    };
    Resp { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn sqs_json(host: &str, op: &str, body: Value) -> Resp {
    let target = format!("AmazonSQS.{op}");
    post(host, "sqs", &[("x-amz-target", &target), ("content-type", "application/x-amz-json-1.0")], body.to_string().as_bytes())
}

fn form(host: &str, service: &str, pairs: &[(&str, &str)]) -> Resp {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    post(host, service, &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body.join("&").as_bytes())
}

/// The JSON protocol: queue lifecycle, attributes and MD5s, errors with the query-error
/// header botocore reads, and a long poll that returns when a message arrives.
#[test]
fn sqs_json_protocol_and_long_polling() {
    let s = Serve::start();
    let host = s.aws();
    let r = sqs_json(&host, "CreateQueue", json!({"QueueName": "jobs", "Attributes": {"VisibilityTimeout": "5"}}));
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.json()["QueueUrl"].as_str().unwrap().to_string();
    assert_eq!(url, format!("http://{host}/123456789012/jobs"));
    let r = sqs_json(&host, "SendMessage", json!({"QueueUrl": url, "MessageBody": "This is a test message", "MessageAttributes": {
        "my_attribute_name_1": {"DataType": "String", "StringValue": "my_attribute_value_1"},
        "my_attribute_name_2": {"DataType": "String", "StringValue": "my_attribute_value_2"}}}));
    // Digests of the SendMessage API reference example (attributes cross-checked with moto).
    assert_eq!(r.json()["MD5OfMessageBody"], "fafb00f5732ab283681e124bf8747ed1");
    assert_eq!(r.json()["MD5OfMessageAttributes"], "c48838208d2b4e14e3ca0093a8443f09");
    let r = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": url, "MessageAttributeNames": ["All"]}));
    let m = &r.json()["Messages"][0];
    assert_eq!(m["Body"], "This is a test message");
    let handle = m["ReceiptHandle"].as_str().unwrap().to_string();
    assert_eq!(sqs_json(&host, "DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": handle})).status, 200);

    // Missing queue: JSON error body plus x-amzn-query-error (botocore maps the code from it).
    let r = sqs_json(&host, "GetQueueUrl", json!({"QueueName": "nope"}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    assert_eq!(r.header("x-amzn-query-error"), Some("AWS.SimpleQueueService.NonExistentQueue;Sender"));

    // Long polling: a message sent 300 ms later ends a 5-second wait early.
    let host2 = host.clone();
    let url2 = url.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        sqs_json(&host2, "SendMessage", json!({"QueueUrl": url2, "MessageBody": "late"}))
    });
    let t = Instant::now();
    let r = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": url, "WaitTimeSeconds": 5}));
    let waited = t.elapsed();
    assert_eq!(r.json()["Messages"][0]["Body"], "late", "{}", r.body);
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(4), "waited {waited:?}");
    assert_eq!(sender.join().unwrap().status, 200);
    // And an empty queue answers `{}` after the wait.
    let t = Instant::now();
    let r = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": url, "WaitTimeSeconds": 1}));
    assert_eq!(r.json(), json!({}));
    assert!(t.elapsed() >= Duration::from_millis(900));
}

/// The query protocol: form parameters in, XML out, the query wording of errors.
#[test]
fn sqs_query_protocol() {
    let s = Serve::start();
    let host = s.aws();
    let r = form(&host, "sqs", &[("Action", "CreateQueue"), ("Version", "2012-11-05"), ("QueueName", "q"), ("Attribute.1.Name", "DelaySeconds"), ("Attribute.1.Value", "0")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&format!("<QueueUrl>http://{host}/123456789012/q</QueueUrl>")), "{}", r.body);
    let url = format!("http://{host}/123456789012/q");
    let r = form(&host, "sqs", &[("Action", "SendMessage"), ("QueueUrl", &url), ("MessageBody", "a & b"),
        ("MessageAttribute.1.Name", "n"), ("MessageAttribute.1.Value.DataType", "Number"), ("MessageAttribute.1.Value.StringValue", "5")]);
    assert!(r.body.contains("<SendMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><SendMessageResult><MD5OfMessageBody>"), "{}", r.body);
    let r = form(&host, "sqs", &[("Action", "ReceiveMessage"), ("QueueUrl", &url), ("MessageAttributeName.1", "All"), ("AttributeName.1", "ApproximateReceiveCount")]);
    assert!(r.body.contains("<Body>a &amp; b</Body>"), "{}", r.body);
    assert!(r.body.contains("<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"), "{}", r.body);
    assert!(r.body.contains("<MessageAttribute><Name>n</Name><Value><StringValue>5</StringValue><DataType>Number</DataType></Value></MessageAttribute>"), "{}", r.body);
    let r = form(&host, "sqs", &[("Action", "GetQueueUrl"), ("QueueName", "nope")]);
    assert_eq!(r.status, 400);
    // The query protocol's wording (recorded, test_non_existent_queue).
    assert!(r.body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message>"), "{}", r.body);
}

/// SNS's query protocol: a topic, a raw subscription of a queue and a filtered envelope
/// subscription; a publish reaches the queues it should.
#[test]
fn sns_publish_reaches_subscribed_queues() {
    let s = Serve::start();
    let host = s.aws();
    for q in ["raw", "filtered"] {
        assert_eq!(sqs_json(&host, "CreateQueue", json!({"QueueName": q})).status, 200);
    }
    let r = form(&host, "sns", &[("Action", "CreateTopic"), ("Name", "events")]);
    assert!(r.body.contains("<TopicArn>arn:aws:sns:us-east-1:123456789012:events</TopicArn>"), "{}", r.body);
    let topic = "arn:aws:sns:us-east-1:123456789012:events";
    let r = form(&host, "sns", &[("Action", "Subscribe"), ("TopicArn", topic), ("Protocol", "sqs"), ("Endpoint", "arn:aws:sqs:us-east-1:123456789012:raw"),
        ("Attributes.entry.1.key", "RawMessageDelivery"), ("Attributes.entry.1.value", "true")]);
    assert!(r.body.contains("<SubscriptionArn>arn:aws:sns:us-east-1:123456789012:events:"), "{}", r.body);
    form(&host, "sns", &[("Action", "Subscribe"), ("TopicArn", topic), ("Protocol", "sqs"), ("Endpoint", "arn:aws:sqs:us-east-1:123456789012:filtered"),
        ("Attributes.entry.1.key", "FilterPolicy"), ("Attributes.entry.1.value", r#"{"color":["blue"]}"#)]);
    let publish = |color: &str, msg: &str| {
        form(&host, "sns", &[("Action", "Publish"), ("TopicArn", topic), ("Message", msg), ("Subject", "s"),
            ("MessageAttributes.entry.1.Name", "color"), ("MessageAttributes.entry.1.Value.DataType", "String"), ("MessageAttributes.entry.1.Value.StringValue", color)])
    };
    let r = publish("red", "first");
    assert!(r.body.contains("<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>"), "{}", r.body);
    publish("blue", "second");
    let receive = |q: &str| {
        sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": format!("http://{host}/123456789012/{q}"), "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]})).json()
    };
    let raw = receive("raw");
    let bodies: Vec<&str> = raw["Messages"].as_array().unwrap().iter().map(|m| m["Body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["first", "second"]);
    assert_eq!(raw["Messages"][1]["MessageAttributes"]["color"], json!({"DataType": "String", "StringValue": "blue"}));
    let filtered = receive("filtered");
    assert_eq!(filtered["Messages"].as_array().unwrap().len(), 1, "{filtered}");
    let envelope: Value = serde_json::from_str(filtered["Messages"][0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["Message"], "second");
    assert_eq!(envelope["Subject"], "s");
    assert_eq!(envelope["TopicArn"], topic);
    assert_eq!(envelope["MessageAttributes"]["color"], json!({"Type": "String", "Value": "blue"}));
    assert!(envelope["UnsubscribeURL"].as_str().unwrap().starts_with(&format!("http://{host}/?Action=Unsubscribe")));
    // SNS errors in the query protocol.
    let r = form(&host, "sns", &[("Action", "Publish"), ("TopicArn", "arn:aws:sns:us-east-1:123456789012:nope"), ("Message", "m")]);
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<Code>NotFound</Code><Message>Topic does not exist</Message>"), "{}", r.body);
}

/// An unsigned request is refused in the protocol's own format.
#[test]
fn unsigned_requests_are_refused() {
    let s = Serve::start();
    let host = s.aws();
    let body = "Action=ListTopics";
    let head = format!("POST / HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n", body.len());
    let r = wire::exchange(&host, &head, body.as_bytes());
    let out = String::from_utf8_lossy(&r.body);
    assert!((400..500).contains(&r.status), "{} {out}", r.status);
    assert!(out.contains("<ErrorResponse"), "{out}");
}

mod sns_http;

fn events(host: &str, op: &str, body: Value) -> Value {
    let target = format!("AWSEvents.{op}");
    let r = post(host, "events", &[("x-amz-target", &target), ("content-type", "application/x-amz-json-1.1")], body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    r.json()
}

/// EventBridge rule targets beyond state machines, and the dead-letter queue of a target
/// that does not exist: AWS does not retry such a delivery and sends the event straight to
/// the DLQ with RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE attributes
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
#[test]
fn eventbridge_delivers_to_queues_and_dead_letters_what_it_cannot_deliver() {
    let s = Serve::start();
    let host = s.aws();
    let url = |name: &str| sqs_json(&host, "CreateQueue", json!({"QueueName": name})).json()["QueueUrl"].as_str().unwrap().to_string();
    let (target_url, dlq_url) = (url("eb-target"), url("eb-dlq"));
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    let rule_arn = events(&host, "PutRule", json!({"Name": "fan-out", "EventPattern": r#"{"source":["orders"]}"#}))["RuleArn"].as_str().unwrap().to_string();
    let gone_machine = "arn:aws:states:us-east-1:123456789012:stateMachine:gone";
    let put = events(&host, "PutTargets", json!({"Rule": "fan-out", "Targets": [
        {"Id": "queue", "Arn": arn("eb-target"), "InputPath": "$.detail"},
        {"Id": "machine", "Arn": gone_machine, "DeadLetterConfig": {"Arn": arn("eb-dlq")}, "RetryPolicy": {"MaximumRetryAttempts": 2}},
        {"Id": "no-dlq", "Arn": arn("never-created")}]}));
    assert_eq!(put["FailedEntryCount"], 0);
    let sent = events(&host, "PutEvents", json!({"Entries": [{"Source": "orders", "DetailType": "placed", "Detail": r#"{"id":7}"#}]}));
    assert_eq!(sent["FailedEntryCount"], 0);
    let event_id = sent["Entries"][0]["EventId"].as_str().unwrap().to_string();

    let receive = |u: &str| sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": u, "WaitTimeSeconds": 2, "MessageAttributeNames": ["All"], "MaxNumberOfMessages": 10})).json();
    let got = receive(&target_url);
    assert_eq!(got["Messages"].as_array().map(Vec::len), Some(1), "{got}");
    assert_eq!(got["Messages"][0]["Body"], r#"{"id":7}"#, "the queue gets the target's input");

    let dead = receive(&dlq_url);
    assert_eq!(dead["Messages"].as_array().map(Vec::len), Some(1), "{dead}");
    let m = &dead["Messages"][0];
    let event: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
    assert_eq!((event["id"].as_str(), event["source"].as_str(), &event["detail"]), (Some(event_id.as_str()), Some("orders"), &json!({"id": 7})));
    let attr = |k: &str| m["MessageAttributes"][k]["StringValue"].as_str().unwrap_or_default().to_string();
    assert_eq!(attr("RULE_ARN"), rule_arn);
    assert_eq!(attr("TARGET_ARN"), gone_machine);
    assert_eq!(attr("ERROR_CODE"), "NO_RESOURCE");
    assert!(attr("ERROR_MESSAGE").contains("gone"), "{}", attr("ERROR_MESSAGE"));
    assert_eq!(attr("RETRY_ATTEMPTS"), "0", "a missing target is not retried");
    // Nothing else reached the DLQ (the target without one was dropped).
    let again = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": dlq_url, "WaitTimeSeconds": 0})).json();
    assert_eq!(again, json!({}));
}

/// Queues with their messages (one in flight, its receipt handle still good), topics with
/// their subscriptions, and a rule created through the API with its target's dead-letter
/// setting are all there after a restart on the same data directory (issue 12).
#[test]
fn queues_topics_and_rules_survive_a_restart() {
    let data = temp_data_dir();
    let s = Serve::start_in(data.clone());
    let host = s.aws();
    let queue = |h: &str, name: &str| format!("http://{h}/123456789012/{name}");
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    for q in ["kept", "kept-dlq"] {
        assert_eq!(sqs_json(&host, "CreateQueue", json!({"QueueName": q, "Attributes": {"VisibilityTimeout": "60"}})).status, 200);
    }
    for body in ["one", "two"] {
        assert_eq!(sqs_json(&host, "SendMessage", json!({"QueueUrl": queue(&host, "kept"), "MessageBody": body})).status, 200);
    }
    let got = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": queue(&host, "kept")})).json();
    assert_eq!(got["Messages"][0]["Body"], "one", "{got}");
    let handle = got["Messages"][0]["ReceiptHandle"].as_str().unwrap().to_string();
    let topic = "arn:aws:sns:us-east-1:123456789012:kept-topic";
    form(&host, "sns", &[("Action", "CreateTopic"), ("Name", "kept-topic")]);
    let r = form(&host, "sns", &[("Action", "Subscribe"), ("TopicArn", topic), ("Protocol", "sqs"), ("Endpoint", &arn("kept")),
        ("Attributes.entry.1.key", "RawMessageDelivery"), ("Attributes.entry.1.value", "true")]);
    assert_eq!(r.status, 200, "{}", r.body);
    events(&host, "PutRule", json!({"Name": "kept-rule", "EventPattern": r#"{"source":["kept.app"]}"#}));
    events(&host, "PutTargets", json!({"Rule": "kept-rule", "Targets": [{"Id": "q", "Arn": arn("kept"), "InputPath": "$.detail",
        "DeadLetterConfig": {"Arn": arn("kept-dlq")}}]}));
    drop(s);

    let s = Serve::start_in(data.clone());
    let host = s.aws();
    let attrs = sqs_json(&host, "GetQueueAttributes", json!({"QueueUrl": queue(&host, "kept"), "AttributeNames": ["All"]})).json();
    assert_eq!(attrs["Attributes"]["ApproximateNumberOfMessages"], "1", "{attrs}");
    assert_eq!(attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"], "1", "the received message is still in flight: {attrs}");
    assert_eq!(attrs["Attributes"]["VisibilityTimeout"], "60");
    let r = sqs_json(&host, "DeleteMessage", json!({"QueueUrl": queue(&host, "kept"), "ReceiptHandle": handle}));
    assert_eq!(r.status, 200, "the receipt handle issued before the restart still deletes: {}", r.body);
    let r = form(&host, "sns", &[("Action", "ListSubscriptionsByTopic"), ("TopicArn", topic)]);
    assert!(r.body.contains(&format!("<Endpoint>{}</Endpoint>", arn("kept"))), "{}", r.body);
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", topic), ("Message", "three")]);
    let targets = events(&host, "ListTargetsByRule", json!({"Rule": "kept-rule"}));
    assert_eq!(targets["Targets"][0]["DeadLetterConfig"]["Arn"], arn("kept-dlq"), "{targets}");
    events(&host, "PutEvents", json!({"Entries": [{"Source": "kept.app", "DetailType": "t", "Detail": r#"{"n":4}"#}]}));
    let got = sqs_json(&host, "ReceiveMessage", json!({"QueueUrl": queue(&host, "kept"), "MaxNumberOfMessages": 10, "WaitTimeSeconds": 2})).json();
    let mut bodies: Vec<&str> = got["Messages"].as_array().unwrap().iter().map(|m| m["Body"].as_str().unwrap()).collect();
    bodies.sort();
    assert_eq!(bodies, ["three", "two", r#"{"n":4}"#], "the stored message, the topic's and the rule's deliveries");
    drop(s);
    let _ = std::fs::remove_dir_all(&data);
}
