//! The embedded AWS world a run sees: DynamoDB, S3, EventBridge, local Lambda
//! commands, other state machines and Step Functions Local mocks, behind the
//! engine's `Services` interface. Routing a Task's Resource ARN to a service
//! happens here; each service's own behaviour lives in its crate.

use crate::lambda::{self, Invocation};
use crate::mocks::MockConfig;
use crate::activities::{Activities, ActivityTask};
use asl_core::engine::{self, Clock, ExecutionConfig, Services, TaskCall, TaskError, TaskStart};
use asl_dynamodb::{Database, IntegrationStyle};
use asl_aws::CallContext;
use asl_eventbridge::{Delivery, EventBridge};
use asl_s3::S3;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// See `World::interceptor`.
pub type Interceptor = dyn FnMut(&TaskCall<'_>) -> Option<Result<Value, TaskError>> + Send;

/// A world shared by concurrent executions (serve, simulate): each service
/// call takes the lock for its own duration only.
#[derive(Clone)]
pub struct SharedWorld(pub Arc<std::sync::Mutex<World>>);

impl SharedWorld {
    pub fn new(world: World) -> SharedWorld {
        SharedWorld(Arc::new(std::sync::Mutex::new(world)))
    }
    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // A panic in another thread must not make the world unusable.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Services for SharedWorld {
    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        let invocation = {
            let mut world = self.lock();
            match world.answer_before_routing(call) {
                Some(answer) => return answer,
                None => match world.lambda_invocation(call) {
                    Some(Ok(invocation)) => invocation,
                    Some(Err(e)) => return Err(e),
                    None if world.http_call(call).is_some() => {
                        // Without the lock: the endpoint may be serve's own, calling back into the world.
                        let http = world.http_call(call).expect("checked");
                        drop(world);
                        return http.run();
                    }
                    None => {
                        let result = world.route(call, clock);
                        let invocations = world.take_sns_invocations();
                        let http = world.take_http_deliveries();
                        drop(world);
                        // SNS invokes functions asynchronously (the Event invocation type): the
                        // publish answers first and the functions run on a thread of their own.
                        if !invocations.is_empty() {
                            std::thread::spawn(move || invocations.iter().for_each(SnsInvocation::invoke));
                        }
                        if let Some((sink, deliveries)) = http {
                            sink(deliveries);
                        }
                        return result;
                    }
                },
            }
        };
        // Without the lock: the function may call back into the world.
        invocation.invoke(call.timeout_seconds)
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        if let Some(child) = self.lock().start_child(call) {
            return child;
        }
        if !self.lock().waits_for_an_answer(call.resource) {
            return TaskStart::Done(self.call(call, clock));
        }
        {
            let mut world = self.lock();
            if let Some(answer) = world.answer_before_routing(call) {
                return TaskStart::Done(answer);
            }
            if is_activity(call.resource) {
                return world.offer_activity(call);
            }
        }
        // The callback's own integration (a Lambda among them: without the lock).
        submitted(self.call(call, clock))
    }
    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        self.lock().read_items(reader, parameters)
    }
    fn child_definition(&mut self, state_machine_arn: &str) -> Option<Arc<asl_core::definition::Definition>> {
        self.lock().child_definition(state_machine_arn)
    }
    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        self.lock().put_object(bucket, key, body)
    }
}

/// Takes HTTP(S) SNS deliveries (with their delivery plans) to make and retry them.
pub type SnsHttpSink = dyn Fn(Vec<(asl_sns::Delivery, asl_sns::delivery::HttpPlan)>) + Send + Sync;

/// One SNS delivery to a function: SNS invokes asynchronously (the `Event` invocation type),
/// so the function's answer is not observed; a failed delivery is dropped, as SNS drops it
/// after its retries when the subscription has no dead-letter queue
/// (https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).
pub struct SnsInvocation {
    pub function: Arc<dyn lambda::Lambda>,
    /// The event (`{"Records": [{"EventSource": "aws:sns", ...}]}`) as JSON text.
    pub event: String,
}

impl SnsInvocation {
    pub fn invoke(&self) {
        let _ = self.function.run(&self.event, SNS_LAMBDA_SECONDS);
    }
}

