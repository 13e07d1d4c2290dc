//! The embedded AWS world a run sees: DynamoDB, S3, EventBridge, local Lambda
//! commands, other state machines and Step Functions Local mocks, behind the
//! engine's `Services` interface. Routing a Task's Resource ARN to a service
//! happens here; each service's own behaviour lives in its crate.

use crate::lambda::{self, LambdaFunction};
use crate::mocks::MockConfig;
use crate::activities::{Activities, ActivityTask};
use asl_core::engine::{self, Clock, ExecutionConfig, Services, TaskCall, TaskError, TaskStart};
use asl_dynamodb::{Database, IntegrationStyle};
use asl_aws::CallContext;
use asl_eventbridge::{Delivery, EventBridge};
use asl_s3::S3;
use serde_json::{json, Map, Value};
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
        self.lock().call(call, clock)
    }
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        self.lock().start_task(call, clock)
    }
    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        self.lock().read_items(reader, parameters)
    }
    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        self.lock().put_object(bucket, key, body)
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
    pub lambdas: HashMap<String, LambdaFunction>,
    pub machines: BTreeMap<String, ChildMachine>,
    pub mocks: Option<MockConfig>,
    /// Event deliveries to state machines, waiting for a driver (serve, simulate) to start them.
    pub pending: Vec<Delivery>,
    /// Called before every service call: may answer it instead (fault injection,
    /// scheduling points in simulations). `None` lets the call through.
    pub interceptor: Option<Box<Interceptor>>,
    /// Activity tasks waiting for a worker (GetActivityTask).
    pub activities: Activities,
    ids: u64,
    depth: usize,
}

