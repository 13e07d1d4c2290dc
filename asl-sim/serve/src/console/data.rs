//! The data pages: S3 buckets and objects (download), DynamoDB tables and items (scan,
//! query by key), SQS queues and their messages, SNS topics and subscriptions,
//! EventBridge buses and rules. Read through each service's own operations, so what is
//! shown is what a client of the AWS endpoint would get.

use super::html::{self, esc, href, json_pre, link, page, time, Tab};
use super::Params;
use crate::http::Resp;
use crate::State;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Arc;

const OBJECTS_PAGE: i64 = 100;
const ITEMS_PAGE: u64 = 50;

fn size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

pub fn overview(state: &Arc<State>) -> Resp {
    let mut b = String::new();
    let mut w = state.world.lock();
    // S3
    b.push_str("<section class=\"card\"><h2>S3 buckets</h2><table class=\"list\" id=\"buckets\"><thead><tr><th>Bucket</th><th>Objects</th><th>Created (UTC)</th><th>EventBridge notifications</th></tr></thead><tbody>");
    for (name, bk) in &w.s3.buckets {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            link("bucket", &[("bucket", name)], name),
            bk.objects.len(),
            time(bk.creation_ms),
            if bk.eventbridge { "on" } else { "off" }
        );
    }
    none_row(&mut b, w.s3.buckets.is_empty(), 4, "bucket");
    b.push_str("</tbody></table></section>");
    // DynamoDB
    b.push_str("<section class=\"card\"><h2>DynamoDB tables</h2><table class=\"list\" id=\"tables\"><thead><tr><th>Table</th><th>Items</th><th>Key</th></tr></thead><tbody>");
    let tables = w.dynamodb.call("ListTables", &json!({"Limit": 100})).ok();
    let names: Vec<String> = tables.as_ref().and_then(|t| t["TableNames"].as_array()).map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect()).unwrap_or_default();
    for n in &names {
        let d = w.dynamodb.call("DescribeTable", &json!({"TableName": n})).unwrap_or(Value::Null);
        let keys: Vec<String> = d["Table"]["KeySchema"].as_array().map(|k| k.iter().map(|k| format!("{} ({})", k["AttributeName"].as_str().unwrap_or(""), k["KeyType"].as_str().unwrap_or(""))).collect()).unwrap_or_default();
        let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", link("table", &[("table", n)], n), d["Table"]["ItemCount"], esc(&keys.join(", ")));
    }
    none_row(&mut b, names.is_empty(), 3, "table");
    b.push_str("</tbody></table></section>");
    // SQS
    let now = crate::wall_millis();
    b.push_str("<section class=\"card\"><h2>SQS queues</h2><table class=\"list\" id=\"queues\"><thead><tr><th>Queue</th><th>Visible</th><th>In flight</th><th>Delayed</th></tr></thead><tbody>");
    let queues = w.sqs.queue_names();
    for q in &queues {
        let url = w.sqs.queue_url(q);
        let a = w.sqs.call("GetQueueAttributes", &json!({"QueueUrl": url, "AttributeNames": ["All"]}), now).unwrap_or(Value::Null);
        let at = &a["Attributes"];
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            link("queue", &[("queue", q)], q),
            esc(at["ApproximateNumberOfMessages"].as_str().unwrap_or("0")),
            esc(at["ApproximateNumberOfMessagesNotVisible"].as_str().unwrap_or("0")),
            esc(at["ApproximateNumberOfMessagesDelayed"].as_str().unwrap_or("0"))
        );
    }
    none_row(&mut b, queues.is_empty(), 4, "queue");
    b.push_str("</tbody></table></section>");
    // SNS
    b.push_str("<section class=\"card\"><h2>SNS topics</h2><table class=\"list\" id=\"topics\"><thead><tr><th>Topic</th><th>ARN</th></tr></thead><tbody>");
    let topics = w.sns.topic_arns();
    for t in &topics {
        let name = w.sns.topic_name(t).unwrap_or(t).to_string();
        let _ = write!(b, "<tr><td>{}</td><td><code>{}</code></td></tr>", link("topic", &[("arn", t)], &name), esc(t));
    }
    none_row(&mut b, topics.is_empty(), 2, "topic");
    b.push_str("</tbody></table></section>");
    // EventBridge
    b.push_str("<section class=\"card\"><h2>EventBridge buses and rules</h2><table class=\"list\" id=\"rules\"><thead><tr><th>Bus</th><th>Rule</th><th>State</th><th>Pattern / schedule</th><th>Targets</th></tr></thead><tbody>");
    for (bus_name, bus) in &w.events.buses {
        if bus.rules.is_empty() {
            let _ = write!(b, "<tr><td>{}</td><td colspan=\"4\" class=\"empty\">no rule</td></tr>", esc(bus_name));
        }
        for r in bus.rules.values() {
            let targets: Vec<String> = r
                .targets
                .iter()
                .map(|t| match state.machine_by_arn(&t.arn) {
                    Some(m) => link("machine", &[("arn", &t.arn)], &m.name),
                    None => format!("<code>{}</code>", esc(&t.arn)),
                })
                .collect();
            let what = r.event_pattern.as_deref().or(r.schedule_expression.as_deref()).unwrap_or("");
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><pre class=\"json\">{}</pre></td><td>{}</td></tr>",
                esc(bus_name),
                esc(&r.name),
                if r.state == asl_eventbridge::events::RuleState::Enabled { "ENABLED" } else { "DISABLED" },
                esc(what),
                targets.join("<br>")
            );
        }
    }
    b.push_str("</tbody></table></section>");
    drop(w);
    page(Tab::Data, "Data", &b)
}

