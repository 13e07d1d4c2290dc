//! From the task's parameters and its connection to the request Step Functions sends
//! (https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html, sections
//! "HTTP Task fields", "Merging EventBridge connection and HTTP Task definition data" and
//! "Apply URL-encoding on request body").

use crate::connection::{Auth, Connection};
use crate::encode::{self, ArrayFormat};
use crate::{failure, Failure, DOCS};
use base64::Engine;
use serde_json::{Map, Value};

/// The methods the HTTP Task accepts ("HTTP Task fields", Method).
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// Headers a task may not set ("HTTP Task fields", Headers): AWS lists these names and the
/// `x-forwarded-*`, `x-amz-*` and `x-amzn-*` prefixes. `Authorization` belongs to the connection.
const DISALLOWED_HEADERS: [&str; 33] = [
    "a-im", "accept-charset", "accept-datetime", "accept-encoding", "authorization", "cache-control", "connection",
    "content-encoding", "content-length", "content-md5", "date", "expect", "forwarded", "from", "host", "http2-settings",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "origin",
    "pragma", "proxy-authorization", "referer", "server", "te", "trailer", "transfer-encoding", "upgrade", "via",
    "warning",
];
const DISALLOWED_PREFIXES: [&str; 3] = ["x-forwarded", "x-amz-", "x-amzn-"];

/// Step Functions asks for at most the first 256 KiB of a response and names itself.
pub const RANGE: &str = "bytes=0-262144";

pub fn user_agent(region: &str) -> String {
    format!("Amazon|StepFunctions|HttpInvoke|{region}")
}

/// The task's parameters, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub endpoint: url::Url,
    pub method: String,
    pub connection_arn: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub url_encoded: bool,
    pub array_format: ArrayFormat,
}

/// The request as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn runtime(cause: String) -> Failure {
    failure("States.Runtime", cause)
}

/// A header value from the definition: strings as they are, other scalars as JSON text.
fn header_value(name: &str, v: &Value) -> Result<String, Failure> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::Array(items) => {
            // A list is sent as one comma-separated header (RFC 9110 §5.3).
            let parts: Result<Vec<String>, Failure> = items.iter().map(|i| header_value(name, i)).collect();
            Ok(parts?.join(","))
        }
        _ => Err(runtime(format!("The value of the header '{name}' must be a string, number, boolean or list of them."))),
    }
}

pub fn is_disallowed_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    DISALLOWED_HEADERS.contains(&lower.as_str()) || DISALLOWED_PREFIXES.iter().any(|p| lower.starts_with(p))
}

