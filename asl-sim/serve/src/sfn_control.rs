//! The Step Functions control plane of serve: state machines created at run time and
//! the template's, side by side in one registry, with revisions, versions, aliases and
//! tags; and the execution queries that page (ListExecutions, GetExecutionHistory).
//!
//! Shapes, codes and messages follow AWS's recordings
//! (`reference/aws-recorded/stepfunctions-api.jsonl`); where nothing is recorded the
//! AWS API reference is cited next to the choice
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html).

use super::http::Resp;
use super::{exec, Machine, State};
use asl_core::diagnostic::Severity;
use asl_core::tree::{Node, NodeKind, Pos};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

const JSON10: &str = "application/x-amz-json-1.0";
/// StartExecution's `input` and the definition's limits (API reference, "Length Constraints").
pub const MAX_INPUT: usize = 262_144;
const MAX_DEFINITION: usize = 1_048_576;

pub fn err(code: &str, message: &str) -> Resp {
    Resp::json(400, JSON10, &json!({"__type": code, "message": message})).header("x-amzn-errortype", code)
}

fn epoch(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn prefix() -> String {
    format!("arn:aws:states:{}:{}:", super::template::REGION, super::template::ACCOUNT)
}

pub fn machine_arn(name: &str) -> String {
    format!("{}stateMachine:{name}", prefix())
}

/// AWS's name rule for state machines, executions and aliases' base check
/// (API reference, CreateStateMachine `name`): 1 to 80 characters, none of white space,
/// `< > { } [ ]`, `? *`, `" # % \ ^ | ~ ` $ & , ; : /` or control characters.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                || (c as u32) <= 0x1F
                || (0x7F..=0x9F).contains(&(c as u32))
        })
}

/// An alias name: the pattern AWS names in its ValidationException (recorded).
fn valid_alias_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && name.chars().any(|c| c.is_ascii_alphabetic() || "_-.".contains(c))
}

#[derive(Clone)]
struct Config {
    role_arn: String,
    logging: Value,
    tracing: Value,
}

struct Version {
    machine: Arc<Machine>,
    config: Config,
    revision_id: Option<String>,
    description: Option<String>,
    created_ms: i64,
}

struct Alias {
    description: Option<String>,
    routing: Vec<(u64, u64)>,
    created_ms: i64,
    updated_ms: Option<i64>,
}

struct Entry {
    current: Arc<Machine>,
    config: Config,
    /// None until the first update (AWS's DescribeStateMachine has no revisionId before, recorded).
    revision_id: Option<String>,
    updated_ms: Option<i64>,
    versions: BTreeMap<u64, Version>,
    next_version: u64,
    aliases: BTreeMap<String, Alias>,
    tags: BTreeMap<String, String>,
}

/// What an execution ran: kept for DescribeStateMachineForExecution and the version/alias filters.
#[derive(Clone)]
struct ExecMeta {
    machine: Arc<Machine>,
    config: Config,
    revision_id: Option<String>,
    updated_ms: Option<i64>,
    version_arn: Option<String>,
    alias_arn: Option<String>,
}

#[derive(Default)]
struct Inner {
    machines: BTreeMap<String, Entry>,
    execs: HashMap<String, ExecMeta>,
}

/// The state machines serve knows: the template's and those created through the API.
#[derive(Default)]
pub struct Registry {
    inner: RwLock<Inner>,
    /// Set by every operation that changed a machine, its versions, aliases or tags: the
    /// next commit stores the registry ([`Registry::stored_ops`]).
    changed: AtomicBool,
}

/// The store's space of machines: name → the entry (`entry_json`).
pub const MACHINES: &str = "sfn:machine";

/// The operations that change the registry (those that succeed mark it changed).
const CHANGING: [&str; 10] = [
    "CreateStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "PublishStateMachineVersion",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "TagResource",
    "UntagResource",
];

fn config_json(c: &Config) -> Value {
    json!({"roleArn": c.role_arn, "logging": c.logging, "tracing": c.tracing})
}

fn config_of(v: &Value) -> Config {
    Config {
        role_arn: v["roleArn"].as_str().unwrap_or_default().to_string(),
        logging: v.get("logging").cloned().unwrap_or(json!({"level": "OFF", "includeExecutionData": false})),
        tracing: v.get("tracing").cloned().unwrap_or(json!({"enabled": false})),
    }
}

/// One machine as the store keeps it: definitions as text (lowered again at start-up).
fn entry_json(e: &Entry) -> Value {
    let m = &e.current;
    let versions: serde_json::Map<String, Value> = e
        .versions
        .iter()
        .map(|(n, v)| {
            let same = Arc::ptr_eq(&v.machine, &e.current);
            let text = if same { Value::Null } else { json!(v.machine.text) };
            let desc = json!({"text": text, "config": config_json(&v.config), "revisionId": v.revision_id, "description": v.description, "created": v.created_ms});
            (n.to_string(), desc)
        })
        .collect();
    let aliases: serde_json::Map<String, Value> = e
        .aliases
        .iter()
        .map(|(n, a)| (n.clone(), json!({"description": a.description, "routing": a.routing, "created": a.created_ms, "updated": a.updated_ms})))
        .collect();
    json!({
        "arn": m.arn, "logical": m.logical, "express": m.express, "created": m.created_ms, "text": m.text,
        "config": config_json(&e.config), "revisionId": e.revision_id, "updated": e.updated_ms,
        "versions": versions, "nextVersion": e.next_version, "aliases": aliases, "tags": e.tags,
    })
}

/// A state machine ARN taken apart: the machine's name and an optional version number or alias name.
enum Qualifier {
    None,
    Version(u64),
    Alias(String),
}

fn parse_machine_arn(arn: &str) -> Result<(String, Qualifier), Resp> {
    let Some(rest) = arn.strip_prefix(&prefix()).and_then(|r| r.strip_prefix("stateMachine:")) else {
        if arn.starts_with("arn:") {
            return Err(err("StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{arn}'")));
        }
        return Err(err("InvalidArn", &format!("Invalid Arn: 'Invalid ARN prefix: {arn}'")));
    };
    let (name, q) = match rest.split_once(':') {
        None => (rest, Qualifier::None),
        Some((n, q)) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => (n, q.parse().map(Qualifier::Version).unwrap_or(Qualifier::Alias(q.into()))),
        Some((n, q)) => (n, Qualifier::Alias(q.to_string())),
    };
    Ok((name.to_string(), q))
}

fn not_exist(arn: &str) -> Resp {
    err("StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{arn}'"))
}

fn resource_not_found() -> Resp {
    err("ResourceNotFound", "Request references a resource that does not exist.")
}

/// What StartExecution runs for an ARN (an alias picks one of its versions by weight).
pub struct Resolved {
    pub machine: Arc<Machine>,
    version_arn: Option<String>,
    alias_arn: Option<String>,
    config: Config,
    revision_id: Option<String>,
    updated_ms: Option<i64>,
}

impl Registry {
    /// The template's machines (their role is the template's `{Logical}Role`).
    pub fn from_template(machines: BTreeMap<String, Arc<Machine>>) -> Registry {
        let mut inner = Inner::default();
        for (name, m) in machines {
            let config = Config {
                role_arn: format!("arn:aws:iam::{}:role/{}Role", super::template::ACCOUNT, m.logical),
                logging: json!({"level": "OFF", "includeExecutionData": false}),
                tracing: json!({"enabled": false}),
            };
            inner.machines.insert(
                name,
                Entry { current: m, config, revision_id: None, updated_ms: None, versions: BTreeMap::new(), next_version: 1, aliases: BTreeMap::new(), tags: BTreeMap::new() },
            );
        }
        Registry { inner: RwLock::new(inner), changed: AtomicBool::new(false) }
    }

    /// What the store should hold if the registry changed since the last call: every
    /// machine whole (the registry is small and changes rarely; one commit replaces it all,
    /// so a machine deleted is gone from the store too). Called under the world lock at
    /// collect time, so that commits store the registry in the order it changed.
    pub fn stored_ops(&self) -> Vec<asl_store::Op> {
        if !self.changed.swap(false, Ordering::SeqCst) {
            return Vec::new();
        }
        let inner = self.read();
        let mut ops = vec![asl_store::Op::clear(MACHINES)];
        ops.extend(inner.machines.iter().map(|(name, e)| asl_store::Op::put(MACHINES, name.clone(), entry_json(e).to_string())));
        ops
    }

