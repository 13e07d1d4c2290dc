//! The HTTP Task against real HTTP servers on 127.0.0.1. Each case cites the AWS page its
//! expectation comes from.

use asl_http_task::{connection::connection_arn, Connections, HttpInvoker};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

const CALL_HTTPS_APIS: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html";
const EB_AUTH: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html";

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A canned response.
struct Reply {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, reason: &'static str, content_type: &str, body: &str) -> Reply {
    Reply { status, reason, headers: vec![("Content-Type", content_type.to_string())], body: body.to_string(), delay: Duration::ZERO }
}

/// Serves `replies` in order, one connection each, and reports what it received.
fn server(replies: Vec<Reply>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for r in replies {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            let len: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let _ = tx.send(Seen { method, target, headers, body: String::from_utf8_lossy(&body).into_owned() });
            std::thread::sleep(r.delay);
            let mut out = stream;
            let mut head = format!("HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n", r.status, r.reason, r.body.len());
            for (k, v) in &r.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(r.body.as_bytes());
        }
    });
    (base, rx)
}

fn connections(list: Value) -> Connections {
    let mut c = Connections::new();
    c.load_document(&json!({"Connections": list}), "us-east-1", "123456789012").unwrap();
    c
}

fn api_key_connection() -> Connections {
    connections(json!([{"Name": "Stripe", "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": "Bearer sk_test_123"}}}]))
}

const STRIPE_ARN: &str = "arn:aws:events:us-east-2:123456789012:connection/Stripe/81210c42-8af1-456b-9c4a-6ff02fc664ac";

fn recv(rx: &mpsc::Receiver<Seen>) -> Seen {
    rx.recv_timeout(Duration::from_secs(10)).expect("the server saw no request")
}

