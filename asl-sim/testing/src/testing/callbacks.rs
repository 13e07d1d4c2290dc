//! A test file's `callbacks` section: who answers `.waitForTaskToken` tasks and
//! activities during a case, on the case's virtual clock (docs/testing.md).
//!
//! ```yaml
//! callbacks:
//!   Ask For Approval:            # a state name: every time the state waits
//!     heartbeats: 2              # SendTaskHeartbeat twice first ...
//!     every: 10                  # ... 10 s apart (default 1)
//!     after: 5                   # the answer 5 s after the last heartbeat (default 0)
//!     success: {approved: true}  # SendTaskSuccess with this output
//!   Charge Card:                 # a list: the state's first, second, ... wait (the last repeats)
//!     - failure: {error: Card.Declined, cause: insufficient funds}
//!     - success: {charged: true}
//!   Forgotten: {never: true}     # nobody answers: TimeoutSeconds / HeartbeatSeconds decide
//! ```
//!
//! AWS's rules hold for the answers as they would for a real worker: an
//! answer after the task timed out is refused (the execution is not
//! touched), and a heartbeat restarts the HeartbeatSeconds countdown
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html).

use asl_core::definition::{Definition, Kind};
use asl_core::engine::{Answer, Answerer, Wait, WaitKind};
use asl_core::tree::{Node, NodeKind};
use std::collections::HashMap;
use std::path::Path;

/// One scripted answer to one wait of a state.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub heartbeats: u32,
    pub every_ms: i64,
    pub after_ms: i64,
    /// `None`: never answered.
    pub answer: Option<Answer>,
}

/// The parsed section: per state, its scripts in order (the last repeats).
pub type Callbacks = HashMap<String, Vec<Script>>;

const KEYS: &[&str] = &["success", "failure", "never", "heartbeats", "every", "after"];

fn at(file: &Path, n: &Node, msg: impl std::fmt::Display) -> String {
    format!("{}:{}:{}: {msg}", file.display(), n.pos.line, n.pos.col)
}

fn seconds(file: &Path, n: &Node, what: &str) -> Result<i64, String> {
    match &n.kind {
        NodeKind::Number(x) if x.as_f64().is_some_and(|s| s >= 0.0 && s <= 31_536_000.0) => {
            Ok((x.as_f64().unwrap_or(0.0) * 1000.0).round() as i64)
        }
        _ => Err(at(file, n, format!("{what} must be a number of seconds from 0 to 31536000"))),
    }
}

fn script(file: &Path, state: &str, n: &Node) -> Result<Script, String> {
    let what = format!("callbacks.{state}");
    if !matches!(n.kind, NodeKind::Object(_)) {
        return Err(at(file, n, format!("{what} must be a mapping with one of success, failure or never")));
    }
    for e in n.entries() {
        if !KEYS.contains(&e.key.as_str()) {
            let k = Node { pos: e.key_pos, kind: NodeKind::Null, tag: None };
            return Err(at(file, &k, format!("unknown key \"{}\" in {what}; expected one of: {}", e.key, KEYS.join(", "))));
        }
    }
    let answer = match (n.get("success"), n.get("failure"), n.get("never")) {
        (Some(v), None, None) => Some(Answer::Success(v.to_value())),
        (None, Some(f), None) => {
            let error = f.get("error").and_then(Node::as_str);
            let cause = f.get("cause").map(|c| c.as_str().map(str::to_string).ok_or_else(|| at(file, c, format!("{what}.failure.cause must be a string"))));
            match (error, &f.kind) {
                (Some(e), NodeKind::Object(entries)) if entries.iter().all(|x| x.key == "error" || x.key == "cause") => {
                    Some(Answer::Failure { error: e.to_string(), cause: cause.transpose()? })
                }
                _ => return Err(at(file, f, format!("{what}.failure must be {{error: NAME, cause: TEXT}} (cause optional)"))),
            }
        }
        (None, None, Some(v)) if matches!(v.kind, NodeKind::Bool(true)) => None,
        (None, None, Some(v)) => return Err(at(file, v, format!("{what}.never must be true"))),
        (None, None, None) => return Err(at(file, n, format!("{what} needs one of success, failure or never"))),
        _ => return Err(at(file, n, format!("{what}: give only one of success, failure or never"))),
    };
    let heartbeats = match n.get("heartbeats") {
        None => 0,
        Some(h) => match &h.kind {
            NodeKind::Number(x) if x.as_u64().is_some_and(|c| c <= 10_000) => x.as_u64().unwrap_or(0) as u32,
            _ => return Err(at(file, h, format!("{what}.heartbeats must be a whole number from 0 to 10000"))),
        },
    };
    let every_ms = n.get("every").map(|x| seconds(file, x, &format!("{what}.every"))).transpose()?.unwrap_or(1000);
    let after_ms = n.get("after").map(|x| seconds(file, x, &format!("{what}.after"))).transpose()?.unwrap_or(0);
    Ok(Script { heartbeats, every_ms, after_ms, answer })
}

