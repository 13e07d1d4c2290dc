use super::*;
use serde_json::json;

fn event(route: &str, body: Value, sub: Option<&str>) -> Value {
    let mut e = json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": route.split_once(' ').map(|(_, p)| p).unwrap_or("/"),
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/files/create"},
            "authorizer": {"jwt": {"claims": {}, "scopes": null}}
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    });
    if let Some(sub) = sub {
        e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(sub);
    }
    e
}

fn err(r: Result<FileRequest, ApiError>) -> ApiError {
    r.expect_err("expected an error")
}

#[test]
fn create_builds_the_key_from_the_claim() {
    let r = parse_event(&event("POST /files/create", json!({"path": "docs/", "name": "a.txt", "size": 5}), Some("alice")))
        .unwrap();
    assert_eq!(r.route, Route::Create);
    assert_eq!(r.user, "alice");
    assert_eq!(r.key, "alice/docs/a.txt");
    assert_eq!(r.size, Some(5));
}

#[test]
fn user_in_body_is_ignored() {
    let r = parse_event(&event(
        "POST /files/fetch",
        json!({"user": "bob", "path": "", "name": "a.txt"}),
        Some("alice"),
    ))
    .unwrap();
    assert_eq!(r.key, "alice/a.txt");
    assert_eq!(r.size, None);
}

#[test]
fn missing_claim_is_401() {
    let e = err(parse_event(&event("POST /files/fetch", json!({"name": "a"}), None)));
    assert_eq!(e.status, 401);
}

#[test]
fn claim_with_slash_is_403() {
    let e = err(parse_event(&event("POST /files/fetch", json!({"name": "a"}), Some("bob/x"))));
    assert_eq!(e.status, 403);
}

#[test]
fn unknown_route_is_404() {
    let e = err(parse_event(&event("POST /files/other", json!({"name": "a"}), Some("u"))));
    assert_eq!(e.status, 404);
    assert_eq!(e.code, "NoSuchRoute");
}

#[test]
fn default_route_falls_back_to_method_and_path() {
    let mut e = event("$default", json!({"name": "a", "size": 1}), Some("u"));
    e["rawPath"] = json!("/files/create");
    assert_eq!(parse_event(&e).unwrap().route, Route::Create);
}

#[test]
fn path_forms() {
    assert_eq!(build_key("u", "", "f").unwrap(), "u/f");
    assert_eq!(build_key("u", "a", "f").unwrap(), "u/a/f");
    assert_eq!(build_key("u", "a/", "f").unwrap(), "u/a/f");
    assert_eq!(build_key("u", "a/b c/", "f.txt").unwrap(), "u/a/b c/f.txt");
    assert_eq!(build_key("u", "ä/", "ü").unwrap(), "u/ä/ü");
}

#[test]
fn rejects_dot_dot() {
    for (p, n) in [("../", "f"), ("a/../b/", "f"), ("a/..", "f"), ("", ".."), ("./", "f"), ("", ".")] {
        let e = build_key("u", p, n).unwrap_err();
        assert_eq!(e.status, 400, "{p:?} {n:?}");
        assert!(e.message.contains("'..'"), "{}", e.message);
    }
    // ".." inside a segment name is an ordinary name.
    assert_eq!(build_key("u", "a..b/", "f..txt").unwrap(), "u/a..b/f..txt");
}

#[test]
fn rejects_empty_segments_and_leading_slash() {
    assert!(build_key("u", "a//b/", "f").unwrap_err().message.contains("empty segments"));
    assert!(build_key("u", "/a/", "f").unwrap_err().message.contains("start with '/'"));
    assert!(build_key("u", "/", "f").unwrap_err().message.contains("start with '/'"));
    assert!(build_key("u", "a//", "f").unwrap_err().message.contains("empty segments"));
    assert!(build_key("u", "a/", "").unwrap_err().message.contains("name must not be empty"));
    assert!(build_key("u", "a/", "b/c").unwrap_err().message.contains("must not contain '/'"));
}

#[test]
fn rejects_control_characters() {
    for (p, n) in [("a\n/", "f"), ("", "f\u{0}"), ("", "f\u{7f}"), ("a\t", "f"), ("", "\u{85}x")] {
        let e = build_key("u", p, n).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("control characters"), "{}", e.message);
    }
}

