//! Executions: started by the Step Functions API, the HTTP API and event deliveries.
//!
//! An execution is a value (`asl_core::engine::Execution`): a worker thread steps it
//! until it ends or must wait (a Wait state, a retry back-off, a callback token, an
//! activity), then PARKS it here and is free for other work. A parked execution
//! holds no thread: the timer thread re-queues it when its earliest deadline
//! passes, and SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat / StopExecution
//! reach it through its task token or ARN. So 1,000 executions in a 10 s Wait cost
//! 1,000 parked values, not 1,000 threads.
//!
//! StartSyncExecution (Express only) runs on the caller's thread. Each finished
//! execution logs one line (machine/name, status, duration, state path) and hands
//! the event deliveries it caused to the pool.

use super::{persist, Machine, State};
use asl_store::Op;
use crate::clock::{wall_millis, RealClock};
use asl_core::engine::{ChildStart, Ending, MapRunRecord, Execution, ExecutionConfig, ExecutionType, Outcome, ResumeError, Step, WaitKind};
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Record {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub express: bool,
    pub status: String,
    pub input: Value,
    pub end: Ending,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    pub history: Vec<Value>,
}

pub enum Job {
    Start { machine: Arc<Machine>, name: String, input: Value },
    Resume { arn: String },
}

impl Record {
    /// The record as the store keeps it (`sfn:execution`).
    pub fn to_json(&self) -> Value {
        json!({
            "arn": self.arn, "machineArn": self.machine_arn, "name": self.name, "express": self.express,
            "status": self.status, "input": self.input, "output": self.end.output, "error": self.end.error,
            "cause": self.end.cause, "start": self.start_ms, "stop": self.stop_ms, "history": self.history,
        })
    }
    pub fn from_json(v: &Value) -> Option<Record> {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        Some(Record {
            arn: s("arn")?,
            machine_arn: s("machineArn")?,
            name: s("name")?,
            express: v["express"].as_bool().unwrap_or(false),
            status: s("status")?,
            input: v["input"].clone(),
            end: Ending { output: (!v["output"].is_null()).then(|| v["output"].clone()), error: s("error"), cause: s("cause") },
            start_ms: v["start"].as_i64().unwrap_or(0),
            stop_ms: v["stop"].as_i64(),
            history: v["history"].as_array().cloned().unwrap_or_default(),
        })
    }
    fn op(&self) -> Op {
        Op::put(persist::EXECUTIONS, self.arn.clone(), self.to_json().to_string())
    }
}

/// The parked value as the store keeps it (`sfn:checkpoint`): a restart resumes from it.
fn checkpoint_op(arn: &str, machine: &Machine, exec: &Execution) -> Op {
    let v = json!({"machineArn": machine.arn, "execution": exec});
    Op::put(persist::CHECKPOINTS, arn.to_string(), v.to_string())
}

/// Commits; a failure is logged (the execution goes on in memory; a restart resumes it
/// from its last durable checkpoint).
fn commit(state: &Arc<State>, ops: Vec<Op>) {
    if let Err(e) = persist::flush(state, ops) {
        state.log(format_args!("store: {e}"));
        eprintln!("warning: store: {e}");
    }
}

/// An execution waiting for a deadline or an answer.
struct Parked {
    exec: Execution,
    machine: Arc<Machine>,
    /// The earliest deadline it waits for (a timer, a task timeout, the execution timeout).
    deadline: Option<i64>,
}

/// Running executions that are not on a worker right now, and how to reach them.
#[derive(Default)]
struct Parking {
    parked: HashMap<String, Parked>,
    /// Executions a worker is stepping: an answer for one waits until it is parked again.
    busy: HashSet<String>,
    /// Task token → execution ARN, for every token an execution waits on (and, after
    /// it ended, so that late answers get TaskTimedOut/TaskDoesNotExist, not InvalidToken).
    tokens: HashMap<String, String>,
    /// (deadline, execution ARN), earliest first; stale entries are skipped.
    timers: BinaryHeap<Reverse<(i64, String)>>,
    /// Standard executions that ended without succeeding: RedriveExecution resumes them.
    ended: HashMap<String, Parked>,
    /// Execution ARN → (redrive count, last redrive date), for DescribeExecution.
    redrives: HashMap<String, (u32, i64)>,
}

pub struct Executions {
    pub records: Mutex<BTreeMap<String, Record>>,
    /// Child executions (`states:startExecution`) by their ARN: the parent's ARN and
    /// the start request (a `.sync` parent's wait is resumed when the child ends).
    children: Mutex<HashMap<String, (String, ChildStart)>>,
    /// The Map Runs of each execution (by execution ARN), as of its last step.
    map_runs: Mutex<HashMap<String, Vec<MapRunRecord>>>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    parking: Mutex<Parking>,
    /// Signalled when an execution is parked (answers waiting for a busy one) and
    /// when a new timer is set (the timer thread).
    changed: Condvar,
    #[allow(dead_code)]
    data_dir: Option<PathBuf>,
}

