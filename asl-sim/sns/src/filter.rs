//! SNS subscription filter policies: validation with SNS's error messages, and matching
//! against message attributes or a JSON message body.
//!
//! Operators ("Amazon SNS message filtering", https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html):
//! exact values (strings, numbers, true/false/null), `prefix`, `suffix`,
//! `equals-ignore-case`, `anything-but` (values, a list, or `{"prefix": ...}`), `numeric`
//! (`=`, or a lower and/or an upper bound), `exists`, `cidr`, and `$or`. Limits: at most 5
//! keys in one conjunction and 150 value combinations.
//!
//! SNS validates policies with a streaming JSON parser and cites the parser's position in
//! its messages (`at [Source: (String)"..."; line: 1, column: N]`, recorded in
//! aws-recorded/errors.jsonl, test_validate_policy*). The tokenizer below reproduces where that
//! parser stands when it reports: just past a structural character or a literal, just past
//! the opening quote of a string it has not read yet, and past a field name's value start.

use serde_json::Value;

/// Where the policy sits; attributes cannot nest (recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

/// A validation failure: the message and, for parser-positioned ones, the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub message: String,
    /// `(line, column)` as SNS reports them; `None` for whole-policy checks.
    pub at: Option<(usize, usize)>,
    /// Parse errors cite a redacted source, validation errors the policy text.
    pub redacted: bool,
}

