//! The Distributed Maps of delete-folder and move retry `States.ItemReaderFailed` (the S3
//! listing failed): the Map runs again, and a listing that keeps failing sends the request to
//! the dead-letter queue (docs/file-manager.md, "No lost event"). The workflows run on the
//! embedded services, with a wrapper whose listing fails the first N times.

use std::collections::HashMap;

use asl_core::engine::{
    self, Clock, ExecutionConfig, Services, Status, TaskCall, TaskError, TaskStart, VirtualClock,
};
use asl_world::World;
use serde_json::{json, Value};

const DLQ: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq";

/// The world, with a listing that fails `failures` times before it answers, and the messages
/// the workflow sent to the dead-letter queue.
struct FlakyListing {
    world: World,
    failures: usize,
    listings: usize,
    dead_letters: Vec<Value>,
}

impl Services for FlakyListing {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        self.world.call(call, clock)
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        if call.resource == "arn:aws:states:::sqs:sendMessage" {
            self.dead_letters.push(call.parameters.clone());
        }
        self.world.start_task(call, clock)
    }
    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        self.listings += 1;
        if self.listings <= self.failures {
            return Err(TaskError {
                error: "States.ItemReaderFailed".into(),
                cause: Some("Please reduce your request rate. (Service: S3, Status Code: 503, Error Code: SlowDown)".into()),
            });
        }
        self.world.read_items(reader, parameters)
    }
    fn child_definition(
        &mut self,
        arn: &str,
    ) -> Option<std::sync::Arc<asl_core::definition::Definition>> {
        self.world.child_definition(arn)
    }
    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        self.world.put_object(bucket, key, body)
    }
}

fn services(failures: usize) -> FlakyListing {
    let mut world = World::new("us-east-1", "123456789012");
    world
        .load_fixture(&json!({
            "dynamodb": {"tables": [{
                "TableName": "inventory",
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}]}]},
            "s3": {"buckets": [{"Name": "files", "Objects": [
                {"Key": "alice/docs/a.txt", "Body": "a"},
                {"Key": "alice/docs/deep/b.txt", "Body": "bb"},
                {"Key": "alice/keep.txt", "Body": "k"}]}]},
            "sqs": {"queues": [{"QueueName": "dlq"}]}
        }))
        .expect("fixture");
    FlakyListing {
        world,
        failures,
        listings: 0,
        dead_letters: Vec::new(),
    }
}

fn run(workflow: &str, input: &Value, s: &mut FlakyListing) -> engine::Outcome {
    let path = crate::root().join("workflows").join(workflow);
    let text = std::fs::read_to_string(&path).expect("workflow");
    let subs: HashMap<String, String> = [
        ("TableName", "inventory"),
        ("BucketName", "files"),
        ("DeadLetterQueueUrl", DLQ),
        ("CopyObjectMaxBytes", "5368709120"),
        ("CopyPartBytes", "1073741824"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (def, diags) = asl_core::load_definition(&text, &subs);
    let def = def.unwrap_or_else(|| panic!("{workflow}: {diags:?}"));
    let mut clock = VirtualClock {
        now: 1_764_583_200_000,
    };
    engine::run(
        &def,
        input.clone(),
        &ExecutionConfig::default(),
        s,
        &mut clock,
        false,
    )
}

fn exists(s: &FlakyListing, key: &str) -> bool {
    s.world.s3.get_object("files", key, None).is_ok()
}

fn delete_folder() -> Value {
    json!({"detail-type": "DeleteFolder", "source": "FileApi", "detail": {"user": "alice", "body": {"path": "docs/"}}})
}

fn move_folder() -> Value {
    json!({"detail-type": "MoveFile", "source": "FileApi", "detail": {"user": "alice", "body": {"from": "docs/", "to": "archive/docs/"}}})
}

#[test]
fn delete_folder_retries_a_failed_listing() {
    let mut s = services(1);
    let out = run("delete-folder.asl.yaml", &delete_folder(), &mut s);
    assert_eq!(
        out.status,
        Status::Succeeded,
        "{:?} {:?}",
        out.end.error,
        out.end.cause
    );
    assert_eq!(
        out.end.output,
        Some(json!({"Outcome": "deleted", "Folder": "alice/docs/", "Files": 2}))
    );
    assert_eq!(s.listings, 2, "the Map ran again after the failed listing");
    assert!(s.dead_letters.is_empty(), "{:?}", s.dead_letters);
    assert!(
        !exists(&s, "alice/docs/a.txt")
            && !exists(&s, "alice/docs/deep/b.txt")
            && exists(&s, "alice/keep.txt")
    );
}

#[test]
fn delete_folder_dead_letters_a_listing_that_keeps_failing() {
    // 5 retries (6 listings) succeed at the last one; one failure more goes to the queue.
    let mut s = services(5);
    let out = run("delete-folder.asl.yaml", &delete_folder(), &mut s);
    assert_eq!(
        out.status,
        Status::Succeeded,
        "{:?} {:?}",
        out.end.error,
        out.end.cause
    );
    assert_eq!(s.listings, 6);

    let mut s = services(usize::MAX);
    let out = run("delete-folder.asl.yaml", &delete_folder(), &mut s);
    assert_eq!(out.status, Status::Failed);
    assert_eq!(
        out.end.error.as_deref(),
        Some("States.ItemReaderFailed"),
        "{:?}",
        out.end.cause
    );
    assert_eq!(s.listings, 6, "the first listing and its 5 retries");
    assert_eq!(s.dead_letters.len(), 1);
    assert_eq!(s.dead_letters[0]["QueueUrl"], json!(DLQ));
    assert_eq!(
        s.dead_letters[0]["MessageBody"],
        delete_folder(),
        "the request exactly as the rule delivered it"
    );
    assert!(
        exists(&s, "alice/docs/a.txt") && exists(&s, "alice/docs/deep/b.txt"),
        "nothing deleted"
    );
    assert!(
        out.path.ends_with(&[
            "Dead Letter".to_string(),
            "Fail With Original Error".to_string()
        ]),
        "{:?}",
        out.path
    );
}

#[test]
fn move_retries_a_failed_listing() {
    let mut s = services(1);
    let out = run("move.asl.yaml", &move_folder(), &mut s);
    assert_eq!(
        out.status,
        Status::Succeeded,
        "{:?} {:?}",
        out.end.error,
        out.end.cause
    );
    assert_eq!(s.listings, 2, "the Map ran again after the failed listing");
    assert!(s.dead_letters.is_empty(), "{:?}", s.dead_letters);
    assert!(exists(&s, "alice/archive/docs/a.txt") && exists(&s, "alice/archive/docs/deep/b.txt"));
    assert!(!exists(&s, "alice/docs/a.txt") && !exists(&s, "alice/docs/deep/b.txt"));
}

#[test]
fn move_dead_letters_a_listing_that_keeps_failing() {
    let mut s = services(usize::MAX);
    let out = run("move.asl.yaml", &move_folder(), &mut s);
    assert_eq!(out.status, Status::Failed);
    assert_eq!(
        out.end.error.as_deref(),
        Some("States.ItemReaderFailed"),
        "{:?}",
        out.end.cause
    );
    assert!(s.listings > 1, "retried: {} listings", s.listings);
    assert_eq!(s.dead_letters.len(), 1);
    assert_eq!(s.dead_letters[0]["MessageBody"], move_folder());
    assert!(
        exists(&s, "alice/docs/a.txt") && !exists(&s, "alice/archive/docs/a.txt"),
        "nothing moved"
    );
}