/// Why an answer (SendTask*, StopExecution) was refused: AWS's error code and message.
pub type Refusal = (&'static str, String);

impl Executions {
    pub fn new(data_dir: Option<PathBuf>) -> Executions {
        Executions {
            records: Mutex::new(BTreeMap::new()),
            children: Mutex::new(HashMap::new()),
            map_runs: Mutex::new(HashMap::new()),
            queue: Mutex::new(None),
            parking: Mutex::new(Parking::default()),
            changed: Condvar::new(),
            data_dir,
        }
    }
    pub fn get(&self, arn: &str) -> Option<Record> {
        lock(&self.records).get(arn).cloned()
    }
    fn enqueue(&self, job: Job) {
        if let Some(q) = lock(&self.queue).clone() {
            let _ = q.send(job);
        }
    }
    /// How many executions are parked (waiting without a thread).
    pub fn parked(&self) -> usize {
        lock(&self.parking).parked.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread must not make serve unusable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const WORKERS: usize = 4;

pub fn start_workers(state: &Arc<State>) {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let rx = rx.clone();
        let st = Arc::downgrade(state);
        let _ = std::thread::Builder::new().name(format!("exec-{i}")).spawn(move || loop {
            let job = lock(&rx).recv();
            let Ok(job) = job else { return };
            let Some(state) = st.upgrade() else { return };
            match job {
                Job::Start { machine, name, input } => {
                    let exec = begin(&state, &machine, &name, input);
                    advance(&state, machine, exec);
                }
                Job::Resume { arn } => {
                    let taken = {
                        let mut p = lock(&state.executions.parking);
                        let taken = p.parked.remove(&arn);
                        if taken.is_some() {
                            p.busy.insert(arn.clone());
                        }
                        taken
                    };
                    if let Some(parked) = taken {
                        advance(&state, parked.machine, parked.exec);
                    }
                }
            }
        });
    }
    *lock(&state.executions.queue) = Some(tx);
    start_timer(state);
}

/// The timer thread: re-queues parked executions whose deadline has passed.
fn start_timer(state: &Arc<State>) {
    let st = Arc::downgrade(state);
    let _ = std::thread::Builder::new().name("exec-timer".into()).spawn(move || loop {
        let Some(state) = st.upgrade() else { return };
        if state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let ex = &state.executions;
        let mut due = Vec::new();
        {
            let mut p = lock(&ex.parking);
            let now = wall_millis();
            while let Some(Reverse((t, arn))) = p.timers.peek().cloned() {
                if t > now {
                    break;
                }
                p.timers.pop();
                // Stale when the execution moved on (answered, stopped, re-parked later).
                if p.parked.get(&arn).is_some_and(|x| x.deadline.is_some_and(|d| d <= now)) {
                    due.push(arn);
                }
            }
            if due.is_empty() {
                let wait = p.timers.peek().map_or(500, |Reverse((t, _))| (t - now).clamp(1, 500)) as u64;
                let _ = ex.changed.wait_timeout(p, Duration::from_millis(wait));
                continue;
            }
        }
        for arn in due {
            ex.enqueue(Job::Resume { arn });
        }
    });
}

pub fn execution_arn(m: &Machine, name: &str) -> String {
    let kind = if m.express { "express" } else { "execution" };
    format!("arn:aws:states:{}:{}:{kind}:{}:{name}", super::template::REGION, super::template::ACCOUNT, m.name)
}

/// Registers a RUNNING execution and queues it. Returns (arn, start ms), or the
/// existing execution's when a Standard execution of that name exists with the same input.
pub fn start_async(state: &Arc<State>, m: &Arc<Machine>, name: Option<String>, input: Value) -> Result<(String, i64), (String, String)> {
    let name = name.unwrap_or_else(|| state.uuid());
    let arn = execution_arn(m, &name);
    let now = wall_millis();
    {
        let mut recs = lock(&state.executions.records);
        if let Some(r) = recs.get(&arn) {
            if r.input == input && r.status == "RUNNING" {
                return Ok((arn, r.start_ms));
            }
            return Err(("ExecutionAlreadyExists".into(), format!("Execution Already Exists: '{arn}'")));
        }
        recs.insert(arn.clone(), record(m, &arn, &name, &input, now));
    }
    // Durable before the answer: a restart starts it from its input.
    let rec = record(m, &arn, &name, &input, now);
    if let Err(e) = persist::flush(state, vec![rec.op()]) {
        lock(&state.executions.records).remove(&arn);
        return Err(("ServiceUnavailable".into(), format!("the execution could not be stored: {e}")));
    }
    state.executions.enqueue(Job::Start { machine: m.clone(), name, input });
    Ok((arn, now))
}

fn record(m: &Machine, arn: &str, name: &str, input: &Value, now: i64) -> Record {
    Record {
        arn: arn.to_string(),
        machine_arn: m.arn.clone(),
        name: name.to_string(),
        express: m.express,
        status: "RUNNING".into(),
        input: input.clone(),
        end: Ending::default(),
        start_ms: now,
        stop_ms: None,
        history: Vec::new(),
    }
}

/// The execution value for a new run (its record exists or is created here).
fn begin(state: &Arc<State>, m: &Arc<Machine>, name: &str, input: Value) -> Execution {
    let arn = execution_arn(m, name);
    let start = wall_millis();
    lock(&state.executions.records).entry(arn.clone()).or_insert_with(|| record(m, &arn, name, &input, start));
    lock(&state.executions.parking).busy.insert(arn);
    let config = ExecutionConfig {
        region: super::template::REGION.into(),
        account: super::template::ACCOUNT.into(),
        state_machine_name: m.name.clone(),
        execution_name: name.to_string(),
        execution_type: if m.express { ExecutionType::Express } else { ExecutionType::Standard },
        seed: state.next_seed(),
        ..ExecutionConfig::default()
    };
    Execution::start(&m.definition, input, config, start, !m.express)
}

/// Steps `exec` (this thread is its only owner) until it ends or must wait; then
/// finishes its record or parks it.
fn advance(state: &Arc<State>, m: Arc<Machine>, mut exec: Execution) {
    // serve's record key (its own ARN form), not the engine's `$$.Execution.Id`.
    let arn = execution_arn(&m, &exec.config().execution_name);
    let mut services = state.world.clone();
    let step = exec.step(&m.definition, &mut services, &mut RealClock);
    start_children(state, &arn, exec.take_children());
    note_map_runs(state, &arn, &exec);
    match step {
        Step::Done(out) => {
            finish(state, &m, &arn, &out);
            keep_for_redrive(state, &arn, m, exec, &out);
        }
        Step::Waiting(waits) => {
            stop_orphans(state, &arn, Some(&exec));
            let deadline = waits.iter().filter_map(|w| w.deadline).min();
            let mut ops = vec![checkpoint_op(&arn, &m, &exec)];
            {
                let mut rec = lock(&state.executions.records);
                if let Some(r) = rec.get_mut(&arn) {
                    // The history so far, for DescribeExecution / GetExecutionHistory of a running execution.
                    r.history = exec.history().events().to_vec();
                    ops.push(r.op());
                }
            }
            // Checkpointed (with what its tasks changed) while still busy: an answer
            // waits until it is parked, so no later state is overwritten by this one.
            commit(state, ops);
            let mut p = lock(&state.executions.parking);
            for w in &waits {
                if let WaitKind::Task { token: Some(t), .. } = &w.kind {
                    p.tokens.insert(t.clone(), arn.clone());
                }
            }
            if let Some(d) = deadline {
                p.timers.push(Reverse((d, arn.clone())));
            }
            p.busy.remove(&arn);
            p.parked.insert(arn, Parked { exec, machine: m, deadline });
            drop(p);
            state.executions.changed.notify_all();
        }
    }
}

/// Keeps a copy of the execution's Map Runs (ListMapRuns and DescribeMapRun read them,
/// also once the execution ended).
fn note_map_runs(state: &State, arn: &str, exec: &Execution) {
    if !exec.map_runs().is_empty() {
        let mut all = lock(&state.executions.map_runs);
        let kept = all.entry(arn.to_string()).or_default();
        kept.truncate(exec.map_runs().len());
        for (i, r) in exec.map_runs().iter().enumerate() {
            match kept.get_mut(i) {
                Some(copy) => r.update_copy(copy),
                None => kept.push(r.clone()),
            }
        }
    }
}

impl Executions {
    /// ListMapRuns: the Map Runs of an execution, in the order they started.
    pub fn map_runs_of(&self, execution_arn: &str) -> Vec<MapRunRecord> {
        lock(&self.map_runs).get(execution_arn).cloned().unwrap_or_default()
    }
    /// DescribeExecution of a Map Run's child execution (its ARN is
    /// `execution:MACHINE/LABEL:NAME`): the child's dates, status, input and result, and the
    /// `mapRunArn` AWS adds for children. The children are kept in their Map Run's record, so
    /// only the Map Runs of that `MACHINE/LABEL` are searched.
    pub fn describe_map_run_child(&self, arn: &str) -> Option<Value> {
        let (machine_part, _) = arn.rsplit_once(':')?;
        let machine_arn = machine_part.replacen(":execution:", ":stateMachine:", 1);
        let runs = lock(&self.map_runs);
        let (run, child, data) = runs.values().flatten().filter(|r| r.state_machine_arn == machine_arn).find_map(|r| r.child_by_arn(arn).map(|(c, d)| (r, c, d)))?;
        let mut v = json!({
            "executionArn": arn,
            "stateMachineArn": run.state_machine_arn,
            "name": run.child_name(child.0),
            "status": child.4.as_str(),
            "startDate": child.2 as f64 / 1000.0,
            "input": data.map_or("{}".to_string(), |d| d.input.clone()),
            "inputDetails": {"included": true},
            "mapRunArn": run.map_run_arn,
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        });
        if let Some(stop) = child.3 {
            v["stopDate"] = json!(stop as f64 / 1000.0);
        }
        if let Some(d) = data {
            if let Some(o) = &d.output {
                v["output"] = json!(o);
                v["outputDetails"] = json!({"included": true});
            }
            if let Some(e) = &d.error {
                v["error"] = json!(e);
            }
            if let Some(c) = &d.cause {
                v["cause"] = json!(c);
            }
        }
        Some(v)
    }

    /// DescribeMapRun: a Map Run and the ARN of its execution.
    pub fn map_run(&self, map_run_arn: &str) -> Option<(String, MapRunRecord)> {
        lock(&self.map_runs).iter().find_map(|(e, runs)| runs.iter().find(|r| r.map_run_arn == map_run_arn).map(|r| (e.clone(), r.clone())))
    }
}

/// UpdateMapRun: changes a running Map Run's MaxConcurrency and tolerated failures; the
/// execution steps again at once so that a higher limit starts iterations now.
pub fn update_map_run(state: &Arc<State>, map_run_arn: &str, max_concurrency: Option<u64>, count: Option<u64>, percentage: Option<f64>) -> Result<(), Refusal> {
    let not_found = || ("ResourceNotFound", format!("Resource not found: '{map_run_arn}'"));
    let (arn, run) = state.executions.map_run(map_run_arn).ok_or_else(not_found)?;
    if run.status != "RUNNING" {
        // AWS's docs name no error for an ended Map Run; the update changes nothing then.
        return Ok(());
    }
    let op = with_parked(state, &arn, |p| {
        p.exec.update_map_run(map_run_arn, max_concurrency, count, percentage).then(|| {
            note_map_runs(state, &arn, &p.exec);
            checkpoint_op(&arn, &p.machine, &p.exec)
        })
    })
    .flatten();
    if let Some(op) = op {
        commit(state, vec![op]);
        state.executions.enqueue(Job::Resume { arn });
    }
    Ok(())
}

/// Starts the child executions a step asked for, each a real execution (listed,
/// described, stoppable) queued like any other.
fn start_children(state: &Arc<State>, parent: &str, children: Vec<ChildStart>) {
    for child in children {
        let refused = match state.machine_by_arn(&child.state_machine_arn) {
            None => Some(format!("State Machine Does Not Exist: '{}'", child.state_machine_arn)),
            Some(m) => {
                // Linked before it starts: a quick child can end on a worker before
                // start_async returns, and its end must find the parent to resume.
                let arn = execution_arn(&m, &child.config.execution_name);
                let before = lock(&state.executions.children).insert(arn.clone(), (parent.to_string(), child.clone()));
                match start_async(state, &m, Some(child.config.execution_name.clone()), child.input.clone()) {
                    Ok(_) => None,
                    Err((code, message)) => {
                        let mut links = lock(&state.executions.children);
                        match before {
                            Some(link) => links.insert(arn, link),
                            None => links.remove(&arn),
                        };
                        Some(format!("{code}: {message}"))
                    }
                }
            }
        };
        if let (Some(why), Some(w)) = (refused, child.wait) {
            // The parent's task fails as StartExecution failed (a name already used, ...).
            let answer = asl_core::engine::Answer::Failure { error: "States.TaskFailed".into(), cause: Some(why) };
            resume_parent(state, parent, w, answer);
        }
    }
}

/// Delivers a child's end (or refusal) to the `.sync` parent task waiting for it.
fn resume_parent(state: &Arc<State>, parent: &str, wait: u64, answer: asl_core::engine::Answer) {
    let now = wall_millis();
    let parent = parent.to_string();
    let state2 = state.clone();
    // On another thread: the parent may be on a worker right now (this may be its own
    // step), and `with_parked` waits until it is parked.
    let _ = std::thread::Builder::new().name("exec-child-end".into()).spawn(move || {
        let op = with_parked(&state2, &parent, |p| p.exec.resume(wait, answer, now).ok().map(|()| checkpoint_op(&parent, &p.machine, &p.exec))).flatten();
        if let Some(op) = op {
            commit(&state2, vec![op]);
            state2.executions.enqueue(Job::Resume { arn: parent });
        }
    });
}

/// Stops the running `.sync` children of `parent` that it no longer waits for: all of
/// them once it ended (`exec` is `None`), else those whose task timed out or was
/// cancelled. Step Functions stops them (the `.sync` integration's IAM policy grants
/// `states:StopExecution` for it: https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html);
/// fire-and-forget and callback children run on.
fn stop_orphans(state: &Arc<State>, parent: &str, exec: Option<&Execution>) {
    let orphans: Vec<String> = lock(&state.executions.children)
        .iter()
        .filter(|(_, (p, c))| p == parent && c.wait.is_some_and(|w| exec.is_none_or(|e| !e.waits_on(w))))
        .map(|(arn, _)| arn.clone())
        .collect();
    for arn in orphans {
        if state.executions.get(&arn).is_some_and(|r| r.status == "RUNNING") {
            let state = state.clone();
            // Not on this thread: `stop` waits for a child busy on a worker.
            let _ = std::thread::Builder::new().name("exec-stop-child".into()).spawn(move || {
                let _ = stop(&state, &arn, None, None);
            });
        }
    }
}

/// Records an ended execution, logs it and dispatches what it caused.
fn finish(state: &Arc<State>, m: &Machine, arn: &str, out: &Outcome) {
    let rec = {
        let mut recs = lock(&state.executions.records);
        let Some(r) = recs.get_mut(arn) else { return };
        r.status = out.status.as_str().to_string();
        r.end = out.end.clone();
        r.start_ms = out.start_millis;
        r.stop_ms = Some(out.stop_millis);
        r.history = out.history.events().to_vec();
        r.clone()
    };
    {
        let mut p = lock(&state.executions.parking);
        p.busy.remove(arn);
        p.parked.remove(arn);
    }
    state.executions.changed.notify_all();
    let path = out.path.join(" → ");
    let err = match (&out.end.error, &out.end.cause) {
        (Some(e), Some(c)) => format!("  {e}: {}", c.chars().take(200).collect::<String>()),
        (Some(e), None) => format!("  {e}"),
        _ => String::new(),
    };
    let ms = (out.stop_millis - out.start_millis).max(0);
    state.log(format_args!("exec {}/{} {} {ms} ms  {path}{err}", m.name, short(&rec.name), out.status.as_str()));
    // The deliveries it caused are committed (and started) with it.
    commit(state, vec![rec.op(), Op::delete(persist::CHECKPOINTS, arn.to_string())]);
    // A `.sync` parent waiting for this child resumes; children it waited for stop.
    let link = lock(&state.executions.children).get(arn).cloned();
    if let Some((parent, child)) = link {
        if let Some(w) = child.wait {
            resume_parent(state, &parent, w, asl_core::engine::child_answer(&child, out));
        }
    }
    stop_orphans(state, arn, None);
}

/// Runs an execution to its end on this thread (StartSyncExecution, the HTTP
/// API's synchronous route) and returns its record. Waits sleep this thread:
/// Express executions are short and take no callbacks.
pub fn run(state: &Arc<State>, m: &Arc<Machine>, name: &str, input: Value) -> Record {
    let mut exec = begin(state, m, name, input);
    let arn = execution_arn(m, &exec.config().execution_name);
    let mut services = state.world.clone();
    loop {
        match exec.step(&m.definition, &mut services, &mut RealClock) {
            Step::Done(out) => {
                finish(state, m, &arn, &out);
                break;
            }
            Step::Waiting(waits) => {
                let now = wall_millis();
                let until = waits.iter().filter_map(|w| w.deadline).min().unwrap_or(now + 1000);
                std::thread::sleep(Duration::from_millis((until - now).clamp(1, 1000) as u64));
            }
        }
    }
    state.executions.get(&arn).unwrap_or_else(|| record(m, &arn, name, &Value::Null, 0))
}

/// Waits (a bounded time) until `arn` is parked, and runs `f` on it then.
fn with_parked<T>(state: &Arc<State>, arn: &str, f: impl FnOnce(&mut Parked) -> T) -> Option<T> {
    let ex = &state.executions;
    let mut p = lock(&ex.parking);
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while p.busy.contains(arn) && std::time::Instant::now() < give_up {
        p = ex.changed.wait_timeout(p, Duration::from_millis(50)).map(|r| r.0).unwrap_or_else(|e| e.into_inner().0);
    }
    let r = p.parked.get_mut(arn).map(f);
    r
}

/// What a SendTask* call does with its token.
pub enum TaskAnswer {
    Success(Value),
    Failure { error: String, cause: Option<String> },
    Heartbeat,
}

/// SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat.
pub fn answer_task(state: &Arc<State>, token: &str, answer: TaskAnswer) -> Result<(), Refusal> {
    // A worker may hand a task out (an activity, a callback's message) before the
    // execution that owns the token is parked: wait for busy executions a moment.
    let arn = {
        let ex = &state.executions;
        let mut p = lock(&ex.parking);
        let give_up = std::time::Instant::now() + Duration::from_secs(5);
        while !p.tokens.contains_key(token) && !p.busy.is_empty() && std::time::Instant::now() < give_up {
            p = ex.changed.wait_timeout(p, Duration::from_millis(20)).map(|r| r.0).unwrap_or_else(|e| e.into_inner().0);
        }
        p.tokens.get(token).cloned()
    };
    let Some(arn) = arn else {
        return Err(("InvalidToken", "Invalid Token: 'Invalid token'".into()));
    };
    let now = wall_millis();
    let heartbeat = matches!(answer, TaskAnswer::Heartbeat);
    let r = with_parked(state, &arn, |p| {
        let r = match answer {
            TaskAnswer::Success(v) => p.exec.send_task_success(token, v, now),
            TaskAnswer::Failure { error, cause } => p.exec.send_task_failure(token, &error, cause.as_deref(), now),
            TaskAnswer::Heartbeat => p.exec.send_task_heartbeat(token, now),
        };
        r.map(|()| checkpoint_op(&arn, &p.machine, &p.exec))
    });
    // The answer is durable before it is acknowledged: a restart resumes with it.
    let r = match r {
        Some(Ok(op)) => match persist::flush(state, vec![op]) {
            Ok(()) => Some(Ok(())),
            Err(e) => return Err(("ServiceUnavailable", format!("the answer could not be stored: {e}"))),
        },
        Some(Err(e)) => Some(Err(e)),
        None => None,
    };
    match r {
        // The execution ended (or is not parked any more): the task is gone.
        None => Err(("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'".into())),
        Some(Err(e)) => Err(refusal(&e)),
        Some(Ok(())) => {
            if heartbeat {
                // A heartbeat moves the deadline: the timer must learn the new one.
                let mut p = lock(&state.executions.parking);
                if let Some(x) = p.parked.get_mut(&arn) {
                    x.deadline = x.exec.waits().iter().filter_map(|w| w.deadline).min();
                    if let Some(d) = x.deadline {
                        p.timers.push(Reverse((d, arn.clone())));
                    }
                }
                drop(p);
                state.executions.changed.notify_all();
            } else {
                state.executions.enqueue(Job::Resume { arn });
            }
            Ok(())
        }
    }
}

fn refusal(e: &ResumeError) -> Refusal {
    (e.code(), e.message().to_string())
}

/// StopExecution: ends a running execution ABORTED. Returns the stop time.
pub fn stop(state: &Arc<State>, arn: &str, error: Option<&str>, cause: Option<&str>) -> Result<i64, Refusal> {
    let Some(rec) = state.executions.get(arn) else {
        return Err(("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")));
    };
    if rec.status != "RUNNING" {
        // AWS answers a stop of an ended execution with its stop date, changing nothing.
        return Ok(rec.stop_ms.unwrap_or(rec.start_ms));
    }
    let now = wall_millis();
    let stopped = {
        let ex = &state.executions;
        let mut p = lock(&ex.parking);
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while p.busy.contains(arn) && std::time::Instant::now() < give_up {
            p = ex.changed.wait_timeout(p, Duration::from_millis(50)).map(|r| r.0).unwrap_or_else(|e| e.into_inner().0);
        }
        p.parked.remove(arn)
    };
    let Some(mut parked) = stopped else {
        // Not parked and not busy: it ended meanwhile.
        return Ok(state.executions.get(arn).and_then(|r| r.stop_ms).unwrap_or(now));
    };
    let tokens: Vec<String> = parked
        .exec
        .waits()
        .into_iter()
        .filter_map(|w| match w.kind {
            WaitKind::Task { token, .. } => token,
            _ => None,
        })
        .collect();
    let out = parked.exec.stop(&parked.machine.definition, error, cause, now).clone();
    note_map_runs(state, arn, &parked.exec);
    {
        let mut world = state.world.lock();
        for t in &tokens {
            world.activities.withdraw(t);
        }
    }
    finish(state, &parked.machine, arn, &out);
    keep_for_redrive(state, arn, parked.machine, parked.exec, &out);
    Ok(now)
}

/// Keeps an ended Standard execution that did not succeed, for RedriveExecution.
fn keep_for_redrive(state: &Arc<State>, arn: &str, machine: Arc<Machine>, exec: Execution, out: &Outcome) {
    if !machine.express && out.status != asl_core::engine::Status::Succeeded {
        lock(&state.executions.parking).ended.insert(arn.to_string(), Parked { exec, machine, deadline: None });
    }
}

/// RedriveExecution: restarts a FAILED, TIMED_OUT or ABORTED Standard execution from the
/// state that did not succeed (`Execution::redrive`, AWS's rules); answers the redrive date.
pub fn redrive(state: &Arc<State>, arn: &str) -> Result<i64, Refusal> {
    let Some(rec) = state.executions.get(arn) else {
        return Err(("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")));
    };
    let now = wall_millis();
    let mut p = lock(&state.executions.parking);
    let Some(mut parked) = p.ended.remove(arn) else {
        // Running, succeeded, or ended before this serve started (not kept).
        let why = if rec.status == "RUNNING" { "it is still running" } else if rec.status == "SUCCEEDED" { "it succeeded" } else { "its execution state was not kept" };
        return Err(("ExecutionNotRedrivable", format!("Execution '{arn}' cannot be redriven: {why}")));
    };
    if let Err(e) = parked.exec.redrive(&parked.machine.definition, now) {
        p.ended.insert(arn.to_string(), parked);
        return Err((e.code, e.message));
    }
    p.redrives.insert(arn.to_string(), (parked.exec.redrive_count(), now));
    {
        let mut recs = lock(&state.executions.records);
        if let Some(r) = recs.get_mut(arn) {
            r.status = "RUNNING".into();
            r.stop_ms = None;
            r.end = Ending::default();
            r.history = parked.exec.history().events().to_vec();
        }
    }
    p.parked.insert(arn.to_string(), parked);
    drop(p);
    state.log(format_args!("exec redriven {arn}"));
    state.executions.enqueue(Job::Resume { arn: arn.to_string() });
    Ok(now)
}

