//! Expression tokenizer, parser, static checks and evaluator for DynamoDB's
//! condition, filter, key-condition, update and projection expressions.

use crate::decimal::Decimal;
use crate::value::{AttrValue, Item};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

// ---------------------------------------------------------------- reserved words

fn reserved_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| include_str!("reserved_words.txt").split_whitespace().collect())
}

pub fn is_reserved(word: &str) -> bool {
    reserved_words().contains(word.to_ascii_uppercase().as_str())
}

// ---------------------------------------------------------------- tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Name(String),
    Val(String),
    Num(String),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Dot,
    Cmp(CmpOp),
    Plus,
    Minus,
    Bad,
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            b'(' => { i += 1; Tok::LParen }
            b')' => { i += 1; Tok::RParen }
            b'[' => { i += 1; Tok::LBrack }
            b']' => { i += 1; Tok::RBrack }
            b',' => { i += 1; Tok::Comma }
            b'.' => { i += 1; Tok::Dot }
            b'+' => { i += 1; Tok::Plus }
            b'-' => { i += 1; Tok::Minus }
            b'=' => { i += 1; Tok::Cmp(CmpOp::Eq) }
            b'<' => {
                i += 1;
                if i < b.len() && b[i] == b'>' { i += 1; Tok::Cmp(CmpOp::Ne) }
                else if i < b.len() && b[i] == b'=' { i += 1; Tok::Cmp(CmpOp::Le) }
                else { Tok::Cmp(CmpOp::Lt) }
            }
            b'>' => {
                i += 1;
                if i < b.len() && b[i] == b'=' { i += 1; Tok::Cmp(CmpOp::Ge) } else { Tok::Cmp(CmpOp::Gt) }
            }
            b'#' | b':' => {
                i += 1;
                while i < b.len() && is_word(b[i]) { i += 1; }
                if i == start + 1 {
                    Tok::Bad
                } else if c == b'#' {
                    Tok::Name(src[start..i].to_string())
                } else {
                    Tok::Val(src[start..i].to_string())
                }
            }
            b'0'..=b'9' => {
                while i < b.len() && b[i].is_ascii_digit() { i += 1; }
                if i < b.len() && is_word(b[i]) {
                    while i < b.len() && is_word(b[i]) { i += 1; }
                    Tok::Bad
                } else {
                    Tok::Num(src[start..i].to_string())
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && is_word(b[i]) { i += 1; }
                Tok::Ident(src[start..i].to_string())
            }
            _ => {
                // one (possibly multi-byte) character
                i += 1;
                while i < b.len() && !src.is_char_boundary(i) { i += 1; }
                Tok::Bad
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token { tok: Tok::Eof, start: b.len(), end: b.len() });
    out
}

// ---------------------------------------------------------------- AST

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

pub type Path = Vec<PathElem>;

