//! Comparing what a case expects with what happened, and saying how they differ.
//!
//! Exact match: equal JSON (numbers compare by value, `1` equals `1.0`; `true`
//! is not `1`). Partial match (the `*_includes` keys): every key the expected
//! object lists must be present and match partially, other keys are ignored;
//! arrays must have the same length and match element by element.
//! In both modes a few matchers stand for a value: the string `"$any"`
//! (anything, but present), `{$type: string|number|boolean|object|array|null}`,
//! `{$glob: "alice/*"}` (a string matching the pattern as Choice's
//! StringMatches does: `*` any run of characters, `\\*` a literal star),
//! and `{$contains: "..."}` (a string containing the text).

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Exact,
    Partial,
}

/// One difference, at a JSONPath-like location.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", self.at, self.message)
    }
}

pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}


fn child(at: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{at}.{key}")
    } else {
        format!("{at}[{}]", Value::String(key.to_string()))
    }
}

/// A matcher object (`{$type: ...}`, `{$glob: ...}`, `{$contains: ...}`), if `v` is one.
fn matcher(v: &Value) -> Option<(&str, &Value)> {
    let Value::Object(m) = v else { return None };
    if m.len() != 1 {
        return None;
    }
    let (k, arg) = m.iter().next()?;
    matches!(k.as_str(), "$type" | "$glob" | "$contains").then_some((k.as_str(), arg))
}

/// Compares `actual` against `expected`; pushes every difference onto `out`.
pub fn compare(expected: &Value, actual: &Value, mode: Mode, at: &str, out: &mut Vec<Mismatch>) {
    let mut push = |message: String| out.push(Mismatch { at: at.to_string(), message });
    if expected.as_str() == Some("$any") {
        return;
    }
    if let Some((k, arg)) = matcher(expected) {
        let ok = match k {
            "$type" => arg.as_str() == Some(asl_core::intrinsics::type_name(actual)),
            "$glob" => match (arg.as_str(), actual.as_str()) {
                (Some(p), Some(s)) => asl_core::choice::string_matches(s, p),
                _ => false,
            },
            _ => match (arg.as_str(), actual.as_str()) {
                (Some(needle), Some(s)) => s.contains(needle),
                _ => false,
            },
        };
        if !ok {
            push(format!("expected a value matching {}, found {}", short(expected), short(actual)));
        }
        return;
    }
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            let same = a == b || matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y);
            if !same {
                push(format!("expected {a}, found {b}"));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(ev, av, mode, &child(at, k), out),
                    None => out.push(Mismatch { at: child(at, k), message: format!("missing (expected {})", short(ev)) }),
                }
            }
            if mode == Mode::Exact {
                for (k, av) in a {
                    if !e.contains_key(k) {
                        out.push(Mismatch { at: child(at, k), message: format!("unexpected (found {})", short(av)) });
                    }
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                push(format!("expected {} element{}, found {}", e.len(), if e.len() == 1 { "" } else { "s" }, a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, mode, &format!("{at}[{i}]"), out);
            }
            if e.len() > a.len() {
                for (i, ev) in e.iter().enumerate().skip(a.len()) {
                    out.push(Mismatch { at: format!("{at}[{i}]"), message: format!("missing (expected {})", short(ev)) });
                }
            } else {
                for (i, av) in a.iter().enumerate().skip(e.len()) {
                    out.push(Mismatch { at: format!("{at}[{i}]"), message: format!("unexpected (found {})", short(av)) });
                }
            }
        }
        (e, a) if e == a => {}
        (e, a) => push(format!("expected {}, found {}", short(e), short(a))),
    }
}

/// The mismatches of `actual` against `expected`, at `$`.
pub fn mismatches(expected: &Value, actual: &Value, mode: Mode) -> Vec<Mismatch> {
    let mut out = Vec::new();
    compare(expected, actual, mode, "$", &mut out);
    out
}

/// True when `needles` appear in `hay` in this order (not necessarily adjacent).
pub fn is_subsequence(needles: &[String], hay: &[String]) -> bool {
    let mut it = hay.iter();
    needles.iter().all(|n| it.any(|h| h == n))
}

