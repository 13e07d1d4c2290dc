//! The JSON protocols: DynamoDB (JSON 1.0, `DynamoDB_20120810.*`), Step Functions
//! (JSON 1.0, `AWSStepFunctions.*`) and EventBridge PutEvents (JSON 1.1, `AWSEvents.*`).

use super::exec;
use super::http::{Req, Resp};
use super::sigv4::AuthError;
use super::State;
use serde_json::{json, Value};
use std::sync::Arc;

const JSON10: &str = "application/x-amz-json-1.0";
const JSON11: &str = "application/x-amz-json-1.1";

fn content_type(prefix: &str) -> &'static str {
    if prefix == "AWSEvents" {
        JSON11
    } else {
        JSON10
    }
}

pub fn error(prefix: &str, status: u16, code: &str, message: &str) -> Resp {
    let ty = if prefix.starts_with("DynamoDB") { format!("com.amazonaws.dynamodb.v20120810#{code}") } else { code.to_string() };
    Resp::json(status, content_type(prefix), &json!({"__type": ty, "message": message})).header("x-amzn-errortype", code)
}

pub fn auth_error(prefix: &str, e: &AuthError) -> Resp {
    // The JSON services name these differently from S3.
    let unsigned_headers = e.extra.iter().find(|(k, _)| k == "HeadersNotSigned").map(|(_, v)| v.as_str());
    let code = match e.code {
        "AccessDenied" if unsigned_headers.is_some() => "InvalidSignatureException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        "InvalidAccessKeyId" => "UnrecognizedClientException",
        "RequestTimeTooSkewed" => "InvalidSignatureException",
        "AccessDenied" => "MissingAuthenticationTokenException",
        other => other,
    };
    let msg = match code {
        "UnrecognizedClientException" => "The security token included in the request is invalid.".to_string(),
        "MissingAuthenticationTokenException" => "Request is missing Authentication Token".to_string(),
        "InvalidSignatureException" if unsigned_headers.is_some() => format!("{}: {}", e.message, unsigned_headers.unwrap_or("")),
        _ => e.message.clone(),
    };
    error(prefix, if e.status == 400 { 400 } else { 400.max(e.status) }, code, &msg)
}

pub fn handle(state: &Arc<State>, prefix: &str, op: &str, req: &Req) -> Resp {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return error(prefix, 400, "SerializationException", "The request body is not valid JSON"),
        }
    };
    match prefix {
        "DynamoDB_20120810" => dynamodb(state, op, &body),
        "AWSStepFunctions" => sfn(state, op, &body),
        "AWSEvents" => events(state, op, &body),
        _ => error(prefix, 400, "UnknownOperationException", &format!("asl-sim serve does not implement {prefix}.{op}")),
    }
}

fn dynamodb(state: &Arc<State>, op: &str, body: &Value) -> Resp {
    let result = state.world.lock().dynamodb.call(op, body);
    match result {
        Ok(v) => Resp::json(200, JSON10, &v),
        Err(e) => {
            let mut b = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{}", e.code), "message": e.message});
            if let (Some(Value::Object(extra)), Some(m)) = (&e.extra, b.as_object_mut()) {
                for (k, v) in extra {
                    m.insert(k.clone(), v.clone());
                }
            }
            Resp::json(e.status, JSON10, &b).header("x-amzn-errortype", e.code.clone())
        }
    }
}

fn str_field<'a>(body: &'a Value, k: &str) -> Option<&'a str> {
    body.get(k).and_then(Value::as_str)
}

