//! The HTTP API: the template's routes, the JWT authorizer, and the integrations
//! (Lambda proxy with payload format 2.0, StepFunctions-StartSyncExecution /
//! StartExecution and EventBridge-PutEvents with their request-parameter mappings).

use super::http::{blocking, Admitted, BodyError, BoxFut, Front, Head, Req, Resp};
use super::template::{Integration, RouteDef};
use super::{exec, json_api, State};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

const JSON: &str = "application/json";

/// API Gateway HTTP APIs take payloads up to 10 MB
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
pub const API_MAX_PAYLOAD: u64 = 10 * 1024 * 1024;

pub struct ApiFront {
    pub state: Arc<State>,
}

/// The route found and the identity checked from the head.
pub struct Ticket {
    route: usize,
    path_params: BTreeMap<String, String>,
    claims: Option<Value>,
    what: String,
}

impl Front for ApiFront {
    type Ticket = Ticket;

    /// Routing and the JWT authorizer run on the head: a request without a valid token is
    /// refused before a byte of its body is read.
    fn admit(&self, head: &Head) -> Result<Admitted<Ticket>, Resp> {
        match admit(&self.state, head) {
            Ok(ticket) => Ok(Admitted { limit: API_MAX_PAYLOAD, ticket }),
            Err((r, what)) => {
                self.state.log(format_args!("api {} {} {} → {what}", r.status, head.method, head.path));
                Err(r)
            }
        }
    }

    fn body_error(&self, head: &Head, e: BodyError) -> Resp {
        // API Gateway's answers: 413 for a payload over its quota; a body that never
        // arrives whole is not documented, 400 "Bad Request" is its generic client error.
        let r = match e {
            BodyError::TooLarge { .. } => message(413, "Request Entity Too Large"),
            BodyError::Incomplete => message(400, "Bad Request"),
            BodyError::Timeout => message(408, "Request Timeout"),
        };
        self.state.log(format_args!("api {} {} {} → body refused ({e:?})", r.status, head.method, head.path));
        r
    }

    fn handle(&self, req: Req, ticket: Ticket) -> BoxFut {
        let state = self.state.clone();
        blocking(move || {
            let t = Instant::now();
            let resp = integrate(&state, &req, ticket.route, &ticket.path_params, ticket.claims.as_ref());
            state.log(format_args!("api {} {} {} → {} {:.1} ms", resp.status, req.method, req.path, ticket.what, t.elapsed().as_secs_f64() * 1000.0));
            resp
        })
    }
}

fn message(status: u16, m: &str) -> Resp {
    Resp::json(status, JSON, &json!({"message": m}))
}

/// Matches `/files/{id}` and `/files/{proxy+}` templates.
fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            if i >= p.len() {
                return None;
            }
            params.insert(name.to_string(), super::sigv4::decode(&p[i..].join("/")));
            return Some(params);
        }
        let actual = p.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if actual.is_empty() {
                return None;
            }
            params.insert(name.to_string(), super::sigv4::decode(actual));
        } else if seg != actual {
            return None;
        }
    }
    if p.len() == t.len() {
        Some(params)
    } else {
        None
    }
}

fn find_route<'a>(routes: &'a [RouteDef], method: &str, path: &str) -> Option<(&'a RouteDef, BTreeMap<String, String>)> {
    // Exact method before ANY, literal paths before templates, then $default.
    let mut best: Option<(&RouteDef, BTreeMap<String, String>, u8)> = None;
    for r in routes {
        if r.path == "$default" {
            continue;
        }
        if r.method != method && r.method != "ANY" {
            continue;
        }
        if let Some(p) = match_path(&r.path, path) {
            let score = (r.method == method) as u8 * 2 + p.is_empty() as u8;
            if best.as_ref().is_none_or(|b| score > b.2) {
                best = Some((r, p, score));
            }
        }
    }
    best.map(|(r, p, _)| (r, p)).or_else(|| routes.iter().find(|r| r.path == "$default").map(|r| (r, BTreeMap::new())))
}

