//! The control planes with the AWS SDK for Rust: Step Functions (machines created at run time,
//! versions, aliases, tags, validation, paging), the `sync-` host prefix, EventBridge's buses,
//! rules and targets, and S3's UploadPartCopy. Expected codes and messages are AWS's recorded
//! ones (`reference/aws-recorded/stepfunctions-api.jsonl`) unless a comment cites the API reference.

use super::*;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{LogLevel, LoggingConfiguration, RoutingConfigurationListItem, StateMachineType, Tag};

const ROLE: &str = "arn:aws:iam::123456789012:role/local";
const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":1},"End":true}}}"#;
const PASS2: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":2},"End":true}}}"#;
const ECHO: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

async fn finished(c: &aws_sdk_sfn::Client, arn: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    // Up to 30 s: a debug build on 2 busy cores (the whole suite in parallel) can take seconds.
    for _ in 0..3000 {
        let d = c.describe_execution().execution_arn(arn).send().await.unwrap();
        if d.status().as_str() != "RUNNING" {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{arn} still running");
}

fn message<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or("").to_string(), e.message().unwrap_or("").to_string())
}

#[test]
fn state_machines_created_at_run_time() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let template_machines = c.list_state_machines().send().await.unwrap().state_machines().len();
        let created = c.create_state_machine().name("made").definition(PASS).role_arn(ROLE).send().await.unwrap();
        let arn = created.state_machine_arn().to_string();
        assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:stateMachine:made");
        // Same request again: idempotent, same ARN and creation date (API reference, CreateStateMachine).
        let again = c.create_state_machine().name("made").definition(PASS).role_arn(ROLE).send().await.unwrap();
        assert_eq!(again.creation_date(), created.creation_date());
        let e = c.create_state_machine().name("made").definition(PASS2).role_arn(ROLE).send().await.unwrap_err().into_service_error();
        assert!(e.is_state_machine_already_exists(), "{e:?}");
        assert_eq!(message(&e).1, format!("State Machine Already Exists: '{arn}'"));

        let d = c.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(d.definition(), PASS);
        assert_eq!(d.role_arn(), ROLE);
        assert_eq!(d.r#type().as_str(), "STANDARD");
        assert_eq!(d.logging_configuration().unwrap().level().unwrap().as_str(), "OFF");
        assert!(d.revision_id().is_none(), "no revision before the first update (recorded)");

        // It runs like a template machine.
        let started = c.start_execution().state_machine_arn(&arn).name("one").input("{}").send().await.unwrap();
        let done = finished(&c, started.execution_arn()).await;
        assert_eq!(done.status().as_str(), "SUCCEEDED");
        assert_eq!(done.output(), Some(r#"{"v":1}"#));
        let fe = c.describe_state_machine_for_execution().execution_arn(started.execution_arn()).send().await.unwrap();
        assert_eq!(fe.definition(), PASS);

        // Update: a new revision, the old execution keeps its definition.
        let u = c.update_state_machine().state_machine_arn(&arn).definition(PASS2).send().await.unwrap();
        let rev = u.revision_id().unwrap().to_string();
        assert_eq!(c.describe_state_machine().state_machine_arn(&arn).send().await.unwrap().revision_id(), Some(rev.as_str()));
        let fe = c.describe_state_machine_for_execution().execution_arn(started.execution_arn()).send().await.unwrap();
        assert_eq!(fe.definition(), PASS);
        let e = c.update_state_machine().state_machine_arn(&arn).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("MissingRequiredParameter".into(), "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified".into()));

        // A created machine is a child another machine can start (the world knows it).
        let parent_def = format!(
            r#"{{"StartAt":"Run","States":{{"Run":{{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{{"StateMachineArn":"{arn}","Input":{{}}}},"OutputPath":"$.Output","End":true}}}}}}"#
        );
        let parent = c.create_state_machine().name("parent").definition(parent_def).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let x = c.start_execution().state_machine_arn(&parent).send().await.unwrap();
        let d = finished(&c, x.execution_arn()).await;
        assert_eq!((d.status().as_str(), d.output()), ("SUCCEEDED", Some(r#"{"v":2}"#)), "{d:?}");
        let names: Vec<String> = c.list_state_machines().send().await.unwrap().state_machines().iter().map(|m| m.name().to_string()).collect();
        assert!(names.contains(&"made".to_string()) && names.len() == template_machines + 2, "{names:?}");

        c.delete_state_machine().state_machine_arn(&arn).send().await.unwrap();
        // Deleting again succeeds (recorded).
        c.delete_state_machine().state_machine_arn(&arn).send().await.unwrap();
        let e = c.describe_state_machine().state_machine_arn(&arn).send().await.unwrap_err().into_service_error();
        assert!(e.is_state_machine_does_not_exist(), "{e:?}");
        let e = c.start_execution().state_machine_arn(&arn).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, format!("State Machine Does Not Exist: '{arn}'"));
    });
}

#[test]
fn definitions_are_validated_as_aws_does() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let e = c.create_state_machine().name("bad").definition(r#"{"StartAt":"A"}"#).role_arn(ROLE).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("InvalidDefinition".into(), "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'".into()));
        let express_wait = r#"{"StartAt":"Publish","States":{"Publish":{"Type":"Task","Resource":"arn:aws:states:::sns:publish.waitForTaskToken","Parameters":{"TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message.$":"$$.Task.Token"},"End":true}}}"#;
        let e = c.create_state_machine().name("bad").definition(express_wait).role_arn(ROLE).r#type(StateMachineType::Express).send().await.unwrap_err().into_service_error();
        assert_eq!(
            message(&e).1,
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/Publish/Resource'"
        );
        // Several problems: all of them, joined as AWS joins them.
        let two = r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#;
        let e = c.create_state_machine().name("bad").definition(two).role_arn(ROLE).send().await.unwrap_err().into_service_error();
        assert_eq!(
            message(&e).1,
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
        );
        let e = c.create_state_machine().name("has space").definition(PASS).role_arn(ROLE).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("InvalidName".into(), "Invalid Name: 'has space'".into()));
        let e = c
            .create_state_machine()
            .name("logs")
            .definition(PASS)
            .role_arn(ROLE)
            .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(message(&e), ("InvalidLoggingConfiguration".into(), "Invalid Logging Configuration: Must specify exactly one Log Destination.".into()));
        let e = c.create_state_machine().name("v").definition(PASS).role_arn(ROLE).version_description("d").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ValidationException".into(), "Version description can only be set when publish is true".into()));
        // Logging and tracing configuration are accepted and described back.
        use aws_sdk_sfn::types::{CloudWatchLogsLogGroup, LogDestination, TracingConfiguration};
        let dest = LogDestination::builder().cloud_watch_logs_log_group(CloudWatchLogsLogGroup::builder().log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:g:*").build()).build();
        let arn = c
            .create_state_machine()
            .name("logged")
            .definition(PASS)
            .role_arn(ROLE)
            .r#type(StateMachineType::Express)
            .logging_configuration(LoggingConfiguration::builder().level(LogLevel::Error).include_execution_data(true).destinations(dest).build())
            .tracing_configuration(TracingConfiguration::builder().enabled(true).build())
            .send()
            .await
            .unwrap()
            .state_machine_arn()
            .to_string();
        let d = c.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(d.r#type().as_str(), "EXPRESS");
        assert_eq!(d.logging_configuration().unwrap().level().unwrap().as_str(), "ERROR");
        assert!(d.logging_configuration().unwrap().include_execution_data());
        assert!(d.tracing_configuration().unwrap().enabled());

        // ValidateStateMachineDefinition: AWS's diagnostics.
        let v = c.validate_state_machine_definition().definition(PASS).send().await.unwrap();
        assert_eq!(v.result().as_str(), "OK");
        assert!(v.diagnostics().is_empty());
        let v = c.validate_state_machine_definition().definition("{}").send().await.unwrap();
        assert_eq!(v.result().as_str(), "FAIL");
        let d = &v.diagnostics()[0];
        assert_eq!((d.code(), d.message(), d.location()), ("SCHEMA_VALIDATION_FAILED", "These fields are required: [States, StartAt]", Some("/")));
        let v = c.validate_state_machine_definition().definition(express_wait).r#type(StateMachineType::Express).send().await.unwrap();
        assert_eq!(v.diagnostics()[0].location(), Some("/States/Publish/Resource"));
        let v = c.validate_state_machine_definition().definition("not a definition").send().await.unwrap();
        assert_eq!(v.diagnostics()[0].code(), "INVALID_JSON_DESCRIPTION");
    });
}

