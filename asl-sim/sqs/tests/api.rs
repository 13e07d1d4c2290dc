//! Behaviour that case files cannot express compactly: the default 1 MiB size limit, the
//! long-polling contract and hostile input.

use asl_sqs::Sqs;
use serde_json::json;

const URL: &str = "https://sqs.us-east-1.amazonaws.com/111122223333/q";

fn queue() -> Sqs {
    let mut s = Sqs::new("us-east-1", "111122223333", 1);
    s.call("CreateQueue", &json!({"QueueName": "q"}), 0).unwrap();
    s
}

/// errors.jsonl test_sqs.py::test_send_oversized_message: the default limit is 1,048,576 bytes.
#[test]
fn default_size_limit_is_one_mebibyte() {
    let mut s = queue();
    let exact = "a".repeat(1_048_576);
    s.call("SendMessage", &json!({"QueueUrl": URL, "MessageBody": exact}), 0).unwrap();
    let over = "a".repeat(1_048_577);
    let e = s.call("SendMessage", &json!({"QueueUrl": URL, "MessageBody": over}), 0).unwrap_err();
    assert_eq!(e.code, "InvalidParameterValue");
    assert_eq!(e.message, "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.");
}

/// errors.jsonl test_sqs.py::test_send_message_batch_with_oversized_contents.
#[test]
fn batch_total_size_limit() {
    let mut s = queue();
    let half = "a".repeat(524_288);
    let e = s
        .call(
            "SendMessageBatch",
            &json!({"QueueUrl": URL, "Entries": [{"Id": "a", "MessageBody": half}, {"Id": "b", "MessageBody": format!("{half}b")}]}),
            0,
        )
        .unwrap_err();
    assert_eq!(e.code, "AWS.SimpleQueueService.BatchRequestTooLong");
    assert_eq!(e.message, "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.");
}

/// A driver long-polls with `receive`: nothing yet, the wait it may spend, and when the next
/// message becomes visible.
#[test]
fn long_poll_contract() {
    let mut s = queue();
    s.call("SetQueueAttributes", &json!({"QueueUrl": URL, "Attributes": {"ReceiveMessageWaitTimeSeconds": "20"}}), 0).unwrap();
    let r = s.receive(&json!({"QueueUrl": URL}), 0).unwrap();
    assert_eq!((r.count, r.wait_seconds, r.next_visible_ms), (0, 20, None));
    assert_eq!(r.response, json!({}));
    s.call("SendMessage", &json!({"QueueUrl": URL, "MessageBody": "later", "DelaySeconds": 3}), 1_000).unwrap();
    let r = s.receive(&json!({"QueueUrl": URL, "WaitTimeSeconds": 5}), 1_000).unwrap();
    assert_eq!((r.count, r.wait_seconds, r.next_visible_ms), (0, 5, Some(4_000)));
    let r = s.receive(&json!({"QueueUrl": URL, "WaitTimeSeconds": 5}), 4_000).unwrap();
    assert_eq!(r.count, 1);
    assert_eq!(r.response["Messages"][0]["Body"], "later");
    // In flight now: visible again after the 30 s default visibility timeout.
    let r = s.receive(&json!({"QueueUrl": URL}), 4_001).unwrap();
    assert_eq!((r.count, r.next_visible_ms), (0, Some(34_000)));
}

/// Wrong JSON types and junk never panic; each gets an SQS error.
#[test]
fn hostile_input_gets_errors() {
    let mut s = queue();
    let bad = [
        ("SendMessage", json!({"QueueUrl": 5, "MessageBody": "x"})),
        ("SendMessage", json!({"QueueUrl": URL, "MessageBody": {"a": 1}})),
        ("SendMessage", json!({"QueueUrl": URL, "MessageBody": "x", "MessageAttributes": []})),
        ("SendMessage", json!({"QueueUrl": URL, "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "%%%"}}})),
        ("SendMessage", json!({"QueueUrl": URL, "MessageBody": "x", "DelaySeconds": "soon"})),
        ("ReceiveMessage", json!({"QueueUrl": URL, "MaxNumberOfMessages": 1e40})),
        ("SendMessageBatch", json!({"QueueUrl": URL, "Entries": "x"})),
        ("SendMessageBatch", json!({"QueueUrl": URL, "Entries": [{"MessageBody": "no id"}]})),
        ("DeleteMessage", json!({"QueueUrl": URL, "ReceiptHandle": "bm90IG91cnM="})),
        ("ChangeMessageVisibility", json!({"QueueUrl": URL, "ReceiptHandle": "x", "VisibilityTimeout": 99999})),
        ("CreateQueue", json!({"QueueName": "z", "Attributes": {"RedrivePolicy": "{\"deadLetterTargetArn\": 1}"}})),
        ("ListQueues", json!({"NextToken": "%%%", "MaxResults": 1})),
        ("NoSuchAction", json!({})),
        ("SendMessage", json!("not an object")),
    ];
    for (action, params) in bad {
        assert!(s.call(action, &params, 0).is_err(), "{action} {params} should fail");
    }
    // A well-formed handle of this queue whose message is gone: DeleteMessage is idempotent.
    let gone = "cSB4IDEgMDAwMDAwMDAwMDAwMDAwMA=="; // "q x 1 0000000000000000"
    assert!(s.call("DeleteMessage", &json!({"QueueUrl": URL, "ReceiptHandle": gone}), 0).is_ok());
}
