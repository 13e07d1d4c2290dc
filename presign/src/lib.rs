//! The file manager's one Lambda: presigned S3 URLs for the caller's own files.
//!
//! Everything that can be decided without AWS lives here and is unit-tested: reading the
//! API Gateway HTTP API payload 2.0 event, taking the user from the JWT authorizer's claims
//! (never from the body), validating `path` and `name`, the quota arithmetic, the
//! configuration read from the environment, presigning (which needs no network) and the
//! payload 2.0 responses with real status codes. `main.rs` only wires the AWS clients in.

use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use serde_json::{json, Map, Value};

/// S3's limit for one PUT (5 GiB); bigger files are uploaded in parts.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// S3's limit for one object (5 TiB), whatever the upload.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;
/// S3's limits for a multipart upload: at most 10,000 parts of 5 MiB to 5 GiB (the last may be smaller).
pub const MAX_PARTS: u64 = 10_000;
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The part size used when 10,000 parts do not force a bigger one (the AWS CLI's default chunk).
pub const DEFAULT_PART_BYTES: u64 = 8 * 1024 * 1024;
/// How many part URLs one answer carries; `POST /files/parts` presigns the others on demand.
pub const PART_URLS_PER_ANSWER: u64 = 100;
/// The sort-key prefix of a pending upload's reservation item (`Reservation#USER/path/name`).
pub const RESERVATION_PREFIX: &str = "Reservation#";
/// The `Pending` value that puts a reservation in the sparse `ReservationsByExpiry` index.
pub const PENDING_RESERVATION: &str = "reservation";
/// S3's limit for an object key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// SigV4 presigned URLs live at most one week.
pub const MAX_EXPIRY_SECS: u64 = 604_800;
/// The sort key of the per-user quota item.
pub const QUOTA_SK: &str = "Quota";

/// An error answered to the client: a status code and a JSON body `{"error", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidRequest", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }
    /// The payload 2.0 response for this error.
    pub fn to_response(&self) -> Value {
        response(self.status, &json!({"error": self.code, "message": self.message}))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A payload 2.0 response with an explicit status code and a JSON body.
pub fn response(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "isBase64Encoded": false,
        "body": body.to_string(),
    })
}

/// Settings read from the environment once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bucket: String,
    pub table: String,
    pub quota_bytes: u64,
    pub url_expiry: Duration,
    /// Files of this size or more are uploaded in parts.
    pub multipart_threshold: u64,
    /// How long a multipart upload's reservation lasts before the release workflow aborts it.
    pub multipart_lifetime: Duration,
    /// `AWS_ENDPOINT_URL_S3`: a local S3; path-style addressing is forced when set.
    pub s3_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`: a local DynamoDB.
    pub dynamodb_endpoint: Option<String>,
}

impl Config {
    /// Reads `BUCKET_NAME`, `TABLE_NAME` (required), `QUOTA_BYTES` (default 1 GiB),
    /// `URL_EXPIRY_SECONDS` (default 600, at most 604800), `AWS_ENDPOINT_URL_S3` and
    /// `AWS_ENDPOINT_URL_DYNAMODB` through `var`, so tests need not touch the process environment.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let required = |name: &str| {
            var(name).filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is not set"))
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match var(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number, got {v:?}")),
            }
        };
        let expiry = number("URL_EXPIRY_SECONDS", 600)?;
        if expiry == 0 || expiry > MAX_EXPIRY_SECS {
            return Err(format!("URL_EXPIRY_SECONDS must be 1..={MAX_EXPIRY_SECS}, got {expiry}"));
        }
        let threshold = number("MULTIPART_THRESHOLD_BYTES", 100 * 1024 * 1024)?;
        if !(MIN_PART_BYTES..=MAX_SINGLE_PUT_BYTES).contains(&threshold) {
            return Err(format!(
                "MULTIPART_THRESHOLD_BYTES must be {MIN_PART_BYTES}..={MAX_SINGLE_PUT_BYTES}, got {threshold}"
            ));
        }
        let lifetime = number("MULTIPART_LIFETIME_SECONDS", 86_400)?;
        if lifetime == 0 {
            return Err("MULTIPART_LIFETIME_SECONDS must be at least 1".into());
        }
        let optional = |name: &str| var(name).filter(|v| !v.is_empty());
        Ok(Self {
            bucket: required("BUCKET_NAME")?,
            table: required("TABLE_NAME")?,
            quota_bytes: number("QUOTA_BYTES", 1024 * 1024 * 1024)?,
            url_expiry: Duration::from_secs(expiry),
            multipart_threshold: threshold,
            multipart_lifetime: Duration::from_secs(lifetime),
            s3_endpoint: optional("AWS_ENDPOINT_URL_S3"),
            dynamodb_endpoint: optional("AWS_ENDPOINT_URL_DYNAMODB"),
        })
    }
}

/// The routes this Lambda serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /files/create`: reserve the size, then a presigned PUT URL or a multipart upload.
    Create,
    /// `POST /files/fetch`: a presigned GET URL.
    Fetch,
    /// `POST /files/parts`: presigned URLs for more parts of a multipart upload.
    Parts,
    /// `POST /files/complete`: complete a multipart upload.
    Complete,
    /// `POST /files/abort`: abort a multipart upload and release its reservation.
    Abort,
}

