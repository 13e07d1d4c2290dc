//! `asl-sim test`: workflow test suites (`*.test.yaml`, see docs/testing.md).
//! Discovers the files, runs every case in parallel (each with its own world
//! and a virtual clock at a fixed start, so results are deterministic), and
//! reports like `cargo test`.

pub mod callbacks;
pub mod format;
pub mod matching;
pub mod template;
pub mod update;

use crate::lambda::LambdaFunction;
use crate::world::{ChildMachine, World};
use asl_core::engine::{self, ExecutionConfig, Outcome, Status, TaskError};
use format::{Case, Suite};
use matching::Mode;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Test files or directories to search for `*.test.yaml` (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Snapshot mode: write the observed status, output (or error and cause), path and final
    /// tables and buckets into the test files.
    #[arg(long)]
    pub update: bool,
    /// Write an HTML report per case into DIR (plus DIR/index.html).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Run at most N cases at once (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Run only the cases whose `FILE::CASE` name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

/// Finds the test files: files named as given, `*.test.yaml` / `*.test.yml`
/// under directories (hidden directories, `target` and `node_modules` are skipped).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            let ft = e.file_type().map_err(|err| format!("{}: {err}", p.display()))?;
            if ft.is_dir() {
                if name.starts_with('.') || name == "target" || name == "node_modules" {
                    continue;
                }
                walk(&p, out)?;
            } else if name.ends_with(".test.yaml") || name.ends_with(".test.yml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    let defaults = [PathBuf::from(".")];
    for p in if paths.is_empty() { &defaults[..] } else { paths } {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{} does not exist", p.display()));
        }
    }
    let clean = |p: PathBuf| p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p);
    let mut out: Vec<PathBuf> = out.into_iter().map(clean).collect();
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

/// What one case did.
pub struct Observed {
    pub outcome: Outcome,
    /// Table name → items (DynamoDB JSON), in key order.
    pub tables: Map<String, Value>,
    /// Table name → its key attribute names.
    pub keys: HashMap<String, Vec<String>>,
    /// Bucket name → {object key → body}.
    pub buckets: Map<String, Value>,
    /// The tables and buckets before the execution (for `--update`).
    pub initial: Option<(Map<String, Value>, Map<String, Value>)>,
}

/// Tables (name → items), their key attribute names, buckets (name → {key → body}).
pub type WorldView = (Map<String, Value>, HashMap<String, Vec<String>>, Map<String, Value>);

/// The tables and buckets of a world, as test files write them.
pub fn world_view(world: &World) -> WorldView {
    let mut tables = Map::new();
    let mut keys = HashMap::new();
    let db = world.dynamodb.to_json();
    for t in db.get("Tables").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = t.pointer("/Table/TableName").and_then(Value::as_str) else { continue };
        let ks: Vec<String> = t
            .pointer("/Table/KeySchema")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.get("AttributeName").and_then(Value::as_str).map(str::to_string))
            .collect();
        // Key attributes first, then the rest in name order: easier to read.
        let items: Vec<Value> = t
            .get("Items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|item| {
                let Value::Object(m) = item else { return item.clone() };
                let mut o = Map::new();
                for k in &ks {
                    if let Some(v) = m.get(k) {
                        o.insert(k.clone(), v.clone());
                    }
                }
                for (k, v) in m {
                    if !ks.contains(k) {
                        o.insert(k.clone(), v.clone());
                    }
                }
                Value::Object(o)
            })
            .collect();
        keys.insert(name.to_string(), ks);
        tables.insert(name.to_string(), Value::Array(items));
    }
    let mut buckets = Map::new();
    let s3 = world.s3.to_json();
    for (name, b) in s3.get("buckets").and_then(Value::as_object).into_iter().flatten() {
        let mut objects = Map::new();
        for (key, o) in b.get("objects").and_then(Value::as_object).into_iter().flatten() {
            let body = o.get("body").cloned().unwrap_or(Value::Null);
            let body = match o.get("encoding").and_then(Value::as_str) {
                Some("utf8") | None => body,
                Some(_) => json!({"$base64": body}),
            };
            objects.insert(key.clone(), body);
        }
        buckets.insert(name.clone(), Value::Object(objects));
    }
    (tables, keys, buckets)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn exec_name(case: &str) -> String {
    let s: String = case.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).take(80).collect();
    if s.is_empty() {
        "test".into()
    } else {
        s
    }
}

