//! The runner the services' data-driven tests share (a dev-dependency of asl-sqs, asl-sns
//! and asl-dynamodb): reading a crate's `tests/cases/*.json`, and the scenario-step format
//! the SQS and SNS cases are written in, so a fix to matching or substitution is made once.
//!
//! A scenario is `{"name", "source", "steps": [...]}`. A step is `{"call": Action,
//! "params": {...}}` (or `"sfn": "optimized"|"aws-sdk"` with `"action"` for a Step
//! Functions task), optionally `"at": <ms>` (the clock; it only moves forward), and then
//! one of
//! - `"expect"`: a JSON value the response must contain (see [`contains`]),
//! - `"error"`: the error the call must fail with (matched the same way).
//!
//! `"save": {"name": "/json/pointer"}` keeps a value of the response; `"$name"` anywhere in
//! later params is replaced by it ([`substitute`]). `"absent": ["/pointer", ...]` must not
//! exist in the response.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Values saved by earlier steps, by name.
pub type Vars = HashMap<String, Value>;

/// The clock of a scenario's first step; `"at"` counts from it.
pub const START_MS: i64 = 1_700_000_000_000;

/// `"$name"` (the whole string) becomes the saved value; `$name` inside a longer string
/// is replaced by the saved string.
pub fn substitute(v: &Value, vars: &Vars) -> Value {
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

/// Whether `actual` contains `expected`: objects match by subset, arrays element-wise and
/// of equal length, `"*"` matches anything present, other values by equality. The error
/// names the JSON path (below `path`) of the first difference.
pub fn contains(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
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

/// Keeps the values `save` (`{"name": "/json/pointer"}`) points at in `v`.
pub fn save(save: Option<&Value>, v: &Value, vars: &mut Vars, ctx: &str) -> Result<(), String> {
    if let Some(Value::Object(save)) = save {
        for (k, p) in save {
            let val = v.pointer(p.as_str().unwrap_or("")).ok_or(format!("{ctx}: nothing at {p} in {v}"))?;
            vars.insert(k.clone(), val.clone());
        }
    }
    Ok(())
}

/// One step of a scenario, as the service's closure sees it.
pub struct Step<'a> {
    pub step: &'a Value,
    /// The step's `params`, with saved values substituted.
    pub params: Value,
    pub now_ms: i64,
    /// `file: scenario: step i`, for messages.
    pub ctx: String,
}

impl Step<'_> {
    /// `"sfn": "optimized" | "aws-sdk"`: the step is a Step Functions task (`Some(true)` for
    /// the optimized integration); `None` for a plain API call.
    pub fn sfn_optimized(&self) -> Option<bool> {
        self.step.get("sfn").and_then(Value::as_str).map(|s| s == "optimized")
    }

    /// The step's `action` (Step Functions) or `call` (API) member.
    pub fn action(&self, member: &str) -> Result<&str, String> {
        self.step[member].as_str().ok_or(format!("{}: step without {member}", self.ctx))
    }

    /// Answers the step with `service`: a Step Functions task (`sfn`: optimized or not,
    /// the `action`; its `(error, cause)` as `{"error", "cause"}`) or an API call (`api`:
    /// the `call`, its error already as JSON).
    pub fn answer<S, T>(
        &self,
        service: &mut S,
        sfn: impl FnOnce(&mut S, bool, &str) -> Result<T, (String, String)>,
        api: impl FnOnce(&mut S, &str) -> Result<T, Value>,
    ) -> Result<T, Value> {
        match self.sfn_optimized() {
            Some(optimized) => {
                let action = self.action("action").map_err(Value::String)?;
                sfn(service, optimized, action).map_err(|(error, cause)| serde_json::json!({"error": error, "cause": cause}))
            }
            None => api(service, self.action("call").map_err(Value::String)?),
        }
    }
}

