//! Loading a simulation scenario: the YAML file (with `extends`), the SAM template's state
//! machines, tables, buckets, buses and EventBridge rules, the fixture, the workload, the
//! faults and the invariants. Everything is resolved once; each run clones the base world.

use crate::world::World;
use asl_core::definition::Definition;
use asl_core::diagnostic::Severity;
use asl_core::engine::ExecutionType;
use asl_core::tree::{Node, Pos};
use asl_world::cfn::{Options, Resolver};
use asl_eventbridge::events::{InputTransformer, PutRuleInput, Target};
use asl_aws::CallContext;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use asl_aws::defaults::REGION;
pub use asl_aws::defaults::ACCOUNT;

pub struct Machine {
    pub name: String,
    pub def: Arc<Definition>,
    pub exec_type: ExecutionType,
}

/// What a client does to the system (one step of the workload).
#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    /// S3 PutObject of `size` bytes (a create or an overwrite).
    Put { size: u64 },
    /// A user's delete request: PutEvents of `DeleteFile` on the delete bus (the delete workflow).
    Delete,
    /// S3 DeleteObject straight on the bucket.
    S3Delete,
    /// Start an execution of a machine with an input.
    Start { machine: String, input: Value },
    /// PutEvents of one custom event on a bus (`None`: default).
    Event { bus: Option<String>, source: String, detail_type: String, detail: Value },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    /// The full S3 key (`USER/path/name`), empty for `Start`.
    pub key: String,
}

impl Op {
    pub fn describe(&self) -> String {
        match &self.kind {
            OpKind::Put { size } => format!("put {} ({size} bytes)", self.key),
            OpKind::Delete => format!("delete request {}", self.key),
            OpKind::S3Delete => format!("s3 delete {}", self.key),
            OpKind::Start { machine, input } => format!("start {machine} {input}"),
            OpKind::Event { bus, source, detail_type, detail } => {
                format!("put event {source}/{detail_type} on {} {detail}", bus.as_deref().unwrap_or("default"))
            }
        }
    }
}

pub struct RandomOps {
    pub count: usize,
    pub users: Vec<String>,
    pub keys: Vec<String>,
    pub sizes: Vec<u64>,
    /// (kind, weight): put, delete, s3-delete.
    pub weights: Vec<(String, u64)>,
}

