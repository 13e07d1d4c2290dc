//! The EventBridge event-pattern language: compile (with EventBridge's validation
//! messages) and match.
//!
//! Semantics follow the EventBridge user guide ("Event patterns", "Content filtering",
//! "Arrays") and AWS-recorded results:
//! * every field of the pattern must be present in the event (except under
//!   `{"exists": false}`); event fields not in the pattern are ignored;
//! * a leaf's value is an array of alternatives; when the event value is an array, the
//!   field matches if any element matches;
//! * nested patterns over arrays of objects match when one element matches the whole
//!   nested pattern;
//! * exact values compare by type; strings case-sensitively; numbers by value (AWS
//!   matches pattern `300` with event `300.0`, contrary to its documentation);
//! * `$or` takes an array of patterns, one of which must match.
//!
//! Error messages are the `Reason` part AWS gives, without the Jackson location suffix
//! (`\n at [Source: …]`) that the real API appends for some of them.

use serde_json::{Map, Value};
use std::net::IpAddr;

/// A compiled event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: ObjPattern,
}

#[derive(Debug, Clone, PartialEq)]
struct ObjPattern {
    fields: Vec<(String, FieldPattern)>,
    ors: Vec<Vec<ObjPattern>>,
}

#[derive(Debug, Clone, PartialEq)]
enum FieldPattern {
    Nested(ObjPattern),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix { value: String, ignore_case: bool },
    Suffix { value: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(AnythingBut),
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr { net: IpAddr, bits: u8 },
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `InvalidEventPatternException`: the message is the full text AWS gives,
/// `Event pattern is not valid. Reason: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
}

impl PatternError {
    fn reason(r: impl Into<String>) -> Self {
        PatternError { message: format!("Event pattern is not valid. Reason: {}", r.into()) }
    }
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InvalidEventPatternException: {}", self.message)
    }
}

type R<T> = Result<T, PatternError>;

/// The most `$or` combinations a pattern may expand to.
const MAX_OR_COMBINATIONS: usize = 1000;

impl Pattern {
    /// Parses and validates a pattern given as JSON text (as PutRule's `EventPattern`).
    pub fn parse(text: &str) -> R<Pattern> {
        let v: Value = serde_json::from_str(text).map_err(|e| PatternError::reason(json_error_reason(text, &e)))?;
        Pattern::from_value(&v)
    }

    /// Validates a pattern already parsed as JSON.
    pub fn from_value(v: &Value) -> R<Pattern> {
        let obj = v.as_object().ok_or_else(|| PatternError::reason("Filter is not an object"))?;
        let root = compile_obj(obj)?;
        if combinations(&root) > MAX_OR_COMBINATIONS {
            return Err(PatternError::reason(
                "The total number of combinations exceeds the limit of 1000",
            ));
        }
        Ok(Pattern { root })
    }

    /// Does the event (the full envelope as JSON) match?
    pub fn matches(&self, event: &Value) -> bool {
        match_obj(&self.root, Some(event))
    }
}

/// Checks a pattern against an event (TestEventPattern).
pub fn test_event_pattern(pattern: &str, event: &Value) -> R<bool> {
    Ok(Pattern::parse(pattern)?.matches(event))
}

