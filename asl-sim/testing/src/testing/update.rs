//! Snapshot mode (`asl-sim test --update`): writes what was observed back into
//! the test file. Only the keys of the cases that need it are rewritten, line
//! by line; everything else (other keys, comments, blank lines, other cases)
//! stays byte for byte. See docs/testing.md for the rules.

use asl_core::tree::{Node, NodeKind};
use serde_json::Value;

/// A case's new keys: `Some(v)` sets the key, `None` removes it.
pub struct CaseUpdate {
    pub case: String,
    pub keys: Vec<(String, Option<Value>)>,
}

/// A plain YAML scalar for `s` when one reads back as the same string in
/// both block and flow context; else a double-quoted (JSON) string.
pub fn scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && !s.starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`$".contains(c))
        && !s.ends_with(|c: char| c.is_whitespace() || c == ':')
        && !s.contains(['\n', '\t', ',', '[', ']', '{', '}', '#', '"', '\\'])
        && !s.contains(": ")
        && matches!(asl_core::tree::parse_yaml(&format!("[{s}]")).map(|n| n.to_value()), Ok(Value::Array(a)) if a.len() == 1 && a[0].as_str() == Some(s));
    if plain_ok {
        s.to_string()
    } else {
        Value::String(s.to_string()).to_string()
    }
}

/// A value in YAML flow style (one line).
pub fn flow(v: &Value) -> String {
    match v {
        Value::String(s) => scalar(s),
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", scalar(k), flow(v))).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

const WIDTH: usize = 100;

/// `key: value` as block YAML at `indent` spaces, ending with a newline.
pub fn entry(key: &str, v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let k = scalar(key);
    let f = flow(v);
    let simple = !matches!(v, Value::Array(a) if !a.is_empty()) && !matches!(v, Value::Object(m) if !m.is_empty());
    if simple || indent + k.len() + 2 + f.len() <= WIDTH {
        return format!("{pad}{k}: {f}\n");
    }
    format!("{pad}{k}:\n{}", block(v, indent + 2))
}

/// A non-empty collection as block YAML at `indent`.
fn block(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push_str(&entry(k, x, indent));
            }
        }
        Value::Array(a) => {
            for x in a {
                let f = flow(x);
                let nested = matches!(x, Value::Array(y) if !y.is_empty()) || matches!(x, Value::Object(y) if !y.is_empty());
                if !nested || indent + 2 + f.len() <= WIDTH {
                    out.push_str(&format!("{pad}- {f}\n"));
                } else if let Value::Object(_) = x {
                    // The first key on the dash's line, the rest aligned under it.
                    let inner = block(x, indent + 2);
                    out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                } else {
                    out.push_str(&format!("{pad}-\n{}", block(x, indent + 2)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", flow(other))),
    }
    out
}

fn is_trailer(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Applies `updates` to the text of a test file whose tree is `root`.
pub fn apply(text: &str, root: &Node, updates: &[CaseUpdate]) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let total = lines.len();
    let top = root.entries();
    let ci = top.iter().position(|e| e.key == "cases").ok_or("the file has no cases")?;
    let cases_end = top.get(ci + 1).map(|e| e.key_pos.line as usize - 1).unwrap_or(total);
    let cases = &top[ci].value;
    let NodeKind::Object(case_entries) = &cases.kind else { return Err("cases is not a mapping".into()) };
    if case_entries.first().is_some_and(|c| c.key_pos.line == top[ci].key_pos.line) {
        return Err("cases is written in flow style ({...}); --update needs block style".into());
    }
    // Replacement text for line ranges [from, to), applied from the bottom up.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (k, ce) in case_entries.iter().enumerate() {
        let Some(u) = updates.iter().find(|u| u.case == ce.key) else { continue };
        let start = ce.key_pos.line as usize - 1;
        let end = case_entries.get(k + 1).map(|n| n.key_pos.line as usize - 1).unwrap_or(cases_end);
        let case_indent = ce.key_pos.col as usize - 1;
        let entries = ce.value.entries();
        let block_style = !entries.is_empty() && entries.iter().all(|e| e.key_pos.line as usize - 1 > start);
        if !block_style {
            // Empty or flow-style case: write it out whole in block style.
            let mut v = match ce.value.to_value() {
                Value::Object(m) => m,
                _ => serde_json::Map::new(),
            };
            for (key, val) in &u.keys {
                match val {
                    Some(x) => {
                        v.insert(key.clone(), x.clone());
                    }
                    None => {
                        v.remove(key);
                    }
                }
            }
            let mut body = format!("{}{}:\n", " ".repeat(case_indent), scalar(&ce.key));
            body.push_str(&block(&Value::Object(v), case_indent + 2));
            // Keep trailing blank lines and comments.
            let mut keep_from = end;
            while keep_from > start + 1 && is_trailer(lines[keep_from - 1]) {
                keep_from -= 1;
            }
            edits.push((start, keep_from, body));
            continue;
        }
        let indent = entries[0].key_pos.col as usize - 1;
        let mut appended = String::new();
        for (key, val) in &u.keys {
            match entries.iter().position(|e| &e.key == key) {
                Some(j) => {
                    let from = entries[j].key_pos.line as usize - 1;
                    let mut to = entries.get(j + 1).map(|n| n.key_pos.line as usize - 1).unwrap_or(end);
                    while to > from + 1 && is_trailer(lines[to - 1]) {
                        to -= 1;
                    }
                    edits.push((from, to, val.as_ref().map(|v| entry(key, v, indent)).unwrap_or_default()));
                }
                None => {
                    if let Some(v) = val {
                        appended.push_str(&entry(key, v, indent));
                    }
                }
            }
        }
        if !appended.is_empty() {
            let mut at = end;
            while at > start + 1 && is_trailer(lines[at - 1]) {
                at -= 1;
            }
            edits.push((at, at, appended));
        }
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::with_capacity(text.len() + 256);
    let mut pos = 0;
    for (from, to, body) in edits {
        if from < pos {
            return Err("overlapping edits".into());
        }
        for l in &lines[pos..from] {
            out.push_str(l);
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&body);
        pos = to;
    }
    for l in &lines[pos..] {
        out.push_str(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_quote_only_when_needed() {
        assert_eq!(scalar("Read Current"), "Read Current");
        assert_eq!(scalar("Known Key?"), "Known Key?");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("12"), "\"12\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("alice/docs/a.txt"), "alice/docs/a.txt");
        assert_eq!(scalar("$any"), "\"$any\"");
        assert_eq!(scalar("x, y"), "\"x, y\"");
    }

    #[test]
    fn emitted_yaml_reads_back() {
        let v = json!({"items": [{"key": "alice/a.txt", "name": "a.txt", "size": 5, "etag": "5d41402abc4b2a76b9719d911017c592", "more": {"x": [1, 2, {"deep": "yes: really"}]}}], "nextToken": null, "e": {}, "l": []});
        let text = entry("output", &v, 4);
        let back = asl_core::tree::load(&text).unwrap().to_value();
        assert_eq!(back, json!({"output": v}), "{text}");
    }

    #[test]
    fn apply_rewrites_only_the_named_keys() {
        let text = "definition: x.asl.json\n# the cases\ncases:\n  first:\n    input: {a: 1}   # keep me\n    output: {old: true}\n\n  # second case\n  second:\n    input: {}\n";
        let root = asl_core::tree::load(text).unwrap();
        let ups = vec![
            CaseUpdate { case: "first".into(), keys: vec![("output".into(), Some(json!({"new": 1}))), ("path".into(), Some(json!(["A", "B"])))] },
            CaseUpdate { case: "second".into(), keys: vec![("output".into(), Some(json!(2)))] },
        ];
        let out = apply(text, &root, &ups).unwrap();
        assert_eq!(
            out,
            "definition: x.asl.json\n# the cases\ncases:\n  first:\n    input: {a: 1}   # keep me\n    output: {new: 1}\n    path: [A, B]\n\n  # second case\n  second:\n    input: {}\n    output: 2\n"
        );
        // Removing a key, and a case with no body.
        let text = "cases:\n  a:\n    output: 1\n    error: E\n  b:\n";
        let root = asl_core::tree::load(text).unwrap();
        let ups = vec![
            CaseUpdate { case: "a".into(), keys: vec![("output".into(), None)] },
            CaseUpdate { case: "b".into(), keys: vec![("output".into(), Some(json!("x")))] },
        ];
        assert_eq!(apply(text, &root, &ups).unwrap(), "cases:\n  a:\n    error: E\n  b:\n    output: x\n");
    }
}
