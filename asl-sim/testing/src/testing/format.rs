//! The `*.test.yaml` format (see docs/testing.md): one definition, shared
//! setup, and named cases. Reading only; running is in `mod.rs`.

use super::callbacks::Callbacks;
use super::matching::Mode;
use asl_core::definition::Definition;
use asl_core::diagnostic::Severity;
use asl_core::engine::ExecutionType;
use asl_core::tree::{Node, NodeKind};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SUITE_KEYS: &[&str] = &[
    "definition", "machine", "template", "parameters", "substitutions", "type", "name", "fixture", "mocks", "mock_config",
    "mock_test_case", "lambdas", "machines", "cases", "description", "seed", "start", "callbacks",
];
const CASE_KEYS: &[&str] = &[
    "input", "input_file", "fixture", "mocks", "mock_test_case", "lambdas", "skip", "description", "status", "output",
    "output_includes", "error", "cause", "cause_includes", "path", "path_includes", "tables", "tables_includes", "buckets",
    "buckets_includes", "seed", "start", "callbacks",
];

pub struct Suite {
    /// The test file as the user named it (for messages).
    pub file: PathBuf,
    pub dir: PathBuf,
    pub text: String,
    pub root: Node,
    pub definition: Arc<Definition>,
    /// The definition's text and where it came from (for reports).
    pub def_text: String,
    pub def_source: String,
    pub machine_name: String,
    pub execution_type: ExecutionType,
    pub fixture: Option<Value>,
    pub mocks: Map<String, Value>,
    pub mock_config: Option<Value>,
    pub mock_test_case: Option<String>,
    pub lambdas: Vec<(String, String)>,
    pub machines: Vec<(String, Arc<Definition>, ExecutionType)>,
    pub seed: u64,
    pub start: i64,
    /// Who answers callbacks and activities (`callbacks`, callbacks.rs).
    pub callbacks: Callbacks,
    pub cases: Vec<Case>,
}

#[derive(Default)]
pub struct Case {
    pub name: String,
    pub input: Value,
    pub fixture: Option<Value>,
    pub mocks: Map<String, Value>,
    pub mock_test_case: Option<String>,
    pub lambdas: Vec<(String, String)>,
    pub skip: Option<String>,
    pub seed: Option<u64>,
    pub start: Option<i64>,
    /// Per state, replaces the suite's `callbacks` entry.
    pub callbacks: Callbacks,
    pub expect: Expect,
}

#[derive(Default, Debug)]
pub struct Expect {
    pub status: Option<String>,
    pub output: Option<(Value, Mode)>,
    pub error: Option<String>,
    pub cause: Option<(String, Mode)>,
    pub path: Option<(Vec<String>, Mode)>,
    pub tables: Option<(Map<String, Value>, Mode)>,
    pub buckets: Option<(Map<String, Value>, Mode)>,
}

impl Expect {
    /// The status the case expects: given, or FAILED when it names an error or cause, else SUCCEEDED.
    pub fn status(&self) -> &str {
        match &self.status {
            Some(s) => s,
            None if self.error.is_some() || self.cause.is_some() => "FAILED",
            None => "SUCCEEDED",
        }
    }
}

/// 2026-01-01T00:00:00Z: the virtual clock's start unless the file says otherwise.
pub const DEFAULT_START: i64 = 1_767_225_600_000;

fn at(file: &Path, n: &Node, msg: impl std::fmt::Display) -> String {
    format!("{}:{}:{}: {msg}", file.display(), n.pos.line, n.pos.col)
}

fn string_map(file: &Path, n: &Node, what: &str) -> Result<Vec<(String, String)>, String> {
    let NodeKind::Object(entries) = &n.kind else { return Err(at(file, n, format!("{what} must be a mapping of NAME: VALUE"))) };
    entries
        .iter()
        .map(|e| match &e.value.kind {
            NodeKind::String(s) => Ok((e.key.clone(), s.clone())),
            NodeKind::Number(x) => Ok((e.key.clone(), x.to_string())),
            NodeKind::Bool(b) => Ok((e.key.clone(), b.to_string())),
            _ => Err(at(file, &e.value, format!("{what}.{} must be a string", e.key))),
        })
        .collect()
}

