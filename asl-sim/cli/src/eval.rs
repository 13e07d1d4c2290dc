//! `asl-sim eval`: one expression against one document, printed as
//! `{"result": …}`, `{"undefined": true}` or `{"error": {"code", "message"}}`.
//! Exit 0 in all three cases; 2 for usage errors.

use crate::cli::EvalArgs;
use serde_json::{json, Map, Value};

fn read(path: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

pub fn main(args: EvalArgs) -> i32 {
    let input = match &args.input {
        Some(p) => match read(p) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        None => None,
    };
    let bindings = match &args.bindings {
        Some(p) => match read(p) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                eprintln!("error: --bindings must hold a JSON object");
                return 2;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        None => Map::new(),
    };
    let out = if let Some(expr) = &args.jsonata {
        jsonata(expr, input.as_ref(), &bindings)
    } else if let Some(p) = &args.jsonpath {
        jsonpath(p, input.as_ref().unwrap_or(&Value::Null), &bindings)
    } else if let Some(c) = &args.intrinsic {
        intrinsic(c, input.as_ref().unwrap_or(&Value::Null), &bindings)
    } else {
        eprintln!("error: give one of --jsonata, --jsonpath or --intrinsic");
        return 2;
    };
    println!("{out}");
    0
}

fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn jsonata(expr: &str, input: Option<&Value>, bindings: &Map<String, Value>) -> Value {
    let parsed = match jsonata::parse(expr) {
        Ok(p) => p,
        Err(e) => return error(&e.code, &e.message),
    };
    let mut rng = asl_core::rng::SplitMix64::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1),
    );
    let mut random = || rng.next_f64();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut env = jsonata::Env { bindings, now_millis: now, random: &mut random };
    match parsed.evaluate(input, &mut env) {
        Ok(Some(v)) => json!({ "result": v }),
        Ok(None) => json!({"undefined": true}),
        Err(e) => error(&e.code, &e.message),
    }
}

fn jsonpath(p: &str, input: &Value, bindings: &Map<String, Value>) -> Value {
    let path = match asl_core::path::Path::parse(p) {
        Ok(p) => p,
        Err(e) => return error("States.Runtime", &e),
    };
    let ctx = Value::Object(Map::new());
    let lookup = |n: &str| bindings.get(n);
    let mut r = || 0u64;
    let scope = asl_core::intrinsics::Scope { input, context: &ctx, variables: &lookup, random: &mut r };
    match asl_core::intrinsics::read_path(&path, &scope) {
        Ok(v) => json!({ "result": v }),
        Err(e) => error("States.Runtime", &e),
    }
}

fn intrinsic(c: &str, input: &Value, bindings: &Map<String, Value>) -> Value {
    let call = match asl_core::intrinsics::parse(c) {
        Ok(c) => c,
        Err(e) => return error("States.Runtime", &e),
    };
    let ctx = Value::Object(Map::new());
    let lookup = |n: &str| bindings.get(n);
    let mut rng = asl_core::rng::SplitMix64::new(1);
    let mut r = || rng.next_u64();
    let mut scope = asl_core::intrinsics::Scope { input, context: &ctx, variables: &lookup, random: &mut r };
    match asl_core::intrinsics::eval(&call, &mut scope) {
        Ok(v) => json!({ "result": v }),
        Err(e) => error("States.Runtime", &e),
    }
}
