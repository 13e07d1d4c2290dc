//! The execution value and the one interpreter that advances it.
//!
//! Shape: an execution is a tree of *fibers*. A fiber runs one machine (the
//! top level, a Parallel branch, a Map iteration) and holds the state it is
//! in as a `StateRun` (the state's raw input, entry time and event id, retry
//! counters, and the `Phase` it is in). A Parallel or Map phase owns its
//! child fibers, so the tree is the index path into the `Definition`: a
//! fiber's machine is found from its parent's state, never by reference.
//! Everything is plain data (serde), so an execution can be parked between
//! steps, in memory or on disk.
//!
//! Control flow is written once per state kind; only the data-flow fields
//! differ between the query languages (`effective`, `arguments`, `finish`).

use super::*;
use super::probe::Probe;
use crate::definition::*;
use crate::intrinsics::{self, Scope};
use crate::path::{self, Path, Root, Selected, Step as PathStep};
use serde_json::{json, Map};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The execution's random stream: SplitMix64 (the same sequence as
/// `asl_aws::ids::SplitMix64`, whose mixing function it uses) with its state
/// in the open so the execution value can be serialised.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }
    fn next_u64(&mut self) -> u64 {
        let out = asl_aws::ids::splitmix64(self.state);
        self.state = self.state.wrapping_add(Self::GAMMA);
        out
    }
    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A failure travelling up the state stack.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    fn timed_out() -> Failure {
        Failure { error: "States.Timeout".into(), cause: None, terminal: Some(Status::TimedOut) }
    }
}

enum Flow {
    Next(usize, Value),
    End(Value),
    /// Next after a Catch: the output was not size-checked (the next state checks its input).
    Caught(usize, Value),
}

/// `Blocked`: waiting for a timer, an answer or children.
enum Progress<T> {
    Blocked,
    Ready(T),
}

