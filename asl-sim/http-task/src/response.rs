//! The task's result from the HTTP response
//! (https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html, "HTTP Task example"
//! shows the result shape: `Headers` (each name to a list of values), `ResponseBody`, `StatusCode`,
//! `StatusText`).

use crate::{failure, Failure};
use serde_json::{json, Map, Value};

/// The largest response body read: Step Functions asks for 256 KiB (the `Range` header) and a
/// task result can be no larger.
pub const MAX_BODY: usize = 262_144;

/// Whether a media type is JSON (`application/json`, `application/problem+json`, ...).
fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The result of a response, or the task's error: a status outside 2xx fails the task with
/// `States.Http.StatusCode.NNN`; the cause carries the same result object as JSON text, so a
/// Catch can still read the body and headers.
pub fn task_result(status: u16, status_text: &str, headers: &[(String, String)], body: &[u8]) -> Result<Value, Failure> {
    let mut grouped: Map<String, Value> = Map::new();
    for (k, v) in headers {
        let entry = grouped.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(v.clone()));
        }
    }
    if body.len() > MAX_BODY {
        return Err(failure(
            "States.DataLimitExceeded",
            format!("The HTTP response body ({} bytes) exceeds the maximum of {MAX_BODY} bytes.", body.len()),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| failure("States.Runtime", "The HTTP response body is not UTF-8 text; Step Functions cannot return binary responses."))?;
    let content_type = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str());
    let response_body = if is_json(content_type) && !text.trim().is_empty() {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    } else {
        Value::String(text.to_string())
    };
    let result = json!({
        "Headers": Value::Object(grouped),
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": status_text,
    });
    if (200..300).contains(&status) {
        Ok(result)
    } else {
        Err((format!("States.Http.StatusCode.{status}"), result.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Source: "HTTP Task example", https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html#connect-http-task-example
    #[test]
    fn json_bodies_are_parsed_others_are_text() {
        let r = task_result(200, "OK", &h(&[("content-type", "application/json; charset=utf-8"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]), br#"{"object":"list","data":[]}"#).unwrap();
        assert_eq!(r, json!({"Headers": {"content-type": ["application/json; charset=utf-8"], "set-cookie": ["a=1", "b=2"]},
            "ResponseBody": {"object": "list", "data": []}, "StatusCode": 200, "StatusText": "OK"}));
        let r = task_result(201, "Created", &h(&[("content-type", "text/plain")]), b"{\"a\":1}").unwrap();
        assert_eq!(r["ResponseBody"], json!("{\"a\":1}"));
        let r = task_result(200, "OK", &h(&[("content-type", "application/problem+json")]), b"{\"a\":1}").unwrap();
        assert_eq!(r["ResponseBody"], json!({"a": 1}));
        // Declared JSON that is not: kept as text rather than lost.
        let r = task_result(200, "OK", &h(&[("content-type", "application/json")]), b"not json").unwrap();
        assert_eq!(r["ResponseBody"], json!("not json"));
        let r = task_result(204, "No Content", &[], b"").unwrap();
        assert_eq!(r["ResponseBody"], json!(""));
    }

    #[test]
    fn statuses_outside_2xx_fail_with_the_result_as_cause() {
        let (error, cause) = task_result(404, "Not Found", &h(&[("content-type", "application/json")]), br#"{"message":"no such user"}"#).unwrap_err();
        assert_eq!(error, "States.Http.StatusCode.404");
        let cause: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(cause["ResponseBody"], json!({"message": "no such user"}));
        assert_eq!(cause["StatusCode"], json!(404));
        assert_eq!(task_result(503, "Service Unavailable", &[], b"").unwrap_err().0, "States.Http.StatusCode.503");
        assert_eq!(task_result(302, "Found", &[], b"").unwrap_err().0, "States.Http.StatusCode.302");
    }

    #[test]
    fn oversized_and_binary_bodies_are_errors() {
        let big = vec![b'a'; MAX_BODY + 1];
        assert_eq!(task_result(200, "OK", &[], &big).unwrap_err().0, "States.DataLimitExceeded");
        assert!(task_result(200, "OK", &[], &vec![b'a'; MAX_BODY]).is_ok());
        assert_eq!(task_result(200, "OK", &[], &[0xff, 0xfe]).unwrap_err().0, "States.Runtime");
    }
}
