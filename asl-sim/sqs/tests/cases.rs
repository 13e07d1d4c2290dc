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

use asl_cases::{case_files, run_scenario};
use asl_sqs::{step_functions_call, IntegrationStyle, Sqs};
use serde_json::{json, Value};

/// One scenario against a fresh `Sqs`; the shared runner does substitution and matching.
fn run(file: &str, sc: &Value) -> Result<(), String> {
    let mut sqs = Sqs::new("us-east-1", "111122223333", 7);
    run_scenario(
        file,
        sc,
        |s| {
            let style = |optimized| if optimized { IntegrationStyle::Optimized } else { IntegrationStyle::AwsSdk };
            let outcome = s.answer(
                &mut sqs,
                |svc, optimized, action| step_functions_call(svc, style(optimized), action, &s.params, s.now_ms),
                |svc, action| {
                    svc.call(action, &s.params, s.now_ms)
                        .map_err(|e| json!({"code": e.code, "shape": e.shape, "message": e.message, "status": e.status}))
                },
            );
            outcome.map(|v| (v, ()))
        },
        |_, (), _| Ok(()),
    )
}

#[test]
fn sqs_cases() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (fname, doc) in case_files(env!("CARGO_MANIFEST_DIR")) {
        for sc in doc.as_array().expect("a case file is a list of scenarios") {
            count += 1;
            if let Err(m) = run(&fname, sc) {
                failures.push(m);
            }
        }
    }
    assert!(count >= 20, "only {count} scenarios found");
    assert!(failures.is_empty(), "{} of {count} scenarios failed:\n{}", failures.len(), failures.join("\n"));
}
