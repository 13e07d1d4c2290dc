//! EventBridge rule targets other than state machines (SQS queues, SNS topics), and the
//! target's dead-letter queue when a delivery fails.
//!
//! What AWS documents (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):
//! errors that retrying cannot fix (a target resource that no longer exists, missing
//! permissions) are not retried: the event goes straight to the target's dead-letter queue,
//! a standard SQS queue, or is dropped without one. Each dead-letter message carries the
//! attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE` (for example `NO_RESOURCE`) and
//! `ERROR_MESSAGE`, plus `RETRY_ATTEMPTS` and `EXHAUSTED_RETRY_CONDITION` for retried
//! events. Every failure a local target can have is of the first kind (the queue, topic or
//! state machine does not exist), so the `RetryPolicy` never runs out here and
//! `EXHAUSTED_RETRY_CONDITION` is never set; `RETRY_ATTEMPTS` is `0`. The docs do not say
//! what the body is; it is the matched event (the EventBridge envelope), not the target's
//! transformed input, which is what AWS's DLQ messages are seen to hold.

use crate::world::World;
use asl_eventbridge::Delivery;
use serde_json::{json, Value};

/// Why a target did not take an event: the dead-letter message's `ERROR_CODE` and
/// `ERROR_MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFailure {
    pub code: &'static str,
    pub message: String,
}

impl TargetFailure {
    pub fn no_resource(message: String) -> TargetFailure {
        TargetFailure { code: "NO_RESOURCE", message }
    }
}

/// The service of a target ARN (`arn:PARTITION:SERVICE:...`).
pub fn target_service(arn: &str) -> &str {
    arn.split(':').nth(2).unwrap_or("")
}

impl World {
    /// Delivers `d` to its SQS queue or SNS topic target in-process (SendMessage of the
    /// input text; Publish of it, whose own deliveries follow). `None`: the target is of
    /// another service, for the caller (state machines are the driver's).
    pub fn deliver_to_queue_or_topic(&mut self, d: &Delivery, now_ms: i64) -> Option<Result<(), TargetFailure>> {
        match target_service(&d.target_arn) {
            "sqs" => Some(self.send_to_queue(&d.target_arn, &d.input_text, None, now_ms)),
            "sns" => Some(match self.sns.call("Publish", &json!({"TopicArn": d.target_arn, "Message": d.input_text}), now_ms) {
                Ok((_, deliveries)) => {
                    self.deliver_sns(deliveries, now_ms);
                    Ok(())
                }
                Err(e) if e.code == "NotFound" => Err(TargetFailure::no_resource(format!("Topic {} does not exist", d.target_arn))),
                Err(e) => Err(TargetFailure { code: "ERROR_FROM_TARGET", message: format!("{}: {}", e.code, e.message) }),
            }),
            _ => None,
        }
    }

    /// Sends the event of a failed delivery to the target's dead-letter queue, with the
    /// attributes AWS documents. `Err`: the queue does not exist (the event is dropped,
    /// as AWS drops it when it cannot write to the DLQ).
    pub fn dead_letter(&mut self, d: &Delivery, dlq_arn: &str, failure: &TargetFailure, now_ms: i64) -> Result<(), TargetFailure> {
        let text = |s: &str| json!({"DataType": "String", "StringValue": s});
        let attributes = json!({
            "RULE_ARN": text(&d.rule_arn),
            "TARGET_ARN": text(&d.target_arn),
            "ERROR_CODE": text(failure.code),
            "ERROR_MESSAGE": text(&failure.message),
            "RETRY_ATTEMPTS": text("0"),
        });
        self.send_to_queue(dlq_arn, &d.event.to_string(), Some(attributes), now_ms)
    }

