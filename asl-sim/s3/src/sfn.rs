//! The Step Functions service integration for S3 (`arn:aws:states:::aws-sdk:s3:<action>`).
//!
//! Results have the SDK's PascalCase shapes; failures are `(error, cause)` as the task
//! reports them (aws-services.md §3.3).

use crate::s3::{CopyObjectInput, GetObjectOutput, ListObjectsV2Input, ListScope, MetadataDirective, PutObjectInput, S3Error, UploadPartCopyInput, S3};
use asl_aws::integration::not_recognized;
use asl_aws::time::format_iso8601;
use asl_aws::{CallContext, Event};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The S3 actions [`s3_step_functions_call`] implements.
pub const S3_ACTIONS: &[&str] = &[
    "putObject",
    "getObject",
    "headObject",
    "deleteObject",
    "deleteObjects",
    "copyObject",
    "listObjectsV2",
    "createBucket",
    "deleteBucket",
    "headBucket",
    "listBuckets",
    "createMultipartUpload",
    "uploadPart",
    "uploadPartCopy",
    "completeMultipartUpload",
    "abortMultipartUpload",
    "listParts",
    "putObjectTagging",
    "getObjectTagging",
    "deleteObjectTagging",
];

/// S3 error codes that the AWS SDK for Java v2 models as their own exception class; the
/// others surface as the service's base exception, `S3Exception` (as DynamoDB's
/// ValidationException surfaces as `DynamoDbException`).
const S3_MODELLED: &[&str] = &[
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "EncryptionTypeMismatch",
    "IdempotencyParameterMismatch",
    "InvalidObjectState",
    "InvalidRequest",
    "InvalidWriteOffset",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "ObjectAlreadyInActiveTierError",
    "ObjectNotInActiveTierError",
    "TooManyParts",
];

/// The Step Functions error name (without `S3.`) of an S3 error code in an aws-sdk task:
/// `NoSuchKey` is `NoSuchKeyException`; an error the SDK does not model (SlowDown,
/// InternalError, ServiceUnavailable, PreconditionFailed, ...) is `S3Exception`.
pub fn s3_sdk_error_name(code: &str) -> String {
    if S3_MODELLED.contains(&code) {
        if code.ends_with("Exception") { code.to_string() } else { format!("{code}Exception") }
    } else {
        "S3Exception".to_string()
    }
}

/// The `(error, cause)` of an S3 error in an aws-sdk task, e.g.
/// `S3.NoSuchKeyException` / `The specified key does not exist. (Service: S3, Status Code: 404,
/// Request ID: …, Extended Request ID: …)`. A HEAD request has no error body, so its cause
/// starts with `null`.
pub fn s3_sdk_error(e: &S3Error, ctx: &CallContext, head: bool) -> (String, String) {
    let name = s3_sdk_error_name(&e.code);
    let message = if head { "null" } else { e.message.as_str() };
    (
        format!("S3.{name}"),
        format!(
            "{message} (Service: S3, Status Code: {}, Request ID: {}, Extended Request ID: {})",
            e.status, ctx.request_id, ctx.extended_request_id
        ),
    )
}

fn client_error(msg: String) -> (String, String) {
    // UNVERIFIED: what the SDK integration reports for a request the SDK rejects locally.
    ("S3.SdkClientException".to_string(), msg)
}

fn req_str(p: &Value, k: &str) -> Result<String, (String, String)> {
    match p.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(client_error(format!("Parameter '{k}' must not be null"))),
        Some(other) => Err(client_error(format!("Parameter '{k}' must be a string, got {other}"))),
    }
}

fn opt_str(p: &Value, k: &str) -> Result<Option<String>, (String, String)> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(client_error(format!("Parameter '{k}' must be a string, got {other}"))),
    }
}

fn opt_int(p: &Value, k: &str) -> Result<Option<i64>, (String, String)> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| client_error(format!("Parameter '{k}' must be an integer, got {v}"))),
    }
}

/// A listing's `Bucket`, `Prefix`, `Delimiter` and `MaxKeys`.
fn list_scope(p: &Value) -> Result<ListScope, (String, String)> {
    Ok(ListScope {
        bucket: req_str(p, "Bucket")?,
        prefix: opt_str(p, "Prefix")?,
        delimiter: opt_str(p, "Delimiter")?,
        max_keys: opt_int(p, "MaxKeys")?,
    })
}

