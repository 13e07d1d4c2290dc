//! Self-contained HTML reports of executions: the diagram (inline SVG) with
//! the path taken highlighted; a click on a state shows each of its visits
//! with input, output, timing and the history events inside it, like the AWS
//! console's execution view. No external assets: styles, script and data are
//! inline. The page's script adds `<div id="report-ready">` once it has run
//! (tests/browser/check_report.sh looks for it).

use crate::graph::{model, svg};
use asl_core::definition::Definition;
use asl_core::engine::{Outcome, Status};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Extra things a page can say (the test runner adds the verdict).
pub struct Page<'a> {
    pub title: &'a str,
    /// (verdict, failure details)
    pub test_verdict: Option<(&'a str, &'a str)>,
    pub input: Option<&'a Value>,
}

pub fn html_escape(s: &str) -> String {
    svg::esc(s)
}

/// Writes the HTML report of one execution to `path` (`asl-sim run --report`).
pub fn write(def: &Definition, source: &str, outcome: &Outcome, path: &std::path::Path) -> Result<(), String> {
    let title = path.file_stem().and_then(|s| s.to_str()).unwrap_or("execution").to_string();
    let page = Page { title: &title, test_verdict: None, input: None };
    write_page(def, source, outcome, path, &page)
}

pub fn write_page(def: &Definition, _source: &str, outcome: &Outcome, path: &std::path::Path, page: &Page<'_>) -> Result<(), String> {
    let html = render(def, outcome, page);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, html).map_err(|e| e.to_string())
}

fn ms(ts: Option<&Value>) -> Option<i64> {
    ts.and_then(Value::as_str).and_then(asl_core::time::parse_timestamp)
}

/// Visits of states, from the history: one per `*StateEntered` (name, type, entered and
/// exited ms, input, output, the events inside it).
pub fn visits(events: &[Value]) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for e in events {
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        let t = ms(e.get("timestamp"));
        if let Some(prefix) = ty.strip_suffix("StateEntered") {
            let d = e.get("stateEnteredEventDetails");
            let mut v = Map::new();
            v.insert("name".into(), d.and_then(|d| d.get("name")).cloned().unwrap_or(Value::Null));
            v.insert("type".into(), json!(prefix));
            v.insert("entered".into(), json!(t));
            v.insert("input".into(), d.and_then(|d| d.get("input")).cloned().unwrap_or(Value::Null));
            v.insert("events".into(), json!([]));
            out.push(v);
            open.push(out.len() - 1);
        } else if ty.ends_with("StateExited") {
            let d = e.get("stateExitedEventDetails");
            let name = d.and_then(|d| d.get("name"));
            if let Some(k) = open.iter().rposition(|&i| out[i].get("name") == name) {
                let i = open.remove(k);
                out[i].insert("exited".into(), json!(t));
                out[i].insert("output".into(), d.and_then(|d| d.get("output")).cloned().unwrap_or(Value::Null));
            }
        } else if let Some(&i) = open.last() {
            if !ty.starts_with("Execution") {
                if let Some(Value::Array(list)) = out[i].get_mut("events") {
                    list.push(e.clone());
                }
            }
        }
    }
    out
}

fn collect_blocks<'a>(b: &'a model::Block, id: usize, next: &mut usize, names: &mut HashMap<String, usize>, children: &mut HashMap<String, Vec<usize>>, blocks: &mut Vec<&'a model::Block>) {
    blocks.push(b);
    for n in &b.nodes {
        if n.kind == model::NodeKind::State {
            names.insert(n.name.clone(), id);
        }
        for c in &n.children {
            *next += 1;
            let cid = *next;
            children.entry(n.name.clone()).or_default().push(cid);
            collect_blocks(c, cid, next, names, children, blocks);
        }
    }
}

