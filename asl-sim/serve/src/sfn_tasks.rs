//! The Step Functions operations that answer running executions: SendTaskSuccess,
//! SendTaskFailure, SendTaskHeartbeat, StopExecution, and activities (Create,
//! Describe, List, Delete, GetActivityTask). Shapes and messages follow the API
//! reference (https://docs.aws.amazon.com/step-functions/latest/apireference/) and
//! the responses recorded on AWS (shared/reference/aws-recorded).

use super::exec::{self, TaskAnswer};
use super::http::Resp;
use super::State;
use crate::clock::wall_millis;
use asl_world::activities::Activity;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const JSON10: &str = "application/x-amz-json-1.0";
/// GetActivityTask polls for at most 60 seconds (API reference, GetActivityTask).
const ACTIVITY_POLL: Duration = Duration::from_secs(60);
/// SendTaskSuccess's output, like every payload, is at most 256 KiB.
const MAX_OUTPUT_BYTES: usize = 262_144;

pub fn handles(op: &str) -> bool {
    matches!(
        op,
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" | "StopExecution" | "CreateActivity" | "DescribeActivity" | "ListActivities" | "DeleteActivity" | "GetActivityTask"
    )
}

fn error(code: &str, message: &str) -> Resp {
    Resp::json(400, JSON10, &json!({"__type": code, "message": message})).header("x-amzn-errortype", code)
}

fn ok(v: Value) -> Resp {
    Resp::json(200, JSON10, &v)
}

fn field<'a>(body: &'a Value, k: &str) -> Option<&'a str> {
    body.get(k).and_then(Value::as_str)
}

/// AWS's rule for activity, state machine and execution names: 1 to 80 characters,
/// none of whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /` or control
/// characters (API reference, CreateActivity `name`; recorded InvalidName cases).
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || ('\u{7f}'..='\u{9f}').contains(&c) || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        })
}

fn activity_arn(name: &str) -> String {
    format!("arn:aws:states:{}:{}:activity:{name}", super::template::REGION, super::template::ACCOUNT)
}

fn check_activity_arn(arn: &str) -> Result<(), Resp> {
    if !arn.starts_with("arn:") {
        return Err(error("InvalidArn", &format!("Invalid Arn: 'Invalid ARN prefix: {arn}'")));
    }
    if arn.split(':').nth(5) != Some("activity") {
        return Err(error("InvalidArn", &format!("Invalid Arn: 'Resource type not valid in this context: {}'", arn.split(':').nth(5).unwrap_or(""))));
    }
    Ok(())
}

fn describe(a: &Activity) -> Value {
    json!({"activityArn": a.arn, "name": a.name, "creationDate": a.created_ms as f64 / 1000.0})
}