fn check_keys(file: &Path, n: &Node, allowed: &[&str], what: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for e in n.entries() {
        if !allowed.contains(&e.key.as_str()) {
            let n = Node { pos: e.key_pos, kind: NodeKind::Null, tag: None };
            return Err(at(file, &n, format!("unknown key \"{}\" in {what}; expected one of: {}", e.key, allowed.join(", "))));
        }
        if !seen.insert(e.key.as_str()) {
            let n = Node { pos: e.key_pos, kind: NodeKind::Null, tag: None };
            return Err(at(file, &n, format!("duplicate key \"{}\" in {what}", e.key)));
        }
    }
    Ok(())
}

/// A document given inline, or as a path (relative to the test file) to a JSON or YAML file.
fn doc_or_file(dir: &Path, file: &Path, n: &Node) -> Result<Value, String> {
    match n.as_str() {
        Some(p) => {
            let f = dir.join(p);
            let text = std::fs::read_to_string(&f).map_err(|e| at(file, n, format!("cannot read {}: {e}", f.display())))?;
            let node = asl_core::tree::load(&text).map_err(|e| format!("{}:{e}", f.display()))?;
            Ok(node.to_value())
        }
        None => Ok(n.to_value()),
    }
}

fn mocks(file: &Path, n: &Node) -> Result<Map<String, Value>, String> {
    let v = n.to_value();
    let Value::Object(m) = v else { return Err(at(file, n, "mocks must map state names to responses")) };
    for (state, r) in &m {
        let list: Vec<&Value> = match r {
            Value::Array(a) if !a.is_empty() => a.iter().collect(),
            Value::Object(_) => vec![r],
            _ => return Err(at(file, n, format!("mocks.{state} must be a response ({{Return: ...}} or {{Throw: {{Error, Cause}}}}) or a non-empty list of them"))),
        };
        for x in list {
            let ok = match (x.get("Return"), x.get("Throw")) {
                (Some(_), None) => x.as_object().is_some_and(|o| o.len() == 1),
                (None, Some(t)) => t.get("Error").is_some_and(Value::is_string) && x.as_object().is_some_and(|o| o.len() == 1),
                _ => false,
            };
            if !ok {
                return Err(at(file, n, format!("mocks.{state}: each response is {{Return: VALUE}} or {{Throw: {{Error: NAME, Cause: TEXT}}}}")));
            }
        }
    }
    Ok(m)
}

fn timestamp(file: &Path, n: &Node) -> Result<i64, String> {
    n.as_str().and_then(asl_core::time::parse_timestamp).ok_or_else(|| at(file, n, "start must be an ISO 8601 timestamp such as 2026-01-01T00:00:00Z"))
}

fn seed(file: &Path, n: &Node) -> Result<u64, String> {
    match &n.kind {
        NodeKind::Number(x) if x.as_u64().is_some() => Ok(x.as_u64().unwrap_or(0)),
        _ => Err(at(file, n, "seed must be a non-negative integer")),
    }
}

fn load_def(text: &str, subs: &HashMap<String, String>, source: &str) -> Result<Definition, String> {
    let (def, diags) = asl_core::load_definition(text, subs);
    let errors: Vec<String> = diags.iter().filter(|d| d.severity == Severity::Error).map(|d| crate::render::diagnostic(source, text, d)).collect();
    if !errors.is_empty() {
        return Err(format!("the definition is invalid:\n{}", errors.join("")));
    }
    def.ok_or_else(|| format!("{source}: not a state machine definition"))
}

