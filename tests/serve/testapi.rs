//! TestState (with mocks, at each inspection level, through the `sync-` host prefix the SDK
//! uses for it), Step Functions Local's `#TestCase` executions with `--mock-config`, and the
//! author's loop on a machine created at run time, with the AWS SDK for Rust. Expected
//! values are AWS's recorded ones (`reference/aws-recorded/stepfunctions-api.jsonl`, the
//! TestState snapshots) unless a comment cites the documentation.

use super::*;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{InspectionLevel, MockErrorOutput, MockInput, TestExecutionStatus, TestStateConfiguration};

const ROLE: &str = "arn:aws:iam::123456789012:role/local";

/// A client whose `sync-localhost` resolves (the SDK sends TestState there).
async fn sync_client(s: &Serve) -> aws_sdk_sfn::Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_with_resolver(super::control::Loopback);
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(format!("http://localhost:{}", s.h().aws_addr.port()))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&cfg)
}

fn message<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or("").to_string(), e.message().unwrap_or("").to_string())
}

fn parse(s: Option<&str>) -> Value {
    serde_json::from_str(s.expect("a JSON payload")).expect("JSON")
}

/// The Task state machine TestState tests here and in python/check_clients.py.
const TASK: &str = include_str!("test_state_task.asl.json");

#[test]
fn test_state_with_a_mock_at_each_level() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = sync_client(&s).await;
        let mock = MockInput::builder().result(r#"{"Payload": {"ok": true}}"#).build();
        let input = r#"{"order": {"id": 7}}"#;
        let expected_output = json!({"order": {"id": 7}, "payment": {"charged": true}});
        for level in [InspectionLevel::Info, InspectionLevel::Debug, InspectionLevel::Trace] {
            let out = c
                .test_state()
                .definition(TASK)
                .state_name("Charge")
                .input(input)
                .mock(mock.clone())
                .inspection_level(level.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(out.status(), Some(&TestExecutionStatus::Succeeded));
            assert_eq!(out.next_state(), Some("Ship"));
            assert_eq!(parse(out.output()), expected_output);
            match level {
                InspectionLevel::Info => assert!(out.inspection_data().is_none(), "INFO has no inspection data"),
                _ => {
                    let d = out.inspection_data().expect("inspection data");
                    assert_eq!(parse(d.input()), json!({"order": {"id": 7}}));
                    assert_eq!(parse(d.after_input_path()), json!({"order": {"id": 7}}));
                    assert_eq!(parse(d.after_parameters()), json!({"FunctionName": "charge", "Payload": {"id": 7}}));
                    assert_eq!(parse(d.result()), json!({"Payload": {"ok": true}}));
                    assert_eq!(parse(d.after_result_selector()), json!({"charged": true}));
                    assert_eq!(parse(d.after_result_path()), expected_output);
                }
            }
        }

        // A mocked error: RETRIABLE while the retrier has attempts, then the catcher.
        let busy = MockInput::builder().error_output(MockErrorOutput::builder().error("Busy").cause("try later").build()).build();
        let out = c
            .test_state()
            .definition(TASK)
            .state_name("Charge")
            .input(r#"{"order": {}}"#)
            .mock(busy.clone())
            .inspection_level(InspectionLevel::Debug)
            .state_configuration(TestStateConfiguration::builder().retrier_retry_count(3).build())
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), Some(&TestExecutionStatus::Retriable));
        assert_eq!((out.error(), out.cause()), (Some("Busy"), Some("try later")));
        let details = out.inspection_data().unwrap().error_details().unwrap();
        assert_eq!((details.retry_index(), details.retry_backoff_interval_seconds()), (Some(0), Some(16)));
        let out = c
            .test_state()
            .definition(TASK)
            .state_name("Charge")
            .input(r#"{"order": {}}"#)
            .mock(busy)
            .state_configuration(TestStateConfiguration::builder().retrier_retry_count(4).build())
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), Some(&TestExecutionStatus::CaughtError));
        assert_eq!(out.next_state(), Some("Refund"));
        assert_eq!(parse(out.output())["error"], json!({"Error": "Busy", "Cause": "try later"}));

        // A state on its own, no mock: a Choice reports where it goes.
        let choice = r#"{"Type": "Choice", "Choices": [{"Variable": "$.cost", "NumericLessThan": 10, "Next": "Approved"}], "Default": "Ask"}"#;
        let out = c.test_state().definition(choice).input(r#"{"cost": 9}"#).send().await.unwrap();
        assert_eq!((out.status(), out.next_state()), (Some(&TestExecutionStatus::Succeeded), Some("Approved")));

        // Without a mock, a Task calls the world (here: no such function, Lambda's error).
        let out = c.test_state().definition(TASK).state_name("Charge").role_arn(ROLE).input(r#"{"order": {}}"#).send().await.unwrap();
        assert_eq!(out.status(), Some(&TestExecutionStatus::CaughtError));
        assert_eq!(out.error(), Some("Lambda.ResourceNotFoundException"));

        // Refusals, AWS's codes and words.
        let e = c.test_state().definition(TASK).state_name("Nope").role_arn(ROLE).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ValidationException".into(), "State not found in definition".into()));
        let e = c.test_state().definition(TASK).state_name("Charge").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ValidationException".into(), "RoleArn must be specified when testing a Task state".into()));
        let both = MockInput::builder().result("{}").error_output(MockErrorOutput::builder().error("E").build()).build();
        let e = c.test_state().definition(TASK).state_name("Charge").mock(both).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "A test mock should have only one of the following fields: [result, errorOutput].");
        let e = c.test_state().definition(choice).mock(mock).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "State type 'Choice' is not supported when a mock is specified");
        let e = c.test_state().definition("{\"Type\": \"Nonsense\"}").send().await.unwrap_err().into_service_error();
        assert!(e.is_invalid_definition(), "{e:?}");
    });
}

