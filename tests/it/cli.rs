//! The `asl-sim` binary's contracts: exit codes, exactly one JSON object on
//! stdout with `--format json`, diagnostics on stderr, `eval`'s three shapes.

use serde_json::Value;
use std::process::Command;

/// The `asl-sim` binary (the integration tests share this one lookup).
pub(crate) fn bin() -> Command {
    // The test binary lives in target/<profile>/deps; asl-sim is built beside it
    // (`cargo test --workspace` builds the workspace's binaries).
    let exe = std::env::current_exe().expect("test exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>");
    let asl_sim = profile_dir.join("asl-sim");
    assert!(asl_sim.exists(), "{} is missing: build the workspace first (cargo build -p asl-sim)", asl_sim.display());
    Command::new(asl_sim)
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("asl-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("run asl-sim");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn run_json_success_and_failure() {
    let def = tmp("ok.json", r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"End":true}}}"#);
    let (code, out, _) = run(&["run", def.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v, serde_json::json!({"status": "SUCCEEDED", "output": {"x": 1}}));

    let def = tmp("fail.yaml", "StartAt: F\nStates:\n  F: {Type: Fail, Error: E}\n");
    let (code, out, _) = run(&["run", def.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v, serde_json::json!({"status": "FAILED", "error": "E", "cause": null}));
}

#[test]
fn a_failed_run_names_the_state_and_its_file_line_col() {
    // The failing state is nested in a Parallel branch, on line 6 of the file.
    let def = tmp(
        "where.yaml",
        "StartAt: P\nStates:\n  P:\n    Type: Parallel\n    Branches:\n      - StartAt: Inner\n        States:\n          Inner: {Type: Pass, Parameters: {x.$: $.missing}, End: true}\n    End: true\n",
    );
    let (code, out, err) = run(&["run", def.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("stdout stays one JSON object");
    assert_eq!(v["error"], "States.Runtime");
    assert!(err.contains("where.yaml:8:11: state \"Inner\" ended the execution FAILED: States.Runtime"), "{err}");
    // A successful run prints no location.
    let ok = tmp("where-ok.json", r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#);
    let (code, _, err) = run(&["run", ok.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 0);
    assert!(!err.contains("ended the execution"), "{err}");
}

#[test]
fn invalid_definitions_exit_2_with_nothing_on_stdout() {
    let def = tmp("bad.yaml", "StartAt: Nope\nStates:\n  A: {Type: Pass, End: true}\n");
    let (code, out, err) = run(&["run", def.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("bad.yaml:1:10: error"), "{err}");
    let (code, _, err) = run(&["validate", def.to_str().unwrap_or_default()]);
    assert_eq!(code, 1);
    assert!(err.contains("StartAt names \"Nope\""), "{err}");
}

#[test]
fn substitutions_and_context() {
    let def = tmp("sub.yaml", "StartAt: A\nStates:\n  A: {Type: Pass, Parameters: {t: '${Table}', id.$: $$.Execution.Id}, End: true}\n");
    let ctx = tmp("ctx.json", r#"{"Region":"eu-west-1","Account":"111122223333","StateMachineName":"m","ExecutionName":"e"}"#);
    let (code, out, err) = run(&["run", def.to_str().unwrap_or_default(), "--sub", "Table=inv", "--context", ctx.to_str().unwrap_or_default(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["output"]["t"], "inv");
    assert_eq!(v["output"]["id"], "arn:aws:states:eu-west-1:111122223333:execution:m:e");
}

#[test]
fn history_file_has_aws_event_shapes() {
    let def = tmp("h.json", r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}"#);
    let hist = tmp("h.out.json", "");
    let (code, _, _) = run(&["run", def.to_str().unwrap_or_default(), "--format", "json", "--history", hist.to_str().unwrap_or_default()]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&hist).expect("history")).expect("json");
    let types: Vec<&str> = v["events"].as_array().expect("events").iter().map(|e| e["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types, ["ExecutionStarted", "PassStateEntered", "PassStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]);
    assert_eq!(v["events"][2]["previousEventId"], 2);
    assert_eq!(v["events"][1]["stateEnteredEventDetails"]["name"], "A");
}

#[test]
fn eval_prints_result_undefined_or_error() {
    let input = tmp("in.json", r#"{"a":[1,2,3]}"#);
    let i = input.to_str().unwrap_or_default();
    assert_eq!(run(&["eval", "--jsonata", "$sum(a)", "--input", i]).1.trim(), r#"{"result":6}"#);
    assert_eq!(run(&["eval", "--jsonata", "nothing", "--input", i]).1.trim(), r#"{"undefined":true}"#);
    let (code, out, _) = run(&["eval", "--jsonata", "1 +", "--input", i]);
    assert_eq!(code, 0);
    assert!(out.contains(r#""code":"S0"#), "{out}");
    assert_eq!(run(&["eval", "--jsonpath", "$.a[1]", "--input", i]).1.trim(), r#"{"result":2}"#);
    assert_eq!(run(&["eval", "--intrinsic", "States.ArrayLength($.a)", "--input", i]).1.trim(), r#"{"result":3}"#);
    assert_eq!(run(&["eval"]).0, 2);
}

#[test]
fn lambda_commands_and_state_persistence() {
    let def = tmp(
        "l.yaml",
        "StartAt: L\nStates:\n  L:\n    Type: Task\n    Resource: arn:aws:states:::lambda:invoke\n    Parameters: {FunctionName: echo, Payload: {n.$: $.n}}\n    OutputPath: $.Payload\n    Next: Put\n  Put:\n    Type: Task\n    Resource: arn:aws:states:::aws-sdk:s3:putObject\n    Parameters: {Bucket: bkt, Key: k, Body.$: States.JsonToString($)}\n    End: true\n",
    );
    let fixture = tmp("fx.json", r#"{"s3":{"buckets":[{"Name":"bkt"}]}}"#);
    let state = std::env::temp_dir().join(format!("asl-tests-state-{}", std::process::id()));
    let input = tmp("l-in.json", r#"{"n": 41}"#);
    let (code, out, err) = run(&[
        "run", def.to_str().unwrap_or_default(), "--format", "json", "--fixture", fixture.to_str().unwrap_or_default(),
        "--input", input.to_str().unwrap_or_default(),
        "--lambda", "echo=cat", "--state", state.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(state.join("store.sqlite").exists(), "--state DIR is serve's store");
    // A second run sees the first one's object.
    let get = tmp("g.yaml", "StartAt: G\nStates:\n  G:\n    Type: Task\n    Resource: arn:aws:states:::aws-sdk:s3:getObject\n    Parameters: {Bucket: bkt, Key: k}\n    OutputPath: $.Body\n    End: true\n");
    let (code, out, err) = run(&["run", get.to_str().unwrap_or_default(), "--format", "json", "--state", state.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    // PutObject through Step Functions stores the Body as JSON text (recorded on AWS), so the
    // string the first run wrote comes back quoted.
    assert_eq!(out.trim(), r#"{"status":"SUCCEEDED","output":"\"{\\\"n\\\":41}\""}"#);
    // A directory of the format before (`state.json`, here from --dump-state) is upgraded once.
    let dump = state.join("dump.json");
    let (code, _, err) = run(&["run", get.to_str().unwrap_or_default(), "--state", state.to_str().unwrap_or_default(), "--dump-state", dump.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    let old = std::env::temp_dir().join(format!("asl-tests-state-v0-{}", std::process::id()));
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(&dump, old.join("state.json")).unwrap();
    let (code, out, err) = run(&["run", get.to_str().unwrap_or_default(), "--format", "json", "--state", old.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), r#"{"status":"SUCCEEDED","output":"\"{\\\"n\\\":41}\""}"#, "the upgraded directory holds the object");
    assert!(old.join("state.json.upgraded").exists() && !old.join("state.json").exists());
    let _ = std::fs::remove_dir_all(&old);
    let _ = std::fs::remove_dir_all(&state);
}

/// `asl-sim ... | head` closes stdout early. That used to panic ("failed printing to stdout:
/// Broken pipe", exit 101); now the process ends quietly with the status a shell shows for
/// SIGPIPE (141), like other Unix tools.
#[test]
fn closed_stdout_ends_quietly() {
    let mut child = bin()
        .args(["eval", "--jsonata", "[1..200000]"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run asl-sim");
    // Read a little, then close the pipe while asl-sim still has most of its ~1.3 MB to write.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(141), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn test_state_runs_one_state_with_a_mock() {
    let def = tmp(
        "ts.yaml",
        "StartAt: Ask\nStates:\n  Ask:\n    Type: Task\n    Resource: arn:aws:states:::lambda:invoke\n    Parameters: {FunctionName: f, Payload.$: $}\n    ResultSelector: {ok.$: $.Payload.ok}\n    ResultPath: $.answer\n    Retry: [{ErrorEquals: [Boom], MaxAttempts: 2}]\n    Catch: [{ErrorEquals: [States.ALL], Next: Done}]\n    Next: Done\n  Done: {Type: Succeed}\n",
    );
    let d = def.to_str().unwrap_or_default();
    let (code, out, _) = run(&["test-state", d, "--input", r#"{"a":1}"#, "--mock-result", r#"{"Payload":{"ok":true}}"#, "--inspection-level", "DEBUG"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["nextState"], "Done");
    assert_eq!(v["output"], serde_json::json!({"a": 1, "answer": {"ok": true}}));
    assert_eq!(v["inspectionData"]["afterResultSelector"], serde_json::json!({"ok": true}));
    // A retrier with attempts left: RETRIABLE (exit 1), with the back-off it would wait.
    let (code, out, _) = run(&["test-state", d, "--state", "Ask", "--mock-error", "Boom", "--retrier-retry-count", "1", "--inspection-level", "DEBUG"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["status"], "RETRIABLE");
    assert_eq!(v["inspectionData"]["errorDetails"], serde_json::json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 2}));
    // Exhausted: the catcher takes it.
    let (code, out, _) = run(&["test-state", d, "--mock-error", "Boom", "--retrier-retry-count", "2"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["status"], "CAUGHT_ERROR");
    // Refusals: AWS's code and message on stderr, exit 2.
    let (code, out, err) = run(&["test-state", d, "--state", "Nope"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("ValidationException: State not found in definition"), "{err}");
    // The mocked result is checked against Lambda Invoke's output (STRICT by default).
    let (code, _, err) = run(&["test-state", d, "--mock-result", r#"{"StatusCode":"200"}"#]);
    assert_eq!(code, 2);
    assert!(err.contains("ValidationException: Mock result schema validation error: Field 'StatusCode' must be a number"), "{err}");
    let (code, _, _) = run(&["test-state", d, "--mock-result", r#"{"StatusCode":"200","Payload":{"ok":true}}"#, "--field-validation-mode", "NONE"]);
    assert_eq!(code, 0);
}
