//! The Step Functions pages: state machines, executions (paged, filtered), one execution
//! (graph with the path taken and the state running now, each state's visits, the
//! history), the waiting tasks, and the actions (start, stop, redrive, answer a task).

use super::html::{self, api_error, duration, esc, href, json_pre, link, page, status_badge, time, Tab};
use super::{see_other, sfn_call, Params, PREFIX};
use crate::exec::Record;
use crate::http::Resp;
use crate::{Machine, State};
use asl_viz::graph::{model, svg};
use asl_viz::report;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

/// Executions per page of the list; history events per page of an execution.
pub const PAGE: usize = 50;
const HISTORY_PAGE: usize = 500;
/// State visits listed on an execution's page (a Map over 10,000 items enters its states
/// 10,000 times; the history pages through all of them).
pub const VISITS_SHOWN: usize = 500;
/// How often a live page polls, in ms (app.js reads it from `data-poll`).
const POLL_MS: u32 = 1500;
const STATUSES: [&str; 6] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];

fn poll_marker() -> String {
    format!("<div id=\"poll\" data-poll=\"{POLL_MS}\" hidden></div>")
}

fn machine_type(m: &Machine) -> &'static str {
    if m.express {
        "EXPRESS"
    } else {
        "STANDARD"
    }
}

fn machine_name_of(machine_arn: &str) -> &str {
    machine_arn.rsplit(':').next().unwrap_or(machine_arn)
}

/// An execution's list row: what the tables show, without its input or history.
pub struct Row {
    pub arn: String,
    pub name: String,
    pub machine_arn: String,
    pub status: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
}

/// One page of executions, newest first, and how many matched. The records are scanned
/// once under their lock and only the page is copied, so a page costs the same with
/// 10,000 executions recorded as with 10 (plus a sort of references).
pub fn execution_page(state: &State, status: Option<&str>, machine_arn: Option<&str>, page_no: usize) -> (Vec<Row>, usize, BTreeMap<String, usize>) {
    let recs = state.executions.records.lock().unwrap_or_else(|e| e.into_inner());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut matched: Vec<&Record> = Vec::new();
    for r in recs.values() {
        if machine_arn.is_some_and(|m| r.machine_arn != m) {
            continue;
        }
        *counts.entry(r.status.as_str()).or_default() += 1;
        if status.is_none_or(|s| r.status == s) {
            matched.push(r);
        }
    }
    let total = matched.len();
    matched.sort_unstable_by(|a, b| b.start_ms.cmp(&a.start_ms).then_with(|| a.arn.cmp(&b.arn)));
    let rows = matched
        .iter()
        .skip(page_no.saturating_sub(1) * PAGE)
        .take(PAGE)
        .map(|r| Row { arn: r.arn.clone(), name: r.name.clone(), machine_arn: r.machine_arn.clone(), status: r.status.clone(), start_ms: r.start_ms, stop_ms: r.stop_ms })
        .collect();
    let counts = counts.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    (rows, total, counts)
}

fn executions_table(rows: &[Row], with_machine: bool) -> String {
    let now = crate::wall_millis();
    let mut t = String::from("<table class=\"list\" id=\"executions-table\"><thead><tr><th>Name</th>");
    if with_machine {
        t.push_str("<th>State machine</th>");
    }
    t.push_str("<th>Status</th><th>Started (UTC)</th><th>Ended (UTC)</th><th>Duration</th></tr></thead><tbody>");
    for r in rows {
        let _ = write!(t, "<tr data-execution=\"{}\"><td>{}</td>", esc(&r.arn), link("execution", &[("arn", &r.arn)], &r.name));
        if with_machine {
            let m = r.machine_arn.as_str();
            let _ = write!(t, "<td>{}</td>", link("machine", &[("arn", m)], machine_name_of(m)));
        }
        let _ = write!(
            t,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            status_badge(&r.status),
            time(r.start_ms),
            r.stop_ms.map(time).unwrap_or_else(|| "—".into()),
            duration(r.stop_ms.unwrap_or(now) - r.start_ms)
        );
    }
    if rows.is_empty() {
        let _ = write!(t, "<tr><td colspan=\"{}\" class=\"empty\">No executions.</td></tr>", if with_machine { 6 } else { 5 });
    }
    t.push_str("</tbody></table>");
    t
}

