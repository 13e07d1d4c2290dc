//! The Step Functions integrations over the in-memory SNS.
//!
//! Optimized (`arn:aws:states:::sns:publish`, also `.waitForTaskToken`): "Publish messages
//! to an Amazon SNS topic with Step Functions",
//! https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html. `Message` may be
//! any JSON value; a non-string is published as its JSON text (the page's
//! `.waitForTaskToken` example passes an object). The result is Publish's response plus
//! the AWS SDK for Java v1 metadata, like the other SDK-v1 optimized integrations; errors
//! are `SNS.<Code>Exception` with cause
//! `<message> (Service: AmazonSNS; Status Code: <s>; Error Code: <code>; Request ID: <id>; Proxy: null)`.
//! UNVERIFIED: no SNS execution is recorded; names follow the recorded DynamoDB pattern.
//!
//! aws-sdk (`arn:aws:states:::aws-sdk:sns:<action>`): the plain response; errors are
//! `Sns.<Code>Exception` (SDK for Java v2 classes, e.g. `Sns.NotFoundException`), cause
//! `<message> (Service: Sns, Status Code: <s>, Request ID: <id>)`.

use crate::{Delivery, Sns, SnsError};
use asl_aws::integration::not_recognized;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationStyle {
    Optimized,
    AwsSdk,
}

const AWS_SDK: &[(&str, &str)] = &[
    ("publish", "Publish"),
    ("publishBatch", "PublishBatch"),
    ("createTopic", "CreateTopic"),
    ("deleteTopic", "DeleteTopic"),
    ("listTopics", "ListTopics"),
    ("getTopicAttributes", "GetTopicAttributes"),
    ("setTopicAttributes", "SetTopicAttributes"),
    ("subscribe", "Subscribe"),
    ("unsubscribe", "Unsubscribe"),
    ("confirmSubscription", "ConfirmSubscription"),
    ("listSubscriptions", "ListSubscriptions"),
    ("listSubscriptionsByTopic", "ListSubscriptionsByTopic"),
    ("getSubscriptionAttributes", "GetSubscriptionAttributes"),
    ("setSubscriptionAttributes", "SetSubscriptionAttributes"),
    ("tagResource", "TagResource"),
    ("untagResource", "UntagResource"),
    ("listTagsForResource", "ListTagsForResource"),
];

pub fn task_error(e: &SnsError, style: IntegrationStyle, request_id: &str) -> (String, String) {
    match style {
        IntegrationStyle::Optimized => (
            format!("SNS.{}", e.exception_name()),
            format!(
                "{} (Service: AmazonSNS; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                e.message, e.status, e.code, request_id
            ),
        ),
        IntegrationStyle::AwsSdk => (
            format!("Sns.{}", e.exception_name()),
            format!("{} (Service: Sns, Status Code: {}, Request ID: {})", e.message, e.status, request_id),
        ),
    }
}

/// Runs a Task state's SNS integration: the task result and the deliveries to make.
pub fn step_functions_call(
    sns: &mut Sns,
    style: IntegrationStyle,
    action: &str,
    parameters: &Value,
    now_ms: i64,
) -> Result<(Value, Vec<Delivery>), (String, String)> {
    let request_id = sns.request_id();
    match style {
        IntegrationStyle::Optimized => {
            if action != "publish" {
                return Err(not_recognized("arn:aws:states:::sns:", action));
            }
            let mut p = parameters.clone();
            if let Some(m) = p.get("Message") {
                if !m.is_string() && !m.is_null() {
                    p["Message"] = json!(m.to_string());
                }
            }
            let (body, deliveries) = sns.call("Publish", &p, now_ms).map_err(|e| task_error(&e, style, &request_id))?;
            let text = body.to_string();
            // UNVERIFIED header set: what SDK v1 keeps of SNS's XML answer.
            let headers = [
                ("Content-Length", text.len().to_string()),
                ("Content-Type", "text/xml".to_string()),
                ("x-amzn-RequestId", request_id.clone()),
            ];
            Ok((asl_aws::integration::with_sdk_v1_metadata(body, &headers, &request_id), deliveries))
        }
        IntegrationStyle::AwsSdk => {
            let Some((_, op)) = AWS_SDK.iter().find(|(a, _)| *a == action) else {
                return Err(not_recognized("arn:aws:states:::aws-sdk:sns:", action));
            };
            sns.call(op, parameters, now_ms).map_err(|e| task_error(&e, style, &request_id))
        }
    }
}
