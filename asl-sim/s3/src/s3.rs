//! In-memory S3: buckets, objects, multipart uploads, with S3's error codes and messages
//! and the EventBridge notifications S3 sends for buckets that have them on.
//!
//! Mutating calls push their events to an outbox; [`S3::drain_events`] hands them to the
//! caller, which puts them on the account's default bus.

use crate::util::{b64_decode, b64_encode, crc32, form_urlencode_key, md5_bytes, md5_hex};
use asl_aws::time::format_iso8601;
use asl_aws::{CallContext, Event};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub use crate::versions::{DeletedObject, Version, Versioning};

/// An S3 error: `code` and `message` as in S3's XML error body, the HTTP `status`, and the
/// extra elements S3 puts in the body (`BucketName`, `Key`, `UploadId`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub extra: Vec<(String, String)>,
    /// Response headers S3 sends with this error (`x-amz-delete-marker`, …).
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl S3Error {
    pub fn new(code: &str, message: &str, status: u16) -> Self {
        S3Error { code: code.to_string(), message: message.to_string(), status, extra: Vec::new(), headers: Vec::new() }
    }
    pub(crate) fn with_header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub(crate) fn with(mut self, k: &str, v: impl Into<String>) -> Self {
        self.extra.push((k.to_string(), v.into()));
        self
    }
    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new("NoSuchBucket", "The specified bucket does not exist", 404).with("BucketName", bucket)
    }
    pub fn no_such_key(key: &str) -> Self {
        Self::new("NoSuchKey", "The specified key does not exist.", 404).with("Key", key)
    }
    pub fn no_such_upload(upload_id: &str) -> Self {
        Self::new(
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            404,
        )
        .with("UploadId", upload_id)
    }
    fn invalid_argument(message: &str, name: &str, value: &str) -> Self {
        Self::new("InvalidArgument", message, 400).with("ArgumentName", name).with("ArgumentValue", value)
    }
    pub(crate) fn malformed_xml() -> Self {
        Self::new(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
            400,
        )
    }
}

type R<T> = Result<T, S3Error>;

/// How object keys are written in EventBridge events. AWS does not document it (see
/// aws-services.md §4.4); the default is the raw key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyEncoding {
    #[default]
    Raw,
    /// As classic notifications: space → `+`, other reserved bytes `%XX`, `/` kept.
    FormUrlEncoded,
}