    /// After a failed commit: the next one stores the registry again.
    pub fn mark_changed(&self) {
        self.changed.store(true, Ordering::SeqCst);
    }

    /// Puts back the stored machines (start-up, after the template's are registered).
    /// A template machine keeps the template's definition and role (the template may have
    /// been edited) and gets back its versions, aliases and tags; one created through the
    /// API comes back whole. Returns the machines restored, for the world's child-machine table.
    pub fn restore(&self, store: &dyn asl_store::Store) -> Result<Vec<Arc<Machine>>, String> {
        let mut stored = Vec::new();
        store.scan(MACHINES, &mut |k, v| stored.push((k.to_string(), v.to_vec()))).map_err(|e| e.message)?;
        let mut inner = self.write();
        let mut restored = Vec::new();
        for (name, v) in stored {
            let v: Value = serde_json::from_slice(&v).map_err(|e| format!("the stored state machine {name} is damaged ({e}); move the data directory away to start empty"))?;
            let bad = |what: &str| format!("the stored state machine {name}: {what}");
            let express = v["express"].as_bool().unwrap_or(false);
            let machine_of = |text: &str, created: i64| -> Result<Arc<Machine>, String> {
                let (def, _) = asl_core::load_definition(text, &HashMap::new());
                let definition = Arc::new(def.ok_or_else(|| bad("its definition does not load"))?);
                let arn = v["arn"].as_str().map(str::to_string).unwrap_or_else(|| machine_arn(&name));
                let logical = v["logical"].as_str().unwrap_or(&name).to_string();
                Ok(Arc::new(Machine { name: name.clone(), arn, logical, express, definition, created_ms: created, text: text.to_string() }))
            };
            let template = inner.machines.get(&name).map(|e| (e.current.clone(), e.config.clone()));
            let stored_text = v["text"].as_str().ok_or_else(|| bad("no definition"))?;
            let (current, config, revision_id, updated_ms) = match template {
                // The template's machine as the template has it now; its revision holds
                // only if its definition is the one stored.
                Some((m, c)) if m.text == stored_text => (m, c, v["revisionId"].as_str().map(str::to_string), v["updated"].as_i64()),
                Some((m, c)) => (m, c, None, None),
                None => (machine_of(stored_text, v["created"].as_i64().unwrap_or(0))?, config_of(&v["config"]), v["revisionId"].as_str().map(str::to_string), v["updated"].as_i64()),
            };
            let mut versions = BTreeMap::new();
            for (n, x) in v["versions"].as_object().into_iter().flatten() {
                let n: u64 = n.parse().map_err(|_| bad("a version number is not a number"))?;
                // Stored without text: the version is the stored current definition.
                let text = x["text"].as_str().unwrap_or(stored_text);
                let machine = if text == current.text { current.clone() } else { machine_of(text, current.created_ms)? };
                let version = Version {
                    machine,
                    config: config_of(&x["config"]),
                    revision_id: x["revisionId"].as_str().map(str::to_string),
                    description: x["description"].as_str().map(str::to_string),
                    created_ms: x["created"].as_i64().unwrap_or(0),
                };
                versions.insert(n, version);
            }
            let mut aliases = BTreeMap::new();
            for (a, x) in v["aliases"].as_object().into_iter().flatten() {
                let routing = x["routing"].as_array().into_iter().flatten().filter_map(|r| Some((r[0].as_u64()?, r[1].as_u64()?))).collect();
                let alias = Alias { description: x["description"].as_str().map(str::to_string), routing, created_ms: x["created"].as_i64().unwrap_or(0), updated_ms: x["updated"].as_i64() };
                aliases.insert(a.clone(), alias);
            }
            let tags = v["tags"].as_object().into_iter().flatten().filter_map(|(k, t)| Some((k.clone(), t.as_str()?.to_string()))).collect();
            let next_version = v["nextVersion"].as_u64().unwrap_or(1).max(versions.keys().last().map_or(1, |n| n + 1));
            restored.push(current.clone());
            inner.machines.insert(name, Entry { current, config, revision_id, updated_ms, versions, next_version, aliases, tags });
        }
        Ok(restored)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current machines (the template's and the created ones), by name.
    pub fn all(&self) -> Vec<Arc<Machine>> {
        self.read().machines.values().map(|e| e.current.clone()).collect()
    }

    /// The machine an ARN (or, as before, a bare name) designates; an alias picks by weight.
    pub fn machine(&self, arn: &str, seed: u64) -> Option<Arc<Machine>> {
        if !arn.starts_with("arn:") {
            return self.read().machines.get(arn).map(|e| e.current.clone());
        }
        self.resolve(arn, seed).ok().map(|r| r.machine)
    }

    fn resolve(&self, arn: &str, seed: u64) -> Result<Resolved, Resp> {
        let (name, q) = parse_machine_arn(arn)?;
        let inner = self.read();
        let e = inner.machines.get(&name).ok_or_else(|| not_exist(arn))?;
        let base = Resolved { machine: e.current.clone(), version_arn: None, alias_arn: None, config: e.config.clone(), revision_id: e.revision_id.clone(), updated_ms: e.updated_ms };
        let version = |n: u64, alias_arn: Option<String>| -> Result<Resolved, Resp> {
            let v = e.versions.get(&n).ok_or_else(|| not_exist(arn))?;
            Ok(Resolved {
                machine: v.machine.clone(),
                version_arn: Some(format!("{}:{n}", e.current.arn)),
                alias_arn,
                config: v.config.clone(),
                revision_id: v.revision_id.clone(),
                updated_ms: None,
            })
        };
        match q {
            Qualifier::None => Ok(base),
            Qualifier::Version(n) => version(n, None),
            Qualifier::Alias(a) => {
                let alias = e.aliases.get(&a).ok_or_else(|| not_exist(arn))?;
                // Routing by weight: a draw in [0, 100) falls in one version's share.
                let draw = seed % 100;
                let mut acc = 0;
                let mut chosen = alias.routing[0].0;
                for (v, w) in &alias.routing {
                    acc += w;
                    if draw < acc {
                        chosen = *v;
                        break;
                    }
                }
                version(chosen, Some(arn.to_string()))
            }
        }
    }

    fn note_execution(&self, exec_arn: &str, r: &Resolved) {
        self.write().execs.insert(
            exec_arn.to_string(),
            ExecMeta {
                machine: r.machine.clone(),
                config: r.config.clone(),
                revision_id: r.revision_id.clone(),
                updated_ms: r.updated_ms,
                version_arn: r.version_arn.clone(),
                alias_arn: r.alias_arn.clone(),
            },
        );
    }
}

// ------------------------------------------------------------------ request fields

/// The request's fields, with AWS's errors for a missing or mistyped one.
struct Body<'a>(&'a Value);

impl<'a> Body<'a> {
    fn opt_str(&self, k: &str) -> Result<Option<&'a str>, Resp> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(serialization(k, "a string")),
        }
    }
    fn str(&self, k: &str) -> Result<&'a str, Resp> {
        self.opt_str(k)?.ok_or_else(|| missing(k))
    }
    fn opt_bool(&self, k: &str) -> Result<Option<bool>, Resp> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(serialization(k, "a boolean")),
        }
    }
    fn opt_obj(&self, k: &str) -> Result<Option<&'a Value>, Resp> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(_) => Err(serialization(k, "an object")),
        }
    }
    fn opt_array(&self, k: &str) -> Result<Option<&'a Vec<Value>>, Resp> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(serialization(k, "a list")),
        }
    }
    /// `maxResults`: 0 (or absent) means the default page; above 1000 is AWS's ValidationException (recorded).
    fn max_results(&self, default: usize) -> Result<usize, Resp> {
        match self.0.get("maxResults") {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_i64() {
                Some(n) if n > 1000 => Err(validation(&format!("Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"))),
                Some(n) if n < 0 => Err(validation(&format!("Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0"))),
                Some(0) => Ok(default),
                Some(n) => Ok(n as usize),
                None => Err(serialization("maxResults", "an integer")),
            },
        }
    }
    /// `nextToken` decoded: its length limit (recorded: 1024, 3096 for executions) and our own format.
    fn token(&self, kind: &str, limit: usize) -> Result<Option<String>, Resp> {
        let Some(t) = self.opt_str("nextToken")? else { return Ok(None) };
        if t.len() > limit {
            return Err(validation(&format!("Value '{t}' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to {limit}")));
        }
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t).ok().and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.strip_prefix(kind)).and_then(|d| d.strip_prefix('|')) {
            Some(k) => Ok(Some(k.to_string())),
            None => Err(err("InvalidToken", "Invalid Token: 'Invalid token'")),
        }
    }
}