fn json_error_reason(text: &str, e: &serde_json::Error) -> String {
    // Jackson's wording for the two commonest cases; serde's otherwise.
    let trimmed = text.trim_start();
    if let Some(c) = trimmed.chars().next() {
        if c.is_alphabetic() {
            let tok: String = trimmed.chars().take_while(|c| c.is_alphanumeric()).collect();
            if !matches!(tok.as_str(), "true" | "false" | "null") {
                return format!(
                    "Unrecognized token '{tok}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                );
            }
        }
    }
    e.to_string()
}

fn combinations(p: &ObjPattern) -> usize {
    let mut total: usize = 1;
    for (_, f) in &p.fields {
        if let FieldPattern::Nested(n) = f {
            total = total.saturating_mul(combinations(n));
        }
    }
    for group in &p.ors {
        let sum = group.iter().map(combinations).fold(0usize, |a, b| a.saturating_add(b));
        total = total.saturating_mul(sum.max(1));
    }
    total
}

fn compile_obj(obj: &Map<String, Value>) -> R<ObjPattern> {
    if obj.is_empty() {
        return Err(PatternError::reason("Empty objects are not allowed"));
    }
    let mut fields = Vec::new();
    let mut ors = Vec::new();
    for (k, v) in obj {
        if k == "$or" {
            ors.push(compile_or(v)?);
            continue;
        }
        let fp = match v {
            Value::Object(o) => FieldPattern::Nested(compile_obj(o)?),
            Value::Array(a) => FieldPattern::Leaf(compile_leaf(a)?),
            _ => return Err(PatternError::reason(format!("\"{k}\" must be an object or an array"))),
        };
        // EventBridge joins field paths with dots: `{"a.b": [...]}` is `{"a": {"b": [...]}}`.
        let mut parts: Vec<&str> = k.split('.').collect();
        if parts.len() > 1 && parts.iter().all(|p| !p.is_empty()) {
            let mut fp = fp;
            while parts.len() > 1 {
                let last = parts.pop().unwrap_or_default();
                fp = FieldPattern::Nested(ObjPattern { fields: vec![(last.to_string(), fp)], ors: Vec::new() });
            }
            fields.push((parts[0].to_string(), fp));
            continue;
        }
        fields.push((k.clone(), fp));
    }
    Ok(ObjPattern { fields, ors })
}

fn compile_or(v: &Value) -> R<Vec<ObjPattern>> {
    let arr = match v {
        Value::Array(a) => a,
        _ => return Err(PatternError::reason("It must be an Array followed with $or.")),
    };
    let mut out = Vec::with_capacity(arr.len());
    for item in arr {
        match item {
            Value::Object(o) => out.push(compile_obj(o)?),
            _ => return Err(PatternError::reason("Only JSON object is allowed in array of $or relationship.")),
        }
    }
    if out.len() < 2 {
        return Err(PatternError::reason("There must have at least 2 Objects in $or relationship."));
    }
    Ok(out)
}

fn compile_leaf(arr: &[Value]) -> R<Vec<Matcher>> {
    if arr.is_empty() {
        return Err(PatternError::reason("Empty arrays are not allowed"));
    }
    arr.iter().map(compile_matcher).collect()
}

fn compile_matcher(v: &Value) -> R<Matcher> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => Ok(Matcher::Exact(v.clone())),
        Value::Array(_) => Err(PatternError::reason("Match value must be String, number, true, false, or null")),
        Value::Object(o) => {
            let mut it = o.iter();
            let (op, arg) = match it.next() {
                Some(x) => x,
                None => return Err(PatternError::reason("Match expression name not found")),
            };
            if it.next().is_some() {
                return Err(PatternError::reason("Only one key allowed in match expression"));
            }
            compile_operator(op, arg)
        }
    }
}

fn compile_operator(op: &str, arg: &Value) -> R<Matcher> {
    match op {
        "prefix" | "suffix" => {
            let ignore_case;
            let s = match arg {
                Value::String(s) => {
                    ignore_case = false;
                    s.clone()
                }
                Value::Object(o) if o.len() == 1 && o.get("equals-ignore-case").is_some_and(Value::is_string) => {
                    ignore_case = true;
                    o["equals-ignore-case"].as_str().unwrap_or_default().to_string()
                }
                _ => return Err(PatternError::reason(format!("{op} match pattern must be a string"))),
            };
            Ok(if op == "prefix" {
                Matcher::Prefix { value: s, ignore_case }
            } else {
                Matcher::Suffix { value: s, ignore_case }
            })
        }
        "equals-ignore-case" => match arg {
            Value::String(s) => Ok(Matcher::EqualsIgnoreCase(s.clone())),
            _ => Err(PatternError::reason("equals-ignore-case match pattern must be a string")),
        },
        "wildcard" => match arg {
            Value::String(s) => {
                check_wildcard(s)?;
                Ok(Matcher::Wildcard(s.clone()))
            }
            _ => Err(PatternError::reason("wildcard match pattern must be a string")),
        },
        "exists" => match arg {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(PatternError::reason("exists match pattern must be either true or false.")),
        },
        "cidr" => match arg {
            Value::String(s) => compile_cidr(s),
            // AWS's (recorded) wording for a non-string CIDR.
            _ => Err(PatternError::reason("prefix match pattern must be a string")),
        },
        "numeric" => compile_numeric(arg),
        "anything-but" => compile_anything_but(arg).map(Matcher::AnythingBut),
        other => Err(PatternError::reason(format!("Unrecognized match type {other}"))),
    }
}

