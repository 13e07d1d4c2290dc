//! The deterministic scheduler. Each execution runs `engine::run` on a pooled OS thread
//! against a shared world; before every service call its thread reports to the controller
//! and blocks until granted, so exactly one thread works at a time and the interleaving
//! is a function of the decisions alone. The decisions come from a seeded generator
//! (recorded as a `Script`) or from a script (replay and shrinking).

use super::scenario::{FaultRule, Op, OpKind, Scenario};
use crate::world::SharedWorld;
use asl_core::definition::Definition;
use asl_core::engine::{self, Clock, ExecutionConfig, Services, TaskCall, TaskError};
use asl_core::rng::SplitMix64;
use asl_eventbridge::events::PutEventsEntry;
use asl_aws::CallContext;
use asl_eventbridge::Delivery;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Virtual start of every run: 2026-01-01T00:00:00Z.
pub const EPOCH_MS: i64 = 1_767_225_600_000;
/// Virtual time each step takes.
const STEP_MS: i64 = 100;

/// An injected failure of one service call, with the name AWS gives it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The call is answered with this error; `applied`: after taking effect.
    Error { error: String, cause: String, applied: bool, delay_ms: i64 },
    /// The call never answers (States.Timeout after the Task's timeout, if it has one).
    Hang,
}

impl Fault {
    pub fn describe(&self) -> String {
        match self {
            Fault::Error { error, applied: true, .. } => format!("{error} (after the call took effect)"),
            Fault::Error { error, .. } => error.clone(),
            Fault::Hang => "no answer (hang)".into(),
        }
    }
}

/// One scheduling decision. Executions are named by where their event came from:
/// `e3` for the event of operation 3, `e3'` for its duplicate, `e3.2` for the event that
/// e3's second service call produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Op(usize),
    Start(String),
    Call(String, Option<Fault>),
}

/// Everything a run is made of: the operations (by their original index), which deliveries
/// are duplicated, and the schedule.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub ops: Vec<(usize, Op)>,
    pub dups: BTreeSet<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug)]
pub struct ExecRecord {
    pub label: String,
    pub machine: String,
    pub name: String,
    pub input: Value,
    pub status: String,
    pub end: engine::Ending,
    pub history: Vec<Value>,
}

pub struct RunResult {
    pub trace: Vec<String>,
    pub script: Script,
    pub executions: Vec<ExecRecord>,
    pub world: SharedWorld,
    /// Set when the run could not finish (step limit).
    pub aborted: Option<String>,
    /// How many of the steps came from the script (the rest from the fixed policy).
    pub from_script: usize,
}

// ------------------------------------------------------------------ worker pool

enum Report {
    AtCall { resource: String, state: String, timeout_s: Option<f64>, now: i64 },
    Done(Box<engine::Outcome>),
}

struct Grant {
    now: i64,
    fault: Option<Fault>,
}

struct Job {
    def: Arc<Definition>,
    input: Value,
    config: ExecutionConfig,
    start_ms: i64,
    record: bool,
    world: SharedWorld,
    lambdas: Arc<BTreeMap<String, Value>>,
    reports: Sender<Report>,
    grants: Receiver<Grant>,
}

/// Threads that run executions; they are reused across executions and runs.
pub struct Pool {
    idle: Vec<Sender<Job>>,
}

impl Pool {
    pub fn new() -> Pool {
        Pool { idle: Vec::new() }
    }

    fn spawn() -> Sender<Job> {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("sim-exec".into())
            .stack_size(16 << 20)
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    run_job(job);
                }
            })
            .expect("cannot start a simulation thread");
        tx
    }

    fn submit(&mut self, job: Job) -> Sender<Job> {
        let tx = self.idle.pop().unwrap_or_else(Pool::spawn);
        match tx.send(job) {
            Ok(()) => tx,
            Err(e) => {
                let tx = Pool::spawn();
                let _ = tx.send(e.0);
                tx
            }
        }
    }
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

struct SimServices {
    world: SharedWorld,
    reports: Sender<Report>,
    grants: Receiver<Grant>,
    lambdas: Arc<BTreeMap<String, Value>>,
    hung: bool,
}