pub fn handle(state: &Arc<State>, op: &str, body: &Value) -> Resp {
    match op {
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => {
            let Some(token) = field(body, "taskToken").filter(|t| !t.is_empty()) else {
                return error("ValidationException", "1 validation error detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null");
            };
            let answer = match op {
                "SendTaskSuccess" => {
                    let Some(text) = field(body, "output") else {
                        return error("ValidationException", "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null");
                    };
                    if text.len() > MAX_OUTPUT_BYTES {
                        return error("InvalidOutput", "Invalid Output: 'The output exceeds the maximum number of bytes service limit.'");
                    }
                    match serde_json::from_str::<Value>(text) {
                        Ok(v) => TaskAnswer::Success(v),
                        Err(e) => return error("InvalidOutput", &format!("Invalid Output: '{e}'")),
                    }
                }
                "SendTaskFailure" => TaskAnswer::Failure {
                    error: field(body, "error").unwrap_or_default().to_string(),
                    cause: field(body, "cause").map(str::to_string),
                },
                _ => TaskAnswer::Heartbeat,
            };
            match exec::answer_task(state, token, answer) {
                Ok(()) => ok(json!({})),
                Err((code, msg)) => error(code, &msg),
            }
        }
        "StopExecution" => {
            let arn = field(body, "executionArn").unwrap_or("");
            if arn.split(':').nth(5) == Some("express") {
                return error("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'");
            }
            match exec::stop(state, arn, field(body, "error"), field(body, "cause")) {
                Ok(ms) => ok(json!({"stopDate": ms as f64 / 1000.0})),
                Err((code, msg)) => error(code, &msg),
            }
        }
        "CreateActivity" => {
            let name = field(body, "name").unwrap_or("");
            if !valid_name(name) {
                return error("InvalidName", &format!("Invalid Name: '{name}'"));
            }
            let arn = activity_arn(name);
            let mut w = state.world.lock();
            // Idempotent: creating an existing activity returns it (API reference, CreateActivity).
            let a = w.activities.created.entry(arn.clone()).or_insert_with(|| Activity { arn: arn.clone(), name: name.to_string(), created_ms: wall_millis(), tags: Default::default() });
            ok(json!({"activityArn": a.arn, "creationDate": a.created_ms as f64 / 1000.0}))
        }
        "DescribeActivity" | "DeleteActivity" => {
            let arn = field(body, "activityArn").unwrap_or("");
            if let Err(r) = check_activity_arn(arn) {
                return r;
            }
            let mut w = state.world.lock();
            if op == "DeleteActivity" {
                // Deleting an activity that does not exist succeeds (recorded: DeleteActivity answers {}).
                w.activities.created.remove(arn);
                return ok(json!({}));
            }
            match w.activities.created.get(arn) {
                Some(a) => {
                    let mut v = describe(a);
                    v["encryptionConfiguration"] = json!({"type": "AWS_OWNED_KEY"});
                    ok(v)
                }
                None => error("ActivityDoesNotExist", &format!("Activity Does Not Exist: '{arn}'")),
            }
        }
        "ListActivities" => {
            let w = state.world.lock();
            let all: Vec<Value> = w.activities.created.values().map(describe).collect();
            let max = body.get("maxResults").and_then(Value::as_u64).filter(|m| *m > 0).unwrap_or(100).min(1000) as usize;
            let start = match field(body, "nextToken") {
                None => 0,
                Some(t) => match t.parse::<usize>() {
                    Ok(n) if n <= all.len() => n,
                    _ => return error("InvalidToken", "Invalid Token: 'Invalid token'"),
                },
            };
            let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
            let mut v = json!({"activities": page});
            if start + max < all.len() {
                v["nextToken"] = json!((start + max).to_string());
            }
            ok(v)
        }
        "GetActivityTask" => {
            let arn = field(body, "activityArn").unwrap_or("");
            if let Err(r) = check_activity_arn(arn) {
                return r;
            }
            if !state.world.lock().activities.created.contains_key(arn) {
                return error("ActivityDoesNotExist", &format!("Activity Does Not Exist: '{arn}'"));
            }
            let until = Instant::now() + ACTIVITY_POLL;
            loop {
                if let Some(t) = state.world.lock().activities.take(arn) {
                    return ok(json!({"taskToken": t.token, "input": t.input.to_string()}));
                }
                if Instant::now() >= until || state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
                    // No task within the poll: AWS answers without a token.
                    return ok(json!({}));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        _ => error("UnknownOperationException", &format!("asl-sim serve does not implement AWSStepFunctions.{op}")),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    /// The recorded CreateActivity InvalidName cases (test_create_activity_invalid_name).
    #[test]
    fn names_as_aws_checks_them() {
        for bad in ["", "activity name", "activity<name", "activity{name", "activity]name", "activity?name", "activity*name", "activity\"name", "activity#name", "activity%name", "activity\\name", "activity^name", "activity|name", "activity~name", "activity`name", "activity$name", "activity&name", "activity,name", "activity;name", "activity:name", "activity/name", "\u{0}activity", "activity\u{1f}", "activity\u{7f}"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("activity-name_1.v2"));
        assert!(valid_name(&"a".repeat(80)));
        assert!(!valid_name(&"a".repeat(81)));
    }
}
