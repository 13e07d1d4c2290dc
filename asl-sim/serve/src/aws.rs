//! The AWS endpoint: one port, routed by protocol. A request with
//! `X-Amz-Target: DynamoDB_20120810.*`, `AWSStepFunctions.*` or `AWSEvents.*` speaks a
//! JSON protocol; anything else is S3 (REST/XML, path-style or virtual-host style).
//! Every request is verified with SigV4 first.

use super::http::{blocking, BoxFut, Req, Resp};
use super::{json_api, query, s3, sigv4, sns, sqs, State};
use std::sync::Arc;
use std::time::Instant;

pub fn handle(state: Arc<State>, req: Req) -> BoxFut {
    blocking(move || {
        let t = Instant::now();
        let target = req.header("x-amz-target").map(str::to_string);
        let what = match &target {
            Some(t) => t.clone(),
            None => {
                // The path and the operation's query keys; presigned parameters shortened.
                let presigned = req.query.contains("X-Amz-Signature=");
                let keys: Vec<String> = sigv4::query_pairs(&req.query)
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("X-Amz-") && k != "x-id")
                    .map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") })
                    .collect();
                let q = if keys.is_empty() { String::new() } else { format!("?{}", keys.join("&")) };
                format!("S3 {} {}{q}{}", req.method, req.path, if presigned { " (presigned)" } else { "" })
            }
        };
        let resp = route(&state, &req, target.as_deref());
        if req.method != "GET" && req.method != "HEAD" {
            state.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        state.log(format_args!("aws {} {} {:.1} ms", resp.status, what, t.elapsed().as_secs_f64() * 1000.0));
        resp
    })
}

/// The parameters of a query-protocol request (SQS, SNS): a form-encoded POST body, or a
/// query string, carrying `Action`. S3 requests never do.
fn query_form(req: &Req) -> Option<Vec<(String, String)>> {
    let form = req.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let mut pairs = if form { query::form_pairs(&req.body) } else { Vec::new() };
    if !pairs.iter().any(|(k, _)| k == "Action") {
        pairs.extend(query::form_pairs(req.query.as_bytes()));
    }
    pairs.iter().any(|(k, _)| k == "Action").then_some(pairs)
}

fn route(state: &Arc<State>, req: &Req, target: Option<&str>) -> Resp {
    let sreq = sigv4::Request { method: &req.method, path: &req.path, query: &req.query, headers: &req.headers, body: &req.body };
    let verified = sigv4::verify(&sreq, &state.keys, sigv4::now_secs());
    if let Some(op) = target.and_then(|t| t.strip_prefix("AmazonSQS.")) {
        if let Err(e) = verified {
            return json_api::auth_error("AmazonSQS", &e);
        }
        return sqs::handle_json(state, op, req);
    }
    if let Some(pairs) = query_form(req) {
        let service = query::signing_service(req.header("authorization"));
        let action = pairs.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.as_str()).unwrap_or("");
        let is_sns = service.as_deref() == Some("sns") || (service.is_none() && sns::ACTIONS.contains(&action));
        if let Err(e) = verified {
            let ns = if is_sns { "http://sns.amazonaws.com/doc/2010-03-31/" } else { "http://queue.amazonaws.com/doc/2012-11-05/" };
            return Resp::new(e.status).header("Content-Type", "text/xml").body(query::error(ns, true, e.code, &e.message, &state.uuid()));
        }
        return if is_sns { sns::handle_query(state, &pairs) } else { sqs::handle_query(state, &pairs) };
    }
    match target {
        Some(t) => {
            let (prefix, op) = t.split_once('.').unwrap_or((t, ""));
            if let Err(e) = verified {
                return json_api::auth_error(prefix, &e);
            }
            json_api::handle(state, prefix, op, req)
        }
        None => {
            if let Err(e) = verified {
                return s3::error_resp(&req.method, e.status, e.code, &e.message, &e.extra);
            }
            s3::handle(state, req)
        }
    }
}
