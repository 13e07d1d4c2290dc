//! The 18 `States.*` intrinsic functions: parsed once at load time, evaluated
//! with AWS's argument rules. A failed call is reported by the engine as
//! `States.Runtime` (AWS reserves `States.IntrinsicFailure` and never raises it).

use crate::path::{Path, Selected};
use serde_json::{Map, Value};

/// Intrinsic calls nest at most this deep, as on AWS.
pub const MAX_NESTING: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub func: Func,
    pub args: Vec<Arg>,
}

macro_rules! funcs {
    ($($v:ident = $n:literal),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Func { $($v),* }
        impl Func {
            pub fn name(self) -> &'static str { match self { $(Func::$v => $n),* } }
            pub fn from_name(s: &str) -> Option<Func> { match s { $($n => Some(Func::$v),)* _ => None } }
        }
    };
}

funcs! {
    Format = "States.Format",
    StringToJson = "States.StringToJson",
    JsonToString = "States.JsonToString",
    Array = "States.Array",
    ArrayPartition = "States.ArrayPartition",
    ArrayContains = "States.ArrayContains",
    ArrayRange = "States.ArrayRange",
    ArrayGetItem = "States.ArrayGetItem",
    ArrayLength = "States.ArrayLength",
    ArrayUnique = "States.ArrayUnique",
    Base64Encode = "States.Base64Encode",
    Base64Decode = "States.Base64Decode",
    Hash = "States.Hash",
    JsonMerge = "States.JsonMerge",
    MathRandom = "States.MathRandom",
    MathAdd = "States.MathAdd",
    StringSplit = "States.StringSplit",
    Uuid = "States.UUID",
}

impl Func {
    /// The allowed argument counts (inclusive).
    fn arity(self) -> (usize, usize) {
        use Func::*;
        match self {
            Format => (1, usize::MAX),
            Array => (0, usize::MAX),
            Uuid => (0, 0),
            StringToJson | JsonToString | ArrayLength | ArrayUnique | Base64Encode | Base64Decode => (1, 1),
            ArrayPartition | ArrayContains | ArrayGetItem | Hash | MathAdd | StringSplit => (2, 2),
            ArrayRange | JsonMerge => (3, 3),
            MathRandom => (2, 3),
        }
    }
}

/// True when `s` looks like an intrinsic call (as opposed to a path).
pub fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

pub fn parse(src: &str) -> Result<Call, String> {
    let mut p = P { s: src, i: 0 };
    p.ws();
    let call = p.call(1)?;
    p.ws();
    if p.i != src.len() {
        return Err(format!("unexpected text after the call at position {} of '{src}'", p.i));
    }
    Ok(call)
}

struct P<'a> {
    s: &'a str,
    i: usize,
}