/// Lambda's own ceiling on a run; the function's configured timeout applies inside it.
const SNS_LAMBDA_SECONDS: f64 = 900.0;

/// One HTTP Task (`http:invoke`) or API Gateway task (`apigateway:invoke`), decided but not
/// yet made, so that a shared world makes it without holding its lock.
pub struct HttpCall {
    invoker: Arc<asl_http_task::HttpInvoker>,
    connections: asl_http_task::Connections,
    api_endpoints: asl_http_task::api_gateway::Endpoints,
    parameters: Value,
    region: String,
    timeout_seconds: Option<f64>,
    api_gateway: bool,
}

impl HttpCall {
    pub fn run(&self) -> Result<Value, TaskError> {
        let r = if self.api_gateway {
            self.invoker.invoke_api_gateway(&self.api_endpoints, &self.parameters, self.timeout_seconds)
        } else {
            self.invoker.invoke(&self.connections, &self.parameters, &self.region, self.timeout_seconds)
        };
        r.map_err(|(error, cause)| TaskError { error, cause: (!cause.is_empty()).then_some(cause) })
    }
}

/// Another state machine that `states:startExecution` can run in-process.
pub struct ChildMachine {
    pub definition: Arc<asl_core::definition::Definition>,
    pub execution_type: engine::ExecutionType,
}

pub struct World {
    pub dynamodb: Database,
    pub s3: S3,
    pub events: EventBridge,
    pub sqs: asl_sqs::Sqs,
    pub sns: asl_sns::Sns,
    /// SNS deliveries the world cannot make in-process (HTTP(S) endpoints, unknown
    /// functions), waiting for a driver.
    pub pending_sns: Vec<asl_sns::Delivery>,
    /// SNS deliveries to the world's functions, waiting to be made without the world's lock.
    sns_invocations: Vec<SnsInvocation>,
    /// Where HTTP(S) SNS deliveries go once the world is released (serve's outbox, which
    /// POSTs and retries them); without one they wait in `pending_sns`.
    pub sns_http_sink: Option<Arc<SnsHttpSink>>,
    pub lambdas: lambda::Functions,
    pub machines: BTreeMap<String, ChildMachine>,
    pub mocks: Option<MockConfig>,
    /// Step Functions Local's mock config file (serve's `--mock-config`), whose test cases
    /// executions started as `...:stateMachine:NAME#TEST_CASE` run.
    pub mock_config: Option<Value>,
    /// The test case mocks of those executions, by (state machine name, execution name).
    pub execution_mocks: HashMap<(String, String), MockConfig>,
    /// Event deliveries to state machines, waiting for a driver (serve, simulate) to start them.
    pub pending: Vec<Delivery>,
    /// Called before every service call: may answer it instead (fault injection,
    /// scheduling points in simulations). `None` lets the call through.
    pub interceptor: Option<Box<Interceptor>>,
    /// EventBridge connections the HTTP Task (`http:invoke`) calls through.
    pub connections: asl_http_task::Connections,
    pub http: Arc<asl_http_task::HttpInvoker>,
    /// The HTTP APIs `apigateway:invoke` reaches locally (serve's own), by hostname.
    pub api_endpoints: asl_http_task::api_gateway::Endpoints,
    /// User commands answering the resources asl-sim does not emulate (`--handler`).
    pub handlers: asl_handler::Handlers,
    /// Activity tasks waiting for a worker (GetActivityTask).
    pub activities: Activities,
    ids: u64,
}

impl World {
    pub fn new(region: &str, account: &str) -> World {
        World {
            dynamodb: Database::default(),
            s3: S3::new(),
            events: EventBridge::new(account, region),
            sqs: asl_sqs::Sqs::new(region, account, 0x5157),
            sns: asl_sns::Sns::new(region, account, 0x5345),
            pending_sns: Vec::new(),
            sns_invocations: Vec::new(),
            sns_http_sink: None,
            lambdas: HashMap::new(),
            machines: BTreeMap::new(),
            mocks: None,
            mock_config: None,
            execution_mocks: HashMap::new(),
            pending: Vec::new(),
            interceptor: None,
            connections: asl_http_task::Connections::new(),
            http: Arc::new(asl_http_task::HttpInvoker::new()),
            api_endpoints: Default::default(),
            handlers: asl_handler::Handlers::new(),
            activities: Activities::default(),
            ids: 0,
        }
    }