// ------------------------------------------------------------------ pages

pub fn home(state: &Arc<State>) -> Resp {
    let machines = state.machines.all();
    // Per machine: (running, total, latest start).
    let mut stats: BTreeMap<String, (usize, usize, i64)> = BTreeMap::new();
    let mut running = 0;
    {
        let recs = state.executions.records.lock().unwrap_or_else(|e| e.into_inner());
        for r in recs.values() {
            let s = stats.entry(r.machine_arn.clone()).or_insert((0, 0, i64::MIN));
            s.1 += 1;
            s.2 = s.2.max(r.start_ms);
            if r.status == "RUNNING" {
                s.0 += 1;
                running += 1;
            }
        }
    }
    let tasks = state.executions.waiting_tasks().len();
    let mut b = String::new();
    let _ = write!(
        b,
        "<section id=\"overview\" data-live><p class=\"summary\"><span id=\"running-count\">{running}</span> running · {} <a href=\"{PREFIX}/tasks\">waiting task{}</a> · AWS endpoint <code>http://{}</code></p>",
        tasks,
        if tasks == 1 { "" } else { "s" },
        esc(&state.aws_addr.to_string())
    );
    b.push_str("<table class=\"list\" id=\"machines\"><thead><tr><th>Name</th><th>Type</th><th>Created (UTC)</th><th>Running</th><th>Executions</th><th>Last started (UTC)</th></tr></thead><tbody>");
    for m in &machines {
        let (run, total, last) = stats.get(&m.arn).copied().unwrap_or((0, 0, i64::MIN));
        let _ = write!(
            b,
            "<tr data-machine=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{run}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.name),
            link("machine", &[("arn", &m.arn)], &m.name),
            machine_type(m),
            time(m.created_ms),
            if total > 0 { link("executions", &[("machine", &m.arn)], &total.to_string()) } else { "0".into() },
            if last == i64::MIN { "—".into() } else { time(last) }
        );
    }
    if machines.is_empty() {
        b.push_str("<tr><td colspan=\"6\" class=\"empty\">No state machines: the template has none and none was created through the API.</td></tr>");
    }
    b.push_str("</tbody></table></section>");
    b.push_str(&poll_marker());
    page(Tab::Machines, "State machines", &b)
}

fn lookup_machine(state: &State, arn: &str) -> Option<Arc<Machine>> {
    if arn.is_empty() {
        return None;
    }
    state.machine_by_arn(arn)
}

fn graph_svg(m: &Machine, hl: Option<&svg::Highlight>) -> String {
    svg::render(&model::build(&m.definition), hl)
}

/// `target`: the ARN the execution is started through (the machine, a version or an alias).
fn start_form(m: &Machine, target: &str, input: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{PREFIX}/start\" class=\"card\" id=\"start-form\"><h2>Start execution</h2>\
<input type=\"hidden\" name=\"machine\" value=\"{arn}\">\
<label>Name (optional) <input name=\"name\" maxlength=\"80\" placeholder=\"a UUID when empty\"></label>\
<label>Input (JSON) <textarea name=\"input\" rows=\"6\" spellcheck=\"false\">{input}</textarea></label>\
<button type=\"submit\" id=\"start-button\">Start execution of {name}</button></form>",
        arn = esc(target),
        input = esc(input),
        name = esc(target.strip_prefix(&m.arn).map(|q| format!("{}{q}", m.name)).as_deref().unwrap_or(&m.name))
    )
}

