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
    // Over 5 GiB is a multipart upload now; only S3's 5 TiB object limit refuses.
    let e = event("POST /files/create", json!({"name": "a", "size": MAX_SINGLE_PUT_BYTES + 1}), Some("u"));
    assert_eq!(parse_event(&e).unwrap().size, Some(MAX_SINGLE_PUT_BYTES + 1));
    let e = event("POST /files/create", json!({"name": "a", "size": MAX_OBJECT_BYTES + 1}), Some("u"));
    assert!(err(parse_event(&e)).message.contains("5 TiB"));
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
    assert_eq!(cfg.multipart_threshold, 100 * 1024 * 1024);
    let low = Config::from_env(env(&[("BUCKET_NAME", "b"), ("TABLE_NAME", "t"), ("MULTIPART_THRESHOLD_BYTES", "5242880")]));
    assert_eq!(low.unwrap().multipart_threshold, MIN_PART_BYTES);
    // Below S3's 5 MiB minimum part size a threshold would make uploads S3 refuses.
    assert!(Config::from_env(env(&[("BUCKET_NAME", "b"), ("TABLE_NAME", "t"), ("MULTIPART_THRESHOLD_BYTES", "1000")]))
        .unwrap_err()
        .contains("MULTIPART_THRESHOLD_BYTES"));
}

#[test]
fn part_plans_stay_within_s3_limits() {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html: 5 TiB objects, 10,000
    // parts, parts of 5 MiB to 5 GiB (the last one may be smaller).
    for size in [1, MIN_PART_BYTES, 50 * 1000 * 1000, 6 * 1000 * 1000 * 1000, (1 << 31) + 1, (1 << 32) + 7, MAX_OBJECT_BYTES] {
        let plan = PartPlan::for_size(size);
        assert!(plan.part_count <= MAX_PARTS, "{size}: {plan:?}");
        assert!((MIN_PART_BYTES..=MAX_PART_BYTES).contains(&plan.part_size), "{size}: {plan:?}");
        let total: u64 = (1..=plan.part_count).map(|n| plan.part_length(size, n)).sum();
        assert_eq!(total, size, "the parts add up to the file");
        assert!(plan.part_length(size, plan.part_count) > 0);
    }
    assert_eq!(PartPlan::for_size(50 * 1000 * 1000), PartPlan { part_size: DEFAULT_PART_BYTES, part_count: 6 });
    let biggest = PartPlan::for_size(MAX_OBJECT_BYTES);
    assert_eq!(biggest, PartPlan { part_size: 525 * 1024 * 1024, part_count: 9_987 });
}

#[test]
fn multipart_routes_need_an_upload_id_and_valid_parts() {
    let e = event("POST /files/parts", json!({"name": "big.bin", "uploadId": "u1", "partNumbers": [1, 2]}), Some("alice"));
    let r = parse_event(&e).unwrap();
    assert_eq!((r.route, r.upload_id.as_deref(), r.part_numbers.clone()), (Route::Parts, Some("u1"), vec![1, 2]));
    let e = event("POST /files/parts", json!({"name": "big.bin", "partNumbers": [1]}), Some("alice"));
    assert!(err(parse_event(&e)).message.contains("uploadId is required"));
    let e = event("POST /files/parts", json!({"name": "b", "uploadId": "u", "partNumbers": [0]}), Some("alice"));
    assert!(err(parse_event(&e)).message.contains("from 1 to 10000"));
    let many: Vec<u64> = (1..=101).collect();
    let e = event("POST /files/parts", json!({"name": "b", "uploadId": "u", "partNumbers": many}), Some("alice"));
    assert!(err(parse_event(&e)).message.contains("1 to 100 parts"));
    let e = event(
        "POST /files/complete",
        json!({"name": "b", "uploadId": "u", "parts": [{"partNumber": 1, "etag": "\"e1\""}, {"partNumber": 2, "ETag": "e2"}]}),
        Some("alice"),
    );
    let r = parse_event(&e).unwrap();
    assert_eq!(r.parts, vec![UploadedPart { part_number: 1, etag: "\"e1\"".into() }, UploadedPart { part_number: 2, etag: "e2".into() }]);
    let e = event("POST /files/complete", json!({"name": "b", "uploadId": "u", "parts": [{"partNumber": 2, "etag": "x"}, {"partNumber": 1, "etag": "y"}]}), Some("alice"));
    assert!(err(parse_event(&e)).message.contains("ascending"));
    let e = event("POST /files/complete", json!({"name": "b", "uploadId": "u", "parts": [{"partNumber": 1}]}), Some("alice"));
    assert!(err(parse_event(&e)).message.contains("no etag"));
    let e = event("POST /files/abort", json!({"name": "b", "uploadId": "u"}), Some("alice"));
    assert_eq!(parse_event(&e).unwrap().route, Route::Abort);
}

