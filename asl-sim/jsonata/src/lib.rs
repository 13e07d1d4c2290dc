//! JSONata 2.0.6, as AWS Step Functions runs it: parser, evaluator and standard library. No I/O.
//!
//! ```
//! let e = jsonata::parse("$sum([1,2,3])").unwrap();
//! let b = serde_json::Map::new();
//! let mut rnd = || 0.5;
//! let mut env = jsonata::Env { bindings: &b, now_millis: 0, random: &mut rnd };
//! assert_eq!(e.evaluate(None, &mut env).unwrap(), Some(serde_json::json!(6)));
//! ```
//!
//! * [`parse`] once, [`Expression::evaluate`] many times; an `Expression` is `Send + Sync`.
//! * The evaluation takes everything from [`Env`]: variable bindings (`{"x": 1}` binds `$x`),
//!   the clock (`$now()`, `$millis()`, and the fields `$toMillis` fills in from "now") and the
//!   random source (`$random()`, `$shuffle`, `$uuid()`).
//! * Errors carry JSONata's codes (`S0xxx` syntax, `T0xxx`/`T1xxx`/`T2xxx` type, `D1xxx`/`D2xxx`/
//!   `D3xxx` dynamic). Deep nesting or runaway recursion gives `U1001` instead of a stack
//!   overflow; an endless loop (tail recursion, or any evaluation past 20 million steps) gives
//!   `U1002`; a string past 256 KiB or an array past 10 million items gives `U1003` before it is
//!   allocated (`limits.rs` says why and cites AWS's quotas).
//! * Results: `Ok(None)` is `undefined`; functions become `""`; integral numbers are JSON
//!   integers carrying the digits JavaScript prints; non-finite numbers are `D1001`.
//! * Step Functions additions, always available: `$partition(array, size)`,
//!   `$range(start, end, step?)` (inclusive end), `$hash(string, algorithm?)` (`MD5`, `SHA-1`,
//!   `SHA-256` (default), `SHA-384`, `SHA-512`; hex), `$random(seed?)` (deterministic with a seed),
//!   `$uuid()` (version 4, from `Env::random`) and `$parse(json)`.
//! * Not in 2.0.6, so not here: the `?:` and `??` operators (JSONata 2.1).
//! * Regular expressions are JavaScript's, run by `fancy-regex` (lookaround and backreferences
//!   work; `\w`, `\d` are ASCII as in JavaScript; `\b` follows Unicode word characters).

#![allow(clippy::type_complexity)]

mod datetime;
mod errors;
mod eval;
mod functions;
mod limits;
mod numfmt;
mod parser;
mod regex_conv;
mod signature;
mod value;

use std::rc::Rc;

/// A JSONata error: code (e.g. "T2001"), message and, where known, the character offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: String,
    pub message: String,
    pub position: Option<usize>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// A parsed expression: parse once, evaluate many times. `Send + Sync`, cheap to share.
#[derive(Debug, Clone)]
pub struct Expression {
    root: parser::Node,
}

/// Everything the evaluation needs from outside.
pub struct Env<'a> {
    /// Variables without the `$`.
    pub bindings: &'a serde_json::Map<String, serde_json::Value>,
    /// What `$now()` and `$millis()` return.
    pub now_millis: i64,
    /// Uniform [0,1): used by `$random()`, `$shuffle`, `$uuid()`.
    pub random: &'a mut dyn FnMut() -> f64,
}

/// Parse a JSONata expression.
pub fn parse(expr: &str) -> Result<Expression, Error> {
    let p = parser::parse(expr)?;
    Ok(Expression { root: p.root })
}

impl Expression {
    /// Evaluate against `input` (None is JSONata's `undefined`). `Ok(None)` is `undefined`.
    pub fn evaluate(
        &self,
        input: Option<&serde_json::Value>,
        env: &mut Env,
    ) -> Result<Option<serde_json::Value>, Error> {
        let r = self.evaluate_raw(input, env)?;
        value::to_json(&r)
    }

    /// As `evaluate`, but tells a result that is a function (which has no JSON
    /// form) apart from a value: Step Functions rejects such a result.
    pub fn evaluate_outcome(&self, input: Option<&serde_json::Value>, env: &mut Env) -> Result<Outcome, Error> {
        let r = self.evaluate_raw(input, env)?;
        if matches!(r, value::Value::Func(_)) {
            return Ok(Outcome::Function);
        }
        Ok(match value::to_json(&r)? {
            Some(v) => Outcome::Value(v),
            None => Outcome::Undefined,
        })
    }

    fn evaluate_raw(&self, input: Option<&serde_json::Value>, env: &mut Env) -> Result<value::Value, Error> {
        let input = match input {
            Some(v) => value::from_json(v),
            None => value::Value::Undefined,
        };
        let mut ev = eval::Ev { env, depth: 0, steps: 0, work: 0, globals: std::collections::HashMap::new(), call_env: None };
        let frame = eval::Frame::new(None);
        frame.bind_str("$", input.clone());
        let input = match &input {
            value::Value::Arr(a) if !a.seq => value::Value::arr_with(vec![input.clone()], |a| {
                a.seq = true;
                a.outer = true
            }),
            v => v.clone(),
        };
        let r = ev.eval(&self.root, &input, &frame)?;
        Ok(functions::strip_output(r))
    }
}

/// What an evaluation gave: a JSON value, nothing (`undefined`), or a function.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Value(serde_json::Value),
    Undefined,
    Function,
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Expression>();
    let _ = Rc::new(0);
}
