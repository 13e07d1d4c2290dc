//! Data-driven SQS behaviour: every file in tests/cases/ is a list of scenarios, each citing
//! its source (an AWS documentation page or a record of aws-recorded/errors.jsonl) and
//! running API calls against one fresh `Sqs`.
//!
//! A step is `{"call": Action, "params": {...}}` (or `"sfn": "optimized"|"aws-sdk"` with
//! `"action"` for a Step Functions task), optionally `"at": <ms>` (the clock; it only moves
//! forward), and then one of
//! - `"expect"`: a JSON value the response must contain (objects match by subset, arrays
//!   element-wise and of equal length, `"*"` matches anything present),
//! - `"error"`: `{"code", "message", "shape"?, "status"?}` for an SQS error, or
//!   `{"error", "cause"}` for a Step Functions failure.
//!
//! `"save": {"name": "/json/pointer"}` keeps a value of the response; `"$name"` anywhere in
//! later params is replaced by it. `"absent": ["/pointer", ...]` must not exist.

use asl_sqs::{step_functions_call, IntegrationStyle, Sqs};
use serde_json::Value;
use std::collections::HashMap;

fn substitute(v: &Value, vars: &HashMap<String, Value>) -> Value {
    match v {
        Value::String(s) if s.starts_with('$') && vars.contains_key(&s[1..]) => vars[&s[1..]].clone(),
        Value::String(s) if s.contains('$') => {
            // Inline uses (`"Value $h for ..."`): longest names first so `$h1` is not read as `$h`.
            let mut names: Vec<&String> = vars.keys().collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            let mut out = s.clone();
            for n in names {
                if let Value::String(v) = &vars[n] {
                    out = out.replace(&format!("${n}"), v);
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), substitute(x, vars))).collect()),
        other => other.clone(),
    }
}

fn contains(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (_, Value::String(s)) if s == "*" => Ok(()),
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{path}/{k}: missing in {actual}"))?;
                contains(av, ev, &format!("{path}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{path}: {} elements, expected {}: {actual}", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                contains(av, ev, &format!("{path}/{i}"))?;
            }
            Ok(())
        }
        (a, e) if a == e => Ok(()),
        (a, e) => Err(format!("{path}: got {a}, expected {e}")),
    }
}

fn run_scenario(file: &str, sc: &Value) -> Result<(), String> {
    let name = sc["name"].as_str().unwrap_or("?");
    let source = sc["source"].as_str().unwrap_or("");
    assert!(!source.is_empty(), "{file}: scenario {name} cites no source");
    let mut sqs = Sqs::new("us-east-1", "111122223333", 7);
    let mut vars: HashMap<String, Value> = HashMap::new();
    let mut now = 1_700_000_000_000i64;
    let steps = sc["steps"].as_array().ok_or(format!("{name}: no steps"))?;
    for (i, step) in steps.iter().enumerate() {
        let ctx = format!("{file}: {name}: step {i}");
        if let Some(t) = step.get("at").and_then(Value::as_i64) {
            now = 1_700_000_000_000 + t;
        }
        let params = substitute(step.get("params").unwrap_or(&Value::Null), &vars);
        let outcome: Result<Value, Value> = if let Some(style) = step.get("sfn").and_then(Value::as_str) {
            let style = if style == "optimized" { IntegrationStyle::Optimized } else { IntegrationStyle::AwsSdk };
            let action = step["action"].as_str().ok_or(format!("{ctx}: sfn step without action"))?;
            step_functions_call(&mut sqs, style, action, &params, now)
                .map_err(|(error, cause)| serde_json::json!({"error": error, "cause": cause}))
        } else {
            let action = step["call"].as_str().ok_or(format!("{ctx}: step without call"))?;
            sqs.call(action, &params, now).map_err(|e| {
                serde_json::json!({"code": e.code, "shape": e.shape, "message": e.message, "status": e.status})
            })
        };
        match (&outcome, step.get("error")) {
            (Ok(v), None) => {
                if let Some(e) = step.get("expect") {
                    contains(v, &substitute(e, &vars), "").map_err(|m| format!("{ctx}: {m}"))?;
                }
                for p in step.get("absent").and_then(Value::as_array).into_iter().flatten() {
                    let p = p.as_str().unwrap_or("");
                    if v.pointer(p).is_some() {
                        return Err(format!("{ctx}: {p} should be absent in {v}"));
                    }
                }
                if let Some(Value::Object(save)) = step.get("save") {
                    for (k, p) in save {
                        let val = v.pointer(p.as_str().unwrap_or("")).ok_or(format!("{ctx}: nothing at {p} in {v}"))?;
                        vars.insert(k.clone(), val.clone());
                    }
                }
            }
            (Err(e), Some(want)) => {
                contains(e, &substitute(want, &vars), "").map_err(|m| format!("{ctx}: {m}"))?;
            }
            (Ok(v), Some(want)) => return Err(format!("{ctx}: expected error {want}, got {v}")),
            (Err(e), None) => return Err(format!("{ctx}: unexpected error {e}")),
        }
    }
    Ok(())
}

#[test]
fn sqs_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(f).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let fname = f.file_name().unwrap().to_string_lossy().to_string();
        for sc in doc.as_array().expect("a case file is a list of scenarios") {
            count += 1;
            if let Err(m) = run_scenario(&fname, sc) {
                failures.push(m);
            }
        }
    }
    assert!(count >= 20, "only {count} scenarios found");
    assert!(failures.is_empty(), "{} of {count} scenarios failed:\n{}", failures.len(), failures.join("\n"));
}
