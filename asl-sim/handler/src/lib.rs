//! Task resources asl-sim does not emulate (Glue, Athena, Bedrock, ...), answered by a command
//! the user names: `--handler SERVICE=COMMAND`, or `--handler '*=COMMAND'` for every service
//! without its own handler.
//!
//! The command runs under `sh -c` and gets one JSON document on standard input:
//!
//! ```json
//! {"service": "glue", "action": "startJobRun", "pattern": ".sync",
//!  "resource": "arn:aws:states:::glue:startJobRun.sync",
//!  "parameters": {...}, "context": {"Execution": {...}, "StateMachine": {...}, "State": {...}, "Task": {"Token": "..."}}}
//! ```
//!
//! It answers the task's result as JSON on standard output (empty output is `null`, text that is
//! not JSON is a string), or `{"Error": "...", "Cause": "..."}` to fail the task. A nonzero exit
//! fails the task too: with the `Error`/`Cause` it printed, else `States.TaskFailed` and what it
//! printed as the cause.
//!
//! Patterns: for `.sync` the answer is the finished job's result; for `.waitForTaskToken` it is
//! what the callback would send (SendTaskSuccess's output, or an Error/Cause as SendTaskFailure),
//! and `context.Task.Token` is the token. The engine does the waiting.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A failed call: the error name and the cause Step Functions reports.
pub type Failure = (String, String);

/// The service key that matches every service without its own handler.
pub const ANY: &str = "*";

/// A Task resource split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource<'a> {
    /// `glue`, `athena`, ... (for `aws-sdk:SERVICE:action` the SDK service name).
    pub service: &'a str,
    pub action: &'a str,
    /// "", ".sync", ".sync:2" or ".waitForTaskToken".
    pub pattern: &'a str,
}

/// Splits `arn:PARTITION:states:::SERVICE:ACTION[.PATTERN]` and
/// `arn:PARTITION:states:::aws-sdk:SERVICE:ACTION[.PATTERN]`.
pub fn parse_resource(resource: &str) -> Option<Resource<'_>> {
    let tail = states_tail(resource)?;
    let (service, action, pattern) = split_tail(tail.strip_prefix("aws-sdk:").unwrap_or(tail))?;
    if service.is_empty() || action.is_empty() {
        return None;
    }
    Some(Resource { service, action, pattern })
}

/// Splits `arn:PARTITION:states:::SERVICE:ACTION[.PATTERN]` into (service, action, pattern)
/// as written: for an SDK integration the service is `aws-sdk` and the action
/// `SERVICE:ACTION`. The world routes on this shape; [`parse_resource`] is the SDK-aware one.
pub fn split_states_resource(resource: &str) -> Option<(&str, &str, &str)> {
    split_tail(states_tail(resource)?)
}

/// What follows `arn:PARTITION:states:REGION:ACCOUNT:` in a Step Functions resource.
fn states_tail(resource: &str) -> Option<&str> {
    let rest = resource.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "states" {
        return None;
    }
    let (_region, _account) = (parts.next()?, parts.next()?);
    parts.next()
}

/// `SERVICE:ACTION[.PATTERN]` into its three parts (the pattern keeps its dot).
fn split_tail(tail: &str) -> Option<(&str, &str, &str)> {
    let (service, action) = tail.split_once(':')?;
    Some(match action.find('.') {
        Some(i) => (service, &action[..i], &action[i..]),
        None => (service, action, ""),
    })
}

/// One call to hand to a command.
pub struct Call<'a> {
    pub resource: &'a str,
    pub parameters: &'a Value,
    /// The context object (`$$`) of the task.
    pub context: Value,
    /// The state's TimeoutSeconds: the command is killed past it and the task times out.
    pub timeout_seconds: Option<f64>,
}