/// One part of a multipart upload, as the client reports it to `complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub part_number: u64,
    pub etag: String,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    pub route: Route,
    /// The JWT `sub` claim.
    pub user: String,
    /// `USER/path/name`, validated.
    pub key: String,
    /// The declared size in bytes (create only).
    pub size: Option<u64>,
    /// The multipart upload (parts, complete, abort).
    pub upload_id: Option<String>,
    /// The part numbers asked for (parts).
    pub part_numbers: Vec<u64>,
    /// The uploaded parts (complete).
    pub parts: Vec<UploadedPart>,
}

/// Reads a payload 2.0 event. The user is the `sub` claim that the JWT authorizer verified;
/// a `user` field in the body is ignored.
pub fn parse_event(event: &Value) -> Result<FileRequest, ApiError> {
    let route = route_of(event)?;
    let user = event
        .pointer("/requestContext/authorizer/jwt/claims/sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::new(401, "Unauthorized", "the request carries no verified user"))?;
    validate_user(user)?;
    let body = body_object(event)?;
    let path = match body.get("path") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::bad_request("path must be a string")),
    };
    let name = match body.get("name") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => return Err(ApiError::bad_request("name is required")),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
    };
    let key = build_key(user, path, name)?;
    let size = match route {
        Route::Create => Some(parse_size(body.get("size"))?),
        _ => None,
    };
    let upload_id = match route {
        Route::Parts | Route::Complete | Route::Abort => match body.get("uploadId") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => return Err(ApiError::bad_request("uploadId is required (the one create answered)")),
        },
        _ => None,
    };
    let part_numbers = if route == Route::Parts { parse_part_numbers(body.get("partNumbers"))? } else { Vec::new() };
    let parts = if route == Route::Complete { parse_parts(body.get("parts"))? } else { Vec::new() };
    Ok(FileRequest { route, user: user.to_string(), key, size, upload_id, part_numbers, parts })
}

fn route_of(event: &Value) -> Result<Route, ApiError> {
    let route_key = event.get("routeKey").and_then(Value::as_str).unwrap_or("");
    let (method, path) = match route_key.split_once(' ') {
        Some((m, p)) => (m.to_string(), p.to_string()),
        None => {
            // `$default` route: fall back to the request line.
            let m = event.pointer("/requestContext/http/method").and_then(Value::as_str);
            let p = event.get("rawPath").and_then(Value::as_str);
            (m.unwrap_or("").to_string(), p.unwrap_or("").to_string())
        }
    };
    match (method.as_str(), path.as_str()) {
        ("POST", "/files/create") => Ok(Route::Create),
        ("POST", "/files/fetch") => Ok(Route::Fetch),
        ("POST", "/files/parts") => Ok(Route::Parts),
        ("POST", "/files/complete") => Ok(Route::Complete),
        ("POST", "/files/abort") => Ok(Route::Abort),
        _ => Err(ApiError::new(404, "NoSuchRoute", format!("no route {method} {path}"))),
    }
}