#[test]
fn reservations_are_exact_and_replace_only_expired_ones() {
    assert_eq!(reservation_delta(None, 300, 1000).unwrap(), 300);
    let live = Pending { reservation_id: "r1".into(), size: 200, expires: 1600, upload_id: None };
    let e = reservation_delta(Some(&live), 300, 1000).unwrap_err();
    assert_eq!((e.status, e.code), (409, "UploadInProgress"));
    assert!(e.message.contains("600 more seconds"));
    let expired = Pending { expires: 999, ..live.clone() };
    assert_eq!(reservation_delta(Some(&expired), 300, 1000).unwrap(), 100, "the expired 200 bytes are reused");
    assert_eq!(reservation_delta(Some(&expired), 50, 1000).unwrap(), -150);
    // Committed + delta <= quota  <=>  Committed <= quota - delta.
    assert_eq!(committed_limit(1000, 300), Some(700));
    assert_eq!(committed_limit(1000, -150), Some(1150));
    assert_eq!(committed_limit(1000, 1001), None);
    let e = quota_exceeded(300, 900, 1000);
    assert_eq!((e.status, e.code), (413, "QuotaExceeded"));
    assert!(e.message.contains("1200 bytes") && e.message.contains("quota of 1000 bytes"), "{}", e.message);
}