fn metadata_param(p: &Value) -> Result<BTreeMap<String, String>, (String, String)> {
    let mut m = BTreeMap::new();
    match p.get("Metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                m.insert(k.clone(), s);
            }
        }
        Some(other) => return Err(client_error(format!("Parameter 'Metadata' must be a map, got {other}"))),
    }
    Ok(m)
}

/// The object bytes for PutObject/UploadPart's `Body`: Step Functions serializes the value
/// as JSON, so a string is stored with its quotes (recorded on AWS: `"text data"` →
/// ETag of `"text data"` with quotes; `false` → `false`; `0` → `0`).
fn body_param(p: &Value) -> Vec<u8> {
    match p.get("Body") {
        None => Vec::new(),
        Some(v) => v.to_string().into_bytes(),
    }
}

fn metadata_json(m: &BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn head_json(o: &GetObjectOutput) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("AcceptRanges".into(), json!("bytes"));
    m.insert("ContentLength".into(), json!(o.content_length));
    if let Some(r) = &o.content_range {
        m.insert("ContentRange".into(), json!(r));
    }
    m.insert("ContentType".into(), json!(o.content_type));
    m.insert("ETag".into(), json!(o.etag));
    m.insert("LastModified".into(), json!(format_iso8601(o.last_modified_ms)));
    m.insert("Metadata".into(), metadata_json(&o.metadata));
    m.insert("ServerSideEncryption".into(), json!("AES256"));
    m
}

/// The `CopySource` parameter of copyObject and uploadPartCopy as (bucket, key, version id).
fn copy_source_param(p: &Value, ctx: &CallContext) -> Result<(String, String, Option<String>), (String, String)> {
    crate::s3::parse_copy_source(&req_str(p, "CopySource")?)
        .ok_or_else(|| s3_sdk_error(&S3Error::new("InvalidArgument", "Invalid copy source object key", 400), ctx, false))
}

/// The SDK's `Tagging` string parameter (the `x-amz-tagging` header), parsed and validated.
fn tagging_param(p: &Value) -> Result<Option<BTreeMap<String, String>>, S3Error> {
    match p.get("Tagging") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(h)) => crate::s3::parse_tagging_header(h).map(Some),
        Some(other) => crate::s3::parse_tagging_header(&other.to_string()).map(Some),
    }
}

