//! S3's REST/XML protocol over the embedded `asl_s3::S3`. Path-style
//! (`/bucket/key`) and virtual-host style (`bucket.localhost:4566/key`). Every change
//! emits its EventBridge event on the default bus; deliveries start executions.

use super::http::{Req, Resp};
use super::State;
use asl_s3::s3::{CopyObjectInput, ListObjectsV2Input, ListScope, MetadataDirective, PutObjectInput};
use asl_aws::time::{format_http_date, format_iso8601_millis};
use asl_aws::CallContext;
use asl_s3::S3Error;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

pub use asl_aws::xml::escape as esc;

fn unesc(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn request_id(state: &State) -> String {
    format!("{:016X}", state.next_seed())
}

pub fn error_resp(method: &str, status: u16, code: &str, message: &str, extra: &[(String, String)]) -> Resp {
    let mut x = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>", esc(code), esc(message));
    for (k, v) in extra {
        x.push_str(&format!("<{k}>{}</{k}>", esc(v)));
    }
    x.push_str("<RequestId>0000000000000000</RequestId><HostId>asl-sim</HostId></Error>");
    let r = Resp::new(status).header("content-type", "application/xml").header("x-amz-request-id", "0000000000000000");
    if method == "HEAD" {
        r
    } else {
        r.body(x.into_bytes())
    }
}

fn malformed_xml(method: &str) -> Resp {
    error_resp(method, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", &[])
}

pub fn s3_error(method: &str, e: &S3Error) -> Resp {
    let mut r = error_resp(method, e.status, &e.code, &e.message, &e.extra);
    for (k, v) in &e.headers {
        r = r.header(k, v.clone());
    }
    r
}

/// `x-amz-version-id` when the bucket has versioning.
fn with_version(r: Resp, version_id: &Option<String>) -> Resp {
    match version_id {
        Some(v) => r.header("x-amz-version-id", v.clone()),
        None => r,
    }
}

pub fn xml(body: String) -> Resp {
    Resp::new(200).header("content-type", "application/xml").body(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}").into_bytes())
}

/// (bucket, key) from the Host header and the path.
fn address(req: &Req) -> (Option<String>, Option<String>) {
    let host = req.header("host").unwrap_or("");
    let hostname = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let path = req.path.trim_start_matches('/');
    let is_ip = hostname.parse::<std::net::IpAddr>().is_ok() || hostname.starts_with('[');
    let vhost = if is_ip || hostname == "localhost" || hostname.is_empty() {
        None
    } else if let Some(b) = hostname.strip_suffix(".localhost") {
        Some(b.strip_suffix(".s3").unwrap_or(b).to_string())
    } else {
        hostname.find(".s3.").or_else(|| hostname.find(".s3-")).map(|i| hostname[..i].to_string())
    };
    let decode = |s: &str| super::sigv4::decode(s);
    match vhost {
        Some(b) => (Some(b), if path.is_empty() { None } else { Some(decode(path)) }),
        None => {
            if path.is_empty() {
                return (None, None);
            }
            match path.split_once('/') {
                Some((b, k)) if !k.is_empty() => (Some(decode(b)), Some(decode(k))),
                Some((b, _)) => (Some(decode(b)), None),
                None => (Some(decode(path)), None),
            }
        }
    }
}

fn ctx(state: &State, req: &Req) -> CallContext {
    let mut c = CallContext::new(super::wall_millis(), state.next_seed());
    c.region = super::template::REGION.into();
    c.account = super::template::ACCOUNT.into();
    c.requester = super::template::ACCOUNT.into();
    c.request_id = request_id(state);
    c.source_ip = Some(req.peer.ip().to_string());
    c
}

/// Routes the S3 events of the last change to EventBridge and starts the executions.
fn emit(state: &Arc<State>, c: &CallContext) {
    {
        let mut w = state.world.lock();
        let events = w.s3.drain_events();
        for e in events {
            let d = w.events.put_service_event(None, &e, c);
            w.pending.extend(d);
        }
    }
    // The deliveries are committed (as execution records) with the change, by the
    // AWS front door's commit after this request (persist.rs).
}

/// The object data: the AWS front door has already checked it against the signature and
/// removed any `aws-chunked` framing (sigv4::check_payload).
fn payload(req: &Req) -> Result<Vec<u8>, S3Error> {
    Ok(req.body.to_vec())
}

fn metadata(req: &Req) -> BTreeMap<String, String> {
    req.headers.iter().filter_map(|(k, v)| k.strip_prefix("x-amz-meta-").map(|m| (m.to_string(), v.clone()))).collect()
}

pub fn handle(state: &Arc<State>, req: &Req) -> Resp {
    let m = req.method.as_str();
    match address(req) {
        (None, _) => match m {
            "GET" => list_buckets(state),
            _ => error_resp(m, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]),
        },
        (Some(b), None) => bucket_op(state, req, &b),
        (Some(b), Some(k)) => object_op(state, req, &b, &k),
    }
}

fn list_buckets(state: &Arc<State>) -> Resp {
    let list = state.world.lock().s3.list_buckets();
    let mut x = format!("<ListAllMyBucketsResult xmlns=\"{NS}\"><Owner><ID>asl-sim</ID><DisplayName>asl-sim</DisplayName></Owner><Buckets>");
    for (n, t) in list {
        x.push_str(&format!("<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>", esc(&n), format_iso8601_millis(t)));
    }
    x.push_str("</Buckets></ListAllMyBucketsResult>");
    xml(x)
}

const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "acl", "tagging", "notification", "policy", "cors", "lifecycle", "website", "logging", "encryption", "replication",
    "object-lock", "retention", "legal-hold", "torrent", "restore", "select", "analytics", "metrics", "inventory",
    "intelligent-tiering", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "attributes",
];