fn stub_lambda(lambdas: &BTreeMap<String, Value>, call: &TaskCall<'_>) -> Option<Value> {
    if let Some(name) = crate::lambda::function_name_from_arn(call.resource) {
        return lambdas.get(&name).cloned();
    }
    if call.resource.contains(":lambda:invoke") {
        let f = call.parameters.get("FunctionName").and_then(Value::as_str)?;
        let out = lambdas.get(&crate::lambda::short_name(f))?;
        return Some(json!({"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200}));
    }
    None
}

impl Services for SimServices {
    // A child execution (`states:startExecution`) is driven by `engine::run`'s loop on this
    // execution's thread and clock; its own service calls are scheduling points like the parent's.
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> asl_core::engine::TaskStart {
        if let Some(child) = self.world.lock().start_child(call) {
            return child;
        }
        asl_core::engine::TaskStart::Done(self.call(call, clock))
    }
    fn child_definition(&mut self, state_machine_arn: &str) -> Option<std::sync::Arc<asl_core::definition::Definition>> {
        self.world.lock().child_definition(state_machine_arn)
    }
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        if self.hung {
            return Err(TaskError { error: "States.Runtime".into(), cause: Some("the execution is hung (simulated)".into()) });
        }
        let report = Report::AtCall {
            resource: call.resource.to_string(),
            state: call.state_name.to_string(),
            timeout_s: call.timeout_seconds.or(call.heartbeat_seconds),
            now: clock.now_millis(),
        };
        if self.reports.send(report).is_err() {
            return Err(TaskError { error: "States.Runtime".into(), cause: Some("simulation stopped".into()) });
        }
        let Ok(grant) = self.grants.recv() else {
            return Err(TaskError { error: "States.Runtime".into(), cause: Some("simulation stopped".into()) });
        };
        let now = clock.now_millis();
        if grant.now > now {
            clock.sleep(grant.now - now);
        }
        let real = |s: &mut SimServices, clock: &mut dyn Clock| match stub_lambda(&s.lambdas, call) {
            Some(v) => Ok(v),
            None => s.world.lock().call(call, clock),
        };
        match grant.fault {
            None => real(self, clock),
            Some(Fault::Error { error, cause, applied, delay_ms }) => {
                if applied {
                    let _ = real(self, clock);
                }
                if delay_ms > 0 {
                    clock.sleep(delay_ms);
                }
                Err(TaskError { error, cause: Some(cause) })
            }
            Some(Fault::Hang) => {
                if let Some(t) = call.timeout_seconds.or(call.heartbeat_seconds) {
                    clock.sleep((t * 1000.0) as i64);
                    let error = if call.timeout_seconds.is_some() { "States.Timeout" } else { "States.HeartbeatTimeout" };
                    Err(TaskError { error: error.into(), cause: None })
                } else {
                    self.hung = true;
                    Err(TaskError { error: "States.Runtime".into(), cause: Some("the execution is hung (simulated)".into()) })
                }
            }
        }
    }

    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        self.world.lock().read_items(reader, parameters)
    }
}

fn run_job(job: Job) {
    let reports = job.reports.clone();
    let mut services = SimServices { world: job.world, reports: job.reports, grants: job.grants, lambdas: job.lambdas, hung: false };
    let mut clock = engine::VirtualClock { now: job.start_ms };
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine::run(&job.def, job.input, &job.config, &mut services, &mut clock, job.record)
    }));
    let mut out = match started {
        Ok(out) => out,
        Err(p) => {
            // A bug in the interpreter or a service must not hang the controller.
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            engine::Outcome {
                status: engine::Status::Failed,
                end: engine::Ending { output: None, error: Some("Simulator.Panic".into()), cause: Some(msg) },
                history: asl_core::history::History::new(false),
                path: Vec::new(),
                start_millis: job.start_ms,
                stop_millis: job.start_ms,
                failed_state: None,
            }
        }
    };
    if services.hung {
        out.status = engine::Status::Aborted;
        out.end.error = Some("Hung".into());
        out.end.cause = Some("a service call never answered and the Task has no TimeoutSeconds: the execution would stay RUNNING".into());
    }
    let _ = reports.send(Report::Done(Box::new(out)));
}