/// Which states and transitions the execution went through.
pub fn highlight(g: &model::Block, path: &[String], status: &Status, visits: &[Map<String, Value>]) -> svg::Highlight {
    let mut names = HashMap::new();
    let mut children = HashMap::new();
    let mut blocks = Vec::new();
    let mut next = 0;
    collect_blocks(g, 0, &mut next, &mut names, &mut children, &mut blocks);
    let mut edges: HashSet<(String, String)> = HashSet::new();
    for b in &blocks {
        for e in &b.edges {
            edges.insert((b.nodes[e.from].name.clone(), b.nodes[e.to].name.clone()));
        }
    }
    let mut hl = svg::Highlight::default();
    let mut last: HashMap<usize, String> = HashMap::new();
    last.insert(0, "Start".into());
    if !path.is_empty() {
        hl.visited.insert("Start".into());
    }
    for name in path {
        hl.visited.insert(name.clone());
        let Some(&b) = names.get(name) else { continue };
        if let Some(prev) = last.get(&b) {
            let pair = (prev.clone(), name.clone());
            if edges.contains(&pair) {
                hl.taken.insert(pair);
            }
        }
        last.insert(b, name.clone());
        for c in children.get(name).into_iter().flatten() {
            last.remove(c);
        }
    }
    if *status == Status::Succeeded {
        if let Some(l) = last.get(&0) {
            hl.taken.insert((l.clone(), "End".into()));
            hl.visited.insert("End".into());
        }
    } else {
        for v in visits {
            if v.get("exited").is_none() {
                if let Some(n) = v.get("name").and_then(Value::as_str) {
                    hl.failed.insert(n.to_string());
                }
            }
        }
    }
    hl
}

