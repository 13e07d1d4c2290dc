//! Step Functions' TestState, offline: one state (alone, or picked from a state machine
//! by `stateName`) run by the engine with the request's input, variables, context,
//! `mock` and `stateConfiguration`, answered in TestState's shape at the requested
//! inspection level. Serve's API and `asl-sim test-state` both call [`test_state`].
//!
//! AWS's reference: https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
//! and https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html.
//! Refusals are worded as AWS recorded them (`aws-recorded/stepfunctions-api.jsonl`,
//! the `test_state/` snapshots).

use asl_core::engine::{self, Clock, ExecutionConfig, ExecutionType, Services, TaskCall, TaskError, TaskStart, TestReport, TestStateOptions};
use serde_json::{json, Map, Value};
use asl_world::output_schema::FieldValidation;

/// A refusal: AWS's error code and message (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

fn validation(message: impl Into<String>) -> Refusal {
    refuse("ValidationException", message)
}

/// The name a state given alone is tested under. AWS's recordings of a single
/// state show it as `$$.State.Name` "StateName" and name it in definition errors
/// (`at /States/StateName/Branches`).
pub const SINGLE_STATE_NAME: &str = "StateName";

const MAX_DEFINITION: usize = 1_048_576;
const MAX_INPUT: usize = 262_144;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Info,
    Debug,
    Trace,
}

