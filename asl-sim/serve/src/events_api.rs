//! EventBridge's control plane on the AWS endpoint (JSON 1.1, `AWSEvents.*`): event buses,
//! rules and targets. Rules created here route events exactly like the template's: both live
//! in the world's `EventBridge`, and deliveries start state machines through the one dispatcher.
//!
//! Shapes follow the EventBridge API reference
//! (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html); the
//! messages the embedded EventBridge answers are AWS's recorded ones.

use super::http::Resp;
use super::State;
use asl_eventbridge::events::{PutRuleInput, RuleState, Target};
use asl_eventbridge::EventsError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const JSON11: &str = "application/x-amz-json-1.1";

fn err(code: &str, message: &str) -> Resp {
    Resp::json(400, JSON11, &json!({"__type": code, "message": message})).header("x-amzn-errortype", code)
}

fn from_events(e: EventsError) -> Resp {
    Resp::json(e.status, JSON11, &json!({"__type": e.code, "message": e.message})).header("x-amzn-errortype", e.code)
}

fn ok(v: Value) -> Result<Resp, Resp> {
    Ok(Resp::json(200, JSON11, &v))
}

/// What a target carries that the embedded EventBridge does not model: its RetryPolicy and
/// DeadLetterConfig, keyed by (bus, rule, target id). The dead-letter queue takes the events
/// whose delivery failed (`exec::register_deliveries`); the RetryPolicy is kept and answered
/// back but never runs out, since every failure a local target has is one AWS does not
/// retry (`asl_world::targets`).
#[derive(Default)]
pub struct TargetExtras {
    map: Mutex<BTreeMap<(String, String, String), Map<String, Value>>>,
}

impl TargetExtras {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String, String), Map<String, Value>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The target's `DeadLetterConfig.Arn`, if it has one.
    pub fn dead_letter_arn(&self, bus: &str, rule: &str, target_id: &str) -> Option<String> {
        let x = self.lock();
        let m = x.get(&(bus.to_string(), rule.to_string(), target_id.to_string()))?;
        m.get("DeadLetterConfig")?.get("Arn")?.as_str().map(str::to_string)
    }

    /// Every target's extras, as the store keeps them beside the EventBridge state
    /// (`[{"bus", "rule", "id", "extras"}]`).
    pub fn to_json(&self) -> Value {
        let x = self.lock();
        Value::Array(x.iter().map(|((bus, rule, id), m)| json!({"bus": bus, "rule": rule, "id": id, "extras": m})).collect())
    }

    /// Puts back what [`TargetExtras::to_json`] wrote (start-up).
    pub fn restore(&self, v: &Value) -> Result<(), String> {
        let list = v.as_array().ok_or("the stored EventBridge target settings are not a list")?;
        let mut x = self.lock();
        for e in list {
            let field = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string).ok_or(format!("a stored EventBridge target setting has no {k}"));
            let extras = e.get("extras").and_then(Value::as_object).cloned().ok_or("a stored EventBridge target setting has no extras")?;
            x.insert((field("bus")?, field("rule")?, field("id")?), extras);
        }
        Ok(())
    }

    /// Keeps a template target's RetryPolicy and DeadLetterConfig, checked as PutTargets
    /// checks them.
    pub fn insert_template_target(&self, bus: &str, rule: &str, target: &Value) -> Result<(), String> {
        let m = extras_of(target, 1).map_err(|r| String::from_utf8_lossy(&r.body).into_owned())?;
        let id = target.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
        if !m.is_empty() {
            self.lock().insert((bus.to_string(), rule.to_string(), id), m);
        }
        Ok(())
    }
}

fn opt_str<'a>(b: &'a Value, k: &str) -> Result<Option<&'a str>, Resp> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err("SerializationException", &format!("the field '{k}' must be a string"))),
    }
}

