//! Bucket versioning (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html):
//! PutBucketVersioning, versioned writes, delete markers, reads and deletes of a given
//! version, ListObjectVersions.
//!
//! A bucket keeps its current objects in `Bucket::objects` (what ListObjectsV2 and a plain
//! GetObject see) and, per key, the other versions in `Bucket::versions`, newest first. When
//! a key's newest version is a delete marker, that marker is the first entry of its list and
//! `objects` has no entry for the key. Objects written while the bucket had no versioning (or
//! while it was suspended) have the version id `null`, stored as `None`.

use crate::s3::{Bucket, Change, ListScope, ListedPage, Object, S3Error, S3};
use asl_aws::CallContext;
use serde_json::{json, Value};

type R<T> = Result<T, S3Error>;

/// A bucket's versioning status once set: it can be suspended, never removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    Enabled,
    Suspended,
}

impl Versioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Versioning::Enabled => "Enabled",
            Versioning::Suspended => "Suspended",
        }
    }
    pub fn parse(s: &str) -> Option<Versioning> {
        match s {
            "Enabled" => Some(Versioning::Enabled),
            "Suspended" => Some(Versioning::Suspended),
            _ => None,
        }
    }
}

/// A version of a key other than its current object.
#[derive(Debug, Clone, PartialEq)]
pub enum Version {
    Object(Object),
    DeleteMarker(DeleteMarker),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteMarker {
    /// `None`: the null version (a delete while versioning was suspended).
    pub version_id: Option<String>,
    pub last_modified_ms: i64,
}

impl Version {
    pub fn version_id(&self) -> Option<&str> {
        match self {
            Version::Object(o) => o.version_id.as_deref(),
            Version::DeleteMarker(m) => m.version_id.as_deref(),
        }
    }
}

/// What DeleteObject did: `x-amz-delete-marker` and `x-amz-version-id`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteObjectOutput {
    /// The delete created a delete marker, or removed one (a delete of its version id).
    pub delete_marker: bool,
    /// The marker created, or the version removed (`null` for the null version); `None`
    /// on a bucket that never had versioning.
    pub version_id: Option<String>,
}

