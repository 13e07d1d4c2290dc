//! What the services' Step Functions integrations share: the metadata that optimized
//! integrations add to a service's answer (what the AWS SDK for Java v1 keeps of the HTTP
//! response), and the error for a resource no integration knows.

use serde_json::{json, Map, Value};

/// `body`'s members, then `SdkHttpMetadata` (each of `headers` as a one-element list in
/// `AllHttpHeaders` and as text in `HttpHeaders`, status 200) and `SdkResponseMetadata`.
pub fn with_sdk_v1_metadata(body: Value, headers: &[(&str, String)], request_id: &str) -> Value {
    let mut all = Map::new();
    let mut flat = Map::new();
    for (k, v) in headers {
        all.insert(k.to_string(), json!([v]));
        flat.insert(k.to_string(), json!(v));
    }
    let mut out = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert("SdkHttpMetadata".into(), json!({"AllHttpHeaders": all, "HttpHeaders": flat, "HttpStatusCode": 200}));
    out.insert("SdkResponseMetadata".into(), json!({"RequestId": request_id}));
    Value::Object(out)
}

/// The failure of a Task whose resource (`prefix` and `action`, e.g.
/// `arn:aws:states:::sqs:` `sendMessage`) no integration knows. AWS rejects such a resource
/// when the state machine is created; at run time the nearest equivalent is a
/// `States.Runtime` failure carrying the same text.
pub fn not_recognized(prefix: &str, action: &str) -> (String, String) {
    (
        "States.Runtime".to_string(),
        format!(
            "The resource provided {prefix}{action} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
        ),
    )
}