const MOCKED_MACHINE: &str = r#"{"StartAt": "Charge", "States": {
  "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "charge"},
    "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3}], "OutputPath": "$.Payload", "Next": "Wait"},
  "Wait": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/none", "MessageBody": {"t.$": "$$.Task.Token"}}, "End": true}}}"#;

/// The mock config of SFN Local's documentation, in its format
/// (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html).
const MOCK_CONFIG: &str = r#"{
  "StateMachines": {"orders": {"TestCases": {
    "HappyPath": {"Charge": "ChargeOk", "Wait": "Approved"},
    "RetryPath": {"Charge": "ChargeBusyThenOk", "Wait": "Approved"},
    "Denied": {"Charge": "ChargeOk", "Wait": "Refused"},
    "FailThenOk": {"Charge": "ChargeFatalThenOk", "Wait": "Approved"}}}},
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"Payload": {"charged": 1}}}},
    "ChargeBusyThenOk": {"0-1": {"Throw": {"Error": "Busy", "Cause": "busy"}}, "2": {"Return": {"Payload": {"charged": 3}}}},
    "ChargeFatalThenOk": {"0": {"Throw": {"Error": "Fatal", "Cause": "down"}}, "1": {"Return": {"Payload": {"charged": 2}}}},
    "Approved": {"0": {"Return": {"approved": true}}},
    "Refused": {"0": {"Throw": {"Error": "Denied", "Cause": "no"}}}}
}"#;

