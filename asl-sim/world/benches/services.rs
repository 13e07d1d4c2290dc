//! Services throughput: a 10,000-iteration Map whose iterations each write one
//! DynamoDB item through the optimized integration, in-process against the
//! embedded world. `cargo bench -p asl-sim --bench services`.

use asl_core::engine::{self, ExecutionConfig, VirtualClock};
use asl_world::World;
use serde_json::json;
use std::time::Instant;

fn main() {
    let def_src = r#"{
      "StartAt": "Items",
      "States": {
        "Items": {"Type": "Pass", "Parameters": {"ids.$": "States.ArrayRange(1, 1000, 1)"}, "Next": "Tens"},
        "Tens": {"Type": "Map", "ItemsPath": "$.ids", "ItemSelector": {"hi.$": "$$.Map.Item.Value", "ids.$": "States.ArrayRange(1, 10, 1)"},
          "ItemProcessor": {"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.ids", "ItemSelector": {"hi.$": "$.hi", "lo.$": "$$.Map.Item.Value"},
              "ItemProcessor": {"StartAt": "Put", "States": {
                "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                  "Parameters": {"TableName": "bench", "Item": {"pk": {"S.$": "States.Format('{}-{}', $.hi, $.lo)"}, "n": {"N": "1"}}},
                  "ResultPath": null, "End": true}}},
              "ResultPath": null, "End": true}}},
          "ResultPath": null, "End": true}
      }
    }"#;
    let (def, diags) = asl_core::load_definition(def_src, &Default::default());
    assert!(diags.is_empty(), "{diags:?}");
    let def = def.expect("definition");
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut world = World::new("us-east-1", "123456789012");
        world
            .load_fixture(&json!({"dynamodb": {"tables": [{"TableName": "bench",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}]}}))
            .expect("fixture");
        let mut clock = VirtualClock { now: 0 };
        // Express: the history quota of a Standard execution would stop 10,000 iterations,
        // exactly as AWS would (a Distributed Map is the AWS answer at that size).
        let config = ExecutionConfig { execution_type: engine::ExecutionType::Express, ..Default::default() };
        let t = Instant::now();
        let out = engine::run(&def, json!({}), &config, &mut world, &mut clock, false);
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(out.status, engine::Status::Succeeded, "{:?} {:?}", out.end.error, out.end.cause);
        let count = world.dynamodb.call("Scan", &json!({"TableName": "bench", "Select": "COUNT"})).expect("scan")["Count"].clone();
        assert_eq!(count, json!(10_000));
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!("map-10000-putItem: {:.1} ms per execution (median of {}), {:.0} items/s", times[2] * 1e3, times.len(), 10_000.0 / times[2]);
}
