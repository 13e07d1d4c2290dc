//! The interpreter: runs a `Definition` against a `Services` implementation
//! and a `Clock`, producing AWS's outcome and (optionally) its history.
//!
//! An execution is a value ([`Execution`]): everything a run needs between
//! two steps (the frames of machines and states, data, variable scopes, retry
//! counters, pending branches and iterations, history, RNG state, transition
//! count, deadlines) is held in it, serialisable with serde. A driver calls
//! [`Execution::step`]; the engine runs until nothing can progress without
//! the outside world and returns what it waits for ([`Step::Waiting`]: timers,
//! task answers, callback tokens, activities), or the outcome. The driver
//! answers with [`Execution::resume`] (or the token functions) and steps
//! again, in the same process or after deserialising. [`run`] is the
//! driver for virtual or real time over a synchronous `Services`.
//!
//! Everything observable follows AWS: the order of data processing within a
//! state, error names and causes (including the event id in
//! "entered at the event id #N"), which errors `States.ALL` can catch, retry
//! timing, and the quotas. The engine does no I/O itself.

mod interp;
pub mod probe;

use crate::definition::Definition;
use crate::history::History;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use interp::{error_matches, service_name, test_state, Execution};
pub use probe::{Inspection, TestReport, TestStateError, TestStateOptions, TestStatus};

/// AWS's payload quota: 256 KiB of UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// A Standard execution fails once its history would exceed this many events.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// An Express execution may run for five minutes.
pub const EXPRESS_LIMIT_MS: i64 = 300_000;
/// A Standard execution may run for one year
/// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
pub const STANDARD_LIMIT_MS: i64 = 365 * 24 * 3600 * 1000;
/// A stopped execution can be redriven for 14 days
/// (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html).
pub const REDRIVE_WINDOW_MS: i64 = 14 * 24 * 3600 * 1000;
/// Express executions have no history quota; a definition that loops without
/// ever waiting would run until the five-minute limit on AWS. Locally it is
/// timed out after this many transitions instead of spinning for five minutes.
pub const EXPRESS_MAX_TRANSITIONS: u64 = 1_000_000;
/// Iterations an inline Map runs at once when MaxConcurrency is 0 or absent
/// ("Inline mode supports up to 40 concurrent iterations",
/// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html).
pub const INLINE_MAP_CONCURRENCY: usize = 40;
/// Child executions a Distributed Map runs at once by default
/// (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html).
pub const DISTRIBUTED_MAP_CONCURRENCY: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionType {
    Standard,
    Express,
}

/// Who and where: used for `$$` and every ARN the run produces.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecutionConfig {
    pub region: String,
    pub partition: String,
    pub account: String,
    pub state_machine_name: String,
    pub execution_name: String,
    pub role_arn: Option<String>,
    pub execution_type: ExecutionType,
    pub seed: u64,
    /// `Some(seed)`: branches and iterations that could run at the same time
    /// interleave in an order this seed chooses (a fiber may give up its turn
    /// after any state), so `simulate` explores and replays the orders a real
    /// run could take. `None` (the default, and what `run`, `test`, serve and
    /// conformance use): each runs in order until it blocks.
    #[serde(default)]
    pub interleave: Option<u64>,
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
            interleave: None,
        }
    }
}

impl ExecutionConfig {
    pub fn state_machine_arn(&self) -> String {
        format!("arn:{}:states:{}:{}:stateMachine:{}", self.partition, self.region, self.account, self.state_machine_name)
    }
    /// Standard: `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`.
    /// Express: `arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:UUID`
    /// (nine colon-separated parts; the UUID is derived from the seed so a
    /// run replays).
    pub fn execution_arn(&self) -> String {
        match self.execution_type {
            ExecutionType::Standard => format!(
                "arn:{}:states:{}:{}:execution:{}:{}",
                self.partition, self.region, self.account, self.state_machine_name, self.execution_name
            ),
            ExecutionType::Express => {
                let mut rng = crate::rng::SplitMix64::new(self.seed ^ 0x4558_5052_4553_5321);
                let uuid = crate::rng::uuid_v4(rng.next_u64(), rng.next_u64());
                format!(
                    "arn:{}:states:{}:{}:express:{}:{}:{uuid}",
                    self.partition, self.region, self.account, self.state_machine_name, self.execution_name
                )
            }
        }
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
    /// `$$.Task.Token` for `.waitForTaskToken` resources and activities.
    pub task_token: Option<String>,
}

/// A failed service call: the error name and cause Step Functions reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    pub error: String,
    pub cause: Option<String>,
}