fn make_token(kind: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}|{key}"))
}

fn validation(m: &str) -> Resp {
    err("ValidationException", &format!("1 validation error detected: {m}"))
}
fn missing(k: &str) -> Resp {
    validation(&format!("Value null at '{k}' failed to satisfy constraint: Member must not be null"))
}
/// A field of the wrong JSON type: the JSON protocols answer SerializationException
/// (AWS's message for it is not documented; ours names the field).
fn serialization(k: &str, want: &str) -> Resp {
    err("SerializationException", &format!("the field '{k}' must be {want}"))
}

/// One page of `items` (already in AWS's order) after the item whose key is `after`.
/// A page of a List* answer: `{KEY: items}`, with `nextToken` when more follow.
fn listed(key: &str, items: Vec<Value>, next: Option<String>) -> R {
    let mut v = json!({ key: items });
    if let Some(n) = next {
        v["nextToken"] = json!(n);
    }
    ok(v)
}

fn page<T>(items: Vec<T>, key: impl Fn(&T) -> String, start: Option<&str>, max: usize, kind: &str) -> Result<(Vec<T>, Option<String>), Resp> {
    let mut items = items;
    if let Some(s) = start {
        match items.iter().position(|i| key(i) == s) {
            Some(p) => {
                items.drain(..p);
            }
            // The item the token points at is gone (deleted meanwhile): AWS answers InvalidToken for stale tokens.
            None => return Err(err("InvalidToken", "Invalid Token: 'Invalid token'")),
        }
    }
    let next = if items.len() > max { Some(make_token(kind, &key(&items[max]))) } else { None };
    items.truncate(max);
    Ok((items, next))
}

// ------------------------------------------------------------------ validation

/// The JSON pointer (AWS's `location`) of the node or key at `pos`.
fn location(root: &Node, pos: Pos) -> Option<String> {
    fn walk(n: &Node, pos: Pos, path: &mut Vec<String>) -> bool {
        if n.pos == pos {
            return true;
        }
        match &n.kind {
            NodeKind::Object(entries) => {
                for e in entries {
                    path.push(e.key.clone());
                    if e.key_pos == pos || walk(&e.value, pos, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            NodeKind::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    if walk(v, pos, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            _ => {}
        }
        false
    }
    let mut path = Vec::new();
    if walk(root, pos, &mut path) {
        Some(format!("/{}", path.iter().map(|p| p.replace('~', "~0").replace('/', "~1")).collect::<Vec<_>>().join("/")))
    } else {
        None
    }
}

/// One of AWS's diagnostics: code (AWS's), message, location.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsDiagnostic {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub location: Option<String>,
}

fn quoted_after<'a>(msg: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &msg[msg.find(marker)? + marker.len()..];
    rest.split('"').next()
}

/// `asl-sim validate`'s diagnostics (the same checks), named and worded as AWS names
/// them where AWS's wording is known; the rest keep asl-sim's message under
/// SCHEMA_VALIDATION_FAILED. Express machines get AWS's extra checks (recorded).
/// AWS's wording for the transition checks: its CLI output quoted in
/// https://github.com/localstack/localstack/pull/12487 ("Missing 'Next' target: X",
/// "State \"X\" is not reachable.", several diagnostics joined with ", ").
pub fn aws_diagnostics(text: &str, express: bool) -> Vec<AwsDiagnostic> {
    // The API takes JSON only (asl-sim's own loader also reads YAML): text that is
    // not JSON is AWS's INVALID_JSON_DESCRIPTION.
    let json = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v,
        Err(e) => return vec![AwsDiagnostic {
            code: "INVALID_JSON_DESCRIPTION",
            severity: "ERROR",
            message: format!("{e}"),
            location: Some(format!("line: {}, column: {}", e.line(), e.column())),
        }],
    };
    let root = match asl_core::tree::load(text) {
        Ok(r) => r,
        Err(e) => {
            return vec![AwsDiagnostic {
                code: "INVALID_JSON_DESCRIPTION",
                severity: "ERROR",
                message: format!("{} at line {}, column {}", e.message, e.pos.line, e.pos.col),
                location: Some(format!("line: {}, column: {}", e.pos.line, e.pos.col)),
            }]
        }
    };
    if !matches!(root.kind, NodeKind::Object(_)) {
        return vec![AwsDiagnostic { code: "SCHEMA_VALIDATION_FAILED", severity: "ERROR", message: "Definition must be a valid JSON object".into(), location: None }];
    }
    let (_, mut diags) = asl_core::definition::lower(&root, &HashMap::new());
    diags.sort_by_key(|d| (d.pos, d.code));
    let mut out: Vec<AwsDiagnostic> = Vec::new();
    let mut required: Vec<(&str, Option<String>)> = Vec::new();
    for d in &diags {
        let loc = location(&root, d.pos);
        let severity = if d.severity == Severity::Error { "ERROR" } else { "WARNING" };
        let (code, message) = match d.code {
            "E008" => {
                required.push(("States", loc));
                continue;
            }
            "E012" => {
                required.push(("StartAt", loc));
                continue;
            }
            "E026" | "E010" => ("MISSING_TRANSITION_TARGET", match quoted_after(&d.message, "transitions to \"").or(quoted_after(&d.message, "StartAt names \"")) {
                Some(t) => format!("Missing 'Next' target: {t}"),
                None => d.message.clone(),
            }),
            "E014" => ("MISSING_TRANSITION_TARGET", match quoted_after(&d.message, "state \"") {
                Some(s) => format!("State \"{s}\" is not reachable."),
                None => d.message.clone(),
            }),
            // An empty Branches or Choices array: AWS's schema wording (recorded, TestState's
            // test_parallel_state_empty_branches).
            "E024" | "E054" if loc.as_deref().and_then(|l| json.pointer(l)).is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)) => {
                ("SCHEMA_VALIDATION_FAILED", "Value cannot be empty".to_string())
            }
            "E018" => ("SCHEMA_VALIDATION_FAILED", "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]".to_string()),
            _ => ("SCHEMA_VALIDATION_FAILED", d.message.clone()),
        };
        out.push(AwsDiagnostic { code, severity, message, location: loc });
    }
    // lower() stops at a missing States before it looks for StartAt; AWS names both (recorded).
    if required.iter().any(|r| r.1.as_deref() == Some("/")) && root.get("StartAt").is_none() && !required.iter().any(|r| r.0 == "StartAt") {
        required.push(("StartAt", Some("/".into())));
    }
    if !required.is_empty() {
        // AWS names the missing fields together, States first (recorded: "[States, StartAt]").
        let mut names: Vec<&str> = required.iter().map(|r| r.0).collect();
        names.sort_by_key(|n| *n != "States");
        let loc = required.iter().find_map(|r| r.1.clone()).unwrap_or_else(|| "/".into());
        out.insert(0, AwsDiagnostic { code: "SCHEMA_VALIDATION_FAILED", severity: "ERROR", message: format!("These fields are required: [{}]", names.join(", ")), location: Some(loc) });
    }
    if express {
        express_checks(&root, &mut Vec::new(), &mut out);
    }
    out
}

/// Task resources an Express machine refuses, in AWS's words (recorded, including the
/// double space after '.waitForTaskToken' service integration).
fn express_checks(n: &Node, path: &mut Vec<String>, out: &mut Vec<AwsDiagnostic>) {
    if let NodeKind::Object(entries) = &n.kind {
        if n.get("Type").and_then(Node::as_str) == Some("Task") {
            if let Some(r) = n.get("Resource").and_then(Node::as_str) {
                let what = if r.ends_with(".waitForTaskToken") {
                    Some("Express state machine does not support '.waitForTaskToken' service integration ")
                } else if r.ends_with(".sync") || r.ends_with(".sync:2") {
                    Some("Express state machine does not support '.sync' service integration")
                } else if r.contains(":activity:") {
                    Some("Express state machine does not support Activity ARN")
                } else {
                    None
                };
                if let Some(w) = what {
                    out.push(AwsDiagnostic { code: "SCHEMA_VALIDATION_FAILED", severity: "ERROR", message: w.into(), location: Some(format!("/{}/Resource", path.join("/"))) });
                }
            }
        }
        for e in entries {
            path.push(e.key.clone());
            express_checks(&e.value, path, out);
            path.pop();
        }
    } else if let NodeKind::Array(items) = &n.kind {
        for (i, v) in items.iter().enumerate() {
            path.push(i.to_string());
            express_checks(v, path, out);
            path.pop();
        }
    }
}

