//! No panics on any input: random JSON through the pattern compiler and matcher, the
//! Step Functions layer, PutEvents, Range headers and persistence.

#![allow(unknown_lints, clippy::manual_is_multiple_of)] // the workspace MSRV (1.85) predates is_multiple_of

use asl_eventbridge::events::{entry_from_json, EventBridge, PutRuleInput, Target};
use asl_eventbridge::pattern::Pattern;
use asl_s3::s3::{parse_range, S3};
use asl_s3::sfn::S3_ACTIONS;
use asl_aws::CallContext;
use asl_eventbridge::{events_step_functions_call, PutEventsStyle};
use asl_s3::s3_step_functions_call;
use serde_json::{json, Map, Value};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() as usize) % xs.len()]
    }
}

const KEYS: &[&str] = &["source", "detail", "a", "b", "a.b", "$or", "prefix", "suffix", "anything-but", "numeric",
    "exists", "equals-ignore-case", "wildcard", "cidr", "Bucket", "Key", "Body", "Range", "Prefix", "Delimiter",
    "MaxKeys", "ContinuationToken", "CopySource", "Delete", "Objects", "UploadId", "PartNumber", "MultipartUpload",
    "Parts", "ETag", "Entries", "Detail", "DetailType", "Source", "EventBusName", "Time", "Resources", "Quiet",
    "MetadataDirective", "Metadata", "ContentType", "StartAfter"];
const STRINGS: &[&str] = &["", "x", "bucket", "k/", "a/b", ">", "<=", "=", "*", "a**b", "\\", "10.0.0.0/8", "::1/200",
    "bytes=0-1", "bytes=-0", "bytes=5-", "{}", "{\"a\":1}", "\"s\"", "[1]", "2021-01-01T00:00:00Z", "é", "bucket/k",
    "%zz", "/bucket/%E9", "REPLACE", "COPY", "aws.s3"];

fn value(r: &mut Rng, depth: u32) -> Value {
    match r.next() % if depth > 3 { 5 } else { 8 } {
        0 => Value::Null,
        1 => Value::Bool(r.next() % 2 == 0),
        2 => json!((r.next() as i64 % 2000) - 1000),
        3 => json!((r.next() % 1000) as f64 / 7.0),
        4 => json!(*r.pick(STRINGS)),
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..(r.next() % 4) {
                m.insert(r.pick(KEYS).to_string(), value(r, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array((0..(r.next() % 4)).map(|_| value(r, depth + 1)).collect()),
    }
}

/// Mostly well-formed patterns: objects of fields whose leaves are arrays of values or
/// operators, with some noise.
fn pattern(r: &mut Rng, depth: u32) -> Value {
    let mut m = Map::new();
    for _ in 0..(1 + r.next() % 3) {
        let k = r.pick(&["source", "detail", "a", "b", "a.b", "$or"]).to_string();
        let v = if k == "$or" {
            Value::Array((0..(1 + r.next() % 3)).map(|_| pattern(r, depth + 1)).collect())
        } else if depth < 3 && r.next() % 3 == 0 {
            pattern(r, depth + 1)
        } else {
            Value::Array((0..(1 + r.next() % 3)).map(|_| leaf(r)).collect())
        };
        m.insert(k, v);
    }
    Value::Object(m)
}

fn leaf(r: &mut Rng) -> Value {
    let s = *r.pick(STRINGS);
    match r.next() % 12 {
        0 => json!({"prefix": s}),
        1 => json!({"suffix": {"equals-ignore-case": s}}),
        2 => json!({"anything-but": [s, "y"]}),
        3 => json!({"anything-but": {"prefix": s}}),
        4 => json!({"numeric": [">", (r.next() % 100) as i64, "<=", 100 + (r.next() % 100) as i64]}),
        5 => json!({"exists": r.next() % 2 == 0}),
        6 => json!({"equals-ignore-case": s}),
        7 => json!({"wildcard": s}),
        8 => json!({"cidr": s}),
        9 => json!({"anything-but": {"wildcard": s}}),
        _ => value(r, 3),
    }
}

#[test]
fn random_patterns_and_events() {
    let mut r = Rng(1);
    let mut compiled = 0;
    for i in 0..20_000 {
        let p = if i % 4 == 0 { value(&mut r, 0) } else { pattern(&mut r, 0) };
        let e = value(&mut r, 0);
        if let Ok(pat) = Pattern::from_value(&p) {
            compiled += 1;
            let _ = pat.matches(&e);
        }
        let _ = Pattern::parse(&p.to_string());
    }
    assert!(compiled > 100, "the generator should produce some valid patterns ({compiled})");
}

#[test]
fn random_step_functions_calls() {
    let mut r = Rng(2);
    let ctx = CallContext::new(1_700_000_000_000, 5);
    let mut s3 = S3::new();
    s3.create_bucket("bucket", &ctx).unwrap();
    s3.set_eventbridge("bucket", true).unwrap();
    let mut eb = EventBridge::new("111122223333", "us-east-1");
    eb.put_rule(&PutRuleInput { name: "r".into(), event_pattern: Some(r#"{"source":[{"prefix":""}]}"#.into()), ..Default::default() }).unwrap();
    eb.put_targets(None, "r", &[Target { id: "t".into(), arn: "arn:t".into(), input_path: Some("$.detail.a".into()), ..Default::default() }]).unwrap();
    for i in 0..20_000 {
        let mut p = value(&mut r, 1);
        if let Value::Object(m) = &mut p {
            if i % 2 == 0 {
                m.insert("Bucket".into(), json!("bucket"));
            }
        }
        let action = *r.pick(S3_ACTIONS);
        if let Ok((_, events)) = s3_step_functions_call(&mut s3, action, &p, &ctx) {
            for e in events {
                let _ = eb.put_service_event(None, &e, &ctx);
            }
        }
        let style = if i % 2 == 0 { PutEventsStyle::Optimized } else { PutEventsStyle::AwsSdk };
        let _ = events_step_functions_call(&mut eb, style, &json!({"Entries": [p.clone(), p]}), &ctx);
    }
    let j = s3.to_json();
    assert_eq!(S3::from_json(&j).unwrap().to_json(), j);
    let j = eb.to_json();
    assert_eq!(EventBridge::from_json(&j).unwrap().to_json(), j);
}

#[test]
fn random_ranges_and_entries() {
    let mut r = Rng(3);
    let alphabet = b"bytes=-0123456789, x";
    for _ in 0..50_000 {
        let len = (r.next() % 14) as usize;
        let h: String = (0..len).map(|_| *r.pick(alphabet) as char).collect();
        let size = r.next() % 20;
        if let Ok(Some((a, b))) = parse_range(&h, size) {
            assert!(a <= b && b < size, "{h} / {size}");
        }
    }
    for _ in 0..5_000 {
        let _ = entry_from_json(&value(&mut r, 0), r.next() % 2 == 0);
    }
}
