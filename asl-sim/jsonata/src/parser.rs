//! Tokenizer, Pratt parser and AST post-processing (path building, ancestry resolution).

use crate::Error;
use std::sync::Arc as Rc;

#[derive(Debug, Clone)]
pub(crate) struct RegexLit {
    #[allow(dead_code)] // kept for diagnostics (Debug)
    pub source: String,
    pub regex: crate::regex_conv::JsRegex,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Filter(Node, #[allow(dead_code)] usize),
    Index(Rc<str>),
}

#[derive(Debug, Clone)]
pub(crate) struct SortTerm {
    pub descending: bool,
    pub expr: Node,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    // leaves
    Name(Rc<str>),
    Var(Rc<str>),
    Str(Rc<str>),
    Num(f64),
    Bool(bool),
    Null,
    Regex(Rc<RegexLit>),
    Wildcard,
    Descendant,
    Parent(usize),
    ParentL(Rc<str>),
    Placeholder,
    // raw-only
    Operator(Rc<str>),
    Dot(Box<Node>, Box<Node>),
    Pred(Box<Node>, Box<Node>),
    GroupBy(Box<Node>, Vec<(Node, Node)>),
    OrderBy(Box<Node>, Vec<SortTerm>),
    Focus(Box<Node>, Rc<str>),
    IndexBind(Box<Node>, Rc<str>),
    // processed
    Path(Vec<Node>),
    Binary(Rc<str>, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Array(Vec<Node>),
    Object(Vec<(Node, Node)>),
    Function { proc_: Box<Node>, args: Vec<Node>, partial: bool },
    Lambda(Rc<LambdaDef>),
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    Transform(Rc<(Node, Node, Option<Node>)>),
    Block(Vec<Node>),
    Bind(Rc<str>, Box<Node>),
    Apply(Box<Node>, Box<Node>),
    Sort(Vec<SortTerm>),
}

#[derive(Debug)]
pub(crate) struct LambdaDef {
    pub params: Vec<Rc<str>>,
    pub signature: Option<crate::signature::Signature>,
    pub body: Node,
    pub thunk: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub pos: usize,
    pub keep_array: bool,
    pub keep_singleton_array: bool,
    pub consarray: bool,
    pub tuple: bool,
    pub focus: Option<Rc<str>>,
    pub index: Option<Rc<str>>,
    pub ancestor: Option<usize>,
    pub stages: Option<Vec<Stage>>,
    pub predicate: Option<Vec<Stage>>,
    pub group: Option<Rc<(Vec<(Node, Node)>, usize)>>,
    pub seeking_parent: Option<Vec<usize>>,
    pub anc_label: Option<Rc<str>>,
    pub depth: u32,
}

impl Node {
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            keep_singleton_array: false,
            consarray: false,
            tuple: false,
            focus: None,
            index: None,
            ancestor: None,
            stages: None,
            predicate: None,
            group: None,
            seeking_parent: None,
            anc_label: None,
            depth: 0,
        }
        .with_depth()
    }

    fn with_depth(mut self) -> Node {
        let mut d = 0;
        let mut see = |n: &Node| d = d.max(n.depth);
        match &self.kind {
            Kind::Dot(a, b) | Kind::Pred(a, b) | Kind::Binary(_, a, b) | Kind::Apply(a, b) => {
                see(a);
                see(b)
            }
            Kind::GroupBy(a, _) | Kind::OrderBy(a, _) | Kind::Focus(a, _) | Kind::IndexBind(a, _) => see(a),
            Kind::Neg(a) | Kind::Bind(_, a) => see(a),
            Kind::Path(v) | Kind::Array(v) | Kind::Block(v) => v.iter().for_each(&mut see),
            Kind::Object(p) => p.iter().for_each(|(k, v)| {
                see(k);
                see(v)
            }),
            Kind::Function { proc_, args, .. } => {
                see(proc_);
                args.iter().for_each(&mut see)
            }
            Kind::Condition(a, b, c) => {
                see(a);
                see(b);
                if let Some(c) = c {
                    see(c)
                }
            }
            Kind::Lambda(l) => see(&l.body),
            Kind::Transform(t) => {
                see(&t.0);
                see(&t.1)
            }
            _ => {}
        }
        self.depth = d + 1;
        self
    }
    fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Name(_) => "name",
            Kind::Var(_) => "variable",
            Kind::Str(_) => "string",
            Kind::Num(_) => "number",
            Kind::Bool(_) | Kind::Null => "value",
            Kind::Regex(_) => "regex",
            Kind::Wildcard => "wildcard",
            Kind::Descendant => "descendant",
            Kind::Parent(_) | Kind::ParentL(_) => "parent",
            Kind::Path(_) => "path",
            Kind::Block(_) => "block",
            Kind::Function { partial: true, .. } => "partial",
            Kind::Function { .. } => "function",
            Kind::Lambda(_) => "lambda",
            Kind::Condition(..) => "condition",
            Kind::Transform(..) => "transform",
            Kind::Sort(_) => "sort",
            Kind::Apply(..) => "apply",
            Kind::Bind(..) => "bind",
            Kind::Array(_) | Kind::Object(_) | Kind::Neg(_) => "unary",
            _ => "binary",
        }
    }
}

// ---------------------------------------------------------------- tokenizer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Op(&'static str),
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(String, String),
    End,
}