pub fn machine(state: &Arc<State>, p: &Params) -> Resp {
    let arn = p.get("arn").unwrap_or("");
    let Some(m) = lookup_machine(state, arn) else {
        return html::error_page(404, "StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{arn}'"));
    };
    let mut b = String::new();
    let _ = write!(
        b,
        "<table class=\"facts\"><tr><th>ARN</th><td><code>{}</code></td></tr><tr><th>Type</th><td>{}</td></tr><tr><th>Created (UTC)</th><td>{}</td></tr></table>",
        esc(&m.arn),
        machine_type(&m),
        time(m.created_ms)
    );
    b.push_str(&start_form(&m, arn, "{}"));
    let _ = write!(b, "<section class=\"card\"><h2>Graph</h2><div class=\"graph\" id=\"graph\">{}</div></section>", graph_svg(&m, None));
    // Versions and aliases through the API itself (its paging and shapes).
    let versions = sfn_call(state, "ListStateMachineVersions", json!({"stateMachineArn": m.arn, "maxResults": 1000}));
    let aliases = sfn_call(state, "ListStateMachineAliases", json!({"stateMachineArn": m.arn, "maxResults": 100}));
    b.push_str("<section class=\"card\"><h2>Versions</h2>");
    api_table(
        &mut b,
        versions,
        "stateMachineVersions",
        "No published version (PublishStateMachineVersion publishes one).",
        "<table class=\"list\" id=\"versions\"><thead><tr><th>Version ARN</th><th>Created (UTC)</th></tr></thead><tbody>",
        |x| {
            let a = x["stateMachineVersionArn"].as_str().unwrap_or("");
            let created = x["creationDate"].as_f64().map(|s| time((s * 1000.0) as i64)).unwrap_or_default();
            format!("<tr><td>{}</td><td>{created}</td></tr>", link("machine", &[("arn", a)], a))
        },
    );
    b.push_str("</section><section class=\"card\"><h2>Aliases</h2>");
    api_table(
        &mut b,
        aliases,
        "stateMachineAliases",
        "No alias.",
        "<table class=\"list\" id=\"aliases\"><thead><tr><th>Alias</th><th>Routing</th></tr></thead><tbody>",
        |x| {
            let a = x["stateMachineAliasArn"].as_str().unwrap_or("");
            let routing = match sfn_call(state, "DescribeStateMachineAlias", json!({"stateMachineAliasArn": a})) {
                Ok(d) => d["routingConfiguration"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .map(|e| format!("{} → {}%", esc(e["stateMachineVersionArn"].as_str().unwrap_or("").rsplit(':').next().unwrap_or("")), e["weight"]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                Err((c, msg)) => format!("{}: {}", esc(&c), esc(&msg)),
            };
            format!("<tr><td>{}</td><td>version {routing}</td></tr>", link("machine", &[("arn", a)], a.rsplit(':').next().unwrap_or(a)))
        },
    );
    b.push_str("</section>");
    let (rows, total, _) = execution_page(state, None, Some(&m.arn), 1);
    let _ = write!(
        b,
        "<section class=\"card\" id=\"recent\" data-live><h2>Recent executions ({total})</h2>{}<p>{}</p></section>",
        executions_table(&rows[..rows.len().min(10)], false),
        link("executions", &[("machine", &m.arn)], "All executions of this state machine")
    );
    let _ = write!(b, "<section class=\"card\"><h2>Definition</h2><pre class=\"definition\" id=\"definition\">{}</pre></section>", esc(&m.text));
    b.push_str(&poll_marker());
    page(Tab::Machines, &m.name, &b)
}

/// A table of the list in member `member` of an API answer: `head` (the table up to its
/// `<tbody>`), one `row` per entry; `empty` when the list is empty, the error when the call failed.
fn api_table(b: &mut String, answer: Result<Value, (String, String)>, member: &str, empty: &str, head: &str, row: impl Fn(&Value) -> String) {
    match answer {
        Ok(v) => {
            let list = v[member].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                let _ = write!(b, "<p class=\"empty\">{empty}</p>");
            } else {
                b.push_str(head);
                for x in &list {
                    b.push_str(&row(x));
                }
                b.push_str("</tbody></table>");
            }
        }
        Err((c, msg)) => {
            let _ = write!(b, "<p class=\"error\">{}: {}</p>", esc(&c), esc(&msg));
        }
    }
}

pub fn executions(state: &Arc<State>, p: &Params) -> Resp {
    let status = p.non_empty("status").filter(|s| STATUSES.contains(s));
    let machine = p.non_empty("machine");
    let page_no = p.get("page").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1).unwrap_or(1);
    let (rows, total, counts) = execution_page(state, status, machine, page_no);
    let mut b = String::new();
    // Filters: a plain GET form (works without JavaScript) and one link per status.
    let machines = state.machines.all();
    b.push_str("<form method=\"get\" class=\"filters\" id=\"filters\"><label>State machine <select name=\"machine\"><option value=\"\">all</option>");
    for m in &machines {
        let _ = write!(b, "<option value=\"{a}\"{}>{}</option>", if Some(m.arn.as_str()) == machine { " selected" } else { "" }, esc(&m.name), a = esc(&m.arn));
    }
    b.push_str("</select></label><label>Status <select name=\"status\"><option value=\"\">all</option>");
    for s in STATUSES {
        let _ = write!(b, "<option{}>{s}</option>", if Some(s) == status { " selected" } else { "" });
    }
    b.push_str("</select></label><button type=\"submit\">Filter</button></form>");
    b.push_str("<section id=\"execution-list\" data-live><p class=\"chips\">");
    let all: usize = counts.values().sum();
    let m = machine.unwrap_or("");
    let _ = write!(b, "<a href=\"{}\"{}>all {all}</a>", href("executions", &[("machine", m)]), if status.is_none() { " class=\"on\"" } else { "" });
    for s in STATUSES {
        let n = counts.get(s).copied().unwrap_or(0);
        let _ = write!(b, " <a href=\"{}\"{}>{} {n}</a>", href("executions", &[("machine", m), ("status", s)]), if Some(s) == status { " class=\"on\"" } else { "" }, s.to_ascii_lowercase().replace('_', " "));
    }
    b.push_str("</p>");
    b.push_str(&executions_table(&rows, true));
    let pages = total.div_ceil(PAGE).max(1);
    let st = status.unwrap_or("");
    let _ = write!(b, "<p class=\"pager\" id=\"pager\">{total} execution{} · page {page_no} of {pages}", if total == 1 { "" } else { "s" });
    if page_no > 1 {
        let prev = (page_no - 1).to_string();
        let _ = write!(b, " · {}", link("executions", &[("machine", m), ("status", st), ("page", &prev)], "← newer"));
    }
    if page_no < pages {
        let next = (page_no + 1).to_string();
        let _ = write!(b, " · <a rel=\"next\" href=\"{}\">older →</a>", href("executions", &[("machine", m), ("status", st), ("page", &next)]));
    }
    b.push_str("</p></section>");
    // Only the first page follows new executions: later pages would shift under the reader.
    if page_no == 1 {
        b.push_str(&poll_marker());
    }
    page(Tab::Executions, "Executions", &b)
}