fn req_str<'a>(b: &'a Value, k: &str, member: &str) -> Result<&'a str, Resp> {
    opt_str(b, k)?.ok_or_else(|| err("ValidationException", &format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")))
}

/// `Limit` (1..=100) and `NextToken` (an index into the listing, our own format).
fn paging(b: &Value) -> Result<(usize, usize), Resp> {
    let limit = match b.get("Limit") {
        None | Some(Value::Null) => 100,
        Some(v) => match v.as_i64() {
            Some(n @ 1..=100) => n as usize,
            Some(n) if n < 1 => return Err(err("ValidationException", &format!("1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"))),
            Some(n) => return Err(err("ValidationException", &format!("1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"))),
            None => return Err(err("SerializationException", "the field 'Limit' must be an integer")),
        },
    };
    let start = match opt_str(b, "NextToken")? {
        None => 0,
        Some(t) => t.strip_prefix("asl-sim-").and_then(|n| n.parse().ok()).ok_or_else(|| err("ValidationException", "The nextToken provided is invalid."))?,
    };
    Ok((limit, start))
}

fn page<T>(items: Vec<T>, limit: usize, start: usize) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = if start + limit < total { Some(format!("asl-sim-{}", start + limit)) } else { None };
    (out, next)
}

fn with_token(mut v: Value, next: Option<String>) -> Value {
    if let Some(n) = next {
        v["NextToken"] = json!(n);
    }
    v
}

fn rule_json(r: &asl_eventbridge::events::Rule) -> Value {
    let mut v = json!({"Name": r.name, "Arn": r.arn, "State": r.state.as_str(), "EventBusName": r.event_bus_name});
    if let Some(p) = &r.event_pattern {
        v["EventPattern"] = json!(p);
    }
    if let Some(s) = &r.schedule_expression {
        v["ScheduleExpression"] = json!(s);
    }
    if let Some(d) = &r.description {
        v["Description"] = json!(d);
    }
    v
}

fn target_json(t: &Target, extra: Option<&Map<String, Value>>) -> Value {
    let mut v = json!({"Id": t.id, "Arn": t.arn});
    if let Some(i) = &t.input {
        v["Input"] = json!(i);
    }
    if let Some(p) = &t.input_path {
        v["InputPath"] = json!(p);
    }
    if let Some(it) = &t.input_transformer {
        let paths: Map<String, Value> = it.input_paths_map.iter().map(|(k, p)| (k.clone(), json!(p))).collect();
        let mut x = json!({"InputTemplate": it.input_template});
        if !paths.is_empty() {
            x["InputPathsMap"] = Value::Object(paths);
        }
        v["InputTransformer"] = x;
    }
    for (k, e) in extra.into_iter().flatten() {
        v[k] = e.clone();
    }
    v
}

/// The operations of this module; `None` for the others (PutEvents is json_api's).
pub fn handle(state: &Arc<State>, op: &str, body: &Value) -> Option<Resp> {
    let r = match op {
        "CreateEventBus" => create_bus(state, body),
        "DescribeEventBus" => describe_bus(state, body),
        "ListEventBuses" => list_buses(state, body),
        "DeleteEventBus" => delete_bus(state, body),
        "PutRule" => put_rule(state, body),
        "DescribeRule" => describe_rule(state, body),
        "ListRules" => list_rules(state, body),
        "EnableRule" => set_state(state, body, RuleState::Enabled),
        "DisableRule" => set_state(state, body, RuleState::Disabled),
        "DeleteRule" => delete_rule(state, body),
        "PutTargets" => put_targets(state, body),
        "ListTargetsByRule" => list_targets(state, body),
        "RemoveTargets" => remove_targets(state, body),
        _ => return None,
    };
    Some(r.unwrap_or_else(|e| e))
}

type R = Result<Resp, Resp>;

fn create_bus(state: &Arc<State>, b: &Value) -> R {
    let name = req_str(b, "Name", "name")?;
    opt_str(b, "EventSourceName")?;
    let arn = state.world.lock().events.create_event_bus(name).map_err(from_events)?;
    ok(json!({"EventBusArn": arn}))
}

fn describe_bus(state: &Arc<State>, b: &Value) -> R {
    let name = asl_eventbridge::EventBridge::resolve_bus_name(opt_str(b, "Name")?);
    let w = state.world.lock();
    let bus = w.events.buses.get(&name).ok_or_else(|| err("ResourceNotFoundException", &format!("Event bus {name} does not exist.")))?;
    ok(json!({"Name": bus.name, "Arn": bus.arn}))
}

fn list_buses(state: &Arc<State>, b: &Value) -> R {
    let prefix = opt_str(b, "NamePrefix")?;
    let (limit, start) = paging(b)?;
    let w = state.world.lock();
    let all: Vec<Value> = w.events.buses.values().filter(|x| prefix.is_none_or(|p| x.name.starts_with(p))).map(|x| json!({"Name": x.name, "Arn": x.arn})).collect();
    let (items, next) = page(all, limit, start);
    ok(with_token(json!({"EventBuses": items}), next))
}