#[test]
fn versions_aliases_and_tags() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let created = c.create_state_machine().name("versioned").definition(PASS).role_arn(ROLE).publish(true).version_description("first").send().await.unwrap();
        let arn = created.state_machine_arn().to_string();
        assert_eq!(created.state_machine_version_arn(), Some(format!("{arn}:1").as_str()));
        // Publishing an unchanged revision again is idempotent.
        let p = c.publish_state_machine_version().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(p.state_machine_version_arn(), format!("{arn}:1"));
        let u = c.update_state_machine().state_machine_arn(&arn).definition(PASS2).publish(true).send().await.unwrap();
        assert_eq!(u.state_machine_version_arn(), Some(format!("{arn}:2").as_str()));
        let e = c.publish_state_machine_version().state_machine_arn(&arn).revision_id("stale").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ConflictException");
        let versions: Vec<String> = c.list_state_machine_versions().state_machine_arn(&arn).send().await.unwrap().state_machine_versions().iter().map(|v| v.state_machine_version_arn().to_string()).collect();
        assert_eq!(versions, [format!("{arn}:2"), format!("{arn}:1")], "newest first");
        let v1 = c.describe_state_machine().state_machine_arn(format!("{arn}:1")).send().await.unwrap();
        assert_eq!((v1.definition(), v1.description()), (PASS, Some("first")));

        // An execution of a version runs that version.
        let x = c.start_execution().state_machine_arn(format!("{arn}:1")).send().await.unwrap();
        let d = finished(&c, x.execution_arn()).await;
        assert_eq!(d.output(), Some(r#"{"v":1}"#));
        assert_eq!(d.state_machine_version_arn(), Some(format!("{arn}:1").as_str()));

        // Aliases, with AWS's checks.
        let route = |v: u32, w: i32| RoutingConfigurationListItem::builder().state_machine_version_arn(format!("{arn}:{v}")).weight(w).build().unwrap();
        let e = c.create_state_machine_alias().name("PROD").routing_configuration(route(1, 70)).routing_configuration(route(2, 29)).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Sum of routing configuration weights must equal 100. Received: [70, 29]");
        let e = c.create_state_machine_alias().name("123").routing_configuration(route(1, 100)).send().await.unwrap_err().into_service_error();
        assert!(message(&e).1.contains("Member must satisfy regular expression pattern"), "{e:?}");
        let e = c
            .create_state_machine_alias()
            .name("PROD")
            .routing_configuration(RoutingConfigurationListItem::builder().state_machine_version_arn(&arn).weight(100).build().unwrap())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(message(&e).1, format!("Routing configuration must contain state machine version ARNs. Received: [{arn}]"));
        let alias = c.create_state_machine_alias().name("PROD").description("d").routing_configuration(route(1, 50)).routing_configuration(route(2, 50)).send().await.unwrap();
        let alias_arn = alias.state_machine_alias_arn().to_string();
        assert_eq!(alias_arn, format!("{arn}:PROD"));
        let e = c.create_state_machine_alias().name("PROD").routing_configuration(route(1, 100)).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Failed to create alias because an alias with the same name and a different routing configuration already exists.");

        // Routing by weight: 40 executions through a 50/50 alias reach both versions.
        let mut outputs = std::collections::BTreeSet::new();
        for i in 0..40 {
            let x = c.start_execution().state_machine_arn(&alias_arn).name(format!("a{i}")).send().await.unwrap();
            let d = finished(&c, x.execution_arn()).await;
            assert_eq!(d.state_machine_alias_arn(), Some(alias_arn.as_str()));
            outputs.insert(d.output().unwrap().to_string());
        }
        assert_eq!(outputs.len(), 2, "{outputs:?}");
        let via_alias = c.list_executions().state_machine_arn(&alias_arn).send().await.unwrap();
        assert_eq!(via_alias.executions().len(), 40);

        let e = c.delete_state_machine_version().state_machine_version_arn(format!("{arn}:1")).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [PROD]");
        c.update_state_machine_alias().state_machine_alias_arn(&alias_arn).routing_configuration(route(2, 100)).description("new description").send().await.unwrap();
        let d = c.describe_state_machine_alias().state_machine_alias_arn(&alias_arn).send().await.unwrap();
        assert_eq!(d.description(), Some("new description"));
        assert_eq!(d.routing_configuration().len(), 1);
        assert!(d.update_date().is_some());
        c.delete_state_machine_version().state_machine_version_arn(format!("{arn}:1")).send().await.unwrap();
        assert_eq!(c.list_state_machine_aliases().state_machine_arn(&arn).send().await.unwrap().state_machine_aliases().len(), 1);
        c.delete_state_machine_alias().state_machine_alias_arn(&alias_arn).send().await.unwrap();
        let e = c.describe_state_machine_alias().state_machine_alias_arn(&alias_arn).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ResourceNotFound".into(), "Request references a resource that does not exist.".into()));

        // Tags, on template machines too.
        let template_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:DeleteStateMachine";
        for r in [arn.as_str(), template_arn] {
            c.tag_resource().resource_arn(r).tags(Tag::builder().key("team").value("files").build()).tags(Tag::builder().key("tier").value("1").build()).send().await.unwrap();
            c.untag_resource().resource_arn(r).tag_keys("tier").send().await.unwrap();
            let t = c.list_tags_for_resource().resource_arn(r).send().await.unwrap();
            let t: Vec<(&str, &str)> = t.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
            assert_eq!(t, [("team", "files")]);
        }
        let e = c.tag_resource().resource_arn(format!("{arn}:2")).tags(Tag::builder().key("k").value("v").build()).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ResourceNotFound".into(), format!("Resource not found: '{arn}:2'")));
    });
}

