//! SQS on the AWS port, in both protocols its clients speak: the JSON protocol
//! (`X-Amz-Target: AmazonSQS.<Action>`, `application/x-amz-json-1.0`; current SDKs and
//! botocore) and the query protocol (form-encoded `Action=`, XML answers; the AWS CLI v1 and
//! older SDKs). ReceiveMessage long-polls here: the crate answers at once, this loop waits
//! for a message or `WaitTimeSeconds`.

use super::http::{Req, Resp};
use super::query::{self, el, indexed, pairs_to_map, text};
use super::State;
use crate::template;
use asl_sqs::SqsError;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

const JSON10: &str = "application/x-amz-json-1.0";
const NS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// Query actions SQS has (to route an unsigned or ambiguous form to SQS rather than SNS).
pub const ACTIONS: &[&str] = &[
    "CreateQueue", "DeleteQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes", "PurgeQueue",
    "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch", "TagQueue", "UntagQueue", "ListQueueTags", "ListDeadLetterSourceQueues",
];

/// One call, long-polling ReceiveMessage until a message arrives, the wait ends, or serve
/// shuts down.
fn run(state: &Arc<State>, op: &str, p: &Value) -> Result<Value, SqsError> {
    let now = crate::clock::wall_millis;
    if op != "ReceiveMessage" {
        return state.world.lock().sqs.call(op, p, now());
    }
    let start = now();
    loop {
        let r = state.world.lock().sqs.receive(p, now())?;
        let deadline = start + i64::from(r.wait_seconds) * 1000;
        let t = now();
        if r.count > 0 || t >= deadline || state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(r.response);
        }
        // Poll: a send from another client or a delivery may arrive at any time.
        let until = r.next_visible_ms.map_or(deadline, |v| v.min(deadline));
        std::thread::sleep(Duration::from_millis((until - t).clamp(1, 50) as u64));
    }
}

pub fn handle_json(state: &Arc<State>, op: &str, req: &Req) -> Resp {
    let request_id = state.uuid();
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return json_error(&SqsError::serialization("The request body is not valid JSON"), &request_id),
        }
    };
    match run(state, op, &body) {
        Ok(v) => Resp::json(200, JSON10, &v).header("x-amzn-RequestId", request_id),
        Err(e) => json_error(&e, &request_id),
    }
}

fn json_error(e: &SqsError, request_id: &str) -> Resp {
    Resp::json(e.status, JSON10, &e.json_body())
        .header("x-amzn-query-error", e.query_error_header())
        .header("x-amzn-RequestId", request_id)
}