impl PolicyError {
    /// The text after `FilterPolicy: ` in SNS's message.
    pub fn render(&self, policy: &str) -> String {
        match self.at {
            None => self.message.clone(),
            Some((line, col)) if self.redacted => format!(
                "{}\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: {line}, column: {col}]",
                self.message
            ),
            Some((line, col)) => {
                // The parser quotes at most 500 characters of the source.
                let chars: Vec<char> = policy.chars().collect();
                let src = if chars.len() > 500 {
                    format!("\"{}\"[truncated {} chars]", chars[..500].iter().collect::<String>(), chars.len() - 500)
                } else {
                    format!("\"{policy}\"")
                };
                format!("{}\n at [Source: (String){src}; line: {line}, column: {col}]", self.message)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    ObjStart,
    ObjEnd,
    ArrStart,
    ArrEnd,
    Str(String),
    Num(f64, String),
    Bool(bool),
    Null,
    Field(String),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Where the parser stands once it returned this token (a char index, 0-based).
    loc: usize,
    /// For strings: where it stands once the text has been read (past the closing quote).
    full_loc: usize,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::ObjStart => "{".into(),
            Tok::ObjEnd => "}".into(),
            Tok::ArrStart => "[".into(),
            Tok::ArrEnd => "]".into(),
            Tok::Str(s) | Tok::Field(s) => s.clone(),
            Tok::Num(_, t) => t.clone(),
            Tok::Bool(b) => b.to_string(),
            Tok::Null => "null".into(),
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    /// (line, column) of each char index, 1-based, plus one past the end.
    pos: Vec<(usize, usize)>,
}

fn parse_error(msg: impl Into<String>, at: (usize, usize)) -> PolicyError {
    PolicyError { message: msg.into(), at: Some(at), redacted: true }
}

impl Lexer {
    fn new(text: &str) -> Lexer {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = Vec::with_capacity(chars.len() + 1);
        let (mut line, mut col) = (1, 1);
        for &c in &chars {
            pos.push((line, col));
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        pos.push((line, col));
        Lexer { chars, pos }
    }

    fn at(&self, i: usize) -> (usize, usize) {
        self.pos[i.min(self.pos.len() - 1)]
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.chars.len() && matches!(self.chars[i], ' ' | '\t' | '\n' | '\r') {
            i += 1;
        }
        i
    }

    /// A string starting at the opening quote `i`: its text and the index past the closing quote.
    fn string(&self, i: usize) -> Result<(String, usize), PolicyError> {
        let mut out = String::new();
        let mut j = i + 1;
        while j < self.chars.len() {
            match self.chars[j] {
                '"' => return Ok((out, j + 1)),
                '\\' => {
                    let e = *self.chars.get(j + 1).ok_or_else(|| parse_error("Unexpected end-of-input in character escape sequence", self.at(j + 1)))?;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        '/' | '\\' | '"' => out.push(e),
                        'u' => {
                            let hex: String = self.chars.get(j + 2..j + 6).map(|s| s.iter().collect()).unwrap_or_default();
                            let code = u32::from_str_radix(&hex, 16)
                                .map_err(|_| parse_error("Unexpected character in Unicode escape sequence", self.at(j + 2)))?;
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            j += 4;
                        }
                        other => {
                            return Err(parse_error(
                                format!("Unrecognized character escape '{other}' (code {})", other as u32),
                                self.at(j + 2),
                            ))
                        }
                    }
                    j += 2;
                }
                c => {
                    out.push(c);
                    j += 1;
                }
            }
        }
        Err(parse_error("Unexpected end-of-input: was expecting closing quote for a string value", self.at(j)))
    }

    /// A value token starting at `i` (after whitespace): the token and the index past it.
    fn value(&self, i: usize) -> Result<(Tok, usize, usize), PolicyError> {
        let Some(&c) = self.chars.get(i) else {
            return Err(parse_error("Unexpected end-of-input: expected close marker", self.at(i)));
        };
        match c {
            '{' => Ok((Tok::ObjStart, i + 1, i + 1)),
            '[' => Ok((Tok::ArrStart, i + 1, i + 1)),
            '"' => {
                let (s, end) = self.string(i)?;
                Ok((Tok::Str(s), i + 1, end))
            }
            '-' | '0'..='9' => {
                let mut j = i + 1;
                while j < self.chars.len() && matches!(self.chars[j], '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                    j += 1;
                }
                let text: String = self.chars[i..j].iter().collect();
                let n: f64 = text.parse().map_err(|_| parse_error(format!("Malformed numeric value ('{text}')"), self.at(j)))?;
                Ok((Tok::Num(n, text), j, j))
            }
            _ => {
                let mut j = i;
                while j < self.chars.len() && (self.chars[j].is_alphanumeric() || self.chars[j] == '_') {
                    j += 1;
                }
                let word: String = self.chars[i..j.max(i + 1)].iter().collect();
                match word.as_str() {
                    "true" => Ok((Tok::Bool(true), j, j)),
                    "false" => Ok((Tok::Bool(false), j, j)),
                    "null" => Ok((Tok::Null, j, j)),
                    _ if j > i => Err(parse_error(
                        format!("Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"),
                        self.at(j),
                    )),
                    _ => Err(parse_error(
                        format!("Unexpected character ('{c}' (code {})): expected a value", c as u32),
                        self.at(i),
                    )),
                }
            }
        }
    }

    /// All tokens of the document, with the parser positions described in the module docs.
    fn tokens(&self) -> Result<Vec<Token>, PolicyError> {
        let mut out: Vec<Token> = Vec::new();
        let mut stack: Vec<char> = Vec::new();
        let i0 = self.skip_ws(0);
        let (tok, loc, full) = self.value(i0)?;
        let mut i = full;
        Self::open(&mut stack, &tok);
        out.push(Token { tok, loc, full_loc: full });
        loop {
            let Some(&top) = stack.last() else {
                let j = self.skip_ws(i);
                if let Some(&c) = self.chars.get(j) {
                    return Err(parse_error(
                        format!("Unexpected character ('{c}' (code {})): expected end of input", c as u32),
                        self.at(j),
                    ));
                }
                return Ok(out);
            };
            i = self.skip_ws(i);
            let Some(&c) = self.chars.get(i) else {
                let what = if top == '{' { "Object" } else { "Array" };
                return Err(parse_error(format!("Unexpected end-of-input: expected close marker for {what}"), self.at(i)));
            };
            let first = matches!(out.last().map(|t| &t.tok), Some(Tok::ObjStart) | Some(Tok::ArrStart));
            let closer = if top == '{' { '}' } else { ']' };
            if c == closer {
                out.push(Token { tok: if top == '{' { Tok::ObjEnd } else { Tok::ArrEnd }, loc: i + 1, full_loc: i + 1 });
                stack.pop();
                i += 1;
                continue;
            }
            if !first {
                if c != ',' {
                    let what = if top == '{' { "Object entries" } else { "Array entries" };
                    return Err(parse_error(
                        format!("Unexpected character ('{c}' (code {})): was expecting comma to separate {what}", c as u32),
                        self.at(i + 1),
                    ));
                }
                i = self.skip_ws(i + 1);
            }
            if top == '{' {
                let c = self.chars.get(i).copied().unwrap_or(' ');
                if c != '"' {
                    return Err(parse_error(
                        format!("Unexpected character ('{c}' (code {})): was expecting double-quote to start field name", c as u32),
                        self.at(i),
                    ));
                }
                let (name, end) = self.string(i)?;
                let j = self.skip_ws(end);
                if self.chars.get(j) != Some(&':') {
                    let c = self.chars.get(j).copied().unwrap_or(' ');
                    return Err(parse_error(
                        format!("Unexpected character ('{c}' (code {})): was expecting a colon to separate field name and value", c as u32),
                        self.at(j + 1),
                    ));
                }
                let k = self.skip_ws(j + 1);
                let (tok, loc, full) = self.value(k)?;
                // The parser reads the value's start together with the name.
                out.push(Token { tok: Tok::Field(name), loc, full_loc: loc });
                Self::open(&mut stack, &tok);
                out.push(Token { tok, loc, full_loc: full });
                i = full;
            } else {
                let (tok, loc, full) = self.value(i)?;
                Self::open(&mut stack, &tok);
                out.push(Token { tok, loc, full_loc: full });
                i = full;
            }
        }
    }

    fn open(stack: &mut Vec<char>, tok: &Tok) {
        match tok {
            Tok::ObjStart => stack.push('{'),
            Tok::ArrStart => stack.push('['),
            _ => {}
        }
    }
}

/// One condition on a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Exact(Value),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    Numeric(Vec<(String, f64)>),
    Exists(bool),
    Cidr { network: u128, mask: u32, v6: bool },
}

/// A parsed filter policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Key { path: Vec<String>, conditions: Vec<Condition> },
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    lexer: Lexer,
}

fn at_err(lexer: &Lexer, msg: impl Into<String>, loc: usize) -> PolicyError {
    PolicyError { message: msg.into(), at: Some(lexer.at(loc)), redacted: false }
}

impl Parser {
    fn next(&mut self) -> Result<Token, PolicyError> {
        let t = self.toks.get(self.i).cloned().ok_or_else(|| parse_error("Unexpected end-of-input", self.lexer.at(usize::MAX)))?;
        self.i += 1;
        Ok(t)
    }