#[test]
fn executions_page_and_are_idempotent_by_name() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let template_machines = c.list_state_machines().send().await.unwrap().state_machines().len();
        let arn = c.create_state_machine().name("echo").definition(ECHO).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let mut arns = Vec::new();
        for i in 0..5 {
            let x = c.start_execution().state_machine_arn(&arn).name(format!("e{i}")).input(format!("{{\"i\":{i}}}")).send().await.unwrap();
            arns.push(x.execution_arn().to_string());
        }
        for a in &arns {
            finished(&c, a).await;
        }
        // A closed execution of that name: ExecutionAlreadyExists (AWS's rule: only a RUNNING one with the same input is returned again).
        let e = c.start_execution().state_machine_arn(&arn).name("e0").input(r#"{"i":0}"#).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ExecutionAlreadyExists".into(), format!("Execution Already Exists: '{}'", arns[0])));

        // The paginator follows nextToken through pages of 2.
        let all: Vec<_> = c.list_executions().state_machine_arn(&arn).max_results(2).into_paginator().items().send().collect::<Vec<_>>().await;
        let names: Vec<String> = all.into_iter().map(|r| r.unwrap().name().to_string()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        let first = c.list_executions().state_machine_arn(&arn).max_results(2).send().await.unwrap();
        assert_eq!(first.executions().len(), 2);
        assert!(first.next_token().is_some());
        let succeeded = c.list_executions().state_machine_arn(&arn).status_filter(aws_sdk_sfn::types::ExecutionStatus::Succeeded).send().await.unwrap();
        assert_eq!(succeeded.executions().len(), 5);
        let failed = c.list_executions().state_machine_arn(&arn).status_filter(aws_sdk_sfn::types::ExecutionStatus::Failed).send().await.unwrap();
        assert!(failed.executions().is_empty());
        let e = c.list_executions().state_machine_arn(&arn).max_results(1001).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000");
        let e = c.list_executions().state_machine_arn(&arn).next_token("garbage").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("InvalidToken".into(), "Invalid Token: 'Invalid token'".into()));
        let e = c.list_executions().state_machine_arn("invalid_state_machine_arn").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("InvalidArn".into(), "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'".into()));

        // History: pages of 1 through the paginator, reverse order, without data.
        let events: Vec<_> = c.get_execution_history().execution_arn(&arns[0]).max_results(1).into_paginator().items().send().collect::<Vec<_>>().await;
        let types: Vec<String> = events.into_iter().map(|e| e.unwrap().r#type().as_str().to_string()).collect();
        assert_eq!(types, ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]);
        let rev = c.get_execution_history().execution_arn(&arns[0]).reverse_order(true).include_execution_data(false).send().await.unwrap();
        assert_eq!(rev.events()[0].r#type().as_str(), "ExecutionSucceeded");
        assert_eq!(rev.events()[0].execution_succeeded_event_details().unwrap().output(), None);
        let fwd = c.get_execution_history().execution_arn(&arns[0]).send().await.unwrap();
        assert_eq!(fwd.events()[3].execution_succeeded_event_details().unwrap().output(), Some(r#"{"i":0}"#));

        // ListStateMachines pages too.
        let machines: Vec<_> = c.list_state_machines().max_results(2).into_paginator().items().send().collect::<Vec<_>>().await;
        assert_eq!(machines.len(), template_machines + 1);

        // Oversized input (256 KiB) and bad JSON input.
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(262_144));
        let e = c.start_execution().state_machine_arn(&arn).input(big).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ValidationException");
        let e = c.start_execution().state_machine_arn(&arn).input("not json").send().await.unwrap_err().into_service_error();
        assert!(e.is_invalid_execution_input(), "{e:?}");
        let e = c.start_execution().state_machine_arn(&arn).name("a b").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("InvalidName".into(), "Invalid Name: 'a b'".into()));
        let e = c.describe_execution().execution_arn("invalid_execution_arn").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "InvalidArn");
    });
}

