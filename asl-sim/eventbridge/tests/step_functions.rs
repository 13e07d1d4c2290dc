//! The Step Functions layer against results recorded on AWS (conformance cases and
//! LocalStack snapshots) and the error naming rules of aws-services.md §3.3.

use asl_eventbridge::events::{EventBridge, PutRuleInput, Target};
use asl_s3::s3::S3;
use asl_eventbridge::sfn::events_step_functions_call_detailed;
use asl_s3::sfn::{s3_sdk_error, S3_ACTIONS};
use asl_aws::CallContext;
use asl_eventbridge::{events_step_functions_call, PutEventsStyle};
use asl_s3::{s3_step_functions_call, S3Error};
use serde_json::{json, Value};

const T0: i64 = 1_736_000_000_000;

fn ctx() -> CallContext {
    let mut c = CallContext::new(T0, 11);
    c.request_id = "REQ123".into();
    c.extended_request_id = "EXT456".into();
    c
}

fn s3() -> S3 {
    let mut s3 = S3::new();
    s3.create_bucket("bucket-name", &ctx()).unwrap();
    s3
}

fn call(s3: &mut S3, action: &str, p: Value) -> Result<Value, (String, String)> {
    s3_step_functions_call(s3, action, &p, &ctx()).map(|(v, _)| v)
}

#[test]
fn put_object_recorded() {
    // services_test_aws_sdk_task_service_..._test_s3_put_object_{bool,num} (recorded 2025-11-06).
    let mut s3 = s3();
    let out = call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "file-key", "Body": false})).unwrap();
    assert_eq!(
        out,
        json!({"ChecksumCRC32": "K81oMA==", "ChecksumType": "FULL_OBJECT", "ETag": "\"68934a3e9455fa72420237eb05902327\"", "ServerSideEncryption": "AES256"})
    );
    assert_eq!(out.to_string(), r#"{"ChecksumCRC32":"K81oMA==","ChecksumType":"FULL_OBJECT","ETag":"\"68934a3e9455fa72420237eb05902327\"","ServerSideEncryption":"AES256"}"#);
    let out = call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "file-key", "Body": 0})).unwrap();
    assert_eq!(out["ChecksumCRC32"], "9NvfIQ==");
    assert_eq!(out["ETag"], "\"cfcd208495d565ef66e7dff9f98764da\"");
    // str / dict / list (recorded 2024): the body is the JSON text, a string keeps its quotes.
    for (body, etag, stored) in [
        (json!("text data"), "\"2b5df3712557f503a9977a8ea893b2c9\"", "\"text data\""),
        (json!({"Dict": "Value"}), "\"49e31cee5aec8faf3345893addb14346\"", r#"{"Dict":"Value"}"#),
        (json!(["List", "Data"]), "\"6b23860357f6e63a0272b7f1143a663a\"", r#"["List","Data"]"#),
    ] {
        let out = call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "file-key", "Body": body})).unwrap();
        assert_eq!(out["ETag"], etag);
        assert_eq!(s3.object("bucket-name", "file-key").unwrap().body.bytes().unwrap(), stored.as_bytes());
    }
}

#[test]
fn get_and_head_object_shape() {
    let mut s3 = s3();
    s3.put_object(
        asl_s3::s3::PutObjectInput { bucket: "bucket-name".into(), key: "file_key".into(), body: b"binary data".to_vec(), ..Default::default() },
        &ctx(),
    )
    .unwrap();
    let out = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "file_key"})).unwrap();
    // Recorded shape and order (test_s3_get_object[binary]); LastModified as ISO-8601.
    assert_eq!(
        out.to_string(),
        r#"{"AcceptRanges":"bytes","ContentLength":11,"ContentType":"binary/octet-stream","ETag":"\"e1a49b59e0c42e4fd3735ad644f25d57\"","LastModified":"2025-01-04T14:13:20Z","Metadata":{},"ServerSideEncryption":"AES256","Body":"binary data"}"#
    );
    let out = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "file_key", "Range": "bytes=0-5"})).unwrap();
    assert_eq!((out["Body"].as_str(), out["ContentLength"].as_u64(), out["ContentRange"].as_str()), (Some("binary"), Some(6), Some("bytes 0-5/11")));
    let head = call(&mut s3, "headObject", json!({"Bucket": "bucket-name", "Key": "file_key"})).unwrap();
    assert!(head.get("Body").is_none());
    assert_eq!(head["ContentLength"], 11);
    call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "m", "Body": "x", "ContentType": "text/plain", "Metadata": {"Owner": "alice"}})).unwrap();
    let head = call(&mut s3, "headObject", json!({"Bucket": "bucket-name", "Key": "m"})).unwrap();
    assert_eq!((head["ContentType"].as_str(), &head["Metadata"]), (Some("text/plain"), &json!({"owner": "alice"})));
}

