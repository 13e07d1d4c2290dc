//! End-to-end tests of `asl-sim serve` on the project's template.yaml: serve starts
//! in-process on free ports (127.0.0.1, port 0); the AWS SDK for Rust and plain HTTP
//! drive it. The presign Lambda runs as its real binary (built by cargo if missing).

use aws_sdk_s3::presigning::PresigningConfig;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};



fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The presign binary: next to this test's target dir, else built with cargo into a
/// separate target dir (the running `cargo test` holds the lock on its own).
fn presign_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("PRESIGN_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test exe");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/debug");
        let here = profile_dir.join("presign");
        if here.is_file() {
            return here;
        }
        let target = profile_dir.parent().expect("target").join("serve-tests");
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "presign", "--target-dir"])
            .arg(&target)
            .current_dir(root())
            .status()
            .expect("cargo build -p presign");
        assert!(status.success(), "cargo build -p presign failed");
        target.join("debug").join("presign")
    })
    .clone()
}

struct Serve {
    handle: Option<asl_serve::Handle>,
    data_dir: PathBuf,
}

impl Serve {
    fn start(params: &[&str]) -> Serve {
        Serve::start_with(params, Default::default())
    }
    fn start_with(params: &[&str], limits: asl_serve::ConnectionLimits) -> Serve {
        Serve::start_full(None, params, limits)
    }
    /// `template`: another template than the project's (None: template.yaml as served).
    fn start_full(template: Option<&Path>, params: &[&str], limits: asl_serve::ConnectionLimits) -> Serve {
        Serve::start_mocked(template, params, limits, None)
    }
    /// `mock_config`: a Step Functions Local mock config file (`--mock-config`).
    fn start_mocked(template: Option<&Path>, params: &[&str], limits: asl_serve::ConnectionLimits, mock_config: Option<&Path>) -> Serve {
        let n = std::sync::atomic::AtomicU64::new(0);
        let data_dir = std::env::temp_dir().join(format!(
            "asl-serve-test-{}-{}-{}",
            std::process::id(),
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos(),
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let args = asl_serve::ServeArgs {
            parameters: params.iter().map(|s| s.to_string()).collect(),
            stack_name: "file-manager".into(),
            function_binaries: vec![format!("PresignFunction={}", presign_binary().display())],
            quiet: std::env::var("SERVE_LOG").is_err(),
            mock_config: mock_config.map(Path::to_path_buf),
            limits,
            ..asl_serve::ServeArgs::local(template.map(Path::to_path_buf).unwrap_or_else(|| serve_template(&data_dir)), data_dir.clone())
        };
        let (handle, banner) = asl_serve::start(&args).unwrap_or_else(|e| panic!("serve did not start: {e}"));
        assert!(banner.contains(&format!("http://{}", handle.api_addr)), "{banner}");
        Serve { handle: Some(handle), data_dir }
    }
    fn h(&self) -> &asl_serve::Handle {
        self.handle.as_ref().unwrap()
    }
    fn aws(&self) -> String {
        format!("http://{}", self.h().aws_addr)
    }
    /// The SDK's configuration for this serve's AWS endpoint (us-east-1, the test keys).
    async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_config(&self.aws(), "test").await
    }
    async fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk().await)
    }
    async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk().await)
    }
    fn api(&self) -> String {
        format!("http://{}", self.h().api_addr)
    }
    fn token(&self, user: &str, expires: i64) -> String {
        asl_serve::mint_token(&self.data_dir, user, asl_serve::template::LOCAL_ISSUER, asl_serve::template::LOCAL_AUDIENCE, expires).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Resources of template.yaml that `asl-sim serve` does not run yet, each with the reason;
/// the tests serve a copy without them (and with absolute DefinitionUris, since the copy lives
/// in the test's data directory). The integrator's list of what serve must support.
const NOT_SERVED: &[(&str, &str)] = &[
    // EventBridge Scheduler: serve runs it every 5 minutes; the tests start the release workflow themselves, so no timer fires mid-check.
    ("ReleaseReservationsSchedule", "AWS::Scheduler::Schedule"),
    // Queue policies are IAM: serve accepts AWS::SQS::Queue but not AWS::SQS::QueuePolicy.
    ("DeadLetterQueuePolicy", "AWS::SQS::QueuePolicy"),
];

fn serve_template(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let top_level_resource = line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':');
        if top_level_resource || !line.starts_with(' ') {
            let name = line.trim().trim_end_matches(':');
            skipping = top_level_resource && NOT_SERVED.iter().any(|(n, _)| *n == name);
        }
        if skipping {
            continue;
        }
        match line.trim_start().strip_prefix("DefinitionUri: ") {
            Some(rel) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!("{indent}DefinitionUri: {}\n", root().join(rel).display()));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (name, ty) in NOT_SERVED {
        assert!(text.contains(&format!("  {name}:\n    Type: {ty}")), "{name} ({ty}) is no longer in template.yaml");
        assert!(!out.contains(&format!("  {name}:\n")), "{name} was not removed");
    }
    let path = dir.join("template.yaml");
    std::fs::write(&path, out).expect("write the served template");
    path
}
mod attacks;
mod control;
mod wire;

const BUCKET: &str = "file-manager-filebucket";
const TABLE: &str = "file-manager-InventoryTable";

// ------------------------------------------------------------------ plain HTTP