/// Source: "HTTP Task definition" and "HTTP Task example" (the Stripe list-customers call), CALL_HTTPS_APIS.
#[test]
fn get_with_api_key_connection_returns_aws_result_shape() {
    let (base, rx) = server(vec![reply(200, "OK", "application/json", r#"{"object":"list","data":[{"id":"cus_1"}]}"#)]);
    let params = json!({"ApiEndpoint": format!("{base}/v1/customers"), "Method": "GET", "Authentication": {"ConnectionArn": STRIPE_ARN}});
    let out = HttpInvoker::new().invoke(&api_key_connection(), &params, "us-east-2", None).unwrap();
    assert_eq!(out["StatusCode"], json!(200), "{CALL_HTTPS_APIS}");
    assert_eq!(out["StatusText"], json!("OK"));
    assert_eq!(out["ResponseBody"], json!({"object": "list", "data": [{"id": "cus_1"}]}));
    assert_eq!(out["Headers"]["content-type"], json!(["application/json"]));
    let seen = recv(&rx);
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("GET", "/v1/customers"));
    assert_eq!(seen.header("Authorization"), Some("Bearer sk_test_123"));
    assert_eq!(seen.header("User-Agent"), Some("Amazon|StepFunctions|HttpInvoke|us-east-2"));
    assert_eq!(seen.header("Range"), Some("bytes=0-262144"));
    assert_eq!(seen.body, "");
}

/// Source: "Merging EventBridge connection and HTTP Task definition data", CALL_HTTPS_APIS, and
/// HttpParameters ("any values from the Connection taking precedence"),
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html
#[test]
fn connection_parameters_merge_over_the_task() {
    let conns = connections(json!([{"Name": "Merge", "AuthorizationType": "BASIC",
        "AuthParameters": {"BasicAuthParameters": {"Username": "user", "Password": "p@ss"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "X-Api-Version", "Value": "2022-11-15"}],
                "QueryStringParameters": [{"Key": "limit", "Value": "5"}],
                "BodyParameters": [{"Key": "StripeApiVersion", "Value": "2022-11-15"}, {"Key": "Name", "Value": "from connection"}]}}}]));
    let (base, rx) = server(vec![reply(201, "Created", "application/json", r#"{"id":"cus_2"}"#)]);
    let params = json!({"ApiEndpoint": format!("{base}/v1/customers?expand=x"), "Method": "POST",
        "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/Merge/1"},
        "Headers": {"X-Api-Version": "old", "X-Request-Id": 7},
        "QueryParameters": {"limit": "100", "starting_after": "cus 0"},
        "RequestBody": {"Email": "jane@example.com", "Name": "Jane"}});
    let out = HttpInvoker::new().invoke(&conns, &params, "us-east-1", None).unwrap();
    assert_eq!(out["StatusCode"], json!(201));
    let seen = recv(&rx);
    assert_eq!(seen.target, "/v1/customers?expand=x&starting_after=cus%200&limit=5");
    assert_eq!(seen.header("X-Api-Version"), Some("2022-11-15"));
    assert_eq!(seen.header("X-Request-Id"), Some("7"));
    assert_eq!(seen.header("Authorization"), Some("Basic dXNlcjpwQHNz"));
    assert_eq!(seen.header("Content-Type"), Some("application/json; charset=UTF-8"));
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body, json!({"Email": "jane@example.com", "Name": "from connection", "StripeApiVersion": "2022-11-15"}));
}

/// Source: "Apply URL-encoding on request body", CALL_HTTPS_APIS#url-encode-request-body.
#[test]
fn url_encoded_bodies_with_each_array_format() {
    let cases = [
        (None, "array[0]=a&array[1]=b&name=J%20D"),
        (Some("INDICES"), "array[0]=a&array[1]=b&name=J%20D"),
        (Some("REPEAT"), "array=a&array=b&name=J%20D"),
        (Some("COMMAS"), "array=a,b&name=J%20D"),
        (Some("BRACKETS"), "array[]=a&array[]=b&name=J%20D"),
    ];
    for (format, want) in cases {
        let (base, rx) = server(vec![reply(200, "OK", "text/plain", "ok")]);
        let mut transform = json!({"RequestBodyEncoding": "URL_ENCODED"});
        if let Some(f) = format {
            transform["RequestEncodingOptions"] = json!({"ArrayFormat": f});
        }
        let params = json!({"ApiEndpoint": format!("{base}/form"), "Method": "POST", "Authentication": {"ConnectionArn": STRIPE_ARN},
            "RequestBody": {"array": ["a", "b"], "name": "J D"}, "Transform": transform});
        let out = HttpInvoker::new().invoke(&api_key_connection(), &params, "us-east-1", None).unwrap();
        assert_eq!(out["ResponseBody"], json!("ok"));
        let seen = recv(&rx);
        assert_eq!(seen.body, want, "{format:?}");
        assert_eq!(seen.header("Content-Type"), Some("application/x-www-form-urlencoded"));
    }
}

/// Source: "HTTP Task fields" (Headers: the headers Step Functions does not allow), CALL_HTTPS_APIS.
#[test]
fn bad_parameters_fail_before_any_request() {
    let conns = api_key_connection();
    let ok = json!({"ApiEndpoint": "http://127.0.0.1:9/x", "Method": "GET", "Authentication": {"ConnectionArn": STRIPE_ARN}});
    let with = |k: &str, v: Value| {
        let mut p = ok.clone();
        p[k] = v;
        p
    };
    let without = |k: &str| {
        let mut p = ok.clone();
        p.as_object_mut().unwrap().remove(k);
        p
    };
    let cases = [
        (with("Headers", json!({"Host": "evil"})), "States.Runtime", "The header 'Host' is not allowed"),
        (with("Headers", json!({"X-Amz-Date": "x"})), "States.Runtime", "The header 'X-Amz-Date' is not allowed"),
        (with("Headers", json!({"x-forwarded-for": "1.2.3.4"})), "States.Runtime", "not allowed"),
        (with("Headers", json!({"Authorization": "Bearer mine"})), "States.Runtime", "The header 'Authorization' is not allowed"),
        (with("Method", json!("FETCH")), "States.Runtime", "The Method 'FETCH' is not supported"),
        (without("Method"), "States.Runtime", "The field 'Method' is required"),
        (without("ApiEndpoint"), "States.Runtime", "The field 'ApiEndpoint' is required"),
        (with("ApiEndpoint", json!("ftp://example.com/x")), "States.Runtime", "is not an http or https URL"),
        (without("Authentication"), "States.Runtime", "Authentication.ConnectionArn' is required"),
        (with("Transform", json!({"RequestBodyEncoding": "BASE64"})), "States.Runtime", "RequestBodyEncoding 'BASE64' is not supported"),
        (with("Transform", json!({"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "PHP"}})), "States.Runtime", "ArrayFormat 'PHP'"),
        (with("QueryParameters", json!("a=b")), "States.Runtime", "'QueryParameters' must be an object"),
        (with("Authentication", json!({"ConnectionArn": "arn:aws:events:us-east-1:1:connection/Nope/1"})), "Events.ConnectionResource.ResourceNotFound", "does not exist"),
        (json!([1]), "States.Runtime", "must be an object"),
    ];
    for (params, error, cause) in cases {
        let (e, c) = HttpInvoker::new().invoke(&conns, &params, "us-east-1", None).unwrap_err();
        assert_eq!(e, error, "{params}");
        assert!(c.contains(cause), "{params}: {c}");
    }
}

/// Source: States.Http.StatusCode.NNN errors of an HTTP Task, CALL_HTTPS_APIS ("HTTP Task fields" /
/// error handling, https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
#[test]
fn statuses_outside_2xx_fail_the_task() {
    for (status, reason) in [(400, "Bad Request"), (404, "Not Found"), (429, "Too Many Requests"), (500, "Internal Server Error")] {
        let (base, _rx) = server(vec![reply(status, reason, "application/json", r#"{"error":{"message":"nope"}}"#)]);
        let params = json!({"ApiEndpoint": format!("{base}/v1/x"), "Method": "DELETE", "Authentication": {"ConnectionArn": STRIPE_ARN}});
        let (error, cause) = HttpInvoker::new().invoke(&api_key_connection(), &params, "us-east-1", None).unwrap_err();
        assert_eq!(error, format!("States.Http.StatusCode.{status}"));
        let cause: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(cause["StatusCode"], json!(status));
        assert_eq!(cause["StatusText"], json!(reason));
        assert_eq!(cause["ResponseBody"], json!({"error": {"message": "nope"}}));
    }
}

/// Source: States.Http.Socket ("an HTTP task times out after 60 seconds"),
/// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html; a shorter
/// TimeoutSeconds ends the task first with States.Timeout.
#[test]
fn unreachable_endpoints_and_timeouts() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let params = json!({"ApiEndpoint": format!("http://127.0.0.1:{port}/x"), "Method": "GET", "Authentication": {"ConnectionArn": STRIPE_ARN}});
    let (error, cause) = HttpInvoker::new().invoke(&api_key_connection(), &params, "us-east-1", None).unwrap_err();
    assert_eq!(error, "States.Http.Socket");
    assert!(cause.contains("127.0.0.1"), "{cause}");

    let mut slow = reply(200, "OK", "text/plain", "late");
    slow.delay = Duration::from_secs(3);
    let (base, _rx) = server(vec![slow]);
    let params = json!({"ApiEndpoint": format!("{base}/slow"), "Method": "GET", "Authentication": {"ConnectionArn": STRIPE_ARN}});
    let started = std::time::Instant::now();
    let (error, _) = HttpInvoker::new().invoke(&api_key_connection(), &params, "us-east-1", Some(1.0)).unwrap_err();
    assert_eq!(error, "States.Timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Source: OAuth connections exchange the client id and secret for a token, refreshed on 401/407,
/// EB_AUTH; the connection's OAuthHttpParameters go with the token request only.
#[test]
fn oauth_client_credentials_fetch_cache_and_refresh_the_token() {
    let token_reply = |t: &str| reply(200, "OK", "application/json", &format!(r#"{{"access_token":"{t}","token_type":"Bearer","expires_in":3600}}"#));
    let (auth_base, auth_rx) = server(vec![token_reply("tok-1"), token_reply("tok-2")]);
    let (api_base, api_rx) = server(vec![
        reply(200, "OK", "application/json", "{\"n\":1}"),
        reply(401, "Unauthorized", "application/json", "{}"),
        reply(200, "OK", "application/json", "{\"n\":3}"),
    ]);
    let conns = connections(json!([{"Name": "Okta", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {"OAuthParameters": {
        "AuthorizationEndpoint": format!("{auth_base}/oauth2/token"), "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "client", "ClientSecret": "secret"},
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}, {"Key": "scope", "Value": "users.read"}],
            "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1"}]}},
        "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Invocation", "Value": "yes"}]}}}]));
    let invoker = HttpInvoker::new();
    let params = json!({"ApiEndpoint": format!("{api_base}/api/v1/users"), "Method": "GET",
        "Authentication": {"ConnectionArn": connection_arn("us-east-1", "123456789012", "Okta")}});

    assert_eq!(invoker.invoke(&conns, &params, "us-east-1", None).unwrap()["ResponseBody"], json!({"n": 1}), "{EB_AUTH}");
    let token_req = recv(&auth_rx);
    assert_eq!((token_req.method.as_str(), token_req.target.as_str()), ("POST", "/oauth2/token"));
    assert_eq!(token_req.header("Authorization"), Some("Basic Y2xpZW50OnNlY3JldA=="));
    assert_eq!(token_req.header("Content-Type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(token_req.header("X-Tenant"), Some("t1"));
    assert_eq!(token_req.header("X-Invocation"), None);
    assert_eq!(token_req.body, "grant_type=client_credentials&scope=users.read");
    let first = recv(&api_rx);
    assert_eq!(first.header("Authorization"), Some("Bearer tok-1"));
    assert_eq!(first.header("X-Invocation"), Some("yes"));
    assert_eq!(first.header("X-Tenant"), None);

    // Cached: the second call reuses tok-1; the API answers 401, so the token is dropped.
    assert_eq!(invoker.invoke(&conns, &params, "us-east-1", None).unwrap_err().0, "States.Http.StatusCode.401");
    assert_eq!(recv(&api_rx).header("Authorization"), Some("Bearer tok-1"));
    assert!(auth_rx.recv_timeout(Duration::from_millis(100)).is_err(), "no second token request before the 401");
    // The retry gets a fresh token.
    assert_eq!(invoker.invoke(&conns, &params, "us-east-1", None).unwrap()["ResponseBody"], json!({"n": 3}));
    recv(&auth_rx);
    assert_eq!(recv(&api_rx).header("Authorization"), Some("Bearer tok-2"));
}

/// Source: a connection whose authorization fails is not usable, EB_AUTH; Step Functions reports
/// connection problems as Events.ConnectionResource.* errors, CALL_HTTPS_APIS ("Connection errors").
#[test]
fn oauth_failures_are_connection_errors() {
    let (auth_base, _rx) = server(vec![reply(401, "Unauthorized", "application/json", r#"{"error":"invalid_client"}"#)]);
    let conns = connections(json!([{"Name": "Bad", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {"OAuthParameters": {
        "AuthorizationEndpoint": format!("{auth_base}/token"), "HttpMethod": "GET", "ClientParameters": {"ClientID": "c", "ClientSecret": "s"}}}}]));
    let params = json!({"ApiEndpoint": "http://127.0.0.1:9/x", "Method": "GET", "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/Bad/1"}});
    let (error, cause) = HttpInvoker::new().invoke(&conns, &params, "us-east-1", None).unwrap_err();
    assert_eq!(error, "Events.ConnectionResource.InvalidConnectionState");
    assert!(cause.contains("401") && cause.contains("invalid_client"), "{cause}");
}

/// A text body and a JSON-typed body with a charset; PUT and PATCH carry bodies (CALL_HTTPS_APIS, RequestBody).
#[test]
fn text_and_json_bodies() {
    let (base, rx) = server(vec![reply(200, "OK", "application/json; charset=utf-8", "[1,2]"), reply(200, "OK", "text/csv", "a,b\n1,2\n")]);
    let conns = api_key_connection();
    let p1 = json!({"ApiEndpoint": format!("{base}/a"), "Method": "PUT", "Authentication": {"ConnectionArn": STRIPE_ARN},
        "Headers": {"Content-Type": "text/plain"}, "RequestBody": "raw text"});
    assert_eq!(HttpInvoker::new().invoke(&conns, &p1, "us-east-1", None).unwrap()["ResponseBody"], json!([1, 2]));
    let seen = recv(&rx);
    assert_eq!((seen.body.as_str(), seen.header("Content-Type")), ("raw text", Some("text/plain")));
    let p2 = json!({"ApiEndpoint": format!("{base}/b"), "Method": "PATCH", "Authentication": {"ConnectionArn": STRIPE_ARN}, "RequestBody": [1, {"a": null}]});
    assert_eq!(HttpInvoker::new().invoke(&conns, &p2, "us-east-1", None).unwrap()["ResponseBody"], json!("a,b\n1,2\n"));
    assert_eq!(recv(&rx).body, "[1,{\"a\":null}]");
}