fn not_implemented(req: &Req, on_object: bool) -> Option<Resp> {
    for s in UNSUPPORTED_SUBRESOURCES {
        if req.has_query(s) {
            let op = super::s3_extra::operation_name(&req.method, s, on_object);
            return Some(error_resp(&req.method, 501, "NotImplemented", &format!("asl-sim serve does not implement {op} (the ?{s} subresource)"), &[]));
        }
    }
    None
}

fn bucket_op(state: &Arc<State>, req: &Req, bucket: &str) -> Resp {
    if req.has_query("versioning") {
        return super::s3_versions::versioning(state, req, bucket);
    }
    if req.has_query("versions") {
        return super::s3_versions::list_versions(state, req, bucket);
    }
    if let Some(r) = not_implemented(req, false) {
        return r;
    }
    let m = req.method.as_str();
    match m {
        "PUT" => {
            let c = ctx(state, req);
            match state.world.lock().s3.create_bucket(bucket, &c) {
                Ok(()) => Resp::new(200).header("location", format!("/{bucket}")),
                Err(e) => s3_error(m, &e),
            }
        }
        "HEAD" => match state.world.lock().s3.head_bucket(bucket) {
            Ok(()) => Resp::new(200).header("x-amz-bucket-region", super::template::REGION),
            Err(e) => s3_error(m, &e),
        },
        "DELETE" => match state.world.lock().s3.delete_bucket(bucket) {
            Ok(()) => Resp::new(204),
            Err(e) => s3_error(m, &e),
        },
        "GET" if req.has_query("location") => match state.world.lock().s3.head_bucket(bucket) {
            Ok(()) => xml(format!("<LocationConstraint xmlns=\"{NS}\"/>")),
            Err(e) => s3_error(m, &e),
        },
        "GET" if req.has_query("uploads") => error_resp(m, 501, "NotImplemented", "asl-sim serve does not implement ListMultipartUploads", &[]),
        "GET" => list_objects(state, req, bucket),
        "POST" if req.has_query("delete") => delete_objects(state, req, bucket),
        _ => error_resp(m, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]),
    }
}