/// Reads the section; `states` are the definition's state names, so a
/// misspelt one is an error here rather than a callback that never fires.
pub fn parse(file: &Path, n: &Node, states: &[String]) -> Result<Callbacks, String> {
    let NodeKind::Object(entries) = &n.kind else {
        return Err(at(file, n, "callbacks must map state names to answers (success, failure or never)"));
    };
    let mut out = Callbacks::new();
    for e in entries {
        if !states.iter().any(|s| s == &e.key) {
            let k = Node { pos: e.key_pos, kind: NodeKind::Null, tag: None };
            return Err(at(file, &k, format!("callbacks names \"{}\", which is not a state of the definition", e.key)));
        }
        let scripts = match &e.value.kind {
            NodeKind::Array(items) if !items.is_empty() => items.iter().map(|i| script(file, &e.key, i)).collect::<Result<Vec<_>, _>>()?,
            NodeKind::Array(_) => return Err(at(file, &e.value, format!("callbacks.{} must not be an empty list", e.key))),
            _ => vec![script(file, &e.key, &e.value)?],
        };
        out.insert(e.key.clone(), scripts);
    }
    Ok(out)
}

/// Answers waits from the section, counting each state's waits.
pub struct Scripted {
    callbacks: Callbacks,
    seen: HashMap<String, usize>,
}

impl Scripted {
    pub fn new(callbacks: Callbacks) -> Scripted {
        Scripted { callbacks, seen: HashMap::new() }
    }
}

impl Answerer for Scripted {
    fn answers(&mut self, wait: &Wait) -> Vec<(i64, Answer)> {
        let WaitKind::Task { state, .. } = &wait.kind else { return Vec::new() };
        let Some(scripts) = self.callbacks.get(state) else { return Vec::new() };
        let n = self.seen.entry(state.clone()).or_insert(0);
        let Some(s) = scripts.get(*n).or(scripts.last()) else { return Vec::new() };
        *n += 1;
        let mut out: Vec<(i64, Answer)> = (1..=i64::from(s.heartbeats)).map(|k| (k * s.every_ms, Answer::Heartbeat)).collect();
        if let Some(a) = &s.answer {
            out.push((i64::from(s.heartbeats) * s.every_ms + s.after_ms, a.clone()));
        }
        out
    }
}

/// Every state name of a definition, nested machines included.
pub fn state_names(def: &Definition) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![&def.machine];
    while let Some(m) = stack.pop() {
        for st in &m.states {
            out.push(st.name.clone());
            match &st.kind {
                Kind::Parallel { branches } => stack.extend(branches.iter()),
                Kind::Map(map) => stack.push(&map.processor),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        asl_core::tree::load(text).expect("yaml")
    }

    fn parse_text(text: &str) -> Result<Callbacks, String> {
        parse(Path::new("t.test.yaml"), &load(text), &["Ask".to_string(), "Pay".to_string()])
    }

    fn task_wait(id: u64, state: &str) -> Wait {
        Wait { id, kind: WaitKind::Task { state: state.into(), resource: "r".into(), token: Some("t".into()), heartbeat_seconds: None }, deadline: None }
    }

    #[test]
    fn heartbeats_then_the_answer_in_order() {
        let cb = parse_text("Ask: {heartbeats: 2, every: 10, after: 5, success: {ok: true}}").expect("parses");
        let mut a = Scripted::new(cb);
        let got = a.answers(&task_wait(1, "Ask"));
        assert_eq!(got, vec![(10_000, Answer::Heartbeat), (20_000, Answer::Heartbeat), (25_000, Answer::Success(serde_json::json!({"ok": true})))]);
    }

    #[test]
    fn a_list_answers_successive_waits_and_its_last_repeats() {
        let cb = parse_text("Pay:\n  - failure: {error: Declined, cause: no}\n  - success: 1\n").expect("parses");
        let mut a = Scripted::new(cb);
        let first = a.answers(&task_wait(1, "Pay"));
        assert_eq!(first, vec![(0, Answer::Failure { error: "Declined".into(), cause: Some("no".into()) })]);
        assert_eq!(a.answers(&task_wait(2, "Pay")), vec![(0, Answer::Success(serde_json::json!(1)))]);
        assert_eq!(a.answers(&task_wait(3, "Pay")), vec![(0, Answer::Success(serde_json::json!(1)))]);
        assert!(a.answers(&task_wait(4, "Other")).is_empty());
    }

    #[test]
    fn never_answers_nothing_but_heartbeats() {
        let cb = parse_text("Ask: {never: true, heartbeats: 1}").expect("parses");
        assert_eq!(Scripted::new(cb).answers(&task_wait(1, "Ask")), vec![(1000, Answer::Heartbeat)]);
    }

    #[test]
    fn malformed_sections_name_the_place() {
        for (text, want) in [
            ("Nope: {success: 1}", "t.test.yaml:1:1: callbacks names \"Nope\", which is not a state"),
            ("Ask: {success: 1, never: true}", "t.test.yaml:1:6: callbacks.Ask: give only one of"),
            ("Ask: {}", "t.test.yaml:1:6: callbacks.Ask needs one of success, failure or never"),
            ("Ask: {failure: {cause: x}}", "t.test.yaml:1:16: callbacks.Ask.failure must be {error: NAME"),
            ("Ask: {success: 1, every: -1}", "t.test.yaml:1:26: callbacks.Ask.every must be a number of seconds"),
            ("Ask: {succes: 1}", "t.test.yaml:1:7: unknown key \"succes\" in callbacks.Ask"),
            ("Ask: []", "t.test.yaml:1:6: callbacks.Ask must not be an empty list"),
            ("- Ask", "t.test.yaml:1:1: callbacks must map state names"),
        ] {
            let e = parse_text(text).expect_err(text);
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }
}
