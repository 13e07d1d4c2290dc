//! `asl-sim serve`: the whole application offline from template.yaml (issue 5).
//!
//! - `template`: the template to a model of resources.
//! - `http`: the HTTP plumbing shared by the front doors.
//! - `aws`: the AWS endpoint (S3 REST/XML in `s3`; DynamoDB, Step Functions and
//!   EventBridge JSON protocols in `json_api`), verified with SigV4 (`sigv4`).
//! - `api`: the HTTP API (routes, JWT authorizer in `jwt`, integrations).
//! - `lambda_rt`: functions as their real binaries behind an emulated Lambda Runtime API.
//! - `exec`: executions (background, synchronous, event deliveries).
//!
//! Only this module knows AWS wire formats; the services it drives stay pure.

// The world and its clock live in asl-world, the diagnostics renderer in asl-core;
// these imports keep the `crate::world` / `crate::clock` / `crate::render` paths the
// protocol modules are written against.
use asl_core::render;
use asl_world::{clock, world};

pub use crate::clock::wall_millis;
mod api;
mod aws;
mod checksum;
mod console;
mod events_api;
mod exec;
mod http;
mod json_api;
pub mod jwt;
mod lambda_rt;
mod persist;
mod query;
mod s3;
mod sns;
mod sns_http;
mod sqs;
mod s3_extra;
mod s3_versions;
mod schedules;
mod ttl;
mod sfn_control;
mod sfn_tasks;
mod sfn_local;
pub mod test_state;
pub mod sigv4;
/// `run --state DIR` opens and commits serve's store through this.
pub use persist::DataDir;
pub use asl_world::template;
mod validate;

use crate::world::{ChildMachine, SharedWorld, World};
use asl_core::engine::ExecutionType;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// The SAM/CloudFormation template.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// A template parameter (repeatable): --parameter QuotaBytes=1000.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// The HTTP API's port (0 picks a free port).
    #[arg(long, default_value_t = 3000)]
    pub api_port: u16,
    /// The port of every AWS-protocol endpoint: S3, DynamoDB, Step Functions, EventBridge, SQS, SNS (0 picks a free port).
    #[arg(long, default_value_t = 4566)]
    pub aws_port: u16,
    /// The access key requests to the AWS endpoint must be signed with.
    #[arg(long, default_value = "test")]
    pub access_key: String,
    /// The secret key requests to the AWS endpoint must be signed with.
    #[arg(long, default_value = "test")]
    pub secret_key: String,
    /// Where the data and the local JWT signing key live.
    #[arg(long, default_value = ".asl-sim")]
    pub data_dir: PathBuf,
    /// Keep the data in memory only (the JWT key still lives in --data-dir).
    #[arg(long)]
    pub in_memory: bool,

    /// The stack name (`AWS::StackName`), used in generated resource names.
    #[arg(long, default_value = asl_aws::defaults::STACK_NAME)]
    pub stack_name: String,
    /// The binary of a function (repeatable): --function-binary PresignFunction=target/debug/presign.
    /// Without it, serve looks for the cargo binary in $CARGO_TARGET_DIR and ./target (debug, then release).
    #[arg(long = "function-binary", value_name = "LOGICAL_ID=PATH")]
    pub function_binaries: Vec<String>,
    /// No log line per request.
    #[arg(long)]
    pub quiet: bool,
    /// Step Functions Local's mock config file (also read from $SFN_MOCK_CONFIG, as SFN
    /// Local does): StartExecution with `...:stateMachine:NAME#TEST_CASE` runs that test case.
    #[arg(long, value_name = "FILE")]
    pub mock_config: Option<PathBuf>,
    /// Connection limits of both front doors.
    #[command(flatten)]
    pub limits: ConnectionLimits,
}

impl ServeArgs {
    /// An embedded serve, as tests and the fuzzer start one: both ports picked free, the
    /// `test`/`test` keys, data in memory, no log line per request, no function binaries
    /// or mock config. Callers change what they need with `..ServeArgs::local(..)`.
    pub fn local(template: PathBuf, data_dir: PathBuf) -> ServeArgs {
        ServeArgs {
            template,
            parameters: Vec::new(),
            api_port: 0,
            aws_port: 0,
            access_key: "test".into(),
            secret_key: "test".into(),
            data_dir,
            in_memory: true,
            stack_name: asl_aws::defaults::STACK_NAME.into(),
            function_binaries: Vec::new(),
            quiet: true,
            mock_config: None,
            limits: ConnectionLimits::default(),
        }
    }
}

