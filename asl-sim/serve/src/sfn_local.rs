//! Step Functions Local compatibility: its mock config file (`--mock-config FILE`, or
//! `SFN_MOCK_CONFIG` as SFN Local reads it) and StartExecution / StartSyncExecution with
//! `arn:...:stateMachine:NAME#TEST_CASE`, which runs that test case's mocked responses
//! (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html).
//! The mocks answer as `asl-sim run --mock-config` does (`asl_world::mocks`): one
//! counter per state per execution; a state the test case does not mock calls the service.

use super::State;
use asl_world::mocks::MockConfig;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Environment variables of SFN Local that name endpoints of other emulators: serve
/// runs those services itself, so it says it ignores them rather than silently.
pub const IGNORED_ENV: [&str; 10] = [
    "LAMBDA_ENDPOINT",
    "BATCH_ENDPOINT",
    "DYNAMODB_ENDPOINT",
    "ECS_ENDPOINT",
    "GLUE_ENDPOINT",
    "SAGE_MAKER_ENDPOINT",
    "SQS_ENDPOINT",
    "SNS_ENDPOINT",
    "STEP_FUNCTIONS_ENDPOINT",
    "WAIT_TIME_SCALE",
];

/// The mock config serve runs with: `--mock-config`, else `$SFN_MOCK_CONFIG`. Every test
/// case is loaded once here, so a broken file stops serve at start, not at the first run.
pub fn mock_config(flag: Option<&Path>) -> Result<Option<Value>, String> {
    let path = match flag {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("SFN_MOCK_CONFIG") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => return Ok(None),
        },
    };
    let shown = path.display();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{shown}: cannot read the mock config: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{shown}: the mock config is not JSON: {e}"))?;
    let machines = doc.get("StateMachines").and_then(Value::as_object).ok_or(format!("{shown}: the mock config has no StateMachines object"))?;
    for (machine, m) in machines {
        let cases = m.get("TestCases").and_then(Value::as_object).ok_or(format!("{shown}: StateMachines.{machine} has no TestCases object"))?;
        for case in cases.keys() {
            MockConfig::load(&doc, machine, case).map_err(|e| format!("{shown}: {e}"))?;
        }
    }
    Ok(Some(doc))
}

/// `arn...:NAME#CASE` → (`arn...:NAME`, Some(CASE)).
pub fn split_test_case(arn: &str) -> (&str, Option<&str>) {
    match arn.split_once('#') {
        Some((a, case)) => (a, Some(case)),
        None => (arn, None),
    }
}

/// Gives execution `execution` of `machine` the mocks of test case `case`. Refused (a
/// ValidationException; SFN Local's own wording is not documented) when serve has no
/// mock config or the test case is not in it.
pub fn use_test_case(state: &State, machine: &str, execution: &str, case: &str) -> Result<(), String> {
    let mut world = state.world.lock();
    let doc = world.mock_config.as_ref().ok_or_else(|| {
        format!("Test case '{case}' cannot be run: asl-sim serve was started without a mock config (--mock-config FILE or SFN_MOCK_CONFIG)")
    })?;
    let has_case = doc.get("StateMachines").and_then(|m| m.get(machine)).and_then(|m| m.get("TestCases")).and_then(|t| t.get(case)).is_some();
    if !has_case {
        return Err(format!("The mock config has no test case '{case}' for state machine '{machine}'"));
    }
    let mocks = MockConfig::load(doc, machine, case)?;
    world.execution_mocks.entry((machine.to_string(), execution.to_string())).or_insert(mocks);
    Ok(())
}
