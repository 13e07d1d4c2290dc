//! The typed state machine, lowered from the spanned document tree.
//!
//! Lowering never stops at the first problem: it returns the machine it could
//! build plus every diagnostic, each with the position of the field at fault.
//! Every embedded language (paths, intrinsic calls, JSONata) is parsed here,
//! once, so evaluation never re-parses a string.

use crate::diagnostic::{Diagnostic, Severity};
use crate::intrinsics::{self, Call};
use crate::path::Path;
use crate::query::JsonataExpr;
use crate::tree::{Node, NodeKind, Pos};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

#[derive(Debug)]
pub struct Definition {
    pub machine: Machine,
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
    pub comment: Option<String>,
}

/// A set of states with a start: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Default)]
pub struct Machine {
    pub states: Vec<State>,
    pub start: usize,
    pub by_name: HashMap<String, usize>,
}

#[derive(Debug)]
pub struct State {
    pub name: String,
    pub pos: Pos,
    pub ql: QueryLanguage,
    pub kind: Kind,
    pub next: Option<usize>,
    pub end: bool,
    pub flow: DataFlow,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// The fields that shape a state's data on its way through, in the order the engine
/// applies them: InputPath, Parameters (JSONata: Arguments), the task, ResultSelector,
/// ResultPath, OutputPath (JSONata: Output); Assign last, against the state's result.
#[derive(Debug, Default)]
pub struct DataFlow {
    pub input_path: IoPath,
    /// JSONPath `Parameters` (Map: `ItemSelector` lives in the Map kind).
    pub parameters: Option<Template>,
    /// JSONata `Arguments`.
    pub arguments: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub output_path: IoPath,
    /// JSONata `Output`.
    pub output: Option<Template>,
    pub assign: Option<Template>,
}

#[derive(Clone, Debug, Default)]
pub enum IoPath {
    /// Absent: `$`, the whole document.
    #[default]
    Whole,
    /// `null`: an empty object.
    Null,
    Path(Path),
}

#[derive(Clone, Debug, Default)]
pub enum ResultPath {
    /// Absent or `$`: the result replaces the input.
    #[default]
    Whole,
    /// `null`: the result is discarded and the input passes through.
    Discard,
    Path(Path),
}

/// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`,
/// `Assign`, JSONata `Arguments`/`Output`): literals with dynamic leaves.
#[derive(Clone, Debug)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// `"key.$": "$.x"`, `"$$.x"` or `"$var"`.
    Path(Path),
    /// `"key.$": "States.Format(...)"`.
    Intrinsic(Arc<Call>),
    /// `"{% expr %}"` in a JSONata state.
    Jsonata(Arc<JsonataExpr>),
}

impl Template {
    /// True when the template has no dynamic part (so it can be returned as is).
    pub fn is_static(&self) -> bool {
        match self {
            Template::Literal(_) => true,
            Template::Object(e) => e.iter().all(|(_, t)| t.is_static()),
            Template::Array(a) => a.iter().all(Template::is_static),
            _ => false,
        }
    }
}

/// A value given literally, by a path, or (JSONata) by an expression:
/// `Seconds`/`SecondsPath`, `MaxConcurrency`/`MaxConcurrencyPath`, ...
#[derive(Clone, Debug)]
pub enum Dyn<T> {
    Literal(T),
    Path(Path),
    Intrinsic(Arc<Call>),
    Jsonata(Arc<JsonataExpr>),
}

#[derive(Debug)]
pub enum Kind {
    Pass { result: Option<Value> },
    Task(Box<Task>),
    Choice { choices: Vec<ChoiceRule>, default: Option<usize> },
    Wait(WaitFor),
    Succeed,
    Fail { error: Option<Dyn<String>>, cause: Option<Dyn<String>> },
    Parallel { branches: Vec<Machine> },
    Map(Box<MapState>),
}

impl Kind {
    /// The state's `Type` as ASL writes it (`Pass`, `Task`, ...), which is also the prefix
    /// of its history event types (`TaskStateEntered`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug)]
pub struct Task {
    pub resource: String,
    pub resource_pos: Pos,
    pub timeout: Option<Dyn<f64>>,
    pub heartbeat: Option<Dyn<f64>>,
    pub credentials: Option<Template>,
}

#[derive(Debug)]
pub enum WaitFor {
    Seconds(Dyn<f64>),
    Timestamp(Dyn<String>),
}

#[derive(Debug)]
pub struct MapState {
    pub processor: Machine,
    pub distributed: bool,
    pub items_path: Option<Path>,
    pub items: Option<Template>,
    pub item_selector: Option<Template>,
    pub max_concurrency: Option<Dyn<f64>>,
    pub tolerated_count: Option<Dyn<f64>>,
    pub tolerated_percentage: Option<Dyn<f64>>,
    pub label: Option<String>,
    pub item_reader: Option<Value>,
    pub item_reader_params: Option<Template>,
    /// `ReaderConfig.MaxItemsPath` (JSONPath) or a `{% %}` `MaxItems` (JSONata), lowered once.
    pub item_reader_max_items: Option<Dyn<f64>>,
    pub item_batcher: Option<ItemBatcher>,
    pub result_writer: Option<Value>,
    pub result_writer_params: Option<Template>,
}

/// `ItemBatcher`, lowered at load time: its numbers and `BatchInput` are
/// evaluated per Map run, never re-parsed.
#[derive(Debug)]
pub struct ItemBatcher {
    pub max_items: Option<Dyn<f64>>,
    pub max_bytes: Option<Dyn<f64>>,
    pub batch_input: Option<Template>,
}

#[derive(Debug)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub result_path: ResultPath,
    pub transition: Transition,
}

#[derive(Debug)]
pub struct ChoiceRule {
    pub rule: Rule,
    pub transition: Transition,
}

/// Where a catcher or a Choice rule sends the execution, and the JSONata `Assign` and
/// `Output` it applies on the way (in place of the state's own).
#[derive(Debug)]
pub struct Transition {
    pub next: usize,
    pub assign: Option<Template>,
    pub output: Option<Template>,
}

#[derive(Debug)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare { variable: Path, op: CmpOp, kind: CmpKind, operand: Operand },
    Test { variable: Path, test: TypeTest, expected: bool },
    Matches { variable: Path, pattern: String },
    Condition(Dyn<bool>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpKind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

// ---------------------------------------------------------------------------
// Lowering

pub struct Lowering<'a> {
    pub diags: Vec<Diagnostic>,
    /// SAM `DefinitionSubstitutions`: `${Name}` is replaced in every string.
    subs: &'a HashMap<String, String>,
}