/// CreateStateMachine's and UpdateStateMachine's refusal: every error, AWS's shape.
fn invalid_definition(diags: &[AwsDiagnostic]) -> Option<Resp> {
    invalid_definition_message(diags).map(|m| err("InvalidDefinition", &m))
}

/// The message of AWS's InvalidDefinition for these diagnostics (TestState's too).
pub(crate) fn invalid_definition_message(diags: &[AwsDiagnostic]) -> Option<String> {
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == "ERROR")
        .map(|d| match &d.location {
            Some(l) if d.code != "INVALID_JSON_DESCRIPTION" => format!("{}: {} at {l}", d.code, d.message),
            _ => format!("{}: {}", d.code, d.message),
        })
        .collect();
    if errors.is_empty() {
        return None;
    }
    Some(format!("Invalid State Machine Definition: '{}'", errors.join(", ")))
}

fn lower(text: &str, express: bool) -> Result<Arc<asl_core::definition::Definition>, Resp> {
    if text.len() > MAX_DEFINITION {
        return Err(validation(&format!("Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to {MAX_DEFINITION}")));
    }
    if let Some(r) = invalid_definition(&aws_diagnostics(text, express)) {
        return Err(r);
    }
    let (def, _) = asl_core::load_definition(text, &HashMap::new());
    def.map(Arc::new).ok_or_else(|| err("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object'"))
}

/// loggingConfiguration as AWS checks it (recorded: a level other than OFF needs exactly one destination).
fn logging(v: Option<&Value>) -> Result<Value, Resp> {
    let Some(v) = v else { return Ok(json!({"level": "OFF", "includeExecutionData": false})) };
    let level = v.get("level").and_then(Value::as_str).unwrap_or("OFF");
    if !["ALL", "ERROR", "FATAL", "OFF"].contains(&level) {
        return Err(validation(&format!("Value '{level}' at 'loggingConfiguration.level' failed to satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]")));
    }
    let dests = v.get("destinations").and_then(Value::as_array);
    if level != "OFF" && dests.is_none_or(|d| d.len() != 1) {
        return Err(err("InvalidLoggingConfiguration", "Invalid Logging Configuration: Must specify exactly one Log Destination."));
    }
    let mut out = json!({"level": level, "includeExecutionData": v.get("includeExecutionData").and_then(Value::as_bool).unwrap_or(false)});
    if let Some(d) = dests {
        out["destinations"] = Value::Array(d.clone());
    }
    Ok(out)
}

fn tracing(v: Option<&Value>) -> Value {
    json!({"enabled": v.and_then(|t| t.get("enabled")).and_then(Value::as_bool).unwrap_or(false)})
}

fn tags_of(v: Option<&Vec<Value>>) -> Result<Vec<(String, String)>, Resp> {
    let mut out = Vec::new();
    for t in v.into_iter().flatten() {
        let k = t.get("key").and_then(Value::as_str).ok_or_else(|| missing("tags.member.key"))?;
        let val = t.get("value").and_then(Value::as_str).unwrap_or("");
        out.push((k.to_string(), val.to_string()));
    }
    Ok(out)
}

fn machine_type(express: bool) -> &'static str {
    if express {
        "EXPRESS"
    } else {
        "STANDARD"
    }
}

fn register_child(state: &State, m: &Machine) {
    state.world.lock().machines.insert(m.name.clone(), m.child());
}

// ------------------------------------------------------------------ the operations

/// The Step Functions operations of this module; `None` for the others.
pub fn handle(state: &Arc<State>, op: &str, body: &Value) -> Option<Resp> {
    let b = Body(body);
    let r = match op {
        "CreateStateMachine" => create(state, &b),
        "UpdateStateMachine" => update(state, &b),
        "DeleteStateMachine" => delete(state, &b),
        "DescribeStateMachine" => describe(state, &b),
        "ListStateMachines" => list_machines(state, &b),
        "ValidateStateMachineDefinition" => validate_definition(&b),
        "PublishStateMachineVersion" => publish(state, &b),
        "ListStateMachineVersions" => list_versions(state, &b),
        "DeleteStateMachineVersion" => delete_version(state, &b),
        "CreateStateMachineAlias" => create_alias(state, &b),
        "UpdateStateMachineAlias" => update_alias(state, &b),
        "DescribeStateMachineAlias" => describe_alias(state, &b),
        "ListStateMachineAliases" => list_aliases(state, &b),
        "DeleteStateMachineAlias" => delete_alias(state, &b),
        "TagResource" => tag(state, &b),
        "UntagResource" => untag(state, &b),
        "ListTagsForResource" => list_tags(state, &b),
        "StartExecution" => start_execution(state, &b),
        "DescribeExecution" => describe_execution(state, &b),
        "DescribeStateMachineForExecution" => describe_for_execution(state, &b),
        "ListExecutions" => list_executions(state, &b),
        "GetExecutionHistory" => history(state, &b),
        "ListMapRuns" => list_map_runs(state, &b),
        "DescribeMapRun" => describe_map_run(state, &b),
        "UpdateMapRun" => update_map_run(state, &b),
        _ => return None,
    };
    if r.is_ok() && CHANGING.contains(&op) {
        state.machines.changed.store(true, Ordering::SeqCst);
    }
    Some(r.unwrap_or_else(|e| e))
}

type R = Result<Resp, Resp>;

fn ok(v: Value) -> R {
    Ok(Resp::json(200, JSON10, &v))
}

fn create(state: &Arc<State>, b: &Body) -> R {
    let name = b.str("name")?;
    let text = b.str("definition")?;
    let role = b.str("roleArn")?;
    let express = match b.opt_str("type")?.unwrap_or("STANDARD") {
        "STANDARD" => false,
        "EXPRESS" => true,
        other => return Err(validation(&format!("Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"))),
    };
    let publish = b.opt_bool("publish")?.unwrap_or(false);
    let description = b.opt_str("versionDescription")?;
    if description.is_some() && !publish {
        return Err(err("ValidationException", "Version description can only be set when publish is true"));
    }
    if !valid_name(name) {
        return Err(err("InvalidName", &format!("Invalid Name: '{name}'")));
    }
    let logging = logging(b.opt_obj("loggingConfiguration")?)?;
    let tracing = tracing(b.opt_obj("tracingConfiguration")?);
    let tags = tags_of(b.opt_array("tags")?)?;
    let definition = lower(text, express)?;
    let arn = machine_arn(name);
    let now = super::wall_millis();
    let mut inner = state.machines.write();
    if let Some(e) = inner.machines.get(name) {
        // Idempotent when everything matches (API reference, CreateStateMachine: "an idempotent API").
        if e.current.text == text && e.current.express == express && e.config.role_arn == role && e.config.logging == logging && e.config.tracing == tracing {
            let mut v = json!({"stateMachineArn": arn, "creationDate": epoch(e.current.created_ms)});
            if let Some((n, _)) = e.versions.last_key_value() {
                if publish {
                    v["stateMachineVersionArn"] = json!(format!("{arn}:{n}"));
                }
            }
            return ok(v);
        }
        return Err(err("StateMachineAlreadyExists", &format!("State Machine Already Exists: '{arn}'")));
    }
    let m = Arc::new(Machine { name: name.to_string(), arn: arn.clone(), logical: name.to_string(), express, definition, created_ms: now, text: text.to_string() });
    let config = Config { role_arn: role.to_string(), logging, tracing };
    let mut e = Entry {
        current: m.clone(),
        config,
        revision_id: None,
        updated_ms: None,
        versions: BTreeMap::new(),
        next_version: 1,
        aliases: BTreeMap::new(),
        tags: tags.into_iter().collect(),
    };
    let mut v = json!({"stateMachineArn": arn, "creationDate": epoch(now)});
    if publish {
        let n = publish_current(&mut e, description, now);
        v["stateMachineVersionArn"] = json!(format!("{arn}:{n}"));
    }
    inner.machines.insert(name.to_string(), e);
    drop(inner);
    register_child(state, &m);
    state.log(format_args!("sfn created {name} ({})", machine_type(express)));
    ok(v)
}