fn list_objects(state: &Arc<State>, req: &Req, bucket: &str) -> Resp {
    let v2 = req.query_param("list-type").as_deref() == Some("2");
    let scope = match list_scope(req, bucket) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let input = ListObjectsV2Input {
        scope,
        continuation_token: if v2 { req.query_param("continuation-token") } else { None },
        start_after: if v2 { req.query_param("start-after") } else { req.query_param("marker") },
    };
    let out = match state.world.lock().s3.list_objects_v2(&input) {
        Ok(o) => o,
        Err(e) => return s3_error("GET", &e),
    };
    let mut x = format!("<ListBucketResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix>", esc(&out.page.name), esc(&out.page.prefix));
    if v2 {
        x.push_str(&format!("<KeyCount>{}</KeyCount>", out.key_count));
    } else {
        x.push_str(&format!("<Marker>{}</Marker>", esc(input.start_after.as_deref().unwrap_or(""))));
    }
    x.push_str(&format!("<MaxKeys>{}</MaxKeys>", out.page.max_keys));
    if let Some(d) = &out.page.delimiter {
        x.push_str(&format!("<Delimiter>{}</Delimiter>", esc(d)));
    }
    x.push_str(&format!("<IsTruncated>{}</IsTruncated>", out.page.is_truncated));
    if v2 {
        if let Some(t) = &out.continuation_token {
            x.push_str(&format!("<ContinuationToken>{}</ContinuationToken>", esc(t)));
        }
        if let Some(t) = &out.next_continuation_token {
            x.push_str(&format!("<NextContinuationToken>{}</NextContinuationToken>", esc(t)));
        }
        if let Some(t) = &out.start_after {
            x.push_str(&format!("<StartAfter>{}</StartAfter>", esc(t)));
        }
    } else if out.page.is_truncated {
        let last = out.contents.last().map(|o| o.key.clone()).into_iter().chain(out.page.common_prefixes.last().cloned()).max().unwrap_or_default();
        x.push_str(&format!("<NextMarker>{}</NextMarker>", esc(&last)));
    }
    for o in &out.contents {
        x.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            esc(&o.key),
            format_iso8601_millis(o.last_modified_ms),
            esc(&o.etag),
            o.size
        ));
    }
    for p in &out.page.common_prefixes {
        x.push_str(&format!("<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>", esc(p)));
    }
    x.push_str("</ListBucketResult>");
    xml(x)
}

/// What a listing (ListObjects, ListObjectVersions) of `bucket` covers: `prefix`, `delimiter`
/// and `max-keys`, a non-negative integer.
pub fn list_scope(req: &Req, bucket: &str) -> Result<ListScope, Resp> {
    let max_keys = match req.query_param("max-keys") {
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return Err(error_resp("GET", 400, "InvalidArgument", "Provided max-keys not an integer or within integer range", &[("ArgumentName".into(), "max-keys".into()), ("ArgumentValue".into(), s)])),
        },
        None => None,
    };
    Ok(ListScope { bucket: bucket.to_string(), prefix: req.query_param("prefix"), delimiter: req.query_param("delimiter"), max_keys })
}

/// The text of every `<tag>…</tag>` in `s`, in order.
pub fn elements<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn delete_objects(state: &Arc<State>, req: &Req, bucket: &str) -> Resp {
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let quiet = elements(&body, "Quiet").first().is_some_and(|q| q.trim() == "true");
    let objects = elements(&body, "Object");
    let keys: Vec<(String, Option<String>)> = objects
        .iter()
        .filter_map(|o| elements(o, "Key").first().map(|k| (unesc(k), elements(o, "VersionId").first().map(|v| unesc(v)))))
        .collect();
    // A body that is not a <Delete> of 1 to 1,000 objects, each with its key, deletes nothing.
    if !body.contains("<Delete") || keys.is_empty() || keys.len() != objects.len() || keys.len() > 1000 {
        return malformed_xml("POST");
    }
    let c = ctx(state, req);
    let out = state.world.lock().s3.delete_object_versions(bucket, &keys, &c);
    match out {
        Ok(out) => {
            emit(state, &c);
            let mut x = format!("<DeleteResult xmlns=\"{NS}\">");
            if !quiet {
                for d in &out.deleted {
                    x.push_str(&format!("<Deleted><Key>{}</Key>", esc(&d.key)));
                    if let Some(v) = &d.version_id {
                        x.push_str(&format!("<VersionId>{}</VersionId>", esc(v)));
                    }
                    if d.delete_marker {
                        x.push_str("<DeleteMarker>true</DeleteMarker>");
                    }
                    if let Some(v) = &d.delete_marker_version_id {
                        x.push_str(&format!("<DeleteMarkerVersionId>{}</DeleteMarkerVersionId>", esc(v)));
                    }
                    x.push_str("</Deleted>");
                }
            }
            for (k, code, msg) in &out.errors {
                x.push_str(&format!("<Error><Key>{}</Key><Code>{}</Code><Message>{}</Message></Error>", esc(k), esc(code), esc(msg)));
            }
            x.push_str("</DeleteResult>");
            xml(x)
        }
        Err(e) => s3_error("POST", &e),
    }
}