/// DescribeExecution's redrive fields (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
pub fn redrive_fields(state: &State, r: &Record) -> serde_json::Map<String, Value> {
    let p = lock(&state.executions.parking);
    let mut m = serde_json::Map::new();
    let (count, date) = p.redrives.get(&r.arn).copied().unwrap_or((0, 0));
    m.insert("redriveCount".into(), json!(count));
    if count > 0 {
        m.insert("redriveDate".into(), json!(date as f64 / 1000.0));
    }
    let (status, reason) = match r.status.as_str() {
        _ if r.express => ("NOT_REDRIVABLE", "Express executions cannot be redriven"),
        "RUNNING" => ("NOT_REDRIVABLE", "Execution is RUNNING and cannot be redriven"),
        "SUCCEEDED" => ("NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"),
        _ if p.ended.contains_key(&r.arn) => ("REDRIVABLE", ""),
        _ => ("NOT_REDRIVABLE", "The execution state was not kept"),
    };
    m.insert("redriveStatus".into(), json!(status));
    if !reason.is_empty() {
        m.insert("redriveStatusReason".into(), json!(reason));
    }
    m
}

fn short(name: &str) -> &str {
    if name.len() > 12 {
        &name[..8]
    } else {
        name
    }
}

/// Makes event deliveries: those to state machines become RUNNING execution records (their
/// ops go into the commit of the change that caused them) and the jobs returned, to start
/// once committed; those to SQS queues and SNS topics are made in `world` at once (the same
/// commit). A delivery that fails (its target does not exist) goes to the target's
/// dead-letter queue, or is dropped and logged without one (`asl_world::targets`).
pub fn register_deliveries(state: &Arc<State>, world: &mut asl_world::World, deliveries: Vec<asl_eventbridge::events::Delivery>, ops: &mut Vec<Op>) -> Vec<Job> {
    use asl_world::targets::{target_service, TargetFailure};
    let mut jobs = Vec::new();
    let now = wall_millis();
    for d in deliveries {
        let failure = if target_service(&d.target_arn) == "states" {
            match state.machine_by_arn(&d.target_arn) {
                Some(m) => {
                    let name = state.uuid();
                    let arn = execution_arn(&m, &name);
                    let rec = record(&m, &arn, &name, &d.input, now);
                    ops.push(rec.op());
                    lock(&state.executions.records).insert(arn, rec);
                    jobs.push(Job::Start { machine: m, name, input: d.input });
                    continue;
                }
                None => TargetFailure::no_resource(format!("State Machine Does Not Exist: '{}'", d.target_arn)),
            }
        } else {
            match world.deliver_to_queue_or_topic(&d, now) {
                Some(Ok(())) => continue,
                Some(Err(f)) => f,
                None => TargetFailure::no_resource(format!("{} is not a target asl-sim serve delivers to (state machines, SQS queues, SNS topics)", d.target_arn)),
            }
        };
        let dlq = state.target_extras.dead_letter_arn(&d.event_bus_name, &d.rule_name, &d.target_id);
        let outcome = match dlq.as_deref() {
            Some(q) => match world.dead_letter(&d, q, &failure, now) {
                Ok(()) => format!("sent to its dead-letter queue {q}"),
                Err(e) => format!("dropped: its dead-letter queue failed too ({}: {})", e.code, e.message),
            },
            None => "dropped (the target has no DeadLetterConfig)".to_string(),
        };
        state.log(format_args!("rule {}: target {}: {}: {}; event {outcome}", d.rule_name, d.target_arn, failure.code, failure.message));
    }
    jobs
}