/// A DNS resolver for the Rust SDK that sends every `*localhost` name to 127.0.0.1: with it
/// the `sync-` host prefix the SDK puts on StartSyncExecution (`sync-localhost`) resolves.
#[derive(Debug, Clone)]
pub(crate) struct Loopback;

impl aws_smithy_runtime_api::client::dns::ResolveDns for Loopback {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        let r = if name == "localhost" || name.ends_with(".localhost") || name.ends_with("-localhost") {
            Ok(vec![std::net::IpAddr::from([127, 0, 0, 1])])
        } else {
            Err(aws_smithy_runtime_api::client::dns::ResolveDnsError::new(format!("{name}: not a local name")))
        };
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(r)
    }
}

#[test]
fn start_sync_execution_through_the_sync_host_prefix() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_with_resolver(Loopback);
        let port = s.h().aws_addr.port();
        let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(format!("http://localhost:{port}"))
            .load()
            .await;
        let c = aws_sdk_sfn::Client::new(&cfg);
        let arn = c.create_state_machine().name("quick").definition(PASS).role_arn(ROLE).r#type(StateMachineType::Express).send().await.unwrap().state_machine_arn().to_string();
        // The SDK sends this one to sync-localhost:PORT (Host: sync-localhost:PORT); serve answers whatever the Host says.
        let out = c.start_sync_execution().state_machine_arn(&arn).input("{}").send().await.unwrap();
        assert_eq!(out.status().as_str(), "SUCCEEDED");
        assert_eq!(out.output(), Some(r#"{"v":1}"#));
        let std_arn = c.create_state_machine().name("slow").definition(PASS).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let e = c.start_sync_execution().state_machine_arn(&std_arn).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("StateMachineTypeNotSupported".into(), "This operation is not supported by this type of state machine".into()));
        // Express executions have no history and are not listed (recorded).
        let e = c.list_executions().state_machine_arn(&arn).send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "StateMachineTypeNotSupported");
    });
}

