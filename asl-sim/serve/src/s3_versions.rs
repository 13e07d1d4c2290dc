//! Bucket versioning over S3's REST API: `?versioning` (Get/PutBucketVersioning) and
//! `?versions` (ListObjectVersions) on a bucket. The versioned forms of the object calls
//! (`versionId`, `x-amz-version-id`, `x-amz-delete-marker`) are in s3.rs beside the plain
//! ones; the semantics are asl_s3::versions'.

use super::http::{Req, Resp};
use super::s3::{elements, error_resp, esc, s3_error, xml, NS};
use super::State;
use asl_aws::time::format_iso8601_millis;
use asl_s3::versions::ListObjectVersionsInput;
use std::sync::Arc;

/// GetBucketVersioning / PutBucketVersioning.
pub fn versioning(state: &Arc<State>, req: &Req, bucket: &str) -> Resp {
    let m = req.method.as_str();
    match m {
        "GET" => match state.world.lock().s3.get_bucket_versioning(bucket) {
            Ok(Some(v)) => xml(format!("<VersioningConfiguration xmlns=\"{NS}\"><Status>{}</Status></VersioningConfiguration>", v.as_str())),
            // Never set: an empty configuration, as S3 answers.
            Ok(None) => xml(format!("<VersioningConfiguration xmlns=\"{NS}\"/>")),
            Err(e) => s3_error(m, &e),
        },
        "PUT" => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let status = elements(&body, "Status").first().map(|s| s.trim().to_string());
            // MFA Delete needs an MFA device and the root user: not something an emulator can honour.
            if elements(&body, "MfaDelete").first().is_some_and(|s| s.trim() == "Enabled") {
                return error_resp(m, 501, "NotImplemented", "asl-sim serve does not implement MFA Delete", &[]);
            }
            let Some(status) = status.filter(|_| body.contains("<VersioningConfiguration")) else {
                return error_resp(m, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", &[]);
            };
            match state.world.lock().s3.put_bucket_versioning(bucket, &status) {
                Ok(()) => Resp::new(200),
                Err(e) => s3_error(m, &e),
            }
        }
        _ => error_resp(m, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]),
    }
}

/// ListObjectVersions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html).
pub fn list_versions(state: &Arc<State>, req: &Req, bucket: &str) -> Resp {
    if req.method != "GET" {
        return error_resp(&req.method, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[]);
    }
    let scope = match super::s3::list_scope(req, bucket) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let input = ListObjectVersionsInput {
        scope,
        key_marker: req.query_param("key-marker"),
        version_id_marker: req.query_param("version-id-marker"),
    };
    let out = match state.world.lock().s3.list_object_versions(&input) {
        Ok(o) => o,
        Err(e) => return s3_error("GET", &e),
    };
    let mut x = format!(
        "<ListVersionsResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix><KeyMarker>{}</KeyMarker><VersionIdMarker>{}</VersionIdMarker>",
        esc(&out.page.name),
        esc(&out.page.prefix),
        esc(&out.key_marker),
        esc(&out.version_id_marker)
    );
    if let Some(k) = &out.next_key_marker {
        x.push_str(&format!("<NextKeyMarker>{}</NextKeyMarker>", esc(k)));
    }
    if let Some(v) = &out.next_version_id_marker {
        x.push_str(&format!("<NextVersionIdMarker>{}</NextVersionIdMarker>", esc(v)));
    }
    x.push_str(&format!("<MaxKeys>{}</MaxKeys>", out.page.max_keys));
    if let Some(d) = &out.page.delimiter {
        x.push_str(&format!("<Delimiter>{}</Delimiter>", esc(d)));
    }
    x.push_str(&format!("<IsTruncated>{}</IsTruncated>", out.page.is_truncated));
    let owner = format!("<Owner><ID>{0}</ID><DisplayName>{0}</DisplayName></Owner>", super::template::ACCOUNT);
    // Versions and delete markers interleaved in list order, as S3 writes them.
    for v in &out.versions {
        let common = format!(
            "<Key>{}</Key><VersionId>{}</VersionId><IsLatest>{}</IsLatest><LastModified>{}</LastModified>",
            esc(&v.key),
            esc(&v.version_id),
            v.is_latest,
            format_iso8601_millis(v.last_modified_ms)
        );
        match &v.object {
            Some((etag, size)) => x.push_str(&format!("<Version>{common}<ETag>{}</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass>{owner}</Version>", esc(etag))),
            None => x.push_str(&format!("<DeleteMarker>{common}{owner}</DeleteMarker>")),
        }
    }
    for p in &out.page.common_prefixes {
        x.push_str(&format!("<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>", esc(p)));
    }
    x.push_str("</ListVersionsResult>");
    xml(x)
}