fn check_wildcard(s: &str) -> R<()> {
    let mut prev_star = false;
    let mut escaped = false;
    for (pos, c) in s.chars().enumerate() {
        if escaped {
            escaped = false;
            prev_star = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                prev_star = false;
            }
            '*' => {
                if prev_star {
                    return Err(PatternError::reason(format!("Consecutive wildcard characters at pos {pos}")));
                }
                prev_star = true;
            }
            _ => prev_star = false,
        }
    }
    Ok(())
}

fn compile_cidr(s: &str) -> R<Matcher> {
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() != 2 {
        return Err(PatternError::reason("Malformed CIDR, one '/' required"));
    }
    let bits: u8 = parts[1]
        .parse()
        .map_err(|_| PatternError::reason("Malformed CIDR, mask bits must be an integer"))?;
    let net: IpAddr = parts[0]
        .parse()
        .map_err(|_| PatternError::reason(format!("Nonstandard IP address: {}", parts[0])))?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(PatternError::reason("Malformed CIDR, mask bits must be an integer"));
    }
    Ok(Matcher::Cidr { net, bits })
}

fn numeric_value(v: Option<&Value>, op: &str) -> R<f64> {
    let name = if op == "=" { "equals" } else { op };
    let x = v
        .filter(|v| v.is_number())
        .and_then(Value::as_f64)
        .ok_or_else(|| PatternError::reason(format!("Value of {name} must be numeric")))?;
    if !(-5.0e9..=5.0e9).contains(&x) {
        return Err(PatternError::reason("Value must be between -5.0E9 and 5.0E9, inclusive"));
    }
    Ok(x)
}

