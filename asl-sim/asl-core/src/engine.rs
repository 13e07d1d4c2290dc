//! The interpreter: runs a `Definition` against a `Services` implementation
//! and a `Clock`, producing AWS's outcome and (optionally) its history.
//!
//! Everything observable follows AWS: the order of data processing within a
//! state, error names and causes (including the event id in
//! "entered at the event id #N"), which errors `States.ALL` can catch, retry
//! timing, and the quotas. The engine does no I/O itself: service calls go
//! through `Services`, waiting goes through `Clock`.

use crate::definition::*;
use crate::history::History;
use crate::intrinsics::{self, Scope};
use crate::path::{self, Path, Root, Selected};
use crate::rng::SplitMix64;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// AWS's payload quota: 256 KiB of UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// A Standard execution fails once its history would exceed this many events.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// An Express execution may run for five minutes.
pub const EXPRESS_LIMIT_MS: i64 = 300_000;
/// Express executions have no history quota; a definition that loops without
/// ever waiting would run until the five-minute limit on AWS. Locally it is
/// timed out after this many transitions instead of spinning for five minutes.
pub const EXPRESS_MAX_TRANSITIONS: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionType {
    Standard,
    Express,
}

/// Who and where: used for `$$` and every ARN the run produces.
#[derive(Clone, Debug)]
pub struct ExecutionConfig {
    pub region: String,
    pub partition: String,
    pub account: String,
    pub state_machine_name: String,
    pub execution_name: String,
    pub role_arn: Option<String>,
    pub execution_type: ExecutionType,
    pub seed: u64,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            region: "us-east-1".into(),
            partition: "aws".into(),
            account: "123456789012".into(),
            state_machine_name: "StateMachine".into(),
            execution_name: "execution".into(),
            role_arn: None,
            execution_type: ExecutionType::Standard,
            seed: 0,
        }
    }
}

impl ExecutionConfig {
    pub fn state_machine_arn(&self) -> String {
        format!("arn:{}:states:{}:{}:stateMachine:{}", self.partition, self.region, self.account, self.state_machine_name)
    }
    pub fn execution_arn(&self) -> String {
        let kind = match self.execution_type {
            ExecutionType::Standard => "execution",
            ExecutionType::Express => "express",
        };
        format!("arn:{}:states:{}:{}:{kind}:{}:{}", self.partition, self.region, self.account, self.state_machine_name, self.execution_name)
    }
    pub fn role(&self) -> String {
        self.role_arn
            .clone()
            .unwrap_or_else(|| format!("arn:{}:iam::{}:role/StepFunctionsRole", self.partition, self.account))
    }
}

/// Time as the execution sees it.
pub trait Clock {
    fn now_millis(&self) -> i64;
    /// Waits `ms` milliseconds (a virtual clock just moves forward).
    fn sleep(&mut self, ms: i64);
}

/// A virtual clock: starts at `start` and moves only when told to.
pub struct VirtualClock {
    pub now: i64,
}

impl Clock for VirtualClock {
    fn now_millis(&self) -> i64 {
        self.now
    }
    fn sleep(&mut self, ms: i64) {
        self.now += ms.max(0);
    }
}

/// One Task state's call, as the services see it.
pub struct TaskCall<'a> {
    pub resource: &'a str,
    pub parameters: Value,
    pub state_name: &'a str,
    pub timeout_seconds: Option<f64>,
    pub heartbeat_seconds: Option<f64>,
    pub credentials: Option<Value>,
    pub config: &'a ExecutionConfig,
    /// Milliseconds since the epoch on the execution's clock.
    pub now_millis: i64,
    /// `$$.Task.Token` for `.waitForTaskToken` resources.
    pub task_token: Option<String>,
}

/// A failed service call: the error name and cause Step Functions reports.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskError {
    pub error: String,
    pub cause: Option<String>,
}

/// How Task states reach services. The default fails as AWS does when it
/// cannot call a resource.
pub trait Services {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError>;

    /// Called after each state exits: a driver may pause the execution here
    /// (interleaving executions in tests and simulations). Default: nothing.
    fn state_exited(&mut self, state: &str) {
        let _ = state;
    }

    /// Writes one object for a Distributed Map's ResultWriter (`s3:putObject`).
    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        let _ = (bucket, key, body);
        Err(TaskError { error: "States.ResultWriterFailed".into(), cause: Some("no S3 service is available to write results".into()) })
    }

    /// Reads the items of a Distributed Map's ItemReader (`s3:getObject`, `s3:listObjectsV2`).
    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        let _ = (reader, parameters);
        Err(TaskError { error: "States.ItemReaderFailed".into(), cause: Some("no S3 service is available to read items".into()) })
    }
}

/// A `Services` with nothing behind it.
pub struct NoServices;

