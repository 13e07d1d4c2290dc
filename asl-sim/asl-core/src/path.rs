//! JSONPath as Step Functions reads it: Jayway's syntax and semantics.
//!
//! A path is parsed once, when the definition is loaded. A *definite* path
//! (names and indexes only) selects one value and fails when it is missing; an
//! indefinite path (wildcards, slices, unions, filters, `..`) selects a list
//! that may be empty. Failure messages reproduce Jayway's, which AWS shows in
//! its causes: `No results for path: $['a']`, `Missing property in path $['a']`.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Root {
    /// `$`: the state's input (or whatever document the field reads).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Keys(Vec<String>),
    Indexes(Vec<i64>),
    /// `..name`, `..*`, `..[n]`: the segment applied to every descendant.
    Descend(Box<Seg>),
    Filter(Filter),
    /// `.length()`, Jayway's function on arrays, strings and objects.
    Length,
}

#[derive(Clone, Debug, PartialEq)]
enum Filter {
    Exists(Vec<Seg>),
    Not(Box<Filter>),
    Cmp(Operand, CmpOp, Operand),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Current(Vec<Seg>),
    /// `$.x` inside a filter: Jayway reads it from the document's root.
    Root(Vec<Seg>),
    Literal(Value),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CmpOp { Eq, Ne, Lt, Le, Gt, Ge }

/// A parsed path.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    src: String,
    pub root: Root,
    segs: Vec<Seg>,
}

/// Why a definite path selected nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The last step is missing: Jayway's "No results for path: $['a']['b']".
    NoResults(String),
    /// An intermediate step is missing: "Missing property in path $['a']".
    MissingProperty(String),
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::NoResults(p) => write!(f, "No results for path: {p}"),
            Miss::MissingProperty(p) => write!(f, "Missing property in path {p}"),
        }
    }
}

/// A value a path selected: borrowed from the document, or computed (`length()`, lists).
pub enum Selected<'a> {
    Ref(&'a Value),
    Owned(Value),
}

impl Selected<'_> {
    pub fn into_owned(self) -> Value {
        match self {
            Selected::Ref(v) => v.clone(),
            Selected::Owned(v) => v,
        }
    }
    pub fn as_value(&self) -> &Value {
        match self {
            Selected::Ref(v) => v,
            Selected::Owned(v) => v,
        }
    }
}

