//! The event Lambda's SQS poller hands a function, built from a ReceiveMessage response
//! ("Using Lambda with Amazon SQS", example standard and FIFO queue message events:
//! https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event).
//!
//! Members are camelCase there (`messageId`, `receiptHandle`, `md5OfBody`, message attributes
//! as `{stringValue, stringListValues, binaryListValues, dataType}`), unlike the API's
//! PascalCase, and every record carries `eventSource`, `eventSourceARN` and `awsRegion`.

use serde_json::{json, Map, Value};

/// `{"Records": [...]}` for the messages of `received` (a ReceiveMessage response asked with
/// `MessageSystemAttributeNames: [All]` and `MessageAttributeNames: [All]`).
pub fn event(received: &Value, queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = received
        .get("Messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| record(m, queue_arn, region))
        .collect();
    json!({"Records": records})
}

fn record(m: &Value, queue_arn: &str, region: &str) -> Value {
    let mut attributes = m.get("Attributes").cloned().unwrap_or_else(|| json!({}));
    // Lambda's events carry the receive's system attributes, the trace header excepted.
    if let Value::Object(a) = &mut attributes {
        a.remove("AWSTraceHeader");
    }
    let mut message_attributes = Map::new();
    for (name, a) in m.get("MessageAttributes").and_then(Value::as_object).into_iter().flatten() {
        let mut v = Map::new();
        if let Some(s) = a.get("StringValue") {
            v.insert("stringValue".into(), s.clone());
        }
        if let Some(b) = a.get("BinaryValue") {
            v.insert("binaryValue".into(), b.clone());
        }
        v.insert("stringListValues".into(), json!([]));
        v.insert("binaryListValues".into(), json!([]));
        v.insert("dataType".into(), a.get("DataType").cloned().unwrap_or(Value::Null));
        message_attributes.insert(name.clone(), Value::Object(v));
    }
    let mut r = Map::new();
    r.insert("messageId".into(), m.get("MessageId").cloned().unwrap_or(Value::Null));
    r.insert("receiptHandle".into(), m.get("ReceiptHandle").cloned().unwrap_or(Value::Null));
    r.insert("body".into(), m.get("Body").cloned().unwrap_or(Value::Null));
    r.insert("attributes".into(), attributes);
    r.insert("messageAttributes".into(), Value::Object(message_attributes));
    if let Some(md5) = m.get("MD5OfMessageAttributes") {
        r.insert("md5OfMessageAttributes".into(), md5.clone());
    }
    r.insert("md5OfBody".into(), m.get("MD5OfBody").cloned().unwrap_or(Value::Null));
    r.insert("eventSource".into(), json!("aws:sqs"));
    r.insert("eventSourceARN".into(), json!(queue_arn));
    r.insert("awsRegion".into(), json!(region));
    Value::Object(r)
}

/// What of a batch returns to the queue after the function's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// These messages (by id) return; the rest were processed (none: the batch succeeded).
    These(Vec<String>),
    /// The whole batch returns.
    All,
}

/// What a successful run's answer leaves of its batch (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html,
/// "Reporting batch item failures"). With `ReportBatchItemFailures`, Lambda treats the batch
/// as a complete failure when the response is not valid JSON of that shape or names an
/// empty, null or unknown `itemIdentifier`; an empty or absent `batchItemFailures` is a success.
pub fn returned_items(response: &str, batch_ids: &[String], report_batch_item_failures: bool) -> Returned {
    if !report_batch_item_failures {
        return Returned::These(Vec::new());
    }
    let v: Value = match serde_json::from_str(response) {
        Ok(v) => v,
        // A function that returns nothing succeeded.
        Err(_) if response.trim().is_empty() => return Returned::These(Vec::new()),
        Err(_) => return Returned::All,
    };
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Returned::These(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Returned::All,
    };
    let mut ids = Vec::new();
    for f in failures {
        match f.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && batch_ids.iter().any(|b| b == id) => ids.push(id.to_string()),
            _ => return Returned::All,
        }
    }
    Returned::These(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard-queue example event of "Using Lambda with Amazon SQS"
    /// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event).
    #[test]
    fn records_have_lambdas_shape() {
        let received = json!({"Messages": [{
            "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "ReceiptHandle": "AQEB", "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "Body": "Test message.", "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
            "MD5OfMessageAttributes": "abc", "MessageAttributes": {"myAttribute": {"DataType": "String", "StringValue": "myValue"}}}]});
        let e = event(&received, "arn:aws:sqs:us-east-2:123456789012:my-queue", "us-east-2");
        assert_eq!(
            e,
            json!({"Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "receiptHandle": "AQEB", "body": "Test message.",
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183", "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                               "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {"myAttribute": {"stringValue": "myValue", "stringListValues": [], "binaryListValues": [], "dataType": "String"}},
                "md5OfMessageAttributes": "abc", "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue", "awsRegion": "us-east-2"}]})
        );
        assert_eq!(event(&json!({}), "a", "r"), json!({"Records": []}));
    }

    /// "Reporting batch item failures", success and failure conditions
    /// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
    #[test]
    fn partial_batch_responses() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let these = |ids: &[&str]| Returned::These(ids.iter().map(|s| s.to_string()).collect());
        let cases = [
            (r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#, true, these(&["b"])),
            (r#"{"batchItemFailures": []}"#, true, these(&[])),
            ("null", true, these(&[])),
            ("", true, these(&[])),
            (r#"{"other": 1}"#, true, these(&[])),
            (r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#, true, Returned::All),
            (r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#, true, Returned::All),
            (r#"{"batchItemFailures": [{"itemIdentifier": "zzz"}]}"#, true, Returned::All),
            (r#"{"batchItemFailures": "b"}"#, true, Returned::All),
            ("not json", true, Returned::All),
            // Without ReportBatchItemFailures, any answer of a successful run is a success.
            (r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#, false, these(&[])),
        ];
        for (response, report, want) in cases {
            assert_eq!(returned_items(response, &ids, report), want, "{response}");
        }
    }
}
