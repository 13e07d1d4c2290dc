//! S3 operations beyond the basic object calls: UploadPartCopy (what `aws s3 cp` between
//! S3 locations uses above its multipart threshold), and the name of each S3 operation
//! serve does not implement, for its 501 `NotImplemented`.

use super::http::Req;
use super::State;
use asl_aws::time::format_iso8601_millis;
use asl_s3::S3Error;
use std::sync::Arc;

/// UploadPartCopy: a part taken from an existing object, whole or `x-amz-copy-source-range`
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html).
pub fn upload_part_copy(state: &Arc<State>, req: &Req, bucket: &str, key: &str, upload_id: &str, part_number: i64) -> Result<String, S3Error> {
    let src = req.header("x-amz-copy-source").unwrap_or("");
    let src = super::sigv4::decode(src.split('?').next().unwrap_or(src));
    let src = src.trim_start_matches('/');
    let (sb, sk) = src.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty()).ok_or_else(|| S3Error::new("InvalidArgument", "Invalid copy source object key", 400))?;
    let range = match req.header("x-amz-copy-source-range") {
        None => None,
        Some(r) => {
            // Only `bytes=first-last` (both given) is allowed here, unlike GetObject's Range (API reference).
            let ok = r.strip_prefix("bytes=").and_then(|x| x.split_once('-')).is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok_and(|b| a.parse::<u64>().is_ok_and(|a| a <= b)));
            if !ok {
                return Err(S3Error::new(
                    "InvalidArgument",
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    400,
                ));
            }
            Some(r.to_string())
        }
    };
    let mut ctx = asl_aws::CallContext::new(super::wall_millis(), state.next_seed());
    ctx.region = super::template::REGION.into();
    ctx.account = super::template::ACCOUNT.into();
    let mut w = state.world.lock();
    w.s3.head_bucket(sb)?;
    let size = w.s3.object(sb, sk).map(|o| o.size()).ok_or_else(|| S3Error::no_such_key(sk))?;
    if let Some(r) = &range {
        let last: u64 = r.rsplit('-').next().and_then(|x| x.parse().ok()).unwrap_or(0);
        if last >= size {
            return Err(S3Error::new("InvalidArgument", &format!("Range specified is not valid for source object of size: {size}"), 400));
        }
    }
    let body = w.s3.get_object(sb, sk, range.as_deref())?.body;
    let etag = w.s3.upload_part(bucket, key, upload_id, part_number, body, &ctx)?;
    Ok(format!(
        "<CopyPartResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>{}</LastModified><ETag>{}</ETag></CopyPartResult>",
        format_iso8601_millis(ctx.now_ms / 1000 * 1000),
        asl_aws::xml::escape(&etag)
    ))
}

/// The S3 operation a request for an unimplemented subresource is, for the 501's message.
pub fn operation_name(method: &str, subresource: &str, on_object: bool) -> String {
    let verb = match method {
        "GET" | "HEAD" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "POST" => "Post",
        _ => "",
    };
    let noun = match subresource {
        "versions" => return "ListObjectVersions".into(),
        "uploads" => return "ListMultipartUploads".into(),
        "restore" => return "RestoreObject".into(),
        "select" => return "SelectObjectContent".into(),
        "acl" => "Acl",
        "tagging" => "Tagging",
        "versioning" => "Versioning",
        "notification" => "NotificationConfiguration",
        "policy" => "Policy",
        "cors" => "Cors",
        "lifecycle" => "LifecycleConfiguration",
        "website" => "Website",
        "logging" => "Logging",
        "encryption" => "Encryption",
        "replication" => "Replication",
        "object-lock" => "ObjectLockConfiguration",
        "retention" => "Retention",
        "legal-hold" => "LegalHold",
        "torrent" => "Torrent",
        "analytics" => "AnalyticsConfiguration",
        "metrics" => "MetricsConfiguration",
        "inventory" => "InventoryConfiguration",
        "intelligent-tiering" => "IntelligentTieringConfiguration",
        "ownershipControls" => "OwnershipControls",
        "publicAccessBlock" => "PublicAccessBlock",
        "accelerate" => "AccelerateConfiguration",
        "requestPayment" => "RequestPayment",
        "attributes" => "Attributes",
        other => other,
    };
    format!("{verb}{}{noun}", if on_object { "Object" } else { "Bucket" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_names() {
        assert_eq!(super::operation_name("PUT", "tagging", true), "PutObjectTagging");
        assert_eq!(super::operation_name("GET", "versioning", false), "GetBucketVersioning");
        assert_eq!(super::operation_name("GET", "versions", false), "ListObjectVersions");
    }
}
