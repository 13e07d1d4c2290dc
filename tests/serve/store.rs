//! serve's store across restarts (issue 12): what was acknowledged is there after a stop
//! and a start on the same data directory, waiting executions keep waiting and end, and a
//! damaged database is a clear refusal. (The kill -9 test is tests/serve/python/crash.py.)

use super::*;

fn start_on(data_dir: &Path, template: &Path) -> asl_serve::Handle {
    let args = asl_serve::ServeArgs {
        in_memory: false,
        stack_name: "file-manager".into(),
        function_binaries: vec![format!("PresignFunction={}", presign_binary().display())],
        quiet: std::env::var("SERVE_LOG").is_err(),
        ..asl_serve::ServeArgs::local(template.to_path_buf(), data_dir.to_path_buf())
    };
    asl_serve::start(&args).unwrap_or_else(|e| panic!("serve did not start: {e}")).0
}

fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("asl-serve-store-{what}-{}-{}", std::process::id(), SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A scratch directory with the WAITER template in it: (the directory, the template, the data directory).
fn waiter_dir(what: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp_dir(what);
    let template = dir.join("t.yaml");
    std::fs::write(&template, WAITER).unwrap();
    let data = dir.join("data");
    (dir, template, data)
}

/// DescribeExecution once the execution is no longer RUNNING (or after 10 s).
async fn ended(sfn: &aws_sdk_sfn::Client, arn: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..100 {
        let d = sfn.describe_execution().execution_arn(arn).send().await.unwrap();
        if d.status().as_str() != "RUNNING" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    sfn.describe_execution().execution_arn(arn).send().await.unwrap()
}

const WAITER: &str = r#"Transform: AWS::Serverless-2016-10-31
Resources:
  Files:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: store-test
  Waiter:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: waiter
      Definition:
        StartAt: W
        States:
          W: {Type: Wait, Seconds: 2, Next: P}
          P: {Type: Pass, Result: {done: true}, End: true}
"#;

#[test]
fn objects_items_and_executions_survive_a_restart_and_waits_resume() {
    let (dir, template, data) = waiter_dir("restart");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    let exec_arn: String = rt().block_on(async {
        let s3 = s3_client(&aws, "test").await;
        s3.put_object().bucket("store-test").key("a/big.bin").body(big.clone().into()).send().await.unwrap();
        s3.put_object().bucket("store-test").key("a/gone.txt").body(b"x".to_vec().into()).send().await.unwrap();
        s3.put_object().bucket("store-test").key("t/tagged.txt").body(b"t".to_vec().into()).tagging("k=v").send().await.unwrap();
        s3.delete_object().bucket("store-test").key("a/gone.txt").send().await.unwrap();
        s3.copy_object().bucket("store-test").key("a/copy.bin").copy_source("store-test/a/big.bin").send().await.unwrap();
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:waiter";
        sfn.start_execution().state_machine_arn(arn).name("survivor").input("{}").send().await.unwrap().execution_arn().to_string()
    });
    // Stopped while the execution waits in W.
    h.stop();

    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let s3 = s3_client(&aws, "test").await;
        let got = s3.get_object().bucket("store-test").key("a/big.bin").send().await.unwrap().body.collect().await.unwrap().into_bytes();
        assert_eq!(got.as_ref(), big.as_slice(), "the body read back from its blob");
        let ranged = s3.get_object().bucket("store-test").key("a/copy.bin").range("bytes=10-19").send().await.unwrap().body.collect().await.unwrap().into_bytes();
        assert_eq!(ranged.as_ref(), &big[10..20]);
        let tags = s3.get_object_tagging().bucket("store-test").key("t/tagged.txt").send().await.unwrap();
        assert_eq!(tags.tag_set().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("k", "v")], "tags survive the restart");
        let listed = s3.list_objects_v2().bucket("store-test").prefix("a/").send().await.unwrap();
        let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(keys, ["a/big.bin", "a/copy.bin"], "the delete held");
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let d = sfn.describe_execution().execution_arn(&exec_arn).send().await.unwrap();
        assert_eq!(d.status().as_str(), "RUNNING", "still waiting after the restart");
        let d = ended(&sfn, &exec_arn).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED", "the Wait resumed and the execution ended");
        let d = sfn.describe_execution().execution_arn(&exec_arn).send().await.unwrap();
        assert_eq!(d.output(), Some(r#"{"done":true}"#));
        let hist = sfn.get_execution_history().execution_arn(&exec_arn).send().await.unwrap();
        let kinds: Vec<_> = hist.events().iter().map(|e| e.r#type().as_str().to_string()).collect();
        assert_eq!(kinds.first().map(String::as_str), Some("ExecutionStarted"), "{kinds:?}");
        assert_eq!(kinds.last().map(String::as_str), Some("ExecutionSucceeded"), "{kinds:?}");
        let list = sfn.list_executions().state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:waiter").send().await.unwrap();
        assert_eq!(list.executions().len(), 1);
    });
    h.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn versions_and_delete_markers_survive_a_restart() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let (dir, template, data) = waiter_dir("versions");
    let old: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    let (v1, v2, marker) = rt().block_on(async {
        let s3 = s3_client(&aws, "test").await;
        let on = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning().bucket("store-test").versioning_configuration(on).send().await.unwrap();
        let v1 = s3.put_object().bucket("store-test").key("doc").body(old.clone().into()).send().await.unwrap().version_id().unwrap().to_string();
        let v2 = s3.put_object().bucket("store-test").key("doc").body(b"new".to_vec().into()).send().await.unwrap().version_id().unwrap().to_string();
        let marker = s3.delete_object().bucket("store-test").key("doc").send().await.unwrap().version_id().unwrap().to_string();
        (v1, v2, marker)
    });
    h.stop();

    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let s3 = s3_client(&aws, "test").await;
        assert_eq!(s3.get_bucket_versioning().bucket("store-test").send().await.unwrap().status(), Some(&BucketVersioningStatus::Enabled));
        assert!(s3.get_object().bucket("store-test").key("doc").send().await.is_err(), "the delete marker is still the newest version");
        let got = s3.get_object().bucket("store-test").key("doc").version_id(&v1).send().await.unwrap().body.collect().await.unwrap().into_bytes();
        assert_eq!(got.as_ref(), old.as_slice(), "an older version's body read back from its blob");
        let listed = s3.list_object_versions().bucket("store-test").send().await.unwrap();
        let ids: Vec<_> = listed.versions().iter().filter_map(|v| v.version_id()).collect();
        assert_eq!(ids, [v2.as_str(), v1.as_str()]);
        assert_eq!(listed.delete_markers()[0].version_id(), Some(marker.as_str()));
        // Removing the marker after the restart brings the newest version back, durably.
        s3.delete_object().bucket("store-test").key("doc").version_id(&marker).send().await.unwrap();
        s3.delete_object().bucket("store-test").key("doc").version_id(&v2).send().await.unwrap();
    });
    h.stop();
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let s3 = s3_client(&aws, "test").await;
        let cur = s3.get_object().bucket("store-test").key("doc").send().await.unwrap();
        assert_eq!(cur.version_id(), Some(v1.as_str()));
        assert_eq!(cur.body.collect().await.unwrap().into_bytes().as_ref(), old.as_slice());
    });
    h.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// State machines created through the API come back with their revisions, versions,
