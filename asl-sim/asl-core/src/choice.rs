//! Choice comparisons as AWS evaluates them: a comparison whose operand has
//! the wrong type is simply false, never an error.

use crate::definition::{CmpKind, CmpOp};
use serde_json::Value;
use std::cmp::Ordering;

pub fn compare(kind: CmpKind, op: CmpOp, lhs: &Value, rhs: &Value) -> bool {
    let ord: Option<Ordering> = match kind {
        CmpKind::String => match (lhs, rhs) {
            (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
            _ => None,
        },
        CmpKind::Numeric => match (lhs, rhs) {
            (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => a.as_f64().zip(b.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
            },
            _ => None,
        },
        CmpKind::Boolean => match (lhs, rhs) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        },
        CmpKind::Timestamp => match (lhs.as_str().and_then(crate::time::parse_timestamp), rhs.as_str().and_then(crate::time::parse_timestamp)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star
/// and `\\` a literal backslash.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Iterative wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while t < text.len() {
        if p < toks.len() && toks[p] == Tok::Char(text[t]) {
            t += 1;
            p += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Star {
        p += 1;
    }
    p == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_compare_false() {
        assert!(!compare(CmpKind::String, CmpOp::Eq, &json!(1), &json!("1")));
        assert!(compare(CmpKind::Numeric, CmpOp::Eq, &json!(1), &json!(1.0)));
        assert!(compare(CmpKind::String, CmpOp::Ge, &json!(""), &json!("")));
        assert!(!compare(CmpKind::Timestamp, CmpOp::Eq, &json!("2023-02-24 12:15:56"), &json!("2023-02-24T12:15:56Z")));
    }

    #[test]
    fn matches_with_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", r"a\*b"));
        assert!(!string_matches("axb", r"a\*b"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "a*d"));
        assert!(string_matches("a\\b", r"a\\b"));
    }
}