/// The query form as the JSON protocol's request.
fn from_form(t: &Map<String, Value>) -> Value {
    fn message_attributes(v: &Value) -> Value {
        let mut out = Map::new();
        for e in indexed(v) {
            if let (Some(Value::String(n)), Some(val)) = (e.get("Name"), e.get("Value")) {
                out.insert(n.clone(), val.clone());
            }
        }
        Value::Object(out)
    }
    let mut p = Map::new();
    for (k, v) in t {
        match k.as_str() {
            "Action" | "Version" => {}
            "Attribute" => {
                p.insert("Attributes".into(), pairs_to_map(v, "Name", "Value"));
            }
            "AttributeName" => {
                p.insert("AttributeNames".into(), Value::Array(indexed(v)));
            }
            "MessageAttributeName" => {
                p.insert("MessageAttributeNames".into(), Value::Array(indexed(v)));
            }
            "MessageSystemAttributeName" => {
                p.insert("MessageSystemAttributeNames".into(), Value::Array(indexed(v)));
            }
            "MessageAttribute" => {
                p.insert("MessageAttributes".into(), message_attributes(v));
            }
            "MessageSystemAttribute" => {
                p.insert("MessageSystemAttributes".into(), message_attributes(v));
            }
            "Tag" => {
                let tags = pairs_to_map(v, "Key", "Value");
                p.insert("tags".into(), tags.clone());
                p.insert("Tags".into(), tags);
            }
            "TagKey" => {
                p.insert("TagKeys".into(), Value::Array(indexed(v)));
            }
            k if k.ends_with("BatchRequestEntry") => {
                let entries: Vec<Value> = indexed(v)
                    .into_iter()
                    .map(|e| match e {
                        Value::Object(m) => from_form(&m),
                        other => other,
                    })
                    .collect();
                p.insert("Entries".into(), Value::Array(entries));
            }
            _ => {
                p.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(p)
}

/// The JSON response as the query protocol's XML result.
fn to_xml(op: &str, v: &Value) -> String {
    fn message_attributes(m: &Map<String, Value>) -> String {
        m.iter()
            .map(|(n, a)| {
                let mut val = String::new();
                for key in ["StringValue", "BinaryValue", "DataType"] {
                    if let Some(x) = a.get(key) {
                        val.push_str(&el(key, &text(x)));
                    }
                }
                format!("<MessageAttribute>{}<Value>{val}</Value></MessageAttribute>", el("Name", n))
            })
            .collect()
    }
    fn name_values(tag: &str, k: &str, vk: &str, m: &Map<String, Value>) -> String {
        m.iter().map(|(n, x)| format!("<{tag}>{}{}</{tag}>", el(k, n), el(vk, &text(x)))).collect()
    }
    let Value::Object(m) = v else { return String::new() };
    let mut out = String::new();
    for (k, x) in m {
        match (k.as_str(), x) {
            ("QueueUrls" | "queueUrls", Value::Array(a)) => a.iter().for_each(|u| out.push_str(&el("QueueUrl", &text(u)))),
            ("Messages", Value::Array(a)) => {
                for msg in a {
                    let Value::Object(mm) = msg else { continue };
                    out.push_str("<Message>");
                    for (mk, mv) in mm {
                        match (mk.as_str(), mv) {
                            ("Attributes", Value::Object(am)) => out.push_str(&name_values("Attribute", "Name", "Value", am)),
                            ("MessageAttributes", Value::Object(am)) => out.push_str(&message_attributes(am)),
                            (_, other) => out.push_str(&el(mk, &text(other))),
                        }
                    }
                    out.push_str("</Message>");
                }
            }
            ("Attributes", Value::Object(am)) => out.push_str(&name_values("Attribute", "Name", "Value", am)),
            ("Tags", Value::Object(tm)) => out.push_str(&name_values("Tag", "Key", "Value", tm)),
            ("Successful", Value::Array(a)) => {
                for e in a {
                    let inner: String = e.as_object().into_iter().flatten().map(|(ek, ev)| el(ek, &text(ev))).collect();
                    out.push_str(&format!("<{op}ResultEntry>{inner}</{op}ResultEntry>"));
                }
            }
            ("Failed", Value::Array(a)) => {
                for e in a {
                    let inner: String = e.as_object().into_iter().flatten().map(|(ek, ev)| el(ek, &text(ev))).collect();
                    out.push_str(&format!("<BatchResultErrorEntry>{inner}</BatchResultErrorEntry>"));
                }
            }
            (_, other) => out.push_str(&el(k, &text(other))),
        }
    }
    out
}

pub fn handle_query(state: &Arc<State>, pairs: &[(String, String)]) -> Resp {
    let request_id = state.uuid();
    let t = query::tree(pairs);
    let op = t.get("Action").map(text).unwrap_or_default();
    let p = from_form(&t);
    let result = if ACTIONS.contains(&op.as_str()) { run(state, &op, &p) } else { Err(SqsError::unknown_operation(&op)) };
    match result {
        Ok(v) => Resp::new(200).header("Content-Type", "text/xml").body(query::response(NS, &op, &to_xml(&op, &v), &request_id)),
        Err(e) => Resp::new(e.status)
            .header("Content-Type", "text/xml")
            .body(query::error(NS, e.sender_fault, &e.code, e.query_message(), &request_id)),
    }
}

/// The template's queues (`AWS::SQS::Queue`), created unless restored from the data dir. A
/// queue's RedrivePolicy names its dead-letter queue, which must exist first: queues are
/// created in rounds until none is left or a round makes no progress.
pub fn create_template_queues(world: &mut crate::world::World, queues: &[template::QueueDef], now: i64) -> Result<(), String> {
    let mut left: Vec<&template::QueueDef> = queues.iter().filter(|q| !world.sqs.queue_names().contains(&q.name)).collect();
    while !left.is_empty() {
        let mut failures = Vec::new();
        let before = left.len();
        left.retain(|q| match world.sqs.call("CreateQueue", &q.request, now) {
            Ok(_) => false,
            Err(e) => {
                failures.push(format!("{}: CreateQueue {}: {}: {}", q.logical, q.name, e.code, e.message));
                true
            }
        });
        if left.len() == before {
            return Err(failures.join("; "));
        }
    }
    Ok(())
}

/// Starts one poller thread per enabled SQS event source: it receives batches as Lambda's
/// poller does and deletes what the function processed (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
/// A function error returns the whole batch to the queue (visible again after the queue's
/// visibility timeout, so the redrive policy counts the attempt); with
/// `ReportBatchItemFailures` only the reported messages return.
pub fn start_event_sources(state: &Arc<State>, sources: &[template::EventSourceDef]) -> Result<(), String> {
    for src in sources.iter().filter(|s| s.enabled) {
        let Some(function) = state.functions.get(&src.function).cloned() else {
            return Err(format!("{}: no function {} in this template", src.origin, src.function));
        };
        let Some(url) = state.world.lock().sqs.url_for_arn(&src.queue_arn) else {
            return Err(format!("{}: no queue {} in this template", src.origin, src.queue_arn));
        };
        let weak = Arc::downgrade(state);
        let source = src.clone();
        std::thread::Builder::new()
            .name(format!("sqs-{}", src.function))
            .spawn(move || poll_queue(weak, &source, &url, function))
            .map_err(|e| format!("{}: cannot start its poller: {e}", src.origin))?;
    }
    Ok(())
}

/// The function's own Timeout applies inside Lambda's ceiling.
const LAMBDA_MAX_SECONDS: f64 = 900.0;

/// Idle pollers look again this often (Lambda long-polls; a short sleep is its local stand-in).
const IDLE_POLL: Duration = Duration::from_millis(100);

fn poll_queue(state: std::sync::Weak<State>, src: &template::EventSourceDef, url: &str, function: Arc<super::lambda_rt::Function>) {
    use asl_sqs::lambda_event::Returned;
    use asl_world::lambda::Lambda;
    loop {
        let Some(state) = state.upgrade() else { return };
        if state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let batch = receive_batch(&state, src, url);
        if batch.is_empty() {
            drop(state);
            std::thread::sleep(IDLE_POLL);
            continue;
        }
        let event = asl_sqs::lambda_event::event(&json!({"Messages": batch}), &src.queue_arn, template::REGION);
        let ids: Vec<String> = batch.iter().filter_map(|m| m["MessageId"].as_str().map(str::to_string)).collect();
        // Without the world's lock: the function may call serve back.
        let processed: Vec<&Value> = match function.run(&event.to_string(), LAMBDA_MAX_SECONDS) {
            Ok(reply) if reply.succeeded => match asl_sqs::lambda_event::returned_items(&reply.payload, &ids, src.report_batch_item_failures) {
                Returned::These(failed) => batch.iter().filter(|m| !failed.iter().any(|f| m["MessageId"] == json!(f))).collect(),
                Returned::All => Vec::new(),
            },
            _ => Vec::new(),
        };
        let now = crate::clock::wall_millis();
        let mut world = state.world.lock();
        for m in processed {
            // A handle whose visibility ran out meanwhile is refused: the message is received again, as on AWS.
            let _ = world.sqs.call("DeleteMessage", &json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}), now);
        }
        drop(world);
        // The deletes (and the receives before them) are committed now, not with the next
        // request's commit: after a restart a processed message is not delivered again.
        if let Err(e) = super::persist::flush(&state, Vec::new()) {
            state.log(format_args!("store: {e}"));
        }
    }
}

/// Up to BatchSize messages: receives of at most 10 until the batch is full, the queue has
/// nothing more, and (with a batching window) the window has passed.
fn receive_batch(state: &Arc<State>, src: &template::EventSourceDef, url: &str) -> Vec<Value> {
    let start = crate::clock::wall_millis();
    let deadline = start + i64::from(src.batching_window_s) * 1000;
    let mut batch = Vec::new();
    loop {
        let want = (src.batch_size as usize - batch.len()).min(10);
        let p = json!({"QueueUrl": url, "MaxNumberOfMessages": want, "AttributeNames": ["All"],
                       "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]});
        let got = match state.world.lock().sqs.call("ReceiveMessage", &p, crate::clock::wall_millis()) {
            Ok(v) => v.get("Messages").and_then(Value::as_array).cloned().unwrap_or_default(),
            Err(_) => return batch, // the queue was deleted: nothing to deliver
        };
        let empty = got.is_empty();
        batch.extend(got);
        if batch.len() >= src.batch_size as usize || crate::clock::wall_millis() >= deadline && (empty || src.batching_window_s == 0) {
            return batch;
        }
        if empty {
            if batch.is_empty() && src.batching_window_s == 0 {
                return batch;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_forms_map_to_json_requests() {
        let pairs = query::form_pairs(
            b"Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x\
&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String\
&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y",
        );
        let p = from_form(&query::tree(&pairs));
        assert_eq!(
            p,
            json!({"QueueUrl": "u", "Entries": [
                {"Id": "a", "MessageBody": "x", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
                {"Id": "b", "MessageBody": "y"}]})
        );
        let p = from_form(&query::tree(&query::form_pairs(b"Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5")));
        assert_eq!(p, json!({"QueueName": "q", "Attributes": {"DelaySeconds": "5"}}));
    }

    #[test]
    fn results_render_as_query_xml() {
        let v = json!({"Messages": [{"MessageId": "m", "Body": "<b>", "Attributes": {"SentTimestamp": "1"},
                                     "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}]});
        assert_eq!(
            to_xml("ReceiveMessage", &v),
            "<Message><MessageId>m</MessageId><Body>&lt;b&gt;</Body><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>\
<MessageAttribute><Name>k</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute></Message>"
        );
        let v = json!({"Successful": [{"Id": "a", "MessageId": "m"}]});
        assert_eq!(to_xml("SendMessageBatch", &v), "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>");
    }
}