/// Runs a scenario's steps against one service: `call` answers a step (the response and
/// whatever else the call produced, or the error as JSON), `more` checks that extra on
/// success (and may save from it). The scenario must cite its source.
pub fn run_scenario<T>(
    file: &str,
    sc: &Value,
    mut call: impl FnMut(&Step) -> Result<(Value, T), Value>,
    mut more: impl FnMut(&Step, T, &mut Vars) -> Result<(), String>,
) -> Result<(), String> {
    let name = sc["name"].as_str().unwrap_or("?");
    let source = sc["source"].as_str().unwrap_or("");
    assert!(!source.is_empty(), "{file}: scenario {name} cites no source");
    let mut vars = Vars::new();
    let mut now_ms = START_MS;
    let steps = sc["steps"].as_array().ok_or(format!("{name}: no steps"))?;
    for (i, step) in steps.iter().enumerate() {
        if let Some(t) = step.get("at").and_then(Value::as_i64) {
            now_ms = START_MS + t;
        }
        let params = substitute(step.get("params").unwrap_or(&Value::Null), &vars);
        let s = Step { step, params, now_ms, ctx: format!("{file}: {name}: step {i}") };
        let ctx = s.ctx.as_str();
        match (call(&s), step.get("error")) {
            (Ok((v, extra)), None) => {
                if let Some(e) = step.get("expect") {
                    contains(&v, &substitute(e, &vars), "").map_err(|m| format!("{ctx}: {m}"))?;
                }
                for p in step.get("absent").and_then(Value::as_array).into_iter().flatten() {
                    let p = p.as_str().unwrap_or("");
                    if v.pointer(p).is_some() {
                        return Err(format!("{ctx}: {p} should be absent in {v}"));
                    }
                }
                save(step.get("save"), &v, &mut vars, ctx)?;
                more(&s, extra, &mut vars)?;
            }
            (Err(e), Some(want)) => contains(&e, &substitute(want, &vars), "").map_err(|m| format!("{ctx}: {m}"))?,
            (Ok((v, _)), Some(want)) => return Err(format!("{ctx}: expected error {want}, got {v}")),
            (Err(e), None) => return Err(format!("{ctx}: unexpected error {e}")),
        }
    }
    Ok(())
}

/// The crate's case files (`<manifest dir>/tests/cases/*.json`) in name order: file name
/// and parsed document. A file that is not JSON fails the test with its name.
pub fn case_files(manifest_dir: &str) -> Vec<(String, Value)> {
    let dir = Path::new(manifest_dir).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f.file_name().expect("a file name").to_string_lossy().to_string(), doc)
        })
        .collect()
}

/// One case file by name (`tests/cases/<name>`), which must be a list.
pub fn case_list(manifest_dir: &str, name: &str) -> Vec<Value> {
    let path = format!("{manifest_dir}/tests/cases/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v.as_array().unwrap_or_else(|| panic!("{path}: a list of cases")).clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitution_prefers_longer_names() {
        let vars: Vars = [("h".to_string(), json!("x")), ("h1".to_string(), json!("y")), ("n".to_string(), json!(3))].into();
        assert_eq!(substitute(&json!({"a": ["$n", "v $h1 $h"]}), &vars), json!({"a": [3, "v y x"]}));
    }

    #[test]
    fn containment_is_by_subset_with_wildcards() {
        let actual = json!({"a": 1, "b": [1, {"c": 2, "d": 3}]});
        assert!(contains(&actual, &json!({"b": ["*", {"c": 2}]}), "").is_ok());
        assert_eq!(contains(&actual, &json!({"b": [1]}), "").unwrap_err(), "/b: 2 elements, expected 1: [1,{\"c\":2,\"d\":3}]");
        assert_eq!(contains(&actual, &json!({"a": 2}), "").unwrap_err(), "/a: got 1, expected 2");
        assert!(contains(&actual, &json!({"z": "*"}), "").unwrap_err().starts_with("/z: missing"));
    }
}