    fn err(&self, msg: impl Into<String>, loc: usize) -> PolicyError {
        at_err(&self.lexer, msg, loc)
    }

    /// The members of an object whose `{` was just read.
    fn object(&mut self, path: &[String]) -> Result<Rule, PolicyError> {
        let mut parts = Vec::new();
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::ObjEnd => break,
                Tok::Field(name) if name == "$or" => {
                    let v = self.next()?;
                    if v.tok != Tok::ArrStart {
                        return Err(self.err("\"$or\" must be an object or an array", t.loc));
                    }
                    let mut alternatives = Vec::new();
                    loop {
                        let e = self.next()?;
                        match e.tok {
                            Tok::ArrEnd => break,
                            Tok::ObjStart => alternatives.push(self.object(path)?),
                            _ => return Err(self.err("Or relationship must be an array of objects", e.loc)),
                        }
                    }
                    if alternatives.len() < 2 {
                        return Err(self.err("Or relationship must have at least two elements", t.loc));
                    }
                    parts.push(Rule::Or(alternatives));
                }
                Tok::Field(name) => {
                    let v = self.next()?;
                    let mut p = path.to_vec();
                    p.push(name.clone());
                    match v.tok {
                        Tok::ArrStart => parts.push(Rule::Key { conditions: self.match_array(v.loc)?, path: p }),
                        Tok::ObjStart => parts.push(self.object(&p)?),
                        _ => return Err(self.err(format!("\"{name}\" must be an object or an array"), t.loc)),
                    }
                }
                _ => return Err(self.err("Expected a field name", t.loc)),
            }
        }
        Ok(Rule::And(parts))
    }

    /// The conditions of a key, after its `[`.
    fn match_array(&mut self, open_loc: usize) -> Result<Vec<Condition>, PolicyError> {
        let _ = open_loc;
        let mut out = Vec::new();
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::ArrEnd if out.is_empty() => return Err(self.err("Empty arrays are not allowed", t.loc)),
                Tok::ArrEnd => return Ok(out),
                Tok::Str(s) => out.push(Condition::Exact(Value::String(s))),
                Tok::Num(n, _) => out.push(Condition::Exact(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))),
                Tok::Bool(b) => out.push(Condition::Exact(Value::Bool(b))),
                Tok::Null => out.push(Condition::Exact(Value::Null)),
                Tok::ArrStart => return Err(self.err("Match value must be String, number, true, false, or null", t.loc)),
                Tok::ObjStart => out.push(self.operator()?),
                _ => return Err(self.err("Match value must be String, number, true, false, or null", t.loc)),
            }
        }
    }

    /// After a string operand: the object must end here.
    fn close_operator(&mut self) -> Result<(), PolicyError> {
        let t = self.next()?;
        if t.tok != Tok::ObjEnd {
            return Err(self.err("Only one key allowed in match expression", t.loc));
        }
        Ok(())
    }

    fn string_operand(&mut self, op: &str, field_loc: usize) -> Result<String, PolicyError> {
        let v = self.next()?;
        match v.tok {
            Tok::Str(s) => Ok(s),
            _ => Err(self.err(format!("{op} match pattern must be a string"), field_loc)),
        }
    }

    /// A `{"operator": operand}` match, after its `{`.
    fn operator(&mut self) -> Result<Condition, PolicyError> {
        let f = self.next()?;
        let Tok::Field(op) = f.tok else {
            return Err(self.err("Empty objects are not allowed", f.loc));
        };
        let cond = match op.as_str() {
            "prefix" => Condition::Prefix(self.string_operand("prefix", f.loc)?),
            "suffix" => Condition::Suffix(self.string_operand("suffix", f.loc)?),
            "equals-ignore-case" => Condition::EqualsIgnoreCase(self.string_operand("equals-ignore-case", f.loc)?),
            // Recorded: a non-string cidr operand is reported as a prefix pattern.
            "cidr" => parse_cidr(&self.string_operand("prefix", f.loc)?)?,
            "exists" => {
                let v = self.next()?;
                match v.tok {
                    Tok::Bool(b) => Condition::Exists(b),
                    _ => return Err(self.err("exists match pattern must be either true or false.", f.loc)),
                }
            }
            "anything-but" => {
                let v = self.next()?;
                match v.tok {
                    Tok::Str(s) => Condition::AnythingBut(vec![Value::String(s)]),
                    Tok::Num(n, _) => Condition::AnythingBut(vec![serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)]),
                    Tok::ArrStart => {
                        let mut vals = Vec::new();
                        loop {
                            let e = self.next()?;
                            match e.tok {
                                Tok::ArrEnd => break,
                                Tok::Str(s) => vals.push(Value::String(s)),
                                Tok::Num(n, _) => vals.push(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
                                other => {
                                    return Err(self.err(
                                        format!("Inside anything but list, {} is not supported.", token_kind(&other)),
                                        e.loc,
                                    ))
                                }
                            }
                        }
                        if vals.is_empty() {
                            return Err(self.err("Empty arrays are not allowed", self.toks[self.i - 1].loc));
                        }
                        Condition::AnythingBut(vals)
                    }
                    Tok::ObjStart => {
                        let g = self.next()?;
                        let Tok::Field(sub) = g.tok else {
                            return Err(self.err("Empty objects are not allowed", g.loc));
                        };
                        let c = match sub.as_str() {
                            "prefix" => Condition::AnythingButPrefix(self.string_operand("prefix", g.loc)?),
                            other => return Err(self.err(format!("Unsupported anything-but pattern: {other}"), g.loc)),
                        };
                        self.close_operator()?;
                        c
                    }
                    other => {
                        return Err(self.err(
                            format!("Value of anything-but must be an array or single string/number value, not {}.", token_kind(&other)),
                            f.loc,
                        ))
                    }
                }
            }
            "numeric" => self.numeric(f.loc)?,
            other => return Err(self.err(format!("Unrecognized match type {other}"), f.loc)),
        };
        self.close_operator()?;
        Ok(cond)
    }

    fn numeric(&mut self, field_loc: usize) -> Result<Condition, PolicyError> {
        let open = self.next()?;
        if open.tok != Tok::ArrStart {
            return Err(self.err("Value of numeric must be an array.", field_loc));
        }
        let t1 = self.next()?;
        let Tok::Str(op1) = &t1.tok else {
            return Err(self.err(format!("Invalid member in numeric match: {}", t1.tok.text()), t1.loc));
        };
        let op1 = op1.clone();
        let v1 = self.next()?;
        if !matches!(op1.as_str(), "=" | "<" | "<=" | ">" | ">=") {
            return Err(self.err(format!("Unrecognized numeric range operator: {op1}"), v1.loc));
        }
        let Tok::Num(n1, _) = v1.tok else {
            let name = if op1 == "=" { "equals" } else { op1.as_str() };
            return Err(self.err(format!("Value of {name} must be numeric"), v1.loc));
        };
        let mut terms = vec![(op1.clone(), n1)];
        let t = self.next()?;
        if t.tok == Tok::ArrEnd {
            return Ok(Condition::Numeric(terms));
        }
        if matches!(op1.as_str(), "=" | "<" | "<=") {
            return Err(self.err("Too many elements in numeric expression", t.loc));
        }
        let op2 = match &t.tok {
            Tok::Str(s) if s == "<" || s == "<=" => s.clone(),
            Tok::Str(s) => return Err(self.err(format!("Bad numeric range operator: {s}"), t.full_loc)),
            other => return Err(self.err(format!("Bad value in numeric range: {}", other.text()), t.loc)),
        };
        let v2 = self.next()?;
        let Tok::Num(n2, _) = v2.tok else {
            return Err(self.err(format!("Value of {op2} must be numeric"), v2.loc));
        };
        let end = self.next()?;
        if end.tok != Tok::ArrEnd {
            return Err(self.err("Too many terms in numeric range expression", end.loc));
        }
        if n1 >= n2 {
            return Err(self.err("Bottom must be less than top", end.loc));
        }
        terms.push((op2, n2));
        Ok(Condition::Numeric(terms))
    }
}