pub fn bucket(state: &Arc<State>, p: &Params) -> Resp {
    let bucket = p.get("bucket").unwrap_or("");
    let prefix = p.get("prefix").unwrap_or("");
    let scope = asl_s3::s3::ListScope {
        bucket: bucket.to_string(),
        prefix: Some(prefix.to_string()).filter(|s| !s.is_empty()),
        delimiter: Some("/".into()),
        max_keys: Some(OBJECTS_PAGE),
    };
    let input = asl_s3::s3::ListObjectsV2Input { scope, continuation_token: p.non_empty("token").map(str::to_string), start_after: None };
    let listed = state.world.lock().s3.list_objects_v2(&input);
    let out = match listed {
        Ok(o) => o,
        Err(e) => return html::error_page(e.status, &e.code, &e.message),
    };
    let mut b = String::new();
    let _ = write!(
        b,
        "<form method=\"get\" class=\"filters\"><input type=\"hidden\" name=\"bucket\" value=\"{}\"><label>Prefix <input name=\"prefix\" value=\"{}\"></label><button type=\"submit\">List</button></form>",
        esc(bucket),
        esc(prefix)
    );
    b.push_str("<table class=\"list\" id=\"objects\"><thead><tr><th>Key</th><th>Size</th><th>Last modified (UTC)</th><th>ETag</th><th></th></tr></thead><tbody>");
    if !prefix.is_empty() {
        let up = prefix.trim_end_matches('/').rsplit_once('/').map(|(a, _)| format!("{a}/")).unwrap_or_default();
        let _ = write!(b, "<tr><td colspan=\"5\">{}</td></tr>", link("bucket", &[("bucket", bucket), ("prefix", &up)], "↑ up"));
    }
    for cp in &out.page.common_prefixes {
        let _ = write!(b, "<tr><td colspan=\"5\">📁 {}</td></tr>", link("bucket", &[("bucket", bucket), ("prefix", cp)], cp));
    }
    for o in &out.contents {
        let _ = write!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td><a download href=\"{}\">download</a></td></tr>",
            esc(&o.key),
            size(o.size),
            time(o.last_modified_ms),
            esc(&o.etag),
            href("object", &[("bucket", bucket), ("key", &o.key)])
        );
    }
    if out.contents.is_empty() && out.page.common_prefixes.is_empty() {
        b.push_str("<tr><td colspan=\"5\" class=\"empty\">No object.</td></tr>");
    }
    b.push_str("</tbody></table>");
    if let Some(next) = &out.next_continuation_token {
        let _ = write!(b, "<p class=\"pager\"><a rel=\"next\" href=\"{}\">more →</a></p>", href("bucket", &[("bucket", bucket), ("prefix", prefix), ("token", next)]));
    }
    page(Tab::Data, &format!("Bucket {bucket}"), &b)
}

