//! `asl-sim run`: one execution, printed as one JSON object or as text.

use crate::cli::{parse_pairs, Format, MachineType, RunArgs};
use asl_core::diagnostic::Severity;
use crate::clock::{wall_millis, RealClock};
use crate::world::{ChildMachine, World};
use asl_core::engine::{self, Clock, ExecutionConfig, ExecutionType, Outcome, Status};
use std::collections::HashMap;
use std::path::Path;
use serde_json::{json, Value};
use std::io::{IsTerminal, Read};

/// A clock that starts at the real time and waits virtually: timestamps look
/// real, Wait states and back-off cost nothing.
struct ShiftedClock {
    origin: std::time::Instant,
    start_ms: i64,
    skipped_ms: i64,
}

impl Clock for ShiftedClock {
    fn now_millis(&self) -> i64 {
        self.start_ms + self.origin.elapsed().as_millis() as i64 + self.skipped_ms
    }
    fn sleep(&mut self, ms: i64) {
        self.skipped_ms += ms.max(0);
    }
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    2
}

/// Reads a JSON document from a file or `-` (stdin).
pub fn read_json_arg(arg: &str) -> Result<Value, String> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("cannot read {arg}: {e}"))?
    };
    let node = asl_core::tree::load(&text).map_err(|e| format!("{arg}:{e}"))?;
    Ok(node.to_value())
}

pub fn main(args: RunArgs) -> i32 {
    let subs = match parse_pairs(&args.subs, "sub") {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    let name = args.definition.display().to_string();
    let text = match std::fs::read_to_string(&args.definition) {
        Ok(t) => t,
        Err(e) => return usage(&format!("cannot read {name}: {e}")),
    };
    let (def, diags) = asl_core::load_definition(&text, &subs);
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() || def.is_none() {
        for d in &errors {
            eprint!("{}", crate::render::diagnostic(&name, &text, d));
        }
        eprintln!("error: the definition is invalid; nothing was run");
        return 2;
    }
    let Some(def) = def else { return 2 };
    let input = match &args.input {
        None => json!({}),
        Some(a) => match read_json_arg(a) {
            Ok(v) => v,
            Err(e) => return usage(&e),
        },
    };
    let mut config = ExecutionConfig {
        execution_type: match args.machine_type {
            MachineType::Standard => ExecutionType::Standard,
            MachineType::Express => ExecutionType::Express,
        },
        seed: args.seed.unwrap_or_else(|| wall_millis() as u64 ^ u64::from(std::process::id()) << 32),
        ..Default::default()
    };
    if args.seed.is_none() {
        let mut rng = asl_core::rng::SplitMix64::new(config.seed);
        config.execution_name = asl_core::rng::uuid_v4(rng.next_u64(), rng.next_u64());
    }
    if let Some(ctx) = &args.context {
        let v = match read_json_arg(&ctx.display().to_string()) {
            Ok(v) => v,
            Err(e) => return usage(&e),
        };
        let Value::Object(m) = v else { return usage("--context must be a JSON object") };
        for (k, v) in m {
            let Some(s) = v.as_str().map(str::to_string) else {
                return usage(&format!("--context field {k} must be a string"));
            };
            match k.as_str() {
                "Region" => config.region = s,
                "Partition" => config.partition = s,
                "Account" => config.account = s,
                "StateMachineName" => config.state_machine_name = s,
                "ExecutionName" => config.execution_name = s,
                "RoleArn" => config.role_arn = Some(s),
                other => return usage(&format!("--context has unknown field {other}; expected Region, Partition, Account, StateMachineName, ExecutionName, RoleArn")),
            }
        }
    }
    let (mut world, mut data) = match build_world(&args, &config, &subs) {
        Ok(w) => w,
        Err(e) => return usage(&e),
    };
    let services = &mut world;
    let outcome = if args.real_time {
        let mut clock = RealClock;
        engine::run(&def, input, &config, services, &mut clock, args.history.is_some() || args.report.is_some())
    } else {
        let mut clock = ShiftedClock { origin: std::time::Instant::now(), start_ms: wall_millis(), skipped_ms: 0 };
        engine::run(&def, input, &config, services, &mut clock, args.history.is_some() || args.report.is_some())
    };
    if let Err(e) = save_world(&args, &mut world, data.as_mut()) {
        eprintln!("error: {e}");
    }
    if let Some(r) = &args.report {
        if let Err(e) = crate::report::write(&def, &text, &outcome, r) {
            eprintln!("error: cannot write the report to {}: {e}", r.display());
        }
    }
    if let Some(h) = &args.history {
        let doc = json!({"events": outcome.history.events()});
        if let Err(e) = std::fs::write(h, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
            eprintln!("error: cannot write the history to {}: {e}", h.display());
        }
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Text } else { Format::Json });
    match format {
        Format::Json => println!("{}", outcome_json(&outcome)),
        Format::Text => print!("{}", outcome_text(&outcome)),
    }
    // Where it failed, rustc-style, on stderr so stdout stays one JSON document.
    if let Some(at) = &outcome.failed_state {
        eprintln!("{}", failure_location(&name, &outcome, at));
    }
    if outcome.status == Status::Succeeded {
        0
    } else {
        1
    }
}