#[test]
fn eventbridge_rules_created_at_run_time_route_events() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let eb = aws_sdk_eventbridge::Client::new(&s.sdk().await);
        let c = s.sfn().await;
        let machine = c.create_state_machine().name("sink").definition(ECHO).role_arn(ROLE).send().await.unwrap().state_machine_arn().to_string();
        let bus_arn = eb.create_event_bus().name("orders").send().await.unwrap().event_bus_arn().unwrap().to_string();
        assert_eq!(bus_arn, "arn:aws:events:us-east-1:123456789012:event-bus/orders");
        let e = eb.create_event_bus().name("orders").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Event bus orders already exists.");
        let buses: Vec<String> = eb.list_event_buses().send().await.unwrap().event_buses().iter().map(|b| b.name().unwrap().to_string()).collect();
        assert!(buses.contains(&"orders".into()) && buses.contains(&"default".into()), "{buses:?}");
        assert_eq!(eb.describe_event_bus().name("orders").send().await.unwrap().arn(), Some(bus_arn.as_str()));

        let rule_arn = eb
            .put_rule()
            .name("placed")
            .event_bus_name("orders")
            .event_pattern(r#"{"source":["shop"],"detail-type":["placed"]}"#)
            .description("orders placed")
            .send()
            .await
            .unwrap()
            .rule_arn()
            .unwrap()
            .to_string();
        assert_eq!(rule_arn, "arn:aws:events:us-east-1:123456789012:rule/orders/placed");
        use aws_sdk_eventbridge::types::{DeadLetterConfig, InputTransformer, RetryPolicy, Target};
        let target = Target::builder()
            .id("t1")
            .arn(&machine)
            .input_transformer(InputTransformer::builder().input_paths_map("order", "$.detail.order").input_template(r#"{"order": <order>}"#).build().unwrap())
            .retry_policy(RetryPolicy::builder().maximum_retry_attempts(3).maximum_event_age_in_seconds(600).build())
            .dead_letter_config(DeadLetterConfig::builder().arn("arn:aws:sqs:us-east-1:123456789012:dlq").build())
            .build()
            .unwrap();
        let put = eb.put_targets().rule("placed").event_bus_name("orders").targets(target).send().await.unwrap();
        assert_eq!(put.failed_entry_count(), 0);
        let listed = eb.list_targets_by_rule().rule("placed").event_bus_name("orders").send().await.unwrap();
        let t = &listed.targets()[0];
        assert_eq!(t.retry_policy().unwrap().maximum_retry_attempts(), Some(3));
        assert_eq!(t.dead_letter_config().unwrap().arn(), Some("arn:aws:sqs:us-east-1:123456789012:dlq"));
        assert_eq!(t.input_transformer().unwrap().input_template(), r#"{"order": <order>}"#);

        let d = eb.describe_rule().name("placed").event_bus_name("orders").send().await.unwrap();
        assert_eq!((d.state().unwrap().as_str(), d.description()), ("ENABLED", Some("orders placed")));
        assert_eq!(eb.list_rules().event_bus_name("orders").send().await.unwrap().rules().len(), 1);

        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let entry = || PutEventsRequestEntry::builder().event_bus_name("orders").source("shop").detail_type("placed").detail(r#"{"order":{"id":7}}"#).build();
        eb.put_events().entries(entry()).send().await.unwrap();
        let mut seen = 0;
        for _ in 0..300 {
            seen = c.list_executions().state_machine_arn(&machine).send().await.unwrap().executions().len();
            if seen > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen, 1, "the rule's delivery started the machine");
        let x = c.list_executions().state_machine_arn(&machine).send().await.unwrap().executions()[0].execution_arn().to_string();
        let done = finished(&c, &x).await;
        assert_eq!(done.output(), Some(r#"{"order":{"id":7}}"#));

        // Disabled: no delivery.
        eb.disable_rule().name("placed").event_bus_name("orders").send().await.unwrap();
        eb.put_events().entries(entry()).send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(c.list_executions().state_machine_arn(&machine).send().await.unwrap().executions().len(), 1);
        eb.enable_rule().name("placed").event_bus_name("orders").send().await.unwrap();

        let e = eb.delete_rule().name("placed").event_bus_name("orders").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Rule can't be deleted since it has targets.");
        let e = eb.delete_event_bus().name("orders").send().await.unwrap_err();
        assert!(format!("{e:?}").contains("because it has rules"), "{e:?}");
        eb.remove_targets().rule("placed").event_bus_name("orders").ids("t1").send().await.unwrap();
        eb.delete_rule().name("placed").event_bus_name("orders").send().await.unwrap();
        let e = eb.describe_rule().name("placed").event_bus_name("orders").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e), ("ResourceNotFoundException".into(), "Rule placed does not exist on EventBus orders.".into()));
        eb.delete_event_bus().name("orders").send().await.unwrap();
        let e = eb.describe_event_bus().name("orders").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).1, "Event bus orders does not exist.");
        let e = eb.put_rule().name("bad name!").event_pattern("{}").send().await.unwrap_err().into_service_error();
        assert_eq!(message(&e).0, "ValidationException");
    });
}

