//! Times a Query over 100,000 items of one partition, paged 1 MB at a time.
//! Run: cargo run --release -p asl-dynamodb --example query_bench

use asl_dynamodb::Database;
use serde_json::json;
use std::time::{Duration, Instant};

/// CPU time of this process (user + system) from /proc/self/stat, Linux only;
/// the wall clock is misleading on a loaded machine.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut db = Database::default();
    db.call(
        "CreateTable",
        &json!({
            "TableName": "Bench",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    let t = Instant::now();
    for i in 0..n {
        db.call(
            "PutItem",
            &json!({"TableName": "Bench", "Item": {
                "pk": {"S": "partition"}, "sk": {"N": i.to_string()},
                "name": {"S": format!("file-{i:06}.jpg")}, "size": {"N": (i * 37 % 100_000).to_string()},
                "etag": {"S": "0123456789abcdef0123456789abcdef"}, "tags": {"SS": ["a", "b"]}
            }}),
        )
        .unwrap();
    }
    let load = t.elapsed();

    let mut best = Duration::MAX;
    let mut best_cpu = Duration::MAX;
    let mut pages = 0;
    for _run in 0..5 {
    let t = Instant::now();
    let c0 = cpu_time();
    pages = 0;
    let mut items = 0;
    let mut start: Option<serde_json::Value> = None;
    loop {
        let mut req = json!({"TableName": "Bench", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "partition"}}});
        if let Some(s) = start.take() {
            req["ExclusiveStartKey"] = s;
        }
        let r = db.call("Query", &req).unwrap();
        pages += 1;
        items += r["Count"].as_u64().unwrap() as usize;
        match r.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    best = best.min(t.elapsed());
    if let (Some(a), Some(b)) = (c0, cpu_time()) {
        best_cpu = best_cpu.min(b - a);
    }
    assert_eq!(items, n);
    }
    let query = best;
    println!("loaded {n} items in {load:?}");
    println!("query of {n} items in {pages} pages (1 MB each) took {query:?} wall, {best_cpu:?} CPU (best of 5 runs)");
}