fn delete_bus(state: &Arc<State>, b: &Value) -> R {
    let name = req_str(b, "Name", "name")?;
    state.world.lock().events.delete_event_bus(name).map_err(from_events)?;
    ok(json!({}))
}

fn put_rule(state: &Arc<State>, b: &Value) -> R {
    let name = req_str(b, "Name", "name")?;
    let rule_state = match opt_str(b, "State")? {
        None | Some("ENABLED") | Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") => RuleState::Enabled,
        Some("DISABLED") => RuleState::Disabled,
        Some(other) => {
            return Err(err(
                "ValidationException",
                &format!("1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"),
            ))
        }
    };
    opt_str(b, "RoleArn")?;
    let input = PutRuleInput {
        name: name.to_string(),
        event_pattern: opt_str(b, "EventPattern")?.map(str::to_string),
        schedule_expression: opt_str(b, "ScheduleExpression")?.map(str::to_string),
        state: Some(rule_state),
        description: opt_str(b, "Description")?.map(str::to_string),
        event_bus_name: opt_str(b, "EventBusName")?.map(str::to_string),
    };
    let arn = state.world.lock().events.put_rule(&input).map_err(from_events)?;
    ok(json!({"RuleArn": arn}))
}

fn rule_not_found(bus: Option<&str>, name: &str) -> Resp {
    err("ResourceNotFoundException", &format!("Rule {name} does not exist on EventBus {}.", asl_eventbridge::EventBridge::resolve_bus_name(bus)))
}

fn bus_exists(state: &State, bus: Option<&str>) -> Result<(), Resp> {
    let name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
    if state.world.lock().events.buses.contains_key(&name) {
        Ok(())
    } else {
        Err(err("ResourceNotFoundException", &format!("Event bus {name} does not exist.")))
    }
}

fn describe_rule(state: &Arc<State>, b: &Value) -> R {
    let name = req_str(b, "Name", "name")?;
    let bus = opt_str(b, "EventBusName")?;
    bus_exists(state, bus)?;
    let w = state.world.lock();
    let r = w.events.get_rule(bus, name).ok_or_else(|| rule_not_found(bus, name))?;
    let mut v = rule_json(r);
    v["CreatedBy"] = json!(super::template::ACCOUNT);
    ok(v)
}

fn list_rules(state: &Arc<State>, b: &Value) -> R {
    let prefix = opt_str(b, "NamePrefix")?;
    let bus = opt_str(b, "EventBusName")?;
    let (limit, start) = paging(b)?;
    let w = state.world.lock();
    let all: Vec<Value> = w.events.list_rules(bus, prefix).map_err(from_events)?.into_iter().map(rule_json).collect();
    let (items, next) = page(all, limit, start);
    ok(with_token(json!({"Rules": items}), next))
}

fn set_state(state: &Arc<State>, b: &Value, to: RuleState) -> R {
    let name = req_str(b, "Name", "name")?;
    let bus = opt_str(b, "EventBusName")?;
    state.world.lock().events.set_rule_state(bus, name, to).map_err(from_events)?;
    ok(json!({}))
}

fn delete_rule(state: &Arc<State>, b: &Value) -> R {
    let name = req_str(b, "Name", "name")?;
    let bus = opt_str(b, "EventBusName")?;
    let force = b.get("Force").and_then(Value::as_bool).unwrap_or(false);
    let mut w = state.world.lock();
    if force {
        if let Some(r) = w.events.get_rule(bus, name) {
            let ids: Vec<String> = r.targets.iter().map(|t| t.id.clone()).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            w.events.remove_targets(bus, name, &ids).map_err(from_events)?;
        }
    }
    w.events.delete_rule(bus, name).map_err(from_events)?;
    let bus_name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
    state.target_extras.lock().retain(|(b, r, _), _| !(b == &bus_name && r == name));
    ok(json!({}))
}