struct HttpResp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    #[allow(dead_code)]
    fn header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResp {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    let has_len = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_len && (method != "GET" || !body.is_empty()) {
        req.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let r = wire::exchange(host, &req, body);
    HttpResp { status: r.status, headers: r.headers, body: r.body }
}

fn api_call(s: &Serve, method: &str, path: &str, token: Option<&str>, body: &Value) -> HttpResp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        h.push(("authorization", a.as_str()));
    }
    let b = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    http(method, &format!("{}{path}", s.api()), &h, &b)
}

/// The workflow output of a StartSyncExecution response.
fn sync_output(r: &HttpResp) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    serde_json::from_str(v["output"].as_str().unwrap()).unwrap()
}

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    wait_within(Duration::from_secs(10), Duration::from_millis(20), what, f)
}

/// Polls `f` every `poll` until it holds; panics naming `what` after `limit`.
fn wait_within(limit: Duration, poll: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(poll);
    }
    panic!("timed out waiting for {what}");
}

// ------------------------------------------------------------------ SDK clients

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn sdk_config(endpoint: &str, secret: &str) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", secret, None, None, "tests"))
        .endpoint_url(endpoint)
        .load()
        .await
}

async fn s3_client(endpoint: &str, secret: &str) -> aws_sdk_s3::Client {
    let cfg = sdk_config(endpoint, secret).await;
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build())
}

// ------------------------------------------------------------------ tests

#[test]
fn s3_with_the_sdk() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s3_client(&s.aws(), "test").await;
        let buckets = c.list_buckets().send().await.unwrap();
        assert!(buckets.buckets().iter().any(|b| b.name() == Some(BUCKET)));
        c.create_bucket().bucket("scratch").send().await.unwrap();
        let put = c.put_object().bucket("scratch").key("a/b c.txt").body(b"hello world".to_vec().into()).content_type("text/plain").send().await.unwrap();
        assert_eq!(put.e_tag(), Some("\"5eb63bbbe01eeed093cb22bb8f5acdc3\""));
        let got = c.get_object().bucket("scratch").key("a/b c.txt").send().await.unwrap();
        assert_eq!(got.content_type(), Some("text/plain"));
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"hello world");
        let range = c.get_object().bucket("scratch").key("a/b c.txt").range("bytes=6-").send().await.unwrap();
        assert_eq!(range.content_range(), Some("bytes 6-10/11"));
        assert_eq!(range.body.collect().await.unwrap().into_bytes().as_ref(), b"world");
        let head = c.head_object().bucket("scratch").key("a/b c.txt").send().await.unwrap();
        assert_eq!(head.content_length(), Some(11));
        c.copy_object().bucket("scratch").key("copy.txt").copy_source("scratch/a/b%20c.txt").send().await.unwrap();
        for k in ["a/x.txt", "a/y/z.txt"] {
            c.put_object().bucket("scratch").key(k).body(b"x".to_vec().into()).send().await.unwrap();
        }
        let list = c.list_objects_v2().bucket("scratch").prefix("a/").delimiter("/").send().await.unwrap();
        let keys: Vec<_> = list.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(keys, ["a/b c.txt", "a/x.txt"]);
        assert_eq!(list.common_prefixes()[0].prefix(), Some("a/y/"));
        let paged = c.list_objects_v2().bucket("scratch").max_keys(2).send().await.unwrap();
        assert_eq!(paged.is_truncated(), Some(true));
        let next = c.list_objects_v2().bucket("scratch").continuation_token(paged.next_continuation_token().unwrap()).send().await.unwrap();
        assert_eq!(paged.contents().len() + next.contents().len(), 4);
        // Multipart: a 5 MiB part and a small last part.
        let up = c.create_multipart_upload().bucket("scratch").key("big").send().await.unwrap();
        let id = up.upload_id().unwrap();
        let p1 = c.upload_part().bucket("scratch").key("big").upload_id(id).part_number(1).body(vec![b'a'; 5 * 1024 * 1024].into()).send().await.unwrap();
        let p2 = c.upload_part().bucket("scratch").key("big").upload_id(id).part_number(2).body(b"tail".to_vec().into()).send().await.unwrap();
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let done = c
            .complete_multipart_upload()
            .bucket("scratch")
            .key("big")
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(CompletedPart::builder().part_number(1).e_tag(p1.e_tag().unwrap()).build())
                    .parts(CompletedPart::builder().part_number(2).e_tag(p2.e_tag().unwrap()).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(done.e_tag().unwrap().ends_with("-2\""));
        let big = c.head_object().bucket("scratch").key("big").send().await.unwrap();
        assert_eq!(big.content_length(), Some(5 * 1024 * 1024 + 4));
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let del = c
            .delete_objects()
            .bucket("scratch")
            .delete(Delete::builder().objects(ObjectIdentifier::builder().key("a/x.txt").build().unwrap()).objects(ObjectIdentifier::builder().key("big").build().unwrap()).build().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(del.deleted().len(), 2);
        c.delete_object().bucket("scratch").key("copy.txt").send().await.unwrap();
        let missing = c.get_object().bucket("scratch").key("copy.txt").send().await.unwrap_err();
        assert!(missing.into_service_error().is_no_such_key());
        // Signed with another secret: refused.
        let bad = s3_client(&s.aws(), "not-the-secret").await;
        let e = bad.list_objects_v2().bucket("scratch").send().await.unwrap_err();
        assert_eq!(e.raw_response().unwrap().status().as_u16(), 403);
    });
}

