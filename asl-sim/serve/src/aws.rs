//! The AWS endpoint: one port, routed by protocol. A request with
//! `X-Amz-Target: DynamoDB_20120810.*`, `AWSStepFunctions.*` or `AWSEvents.*` speaks a
//! JSON protocol; anything else is S3 (REST/XML, path-style or virtual-host style).
//!
//! Every request is verified with SigV4 from its head before its body is read (the JSON
//! services' signatures cover the body's hash, so theirs is completed once the body is in);
//! a declared body over the operation's limit is refused from its Content-Length; an S3
//! body is then checked against what its signature declared (payload hash or chunk
//! signatures). Only a request that passed all of that reaches a service, and only one
//! that succeeded marks the data for saving.

use super::http::{blocking, Admitted, BodyError, BoxFut, Front, Head, Req, Resp};
use super::{checksum, json_api, query, s3, sigv4, sns, sqs, State};
use std::sync::Arc;
use std::time::Instant;

/// S3's largest single PUT and largest part: 5 GiB
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html,
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
pub const S3_MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024;
/// S3's XML request bodies (DeleteObjects of 1,000 keys, CompleteMultipartUpload of 10,000
/// parts) stay well under this; S3's exact cap is not documented, its error is MaxMessageLengthExceeded.
const S3_MAX_XML: u64 = 2 * 1024 * 1024;
/// DynamoDB: "The maximum size of any HTTP request is 16 MB"
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
const DYNAMODB_MAX_REQUEST: u64 = 16 * 1024 * 1024;
/// Step Functions and EventBridge document their payload limits (256 KiB execution input,
/// 256 KB PutEvents entries) but not a request-size cap; 1 MiB leaves room for the JSON around them.
const JSON_MAX_REQUEST: u64 = 1024 * 1024;

pub struct AwsFront {
    pub state: Arc<State>,
}

/// What the head checks found.
pub struct Ticket {
    /// `Some` when the signature is fully verified; `None` when it covers the body's hash.
    verified: Option<sigv4::Verified>,
    target: Option<String>,
    /// An unsigned SNS SubscribeURL / UnsubscribeURL link (`sns::is_unsigned_link`).
    sns_link: bool,
}

fn target_of(head: &Head) -> Option<String> {
    head.header("x-amz-target").map(str::to_string)
}

fn signable<'a>(head: &'a Head, body: &'a [u8]) -> sigv4::Request<'a> {
    sigv4::Request { method: &head.method, path: &head.path, query: &head.query, headers: &head.headers, body }
}

fn auth_refusal(method: &str, target: Option<&str>, e: &sigv4::AuthError) -> Resp {
    match target {
        Some(t) => json_api::auth_error(t.split_once('.').map(|(p, _)| p).unwrap_or(t), e),
        None => s3::error_resp(method, e.status, e.code, &e.message, &e.extra),
    }
}

/// Is this an S3 request that stores its body as object data (PutObject, UploadPart)?
fn s3_data_upload(head: &Head) -> bool {
    head.method == "PUT" && !head.headers.iter().any(|(k, _)| k == "x-amz-copy-source")
}