// ------------------------------------------------------------------ the controller

pub enum Mode<'a> {
    Random(u64),
    Scripted(&'a Script),
}

struct Running {
    label: String,
    machine: String,
    calls: u32,
    /// Blocked at a service call: (resource, state, timeout, clock).
    at: Option<(String, String, Option<f64>, i64)>,
    grants: Sender<Grant>,
    worker: Sender<Job>,
    record_index: usize,
}

struct InFlight {
    label: String,
    delivery: Delivery,
    not_before: u64,
}

fn label_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The service name and integration style of a resource, for error names.
fn service_of(resource: &str) -> (String, bool) {
    if crate::lambda::function_name_from_arn(resource).is_some() {
        return ("lambda".into(), true);
    }
    let tail = resource.splitn(6, ':').nth(5).unwrap_or("");
    if let Some(rest) = tail.strip_prefix("aws-sdk:") {
        return (rest.split(':').next().unwrap_or("").to_string(), false);
    }
    (tail.split(':').next().unwrap_or("").to_string(), true)
}

/// The error Step Functions reports for a fault of `kind` on `resource`.
pub fn fault_error(rule: &FaultRule, resource: &str, timeout_s: Option<f64>, req: u64) -> Fault {
    let (svc, optimized) = service_of(resource);
    let rid = format!("{:08X}-SIM-{:04X}", req, req & 0xFFFF);
    if let Some(e) = &rule.error {
        let cause = rule.cause.clone().unwrap_or_else(|| format!("injected {e}"));
        return Fault::Error { error: e.clone(), cause, applied: rule.applied, delay_ms: 0 };
    }
    let (code, status, message) = match (rule.kind.as_str(), svc.as_str()) {
        ("hang", _) => return Fault::Hang,
        ("timeout", _) if timeout_s.is_some() => {
            return Fault::Error {
                error: "States.Timeout".into(),
                cause: String::new(),
                applied: rule.applied,
                delay_ms: (timeout_s.unwrap_or(0.0) * 1000.0) as i64,
            }
        }
        ("timeout", _) => ("SdkClientException", 0, "Unable to execute HTTP request: Read timed out"),
        ("throttle", "dynamodb") => (
            "ProvisionedThroughputExceededException",
            400,
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        ),
        ("throttle", "s3") => ("SlowDown", 503, "Please reduce your request rate."),
        ("throttle", "lambda") => ("TooManyRequestsException", 429, "Rate Exceeded."),
        ("throttle", _) => ("ThrottlingException", 400, "Rate exceeded"),
        ("5xx", "dynamodb") => ("InternalServerError", 500, "Internal server error"),
        ("5xx", "s3") => ("InternalError", 500, "We encountered an internal error. Please try again."),
        ("5xx", "lambda") => ("ServiceException", 500, "An error occurred and the request cannot be processed."),
        ("5xx", "states") => ("InternalServerError", 500, "Internal server error"),
        ("5xx", _) => ("InternalException", 500, "Internal error"),
        ("lambda-error", _) => {
            return Fault::Error {
                error: "Error".into(),
                cause: r#"{"errorType":"Error","errorMessage":"injected function error","trace":[]}"#.into(),
                applied: rule.applied,
                delay_ms: 0,
            }
        }
        _ => ("InternalServerError", 500, "Internal server error"),
    };
    let (error, cause) = match (svc.as_str(), optimized) {
        ("dynamodb", true) => (
            format!("DynamoDB.{code}"),
            format!("{message} (Service: AmazonDynamoDBv2; Status Code: {status}; Error Code: {code}; Request ID: {rid}; Proxy: null)"),
        ),
        ("dynamodb", false) => {
            let name = if code.ends_with("Exception") { code.to_string() } else { format!("{code}Exception") };
            (format!("DynamoDb.{name}"), format!("{message} (Service: DynamoDb, Status Code: {status}, Request ID: {rid})"))
        }
        ("s3", _) => {
            // As asl-s3's Step Functions layer names them (the SDK for Java v2's classes):
            // SlowDown and InternalError are not modelled, so S3.S3Exception; a client-side
            // timeout is the client's own SdkClientException.
            let name = if code == "SdkClientException" { code.to_string() } else { asl_s3::sfn::s3_sdk_error_name(code) };
            (format!("S3.{name}"), format!("{message} (Service: S3, Status Code: {status}, Request ID: {rid}, Extended Request ID: {rid})"))
        }
        ("lambda", _) => (
            format!("Lambda.{code}"),
            format!("{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; Request ID: {rid}; Proxy: null)"),
        ),
        ("events" | "eventbridge", true) => (
            "EventBridge.AmazonEventBridgeException".into(),
            format!("{message} (Service: AmazonEventBridge; Status Code: {status}; Error Code: {code}; Request ID: {rid}; Proxy: null)"),
        ),
        ("states", _) => (
            format!("StepFunctions.{}", if code.ends_with("Exception") { code.to_string() } else { format!("{code}Exception") }),
            format!("{message} (Service: AWSStepFunctions; Status Code: {status}; Error Code: {code}; Request ID: {rid}; Proxy: null)"),
        ),
        (other, _) => {
            let prefix: String = other.chars().take(1).flat_map(char::to_uppercase).chain(other.chars().skip(1)).collect();
            let name = if code.ends_with("Exception") { code.to_string() } else { format!("{code}Exception") };
            (format!("{prefix}.{name}"), format!("{message} (Service: {prefix}, Status Code: {status}, Request ID: {rid})"))
        }
    };
    Fault::Error { error, cause, applied: rule.applied, delay_ms: 0 }
}

