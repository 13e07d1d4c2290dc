//! In-memory EventBridge: buses, rules, targets, PutEvents, delivery with input
//! transformation.

use crate::pattern::{Pattern, PatternError};
use asl_aws::time::{format_iso8601, parse_iso8601};
use asl_aws::{CallContext, Event};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// An EventBridge API error (`{code, message, status}`), e.g.
/// `ResourceNotFoundException` / `Event bus nope does not exist.` / 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsError {
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl EventsError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        EventsError { code: code.to_string(), message: message.into(), status: 400 }
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }
    fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }
}

impl From<PatternError> for EventsError {
    fn from(e: PatternError) -> Self {
        EventsError::new("InvalidEventPatternException", e.message)
    }
}

impl std::fmt::Display for EventsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    Enabled,
    Disabled,
}

impl RuleState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputTransformer {
    /// Variable name → JSONPath, in the order given.
    pub input_paths_map: Vec<(String, String)>,
    pub input_template: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub id: String,
    pub arn: String,
    /// Constant JSON text replacing the event.
    pub input: Option<String>,
    /// JSONPath selecting part of the event (e.g. `$.detail`).
    pub input_path: Option<String>,
    pub input_transformer: Option<InputTransformer>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub event_bus_name: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    pub state: RuleState,
    pub description: Option<String>,
    pub targets: Vec<Target>,
    compiled: Option<Pattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bus {
    pub name: String,
    pub arn: String,
    pub rules: BTreeMap<String, Rule>,
}

/// PutRule's request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutRuleInput {
    pub name: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    /// `None` means ENABLED.
    pub state: Option<RuleState>,
    pub description: Option<String>,
    /// Name or ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
}

/// One PutEvents entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutEventsEntry {
    pub source: Option<String>,
    pub detail_type: Option<String>,
    /// JSON text that must be an object.
    pub detail: Option<String>,
    /// Name or ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
    pub resources: Vec<String>,
    /// Milliseconds since the epoch; `None` is the call's time.
    pub time_ms: Option<i64>,
}

/// PutEvents' response: one entry per request entry, same order.
#[derive(Debug, Clone, PartialEq)]
pub struct PutEventsResult {
    pub failed_entry_count: usize,
    /// `Ok(event_id)` or `Err((error_code, error_message))`.
    pub entries: Vec<Result<String, (String, String)>>,
}

impl PutEventsResult {
    /// `{"Entries":[{"EventId":…}|{"ErrorCode":…,"ErrorMessage":…}],"FailedEntryCount":n}`
    pub fn to_json(&self) -> Value {
        let entries: Vec<Value> = self
            .entries
            .iter()
            .map(|e| match e {
                Ok(id) => json!({"EventId": id}),
                Err((c, m)) => json!({"ErrorCode": c, "ErrorMessage": m}),
            })
            .collect();
        json!({"Entries": entries, "FailedEntryCount": self.failed_entry_count})
    }
}

/// One event handed to one target: the caller starts the state machine `target_arn` with
/// `input`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub target_id: String,
    pub target_arn: String,
    pub rule_name: String,
    pub rule_arn: String,
    pub event_bus_name: String,
    /// The input as JSON. A text template that is not JSON gives a JSON string.
    pub input: Value,
    /// The input text EventBridge sends.
    pub input_text: String,
    /// The matched event (envelope).
    pub event: Value,
}

/// EventBridge for one account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBridge {
    pub account: String,
    pub region: String,
    pub buses: BTreeMap<String, Bus>,
}