    fn call_context(&mut self, config: &ExecutionConfig, now_ms: i64) -> CallContext {
        self.ids = self.ids.wrapping_add(1);
        let mut ctx = CallContext::new(now_ms, config.seed ^ self.ids.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        ctx.region = config.region.clone();
        ctx.account = config.account.clone();
        ctx.requester = config.account.clone();
        ctx.state_machine_arn = Some(config.state_machine_arn());
        ctx.execution_arn = Some(config.execution_arn());
        ctx
    }

    /// Seeds the world from a fixture document (see the README for its shape).
    pub fn load_fixture(&mut self, fixture: &Value) -> Result<(), String> {
        let Value::Object(top) = fixture else { return Err("the fixture must be an object".into()) };
        for key in top.keys() {
            if !["dynamodb", "s3", "sqs", "sns"].contains(&key.as_str()) {
                return Err(format!("unknown fixture section \"{key}\"; expected dynamodb, s3, sqs or sns"));
            }
        }
        if let Some(d) = top.get("dynamodb") {
            let tables = d.get("tables").and_then(Value::as_array).ok_or("dynamodb.tables must be an array")?;
            for (i, t) in tables.iter().enumerate() {
                let Value::Object(t) = t else { return Err(format!("dynamodb.tables[{i}] must be an object")) };
                let mut create = t.clone();
                let items = create.remove("Items");
                if !create.contains_key("BillingMode") && !create.contains_key("ProvisionedThroughput") {
                    create.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
                }
                let name = create.get("TableName").and_then(Value::as_str).unwrap_or("").to_string();
                self.dynamodb
                    .call("CreateTable", &Value::Object(create))
                    .map_err(|e| format!("dynamodb.tables[{i}]: {}: {}", e.code, e.message))?;
                for (j, item) in items.as_ref().and_then(Value::as_array).into_iter().flatten().enumerate() {
                    self.dynamodb
                        .call("PutItem", &json!({"TableName": name, "Item": item}))
                        .map_err(|e| format!("dynamodb.tables[{i}].Items[{j}]: {}: {}", e.code, e.message))?;
                }
            }
        }
        // SQS queues and SNS topics/subscriptions are given as their API requests.
        for (section, list, action) in [("sqs", "queues", "CreateQueue"), ("sns", "topics", "CreateTopic"), ("sns", "subscriptions", "Subscribe")] {
            for (i, req) in top.get(section).and_then(|s| s.get(list)).and_then(Value::as_array).into_iter().flatten().enumerate() {
                let r = if section == "sqs" {
                    self.sqs.call(action, req, 0).map(drop).map_err(|e| format!("{}: {}", e.code, e.message))
                } else {
                    self.sns.call(action, req, 0).map(drop).map_err(|e| format!("{}: {}", e.code, e.message))
                };
                r.map_err(|e| format!("{section}.{list}[{i}]: {e}"))?;
            }
        }
        if let Some(s) = top.get("s3") {
            let buckets = s.get("buckets").and_then(Value::as_array).ok_or("s3.buckets must be an array")?;
            let ctx = CallContext::new(0, 1);
            for (i, b) in buckets.iter().enumerate() {
                let name = b.get("Name").and_then(Value::as_str).ok_or(format!("s3.buckets[{i}].Name must be a string"))?;
                self.s3.create_bucket(name, &ctx).map_err(|e| format!("s3.buckets[{i}]: {}: {}", e.code, e.message))?;
                for (j, o) in b.get("Objects").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let key = o.get("Key").and_then(Value::as_str).ok_or(format!("s3.buckets[{i}].Objects[{j}].Key must be a string"))?;
                    let body = match o.get("Body") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::String(s)) => s.as_bytes().to_vec(),
                        Some(other) => other.to_string().into_bytes(),
                    };
                    let input = asl_s3::s3::PutObjectInput {
                        bucket: name.to_string(),
                        key: key.to_string(),
                        body,
                        content_type: o.get("ContentType").and_then(Value::as_str).map(str::to_string),
                        metadata: Default::default(),
                        tags: Default::default(),
                    };
                    self.s3.put_object(input, &ctx).map_err(|e| format!("s3.buckets[{i}].Objects[{j}]: {}: {}", e.code, e.message))?;
                }
                // Notifications go on after seeding, so the fixture itself emits no events.
                if b.get("EventBridge").and_then(Value::as_bool).unwrap_or(false) {
                    self.s3.set_eventbridge(name, true).map_err(|e| e.message)?;
                }
            }
            self.s3.drain_events();
        }
        Ok(())
    }

    /// The whole state as JSON, for `--state` and `--dump-state`.
    pub fn to_json(&self) -> Value {
        json!({
            "dynamodb": self.dynamodb.to_json(),
            "s3": self.s3.to_json(),
            "events": self.events.to_json(),
            "sqs": self.sqs.to_json(),
            "sns": self.sns.to_json(),
        })
    }

    pub fn load_state(&mut self, v: &Value) -> Result<(), String> {
        if let Some(d) = v.get("dynamodb") {
            self.dynamodb = Database::from_json(d)?;
        }
        if let Some(s) = v.get("s3") {
            self.s3 = S3::from_json(s)?;
        }
        if let Some(e) = v.get("events") {
            self.events = EventBridge::from_json(e)?;
        }
        if let Some(q) = v.get("sqs") {
            self.sqs = asl_sqs::Sqs::from_json(q)?;
        }
        if let Some(t) = v.get("sns") {
            self.sns = asl_sns::Sns::from_json(t)?;
        }
        Ok(())
    }

    /// PutEvents from a Task: accepted entries are delivered even when the
    /// optimized integration fails the task because another entry failed.
    fn put_events(&mut self, style: asl_eventbridge::PutEventsStyle, params: &Value, ctx: &CallContext) -> Result<Value, TaskError> {
        let call = asl_eventbridge::sfn::events_step_functions_call_detailed(&mut self.events, style, params, ctx);
        self.pending.extend(call.deliveries);
        call.outcome.map_err(|(error, cause)| TaskError { error, cause: Some(cause) })
    }

    /// The SNS deliveries to functions that are due; the caller makes them after releasing
    /// the world (`SharedWorld::call` does, and serve's SNS endpoint).
    pub fn take_sns_invocations(&mut self) -> Vec<SnsInvocation> {
        std::mem::take(&mut self.sns_invocations)
    }

    /// The pending HTTP(S) SNS deliveries with their subscriptions' delivery plans, and the
    /// sink to hand them to once the world is released; `None` without a sink or deliveries.
    pub fn take_http_deliveries(&mut self) -> Option<(Arc<SnsHttpSink>, Vec<(asl_sns::Delivery, asl_sns::delivery::HttpPlan)>)> {
        let sink = self.sns_http_sink.clone()?;
        let (http, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_sns).into_iter().partition(|d| d.protocol == "http" || d.protocol == "https");
        self.pending_sns = rest;
        if http.is_empty() {
            return None;
        }
        let planned = http.into_iter().map(|d| {
            let plan = self.sns.http_plan(&d.subscription_arn);
            (d, plan)
        });
        Some((sink, planned.collect()))
    }

    /// Hands the pending event deliveries to the caller (serve, simulate).
    pub fn take_deliveries(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.pending)
    }

    /// Makes SNS deliveries: to SQS queues in-process (a failed delivery is dropped, as SNS
    /// drops it after its retries when no DLQ is set); to the world's functions through
    /// `sns_invocations`, made outside the world (the function may call back into it);
    /// HTTP(S) endpoints and unknown functions are left in `pending_sns` for the driver.
    pub fn deliver_sns(&mut self, deliveries: Vec<asl_sns::Delivery>, now_ms: i64) {
        for d in deliveries {
            match d.protocol.as_str() {
                "sqs" => {
                    let Some(url) = self.sqs.url_for_arn(&d.endpoint) else { continue };
                    let fifo = self.sqs.is_fifo_arn(&d.endpoint).unwrap_or(false);
                    let mut p = json!({"QueueUrl": url, "MessageBody": d.body});
                    if let Some(a) = &d.sqs_message_attributes {
                        p["MessageAttributes"] = a.clone();
                    }
                    if let Some(g) = d.message_group_id.as_ref().filter(|_| fifo) {
                        p["MessageGroupId"] = json!(g);
                        p["MessageDeduplicationId"] = json!(d.message_deduplication_id);
                    }
                    let _ = self.sqs.call("SendMessage", &p, now_ms);
                }
                "lambda" => match lambda::function_name_from_arn(&d.endpoint).and_then(|n| self.lambdas.get(&n)) {
                    // Made by whoever holds no lock on the world (see `take_sns_invocations`).
                    Some(function) => self.sns_invocations.push(SnsInvocation { function: function.clone(), event: d.body }),
                    None => self.pending_sns.push(d),
                },
                _ => self.pending_sns.push(d),
            }
        }
    }

    fn route_s3_events(&mut self, events: Vec<asl_aws::Event>, ctx: &CallContext) {
        for e in events {
            let deliveries = self.events.put_service_event(None, &e, ctx);
            self.pending.extend(deliveries);
        }
    }

    /// A `states:startExecution` task's child: the driver starts it as an execution of
    /// its own (`TaskStart::Child`). A state machine this world does not know fails the
    /// task as AWS's StartExecution does.
    fn child_start(&mut self, call: &TaskCall<'_>, pattern: &str) -> Result<engine::ChildStart, TaskError> {
        let p = &call.parameters;
        let arn = p.get("StateMachineArn").and_then(Value::as_str).unwrap_or("");
        let name = state_machine_name(arn);
        let Some(child) = self.machines.get(name) else {
            return Err(TaskError {
                error: "StepFunctions.StateMachineDoesNotExistException".into(),
                cause: Some(format!("State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)")),
            });
        };
        let input = match p.get("Input") {
            None => json!({}),
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            Some(v) => v.clone(),
        };
        self.ids = self.ids.wrapping_add(1);
        let execution_name = p
            .get("Name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| asl_core::rng::uuid_v4(call.config.seed ^ call.now_millis as u64 ^ 0x5151, self.ids.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let config = ExecutionConfig {
            state_machine_name: name.to_string(),
            execution_name,
            execution_type: child.execution_type,
            seed: call.config.seed.wrapping_add(self.ids.wrapping_mul(0x2545_F491_4F6C_DD1D)),
            interleave: call.config.interleave.map(|s| s.wrapping_add(1)),
            ..call.config.clone()
        };
        let pattern = match pattern {
            ".sync" => engine::ChildPattern::Sync,
            ".sync:2" => engine::ChildPattern::Sync2,
            ".waitForTaskToken" => engine::ChildPattern::Callback,
            _ => engine::ChildPattern::Async,
        };
        Ok(engine::ChildStart {
            state_machine_arn: config.state_machine_arn(),
            execution_arn: config.execution_arn(),
            config,
            input,
            pattern,
            start_ms: call.now_millis,
            parent_execution_arn: String::new(),
            wait: None,
        })
    }

    /// `states:startExecution*` (unless a mock or the interceptor answers it): the child to start.
    pub fn start_child(&mut self, call: &TaskCall<'_>) -> Option<TaskStart> {
        let Some(("states", "startExecution", pattern)) = states_resource(call.resource) else { return None };
        if let Some(answer) = self.answer_before_routing(call) {
            return Some(TaskStart::Done(answer));
        }
        Some(match self.child_start(call, pattern) {
            Ok(child) => TaskStart::Child(Box::new(child)),
            Err(e) => TaskStart::Done(Err(e)),
        })
    }
}

/// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME[:VERSION|ALIAS]` → NAME.
fn state_machine_name(arn: &str) -> &str {
    let mut parts = arn.split(':');
    match parts.position(|p| p == "stateMachine") {
        Some(_) => parts.next().unwrap_or(""),
        None => arn.rsplit(':').next().unwrap_or(arn),
    }
}

impl World {
    /// A resource no embedded service runs: a `--handler` command answers it, or the task fails
    /// naming the ways to provide it.
    fn unsupported(&mut self, call: &TaskCall<'_>) -> Result<Value, TaskError> {
        let config = call.config;
        let mut context = json!({
            "Execution": {"Id": config.execution_arn(), "Name": config.execution_name, "RoleArn": config.role_arn},
            "StateMachine": {"Id": config.state_machine_arn(), "Name": config.state_machine_name},
            "State": {"Name": call.state_name, "EnteredTime": asl_aws::time::format_iso8601_millis(call.now_millis)},
        });
        if let Some(token) = &call.task_token {
            context["Task"] = json!({"Token": token});
        }
        let handled = asl_handler::Call { resource: call.resource, parameters: &call.parameters, context, timeout_seconds: call.timeout_seconds };
        if let Some(answer) = self.handlers.call(&handled) {
            return answer.map_err(|(error, cause)| TaskError { error, cause: (!cause.is_empty()).then_some(cause) });
        }
        let service = asl_handler::parse_resource(call.resource).map_or("SERVICE", |r| r.service);
        Err(TaskError {
            error: "States.Runtime".into(),
            cause: Some(format!(
                "The resource '{}' is not supported by asl-sim, which embeds dynamodb, s3, events (EventBridge), sqs, sns, lambda, states, http and apigateway. \
                 Provide it with a handler command (`--handler {service}=COMMAND`: the call as JSON on stdin, the result on stdout), \
                 a Step Functions Local mock config (`--mock-config FILE --test-case NAME`), or a mocked response in a test file (`asl-sim test`).",
                call.resource
            )),
        })
    }
}