fn rule_matches(rule: &FaultRule, svc: &str, state: &str, machine: &str) -> bool {
    (rule.services.is_empty() || rule.services.iter().any(|s| s == svc || (s == "eventbridge" && svc == "events")))
        && (rule.states.is_empty() || rule.states.iter().any(|s| s == state))
        && (rule.machines.is_empty() || rule.machines.iter().any(|s| s == machine))
        && (rule.kind != "lambda-error" || svc == "lambda")
}

/// The body of a PUT: `size` bytes that differ per operation (so that ETags differ).
fn body_of(idx: usize, size: u64) -> Vec<u8> {
    (0..size).map(|j| b'a' + ((idx as u64 + j) % 26) as u8).collect()
}

/// The random operation list of a seed.
pub fn generate_ops(sc: &Scenario, seed: u64) -> Vec<Op> {
    let mut ops = sc.workload.ops.clone();
    if let Some(r) = &sc.workload.random {
        let mut rng = SplitMix64::new(seed ^ 0x0505_0505_0505_0505);
        let total: u64 = r.weights.iter().map(|w| w.1).sum();
        for _ in 0..r.count {
            let user = &r.users[(rng.next_u64() % r.users.len() as u64) as usize];
            let key = &r.keys[(rng.next_u64() % r.keys.len() as u64) as usize];
            let mut pick = rng.next_u64() % total;
            let mut kind = "put";
            for (k, w) in &r.weights {
                if pick < *w {
                    kind = k;
                    break;
                }
                pick -= w;
            }
            let size = r.sizes[(rng.next_u64() % r.sizes.len() as u64) as usize];
            let key = format!("{user}/{key}");
            ops.push(match kind {
                "put" => Op { kind: OpKind::Put { size }, key },
                "delete" => Op { kind: OpKind::Delete, key },
                _ => Op { kind: OpKind::S3Delete, key },
            });
        }
    }
    ops
}

fn short_seq(event: &Value) -> String {
    let o = &event["detail"]["object"];
    match (o.get("key").and_then(Value::as_str), o.get("sequencer").and_then(Value::as_str)) {
        (Some(k), Some(s)) => {
            let dt = event.get("detail-type").and_then(Value::as_str).unwrap_or("");
            format!("{dt} {k} seq …{}", &s[s.len().saturating_sub(4)..])
        }
        _ if event.is_null() => "StartExecution".to_string(),
        _ => event.get("detail-type").and_then(Value::as_str).unwrap_or("event").to_string(),
    }
}

