//! The one part that does I/O: sends the request, fetches and caches OAuth tokens.

use crate::connection::{Auth, Connection, Connections};
use crate::encode;
use crate::request::{HttpRequest, TaskSpec};
use crate::response::{self, MAX_BODY};
use crate::{failure, Failure};
use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// "HTTP Task duration: 60 seconds" (Step Functions quotas,
/// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html); past it the task
/// fails with `States.Http.Socket` (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
pub const MAX_SECONDS: f64 = 60.0;

/// EventBridge refreshes a token that expires within this margin before using it
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

struct CachedToken {
    token: String,
    expires_at: Option<Instant>,
}

/// Makes HTTP Task calls. Holds the OAuth tokens of client-credentials connections between calls,
/// as EventBridge manages them for a connection.
#[derive(Default)]
pub struct HttpInvoker {
    tokens: Mutex<HashMap<String, CachedToken>>,
}

/// What came back over the wire.
struct Received {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

enum SendError {
    Timeout,
    Other(String),
}

fn send(req: &HttpRequest, timeout: Duration) -> Result<Received, SendError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        // AWS's page does not say; a body on GET or DELETE is sent as the task gives it.
        .allow_non_standard_methods(true)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder().method(req.method.as_str()).uri(req.url.as_str());
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let request = builder.body(req.body.clone().unwrap_or_default()).map_err(|e| SendError::Other(e.to_string()))?;
    let mut resp = agent.run(request).map_err(|e| match e {
        ureq::Error::Timeout(_) => SendError::Timeout,
        other => SendError::Other(other.to_string()),
    })?;
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    // One byte past the limit tells "too large" from "exactly the limit".
    let body = match resp.body_mut().with_config().limit(MAX_BODY as u64 + 1).read_to_vec() {
        Ok(b) => b,
        Err(ureq::Error::BodyExceedsLimit(_)) => vec![0; MAX_BODY + 1],
        Err(ureq::Error::Timeout(_)) => return Err(SendError::Timeout),
        Err(e) => return Err(SendError::Other(e.to_string())),
    };
    Ok(Received { status: status.as_u16(), status_text: status.canonical_reason().unwrap_or("").to_string(), headers, body })
}

fn host_of(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| url.to_string())
}

impl HttpInvoker {
    pub fn new() -> HttpInvoker {
        HttpInvoker::default()
    }

    /// Runs one `http:invoke` task. `timeout_seconds` is the state's TimeoutSeconds, if any.
    pub fn invoke(&self, connections: &Connections, params: &Value, region: &str, timeout_seconds: Option<f64>) -> Result<Value, Failure> {
        let spec = TaskSpec::parse(params)?;
        let connection = connections.resolve(&spec.connection_arn).ok_or_else(|| {
            // AWS's page names the Events.ConnectionResource.* errors without a not-found case;
            // this is the name EventBridge's own ResourceNotFoundException most plausibly takes.
            failure(
                "Events.ConnectionResource.ResourceNotFound",
                format!(
                    "Connection '{}' does not exist. Define it as an AWS::Events::Connection in the template or in a connections file (--connections FILE).",
                    spec.connection_arn
                ),
            )
        })?;
        let limit = timeout_seconds.map_or(MAX_SECONDS, |t| t.min(MAX_SECONDS)).max(0.001);
        let task_timeout_first = timeout_seconds.is_some_and(|t| t < MAX_SECONDS);
        let deadline = Instant::now() + Duration::from_secs_f64(limit);
        let bearer = match &connection.auth {
            Auth::OAuthClientCredentials { .. } => Some(self.token(connection, deadline)?),
            _ => None,
        };
        let req = spec.build(connection, region, bearer.as_deref())?;
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let got = match send(&req, remaining) {
            Ok(r) => r,
            Err(SendError::Timeout) if task_timeout_first => return Err(failure("States.Timeout", "")),
            Err(SendError::Timeout) => {
                return Err(failure("States.Http.Socket", format!("The HTTP request to {} timed out after {MAX_SECONDS} seconds.", host_of(&req.url))))
            }
            // AWS documents States.Http.Socket for timeouts; a refused or unreachable endpoint is
            // the same kind of socket failure.
            Err(SendError::Other(e)) => {
                return Err(failure("States.Http.Socket", format!("The HTTP request to {} failed: {e}", host_of(&req.url))))
            }
        };
        if bearer.is_some() && matches!(got.status, 401 | 407) {
            // EventBridge refreshes the token when the API answers 401 or 407: the next call
            // (a Retry) gets a new one.
            self.forget(&connection.arn);
        }
        response::task_result(got.status, &got.status_text, &got.headers, &got.body)
    }