impl Services for NoServices {
    fn call(&mut self, call: &TaskCall<'_>, _clock: &mut dyn Clock) -> Result<Value, TaskError> {
        Err(TaskError {
            error: "States.Runtime".into(),
            cause: Some(format!("The resource '{}' is not supported by this simulator.", call.resource)),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: History,
    /// State names in the order they were entered (top level and nested).
    pub path: Vec<String>,
    pub start_millis: i64,
    pub stop_millis: i64,
}

/// A failure travelling up the state stack.
#[derive(Clone, Debug)]
struct Failure {
    error: String,
    cause: Option<String>,
    /// Terminal failures end the execution whatever Catch says (`States.Runtime`, quotas).
    terminal: Option<Status>,
}

impl Failure {
    fn new(error: impl Into<String>, cause: Option<String>) -> Failure {
        Failure { error: error.into(), cause, terminal: None }
    }
    fn runtime(cause: String) -> Failure {
        Failure { error: "States.Runtime".into(), cause: Some(cause), terminal: None }
    }
}

/// Workflow variables, scoped: Map iterations and Parallel branches read the
/// outer scope and write their own.
struct Vars<'p> {
    local: HashMap<String, Value>,
    parent: Option<&'p Vars<'p>>,
}

impl<'p> Vars<'p> {
    fn get(&self, name: &str) -> Option<&Value> {
        match self.local.get(name) {
            Some(v) => Some(v),
            None => self.parent.and_then(|p| p.get(name)),
        }
    }
    fn all(&self) -> Map<String, Value> {
        let mut m = self.parent.map(Vars::all).unwrap_or_default();
        for (k, v) in &self.local {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}

/// What `$$` holds for one state.
#[derive(Clone, Copy)]
struct StateCtx<'a> {
    name: &'a str,
    entered_ms: i64,
    retry_count: u32,
    map_item: Option<(usize, &'a Value)>,
    task_token: Option<&'a str>,
}

pub struct Engine<'a> {
    config: &'a ExecutionConfig,
    services: &'a mut dyn Services,
    clock: &'a mut dyn Clock,
    rng: SplitMix64,
    history: History,
    input: Value,
    start_ms: i64,
    deadline_ms: Option<i64>,
    transitions: u64,
    path: Vec<String>,
}

/// Runs `def` on `input` to completion.
pub fn run(
    def: &Definition,
    input: Value,
    config: &ExecutionConfig,
    services: &mut dyn Services,
    clock: &mut dyn Clock,
    record_history: bool,
) -> Outcome {
    let start_ms = clock.now_millis();
    let mut deadline_ms = def.timeout_seconds.map(|s| start_ms + s as i64 * 1000);
    if config.execution_type == ExecutionType::Express {
        let limit = start_ms + EXPRESS_LIMIT_MS;
        deadline_ms = Some(deadline_ms.map_or(limit, |d| d.min(limit)));
    }
    let mut engine = Engine {
        config,
        services,
        clock,
        rng: SplitMix64::new(config.seed),
        history: History::new(record_history),
        input: input.clone(),
        start_ms,
        deadline_ms,
        transitions: 0,
        path: Vec::new(),
    };
    let now = engine.clock.now_millis();
    engine.history.push(
        now,
        "ExecutionStarted",
        json!({"input": crate::history::payload(&input), "inputDetails": {"truncated": false}, "roleArn": config.role()}),
    );
    let mut vars = Vars { local: HashMap::new(), parent: None };
    let result = if crate::size::json_len(&input) > MAX_PAYLOAD_BYTES {
        Err(Failure {
            error: "States.DataLimitExceeded".into(),
            cause: Some("The state machine input exceeds the maximum number of bytes service limit.".into()),
            terminal: Some(Status::Failed),
        })
    } else {
        engine.run_machine(&def.machine, input, &mut vars, None)
    };
    let now = engine.clock.now_millis();
    let (status, output, error, cause) = match result {
        Ok(out) => {
            engine.history.push(now, "ExecutionSucceeded", json!({"output": crate::history::payload(&out), "outputDetails": {"truncated": false}}));
            (Status::Succeeded, Some(out), None, None)
        }
        Err(f) => {
            let status = f.terminal.clone().unwrap_or(Status::Failed);
            let ty = match status {
                Status::TimedOut => "ExecutionTimedOut",
                Status::Aborted => "ExecutionAborted",
                _ => "ExecutionFailed",
            };
            let mut details = Map::new();
            if !f.error.is_empty() {
                details.insert("error".into(), Value::String(f.error.clone()));
            }
            if let Some(c) = &f.cause {
                details.insert("cause".into(), Value::String(c.clone()));
            }
            engine.history.push(now, ty, Value::Object(details));
            let error = if f.error.is_empty() { None } else { Some(f.error) };
            (status, None, error, f.cause)
        }
    };
    Outcome {
        status,
        output,
        error,
        cause,
        history: engine.history,
        path: engine.path,
        start_millis: start_ms,
        stop_millis: now,
    }
}

enum Flow {
    Next(usize, Value),
    End(Value),
}

/// The kind-specific part of a state's type names in history events.
fn type_prefix(kind: &Kind) -> &'static str {
    match kind {
        Kind::Pass { .. } => "Pass",
        Kind::Task(_) => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait(_) => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map(_) => "Map",
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => intrinsics::to_json_text(other),
    }
}

impl Engine<'_> {
    fn context_value(&self, sc: &StateCtx<'_>) -> Value {
        let mut ctx = json!({
            "Execution": {
                "Id": self.config.execution_arn(),
                "Input": self.input,
                "StartTime": crate::time::format_millis(self.start_ms),
                "Name": self.config.execution_name,
                "RoleArn": self.config.role(),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": self.config.state_machine_arn(), "Name": self.config.state_machine_name},
            "State": {"EnteredTime": crate::time::format_millis(sc.entered_ms), "Name": sc.name, "RetryCount": sc.retry_count},
        });
        if let Some(token) = sc.task_token {
            ctx["Task"] = json!({"Token": token});
        }
        if let Some((index, value)) = sc.map_item {
            ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        ctx
    }

    fn runtime_cause(&self, state: &str, entered_id: u64, msg: &str) -> String {
        format!("An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {msg}")
    }

    fn check_limits(&mut self) -> Result<(), Failure> {
        self.transitions += 1;
        if let Some(deadline) = self.deadline_ms {
            if self.clock.now_millis() > deadline {
                return Err(Failure { error: "States.Timeout".into(), cause: None, terminal: Some(Status::TimedOut) });
            }
        }
        match self.config.execution_type {
            ExecutionType::Standard => {
                if self.history.count() >= MAX_HISTORY_EVENTS {
                    return Err(Failure {
                        error: "States.Runtime".into(),
                        cause: Some(format!(
                            "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
                        )),
                        terminal: Some(Status::Failed),
                    });
                }
            }
            ExecutionType::Express => {
                if self.transitions > EXPRESS_MAX_TRANSITIONS {
                    return Err(Failure { error: "States.Timeout".into(), cause: None, terminal: Some(Status::TimedOut) });
                }
            }
        }
        Ok(())
    }

    fn run_machine(&mut self, m: &Machine, input: Value, vars: &mut Vars<'_>, map_item: Option<(usize, &Value)>) -> Result<Value, Failure> {
        if m.states.is_empty() {
            return Ok(input);
        }
        let mut cur = m.start;
        let mut data = input;
        loop {
            self.check_limits()?;
            let st = &m.states[cur];
            match self.run_state(st, data, vars, map_item)? {
                Flow::Next(i, out) => {
                    cur = i;
                    data = out;
                }
                Flow::End(out) => return Ok(out),
            }
        }
    }

    fn run_state(&mut self, st: &State, raw: Value, vars: &mut Vars<'_>, map_item: Option<(usize, &Value)>) -> Result<Flow, Failure> {
        let prefix = type_prefix(&st.kind);
        let entered_ms = self.clock.now_millis();
        let entered_id = self.history.push_state(entered_ms, prefix, "Entered", &st.name, Some(&raw));
        self.path.push(st.name.clone());
        if crate::size::json_len(&raw) > MAX_PAYLOAD_BYTES {
            return Err(Failure {
                error: "States.DataLimitExceeded".into(),
                cause: Some(format!("The state/task '{}' received an input with a size exceeding the maximum number of bytes service limit.", st.name)),
                terminal: Some(Status::Failed),
            });
        }
        let mut retry_counts = vec![0u32; st.retry.len()];
        let mut retry_total = 0u32;
        loop {
            let sc = StateCtx { name: &st.name, entered_ms, retry_count: retry_total, map_item, task_token: None };
            match self.attempt(st, &raw, vars, &sc, entered_id) {
                Ok(flow) => {
                    if !matches!(st.kind, Kind::Fail { .. }) {
                        let out = match &flow {
                            Flow::Next(_, v) | Flow::End(v) => v,
                        };
                        if crate::size::json_len(out) > MAX_PAYLOAD_BYTES {
                            return Err(Failure {
                                error: "States.DataLimitExceeded".into(),
                                cause: Some(format!(
                                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                                    st.name
                                )),
                                terminal: Some(Status::Failed),
                            });
                        }
                        let now = self.clock.now_millis();
                        let out_ref = match &flow {
                            Flow::Next(_, v) | Flow::End(v) => v,
                        };
                        self.history.push_state(now, prefix, "Exited", &st.name, Some(out_ref));
                        self.services.state_exited(&st.name);
                    }
                    return Ok(flow);
                }
                Err(f) => {
                    if f.terminal.is_some() || f.error == "States.Runtime" {
                        let mut f = f;
                        if f.error == "States.Runtime" && f.terminal.is_none() {
                            f.terminal = Some(Status::Failed);
                        }
                        return Err(f);
                    }
                    // Retry: the first retrier whose ErrorEquals matches decides.
                    if let Some(i) = st.retry.iter().position(|r| error_matches(&r.errors, &f.error)) {
                        let r = &st.retry[i];
                        if retry_counts[i] < r.max_attempts {
                            let mut wait = r.interval_seconds * r.backoff_rate.powi(retry_counts[i] as i32);
                            if let Some(max) = r.max_delay_seconds {
                                wait = wait.min(max);
                            }
                            if r.jitter_full {
                                wait *= self.rng.next_f64();
                            }
                            retry_counts[i] += 1;
                            retry_total += 1;
                            self.clock.sleep((wait * 1000.0).round() as i64);
                            continue;
                        }
                    }
                    if let Some(c) = st.catch.iter().find(|c| error_matches(&c.errors, &f.error)) {
                        return self.caught(st, c, raw, f, vars, map_item, entered_ms, entered_id);
                    }
                    return Err(f);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn caught(
        &mut self,
        st: &State,
        c: &Catcher,
        raw: Value,
        f: Failure,
        vars: &mut Vars<'_>,
        map_item: Option<(usize, &Value)>,
        entered_ms: i64,
        entered_id: u64,
    ) -> Result<Flow, Failure> {
        let mut err_out = Map::new();
        err_out.insert("Error".into(), Value::String(f.error.clone()));
        err_out.insert("Cause".into(), f.cause.clone().map_or(Value::Null, Value::String));
        let err_out = Value::Object(err_out);
        let sc = StateCtx { name: &st.name, entered_ms, retry_count: 0, map_item, task_token: None };
        let out = if st.ql == QueryLanguage::Jsonata {
            let states = self.jsonata_states(&sc, &raw, None, Some(&err_out));
            let out = match &c.output {
                Some(t) => self.eval_jsonata_template(t, &states, vars, "Output", &st.name, entered_id)?,
                // Without Output, a JSONata catcher hands on the error output
                // ($states.errorOutput), not the state's input.
                None => err_out.clone(),
            };
            if let Some(a) = &c.assign {
                let assigned = self.eval_jsonata_template(a, &states, vars, "Assign", &st.name, entered_id)?;
                self.apply_assign(assigned, vars);
            }
            out
        } else {
            let new_vars = match &c.assign {
                Some(a) => Some(self.eval_template(a, &err_out, &sc, vars, "Assign", &st.name, entered_id)?),
                None => None,
            };
            let out = self.apply_result_path(&c.result_path, raw, err_out, &st.name, entered_id)?;
            if let Some(a) = new_vars {
                self.apply_assign(a, vars);
            }
            out
        };
        let now = self.clock.now_millis();
        self.history.push_state(now, type_prefix(&st.kind), "Exited", &st.name, Some(&out));
        self.services.state_exited(&st.name);
        Ok(Flow::Next(c.next, out))
    }

    fn next_flow(&self, st: &State, out: Value) -> Flow {
        match st.next {
            Some(n) if !st.end => Flow::Next(n, out),
            _ => Flow::End(out),
        }
    }

    /// One attempt at a state: everything between entering and leaving it.
    fn attempt(&mut self, st: &State, raw: &Value, vars: &mut Vars<'_>, sc: &StateCtx<'_>, entered_id: u64) -> Result<Flow, Failure> {
        if st.ql == QueryLanguage::Jsonata {
            return self.attempt_jsonata(st, raw, vars, sc, entered_id);
        }
        let name = &st.name;
        // Fail and Succeed take no data processing beyond InputPath/OutputPath.
        if let Kind::Fail { error, cause } = &st.kind {
            let error = self.fail_text(error, raw, sc, vars, name, entered_id)?;
            let cause = self.fail_text(cause, raw, sc, vars, name, entered_id)?;
            // Not terminal: inside a Parallel branch or a Map iteration the
            // failure is the enclosing state's error, which its Catch may take.
            return Err(Failure { error: error.unwrap_or_default(), cause, terminal: None });
        }
        let effective = self.io_path(&st.input_path, raw, sc, vars, name, entered_id)?;
        match &st.kind {
            Kind::Succeed => {
                let out = self.output_path(&st.output_path, effective, sc, vars, name, entered_id)?;
                Ok(Flow::End(out))
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for c in choices {
                    if self.rule(&c.rule, &effective, sc, vars, name, entered_id)? {
                        chosen = Some(c);
                        break;
                    }
                }
                let next = match chosen {
                    Some(c) => c.next,
                    None => match default {
                        Some(d) => *d,
                        None => {
                            return Err(Failure::runtime(self.runtime_cause(
                                name,
                                entered_id,
                                "No Choice Rule matched and no Default was specified.",
                            )))
                        }
                    },
                };
                let new_vars = match chosen.and_then(|c| c.assign.as_ref()).or(st.assign.as_ref()) {
                    Some(a) => Some(self.eval_template(a, &effective, sc, vars, "Assign", name, entered_id)?),
                    None => None,
                };
                let out = self.output_path(&st.output_path, effective, sc, vars, name, entered_id)?;
                if let Some(a) = new_vars {
                    self.apply_assign(a, vars);
                }
                Ok(Flow::Next(next, out))
            }
            Kind::Wait(w) => {
                self.wait(w, &effective, sc, vars, name, entered_id)?;
                let new_vars = match &st.assign {
                    Some(a) => Some(self.eval_template(a, &effective, sc, vars, "Assign", name, entered_id)?),
                    None => None,
                };
                let out = self.output_path(&st.output_path, effective, sc, vars, name, entered_id)?;
                if let Some(a) = new_vars {
                    self.apply_assign(a, vars);
                }
                Ok(self.next_flow(st, out))
            }
            Kind::Pass { result } => {
                let result = match result {
                    Some(r) => r.clone(),
                    None => match &st.parameters {
                        Some(p) => self.eval_template(p, &effective, sc, vars, "Parameters", name, entered_id)?,
                        None => effective,
                    },
                };
                self.finish_jsonpath(st, raw, result, sc, vars, entered_id)
            }
            Kind::Task(task) => {
                // `.waitForTaskToken` tasks see their token as `$$.Task.Token` in Parameters.
                let token = self.task_token(task);
                let tsc = StateCtx { task_token: token.as_deref(), ..*sc };
                let sc = &tsc;
                let params = match &st.parameters {
                    Some(p) => self.eval_template(p, &effective, sc, vars, "Parameters", name, entered_id)?,
                    None => effective.clone(),
                };
                let timeout = self.dyn_number(&task.timeout, &effective, sc, vars, "TimeoutSecondsPath", name, entered_id)?;
                let heartbeat = self.dyn_number(&task.heartbeat, &effective, sc, vars, "HeartbeatSecondsPath", name, entered_id)?;
                let credentials = match &task.credentials {
                    Some(c) => Some(self.eval_template(c, &effective, sc, vars, "Credentials", name, entered_id)?),
                    None => None,
                };
                let result = self.call_task(st, task, params, timeout, heartbeat, credentials, token.clone())?;
                let result = match &st.result_selector {
                    Some(s) => self.eval_template(s, &result, sc, vars, "ResultSelector", name, entered_id)?,
                    None => result,
                };
                self.finish_jsonpath(st, raw, result, sc, vars, entered_id)
            }
            Kind::Parallel { branches } => {
                let input = match &st.parameters {
                    Some(p) => self.eval_template(p, &effective, sc, vars, "Parameters", name, entered_id)?,
                    None => effective,
                };
                let result = self.parallel(st, branches, input, vars)?;
                let result = match &st.result_selector {
                    Some(s) => self.eval_template(s, &result, sc, vars, "ResultSelector", name, entered_id)?,
                    None => result,
                };
                self.finish_jsonpath(st, raw, result, sc, vars, entered_id)
            }
            Kind::Map(map) => {
                let result = self.map(st, map, &effective, sc, vars, entered_id)?;
                let result = match &st.result_selector {
                    Some(s) => self.eval_template(s, &result, sc, vars, "ResultSelector", name, entered_id)?,
                    None => result,
                };
                self.finish_jsonpath(st, raw, result, sc, vars, entered_id)
            }
            Kind::Fail { .. } => unreachable_fail(),
        }
    }

    /// Assign (seeing the result), ResultPath, OutputPath, then the new variables.
    fn finish_jsonpath(&mut self, st: &State, raw: &Value, result: Value, sc: &StateCtx<'_>, vars: &mut Vars<'_>, entered_id: u64) -> Result<Flow, Failure> {
        let new_vars = match &st.assign {
            Some(a) => Some(self.eval_template(a, &result, sc, vars, "Assign", &st.name, entered_id)?),
            None => None,
        };
        let combined = self.apply_result_path(&st.result_path, raw.clone(), result, &st.name, entered_id)?;
        let out = self.output_path(&st.output_path, combined, sc, vars, &st.name, entered_id)?;
        if let Some(a) = new_vars {
            self.apply_assign(a, vars);
        }
        Ok(self.next_flow(st, out))
    }

    fn apply_assign(&mut self, assigned: Value, vars: &mut Vars<'_>) {
        if let Value::Object(m) = assigned {
            for (k, v) in m {
                vars.local.insert(k, v);
            }
        }
    }

    fn apply_result_path(&self, rp: &ResultPath, raw: Value, result: Value, name: &str, entered_id: u64) -> Result<Value, Failure> {
        match rp {
            ResultPath::Whole => Ok(result),
            ResultPath::Discard => Ok(raw),
            ResultPath::Path(p) => {
                let steps = p.steps().unwrap_or_default();
                let mut doc = raw;
                let raw_text = intrinsics::to_json_text(&doc);
                match path::write(&mut doc, &steps, result) {
                    Ok(()) => Ok(doc),
                    Err(()) => Err(Failure::new(
                        "States.ResultPathMatchFailure",
                        Some(self.runtime_cause(
                            name,
                            entered_id,
                            &format!("Unable to apply step \"{}\" to input {raw_text}", p.as_str().trim_start_matches("$.")),
                        )),
                    )),
                }
            }
        }
    }

    fn read(&self, p: &Path, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>) -> Result<Value, String> {
        let ctx_holder;
        let doc = match &p.root {
            Root::Input => input,
            Root::Context => {
                ctx_holder = self.context_value(sc);
                &ctx_holder
            }
            Root::Variable(name) => match vars.get(name) {
                Some(v) => v,
                None => return Err(format!("Invalid path '{}' : The variable '${name}' is not defined.", p.as_str())),
            },
        };
        p.select(doc).map(Selected::into_owned).map_err(|m| format!("Invalid path '{}' : {m}", p.as_str()))
    }

    fn io_path(&self, io: &IoPath, raw: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<Value, Failure> {
        match io {
            IoPath::Whole => Ok(raw.clone()),
            IoPath::Null => Ok(Value::Object(Map::new())),
            IoPath::Path(p) => self.read(p, raw, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m))),
        }
    }

    fn output_path(&self, io: &IoPath, out: Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<Value, Failure> {
        match io {
            IoPath::Whole => Ok(out),
            _ => self.io_path(io, &out, sc, vars, name, entered_id),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_template(&mut self, t: &Template, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, field: &str, name: &str, entered_id: u64) -> Result<Value, Failure> {
        match t {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, sub) in entries {
                    let v = match sub {
                        Template::Path(p) => self.read(p, input, sc, vars).map_err(|_| {
                            Failure::runtime(self.runtime_cause(
                                name,
                                entered_id,
                                &format!(
                                    "The JSONPath '{}' specified for the field '{k}.$' could not be found in the input '{}'",
                                    p.as_str(),
                                    intrinsics::to_json_text(input)
                                ),
                            ))
                        })?,
                        other => self.eval_template(other, input, sc, vars, field, name, entered_id)?,
                    };
                    m.insert(k.clone(), v);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval_template(i, input, sc, vars, field, name, entered_id)?);
                }
                Ok(Value::Array(out))
            }
            Template::Path(p) => self.read(p, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m))),
            Template::Intrinsic(call) => self.intrinsic(call, input, sc, vars, name, entered_id),
            Template::Jsonata(_) => Err(Failure::runtime(self.runtime_cause(name, entered_id, "JSONata expressions are not allowed in a JSONPath state"))),
        }
    }

    fn intrinsic(&mut self, call: &intrinsics::Call, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<Value, Failure> {
        let ctx = if call_reads_context(call) { self.context_value(sc) } else { Value::Null };
        let lookup = |n: &str| vars.get(n);
        let rng = &mut self.rng;
        let mut next = || rng.next_u64();
        let mut scope = Scope { input, context: &ctx, variables: &lookup, random: &mut next };
        intrinsics::eval(call, &mut scope).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))
    }

    #[allow(clippy::too_many_arguments)]
    fn fail_text(&mut self, d: &Option<Dyn<String>>, raw: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<Option<String>, Failure> {
        Ok(match d {
            None => None,
            Some(Dyn::Literal(s)) => Some(s.clone()),
            Some(Dyn::Path(p)) => {
                let v = self.read(p, raw, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                Some(value_text(&v))
            }
            Some(Dyn::Intrinsic(c)) => {
                let v = self.intrinsic(c, raw, sc, vars, name, entered_id)?;
                Some(value_text(&v))
            }
            Some(Dyn::Jsonata(_)) => None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn dyn_number(&mut self, d: &Option<Dyn<f64>>, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, field: &str, name: &str, entered_id: u64) -> Result<Option<f64>, Failure> {
        match d {
            None => Ok(None),
            Some(Dyn::Literal(x)) => Ok(Some(*x)),
            Some(Dyn::Path(p)) => {
                let v = self.read(p, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                match v.as_f64() {
                    Some(x) if x >= 0.0 => Ok(Some(x)),
                    _ => Err(Failure::runtime(self.runtime_cause(
                        name,
                        entered_id,
                        &format!("The {field} field refers to value \"{}\" which is not a valid integer: {}", value_text(&v), p.as_str()),
                    ))),
                }
            }
            Some(Dyn::Intrinsic(_)) | Some(Dyn::Jsonata(_)) => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn wait(&mut self, w: &WaitFor, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<(), Failure> {
        let until = match w {
            WaitFor::Seconds(Dyn::Literal(s)) => self.clock.now_millis() + (*s * 1000.0) as i64,
            WaitFor::Seconds(Dyn::Path(p)) => {
                let v = self.read(p, input, sc, vars).map_err(|_| {
                    Failure::runtime(self.runtime_cause(name, entered_id, &format!("The SecondsPath parameter does not reference an input value: {}", p.as_str())))
                })?;
                let secs = v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)).filter(|s| *s >= 0);
                match secs {
                    Some(s) => self.clock.now_millis() + s * 1000,
                    None => {
                        return Err(Failure::runtime(self.runtime_cause(
                            name,
                            entered_id,
                            &format!("The SecondsPath parameter cannot be parsed as a long value: {} == {}", p.as_str(), value_text(&v)),
                        )))
                    }
                }
            }
            WaitFor::Timestamp(Dyn::Literal(t)) => crate::time::parse_timestamp(t).unwrap_or(0),
            WaitFor::Timestamp(Dyn::Path(p)) => {
                let v = self.read(p, input, sc, vars).map_err(|_| {
                    Failure::runtime(self.runtime_cause(name, entered_id, &format!("The TimestampPath parameter does not reference an input value: {}", p.as_str())))
                })?;
                match v.as_str().and_then(crate::time::parse_timestamp) {
                    Some(t) => t,
                    None => {
                        return Err(Failure::runtime(self.runtime_cause(
                            name,
                            entered_id,
                            &format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                p.as_str(),
                                value_text(&v)
                            ),
                        )))
                    }
                }
            }
            _ => self.clock.now_millis(),
        };
        let now = self.clock.now_millis();
        if let Some(deadline) = self.deadline_ms {
            if until > deadline {
                self.clock.sleep(deadline - now + 1);
                return Err(Failure { error: "States.Timeout".into(), cause: None, terminal: Some(Status::TimedOut) });
            }
        }
        self.clock.sleep(until - now);
        Ok(())
    }

    fn task_token(&mut self, task: &Task) -> Option<String> {
        task.resource.ends_with(".waitForTaskToken").then(|| format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64()))
    }

    #[allow(clippy::too_many_arguments)]
    fn call_task(&mut self, st: &State, task: &Task, params: Value, timeout: Option<f64>, heartbeat: Option<f64>, credentials: Option<Value>, token: Option<String>) -> Result<Value, Failure> {
        let now = self.clock.now_millis();
        let lambda_direct = task.resource.starts_with("arn:aws:lambda:") || task.resource.contains(":lambda:") && task.resource.contains(":function:");
        let (scheduled, started, succeeded, failed) = if lambda_direct {
            ("LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "LambdaFunctionFailed")
        } else {
            ("TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskFailed")
        };
        self.history.push(now, scheduled, json!({"resource": task.resource, "parameters": crate::history::payload(&params), "timeoutInSeconds": timeout}));
        self.history.push(now, started, json!({"resource": task.resource}));
        let call = TaskCall {
            resource: &task.resource,
            parameters: params,
            state_name: &st.name,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            credentials,
            config: self.config,
            now_millis: now,
            task_token: token,
        };
        let r = self.services.call(&call, &mut *self.clock);
        let now = self.clock.now_millis();
        match r {
            Ok(v) => {
                if crate::size::json_len(&v) > MAX_PAYLOAD_BYTES {
                    // A Lambda function given directly as the Resource is named
                    // by its ARN; an integration by its service name.
                    let service = if lambda_direct { task.resource.as_str() } else { service_name(&task.resource) };
                    let cause = format!("The state/task '{service}' returned a result with a size exceeding the maximum number of bytes service limit.");
                    self.history.push(now, failed, json!({"error": "States.DataLimitExceeded", "cause": cause}));
                    return Err(Failure::new("States.DataLimitExceeded", Some(cause)));
                }
                self.history.push(now, succeeded, json!({"resource": task.resource, "output": crate::history::payload(&v)}));
                Ok(v)
            }
            Err(e) => {
                let mut d = Map::new();
                d.insert("error".into(), Value::String(e.error.clone()));
                if let Some(c) = &e.cause {
                    d.insert("cause".into(), Value::String(c.clone()));
                }
                let ty = if e.error == "States.Timeout" && !lambda_direct { "TaskTimedOut" } else { failed };
                self.history.push(now, ty, Value::Object(d));
                if e.error == "States.Runtime" {
                    return Err(Failure { error: e.error, cause: e.cause, terminal: Some(Status::Failed) });
                }
                Err(Failure::new(e.error, e.cause))
            }
        }
    }

    fn parallel(&mut self, st: &State, branches: &[Machine], input: Value, vars: &mut Vars<'_>) -> Result<Value, Failure> {
        let now = self.clock.now_millis();
        self.history.push(now, "ParallelStateStarted", json!({}));
        let mut out = Vec::with_capacity(branches.len());
        for b in branches {
            let mut inner = Vars { local: HashMap::new(), parent: Some(&*vars) };
            match self.run_machine(b, input.clone(), &mut inner, None) {
                Ok(v) => out.push(v),
                Err(f) => {
                    let now = self.clock.now_millis();
                    self.history.push(now, "ParallelStateFailed", json!({"error": f.error, "cause": f.cause}));
                    return Err(f);
                }
            }
        }
        let _ = st;
        let now = self.clock.now_millis();
        self.history.push(now, "ParallelStateSucceeded", json!({}));
        Ok(Value::Array(out))
    }

    #[allow(clippy::too_many_arguments)]
    fn map_number(&mut self, d: &Option<Dyn<f64>>, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, path_field: &str, kind: &str, name: &str, entered_id: u64) -> Result<Option<Value>, Failure> {
        match d {
            None => Ok(None),
            Some(Dyn::Literal(x)) => Ok(Some(json!(*x))),
            Some(Dyn::Path(p)) => {
                let v = self.read(p, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                // AWS reads numbers written as strings too ("1" is a valid integer).
                let v = match &v {
                    Value::String(s) => match kind {
                        "integer" => s.trim().parse::<i64>().map(Value::from).unwrap_or(v),
                        _ => s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(v),
                    },
                    _ => v,
                };
                let ok = match kind {
                    "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
                    _ => v.is_number(),
                };
                if !ok {
                    return Err(Failure::runtime(self.runtime_cause(
                        name,
                        entered_id,
                        &format!("The {path_field} field refers to value \"{}\" which is not a valid {kind}: {}", value_text(&v), p.as_str()),
                    )));
                }
                Ok(Some(v))
            }
            Some(Dyn::Jsonata(_)) | Some(Dyn::Intrinsic(_)) => Ok(None),
        }
    }

    fn map(&mut self, st: &State, map: &MapState, effective: &Value, sc: &StateCtx<'_>, vars: &mut Vars<'_>, entered_id: u64) -> Result<Value, Failure> {
        let name = &st.name;
        let items: Vec<Value> = if let Some(reader) = &map.item_reader {
            let params = match &map.item_reader_params {
                Some(t) => self.eval_template(t, effective, sc, vars, "ItemReader", name, entered_id)?,
                None => Value::Object(Map::new()),
            };
            let mut reader = reader.clone();
            // MaxItemsPath is read from the state's input, then handed over as MaxItems.
            let max_path = reader.pointer("/ReaderConfig/MaxItemsPath").and_then(Value::as_str).map(str::to_string);
            if let Some(p) = max_path {
                let path = Path::parse(&p).map_err(|e| Failure::runtime(self.runtime_cause(name, entered_id, &e)))?;
                let v = self.read(&path, effective, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                if let Some(cfg) = reader.get_mut("ReaderConfig").and_then(Value::as_object_mut) {
                    cfg.remove("MaxItemsPath");
                    cfg.insert("MaxItems".into(), v);
                }
            }
            self.services.read_items(&reader, &params).map_err(|e| Failure::new(e.error, e.cause))?
        } else {
            let items_value = match &map.items_path {
                Some(p) => self.read(p, effective, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?,
                None => effective.clone(),
            };
            match items_value {
                Value::Array(a) => a,
                other => {
                    return Err(Failure::runtime(self.runtime_cause(
                        name,
                        entered_id,
                        &format!(
                            "Invalid path '{}' : Item path must be an array, got: {}",
                            map.items_path.as_ref().map_or("$", |p| p.as_str()),
                            intrinsics::to_json_text(&other)
                        ),
                    )))
                }
            }
        };
        if let Some(v) = self.map_number(&map.max_concurrency, effective, sc, vars, "MaxConcurrencyPath", "integer", name, entered_id)? {
            if v.as_f64().is_some_and(|x| x < 0.0) {
                return Err(Failure::runtime(self.runtime_cause(name, entered_id, "MaxConcurrency cannot be negative.")));
            }
        }
        let tolerated_count = self.map_number(&map.tolerated_count, effective, sc, vars, "ToleratedFailureCountPath", "integer", name, entered_id)?;
        let tolerated_pct = self.map_number(&map.tolerated_percentage, effective, sc, vars, "ToleratedFailurePercentagePath", "float", name, entered_id)?;
        if let Some(c) = &tolerated_count {
            if c.as_f64().unwrap_or(0.0) < 0.0 {
                return Err(Failure::runtime(self.runtime_cause(name, entered_id, "ToleratedFailureCount cannot be negative.")));
            }
        }
        if let Some(p) = &tolerated_pct {
            let p = p.as_f64().unwrap_or(0.0);
            if !(0.0..=100.0).contains(&p) {
                return Err(Failure::runtime(self.runtime_cause(name, entered_id, "ToleratedFailurePercentage must be between 0 and 100.")));
            }
        }
        let now = self.clock.now_millis();
        self.history.push(now, "MapStateStarted", json!({"length": items.len()}));
        let mut selected = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            selected.push(match &map.item_selector {
                Some(t) => {
                    let isc = StateCtx { name: sc.name, entered_ms: sc.entered_ms, retry_count: sc.retry_count, map_item: Some((index, item)), task_token: None };
                    self.eval_template(t, effective, &isc, vars, "ItemSelector", name, entered_id)?
                }
                None => item.clone(),
            });
        }
        // ItemBatcher: each child execution gets {"Items": [...], "BatchInput": ...}.
        let (items, selected) = match &map.item_batcher {
            Some(b) => {
                let batches = self.batch(b, selected, effective, sc, vars, name, entered_id)?;
                (batches.clone(), batches)
            }
            None => (items, selected),
        };
        let mut results = Vec::with_capacity(items.len());
        let mut records = Vec::new();
        let mut failures = 0usize;
        let mut first_failure: Option<Failure> = None;
        let total = items.len();
        for ((index, item), item_input) in items.iter().enumerate().zip(selected) {
            let started = self.clock.now_millis();
            let record_input = map.result_writer.as_ref().map(|_| item_input.clone());
            let now = self.clock.now_millis();
            self.history.push(now, "MapIterationStarted", json!({"index": index, "name": name}));
            let mut inner = Vars { local: HashMap::new(), parent: Some(&*vars) };
            match self.run_machine(&map.processor, item_input, &mut inner, Some((index, item))) {
                Ok(v) => {
                    let now = self.clock.now_millis();
                    self.history.push(now, "MapIterationSucceeded", json!({"index": index, "name": name}));
                    if let Some(input) = record_input {
                        records.push((index, input, Ok(v.clone()), started, now));
                    }
                    results.push(v);
                }
                Err(f) => {
                    let now = self.clock.now_millis();
                    self.history.push(now, "MapIterationFailed", json!({"index": index, "name": name}));
                    if let Some(input) = record_input {
                        records.push((index, input, Err((f.error.clone(), f.cause.clone())), started, now));
                    }
                    if f.terminal.is_some() && f.error == "States.Runtime" {
                        return Err(f);
                    }
                    failures += 1;
                    let tolerated = tolerated_count.as_ref().is_some_and(|c| failures as f64 <= c.as_f64().unwrap_or(0.0))
                        || tolerated_pct.as_ref().is_some_and(|p| (failures as f64) * 100.0 / (total as f64) <= p.as_f64().unwrap_or(0.0));
                    if (tolerated_count.is_none() && tolerated_pct.is_none()) || !map.distributed && !tolerated {
                        let now = self.clock.now_millis();
                        self.history.push(now, "MapStateFailed", json!({}));
                        return Err(Failure { terminal: None, ..f });
                    }
                    if !tolerated {
                        let now = self.clock.now_millis();
                        self.history.push(now, "MapStateFailed", json!({}));
                        return Err(Failure::new(
                            "States.ExceedToleratedFailureThreshold",
                            Some("The specified tolerated failure threshold was exceeded".into()),
                        ));
                    }
                    first_failure.get_or_insert(f.clone());
                    results.push(json!({"Error": f.error, "Cause": f.cause}));
                }
            }
        }
        let now = self.clock.now_millis();
        self.history.push(now, "MapStateSucceeded", json!({}));
        if let Some(writer) = &map.result_writer {
            let params = match &map.result_writer_params {
                Some(t) => self.eval_template(t, effective, sc, vars, "ResultWriter", name, entered_id)?,
                None => Value::Object(Map::new()),
            };
            return self.write_results(st, map, writer, &params, records);
        }
        Ok(Value::Array(results))
    }

    /// Groups the selected items into ItemBatcher batches.
    #[allow(clippy::too_many_arguments)]
    fn batch(&mut self, b: &Value, selected: Vec<Value>, effective: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<Vec<Value>, Failure> {
        let number = |this: &Self, field: &str| -> Result<Option<u64>, Failure> {
            if let Some(v) = b.get(field) {
                return Ok(v.as_u64());
            }
            let Some(p) = b.get(&format!("{field}Path")).and_then(Value::as_str) else { return Ok(None) };
            let path = Path::parse(p).map_err(|e| Failure::runtime(this.runtime_cause(name, entered_id, &e)))?;
            let v = this.read(&path, effective, sc, vars).map_err(|m| Failure::runtime(this.runtime_cause(name, entered_id, &m)))?;
            match v.as_u64() {
                Some(n) => Ok(Some(n)),
                None => Err(Failure::runtime(this.runtime_cause(
                    name,
                    entered_id,
                    &format!("The {field}Path field refers to value \"{}\" which is not a valid integer: {p}", value_text(&v)),
                ))),
            }
        };
        let max_items = number(self, "MaxItemsPerBatch")?.filter(|n| *n > 0).map_or(usize::MAX, |n| n as usize);
        let max_bytes = number(self, "MaxInputBytesPerBatch")?.filter(|n| *n > 0).map_or(MAX_PAYLOAD_BYTES, |n| (n as usize).min(MAX_PAYLOAD_BYTES));
        let batch_input = match b.get("BatchInput") {
            Some(t) => {
                let node = crate::tree::Node::from_value(t, Default::default());
                let mut l = crate::definition::Lowering::new_detached();
                let tpl = l.template(&node, QueryLanguage::JsonPath, "BatchInput");
                Some(self.eval_template(&tpl, effective, sc, vars, "BatchInput", name, entered_id)?)
            }
            None => None,
        };
        let mut batches = Vec::new();
        let mut cur: Vec<Value> = Vec::new();
        let mut cur_bytes = 0usize;
        for item in selected {
            let size = crate::size::json_len(&item) + 1;
            if !cur.is_empty() && (cur.len() >= max_items || cur_bytes + size > max_bytes) {
                batches.push(std::mem::take(&mut cur));
                cur_bytes = 0;
            }
            cur_bytes += size;
            cur.push(item);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
        Ok(batches
            .into_iter()
            .map(|items| {
                let mut m = Map::new();
                if let Some(bi) = &batch_input {
                    m.insert("BatchInput".into(), bi.clone());
                }
                m.insert("Items".into(), Value::Array(items));
                Value::Object(m)
            })
            .collect())
    }

    /// ResultWriter: the child executions' results go to S3 as AWS lays them
    /// out (`<Prefix>/<map run id>/SUCCEEDED_0.json`, `FAILED_0.json`,
    /// `manifest.json`); the state's result names the manifest.
    #[allow(clippy::type_complexity)]
    fn write_results(&mut self, st: &State, map: &MapState, _writer: &Value, params: &Value, records: Vec<(usize, Value, Result<Value, (String, Option<String>)>, i64, i64)>) -> Result<Value, Failure> {
        let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or_default().to_string();
        let prefix = params.get("Prefix").and_then(Value::as_str).unwrap_or_default().to_string();
        let run_id = crate::rng::uuid_v4(self.rng.next_u64(), self.rng.next_u64());
        let label = map.label.clone().unwrap_or_else(|| st.name.clone());
        let c = self.config;
        let map_run_arn = format!("arn:{}:states:{}:{}:mapRun:{}/{}:{}", c.partition, c.region, c.account, c.state_machine_name, label, run_id);
        let child_sm = format!("arn:{}:states:{}:{}:stateMachine:{}/{}", c.partition, c.region, c.account, c.state_machine_name, label);
        let base = if prefix.is_empty() { run_id.clone() } else { format!("{}/{run_id}", prefix.trim_end_matches('/')) };
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        for (index, input, outcome, start, stop) in records {
            let exec_name = format!("{run_id}-{index}");
            let mut r = Map::new();
            r.insert("ExecutionArn".into(), json!(format!("arn:{}:states:{}:{}:execution:{}/{}:{exec_name}", c.partition, c.region, c.account, c.state_machine_name, label)));
            r.insert("Input".into(), json!(intrinsics::to_json_text(&input)));
            r.insert("InputDetails".into(), json!({"Included": true}));
            r.insert("Name".into(), json!(exec_name));
            match &outcome {
                Ok(out) => {
                    r.insert("Output".into(), json!(intrinsics::to_json_text(out)));
                    r.insert("OutputDetails".into(), json!({"Included": true}));
                }
                Err((error, cause)) => {
                    r.insert("Error".into(), json!(error));
                    r.insert("Cause".into(), json!(cause));
                }
            }
            r.insert("RedriveCount".into(), json!(0));
            r.insert("StartDate".into(), json!(crate::time::format_millis(start)));
            r.insert("StateMachineArn".into(), json!(child_sm));
            r.insert("Status".into(), json!(if outcome.is_ok() { "SUCCEEDED" } else { "FAILED" }));
            r.insert("StopDate".into(), json!(crate::time::format_millis(stop)));
            if outcome.is_ok() {
                succeeded.push(Value::Object(r));
            } else {
                failed.push(Value::Object(r));
            }
        }
        let mut files = Map::new();
        for (status, list) in [("FAILED", failed), ("PENDING", Vec::new()), ("SUCCEEDED", succeeded)] {
            let mut entries = Vec::new();
            if !list.is_empty() {
                let key = format!("{base}/{status}_0.json");
                let body = intrinsics::to_json_text(&Value::Array(list));
                entries.push(json!({"Key": key, "Size": body.len()}));
                self.services.put_object(&bucket, &key, &body).map_err(|e| Failure::new("States.ResultWriterFailed", e.cause))?;
            }
            files.insert(status.into(), Value::Array(entries));
        }
        let manifest_key = format!("{base}/manifest.json");
        let manifest = json!({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files});
        self.services
            .put_object(&bucket, &manifest_key, &intrinsics::to_json_text(&manifest))
            .map_err(|e| Failure::new("States.ResultWriterFailed", e.cause))?;
        Ok(json!({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}))
    }

    fn rule(&mut self, r: &Rule, input: &Value, sc: &StateCtx<'_>, vars: &Vars<'_>, name: &str, entered_id: u64) -> Result<bool, Failure> {
        match r {
            Rule::And(rs) => {
                for x in rs {
                    if !self.rule(x, input, sc, vars, name, entered_id)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for x in rs {
                    if self.rule(x, input, sc, vars, name, entered_id)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(x) => Ok(!self.rule(x, input, sc, vars, name, entered_id)?),
            Rule::Test { variable, test, expected } => {
                let v = self.read(variable, input, sc, vars);
                let r = match (test, &v) {
                    (TypeTest::Present, v) => v.is_ok(),
                    (_, Err(m)) => {
                        return Err(Failure::runtime(self.runtime_cause(name, entered_id, m)));
                    }
                    (TypeTest::Null, Ok(v)) => v.is_null(),
                    (TypeTest::Numeric, Ok(v)) => v.is_number(),
                    (TypeTest::String, Ok(v)) => v.is_string(),
                    (TypeTest::Boolean, Ok(v)) => v.is_boolean(),
                    (TypeTest::Timestamp, Ok(v)) => v.as_str().is_some_and(|s| crate::time::parse_timestamp(s).is_some()),
                };
                Ok(r == *expected)
            }
            Rule::Matches { variable, pattern } => {
                let v = self.read(variable, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                Ok(v.as_str().is_some_and(|s| crate::choice::string_matches(s, pattern)))
            }
            Rule::Compare { variable, op, kind, operand } => {
                let v = self.read(variable, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?;
                let rhs = match operand {
                    Operand::Literal(l) => l.clone(),
                    Operand::Path(p) => self.read(p, input, sc, vars).map_err(|m| Failure::runtime(self.runtime_cause(name, entered_id, &m)))?,
                };
                Ok(crate::choice::compare(*kind, *op, &v, &rhs))
            }
            Rule::Condition(_) => Ok(false),
        }
    }

    // -----------------------------------------------------------------------
    // JSONata states

    fn jsonata_states(&self, sc: &StateCtx<'_>, input: &Value, result: Option<&Value>, error_output: Option<&Value>) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), input.clone());
        if let Some(r) = result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        m.insert("context".into(), self.context_value(sc));
        Value::Object(m)
    }

    fn jsonata_eval(&mut self, expr: &crate::query::JsonataExpr, states: &Value, vars: &Vars<'_>, field: &str, name: &str, entered_id: u64) -> Result<Value, Failure> {
        let mut bindings = vars.all();
        bindings.insert("states".into(), states.clone());
        let now = self.clock.now_millis();
        let rng = &mut self.rng;
        let mut random = || rng.next_f64();
        let mut env = jsonata::Env { bindings: &bindings, now_millis: now, random: &mut random };
        match expr.parsed.evaluate_outcome(None, &mut env) {
            Ok(jsonata::Outcome::Value(v)) => Ok(v),
            Ok(jsonata::Outcome::Function) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(
                    name,
                    entered_id,
                    &format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", expr.src.trim()),
                )),
            )),
            Ok(jsonata::Outcome::Undefined) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(
                    name,
                    entered_id,
                    &format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", expr.src.trim()),
                )),
            )),
            Err(e) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(
                    name,
                    entered_id,
                    &format!("The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {}: {}", expr.src.trim(), e.code, e.message),
                )),
            )),
        }
    }

    fn eval_jsonata_template(&mut self, t: &Template, states: &Value, vars: &Vars<'_>, field: &str, name: &str, entered_id: u64) -> Result<Value, Failure> {
        match t {
            Template::Jsonata(e) => self.jsonata_eval(e, states, vars, field, name, entered_id),
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, sub) in entries {
                    let f = format!("{field}/{k}");
                    m.insert(k.clone(), self.eval_jsonata_template(sub, states, vars, &f, name, entered_id)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, sub) in items.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    out.push(self.eval_jsonata_template(sub, states, vars, &f, name, entered_id)?);
                }
                Ok(Value::Array(out))
            }
            Template::Path(_) | Template::Intrinsic(_) => Ok(Value::Null),
        }
    }

    fn jsonata_dyn<T: Clone>(&mut self, d: &Dyn<T>, states: &Value, vars: &Vars<'_>, field: &str, name: &str, entered_id: u64, conv: impl Fn(&Value) -> Option<T>, what: &str) -> Result<T, Failure> {
        match d {
            Dyn::Literal(v) => Ok(v.clone()),
            Dyn::Jsonata(e) => {
                let v = self.jsonata_eval(e, states, vars, field, name, entered_id)?;
                conv(&v).ok_or_else(|| {
                    Failure::new(
                        "States.QueryEvaluationError",
                        Some(self.runtime_cause(
                            name,
                            entered_id,
                            &format!("The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{what}', but was '{}' for value: {}", e.src.trim(), intrinsics::type_name(&v), intrinsics::to_json_text(&v)),
                        )),
                    )
                })
            }
            _ => Err(Failure::runtime(self.runtime_cause(name, entered_id, &format!("{field} is not supported here")))),
        }
    }

    fn attempt_jsonata(&mut self, st: &State, raw: &Value, vars: &mut Vars<'_>, sc: &StateCtx<'_>, entered_id: u64) -> Result<Flow, Failure> {
        let name = &st.name;
        let states = self.jsonata_states(sc, raw, None, None);
        match &st.kind {
            Kind::Fail { error, cause } => {
                let error = match error {
                    Some(d) => Some(self.jsonata_dyn(d, &states, vars, "Error", name, entered_id, |v| v.as_str().map(str::to_string), "string")?),
                    None => None,
                };
                let cause = match cause {
                    Some(d) => Some(self.jsonata_dyn(d, &states, vars, "Cause", name, entered_id, |v| v.as_str().map(str::to_string), "string")?),
                    None => None,
                };
                Err(Failure { error: error.unwrap_or_default(), cause, terminal: None })
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for c in choices {
                    if let Rule::Condition(d) = &c.rule {
                        if self.jsonata_dyn(d, &states, vars, "Condition", name, entered_id, Value::as_bool, "boolean")? {
                            chosen = Some(c);
                            break;
                        }
                    }
                }
                let next = match (chosen, default) {
                    (Some(c), _) => c.next,
                    (None, Some(d)) => *d,
                    (None, None) => {
                        return Err(Failure::runtime(self.runtime_cause(name, entered_id, "No Choice Rule matched and no Default was specified.")))
                    }
                };
                let output_t = chosen.and_then(|c| c.output.as_ref()).or(st.output.as_ref());
                let assign_t = chosen.and_then(|c| c.assign.as_ref()).or(st.assign.as_ref());
                let out = match output_t {
                    Some(t) => self.eval_jsonata_template(t, &states, vars, "Output", name, entered_id)?,
                    None => raw.clone(),
                };
                if let Some(a) = assign_t {
                    let assigned = self.eval_jsonata_template(a, &states, vars, "Assign", name, entered_id)?;
                    self.apply_assign(assigned, vars);
                }
                Ok(Flow::Next(next, out))
            }
            Kind::Wait(w) => {
                match w {
                    WaitFor::Seconds(d) => {
                        let s = self.jsonata_dyn(d, &states, vars, "Seconds", name, entered_id, Value::as_f64, "integer")?;
                        let now = self.clock.now_millis();
                        self.clock.sleep((s * 1000.0) as i64);
                        let _ = now;
                    }
                    WaitFor::Timestamp(d) => {
                        let t = self.jsonata_dyn(d, &states, vars, "Timestamp", name, entered_id, |v| v.as_str().map(str::to_string), "string")?;
                        let Some(until) = crate::time::parse_timestamp(&t) else {
                            return Err(Failure::new(
                                "States.QueryEvaluationError",
                                Some(self.runtime_cause(
                                    name,
                                    entered_id,
                                    &format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"),
                                )),
                            ));
                        };
                        let now = self.clock.now_millis();
                        self.clock.sleep(until - now);
                    }
                }
                self.jsonata_finish(st, raw, None, &states, vars, entered_id)
            }
            Kind::Succeed => {
                let out = match &st.output {
                    Some(t) => self.eval_jsonata_template(t, &states, vars, "Output", name, entered_id)?,
                    None => raw.clone(),
                };
                Ok(Flow::End(out))
            }
            Kind::Pass { .. } => self.jsonata_finish(st, raw, None, &states, vars, entered_id),
            Kind::Task(task) => {
                let token = self.task_token(task);
                let tsc = StateCtx { task_token: token.as_deref(), ..*sc };
                let states = if token.is_some() { self.jsonata_states(&tsc, raw, None, None) } else { states };
                let args = match &st.arguments {
                    Some(t) => self.eval_jsonata_template(t, &states, vars, "Arguments", name, entered_id)?,
                    None => raw.clone(),
                };
                let timeout = match &task.timeout {
                    Some(d) => Some(self.jsonata_dyn(d, &states, vars, "TimeoutSeconds", name, entered_id, Value::as_f64, "integer")?),
                    None => None,
                };
                let heartbeat = match &task.heartbeat {
                    Some(d) => Some(self.jsonata_dyn(d, &states, vars, "HeartbeatSeconds", name, entered_id, Value::as_f64, "integer")?),
                    None => None,
                };
                let result = self.call_task(st, task, args, timeout, heartbeat, None, token.clone())?;
                let states = self.jsonata_states(sc, raw, Some(&result), None);
                self.jsonata_finish(st, raw, Some(result), &states, vars, entered_id)
            }
            Kind::Parallel { branches } => {
                let args = match &st.arguments {
                    Some(t) => self.eval_jsonata_template(t, &states, vars, "Arguments", name, entered_id)?,
                    None => raw.clone(),
                };
                let result = self.parallel(st, branches, args, vars)?;
                let states = self.jsonata_states(sc, raw, Some(&result), None);
                self.jsonata_finish(st, raw, Some(result), &states, vars, entered_id)
            }
            Kind::Map(map) => {
                let items = match &map.items {
                    _ if map.item_reader.is_some() => {
                        let mut reader = map.item_reader.clone().unwrap_or_default();
                        let params = match &map.item_reader_params {
                            Some(t) => self.eval_jsonata_template(t, &states, vars, "ItemReader/Arguments", name, entered_id)?,
                            None => Value::Object(Map::new()),
                        };
                        let max = reader.pointer("/ReaderConfig/MaxItems").and_then(Value::as_str).map(str::to_string);
                        if let Some(src) = max {
                            if let Some(Ok(expr)) = crate::query::jsonata_template(&src) {
                                let v = self.jsonata_eval(&expr, &states, vars, "ItemReader/ReaderConfig/MaxItems", name, entered_id)?;
                                if let Some(cfg) = reader.get_mut("ReaderConfig").and_then(Value::as_object_mut) {
                                    cfg.insert("MaxItems".into(), v);
                                }
                            }
                        }
                        self.services.read_items(&reader, &params).map_err(|e| Failure::new(e.error, e.cause))?
                    }
                    Some(Template::Jsonata(e)) => {
                        let d = Dyn::Jsonata(e.clone());
                        self.jsonata_dyn(&d, &states, vars, "Items", name, entered_id, |v| v.as_array().cloned(), "array")?
                    }
                    Some(t) => match self.eval_jsonata_template(t, &states, vars, "Items", name, entered_id)? {
                        Value::Array(a) => a,
                        other => {
                            return Err(Failure::new(
                                "States.QueryEvaluationError",
                                Some(self.runtime_cause(name, entered_id, &format!("The Items field must be an array, but was '{}'.", intrinsics::type_name(&other)))),
                            ))
                        }
                    },
                    None => match raw {
                        Value::Array(a) => a.clone(),
                        other => {
                            return Err(Failure::new(
                                "States.QueryEvaluationError",
                                Some(self.runtime_cause(
                                    name,
                                    entered_id,
                                    &format!("Map state input must be an array but was: {}", intrinsics::to_json_text(other)),
                                )),
                            ))
                        }
                    },
                };
                let now = self.clock.now_millis();
                self.history.push(now, "MapStateStarted", json!({"length": items.len()}));
                let mut results = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let isc = StateCtx { name: sc.name, entered_ms: sc.entered_ms, retry_count: 0, map_item: Some((index, item)), task_token: None };
                    let item_input = match &map.item_selector {
                        Some(t) => {
                            let s = self.jsonata_states(&isc, raw, None, None);
                            self.eval_jsonata_template(t, &s, vars, "ItemSelector", name, entered_id)?
                        }
                        None => item.clone(),
                    };
                    let mut inner = Vars { local: HashMap::new(), parent: Some(&*vars) };
                    results.push(self.run_machine(&map.processor, item_input, &mut inner, Some((index, item)))?);
                }
                let result = Value::Array(results);
                let states = self.jsonata_states(sc, raw, Some(&result), None);
                self.jsonata_finish(st, raw, Some(result), &states, vars, entered_id)
            }
        }
    }

    /// Output (default: the result, or the input for states without one), then Assign.
    fn jsonata_finish(&mut self, st: &State, raw: &Value, result: Option<Value>, states: &Value, vars: &mut Vars<'_>, entered_id: u64) -> Result<Flow, Failure> {
        let out = match &st.output {
            Some(t) => self.eval_jsonata_template(t, states, vars, "Output", &st.name, entered_id)?,
            None => result.unwrap_or_else(|| raw.clone()),
        };
        if let Some(a) = &st.assign {
            let assigned = self.eval_jsonata_template(a, states, vars, "Assign", &st.name, entered_id)?;
            self.apply_assign(assigned, vars);
        }
        Ok(self.next_flow(st, out))
    }
}


fn unreachable_fail() -> Result<Flow, Failure> {
    Err(Failure::runtime("internal: Fail state reached the generic path".into()))
}

fn call_reads_context(call: &intrinsics::Call) -> bool {
    call.args.iter().any(|a| match a {
        intrinsics::Arg::Path(p) => p.root == Root::Context,
        intrinsics::Arg::Call(c) => call_reads_context(c),
        intrinsics::Arg::Literal(_) => false,
    })
}

/// The service part of a resource ARN: `lambda` for `arn:aws:states:::lambda:invoke`.
pub fn service_name(resource: &str) -> &str {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() > 5 && parts[2] == "states" && parts[5] == "aws-sdk" {
        return parts.get(6).copied().unwrap_or("");
    }
    if parts.len() > 5 && parts[2] == "states" {
        return parts[5];
    }
    parts.get(2).copied().unwrap_or("")
}

/// Does an error name match a retrier's or catcher's ErrorEquals?
/// `States.ALL` matches everything but `States.Runtime` (terminal, filtered
/// earlier); `States.TaskFailed` matches everything but `States.Timeout`.
pub fn error_matches(errors: &[String], error: &str) -> bool {
    errors.iter().any(|e| match e.as_str() {
        "States.ALL" => error != "States.Runtime",
        "States.TaskFailed" => error != "States.Timeout" && error != "States.Runtime" && error != "States.DataLimitExceeded",
        other => other == error,
    })
}

#[cfg(test)]
mod fidelity_tests {
    use super::*;

    /// Every task returns one string just over the 256 KiB payload limit.
    struct Oversized;
    impl Services for Oversized {
        fn call(&mut self, _call: &TaskCall<'_>, _clock: &mut dyn Clock) -> Result<Value, TaskError> {
            Ok(Value::String("a".repeat(257 * 1024)))
        }
    }

    fn oversized_cause(resource: &str) -> Option<Value> {
        let text = format!(
            r#"{{"StartAt":"Call","States":{{"Call":{{"Type":"Task","Resource":"{resource}","Catch":[{{"ErrorEquals":["States.ALL"],"Next":"Caught"}}],"End":true}},"Caught":{{"Type":"Pass","End":true}}}}}}"#
        );
        let (def, _) = crate::load_definition(&text, &Default::default());
        let out = run(&def.expect("definition"), json!({}), &ExecutionConfig::default(), &mut Oversized, &mut VirtualClock { now: 0 }, false);
        out.output.and_then(|o| o.get("Cause").cloned())
    }

    // Recorded by AWS (LocalStack test_states_errors): an oversized result is
    // blamed on the function's ARN for a direct Lambda resource, and on the
    // service name ('lambda') for the lambda:invoke integration.
    #[test]
    fn data_limit_cause_names_the_function_arn_or_the_service() {
        let arn = "arn:aws:lambda:us-east-1:111111111111:function:big";
        assert_eq!(
            oversized_cause(arn),
            Some(json!(format!("The state/task '{arn}' returned a result with a size exceeding the maximum number of bytes service limit.")))
        );
        assert_eq!(
            oversized_cause("arn:aws:states:::lambda:invoke"),
            Some(json!("The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."))
        );
    }
}