const OPERATORS: &[(&str, u32)] = &[
    (".", 75),
    ("[", 80),
    ("]", 0),
    ("{", 70),
    ("}", 0),
    ("(", 80),
    (")", 0),
    (",", 0),
    ("@", 80),
    ("#", 80),
    (";", 80),
    (":", 80),
    ("?", 20),
    ("+", 50),
    ("-", 50),
    ("*", 60),
    ("/", 60),
    ("%", 60),
    ("|", 20),
    ("=", 40),
    ("<", 40),
    (">", 40),
    ("^", 40),
    ("**", 60),
    ("..", 20),
    (":=", 10),
    ("!=", 40),
    ("<=", 40),
    (">=", 40),
    ("~>", 40),
    ("and", 30),
    ("or", 25),
    ("in", 40),
    ("&", 50),
    ("!", 0),
    ("~", 0),
];

fn op_static(s: &str) -> Option<&'static str> {
    OPERATORS.iter().find(|(o, _)| *o == s).map(|(o, _)| *o)
}

fn lbp(s: &str) -> u32 {
    if matches!(s, ":" | ";" | "," | ")" | "]" | "}" | ".." | "!" | "~" | "|" | "**") {
        return 0;
    }
    OPERATORS.iter().find(|(o, _)| *o == s).map(|(_, b)| *b).unwrap_or(0)
}

fn is_op_char(c: char) -> bool {
    ".[]{}(),@#;:?+-*/%|=<>^&!~".contains(c)
}

