//! Distributed Map's ItemReader over the embedded S3: JSON, JSON Lines, CSV
//! (with ReaderConfig) from GetObject, and the object list of ListObjectsV2.

use asl_core::engine::TaskError;
use asl_s3::S3;
use serde_json::{json, Map, Value};

fn failed(cause: impl Into<String>) -> TaskError {
    TaskError { error: "States.ItemReaderFailed".into(), cause: Some(cause.into()) }
}

pub fn read(s3: &mut S3, reader: &Value, params: &Value) -> Result<Vec<Value>, TaskError> {
    let resource = reader.get("Resource").and_then(Value::as_str).unwrap_or("");
    let config = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
    let max_items = config.get("MaxItems").and_then(Value::as_i64);
    if let Some(m) = max_items {
        if m < 0 {
            return Err(failed("field MaxItems must be positive"));
        }
    }
    let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or("");
    let mut items = match resource {
        "arn:aws:states:::s3:listObjectsV2" => {
            let input = asl_s3::s3::ListObjectsV2Input {
                bucket: bucket.to_string(),
                prefix: params.get("Prefix").and_then(Value::as_str).map(str::to_string),
                ..Default::default()
            };
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let page = s3
                    .list_objects_v2(&asl_s3::s3::ListObjectsV2Input { continuation_token: token.clone(), ..input.clone() })
                    .map_err(|e| failed(format!("{}: {}", e.code, e.message)))?;
                for o in &page.contents {
                    out.push(json!({
                        "Etag": o.etag, "Key": o.key, "LastModified": asl_aws::time::format_iso8601(o.last_modified_ms),
                        "Size": o.size, "StorageClass": "STANDARD"
                    }));
                }
                if !page.is_truncated {
                    break;
                }
                token = page.next_continuation_token.clone();
            }
            out
        }
        "arn:aws:states:::s3:getObject" => {
            let key = params.get("Key").and_then(Value::as_str).unwrap_or("");
            let obj = s3.get_object(bucket, key, None).map_err(|e| failed(format!("{}: {}", e.code, e.message)))?;
            let text = String::from_utf8_lossy(&obj.body).into_owned();
            match config.get("InputType").and_then(Value::as_str).unwrap_or("JSON") {
                "JSON" => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Array(a)) => a,
                    Ok(_) => return Err(failed("Attempting to map over non-iterable node.")),
                    Err(e) => return Err(failed(format!("The content of the object is not valid JSON: {e}"))),
                },
                "JSONL" => text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| serde_json::from_str(l).map_err(|e| failed(format!("invalid JSON line: {e}"))))
                    .collect::<Result<Vec<_>, _>>()?,
                "CSV" => csv(&text, &config)?,
                other => return Err(failed(format!("InputType {other} is not supported"))),
            }
        }
        other => return Err(failed(format!("the ItemReader resource {other} is not supported"))),
    };
    if let Some(m) = max_items {
        if m > 0 && (m as usize) < items.len() {
            items.truncate(m as usize);
        }
    }
    Ok(items)
}

fn split_csv_line(line: &str, delim: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if cur.is_empty() && !quoted => quoted = true,
            '"' if quoted => quoted = false,
            c if c == delim && !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn csv(text: &str, config: &Value) -> Result<Vec<Value>, TaskError> {
    let delim = match config.get("CSVDelimiter").and_then(Value::as_str).unwrap_or("COMMA") {
        "COMMA" => ',',
        "PIPE" => '|',
        "SEMICOLON" => ';',
        "SPACE" => ' ',
        "TAB" => '\t',
        other => other.chars().next().unwrap_or(','),
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).peekable();
    let headers: Vec<String> = match config.get("CSVHeaderLocation").and_then(Value::as_str).unwrap_or("FIRST_ROW") {
        "GIVEN" => config
            .get("CSVHeaders")
            .and_then(Value::as_array)
            .ok_or_else(|| failed("CSVHeaders must be given when CSVHeaderLocation is GIVEN"))?
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => match lines.next() {
            Some(l) => split_csv_line(l, delim),
            None => return Ok(Vec::new()),
        },
    };
    let mut out = Vec::new();
    let rows: Vec<&str> = lines.collect();
    let n = rows.len();
    for (i, line) in rows.into_iter().enumerate() {
        // The newline that ends the file does not start another row.
        if i + 1 == n && line.is_empty() {
            break;
        }
        let fields = split_csv_line(line, delim);
        let mut m = Map::new();
        for (j, h) in headers.iter().enumerate() {
            m.insert(h.clone(), Value::String(fields.get(j).cloned().unwrap_or_default()));
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}