impl Path {
    pub fn parse(src: &str) -> Result<Path, String> {
        // Jayway trims the path before compiling it (`$.a ` reads `a`).
        let src = src.trim_matches(|c: char| c == ' ' || c == '\t');
        let mut p = Parser { s: src.as_bytes(), i: 0, src };
        let root = p.root()?;
        let mut segs = Vec::new();
        while p.i < p.s.len() {
            segs.push(p.segment()?);
        }
        if root != Root::Input && segs.iter().any(|s| matches!(s, Seg::Filter(_))) && root == Root::Context {
            // Filters over the context object are legal in Jayway; nothing to forbid.
        }
        Ok(Path { src: src.to_string(), root, segs })
    }

    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// True when the path can select at most one value (no wildcard, slice,
    /// union, filter or descent).
    pub fn is_definite(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Key(_) | Seg::Index(_) | Seg::Length))
    }

    /// A reference path (ResultPath and the like) is definite, names fields
    /// and indexes only, and reads the input.
    pub fn is_reference(&self) -> bool {
        self.root == Root::Input && self.segs.iter().all(|s| matches!(s, Seg::Key(_) | Seg::Index(_)))
    }

    /// The path's segments as keys and indexes, for writing (ResultPath).
    pub fn steps(&self) -> Option<Vec<Step<'_>>> {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Key(k) => Some(Step::Key(k)),
                Seg::Index(i) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect()
    }

    /// Selects from `doc`: a definite path gives its one value or a `Miss`;
    /// an indefinite one always succeeds with a (possibly empty) array.
    pub fn select<'a>(&self, doc: &'a Value) -> Result<Selected<'a>, Miss> {
        if self.is_definite() {
            let mut cur = doc;
            for (n, seg) in self.segs.iter().enumerate() {
                let last = n + 1 == self.segs.len();
                let next = match seg {
                    Seg::Key(k) => match cur {
                        Value::Object(m) => m.get(k.as_str()),
                        _ => None,
                    },
                    Seg::Index(i) => match cur {
                        Value::Array(a) => index(a, *i),
                        _ => None,
                    },
                    Seg::Length => {
                        return match length(cur) {
                            Some(l) if last => Ok(Selected::Owned(Value::from(l))),
                            _ => Err(Miss::NoResults(self.normalized(n + 1))),
                        }
                    }
                    _ => unreachable_seg(),
                };
                match next {
                    Some(v) => cur = v,
                    None => {
                        // Jayway says "no results" when the missing step is the
                        // leaf, or when it indexes past an array's end.
                        let normalized = self.normalized(n + 1);
                        return Err(if last || matches!(seg, Seg::Index(_)) {
                            Miss::NoResults(normalized)
                        } else {
                            Miss::MissingProperty(normalized)
                        });
                    }
                }
            }
            Ok(Selected::Ref(cur))
        } else {
            let mut cur: Vec<&Value> = vec![doc];
            let mut computed: Option<Vec<Value>> = None;
            for seg in &self.segs {
                if let Seg::Length = seg {
                    let src: Vec<Value> = match computed.take() {
                        Some(v) => v,
                        None => cur.iter().map(|v| (*v).clone()).collect(),
                    };
                    computed = Some(src.iter().filter_map(length).map(Value::from).collect());
                    continue;
                }
                let mut next = Vec::new();
                for v in &cur {
                    apply(seg, v, doc, &mut next);
                }
                cur = next;
            }
            Ok(Selected::Owned(Value::Array(match computed {
                Some(v) => v,
                None => cur.into_iter().cloned().collect(),
            })))
        }
    }

    /// Jayway's normalized form of the first `n` segments: `$['a'][0]`.
    fn normalized(&self, n: usize) -> String {
        let mut s = String::from(match &self.root {
            Root::Input => "$",
            Root::Context => "$$",
            Root::Variable(_) => "$",
        });
        for seg in &self.segs[..n] {
            match seg {
                Seg::Key(k) => {
                    s.push_str("['");
                    s.push_str(k);
                    s.push_str("']");
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                Seg::Length => s.push_str(".length()"),
                _ => s.push_str("[*]"),
            }
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(i64),
}

fn unreachable_seg<T>() -> Option<T> {
    // Only reached if `is_definite` and this match disagree; select nothing.
    None
}

fn index(a: &[Value], i: i64) -> Option<&Value> {
    let idx = if i < 0 { a.len() as i64 + i } else { i };
    if idx < 0 {
        None
    } else {
        a.get(idx as usize)
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::String(s) => Some(s.chars().count()),
        Value::Object(m) => Some(m.len()),
        _ => None,
    }
}

fn apply<'a>(seg: &Seg, v: &'a Value, root: &Value, out: &mut Vec<&'a Value>) {
    match seg {
        Seg::Key(k) => {
            if let Value::Object(m) = v {
                if let Some(x) = m.get(k.as_str()) {
                    out.push(x);
                }
            }
        }
        Seg::Index(i) => {
            if let Value::Array(a) = v {
                if let Some(x) = index(a, *i) {
                    out.push(x);
                }
            }
        }
        Seg::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(m) => out.extend(m.values()),
            _ => {}
        },
        Seg::Slice(start, end, step) => {
            if let Value::Array(a) = v {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let step = step.unwrap_or(1);
                if step > 0 {
                    let (s, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(len)));
                    let mut i = s;
                    while i < e {
                        out.push(&a[i as usize]);
                        i += step;
                    }
                }
            }
        }
        Seg::Keys(keys) => {
            if let Value::Object(m) = v {
                for k in keys {
                    if let Some(x) = m.get(k.as_str()) {
                        out.push(x);
                    }
                }
            }
        }
        Seg::Indexes(ix) => {
            if let Value::Array(a) = v {
                for i in ix {
                    if let Some(x) = index(a, *i) {
                        out.push(x);
                    }
                }
            }
        }
        Seg::Descend(inner) => descend(inner, v, root, out, 0),
        Seg::Filter(f) => match v {
            Value::Array(a) => out.extend(a.iter().filter(|x| test(f, x, root))),
            Value::Object(_) => {
                if test(f, v, root) {
                    out.push(v)
                }
            }
            _ => {}
        },
        Seg::Length => {}
    }
}