/// Runs a TestState request (`body`, the API's JSON) against `services`; the answer is
/// TestState's response with every JSON payload decoded (`output`, the inspection data):
/// [`to_wire`] encodes them as the API sends them.
pub fn test_state(body: &Value, services: &mut dyn Services, now_ms: i64) -> Result<Value, Refusal> {
    let b = body.as_object().ok_or_else(|| refuse("SerializationException", "The request body must be a JSON object"))?;
    let text = string(b, "definition")?.ok_or_else(|| validation("1 validation error detected: Value null at 'definition' failed to satisfy constraint: Member must not be null"))?;
    if text.len() > MAX_DEFINITION {
        return Err(validation(format!("1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to {MAX_DEFINITION}")));
    }
    let role_arn = string(b, "roleArn")?;
    let state_name = string(b, "stateName")?;
    if state_name == Some("") {
        return Err(validation("1 validation error detected: Value '' at 'stateName' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    }
    let level = match string(b, "inspectionLevel")?.unwrap_or("INFO") {
        "INFO" => Level::Info,
        "DEBUG" => Level::Debug,
        "TRACE" => Level::Trace,
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
            )))
        }
    };
    let reveal_secrets = match b.get("revealSecrets") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(x)) => *x,
        Some(_) => return Err(refuse("SerializationException", "revealSecrets must be a boolean")),
    };
    let input = json_field(b, "input", MAX_INPUT, |e| refuse("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{e}'")))?.unwrap_or_else(|| json!({}));
    let variables = match json_field(b, "variables", MAX_INPUT, |e| validation(format!("Invalid variables: '{e}'")))? {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        // AWS's docs: "variables: JSON string that contains the variables"; not an object is unusable.
        Some(_) => return Err(validation("Invalid variables: the variables must be a JSON object")),
    };
    let context = json_field(b, "context", MAX_INPUT, |e| validation(format!("Invalid Context object provided: '{e}'")))?;

    // The definition: a whole state machine (with stateName) or one state.
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        refuse("InvalidDefinition", format!("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'"))
    })?;
    let is_machine = doc.get("States").is_some() || doc.get("StartAt").is_some();
    let (machine_text, tested) = match (state_name, is_machine) {
        (Some(name), true) => (text.to_string(), name.to_string()),
        // AWS's docs are silent on a whole machine without stateName: its StartAt state is tested.
        (None, true) => (text.to_string(), doc.get("StartAt").and_then(Value::as_str).unwrap_or("").to_string()),
        (Some(_), false) => return Err(validation("State not found in definition")),
        (None, false) => (wrap_single_state(&doc)?, SINGLE_STATE_NAME.to_string()),
    };
    if let Some(m) = super::sfn_control::invalid_definition_message(&super::sfn_control::aws_diagnostics(&machine_text, false)) {
        return Err(refuse("InvalidDefinition", m));
    }
    let (def, _) = asl_core::load_definition(&machine_text, &Default::default());
    let def = def.ok_or_else(|| refuse("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object'"))?;
    let index = *def.machine.by_name.get(&tested).ok_or_else(|| validation("State not found in definition"))?;
    let st = &def.machine.states[index];
    let state_json = doc.get("States").and_then(|s| s.get(&tested)).unwrap_or(&doc);

    // The mock and what each state type allows.
    let mock = mock(b)?;
    let config = state_configuration(b, mock.as_ref(), st)?;
    let kind = st.kind.type_name();
    let container = matches!(st.kind, asl_core::definition::Kind::Map(_) | asl_core::definition::Kind::Parallel { .. });
    match (&mock, kind) {
        (Some(_), "Task" | "Map" | "Parallel") => {}
        (Some(_), other) => return Err(validation(format!("State type '{other}' is not supported when a mock is specified"))),
        (None, "Map" | "Parallel") => {
            return Err(refuse("InvalidDefinition", "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"))
        }
        (None, "Task") if role_arn.is_none() => return Err(validation("RoleArn must be specified when testing a Task state")),
        _ => {}
    }
    if reveal_secrets && mock.is_some() {
        return Err(validation("TestState does not support RevealSecrets when a mock is specified."));
    }
    if let (Some(Ok(result)), true) = (&mock, container) {
        check_container_mock(st, state_json, result)?;
    }
    if let (Some(Ok(result)), asl_core::definition::Kind::Task(t)) = (&mock, &st.kind) {
        asl_world::output_schema::check_mock_result(&t.resource, result, field_validation(b)).map_err(validation)?;
    }
    if let Some(ctx) = &context {
        check_context(ctx, st)?;
    }
    if mock.is_none() {
        if let asl_core::definition::Kind::Task(t) = &st.kind {
            if t.resource.ends_with(".waitForTaskToken") || t.resource.contains(":activity:") {
                // Nothing can answer the callback within one request. (AWS's docs do not say
                // what TestState does here; asl-sim refuses rather than wait.)
                return Err(validation(format!(
                    "asl-sim's TestState cannot wait for the callback of '{}': give the state a mock",
                    t.resource
                )));
            }
        }
    }

    let mut options = TestStateOptions { variables, context, retrier_retry_count: config, container_mock: None };
    let mut task_mock = None;
    match (mock, container) {
        (Some(m), true) => options.container_mock = Some(m),
        (m, _) => task_mock = m,
    }
    let exec_config = ExecutionConfig {
        region: super::template::REGION.into(),
        account: super::template::ACCOUNT.into(),
        state_machine_name: "TestState".into(),
        execution_name: "test-state".into(),
        role_arn: role_arn.map(str::to_string),
        // TestState runs as an Express execution (recorded: `$$.Execution.Id` is an `express:` ARN).
        execution_type: ExecutionType::Express,
        seed: now_ms as u64,
        ..ExecutionConfig::default()
    };
    let mut clock = engine::VirtualClock { now: now_ms };
    let mut mocked = Mocked { mock: task_mock, inner: services };
    let report = engine::test_state(&def, index, input, exec_config, options, &mut mocked, &mut clock).map_err(|e| validation(e.to_string()))?;
    Ok(response(&report, level))
}

/// TestState's response with its payloads as the API sends them: JSON text.
pub fn to_wire(decoded: &Value) -> Value {
    let mut v = decoded.clone();
    if let Some(o) = v.get_mut("output") {
        *o = Value::String(o.to_string());
    }
    if let Some(Value::Object(d)) = v.get_mut("inspectionData") {
        for (k, x) in d.iter_mut() {
            if PAYLOAD_FIELDS.contains(&k.as_str()) {
                *x = Value::String(x.to_string());
            }
        }
    }
    v
}

const PAYLOAD_FIELDS: [&str; 12] = [
    "input",
    "afterInputPath",
    "afterParameters",
    "afterArguments",
    "result",
    "afterResultSelector",
    "afterResultPath",
    "variables",
    "afterItemsPath",
    "afterItemSelector",
    "afterItemBatcher",
    "afterItemsPointer",
];