/// Serves an object as a download. Whatever its Content-Type, it is sent as an attachment
/// under a sandboxing CSP: an uploaded HTML file must not run as a console page.
pub fn object(state: &Arc<State>, p: &Params) -> Resp {
    let bucket = p.get("bucket").unwrap_or("");
    let key = p.get("key").unwrap_or("");
    let got = state.world.lock().s3.get_object(bucket, key, None);
    match got {
        Ok(o) => {
            let file = key.rsplit('/').next().unwrap_or(key);
            let file = if file.is_empty() { "object" } else { file };
            Resp::new(200)
                .header("content-type", "application/octet-stream")
                .header("content-disposition", format!("attachment; filename*=UTF-8''{}", html::enc(file)))
                .header("content-security-policy", "sandbox; default-src 'none'")
                .header("x-content-type-options", "nosniff")
                .header("etag", o.etag.clone())
                .body(o.body)
        }
        Err(e) => html::error_page(e.status, &e.code, &e.message),
    }
}

/// A DynamoDB attribute value as text: strings and numbers bare, the rest as DynamoDB JSON.
fn attr_text(v: &Value) -> String {
    match v.as_object().and_then(|o| o.iter().next()) {
        Some((t, Value::String(s))) if t == "S" || t == "N" => s.clone(),
        Some((t, Value::Bool(x))) if t == "BOOL" => x.to_string(),
        Some((t, _)) if t == "NULL" => "null".into(),
        _ => v.to_string(),
    }
}

pub fn table(state: &Arc<State>, p: &Params) -> Resp {
    let name = p.get("table").unwrap_or("");
    let mut w = state.world.lock();
    let d = match w.dynamodb.call("DescribeTable", &json!({"TableName": name})) {
        Ok(d) => d,
        Err(e) => return html::error_page(400, &e.code, &e.message),
    };
    let t = &d["Table"];
    let key_of = |kind: &str| -> Option<(String, String)> {
        let n = t["KeySchema"].as_array()?.iter().find(|k| k["KeyType"] == kind)?["AttributeName"].as_str()?.to_string();
        let ty = t["AttributeDefinitions"].as_array()?.iter().find(|a| a["AttributeName"] == n.as_str())?["AttributeType"].as_str()?.to_string();
        Some((n, ty))
    };
    let (Some(pk), sk) = (key_of("HASH"), key_of("RANGE")) else {
        return html::error_page(500, "InternalError", "the table has no partition key");
    };
    let pk_value = p.non_empty("pk");
    let sk_value = p.non_empty("sk");
    let start: Option<Value> = p.non_empty("start").and_then(|s| serde_json::from_str(s).ok());
    let mut req = json!({"TableName": name, "Limit": ITEMS_PAGE});
    if let Some(s) = &start {
        req["ExclusiveStartKey"] = s.clone();
    }
    let op = if let Some(v) = pk_value {
        req["KeyConditionExpression"] = json!("#pk = :pk");
        req["ExpressionAttributeNames"] = json!({"#pk": pk.0});
        req["ExpressionAttributeValues"] = json!({":pk": {pk.1.clone(): v}});
        if let (Some((n, ty)), Some(sv)) = (&sk, sk_value) {
            let prefix = p.get("skop") == Some("begins_with");
            req["KeyConditionExpression"] = json!(if prefix { "#pk = :pk AND begins_with(#sk, :sk)" } else { "#pk = :pk AND #sk = :sk" });
            req["ExpressionAttributeNames"]["#sk"] = json!(n);
            req["ExpressionAttributeValues"][":sk"] = json!({ty.clone(): sv});
        }
        "Query"
    } else {
        "Scan"
    };
    let result = w.dynamodb.call(op, &req);
    drop(w);
    let mut b = String::new();
    let _ = write!(
        b,
        "<form method=\"get\" class=\"filters\" id=\"key-form\"><input type=\"hidden\" name=\"table\" value=\"{}\"><label>{} ({}) = <input name=\"pk\" value=\"{}\"></label>",
        esc(name),
        esc(&pk.0),
        esc(&pk.1),
        esc(pk_value.unwrap_or(""))
    );
    if let Some((n, ty)) = &sk {
        let prefix = p.get("skop") == Some("begins_with");
        let _ = write!(
            b,
            "<label>{} ({}) <select name=\"skop\"><option value=\"eq\">=</option><option value=\"begins_with\"{}>begins with</option></select> <input name=\"sk\" value=\"{}\" placeholder=\"any\"></label>",
            esc(n),
            esc(ty),
            if prefix { " selected" } else { "" },
            esc(sk_value.unwrap_or(""))
        );
    }
    b.push_str("<button type=\"submit\">Query</button> <span class=\"note\">empty: scan the table</span></form>");
    match result {
        Err(e) => {
            let _ = write!(b, "<p class=\"error\">{}: {}</p>", esc(&e.code), esc(&e.message));
        }
        Ok(r) => {
            let items: Vec<Map<String, Value>> = r["Items"].as_array().map(|a| a.iter().filter_map(|i| i.as_object().cloned()).collect()).unwrap_or_default();
            // Columns: the key first, then every attribute the page's items have.
            let mut cols: Vec<String> = vec![pk.0.clone()];
            if let Some((n, _)) = &sk {
                cols.push(n.clone());
            }
            let rest: BTreeSet<&String> = items.iter().flat_map(|i| i.keys()).filter(|k| !cols.contains(k)).collect();
            cols.extend(rest.into_iter().cloned());
            let _ = write!(b, "<p>{} · {} item{}</p><table class=\"list\" id=\"items\"><thead><tr>", op, items.len(), if items.len() == 1 { "" } else { "s" });
            for c in &cols {
                let _ = write!(b, "<th>{}</th>", esc(c));
            }
            b.push_str("</tr></thead><tbody>");
            for i in &items {
                b.push_str("<tr>");
                for c in &cols {
                    let _ = write!(b, "<td class=\"mono\">{}</td>", i.get(c).map(|v| esc(&attr_text(v))).unwrap_or_default());
                }
                b.push_str("</tr>");
            }
            if items.is_empty() {
                let _ = write!(b, "<tr><td colspan=\"{}\" class=\"empty\">No item.</td></tr>", cols.len());
            }
            b.push_str("</tbody></table>");
            if let Some(last) = r.get("LastEvaluatedKey") {
                let last = last.to_string();
                let _ = write!(
                    b,
                    "<p class=\"pager\"><a rel=\"next\" href=\"{}\">more →</a></p>",
                    href("table", &[("table", name), ("pk", pk_value.unwrap_or("")), ("skop", p.get("skop").unwrap_or("eq")), ("sk", sk_value.unwrap_or("")), ("start", &last)])
                );
            }
        }
    }
    page(Tab::Data, &format!("Table {name}"), &b)
}