pub const DEFAULT_BUS: &str = "default";

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl EventBridge {
    /// A fresh EventBridge with the `default` bus.
    pub fn new(account: &str, region: &str) -> Self {
        let mut eb = EventBridge { account: account.to_string(), region: region.to_string(), buses: BTreeMap::new() };
        let arn = eb.bus_arn(DEFAULT_BUS);
        eb.buses.insert(DEFAULT_BUS.to_string(), Bus { name: DEFAULT_BUS.to_string(), arn, rules: BTreeMap::new() });
        eb
    }

    pub fn bus_arn(&self, name: &str) -> String {
        format!("arn:aws:events:{}:{}:event-bus/{}", self.region, self.account, name)
    }

    fn rule_arn(&self, bus: &str, rule: &str) -> String {
        if bus == DEFAULT_BUS {
            format!("arn:aws:events:{}:{}:rule/{}", self.region, self.account, rule)
        } else {
            format!("arn:aws:events:{}:{}:rule/{}/{}", self.region, self.account, bus, rule)
        }
    }

    /// A bus name from a name or an ARN (`…:event-bus/NAME`); `None` → default.
    pub fn resolve_bus_name(name_or_arn: Option<&str>) -> String {
        match name_or_arn {
            None | Some("") => DEFAULT_BUS.to_string(),
            Some(s) if s.starts_with("arn:") => match s.rsplit_once(":event-bus/") {
                Some((_, n)) => n.to_string(),
                None => s.to_string(),
            },
            Some(s) => s.to_string(),
        }
    }

    fn bus_mut(&mut self, name_or_arn: Option<&str>) -> Result<&mut Bus, EventsError> {
        let name = Self::resolve_bus_name(name_or_arn);
        self.buses
            .get_mut(&name)
            .ok_or_else(|| EventsError::not_found(format!("Event bus {name} does not exist.")))
    }

    /// CreateEventBus → the bus ARN.
    pub fn create_event_bus(&mut self, name: &str) -> Result<String, EventsError> {
        if !valid_name(name, 256) || name.contains('/') {
            return Err(EventsError::validation(format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+"
            )));
        }
        if name == DEFAULT_BUS || self.buses.contains_key(name) {
            return Err(EventsError::new(
                "ResourceAlreadyExistsException",
                format!("Event bus {name} already exists."),
            ));
        }
        let arn = self.bus_arn(name);
        self.buses.insert(name.to_string(), Bus { name: name.to_string(), arn: arn.clone(), rules: BTreeMap::new() });
        Ok(arn)
    }

    /// DeleteEventBus: idempotent like AWS; the default bus cannot be deleted.
    pub fn delete_event_bus(&mut self, name: &str) -> Result<(), EventsError> {
        if name == DEFAULT_BUS {
            return Err(EventsError::validation("Cannot delete event bus default."));
        }
        if let Some(bus) = self.buses.get(name) {
            if !bus.rules.is_empty() {
                return Err(EventsError::validation(format!(
                    "Cannot delete event bus {name} because it has rules."
                )));
            }
        }
        self.buses.remove(name);
        Ok(())
    }

    /// PutRule → the rule ARN. Replaces an existing rule of that name (keeping its targets).
    pub fn put_rule(&mut self, input: &PutRuleInput) -> Result<String, EventsError> {
        if !valid_name(&input.name, 64) {
            return Err(EventsError::validation(format!(
                "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                input.name
            )));
        }
        if input.event_pattern.is_none() && input.schedule_expression.is_none() {
            return Err(EventsError::validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.",
            ));
        }
        let compiled = match &input.event_pattern {
            Some(p) => Some(Pattern::parse(p)?),
            None => None,
        };
        let bus_name = Self::resolve_bus_name(input.event_bus_name.as_deref());
        if input.schedule_expression.is_some() && bus_name != DEFAULT_BUS {
            return Err(EventsError::validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        let arn = self.rule_arn(&bus_name, &input.name);
        let bus = self.bus_mut(Some(&bus_name))?;
        let targets = bus.rules.get(&input.name).map(|r| r.targets.clone()).unwrap_or_default();
        bus.rules.insert(
            input.name.clone(),
            Rule {
                name: input.name.clone(),
                arn: arn.clone(),
                event_bus_name: bus_name,
                event_pattern: input.event_pattern.clone(),
                schedule_expression: input.schedule_expression.clone(),
                state: input.state.unwrap_or(RuleState::Enabled),
                description: input.description.clone(),
                targets,
                compiled,
            },
        );
        Ok(arn)
    }

    pub fn get_rule(&self, bus: Option<&str>, name: &str) -> Option<&Rule> {
        self.buses.get(&Self::resolve_bus_name(bus))?.rules.get(name)
    }

    fn rule_mut(&mut self, bus: Option<&str>, name: &str) -> Result<&mut Rule, EventsError> {
        let bus_name = Self::resolve_bus_name(bus);
        let b = self.bus_mut(Some(&bus_name))?;
        b.rules
            .get_mut(name)
            .ok_or_else(|| EventsError::not_found(format!("Rule {name} does not exist on EventBus {bus_name}.")))
    }

    /// ListRules: the rules of a bus (by name), optionally those whose name starts with
    /// `prefix`.
    pub fn list_rules(&self, bus: Option<&str>, prefix: Option<&str>) -> Result<Vec<&Rule>, EventsError> {
        let name = Self::resolve_bus_name(bus);
        let b = self
            .buses
            .get(&name)
            .ok_or_else(|| EventsError::not_found(format!("Event bus {name} does not exist.")))?;
        Ok(b.rules.values().filter(|r| prefix.is_none_or(|p| r.name.starts_with(p))).collect())
    }

    /// TestEventPattern: `event` is the JSON text of a full event; it must be an object
    /// with the envelope fields EventBridge requires (`id`, `account`, `source`, `time`,
    /// `region`, `detail-type`), else `ValidationException: Parameter Event is not valid.`
    pub fn test_event_pattern(&self, pattern: &str, event: &str) -> Result<bool, EventsError> {
        let invalid = || EventsError::validation("Parameter Event is not valid.");
        let ev: Value = serde_json::from_str(event).map_err(|_| invalid())?;
        let obj = ev.as_object().ok_or_else(invalid)?;
        for k in ["id", "account", "source", "time", "region", "detail-type"] {
            if !obj.contains_key(k) {
                return Err(invalid());
            }
        }
        Ok(Pattern::parse(pattern)?.matches(&ev))
    }

    /// EnableRule / DisableRule.
    pub fn set_rule_state(&mut self, bus: Option<&str>, name: &str, state: RuleState) -> Result<(), EventsError> {
        self.rule_mut(bus, name)?.state = state;
        Ok(())
    }

    /// DeleteRule: fails while the rule has targets; a missing rule is not an error.
    pub fn delete_rule(&mut self, bus: Option<&str>, name: &str) -> Result<(), EventsError> {
        let b = self.bus_mut(bus)?;
        if let Some(r) = b.rules.get(name) {
            if !r.targets.is_empty() {
                return Err(EventsError::validation("Rule can't be deleted since it has targets."));
            }
        }
        b.rules.remove(name);
        Ok(())
    }

    /// PutTargets: adds or replaces targets by Id.
    pub fn put_targets(&mut self, bus: Option<&str>, rule: &str, targets: &[Target]) -> Result<(), EventsError> {
        for t in targets {
            validate_target(t)?;
        }
        let r = self.rule_mut(bus, rule)?;
        for t in targets {
            match r.targets.iter_mut().find(|x| x.id == t.id) {
                Some(slot) => *slot = t.clone(),
                None => r.targets.push(t.clone()),
            }
        }
        Ok(())
    }

    /// RemoveTargets by Id (unknown ids are ignored).
    pub fn remove_targets(&mut self, bus: Option<&str>, rule: &str, ids: &[&str]) -> Result<(), EventsError> {
        let r = self.rule_mut(bus, rule)?;
        r.targets.retain(|t| !ids.contains(&t.id.as_str()));
        Ok(())
    }

    /// PutEvents. Returns the API response and the deliveries for accepted events.
    pub fn put_events(
        &mut self,
        entries: &[PutEventsEntry],
        ctx: &CallContext,
    ) -> Result<(PutEventsResult, Vec<Delivery>), EventsError> {
        if entries.is_empty() {
            return Err(EventsError::validation(
                "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if entries.len() > 10 {
            return Err(EventsError::validation(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
            ));
        }
        // PutEvents' size rule: 14 bytes for a Time, plus Source, DetailType, Detail and
        // each resource, summed over the request, at most 256 KiB.
        let total: usize = entries
            .iter()
            .map(|e| {
                e.time_ms.map_or(0, |_| 14)
                    + e.source.as_deref().map_or(0, str::len)
                    + e.detail_type.as_deref().map_or(0, str::len)
                    + e.detail.as_deref().map_or(0, str::len)
                    + e.resources.iter().map(String::len).sum::<usize>()
            })
            .sum();
        if total > 256 * 1024 {
            return Err(EventsError::validation("Total size of the entries in the request is over the limit."));
        }
        let mut results = Vec::with_capacity(entries.len());
        let mut deliveries = Vec::new();
        for entry in entries {
            match self.accept_entry(entry, ctx) {
                Ok(event) => {
                    results.push(Ok(event.id.clone()));
                    let bus = Self::resolve_bus_name(entry.event_bus_name.as_deref());
                    deliveries.extend(self.route(&bus, &event, ctx));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let failed = results.iter().filter(|r| r.is_err()).count();
        Ok((PutEventsResult { failed_entry_count: failed, entries: results }, deliveries))
    }

    fn accept_entry(&self, e: &PutEventsEntry, ctx: &CallContext) -> Result<Event, (String, String)> {
        let invalid = |field: &str| {
            (
                "InvalidArgument".to_string(),
                format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
            )
        };
        let source = e.source.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| invalid("Source"))?;
        let detail_type = e.detail_type.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| invalid("DetailType"))?;
        let detail_text = e.detail.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| invalid("Detail"))?;
        let detail: Value = match serde_json::from_str::<Value>(detail_text) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(("MalformedDetail".to_string(), "Detail is malformed.".to_string())),
        };
        if source.starts_with("aws.") {
            return Err(("NotAuthorizedForSourceException".to_string(), "Not authorized for the source.".to_string()));
        }
        let bus = Self::resolve_bus_name(e.event_bus_name.as_deref());
        if !self.buses.contains_key(&bus) {
            // UNVERIFIED: the entry error AWS gives for an unknown bus.
            return Err(("ResourceNotFoundException".to_string(), format!("Event bus {bus} does not exist.")));
        }
        Ok(Event {
            id: ctx.ids.next_uuid(),
            detail_type: detail_type.to_string(),
            source: source.to_string(),
            account: self.account.clone(),
            time: format_iso8601(e.time_ms.unwrap_or(ctx.now_ms)),
            region: self.region.clone(),
            resources: e.resources.clone(),
            detail,
        })
    }

    /// Puts an AWS service event (e.g. from S3) on a bus (`None` = default) and returns the
    /// deliveries.
    pub fn put_service_event(&mut self, bus: Option<&str>, event: &Event, ctx: &CallContext) -> Vec<Delivery> {
        let bus = Self::resolve_bus_name(bus);
        self.route(&bus, event, ctx)
    }

    /// The deliveries of an event on a bus: for each enabled rule whose pattern matches
    /// (rules by name), each target in order.
    pub fn route(&self, bus: &str, event: &Event, ctx: &CallContext) -> Vec<Delivery> {
        let Some(b) = self.buses.get(bus) else { return Vec::new() };
        let ev = event.to_json();
        let mut out = Vec::new();
        for rule in b.rules.values() {
            if rule.state != RuleState::Enabled {
                continue;
            }
            let Some(p) = &rule.compiled else { continue };
            if !p.matches(&ev) {
                continue;
            }
            for t in &rule.targets {
                let (input, input_text) = transform_input(t, rule, &ev, ctx.now_ms);
                out.push(Delivery {
                    target_id: t.id.clone(),
                    target_arn: t.arn.clone(),
                    rule_name: rule.name.clone(),
                    rule_arn: rule.arn.clone(),
                    event_bus_name: b.name.clone(),
                    input,
                    input_text,
                    event: ev.clone(),
                });
            }
        }
        out
    }

    /// State as JSON (buses, rules, targets).
    pub fn to_json(&self) -> Value {
        let mut buses = Map::new();
        for (name, b) in &self.buses {
            let mut rules = Map::new();
            for (rn, r) in &b.rules {
                let targets: Vec<Value> = r
                    .targets
                    .iter()
                    .map(|t| {
                        let mut m = Map::new();
                        m.insert("Id".into(), json!(t.id));
                        m.insert("Arn".into(), json!(t.arn));
                        if let Some(i) = &t.input {
                            m.insert("Input".into(), json!(i));
                        }
                        if let Some(i) = &t.input_path {
                            m.insert("InputPath".into(), json!(i));
                        }
                        if let Some(it) = &t.input_transformer {
                            let mut pm = Map::new();
                            for (k, v) in &it.input_paths_map {
                                pm.insert(k.clone(), json!(v));
                            }
                            m.insert("InputTransformer".into(), json!({"InputPathsMap": pm, "InputTemplate": it.input_template}));
                        }
                        Value::Object(m)
                    })
                    .collect();
                let mut rm = Map::new();
                rm.insert("Name".into(), json!(r.name));
                if let Some(p) = &r.event_pattern {
                    rm.insert("EventPattern".into(), json!(p));
                }
                if let Some(s) = &r.schedule_expression {
                    rm.insert("ScheduleExpression".into(), json!(s));
                }
                rm.insert("State".into(), json!(r.state.as_str()));
                if let Some(d) = &r.description {
                    rm.insert("Description".into(), json!(d));
                }
                rm.insert("Targets".into(), Value::Array(targets));
                rules.insert(rn.clone(), Value::Object(rm));
            }
            buses.insert(name.clone(), json!({"Rules": rules}));
        }
        json!({"Account": self.account, "Region": self.region, "Buses": buses})
    }

    /// Restores [`EventBridge::to_json`] output.
    pub fn from_json(v: &Value) -> Result<EventBridge, String> {
        let account = v.get("Account").and_then(Value::as_str).ok_or("missing Account")?;
        let region = v.get("Region").and_then(Value::as_str).ok_or("missing Region")?;
        let mut eb = EventBridge::new(account, region);
        let buses = v.get("Buses").and_then(Value::as_object).ok_or("missing Buses")?;
        for (name, b) in buses {
            if name != DEFAULT_BUS {
                eb.create_event_bus(name).map_err(|e| e.to_string())?;
            }
            let rules = b.get("Rules").and_then(Value::as_object).ok_or("missing Rules")?;
            for (rn, r) in rules {
                let state = match r.get("State").and_then(Value::as_str) {
                    Some("DISABLED") => RuleState::Disabled,
                    _ => RuleState::Enabled,
                };
                eb.put_rule(&PutRuleInput {
                    name: rn.clone(),
                    event_pattern: r.get("EventPattern").and_then(Value::as_str).map(str::to_string),
                    schedule_expression: r.get("ScheduleExpression").and_then(Value::as_str).map(str::to_string),
                    state: Some(state),
                    description: r.get("Description").and_then(Value::as_str).map(str::to_string),
                    event_bus_name: Some(name.clone()),
                })
                .map_err(|e| e.to_string())?;
                let targets = r.get("Targets").and_then(Value::as_array).cloned().unwrap_or_default();
                let parsed: Vec<Target> = targets.iter().map(target_from_json).collect::<Result<_, _>>()?;
                eb.put_targets(Some(name), rn, &parsed).map_err(|e| e.to_string())?;
            }
        }
        Ok(eb)
    }
}

/// A target from its API JSON (`{"Id","Arn","Input","InputPath","InputTransformer"}`).
pub fn target_from_json(v: &Value) -> Result<Target, String> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let it = match v.get("InputTransformer") {
        Some(t) => {
            let mut paths = Vec::new();
            if let Some(m) = t.get("InputPathsMap").and_then(Value::as_object) {
                for (k, p) in m {
                    paths.push((k.clone(), p.as_str().ok_or("InputPathsMap values must be strings")?.to_string()));
                }
            }
            let template = t.get("InputTemplate").and_then(Value::as_str).ok_or("missing InputTemplate")?;
            Some(InputTransformer { input_paths_map: paths, input_template: template.to_string() })
        }
        None => None,
    };
    Ok(Target {
        id: s("Id").ok_or("missing Id")?,
        arn: s("Arn").ok_or("missing Arn")?,
        input: s("Input"),
        input_path: s("InputPath"),
        input_transformer: it,
    })
}