#[test]
fn errors_recorded() {
    let mut s3 = s3();
    // error_handling_test_aws_sdk_..._test_s3_no_such_key (recorded 2025-01-22).
    let (e, c) = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "no_such_key.json"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchKeyException");
    assert_eq!(c, "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: REQ123, Extended Request ID: EXT456)");
    let (e, c) = call(&mut s3, "getObject", json!({"Bucket": "nope", "Key": "k"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchBucketException");
    assert_eq!(c, "The specified bucket does not exist (Service: S3, Status Code: 404, Request ID: REQ123, Extended Request ID: EXT456)");
    let (e, c) = call(&mut s3, "headObject", json!({"Bucket": "bucket-name", "Key": "nope"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchKeyException");
    assert!(c.starts_with("null (Service: S3, Status Code: 404"), "{c}");
    // Codes without their own SDK class surface as S3Exception.
    call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "k", "Body": "x"})).unwrap();
    let (e, c) = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "k", "Range": "bytes=100-"})).unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    assert!(c.starts_with("The requested range is not satisfiable (Service: S3, Status Code: 416"));
    let (e, _) = call(&mut s3, "createBucket", json!({"Bucket": "bucket-name"})).unwrap_err();
    assert_eq!(e, "S3.BucketAlreadyOwnedByYouException");
    let (e, _) = call(&mut s3, "deleteBucket", json!({"Bucket": "bucket-name"})).unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    let named = s3_sdk_error(&S3Error::new("ObjectNotInActiveTierError", "m", 403), &ctx(), false);
    assert_eq!(named.0, "S3.ObjectNotInActiveTierErrorException");
    // Unsupported action.
    let (e, c) = call(&mut s3, "putBucketPolicy", json!({"Bucket": "bucket-name"})).unwrap_err();
    assert_eq!(e, "States.Runtime");
    assert!(c.contains("arn:aws:states:::aws-sdk:s3:putBucketPolicy is not recognized"));
    assert!(!S3_ACTIONS.contains(&"putBucketPolicy"));
    // Missing required parameter.
    assert!(call(&mut s3, "getObject", json!({"Bucket": "bucket-name"})).is_err());
    assert!(call(&mut s3, "getObject", json!({"Bucket": 5, "Key": "k"})).is_err());
}