/// Which machine an execution ran: the version it was started through if any, else the machine now.
fn machine_of(state: &Arc<State>, r: &Record) -> Option<Arc<Machine>> {
    if !r.express {
        if let Ok(v) = sfn_call(state, "DescribeStateMachineForExecution", json!({"executionArn": r.arn})) {
            if let Some(version) = v["stateMachineVersionArn"].as_str() {
                if let Some(m) = state.machine_by_arn(version) {
                    return Some(m);
                }
            }
        }
    }
    state.machine_by_arn(&r.machine_arn)
}

fn engine_status(s: &str) -> asl_core::engine::Status {
    use asl_core::engine::Status;
    match s {
        "SUCCEEDED" => Status::Succeeded,
        "TIMED_OUT" => Status::TimedOut,
        "ABORTED" => Status::Aborted,
        _ => Status::Failed,
    }
}

/// Is RedriveExecution implemented by this serve? Asked of the API once (an empty
/// request is refused either way; only the kind of refusal tells).
fn redrive_supported(state: &Arc<State>) -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| !matches!(sfn_call(state, "RedriveExecution", json!({})), Err((c, _)) if c == "UnknownOperationException"))
}

fn event_details(e: &Value) -> Option<(&String, &Value)> {
    e.as_object().and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
}

pub fn execution(state: &Arc<State>, p: &Params) -> Resp {
    let arn = p.get("arn").unwrap_or("");
    let Some(r) = state.executions.get(arn) else {
        return html::error_page(404, "ExecutionDoesNotExist", &format!("Execution Does Not Exist: '{arn}'"));
    };
    let running = r.status == "RUNNING";
    let m = machine_of(state, &r);
    let now = crate::wall_millis();
    let events = &r.history;
    let visits = report::visits(events);
    let mut b = String::new();

    // Summary, the graph, the states and the history change while it runs: all live.
    b.push_str("<div id=\"execution\" data-live>");
    let _ = write!(
        b,
        "<table class=\"facts\" id=\"facts\"><tr><th>Status</th><td id=\"status\">{}</td></tr><tr><th>State machine</th><td>{}</td></tr><tr><th>Type</th><td>{}</td></tr><tr><th>ARN</th><td><code>{}</code></td></tr>\
<tr><th>Started (UTC)</th><td>{}</td></tr><tr><th>Ended (UTC)</th><td>{}</td></tr><tr><th>Duration</th><td>{}</td></tr>",
        status_badge(&r.status),
        link("machine", &[("arn", &r.machine_arn)], machine_name_of(&r.machine_arn)),
        if r.express { "EXPRESS" } else { "STANDARD" },
        esc(&r.arn),
        time(r.start_ms),
        r.stop_ms.map(time).unwrap_or_else(|| "—".into()),
        duration(r.stop_ms.unwrap_or(now) - r.start_ms),
    );
    if let Some(e) = &r.end.error {
        let _ = write!(b, "<tr><th>Error</th><td class=\"error\" id=\"error\">{}</td></tr>", esc(e));
    }
    if let Some(c) = &r.end.cause {
        let _ = write!(b, "<tr><th>Cause</th><td class=\"error\"><pre id=\"cause\">{}</pre></td></tr>", esc(c));
    }
    b.push_str("</table>");

    // What AWS's console offers on an execution: stop, redrive, a new execution.
    b.push_str("<div class=\"actions\">");
    if running && !r.express {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{PREFIX}/stop\" class=\"inline\" id=\"stop-form\"><input type=\"hidden\" name=\"arn\" value=\"{}\">\
<input name=\"error\" placeholder=\"error (optional)\" maxlength=\"256\"><input name=\"cause\" placeholder=\"cause (optional)\" maxlength=\"32768\"><button type=\"submit\" class=\"danger\" id=\"stop-button\">Stop execution</button></form>",
            esc(&r.arn)
        );
    } else if running {
        b.push_str("<p class=\"note\">An Express execution cannot be stopped (StopExecution takes Standard executions only).</p>");
    }
    if matches!(r.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") && !r.express {
        if redrive_supported(state) {
            let _ = write!(
                b,
                "<form method=\"post\" action=\"{PREFIX}/redrive\" class=\"inline\" id=\"redrive-form\"><input type=\"hidden\" name=\"arn\" value=\"{}\"><button type=\"submit\" id=\"redrive-button\">Redrive</button></form>",
                esc(&r.arn)
            );
        } else {
            b.push_str("<p class=\"note\" id=\"redrive-note\">Redrive is not offered: this serve does not implement RedriveExecution yet.</p>");
        }
    }
    b.push_str("</div>");

    if let Some(m) = &m {
        let g = model::build(&m.definition);
        let path: Vec<String> = visits.iter().filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string)).collect();
        let mut hl = report::highlight(&g, &path, &engine_status(&r.status), &visits);
        if running {
            // report::highlight marks unfinished states as failed; for a running execution they are where it is now.
            hl.running = std::mem::take(&mut hl.failed);
        }
        let now_in: Vec<&String> = hl.running.iter().collect();
        let _ = write!(
            b,
            "<section class=\"card\"><h2>Graph</h2><p class=\"legend\"><span class=\"k visited\"></span> path taken <span class=\"k running\"></span> running now <span class=\"k failed\"></span> failed{}</p><div class=\"graph\" id=\"graph\">{}</div></section>",
            if now_in.is_empty() { String::new() } else { format!(" · now in <b id=\"running-states\">{}</b>", esc(&now_in.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))) },
            svg::render(&g, Some(&hl))
        );
    } else {
        b.push_str("<p class=\"note\">The state machine of this execution was deleted: no graph.</p>");
    }

    // Each state's visits: input, output, timing.
    b.push_str("<section class=\"card\"><h2>States</h2><table class=\"list\" id=\"states\"><thead><tr><th>#</th><th>State</th><th>Type</th><th>Entered (UTC)</th><th>Duration</th><th>Input</th><th>Output</th></tr></thead><tbody>");
    for (i, v) in visits.iter().enumerate().take(VISITS_SHOWN) {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        let entered = v.get("entered").and_then(Value::as_i64);
        let exited = v.get("exited").and_then(Value::as_i64);
        let dur = match (entered, exited) {
            (Some(a), Some(z)) => duration(z - a),
            (Some(a), None) if running => format!("running ({})", duration(now - a)),
            _ => "did not finish".into(),
        };
        let output = match v.get("output") {
            Some(o) if exited.is_some() => format!("<details><summary>output</summary>{}</details>", json_pre(o)),
            _ => "—".into(),
        };
        let _ = write!(
            b,
            "<tr data-state=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{dur}</td><td><details><summary>input</summary>{}</details></td><td>{output}</td></tr>",
            esc(name),
            if exited.is_none() { " class=\"open\"" } else { "" },
            i + 1,
            esc(name),
            esc(v.get("type").and_then(Value::as_str).unwrap_or("")),
            entered.map(time).unwrap_or_default(),
            json_pre(v.get("input").unwrap_or(&Value::Null)),
        );
    }
    if visits.is_empty() {
        b.push_str("<tr><td colspan=\"7\" class=\"empty\">No state entered yet.</td></tr>");
    }
    if visits.len() > VISITS_SHOWN {
        let _ = write!(b, "<tr><td colspan=\"7\" class=\"empty\">… and {} more state visits: the event history below has them all.</td></tr>", visits.len() - VISITS_SHOWN);
    }
    b.push_str("</tbody></table></section>");

    let _ = write!(b, "<section class=\"card io\"><div><h2>Input</h2>{}</div>", json_pre(&r.input));
    if let Some(o) = &r.end.output {
        let _ = write!(b, "<div><h2>Output</h2><div id=\"output\">{}</div></div>", json_pre(o));
    }
    b.push_str("</section>");

    // The history, paged.
    let hpage = p.get("hpage").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1).unwrap_or(1);
    let hpages = events.len().div_ceil(HISTORY_PAGE).max(1);
    let _ = write!(b, "<section class=\"card\"><h2>Event history ({} events)</h2>", events.len());
    if r.express {
        b.push_str("<p class=\"note\">Express executions keep no event history (as on AWS, where it goes to CloudWatch Logs only).</p>");
    }
    b.push_str("<table class=\"list\" id=\"history\"><thead><tr><th>ID</th><th>Type</th><th>Timestamp</th><th>Details</th></tr></thead><tbody>");
    for e in events.iter().skip((hpage - 1) * HISTORY_PAGE).take(HISTORY_PAGE) {
        let details = event_details(e).map(|(_, d)| d.to_string()).unwrap_or_default();
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        let _ = write!(
            b,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            if ty.contains("Failed") || ty.contains("TimedOut") || ty.contains("Aborted") { "bad" } else { "" },
            e.get("id").map(|v| v.to_string()).unwrap_or_default(),
            esc(ty),
            esc(e.get("timestamp").and_then(Value::as_str).unwrap_or("")),
            esc(&details)
        );
    }
    b.push_str("</tbody></table>");
    if hpages > 1 {
        let _ = write!(b, "<p class=\"pager\">page {hpage} of {hpages}");
        for (label, n) in [("← earlier", hpage.saturating_sub(1)), ("later →", hpage + 1)] {
            if n >= 1 && n <= hpages && n != hpage {
                let _ = write!(b, " · {}", link("execution", &[("arn", &r.arn), ("hpage", &n.to_string())], label));
            }
        }
        b.push_str("</p>");
    }
    b.push_str("</section></div>");

    if let Some(m) = &m {
        b.push_str(&start_form(m, &r.machine_arn, &serde_json::to_string_pretty(&r.input).unwrap_or_default()).replace("<h2>Start execution</h2>", "<h2>New execution with the same input</h2>"));
    }
    if running {
        b.push_str(&poll_marker());
    }
    page(Tab::Executions, &r.name, &b)
}