/// A Distributed Map's Map Run, as DescribeMapRun shows it
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html):
/// kept in the execution value and updated as its iterations run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MapRunRecord {
    /// `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID`.
    pub map_run_arn: String,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE/LABEL` (ListMapRuns).
    pub state_machine_arn: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// RUNNING, SUCCEEDED, FAILED or ABORTED.
    pub status: String,
    /// 0: no limit given (AWS shows 0 then).
    pub max_concurrency: u64,
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: f64,
    /// UpdateMapRun changed the tolerated failures: they apply from now on.
    pub tolerance_updated: bool,
    pub total: u64,
    pub pending: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub aborted: u64,
    /// Its child executions, one per started iteration in item order, which ListExecutions
    /// lists with `mapRunArn`.
    #[serde(default)]
    pub children: Vec<MapRunChild>,
    /// What DescribeExecution shows of each child (index-aligned with `children`): its
    /// input, then its output or error and cause. Kept apart so that `children` stays small.
    #[serde(default)]
    pub child_data: Vec<ChildData>,
    /// In a copy kept by [`MapRunRecord::update_copy`]: how many leading children had
    /// ended when it was last brought up to date (those never change again).
    #[serde(skip)]
    pub settled: usize,
}

/// One child execution of a Map Run: (item index, items it processed, start ms, stop ms,
/// status). Small on purpose: a 100,000-item run keeps 100,000 of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapRunChild(pub u64, pub u64, pub i64, pub Option<i64>, pub ChildStatus);

/// A child execution's input and result (JSON texts), for DescribeExecution of its ARN.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildData {
    pub input: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl ChildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChildStatus::Running => "RUNNING",
            ChildStatus::Succeeded => "SUCCEEDED",
            ChildStatus::Failed => "FAILED",
            ChildStatus::Aborted => "ABORTED",
        }
    }
}

impl MapRunRecord {
    /// A Map Run that has just started over `total` items: RUNNING, all of them pending,
    /// with no concurrency limit or tolerated failures (set them on the result).
    pub fn new(map_run_arn: String, state_machine_arn: String, start_ms: i64, total: u64) -> Self {
        MapRunRecord {
            map_run_arn,
            state_machine_arn,
            start_ms,
            stop_ms: None,
            status: "RUNNING".into(),
            max_concurrency: 0,
            tolerated_failure_count: 0,
            tolerated_failure_percentage: 0.0,
            tolerance_updated: false,
            total,
            pending: total,
            running: 0,
            succeeded: 0,
            failed: 0,
            aborted: 0,
            children: Vec::new(),
            child_data: Vec::new(),
            settled: 0,
        }
    }

    /// The ARN of the child execution of item `index`:
    /// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE/LABEL:NAME`, NAME a UUID made from
    /// the Map Run's and the index (AWS names children with UUIDs; these are stable).
    pub fn child_execution_arn(&self, index: u64) -> String {
        let base = self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1);
        format!("{base}:{}", self.child_name(index))
    }

    pub fn child_name(&self, index: u64) -> String {
        let run = self.map_run_arn.rsplit(':').next().unwrap_or("");
        let seed = run.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        crate::rng::uuid_v4(seed, index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Brings `copy`, an earlier copy of this record, up to date without copying every
    /// child again: children are only ever appended, and only running ones change, so
    /// only those from the copy's first unsettled one on are copied. serve keeps such a
    /// copy of each running execution's Map Runs and updates it after every step, which
    /// with whole clones would cost the run's size at each step.
    pub fn update_copy(&self, copy: &mut MapRunRecord) {
        let mut children = std::mem::take(&mut copy.children);
        let mut child_data = std::mem::take(&mut copy.child_data);
        let mut settled = copy.settled.min(children.len()).min(self.children.len());
        children.truncate(self.children.len());
        child_data.truncate(self.child_data.len());
        // A child's data changes when its status does; a record restored from a checkpoint
        // without data has fewer entries, which are copied from where they stop.
        let data_from = settled.min(child_data.len());
        for (k, c) in self.children.iter().enumerate().skip(settled) {
            match children.get_mut(k) {
                Some(kept) => *kept = c.clone(),
                None => children.push(c.clone()),
            }
        }
        for (k, d) in self.child_data.iter().enumerate().skip(data_from) {
            match child_data.get_mut(k) {
                Some(kept) => *kept = d.clone(),
                None => child_data.push(d.clone()),
            }
        }
        while children.get(settled).is_some_and(|c| c.4 != ChildStatus::Running) {
            settled += 1;
        }
        *copy = MapRunRecord {
            map_run_arn: self.map_run_arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            start_ms: self.start_ms,
            stop_ms: self.stop_ms,
            status: self.status.clone(),
            max_concurrency: self.max_concurrency,
            tolerated_failure_count: self.tolerated_failure_count,
            tolerated_failure_percentage: self.tolerated_failure_percentage,
            tolerance_updated: self.tolerance_updated,
            total: self.total,
            pending: self.pending,
            running: self.running,
            succeeded: self.succeeded,
            failed: self.failed,
            aborted: self.aborted,
            children,
            child_data,
            settled,
        };
    }

    /// Marks the child of item `index` ended.
    pub fn child_ended(&mut self, index: u64, now: i64, status: ChildStatus) {
        if let Ok(k) = self.children.binary_search_by_key(&index, |c| c.0) {
            self.children[k].3 = Some(now);
            self.children[k].4 = status;
        }
    }

    /// Records what the child of item `index` ended with: its output, or its error and cause.
    pub fn child_result(&mut self, index: u64, output: Option<String>, error: Option<(String, Option<String>)>) {
        if let Ok(k) = self.children.binary_search_by_key(&index, |c| c.0) {
            if let Some(d) = self.child_data.get_mut(k) {
                d.output = output;
                if let Some((e, c)) = error {
                    d.error = Some(e);
                    d.cause = c;
                }
            }
        }
    }

    /// The child whose execution ARN this is: its record and data.
    pub fn child_by_arn(&self, arn: &str) -> Option<(&MapRunChild, Option<&ChildData>)> {
        let base = self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1);
        let name = arn.strip_prefix(base.as_str())?.strip_prefix(':')?;
        self.children.iter().enumerate().find(|(_, c)| self.child_name(c.0) == name).map(|(k, c)| (c, self.child_data.get(k)))
    }

    /// DescribeMapRun's `itemCounts` / `executionCounts` (one child execution per item
    /// here: ItemBatcher batches count as their items' executions).
    pub fn counts(&self) -> Value {
        serde_json::json!({
            "pending": self.pending, "running": self.running, "succeeded": self.succeeded, "failed": self.failed,
            "timedOut": 0, "aborted": self.aborted, "total": self.total,
            "resultsWritten": if self.stop_ms.is_some() { self.succeeded + self.failed } else { 0 },
        })
    }
}