fn err(code: &str, pos: usize, token: Option<String>, value: Option<String>) -> Error {
    crate::errors::make(code, Some(pos), token.as_deref(), value.as_deref())
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }
    fn next(&mut self, infix: bool) -> Result<(Tok, usize), Error> {
        let len = self.chars.len();
        loop {
            // whitespace
            while self.pos < len && " \t\n\r\u{0b}".contains(self.chars[self.pos]) {
                self.pos += 1;
            }
            if self.at(self.pos) == Some('/') && self.at(self.pos + 1) == Some('*') {
                let start = self.pos;
                self.pos += 2;
                loop {
                    if self.pos + 1 >= len {
                        return Err(err("S0106", start, None, None));
                    }
                    if self.chars[self.pos] == '*' && self.chars[self.pos + 1] == '/' {
                        self.pos += 2;
                        break;
                    }
                    self.pos += 1;
                }
                continue;
            }
            break;
        }
        if self.pos >= len {
            return Ok((Tok::End, len));
        }
        let c = self.chars[self.pos];
        let start = self.pos;
        if !infix && c == '/' {
            self.pos += 1;
            return self.scan_regex();
        }
        let c1 = self.at(self.pos + 1);
        let two: Option<&'static str> = match (c, c1) {
            ('.', Some('.')) => Some(".."),
            (':', Some('=')) => Some(":="),
            ('!', Some('=')) => Some("!="),
            ('>', Some('=')) => Some(">="),
            ('<', Some('=')) => Some("<="),
            ('*', Some('*')) => Some("**"),
            ('~', Some('>')) => Some("~>"),
            _ => None,
        };
        if let Some(t) = two {
            self.pos += 2;
            return Ok((Tok::Op(t), start));
        }
        if is_op_char(c) {
            self.pos += 1;
            return Ok((Tok::Op(op_static(&c.to_string()).unwrap()), start));
        }
        if c == '"' || c == '\'' {
            let quote = c;
            self.pos += 1;
            let mut s = String::new();
            while self.pos < len {
                let ch = self.chars[self.pos];
                if ch == '\\' {
                    self.pos += 1;
                    let e = match self.at(self.pos) {
                        Some(e) => e,
                        None => break,
                    };
                    match e {
                        '"' => s.push('"'),
                        '\\' => s.push('\\'),
                        '/' => s.push('/'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => {
                            let hex: String = self.chars[self.pos + 1..(self.pos + 5).min(len)].iter().collect();
                            if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                                let code = u32::from_str_radix(&hex, 16).unwrap();
                                self.pos += 4;
                                // surrogate pairs
                                if (0xD800..0xDC00).contains(&code)
                                    && self.at(self.pos + 1) == Some('\\')
                                    && self.at(self.pos + 2) == Some('u')
                                {
                                    let hex2: String =
                                        self.chars[self.pos + 3..(self.pos + 7).min(len)].iter().collect();
                                    if let Ok(lo) = u32::from_str_radix(&hex2, 16) {
                                        if (0xDC00..0xE000).contains(&lo) {
                                            let cp = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                                            s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                            self.pos += 6;
                                            self.pos += 1;
                                            continue;
                                        }
                                    }
                                }
                                s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            } else {
                                return Err(err("S0104", self.pos, None, None));
                            }
                        }
                        other => return Err(err("S0103", self.pos, Some(other.to_string()), None)),
                    }
                } else if ch == quote {
                    self.pos += 1;
                    return Ok((Tok::Str(s), start));
                } else {
                    s.push(ch);
                }
                self.pos += 1;
            }
            return Err(err("S0101", self.pos, None, None));
        }
        if c.is_ascii_digit() {
            // number
            let mut i = self.pos;
            if self.chars[i] == '0' {
                i += 1;
            } else {
                while i < len && self.chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i + 1 < len && self.chars[i] == '.' && self.chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < len && self.chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < len && (self.chars[i] == 'e' || self.chars[i] == 'E') {
                let mut j = i + 1;
                if j < len && (self.chars[j] == '+' || self.chars[j] == '-') {
                    j += 1;
                }
                if j < len && self.chars[j].is_ascii_digit() {
                    while j < len && self.chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let text: String = self.chars[self.pos..i].iter().collect();
            let n: f64 = text.parse().unwrap_or(f64::NAN);
            if !n.is_finite() {
                return Err(err("S0102", self.pos, Some(text), None));
            }
            self.pos = i;
            return Ok((Tok::Num(n), start));
        }
        if c == '`' {
            self.pos += 1;
            let mut s = String::new();
            while self.pos < len && self.chars[self.pos] != '`' {
                s.push(self.chars[self.pos]);
                self.pos += 1;
            }
            if self.pos >= len {
                return Err(err("S0105", self.pos, None, None));
            }
            self.pos += 1;
            return Ok((Tok::Name(s), start));
        }
        let mut i = self.pos;
        while i < len && !" \t\n\r\u{0b}".contains(self.chars[i]) && !is_op_char(self.chars[i]) {
            i += 1;
        }
        if c == '$' {
            let name: String = self.chars[self.pos + 1..i].iter().collect();
            self.pos = i;
            return Ok((Tok::Var(name), start));
        }
        let name: String = self.chars[self.pos..i].iter().collect();
        self.pos = i;
        Ok((
            match name.as_str() {
                "or" => Tok::Op("or"),
                "in" => Tok::Op("in"),
                "and" => Tok::Op("and"),
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "null" => Tok::Null,
                _ => Tok::Name(name),
            },
            start,
        ))
    }

    fn scan_regex(&mut self) -> Result<(Tok, usize), Error> {
        let start = self.pos;
        let len = self.chars.len();
        let mut depth: i32 = 0;
        while self.pos < len {
            let c = self.chars[self.pos];
            if c == '/' && depth == 0 {
                let mut bs = 0;
                while self.pos > bs && self.chars[self.pos - bs - 1] == '\\' {
                    bs += 1;
                }
                if bs % 2 == 0 {
                    let pattern: String = self.chars[start..self.pos].iter().collect();
                    if pattern.is_empty() {
                        return Err(err("S0301", self.pos, None, None));
                    }
                    self.pos += 1;
                    let fstart = self.pos;
                    while self.pos < len && (self.chars[self.pos] == 'i' || self.chars[self.pos] == 'm') {
                        self.pos += 1;
                    }
                    let flags: String = self.chars[fstart..self.pos].iter().collect();
                    return Ok((Tok::Regex(pattern, flags), start - 1));
                }
            }
            let prev = if self.pos > 0 { Some(self.chars[self.pos - 1]) } else { None };
            if (c == '(' || c == '[' || c == '{') && prev != Some('\\') {
                depth += 1;
            }
            if (c == ')' || c == ']' || c == '}') && prev != Some('\\') {
                depth -= 1;
            }
            self.pos += 1;
        }
        Err(err("S0302", self.pos, None, None))
    }
}

// ---------------------------------------------------------------- parser

struct Parser {
    depth: usize,
    lexer: Lexer,
    tok: Tok,
    pos: usize,
    src_len: usize,
}

fn tok_id(t: &Tok) -> &str {
    match t {
        Tok::Op(o) => o,
        Tok::End => "(end)",
        Tok::Name(_) | Tok::Var(_) => "(name)",
        Tok::Regex(..) => "(regex)",
        _ => "(literal)",
    }
}

fn tok_value(t: &Tok) -> String {
    match t {
        Tok::Op(o) => o.to_string(),
        Tok::Name(n) | Tok::Var(n) | Tok::Str(n) => n.clone(),
        Tok::Num(n) => crate::value::fmt_number(*n),
        Tok::Bool(b) => b.to_string(),
        Tok::Null => "null".into(),
        Tok::Regex(p, _) => p.clone(),
        Tok::End => "(end)".into(),
    }
}

pub(crate) fn build_regex(pattern: &str, flags: &str) -> Result<crate::regex_conv::JsRegex, String> {
    crate::regex_conv::JsRegex::new(pattern, flags)
}

impl Parser {
    fn advance(&mut self, id: Option<&str>, infix: bool) -> Result<(), Error> {
        if let Some(id) = id {
            if tok_id(&self.tok) != id {
                let code = if self.tok == Tok::End { "S0203" } else { "S0202" };
                return Err(err(code, self.pos, Some(tok_value(&self.tok)), Some(id.to_string())));
            }
        }
        let (t, p) = self.lexer.next(infix)?;
        if let Tok::Op(o) = &t {
            if *o == "!" || *o == "~" {
                // symbols that are not in the symbol table
                return Err(err("S0204", p, Some(o.to_string()), None));
            }
        }
        self.tok = t;
        self.pos = if matches!(self.tok, Tok::End) { self.src_len } else { p };
        Ok(())
    }

    fn cur_lbp(&self) -> u32 {
        match &self.tok {
            Tok::Op(o) => lbp(o),
            _ => 0,
        }
    }

    fn expression(&mut self, rbp: u32) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(err("U1001", self.pos, None, None));
        }
        let r = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.expression_inner(rbp));
        self.depth -= 1;
        r
    }

    fn expression_inner(&mut self, rbp: u32) -> Result<Node, Error> {
        let t = self.tok.clone();
        let tpos = self.pos;
        self.advance(None, true)?;
        let mut left = self.nud(t, tpos)?;
        while rbp < self.cur_lbp() {
            let t = self.tok.clone();
            let tpos = self.pos;
            self.advance(None, false)?;
            left = self.led(t, tpos, left)?.with_depth();
            if left.depth as usize > MAX_NESTING {
                return Err(err("U1001", tpos, None, None));
            }
        }
        Ok(left)
    }

    fn is(&self, id: &str) -> bool {
        tok_id(&self.tok) == id
    }

    fn nud(&mut self, t: Tok, pos: usize) -> Result<Node, Error> {
        Ok(match t {
            Tok::Name(n) => Node::new(Kind::Name(n.into()), pos),
            Tok::Var(n) => Node::new(Kind::Var(n.into()), pos),
            Tok::Str(s) => Node::new(Kind::Str(s.into()), pos),
            Tok::Num(n) => Node::new(Kind::Num(n), pos),
            Tok::Bool(b) => Node::new(Kind::Bool(b), pos),
            Tok::Null => Node::new(Kind::Null, pos),
            Tok::Regex(p, f) => {
                let re = build_regex(&p, &f).map_err(|_| err("S0303", pos, Some(p.clone()), None))?;
                Node::new(Kind::Regex(Rc::new(RegexLit { source: p, regex: re })), pos)
            }
            Tok::End => return Err(err("S0207", pos, None, None)),
            Tok::Op(op) => match op {
                "and" | "or" | "in" => Node::new(Kind::Operator(op.into()), pos),
                "?" => Node::new(Kind::Placeholder, pos),
                "-" => {
                    let e = self.expression(70)?;
                    Node::new(Kind::Neg(Box::new(e)), pos)
                }
                "*" => Node::new(Kind::Wildcard, pos),
                "**" => Node::new(Kind::Descendant, pos),
                "%" => Node::new(Kind::Parent(0), pos),
                "(" => {
                    let mut exprs = vec![];
                    while !self.is(")") {
                        exprs.push(self.expression(0)?);
                        if !self.is(";") {
                            break;
                        }
                        self.advance(Some(";"), false)?;
                    }
                    self.advance(Some(")"), true)?;
                    Node::new(Kind::Block(exprs), pos)
                }
                "[" => {
                    let mut items = vec![];
                    if !self.is("]") {
                        loop {
                            let mut item = self.expression(0)?;
                            if self.is("..") {
                                let rpos = self.pos;
                                self.advance(Some(".."), false)?;
                                let rhs = self.expression(0)?;
                                item = Node::new(Kind::Binary("..".into(), Box::new(item), Box::new(rhs)), rpos);
                            }
                            items.push(item);
                            if !self.is(",") {
                                break;
                            }
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some("]"), true)?;
                    Node::new(Kind::Array(items), pos)
                }
                "{" => {
                    let pairs = self.object_parser()?;
                    Node::new(Kind::Object(pairs), pos)
                }
                "|" => {
                    let pattern = self.expression(0)?;
                    self.advance(Some("|"), false)?;
                    let update = self.expression(0)?;
                    let mut del = None;
                    if self.is(",") {
                        self.advance(Some(","), false)?;
                        del = Some(Box::new(self.expression(0)?));
                    }
                    self.advance(Some("|"), true)?;
                    Node::new(Kind::Transform(Rc::new((pattern, update, del.map(|d| *d)))), pos)
                }
                _ => return Err(err("S0211", pos, Some(op.to_string()), None)),
            },
        })
    }

    fn object_parser(&mut self) -> Result<Vec<(Node, Node)>, Error> {
        let mut pairs = vec![];
        if !self.is("}") {
            loop {
                let k = self.expression(0)?;
                self.advance(Some(":"), false)?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is(",") {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some("}"), true)?;
        Ok(pairs)
    }

    fn led(&mut self, t: Tok, pos: usize, left: Node) -> Result<Node, Error> {
        let op = match &t {
            Tok::Op(o) => *o,
            _ => return Err(err("S0201", pos, Some(tok_value(&t)), None)),
        };
        let bp = lbp(op);
        Ok(match op {
            "." | "+" | "-" | "*" | "/" | "%" | "=" | "<" | ">" | "!=" | "<=" | ">=" | "&" | "and" | "or"
            | "in" | "~>" => {
                let rhs = self.expression(bp)?;
                if op == "." {
                    Node::new(Kind::Dot(Box::new(left), Box::new(rhs)), pos)
                } else if op == "~>" {
                    Node::new(Kind::Apply(Box::new(left), Box::new(rhs)), pos)
                } else {
                    Node::new(Kind::Binary(op.into(), Box::new(left), Box::new(rhs)), pos)
                }
            }
            ":=" => {
                let name = match &left.kind {
                    Kind::Var(v) => v.clone(),
                    _ => return Err(err("S0212", left.pos, Some(tok_value_node(&left)), None)),
                };
                let rhs = self.expression(bp - 1)?;
                Node::new(Kind::Bind(name, Box::new(rhs)), pos)
            }
            "(" => {
                let mut args = vec![];
                let mut partial = false;
                if !self.is(")") {
                    loop {
                        if self.is("?") {
                            partial = true;
                            let p = self.pos;
                            args.push(Node::new(Kind::Placeholder, p));
                            self.advance(Some("?"), false)?;
                        } else {
                            args.push(self.expression(0)?);
                        }
                        if !self.is(",") {
                            break;
                        }
                        self.advance(Some(","), false)?;
                    }
                }
                self.advance(Some(")"), true)?;
                let is_lambda = matches!(&left.kind, Kind::Name(n) if &**n == "function" || &**n == "λ");
                if is_lambda {
                    let mut params = vec![];
                    for a in &args {
                        match &a.kind {
                            Kind::Var(v) => params.push(v.clone()),
                            _ => return Err(err("S0208", a.pos, Some(tok_value_node(a)), None)),
                        }
                    }
                    let mut signature = None;
                    if self.is("<") {
                        // signature: read raw characters until matching '>'
                        let start = self.lexer.pos;
                        let mut depth = 1;
                        let mut sig = String::from("<");
                        let chars = &self.lexer.chars;
                        let mut i = start;
                        while depth > 0 && i < chars.len() {
                            let c = chars[i];
                            if c == '{' {
                                break;
                            }
                            if c == '>' {
                                depth -= 1;
                            } else if c == '<' {
                                depth += 1;
                            }
                            sig.push(c);
                            i += 1;
                        }
                        self.lexer.pos = i;
                        sig.retain(|c| !c.is_whitespace());
                        let (tk, p) = self.lexer.next(false)?;
                        self.tok = tk;
                        self.pos = p;
                        signature = Some(crate::signature::Signature::parse(&sig).map_err(|mut e| {
                            e.position = Some(start);
                            e
                        })?);
                    }
                    self.advance(Some("{"), false)?;
                    let body = self.expression(0)?;
                    self.advance(Some("}"), true)?;
                    Node::new(
                        Kind::Lambda(Rc::new(LambdaDef { params, signature, body, thunk: false })),
                        pos,
                    )
                } else {
                    Node::new(Kind::Function { proc_: Box::new(left), args, partial }, pos)
                }
            }
            "[" => {
                if self.is("]") {
                    let mut left = left;
                    // mark keepArray on the innermost step
                    fn mark(n: &mut Node) {
                        match &mut n.kind {
                            Kind::Pred(l, _) => mark(l),
                            _ => n.keep_array = true,
                        }
                    }
                    left.keep_array = true;
                    mark(&mut left);
                    self.advance(Some("]"), true)?;
                    left
                } else {
                    let rhs = self.expression(lbp("]"))?;
                    self.advance(Some("]"), true)?;
                    Node::new(Kind::Pred(Box::new(left), Box::new(rhs)), pos)
                }
            }
            "^" => {
                self.advance(Some("("), false)?;
                let mut terms = vec![];
                loop {
                    let mut descending = false;
                    if self.is("<") {
                        self.advance(Some("<"), false)?;
                    } else if self.is(">") {
                        descending = true;
                        self.advance(Some(">"), false)?;
                    }
                    let e = self.expression(0)?;
                    terms.push(SortTerm { descending, expr: e });
                    if !self.is(",") {
                        break;
                    }
                    self.advance(Some(","), false)?;
                }
                self.advance(Some(")"), true)?;
                Node::new(Kind::OrderBy(Box::new(left), terms), pos)
            }
            "{" => {
                let pairs = self.object_parser()?;
                Node::new(Kind::GroupBy(Box::new(left), pairs), pos)
            }
            "@" | "#" => {
                let rhs = self.expression(bp)?;
                let name = match &rhs.kind {
                    Kind::Var(v) => v.clone(),
                    _ => return Err(err("S0214", rhs.pos, Some(op.to_string()), None)),
                };
                if op == "@" {
                    Node::new(Kind::Focus(Box::new(left), name), pos)
                } else {
                    Node::new(Kind::IndexBind(Box::new(left), name), pos)
                }
            }
            "?" => {
                let then = self.expression(0)?;
                let mut els = None;
                if self.is(":") {
                    self.advance(Some(":"), false)?;
                    els = Some(Box::new(self.expression(0)?));
                }
                Node::new(Kind::Condition(Box::new(left), Box::new(then), els), pos)
            }
            _ => return Err(err("S0201", pos, Some(op.to_string()), None)),
        })
    }
}

fn tok_value_node(n: &Node) -> String {
    match &n.kind {
        Kind::Name(s) | Kind::Var(s) | Kind::Str(s) => s.to_string(),
        Kind::Num(x) => crate::value::fmt_number(*x),
        _ => n.type_name().to_string(),
    }
}

pub(crate) struct Parsed {
    pub root: Node,
}

fn finalize_stages(st: &mut Option<Vec<Stage>>, labels: &[Rc<str>]) {
    if let Some(st) = st {
        for s in st {
            if let Stage::Filter(n, _) = s {
                finalize(n, labels);
            }
        }
    }
}

fn finalize(n: &mut Node, labels: &[Rc<str>]) {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || finalize_inner(n, labels))
}

fn finalize_inner(n: &mut Node, labels: &[Rc<str>]) {
    if let Some(a) = n.ancestor {
        n.anc_label = Some(labels[a].clone());
    }
    finalize_stages(&mut n.stages, labels);
    finalize_stages(&mut n.predicate, labels);
    if let Some(g) = &mut n.group {
        if let Some(g) = Rc::get_mut(g) {
            for (k, v) in g.0.iter_mut() {
                finalize(k, labels);
                finalize(v, labels);
            }
        }
    }
    match &mut n.kind {
        Kind::Parent(id) => {
            n.kind = Kind::ParentL(labels[*id].clone());
        }
        Kind::Path(v) | Kind::Array(v) | Kind::Block(v) => v.iter_mut().for_each(|x| finalize(x, labels)),
        Kind::Binary(_, a, b) | Kind::Apply(a, b) => {
            finalize(a, labels);
            finalize(b, labels);
        }
        Kind::Neg(a) | Kind::Bind(_, a) => finalize(a, labels),
        Kind::Object(p) => p.iter_mut().for_each(|(k, v)| {
            finalize(k, labels);
            finalize(v, labels)
        }),
        Kind::Function { proc_, args, .. } => {
            finalize(proc_, labels);
            args.iter_mut().for_each(|x| finalize(x, labels));
        }
        Kind::Lambda(d) => {
            if let Some(d) = Rc::get_mut(d) {
                finalize(&mut d.body, labels);
            }
        }
        Kind::Condition(a, b, c) => {
            finalize(a, labels);
            finalize(b, labels);
            if let Some(c) = c {
                finalize(c, labels);
            }
        }
        Kind::Transform(t) => {
            if let Some(t) = Rc::get_mut(t) {
                finalize(&mut t.0, labels);
                finalize(&mut t.1, labels);
                if let Some(c) = &mut t.2 {
                    finalize(c, labels);
                }
            }
        }
        Kind::Sort(terms) => terms.iter_mut().for_each(|t| finalize(&mut t.expr, labels)),
        _ => {}
    }
}

pub(crate) fn parse(src: &str) -> Result<Parsed, Error> {
    let chars: Vec<char> = src.chars().collect();
    let len = chars.len();
    let mut p = Parser { depth: 0, lexer: Lexer { chars, pos: 0 }, tok: Tok::End, pos: 0, src_len: len };
    p.advance(None, false)?;
    let raw = p.expression(0)?;
    if p.tok != Tok::End {
        return Err(err("S0201", p.pos, Some(tok_value(&p.tok)), None));
    }
    let mut proc_ = Processor { slots: vec![], label_counter: 0 };
    let root = proc_.process(raw)?;
    if matches!(root.kind, Kind::Parent(_)) || root.seeking_parent.as_ref().map(|s| !s.is_empty()).unwrap_or(false) {
        return Err(err("S0217", root.pos, Some(root.type_name().into()), None));
    }
    let labels: Vec<Rc<str>> = proc_.slots.into_iter().map(|s| Rc::from(s.label.as_str())).collect();
    let mut root = root;
    finalize(&mut root, &labels);
    Ok(Parsed { root })
}

// ---------------------------------------------------------------- post-processing

struct Slot {
    label: String,
    level: i32,
}

struct Processor {
    slots: Vec<Slot>,
    label_counter: usize,
}

fn push_ancestry(result: &mut Node, value: &Node) {
    let mut slots: Vec<usize> = value.seeking_parent.clone().unwrap_or_default();
    if let Kind::Parent(s) = value.kind {
        slots.push(s);
    }
    if value.seeking_parent.is_some() || matches!(value.kind, Kind::Parent(_)) {
        match &mut result.seeking_parent {
            None => result.seeking_parent = Some(slots),
            Some(v) => v.extend(slots),
        }
    }
}

impl Processor {
    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<usize, Error> {
        let mut slot = slot;
        let ty = node.type_name();
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(anc) = node.ancestor {
                        let l = self.slots[anc].label.clone();
                        self.slots[slot].label = l;
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => {
                self.slots[slot].level += 1;
            }
            Kind::Block(exprs) => {
                if !exprs.is_empty() {
                    let last = exprs.len() - 1;
                    slot = self.seek_parent(&mut exprs[last], slot)?;
                    node.tuple = true;
                }
            }
            Kind::Path(steps) => {
                let mut index = steps.len() as i64 - 1;
                slot = self.seek_parent(&mut steps[index as usize], slot)?;
                index -= 1;
                while self.slots[slot].level > 0 && index >= 0 {
                    slot = self.seek_parent(&mut steps[index as usize], slot)?;
                    index -= 1;
                }
                node.tuple = true;
            }
            _ => return Err(err("S0217", node.pos, Some(ty.to_string()), None)),
        }
        Ok(slot)
    }

    fn resolve_ancestry(&mut self, path: &mut Node) -> Result<(), Error> {
        let Kind::Path(steps) = &mut path.kind else { return Ok(()) };
        let last = steps.len() - 1;
        let mut slots = steps[last].seeking_parent.clone().unwrap_or_default();
        if let Kind::Parent(s) = steps[last].kind {
            slots.push(s);
        }
        let mut extra = vec![];
        for s in slots {
            let mut slot = s;
            let mut index: i64 = steps.len() as i64 - 2;
            while self.slots[slot].level > 0 {
                if index < 0 {
                    extra.push(slot);
                    break;
                }
                let mut si = index as usize;
                index -= 1;
                while index >= 0 && steps[si].focus.is_some() && steps[index as usize].focus.is_some() {
                    si = index as usize;
                    index -= 1;
                }
                slot = self.seek_parent(&mut steps[si], slot)?;
            }
        }
        if !extra.is_empty() {
            match &mut path.seeking_parent {
                None => path.seeking_parent = Some(extra),
                Some(v) => v.extend(extra),
            }
        }
        Ok(())
    }

    fn process(&mut self, expr: Node) -> Result<Node, Error> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.process_inner(expr))
    }

    fn process_inner(&mut self, expr: Node) -> Result<Node, Error> {
        let keep_array = expr.keep_array;
        let pos = expr.pos;
        let mut result = match expr.kind {
            Kind::Dot(lhs, rhs) => {
                let lstep = self.process(*lhs)?;
                let mut result = if matches!(lstep.kind, Kind::Path(_)) {
                    lstep
                } else {
                    let mut r = Node::new(Kind::Path(vec![]), pos);
                    if let Kind::Parent(s) = lstep.kind {
                        r.seeking_parent = Some(vec![s]);
                    }
                    r.kind = Kind::Path(vec![lstep]);
                    r
                };
                let mut rest = self.process(*rhs)?;
                let Kind::Path(steps) = &mut result.kind else { unreachable!() };
                if let Kind::Path(rsteps) = rest.kind {
                    steps.extend(rsteps);
                } else {
                    if rest.predicate.is_some() {
                        rest.stages = rest.predicate.take();
                    }
                    steps.push(rest);
                }
                for s in steps.iter_mut() {
                    match &s.kind {
                        Kind::Num(_) | Kind::Bool(_) | Kind::Null => {
                            return Err(err("S0213", s.pos, Some(tok_value_node(s)), None))
                        }
                        Kind::Str(v) => {
                            s.kind = Kind::Name(v.clone());
                        }
                        _ => {}
                    }
                }
                if steps.iter().any(|s| s.keep_array) {
                    result.keep_singleton_array = true;
                }
                if let Kind::Array(_) = steps[0].kind {
                    steps[0].consarray = true;
                }
                let l = steps.len() - 1;
                if let Kind::Array(_) = steps[l].kind {
                    steps[l].consarray = true;
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            Kind::Pred(lhs, rhs) => {
                let mut result = self.process(*lhs)?;
                let is_path = matches!(result.kind, Kind::Path(_));
                let predicate = self.process(*rhs)?;
                {
                    let step: &mut Node = if let Kind::Path(steps) = &mut result.kind {
                        steps.last_mut().unwrap()
                    } else {
                        &mut result
                    };
                    if step.group.is_some() {
                        return Err(err("S0209", pos, None, None));
                    }
                    if let Some(sp) = predicate.seeking_parent.clone() {
                        for slot in sp {
                            if self.slots[slot].level == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.slots[slot].level -= 1;
                            }
                        }
                        push_ancestry(step, &predicate);
                    }
                    let list = if is_path { &mut step.stages } else { &mut step.predicate };
                    list.get_or_insert_with(Vec::new).push(Stage::Filter(predicate, pos));
                }
                result
            }
            Kind::GroupBy(lhs, pairs) => {
                let mut result = self.process(*lhs)?;
                if result.group.is_some() {
                    return Err(err("S0210", pos, None, None));
                }
                let mut ps = vec![];
                for (k, v) in pairs {
                    ps.push((self.process(k)?, self.process(v)?));
                }
                result.group = Some(Rc::new((ps, pos)));
                result
            }
            Kind::OrderBy(lhs, terms) => {
                let mut result = self.process(*lhs)?;
                if !matches!(result.kind, Kind::Path(_)) {
                    let mut r = Node::new(Kind::Path(vec![]), result.pos);
                    r.kind = Kind::Path(vec![result]);
                    result = r;
                }
                let mut sort_step = Node::new(Kind::Sort(vec![]), pos);
                let mut ts = vec![];
                for t in terms {
                    let e = self.process(t.expr)?;
                    push_ancestry(&mut sort_step, &e);
                    ts.push(SortTerm { descending: t.descending, expr: e });
                }
                sort_step.kind = Kind::Sort(ts);
                if let Kind::Path(steps) = &mut result.kind {
                    steps.push(sort_step);
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            Kind::Bind(name, rhs) => {
                let rhs = self.process(*rhs)?;
                let mut r = Node::new(Kind::Var("".into()), pos);
                push_ancestry(&mut r, &rhs);
                r.kind = Kind::Bind(name, Box::new(rhs));
                r
            }
            Kind::Focus(lhs, name) => {
                let mut result = self.process(*lhs)?;
                {
                    let step: &mut Node = if let Kind::Path(steps) = &mut result.kind {
                        steps.last_mut().unwrap()
                    } else {
                        &mut result
                    };
                    if step.stages.is_some() || step.predicate.is_some() {
                        return Err(err("S0215", pos, None, None));
                    }
                    if matches!(step.kind, Kind::Sort(_)) {
                        return Err(err("S0216", pos, None, None));
                    }
                    if keep_array {
                        step.keep_array = true;
                    }
                    step.focus = Some(name);
                    step.tuple = true;
                }
                result
            }
            Kind::IndexBind(lhs, name) => {
                let mut result = self.process(*lhs)?;
                if !matches!(result.kind, Kind::Path(_)) {
                    if result.predicate.is_some() {
                        result.stages = result.predicate.take();
                    }
                    let mut r = Node::new(Kind::Path(vec![]), result.pos);
                    r.kind = Kind::Path(vec![result]);
                    result = r;
                }
                if let Kind::Path(steps) = &mut result.kind {
                    let step = steps.last_mut().unwrap();
                    match &mut step.stages {
                        None => step.index = Some(name),
                        Some(st) => st.push(Stage::Index(name)),
                    }
                    step.tuple = true;
                }
                result
            }
            Kind::Apply(lhs, rhs) => {
                let l = self.process(*lhs)?;
                let r = self.process(*rhs)?;
                let ka = l.keep_array || r.keep_array;
                let mut n = Node::new(Kind::Apply(Box::new(l), Box::new(r)), pos);
                n.keep_array = ka;
                n
            }
            Kind::Binary(op, lhs, rhs) => {
                let l = self.process(*lhs)?;
                let r = self.process(*rhs)?;
                let mut n = Node::new(Kind::Null, pos);
                push_ancestry(&mut n, &l);
                push_ancestry(&mut n, &r);
                n.kind = Kind::Binary(op, Box::new(l), Box::new(r));
                n
            }
            Kind::Array(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut v = vec![];
                for i in items {
                    let x = self.process(i)?;
                    push_ancestry(&mut n, &x);
                    v.push(x);
                }
                n.kind = Kind::Array(v);
                n
            }
            Kind::Object(pairs) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut v = vec![];
                for (k, val) in pairs {
                    let k = self.process(k)?;
                    push_ancestry(&mut n, &k);
                    let val = self.process(val)?;
                    push_ancestry(&mut n, &val);
                    v.push((k, val));
                }
                n.kind = Kind::Object(v);
                n
            }
            Kind::Neg(e) => {
                let e = self.process(*e)?;
                if let Kind::Num(x) = e.kind {
                    Node::new(Kind::Num(-x), e.pos)
                } else {
                    let mut n = Node::new(Kind::Null, pos);
                    push_ancestry(&mut n, &e);
                    n.kind = Kind::Neg(Box::new(e));
                    n
                }
            }
            Kind::Function { proc_, args, partial } => {
                let mut n = Node::new(Kind::Null, pos);
                let mut v = vec![];
                for a in args {
                    let x = self.process(a)?;
                    push_ancestry(&mut n, &x);
                    v.push(x);
                }
                let p = self.process(*proc_)?;
                n.kind = Kind::Function { proc_: Box::new(p), args: v, partial };
                n
            }
            Kind::Lambda(def) => {
                let def = Rc::try_unwrap(def).unwrap_or_else(|rc| LambdaDef {
                    params: rc.params.clone(),
                    signature: rc.signature.clone(),
                    body: rc.body.clone(),
                    thunk: rc.thunk,
                });
                let body = self.process(def.body)?;
                let body = tail_call_optimize(body);
                Node::new(
                    Kind::Lambda(Rc::new(LambdaDef { params: def.params, signature: def.signature, body, thunk: false })),
                    pos,
                )
            }
            Kind::Condition(c, t, e) => {
                let mut n = Node::new(Kind::Null, pos);
                let c = self.process(*c)?;
                push_ancestry(&mut n, &c);
                let t = self.process(*t)?;
                push_ancestry(&mut n, &t);
                let e = match e {
                    Some(e) => {
                        let e = self.process(*e)?;
                        push_ancestry(&mut n, &e);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                n.kind = Kind::Condition(Box::new(c), Box::new(t), e);
                n
            }
            Kind::Transform(t) => {
                let (p, u, d) = Rc::try_unwrap(t).unwrap_or_else(|t| (*t).clone());
                let p = self.process(p)?;
                let u = self.process(u)?;
                let d = match d {
                    Some(d) => Some(self.process(d)?),
                    None => None,
                };
                Node::new(Kind::Transform(Rc::new((p, u, d))), pos)
            }
            Kind::Block(exprs) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut v = vec![];
                for e in exprs {
                    let x = self.process(e)?;
                    push_ancestry(&mut n, &x);
                    let cons = x.consarray || matches!(&x.kind, Kind::Path(s) if s[0].consarray);
                    if cons {
                        n.consarray = true;
                    }
                    v.push(x);
                }
                n.kind = Kind::Block(v);
                n
            }
            Kind::Name(name) => {
                let mut step = Node::new(Kind::Name(name), pos);
                step.keep_array = keep_array;
                let mut r = Node::new(Kind::Path(vec![step]), pos);
                if keep_array {
                    r.keep_singleton_array = true;
                }
                r
            }
            Kind::Parent(_) => {
                let idx = self.slots.len();
                self.slots.push(Slot { label: format!("!{}", self.label_counter), level: 1 });
                self.label_counter += 1;
                Node::new(Kind::Parent(idx), pos)
            }
            Kind::Operator(op) => {
                let mut n = Node::new(Kind::Name(op), pos);
                n.keep_array = keep_array;
                return self.process(n);
            }
            k => Node::new(k, pos),
        };
        if keep_array {
            result.keep_array = true;
        }
        Ok(result)
    }
}

/// Maximum nesting of sub-expressions accepted by the parser.
const MAX_NESTING: usize = 2000;

fn tail_call_optimize(expr: Node) -> Node {
    let mut shell = expr.clone_shallow();
    match expr.kind {
        Kind::Function { partial: false, .. } if expr.predicate.is_none() => {
            let pos = expr.pos;
            Node::new(
                Kind::Lambda(Rc::new(LambdaDef { params: vec![], signature: None, body: expr, thunk: true })),
                pos,
            )
        }
        Kind::Condition(c, t, e) => {
            shell.kind = Kind::Condition(c, Box::new(tail_call_optimize(*t)), e.map(|e| Box::new(tail_call_optimize(*e))));
            shell
        }
        Kind::Block(mut exprs) => {
            if let Some(last) = exprs.pop() {
                exprs.push(tail_call_optimize(last));
            }
            shell.kind = Kind::Block(exprs);
            shell
        }
        k => {
            shell.kind = k;
            shell
        }
    }
}

impl Node {
    fn clone_shallow(&self) -> Node {
        Node {
            kind: Kind::Null,
            pos: self.pos,
            keep_array: self.keep_array,
            keep_singleton_array: self.keep_singleton_array,
            consarray: self.consarray,
            tuple: self.tuple,
            focus: self.focus.clone(),
            index: self.index.clone(),
            ancestor: self.ancestor,
            stages: self.stages.clone(),
            predicate: self.predicate.clone(),
            group: self.group.clone(),
            seeking_parent: self.seeking_parent.clone(),
            anc_label: self.anc_label.clone(),
            depth: self.depth,
        }
    }
}