impl P<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }
    fn ws(&mut self) {
        while self.rest().starts_with([' ', '\t', '\n', '\r']) {
            self.i += 1;
        }
    }
    fn err<T>(&self, m: &str) -> Result<T, String> {
        Err(format!("{m} at position {} of '{}'", self.i, self.s))
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_NESTING {
            return self.err(&format!("intrinsic functions nest more than {MAX_NESTING} deep"));
        }
        let start = self.i;
        while self.rest().starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') {
            self.i += 1;
        }
        let name = &self.s[start..self.i];
        let Some(func) = Func::from_name(name) else {
            return Err(format!("unknown intrinsic function '{name}'"));
        };
        self.ws();
        if !self.rest().starts_with('(') {
            return self.err("expected '('");
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.rest().starts_with(')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg(depth)?);
                self.ws();
                if self.rest().starts_with(',') {
                    self.i += 1;
                } else if self.rest().starts_with(')') {
                    self.i += 1;
                    break;
                } else {
                    return self.err("expected ',' or ')'");
                }
            }
        }
        let (lo, hi) = func.arity();
        if args.len() < lo || args.len() > hi {
            return Err(if lo == hi {
                format!("{} takes {lo} argument(s), got {}", func.name(), args.len())
            } else {
                format!("{} takes {lo} to {hi} arguments, got {}", func.name(), args.len())
            });
        }
        Ok(Call { func, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        let src = self.s;
        let r = &src[self.i..];
        if r.starts_with('\'') {
            return self.string().map(|s| Arg::Literal(Value::String(s)));
        }
        if r.starts_with("States.") {
            return self.call(depth + 1).map(Arg::Call);
        }
        if r.starts_with('$') {
            // A path ends at the ',' or ')' that is not inside brackets or quotes.
            let start = self.i;
            let mut depth_b = 0i32;
            let mut quote: Option<char> = None;
            for (off, c) in r.char_indices() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'') | (None, '"') => quote = Some(c),
                    (None, '[') | (None, '(') => depth_b += 1,
                    (None, ']') => depth_b -= 1,
                    (None, ')') if depth_b > 0 => depth_b -= 1,
                    (None, ',') | (None, ')') if depth_b == 0 => {
                        self.i = start + off;
                        break;
                    }
                    _ => {}
                }
                self.i = start + off + c.len_utf8();
            }
            let text = self.s[start..self.i].trim_end();
            return Path::parse(text).map(Arg::Path);
        }
        let start = self.i;
        while self.rest().starts_with(|c: char| !matches!(c, ',' | ')' | ' ')) {
            self.i += self.rest().chars().next().map_or(1, char::len_utf8);
        }
        let tok = &self.s[start..self.i];
        match tok {
            "null" => Ok(Arg::Literal(Value::Null)),
            "true" => Ok(Arg::Literal(Value::Bool(true))),
            "false" => Ok(Arg::Literal(Value::Bool(false))),
            _ => match crate::tree::parse_number(tok) {
                Some(n) if !tok.is_empty() => Ok(Arg::Literal(Value::Number(n))),
                _ => Err(format!("invalid argument '{tok}' in '{}'", self.s)),
            },
        }
    }

    /// A single-quoted string: `\'`, `\\`, `\{`, `\}` escape; other backslashes stay.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.s[self.i..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '\'' => {
                    self.i += off + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, n @ ('\'' | '\\'))) => out.push(n),
                    // Braces stay escaped so States.Format can tell them from placeholders.
                    Some((_, n @ ('{' | '}'))) => {
                        out.push('\\');
                        out.push(n);
                    }
                    Some((_, n)) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        self.err("unterminated string literal")
    }
}

/// What evaluation needs from the engine: the documents paths read, and randomness.
pub struct Scope<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub variables: &'a dyn Fn(&str) -> Option<&'a Value>,
    pub random: &'a mut dyn FnMut() -> u64,
}

/// Resolves a path of any root against the scope; errors are causes.
pub fn read_path(path: &Path, scope: &Scope<'_>) -> Result<Value, String> {
    use crate::path::Root;
    let doc = match &path.root {
        Root::Input => scope.input,
        Root::Context => scope.context,
        Root::Variable(name) => match (scope.variables)(name) {
            Some(v) => v,
            None => return Err(format!("Invalid path '{}': The variable '${name}' is not defined.", path.as_str())),
        },
    };
    path.select(doc)
        .map(Selected::into_owned)
        .map_err(|m| format!("Invalid path '{}' : {m}", path.as_str()))
}

pub fn eval(call: &Call, scope: &mut Scope<'_>) -> Result<Value, String> {
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(match a {
            Arg::Literal(v) => v.clone(),
            Arg::Path(p) => read_path(p, scope)?,
            Arg::Call(c) => eval(c, scope)?,
        });
    }
    apply(call.func, args, call, scope)
}

/// The JSON type name used in messages ("null", "boolean", "number", ...).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn want_str<'v>(f: Func, v: &'v Value, what: &str) -> Result<&'v str, String> {
    v.as_str().ok_or_else(|| format!("The {what} argument of {} must be a string, but was {}", f.name(), type_name(v)))
}