pub fn render(def: &Definition, outcome: &Outcome, page: &Page<'_>) -> String {
    let g = model::build(def);
    let events = outcome.history.events();
    let vs = visits(events);
    let hl = highlight(&g, &outcome.path, &outcome.status, &vs);
    let diagram = svg::render(&g, Some(&hl));
    let exec_input = events
        .first()
        .and_then(|e| e.pointer("/executionStartedEventDetails/input"))
        .cloned()
        .or_else(|| page.input.map(|v| Value::String(v.to_string())))
        .unwrap_or(Value::Null);
    let data = json!({
        "title": page.title,
        "status": outcome.status.as_str(),
        "error": outcome.end.error,
        "cause": outcome.end.cause,
        "input": exec_input,
        "output": outcome.end.output.as_ref().map(|v| v.to_string()),
        "start": outcome.start_millis,
        "stop": outcome.stop_millis,
        "path": outcome.path,
        "visits": vs,
        "events": events,
        "verdict": page.test_verdict.map(|v| v.0),
        "details": page.test_verdict.map(|v| v.1),
    });
    let data = data.to_string().replace("</", "<\\/").replace("<!--", "<\\!--");
    let status_class = match outcome.status {
        Status::Succeeded => "ok",
        _ => "bad",
    };
    let verdict = page
        .test_verdict
        .map(|(v, _)| format!("<span class=\"badge {}\">test {}</span>", if v == "passed" { "ok" } else { "bad" }, html_escape(v)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — asl-sim execution report</title>
<style>{CSS}</style></head>
<body>
<header><h1>{title}</h1><span class="badge {status_class}">{status}</span>{verdict}<span class="meta" id="meta"></span></header>
<main>
<section class="graph" id="graph"><div class="hint">Click a state to see its input, output and timing. Green: the path taken; red: where it failed.</div>{diagram}</section>
<aside id="panel"><div class="empty">Select a state.</div></aside>
</main>
<section class="bottom">
<div id="summary"></div>
<details id="all-events"><summary>Execution event history (<span id="event-count"></span> events)</summary><table id="events"></table></details>
</section>
<noscript><p>This report needs JavaScript for the state details; the diagram above works without it.</p></noscript>
<script id="report-data" type="application/json">{data}</script>
<script>{JS}</script>
</body></html>
"#,
        title = html_escape(page.title),
        status = outcome.status.as_str(),
    )
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#16191f;background:#f2f3f3}
header{display:flex;align-items:center;gap:12px;padding:12px 20px;background:#232f3e;color:#fff}
header h1{font-size:18px;margin:0;font-weight:600}
.meta{margin-left:auto;font-size:12px;color:#d5dbdb}
.badge{padding:2px 10px;border-radius:12px;font-size:12px;font-weight:700;letter-spacing:.02em}
.badge.ok{background:#1e8e3e;color:#fff}.badge.bad{background:#c0392b;color:#fff}
main{display:flex;gap:12px;padding:12px;align-items:flex-start}
.graph{flex:1 1 60%;background:#fff;border:1px solid #d5dbdb;border-radius:8px;overflow:auto;max-height:calc(100vh - 90px);padding:8px}
.graph .hint{font-size:12px;color:#545b64;margin:2px 4px 8px}
.graph .node[data-state]{cursor:pointer}
.graph .node.selected>rect{stroke:#0972d3 !important;stroke-width:3 !important}
aside{flex:0 0 38%;background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:12px 16px;max-height:calc(100vh - 90px);overflow:auto}
aside h2{font-size:16px;margin:4px 0 8px}
aside .empty{color:#545b64}
.visit{border-top:1px solid #e9ebed;padding:8px 0}
.visit h3{font-size:13px;margin:0 0 6px;color:#414750;font-weight:600}
.tabs button{border:1px solid #d5dbdb;background:#f8f8f8;border-radius:4px;padding:3px 10px;margin-right:4px;cursor:pointer;font-size:12px}
.tabs button.on{background:#0972d3;color:#fff;border-color:#0972d3}
pre{background:#f8f8f8;border:1px solid #e9ebed;border-radius:4px;padding:8px;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;max-height:360px;overflow:auto;margin:6px 0}
.bottom{padding:0 12px 24px}
#summary{background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:12px 16px;margin-bottom:12px}
#summary h2{font-size:15px;margin:0 0 8px}
details{background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:8px 16px}
table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #e9ebed;padding:4px 8px;text-align:left;vertical-align:top}
td.mono{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.err{color:#c0392b;font-weight:600}
"#;

const JS: &str = r#"
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  function el(tag, attrs, text){ var e = document.createElement(tag); if(attrs){ for(var k in attrs){ e.setAttribute(k, attrs[k]); } } if(text !== undefined){ e.textContent = text; } return e; }
  function pretty(s){ if(s === null || s === undefined){ return '(none)'; } try { return JSON.stringify(JSON.parse(s), null, 2); } catch(e){ return String(s); } }
  function dur(a, b){ if(a === null || a === undefined || b === null || b === undefined){ return 'did not finish'; } var d = b - a; return d < 1000 ? d + ' ms' : (d/1000).toFixed(3) + ' s'; }
  function iso(ms){ return (ms === null || ms === undefined) ? '' : new Date(ms).toISOString(); }
  var meta = document.getElementById('meta');
  meta.textContent = iso(data.start) + '  ·  ' + dur(data.start, data.stop) + ' (virtual clock)  ·  ' + data.path.length + ' states entered';
  var byName = {};
  data.visits.forEach(function(v, i){ (byName[v.name] = byName[v.name] || []).push(v); });
  var panel = document.getElementById('panel');
  function show(name){
    document.querySelectorAll('.graph .node.selected').forEach(function(n){ n.classList.remove('selected'); });
    document.querySelectorAll('.graph .node[data-state]').forEach(function(n){ if(n.getAttribute('data-state') === name){ n.classList.add('selected'); } });
    panel.innerHTML = '';
    panel.appendChild(el('h2', null, name));
    var vs = byName[name] || [];
    if(!vs.length){ panel.appendChild(el('p', {'class':'empty'}, 'This execution did not enter this state.')); return; }
    panel.appendChild(el('p', null, vs[0].type + ' state · entered ' + vs.length + ' time' + (vs.length === 1 ? '' : 's')));
    vs.slice(0, 50).forEach(function(v, k){
      var box = el('div', {'class':'visit'});
      box.appendChild(el('h3', null, (vs.length > 1 ? '#' + (k+1) + ' · ' : '') + iso(v.entered) + ' · ' + dur(v.entered, v.exited)));
      var tabs = el('div', {'class':'tabs'}); var pre = el('pre');
      var failures = (v.events || []).filter(function(e){ return /Failed|TimedOut|Aborted/.test(e.type); });
      var views = {'Input': function(){ return pretty(v.input); }, 'Output': function(){ return v.exited === undefined ? '(no output: the state did not exit)' : pretty(v.output); }, 'Events': function(){ return (v.events || []).map(function(e){ return e.type + '  ' + JSON.stringify(e[Object.keys(e).filter(function(k){ return /EventDetails$/.test(k); })[0]] || {}); }).join('\n') || '(none)'; }};
      Object.keys(views).forEach(function(label, j){
        var b = el('button', null, label);
        b.onclick = function(){ tabs.querySelectorAll('button').forEach(function(x){ x.classList.remove('on'); }); b.classList.add('on'); pre.textContent = views[label](); };
        tabs.appendChild(b); if(j === (v.exited === undefined && failures.length ? 2 : 0)){ b.classList.add('on'); pre.textContent = views[label](); }
      });
      box.appendChild(tabs); box.appendChild(pre);
      if(failures.length){ failures.forEach(function(f){ var d = f[Object.keys(f).filter(function(k){ return /EventDetails$/.test(k); })[0]] || {}; box.appendChild(el('p', {'class':'err'}, f.type + ': ' + (d.error || '') + (d.cause ? ' — ' + d.cause : ''))); }); }
      panel.appendChild(box);
    });
    if(vs.length > 50){ panel.appendChild(el('p', {'class':'empty'}, '… and ' + (vs.length - 50) + ' more visits')); }
  }
  document.querySelectorAll('.graph .node[data-state]').forEach(function(n){
    n.addEventListener('click', function(ev){ ev.stopPropagation(); show(n.getAttribute('data-state')); });
  });
  var sum = document.getElementById('summary');
  sum.appendChild(el('h2', null, 'Execution ' + data.status));
  if(data.verdict){ var vp = el('p', {'class': data.verdict === 'passed' ? '' : 'err'}, 'Test ' + data.verdict); sum.appendChild(vp); if(data.details){ sum.appendChild(el('pre', null, data.details)); } }
  if(data.error || data.cause){ sum.appendChild(el('p', {'class':'err'}, 'Error: ' + (data.error || '') )); sum.appendChild(el('pre', null, data.cause || '')); }
  sum.appendChild(el('h3', null, 'Input')); sum.appendChild(el('pre', null, pretty(data.input)));
  if(data.output !== null){ sum.appendChild(el('h3', null, 'Output')); sum.appendChild(el('pre', null, pretty(data.output))); }
  document.getElementById('event-count').textContent = data.events.length;
  var table = document.getElementById('events');
  var head = el('tr'); ['ID','Type','Timestamp','Details'].forEach(function(h){ head.appendChild(el('th', null, h)); }); table.appendChild(head);
  data.events.slice(0, 2000).forEach(function(e){
    var tr = el('tr'); tr.appendChild(el('td', null, e.id)); tr.appendChild(el('td', null, e.type)); tr.appendChild(el('td', null, e.timestamp));
    var k = Object.keys(e).filter(function(k){ return /EventDetails$/.test(k); })[0];
    tr.appendChild(el('td', {'class':'mono'}, k ? JSON.stringify(e[k]) : '')); table.appendChild(tr);
  });
  var pick = null;
  data.visits.forEach(function(v){ if(v.exited === undefined && pick === null && data.status !== 'SUCCEEDED'){ pick = v.name; } });
  if(pick === null && data.path.length){ pick = data.path[data.path.length - 1]; }
  if(pick !== null){ show(pick); }
  var ready = el('div', {'id':'report-ready', 'data-states': String(Object.keys(byName).length), 'hidden': ''});
  document.body.appendChild(ready);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use asl_core::engine;

    #[test]
    fn the_page_is_self_contained_and_marks_the_path() {
        let src = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":"</script><b>"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.x","StringEquals":"no","Next":"F"}],"Default":"S"},"F":{"Type":"Fail","Error":"E"},"S":{"Type":"Succeed"}}}"#;
        let (def, _) = asl_core::load_definition(src, &Default::default());
        let def = def.unwrap();
        let mut clock = engine::VirtualClock { now: 0 };
        let out = engine::run(&def, json!({}), &Default::default(), &mut engine::NoServices, &mut clock, true);
        let html = render(&def, &out, &Page { title: "t<1>", test_verdict: None, input: None });
        assert!(html.contains("<title>t&lt;1&gt;"));
        assert!(!html.contains("http://") || html.matches("http://").all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")));
        assert!(!html.contains("src=\"") && !html.contains("href=\"http"), "no external assets");
        // The payload cannot close the data script early.
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(html.contains("class=\"node pass visited\""));
        assert!(html.contains("class=\"node fail\""));
        assert!(html.contains("edge default taken"));
        assert!(html.contains("report-ready"));
        let vs = visits(out.history.events());
        assert_eq!(vs.len(), 3);
        assert_eq!(vs[0]["name"], "A");
        assert!(vs[0].get("output").is_some());
    }
}