/// Publishes the current revision unless it already is the latest version (PublishStateMachineVersion is idempotent).
fn publish_current(e: &mut Entry, description: Option<&str>, now: i64) -> u64 {
    if let Some((n, v)) = e.versions.last_key_value() {
        if v.revision_id == e.revision_id && Arc::ptr_eq(&v.machine, &e.current) {
            return *n;
        }
    }
    let n = e.next_version;
    e.next_version += 1;
    e.versions.insert(n, Version { machine: e.current.clone(), config: e.config.clone(), revision_id: e.revision_id.clone(), description: description.map(str::to_string), created_ms: now });
    n
}

fn update(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineArn")?;
    let text = b.opt_str("definition")?;
    let role = b.opt_str("roleArn")?;
    let logging_in = b.opt_obj("loggingConfiguration")?;
    let tracing_in = b.opt_obj("tracingConfiguration")?;
    let publish = b.opt_bool("publish")?.unwrap_or(false);
    let description = b.opt_str("versionDescription")?;
    let (name, q) = parse_machine_arn(arn)?;
    if !matches!(q, Qualifier::None) {
        return Err(not_exist(arn));
    }
    if text.is_none() && role.is_none() && logging_in.is_none() && tracing_in.is_none() {
        return Err(err("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified"));
    }
    if description.is_some() && !publish {
        return Err(err("ValidationException", "Version description can only be set when publish is true"));
    }
    let express = state.machines.read().machines.get(&name).map(|e| e.current.express).ok_or_else(|| not_exist(arn))?;
    let definition = text.map(|t| lower(t, express)).transpose()?;
    let logging = logging_in.map(|l| logging(Some(l))).transpose()?;
    let now = super::wall_millis();
    let revision = state.uuid();
    let mut inner = state.machines.write();
    let e = inner.machines.get_mut(&name).ok_or_else(|| not_exist(arn))?;
    if let (Some(def), Some(t)) = (definition, text) {
        let c = &e.current;
        e.current = Arc::new(Machine { name: c.name.clone(), arn: c.arn.clone(), logical: c.logical.clone(), express, definition: def, created_ms: c.created_ms, text: t.to_string() });
    }
    if let Some(r) = role {
        e.config.role_arn = r.to_string();
    }
    if let Some(l) = logging {
        e.config.logging = l;
    }
    if tracing_in.is_some() {
        e.config.tracing = tracing(tracing_in);
    }
    e.revision_id = Some(revision.clone());
    e.updated_ms = Some(now);
    let mut v = json!({"updateDate": epoch(now), "revisionId": revision});
    if publish {
        let n = publish_current(e, description, now);
        v["stateMachineVersionArn"] = json!(format!("{}:{n}", e.current.arn));
    }
    let m = e.current.clone();
    drop(inner);
    register_child(state, &m);
    ok(v)
}

fn delete(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineArn")?;
    let (name, q) = parse_machine_arn(arn)?;
    if !matches!(q, Qualifier::None) {
        // A version or an alias has its own delete operation.
        return Err(err("ValidationException", &format!("Invalid Arn: 'Resource type not valid in this context: {arn}'")));
    }
    // Deleting a machine that does not exist succeeds (recorded).
    if state.machines.write().machines.remove(&name).is_some() {
        state.world.lock().machines.remove(&name);
        state.log(format_args!("sfn deleted {name}"));
    }
    ok(json!({}))
}