/// How a `states:startExecution` task waits for its child
/// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildPattern {
    /// Request Response: the task ends with StartExecution's answer; the child runs on.
    Async,
    /// `.sync`: the task ends with the child, its Input and Output as JSON text.
    Sync,
    /// `.sync:2`: the task ends with the child, its Input and Output parsed.
    Sync2,
    /// `.waitForTaskToken`: the task waits for SendTaskSuccess/Failure with its token.
    Callback,
}

/// A child execution a `states:startExecution` task asks its driver to start: the
/// child is an execution of its own (its own value, record and history), started and
/// driven by whoever drives the parent ([`run`], serve).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChildStart {
    pub state_machine_arn: String,
    pub execution_arn: String,
    /// The child's `$$.Execution` / `$$.StateMachine`.
    pub config: ExecutionConfig,
    pub input: Value,
    pub pattern: ChildPattern,
    pub start_ms: i64,
    /// The parent's execution ARN (set by the engine).
    #[serde(default)]
    pub parent_execution_arn: String,
    /// `.sync` / `.sync:2`: the parent's wait, answered with [`child_answer`] when the
    /// child ends (set by the engine).
    #[serde(default)]
    pub wait: Option<u64>,
}

/// What a `.sync` / `.sync:2` parent task receives when its child ended: the child's
/// DescribeExecution fields (Input/Output as JSON text for `.sync`, parsed for
/// `.sync:2`) on success; `States.TaskFailed` with those fields (Error and Cause among
/// them) as the cause when the child failed, timed out or was aborted
/// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html).
pub fn child_answer(child: &ChildStart, out: &Outcome) -> Answer {
    let parsed = child.pattern == ChildPattern::Sync2;
    let text_or_value = |v: &Value| if parsed { v.clone() } else { Value::String(v.to_string()) };
    let mut r = serde_json::Map::new();
    r.insert("ExecutionArn".into(), Value::String(child.execution_arn.clone()));
    r.insert("Input".into(), text_or_value(&child.input));
    r.insert("InputDetails".into(), serde_json::json!({"Included": true}));
    r.insert("Name".into(), Value::String(child.config.execution_name.clone()));
    if out.status == Status::Succeeded {
        r.insert("Output".into(), text_or_value(out.end.output.as_ref().unwrap_or(&Value::Null)));
        r.insert("OutputDetails".into(), serde_json::json!({"Included": true}));
    }
    r.insert("StartDate".into(), Value::String(crate::time::format_iso8601_millis(out.start_millis)));
    r.insert("StateMachineArn".into(), Value::String(child.state_machine_arn.clone()));
    r.insert("Status".into(), Value::String(out.status.as_str().into()));
    r.insert("StopDate".into(), Value::String(crate::time::format_iso8601_millis(out.stop_millis)));
    if out.status == Status::Succeeded {
        return Answer::Success(Value::Object(r));
    }
    if let Some(e) = &out.end.error {
        r.insert("Error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &out.end.cause {
        r.insert("Cause".into(), Value::String(c.clone()));
    }
    Answer::Failure { error: "States.TaskFailed".into(), cause: Some(Value::Object(r).to_string()) }
}

/// How a service takes a task it was handed.
pub enum TaskStart {
    /// Answered now (a request-response call, or a callback/activity the
    /// service answers itself, as a Step Functions Local mock does).
    Done(Result<Value, TaskError>),
    /// Answered later: the driver resumes the execution with the task's wait
    /// id or its token. `submitted` is the integration's own response to a
    /// `.waitForTaskToken` call (AWS records it in a TaskSubmitted event).
    Pending { submitted: Option<Value> },
    /// `states:startExecution`: the driver starts this child execution (see [`ChildStart`]).
    Child(Box<ChildStart>),
}

/// How Task states reach services. The default fails as AWS does when it
/// cannot call a resource.
pub trait Services {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError>;

    /// Hands a task over. The default answers at once through `call`, so a
    /// synchronous `Services` needs nothing else; a driver that answers
    /// callbacks, activities or child executions later returns `Pending`.
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        TaskStart::Done(self.call(call, clock))
    }

    /// Called after each state exits: a driver may pause the execution here
    /// (interleaving executions in tests and simulations). Default: nothing.
    fn state_exited(&mut self, state: &str) {
        let _ = state;
    }

    /// The definition of a state machine a child execution runs (`TaskStart::Child`),
    /// for drivers that run children themselves ([`run`]). Default: none.
    fn child_definition(&mut self, state_machine_arn: &str) -> Option<std::sync::Arc<Definition>> {
        let _ = state_machine_arn;
        None
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// How an execution ended, as DescribeExecution shows it: its output when it succeeded,
/// otherwise its error and cause (either may be absent: StopExecution can give neither).
/// The engine's [`Outcome`], serve's execution records, `simulate`'s records and the
/// TestState report each keep it beside a status of their own (serve's and simulate's
/// can also be RUNNING, TestState's CAUGHT_ERROR or RETRIABLE).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ending {
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    /// Flattened: a checkpoint keeps `output`, `error` and `cause` beside `status`.
    #[serde(flatten)]
    pub end: Ending,
    pub history: History,
    /// State names in the order they were entered (top level and nested).
    pub path: Vec<String>,
    pub start_millis: i64,
    pub stop_millis: i64,
    /// The state whose failure ended an unsuccessful execution, with its position
    /// in the definition (drivers print `file:line:col`).
    #[serde(default)]
    pub failed_state: Option<FailedState>,
}

/// Where an unsuccessful execution stopped (`Execution::failed_state`):
/// drivers print `file:line:col`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedState {
    pub name: String,
    pub line: usize,
    pub col: usize,
}

