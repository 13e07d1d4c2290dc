//! S3 operations beyond the basic object calls: UploadPartCopy (what `aws s3 cp` between
//! S3 locations uses above its multipart threshold), and the name of each S3 operation
//! serve does not implement, for its 501 `NotImplemented`.

use super::http::Req;
use super::State;
use asl_aws::time::format_iso8601_millis;
use asl_s3::s3::UploadPartCopyInput;
use asl_s3::S3Error;
use std::sync::Arc;

/// UploadPartCopy over the REST API: the copy-source headers, then [`asl_s3::S3::upload_part_copy`].
pub fn upload_part_copy(state: &Arc<State>, req: &Req, bucket: &str, key: &str, upload_id: &str, part_number: i64) -> Result<String, S3Error> {
    let (sb, sk, sv) = asl_s3::s3::parse_copy_source(req.header("x-amz-copy-source").unwrap_or(""))
        .ok_or_else(|| S3Error::new("InvalidArgument", "Invalid copy source object key", 400))?;
    let mut ctx = asl_aws::CallContext::new(super::wall_millis(), state.next_seed());
    ctx.region = super::template::REGION.into();
    ctx.account = super::template::ACCOUNT.into();
    let input = UploadPartCopyInput {
        source_bucket: sb,
        source_key: sk,
        source_version_id: sv,
        range: req.header("x-amz-copy-source-range").map(str::to_string),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id.to_string(),
        part_number,
    };
    let out = state.world.lock().s3.upload_part_copy(input, &ctx)?;
    Ok(format!(
        "<CopyPartResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>{}</LastModified><ETag>{}</ETag></CopyPartResult>",
        format_iso8601_millis(out.last_modified_ms),
        asl_aws::xml::escape(&out.etag)
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
        "uploads" => return "ListMultipartUploads".into(),
        "restore" => return "RestoreObject".into(),
        "select" => return "SelectObjectContent".into(),
        "acl" => "Acl",
        "tagging" => "Tagging",
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
        assert_eq!(super::operation_name("GET", "cors", false), "GetBucketCors");
        assert_eq!(super::operation_name("GET", "uploads", false), "ListMultipartUploads");
    }
}
