//! DynamoDB attribute values: parsing from DynamoDB JSON with DynamoDB's validation
//! messages, serialisation back, ordering of key values and item sizes.

use crate::decimal::Decimal;
use serde_json::{Map, Value};
pub use crate::attrmap::AttrMap;

pub type Item = AttrMap;

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    S(String),
    N(Decimal),
    B(Vec<u8>),
    SS(Vec<String>),
    NS(Vec<Decimal>),
    BS(Vec<Vec<u8>>),
    M(AttrMap),
    L(Vec<AttrValue>),
    Null,
    Bool(bool),
}

impl AttrValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::S(_) => "S",
            AttrValue::N(_) => "N",
            AttrValue::B(_) => "B",
            AttrValue::SS(_) => "SS",
            AttrValue::NS(_) => "NS",
            AttrValue::BS(_) => "BS",
            AttrValue::M(_) => "M",
            AttrValue::L(_) => "L",
            AttrValue::Null => "NULL",
            AttrValue::Bool(_) => "BOOL",
        }
    }

    /// The long type name DynamoDB uses in some operand-type messages.
    pub fn long_type_name(&self) -> &'static str {
        match self {
            AttrValue::S(_) => "STRING",
            AttrValue::N(_) => "NUMBER",
            AttrValue::B(_) => "BINARY",
            AttrValue::SS(_) => "STRING_SET",
            AttrValue::NS(_) => "NUMBER_SET",
            AttrValue::BS(_) => "BINARY_SET",
            AttrValue::M(_) => "MAP",
            AttrValue::L(_) => "LIST",
            AttrValue::Null => "NULL",
            AttrValue::Bool(_) => "BOOLEAN",
        }
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(1);
        let (k, v) = match self {
            AttrValue::S(s) => ("S", Value::String(s.clone())),
            AttrValue::N(n) => ("N", Value::String(n.to_canonical())),
            AttrValue::B(b) => ("B", Value::String(base64_encode(b))),
            AttrValue::SS(v) => ("SS", Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())),
            AttrValue::NS(v) => ("NS", Value::Array(v.iter().map(|s| Value::String(s.to_canonical())).collect())),
            AttrValue::BS(v) => ("BS", Value::Array(v.iter().map(|s| Value::String(base64_encode(s))).collect())),
            AttrValue::M(m2) => ("M", Value::Object(m2.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect())),
            AttrValue::L(l) => ("L", Value::Array(l.iter().map(|v| v.to_json()).collect())),
            AttrValue::Null => ("NULL", Value::Bool(true)),
            AttrValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        };
        m.insert(k.to_string(), v);
        Value::Object(m)
    }

    /// Size in bytes as DynamoDB counts it (value only, without the attribute name).
    pub fn size(&self) -> usize {
        match self {
            AttrValue::S(s) => s.len(),
            AttrValue::N(n) => n.storage_size(),
            AttrValue::B(b) => b.len(),
            AttrValue::SS(v) => v.iter().map(|s| s.len()).sum(),
            AttrValue::NS(v) => v.iter().map(|n| n.storage_size()).sum(),
            AttrValue::BS(v) => v.iter().map(|b| b.len()).sum(),
            AttrValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            AttrValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttrValue::Null | AttrValue::Bool(_) => 1,
        }
    }

    /// Equality as DynamoDB compares values (sets ignore order).
    pub fn dyn_eq(&self, other: &AttrValue) -> bool {
        match (self, other) {
            (AttrValue::SS(a), AttrValue::SS(b)) => same_members(a, b),
            (AttrValue::NS(a), AttrValue::NS(b)) => same_members(a, b),
            (AttrValue::BS(a), AttrValue::BS(b)) => same_members(a, b),
            (AttrValue::M(a), AttrValue::M(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.dyn_eq(w)))
            }
            (AttrValue::L(a), AttrValue::L(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.dyn_eq(y)),
            _ => self == other,
        }
    }

    pub fn as_key(&self) -> Option<KeyVal> {
        match self {
            AttrValue::S(s) => Some(KeyVal::S(s.clone())),
            AttrValue::N(n) => Some(KeyVal::N(n.clone())),
            AttrValue::B(b) => Some(KeyVal::B(b.clone())),
            _ => None,
        }
    }
}