/// Runs one case in a fresh world.
pub fn run_case(s: &Suite, c: &Case, record: bool, keep_initial: bool) -> Result<Observed, String> {
    let config = ExecutionConfig {
        state_machine_name: s.machine_name.clone(),
        execution_name: exec_name(&c.name),
        execution_type: s.execution_type,
        seed: c.seed.unwrap_or(s.seed),
        ..Default::default()
    };
    let mut world = World::new(&config.region, &config.account);
    if let Some(f) = c.fixture.as_ref().or(s.fixture.as_ref()) {
        world.load_fixture(f).map_err(|e| format!("fixture: {e}"))?;
    }
    let dir = s.dir.canonicalize().unwrap_or_else(|_| s.dir.clone());
    for (name, cmd) in s.lambdas.iter().chain(&c.lambdas) {
        let command = format!("cd {} && {cmd}", shell_quote(&dir.display().to_string()));
        world.lambdas.insert(name.clone(), std::sync::Arc::new(LambdaFunction { command, env: Vec::new() }));
    }
    for (name, def, ty) in &s.machines {
        world.machines.insert(name.clone(), ChildMachine { definition: def.clone(), execution_type: *ty });
    }
    let test_case = c.mock_test_case.as_ref().or(s.mock_test_case.as_ref());
    match (&s.mock_config, test_case) {
        (Some(mc), Some(tc)) => world.mocks = Some(crate::mocks::MockConfig::load(mc, &s.machine_name, tc).map_err(|e| format!("mock_config: {e}"))?),
        (Some(_), None) => return Err("mock_config needs mock_test_case (in the file or the case)".into()),
        (None, Some(_)) => return Err("mock_test_case needs mock_config".into()),
        (None, None) => {}
    }
    let mut mocks = s.mocks.clone();
    mocks.extend(c.mocks.clone());
    if !mocks.is_empty() {
        let mut counters: HashMap<String, usize> = HashMap::new();
        world.interceptor = Some(Box::new(move |call| {
            let r = mocks.get(call.state_name)?;
            let n = counters.entry(call.state_name.to_string()).or_insert(0);
            let resp = match r {
                Value::Array(a) => a.get(*n).or(a.last()),
                other => Some(other),
            }?;
            *n += 1;
            Some(match (resp.get("Return"), resp.get("Throw")) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(t)) => Err(TaskError {
                    error: t.get("Error").and_then(Value::as_str).unwrap_or("Error").to_string(),
                    cause: t.get("Cause").and_then(Value::as_str).map(str::to_string),
                }),
                _ => Ok(Value::Null),
            })
        }));
    }
    let initial = keep_initial.then(|| {
        let (t, _, b) = world_view(&world);
        (t, b)
    });
    let mut clock = engine::VirtualClock { now: c.start.unwrap_or(s.start) };
    let mut callbacks = s.callbacks.clone();
    callbacks.extend(c.callbacks.clone());
    let mut answerer = callbacks::Scripted::new(callbacks);
    let outcome = engine::run_answering(&s.definition, c.input.clone(), &config, &mut world, &mut clock, record, &mut answerer);
    let (tables, keys, buckets) = world_view(&world);
    Ok(Observed { outcome, tables, keys, buckets, initial })
}

/// One failed expectation: a title line and an indented body.
#[derive(Debug)]
pub struct Failure {
    pub title: String,
    pub body: String,
}