pub fn path_display(p: &Path) -> String {
    let parts: Vec<String> = p
        .iter()
        .map(|e| match e {
            PathElem::Attr(a) => a.clone(),
            PathElem::Index(i) => format!("[{i}]"),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

#[derive(Clone, Debug)]
pub enum Operand {
    Path(Path),
    Value(String, AttrValue),
    Func(String, Vec<Operand>),
    Arith(Box<Operand>, char, Box<Operand>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Cond {
    Cmp(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Func(String, Vec<Operand>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Paren(Box<Cond>),
}

#[derive(Clone, Debug, Default)]
pub struct Update {
    pub sets: Vec<(Path, Operand)>,
    pub removes: Vec<Path>,
    pub adds: Vec<(Path, Operand)>,
    pub deletes: Vec<(Path, Operand)>,
    /// Every target path in the order written.
    pub order: Vec<Path>,
}

// ---------------------------------------------------------------- parser

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    /// A repeated update section, reported after the higher-priority errors.
    dup_section: Option<String>,
    /// Parenthesis / function nesting, bounded so no input can exhaust the stack.
    depth: usize,
}

const MAX_NESTING: usize = 100;
/// DynamoDB's limit on any expression string.
pub const MAX_EXPRESSION_BYTES: usize = 4096;

type PResult<T> = Result<T, String>;

const COND_FUNCS: &[&str] = &["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size"];
const UPDATE_FUNCS: &[&str] = &["if_not_exists", "list_append"];

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Self {
        Parser { src, toks: tokenize(src), pos: 0, dup_section: None, depth: 0 }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        let i = (self.pos + k).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn syntax_error(&self) -> String {
        let cur = &self.toks[self.pos];
        let token = if cur.tok == Tok::Eof { "<EOF>".to_string() } else { self.src[cur.start..cur.end].to_string() };
        let near = if self.pos == 0 {
            self.src[cur.start..cur.end].to_string()
        } else {
            let prev = &self.toks[self.pos - 1];
            self.src[prev.start..cur.end.max(prev.end)].trim_end().to_string()
        };
        format!("Syntax error; token: \"{token}\", near: \"{near}\"")
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.syntax_error());
        }
        Ok(())
    }

    /// At '(': whether the parenthesised group is an operand, i.e. the token after
    /// its matching ')' is one that `after` accepts (or BETWEEN / IN for conditions).
    fn paren_starts_operand(&self, after: impl Fn(&Tok) -> bool) -> bool {
        let mut depth = 0usize;
        for i in self.pos..self.toks.len() {
            match self.toks[i].tok {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let next = &self.toks[(i + 1).min(self.toks.len() - 1)].tok;
                        let kw = matches!(next, Tok::Ident(s) if s.eq_ignore_ascii_case("BETWEEN") || s.eq_ignore_ascii_case("IN"));
                        return after(next) || (kw && after(&Tok::Cmp(CmpOp::Eq)));
                    }
                }
                Tok::Eof => return false,
                _ => {}
            }
        }
        false
    }

    fn expect(&mut self, t: Tok) -> PResult<()> {
        if *self.peek() == t {
            self.next();
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn at_eof(&self) -> bool {
        *self.peek() == Tok::Eof
    }

    // path := (Ident | #name) ( '.' (Ident|#name) | '[' Num ']' )*
    fn path(&mut self, keywords: &[&str]) -> PResult<Path> {
        let mut p = Vec::new();
        match self.peek().clone() {
            Tok::Ident(s) if !keywords.iter().any(|k| s.eq_ignore_ascii_case(k)) => {
                self.next();
                p.push(PathElem::Attr(s));
            }
            Tok::Name(s) => {
                self.next();
                p.push(PathElem::Attr(s));
            }
            _ => return Err(self.syntax_error()),
        }
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.next();
                    match self.peek().clone() {
                        Tok::Ident(s) | Tok::Name(s) => {
                            self.next();
                            p.push(PathElem::Attr(s));
                        }
                        _ => return Err(self.syntax_error()),
                    }
                }
                Tok::LBrack => {
                    self.next();
                    match self.peek().clone() {
                        Tok::Num(n) => {
                            let idx: usize = match n.parse() {
                                Ok(i) => i,
                                Err(_) => return Err(self.syntax_error()),
                            };
                            self.next();
                            p.push(PathElem::Index(idx));
                        }
                        _ => return Err(self.syntax_error()),
                    }
                    self.expect(Tok::RBrack)?;
                }
                _ => break,
            }
        }
        Ok(p)
    }

    fn operand(&mut self, keywords: &[&str]) -> PResult<Operand> {
        match self.peek().clone() {
            Tok::LParen => {
                self.enter()?;
                self.next();
                let o = self.operand(keywords)?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(o)
            }
            Tok::Val(v) => {
                self.next();
                Ok(Operand::Value(v, AttrValue::Null))
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen && !keywords.iter().any(|k| name.eq_ignore_ascii_case(k)) => {
                self.enter()?;
                self.next();
                self.next();
                let mut args = Vec::new();
                if *self.peek() == Tok::RParen {
                    return Err(self.syntax_error());
                }
                loop {
                    args.push(self.operand(keywords)?);
                    match self.peek() {
                        Tok::Comma => {
                            self.next();
                        }
                        Tok::RParen => {
                            self.next();
                            break;
                        }
                        _ => return Err(self.syntax_error()),
                    }
                }
                self.depth -= 1;
                Ok(Operand::Func(name, args))
            }
            _ => Ok(Operand::Path(self.path(keywords)?)),
        }
    }

    // ---- conditions
    fn cond_or(&mut self) -> PResult<Cond> {
        self.left_assoc("OR", Self::cond_and, Cond::Or)
    }

    fn cond_and(&mut self) -> PResult<Cond> {
        self.left_assoc("AND", Self::cond_not, Cond::And)
    }

    /// `operand (KW operand)*`, grouped to the left (OR and AND differ only in these three).
    fn left_assoc(&mut self, kw: &str, operand: fn(&mut Self) -> PResult<Cond>, join: fn(Box<Cond>, Box<Cond>) -> Cond) -> PResult<Cond> {
        let mut l = operand(self)?;
        while self.is_kw(kw) {
            self.next();
            let r = operand(self)?;
            l = join(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn cond_not(&mut self) -> PResult<Cond> {
        if self.is_kw("NOT") {
            self.enter()?;
            self.next();
            let c = self.cond_not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(c)));
        }
        self.cond_primary()
    }

    fn cond_primary(&mut self) -> PResult<Cond> {
        if *self.peek() == Tok::LParen && !self.paren_starts_operand(|t| matches!(t, Tok::Cmp(_))) {
            self.enter()?;
            self.next();
            let c = self.cond_or()?;
            self.expect(Tok::RParen)?;
            self.depth -= 1;
            return Ok(Cond::Paren(Box::new(c)));
        }
        self.cond_comparison()
    }

    /// operand comparator operand | operand BETWEEN .. AND .. | operand IN (..) | function
    fn cond_comparison(&mut self) -> PResult<Cond> {
        const KW: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];
        let left = self.operand(KW)?;
        if let Tok::Cmp(op) = *self.peek() {
            self.next();
            let right = self.operand(KW)?;
            return Ok(Cond::Cmp(op, left, right));
        }
        if self.is_kw("BETWEEN") {
            self.next();
            let lo = self.operand(KW)?;
            if !self.is_kw("AND") {
                return Err(self.syntax_error());
            }
            self.next();
            let hi = self.operand(KW)?;
            return Ok(Cond::Between(left, lo, hi));
        }
        if self.is_kw("IN") {
            self.next();
            self.expect(Tok::LParen)?;
            let mut list = vec![self.operand(KW)?];
            loop {
                match self.peek() {
                    Tok::Comma => {
                        self.next();
                        list.push(self.operand(KW)?);
                    }
                    Tok::RParen => {
                        self.next();
                        break;
                    }
                    _ => return Err(self.syntax_error()),
                }
            }
            return Ok(Cond::In(left, list));
        }
        match left {
            Operand::Func(name, args) => Ok(Cond::Func(name, args)),
            _ => Err(self.syntax_error()),
        }
    }

    // ---- update
    fn update(&mut self) -> PResult<Update> {
        const KW: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];
        let mut u = Update::default();
        let mut seen: Vec<String> = Vec::new();
        if self.at_eof() {
            return Err(self.syntax_error());
        }
        while !self.at_eof() {
            let clause = match self.peek() {
                Tok::Ident(s) if KW.iter().any(|k| s.eq_ignore_ascii_case(k)) => s.to_ascii_uppercase(),
                _ => return Err(self.syntax_error()),
            };
            self.next();
            if seen.contains(&clause) && self.dup_section.is_none() {
                self.dup_section = Some(format!("The \"{clause}\" section can only be used once in an update expression;"));
            }
            seen.push(clause.clone());
            loop {
                let path = self.path(KW)?;
                u.order.push(path.clone());
                match clause.as_str() {
                    "SET" => {
                        self.expect(Tok::Cmp(CmpOp::Eq))?;
                        let v = if *self.peek() == Tok::LParen && !self.paren_starts_operand(|t| matches!(t, Tok::Plus | Tok::Minus)) {
                            // "(a + b)": a parenthesised value
                            self.next();
                            let v = self.set_value(KW)?;
                            self.expect(Tok::RParen)?;
                            v
                        } else {
                            self.set_value(KW)?
                        };
                        u.sets.push((path, v));
                    }
                    "REMOVE" => u.removes.push(path),
                    _ => {
                        let v = match self.peek().clone() {
                            Tok::Val(v) => {
                                self.next();
                                Operand::Value(v, AttrValue::Null)
                            }
                            _ => return Err(self.syntax_error()),
                        };
                        if clause == "ADD" {
                            u.adds.push((path, v));
                        } else {
                            u.deletes.push((path, v));
                        }
                    }
                }
                if *self.peek() == Tok::Comma {
                    self.next();
                    continue;
                }
                break;
            }
        }
        Ok(u)
    }

    /// operand [ ('+' | '-') operand ]
    fn set_value(&mut self, kw: &[&str]) -> PResult<Operand> {
        let a = self.operand(kw)?;
        Ok(match self.peek() {
            Tok::Plus | Tok::Minus => {
                let op = if *self.peek() == Tok::Plus { '+' } else { '-' };
                self.next();
                let b = self.operand(kw)?;
                Operand::Arith(Box::new(a), op, Box::new(b))
            }
            _ => a,
        })
    }

    fn projection(&mut self) -> PResult<Vec<Path>> {
        let mut out = vec![self.path(&[])?];
        while *self.peek() == Tok::Comma {
            self.next();
            out.push(self.path(&[])?);
        }
        if !self.at_eof() {
            return Err(self.syntax_error());
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------- resolution & checks

/// Placeholders and their use across all expressions of one request.
pub struct Ctx<'a> {
    pub names: &'a BTreeMap<String, String>,
    pub values: &'a BTreeMap<String, AttrValue>,
    pub used_names: BTreeSet<String>,
    pub used_values: BTreeSet<String>,
    /// Set while resolving values in operands whose names were already
    /// substituted: a resolved `#s` → `Size` must not be taken for a bare
    /// reserved word.
    names_resolved: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(names: &'a BTreeMap<String, String>, values: &'a BTreeMap<String, AttrValue>) -> Self {
        Ctx { names, values, used_names: BTreeSet::new(), used_values: BTreeSet::new(), names_resolved: false }
    }

    fn resolve_path(&mut self, p: &mut Path) -> PResult<()> {
        for e in p.iter_mut() {
            if let PathElem::Attr(a) = e {
                if a.starts_with('#') {
                    match self.names.get(a.as_str()) {
                        Some(n) => {
                            self.used_names.insert(a.clone());
                            *a = n.clone();
                        }
                        None => {
                            return Err(format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {a}"
                            ))
                        }
                    }
                } else if !self.names_resolved && is_reserved(a) {
                    return Err(format!("Attribute name is a reserved keyword; reserved keyword: {a}"));
                }
            }
        }
        Ok(())
    }

    fn resolve_operand(&mut self, o: &mut Operand) -> PResult<()> {
        match o {
            Operand::Path(p) => self.resolve_path(p),
            Operand::Value(name, v) => match self.values.get(name.as_str()) {
                Some(val) => {
                    self.used_values.insert(name.clone());
                    *v = val.clone();
                    Ok(())
                }
                None => Err(format!("An expression attribute value used in expression is not defined; attribute value: {name}")),
            },
            Operand::Func(_, args) => {
                for a in args {
                    self.resolve_operand(a)?;
                }
                Ok(())
            }
            Operand::Arith(a, _, b) => {
                self.resolve_operand(a)?;
                self.resolve_operand(b)
            }
        }
    }

    fn resolve_cond(&mut self, c: &mut Cond) -> PResult<()> {
        match c {
            Cond::Cmp(_, a, b) => {
                self.resolve_operand(a)?;
                self.resolve_operand(b)
            }
            Cond::Between(a, b, d) => {
                self.resolve_operand(a)?;
                self.resolve_operand(b)?;
                self.resolve_operand(d)
            }
            Cond::In(a, l) => {
                self.resolve_operand(a)?;
                for x in l {
                    self.resolve_operand(x)?;
                }
                Ok(())
            }
            Cond::Func(_, args) => {
                for a in args {
                    self.resolve_operand(a)?;
                }
                Ok(())
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.resolve_cond(a)?;
                self.resolve_cond(b)
            }
            Cond::Not(a) | Cond::Paren(a) => self.resolve_cond(a),
        }
    }

    /// Error for placeholders that were supplied but not used.
    pub fn check_unused(&self) -> Result<(), String> {
        let unused: Vec<&String> = self.names.keys().filter(|k| !self.used_names.contains(*k)).collect();
        if !unused.is_empty() {
            return Err(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                unused.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let unused: Vec<&String> = self.values.keys().filter(|k| !self.used_values.contains(*k)).collect();
        if !unused.is_empty() {
            return Err(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                unused.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(())
    }
}

fn attr_display(v: &AttrValue) -> String {
    let inner = match v {
        AttrValue::S(s) => s.clone(),
        AttrValue::N(n) => n.to_canonical(),
        AttrValue::B(b) => crate::value::base64_encode(b),
        other => other.to_json().to_string(),
    };
    format!("AttributeValue: {{{}:{}}}", v.type_name(), inner)
}

fn n_operands(name: &str) -> Option<usize> {
    Some(match name {
        "attribute_exists" | "attribute_not_exists" | "size" => 1,
        "attribute_type" | "begins_with" | "contains" | "if_not_exists" | "list_append" => 2,
        _ => return None,
    })
}

fn check_func_common(name: &str, args: &[Operand]) -> PResult<()> {
    let n = n_operands(name).ok_or_else(|| format!("Invalid function name; function: {name}"))?;
    if args.len() != n {
        return Err(format!(
            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
            args.len()
        ));
    }
    Ok(())
}

fn same_path(a: &Operand, b: &Operand) -> bool {
    matches!((a, b), (Operand::Path(x), Operand::Path(y)) if x == y)
}

fn distinct_check(op: &str, first: &Operand, rest: &[&Operand]) -> PResult<()> {
    if let Operand::Path(p) = first {
        if rest.iter().any(|r| same_path(first, r)) {
            return Err(format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {}",
                path_display(p)
            ));
        }
    }
    Ok(())
}

/// First-found errors of the checks DynamoDB makes before resolving placeholders,
/// reported in its priority order: redundant parentheses, unknown functions,
/// misused functions.
#[derive(Default)]
struct PreErrors {
    parens: Option<String>,
    unknown: Option<String>,
    misused: Option<String>,
}

impl PreErrors {
    fn first(self) -> PResult<()> {
        match self.parens.or(self.unknown).or(self.misused) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn function_name(&mut self, name: &str) {
        if self.unknown.is_some() {
            return;
        }
        if UPDATE_FUNCS.contains(&name) {
            self.unknown = Some(format!("The function is not allowed in a condition expression; function: {name}"));
        } else if !COND_FUNCS.contains(&name) {
            self.unknown = Some(format!("Invalid function name; function: {name}"));
        }
    }

    /// An operand of a comparison, BETWEEN, IN or function: only size() may be a function.
    fn operand(&mut self, o: &Operand) {
        match o {
            Operand::Func(name, args) => {
                self.function_name(name);
                if name != "size" && self.misused.is_none() && COND_FUNCS.contains(&name.as_str()) {
                    self.misused = Some(format!("The function is not allowed to be used this way in an expression; function: {name}"));
                }
                args.iter().for_each(|a| self.operand(a));
            }
            Operand::Arith(a, _, b) => {
                self.operand(a);
                self.operand(b);
            }
            _ => {}
        }
    }

    fn cond(&mut self, c: &Cond) {
        match c {
            Cond::Cmp(_, a, b) => {
                self.operand(a);
                self.operand(b);
            }
            Cond::Between(a, b, d) => {
                self.operand(a);
                self.operand(b);
                self.operand(d);
            }
            Cond::In(a, l) => {
                self.operand(a);
                l.iter().for_each(|x| self.operand(x));
            }
            Cond::Func(name, args) => {
                self.function_name(name);
                if name == "size" && self.misused.is_none() {
                    self.misused = Some("The function is not allowed to be used this way in an expression; function: size".into());
                }
                args.iter().for_each(|a| self.operand(a));
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.cond(a);
                self.cond(b);
            }
            Cond::Not(a) => self.cond(a),
            Cond::Paren(a) => {
                if matches!(**a, Cond::Paren(_)) && self.parens.is_none() {
                    self.parens = Some("The expression has redundant parentheses;".into());
                }
                self.cond(a);
            }
        }
    }
}

fn operand_paths<'a>(o: &'a Operand, out: &mut Vec<&'a Path>) {
    match o {
        Operand::Path(p) => out.push(p),
        Operand::Func(_, a) => a.iter().for_each(|x| operand_paths(x, out)),
        Operand::Arith(a, _, b) => {
            operand_paths(a, out);
            operand_paths(b, out);
        }
        Operand::Value(..) => {}
    }
}

fn cond_operands<'a>(c: &'a Cond, out: &mut Vec<&'a Operand>) {
    match c {
        Cond::Cmp(_, a, b) => out.extend([a, b]),
        Cond::Between(a, b, d) => out.extend([a, b, d]),
        Cond::In(a, l) => {
            out.push(a);
            out.extend(l.iter());
        }
        Cond::Func(_, args) => out.extend(args.iter()),
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_operands(a, out);
            cond_operands(b, out);
        }
        Cond::Not(a) | Cond::Paren(a) => cond_operands(a, out),
    }
}

/// The first bare attribute name that is a reserved word, in written order.
fn first_reserved<'a>(paths: impl IntoIterator<Item = &'a Path>) -> PResult<()> {
    for p in paths {
        for e in p {
            if let PathElem::Attr(a) = e {
                if !a.starts_with('#') && is_reserved(a) {
                    return Err(format!("Attribute name is a reserved keyword; reserved keyword: {a}"));
                }
            }
        }
    }
    Ok(())
}

fn reserved_in_cond(c: &Cond) -> PResult<()> {
    let mut ops = Vec::new();
    cond_operands(c, &mut ops);
    let mut paths = Vec::new();
    for o in ops {
        operand_paths(o, &mut paths);
    }
    first_reserved(paths)
}

fn type_of(o: &Operand) -> Option<&'static str> {
    match o {
        Operand::Value(_, v) => Some(v.type_name()),
        Operand::Func(name, _) if name == "size" => Some("N"),
        _ => None,
    }
}

/// Checks after placeholders are resolved: operand counts, distinct operands,
/// operand types, BETWEEN bounds.
pub fn check_cond(c: &Cond) -> PResult<()> {
    match c {
        Cond::Cmp(op, a, b) => {
            check_operand_funcs(a)?;
            check_operand_funcs(b)?;
            distinct_check(op.text(), a, &[b])
        }
        Cond::Between(a, lo, hi) => {
            for o in [a, lo, hi] {
                check_operand_funcs(o)?;
            }
            if let (Operand::Value(_, l), Operand::Value(_, h)) = (lo, hi) {
                if l.type_name() != h.type_name() {
                    return Err(format!(
                        "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: {}, upper bound operand: {}",
                        attr_display(l),
                        attr_display(h)
                    ));
                }
                if compare(l, h) == Some(std::cmp::Ordering::Greater) {
                    return Err(format!(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: {}, upper bound operand: {}",
                        attr_display(l),
                        attr_display(h)
                    ));
                }
            }
            Ok(())
        }
        Cond::In(a, list) => {
            check_operand_funcs(a)?;
            for o in list {
                check_operand_funcs(o)?;
            }
            if list.len() > 100 {
                return Err(format!(
                    "Too many operands for operator or function; operator or function: IN, number of operands: {}",
                    list.len() + 1
                ));
            }
            Ok(())
        }
        Cond::Func(name, args) => {
            for a in args {
                check_operand_funcs(a)?;
            }
            check_function(name, args)
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            check_cond(a)?;
            check_cond(b)
        }
        Cond::Not(a) | Cond::Paren(a) => check_cond(a),
    }
}

fn check_operand_funcs(o: &Operand) -> PResult<()> {
    match o {
        Operand::Func(name, args) => {
            for a in args {
                check_operand_funcs(a)?;
            }
            check_function(name, args)
        }
        Operand::Arith(..) => Err("Syntax error; token: \"+\"".into()),
        _ => Ok(()),
    }
}

fn check_function(name: &str, args: &[Operand]) -> PResult<()> {
    check_func_common(name, args)?;
    if args.len() == 2 {
        distinct_check(name, &args[0], &[&args[1]])?;
    }
    let bad_type = |t: &str| format!("Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}");
    match name {
        "attribute_exists" | "attribute_not_exists" if !matches!(args[0], Operand::Path(_)) => {
            return Err(format!("Operator or function requires a document path; operator or function: {name}"));
        }
        "begins_with" => {
            for a in args {
                if let Some(t) = type_of(a) {
                    if t != "S" && t != "B" {
                        return Err(bad_type(t));
                    }
                }
            }
        }
        "attribute_type" => match &args[1] {
            Operand::Value(_, AttrValue::S(t)) => {
                if !["S", "N", "B", "NULL", "SS", "BOOL", "L", "BS", "NS", "M"].contains(&t.as_str()) {
                    return Err(format!("Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"));
                }
            }
            other => return Err(bad_type(type_of(other).unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"))),
        },
        "size" => {
            if let Some(t) = type_of(&args[0]) {
                if ["N", "BOOL", "NULL"].contains(&t) {
                    return Err(bad_type(t));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_update_operand(o: &Operand, top: bool) -> PResult<()> {
    match o {
        Operand::Func(name, args) => {
            if COND_FUNCS.contains(&name.as_str()) {
                return Err(format!("The function is not allowed in an update expression; function: {name}"));
            }
            check_func_common(name, args)?;
            for a in args {
                check_update_operand(a, false)?;
            }
            if name == "if_not_exists" && !matches!(args[0], Operand::Path(_)) {
                return Err("Operator or function requires a document path; operator or function: if_not_exists".into());
            }
            if name == "list_append" {
                for a in args {
                    if let Operand::Value(_, v) = a {
                        if !matches!(v, AttrValue::L(_)) {
                            return Err(format!(
                                "Incorrect operand type for operator or function; operator or function: list_append, operand type: {}",
                                v.type_name()
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
        Operand::Arith(a, op, b) => {
            if !top {
                return Err(format!("Syntax error; token: \"{op}\""));
            }
            for x in [a, b] {
                check_update_operand(x, false)?;
                if let Operand::Value(_, v) = &**x {
                    if !matches!(v, AttrValue::N(_)) {
                        return Err(format!(
                            "Incorrect operand type for operator or function; operator or function: {op}, operand type: {}",
                            v.type_name()
                        ));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_paths_overlap(paths: &[Path]) -> PResult<()> {
    let mut conflict: Option<String> = None;
    for j in 0..paths.len() {
        for i in 0..j {
            let (a, b) = (&paths[i], &paths[j]);
            let n = a.len().min(b.len());
            let mut diverged = false;
            for k in 0..n {
                if a[k] != b[k] {
                    let kinds_differ = matches!(
                        (&a[k], &b[k]),
                        (PathElem::Attr(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Attr(_))
                    );
                    if kinds_differ && conflict.is_none() {
                        conflict = Some(format!(
                            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                            path_display(a),
                            path_display(b)
                        ));
                    }
                    diverged = true;
                    break;
                }
            }
            if !diverged {
                return Err(format!(
                    "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                    path_display(a),
                    path_display(b)
                ));
            }
        }
    }
    match conflict {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

fn prefixed(kind: &str, msg: String) -> String {
    format!("Invalid {kind}: {msg}")
}

/// A parser over `src`, once it passes the checks every expression kind makes first (the
/// errors prefixed with `kind`, as DynamoDB words them).
fn parser_for<'a>(kind: &str, src: &'a str) -> Result<Parser<'a>, String> {
    if src.trim().is_empty() {
        return Err(prefixed(kind, "The expression can not be empty;".into()));
    }
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(prefixed(kind, format!("Expression size has exceeded the maximum allowed size; expression size: {}", src.len())));
    }
    Ok(Parser::new(src))
}

pub fn parse_condition(kind: &str, src: &str, ctx: &mut Ctx) -> Result<Cond, String> {
    let mut p = parser_for(kind, src)?;
    let mut c = p.cond_or().map_err(|e| prefixed(kind, e))?;
    if !p.at_eof() {
        return Err(prefixed(kind, p.syntax_error()));
    }
    let mut pre = PreErrors::default();
    pre.cond(&c);
    pre.first().map_err(|e| prefixed(kind, e))?;
    reserved_in_cond(&c).map_err(|e| prefixed(kind, e))?;
    ctx.resolve_cond(&mut c).map_err(|e| prefixed(kind, e))?;
    check_cond(&c).map_err(|e| prefixed(kind, e))?;
    Ok(c)
}

pub fn parse_update(src: &str, ctx: &mut Ctx) -> Result<Update, String> {
    let kind = "UpdateExpression";
    let mut p = parser_for(kind, src)?;
    let mut u = p.update().map_err(|e| prefixed(kind, e))?;
    // DynamoDB's priority: reserved word, unknown function, repeated section,
    // undefined name, undefined value, overlapping paths, conflicting paths,
    // ADD/DELETE operand types, function operands.
    let r = (|| -> PResult<()> {
        let mut written: Vec<&Path> = Vec::new();
        for (path, v) in &u.sets {
            written.push(path);
            operand_paths(v, &mut written);
        }
        written.extend(u.removes.iter());
        for (path, v) in u.adds.iter().chain(u.deletes.iter()) {
            written.push(path);
            operand_paths(v, &mut written);
        }
        first_reserved(written)?;
        for (_, v) in &u.sets {
            unknown_update_function(v)?;
        }
        if let Some(e) = p.dup_section.take() {
            return Err(e);
        }
        // names first, then values
        for (path, v) in u.sets.iter_mut() {
            ctx.resolve_path(path)?;
            resolve_operand_names(ctx, v)?;
        }
        for path in u.removes.iter_mut() {
            ctx.resolve_path(path)?;
        }
        for (path, _) in u.adds.iter_mut().chain(u.deletes.iter_mut()) {
            ctx.resolve_path(path)?;
        }
        for path in u.order.iter_mut() {
            ctx.resolve_path(path)?;
        }
        ctx.names_resolved = true;
        let values = u.sets.iter_mut().chain(u.adds.iter_mut()).chain(u.deletes.iter_mut()).try_for_each(|(_, v)| ctx.resolve_operand(v));
        ctx.names_resolved = false;
        values?;
        check_paths_overlap(&u.order)?;
        for (_, v) in &u.adds {
            if let Operand::Value(_, val) = v {
                if !matches!(val, AttrValue::N(_) | AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_)) {
                    return Err(format!(
                        "Incorrect operand type for operator or function; operator: ADD, operand type: {}",
                        val.long_type_name()
                    ));
                }
            }
        }
        for (_, v) in &u.deletes {
            if let Operand::Value(_, val) = v {
                if !matches!(val, AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_)) {
                    return Err(format!(
                        "Incorrect operand type for operator or function; operator: DELETE, operand type: {}",
                        val.long_type_name()
                    ));
                }
            }
        }
        for (_, v) in &u.sets {
            check_update_operand(v, true)?;
        }
        Ok(())
    })();
    r.map_err(|e| prefixed(kind, e))?;
    Ok(u)
}

fn unknown_update_function(o: &Operand) -> PResult<()> {
    match o {
        Operand::Func(name, args) => {
            if COND_FUNCS.contains(&name.as_str()) {
                return Err(format!("The function is not allowed in an update expression; function: {name}"));
            }
            if !UPDATE_FUNCS.contains(&name.as_str()) {
                return Err(format!("Invalid function name; function: {name}"));
            }
            args.iter().try_for_each(unknown_update_function)
        }
        Operand::Arith(a, _, b) => {
            unknown_update_function(a)?;
            unknown_update_function(b)
        }
        _ => Ok(()),
    }
}

fn resolve_operand_names(ctx: &mut Ctx, o: &mut Operand) -> PResult<()> {
    match o {
        Operand::Path(p) => ctx.resolve_path(p),
        Operand::Func(_, args) => args.iter_mut().try_for_each(|a| resolve_operand_names(ctx, a)),
        Operand::Arith(a, _, b) => {
            resolve_operand_names(ctx, a)?;
            resolve_operand_names(ctx, b)
        }
        Operand::Value(..) => Ok(()),
    }
}

pub fn parse_projection(src: &str, ctx: &mut Ctx) -> Result<Vec<Path>, String> {
    let kind = "ProjectionExpression";
    let mut p = parser_for(kind, src)?;
    let mut paths = p.projection().map_err(|e| prefixed(kind, e))?;
    for path in paths.iter_mut() {
        ctx.resolve_path(path).map_err(|e| prefixed(kind, e))?;
    }
    check_paths_overlap(&paths).map_err(|e| prefixed(kind, e))?;
    Ok(paths)
}

// ---------------------------------------------------------------- evaluation

pub fn get_path<'a>(item: &'a Item, path: &Path) -> Option<&'a AttrValue> {
    let mut cur: Option<&AttrValue> = None;
    for (i, e) in path.iter().enumerate() {
        cur = match (i, e, cur) {
            (0, PathElem::Attr(a), _) => item.get(a),
            (_, PathElem::Attr(a), Some(AttrValue::M(m))) => m.get(a),
            (_, PathElem::Index(k), Some(AttrValue::L(l))) => l.get(*k),
            _ => None,
        };
        cur?;
    }
    cur
}

pub fn compare(a: &AttrValue, b: &AttrValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (AttrValue::N(x), AttrValue::N(y)) => Some(x.cmp(y)),
        (AttrValue::S(x), AttrValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttrValue::B(x), AttrValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn eval_operand<'a>(o: &'a Operand, item: &'a Item) -> Option<Cow<'a, AttrValue>> {
    match o {
        Operand::Path(p) => get_path(item, p).map(Cow::Borrowed),
        Operand::Value(_, v) => Some(Cow::Borrowed(v)),
        Operand::Func(name, args) if name == "size" => {
            let v = eval_operand(&args[0], item)?;
            let n = match &*v {
                AttrValue::S(s) => s.len(),
                AttrValue::B(b) => b.len(),
                AttrValue::SS(s) => s.len(),
                AttrValue::NS(s) => s.len(),
                AttrValue::BS(s) => s.len(),
                AttrValue::L(l) => l.len(),
                AttrValue::M(m) => m.len(),
                _ => return None,
            };
            Some(Cow::Owned(AttrValue::N(Decimal::parse_unchecked(&n.to_string()).unwrap_or_default())))
        }
        _ => None,
    }
}

pub fn eval_cond(c: &Cond, item: &Item) -> bool {
    match c {
        Cond::Cmp(op, a, b) => {
            let (x, y) = (eval_operand(a, item), eval_operand(b, item));
            match (x, y) {
                (Some(x), Some(y)) => match op {
                    CmpOp::Eq => x.dyn_eq(&y),
                    CmpOp::Ne => !x.dyn_eq(&y),
                    _ => match compare(&x, &y) {
                        Some(o) => match op {
                            CmpOp::Lt => o.is_lt(),
                            CmpOp::Le => o.is_le(),
                            CmpOp::Gt => o.is_gt(),
                            CmpOp::Ge => o.is_ge(),
                            _ => false,
                        },
                        None => false,
                    },
                },
                _ => *op == CmpOp::Ne,
            }
        }
        Cond::Between(a, lo, hi) => {
            match (eval_operand(a, item), eval_operand(lo, item), eval_operand(hi, item)) {
                (Some(x), Some(l), Some(h)) => {
                    matches!(compare(&x, &l), Some(o) if o.is_ge()) && matches!(compare(&x, &h), Some(o) if o.is_le())
                }
                _ => false,
            }
        }
        Cond::In(a, list) => match eval_operand(a, item) {
            Some(x) => list.iter().any(|o| eval_operand(o, item).is_some_and(|y| x.dyn_eq(&y))),
            None => false,
        },
        Cond::Func(name, args) => {
            let target = eval_operand(&args[0], item);
            match name.as_str() {
                "attribute_exists" => target.is_some(),
                "attribute_not_exists" => target.is_none(),
                "attribute_type" => match (target, eval_operand(&args[1], item)) {
                    (Some(t), Some(v)) => matches!(&*v, AttrValue::S(s) if s == t.type_name()),
                    _ => false,
                },
                "begins_with" => match (target, eval_operand(&args[1], item)) {
                    (Some(t), Some(v)) => match (&*t, &*v) {
                        (AttrValue::S(a), AttrValue::S(b)) => a.starts_with(b.as_str()),
                        (AttrValue::B(a), AttrValue::B(b)) => a.starts_with(b),
                        _ => false,
                    },
                    _ => false,
                },
                "contains" => match (target, eval_operand(&args[1], item)) {
                    (Some(t), Some(v)) => match (&*t, &*v) {
                        (AttrValue::S(a), AttrValue::S(b)) => a.contains(b.as_str()),
                        (AttrValue::B(a), AttrValue::B(b)) => {
                            b.is_empty() || a.windows(b.len()).any(|w| w == b.as_slice())
                        }
                        (AttrValue::SS(a), AttrValue::S(b)) => a.contains(b),
                        (AttrValue::NS(a), AttrValue::N(b)) => a.contains(b),
                        (AttrValue::BS(a), AttrValue::B(b)) => a.contains(b),
                        (AttrValue::L(a), x) => a.iter().any(|e| e.dyn_eq(x)),
                        _ => false,
                    },
                    _ => false,
                },
                _ => false,
            }
        }
        Cond::And(a, b) => eval_cond(a, item) && eval_cond(b, item),
        Cond::Or(a, b) => eval_cond(a, item) || eval_cond(b, item),
        Cond::Not(a) => !eval_cond(a, item),
        Cond::Paren(a) => eval_cond(a, item),
    }
}

/// Paths named anywhere in a condition (for key-attribute checks in filters).
pub fn cond_paths(c: &Cond, out: &mut Vec<Path>) {
    fn op_paths(o: &Operand, out: &mut Vec<Path>) {
        match o {
            Operand::Path(p) => out.push(p.clone()),
            Operand::Func(_, a) => a.iter().for_each(|x| op_paths(x, out)),
            Operand::Arith(a, _, b) => {
                op_paths(a, out);
                op_paths(b, out)
            }
            _ => {}
        }
    }
    match c {
        Cond::Cmp(_, a, b) => {
            op_paths(a, out);
            op_paths(b, out)
        }
        Cond::Between(a, b, d) => {
            op_paths(a, out);
            op_paths(b, out);
            op_paths(d, out)
        }
        Cond::In(a, l) => {
            op_paths(a, out);
            l.iter().for_each(|x| op_paths(x, out))
        }
        Cond::Func(_, a) => a.iter().for_each(|x| op_paths(x, out)),
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_paths(a, out);
            cond_paths(b, out)
        }
        Cond::Not(a) | Cond::Paren(a) => cond_paths(a, out),
    }
}

// ---- update evaluation

pub const ERR_MISSING_ATTR: &str = "The provided expression refers to an attribute that does not exist in the item";
pub const ERR_BAD_TYPE: &str = "An operand in the update expression has an incorrect data type";
pub const ERR_BAD_PATH: &str = "The document path provided in the update expression is invalid for update";

fn eval_update_value(o: &Operand, item: &Item) -> Result<AttrValue, String> {
    match o {
        Operand::Path(p) => get_path(item, p).cloned().ok_or_else(|| ERR_MISSING_ATTR.to_string()),
        Operand::Value(_, v) => Ok(v.clone()),
        Operand::Func(name, args) => match name.as_str() {
            "if_not_exists" => match &args[0] {
                Operand::Path(p) => match get_path(item, p) {
                    Some(v) => Ok(v.clone()),
                    None => eval_update_value(&args[1], item),
                },
                _ => Err(ERR_BAD_TYPE.into()),
            },
            "list_append" => {
                let a = eval_update_value(&args[0], item)?;
                let b = eval_update_value(&args[1], item)?;
                match (a, b) {
                    (AttrValue::L(mut x), AttrValue::L(y)) => {
                        x.extend(y);
                        Ok(AttrValue::L(x))
                    }
                    _ => Err(ERR_BAD_TYPE.into()),
                }
            }
            _ => Err(ERR_BAD_TYPE.into()),
        },
        Operand::Arith(a, op, b) => {
            let x = eval_update_value(a, item)?;
            let y = eval_update_value(b, item)?;
            match (x, y) {
                (AttrValue::N(x), AttrValue::N(y)) => {
                    let r = if *op == '+' { x.add(&y) } else { x.sub(&y) };
                    r.check().map_err(|e| e.message())?;
                    Ok(AttrValue::N(r))
                }
                _ => Err(ERR_BAD_TYPE.into()),
            }
        }
    }
}

fn get_path_mut<'a>(item: &'a mut Item, path: &[PathElem]) -> Option<&'a mut AttrValue> {
    let (first, rest) = path.split_first()?;
    let PathElem::Attr(a) = first else { return None };
    let mut cur = item.get_mut(a)?;
    for e in rest {
        cur = match (e, cur) {
            (PathElem::Attr(a), AttrValue::M(m)) => m.get_mut(a)?,
            (PathElem::Index(k), AttrValue::L(l)) => l.get_mut(*k)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn set_path(item: &mut Item, path: &Path, v: AttrValue) -> Result<(), String> {
    if path.len() == 1 {
        if let PathElem::Attr(a) = &path[0] {
            item.insert(a.clone(), v);
            return Ok(());
        }
        return Err(ERR_BAD_PATH.into());
    }
    let parent = get_path_mut(item, &path[..path.len() - 1]).ok_or_else(|| ERR_BAD_PATH.to_string())?;
    match (parent, &path[path.len() - 1]) {
        (AttrValue::M(m), PathElem::Attr(a)) => {
            m.insert(a.clone(), v);
            Ok(())
        }
        (AttrValue::L(l), PathElem::Index(k)) => {
            if *k < l.len() {
                l[*k] = v;
            } else {
                l.push(v);
            }
            Ok(())
        }
        _ => Err(ERR_BAD_PATH.into()),
    }
}

fn remove_path(item: &mut Item, path: &Path) -> Result<(), String> {
    if path.len() == 1 {
        if let PathElem::Attr(a) = &path[0] {
            item.remove(a);
        }
        return Ok(());
    }
    // a missing parent is an invalid path (a missing leaf is not)
    let parent = get_path_mut(item, &path[..path.len() - 1]).ok_or_else(|| ERR_BAD_PATH.to_string())?;
    match (parent, &path[path.len() - 1]) {
        (AttrValue::M(m), PathElem::Attr(a)) => {
            m.remove(a);
            Ok(())
        }
        (AttrValue::L(l), PathElem::Index(k)) => {
            if *k < l.len() {
                l.remove(*k);
            }
            Ok(())
        }
        _ => Err(ERR_BAD_PATH.into()),
    }
}

fn union<T: Clone + Eq + std::hash::Hash>(mut a: Vec<T>, b: &[T]) -> Vec<T> {
    let mut seen: HashSet<T> = a.iter().cloned().collect();
    for x in b {
        if seen.insert(x.clone()) {
            a.push(x.clone());
        }
    }
    a
}

/// The members of `a` not in `b`; None when nothing is left (empty sets are not stored).
fn difference<T: Eq + std::hash::Hash>(mut a: Vec<T>, b: &[T]) -> Option<Vec<T>> {
    let remove: HashSet<&T> = b.iter().collect();
    a.retain(|x| !remove.contains(x));
    (!a.is_empty()).then_some(a)
}

/// Applies an update to `old` (missing item = empty map), returning the new item.
pub fn apply_update(u: &Update, old: &Item) -> Result<Item, String> {
    // 1. evaluate every SET value against the old item
    let mut values = Vec::new();
    for (p, o) in &u.sets {
        values.push((p, eval_update_value(o, old)?));
    }
    let mut new = old.clone();
    for (p, v) in values {
        set_path(&mut new, p, v)?;
    }
    // 2. REMOVE, higher list indexes first so earlier ones keep their meaning
    let mut removes: Vec<&Path> = u.removes.iter().collect();
    removes.sort_by(|a, b| b.cmp(a));
    for p in removes {
        remove_path(&mut new, p)?;
    }
    // 3. ADD
    for (p, o) in &u.adds {
        let Operand::Value(_, v) = o else { continue };
        let cur = get_path(&new, p).cloned();
        let result = match (cur, v) {
            (None, v) => v.clone(),
            (Some(AttrValue::N(a)), AttrValue::N(b)) => {
                let r = a.add(b);
                r.check().map_err(|e| e.message())?;
                AttrValue::N(r)
            }
            (Some(AttrValue::SS(a)), AttrValue::SS(b)) => AttrValue::SS(union(a, b)),
            (Some(AttrValue::NS(a)), AttrValue::NS(b)) => AttrValue::NS(union(a, b)),
            (Some(AttrValue::BS(a)), AttrValue::BS(b)) => AttrValue::BS(union(a, b)),
            _ => return Err(ERR_BAD_TYPE.into()),
        };
        set_path(&mut new, p, result)?;
    }
    // 4. DELETE
    for (p, o) in &u.deletes {
        let Operand::Value(_, v) = o else { continue };
        let Some(cur) = get_path(&new, p).cloned() else {
            if p.len() > 1 && get_path(&new, &p[..p.len() - 1].to_vec()).is_none() {
                return Err(ERR_BAD_PATH.into());
            }
            continue;
        };
        let result = match (cur, v) {
            (AttrValue::SS(a), AttrValue::SS(b)) => difference(a, b).map(AttrValue::SS),
            (AttrValue::NS(a), AttrValue::NS(b)) => difference(a, b).map(AttrValue::NS),
            (AttrValue::BS(a), AttrValue::BS(b)) => difference(a, b).map(AttrValue::BS),
            _ => return Err(ERR_BAD_TYPE.into()),
        };
        match result {
            Some(r) => set_path(&mut new, p, r)?,
            None => remove_path(&mut new, p)?,
        }
    }
    Ok(new)
}

// ---- projection

#[derive(Default, Debug)]
struct ProjTree {
    leaf: bool,
    attrs: BTreeMap<String, ProjTree>,
    idx: BTreeMap<usize, ProjTree>,
}

fn project_value(v: &AttrValue, t: &ProjTree) -> Option<AttrValue> {
    if t.leaf {
        return Some(v.clone());
    }
    match v {
        AttrValue::M(m) if !t.attrs.is_empty() => {
            // t.attrs iterates in name order, so the result is built already sorted.
            let out: crate::value::AttrMap =
                t.attrs.iter().filter_map(|(k, sub)| m.get(k).and_then(|x| project_value(x, sub)).map(|x| (k, x))).collect();
            (!out.is_empty()).then_some(AttrValue::M(out))
        }
        AttrValue::L(l) if !t.idx.is_empty() => {
            let out: Vec<AttrValue> = t.idx.iter().filter_map(|(k, sub)| l.get(*k).and_then(|x| project_value(x, sub))).collect();
            (!out.is_empty()).then_some(AttrValue::L(out))
        }
        _ => None,
    }
}

pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root = ProjTree::default();
    for p in paths {
        let mut t = &mut root;
        for e in p {
            t = match e {
                PathElem::Attr(a) => t.attrs.entry(a.clone()).or_default(),
                PathElem::Index(i) => t.idx.entry(*i).or_default(),
            };
        }
        t.leaf = true;
    }
    let mut out = Item::new();
    for (k, sub) in &root.attrs {
        if let Some(v) = item.get(k).and_then(|v| project_value(v, sub)) {
            out.insert(k.clone(), v);
        }
    }
    out
}
