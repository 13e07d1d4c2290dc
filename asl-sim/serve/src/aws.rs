//! The AWS endpoint: one port, routed by protocol. A request with
//! `X-Amz-Target: DynamoDB_20120810.*`, `AWSStepFunctions.*` or `AWSEvents.*` speaks a
//! JSON protocol; anything else is S3 (REST/XML, path-style or virtual-host style).
//! Every request is verified with SigV4 first.

use super::http::{blocking, BoxFut, Req, Resp};
use super::{json_api, s3, sigv4, State};
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

fn route(state: &Arc<State>, req: &Req, target: Option<&str>) -> Resp {
    let sreq = sigv4::Request { method: &req.method, path: &req.path, query: &req.query, headers: &req.headers, body: &req.body };
    let verified = sigv4::verify(&sreq, &state.keys, sigv4::now_secs());
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