impl TaskSpec {
    pub fn parse(params: &Value) -> Result<TaskSpec, Failure> {
        let Value::Object(p) = params else {
            return Err(runtime("The parameters of an HTTP Task must be an object.".into()));
        };
        let endpoint = match p.get("ApiEndpoint") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(runtime("The field 'ApiEndpoint' must be a string.".into())),
            None => return Err(runtime("The field 'ApiEndpoint' is required for http:invoke.".into())),
        };
        let endpoint = url::Url::parse(endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| runtime(format!("The ApiEndpoint '{endpoint}' is not an http or https URL.")))?;
        let method = match p.get("Method") {
            Some(Value::String(m)) if METHODS.contains(&m.as_str()) => m.clone(),
            Some(Value::String(m)) => {
                return Err(runtime(format!("The Method '{m}' is not supported; use one of {}.", METHODS.join(", "))))
            }
            Some(_) => return Err(runtime("The field 'Method' must be a string.".into())),
            None => return Err(runtime("The field 'Method' is required for http:invoke.".into())),
        };
        let connection_arn = p
            .get("Authentication")
            .and_then(|a| a.get("ConnectionArn"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                runtime(format!("The field 'Authentication.ConnectionArn' is required for http:invoke: an HTTP Task calls through an EventBridge connection ({DOCS})."))
            })?
            .to_string();
        let mut headers = Vec::new();
        match p.get("Headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    if is_disallowed_header(k) {
                        return Err(runtime(format!("The header '{k}' is not allowed in an HTTP Task ({DOCS}#connect-http-task-fields).")));
                    }
                    headers.push((k.clone(), header_value(k, v)?));
                }
            }
            Some(_) => return Err(runtime("The field 'Headers' must be an object.".into())),
        }
        let (mut url_encoded, mut array_format) = (false, ArrayFormat::default());
        match p.get("Transform") {
            None | Some(Value::Null) => {}
            Some(Value::Object(t)) => {
                match t.get("RequestBodyEncoding").and_then(Value::as_str) {
                    None | Some("NONE") => {}
                    Some("URL_ENCODED") => url_encoded = true,
                    Some(other) => {
                        return Err(runtime(format!("The RequestBodyEncoding '{other}' is not supported; use NONE or URL_ENCODED.")))
                    }
                }
                if let Some(f) = t.get("RequestEncodingOptions").and_then(|o| o.get("ArrayFormat")) {
                    let name = f.as_str().unwrap_or_default();
                    array_format = ArrayFormat::parse(name).ok_or_else(|| {
                        runtime(format!("The ArrayFormat '{name}' is not supported; use INDICES, REPEAT, COMMAS or BRACKETS."))
                    })?;
                }
            }
            Some(_) => return Err(runtime("The field 'Transform' must be an object.".into())),
        }
        let query = match p.get("QueryParameters") {
            None | Some(Value::Null) => Vec::new(),
            // AWS's page is silent on arrays in QueryParameters; one encoder for body and query
            // (the task's ArrayFormat) is the plausible reading.
            Some(q @ Value::Object(_)) => encode::pairs(q, array_format),
            Some(_) => return Err(runtime("The field 'QueryParameters' must be an object.".into())),
        };
        let body = p.get("RequestBody").filter(|b| !b.is_null()).cloned();
        Ok(TaskSpec { endpoint, method, connection_arn, headers, query, body, url_encoded, array_format })
    }

    /// The request, with the connection merged in: the connection's invocation parameters win
    /// over the task's on the same key (EventBridge: "with any values from the Connection taking
    /// precedence", https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html).
    /// `bearer` is the OAuth access token for OAUTH_CLIENT_CREDENTIALS connections.
    pub fn build(&self, connection: &Connection, region: &str, bearer: Option<&str>) -> Result<HttpRequest, Failure> {
        let mut headers = self.headers.clone();
        let set = |headers: &mut Vec<(String, String)>, k: &str, v: String| {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
            headers.push((k.to_string(), v));
        };
        for p in &connection.invocation.headers {
            set(&mut headers, &p.key, p.value.clone());
        }
        let mut query = self.query.clone();
        for p in &connection.invocation.query {
            query.retain(|(k, _)| k != &p.key);
            query.push((p.key.clone(), p.value.clone()));
        }
        let mut url = self.endpoint.clone();
        if !query.is_empty() {
            let existing = url.query().filter(|q| !q.is_empty()).map(str::to_string);
            let added = encode::join(&query);
            url.set_query(Some(&match existing {
                Some(e) => format!("{e}&{added}"),
                None => added,
            }));
        }

        let mut body = self.body.clone();
        if !connection.invocation.body.is_empty() {
            match &mut body {
                None => {
                    let m: Map<String, Value> =
                        connection.invocation.body.iter().map(|p| (p.key.clone(), Value::String(p.value.clone()))).collect();
                    body = Some(Value::Object(m));
                }
                Some(Value::Object(m)) => {
                    for p in &connection.invocation.body {
                        m.insert(p.key.clone(), Value::String(p.value.clone()));
                    }
                }
                // A text body has no keys to merge into; AWS's page is silent, so it is sent as written.
                Some(_) => {}
            }
        }
        let has_content_type = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let bytes = match &body {
            None => None,
            Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
            Some(v @ Value::Object(_)) if self.url_encoded => Some(encode::url_encode(v, self.array_format).into_bytes()),
            Some(v) => Some(v.to_string().into_bytes()),
        };
        if bytes.is_some() && !has_content_type {
            let ct = if self.url_encoded { "application/x-www-form-urlencoded" } else { "application/json; charset=UTF-8" };
            headers.push(("Content-Type".into(), ct.into()));
        }

        match &connection.auth {
            Auth::ApiKey { name, value } => set(&mut headers, name, value.clone()),
            Auth::Basic { username, password } => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                set(&mut headers, "Authorization", format!("Basic {b64}"));
            }
            Auth::OAuthClientCredentials { .. } => {
                let token = bearer.ok_or_else(|| failure("Events.ConnectionResource.InvalidConnectionState", "The connection has no OAuth access token."))?;
                set(&mut headers, "Authorization", format!("Bearer {token}"));
            }
        }
        set(&mut headers, "User-Agent", user_agent(region));
        set(&mut headers, "Range", RANGE.to_string());
        Ok(HttpRequest { method: self.method.clone(), url: url.to_string(), headers, body: bytes })
    }
}
