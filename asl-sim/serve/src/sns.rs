//! SNS on the AWS port: the query protocol (form-encoded `Action=`, XML answers), which is
//! what the SDKs and the AWS CLI speak to SNS. Deliveries to queues happen in the world,
//! to functions on a thread of their own (without the world's lock); HTTP(S) deliveries
//! go to the outbox (`sns_http`), which POSTs and retries them off every lock. The
//! SubscribeURL and UnsubscribeURL links of the envelopes work unsigned, as on AWS
//! (`is_unsigned_link`).

use super::http::Resp;
use super::query::{self, el, indexed, pairs_to_map, text};
use super::State;
use serde_json::{Map, Value};
use std::sync::Arc;

const NS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

pub const ACTIONS: &[&str] = &[
    "CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes", "Subscribe", "ConfirmSubscription",
    "Unsubscribe", "ListSubscriptions", "ListSubscriptionsByTopic", "GetSubscriptionAttributes", "SetSubscriptionAttributes",
    "Publish", "PublishBatch", "TagResource", "UntagResource", "ListTagsForResource",
];

/// The query form as the crate's request: `Attributes.entry.N.key/value` maps,
/// `Tags.member.N` and `TagKeys.member.N` lists, `MessageAttributes.entry.N.Name/Value`,
/// `PublishBatchRequestEntries.member.N` entries.
fn from_form(t: &Map<String, Value>) -> Value {
    let mut p = Map::new();
    for (k, v) in t {
        let converted = match k.as_str() {
            "Action" | "Version" => continue,
            "Attributes" => v.get("entry").map_or(Value::Object(Map::new()), |e| pairs_to_map(e, "key", "value")),
            "MessageAttributes" => v.get("entry").map_or(Value::Object(Map::new()), |e| pairs_to_map(e, "Name", "Value")),
            "Tags" | "TagKeys" => Value::Array(v.get("member").map(indexed).unwrap_or_default()),
            "PublishBatchRequestEntries" => Value::Array(
                v.get("member")
                    .map(indexed)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| match e {
                        Value::Object(m) => from_form(&m),
                        other => other,
                    })
                    .collect(),
            ),
            "ReturnSubscriptionArn" => Value::Bool(v == "true"),
            _ => v.clone(),
        };
        p.insert(k.clone(), converted);
    }
    Value::Object(p)
}

/// JSON results as SNS's XML: lists as `<member>`, maps as `<entry><key/><value/></entry>`.
fn to_xml(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| match x {
                Value::Array(a) => format!("<{k}>{}</{k}>", a.iter().map(|e| format!("<member>{}</member>", to_xml(e))).collect::<String>()),
                Value::Object(om) if k == "Attributes" => format!(
                    "<{k}>{}</{k}>",
                    om.iter().map(|(ek, ev)| format!("<entry>{}{}</entry>", el("key", ek), el("value", &text(ev)))).collect::<String>()
                ),
                Value::Object(_) => format!("<{k}>{}</{k}>", to_xml(x)),
                other => el(k, &text(other)),
            })
            .collect(),
        other => asl_aws::xml::escape(&text(other)),
    }
}

pub fn handle_query(state: &Arc<State>, pairs: &[(String, String)]) -> Resp {
    let request_id = state.uuid();
    let t = query::tree(pairs);
    let op = t.get("Action").map(text).unwrap_or_default();
    let p = from_form(&t);
    let result = if ACTIONS.contains(&op.as_str()) {
        let now = crate::clock::wall_millis();
        let mut world = state.world.lock();
        match world.sns.call(&op, &p, now) {
            Ok((v, deliveries)) => {
                world.deliver_sns(deliveries, now);
                let http = world.take_http_deliveries();
                let invocations = world.take_sns_invocations();
                drop(world);
                if let Some((sink, deliveries)) = http {
                    sink(deliveries);
                }
                invoke_functions(invocations);
                Ok(v)
            }
            Err(e) => Err(e),
        }
    } else {
        Err(asl_sns::SnsError::new("InvalidAction", format!("The action {op} is not valid for this endpoint."), 400))
    };
    match result {
        Ok(v) => Resp::new(200).header("Content-Type", "text/xml").body(query::response(NS, &op, &to_xml(&v), &request_id)),
        Err(e) => Resp::new(e.status)
            .header("Content-Type", "text/xml")
            .body(query::error(NS, e.sender_fault, &e.code, &e.message, &request_id)),
    }
}