fn validate_target(t: &Target) -> Result<(), EventsError> {
    let n = t.input.is_some() as u8 + t.input_path.is_some() as u8 + t.input_transformer.is_some() as u8;
    if n > 1 {
        return Err(EventsError::validation(format!(
            "Only one of Input, InputPath, or InputTransformer must be provided for target {}.",
            t.id
        )));
    }
    if !valid_name(&t.id, 64) {
        return Err(EventsError::validation(format!(
            "1 validation error detected: Value '{}' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
            t.id
        )));
    }
    if let Some(i) = &t.input {
        if serde_json::from_str::<Value>(i).is_err() {
            return Err(EventsError::validation(format!("Input for target {} is not a valid JSON text.", t.id)));
        }
    }
    if let Some(p) = &t.input_path {
        if parse_json_path(p).is_none() {
            return Err(EventsError::validation(format!("InputPath for target {} is invalid.", t.id)));
        }
    }
    if let Some(it) = &t.input_transformer {
        if it.input_paths_map.len() > 100 {
            return Err(EventsError::validation("InputPathsMap has more than 100 entries."));
        }
        for (k, p) in &it.input_paths_map {
            if k.starts_with("aws.") {
                return Err(EventsError::validation(format!(
                    "Input template for target {} uses reserved variable name {}.",
                    t.id, k
                )));
            }
            if parse_json_path(p).is_none() {
                return Err(EventsError::validation(format!("Invalid InputPathsMap[{k}]: {p}")));
            }
        }
        for name in placeholders(&it.input_template) {
            let known = PREDEFINED.contains(&name.as_str()) || it.input_paths_map.iter().any(|(k, _)| *k == name);
            if !known {
                // Recorded on AWS.
                return Err(EventsError::validation(format!(
                    "InputTemplate for target {} contains invalid placeholder {}.",
                    t.id, name
                )));
            }
        }
    }
    Ok(())
}