fn want_array<'v>(f: Func, v: &'v Value, what: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("The {what} argument of {} must be an array, but was {}", f.name(), type_name(v)))
}

fn want_int(f: Func, v: &Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if x.fract() == 0.0 && x.abs() < 9.2e18 {
                    Ok(x as i64)
                } else {
                    Err(format!("The {what} argument of {} must be an integer, but was {n}", f.name()))
                }
            }
        }
        _ => Err(format!("The {what} argument of {} must be an integer, but was {}", f.name(), type_name(v))),
    }
}

/// Java's `Math.round`: halves go up (towards positive infinity).
fn java_round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// A value as Java's `toString` writes it, which is what `States.Format`
/// puts in place of `{}`: strings raw, objects as `{k=v, k2=v2}`, arrays as `[a, b]`.
pub fn java_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(java_text).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}={}", java_text(v))).collect::<Vec<_>>().join(", ")),
        other => to_json_text(other),
    }
}

/// Refuses a result of `bytes` (its JSON text) built by `f`, before it is built: every value an
/// intrinsic hands on ends up in a state's data, which is capped at 256 KiB
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>). AWS's intrinsic
/// functions page documents no other size limit (only ArrayRange's 1000 items) nor the error of
/// an oversized intermediate; the failure is the engine's `States.Runtime`, as for the other
/// intrinsic failures, and its cause says which limit was hit.
fn check_payload(f: Func, bytes: usize) -> Result<(), String> {
    if bytes > crate::size::PAYLOAD_LIMIT {
        return Err(format!(
            "The result of {} would exceed the maximum number of bytes service limit ({} bytes)",
            f.name(),
            crate::size::PAYLOAD_LIMIT
        ));
    }
    Ok(())
}