fn body_object(event: &Value) -> Result<Map<String, Value>, ApiError> {
    let raw = event.get("body").and_then(Value::as_str).unwrap_or("");
    let text = if event.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        let bytes = base64_decode(raw).ok_or_else(|| ApiError::bad_request("the body is not valid base64"))?;
        String::from_utf8(bytes).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?
    } else {
        raw.to_string()
    };
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

fn parse_size(v: Option<&Value>) -> Result<u64, ApiError> {
    let size = match v {
        None | Some(Value::Null) => return Err(ApiError::bad_request("size is required for create")),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    }
    .ok_or_else(|| ApiError::bad_request("size must be a whole number of bytes"))?;
    if size > MAX_OBJECT_BYTES {
        return Err(ApiError::bad_request(format!(
            "size {size} is over S3's {MAX_OBJECT_BYTES}-byte (5 TiB) limit for one object"
        )));
    }
    Ok(size)
}

fn part_number(v: &Value) -> Result<u64, ApiError> {
    v.as_u64()
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| ApiError::bad_request(format!("part numbers are whole numbers from 1 to {MAX_PARTS}, got {v}")))
}

fn parse_part_numbers(v: Option<&Value>) -> Result<Vec<u64>, ApiError> {
    let Some(Value::Array(items)) = v else {
        return Err(ApiError::bad_request("partNumbers must be an array of part numbers"));
    };
    if items.is_empty() || items.len() as u64 > PART_URLS_PER_ANSWER {
        return Err(ApiError::bad_request(format!("partNumbers must list 1 to {PART_URLS_PER_ANSWER} parts")));
    }
    items.iter().map(part_number).collect()
}

fn parse_parts(v: Option<&Value>) -> Result<Vec<UploadedPart>, ApiError> {
    let Some(Value::Array(items)) = v else {
        return Err(ApiError::bad_request("parts must be an array of {\"partNumber\", \"etag\"}"));
    };
    if items.is_empty() || items.len() as u64 > MAX_PARTS {
        return Err(ApiError::bad_request(format!("parts must list 1 to {MAX_PARTS} parts")));
    }
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let part_number = part_number(item.get("partNumber").unwrap_or(&Value::Null))?;
        let etag = match item.get("etag").or_else(|| item.get("ETag")) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(ApiError::bad_request(format!("part {part_number} has no etag"))),
        };
        if parts.last().is_some_and(|p: &UploadedPart| p.part_number >= part_number) {
            // S3 answers InvalidPartOrder; saying it here names the part.
            return Err(ApiError::bad_request(format!("parts must be in ascending partNumber order (at part {part_number})")));
        }
        parts.push(UploadedPart { part_number, etag });
    }
    Ok(parts)
}

/// How a multipart upload is cut: every part `part_size` bytes except the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub part_size: u64,
    pub part_count: u64,
}

impl PartPlan {
    /// The smallest whole-MiB part size, at least [`DEFAULT_PART_BYTES`], that fits `size` into
    /// S3's 10,000 parts. A 5 TiB file gets 525 MiB parts (9,987 of them).
    pub fn for_size(size: u64) -> PartPlan {
        const MIB: u64 = 1024 * 1024;
        let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = needed.clamp(DEFAULT_PART_BYTES, MAX_PART_BYTES);
        PartPlan { part_size, part_count: size.div_ceil(part_size).max(1) }
    }

    /// The exact length of part `n` (1-based), which its presigned URL signs.
    pub fn part_length(&self, size: u64, n: u64) -> u64 {
        if n < self.part_count {
            self.part_size
        } else {
            size - (self.part_count - 1) * self.part_size
        }
    }
}

fn validate_user(user: &str) -> Result<(), ApiError> {
    if user.contains('/') || user.chars().any(char::is_control) || user == "." || user == ".." {
        return Err(ApiError::new(403, "Forbidden", "the token's subject cannot name a folder"));
    }
    Ok(())
}