/// How long a client may take and how many may be served at once (see the SECURITY section of docs/serve.md).
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionLimits {
    /// Most milliseconds to send a request head, and to keep an idle connection open between requests.
    #[arg(long, default_value_t = 20_000)]
    pub header_timeout_ms: u64,
    /// Most milliseconds between two bytes of a request body.
    #[arg(long, default_value_t = 20_000)]
    pub idle_timeout_ms: u64,
    /// Concurrent connections per front door; more clients wait until one ends.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { header_timeout_ms: 20_000, idle_timeout_ms: 20_000, max_connections: 256 }
    }
}

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// The user (the token's `sub`).
    pub user: String,
    /// Lifetime: 90s, 15m, 1h, 7d (negative for an already expired token).
    #[arg(long, default_value = "1h", allow_hyphen_values = true)]
    pub expires: String,
    /// The `iss` claim (serve's default JwtIssuer).
    #[arg(long, default_value = template::LOCAL_ISSUER)]
    pub issuer: String,
    /// The `aud` claim (serve's default JwtAudience).
    #[arg(long, default_value = template::LOCAL_AUDIENCE)]
    pub audience: String,
    /// Where the signing key lives (the same as serve's).
    #[arg(long, default_value = ".asl-sim")]
    pub data_dir: PathBuf,
}

pub struct Machine {
    pub name: String,
    pub arn: String,
    pub logical: String,
    pub express: bool,
    pub definition: Arc<asl_core::definition::Definition>,
    pub created_ms: i64,
    pub text: String,
}

impl Machine {
    /// The machine as the world runs it for `states:startExecution` (a child execution).
    pub fn child(&self) -> ChildMachine {
        let execution_type = if self.express { ExecutionType::Express } else { ExecutionType::Standard };
        ChildMachine { definition: self.definition.clone(), execution_type }
    }
}

/// Everything the front doors share.
pub struct State {
    pub world: SharedWorld,
    pub keys: sigv4::Keys,
    /// The template's state machines and those created through the API.
    pub machines: sfn_control::Registry,
    pub executions: exec::Executions,
    /// EventBridge targets' fields the embedded EventBridge does not keep (RetryPolicy, DeadLetterConfig).
    pub target_extras: events_api::TargetExtras,
    pub functions: HashMap<String, Arc<lambda_rt::Function>>,
    pub api: Option<template::ApiDef>,
    pub issuer: jwt::Issuer,
    pub quiet: bool,
    pub aws_addr: SocketAddr,
    pub api_addr: SocketAddr,
    ids: AtomicU64,
    pub shutting_down: AtomicBool,
    /// The durable store and what it knows of the bodies it holds.
    pub persist: persist::Persist,
}