fn describe(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineArn")?;
    let (name, q) = parse_machine_arn(arn)?;
    let inner = state.machines.read();
    let e = inner.machines.get(&name).ok_or_else(|| not_exist(arn))?;
    let v = match q {
        Qualifier::None => {
            let mut v = describe_json(&e.current, &e.config, e.current.created_ms);
            if let Some(r) = &e.revision_id {
                v["revisionId"] = json!(r);
            }
            v
        }
        Qualifier::Version(n) => {
            let ver = e.versions.get(&n).ok_or_else(|| not_exist(arn))?;
            let mut v = describe_json(&ver.machine, &ver.config, ver.created_ms);
            v["stateMachineArn"] = json!(arn);
            if let Some(r) = &ver.revision_id {
                v["revisionId"] = json!(r);
            }
            if let Some(d) = &ver.description {
                v["description"] = json!(d);
            }
            v
        }
        // DescribeStateMachineAlias describes aliases.
        Qualifier::Alias(_) => return Err(err("InvalidArn", &format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"))),
    };
    ok(v)
}

fn describe_json(m: &Machine, c: &Config, created_ms: i64) -> Value {
    json!({
        "stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": m.text,
        "roleArn": c.role_arn, "type": machine_type(m.express), "creationDate": epoch(created_ms),
        "loggingConfiguration": c.logging, "tracingConfiguration": c.tracing,
    })
}

fn list_machines(state: &Arc<State>, b: &Body) -> R {
    let max = b.max_results(100)?;
    let start = b.token("machines", 1024)?;
    let all = state.machines.all();
    let (items, next) = page(all, |m| m.name.clone(), start.as_deref(), max, "machines")?;
    let list: Vec<Value> = items.iter().map(|m| json!({"stateMachineArn": m.arn, "name": m.name, "type": machine_type(m.express), "creationDate": epoch(m.created_ms)})).collect();
    listed("stateMachines", list, next)
}

fn validate_definition(b: &Body) -> R {
    let text = b.str("definition")?;
    let express = match b.opt_str("type")?.unwrap_or("STANDARD") {
        "STANDARD" => false,
        "EXPRESS" => true,
        other => return Err(validation(&format!("Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"))),
    };
    // `severity`: the lowest severity reported, ERROR by default (API reference, ValidateStateMachineDefinition).
    let with_warnings = match b.opt_str("severity")?.unwrap_or("ERROR") {
        "ERROR" => false,
        "WARNING" => true,
        other => return Err(validation(&format!("Value '{other}' at 'severity' failed to satisfy constraint: Member must satisfy enum value set: [ERROR, WARNING]"))),
    };
    let max = b.max_results(100)?;
    let diags: Vec<AwsDiagnostic> = aws_diagnostics(text, express).into_iter().filter(|d| with_warnings || d.severity == "ERROR").collect();
    let fail = diags.iter().any(|d| d.severity == "ERROR");
    let truncated = diags.len() > max;
    let list: Vec<Value> = diags
        .iter()
        .take(max)
        .map(|d| {
            let mut v = json!({"code": d.code, "message": d.message, "severity": d.severity});
            if let Some(l) = &d.location {
                v["location"] = json!(l);
            }
            v
        })
        .collect();
    ok(json!({"result": if fail { "FAIL" } else { "OK" }, "diagnostics": list, "truncated": truncated}))
}

fn publish(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineArn")?;
    let revision = b.opt_str("revisionId")?;
    let description = b.opt_str("description")?;
    let (name, q) = parse_machine_arn(arn)?;
    if !matches!(q, Qualifier::None) {
        return Err(not_exist(arn));
    }
    let mut inner = state.machines.write();
    let e = inner.machines.get_mut(&name).ok_or_else(|| not_exist(arn))?;
    if let Some(r) = revision {
        if e.revision_id.as_deref() != Some(r) {
            let current = e.revision_id.clone().unwrap_or_else(|| "INITIAL".into());
            return Err(err("ConflictException", &format!("Failed to publish the State Machine version for revision {r}. The current State Machine revision is {current}.")));
        }
    }
    let now = super::wall_millis();
    let n = publish_current(e, description, now);
    let created = e.versions[&n].created_ms;
    ok(json!({"stateMachineVersionArn": format!("{}:{n}", e.current.arn), "creationDate": epoch(created)}))
}

fn list_versions(state: &Arc<State>, b: &Body) -> R {
    // Newest first (recorded).
    let versions = |e: &Entry| e.versions.iter().rev().map(|(n, v)| (n.to_string(), v.created_ms)).collect();
    list_qualifiers(state, b, "versions", ("stateMachineVersions", "stateMachineVersionArn"), versions)
}

/// ListStateMachineVersions and ListStateMachineAliases: a page of one machine's versions
/// or aliases, each `(qualifier, creation time)` in the order `of` gives them; `keys` are
/// the list's key and its entries' ARN key.
fn list_qualifiers(state: &Arc<State>, b: &Body, kind: &str, keys: (&str, &str), of: impl Fn(&Entry) -> Vec<(String, i64)>) -> R {
    let arn = b.str("stateMachineArn")?;
    let max = b.max_results(100)?;
    let start = b.token(kind, 1024)?;
    let (name, _) = parse_machine_arn(arn)?;
    let inner = state.machines.read();
    let e = inner.machines.get(&name).ok_or_else(|| not_exist(arn))?;
    let (items, next) = page(of(e), |(n, _)| n.clone(), start.as_deref(), max, kind)?;
    let list: Vec<Value> = items.iter().map(|(n, c)| json!({keys.1: format!("{}:{n}", e.current.arn), "creationDate": epoch(*c)})).collect();
    listed(keys.0, list, next)
}

fn delete_version(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineVersionArn")?;
    let (name, q) = parse_machine_arn(arn)?;
    let Qualifier::Version(n) = q else {
        return Err(err("ValidationException", &format!("Invalid Arn: 'Resource type not valid in this context: {arn}'")));
    };
    let mut inner = state.machines.write();
    let Some(e) = inner.machines.get_mut(&name) else { return ok(json!({})) };
    let referencing: Vec<&String> = e.aliases.iter().filter(|(_, a)| a.routing.iter().any(|(v, _)| *v == n)).map(|(k, _)| k).collect();
    if !referencing.is_empty() {
        let names: Vec<&str> = referencing.iter().map(|s| s.as_str()).collect();
        return Err(err(
            "ConflictException",
            &format!("Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]", names.join(", ")),
        ));
    }
    e.versions.remove(&n);
    ok(json!({}))
}

/// The routing configuration, checked as AWS checks it (every message recorded).
fn routing(b: &Body, machine_name: &str, inner: &Inner) -> Result<Vec<(u64, u64)>, Resp> {
    let items = b.opt_array("routingConfiguration")?.ok_or_else(|| missing("routingConfiguration"))?;
    if items.is_empty() {
        return Err(validation("Value '[]' at 'routingConfiguration' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    }
    let mut arns = Vec::new();
    let mut weights = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let a = it.get("stateMachineVersionArn").and_then(Value::as_str).ok_or_else(|| missing(&format!("routingConfiguration.{}.member.stateMachineVersionArn", i + 1)))?;
        let w = it.get("weight").and_then(Value::as_i64).ok_or_else(|| missing(&format!("routingConfiguration.{}.member.weight", i + 1)))?;
        if w > 100 {
            return Err(validation(&format!("Value '{w}' at 'routingConfiguration.{}.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100", i + 1)));
        }
        if w < 0 {
            return Err(validation(&format!("Value '{w}' at 'routingConfiguration.{}.member.weight' failed to satisfy constraint: Member must have value greater than or equal to 0", i + 1)));
        }
        arns.push(a.to_string());
        weights.push(w as u64);
    }
    if items.len() > 2 {
        let shown: Vec<String> = arns.iter().zip(&weights).map(|(a, w)| format!("RoutingConfigurationListItem(stateMachineVersionArn={a}, weight={w})")).collect();
        return Err(validation(&format!("Value '[{}]' at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2", shown.join(", "))));
    }
    let mut out = Vec::new();
    for a in &arns {
        match parse_machine_arn(a) {
            Ok((n, Qualifier::Version(v))) if n == machine_name => out.push(v),
            _ => return Err(err("ValidationException", &format!("Routing configuration must contain state machine version ARNs. Received: [{}]", arns.join(", ")))),
        }
    }
    if out.len() == 2 && out[0] == out[1] {
        return Err(err("ValidationException", &format!("Routing configuration must contain distinct state machine version ARNs. Received: [{}]", arns.join(", "))));
    }
    let sum: u64 = weights.iter().sum();
    if sum != 100 {
        let shown: Vec<String> = weights.iter().map(u64::to_string).collect();
        return Err(err("ValidationException", &format!("Sum of routing configuration weights must equal 100. Received: [{}]", shown.join(", "))));
    }
    let e = inner.machines.get(machine_name).ok_or_else(resource_not_found)?;
    for (v, a) in out.iter().zip(&arns) {
        if !e.versions.contains_key(v) {
            return Err(not_exist(a));
        }
    }
    Ok(out.into_iter().zip(weights).collect())
}

fn alias_json(machine_arn: &str, name: &str, a: &Alias) -> Value {
    let routing: Vec<Value> = a.routing.iter().map(|(v, w)| json!({"stateMachineVersionArn": format!("{machine_arn}:{v}"), "weight": w})).collect();
    let mut v = json!({"stateMachineAliasArn": format!("{machine_arn}:{name}"), "name": name, "routingConfiguration": routing, "creationDate": epoch(a.created_ms)});
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    if let Some(u) = a.updated_ms {
        v["updateDate"] = epoch(u);
    }
    v
}

fn create_alias(state: &Arc<State>, b: &Body) -> R {
    let name = b.str("name")?;
    let description = b.opt_str("description")?;
    if name.chars().count() > 80 {
        return Err(validation(&format!("Value '{name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80")));
    }
    if !valid_alias_name(name) {
        return Err(validation(&format!("Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$")));
    }
    // The machine is named by the first version ARN.
    let first = b.opt_array("routingConfiguration")?.and_then(|r| r.first()).and_then(|i| i.get("stateMachineVersionArn")).and_then(Value::as_str).unwrap_or("");
    let machine_name = parse_machine_arn(first).map(|(n, _)| n).unwrap_or_default();
    let mut inner = state.machines.write();
    let routing = routing(b, &machine_name, &inner)?;
    let e = inner.machines.get_mut(&machine_name).ok_or_else(resource_not_found)?;
    let marn = e.current.arn.clone();
    let now = super::wall_millis();
    if let Some(a) = e.aliases.get(name) {
        if a.routing == routing && a.description.as_deref() == description {
            return ok(json!({"stateMachineAliasArn": format!("{marn}:{name}"), "creationDate": epoch(a.created_ms)}));
        }
        return Err(err("ConflictException", "Failed to create alias because an alias with the same name and a different routing configuration already exists."));
    }
    e.aliases.insert(name.to_string(), Alias { description: description.map(str::to_string), routing, created_ms: now, updated_ms: None });
    ok(json!({"stateMachineAliasArn": format!("{marn}:{name}"), "creationDate": epoch(now)}))
}

fn alias_target(arn: &str) -> Result<(String, String), Resp> {
    match parse_machine_arn(arn) {
        Ok((m, Qualifier::Alias(a))) => Ok((m, a)),
        Ok(_) => Err(err("InvalidArn", &format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"))),
        Err(_) if arn.starts_with("arn:") => Err(resource_not_found()),
        Err(e) => Err(e),
    }
}

fn update_alias(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineAliasArn")?;
    let description = b.opt_str("description")?;
    let (m, a) = alias_target(arn)?;
    let has_routing = b.opt_array("routingConfiguration")?.is_some();
    if description.is_none() && !has_routing {
        return Err(err("ValidationException", "Either the description or the RoutingConfiguration must be specified"));
    }
    let mut inner = state.machines.write();
    let routing = if has_routing { Some(routing(b, &m, &inner)?) } else { None };
    let alias = inner.machines.get_mut(&m).and_then(|e| e.aliases.get_mut(&a)).ok_or_else(resource_not_found)?;
    if let Some(r) = routing {
        alias.routing = r;
    }
    if let Some(d) = description {
        alias.description = Some(d.to_string());
    }
    let now = super::wall_millis();
    alias.updated_ms = Some(now);
    ok(json!({"updateDate": epoch(now)}))
}

fn describe_alias(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineAliasArn")?;
    let (m, a) = alias_target(arn)?;
    let inner = state.machines.read();
    let e = inner.machines.get(&m).ok_or_else(resource_not_found)?;
    let alias = e.aliases.get(&a).ok_or_else(resource_not_found)?;
    ok(alias_json(&e.current.arn, &a, alias))
}

fn list_aliases(state: &Arc<State>, b: &Body) -> R {
    let aliases = |e: &Entry| e.aliases.iter().map(|(n, a)| (n.clone(), a.created_ms)).collect();
    list_qualifiers(state, b, "aliases", ("stateMachineAliases", "stateMachineAliasArn"), aliases)
}

fn delete_alias(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("stateMachineAliasArn")?;
    let (m, a) = alias_target(arn)?;
    let mut inner = state.machines.write();
    // Idempotent, like the machine's delete (AWS's API reference: "idempotent").
    if let Some(e) = inner.machines.get_mut(&m) {
        e.aliases.remove(&a);
    }
    ok(json!({}))
}

/// The machine whose tags a resource ARN names: machines only (versions and aliases have none, recorded).
fn tag_target<'a>(inner: &'a mut Inner, arn: &str) -> Result<&'a mut Entry, Resp> {
    let nf = || err("ResourceNotFound", &format!("Resource not found: '{arn}'"));
    match parse_machine_arn(arn) {
        Ok((name, Qualifier::None)) => inner.machines.get_mut(&name).ok_or_else(nf),
        Ok(_) => Err(nf()),
        Err(_) if arn.starts_with("arn:") => Err(nf()),
        Err(e) => Err(e),
    }
}

fn tag(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("resourceArn")?;
    let tags = tags_of(Some(b.opt_array("tags")?.ok_or_else(|| missing("tags"))?))?;
    let mut inner = state.machines.write();
    let e = tag_target(&mut inner, arn)?;
    e.tags.extend(tags);
    // 50 tags per resource (API reference, TagResource).
    if e.tags.len() > 50 {
        return Err(err("TooManyTags", &format!("Too many tags: '{arn}'")));
    }
    ok(json!({}))
}

fn untag(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("resourceArn")?;
    let keys = b.opt_array("tagKeys")?.ok_or_else(|| missing("tagKeys"))?;
    let mut inner = state.machines.write();
    let e = tag_target(&mut inner, arn)?;
    for k in keys.iter().filter_map(Value::as_str) {
        e.tags.remove(k);
    }
    ok(json!({}))
}

fn list_tags(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("resourceArn")?;
    let mut inner = state.machines.write();
    let e = tag_target(&mut inner, arn)?;
    let tags: Vec<Value> = e.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    ok(json!({"tags": tags}))
}

// ------------------------------------------------------------------ executions

/// The execution's input: a JSON text of at most 256 KiB.
pub fn execution_input(b: &Value) -> Result<Value, Resp> {
    match b.get("input") {
        None | Some(Value::Null) => Ok(json!({})),
        // AWS's model marks `input` sensitive: its constraint message shows no value.
        Some(Value::String(s)) if s.len() > MAX_INPUT => Err(validation(&format!("Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {MAX_INPUT}"))),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| err("InvalidExecutionInput", &format!("Invalid State Machine Execution Input: '{e}'"))),
        Some(_) => Err(serialization("input", "a string")),
    }
}

fn start_execution(state: &Arc<State>, b: &Body) -> R {
    // Step Functions Local's `...:stateMachine:NAME#TEST_CASE` (sfn_local.rs).
    let (arn, test_case) = super::sfn_local::split_test_case(b.str("stateMachineArn")?);
    let name = b.opt_str("name")?;
    if let Some(n) = name {
        if !valid_name(n) {
            return Err(err("InvalidName", &format!("Invalid Name: '{n}'")));
        }
    }
    b.opt_str("traceHeader")?;
    let input = execution_input(b.0)?;
    let resolved = state.machines.resolve(arn, state.next_seed())?;
    let name = name.map(str::to_string).unwrap_or_else(|| state.uuid());
    if let Some(case) = test_case {
        super::sfn_local::use_test_case(state, &resolved.machine.name, &name, case).map_err(|m| err("ValidationException", &m))?;
    }
    match exec::start_async(state, &resolved.machine, Some(name), input) {
        Ok((exec_arn, start)) => {
            state.machines.note_execution(&exec_arn, &resolved);
            ok(json!({"executionArn": exec_arn, "startDate": epoch(start)}))
        }
        Err((c, msg)) => Err(err(&c, &msg)),
    }
}

/// An execution ARN checked as AWS checks it (recorded: a bad prefix is InvalidArn, an Express
/// execution is "not valid in this context" for DescribeExecution and GetExecutionHistory).
fn execution(state: &State, arn: &str) -> Result<exec::Record, Resp> {
    let Some(rest) = arn.strip_prefix(&prefix()) else {
        if arn.starts_with("arn:") {
            return Err(err("ExecutionDoesNotExist", &format!("Execution Does Not Exist: '{arn}'")));
        }
        return Err(err("InvalidArn", &format!("Invalid Arn: 'Invalid ARN prefix: {arn}'")));
    };
    if rest.starts_with("express:") {
        return Err(err("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'"));
    }
    state.executions.get(arn).ok_or_else(|| err("ExecutionDoesNotExist", &format!("Execution Does Not Exist: '{arn}'")))
}

fn meta(state: &State, exec_arn: &str) -> Option<ExecMeta> {
    state.machines.read().execs.get(exec_arn).cloned()
}

fn describe_execution(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("executionArn")?;
    let r = match execution(state, arn) {
        Ok(r) => r,
        // A Map Run's child execution (listed by ListExecutions with mapRunArn).
        Err(e) => return state.executions.describe_map_run_child(arn).map_or(Err(e), ok),
    };
    let mut v = exec::describe_json(&r);
    if let Value::Object(o) = &mut v {
        o.extend(exec::redrive_fields(state, &r));
    }
    if let Some(m) = meta(state, &r.arn) {
        if let Some(a) = m.version_arn {
            v["stateMachineVersionArn"] = json!(a);
        }
        if let Some(a) = m.alias_arn {
            v["stateMachineAliasArn"] = json!(a);
        }
    }
    ok(v)
}

fn describe_for_execution(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("executionArn")?;
    let r = execution(state, arn)?;
    let m = match meta(state, &r.arn) {
        Some(m) => m,
        // Started by a rule or the HTTP API: the machine as it is now.
        None => {
            let inner = state.machines.read();
            let name = r.machine_arn.rsplit(':').next().unwrap_or("");
            let e = inner.machines.get(name).ok_or_else(|| err("ExecutionDoesNotExist", &format!("Execution Does Not Exist: '{arn}'")))?;
            ExecMeta { machine: e.current.clone(), config: e.config.clone(), revision_id: e.revision_id.clone(), updated_ms: e.updated_ms, version_arn: None, alias_arn: None }
        }
    };
    let mut v = json!({
        "stateMachineArn": m.machine.arn, "name": m.machine.name, "definition": m.machine.text, "roleArn": m.config.role_arn,
        "updateDate": epoch(m.updated_ms.unwrap_or(m.machine.created_ms)),
        "loggingConfiguration": m.config.logging, "tracingConfiguration": m.config.tracing,
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    });
    if let Some(x) = m.revision_id {
        v["revisionId"] = json!(x);
    }
    if let Some(a) = m.version_arn {
        v["stateMachineVersionArn"] = json!(a);
    }
    if let Some(a) = m.alias_arn {
        v["stateMachineAliasArn"] = json!(a);
    }
    ok(v)
}

const STATUSES: [&str; 6] = ["SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED", "FAILED", "RUNNING"];

fn list_executions(state: &Arc<State>, b: &Body) -> R {
    let filter = b.opt_str("statusFilter")?;
    if let Some(f) = filter {
        if !STATUSES.contains(&f) {
            return Err(validation(&format!("Value '{f}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [{}]", STATUSES.join(", "))));
        }
    }
    let max = b.max_results(100)?;
    let start = b.token("executions", 3096)?;
    let redrive_filter = b.opt_str("redriveFilter")?;
    if let Some(f) = redrive_filter {
        if f != "REDRIVEN" && f != "NOT_REDRIVEN" {
            return Err(validation(&format!("Value '{f}' at 'redriveFilter' failed to satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]")));
        }
    }
    if let Some(m) = b.opt_str("mapRunArn")? {
        return list_map_run_children(state, b, m, filter, redrive_filter, max, start);
    }
    let arn = b.str("stateMachineArn")?;
    let (name, q) = parse_machine_arn(arn)?;
    let (machine, scope) = {
        let inner = state.machines.read();
        let e = inner.machines.get(&name).ok_or_else(|| not_exist(arn))?;
        let ok_q = match &q {
            Qualifier::None => true,
            Qualifier::Version(n) => e.versions.contains_key(n),
            Qualifier::Alias(a) => e.aliases.contains_key(a),
        };
        if !ok_q {
            return Err(not_exist(arn));
        }
        let scope: Option<HashMap<String, ExecMeta>> = match q {
            Qualifier::None => None,
            _ => Some(inner.execs.iter().filter(|(_, m)| m.version_arn.as_deref() == Some(arn) || m.alias_arn.as_deref() == Some(arn)).map(|(k, v)| (k.clone(), v.clone())).collect()),
        };
        (e.current.clone(), scope)
    };
    if machine.express {
        return Err(err("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine"));
    }
    let mut list: Vec<exec::Record> = {
        let recs = state.executions.records.lock().unwrap_or_else(|e| e.into_inner());
        recs.values()
            .filter(|r| r.machine_arn == machine.arn && !r.express && filter.is_none_or(|f| r.status == f) && scope.as_ref().is_none_or(|s| s.contains_key(&r.arn)))
            .cloned()
            .collect()
    };
    if let Some(f) = redrive_filter {
        let redriven = |r: &exec::Record| exec::redrive_fields(state, r).get("redriveCount").and_then(Value::as_u64).unwrap_or(0) > 0;
        list.retain(|r| redriven(r) == (f == "REDRIVEN"));
    }
    // Newest first, as AWS lists them.
    list.sort_by(|a, b| b.start_ms.cmp(&a.start_ms).then_with(|| a.arn.cmp(&b.arn)));
    let (items, next) = page(list, |r| r.arn.clone(), start.as_deref(), max, "executions")?;
    let metas = state.machines.read();
    let items: Vec<Value> = items
        .iter()
        .map(|r| {
            let mut v = json!({"executionArn": r.arn, "stateMachineArn": r.machine_arn, "name": r.name, "status": r.status, "startDate": epoch(r.start_ms)});
            if let Some(s) = r.stop_ms {
                v["stopDate"] = epoch(s);
            }
            if let Some(m) = metas.execs.get(&r.arn) {
                if let Some(a) = &m.version_arn {
                    v["stateMachineVersionArn"] = json!(a);
                }
                if let Some(a) = &m.alias_arn {
                    v["stateMachineAliasArn"] = json!(a);
                }
            }
            v
        })
        .collect();
    listed("executions", items, next)
}

/// ListExecutions with `mapRunArn`: the Map Run's child executions, newest first, with
/// `mapRunArn` and `itemCount` in each item (which AWS sets only then,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionListItem.html).
/// `stateMachineArn` with it is refused: the API reference allows one or the other.
fn list_map_run_children(state: &Arc<State>, b: &Body, map_run_arn: &str, filter: Option<&str>, redrive_filter: Option<&str>, max: usize, start: Option<String>) -> R {
    if b.opt_str("stateMachineArn")?.is_some() {
        return Err(validation("Specify either a stateMachineArn or a mapRunArn, not both"));
    }
    // No child here is ever redriven on its own: every one is NOT_REDRIVEN.
    if redrive_filter == Some("REDRIVEN") {
        return listed("executions", Vec::new(), None);
    }
    let (_, run) = state.executions.map_run(map_run_arn).ok_or_else(|| err("ResourceNotFound", &format!("Resource not found: '{map_run_arn}'")))?;
    let mut children: Vec<&asl_core::engine::MapRunChild> = run.children.iter().filter(|c| filter.is_none_or(|f| c.4.as_str() == f)).collect();
    children.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
    let (items, next) = page(children, |c| run.child_name(c.0), start.as_deref(), max, "executions")?;
    let items: Vec<Value> = items
        .iter()
        .map(|c| {
            let mut v = json!({
                "executionArn": run.child_execution_arn(c.0), "stateMachineArn": run.state_machine_arn, "name": run.child_name(c.0),
                "status": c.4.as_str(), "startDate": epoch(c.2), "mapRunArn": run.map_run_arn, "itemCount": c.1, "redriveCount": 0,
            });
            if let Some(s) = c.3 {
                v["stopDate"] = epoch(s);
            }
            v
        })
        .collect();
    listed("executions", items, next)
}

/// ListMapRuns (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListMapRuns.html):
/// the execution's Map Runs, with AWS's paging.
fn list_map_runs(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("executionArn")?;
    let max = b.max_results(100)?;
    let start = b.token("mapRuns", 1024)?;
    execution(state, arn)?;
    let runs = state.executions.map_runs_of(arn);
    let (items, next) = page(runs, |r| r.map_run_arn.clone(), start.as_deref(), max, "mapRuns")?;
    let items: Vec<Value> = items
        .iter()
        .map(|r| {
            let mut v = json!({"executionArn": arn, "mapRunArn": r.map_run_arn, "stateMachineArn": r.state_machine_arn, "startDate": epoch(r.start_ms)});
            if let Some(s) = r.stop_ms {
                v["stopDate"] = epoch(s);
            }
            v
        })
        .collect();
    listed("mapRuns", items, next)
}

/// DescribeMapRun (shape as recorded on AWS: counts, maxConcurrency, tolerated failures, dates).
fn describe_map_run(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("mapRunArn")?;
    let (execution_arn, r) = state.executions.map_run(arn).ok_or_else(|| err("ResourceNotFound", &format!("Resource not found: '{arn}'")))?;
    let counts = r.counts();
    let mut v = json!({
        "mapRunArn": r.map_run_arn, "executionArn": execution_arn, "status": r.status, "startDate": epoch(r.start_ms),
        "maxConcurrency": r.max_concurrency, "toleratedFailureCount": r.tolerated_failure_count,
        "toleratedFailurePercentage": r.tolerated_failure_percentage, "itemCounts": counts, "executionCounts": counts,
        "redriveCount": 0,
    });
    if let Some(s) = r.stop_ms {
        v["stopDate"] = epoch(s);
    }
    ok(v)
}

/// UpdateMapRun: maxConcurrency (0..), toleratedFailureCount (0..), toleratedFailurePercentage (0..100).
fn update_map_run(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("mapRunArn")?;
    let int = |k: &str| -> Result<Option<u64>, Resp> {
        match b.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => Ok(Some(n as u64)),
                Some(n) => Err(validation(&format!("Value '{n}' at '{k}' failed to satisfy constraint: Member must have value greater than or equal to 0"))),
                None => Err(serialization(k, "an integer")),
            },
        }
    };
    let max = int("maxConcurrency")?;
    let count = int("toleratedFailureCount")?;
    let pct = match b.0.get("toleratedFailurePercentage") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) => Some(p),
            Some(p) => return Err(validation(&format!("Value '{p}' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value between 0 and 100"))),
            None => return Err(serialization("toleratedFailurePercentage", "a number")),
        },
    };
    if max.is_none() && count.is_none() && pct.is_none() {
        return Err(err("InvalidParameterValueException", "No parameters to update were provided"));
    }
    exec::update_map_run(state, arn, max, count, pct).map_err(|(code, m)| err(code, &m))?;
    ok(json!({}))
}

