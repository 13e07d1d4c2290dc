//! The console's page frame and the helpers every page uses: escaping, links, times.

use super::super::http::Resp;
use super::PREFIX;
use std::fmt::Write;

/// Text for an HTML text node or a quoted attribute value.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a query-string value keeps as is: the unreserved characters, and `:` and `/`,
/// which RFC 3986 allows in a query (so ARNs and key prefixes stay readable in links).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b':').remove(b'/');

/// A query-string value.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// A console URL with its query, ready to put in an attribute.
pub fn href(page: &str, params: &[(&str, &str)]) -> String {
    let mut u = format!("{PREFIX}/{page}");
    for (i, (k, v)) in params.iter().enumerate() {
        let _ = write!(u, "{}{}={}", if i == 0 { '?' } else { '&' }, enc(k), enc(v));
    }
    esc(&u)
}

pub fn link(page: &str, params: &[(&str, &str)], text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", href(page, params), esc(text))
}

/// Milliseconds since the epoch as AWS's consoles show them (UTC, to the millisecond).
pub fn time(ms: i64) -> String {
    asl_core::time::format_millis(ms)
}

pub fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.3} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// A JSON value pretty-printed in a `<pre>`; JSON text (as the history stores inputs) is parsed first.
pub fn json_pre(v: &serde_json::Value) -> String {
    let parsed = match v {
        serde_json::Value::String(s) => serde_json::from_str::<serde_json::Value>(s).ok(),
        _ => None,
    };
    let shown = parsed.as_ref().unwrap_or(v);
    let text = serde_json::to_string_pretty(shown).unwrap_or_default();
    format!("<pre class=\"json\">{}</pre>", esc(&text))
}

pub fn status_badge(status: &str) -> String {
    let class = match status {
        "SUCCEEDED" => "ok",
        "RUNNING" => "run",
        "PENDING_REDRIVE" => "wait",
        _ => "bad",
    };
    format!("<span class=\"badge {class}\" data-status=\"{s}\">{s}</span>", s = esc(status))
}

/// Which part of the site a page belongs to (the tab shown as current).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Machines,
    Executions,
    Tasks,
    Data,
}

/// The whole page: header with the tabs, the body, the script that keeps `data-live` parts fresh.
pub fn page(tab: Tab, title: &str, body: &str) -> Resp {
    let tabs = [(Tab::Machines, "", "State machines"), (Tab::Executions, "executions", "Executions"), (Tab::Tasks, "tasks", "Waiting tasks"), (Tab::Data, "data", "Data")];
    let mut nav = String::new();
    for (t, path, label) in tabs {
        let _ = write!(nav, "<a href=\"{PREFIX}/{path}\"{}>{label}</a>", if t == tab { " class=\"on\" aria-current=\"page\"" } else { "" });
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} — asl-sim console</title><link rel=\"stylesheet\" href=\"{PREFIX}/app.css\"></head>\
<body><header><a class=\"brand\" href=\"{PREFIX}/\">asl-sim console</a><nav>{nav}</nav><span id=\"live\" class=\"live\" title=\"This page refreshes itself\"></span></header>\
<main><h1>{t}</h1>{body}</main><script src=\"{PREFIX}/app.js\"></script></body></html>\n",
        t = esc(title)
    );
    html_resp(200, html)
}

pub fn html_resp(status: u16, html: String) -> Resp {
    Resp::new(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        // Scripts only from the console itself: an escaping slip cannot run a script.
        // The graph's SVG carries its own <style>, hence inline styles.
        .header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "same-origin")
        .body(html.into_bytes())
}

pub fn error_page(status: u16, title: &str, message: &str) -> Resp {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} — asl-sim console</title><link rel=\"stylesheet\" href=\"{PREFIX}/app.css\"></head>\
<body><header><a class=\"brand\" href=\"{PREFIX}/\">asl-sim console</a></header><main><h1>{t}</h1><p class=\"error\" id=\"error\">{m}</p></main></body></html>\n",
        t = esc(title),
        m = esc(message)
    );
    html_resp(status, html)
}

/// A refusal from the API shown as AWS's console shows it: the error code and message.
pub fn api_error(code: &str, message: &str) -> Resp {
    error_page(400, code, message)
}