fn object_headers(mut r: Resp, o: &asl_s3::s3::GetObjectOutput) -> Resp {
    r = r
        .header("etag", o.etag.clone())
        .header("content-type", o.content_type.clone())
        .header("last-modified", format_http_date(o.last_modified_ms))
        .header("accept-ranges", "bytes")
        .header("content-length", o.content_length.to_string());
    if let Some(cr) = &o.content_range {
        r = r.header("content-range", cr.clone());
    }
    if let Some(n) = o.parts_count {
        r = r.header("x-amz-mp-parts-count", n.to_string());
    }
    r = with_version(r, &o.version_id);
    for (k, v) in &o.metadata {
        r = r.header(&format!("x-amz-meta-{k}"), v.clone());
    }
    r
}

/// The `x-amz-tagging` header, when the request has one.
fn tagging_header(req: &Req) -> Result<Option<BTreeMap<String, String>>, S3Error> {
    req.header("x-amz-tagging").map(asl_s3::s3::parse_tagging_header).transpose()
}

/// The text of element `tag` in `x`, with `<tag/>` or `<tag />` (how botocore sends an empty
/// value) as "".
fn text_of(x: &str, tag: &str) -> Option<String> {
    match elements(x, tag).first() {
        Some(t) => Some(unesc(t)),
        None => (x.contains(&format!("<{tag}/>")) || x.contains(&format!("<{tag} />"))).then(String::new),
    }
}

/// Put/Get/DeleteObjectTagging (the `?tagging` subresource of an object).
fn object_tagging(state: &Arc<State>, req: &Req, bucket: &str, key: &str) -> Resp {
    let m = req.method.as_str();
    match m {
        "GET" => match state.world.lock().s3.get_object_tagging(bucket, key) {
            Ok(tags) => {
                let mut x = format!("<Tagging xmlns=\"{NS}\"><TagSet>");
                for (k, v) in &tags {
                    x.push_str(&format!("<Tag><Key>{}</Key><Value>{}</Value></Tag>", esc(k), esc(v)));
                }
                x.push_str("</TagSet></Tagging>");
                xml(x)
            }
            Err(e) => s3_error(m, &e),
        },
        "PUT" => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let tag_elems = elements(&body, "Tag");
            let tags: Option<Vec<(String, String)>> = tag_elems
                .iter()
                .map(|t| Some((text_of(t, "Key")?, text_of(t, "Value")?)))
                .collect();
            // A body that is not a <Tagging> with a <TagSet>, or a tag without its key or value.
            let Some(tags) = tags.filter(|_| body.contains("<Tagging") && body.contains("<TagSet")) else {
                return malformed_xml(m);
            };
            match state.world.lock().s3.put_object_tagging(bucket, key, &tags) {
                Ok(()) => Resp::new(200),
                Err(e) => s3_error(m, &e),
            }
        }
        "DELETE" => match state.world.lock().s3.delete_object_tagging(bucket, key) {
            Ok(()) => Resp::new(204),
            Err(e) => s3_error(m, &e),
        },
        _ => error_resp(m, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]),
    }
}