fn token_kind(t: &Tok) -> &'static str {
    match t {
        Tok::ObjStart => "start of object",
        Tok::ArrStart => "start of array",
        Tok::Bool(_) => "boolean",
        Tok::Null => "null",
        _ => "this value",
    }
}

fn parse_cidr(s: &str) -> Result<Condition, PolicyError> {
    let no_pos = |m: String| PolicyError { message: m, at: None, redacted: false };
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() != 2 {
        return Err(no_pos("Malformed CIDR, one '/' required".into()));
    }
    let (ip, v6) = match parts[0].parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => (u32::from(a) as u128, false),
        Ok(std::net::IpAddr::V6(a)) => (u128::from(a), true),
        Err(_) => return Err(no_pos(format!("Nonstandard IP address: {}", parts[0]))),
    };
    let bits: u32 = parts[1].parse().map_err(|_| no_pos("Malformed CIDR, mask bits must be an integer".into()))?;
    let width = if v6 { 128 } else { 32 };
    if bits > width {
        return Err(no_pos(format!("Malformed CIDR, mask bits must be between 0 and {width}")));
    }
    Ok(Condition::Cidr { network: mask_ip(ip, bits, width), mask: bits, v6 })
}

fn mask_ip(ip: u128, bits: u32, width: u32) -> u128 {
    if bits == 0 {
        return 0;
    }
    let keep = width - bits;
    (ip >> keep) << keep
}