// (service, action, pattern) of a Step Functions resource, `aws-sdk` kept as the service.
use asl_handler::split_states_resource as states_resource;

impl World {
    /// The answer of the interceptor or of a mock, which come before any service.
    fn answer_before_routing(&mut self, call: &TaskCall<'_>) -> Option<Result<Value, TaskError>> {
        if let Some(hook) = &mut self.interceptor {
            if let Some(r) = hook(call) {
                return Some(r);
            }
        }
        let key = (call.config.state_machine_name.clone(), call.config.execution_name.clone());
        if let Some(case) = self.execution_mocks.get_mut(&key) {
            // SFN Local: a state its test case does not mock calls the service.
            if let Some(answer) = case.respond(call.state_name) {
                return Some(answer);
            }
        }
        self.mocks.as_mut().and_then(|mocks| mocks.respond(call.state_name))
    }

    /// The Lambda call a Task makes, if it calls Lambda: a function ARN as the Resource
    /// (the bare payload), `lambda:invoke` (the Invoke envelope) or `aws-sdk:lambda:invoke`.
    fn lambda_invocation(&self, call: &TaskCall<'_>) -> Option<Result<Invocation, TaskError>> {
        let resource = call.resource;
        let (name, payload, style) = if let Some(name) = lambda::function_name_from_arn(resource) {
            (name, call.parameters.clone(), lambda::Style::Direct)
        } else {
            let style = match states_resource(resource) {
                Some(("lambda", "invoke", _)) => lambda::Style::Optimized,
                Some(("aws-sdk", "lambda:invoke", _)) => lambda::Style::AwsSdk,
                _ => return None,
            };
            let p = &call.parameters;
            let function = p.get("FunctionName").and_then(Value::as_str);
            if function.is_none() && style == lambda::Style::Optimized {
                return Some(Err(TaskError { error: "States.Runtime".into(), cause: Some("The field 'FunctionName' is required for lambda:invoke.".into()) }));
            }
            (lambda::short_name(function.unwrap_or("")), p.get("Payload").cloned().unwrap_or(Value::Null), style)
        };
        Some(Ok(Invocation { function: self.lambdas.get(&name).cloned(), name, payload, style }))
    }