/// Text of a value as AWS writes it inside strings (`States.Format`, `JsonToString`).
pub fn to_json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn apply(f: Func, mut a: Vec<Value>, call: &Call, scope: &mut Scope<'_>) -> Result<Value, String> {
    use Func::*;
    let _ = call;
    Ok(match f {
        Format => {
            let tpl = want_str(f, &a[0], "first")?.to_string();
            let mut out = String::new();
            let mut next = 1;
            let mut chars = tpl.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(n) => out.push(n),
                        None => out.push('\\'),
                    },
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        let Some(v) = a.get(next) else {
                            return Err(format!(
                                "The number of arguments ({}) does not match the number of placeholders in the template of States.Format",
                                a.len() - 1
                            ));
                        };
                        // Each argument is at most a payload, but a template may repeat a large
                        // one many times: check before each one is appended.
                        let text = java_text(v);
                        check_payload(f, out.len() + text.len())?;
                        out.push_str(&text);
                        next += 1;
                    }
                    c => out.push(c),
                }
            }
            if next != a.len() {
                return Err(format!(
                    "The number of arguments ({}) does not match the number of placeholders in the template of States.Format",
                    a.len() - 1
                ));
            }
            Value::String(out)
        }
        StringToJson => {
            let s = want_str(f, &a[0], "first")?;
            if s.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(s).map_err(|e| format!("States.StringToJson could not parse its argument as JSON: {e}"))?
            }
        }
        JsonToString => {
            if crate::size::exceeds(&a[0], crate::size::PAYLOAD_LIMIT) {
                return Err(check_payload(f, crate::size::PAYLOAD_LIMIT + 1).unwrap_err());
            }
            Value::String(to_json_text(&a[0]))
        }
        Array => {
            let mut bytes = 2 + a.len().saturating_sub(1);
            for x in &a {
                bytes = bytes.saturating_add(crate::size::json_len_up_to(x, crate::size::PAYLOAD_LIMIT));
                check_payload(f, bytes)?;
            }
            Value::Array(a)
        }
        ArrayPartition => {
            let arr = want_array(f, &a[0], "first")?;
            let n = want_int(f, &a[1], "second")?;
            if n <= 0 {
                return Err("The chunk size argument of States.ArrayPartition must be a positive integer".into());
            }
            // The partition's text is the array's plus two brackets per chunk.
            let chunks = arr.len().div_ceil(n as usize);
            let bytes = crate::size::json_len_up_to(&a[0], crate::size::PAYLOAD_LIMIT).saturating_add(2 * chunks);
            check_payload(f, bytes)?;
            Value::Array(arr.chunks(n as usize).map(|c| Value::Array(c.to_vec())).collect())
        }
        ArrayContains => {
            let arr = want_array(f, &a[0], "first")?;
            Value::Bool(arr.iter().any(|x| json_eq(x, &a[1])))
        }
        ArrayRange => {
            let first = want_int(f, &a[0], "first")?;
            let last = want_int(f, &a[1], "second")?;
            let step = want_int(f, &a[2], "third")?;
            if step == 0 {
                return Err("The step argument of States.ArrayRange must not be 0".into());
            }
            let count = if (step > 0 && last < first) || (step < 0 && last > first) {
                0
            } else {
                ((last as i128 - first as i128) / step as i128 + 1) as u128
            };
            if count > 1000 {
                return Err("States.ArrayRange can create at most 1000 items".into());
            }
            Value::Array((0..count as i64).map(|k| Value::from(first + k * step)).collect())
        }
        ArrayGetItem => {
            let arr = want_array(f, &a[0], "first")?;
            let i = want_int(f, &a[1], "second")?;
            if i < 0 || i as usize >= arr.len() {
                return Err(format!("The index {i} is out of bounds for an array of length {} in States.ArrayGetItem", arr.len()));
            }
            arr[i as usize].clone()
        }
        ArrayLength => Value::from(want_array(f, &a[0], "first")?.len()),
        ArrayUnique => {
            let arr = want_array(f, &a[0], "first")?;
            let mut out: Vec<Value> = Vec::new();
            for x in arr {
                if !out.iter().any(|y| json_eq(x, y)) {
                    out.push(x.clone());
                }
            }
            Value::Array(out)
        }
        Base64Encode => {
            use base64::Engine;
            let s = want_str(f, &a[0], "first")?;
            if s.chars().count() > 10_000 {
                return Err("The input of States.Base64Encode must be at most 10000 characters".into());
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        Base64Decode => {
            use base64::Engine;
            let s = want_str(f, &a[0], "first")?;
            if s.chars().count() > 10_000 {
                return Err("The input of States.Base64Decode must be at most 10000 characters".into());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|_| "The input of States.Base64Decode is not valid base64".to_string())?;
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        }
        Hash => {
            let data = match &a[0] {
                Value::String(s) => s.clone(),
                other => to_json_text(other),
            };
            if data.chars().count() > 10_000 {
                return Err("The input of States.Hash must be at most 10000 characters".into());
            }
            let alg = want_str(f, &a[1], "second")?;
            Value::String(crate::hash::hex_digest(alg, data.as_bytes()).ok_or_else(|| {
                format!("The hash algorithm '{alg}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512")
            })?)
        }
        JsonMerge => {
            let deep = match &a[2] {
                Value::Bool(b) => *b,
                v => return Err(format!("The third argument of States.JsonMerge must be a boolean, but was {}", type_name(v))),
            };
            if deep {
                // AWS supports only shallow merges although the spec allows deep ones.
                return Err("States.JsonMerge does not support deep merging; the third argument must be false".into());
            }
            let b = a.pop().map(|_| a.pop()).unwrap_or_default().unwrap_or_default();
            let mut base = a.pop().unwrap_or_default();
            let (Value::Object(bm), Value::Object(over)) = (&mut base, b) else {
                return Err("The first and second arguments of States.JsonMerge must be objects".into());
            };
            for (k, v) in over {
                bm.insert(k, v);
            }
            check_payload(f, crate::size::json_len_up_to(&base, crate::size::PAYLOAD_LIMIT))?;
            base
        }
        MathRandom => {
            let start = want_int(f, &a[0], "first")?;
            let end = want_int(f, &a[1], "second")?;
            if end <= start {
                return Err("The end argument of States.MathRandom must be greater than the start argument".into());
            }
            let r = if let Some(seed) = a.get(2) {
                let seed = want_int(f, seed, "third")?;
                crate::rng::SplitMix64::new(seed as u64).next_u64()
            } else {
                (scope.random)()
            };
            let span = (end - start) as u64;
            Value::from(start + (r % span) as i64)
        }
        MathAdd => {
            let num = |v: &Value, what: &str| -> Result<i64, String> {
                match v {
                    Value::Number(n) => Ok(n.as_i64().unwrap_or_else(|| java_round(n.as_f64().unwrap_or(0.0)))),
                    _ => Err(format!("The {what} argument of States.MathAdd must be a number, but was {}", type_name(v))),
                }
            };
            let x = num(&a[0], "first")?;
            let y = num(&a[1], "second")?;
            Value::from(x.checked_add(y).ok_or("States.MathAdd overflowed")?)
        }
        StringSplit => {
            let s = want_str(f, &a[0], "first")?;
            let d = want_str(f, &a[1], "second")?;
            let parts = || s.split(|c| d.contains(c)).filter(|p| !p.is_empty());
            if !d.is_empty() {
                // "a,a,a,..." splits into twice its size of JSON text ("a" plus quotes and a comma).
                let mut bytes = 2usize;
                for p in parts() {
                    bytes = bytes.saturating_add(crate::size::string_len(p) + 1);
                    check_payload(f, bytes)?;
                }
            }
            let parts: Vec<Value> = if d.is_empty() {
                vec![Value::String(s.to_string())]
            } else {
                parts().map(|p| Value::String(p.to_string())).collect()
            };
            Value::Array(parts)
        }
        Uuid => {
            let hi = (scope.random)();
            let lo = (scope.random)();
            Value::String(crate::rng::uuid_v4(hi, lo))
        }
    })
}

