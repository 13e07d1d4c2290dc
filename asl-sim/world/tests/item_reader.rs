//! The world's ItemReader is asl-item-reader's over the embedded S3: formats the old
//! in-world reader lacked (JSONL is shared, MANIFEST and listObjectsV2's item shape) work
//! from a Distributed Map ("ItemReader (Map)": https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).

use asl_core::engine::{self, ExecutionConfig, VirtualClock};
use asl_world::World;
use serde_json::{json, Value};

fn world_with(objects: &[(&str, &str)]) -> World {
    let mut w = World::new("us-east-1", "123456789012");
    let ctx = asl_aws::CallContext::new(1_668_699_881_000, 1);
    w.s3.create_bucket("data", &ctx).unwrap();
    for (key, body) in objects {
        let input = asl_s3::s3::PutObjectInput { bucket: "data".into(), key: key.to_string(), body: body.as_bytes().to_vec(), content_type: None, metadata: Default::default(), tags: Default::default() };
        w.s3.put_object(input, &ctx).unwrap();
    }
    w
}

fn map_over(world: &mut World, reader: Value) -> engine::Outcome {
    let src = json!({"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let (def, diags) = asl_core::load_definition(&src.to_string(), &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    let mut clock = VirtualClock { now: 0 };
    engine::run(&def.unwrap(), json!({}), &ExecutionConfig::default(), world, &mut clock, false)
}

#[test]
fn listing_items_have_the_documented_shape() {
    let mut w = world_with(&[("in/a.txt", "hello"), ("in/b.txt", "x"), ("other", "")]);
    let out = map_over(&mut w, json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "data", "Prefix": "in/"}}));
    assert_eq!(out.end.error, None, "{:?}", out.end.cause);
    let items = out.end.output.unwrap();
    // {"Etag": "\"...\"", "Key": ..., "LastModified": epoch seconds, "Size": ..., "StorageClass": "STANDARD"}
    assert_eq!(items[0]["Key"], json!("in/a.txt"));
    assert_eq!(items[0]["Size"], json!(5));
    assert_eq!(items[0]["LastModified"], json!(1_668_699_881));
    assert_eq!(items[0]["StorageClass"], json!("STANDARD"));
    assert!(items[0]["Etag"].as_str().unwrap().starts_with('"'), "{items}");
    assert_eq!(items.as_array().unwrap().len(), 2);
}

#[test]
fn jsonl_and_manifest_inputs() {
    let manifest = json!({"sourceBucket": "data", "destinationBucket": "arn:aws:s3:::data", "fileFormat": "CSV",
                          "fileSchema": "Bucket, Key, Size", "files": [{"key": "inv/data.csv"}]});
    let mut w = world_with(&[("rows.jsonl", "{\"n\":1}\n\n{\"n\":2}\n"), ("inv/manifest.json", &manifest.to_string()), ("inv/data.csv", "data,k1,3\ndata,k2,4\n")]);
    let out = map_over(&mut w, json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "data", "Key": "rows.jsonl"}}));
    assert_eq!(out.end.output, Some(json!([{"n": 1}, {"n": 2}])), "{:?}", out.end.cause);
    let out = map_over(&mut w, json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"}, "Parameters": {"Bucket": "data", "Key": "inv/manifest.json"}}));
    assert_eq!(out.end.output, Some(json!([{"Bucket": "data", "Key": "k1", "Size": "3"}, {"Bucket": "data", "Key": "k2", "Size": "4"}])), "{:?}", out.end.cause);
    let out = map_over(&mut w, json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "data", "Key": "missing"}}));
    assert_eq!(out.end.error.as_deref(), Some("States.ItemReaderFailed"), "{:?}", out.end.cause);
}