#[test]
fn delete_copy_list() {
    let mut s3 = s3();
    s3.set_eventbridge("bucket-name", true).unwrap();
    for k in ["alice/a.txt", "alice/b.txt", "alice/sub/c.txt", "bob/d.txt"] {
        call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": k, "Body": k})).unwrap();
    }
    // deleteObject of a missing key succeeds with {} (aws-services.md §3.3).
    let (out, events) = s3_step_functions_call(&mut s3, "deleteObject", &json!({"Bucket": "bucket-name", "Key": "missing"}), &ctx()).unwrap();
    assert_eq!(out, json!({}));
    assert_eq!(events.len(), 1);
    let (out, events) = s3_step_functions_call(
        &mut s3,
        "copyObject",
        &json!({"Bucket": "bucket-name", "Key": "alice/copy of a.txt", "CopySource": "bucket-name/alice/a.txt"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(out["CopyObjectResult"]["ETag"], s3.object("bucket-name", "alice/a.txt").unwrap().etag.as_str());
    assert_eq!(events[0].detail["reason"], "CopyObject");
    // URL-encoded copy source with a leading slash.
    call(&mut s3, "copyObject", json!({"Bucket": "bucket-name", "Key": "x", "CopySource": "/bucket-name/alice/copy%20of%20a.txt"})).unwrap();
    let (e, _) = call(&mut s3, "copyObject", json!({"Bucket": "bucket-name", "Key": "x", "CopySource": "nonsense"})).unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    let out = call(&mut s3, "listObjectsV2", json!({"Bucket": "bucket-name", "Prefix": "alice/", "Delimiter": "/"})).unwrap();
    assert_eq!(
        out.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["CommonPrefixes", "Contents", "Delimiter", "IsTruncated", "KeyCount", "MaxKeys", "Name", "Prefix"]
    );
    assert_eq!(out["CommonPrefixes"], json!([{"Prefix": "alice/sub/"}]));
    assert_eq!(out["KeyCount"], 4);
    assert_eq!(out["Contents"][0]["Key"], "alice/a.txt");
    assert_eq!(out["Contents"][0]["StorageClass"], "STANDARD");
    let page = call(&mut s3, "listObjectsV2", json!({"Bucket": "bucket-name", "MaxKeys": 2})).unwrap();
    assert_eq!(page["IsTruncated"], true);
    let token = page["NextContinuationToken"].as_str().unwrap();
    let next = call(&mut s3, "listObjectsV2", json!({"Bucket": "bucket-name", "MaxKeys": 2, "ContinuationToken": token})).unwrap();
    assert_eq!(next["ContinuationToken"], token);
    assert_eq!(next["Contents"][0]["Key"], "alice/copy of a.txt");
    let out = call(&mut s3, "deleteObjects", json!({"Bucket": "bucket-name", "Delete": {"Objects": [{"Key": "alice/a.txt"}, {"Key": "bob/d.txt"}]}})).unwrap();
    assert_eq!(out, json!({"Deleted": [{"Key": "alice/a.txt"}, {"Key": "bob/d.txt"}]}));
    let out = call(&mut s3, "deleteObjects", json!({"Bucket": "bucket-name", "Delete": {"Objects": [{"Key": "x"}], "Quiet": true}})).unwrap();
    assert_eq!(out, json!({}));
    let empty = call(&mut s3, "listObjectsV2", json!({"Bucket": "bucket-name", "Prefix": "zzz"})).unwrap();
    assert_eq!(empty, json!({"IsTruncated": false, "KeyCount": 0, "MaxKeys": 1000, "Name": "bucket-name", "Prefix": "zzz"}));
}

#[test]
fn multipart_through_sdk() {
    let mut s3 = s3();
    s3.min_part_size = 1;
    let up = call(&mut s3, "createMultipartUpload", json!({"Bucket": "bucket-name", "Key": "big"})).unwrap();
    let id = up["UploadId"].as_str().unwrap().to_string();
    let p1 = call(&mut s3, "uploadPart", json!({"Bucket": "bucket-name", "Key": "big", "UploadId": id, "PartNumber": 1, "Body": "a"})).unwrap();
    let parts = call(&mut s3, "listParts", json!({"Bucket": "bucket-name", "Key": "big", "UploadId": id})).unwrap();
    assert_eq!(parts["Parts"][0]["Size"], 3); // "\"a\"": JSON text
    let done = call(
        &mut s3,
        "completeMultipartUpload",
        json!({"Bucket": "bucket-name", "Key": "big", "UploadId": id, "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]}}),
    )
    .unwrap();
    assert!(done["ETag"].as_str().unwrap().ends_with("-1\""));
    let (e, _) = call(&mut s3, "abortMultipartUpload", json!({"Bucket": "bucket-name", "Key": "big", "UploadId": id})).unwrap_err();
    assert_eq!(e, "S3.NoSuchUploadException");
}

#[test]
fn upload_part_copy_through_sdk() {
    // How a workflow copies an object over CopyObject's 5 GiB: a multipart upload whose parts
    // are byte ranges of the source (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html).
    let mut s3 = s3();
    s3.min_part_size = 4;
    call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "src/a b.bin", "Body": "0123456789"})).unwrap();
    let up = call(&mut s3, "createMultipartUpload", json!({"Bucket": "bucket-name", "Key": "dst.bin"})).unwrap();
    let id = up["UploadId"].as_str().unwrap().to_string();
    let part = |s3: &mut S3, n: i64, range: &str| {
        call(s3, "uploadPartCopy", json!({"Bucket": "bucket-name", "Key": "dst.bin", "UploadId": id, "PartNumber": n,
                                           "CopySource": "bucket-name/src/a%20b.bin", "CopySourceRange": range}))
    };
    // "0123456789" as JSON text is 12 bytes: "\"0123456789\"".
    let p1 = part(&mut s3, 1, "bytes=0-5").unwrap();
    assert_eq!(p1["ServerSideEncryption"], "AES256");
    assert!(p1["CopyPartResult"]["ETag"].as_str().unwrap().starts_with('"'), "{p1}");
    assert!(p1["CopyPartResult"]["LastModified"].is_string(), "{p1}");
    let p2 = part(&mut s3, 2, "bytes=6-11").unwrap();
    let (e, c) = part(&mut s3, 3, "bytes=6-12").unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    assert!(c.starts_with("Range specified is not valid for source object of size: 12"), "{c}");
    let (e, c) = part(&mut s3, 3, "bytes=6-").unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    assert!(c.contains("bytes=first-last"), "{c}");
    let (e, _) = call(&mut s3, "uploadPartCopy", json!({"Bucket": "bucket-name", "Key": "dst.bin", "UploadId": id, "PartNumber": 3,
                                                          "CopySource": "bucket-name/missing"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchKeyException");
    let parts = json!([{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]);
    call(&mut s3, "completeMultipartUpload", json!({"Bucket": "bucket-name", "Key": "dst.bin", "UploadId": id, "MultipartUpload": {"Parts": parts}}))
        .unwrap();
    assert_eq!(s3.object("bucket-name", "dst.bin").unwrap().body.bytes().unwrap(), b"\"0123456789\"");
    // Without a range, the whole source is the part.
    let up = call(&mut s3, "createMultipartUpload", json!({"Bucket": "bucket-name", "Key": "whole"})).unwrap();
    let whole = call(&mut s3, "uploadPartCopy", json!({"Bucket": "bucket-name", "Key": "whole", "UploadId": up["UploadId"], "PartNumber": 1,
                                                         "CopySource": "bucket-name/dst.bin"})).unwrap();
    let listed = call(&mut s3, "listParts", json!({"Bucket": "bucket-name", "Key": "whole", "UploadId": up["UploadId"]})).unwrap();
    assert_eq!((listed["Parts"][0]["Size"].clone(), listed["Parts"][0]["ETag"].clone()), (json!(12), whole["CopyPartResult"]["ETag"].clone()));
}

#[test]
fn object_tagging_through_sdk() {
    let mut s3 = s3();
    call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "a", "Body": "x", "Tagging": "team=ops&note=a%20b"})).unwrap();
    let got = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap();
    assert_eq!(got["TagCount"], 2);
    assert!(call(&mut s3, "headObject", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap().get("TagCount").is_none());
    let t = call(&mut s3, "getObjectTagging", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap();
    assert_eq!(t, json!({"TagSet": [{"Key": "note", "Value": "a b"}, {"Key": "team", "Value": "ops"}]}));
    let set = json!({"Bucket": "bucket-name", "Key": "a", "Tagging": {"TagSet": [{"Key": "stage", "Value": "prod"}]}});
    assert_eq!(call(&mut s3, "putObjectTagging", set).unwrap(), json!({}));
    call(&mut s3, "copyObject", json!({"Bucket": "bucket-name", "Key": "b", "CopySource": "bucket-name/a"})).unwrap();
    let t = call(&mut s3, "getObjectTagging", json!({"Bucket": "bucket-name", "Key": "b"})).unwrap();
    assert_eq!(t, json!({"TagSet": [{"Key": "stage", "Value": "prod"}]}), "COPY is the default directive");
    call(&mut s3, "copyObject", json!({"Bucket": "bucket-name", "Key": "c", "CopySource": "bucket-name/a", "TaggingDirective": "REPLACE"})).unwrap();
    assert_eq!(call(&mut s3, "getObjectTagging", json!({"Bucket": "bucket-name", "Key": "c"})).unwrap(), json!({"TagSet": []}));
    assert_eq!(call(&mut s3, "deleteObjectTagging", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap(), json!({}));
    assert_eq!(call(&mut s3, "getObjectTagging", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap(), json!({"TagSet": []}));
    let (e, c) = call(&mut s3, "putObjectTagging", json!({"Bucket": "bucket-name", "Key": "a", "Tagging": {"TagSet": [{"Key": "aws:x", "Value": "1"}]}})).unwrap_err();
    assert_eq!(e, "S3.S3Exception");
    assert!(c.starts_with("Your TagKey cannot be prefixed with aws:"), "{c}");
    let (e, _) = call(&mut s3, "getObjectTagging", json!({"Bucket": "bucket-name", "Key": "missing"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchKeyException");
    let (_, c) = call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "d", "Body": "x", "Tagging": "k=1&k=2"})).unwrap_err();
    assert!(c.contains("without tag name duplicates"), "{c}");
    assert!(s3.object("bucket-name", "d").is_none(), "a refused PUT stores nothing");
}

#[test]
fn bucket_versioning_through_sdk() {
    // aws-sdk:s3 tasks on a versioned bucket: the API's output shapes (VersionId, DeleteMarker,
    // CopySourceVersionId, ListObjectVersions' Versions and DeleteMarkers).
    let mut s3 = s3();
    assert_eq!(call(&mut s3, "getBucketVersioning", json!({"Bucket": "bucket-name"})).unwrap(), json!({}));
    let on = json!({"Bucket": "bucket-name", "VersioningConfiguration": {"Status": "Enabled"}});
    assert_eq!(call(&mut s3, "putBucketVersioning", on).unwrap(), json!({}));
    assert_eq!(call(&mut s3, "getBucketVersioning", json!({"Bucket": "bucket-name"})).unwrap(), json!({"Status": "Enabled"}));
    let v1 = call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "a", "Body": "one"})).unwrap()["VersionId"].as_str().unwrap().to_string();
    call(&mut s3, "putObject", json!({"Bucket": "bucket-name", "Key": "a", "Body": "two"})).unwrap();
    let old = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "a", "VersionId": v1})).unwrap();
    assert_eq!(old["Body"], "\"one\"", "a string Body is stored as its JSON text (recorded)");
    let copy = call(&mut s3, "copyObject", json!({"Bucket": "bucket-name", "Key": "b", "CopySource": format!("bucket-name/a?versionId={v1}")})).unwrap();
    assert_eq!(copy["CopySourceVersionId"], v1.as_str());
    assert!(copy["VersionId"].is_string());
    let del = call(&mut s3, "deleteObject", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap();
    assert_eq!(del["DeleteMarker"], true);
    let (e, _) = call(&mut s3, "getObject", json!({"Bucket": "bucket-name", "Key": "a"})).unwrap_err();
    assert_eq!(e, "S3.NoSuchKeyException");
    let listed = call(&mut s3, "listObjectVersions", json!({"Bucket": "bucket-name", "Prefix": "a"})).unwrap();
    assert_eq!(listed["Versions"].as_array().unwrap().len(), 2);
    assert_eq!(listed["DeleteMarkers"][0]["VersionId"], del["VersionId"]);
    assert_eq!(listed["DeleteMarkers"][0]["IsLatest"], true);
    assert_eq!(listed["IsTruncated"], false);
    let (e, _) = call(&mut s3, "putBucketVersioning", json!({"Bucket": "bucket-name"})).unwrap_err();
    assert_eq!(e, "S3.S3Exception");
}

fn bus() -> EventBridge {
    let mut eb = EventBridge::new("111122223333", "us-east-1");
    eb.put_rule(&PutRuleInput { name: "all".into(), event_pattern: Some(r#"{"source":["some.source"]}"#.into()), ..Default::default() }).unwrap();
    eb.put_targets(None, "all", &[Target { id: "t".into(), arn: "arn:sm".into(), input_path: Some("$.detail".into()), ..Default::default() }])
        .unwrap();
    eb
}

fn sfn_ctx() -> CallContext {
    let mut c = ctx();
    c.state_machine_arn = Some("arn:aws:states:us-east-1:111122223333:stateMachine:sm".into());
    c.execution_arn = Some("arn:aws:states:us-east-1:111122223333:execution:sm:e1".into());
    c
}

#[test]
fn put_events_optimized_recorded() {
    // test_events_task_service::test_put_events_base: Detail as string or object; the
    // state machine and execution ARNs are appended to resources.
    let mut eb = bus();
    let params = json!({"Entries": [
        {"Detail": "{\"Message\": \"HelloWorld0\"}", "DetailType": "dt", "Source": "some.source"},
        {"Detail": {"Message": "HelloWorld1"}, "DetailType": "dt", "Source": "some.source"},
        {"Detail": {"Message": "HelloWorld2"}, "DetailType": "dt", "Source": "some.source", "Resources": ["queue-url"]},
    ]});
    let (out, deliveries) = events_step_functions_call(&mut eb, PutEventsStyle::Optimized, &params, &sfn_ctx()).unwrap();
    assert_eq!(out["FailedEntryCount"], 0);
    assert_eq!(out["Entries"].as_array().unwrap().len(), 3);
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0].input, json!({"Message": "HelloWorld0"}));
    assert_eq!(
        deliveries[2].event["resources"],
        json!(["queue-url", "arn:aws:states:us-east-1:111122223333:stateMachine:sm", "arn:aws:states:us-east-1:111122223333:execution:sm:e1"])
    );
    assert_eq!(deliveries[0].event["id"], out["Entries"][0]["EventId"]);
}

#[test]
fn put_events_optimized_failed_entries() {
    // test_put_events_malformed_detail: EventBridge.FailedEntry, cause = the response.
    let mut eb = bus();
    let params = json!({"Entries": [{"Detail": "\"jsonstring\"", "DetailType": "dt", "Source": "some.source"}]});
    let (e, c) = events_step_functions_call(&mut eb, PutEventsStyle::Optimized, &params, &sfn_ctx()).unwrap_err();
    assert_eq!(e, "EventBridge.FailedEntry");
    assert_eq!(c, r#"{"Entries":[{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}],"FailedEntryCount":1}"#);
    // test_put_events_no_source: the good entry is still delivered.
    let params = json!({"Entries": [
        {"Detail": {"Message": "HelloWorld1"}, "DetailType": "dt", "Source": "some.source"},
        {"Detail": {"Message": "HelloWorld"}, "DetailType": "dt"},
    ]});
    let call = events_step_functions_call_detailed(&mut eb, PutEventsStyle::Optimized, &params, &sfn_ctx());
    let (e, c) = call.outcome.unwrap_err();
    assert_eq!(e, "EventBridge.FailedEntry");
    let cause: Value = serde_json::from_str(&c).unwrap();
    assert_eq!(cause["FailedEntryCount"], 1);
    assert!(cause["Entries"][0]["EventId"].is_string());
    assert_eq!(cause["Entries"][1], json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."}));
    assert_eq!(call.deliveries.len(), 1);
    assert_eq!(call.deliveries[0].input, json!({"Message": "HelloWorld1"}));
}

#[test]
fn put_events_aws_sdk() {
    let mut eb = bus();
    let params = json!({"Entries": [
        {"Detail": "{\"a\":1}", "DetailType": "dt", "Source": "some.source"},
        {"Detail": "\"s\"", "DetailType": "dt", "Source": "some.source"},
    ]});
    let (out, deliveries) = events_step_functions_call(&mut eb, PutEventsStyle::AwsSdk, &params, &sfn_ctx()).unwrap();
    assert_eq!(out["FailedEntryCount"], 1);
    assert_eq!(out["Entries"][1]["ErrorCode"], "MalformedDetail");
    assert_eq!(deliveries.len(), 1);
    // No ARNs appended by the aws-sdk integration.
    assert_eq!(deliveries[0].event["resources"], json!([]));
    // Whole-call validation failure.
    let (e, c) = events_step_functions_call(&mut eb, PutEventsStyle::AwsSdk, &json!({"Entries": []}), &sfn_ctx()).unwrap_err();
    assert_eq!(e, "EventBridge.EventBridgeException");
    assert!(c.ends_with("(Service: EventBridge, Status Code: 400, Request ID: REQ123)"));
    let (e, _) = events_step_functions_call(&mut eb, PutEventsStyle::Optimized, &json!({}), &sfn_ctx()).unwrap_err();
    assert_eq!(e, "EventBridge.AmazonEventBridgeException");
}

#[test]
fn never_panics_on_odd_parameters() {
    let mut s3 = s3();
    let odd = [json!(null), json!([]), json!("x"), json!({"Bucket": null}), json!({"Bucket": "bucket-name", "Key": ""}),
               json!({"Bucket": "bucket-name", "Key": "k", "Range": 5}), json!({"Bucket": "bucket-name", "Key": "k", "MaxKeys": "x"}),
               json!({"Bucket": "bucket-name", "Delete": {"Objects": [{"Key": 1}]}}), json!({"Bucket": "bucket-name", "Delete": 3}),
               json!({"Bucket": "bucket-name", "MaxKeys": -5}), json!({"Bucket": "bucket-name", "ContinuationToken": "%%%"})];
    for action in S3_ACTIONS {
        for p in &odd {
            let _ = s3_step_functions_call(&mut s3, action, p, &ctx());
        }
    }
    let mut eb = bus();
    for p in [json!(null), json!({"Entries": 3}), json!({"Entries": [1, "x", null]}), json!({"Entries": [{"Time": "bad"}]}),
              json!({"Entries": [{"Resources": "x"}]})] {
        for style in [PutEventsStyle::Optimized, PutEventsStyle::AwsSdk] {
            let _ = events_step_functions_call(&mut eb, style, &p, &ctx());
        }
    }
}
