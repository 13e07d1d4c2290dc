//! The SAM/CloudFormation template as serve sees it: the resources serve creates, read
//! through the one intrinsic resolver ([`crate::cfn`]). Constructs serve cannot emulate are
//! listed with their line:column, as errors (serve refuses to start) or notices (not
//! emulated).

pub use crate::cfn::Problem;
use crate::cfn::{err, scalar, Naming, Options, Resolver, Resource, R};
use asl_core::tree::{Node, NodeKind, Pos};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use asl_aws::defaults::REGION;
pub use asl_aws::defaults::ACCOUNT;
/// The issuer serve's local tokens carry (see `jwt.rs`).
pub const LOCAL_ISSUER: &str = "https://asl-sim.localhost/issuer";
pub const LOCAL_AUDIENCE: &str = "asl-sim";

pub struct Settings {
    pub stack_name: String,
    pub parameters: BTreeMap<String, String>,
    pub api_endpoint: String,
}

#[derive(Debug, Clone)]
pub struct BucketDef {
    pub logical: String,
    pub name: String,
    pub eventbridge: bool,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub logical: String,
    pub name: String,
    pub bus: String,
    pub pattern: Value,
    /// PutTargets JSON (`Id`, `Arn`, `Input`, `InputPath`, `InputTransformer`).
    pub targets: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct MachineDef {
    pub logical: String,
    pub name: String,
    pub arn: String,
    pub express: bool,
    pub path: PathBuf,
    pub text: String,
    pub subs: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical: String,
    pub name: String,
    pub arn: String,
    /// The cargo binary (Metadata.BuildProperties.Binary) or the Handler.
    pub binary: String,
    pub env: Vec<(String, String)>,
    pub timeout_s: u64,
    pub memory_mb: u64,
}

#[derive(Debug, Clone)]
pub enum Integration {
    /// AWS_PROXY to a Lambda function (payload format 2.0).
    Lambda { function: String },
    /// StepFunctions-StartSyncExecution / StepFunctions-StartExecution.
    StepFunctions { sync: bool, params: BTreeMap<String, String> },
    /// EventBridge-PutEvents.
    PutEvents { params: BTreeMap<String, String> },
}

#[derive(Debug, Clone)]
pub struct Authorizer {
    pub issuer: String,
    pub audience: Vec<String>,
    pub identity_header: String,
}

#[derive(Debug, Clone)]
pub struct RouteDef {
    pub method: String,
    pub path: String,
    pub route_key: String,
    pub integration: Integration,
    pub authorizer: Option<Authorizer>,
}

#[derive(Debug, Clone, Default)]
pub struct ApiDef {
    pub logical: String,
    pub id: String,
    pub routes: Vec<RouteDef>,
}

/// An `AWS::SQS::Queue` as the CreateQueue request that makes it
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queue.html).
#[derive(Debug, Clone)]
pub struct QueueDef {
    pub logical: String,
    pub name: String,
    pub arn: String,
    /// `{"QueueName", "Attributes", "tags"}`.
    pub request: Value,
}

/// An `AWS::SNS::Topic` as its CreateTopic request
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html).
#[derive(Debug, Clone)]
pub struct TopicDef {
    pub logical: String,
    pub arn: String,
    /// `{"Name", "Attributes", "Tags"}`.
    pub request: Value,
}

/// A subscription (`AWS::SNS::Subscription`, a topic's `Subscription` property, a SAM
/// function's `SNS` event) as its Subscribe request.
#[derive(Debug, Clone)]
pub struct SubscriptionDef {
    /// Where it was declared, for messages (`Topic.Subscription[0]`, `Sub`, `Fn.Events.E`).
    pub origin: String,
    /// `{"TopicArn", "Protocol", "Endpoint", "Attributes"}`.
    pub request: Value,
}

/// An SQS queue polled for a function (`AWS::Lambda::EventSourceMapping`, a SAM function's
/// `SQS` event): https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSourceDef {
    pub origin: String,
    pub queue_arn: String,
    /// The function's name.
    pub function: String,
    /// 1–10,000 (10 by default; up to 10 for FIFO queues).
    pub batch_size: u32,
    /// MaximumBatchingWindowInSeconds, 0–300 (0 by default).
    pub batching_window_s: u32,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function answers
    /// `{"batchItemFailures": [{"itemIdentifier": messageId}]}`.
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

/// An EventBridge Scheduler schedule whose target starts a state machine.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleDef {
    pub logical: String,
    /// `rate(...)`, `at(...)` or `cron(...)`, as written.
    pub expression: String,
    pub timezone: String,
    pub target_arn: String,
    pub input: Value,
    pub enabled: bool,
}

#[derive(Debug, Default)]
pub struct Model {
    pub buckets: Vec<BucketDef>,
    /// CreateTable requests.
    pub tables: Vec<(String, Value)>,
    /// Tables with TimeToLiveSpecification enabled: (table name, TTL attribute).
    pub time_to_live: Vec<(String, String)>,
    pub buses: Vec<(String, String)>,
    pub rules: Vec<RuleDef>,
    pub machines: Vec<MachineDef>,
    pub functions: Vec<FunctionDef>,
    pub api: Option<ApiDef>,
    /// EventBridge connections for HTTP Tasks (`AWS::Events::Connection`).
    pub connections: Vec<asl_http_task::Connection>,
    pub queues: Vec<QueueDef>,
    pub topics: Vec<TopicDef>,
    pub subscriptions: Vec<SubscriptionDef>,
    pub event_sources: Vec<EventSourceDef>,
    /// `AWS::Scheduler::Schedule`s (serve fires them).
    pub schedules: Vec<ScheduleDef>,
    pub outputs: Vec<(String, String)>,
    /// Settings that serve does not emulate (it runs without them).
    pub notices: Vec<String>,
}

/// serve's reading of a template: the resolver plus what only serve needs.
struct Ctx<'a> {
    cfn: Resolver<'a>,
    settings: &'a Settings,
}

impl<'a> std::ops::Deref for Ctx<'a> {
    type Target = Resolver<'a>;
    fn deref(&self) -> &Resolver<'a> {
        &self.cfn
    }
}

pub fn load(path: &Path, settings: &Settings) -> Result<Model, Vec<Problem>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem { pos: Pos::default(), message: format!("cannot read the template: {e}") }])?;
    let root = asl_core::tree::load(&text).map_err(|e| vec![Problem { pos: e.pos, message: e.message }])?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    build(&root, &base, settings)
}

