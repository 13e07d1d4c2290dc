//! What a Distributed Map's `ItemReader` reads, as "ItemReader (Map)" documents it
//! (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html): the
//! objects of `s3:listObjectsV2`, and through `s3:getObject` a JSON array, JSON Lines, a
//! delimited text file (CSV), an S3 inventory manifest, or a Parquet file.
//!
//! The crate does no S3 itself: the caller passes an [`ObjectStore`].

mod csv;
mod parquet_rows;

use serde_json::{json, Value};
use std::io::Read;

/// A failed read: always `States.ItemReaderFailed`, with a cause.
pub type Failure = (String, String);

pub const ERROR: &str = "States.ItemReaderFailed";

fn failed(cause: impl Into<String>) -> Failure {
    (ERROR.to_string(), cause.into())
}

/// `ReaderConfig.MaxItems` is at most 100,000,000 ("ItemReader (Map)", ReaderConfig).
pub const MAX_ITEMS_LIMIT: i64 = 100_000_000;

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    /// As S3 lists it, with its double quotes.
    pub etag: String,
    pub last_modified_ms: i64,
    pub size: u64,
    pub storage_class: String,
}

/// The S3 calls an ItemReader makes. Errors are S3's `(code, message)`.
pub trait ObjectStore {
    fn get_object(&mut self, bucket: &str, key: &str) -> Result<Vec<u8>, (String, String)>;
    /// Every object under `prefix` (all pages), in key order.
    fn list_objects(&mut self, bucket: &str, prefix: Option<&str>) -> Result<Vec<ListedObject>, (String, String)>;
}

fn s3_failure((code, message): (String, String)) -> Failure {
    failed(format!("{code}: {message}"))
}

/// Reads the items of `reader` (the ItemReader field, with `ReaderConfig` already resolved:
/// `MaxItemsPath` evaluated into `MaxItems`) with its evaluated `Parameters`/`Arguments`.
pub fn read(store: &mut dyn ObjectStore, reader: &Value, params: &Value) -> Result<Vec<Value>, Failure> {
    let resource = reader.get("Resource").and_then(Value::as_str).unwrap_or("");
    let config = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
    let max_items = config.get("MaxItems").and_then(Value::as_i64);
    if let Some(m) = max_items {
        if m < 0 {
            return Err(failed("field MaxItems must be positive"));
        }
        if m > MAX_ITEMS_LIMIT {
            return Err(failed(format!("field MaxItems must be at most {MAX_ITEMS_LIMIT}")));
        }
    }
    let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or("");
    // The resource's partition varies (aws, aws-cn, aws-us-gov).
    let action = resource.strip_prefix("arn:").and_then(|r| r.split_once(":states:::s3:")).map(|(_, a)| a);
    let mut items = match action {
        Some("listObjectsV2") => {
            let prefix = params.get("Prefix").and_then(Value::as_str);
            store.list_objects(bucket, prefix).map_err(s3_failure)?.into_iter().map(|o| listed_item(&o)).collect()
        }
        Some("getObject") => {
            let key = params.get("Key").and_then(Value::as_str).unwrap_or("");
            let body = store.get_object(bucket, key).map_err(s3_failure)?;
            let input_type = config.get("InputType").and_then(Value::as_str).unwrap_or("JSON");
            match input_type {
                "MANIFEST" => manifest(store, &body, &config)?,
                other => parse(other, &body, &config)?,
            }
        }
        _ => return Err(failed(format!("the ItemReader resource {resource} is not supported"))),
    };
    if let Some(m) = max_items {
        if m > 0 && (m as usize) < items.len() {
            items.truncate(m as usize);
        }
    }
    Ok(items)
}

/// A listing's item. "ItemReader (Map)" shows `LastModified` as epoch seconds:
/// `{"Etag": "\"05704fbd...\"", "Key": "...", "LastModified": 1668699881, "Size": 34910, "StorageClass": "STANDARD"}`.
pub fn listed_item(o: &ListedObject) -> Value {
    json!({
        "Etag": o.etag,
        "Key": o.key,
        "LastModified": o.last_modified_ms.div_euclid(1000),
        "Size": o.size,
        "StorageClass": o.storage_class,
    })
}

/// The items of one data file of type `input_type`.
pub fn parse(input_type: &str, body: &[u8], config: &Value) -> Result<Vec<Value>, Failure> {
    match input_type {
        "JSON" => {
            let text = String::from_utf8_lossy(body);
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(a)) => Ok(a),
                Ok(_) => Err(failed("Attempting to map over non-iterable node.")),
                Err(e) => Err(failed(format!("The content of the object is not valid JSON: {e}"))),
            }
        }
        "JSONL" => String::from_utf8_lossy(body)
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| failed(format!("invalid JSON line {}: {e}", i + 1))))
            .collect(),
        "CSV" => csv::rows(&String::from_utf8_lossy(body), config),
        "PARQUET" => parquet_rows::rows(body),
        other => Err(failed(format!("InputType {other} is not supported"))),
    }
}

/// Gzip data is recognised by its magic number, not its name.
fn maybe_gunzip(body: Vec<u8>, what: &str) -> Result<Vec<u8>, Failure> {
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .map_err(|e| failed(format!("{what} is not valid gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(body)
    }
}

/// An S3 inventory `manifest.json` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
/// its `files` are CSV (optionally gzip) data files without a header row, in `destinationBucket`,
/// with the columns of `fileSchema`. Each row is one item whose fields are named by the schema,
/// values as strings ("ItemReader (Map)", S3 inventory example:
/// `{"LastModifiedDate": "2022-11-16T00:29:32.000Z", "Bucket": "...", "Size": "3399671", "Key": "csvDataset/titles.csv"}`).
fn manifest(store: &mut dyn ObjectStore, body: &[u8], config: &Value) -> Result<Vec<Value>, Failure> {
    if let Some(t) = config.get("ManifestType").and_then(Value::as_str) {
        if t != "S3_INVENTORY" {
            return Err(failed(format!("ManifestType {t} is not supported; asl-sim reads S3_INVENTORY manifests")));
        }
    }
    let m: Value = serde_json::from_slice(body).map_err(|e| failed(format!("The manifest is not valid JSON: {e}")))?;
    let format = m.get("fileFormat").and_then(Value::as_str).unwrap_or("");
    if format != "CSV" {
        return Err(failed(format!("The manifest's fileFormat is {format:?}; only CSV inventory reports can be read")));
    }
    let schema: Vec<String> = m
        .get("fileSchema")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("The manifest has no fileSchema"))?
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    let destination = m.get("destinationBucket").and_then(Value::as_str).ok_or_else(|| failed("The manifest has no destinationBucket"))?;
    let bucket = destination.strip_prefix("arn:aws:s3:::").or_else(|| destination.rsplit_once(":::").map(|(_, b)| b)).unwrap_or(destination);
    let files = m.get("files").and_then(Value::as_array).ok_or_else(|| failed("The manifest has no files list"))?;
    let csv_config = json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": schema});
    let mut items = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let key = f.get("key").and_then(Value::as_str).ok_or_else(|| failed(format!("The manifest's files[{i}] has no key")))?;
        let data = store.get_object(bucket, key).map_err(s3_failure)?;
        let data = maybe_gunzip(data, key)?;
        items.extend(csv::rows(&String::from_utf8_lossy(&data), &csv_config)?);
    }
    Ok(items)
}