/// Set equality (members are distinct, order does not matter).
fn same_members<T: Eq + std::hash::Hash>(a: &[T], b: &[T]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let set: std::collections::HashSet<&T> = b.iter().collect();
    a.iter().all(|x| set.contains(x))
}

pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

pub fn item_to_json(item: &Item) -> Value {
    let mut m = Map::with_capacity(item.len());
    for (k, v) in item {
        m.insert(k.to_string(), v.to_json());
    }
    Value::Object(m)
}

/// A key attribute value, ordered as DynamoDB orders sort keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyVal {
    N(Decimal),
    S(String),
    B(Vec<u8>),
}

impl KeyVal {
    pub fn to_attr(&self) -> AttrValue {
        match self {
            KeyVal::N(n) => AttrValue::N(n.clone()),
            KeyVal::S(s) => AttrValue::S(s.clone()),
            KeyVal::B(b) => AttrValue::B(b.clone()),
        }
    }
}

/// Parses one DynamoDB-JSON attribute value, with DynamoDB's validation messages
/// (without any "ExpressionAttributeValues contains invalid value" prefix).
pub fn parse_attr(v: &Value, depth: usize) -> Result<AttrValue, String> {
    let obj = match v {
        Value::Object(o) => o,
        Value::Array(_) => return Err(ser("Start of list found where not expected")),
        Value::Null => return Err("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into()),
        _ => return Err(ser("Unexpected value type in payload")),
    };
    if depth > 32 {
        return Err("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit".into());
    }
    let entries: Vec<(&String, &Value)> = obj.iter().filter(|(_, v)| !v.is_null()).collect();
    if entries.is_empty() {
        return Err("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into());
    }
    if entries.len() > 1 {
        return Err("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes".into());
    }
    let (t, val) = entries[0];
    let num = |s: &str| -> Result<Decimal, String> { Decimal::parse(s).map_err(|e| e.message()) };
    Ok(match t.as_str() {
        "S" => AttrValue::S(as_str(val)?),
        "N" => {
            let s = as_str(val)?;
            if s.is_empty() {
                return Err("The parameter cannot be converted to a numeric value".into());
            }
            AttrValue::N(num(&s)?)
        }
        "B" => AttrValue::B(parse_b64(&as_str(val)?)?),
        "BOOL" => match val {
            Value::Bool(b) => AttrValue::Bool(*b),
            _ => return Err(ser("Unexpected value type in payload")),
        },
        "NULL" => match val {
            Value::Bool(true) => AttrValue::Null,
            Value::Bool(false) => return Err("One or more parameter values were invalid: Null attribute value types must have the value of true".into()),
            _ => return Err(ser("Unexpected value type in payload")),
        },
        "SS" => AttrValue::SS(set_members(val, "An string set  may not be empty", "", |s| Ok(s.to_string()))?),
        "NS" => AttrValue::NS(set_members(val, "An number set  may not be empty", "of type NS", |s| {
            if s.is_empty() {
                return Err("The parameter cannot be converted to a numeric value".into());
            }
            num(s)
        })?),
        "BS" => AttrValue::BS(set_members(val, "Binary sets should not be empty", "of type BS", parse_b64)?),
        "M" => match val {
            Value::Object(o) => {
                let mut m = Vec::with_capacity(o.len());
                for (k, v) in o {
                    m.push((k.as_str(), parse_attr(v, depth + 1)?));
                }
                AttrValue::M(m.into_iter().collect())
            }
            Value::Array(_) => return Err(ser("Start of list found where not expected")),
            _ => return Err(ser("Expected map or null")),
        },
        "L" => {
            let l = as_list(val)?;
            let mut out = Vec::new();
            for x in &l {
                out.push(parse_attr(x, depth + 1)?);
            }
            AttrValue::L(out)
        }
        other => {
            return Err(ser(&format!("Unknown member type {other} in AttributeValue")));
        }
    })
}

/// Marker prefix for messages that are SerializationExceptions rather than validation errors.
pub const SER_PREFIX: &str = "\u{0}SER:";

fn ser(msg: &str) -> String {
    format!("{SER_PREFIX}{msg}")
}

fn as_str(val: &Value) -> Result<String, String> {
    match val {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(_) => Err(ser("class java.lang.Boolean can not be converted to an String")),
        Value::Number(_) => Err(ser("NUMBER_VALUE can not be converted to a String")),
        Value::Array(_) => Err(ser("Start of list found where not expected")),
        _ => Err(ser("Start of structure or map found where not expected.")),
    }
}

fn as_list(val: &Value) -> Result<Vec<Value>, String> {
    match val {
        Value::Array(a) => Ok(a.clone()),
        Value::Object(_) => Err(ser("Start of structure or map found where not expected.")),
        _ => Err(ser("Expected list or null")),
    }
}

/// The members of a set (`SS`, `NS`, `BS`): a non-empty list (else `empty`) of strings,
/// each read by `member`, without duplicates (`of_type` names the type in that error).
fn set_members<T: Eq + std::hash::Hash>(val: &Value, empty: &str, of_type: &str, member: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    let l = as_list(val)?;
    if l.is_empty() {
        return Err(format!("One or more parameter values were invalid: {empty}"));
    }
    let mut out = Vec::new();
    let mut texts = Vec::new();
    for x in &l {
        let s = as_str(x)?;
        out.push(member(&s)?);
        texts.push(s);
    }
    if has_dup(&out) {
        return Err(format!("One or more parameter values were invalid: Input collection [{}]{of_type} contains duplicates.", texts.join(", ")));
    }
    Ok(out)
}

fn has_dup<T: Eq + std::hash::Hash>(v: &[T]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.iter().any(|x| !seen.insert(x))
}

pub fn parse_item(v: &Value) -> Result<Item, String> {
    match v {
        Value::Object(o) => {
            let mut item = Item::new();
            for (k, v) in o {
                item.insert(k.clone(), parse_attr(v, 1)?);
            }
            Ok(item)
        }
        Value::Array(_) => Err(ser("Start of list found where not expected")),
        _ => Err(ser("Expected map or null")),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { B64[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { B64[n as usize & 63] as char } else { '=' });
    }
    out
}

fn parse_b64(s: &str) -> Result<Vec<u8>, String> {
    base64_decode(s).ok_or_else(|| ser(&format!("Base64 encoded length is expected a multiple of 4 bytes but found: {}", s.len())))
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let mut n: u32 = 0;
        let mut pad = 0;
        for (i, c) in chunk.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if last && i >= 2 => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            if pad > 0 && *c != b'=' {
                return None;
            }
            n = (n << 6) | v as u32;
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn b64_roundtrip() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0, 255, 128, 7]] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert!(base64_decode("abc").is_none());
        assert!(base64_decode("a=bc").is_none());
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse_attr(&json!({}), 1).unwrap_err(), "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
        assert!(parse_attr(&json!({"S": "a", "N": "1"}), 1).unwrap_err().contains("more than one datatypes"));
        assert_eq!(parse_attr(&json!({"SS": []}), 1).unwrap_err(), "One or more parameter values were invalid: An string set  may not be empty");
        assert_eq!(
            parse_attr(&json!({"SS": ["a", "a"]}), 1).unwrap_err(),
            "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
        );
        assert!(parse_attr(&json!({"NS": ["1", "1.0"]}), 1).unwrap_err().contains("contains duplicates"));
        assert_eq!(parse_attr(&json!({"N": "x"}), 1).unwrap_err(), "The parameter cannot be converted to a numeric value: x");
    }

    #[test]
    fn sizes() {
        let item = parse_item(&json!({"pk": {"S": "abc"}, "n": {"N": "12345"}, "m": {"M": {"a": {"BOOL": true}}}})).unwrap();
        // pk: 2+3; n: 1 + (3 pairs + 1); m: 1 + 3 + (1 + 1 + 1)
        assert_eq!(item_size(&item), 5 + 5 + 7);
    }
}