fn build(root: &Node, base: &Path, settings: &Settings) -> Result<Model, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut model = Model::default();
    for e in root.entries() {
        match e.key.as_str() {
            "AWSTemplateFormatVersion" | "Description" | "Parameters" | "Resources" | "Outputs" | "Metadata" => {}
            "Transform" => {
                let ok = match &e.value.kind {
                    NodeKind::String(s) => s == "AWS::Serverless-2016-10-31",
                    NodeKind::Array(a) => a.iter().all(|n| n.as_str() == Some("AWS::Serverless-2016-10-31")),
                    _ => false,
                };
                if !ok {
                    problems.push(Problem { pos: e.value.pos, message: "only the AWS::Serverless-2016-10-31 transform is supported".into() });
                }
            }
            "Globals" => model.notices.push(format!("{}: Globals are not applied", e.key_pos)),
            other => problems.push(Problem { pos: e.key_pos, message: format!("template section {other} is not supported") }),
        }
    }
    // serve is its own JWT issuer unless told otherwise.
    let fallback_parameters = [("JwtIssuer", LOCAL_ISSUER), ("JwtAudience", LOCAL_AUDIENCE)].map(|(k, v)| (k.to_string(), v.to_string())).into();
    let options = Options {
        stack_name: settings.stack_name.clone(),
        naming: Naming::Stack,
        parameters: settings.parameters.clone(),
        fallback_parameters,
        names: HashMap::new(),
        api_endpoint: settings.api_endpoint.clone(),
        hint: "pass --parameter NAME=VALUE".into(),
    };
    let cfn = Resolver::new(root, options);
    for (name, pos) in &cfn.missing_params {
        problems.push(Problem { pos: *pos, message: format!("parameter {name} has no Default: pass --parameter {name}=VALUE") });
    }
    for k in settings.parameters.keys() {
        if !cfn.params.contains_key(k) && !cfn.missing_params.contains_key(k) {
            problems.push(Problem { pos: Pos::default(), message: format!("--parameter {k}: the template has no such parameter") });
        }
    }
    let Some(res) = root.get("Resources") else {
        problems.push(Problem { pos: root.pos, message: "the template has no Resources".into() });
        return Err(problems);
    };
    for r in res.entries() {
        for k in r.value.entries() {
            match k.key.as_str() {
                "Type" | "Properties" | "DeletionPolicy" | "UpdateReplacePolicy" | "Metadata" | "DependsOn" => {}
                other => problems.push(Problem { pos: k.key_pos, message: format!("{}: resource attribute {other} is not supported", r.key) }),
            }
        }
    }
    let ctx = Ctx { cfn, settings };
    let mut api = ApiDef::default();
    let mut routes: Vec<(String, &Node)> = Vec::new();
    for (logical, r) in &ctx.resources {
        if let Err(p) = ctx.resource(logical, r, base, &mut model, &mut api, &mut routes) {
            problems.push(p);
        }
    }
    for (logical, node) in routes {
        match ctx.route(&logical, node) {
            Ok(route) => api.routes.push(route),
            Err(p) => problems.push(p),
        }
    }
    if !api.id.is_empty() || !api.routes.is_empty() {
        model.api = Some(api);
    }
    for o in root.get("Outputs").map(Node::entries).unwrap_or(&[]) {
        if let Some(v) = o.value.get("Value") {
            match ctx.resolve(v) {
                Ok(v) => model.outputs.push((o.key.clone(), scalar(&v))),
                Err(p) => problems.push(p),
            }
        }
    }
    if problems.is_empty() {
        Ok(model)
    } else {
        Err(problems)
    }
}

