//! Data-driven cases for the execution value: callbacks, heartbeats,
//! activities, stop, concurrency, quotas. Each file in `tests/engine-cases/`
//! is one execution, the AWS documentation page its expectations follow,
//! and a script the test driver plays: when to answer which task (success,
//! failure, heartbeats, never), when to stop the execution.
//!
//! The driver is a real one: it steps the `Execution`, waits in virtual time
//! for the earliest deadline or scripted answer, and round-trips the
//! execution through JSON (serde) between every two steps, so every case also
//! proves an execution resumes after being written out and read back.

use asl_core::definition::Definition;
use asl_core::engine::{self, ChildPattern, ChildStart, Clock, Execution, ExecutionConfig, ExecutionType, Services, Step, TaskCall, TaskError, TaskStart, Wait, WaitKind};
use std::sync::Arc;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Tasks whose resource waits for an answer (callbacks, activities) stay
/// pending; other tasks answer at once with `{"echo": parameters}`, or fail
/// when their parameters say `"fail": "ErrorName"`.
struct Driver;

impl Services for Driver {
    fn call(&mut self, call: &TaskCall<'_>, _clock: &mut dyn Clock) -> Result<Value, TaskError> {
        if let Some(e) = call.parameters.get("fail").and_then(Value::as_str) {
            return Err(TaskError { error: e.into(), cause: Some("scripted failure".into()) });
        }
        Ok(json!({"echo": call.parameters}))
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        if call.resource.ends_with(".waitForTaskToken") || call.resource.contains(":activity:") {
            return TaskStart::Pending { submitted: call.resource.ends_with(".waitForTaskToken").then(|| json!({"MessageId": "m-1"})) };
        }
        TaskStart::Done(self.call(call, clock))
    }
}

/// The driver of the child-execution cases (`"machines"`): `states:startExecution*`
/// starts an execution of one of the case's machines (by the name in
/// `StateMachineArn`), which `engine::run_with_children` drives beside its parent.
struct Children {
    machines: HashMap<String, Arc<Definition>>,
    started: u64,
}

impl Services for Children {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        Driver.call(call, clock)
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        let Some(rest) = call.resource.strip_prefix("arn:aws:states:::states:startExecution") else { return Driver.start_task(call, clock) };
        let arn = call.parameters["StateMachineArn"].as_str().unwrap_or("");
        let machine = arn.rsplit(':').next().unwrap_or("").to_string();
        if !self.machines.contains_key(&machine) {
            return TaskStart::Done(Err(TaskError { error: "StepFunctions.StateMachineDoesNotExistException".into(), cause: Some(arn.into()) }));
        }
        self.started += 1;
        let name = call.parameters["Name"].as_str().map_or_else(|| format!("child-{}", self.started), str::to_string);
        let config = ExecutionConfig { state_machine_name: machine, execution_name: name, seed: self.started, ..call.config.clone() };
        let pattern = match rest {
            ".sync" => ChildPattern::Sync,
            ".sync:2" => ChildPattern::Sync2,
            ".waitForTaskToken" => ChildPattern::Callback,
            _ => ChildPattern::Async,
        };
        TaskStart::Child(Box::new(ChildStart {
            state_machine_arn: config.state_machine_arn(),
            execution_arn: config.execution_arn(),
            config,
            input: call.parameters.get("Input").cloned().unwrap_or(json!({})),
            pattern,
            start_ms: call.now_millis,
            parent_execution_arn: String::new(),
            wait: None,
        }))
    }
    fn child_definition(&mut self, state_machine_arn: &str) -> Option<Arc<Definition>> {
        self.machines.get(state_machine_arn.rsplit(':').next().unwrap_or("")).cloned()
    }
}

fn load(v: &Value) -> Definition {
    let text = serde_json::to_string(v).unwrap();
    let (def, diags) = asl_core::load_definition(&text, &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    def.expect("definition")
}

/// A child-execution case: the parent and its children driven by `engine::run_with_children`
/// in virtual time.
fn play_children(case: &Value) -> (asl_core::engine::Outcome, Vec<engine::ChildRun>) {
    let def = load(&case["definition"]);
    let machines = case["machines"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), Arc::new(load(v)))).collect();
    let mut services = Children { machines, started: 0 };
    let mut clock = engine::VirtualClock { now: 1_700_000_000_000 };
    engine::run_with_children(&def, case["input"].clone(), &ExecutionConfig::default(), &mut services, &mut clock, true, &mut engine::NoAnswers)
}

/// One scripted answer to the task a state started.
#[derive(Debug, Clone)]
struct Action {
    /// Seconds after the task started (the wait appeared).
    after: f64,
    kind: String,
    output: Value,
    error: String,
    cause: Option<String>,
}

/// Scripts per (state, occurrence): an answer with `"occurrence": n` is for
/// the n-th task that state starts; without, for every one.
type Script = HashMap<(String, Option<u64>), Vec<Action>>;

