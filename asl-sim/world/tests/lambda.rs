//! The one `Lambda` trait: any runner the world is given is what Task states invoke,
//! and a shared world makes the call without holding its lock, so a function may use
//! the world's services itself (as serve's template functions use its S3).

use asl_core::engine::{self, ExecutionConfig, TaskError, VirtualClock};
use asl_world::lambda::{Lambda, Reply};
use asl_world::{SharedWorld, World};
use serde_json::{json, Value};
use std::sync::Arc;

/// A function that writes its event into a bucket of the same world, then answers.
struct WritesToS3 {
    world: SharedWorld,
}

impl Lambda for WritesToS3 {
    fn run(&self, body: &str, _limit_seconds: f64) -> Result<Reply, TaskError> {
        let event: Value = serde_json::from_str(body).expect("the event is JSON");
        // The caller must have let go of the world (or this would deadlock).
        if let Err(std::sync::TryLockError::WouldBlock) = self.world.0.try_lock() {
            return Err(TaskError { error: "Test.LockHeld".into(), cause: Some("the world was locked during the call".into()) });
        }
        asl_core::engine::Services::put_object(&mut self.world.clone(), "files", "event.json", body)?;
        if event["fail"] == json!(true) {
            return Ok(Reply { succeeded: false, payload: r#"{"errorType":"Boom","errorMessage":"asked to"}"#.into() });
        }
        Ok(Reply { succeeded: true, payload: json!({"seen": event}).to_string() })
    }
}

fn world_with_function() -> SharedWorld {
    let world = SharedWorld::new(World::new("us-east-1", "123456789012"));
    let ctx = asl_aws::CallContext::new(0, 1);
    world.lock().s3.create_bucket("files", &ctx).unwrap();
    let function = Arc::new(WritesToS3 { world: world.clone() });
    world.lock().lambdas.insert("writer".into(), function);
    world
}

fn run(world: &SharedWorld, resource: &str, parameters: Value, input: Value) -> engine::Outcome {
    let src = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}});
    let (def, diags) = asl_core::load_definition(&src.to_string(), &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    let mut clock = VirtualClock { now: 0 };
    engine::run(&def.unwrap(), input, &ExecutionConfig::default(), &mut world.clone(), &mut clock, false)
}

