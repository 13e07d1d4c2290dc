//! HTTP(S) delivery retries, data-driven (`tests/cases/delivery_policy.json`, each case citing
//! the AWS page it follows): the delays a delivery policy gives, the content type, and which
//! answers are failures.

use asl_sns::delivery::{attempt_failed, plan};
use serde_json::Value;

fn cases() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/delivery_policy.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("delivery_policy.json")).expect("valid JSON")
}

fn policy_text(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

#[test]
fn delivery_policies_give_the_documented_retries() {
    let all = cases();
    let plans = all["plans"].as_array().unwrap();
    assert!(plans.len() >= 8);
    for c in plans {
        let name = c["name"].as_str().unwrap();
        let p = plan(policy_text(&c["topic"]).as_deref(), policy_text(&c["subscription"]).as_deref());
        let delays = p.retry.delays();
        if let Some(expected) = c.get("delays") {
            let expected: Vec<u64> = serde_json::from_value(expected.clone()).unwrap();
            assert_eq!(delays, expected, "{name}");
        }
        if let Some(prefix) = c.get("delays_prefix") {
            let prefix: Vec<u64> = serde_json::from_value(prefix.clone()).unwrap();
            assert_eq!(delays[..prefix.len()], prefix[..], "{name}");
            let backoff: Vec<u64> = serde_json::from_value(c["backoff_phase"].clone()).unwrap();
            assert_eq!(delays[prefix.len()..prefix.len() + backoff.len()], backoff[..], "{name}: the backoff phase");
            assert_eq!(delays.len() as u64, c["count"].as_u64().unwrap(), "{name}: {delays:?}");
            assert_eq!(*delays.last().unwrap(), c["last"].as_u64().unwrap(), "{name}");
            assert!(delays.iter().sum::<u64>() <= 3600, "{name}");
        }
        if let Some(ct) = c.get("content_type") {
            assert_eq!(p.content_type, ct.as_str().unwrap(), "{name}");
        }
    }
}

#[test]
fn which_answers_are_failed_deliveries() {
    for c in cases()["attempts"].as_array().unwrap() {
        let status = c["status"].as_u64().map(|s| s as u16);
        assert_eq!(attempt_failed(status), c["failed"].as_bool().unwrap(), "{c}");
    }
}