impl State {
    /// A fresh seed for ids (request ids, event ids, execution names).
    pub fn next_seed(&self) -> u64 {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        (wall_millis() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ std::process::id() as u64
    }
    pub fn uuid(&self) -> String {
        let s = self.next_seed();
        asl_core::rng::uuid_v4(s, s.rotate_left(17) ^ 0x5555)
    }
    /// Executions waiting (a timer, a callback, an activity) without a thread.
    pub fn parked_executions(&self) -> usize {
        self.executions.parked()
    }
    pub fn machine_by_arn(&self, arn: &str) -> Option<Arc<Machine>> {
        self.machines.machine(arn, self.next_seed())
    }
    pub fn log(&self, line: std::fmt::Arguments<'_>) {
        if !self.quiet {
            eprintln!("{}", line);
        }
    }
}


fn pairs(items: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for i in items {
        let (k, v) = i.split_once('=').ok_or_else(|| format!("--{flag} {i}: expected KEY=VALUE"))?;
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

/// A running serve: its real addresses, and a way to stop it.
pub struct Handle {
    pub aws_addr: SocketAddr,
    pub api_addr: SocketAddr,
    pub state: Arc<State>,
    pub runtime: tokio::runtime::Runtime,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Handle {
    pub fn stop(self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        for f in self.state.functions.values() {
            f.stop();
        }
        // Nothing to save: every acknowledged change is already committed. In-flight
        // requests get up to half a second to finish (and commit) their work.
        self.runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    }
}

/// Loads the template, creates the resources and starts both front doors.
/// Returns the start-up banner with the handle.
pub fn start(args: &ServeArgs) -> Result<(Handle, String), String> {
    let t0 = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .thread_name("serve")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let bind = |port: u16| {
        runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))).map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))
    };
    let aws_listener = bind(args.aws_port)?;
    let api_listener = bind(args.api_port)?;
    let aws_addr = aws_listener.local_addr().map_err(|e| e.to_string())?;
    let api_addr = api_listener.local_addr().map_err(|e| e.to_string())?;

    let parameters = pairs(&args.parameters, "parameter")?;
    let settings = template::Settings {
        stack_name: args.stack_name.clone(),
        parameters,
        api_endpoint: format!("http://{api_addr}"),
    };
    let tpath = args.template.display().to_string();
    let model = template::load(&args.template, &settings).map_err(|problems| {
        let text = std::fs::read_to_string(&args.template).unwrap_or_default();
        let mut out = format!("{tpath}: serve cannot run this template:\n");
        for p in problems {
            let d = asl_core::diagnostic::Diagnostic {
                code: "S001",
                severity: asl_core::diagnostic::Severity::Error,
                pos: p.pos,
                message: p.message,
            };
            out.push_str(&crate::render::diagnostic(&tpath, &text, &d));
        }
        out
    })?;

    // The world.
    let mut world = World::new(template::REGION, template::ACCOUNT);
    world.mock_config = sfn_local::mock_config(args.mock_config.as_deref())?;
    for c in &model.connections {
        world.connections.insert(c.clone());
    }
    let mut machines = BTreeMap::new();
    let now = wall_millis();
    let mut errors = Vec::new();
    for m in &model.machines {
        let (def, diags) = asl_core::load_definition(&m.text, &m.subs);
        let fatal: Vec<_> = diags.iter().filter(|d| d.severity == asl_core::diagnostic::Severity::Error).collect();
        let name = m.path.display().to_string();
        if let Err((_, message)) = validate::name("name", &m.name) {
            errors.push(format!("{name}: state machine {}: {message}\n", m.logical));
            continue;
        }
        if !fatal.is_empty() || def.is_none() {
            for d in fatal {
                errors.push(crate::render::diagnostic(&name, &m.text, d));
            }
            if def.is_none() {
                errors.push(format!("{name}: the definition cannot be read\n"));
            }
            continue;
        }
        let def = Arc::new(def.expect("checked"));
        let machine = Machine { name: m.name.clone(), arn: m.arn.clone(), logical: m.logical.clone(), express: m.express, definition: def, created_ms: now, text: m.text.clone() };
        world.machines.insert(m.name.clone(), machine.child());
        machines.insert(m.name.clone(), Arc::new(machine));
    }
    if !errors.is_empty() {
        return Err(format!("{tpath}: a state machine does not load:\n{}", errors.concat()));
    }
    let store: Arc<dyn asl_store::Store> = if args.in_memory {
        Arc::new(asl_store::MemoryStore::new())
    } else {
        Arc::new(asl_store::SqliteStore::open(&args.data_dir).map_err(|e| e.message)?)
    };
    let persist = persist::Persist::new(store.clone());
    let target_extras = events_api::TargetExtras::default();
    let legacy_dir = (!args.in_memory).then_some(args.data_dir.as_path());
    let opened = persist::open_into(&*store, &mut world, &persist, &target_extras, legacy_dir, false)?;
    let upgrading = opened.upgrading;
    let restored = opened.objects + opened.items > 0 || upgrading;
    let ctx = asl_aws::CallContext::new(now, 1);
    for b in &model.buckets {
        if world.s3.buckets.contains_key(&b.name) {
            continue;
        }
        world.s3.create_bucket(&b.name, &ctx).map_err(|e| format!("bucket {}: {}", b.name, e.message))?;
        if b.eventbridge {
            world.s3.set_eventbridge(&b.name, true).map_err(|e| e.message)?;
        }
    }
    world.s3.drain_events();
    for (logical, req) in &model.tables {
        let name = req["TableName"].as_str().unwrap_or_default();
        if world.dynamodb.has_table(name) {
            continue;
        }
        world.dynamodb.call("CreateTable", req).map_err(|e| format!("{logical}: CreateTable: {}: {}", e.code, e.message))?;
    }
    ttl::enable(&mut world, &model.time_to_live)?;
    let ttl_sweep = ttl::interval()?;
    // The template's buses, rules and targets are put again over what was stored (those
    // created through the API stay): for its own, the template's settings win.
    for (logical, name) in &model.buses {
        if !world.events.buses.contains_key(name) {
            world.events.create_event_bus(name).map_err(|e| format!("{logical}: {e}"))?;
        }
    }
    for r in &model.rules {
        let bus = if r.bus == "default" { None } else { Some(r.bus.as_str()) };
        let input = asl_eventbridge::events::PutRuleInput {
            name: r.name.clone(),
            event_pattern: Some(r.pattern.to_string()),
            event_bus_name: bus.map(str::to_string),
            ..Default::default()
        };
        world.events.put_rule(&input).map_err(|e| format!("{}: {e}", r.logical))?;
        let targets: Vec<_> = r.targets.iter().map(asl_eventbridge::events::target_from_json).collect::<Result<_, _>>().map_err(|e| format!("{}: {e}", r.logical))?;
        for t in &targets {
            let known = machines.values().any(|m| m.arn == t.arn) || model.queues.iter().any(|q| q.arn == t.arn) || model.topics.iter().any(|q| q.arn == t.arn);
            if !known {
                return Err(format!("{}: target {} is not a state machine, SQS queue or SNS topic of this template (serve delivers to those)", r.logical, t.arn));
            }
        }
        world.events.put_targets(bus, &r.name, &targets).map_err(|e| format!("{}: {e}", r.logical))?;
        let bus_name = asl_eventbridge::EventBridge::resolve_bus_name(bus);
        for t in &r.targets {
            target_extras.insert_template_target(&bus_name, &r.name, t).map_err(|e| format!("{}: {e}", r.logical))?;
        }
    }

    let issuer = jwt::Issuer::open(&args.data_dir)?;
    let binaries = pairs(&args.function_binaries, "function-binary")?;
    let base = args.template.parent().map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() }).unwrap_or_else(|| PathBuf::from("."));
    let mut functions = HashMap::new();
    let mut notices = model.notices.clone();
    // By position in the template.
    notices.sort_by_key(|n| {
        let (l, rest) = n.split_once(':').unwrap_or(("", ""));
        let c = rest.split(':').next().unwrap_or("");
        (l.parse::<u32>().unwrap_or(u32::MAX), c.parse::<u32>().unwrap_or(0))
    });
    for v in sfn_local::IGNORED_ENV.iter().filter(|v| std::env::var_os(v).is_some()) {
        notices.push(format!("{v} (a Step Functions Local setting) is ignored: serve runs the services and waits itself"));
    }
    for f in &model.functions {
        let bin = binaries.get(&f.logical).or(binaries.get(&f.name)).map(PathBuf::from).or_else(|| lambda_rt::find_binary(&base, &f.binary));
        if bin.is_none() {
            notices.push(format!(
                "{}: binary {} not found: build it with `cargo build -p {}` or pass --function-binary {}=PATH; until then its routes answer 502",
                f.logical, f.binary, f.binary, f.logical
            ));
        }
        let mut env = f.env.clone();
        let aws = format!("http://{aws_addr}");
        for k in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SNS"] {
            env.push((k.into(), aws.clone()));
        }
        env.push(("AWS_ACCESS_KEY_ID".into(), args.access_key.clone()));
        env.push(("AWS_SECRET_ACCESS_KEY".into(), args.secret_key.clone()));
        let function = Arc::new(lambda_rt::Function::new(f.clone(), bin, env, runtime.handle().clone()));
        // The template's workflows call the same function the HTTP API does.
        world.lambdas.insert(f.name.clone(), function.clone());
        functions.insert(f.name.clone(), function);
    }

    // Queue URLs and the URLs in SNS envelopes point at this endpoint.
    world.sqs.url_base = format!("http://{aws_addr}");
    world.sns.endpoint = format!("http://{aws_addr}");
    // apigateway:invoke reaches the template's HTTP API here (`${Api}.execute-api.${AWS::Region}.amazonaws.com`).
    if let Some(api) = &model.api {
        world.api_endpoints.insert(&format!("{}.execute-api.{}.amazonaws.com", api.id, template::REGION), &format!("http://{api_addr}"));
    }
    sqs::create_template_queues(&mut world, &model.queues, now)?;
    // HTTP(S) subscriptions' deliveries (confirmations among them) are POSTed and retried off the lock.
    world.sns_http_sink = Some(sns_http::Outbox::start().sink());
    sns::create_template_topics(&mut world, &model.topics, &model.subscriptions, now)?;
    // The machines created through the API (and the template's versions, aliases and tags).
    let registry = sfn_control::Registry::from_template(machines);
    for m in registry.restore(&*store)? {
        world.machines.insert(m.name.clone(), m.child());
    }
    let state = Arc::new(State {
        world: SharedWorld::new(world),
        keys: sigv4::Keys { access_key: args.access_key.clone(), secret_key: args.secret_key.clone() },
        machines: registry,
        executions: exec::Executions::new(if args.in_memory { None } else { Some(args.data_dir.clone()) }),
        target_extras,
        functions,
        api: model.api.clone(),
        issuer,
        quiet: args.quiet,
        aws_addr,
        api_addr,
        ids: AtomicU64::new(1),
        shutting_down: AtomicBool::new(false),
        persist,
    });
    exec::start_workers(&state);
    sqs::start_event_sources(&state, &model.event_sources)?;
    // The template's resources (and an upgraded state.json) are committed before serve is ready.
    persist::flush(&state, Vec::new()).map_err(|e| e.message)?;
    if upgrading {
        persist::finish_upgrade(&args.data_dir)?;
    }
    let (records, resumed) = exec::restore(&state, keep_executions()?)?;
    notices.extend(schedules::start(&state, &model.schedules, wall_millis())?);
    ttl::start(&state, ttl_sweep)?;
    let restored = restored || records > 0;
    let _ = resumed;

    let (tx, rx) = tokio::sync::watch::channel(false);
    {
        let limits = http::Limits {
            header_timeout: Some(std::time::Duration::from_millis(args.limits.header_timeout_ms)),
            body_idle_timeout: Some(std::time::Duration::from_millis(args.limits.idle_timeout_ms)),
            max_connections: args.limits.max_connections,
        };
        runtime.spawn(http::serve_front(aws_listener, rx.clone(), Arc::new(console::WithConsole { inner: aws::AwsFront { state: state.clone() }, state: state.clone() }), limits));
        runtime.spawn(http::serve_front(api_listener, rx, Arc::new(api::ApiFront { state: state.clone() }), limits));
    }

    let banner = banner(&state, &model, &notices, &args.template, restored, args, t0);
    Ok((Handle { aws_addr, api_addr, state, runtime, shutdown: tx }, banner))
}