fn bullet(ms: &[matching::Mismatch]) -> String {
    let mut s = String::new();
    for m in ms.iter().take(40) {
        s.push_str(&format!("  {m}\n"));
    }
    if ms.len() > 40 {
        s.push_str(&format!("  ... and {} more\n", ms.len() - 40));
    }
    s
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn key_text(item: &Value, keys: &[String]) -> String {
    keys.iter()
        .map(|k| {
            let v = item.get(k).and_then(|a| a.as_object()).and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null);
            format!("{k}={}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks what happened against what the case expects.
pub fn check(c: &Case, o: &Observed) -> Vec<Failure> {
    let mut f = Vec::new();
    let e = &c.expect;
    let out = &o.outcome;
    let status = out.status.as_str();
    if status != e.status() {
        let mut body = String::new();
        if let Some(err) = &out.end.error {
            body.push_str(&format!("  error: {err}\n"));
        }
        if let Some(cause) = &out.end.cause {
            body.push_str(&format!("  cause: {cause}\n"));
        }
        if let Some(v) = &out.end.output {
            body.push_str(&format!("  output: {}\n", matching::short(v)));
        }
        if let Some(last) = out.path.last() {
            body.push_str(&format!("  last state: {last}\n"));
        }
        f.push(Failure { title: format!("status: expected {}, found {status}", e.status()), body });
    }
    if let Some((want, mode)) = &e.output {
        match &out.end.output {
            None => f.push(Failure { title: format!("output: expected {}, but the execution ended {status} without output", matching::short(want)), body: String::new() }),
            Some(got) => {
                let ms = matching::mismatches(want, got, *mode);
                if !ms.is_empty() {
                    let mut body = bullet(&ms);
                    if *mode == Mode::Exact {
                        body.push_str("\n  - expected\n  + actual\n");
                        for l in matching::line_diff(&pretty(want), &pretty(got), 3, 80).lines() {
                            body.push_str(&format!("  {l}\n"));
                        }
                    } else {
                        body.push_str(&format!("  actual output: {}\n", matching::short(got)));
                    }
                    let what = if *mode == Mode::Exact { "output differs" } else { "output does not include what output_includes lists" };
                    f.push(Failure { title: what.into(), body });
                }
            }
        }
    }
    if let Some(want) = &e.error {
        if out.end.error.as_deref() != Some(want.as_str()) {
            f.push(Failure { title: format!("error: expected {want:?}, found {}", out.end.error.as_ref().map(|x| format!("{x:?}")).unwrap_or("none".into())), body: String::new() });
        }
    }
    if let Some((want, mode)) = &e.cause {
        let got = out.end.cause.as_deref().unwrap_or("");
        let ok = match mode {
            Mode::Exact => out.end.cause.as_deref() == Some(want.as_str()),
            Mode::Partial => got.contains(want.as_str()),
        };
        if !ok {
            let how = if *mode == Mode::Exact { "expected" } else { "expected a cause containing" };
            f.push(Failure { title: "cause differs".into(), body: format!("  {how}: {want:?}\n  found: {:?}\n", out.end.cause) });
        }
    }
    if let Some((want, mode)) = &e.path {
        match mode {
            Mode::Exact if want != &out.path => {
                let mut body = String::from("  - expected\n  + actual\n");
                for l in matching::line_diff(&want.join("\n"), &out.path.join("\n"), 2, 60).lines() {
                    body.push_str(&format!("  {l}\n"));
                }
                f.push(Failure { title: "path differs".into(), body });
            }
            Mode::Partial if !matching::is_subsequence(want, &out.path) => {
                f.push(Failure {
                    title: "path does not include the states of path_includes in this order".into(),
                    body: format!("  expected, in order: {}\n  actual path: {}\n", want.join(" → "), out.path.join(" → ")),
                });
            }
            _ => {}
        }
    }
    if let Some((want, mode)) = &e.tables {
        let mut body = String::new();
        for (table, items) in want {
            let Some(actual) = o.tables.get(table).and_then(Value::as_array) else {
                body.push_str(&format!("  table {table}: does not exist\n"));
                continue;
            };
            let keys = o.keys.get(table).cloned().unwrap_or_default();
            let mut matched = vec![false; actual.len()];
            for (i, want_item) in items.as_array().into_iter().flatten().enumerate() {
                if keys.iter().any(|k| want_item.get(k).is_none()) {
                    body.push_str(&format!("  table {table}, item {i}: lacks key attribute(s) {}\n", keys.join(", ")));
                    continue;
                }
                let wk = key_text(want_item, &keys);
                match actual.iter().position(|a| key_text(a, &keys) == wk) {
                    None => body.push_str(&format!("  table {table}: missing item {wk} (expected {})\n", matching::short(want_item))),
                    Some(j) => {
                        matched[j] = true;
                        let ms = matching::mismatches(want_item, &actual[j], *mode);
                        for m in ms {
                            body.push_str(&format!("  table {table}, item {wk}: {m}\n"));
                        }
                    }
                }
            }
            if *mode == Mode::Exact {
                for (j, a) in actual.iter().enumerate() {
                    if !matched[j] {
                        body.push_str(&format!("  table {table}: unexpected item {} ({})\n", key_text(a, &keys), matching::short(a)));
                    }
                }
            }
        }
        if !body.is_empty() {
            let what = if *mode == Mode::Exact { "tables differ" } else { "tables do not include what tables_includes lists" };
            f.push(Failure { title: what.into(), body });
        }
    }
    if let Some((want, mode)) = &e.buckets {
        let mut body = String::new();
        for (bucket, objects) in want {
            let Some(actual) = o.buckets.get(bucket).and_then(Value::as_object) else {
                body.push_str(&format!("  bucket {bucket}: does not exist\n"));
                continue;
            };
            let want_objs = objects.as_object().cloned().unwrap_or_default();
            for (key, want_body) in &want_objs {
                match (actual.get(key), want_body) {
                    (None, Value::Null) => {}
                    (None, _) => body.push_str(&format!("  bucket {bucket}: missing object {key}\n")),
                    (Some(_), Value::Null) => body.push_str(&format!("  bucket {bucket}: object {key} should not exist\n")),
                    (Some(got), w) => {
                        // A structured expected body compares with the body parsed as JSON.
                        let got = match (w, got) {
                            (Value::Object(_) | Value::Array(_), Value::String(s)) if w.get("$base64").is_none() && matching_is_data(w) => {
                                serde_json::from_str(s).unwrap_or(got.clone())
                            }
                            _ => got.clone(),
                        };
                        for m in matching::mismatches(w, &got, Mode::Exact) {
                            body.push_str(&format!("  bucket {bucket}, object {key}: {m}\n"));
                        }
                    }
                }
            }
            if *mode == Mode::Exact {
                for key in actual.keys() {
                    if !want_objs.contains_key(key) {
                        body.push_str(&format!("  bucket {bucket}: unexpected object {key}\n"));
                    }
                }
            }
        }
        if !body.is_empty() {
            let what = if *mode == Mode::Exact { "buckets differ" } else { "buckets do not include what buckets_includes lists" };
            f.push(Failure { title: what.into(), body });
        }
    }
    f
}

/// True when `v` is a document rather than a single matcher.
fn matching_is_data(v: &Value) -> bool {
    !matches!(v, Value::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k.starts_with('$')))
}

/// The keys `--update` writes for a case (see docs/testing.md).
pub fn snapshot(c: &Case, node: Option<&asl_core::tree::Node>, o: &Observed) -> Vec<(String, Option<Value>)> {
    let has = |k: &str| node.is_some_and(|n| n.get(k).is_some());
    let e = &c.expect;
    let out = &o.outcome;
    let mut keys: Vec<(String, Option<Value>)> = Vec::new();
    let succeeded = out.status == Status::Succeeded;
    let writes_error = !succeeded && (out.end.error.is_some() || out.end.cause.is_some());
    let inferred = if writes_error || has("error") || has("cause_includes") { "FAILED" } else { "SUCCEEDED" };
    if has("status") {
        if e.status.as_deref() != Some(out.status.as_str()) {
            keys.push(("status".into(), Some(json!(out.status.as_str()))));
        }
    } else if out.status.as_str() != inferred {
        keys.push(("status".into(), Some(json!(out.status.as_str()))));
    }
    if succeeded {
        if !has("output_includes") {
            let same = matches!((&e.output, &out.end.output), (Some((w, Mode::Exact)), Some(g)) if matching::mismatches(w, g, Mode::Exact).is_empty());
            if !same {
                keys.push(("output".into(), Some(out.end.output.clone().unwrap_or(Value::Null))));
            }
        }
        for k in ["error", "cause"] {
            if has(k) {
                keys.push((k.into(), None));
            }
        }
    } else {
        if has("output") {
            keys.push(("output".into(), None));
        }
        match &out.end.error {
            Some(err) if e.error.as_deref() != Some(err.as_str()) => keys.push(("error".into(), Some(json!(err)))),
            None if has("error") => keys.push(("error".into(), None)),
            _ => {}
        }
        if !has("cause_includes") {
            match &out.end.cause {
                Some(cause) if !matches!(&e.cause, Some((w, Mode::Exact)) if w == cause) => keys.push(("cause".into(), Some(json!(cause)))),
                None if has("cause") => keys.push(("cause".into(), None)),
                _ => {}
            }
        }
    }
    if !has("path_includes") && !matches!(&e.path, Some((w, Mode::Exact)) if w == &out.path) {
        keys.push(("path".into(), Some(json!(out.path))));
    }
    // Tables and buckets: the listed ones when the case lists them, else
    // those the execution changed.
    for (key, partial, want, observed, initial) in [
        ("tables", "tables_includes", &e.tables, &o.tables, o.initial.as_ref().map(|i| &i.0)),
        ("buckets", "buckets_includes", &e.buckets, &o.buckets, o.initial.as_ref().map(|i| &i.1)),
    ] {
        if has(partial) {
            continue;
        }
        let snap: Map<String, Value> = match want {
            Some((listed, _)) => observed.iter().filter(|(k, _)| listed.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            None => observed.iter().filter(|(k, v)| initial.and_then(|i| i.get(*k)) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let same_as_written = want.as_ref().is_some_and(|(w, m)| {
            let mut probe = format::Expect::default();
            if key == "tables" {
                probe.tables = Some((w.clone(), Mode::Exact));
            } else {
                probe.buckets = Some((w.clone(), Mode::Exact));
            }
            *m == Mode::Exact && check(&Case { expect: probe, ..Default::default() }, o).iter().all(|f| !f.title.starts_with(key))
        });
        if !same_as_written && (want.is_some() || !snap.is_empty()) {
            keys.push((key.into(), Some(Value::Object(snap))));
        }
    }
    keys
}

enum Result1 {
    Ok,
    Failed(Vec<Failure>),
    Ignored,
}

struct CaseResult {
    suite: usize,
    case: usize,
    result: Result1,
    observed: Option<Observed>,
    time: Duration,
}

fn safe_file_name(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect();
    s.trim_matches('.').chars().take(120).collect()
}


fn failure_text(fs: &[Failure]) -> String {
    let mut s = String::new();
    for f in fs {
        s.push_str(&f.title);
        s.push('\n');
        s.push_str(&f.body);
    }
    s
}

pub fn main(args: TestArgs) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run(args, &mut out)
}

/// `asl-sim test` writing its report to `out`; returns the exit code.
/// The verdicts counted so far, as cargo test reports them at the end.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    ignored: usize,
    failed_names: Vec<String>,
}

impl Tally {
    /// Counts one case's result; the word cargo test prints for it.
    fn count(&mut self, result: &Result1, name: &str) -> &'static str {
        match result {
            Result1::Ok => {
                self.passed += 1;
                "ok"
            }
            Result1::Failed(_) => {
                self.failed += 1;
                self.failed_names.push(name.to_string());
                "FAILED"
            }
            Result1::Ignored => {
                self.ignored += 1;
                "ignored"
            }
        }
    }
}

pub fn run(args: TestArgs, out: &mut dyn Write) -> i32 {
    let started = Instant::now();
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if files.is_empty() {
        let wh: Vec<String> = if args.paths.is_empty() { vec![".".into()] } else { args.paths.iter().map(|p| p.display().to_string()).collect() };
        eprintln!("error: no *.test.yaml files under {}", wh.join(", "));
        return 2;
    }
    let mut suites: Vec<Suite> = Vec::new();
    let mut load_errors: Vec<(PathBuf, String)> = Vec::new();
    for f in &files {
        match format::load(f) {
            Ok(s) => suites.push(s),
            Err(e) => load_errors.push((f.clone(), e)),
        }
    }
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    let mut filtered_out = 0usize;
    for (si, s) in suites.iter().enumerate() {
        for (ci, c) in s.cases.iter().enumerate() {
            let full = format!("{}::{}", s.file.display(), c.name);
            if args.filter.as_ref().is_some_and(|t| !full.contains(t.as_str())) {
                filtered_out += 1;
            } else {
                jobs.push((si, ci));
            }
        }
    }
    let record = args.report.is_some();
    let update = args.update;
    let keep = update || record;
    let workers = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)).max(1).min(jobs.len().max(1));
    let total = jobs.len() + load_errors.len();
    let _ = writeln!(out, "\nrunning {total} test{}", if total == 1 { "" } else { "s" });
    let mut results: Vec<Option<CaseResult>> = (0..jobs.len()).map(|_| None).collect();
    let mut tally = Tally::default();
    for (f, _) in &load_errors {
        let _ = writeln!(out, "test {} ... FAILED", f.display());
        tally.failed += 1;
        tally.failed_names.push(f.display().to_string());
    }
    {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, CaseResult)>();
        let suites_ref = &suites;
        let jobs_ref = &jobs;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let next = &next;
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(si, ci)) = jobs_ref.get(i) else { break };
                    let s = &suites_ref[si];
                    let c = &s.cases[ci];
                    let t0 = Instant::now();
                    let (result, observed) = if c.skip.is_some() {
                        (Result1::Ignored, None)
                    } else {
                        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(s, c, record, update)));
                        match run {
                            Ok(Ok(o)) => {
                                let fails = check(c, &o);
                                let r = if fails.is_empty() { Result1::Ok } else { Result1::Failed(fails) };
                                (r, if keep { Some(o) } else { None })
                            }
                            Ok(Err(e)) => (Result1::Failed(vec![Failure { title: format!("could not run the case: {e}"), body: String::new() }]), None),
                            Err(_) => (Result1::Failed(vec![Failure { title: "the case panicked (a bug in asl-sim)".into(), body: String::new() }]), None),
                        }
                    };
                    if tx.send((i, CaseResult { suite: si, case: ci, result, observed, time: t0.elapsed() })).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            // Print in file order as results arrive.
            let mut printed = 0;
            for (i, r) in rx {
                results[i] = Some(r);
                // In snapshot mode the verdicts come after the files are rewritten.
                while !update && printed < results.len() {
                    let Some(r) = &results[printed] else { break };
                    let s = &suites[r.suite];
                    let name = format!("{}::{}", s.file.display(), s.cases[r.case].name);
                    let word = tally.count(&r.result, &name);
                    let _ = writeln!(out, "test {name} ... {word}");
                    printed += 1;
                }
            }
        });
    }
    let results: Vec<CaseResult> = results.into_iter().flatten().collect();

    // Snapshot mode: rewrite the files, then check against what they now say.
    let mut results = results;
    if args.update {
        let mut updated_cases = 0;
        let mut updated: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
        for (si, s) in suites.iter().enumerate() {
            let case_nodes = s.root.get("cases");
            let mut ups = Vec::new();
            for r in results.iter().filter(|r| r.suite == si) {
                let Some(o) = &r.observed else { continue };
                let c = &s.cases[r.case];
                let keys = snapshot(c, case_nodes.and_then(|n| n.get(&c.name)), o);
                if !keys.is_empty() {
                    updated.insert((si, r.case));
                    ups.push(update::CaseUpdate { case: c.name.clone(), keys });
                }
            }
            if ups.is_empty() {
                continue;
            }
            match update::apply(&s.text, &s.root, &ups).and_then(|t| std::fs::write(&s.file, t).map_err(|e| e.to_string())) {
                Ok(()) => {
                    updated_cases += ups.len();
                    eprintln!("updated {} case{} in {}", ups.len(), if ups.len() == 1 { "" } else { "s" }, s.file.display());
                    match format::load(&s.file) {
                        Ok(new) => {
                            for r in results.iter_mut().filter(|r| r.suite == si) {
                                if let Some(o) = &r.observed {
                                    let fails = check(&new.cases[r.case], o);
                                    r.result = if fails.is_empty() { Result1::Ok } else { Result1::Failed(fails) };
                                }
                            }
                        }
                        Err(e) => eprintln!("error: {} no longer loads after the update: {e}", s.file.display()),
                    }
                }
                Err(e) => eprintln!("error: cannot update {}: {e}", s.file.display()),
            }
        }
        let _ = updated_cases;
        for r in &results {
            let s = &suites[r.suite];
            let name = format!("{}::{}", s.file.display(), s.cases[r.case].name);
            let word = match tally.count(&r.result, &name) {
                "ok" if updated.contains(&(r.suite, r.case)) => "ok (updated)",
                word => word,
            };
            let _ = writeln!(out, "test {name} ... {word}");
        }
    }

    if let Some(dir) = &args.report {
        if let Err(e) = write_reports(dir, &suites, &results) {
            eprintln!("error: cannot write the reports to {}: {e}", dir.display());
        }
    }

    let Tally { passed, failed, ignored, failed_names } = tally;
    let any_failed = failed > 0;
    if any_failed {
        let _ = writeln!(out, "\nfailures:\n");
        for (f, e) in &load_errors {
            let _ = writeln!(out, "---- {} ----\ncould not load the test file:\n{e}\n", f.display());
        }
        for r in &results {
            if let Result1::Failed(fs) = &r.result {
                let s = &suites[r.suite];
                let _ = writeln!(out, "---- {}::{} ----\n{}", s.file.display(), s.cases[r.case].name, failure_text(fs));
            }
        }
        let _ = writeln!(out, "failures:");
        for n in &failed_names {
            let _ = writeln!(out, "    {n}");
        }
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        out,
        "\ntest result: {}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; {filtered_out} filtered out; finished in {:.2}s\n",
        if any_failed { "FAILED" } else { "ok" },
        elapsed.as_secs_f64()
    );
    let _ = out.flush();
    if let Some(j) = &args.junit {
        let xml = junit(&suites, &results, &load_errors, elapsed);
        if let Err(e) = std::fs::write(j, xml) {
            eprintln!("error: cannot write {}: {e}", j.display());
            return 2;
        }
    }
    i32::from(any_failed)
}

