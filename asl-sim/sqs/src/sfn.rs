//! The Step Functions integrations over the in-memory SQS.
//!
//! Optimized (`arn:aws:states:::sqs:sendMessage`, also `.waitForTaskToken`: the message is
//! sent here, the engine then waits for the token): "Send messages to an Amazon SQS queue
//! with Step Functions", https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html.
//! `MessageBody` may be any JSON value; a non-string is sent as its JSON text (the page's
//! `.waitForTaskToken` example passes an object). The result is SendMessage's response plus
//! the AWS SDK for Java v1 metadata (`SdkHttpMetadata`, `SdkResponseMetadata`), as for the
//! other optimized integrations built on SDK v1 (DynamoDB, recorded); errors are
//! `SQS.<Exception>` with unmodelled codes as `SQS.AmazonSQSException`, cause
//! `<message> (Service: AmazonSQS; Status Code: 400; Error Code: <code>; Request ID: <id>; Proxy: null)`.
//! UNVERIFIED: no SQS execution is recorded; names follow the recorded DynamoDB pattern.
//!
//! aws-sdk (`arn:aws:states:::aws-sdk:sqs:<action>`): the plain API response; errors are
//! `Sqs.<Shape>Exception` (AWS SDK for Java v2 class names, e.g. `Sqs.QueueDoesNotExistException`,
//! "AWS SDK service integrations", https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html),
//! unmodelled codes as `Sqs.SqsException`, cause `<message> (Service: Sqs, Status Code: 400, Request ID: <id>)`.

use crate::{Sqs, SqsError};
use asl_aws::integration::not_recognized;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationStyle {
    Optimized,
    AwsSdk,
}

/// aws-sdk actions (camelCase, as written in the resource) and SQS operations.
const AWS_SDK: &[(&str, &str)] = &[
    ("sendMessage", "SendMessage"),
    ("sendMessageBatch", "SendMessageBatch"),
    ("receiveMessage", "ReceiveMessage"),
    ("deleteMessage", "DeleteMessage"),
    ("deleteMessageBatch", "DeleteMessageBatch"),
    ("changeMessageVisibility", "ChangeMessageVisibility"),
    ("changeMessageVisibilityBatch", "ChangeMessageVisibilityBatch"),
    ("createQueue", "CreateQueue"),
    ("deleteQueue", "DeleteQueue"),
    ("getQueueUrl", "GetQueueUrl"),
    ("getQueueAttributes", "GetQueueAttributes"),
    ("setQueueAttributes", "SetQueueAttributes"),
    ("listQueues", "ListQueues"),
    ("purgeQueue", "PurgeQueue"),
    ("tagQueue", "TagQueue"),
    ("untagQueue", "UntagQueue"),
    ("listQueueTags", "ListQueueTags"),
    ("listDeadLetterSourceQueues", "ListDeadLetterSourceQueues"),
];

/// Error shapes the SQS service model defines (the SDKs generate an exception class for
/// each); other codes surface as the service's base exception.
const MODELLED: &[&str] = &[
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidIdFormat",
    "InvalidMessageContents",
    "InvalidSecurity",
    "MessageNotInflight",
    "OverLimit",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "RequestThrottled",
    "ResourceNotFoundException",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
];

fn exception_name(e: &SqsError, base: &str) -> String {
    if MODELLED.contains(&e.shape.as_str()) {
        if e.shape.ends_with("Exception") {
            e.shape.clone()
        } else {
            format!("{}Exception", e.shape)
        }
    } else {
        base.to_string()
    }
}

/// The `(error, cause)` Step Functions reports for an SQS error.
pub fn task_error(e: &SqsError, style: IntegrationStyle, request_id: &str) -> (String, String) {
    match style {
        IntegrationStyle::Optimized => (
            format!("SQS.{}", exception_name(e, "AmazonSQSException")),
            format!(
                "{} (Service: AmazonSQS; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                e.message, e.status, e.code, request_id
            ),
        ),
        IntegrationStyle::AwsSdk => (
            format!("Sqs.{}", exception_name(e, "SqsException")),
            format!("{} (Service: Sqs, Status Code: {}, Request ID: {})", e.message, e.status, request_id),
        ),
    }
}

/// A body given as JSON: strings as they are, anything else as its JSON text.
fn body_text(v: &Value) -> Value {
    match v {
        Value::String(_) | Value::Null => v.clone(),
        other => Value::String(other.to_string()),
    }
}

fn with_sdk_v1_metadata(body: Value, request_id: &str) -> Value {
    // UNVERIFIED header set: what SDK v1 keeps of an SQS JSON-protocol answer.
    let len = body.to_string().len().to_string();
    let headers = [
        ("Content-Length", len),
        ("Content-Type", "application/x-amz-json-1.0".to_string()),
        ("x-amzn-RequestId", request_id.to_string()),
    ];
    asl_aws::integration::with_sdk_v1_metadata(body, &headers, request_id)
}

/// Runs a Task state's SQS integration. `action` is as written in the resource, without
/// the `.waitForTaskToken` suffix.
pub fn step_functions_call(
    sqs: &mut Sqs,
    style: IntegrationStyle,
    action: &str,
    parameters: &Value,
    now_ms: i64,
) -> Result<Value, (String, String)> {
    let request_id = sqs.request_id();
    match style {
        IntegrationStyle::Optimized => {
            if action != "sendMessage" {
                return Err(not_recognized("arn:aws:states:::sqs:", action));
            }
            let mut p = parameters.clone();
            if let Some(b) = p.get("MessageBody").map(body_text) {
                p["MessageBody"] = b;
            }
            let body = sqs.call("SendMessage", &p, now_ms).map_err(|e| task_error(&e, style, &request_id))?;
            Ok(with_sdk_v1_metadata(body, &request_id))
        }
        IntegrationStyle::AwsSdk => {
            let Some((_, op)) = AWS_SDK.iter().find(|(a, _)| *a == action) else {
                return Err(not_recognized("arn:aws:states:::aws-sdk:sqs:", action));
            };
            sqs.call(op, parameters, now_ms).map_err(|e| task_error(&e, style, &request_id))
        }
    }
}