#[test]
fn presigned_urls_and_their_refusals() {
    let s = Serve::start(&[]);
    let rt = rt();
    let (put, get, expired, other_key) = rt.block_on(async {
        let c = s3_client(&s.aws(), "test").await;
        let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
        let put = c.put_object().bucket(BUCKET).key("carol/p.txt").presigned(cfg.clone()).await.unwrap();
        let get = c.get_object().bucket(BUCKET).key("carol/p.txt").presigned(cfg.clone()).await.unwrap();
        let old = PresigningConfig::builder().start_time(SystemTime::now() - Duration::from_secs(3600)).expires_in(Duration::from_secs(60)).build().unwrap();
        let expired = c.get_object().bucket(BUCKET).key("carol/p.txt").presigned(old).await.unwrap();
        let other = s3_client(&s.aws(), "another-secret").await;
        let other_key = other.get_object().bucket(BUCKET).key("carol/p.txt").presigned(cfg).await.unwrap();
        (put.uri().to_string(), get.uri().to_string(), expired.uri().to_string(), other_key.uri().to_string())
    });
    let r = http("PUT", &put, &[], b"presigned body");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http("GET", &get, &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"presigned body");
    let r = http("GET", &get, &[("range", "bytes=0-8")], b"");
    assert_eq!((r.status, r.body.as_slice()), (206, b"presigned".as_slice()));

    let r = http("GET", &expired, &[], b"");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"), "{}", r.text());
    assert!(r.text().contains("<X-Amz-Expires>60</X-Amz-Expires>"), "{}", r.text());

    let tampered = get.replace("carol/p.txt", "carol/q.txt");
    let r = http("GET", &tampered, &[], b"");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>SignatureDoesNotMatch</Code>"), "{}", r.text());
    let i = get.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut flipped = get.clone();
    flipped.replace_range(i..i + 1, if &get[i..i + 1] == "0" { "1" } else { "0" });
    assert_eq!(http("GET", &flipped, &[], b"").status, 403);

    let r = http("PUT", &get, &[], b"wrong method");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("SignatureDoesNotMatch"), "{}", r.text());

    let r = http("GET", &other_key, &[], b"");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("SignatureDoesNotMatch"), "{}", r.text());

    let unsigned = http("GET", &format!("{}/{BUCKET}/carol/p.txt", s.aws()), &[], b"");
    assert_eq!(unsigned.status, 403);
}

#[test]
fn dynamodb_with_the_sdk() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let c = s.dynamodb().await;
        assert!(c.list_tables().send().await.unwrap().table_names().iter().any(|t| t == TABLE));
        let d = c.describe_table().table_name(TABLE).send().await.unwrap();
        assert_eq!(d.table().unwrap().key_schema().len(), 2);
        for (sk, size) in [("alice/a", "1"), ("alice/b", "2"), ("bob/c", "3")] {
            let pk = sk.split('/').next().unwrap();
            c.put_item().table_name(TABLE).item("PK", A::S(pk.into())).item("SK", A::S(sk.into())).item("Size", A::N(size.into())).send().await.unwrap();
        }
        let got = c.get_item().table_name(TABLE).key("PK", A::S("alice".into())).key("SK", A::S("alice/b".into())).consistent_read(true).send().await.unwrap();
        assert_eq!(got.item().unwrap()["Size"], A::N("2".into()));
        c.update_item()
            .table_name(TABLE)
            .key("PK", A::S("alice".into()))
            .key("SK", A::S("alice/b".into()))
            .update_expression("SET #s = :v ADD #n :one")
            .expression_attribute_names("#s", "Size")
            .expression_attribute_names("#n", "Versions")
            .expression_attribute_values(":v", A::N("12".into()))
            .expression_attribute_values(":one", A::N("1".into()))
            .send()
            .await
            .unwrap();
        let q = c
            .query()
            .table_name(TABLE)
            .key_condition_expression("PK = :p")
            .expression_attribute_values(":p", A::S("alice".into()))
            .send()
            .await
            .unwrap();
        assert_eq!(q.count(), 2);
        assert_eq!(q.items()[1]["Size"], A::N("12".into()));
        assert_eq!(c.scan().table_name(TABLE).send().await.unwrap().count(), 3);
        c.delete_item().table_name(TABLE).key("PK", A::S("bob".into())).key("SK", A::S("bob/c".into())).send().await.unwrap();
        assert_eq!(c.scan().table_name(TABLE).send().await.unwrap().count(), 2);
        // A DynamoDB error reaches the SDK as its modeled error.
        let e = c
            .put_item()
            .table_name(TABLE)
            .item("PK", A::S("alice".into()))
            .item("SK", A::S("alice/a".into()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .unwrap_err();
        assert!(e.into_service_error().is_conditional_check_failed_exception());
        let e = c.get_item().table_name("nope").key("PK", A::S("x".into())).send().await.unwrap_err();
        assert!(e.into_service_error().is_resource_not_found_exception());
    });
}