pub struct RunOptions {
    pub record_history: bool,
    pub trace: bool,
}

/// Runs one simulation: `Random(seed)` explores, `Scripted` replays a script (skipping
/// steps that are impossible, then finishing with a fixed policy and no faults).
pub fn run(sc: &Scenario, pool: &mut Pool, seed: u64, mode: Mode<'_>, opts: &RunOptions) -> RunResult {
    let world = SharedWorld::new(sc.world());
    let lambdas: Arc<BTreeMap<String, Value>> = Arc::new(sc.lambdas.iter().map(|(k, v)| (k.clone(), v.output.clone())).collect());
    let mut rng = SplitMix64::new(seed);
    let ops: Vec<(usize, Op)> = match &mode {
        Mode::Random(_) => generate_ops(sc, seed).into_iter().enumerate().collect(),
        Mode::Scripted(s) => s.ops.clone(),
    };
    let dups_given: Option<&BTreeSet<String>> = match &mode {
        Mode::Random(_) => None,
        Mode::Scripted(s) => Some(&s.dups),
    };
    let script_steps: Option<&[Step]> = match &mode {
        Mode::Random(_) => None,
        Mode::Scripted(s) => Some(&s.steps),
    };
    let (report_tx, report_rx) = channel::<Report>();
    let mut next_op = 0usize; // index into ops
    let mut inflight: Vec<InFlight> = Vec::new();
    let mut running: Vec<Running> = Vec::new();
    let mut records: Vec<ExecRecord> = Vec::new();
    let mut trace = Vec::new();
    let mut executed = Script { ops: ops.clone(), dups: BTreeSet::new(), steps: Vec::new() };
    let mut script_pos = 0usize;
    let mut now = EPOCH_MS;
    let mut step_no: u64 = 0;
    let mut aborted = None;
    let mut from_script = 0usize;

    // Deliveries made by a step, labelled by their origin.
    let add_deliveries = |origin: String,
                              ds: Vec<Delivery>,
                              inflight: &mut Vec<InFlight>,
                              executed: &mut Script,
                              rng: &mut SplitMix64,
                              step_no: u64,
                              trace: &mut Vec<String>| {
        for (k, d) in ds.into_iter().enumerate() {
            let label = if k == 0 { origin.clone() } else { format!("{origin}#{k}") };
            let dup_label = format!("{label}'");
            let duplicate = match dups_given {
                Some(set) => set.contains(&dup_label),
                None => sc.delivery.duplicate > 0.0 && rng.next_f64() < sc.delivery.duplicate,
            };
            let mut push = |label: String, rng: &mut SplitMix64| {
                let delayed = dups_given.is_none() && sc.delivery.delay > 0.0 && rng.next_f64() < sc.delivery.delay;
                let not_before = if delayed { step_no + 1 + rng.next_u64() % sc.delivery.delay_steps } else { 0 };
                if opts.trace {
                    let extra = if delayed { format!(" (delayed until step {not_before})") } else { String::new() };
                    trace.push(format!("      event {label} → {}: {}{extra}", d.target_arn.rsplit(':').next().unwrap_or(""), short_seq(&d.event)));
                }
                inflight.push(InFlight { label, delivery: d.clone(), not_before });
            };
            push(label.clone(), rng);
            if duplicate {
                executed.dups.insert(dup_label.clone());
                push(dup_label, rng);
            }
        }
    };

    loop {
        if step_no >= sc.max_steps {
            aborted = Some(format!("the run did not finish within {} steps", sc.max_steps));
            break;
        }
        // ---- choose the next step
        let mut chosen: Option<Step> = None;
        let mut scripted = script_steps.is_none();
        if let Some(steps) = script_steps {
            while script_pos < steps.len() && chosen.is_none() {
                let s = &steps[script_pos];
                script_pos += 1;
                let ok = match s {
                    Step::Op(i) => ops.get(next_op).is_some_and(|(idx, _)| idx == i),
                    Step::Start(l) => inflight.iter().any(|f| &f.label == l),
                    Step::Call(l, _) => running.iter().any(|r| &r.label == l && r.at.is_some()),
                };
                if ok {
                    chosen = Some(s.clone());
                    scripted = true;
                }
            }
            if chosen.is_none() {
                // The fixed policy once the script is used up: finish running executions,
                // then start deliveries in order, then the next operation.
                chosen = if let Some(r) = running.iter().find(|r| r.at.is_some()) {
                    Some(Step::Call(r.label.clone(), None))
                } else if let Some(f) = inflight.first() {
                    Some(Step::Start(f.label.clone()))
                } else {
                    ops.get(next_op).map(|(i, _)| Step::Op(*i))
                };
            }
        } else {
            let mut enabled: Vec<Step> = Vec::new();
            if let Some((i, _)) = ops.get(next_op) {
                enabled.push(Step::Op(*i));
            }
            if running.len() < sc.workload.concurrency {
                let ready: Vec<&InFlight> = inflight.iter().filter(|f| f.not_before <= step_no).collect();
                if sc.delivery.any_order {
                    enabled.extend(ready.iter().map(|f| Step::Start(f.label.clone())));
                } else if let Some(f) = ready.first() {
                    enabled.push(Step::Start(f.label.clone()));
                }
            }
            enabled.extend(running.iter().filter(|r| r.at.is_some()).map(|r| Step::Call(r.label.clone(), None)));
            if enabled.is_empty() {
                if let Some(f) = inflight.iter().min_by_key(|f| f.not_before) {
                    // Only delayed deliveries are left: their time has come.
                    if running.len() < sc.workload.concurrency || running.is_empty() {
                        enabled.push(Step::Start(f.label.clone()));
                    }
                }
            }
            if enabled.is_empty() {
                break;
            }
            let mut s = enabled.swap_remove((rng.next_u64() % enabled.len() as u64) as usize);
            if let Step::Call(l, fault) = &mut s {
                let r = running.iter().find(|r| &r.label == l).expect("a running execution");
                let (resource, state, timeout_s, _) = r.at.clone().expect("blocked at a call");
                let (svc, _) = service_of(&resource);
                for rule in &sc.faults {
                    if !rule_matches(rule, &svc, &state, &r.machine) {
                        continue;
                    }
                    let hit = rule.steps.contains(&(step_no + 1)) || (rule.probability > 0.0 && rng.next_f64() < rule.probability);
                    if hit {
                        *fault = Some(fault_error(rule, &resource, timeout_s, step_no + 1));
                        break;
                    }
                }
            }
            chosen = Some(s);
        }
        let Some(step) = chosen else { break };
        step_no += 1;
        now += STEP_MS;
        executed.steps.push(step.clone());
        if scripted {
            from_script += 1;
        }

        // ---- perform it
        let mut reply_from: Option<usize> = None; // index into running awaiting a report
        let mut origin = String::new();
        match &step {
            Step::Op(i) => {
                let (_, op) = &ops[next_op];
                next_op += 1;
                let mut w = world.lock();
                let ctx = CallContext::new(now, seed ^ label_hash(&format!("op{i}")));
                let mut ctx = ctx;
                ctx.account = super::scenario::ACCOUNT.into();
                ctx.requester = super::scenario::ACCOUNT.into();
                let mut deliveries = Vec::new();
                let mut note = String::new();
                match &op.kind {
                    OpKind::Put { size } => {
                        let input = asl_s3::s3::PutObjectInput {
                            bucket: sc.workload.bucket.clone(),
                            key: op.key.clone(),
                            body: body_of(*i, *size),
                            ..Default::default()
                        };
                        if let Err(e) = w.s3.put_object(input, &ctx) {
                            note = format!(" failed: {}", e.code);
                        }
                    }
                    OpKind::S3Delete => {
                        if let Err(e) = w.s3.delete_object(&sc.workload.bucket, &op.key, &ctx) {
                            note = format!(" failed: {}", e.code);
                        }
                    }
                    OpKind::Delete => {
                        let (user, rel) = op.key.split_once('/').unwrap_or(("", &op.key));
                        let (path, name) = match rel.rsplit_once('/') {
                            Some((p, n)) => (format!("{p}/"), n.to_string()),
                            None => (String::new(), rel.to_string()),
                        };
                        let detail = json!({"body": {"path": path, "name": name}, "user": user});
                        let entry = PutEventsEntry {
                            source: Some("FileApi".into()),
                            detail_type: Some("DeleteFile".into()),
                            detail: Some(detail.to_string()),
                            event_bus_name: sc.workload.delete_bus.clone(),
                            ..Default::default()
                        };
                        match w.events.put_events(&[entry], &ctx) {
                            Ok((_, ds)) => deliveries.extend(ds),
                            Err(e) => note = format!(" failed: {}", e.code),
                        }
                    }
                    OpKind::Event { bus, source, detail_type, detail } => {
                        let entry = PutEventsEntry {
                            source: Some(source.clone()),
                            detail_type: Some(detail_type.clone()),
                            detail: Some(detail.to_string()),
                            event_bus_name: bus.clone(),
                            ..Default::default()
                        };
                        match w.events.put_events(&[entry], &ctx) {
                            Ok((r, ds)) if r.failed_entry_count == 0 => deliveries.extend(ds),
                            Ok((r, _)) => note = format!(" failed: {}", r.to_json()),
                            Err(e) => note = format!(" failed: {}", e.code),
                        }
                    }
                    OpKind::Start { machine, input } => {
                        deliveries.push(Delivery {
                            target_id: machine.clone(),
                            target_arn: format!("arn:aws:states:{}:{}:stateMachine:{machine}", super::scenario::REGION, super::scenario::ACCOUNT),
                            rule_name: String::new(),
                            rule_arn: String::new(),
                            event_bus_name: String::new(),
                            input: input.clone(),
                            input_text: input.to_string(),
                            event: Value::Null,
                        });
                    }
                }
                for e in w.s3.drain_events() {
                    let ds = w.events.put_service_event(None, &e, &ctx);
                    deliveries.extend(ds);
                }
                drop(w);
                if opts.trace {
                    trace.push(format!("#{step_no} op {i}: {}{note}", op.describe()));
                }
                add_deliveries(format!("e{i}"), deliveries, &mut inflight, &mut executed, &mut rng, step_no, &mut trace);
            }
            Step::Start(label) => {
                let pos = inflight.iter().position(|f| &f.label == label).expect("in flight");
                let f = inflight.remove(pos);
                let machine_name = f.delivery.target_arn.rsplit(':').next().unwrap_or("").to_string();
                if let Some(m) = sc.machines.get(&machine_name) {
                    let (gtx, grx) = channel::<Grant>();
                    let config = ExecutionConfig {
                        region: super::scenario::REGION.into(),
                        account: super::scenario::ACCOUNT.into(),
                        state_machine_name: machine_name.clone(),
                        execution_name: format!("sim-{seed}-{}", label.replace('\'', "-dup").replace('#', "-")),
                        execution_type: m.exec_type,
                        seed: seed ^ label_hash(label),
                        // The seed also chooses how this execution's branches and
                        // iterations interleave, so those races are explored too.
                        interleave: Some(seed.rotate_left(17) ^ label_hash(label)),
                        ..Default::default()
                    };
                    let name = config.execution_name.clone();
                    let worker = pool.submit(Job {
                        def: m.def.clone(),
                        input: f.delivery.input.clone(),
                        config,
                        start_ms: now,
                        record: opts.record_history,
                        world: world.clone(),
                        lambdas: lambdas.clone(),
                        reports: report_tx.clone(),
                        grants: grx,
                    });
                    records.push(ExecRecord {
                        label: label.clone(),
                        machine: machine_name.clone(),
                        name,
                        input: f.delivery.input.clone(),
                        status: "RUNNING".into(),
                        end: engine::Ending::default(),
                        history: Vec::new(),
                    });
                    running.push(Running {
                        label: label.clone(),
                        machine: machine_name.clone(),
                        calls: 0,
                        at: None,
                        grants: gtx,
                        worker,
                        record_index: records.len() - 1,
                    });
                    if opts.trace {
                        trace.push(format!("#{step_no} start {label} ({machine_name}) ← {}", short_seq(&f.delivery.event)));
                    }
                    reply_from = Some(running.len() - 1);
                } else if opts.trace {
                    trace.push(format!("#{step_no} start {label}: no machine {machine_name} (dropped)"));
                }
            }
            Step::Call(label, fault) => {
                let idx = running.iter().position(|r| &r.label == label).expect("running");
                let r = &mut running[idx];
                let (resource, state, _, exec_now) = r.at.take().expect("blocked");
                r.calls += 1;
                origin = format!("{label}.{}", r.calls);
                now = now.max(exec_now);
                if opts.trace {
                    let short = resource.rsplit("states:::").next().unwrap_or(&resource);
                    let f = fault.as_ref().map(|f| format!("  ✗ FAULT {}", f.describe())).unwrap_or_default();
                    trace.push(format!("#{step_no} {label} call {}: {state} [{short}]{f}", r.calls));
                }
                let _ = r.grants.send(Grant { now, fault: fault.clone() });
                reply_from = Some(idx);
            }
        }

        // ---- wait for the execution that moved to block again or finish
        if let Some(idx) = reply_from {
            // An execution that never reaches a service call or its end (a loop of Pass,
            // Choice and Wait states) would block the run forever.
            let report = match report_rx.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(r) => r,
                Err(_) => {
                    let r = running.remove(idx);
                    aborted = Some(format!("execution {} ran for 60 s of real time without a service call or an end (an endless loop without service calls?)", r.label));
                    drop(r); // its thread is lost to the endless loop
                    break;
                }
            };
            match report {
                Report::AtCall { resource, state, timeout_s, now: t } => {
                    running[idx].at = Some((resource, state, timeout_s, t));
                }
                Report::Done(out) => {
                    let r = running.remove(idx);
                    pool.idle.push(r.worker.clone());
                    let rec = &mut records[r.record_index];
                    rec.status = if out.end.error.as_deref() == Some("Hung") { "RUNNING".into() } else { out.status.as_str().to_string() };
                    rec.end = out.end.clone();
                    rec.history = out.history.events().to_vec();
                    if rec.status == "RUNNING" {
                        // The history ends where the call hung: drop what the simulated failure added.
                        if let Some(cut) = rec.history.iter().position(|e| e["type"] == "TaskFailed" && e.to_string().contains("the execution is hung")) {
                            rec.history.truncate(cut);
                        }
                    }
                    now = now.max(out.stop_millis);
                    if opts.trace {
                        let detail = match (&out.end.output, &out.end.error) {
                            (Some(o), _) => o.to_string(),
                            (None, Some(e)) => format!("{e}: {}", out.end.cause.clone().unwrap_or_default()),
                            _ => String::new(),
                        };
                        let detail: String = if detail.chars().count() > 160 { detail.chars().take(160).chain("…".chars()).collect() } else { detail };
                        trace.push(format!("      {} ended {} {detail}", r.label, rec.status));
                    }
                }
            }
            // Events that the call produced (S3 events, PutEvents).
            let ds = world.lock().take_deliveries();
            if !ds.is_empty() {
                add_deliveries(origin.clone(), ds, &mut inflight, &mut executed, &mut rng, step_no, &mut trace);
            }
        }
    }
    // Release anything still blocked (step limit): without a grant channel their calls fail
    // at once, so their threads finish.
    let left = running.len();
    for r in running.drain(..) {
        drop(r.grants);
        pool.idle.push(r.worker);
    }
    let mut done = 0;
    while done < left {
        match report_rx.recv() {
            Ok(Report::Done(_)) => done += 1,
            Ok(Report::AtCall { .. }) => {}
            Err(_) => break,
        }
    }
    RunResult { trace, script: executed, executions: records, world, aborted, from_script }
}