fn response(r: &TestReport, level: Level) -> Value {
    let mut v = Map::new();
    v.insert("status".into(), json!(r.status.as_str()));
    if let Some(o) = &r.end.output {
        v.insert("output".into(), o.clone());
    }
    if let Some(e) = &r.end.error {
        v.insert("error".into(), json!(e));
    }
    if let Some(c) = &r.end.cause {
        v.insert("cause".into(), json!(c));
    }
    if let Some(n) = &r.next_state {
        v.insert("nextState".into(), json!(n));
    }
    if level >= Level::Debug {
        let i = &r.inspection;
        let mut d = Map::new();
        for (k, x) in [
            ("input", &i.input),
            ("afterInputPath", &i.after_input_path),
            ("afterParameters", &i.after_parameters),
            ("afterArguments", &i.after_arguments),
            ("result", &i.result),
            ("afterResultSelector", &i.after_result_selector),
            ("afterResultPath", &i.after_result_path),
            ("variables", &i.variables),
        ] {
            if let Some(x) = x {
                d.insert(k.into(), x.clone());
            }
        }
        let (e, mut details) = (&i.error_details, Map::new());
        if let Some(x) = e.retry_index {
            details.insert("retryIndex".into(), json!(x));
        }
        if let Some(x) = e.retry_backoff_interval_seconds {
            details.insert("retryBackoffIntervalSeconds".into(), json!(x));
        }
        if let Some(x) = e.catch_index {
            details.insert("catchIndex".into(), json!(x));
        }
        if !details.is_empty() {
            d.insert("errorDetails".into(), Value::Object(details));
        }
        if let Some(x) = i.max_concurrency {
            d.insert("maxConcurrency".into(), json!(x as i64));
        }
        if let Some(x) = i.tolerated_failure_count {
            d.insert("toleratedFailureCount".into(), json!(x as i64));
        }
        if let Some(x) = i.tolerated_failure_percentage {
            d.insert("toleratedFailurePercentage".into(), json!(x));
        }
        v.insert("inspectionData".into(), Value::Object(d));
    }
    Value::Object(v)
}

fn string<'a>(b: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, Refusal> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(refuse("SerializationException", format!("STRING_VALUE can not be converted to a String: {k} must be a string"))),
    }
}

/// A request field that holds JSON text (`input`, `variables`, `context`).
fn json_field(b: &Map<String, Value>, k: &str, max: usize, bad: impl Fn(serde_json::Error) -> Refusal) -> Result<Option<Value>, Refusal> {
    match string(b, k)? {
        None => Ok(None),
        // The API marks these fields sensitive: AWS's constraint message shows no value.
        Some(s) if s.len() > max => Err(validation(format!("1 validation error detected: Value at '{k}' failed to satisfy constraint: Member must have length less than or equal to {max}"))),
        Some(s) => serde_json::from_str(s).map(Some).map_err(bad),
    }
}

/// A state given alone, in a machine of its own: the states it names as `Next`
/// (its own, its choices', its catchers') become placeholders, so the definition
/// validates and `nextState` can name them.
fn wrap_single_state(state: &Value) -> Result<String, Refusal> {
    if !state.is_object() {
        return Err(refuse("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object'"));
    }
    let mut targets = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            if s != SINGLE_STATE_NAME && !targets.contains(s) {
                targets.push(s.clone());
            }
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        for x in state.get(list).and_then(Value::as_array).into_iter().flatten() {
            add(x.get("Next"));
        }
    }
    let mut states = Map::new();
    states.insert(SINGLE_STATE_NAME.into(), state.clone());
    for t in targets {
        states.insert(t, json!({"Type": "Succeed"}));
    }
    Ok(json!({"StartAt": SINGLE_STATE_NAME, "States": states}).to_string())
}

/// `mock.fieldValidationMode` (checked by [`mock`]); absent is STRICT.
fn field_validation(b: &Map<String, Value>) -> FieldValidation {
    let mode = b.get("mock").and_then(|m| m.get("fieldValidationMode")).and_then(Value::as_str);
    FieldValidation::parse(mode).unwrap_or(FieldValidation::Strict)
}