#[test]
fn a_task_invokes_the_worlds_function_without_holding_the_lock() {
    let world = world_with_function();
    let out = run(&world, "arn:aws:states:::lambda:invoke", json!({"FunctionName": "writer", "Payload": {"a.$": "$.a"}}), json!({"a": 1}));
    assert_eq!(out.end.error, None, "{:?}", out.end.cause);
    let output = out.end.output.expect("output");
    assert_eq!(output["Payload"], json!({"seen": {"a": 1}}));
    assert_eq!(output["StatusCode"], json!(200));
    let stored = world.lock().s3.get_object("files", "event.json", None).expect("the function wrote");
    assert_eq!(stored.body, br#"{"a":1}"#.to_vec());
}

#[test]
fn function_errors_and_missing_functions_are_lambdas() {
    let world = world_with_function();
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:writer";
    let out = run(&world, arn, json!({"fail": true}), json!({}));
    assert_eq!(out.end.error.as_deref(), Some("Boom"));
    let missing = run(&world, "arn:aws:states:::lambda:invoke", json!({"FunctionName": "nope"}), json!({}));
    assert_eq!(missing.end.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
}

/// SNS → Lambda from a workflow's `sns:publish` in a shared world: the function runs on its
/// own thread after the publish answered and the world is released (it writes into the world's S3, which would deadlock under the
/// lock) and receives SNS's Lambda event (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html).
#[test]
fn an_sns_delivery_to_a_function_runs_without_the_lock() {
    let world = world_with_function();
    let topic = {
        let mut w = world.lock();
        let (v, _) = w.sns.call("CreateTopic", &json!({"Name": "alerts"}), 0).unwrap();
        let arn = v["TopicArn"].as_str().unwrap().to_string();
        w.sns.call("Subscribe", &json!({"TopicArn": arn, "Protocol": "lambda", "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:writer"}), 0).unwrap();
        arn
    };
    let out = run(&world, "arn:aws:states:::sns:publish", json!({"TopicArn": topic, "Message": "hello"}), json!({}));
    assert_eq!(out.end.error, None, "{:?}", out.end.cause);
    // SNS invokes the function asynchronously, after Publish answered.
    let t = std::time::Instant::now();
    while world.lock().s3.get_object("files", "event.json", None).is_err() && t.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let stored = world.lock().s3.get_object("files", "event.json", None).expect("the function ran and wrote");
    let event: Value = serde_json::from_slice(&stored.body).unwrap();
    let record = &event["Records"][0];
    assert_eq!(record["EventSource"], json!("aws:sns"));
    assert_eq!(record["Sns"]["Message"], json!("hello"));
    assert_eq!(record["Sns"]["TopicArn"], json!(topic));
    assert_eq!(record["Sns"]["MessageId"], out.end.output.unwrap()["MessageId"]);
}

/// What serve persists (`World::to_json`) includes the queues with their messages and the
/// topics with their subscriptions; a filter policy still filters after a reload.
#[test]
fn sqs_and_sns_state_survives_a_reload() {
    let mut w = World::new("us-east-1", "123456789012");
    w.sqs.call("CreateQueue", &json!({"QueueName": "inbox", "Attributes": {"VisibilityTimeout": "5"}}), 0).unwrap();
    let url = w.sqs.queue_url("inbox");
    w.sqs.call("SendMessage", &json!({"QueueUrl": url, "MessageBody": "kept"}), 0).unwrap();
    w.sqs.call("SendMessage", &json!({"QueueUrl": url, "MessageBody": "in flight"}), 0).unwrap();
    let first = w.sqs.call("ReceiveMessage", &json!({"QueueUrl": url}), 1).unwrap();
    assert_eq!(first["Messages"][0]["Body"], json!("kept"));
    let (t, _) = w.sns.call("CreateTopic", &json!({"Name": "t"}), 0).unwrap();
    let topic = t["TopicArn"].as_str().unwrap().to_string();
    let queue_arn = w.sqs.queue_arn("inbox");
    w.sns
        .call("Subscribe", &json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue_arn,
                                   "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": "{\"k\": [\"yes\"]}"}}), 0)
        .unwrap();

    let saved = w.to_json();
    let mut back = World::new("us-east-1", "123456789012");
    back.load_state(&saved).unwrap();
    // The received message is still invisible until its visibility timeout (5 s) ends.
    let r = back.sqs.call("ReceiveMessage", &json!({"QueueUrl": url, "MaxNumberOfMessages": 10}), 2).unwrap();
    assert_eq!(r["Messages"].as_array().map(|m| m.iter().map(|m| m["Body"].clone()).collect::<Vec<_>>()), Some(vec![json!("in flight")]));
    let r = back.sqs.call("ReceiveMessage", &json!({"QueueUrl": url, "AttributeNames": ["ApproximateReceiveCount"]}), 7_000).unwrap();
    assert_eq!(r["Messages"][0]["Body"], json!("kept"));
    assert_eq!(r["Messages"][0]["Attributes"]["ApproximateReceiveCount"], json!("2"));
    // The subscription and its filter policy.
    for (k, body) in [("no", "filtered out"), ("yes", "delivered")] {
        let (_, deliveries) = back
            .sns
            .call("Publish", &json!({"TopicArn": topic, "Message": body, "MessageAttributes": {"k": {"DataType": "String", "StringValue": k}}}), 8_000)
            .unwrap();
        back.deliver_sns(deliveries, 8_000);
    }
    let r = back.sqs.call("ReceiveMessage", &json!({"QueueUrl": url, "MaxNumberOfMessages": 10}), 9_000).unwrap();
    let bodies: Vec<_> = r["Messages"].as_array().unwrap().iter().map(|m| m["Body"].clone()).collect();
    assert!(bodies.contains(&json!("delivered")) && !bodies.contains(&json!("filtered out")), "{bodies:?}");
    // Ids continue where they were: a new message does not reuse a stored id.
    let before: Vec<Value> = saved["sqs"]["queues"]["inbox"]["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    let sent = back.sqs.call("SendMessage", &json!({"QueueUrl": url, "MessageBody": "new"}), 9_000).unwrap();
    assert!(!before.contains(&sent["MessageId"]), "{sent}");
}