fn history(state: &Arc<State>, b: &Body) -> R {
    let arn = b.str("executionArn")?;
    let max = b.max_results(100)?;
    let reverse = b.opt_bool("reverseOrder")?.unwrap_or(false);
    let with_data = b.opt_bool("includeExecutionData")?.unwrap_or(true);
    let start = b.token("history", 3096)?;
    let r = execution(state, arn)?;
    let mut events: Vec<Value> = r
        .history
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(ts) = e.get("timestamp").and_then(Value::as_str).and_then(asl_core::time::parse_timestamp) {
                e["timestamp"] = epoch(ts);
            }
            e
        })
        .collect();
    if reverse {
        events.reverse();
    }
    if !with_data {
        for e in &mut events {
            if let Some(m) = e.as_object_mut() {
                for (_, d) in m.iter_mut() {
                    if let Some(d) = d.as_object_mut() {
                        d.remove("input");
                        d.remove("output");
                    }
                }
            }
        }
    }
    let (items, next) = page(events, |e| e["id"].to_string(), start.as_deref(), max, "history")?;
    listed("events", items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(valid_name("my-machine_1.v2"));
        for bad in ["", "a b", "a<b", "a{b", "a?b", "a*b", "a#b", "a:b", "a/b", "a\u{7}b", &"x".repeat(81)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_alias_name("PROD"));
        assert!(!valid_alias_name("123"));
        assert!(!valid_alias_name("ALIAS@"));
    }

    #[test]
    fn diagnostics_use_aws_codes_and_locations() {
        let d = aws_diagnostics("{}", false);
        assert_eq!(d[0].message, "These fields are required: [States, StartAt]");
        assert_eq!(d[0].location.as_deref(), Some("/"));
        let d = aws_diagnostics(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"},"B":{"Type":"Pass","End":true}}}"#, false);
        let text: Vec<String> = d.iter().map(|d| format!("{}: {} at {}", d.code, d.message, d.location.clone().unwrap_or_default())).collect();
        assert!(text.contains(&"MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Next".to_string()), "{text:?}");
        assert!(text.contains(&"MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B".to_string()), "{text:?}");
        let d = aws_diagnostics(r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}}}"#, true);
        assert_eq!(d[0].location.as_deref(), Some("/States/A/Resource"));
        assert_eq!(aws_diagnostics("not a definition", false)[0].code, "INVALID_JSON_DESCRIPTION");
        assert_eq!(aws_diagnostics("[1]", false)[0].message, "Definition must be a valid JSON object");
    }
}