impl AwsFront {
    fn log(&self, head: &Head, status: u16, t: Instant) {
        let what = match target_of(head) {
            Some(t) => t,
            None => {
                // The path and the operation's query keys; presigned parameters shortened.
                let presigned = head.query.contains("X-Amz-Signature=");
                let keys: Vec<String> = sigv4::query_pairs(&head.query)
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("X-Amz-") && k != "x-id")
                    .map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") })
                    .collect();
                let q = if keys.is_empty() { String::new() } else { format!("?{}", keys.join("&")) };
                format!("S3 {} {}{q}{}", head.method, head.path, if presigned { " (presigned)" } else { "" })
            }
        };
        self.state.log(format_args!("aws {status} {what} {:.1} ms", t.elapsed().as_secs_f64() * 1000.0));
    }

    fn refuse(&self, head: &Head, r: Resp) -> Resp {
        self.log(head, r.status, Instant::now());
        r
    }

    /// The most body an operation takes, and its refusal when a body is larger.
    fn limit(head: &Head, target: Option<&str>) -> u64 {
        match target {
            Some(t) if t.starts_with("DynamoDB_") => DYNAMODB_MAX_REQUEST,
            Some(_) => JSON_MAX_REQUEST,
            None if s3_data_upload(head) => {
                // aws-chunked framing adds a few bytes per chunk over the data's own size.
                if head.header("x-amz-decoded-content-length").is_some() {
                    S3_MAX_OBJECT + S3_MAX_OBJECT / 1024
                } else {
                    S3_MAX_OBJECT
                }
            }
            None => S3_MAX_XML,
        }
    }

    fn too_large(head: &Head, target: Option<&str>, limit: u64) -> Resp {
        match target {
            Some(t) => {
                // The JSON services' answer to an oversized request is not documented;
                // 413 with the service's error shape is what their front ends plausibly give.
                let prefix = t.split_once('.').map(|(p, _)| p).unwrap_or(t);
                json_api::error(prefix, 413, "RequestEntityTooLarge", &format!("Request body exceeds the maximum size of {limit} bytes"))
            }
            None if s3_data_upload(head) => {
                let proposed = head.header("x-amz-decoded-content-length").or(head.header("content-length")).unwrap_or("").trim().to_string();
                s3::error_resp(
                    &head.method,
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    &[("ProposedSize".into(), proposed), ("MaxSizeAllowed".into(), S3_MAX_OBJECT.to_string())],
                )
            }
            None => s3::error_resp(&head.method, 400, "MaxMessageLengthExceeded", "Your request was too big.", &[("MaxMessageLengthBytes".into(), limit.to_string())]),
        }
    }
}

impl Front for AwsFront {
    type Ticket = Ticket;

    fn admit(&self, head: &Head) -> Result<Admitted<Ticket>, Resp> {
        let target = target_of(head);
        if sns::is_unsigned_link(&head.method, &head.query, head.header("authorization")) {
            return Ok(Admitted { limit: Self::limit(head, None), ticket: Ticket { verified: None, target: None, sns_link: true } });
        }
        let verified = match sigv4::verify_head(&signable(head, b""), &self.state.keys, sigv4::now_secs()) {
            Ok(v) => v,
            Err(e) => {
                // A query-protocol request (SQS, SNS) is refused in its own XML format.
                if target.is_none() && head.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
                    let sns = query::signing_service(head.header("authorization")).as_deref() == Some("sns");
                    let ns = if sns { "http://sns.amazonaws.com/doc/2010-03-31/" } else { "http://queue.amazonaws.com/doc/2012-11-05/" };
                    let r = Resp::new(e.status).header("Content-Type", "text/xml").body(query::error(ns, true, e.code, &e.message, &self.state.uuid()));
                    return Err(self.refuse(head, r));
                }
                return Err(self.refuse(head, auth_refusal(&head.method, target.as_deref(), &e)));
            }
        };
        if target.is_none() && s3_data_upload(head) {
            // S3 needs the length up front: plain chunked transfer encoding is not implemented there.
            if head.header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
                let r = s3::error_resp(&head.method, 501, "NotImplemented", "A header you provided implies functionality that is not implemented", &[("Header".into(), "Transfer-Encoding".into())]);
                return Err(self.refuse(head, r));
            }
            // (Without Content-Length or chunked framing an HTTP/1.1 body is empty, so a PUT
            // without a length stores nothing it did not mean to: it is not refused here.)
        }
        let limit = Self::limit(head, target.as_deref());
        let decoded = head.header("x-amz-decoded-content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if target.is_none() && s3_data_upload(head) && decoded.is_some_and(|n| n > S3_MAX_OBJECT) {
            return Err(self.refuse(head, Self::too_large(head, None, limit)));
        }
        Ok(Admitted { limit, ticket: Ticket { verified, target, sns_link: false } })
    }

    fn body_error(&self, head: &Head, e: BodyError) -> Resp {
        let target = target_of(head);
        let r = match (e, target.as_deref()) {
            (BodyError::TooLarge { limit }, t) => Self::too_large(head, t, limit),
            (BodyError::Incomplete, None) => s3::error_resp(&head.method, 400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", &[]),
            (BodyError::Timeout, None) => s3::error_resp(
                &head.method,
                400,
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
                &[],
            ),
            // What the JSON services answer to a broken body is not documented: their
            // SerializationException is the nearest (the body cannot be deserialized).
            (_, Some(t)) => json_api::error(t.split_once('.').map(|(p, _)| p).unwrap_or(t), 400, "SerializationException", "The request body is incomplete"),
        };
        self.refuse(head, r)
    }

    fn handle(&self, req: Req, ticket: Ticket) -> BoxFut {
        let state = self.state.clone();
        blocking(move || {
            let t = Instant::now();
            let head = Head { method: req.method.clone(), path: req.path.clone(), query: req.query.clone(), headers: req.headers.clone(), peer: req.peer };
            let confirms_or_unsubscribes = ticket.sns_link;
            let mut resp = route(&state, req, ticket);
            // Durable before the answer: whatever the request changed (and the
            // executions its events start) is committed before the response leaves.
            if (head.method != "GET" && head.method != "HEAD") || confirms_or_unsubscribes {
                if let Err(e) = super::persist::flush(&state, Vec::new()) {
                    state.log(format_args!("store: {e}"));
                    resp = not_stored(&head, &e);
                }
            }
            AwsFront { state: state.clone() }.log(&head, resp.status, t);
            resp
        })
    }
}