fn descend<'a>(seg: &Seg, v: &'a Value, root: &Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 1000 {
        return;
    }
    apply(seg, v, root, out);
    match v {
        Value::Array(a) => a.iter().for_each(|x| descend(seg, x, root, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|x| descend(seg, x, root, out, depth + 1)),
        _ => {}
    }
}

fn relative<'a>(segs: &[Seg], v: &'a Value) -> Option<&'a Value> {
    let mut cur = v;
    for s in segs {
        cur = match s {
            Seg::Key(k) => cur.as_object()?.get(k.as_str())?,
            Seg::Index(i) => index(cur.as_array()?, *i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn test(f: &Filter, v: &Value, root: &Value) -> bool {
    match f {
        Filter::Exists(segs) => relative(segs, v).is_some(),
        Filter::Not(f) => !test(f, v, root),
        Filter::And(a, b) => test(a, v, root) && test(b, v, root),
        Filter::Or(a, b) => test(a, v, root) || test(b, v, root),
        Filter::Cmp(a, op, b) => {
            let get = |o: &Operand| -> Option<Value> {
                match o {
                    Operand::Current(segs) => relative(segs, v).cloned(),
                    Operand::Root(segs) => relative(segs, root).cloned(),
                    Operand::Literal(l) => Some(l.clone()),
                }
            };
            let (Some(x), Some(y)) = (get(a), get(b)) else {
                return matches!(op, CmpOp::Ne);
            };
            let ord = match (&x, &y) {
                (Value::Number(p), Value::Number(q)) => p.as_f64().partial_cmp(&q.as_f64()),
                (Value::String(p), Value::String(q)) => Some(p.cmp(q)),
                _ => {
                    if x == y {
                        Some(std::cmp::Ordering::Equal)
                    } else {
                        None
                    }
                }
            };
            use std::cmp::Ordering::*;
            match op {
                CmpOp::Eq => ord == Some(Equal),
                CmpOp::Ne => ord != Some(Equal),
                CmpOp::Lt => ord == Some(Less),
                CmpOp::Le => matches!(ord, Some(Less) | Some(Equal)),
                CmpOp::Gt => ord == Some(Greater),
                CmpOp::Ge => matches!(ord, Some(Greater) | Some(Equal)),
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn err<T>(&self, msg: &str) -> Result<T, String> {
        Err(format!("{msg} at position {} of path '{}'", self.i, self.src))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn root(&mut self) -> Result<Root, String> {
        if self.peek() != Some(b'$') {
            return self.err("a path must start with '$'");
        }
        self.i += 1;
        if self.peek() == Some(b'$') {
            self.i += 1;
            return Ok(Root::Context);
        }
        match self.peek() {
            None | Some(b'.') | Some(b'[') => Ok(Root::Input),
            Some(c) if is_name_char(c) => {
                let start = self.i;
                while self.peek().is_some_and(is_name_char) {
                    self.i += 1;
                }
                Ok(Root::Variable(self.src[start..self.i].to_string()))
            }
            _ => self.err("unexpected character after '$'"),
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' || c == b' ' {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return self.err("expected a field name");
        }
        Ok(self.src[start..self.i].to_string())
    }

    fn segment(&mut self) -> Result<Seg, String> {
        match self.peek() {
            Some(b'.') => {
                self.i += 1;
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    let inner = match self.peek() {
                        Some(b'[') => self.bracket()?,
                        Some(b'*') => {
                            self.i += 1;
                            Seg::Wildcard
                        }
                        _ => Seg::Key(self.name()?),
                    };
                    return Ok(Seg::Descend(Box::new(inner)));
                }
                if self.peek() == Some(b'*') {
                    self.i += 1;
                    return Ok(Seg::Wildcard);
                }
                // Jayway accepts a dot before a bracket: `$.[0]`, `$.a.[0].b`, `$.['a','b']`.
                if self.peek() == Some(b'[') {
                    return self.bracket();
                }
                let name = self.name()?;
                if name == "length()" {
                    return Ok(Seg::Length);
                }
                Ok(Seg::Key(name))
            }
            Some(b'[') => self.bracket(),
            _ => self.err("expected '.' or '['"),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        // A union's later members need their quote too: `$['a',é]` stepped into the middle
        // of `é` here and panicked on the next slice (found by fuzzing).
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return self.err("expected a quoted name"),
        };
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(c) if c == q => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.src[self.i..].chars().next();
                    match c {
                        Some(c) => {
                            out.push(c);
                            self.i += c.len_utf8();
                        }
                        None => return self.err("unterminated string"),
                    }
                }
                Some(_) => {
                    let c = self.src[self.i..].chars().next().unwrap_or('\u{fffd}');
                    out.push(c);
                    self.i += c.len_utf8().max(1);
                }
            }
        }
    }

    fn int(&mut self) -> Result<i64, String> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let t = &self.src[start..self.i];
        let r = t.parse::<i64>();
        self.skip_ws();
        r.or_else(|_| self.err("expected an integer"))
    }

    fn bracket(&mut self) -> Result<Seg, String> {
        self.i += 1; // '['
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Seg::Wildcard
            }
            Some(b'\'') | Some(b'"') => {
                let mut keys = vec![self.quoted()?];
                self.skip_ws();
                while self.peek() == Some(b',') {
                    self.i += 1;
                    self.skip_ws();
                    keys.push(self.quoted()?);
                    self.skip_ws();
                }
                if keys.len() == 1 {
                    Seg::Key(keys.pop().unwrap_or_default())
                } else {
                    Seg::Keys(keys)
                }
            }
            Some(b'?') => {
                self.i += 1;
                self.skip_ws();
                if self.peek() != Some(b'(') {
                    return self.err("expected '(' after '?'");
                }
                Seg::Filter(self.filter_in_parens("expected ')' to close the filter")?)
            }
            _ => {
                let first = if self.peek() == Some(b':') { None } else { Some(self.int()?) };
                if self.peek() == Some(b':') {
                    self.i += 1;
                    self.skip_ws();
                    let end = if matches!(self.peek(), Some(b']') | Some(b':')) { None } else { Some(self.int()?) };
                    let step = if self.peek() == Some(b':') {
                        self.i += 1;
                        self.skip_ws();
                        if self.peek() == Some(b']') {
                            None
                        } else {
                            Some(self.int()?)
                        }
                    } else {
                        None
                    };
                    Seg::Slice(first, end, step)
                } else {
                    let mut ix = vec![first.unwrap_or(0)];
                    while self.peek() == Some(b',') {
                        self.i += 1;
                        ix.push(self.int()?);
                    }
                    if ix.len() == 1 {
                        Seg::Index(ix[0])
                    } else {
                        Seg::Indexes(ix)
                    }
                }
            }
        };
        self.skip_ws();
        if self.peek() != Some(b']') {
            return self.err("expected ']'");
        }
        self.i += 1;
        Ok(seg)
    }

    /// At '(': the filter up to the matching ')' (`unclosed`: the error without one).
    fn filter_in_parens(&mut self, unclosed: &str) -> Result<Filter, String> {
        self.i += 1;
        let f = self.filter_or()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return self.err(unclosed);
        }
        self.i += 1;
        Ok(f)
    }

    fn filter_or(&mut self) -> Result<Filter, String> {
        self.filter_chain(b"||", Self::filter_and, Filter::Or)
    }

    fn filter_and(&mut self) -> Result<Filter, String> {
        self.filter_chain(b"&&", Self::filter_atom, Filter::And)
    }

    /// `operand (op operand)*`, grouped from the left.
    fn filter_chain(
        &mut self,
        op: &[u8],
        operand: fn(&mut Self) -> Result<Filter, String>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, String> {
        let mut left = operand(self)?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(op) {
                self.i += op.len();
                let right = operand(self)?;
                left = join(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_atom(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') {
            self.i += 1;
            return Ok(Filter::Not(Box::new(self.filter_atom()?)));
        }
        if self.peek() == Some(b'(') {
            return self.filter_in_parens("expected ')'");
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = if self.s[self.i..].starts_with(b"==") {
            Some((CmpOp::Eq, 2))
        } else if self.s[self.i..].starts_with(b"!=") {
            Some((CmpOp::Ne, 2))
        } else if self.s[self.i..].starts_with(b"<=") {
            Some((CmpOp::Le, 2))
        } else if self.s[self.i..].starts_with(b">=") {
            Some((CmpOp::Ge, 2))
        } else if self.s[self.i..].starts_with(b"<") {
            Some((CmpOp::Lt, 1))
        } else if self.s[self.i..].starts_with(b">") {
            Some((CmpOp::Gt, 1))
        } else {
            None
        };
        match op {
            None => match left {
                Operand::Current(segs) => Ok(Filter::Exists(segs)),
                Operand::Root(_) | Operand::Literal(_) => self.err("expected a comparison"),
            },
            Some((op, n)) => {
                self.i += n;
                let right = self.operand()?;
                Ok(Filter::Cmp(left, op, right))
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(c @ (b'@' | b'$')) => {
                self.i += 1;
                let mut segs = Vec::new();
                while matches!(self.peek(), Some(b'.') | Some(b'[')) {
                    if self.peek() == Some(b'.') {
                        self.i += 1;
                        let start = self.i;
                        while self.peek().is_some_and(is_name_char) {
                            self.i += 1;
                        }
                        if start == self.i {
                            return self.err("expected a field name");
                        }
                        segs.push(Seg::Key(self.src[start..self.i].to_string()));
                    } else {
                        let seg = self.bracket()?;
                        if !matches!(seg, Seg::Key(_) | Seg::Index(_)) {
                            return self.err("only names and indexes may follow '@' or '$' in a filter");
                        }
                        segs.push(seg);
                    }
                }
                Ok(if c == b'@' { Operand::Current(segs) } else { Operand::Root(segs) })
            }
            Some(b'\'') | Some(b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|c| !matches!(c, b' ' | b')' | b'&' | b'|' | b'=' | b'!' | b'<' | b'>')) {
                    self.i += 1;
                }
                let t = &self.src[start..self.i];
                let v = match t {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => match crate::tree::parse_number(t) {
                        Some(n) => Value::Number(n),
                        None => return self.err("expected a literal"),
                    },
                };
                Ok(Operand::Literal(v))
            }
        }
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c >= 0x80
}

/// Writes `value` at `steps` inside `doc`, creating objects on the way, as
/// ResultPath does. Fails (ResultPathMatchFailure) where a step meets a value
/// that cannot hold it.
pub fn write(doc: &mut Value, steps: &[Step<'_>], value: Value) -> Result<(), ()> {
    let mut cur = doc;
    for (n, step) in steps.iter().enumerate() {
        let last = n + 1 == steps.len();
        match step {
            Step::Key(k) => {
                let Value::Object(m) = cur else { return Err(()) };
                if last {
                    m.insert((*k).to_string(), value);
                    return Ok(());
                }
                cur = m.entry((*k).to_string()).or_insert_with(|| Value::Object(Default::default()));
            }
            Step::Index(i) => {
                let Value::Array(a) = cur else { return Err(()) };
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if idx < 0 || idx as usize >= a.len() {
                    return Err(());
                }
                if last {
                    a[idx as usize] = value;
                    return Ok(());
                }
                cur = &mut a[idx as usize];
            }
        }
    }
    *cur = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, doc: Value) -> Result<Value, String> {
        Path::parse(p).unwrap().select(&doc).map(Selected::into_owned).map_err(|m| m.to_string())
    }

    #[test]
    fn definite_paths_and_jayway_messages() {
        assert_eq!(sel("$.a.b", json!({"a":{"b":1}})), Ok(json!(1)));
        assert_eq!(sel("$['a']['b c']", json!({"a":{"b c":2}})), Ok(json!(2)));
        assert_eq!(sel("$.detail-type", json!({"detail-type":"x"})), Ok(json!("x")));
        assert_eq!(sel("$.x", json!({})), Err("No results for path: $['x']".into()));
        assert_eq!(sel("$.no.such.path", json!({})), Err("Missing property in path $['no']".into()));
        assert_eq!(sel("$.a[5]", json!({"a":[1]})), Err("No results for path: $['a'][5]".into()));
        assert_eq!(sel("$.a[-1]", json!({"a":[1,2]})), Ok(json!(2)));
        assert_eq!(sel("$.a.length()", json!({"a":[1,2,3]})), Ok(json!(3)));
    }

    /// Jayway forms that AWS deploys (seen in AWS's public sample workflows):
    /// a dot before a bracket, a trailing space, `$` paths inside filters.
    #[test]
    fn jayway_leniencies() {
        assert_eq!(sel("$.Snapshots.[0].State", json!({"Snapshots":[{"State":"ok"}]})), Ok(json!("ok")));
        assert_eq!(sel("$.[0]", json!([7, 8])), Ok(json!(7)));
        assert_eq!(sel("$.[0].body", json!([{"body":"b"}])), Ok(json!("b")));
        assert_eq!(sel("$.[*].['bucket', 'key']", json!([{"bucket":"b","key":"k","x":1}])), Ok(json!(["b", "k"])));
        assert_eq!(sel("$.a ", json!({"a":1})), Ok(json!(1)));
        assert_eq!(sel("$.items[?(@.n > $.min)]", json!({"min":1,"items":[{"n":1},{"n":2}]})), Ok(json!([{"n":2}])));
        assert_eq!(sel("$.items[?(@.n == $.want.n)].n", json!({"want":{"n":1},"items":[{"n":1},{"n":2}]})), Ok(json!([1])));
    }

    #[test]
    fn indefinite_paths_select_lists() {
        assert_eq!(sel("$[*]", json!({})), Ok(json!([])));
        assert_eq!(sel("$.items[1:]", json!({"items":[1,2,3]})), Ok(json!([2,3])));
        assert_eq!(sel("$.items[:1].v", json!({"items":[{"v":1},{"v":2}]})), Ok(json!([1])));
        assert_eq!(sel("$..v", json!({"a":{"v":1},"b":[{"v":2}]})), Ok(json!([1,2])));
        assert_eq!(
            sel("$.users[?(@.status == 0)].name", json!({"users":[{"status":0,"name":"a"},{"status":1,"name":"b"}]})),
            Ok(json!(["a"]))
        );
        assert_eq!(sel("$.u[?(@.a > 1 && @.b)]", json!({"u":[{"a":2,"b":1},{"a":2},{"a":0,"b":1}]})), Ok(json!([{"a":2,"b":1}])));
        assert_eq!(sel("$.a[0,2]", json!({"a":[1,2,3]})), Ok(json!([1,3])));
    }

    #[test]
    fn roots() {
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(Path::parse("$var.x").unwrap().root, Root::Variable("var".into()));
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
    }

    /// Found by fuzzing: an unquoted union member after a quoted one that starts with a
    /// multi-byte character panicked (a slice inside the character).
    #[test]
    fn union_members_must_all_be_quoted() {
        for p in ["$['a',\u{fffd}====]['b c'", "$['a',é]", "$['a',b]", "$[\"a\", 1]"] {
            assert!(Path::parse(p).unwrap_err().contains("expected a quoted name"), "{p}");
        }
        assert_eq!(sel("$['a','b']", json!({"a":1,"b":2})), Ok(json!([1, 2])));
    }

    #[test]
    fn write_creates_objects() {
        let mut d = json!({"a":1});
        write(&mut d, &[Step::Key("b"), Step::Key("c")], json!(2)).unwrap();
        assert_eq!(d, json!({"a":1,"b":{"c":2}}));
        assert!(write(&mut d, &[Step::Key("a"), Step::Key("c")], json!(2)).is_err());
    }
}