#[test]
fn the_reservation_is_one_conditional_transaction() {
    let r = Reservation {
        user: "alice", key: "alice/a.bin", size: 6_000_000_000, reservation_id: "req-1", created: 10, expires: 610,
        upload_id: Some("up-1"), part_size: Some(DEFAULT_PART_BYTES),
    };
    let items = reservation_transaction("inv", &r, None, 6_000_000_000, 1_000).unwrap();
    assert_eq!(items.len(), 2);
    let put = items[0].put().unwrap();
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(#sk)"));
    let item = put.item();
    assert_eq!(item["SK"].as_s().unwrap(), "Reservation#alice/a.bin");
    assert_eq!(item["Size"].as_n().unwrap(), "6000000000", "sizes past 2^32 are written exactly");
    assert_eq!(item["Pending"].as_s().unwrap(), PENDING_RESERVATION);
    assert_eq!(item["Expires"].as_n().unwrap(), "610");
    assert_eq!(item["UploadId"].as_s().unwrap(), "up-1");
    assert!(!*item["Live"].as_bool().unwrap());
    let update = items[1].update().unwrap();
    assert_eq!(update.update_expression(), "ADD #reserved :delta, #committed :delta, #total :zero");
    assert_eq!(update.condition_expression(), Some("attribute_not_exists(#committed) OR #committed <= :limit"));
    assert_eq!(update.expression_attribute_values().unwrap()[":limit"].as_n().unwrap(), "1000");
    let old = Pending { reservation_id: "old".into(), size: 5, expires: 1, upload_id: None };
    let single = Reservation { upload_id: None, part_size: None, ..r };
    let items = reservation_transaction("inv", &single, Some(&old), 10, 990).unwrap();
    let put = items[0].put().unwrap();
    assert_eq!(put.condition_expression(), Some("#rid = :oldrid"));
    assert!(!put.item().contains_key("UploadId"));
    assert!(put.expression_attribute_names().unwrap().get("#sk").is_none(), "no unused names (DynamoDB refuses them)");
    let release = release_transaction("inv", "alice", "alice/a.bin", &old).unwrap();
    assert_eq!(release[0].delete().unwrap().condition_expression(), Some("#rid = :rid"));
    assert_eq!(release[1].update().unwrap().expression_attribute_values().unwrap()[":minus"].as_n().unwrap(), "-5");
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
        multipart_threshold: 100 * 1024 * 1024,
        multipart_lifetime: Duration::from_secs(86_400),
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

#[test]
fn the_simulated_client_reserves_with_the_lambdas_expressions() {
    // tests/simulation/file-manager-quota.sim.yaml models this Lambda's create as a state
    // machine (the simulator cannot run the Lambda); it must use the same conditional write.
    let sim = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/simulation/file-manager-quota.sim.yaml"))
        .expect("the simulation scenario");
    let r = Reservation {
        user: "u", key: "u/k", size: 1, reservation_id: "r", created: 0, expires: 1, upload_id: None, part_size: None,
    };
    let items = reservation_transaction("inventory", &r, None, 1, 19).unwrap();
    let put = items[0].put().unwrap();
    let update = items[1].update().unwrap();
    for expr in [put.condition_expression().unwrap(), update.update_expression(), update.condition_expression().unwrap()] {
        assert!(sim.contains(&format!("\"{expr}\"")), "the simulated client does not use {expr:?}");
    }
    for (placeholder, name) in update.expression_attribute_names().unwrap() {
        assert!(sim.contains(&format!("\"{placeholder}\": \"{name}\"")), "{placeholder} = {name}");
    }
    for attr in put.item().keys() {
        assert!(sim.contains(&format!("\"{attr}\": {{")), "the simulated reservation lacks {attr}");
    }
}

#[test]
fn the_simulated_abort_releases_with_the_lambdas_expressions() {
    // The scenario's abort route (Abort Upload, Release Reservation) stands for `abort`; its
    // release must be this transaction, or the simulation checks another one.
    let sim = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/simulation/file-manager-quota.sim.yaml"))
        .expect("the simulation scenario");
    let pending = Pending { reservation_id: "r".into(), size: 9, expires: 1, upload_id: Some("up".into()) };
    let items = release_transaction("inventory", "u", "u/k", &pending).unwrap();
    let delete = items[0].delete().unwrap();
    let update = items[1].update().unwrap();
    for expr in [delete.condition_expression().unwrap(), update.update_expression()] {
        assert!(sim.contains(&format!("\"{expr}\"")), "the simulated abort does not use {expr:?}");
    }
    let names = delete.expression_attribute_names().unwrap().iter().chain(update.expression_attribute_names().unwrap());
    for (placeholder, name) in names {
        assert!(sim.contains(&format!("\"{placeholder}\": \"{name}\"")), "{placeholder} = {name}");
    }
    assert_eq!(update.expression_attribute_values().unwrap()[":minus"].as_n().unwrap(), "-9");
    assert!(sim.contains("\":minus\": {N: \"{% $string(-$states.input.size) %}\"}"), "the simulated release subtracts the size");
}

#[tokio::test]
async fn presigned_parts_sign_their_exact_length() {
    let s3 = client(None);
    let size = 6_000_000_000u64;
    let plan = PartPlan::for_size(size);
    let last = plan.part_count;
    let req = presign_part(&s3, "files", "alice/big.bin", "up-1", last, plan.part_length(size, last), Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(req.method(), "PUT");
    let q = query(req.uri());
    assert_eq!((q["partNumber"].as_str(), q["uploadId"].as_str()), ("716", "up-1"));
    assert!(q["X-Amz-SignedHeaders"].contains("content-length"), "{:?}", q["X-Amz-SignedHeaders"]);
    let entry = part_entry(&req, last);
    assert_eq!(entry["partNumber"], 716);
    assert_eq!(entry["headers"]["content-length"], "2145280", "the last part: 6e9 - 715 x 8 MiB");
}
