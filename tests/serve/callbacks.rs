//! Executions as values in serve: callbacks (`.waitForTaskToken`), activities,
//! StopExecution, and many executions waiting without a thread each. Expectations
//! follow the Step Functions developer guide and API reference:
//! - https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
//!   (the task pauses until SendTaskSuccess / SendTaskFailure with its token;
//!   SendTaskHeartbeat keeps it alive)
//! - https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html
//!   (workers poll GetActivityTask, answer with the task token)
//! - https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
//!   (the execution ends ABORTED with the error and cause given)

use super::{root, rt, Serve};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn start() -> Serve {
    Serve::start_full(Some(&root().join("tests/serve/callbacks/template.yaml")), &[], Default::default())
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}")
}

/// Starts execution `name` of state machine `machine`; its ARN.
async fn start_named(c: &Client, machine: &str, name: &str, input: &str) -> String {
    c.start_execution().state_machine_arn(machine_arn(machine)).name(name).input(input).send().await.unwrap().execution_arn().to_string()
}

async fn status(c: &Client, arn: &str) -> String {
    c.describe_execution().execution_arn(arn).send().await.unwrap().status().as_str().to_string()
}

async fn wait_for(c: &Client, arn: &str, want: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let t = Instant::now();
    loop {
        let d = c.describe_execution().execution_arn(arn).send().await.unwrap();
        if d.status().as_str() == want {
            return d;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{arn} is {:?}, not {want}", d.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The token the approval task put in its event (TaskScheduled's parameters).
/// Starts the approval workflow with `input` and waits until it asks for approval:
/// (execution ARN, task token).
async fn waiting_approval(c: &Client, input: &str) -> (String, String) {
    let exec = c.start_execution().state_machine_arn(machine_arn("ApprovalStateMachine")).input(input).send().await.unwrap();
    let arn = exec.execution_arn().to_string();
    let token = approval_token(c, &arn).await;
    (arn, token)
}

async fn approval_token(c: &Client, arn: &str) -> String {
    let t = Instant::now();
    loop {
        let h = c.get_execution_history().execution_arn(arn).send().await.unwrap();
        let submitted = h.events().iter().any(|e| e.r#type().as_str() == "TaskSubmitted");
        let scheduled = h.events().iter().find_map(|e| e.task_scheduled_event_details().map(|d| d.parameters().to_string()));
        if let (true, Some(p)) = (submitted, scheduled) {
            let p: Value = serde_json::from_str(&p).unwrap();
            return p["Entries"][0]["Detail"]["token"].as_str().expect("token in the event").to_string();
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no TaskSubmitted in {arn}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn error_code<T, E: aws_sdk_sfn::error::ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "no error".into(),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

#[test]
fn a_callback_waits_for_send_task_success() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let (arn, token) = waiting_approval(&c, r#"{"file":"a.txt"}"#).await;
        // It waits: still RUNNING well after the integration answered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(status(&c, &arn).await, "RUNNING");
        c.send_task_heartbeat().task_token(&token).send().await.unwrap();
        c.send_task_success().task_token(&token).output(r#"{"approved":true}"#).send().await.unwrap();
        let d = wait_for(&c, &arn, "SUCCEEDED").await;
        let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
        assert_eq!(out, json!({"file": "a.txt", "approval": {"approved": true}}));
        // A token is good once: a second answer finds no task (TaskTimedOut, as AWS answers
        // for a task that does not exist any more); a made-up token is InvalidToken.
        assert_eq!(error_code(c.send_task_success().task_token(&token).output("{}").send().await).await, "TaskTimedOut");
        assert_eq!(error_code(c.send_task_success().task_token("not-a-token").output("{}").send().await).await, "InvalidToken");
        // The output must be JSON.
        let again = c.start_execution().state_machine_arn(machine_arn("ApprovalStateMachine")).input("{}").send().await.unwrap();
        let t2 = approval_token(&c, again.execution_arn()).await;
        assert_eq!(error_code(c.send_task_success().task_token(&t2).output("{not json").send().await).await, "InvalidOutput");
        let h = c.get_execution_history().execution_arn(&arn).send().await.unwrap();
        let types: Vec<&str> = h.events().iter().map(|e| e.r#type().as_str()).collect();
        assert_eq!(types, ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]);
    });
}

#[test]
fn a_callback_failure_fails_the_task() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let (arn, token) = waiting_approval(&c, "{}").await;
        c.send_task_failure().task_token(&token).error("Rejected").cause("not today").send().await.unwrap();
        let d = wait_for(&c, &arn, "FAILED").await;
        assert_eq!(d.error(), Some("Rejected"));
        assert_eq!(d.cause(), Some("not today"));
    });
}

#[test]
fn an_activity_task_waits_for_a_worker() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let created = c.create_activity().name("review").send().await.unwrap();
        let activity = created.activity_arn().to_string();
        assert_eq!(activity, "arn:aws:states:us-east-1:123456789012:activity:review");
        // CreateActivity is idempotent; names follow AWS's rules.
        assert_eq!(c.create_activity().name("review").send().await.unwrap().activity_arn(), activity);
        assert_eq!(error_code(c.create_activity().name("bad name").send().await).await, "InvalidName");
        let exec = c.start_execution().state_machine_arn(machine_arn("ActivityStateMachine")).input(r#"{"document":"d1"}"#).send().await.unwrap();
        let arn = exec.execution_arn().to_string();
        let task = c.get_activity_task().activity_arn(&activity).worker_name("w1").send().await.unwrap();
        let token = task.task_token().expect("a task within the poll").to_string();
        let input: Value = serde_json::from_str(task.input().unwrap()).unwrap();
        assert_eq!(input, json!({"document": "d1"}));
        assert_eq!(status(&c, &arn).await, "RUNNING");
        c.send_task_success().task_token(&token).output(r#"{"verdict":"ok"}"#).send().await.unwrap();
        let d = wait_for(&c, &arn, "SUCCEEDED").await;
        assert_eq!(serde_json::from_str::<Value>(d.output().unwrap()).unwrap(), json!({"verdict": "ok"}));
        let listed = c.list_activities().send().await.unwrap();
        assert_eq!(listed.activities().len(), 1);
        c.delete_activity().activity_arn(&activity).send().await.unwrap();
        assert_eq!(error_code(c.describe_activity().activity_arn(&activity).send().await).await, "ActivityDoesNotExist");
        assert_eq!(error_code(c.describe_activity().activity_arn("no_an_activity_arn").send().await).await, "InvalidArn");
    });
}

#[test]
fn stop_execution_aborts_a_waiting_execution() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let (arn, token) = waiting_approval(&c, "{}").await;
        c.stop_execution().execution_arn(&arn).error("Operator").cause("changed my mind").send().await.unwrap();
        let d = wait_for(&c, &arn, "ABORTED").await;
        assert_eq!(d.error(), Some("Operator"));
        let h = c.get_execution_history().execution_arn(&arn).reverse_order(true).send().await.unwrap();
        assert_eq!(h.events()[0].r#type().as_str(), "ExecutionAborted");
        assert_eq!(error_code(c.send_task_success().task_token(&token).output("{}").send().await).await, "TaskTimedOut");
        assert_eq!(error_code(c.stop_execution().execution_arn(machine_arn("Nope").replace("stateMachine", "execution") + ":x").send().await).await, "ExecutionDoesNotExist");
    });
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// This process's resident set in MiB (serve runs in-process, so it counts too).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

/// 1,000 executions in a real-time 10 s Wait: parked values, no thread each; all end
/// about 10 s after they started. (The figure for the README comes from this run.)
#[test]
fn a_thousand_waiting_executions_hold_no_thread() {
    let s = start();
    let before = threads();
    let rss_before = rss_mib();
    rt().block_on(async {
        let c = s.sfn().await;
        let t0 = Instant::now();
        let mut arns = Vec::new();
        for i in 0..1000 {
            let e = c.start_execution().state_machine_arn(machine_arn("SleepyStateMachine")).name(format!("sleep-{i}")).input(r#"{"seconds":10}"#).send().await.unwrap();
            arns.push(e.execution_arn().to_string());
        }
        let started = t0.elapsed();
        let t = Instant::now();
        while s.h().state.parked_executions() < 1000 && t.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(s.h().state.parked_executions(), 1000);
        let during = threads();
        let rss_during = rss_mib();
        assert!(during <= before + 8, "threads grew from {before} to {during}");
        for arn in &arns {
            wait_for(&c, arn, "SUCCEEDED").await;
        }
        let all = t0.elapsed();
        eprintln!(
            "1,000 executions in a 10 s Wait: started in {started:?}, all SUCCEEDED after {all:?}, threads {before} -> {during}, RSS {rss_before:.1} -> {rss_during:.1} MiB (test process, serve in it)"
        );
        assert!(all < Duration::from_secs(30), "{all:?}");
        assert!(rss_during < 300.0, "RSS {rss_during:.1} MiB");
    });
}

/// `states:startExecution.sync:2` starts a real child execution: listed under its own
/// state machine while it runs, with the parent's `$$.Execution.Id` in its input; the
/// parent waits without holding anything (other requests answer at once) and ends
/// with the child's parsed Output (https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html).
/// Stopping the parent stops the child it waits for (the `.sync` integration's IAM
/// policy grants states:StopExecution for it:
/// https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html).
#[test]
fn sync_children_are_real_executions() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let parent = start_named(&c, "ParentStateMachine", "parent-1", r#"{"child":"kid-1","seconds":2}"#).await;
        let child_arn = "arn:aws:states:us-east-1:123456789012:execution:SleepyStateMachine:kid-1";
        let t = Instant::now();
        let listed = loop {
            let l = c.list_executions().state_machine_arn(machine_arn("SleepyStateMachine")).send().await.unwrap();
            if let Some(e) = l.executions().iter().find(|e| e.execution_arn() == child_arn) {
                break e.status().as_str().to_string();
            }
            assert!(t.elapsed() < Duration::from_secs(10), "the child never appeared in ListExecutions");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(listed, "RUNNING");
        assert_eq!(status(&c, &parent).await, "RUNNING");
        // The waiting parent blocks nothing: another request answers at once.
        let t = Instant::now();
        c.list_state_machines().send().await.unwrap();
        assert!(t.elapsed() < Duration::from_millis(500), "a request waited {:?} behind the parent", t.elapsed());
        let child = c.describe_execution().execution_arn(child_arn).send().await.unwrap();
        let input: Value = serde_json::from_str(child.input().unwrap()).unwrap();
        assert_eq!(input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"], json!(parent));
        let d = wait_for(&c, &parent, "SUCCEEDED").await;
        let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
        assert_eq!(out, json!({"status": "SUCCEEDED", "output": "slept", "arn": child_arn}));
        assert_eq!(status(&c, child_arn).await, "SUCCEEDED");

        // Stopping a parent stops the .sync child it waits for.
        let parent = start_named(&c, "ParentStateMachine", "parent-2", r#"{"child":"kid-2","seconds":60}"#).await;
        let child_arn = "arn:aws:states:us-east-1:123456789012:execution:SleepyStateMachine:kid-2";
        let t = Instant::now();
        while c.describe_execution().execution_arn(child_arn).send().await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(10), "the child never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.stop_execution().execution_arn(&parent).send().await.unwrap();
        wait_for(&c, &parent, "ABORTED").await;
        wait_for(&c, child_arn, "ABORTED").await;
    });
}

/// A Distributed Map's Map Run through the SDK: ListMapRuns and DescribeMapRun (the
/// shape recorded on AWS: counts, maxConcurrency, tolerated failures, dates, the ARN
/// `mapRun:MACHINE/LABEL:UUID`), MaxConcurrency honoured, and UpdateMapRun raising it
/// while the run goes on (https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html).
#[test]
fn map_runs_are_listed_described_and_updated() {
    let s = start();
    rt().block_on(async {
        let c = s.sfn().await;
        let t0 = Instant::now();
        let arn = start_named(&c, "MapRunStateMachine", "fan-1", "[1,2,3,4]").await;
        let run = loop {
            let l = c.list_map_runs().execution_arn(&arn).send().await.unwrap();
            if let Some(r) = l.map_runs().first() {
                break r.clone();
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "no Map Run listed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let map_run_arn = run.map_run_arn().to_string();
        assert!(map_run_arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:MapRunStateMachine/Fan:"), "{map_run_arn}");
        assert_eq!(run.state_machine_arn(), "arn:aws:states:us-east-1:123456789012:stateMachine:MapRunStateMachine/Fan");
        let d = c.describe_map_run().map_run_arn(&map_run_arn).send().await.unwrap();
        assert_eq!(d.status().as_str(), "RUNNING");
        assert_eq!(d.max_concurrency(), 1);
        assert_eq!(d.item_counts().unwrap().total(), 4);
        assert_eq!(d.item_counts().unwrap().running(), 1, "MaxConcurrency 1: one iteration at a time");
        // ListExecutions with mapRunArn lists the child executions (one so far, RUNNING).
        let children = c.list_executions().map_run_arn(&map_run_arn).send().await.unwrap();
        assert_eq!(children.executions().len(), 1);
        let first = &children.executions()[0];
        assert_eq!(first.status().as_str(), "RUNNING");
        assert_eq!(first.map_run_arn(), Some(map_run_arn.as_str()));
        assert_eq!(first.item_count(), Some(1));
        assert_eq!(first.state_machine_arn(), run.state_machine_arn());
        assert!(first.execution_arn().starts_with("arn:aws:states:us-east-1:123456789012:execution:MapRunStateMachine/Fan:"), "{}", first.execution_arn());
        // Four 2 s iterations one at a time take 8 s; raised to 4 after the first starts, about 4 s.
        c.update_map_run().map_run_arn(&map_run_arn).max_concurrency(4).tolerated_failure_count(1).send().await.unwrap();
        wait_for(&c, &arn, "SUCCEEDED").await;
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(7), "UpdateMapRun's MaxConcurrency did not apply: {took:?}");
        let d = c.describe_map_run().map_run_arn(&map_run_arn).send().await.unwrap();
        assert_eq!(d.status().as_str(), "SUCCEEDED");
        assert_eq!(d.max_concurrency(), 4);
        assert_eq!(d.tolerated_failure_count(), 1);
        let counts = d.item_counts().unwrap();
        assert_eq!((counts.succeeded(), counts.failed(), counts.running(), counts.total()), (4, 0, 0, 4));
        assert!(d.stop_date().is_some());
        // All four children, newest first, paged two at a time; a status filter; not with stateMachineArn.
        let p1 = c.list_executions().map_run_arn(&map_run_arn).max_results(2).send().await.unwrap();
        let p2 = c.list_executions().map_run_arn(&map_run_arn).max_results(2).next_token(p1.next_token().expect("a second page")).send().await.unwrap();
        let all: Vec<_> = p1.executions().iter().chain(p2.executions()).collect();
        assert_eq!(all.len(), 4);
        assert!(p2.next_token().is_none());
        assert!(all.iter().all(|e| e.status().as_str() == "SUCCEEDED" && e.stop_date().is_some()));
        let names: std::collections::HashSet<&str> = all.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), 4, "each child has its own name");
        assert!(all.windows(2).all(|w| w[0].start_date().secs() >= w[1].start_date().secs()), "newest first");
        assert_eq!(first.name(), all[3].name(), "the first child started first");
        // Each child is DescribeExecution-able, as on AWS: its input and output, dates, Map Run.
        let child = c.describe_execution().execution_arn(all[3].execution_arn()).send().await.unwrap();
        assert_eq!(child.status().as_str(), "SUCCEEDED");
        assert_eq!(child.map_run_arn(), Some(map_run_arn.as_str()));
        assert_eq!(child.state_machine_arn(), run.state_machine_arn());
        assert_eq!((child.input(), child.output()), (Some("1"), Some("1")), "the first item passed through the Wait");
        assert!(child.stop_date().is_some());
        let e = c.describe_execution().execution_arn(format!("{}x", all[3].execution_arn())).send().await.unwrap_err();
        assert_eq!(e.into_service_error().meta().code(), Some("ExecutionDoesNotExist"));
        let failed = c.list_executions().map_run_arn(&map_run_arn).status_filter(aws_sdk_sfn::types::ExecutionStatus::Failed).send().await.unwrap();
        assert!(failed.executions().is_empty());
        let e = c.list_executions().map_run_arn(&map_run_arn).state_machine_arn(machine_arn("MapRunStateMachine")).send().await.unwrap_err();
        assert_eq!(e.into_service_error().meta().code(), Some("ValidationException"));
        let h = c.get_execution_history().execution_arn(&arn).send().await.unwrap();
        let types: Vec<&str> = h.events().iter().map(|e| e.r#type().as_str()).collect();
        let started = types.iter().position(|t| *t == "MapRunStarted").expect("MapRunStarted");
        let succeeded = types.iter().position(|t| *t == "MapRunSucceeded").expect("MapRunSucceeded");
        assert!(started < succeeded);
        let e = h.events().iter().find_map(|e| e.map_run_started_event_details()).unwrap();
        assert_eq!(e.map_run_arn(), Some(map_run_arn.as_str()));
        // Refusals: an unknown Map Run, an update with nothing to change.
        let unknown = format!("{map_run_arn}x");
        let e = c.describe_map_run().map_run_arn(&unknown).send().await.unwrap_err();
        assert_eq!(e.into_service_error().meta().code(), Some("ResourceNotFound"));
        let e = c.update_map_run().map_run_arn(&map_run_arn).send().await.unwrap_err();
        assert_eq!(e.into_service_error().meta().code(), Some("InvalidParameterValueException"));
    });
}
