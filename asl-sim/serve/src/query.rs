//! The AWS query protocol shared by SQS (as the AWS CLI v1 speaks it) and SNS: a
//! form-encoded `Action=...&Version=...` request whose dotted, 1-based keys
//! (`Attribute.1.Name`, `Attributes.entry.1.key`, `Tags.member.1.Key`) describe lists and
//! maps, answered in XML. Requests become the JSON shape the service crates take.

use serde_json::{Map, Value};

/// Decodes an `application/x-www-form-urlencoded` body (`+` is a space).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', "%20")).decode_utf8_lossy().into_owned();
            (dec(k), dec(v))
        })
        .collect()
}

/// The pairs as a tree: `a.1.b=v` → `{"a": {"1": {"b": "v"}}}`. A key that is both a
/// value and a prefix keeps the value (the later, deeper key is ignored): input from a
/// client is never allowed to panic the tree builder.
pub fn tree(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (k, v) in pairs {
        let parts: Vec<&str> = k.split('.').collect();
        let mut node = &mut root;
        for (i, p) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.entry(p.to_string()).or_insert_with(|| Value::String(v.clone()));
            } else {
                let child = node.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
                match child {
                    Value::Object(m) => node = m,
                    _ => break,
                }
            }
        }
    }
    root
}

/// The values of a `{"1": a, "2": b}` node in index order (non-numeric keys are dropped).
pub fn indexed(v: &Value) -> Vec<Value> {
    let Value::Object(m) = v else { return Vec::new() };
    let mut items: Vec<(u64, &Value)> = m.iter().filter_map(|(k, v)| k.parse().ok().map(|n| (n, v))).collect();
    items.sort_by_key(|(n, _)| *n);
    items.into_iter().map(|(_, v)| v.clone()).collect()
}

/// `{"1": {name_key: n, value_key: v}, ...}` → `{n: v}`.
pub fn pairs_to_map(v: &Value, name_key: &str, value_key: &str) -> Value {
    let mut out = Map::new();
    for e in indexed(v) {
        if let Some(Value::String(n)) = e.get(name_key) {
            out.insert(n.clone(), e.get(value_key).cloned().unwrap_or(Value::String(String::new())));
        }
    }
    Value::Object(out)
}

/// XML element with escaped text.
pub fn el(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", asl_aws::xml::escape(text))
}

/// A scalar JSON value as element text.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `<Op>Response><Op>Result>...</Op>Result><ResponseMetadata>...` as both services answer.
pub fn response(ns: &str, op: &str, result: &str, request_id: &str) -> Vec<u8> {
    let result = if result.is_empty() { String::new() } else { format!("<{op}Result>{result}</{op}Result>") };
    format!(
        "<?xml version=\"1.0\"?><{op}Response xmlns=\"{ns}\">{result}<ResponseMetadata>{}</ResponseMetadata></{op}Response>",
        el("RequestId", request_id)
    )
    .into_bytes()
}

pub fn error(ns: &str, sender: bool, code: &str, message: &str, request_id: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{ns}\"><Error>{}{}{}<Detail/></Error>{}</ErrorResponse>",
        el("Type", if sender { "Sender" } else { "Receiver" }),
        el("Code", code),
        el("Message", message),
        el("RequestId", request_id)
    )
    .into_bytes()
}

/// The signing service of a SigV4 `Authorization` header (`Credential=AK/date/region/sns/aws4_request`).
pub fn signing_service(authorization: Option<&str>) -> Option<String> {
    let cred = authorization?.split("Credential=").nth(1)?;
    let scope: Vec<&str> = cred.split([',', ' ']).next()?.split('/').collect();
    (scope.len() >= 5).then(|| scope[3].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_become_trees() {
        let p = form_pairs(b"Action=SendMessage&MessageBody=a+b%21&MessageAttribute.2.Name=z&MessageAttribute.1.Name=y&MessageAttribute.1.Value.DataType=String");
        let t = tree(&p);
        assert_eq!(t["MessageBody"], "a b!");
        let attrs = indexed(&t["MessageAttribute"]);
        assert_eq!(attrs[0]["Name"], "y");
        assert_eq!(attrs[1]["Name"], "z");
        assert_eq!(pairs_to_map(&t["MessageAttribute"], "Name", "Value")["y"], json!({"DataType": "String"}));
        // A key that is both a value and a prefix does not panic.
        let t = tree(&form_pairs(b"a=1&a.b=2"));
        assert_eq!(t["a"], "1");
    }

    #[test]
    fn signing_service_from_authorization() {
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(signing_service(Some(h)).as_deref(), Some("sns"));
        assert_eq!(signing_service(None), None);
    }
}