pub struct Workload {
    pub concurrency: usize,
    pub ops: Vec<Op>,
    pub random: Option<RandomOps>,
    pub bucket: String,
    pub delete_bus: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DeliveryFaults {
    /// Probability that an event is delivered twice.
    pub duplicate: f64,
    /// Probability that a delivery is held back for 1..=delay_steps steps.
    pub delay: f64,
    pub delay_steps: u64,
    /// `false`: deliveries start in the order they were produced (FIFO).
    pub any_order: bool,
}

#[derive(Clone, Debug)]
pub struct FaultRule {
    /// throttle, 5xx, timeout, lambda-error, hang, or `error` (custom name).
    pub kind: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub probability: f64,
    /// Global step numbers (as the trace shows them) at which to inject.
    pub steps: Vec<u64>,
    /// Services (dynamodb, s3, lambda, events, states); empty = all.
    pub services: Vec<String>,
    /// Task state names; empty = all.
    pub states: Vec<String>,
    /// Machine names; empty = all.
    pub machines: Vec<String>,
    /// The call takes effect and then the error is returned (a lost answer).
    pub applied: bool,
}

pub enum Invariant {
    InventoryMatchesBucket { table: String, bucket: String },
    QuotaEqualsSum { table: String },
    NoFailedExecutions { allow: Vec<String> },
    Jsonata { name: String, expr: jsonata::Expression, text: String },
}

impl Invariant {
    pub fn name(&self) -> String {
        match self {
            Invariant::InventoryMatchesBucket { .. } => "inventory-matches-bucket".into(),
            Invariant::QuotaEqualsSum { .. } => "quota-equals-sum".into(),
            Invariant::NoFailedExecutions { .. } => "no-failed-executions".into(),
            Invariant::Jsonata { name, .. } => name.clone(),
        }
    }
}

pub struct Stub {
    pub output: Value,
}

/// The services' state every run starts from.
pub struct Base {
    pub dynamodb: asl_dynamodb::Database,
    pub s3: asl_s3::S3,
    pub events: asl_eventbridge::EventBridge,
}

pub struct Scenario {
    pub path: PathBuf,
    pub description: String,
    pub machines: BTreeMap<String, Machine>,
    pub base: Base,
    pub workload: Workload,
    pub delivery: DeliveryFaults,
    pub faults: Vec<FaultRule>,
    pub invariants: Vec<Invariant>,
    pub lambdas: BTreeMap<String, Stub>,
    pub runs: u64,
    pub seed: u64,
    pub max_steps: u64,
}

impl Scenario {
    /// A fresh world for one run: the base state, cloned.
    pub fn world(&self) -> World {
        let mut w = World::new(REGION, ACCOUNT);
        w.dynamodb = self.base.dynamodb.clone();
        w.s3 = self.base.s3.clone();
        w.events = self.base.events.clone();
        w
    }
}

// ------------------------------------------------------------------ reading

fn read_doc(path: &Path) -> Result<Node, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    asl_core::tree::load(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// Objects merge key by key (the extending file wins); anything else is replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn load_value(path: &Path, depth: usize) -> Result<Value, String> {
    if depth > 8 {
        return Err("extends nests too deeply".into());
    }
    let mut v = read_doc(path)?.to_value();
    let Value::Object(m) = &mut v else { return Err(format!("{}: a scenario must be a mapping", path.display())) };
    if let Some(ext) = m.remove("extends") {
        let ext = ext.as_str().ok_or("extends must be a file name")?;
        let base_path = path.parent().unwrap_or(Path::new(".")).join(ext);
        let mut base = load_value(&base_path, depth + 1)?;
        if let Value::Object(b) = &mut base {
            b.remove("description");
            // The base's paths are relative to the base's own directory.
            let base_dir = std::path::absolute(base_path.parent().unwrap_or(Path::new("."))).unwrap_or_default();
            let fix = |v: &mut Value| {
                if let Value::String(p) = v {
                    if Path::new(p.as_str()).is_relative() {
                        *p = base_dir.join(p.as_str()).display().to_string();
                    }
                }
            };
            if let Some(t) = b.get_mut("template") {
                fix(t);
            }
            if let Some(f) = b.get_mut("fixture") {
                fix(f);
            }
            if let Some(Value::Object(ms)) = b.get_mut("machines") {
                for m in ms.values_mut() {
                    if let Some(d) = m.get_mut("definition") {
                        fix(d);
                    }
                }
            }
        }
        merge(&mut base, v);
        return Ok(base);
    }
    Ok(v)
}

fn strs(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(format!("{what} must be a list of strings")),
            })
            .collect(),
        _ => Err(format!("{what} must be a list of strings")),
    }
}

fn check_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unknown field \"{k}\" in {what}; expected one of: {}", allowed.join(", ")));
        }
    }
    Ok(())
}

fn f64_of(v: Option<&Value>, what: &str, default: f64) -> Result<f64, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x.as_f64().filter(|p| (0.0..=1.0).contains(p)).ok_or(format!("{what} must be a probability from 0 to 1")),
    }
}

fn u64_of(v: Option<&Value>, what: &str, default: u64) -> Result<u64, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x.as_u64().ok_or(format!("{what} must be a non-negative integer")),
    }
}

/// A machine as the scenario describes it before loading.
#[derive(Default)]
struct MachineSpec {
    definition: Option<PathBuf>,
    inline: Option<Value>,
    subs: HashMap<String, String>,
    exec_type: Option<ExecutionType>,
    rules: Vec<RuleSpec>,
}

#[derive(Clone, Default)]
struct RuleSpec {
    name: String,
    bus: Option<String>,
    pattern: Value,
    input: Option<String>,
    input_path: Option<String>,
    transformer: Option<InputTransformer>,
}