pub fn enqueue_starts(state: &Arc<State>, jobs: Vec<Job>) {
    for j in jobs {
        state.executions.enqueue(j);
    }
}

/// Drops the records of deliveries whose commit failed.
pub fn forget(state: &Arc<State>, jobs: &[Job]) {
    let mut recs = lock(&state.executions.records);
    for j in jobs {
        if let Job::Start { machine, name, .. } = j {
            recs.remove(&execution_arn(machine, name));
        }
    }
}

/// Commits what changed and starts the executions pending deliveries target.
pub fn dispatch(state: &Arc<State>) -> Result<(), asl_store::StoreError> {
    persist::flush(state, Vec::new())
}

pub fn describe_json(r: &Record) -> Value {
    let mut v = json!({
        "executionArn": r.arn,
        "stateMachineArn": r.machine_arn,
        "name": r.name,
        "status": r.status,
        "startDate": r.start_ms as f64 / 1000.0,
        "input": r.input.to_string(),
        "inputDetails": {"included": true},
    });
    if let Some(s) = r.stop_ms {
        v["stopDate"] = json!(s as f64 / 1000.0);
    }
    if r.status == "SUCCEEDED" {
        v["output"] = json!(r.end.output.clone().unwrap_or(Value::Null).to_string());
        v["outputDetails"] = json!({"included": true});
    }
    if let Some(e) = &r.end.error {
        v["error"] = json!(e);
    }
    if let Some(c) = &r.end.cause {
        v["cause"] = json!(c);
    }
    v
}

