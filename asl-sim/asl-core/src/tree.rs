//! Source text to a spanned document tree: JSON and YAML front-ends.
//!
//! Every node keeps the line and column where it starts, so that diagnostics and
//! runtime errors can point at the definition. The loaders never panic: malformed
//! text, alias bombs, deep nesting and numbers JSON cannot hold all come back as
//! a `LoadError` with a position.

use serde_json::{Map, Number, Value};
use std::cell::Cell;

/// A position in source text; line and column are 1-based.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A document node with its position. Objects keep their keys in source order,
/// each with the position of the key itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
    /// A YAML tag such as `!Ref` (CloudFormation short forms); `None` in JSON.
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Deeper documents are rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 512;
/// YAML aliases may not expand a document beyond this many nodes (alias bombs).
pub const MAX_YAML_NODES: usize = 2_000_000;

impl Node {
    pub fn new(pos: Pos, kind: NodeKind) -> Node {
        Node { pos, kind, tag: None }
    }

    /// The entry named `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Object(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.kind {
            NodeKind::Object(entries) => entries,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON type name used in messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Number(_) => "number",
            NodeKind::String(_) => "string",
            NodeKind::Array(_) => "array",
            NodeKind::Object(_) => "object",
        }
    }

    /// The node as a plain JSON value (positions and tags dropped).
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number(n) => Value::Number(n.clone()),
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Object(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for e in entries {
                    map.insert(e.key.clone(), e.value.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// Builds a node tree from a plain value, every node at `pos`.
    pub fn from_value(v: &Value, pos: Pos) -> Node {
        let kind = match v {
            Value::Null => NodeKind::Null,
            Value::Bool(b) => NodeKind::Bool(*b),
            Value::Number(n) => NodeKind::Number(n.clone()),
            Value::String(s) => NodeKind::String(s.clone()),
            Value::Array(a) => NodeKind::Array(a.iter().map(|x| Node::from_value(x, pos)).collect()),
            Value::Object(m) => NodeKind::Object(
                m.iter()
                    .map(|(k, x)| Entry { key: k.clone(), key_pos: pos, value: Node::from_value(x, pos) })
                    .collect(),
            ),
        };
        Node::new(pos, kind)
    }
}

/// Loads a document, choosing the front-end by content: text whose first
/// non-blank character is `{` or `[` is JSON, anything else YAML.
pub fn load(text: &str) -> Result<Node, LoadError> {
    let first = text.trim_start_matches('\u{feff}').trim_start().chars().next();
    match first {
        Some('{') | Some('[') => parse_json(text),
        _ => parse_yaml(text),
    }
}

// ---------------------------------------------------------------------------
// JSON

/// Parses strict JSON (RFC 8259) into a spanned tree. Duplicate keys are kept
/// in the tree so that validation can report them.
pub fn parse_json(text: &str) -> Result<Node, LoadError> {
    let mut p = JsonParser { src: text.as_bytes(), i: 0, line: 1, line_start: 0, col_cache: Cell::new((0, 0)) };
    if text.starts_with('\u{feff}') {
        p.i = 3;
        p.line_start = 3;
        p.col_cache.set((3, 0));
    }
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.i < p.src.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct JsonParser<'a> {
    src: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    /// (byte offset, characters from `line_start` to it): the last column computed, so that
    /// each position only counts the characters since the previous one and loading a long
    /// single-line document stays linear.
    col_cache: Cell<(usize, usize)>,
}

impl JsonParser<'_> {
    fn pos(&self) -> Pos {
        // Columns count characters, not bytes. The source is a `str`, so every byte that is not a
        // UTF-8 continuation byte starts one character.
        let end = self.i.min(self.src.len());
        let (mut at, mut chars) = self.col_cache.get();
        if at < self.line_start || at > end {
            (at, chars) = (self.line_start, 0);
        }
        chars += self.src[at..end].iter().filter(|b| (**b & 0xC0) != 0x80).count();
        self.col_cache.set((end, chars));
        Pos { line: self.line, col: u32::try_from(chars).unwrap_or(u32::MAX).saturating_add(1) }
    }

    fn err(&self, msg: &str) -> LoadError {
        LoadError { pos: self.pos(), message: msg.to_string() }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.src.get(self.i) {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, LoadError> {
        if depth > MAX_DEPTH {
            return Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let pos = self.pos();
        let kind = match self.src.get(self.i) {
            None => return Err(self.err("unexpected end of input, expected a JSON value")),
            Some(b'{') => NodeKind::Object(self.members(b'}', |p| {
                let key_pos = p.pos();
                if p.src.get(p.i) != Some(&b'"') {
                    return Err(p.err("expected a string key"));
                }
                let key = p.string()?;
                p.skip_ws();
                if p.src.get(p.i) != Some(&b':') {
                    return Err(p.err("expected ':' after the key"));
                }
                p.i += 1;
                p.skip_ws();
                let value = p.value(depth + 1)?;
                Ok(Entry { key, key_pos, value })
            })?),
            Some(b'[') => NodeKind::Array(self.members(b']', |p| p.value(depth + 1))?),
            Some(b'"') => NodeKind::String(self.string()?),
            Some(b't') => self.keyword("true", NodeKind::Bool(true))?,
            Some(b'f') => self.keyword("false", NodeKind::Bool(false))?,
            Some(b'n') => self.keyword("null", NodeKind::Null)?,
            Some(c) if *c == b'-' || c.is_ascii_digit() => NodeKind::Number(self.number()?),
            Some(_) => return Err(self.err("expected a JSON value")),
        };
        Ok(Node::new(pos, kind))
    }

    /// At an object's or array's opening bracket: its members, which `member` reads (from
    /// the first character after white space), separated by commas up to `close`.
    fn members<T>(&mut self, close: u8, mut member: impl FnMut(&mut Self) -> Result<T, LoadError>) -> Result<Vec<T>, LoadError> {
        self.i += 1;
        let mut out = Vec::new();
        self.skip_ws();
        if self.src.get(self.i) == Some(&close) {
            self.i += 1;
            return Ok(out);
        }
        loop {
            self.skip_ws();
            out.push(member(self)?);
            self.skip_ws();
            match self.src.get(self.i) {
                Some(b',') => self.i += 1,
                Some(c) if *c == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.err(&format!("expected ',' or '{}'", close as char))),
            }
        }
    }

    fn keyword(&mut self, word: &str, kind: NodeKind) -> Result<NodeKind, LoadError> {
        if self.src[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(kind)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Number, LoadError> {
        let start = self.i;
        if self.src.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.src.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        if digits(self) == 0 {
            return Err(self.err("invalid number"));
        }
        if self.src.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.src.get(self.i), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.src.get(self.i), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let text = std::str::from_utf8(&self.src[start..self.i]).unwrap_or("0");
        parse_number(text).ok_or_else(|| LoadError {
            pos: self.pos(),
            message: format!("number {text} is out of range"),
        })
    }

    fn string(&mut self) -> Result<String, LoadError> {
        // Opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.src.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            match std::str::from_utf8(&self.src[start..self.i]) {
                Ok(s) => out.push_str(s),
                Err(_) => return Err(self.err("invalid UTF-8 in string")),
            }
            match self.src.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.src.get(self.i).copied();
                    self.i += 1;
                    match c {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) {
                                if self.src.get(self.i) == Some(&b'\\') && self.src.get(self.i + 1) == Some(&b'u') {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                    } else {
                                        out.push('\u{fffd}');
                                        out.push(char::from_u32(lo).unwrap_or('\u{fffd}'));
                                    }
                                } else {
                                    out.push('\u{fffd}');
                                }
                            } else {
                                out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => return Err(self.err("invalid escape in string")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, LoadError> {
        let s = self.src.get(self.i..self.i + 4).ok_or_else(|| self.err("invalid \\u escape"))?;
        let s = std::str::from_utf8(s).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
}

/// Parses a JSON number literal: integers stay integers when they fit, other
/// numbers become doubles; `None` when the value is not finite.
pub fn parse_number(text: &str) -> Option<Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Number::from(u));
        }
    }
    let f: f64 = text.parse().ok()?;
    Number::from_f64(f).filter(|_| f.is_finite())
}

// ---------------------------------------------------------------------------
// YAML

/// Parses the first YAML document into a spanned tree, resolving scalars with
/// the YAML 1.2 core schema. Aliases are expanded with a node budget.
pub fn parse_yaml(text: &str) -> Result<Node, LoadError> {
    use saphyr_parser::{Event, Parser};

    enum Frame {
        Seq(Pos, Option<String>, usize, Vec<Node>),
        Map(Pos, Option<String>, usize, Vec<Entry>, Option<(String, Pos)>),
    }

    fn marker_pos(m: &saphyr_parser::Marker) -> Pos {
        Pos { line: m.line() as u32, col: m.col() as u32 + 1 }
    }
    fn tag_text(tag: &Option<std::borrow::Cow<'_, saphyr_parser::Tag>>) -> Option<String> {
        tag.as_ref().map(|t| format!("{}{}", t.handle, t.suffix))
    }

    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut budget = MAX_YAML_NODES;
    let mut root: Option<Node> = None;

    // Attaches a finished node to its parent, or makes it the root.
    fn push(
        stack: &mut [Frame],
        root: &mut Option<Node>,
        node: Node,
        anchors: &mut std::collections::HashMap<usize, Node>,
        anchor: usize,
    ) -> Result<(), LoadError> {
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    *root = Some(node);
                }
            }
            Some(Frame::Seq(_, _, _, items)) => items.push(node),
            Some(Frame::Map(_, _, _, entries, pending)) => match pending.take() {
                None => {
                    let key = match &node.kind {
                        NodeKind::String(s) => s.clone(),
                        NodeKind::Number(n) => n.to_string(),
                        NodeKind::Bool(b) => b.to_string(),
                        NodeKind::Null => "null".to_string(),
                        _ => {
                            return Err(LoadError {
                                pos: node.pos,
                                message: "mapping keys must be scalars".into(),
                            })
                        }
                    };
                    *pending = Some((key, node.pos));
                }
                Some((key, key_pos)) => entries.push(Entry { key, key_pos, value: node }),
            },
        }
        Ok(())
    }

    fn count(node: &Node) -> usize {
        match &node.kind {
            NodeKind::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
            NodeKind::Object(o) => 1 + o.iter().map(|e| 1 + count(&e.value)).sum::<usize>(),
            _ => 1,
        }
    }

    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = item.map_err(|e| LoadError { pos: marker_pos(e.marker()), message: e.info().to_string() })?;
        let pos = marker_pos(&span.start);
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                budget = budget.checked_sub(1).ok_or_else(|| LoadError { pos, message: "document too large".into() })?;
                let tag = tag_text(&tag);
                let kind = resolve_scalar(&value, style, tag.as_deref()).map_err(|message| LoadError { pos, message })?;
                let keep_tag = tag.filter(|t| !t.starts_with("tag:yaml.org") && !t.starts_with("!!"));
                let node = Node { pos, kind, tag: keep_tag };
                push(&mut stack, &mut root, node, &mut anchors, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(LoadError { pos, message: format!("nesting deeper than {MAX_DEPTH} levels") });
                }
                stack.push(Frame::Seq(pos, tag_text(&tag), anchor, Vec::new()));
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(LoadError { pos, message: format!("nesting deeper than {MAX_DEPTH} levels") });
                }
                stack.push(Frame::Map(pos, tag_text(&tag), anchor, Vec::new(), None));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(p, tag, anchor, items)) = stack.pop() {
                    let node = Node { pos: p, kind: NodeKind::Array(items), tag: tag.filter(|t| !t.starts_with("!!")) };
                    push(&mut stack, &mut root, node, &mut anchors, anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(p, tag, anchor, entries, _)) = stack.pop() {
                    let node = Node { pos: p, kind: NodeKind::Object(entries), tag: tag.filter(|t| !t.starts_with("!!")) };
                    push(&mut stack, &mut root, node, &mut anchors, anchor)?;
                }
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| LoadError { pos, message: "alias to an unknown anchor".into() })?;
                let n = count(&node);
                budget = budget.checked_sub(n).ok_or_else(|| LoadError {
                    pos,
                    message: "aliases expand the document beyond its size limit (an alias bomb?)".into(),
                })?;
                push(&mut stack, &mut root, node, &mut anchors, 0)?;
            }
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
            }
            _ => {}
        }
    }
    Ok(root.unwrap_or_else(|| Node::new(Pos { line: 1, col: 1 }, NodeKind::Null)))
}

