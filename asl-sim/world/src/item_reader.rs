//! Distributed Map's ItemReader over the embedded S3: the formats are read by
//! `asl-item-reader` (one implementation for every driver); this module only lends it the
//! world's S3 as its [`asl_item_reader::ObjectStore`].

use asl_core::engine::TaskError;
use asl_item_reader::{ListedObject, ObjectStore};
use asl_s3::S3;
use serde_json::Value;

struct EmbeddedS3<'a>(&'a mut S3);

fn s3_error(e: asl_s3::s3::S3Error) -> (String, String) {
    (e.code, e.message)
}

impl ObjectStore for EmbeddedS3<'_> {
    fn get_object(&mut self, bucket: &str, key: &str) -> Result<Vec<u8>, (String, String)> {
        self.0.get_object(bucket, key, None).map(|o| o.body).map_err(s3_error)
    }

    fn list_objects(&mut self, bucket: &str, prefix: Option<&str>) -> Result<Vec<ListedObject>, (String, String)> {
        let scope = asl_s3::s3::ListScope { prefix: prefix.map(str::to_string), ..asl_s3::s3::ListScope::bucket(bucket) };
        let input = asl_s3::s3::ListObjectsV2Input { scope, ..Default::default() };
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .0
                .list_objects_v2(&asl_s3::s3::ListObjectsV2Input { continuation_token: token.take(), ..input.clone() })
                .map_err(s3_error)?;
            out.extend(page.contents.iter().map(|o| ListedObject {
                key: o.key.clone(),
                etag: o.etag.clone(),
                last_modified_ms: o.last_modified_ms,
                size: o.size,
                storage_class: "STANDARD".into(),
            }));
            if !page.page.is_truncated {
                return Ok(out);
            }
            token = page.next_continuation_token.clone();
        }
    }
}

pub fn read(s3: &mut S3, reader: &Value, params: &Value) -> Result<Vec<Value>, TaskError> {
    asl_item_reader::read(&mut EmbeddedS3(s3), reader, params).map_err(|(error, cause)| TaskError { error, cause: Some(cause) })
}