#[test]
fn key_length_limit_is_1024_bytes() {
    // "u/" + name: 2 + 1022 = 1024 bytes is fine, one more byte is not.
    let ok = "x".repeat(1022);
    assert_eq!(build_key("u", "", &ok).unwrap().len(), 1024);
    let too_long = "x".repeat(1023);
    let e = build_key("u", "", &too_long).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("1025 bytes"), "{}", e.message);
    // Bytes, not characters: 511 two-byte characters + "u/" = 1024 bytes.
    assert!(build_key("u", "", &"é".repeat(511)).is_ok());
    assert!(build_key("u", "", &"é".repeat(512)).is_err());
}

#[test]
fn body_errors_are_400() {
    let mut e = event("POST /files/create", json!({}), Some("u"));
    e["body"] = json!("not json");
    assert!(err(parse_event(&e)).message.contains("not valid JSON"));
    e["body"] = json!("[1]");
    assert!(err(parse_event(&e)).message.contains("JSON object"));
    e["body"] = Value::Null;
    assert_eq!(err(parse_event(&e)).status, 400);
    let e = event("POST /files/create", json!({"name": "a"}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("size is required"));
    let e = event("POST /files/create", json!({"name": "a", "size": -1}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("whole number"));
    let e = event("POST /files/create", json!({"name": "a", "size": 1.5}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("whole number"));
    let e = event("POST /files/create", json!({"name": "a", "size": MAX_SINGLE_PUT_BYTES + 1}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("limit of a single upload"));
    let e = event("POST /files/fetch", json!({"path": 3, "name": "a"}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("path must be a string"));
    let e = event("POST /files/fetch", json!({"path": "a/"}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("name is required"));
}

#[test]
fn base64_bodies_are_decoded() {
    let mut e = event("POST /files/fetch", json!({}), Some("u"));
    // {"name":"a.txt"}
    e["body"] = json!("eyJuYW1lIjoiYS50eHQifQ==");
    e["isBase64Encoded"] = json!(true);
    assert_eq!(parse_event(&e).unwrap().key, "u/a.txt");
    e["body"] = json!("***");
    assert!(err(parse_event(&e)).message.contains("base64"));
}

#[test]
fn base64_decoder() {
    assert_eq!(base64_decode("").unwrap(), b"");
    assert_eq!(base64_decode("Zg==").unwrap(), b"f");
    assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
    assert!(base64_decode("Z").is_none());
    assert!(base64_decode("Zg=x").is_none());
}

#[test]
fn quota_counts_the_difference_on_overwrite() {
    let quota = 100;
    assert!(check_quota(Usage { total_bytes: 90, existing_bytes: 0 }, 10, quota).is_ok());
    let e = check_quota(Usage { total_bytes: 90, existing_bytes: 0 }, 11, quota).unwrap_err();
    assert_eq!(e.status, 413);
    assert_eq!(e.code, "QuotaExceeded");
    assert!(e.message.contains("101 bytes"), "{}", e.message);
    // Replacing a 50-byte file with a 60-byte one at 90/100 is fine.
    assert!(check_quota(Usage { total_bytes: 90, existing_bytes: 50 }, 60, quota).is_ok());
    assert!(check_quota(Usage { total_bytes: 90, existing_bytes: 50 }, 61, quota).is_err());
    // An inconsistent reading never underflows.
    assert!(check_quota(Usage { total_bytes: 0, existing_bytes: 50 }, 100, quota).is_ok());
    assert!(check_quota(Usage::default(), u64::MAX, quota).is_err());
}

#[test]
fn dynamodb_attributes() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use std::collections::HashMap;
    let item: HashMap<String, A> = [
        ("TotalSize".to_string(), A::N("1234".into())),
        ("Size".to_string(), A::N("-3".into())),
        ("Live".to_string(), A::Bool(true)),
    ]
    .into_iter()
    .collect();
    assert_eq!(number_attr(Some(&item), "TotalSize"), 1234);
    assert_eq!(number_attr(Some(&item), "Size"), 0);
    assert_eq!(number_attr(Some(&item), "Missing"), 0);
    assert_eq!(number_attr(None, "TotalSize"), 0);
    assert!(is_live(Some(&item)));
    let tomb: HashMap<String, A> = [("Live".to_string(), A::Bool(false))].into_iter().collect();
    assert!(!is_live(Some(&tomb)));
    assert!(!is_live(None));
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> =
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

#[test]
fn config_from_env() {
    let cfg = Config::from_env(env(&[("BUCKET_NAME", "b"), ("TABLE_NAME", "t")])).unwrap();
    assert_eq!(cfg.quota_bytes, 1 << 30);
    assert_eq!(cfg.url_expiry, Duration::from_secs(600));
    assert_eq!(cfg.s3_endpoint, None);
    let cfg = Config::from_env(env(&[
        ("BUCKET_NAME", "b"),
        ("TABLE_NAME", "t"),
        ("QUOTA_BYTES", "1000"),
        ("URL_EXPIRY_SECONDS", "60"),
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
    ]))
    .unwrap();
    assert_eq!(cfg.quota_bytes, 1000);
    assert_eq!(cfg.url_expiry, Duration::from_secs(60));
    assert_eq!(cfg.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(cfg.dynamodb_endpoint.as_deref(), Some("http://127.0.0.1:8000"));
    assert!(Config::from_env(env(&[("TABLE_NAME", "t")])).unwrap_err().contains("BUCKET_NAME"));
    assert!(Config::from_env(env(&[("BUCKET_NAME", "b"), ("TABLE_NAME", "t"), ("QUOTA_BYTES", "x")])).is_err());
    assert!(Config::from_env(env(&[("BUCKET_NAME", "b"), ("TABLE_NAME", "t"), ("URL_EXPIRY_SECONDS", "604801")]))
        .is_err());
}

#[test]
fn responses_have_real_status_codes() {
    let r = ApiError::new(404, "NotFound", "no such file").to_response();
    assert_eq!(r["statusCode"], 404);
    assert_eq!(r["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"error": "NotFound", "message": "no such file"}));
}

fn client(endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let base = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
        ))
        .build();
    let cfg = Config {
        bucket: "files".into(),
        table: "t".into(),
        quota_bytes: 1,
        url_expiry: Duration::from_secs(600),
        s3_endpoint: endpoint.map(str::to_string),
        dynamodb_endpoint: None,
    };
    aws_sdk_s3::Client::from_conf(s3_config(&base, &cfg))
}

fn query(uri: &str) -> std::collections::HashMap<String, String> {
    uri.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn presigned_put_signs_content_length() {
    let s3 = client(None);
    let req = presign_put(&s3, "files", "alice/docs/a.txt", 42, Duration::from_secs(600)).await.unwrap();
    assert_eq!(req.method(), "PUT");
    assert!(req.uri().starts_with("https://files.s3.eu-west-1.amazonaws.com/alice/docs/a.txt?"), "{}", req.uri());
    let q = query(req.uri());
    assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(q["X-Amz-Expires"], "600");
    assert!(q["X-Amz-SignedHeaders"].contains("content-length"), "{:?}", q["X-Amz-SignedHeaders"]);
    assert_eq!(q["X-Amz-Signature"].len(), 64);
    let headers: Vec<(&str, &str)> = req.headers().collect();
    assert!(headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-length") && *v == "42"), "{headers:?}");
    let body = presigned_body(&req, "alice/docs/a.txt", "alice", Duration::from_secs(600), Some(42));
    assert_eq!(body["key"], "docs/a.txt");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["headers"]["content-length"], "42");
    assert_eq!(body["size"], 42);
}

#[tokio::test]
async fn presigned_get_uses_path_style_on_a_local_endpoint() {
    let s3 = client(Some("http://127.0.0.1:4566"));
    let req = presign_get(&s3, "files", "alice/a b.txt", Duration::from_secs(60)).await.unwrap();
    assert_eq!(req.method(), "GET");
    assert!(req.uri().starts_with("http://127.0.0.1:4566/files/alice/a%20b.txt?"), "{}", req.uri());
    assert_eq!(query(req.uri())["X-Amz-Expires"], "60");
    assert_eq!(query(req.uri())["X-Amz-SignedHeaders"], "host");
}