/// `mock`: a result (JSON text) or an errorOutput, never both (recorded wording).
fn mock(b: &Map<String, Value>) -> Result<Option<Result<Value, TaskError>>, Refusal> {
    let m = match b.get("mock") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(refuse("SerializationException", "mock must be an object")),
    };
    match m.get("fieldValidationMode") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if FieldValidation::parse(Some(s)).is_some() => {}
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_string);
            return Err(validation(format!(
                "1 validation error detected: Value '{shown}' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
            )));
        }
    }
    let result = m.get("result").filter(|v| !v.is_null());
    let error = m.get("errorOutput").filter(|v| !v.is_null());
    match (result, error) {
        (Some(r), None) => {
            let text = r.as_str().ok_or_else(|| validation("Mocked result must be valid JSON"))?;
            if text.len() > MAX_INPUT {
                return Err(validation(format!("1 validation error detected: Value at 'mock.result' failed to satisfy constraint: Member must have length less than or equal to {MAX_INPUT}")));
            }
            serde_json::from_str(text).map(|v| Some(Ok(v))).map_err(|_| validation("Mocked result must be valid JSON"))
        }
        (None, Some(e)) => {
            let field = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
            // AWS's MockErrorOutput: both fields optional strings.
            Ok(Some(Err(TaskError { error: field("error").unwrap_or_default(), cause: field("cause") })))
        }
        _ => Err(validation("A test mock should have only one of the following fields: [result, errorOutput].")),
    }
}

/// A Map's or Parallel's mocked result has the state's own result shape (recorded wording).
fn check_container_mock(st: &asl_core::definition::State, state_json: &Value, result: &Value) -> Result<(), Refusal> {
    use asl_core::definition::Kind;
    match &st.kind {
        Kind::Parallel { branches } => {
            let a = result.as_array().ok_or_else(|| validation("Mocked result must be an array."))?;
            if a.len() != branches.len() {
                return Err(validation("Mocked result must contain the same number of items as number of Parallel branches."));
            }
        }
        Kind::Map(_) => {
            let writes = state_json.get("ResultWriter").is_some();
            if writes && !result.is_object() {
                return Err(validation("Mocked result must be a JSON object."));
            }
            if !writes && !result.is_array() {
                return Err(validation("Mocked result must be an array."));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `stateConfiguration`: the retrier's count (returned) and the Map settings,
/// checked as AWS checks them (recorded wording).
fn state_configuration(b: &Map<String, Value>, mock: Option<&Result<Value, TaskError>>, st: &asl_core::definition::State) -> Result<u32, Refusal> {
    let c = match b.get("stateConfiguration") {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Object(c)) => c,
        Some(_) => return Err(refuse("SerializationException", "stateConfiguration must be an object")),
    };
    let int = |k: &str| -> Result<Option<u64>, Refusal> {
        match c.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                validation(format!("1 validation error detected: Value '{v}' at 'stateConfiguration.{k}' failed to satisfy constraint: Member must have value greater than or equal to 0"))
            }),
        }
    };
    let retries = int("retrierRetryCount")?.unwrap_or(0);
    if let Some(n) = int("mapIterationFailureCount")? {
        let Some(m) = mock else {
            return Err(validation("TestState does not support MapIterationFailureCount when a mock is not specified."));
        };
        if let Ok(Value::Array(items)) = m {
            if n as usize > items.len() {
                return Err(validation("Map iteration failure count must be less than or equal to the number of Map iterations"));
            }
        }
    }
    if let Some(name) = c.get("errorCausedByState").and_then(Value::as_str) {
        if !contains_state(st, name) {
            return Err(validation(format!("State '{name}' named by errorCausedByState is not in the tested state")));
        }
    }
    if let Some(data) = c.get("mapItemReaderData") {
        if data.as_str().is_none_or(|s| serde_json::from_str::<Value>(s).is_err()) {
            return Err(validation("mapItemReaderData must be valid JSON"));
        }
    }
    Ok(u32::try_from(retries).unwrap_or(u32::MAX))
}

fn contains_state(st: &asl_core::definition::State, name: &str) -> bool {
    use asl_core::definition::{Kind, Machine};
    fn in_machine(m: &Machine, name: &str) -> bool {
        m.states.iter().any(|s| s.name == name || contains_state(s, name))
    }
    match &st.kind {
        Kind::Parallel { branches } => branches.iter().any(|b| in_machine(b, name)),
        Kind::Map(map) => in_machine(&map.processor, name),
        _ => false,
    }
}