pub fn load(path: &Path) -> Result<Scenario, String> {
    let v = load_value(path, 0)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let Value::Object(top) = v else { return Err("a scenario must be a mapping".into()) };
    check_keys(
        &top,
        &["description", "template", "names", "machines", "fixture", "workload", "faults", "invariants", "lambdas", "runs", "seed", "max_steps"],
        "the scenario",
    )?;
    let mut world = World::new(REGION, ACCOUNT);
    let mut specs: BTreeMap<String, MachineSpec> = BTreeMap::new();
    let names: HashMap<String, String> = match top.get("names") {
        None => HashMap::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect(),
        Some(_) => return Err("names must map template logical ids to names".into()),
    };
    let machine_entries: Vec<(String, Value)> = match top.get("machines") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(|x| (x.as_str().unwrap_or("").to_string(), json!({}))).collect(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => return Err("machines must be a list of names or a mapping".into()),
    };
    if let Some(t) = top.get("template") {
        let t = t.as_str().ok_or("template must be a path")?;
        let tpath = dir.join(t);
        let wanted: Vec<String> = machine_entries.iter().map(|(k, _)| k.clone()).collect();
        load_template(&tpath, &names, &wanted, &mut world, &mut specs)?;
    }
    for (name, over) in &machine_entries {
        let Value::Object(o) = over else {
            if over.is_null() {
                continue;
            }
            return Err(format!("machines.{name} must be a mapping"));
        };
        check_keys(o, &["definition", "substitutions", "type", "rules", "input_path"], &format!("machines.{name}"))?;
        let spec = specs.entry(name.clone()).or_default();
        match o.get("definition") {
            Some(Value::String(p)) => {
                spec.definition = Some(dir.join(p));
                spec.inline = None;
            }
            Some(v @ Value::Object(_)) => {
                spec.inline = Some(v.clone());
                spec.definition = None;
            }
            None => {}
            Some(_) => return Err(format!("machines.{name}.definition must be a path or a definition")),
        }
        if let Some(Value::Object(s)) = o.get("substitutions") {
            for (k, v) in s {
                spec.subs.insert(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        }
        if let Some(t) = o.get("type").and_then(Value::as_str) {
            spec.exec_type = Some(if t.eq_ignore_ascii_case("express") { ExecutionType::Express } else { ExecutionType::Standard });
        }
        if let Some(rules) = o.get("rules") {
            let a = rules.as_array().ok_or(format!("machines.{name}.rules must be a list"))?;
            spec.rules.clear();
            for (i, r) in a.iter().enumerate() {
                let Value::Object(r) = r else { return Err(format!("machines.{name}.rules[{i}] must be a mapping")) };
                check_keys(r, &["bus", "pattern", "input", "input_path", "input_transformer"], &format!("machines.{name}.rules[{i}]"))?;
                spec.rules.push(RuleSpec {
                    name: format!("{name}-rule{i}"),
                    bus: r.get("bus").and_then(Value::as_str).map(str::to_string),
                    pattern: r.get("pattern").cloned().ok_or(format!("machines.{name}.rules[{i}].pattern is required"))?,
                    input: r.get("input").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())),
                    input_path: r.get("input_path").and_then(Value::as_str).map(str::to_string),
                    transformer: r.get("input_transformer").map(transformer_of).transpose()?,
                });
            }
        }
        if let Some(p) = o.get("input_path") {
            let p = p.as_str().map(str::to_string);
            for r in &mut spec.rules {
                r.input_path = p.clone();
            }
        }
    }
    // Fixture (after the template's resources, so it can add items to its tables).
    if let Some(f) = top.get("fixture") {
        let f = match f {
            Value::String(p) => read_doc(&dir.join(p))?.to_value(),
            other => other.clone(),
        };
        world.load_fixture(&f).map_err(|e| format!("fixture: {e}"))?;
    }
    // Machines and their rules.
    let mut machines = BTreeMap::new();
    for (name, spec) in specs {
        let (text, label) = match (&spec.definition, &spec.inline) {
            (Some(p), _) => (std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?, p.display().to_string()),
            (None, Some(v)) => (v.to_string(), format!("machines.{name}.definition")),
            (None, None) => return Err(format!("machine {name} has no definition (not in the template, and no definition given)")),
        };
        let (def, diags) = asl_core::load_definition(&text, &spec.subs);
        let errors: Vec<String> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{label}:{}: {} {}", d.pos, d.code, d.message))
            .collect();
        let Some(def) = def.filter(|_| errors.is_empty()) else {
            return Err(format!("machine {name}: invalid definition:\n  {}", errors.join("\n  ")));
        };
        for r in &spec.rules {
            let bus = r.bus.clone();
            if let Some(b) = &bus {
                let b = asl_eventbridge::EventBridge::resolve_bus_name(Some(b));
                if !world.events.buses.contains_key(&b) {
                    world.events.create_event_bus(&b).map_err(|e| format!("bus {b}: {}", e.message))?;
                }
            }
            world
                .events
                .put_rule(&PutRuleInput {
                    name: r.name.chars().take(64).collect(),
                    event_pattern: Some(r.pattern.to_string()),
                    event_bus_name: bus.clone(),
                    ..Default::default()
                })
                .map_err(|e| format!("rule {} of {name}: {}: {}", r.name, e.code, e.message))?;
            world
                .events
                .put_targets(
                    bus.as_deref(),
                    &r.name.chars().take(64).collect::<String>(),
                    &[Target {
                        id: name.clone(),
                        arn: format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"),
                        input: r.input.clone(),
                        input_path: r.input_path.clone(),
                        input_transformer: r.transformer.clone(),
                    }],
                )
                .map_err(|e| format!("targets of {name}: {}: {}", e.code, e.message))?;
        }
        machines.insert(
            name.clone(),
            Machine { name: name.clone(), def: Arc::new(def), exec_type: spec.exec_type.unwrap_or(ExecutionType::Standard) },
        );
    }
    if machines.is_empty() {
        return Err("the scenario names no state machine (machines:)".into());
    }
    let workload = load_workload(top.get("workload"), &world, &machines)?;
    let (delivery, faults) = load_faults(top.get("faults"))?;
    let invariants = load_invariants(top.get("invariants"))?;
    let mut lambdas = BTreeMap::new();
    if let Some(Value::Object(m)) = top.get("lambdas") {
        for (k, v) in m {
            lambdas.insert(k.clone(), Stub { output: v.get("output").cloned().unwrap_or(Value::Null) });
        }
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        description: top.get("description").and_then(Value::as_str).unwrap_or("").trim().to_string(),
        machines,
        base: Base { dynamodb: world.dynamodb, s3: world.s3, events: world.events },
        workload,
        delivery,
        faults,
        invariants,
        lambdas,
        runs: u64_of(top.get("runs"), "runs", 100)?,
        seed: u64_of(top.get("seed"), "seed", 1)?,
        max_steps: u64_of(top.get("max_steps"), "max_steps", 100_000)?,
    })
}