/// Builds `USER/path/name` and checks it. `path` is a folder relative to the user's root:
/// `""`, `"docs"` or `"docs/"`, `"a/b/"`. Rejected with 400: a leading `/`, empty segments
/// (`a//b`), `.` and `..` segments, control characters, a `name` that is empty or contains
/// `/`, and keys over 1,024 bytes.
pub fn build_key(user: &str, path: &str, name: &str) -> Result<String, ApiError> {
    if let Some(c) = path.chars().chain(name.chars()).find(|c| c.is_control()) {
        return Err(ApiError::bad_request(format!(
            "path and name must not contain control characters (found U+{:04X})",
            c as u32
        )));
    }
    if path.starts_with('/') {
        return Err(ApiError::bad_request("path must be relative: it must not start with '/'"));
    }
    if name.is_empty() {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    if name.contains('/') {
        return Err(ApiError::bad_request("name must not contain '/'; put folders in path"));
    }
    let folder = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = if folder.is_empty() { Vec::new() } else { folder.split('/').collect() };
    for segment in segments.iter().chain(std::iter::once(&name)) {
        match *segment {
            "" => return Err(ApiError::bad_request("path must not contain empty segments ('//')")),
            "." | ".." => {
                return Err(ApiError::bad_request("path and name must not contain '.' or '..' segments"))
            }
            _ => {}
        }
    }
    let mut key = String::with_capacity(user.len() + path.len() + name.len() + 2);
    key.push_str(user);
    key.push('/');
    for segment in &segments {
        key.push_str(segment);
        key.push('/');
    }
    key.push_str(name);
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::bad_request(format!(
            "the key would be {} bytes; S3 keys are at most {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    Ok(key)
}

/// The sort key of the reservation item of `key`.
pub fn reservation_sk(key: &str) -> String {
    format!("{RESERVATION_PREFIX}{key}")
}

/// What `create` finds before reserving: the user's committed bytes (used + reserved) and the
/// key's pending reservation, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pending {
    pub reservation_id: String,
    pub size: u64,
    /// Unix seconds after which the reservation's URL (or multipart upload) is dead.
    pub expires: u64,
    pub upload_id: Option<String>,
}

/// Whether `create` may take over the key's existing reservation, and what the quota moves by.
/// An unexpired reservation is an upload in progress: 409, the client aborts it or waits. An
/// expired one is replaced in the same transaction (its bytes are reused, not released twice).
pub fn reservation_delta(existing: Option<&Pending>, size: u64, now: u64) -> Result<i128, ApiError> {
    match existing {
        None => Ok(size as i128),
        Some(p) if p.expires > now => Err(ApiError::new(
            409,
            "UploadInProgress",
            format!(
                "an upload of this file is in progress (its URL is valid for {} more seconds); finish it, or abort it with /files/abort",
                p.expires - now
            ),
        )),
        Some(p) => Ok(size as i128 - p.size as i128),
    }
}

/// The quota condition's bound: the transaction reserves `delta` bytes only if the user's
/// `Committed` (TotalSize + Reserved) is at most `quota - delta`. None: the request alone is over.
pub fn committed_limit(quota: u64, delta: i128) -> Option<i128> {
    let limit = quota as i128 - delta;
    (limit >= 0).then_some(limit)
}

/// The 413 answer, with the numbers the client needs.
pub fn quota_exceeded(size: u64, committed: u64, quota: u64) -> ApiError {
    ApiError::new(
        413,
        "QuotaExceeded",
        format!(
            "uploading {size} bytes would bring your storage to {} bytes (used and reserved by pending uploads), over your quota of {quota} bytes",
            committed.saturating_add(size)
        ),
    )
}

/// Reads a DynamoDB number attribute as a whole number of bytes (missing → 0).
pub fn number_attr(item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>, name: &str) -> u64 {
    item.and_then(|i| i.get(name))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i128>().ok())
        .map(|n| n.clamp(0, u64::MAX as i128) as u64)
        .unwrap_or(0)
}

/// Reads a DynamoDB string attribute.
pub fn string_attr(item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>, name: &str) -> Option<String> {
    item.and_then(|i| i.get(name)).and_then(|v| v.as_s().ok()).cloned()
}

/// Reads a reservation item.
pub fn pending_of(item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>) -> Option<Pending> {
    let reservation_id = string_attr(item, "ReservationId")?;
    Some(Pending {
        reservation_id,
        size: number_attr(item, "Size"),
        expires: number_attr(item, "Expires"),
        upload_id: string_attr(item, "UploadId"),
    })
}

/// A new reservation, as `create` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation<'a> {
    pub user: &'a str,
    pub key: &'a str,
    pub size: u64,
    pub reservation_id: &'a str,
    pub created: u64,
    pub expires: u64,
    pub upload_id: Option<&'a str>,
    pub part_size: Option<u64>,
}

