//! The optimized API Gateway integration, `arn:aws:states:::apigateway:invoke`, as "Create
//! API Gateway REST APIs with Step Functions" documents it
//! (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html): the task
//! names `ApiEndpoint` (`<api-id>.execute-api.<region>.amazonaws.com`), `Method`, and optionally
//! `Stage`, `Path`, `QueryParameters` and `Headers` (each name to a list of values),
//! `RequestBody` and `AuthType`; the result is `{ResponseBody, StatusCode, StatusText, Headers}`,
//! and a status outside 2xx fails the task with `ApiGateway.<status>`.
//!
//! Which base URL an endpoint reaches is the caller's: serve maps its own HTTP API's
//! hostnames to its local port ([`Endpoints`]); any other host is called over HTTPS.

use crate::{failure, Failure};
use serde_json::Value;
use std::collections::HashMap;

pub const DOCS: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html";

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
const AUTH_TYPES: &[&str] = &["NO_AUTH", "IAM_ROLE", "RESOURCE_POLICY"];

/// Local APIs by hostname (`local.execute-api.us-east-1.amazonaws.com` → `http://127.0.0.1:3000`).
/// A local API serves every stage at its root (serve runs one `$default` stage), so the
/// `Stage` is not put in the path of a local call.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    local: HashMap<String, String>,
}

impl Endpoints {
    pub fn insert(&mut self, host: &str, base_url: &str) {
        self.local.insert(host.to_ascii_lowercase(), base_url.trim_end_matches('/').to_string());
    }
}

fn runtime(message: String) -> Failure {
    failure("States.Runtime", format!("{message} (see {DOCS})"))
}

fn string_lists(p: &Value, field: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    match p.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let values: Vec<String> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| match x {
                            Value::String(s) => Ok(s.clone()),
                            Value::Number(_) | Value::Bool(_) => Ok(x.to_string()),
                            _ => Err(runtime(format!("The values of {field}.{k} must be strings."))),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(runtime(format!("{field}.{k} must be a list of strings."))),
                };
                out.extend(values.into_iter().map(|v| (k.clone(), v)));
            }
        }
        Some(_) => return Err(runtime(format!("{field} must be an object of string lists."))),
    }
    Ok(out)
}

/// The request a task's parameters describe.
pub fn request(p: &Value, endpoints: &Endpoints) -> Result<crate::HttpRequest, Failure> {
    let endpoint = p.get("ApiEndpoint").and_then(Value::as_str).ok_or_else(|| runtime("The field 'ApiEndpoint' is required.".into()))?;
    let method = p.get("Method").and_then(Value::as_str).ok_or_else(|| runtime("The field 'Method' is required.".into()))?;
    if !METHODS.contains(&method) {
        return Err(runtime(format!("The Method '{method}' is not one of {}.", METHODS.join(", "))));
    }
    if let Some(a) = p.get("AuthType") {
        if !a.as_str().is_some_and(|a| AUTH_TYPES.contains(&a)) {
            return Err(runtime(format!("The AuthType {a} is not one of {}.", AUTH_TYPES.join(", "))));
        }
    }
    let host = endpoint.trim_end_matches('/');
    let (base, local) = match endpoints.local.get(&host.to_ascii_lowercase()) {
        Some(base) => (base.clone(), true),
        // serve's own ApiEndpoint attribute (`!GetAtt Api.ApiEndpoint`) is already a loopback URL.
        None if host.starts_with("http://127.0.0.1:") || host.starts_with("http://localhost:") => (host.to_string(), true),
        None if host.contains("://") => return Err(runtime(format!("The ApiEndpoint '{endpoint}' must be a host name, without a scheme."))),
        None => (format!("https://{host}"), false),
    };
    let mut url = base;
    if let Some(stage) = p.get("Stage").and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "$default" && !local) {
        url.push('/');
        url.push_str(stage);
    }
    if let Some(path) = p.get("Path").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        if !path.starts_with('/') {
            url.push('/');
        }
        url.push_str(path);
    }
    let query = string_lists(p, "QueryParameters")?;
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&crate::encode::join(&query));
    }
    let mut headers = string_lists(p, "Headers")?;
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone().into_bytes()),
        Some(v) => {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(v.to_string().into_bytes())
        }
    };
    Ok(crate::HttpRequest { method: method.to_string(), url, headers, body })
}