/// Where a driver keeps the bytes of the bodies it stored (serve: files of its data
/// directory). The crate itself reads nothing: it asks the source, which is the driver's.
pub trait BodySource: Send + Sync {
    /// Bytes `start..end` (end exclusive) of the stored body `id`.
    fn read(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>, String>;
}

/// An object's bytes: in memory, or stored by the driver and read when asked for, so
/// that the bytes of the objects stored need not be in memory. Cloning shares them.
#[derive(Clone)]
pub struct Body(BodyRepr);

#[derive(Clone)]
enum BodyRepr {
    Bytes(std::sync::Arc<Vec<u8>>),
    Stored { id: std::sync::Arc<str>, len: u64, source: std::sync::Arc<dyn BodySource> },
}

impl Body {
    /// A body the driver stored as `id` (`len` bytes), read through `source`.
    pub fn stored(id: &str, len: u64, source: std::sync::Arc<dyn BodySource>) -> Body {
        Body(BodyRepr::Stored { id: id.into(), len, source })
    }
    pub fn len(&self) -> usize {
        match &self.0 {
            BodyRepr::Bytes(b) => b.len(),
            BodyRepr::Stored { len, .. } => *len as usize,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes when they are in memory.
    pub fn in_memory(&self) -> Option<&std::sync::Arc<Vec<u8>>> {
        match &self.0 {
            BodyRepr::Bytes(b) => Some(b),
            BodyRepr::Stored { .. } => None,
        }
    }
    /// The driver's id when the body is stored.
    pub fn stored_id(&self) -> Option<&str> {
        match &self.0 {
            BodyRepr::Bytes(_) => None,
            BodyRepr::Stored { id, .. } => Some(id),
        }
    }
    /// Bytes `start..=end`. A stored body that cannot be read is S3's InternalError (500).
    pub fn range(&self, start: u64, end: u64) -> Result<Vec<u8>, S3Error> {
        match &self.0 {
            BodyRepr::Bytes(b) => Ok(b.get(start as usize..=end as usize).map(<[u8]>::to_vec).unwrap_or_default()),
            BodyRepr::Stored { id, source, .. } => source
                .read(id, start, end.saturating_add(1))
                .map_err(|e| S3Error::new("InternalError", &format!("We encountered an internal error. Please try again. ({e})"), 500)),
        }
    }
    /// All the bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, S3Error> {
        match &self.0 {
            BodyRepr::Bytes(b) => Ok(b.as_ref().clone()),
            BodyRepr::Stored { .. } if self.is_empty() => Ok(Vec::new()),
            BodyRepr::Stored { len, .. } => self.range(0, len - 1),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body(BodyRepr::Bytes(std::sync::Arc::new(v)))
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            BodyRepr::Bytes(b) => write!(f, "Body({} bytes in memory)", b.len()),
            BodyRepr::Stored { id, len, .. } => write!(f, "Body({len} bytes stored as {id})"),
        }
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.len() == other.len() && self.bytes().ok() == other.bytes().ok()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Body,
    /// Quoted: `"<md5 hex>"` or `"<md5 of part md5s>-N"`.
    pub etag: String,
    pub content_type: String,
    /// User metadata, keys lowercased, without the `x-amz-meta-` prefix.
    pub metadata: BTreeMap<String, String>,
    pub last_modified_ms: i64,
    /// Number of parts for multipart objects.
    pub parts_count: Option<u32>,
    /// Object tags (at most 10), by key.
    pub tags: BTreeMap<String, String>,
    /// The version id; `None` is the null version (written while the bucket had no
    /// versioning, or had it suspended).
    pub version_id: Option<String>,
}

impl Object {
    pub fn size(&self) -> u64 {
        self.body.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub body: Vec<u8>,
    pub etag: String,
    pub last_modified_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub key: String,
    pub initiated_ms: i64,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
    pub parts: BTreeMap<u32, Part>,
    /// The `x-amz-tagging` of CreateMultipartUpload: the object's tags once completed.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub name: String,
    pub creation_ms: i64,
    /// "EventBridge notifications on" (`NotificationConfiguration.EventBridgeConfiguration`).
    pub eventbridge: bool,
    pub objects: BTreeMap<String, Object>,
    pub uploads: BTreeMap<String, Upload>,
    /// The last sequencer issued for this bucket.
    pub last_sequencer: u64,
    /// `None` until PutBucketVersioning.
    pub versioning: Option<Versioning>,
    /// Per key, its versions other than the current object, newest first (see versions.rs).
    pub versions: BTreeMap<String, Vec<Version>>,
}

/// Buckets and objects of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct S3 {
    pub buckets: BTreeMap<String, Bucket>,
    pub key_encoding: KeyEncoding,
    /// Emit "Object Deleted" for DeleteObject on a key that does not exist
    /// (UNVERIFIED on AWS; default true).
    pub delete_event_for_missing_key: bool,
    /// Minimum size of every part but the last (5 MiB on AWS).
    pub min_part_size: usize,
    outbox: Vec<Event>,
    /// Whether mutations are recorded for [`S3::take_changes`] (a driver that persists).
    track: bool,
    changes: Changes,
}

/// What changed since the last [`S3::take_changes`]: the driver reads each one's state
/// now (present: store it; absent: delete it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub buckets: std::collections::BTreeSet<String>,
    /// (bucket, key)
    pub objects: std::collections::BTreeSet<(String, String)>,
    /// (bucket, upload id)
    pub uploads: std::collections::BTreeSet<(String, String)>,
    /// (bucket, key) whose older versions changed.
    pub versions: std::collections::BTreeSet<(String, String)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.objects.is_empty() && self.uploads.is_empty() && self.versions.is_empty()
    }
}

/// The default `Content-Type` S3 gives an object stored without one.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutObjectInput {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Already validated ([`parse_tagging_header`] or [`validate_tags`]).
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PutObjectOutput {
    /// Quoted.
    pub etag: String,
    /// Base64 of the big-endian CRC-32.
    pub checksum_crc32: String,
    /// `x-amz-version-id` (`null` on a suspended bucket); `None` without versioning.
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetObjectOutput {
    /// The bytes returned (the range when one was applied).
    pub body: Vec<u8>,
    pub content_length: u64,
    /// `bytes a-b/size` for a range request.
    pub content_range: Option<String>,
    /// 200, or 206 for a range.
    pub status: u16,
    pub etag: String,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
    pub last_modified_ms: i64,
    pub parts_count: Option<u32>,
    /// `x-amz-tagging-count`: how many tags the object has.
    pub tag_count: usize,
    /// `x-amz-version-id`, on a bucket that has (or had) versioning.
    pub version_id: Option<String>,
}

impl GetObjectOutput {
    /// HeadObject's answer for `o`: its size and metadata without the body;
    /// `version_id` as the bucket reports it.
    fn head(o: &Object, version_id: Option<String>) -> Self {
        GetObjectOutput {
            body: Vec::new(),
            content_length: o.size(),
            content_range: None,
            status: 200,
            etag: o.etag.clone(),
            content_type: o.content_type.clone(),
            metadata: o.metadata.clone(),
            last_modified_ms: o.last_modified_ms,
            parts_count: o.parts_count,
            tag_count: o.tags.len(),
            version_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetadataDirective {
    #[default]
    Copy,
    Replace,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CopyObjectInput {
    pub source_bucket: String,
    pub source_key: String,
    /// `?versionId=` of `x-amz-copy-source`: that version instead of the current one.
    pub source_version_id: Option<String>,
    pub bucket: String,
    pub key: String,
    pub metadata_directive: MetadataDirective,
    /// Used with REPLACE.
    pub content_type: Option<String>,
    /// Used with REPLACE.
    pub metadata: BTreeMap<String, String>,
    /// `x-amz-tagging-directive`: None copies the source's tags (COPY, the default), Some
    /// replaces them (REPLACE with `x-amz-tagging`).
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyObjectOutput {
    pub etag: String,
    pub last_modified_ms: i64,
    /// `x-amz-version-id` of the copy.
    pub version_id: Option<String>,
    /// `x-amz-copy-source-version-id`, when the source bucket has versioning.
    pub source_version_id: Option<String>,
}

/// UploadPartCopy's input: part `part_number` of an upload, taken from an existing object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadPartCopyInput {
    pub source_bucket: String,
    pub source_key: String,
    pub source_version_id: Option<String>,
    /// The `x-amz-copy-source-range` value (`bytes=first-last`), or the whole object.
    pub range: Option<String>,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number: i64,
}

/// What a listing (ListObjectsV2, ListObjectVersions) covers, before where it resumes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListScope {
    pub bucket: String,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    /// Default 1000; values above 1000 are capped at 1000.
    pub max_keys: Option<i64>,
}

impl ListScope {
    /// The whole of `bucket`, in pages of the default size.
    pub fn bucket(bucket: &str) -> Self {
        ListScope { bucket: bucket.to_string(), ..Default::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListObjectsV2Input {
    pub scope: ListScope,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedObject {
    pub key: String,
    pub last_modified_ms: i64,
    pub etag: String,
    pub size: u64,
}

/// What every listing's page says of itself: the bucket, the scope as applied, whether
/// more follow, and the prefixes that keys rolled up into.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedPage {
    pub name: String,
    pub prefix: String,
    /// `None` when absent or empty.
    pub delimiter: Option<String>,
    pub max_keys: i64,
    pub is_truncated: bool,
    pub common_prefixes: Vec<String>,
}

impl ListedPage {
    /// An empty, untruncated page of bucket `name` over `scope`, `max_keys` long.
    pub fn new(name: &str, scope: &ListScope, max_keys: i64) -> Self {
        ListedPage {
            name: name.to_string(),
            prefix: scope.prefix.clone().unwrap_or_default(),
            delimiter: scope.delimiter.clone().filter(|d| !d.is_empty()),
            max_keys,
            ..Default::default()
        }
    }

    /// How many entries a page holds at most: `max_keys`, capped at 1000.
    pub fn limit(&self) -> usize {
        self.max_keys.min(1000) as usize
    }

    /// The common prefix `key` rolls up into: the prefix and the key up to and with the
    /// first delimiter after it, or `None` (no delimiter, or none after the prefix).
    pub fn rolled_up(&self, key: &str) -> Option<String> {
        let d = self.delimiter.as_deref()?;
        key[self.prefix.len()..].find(d).map(|i| key[..self.prefix.len() + i + d.len()].to_string())
    }

    /// The page's own members of the SDK's JSON response (`CommonPrefixes` only when not
    /// empty, `Delimiter` only when set), into `m`.
    pub fn insert_json(&self, m: &mut Map<String, Value>) {
        if !self.common_prefixes.is_empty() {
            m.insert("CommonPrefixes".into(), self.common_prefixes.iter().map(|p| json!({"Prefix": p})).collect());
        }
        if let Some(d) = &self.delimiter {
            m.insert("Delimiter".into(), json!(d));
        }
        m.insert("IsTruncated".into(), json!(self.is_truncated));
        m.insert("MaxKeys".into(), json!(self.max_keys));
        m.insert("Name".into(), json!(self.name));
        m.insert("Prefix".into(), json!(self.prefix));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListObjectsV2Output {
    pub page: ListedPage,
    pub key_count: usize,
    pub contents: Vec<ListedObject>,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub start_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteObjectsOutput {
    pub deleted: Vec<DeletedObject>,
    /// (key, code, message)
    pub errors: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompleteMultipartUploadOutput {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub location: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartInfo {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

/// S3 keeps LastModified to the second.
pub(crate) fn whole_seconds(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

fn quoted_md5(body: &[u8]) -> String {
    format!("\"{}\"", md5_hex(body))
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

/// Orders two sequencers of events on the same key: right-pad the shorter with `0`, then
/// compare (as AWS documents). Case-insensitive hex.
pub fn compare_sequencers(a: &str, b: &str) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let pad = |s: &str| {
        let mut t = s.to_ascii_uppercase();
        while t.len() < n {
            t.push('0');
        }
        t
    };
    pad(a).cmp(&pad(b))
}

/// Bucket-name rules (general purpose buckets).
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.len() < 3 || b.len() > 63 {
        return false;
    }
    if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-') {
        return false;
    }
    let first_last_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !first_last_ok(b[0]) || !first_last_ok(b[b.len() - 1]) {
        return false;
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return false;
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return false;
    }
    true
}

/// S3's limits on object tags (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html):
/// at most 10, keys of 1 to 128 characters not starting with `aws:`, values of up to 256, no
/// key twice. Error codes and messages as AWS answers them (aws-recorded/errors.jsonl, S3
/// tagging cases); the over-10 answer is `BadRequest` "Object tags cannot be greater than 10".
pub fn validate_tags(tags: &[(String, String)]) -> R<BTreeMap<String, String>> {
    if tags.len() > 10 {
        return Err(S3Error::new("BadRequest", "Object tags cannot be greater than 10", 400));
    }
    let mut out = BTreeMap::new();
    for (k, v) in tags {
        if k.starts_with("aws:") {
            return Err(S3Error::new("InvalidTag", "Your TagKey cannot be prefixed with aws:", 400).with("TagKey", k));
        }
        if k.is_empty() || k.chars().count() > 128 {
            return Err(S3Error::new("InvalidTag", "The TagKey you have provided is invalid", 400).with("TagKey", k));
        }
        if v.chars().count() > 256 {
            return Err(S3Error::new("InvalidTag", "The TagValue you have provided is invalid", 400).with("TagKey", k).with("TagValue", v));
        }
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err(S3Error::new("InvalidTag", "Cannot provide multiple Tags with the same key", 400).with("TagKey", k));
        }
    }
    Ok(out)
}

/// The `x-amz-tagging` header of PutObject, CopyObject and CreateMultipartUpload: URL query
/// parameters (`k1=v1&k2=v2`, percent-encoded). A key twice is InvalidArgument, as recorded.
pub fn parse_tagging_header(header: &str) -> R<BTreeMap<String, String>> {
    let bad = || {
        S3Error::invalid_argument(
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
            "x-amz-tagging",
            header,
        )
    };
    let decode = |s: &str| crate::util::percent_decode(&s.replace('+', " ")).ok_or_else(bad);
    let mut tags = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((decode(k)?, decode(v)?));
    }
    let mut seen = std::collections::BTreeSet::new();
    if !tags.iter().all(|(k, _)| seen.insert(k.clone())) {
        return Err(bad());
    }
    validate_tags(&tags)
}

/// A copy source (`x-amz-copy-source`, the SDK's `CopySource`): `bucket/key` or
/// `/bucket/key`, URL-encoded, optionally with `?versionId=`: (bucket, key, version id).
/// `None` when a part is missing or not valid percent-encoding.
pub fn parse_copy_source(s: &str) -> Option<(String, String, Option<String>)> {
    let (path, query) = s.split_once('?').unwrap_or((s, ""));
    let version = match query.split('&').find_map(|p| p.strip_prefix("versionId=")) {
        Some(v) => Some(crate::util::percent_decode(v)?),
        None => None,
    };
    let (b, k) = path.strip_prefix('/').unwrap_or(path).split_once('/')?;
    if b.is_empty() || k.is_empty() {
        return None;
    }
    Some((crate::util::percent_decode(b)?, crate::util::percent_decode(k)?, version))
}

/// Parses a Range header as S3 does: `Ok(None)` means "ignore it, return the whole object"
/// (not a byte range, several ranges, or syntactically invalid); `Err` is InvalidRange.
pub fn parse_range(header: &str, size: u64) -> R<Option<(u64, u64)>> {
    let invalid = || {
        S3Error::new("InvalidRange", "The requested range is not satisfiable", 416)
            .with("RangeRequested", header)
            .with("ActualObjectSize", size.to_string())
    };
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    if a.is_empty() {
        let Some(n) = num(b) else { return Ok(None) };
        if n == 0 || size == 0 {
            return Err(invalid());
        }
        let n = n.min(size);
        return Ok(Some((size - n, size - 1)));
    }
    let Some(start) = num(a) else { return Ok(None) };
    let end = if b.is_empty() {
        None
    } else {
        match num(b) {
            Some(e) => Some(e),
            None => return Ok(None),
        }
    };
    if let Some(e) = end {
        if e < start {
            return Ok(None);
        }
    }
    if start >= size {
        return Err(invalid());
    }
    let end = end.map_or(size - 1, |e| e.min(size - 1));
    Ok(Some((start, end)))
}

pub(crate) fn check_key(key: &str) -> R<()> {
    if key.is_empty() {
        return Err(S3Error::new("InvalidArgument", "Invalid argument.", 400));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(S3Error::new("KeyTooLongError", "Your key is too long", 400));
    }
    Ok(())
}

fn normalize_metadata(m: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let k = k.strip_prefix("x-amz-meta-").map(str::to_string).unwrap_or(k);
            (k, v.clone())
        })
        .collect()
}

impl Default for S3 {
    fn default() -> Self {
        S3::new()
    }
}

pub(crate) enum Change {
    Created { size: u64, etag: String, reason: &'static str, version_id: Option<String> },
    /// `marker`: a delete marker was created (`version_id` is the marker's).
    Deleted { reason: &'static str, version_id: Option<String>, marker: bool },
}

impl S3 {
    pub fn new() -> Self {
        S3 {
            buckets: BTreeMap::new(),
            key_encoding: KeyEncoding::Raw,
            delete_event_for_missing_key: true,
            min_part_size: 5 * 1024 * 1024,
            outbox: Vec::new(),
            track: false,
            changes: Changes::default(),
        }
    }

    /// Starts recording mutations for [`S3::take_changes`].
    pub fn track_changes(&mut self) {
        self.track = true;
    }

    /// Records everything as changed (a driver storing the whole state once).
    pub fn mark_all_changed(&mut self) {
        for (name, b) in &self.buckets {
            self.changes.buckets.insert(name.clone());
            self.changes.objects.extend(b.objects.keys().map(|k| (name.clone(), k.clone())));
            self.changes.uploads.extend(b.uploads.keys().map(|u| (name.clone(), u.clone())));
            self.changes.versions.extend(b.versions.keys().map(|k| (name.clone(), k.clone())));
        }
    }

    /// The buckets, objects and uploads changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Records again as changed what an earlier [`S3::take_changes`] gave (a driver whose
    /// commit of it failed): the next call reads their state then.
    pub fn restore_changes(&mut self, c: Changes) {
        self.changes.buckets.extend(c.buckets);
        self.changes.objects.extend(c.objects);
        self.changes.uploads.extend(c.uploads);
        self.changes.versions.extend(c.versions);
    }

    pub(crate) fn touched_versions(&mut self, bucket: &str, key: &str) {
        if self.track {
            self.changes.versions.insert((bucket.to_string(), key.to_string()));
        }
    }

    pub(crate) fn touched_object(&mut self, bucket: &str, key: &str) {
        if self.track {
            self.changes.objects.insert((bucket.to_string(), key.to_string()));
        }
    }

    fn touched_upload(&mut self, bucket: &str, upload_id: &str) {
        if self.track {
            self.changes.uploads.insert((bucket.to_string(), upload_id.to_string()));
        }
    }

    pub(crate) fn touched_bucket(&mut self, bucket: &str) {
        if self.track {
            self.changes.buckets.insert(bucket.to_string());
        }
    }

    /// Takes the events produced since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.outbox)
    }

    pub(crate) fn bucket(&self, name: &str) -> R<&Bucket> {
        self.buckets.get(name).ok_or_else(|| S3Error::no_such_bucket(name))
    }

    pub(crate) fn bucket_mut(&mut self, name: &str) -> R<&mut Bucket> {
        self.buckets.get_mut(name).ok_or_else(|| S3Error::no_such_bucket(name))
    }

    pub(crate) fn emit(&mut self, bucket: &str, key: &str, change: Change, ctx: &CallContext) {
        let encoding = self.key_encoding;
        let Some(b) = self.buckets.get_mut(bucket) else { return };
        if !b.eventbridge {
            return;
        }
        // Real events carry 18 uppercase hex digits: `00`, the epoch seconds (8 digits),
        // then 8 more (e.g. `0069B21FFD0745EE4E` at 2026-03-12T02:07:57Z). Here the low
        // 8 digits count up, so sequencers increase per bucket.
        let base = ((ctx.now_ms.max(0) / 1000) as u64) << 32;
        let seq = base.max(b.last_sequencer.saturating_add(1));
        b.last_sequencer = seq;
        let sequencer = format!("00{seq:016X}");
        let key = match encoding {
            KeyEncoding::Raw => key.to_string(),
            KeyEncoding::FormUrlEncoded => form_urlencode_key(key),
        };
        let mut detail = Map::new();
        detail.insert("version".into(), json!("0"));
        detail.insert("bucket".into(), json!({"name": bucket}));
        let (detail_type, reason, deletion_type) = match change {
            // `version-id` only for a version that has one: AWS documents it "if the bucket is
            // versioned", and a null version (suspended bucket) has none to give.
            Change::Created { size, etag, reason, version_id } => {
                let mut o = json!({"key": key, "size": size, "etag": unquote(&etag)});
                if let Some(v) = version_id {
                    o["version-id"] = json!(v);
                }
                o["sequencer"] = json!(sequencer);
                detail.insert("object".into(), o);
                ("Object Created", reason, None)
            }
            Change::Deleted { reason, version_id, marker } => {
                let mut o = json!({"key": key});
                if marker {
                    // The delete marker's ETag is the MD5 of nothing (ev-events.md's example).
                    o["etag"] = json!("d41d8cd98f00b204e9800998ecf8427e");
                }
                if let Some(v) = version_id {
                    o["version-id"] = json!(v);
                }
                o["sequencer"] = json!(sequencer);
                detail.insert("object".into(), o);
                ("Object Deleted", reason, Some(if marker { "Delete Marker Created" } else { "Permanently Deleted" }))
            }
        };
        detail.insert("request-id".into(), json!(ctx.request_id));
        detail.insert("requester".into(), json!(ctx.requester));
        if let Some(ip) = &ctx.source_ip {
            detail.insert("source-ip-address".into(), json!(ip));
        }
        detail.insert("reason".into(), json!(reason));
        if let Some(dt) = deletion_type {
            detail.insert("deletion-type".into(), json!(dt));
        }
        self.outbox.push(Event {
            id: ctx.ids.next_uuid(),
            detail_type: detail_type.to_string(),
            source: "aws.s3".to_string(),
            account: ctx.account.clone(),
            time: format_iso8601(ctx.now_ms),
            region: ctx.region.clone(),
            resources: vec![format!("arn:aws:s3:::{bucket}")],
            detail: Value::Object(detail),
        });
    }

    // ------------------------------------------------------------------ buckets

    /// CreateBucket.
    pub fn create_bucket(&mut self, name: &str, ctx: &CallContext) -> R<()> {
        if !valid_bucket_name(name) {
            return Err(S3Error::new("InvalidBucketName", "The specified bucket is not valid.", 400)
                .with("BucketName", name));
        }
        if self.buckets.contains_key(name) {
            return Err(S3Error::new(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                409,
            )
            .with("BucketName", name));
        }
        self.buckets.insert(
            name.to_string(),
            Bucket {
                name: name.to_string(),
                creation_ms: ctx.now_ms,
                eventbridge: false,
                objects: BTreeMap::new(),
                uploads: BTreeMap::new(),
                last_sequencer: 0,
                versioning: None,
                versions: BTreeMap::new(),
            },
        );
        self.touched_bucket(name);
        Ok(())
    }

    /// DeleteBucket: the bucket must be empty.
    pub fn delete_bucket(&mut self, name: &str) -> R<()> {
        let b = self.bucket(name)?;
        if !b.is_empty() {
            let message = if b.versioning.is_some() {
                "The bucket you tried to delete is not empty. You must delete all versions in the bucket."
            } else {
                "The bucket you tried to delete is not empty"
            };
            return Err(S3Error::new("BucketNotEmpty", message, 409)
                .with("BucketName", name));
        }
        self.buckets.remove(name);
        self.touched_bucket(name);
        Ok(())
    }

    /// HeadBucket.
    pub fn head_bucket(&self, name: &str) -> R<()> {
        self.bucket(name).map(|_| ())
    }

    /// ListBuckets: (name, creation time), by name.
    pub fn list_buckets(&self) -> Vec<(String, i64)> {
        self.buckets.values().map(|b| (b.name.clone(), b.creation_ms)).collect()
    }

    /// PutBucketNotificationConfiguration with/without `EventBridgeConfiguration`.
    pub fn set_eventbridge(&mut self, bucket: &str, on: bool) -> R<()> {
        self.bucket_mut(bucket)?.eventbridge = on;
        self.touched_bucket(bucket);
        Ok(())
    }

    // ------------------------------------------------------------------ objects

    /// PutObject.
    pub fn put_object(&mut self, input: PutObjectInput, ctx: &CallContext) -> R<PutObjectOutput> {
        check_key(&input.key)?;
        self.bucket(&input.bucket)?;
        let etag = quoted_md5(&input.body);
        let checksum = b64_encode(&crc32(&input.body).to_be_bytes());
        let size = input.body.len() as u64;
        let obj = Object {
            body: input.body.into(),
            etag: etag.clone(),
            content_type: input.content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
            metadata: normalize_metadata(&input.metadata),
            last_modified_ms: whole_seconds(ctx.now_ms),
            parts_count: None,
            tags: input.tags,
            version_id: None,
        };
        let version_id = self.install(&input.bucket, &input.key, obj, ctx)?;
        let event_version = version_id.clone().filter(|v| v != "null");
        self.emit(&input.bucket, &input.key, Change::Created { size, etag: etag.clone(), reason: "PutObject", version_id: event_version }, ctx);
        Ok(PutObjectOutput { etag, checksum_crc32: checksum, version_id })
    }

    /// The stored object, if any.
    pub fn object(&self, bucket: &str, key: &str) -> Option<&Object> {
        self.buckets.get(bucket)?.objects.get(key)
    }

    /// GetObject with an optional `Range` header value.
    pub fn get_object(&self, bucket: &str, key: &str, range: Option<&str>) -> R<GetObjectOutput> {
        self.get_object_version(bucket, key, None, range)
    }

    /// GetObject of the current object or of a version ([`S3::find_version`]).
    pub fn get_object_version(&self, bucket: &str, key: &str, version_id: Option<&str>, range: Option<&str>) -> R<GetObjectOutput> {
        let o = self.find_version(bucket, key, version_id, "GET")?;
        let reported = self.bucket(bucket)?.versioning.map(|_| crate::versions::version_label(o.version_id.as_deref()));
        let size = o.size();
        let r = match range {
            Some(h) => parse_range(h, size)?,
            None => None,
        };
        let (body, content_range, status) = match r {
            Some((a, b)) => (o.body.range(a, b)?, Some(format!("bytes {a}-{b}/{size}")), 206),
            None => (o.body.bytes()?, None, 200),
        };
        Ok(GetObjectOutput { content_length: body.len() as u64, body, content_range, status, ..GetObjectOutput::head(o, reported) })
    }

    /// HeadObject: GetObject without the body. A missing key is a 404 without a body
    /// (the code is reported as `NoSuchKey` here, as the SDKs model it).
    pub fn head_object(&self, bucket: &str, key: &str) -> R<GetObjectOutput> {
        self.head_object_version(bucket, key, None)
    }

    /// HeadObject of the current object or of a version.
    pub fn head_object_version(&self, bucket: &str, key: &str, version_id: Option<&str>) -> R<GetObjectOutput> {
        let o = self.find_version(bucket, key, version_id, "HEAD")?;
        let reported = self.bucket(bucket)?.versioning.map(|_| crate::versions::version_label(o.version_id.as_deref()));
        Ok(GetObjectOutput::head(o, reported))
    }

    /// DeleteObject: succeeds whether or not the key exists (unversioned bucket).
    pub fn delete_object(&mut self, bucket: &str, key: &str, ctx: &CallContext) -> R<()> {
        self.delete_object_if_match(bucket, key, None, ctx)
    }

    /// DeleteObject with `If-Match` (a conditional delete): with an ETag (quoted or not)
    /// the object is deleted only if it still has that ETag, `*` only if it exists. A
    /// missing key is `NoSuchKey` (404) and another ETag `PreconditionFailed` (412), as S3
    /// answers for general purpose buckets: a delete decided on an older read cannot
    /// remove an object written since.
    pub fn delete_object_if_match(&mut self, bucket: &str, key: &str, if_match: Option<&str>, ctx: &CallContext) -> R<()> {
        self.delete_object_version(bucket, key, None, if_match, ctx).map(|_| ())
    }

    /// DeleteObjects (1–1000 keys): per-key results. Every key is reported deleted, as S3
    /// does for unversioned buckets.
    pub fn delete_objects(&mut self, bucket: &str, keys: &[String], ctx: &CallContext) -> R<DeleteObjectsOutput> {
        let objects: Vec<(String, Option<String>)> = keys.iter().map(|k| (k.clone(), None)).collect();
        self.delete_object_versions(bucket, &objects, ctx)
    }

    /// CopyObject.
    pub fn copy_object(&mut self, input: CopyObjectInput, ctx: &CallContext) -> R<CopyObjectOutput> {
        check_key(&input.key)?;
        let src = self.copy_source(&input.source_bucket, &input.source_key, input.source_version_id.as_deref())?.clone();
        let source_version_id = self.bucket(&input.source_bucket)?.versioning.map(|_| crate::versions::version_label(src.version_id.as_deref()));
        self.bucket(&input.bucket)?;
        if input.source_bucket == input.bucket
            && input.source_key == input.key
            && input.source_version_id.is_none()
            && input.metadata_directive == MetadataDirective::Copy
        {
            return Err(S3Error::new(
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
                400,
            ));
        }
        let (content_type, metadata) = match input.metadata_directive {
            MetadataDirective::Copy => (src.content_type.clone(), src.metadata.clone()),
            MetadataDirective::Replace => (
                input.content_type.clone().unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
                normalize_metadata(&input.metadata),
            ),
        };
        // A single-part object's ETag is its MD5; a multipart one's copy gets the MD5 of its bytes.
        let etag = if src.parts_count.is_none() && !src.etag.contains('-') { src.etag.clone() } else { quoted_md5(&src.body.bytes()?) };
        let size = src.size();
        let obj = Object {
            body: src.body,
            etag: etag.clone(),
            content_type,
            metadata,
            last_modified_ms: whole_seconds(ctx.now_ms),
            parts_count: None,
            tags: input.tags.unwrap_or(src.tags),
            version_id: None,
        };
        let version_id = self.install(&input.bucket, &input.key, obj, ctx)?;
        let event_version = version_id.clone().filter(|v| v != "null");
        self.emit(&input.bucket, &input.key, Change::Created { size, etag: etag.clone(), reason: "CopyObject", version_id: event_version }, ctx);
        Ok(CopyObjectOutput { etag, last_modified_ms: whole_seconds(ctx.now_ms), version_id, source_version_id })
    }

    /// The source of a copy: the current object or a version; a delete marker named by its
    /// version id is InvalidRequest, as S3 answers.
    fn copy_source(&self, bucket: &str, key: &str, version_id: Option<&str>) -> R<&Object> {
        self.find_version(bucket, key, version_id, "PUT").map_err(|e| {
            if e.code == "MethodNotAllowed" {
                S3Error::new("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.", 400)
            } else {
                let mut e = e;
                e.headers.clear();
                e
            }
        })
    }

    /// ListObjectsV2: keys in UTF-8 byte order, `Delimiter` rolls keys up into
    /// CommonPrefixes, `MaxKeys` counts both, the continuation token is opaque.
    pub fn list_objects_v2(&self, input: &ListObjectsV2Input) -> R<ListObjectsV2Output> {
        let b = self.bucket(&input.scope.bucket)?;
        let max_keys = match input.scope.max_keys {
            None => 1000,
            Some(n) if n < 0 => {
                return Err(S3Error::invalid_argument(
                    "Argument maxKeys must be an integer between 0 and 2147483647",
                    "maxKeys",
                    &n.to_string(),
                ))
            }
            Some(n) => n,
        };
        let mut page = ListedPage::new(&b.name, &input.scope, max_keys);
        let limit = page.limit();
        let marker = match &input.continuation_token {
            Some(t) => {
                let decoded = b64_decode(t)
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|s| s.strip_prefix("v2:").map(str::to_string));
                match decoded {
                    Some(m) => Some(m),
                    None => {
                        return Err(S3Error::invalid_argument(
                            "The continuation token provided is incorrect",
                            "continuation-token",
                            t,
                        ))
                    }
                }
            }
            None => input.start_after.clone(),
        };
        let mut contents = Vec::new();
        let mut last_emitted: Option<String> = None;
        let prefix = page.prefix.clone();
        let range_start = match &marker {
            Some(m) if m.as_str() > prefix.as_str() => std::ops::Bound::Excluded(m.clone()),
            _ => std::ops::Bound::Included(prefix.clone()),
        };
        for (k, o) in b.objects.range((range_start, std::ops::Bound::Unbounded)) {
            if !k.starts_with(&prefix) {
                if k.as_str() > prefix.as_str() {
                    break;
                }
                continue;
            }
            // A key rolled up into a common prefix already returned is skipped.
            let rolled = page.rolled_up(k);
            if let Some(cp) = &rolled {
                if marker.as_deref() == Some(cp.as_str()) || page.common_prefixes.last() == Some(cp) {
                    continue;
                }
            }
            if contents.len() + page.common_prefixes.len() >= limit {
                page.is_truncated = true;
                break;
            }
            match rolled {
                Some(cp) => {
                    last_emitted = Some(cp.clone());
                    page.common_prefixes.push(cp);
                }
                None => {
                    last_emitted = Some(k.clone());
                    contents.push(ListedObject {
                        key: k.clone(),
                        last_modified_ms: o.last_modified_ms,
                        etag: o.etag.clone(),
                        size: o.size(),
                    });
                }
            }
        }
        let next = if page.is_truncated {
            last_emitted.map(|m| b64_encode(format!("v2:{m}").as_bytes()))
        } else {
            None
        };
        Ok(ListObjectsV2Output {
            key_count: contents.len() + page.common_prefixes.len(),
            page,
            contents,
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: next,
            start_after: input.start_after.clone(),
        })
    }

    // ------------------------------------------------------------------ multipart

    /// CreateMultipartUpload → UploadId.
    pub fn create_multipart_upload(
        &mut self,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
        metadata: &BTreeMap<String, String>,
        ctx: &CallContext,
    ) -> R<String> {
        check_key(key)?;
        let id = ctx.ids.next_token(64);
        let b = self.bucket_mut(bucket)?;
        b.uploads.insert(
            id.clone(),
            Upload {
                key: key.to_string(),
                initiated_ms: ctx.now_ms,
                content_type: content_type.unwrap_or(DEFAULT_CONTENT_TYPE).to_string(),
                metadata: normalize_metadata(metadata),
                parts: BTreeMap::new(),
                tags: BTreeMap::new(),
            },
        );
        self.touched_upload(bucket, &id);
        Ok(id)
    }

    fn upload_mut(&mut self, bucket: &str, key: &str, upload_id: &str) -> R<&mut Upload> {
        let b = self.bucket_mut(bucket)?;
        match b.uploads.get_mut(upload_id) {
            Some(u) if u.key == key => Ok(u),
            _ => Err(S3Error::no_such_upload(upload_id)),
        }
    }

    /// UploadPart (part numbers 1–10000) → the part's quoted ETag.
    pub fn upload_part(
        &mut self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i64,
        body: Vec<u8>,
        ctx: &CallContext,
    ) -> R<String> {
        self.upload_mut(bucket, key, upload_id)?;
        if !(1..=10_000).contains(&part_number) {
            return Err(S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
                "partNumber",
                &part_number.to_string(),
            ));
        }
        let etag = quoted_md5(&body);
        let u = self.upload_mut(bucket, key, upload_id)?;
        u.parts.insert(part_number as u32, Part { body, etag: etag.clone(), last_modified_ms: whole_seconds(ctx.now_ms) });
        self.touched_upload(bucket, upload_id);
        Ok(etag)
    }

    /// The tags CreateMultipartUpload's `x-amz-tagging` gives the object when it completes.
    pub fn set_upload_tags(&mut self, bucket: &str, key: &str, upload_id: &str, tags: BTreeMap<String, String>) -> R<()> {
        self.upload_mut(bucket, key, upload_id)?.tags = tags;
        self.touched_upload(bucket, upload_id);
        Ok(())
    }

    /// PutObjectTagging: the object's tags become exactly these.
    pub fn put_object_tagging(&mut self, bucket: &str, key: &str, tags: &[(String, String)]) -> R<()> {
        let tags = validate_tags(tags)?;
        self.bucket_mut(bucket)?.objects.get_mut(key).ok_or_else(|| S3Error::no_such_key(key))?.tags = tags;
        self.touched_object(bucket, key);
        Ok(())
    }

    /// GetObjectTagging: the tags, sorted by key (AWS's documentation does not say in which
    /// order it lists them).
    pub fn get_object_tagging(&self, bucket: &str, key: &str) -> R<BTreeMap<String, String>> {
        Ok(self.bucket(bucket)?.objects.get(key).ok_or_else(|| S3Error::no_such_key(key))?.tags.clone())
    }

    /// DeleteObjectTagging: removes every tag (the object stays).
    pub fn delete_object_tagging(&mut self, bucket: &str, key: &str) -> R<()> {
        self.bucket_mut(bucket)?.objects.get_mut(key).ok_or_else(|| S3Error::no_such_key(key))?.tags.clear();
        self.touched_object(bucket, key);
        Ok(())
    }

    /// UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html):
    /// the source's bytes, whole or `bytes=first-last` (both offsets required, unlike GetObject's
    /// Range), become the part. Returns the part's ETag and time, as CopyPartResult reports them.
    pub fn upload_part_copy(&mut self, input: UploadPartCopyInput, ctx: &CallContext) -> R<CopyObjectOutput> {
        let range = match &input.range {
            None => None,
            Some(r) => Some(
                r.strip_prefix("bytes=")
                    .and_then(|x| x.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                    .filter(|(a, b)| a <= b)
                    .ok_or_else(|| {
                        S3Error::new(
                            "InvalidArgument",
                            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                            400,
                        )
                    })?,
            ),
        };
        let source = self.copy_source(&input.source_bucket, &input.source_key, input.source_version_id.as_deref())?;
        let size = source.size();
        let body = match range {
            None => source.body.bytes()?,
            Some((_, last)) if last >= size => {
                return Err(S3Error::new("InvalidArgument", &format!("Range specified is not valid for source object of size: {size}"), 400))
            }
            Some((first, last)) => source.body.range(first, last)?,
        };
        let etag = self.upload_part(&input.bucket, &input.key, &input.upload_id, input.part_number, body, ctx)?;
        Ok(CopyObjectOutput { etag, last_modified_ms: whole_seconds(ctx.now_ms), version_id: None, source_version_id: None })
    }

    /// ListParts.
    pub fn list_parts(&mut self, bucket: &str, key: &str, upload_id: &str) -> R<Vec<PartInfo>> {
        let u = self.upload_mut(bucket, key, upload_id)?;
        Ok(u.parts
            .iter()
            .map(|(n, p)| PartInfo {
                part_number: *n,
                etag: p.etag.clone(),
                size: p.body.len() as u64,
                last_modified_ms: p.last_modified_ms,
            })
            .collect())
    }

    /// AbortMultipartUpload.
    pub fn abort_multipart_upload(&mut self, bucket: &str, key: &str, upload_id: &str) -> R<()> {
        self.upload_mut(bucket, key, upload_id)?;
        self.bucket_mut(bucket)?.uploads.remove(upload_id);
        self.touched_upload(bucket, upload_id);
        Ok(())
    }

    /// CompleteMultipartUpload with the (PartNumber, ETag) list. The object's ETag is
    /// `"<md5 of the concatenated binary part MD5s>-<number of parts>"`.
    pub fn complete_multipart_upload(
        &mut self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i64, String)],
        ctx: &CallContext,
    ) -> R<CompleteMultipartUploadOutput> {
        let min_part = self.min_part_size;
        let u = self.upload_mut(bucket, key, upload_id)?;
        if parts.is_empty() {
            return Err(S3Error::new("InvalidRequest", "You must specify at least one part", 400));
        }
        let mut prev = 0i64;
        for (n, _) in parts {
            if *n <= prev {
                return Err(S3Error::new(
                    "InvalidPartOrder",
                    "The list of parts was not in ascending order. Parts must be ordered by part number.",
                    400,
                )
                .with("UploadId", upload_id));
            }
            prev = *n;
        }
        let mut chosen: Vec<&Part> = Vec::with_capacity(parts.len());
        for (n, etag) in parts {
            let p = u32::try_from(*n).ok().and_then(|n| u.parts.get(&n));
            match p {
                Some(p) if unquote(&p.etag) == unquote(etag) => chosen.push(p),
                _ => {
                    return Err(S3Error::new(
                        "InvalidPart",
                        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                        400,
                    )
                    .with("UploadId", upload_id)
                    .with("PartNumber", n.to_string())
                    .with("ETag", unquote(etag).to_string()))
                }
            }
        }
        for (i, p) in chosen.iter().enumerate() {
            if i + 1 < chosen.len() && p.body.len() < min_part {
                return Err(S3Error::new(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    400,
                )
                .with("ProposedSize", p.body.len().to_string())
                .with("MinSizeAllowed", min_part.to_string())
                .with("PartNumber", parts[i].0.to_string())
                .with("ETag", unquote(&p.etag).to_string()));
            }
        }
        let mut digests = Vec::with_capacity(16 * chosen.len());
        let mut body = Vec::new();
        for p in &chosen {
            digests.extend_from_slice(&md5_bytes(&p.body));
            body.extend_from_slice(&p.body);
        }
        let etag = format!("\"{}-{}\"", md5_hex(&digests), chosen.len());
        let (content_type, metadata, tags) = (u.content_type.clone(), u.metadata.clone(), u.tags.clone());
        let count = chosen.len() as u32;
        let size = body.len() as u64;
        self.bucket_mut(bucket)?.uploads.remove(upload_id);
        let obj = Object { body: body.into(), etag: etag.clone(), content_type, metadata, last_modified_ms: whole_seconds(ctx.now_ms), parts_count: Some(count), tags, version_id: None };
        let version_id = self.install(bucket, key, obj, ctx)?;
        self.touched_upload(bucket, upload_id);
        let event_version = version_id.clone().filter(|v| v != "null");
        self.emit(bucket, key, Change::Created { size, etag: etag.clone(), reason: "CompleteMultipartUpload", version_id: event_version }, ctx);
        Ok(CompleteMultipartUploadOutput {
            bucket: bucket.to_string(),
            key: key.to_string(),
            etag,
            location: format!("https://{bucket}.s3.{}.amazonaws.com/{}", ctx.region, crate::util::form_urlencode_key(key).replace('+', "%20")),
            version_id,
        })
    }

    // ------------------------------------------------------------------ persistence

    /// State as JSON. Bodies are stored as UTF-8 text when valid, base64 otherwise
    /// (`"encoding": "utf8" | "base64"`). The event outbox is not saved.
    pub fn to_json(&self) -> Value {
        fn body_json(body: &[u8]) -> (Value, &'static str) {
            match std::str::from_utf8(body) {
                Ok(s) => (json!(s), "utf8"),
                Err(_) => (json!(b64_encode(body)), "base64"),
            }
        }
        let mut buckets = Map::new();
        for (name, b) in &self.buckets {
            let mut objects = Map::new();
            let object_json = |o: &Object| {
                let (body, enc) = body_json(&o.body.bytes().unwrap_or_default());
                let mut m = Map::new();
                m.insert("body".into(), body);
                m.insert("encoding".into(), json!(enc));
                m.insert("etag".into(), json!(o.etag));
                m.insert("contentType".into(), json!(o.content_type));
                m.insert("metadata".into(), json!(o.metadata));
                m.insert("lastModified".into(), json!(o.last_modified_ms));
                if let Some(n) = o.parts_count {
                    m.insert("partsCount".into(), json!(n));
                }
                if !o.tags.is_empty() {
                    m.insert("tags".into(), json!(o.tags));
                }
                if let Some(v) = &o.version_id {
                    m.insert("versionId".into(), json!(v));
                }
                Value::Object(m)
            };
            for (k, o) in &b.objects {
                objects.insert(k.clone(), object_json(o));
            }
            let mut versions = Map::new();
            for (k, list) in &b.versions {
                let entries = list
                    .iter()
                    .map(|v| match v {
                        Version::Object(o) => object_json(o),
                        Version::DeleteMarker(m) => crate::versions::marker_json(m),
                    })
                    .collect();
                versions.insert(k.clone(), Value::Array(entries));
            }
            let mut uploads = Map::new();
            for (id, u) in &b.uploads {
                let mut parts = Map::new();
                for (n, p) in &u.parts {
                    let (body, enc) = body_json(&p.body);
                    parts.insert(
                        n.to_string(),
                        json!({"body": body, "encoding": enc, "etag": p.etag, "lastModified": p.last_modified_ms}),
                    );
                }
                uploads.insert(
                    id.clone(),
                    json!({"key": u.key, "initiated": u.initiated_ms, "contentType": u.content_type,
                           "metadata": u.metadata, "parts": parts, "tags": u.tags}),
                );
            }
            buckets.insert(
                name.clone(),
                json!({"created": b.creation_ms, "eventBridge": b.eventbridge, "lastSequencer": b.last_sequencer,
                       "versioning": b.versioning.map(Versioning::as_str), "versions": versions,
                       "objects": objects, "uploads": uploads}),
            );
        }
        json!({
            "keyEncoding": match self.key_encoding { KeyEncoding::Raw => "raw", KeyEncoding::FormUrlEncoded => "form" },
            "deleteEventForMissingKey": self.delete_event_for_missing_key,
            "minPartSize": self.min_part_size,
            "buckets": buckets,
        })
    }

    /// Restores [`S3::to_json`] output.
    pub fn from_json(v: &Value) -> Result<S3, String> {
        fn body_of(v: &Value) -> Result<Vec<u8>, String> {
            let s = v.get("body").and_then(Value::as_str).ok_or("missing body")?;
            match v.get("encoding").and_then(Value::as_str).unwrap_or("utf8") {
                "utf8" => Ok(s.as_bytes().to_vec()),
                "base64" => b64_decode(s).ok_or_else(|| "invalid base64 body".to_string()),
                other => Err(format!("unknown body encoding {other}")),
            }
        }
        fn strings_of(v: &Value, field: &str) -> Result<BTreeMap<String, String>, String> {
            let mut m = BTreeMap::new();
            if let Some(o) = v.get(field).and_then(Value::as_object) {
                for (k, x) in o {
                    m.insert(k.clone(), x.as_str().ok_or_else(|| format!("{field} values must be strings"))?.to_string());
                }
            }
            Ok(m)
        }
        let meta_of = |v: &Value| strings_of(v, "metadata");
        let tags_of = |v: &Value| strings_of(v, "tags");
        let i64_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let str_of = |v: &Value, k: &str| -> Result<String, String> {
            v.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("missing {k}"))
        };
        let mut s3 = S3::new();
        s3.key_encoding = match v.get("keyEncoding").and_then(Value::as_str) {
            Some("form") => KeyEncoding::FormUrlEncoded,
            _ => KeyEncoding::Raw,
        };
        if let Some(b) = v.get("deleteEventForMissingKey").and_then(Value::as_bool) {
            s3.delete_event_for_missing_key = b;
        }
        if let Some(n) = v.get("minPartSize").and_then(Value::as_u64) {
            s3.min_part_size = n as usize;
        }
        let buckets = v.get("buckets").and_then(Value::as_object).ok_or("missing buckets")?;
        for (name, b) in buckets {
            let mut bucket = Bucket {
                name: name.clone(),
                creation_ms: i64_of(b, "created"),
                eventbridge: b.get("eventBridge").and_then(Value::as_bool).unwrap_or(false),
                objects: BTreeMap::new(),
                uploads: BTreeMap::new(),
                last_sequencer: b.get("lastSequencer").and_then(Value::as_u64).unwrap_or(0),
                versioning: match b.get("versioning") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_str().and_then(Versioning::parse).ok_or_else(|| format!("bucket {name}: versioning must be Enabled or Suspended"))?),
                },
                versions: BTreeMap::new(),
            };
            let object_of = |o: &Value| -> Result<Object, String> {
                let body = body_of(o)?;
                let etag = match o.get("etag").and_then(Value::as_str) {
                    Some(e) => e.to_string(),
                    None => quoted_md5(&body),
                };
                Ok(Object {
                    body: body.into(),
                    etag,
                    content_type: o.get("contentType").and_then(Value::as_str).unwrap_or(DEFAULT_CONTENT_TYPE).to_string(),
                    metadata: meta_of(o)?,
                    last_modified_ms: i64_of(o, "lastModified"),
                    parts_count: o.get("partsCount").and_then(Value::as_u64).map(|n| n as u32),
                    tags: tags_of(o)?,
                    version_id: o.get("versionId").and_then(Value::as_str).map(str::to_string),
                })
            };
            if let Some(objs) = b.get("objects").and_then(Value::as_object) {
                for (k, o) in objs {
                    bucket.objects.insert(k.clone(), object_of(o)?);
                }
            }
            if let Some(vs) = b.get("versions").and_then(Value::as_object) {
                for (k, list) in vs {
                    let list = list.as_array().ok_or_else(|| format!("bucket {name}: the versions of {k} must be an array"))?;
                    let mut entries = Vec::with_capacity(list.len());
                    for v in list {
                        entries.push(if v.get("deleteMarker").and_then(Value::as_bool) == Some(true) {
                            Version::DeleteMarker(crate::versions::marker_from_json(v))
                        } else {
                            Version::Object(object_of(v)?)
                        });
                    }
                    bucket.versions.insert(k.clone(), entries);
                }
            }
            if let Some(ups) = b.get("uploads").and_then(Value::as_object) {
                for (id, u) in ups {
                    let mut parts = BTreeMap::new();
                    if let Some(ps) = u.get("parts").and_then(Value::as_object) {
                        for (n, p) in ps {
                            let n: u32 = n.parse().map_err(|_| format!("bad part number {n}"))?;
                            let body = body_of(p)?;
                            parts.insert(
                                n,
                                Part { etag: str_of(p, "etag")?, body, last_modified_ms: i64_of(p, "lastModified") },
                            );
                        }
                    }
                    bucket.uploads.insert(
                        id.clone(),
                        Upload {
                            key: str_of(u, "key")?,
                            initiated_ms: i64_of(u, "initiated"),
                            content_type: u
                                .get("contentType")
                                .and_then(Value::as_str)
                                .unwrap_or(DEFAULT_CONTENT_TYPE)
                                .to_string(),
                            metadata: meta_of(u)?,
                            parts,
                            tags: tags_of(u)?,
                        },
                    );
                }
            }
            s3.buckets.insert(name.clone(), bucket);
        }
        Ok(s3)
    }
}