#[test]
fn step_functions_with_the_sdk() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        let c = s.sfn().await;
        let machines = c.list_state_machines().send().await.unwrap();
        assert_eq!(machines.state_machines().len(), 9); // the template's nine, redrive included
        let del = machines.state_machines().iter().find(|m| m.name() == "DeleteStateMachine").unwrap().state_machine_arn().to_string();
        let input = json!({"detail": {"body": {"path": "docs/", "name": "nope.txt"}, "user": "alice"}});
        let started = c.start_execution().state_machine_arn(&del).name("first").input(input.to_string()).send().await.unwrap();
        let arn = started.execution_arn().to_string();
        let mut status = String::new();
        for _ in 0..200 {
            let d = c.describe_execution().execution_arn(&arn).send().await.unwrap();
            status = d.status().as_str().to_string();
            if status != "RUNNING" {
                let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
                assert_eq!(out["Outcome"], "not-found", "{out}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(status, "SUCCEEDED");
        let h = c.get_execution_history().execution_arn(&arn).send().await.unwrap();
        assert_eq!(h.events()[0].r#type().as_str(), "ExecutionStarted");
        assert_eq!(h.events().last().unwrap().r#type().as_str(), "ExecutionSucceeded");
        let list = c.list_executions().state_machine_arn(&del).send().await.unwrap();
        assert_eq!(list.executions().len(), 1);
        assert_eq!(list.executions()[0].name(), "first");
        let e = c.describe_execution().execution_arn(format!("{arn}-nope")).send().await.unwrap_err();
        assert!(e.into_service_error().is_execution_does_not_exist());
    });
}

#[test]
fn the_file_manager_walk_over_http() {
    let s = Serve::start(&[]);
    let alice = s.token("alice", 3600);
    let bob = s.token("bob", 3600);

    // Refusals of the authorizer.
    let r = api_call(&s, "POST", "/files/list", None, &json!({}));
    assert_eq!((r.status, r.json()), (401, json!({"message": "Unauthorized"})));
    let expired = s.token("alice", -60);
    assert_eq!(api_call(&s, "POST", "/files/list", Some(&expired), &json!({})).status, 401);
    // Another signature: one character in the middle of it changed.
    let mut forged = alice.clone();
    let i = alice.len() - 20;
    forged.replace_range(i..i + 1, if &alice[i..i + 1] == "A" { "B" } else { "A" });
    assert_eq!(api_call(&s, "POST", "/files/list", Some(&forged), &json!({})).status, 401);

    // Create → presigned PUT.
    let content = b"hello, file manager";
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"path": "docs/", "name": "a.txt", "size": content.len()}));
    assert_eq!(r.status, 200, "{}", r.text());
    let created = r.json();
    assert_eq!(created["method"], "PUT");
    let url = created["url"].as_str().unwrap();
    let len = content.len().to_string();
    let up = http("PUT", url, &[("content-length", &len)], content);
    assert_eq!(up.status, 200, "{}", up.text());

    // A tampered upload URL and a body of another size are refused.
    let r = http("PUT", &url.replace("a.txt", "b.txt"), &[("content-length", &len)], content);
    assert_eq!(r.status, 403);
    let r = http("PUT", url, &[], b"a different size");
    assert_eq!(r.status, 403, "{}", r.text());

    // The inventory follows the S3 event.
    let list_items = |token: &str| -> Vec<Value> {
        let out = sync_output(&api_call(&s, "POST", "/files/list", Some(token), &json!({})));
        out["items"].as_array().cloned().unwrap_or_default()
    };
    wait_until("the file in the inventory", || list_items(&alice).iter().any(|i| i["key"] == "alice/docs/a.txt"));
    let items = list_items(&alice);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["size"], json!(content.len()));
    assert!(list_items(&bob).is_empty());

    // Info and fetch → presigned GET → download.
    let info = sync_output(&api_call(&s, "POST", "/files/info", Some(&alice), &json!({"path": "docs/", "name": "a.txt"})));
    assert_eq!(info["found"], true, "{info}");
    let r = api_call(&s, "POST", "/files/fetch", Some(&alice), &json!({"path": "docs/", "name": "a.txt"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let down = http("GET", r.json()["url"].as_str().unwrap(), &[], b"");
    assert_eq!((down.status, down.body.as_slice()), (200, content.as_slice()));

    // Another user's file is not reachable: bob's request names bob's key.
    let r = api_call(&s, "POST", "/files/fetch", Some(&bob), &json!({"path": "docs/", "name": "a.txt"}));
    assert_eq!(r.status, 404, "{}", r.text());
    let r = api_call(&s, "POST", "/files/fetch", Some(&bob), &json!({"path": "../alice/docs/", "name": "a.txt"}));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"path": "docs/../x/", "name": "a.txt", "size": 1}));
    assert_eq!(r.status, 400, "{}", r.text());

    // Overwrite with a larger file; the quota follows.
    let bigger = b"hello again, file manager, now longer";
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"path": "docs/", "name": "a.txt", "size": bigger.len()}));
    assert_eq!(r.status, 200, "{}", r.text());
    let blen = bigger.len().to_string();
    assert_eq!(http("PUT", r.json()["url"].as_str().unwrap(), &[("content-length", &blen)], bigger).status, 200);
    wait_until("the overwrite in the inventory", || list_items(&alice).first().is_some_and(|i| i["size"] == json!(bigger.len())));
    let quota = sync_output(&api_call(&s, "GET", "/quota", Some(&alice), &Value::Null));
    assert_eq!(quota["usedBytes"], json!(bigger.len()), "{quota}");

    // Delete through EventBridge; the inventory and the quota follow.
    let r = api_call(&s, "POST", "/files/delete", Some(&alice), &json!({"path": "docs/", "name": "a.txt"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["FailedEntryCount"], 0);
    wait_until("the delete in the inventory", || list_items(&alice).is_empty());
    let quota = sync_output(&api_call(&s, "GET", "/quota", Some(&alice), &Value::Null));
    assert_eq!(quota["usedBytes"], json!(0), "{quota}");
    let r = api_call(&s, "POST", "/files/fetch", Some(&alice), &json!({"path": "docs/", "name": "a.txt"}));
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn unknown_routes_and_template_errors() {
    let s = Serve::start(&[]);
    assert_eq!(api_call(&s, "GET", "/nope", None, &Value::Null).status, 404);
    let dir = std::env::temp_dir().join(format!("asl-serve-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.yaml"), "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  K:\n    Type: AWS::Kinesis::Stream\n").unwrap();
    let args = asl_serve::ServeArgs { stack_name: "x".into(), ..asl_serve::ServeArgs::local(dir.join("t.yaml"), dir.clone()) };
    let err = asl_serve::start(&args).err().expect("refused");
    assert!(err.contains("t.yaml:5:5") && err.contains("AWS::Kinesis::Stream"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Benchmark and check: small-object PUTs through the S3 endpoint with SigV4,
/// each emitting its event and updating the inventory; then the time from a PUT's response
/// until the file is in the inventory that /files/list reads.
/// Every PUT must reach the inventory. Figures for the README:
/// `BENCH_N=2000 cargo test --release -p asl-serve-tests -- --nocapture bench`
#[test]
fn bench_put_throughput_and_list_latency() {
    let s = Serve::start(&[]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let tasks = 16;
    let endpoint = s.aws();
    let (elapsed, c) = runtime.block_on(async {
        let c = s3_client(&endpoint, "test").await;
        let t = Instant::now();
        let mut handles = Vec::new();
        for w in 0..tasks {
            let c = c.clone();
            handles.push(tokio::spawn(async move {
                for i in (w..n).step_by(tasks) {
                    c.put_object().bucket(BUCKET).key(format!("bench/k{i:06}")).body(b"0123456789".to_vec().into()).send().await.unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        (t.elapsed(), c)
    });
    let rate = n as f64 / elapsed.as_secs_f64();
    // Every PUT inventoried?
    let cfg = runtime.block_on(sdk_config(&endpoint, "test"));
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let count = |ddb: &aws_sdk_dynamodb::Client| {
        runtime.block_on(async {
            let mut total = 0;
            let mut start = None;
            loop {
                let mut q = ddb.query().table_name(TABLE).key_condition_expression("PK = :p").expression_attribute_values(":p", A::S("bench".into())).select(aws_sdk_dynamodb::types::Select::Count);
                if let Some(k) = start.take() {
                    q = q.set_exclusive_start_key(Some(k));
                }
                let r = q.send().await.unwrap();
                total += r.count();
                match r.last_evaluated_key() {
                    Some(k) => start = Some(k.clone()),
                    None => return total as usize,
                }
            }
        })
    };
    let t = Instant::now();
    wait_until("every PUT in the inventory", || count(&ddb) >= n);
    let drain = elapsed + t.elapsed();
    // PUT response → inventory item, one at a time.
    let mut lat = Vec::new();
    for i in 0..200 {
        let key = format!("lat/k{i:04}");
        runtime.block_on(c.put_object().bucket(BUCKET).key(&key).body(b"x".to_vec().into()).send()).unwrap();
        let t = Instant::now();
        loop {
            let got = runtime
                .block_on(ddb.get_item().table_name(TABLE).key("PK", A::S("lat".into())).key("SK", A::S(key.clone())).consistent_read(true).send())
                .unwrap();
            if got.item().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "bench: {n} PUTs in {:.2} s = {rate:.0} objects/s (SigV4 verified, event, inventory execution); all inventoried after {:.2} s; PUT→inventory p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        drain.as_secs_f64(),
        lat[lat.len() / 2].as_secs_f64() * 1000.0,
        lat[lat.len() * 99 / 100].as_secs_f64() * 1000.0
    );
}

/// `wait_until` with more patience: these walks run several workflows per step (a folder move is
/// a Distributed Map, then one update-inventory per event) on a loaded debug build.
fn wait_long(what: &str, f: impl FnMut() -> bool) {
    wait_within(Duration::from_secs(90), Duration::from_millis(50), what, f)
}

/// Waits until the execution of a machine (by name) started with `input` ends; its output.
async fn run_machine(c: &aws_sdk_sfn::Client, name: &str, input: Value) -> Value {
    let machines = c.list_state_machines().send().await.unwrap();
    let arn = machines.state_machines().iter().find(|m| m.name() == name).unwrap_or_else(|| panic!("no machine {name}")).state_machine_arn().to_string();
    let started = c.start_execution().state_machine_arn(&arn).input(input.to_string()).send().await.unwrap();
    for _ in 0..3000 {
        let d = c.describe_execution().execution_arn(started.execution_arn()).send().await.unwrap();
        match d.status().as_str() {
            "RUNNING" => tokio::time::sleep(Duration::from_millis(20)).await,
            "SUCCEEDED" => return serde_json::from_str(d.output().unwrap()).unwrap(),
            other => panic!("{name} ended {other}: {:?} {:?}", d.error(), d.cause()),
        }
    }
    panic!("{name} did not finish");
}

/// The user's Quota item as numbers (TotalSize, Reserved, Committed), read through DynamoDB.
async fn quota_item(c: &aws_sdk_dynamodb::Client, user: &str) -> (u64, u64, u64) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let out = c.get_item().table_name(TABLE).key("PK", A::S(user.into())).key("SK", A::S("Quota".into())).consistent_read(true).send().await.unwrap();
    let n = |k: &str| out.item().and_then(|i| i.get(k)).and_then(|v| v.as_n().ok()).map(|n| n.parse::<u64>().unwrap()).unwrap_or(0);
    (n("TotalSize"), n("Reserved"), n("Committed"))
}

/// The inventory's live files of `user` and the bucket's objects under `user/`, both as
/// (key, size), in key order.
async fn inventory_and_bucket(s: &Serve, user: &str) -> (Vec<(String, u64)>, Vec<(String, u64)>) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let ddb = s.dynamodb().await;
    let items = ddb
        .query()
        .table_name(TABLE)
        .key_condition_expression("PK = :u AND begins_with(SK, :p)")
        .expression_attribute_values(":u", A::S(user.into()))
        .expression_attribute_values(":p", A::S(format!("{user}/")))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let inventory: Vec<(String, u64)> = items
        .items()
        .iter()
        .filter(|i| i.get("Live").and_then(|v| v.as_bool().ok()) == Some(&true))
        .map(|i| (i["SK"].as_s().unwrap().clone(), i["Size"].as_n().unwrap().parse().unwrap()))
        .collect();
    let s3 = s3_client(&s.aws(), "test").await;
    let list = s3.list_objects_v2().bucket(BUCKET).prefix(format!("{user}/")).send().await.unwrap();
    let bucket: Vec<(String, u64)> = list.contents().iter().map(|o| (o.key().unwrap().to_string(), o.size().unwrap() as u64)).collect();
    (inventory, bucket)
}

#[test]
fn exact_quota_under_concurrent_creates() {
    // Issue 16: with QuotaBytes=1000, 8 concurrent 300-byte creates grant at most 3 (they
    // granted 4 with the soft check), and the used bytes never exceed 1,000.
    let s = Serve::start(&["QuotaBytes=1000"]);
    let alice = s.token("alice", 3600);
    let answers: Vec<HttpResp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, alice) = (&s, &alice);
                scope.spawn(move || api_call(s, "POST", "/files/create", Some(alice), &json!({"name": format!("f{i}.bin"), "size": 300})))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let granted: Vec<&HttpResp> = answers.iter().filter(|r| r.status == 200).collect();
    let refused = answers.iter().filter(|r| r.status == 413).count();
    assert_eq!((granted.len(), refused), (3, 5), "{:?}", answers.iter().map(|r| (r.status, r.text())).collect::<Vec<_>>());
    assert!(answers.iter().filter(|r| r.status == 413).all(|r| r.json()["error"] == "QuotaExceeded"));
    let body = vec![b'q'; 300];
    for r in &granted {
        let url = r.json()["url"].as_str().unwrap().to_string();
        assert_eq!(http("PUT", &url, &[("content-length", "300")], &body).status, 200);
    }
    rt().block_on(async {
        let ddb = s.dynamodb().await;
        // While the uploads' events settle their reservations, used + reserved never passes the quota.
        for _ in 0..3000 {
            let (total, reserved, committed) = quota_item(&ddb, "alice").await;
            assert!(total <= 1000 && total + reserved <= 1000 && committed == total + reserved, "{total} used, {reserved} reserved, {committed} committed");
            if (total, reserved, committed) == (900, 0, 900) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(quota_item(&ddb, "alice").await, (900, 0, 900), "every upload settled its reservation");
    });
    // The fourth file does not fit; one more byte than the quota never does.
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "more.bin", "size": 300}));
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("1200 bytes"), "{}", r.text());
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "fits.bin", "size": 100}));
    assert_eq!(r.status, 200, "{}", r.text());
    // A second create of the same key while its URL is valid is an upload in progress.
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "fits.bin", "size": 100}));
    assert_eq!((r.status, r.json()["error"].clone()), (409, json!("UploadInProgress")), "{}", r.text());
    let quota = sync_output(&api_call(&s, "GET", "/quota", Some(&alice), &Value::Null));
    assert_eq!((quota["usedBytes"].clone(), quota["reservedBytes"].clone()), (json!(900), json!(100)), "reserved beside used: {quota}");
    // The release workflow frees the unused reservation once it is past its expiry.
    rt().block_on(async {
        let cfg = s.sdk().await;
        let sfn = aws_sdk_sfn::Client::new(&cfg);
        let ddb = aws_sdk_dynamodb::Client::new(&cfg);
        assert_eq!(quota_item(&ddb, "alice").await, (900, 100, 1000));
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let out = run_machine(&sfn, "ReleaseReservationsStateMachine", json!({})).await;
        assert_eq!(out["released"], 0, "not expired yet: {out}");
        let out = run_machine(&sfn, "ReleaseReservationsStateMachine", json!({"asOf": now + 10_000})).await;
        assert_eq!(out["released"], 1, "{out}");
        assert_eq!(quota_item(&ddb, "alice").await, (900, 0, 900));
    });
}