/// The task's result from the response, or `ApiGateway.<status>` for a status outside 2xx.
/// AWS's page says the cause is "returned as a string" without its content; it is the
/// response body here, which is what a Catch most plausibly needs.
pub fn result(status: u16, status_text: &str, headers: &[(String, String)], body: &[u8]) -> Result<Value, Failure> {
    match crate::response::task_result(status, status_text, headers, body) {
        Ok(v) => Ok(v),
        Err((e, _)) if e.starts_with("States.Http.StatusCode.") => Err((format!("ApiGateway.{status}"), String::from_utf8_lossy(body).into_owned())),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn local() -> Endpoints {
        let mut e = Endpoints::default();
        e.insert("local.execute-api.us-east-1.amazonaws.com", "http://127.0.0.1:3000");
        e
    }

    /// The request format of "Create API Gateway REST APIs with Step Functions"
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html#connect-api-gateway-requests).
    #[test]
    fn requests_from_parameters() {
        let cases = [
            (
                json!({"ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod", "Path": "bills",
                       "QueryParameters": {"billId": ["123456"]}, "Headers": {"key": ["value1", "value2"]}, "AuthType": "NO_AUTH"}),
                ("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod/bills?billId=123456", vec![("key", "value1"), ("key", "value2")], None),
            ),
            (
                json!({"ApiEndpoint": "local.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod", "Path": "/orders", "RequestBody": {"n": 1}}),
                ("POST", "http://127.0.0.1:3000/orders", vec![("Content-Type", "application/json")], Some(r#"{"n":1}"#)),
            ),
            (
                json!({"ApiEndpoint": "http://127.0.0.1:3000", "Method": "DELETE", "Stage": "$default", "RequestBody": "raw"}),
                ("DELETE", "http://127.0.0.1:3000", vec![], Some("raw")),
            ),
        ];
        for (params, (method, url, headers, body)) in cases {
            let r = request(&params, &local()).unwrap_or_else(|e| panic!("{params}: {e:?}"));
            assert_eq!((r.method.as_str(), r.url.as_str()), (method, url), "{params}");
            let h: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(h, headers, "{params}");
            assert_eq!(r.body.as_deref(), body.map(str::as_bytes), "{params}");
        }
    }

    #[test]
    fn bad_parameters_are_runtime_errors() {
        let cases = [
            (json!({"Method": "GET"}), "'ApiEndpoint' is required"),
            (json!({"ApiEndpoint": "a.execute-api.us-east-1.amazonaws.com"}), "'Method' is required"),
            (json!({"ApiEndpoint": "a", "Method": "TRACE"}), "The Method 'TRACE' is not one of"),
            (json!({"ApiEndpoint": "a", "Method": "GET", "AuthType": "JWT"}), "AuthType \"JWT\" is not one of"),
            (json!({"ApiEndpoint": "https://a", "Method": "GET"}), "must be a host name"),
            (json!({"ApiEndpoint": "a", "Method": "GET", "Headers": {"k": "v"}}), "Headers.k must be a list of strings"),
            (json!({"ApiEndpoint": "a", "Method": "GET", "QueryParameters": [1]}), "QueryParameters must be an object"),
        ];
        for (params, want) in cases {
            let (error, cause) = request(&params, &local()).unwrap_err();
            assert_eq!(error, "States.Runtime", "{params}");
            assert!(cause.contains(want), "{params}: {cause}");
        }
    }

    /// The response format and error names (connect-api-gateway.html, "Response format" and "Error handling").
    #[test]
    fn results_and_errors() {
        let h = vec![("content-type".to_string(), "application/json".to_string())];
        let ok = result(200, "OK", &h, br#"{"myKey":"myValue"}"#).unwrap();
        assert_eq!(ok, json!({"Headers": {"content-type": ["application/json"]}, "ResponseBody": {"myKey": "myValue"}, "StatusCode": 200, "StatusText": "OK"}));
        assert_eq!(result(404, "Not Found", &h, br#"{"message":"Not Found"}"#).unwrap_err(), ("ApiGateway.404".to_string(), r#"{"message":"Not Found"}"#.to_string()));
    }
}