/// serve's and `run --state`'s previous format (format version 0: `<dir>/state.json`, the
/// whole data rewritten at each change), upgraded once into the store (persist.rs).
pub const STATE_FILE: &str = "state.json";

/// How long AWS keeps a Standard execution's record after it ended: 90 days
/// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Execution history retention").
pub const RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// Start-up: reads the stored execution records (dropping those past retention, and
/// the oldest ended ones beyond `keep`), parks the checkpointed running executions
/// (their timers, task tokens and activities keep waiting) and restarts from its
/// input a running execution that never reached a checkpoint. Returns (records, resumed).
pub fn restore(state: &Arc<State>, keep: usize) -> Result<(usize, usize), String> {
    let store = state.persist.store.clone();
    let mut records = Vec::new();
    let mut damaged = Vec::new();
    store
        .scan(persist::EXECUTIONS, &mut |k, v| match serde_json::from_slice::<Value>(v).ok().as_ref().and_then(Record::from_json) {
            Some(r) => records.push(r),
            None => damaged.push(k.to_string()),
        })
        .map_err(|e| e.message)?;
    let mut checkpoints: HashMap<String, Value> = HashMap::new();
    store
        .scan(persist::CHECKPOINTS, &mut |k, v| {
            if let Ok(x) = serde_json::from_slice::<Value>(v) {
                checkpoints.insert(k.to_string(), x);
            }
        })
        .map_err(|e| e.message)?;
    let now = wall_millis();
    let mut drop_ops: Vec<Op> = damaged.iter().map(|k| Op::delete(persist::EXECUTIONS, k.clone())).collect();
    for k in &damaged {
        eprintln!("warning: the stored execution record {k} is damaged; dropped");
    }
    records.retain(|r| {
        let expired = r.stop_ms.is_some_and(|s| now - s > RETENTION_MS);
        if expired {
            drop_ops.push(Op::delete(persist::EXECUTIONS, r.arn.clone()));
        }
        !expired
    });
    let ended = records.iter().filter(|r| r.status != "RUNNING").count();
    if records.len() > keep && ended > 0 {
        let mut by_stop: Vec<(i64, String)> = records.iter().filter(|r| r.status != "RUNNING").map(|r| (r.stop_ms.unwrap_or(0), r.arn.clone())).collect();
        by_stop.sort();
        let excess = (records.len() - keep).min(by_stop.len());
        let gone: HashSet<String> = by_stop.into_iter().take(excess).map(|(_, a)| a).collect();
        records.retain(|r| !gone.contains(&r.arn));
        drop_ops.extend(gone.into_iter().map(|a| Op::delete(persist::EXECUTIONS, a)));
    }
    store.commit(drop_ops).map_err(|e| e.message)?;
    restart_order(&mut records);
    let count = records.len();
    let mut resumed = 0;
    let mut starts = Vec::new();
    {
        let mut recs = lock(&state.executions.records);
        let mut p = lock(&state.executions.parking);
        for r in records {
            if r.status == "RUNNING" {
                match state.machine_by_arn(&r.machine_arn) {
                    None => eprintln!("warning: execution {}: its state machine {} is gone; it stays RUNNING", r.arn, r.machine_arn),
                    Some(m) => {
                        let parked = checkpoints.get(&r.arn).and_then(|c| serde_json::from_value::<Execution>(c["execution"].clone()).ok());
                        match parked {
                            Some(exec) => {
                                let waits = exec.waits();
                                let deadline = waits.iter().filter_map(|w| w.deadline).min();
                                for w in &waits {
                                    if let WaitKind::Task { token: Some(t), .. } = &w.kind {
                                        p.tokens.insert(t.clone(), r.arn.clone());
                                    }
                                }
                                if let Some(d) = deadline {
                                    p.timers.push(Reverse((d, r.arn.clone())));
                                }
                                p.parked.insert(r.arn.clone(), Parked { exec, machine: m, deadline });
                            }
                            None => starts.push(Job::Start { machine: m, name: r.name.clone(), input: r.input.clone() }),
                        }
                        resumed += 1;
                    }
                }
            }
            recs.insert(r.arn.clone(), r);
        }
    }
    // A stored activity task whose execution is not waiting on it any more (it starts
    // again from its input and will schedule a new one) is not handed out.
    let awaited: HashSet<String> = lock(&state.executions.parking).tokens.keys().cloned().collect();
    state.world.lock().activities.retain_tasks(|t| awaited.contains(t));
    state.executions.changed.notify_all();
    enqueue_starts(state, starts);
    Ok((count, resumed))
}

