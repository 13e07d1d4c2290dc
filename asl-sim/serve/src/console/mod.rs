//! The local console (issue 17): `http://127.0.0.1:<aws-port>/_console/`, server-rendered
//! HTML over serve's own state — state machines, executions, waiting tasks and the data.
//!
//! - Every page is plain HTML tables and forms that work without JavaScript; `app.js`
//!   (served from here, never from the network) only refreshes the parts marked
//!   `data-live` by polling the same URL, so pages update without a reload.
//! - Actions (start, stop, redrive, SendTaskSuccess/Failure) go through the same Step
//!   Functions operations the AWS endpoint runs (`json_api`), so their checks and AWS's
//!   error messages are the API's, not a second copy.
//! - Everything rendered is escaped: object keys, inputs and outputs come from clients.
//! - No credentials: being on loopback is the credential. Because a web page the user
//!   visits could still send requests to 127.0.0.1, the console answers only to a
//!   loopback `Host` (DNS rebinding) and accepts a POST only from its own origin (CSRF).
//!   It never shows the SigV4 secret or the JWT signing key.
//!
//! `/_console` can never be an S3 request: bucket names cannot start with `_`
//! (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), so the
//! path-style S3 routes never see it.

mod data;
mod html;
mod sfn;

use super::http::{Admitted, BodyError, BoxFut, Front, Head, Req, Resp};
use super::State;
use std::sync::Arc;

pub const PREFIX: &str = "/_console";
/// Forms carry an execution input (at most 256 KiB) or a task output (256 KiB), URL-encoded.
const MAX_FORM: u64 = 3 * 262_144;

/// The AWS endpoint with the console in front: `/_console` requests are the console's,
/// everything else goes to the AWS front door untouched.
pub struct WithConsole<F> {
    pub inner: F,
    pub state: Arc<State>,
}

pub enum Ticket<T> {
    Console,
    Aws(T),
}

/// A console request: a `/_console` path on a loopback host name. Any other host is left
/// to the AWS front door: `bucket.localhost` with a key under `_console/` is an S3
/// virtual-hosted request, and a rebinding DNS name (another site's page reaching
/// 127.0.0.1) meets SigV4 there instead of the console.
fn is_console(head: &Head) -> bool {
    let path_matches = head.path == PREFIX || head.path.starts_with("/_console/");
    path_matches && loopback_host(head.header("host").unwrap_or(""))
}

fn loopback_host(host: &str) -> bool {
    let hostname = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(hostname.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

impl<F: Front> Front for WithConsole<F> {
    type Ticket = Ticket<F::Ticket>;

    fn admit(&self, head: &Head) -> Result<Admitted<Self::Ticket>, Resp> {
        if !is_console(head) {
            return self.inner.admit(head).map(|a| Admitted { limit: a.limit, ticket: Ticket::Aws(a.ticket) });
        }
        if let Err(why) = guard(head) {
            return Err(html::error_page(403, "Forbidden", why));
        }
        Ok(Admitted { limit: MAX_FORM, ticket: Ticket::Console })
    }

    fn body_error(&self, head: &Head, e: BodyError) -> Resp {
        if !is_console(head) {
            return self.inner.body_error(head, e);
        }
        let why = match e {
            BodyError::TooLarge { .. } => "The form is larger than the console accepts (768 KiB).",
            BodyError::Incomplete => "The form did not arrive whole.",
            BodyError::Timeout => "The form did not arrive in time.",
        };
        html::error_page(413, "Form refused", why)
    }

    fn handle(&self, req: Req, ticket: Self::Ticket) -> BoxFut {
        match ticket {
            Ticket::Aws(t) => self.inner.handle(req, t),
            Ticket::Console => {
                let state = self.state.clone();
                super::http::blocking(move || {
                    let t = std::time::Instant::now();
                    let method = req.method.clone();
                    let path = req.path.clone();
                    let resp = route(&state, &req);
                    // Actions and errors only: an open page polls every 1.5 s.
                    if method == "POST" || resp.status >= 400 {
                        state.log(format_args!("console {} {method} {path} {:.1} ms", resp.status, t.elapsed().as_secs_f64() * 1000.0));
                    }
                    resp
                })
            }
        }
    }
}

/// POSTs from the console's own pages only (the host was checked by `is_console`).
fn guard(head: &Head) -> Result<(), &'static str> {
    let host = head.header("host").unwrap_or("");
    if !loopback_host(host) {
        return Err("The console answers only on 127.0.0.1 or localhost (this Host header names another site).");
    }
    if head.method == "GET" || head.method == "HEAD" {
        return Ok(());
    }
    if head.method != "POST" {
        return Err("The console takes GET and POST only.");
    }
    let own = format!("http://{host}");
    // Browsers send Origin on every POST form submission; Referer is the fallback of old ones.
    let from_here = match head.header("origin") {
        Some(o) => o == own,
        None => head.header("referer").is_some_and(|r| r.starts_with(&format!("{own}{PREFIX}/"))),
    };
    if !from_here {
        return Err("A console action must come from a console page (Origin check).");
    }
    if !head.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return Err("A console action is a form (application/x-www-form-urlencoded).");
    }
    Ok(())
}