impl<'a> Ctx<'a> {
    fn notice_props(&self, logical: &str, r: &Resource<'_>, known: &[&str], ignored: &[&str], model: &mut Model) -> R<()> {
        for e in r.props.map(Node::entries).unwrap_or(&[]) {
            if known.contains(&e.key.as_str()) {
                continue;
            }
            if ignored.contains(&e.key.as_str()) {
                model.notices.push(format!("{}: {logical}.{} is not emulated", e.key_pos, e.key));
                continue;
            }
            return err(e.key_pos, format!("{logical}: property {} of {} is not supported by asl-sim serve", e.key, r.ty));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn resource(
        &self,
        logical: &str,
        r: &'a Resource<'a>,
        base: &Path,
        model: &mut Model,
        api: &mut ApiDef,
        routes: &mut Vec<(String, &'a Node)>,
    ) -> R<()> {
        let pos = r.node.pos;
        match r.ty.as_str() {
            "AWS::S3::Bucket" => {
                self.notice_props(
                    logical,
                    r,
                    &["BucketName", "NotificationConfiguration"],
                    &["BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls", "VersioningConfiguration", "LifecycleConfiguration", "CorsConfiguration", "Tags"],
                    model,
                )?;
                let notif = self.prop(r, "NotificationConfiguration")?;
                if let Some(Value::Object(m)) = &notif {
                    for k in m.keys() {
                        if k != "EventBridgeConfiguration" {
                            model.notices.push(format!("{pos}: {logical}.NotificationConfiguration.{k} is not emulated"));
                        }
                    }
                }
                let eb = notif.as_ref().and_then(|n| n.pointer("/EventBridgeConfiguration/EventBridgeEnabled")).is_some_and(|v| v == &json!(true) || v == &json!("true"));
                model.buckets.push(BucketDef { logical: logical.into(), name: self.physical_id(logical, pos)?, eventbridge: eb });
            }
            "AWS::DynamoDB::Table" => {
                self.notice_props(
                    logical,
                    r,
                    &["TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TimeToLiveSpecification"],
                    &["SSESpecification", "PointInTimeRecoverySpecification", "StreamSpecification", "Tags", "DeletionProtectionEnabled", "TableClass"],
                    model,
                )?;
                let mut req = Map::new();
                req.insert("TableName".into(), json!(self.physical_id(logical, pos)?));
                for k in ["AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
                    if let Some(v) = self.prop(r, k)? {
                        req.insert(k.into(), v);
                    }
                }
                if !req.contains_key("BillingMode") && !req.contains_key("ProvisionedThroughput") {
                    req.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
                }
                // TimeToLiveSpecification: serve enables it (UpdateTimeToLive) and sweeps.
                if let Some(spec) = self.prop(r, "TimeToLiveSpecification")? {
                    let on = spec.get("Enabled").is_some_and(|v| v == &json!(true) || v == &json!("true"));
                    match spec.get("AttributeName").and_then(Value::as_str) {
                        Some(a) if on => model.time_to_live.push((scalar(&req["TableName"]), a.to_string())),
                        Some(_) => {}
                        None if on => return err(pos, format!("{logical}: TimeToLiveSpecification.AttributeName is required when Enabled")),
                        None => {}
                    }
                }
                model.tables.push((logical.into(), Value::Object(req)));
            }
            "AWS::Events::EventBus" => {
                self.notice_props(logical, r, &["Name"], &["Tags", "Policy", "DeadLetterConfig", "Description", "KmsKeyIdentifier"], model)?;
                model.buses.push((logical.into(), self.physical_id(logical, pos)?));
            }
            "AWS::Events::Rule" => {
                self.notice_props(logical, r, &["Name", "EventPattern", "EventBusName", "Targets", "State", "Description"], &["RoleArn"], model)?;
                let Some(pattern) = self.prop(r, "EventPattern")? else {
                    return err(pos, format!("{logical}: only rules with an EventPattern are supported (no ScheduleExpression)"));
                };
                let bus = self.prop(r, "EventBusName")?.map(|v| scalar(&v)).unwrap_or_else(|| "default".into());
                let mut targets = Vec::new();
                for t in self.prop(r, "Targets")?.and_then(|v| v.as_array().cloned()).unwrap_or_default() {
                    targets.push(t);
                }
                model.rules.push(RuleDef { logical: logical.into(), name: self.physical_id(logical, pos)?, bus: bus_name(&bus), pattern, targets });
            }
            "AWS::Events::Connection" => {
                self.notice_props(logical, r, &["Name", "AuthorizationType", "AuthParameters"], &["Description", "InvocationConnectivityParameters", "KmsKeyIdentifier"], model)?;
                let mut props = Map::new();
                for key in ["AuthorizationType", "AuthParameters"] {
                    if let Some(v) = self.prop(r, key)? {
                        props.insert(key.into(), v);
                    }
                }
                let name = self.physical_name(logical, pos)?;
                let arn = asl_http_task::connection::connection_arn(REGION, ACCOUNT, &name);
                let c = asl_http_task::Connection::from_properties(&name, &arn, &Value::Object(props), &format!("{logical}.Properties"))
                    .map_err(|message| Problem { pos, message })?;
                model.connections.push(c);
            }
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => self.machine(logical, r, base, model)?,
            "AWS::SQS::Queue" => self.queue(logical, r, model)?,
            "AWS::SNS::Topic" => self.topic(logical, r, model)?,
            "AWS::SNS::Subscription" => {
                self.notice_props(
                    logical,
                    r,
                    &["TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "Region"],
                    &["DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy"],
                    model,
                )?;
                let need = |k: &str| -> R<String> {
                    self.prop(r, k)?.map(|v| scalar(&v)).ok_or(Problem { pos, message: format!("{logical}: {k} is required") })
                };
                let mut attributes = Map::new();
                for k in ["RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"] {
                    if let Some(v) = self.prop(r, k)? {
                        attributes.insert(k.into(), json!(json_text(&v)));
                    }
                }
                model.subscriptions.push(SubscriptionDef {
                    origin: logical.into(),
                    request: json!({"TopicArn": need("TopicArn")?, "Protocol": need("Protocol")?, "Endpoint": need("Endpoint")?, "Attributes": attributes}),
                });
            }
            "AWS::Lambda::EventSourceMapping" => {
                self.notice_props(
                    logical,
                    r,
                    &["EventSourceArn", "FunctionName", "BatchSize", "MaximumBatchingWindowInSeconds", "Enabled", "FunctionResponseTypes"],
                    &["ScalingConfig", "FilterCriteria", "Tags", "MetricsConfig"],
                    model,
                )?;
                let source = self.prop(r, "EventSourceArn")?.map(|v| scalar(&v)).unwrap_or_default();
                let function = self.prop(r, "FunctionName")?.map(|v| crate::lambda::short_name(&scalar(&v))).unwrap_or_default();
                let get = |k: &str| self.prop(r, k);
                model.event_sources.push(self.event_source(logical, pos, &source, &function, &get)?);
            }
            "AWS::Serverless::Function" => self.function_res(logical, r, model)?,
            "AWS::ApiGatewayV2::Api" => {
                self.notice_props(logical, r, &["Name", "ProtocolType", "Description"], &["CorsConfiguration", "Tags", "DisableExecuteApiEndpoint"], model)?;
                if self.prop(r, "ProtocolType")?.map(|v| scalar(&v)).as_deref() != Some("HTTP") {
                    return err(pos, format!("{logical}: only HTTP APIs (ProtocolType: HTTP) are supported"));
                }
                if !api.logical.is_empty() {
                    return err(pos, format!("{logical}: asl-sim serve runs one HTTP API per template ({} is the first)", api.logical));
                }
                api.logical = logical.into();
                api.id = self.physical_id(logical, pos)?;
            }
            "AWS::ApiGatewayV2::Route" => routes.push((logical.into(), r.node)),
            "AWS::ApiGatewayV2::Authorizer" | "AWS::ApiGatewayV2::Integration" => {} // read through the routes
            "AWS::ApiGatewayV2::Stage" => {
                let name = self.prop(r, "StageName")?.map(|v| scalar(&v)).unwrap_or_default();
                if name != "$default" {
                    model.notices.push(format!("{pos}: {logical}: stage {name} is served at the root, as $default"));
                }
                model.notices.push(format!("{pos}: {logical}: throttling and access logs are not emulated"));
            }
            // serve fires rate() and at() schedules at their state machine targets (serve/src/schedules.rs).
            "AWS::Scheduler::Schedule" => {
                self.notice_props(
                    logical,
                    r,
                    &["ScheduleExpression", "ScheduleExpressionTimezone", "Target", "State", "Name", "Description", "FlexibleTimeWindow", "StartDate", "EndDate"],
                    &["GroupName", "KmsKeyArn"],
                    model,
                )?;
                let expression = self
                    .prop(r, "ScheduleExpression")?
                    .map(|v| scalar(&v))
                    .ok_or_else(|| Problem { pos, message: format!("{logical}: ScheduleExpression is required") })?;
                let timezone = self.prop(r, "ScheduleExpressionTimezone")?.map(|v| scalar(&v)).unwrap_or_else(|| "UTC".into());
                let target = self.prop(r, "Target")?.unwrap_or(Value::Null);
                let Some(target_arn) = target.get("Arn").and_then(Value::as_str).map(str::to_string) else {
                    return err(pos, format!("{logical}: Target.Arn is required"));
                };
                // The Input of a templated StartExecution target is the execution's input
                // (a JSON text); without one the execution starts with {}.
                let input = match target.get("Input") {
                    None => Value::Object(Map::new()),
                    Some(Value::String(t)) => serde_json::from_str(t)
                        .map_err(|e| Problem { pos, message: format!("{logical}: Target.Input is not JSON: {e}") })?,
                    Some(other) => other.clone(),
                };
                let state = self.prop(r, "State")?.map(|v| scalar(&v)).unwrap_or_else(|| "ENABLED".into());
                if target.get("RetryPolicy").is_some() || target.get("DeadLetterConfig").is_some() {
                    model.notices.push(format!("{pos}: {logical}.Target RetryPolicy/DeadLetterConfig are not emulated (a start that fails is logged)"));
                }
                model.schedules.push(ScheduleDef { logical: logical.into(), expression, timezone, target_arn, input, enabled: state != "DISABLED" });
            }
            "AWS::IAM::Role" | "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::S3::BucketPolicy" | "AWS::Lambda::Permission" | "AWS::Logs::LogGroup" | "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
                model.notices.push(format!("{pos}: {logical} ({}) is not enforced or emulated", r.ty));
            }
            other => return err(pos, format!("{logical}: resource type {other} is not supported by asl-sim serve")),
        }
        Ok(())
    }

    fn machine(&self, logical: &str, r: &Resource<'_>, base: &Path, model: &mut Model) -> R<()> {
        let pos = r.node.pos;
        self.notice_props(
            logical,
            r,
            &["Type", "DefinitionUri", "DefinitionSubstitutions", "Events", "Name", "StateMachineType", "StateMachineName", "Definition", "DefinitionString"],
            &["Policies", "Role", "RoleArn", "Logging", "LoggingConfiguration", "Tracing", "TracingConfiguration", "Tags", "PermissionsBoundary"],
            model,
        )?;
        let arn = self.physical_id(logical, pos)?;
        let name = arn.rsplit(':').next().unwrap_or(logical).to_string();
        let ty = self.prop(r, "Type")?.or(self.prop(r, "StateMachineType")?).map(|v| scalar(&v)).unwrap_or_else(|| "STANDARD".into());
        let express = match ty.as_str() {
            "STANDARD" => false,
            "EXPRESS" => true,
            other => return err(pos, format!("{logical}: unknown state machine Type {other}")),
        };
        let subs: HashMap<String, String> = match self.prop(r, "DefinitionSubstitutions")? {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
            Some(_) => return err(pos, format!("{logical}: DefinitionSubstitutions must be a map")),
            None => HashMap::new(),
        };
        let (path, text) = if let Some(uri) = self.prop(r, "DefinitionUri")? {
            let Some(rel) = uri.as_str() else { return err(pos, format!("{logical}: only a local file DefinitionUri is supported")) };
            let path = base.join(rel);
            let text = std::fs::read_to_string(&path).map_err(|e| Problem { pos, message: format!("{logical}: cannot read {}: {e}", path.display()) })?;
            (path, text)
        } else if let Some(d) = self.prop(r, "Definition")? {
            (PathBuf::from(format!("{logical}.Definition")), serde_json::to_string_pretty(&d).unwrap_or_default())
        } else if let Some(Value::String(s)) = self.prop(r, "DefinitionString")? {
            (PathBuf::from(format!("{logical}.DefinitionString")), s)
        } else {
            return err(pos, format!("{logical}: the state machine has no DefinitionUri or Definition"));
        };
        // SAM events.
        for e in r.props.and_then(|p| p.get("Events")).map(Node::entries).unwrap_or(&[]) {
            let ev = &e.value;
            let ety = ev.get("Type").and_then(Node::as_str).unwrap_or("");
            if ety != "EventBridgeRule" && ety != "CloudWatchEvent" {
                return err(ev.pos, format!("{logical}.Events.{}: event type {ety} is not supported (EventBridgeRule only)", e.key));
            }
            let p = ev.get("Properties");
            let get = |k: &str| -> R<Option<Value>> { p.and_then(|p| p.get(k)).map(|n| self.resolve(n)).transpose() };
            for pe in p.map(Node::entries).unwrap_or(&[]) {
                match pe.key.as_str() {
                    "Pattern" | "EventBusName" | "Input" | "InputPath" | "InputTransformer" | "RuleName" | "Target" | "State" | "RetryPolicy" => {}
                    // SAM's DeadLetterConfig: `Arn` goes to the rule target as it is; `Type: SQS`
                    // asks SAM to create the queue, which this model does not do.
                    "DeadLetterConfig" => {
                        if pe.value.get("Arn").is_none() {
                            model.notices.push(format!(
                                "{}: {logical}.Events.{}.DeadLetterConfig: only Arn is emulated (SAM's Type/QueueLogicalId queue is not created); failed deliveries are dropped",
                                pe.key_pos, e.key
                            ));
                        }
                    }
                    other => return err(pe.key_pos, format!("{logical}.Events.{}: property {other} is not supported", e.key)),
                }
            }
            let Some(pattern) = get("Pattern")? else { return err(ev.pos, format!("{logical}.Events.{}: a Pattern is required", e.key)) };
            let bus = get("EventBusName")?.map(|v| scalar(&v)).unwrap_or_else(|| "default".into());
            let mut target = Map::new();
            let id = get("Target")?.and_then(|t| t.get("Id").and_then(Value::as_str).map(str::to_string)).unwrap_or_else(|| format!("{logical}{}StepFunctionsTarget", e.key));
            target.insert("Id".into(), json!(id));
            target.insert("Arn".into(), json!(arn));
            for k in ["Input", "InputPath", "InputTransformer", "RetryPolicy"] {
                if let Some(v) = get(k)? {
                    target.insert(k.into(), v);
                }
            }
            if let Some(arn) = get("DeadLetterConfig")?.and_then(|d| d.get("Arn").cloned()) {
                target.insert("DeadLetterConfig".into(), json!({"Arn": arn}));
            }
            let rule_name = get("RuleName")?.map(|v| scalar(&v)).unwrap_or_else(|| format!("{}-{logical}{}", self.settings.stack_name, e.key));
            model.rules.push(RuleDef {
                logical: format!("{logical}{}", e.key),
                name: rule_name,
                bus: bus_name(&bus),
                pattern,
                targets: vec![Value::Object(target)],
            });
        }
        model.machines.push(MachineDef { logical: logical.into(), name, arn, express, path, text, subs });
        Ok(())
    }

    fn function_res(&self, logical: &str, r: &Resource<'_>, model: &mut Model) -> R<()> {
        let pos = r.node.pos;
        self.notice_props(
            logical,
            r,
            &["CodeUri", "Handler", "Runtime", "Environment", "Timeout", "MemorySize", "FunctionName", "Events"],
            &["Architectures", "Policies", "Role", "Tracing", "Tags", "ReservedConcurrentExecutions", "LoggingConfig", "Description"],
            model,
        )?;
        let name = self.physical_id(logical, pos)?;
        self.function_events(logical, r, &name, model)?;
        let runtime = self.prop(r, "Runtime")?.map(|v| scalar(&v)).unwrap_or_default();
        if !runtime.starts_with("provided") {
            return err(pos, format!("{logical}: runtime {runtime} is not supported: serve runs custom-runtime (provided.*) binaries"));
        }
        let binary = r
            .node
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Node::as_str)
            .map(str::to_string)
            .or(self.prop(r, "Handler")?.map(|v| scalar(&v)))
            .unwrap_or_else(|| "bootstrap".into());
        let mut env = Vec::new();
        if let Some(Value::Object(vars)) = self.prop(r, "Environment")?.and_then(|e| e.get("Variables").cloned()) {
            for (k, v) in vars {
                env.push((k, scalar(&v)));
            }
        }
        let num = |v: Option<Value>, d: u64| v.and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).unwrap_or(d);
        model.functions.push(FunctionDef {
            logical: logical.into(),
            arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
            name,
            binary,
            env,
            timeout_s: num(self.prop(r, "Timeout")?, 3),
            memory_mb: num(self.prop(r, "MemorySize")?, 128),
        });
        Ok(())
    }

    fn queue(&self, logical: &str, r: &Resource<'_>, model: &mut Model) -> R<()> {
        let pos = r.node.pos;
        const ATTRIBUTES: &[&str] = &[
            "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout",
            "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "RedrivePolicy",
            "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
        ];
        let known: Vec<&str> = ATTRIBUTES.iter().copied().chain(["QueueName", "Tags"]).collect();
        self.notice_props(logical, r, &known, &[], model)?;
        let mut attributes = Map::new();
        for k in ATTRIBUTES {
            if let Some(v) = self.prop(r, k)? {
                // SQS takes `FifoQueue` only as "true"; CloudFormation accepts false as absent.
                if *k == "FifoQueue" && scalar(&v) != "true" {
                    continue;
                }
                attributes.insert((*k).into(), json!(json_text(&v)));
            }
        }
        let name = self.physical_name(logical, pos)?;
        let tags: Map<String, Value> = self.tags(r)?.into_iter().map(|(k, v)| (k, json!(v))).collect();
        model.queues.push(QueueDef {
            logical: logical.into(),
            arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
            request: json!({"QueueName": name, "Attributes": attributes, "tags": tags}),
            name,
        });
        Ok(())
    }

    /// `Tags: [{Key, Value}]`.
    fn tags(&self, r: &Resource<'_>) -> R<Vec<(String, String)>> {
        let mut out = Vec::new();
        for t in self.prop(r, "Tags")?.and_then(|v| v.as_array().cloned()).unwrap_or_default() {
            if let (Some(k), Some(v)) = (t.get("Key"), t.get("Value")) {
                out.push((scalar(k), scalar(v)));
            }
        }
        Ok(out)
    }

    fn topic(&self, logical: &str, r: &Resource<'_>, model: &mut Model) -> R<()> {
        let pos = r.node.pos;
        self.notice_props(
            logical,
            r,
            &["TopicName", "DisplayName", "FifoTopic", "ContentBasedDeduplication", "Subscription", "Tags", "KmsMasterKeyId", "SignatureVersion", "TracingConfig"],
            &["ArchivePolicy", "DataProtectionPolicy", "DeliveryStatusLogging", "FifoThroughputScope"],
            model,
        )?;
        let arn = self.physical_id(logical, pos)?;
        let mut attributes = Map::new();
        for k in ["DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId", "SignatureVersion", "TracingConfig"] {
            if let Some(v) = self.prop(r, k)? {
                if k == "FifoTopic" && scalar(&v) != "true" {
                    continue;
                }
                attributes.insert(k.into(), json!(scalar(&v)));
            }
        }
        let tags: Vec<Value> = self.tags(r)?.into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        for (i, sub) in self.prop(r, "Subscription")?.and_then(|v| v.as_array().cloned()).unwrap_or_default().into_iter().enumerate() {
            let (Some(protocol), Some(endpoint)) = (sub.get("Protocol"), sub.get("Endpoint")) else {
                return err(pos, format!("{logical}.Subscription[{i}]: Protocol and Endpoint are required"));
            };
            model.subscriptions.push(SubscriptionDef {
                origin: format!("{logical}.Subscription[{i}]"),
                request: json!({"TopicArn": arn, "Protocol": scalar(protocol), "Endpoint": scalar(endpoint), "Attributes": {}}),
            });
        }
        let name = arn.rsplit(':').next().unwrap_or_default().to_string();
        model.topics.push(TopicDef { logical: logical.into(), request: json!({"Name": name, "Attributes": attributes, "Tags": tags}), arn });
        Ok(())
    }

    /// A SAM function's `Events`: `SQS` (an event source mapping) and `SNS` (a subscription)
    /// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventsource.html).
    /// HTTP routes are declared as AWS::ApiGatewayV2 resources instead.
    fn function_events(&self, logical: &str, r: &Resource<'_>, function: &str, model: &mut Model) -> R<()> {
        for e in r.props.and_then(|p| p.get("Events")).map(Node::entries).unwrap_or(&[]) {
            let ev = &e.value;
            let origin = format!("{logical}.Events.{}", e.key);
            let props = ev.get("Properties");
            let get = |k: &str| -> R<Option<Value>> { props.and_then(|p| p.get(k)).map(|n| self.resolve(n)).transpose() };
            let allow = |known: &[&str], ignored: &[&str], model: &mut Model| -> R<()> {
                for pe in props.map(Node::entries).unwrap_or(&[]) {
                    if ignored.contains(&pe.key.as_str()) {
                        model.notices.push(format!("{}: {origin}.{} is not emulated", pe.key_pos, pe.key));
                    } else if !known.contains(&pe.key.as_str()) {
                        return err(pe.key_pos, format!("{origin}: property {} is not supported", pe.key));
                    }
                }
                Ok(())
            };
            match ev.get("Type").and_then(Node::as_str).unwrap_or("") {
                "SQS" => {
                    allow(&["Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "Enabled", "FunctionResponseTypes"], &["ScalingConfig", "FilterCriteria", "KmsKeyArn", "MetricsConfig"], model)?;
                    let queue = get("Queue")?.map(|v| scalar(&v)).unwrap_or_default();
                    let source = self.event_source(&origin, ev.pos, &queue, function, &|k: &str| get(k))?;
                    model.event_sources.push(source);
                }
                "SNS" => {
                    allow(&["Topic", "FilterPolicy", "FilterPolicyScope", "Region"], &["SqsSubscription", "RedrivePolicy"], model)?;
                    let Some(topic) = get("Topic")? else { return err(ev.pos, format!("{origin}: Topic is required")) };
                    let mut attributes = Map::new();
                    for k in ["FilterPolicy", "FilterPolicyScope"] {
                        if let Some(v) = get(k)? {
                            attributes.insert(k.into(), json!(json_text(&v)));
                        }
                    }
                    model.subscriptions.push(SubscriptionDef {
                        origin,
                        request: json!({"TopicArn": scalar(&topic), "Protocol": "lambda",
                                        "Endpoint": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"), "Attributes": attributes}),
                    });
                }
                other => {
                    return err(ev.pos, format!("{origin}: event type {other} is not supported (SQS and SNS; declare HTTP routes as AWS::ApiGatewayV2 resources)"))
                }
            }
        }
        Ok(())
    }

    /// An SQS event source with Lambda's defaults and limits
    /// (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
    fn event_source(&self, origin: &str, pos: Pos, queue_arn: &str, function: &str, get: &dyn Fn(&str) -> R<Option<Value>>) -> R<EventSourceDef> {
        let parts: Vec<&str> = queue_arn.split(':').collect();
        if parts.len() != 6 || parts[2] != "sqs" {
            return err(pos, format!("{origin}: the event source {queue_arn:?} is not an SQS queue ARN (serve polls SQS queues only)"));
        }
        if function.is_empty() {
            return err(pos, format!("{origin}: FunctionName is required"));
        }
        let fifo = queue_arn.ends_with(".fifo");
        let number = |k: &str, default: u32, max: u32| -> R<u32> {
            let Some(v) = get(k)? else { return Ok(default) };
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match n {
                Some(n) if (1..=u64::from(max)).contains(&n) || (n == 0 && k != "BatchSize") => Ok(n as u32),
                _ => err(pos, format!("{origin}: {k} must be an integer from {} to {max}", u32::from(k == "BatchSize"))),
            }
        };
        let batch_size = number("BatchSize", 10, if fifo { 10 } else { 10_000 })?;
        let batching_window_s = number("MaximumBatchingWindowInSeconds", 0, 300)?;
        // Lambda refuses a batch above 10 without a batching window (CreateEventSourceMapping, BatchSize).
        if batch_size > 10 && batching_window_s == 0 {
            return err(pos, format!("{origin}: a BatchSize above 10 needs MaximumBatchingWindowInSeconds of at least 1"));
        }
        let report_batch_item_failures = match get("FunctionResponseTypes")? {
            Some(Value::Array(a)) => a.iter().any(|t| t == "ReportBatchItemFailures"),
            _ => false,
        };
        let enabled = get("Enabled")?.is_none_or(|v| v == json!(true) || v == json!("true"));
        Ok(EventSourceDef { origin: origin.into(), queue_arn: queue_arn.into(), function: function.into(), batch_size, batching_window_s, report_batch_item_failures, enabled })
    }

    fn route(&self, logical: &str, node: &Node) -> R<RouteDef> {
        let r = &self.resources[logical];
        let pos = node.pos;
        let key = self.prop(r, "RouteKey")?.map(|v| scalar(&v)).ok_or(Problem { pos, message: format!("{logical}: RouteKey is required") })?;
        let (method, path) = match key.split_once(' ') {
            Some((m, p)) => (m.to_string(), p.to_string()),
            None if key == "$default" => ("ANY".to_string(), "$default".to_string()),
            None => return err(pos, format!("{logical}: RouteKey {key} is not METHOD /path")),
        };
        let target = self.prop(r, "Target")?.map(|v| scalar(&v)).unwrap_or_default();
        let Some(int_id) = target.strip_prefix("integrations/") else {
            return err(pos, format!("{logical}: Target must be integrations/ID"));
        };
        let int_logical = self.logical_of(int_id, "AWS::ApiGatewayV2::Integration").ok_or(Problem { pos, message: format!("{logical}: no integration {int_id}") })?;
        let integration = self.integration(int_logical)?;
        let auth_type = self.prop(r, "AuthorizationType")?.map(|v| scalar(&v)).unwrap_or_else(|| "NONE".into());
        let authorizer = match auth_type.as_str() {
            "NONE" => None,
            "JWT" => {
                let id = self.prop(r, "AuthorizerId")?.map(|v| scalar(&v)).unwrap_or_default();
                let a = self.logical_of(&id, "AWS::ApiGatewayV2::Authorizer").ok_or(Problem { pos, message: format!("{logical}: no authorizer {id}") })?;
                Some(self.authorizer(a)?)
            }
            other => return err(pos, format!("{logical}: AuthorizationType {other} is not supported (NONE or JWT)")),
        };
        if let Some(n) = r.props.and_then(|p| p.get("AuthorizationScopes")) {
            return err(n.pos, format!("{logical}: AuthorizationScopes are not supported"));
        }
        Ok(RouteDef { method, path, route_key: key, integration, authorizer })
    }

    /// The logical id of a resource of type `ty` whose physical id is `id`.
    fn logical_of(&self, id: &str, ty: &str) -> Option<&str> {
        self.resources.iter().find(|(l, r)| r.ty == ty && self.physical_id(l, Pos::default()).ok().as_deref() == Some(id)).map(|(l, _)| l.as_str())
    }

    /// Serve models one kind of some resources: `key` must be `only`.
    fn only_supported(&self, logical: &str, r: &Resource<'_>, key: &str, only: &str) -> R<()> {
        let ty = self.prop(r, key)?.map(|v| scalar(&v)).unwrap_or_default();
        if ty != only {
            return err(r.node.pos, format!("{logical}: {key} {ty} is not supported ({only} only)"));
        }
        Ok(())
    }

    fn integration(&self, logical: &str) -> R<Integration> {
        let r = &self.resources[logical];
        let pos = r.node.pos;
        self.only_supported(logical, r, "IntegrationType", "AWS_PROXY")?;
        let params: BTreeMap<String, String> = match self.prop(r, "RequestParameters")? {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
            _ => BTreeMap::new(),
        };
        match self.prop(r, "IntegrationSubtype")?.map(|v| scalar(&v)) {
            None => {
                let uri = self.prop(r, "IntegrationUri")?.map(|v| scalar(&v)).unwrap_or_default();
                let version = self.prop(r, "PayloadFormatVersion")?.map(|v| scalar(&v)).unwrap_or_else(|| "2.0".into());
                if version != "2.0" {
                    return err(pos, format!("{logical}: Lambda payload format {version} is not supported (2.0 only)"));
                }
                let function = crate::lambda::function_name_from_arn(&uri)
                    .ok_or(Problem { pos, message: format!("{logical}: IntegrationUri {uri} is not a Lambda function ARN") })?;
                Ok(Integration::Lambda { function })
            }
            Some(s) if s == "StepFunctions-StartSyncExecution" => Ok(Integration::StepFunctions { sync: true, params }),
            Some(s) if s == "StepFunctions-StartExecution" => Ok(Integration::StepFunctions { sync: false, params }),
            Some(s) if s == "EventBridge-PutEvents" => Ok(Integration::PutEvents { params }),
            Some(other) => err(pos, format!("{logical}: IntegrationSubtype {other} is not supported")),
        }
    }

    fn authorizer(&self, logical: &str) -> R<Authorizer> {
        let r = &self.resources[logical];
        let pos = r.node.pos;
        self.only_supported(logical, r, "AuthorizerType", "JWT")?;
        let cfg = self.prop(r, "JwtConfiguration")?.unwrap_or(Value::Null);
        let issuer = cfg.get("Issuer").map(scalar).unwrap_or_default();
        let audience = match cfg.get("Audience") {
            Some(Value::Array(a)) => a.iter().map(scalar).collect(),
            Some(v) => vec![scalar(v)],
            None => vec![],
        };
        let source = self.prop(r, "IdentitySource")?.and_then(|v| v.as_array().and_then(|a| a.first().map(scalar)).or(v.as_str().map(str::to_string)));
        let identity_header = match source.as_deref().and_then(|s| s.strip_prefix("$request.header.")) {
            Some(h) => h.to_ascii_lowercase(),
            None => return err(pos, format!("{logical}: IdentitySource must be $request.header.NAME")),
        };
        Ok(Authorizer { issuer, audience, identity_header })
    }
}

/// A property that CloudFormation takes as a JSON object or its text (RedrivePolicy,
/// FilterPolicy) as the text the API wants; scalars as their string.
fn json_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => v.to_string(),
        other => scalar(other),
    }
}

/// A bus name or ARN → the name.
fn bus_name(s: &str) -> String {
    s.rsplit('/').next().unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings { stack_name: "app".into(), parameters: BTreeMap::new(), api_endpoint: "http://127.0.0.1:3000".into() }
    }

    #[test]
    fn intrinsics() {
        let t = r#"
Parameters:
  P: {Type: String, Default: x}
Resources:
  B:
    Type: AWS::S3::Bucket
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus-${P}"
  R:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !GetAtt Bus.Name
      EventPattern: {source: [!Ref B]}
      Targets:
        - Id: t
          Arn: !Join [":", ["a", {"Fn::Sub": ["${X}", {X: !GetAtt B.Arn}]}]]
Outputs:
  O: {Value: !Sub "${B.Arn}/*"}
"#;
        let root = asl_core::tree::load(t).unwrap();
        let m = build(&root, Path::new("."), &settings()).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(m.buses[0].1, "app-bus-x");
        assert_eq!(m.rules[0].bus, "app-bus-x");
        assert_eq!(m.rules[0].pattern, json!({"source": ["app-b"]}));
        assert_eq!(m.rules[0].targets[0]["Arn"], json!("a:arn:aws:s3:::app-b"));
        assert_eq!(m.outputs[0].1, "arn:aws:s3:::app-b/*");
    }

    /// AWS::Events::Connection (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-connection.html):
    /// its properties become a connection, and `!GetAtt C.Arn` is the ARN the HTTP Task finds it by.
    #[test]
    fn connections_for_http_tasks() {
        let t = r#"
Parameters:
  Key: {Type: String, Default: sk_test}
Resources:
  Api:
    Type: AWS::Events::Connection
    Properties:
      Name: stripe
      AuthorizationType: API_KEY
      AuthParameters:
        ApiKeyAuthParameters: {ApiKeyName: Authorization, ApiKeyValue: !Sub "Bearer ${Key}"}
  Bad:
    Type: AWS::Events::Connection
    Properties:
      AuthorizationType: DIGEST
      AuthParameters: {}
Outputs:
  A: {Value: !GetAtt Api.Arn}
"#;
        let root = asl_core::tree::load(t).unwrap();
        let p = build(&root, Path::new("."), &settings()).unwrap_err();
        assert!(p.iter().any(|p| p.message.contains("Bad.Properties.AuthorizationType")), "{p:?}");
        let root = asl_core::tree::load(&t.replace("AuthorizationType: DIGEST", "AuthorizationType: BASIC\n      Name: b").replace("AuthParameters: {}", "AuthParameters: {BasicAuthParameters: {Username: u, Password: p}}")).unwrap();
        let m = build(&root, Path::new("."), &settings()).unwrap_or_else(|p| panic!("{p:?}"));
        let api = m.connections.iter().find(|c| c.name == "stripe").unwrap();
        assert_eq!(api.auth, asl_http_task::Auth::ApiKey { name: "Authorization".into(), value: "Bearer sk_test".into() });
        assert_eq!(m.outputs[0].1, api.arn);
        assert!(api.arn.starts_with("arn:aws:events:us-east-1:123456789012:connection/stripe/"), "{}", api.arn);
    }

    const MESSAGING: &str = r#"
Resources:
  Dlq: {Type: AWS::SQS::Queue}
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
      VisibilityTimeout: 45
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3}
      Tags: [{Key: team, Value: shop}]
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: Alerts
      Subscription: [{Protocol: sqs, Endpoint: !GetAtt Dlq.Arn}]
  Sub:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Dlq.Arn, RawMessageDelivery: true, FilterPolicy: {kind: [a]}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Dlq.Arn, BatchSize: 100, MaximumBatchingWindowInSeconds: 2, FunctionResponseTypes: [ReportBatchItemFailures]}}
        T: {Type: SNS, Properties: {Topic: !Ref Topic, FilterPolicy: {kind: [b]}}}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Orders.Arn, FunctionName: !GetAtt Fn.Arn, Enabled: false}