#[test]
fn s3_upload_part_copy_and_unimplemented_operations() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s3_client(&s.aws(), "test").await;
        let body: Vec<u8> = (0..(6 * 1024 * 1024 + 17)).map(|i| (i % 251) as u8).collect();
        c.put_object().bucket(BUCKET).key("big").body(body.clone().into()).send().await.unwrap();
        let up = c.create_multipart_upload().bucket(BUCKET).key("copy").send().await.unwrap();
        let id = up.upload_id().unwrap().to_string();
        let split = 5 * 1024 * 1024;
        let mut parts = Vec::new();
        for (n, range) in [(1, format!("bytes=0-{}", split - 1)), (2, format!("bytes={split}-{}", body.len() - 1))] {
            let p = c.upload_part_copy().bucket(BUCKET).key("copy").upload_id(&id).part_number(n).copy_source(format!("{BUCKET}/big")).copy_source_range(range).send().await.unwrap();
            let etag = p.copy_part_result().unwrap().e_tag().unwrap().to_string();
            parts.push(aws_sdk_s3::types::CompletedPart::builder().part_number(n).e_tag(etag).build());
        }
        let e = c.upload_part_copy().bucket(BUCKET).key("copy").upload_id(&id).part_number(3).copy_source(format!("{BUCKET}/big")).copy_source_range("bytes=0-99999999").send().await.unwrap_err();
        assert!(format!("{e:?}").contains("Range specified is not valid for source object of size"), "{e:?}");
        c.complete_multipart_upload()
            .bucket(BUCKET)
            .key("copy")
            .upload_id(&id)
            .multipart_upload(aws_sdk_s3::types::CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .unwrap();
        let got = c.get_object().bucket(BUCKET).key("copy").send().await.unwrap().body.collect().await.unwrap().into_bytes();
        assert!(got.as_ref() == body.as_slice(), "the copy differs");
        // Operations serve does not implement answer 501 with their name.
        let e = c.get_bucket_cors().bucket(BUCKET).send().await.unwrap_err();
        let raw = e.raw_response().map(|r| (r.status().as_u16(), String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned()));
        let (status, text) = raw.expect("a response");
        assert_eq!(status, 501);
        assert!(text.contains("GetBucketCors"), "{text}");
    });
}