pub fn queue(state: &Arc<State>, p: &Params) -> Resp {
    let name = p.get("queue").unwrap_or("");
    let w = state.world.lock();
    if !w.sqs.queue_names().iter().any(|q| q == name) {
        return html::error_page(400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    }
    // peek: what the queue holds, without receiving (visibility is not touched).
    let msgs = w.sqs.peek(name);
    let url = w.sqs.queue_url(name);
    drop(w);
    let mut b = format!("<p>URL <code>{}</code></p><table class=\"list\" id=\"messages\"><thead><tr><th>Message ID</th><th>Body</th></tr></thead><tbody>", esc(&url));
    for (id, body) in &msgs {
        let _ = write!(b, "<tr><td class=\"mono\">{}</td><td>{}</td></tr>", esc(id), json_pre(&Value::String(body.clone())));
    }
    none_row(&mut b, msgs.is_empty(), 2, "message");
    b.push_str("</tbody></table>");
    page(Tab::Data, &format!("Queue {name}"), &b)
}

pub fn topic(state: &Arc<State>, p: &Params) -> Resp {
    let arn = p.get("arn").unwrap_or("");
    let r = state.world.lock().sns.call("ListSubscriptionsByTopic", &json!({"TopicArn": arn}), crate::wall_millis());
    let subs = match r {
        Ok((v, _)) => v["Subscriptions"].as_array().cloned().unwrap_or_default(),
        Err(e) => return html::error_page(400, "NotFound", &format!("{e:?}")),
    };
    let mut b = format!("<p>ARN <code>{}</code></p><table class=\"list\" id=\"subscriptions\"><thead><tr><th>Protocol</th><th>Endpoint</th><th>Subscription</th></tr></thead><tbody>", esc(arn));
    for s in &subs {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(s["Protocol"].as_str().unwrap_or("")),
            esc(s["Endpoint"].as_str().unwrap_or("")),
            esc(s["SubscriptionArn"].as_str().unwrap_or(""))
        );
    }
    none_row(&mut b, subs.is_empty(), 3, "subscription");
    b.push_str("</tbody></table>");
    page(Tab::Data, &format!("Topic {}", arn.rsplit(':').next().unwrap_or(arn)), &b)
}

/// The row a table shows when it lists nothing: "No WHAT." across its `cols` columns.
fn none_row(b: &mut String, none: bool, cols: usize, what: &str) {
    if none {
        let _ = write!(b, "<tr><td colspan=\"{cols}\" class=\"empty\">No {what}.</td></tr>");
    }
}