fn transformer_of(v: &Value) -> Result<InputTransformer, String> {
    let map = match v.get("InputPathsMap").or(v.get("input_paths_map")) {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect(),
        _ => Vec::new(),
    };
    let template = v
        .get("InputTemplate")
        .or(v.get("input_template"))
        .and_then(Value::as_str)
        .ok_or("an input transformer needs InputTemplate")?
        .to_string();
    Ok(InputTransformer { input_paths_map: map, input_template: template })
}

// ------------------------------------------------------------------ template

fn load_template(
    path: &Path,
    names: &HashMap<String, String>,
    wanted: &[String],
    world: &mut World,
    specs: &mut BTreeMap<String, MachineSpec>,
) -> Result<(), String> {
    let root = read_doc(path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let resources = root.get("Resources").ok_or(format!("{}: no Resources", path.display()))?;
    // `names` gives physical names by logical id, parameter values and AWS::StackName.
    let options = Options {
        stack_name: names.get("AWS::StackName").cloned().unwrap_or_else(|| Options::default().stack_name),
        parameters: names.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        names: names.clone(),
        hint: "give it in names:".into(),
        ..Options::default()
    };
    let t = Resolver::new(&root, options);
    let name_of = |id: &str| t.physical_name(id, Pos::default()).map_err(|p| format!("{}: {p}", path.display()));
    let ctx = CallContext::new(0, 7);
    for e in resources.entries() {
        let id = e.key.as_str();
        let ty = e.value.get("Type").and_then(Node::as_str).unwrap_or("");
        let handled = ["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Events::EventBus", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"];
        if !handled.contains(&ty) {
            continue;
        }
        let props = match e.value.get("Properties") {
            Some(p) => t.resolve(p).map_err(|p| format!("{}: {id}: {p}", path.display()))?,
            None => json!({}),
        };
        match ty {
            "AWS::DynamoDB::Table" => {
                let mut req = Map::new();
                req.insert("TableName".into(), json!(name_of(id)?));
                for k in ["AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
                    if let Some(v) = props.get(k) {
                        req.insert(k.into(), v.clone());
                    }
                }
                if !req.contains_key("BillingMode") && !req.contains_key("ProvisionedThroughput") {
                    req.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
                }
                world.dynamodb.call("CreateTable", &Value::Object(req)).map_err(|e| format!("table {id}: {}: {}", e.code, e.message))?;
            }
            "AWS::S3::Bucket" => {
                let name = name_of(id)?;
                world.s3.create_bucket(&name, &ctx).map_err(|e| format!("bucket {id}: {}: {}", e.code, e.message))?;
                let eb = props.pointer("/NotificationConfiguration/EventBridgeConfiguration/EventBridgeEnabled");
                if eb.is_some_and(|v| v == &json!(true) || v == &json!("true")) {
                    world.s3.set_eventbridge(&name, true).map_err(|e| e.message)?;
                }
            }
            "AWS::Events::EventBus" => {
                let name = name_of(id)?;
                world.events.create_event_bus(&name).map_err(|e| format!("bus {id}: {}: {}", e.code, e.message))?;
            }
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                let selected = if wanted.is_empty() {
                    props.get("Events").is_some_and(|ev| ev.as_object().is_some_and(|m| !m.is_empty()))
                } else {
                    wanted.iter().any(|w| w == id)
                };
                if !selected {
                    continue;
                }
                let mut spec = MachineSpec::default();
                if let Some(uri) = props.get("DefinitionUri").and_then(Value::as_str) {
                    spec.definition = Some(dir.join(uri));
                } else if let Some(d) = props.get("Definition").or(props.get("DefinitionString")) {
                    spec.inline = Some(match d {
                        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                        v => v.clone(),
                    });
                }
                if let Some(Value::Object(s)) = props.get("DefinitionSubstitutions") {
                    for (k, v) in s {
                        spec.subs.insert(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                    }
                }
                spec.exec_type = Some(match props.get("Type").and_then(Value::as_str) {
                    Some("EXPRESS") => ExecutionType::Express,
                    _ => ExecutionType::Standard,
                });
                if let Some(Value::Object(events)) = props.get("Events") {
                    for (ev_name, ev) in events {
                        let kind = ev.get("Type").and_then(Value::as_str).unwrap_or("");
                        if kind != "EventBridgeRule" && kind != "CloudWatchEvent" {
                            continue;
                        }
                        let p = ev.get("Properties").cloned().unwrap_or(json!({}));
                        spec.rules.push(RuleSpec {
                            name: format!("{id}-{ev_name}"),
                            bus: p.get("EventBusName").and_then(Value::as_str).map(str::to_string),
                            pattern: p.get("Pattern").cloned().unwrap_or(json!({})),
                            input: p.get("Input").and_then(Value::as_str).map(str::to_string),
                            input_path: p.get("InputPath").and_then(Value::as_str).map(str::to_string),
                            transformer: p.get("InputTransformer").map(transformer_of).transpose()?,
                        });
                    }
                }
                specs.insert(id.to_string(), spec);
            }
            _ => {}
        }
    }
    for w in wanted {
        if !specs.contains_key(w) && t.resources.contains_key(w) {
            return Err(format!("{w} is not a state machine of {}", path.display()));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ workload, faults, invariants

fn split_key(spec: &str) -> Result<String, String> {
    if !spec.contains('/') || spec.starts_with('/') {
        return Err(format!("operation key {spec:?} must be USER/path/name"));
    }
    Ok(spec.to_string())
}

fn load_workload(v: Option<&Value>, world: &World, machines: &BTreeMap<String, Machine>) -> Result<Workload, String> {
    let empty = Map::new();
    let m = match v {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err("workload must be a mapping".into()),
    };
    check_keys(m, &["concurrency", "operations", "random", "bucket", "delete_bus"], "workload")?;
    let bucket = match m.get("bucket").and_then(Value::as_str) {
        Some(b) => b.to_string(),
        None => world.s3.buckets.keys().next().cloned().unwrap_or_default(),
    };
    let delete_bus = m.get("delete_bus").and_then(Value::as_str).map(str::to_string);
    let mut ops = Vec::new();
    for (i, o) in m.get("operations").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Value::Object(o) = o else { return Err(format!("workload.operations[{i}] must be a mapping")) };
        let op = if let Some(k) = o.get("put").and_then(Value::as_str) {
            Op { kind: OpKind::Put { size: u64_of(o.get("size"), "size", 1)? }, key: split_key(k)? }
        } else if let Some(k) = o.get("delete").and_then(Value::as_str) {
            Op { kind: OpKind::Delete, key: split_key(k)? }
        } else if let Some(k) = o.get("s3-delete").and_then(Value::as_str) {
            Op { kind: OpKind::S3Delete, key: split_key(k)? }
        } else if let Some(sm) = o.get("start").and_then(Value::as_str) {
            if !machines.contains_key(sm) {
                return Err(format!("workload.operations[{i}]: no machine {sm}"));
            }
            Op { kind: OpKind::Start { machine: sm.into(), input: o.get("input").cloned().unwrap_or(json!({})) }, key: String::new() }
        } else if let Some(Value::Object(e)) = o.get("event") {
            check_keys(e, &["bus", "source", "detail-type", "detail"], &format!("workload.operations[{i}].event"))?;
            let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
            Op {
                kind: OpKind::Event {
                    bus: s("bus"),
                    source: s("source").ok_or(format!("workload.operations[{i}].event.source is required"))?,
                    detail_type: s("detail-type").ok_or(format!("workload.operations[{i}].event.detail-type is required"))?,
                    detail: e.get("detail").cloned().unwrap_or(json!({})),
                },
                key: String::new(),
            }
        } else {
            return Err(format!("workload.operations[{i}] must be one of put, delete, s3-delete, start, event"));
        };
        ops.push(op);
    }
    let random = match m.get("random") {
        None => None,
        Some(Value::Object(r)) => {
            check_keys(r, &["operations", "users", "keys", "sizes", "weights"], "workload.random")?;
            let mut weights = Vec::new();
            match r.get("weights") {
                None => weights = vec![("put".into(), 3), ("delete".into(), 1)],
                Some(Value::Object(w)) => {
                    for (k, v) in w {
                        if !["put", "delete", "s3-delete"].contains(&k.as_str()) {
                            return Err(format!("workload.random.weights: unknown operation {k}"));
                        }
                        weights.push((k.clone(), v.as_u64().ok_or("weights must be integers")?));
                    }
                }
                Some(_) => return Err("workload.random.weights must be a mapping".into()),
            }
            let sizes: Vec<u64> = match r.get("sizes") {
                None => vec![0, 1, 5, 10],
                Some(Value::Array(a)) => a.iter().map(|x| x.as_u64().ok_or("sizes must be integers")).collect::<Result<_, _>>()?,
                Some(_) => return Err("workload.random.sizes must be a list".into()),
            };
            let users = strs(r.get("users"), "workload.random.users")?;
            let keys = strs(r.get("keys"), "workload.random.keys")?;
            if users.is_empty() || keys.is_empty() || sizes.is_empty() || weights.iter().all(|w| w.1 == 0) {
                return Err("workload.random needs users, keys, sizes and a positive weight".into());
            }
            Some(RandomOps { count: u64_of(r.get("operations"), "workload.random.operations", 10)? as usize, users, keys, sizes, weights })
        }
        Some(_) => return Err("workload.random must be a mapping".into()),
    };
    let needs_bus = ops.iter().any(|o| o.kind == OpKind::Delete)
        || random.as_ref().is_some_and(|r| r.weights.iter().any(|(k, w)| k == "delete" && *w > 0));
    if needs_bus && delete_bus.is_none() {
        return Err("delete operations need workload.delete_bus (the bus of the DeleteFile events)".into());
    }
    Ok(Workload { concurrency: u64_of(m.get("concurrency"), "concurrency", 4)?.max(1) as usize, ops, random, bucket, delete_bus })
}

fn load_faults(v: Option<&Value>) -> Result<(DeliveryFaults, Vec<FaultRule>), String> {
    let mut d = DeliveryFaults { duplicate: 0.0, delay: 0.0, delay_steps: 20, any_order: true };
    let mut rules = Vec::new();
    let Some(v) = v else { return Ok((d, rules)) };
    let Value::Object(m) = v else { return Err("faults must be a mapping".into()) };
    check_keys(m, &["delivery", "services"], "faults")?;
    if let Some(Value::Object(dm)) = m.get("delivery") {
        check_keys(dm, &["duplicate", "delay", "delay_steps", "order"], "faults.delivery")?;
        d.duplicate = f64_of(dm.get("duplicate"), "faults.delivery.duplicate", 0.0)?;
        d.delay = f64_of(dm.get("delay"), "faults.delivery.delay", 0.0)?;
        d.delay_steps = u64_of(dm.get("delay_steps"), "faults.delivery.delay_steps", 20)?.max(1);
        d.any_order = match dm.get("order").and_then(Value::as_str) {
            None | Some("any") => true,
            Some("fifo") => false,
            Some(o) => return Err(format!("faults.delivery.order must be any or fifo, not {o}")),
        };
    }
    for (i, r) in m.get("services").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Value::Object(r) = r else { return Err(format!("faults.services[{i}] must be a mapping")) };
        check_keys(r, &["kind", "error", "cause", "probability", "steps", "services", "states", "machines", "applied"], &format!("faults.services[{i}]"))?;
        let error = r.get("error").and_then(Value::as_str).map(str::to_string);
        let kind = match r.get("kind").and_then(Value::as_str) {
            Some(k) => k.to_string(),
            None if error.is_some() => "error".into(),
            None => return Err(format!("faults.services[{i}] needs kind or error")),
        };
        if !["throttle", "5xx", "timeout", "lambda-error", "hang", "error"].contains(&kind.as_str()) {
            return Err(format!("faults.services[{i}].kind must be throttle, 5xx, timeout, lambda-error, hang or error"));
        }
        let steps: Vec<u64> = r.get("steps").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64).collect();
        let probability = f64_of(r.get("probability"), &format!("faults.services[{i}].probability"), if steps.is_empty() { 0.1 } else { 0.0 })?;
        rules.push(FaultRule {
            kind,
            error,
            cause: r.get("cause").and_then(Value::as_str).map(str::to_string),
            probability,
            steps,
            services: strs(r.get("services"), "services")?,
            states: strs(r.get("states"), "states")?,
            machines: strs(r.get("machines"), "machines")?,
            applied: r.get("applied").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    Ok((d, rules))
}

fn load_invariants(v: Option<&Value>) -> Result<Vec<Invariant>, String> {
    let mut out = Vec::new();
    for (i, x) in v.and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (name, params) = match x {
            Value::String(s) => (s.clone(), json!({})),
            Value::Object(m) if m.contains_key("jsonata") => {
                let text = m.get("jsonata").and_then(Value::as_str).ok_or(format!("invariants[{i}].jsonata must be a string"))?;
                let expr = jsonata::parse(text).map_err(|e| format!("invariants[{i}]: {e}"))?;
                let name = m.get("name").and_then(Value::as_str).unwrap_or("jsonata").to_string();
                out.push(Invariant::Jsonata { name, expr, text: text.to_string() });
                continue;
            }
            Value::Object(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
                (k, if v.is_null() { json!({}) } else { v })
            }
            _ => return Err(format!("invariants[{i}] must be a name, {{name: params}} or {{name, jsonata}}")),
        };
        let s = |k: &str, d: &str| params.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
        out.push(match name.as_str() {
            "inventory-matches-bucket" => Invariant::InventoryMatchesBucket { table: s("table", "inventory"), bucket: s("bucket", "files") },
            "quota-equals-sum" => Invariant::QuotaEqualsSum { table: s("table", "inventory") },
            "no-failed-executions" => Invariant::NoFailedExecutions { allow: strs(params.get("allow"), "allow")? },
            other => return Err(format!("unknown invariant {other}; built in: inventory-matches-bucket, quota-equals-sum, no-failed-executions, or {{name, jsonata}}")),
        });
    }
    Ok(out)
}