#[test]
fn s3_bucket_versioning() {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html and the API pages
    // of PutBucketVersioning, GetObject (versionId), DeleteObject and ListObjectVersions.
    use aws_sdk_s3::types::{BucketVersioningStatus, Delete, ObjectIdentifier, VersioningConfiguration};
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s3_client(&s.aws(), "test").await;
        let got = c.get_bucket_versioning().bucket(BUCKET).send().await.unwrap();
        assert!(got.status().is_none(), "never set");
        let enable = |status: BucketVersioningStatus| VersioningConfiguration::builder().status(status).build();
        c.put_bucket_versioning().bucket(BUCKET).versioning_configuration(enable(BucketVersioningStatus::Enabled)).send().await.unwrap();
        assert_eq!(c.get_bucket_versioning().bucket(BUCKET).send().await.unwrap().status(), Some(&BucketVersioningStatus::Enabled));

        let v1 = c.put_object().bucket(BUCKET).key("v/doc").body(b"one".to_vec().into()).send().await.unwrap().version_id().unwrap().to_string();
        let v2 = c.put_object().bucket(BUCKET).key("v/doc").body(b"two".to_vec().into()).send().await.unwrap().version_id().unwrap().to_string();
        assert_ne!(v1, v2);
        let read = |v: Option<String>| {
            let c = c.clone();
            async move { c.get_object().bucket(BUCKET).key("v/doc").set_version_id(v).send().await }
        };
        let cur = read(None).await.unwrap();
        assert_eq!(cur.version_id(), Some(v2.as_str()));
        assert_eq!(cur.body.collect().await.unwrap().into_bytes().as_ref(), b"two");
        let old = read(Some(v1.clone())).await.unwrap();
        assert_eq!(old.body.collect().await.unwrap().into_bytes().as_ref(), b"one");
        assert_eq!(c.head_object().bucket(BUCKET).key("v/doc").version_id(&v1).send().await.unwrap().content_length(), Some(3));

        // A plain delete leaves a delete marker: reads are 404 with the marker's headers.
        let d = c.delete_object().bucket(BUCKET).key("v/doc").send().await.unwrap();
        assert_eq!(d.delete_marker(), Some(true));
        let marker = d.version_id().unwrap().to_string();
        let e = read(None).await.unwrap_err();
        let raw = e.raw_response().unwrap();
        assert_eq!(raw.status().as_u16(), 404);
        assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
        assert!(e.into_service_error().is_no_such_key());
        let e = read(Some(marker.clone())).await.unwrap_err();
        assert_eq!(e.raw_response().unwrap().status().as_u16(), 405, "a delete marker cannot be read");
        let e = read(Some("nosuchversion0000000000000000000".into())).await.unwrap_err();
        assert_eq!(e.raw_response().unwrap().status().as_u16(), 404);
        assert!(format!("{e:?}").contains("NoSuchVersion"), "{e:?}");
        assert!(c.list_objects_v2().bucket(BUCKET).prefix("v/").send().await.unwrap().contents().is_empty());

        // ListObjectVersions, a page at a time with the markers (the SDK has no paginator
        // for it: the S3 model does not mark it paginated).
        for i in 0..3 {
            c.put_object().bucket(BUCKET).key(format!("v/k{i}")).body(vec![b'x'; i + 1].into()).send().await.unwrap();
        }
        let mut pages = Vec::new();
        let (mut km, mut vm) = (None, None);
        loop {
            let page = c.list_object_versions().bucket(BUCKET).prefix("v/").max_keys(2).set_key_marker(km.clone()).set_version_id_marker(vm.clone()).send().await.unwrap();
            let more = page.is_truncated() == Some(true);
            km = page.next_key_marker().map(str::to_string);
            vm = page.next_version_id_marker().map(str::to_string);
            pages.push(page);
            if !more {
                break;
            }
        }
        assert_eq!(pages.len(), 3, "6 entries, 2 a page");
        let versions: Vec<(String, String, bool)> = pages.iter().flat_map(|p| p.versions().iter().map(|v| (v.key().unwrap().to_string(), v.version_id().unwrap().to_string(), v.is_latest().unwrap()))).collect();
        let markers: Vec<(String, String, bool)> = pages.iter().flat_map(|p| p.delete_markers().iter().map(|m| (m.key().unwrap().to_string(), m.version_id().unwrap().to_string(), m.is_latest().unwrap()))).collect();
        assert_eq!(markers, vec![("v/doc".to_string(), marker.clone(), true)]);
        assert_eq!(versions.len(), 5);
        assert_eq!(versions[0], ("v/doc".to_string(), v2.clone(), false));
        assert_eq!(versions[1], ("v/doc".to_string(), v1.clone(), false));

        // A copy from an older version; then deleting the marker brings the newest back.
        let copied = c.copy_object().bucket(BUCKET).key("v/restored").copy_source(format!("{BUCKET}/v/doc?versionId={v1}")).send().await.unwrap();
        assert_eq!(copied.copy_source_version_id(), Some(v1.as_str()));
        let restored = c.get_object().bucket(BUCKET).key("v/restored").send().await.unwrap();
        assert_eq!(restored.body.collect().await.unwrap().into_bytes().as_ref(), b"one");
        let d = c.delete_object().bucket(BUCKET).key("v/doc").version_id(&marker).send().await.unwrap();
        assert_eq!((d.delete_marker(), d.version_id()), (Some(true), Some(marker.as_str())));
        assert_eq!(read(None).await.unwrap().version_id(), Some(v2.as_str()));

        // DeleteObjects with version ids removes those versions for good.
        let ids = [ObjectIdentifier::builder().key("v/doc").version_id(&v2).build().unwrap(), ObjectIdentifier::builder().key("v/doc").version_id(&v1).build().unwrap()];
        let out = c.delete_objects().bucket(BUCKET).delete(Delete::builder().set_objects(Some(ids.to_vec())).build().unwrap()).send().await.unwrap();
        assert_eq!(out.deleted().iter().filter_map(|d| d.version_id()).collect::<Vec<_>>(), vec![v2.as_str(), v1.as_str()]);
        assert!(read(None).await.is_err());
        let left = c.list_object_versions().bucket(BUCKET).prefix("v/doc").send().await.unwrap();
        assert!(left.versions().is_empty() && left.delete_markers().is_empty());

        // Suspended: writes are the null version.
        c.put_bucket_versioning().bucket(BUCKET).versioning_configuration(enable(BucketVersioningStatus::Suspended)).send().await.unwrap();
        let p = c.put_object().bucket(BUCKET).key("v/n").body(b"n".to_vec().into()).send().await.unwrap();
        assert_eq!(p.version_id(), Some("null"));
        let e = c.get_object().bucket(BUCKET).key("v/n").version_id("not a version id").send().await.unwrap_err();
        assert!(format!("{e:?}").contains("Invalid version id specified"), "{e:?}");
    });
}