/// The target fields serve keeps beside the embedded EventBridge's (RetryPolicy, DeadLetterConfig),
/// checked as the API reference bounds them (MaximumRetryAttempts 0..=185, MaximumEventAgeInSeconds 60..=86400).
fn extras_of(t: &Value, i: usize) -> Result<Map<String, Value>, Resp> {
    let mut m = Map::new();
    if let Some(rp) = t.get("RetryPolicy").filter(|v| !v.is_null()) {
        let check = |k: &str, member: &str, lo: i64, hi: i64| -> Result<(), Resp> {
            match rp.get(k) {
                None | Some(Value::Null) => Ok(()),
                Some(v) => match v.as_i64() {
                    Some(n) if n < lo => Err(err("ValidationException", &format!("1 validation error detected: Value '{n}' at 'targets.{i}.member.retryPolicy.{member}' failed to satisfy constraint: Member must have value greater than or equal to {lo}"))),
                    Some(n) if n > hi => Err(err("ValidationException", &format!("1 validation error detected: Value '{n}' at 'targets.{i}.member.retryPolicy.{member}' failed to satisfy constraint: Member must have value less than or equal to {hi}"))),
                    Some(_) => Ok(()),
                    None => Err(err("SerializationException", &format!("the field 'RetryPolicy.{k}' must be an integer"))),
                },
            }
        };
        check("MaximumRetryAttempts", "maximumRetryAttempts", 0, 185)?;
        check("MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 86400)?;
        m.insert("RetryPolicy".into(), rp.clone());
    }
    if let Some(d) = t.get("DeadLetterConfig").filter(|v| !v.is_null()) {
        if let Some(a) = d.get("Arn").and_then(Value::as_str) {
            if !a.starts_with("arn:aws:sqs:") {
                return Err(err("ValidationException", &format!("Parameter(s) DeadLetterConfig.Arn is not valid for target {}.", t.get("Id").and_then(Value::as_str).unwrap_or(""))));
            }
        }
        m.insert("DeadLetterConfig".into(), d.clone());
    }
    Ok(m)
}

fn put_targets(state: &Arc<State>, b: &Value) -> R {
    let rule = req_str(b, "Rule", "rule")?;
    let bus = opt_str(b, "EventBusName")?;
    let Some(list) = b.get("Targets").and_then(Value::as_array) else {
        return Err(err("ValidationException", "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null"));
    };
    if list.is_empty() || list.len() > 5 {
        let bound = if list.is_empty() { "greater than or equal to 1" } else { "less than or equal to 5" };
        return Err(err("ValidationException", &format!("1 validation error detected: Value '[...]' at 'targets' failed to satisfy constraint: Member must have length {bound}")));
    }
    let mut targets = Vec::new();
    let mut extras = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let parsed = asl_eventbridge::events::target_from_json(t).map_err(|m| err("ValidationException", &m))?;
        extras.push((parsed.id.clone(), extras_of(t, i + 1)?));
        targets.push(parsed);
    }
    let bus_name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
    state.world.lock().events.put_targets(bus, rule, &targets).map_err(from_events)?;
    let mut x = state.target_extras.lock();
    for (id, m) in extras {
        x.insert((bus_name.clone(), rule.to_string(), id), m);
    }
    ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

fn list_targets(state: &Arc<State>, b: &Value) -> R {
    let rule = req_str(b, "Rule", "rule")?;
    let bus = opt_str(b, "EventBusName")?;
    let (limit, start) = paging(b)?;
    bus_exists(state, bus)?;
    let bus_name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
    let w = state.world.lock();
    let r = w.events.get_rule(bus, rule).ok_or_else(|| rule_not_found(bus, rule))?;
    let x = state.target_extras.lock();
    let all: Vec<Value> = r.targets.iter().map(|t| target_json(t, x.get(&(bus_name.clone(), rule.to_string(), t.id.clone())))).collect();
    let (items, next) = page(all, limit, start);
    ok(with_token(json!({"Targets": items}), next))
}

fn remove_targets(state: &Arc<State>, b: &Value) -> R {
    let rule = req_str(b, "Rule", "rule")?;
    let bus = opt_str(b, "EventBusName")?;
    let Some(ids) = b.get("Ids").and_then(Value::as_array) else {
        return Err(err("ValidationException", "1 validation error detected: Value null at 'ids' failed to satisfy constraint: Member must not be null"));
    };
    let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
    state.world.lock().events.remove_targets(bus, rule, &ids).map_err(from_events)?;
    let bus_name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
    state.target_extras.lock().retain(|(b, r, id), _| !(b == &bus_name && r == rule && ids.contains(&id.as_str())));
    ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}