fn admit(state: &Arc<State>, req: &Head) -> Result<Ticket, (Resp, String)> {
    let Some(api) = &state.api else { return Err((message(404, "Not Found"), "no HTTP API in the template".into())) };
    let Some((route, path_params)) = find_route(&api.routes, &req.method, &req.path) else {
        if req.method == "GET" && req.path == "/.well-known/jwks.json" {
            return Err((Resp::json(200, JSON, &state.issuer.jwks()), "local JWKS".into()));
        }
        return Err((message(404, "Not Found"), "no route".into()));
    };
    let index = api.routes.iter().position(|r| std::ptr::eq(r, route)).unwrap_or(0);
    let what = match &route.integration {
        Integration::Lambda { function } => format!("Lambda {function}"),
        Integration::StepFunctions { sync, params } => format!(
            "{} {}",
            if *sync { "StartSyncExecution" } else { "StartExecution" },
            params.get("StateMachineArn").map(|a| a.rsplit(':').next().unwrap_or(a)).unwrap_or("?")
        ),
        Integration::PutEvents { .. } => "PutEvents".to_string(),
    };
    let claims = match &route.authorizer {
        None => None,
        Some(a) => {
            let token = req.header(&a.identity_header).map(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("bearer ")).unwrap_or(v).trim());
            let result = match token {
                None | Some("") => Err("no token".to_string()),
                Some(t) => state.issuer.verify(t, &a.issuer, &a.audience, super::wall_millis() / 1000),
            };
            match result {
                Ok(c) => Some(c),
                Err(e) => {
                    let r = message(401, "Unauthorized").header("www-authenticate", format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{e}\""));
                    return Err((r, format!("{what} (401: {e})")));
                }
            }
        }
    };
    Ok(Ticket { route: index, path_params, claims, what })
}

fn integrate(state: &Arc<State>, req: &Req, route: usize, path_params: &BTreeMap<String, String>, claims: Option<&Value>) -> Resp {
    let Some(route) = state.api.as_ref().and_then(|a| a.routes.get(route)) else { return message(500, "Internal Server Error") };
    let ctx = RequestCtx { state, req, route, path_params, claims, request_id: state.uuid() };
    let resp = match &route.integration {
        Integration::Lambda { function } => ctx.lambda(function),
        Integration::StepFunctions { sync, params } => ctx.step_functions(*sync, params),
        Integration::PutEvents { params } => ctx.put_events(params),
    };
    resp.header("apigw-requestid", ctx.request_id.clone())
}

struct RequestCtx<'a> {
    state: &'a Arc<State>,
    req: &'a Req,
    route: &'a RouteDef,
    path_params: &'a BTreeMap<String, String>,
    claims: Option<&'a Value>,
    request_id: String,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `12/Mar/2020:19:03:58 +0000`
fn clf_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = asl_core::time::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000", MONTHS[(m - 1) as usize], s / 3600, s / 60 % 60, s % 60)
}