fn junit(suites: &[Suite], results: &[CaseResult], load_errors: &[(PathBuf, String)], elapsed: Duration) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = results.len() + load_errors.len();
    let failures = results.iter().filter(|r| matches!(r.result, Result1::Failed(_))).count() + load_errors.len();
    let skipped = results.iter().filter(|r| matches!(r.result, Result1::Ignored)).count();
    x.push_str(&format!(
        "<testsuites name=\"asl-sim test\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">\n",
        elapsed.as_secs_f64()
    ));
    for (f, e) in load_errors {
        let name = asl_aws::xml::escape(&f.display().to_string());
        x.push_str(&format!("  <testsuite name=\"{name}\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\">\n"));
        x.push_str(&format!("    <testcase classname=\"{name}\" name=\"(load)\"><failure message=\"could not load the test file\">{}</failure></testcase>\n  </testsuite>\n", asl_aws::xml::escape(e)));
    }
    for (si, s) in suites.iter().enumerate() {
        let rs: Vec<&CaseResult> = results.iter().filter(|r| r.suite == si).collect();
        if rs.is_empty() {
            continue;
        }
        let name = asl_aws::xml::escape(&s.file.display().to_string());
        let fails = rs.iter().filter(|r| matches!(r.result, Result1::Failed(_))).count();
        let skips = rs.iter().filter(|r| matches!(r.result, Result1::Ignored)).count();
        let time: f64 = rs.iter().map(|r| r.time.as_secs_f64()).sum();
        x.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{fails}\" errors=\"0\" skipped=\"{skips}\" time=\"{time:.3}\">\n",
            rs.len()
        ));
        for r in rs {
            let c = &s.cases[r.case];
            x.push_str(&format!("    <testcase classname=\"{name}\" name=\"{}\" time=\"{:.3}\"", asl_aws::xml::escape(&c.name), r.time.as_secs_f64()));
            match &r.result {
                Result1::Ok => x.push_str("/>\n"),
                Result1::Ignored => x.push_str(&format!("><skipped message=\"{}\"/></testcase>\n", asl_aws::xml::escape(c.skip.as_deref().unwrap_or("")))),
                Result1::Failed(fs) => {
                    let msg = fs.first().map(|f| f.title.as_str()).unwrap_or("failed");
                    x.push_str(&format!("><failure message=\"{}\">{}</failure></testcase>\n", asl_aws::xml::escape(msg), asl_aws::xml::escape(&failure_text(fs))));
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn write_reports(dir: &Path, suites: &[Suite], results: &[CaseResult]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut index = String::new();
    for r in results {
        let Some(o) = &r.observed else { continue };
        let s = &suites[r.suite];
        let c = &s.cases[r.case];
        let sub = safe_file_name(&s.file.display().to_string());
        let d = dir.join(&sub);
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        let file = format!("{}.html", safe_file_name(&c.name));
        let (verdict, details) = match &r.result {
            Result1::Ok => ("passed".to_string(), String::new()),
            Result1::Failed(fs) => ("FAILED".to_string(), failure_text(fs)),
            Result1::Ignored => ("ignored".to_string(), String::new()),
        };
        let title = format!("{}::{}", s.file.display(), c.name);
        let page = crate::report::Page { title: &title, test_verdict: Some((&verdict, &details)), input: Some(&c.input) };
        crate::report::write_page(&s.definition, &s.def_text, &o.outcome, &d.join(&file), &page)?;
        index.push_str(&format!(
            "<tr class=\"{}\"><td><a href=\"{}/{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
            if verdict == "passed" { "ok" } else { "bad" },
            crate::report::html_escape(&sub),
            crate::report::html_escape(&file),
            crate::report::html_escape(&title),
            verdict,
            o.outcome.status.as_str()
        ));
    }
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>asl-sim test report</title><style>body{{font:14px system-ui,sans-serif;margin:2em}}td{{padding:4px 12px;border-bottom:1px solid #ddd}}tr.bad td{{color:#b00020}}a{{color:#0b57d0}}</style></head><body><h1>asl-sim test report</h1><table><tr><th>case</th><th>result</th><th>execution</th></tr>\n{index}</table></body></html>\n"
    );
    std::fs::write(dir.join("index.html"), html).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(paths: Vec<PathBuf>) -> TestArgs {
        TestArgs { paths, junit: None, update: false, report: None, jobs: Some(2), filter: None }
    }

    /// The file manager's suites (tests/workflows) pass: `cargo test` runs them in CI.
    #[test]
    fn the_file_manager_suites_pass() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workflows");
        let mut buf = Vec::new();
        let code = run(args(vec![dir]), &mut buf);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("test result: ok."), "{text}");
    }

    #[test]
    fn a_failing_suite_exits_1_with_a_diff_and_junit() {
        let dir = std::env::temp_dir().join(format!("asl-sim-failing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("m.asl.json"),
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"a":1,"b.$":"$.x"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.b","NumericGreaterThan":10,"Next":"Big"}],"Default":"Small"},"Big":{"Type":"Fail","Error":"TooBig","Cause":"b > 10"},"Small":{"Type":"Succeed"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("m.test.yaml"),
            "definition: m.asl.json
cases:
  small:
    input: {x: 1}
    output: {a: 1, b: 1}
    path: [P, C, Small]
  big:
    input: {x: 11}
    error: TooBig
  wrong:
    input: {x: 2}
    output: {a: 1, b: 3}
  partial:
    input: {x: 2}
    output_includes: {b: 2}
    path_includes: [P, Small]
  filtered: {input: {x: 50}, error: TooBig, cause: b > 10}
",
        )
        .unwrap();
        let mut buf = Vec::new();
        let code = run(TestArgs { junit: Some(dir.join("junit.xml")), ..args(vec![dir.clone()]) }, &mut buf);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("m.test.yaml::small ... ok"), "{text}");
        assert!(text.contains("m.test.yaml::wrong ... FAILED"), "{text}");
        assert!(text.contains("at $.b: expected 3, found 2"), "{text}");
        assert!(text.contains("  -    \"b\": 3\n  +    \"b\": 2\n"), "{text}");
        assert!(text.contains("test result: FAILED. 4 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in "), "{text}");
        let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
        assert!(junit.contains("<testcase classname=") && junit.contains("failures=\"1\""), "{junit}");
        // --filter leaves the others out and the run passes.
        let mut buf = Vec::new();
        let code = run(TestArgs { filter: Some("::small".into()), ..args(vec![dir.clone()]) }, &mut buf);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out"), "{text}");
        // --update records what happened; the rerun passes and keeps the rest of the file.
        let mut buf = Vec::new();
        assert_eq!(run(TestArgs { update: true, ..args(vec![dir.clone()]) }, &mut buf), 0, "{}", String::from_utf8_lossy(&buf));
        let updated = std::fs::read_to_string(dir.join("m.test.yaml")).unwrap();
        assert!(updated.contains("  wrong:\n    input: {x: 2}\n    output: {a: 1, b: 2}\n    path: [P, C, Small]\n"), "{updated}");
        assert!(updated.contains("    output_includes: {b: 2}\n    path_includes: [P, Small]\n"), "{updated}");
        let mut buf = Vec::new();
        assert_eq!(run(args(vec![dir.clone()]), &mut buf), 0);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn discovery_finds_test_files_and_skips_hidden_and_target() {
        let root = std::env::temp_dir().join(format!("asl-sim-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["a/b", ".hidden", "target", "workflows"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in ["a/x.test.yaml", "a/b/y.test.yml", ".hidden/z.test.yaml", "target/t.test.yaml", "workflows/w.asl.yaml", "workflows/w.test.yaml", "a/notes.yaml"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let found = discover(std::slice::from_ref(&root)).unwrap();
        let rel: Vec<String> = found.iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect();
        assert_eq!(rel, vec!["a/b/y.test.yml", "a/x.test.yaml", "workflows/w.test.yaml"]);
        // A file named directly is taken whatever its name; duplicates collapse.
        let found = discover(&[root.join("a/notes.yaml"), root.join("a"), root.join("a/x.test.yaml")]).unwrap();
        assert_eq!(found.len(), 3);
        assert!(discover(&[root.join("missing")]).is_err());
        std::fs::remove_dir_all(&root).ok();
    }
}