/// JSON equality in which 1 and 1.0 are the same number.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(p), Some(q)) = (x.as_i64(), y.as_i64()) {
                p == q
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[allow(dead_code)] // Kept for callers that build objects from intrinsic results.
fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, String> {
        let call = parse(expr)?;
        let ctx = json!({"StateMachine": {"Name": "m-1"}});
        let vars = |_: &str| None;
        let mut rng = crate::rng::SplitMix64::new(7);
        let mut r = || rng.next_u64();
        let mut scope = Scope { input: &input, context: &ctx, variables: &vars, random: &mut r };
        eval(&call, &mut scope)
    }

    #[test]
    fn format_and_escapes() {
        assert_eq!(run("States.Format('a {} b {}', $.x, 2)", json!({"x":"X"})), Ok(json!("a X b 2")));
        assert_eq!(run(r"States.Format('\{\} {} \'q\'', null)", json!({})), Ok(json!("{} null 'q'")));
        assert_eq!(run("States.Format('{}', $.o)", json!({"o":{"a":1,"b":[1,"x"]}})), Ok(json!("{a=1, b=[1, x]}")));
        assert!(run("States.Format('{} {}', 1)", json!({})).is_err());
    }

    #[test]
    fn math_add_rounds_like_java() {
        for (a, b, r) in [(1.49, 1.5, 3), (0.5, 0.0, 1), (-2.5, 0.0, -2), (-1.5, -1.51, -3), (-3.5, 0.0, -3)] {
            assert_eq!(run("States.MathAdd($.a, $.b)", json!({"a":a,"b":b})), Ok(json!(r)));
        }
    }

    #[test]
    fn arrays() {
        assert_eq!(run("States.ArrayRange(0, 10, 3)", json!({})), Ok(json!([0, 3, 6, 9])));
        assert!(run("States.ArrayRange(0, 2000, 1)", json!({})).is_err());
        assert_eq!(run("States.ArrayPartition($.a, 2)", json!({"a":[0,1,2]})), Ok(json!([[0, 1], [2]])));
        assert_eq!(run("States.ArrayUnique($.a)", json!({"a":[1,1.0,2,"2"]})), Ok(json!([1, 2, "2"])));
        assert_eq!(run("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)", json!({})), Ok(json!("m")));
        assert_eq!(run("States.StringSplit($.s, '.+,=')", json!({"s":"This.is+a,test=string"})), Ok(json!(["This","is","a","test","string"])));
    }

    #[test]
    fn hashes_and_base64() {
        assert_eq!(run("States.Hash('input data', 'MD5')", json!({})), Ok(json!("812f45842bc6d66ee14572ce20db8e86")));
        assert_eq!(run("States.Base64Encode('Data to encode')", json!({})), Ok(json!("RGF0YSB0byBlbmNvZGU=")));
        assert_eq!(run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})), Ok(json!("Data to encode")));
    }

    #[test]
    fn parse_errors() {
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.MathAdd(1)").is_err());
        assert!(parse("States.Format('x'").is_err());
        let deep = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
        assert!(parse(&deep).is_err());
    }

    /// Builders that can multiply their input refuse a result past the 256 KiB payload limit
    /// before building it (a template repeating a 200 KB string 1,000 times once built 200 MB).
    #[test]
    fn builders_refuse_results_past_the_payload_limit() {
        let big = "x".repeat(200_000);
        let input = json!({"big": big, "csv": "a,".repeat(100_000), "items": vec![0; 100_000], "o": {"k": big}});
        let template = format!("States.Format('{}', {})", "{}".repeat(1000), vec!["$.big"; 1000].join(", "));
        let too_big = |r: Result<Value, String>| {
            let e = r.expect_err("should be refused");
            assert!(e.contains("exceed the maximum number of bytes service limit (262144 bytes)"), "{e}");
        };
        too_big(run(&template, input.clone()));
        too_big(run("States.Format('{}{}', $.big, $.big)", input.clone()));
        too_big(run("States.StringSplit($.csv, ',')", input.clone()));
        too_big(run("States.ArrayPartition($.items, 1)", input.clone()));
        too_big(run("States.Array($.big, $.big)", input.clone()));
        too_big(run("States.JsonToString(States.Array($.o, $.big))", input.clone()));
        too_big(run("States.JsonMerge($.o, $.p, false)", json!({"o": {"k": big}, "p": {"j": big}})));
        // up to the limit they work as before
        assert_eq!(run("States.ArrayLength(States.StringSplit($.csv, ','))", json!({"csv": "a,".repeat(50_000)})), Ok(json!(50_000)));
        assert_eq!(run("States.ArrayLength(States.ArrayPartition($.items, 2))", json!({"items": vec![0; 50_000]})), Ok(json!(25_000)));
        assert_eq!(run("States.Format('{}', $.big)", input.clone()).map(|v| v.as_str().map(str::len)), Ok(Some(200_000)));
        assert_eq!(run("States.ArrayLength(States.Array($.big))", input), Ok(json!(1)));
    }

    #[test]
    fn json_merge_is_shallow_only() {
        assert_eq!(
            run("States.JsonMerge($.a, $.b, false)", json!({"a":{"x":{"p":1},"y":1},"b":{"x":{"q":2}}})),
            Ok(json!({"x":{"q":2},"y":1}))
        );
        assert!(run("States.JsonMerge($.a, $.b, true)", json!({"a":{},"b":{}})).is_err());
    }
}
