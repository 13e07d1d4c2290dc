//! Lambda functions behind one trait ([`Lambda`]), and what Step Functions makes of
//! their answers (the three integration styles, function errors, Lambda's errors).
//!
//! Runners: [`LambdaFunction`], a local command (`--lambda NAME=COMMAND`, test files): the
//! event JSON on stdin, the result on stdout, a non-zero exit being a function error whose
//! stdout holds `{"errorType","errorMessage",...}`; and serve's template functions (their
//! real binaries behind the Lambda Runtime API, in asl-serve).

use asl_core::engine::TaskError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A function the world can invoke.
pub trait Lambda: Send + Sync {
    /// Runs the function on the event `body` (JSON text) for at most `limit_seconds`;
    /// a run that takes longer is a `States.Timeout` [`TaskError`].
    fn run(&self, body: &str, limit_seconds: f64) -> Result<Reply, TaskError>;
}

/// A function's answer: its result, or (`succeeded: false`) its error object, as JSON text.
pub struct Reply {
    pub succeeded: bool,
    pub payload: String,
}

/// The functions of a world, by name.
pub type Functions = HashMap<String, Arc<dyn Lambda>>;

/// Lambda's own ceiling on a function's run time.
const MAX_LAMBDA_SECONDS: f64 = 900.0;

#[derive(Clone, Debug)]
pub struct LambdaFunction {
    pub command: String,
    /// Extra environment for the command (serve points SDKs at itself).
    pub env: Vec<(String, String)>,
}

impl Lambda for LambdaFunction {
    fn run(&self, body: &str, limit_seconds: f64) -> Result<Reply, TaskError> {
        let (succeeded, stdout) = run_command(self, body, limit_seconds)?;
        Ok(Reply { succeeded, payload: String::from_utf8_lossy(&stdout).into_owned() })
    }
}

/// One Lambda call of a Task, decided (which function, what payload, which shape of
/// result) but not yet made, so a shared world can make it without holding its lock:
/// the function may call back into the world (serve's functions use its S3 and DynamoDB).
pub struct Invocation {
    pub function: Option<Arc<dyn Lambda>>,
    pub name: String,
    pub payload: Value,
    pub style: Style,
}

impl Invocation {
    pub fn invoke(&self, timeout_seconds: Option<f64>) -> Result<Value, TaskError> {
        invoke_function(self.function.as_deref(), &self.name, &self.payload, timeout_seconds, self.style)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A function ARN as the Resource: the result is the bare payload.
    Direct,
    /// `arn:aws:states:::lambda:invoke`: the Invoke envelope with SdkHttpMetadata.
    Optimized,
    /// `arn:aws:states:::aws-sdk:lambda:invoke`.
    AwsSdk,
}

/// `arn:aws:lambda:region:account:function:NAME[:qualifier]` → NAME.
pub fn function_name_from_arn(resource: &str) -> Option<String> {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
        Some(parts[6].to_string())
    } else {
        None
    }
}

/// A FunctionName as given to Invoke (name, partial or full ARN, with or without qualifier) → the name.
pub fn short_name(f: &str) -> String {
    if let Some(n) = function_name_from_arn(f) {
        return n;
    }
    let parts: Vec<&str> = f.split(':').collect();
    match parts.len() {
        // account:function:name
        3 if parts[1] == "function" => parts[2].to_string(),
        // name:qualifier
        2 => parts[0].to_string(),
        _ => f.to_string(),
    }
}

pub fn not_found(name: &str) -> TaskError {
    TaskError {
        error: "Lambda.ResourceNotFoundException".into(),
        cause: Some(format!(
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:{name} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)"
        )),
    }
}