fn object_op(state: &Arc<State>, req: &Req, bucket: &str, key: &str) -> Resp {
    if req.has_query("tagging") && !req.has_query("versionId") {
        return object_tagging(state, req, bucket, key);
    }
    if let Some(r) = not_implemented(req, true) {
        return r;
    }
    let m = req.method.as_str();
    let upload_id = req.query_param("uploadId");
    let version_id = req.query_param("versionId");
    let version = version_id.as_deref();
    match (m, upload_id) {
        ("GET", None) => {
            let out = state.world.lock().s3.get_object_version(bucket, key, version, req.header("range"));
            match out {
                Ok(o) => {
                    let mut r = object_headers(Resp::new(o.status), &o);
                    if o.tag_count > 0 {
                        r = r.header("x-amz-tagging-count", o.tag_count.to_string());
                    }
                    r.body(o.body)
                }
                Err(e) => s3_error(m, &e),
            }
        }
        ("HEAD", None) => {
            let out = state.world.lock().s3.get_object_version(bucket, key, version, req.header("range"));
            match out {
                Ok(o) => object_headers(Resp::new(o.status), &o),
                Err(e) => s3_error(m, &e),
            }
        }
        ("PUT", None) => {
            let body = match payload(req) {
                Ok(b) => b,
                Err(e) => return s3_error(m, &e),
            };
            let c = ctx(state, req);
            if let Some(src) = req.header("x-amz-copy-source") {
                let Some((sb, sk, sv)) = asl_s3::s3::parse_copy_source(src) else {
                    return error_resp(m, 400, "InvalidArgument", "Invalid copy source object key", &[]);
                };
                let replace = req.header("x-amz-metadata-directive") == Some("REPLACE");
                let tags = match req.header("x-amz-tagging-directive") {
                    None | Some("COPY") => None,
                    Some("REPLACE") => match tagging_header(req) {
                        Ok(t) => Some(t.unwrap_or_default()),
                        Err(e) => return s3_error(m, &e),
                    },
                    Some(other) => return error_resp(m, 400, "InvalidArgument", &format!("Unknown tagging directive: {other}"), &[("ArgumentName".into(), "x-amz-tagging-directive".into()), ("ArgumentValue".into(), other.into())]),
                };
                let input = CopyObjectInput {
                    source_bucket: sb,
                    source_key: sk,
                    source_version_id: sv,
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    metadata_directive: if replace { MetadataDirective::Replace } else { MetadataDirective::Copy },
                    content_type: req.header("content-type").map(str::to_string),
                    metadata: metadata(req),
                    tags,
                };
                let out = state.world.lock().s3.copy_object(input, &c);
                return match out {
                    Ok(o) => {
                        emit(state, &c);
                        let r = xml(format!(
                            "<CopyObjectResult xmlns=\"{NS}\"><LastModified>{}</LastModified><ETag>{}</ETag></CopyObjectResult>",
                            format_iso8601_millis(o.last_modified_ms),
                            esc(&o.etag)
                        ));
                        let r = match &o.source_version_id {
                            Some(v) => r.header("x-amz-copy-source-version-id", v.clone()),
                            None => r,
                        };
                        with_version(r, &o.version_id)
                    }
                    Err(e) => s3_error(m, &e),
                };
            }
            let tags = match tagging_header(req) {
                Ok(t) => t.unwrap_or_default(),
                Err(e) => return s3_error(m, &e),
            };
            let input = PutObjectInput {
                bucket: bucket.to_string(),
                key: key.to_string(),
                body,
                content_type: req.header("content-type").map(str::to_string),
                metadata: metadata(req),
                tags,
            };
            let out = state.world.lock().s3.put_object(input, &c);
            match out {
                Ok(o) => {
                    emit(state, &c);
                    let mut r = with_version(Resp::new(200).header("etag", o.etag).header("x-amz-request-id", c.request_id.clone()), &o.version_id);
                    if req.headers.iter().any(|(k, _)| k.starts_with("x-amz-checksum-") || k == "x-amz-sdk-checksum-algorithm" || k == "x-amz-trailer") {
                        r = r.header("x-amz-checksum-crc32", o.checksum_crc32);
                    }
                    r
                }
                Err(e) => s3_error(m, &e),
            }
        }
        ("DELETE", None) => {
            let c = ctx(state, req);
            // If-Match: a conditional delete (412 when the object changed since it was read).
            let out = state.world.lock().s3.delete_object_version(bucket, key, version, req.header("if-match"), &c);
            match out {
                Ok(d) => {
                    emit(state, &c);
                    let r = if d.delete_marker { Resp::new(204).header("x-amz-delete-marker", "true") } else { Resp::new(204) };
                    with_version(r, &d.version_id)
                }
                Err(e) => s3_error(m, &e),
            }
        }
        ("POST", None) if req.has_query("uploads") => {
            let c = ctx(state, req);
            let tags = match tagging_header(req) {
                Ok(t) => t,
                Err(e) => return s3_error(m, &e),
            };
            let out = {
                let mut w = state.world.lock();
                w.s3.create_multipart_upload(bucket, key, req.header("content-type"), &metadata(req), &c).and_then(|id| match tags {
                    Some(t) => w.s3.set_upload_tags(bucket, key, &id, t).map(|()| id),
                    None => Ok(id),
                })
            };
            match out {
                Ok(id) => xml(format!(
                    "<InitiateMultipartUploadResult xmlns=\"{NS}\"><Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId></InitiateMultipartUploadResult>",
                    esc(bucket),
                    esc(key),
                    esc(&id)
                )),
                Err(e) => s3_error(m, &e),
            }
        }
        ("PUT", Some(id)) => {
            let n: i64 = req.query_param("partNumber").and_then(|s| s.parse().ok()).unwrap_or(0);
            if req.header("x-amz-copy-source").is_some() {
                return match super::s3_extra::upload_part_copy(state, req, bucket, key, &id, n) {
                    Ok(x) => xml(x),
                    Err(e) => s3_error(m, &e),
                };
            }
            let body = match payload(req) {
                Ok(b) => b,
                Err(e) => return s3_error(m, &e),
            };
            let c = ctx(state, req);
            let out = state.world.lock().s3.upload_part(bucket, key, &id, n, body, &c);
            match out {
                Ok(etag) => Resp::new(200).header("etag", etag),
                Err(e) => s3_error(m, &e),
            }
        }
        ("POST", Some(id)) => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let parts: Option<Vec<(i64, String)>> = elements(&body, "Part")
                .iter()
                .map(|p| {
                    let n = elements(p, "PartNumber").first().and_then(|s| s.trim().parse().ok())?;
                    let e = elements(p, "ETag").first().map(|s| unesc(s))?;
                    Some((n, e))
                })
                .collect();
            // Every part needs its number and ETag; a body without parts completes nothing.
            let Some(parts) = parts.filter(|_| body.contains("<CompleteMultipartUpload")) else {
                return malformed_xml(m);
            };
            if parts.is_empty() {
                return error_resp(m, 400, "InvalidRequest", "You must specify at least one part", &[]);
            }
            let c = ctx(state, req);
            let out = state.world.lock().s3.complete_multipart_upload(bucket, key, &id, &parts, &c);
            match out {
                Ok(o) => {
                    emit(state, &c);
                    let version = o.version_id.clone();
                    let r = xml(format!(
                        "<CompleteMultipartUploadResult xmlns=\"{NS}\"><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                        esc(&o.location),
                        esc(&o.bucket),
                        esc(&o.key),
                        esc(&o.etag)
                    ));
                    with_version(r, &version)
                }
                Err(e) => s3_error(m, &e),
            }
        }
        ("GET", Some(id)) => {
            let out = state.world.lock().s3.list_parts(bucket, key, &id);
            match out {
                Ok(parts) => {
                    let mut x = format!(
                        "<ListPartsResult xmlns=\"{NS}\"><Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId><IsTruncated>false</IsTruncated>",
                        esc(bucket),
                        esc(key),
                        esc(&id)
                    );
                    for p in parts {
                        x.push_str(&format!(
                            "<Part><PartNumber>{}</PartNumber><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size></Part>",
                            p.part_number,
                            format_iso8601_millis(p.last_modified_ms),
                            esc(&p.etag),
                            p.size
                        ));
                    }
                    x.push_str("</ListPartsResult>");
                    xml(x)
                }
                Err(e) => s3_error(m, &e),
            }
        }
        ("DELETE", Some(id)) => match state.world.lock().s3.abort_multipart_upload(bucket, key, &id) {
            Ok(()) => Resp::new(204),
            Err(e) => s3_error(m, &e),
        },
        _ => error_resp(m, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str, path: &str) -> Req {
        Req {
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("host".into(), host.into())],
            body: Default::default(),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn addressing() {
        assert_eq!(address(&req("127.0.0.1:4566", "/b/a%20b/c")), (Some("b".into()), Some("a b/c".into())));
        assert_eq!(address(&req("localhost:4566", "/b")), (Some("b".into()), None));
        assert_eq!(address(&req("b.localhost:4566", "/k")), (Some("b".into()), Some("k".into())));
        assert_eq!(address(&req("b.s3.localhost:4566", "/")), (Some("b".into()), None));
        assert_eq!(address(&req("127.0.0.1:4566", "/")), (None, None));
    }
}
