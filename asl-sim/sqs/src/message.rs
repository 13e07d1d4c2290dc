//! Message attributes: parsing from the JSON protocol's shape, SQS's validation, and the
//! MD5 digests SQS returns.
//!
//! MD5OfMessageAttributes follows "Calculating the MD5 message digest for message attributes"
//! (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation):
//! attributes sorted by name; for each, the name, the data type and the value, each as a
//! 4-byte big-endian length followed by its bytes, with one transport byte (1 = String or
//! Number, 2 = Binary) before the value.

use crate::error::SqsError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One message attribute value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttributeValue {
    /// String and Number types (and their custom `String.x` / `Number.x` forms).
    String(String),
    /// Binary types: the decoded bytes.
    Binary(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    pub value: AttributeValue,
}

/// Attributes by name; a BTreeMap keeps SQS's name order for the digest.
pub type Attributes = BTreeMap<String, MessageAttribute>;

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn b64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// MD5OfMessageAttributes of a set of attributes; `None` when there are none (SQS then
/// leaves the field out).
pub fn md5_of_attributes(attrs: &Attributes) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    let put = |bytes: &[u8], buf: &mut Vec<u8>| {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    };
    for (name, a) in attrs {
        put(name.as_bytes(), &mut buf);
        put(a.data_type.as_bytes(), &mut buf);
        match &a.value {
            AttributeValue::String(s) => {
                buf.push(1);
                put(s.as_bytes(), &mut buf);
            }
            AttributeValue::Binary(b) => {
                buf.push(2);
                put(b, &mut buf);
            }
        }
    }
    Some(md5_hex(&buf))
}

/// The bytes an attribute counts toward the message size: name, type and value.
pub fn attributes_size(attrs: &Attributes) -> usize {
    attrs
        .iter()
        .map(|(n, a)| {
            n.len()
                + a.data_type.len()
                + match &a.value {
                    AttributeValue::String(s) => s.len(),
                    AttributeValue::Binary(b) => b.len(),
                }
        })
        .sum()
}

/// The characters SQS allows in bodies and string values (SendMessage API reference):
/// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
pub fn valid_chars(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

fn is_number(s: &str) -> bool {
    // SQS accepts up to 38 digits of precision between -10^128 and 10^126; a decimal
    // literal check is what a client can observe.
    let t = s.trim();
    !t.is_empty() && t.parse::<f64>().map(|f| f.is_finite()).unwrap_or(false)
}

/// Parses and validates `MessageAttributes` in the JSON protocol's shape
/// (`{"name": {"DataType": "String", "StringValue": "v"}}`, BinaryValue base64).
///
/// The empty-value message is recorded (aws-recorded/errors.jsonl, test_send_message_with_empty_string_attribute);
/// the other wordings are not recorded and follow the same pattern.
pub fn parse_attributes(v: Option<&Value>) -> Result<Attributes, SqsError> {
    let mut out = Attributes::new();
    let obj = match v {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(SqsError::serialization("MessageAttributes must be a map of attribute names to values")),
    };
    if obj.len() > 10 {
        return Err(SqsError::invalid_parameter_value(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            obj.len()
        )));
    }
    for (name, av) in obj {
        validate_attribute_name(name)?;
        let Value::Object(av) = av else {
            return Err(SqsError::serialization(format!("MessageAttributes.{name} must be an object")));
        };
        let data_type = match av.get("DataType") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                return Err(SqsError::invalid_parameter_value(format!(
                    "The message attribute '{name}' must contain non-empty message attribute type."
                )))
            }
            Some(_) => return Err(SqsError::serialization(format!("MessageAttributes.{name}.DataType must be a string"))),
        };
        let base = data_type.split('.').next().unwrap_or("");
        let value = match base {
            "String" | "Number" => {
                let s = match av.get("StringValue") {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::String(_)) | None | Some(Value::Null) => {
                        return Err(SqsError::invalid_parameter_value(format!(
                            "Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
                        )))
                    }
                    Some(_) => {
                        return Err(SqsError::serialization(format!("MessageAttributes.{name}.StringValue must be a string")))
                    }
                };
                if !valid_chars(&s) {
                    return Err(SqsError::invalid_message_contents());
                }
                if base == "Number" && !is_number(&s) {
                    return Err(SqsError::invalid_parameter_value(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    )));
                }
                AttributeValue::String(s)
            }
            "Binary" => {
                let b = match av.get("BinaryValue") {
                    Some(Value::String(s)) => {
                        b64_decode(s).ok_or_else(|| SqsError::serialization(format!("MessageAttributes.{name}.BinaryValue is not valid base64")))?
                    }
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => {
                        return Err(SqsError::serialization(format!("MessageAttributes.{name}.BinaryValue must be a base64 string")))
                    }
                };
                if b.is_empty() {
                    return Err(SqsError::invalid_parameter_value(format!(
                        "Message (user) attribute '{name}' must contain a non-empty value of type 'Binary'."
                    )));
                }
                AttributeValue::Binary(b)
            }
            _ => {
                return Err(SqsError::invalid_parameter_value(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )))
            }
        };
        out.insert(name.clone(), MessageAttribute { data_type, value });
    }
    Ok(out)
}

/// Attribute names: 1 to 256 of `[A-Za-z0-9_.-]`, no leading, trailing or doubled `.`, no
/// `AWS.`/`Amazon.` prefix (SQS Developer Guide, "Amazon SQS message attributes").
fn validate_attribute_name(name: &str) -> Result<(), SqsError> {
    let bad = |why: &str| {
        Err(SqsError::invalid_parameter_value(format!("Message (user) attribute name '{name}' is invalid. {why}")))
    };
    if name.is_empty() || name.len() > 256 {
        return bad("Attribute names must be 1 to 256 characters long.");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return bad("Attribute names can only contain alphanumeric characters, hyphens, underscores and periods.");
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return bad("Attribute names can't start or end with a period, or contain successive periods.");
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return bad("The attribute name can't start with AWS. or Amazon..");
    }
    Ok(())
}

/// Attributes in the JSON protocol's shape (what ReceiveMessage returns).
pub fn attributes_json(attrs: &Attributes) -> Value {
    let mut m = Map::new();
    for (name, a) in attrs {
        let v = match &a.value {
            AttributeValue::String(s) => json!({"DataType": a.data_type, "StringValue": s}),
            AttributeValue::Binary(b) => json!({"DataType": a.data_type, "BinaryValue": b64_encode(b)}),
        };
        m.insert(name.clone(), v);
    }
    Value::Object(m)
}

/// The attributes ReceiveMessage's `MessageAttributeNames` selects: `All`, `.*`, a prefix
/// `name.*`, or exact names.
pub fn select_attributes(attrs: &Attributes, names: &[String]) -> Attributes {
    attrs
        .iter()
        .filter(|(n, _)| {
            names.iter().any(|want| {
                want == "All"
                    || want == ".*"
                    || want == n.as_str()
                    || want.strip_suffix(".*").is_some_and(|p| n.starts_with(p) && n[p.len()..].starts_with('.'))
            })
        })
        .map(|(n, a)| (n.clone(), a.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_md5_is_plain_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_digest_encoding() {
        // The buffer for {"a": String "b"} is len("a") "a" len("String") "String" 0x01 len("b") "b".
        let mut attrs = Attributes::new();
        attrs.insert("a".into(), MessageAttribute { data_type: "String".into(), value: AttributeValue::String("b".into()) });
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"String");
        expected.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(md5_of_attributes(&attrs).unwrap(), md5_hex(&expected));
    }
}