/// `context`: the fields a Context object may have (recorded wording).
fn check_context(ctx: &Value, st: &asl_core::definition::State) -> Result<(), Refusal> {
    let bad = |m: String| validation(format!("Invalid Context object provided: {m}"));
    let o = ctx.as_object().ok_or_else(|| bad("the Context object must be a JSON object".into()))?;
    for (k, v) in o {
        match k.as_str() {
            "Map" => return Err(bad("'Map' field is not supported when mocking a Context object".into())),
            "Execution" => {
                let e = v.as_object().ok_or_else(|| bad("Execution must be an object".into()))?;
                for (f, x) in e {
                    match f.as_str() {
                        "Id" | "Name" | "RoleArn" | "StartTime" | "RedriveTime" => {
                            if !(x.is_string() || f == "RoleArn" && x.is_null()) {
                                return Err(bad(format!("Execution.{f} must be a string")));
                            }
                        }
                        "Input" | "RedriveCount" => {}
                        other => return Err(bad(format!("Field '{other}' is not allowed"))),
                    }
                }
            }
            "State" | "StateMachine" => {}
            "Task" => {
                let callback = match &st.kind {
                    asl_core::definition::Kind::Task(t) => t.resource.ends_with(".waitForTaskToken") || t.resource.contains(".sync"),
                    _ => false,
                };
                if !callback {
                    return Err(bad(
                        "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into(),
                    ));
                }
            }
            other => return Err(bad(format!("Field '{other}' is not allowed"))),
        }
    }
    Ok(())
}

/// The services TestState's Task sees: its mock, else the world.
struct Mocked<'a> {
    mock: Option<Result<Value, TaskError>>,
    inner: &'a mut dyn Services,
}

impl Services for Mocked<'_> {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        match self.mock.take() {
            Some(m) => m,
            None => self.inner.call(call, clock),
        }
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        match self.mock.take() {
            Some(m) => TaskStart::Done(m),
            None => self.inner.start_task(call, clock),
        }
    }
    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        self.inner.read_items(reader, parameters)
    }
    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        self.inner.put_object(bucket, key, body)
    }
}

#[cfg(test)]
mod tests {
    //! Expected values are AWS's recordings (`aws-recorded/stepfunctions-api.jsonl`, the
    //! `test_state/` snapshots), request shapes as in LocalStack's tests of them.
    use super::*;
    use asl_core::engine::NoServices;

    fn run(body: Value) -> Result<Value, Refusal> {
        test_state(&body, &mut NoServices, 1_700_000_000_000)
    }

    const IO_RESULT_PASS: &str = r#"{"Type": "Pass", "Result": {"resultKey": "result value"}, "ResultPath": "$.modifiedData", "End": true}"#;