fn resolve_scalar(value: &str, style: saphyr_parser::ScalarStyle, tag: Option<&str>) -> Result<NodeKind, String> {
    use saphyr_parser::ScalarStyle;
    if let Some(t) = tag {
        match t {
            "tag:yaml.org,2002:str" | "!!str" => return Ok(NodeKind::String(value.to_string())),
            "tag:yaml.org,2002:int" | "tag:yaml.org,2002:float" | "!!int" | "!!float" => {
                return parse_number(value.trim())
                    .map(NodeKind::Number)
                    .ok_or_else(|| format!("{value:?} is not a number"));
            }
            "tag:yaml.org,2002:bool" | "!!bool" => {
                return match value {
                    "true" | "True" | "TRUE" => Ok(NodeKind::Bool(true)),
                    "false" | "False" | "FALSE" => Ok(NodeKind::Bool(false)),
                    _ => Err(format!("{value:?} is not a boolean")),
                }
            }
            "tag:yaml.org,2002:null" | "!!null" => return Ok(NodeKind::Null),
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Ok(NodeKind::String(value.to_string()));
    }
    Ok(match value {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("{value} cannot be represented in JSON"))
        }
        _ => {
            if let Some(n) = yaml_number(value) {
                match n {
                    Some(n) => NodeKind::Number(n),
                    None => return Err(format!("number {value} is out of range")),
                }
            } else {
                NodeKind::String(value.to_string())
            }
        }
    })
}