impl RequestCtx<'_> {
    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.req.body).into_owned()
    }

    /// A request-parameter mapping source (`request.body.name`, `context.authorizer.claims.sub`, ...).
    fn selector(&self, sel: &str) -> Option<String> {
        if sel == "request.body" {
            return Some(self.body_text());
        }
        if let Some(path) = sel.strip_prefix("request.body.") {
            let body: Value = serde_json::from_slice(&self.req.body).ok()?;
            let mut cur = &body;
            for seg in path.split('.') {
                cur = cur.get(seg)?;
            }
            return Some(text_of(cur));
        }
        if let Some(h) = sel.strip_prefix("request.header.") {
            return self.req.header(&h.to_ascii_lowercase()).map(str::to_string);
        }
        if let Some(q) = sel.strip_prefix("request.querystring.") {
            return self.req.query_param(q);
        }
        if let Some(p) = sel.strip_prefix("request.path.") {
            return self.path_params.get(p).cloned();
        }
        if let Some(c) = sel.strip_prefix("context.authorizer.claims.") {
            return self.claims.and_then(|cl| cl.get(c)).map(text_of);
        }
        match sel {
            "context.requestId" => Some(self.request_id.clone()),
            "context.stage" => Some("$default".into()),
            "context.httpMethod" => Some(self.req.method.clone()),
            "context.routeKey" => Some(self.route.route_key.clone()),
            "context.apiId" => self.state.api.as_ref().map(|a| a.id.clone()),
            "context.path" => Some(self.req.path.clone()),
            _ if sel.starts_with("stageVariables.") => Some(String::new()),
            _ => None,
        }
    }

    /// A mapping value: a whole selector (`$request.body.x`), a template with
    /// `${selector}` parts, or a static value.
    fn mapping(&self, v: &str) -> String {
        if let Some(sel) = v.strip_prefix('$') {
            if !sel.starts_with('{') && !sel.contains(' ') {
                if let Some(x) = self.selector(sel) {
                    return x;
                }
            }
        }
        let mut out = String::new();
        let mut rest = v;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            out.push_str(&self.selector(&after[..end]).unwrap_or_default());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A mapping whose result is a JSON document (StartExecution's `Input`, PutEvents'
    /// `Detail`): each `${selector}` is encoded for where it stands, so no value can change
    /// the document's structure (a `sub` of `mallory","user":"alice` stays one string).
    /// Inside a JSON string a value is escaped as JSON string content (what API Gateway's
    /// `$util.escapeJavaScript` is for); elsewhere it is inserted as one JSON value: a
    /// JSON text re-serialised, anything else as a JSON string. `Err` carries the parse
    /// error of a selector that had to be a JSON document (`${request.body}`) and is not.
    fn mapping_json(&self, v: &str) -> Result<String, String> {
        if v.starts_with('$') && !v.starts_with("${") {
            return Ok(self.mapping(v));
        }
        let mut out = String::with_capacity(v.len());
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = v;
        loop {
            let Some(i) = rest.find("${") else {
                out.push_str(rest);
                return Ok(out);
            };
            for c in rest[..i].chars() {
                if in_string && escaped {
                    escaped = false;
                } else if in_string && c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = !in_string;
                }
            }
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return Ok(out);
            };
            let sel = &after[..end];
            let value = self.selector(sel).unwrap_or_default();
            if in_string {
                let quoted = Value::String(value).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            } else {
                match serde_json::from_str::<Value>(&value) {
                    Ok(doc) => out.push_str(&doc.to_string()),
                    Err(e) if sel == "request.body" => return Err(e.to_string()),
                    Err(_) => out.push_str(&Value::String(value).to_string()),
                }
            }
            rest = &after[end + 1..];
        }
    }

    fn lambda(&self, function: &str) -> Resp {
        let Some(f) = self.state.functions.get(function) else {
            return message(500, "Internal Server Error");
        };
        let event = self.event_v2();
        match f.invoke(&event) {
            Ok(v) => lambda_response(v),
            Err(e) => {
                self.state.log(format_args!("lambda {function}: {}", e));
                if e.get("errorType").and_then(Value::as_str) == Some("Runtime.InvalidEntrypoint") {
                    return message(502, "Internal Server Error");
                }
                message(500, "Internal Server Error")
            }
        }
    }

    fn event_v2(&self) -> Value {
        let req = self.req;
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (k, v) in &req.headers {
            if k == "cookie" {
                cookies.extend(v.split(';').map(|c| Value::String(c.trim().to_string())));
                continue;
            }
            match headers.get_mut(k) {
                Some(Value::String(s)) => {
                    s.push(',');
                    s.push_str(v);
                }
                _ => {
                    headers.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        let mut qs = Map::new();
        for (k, v) in super::sigv4::query_pairs(&req.query) {
            match qs.get_mut(&k) {
                Some(Value::String(s)) => {
                    s.push(',');
                    s.push_str(&v);
                }
                _ => {
                    qs.insert(k, Value::String(v));
                }
            }
        }
        let now = super::wall_millis();
        let host = req.header("host").unwrap_or("localhost").to_string();
        let mut rc = json!({
            "accountId": super::template::ACCOUNT,
            "apiId": self.state.api.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(""),
            "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1", "sourceIp": req.peer.ip().to_string(),
                     "userAgent": req.header("user-agent").unwrap_or("")},
            "requestId": self.request_id,
            "routeKey": self.route.route_key,
            "stage": "$default",
            "time": clf_time(now),
            "timeEpoch": now,
        });
        if let Some(Value::Object(c)) = self.claims {
            // API Gateway passes claims as strings.
            let claims: Map<String, Value> = c.iter().map(|(k, v)| (k.clone(), Value::String(text_of(v)))).collect();
            rc["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let (body, b64) = match std::str::from_utf8(&req.body) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(&req.body), true),
        };
        let mut e = json!({
            "version": "2.0",
            "routeKey": self.route.route_key,
            "rawPath": req.path,
            "rawQueryString": req.query,
            "headers": headers,
            "requestContext": rc,
            "isBase64Encoded": b64,
        });
        if !cookies.is_empty() {
            e["cookies"] = Value::Array(cookies);
        }
        if !qs.is_empty() {
            e["queryStringParameters"] = Value::Object(qs);
        }
        if !self.path_params.is_empty() {
            e["pathParameters"] = json!(self.path_params);
        }
        if !req.body.is_empty() {
            e["body"] = Value::String(body);
        }
        e
    }

    fn step_functions(&self, sync: bool, params: &BTreeMap<String, String>) -> Resp {
        let arn = params.get("StateMachineArn").map(|v| self.mapping(v)).unwrap_or_default();
        let Some(m) = self.state.machine_by_arn(&arn) else {
            return Resp::json(400, JSON, &json!({"__type": "StateMachineDoesNotExist", "message": format!("State Machine Does Not Exist: '{arn}'")}));
        };
        let input_text = match params.get("Input").map(|v| self.mapping_json(v)) {
            None => Ok("{}".to_string()),
            Some(r) => r,
        };
        if let Ok(Err((c, msg))) = input_text.as_deref().map(super::validate::input_size) {
            return Resp::json(400, JSON, &json!({"__type": c, "message": msg}));
        }
        let input: Value = match input_text.map_err(|e| e.to_string()).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string())) {
            Ok(v) => v,
            Err(e) => {
                return Resp::json(400, JSON, &json!({"__type": "InvalidExecutionInput", "message": format!("Invalid State Machine Execution Input: '{e}'")}))
            }
        };
        let name = params.get("Name").map(|v| self.mapping(v)).filter(|n| !n.is_empty());
        if let Some(Err((c, msg))) = name.as_deref().map(|n| super::validate::name("name", n)) {
            return Resp::json(400, JSON, &json!({"__type": c, "message": msg}));
        }
        if sync {
            if !m.express {
                return Resp::json(400, JSON, &json!({"__type": "StateMachineTypeNotSupported", "message": "This operation is not supported by this type of state machine"}));
            }
            let rec = exec::run(self.state, &m, &name.unwrap_or_else(|| self.state.uuid()), input);
            Resp::json(200, JSON, &json_api::sync_result(&rec))
        } else {
            match exec::start_async(self.state, &m, name, input) {
                Ok((arn, start)) => Resp::json(200, JSON, &json!({"executionArn": arn, "startDate": start as f64 / 1000.0})),
                Err((c, msg)) => Resp::json(400, JSON, &json!({"__type": c, "message": msg})),
            }
        }
    }

    fn put_events(&self, params: &BTreeMap<String, String>) -> Resp {
        let get = |k: &str| {
            params.get(k).map(|v| {
                if k == "Detail" {
                    // A body that is not JSON makes the Detail malformed, as the body itself.
                    self.mapping_json(v).unwrap_or_else(|_| self.body_text())
                } else {
                    self.mapping(v)
                }
            })
        };
        let resources = get("Resources").map(|r| match serde_json::from_str::<Vec<String>>(&r) {
            Ok(v) => v,
            Err(_) => r.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        });
        let entry = asl_eventbridge::events::PutEventsEntry {
            source: get("Source"),
            detail_type: get("DetailType"),
            detail: get("Detail"),
            event_bus_name: get("EventBusName"),
            resources: resources.unwrap_or_default(),
            time_ms: get("Time").and_then(|t| asl_core::time::parse_timestamp(&t)),
        };
        match json_api::put_events(self.state, &[entry]) {
            Ok(v) => Resp::json(200, JSON, &v),
            Err(e) => Resp::json(e.status, JSON, &json!({"__type": e.code, "message": e.message})),
        }
    }
}