/// One entry of DeleteObjects' `<Deleted>`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedObject {
    pub key: String,
    /// The version the request named.
    pub version_id: Option<String>,
    pub delete_marker: bool,
    /// The delete marker created (or removed).
    pub delete_marker_version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListObjectVersionsInput {
    pub scope: ListScope,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedVersion {
    pub key: String,
    /// `null` for the null version.
    pub version_id: String,
    pub is_latest: bool,
    pub last_modified_ms: i64,
    /// `None` for a delete marker.
    pub object: Option<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListObjectVersionsOutput {
    pub page: ListedPage,
    pub key_marker: String,
    pub version_id_marker: String,
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
    /// Versions and delete markers, by key, newest first within a key.
    pub versions: Vec<ListedVersion>,
}

/// The wire form of a version id: `null` for the null version.
pub fn version_label(id: Option<&str>) -> String {
    id.unwrap_or("null").to_string()
}

/// A version id as S3 accepts one in `versionId`: `null`, or the 32 URL-safe characters S3
/// issues (asl-sim issues 32 letters and digits). Anything else is InvalidArgument.
fn check_version_id(id: &str) -> R<()> {
    let issued = id.len() == 32 && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-');
    if id == "null" || issued {
        Ok(())
    } else {
        Err(S3Error::new("InvalidArgument", "Invalid version id specified", 400).with("ArgumentName", "versionId").with("ArgumentValue", id))
    }
}

fn same_version(a: Option<&str>, wanted: &str) -> bool {
    a.unwrap_or("null") == wanted
}

impl Bucket {
    /// Whether the bucket holds no object, version or delete marker (DeleteBucket).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.versions.values().all(Vec::is_empty)
    }

    /// The newest version of `key` is a delete marker.
    pub fn latest_is_delete_marker(&self, key: &str) -> Option<&DeleteMarker> {
        if self.objects.contains_key(key) {
            return None;
        }
        match self.versions.get(key).and_then(|v| v.first()) {
            Some(Version::DeleteMarker(m)) => Some(m),
            _ => None,
        }
    }

    /// Removes the null version of `key` from its older versions (a null write replaces it).
    fn drop_null_version(&mut self, key: &str) {
        if let Some(list) = self.versions.get_mut(key) {
            list.retain(|v| v.version_id().is_some());
        }
    }

    /// The current object becomes an older version (a versioned write or delete over it),
    /// unless it is the null version and the bucket is suspended (then it is replaced).
    fn retire_current(&mut self, key: &str) {
        let suspended = self.versioning == Some(Versioning::Suspended);
        if let Some(old) = self.objects.remove(key) {
            if !(suspended && old.version_id.is_none()) {
                self.versions.entry(key.to_string()).or_default().insert(0, Version::Object(old));
            }
        }
        if suspended {
            self.drop_null_version(key);
        }
    }

    /// A version id no version of `key` has: ids are per key, and a caller's context may
    /// repeat (the same seed for two calls), so the draw is repeated until it is new.
    fn fresh_version_id(&self, key: &str, ctx: &CallContext) -> String {
        loop {
            let id = ctx.ids.next_token(32);
            let taken = self.objects.get(key).is_some_and(|o| o.version_id.as_deref() == Some(id.as_str()))
                || self.versions.get(key).is_some_and(|l| l.iter().any(|v| v.version_id() == Some(id.as_str())));
            if !taken {
                return id;
            }
        }
    }

    /// With no current object, the newest older version becomes current if it is an object:
    /// removing the current version, or the newest delete marker, uncovers the one under it.
    fn promote_newest(&mut self, key: &str) {
        if self.objects.contains_key(key) {
            return;
        }
        let Some(list) = self.versions.get_mut(key) else { return };
        if matches!(list.first(), Some(Version::Object(_))) {
            if let Version::Object(o) = list.remove(0) {
                self.objects.insert(key.to_string(), o);
            }
        }
    }

    fn tidy(&mut self, key: &str) {
        if self.versions.get(key).is_some_and(Vec::is_empty) {
            self.versions.remove(key);
        }
    }
}

impl S3 {
    /// PutBucketVersioning: `Enabled` or `Suspended`.
    pub fn put_bucket_versioning(&mut self, bucket: &str, status: &str) -> R<()> {
        let v = Versioning::parse(status).ok_or_else(S3Error::malformed_xml)?;
        self.bucket_mut(bucket)?.versioning = Some(v);
        self.touched_bucket(bucket);
        Ok(())
    }

    /// GetBucketVersioning: `None` for a bucket whose versioning was never set.
    pub fn get_bucket_versioning(&self, bucket: &str) -> R<Option<Versioning>> {
        Ok(self.bucket(bucket)?.versioning)
    }

    /// Makes `obj` the current object of `key` (PutObject, CopyObject, CompleteMultipartUpload):
    /// on an Enabled bucket with a new version id, on a Suspended one as the null version.
    /// Returns the version id to report (`x-amz-version-id`), `None` on a bucket that never had
    /// versioning.
    pub(crate) fn install(&mut self, bucket: &str, key: &str, mut obj: Object, ctx: &CallContext) -> R<Option<String>> {
        let b = self.bucket_mut(bucket)?;
        obj.version_id = match b.versioning {
            Some(Versioning::Enabled) => Some(b.fresh_version_id(key, ctx)),
            _ => None,
        };
        let reported = b.versioning.map(|_| version_label(obj.version_id.as_deref()));
        if b.versioning.is_some() {
            b.retire_current(key);
            b.tidy(key);
            self.touched_versions(bucket, key);
        }
        self.bucket_mut(bucket)?.objects.insert(key.to_string(), obj);
        self.touched_object(bucket, key);
        Ok(reported)
    }

    /// The object a read names: the current one (`version_id` None) or that version. A
    /// current delete marker is NoSuchKey with `x-amz-delete-marker`; a version that is a
    /// delete marker is 405 MethodNotAllowed, as S3 answers.
    pub fn find_version(&self, bucket: &str, key: &str, version_id: Option<&str>, method: &str) -> R<&Object> {
        let b = self.bucket(bucket)?;
        let Some(wanted) = version_id else {
            if let Some(o) = b.objects.get(key) {
                return Ok(o);
            }
            let mut e = S3Error::no_such_key(key);
            if let Some(m) = b.latest_is_delete_marker(key) {
                e = e.with_header("x-amz-delete-marker", "true").with_header("x-amz-version-id", version_label(m.version_id.as_deref()));
            }
            return Err(e);
        };
        check_version_id(wanted)?;
        if let Some(o) = b.objects.get(key).filter(|o| same_version(o.version_id.as_deref(), wanted)) {
            return Ok(o);
        }
        match b.versions.get(key).and_then(|l| l.iter().find(|v| same_version(v.version_id(), wanted))) {
            Some(Version::Object(o)) => Ok(o),
            Some(Version::DeleteMarker(_)) => Err(S3Error::new("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)
                .with("Method", method)
                .with("ResourceType", "DeleteMarker")
                .with_header("x-amz-delete-marker", "true")
                .with_header("x-amz-version-id", wanted)
                .with_header("allow", "DELETE")),
            None => Err(S3Error::new("NoSuchVersion", "The specified version does not exist.", 404).with("Key", key).with("VersionId", wanted)),
        }
    }

    /// DeleteObject, with an optional version id and `If-Match` (see
    /// [`S3::delete_object_if_match`]). Without a version id: on a bucket that never had
    /// versioning the object is removed; on an Enabled one a delete marker becomes the newest
    /// version; on a Suspended one a null delete marker replaces the null version. With a
    /// version id that version is removed for good (a missing one is no error, as S3 answers).
    pub fn delete_object_version(&mut self, bucket: &str, key: &str, version_id: Option<&str>, if_match: Option<&str>, ctx: &CallContext) -> R<DeleteObjectOutput> {
        crate::s3::check_key(key)?;
        if let Some(want) = if_match {
            let current = self.bucket(bucket)?.objects.get(key).map(|o| o.etag.clone());
            let Some(current) = current else { return Err(S3Error::no_such_key(key)) };
            let bare = |e: &str| e.trim().trim_matches('"').to_string();
            if want.trim() != "*" && bare(want) != bare(&current) {
                return Err(S3Error::new("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412).with("Condition", "If-Match"));
            }
        }
        if let Some(v) = version_id {
            check_version_id(v)?;
        }
        let versioning = self.bucket(bucket)?.versioning;
        match (version_id, versioning) {
            (None, None) => {
                let existed = self.bucket_mut(bucket)?.objects.remove(key).is_some();
                if existed {
                    self.touched_object(bucket, key);
                }
                if existed || self.delete_event_for_missing_key {
                    self.emit(bucket, key, Change::Deleted { reason: "DeleteObject", version_id: None, marker: false }, ctx);
                }
                Ok(DeleteObjectOutput::default())
            }
            (None, Some(status)) => {
                let b = self.bucket_mut(bucket)?;
                let marker_id = (status == Versioning::Enabled).then(|| b.fresh_version_id(key, ctx));
                b.retire_current(key);
                let marker = DeleteMarker { version_id: marker_id.clone(), last_modified_ms: crate::s3::whole_seconds(ctx.now_ms) };
                b.versions.entry(key.to_string()).or_default().insert(0, Version::DeleteMarker(marker));
                self.touched_object(bucket, key);
                self.touched_versions(bucket, key);
                self.emit(bucket, key, Change::Deleted { reason: "DeleteObject", version_id: marker_id.clone(), marker: true }, ctx);
                Ok(DeleteObjectOutput { delete_marker: true, version_id: Some(version_label(marker_id.as_deref())) })
            }
            (Some(wanted), _) => {
                let b = self.bucket_mut(bucket)?;
                let mut removed: Option<bool> = None; // Some(is a delete marker)
                if b.objects.get(key).is_some_and(|o| same_version(o.version_id.as_deref(), wanted)) {
                    b.objects.remove(key);
                    removed = Some(false);
                } else if let Some(list) = b.versions.get_mut(key) {
                    if let Some(i) = list.iter().position(|v| same_version(v.version_id(), wanted)) {
                        removed = Some(matches!(list.remove(i), Version::DeleteMarker(_)));
                    }
                }
                b.promote_newest(key);
                b.tidy(key);
                let Some(was_marker) = removed else {
                    return Ok(DeleteObjectOutput { delete_marker: false, version_id: Some(wanted.to_string()) });
                };
                self.touched_object(bucket, key);
                self.touched_versions(bucket, key);
                let id = (wanted != "null").then(|| wanted.to_string());
                self.emit(bucket, key, Change::Deleted { reason: "DeleteObject", version_id: id, marker: false }, ctx);
                Ok(DeleteObjectOutput { delete_marker: was_marker, version_id: Some(wanted.to_string()) })
            }
        }
    }

    /// DeleteObjects with version ids: (key, version id) pairs, 1 to 1,000.
    pub fn delete_object_versions(&mut self, bucket: &str, objects: &[(String, Option<String>)], ctx: &CallContext) -> R<crate::s3::DeleteObjectsOutput> {
        self.bucket(bucket)?;
        if objects.is_empty() || objects.len() > 1000 {
            return Err(S3Error::malformed_xml());
        }
        let mut out = crate::s3::DeleteObjectsOutput { deleted: Vec::new(), errors: Vec::new() };
        for (k, v) in objects {
            // An empty or too long key, or a malformed version id, is that entry's error.
            match self.delete_object_version(bucket, k, v.as_deref(), None, ctx) {
                Ok(d) => out.deleted.push(DeletedObject {
                    key: k.clone(),
                    version_id: v.clone(),
                    delete_marker: d.delete_marker,
                    delete_marker_version_id: if d.delete_marker { d.version_id } else { None },
                }),
                Err(e) if e.status < 500 && e.code != "NoSuchBucket" => out.errors.push((k.clone(), e.code, e.message)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// ListObjectVersions: keys in byte order, each key's versions newest first; `Delimiter`
    /// rolls keys up into CommonPrefixes; `MaxKeys` counts versions, markers and prefixes;
    /// `KeyMarker` (with `VersionIdMarker`) resumes after that key (version).
    pub fn list_object_versions(&self, input: &ListObjectVersionsInput) -> R<ListObjectVersionsOutput> {
        let b = self.bucket(&input.scope.bucket)?;
        let max_keys = match input.scope.max_keys {
            Some(n) if n < 0 => {
                return Err(S3Error::new("InvalidArgument", "Provided max-keys not an integer or within integer range", 400)
                    .with("ArgumentName", "max-keys")
                    .with("ArgumentValue", n.to_string()))
            }
            Some(n) => n,
            None => 1000,
        };
        let page = ListedPage::new(&b.name, &input.scope, max_keys);
        let limit = page.limit();
        let prefix = page.prefix.clone();
        let key_marker = input.key_marker.clone().filter(|k| !k.is_empty());
        let vid_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
        if vid_marker.is_some() && key_marker.is_none() {
            return Err(S3Error::new("InvalidArgument", "A version-id marker cannot be specified without a key marker.", 400)
                .with("ArgumentName", "version-id-marker")
                .with("ArgumentValue", vid_marker.clone().unwrap_or_default()));
        }
        // Keys in order from the marker (or the prefix) on, from the current objects and the
        // older versions both, each once: a page reads only what it lists.
        let from = match &key_marker {
            Some(km) if km.as_str() > prefix.as_str() => km.clone(),
            _ => prefix.clone(),
        };
        let keys = merged_keys(b.objects.range(from.clone()..).map(|(k, _)| k), b.versions.range(from..).map(|(k, _)| k))
            .take_while(|k| k.starts_with(&prefix));
        let mut out = ListObjectVersionsOutput {
            page,
            key_marker: key_marker.clone().unwrap_or_default(),
            version_id_marker: vid_marker.clone().unwrap_or_default(),
            ..Default::default()
        };
        let mut last: Option<(String, Option<String>)> = None;
        'keys: for key in keys {
            if let Some(km) = &key_marker {
                let resume_inside = vid_marker.is_some() && key == km;
                if key.as_str() < km.as_str() || (key == km && !resume_inside) {
                    continue;
                }
            }
            if let Some(cp) = out.page.rolled_up(key) {
                if out.page.common_prefixes.last() == Some(&cp) || key_marker.as_deref().is_some_and(|km| km.starts_with(&cp)) {
                    continue;
                }
                if out.versions.len() + out.page.common_prefixes.len() >= limit {
                    out.page.is_truncated = true;
                    break;
                }
                last = Some((cp.clone(), None));
                out.page.common_prefixes.push(cp);
                continue;
            }
            let mut all: Vec<ListedVersion> = Vec::new();
            if let Some(o) = b.objects.get(key) {
                all.push(listed_object(key, o, true));
            }
            for (i, v) in b.versions.get(key).map(|l| l.as_slice()).unwrap_or(&[]).iter().enumerate() {
                let latest = i == 0 && !b.objects.contains_key(key);
                all.push(match v {
                    Version::Object(o) => listed_object(key, o, latest),
                    Version::DeleteMarker(m) => ListedVersion {
                        key: key.to_string(),
                        version_id: version_label(m.version_id.as_deref()),
                        is_latest: latest,
                        last_modified_ms: m.last_modified_ms,
                        object: None,
                    },
                });
            }
            let mut skipping = vid_marker.is_some() && key_marker.as_deref() == Some(key.as_str());
            for v in all {
                if skipping {
                    if Some(&v.version_id) == vid_marker.as_ref() {
                        skipping = false;
                    }
                    continue;
                }
                if out.versions.len() + out.page.common_prefixes.len() >= limit {
                    out.page.is_truncated = true;
                    break 'keys;
                }
                last = Some((v.key.clone(), Some(v.version_id.clone())));
                out.versions.push(v);
            }
        }
        if out.page.is_truncated {
            if let Some((k, v)) = last {
                out.next_key_marker = Some(k);
                out.next_version_id_marker = v;
            }
        }
        Ok(out)
    }
}

fn listed_object(key: &str, o: &Object, is_latest: bool) -> ListedVersion {
    ListedVersion {
        key: key.to_string(),
        version_id: version_label(o.version_id.as_deref()),
        is_latest,
        last_modified_ms: o.last_modified_ms,
        object: Some((o.etag.clone(), o.size())),
    }
}

/// The union of two ascending key sequences, ascending, each key once.
fn merged_keys<'a>(a: impl Iterator<Item = &'a String>, b: impl Iterator<Item = &'a String>) -> impl Iterator<Item = &'a String> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if x == y => {
            b.next();
            a.next()
        }
        (Some(x), Some(y)) if x < y => a.next(),
        (Some(_), Some(_)) => b.next(),
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

/// A delete marker's JSON (persistence and `S3::to_json`).
pub fn marker_json(m: &DeleteMarker) -> Value {
    json!({"deleteMarker": true, "versionId": m.version_id, "lastModified": m.last_modified_ms})
}

pub fn marker_from_json(v: &Value) -> DeleteMarker {
    DeleteMarker {
        version_id: v.get("versionId").and_then(Value::as_str).map(str::to_string),
        last_modified_ms: v.get("lastModified").and_then(Value::as_i64).unwrap_or(0),
    }
}

/// ListObjectVersions as the SDK (and so a Step Functions `aws-sdk:s3:listObjectVersions`
/// task) returns it: `Versions`, `DeleteMarkers` and `CommonPrefixes` only when not empty.
pub fn list_object_versions_json(out: &ListObjectVersionsOutput, ctx: &CallContext) -> Value {
    let owner = json!({"ID": ctx.account});
    let time = |ms: i64| asl_aws::time::format_iso8601(ms);
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    for v in &out.versions {
        match &v.object {
            Some((etag, size)) => versions.push(json!({
                "ETag": etag, "IsLatest": v.is_latest, "Key": v.key, "LastModified": time(v.last_modified_ms),
                "Owner": owner, "Size": size, "StorageClass": "STANDARD", "VersionId": v.version_id,
            })),
            None => markers.push(json!({
                "IsLatest": v.is_latest, "Key": v.key, "LastModified": time(v.last_modified_ms), "Owner": owner, "VersionId": v.version_id,
            })),
        }
    }
    let mut m = serde_json::Map::new();
    out.page.insert_json(&mut m);
    if !markers.is_empty() {
        m.insert("DeleteMarkers".into(), Value::Array(markers));
    }
    m.insert("KeyMarker".into(), json!(out.key_marker));
    if let Some(k) = &out.next_key_marker {
        m.insert("NextKeyMarker".into(), json!(k));
    }
    if let Some(v) = &out.next_version_id_marker {
        m.insert("NextVersionIdMarker".into(), json!(v));
    }
    m.insert("VersionIdMarker".into(), json!(out.version_id_marker));
    if !versions.is_empty() {
        m.insert("Versions".into(), Value::Array(versions));
    }
    // The SDK's order: members by name.
    m.sort_keys();
    Value::Object(m)
}