Outputs:
  Url: {Value: !Ref Orders}
  Arn: {Value: !GetAtt Orders.Arn}
  TopicArn: {Value: !GetAtt Topic.TopicArn}
"#;

    /// AWS::SQS::Queue, AWS::SNS::Topic, AWS::SNS::Subscription and the SQS/SNS event sources
    /// become their API requests (property names and return values per
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queue.html,
    /// .../aws-resource-sns-topic.html, .../aws-resource-sns-subscription.html,
    /// .../aws-resource-lambda-eventsourcemapping.html; a FIFO queue CloudFormation names ends in `.fifo`).
    #[test]
    fn queues_topics_and_event_sources() {
        let root = asl_core::tree::load(MESSAGING).unwrap();
        let m = build(&root, Path::new("."), &settings()).unwrap_or_else(|p| panic!("{p:?}"));
        let orders = m.queues.iter().find(|q| q.logical == "Orders").unwrap();
        assert_eq!(orders.name, "app-Orders.fifo");
        assert_eq!(
            orders.request,
            json!({"QueueName": "app-Orders.fifo", "Attributes": {"VisibilityTimeout": "45", "FifoQueue": "true", "ContentBasedDeduplication": "true",
                   "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:app-Dlq\",\"maxReceiveCount\":3}"},
                   "tags": {"team": "shop"}})
        );
        let outputs: BTreeMap<_, _> = m.outputs.iter().cloned().collect();
        assert_eq!(outputs["Url"], "https://sqs.us-east-1.amazonaws.com/123456789012/app-Orders.fifo");
        assert_eq!(outputs["Arn"], "arn:aws:sqs:us-east-1:123456789012:app-Orders.fifo");
        assert_eq!(outputs["TopicArn"], "arn:aws:sns:us-east-1:123456789012:app-Topic");
        assert_eq!(m.topics[0].request, json!({"Name": "app-Topic", "Attributes": {"DisplayName": "Alerts"}, "Tags": []}));
        let subs: Vec<(&str, &Value)> = m.subscriptions.iter().map(|s| (s.origin.as_str(), &s.request)).collect();
        let dlq = "arn:aws:sqs:us-east-1:123456789012:app-Dlq";
        let topic = "arn:aws:sns:us-east-1:123456789012:app-Topic";
        assert!(subs.contains(&("Topic.Subscription[0]", &json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": dlq, "Attributes": {}}))), "{subs:?}");
        assert!(subs.contains(&("Sub", &json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": dlq,
            "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": "{\"kind\":[\"a\"]}"}}))), "{subs:?}");
        assert!(subs.contains(&("Fn.Events.T", &json!({"TopicArn": topic, "Protocol": "lambda", "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:Fn",
            "Attributes": {"FilterPolicy": "{\"kind\":[\"b\"]}"}}))), "{subs:?}");
        let sources: Vec<_> = m.event_sources.iter().map(|e| (e.origin.as_str(), e.queue_arn.as_str(), e.function.as_str(), e.batch_size, e.batching_window_s, e.report_batch_item_failures, e.enabled)).collect();
        assert!(sources.contains(&("Fn.Events.Q", dlq, "Fn", 100, 2, true, true)), "{sources:?}");
        assert!(sources.contains(&("Mapping", "arn:aws:sqs:us-east-1:123456789012:app-Orders.fifo", "Fn", 10, 0, false, false)), "{sources:?}");
    }

    /// Lambda's limits on an SQS event source (CreateEventSourceMapping, BatchSize and
    /// MaximumBatchingWindowInSeconds: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
    #[test]
    fn event_sources_outside_lambdas_limits_are_refused() {
        let cases = [
            ("BatchSize: 0", "BatchSize must be an integer from 1 to 10000"),
            ("BatchSize: 10001, MaximumBatchingWindowInSeconds: 1", "BatchSize must be an integer from 1 to 10000"),
            ("BatchSize: 11", "a BatchSize above 10 needs MaximumBatchingWindowInSeconds of at least 1"),
            ("MaximumBatchingWindowInSeconds: 301", "MaximumBatchingWindowInSeconds must be an integer from 0 to 300"),
            ("Queue: arn:aws:kinesis:us-east-1:123456789012:stream/s", "is not an SQS queue ARN"),
            ("Foo: 1", "Fn.Events.Q: property Foo is not supported"),
        ];
        for (props, want) in cases {
            let queue = if props.starts_with("Queue") { String::new() } else { "Queue: !GetAtt Q.Arn, ".to_string() };
            let t = format!(
                "Resources:\n  Q: {{Type: AWS::SQS::Queue}}\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Events:\n        Q: {{Type: SQS, Properties: {{{queue}{props}}}}}\n"
            );
            let root = asl_core::tree::load(&t).unwrap();
            let p = build(&root, Path::new("."), &settings()).unwrap_err();
            assert!(p.iter().any(|p| p.message.contains(want)), "{props}: {p:?}");
        }
        let t = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Events:\n        A: {Type: Api, Properties: {Path: /, Method: get}}\n";
        let p = build(&asl_core::tree::load(t).unwrap(), Path::new("."), &settings()).unwrap_err();
        assert!(p.iter().any(|p| p.message.contains("event type Api is not supported (SQS and SNS")), "{p:?}");
    }

    #[test]
    fn unsupported_is_reported_with_position() {
        let t = "Resources:\n  Q:\n    Type: AWS::Kinesis::Stream\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      Foo: !ImportValue x\n";
        let root = asl_core::tree::load(t).unwrap();
        let p = build(&root, Path::new("."), &settings()).unwrap_err();
        let text: Vec<String> = p.iter().map(|p| format!("{}: {}", p.pos, p.message)).collect();
        assert!(text.iter().any(|t| t.starts_with("3:") && t.contains("AWS::Kinesis::Stream")), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("7:") && t.contains("Foo")), "{text:?}");
    }
}