pub fn tasks(state: &Arc<State>, p: &Params) -> Resp {
    let all = state.executions.waiting_tasks();
    let page_no = p.get("page").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1).unwrap_or(1);
    let pages = all.len().div_ceil(PAGE).max(1);
    let waiting: Vec<_> = all.iter().skip((page_no - 1) * PAGE).take(PAGE).collect();
    let mut b = String::from(
        "<p>Executions waiting for an answer: <code>.waitForTaskToken</code> callbacks and activity tasks. \
The form sends SendTaskSuccess or SendTaskFailure with the task token, as a worker would.</p><section id=\"tasks\" data-live>",
    );
    if waiting.is_empty() {
        b.push_str("<p class=\"empty\" id=\"no-tasks\">No execution is waiting for a task token.</p>");
    }
    for t in waiting.iter().copied() {
        let rec = state.executions.get(&t.execution_arn);
        // The task's parameters: the last TaskScheduled (or ActivityScheduled) of its state.
        let sent = rec.as_ref().and_then(|r| {
            r.history.iter().rev().find_map(|e| {
                let ty = e.get("type").and_then(Value::as_str)?;
                match ty {
                    "TaskScheduled" => e.pointer("/taskScheduledEventDetails/parameters").cloned(),
                    "ActivityScheduled" => e.pointer("/activityScheduledEventDetails/input").cloned(),
                    _ => None,
                }
            })
        });
        let activity = t.resource.split(':').nth(5) == Some("activity");
        let name = rec.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let _ = write!(
            b,
            "<article class=\"card task\" data-token=\"{tok}\" data-execution=\"{ea}\"><h2>{kind} · {state} · {exec}</h2>\
<table class=\"facts\"><tr><th>Resource</th><td><code>{res}</code></td></tr><tr><th>Times out (UTC)</th><td>{deadline}</td></tr><tr><th>Task token</th><td><code class=\"token\">{tok}</code></td></tr></table>",
            tok = esc(&t.token),
            ea = esc(&t.execution_arn),
            kind = if activity { "Activity task" } else { "Callback" },
            state = esc(&t.state),
            exec = link("execution", &[("arn", &t.execution_arn)], &name),
            res = esc(&t.resource),
            deadline = t.deadline.map(time).unwrap_or_else(|| "never (no TimeoutSeconds)".into()),
        );
        if let Some(s) = &sent {
            let _ = write!(b, "<details><summary>What the task was sent</summary>{}</details>", json_pre(s));
        }
        let _ = write!(
            b,
            "<div class=\"answer\"><form method=\"post\" action=\"{PREFIX}/task\" class=\"success\"><input type=\"hidden\" name=\"token\" value=\"{tok}\"><input type=\"hidden\" name=\"back\" value=\"{ea}\">\
<input type=\"hidden\" name=\"outcome\" value=\"success\"><label>Output (JSON) <textarea name=\"output\" rows=\"3\" spellcheck=\"false\">{{}}</textarea></label><button type=\"submit\" class=\"send-success\">Send task success</button></form>\
<form method=\"post\" action=\"{PREFIX}/task\" class=\"failure\"><input type=\"hidden\" name=\"token\" value=\"{tok}\"><input type=\"hidden\" name=\"back\" value=\"{ea}\">\
<input type=\"hidden\" name=\"outcome\" value=\"failure\"><label>Error <input name=\"error\" maxlength=\"256\"></label><label>Cause <input name=\"cause\" maxlength=\"32768\"></label><button type=\"submit\" class=\"danger send-failure\">Send task failure</button></form></div></article>",
            tok = esc(&t.token),
            ea = esc(&t.execution_arn),
        );
    }
    if pages > 1 {
        let _ = write!(b, "<p class=\"pager\">{} tasks · page {page_no} of {pages}", all.len());
        if page_no > 1 {
            let _ = write!(b, " · {}", link("tasks", &[("page", &(page_no - 1).to_string())], "← previous"));
        }
        if page_no < pages {
            let _ = write!(b, " · {}", link("tasks", &[("page", &(page_no + 1).to_string())], "next →"));
        }
        b.push_str("</p>");
    }
    b.push_str("</section>");
    b.push_str(&poll_marker());
    page(Tab::Tasks, "Waiting tasks", &b)
}

