//! Data-driven SNS behaviour, each case citing its source (an AWS documentation page or a
//! record of aws-recorded/errors.jsonl):
//! - `api.json`: scenarios of API calls against one fresh `Sns` (the step format of the
//!   SQS crate's cases, plus `"deliveries"`: the deliveries the call must produce, in order,
//!   each matched by subset; `body_json` parses the body, `body_keys` checks its member
//!   order, `save_delivery` keeps values of the first delivery's parsed body),
//! - `filter_errors.json`: policies SNS refuses, with the exact message (via Subscribe or
//!   SetSubscriptionAttributes),
//! - `filter_match.json`: policies and the messages they match or not.

use asl_cases::{case_list, contains, run_scenario, save, substitute};
use asl_sns::{step_functions_call, Delivery, IntegrationStyle, Sns};
use serde_json::{json, Value};

const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:t";

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "subscription_arn": d.subscription_arn, "protocol": d.protocol, "endpoint": d.endpoint, "body": d.body,
        "sqs_message_attributes": d.sqs_message_attributes, "message_group_id": d.message_group_id,
        "message_deduplication_id": d.message_deduplication_id,
        "headers": d.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

fn check_delivery(d: &Delivery, want: &Value, ctx: &str) -> Result<(), String> {
    let mut plain = want.clone();
    let obj = plain.as_object_mut().ok_or(format!("{ctx}: a delivery expectation is an object"))?;
    let body_json = obj.remove("body_json");
    let body_keys = obj.remove("body_keys");
    contains(&delivery_json(d), &plain, "").map_err(|m| format!("{ctx}: {m}"))?;
    if body_json.is_some() || body_keys.is_some() {
        let parsed: Value = serde_json::from_str(&d.body).map_err(|e| format!("{ctx}: body is not JSON ({e}): {}", d.body))?;
        if let Some(bj) = body_json {
            contains(&parsed, &bj, "body").map_err(|m| format!("{ctx}: {m}"))?;
        }
        if let Some(Value::Array(keys)) = body_keys {
            let got: Vec<Value> = parsed.as_object().map(|m| m.keys().map(|k| json!(k)).collect()).unwrap_or_default();
            if got != *keys {
                return Err(format!("{ctx}: body members {got:?}, expected {keys:?}"));
            }
        }
    }
    Ok(())
}

/// One `api.json` scenario against a fresh `Sns`: the shared runner does the steps; the
/// deliveries each call produced are checked here.
fn run(sc: &Value) -> Result<(), String> {
    let mut sns = Sns::new("us-east-1", "111122223333", 3);
    run_scenario(
        "api.json",
        sc,
        |s| {
            let style = |optimized| if optimized { IntegrationStyle::Optimized } else { IntegrationStyle::AwsSdk };
            s.answer(
                &mut sns,
                |svc, optimized, action| step_functions_call(svc, style(optimized), action, &s.params, s.now_ms),
                |svc, action| svc.call(action, &s.params, s.now_ms).map_err(|e| json!({"code": e.code, "message": e.message, "status": e.status})),
            )
        },
        |s, deliveries: Vec<Delivery>, vars| {
            let ctx = s.ctx.as_str();
            if let Some(Value::Array(want)) = s.step.get("deliveries").map(|d| substitute(d, vars)) {
                if want.len() != deliveries.len() {
                    let got: Vec<Value> = deliveries.iter().map(delivery_json).collect();
                    return Err(format!("{ctx}: {} deliveries, expected {}: {got:?}", deliveries.len(), want.len()));
                }
                for (j, (d, w)) in deliveries.iter().zip(&want).enumerate() {
                    check_delivery(d, w, &format!("{ctx}: delivery {j}"))?;
                }
            }
            if let Some(sd) = s.step.get("save_delivery") {
                let first = deliveries.first().ok_or(format!("{ctx}: no delivery"))?;
                let body: Value = serde_json::from_str(&first.body).unwrap_or(Value::Null);
                save(Some(sd), &body, vars, ctx)?;
            }
            Ok(())
        },
    )
}

fn load(name: &str) -> Vec<Value> {
    case_list(env!("CARGO_MANIFEST_DIR"), name)
}

#[test]
fn api_scenarios() {
    let cases = load("api.json");
    let failures: Vec<String> = cases.iter().filter_map(|sc| run(sc).err()).collect();
    assert!(cases.len() >= 10);
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn refused_filter_policies() {
    let cases = load("filter_errors.json");
    let mut failures = Vec::new();
    for c in &cases {
        assert!(!c["source"].as_str().unwrap_or("").is_empty());
        let mut sns = Sns::new("us-east-1", "111122223333", 3);
        sns.call("CreateTopic", &json!({"Name": "t"}), 0).unwrap();
        let policy = c["policy"].as_str().unwrap();
        let result = if c["via"] == "set" {
            let (sub, _) = sns
                .call("Subscribe", &json!({"TopicArn": TOPIC, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:111122223333:q"}), 0)
                .unwrap();
            sns.call(
                "SetSubscriptionAttributes",
                &json!({"SubscriptionArn": sub["SubscriptionArn"], "AttributeName": "FilterPolicy", "AttributeValue": policy}),
                0,
            )
        } else {
            sns.call(
                "Subscribe",
                &json!({"TopicArn": TOPIC, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:111122223333:q", "Attributes": {"FilterPolicy": policy}}),
                0,
            )
        };
        match result {
            Err(e) if e.code == c["code"] && e.message == c["message"] => {}
            Err(e) => failures.push(format!("{}\n  policy {policy}\n  got      {:?}\n  expected {:?}", c["source"], e.message, c["message"].as_str().unwrap())),
            Ok(_) => failures.push(format!("{}: policy {policy} was accepted", c["source"])),
        }
    }
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn filter_policy_matching() {
    let cases = load("filter_match.json");
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in &cases {
        let mut sns = Sns::new("us-east-1", "111122223333", 3);
        sns.call("CreateTopic", &json!({"Name": "t"}), 0).unwrap();
        let mut attrs = json!({"FilterPolicy": c["policy"].to_string()});
        if let Some(s) = c.get("scope") {
            attrs["FilterPolicyScope"] = s.clone();
        }
        sns.call("Subscribe", &json!({"TopicArn": TOPIC, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:111122223333:q", "Attributes": attrs}), 0)
            .unwrap_or_else(|e| panic!("{}: {e}", c["source"]));
        for m in c["messages"].as_array().unwrap() {
            checked += 1;
            let message = match &m["body"] {
                Value::String(s) => s.clone(),
                Value::Null => "m".to_string(),
                other => other.to_string(),
            };
            let mut p = json!({"TopicArn": TOPIC, "Message": message});
            if let Some(a) = m.get("attributes").filter(|a| a.as_object().is_some_and(|o| !o.is_empty())) {
                p["MessageAttributes"] = a.clone();
            }
            let (_, deliveries) = sns.call("Publish", &p, 0).unwrap_or_else(|e| panic!("{}: {e}", c["source"]));
            let matched = !deliveries.is_empty();
            if matched != m["match"].as_bool().unwrap() {
                failures.push(format!("{}: policy {} on {m}: matched = {matched}", c["source"], c["policy"]));
            }
        }
    }
    assert!(checked >= 30, "only {checked} messages checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