const TOP_FIELDS: &[&str] = &["StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"];

/// Lowers a whole definition. The result is `None` only when there is no
/// usable machine at all (for example the document is not an object).
pub fn lower(root: &Node, subs: &HashMap<String, String>) -> (Option<Definition>, Vec<Diagnostic>) {
    let mut l = Lowering { diags: Vec::new(), subs };
    let def = l.definition(root);
    (def, l.diags)
}

/// The substitutions of a lowering that has none (templates built at run time).
static NO_SUBS: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();

impl Lowering<'static> {
    /// A lowering outside any definition, for templates found at run time
    /// (ItemBatcher's BatchInput). Its diagnostics are discarded.
    pub fn new_detached() -> Lowering<'static> {
        Lowering { diags: Vec::new(), subs: NO_SUBS.get_or_init(HashMap::new) }
    }
}

impl Lowering<'_> {
    fn error(&mut self, pos: Pos, code: &'static str, msg: impl Into<String>) {
        self.diags.push(Diagnostic { code, severity: Severity::Error, pos, message: msg.into() });
    }
    fn warn(&mut self, pos: Pos, code: &'static str, msg: impl Into<String>) {
        self.diags.push(Diagnostic { code, severity: Severity::Warning, pos, message: msg.into() });
    }

    fn subst(&self, s: &str) -> String {
        if self.subs.is_empty() || !s.contains("${") {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) if self.subs.contains_key(&after[..j]) => {
                    out.push_str(&self.subs[&after[..j]]);
                    rest = &after[j + 1..];
                }
                _ => {
                    out.push_str("${");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The node with substitutions applied to every string in it.
    fn subst_node(&self, n: &Node) -> Node {
        if self.subs.is_empty() {
            return n.clone();
        }
        let kind = match &n.kind {
            NodeKind::String(s) => NodeKind::String(self.subst(s)),
            NodeKind::Array(a) => NodeKind::Array(a.iter().map(|x| self.subst_node(x)).collect()),
            NodeKind::Object(e) => NodeKind::Object(
                e.iter()
                    .map(|x| crate::tree::Entry { key: x.key.clone(), key_pos: x.key_pos, value: self.subst_node(&x.value) })
                    .collect(),
            ),
            k => k.clone(),
        };
        Node { pos: n.pos, kind, tag: n.tag.clone() }
    }

    fn definition(&mut self, root: &Node) -> Option<Definition> {
        if !matches!(root.kind, NodeKind::Object(_)) {
            self.error(root.pos, "E001", format!("a state machine definition must be an object, not {}", root.type_name()));
            return None;
        }
        self.check_fields(root, TOP_FIELDS, "the state machine");
        let ql = match root.get("QueryLanguage") {
            None => QueryLanguage::JsonPath,
            Some(n) => self.query_language(n).unwrap_or(QueryLanguage::JsonPath),
        };
        let timeout_seconds = root.get("TimeoutSeconds").and_then(|n| self.positive_int(n, "TimeoutSeconds"));
        if let Some(v) = root.get("Version") {
            if v.as_str() != Some("1.0") {
                self.error(v.pos, "E002", "Version must be \"1.0\"");
            }
        }
        let machine = self.machine(root, ql, "the state machine")?;
        let comment = root.get("Comment").and_then(|c| c.as_str()).map(str::to_string);
        Some(Definition { machine, timeout_seconds, query_language: ql, comment })
    }

    fn query_language(&mut self, n: &Node) -> Option<QueryLanguage> {
        match n.as_str() {
            Some("JSONPath") => Some(QueryLanguage::JsonPath),
            Some("JSONata") => Some(QueryLanguage::Jsonata),
            _ => {
                self.error(n.pos, "E003", "QueryLanguage must be \"JSONPath\" or \"JSONata\"");
                None
            }
        }
    }

    fn check_fields(&mut self, n: &Node, allowed: &[&str], what: &str) {
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        for e in n.entries() {
            if let Some(first) = seen.insert(e.key.as_str(), e.key_pos) {
                self.error(e.key_pos, "E004", format!("duplicate field \"{}\" in {what} (first at {first})", e.key));
            }
            if !allowed.contains(&e.key.as_str()) {
                self.error(e.key_pos, "E005", format!("unknown field \"{}\" in {what}", e.key));
            }
        }
    }

    fn positive_int(&mut self, n: &Node, field: &str) -> Option<u64> {
        match &n.kind {
            NodeKind::Number(x) if x.as_u64().is_some_and(|v| v > 0) => x.as_u64(),
            _ => {
                self.error(n.pos, "E006", format!("{field} must be a positive integer"));
                None
            }
        }
    }

    fn machine(&mut self, n: &Node, ql: QueryLanguage, what: &str) -> Option<Machine> {
        let states_node = match n.get("States") {
            Some(s) if matches!(s.kind, NodeKind::Object(_)) => s,
            Some(s) => {
                self.error(s.pos, "E007", "States must be an object");
                return None;
            }
            None => {
                self.error(n.pos, "E008", format!("{what} has no States"));
                return None;
            }
        };
        let mut by_name = HashMap::new();
        for (i, e) in states_node.entries().iter().enumerate() {
            if e.key.is_empty() || e.key.chars().count() > 80 {
                self.error(e.key_pos, "E009", format!("state name \"{}\" must be 1 to 80 characters", e.key));
            }
            by_name.entry(e.key.clone()).or_insert(i);
        }
        let start = match n.get("StartAt") {
            Some(s) => match s.as_str() {
                Some(name) => match by_name.get(name) {
                    Some(&i) => i,
                    None => {
                        self.error(s.pos, "E010", format!("StartAt names \"{name}\", which is not a state in {what}"));
                        0
                    }
                },
                None => {
                    self.error(s.pos, "E011", "StartAt must be a string");
                    0
                }
            },
            None => {
                self.error(n.pos, "E012", format!("{what} has no StartAt"));
                0
            }
        };
        let mut states = Vec::new();
        for e in states_node.entries() {
            states.push(self.state(&e.key, e.key_pos, &e.value, ql, &by_name));
        }
        if states.is_empty() {
            self.error(states_node.pos, "E013", format!("{what} has no states"));
            return None;
        }
        let m = Machine { states, start, by_name };
        self.check_reachability(&m);
        Some(m)
    }

    fn check_reachability(&mut self, m: &Machine) {
        let mut seen = vec![false; m.states.len()];
        let mut stack = vec![m.start];
        while let Some(i) = stack.pop() {
            if i >= seen.len() || seen[i] {
                continue;
            }
            seen[i] = true;
            let s = &m.states[i];
            stack.extend(s.next);
            stack.extend(s.catch.iter().map(|c| c.transition.next));
            if let Kind::Choice { choices, default } = &s.kind {
                stack.extend(choices.iter().map(|c| c.transition.next));
                stack.extend(*default);
            }
        }
        let unreachable: Vec<(Pos, String)> =
            m.states.iter().zip(&seen).filter(|(_, r)| !**r).map(|(s, _)| (s.pos, s.name.clone())).collect();
        for (pos, name) in unreachable {
            self.error(pos, "E014", format!("state \"{name}\" is not reachable from StartAt"));
        }
    }

    fn state(&mut self, name: &str, pos: Pos, n: &Node, parent_ql: QueryLanguage, names: &HashMap<String, usize>) -> State {
        let ql = n.get("QueryLanguage").and_then(|q| self.query_language(q)).unwrap_or(parent_ql);
        if parent_ql == QueryLanguage::Jsonata && ql == QueryLanguage::JsonPath && n.get("QueryLanguage").is_some() {
            self.error(pos, "E015", format!("state \"{name}\" cannot use JSONPath inside a JSONata state machine"));
        }
        let ty = n.get("Type").and_then(|t| t.as_str()).unwrap_or("");
        let mut st = State {
            name: name.to_string(),
            pos,
            ql,
            kind: Kind::Succeed,
            next: None,
            end: false,
            flow: DataFlow::default(),
            retry: Vec::new(),
            catch: Vec::new(),
        };
        if !matches!(n.kind, NodeKind::Object(_)) {
            self.error(n.pos, "E016", format!("state \"{name}\" must be an object"));
            return st;
        }
        let jp = ql == QueryLanguage::JsonPath;
        // Fields every state type may have, per query language.
        let mut allowed: Vec<&str> = vec!["Type", "Comment", "QueryLanguage"];
        let io_jp = ["InputPath", "OutputPath"];
        let flow = ["Next", "End"];
        let (mut fields, has_flow): (Vec<&str>, bool) = match ty {
            "Pass" => (if jp { vec!["Result", "ResultPath", "Parameters", "Assign"] } else { vec!["Output", "Assign"] }, true),
            "Task" => (
                if jp {
                    vec!["Resource", "Parameters", "ResultSelector", "ResultPath", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials", "Assign"]
                } else {
                    vec!["Resource", "Arguments", "Output", "TimeoutSeconds", "HeartbeatSeconds", "Retry", "Catch", "Credentials", "Assign"]
                },
                true,
            ),
            "Choice" => (if jp { vec!["Choices", "Default", "Assign"] } else { vec!["Choices", "Default", "Assign", "Output"] }, false),
            "Wait" => (
                if jp { vec!["Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"] } else { vec!["Seconds", "Timestamp", "Output", "Assign"] },
                true,
            ),
            "Succeed" => (if jp { vec![] } else { vec!["Output"] }, false),
            "Fail" => (if jp { vec!["Error", "ErrorPath", "Cause", "CausePath"] } else { vec!["Error", "Cause"] }, false),
            "Parallel" => (
                if jp {
                    vec!["Branches", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign"]
                } else {
                    vec!["Branches", "Arguments", "Output", "Retry", "Catch", "Assign"]
                },
                true,
            ),
            "Map" => (
                if jp {
                    vec![
                        "Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector",
                        "ResultPath", "Retry", "Catch", "Assign", "ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailureCount",
                        "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label",
                    ]
                } else {
                    vec![
                        "ItemProcessor", "Items", "ItemSelector", "MaxConcurrency", "Output", "Retry", "Catch", "Assign", "ItemReader", "ItemBatcher",
                        "ResultWriter", "ToleratedFailureCount", "ToleratedFailurePercentage", "Label",
                    ]
                },
                true,
            ),
            "" => {
                self.error(n.pos, "E017", format!("state \"{name}\" has no Type"));
                return st;
            }
            other => {
                let p = n.get("Type").map_or(n.pos, |t| t.pos);
                self.error(p, "E018", format!("state \"{name}\" has unknown Type \"{other}\""));
                return st;
            }
        };
        if has_flow {
            fields.extend(flow);
        }
        if jp && ty != "Fail" {
            fields.extend(io_jp);
        }
        allowed.extend(fields);
        let what = format!("state \"{name}\"");
        if !jp {
            for f in ["InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "ItemsPath"] {
                if let Some(e) = n.entries().iter().find(|e| e.key == f) {
                    self.error(e.key_pos, "E019", format!("{f} is not allowed in JSONata {what}; use Arguments, Output or Items"));
                }
            }
        }
        let unknown_ok: Vec<&str> = if jp { vec![] } else { vec!["InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "ItemsPath"] };
        let allowed_all: Vec<&str> = allowed.iter().copied().chain(unknown_ok).collect();
        self.check_fields(n, &allowed_all, &what);

        // Transitions.
        if has_flow {
            match (n.get("Next"), n.get("End")) {
                (Some(next), None) => st.next = self.target(next, names, &what),
                (None, Some(end)) => {
                    if !matches!(end.kind, NodeKind::Bool(true)) {
                        self.error(end.pos, "E020", format!("End in {what} must be true"));
                    }
                    st.end = true;
                }
                (Some(next), Some(_)) => {
                    self.error(next.pos, "E021", format!("{what} has both Next and End"));
                    st.next = self.target(next, names, &what);
                }
                (None, None) => self.error(pos, "E022", format!("{what} has neither Next nor End")),
            }
        }

        if jp {
            st.flow.input_path = self.io_path(n.get("InputPath"), "InputPath");
            st.flow.output_path = self.io_path(n.get("OutputPath"), "OutputPath");
            st.flow.result_path = self.result_path(n.get("ResultPath"), "ResultPath");
            if let Some(p) = n.get("Parameters") {
                if ty != "Map" {
                    st.flow.parameters = Some(self.template(p, ql, "Parameters"));
                }
            }
            if let Some(p) = n.get("ResultSelector") {
                st.flow.result_selector = Some(self.template(p, ql, "ResultSelector"));
            }
        } else {
            if let Some(p) = n.get("Arguments") {
                st.flow.arguments = Some(self.template(p, ql, "Arguments"));
            }
            if let Some(p) = n.get("Output") {
                st.flow.output = Some(self.template(p, ql, "Output"));
            }
        }
        if let Some(a) = n.get("Assign") {
            if !matches!(a.kind, NodeKind::Object(_)) && jp {
                self.error(a.pos, "E023", "Assign must be an object");
            }
            st.flow.assign = Some(self.template(a, ql, "Assign"));
        }
        if let Some(r) = n.get("Retry") {
            st.retry = self.retriers(r);
        }
        if let Some(c) = n.get("Catch") {
            st.catch = self.catchers(c, ql, names);
        }

        st.kind = match ty {
            "Pass" => Kind::Pass { result: n.get("Result").map(|r| self.subst_node(r).to_value()) },
            "Task" => self.task(n, ql, &what),
            "Choice" => self.choice(n, ql, names, &what),
            "Wait" => self.wait(n, ql, &what),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.fail_field(n, "Error", "ErrorPath", ql),
                cause: self.fail_field(n, "Cause", "CausePath", ql),
            },
            "Parallel" => {
                let mut branches = Vec::new();
                match n.get("Branches") {
                    Some(b) => match &b.kind {
                        NodeKind::Array(items) if !items.is_empty() => {
                            for (i, item) in items.iter().enumerate() {
                                self.check_fields(item, &["StartAt", "States", "Comment", "QueryLanguage"], "a branch");
                                if let Some(m) = self.machine(item, ql, &format!("branch {i} of {what}")) {
                                    branches.push(m);
                                }
                            }
                        }
                        _ => self.error(b.pos, "E024", format!("Branches of {what} must be a non-empty array")),
                    },
                    None => self.error(pos, "E025", format!("{what} has no Branches")),
                }
                Kind::Parallel { branches }
            }
            "Map" => self.map(n, ql, &what),
            _ => Kind::Succeed,
        };
        st
    }

    fn target(&mut self, n: &Node, names: &HashMap<String, usize>, what: &str) -> Option<usize> {
        match n.as_str() {
            Some(s) => match names.get(s) {
                Some(&i) => Some(i),
                None => {
                    self.error(n.pos, "E026", format!("{what} transitions to \"{s}\", which is not a state in its scope"));
                    None
                }
            },
            None => {
                self.error(n.pos, "E027", "a transition target must be a state name");
                None
            }
        }
    }

    fn io_path(&mut self, n: Option<&Node>, field: &str) -> IoPath {
        self.nullable_path(n, field, IoPath::Null, |this, s, pos| match Path::parse(&this.subst(s)) {
            Ok(p) => IoPath::Path(p),
            Err(e) => {
                this.error(pos, "E028", format!("{field} is not a valid path: {e}"));
                IoPath::Whole
            }
        })
    }

    fn result_path(&mut self, n: Option<&Node>, field: &str) -> ResultPath {
        self.nullable_path(n, field, ResultPath::Discard, |this, s, pos| match Path::parse(s) {
            Ok(p) if p.is_reference() => {
                if p.steps().is_some_and(|s| s.is_empty()) {
                    ResultPath::Whole
                } else {
                    ResultPath::Path(p)
                }
            }
            Ok(_) => {
                this.error(pos, "E030", format!("{field} must be a reference path (names and indexes under $ only)"));
                ResultPath::Whole
            }
            Err(e) => {
                this.error(pos, "E028", format!("{field} is not a valid path: {e}"));
                ResultPath::Whole
            }
        })
    }

    /// InputPath, OutputPath, ResultPath: absent is the whole document (the default),
    /// `null` is `null`, a string is what `path` makes of it; anything else is E029.
    fn nullable_path<T: Default>(&mut self, n: Option<&Node>, field: &str, null: T, path: impl FnOnce(&mut Self, &str, Pos) -> T) -> T {
        let Some(n) = n else { return T::default() };
        match &n.kind {
            NodeKind::Null => null,
            NodeKind::String(s) => path(self, s, n.pos),
            _ => {
                self.error(n.pos, "E029", format!("{field} must be a string or null"));
                T::default()
            }
        }
    }

    /// A payload template. In JSONPath states `key.$` fields hold paths or
    /// intrinsic calls; in JSONata states any string `{% ... %}` is an expression.
    pub fn template(&mut self, n: &Node, ql: QueryLanguage, field: &str) -> Template {
        self.template_at(n, ql, field, 0)
    }

    fn template_at(&mut self, n: &Node, ql: QueryLanguage, field: &str, depth: usize) -> Template {
        if depth > 200 {
            self.error(n.pos, "E031", format!("{field} is nested too deeply"));
            return Template::Literal(Value::Null);
        }
        match &n.kind {
            NodeKind::Object(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                let mut seen: HashMap<String, Pos> = HashMap::new();
                for e in entries {
                    if ql == QueryLanguage::JsonPath && e.key.ends_with(".$") {
                        let key = e.key[..e.key.len() - 2].to_string();
                        if let Some(first) = seen.insert(key.clone(), e.key_pos) {
                            self.error(e.key_pos, "E032", format!("field \"{key}\" of {field} is given twice (also at {first})"));
                        }
                        let t = match e.value.as_str() {
                            Some(s) => {
                                let s = self.subst(s);
                                self.dynamic(&s, e.value.pos, &e.key, field)
                            }
                            None => {
                                self.error(e.value.pos, "E033", format!("the value of \"{}\" in {field} must be a path or intrinsic function string", e.key));
                                Template::Literal(Value::Null)
                            }
                        };
                        out.push((key, t));
                    } else {
                        if let Some(first) = seen.insert(e.key.clone(), e.key_pos) {
                            self.error(e.key_pos, "E032", format!("field \"{}\" of {field} is given twice (also at {first})", e.key));
                        }
                        if ql == QueryLanguage::JsonPath {
                            if let Some(s) = e.value.as_str() {
                                if (s.starts_with("$.") || s.starts_with("$$.") || s == "$") && field != "Result" {
                                    self.warn(
                                        e.value.pos,
                                        "W001",
                                        format!("\"{}\" looks like a path, but its key does not end in \".$\", so it is passed as a literal string", e.key),
                                    );
                                }
                            }
                        }
                        let t = self.template_at(&e.value, ql, field, depth + 1);
                        out.push((e.key.clone(), t));
                    }
                }
                let t = Template::Object(out);
                if t.is_static() {
                    Template::Literal(self.subst_node(n).to_value())
                } else {
                    t
                }
            }
            NodeKind::Array(items) => {
                let t = Template::Array(items.iter().map(|x| self.template_at(x, ql, field, depth + 1)).collect());
                if t.is_static() {
                    Template::Literal(self.subst_node(n).to_value())
                } else {
                    t
                }
            }
            NodeKind::String(s) if ql == QueryLanguage::Jsonata => {
                let s = self.subst(s);
                match crate::query::jsonata_template(&s) {
                    Some(Ok(expr)) => Template::Jsonata(Arc::new(expr)),
                    Some(Err(e)) => {
                        self.error(n.pos, "E034", format!("invalid JSONata expression in {field}: {e}"));
                        Template::Literal(Value::String(s))
                    }
                    None => Template::Literal(Value::String(s)),
                }
            }
            _ => Template::Literal(self.subst_node(n).to_value()),
        }
    }

    fn dynamic(&mut self, s: &str, pos: Pos, key: &str, field: &str) -> Template {
        if intrinsics::looks_like_call(s) {
            match intrinsics::parse(s) {
                Ok(c) => Template::Intrinsic(Arc::new(c)),
                Err(e) => {
                    self.error(pos, "E035", format!("invalid intrinsic function call in \"{key}\" of {field}: {e}"));
                    Template::Literal(Value::Null)
                }
            }
        } else {
            match Path::parse(s) {
                Ok(p) => Template::Path(p),
                Err(e) => {
                    self.error(pos, "E028", format!("\"{key}\" of {field} is not a valid path: {e}"));
                    Template::Literal(Value::Null)
                }
            }
        }
    }

    fn jsonata_or_literal<T>(&mut self, n: &Node, lit: impl FnOnce(&Node) -> Option<T>, field: &str) -> Option<Dyn<T>> {
        if let Some(s) = n.as_str() {
            let s = self.subst(s);
            if let Some(r) = crate::query::jsonata_template(&s) {
                return match r {
                    Ok(e) => Some(Dyn::Jsonata(Arc::new(e))),
                    Err(e) => {
                        self.error(n.pos, "E034", format!("invalid JSONata expression in {field}: {e}"));
                        None
                    }
                };
            }
        }
        match lit(n) {
            Some(v) => Some(Dyn::Literal(v)),
            None => {
                self.error(n.pos, "E036", format!("{field} has the wrong type"));
                None
            }
        }
    }

    fn path_field(&mut self, n: &Node, field: &str) -> Option<Path> {
        match n.as_str() {
            Some(s) => match Path::parse(&self.subst(s)) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.error(n.pos, "E028", format!("{field} is not a valid path: {e}"));
                    None
                }
            },
            None => {
                self.error(n.pos, "E029", format!("{field} must be a path string"));
                None
            }
        }
    }

    /// A number given as `Field` or `FieldPath` (or a JSONata expression).
    fn number_pair(&mut self, n: &Node, field: &str, path_field: &str, ql: QueryLanguage) -> Option<Dyn<f64>> {
        if let (Some(_), Some(p)) = (n.get(field), n.get(path_field)) {
            self.error(p.pos, "E037", format!("{field} and {path_field} cannot both be given"));
        }
        if let Some(v) = n.get(field) {
            if ql == QueryLanguage::Jsonata {
                return self.jsonata_or_literal(v, |x| match &x.kind {
                    NodeKind::Number(n) => n.as_f64(),
                    _ => None,
                }, field);
            }
            return match &v.kind {
                NodeKind::Number(x) => x.as_f64().map(Dyn::Literal),
                _ => {
                    self.error(v.pos, "E036", format!("{field} must be a number"));
                    None
                }
            };
        }
        n.get(path_field).and_then(|p| self.path_field(p, path_field)).map(Dyn::Path)
    }

    fn task(&mut self, n: &Node, ql: QueryLanguage, what: &str) -> Kind {
        let (resource, resource_pos) = match n.get("Resource") {
            Some(r) => match r.as_str() {
                Some(s) => {
                    let s = self.subst(s);
                    if !s.contains("${") {
                        if let Err(msg) = check_resource(&s) {
                            self.error(r.pos, "E038", format!("Resource of {what}: {msg}"));
                        }
                    }
                    (s, r.pos)
                }
                None => {
                    self.error(r.pos, "E039", "Resource must be a string");
                    (String::new(), r.pos)
                }
            },
            None => {
                self.error(n.pos, "E040", format!("{what} has no Resource"));
                (String::new(), n.pos)
            }
        };
        let timeout = self.number_pair(n, "TimeoutSeconds", "TimeoutSecondsPath", ql);
        let heartbeat = self.number_pair(n, "HeartbeatSeconds", "HeartbeatSecondsPath", ql);
        let credentials = n.get("Credentials").map(|c| self.template(c, ql, "Credentials"));
        Kind::Task(Box::new(Task { resource, resource_pos, timeout, heartbeat, credentials }))
    }

    fn wait(&mut self, n: &Node, ql: QueryLanguage, what: &str) -> Kind {
        let given: Vec<&str> =
            ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"].into_iter().filter(|f| n.get(f).is_some()).collect();
        if given.len() != 1 {
            self.error(n.pos, "E041", format!("{what} must have exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"));
        }
        if let Some(s) = n.get("Seconds") {
            if ql == QueryLanguage::Jsonata {
                if let Some(d) = self.jsonata_or_literal(s, |x| match &x.kind {
                    NodeKind::Number(n) => n.as_f64(),
                    _ => None,
                }, "Seconds") {
                    return Kind::Wait(WaitFor::Seconds(d));
                }
            } else {
                match &s.kind {
                    NodeKind::Number(x) if x.as_u64().is_some() => return Kind::Wait(WaitFor::Seconds(Dyn::Literal(x.as_f64().unwrap_or(0.0)))),
                    _ => self.error(s.pos, "E042", "Seconds must be a non-negative integer"),
                }
            }
        }
        if let Some(p) = n.get("SecondsPath").and_then(|p| self.path_field(p, "SecondsPath")) {
            return Kind::Wait(WaitFor::Seconds(Dyn::Path(p)));
        }
        if let Some(t) = n.get("Timestamp") {
            if ql == QueryLanguage::Jsonata {
                if let Some(d) = self.jsonata_or_literal(t, |x| x.as_str().map(str::to_string), "Timestamp") {
                    return Kind::Wait(WaitFor::Timestamp(d));
                }
            } else if let Some(s) = t.as_str() {
                if crate::time::parse_timestamp(s).is_none() {
                    self.error(t.pos, "E043", format!("Timestamp \"{s}\" is not an ISO-8601 timestamp"));
                }
                return Kind::Wait(WaitFor::Timestamp(Dyn::Literal(s.to_string())));
            } else {
                self.error(t.pos, "E043", "Timestamp must be a string");
            }
        }
        if let Some(p) = n.get("TimestampPath").and_then(|p| self.path_field(p, "TimestampPath")) {
            return Kind::Wait(WaitFor::Timestamp(Dyn::Path(p)));
        }
        Kind::Wait(WaitFor::Seconds(Dyn::Literal(0.0)))
    }

    fn fail_field(&mut self, n: &Node, field: &str, path_field: &str, ql: QueryLanguage) -> Option<Dyn<String>> {
        if let (Some(_), Some(p)) = (n.get(field), n.get(path_field)) {
            self.error(p.pos, "E037", format!("{field} and {path_field} cannot both be given"));
        }
        if let Some(v) = n.get(field) {
            if ql == QueryLanguage::Jsonata {
                return self.jsonata_or_literal(v, |x| x.as_str().map(str::to_string), field);
            }
            return match v.as_str() {
                Some(s) => Some(Dyn::Literal(self.subst(s))),
                None => {
                    self.error(v.pos, "E036", format!("{field} must be a string"));
                    None
                }
            };
        }
        let p = n.get(path_field)?;
        let s = self.subst(p.as_str().unwrap_or_default());
        if intrinsics::looks_like_call(&s) {
            match intrinsics::parse(&s) {
                Ok(c) => Some(Dyn::Intrinsic(Arc::new(c))),
                Err(e) => {
                    self.error(p.pos, "E035", format!("invalid intrinsic function call in {path_field}: {e}"));
                    None
                }
            }
        } else {
            self.path_field(p, path_field).map(Dyn::Path)
        }
    }

    fn error_list(&mut self, n: Option<&Node>, owner: &str, pos: Pos) -> Vec<String> {
        let Some(n) = n else {
            self.error(pos, "E044", format!("{owner} has no ErrorEquals"));
            return Vec::new();
        };
        let NodeKind::Array(items) = &n.kind else {
            self.error(n.pos, "E045", "ErrorEquals must be a non-empty array of strings");
            return Vec::new();
        };
        if items.is_empty() {
            self.error(n.pos, "E045", "ErrorEquals must be a non-empty array of strings");
        }
        let names: Vec<String> = items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect();
        if names.len() != items.len() {
            self.error(n.pos, "E045", "ErrorEquals must be a non-empty array of strings");
        }
        if names.iter().any(|e| e == "States.ALL") && names.len() > 1 {
            self.error(n.pos, "E046", "States.ALL must appear alone in ErrorEquals");
        }
        names
    }

    fn retriers(&mut self, n: &Node) -> Vec<Retrier> {
        let NodeKind::Array(items) = &n.kind else {
            self.error(n.pos, "E047", "Retry must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, r) in items.iter().enumerate() {
            self.check_fields(r, &["ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"], "a retrier");
            let errors = self.error_list(r.get("ErrorEquals"), "a retrier", r.pos);
            if errors.iter().any(|e| e == "States.ALL") && i + 1 != items.len() {
                self.error(r.pos, "E048", "a retrier with States.ALL must be the last one");
            }
            let num = |l: &mut Self, f: &str, min: f64, max: f64, int: bool| -> Option<f64> {
                let v = r.get(f)?;
                match &v.kind {
                    NodeKind::Number(x) => {
                        let x = x.as_f64().unwrap_or(-1.0);
                        if x < min || x > max || (int && x.fract() != 0.0) {
                            l.error(v.pos, "E049", format!("{f} must be {} from {min} to {max}", if int { "an integer" } else { "a number" }));
                            None
                        } else {
                            Some(x)
                        }
                    }
                    _ => {
                        l.error(v.pos, "E049", format!("{f} must be a number"));
                        None
                    }
                }
            };
            let interval_seconds = num(self, "IntervalSeconds", 1.0, 99_999_999.0, true).unwrap_or(1.0);
            let max_attempts = num(self, "MaxAttempts", 0.0, 99_999_999.0, true).unwrap_or(3.0) as u32;
            let backoff_rate = num(self, "BackoffRate", 1.0, f64::MAX, false).unwrap_or(2.0);
            let max_delay_seconds = num(self, "MaxDelaySeconds", 1.0, 31_622_400.0, true);
            let jitter_full = match r.get("JitterStrategy") {
                None => false,
                Some(j) => match j.as_str() {
                    Some("FULL") => true,
                    Some("NONE") => false,
                    _ => {
                        self.error(j.pos, "E050", "JitterStrategy must be FULL or NONE");
                        false
                    }
                },
            };
            out.push(Retrier { errors, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, jitter_full });
        }
        out
    }

    fn catchers(&mut self, n: &Node, ql: QueryLanguage, names: &HashMap<String, usize>) -> Vec<Catcher> {
        let NodeKind::Array(items) = &n.kind else {
            self.error(n.pos, "E051", "Catch must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in items.iter().enumerate() {
            let allowed: &[&str] =
                if ql == QueryLanguage::JsonPath { &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"] } else { &["ErrorEquals", "Next", "Output", "Assign", "Comment"] };
            self.check_fields(c, allowed, "a catcher");
            let errors = self.error_list(c.get("ErrorEquals"), "a catcher", c.pos);
            if errors.iter().any(|e| e == "States.ALL") && i + 1 != items.len() {
                self.error(c.pos, "E048", "a catcher with States.ALL must be the last one");
            }
            let next = match c.get("Next") {
                Some(nx) => self.target(nx, names, "a catcher"),
                None => {
                    self.error(c.pos, "E052", "a catcher has no Next");
                    None
                }
            };
            let result_path = self.result_path(c.get("ResultPath"), "ResultPath");
            let assign = c.get("Assign").map(|a| self.template(a, ql, "Assign"));
            let output = c.get("Output").map(|a| self.template(a, ql, "Output"));
            if let Some(next) = next {
                out.push(Catcher { errors, result_path, transition: Transition { next, assign, output } });
            }
        }
        out
    }

    fn choice(&mut self, n: &Node, ql: QueryLanguage, names: &HashMap<String, usize>, what: &str) -> Kind {
        let mut choices = Vec::new();
        match n.get("Choices") {
            Some(c) => match &c.kind {
                NodeKind::Array(items) if !items.is_empty() => {
                    for item in items {
                        let next = match item.get("Next") {
                            Some(nx) => self.target(nx, names, what),
                            None => {
                                self.error(item.pos, "E053", format!("a choice rule of {what} has no Next"));
                                None
                            }
                        };
                        let rule = self.rule(item, ql, true);
                        let assign = item.get("Assign").map(|a| self.template(a, ql, "Assign"));
                        let output = item.get("Output").map(|a| self.template(a, ql, "Output"));
                        if let (Some(rule), Some(next)) = (rule, next) {
                            choices.push(ChoiceRule { rule, transition: Transition { next, assign, output } });
                        }
                    }
                }
                _ => self.error(c.pos, "E054", format!("Choices of {what} must be a non-empty array")),
            },
            None => self.error(n.pos, "E055", format!("{what} has no Choices")),
        }
        let default = n.get("Default").and_then(|d| self.target(d, names, what));
        Kind::Choice { choices, default }
    }

    fn rule(&mut self, n: &Node, ql: QueryLanguage, top: bool) -> Option<Rule> {
        if !matches!(n.kind, NodeKind::Object(_)) {
            self.error(n.pos, "E056", "a choice rule must be an object");
            return None;
        }
        if ql == QueryLanguage::Jsonata {
            self.check_fields(n, &["Condition", "Next", "Assign", "Output", "Comment"], "a choice rule");
            let c = n.get("Condition");
            return match c {
                Some(c) => self.jsonata_or_literal(c, |x| match x.kind {
                    NodeKind::Bool(b) => Some(b),
                    _ => None,
                }, "Condition").map(Rule::Condition),
                None => {
                    self.error(n.pos, "E057", "a JSONata choice rule needs a Condition");
                    None
                }
            };
        }
        let meta: &[&str] = if top { &["Next", "Comment", "Assign"] } else { &["Comment"] };
        let ops: Vec<&crate::tree::Entry> =
            n.entries().iter().filter(|e| e.key != "Variable" && !meta.contains(&e.key.as_str())).collect();
        if ops.len() != 1 {
            let names: Vec<&str> = ops.iter().map(|e| e.key.as_str()).collect();
            self.error(n.pos, "E058", format!("a choice rule needs exactly one comparison operator, And, Or or Not; found {names:?}"));
            return None;
        }
        let op = ops[0];
        match op.key.as_str() {
            "And" | "Or" => {
                let NodeKind::Array(items) = &op.value.kind else {
                    self.error(op.value.pos, "E059", format!("{} must be a non-empty array of rules", op.key));
                    return None;
                };
                if items.is_empty() {
                    self.error(op.value.pos, "E059", format!("{} must be a non-empty array of rules", op.key));
                }
                let rules: Vec<Rule> = items.iter().filter_map(|i| self.rule(i, ql, false)).collect();
                if n.get("Variable").is_some() {
                    self.error(n.pos, "E060", format!("{} rules cannot have a Variable", op.key));
                }
                Some(if op.key == "And" { Rule::And(rules) } else { Rule::Or(rules) })
            }
            "Not" => {
                let inner = self.rule(&op.value, ql, false)?;
                Some(Rule::Not(Box::new(inner)))
            }
            key => {
                let variable = match n.get("Variable") {
                    Some(v) => self.path_field(v, "Variable")?,
                    None => {
                        self.error(n.pos, "E061", format!("the {key} rule has no Variable"));
                        return None;
                    }
                };
                let test = match key {
                    "IsNull" => Some(TypeTest::Null),
                    "IsPresent" => Some(TypeTest::Present),
                    "IsNumeric" => Some(TypeTest::Numeric),
                    "IsString" => Some(TypeTest::String),
                    "IsBoolean" => Some(TypeTest::Boolean),
                    "IsTimestamp" => Some(TypeTest::Timestamp),
                    _ => None,
                };
                if let Some(test) = test {
                    return match op.value.kind {
                        NodeKind::Bool(expected) => Some(Rule::Test { variable, test, expected }),
                        _ => {
                            self.error(op.value.pos, "E062", format!("{key} must be true or false"));
                            None
                        }
                    };
                }
                if key == "StringMatches" {
                    return match op.value.as_str() {
                        Some(p) => Some(Rule::Matches { variable, pattern: p.to_string() }),
                        None => {
                            self.error(op.value.pos, "E062", "StringMatches must be a string");
                            None
                        }
                    };
                }
                let (base, is_path) = match key.strip_suffix("Path") {
                    Some(b) => (b, true),
                    None => (key, false),
                };
                let (kind, rest) = if let Some(r) = base.strip_prefix("String") {
                    (CmpKind::String, r)
                } else if let Some(r) = base.strip_prefix("Numeric") {
                    (CmpKind::Numeric, r)
                } else if let Some(r) = base.strip_prefix("Boolean") {
                    (CmpKind::Boolean, r)
                } else if let Some(r) = base.strip_prefix("Timestamp") {
                    (CmpKind::Timestamp, r)
                } else {
                    self.error(op.key_pos, "E063", format!("unknown choice operator \"{key}\""));
                    return None;
                };
                let cmp = match rest {
                    "Equals" => CmpOp::Eq,
                    "LessThan" if kind != CmpKind::Boolean => CmpOp::Lt,
                    "GreaterThan" if kind != CmpKind::Boolean => CmpOp::Gt,
                    "LessThanEquals" if kind != CmpKind::Boolean => CmpOp::Le,
                    "GreaterThanEquals" if kind != CmpKind::Boolean => CmpOp::Ge,
                    _ => {
                        self.error(op.key_pos, "E063", format!("unknown choice operator \"{key}\""));
                        return None;
                    }
                };
                let operand = if is_path {
                    Operand::Path(self.path_field(&op.value, key)?)
                } else {
                    let v = self.subst_node(&op.value).to_value();
                    let ok = match kind {
                        CmpKind::String => v.is_string(),
                        CmpKind::Numeric => v.is_number(),
                        CmpKind::Boolean => v.is_boolean(),
                        CmpKind::Timestamp => v.as_str().is_some_and(|s| crate::time::parse_timestamp(s).is_some()),
                    };
                    if !ok {
                        self.error(op.value.pos, "E064", format!("{key} has a value of the wrong type"));
                        return None;
                    }
                    Operand::Literal(v)
                };
                Some(Rule::Compare { variable, op: cmp, kind, operand })
            }
        }
    }

    fn map(&mut self, n: &Node, ql: QueryLanguage, what: &str) -> Kind {
        let proc_node = n.get("ItemProcessor").or_else(|| n.get("Iterator"));
        let mut distributed = false;
        let processor = match proc_node {
            Some(p) => {
                self.check_fields(p, &["StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"], "ItemProcessor");
                if let Some(cfg) = p.get("ProcessorConfig") {
                    self.check_fields(cfg, &["Mode", "ExecutionType"], "ProcessorConfig");
                    distributed = cfg.get("Mode").and_then(|m| m.as_str()) == Some("DISTRIBUTED");
                }
                self.machine(p, ql, &format!("the ItemProcessor of {what}")).unwrap_or_default()
            }
            None => {
                self.error(n.pos, "E065", format!("{what} has no ItemProcessor"));
                Machine::default()
            }
        };
        let items_path = n.get("ItemsPath").and_then(|p| self.path_field(p, "ItemsPath"));
        let items = n.get("Items").map(|i| self.template(i, ql, "Items"));
        let item_selector = n.get("ItemSelector").or_else(|| n.get("Parameters")).map(|p| self.template(p, ql, "ItemSelector"));
        let max_concurrency = self.number_pair(n, "MaxConcurrency", "MaxConcurrencyPath", ql);
        let tolerated_count = self.number_pair(n, "ToleratedFailureCount", "ToleratedFailureCountPath", ql);
        let tolerated_percentage = self.number_pair(n, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", ql);
        let label = n.get("Label").and_then(|l| l.as_str()).map(str::to_string);
        let item_reader = n.get("ItemReader").map(|r| self.subst_node(r).to_value());
        let item_reader_params = n
            .get("ItemReader")
            .and_then(|r| r.get("Parameters").or_else(|| r.get("Arguments")))
            .map(|p| self.template(p, ql, "ItemReader.Parameters"));
        let item_reader_max_items = n
            .get("ItemReader")
            .and_then(|r| r.get("ReaderConfig"))
            .and_then(|c| self.number_pair(c, "MaxItems", "MaxItemsPath", ql))
            .filter(|d| !matches!(d, Dyn::Literal(_)));
        let item_batcher = n.get("ItemBatcher").map(|b| ItemBatcher {
            max_items: self.number_pair(b, "MaxItemsPerBatch", "MaxItemsPerBatchPath", ql),
            max_bytes: self.number_pair(b, "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", ql),
            batch_input: b.get("BatchInput").map(|t| self.template(t, ql, "BatchInput")),
        });
        let result_writer = n.get("ResultWriter").map(|r| self.subst_node(r).to_value());
        let result_writer_params = n
            .get("ResultWriter")
            .and_then(|r| r.get("Parameters").or_else(|| r.get("Arguments")))
            .map(|p| self.template(p, ql, "ResultWriter.Parameters"));
        Kind::Map(Box::new(MapState {
            processor,
            distributed,
            items_path,
            items,
            item_selector,
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
            label,
            item_reader,
            item_reader_params,
            item_reader_max_items,
            item_batcher,
            result_writer,
            result_writer_params,
        }))
    }
}

/// Checks a Task's Resource the way CreateStateMachine does: an optimized
/// integration (`arn:aws:states:::service:action[.pattern]`), an aws-sdk one,
/// a Lambda function ARN or an activity ARN. Services outside the embedded
/// set are accepted (AWS offers many); only malformed ARNs and integrations
/// AWS is known to reject are errors.
pub fn check_resource(r: &str) -> Result<(), String> {
    let parts: Vec<&str> = r.split(':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[1].is_empty() {
        return Err(format!("\"{r}\" is not an ARN"));
    }
    match parts[2] {
        "states" => {
            if parts[5] == "activity" {
                return if parts.len() == 7 && !parts[6].is_empty() { Ok(()) } else { Err(format!("\"{r}\" is not a valid activity ARN")) };
            }
            // AWS deploys integration ARNs that name their own region and account
            // (`arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject`, seen in
            // AWS's public samples); one without the other is not an ARN it accepts.
            let scoped = !parts[3].is_empty() && parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
            if parts.len() < 7 || !(scoped || parts[3].is_empty() && parts[4].is_empty()) {
                return Err(format!("\"{r}\" is not a Step Functions integration ARN (arn:aws:states:::service:action)"));
            }
            let service = parts[5];
            let action = parts[6..].join(":");
            let base = action.split('.').next().unwrap_or("");
            let pattern = action.strip_prefix(base).unwrap_or("");
            if service.is_empty() || base.is_empty() {
                return Err(format!("\"{r}\" names no service or action"));
            }
            if !["", ".sync", ".sync:2", ".waitForTaskToken"].contains(&pattern) {
                return Err(format!("\"{r}\" has an unknown integration pattern \"{pattern}\""));
            }
            if service == "aws-sdk" {
                let Some((svc, act)) = base.split_once(':').or_else(|| action.split_once(':')) else {
                    return Err(format!("\"{r}\" must name a service and an action: arn:aws:states:::aws-sdk:service:action"));
                };
                if svc.is_empty() || act.is_empty() || pattern.starts_with(".sync") {
                    return Err(format!("The resource provided {r} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."));
                }
                return Ok(());
            }
            // The optimized DynamoDB integration has these four actions only (recorded on AWS).
            if service == "dynamodb" && !["getItem", "putItem", "updateItem", "deleteItem"].contains(&base) {
                return Err(format!("The resource provided {r} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."));
            }
            if service == "lambda" && base != "invoke" {
                return Err(format!("The resource provided {r} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."));
            }
            Ok(())
        }
        "lambda" => {
            if parts.len() >= 7 && parts[5] == "function" && !parts[6].is_empty() && parts.len() <= 8 {
                Ok(())
            } else {
                Err(format!("\"{r}\" is not a Lambda function ARN (arn:aws:lambda:region:account:function:name)"))
            }
        }
        other => Err(format!("\"{r}\" is not a resource Step Functions can call (service \"{other}\")")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_resource;

    #[test]
    fn resources_as_create_state_machine_checks_them() {
        for ok in [
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::aws-sdk:dynamodb:query",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:lambda:us-east-1:111111111111:function:f",
            "arn:aws:lambda:us-east-1:111111111111:function:f:live",
            "arn:aws:states:us-east-1:111111111111:activity:a",
            "arn:aws-cn:states:::dynamodb:getItem",
            "arn:aws:states:us-east-1:776177632559:aws-sdk:s3:getObject",
            "arn:aws:states:eu-west-1:123456789012:sns:publish",
        ] {
            assert_eq!(check_resource(ok), Ok(()), "{ok}");
        }
        for bad in [
            "not-an-arn",
            "arn:aws:states:::dynamodb:query",
            "arn:aws:states:::lambda:call",
            "arn:aws:states:::aws-sdk:s3",
            "arn:aws:states:::aws-sdk:s3:getObject.sync",
            "arn:aws:states:::sqs:sendMessage.later",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:1:layer:x",
            "arn:aws:states:us-east-1::sns:publish",
            "arn:aws:states::123456789012:sns:publish",
        ] {
            assert!(check_resource(bad).is_err(), "{bad}");
        }
    }
}