/// What `step` returns.
#[derive(Clone, Debug)]
pub enum Step {
    Done(Box<Outcome>),
    /// Nothing can progress until one of these is answered or its deadline
    /// (milliseconds on the execution's clock) passes; step again then.
    Waiting(Vec<Wait>),
}

/// One thing the execution waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    pub id: u64,
    pub kind: WaitKind,
    /// When the engine stops waiting by itself (a timer fires, a task times
    /// out, the execution times out). `None`: only an answer ends it.
    pub deadline: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WaitKind {
    /// A Wait state or a retry back-off.
    Timer,
    /// A task handed to `Services::start_task` that answered `Pending`:
    /// a `.waitForTaskToken` callback, an activity, a `.sync` child execution.
    Task { state: String, resource: String, token: Option<String>, heartbeat_seconds: Option<f64> },
    /// The execution's own TimeoutSeconds (or the Express five-minute limit).
    ExecutionTimeout,
}

/// An answer to a `WaitKind::Task`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure.
    Failure { error: String, cause: Option<String> },
    /// SendTaskHeartbeat: restarts the HeartbeatSeconds countdown.
    Heartbeat,
}

/// Why `resume` (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat)
/// refused an answer: AWS's error codes, for a front door to map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// The token is not one this engine issued (`InvalidToken`).
    InvalidToken(String),
    /// The task was answered already, cancelled, or its execution ended (`TaskDoesNotExist`).
    TaskDoesNotExist(String),
    /// The task timed out before the answer came (`TaskTimedOut`).
    TaskTimedOut(String),
}