/// Invokes subscribed functions on a background thread, in publish order: SNS invokes
/// asynchronously, so Publish answers before the function runs, and the function may call
/// serve back (it runs without the world's lock).
fn invoke_functions(invocations: Vec<asl_world::world::SnsInvocation>) {
    if invocations.is_empty() {
        return;
    }
    std::thread::spawn(move || invocations.iter().for_each(asl_world::world::SnsInvocation::invoke));
}

/// The template's topics and subscriptions, created unless restored from the data dir (a
/// restored subscription is kept as it was).
pub fn create_template_topics(
    world: &mut crate::world::World,
    topics: &[crate::template::TopicDef],
    subscriptions: &[crate::template::SubscriptionDef],
    now: i64,
) -> Result<(), String> {
    let existing = world.sns.topic_arns();
    for t in topics.iter().filter(|t| !existing.contains(&t.arn)) {
        world.sns.call("CreateTopic", &t.request, now).map_err(|e| format!("{}: CreateTopic: {}: {}", t.logical, e.code, e.message))?;
    }
    for s in subscriptions {
        let topic = s.request["TopicArn"].as_str().unwrap_or_default();
        if existing.iter().any(|t| t == topic) {
            continue;
        }
        let (_, deliveries) =
            world.sns.call("Subscribe", &s.request, now).map_err(|e| format!("{}: Subscribe: {}: {}", s.origin, e.code, e.message))?;
        // An http(s) subscription's confirmation request.
        world.deliver_sns(deliveries, now);
    }
    if let Some((sink, deliveries)) = world.take_http_deliveries() {
        sink(deliveries);
    }
    Ok(())
}

/// A GET of an envelope's SubscribeURL (`?Action=ConfirmSubscription&TopicArn=..&Token=..`)
/// or UnsubscribeURL (`?Action=Unsubscribe&SubscriptionArn=..`): an endpoint follows these
/// links without AWS credentials, so SNS answers them unsigned
/// (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html). Only
/// without any signature: a signed request is verified as usual.
pub fn is_unsigned_link(method: &str, query: &str, authorization: Option<&str>) -> bool {
    if method != "GET" || authorization.is_some() || query.contains("X-Amz-Signature=") {
        return false;
    }
    let pairs = query::form_pairs(query.as_bytes());
    let action = pairs.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.as_str());
    matches!(action, Some("ConfirmSubscription") | Some("Unsubscribe"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_unsigned_gets_of_the_two_links_skip_signing() {
        assert!(is_unsigned_link("GET", "Action=ConfirmSubscription&TopicArn=t&Token=x", None));
        assert!(is_unsigned_link("GET", "Action=Unsubscribe&SubscriptionArn=s", None));
        assert!(!is_unsigned_link("POST", "Action=ConfirmSubscription&TopicArn=t&Token=x", None));
        assert!(!is_unsigned_link("GET", "Action=Publish&TopicArn=t&Message=m", None));
        assert!(!is_unsigned_link("GET", "Action=ConfirmSubscription&Token=x", Some("AWS4-HMAC-SHA256 ...")));
        assert!(!is_unsigned_link("GET", "Action=Unsubscribe&SubscriptionArn=s&X-Amz-Signature=00", None));
    }

    #[test]
    fn query_forms_and_xml() {
        let pairs = query::form_pairs(
            b"Action=Subscribe&TopicArn=t&Protocol=sqs&Endpoint=e&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true&ReturnSubscriptionArn=true",
        );
        assert_eq!(
            from_form(&query::tree(&pairs)),
            json!({"Attributes": {"RawMessageDelivery": "true"}, "Endpoint": "e", "Protocol": "sqs", "ReturnSubscriptionArn": true, "TopicArn": "t"})
        );
        let pairs = query::form_pairs(
            b"Action=Publish&TopicArn=t&Message=m&MessageAttributes.entry.1.Name=k&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v",
        );
        assert_eq!(
            from_form(&query::tree(&pairs))["MessageAttributes"],
            json!({"k": {"DataType": "String", "StringValue": "v"}})
        );
        assert_eq!(
            to_xml(&json!({"Topics": [{"TopicArn": "a"}], "NextToken": "n"})),
            "<Topics><member><TopicArn>a</TopicArn></member></Topics><NextToken>n</NextToken>"
        );
        assert_eq!(
            to_xml(&json!({"Attributes": {"Owner": "1"}})),
            "<Attributes><entry><key>Owner</key><value>1</value></entry></Attributes>"
        );
    }
}