/// The answer when a change could not be committed (a full disk, a failing device): the
/// service's internal error, which the SDKs retry. S3: InternalError 500
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); the JSON
/// services: InternalServerError 500 (DynamoDB's name for it; Step Functions and
/// EventBridge document no other).
fn not_stored(head: &Head, e: &asl_store::StoreError) -> Resp {
    let message = format!("We encountered an internal error. Please try again. (not stored: {e})");
    match target_of(head).as_deref() {
        Some(t) => json_api::error(t.split_once('.').map(|(p, _)| p).unwrap_or(t), 500, "InternalServerError", &message),
        None => s3::error_resp(&head.method, 500, "InternalError", &message, &[]),
    }
}

fn route(state: &Arc<State>, mut req: Req, ticket: Ticket) -> Resp {
    if ticket.sns_link {
        return sns::handle_query(state, &query::form_pairs(req.query.as_bytes()));
    }
    let target = ticket.target.as_deref();
    let verified = match ticket.verified {
        Some(v) => v,
        None => {
            let sreq = sigv4::Request { method: &req.method, path: &req.path, query: &req.query, headers: &req.headers, body: &req.body };
            match sigv4::verify(&sreq, &state.keys, sigv4::now_secs()) {
                Ok(v) => v,
                Err(e) => return auth_refusal(&req.method, target, &e),
            }
        }
    };
    if let Some(op) = target.and_then(|t| t.strip_prefix("AmazonSQS.")) {
        return sqs::handle_json(state, op, &req);
    }
    if target.is_none() {
        if let Some(pairs) = query_form(&req) {
            let service = query::signing_service(req.header("authorization"));
            let action = pairs.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.as_str()).unwrap_or("");
            let is_sns = service.as_deref() == Some("sns") || (service.is_none() && sns::ACTIONS.contains(&action));
            return if is_sns { sns::handle_query(state, &pairs) } else { sqs::handle_query(state, &pairs) };
        }
    }
    match target {
        Some(t) => {
            let (prefix, op) = t.split_once('.').unwrap_or((t, ""));
            json_api::handle(state, prefix, op, &req)
        }
        None => {
            let mut trailers = Vec::new();
            match sigv4::check_payload(&verified, &req.body, req.header("x-amz-decoded-content-length"), &state.keys) {
                Ok(Some(u)) => {
                    req.body = u.data.into();
                    trailers = u.trailers;
                }
                Ok(None) => {}
                Err(e) => return s3::error_resp(&req.method, e.status, e.code, &e.message, &e.extra),
            }
            // The body's integrity (Content-MD5, x-amz-checksum-*) before anything is stored.
            let upload = req.method == "PUT" && req.header("x-amz-copy-source").is_none();
            let digest = if upload { checksum::check(&req.headers, &trailers, &req.body) } else { checksum::content_md5(&req.headers, &req.body).map(|()| None) };
            let verified_checksum = match digest {
                Ok(c) => c,
                Err(e) => return s3::error_resp(&req.method, 400, e.code, &e.message, &e.extra),
            };
            let mut resp = s3::handle(state, &req);
            // S3 answers an upload with the checksum it verified, under that algorithm's header.
            if let (Some(c), true) = (verified_checksum, resp.status == 200) {
                resp.headers.retain(|(k, _)| !k.to_ascii_lowercase().starts_with("x-amz-checksum-"));
                resp.headers.push((format!("x-amz-checksum-{}", c.algorithm), c.value));
            }
            resp
        }
    }
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