impl World {
    pub fn new(region: &str, account: &str) -> World {
        World {
            dynamodb: Database::default(),
            s3: S3::new(),
            events: EventBridge::new(account, region),
            lambdas: HashMap::new(),
            machines: BTreeMap::new(),
            mocks: None,
            pending: Vec::new(),
            interceptor: None,
            activities: Activities::default(),
            ids: 0,
            depth: 0,
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
            if key != "dynamodb" && key != "s3" {
                return Err(format!("unknown fixture section \"{key}\"; expected dynamodb or s3"));
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
        Ok(())
    }

    /// PutEvents from a Task: accepted entries are delivered even when the
    /// optimized integration fails the task because another entry failed.
    fn put_events(&mut self, style: asl_eventbridge::PutEventsStyle, params: &Value, ctx: &CallContext) -> Result<Value, TaskError> {
        let call = asl_eventbridge::sfn::events_step_functions_call_detailed(&mut self.events, style, params, ctx);
        self.pending.extend(call.deliveries);
        call.outcome.map_err(|(error, cause)| TaskError { error, cause: Some(cause) })
    }

    /// Hands the pending event deliveries to the caller (serve, simulate).
    pub fn take_deliveries(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.pending)
    }

    fn route_s3_events(&mut self, events: Vec<asl_aws::Event>, ctx: &CallContext) {
        for e in events {
            let deliveries = self.events.put_service_event(None, &e, ctx);
            self.pending.extend(deliveries);
        }
    }

    fn start_execution(&mut self, call: &TaskCall<'_>, mode: &str, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        let p = &call.parameters;
        let arn = p.get("StateMachineArn").and_then(Value::as_str).unwrap_or("");
        let name = arn.rsplit(':').next().unwrap_or(arn).to_string();
        let Some(child) = self.machines.get(&name) else {
            return Err(TaskError {
                error: "StepFunctions.StateMachineDoesNotExistException".into(),
                cause: Some(format!("State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)")),
            });
        };
        if self.depth > 16 {
            return Err(TaskError { error: "States.Runtime".into(), cause: Some("child executions nest too deeply".into()) });
        }
        let input = match p.get("Input") {
            None => json!({}),
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            Some(v) => v.clone(),
        };
        let exec_name = p
            .get("Name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| asl_core::rng::uuid_v4(call.now_millis as u64 ^ 0x5151, self.ids.wrapping_add(7)));
        let config = ExecutionConfig {
            state_machine_name: name.clone(),
            execution_name: exec_name,
            execution_type: child.execution_type,
            seed: call.config.seed.wrapping_add(1),
            ..call.config.clone()
        };
        let start = asl_aws::time::format_iso8601_millis(call.now_millis);
        let exec_arn = config.execution_arn();
        if mode.is_empty() {
            // Fire and forget: run it to completion now (the result is not observed).
            let def = child.definition.clone();
            self.depth += 1;
            let _ = engine::run(&def, input, &config, self, clock, false);
            self.depth -= 1;
            return Ok(json!({"ExecutionArn": exec_arn, "StartDate": start}));
        }
        let def = child.definition.clone();
        self.depth += 1;
        let out = engine::run(&def, input.clone(), &config, self, clock, false);
        self.depth -= 1;
        let stop = asl_aws::time::format_iso8601_millis(clock.now_millis());
        let output = out.output.clone().unwrap_or(Value::Null);
        let mut r = Map::new();
        r.insert("ExecutionArn".into(), json!(exec_arn));
        r.insert("Input".into(), if mode == ".sync:2" { input.clone() } else { json!(input.to_string()) });
        r.insert("InputDetails".into(), json!({"Included": true}));
        r.insert("Name".into(), json!(config.execution_name));
        if out.status == engine::Status::Succeeded {
            r.insert("Output".into(), if mode == ".sync:2" { output } else { json!(output.to_string()) });
            r.insert("OutputDetails".into(), json!({"Included": true}));
        }
        r.insert("StartDate".into(), json!(start));
        r.insert("StateMachineArn".into(), json!(config.state_machine_arn()));
        r.insert("Status".into(), json!(out.status.as_str()));
        r.insert("StopDate".into(), json!(stop));
        if out.status != engine::Status::Succeeded {
            return Err(TaskError {
                error: "States.TaskFailed".into(),
                cause: Some(Value::Object(r).to_string()),
            });
        }
        Ok(Value::Object(r))
    }
}

/// Splits `arn:aws:states:::service:action[.pattern]` into (service, action, pattern).
fn states_resource(resource: &str) -> Option<(&str, &str, &str)> {
    let rest = resource.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "states" {
        return None;
    }
    let (_region, _account) = (parts.next()?, parts.next()?);
    let tail = parts.next()?;
    let (service, action) = tail.split_once(':')?;
    let (action, pattern) = match action.find('.') {
        Some(i) => (&action[..i], &action[i..]),
        None => (action, ""),
    };
    Some((service, action, pattern))
}

/// `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`.
pub fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}

impl World {
    /// An interceptor's or a Step Functions Local mock's answer, if either has one.
    fn answer_now(&mut self, call: &TaskCall<'_>) -> Option<Result<Value, TaskError>> {
        if let Some(hook) = &mut self.interceptor {
            if let Some(r) = hook(call) {
                return Some(r);
            }
        }
        if let Some(mocks) = &mut self.mocks {
            if let Some(r) = mocks.respond(call.state_name) {
                return Some(r);
            }
        }
        None
    }