    fn send_to_queue(&mut self, arn: &str, body: &str, attributes: Option<Value>, now_ms: i64) -> Result<(), TargetFailure> {
        let Some(url) = self.sqs.url_for_arn(arn) else {
            return Err(TargetFailure::no_resource(format!("Queue {arn} does not exist")));
        };
        if self.sqs.is_fifo_arn(arn).unwrap_or(false) {
            // A FIFO target needs SqsParameters.MessageGroupId, which the embedded
            // EventBridge does not keep.
            return Err(TargetFailure { code: "INVALID_PARAMETER", message: format!("{arn} is a FIFO queue: FIFO targets are not supported locally") });
        }
        let mut p = json!({"QueueUrl": url, "MessageBody": body});
        if let Some(a) = attributes {
            p["MessageAttributes"] = a;
        }
        match self.sqs.call("SendMessage", &p, now_ms) {
            Ok(_) => Ok(()),
            Err(e) if e.code.contains("NonExistentQueue") => Err(TargetFailure::no_resource(format!("Queue {arn} does not exist"))),
            Err(e) => Err(TargetFailure { code: "ERROR_FROM_TARGET", message: format!("{}: {}", e.code, e.message) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(target: &str) -> Delivery {
        Delivery {
            target_id: "t1".into(),
            target_arn: target.into(),
            rule_name: "r".into(),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
            event_bus_name: "default".into(),
            input: json!({"a": 1}),
            input_text: "{\"a\":1}".into(),
            event: json!({"source": "s", "detail-type": "d", "detail": {"a": 1}}),
        }
    }

    fn world_with_queue(name: &str) -> (World, String) {
        let mut w = World::new("us-east-1", "123456789012");
        w.sqs.call("CreateQueue", &json!({"QueueName": name}), 0).unwrap();
        let arn = w.sqs.queue_arn(name);
        (w, arn)
    }

    fn messages(w: &mut World, arn: &str) -> Vec<Value> {
        let url = w.sqs.url_for_arn(arn).unwrap();
        let r = w.sqs.call("ReceiveMessage", &json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]}), 1).unwrap();
        r["Messages"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn a_queue_target_gets_the_input_text() {
        let (mut w, arn) = world_with_queue("q");
        assert_eq!(w.deliver_to_queue_or_topic(&delivery(&arn), 0), Some(Ok(())));
        let m = messages(&mut w, &arn);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0]["Body"], "{\"a\":1}");
    }

    #[test]
    fn a_missing_queue_is_no_resource_and_the_dlq_gets_the_event_with_awss_attributes() {
        let (mut w, dlq) = world_with_queue("dlq");
        let d = delivery("arn:aws:sqs:us-east-1:123456789012:gone");
        let failure = w.deliver_to_queue_or_topic(&d, 0).unwrap().unwrap_err();
        assert_eq!(failure.code, "NO_RESOURCE");
        w.dead_letter(&d, &dlq, &failure, 0).unwrap();
        let m = messages(&mut w, &dlq);
        assert_eq!(m.len(), 1);
        let body: Value = serde_json::from_str(m[0]["Body"].as_str().unwrap()).unwrap();
        assert_eq!(body, d.event);
        let a = &m[0]["MessageAttributes"];
        assert_eq!(a["RULE_ARN"]["StringValue"], d.rule_arn);
        assert_eq!(a["TARGET_ARN"]["StringValue"], d.target_arn);
        assert_eq!(a["ERROR_CODE"]["StringValue"], "NO_RESOURCE");
        assert_eq!(a["RETRY_ATTEMPTS"]["StringValue"], "0");
        assert!(a["ERROR_MESSAGE"]["StringValue"].as_str().unwrap().contains("gone"));
    }

    #[test]
    fn a_missing_dlq_is_an_error_and_other_services_are_the_callers() {
        let mut w = World::new("us-east-1", "123456789012");
        let d = delivery("arn:aws:states:us-east-1:123456789012:stateMachine:m");
        assert_eq!(w.deliver_to_queue_or_topic(&d, 0), None);
        let f = TargetFailure::no_resource("x".into());
        assert_eq!(w.dead_letter(&d, "arn:aws:sqs:us-east-1:123456789012:nope", &f, 0).unwrap_err().code, "NO_RESOURCE");
    }

    #[test]
    fn a_topic_target_publishes_and_its_queue_subscription_receives() {
        let (mut w, q) = world_with_queue("sub");
        let (v, _) = w.sns.call("CreateTopic", &json!({"Name": "t"}), 0).unwrap();
        let topic = v["TopicArn"].as_str().unwrap().to_string();
        let (_, d) = w.sns.call("Subscribe", &json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": q, "Attributes": {"RawMessageDelivery": "true"}}), 0).unwrap();
        w.deliver_sns(d, 0);
        assert_eq!(w.deliver_to_queue_or_topic(&delivery(&topic), 0), Some(Ok(())));
        let m = messages(&mut w, &q);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0]["Body"], "{\"a\":1}");
        let gone = delivery("arn:aws:sns:us-east-1:123456789012:gone");
        assert_eq!(w.deliver_to_queue_or_topic(&gone, 0).unwrap().unwrap_err().code, "NO_RESOURCE");
    }
}