/// The one conditional write that makes the quota exact: the reservation item (only if the key
/// has none, or still has the expired one `replacing` that was read) and the Quota item's
/// `Reserved` and `Committed` moved by `delta`, only if `Committed <= limit` (i.e. used +
/// reserved + this upload stays within the quota). Either both happen or neither.
pub fn reservation_transaction(
    table: &str,
    r: &Reservation<'_>,
    replacing: Option<&Pending>,
    delta: i128,
    limit: i128,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, ApiError> {
    use aws_sdk_dynamodb::types::{AttributeValue as A, Put, TransactWriteItem, Update};
    let build = |e: aws_sdk_dynamodb::error::BuildError| ApiError::internal(format!("building the reservation: {e}"));
    let mut put = Put::builder()
        .table_name(table)
        .item("PK", A::S(r.user.to_string()))
        .item("SK", A::S(reservation_sk(r.key)))
        .item("Key", A::S(r.key.to_string()))
        .item("Size", A::N(r.size.to_string()))
        .item("ReservationId", A::S(r.reservation_id.to_string()))
        .item("Created", A::N(r.created.to_string()))
        .item("Expires", A::N(r.expires.to_string()))
        .item("Pending", A::S(PENDING_RESERVATION.to_string()))
        // Not a file: the inventory's readers (and the simulator's invariants) skip it.
        .item("Live", A::Bool(false));
    if let (Some(upload_id), Some(part_size)) = (r.upload_id, r.part_size) {
        put = put.item("UploadId", A::S(upload_id.to_string())).item("PartSize", A::N(part_size.to_string()));
    }
    put = match replacing {
        None => put.condition_expression("attribute_not_exists(#sk)").expression_attribute_names("#sk", "SK"),
        Some(old) => put
            .condition_expression("#rid = :oldrid")
            .expression_attribute_names("#rid", "ReservationId")
            .expression_attribute_values(":oldrid", A::S(old.reservation_id.clone())),
    };
    let update = Update::builder()
        .table_name(table)
        .key("PK", A::S(r.user.to_string()))
        .key("SK", A::S(QUOTA_SK.to_string()))
        // TotalSize + 0: every Quota item carries all three numbers, even before a first upload.
        .update_expression("ADD #reserved :delta, #committed :delta, #total :zero")
        .condition_expression("attribute_not_exists(#committed) OR #committed <= :limit")
        .expression_attribute_names("#reserved", "Reserved")
        .expression_attribute_names("#committed", "Committed")
        .expression_attribute_names("#total", "TotalSize")
        .expression_attribute_values(":zero", A::N("0".into()))
        .expression_attribute_values(":delta", A::N(delta.to_string()))
        .expression_attribute_values(":limit", A::N(limit.to_string()))
        .build()
        .map_err(build)?;
    Ok(vec![
        TransactWriteItem::builder().put(put.build().map_err(build)?).build(),
        TransactWriteItem::builder().update(update).build(),
    ])
}

/// Releases a reservation that `abort` ended: deletes it (only if it is still the one read) and
/// takes its bytes out of `Reserved` and `Committed`.
pub fn release_transaction(
    table: &str,
    user: &str,
    key: &str,
    pending: &Pending,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, ApiError> {
    use aws_sdk_dynamodb::types::{AttributeValue as A, Delete, TransactWriteItem, Update};
    let build = |e: aws_sdk_dynamodb::error::BuildError| ApiError::internal(format!("building the release: {e}"));
    let delete = Delete::builder()
        .table_name(table)
        .key("PK", A::S(user.to_string()))
        .key("SK", A::S(reservation_sk(key)))
        .condition_expression("#rid = :rid")
        .expression_attribute_names("#rid", "ReservationId")
        .expression_attribute_values(":rid", A::S(pending.reservation_id.clone()))
        .build()
        .map_err(build)?;
    let update = Update::builder()
        .table_name(table)
        .key("PK", A::S(user.to_string()))
        .key("SK", A::S(QUOTA_SK.to_string()))
        .update_expression("ADD #reserved :minus, #committed :minus")
        .expression_attribute_names("#reserved", "Reserved")
        .expression_attribute_names("#committed", "Committed")
        .expression_attribute_values(":minus", A::N(format!("-{}", pending.size)))
        .build()
        .map_err(build)?;
    Ok(vec![
        TransactWriteItem::builder().delete(delete).build(),
        TransactWriteItem::builder().update(update).build(),
    ])
}

/// Whether an inventory item is a live file (not a tombstone).
pub fn is_live(item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>) -> bool {
    item.and_then(|i| i.get("Live")).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
}

/// The S3 client configuration: path-style addressing whenever an endpoint override is set.
pub fn s3_config(base: &aws_config::SdkConfig, cfg: &Config) -> aws_sdk_s3::Config {
    let mut builder = aws_sdk_s3::config::Builder::from(base);
    if let Some(endpoint) = &cfg.s3_endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    builder.build()
}

/// The DynamoDB client configuration, honouring `AWS_ENDPOINT_URL_DYNAMODB`.
pub fn dynamodb_config(base: &aws_config::SdkConfig, cfg: &Config) -> aws_sdk_dynamodb::Config {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(base);
    if let Some(endpoint) = &cfg.dynamodb_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

fn presigning(expiry: Duration) -> Result<PresigningConfig, ApiError> {
    PresigningConfig::expires_in(expiry).map_err(|e| ApiError::internal(format!("presigning config: {e}")))
}

/// A presigned PUT for exactly `size` bytes: Content-Length is a signed header, so S3 refuses
/// a body of any other size and the quota check cannot be dodged.
pub async fn presign_put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    size: u64,
    expiry: Duration,
) -> Result<PresignedRequest, ApiError> {
    let length = i64::try_from(size).map_err(|_| ApiError::bad_request("size is too large"))?;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_length(length)
        .presigned(presigning(expiry)?)
        .await
        .map_err(|e| ApiError::internal(format!("presigning PUT: {e}")))
}

/// A presigned UploadPart for exactly `length` bytes (Content-Length is signed, as for PUT).
pub async fn presign_part(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part_number: u64,
    length: u64,
    expiry: Duration,
) -> Result<PresignedRequest, ApiError> {
    let length = i64::try_from(length).map_err(|_| ApiError::bad_request("size is too large"))?;
    let part = i32::try_from(part_number).map_err(|_| ApiError::bad_request("part number is too large"))?;
    s3.upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(part)
        .content_length(length)
        .presigned(presigning(expiry)?)
        .await
        .map_err(|e| ApiError::internal(format!("presigning UploadPart: {e}")))
}

/// One part's entry in an answer: its number, URL and the headers to send.
pub fn part_entry(req: &PresignedRequest, part_number: u64) -> Value {
    let headers: Map<String, Value> =
        req.headers().map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.to_string()))).collect();
    json!({"partNumber": part_number, "url": req.uri(), "method": req.method(), "headers": headers})
}