/// `Some(Some(n))` for a core-schema number, `Some(None)` for a number out of
/// range, `None` for text that is not a number.
fn yaml_number(s: &str) -> Option<Option<Number>> {
    let b = s.as_bytes();
    if let Some(hex) = s.strip_prefix("0x") {
        return if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            Some(u64::from_str_radix(hex, 16).ok().map(Number::from))
        } else {
            None
        };
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return if !oct.is_empty() && oct.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
            Some(u64::from_str_radix(oct, 8).ok().map(Number::from))
        } else {
            None
        };
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let sign = usize::from(matches!(b.first(), Some(b'-') | Some(b'+')));
    let scan = asl_aws::number::scan_decimal(b, sign);
    if scan.int_digits == 0 && scan.frac_digits == 0 {
        return None;
    }
    if !scan.exponent_ok || scan.end != b.len() {
        return None;
    }
    let text = s.strip_prefix('+').unwrap_or(s);
    let text = if text.ends_with('.') { format!("{text}0") } else { text.to_string() };
    let text = if text.starts_with('.') || text.starts_with("-.") { text.replacen('.', "0.", 1) } else { text };
    Some(parse_number(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_positions_point_at_keys_and_values() {
        let n = parse_json("{\n  \"a\": [1, 2],\n  \"b\": \"x\"\n}").unwrap();
        let e = &n.entries()[1];
        assert_eq!((e.key.as_str(), e.key_pos), ("b", Pos { line: 3, col: 3 }));
        assert_eq!(e.value.pos, Pos { line: 3, col: 8 });
    }

    #[test]
    fn json_errors_say_where() {
        let e = parse_json("{\"a\": tru}").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, col: 7 });
        assert!(parse_json("[1e999]").unwrap_err().message.contains("out of range"));
        let deep = "[".repeat(100_000);
        assert!(parse_json(&deep).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn json_columns_count_characters_across_a_line() {
        let n = parse_json("{\"é\": [\"ü\", 2], \"k\": 3}\n[]").unwrap_err();
        assert_eq!(n.pos, Pos { line: 2, col: 1 });
        let n = parse_json("{\"é\": [\"ü\", 2], \"k\": 3}").unwrap();
        assert_eq!(n.entries()[0].value.to_value(), serde_json::json!(["ü", 2]));
        let NodeKind::Array(items) = &n.entries()[0].value.kind else { panic!("not an array") };
        assert_eq!(items[1].pos, Pos { line: 1, col: 13 });
        assert_eq!(n.entries()[1].key_pos, Pos { line: 1, col: 17 });
        assert_eq!(n.entries()[1].value.pos, Pos { line: 1, col: 22 });
    }

    /// A 2 MB document on one line (about 400,000 nodes) used to take minutes: each node's
    /// column rescanned the line from its start (about 4 × 10^11 byte visits). Linear loading
    /// does it in well under a second even in a debug build; the bound leaves room for a
    /// heavily loaded machine.
    #[test]
    fn one_line_json_loads_in_linear_time() {
        let item = "{\"id\":12345,\"name\":\"ééé\",\"tags\":[1,2,3]},";
        let mut text = String::from("[");
        while text.len() < 2_000_000 {
            text.push_str(item);
        }
        text.push_str("{}]");
        let started = std::time::Instant::now();
        let n = parse_json(&text).unwrap();
        let elapsed = started.elapsed();
        let NodeKind::Array(items) = &n.kind else { panic!("not an array") };
        let last = items.last().unwrap();
        assert_eq!(last.pos.line, 1);
        assert_eq!(last.pos.col as usize, text.chars().count() - 2);
        assert!(elapsed < std::time::Duration::from_secs(30), "2 MB one-line JSON took {elapsed:?}");
    }

    #[test]
    fn yaml_scalars_follow_the_core_schema() {
        let n = parse_yaml("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: yes\ng: 0x1F\nh: 017\n").unwrap();
        let v = n.to_value();
        assert_eq!(v, serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":"yes","g":31,"h":17}));
        assert_eq!(n.entries()[4].key_pos, Pos { line: 5, col: 1 });
    }

    #[test]
    fn yaml_alias_bombs_are_refused() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            s.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        let e = parse_yaml(&s).unwrap_err();
        assert!(e.message.contains("alias"), "{e}");
    }

    #[test]
    fn yaml_keeps_cloudformation_tags() {
        let n = parse_yaml("a: !Ref Bucket\nb: !GetAtt [X, Arn]\n").unwrap();
        assert_eq!(n.get("a").unwrap().tag.as_deref(), Some("!Ref"));
        assert_eq!(n.get("b").unwrap().tag.as_deref(), Some("!GetAtt"));
    }
}