    /// The HTTP request a task makes, if it is an HTTP Task or an API Gateway task.
    fn http_call(&self, call: &TaskCall<'_>) -> Option<HttpCall> {
        let api_gateway = match states_resource(call.resource) {
            Some(("http", "invoke", _)) => false,
            Some(("apigateway", "invoke", _)) => true,
            _ => return None,
        };
        Some(HttpCall {
            invoker: self.http.clone(),
            connections: if api_gateway { Default::default() } else { self.connections.clone() },
            api_endpoints: self.api_endpoints.clone(),
            parameters: call.parameters.clone(),
            region: call.config.region.clone(),
            timeout_seconds: call.timeout_seconds,
            api_gateway,
        })
    }

    /// A call to an embedded service (anything but Lambda, mocks and the interceptor).
    fn route(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        let fail = |error: &str, cause: String| Err(TaskError { error: error.into(), cause: Some(cause) });
        let resource = call.resource;
        let Some((service, action, _pattern)) = states_resource(resource) else {
            return fail("States.Runtime", format!("The resource '{resource}' is not a valid Step Functions resource ARN."));
        };
        let now = clock.now_millis();
        match (service, action) {
            ("dynamodb", a) => asl_dynamodb::step_functions_call(&mut self.dynamodb, IntegrationStyle::Optimized, a, &call.parameters)
                .map_err(|(error, cause)| TaskError { error, cause: Some(cause) }),
            ("events", "putEvents") => {
                let ctx = self.call_context(call.config, now);
                self.put_events(asl_eventbridge::PutEventsStyle::Optimized, &call.parameters, &ctx)
            }
            // Child executions are started by the driver (`start_child`, `TaskStart::Child`).
            ("states", "startExecution") => fail("States.Runtime", format!("the resource '{resource}' starts a child execution, which only a driver that runs executions can start")),
            ("http", "invoke") | ("apigateway", "invoke") => self.http_call(call).expect("an HTTP task").run(),
            // `.waitForTaskToken`: the message is sent here; the engine waits for the token.
            ("sqs", a) => asl_sqs::step_functions_call(&mut self.sqs, asl_sqs::IntegrationStyle::Optimized, a, &call.parameters, now)
                .map_err(|(error, cause)| TaskError { error, cause: Some(cause) }),
            ("sns", a) => {
                let (v, deliveries) = asl_sns::step_functions_call(&mut self.sns, asl_sns::IntegrationStyle::Optimized, a, &call.parameters, now)
                    .map_err(|(error, cause)| TaskError { error, cause: Some(cause) })?;
                self.deliver_sns(deliveries, now);
                Ok(v)
            }
            ("aws-sdk", sdk) => {
                let (svc, act) = sdk.split_once(':').unwrap_or((sdk, ""));
                let _ = act;
                let full_action = resource.rsplit(':').next().unwrap_or("");
                let act = full_action.split('.').next().unwrap_or(full_action);
                match svc {
                    "dynamodb" => asl_dynamodb::step_functions_call(&mut self.dynamodb, IntegrationStyle::AwsSdk, act, &call.parameters)
                        .map_err(|(error, cause)| TaskError { error, cause: Some(cause) }),
                    "s3" => {
                        let ctx = self.call_context(call.config, now);
                        let (v, events) = asl_s3::s3_step_functions_call(&mut self.s3, act, &call.parameters, &ctx)
                            .map_err(|(error, cause)| TaskError { error, cause: Some(cause) })?;
                        self.route_s3_events(events, &ctx);
                        Ok(v)
                    }
                    "eventbridge" => {
                        let ctx = self.call_context(call.config, now);
                        self.put_events(asl_eventbridge::PutEventsStyle::AwsSdk, &call.parameters, &ctx)
                    }
                    "lambda" => lambda::sdk_call(&self.lambdas, act, &call.parameters, &call.config.region, &call.config.account)
                        .unwrap_or_else(|| self.unsupported(call)),
                    "sqs" => asl_sqs::step_functions_call(&mut self.sqs, asl_sqs::IntegrationStyle::AwsSdk, act, &call.parameters, now)
                        .map_err(|(error, cause)| TaskError { error, cause: Some(cause) }),
                    "sns" => {
                        let (v, deliveries) = asl_sns::step_functions_call(&mut self.sns, asl_sns::IntegrationStyle::AwsSdk, act, &call.parameters, now)
                            .map_err(|(error, cause)| TaskError { error, cause: Some(cause) })?;
                        self.deliver_sns(deliveries, now);
                        Ok(v)
                    }
                    _ => self.unsupported(call),
                }
            }
            _ => self.unsupported(call),
        }
    }
}