fn sfn(state: &Arc<State>, op: &str, body: &Value) -> Resp {
    let p = "AWSStepFunctions";
    let machine = |k: &str| -> Result<Arc<super::Machine>, Resp> {
        let arn = super::sfn_local::split_test_case(str_field(body, k).unwrap_or("")).0;
        state.machine_by_arn(arn).ok_or_else(|| error(p, 400, "StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{arn}'")))
    };
    if let Some(r) = super::sfn_control::handle(state, op, body) {
        return r;
    }
    match op {
        op if super::sfn_tasks::handles(op) => super::sfn_tasks::handle(state, op, body),
        "StartSyncExecution" => {
            let m = match machine("stateMachineArn") {
                Ok(m) => m,
                Err(r) => return r,
            };
            if !m.express {
                return error(p, 400, "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine");
            }
            let input = match super::sfn_control::execution_input(body) {
                Ok(v) => v,
                Err(r) => return r,
            };
            if let Some(Err((c, msg))) = str_field(body, "name").map(|n| super::validate::name("name", n)) {
                return error(p, 400, &c, &msg);
            }
            let name = str_field(body, "name").map(str::to_string).unwrap_or_else(|| state.uuid());
            if let (_, Some(case)) = super::sfn_local::split_test_case(str_field(body, "stateMachineArn").unwrap_or("")) {
                if let Err(m) = super::sfn_local::use_test_case(state, &m.name, &name, case) {
                    return error(p, 400, "ValidationException", &m);
                }
            }
            let rec = exec::run(state, &m, &name, input);
            Resp::json(200, JSON10, &sync_result(&rec))
        }
        "RedriveExecution" => {
            let arn = match body.get("executionArn") {
                Some(Value::String(a)) => a.as_str(),
                Some(_) => return error(p, 400, "SerializationException", "executionArn must be a string"),
                None => return error(p, 400, "ValidationException", "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null"),
            };
            if !arn.starts_with("arn:") {
                return error(p, 400, "InvalidArn", &format!("Invalid Arn: 'Invalid ARN prefix: {arn}'"));
            }
            match exec::redrive(state, arn) {
                Ok(at) => Resp::json(200, JSON10, &json!({"redriveDate": at as f64 / 1000.0})),
                Err((code, msg)) => error(p, 400, code, &msg),
            }
        }
        "TestState" => {
            let mut world = state.world.clone();
            match super::test_state::test_state(body, &mut world, super::wall_millis()) {
                Ok(v) => Resp::json(200, JSON10, &super::test_state::to_wire(&v)),
                Err(r) => error(p, 400, r.code, &r.message),
            }
        }
        _ => error(p, 400, "UnknownOperationException", &format!("asl-sim serve does not implement Step Functions {op}")),
    }
}

/// StartSyncExecution's response.
pub fn sync_result(r: &exec::Record) -> Value {
    let mut v = exec::describe_json(r);
    let dur = r.stop_ms.unwrap_or(r.start_ms) - r.start_ms;
    v["billingDetails"] = json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": ((dur + 99) / 100 * 100).max(100)});
    v
}

fn events(state: &Arc<State>, op: &str, body: &Value) -> Resp {
    let p = "AWSEvents";
    if let Some(r) = super::events_api::handle(state, op, body) {
        return r;
    }
    if op != "PutEvents" {
        return error(p, 400, "UnknownOperationException", &format!("asl-sim serve does not implement EventBridge {op}"));
    }
    let entries = match body.get("Entries").and_then(Value::as_array) {
        Some(a) => a,
        None => return error(p, 400, "ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null"),
    };
    let mut parsed = Vec::new();
    for e in entries {
        match asl_eventbridge::events::entry_from_json(e, false) {
            Ok(x) => parsed.push(x),
            Err(m) => return error(p, 400, "ValidationException", &m),
        }
    }
    match put_events(state, &parsed) {
        Ok(v) => Resp::json(200, JSON11, &v),
        Err(e) => error(p, e.status, &e.code, &e.message),
    }
}

/// PutEvents on the world; deliveries start their executions.
pub fn put_events(state: &Arc<State>, entries: &[asl_eventbridge::events::PutEventsEntry]) -> Result<Value, asl_eventbridge::EventsError> {
    let mut ctx = asl_aws::CallContext::new(super::wall_millis(), state.next_seed());
    ctx.region = super::template::REGION.into();
    ctx.account = super::template::ACCOUNT.into();
    let result = {
        let mut w = state.world.lock();
        let (result, deliveries) = w.events.put_events(entries, &ctx)?;
        w.pending.extend(deliveries);
        result
    };
    // The deliveries commit (as the executions they start) before the answer.
    // EventBridge's own code for a failure on its side is InternalException (500)
    // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html).
    exec::dispatch(state).map_err(|e| asl_eventbridge::EventsError { code: "InternalException".into(), message: format!("the events could not be stored: {e}"), status: 500 })?;
    Ok(result.to_json())
}