    /// Runs one `apigateway:invoke` task (see [`crate::api_gateway`]), within Step Functions'
    /// 60-second HTTP limit or the state's TimeoutSeconds.
    pub fn invoke_api_gateway(&self, endpoints: &crate::api_gateway::Endpoints, params: &Value, timeout_seconds: Option<f64>) -> Result<Value, Failure> {
        let req = crate::api_gateway::request(params, endpoints)?;
        let limit = timeout_seconds.map_or(MAX_SECONDS, |t| t.min(MAX_SECONDS)).max(0.001);
        match send(&req, Duration::from_secs_f64(limit)) {
            Ok(got) => crate::api_gateway::result(got.status, &got.status_text, &got.headers, &got.body),
            Err(SendError::Timeout) if timeout_seconds.is_some_and(|t| t < MAX_SECONDS) => Err(failure("States.Timeout", "")),
            // "ApiGateway.<Exception>" when no status is available (connect-api-gateway.html, Error handling).
            Err(SendError::Timeout) => Err(failure("ApiGateway.SocketTimeoutException", format!("The request to {} timed out.", host_of(&req.url)))),
            Err(SendError::Other(e)) => Err(failure("ApiGateway.ConnectException", format!("The request to {} failed: {e}", host_of(&req.url)))),
        }
    }

    fn forget(&self, arn: &str) {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(arn);
    }

    /// The connection's access token, from the cache or from its authorization endpoint.
    fn token(&self, connection: &Connection, deadline: Instant) -> Result<String, Failure> {
        {
            let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(t) = tokens.get(&connection.arn) {
                if t.expires_at.is_none_or(|e| Instant::now() + REFRESH_MARGIN < e) {
                    return Ok(t.token.clone());
                }
            }
        }
        let Auth::OAuthClientCredentials { authorization_endpoint, method, client_id, client_secret, http } = &connection.auth else {
            return Err(failure("States.Runtime", "not an OAuth connection"));
        };
        let invalid = |why: String| {
            failure(
                "Events.ConnectionResource.InvalidConnectionState",
                format!("The connection '{}' could not be authorized: {why}", connection.arn),
            )
        };
        let mut query: Vec<(String, String)> = http.query.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
        let form: Vec<(String, String)> = http.body.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
        // A GET request has no body: its parameters go into the query string.
        let body = if method == "GET" {
            query.extend(form);
            None
        } else {
            Some(encode::join(&form).into_bytes())
        };
        let mut url = url::Url::parse(authorization_endpoint).map_err(|e| invalid(format!("the AuthorizationEndpoint is not a URL ({e})")))?;
        if !query.is_empty() {
            url.set_query(Some(&encode::join(&query)));
        }
        // RFC 6749 §2.3.1: the client authenticates with HTTP Basic, which every
        // authorization server must support.
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
        let mut headers = vec![("Authorization".to_string(), format!("Basic {basic}")), ("Accept".to_string(), "application/json".to_string())];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
        }
        for p in &http.headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&p.key));
            headers.push((p.key.clone(), p.value.clone()));
        }
        let req = HttpRequest { method: method.clone(), url: url.to_string(), headers, body };
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let got = send(&req, remaining).map_err(|e| match e {
            SendError::Timeout => invalid("the authorization endpoint did not answer in time".into()),
            SendError::Other(e) => invalid(format!("the authorization endpoint is unreachable ({e})")),
        })?;
        let text = String::from_utf8_lossy(&got.body);
        if !(200..300).contains(&got.status) {
            return Err(invalid(format!("the authorization endpoint answered {} {}: {}", got.status, got.status_text, text.trim())));
        }
        let doc: Value = serde_json::from_str(&text).map_err(|_| invalid("the authorization endpoint's answer is not JSON".into()))?;
        let token = doc
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("the authorization endpoint's answer has no access_token".into()))?
            .to_string();
        let expires_at = doc.get("expires_in").and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok())).map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(connection.arn.clone(), CachedToken { token: token.clone(), expires_at });
        Ok(token)
    }
}
