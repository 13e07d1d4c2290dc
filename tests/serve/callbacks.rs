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

use super::{root, rt, sdk_config, Serve};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn start() -> Serve {
    Serve::start_full(Some(&root().join("tests/serve/callbacks/template.yaml")), &[], Default::default())
}

async fn sfn(s: &Serve) -> Client {
    Client::new(&sdk_config(&s.aws(), "test").await)
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}")
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
        let c = sfn(&s).await;
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
        let c = sfn(&s).await;
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
        let c = sfn(&s).await;
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
        let c = sfn(&s).await;
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

/// 1,000 executions in a real-time 10 s Wait: parked values, no thread each; all end
/// about 10 s after they started. (The figure for the README comes from this run.)
#[test]
fn a_thousand_waiting_executions_hold_no_thread() {
    let s = start();
    let before = threads();
    rt().block_on(async {
        let c = sfn(&s).await;
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
        assert!(during <= before + 8, "threads grew from {before} to {during}");
        for arn in &arns {
            wait_for(&c, arn, "SUCCEEDED").await;
        }
        let all = t0.elapsed();
        eprintln!("1,000 executions in a 10 s Wait: started in {started:?}, all SUCCEEDED after {all:?}, threads {before} -> {during}");
        assert!(all < Duration::from_secs(30), "{all:?}");
    });
}