/// The commands, by service.
#[derive(Clone, Debug, Default)]
pub struct Handlers {
    commands: BTreeMap<String, String>,
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    pub fn insert(&mut self, service: &str, command: &str) {
        self.commands.insert(service.to_string(), command.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The command for a service: its own, else the `*` one.
    pub fn command_for(&self, service: &str) -> Option<&str> {
        self.commands.get(service).or_else(|| self.commands.get(ANY)).map(String::as_str)
    }

    /// Answers the call when a command handles its service; `None` when none does.
    pub fn call(&self, call: &Call<'_>) -> Option<Result<Value, Failure>> {
        let r = parse_resource(call.resource)?;
        let command = self.command_for(r.service)?;
        let request = json!({
            "service": r.service,
            "action": r.action,
            "pattern": r.pattern,
            "resource": call.resource,
            "parameters": call.parameters,
            "context": call.context,
        });
        Some(run(command, &request.to_string(), call.timeout_seconds).and_then(|(ok, out)| answer(ok, &out)))
    }
}

/// What a command's output means.
fn answer(exit_ok: bool, stdout: &[u8]) -> Result<Value, Failure> {
    let text = String::from_utf8_lossy(stdout);
    let parsed: Option<Value> = serde_json::from_str(text.trim()).ok();
    if let Some(Value::Object(m)) = &parsed {
        if let Some(error) = m.get("Error") {
            return Err(error_of(m, error));
        }
    }
    if !exit_ok {
        let cause = text.trim();
        return Err(("States.TaskFailed".into(), if cause.is_empty() { "The handler command failed.".into() } else { cause.to_string() }));
    }
    Ok(match parsed {
        Some(v) => v,
        None if text.trim().is_empty() => Value::Null,
        None => Value::String(text.trim_end_matches('\n').to_string()),
    })
}

fn error_of(m: &Map<String, Value>, error: &Value) -> Failure {
    let error = match error {
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "States.TaskFailed".into(),
    };
    let cause = match m.get("Cause") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        // A structured cause is passed on as its JSON text, as services' causes are.
        Some(other) => other.to_string(),
    };
    (error, cause)
}

/// Runs `command` with `input` on stdin; `(exited successfully, stdout)`.
fn run(command: &str, input: &str, timeout_seconds: Option<f64>) -> Result<(bool, Vec<u8>), Failure> {
    match run_shell(command, &[], input, timeout_seconds) {
        Ok(Ran::Exited { success, stdout }) => Ok((success, stdout)),
        Ok(Ran::TimedOut) => Err(("States.Timeout".into(), String::new())),
        Err(RunError::Start(e)) => Err(("States.TaskFailed".to_string(), format!("cannot start the handler command {command:?}: {e}"))),
        Err(RunError::Wait(e)) => Err(("States.TaskFailed".into(), format!("the handler command could not be awaited: {e}"))),
    }
}

/// How a [`run_shell`] command ended.
#[derive(Debug)]
pub enum Ran {
    Exited { success: bool, stdout: Vec<u8> },
    /// It was still running at the deadline; it and everything it started were killed.
    TimedOut,
}

/// Why a [`run_shell`] command could not be run or awaited.
#[derive(Debug)]
pub enum RunError {
    Start(std::io::Error),
    Wait(std::io::Error),
}

/// Runs `sh -c command` with `env` added and `input` on stdin, collecting stdout (stderr is
/// inherited). Past `timeout_seconds` its whole process group is killed. The one process
/// runner of handler commands and of the world's Lambda functions.
pub fn run_shell(command: &str, env: &[(String, String)], input: &str, timeout_seconds: Option<f64>) -> Result<Ran, RunError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        // Its own process group, so that a timeout ends whatever the command started.
        .process_group(0)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(RunError::Start)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input must not block the run.
        let input = input.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = timeout_seconds.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Ran::Exited { success: status.success(), stdout: reader.join().unwrap_or_default() }),
            Ok(None) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{}", child.id())])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(Ran::TimedOut);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(RunError::Wait(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_split_into_service_action_pattern() {
        let cases = [
            ("arn:aws:states:::glue:startJobRun.sync", Some(("glue", "startJobRun", ".sync"))),
            ("arn:aws:states:::aws-sdk:athena:getQueryResults", Some(("athena", "getQueryResults", ""))),
            ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", Some(("sqs", "sendMessage", ".waitForTaskToken"))),
            ("arn:aws:states:::states:startExecution.sync:2", Some(("states", "startExecution", ".sync:2"))),
            ("arn:aws-us-gov:states:us-gov-west-1:1:batch:submitJob", Some(("batch", "submitJob", ""))),
            ("arn:aws:lambda:us-east-1:1:function:f", None),
            ("arn:aws:states:::glue", None),
            ("not an arn", None),
        ];
        for (arn, want) in cases {
            let got = parse_resource(arn).map(|r| (r.service, r.action, r.pattern));
            assert_eq!(got, want, "{arn}");
        }
    }

    #[test]
    fn answers_results_and_errors() {
        assert_eq!(answer(true, b"{\"JobRunId\":\"jr_1\"}\n"), Ok(json!({"JobRunId": "jr_1"})));
        assert_eq!(answer(true, b""), Ok(Value::Null));
        assert_eq!(answer(true, b"plain text\n"), Ok(json!("plain text")));
        assert_eq!(answer(true, b"{\"Error\":\"Glue.EntityNotFoundException\",\"Cause\":\"no job\"}"), Err(("Glue.EntityNotFoundException".into(), "no job".into())));
        assert_eq!(answer(false, b"{\"Error\":\"E\",\"Cause\":{\"a\":1}}"), Err(("E".into(), "{\"a\":1}".into())));
        assert_eq!(answer(false, b"boom"), Err(("States.TaskFailed".into(), "boom".into())));
        assert_eq!(answer(false, b""), Err(("States.TaskFailed".into(), "The handler command failed.".into())));
    }

    #[test]
    fn a_command_gets_the_call_and_answers_it() {
        let mut h = Handlers::new();
        // The handler echoes back what it received, so every field of the request is checked.
        h.insert("glue", "cat");
        h.insert(ANY, "echo '{\"Error\":\"Custom.Unhandled\",\"Cause\":\"any\"}'");
        let params = json!({"JobName": "etl"});
        let call = Call {
            resource: "arn:aws:states:::glue:startJobRun.sync",
            parameters: &params,
            context: json!({"Task": {"Token": "tok"}}),
            timeout_seconds: Some(10.0),
        };
        let got = h.call(&call).unwrap().unwrap();
        assert_eq!(got, json!({"service": "glue", "action": "startJobRun", "pattern": ".sync", "resource": "arn:aws:states:::glue:startJobRun.sync",
            "parameters": {"JobName": "etl"}, "context": {"Task": {"Token": "tok"}}}));
        let other = Call { resource: "arn:aws:states:::aws-sdk:athena:startQueryExecution", ..call };
        assert_eq!(h.call(&other).unwrap(), Err(("Custom.Unhandled".into(), "any".into())));
        assert!(Handlers::new().call(&other).is_none());
    }

    #[test]
    fn nonzero_exits_and_timeouts_fail_the_task() {
        let mut h = Handlers::new();
        h.insert("batch", "echo oops; exit 3");
        h.insert("emr", "sleep 5");
        let p = json!({});
        let call = |r| Call { resource: r, parameters: &p, context: json!({}), timeout_seconds: Some(0.3) };
        assert_eq!(h.call(&call("arn:aws:states:::batch:submitJob")).unwrap(), Err(("States.TaskFailed".into(), "oops".into())));
        let t = Instant::now();
        assert_eq!(h.call(&call("arn:aws:states:::emr:addStep")).unwrap(), Err(("States.Timeout".into(), String::new())));
        assert!(t.elapsed() < Duration::from_secs(3));
        h.insert("x", "/nonexistent/command");
        assert_eq!(h.call(&call("arn:aws:states:::x:y")).unwrap().unwrap_err().0, "States.TaskFailed");
    }
}