#[test]
fn test_case_executions_run_their_mocks() {
    let dir = std::env::temp_dir().join(format!("asl-testapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("MockConfigFile.json");
    std::fs::write(&file, MOCK_CONFIG).unwrap();
    let s = Serve::start_mocked(None, &[], Default::default(), Some(&file));
    rt().block_on(async {
        let c = s.sfn().await;
        let arn = c.create_state_machine().name("orders").definition(MOCKED_MACHINE).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let run = |case: &str, name: &str| {
            let c = c.clone();
            let target = format!("{arn}#{case}");
            let name = name.to_string();
            async move { c.start_execution().state_machine_arn(target).name(name).input("{}").send().await }
        };
        let happy = run("HappyPath", "happy").await.unwrap();
        // The execution ARN is the machine's (no test case in it), as SFN Local's.
        assert_eq!(happy.execution_arn(), format!("arn:aws:states:us-east-1:123456789012:execution:orders:happy"));
        let retry = run("RetryPath", "retry").await.unwrap();
        let denied = run("Denied", "denied").await.unwrap();
        let done = |x: String| {
            let c = c.clone();
            async move {
                for _ in 0..500 {
                    let d = c.describe_execution().execution_arn(&x).send().await.unwrap();
                    if d.status().as_str() != "RUNNING" {
                        return d;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                panic!("{x} still running")
            }
        };
        let d = done(happy.execution_arn().to_string()).await;
        assert_eq!((d.status().as_str(), d.output()), ("SUCCEEDED", Some(r#"{"approved":true}"#)));
        let d = done(retry.execution_arn().to_string()).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED");
        let h = c.get_execution_history().execution_arn(retry.execution_arn()).send().await.unwrap();
        let failed = h.events().iter().filter(|e| e.r#type().as_str() == "TaskFailed").count();
        assert_eq!(failed, 2, "invocations 0 and 1 throw, 2 returns");
        let d = done(denied.execution_arn().to_string()).await;
        assert_eq!((d.status().as_str(), d.error()), ("FAILED", Some("Denied")));

        // RedriveExecution: the failed state runs again (its mock's next response) and the execution succeeds.
        let e = c.redrive_execution().execution_arn(happy.execution_arn()).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ExecutionNotRedrivable");
        let x = run("FailThenOk", "redriven").await.unwrap();
        let d = done(x.execution_arn().to_string()).await;
        assert_eq!((d.status().as_str(), d.error()), ("FAILED", Some("Fatal")));
        assert_eq!(d.redrive_status().map(|s| s.as_str()), Some("REDRIVABLE"));
        c.redrive_execution().execution_arn(x.execution_arn()).send().await.unwrap();
        let d = done(x.execution_arn().to_string()).await;
        assert_eq!((d.status().as_str(), d.redrive_count()), ("SUCCEEDED", Some(1)));
        assert!(d.redrive_date().is_some());
        let h = c.get_execution_history().execution_arn(x.execution_arn()).send().await.unwrap();
        assert!(h.events().iter().any(|e| e.r#type().as_str() == "ExecutionRedriven"));
        let e = c.redrive_execution().execution_arn(format!("{arn}:nope")).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ExecutionDoesNotExist");

        let e = run("NoSuchCase", "x").await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ValidationException".into(), "The mock config has no test case 'NoSuchCase' for state machine 'orders'".into()));
        let e = c.start_execution().state_machine_arn(format!("{arn}-gone#HappyPath")).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "StateMachineDoesNotExist");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_test_case_needs_a_mock_config() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let arn = c.create_state_machine().name("plain").definition(MOCKED_MACHINE).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let e = c.start_execution().state_machine_arn(format!("{arn}#HappyPath")).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ValidationException");
        assert!(message(&e).1.contains("without a mock config"), "{e:?}");
    });
}

#[test]
fn the_authors_loop_on_a_machine_created_at_run_time() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let activity = c.create_activity().name("approve").send().await.unwrap().activity_arn().to_string();
        let def = json!({"StartAt": "Approve", "States": {
            "Approve": {"Type": "Task", "Resource": activity, "ResultPath": "$.decision", "Next": "Done"},
            "Done": {"Type": "Succeed"}}})
        .to_string();
        let arn = c.create_state_machine().name("approval").definition(def).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let x = c.start_execution().state_machine_arn(&arn).input(r#"{"cost": 12}"#).send().await.unwrap();
        let task = c.get_activity_task().activity_arn(&activity).worker_name("me").send().await.unwrap();
        assert_eq!(parse(task.input()), json!({"cost": 12}));
        c.send_task_success().task_token(task.task_token().unwrap()).output(r#"{"ok": true}"#).send().await.unwrap();
        let mut d = c.describe_execution().execution_arn(x.execution_arn()).send().await.unwrap();
        for _ in 0..500 {
            if d.status().as_str() != "RUNNING" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            d = c.describe_execution().execution_arn(x.execution_arn()).send().await.unwrap();
        }
        assert_eq!(d.status().as_str(), "SUCCEEDED");
        assert_eq!(parse(d.output()), json!({"cost": 12, "decision": {"ok": true}}));
        let h = c.get_execution_history().execution_arn(x.execution_arn()).send().await.unwrap();
        let types: Vec<&str> = h.events().iter().map(|e| e.r#type().as_str()).collect();
        assert!(types.contains(&"ActivityScheduled") && types.contains(&"ActivitySucceeded") && types.last() == Some(&"ExecutionSucceeded"), "{types:?}");
        // The token is spent: serve's TaskTimedOut "Provided task does not exist anymore" (sfn_tasks.rs).
        let e = c.send_task_success().task_token(task.task_token().unwrap()).output("{}").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "TaskTimedOut");
    });
}