/// A presigned GET.
pub async fn presign_get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    expiry: Duration,
) -> Result<PresignedRequest, ApiError> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .presigned(presigning(expiry)?)
        .await
        .map_err(|e| ApiError::internal(format!("presigning GET: {e}")))
}

/// The 200 body for a presigned request: the URL, the method and the headers the client must send.
pub fn presigned_body(req: &PresignedRequest, key: &str, user: &str, expiry: Duration, size: Option<u64>) -> Value {
    let headers: Map<String, Value> =
        req.headers().map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.to_string()))).collect();
    let relative = key.strip_prefix(user).and_then(|k| k.strip_prefix('/')).unwrap_or(key);
    let mut body = json!({
        "url": req.uri(),
        "method": req.method(),
        "headers": headers,
        "key": relative,
        "expiresIn": expiry.as_secs(),
    });
    if let Some(size) = size {
        body["size"] = json!(size);
    }
    body
}

/// Standard base64 (with or without padding), enough for API Gateway's `isBase64Encoded` bodies.
pub fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let bytes: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let trimmed = match bytes.iter().position(|&b| b == b'=') {
        Some(p) if bytes[p..].iter().all(|&b| b == b'=') && bytes.len() - p <= 2 => &bytes[..p],
        Some(_) => return None,
        None => &bytes[..],
    };
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