fn token_text(v: Option<&Value>) -> String {
    match v {
        None => "]".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn compile_numeric(arg: &Value) -> R<Matcher> {
    let arr = arg
        .as_array()
        .ok_or_else(|| PatternError::reason("Value of numeric must be an array."))?;
    let too_many = || PatternError::reason("Too many elements in numeric expression");
    let op = match arr.first() {
        Some(Value::String(s)) => s.as_str(),
        other => return Err(PatternError::reason(format!("Invalid member in numeric match: {}", token_text(other)))),
    };
    let first = match op {
        "=" => NumOp::Eq,
        "<" => NumOp::Lt,
        "<=" => NumOp::Le,
        ">" => NumOp::Gt,
        ">=" => NumOp::Ge,
        other => return Err(PatternError::reason(format!("Unrecognized numeric range operator: {other}"))),
    };
    let v1 = numeric_value(arr.get(1), op)?;
    match first {
        NumOp::Eq | NumOp::Lt | NumOp::Le => {
            if arr.len() > 2 {
                return Err(too_many());
            }
            Ok(Matcher::Numeric(vec![(first, v1)]))
        }
        NumOp::Gt | NumOp::Ge => {
            if arr.len() == 2 {
                return Ok(Matcher::Numeric(vec![(first, v1)]));
            }
            let op2 = match arr.get(2) {
                Some(Value::String(s)) => s.as_str(),
                other => return Err(PatternError::reason(format!("Bad value in numeric range: {}", token_text(other)))),
            };
            let second = match op2 {
                "<" => NumOp::Lt,
                "<=" => NumOp::Le,
                other => return Err(PatternError::reason(format!("Bad numeric range operator: {other}"))),
            };
            let v2 = numeric_value(arr.get(3), op2)?;
            if v2 <= v1 {
                return Err(PatternError::reason("Bottom must be less than top"));
            }
            if arr.len() > 4 {
                return Err(PatternError::reason("Too many terms in numeric range expression"));
            }
            Ok(Matcher::Numeric(vec![(first, v1), (second, v2)]))
        }
    }
}

const ANYTHING_BUT_SHAPE: &str = "Value of anything-but must be an array or single string/number value.";

fn compile_anything_but(arg: &Value) -> R<AnythingBut> {
    match arg {
        Value::String(_) | Value::Number(_) => Ok(AnythingBut::Values(vec![arg.clone()])),
        Value::Array(a) => {
            for v in a {
                if !(v.is_string() || v.is_number()) {
                    return Err(PatternError::reason("Inside anything but list, start|null|boolean is not supported."));
                }
            }
            let strings = a.iter().filter(|v| v.is_string()).count();
            if a.is_empty() || (strings != 0 && strings != a.len()) {
                return Err(PatternError::reason(
                    "Inside anything but list, either all values are number or string, mixed type is not supported",
                ));
            }
            Ok(AnythingBut::Values(a.clone()))
        }
        Value::Object(o) => {
            let mut it = o.iter();
            let (k, v) = it.next().ok_or_else(|| PatternError::reason("Anything-But expression name not found"))?;
            if it.next().is_some() {
                return Err(PatternError::reason(ANYTHING_BUT_SHAPE));
            }
            let strings = |v: &Value, msg: &str| -> R<Vec<String>> {
                match v {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(a) if !a.is_empty() => a
                        .iter()
                        .map(|x| x.as_str().map(str::to_string).ok_or_else(|| PatternError::reason(msg)))
                        .collect(),
                    Value::Array(_) => Err(PatternError::reason("Empty arrays are not allowed")),
                    Value::Object(_) => Err(PatternError::reason(ANYTHING_BUT_SHAPE)),
                    _ => Err(PatternError::reason(msg)),
                }
            };
            match k.as_str() {
                "prefix" | "suffix" => {
                    let list = strings(v, "prefix/suffix match pattern must be a string")?;
                    if list.iter().any(String::is_empty) {
                        return Err(PatternError::reason("Null prefix/suffix not allowed"));
                    }
                    Ok(if k == "prefix" { AnythingBut::Prefix(list) } else { AnythingBut::Suffix(list) })
                }
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(strings(
                    v,
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                )?)),
                "wildcard" => {
                    let list = strings(v, "wildcard match pattern must be a string")?;
                    for w in &list {
                        check_wildcard(w)?;
                    }
                    Ok(AnythingBut::Wildcard(list))
                }
                other => Err(PatternError::reason(format!("Unsupported anything-but pattern: {other}"))),
            }
        }
        _ => Err(PatternError::reason(ANYTHING_BUT_SHAPE)),
    }
}

// ---------------------------------------------------------------- matching

fn match_obj(p: &ObjPattern, ev: Option<&Value>) -> bool {
    let obj = ev.and_then(Value::as_object);
    for (k, fp) in &p.fields {
        let direct = obj.and_then(|o| o.get(k));
        // Event keys with dots are paths too: `{"a.b": 1}` is `{"a": {"b": 1}}`.
        let dotted = if matches!(fp, FieldPattern::Nested(_)) { dotted_children(obj, k) } else { None };
        let merged;
        let v = match dotted {
            None => direct,
            Some(mut extra) => {
                if let Some(Value::Object(d)) = direct {
                    for (dk, dv) in d {
                        extra.entry(dk.clone()).or_insert_with(|| dv.clone());
                    }
                }
                merged = Value::Object(extra);
                Some(&merged)
            }
        };
        let ok = match fp {
            FieldPattern::Nested(sub) => match v {
                Some(Value::Array(items)) if !items.is_empty() => {
                    items.iter().any(|item| match_obj(sub, Some(item)))
                }
                Some(v @ Value::Object(_)) => match_obj(sub, Some(v)),
                _ => match_obj(sub, None),
            },
            FieldPattern::Leaf(ms) => {
                let mut vals = Vec::new();
                if let Some(v) = v {
                    leaf_values(v, &mut vals);
                }
                ms.iter().any(|m| match m {
                    Matcher::Exists(want) => *want != vals.is_empty(),
                    _ => vals.iter().any(|x| m.matches(x)),
                })
            }
        };
        if !ok {
            return false;
        }
    }
    p.ors.iter().all(|group| group.iter().any(|sub| match_obj(sub, ev)))
}

/// `{"k.rest": v, …}` entries of an event object, as an object `{"rest": v, …}`.
fn dotted_children(obj: Option<&Map<String, Value>>, k: &str) -> Option<Map<String, Value>> {
    let obj = obj?;
    let mut out: Option<Map<String, Value>> = None;
    for (ek, ev) in obj {
        if let Some(rest) = ek.strip_prefix(k).and_then(|r| r.strip_prefix('.')) {
            if !rest.is_empty() {
                out.get_or_insert_with(Map::new).insert(rest.to_string(), ev.clone());
            }
        }
    }
    out
}

fn leaf_values<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| leaf_values(x, out)),
        Value::Object(_) => {}
        _ => out.push(v),
    }
}

