//! SNS on the AWS port: the query protocol (form-encoded `Action=`, XML answers), which is
//! what the SDKs and the AWS CLI speak to SNS. Deliveries to queues happen in the world,
//! to functions on a thread of their own (without the world's lock); HTTP(S) deliveries
//! are POSTed by a worker thread (127.0.0.1 and plain http only: serve makes no TLS
//! connections).

use super::http::Resp;
use super::query::{self, el, indexed, pairs_to_map, text};
use super::State;
use asl_sns::Delivery;
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
                let outbound = std::mem::take(&mut world.pending_sns);
                let invocations = world.take_sns_invocations();
                drop(world);
                post_http(outbound);
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

/// POSTs HTTP deliveries to loopback endpoints on a background thread (SNS delivers
/// asynchronously); anything else is dropped, as serve reaches only this machine.
fn post_http(deliveries: Vec<Delivery>) {
    let deliveries: Vec<Delivery> = deliveries.into_iter().filter(|d| d.protocol == "http").collect();
    if deliveries.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        for d in deliveries {
            let _ = post(&d);
        }
    });
}

fn post(d: &Delivery) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let rest = d.endpoint.strip_prefix("http://").unwrap_or("");
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
        return Ok(());
    }
    let addr = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))?;
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n", d.body.len());
    for (k, v) in &d.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(d.body.as_bytes())?;
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    Ok(())
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
