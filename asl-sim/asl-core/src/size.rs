//! The UTF-8 size of a value's JSON text, computed without building the text.
//!
//! Both functions walk the value with an explicit stack (no recursion, so a value nested
//! 100,000 levels deep costs no stack), and [`exceeds`] stops as soon as the count passes the
//! limit: checking a huge or deeply self-nested value against the 256 KiB payload quota costs
//! at most about `limit` bytes' worth of work, whatever the value's size.

use serde_json::Value;

/// Step Functions' payload quota: state input, output and results are at most 256 KiB of
/// UTF-8 JSON (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
pub const PAYLOAD_LIMIT: usize = 262_144;

/// Bytes of `v` serialised compactly (as `serde_json::to_string` writes it).
pub fn json_len(v: &Value) -> usize {
    count_up_to(v, usize::MAX)
}

/// Whether `v` serialised compactly is longer than `limit` bytes; stops counting past the limit.
pub fn exceeds(v: &Value, limit: usize) -> bool {
    count_up_to(v, limit) > limit
}

/// The compact JSON length of `v`, or some number greater than `cap` once the count passes it.
pub fn json_len_up_to(v: &Value, cap: usize) -> usize {
    count_up_to(v, cap)
}

fn count_up_to(v: &Value, cap: usize) -> usize {
    // Shallow values (nearly every state's data) are counted recursively with no heap
    // stack; past SHALLOW levels the explicit stack below starts over.
    let mut total = 0usize;
    if count_shallow(v, cap, 0, &mut total) {
        return total;
    }
    count_deep(v, cap)
}

const SHALLOW: u32 = 32;

/// Adds `v`'s length to `total`; false if `v` is nested deeper than SHALLOW
/// (then `total` is meaningless). Stops early once past `cap`.
fn count_shallow(v: &Value, cap: usize, depth: u32, total: &mut usize) -> bool {
    let here = match v {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        Value::Array(items) => {
            if depth >= SHALLOW {
                return false;
            }
            *total = total.saturating_add(2 + items.len().saturating_sub(1));
            for x in items {
                if !count_shallow(x, cap, depth + 1, total) {
                    return false;
                }
                if *total > cap {
                    return true;
                }
            }
            return true;
        }
        Value::Object(m) => {
            if depth >= SHALLOW {
                return false;
            }
            *total = total.saturating_add(2 + m.len().saturating_sub(1));
            for (k, x) in m {
                *total = total.saturating_add(string_len(k) + 1);
                if !count_shallow(x, cap, depth + 1, total) {
                    return false;
                }
                if *total > cap {
                    return true;
                }
            }
            return true;
        }
    };
    *total = total.saturating_add(here);
    true
}

fn count_deep(v: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    let mut pending: Vec<&Value> = Vec::with_capacity(16);
    pending.push(v);
    while let Some(v) = pending.pop() {
        let here = match v {
            Value::Null => 4,
            Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(n) => number_len(n),
            Value::String(s) => string_len(s),
            Value::Array(items) => {
                pending.extend(items.iter());
                2 + items.len().saturating_sub(1)
            }
            Value::Object(m) => {
                let mut own = 2 + m.len().saturating_sub(1);
                for (k, x) in m {
                    // the key's text and the colon
                    own = own.saturating_add(string_len(k) + 1);
                    pending.push(x);
                }
                own
            }
        };
        total = total.saturating_add(here);
        if total > cap {
            return total;
        }
    }
    total
}

/// Length of a string literal as serde_json escapes it: quotes, `\"` `\\` and the short
/// control escapes take two bytes, other control characters six (`\u001f`), the rest as is.
pub fn string_len(s: &str) -> usize {
    let mut n = 2 + s.len();
    for b in s.bytes() {
        n += match b {
            b'"' | b'\\' | 0x08 | 0x0C | b'\n' | b'\r' | b'\t' => 1,
            0x00..=0x1F => 5,
            _ => 0,
        };
    }
    n
}

fn number_len(n: &serde_json::Number) -> usize {
    fn digits(mut x: u64) -> usize {
        let mut d = 1;
        while x >= 10 {
            x /= 10;
            d += 1;
        }
        d
    }
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        // A float: serde_json's shortest round-trip text (at most 24 bytes), counted, not kept.
        struct Counter(usize);
        impl std::io::Write for Counter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut c = Counter(0);
        let _ = serde_json::to_writer(&mut c, n);
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lengths_match_serde_json_text() {
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!(-2.5e-300),
            json!(1e300),
            json!("plain"),
            json!("quote \" backslash \\ slash / tab \t nl \n cr \r bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f}"),
            json!("ünïcödé 😀"),
            json!([]),
            json!({}),
            json!([1, [2, [3, {"a": [], "b\n": {"c": null}}]], "x"]),
            json!({"k": "v", "n": [1, 2.25, -3], "o": {"deep": {"er": [true, false]}}}),
        ];
        for v in values {
            assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len(), "{v}");
            let n = json_len(&v);
            assert!(!exceeds(&v, n), "{v}");
            assert!(n == 0 || exceeds(&v, n - 1), "{v}");
        }
    }

    /// A self-nesting Pass loop builds `{"a": {"a": ...}}` one level per state. Checking each
    /// state's value used to serialise all of it (and recursion could overflow the stack); the
    /// bounded check walks it without recursion and stops at the limit.
    #[test]
    fn deeply_nested_values_are_measured_without_recursion() {
        let mut v = json!("x");
        for _ in 0..200_000 {
            let mut m = serde_json::Map::new();
            m.insert("a".into(), v);
            v = Value::Object(m);
        }
        assert_eq!(json_len(&v), 3 + 200_000 * 6);
        let started = std::time::Instant::now();
        for _ in 0..100 {
            assert!(exceeds(&v, PAYLOAD_LIMIT));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
        // serde_json's Drop recurses; take the value apart level by level instead.
        let mut cur = v;
        while let Value::Object(mut m) = cur {
            cur = m.remove("a").unwrap_or(Value::Null);
        }
    }
}