fn actions(case: &Value) -> Script {
    let mut out: Script = HashMap::new();
    for a in case["answers"].as_array().into_iter().flatten() {
        let state = a["state"].as_str().expect("answer.state").to_string();
        let list = out.entry((state, a["occurrence"].as_u64())).or_default();
        for t in a["heartbeats"].as_array().into_iter().flatten() {
            list.push(Action { after: t.as_f64().unwrap(), kind: "heartbeat".into(), output: Value::Null, error: String::new(), cause: None });
        }
        if let Some(kind) = a["answer"].as_str() {
            list.push(Action {
                after: a["after_seconds"].as_f64().unwrap_or(0.0),
                kind: kind.into(),
                output: a.get("output").cloned().unwrap_or(json!({})),
                error: a["error"].as_str().unwrap_or_default().into(),
                cause: a["cause"].as_str().map(str::to_string),
            });
        }
        list.sort_by(|x, y| x.after.total_cmp(&y.after));
    }
    out
}

struct Run {
    outcome: asl_core::engine::Outcome,
    resend_errors: Vec<String>,
    /// Before a scripted redrive: the first outcome's status, and the redrive's refusal.
    first_status: Option<String>,
    redrive_error: Option<String>,
    redrive_count: u32,
}

fn play(case: &Value) -> Run {
    let def_text = serde_json::to_string(&case["definition"]).unwrap();
    let (def, diags) = asl_core::load_definition(&def_text, &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    let def = def.expect("definition");
    let mut config = ExecutionConfig::default();
    if case["type"] == "EXPRESS" {
        config.execution_type = ExecutionType::Express;
    }
    let start = 1_700_000_000_000i64;
    let mut now = start;
    let mut exec = Execution::start(&def, case["input"].clone(), config, now, true);
    let mut script = actions(case);
    let mut redrive = case.get("redrive").cloned();
    let mut first_status = None;
    let mut redrive_error = None;
    // Per wait id: when the task started and the answers still to send.
    let mut pending: HashMap<u64, (i64, Vec<Action>, Option<String>)> = HashMap::new();
    let mut started: HashMap<String, u64> = HashMap::new();
    let mut stop_at = case["stop"]["at_seconds"].as_f64().map(|s| start + (s * 1000.0) as i64);
    let mut resend_errors = Vec::new();
    let mut answered_tokens: Vec<String> = Vec::new();
    for steps in 0..100_000 {
        // The execution is a value: write it out and read it back between
        // steps (every step at first; every 1,000th in the long quota cases,
        // whose histories are large).
        if steps < 200 || steps % 1000 == 0 {
            let text = serde_json::to_string(&exec).expect("serialise");
            exec = serde_json::from_str(&text).expect("deserialise");
        }
        let waits: Vec<Wait> = match exec.step_at(&def, &mut Driver, now) {
            Step::Done(outcome) => {
                if let Some(r) = redrive.take() {
                    first_status = Some(outcome.status.as_str().to_string());
                    now += (r["after_seconds"].as_f64().unwrap_or(0.0) * 1000.0) as i64;
                    match exec.redrive(&def, now) {
                        Ok(()) => {
                            script = actions(&r);
                            pending.clear();
                            started.clear();
                            continue;
                        }
                        Err(e) => redrive_error = Some(e.code.to_string()),
                    }
                }
                let redrive_count = exec.redrive_count();
                for t in answered_tokens {
                    if let Err(e) = exec.send_task_success(&t, json!({}), now) {
                        resend_errors.push(e.code().to_string());
                    }
                }
                return Run { outcome: *outcome, resend_errors, first_status, redrive_error, redrive_count };
            }
            Step::Waiting(w) => w,
        };
        for w in &waits {
            if let WaitKind::Task { state, token, .. } = &w.kind {
                pending.entry(w.id).or_insert_with(|| {
                    let n = started.entry(state.clone()).or_default();
                    *n += 1;
                    let acts = script.get(&(state.clone(), Some(*n))).or_else(|| script.get(&(state.clone(), None)));
                    (now, acts.cloned().unwrap_or_default(), token.clone())
                });
            }
        }
        // The next moment anything happens: a deadline, a scripted answer, the stop.
        let mut next = waits.iter().filter_map(|w| w.deadline).min();
        for (started, acts, _) in pending.values() {
            if let Some(a) = acts.first() {
                let at = started + (a.after * 1000.0) as i64;
                next = Some(next.map_or(at, |n: i64| n.min(at)));
            }
        }
        if let Some(s) = stop_at {
            next = Some(next.map_or(s, |n| n.min(s)));
        }
        let Some(next) = next else { panic!("the execution waits for nothing the script will answer: {waits:?}") };
        now = now.max(next);
        if stop_at.is_some_and(|s| s <= now) {
            let stop = &case["stop"];
            exec.stop(&def, stop["error"].as_str(), stop["cause"].as_str(), now);
            stop_at = None;
            continue;
        }
        for (started, acts, token) in pending.values_mut() {
            while acts.first().is_some_and(|a| *started + (a.after * 1000.0) as i64 <= now) {
                let a = acts.remove(0);
                let r = match (a.kind.as_str(), &*token) {
                    ("heartbeat", Some(t)) => exec.send_task_heartbeat(t, now),
                    ("success", Some(t)) => exec.send_task_success(t, a.output, now),
                    ("failure", Some(t)) => exec.send_task_failure(t, &a.error, a.cause.as_deref(), now),
                    (other, _) => panic!("unknown action {other} or the task has no token"),
                };
                match r {
                    Ok(()) if a.kind != "heartbeat" => answered_tokens.extend(token.clone()),
                    Ok(()) => {}
                    Err(e) => resend_errors.push(e.code().to_string()),
                }
            }
        }
    }
    panic!("the execution did not end");
}

fn check(name: &str, case: &Value) {
    assert!(
        case["doc"].as_str().is_some_and(|d| d.starts_with("https://docs.aws.amazon.com/")),
        "{name}: every case cites the AWS documentation page it follows"
    );
    let exp = &case["expect"];
    let run = if case.get("machines").is_some() {
        let (outcome, children) = play_children(case);
        let want = exp["children"].as_array().expect("a child case lists its children's expected ends");
        assert_eq!(children.len(), want.len(), "{name}: child executions started");
        for (i, ((start, end), w)) in children.iter().zip(want).enumerate() {
            let status = end.as_ref().map_or("RUNNING", |o| o.status.as_str());
            assert_eq!(status, w["status"].as_str().unwrap(), "{name}: child {i} status");
            if let Some(input) = w.get("input") {
                assert_eq!(&start.input, input, "{name}: child {i} input");
            }
            if let Some(o) = w.get("output") {
                assert_eq!(end.as_ref().and_then(|e| e.end.output.as_ref()), Some(o), "{name}: child {i} output");
            }
        }
        Run { outcome, resend_errors: Vec::new(), first_status: None, redrive_error: None, redrive_count: 0 }
    } else {
        play(case)
    };
    let out = &run.outcome;
    assert_eq!(out.status.as_str(), exp["status"].as_str().unwrap(), "{name}: status ({:?} {:?})", out.end.error, out.end.cause);
    if let Some(o) = exp.get("output") {
        assert_eq!(out.end.output.as_ref(), Some(o), "{name}: output");
    }
    if let Some(e) = exp.get("error") {
        assert_eq!(out.end.error.as_deref(), e.as_str(), "{name}: error");
    }
    if let Some(c) = exp.get("cause") {
        assert_eq!(out.end.cause.as_deref(), c.as_str(), "{name}: cause");
    }
    for part in exp["cause_contains"].as_array().into_iter().flatten() {
        let part = part.as_str().unwrap();
        assert!(out.end.cause.as_deref().unwrap_or("").contains(part), "{name}: cause {:?} lacks {part}", out.end.cause);
    }
    if let Some(d) = exp["duration_seconds"].as_f64() {
        assert_eq!((out.stop_millis - out.start_millis) as f64 / 1000.0, d, "{name}: duration in virtual time");
    }
    if let Some(list) = exp["events"].as_array() {
        // The listed event types appear in this order (other events may come between).
        let types: Vec<&str> = out.history.events().iter().filter_map(|e| e["type"].as_str()).collect();
        let mut at = 0;
        for want in list {
            let want = want.as_str().unwrap();
            match types[at..].iter().position(|t| *t == want) {
                Some(i) => at += i + 1,
                None => panic!("{name}: event {want} missing (in order) from {types:?}"),
            }
        }
    }
    if let Some(list) = exp["absent_events"].as_array() {
        for e in list {
            assert!(!out.history.events().iter().any(|x| x["type"] == *e), "{name}: unexpected event {e}");
        }
    }
    if let Some(errs) = exp.get("resend_errors") {
        assert_eq!(&json!(run.resend_errors), errs, "{name}: errors from answers sent too late or twice");
    }
    if let Some(s) = exp.get("first_status") {
        assert_eq!(run.first_status.as_deref(), s.as_str(), "{name}: status before the redrive");
    }
    if let Some(e) = exp.get("redrive_error") {
        assert_eq!(run.redrive_error.as_deref(), e.as_str(), "{name}: redrive refusal");
    }
    if let Some(n) = exp["redrive_count"].as_u64() {
        assert_eq!(run.redrive_count as u64, n, "{name}: redrive count");
    }
    if let Some(n) = exp["history_events_at_most"].as_u64() {
        assert!(out.history.count() <= n, "{name}: {} events", out.history.count());
    }
}

#[test]
fn engine_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/engine-cases");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("cases dir").map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 10, "the case set is there");
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if let Err(p) = std::panic::catch_unwind(|| check(&name, &case)) {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            failures.push(format!("{name}: {msg}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}