/// One variable scope: Map iterations and Parallel branches read the outer
/// scope and write their own.
#[derive(Debug, Default, Serialize, Deserialize)]
struct VarScope {
    parent: Option<usize>,
    vars: HashMap<String, Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Fiber {
    scope: usize,
    /// `$$.Map.Item` of a Map iteration: its index and value.
    item: Option<(usize, Value)>,
    /// The state the fiber is in (or enters next when `run` is `None`).
    cur: usize,
    /// The input of `cur` before it is entered.
    data: Value,
    /// `data` came from outside the fiber (execution input, branch or
    /// iteration input) and has not been size-checked yet; a state's output
    /// is checked when the state exits, so the next state need not again.
    unchecked: bool,
    run: Option<StateRun>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateRun {
    raw: Value,
    entered_ms: i64,
    entered_id: u64,
    retry_counts: Vec<u32>,
    retry_total: u32,
    phase: Phase,
}

#[derive(Debug, Serialize, Deserialize)]
enum Phase {
    /// About to run an attempt (first or retry).
    Attempt,
    /// A retrier's back-off.
    Backoff { wait: u64 },
    /// A Wait state; `effective` is what its Assign and OutputPath read.
    Timer { wait: u64, effective: Value },
    Task(Box<TaskRun>),
    Parallel(Box<ParallelRun>),
    Map(Box<MapRun>),
}

#[derive(Debug, Serialize, Deserialize)]
struct TaskRun {
    wait: u64,
    token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ParallelRun {
    branches: Vec<Option<Fiber>>,
    results: Vec<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MapRun {
    /// The items (or batches); an item is moved into its iteration when it starts.
    items: Vec<Value>,
    /// ItemBatcher was used: `items` are ready inputs, no ItemSelector.
    batched: bool,
    /// What the ItemSelector reads (JSONPath: the effective input; JSONata: the state input).
    effective: Value,
    next: usize,
    limit: usize,
    active: Vec<Fiber>,
    results: Vec<Value>,
    /// Which iterations succeeded (a redrive keeps them).
    succeeded: Vec<bool>,
    /// ResultWriter records: index, input, result, start and stop times.
    records: Vec<MapRecord>,
    failures: usize,
    tolerated_count: Option<f64>,
    tolerated_pct: Option<f64>,
    /// A Distributed Map's Map Run (its index in the execution's `map_runs`).
    #[serde(default)]
    map_run: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MapRecord {
    index: usize,
    input: Value,
    result: Result<Value, (String, Option<String>)>,
    start: i64,
    stop: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WaitRecord {
    kind: WaitKind,
    /// Timers: when they fire. Tasks: TimeoutSeconds.
    timeout_at: Option<i64>,
    heartbeat_ms: Option<i64>,
    heartbeat_at: Option<i64>,
    answer: Option<Answer>,
}

impl WaitRecord {
    fn deadline(&self) -> Option<i64> {
        match (self.timeout_at, self.heartbeat_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Why a token no longer works.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum SpentToken {
    Answered,
    TimedOut,
    Cancelled,
}

/// Everything but the fiber tree (so the tree can be walked while this is borrowed).
#[derive(Debug, Serialize, Deserialize)]
struct Core {
    config: ExecutionConfig,
    rng: SplitMix64,
    history: History,
    input: Value,
    start_ms: i64,
    deadline_ms: Option<i64>,
    transitions: u64,
    path: Vec<String>,
    scopes: Vec<VarScope>,
    free_scopes: Vec<usize>,
    waits: BTreeMap<u64, WaitRecord>,
    next_wait: u64,
    tokens: HashMap<String, u64>,
    spent_tokens: HashMap<String, SpentToken>,
    redrive_count: u32,
    redrive_ms: Option<i64>,
    failed_state: Option<FailedState>,
    /// Where a redrive restarts: the top-level state that did not succeed.
    redrive_point: Option<RedrivePoint>,
    /// The results of a failed Map's iterations (`None`: not successful), for
    /// the top-level Map a redrive restarts.
    failed_map: Option<Vec<Option<Value>>>,
    /// Successful iterations a redriven Map keeps.
    map_resume: Option<Vec<Option<Value>>>,
    /// The interleaving chooser (`ExecutionConfig::interleave`), apart from
    /// `rng` so that choosing an order does not change the ids a run makes.
    #[serde(default)]
    sched: Option<SplitMix64>,
    /// A fiber gave up its turn (not blocked): `step` drives again at once.
    #[serde(skip)]
    yielded: bool,
    /// Set while one state is tested alone (TestState); never part of a stored execution.
    #[serde(skip)]
    probe: Option<Box<Probe>>,
    /// Child executions started since the driver last took them (`take_children`).
    #[serde(default)]
    children: Vec<ChildStart>,
    /// The Distributed Maps' Map Runs, in the order they started.
    #[serde(default)]
    map_runs: Vec<MapRunRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RedrivePoint {
    state: usize,
    input: Value,
    map_results: Option<Vec<Option<Value>>>,
}

/// A running (or finished) execution: a value, serialisable with serde.
///
/// Contract: `start` creates it; `step` advances it until it must wait and
/// returns the waits (or the outcome); `resume`/`send_task_*` deliver
/// answers, which the next `step` acts on; timers and timeouts need no
/// answer, only a `step` once the clock has passed their deadline. The same
/// `Definition` must be passed to every `step` (states are referred to by
/// index).
#[derive(Debug, Serialize, Deserialize)]
pub struct Execution {
    core: Core,
    root: Option<Fiber>,
    /// A failure found before the first state (the input is too large).
    early_failure: Option<Failure>,
    outcome: Option<Outcome>,
}

impl Execution {
    /// A new execution at `now_ms` (ExecutionStarted is recorded then).
    pub fn start(def: &Definition, input: Value, config: ExecutionConfig, now_ms: i64, record_history: bool) -> Execution {
        let mut deadline_ms = def.timeout_seconds.map(|s| now_ms + s as i64 * 1000);
        if config.execution_type == ExecutionType::Express {
            let limit = now_ms + EXPRESS_LIMIT_MS;
            deadline_ms = Some(deadline_ms.map_or(limit, |d| d.min(limit)));
        }
        let mut history = History::new(record_history);
        history.push(
            now_ms,
            "ExecutionStarted",
            json!({"input": crate::history::payload(&input), "inputDetails": {"truncated": false}, "roleArn": config.role()}),
        );
        let early_failure = crate::size::exceeds(&input, MAX_PAYLOAD_BYTES).then(|| Failure {
            error: "States.DataLimitExceeded".into(),
            cause: Some("The state machine input exceeds the maximum number of bytes service limit.".into()),
            terminal: Some(Status::Failed),
        });
        let root = Fiber { scope: 0, item: None, cur: def.machine.start, data: input.clone(), unchecked: true, run: None };
        Execution {
            core: Core {
                rng: SplitMix64::new(config.seed),
                sched: config.interleave.map(SplitMix64::new),
                yielded: false,
                config,
                history,
                input,
                start_ms: now_ms,
                deadline_ms,
                transitions: 0,
                path: Vec::new(),
                scopes: vec![VarScope::default()],
                free_scopes: Vec::new(),
                waits: BTreeMap::new(),
                next_wait: 1,
                tokens: HashMap::new(),
                spent_tokens: HashMap::new(),
                redrive_count: 0,
                redrive_ms: None,
                failed_state: None,
                redrive_point: None,
                failed_map: None,
                map_resume: None,
                probe: None,
                children: Vec::new(),
                map_runs: Vec::new(),
            },
            root: Some(root),
            early_failure,
            outcome: None,
        }
    }

    pub fn start_millis(&self) -> i64 {
        self.core.start_ms
    }

    pub fn config(&self) -> &ExecutionConfig {
        &self.core.config
    }

    /// The history recorded so far (a running execution's, for drivers that show it).
    pub fn history(&self) -> &History {
        &self.core.history
    }

    /// The outcome, once the execution has ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The state whose failure ended the execution (name and position in the definition).
    pub fn failed_state(&self) -> Option<&FailedState> {
        self.core.failed_state.as_ref()
    }

    /// Runs until the execution ends or must wait. `clock` is read for the
    /// current time (services given it may advance it); the engine never
    /// sleeps on it.
    pub fn step(&mut self, def: &Definition, services: &mut dyn Services, clock: &mut dyn Clock) -> Step {
        if let Some(o) = &self.outcome {
            return Step::Done(Box::new(o.clone()));
        }
        let mut root = self.root.take();
        let mut eng = Engine { c: &mut self.core, services, clock };
        let result = if let Some(f) = self.early_failure.take() {
            Some(Err(f))
        } else if eng.past_deadline() {
            Some(Err(Failure::timed_out()))
        } else {
            match root.as_mut() {
                Some(fiber) => loop {
                    match eng.drive(&def.machine, fiber) {
                        // A fiber gave up its turn: the others go first, then it goes on.
                        Progress::Blocked if std::mem::take(&mut eng.c.yielded) => continue,
                        Progress::Blocked => break None,
                        Progress::Ready(r) => break Some(r),
                    }
                },
                None => Some(Err(Failure::runtime("the execution has no state to run".into()))),
            }
        };
        match result {
            Some(r) => {
                if let Some(fiber) = root.take() {
                    if let Some(p) = redrive_point_of(&fiber) {
                        eng.c.redrive_point = Some(p);
                    }
                    eng.discard(&def.machine, fiber);
                }
                let now = eng.clock.now_millis();
                let outcome = finish(&mut self.core, r, now);
                self.outcome = Some(outcome.clone());
                Step::Done(Box::new(outcome))
            }
            None => {
                self.root = root;
                Step::Waiting(self.waits())
            }
        }
    }

    /// Convenience for drivers without a `Clock`: steps at `now_ms`.
    pub fn step_at(&mut self, def: &Definition, services: &mut dyn Services, now_ms: i64) -> Step {
        self.step(def, services, &mut VirtualClock { now: now_ms })
    }

    /// What the execution waits for now (empty once it has ended).
    pub fn waits(&self) -> Vec<Wait> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        let mut out: Vec<Wait> =
            self.core.waits.iter().map(|(id, r)| Wait { id: *id, kind: r.kind.clone(), deadline: r.deadline() }).collect();
        if let Some(d) = self.core.deadline_ms {
            // The execution times out once the clock is past its deadline.
            out.push(Wait { id: 0, kind: WaitKind::ExecutionTimeout, deadline: Some(d + 1) });
        }
        out
    }

    /// Delivers an answer to a `WaitKind::Task` wait; the next `step` acts on it.
    pub fn resume(&mut self, wait_id: u64, answer: Answer, now_ms: i64) -> Result<(), ResumeError> {
        let gone = || ResumeError::TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'".into());
        if self.outcome.is_some() {
            return Err(gone());
        }
        let Some(rec) = self.core.waits.get_mut(&wait_id) else {
            return Err(ResumeError::TaskDoesNotExist(format!("Task does not exist: {wait_id}")));
        };
        if !matches!(rec.kind, WaitKind::Task { .. }) {
            return Err(ResumeError::TaskDoesNotExist(format!("Task does not exist: {wait_id}")));
        }
        if rec.deadline().is_some_and(|d| d <= now_ms) {
            return Err(gone());
        }
        if rec.answer.is_some() {
            return Err(gone());
        }
        match answer {
            Answer::Heartbeat => {
                if let Some(ms) = rec.heartbeat_ms {
                    rec.heartbeat_at = Some(now_ms + ms);
                }
            }
            other => rec.answer = Some(other),
        }
        Ok(())
    }

    fn wait_for_token(&self, token: &str) -> Result<u64, ResumeError> {
        if let Some(id) = self.core.tokens.get(token) {
            return Ok(*id);
        }
        // AWS's documentation names the errors but not their texts for these
        // cases; the texts are those SendTask* answers carry on AWS.
        match self.core.spent_tokens.get(token) {
            Some(_) => Err(ResumeError::TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'".into())),
            None => Err(ResumeError::InvalidToken("Invalid Token: 'Invalid token'".into())),
        }
    }

    /// SendTaskSuccess.
    pub fn send_task_success(&mut self, token: &str, output: Value, now_ms: i64) -> Result<(), ResumeError> {
        let id = self.wait_for_token(token)?;
        self.resume(id, Answer::Success(output), now_ms)
    }

    /// SendTaskFailure.
    pub fn send_task_failure(&mut self, token: &str, error: &str, cause: Option<&str>, now_ms: i64) -> Result<(), ResumeError> {
        let id = self.wait_for_token(token)?;
        self.resume(id, Answer::Failure { error: error.into(), cause: cause.map(str::to_string) }, now_ms)
    }

    /// SendTaskHeartbeat.
    pub fn send_task_heartbeat(&mut self, token: &str, now_ms: i64) -> Result<(), ResumeError> {
        let id = self.wait_for_token(token)?;
        self.resume(id, Answer::Heartbeat, now_ms)
    }

    /// StopExecution: ends a running execution ABORTED (ExecutionAborted with
    /// the error and cause given), cancelling every pending task and timer.
    /// Stopping an ended execution changes nothing.
    pub fn stop(&mut self, def: &Definition, error: Option<&str>, cause: Option<&str>, now_ms: i64) -> &Outcome {
        if self.outcome.is_none() {
            let mut services = NoServices;
            let mut clock = VirtualClock { now: now_ms };
            if let Some(fiber) = self.root.take() {
                self.core.redrive_point = redrive_point_of(&fiber);
                let mut eng = Engine { c: &mut self.core, services: &mut services, clock: &mut clock };
                eng.discard(&def.machine, fiber);
            }
            let f = Failure { error: error.unwrap_or_default().to_string(), cause: cause.map(str::to_string), terminal: Some(Status::Aborted) };
            self.outcome = Some(finish(&mut self.core, Err(f), now_ms));
        }
        self.outcome.as_ref().expect("outcome set above")
    }

    /// RedriveExecution: restarts an unsuccessful Standard execution from the
    /// top-level state that did not succeed, with that state's input; a Map
    /// keeps its successful iterations. Follows
    /// https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html
    /// (Standard only; FAILED, TIMED_OUT or ABORTED; within 14 days of the
    /// stop). The refusal texts are not documented; these say which rule.
    pub fn redrive(&mut self, def: &Definition, now_ms: i64) -> Result<(), RedriveError> {
        let arn = self.core.config.execution_arn();
        let refuse = |why: &str| RedriveError { code: "ExecutionNotRedrivable", message: format!("Execution '{arn}' cannot be redriven: {why}") };
        let Some(outcome) = &self.outcome else { return Err(refuse("it is still running")) };
        if self.core.config.execution_type == ExecutionType::Express {
            return Err(refuse("only Standard workflow executions can be redriven"));
        }
        if outcome.status == Status::Succeeded {
            return Err(refuse("it succeeded"));
        }
        if now_ms - outcome.stop_millis > REDRIVE_WINDOW_MS {
            return Err(refuse("it stopped more than 14 days ago"));
        }
        let Some(point) = self.core.redrive_point.take() else { return Err(refuse("it did not reach a state")) };
        let c = &mut self.core;
        c.redrive_count += 1;
        c.redrive_ms = Some(now_ms);
        c.failed_state = None;
        c.deadline_ms = def.timeout_seconds.map(|s| now_ms + s as i64 * 1000);
        c.map_resume = point.map_results;
        c.history.push(now_ms, "ExecutionRedriven", json!({"redriveCount": c.redrive_count}));
        self.root = Some(Fiber { scope: 0, item: None, cur: point.state, data: point.input, unchecked: true, run: None });
        self.outcome = None;
        Ok(())
    }

    /// The child executions `states:startExecution` tasks started since the last call:
    /// the driver starts each as an execution of its own and, for `.sync` / `.sync:2`,
    /// resumes `wait` with [`child_answer`] once the child ends. (They are part of the
    /// value until taken, so a checkpoint taken before the driver starts them keeps them.)
    pub fn take_children(&mut self) -> Vec<ChildStart> {
        std::mem::take(&mut self.core.children)
    }

    /// Whether the execution still waits on `wait_id` (a `.sync` child's parent task:
    /// when it does not any more, the task was cancelled or timed out, and the driver
    /// stops the child).
    pub fn waits_on(&self, wait_id: u64) -> bool {
        self.outcome.is_none() && self.core.waits.contains_key(&wait_id)
    }

    /// The Map Runs of this execution's Distributed Maps (ListMapRuns, DescribeMapRun).
    pub fn map_runs(&self) -> &[MapRunRecord] {
        &self.core.map_runs
    }

    /// UpdateMapRun: a running Map Run's MaxConcurrency and tolerated failures, applied
    /// from its next step on. Answers whether the Map Run is this execution's.
    pub fn update_map_run(&mut self, map_run_arn: &str, max_concurrency: Option<u64>, count: Option<u64>, percentage: Option<f64>) -> bool {
        let Some(r) = self.core.map_runs.iter_mut().find(|r| r.map_run_arn == map_run_arn) else { return false };
        if let Some(m) = max_concurrency {
            r.max_concurrency = m;
        }
        if count.is_some() || percentage.is_some() {
            r.tolerance_updated = true;
        }
        if let Some(c) = count {
            r.tolerated_failure_count = c;
        }
        if let Some(p) = percentage {
            r.tolerated_failure_percentage = p;
        }
        true
    }

    /// `$$.Execution.RedriveCount`.
    pub fn redrive_count(&self) -> u32 {
        self.core.redrive_count
    }

    /// Ends the execution TIMED_OUT now (a driver's maximum duration).
    pub fn time_out(&mut self, now_ms: i64) {
        if self.outcome.is_none() {
            self.core.waits.clear();
            self.root = None;
            self.outcome = Some(finish(&mut self.core, Err(Failure::timed_out()), now_ms));
        }
    }
}

/// Runs state `state` of `def` alone on `input`, as Step Functions' TestState does
/// (see `probe`): its transition is reported, not followed. Timers (a Wait state) pass
/// on `clock`; a task a service leaves pending is an error.
pub fn test_state(
    def: &Definition,
    state: usize,
    input: Value,
    config: ExecutionConfig,
    options: TestStateOptions,
    services: &mut dyn Services,
    clock: &mut dyn Clock,
) -> Result<TestReport, TestStateError> {
    let mut exec = Execution::start(def, input.clone(), config, clock.now_millis(), false);
    exec.core.scopes[0].vars = options.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    exec.core.probe = Some(Box::new(Probe { options, ..Probe::default() }));
    let st = &def.machine.states[state];
    let mut engine = Engine { c: &mut exec.core, services, clock };
    engine.note(|i| i.input = Some(input.clone()));
    let result = match engine.enter(st, input, true) {
        Err(f) => Err(f),
        Ok(mut run) => loop {
            match engine.advance(st, &mut run, 0, None) {
                Progress::Ready(r) => break r,
                Progress::Blocked => {
                    let waits: Vec<(Option<i64>, bool)> =
                        engine.c.waits.values().map(|w| (w.deadline(), matches!(w.kind, WaitKind::Task { .. }))).collect();
                    if waits.iter().any(|w| w.1) {
                        let Kind::Task(task) = &st.kind else { unreachable_kind() };
                        return Err(TestStateError::Pending { state: st.name.clone(), resource: task.resource.clone() });
                    }
                    let now = engine.now();
                    if let Some(at) = waits.iter().filter_map(|w| w.0).min() {
                        engine.clock.sleep((at - now).max(0));
                    }
                }
            }
        },
    };
    let probe = *exec.core.probe.take().expect("set above");
    let name = |i: usize| def.machine.states[i].name.clone();
    let (status, output, next_state, error) = match result {
        Ok(Flow::Next(i, out)) => (TestStatus::Succeeded, Some(out), Some(name(i)), None),
        Ok(Flow::End(out)) => (TestStatus::Succeeded, Some(out), None, None),
        Ok(Flow::Caught(i, out)) => (TestStatus::CaughtError, Some(out), Some(name(i)), probe.caught),
        Err(f) => {
            let status = if probe.retriable { TestStatus::Retriable } else { TestStatus::Failed };
            (status, None, None, Some(TaskError { error: f.error, cause: f.cause }))
        }
    };
    Ok(TestReport {
        status,
        end: Ending { output, error: error.as_ref().map(|e| e.error.clone()), cause: error.and_then(|e| e.cause) },
        next_state,
        inspection: probe.inspection,
    })
}

/// Where a redrive of an execution stopped while `root` was running restarts.
fn redrive_point_of(root: &Fiber) -> Option<RedrivePoint> {
    let run = root.run.as_ref()?;
    let map_results = match &run.phase {
        Phase::Map(mr) => Some(mr.succeeded.iter().zip(&mr.results).map(|(ok, v)| ok.then(|| v.clone())).collect()),
        _ => None,
    };
    Some(RedrivePoint { state: root.cur, input: run.raw.clone(), map_results })
}

/// Records the closing event and builds the outcome.
fn finish(c: &mut Core, result: Result<Value, Failure>, now: i64) -> Outcome {
    let (status, output, error, cause) = match result {
        Ok(out) => {
            c.history.push(now, "ExecutionSucceeded", json!({"output": crate::history::payload(&out), "outputDetails": {"truncated": false}}));
            c.failed_state = None;
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
            if let Some(cause) = &f.cause {
                details.insert("cause".into(), Value::String(cause.clone()));
            }
            c.history.push(now, ty, Value::Object(details));
            let error = if f.error.is_empty() { None } else { Some(f.error) };
            (status, None, error, f.cause)
        }
    };
    for (token, _) in c.tokens.drain() {
        c.spent_tokens.insert(token, SpentToken::Cancelled);
    }
    c.waits.clear();
    Outcome {
        status,
        end: Ending { output, error, cause },
        history: c.history.clone(),
        path: c.path.clone(),
        start_millis: c.start_ms,
        stop_millis: now,
        failed_state: c.failed_state.clone(),
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
    scope: usize,
}

/// What a number field read by path must hold.
#[derive(Clone, Copy)]
enum NumberKind {
    /// A non-negative number (a Task's `TimeoutSecondsPath`, `HeartbeatSecondsPath`).
    Seconds,
    /// An integer, or a string that parses as one: AWS reads Map's numbers written as
    /// strings too ("1" is a valid integer).
    Integer,
    /// A number, or a string that parses as one.
    Float,
}

impl NumberKind {
    /// How errors and JSONata's checks name the kind.
    fn name(self) -> &'static str {
        match self {
            NumberKind::Seconds | NumberKind::Integer => "integer",
            NumberKind::Float => "float",
        }
    }

    /// The number in `v`, or `None` when `v` is not of this kind.
    fn read(self, v: &Value) -> Option<f64> {
        match (self, v) {
            (NumberKind::Seconds, _) => v.as_f64().filter(|x| *x >= 0.0),
            (NumberKind::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(|i| i as f64),
            (NumberKind::Integer, _) => v.as_f64().filter(|_| v.as_i64().is_some() || v.as_u64().is_some()),
            (NumberKind::Float, Value::String(s)) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            (NumberKind::Float, _) => v.as_f64(),
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => intrinsics::to_json_text(other),
    }
}

/// Which part of `$$` a path reads: building only that part keeps a read of
/// `$$.Map.Item.Value` independent of the size of the execution's input.
#[derive(Clone, Copy, PartialEq)]
enum ContextPart {
    All,
    /// Everything but `Execution.Input`.
    NoInput,
    Map,
}

fn context_part(p: &Path) -> ContextPart {
    match p.steps().as_deref() {
        Some([PathStep::Key("Map"), ..]) => ContextPart::Map,
        Some([PathStep::Key("Execution"), PathStep::Key(k), ..]) if *k != "Input" => ContextPart::NoInput,
        Some([PathStep::Key(k), ..]) if *k != "Execution" => ContextPart::NoInput,
        _ => ContextPart::All,
    }
}

/// The interpreter over one `Core`, for the duration of one step.
struct Engine<'a> {
    c: &'a mut Core,
    services: &'a mut dyn Services,
    clock: &'a mut dyn Clock,
}

impl Engine<'_> {
    /// Records a stage of the tested state's data flow (TestState); nothing otherwise.
    fn note(&mut self, f: impl FnOnce(&mut Inspection)) {
        if let Some(p) = self.c.probe.as_mut() {
            f(&mut p.inspection);
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    fn past_deadline(&self) -> bool {
        self.c.deadline_ms.is_some_and(|d| self.now() > d)
    }

    // ---------------------------------------------------------------
    // Scopes and waits

    fn alloc_scope(&mut self, parent: usize) -> usize {
        let scope = VarScope { parent: Some(parent), vars: HashMap::new() };
        match self.c.free_scopes.pop() {
            Some(i) => {
                self.c.scopes[i] = scope;
                i
            }
            None => {
                self.c.scopes.push(scope);
                self.c.scopes.len() - 1
            }
        }
    }

    fn free_scope(&mut self, id: usize) {
        if id != 0 {
            self.c.scopes[id] = VarScope::default();
            self.c.free_scopes.push(id);
        }
    }

    fn var(&self, scope: usize, name: &str) -> Option<&Value> {
        var_in(&self.c.scopes, scope, name)
    }

    fn all_vars(&self, scope: usize) -> Map<String, Value> {
        let mut chain = Vec::new();
        let mut cur = Some(scope);
        while let Some(s) = cur {
            chain.push(s);
            cur = self.c.scopes[s].parent;
        }
        let mut m = Map::new();
        for s in chain.into_iter().rev() {
            for (k, v) in &self.c.scopes[s].vars {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    fn note_variables(&mut self, scope: usize) {
        if self.c.probe.is_some() {
            let vars = Value::Object(self.all_vars(scope));
            self.note(|i| i.variables = Some(vars));
        }
    }

    fn apply_assign(&mut self, assigned: Value, scope: usize) {
        if let Value::Object(m) = assigned {
            let vars = &mut self.c.scopes[scope].vars;
            for (k, v) in m {
                vars.insert(k, v);
            }
        }
    }

    fn add_wait(&mut self, rec: WaitRecord) -> u64 {
        let id = self.c.next_wait;
        self.c.next_wait += 1;
        self.c.waits.insert(id, rec);
        id
    }

    fn add_timer(&mut self, until: i64) -> u64 {
        self.add_wait(WaitRecord { kind: WaitKind::Timer, timeout_at: Some(until), heartbeat_ms: None, heartbeat_at: None, answer: None })
    }

    /// True (and the timer is gone) once the clock has reached it.
    fn timer_due(&mut self, id: u64) -> bool {
        let now = self.now();
        match self.c.waits.get(&id) {
            Some(r) if r.timeout_at.is_some_and(|t| t > now) => false,
            _ => {
                self.c.waits.remove(&id);
                true
            }
        }
    }

    fn cancel_wait(&mut self, id: u64) {
        if let Some(WaitRecord { kind: WaitKind::Task { token: Some(t), .. }, .. }) = self.c.waits.remove(&id) {
            self.c.tokens.remove(&t);
            self.c.spent_tokens.insert(t, SpentToken::Cancelled);
        }
    }

    /// Drops a fiber that will not finish (a sibling failed, the execution
    /// ended): its waits are cancelled and its scopes freed.
    fn discard(&mut self, m: &Machine, f: Fiber) {
        if let Some(run) = f.run {
            if let Some(st) = m.states.get(f.cur) {
                self.discard_phase(st, run.phase);
                // TaskStateAborted, WaitStateAborted, MapStateAborted, ParallelStateAborted.
                if matches!(st.kind, Kind::Task(_) | Kind::Wait(_) | Kind::Map(_) | Kind::Parallel { .. }) {
                    let now = self.now();
                    self.c.history.push(now, &format!("{}StateAborted", st.kind.type_name()), json!({"name": st.name}));
                }
            }
        }
        self.free_scope(f.scope);
    }

    fn discard_phase(&mut self, st: &State, phase: Phase) {
        match phase {
            Phase::Attempt => {}
            Phase::Backoff { wait } | Phase::Timer { wait, .. } => self.cancel_wait(wait),
            Phase::Task(t) => self.cancel_wait(t.wait),
            Phase::Parallel(p) => {
                if let Kind::Parallel { branches } = &st.kind {
                    for (b, fiber) in p.branches.into_iter().enumerate() {
                        if let (Some(fiber), Some(m)) = (fiber, branches.get(b)) {
                            self.discard(m, fiber);
                        }
                    }
                }
            }
            Phase::Map(run) => {
                self.map_run_ended(&run, "ABORTED", None);
                if let Kind::Map(map) = &st.kind {
                    for fiber in run.active {
                        self.discard(&map.processor, fiber);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------
    // Fibers and states

    fn check_limits(&mut self) -> Result<(), Failure> {
        self.c.transitions += 1;
        if self.past_deadline() {
            return Err(Failure::timed_out());
        }
        self.check_quota()
    }

    /// The history quota (Standard) or the runaway guard (Express): checked
    /// at every transition and every retry.
    fn check_quota(&mut self) -> Result<(), Failure> {
        match self.c.config.execution_type {
            ExecutionType::Standard => {
                if self.c.history.count() >= MAX_HISTORY_EVENTS {
                    return Err(Failure {
                        error: "States.Runtime".into(),
                        cause: Some(format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS}).")),
                        terminal: Some(Status::Failed),
                    });
                }
            }
            ExecutionType::Express => {
                if self.c.transitions > EXPRESS_MAX_TRANSITIONS {
                    return Err(Failure::timed_out());
                }
            }
        }
        Ok(())
    }

    /// Runs a fiber until its machine ends or it must wait.
    fn drive(&mut self, m: &Machine, f: &mut Fiber) -> Progress<Result<Value, Failure>> {
        if m.states.is_empty() {
            return Progress::Ready(Ok(std::mem::take(&mut f.data)));
        }
        loop {
            let st = &m.states[f.cur];
            if f.run.is_none() {
                if let Err(e) = self.check_limits() {
                    return Progress::Ready(Err(e));
                }
                let check = std::mem::take(&mut f.unchecked);
                match self.enter(st, std::mem::take(&mut f.data), check) {
                    Ok(run) => f.run = Some(run),
                    Err(e) => return Progress::Ready(Err(e)),
                }
            }
            let run = f.run.as_mut().expect("entered above");
            let item = f.item.as_ref().map(|(i, v)| (*i, v));
            match self.advance(st, run, f.scope, item) {
                Progress::Blocked => return Progress::Blocked,
                Progress::Ready(Ok(Flow::Next(i, out))) => {
                    f.run = None;
                    f.cur = i;
                    f.data = out;
                    if self.gives_up_turn(f) {
                        return Progress::Blocked;
                    }
                }
                Progress::Ready(Ok(Flow::Caught(i, out))) => {
                    f.run = None;
                    f.cur = i;
                    f.data = out;
                    f.unchecked = true;
                    if self.gives_up_turn(f) {
                        return Progress::Blocked;
                    }
                }
                Progress::Ready(Ok(Flow::End(out))) => {
                    f.run = None;
                    return Progress::Ready(Ok(out));
                }
                Progress::Ready(Err(e)) => {
                    let run = f.run.take();
                    if f.scope == 0 {
                        // The root fiber: a redrive restarts here, with this input.
                        let map_results = if matches!(st.kind, Kind::Map(_)) { self.c.failed_map.take() } else { None };
                        self.c.failed_map = None;
                        self.c.redrive_point = run.map(|r| RedrivePoint { state: f.cur, input: r.raw, map_results });
                    }
                    if self.c.failed_state.is_none() {
                        self.c.failed_state = Some(FailedState { name: st.name.clone(), line: st.pos.line as usize, col: st.pos.col as usize });
                    }
                    return Progress::Ready(Err(e));
                }
            }
        }
    }

    /// Under `interleave`, a branch or iteration (never the top level) gives
    /// up its turn between two states half the time.
    fn gives_up_turn(&mut self, f: &Fiber) -> bool {
        if f.scope == 0 {
            return false;
        }
        let Some(sched) = self.c.sched.as_mut() else { return false };
        let give_up = sched.next_u64() & 1 == 1;
        self.c.yielded |= give_up;
        give_up
    }

    /// The order to drive `n` siblings in: as given, or shuffled under `interleave`.
    fn sibling_order(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        if let Some(sched) = self.c.sched.as_mut() {
            for i in (1..n).rev() {
                order.swap(i, (sched.next_u64() % (i as u64 + 1)) as usize);
            }
        }
        order
    }

    fn enter(&mut self, st: &State, raw: Value, check_size: bool) -> Result<StateRun, Failure> {
        let entered_ms = self.now();
        let entered_id = self.c.history.push_state(entered_ms, st.kind.type_name(), "Entered", &st.name, Some(&raw));
        self.c.path.push(st.name.clone());
        if check_size && crate::size::exceeds(&raw, MAX_PAYLOAD_BYTES) {
            return Err(Failure {
                error: "States.DataLimitExceeded".into(),
                cause: Some(format!("The state/task '{}' received an input with a size exceeding the maximum number of bytes service limit.", st.name)),
                terminal: Some(Status::Failed),
            });
        }
        Ok(StateRun { raw, entered_ms, entered_id, retry_counts: vec![0; st.retry.len()], retry_total: 0, phase: Phase::Attempt })
    }

    /// Advances one state: attempts, waits, retries, catches, exits.
    fn advance(&mut self, st: &State, run: &mut StateRun, scope: usize, item: Option<(usize, &Value)>) -> Progress<Result<Flow, Failure>> {
        loop {
            let sc = StateCtx { name: &st.name, entered_ms: run.entered_ms, retry_count: run.retry_total, map_item: item, task_token: None, scope };
            let id = run.entered_id;
            let attempt: Result<Flow, Failure> = match &mut run.phase {
                Phase::Attempt => match self.begin(st, &run.raw, &sc, id) {
                    Ok(Began::Flow(flow)) => Ok(flow),
                    Ok(Began::Phase(p)) => {
                        run.phase = p;
                        continue;
                    }
                    Err(f) => Err(f),
                },
                Phase::Backoff { wait } => {
                    if !self.timer_due(*wait) {
                        return Progress::Blocked;
                    }
                    run.phase = Phase::Attempt;
                    if let Err(f) = self.check_quota() {
                        return Progress::Ready(Err(f));
                    }
                    continue;
                }
                Phase::Timer { wait, effective } => {
                    if !self.timer_due(*wait) {
                        return Progress::Blocked;
                    }
                    let effective = std::mem::take(effective);
                    run.phase = Phase::Attempt;
                    self.finish(st, &run.raw, effective, None, &sc, None, st.flow.assign.as_ref(), id).map(|out| next_flow(st, out))
                }
                Phase::Task(t) => match self.poll_task(t.wait) {
                    None => return Progress::Blocked,
                    Some(answer) => {
                        let token = t.token.take();
                        run.phase = Phase::Attempt;
                        let Kind::Task(task) = &st.kind else { unreachable_kind() };
                        let tsc = StateCtx { task_token: token.as_deref(), ..sc };
                        self.task_answered(task, answer).and_then(|v| self.after_result(st, &run.raw, v, &tsc, id))
                    }
                },
                Phase::Parallel(p) => match self.poll_parallel(st, p) {
                    Progress::Blocked => return Progress::Blocked,
                    Progress::Ready(r) => {
                        run.phase = Phase::Attempt;
                        r.and_then(|v| self.after_result(st, &run.raw, v, &sc, id))
                    }
                },
                Phase::Map(mr) => match self.poll_map(st, mr, &sc, id) {
                    Progress::Blocked => return Progress::Blocked,
                    Progress::Ready(r) => {
                        let Phase::Map(mr) = std::mem::replace(&mut run.phase, Phase::Attempt) else { unreachable_kind() };
                        r.and_then(|v| self.map_done(st, *mr, v, &sc, id)).and_then(|v| self.after_result(st, &run.raw, v, &sc, id))
                    }
                },
            };
            match attempt {
                Ok(flow) => {
                    let out = match &flow {
                        Flow::Next(_, v) | Flow::End(v) | Flow::Caught(_, v) => v,
                    };
                    if crate::size::exceeds(out, MAX_PAYLOAD_BYTES) {
                        return Progress::Ready(Err(Failure {
                            error: "States.DataLimitExceeded".into(),
                            cause: Some(format!(
                                "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                                st.name
                            )),
                            terminal: Some(Status::Failed),
                        }));
                    }
                    let now = self.now();
                    self.c.history.push_state(now, st.kind.type_name(), "Exited", &st.name, Some(out));
                    self.services.state_exited(&st.name);
                    return Progress::Ready(Ok(flow));
                }
                Err(f) => {
                    if f.terminal.is_some() || f.error == "States.Runtime" {
                        let mut f = f;
                        if f.terminal.is_none() {
                            f.terminal = Some(Status::Failed);
                        }
                        return Progress::Ready(Err(f));
                    }
                    if self.c.probe.is_some() {
                        return Progress::Ready(self.probe_error(st, run, f, &sc, id));
                    }
                    // Retry: the first retrier whose ErrorEquals matches decides.
                    if let Some(i) = st.retry.iter().position(|r| error_matches(&r.errors, &f.error)) {
                        let r = &st.retry[i];
                        if run.retry_counts[i] < r.max_attempts {
                            let mut wait = r.interval_seconds * r.backoff_rate.powi(run.retry_counts[i] as i32);
                            if let Some(max) = r.max_delay_seconds {
                                wait = wait.min(max);
                            }
                            if r.jitter_full {
                                wait *= self.c.rng.next_f64();
                            }
                            run.retry_counts[i] += 1;
                            run.retry_total += 1;
                            let ms = (wait * 1000.0).round() as i64;
                            if ms > 0 {
                                let until = self.now() + ms;
                                run.phase = Phase::Backoff { wait: self.add_timer(until) };
                            } else {
                                run.phase = Phase::Attempt;
                                if let Err(f) = self.check_quota() {
                                    return Progress::Ready(Err(f));
                                }
                            }
                            continue;
                        }
                    }
                    if let Some(c) = st.catch.iter().find(|c| error_matches(&c.errors, &f.error)) {
                        let raw = std::mem::take(&mut run.raw);
                        let r = self.caught(st, c, raw, f, &sc, id);
                        if r.is_ok() {
                            self.c.failed_state = None;
                        }
                        return Progress::Ready(r);
                    }
                    return Progress::Ready(Err(f));
                }
            }
        }
    }

    /// TestState's answer to a failed attempt: a matching retrier with attempts left
    /// makes it RETRIABLE (not retried); else a matching catcher takes it; else it fails.
    fn probe_error(&mut self, st: &State, run: &mut StateRun, f: Failure, sc: &StateCtx<'_>, id: u64) -> Result<Flow, Failure> {
        let done = self.c.probe.as_ref().map_or(0, |p| p.options.retrier_retry_count);
        if let Some(i) = st.retry.iter().position(|r| error_matches(&r.errors, &f.error)) {
            let r = &st.retry[i];
            if done < r.max_attempts {
                // The back-off the retry would wait, without jitter (AWS's docs: the
                // interval "before the next retry attempt"; they do not say how jitter shows).
                let mut wait = r.interval_seconds * r.backoff_rate.powi(done as i32);
                if let Some(max) = r.max_delay_seconds {
                    wait = wait.min(max);
                }
                self.note(|x| {
                    x.error_details.retry_index = Some(i);
                    x.error_details.retry_backoff_interval_seconds = Some(wait.round() as i64);
                });
                if let Some(p) = self.c.probe.as_mut() {
                    p.retriable = true;
                }
                return Err(f);
            }
            self.note(|x| x.error_details.retry_index = Some(i));
        }
        if let Some(ci) = st.catch.iter().position(|c| error_matches(&c.errors, &f.error)) {
            self.note(|x| x.error_details.catch_index = Some(ci));
            let caught = TaskError { error: f.error.clone(), cause: f.cause.clone() };
            let raw = std::mem::take(&mut run.raw);
            let r = self.caught(st, &st.catch[ci], raw, f, sc, id);
            if r.is_ok() {
                if let Some(p) = self.c.probe.as_mut() {
                    p.caught = Some(caught);
                }
            }
            return r;
        }
        Err(f)
    }

    /// A Map or Parallel state under TestState with a mock: the mock is the state's
    /// result (or error); the branches or iterations do not run.
    fn mocked_container(&mut self, st: &State, raw: &Value, effective: Value, mock: Result<Value, TaskError>, sc: &StateCtx<'_>, id: u64) -> Result<Began, Failure> {
        if let Kind::Map(map) = &st.kind {
            let literal = |d: &Option<Dyn<f64>>| match d {
                Some(Dyn::Literal(n)) => Some(*n),
                _ => None,
            };
            let (mc, tc, tp) = (literal(&map.max_concurrency), literal(&map.tolerated_count), literal(&map.tolerated_percentage));
            // AWS reports maxConcurrency 0 (unlimited) when the state sets none (recorded).
            self.note(|i| {
                i.max_concurrency = Some(mc.unwrap_or(0.0));
                i.tolerated_failure_count = tc;
                i.tolerated_failure_percentage = tp;
            });
        }
        let _ = effective;
        let is_map = matches!(st.kind, Kind::Map(_));
        let flow = match mock {
            Ok(v) => self.after_result(st, raw, v, sc, id),
            Err(e) => Err(Failure::new(e.error, e.cause)),
        };
        // What AWS reports of a mocked container (recorded): a Parallel state its
        // input and the stages after its result; a Map state its input and its
        // concurrency settings only.
        self.note(|i| {
            i.after_input_path = None;
            i.result = None;
            if is_map {
                i.after_result_selector = None;
                i.after_result_path = None;
            }
        });
        Ok(Began::Flow(flow?))
    }

    fn runtime_cause(&self, state: &str, entered_id: u64, msg: &str) -> String {
        format!("An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {msg}")
    }

    fn context_value(&self, sc: &StateCtx<'_>, part: ContextPart) -> Value {
        if let Some(given) = self.c.probe.as_ref().and_then(|p| p.options.context.as_ref()) {
            // TestState's `context`: AWS uses the given object as `$$` (recorded: `{}` reads as `{}`).
            return given.clone();
        }
        let c = &self.c.config;
        let mut ctx = Map::new();
        if part != ContextPart::Map {
            let mut exec = Map::new();
            exec.insert("Id".into(), Value::String(c.execution_arn()));
            if part == ContextPart::All {
                exec.insert("Input".into(), self.c.input.clone());
            }
            exec.insert("StartTime".into(), Value::String(crate::time::format_millis(self.c.start_ms)));
            exec.insert("Name".into(), Value::String(c.execution_name.clone()));
            exec.insert("RoleArn".into(), Value::String(c.role()));
            exec.insert("RedriveCount".into(), Value::from(self.c.redrive_count));
            if let Some(t) = self.c.redrive_ms {
                exec.insert("RedriveTime".into(), Value::String(crate::time::format_millis(t)));
            }
            ctx.insert("Execution".into(), Value::Object(exec));
            ctx.insert("StateMachine".into(), json!({"Id": c.state_machine_arn(), "Name": c.state_machine_name}));
            ctx.insert(
                "State".into(),
                json!({"EnteredTime": crate::time::format_millis(sc.entered_ms), "Name": sc.name, "RetryCount": sc.retry_count}),
            );
            if let Some(token) = sc.task_token {
                ctx.insert("Task".into(), json!({"Token": token}));
            }
        }
        if let Some((index, value)) = sc.map_item {
            ctx.insert("Map".into(), json!({"Item": {"Index": index, "Value": value}}));
        }
        Value::Object(ctx)
    }

    // ---------------------------------------------------------------
    // Data flow: the only place the query languages differ

    /// What the state's fields read: JSONPath applies InputPath; JSONata sees the raw input.
    fn effective_cow<'v>(&self, st: &State, raw: &'v Value, sc: &StateCtx<'_>, id: u64) -> Result<Cow<'v, Value>, Failure> {
        match (st.ql, &st.flow.input_path) {
            (QueryLanguage::Jsonata, _) | (QueryLanguage::JsonPath, IoPath::Whole) => Ok(Cow::Borrowed(raw)),
            (QueryLanguage::JsonPath, io) => self.io_path(io, raw, sc, &st.name, id).map(Cow::Owned),
        }
    }

    /// The document a field is evaluated against: the effective input
    /// (JSONPath) or `$states` (JSONata).
    fn doc<'v>(&self, st: &State, sc: &StateCtx<'_>, effective: &'v Value, result: Option<&Value>) -> Cow<'v, Value> {
        match st.ql {
            QueryLanguage::Jsonata => Cow::Owned(self.jsonata_states(sc, effective, result, None)),
            QueryLanguage::JsonPath => Cow::Borrowed(effective),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tpl(&mut self, st: &State, t: &Template, doc: &Value, sc: &StateCtx<'_>, field: &str, id: u64) -> Result<Value, Failure> {
        match st.ql {
            QueryLanguage::Jsonata => self.eval_jsonata_template(t, doc, sc.scope, field, &st.name, id),
            QueryLanguage::JsonPath => self.eval_template(t, doc, sc, field, &st.name, id),
        }
    }

    /// Parameters (JSONPath) or Arguments (JSONata); without one, the effective input.
    fn arguments(&mut self, st: &State, effective: &Value, sc: &StateCtx<'_>, id: u64) -> Result<Value, Failure> {
        let (t, field) = match st.ql {
            QueryLanguage::Jsonata => (&st.flow.arguments, "Arguments"),
            QueryLanguage::JsonPath => (&st.flow.parameters, "Parameters"),
        };
        let args = match t {
            Some(t) => {
                let doc = self.doc(st, sc, effective, None);
                self.tpl(st, t, &doc, sc, field, id)?
            }
            None => effective.clone(),
        };
        match st.ql {
            QueryLanguage::JsonPath => self.note(|i| i.after_parameters = Some(args.clone())),
            QueryLanguage::Jsonata if t.is_some() => self.note(|i| i.after_arguments = Some(args.clone())),
            QueryLanguage::Jsonata => {}
        }
        Ok(args)
    }

    /// A state's result on to its output: JSONPath ResultSelector, then
    /// `finish`; JSONata `finish` with `$states.result`.
    fn after_result(&mut self, st: &State, raw: &Value, result: Value, sc: &StateCtx<'_>, id: u64) -> Result<Flow, Failure> {
        self.note(|i| i.result = Some(result.clone()));
        let result = match (&st.flow.result_selector, st.ql) {
            (Some(s), QueryLanguage::JsonPath) => self.eval_template(s, &result, sc, "ResultSelector", &st.name, id)?,
            _ => result,
        };
        let out = self.finish(st, raw, Value::Null, Some(result), sc, None, st.flow.assign.as_ref(), id)?;
        Ok(next_flow(st, out))
    }

    /// The output and the new variables. JSONPath: Assign (seeing the result,
    /// or the effective input for states without one), ResultPath,
    /// OutputPath, then the variables. JSONata: Output (default: the result,
    /// else the input), then Assign.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        st: &State,
        raw: &Value,
        effective: Value,
        result: Option<Value>,
        sc: &StateCtx<'_>,
        output: Option<&Template>,
        assign: Option<&Template>,
        id: u64,
    ) -> Result<Value, Failure> {
        match st.ql {
            QueryLanguage::Jsonata => {
                let states = self.jsonata_states(sc, raw, result.as_ref(), None);
                let out = match output.or(st.flow.output.as_ref()) {
                    Some(t) => self.eval_jsonata_template(t, &states, sc.scope, "Output", &st.name, id)?,
                    None => result.unwrap_or_else(|| raw.clone()),
                };
                if let Some(a) = assign {
                    let assigned = self.eval_jsonata_template(a, &states, sc.scope, "Assign", &st.name, id)?;
                    self.apply_assign(assigned, sc.scope);
                    self.note_variables(sc.scope);
                }
                Ok(out)
            }
            QueryLanguage::JsonPath => {
                let (new_vars, combined) = match result {
                    None => {
                        let new_vars = match assign {
                            Some(a) => Some(self.eval_template(a, &effective, sc, "Assign", &st.name, id)?),
                            None => None,
                        };
                        (new_vars, effective)
                    }
                    Some(result) => {
                        let new_vars = match assign {
                            Some(a) => Some(self.eval_template(a, &result, sc, "Assign", &st.name, id)?),
                            None => None,
                        };
                        self.note(|i| i.after_result_selector = Some(result.clone()));
                        let combined = self.apply_result_path(&st.flow.result_path, raw, result, &st.name, id)?;
                        self.note(|i| i.after_result_path = Some(combined.clone()));
                        (new_vars, combined)
                    }
                };
                let out = self.output_path(&st.flow.output_path, combined, sc, &st.name, id)?;
                if let Some(a) = new_vars {
                    self.apply_assign(a, sc.scope);
                    self.note_variables(sc.scope);
                }
                Ok(out)
            }
        }
    }

    /// One attempt's start: finishes at once (most states) or sets a phase to wait in.
    fn begin(&mut self, st: &State, raw: &Value, sc: &StateCtx<'_>, id: u64) -> Result<Began, Failure> {
        let name = &st.name;
        // Fail takes no data processing beyond its Error and Cause.
        if let Kind::Fail { error, cause } = &st.kind {
            let doc = self.doc(st, sc, raw, None);
            let error = self.text(st, error, &doc, sc, "Error", id)?;
            let cause = self.text(st, cause, &doc, sc, "Cause", id)?;
            // Not terminal: inside a Parallel branch or a Map iteration the
            // failure is the enclosing state's error, which its Catch may take.
            return Err(Failure { error: error.unwrap_or_default(), cause, terminal: None });
        }
        // Borrowed where InputPath is `$` (the common case): states that only read
        // their input (Pass with Parameters, Parallel) then copy nothing.
        let effective = self.effective_cow(st, raw, sc, id)?;
        // AWS reports no afterInputPath for a Pass state with a Result (recorded).
        if st.ql == QueryLanguage::JsonPath && !matches!(&st.kind, Kind::Pass { result: Some(_) }) {
            self.note(|i| i.after_input_path = Some(effective.clone().into_owned()));
        }
        if matches!(st.kind, Kind::Parallel { .. } | Kind::Map(_)) {
            if let Some(mock) = self.c.probe.as_mut().and_then(|p| p.options.container_mock.take()) {
                return self.mocked_container(st, raw, effective.into_owned(), mock, sc, id);
            }
        }
        match &st.kind {
            Kind::Succeed => {
                let out = self.finish(st, raw, effective.into_owned(), None, sc, None, None, id)?;
                Ok(Began::Flow(Flow::End(out)))
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                {
                    let doc = self.doc(st, sc, &effective, None);
                    for c in choices {
                        if self.choice_rule(st, &c.rule, &doc, sc, id)? {
                            chosen = Some(c);
                            break;
                        }
                    }
                }
                let next = match (chosen, default) {
                    (Some(c), _) => c.transition.next,
                    (None, Some(d)) => *d,
                    (None, None) => {
                        return Err(Failure::runtime(self.runtime_cause(name, id, "No Choice Rule matched and no Default was specified.")))
                    }
                };
                let output = chosen.and_then(|c| c.transition.output.as_ref());
                let assign = chosen.and_then(|c| c.transition.assign.as_ref()).or(st.flow.assign.as_ref());
                let out = self.finish(st, raw, effective.into_owned(), None, sc, output, assign, id)?;
                Ok(Began::Flow(Flow::Next(next, out)))
            }
            Kind::Wait(w) => {
                let until = {
                    let doc = self.doc(st, sc, &effective, None);
                    self.wait_until(st, w, &doc, sc, id)?
                };
                if until <= self.now() {
                    let out = self.finish(st, raw, effective.into_owned(), None, sc, None, st.flow.assign.as_ref(), id)?;
                    return Ok(Began::Flow(next_flow(st, out)));
                }
                Ok(Began::Phase(Phase::Timer { wait: self.add_timer(until), effective: effective.into_owned() }))
            }
            Kind::Pass { result } => {
                let result = match st.ql {
                    QueryLanguage::Jsonata => None,
                    QueryLanguage::JsonPath => Some(match result {
                        Some(r) => {
                            self.note(|i| i.result = Some(r.clone()));
                            r.clone()
                        }
                        None => self.arguments(st, &effective, sc, id)?,
                    }),
                };
                let out = match result {
                    Some(r) => self.finish(st, raw, Value::Null, Some(r), sc, None, st.flow.assign.as_ref(), id)?,
                    None => self.finish(st, raw, effective.into_owned(), None, sc, None, st.flow.assign.as_ref(), id)?,
                };
                Ok(Began::Flow(next_flow(st, out)))
            }
            Kind::Task(task) => self.begin_task(st, task, raw, effective.into_owned(), sc, id),
            Kind::Parallel { branches } => {
                let input = self.arguments(st, &effective, sc, id)?;
                let now = self.now();
                self.c.history.push(now, "ParallelStateStarted", json!({}));
                let mut fibers = Vec::with_capacity(branches.len());
                for b in branches {
                    let scope = self.alloc_scope(sc.scope);
                    fibers.push(Some(Fiber { scope, item: None, cur: b.start, data: input.clone(), unchecked: true, run: None }));
                }
                let results = vec![Value::Null; branches.len()];
                Ok(Began::Phase(Phase::Parallel(Box::new(ParallelRun { branches: fibers, results }))))
            }
            Kind::Map(map) => self.begin_map(st, map, raw, effective.into_owned(), sc, id),
            Kind::Fail { .. } => unreachable_kind(),
        }
    }

    /// Error/Cause of a Fail state.
    fn text(&mut self, st: &State, d: &Option<Dyn<String>>, doc: &Value, sc: &StateCtx<'_>, field: &str, id: u64) -> Result<Option<String>, Failure> {
        let name = &st.name;
        Ok(match d {
            None => None,
            Some(Dyn::Literal(s)) => Some(s.clone()),
            Some(Dyn::Path(p)) => {
                let v = self.read(p, doc, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?;
                Some(value_text(&v))
            }
            Some(Dyn::Intrinsic(c)) => {
                let v = self.intrinsic(c, doc, sc, name, id)?;
                Some(value_text(&v))
            }
            Some(d @ Dyn::Jsonata(_)) => Some(self.jsonata_dyn(d, doc, sc.scope, field, name, id, |v| v.as_str().map(str::to_string), "string")?),
        })
    }

    fn choice_rule(&mut self, st: &State, r: &Rule, doc: &Value, sc: &StateCtx<'_>, id: u64) -> Result<bool, Failure> {
        match r {
            Rule::Condition(d) => self.jsonata_dyn(d, doc, sc.scope, "Condition", &st.name, id, Value::as_bool, "boolean"),
            other => self.rule(other, doc, sc, &st.name, id),
        }
    }

    /// A number field given literally, by path (a value of `kind`) or by JSONata.
    #[allow(clippy::too_many_arguments)]
    fn number(&mut self, st: &State, d: &Option<Dyn<f64>>, doc: &Value, sc: &StateCtx<'_>, field: &str, path_field: &str, kind: NumberKind, id: u64) -> Result<Option<f64>, Failure> {
        let name = &st.name;
        match d {
            None => Ok(None),
            Some(Dyn::Literal(x)) => Ok(Some(*x)),
            Some(Dyn::Path(p)) => {
                let v = self.read(p, doc, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?;
                match kind.read(&v) {
                    Some(x) => Ok(Some(x)),
                    None => Err(Failure::runtime(self.runtime_cause(
                        name,
                        id,
                        &format!("The {path_field} field refers to value \"{}\" which is not a valid {}: {}", value_text(&v), kind.name(), p.as_str()),
                    ))),
                }
            }
            Some(d @ Dyn::Jsonata(_)) => Ok(Some(self.jsonata_dyn(d, doc, sc.scope, field, name, id, Value::as_f64, kind.name())?)),
            Some(Dyn::Intrinsic(_)) => Ok(None),
        }
    }

    /// When a Wait state ends (milliseconds on the execution's clock).
    fn wait_until(&mut self, st: &State, w: &WaitFor, doc: &Value, sc: &StateCtx<'_>, id: u64) -> Result<i64, Failure> {
        let name = &st.name;
        let now = self.now();
        Ok(match w {
            WaitFor::Seconds(Dyn::Literal(s)) => now + (*s * 1000.0) as i64,
            WaitFor::Seconds(Dyn::Path(p)) => {
                let v = self.read(p, doc, sc).map_err(|_| {
                    Failure::runtime(self.runtime_cause(name, id, &format!("The SecondsPath parameter does not reference an input value: {}", p.as_str())))
                })?;
                let secs = v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)).filter(|s| *s >= 0);
                match secs {
                    Some(s) => now + s * 1000,
                    None => {
                        return Err(Failure::runtime(self.runtime_cause(
                            name,
                            id,
                            &format!("The SecondsPath parameter cannot be parsed as a long value: {} == {}", p.as_str(), value_text(&v)),
                        )))
                    }
                }
            }
            WaitFor::Seconds(d @ Dyn::Jsonata(_)) => {
                let s = self.jsonata_dyn(d, doc, sc.scope, "Seconds", name, id, Value::as_f64, "integer")?;
                now + (s * 1000.0) as i64
            }
            WaitFor::Timestamp(Dyn::Literal(t)) => crate::time::parse_timestamp(t).unwrap_or(0),
            WaitFor::Timestamp(Dyn::Path(p)) => {
                let v = self.read(p, doc, sc).map_err(|_| {
                    Failure::runtime(self.runtime_cause(name, id, &format!("The TimestampPath parameter does not reference an input value: {}", p.as_str())))
                })?;
                match v.as_str().and_then(crate::time::parse_timestamp) {
                    Some(t) => t,
                    None => {
                        return Err(Failure::runtime(self.runtime_cause(
                            name,
                            id,
                            &format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                p.as_str(),
                                value_text(&v)
                            ),
                        )))
                    }
                }
            }
            WaitFor::Timestamp(d @ Dyn::Jsonata(_)) => {
                let t = self.jsonata_dyn(d, doc, sc.scope, "Timestamp", name, id, |v| v.as_str().map(str::to_string), "string")?;
                match crate::time::parse_timestamp(&t) {
                    Some(t) => t,
                    None => {
                        return Err(Failure::new(
                            "States.QueryEvaluationError",
                            Some(self.runtime_cause(
                                name,
                                id,
                                &format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"),
                            )),
                        ))
                    }
                }
            }
            _ => now,
        })
    }

    // ---------------------------------------------------------------
    // Task

    fn task_token(&mut self, task: &Task) -> Option<String> {
        let needs = task.resource.ends_with(".waitForTaskToken") || is_activity(&task.resource);
        needs.then(|| format!("{:016x}{:016x}", self.c.rng.next_u64(), self.c.rng.next_u64()))
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_task(&mut self, st: &State, task: &Task, raw: &Value, effective: Value, sc: &StateCtx<'_>, id: u64) -> Result<Began, Failure> {
        // `.waitForTaskToken` tasks see their token as `$$.Task.Token` in Parameters.
        let token = self.task_token(task);
        let tsc = StateCtx { task_token: token.as_deref(), ..*sc };
        let params = self.arguments(st, &effective, &tsc, id)?;
        let (timeout, heartbeat, credentials) = {
            let doc = self.doc(st, &tsc, &effective, None);
            let timeout = self.number(st, &task.timeout, &doc, &tsc, "TimeoutSeconds", "TimeoutSecondsPath", NumberKind::Seconds, id)?;
            let heartbeat = self.number(st, &task.heartbeat, &doc, &tsc, "HeartbeatSeconds", "HeartbeatSecondsPath", NumberKind::Seconds, id)?;
            let credentials = match &task.credentials {
                Some(c) => Some(self.tpl(st, c, &doc, &tsc, "Credentials", id)?),
                None => None,
            };
            (timeout, heartbeat, credentials)
        };
        let now = self.now();
        let (scheduled, started, _, _) = task_event_names(&task.resource);
        let (resource_type, resource) = resource_split(&task.resource);
        if is_lambda_function(&task.resource) || is_activity(&task.resource) {
            // lambdaFunctionScheduledEventDetails / activityScheduledEventDetails:
            // the ARN and the input. An activity counts as started when it is
            // offered to workers (this engine has no separate "worker took it" signal).
            let mut d = Map::new();
            d.insert("resource".into(), json!(task.resource));
            d.insert("input".into(), crate::history::payload(&params));
            d.insert("inputDetails".into(), json!({"truncated": false}));
            d.insert("timeoutInSeconds".into(), json!(timeout));
            if let (Some(h), true) = (heartbeat, is_activity(&task.resource)) {
                d.insert("heartbeatInSeconds".into(), json!(h));
            }
            self.c.history.push(now, scheduled, Value::Object(d));
            self.c.history.push(now, started, json!({}));
        } else {
            let mut d = Map::new();
            d.insert("resourceType".into(), json!(resource_type));
            d.insert("resource".into(), json!(resource));
            d.insert("region".into(), json!(self.c.config.region));
            d.insert("parameters".into(), crate::history::payload(&params));
            d.insert("timeoutInSeconds".into(), json!(timeout));
            if let Some(h) = heartbeat {
                d.insert("heartbeatInSeconds".into(), json!(h));
            }
            self.c.history.push(now, scheduled, Value::Object(d));
            self.c.history.push(now, started, json!({"resourceType": resource_type, "resource": resource}));
        }
        let call = TaskCall {
            resource: &task.resource,
            parameters: params,
            state_name: &st.name,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            credentials,
            config: &self.c.config,
            now_millis: now,
            task_token: token.clone(),
        };
        match self.services.start_task(&call, &mut *self.clock) {
            TaskStart::Done(r) => {
                let v = self.task_answered(task, r.map_err(|e| (e, false)))?;
                Ok(Began::Flow(self.after_result(st, raw, v, &tsc, id)?))
            }
            TaskStart::Pending { submitted } => {
                let wait = self.pend(st, task, token.clone(), timeout, heartbeat, submitted);
                Ok(Began::Phase(Phase::Task(Box::new(TaskRun { wait, token }))))
            }
            TaskStart::Child(mut child) => {
                // StartExecution's own answer; `.sync` tasks record it as TaskSubmitted.
                let started = json!({
                    "ExecutionArn": child.execution_arn,
                    "StartDate": crate::time::format_iso8601_millis(child.start_ms),
                });
                child.parent_execution_arn = self.c.config.execution_arn();
                if child.pattern == ChildPattern::Async {
                    self.c.children.push(*child);
                    let v = self.task_answered(task, Ok(started))?;
                    return Ok(Began::Flow(self.after_result(st, raw, v, &tsc, id)?));
                }
                let wait = self.pend(st, task, token.clone(), timeout, heartbeat, Some(started));
                if child.pattern != ChildPattern::Callback {
                    child.wait = Some(wait);
                }
                self.c.children.push(*child);
                Ok(Began::Phase(Phase::Task(Box::new(TaskRun { wait, token }))))
            }
        }
    }

    /// A task left pending: its TaskSubmitted event (when the integration answered) and
    /// its wait, with TimeoutSeconds and HeartbeatSeconds deadlines.
    fn pend(&mut self, st: &State, task: &Task, token: Option<String>, timeout: Option<f64>, heartbeat: Option<f64>, submitted: Option<Value>) -> u64 {
        let now = self.now();
        let (resource_type, resource) = resource_split(&task.resource);
        if let Some(out) = submitted {
            self.c.history.push(
                now,
                "TaskSubmitted",
                json!({"resourceType": resource_type, "resource": resource, "output": crate::history::payload(&out)}),
            );
        }
        let heartbeat_ms = heartbeat.map(|h| (h * 1000.0) as i64);
        let wait = self.add_wait(WaitRecord {
            kind: WaitKind::Task { state: st.name.clone(), resource: task.resource.clone(), token: token.clone(), heartbeat_seconds: heartbeat },
            timeout_at: timeout.map(|t| now + (t * 1000.0) as i64),
            heartbeat_ms,
            heartbeat_at: heartbeat_ms.map(|h| now + h),
            answer: None,
        });
        if let Some(t) = token {
            self.c.tokens.insert(t, wait);
        }
        wait
    }

    /// The answer to a pending task, or its timeout; `None` while it is still pending.
    /// The flag marks a timeout raised by the engine itself.
    fn poll_task(&mut self, wait: u64) -> Option<Result<Value, (TaskError, bool)>> {
        let now = self.now();
        let rec = self.c.waits.get_mut(&wait)?;
        let outcome = match rec.answer.take() {
            Some(Answer::Success(v)) => Ok(v),
            Some(Answer::Failure { error, cause }) => Err((TaskError { error, cause }, false)),
            Some(Answer::Heartbeat) | None => {
                if rec.heartbeat_at.is_some_and(|t| t <= now) && rec.timeout_at.is_none_or(|t| rec.heartbeat_at < Some(t)) {
                    Err((TaskError { error: "States.HeartbeatTimeout".into(), cause: None }, true))
                } else if rec.timeout_at.is_some_and(|t| t <= now) {
                    Err((TaskError { error: "States.Timeout".into(), cause: None }, true))
                } else {
                    return None;
                }
            }
        };
        let timed_out = matches!(outcome, Err((_, true)));
        if let Some(WaitRecord { kind: WaitKind::Task { token: Some(t), .. }, .. }) = self.c.waits.remove(&wait) {
            self.c.tokens.remove(&t);
            self.c.spent_tokens.insert(t, if timed_out { SpentToken::TimedOut } else { SpentToken::Answered });
        }
        Some(outcome)
    }

    /// Records a task's answer (TaskSucceeded / TaskFailed / TaskTimedOut).
    fn task_answered(&mut self, task: &Task, r: Result<Value, (TaskError, bool)>) -> Result<Value, Failure> {
        let now = self.now();
        let (_, _, succeeded, failed) = task_event_names(&task.resource);
        let lambda_direct = is_lambda_function(&task.resource);
        let (resource_type, resource) = resource_split(&task.resource);
        match r {
            Ok(v) => {
                if crate::size::exceeds(&v, MAX_PAYLOAD_BYTES) {
                    // A Lambda function given directly as the Resource is named
                    // by its ARN; an integration by its service name.
                    let service = if lambda_direct { task.resource.as_str() } else { service_name(&task.resource) };
                    let cause = format!("The state/task '{service}' returned a result with a size exceeding the maximum number of bytes service limit.");
                    self.c.history.push(now, failed, json!({"resourceType": resource_type, "resource": resource, "error": "States.DataLimitExceeded", "cause": cause}));
                    return Err(Failure::new("States.DataLimitExceeded", Some(cause)));
                }
                let details = if lambda_direct || is_activity(&task.resource) {
                    json!({"output": crate::history::payload(&v), "outputDetails": {"truncated": false}})
                } else {
                    json!({"resourceType": resource_type, "resource": resource, "output": crate::history::payload(&v), "outputDetails": {"truncated": false}})
                };
                self.c.history.push(now, succeeded, details);
                Ok(v)
            }
            Err((e, _)) => {
                let mut d = Map::new();
                if !lambda_direct && !is_activity(&task.resource) {
                    d.insert("resourceType".into(), Value::String(resource_type.into()));
                    d.insert("resource".into(), Value::String(resource.into()));
                }
                d.insert("error".into(), Value::String(e.error.clone()));
                if let Some(c) = &e.cause {
                    d.insert("cause".into(), Value::String(c.clone()));
                }
                let timeout = e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout";
                let ty = match (timeout, is_activity(&task.resource)) {
                    (true, true) => "ActivityTimedOut",
                    (true, false) if !lambda_direct => "TaskTimedOut",
                    _ => failed,
                };
                self.c.history.push(now, ty, Value::Object(d));
                if e.error == "States.Runtime" {
                    return Err(Failure { error: e.error, cause: e.cause, terminal: Some(Status::Failed) });
                }
                Err(Failure::new(e.error, e.cause))
            }
        }
    }

    // ---------------------------------------------------------------
    // Parallel

    fn poll_parallel(&mut self, st: &State, p: &mut ParallelRun) -> Progress<Result<Value, Failure>> {
        let Kind::Parallel { branches } = &st.kind else { unreachable_kind() };
        for b in self.sibling_order(p.branches.len()) {
            let Some(fiber) = p.branches[b].as_mut() else { continue };
            match self.drive(&branches[b], fiber) {
                Progress::Blocked => {}
                Progress::Ready(Ok(v)) => {
                    let fiber = p.branches[b].take().expect("branch present");
                    self.free_scope(fiber.scope);
                    p.results[b] = v;
                }
                Progress::Ready(Err(f)) => {
                    let fiber = p.branches[b].take().expect("branch present");
                    self.free_scope(fiber.scope);
                    // A failing branch stops its siblings, as on AWS.
                    for (i, other) in p.branches.iter_mut().enumerate() {
                        if let Some(other) = other.take() {
                            self.discard(&branches[i], other);
                        }
                    }
                    let now = self.now();
                    self.c.history.push(now, "ParallelStateFailed", json!({"error": f.error, "cause": f.cause}));
                    return Progress::Ready(Err(f));
                }
            }
        }
        if p.branches.iter().any(Option::is_some) {
            return Progress::Blocked;
        }
        let now = self.now();
        self.c.history.push(now, "ParallelStateSucceeded", json!({}));
        Progress::Ready(Ok(Value::Array(std::mem::take(&mut p.results))))
    }

    // ---------------------------------------------------------------
    // Map

    /// The Map's items: ItemReader, ItemsPath (JSONPath) or Items (JSONata), else the input.
    fn map_items(&mut self, st: &State, map: &MapState, raw: &Value, effective: &Value, sc: &StateCtx<'_>, id: u64) -> Result<Vec<Value>, Failure> {
        let name = &st.name;
        if let Some(reader) = &map.item_reader {
            let doc = self.doc(st, sc, effective, None);
            let params = match &map.item_reader_params {
                Some(t) => self.tpl(st, t, &doc, sc, "ItemReader", id)?,
                None => Value::Object(Map::new()),
            };
            let mut reader = reader.clone();
            // MaxItemsPath / a JSONata MaxItems is evaluated here, then handed over as MaxItems.
            let max = match &map.item_reader_max_items {
                Some(Dyn::Path(p)) => Some(self.read(p, &doc, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?),
                Some(d @ Dyn::Jsonata(_)) => {
                    Some(json!(self.jsonata_dyn(d, &doc, sc.scope, "ItemReader/ReaderConfig/MaxItems", name, id, Value::as_f64, "integer")? as u64))
                }
                _ => None,
            };
            if let Some(v) = max {
                if let Some(cfg) = reader.get_mut("ReaderConfig").and_then(Value::as_object_mut) {
                    cfg.remove("MaxItemsPath");
                    cfg.insert("MaxItems".into(), v);
                }
            }
            return self.services.read_items(&reader, &params).map_err(|e| Failure::new(e.error, e.cause));
        }
        match st.ql {
            QueryLanguage::JsonPath => {
                let items_value = match &map.items_path {
                    Some(p) => self.read(p, effective, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?,
                    None => effective.clone(),
                };
                match items_value {
                    Value::Array(a) => Ok(a),
                    other => Err(Failure::runtime(self.runtime_cause(
                        name,
                        id,
                        &format!(
                            "Invalid path '{}' : Item path must be an array, got: {}",
                            map.items_path.as_ref().map_or("$", |p| p.as_str()),
                            intrinsics::to_json_text(&other)
                        ),
                    ))),
                }
            }
            QueryLanguage::Jsonata => match &map.items {
                Some(Template::Jsonata(e)) => {
                    let states = self.jsonata_states(sc, raw, None, None);
                    let d = Dyn::Jsonata(e.clone());
                    self.jsonata_dyn(&d, &states, sc.scope, "Items", name, id, |v| v.as_array().cloned(), "array")
                }
                Some(t) => {
                    let states = self.jsonata_states(sc, raw, None, None);
                    match self.eval_jsonata_template(t, &states, sc.scope, "Items", name, id)? {
                        Value::Array(a) => Ok(a),
                        other => Err(Failure::new(
                            "States.QueryEvaluationError",
                            Some(self.runtime_cause(name, id, &format!("The Items field must be an array, but was '{}'.", intrinsics::type_name(&other)))),
                        )),
                    }
                }
                None => match raw {
                    Value::Array(a) => Ok(a.clone()),
                    other => Err(Failure::new(
                        "States.QueryEvaluationError",
                        Some(self.runtime_cause(name, id, &format!("Map state input must be an array but was: {}", intrinsics::to_json_text(other)))),
                    )),
                },
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_map(&mut self, st: &State, map: &MapState, raw: &Value, effective: Value, sc: &StateCtx<'_>, id: u64) -> Result<Began, Failure> {
        let name = &st.name;
        let items = self.map_items(st, map, raw, &effective, sc, id)?;
        let (max_concurrency, tolerated_count, tolerated_pct) = {
            let doc = self.doc(st, sc, &effective, None);
            let mc = self.number(st, &map.max_concurrency, &doc, sc, "MaxConcurrency", "MaxConcurrencyPath", NumberKind::Integer, id)?;
            let tc = self.number(st, &map.tolerated_count, &doc, sc, "ToleratedFailureCount", "ToleratedFailureCountPath", NumberKind::Integer, id)?;
            let tp = self.number(st, &map.tolerated_percentage, &doc, sc, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", NumberKind::Float, id)?;
            (mc, tc, tp)
        };
        if max_concurrency.is_some_and(|x| x < 0.0) {
            return Err(Failure::runtime(self.runtime_cause(name, id, "MaxConcurrency cannot be negative.")));
        }
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Err(Failure::runtime(self.runtime_cause(name, id, "ToleratedFailureCount cannot be negative.")));
        }
        if tolerated_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(Failure::runtime(self.runtime_cause(name, id, "ToleratedFailurePercentage must be between 0 and 100.")));
        }
        let now = self.now();
        self.c.history.push(now, "MapStateStarted", json!({"length": items.len()}));
        // ItemBatcher: each child execution gets {"Items": [...], "BatchInput": ...};
        // batches are cut from the selected items, so those are selected up front.
        let (items, batched) = match &map.item_batcher {
            Some(b) => {
                let mut selected = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    selected.push(self.select_item(st, map, &effective, index, item, sc, id)?);
                }
                (self.batch(st, b, selected, &effective, sc, id)?, true)
            }
            None => (items, false),
        };
        let limit = match max_concurrency {
            Some(n) if n >= 1.0 => n as usize,
            _ if map.distributed => DISTRIBUTED_MAP_CONCURRENCY,
            _ => INLINE_MAP_CONCURRENCY,
        };
        let n = items.len();
        let effective = if map.item_selector.is_some() && !batched { effective } else { Value::Null };
        let map_run = map.distributed.then(|| {
            let c = &self.c.config;
            // The ARN names the Map by its Label, or by the state's name without one
            // (AWS's docs describe the Label's place in the ARN, not the default).
            let label = map.label.clone().unwrap_or_else(|| st.name.clone());
            // Its UUID comes from the seed and the state's event id, not the execution's
            // RNG, so a Map Run changes no other id the run makes.
            let mut rng = crate::rng::SplitMix64::new(c.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x4D41_5052_554E);
            let uuid = crate::rng::uuid_v4(rng.next_u64(), rng.next_u64());
            let machine = format!("{}/{label}", c.state_machine_name);
            let record = MapRunRecord {
                max_concurrency: max_concurrency.filter(|m| *m >= 1.0).map_or(0, |m| m as u64),
                tolerated_failure_count: tolerated_count.map_or(0, |c| c as u64),
                tolerated_failure_percentage: tolerated_pct.unwrap_or(0.0),
                ..MapRunRecord::new(
                    format!("arn:{}:states:{}:{}:mapRun:{machine}:{uuid}", c.partition, c.region, c.account),
                    format!("arn:{}:states:{}:{}:stateMachine:{machine}", c.partition, c.region, c.account),
                    now,
                    n as u64,
                )
            };
            self.c.history.push(now, "MapRunStarted", json!({"mapRunArn": record.map_run_arn}));
            self.c.map_runs.push(record);
            self.c.map_runs.len() - 1
        });
        Ok(Began::Phase(Phase::Map(Box::new(MapRun {
            map_run,
            items,
            batched,
            effective,
            next: 0,
            limit,
            active: Vec::new(),
            results: Vec::with_capacity(n),
            succeeded: Vec::with_capacity(n),
            records: Vec::new(),
            failures: 0,
            tolerated_count,
            tolerated_pct,
        }))))
    }

    /// ItemSelector for one item (the item itself without one).
    #[allow(clippy::too_many_arguments)]
    fn select_item(&mut self, st: &State, map: &MapState, effective: &Value, index: usize, item: &Value, sc: &StateCtx<'_>, id: u64) -> Result<Value, Failure> {
        match &map.item_selector {
            Some(t) => {
                let isc = StateCtx { map_item: Some((index, item)), task_token: None, ..*sc };
                let doc = self.doc(st, &isc, effective, None);
                self.tpl(st, t, &doc, &isc, "ItemSelector", id)
            }
            None => Ok(item.clone()),
        }
    }

    /// Starts iterations up to MaxConcurrency and drives the running ones.
    fn poll_map(&mut self, st: &State, mr: &mut MapRun, sc: &StateCtx<'_>, id: u64) -> Progress<Result<Value, Failure>> {
        let Kind::Map(map) = &st.kind else { unreachable_kind() };
        let name = &st.name;
        let total = mr.items.len();
        if let Some(r) = mr.map_run.and_then(|i| self.c.map_runs.get(i)) {
            // UpdateMapRun's values hold from here on.
            mr.limit = if r.max_concurrency == 0 { DISTRIBUTED_MAP_CONCURRENCY } else { r.max_concurrency as usize };
            if r.tolerance_updated {
                mr.tolerated_count = Some(r.tolerated_failure_count as f64);
                mr.tolerated_pct = Some(r.tolerated_failure_percentage);
            }
        }
        loop {
            let mut progressed = false;
            while mr.active.len() < mr.limit && mr.next < total {
                let index = mr.next;
                mr.next += 1;
                progressed = true;
                let item = std::mem::take(&mut mr.items[index]);
                // A redriven Map keeps the iterations that succeeded before.
                if let Some(Some(kept)) = self.c.map_resume.as_mut().and_then(|k| k.get_mut(index)).map(Option::take) {
                    mr.results.push(kept);
                    mr.succeeded.push(true);
                    continue;
                }
                let input = if mr.batched {
                    item.clone()
                } else {
                    match self.select_item(st, map, &mr.effective, index, &item, sc, id) {
                        Ok(v) => v,
                        Err(f) => return self.map_failed(map, mr, f),
                    }
                };
                let now = self.now();
                self.c.history.push(now, "MapIterationStarted", json!({"index": index, "name": name}));
                if map.result_writer.is_some() {
                    mr.records.push(MapRecord { index, input: input.clone(), result: Ok(Value::Null), start: now, stop: now });
                }
                let item_count = if mr.batched { input.get("Items").and_then(Value::as_array).map_or(1, Vec::len) as u64 } else { 1 };
                let distributed = mr.map_run.is_some();
                let child_input = if distributed { input.to_string() } else { String::new() };
                self.map_run_count(mr, |r| {
                    r.pending = r.pending.saturating_sub(1);
                    r.running += 1;
                    r.children.push(MapRunChild(index as u64, item_count, now, None, ChildStatus::Running));
                    r.child_data.push(ChildData { input: child_input, ..Default::default() });
                });
                let scope = self.alloc_scope(sc.scope);
                mr.results.push(Value::Null);
                mr.succeeded.push(false);
                mr.active.push(Fiber { scope, item: Some((index, item)), cur: map.processor.start, data: input, unchecked: true, run: None });
            }
            let mut i = 0;
            while i < mr.active.len() {
                let r = match self.drive(&map.processor, &mut mr.active[i]) {
                    Progress::Blocked => {
                        i += 1;
                        continue;
                    }
                    Progress::Ready(r) => r,
                };
                progressed = true;
                let fiber = mr.active.remove(i);
                self.free_scope(fiber.scope);
                let index = fiber.item.as_ref().map_or(0, |(i, _)| *i);
                let now = self.now();
                match r {
                    Ok(v) => {
                        self.map_run_count(mr, |r| {
                            r.running = r.running.saturating_sub(1);
                            r.succeeded += 1;
                            r.child_ended(index as u64, now, ChildStatus::Succeeded);
                            r.child_result(index as u64, Some(v.to_string()), None);
                        });
                        self.c.history.push(now, "MapIterationSucceeded", json!({"index": index, "name": name}));
                        if let Some(rec) = mr.records.iter_mut().find(|r| r.index == index) {
                            rec.result = Ok(v.clone());
                            rec.stop = now;
                        }
                        mr.results[index] = v;
                        mr.succeeded[index] = true;
                    }
                    Err(f) => {
                        self.map_run_count(mr, |r| {
                            r.running = r.running.saturating_sub(1);
                            r.failed += 1;
                            r.child_ended(index as u64, now, ChildStatus::Failed);
                            r.child_result(index as u64, None, Some((f.error.clone(), f.cause.clone())));
                        });
                        self.c.history.push(now, "MapIterationFailed", json!({"index": index, "name": name}));
                        if let Some(rec) = mr.records.iter_mut().find(|r| r.index == index) {
                            rec.result = Err((f.error.clone(), f.cause.clone()));
                            rec.stop = now;
                        }
                        if f.terminal.is_some() && f.error == "States.Runtime" {
                            self.discard_iterations(map, mr);
                            self.map_run_ended(mr, "FAILED", Some(&f));
                            return Progress::Ready(Err(f));
                        }
                        mr.failures += 1;
                        let failures = mr.failures as f64;
                        let tolerated = mr.tolerated_count.is_some_and(|c| failures <= c)
                            || mr.tolerated_pct.is_some_and(|p| failures * 100.0 / (total as f64) <= p);
                        if (mr.tolerated_count.is_none() && mr.tolerated_pct.is_none()) || !map.distributed && !tolerated {
                            return self.map_failed(map, mr, Failure { terminal: None, ..f });
                        }
                        if !tolerated {
                            let f = Failure::new("States.ExceedToleratedFailureThreshold", Some("The specified tolerated failure threshold was exceeded".into()));
                            return self.map_failed(map, mr, f);
                        }
                        mr.results[index] = json!({"Error": f.error, "Cause": f.cause});
                    }
                }
            }
            if mr.active.is_empty() && mr.next >= total {
                self.c.map_resume = None;
                let now = self.now();
                self.map_run_ended(mr, "SUCCEEDED", None);
                self.c.history.push(now, "MapStateSucceeded", json!({}));
                return Progress::Ready(Ok(Value::Array(std::mem::take(&mut mr.results))));
            }
            if !progressed {
                return Progress::Blocked;
            }
        }
    }

    /// Updates the Map Run's counts, for a Distributed Map.
    fn map_run_count(&mut self, mr: &MapRun, f: impl FnOnce(&mut MapRunRecord)) {
        if let Some(r) = mr.map_run.and_then(|i| self.c.map_runs.get_mut(i)) {
            f(r);
        }
    }

    /// A Map Run ended: its status, stop date and event (MapRunSucceeded / MapRunFailed /
    /// MapRunAborted).
    fn map_run_ended(&mut self, mr: &MapRun, status: &str, failure: Option<&Failure>) {
        let now = self.now();
        let Some(r) = mr.map_run.and_then(|i| self.c.map_runs.get_mut(i)) else { return };
        if r.stop_ms.is_some() {
            return;
        }
        r.status = status.into();
        r.stop_ms = Some(now);
        // Iterations that never started or were cut short count as aborted.
        r.aborted += r.pending + r.running;
        r.pending = 0;
        r.running = 0;
        for c in r.children.iter_mut().filter(|c| c.4 == ChildStatus::Running) {
            c.3 = Some(now);
            c.4 = ChildStatus::Aborted;
        }
        match (status, failure) {
            ("SUCCEEDED", _) => {
                self.c.history.push(now, "MapRunSucceeded", json!({}));
            }
            ("FAILED", Some(f)) => {
                let mut d = Map::new();
                d.insert("error".into(), json!(f.error));
                if let Some(c) = &f.cause {
                    d.insert("cause".into(), json!(c));
                }
                self.c.history.push(now, "MapRunFailed", Value::Object(d));
            }
            _ => {
                self.c.history.push(now, "MapRunAborted", json!({}));
            }
        }
    }

    /// Iterations still running when the Map fails are aborted, as on AWS.
    fn discard_iterations(&mut self, map: &MapState, mr: &mut MapRun) {
        for fiber in std::mem::take(&mut mr.active) {
            let index = fiber.item.as_ref().map_or(0, |(i, _)| *i);
            let now = self.now();
            self.c.history.push(now, "MapIterationAborted", json!({"index": index}));
            self.discard(&map.processor, fiber);
        }
    }

    fn map_failed(&mut self, map: &MapState, mr: &mut MapRun, f: Failure) -> Progress<Result<Value, Failure>> {
        self.discard_iterations(map, mr);
        self.map_run_ended(mr, "FAILED", Some(&f));
        let mut kept: Vec<Option<Value>> = vec![None; mr.items.len()];
        for (i, ok) in mr.succeeded.iter().enumerate() {
            if *ok {
                kept[i] = Some(std::mem::take(&mut mr.results[i]));
            }
        }
        self.c.failed_map = Some(kept);
        self.c.map_resume = None;
        let now = self.now();
        self.c.history.push(now, "MapStateFailed", json!({}));
        Progress::Ready(Err(f))
    }

    /// After the iterations: ResultWriter, if any, replaces the result.
    fn map_done(&mut self, st: &State, mr: MapRun, result: Value, sc: &StateCtx<'_>, id: u64) -> Result<Value, Failure> {
        let Kind::Map(map) = &st.kind else { unreachable_kind() };
        let Some(writer) = &map.result_writer else { return Ok(result) };
        let params = match &map.result_writer_params {
            Some(t) => {
                // ResultWriter's parameters read the Map's input, as ItemReader's do.
                let doc = self.doc(st, sc, &mr.effective, None);
                self.tpl(st, t, &doc, sc, "ResultWriter", id)?
            }
            None => Value::Object(Map::new()),
        };
        self.write_results(st, map, writer, &params, mr.records)
    }

    /// Groups the selected items into ItemBatcher batches.
    fn batch(&mut self, st: &State, b: &ItemBatcher, selected: Vec<Value>, effective: &Value, sc: &StateCtx<'_>, id: u64) -> Result<Vec<Value>, Failure> {
        let doc = self.doc(st, sc, effective, None).into_owned();
        let max_items = self
            .number(st, &b.max_items, &doc, sc, "MaxItemsPerBatch", "MaxItemsPerBatchPath", NumberKind::Integer, id)?
            .filter(|n| *n >= 1.0)
            .map_or(usize::MAX, |n| n as usize);
        let max_bytes = self
            .number(st, &b.max_bytes, &doc, sc, "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", NumberKind::Integer, id)?
            .filter(|n| *n >= 1.0)
            .map_or(MAX_PAYLOAD_BYTES, |n| (n as usize).min(MAX_PAYLOAD_BYTES));
        let batch_input = match &b.batch_input {
            Some(t) => Some(self.tpl(st, t, &doc, sc, "BatchInput", id)?),
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
    fn write_results(&mut self, st: &State, map: &MapState, _writer: &Value, params: &Value, mut records: Vec<MapRecord>) -> Result<Value, Failure> {
        records.sort_by_key(|r| r.index);
        let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or_default().to_string();
        let prefix = params.get("Prefix").and_then(Value::as_str).unwrap_or_default().to_string();
        let run_id = crate::rng::uuid_v4(self.c.rng.next_u64(), self.c.rng.next_u64());
        let label = map.label.clone().unwrap_or_else(|| st.name.clone());
        let c = &self.c.config;
        let map_run_arn = format!("arn:{}:states:{}:{}:mapRun:{}/{}:{}", c.partition, c.region, c.account, c.state_machine_name, label, run_id);
        let child_sm = format!("arn:{}:states:{}:{}:stateMachine:{}/{}", c.partition, c.region, c.account, c.state_machine_name, label);
        let base = if prefix.is_empty() { run_id.clone() } else { format!("{}/{run_id}", prefix.trim_end_matches('/')) };
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        for rec in records {
            let exec_name = format!("{run_id}-{}", rec.index);
            let mut r = Map::new();
            r.insert("ExecutionArn".into(), json!(format!("arn:{}:states:{}:{}:execution:{}/{}:{exec_name}", c.partition, c.region, c.account, c.state_machine_name, label)));
            r.insert("Input".into(), json!(intrinsics::to_json_text(&rec.input)));
            r.insert("InputDetails".into(), json!({"Included": true}));
            r.insert("Name".into(), json!(exec_name));
            match &rec.result {
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
            r.insert("StartDate".into(), json!(crate::time::format_millis(rec.start)));
            r.insert("StateMachineArn".into(), json!(child_sm));
            r.insert("Status".into(), json!(if rec.result.is_ok() { "SUCCEEDED" } else { "FAILED" }));
            r.insert("StopDate".into(), json!(crate::time::format_millis(rec.stop)));
            if rec.result.is_ok() {
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

    // ---------------------------------------------------------------
    // Catch

    fn caught(&mut self, st: &State, c: &Catcher, raw: Value, f: Failure, sc: &StateCtx<'_>, id: u64) -> Result<Flow, Failure> {
        let mut err_out = Map::new();
        err_out.insert("Error".into(), Value::String(f.error.clone()));
        err_out.insert("Cause".into(), f.cause.clone().map_or(Value::Null, Value::String));
        let err_out = Value::Object(err_out);
        let sc = StateCtx { retry_count: 0, ..*sc };
        let out = match st.ql {
            QueryLanguage::Jsonata => {
                let states = self.jsonata_states(&sc, &raw, None, Some(&err_out));
                let out = match &c.transition.output {
                    Some(t) => self.eval_jsonata_template(t, &states, sc.scope, "Output", &st.name, id)?,
                    // Without Output, a JSONata catcher hands on the error output
                    // ($states.errorOutput), not the state's input.
                    None => err_out.clone(),
                };
                if let Some(a) = &c.transition.assign {
                    let assigned = self.eval_jsonata_template(a, &states, sc.scope, "Assign", &st.name, id)?;
                    self.apply_assign(assigned, sc.scope);
                }
                out
            }
            QueryLanguage::JsonPath => {
                let new_vars = match &c.transition.assign {
                    Some(a) => Some(self.eval_template(a, &err_out, &sc, "Assign", &st.name, id)?),
                    None => None,
                };
                let out = self.apply_result_path(&c.result_path, &raw, err_out, &st.name, id)?;
                if let Some(a) = new_vars {
                    self.apply_assign(a, sc.scope);
                }
                out
            }
        };
        let now = self.now();
        self.c.history.push_state(now, st.kind.type_name(), "Exited", &st.name, Some(&out));
        self.services.state_exited(&st.name);
        Ok(Flow::Caught(c.transition.next, out))
    }

    // ---------------------------------------------------------------
    // JSONPath evaluation

    fn apply_result_path(&self, rp: &ResultPath, raw: &Value, result: Value, name: &str, id: u64) -> Result<Value, Failure> {
        match rp {
            ResultPath::Whole => Ok(result),
            ResultPath::Discard => Ok(raw.clone()),
            ResultPath::Path(p) => {
                let steps = p.steps().unwrap_or_default();
                let mut doc = raw.clone();
                match path::write(&mut doc, &steps, result) {
                    Ok(()) => Ok(doc),
                    Err(()) => Err(Failure::new(
                        "States.ResultPathMatchFailure",
                        Some(self.runtime_cause(
                            name,
                            id,
                            &format!(
                                "Unable to apply step \"{}\" to input {}",
                                p.as_str().trim_start_matches("$."),
                                intrinsics::to_json_text(raw)
                            ),
                        )),
                    )),
                }
            }
        }
    }

    fn read(&self, p: &Path, input: &Value, sc: &StateCtx<'_>) -> Result<Value, String> {
        let ctx_holder;
        let doc = match &p.root {
            Root::Input => input,
            Root::Context => {
                ctx_holder = self.context_value(sc, context_part(p));
                &ctx_holder
            }
            Root::Variable(name) => match self.var(sc.scope, name) {
                Some(v) => v,
                None => return Err(format!("Invalid path '{}' : The variable '${name}' is not defined.", p.as_str())),
            },
        };
        p.select(doc).map(Selected::into_owned).map_err(|m| format!("Invalid path '{}' : {m}", p.as_str()))
    }

    fn io_path(&self, io: &IoPath, raw: &Value, sc: &StateCtx<'_>, name: &str, id: u64) -> Result<Value, Failure> {
        match io {
            IoPath::Whole => Ok(raw.clone()),
            IoPath::Null => Ok(Value::Object(Map::new())),
            IoPath::Path(p) => self.read(p, raw, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m))),
        }
    }

    fn output_path(&self, io: &IoPath, out: Value, sc: &StateCtx<'_>, name: &str, id: u64) -> Result<Value, Failure> {
        match io {
            IoPath::Whole => Ok(out),
            _ => self.io_path(io, &out, sc, name, id),
        }
    }

    /// `_field` names the template's field for callers' symmetry with the JSONata
    /// evaluator; JSONPath messages name the key instead.
    fn eval_template(&mut self, t: &Template, input: &Value, sc: &StateCtx<'_>, _field: &str, name: &str, id: u64) -> Result<Value, Failure> {
        match t {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, sub) in entries {
                    let v = match sub {
                        Template::Path(p) => self.read(p, input, sc).map_err(|_| {
                            Failure::runtime(self.runtime_cause(
                                name,
                                id,
                                &format!(
                                    "The JSONPath '{}' specified for the field '{k}.$' could not be found in the input '{}'",
                                    p.as_str(),
                                    intrinsics::to_json_text(input)
                                ),
                            ))
                        })?,
                        other => self.eval_template(other, input, sc, _field, name, id)?,
                    };
                    m.insert(k.clone(), v);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval_template(i, input, sc, _field, name, id)?);
                }
                Ok(Value::Array(out))
            }
            Template::Path(p) => self.read(p, input, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m))),
            Template::Intrinsic(call) => self.intrinsic(call, input, sc, name, id),
            Template::Jsonata(_) => Err(Failure::runtime(self.runtime_cause(name, id, "JSONata expressions are not allowed in a JSONPath state"))),
        }
    }

    fn intrinsic(&mut self, call: &intrinsics::Call, input: &Value, sc: &StateCtx<'_>, name: &str, id: u64) -> Result<Value, Failure> {
        let ctx = if call_reads_context(call) { self.context_value(sc, ContextPart::All) } else { Value::Null };
        let c = &mut *self.c;
        let scopes = &c.scopes;
        let lookup = |n: &str| var_in(scopes, sc.scope, n);
        let rng = &mut c.rng;
        let mut next = || rng.next_u64();
        let mut scope = Scope { input, context: &ctx, variables: &lookup, random: &mut next };
        let r = intrinsics::eval(call, &mut scope);
        r.map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))
    }

    fn rule(&mut self, r: &Rule, input: &Value, sc: &StateCtx<'_>, name: &str, id: u64) -> Result<bool, Failure> {
        match r {
            Rule::And(rs) => {
                for x in rs {
                    if !self.rule(x, input, sc, name, id)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for x in rs {
                    if self.rule(x, input, sc, name, id)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(x) => Ok(!self.rule(x, input, sc, name, id)?),
            Rule::Test { variable, test, expected } => {
                let v = self.read(variable, input, sc);
                let r = match (test, &v) {
                    (TypeTest::Present, v) => v.is_ok(),
                    (_, Err(m)) => {
                        return Err(Failure::runtime(self.runtime_cause(name, id, m)));
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
                let v = self.read(variable, input, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?;
                Ok(v.as_str().is_some_and(|s| crate::choice::string_matches(s, pattern)))
            }
            Rule::Compare { variable, op, kind, operand } => {
                let v = self.read(variable, input, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?;
                let rhs = match operand {
                    Operand::Literal(l) => Cow::Borrowed(l),
                    Operand::Path(p) => Cow::Owned(self.read(p, input, sc).map_err(|m| Failure::runtime(self.runtime_cause(name, id, &m)))?),
                };
                Ok(crate::choice::compare(*kind, *op, &v, &rhs))
            }
            Rule::Condition(_) => Ok(false),
        }
    }

    // ---------------------------------------------------------------
    // JSONata evaluation

    fn jsonata_states(&self, sc: &StateCtx<'_>, input: &Value, result: Option<&Value>, error_output: Option<&Value>) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), input.clone());
        if let Some(r) = result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        m.insert("context".into(), self.context_value(sc, ContextPart::All));
        Value::Object(m)
    }

    fn jsonata_eval(&mut self, expr: &crate::query::JsonataExpr, states: &Value, scope: usize, field: &str, name: &str, id: u64) -> Result<Value, Failure> {
        let mut bindings = self.all_vars(scope);
        bindings.insert("states".into(), states.clone());
        let now = self.now();
        let rng = &mut self.c.rng;
        let mut random = || rng.next_f64();
        let mut env = jsonata::Env { bindings: &bindings, now_millis: now, random: &mut random };
        let r = expr.parsed.evaluate_outcome(None, &mut env);
        let src = expr.src.trim();
        match r {
            Ok(jsonata::Outcome::Value(v)) => Ok(v),
            Ok(jsonata::Outcome::Function) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(name, id, &format!("The JSONata expression '{src}' specified for the field '{field}' returned an unsupported result type."))),
            )),
            Ok(jsonata::Outcome::Undefined) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(name, id, &format!("The JSONata expression '{src}' specified for the field '{field}' returned nothing (undefined)."))),
            )),
            Err(e) => Err(Failure::new(
                "States.QueryEvaluationError",
                Some(self.runtime_cause(
                    name,
                    id,
                    &format!("The JSONata expression '{src}' specified for the field '{field}' threw an error during evaluation. {}: {}", e.code, e.message),
                )),
            )),
        }
    }

    fn eval_jsonata_template(&mut self, t: &Template, states: &Value, scope: usize, field: &str, name: &str, id: u64) -> Result<Value, Failure> {
        match t {
            Template::Jsonata(e) => self.jsonata_eval(e, states, scope, field, name, id),
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, sub) in entries {
                    let f = format!("{field}/{k}");
                    m.insert(k.clone(), self.eval_jsonata_template(sub, states, scope, &f, name, id)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, sub) in items.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    out.push(self.eval_jsonata_template(sub, states, scope, &f, name, id)?);
                }
                Ok(Value::Array(out))
            }
            Template::Path(_) | Template::Intrinsic(_) => Ok(Value::Null),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn jsonata_dyn<T: Clone>(
        &mut self,
        d: &Dyn<T>,
        states: &Value,
        scope: usize,
        field: &str,
        name: &str,
        id: u64,
        conv: impl Fn(&Value) -> Option<T>,
        what: &str,
    ) -> Result<T, Failure> {
        match d {
            Dyn::Literal(v) => Ok(v.clone()),
            Dyn::Jsonata(e) => {
                let v = self.jsonata_eval(e, states, scope, field, name, id)?;
                conv(&v).ok_or_else(|| {
                    Failure::new(
                        "States.QueryEvaluationError",
                        Some(self.runtime_cause(
                            name,
                            id,
                            &format!(
                                "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{what}', but was '{}' for value: {}",
                                e.src.trim(),
                                intrinsics::type_name(&v),
                                intrinsics::to_json_text(&v)
                            ),
                        )),
                    )
                })
            }
            _ => Err(Failure::runtime(self.runtime_cause(name, id, &format!("{field} is not supported here")))),
        }
    }
}

/// What an attempt's start produced.
enum Began {
    Flow(Flow),
    Phase(Phase),
}

fn next_flow(st: &State, out: Value) -> Flow {
    match st.next {
        Some(n) if !st.end => Flow::Next(n, out),
        _ => Flow::End(out),
    }
}

fn var_in<'s>(scopes: &'s [VarScope], scope: usize, name: &str) -> Option<&'s Value> {
    let mut cur = Some(scope);
    while let Some(s) = cur {
        let sc = scopes.get(s)?;
        if let Some(v) = sc.vars.get(name) {
            return Some(v);
        }
        cur = sc.parent;
    }
    None
}

fn unreachable_kind() -> ! {
    // The phase a state is in is always one its kind creates.
    panic!("internal: a state's phase does not match its kind")
}

fn call_reads_context(call: &intrinsics::Call) -> bool {
    call.args.iter().any(|a| match a {
        intrinsics::Arg::Path(p) => p.root == Root::Context,
        intrinsics::Arg::Call(c) => call_reads_context(c),
        intrinsics::Arg::Literal(_) => false,
    })
}

fn is_lambda_function(resource: &str) -> bool {
    resource.starts_with("arn:aws:lambda:") || resource.contains(":lambda:") && resource.contains(":function:")
}

fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() >= 7 && parts[2] == "states" && parts[5] == "activity"
}

/// History event names for a task: a Lambda function given directly as the
/// Resource is recorded as LambdaFunction* events.
fn task_event_names(resource: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    if is_activity(resource) {
        ("ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "ActivityFailed")
    } else if is_lambda_function(resource) {
        ("LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "LambdaFunctionFailed")
    } else {
        ("TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskFailed")
    }
}

/// TaskScheduled's `resourceType` / `resource`, as AWS splits a Resource ARN:
/// `arn:aws:states:::lambda:invoke` is `lambda` / `invoke`,
/// `arn:aws:states:::aws-sdk:comprehend:detectSentiment` is `aws-sdk` /
/// `comprehend:detectSentiment`, `...:sqs:sendMessage.waitForTaskToken` is
/// `sqs` / `sendMessage.waitForTaskToken`. Other ARNs (Lambda functions,
/// activities) are kept whole as the resource.
pub(crate) fn resource_split(resource: &str) -> (&str, &str) {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "states" && parts[3].is_empty() && parts[4].is_empty() {
        let rest = parts[5];
        if let Some((service, action)) = rest.split_once(':') {
            return (service, action);
        }
    }
    if is_activity(resource) {
        return ("activity", resource);
    }
    if is_lambda_function(resource) {
        return ("lambda", resource);
    }
    ("", resource)
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