/// Keys in the widest conjunction and value combinations (SNS's two complexity limits).
fn complexity(r: &Rule) -> (usize, u64) {
    match r {
        Rule::Key { conditions, .. } => (1, conditions.len() as u64),
        Rule::And(parts) => parts.iter().fold((0, 1), |(k, c), p| {
            let (pk, pc) = complexity(p);
            (k + pk, c.saturating_mul(pc))
        }),
        Rule::Or(alts) => alts.iter().fold((0, 0), |(k, c), a| {
            let (ak, ac) = complexity(a);
            (k.max(ak), c.saturating_add(ac))
        }),
    }
}

fn nested(r: &Rule) -> bool {
    match r {
        Rule::Key { path, .. } => path.len() > 1,
        Rule::And(p) | Rule::Or(p) => p.iter().any(nested),
    }
}

/// Why a policy was refused: a FilterPolicy message, or the scope's own message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Rendered after `FilterPolicy: `.
    Policy(String),
    /// A whole message (the attributes scope's nesting rule).
    Other(String),
}

/// Validates a policy for a scope.
pub fn parse(policy: &str, scope: Scope) -> Result<Rule, Refusal> {
    let lexer = Lexer::new(policy);
    let toks = lexer.tokens().map_err(|e| Refusal::Policy(format!("failed to parse JSON. {}", e.render(policy))))?;
    let mut p = Parser { toks, i: 0, lexer };
    let first = p.next().map_err(|e| Refusal::Policy(e.render(policy)))?;
    if first.tok != Tok::ObjStart {
        return Err(Refusal::Policy(p.err("Filter policy must be a JSON object", first.loc).render(policy)));
    }
    let rule = p.object(&[]).map_err(|e| Refusal::Policy(e.render(policy)))?;
    if scope == Scope::MessageAttributes && nested(&rule) {
        return Err(Refusal::Other("Filter policy scope MessageAttributes does not support nested filter policy".into()));
    }
    let (keys, combos) = complexity(&rule);
    if keys > 5 {
        return Err(Refusal::Policy("Filter policy can not have more than 5 keys".into()));
    }
    if combos > 150 {
        return Err(Refusal::Policy("Filter policy is too complex".into()));
    }
    Ok(rule)
}

