//! Data-driven tests: every `tests/cases/*.json` file holds a fixture (tables and
//! items) and cases; each case runs its steps on a fresh copy of the fixture and
//! compares every answer (response body or error) with the expected one.
//!
//! File shape:
//! ```json
//! { "fixture": { "tables": [<CreateTable request>...], "items": { "T": [<item>...] } },
//!   "cases": [ { "name": "...",
//!                "steps": [ { "op": "PutItem", "request": {...},
//!                             "expect": {...}              // the response body, or
//!                             "error": { "code": "...", "message": "...", "extra": {...} } } ] } ] }
//! ```
//! A case may also give a single step inline (`op`, `request`, `expect`/`error`).
//! A step with `"sfn": "optimized" | "aws-sdk"` and `"action"` runs `step_functions_call`;
//! its `error` is `{ "error": "...", "cause": "..." }` where `<id>` stands for the request id.
//! `"expect_keys"` instead of `"expect"` checks only the listed members of the response.

use asl_dynamodb::{step_functions_call, Database, IntegrationStyle};
use serde_json::Value;

fn fixture_db(fixture: &Value) -> Database {
    let mut db = Database::default();
    for t in fixture.get("tables").and_then(Value::as_array).into_iter().flatten() {
        db.call("CreateTable", t).unwrap_or_else(|e| panic!("fixture CreateTable: {e}"));
    }
    if let Some(Value::Object(items)) = fixture.get("items") {
        for (table, list) in items {
            for item in list.as_array().unwrap() {
                db.call("PutItem", &serde_json::json!({"TableName": table, "Item": item}))
                    .unwrap_or_else(|e| panic!("fixture PutItem: {e}"));
            }
        }
    }
    db
}

fn mask_request_id(s: &str) -> String {
    let mut out = s.to_string();
    for marker in ["Request ID: "] {
        if let Some(i) = out.find(marker) {
            let start = i + marker.len();
            let end = out[start..].find([';', ')', ',']).map(|e| start + e).unwrap_or(out.len());
            out.replace_range(start..end, "<id>");
        }
    }
    out
}

fn mask_metadata(v: &mut Value) {
    if let Value::Object(m) = v {
        if m.contains_key("SdkResponseMetadata") {
            m.insert("SdkResponseMetadata".into(), serde_json::json!({"RequestId": "<id>"}));
        }
        if let Some(Value::Object(h)) = m.get_mut("SdkHttpMetadata") {
            for key in ["AllHttpHeaders", "HttpHeaders"] {
                if let Some(Value::Object(hh)) = h.get_mut(key) {
                    if hh.contains_key("x-amzn-RequestId") {
                        let masked = if key == "AllHttpHeaders" { serde_json::json!(["<id>"]) } else { "<id>".into() };
                        hh.insert("x-amzn-RequestId".into(), masked);
                    }
                }
            }
        }
    }
}

fn run_step(db: &mut Database, step: &Value, ctx: &str) -> Result<(), String> {
    let request = step.get("request").cloned().unwrap_or(Value::Object(Default::default()));
    let (actual_ok, actual_err): (Option<Value>, Option<Value>) = if let Some(style) = step.get("sfn") {
        let style = match style.as_str() {
            Some("optimized") => IntegrationStyle::Optimized,
            Some("aws-sdk") => IntegrationStyle::AwsSdk,
            other => return Err(format!("{ctx}: bad sfn style {other:?}")),
        };
        let action = step["action"].as_str().ok_or(format!("{ctx}: sfn step without action"))?;
        match step_functions_call(db, style, action, &request) {
            Ok(mut v) => {
                mask_metadata(&mut v);
                (Some(v), None)
            }
            Err((e, c)) => (None, Some(serde_json::json!({"error": e, "cause": mask_request_id(&c)}))),
        }
    } else {
        let op = step["op"].as_str().ok_or(format!("{ctx}: step without op"))?;
        match db.call(op, &request) {
            Ok(v) => (Some(v), None),
            Err(e) => {
                let mut v = serde_json::json!({"code": e.code, "message": e.message});
                if let Some(x) = &e.extra {
                    v["extra"] = x.clone();
                }
                (None, Some(v))
            }
        }
    };
    match (step.get("expect"), step.get("expect_keys"), step.get("error")) {
        (Some(exp), _, _) => match actual_ok {
            Some(a) if &a == exp => Ok(()),
            Some(a) => Err(format!("{ctx}: response mismatch\n  expected: {exp}\n  actual:   {a}")),
            None => Err(format!("{ctx}: expected success {exp}, got error {}", actual_err.unwrap())),
        },
        (None, Some(Value::Object(keys)), _) => match actual_ok {
            Some(a) => {
                for (k, v) in keys {
                    if a.get(k) != Some(v) {
                        return Err(format!("{ctx}: member {k} mismatch\n  expected: {v}\n  actual:   {:?}", a.get(k)));
                    }
                }
                Ok(())
            }
            None => Err(format!("{ctx}: expected success, got error {}", actual_err.unwrap())),
        },
        (None, None, Some(exp)) => match actual_err {
            Some(mut a) => {
                if exp.get("extra").is_none() {
                    if let Value::Object(m) = &mut a {
                        m.remove("extra");
                    }
                }
                if &a == exp {
                    Ok(())
                } else {
                    Err(format!("{ctx}: error mismatch\n  expected: {exp}\n  actual:   {a}"))
                }
            }
            None => Err(format!("{ctx}: expected error {exp}, got success {}", actual_ok.unwrap())),
        },
        // a setup step: any success is fine, an error is not
        _ => match actual_err {
            Some(e) => Err(format!("{ctx}: setup step failed: {e}")),
            None => Ok(()),
        },
    }
}

#[test]
fn data_driven_cases() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (fname, doc) in asl_cases::case_files(env!("CARGO_MANIFEST_DIR")) {
        let base = fixture_db(doc.get("fixture").unwrap_or(&Value::Null));
        for case in doc["cases"].as_array().unwrap() {
            total += 1;
            let name = case["name"].as_str().unwrap_or("?");
            let mut db = base.clone();
            let steps: Vec<Value> = match case.get("steps") {
                Some(Value::Array(s)) => s.clone(),
                _ => vec![case.clone()],
            };
            for (i, step) in steps.iter().enumerate() {
                let ctx = format!("{fname} / {name} / step {}", i + 1);
                if let Err(e) = run_step(&mut db, step, &ctx) {
                    failures.push(e);
                    break;
                }
            }
        }
    }
    eprintln!("{total} cases run, {} failed", failures.len());
    if !failures.is_empty() {
        panic!("{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
    }
}