    /// The integration itself: routes the Resource to the embedded service.
    fn integration(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        let fail = |error: &str, cause: String| Err(TaskError { error: error.into(), cause: Some(cause) });
        let resource = call.resource;
        // A Lambda function ARN as the Resource: the bare payload.
        if let Some(name) = lambda::function_name_from_arn(resource) {
            return lambda::invoke(&self.lambdas, &name, &call.parameters, call.timeout_seconds, lambda::Style::Direct);
        }
        let Some((service, action, pattern)) = states_resource(resource) else {
            return fail("States.Runtime", format!("The resource '{resource}' is not a valid Step Functions resource ARN."));
        };
        let now = clock.now_millis();
        match (service, action) {
            ("lambda", "invoke") => {
                let p = &call.parameters;
                let Some(f) = p.get("FunctionName").and_then(Value::as_str) else {
                    return fail("States.Runtime", "The field 'FunctionName' is required for lambda:invoke.".into());
                };
                let payload = p.get("Payload").cloned().unwrap_or(Value::Null);
                lambda::invoke(&self.lambdas, &lambda::short_name(f), &payload, call.timeout_seconds, lambda::Style::Optimized)
            }
            ("dynamodb", a) => asl_dynamodb::step_functions_call(&mut self.dynamodb, IntegrationStyle::Optimized, a, &call.parameters)
                .map_err(|(error, cause)| TaskError { error, cause: Some(cause) }),
            ("events", "putEvents") => {
                let ctx = self.call_context(call.config, now);
                self.put_events(asl_eventbridge::PutEventsStyle::Optimized, &call.parameters, &ctx)
            }
            ("states", "startExecution") => self.start_execution(call, pattern, clock),
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
                    "lambda" if act == "invoke" => {
                        let p = &call.parameters;
                        let f = p.get("FunctionName").and_then(Value::as_str).unwrap_or("");
                        let payload = p.get("Payload").cloned().unwrap_or(Value::Null);
                        lambda::invoke(&self.lambdas, &lambda::short_name(f), &payload, call.timeout_seconds, lambda::Style::AwsSdk)
                    }
                    _ => fail(
                        "States.Runtime",
                        format!("The resource '{resource}' is not supported: asl-sim embeds aws-sdk integrations for dynamodb, s3, eventbridge and lambda only."),
                    ),
                }
            }
            _ => fail("States.Runtime", format!("The resource '{resource}' is not supported by asl-sim.")),
        }
    }
}

impl Services for World {
    /// Callbacks and activities wait for their answer: a `.waitForTaskToken`
    /// integration is called (its response is the TaskSubmitted output) and the
    /// task stays pending until SendTaskSuccess/Failure with its token; an
    /// activity task is offered to workers. A mock or an interceptor that
    /// answers the state answers the callback itself, as Step Functions Local's
    /// mocked responses do (the mocked response is the callback's result).
    fn start_task(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> TaskStart {
        let callback = call.resource.ends_with(".waitForTaskToken");
        let activity = is_activity(call.resource);
        if !callback && !activity {
            return TaskStart::Done(self.call(call, clock));
        }
        if let Some(r) = self.answer_now(call) {
            return TaskStart::Done(r);
        }
        let Some(token) = call.task_token.clone() else {
            return TaskStart::Done(Err(TaskError { error: "States.Runtime".into(), cause: Some("the engine gave no task token".into()) }));
        };
        if activity {
            let task = ActivityTask {
                token,
                input: call.parameters.clone(),
                execution_arn: call.config.execution_arn(),
                state_name: call.state_name.to_string(),
            };
            self.activities.offer(call.resource, task);
            return TaskStart::Pending { submitted: None };
        }
        match self.integration(call, clock) {
            Ok(v) => TaskStart::Pending { submitted: Some(v) },
            Err(e) => TaskStart::Done(Err(e)),
        }
    }

    fn call(&mut self, call: &TaskCall<'_>, clock: &mut dyn Clock) -> Result<Value, TaskError> {
        if let Some(r) = self.answer_now(call) {
            return r;
        }
        self.integration(call, clock)
    }

    fn read_items(&mut self, reader: &Value, parameters: &Value) -> Result<Vec<Value>, TaskError> {
        crate::item_reader::read(&mut self.s3, reader, parameters)
    }

    fn put_object(&mut self, bucket: &str, key: &str, body: &str) -> Result<(), TaskError> {
        let ctx = CallContext::new(0, self.ids);
        let input = asl_s3::s3::PutObjectInput {
            bucket: bucket.to_string(),
            key: key.to_string(),
            body: body.as_bytes().to_vec(),
            content_type: Some("application/json".into()),
            metadata: Default::default(),
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