impl ResumeError {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            ResumeError::InvalidToken(_) => "InvalidToken",
            ResumeError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            ResumeError::TaskTimedOut(_) => "TaskTimedOut",
        }
    }
    pub fn message(&self) -> &str {
        match self {
            ResumeError::InvalidToken(m) | ResumeError::TaskDoesNotExist(m) | ResumeError::TaskTimedOut(m) => m,
        }
    }
}

/// Why a redrive was refused (AWS's RedriveExecution errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedriveError {
    /// `ExecutionNotRedrivable`, `ExecutionLimitExceeded`, ...
    pub code: &'static str,
    pub message: String,
}

/// Who answers the tasks an execution leaves pending, for drivers that run an
/// execution to completion in one go (`asl-sim test`'s `callbacks` section).
pub trait Answerer {
    /// Asked once for each task wait when it first appears: the answers to
    /// deliver, each with its delay in milliseconds after that moment, in
    /// order. Empty: nobody answers (the task times out, or the execution).
    fn answers(&mut self, wait: &Wait) -> Vec<(i64, Answer)>;
}

/// Nobody answers: `.waitForTaskToken` tasks and activities time out.
pub struct NoAnswers;

impl Answerer for NoAnswers {
    fn answers(&mut self, _wait: &Wait) -> Vec<(i64, Answer)> {
        Vec::new()
    }
}

/// Runs `def` on `input` to completion: the driver for a synchronous
/// `Services`. Timers are waited on `clock` (a virtual clock jumps to the
/// earliest deadline, a real one sleeps); a task left pending with no
/// deadline at all ends at the Standard one-year limit.
pub fn run(
    def: &Definition,
    input: Value,
    config: &ExecutionConfig,
    services: &mut dyn Services,
    clock: &mut dyn Clock,
    record_history: bool,
) -> Outcome {
    run_answering(def, input, config, services, clock, record_history, &mut NoAnswers)
}

/// Child executions nested deeper than this fail the task that would start one
/// (a machine that starts itself would otherwise recurse without end; AWS documents
/// no depth limit, only the account's open-execution quota).
pub const MAX_CHILD_DEPTH: usize = 16;

/// One execution [`run_answering`] drives: the top-level one or a child.
struct Driven {
    exec: Execution,
    /// `None`: the top-level definition.
    def: Option<std::sync::Arc<Definition>>,
    /// The child's start request (`None` for the top-level execution) and its
    /// parent's index.
    child: Option<(ChildStart, usize)>,
    depth: usize,
    done: bool,
}