/// The request's parameters: the query string, then (for a POST) the form.
pub struct Params(Vec<(String, String)>);

impl Params {
    fn of(req: &Req) -> Params {
        let mut p = super::query::form_pairs(req.query.as_bytes());
        if req.method == "POST" {
            p.extend(super::query::form_pairs(&req.body));
        }
        Params(p)
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub fn non_empty(&self, k: &str) -> Option<&str> {
        self.get(k).filter(|v| !v.trim().is_empty())
    }
}

fn route(state: &Arc<State>, req: &Req) -> Resp {
    let p = Params::of(req);
    let sub = req.path.strip_prefix(PREFIX).unwrap_or("");
    let post = req.method == "POST";
    match (post, sub) {
        (false, "") => Resp::new(308).header("location", format!("{PREFIX}/")),
        (false, "/") => sfn::home(state),
        (false, "/app.js") => asset("text/javascript; charset=utf-8", include_str!("app.js")),
        (false, "/app.css") => asset("text/css; charset=utf-8", include_str!("app.css")),
        (false, "/machine") => sfn::machine(state, &p),
        (false, "/executions") => sfn::executions(state, &p),
        (false, "/execution") => sfn::execution(state, &p),
        (false, "/tasks") => sfn::tasks(state, &p),
        (false, "/data") => data::overview(state),
        (false, "/bucket") => data::bucket(state, &p),
        (false, "/object") => data::object(state, &p),
        (false, "/table") => data::table(state, &p),
        (false, "/queue") => data::queue(state, &p),
        (false, "/topic") => data::topic(state, &p),
        (true, "/start") => sfn::start(state, &p),
        (true, "/stop") => sfn::stop(state, &p),
        (true, "/redrive") => sfn::redrive(state, &p),
        (true, "/task") => sfn::answer(state, &p),
        _ => html::error_page(404, "Not found", "The console has no such page."),
    }
}

fn asset(content_type: &str, text: &str) -> Resp {
    Resp::new(200).header("content-type", content_type).header("cache-control", "no-cache").body(text.as_bytes().to_vec())
}

/// A redirect after a successful action (POST → GET), so a reload does not repeat it.
fn see_other(location: &str) -> Resp {
    Resp::new(303).header("location", location).header("content-type", "text/plain; charset=utf-8").body(b"See Other".to_vec())
}

/// Runs a Step Functions operation as the AWS endpoint would (same checks, same errors):
/// the console is one more client of the API, in-process.
fn sfn_call(state: &Arc<State>, op: &str, body: serde_json::Value) -> Result<serde_json::Value, (String, String)> {
    let req = Req {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: Vec::new(),
        body: serde_json::to_vec(&body).unwrap_or_default().into(),
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let r = super::json_api::handle(state, "AWSStepFunctions", op, &req);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    if r.status < 300 {
        Ok(v)
    } else {
        let code = v.get("__type").and_then(|t| t.as_str()).unwrap_or("Error");
        let code = code.rsplit('#').next().unwrap_or(code).to_string();
        Err((code, v.get("message").and_then(|m| m.as_str()).unwrap_or("").to_string()))
    }
}

#[cfg(test)]
mod tests;