const PREDEFINED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

fn is_placeholder_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The `<name>` placeholders of a template, in order.
fn placeholders(tpl: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = tpl;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        match after.find('>') {
            Some(j) if j > 0 && after[..j].chars().all(is_placeholder_char) => {
                out.push(after[..j].to_string());
                rest = &after[j + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum PathSeg {
    Key(String),
    Index(usize),
}

/// The JSONPath subset EventBridge takes: `$`, `.name` (with dashes etc.), `['name']`, `[n]`.
fn parse_json_path(p: &str) -> Option<Vec<PathSeg>> {
    let rest = p.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                segs.push(PathSeg::Key(chars[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let close = chars[i..].iter().position(|&c| c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    segs.push(PathSeg::Key(q.to_string()));
                } else if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    segs.push(PathSeg::Key(q.to_string()));
                } else {
                    segs.push(PathSeg::Index(inner.trim().parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(segs)
}

fn eval_json_path<'a>(v: &'a Value, p: &str) -> Option<&'a Value> {
    let segs = parse_json_path(p)?;
    let mut cur = v;
    for s in &segs {
        cur = match s {
            PathSeg::Key(k) => cur.get(k.as_str())?,
            PathSeg::Index(n) => cur.get(*n)?,
        };
    }
    Some(cur)
}

/// Input for a target: `Input` (constant), `InputPath`, `InputTransformer`, or the event.
fn transform_input(t: &Target, rule: &Rule, event: &Value, now_ms: i64) -> (Value, String) {
    if let Some(text) = &t.input {
        let v = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()));
        return (v, text.clone());
    }
    if let Some(p) = &t.input_path {
        // UNVERIFIED: a path that selects nothing delivers `null` here.
        let v = eval_json_path(event, p).cloned().unwrap_or(Value::Null);
        let text = v.to_string();
        return (v, text);
    }
    if let Some(it) = &t.input_transformer {
        return render_template(it, rule, event, now_ms);
    }
    (event.clone(), event.to_string())
}

/// Renders an InputTransformer template.
///
/// * In a JSON template (one that begins with `{`, `[` or `"`), a placeholder inside a
///   JSON string gets the value's text (strings without quotes, JSON-escaped); outside a
///   string it gets the value as JSON (strings quoted). A path that selects nothing gives
///   `""` outside strings and nothing inside them (recorded on AWS).
/// * Any other template is plain text: placeholders get the value's text (strings
///   unquoted) and the target receives the text as is (`input_text`; `input` is that text
///   as a JSON string when it is not JSON).
/// * Predefined: `aws.events.rule-arn`, `aws.events.rule-name`,
///   `aws.events.event.ingestion-time`, `aws.events.event` (`{id, account, detailType,
///   time (ingestion), source, region, resources, version}`, as recorded on AWS),
///   `aws.events.event.json` (the whole event).
pub(crate) fn render_template(it: &InputTransformer, rule: &Rule, event: &Value, now_ms: i64) -> (Value, String) {
    let mut vars: BTreeMap<String, Option<Value>> = BTreeMap::new();
    for (k, p) in &it.input_paths_map {
        vars.insert(k.clone(), eval_json_path(event, p).cloned());
    }
    vars.insert("aws.events.rule-arn".into(), Some(json!(rule.arn)));
    vars.insert("aws.events.rule-name".into(), Some(json!(rule.name)));
    vars.insert("aws.events.event.ingestion-time".into(), Some(json!(format_iso8601(now_ms))));
    // Recorded on AWS: the envelope without `detail`, `detail-type` as `detailType`, `time`
    // as the ingestion time.
    let f = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
    let original = json!({
        "id": f("id"),
        "account": f("account"),
        "detailType": f("detail-type"),
        "time": format_iso8601(now_ms),
        "source": f("source"),
        "region": f("region"),
        "resources": f("resources"),
        "version": f("version"),
    });
    vars.insert("aws.events.event".into(), Some(original));
    vars.insert("aws.events.event.json".into(), Some(event.clone()));

    let tpl = &it.input_template;
    let json_mode = matches!(tpl.trim_start().chars().next(), Some('{') | Some('[') | Some('"'));
    let chars: Vec<char> = tpl.chars().collect();
    let mut out = String::with_capacity(tpl.len());
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if json_mode && c == '\\' && in_string {
            out.push(c);
            if let Some(n) = chars.get(i + 1) {
                out.push(*n);
            }
            i += 2;
            continue;
        }
        if json_mode && c == '"' {
            in_string = !in_string;
            out.push(c);
            i += 1;
            continue;
        }
        if c == '<' {
            if let Some(rel) = chars[i + 1..].iter().position(|&x| x == '>') {
                let name: String = chars[i + 1..i + 1 + rel].iter().collect();
                if let Some(val) = vars.get(&name).filter(|_| name.chars().all(is_placeholder_char)) {
                    let text = if !json_mode {
                        match val {
                            Some(Value::String(s)) => s.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        }
                    } else if in_string {
                        match val {
                            Some(Value::String(s)) => {
                                let quoted = Value::String(s.clone()).to_string();
                                quoted[1..quoted.len() - 1].to_string()
                            }
                            Some(v) => v.to_string(),
                            None => String::new(),
                        }
                    } else {
                        match val {
                            Some(v) => v.to_string(),
                            // Recorded on AWS: a path that selects nothing gives "".
                            None => "\"\"".to_string(),
                        }
                    };
                    out.push_str(&text);
                    i += rel + 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    if json_mode {
        match serde_json::from_str::<Value>(&out) {
            Ok(v) => (v, out),
            Err(_) => (Value::String(out.clone()), out),
        }
    } else {
        let v = serde_json::from_str::<Value>(&out).unwrap_or_else(|_| Value::String(out.clone()));
        (v, out)
    }
}

/// A PutEvents entry from its API JSON. `Detail` may be a string (JSON text) or, as the
/// optimized Step Functions integration accepts, a JSON value (serialized here).
pub fn entry_from_json(v: &Value, allow_detail_value: bool) -> Result<PutEventsEntry, String> {
    let s = |k: &str| -> Option<String> {
        match v.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    };
    let detail = match v.get("Detail") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) if allow_detail_value => Some(other.to_string()),
        Some(_) => return Err("Detail must be a string".to_string()),
    };
    let resources = match v.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or("Resources must be strings"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("Resources must be an array".to_string()),
    };
    let time_ms = match v.get("Time") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(|x| (x * 1000.0) as i64),
        Some(Value::String(t)) => Some(parse_iso8601(t).ok_or("Time is not a timestamp")?),
        Some(_) => return Err("Time is not a timestamp".to_string()),
    };
    Ok(PutEventsEntry {
        source: s("Source"),
        detail_type: s("DetailType"),
        detail,
        event_bus_name: s("EventBusName"),
        resources,
        time_ms,
    })
}