/// aliases and tags; the template's machine keeps the tags and versions given to it; a
/// deleted machine stays deleted; an alias still routes StartExecution (issue 12).
#[test]
fn machines_created_through_the_api_survive_a_restart() {
    let (dir, template, data) = waiter_dir("machines");
    let role = "arn:aws:iam::123456789012:role/r";
    let v1_text = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":1},"End":true}}}"#;
    let v2_text = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":2},"End":true}}}"#;
    let waiter = "arn:aws:states:us-east-1:123456789012:stateMachine:waiter";
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    let (arn, revision, alias_arn) = rt().block_on(async {
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let tag = aws_sdk_sfn::types::Tag::builder().key("team").value("files").build();
        let made = sfn.create_state_machine().name("made").definition(v1_text).role_arn(role).publish(true).tags(tag.clone()).send().await.unwrap();
        let arn = made.state_machine_arn().to_string();
        let updated = sfn.update_state_machine().state_machine_arn(&arn).definition(v2_text).publish(true).version_description("second").send().await.unwrap();
        let route = aws_sdk_sfn::types::RoutingConfigurationListItem::builder().state_machine_version_arn(format!("{arn}:1")).weight(100).build().unwrap();
        let alias = sfn.create_state_machine_alias().name("live").routing_configuration(route).send().await.unwrap();
        sfn.create_state_machine().name("gone").definition(v1_text).role_arn(role).send().await.unwrap();
        sfn.delete_state_machine().state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:gone").send().await.unwrap();
        sfn.tag_resource().resource_arn(waiter).tags(tag).send().await.unwrap();
        sfn.publish_state_machine_version().state_machine_arn(waiter).send().await.unwrap();
        (arn, updated.revision_id().unwrap().to_string(), alias.state_machine_alias_arn().to_string())
    });
    h.stop();

    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let d = sfn.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!((d.definition(), d.role_arn(), d.revision_id()), (v2_text, role, Some(revision.as_str())));
        let versions = sfn.list_state_machine_versions().state_machine_arn(&arn).send().await.unwrap();
        let listed: Vec<_> = versions.state_machine_versions().iter().map(|v| v.state_machine_version_arn().to_string()).collect();
        assert_eq!(listed, [format!("{arn}:2"), format!("{arn}:1")]);
        let v1 = sfn.describe_state_machine().state_machine_arn(format!("{arn}:1")).send().await.unwrap();
        assert_eq!(v1.definition(), v1_text, "version 1 keeps its own definition");
        let v2 = sfn.describe_state_machine().state_machine_arn(format!("{arn}:2")).send().await.unwrap();
        assert_eq!(v2.description(), Some("second"));
        // Publishing the unchanged current revision again is still the same version.
        let again = sfn.publish_state_machine_version().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(again.state_machine_version_arn(), format!("{arn}:2"));
        let tags = sfn.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [(Some("team"), Some("files"))]);
        let run = sfn.start_execution().state_machine_arn(&alias_arn).input("{}").send().await.unwrap();
        let d = ended(&sfn, run.execution_arn()).await;
        assert_eq!((d.status().as_str(), d.output()), ("SUCCEEDED", Some(r#"{"v":1}"#)), "the alias routes to version 1");
        let names: Vec<_> = sfn.list_state_machines().send().await.unwrap().state_machines().iter().map(|m| m.name().to_string()).collect();
        assert_eq!(names, ["made", "waiter"], "the deleted machine stays deleted");
        let tags = sfn.list_tags_for_resource().resource_arn(waiter).send().await.unwrap();
        assert_eq!(tags.tags().len(), 1, "the template's machine keeps its tag");
        let versions = sfn.list_state_machine_versions().state_machine_arn(waiter).send().await.unwrap();
        assert_eq!(versions.state_machine_versions().len(), 1, "and its version");
    });
    h.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// An activity and the task an execution scheduled on it, not yet taken by a worker, are
/// there after a restart: GetActivityTask hands the task out and the execution ends with
/// the worker's answer (issue 12).
#[test]
fn activity_tasks_wait_for_a_worker_across_a_restart() {
    let (dir, template, data) = waiter_dir("activities");
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    let (activity, exec_arn) = rt().block_on(async {
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let activity = sfn.create_activity().name("work").send().await.unwrap().activity_arn().to_string();
        let def = format!(r#"{{"StartAt":"A","States":{{"A":{{"Type":"Task","Resource":"{activity}","End":true}}}}}}"#);
        let m = sfn.create_state_machine().name("worked").definition(def).role_arn("arn:aws:iam::123456789012:role/r").send().await.unwrap();
        let run = sfn.start_execution().state_machine_arn(m.state_machine_arn()).input(r#"{"job":1}"#).send().await.unwrap();
        // The task is scheduled (the execution waits on it) before the stop.
        for _ in 0..100 {
            let hist = sfn.get_execution_history().execution_arn(run.execution_arn()).send().await.unwrap();
            if hist.events().iter().any(|e| e.r#type().as_str() == "ActivityScheduled") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        (activity, run.execution_arn().to_string())
    });
    h.stop();

    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let sfn = aws_sdk_sfn::Client::new(&sdk_config(&aws, "test").await);
        let listed = sfn.list_activities().send().await.unwrap();
        assert_eq!(listed.activities().iter().map(|a| a.activity_arn()).collect::<Vec<_>>(), [activity.as_str()]);
        let task = sfn.get_activity_task().activity_arn(&activity).worker_name("w").send().await.unwrap();
        assert_eq!(task.input(), Some(r#"{"job":1}"#), "the task scheduled before the restart");
        sfn.send_task_success().task_token(task.task_token().unwrap()).output(r#"{"done":1}"#).send().await.unwrap();
        assert_eq!(ended(&sfn, &exec_arn).await.status().as_str(), "SUCCEEDED");
    });
    h.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_database_is_refused_with_what_to_do() {
    let (dir, template, data) = waiter_dir("damaged");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("store.sqlite"), vec![0x5au8; 16384]).unwrap();
    let args = asl_serve::ServeArgs { in_memory: false, stack_name: "x".into(), ..asl_serve::ServeArgs::local(template, data.clone()) };
    let err = asl_serve::start(&args).err().expect("refused");
    assert!(err.contains("store.sqlite") && err.contains("damaged"), "{err}");
    // Nothing was overwritten.
    assert_eq!(std::fs::read(data.join("store.sqlite")).unwrap(), vec![0x5au8; 16384]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expired_items_are_swept_and_the_deletion_is_durable() {
    // template.yaml's TimeToLiveSpecification (ExpiresAt) is enabled at start-up, and the
    // background deletion runs every ASL_SIM_TTL_SWEEP_SECONDS. AWS deletes an expired item
    // "within a few days" and reads return it until then; items expired more than five years
    // ago are never deleted (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
    // Set for the whole test binary: other serves then sweep more often too, which AWS allows.
    std::env::set_var("ASL_SIM_TTL_SWEEP_SECONDS", "0.5");
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let dir = temp_dir("ttl");
    let template = serve_template(&dir);
    let data = dir.join("data");
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let tombstone = |key: &str, expires: u64| {
        std::collections::HashMap::from([
            ("PK".to_string(), A::S("alice".into())),
            ("SK".to_string(), A::S(format!("alice/{key}"))),
            ("Live".to_string(), A::Bool(false)),
            ("ExpiresAt".to_string(), A::N(expires.to_string())),
        ])
    };
    let get = |ddb: &aws_sdk_dynamodb::Client, key: &str| {
        let ddb = ddb.clone();
        let key = key.to_string();
        async move {
            ddb.get_item().table_name(TABLE).key("PK", A::S("alice".into())).key("SK", A::S(format!("alice/{key}"))).consistent_read(true).send().await.unwrap().item().is_some()
        }
    };
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let ddb = aws_sdk_dynamodb::Client::new(&sdk_config(&aws, "test").await);
        let d = ddb.describe_time_to_live().table_name(TABLE).send().await.unwrap();
        let d = d.time_to_live_description().unwrap();
        assert_eq!((d.time_to_live_status().map(|s| s.as_str()), d.attribute_name()), (Some("ENABLED"), Some("ExpiresAt")));
        for (key, expires) in [("soon.txt", now + 2), ("later.txt", now + 3600), ("ancient.txt", now - 6 * 365 * 86_400)] {
            ddb.put_item().table_name(TABLE).set_item(Some(tombstone(key, expires))).send().await.unwrap();
        }
        assert!(get(&ddb, "soon.txt").await, "not expired yet, so it is there");
        let mut gone = false;
        for _ in 0..200 {
            if !get(&ddb, "soon.txt").await {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "the expired tombstone was swept");
        assert!(get(&ddb, "later.txt").await, "an unexpired tombstone stays");
        assert!(get(&ddb, "ancient.txt").await, "an expiry more than five years old is never deleted");
    });
    h.stop();
    // The sweep's deletion was committed: a restart does not bring the item back.
    let h = start_on(&data, &template);
    let aws = format!("http://{}", h.aws_addr);
    rt().block_on(async {
        let ddb = aws_sdk_dynamodb::Client::new(&sdk_config(&aws, "test").await);
        assert!(!get(&ddb, "soon.txt").await, "the swept tombstone stays deleted after a restart");
        assert!(get(&ddb, "later.txt").await);
    });
    h.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