/// The request body Lambda receives: a string payload is sent as is (it is
/// the JSON text), anything else is serialised.
fn request_body(payload: &Value) -> String {
    match payload {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn invoke(functions: &Functions, name: &str, payload: &Value, timeout_seconds: Option<f64>, style: Style) -> Result<Value, TaskError> {
    invoke_function(functions.get(name).map(|f| &**f), name, payload, timeout_seconds, style)
}

fn invoke_function(function: Option<&dyn Lambda>, name: &str, payload: &Value, timeout_seconds: Option<f64>, style: Style) -> Result<Value, TaskError> {
    let Some(f) = function else { return Err(not_found(name)) };
    // A function ARN as the Resource sends the state's input as JSON; Invoke's
    // Payload parameter, when a string, is the JSON text itself.
    let body = if style == Style::Direct { payload.to_string() } else { request_body(payload) };
    if serde_json::from_str::<Value>(&body).is_err() {
        return Err(TaskError {
            error: "Lambda.InvalidRequestContentException".into(),
            cause: Some("Could not parse request body into json: Could not parse payload into json (Service: AWSLambda; Status Code: 400; Error Code: InvalidRequestContentException; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)".into()),
        });
    }
    let limit = timeout_seconds.unwrap_or(MAX_LAMBDA_SECONDS).min(MAX_LAMBDA_SECONDS);
    let Reply { succeeded, payload: text } = f.run(&body, limit)?;
    if !succeeded {
        // A function error: Step Functions reports the errorType as the error
        // and the error object, as Lambda returned it, as the cause.
        let obj: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({"errorMessage": text.trim(), "errorType": "Unhandled"}));
        let error = obj.get("errorType").and_then(Value::as_str).unwrap_or("Unhandled").to_string();
        let mut cause = Map::new();
        for k in ["errorMessage", "errorType"] {
            if let Some(v) = obj.get(k) {
                cause.insert(k.into(), v.clone());
            }
        }
        cause.insert("requestId".into(), json!("00000000-0000-0000-0000-000000000000"));
        if let Some(v) = obj.get("stackTrace") {
            cause.insert("stackTrace".into(), v.clone());
        }
        return Err(TaskError { error, cause: Some(Value::Object(cause).to_string()) });
    }
    let result: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) if text.trim().is_empty() => Value::Null,
        Err(_) => Value::String(text),
    };
    Ok(match style {
        Style::Direct => result,
        Style::Optimized => json!({
            "ExecutedVersion": "$LATEST",
            "Payload": result,
            "SdkHttpMetadata": {
                "AllHttpHeaders": {"X-Amz-Executed-Version": ["$LATEST"], "Content-Type": ["application/json"]},
                "HttpHeaders": {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"},
                "HttpStatusCode": 200
            },
            "SdkResponseMetadata": {"RequestId": "00000000-0000-0000-0000-000000000000"},
            "StatusCode": 200
        }),
        Style::AwsSdk => json!({"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}),
    })
}

/// Runs the command with `body` on stdin; kills it after `limit` seconds
/// (Step Functions then reports `States.Timeout`).
fn run_command(f: &LambdaFunction, body: &str, limit: f64) -> Result<(bool, Vec<u8>), TaskError> {
    use asl_handler::{run_shell, Ran, RunError};
    match run_shell(&f.command, &f.env, body, Some(limit)) {
        Ok(Ran::Exited { success, stdout }) => Ok((success, stdout)),
        Ok(Ran::TimedOut) => Err(TaskError { error: "States.Timeout".into(), cause: None }),
        Err(RunError::Start(e)) => {
            Err(TaskError { error: "Lambda.ServiceException".into(), cause: Some(format!("cannot start the function's command: {e}")) })
        }
        Err(RunError::Wait(e)) => Err(TaskError { error: "Lambda.ServiceException".into(), cause: Some(e.to_string()) }),
    }
}

/// `aws-sdk:lambda:listFunctions` and `aws-sdk:lambda:getFunction` over the world's functions
/// (Lambda API reference: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html,
/// https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html). A local function is
/// known by name only, so its configuration carries FunctionName and FunctionArn; the other
/// fields AWS returns (runtime, role, code location, ...) are not known offline and are left out.
pub fn sdk_call(functions: &Functions, action: &str, params: &Value, region: &str, account: &str) -> Option<Result<Value, TaskError>> {
    let configuration = |name: &str| json!({"FunctionName": name, "FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:{name}")});
    match action {
        "listFunctions" => {
            let mut names: Vec<&String> = functions.keys().collect();
            names.sort();
            Some(Ok(json!({"Functions": names.into_iter().map(|n| configuration(n)).collect::<Vec<_>>()})))
        }
        "getFunction" | "getFunctionConfiguration" => {
            let Some(given) = params.get("FunctionName").and_then(Value::as_str) else {
                return Some(Err(TaskError {
                    error: "Lambda.ValidationException".into(),
                    cause: Some("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null (Service: AWSLambda; Status Code: 400; Error Code: ValidationException; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)".into()),
                }));
            };
            let name = short_name(given);
            if !functions.contains_key(&name) {
                return Some(Err(not_found(&name)));
            }
            Some(Ok(if action == "getFunction" { json!({"Configuration": configuration(&name)}) } else { configuration(&name) }))
        }
        _ => None,
    }
}
