//! Execution history in the shape of GetExecutionHistory. Event ids are always
//! counted (causes name them); the events themselves are kept only on request.

use serde_json::{json, Map, Value};

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct History {
    record: bool,
    count: u64,
    events: Vec<Value>,
}

/// A payload as history events carry it: JSON text.
pub fn payload(v: &Value) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_default())
}

/// The details key of each event type, as GetExecutionHistory names it.
fn details_key(ty: &str) -> String {
    let mut k = String::with_capacity(ty.len() + 12);
    let mut chars = ty.chars();
    if let Some(c) = chars.next() {
        k.push(c.to_ascii_lowercase());
    }
    k.extend(chars);
    k.push_str("EventDetails");
    k
}

impl History {
    pub fn new(record: bool) -> Self {
        History { record, count: 0, events: Vec::new() }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Appends an event and returns its id.
    pub fn push(&mut self, now_ms: i64, ty: &str, details: Value) -> u64 {
        self.count += 1;
        if self.record {
            let mut e = Map::new();
            e.insert("timestamp".into(), Value::String(crate::time::format_millis(now_ms)));
            e.insert("type".into(), Value::String(ty.to_string()));
            e.insert("id".into(), Value::from(self.count));
            e.insert("previousEventId".into(), Value::from(self.count - 1));
            // StateExited and StateEntered details share one key each; the rest are per type.
            let key = if ty.ends_with("StateEntered") {
                "stateEnteredEventDetails".to_string()
            } else if ty.ends_with("StateExited") {
                "stateExitedEventDetails".to_string()
            } else {
                details_key(ty)
            };
            if details.as_object().is_some_and(|m| !m.is_empty()) {
                e.insert(key, details);
            }
            self.events.push(Value::Object(e));
        }
        self.count
    }

    /// `PassStateEntered`, `TaskStateExited`, ...: the state's name and data.
    pub fn push_state(&mut self, now_ms: i64, prefix: &str, what: &str, name: &str, data: Option<&Value>) -> u64 {
        if !self.record {
            self.count += 1;
            return self.count;
        }
        let field = if what == "Entered" { "input" } else { "output" };
        let mut d = json!({"name": name});
        if let Some(v) = data {
            d[field] = payload(v);
            d[format!("{field}Details")] = json!({"truncated": false});
        }
        self.push(now_ms, &format!("{prefix}State{what}"), d)
    }
}