pub fn outcome_json(o: &Outcome) -> Value {
    match o.status {
        Status::Succeeded => json!({"status": "SUCCEEDED", "output": o.end.output}),
        ref s => json!({"status": s.as_str(), "error": o.end.error, "cause": o.end.cause}),
    }
}

/// `file:line:col: state "Name" ended the execution: STATUS error: cause`.
fn failure_location(file: &str, o: &Outcome, at: &engine::FailedState) -> String {
    let mut line = format!("{file}:{}:{}: state \"{}\" ended the execution {}", at.line, at.col, at.name, o.status.as_str());
    if let Some(e) = &o.end.error {
        line.push_str(&format!(": {e}"));
    }
    if let Some(c) = &o.end.cause {
        let c: String = c.chars().take(300).collect();
        line.push_str(&format!(": {c}"));
    }
    line
}

fn outcome_text(o: &Outcome) -> String {
    let mut s = String::new();
    for (i, name) in o.path.iter().enumerate() {
        s.push_str(&format!("{:>4}  {name}\n", i + 1));
    }
    s.push_str(&format!("{} in {} ms (virtual)\n", o.status.as_str(), o.stop_millis - o.start_millis));
    match o.status {
        Status::Succeeded => {
            s.push_str(&serde_json::to_string_pretty(o.end.output.as_ref().unwrap_or(&Value::Null)).unwrap_or_default());
            s.push('\n');
        }
        _ => {
            s.push_str(&format!("error: {}\n", o.end.error.as_deref().unwrap_or("(none)")));
            s.push_str(&format!("cause: {}\n", o.end.cause.as_deref().unwrap_or("(none)")));
        }
    }
    s
}

/// The world, and the data directory of `--state DIR` it was loaded from (serve's store:
/// `store.sqlite` and `blobs/`; a `state.json` of the format before is upgraded once).
fn build_world(args: &RunArgs, config: &ExecutionConfig, subs: &HashMap<String, String>) -> Result<(World, Option<asl_serve::DataDir>), String> {
    let mut world = World::new(&config.region, &config.account);
    let data = match &args.state {
        Some(dir) => Some(asl_serve::DataDir::open(dir, &mut world).map_err(|e| format!("--state {}: {e}", dir.display()))?),
        None => None,
    };
    if let Some(f) = &args.fixture {
        let v = read_json_arg(&f.display().to_string())?;
        world.load_fixture(&v).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    for (name, command) in crate::cli::parse_pairs(&args.lambdas, "lambda")? {
        world.lambdas.insert(name, std::sync::Arc::new(crate::lambda::LambdaFunction { command, env: Vec::new() }));
    }
    if let Some(f) = &args.connections {
        let v = read_json_arg(&f.display().to_string())?;
        world.connections.load_document(&v, &config.region, &config.account).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    for (service, command) in crate::cli::parse_pairs(&args.handlers, "handler")? {
        world.handlers.insert(&service, &command);
    }
    for (name, file) in crate::cli::parse_pairs(&args.machines, "machine")? {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let (def, diags) = asl_core::load_definition(&text, subs);
        if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
            return Err(format!("{file}:{}: {}", d.pos, d.message));
        }
        let def = def.ok_or_else(|| format!("{file}: not a state machine definition"))?;
        world.machines.insert(name, ChildMachine { definition: std::sync::Arc::new(def), execution_type: ExecutionType::Standard });
    }
    match (&args.mock_config, &args.test_case) {
        (Some(f), Some(case)) => {
            let v = read_json_arg(&f.display().to_string())?;
            world.mocks = Some(crate::mocks::MockConfig::load(&v, &config.state_machine_name, case).map_err(|e| format!("{}: {e}", f.display()))?);
        }
        (Some(_), None) => return Err("--mock-config needs --test-case".into()),
        (None, Some(_)) => return Err("--test-case needs --mock-config".into()),
        (None, None) => {}
    }
    Ok((world, data))
}

/// Writes `path` so that a crash at any moment leaves either the old or the new file.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

fn save_world(args: &RunArgs, world: &mut World, data: Option<&mut asl_serve::DataDir>) -> Result<(), String> {
    if let (Some(d), Some(dir)) = (data, &args.state) {
        d.commit(world).map_err(|e| format!("--state {}: {e}", dir.display()))?;
    }
    if let Some(f) = &args.dump_state {
        let text = serde_json::to_string_pretty(&world.to_json()).unwrap_or_default();
        write_atomically(f, &text)?;
    }
    Ok(())
}
