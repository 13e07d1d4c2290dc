//! `asl-sim test-state`: Step Functions' TestState offline, one state at a time. The
//! request is built from the flags (or read whole with `--request`, the API's JSON as
//! `aws stepfunctions test-state --cli-input-json` takes it) and answered by the same
//! code as serve's TestState API (`asl_serve::test_state`); the answer is printed with
//! its payloads decoded.

use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct TestStateArgs {
    /// The definition: one state, or a state machine with `--state` (JSON or YAML).
    pub definition: Option<PathBuf>,
    /// The state of a state machine to test (default: its StartAt state).
    #[arg(long)]
    pub state: Option<String>,
    /// The state's input (JSON text, or @FILE). Default `{}`.
    #[arg(long)]
    pub input: Option<String>,
    /// Variables in scope (a JSON object, or @FILE).
    #[arg(long)]
    pub variables: Option<String>,
    /// The Context object `$$` (JSON, or @FILE).
    #[arg(long)]
    pub context: Option<String>,
    /// A mocked result for the Task, Map or Parallel state (JSON, or @FILE).
    #[arg(long, value_name = "JSON", conflicts_with = "mock_error")]
    pub mock_result: Option<String>,
    /// A mocked error for the Task, Map or Parallel state.
    #[arg(long, value_name = "ERROR")]
    pub mock_error: Option<String>,
    /// The mocked error's cause.
    #[arg(long, value_name = "CAUSE", requires = "mock_error")]
    pub mock_cause: Option<String>,
    /// How a mocked result is checked against the API's output shape: STRICT (the
    /// default: required fields, types, enums, ranges), PRESENT (only the fields given), NONE.
    #[arg(long, value_name = "MODE", value_parser = ["STRICT", "PRESENT", "NONE"], requires = "mock_result")]
    pub field_validation_mode: Option<String>,
    /// How much of the data flow to show.
    #[arg(long, value_enum, default_value = "INFO")]
    pub inspection_level: Level,
    /// Retries the matching retrier has made already (stateConfiguration.retrierRetryCount).
    #[arg(long, value_name = "N")]
    pub retrier_retry_count: Option<u64>,
    /// The role the state runs as (needed for a Task without a mock, as on AWS).
    #[arg(long, default_value = "arn:aws:iam::123456789012:role/TestStateRole")]
    pub role_arn: String,
    /// A whole TestState request (the API's JSON, or @FILE); the other flags are ignored.
    #[arg(long, value_name = "JSON", conflicts_with = "definition")]
    pub request: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Level {
    Info,
    Debug,
    Trace,
}

/// `@FILE` reads FILE; anything else is the text itself.
fn text_or_file(s: &str) -> Result<String, String> {
    match s.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
        None => Ok(s.to_string()),
    }
}

fn request(args: &TestStateArgs) -> Result<Value, String> {
    if let Some(r) = &args.request {
        return serde_json::from_str(&text_or_file(r)?).map_err(|e| format!("--request is not JSON: {e}"));
    }
    let path = args.definition.as_ref().ok_or("give a definition file (or --request)")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // The API takes JSON; a YAML file is converted (its values are kept as YAML 1.2 reads them).
    let definition = match serde_json::from_str::<Value>(&text) {
        Ok(_) => text,
        Err(_) => asl_core::tree::load(&text)
            .map_err(|e| format!("{}:{}:{}: {}", path.display(), e.pos.line, e.pos.col, e.message))?
            .to_value()
            .to_string(),
    };
    let mut b = Map::new();
    b.insert("definition".into(), json!(definition));
    b.insert("roleArn".into(), json!(args.role_arn));
    let level = match args.inspection_level {
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    };
    b.insert("inspectionLevel".into(), json!(level));
    if let Some(s) = &args.state {
        b.insert("stateName".into(), json!(s));
    }
    for (k, v) in [("input", &args.input), ("variables", &args.variables), ("context", &args.context)] {
        if let Some(v) = v {
            b.insert(k.into(), json!(text_or_file(v)?));
        }
    }
    if let Some(r) = &args.mock_result {
        let mut mock = json!({"result": text_or_file(r)?});
        if let Some(m) = &args.field_validation_mode {
            mock["fieldValidationMode"] = json!(m);
        }
        b.insert("mock".into(), mock);
    } else if let Some(e) = &args.mock_error {
        b.insert("mock".into(), json!({"errorOutput": {"error": e, "cause": args.mock_cause}}));
    }
    if let Some(n) = args.retrier_retry_count {
        b.insert("stateConfiguration".into(), json!({"retrierRetryCount": n}));
    }
    Ok(Value::Object(b))
}

/// Exit 0 when the state succeeded or a catcher took its error, 1 when it failed or
/// would be retried, 2 when the request is refused.
pub fn main(args: TestStateArgs) -> i32 {
    let body = match request(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut world = asl_world::SharedWorld::new(asl_world::World::new("us-east-1", "123456789012"));
    let now = asl_world::clock::wall_millis();
    match asl_serve::test_state::test_state(&body, &mut world, now) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            match v["status"].as_str() {
                Some("SUCCEEDED" | "CAUGHT_ERROR") => 0,
                _ => 1,
            }
        }
        Err(r) => {
            eprintln!("error: {}: {}", r.code, r.message);
            2
        }
    }
}
