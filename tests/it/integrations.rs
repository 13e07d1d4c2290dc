//! `asl-sim run` end to end with the HTTP Task (`--connections`, a real HTTP server on
//! 127.0.0.1) and with handler commands (`--handler`) for services asl-sim does not emulate.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use crate::cli::bin;

fn tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("asl-tests-integrations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

fn run(args: &[&str]) -> (i32, Value) {
    let out = bin().args(args).args(["--format", "json", "--seed", "7"]).output().expect("run asl-sim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not one JSON object: {stdout} / {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

/// Answers each connection with `status` and `body`, sending the request line and the
/// Authorization header it saw back through the channel.
fn server(answers: Vec<(u16, &'static str)>) -> (String, std::sync::mpsc::Receiver<(String, Option<String>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut auth, mut len) = (None, 0usize);
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end().to_string();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                if k.eq_ignore_ascii_case("authorization") {
                    auth = Some(v.trim().to_string());
                }
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut b = vec![0; len];
            reader.read_exact(&mut b).unwrap();
            let _ = tx.send((request_line.trim_end().to_string(), auth));
            let mut out = stream;
            let _ = write!(out, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (base, rx)
}

/// Source: "Call HTTPS APIs in Step Functions workflows",
/// https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html (the Stripe example,
/// an API-key connection; States.Http.StatusCode.NNN caught).
#[test]
fn http_task_calls_a_local_server_through_a_connection_file() {
    let (base, rx) = server(vec![(200, r#"{"data":[{"id":"cus_1"}]}"#), (404, r#"{"error":"no such customer"}"#)]);
    let conns = tmp(
        "connections.yaml",
        "Connections:\n  - Name: Stripe\n    AuthorizationType: API_KEY\n    AuthParameters:\n      ApiKeyAuthParameters: {ApiKeyName: Authorization, ApiKeyValue: Bearer sk_test}\n",
    );
    let def = tmp(
        "http.json",
        &json!({"StartAt": "List", "States": {
            "List": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": {
                "ApiEndpoint": format!("{base}/v1/customers"), "Method": "GET",
                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-2:123456789012:connection/Stripe/81210c42-8af1-456b-9c4a-6ff02fc664ac"},
                "QueryParameters": {"limit": "1"}},
                "ResultSelector": {"first.$": "$.ResponseBody.data[0].id", "status.$": "$.StatusCode"}, "ResultPath": "$.list", "Next": "Get"},
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": {
                "ApiEndpoint.$": format!("States.Format('{base}/v1/customers/{{}}', $.list.first)"), "Method": "GET",
                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-2:123456789012:connection/Stripe/81210c42-8af1-456b-9c4a-6ff02fc664ac"}},
                "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.error", "Next": "Done"}], "End": true},
            "Done": {"Type": "Pass", "End": true}}})
        .to_string(),
    );
    let (code, out) = run(&["run", &def, "--connections", &conns]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["list"], json!({"first": "cus_1", "status": 200}));
    assert_eq!(out["output"]["error"]["Error"], json!("States.Http.StatusCode.404"));
    let cause: Value = serde_json::from_str(out["output"]["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["ResponseBody"], json!({"error": "no such customer"}));
    assert_eq!(rx.recv().unwrap(), ("GET /v1/customers?limit=1 HTTP/1.1".to_string(), Some("Bearer sk_test".to_string())));
    assert_eq!(rx.recv().unwrap().0, "GET /v1/customers/cus_1 HTTP/1.1");

    // Without the connection the task names what is missing.
    let (code, out) = run(&["run", &def]);
    assert_eq!(code, 1);
    assert_eq!(out["error"], json!("Events.ConnectionResource.ResourceNotFound"));
    assert!(out["cause"].as_str().unwrap().contains("--connections FILE"), "{out}");
    // A broken connections file is a usage error, not a run.
    let bad = tmp("bad-connections.json", r#"{"Connections": [{"Name": "x", "AuthorizationType": "DIGEST", "AuthParameters": {}}]}"#);
    let out = bin().args(["run", &def, "--connections", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Connections[0].AuthorizationType"));
}

/// A handler command answers `.sync` and `.waitForTaskToken` resources: the command echoes the
/// call it received (`cat`), so the test sees exactly what a handler gets.
#[test]
fn handler_commands_answer_unemulated_services() {
    let def = tmp(
        "handled.json",
        &json!({"StartAt": "Etl", "States": {
            "Etl": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "Parameters": {"JobName": "etl"}, "ResultPath": "$.glue", "Next": "Callback"},
            "Callback": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
                "Parameters": {"Cluster": "c", "Overrides": {"ContainerOverrides": [{"Environment": [{"Name": "TOKEN", "Value.$": "$$.Task.Token"}]}]}},
                "ResultPath": "$.ecs", "Next": "Fails"},
            "Fails": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:athena:startQueryExecution", "Parameters": {},
                "Catch": [{"ErrorEquals": ["Athena.InvalidRequestException"], "ResultPath": "$.athena", "Next": "Done"}], "End": true},
            "Done": {"Type": "Pass", "End": true}}})
        .to_string(),
    );
    let (code, out) = run(&[
        "run", &def, "--handler", "glue=cat", "--handler", "ecs=cat",
        "--handler", r#"athena=echo '{"Error":"Athena.InvalidRequestException","Cause":"bad query"}'; exit 1"#,
    ]);
    assert_eq!(code, 0, "{out}");
    let glue = &out["output"]["glue"];
    assert_eq!((glue["service"].as_str(), glue["action"].as_str(), glue["pattern"].as_str()), (Some("glue"), Some("startJobRun"), Some(".sync")));
    assert_eq!(glue["parameters"], json!({"JobName": "etl"}));
    assert_eq!(glue["context"]["State"]["Name"], json!("Etl"));
    let ecs = &out["output"]["ecs"];
    assert_eq!(ecs["pattern"], json!(".waitForTaskToken"));
    let token = ecs["context"]["Task"]["Token"].as_str().expect("the task token in the context");
    assert_eq!(ecs["parameters"]["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"], json!(token));
    assert_eq!(out["output"]["athena"], json!({"Error": "Athena.InvalidRequestException", "Cause": "bad query"}));

    // Without a handler the failure names the resource and the ways to provide it.
    let (code, out) = run(&["run", &def]);
    assert_eq!(code, 1);
    let cause = out["cause"].as_str().unwrap();
    assert!(cause.contains("'arn:aws:states:::glue:startJobRun.sync' is not supported"), "{cause}");
    assert!(cause.contains("--handler glue=COMMAND") && cause.contains("--mock-config") && cause.contains("asl-sim test"), "{cause}");
    // `*` answers any service without its own handler.
    let (code, _) = run(&["run", &def, "--handler", "*=echo '{}'", "--handler", r#"athena=echo '{"Error":"Athena.InvalidRequestException"}'"#]);
    assert_eq!(code, 0);
}