/// The order in which a restart starts again the executions that had not reached a
/// checkpoint: the order they were started in (the store lists them by ARN, whose names
/// are random), so deliveries made in one order (a delete request, then the upload of the
/// same name) are not replayed in another.
fn restart_order(records: &mut [Record]) {
    records.sort_by(|a, b| (a.start_ms, &a.arn).cmp(&(b.start_ms, &b.arn)));
}

/// A task a parked execution waits on with a token: a `.waitForTaskToken` callback or an
/// activity task (what the console lists with its answer form).
#[derive(Clone, Debug)]
pub struct WaitingTask {
    pub execution_arn: String,
    pub state: String,
    pub resource: String,
    pub token: String,
    /// When the task times out (TimeoutSeconds / HeartbeatSeconds), if it does.
    pub deadline: Option<i64>,
}

impl Executions {
    /// Every task token a parked execution waits on, by execution ARN then state.
    pub fn waiting_tasks(&self) -> Vec<WaitingTask> {
        let p = lock(&self.parking);
        let mut out: Vec<WaitingTask> = Vec::new();
        for (arn, parked) in &p.parked {
            for w in parked.exec.waits() {
                if let WaitKind::Task { state, resource, token: Some(token), .. } = w.kind {
                    out.push(WaitingTask { execution_arn: arn.clone(), state, resource, token, deadline: w.deadline });
                }
            }
        }
        out.sort_by(|a, b| (&a.execution_arn, &a.state).cmp(&(&b.execution_arn, &b.state)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(arn: &str, start_ms: i64) -> Record {
        Record {
            arn: arn.into(),
            machine_arn: "m".into(),
            name: arn.into(),
            express: false,
            status: "RUNNING".into(),
            input: json!({}),
            end: Ending::default(),
            start_ms,
            stop_ms: None,
            history: Vec::new(),
        }
    }

    #[test]
    fn a_restart_starts_unfinished_executions_in_their_start_order_not_arn_order() {
        // As the store lists them (by ARN): an update-inventory execution started after a
        // delete execution sorts before it when its random name does.
        let mut records = vec![rec("arn:x:UpdateInventory:0aaa", 30), rec("arn:x:Delete:ffff", 10), rec("arn:x:UpdateInventory:0bbb", 20)];
        records.sort_by(|a, b| a.arn.cmp(&b.arn));
        restart_order(&mut records);
        let order: Vec<&str> = records.iter().map(|r| r.arn.as_str()).collect();
        assert_eq!(order, ["arn:x:Delete:ffff", "arn:x:UpdateInventory:0bbb", "arn:x:UpdateInventory:0aaa"]);
    }
}