#[test]
fn files_of_any_size_and_folders_over_http() {
    // CopyObjectMaxBytes lowered so that moving the 50 MB file takes the multipart copy
    // (UploadPartCopy) path that files over CopyObject's 5 GiB take; CopyPartBytes chosen so
    // that the copy's parts do not line up with the upload's.
    let s = Serve::start(&["QuotaBytes=10000000000000", "MultipartThresholdBytes=5242880", "CopyObjectMaxBytes=20000000", "CopyPartBytes=6000000"]);
    let alice = s.token("alice", 3600);

    // 6 GB: a multipart upload (a single PUT stops at 5 GiB), with its part URLs.
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "huge.bin", "size": 6_000_000_000u64}));
    assert_eq!(r.status, 200, "{}", r.text());
    let huge = r.json();
    assert_eq!(huge["multipart"], true, "{huge}");
    assert_eq!((huge["partSize"].clone(), huge["partCount"].clone()), (json!(8_388_608), json!(716)));
    assert_eq!(huge["parts"].as_array().unwrap().len(), 100);
    assert_eq!(huge["parts"][0]["headers"]["content-length"], "8388608");
    // More part URLs on demand; the last part signs its own length.
    let r = api_call(&s, "POST", "/files/parts", Some(&alice), &json!({"name": "huge.bin", "uploadId": huge["uploadId"], "partNumbers": [716]}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["parts"][0]["headers"]["content-length"], (6_000_000_000u64 - 715 * 8_388_608).to_string());
    let r = api_call(&s, "POST", "/files/parts", Some(&alice), &json!({"name": "huge.bin", "uploadId": "nope", "partNumbers": [1]}));
    assert_eq!(r.status, 404, "{}", r.text());
    // Abort: the upload is gone and its 6 GB are released.
    let r = api_call(&s, "POST", "/files/abort", Some(&alice), &json!({"name": "huge.bin", "uploadId": huge["uploadId"]}));
    assert_eq!((r.status, r.json()["released"].clone()), (200, json!(6_000_000_000u64)), "{}", r.text());
    rt().block_on(async {
        assert_eq!(quota_item(&s.dynamodb().await, "alice").await, (0, 0, 0));
    });

    // 50 MB through presigned part URLs, completed, then listed with its size.
    let size: u64 = 50_000_000;
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"path": "docs/", "name": "video.mp4", "size": size}));
    assert_eq!(r.status, 200, "{}", r.text());
    let up = r.json();
    assert_eq!(up["partCount"], 6, "{up}");
    let mut parts = Vec::new();
    let mut video = Vec::new();
    for part in up["parts"].as_array().unwrap() {
        let len: usize = part["headers"]["content-length"].as_str().unwrap().parse().unwrap();
        let body = vec![b'0' + part["partNumber"].as_u64().unwrap() as u8; len];
        video.extend_from_slice(&body);
        let put = http("PUT", part["url"].as_str().unwrap(), &[("content-length", &len.to_string())], &body);
        assert_eq!(put.status, 200, "{}", put.text());
        parts.push(json!({"partNumber": part["partNumber"], "etag": put.header("etag").unwrap()}));
    }
    let r = api_call(&s, "POST", "/files/complete", Some(&alice), &json!({"path": "docs/", "name": "video.mp4", "uploadId": up["uploadId"], "parts": parts}));
    assert_eq!(r.status, 200, "{}", r.text());
    let list_items = || -> Vec<Value> {
        let out = sync_output(&api_call(&s, "POST", "/files/list", Some(&alice), &json!({})));
        out["items"].as_array().cloned().unwrap_or_default()
    };
    wait_long("the multipart file in the inventory", || list_items().iter().any(|i| i["key"] == "alice/docs/video.mp4"));
    assert_eq!(list_items()[0]["size"], json!(size));

    // A few more files, then the folder view counts the folder's bytes and files.
    for (path, name, n) in [("docs/", "a.txt", 3usize), ("docs/deep/", "b.txt", 4), ("keep/", "c.txt", 5)] {
        let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"path": path, "name": name, "size": n}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(http("PUT", r.json()["url"].as_str().unwrap(), &[("content-length", &n.to_string())], &vec![b'x'; n]).status, 200);
    }
    wait_long("four files listed", || list_items().len() == 4);
    let view = sync_output(&api_call(&s, "POST", "/files/list", Some(&alice), &json!({"view": "folders"})));
    assert_eq!(
        view["folders"],
        json!([{"prefix": "alice/docs/", "size": size + 7, "count": 3}, {"prefix": "alice/keep/", "size": 5, "count": 1}]),
        "{view}"
    );

    // Move a file, move a folder, delete a folder: storage first, the inventory follows.
    let r = api_call(&s, "POST", "/files/move", Some(&alice), &json!({"from": "keep/c.txt", "to": "keep/renamed.txt"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the renamed file listed", || list_items().iter().any(|i| i["key"] == "alice/keep/renamed.txt") && list_items().len() == 4);
    // Over CopyObjectMaxBytes: copied in UploadPartCopy ranges, once alone and once in a folder.
    let r = api_call(&s, "POST", "/files/move", Some(&alice), &json!({"from": "docs/video.mp4", "to": "docs/film.mp4"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the big file renamed", || list_items().iter().any(|i| i["key"] == "alice/docs/film.mp4") && list_items().len() == 4);
    let r = api_call(&s, "POST", "/files/move", Some(&alice), &json!({"from": "docs/", "to": "archive/docs/"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the moved folder listed", || {
        let keys: Vec<Value> = list_items().iter().map(|i| i["key"].clone()).collect();
        keys == [json!("alice/archive/docs/a.txt"), json!("alice/archive/docs/deep/b.txt"), json!("alice/archive/docs/film.mp4"), json!("alice/keep/renamed.txt")]
    });
    let (inventory, bucket) = rt().block_on(inventory_and_bucket(&s, "alice"));
    assert_eq!(inventory, bucket, "after the moves the inventory equals the bucket");
    rt().block_on(async {
        let s3 = s3_client(&s.aws(), "test").await;
        let got = s3.get_object().bucket(BUCKET).key("alice/archive/docs/film.mp4").send().await.unwrap();
        assert!(got.e_tag().unwrap().ends_with("-9\""), "50 MB in 9 parts of 6,000,000 bytes: {:?}", got.e_tag());
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert!(bytes[..] == video[..], "the twice part-copied file has the uploaded bytes");
    });
    let r = api_call(&s, "POST", "/folders/delete", Some(&alice), &json!({"path": "archive/"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the deleted folder gone", || list_items().len() == 1);
    let (inventory, bucket) = rt().block_on(inventory_and_bucket(&s, "alice"));
    assert_eq!(inventory, bucket);
    assert_eq!(inventory, [("alice/keep/renamed.txt".to_string(), 5)]);
    let quota = sync_output(&api_call(&s, "GET", "/quota", Some(&alice), &Value::Null));
    assert_eq!(quota["usedBytes"], json!(5), "{quota}");
}
#[test]
fn a_presigned_put_after_a_delete_is_a_new_upload() {
    // The URL a create returned stays valid on S3 until it expires; nothing the app does can
    // revoke it. So a PUT through it after the file was deleted stores the object again, and
    // the inventory must follow S3 (the file is back, with the newer sequencer beating the
    // tombstone) and the quota must count its bytes, even past what the user has left: the
    // bytes are in the bucket, so they are used.
    let s = Serve::start(&["QuotaBytes=1000"]);
    let alice = s.token("alice", 3600);
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "a.bin", "size": 400}));
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_string();
    let body = vec![b'a'; 400];
    assert_eq!(http("PUT", &url, &[("content-length", "400")], &body).status, 200);
    let list_items = || -> Vec<Value> {
        let out = sync_output(&api_call(&s, "POST", "/files/list", Some(&alice), &json!({})));
        out["items"].as_array().cloned().unwrap_or_default()
    };
    let quota = || rt().block_on(async { quota_item(&s.dynamodb().await, "alice").await });
    wait_long("the upload settled", || list_items().len() == 1 && quota() == (400, 0, 400));

    let r = api_call(&s, "POST", "/files/delete", Some(&alice), &json!({"name": "a.bin"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the delete in the inventory and the quota", || list_items().is_empty() && quota() == (0, 0, 0));
    // The freed room is taken by another file.
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "b.bin", "size": 900}));
    assert_eq!(r.status, 200, "{}", r.text());
    let b_url = r.json()["url"].as_str().unwrap().to_string();
    assert_eq!(http("PUT", &b_url, &[("content-length", "900")], &vec![b'b'; 900]).status, 200);
    wait_long("b.bin settled", || quota() == (900, 0, 900));

    // The old URL still works on S3: the deleted file comes back.
    let again = http("PUT", &url, &[("content-length", "400")], &body);
    assert_eq!(again.status, 200, "{}", again.text());
    wait_long("a.bin back in the inventory", || list_items().len() == 2);
    let (inventory, bucket) = rt().block_on(inventory_and_bucket(&s, "alice"));
    assert_eq!(inventory, bucket, "the inventory follows S3");
    assert_eq!(inventory, [("alice/a.bin".to_string(), 400), ("alice/b.bin".to_string(), 900)]);
    // Counted: 1,300 bytes stored, so used is 1,300 and nothing more fits until a delete.
    assert_eq!(quota(), (1300, 0, 1300));
    let q = sync_output(&api_call(&s, "GET", "/quota", Some(&alice), &Value::Null));
    assert_eq!((q["usedBytes"].clone(), q["reservedBytes"].clone()), (json!(1300), json!(0)), "{q}");
    let r = api_call(&s, "POST", "/files/create", Some(&alice), &json!({"name": "c.bin", "size": 1}));
    assert_eq!((r.status, r.json()["error"].clone()), (413, json!("QuotaExceeded")), "{}", r.text());
    // Deleting it again frees its bytes once more.
    let r = api_call(&s, "POST", "/files/delete", Some(&alice), &json!({"name": "a.bin"}));
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());
    wait_long("the second delete", || list_items().len() == 1 && quota() == (900, 0, 900));
    let (inventory, bucket) = rt().block_on(inventory_and_bucket(&s, "alice"));
    assert_eq!(inventory, bucket);
}

mod callbacks;
mod store;
mod testapi;