    #[test]
    fn pass_state_at_each_level() {
        let input = r#"{"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}}"#;
        let output = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}, "modifiedData": {"resultKey": "result value"}});
        let info = run(json!({"definition": IO_RESULT_PASS, "input": input})).unwrap();
        assert_eq!(info, json!({"status": "SUCCEEDED", "output": output}));
        for level in ["DEBUG", "TRACE"] {
            let v = run(json!({"definition": IO_RESULT_PASS, "input": input, "inspectionLevel": level})).unwrap();
            assert_eq!(
                v["inspectionData"],
                json!({
                    "input": serde_json::from_str::<Value>(input).unwrap(),
                    "result": {"resultKey": "result value"},
                    "afterResultSelector": {"resultKey": "result value"},
                    "afterResultPath": output,
                })
            );
        }
    }

    #[test]
    fn pass_without_result_reports_parameters_and_paths() {
        let v = run(json!({"definition": r#"{"Type": "Pass", "End": true}"#, "input": r#"{"Value": "HelloWorld"}"#, "inspectionLevel": "DEBUG"})).unwrap();
        let x = json!({"Value": "HelloWorld"});
        assert_eq!(
            v["inspectionData"],
            json!({"input": x, "afterInputPath": x, "afterParameters": x, "afterResultSelector": x, "afterResultPath": x})
        );
    }

    #[test]
    fn choice_reports_the_next_state() {
        let def = json!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.value", "NumericGreaterThanEquals": 20, "Next": "ValueInTwenties"}],
            "Default": "DefaultState"
        })
        .to_string();
        let v = run(json!({"definition": def, "input": r#"{"type": "Private", "value": 22}"#, "inspectionLevel": "TRACE"})).unwrap();
        let x = json!({"type": "Private", "value": 22});
        assert_eq!(v, json!({"status": "SUCCEEDED", "output": x, "nextState": "ValueInTwenties", "inspectionData": {"input": x, "afterInputPath": x}}));
    }

    #[test]
    fn fail_state_fails_with_its_error() {
        let def = r#"{"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}"#;
        let v = run(json!({"definition": def})).unwrap();
        assert_eq!(v, json!({"status": "FAILED", "error": "SomeFailure", "cause": "This state machines raises a 'SomeFailure' failure."}));
    }

    #[test]
    fn state_name_picks_a_state_of_a_machine() {
        let def = json!({"StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Result": {"Value": "HelloWorld"}, "Next": "State1"},
            "State1": {"Type": "Pass", "End": true}}})
        .to_string();
        let v = run(json!({"definition": def, "stateName": "State0"})).unwrap();
        assert_eq!(v, json!({"status": "SUCCEEDED", "output": {"Value": "HelloWorld"}, "nextState": "State1"}));
        let e = run(json!({"definition": def, "stateName": "dne"})).unwrap_err();
        assert_eq!(e, validation("State not found in definition"));
    }

    const LAMBDA_TASK: &str = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "foo", "Payload": "bar"},
        "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 4}],
        "Catch": [{"ErrorEquals": ["MockException"], "Next": "HandleMockError"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.errorOutput", "Next": "HandleThreshold"}],
        "End": true}"#;

    #[test]
    fn a_mocked_error_is_retriable_until_the_retrier_is_exhausted() {
        let mock = json!({"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}});
        let input = r#"{"Values": ["first", "second", "third"]}"#;
        let v = run(json!({"definition": LAMBDA_TASK, "input": input, "mock": mock, "inspectionLevel": "DEBUG", "stateConfiguration": {"retrierRetryCount": 3}})).unwrap();
        assert_eq!(v["status"], "RETRIABLE");
        assert_eq!(v["error"], "MockException");
        assert_eq!(v["inspectionData"]["errorDetails"], json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 16}));
        assert_eq!(v["inspectionData"]["afterParameters"], json!({"FunctionName": "foo", "Payload": "bar"}));
        assert!(v.get("output").is_none());
        // Exhausted: the catcher takes it.
        let v = run(json!({"definition": LAMBDA_TASK, "input": input, "mock": mock, "inspectionLevel": "DEBUG", "stateConfiguration": {"retrierRetryCount": 4}})).unwrap();
        assert_eq!(v["status"], "CAUGHT_ERROR");
        assert_eq!(v["nextState"], "HandleMockError");
        assert_eq!(v["output"], json!({"Error": "MockException", "Cause": "Mock the cause of the error."}));
        assert_eq!(v["inspectionData"]["errorDetails"], json!({"retryIndex": 0, "catchIndex": 0}));
    }

    #[test]
    fn a_caught_error_goes_through_the_catchers_result_path() {
        let mock = json!({"errorOutput": {"error": "States.TaskFailed", "cause": "The task failed."}});
        let v = run(json!({"definition": LAMBDA_TASK, "input": r#"{"Value": "HelloWorld"}"#, "mock": mock})).unwrap();
        assert_eq!(
            v,
            json!({"status": "CAUGHT_ERROR", "error": "States.TaskFailed", "cause": "The task failed.", "nextState": "HandleThreshold",
                   "output": {"Value": "HelloWorld", "errorOutput": {"Error": "States.TaskFailed", "Cause": "The task failed."}}})
        );
    }

    #[test]
    fn a_mocked_result_runs_the_data_flow() {
        let def = r#"{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/test-queue", "MessageBody": {"Message": "Hello", "TaskToken.$": "$$.Task.Token"}},
            "ResultPath": "$.SQS", "Next": "NEXT_STATE"}"#;
        let v = run(json!({"definition": def, "mock": {"result": r#"{"pokemon": ["pikachu"]}"#}, "inspectionLevel": "DEBUG",
                           "context": r#"{"Task": {"Token": "abcd123"}}"#}))
        .unwrap();
        assert_eq!(v["output"], json!({"SQS": {"pokemon": ["pikachu"]}}));
        assert_eq!(v["nextState"], "NEXT_STATE");
        assert_eq!(v["inspectionData"]["afterParameters"]["MessageBody"]["TaskToken"], "abcd123");
        assert_eq!(v["inspectionData"]["result"], json!({"pokemon": ["pikachu"]}));
    }

    #[test]
    fn jsonata_states_report_arguments_and_variables() {
        let def = r#"{"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.n %}"}, "Assign": {"seen": "{% $states.result.x + $base %}"},
            "Output": {"y": "{% $states.result.x %}"}, "End": true}"#;
        let v = run(json!({"definition": def, "input": r#"{"n": 1}"#, "variables": r#"{"base": 10}"#, "mock": {"result": r#"{"x": 5}"#}, "inspectionLevel": "DEBUG"})).unwrap();
        assert_eq!(v["output"], json!({"y": 5}));
        assert_eq!(
            v["inspectionData"],
            json!({"input": {"n": 1}, "afterArguments": {"FunctionName": "f", "Payload": 1}, "result": {"x": 5}, "variables": {"base": 10, "seen": 15}})
        );
    }

    #[test]
    fn parallel_and_map_take_their_mock() {
        let par = r#"{"Type": "Parallel", "ResultPath": "$.parallelResult", "End": true, "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}]}"#;
        let mock = r#"[{"branch1": "result"}, {"branch2": "result"}]"#;
        let v = run(json!({"definition": par, "input": r#"{"parallelInput": {"data": "input_value"}}"#, "mock": {"result": mock}, "inspectionLevel": "TRACE"})).unwrap();
        let out = json!({"parallelInput": {"data": "input_value"}, "parallelResult": [{"branch1": "result"}, {"branch2": "result"}]});
        assert_eq!(v["output"], out);
        assert_eq!(
            v["inspectionData"],
            json!({"input": {"parallelInput": {"data": "input_value"}}, "afterResultSelector": [{"branch1": "result"}, {"branch2": "result"}], "afterResultPath": out})
        );
        assert_eq!(run(json!({"definition": par, "mock": {"result": "[1]"}})).unwrap_err(), validation("Mocked result must contain the same number of items as number of Parallel branches."));
        assert_eq!(run(json!({"definition": par, "mock": {"result": "{}"}})).unwrap_err(), validation("Mocked result must be an array."));
        assert_eq!(run(json!({"definition": par})).unwrap_err().code, "InvalidDefinition");

        let map = r#"{"Type": "Map", "ItemsPath": "$.Values", "MaxConcurrency": 1, "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}"#;
        let v = run(json!({"definition": map, "input": r#"{"Values": [1, 2, 3]}"#, "mock": {"result": "[1, 1, 1]"}, "inspectionLevel": "DEBUG"})).unwrap();
        assert_eq!(v, json!({"status": "SUCCEEDED", "output": [1, 1, 1], "inspectionData": {"input": {"Values": [1, 2, 3]}, "maxConcurrency": 1}}));
        let e = run(json!({"definition": map, "stateConfiguration": {"mapIterationFailureCount": 1}})).unwrap_err();
        assert_eq!(e, validation("TestState does not support MapIterationFailureCount when a mock is not specified."));
        let e = run(json!({"definition": map, "mock": {"result": "[1]"}, "stateConfiguration": {"mapIterationFailureCount": 2}})).unwrap_err();
        assert_eq!(e, validation("Map iteration failure count must be less than or equal to the number of Map iterations"));
    }

    #[test]
    fn a_mocked_result_is_checked_against_the_apis_output_by_field_validation_mode() {
        // aws-recorded: test_field_validation_mode*.py (STRICT is the default).
        let sfn = r#"{"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}, "ResultPath": "$.targetExecutionResult", "End": true}"#;
        let body = |result: &str, mode: Option<&str>| {
            let mut mock = json!({"result": result});
            if let Some(m) = mode {
                mock["fieldValidationMode"] = json!(m);
            }
            json!({"definition": sfn, "mock": mock})
        };
        let missing = validation("Mock result schema validation error: Required field 'ExecutionArn' is missing");
        assert_eq!(run(body("{}", None)).unwrap_err(), missing);
        assert_eq!(run(body("{}", Some("STRICT"))).unwrap_err(), missing);
        assert_eq!(run(body("{}", Some("PRESENT"))).unwrap(), json!({"status": "SUCCEEDED", "output": {"targetExecutionResult": {}}}));
        let wrong = r#"{"ExecutionArn": "stringValueExecutionArn", "StartDate": true}"#;
        assert_eq!(run(body(wrong, Some("PRESENT"))).unwrap_err(), validation("Mock result schema validation error: Field 'StartDate' must be a string"));
        assert_eq!(
            run(body(wrong, Some("NONE"))).unwrap(),
            json!({"status": "SUCCEEDED", "output": {"targetExecutionResult": {"ExecutionArn": "stringValueExecutionArn", "StartDate": true}}})
        );
        // A mocked error is not a result: nothing to check.
        let failed = run(json!({"definition": sfn, "mock": {"errorOutput": {"error": "E", "cause": "c"}}})).unwrap();
        assert_eq!(failed["status"], json!("FAILED"));
    }

    #[test]
    fn refusals_use_aws_words() {
        let mock_both = json!({"result": "{}", "errorOutput": {"error": "E"}});
        assert_eq!(
            run(json!({"definition": LAMBDA_TASK, "mock": mock_both})).unwrap_err(),
            validation("A test mock should have only one of the following fields: [result, errorOutput].")
        );
        assert_eq!(run(json!({"definition": LAMBDA_TASK, "mock": {"result": "{not json"}})).unwrap_err(), validation("Mocked result must be valid JSON"));
        assert_eq!(
            run(json!({"definition": LAMBDA_TASK, "mock": {"result": "{}"}, "revealSecrets": true})).unwrap_err(),
            validation("TestState does not support RevealSecrets when a mock is specified.")
        );
        assert_eq!(
            run(json!({"definition": IO_RESULT_PASS, "mock": {"result": "{}"}})).unwrap_err(),
            validation("State type 'Pass' is not supported when a mock is specified")
        );
        assert_eq!(run(json!({"definition": LAMBDA_TASK})).unwrap_err(), validation("RoleArn must be specified when testing a Task state"));
        let e = run(json!({"definition": r#"{"Type": "Parallel", "Branches": [], "End": true}"#, "mock": {"result": "[]"}})).unwrap_err();
        assert_eq!(e, refuse("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'"));
        let e = run(json!({"definition": IO_RESULT_PASS, "context": r#"{"Map": {}}"#})).unwrap_err();
        assert_eq!(e, validation("Invalid Context object provided: 'Map' field is not supported when mocking a Context object"));
        let e = run(json!({"definition": IO_RESULT_PASS, "context": r#"{"Execution": {"Id": 1}}"#})).unwrap_err();
        assert_eq!(e, validation("Invalid Context object provided: Execution.Id must be a string"));
        let e = run(json!({"definition": IO_RESULT_PASS, "context": r#"{"Pokedex": 1}"#})).unwrap_err();
        assert_eq!(e, validation("Invalid Context object provided: Field 'Pokedex' is not allowed"));
        let e = run(json!({"definition": IO_RESULT_PASS, "context": r#"{"Task": {"Token": "x"}}"#})).unwrap_err();
        assert!(e.message.contains("Context object contains 'Task' when state is not a Task state"), "{e:?}");
        let e = run(json!({"definition": IO_RESULT_PASS, "inspectionLevel": "LOUD"})).unwrap_err();
        assert!(e.message.contains("Member must satisfy enum value set: [INFO, DEBUG, TRACE]"), "{e:?}");
        assert_eq!(run(json!({"definition": "{"})).unwrap_err().code, "InvalidDefinition");
        assert_eq!(run(json!({"definition": IO_RESULT_PASS, "input": "[oops"})).unwrap_err().code, "InvalidExecutionInput");
        let big = format!("\"{}\"", "x".repeat(MAX_INPUT));
        assert!(run(json!({"definition": IO_RESULT_PASS, "input": big})).unwrap_err().message.contains("Member must have length less than or equal to 262144"));
    }

    #[test]
    fn the_given_context_is_dollar_dollar() {
        let def = r#"{"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": true}"#;
        assert_eq!(run(json!({"definition": def, "context": "{}"})).unwrap()["output"], json!({"ctx": {}}));
        let v = run(json!({"definition": def})).unwrap();
        assert_eq!(v["output"]["ctx"]["State"]["Name"], SINGLE_STATE_NAME);
        assert!(v["output"]["ctx"]["Execution"]["Id"].as_str().unwrap().contains(":express:"));
    }

    #[test]
    fn the_wire_form_carries_json_text() {
        let v = run(json!({"definition": IO_RESULT_PASS, "inspectionLevel": "DEBUG"})).unwrap();
        let w = to_wire(&v);
        assert_eq!(w["output"], json!(v["output"].to_string()));
        assert_eq!(w["inspectionData"]["result"], json!(r#"{"resultKey":"result value"}"#));
        assert_eq!(w["status"], "SUCCEEDED");
    }
}