// ------------------------------------------------------------------ actions

fn execution_href(arn: &str) -> String {
    format!("{PREFIX}/execution?arn={}", html::enc(arn))
}

pub fn start(state: &Arc<State>, p: &Params) -> Resp {
    let machine = p.get("machine").unwrap_or("");
    let mut body = json!({"stateMachineArn": machine, "input": p.non_empty("input").unwrap_or("{}")});
    if let Some(n) = p.non_empty("name") {
        body["name"] = json!(n.trim());
    }
    match sfn_call(state, "StartExecution", body) {
        Ok(v) => see_other(&execution_href(v["executionArn"].as_str().unwrap_or(""))),
        Err((c, msg)) => api_error(&c, &msg),
    }
}

pub fn stop(state: &Arc<State>, p: &Params) -> Resp {
    let arn = p.get("arn").unwrap_or("");
    let mut body = json!({"executionArn": arn});
    if let Some(e) = p.non_empty("error") {
        body["error"] = json!(e);
    }
    if let Some(c) = p.non_empty("cause") {
        body["cause"] = json!(c);
    }
    match sfn_call(state, "StopExecution", body) {
        Ok(_) => see_other(&execution_href(arn)),
        Err((c, msg)) => api_error(&c, &msg),
    }
}

pub fn redrive(state: &Arc<State>, p: &Params) -> Resp {
    let arn = p.get("arn").unwrap_or("");
    match sfn_call(state, "RedriveExecution", json!({"executionArn": arn})) {
        Ok(_) => see_other(&execution_href(arn)),
        Err((c, msg)) => api_error(&c, &msg),
    }
}

pub fn answer(state: &Arc<State>, p: &Params) -> Resp {
    let token = p.get("token").unwrap_or("");
    let r = match p.get("outcome") {
        Some("success") => sfn_call(state, "SendTaskSuccess", json!({"taskToken": token, "output": p.get("output").unwrap_or("")})),
        Some("failure") => {
            let mut body = json!({"taskToken": token});
            if let Some(e) = p.non_empty("error") {
                body["error"] = json!(e);
            }
            if let Some(c) = p.non_empty("cause") {
                body["cause"] = json!(c);
            }
            sfn_call(state, "SendTaskFailure", body)
        }
        _ => return html::error_page(400, "ValidationException", "outcome must be success or failure"),
    };
    match r {
        Ok(_) => match p.non_empty("back") {
            Some(arn) => see_other(&execution_href(arn)),
            None => see_other(&format!("{PREFIX}/tasks")),
        },
        Err((c, msg)) => api_error(&c, &msg),
    }
}