/// Runs an `arn:aws:states:::aws-sdk:s3:<action>` task. Returns the task result and the
/// S3 events the call produced (for the default bus).
pub fn s3_step_functions_call(
    s3: &mut S3,
    action: &str,
    parameters: &Value,
    ctx: &CallContext,
) -> Result<(Value, Vec<Event>), (String, String)> {
    let p = parameters;
    let head = action == "headObject" || action == "headBucket";
    let map_err = |e: S3Error| s3_sdk_error(&e, ctx, head);
    let result = match action {
        "putObject" => {
            let out = s3
                .put_object(
                    PutObjectInput {
                        bucket: req_str(p, "Bucket")?,
                        key: req_str(p, "Key")?,
                        body: body_param(p),
                        content_type: opt_str(p, "ContentType")?,
                        metadata: metadata_param(p)?,
                        tags: tagging_param(p).map_err(map_err)?.unwrap_or_default(),
                    },
                    ctx,
                )
                .map_err(map_err)?;
            let mut r = json!({"ChecksumCRC32": out.checksum_crc32, "ChecksumType": "FULL_OBJECT", "ETag": out.etag,
                   "ServerSideEncryption": "AES256"});
            if let Some(v) = out.version_id {
                r["VersionId"] = json!(v);
            }
            r
        }
        "getObject" => {
            let bucket = req_str(p, "Bucket")?;
            let key = req_str(p, "Key")?;
            let range = opt_str(p, "Range")?;
            let version = opt_str(p, "VersionId")?;
            let o = s3.get_object_version(&bucket, &key, version.as_deref(), range.as_deref()).map_err(map_err)?;
            let mut m = head_json(&o);
            m.insert("Body".into(), json!(String::from_utf8_lossy(&o.body)));
            // GetObject reports the tag count (x-amz-tagging-count); HeadObject's output has no such field.
            if o.tag_count > 0 {
                m.insert("TagCount".into(), json!(o.tag_count));
            }
            Value::Object(m)
        }
        "headObject" => {
            let version = opt_str(p, "VersionId")?;
            let o = s3.head_object_version(&req_str(p, "Bucket")?, &req_str(p, "Key")?, version.as_deref()).map_err(map_err)?;
            Value::Object(head_json(&o))
        }
        "deleteObject" => {
            let if_match = opt_str(p, "IfMatch")?;
            let version = opt_str(p, "VersionId")?;
            let out = s3
                .delete_object_version(&req_str(p, "Bucket")?, &req_str(p, "Key")?, version.as_deref(), if_match.as_deref(), ctx)
                .map_err(map_err)?;
            let mut r = Map::new();
            if out.delete_marker {
                r.insert("DeleteMarker".into(), json!(true));
            }
            if let Some(v) = out.version_id {
                r.insert("VersionId".into(), json!(v));
            }
            Value::Object(r)
        }
        "deleteObjects" => {
            let bucket = req_str(p, "Bucket")?;
            let del = p.get("Delete").ok_or_else(|| client_error("Parameter 'Delete' must not be null".into()))?;
            let objs = del.get("Objects").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut objects = Vec::with_capacity(objs.len());
            for o in &objs {
                objects.push((req_str(o, "Key")?, opt_str(o, "VersionId")?));
            }
            let quiet = del.get("Quiet").and_then(Value::as_bool).unwrap_or(false);
            let out = s3.delete_object_versions(&bucket, &objects, ctx).map_err(map_err)?;
            let mut m = Map::new();
            if !quiet && !out.deleted.is_empty() {
                let deleted = out.deleted.iter().map(|d| {
                    let mut e = json!({});
                    if d.delete_marker {
                        e["DeleteMarker"] = json!(true);
                    }
                    if let Some(v) = &d.delete_marker_version_id {
                        e["DeleteMarkerVersionId"] = json!(v);
                    }
                    e["Key"] = json!(d.key);
                    if let Some(v) = &d.version_id {
                        e["VersionId"] = json!(v);
                    }
                    e
                });
                m.insert("Deleted".into(), Value::Array(deleted.collect()));
            }
            if !out.errors.is_empty() {
                m.insert(
                    "Errors".into(),
                    Value::Array(
                        out.errors.iter().map(|(k, c, msg)| json!({"Code": c, "Key": k, "Message": msg})).collect(),
                    ),
                );
            }
            Value::Object(m)
        }
        "copyObject" => {
            let (sb, sk, sv) = copy_source_param(p, ctx)?;
            let directive = match opt_str(p, "MetadataDirective")?.as_deref() {
                None | Some("COPY") => MetadataDirective::Copy,
                Some("REPLACE") => MetadataDirective::Replace,
                Some(other) => {
                    return Err(s3_sdk_error(
                        &S3Error::new("InvalidArgument", &format!("Unknown metadata directive: {other}"), 400),
                        ctx,
                        false,
                    ))
                }
            };
            let out = s3
                .copy_object(
                    CopyObjectInput {
                        source_bucket: sb,
                        source_key: sk,
                        source_version_id: sv,
                        bucket: req_str(p, "Bucket")?,
                        key: req_str(p, "Key")?,
                        metadata_directive: directive,
                        content_type: opt_str(p, "ContentType")?,
                        metadata: metadata_param(p)?,
                        tags: match opt_str(p, "TaggingDirective")?.as_deref() {
                            None | Some("COPY") => None,
                            Some("REPLACE") => Some(tagging_param(p).map_err(map_err)?.unwrap_or_default()),
                            Some(other) => {
                                return Err(s3_sdk_error(
                                    &S3Error::new("InvalidArgument", &format!("Unknown tagging directive: {other}"), 400),
                                    ctx,
                                    false,
                                ))
                            }
                        },
                    },
                    ctx,
                )
                .map_err(map_err)?;
            let mut r = json!({"CopyObjectResult": {"ETag": out.etag, "LastModified": format_iso8601(out.last_modified_ms)}});
            if let Some(v) = out.source_version_id {
                r["CopySourceVersionId"] = json!(v);
            }
            r["ServerSideEncryption"] = json!("AES256");
            if let Some(v) = out.version_id {
                r["VersionId"] = json!(v);
            }
            r
        }
        "listObjectsV2" => {
            let input = ListObjectsV2Input {
                scope: list_scope(p)?,
                continuation_token: opt_str(p, "ContinuationToken")?,
                start_after: opt_str(p, "StartAfter")?,
            };
            let out = s3.list_objects_v2(&input).map_err(map_err)?;
            let mut m = Map::new();
            out.page.insert_json(&mut m);
            if !out.contents.is_empty() {
                m.insert(
                    "Contents".into(),
                    Value::Array(
                        out.contents
                            .iter()
                            .map(|o| {
                                json!({"ETag": o.etag, "Key": o.key, "LastModified": format_iso8601(o.last_modified_ms),
                                       "Size": o.size, "StorageClass": "STANDARD"})
                            })
                            .collect(),
                    ),
                );
            }
            if let Some(t) = &out.continuation_token {
                m.insert("ContinuationToken".into(), json!(t));
            }
            m.insert("KeyCount".into(), json!(out.key_count));
            if let Some(t) = &out.next_continuation_token {
                m.insert("NextContinuationToken".into(), json!(t));
            }
            if let Some(s) = &out.start_after {
                m.insert("StartAfter".into(), json!(s));
            }
            // The SDK's order: members by name.
            m.sort_keys();
            Value::Object(m)
        }
        "createBucket" => {
            let b = req_str(p, "Bucket")?;
            s3.create_bucket(&b, ctx).map_err(map_err)?;
            json!({"Location": format!("/{b}")})
        }
        "deleteBucket" => {
            s3.delete_bucket(&req_str(p, "Bucket")?).map_err(map_err)?;
            json!({})
        }
        "headBucket" => {
            s3.head_bucket(&req_str(p, "Bucket")?).map_err(map_err)?;
            json!({"BucketRegion": ctx.region})
        }
        "listBuckets" => {
            let buckets: Vec<Value> = s3
                .list_buckets()
                .into_iter()
                .map(|(n, t)| json!({"CreationDate": format_iso8601(t), "Name": n}))
                .collect();
            json!({"Buckets": buckets, "Owner": {"ID": ctx.account}})
        }
        "createMultipartUpload" => {
            let bucket = req_str(p, "Bucket")?;
            let key = req_str(p, "Key")?;
            let ct = opt_str(p, "ContentType")?;
            let tags = tagging_param(p).map_err(map_err)?;
            let id = s3
                .create_multipart_upload(&bucket, &key, ct.as_deref(), &metadata_param(p)?, ctx)
                .map_err(map_err)?;
            if let Some(tags) = tags {
                s3.set_upload_tags(&bucket, &key, &id, tags).map_err(map_err)?;
            }
            json!({"Bucket": bucket, "Key": key, "ServerSideEncryption": "AES256", "UploadId": id})
        }
        "uploadPart" => {
            let n = opt_int(p, "PartNumber")?
                .ok_or_else(|| client_error("Parameter 'PartNumber' must not be null".into()))?;
            let etag = s3
                .upload_part(&req_str(p, "Bucket")?, &req_str(p, "Key")?, &req_str(p, "UploadId")?, n, body_param(p), ctx)
                .map_err(map_err)?;
            json!({"ETag": etag, "ServerSideEncryption": "AES256"})
        }
        "uploadPartCopy" => {
            let (sb, sk, sv) = copy_source_param(p, ctx)?;
            let part_number = opt_int(p, "PartNumber")?
                .ok_or_else(|| client_error("Parameter 'PartNumber' must not be null".into()))?;
            let input = UploadPartCopyInput {
                source_bucket: sb,
                source_key: sk,
                source_version_id: sv,
                range: opt_str(p, "CopySourceRange")?,
                bucket: req_str(p, "Bucket")?,
                key: req_str(p, "Key")?,
                upload_id: req_str(p, "UploadId")?,
                part_number,
            };
            let out = s3.upload_part_copy(input, ctx).map_err(map_err)?;
            json!({"CopyPartResult": {"ETag": out.etag, "LastModified": format_iso8601(out.last_modified_ms)},
                   "ServerSideEncryption": "AES256"})
        }
        "completeMultipartUpload" => {
            let parts_v = p
                .get("MultipartUpload")
                .and_then(|m| m.get("Parts"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut parts = Vec::new();
            for part in &parts_v {
                let n = opt_int(part, "PartNumber")?
                    .ok_or_else(|| client_error("Parameter 'PartNumber' must not be null".into()))?;
                parts.push((n, req_str(part, "ETag")?));
            }
            let out = s3
                .complete_multipart_upload(&req_str(p, "Bucket")?, &req_str(p, "Key")?, &req_str(p, "UploadId")?, &parts, ctx)
                .map_err(map_err)?;
            let mut r = json!({"Bucket": out.bucket, "ETag": out.etag, "Key": out.key, "Location": out.location,
                   "ServerSideEncryption": "AES256"});
            if let Some(v) = out.version_id {
                r["VersionId"] = json!(v);
            }
            r
        }
        "abortMultipartUpload" => {
            s3.abort_multipart_upload(&req_str(p, "Bucket")?, &req_str(p, "Key")?, &req_str(p, "UploadId")?)
                .map_err(map_err)?;
            json!({})
        }
        "putObjectTagging" => {
            let set = p.get("Tagging").and_then(|t| t.get("TagSet")).and_then(Value::as_array);
            let Some(set) = set else {
                return Err(client_error("Parameter 'Tagging.TagSet' must not be null".into()));
            };
            let mut tags = Vec::new();
            for t in set {
                tags.push((req_str(t, "Key")?, req_str(t, "Value")?));
            }
            s3.put_object_tagging(&req_str(p, "Bucket")?, &req_str(p, "Key")?, &tags).map_err(map_err)?;
            json!({})
        }
        "getObjectTagging" => {
            let tags = s3.get_object_tagging(&req_str(p, "Bucket")?, &req_str(p, "Key")?).map_err(map_err)?;
            json!({"TagSet": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>()})
        }
        "deleteObjectTagging" => {
            s3.delete_object_tagging(&req_str(p, "Bucket")?, &req_str(p, "Key")?).map_err(map_err)?;
            json!({})
        }
        "listParts" => {
            let bucket = req_str(p, "Bucket")?;
            let key = req_str(p, "Key")?;
            let id = req_str(p, "UploadId")?;
            let parts = s3.list_parts(&bucket, &key, &id).map_err(map_err)?;
            let parts: Vec<Value> = parts
                .iter()
                .map(|x| {
                    json!({"ETag": x.etag, "LastModified": format_iso8601(x.last_modified_ms),
                           "PartNumber": x.part_number, "Size": x.size})
                })
                .collect();
            json!({"Bucket": bucket, "IsTruncated": false, "Key": key, "MaxParts": 1000, "Parts": parts,
                   "StorageClass": "STANDARD", "UploadId": id})
        }
        "putBucketVersioning" => {
            let status = p.get("VersioningConfiguration").and_then(|c| c.get("Status")).and_then(Value::as_str);
            let Some(status) = status else {
                return Err(s3_sdk_error(&S3Error::malformed_xml(), ctx, false));
            };
            s3.put_bucket_versioning(&req_str(p, "Bucket")?, status).map_err(map_err)?;
            json!({})
        }
        "getBucketVersioning" => match s3.get_bucket_versioning(&req_str(p, "Bucket")?).map_err(map_err)? {
            Some(v) => json!({"Status": v.as_str()}),
            None => json!({}),
        },
        "listObjectVersions" => {
            let input = crate::versions::ListObjectVersionsInput {
                scope: list_scope(p)?,
                key_marker: opt_str(p, "KeyMarker")?,
                version_id_marker: opt_str(p, "VersionIdMarker")?,
            };
            crate::versions::list_object_versions_json(&s3.list_object_versions(&input).map_err(map_err)?, ctx)
        }
        other => return Err(not_recognized("arn:aws:states:::aws-sdk:s3:", other)),
    };
    Ok((result, s3.drain_events()))
}