fn exact_eq(p: &Value, e: &Value) -> bool {
    match (p, e) {
        (Value::String(a), Value::String(b)) => a == b,
        // Numbers also match by value (recorded on AWS: pattern 300 matches 300.0, although
        // the documentation says otherwise).
        (Value::Number(a), Value::Number(b)) => {
            a.to_string() == b.to_string() || matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn wildcard_match(pattern: &str, s: &str) -> bool {
    // Tokens: literal chars and '*'; `\*` and `\\` are literals.
    let mut toks: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Some(n)),
                None => toks.push(Some('\\')),
            },
            '*' => toks.push(None),
            c => toks.push(Some(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Iterative glob matching with backtracking to the last star.
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < text.len() {
        if pi < toks.len() && toks[pi].is_some_and(|c| c == text[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < toks.len() && toks[pi].is_none() {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < toks.len() && toks[pi].is_none() {
        pi += 1;
    }
    pi == toks.len()
}

fn cidr_contains(net: &IpAddr, bits: u8, ip: &IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            (u32::from(*n) & mask) == (u32::from(*i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            (u128::from(*n) & mask) == (u128::from(*i) & mask)
        }
        _ => false,
    }
}

impl Matcher {
    fn matches(&self, v: &Value) -> bool {
        match self {
            Matcher::Exact(p) => exact_eq(p, v),
            Matcher::Prefix { value, ignore_case } => v.as_str().is_some_and(|s| {
                if *ignore_case { lower(s).starts_with(&lower(value)) } else { s.starts_with(value.as_str()) }
            }),
            Matcher::Suffix { value, ignore_case } => v.as_str().is_some_and(|s| {
                if *ignore_case { lower(s).ends_with(&lower(value)) } else { s.ends_with(value.as_str()) }
            }),
            Matcher::EqualsIgnoreCase(p) => v.as_str().is_some_and(|s| lower(s) == lower(p)),
            Matcher::Wildcard(p) => v.as_str().is_some_and(|s| wildcard_match(p, s)),
            Matcher::Numeric(terms) => v.as_f64().is_some_and(|x| {
                v.is_number()
                    && terms.iter().all(|(op, n)| match op {
                        NumOp::Eq => x == *n,
                        NumOp::Lt => x < *n,
                        NumOp::Le => x <= *n,
                        NumOp::Gt => x > *n,
                        NumOp::Ge => x >= *n,
                    })
            }),
            Matcher::Exists(_) => false, // handled by the caller
            Matcher::Cidr { net, bits } => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| cidr_contains(net, *bits, &ip)),
            Matcher::AnythingBut(ab) => match ab {
                AnythingBut::Values(list) => !list.iter().any(|p| exact_eq(p, v)),
                AnythingBut::Prefix(list) => match v.as_str() {
                    Some(s) => !list.iter().any(|p| s.starts_with(p.as_str())),
                    None => true,
                },
                AnythingBut::Suffix(list) => match v.as_str() {
                    Some(s) => !list.iter().any(|p| s.ends_with(p.as_str())),
                    None => true,
                },
                AnythingBut::IgnoreCase(list) => match v.as_str() {
                    Some(s) => !list.iter().any(|p| lower(p) == lower(s)),
                    None => true,
                },
                AnythingBut::Wildcard(list) => match v.as_str() {
                    Some(s) => !list.iter().any(|p| wildcard_match(p, s)),
                    None => true,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_glob() {
        assert!(wildcard_match("*/lib/*", "usr/lib/x"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("a\\*b", "a*b"));
        assert!(!wildcard_match("a\\*b", "aXb"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("", "x"));
    }
}