/// A value a key has in a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// Present but not matchable by value (a binary attribute, an object).
    Opaque,
}

fn leaf_of(v: &Value) -> Leaf {
    match v {
        Value::String(s) => Leaf::Str(s.clone()),
        Value::Number(n) => n.as_f64().map_or(Leaf::Opaque, Leaf::Num),
        Value::Bool(b) => Leaf::Bool(*b),
        Value::Null => Leaf::Null,
        _ => Leaf::Opaque,
    }
}

/// The leaves of a message attribute: String → the string, Number → the number,
/// String.Array → its elements, Binary → opaque.
pub fn attribute_leaves(data_type: &str, value: Option<&str>) -> Vec<Leaf> {
    let base = data_type.split('.').next().unwrap_or("");
    match (base, value) {
        ("String", Some(v)) if data_type == "String.Array" => match serde_json::from_str::<Value>(v) {
            Ok(Value::Array(a)) => a.iter().map(leaf_of).collect(),
            _ => vec![Leaf::Opaque],
        },
        ("String", Some(v)) => vec![Leaf::Str(v.to_string())],
        ("Number", Some(v)) => vec![v.trim().parse::<f64>().map_or(Leaf::Opaque, Leaf::Num)],
        _ => vec![Leaf::Opaque],
    }
}