/// Most execution records kept: beyond it the oldest ended ones are dropped at start-up
/// (records also expire 90 days after they ended, as on AWS). `ASL_SIM_KEEP_EXECUTIONS`,
/// an environment variable rather than a flag so that ServeArgs keeps its fields.
fn keep_executions() -> Result<usize, String> {
    match std::env::var("ASL_SIM_KEEP_EXECUTIONS") {
        Ok(v) => v.trim().parse().map_err(|_| format!("ASL_SIM_KEEP_EXECUTIONS={v}: expected a number of executions")),
        Err(_) => Ok(100_000),
    }
}

fn banner(state: &State, model: &template::Model, notices: &[String], template: &std::path::Path, restored: bool, args: &ServeArgs, t0: Instant) -> String {
    use std::fmt::Write;
    let mut b = String::new();
    let aws = format!("http://{}", state.aws_addr);
    let _ = writeln!(b, "asl-sim serve: {} ({} resources)", template.display(), model.buckets.len() + model.tables.len() + model.buses.len() + model.rules.len() + model.machines.len() + model.functions.len() + model.queues.len() + model.topics.len());
    let _ = writeln!(b, "  HTTP API      http://{}", state.api_addr);
    let _ = writeln!(b, "  AWS endpoint  {aws}  (S3, DynamoDB, Step Functions, EventBridge, SQS, SNS; SigV4 key {})", state.keys.access_key);
    let _ = writeln!(b, "  console       {aws}{}/", console::PREFIX);
    for bk in &model.buckets {
        let _ = writeln!(b, "  bucket        {}{}", bk.name, if bk.eventbridge { "  (EventBridge notifications on)" } else { "" });
    }
    for (_, t) in &model.tables {
        let _ = writeln!(b, "  table         {}", t["TableName"].as_str().unwrap_or(""));
    }
    for (_, name) in &model.buses {
        let _ = writeln!(b, "  event bus     {name}");
    }
    for r in &model.rules {
        let targets: Vec<&str> = r.targets.iter().filter_map(|t| t["Arn"].as_str()).map(|a| a.rsplit(':').next().unwrap_or(a)).collect();
        let _ = writeln!(b, "  rule          {} on {} → {}", r.name, r.bus, targets.join(", "));
    }
    for m in &model.machines {
        let _ = writeln!(b, "  state machine {} ({})", m.name, if m.express { "EXPRESS" } else { "STANDARD" });
    }
    for f in &model.functions {
        let _ = writeln!(b, "  function      {} ({})", f.name, f.binary);
    }
    for q in &model.queues {
        let _ = writeln!(b, "  queue         {}", q.name);
    }
    for t in &model.topics {
        let _ = writeln!(b, "  topic         {}", t.arn.rsplit(':').next().unwrap_or_default());
    }
    for s in &model.subscriptions {
        let _ = writeln!(b, "  subscription  {} → {} {}", s.request["TopicArn"].as_str().unwrap_or_default().rsplit(':').next().unwrap_or_default(),
            s.request["Protocol"].as_str().unwrap_or_default(), s.request["Endpoint"].as_str().unwrap_or_default());
    }
    for e in &model.event_sources {
        let _ = writeln!(b, "  event source  {} → {} (batch {}{})", e.queue_arn.rsplit(':').next().unwrap_or_default(), e.function, e.batch_size,
            if e.enabled { "" } else { ", disabled" });
    }
    if let Some(api) = &model.api {
        for r in &api.routes {
            let what = match &r.integration {
                template::Integration::Lambda { function } => format!("Lambda {function}"),
                template::Integration::StepFunctions { sync, params } => format!(
                    "{} {}",
                    if *sync { "StartSyncExecution" } else { "StartExecution" },
                    params.get("StateMachineArn").map(|a| a.rsplit(':').next().unwrap_or(a)).unwrap_or("?")
                ),
                template::Integration::PutEvents { params } => format!("PutEvents {}", params.get("EventBusName").map(String::as_str).unwrap_or("default")),
            };
            let _ = writeln!(b, "  route         {:<20} → {what}{}", r.route_key, if r.authorizer.is_some() { "  (JWT)" } else { "" });
        }
    }
    for (k, v) in &model.outputs {
        let _ = writeln!(b, "  output        {k} = {v}");
    }
    for n in notices {
        let _ = writeln!(b, "  not emulated  {n}");
    }
    let _ = writeln!(
        b,
        "  data          {}",
        if args.in_memory { "in memory".to_string() } else { format!("{}{}", args.data_dir.display(), if restored { " (restored)" } else { "" }) }
    );
    let _ = writeln!(b, "  tokens        asl-sim token USER   (key {})", state.issuer.key_path.display());
    let _ = write!(b, "ready in {} ms; Ctrl-C stops", t0.elapsed().as_millis());
    b
}

pub fn main(args: ServeArgs) -> i32 {
    let (handle, banner) = match start(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    println!("{banner}");
    handle.runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    });
    eprintln!("shutting down");
    handle.stop();
    0
}

pub fn token_main(args: TokenArgs) -> i32 {
    let Some(secs) = jwt::parse_duration(&args.expires) else {
        eprintln!("error: --expires {}: expected a duration such as 90s, 15m, 1h or 7d", args.expires);
        return 2;
    };
    match mint_token(&args.data_dir, &args.user, &args.issuer, &args.audience, secs) {
        Ok(t) => {
            println!("{t}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// A token serve's local authorizer accepts (what `asl-sim token` prints).
pub fn mint_token(data_dir: &std::path::Path, user: &str, issuer: &str, audience: &str, expires_in_secs: i64) -> Result<String, String> {
    let key = jwt::Issuer::open(data_dir)?;
    key.sign(&jwt::claims(user, issuer, audience, wall_millis() / 1000, expires_in_secs))
}

/// Helper for JSON bodies.
pub fn json_text(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