pub fn load(file: &Path) -> Result<Suite, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let root = asl_core::tree::load(&text).map_err(|e| format!("{}:{e}", file.display()))?;
    if !matches!(root.kind, NodeKind::Object(_)) {
        return Err(at(file, &root, "a test file must be a mapping with `definition` (or `machine`) and `cases`"));
    }
    check_keys(file, &root, SUITE_KEYS, "the test file")?;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let params = match root.get("parameters") {
        Some(p) => string_map(file, p, "parameters")?.into_iter().collect(),
        None => HashMap::new(),
    };
    let mut subs: HashMap<String, String> = HashMap::new();
    let (def_text, def_source, mut machine_name, mut execution_type) = match (root.get("definition"), root.get("machine")) {
        (Some(d), None) => {
            let p = d.as_str().ok_or_else(|| at(file, d, "definition must be a path (relative to the test file)"))?;
            let f = dir.join(p);
            let t = std::fs::read_to_string(&f).map_err(|e| at(file, d, format!("cannot read {}: {e}", f.display())))?;
            let name = f.file_name().and_then(|s| s.to_str()).unwrap_or("StateMachine");
            let name = name.split('.').next().unwrap_or(name).to_string();
            (t, f.display().to_string(), name, ExecutionType::Standard)
        }
        (None, Some(m)) => {
            let id = m.as_str().ok_or_else(|| at(file, m, "machine must be the logical name of a state machine in template.yaml"))?;
            let template = match root.get("template") {
                Some(t) => dir.join(t.as_str().ok_or_else(|| at(file, t, "template must be a path"))?),
                None => super::template::find_template(&dir)
                    .ok_or_else(|| at(file, m, "no template.yaml in this directory or above; name it with `template:`"))?,
            };
            let tm = super::template::load(&template, id, &params).map_err(|e| at(file, m, e))?;
            subs = tm.subs;
            (tm.text, tm.source, tm.name, tm.execution_type)
        }
        (Some(_), Some(m)) => return Err(at(file, m, "give either definition or machine, not both")),
        (None, None) => return Err(at(file, &root, "the test file needs `definition: PATH` or `machine: LOGICAL_ID` (of template.yaml)")),
    };
    if let Some(s) = root.get("substitutions") {
        subs.extend(string_map(file, s, "substitutions")?);
    }
    if let Some(t) = root.get("type") {
        execution_type = match t.as_str() {
            Some("STANDARD") => ExecutionType::Standard,
            Some("EXPRESS") => ExecutionType::Express,
            _ => return Err(at(file, t, "type must be STANDARD or EXPRESS")),
        };
    }
    if let Some(n) = root.get("name").and_then(Node::as_str) {
        machine_name = n.to_string();
    }
    let definition = Arc::new(load_def(&def_text, &subs, &def_source)?);
    let fixture = root.get("fixture").map(|n| doc_or_file(&dir, file, n)).transpose()?;
    let suite_mocks = root.get("mocks").map(|n| mocks(file, n)).transpose()?.unwrap_or_default();
    let mock_config = root.get("mock_config").map(|n| doc_or_file(&dir, file, n)).transpose()?;
    let mock_test_case = root.get("mock_test_case").map(|n| n.as_str().map(str::to_string).ok_or_else(|| at(file, n, "mock_test_case must be a string"))).transpose()?;
    let lambdas = root.get("lambdas").map(|n| string_map(file, n, "lambdas")).transpose()?.unwrap_or_default();
    let mut machines = Vec::new();
    if let Some(ms) = root.get("machines") {
        for (name, p) in string_map(file, ms, "machines")? {
            let f = dir.join(&p);
            let t = std::fs::read_to_string(&f).map_err(|e| at(file, ms, format!("cannot read {}: {e}", f.display())))?;
            let d = load_def(&t, &subs, &f.display().to_string())?;
            machines.push((name, Arc::new(d), ExecutionType::Standard));
        }
    }
    let seed_v = root.get("seed").map(|n| seed(file, n)).transpose()?.unwrap_or(1);
    let start = root.get("start").map(|n| timestamp(file, n)).transpose()?.unwrap_or(DEFAULT_START);
    let states = super::callbacks::state_names(&definition);
    let callbacks = root.get("callbacks").map(|n| super::callbacks::parse(file, n, &states)).transpose()?.unwrap_or_default();
    let cases_node = root.get("cases").ok_or_else(|| at(file, &root, "the test file has no `cases`"))?;
    let NodeKind::Object(case_entries) = &cases_node.kind else {
        return Err(at(file, cases_node, "cases must map case names to cases"));
    };
    let mut cases = Vec::new();
    let mut names = std::collections::HashSet::new();
    for e in case_entries {
        if !names.insert(e.key.clone()) {
            let n = Node { pos: e.key_pos, kind: NodeKind::Null, tag: None };
            return Err(at(file, &n, format!("duplicate case \"{}\"", e.key)));
        }
        cases.push(case(file, &dir, &e.key, &e.value, &states)?);
    }
    Ok(Suite {
        file: file.to_path_buf(),
        dir,
        text,
        root,
        definition,
        def_text,
        def_source,
        machine_name,
        execution_type,
        fixture,
        mocks: suite_mocks,
        mock_config,
        mock_test_case,
        lambdas,
        machines,
        seed: seed_v,
        start,
        callbacks,
        cases,
    })
}

