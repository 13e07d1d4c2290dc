//! Internal value model.

use indexmap::IndexMap;
use std::rc::Rc;

/// An object: insertion-ordered, with an iterative drop (deeply nested values cannot
/// overflow the stack when freed).
#[derive(Clone, Default)]
pub(crate) struct Map(IndexMap<Rc<str>, Value>);

impl Map {
    pub fn new() -> Map {
        Map(IndexMap::new())
    }
    pub fn with_capacity(n: usize) -> Map {
        Map(IndexMap::with_capacity(n))
    }
    pub fn take_values(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.0).into_values().collect()
    }
}

fn is_array_index(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 10
        && k.bytes().all(|b| b.is_ascii_digit())
        && (k == "0" || !k.starts_with('0'))
        && k.parse::<u64>().map(|n| n < 4_294_967_295).unwrap_or(false)
}

impl Map {
    /// JavaScript enumerates integer-like keys first, in ascending order, then the others in
    /// insertion order; objects built by JSONata (and JSON.parse) follow that order.
    pub fn js_order(mut self) -> Map {
        if self.0.keys().any(|k| is_array_index(k)) {
            self.0.sort_by(|a, _, b, _| match (is_array_index(a), is_array_index(b)) {
                (true, true) => a.parse::<u64>().unwrap_or(0).cmp(&b.parse::<u64>().unwrap_or(0)),
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                (false, false) => std::cmp::Ordering::Equal,
            });
        }
        self
    }
}

impl std::ops::Deref for Map {
    type Target = IndexMap<Rc<str>, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Map {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        if self.0.values().all(|v| !matches!(v, Value::Arr(_) | Value::Obj(_))) {
            return;
        }
        let mut stack = self.take_values();
        drain_values(&mut stack);
    }
}

fn drain_values(stack: &mut Vec<Value>) {
    while let Some(v) = stack.pop() {
        match v {
            Value::Arr(rc) => {
                if let Ok(mut a) = Rc::try_unwrap(rc) {
                    stack.append(&mut a.items);
                }
            }
            Value::Obj(rc) => {
                if let Ok(mut m) = Rc::try_unwrap(rc) {
                    stack.extend(m.take_values());
                }
            }
            _ => {}
        }
    }
}

#[derive(Clone, Default)]
pub(crate) struct Arr {
    pub items: Vec<Value>,
    pub seq: bool,
    pub keep: bool,
    pub cons: bool,
    pub outer: bool,
    pub tuple: bool,
}

impl Drop for Arr {
    /// Iterative drop, so that very deeply nested values cannot overflow the stack.
    fn drop(&mut self) {
        if self.items.iter().all(|v| !matches!(v, Value::Arr(_) | Value::Obj(_))) {
            return;
        }
        let mut stack = std::mem::take(&mut self.items);
        drain_values(&mut stack);
    }
}

#[derive(Clone)]
pub(crate) enum Value {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Arr>),
    Obj(Rc<Map>),
    Func(Rc<crate::eval::Func>),
}

impl Value {
    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undefined)
    }
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::Str(Rc::from(s))
    }
    pub fn array(items: Vec<Value>) -> Value {
        Value::Arr(Rc::new(Arr { items, ..Default::default() }))
    }
    pub fn seq(items: Vec<Value>) -> Value {
        Value::Arr(Rc::new(Arr { items, seq: true, ..Default::default() }))
    }
    pub fn arr_with(items: Vec<Value>, f: impl FnOnce(&mut Arr)) -> Value {
        let mut a = Arr { items, ..Default::default() };
        f(&mut a);
        Value::Arr(Rc::new(a))
    }
    pub fn as_arr(&self) -> Option<&Arr> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Arr(_))
    }
    pub fn is_func(&self) -> bool {
        matches!(self, Value::Func(_))
    }
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Arr(_) => "array",
            Value::Obj(_) => "object",
            Value::Func(_) => "function",
        }
    }
    /// items if array, else a one-element slice view
    pub fn members(&self) -> Vec<Value> {
        match self {
            Value::Arr(a) => a.items.clone(),
            Value::Undefined => vec![],
            v => vec![v.clone()],
        }
    }
}

/// Deep equality as in jsonata's isDeepEqual.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || deep_equal_inner(a, b))
}