/// Stops the `.sync` children whose parent no longer waits for them; answers whether any.
fn stop_orphans(all: &mut [Driven], def: &Definition, now: i64) -> bool {
    let mut stopped = false;
    for c in 1..all.len() {
        let orphaned = match &all[c].child {
            Some((child, parent)) if !all[c].done => child.wait.is_some_and(|w| !all[*parent].exec.waits_on(w)),
            _ => false,
        };
        if orphaned {
            let d = &mut all[c];
            let definition: &Definition = d.def.as_deref().unwrap_or(def);
            d.exec.stop(definition, None, None, now);
            d.done = true;
            stopped = true;
        }
    }
    stopped
}

/// `run`, with pending tasks answered by `answerer` on `clock`'s time.
///
/// Child executions (`states:startExecution`) are executions of their own, driven by
/// this same loop on the same clock: a `.sync` parent waits (its siblings go on) and
/// is resumed with [`child_answer`] when its child ends; a parent whose `.sync` task
/// ends first (stopped, timed out, cancelled by a failing sibling) stops its child,
/// as Step Functions does with the StopExecution that its `.sync` integration's IAM
/// policy grants (https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html).
/// A fire-and-forget or callback child runs on by itself. The outcome is the
/// top-level execution's; children still running when it ends are not waited for.
pub fn run_answering(
    def: &Definition,
    input: Value,
    config: &ExecutionConfig,
    services: &mut dyn Services,
    clock: &mut dyn Clock,
    record_history: bool,
    answerer: &mut dyn Answerer,
) -> Outcome {
    run_with_children(def, input, config, services, clock, record_history, answerer).0
}

/// A child execution [`run_with_children`] ran: how it was started and how it ended
/// (`None`: still running when the top-level execution ended).
pub type ChildRun = (ChildStart, Option<Outcome>);

/// `run_answering`, also answering the child executions it ran, in the order they started.
pub fn run_with_children(
    def: &Definition,
    input: Value,
    config: &ExecutionConfig,
    services: &mut dyn Services,
    clock: &mut dyn Clock,
    record_history: bool,
    answerer: &mut dyn Answerer,
) -> (Outcome, Vec<ChildRun>) {
    let root = Execution::start(def, input, config.clone(), clock.now_millis(), record_history);
    let mut all = vec![Driven { exec: root, def: None, child: None, depth: 0, done: false }];
    let mut asked = std::collections::HashSet::new();
    // (due, execution index, wait id, answer), in the order they were scheduled.
    let mut scheduled: Vec<(i64, usize, u64, Answer)> = Vec::new();
    loop {
        let mut deadlines: Vec<i64> = Vec::new();
        let mut progressed = false;
        let mut i = 0;
        while i < all.len() {
            if all[i].done {
                i += 1;
                continue;
            }
            let step = {
                let d = &mut all[i];
                let definition: &Definition = d.def.as_deref().unwrap_or(def);
                d.exec.step(definition, services, clock)
            };
            for child in all[i].exec.take_children() {
                progressed = true;
                let depth = all[i].depth + 1;
                let found = (depth <= MAX_CHILD_DEPTH).then(|| services.child_definition(&child.state_machine_arn)).flatten();
                match found {
                    Some(child_def) => {
                        let exec = Execution::start(&child_def, child.input.clone(), child.config.clone(), child.start_ms.max(clock.now_millis()), record_history);
                        all.push(Driven { exec, def: Some(child_def), child: Some((child, i)), depth, done: false });
                    }
                    None => {
                        if let Some(w) = child.wait {
                            let why = if depth > MAX_CHILD_DEPTH { "child executions nest too deeply" } else { "the state machine of the child execution is not known" };
                            let _ = all[i].exec.resume(w, Answer::Failure { error: "States.Runtime".into(), cause: Some(why.into()) }, clock.now_millis());
                        }
                    }
                }
            }
            match step {
                Step::Done(outcome) => {
                    all[i].done = true;
                    progressed = true;
                    let answer = all[i].child.as_ref().and_then(|(child, parent)| child.wait.map(|w| (*parent, w, child_answer(child, &outcome))));
                    if let Some((parent, w, answer)) = answer {
                        let _ = all[parent].exec.resume(w, answer, clock.now_millis());
                    }
                    if i == 0 {
                        while stop_orphans(&mut all, def, clock.now_millis()) {}
                        let children = all.into_iter().skip(1).filter_map(|d| d.child.map(|(c, _)| (c, d.exec.outcome().cloned()))).collect();
                        return (*outcome, children);
                    }
                }
                Step::Waiting(waits) => {
                    let now = clock.now_millis();
                    for w in &waits {
                        if matches!(w.kind, WaitKind::Task { .. }) && asked.insert((i, w.id)) {
                            scheduled.extend(answerer.answers(w).into_iter().map(|(delay, a)| (now + delay.max(0), i, w.id, a)));
                        }
                    }
                    deadlines.extend(waits.iter().filter_map(|w| w.deadline));
                }
            }
            i += 1;
        }
        // `.sync` children whose parent task is gone (the parent ended, or the task
        // timed out or was cancelled) are stopped.
        progressed |= stop_orphans(&mut all, def, clock.now_millis());
        let now = clock.now_millis();
        let (due, later): (Vec<_>, Vec<_>) = scheduled.drain(..).partition(|(at, _, _, _)| *at <= now);
        scheduled = later;
        if !due.is_empty() {
            for (_, i, id, answer) in due {
                // A task cancelled or timed out before its answer refuses it,
                // as AWS refuses a late SendTask*; the execution goes on.
                let _ = all[i].exec.resume(id, answer, now);
            }
            continue;
        }
        if progressed {
            continue;
        }
        let next_answer = scheduled.iter().map(|(at, _, _, _)| *at).min();
        match deadlines.into_iter().chain(next_answer).min() {
            Some(at) if at > now => clock.sleep(at - now),
            Some(_) => {}
            None => {
                // Nobody will answer and nothing expires before AWS's
                // own maximum duration: time out there.
                let at = (all[0].exec.start_millis() + STANDARD_LIMIT_MS).max(now);
                clock.sleep(at - now);
                all[0].exec.time_out(clock.now_millis());
            }
        }
    }
}