#[test]
fn s3_object_tagging() {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html; error codes
    // and messages as recorded on AWS (aws-recorded/errors.jsonl, the S3 tagging cases).
    use aws_sdk_s3::types::{Tag, Tagging, TaggingDirective};
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s3_client(&s.aws(), "test").await;
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let tagset = |tags: Vec<Tag>| Tagging::builder().set_tag_set(Some(tags)).build().unwrap();
        let listed = |t: &[Tag]| t.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<Vec<_>>();
        // Tags on PUT (the x-amz-tagging header, URL-encoded), counted by GetObject.
        c.put_object().bucket(BUCKET).key("a.txt").body(b"hello".to_vec().into()).tagging("project=blue%20sky&team=ops").send().await.unwrap();
        let got = c.get_object().bucket(BUCKET).key("a.txt").send().await.unwrap();
        assert_eq!(got.tag_count(), Some(2));
        let t = c.get_object_tagging().bucket(BUCKET).key("a.txt").send().await.unwrap();
        assert_eq!(listed(t.tag_set()), [("project".to_string(), "blue sky".to_string()), ("team".into(), "ops".into())]);
        // PutObjectTagging replaces the whole set.
        c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(vec![tag("stage", "<prod> & co")])).send().await.unwrap();
        let t = c.get_object_tagging().bucket(BUCKET).key("a.txt").send().await.unwrap();
        assert_eq!(listed(t.tag_set()), [("stage".to_string(), "<prod> & co".to_string())]);
        // Copy keeps the source's tags (COPY), or takes the request's (REPLACE).
        c.copy_object().bucket(BUCKET).key("kept.txt").copy_source(format!("{BUCKET}/a.txt")).send().await.unwrap();
        let t = c.get_object_tagging().bucket(BUCKET).key("kept.txt").send().await.unwrap();
        assert_eq!(listed(t.tag_set()), [("stage".to_string(), "<prod> & co".to_string())]);
        c.copy_object().bucket(BUCKET).key("replaced.txt").copy_source(format!("{BUCKET}/a.txt")).tagging_directive(TaggingDirective::Replace).tagging("x=1").send().await.unwrap();
        let t = c.get_object_tagging().bucket(BUCKET).key("replaced.txt").send().await.unwrap();
        assert_eq!(listed(t.tag_set()), [("x".to_string(), "1".to_string())]);
        // Tags given to CreateMultipartUpload are the completed object's.
        let up = c.create_multipart_upload().bucket(BUCKET).key("mp.bin").tagging("kind=video").send().await.unwrap();
        let p1 = c.upload_part().bucket(BUCKET).key("mp.bin").upload_id(up.upload_id().unwrap()).part_number(1).body(b"x".to_vec().into()).send().await.unwrap();
        let part = aws_sdk_s3::types::CompletedPart::builder().part_number(1).e_tag(p1.e_tag().unwrap()).build();
        let done = aws_sdk_s3::types::CompletedMultipartUpload::builder().parts(part).build();
        c.complete_multipart_upload().bucket(BUCKET).key("mp.bin").upload_id(up.upload_id().unwrap()).multipart_upload(done).send().await.unwrap();
        let t = c.get_object_tagging().bucket(BUCKET).key("mp.bin").send().await.unwrap();
        assert_eq!(listed(t.tag_set()), [("kind".to_string(), "video".to_string())]);
        // DeleteObjectTagging empties the set; the object stays, GetObject counts none.
        c.delete_object_tagging().bucket(BUCKET).key("a.txt").send().await.unwrap();
        assert!(c.get_object_tagging().bucket(BUCKET).key("a.txt").send().await.unwrap().tag_set().is_empty());
        assert_eq!(c.get_object().bucket(BUCKET).key("a.txt").send().await.unwrap().tag_count(), None);

        // Refusals, as AWS words them.
        fn code<E>(e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> (u16, String) {
            let r = e.raw_response().expect("a response");
            (r.status().as_u16(), String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned())
        }
        let e = c.put_object().bucket(BUCKET).key("d.txt").body(b"x".to_vec().into()).tagging("k=1&k=2").send().await.unwrap_err();
        let (status, body) = code(&e);
        assert_eq!(status, 400);
        assert!(body.contains("<Code>InvalidArgument</Code>") && body.contains("without tag name duplicates") && body.contains("<ArgumentName>x-amz-tagging</ArgumentName>"), "{body}");
        let e = c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(vec![tag("aws:prefixed", "v")])).send().await.unwrap_err();
        let (status, body) = code(&e);
        assert!(status == 400 && body.contains("<Code>InvalidTag</Code>") && body.contains("Your TagKey cannot be prefixed with aws:"), "{body}");
        let e = c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(vec![tag("k", "1"), tag("k", "2")])).send().await.unwrap_err();
        assert!(code(&e).1.contains("Cannot provide multiple Tags with the same key"), "{:?}", code(&e));
        let e = c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(vec![tag(&"k".repeat(129), "1")])).send().await.unwrap_err();
        assert!(code(&e).1.contains("The TagKey you have provided is invalid"), "{:?}", code(&e));
        let e = c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(vec![tag("k", &"v".repeat(257))])).send().await.unwrap_err();
        assert!(code(&e).1.contains("The TagValue you have provided is invalid"), "{:?}", code(&e));
        let eleven = (0..11).map(|i| tag(&format!("k{i}"), "v")).collect();
        let e = c.put_object_tagging().bucket(BUCKET).key("a.txt").tagging(tagset(eleven)).send().await.unwrap_err();
        let (status, body) = code(&e);
        assert!(status == 400 && body.contains("Object tags cannot be greater than 10"), "{body}");
        let e = c.get_object_tagging().bucket(BUCKET).key("missing").send().await.unwrap_err();
        assert_eq!(code(&e).0, 404);
        assert!(e.into_service_error().meta().code() == Some("NoSuchKey"));
        // A refused tagging changed nothing.
        assert!(c.get_object_tagging().bucket(BUCKET).key("a.txt").send().await.unwrap().tag_set().is_empty());
    });

}