fn deep_equal_inner(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) => true,
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Arr(x), Value::Arr(y)) => {
            x.items.len() == y.items.len() && x.items.iter().zip(y.items.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Obj(x), Value::Obj(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).map(|w| deep_equal(v, w)).unwrap_or(false))
        }
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// JavaScript Number.prototype.toString()
pub(crate) fn fmt_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if n == 0.0 {
        return "0".into();
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return (n as i64).to_string();
    }
    let neg = n < 0.0;
    let s = format!("{:e}", n.abs());
    let (mant, exp) = s.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let nexp = exp + 1; // position of decimal point
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if k <= nexp && nexp <= 21 {
        out.push_str(&digits);
        for _ in 0..(nexp - k) {
            out.push('0');
        }
    } else if 0 < nexp && nexp <= 21 {
        out.push_str(&digits[..nexp as usize]);
        out.push('.');
        out.push_str(&digits[nexp as usize..]);
    } else if -6 < nexp && nexp <= 0 {
        out.push_str("0.");
        for _ in 0..(-nexp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let e = nexp - 1;
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if e >= 0 { '+' } else { '-' });
        out.push_str(&e.abs().to_string());
    }
    out
}

/// Number.prototype.toPrecision(p) then Number() again -> f64
pub(crate) fn to_precision_num(n: f64, p: usize) -> f64 {
    if !n.is_finite() || n == 0.0 || (n.fract() == 0.0 && n.abs() < 1e15) {
        return n;
    }
    let s = format!("{:.*e}", p - 1, n);
    s.parse().unwrap_or(n)
}

pub(crate) fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, v) in o {
                m.insert(Rc::from(k.as_str()), from_json(v));
            }
            Value::Obj(Rc::new(m.js_order()))
        }
    }
}

pub(crate) fn num_to_json(n: f64) -> Option<serde_json::Value> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() < 1e21 {
        // integers: the digits JavaScript would print (beyond 2^53 these are the shortest
        // round-trip digits, e.g. 12345678901234567000), as a JSON integer when they fit
        let s = fmt_number(n);
        if let Ok(i) = s.parse::<i64>() {
            return Some(serde_json::Value::from(i));
        }
        if let Ok(u) = s.parse::<u64>() {
            return Some(serde_json::Value::from(u));
        }
    }
    serde_json::Number::from_f64(n).map(serde_json::Value::Number)
}

/// Convert to JSON. Functions become "" (as JSON.stringify in jsonata's output would yield),
/// undefined inside arrays is dropped, undefined object values are dropped.
/// Deepest nesting of a result handed back as JSON (serde_json frees values recursively).
const MAX_OUTPUT_DEPTH: usize = 2000;

pub(crate) fn to_json(v: &Value) -> Result<Option<serde_json::Value>, crate::Error> {
    let mut budget = crate::limits::MAX_OUTPUT_VALUES;
    to_json_at(v, 0, &mut budget)
}

fn to_json_at(v: &Value, depth: usize, budget: &mut usize) -> Result<Option<serde_json::Value>, crate::Error> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(crate::errors::make("U1001", None, None, None));
    }
    if *budget == 0 {
        let limit = crate::limits::MAX_OUTPUT_VALUES;
        return Err(crate::limits::too_big("The result", limit as u128 + 1, "values", limit, None));
    }
    *budget -= 1;
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || to_json_inner(v, depth, budget))
}

fn to_json_inner(v: &Value, depth: usize, budget: &mut usize) -> Result<Option<serde_json::Value>, crate::Error> {
    Ok(match v {
        Value::Undefined => None,
        Value::Null => Some(serde_json::Value::Null),
        Value::Bool(b) => Some(serde_json::Value::Bool(*b)),
        Value::Num(n) => Some(num_to_json(*n).ok_or_else(|| crate::errors::make("D1001", None, Some(&fmt_number(*n)), None))?),
        Value::Str(s) => Some(serde_json::Value::String(s.to_string())),
        Value::Arr(a) => {
            let mut out = Vec::with_capacity(a.items.len());
            for i in &a.items {
                if let Some(j) = to_json_at(i, depth + 1, budget)? {
                    out.push(j);
                }
            }
            Some(serde_json::Value::Array(out))
        }
        Value::Obj(o) => {
            let mut m = serde_json::Map::new();
            for (k, v) in o.iter() {
                if let Some(j) = to_json_at(v, depth + 1, budget)? {
                    m.insert(k.to_string(), j);
                }
            }
            Some(serde_json::Value::Object(m))
        }
        Value::Func(_) => Some(serde_json::Value::String(String::new())),
    })
}
