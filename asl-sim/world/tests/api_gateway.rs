//! `apigateway:invoke` through the world: a local HTTP API mapped by hostname receives the
//! request the task describes, and the result or `ApiGateway.<status>` comes back
//! (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html). A shared
//! world makes the call without its lock (serve's API may call back into the world).
//! Also `aws-sdk:lambda:listFunctions` / `getFunction` over the world's functions.

use asl_core::engine::{self, ExecutionConfig, TaskError, VirtualClock};
use asl_world::lambda::{Lambda, Reply};
use asl_world::{SharedWorld, World};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// Answers each request with its request line and whether the world was free, as JSON;
/// `/missing` answers 404.
fn serve_once_per_request(world: SharedWorld, seen: Arc<Mutex<Vec<String>>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push(format!("{} {}", line.trim(), String::from_utf8_lossy(&body)));
            let free = world.0.try_lock().is_ok();
            let (status, text) = if line.contains("/missing") { ("404 Not Found", json!({"message": "Not Found"})) } else { ("200 OK", json!({"free": free})) };
            let text = text.to_string();
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len());
        }
    });
    format!("http://{addr}")
}

fn run(world: &SharedWorld, resource: &str, parameters: Value) -> engine::Outcome {
    let src = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}});
    let (def, diags) = asl_core::load_definition(&src.to_string(), &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    let mut clock = VirtualClock { now: 0 };
    engine::run(&def.unwrap(), json!({}), &ExecutionConfig::default(), &mut world.clone(), &mut clock, false)
}

#[test]
fn a_local_http_api_is_invoked_without_the_lock() {
    let world = SharedWorld::new(World::new("us-east-1", "123456789012"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = serve_once_per_request(world.clone(), seen.clone());
    world.lock().api_endpoints.insert("local.execute-api.us-east-1.amazonaws.com", &base);
    let out = run(
        &world,
        "arn:aws:states:::apigateway:invoke",
        json!({"ApiEndpoint": "local.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod", "Path": "/orders",
               "QueryParameters": {"dry": ["true"]}, "RequestBody": {"n": 1}}),
    );
    assert_eq!(out.end.error, None, "{:?}", out.end.cause);
    let result = out.end.output.unwrap();
    assert_eq!(result["StatusCode"], json!(200));
    assert_eq!(result["ResponseBody"], json!({"free": true}));
    assert_eq!(seen.lock().unwrap()[0], r#"POST /orders?dry=true HTTP/1.1 {"n":1}"#);

    let out = run(&world, "arn:aws:states:::apigateway:invoke", json!({"ApiEndpoint": "local.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Path": "missing"}));
    assert_eq!(out.end.error.as_deref(), Some("ApiGateway.404"));
    assert_eq!(out.end.cause.as_deref(), Some(r#"{"message":"Not Found"}"#));

    let out = run(&world, "arn:aws:states:::apigateway:invoke", json!({"Method": "GET"}));
    assert_eq!(out.end.error.as_deref(), Some("States.Runtime"));
}

struct Nothing;

impl Lambda for Nothing {
    fn run(&self, _body: &str, _limit_seconds: f64) -> Result<Reply, TaskError> {
        Ok(Reply { succeeded: true, payload: "null".into() })
    }
}

/// https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html, API_GetFunction.html.
#[test]
fn lambda_sdk_list_and_get_functions() {
    let world = SharedWorld::new(World::new("us-east-1", "123456789012"));
    for name in ["b", "a"] {
        world.lock().lambdas.insert(name.into(), Arc::new(Nothing));
    }
    let out = run(&world, "arn:aws:states:::aws-sdk:lambda:listFunctions", json!({}));
    assert_eq!(
        out.end.output,
        Some(json!({"Functions": [
            {"FunctionName": "a", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:a"},
            {"FunctionName": "b", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:b"}]}))
    );
    let out = run(&world, "arn:aws:states:::aws-sdk:lambda:getFunction", json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:b"}));
    assert_eq!(out.end.output.unwrap()["Configuration"]["FunctionName"], json!("b"));
    let out = run(&world, "arn:aws:states:::aws-sdk:lambda:getFunction", json!({"FunctionName": "zz"}));
    assert_eq!(out.end.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
    let out = run(&world, "arn:aws:states:::aws-sdk:lambda:deleteFunction", json!({"FunctionName": "a"}));
    assert!(out.end.cause.unwrap().contains("is not supported by asl-sim"));
}