#[cfg(test)]
mod fidelity_tests;

#[cfg(test)]
mod map_run_copy_tests {
    use super::*;

    fn record() -> MapRunRecord {
        MapRunRecord::new(
            "arn:aws:states:us-east-1:123456789012:mapRun:m/L:3c1b".into(),
            "arn:aws:states:us-east-1:123456789012:stateMachine:m/L".into(),
            0,
            6,
        )
    }

    /// A copy kept up to date step by step equals the record, whatever ends in whatever order.
    #[test]
    fn an_updated_copy_equals_the_record() {
        let mut r = record();
        let mut copy = r.clone();
        for i in 0..6u64 {
            r.children.push(MapRunChild(i, 1, i as i64, None, ChildStatus::Running));
            r.child_data.push(ChildData { input: i.to_string(), ..Default::default() });
            r.pending -= 1;
            r.update_copy(&mut copy);
            if i % 2 == 1 {
                r.child_ended(i, 10 + i as i64, ChildStatus::Succeeded);
                r.child_result(i, Some(format!("\"{i}\"")), None);
            }
            if i == 3 {
                r.child_ended(0, 20, ChildStatus::Failed);
            }
            r.update_copy(&mut copy);
            assert_eq!(copy.children, r.children, "after item {i}");
            assert_eq!(copy.pending, r.pending);
            assert_eq!(copy.child_data, r.child_data, "after item {i}");
        }
        r.child_ended(2, 30, ChildStatus::Succeeded);
        r.child_ended(4, 31, ChildStatus::Aborted);
        r.status = "SUCCEEDED".into();
        r.update_copy(&mut copy);
        assert_eq!(copy.children, r.children);
        assert_eq!(copy.settled, 6, "every child ended");
        assert_eq!(copy.status, "SUCCEEDED");
    }

    #[test]
    fn children_have_distinct_stable_names_under_the_label_arn() {
        let r = record();
        assert_eq!(r.child_name(0), r.child_name(0));
        assert_ne!(r.child_name(0), r.child_name(1));
        let arn = r.child_execution_arn(5);
        assert!(arn.starts_with("arn:aws:states:us-east-1:123456789012:execution:m/L:"), "{arn}");
        assert_eq!(arn.rsplit(':').next().unwrap().len(), 36, "a UUID");
    }
}