/// The leaves at a path of a JSON body (arrays along the way are searched element-wise).
pub fn body_leaves(body: &Value, path: &[String]) -> Option<Vec<Leaf>> {
    let mut current = vec![body];
    for key in path {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => next.extend(m.get(key)),
                Value::Array(a) => next.extend(a.iter().filter_map(|e| e.get(key))),
                _ => {}
            }
        }
        if next.is_empty() {
            return None;
        }
        current = next;
    }
    let mut leaves = Vec::new();
    for v in current {
        match v {
            Value::Array(a) => leaves.extend(a.iter().map(leaf_of)),
            other => leaves.push(leaf_of(other)),
        }
    }
    Some(leaves)
}

fn same_number(a: f64, b: f64) -> bool {
    // SNS compares numbers with five decimal places of precision (filter policy docs).
    (a - b).abs() < 1e-5
}

fn leaf_matches(c: &Condition, leaf: &Leaf) -> bool {
    match (c, leaf) {
        (Condition::Exact(Value::String(s)), Leaf::Str(v)) => s == v,
        (Condition::Exact(Value::Number(n)), Leaf::Num(v)) => n.as_f64().is_some_and(|n| same_number(n, *v)),
        (Condition::Exact(Value::Bool(b)), Leaf::Bool(v)) => b == v,
        (Condition::Exact(Value::Null), Leaf::Null) => true,
        (Condition::Prefix(p), Leaf::Str(v)) => v.starts_with(p.as_str()),
        (Condition::Suffix(p), Leaf::Str(v)) => v.ends_with(p.as_str()),
        (Condition::EqualsIgnoreCase(p), Leaf::Str(v)) => p.to_lowercase() == v.to_lowercase(),
        (Condition::AnythingBut(list), leaf) => !list.iter().any(|x| leaf_matches(&Condition::Exact(x.clone()), leaf)),
        (Condition::AnythingButPrefix(p), Leaf::Str(v)) => !v.starts_with(p.as_str()),
        (Condition::AnythingButPrefix(_), _) => true,
        (Condition::Numeric(terms), Leaf::Num(v)) => terms.iter().all(|(op, n)| match op.as_str() {
            "=" => same_number(*v, *n),
            "<" => *v < *n,
            "<=" => *v <= *n,
            ">" => *v > *n,
            ">=" => *v >= *n,
            _ => false,
        }),
        (Condition::Cidr { network, mask, v6 }, Leaf::Str(v)) => match v.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) if !v6 => mask_ip(u32::from(a) as u128, *mask, 32) == *network,
            Ok(std::net::IpAddr::V6(a)) if *v6 => mask_ip(u128::from(a), *mask, 128) == *network,
            _ => false,
        },
        _ => false,
    }
}

/// Whether a message matches: `lookup` gives a key path's leaves, `None` when absent.
pub fn matches(rule: &Rule, lookup: &dyn Fn(&[String]) -> Option<Vec<Leaf>>) -> bool {
    match rule {
        Rule::And(parts) => parts.iter().all(|p| matches(p, lookup)),
        Rule::Or(alts) => alts.iter().any(|a| matches(a, lookup)),
        Rule::Key { path, conditions } => {
            let leaves = lookup(path);
            conditions.iter().any(|c| match (c, &leaves) {
                (Condition::Exists(want), l) => *want == l.is_some(),
                (_, None) => false,
                (c, Some(ls)) => ls.iter().any(|leaf| leaf_matches(c, leaf)),
            })
        }
    }
}

/// The parser's message for text that is not JSON (`failed to parse JSON. ...`), or `None`
/// when it parses. SNS reports RedrivePolicy syntax errors this way too (recorded).
pub fn json_syntax_error(text: &str) -> Option<String> {
    Lexer::new(text).tokens().err().map(|e| format!("failed to parse JSON. {}", e.render(text)))
}