/// `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`.
pub fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}


/// A callback's integration answered: the task waits for its token, the answer is what
/// AWS records as TaskSubmitted. An integration that failed fails the task at once.
fn submitted(r: Result<Value, TaskError>) -> TaskStart {
    match r {
        Ok(v) => TaskStart::Pending { submitted: Some(v) },
        Err(e) => TaskStart::Done(Err(e)),
    }
}

/// The services the World runs itself; any other is a `--handler` command's.
const EMBEDDED: &[&str] = &["lambda", "dynamodb", "s3", "events", "eventbridge", "states", "sqs", "sns", "http", "apigateway"];

impl World {
    /// Callbacks (`.waitForTaskToken`) and activities wait for SendTaskSuccess/Failure,
    /// except where a `--handler` command stands in for the whole service: its answer is
    /// the callback's result, as a mock's is.
    fn waits_for_an_answer(&self, resource: &str) -> bool {
        if is_activity(resource) {
            return true;
        }
        if !resource.ends_with(".waitForTaskToken") {
            return false;
        }
        let handled = asl_handler::parse_resource(resource)
            .is_some_and(|r| !EMBEDDED.contains(&r.service) && self.handlers.command_for(r.service).is_some());
        !handled
    }

    /// Offers an activity task to the workers of its activity (GetActivityTask).
    fn offer_activity(&mut self, call: &TaskCall<'_>) -> TaskStart {
        let Some(token) = call.task_token.clone() else {
            return TaskStart::Done(Err(TaskError { error: "States.Runtime".into(), cause: Some("the engine gave no task token".into()) }));
        };
        let task = ActivityTask { token, input: call.parameters.clone(), execution_arn: call.config.execution_arn(), state_name: call.state_name.to_string() };
        self.activities.offer(call.resource, task);
        TaskStart::Pending { submitted: None }
    }
}