/// A unified line diff of `expected` against `actual` (`-` expected, `+`
/// actual), with `context` unchanged lines around each change; at most
/// `max_lines` lines, then a note of how many were left out.
pub fn line_diff(expected: &str, actual: &str, context: usize, max_lines: usize) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        return format!("(documents too large to diff: {n} and {m} lines)\n");
    }
    // LCS table from the end.
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if a[i] == b[j] { lcs[(i + 1) * (m + 1) + j + 1] + 1 } else { lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, o)| o.0 != ' ').map(|(k, _)| k).collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut keep = vec![false; ops.len()];
    for &k in &changed {
        let hi = (k + context).min(ops.len() - 1);
        keep[k.saturating_sub(context)..=hi].iter_mut().for_each(|x| *x = true);
    }
    let mut out = String::new();
    let mut lines = 0;
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if !keep[k] {
            skipped = true;
            continue;
        }
        if skipped && lines > 0 {
            out.push_str("   ...\n");
        }
        skipped = false;
        if lines >= max_lines {
            let rest = ops[k..].iter().filter(|o| o.0 != ' ').count();
            out.push_str(&format!("   ... ({rest} more changed lines)\n"));
            break;
        }
        out.push_str(&format!("{c}  {line}\n"));
        lines += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_match_reports_missing_unexpected_and_changed() {
        let m = mismatches(&json!({"a": 1, "b": {"c": "x"}, "d": [1, 2]}), &json!({"a": 1.0, "b": {"c": "y", "e": true}, "d": [1]}), Mode::Exact);
        let text: Vec<String> = m.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "at $.b.c: expected \"x\", found \"y\"",
                "at $.b.e: unexpected (found true)",
                "at $.d: expected 2 elements, found 1",
                "at $.d[1]: missing (expected 2)",
            ]
        );
    }

    #[test]
    fn partial_match_ignores_other_keys_but_not_array_lengths() {
        let actual = json!({"a": 1, "b": {"c": "x", "e": true}, "items": [{"k": 1, "z": 0}, {"k": 2}]});
        assert!(mismatches(&json!({"b": {"c": "x"}}), &actual, Mode::Partial).is_empty());
        assert!(mismatches(&json!({"items": [{"k": 1}, {"k": 2}]}), &actual, Mode::Partial).is_empty());
        assert_eq!(mismatches(&json!({"items": [{"k": 1}]}), &actual, Mode::Partial).len(), 2);
        assert_eq!(mismatches(&json!({"b": {"missing": 1}}), &actual, Mode::Partial)[0].at, "$.b.missing");
        // true is not 1
        assert_eq!(mismatches(&json!({"a": true}), &actual, Mode::Partial).len(), 1);
        // Exact mode sees the extra keys.
        assert_eq!(mismatches(&json!({"b": {"c": "x"}}), &json!({"b": {"c": "x"}, "a": 1}), Mode::Exact).len(), 1);
    }

    #[test]
    fn matchers() {
        let actual = json!({"token": "abc123", "n": 5, "s": "hello world"});
        let ok = json!({"token": {"$glob": "abc*"}, "n": {"$type": "number"}, "s": {"$contains": "lo wo"}});
        assert!(mismatches(&ok, &actual, Mode::Exact).is_empty());
        assert!(mismatches(&json!({"token": "$any", "n": "$any", "s": "$any"}), &actual, Mode::Exact).is_empty());
        let bad = json!({"token": {"$type": "number"}, "n": 5, "s": "hello world"});
        assert_eq!(mismatches(&bad, &actual, Mode::Exact)[0].at, "$.token");
        // "$any" still requires presence.
        assert_eq!(mismatches(&json!({"x": "$any"}), &actual, Mode::Partial)[0].message, "missing (expected \"$any\")");
        assert_eq!(child("$", "detail-type"), "$[\"detail-type\"]");
    }

    #[test]
    fn subsequence() {
        let p: Vec<String> = ["A", "B", "C", "D"].iter().map(|s| s.to_string()).collect();
        assert!(is_subsequence(&["A".into(), "C".into()], &p));
        assert!(!is_subsequence(&["C".into(), "A".into()], &p));
    }

    #[test]
    fn line_diff_marks_changes_with_context() {
        let d = line_diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nX\ne\nf\ng\n", 1, 50);
        assert_eq!(d, "   c\n-  d\n+  X\n   e\n");
        assert_eq!(line_diff("same\n", "same\n", 3, 50), "");
        let d = line_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\nx\n3\n4\n5\n6\n7\ny\n9\n", 1, 50);
        assert!(d.contains("   ...\n"), "{d}");
    }
}
