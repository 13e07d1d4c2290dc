//! Executions: started by the Step Functions API, the HTTP API and event deliveries.
//! Asynchronous ones (StartExecution, rule targets) run on a small pool of worker
//! threads; StartSyncExecution runs on the caller's thread. Each finished execution
//! logs one line (machine/name, status, duration, state path) and hands the
//! event deliveries it caused to the pool.

use super::{Machine, State};
use crate::clock::{wall_millis, RealClock};
use asl_core::engine::{self, ExecutionConfig, ExecutionType, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Record {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub express: bool,
    pub status: String,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    pub history: Vec<Value>,
}

pub struct Job {
    pub machine: Arc<Machine>,
    pub name: String,
    pub input: Value,
}

pub struct Executions {
    pub records: Mutex<BTreeMap<String, Record>>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    #[allow(dead_code)]
    data_dir: Option<PathBuf>,
}


impl Executions {
    pub fn new(data_dir: Option<PathBuf>) -> Executions {
        Executions { records: Mutex::new(BTreeMap::new()), queue: Mutex::new(None), data_dir }
    }
    pub fn get(&self, arn: &str) -> Option<Record> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).get(arn).cloned()
    }
}

const WORKERS: usize = 4;

pub fn start_workers(state: &Arc<State>) {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let rx = rx.clone();
        let st = Arc::downgrade(state);
        let _ = std::thread::Builder::new().name(format!("exec-{i}")).spawn(move || loop {
            let job = {
                let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                rx.recv()
            };
            let Ok(job) = job else { return };
            let Some(state) = st.upgrade() else { return };
            run(&state, &job.machine, &job.name, job.input);
        });
    }
    *state.executions.queue.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
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
        let mut recs = state.executions.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = recs.get(&arn) {
            if r.input == input && r.status == "RUNNING" {
                return Ok((arn, r.start_ms));
            }
            return Err(("ExecutionAlreadyExists".into(), format!("Execution Already Exists: '{arn}'")));
        }
        recs.insert(arn.clone(), record(m, &arn, &name, &input, now));
    }
    let queue = state.executions.queue.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(q) = queue {
        let _ = q.send(Job { machine: m.clone(), name, input });
    }
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
        output: None,
        error: None,
        cause: None,
        start_ms: now,
        stop_ms: None,
        history: Vec::new(),
    }
}

/// Runs an execution to its end on this thread and records it.
pub fn run(state: &Arc<State>, m: &Arc<Machine>, name: &str, input: Value) -> Record {
    let arn = execution_arn(m, name);
    let start = wall_millis();
    {
        let mut recs = state.executions.records.lock().unwrap_or_else(|e| e.into_inner());
        recs.entry(arn.clone()).or_insert_with(|| record(m, &arn, name, &input, start));
    }
    let config = ExecutionConfig {
        region: super::template::REGION.into(),
        account: super::template::ACCOUNT.into(),
        state_machine_name: m.name.clone(),
        execution_name: name.to_string(),
        execution_type: if m.express { ExecutionType::Express } else { ExecutionType::Standard },
        seed: state.next_seed(),
        ..ExecutionConfig::default()
    };
    let mut services = state.world.clone();
    let mut clock = RealClock;
    let t = std::time::Instant::now();
    let out: Outcome = engine::run(&m.definition, input.clone(), &config, &mut services, &mut clock, !m.express);
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let rec = Record {
        arn: arn.clone(),
        machine_arn: m.arn.clone(),
        name: name.to_string(),
        express: m.express,
        status: out.status.as_str().to_string(),
        input,
        output: out.output.clone(),
        error: out.error.clone(),
        cause: out.cause.clone(),
        start_ms: out.start_millis,
        stop_ms: Some(out.stop_millis),
        history: out.history.events().to_vec(),
    };
    let path = out.path.join(" → ");
    let err = match (&out.error, &out.cause) {
        (Some(e), Some(c)) => format!("  {e}: {}", c.chars().take(200).collect::<String>()),
        (Some(e), None) => format!("  {e}"),
        _ => String::new(),
    };
    state.log(format_args!("exec {}/{} {} {ms:.1} ms  {path}{err}", m.name, short(name), out.status.as_str()));
    state.executions.records.lock().unwrap_or_else(|e| e.into_inner()).insert(arn, rec.clone());
    state.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
    dispatch(state);
    rec
}

fn short(name: &str) -> &str {
    if name.len() > 12 {
        &name[..8]
    } else {
        name
    }
}

/// Starts the state machines that pending event deliveries target.
pub fn dispatch(state: &Arc<State>) {
    let deliveries = state.world.lock().take_deliveries();
    for d in deliveries {
        match state.machine_by_arn(&d.target_arn) {
            Some(m) => {
                if let Err((c, msg)) = start_async(state, &m, None, d.input) {
                    state.log(format_args!("rule {}: cannot start {}: {c}: {msg}", d.rule_name, m.name));
                }
            }
            None => state.log(format_args!("rule {}: target {} is not a state machine of this template; event dropped", d.rule_name, d.target_arn)),
        }
    }
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
        v["output"] = json!(r.output.clone().unwrap_or(Value::Null).to_string());
        v["outputDetails"] = json!({"included": true});
    }
    if let Some(e) = &r.error {
        v["error"] = json!(e);
    }
    if let Some(c) = &r.cause {
        v["cause"] = json!(c);
    }
    v
}

const STATE_FILE: &str = "state.json";

/// Writes the data once a second when something may have changed.
pub fn start_saver(state: &Arc<State>) {
    let st = Arc::downgrade(state);
    let _ = std::thread::Builder::new().name("saver".into()).spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let Some(state) = st.upgrade() else { return };
        if state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if state.dirty.swap(false, std::sync::atomic::Ordering::SeqCst) {
            if let Err(e) = save(&state) {
                eprintln!("warning: {e}");
            }
        }
    });
}

/// Restores the services' data from `<dir>/state.json` (written at shutdown).
pub fn load(dir: &Path, world: &mut crate::world::World) -> Result<bool, String> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e} (move it away to start empty)", path.display()))?;
            let mut only_data = v.clone();
            if let Some(m) = only_data.as_object_mut() {
                m.remove("events");
            }
            world.load_state(&only_data).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the services' data atomically (temporary file, fsync, rename).
pub fn save(state: &State) -> Result<(), String> {
    let Some(dir) = &state.executions.data_dir else { return Ok(()) };
    use std::io::Write;
    static SAVING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    let v = state.world.lock().to_json();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(STATE_FILE);
    let tmp = dir.join("state.json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(&super::json_text(&v)).and_then(|_| f.sync_all()).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