impl Services for World {
    /// Callbacks and activities wait for their answer: a `.waitForTaskToken`
    /// integration is called (its response is the TaskSubmitted output) and the task
    /// stays pending until SendTaskSuccess/Failure with its token; an activity task is
    /// offered to workers. A mock or an interceptor that answers the state answers the
    /// callback itself, as Step Functions Local's mocked responses do.
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        if let Some(child) = self.start_child(call) {
            return child;
        }
        if !self.waits_for_an_answer(call.resource) {
            return TaskStart::Done(self.call(call, clock));
        }
        if let Some(answer) = self.answer_before_routing(call) {
            return TaskStart::Done(answer);
        }
        if is_activity(call.resource) {
            return self.offer_activity(call);
        }
        submitted(self.call(call, clock))
    }

    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        if let Some(answer) = self.answer_before_routing(call) {
            return answer;
        }
        match self.lambda_invocation(call) {
            Some(invocation) => invocation?.invoke(call.timeout_seconds),
            None => {
                let result = self.route(call, clock);
                self.take_sns_invocations().iter().for_each(SnsInvocation::invoke);
                result
            }
        }
    }

    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        crate::item_reader::read(&mut self.s3, reader, parameters)
    }

    fn child_definition(&mut self, state_machine_arn: &str) -> Option<Arc<asl_core::definition::Definition>> {
        self.machines.get(state_machine_name(state_machine_arn)).map(|m| m.definition.clone())
    }

    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        let ctx = CallContext::new(0, self.ids);
        let input = asl_s3::s3::PutObjectInput {
            bucket: bucket.to_string(),
            key: key.to_string(),
            body: body.as_bytes().to_vec(),
            content_type: Some("application/json".into()),
            metadata: Default::default(),
            tags: Default::default(),
        };
        self.s3.put_object(input, &ctx).map_err(|e| TaskError {
            error: "States.ResultWriterFailed".into(),
            cause: Some(format!("{}: {}", e.code, e.message)),
        })?;
        let events = self.s3.drain_events();
        self.route_s3_events(events, &ctx);
        Ok(())
    }
}

/// Serve and simulate move worlds across threads.
#[allow(dead_code)]
fn world_is_send() {
    fn send<T: Send>() {}
    send::<World>();
    send::<SharedWorld>();
}