/// A payload 2.0 Lambda result to the HTTP response (reference §7.2).
fn lambda_response(v: Value) -> Resp {
    let Some(obj) = v.as_object().filter(|o| o.contains_key("statusCode")) else {
        return match v {
            Value::String(s) => Resp::new(200).header("content-type", JSON).body(s.into_bytes()),
            other => Resp::json(200, JSON, &other),
        };
    };
    let status = obj.get("statusCode").and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|x| x.parse().ok()))).unwrap_or(500) as u16;
    let mut r = Resp::new(status);
    if let Some(Value::Object(h)) = obj.get("headers") {
        for (k, v) in h {
            r = r.header(k, text_of(v));
        }
    }
    if let Some(Value::Array(c)) = obj.get("cookies") {
        for c in c {
            r = r.header("set-cookie", text_of(c));
        }
    }
    if !r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        r = r.header("content-type", JSON);
    }
    let body = obj.get("body").map(text_of).unwrap_or_default();
    let b64 = obj.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false);
    let bytes = if b64 { base64::engine::general_purpose::STANDARD.decode(body.as_bytes()).unwrap_or_default() } else { body.into_bytes() };
    r.body(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(match_path("/files/create", "/files/create"), Some(BTreeMap::new()));
        assert_eq!(match_path("/files/{id}", "/files/a%20b").unwrap()["id"], "a b");
        assert_eq!(match_path("/f/{proxy+}", "/f/a/b").unwrap()["proxy"], "a/b");
        assert_eq!(match_path("/files/{id}", "/files/a/b"), None);
        assert_eq!(clf_time(1583348638390), "04/Mar/2020:19:03:58 +0000");
    }
}