fn case(file: &Path, dir: &Path, name: &str, n: &Node, states: &[String]) -> Result<Case, String> {
    let mut c = Case { name: name.to_string(), input: Value::Object(Map::new()), ..Default::default() };
    if matches!(n.kind, NodeKind::Null) {
        return Ok(c);
    }
    if !matches!(n.kind, NodeKind::Object(_)) {
        return Err(at(file, n, format!("case \"{name}\" must be a mapping (input, output, ...)")));
    }
    check_keys(file, n, CASE_KEYS, &format!("case \"{name}\""))?;
    if let Some(i) = n.get("input") {
        c.input = i.to_value();
    }
    if let Some(i) = n.get("input_file") {
        if n.get("input").is_some() {
            return Err(at(file, i, "give input or input_file, not both"));
        }
        let p = i.as_str().ok_or_else(|| at(file, i, "input_file must be a path"))?;
        c.input = doc_or_file(dir, file, &Node { pos: i.pos, kind: NodeKind::String(p.to_string()), tag: None })?;
    }
    c.fixture = n.get("fixture").map(|x| doc_or_file(dir, file, x)).transpose()?;
    c.mocks = n.get("mocks").map(|x| mocks(file, x)).transpose()?.unwrap_or_default();
    c.mock_test_case = n.get("mock_test_case").and_then(Node::as_str).map(str::to_string);
    c.lambdas = n.get("lambdas").map(|x| string_map(file, x, "lambdas")).transpose()?.unwrap_or_default();
    c.skip = n.get("skip").and_then(|s| match &s.kind {
        NodeKind::Bool(false) | NodeKind::Null => None,
        NodeKind::String(r) => Some(r.clone()),
        _ => Some(String::new()),
    });
    c.seed = n.get("seed").map(|x| seed(file, x)).transpose()?;
    c.callbacks = n.get("callbacks").map(|x| super::callbacks::parse(file, x, states)).transpose()?.unwrap_or_default();
    c.start = n.get("start").map(|x| timestamp(file, x)).transpose()?;
    let e = &mut c.expect;
    let str_field = |k: &str| -> Result<Option<String>, String> {
        n.get(k).map(|x| x.as_str().map(str::to_string).ok_or_else(|| at(file, x, format!("{k} must be a string")))).transpose()
    };
    e.status = str_field("status")?;
    if let Some(s) = &e.status {
        if !["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"].contains(&s.as_str()) {
            return Err(at(file, n.get("status").unwrap_or(n), "status must be SUCCEEDED, FAILED, TIMED_OUT or ABORTED"));
        }
    }
    e.error = str_field("error")?;
    let pair = |exact: &str, partial: &str| -> Result<Option<(&Node, Mode)>, String> {
        match (n.get(exact), n.get(partial)) {
            (Some(_), Some(p)) => Err(at(file, p, format!("give {exact} or {partial}, not both"))),
            (Some(x), None) => Ok(Some((x, Mode::Exact))),
            (None, Some(x)) => Ok(Some((x, Mode::Partial))),
            (None, None) => Ok(None),
        }
    };
    e.output = pair("output", "output_includes")?.map(|(x, m)| (x.to_value(), m));
    if let Some((x, m)) = pair("cause", "cause_includes")? {
        e.cause = Some((x.as_str().ok_or_else(|| at(file, x, "cause must be a string"))?.to_string(), m));
    }
    if let Some((x, m)) = pair("path", "path_includes")? {
        let list: Option<Vec<String>> = match &x.kind {
            NodeKind::Array(a) => a.iter().map(|s| s.as_str().map(str::to_string)).collect(),
            _ => None,
        };
        e.path = Some((list.ok_or_else(|| at(file, x, "path must be a list of state names"))?, m));
    }
    for (exact, partial) in [("tables", "tables_includes"), ("buckets", "buckets_includes")] {
        if let Some((x, m)) = pair(exact, partial)? {
            let Value::Object(map) = x.to_value() else {
                return Err(at(file, x, format!("{exact} must map {} names to their content", if exact == "tables" { "table" } else { "bucket" })));
            };
            for (k, v) in &map {
                let ok = if exact == "tables" { v.is_array() } else { v.is_object() };
                if !ok {
                    return Err(at(file, x, format!(
                        "{exact}.{k} must be {}",
                        if exact == "tables" { "a list of items (DynamoDB JSON)" } else { "a mapping of object key to body" }
                    )));
                }
            }
            if exact == "tables" {
                e.tables = Some((map, m));
            } else {
                e.buckets = Some((map, m));
            }
        }
    }
    Ok(c)
}
