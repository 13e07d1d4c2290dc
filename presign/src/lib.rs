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

/// S3's limit for one PUT (5 GiB); bigger files need multipart, which this API does not offer.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
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
        let optional = |name: &str| var(name).filter(|v| !v.is_empty());
        Ok(Self {
            bucket: required("BUCKET_NAME")?,
            table: required("TABLE_NAME")?,
            quota_bytes: number("QUOTA_BYTES", 1024 * 1024 * 1024)?,
            url_expiry: Duration::from_secs(expiry),
            s3_endpoint: optional("AWS_ENDPOINT_URL_S3"),
            dynamodb_endpoint: optional("AWS_ENDPOINT_URL_DYNAMODB"),
        })
    }
}

/// The two routes this Lambda serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /files/create`: a presigned PUT URL.
    Create,
    /// `POST /files/fetch`: a presigned GET URL.
    Fetch,
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
        Route::Fetch => None,
        Route::Create => Some(parse_size(body.get("size"))?),
    };
    Ok(FileRequest { route, user: user.to_string(), key, size })
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
    if size > MAX_SINGLE_PUT_BYTES {
        return Err(ApiError::bad_request(format!(
            "size {size} is over the {MAX_SINGLE_PUT_BYTES}-byte limit of a single upload"
        )));
    }
    Ok(size)
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

/// What the inventory says before an upload: the user's total and the current size of the
/// key being written (0 if it does not exist or is a tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub total_bytes: u64,
    pub existing_bytes: u64,
}

/// Refuses an upload that would take the user past `quota`. Overwriting a file only counts
/// the difference. The answer is 413 with the numbers in the message.
pub fn check_quota(usage: Usage, new_size: u64, quota: u64) -> Result<(), ApiError> {
    let after = usage.total_bytes.saturating_sub(usage.existing_bytes).saturating_add(new_size);
    if after > quota {
        return Err(ApiError::new(
            413,
            "QuotaExceeded",
            format!(
                "uploading {new_size} bytes would bring your storage to {after} bytes, over your quota of {quota} bytes"
            ),
        ));
    }
    Ok(())
}

/// Reads a DynamoDB number attribute as a whole number of bytes (missing → 0).
pub fn number_attr(item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>, name: &str) -> u64 {
    item.and_then(|i| i.get(name))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i128>().ok())
        .map(|n| n.clamp(0, u64::MAX as i128) as u64)
        .unwrap_or(0)
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
