//! Execution cases: `tests/cases/exec/*.yaml`, each a definition, an input,
//! optional fixture/context, and the outcome AWS gives. Run in-process
//! against the embedded world on a virtual clock.

use asl_core::engine::{self, ExecutionConfig, VirtualClock};
use asl_world::world::World;
use serde_json::{json, Value};

fn run_case(case: &Value) -> Value {
    let def_value = case.get("definition").cloned().expect("definition");
    let text = serde_json::to_string(&def_value).expect("json");
    let (def, diags) = asl_core::load_definition(&text, &Default::default());
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == asl_core::diagnostic::Severity::Error).collect();
    assert!(errors.is_empty(), "definition errors: {errors:?}");
    let def = def.expect("definition");
    let mut config = ExecutionConfig { seed: 7, ..Default::default() };
    if case.get("type").and_then(Value::as_str) == Some("EXPRESS") {
        config.execution_type = engine::ExecutionType::Express;
    }
    let mut world = World::new(&config.region, &config.account);
    if let Some(f) = case.get("fixture") {
        world.load_fixture(f).expect("fixture");
    }
    let mut clock = VirtualClock { now: 1_700_000_000_000 };
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let out = engine::run(&def, input, &config, &mut world, &mut clock, false);
    let mut r = json!({"status": out.status.as_str()});
    match out.end.output {
        Some(o) => r["output"] = o,
        None => {
            r["error"] = json!(out.end.error);
            r["cause"] = json!(out.end.cause);
        }
    }
    if case.get("expected").and_then(|e| e.get("path")).is_some() {
        r["path"] = json!(out.path);
    }
    if let Some(want) = case.get("expected").and_then(|e| e.get("items")) {
        // The items of one table, for cases that check writes.
        let table = want.get("table").and_then(Value::as_str).expect("items.table");
        let scan = world.dynamodb.call("Scan", &json!({"TableName": table})).expect("scan");
        r["items"] = json!({"table": table, "Items": scan["Items"]});
    }
    r
}

/// Keeps only the keys `expected` mentions (cause is compared only when given).
fn project(actual: &Value, expected: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Value::Object(a), Value::Object(e)) = (actual, expected) {
        for k in e.keys() {
            out.insert(k.clone(), a.get(k).cloned().unwrap_or(Value::Null));
        }
    }
    Value::Object(out)
}

#[test]
fn exec_cases() {
    let dir = crate::root().join("tests/cases/exec");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("cases dir").map(|e| e.expect("entry").path()).collect();
    names.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
        let text = std::fs::read_to_string(path).expect("read");
        let doc = asl_core::tree::load(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_value();
        let cases = doc.as_array().cloned().unwrap_or_else(|| vec![doc]);
        for case in cases {
            count += 1;
            let name = format!("{}::{}", path.file_name().unwrap_or_default().to_string_lossy(), case["name"].as_str().unwrap_or("?"));
            let expected = case.get("expected").cloned().expect("expected");
            let actual = project(&run_case(&case), &expected);
            if actual != expected {
                failures.push(format!("{name}\n  expected: {expected}\n  actual:   {actual}"));
            }
        }
    }
    assert!(count >= 20, "only {count} cases found");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}
