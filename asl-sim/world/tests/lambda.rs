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
    assert_eq!(out.error, None, "{:?}", out.cause);
    let output = out.output.expect("output");
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
    assert_eq!(out.error.as_deref(), Some("Boom"));
    let missing = run(&world, "arn:aws:states:::lambda:invoke", json!({"FunctionName": "nope"}), json!({}));
    assert_eq!(missing.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
}
