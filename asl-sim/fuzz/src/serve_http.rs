//! The `serve-http` target: raw bytes as one client connection to `asl-sim serve`.
//!
//! A real serve runs in this process on 127.0.0.1 (started once, in memory, on a small
//! template of its own: a bucket, a table, an express state machine behind an HTTP API
//! route with a JWT authorizer), with short connection timeouts. Each input is written to
//! both front doors (the AWS endpoint and the HTTP API) over a fresh connection, the
//! client half-closes, and the answer is read: hyper's request-head and chunked parsing,
//! SigV4 header and query parsing, the body limits, `aws-chunked` unframing, the checksum
//! checks and every service handler behind them see the mutated bytes.
//!
//! So that mutated requests get past the signature check (and reach the code behind it),
//! two placeholders of the corpus are filled in after mutating: `AMZDATE` becomes the
//! current `x-amz-date` (and `AMZDAY` its day) and `Signature=SIGN` the signature serve
//! expects for the request as it now is; `Bearer TOKEN` becomes a valid JWT.
//!
//! serve fails this target by answering 500 (a handler panicked), by panicking on any of
//! its threads (the panic hook below notes it), or by neither answering nor closing
//! within 10 s (a hang).

use asl_core::time::format_iso8601;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Served {
    aws: SocketAddr,
    api: SocketAddr,
    token: String,
    /// Kept for the life of the process: dropping it would stop serve.
    _handle: asl_serve::Handle,
}

/// Set by the panic hook when any of serve's threads panics.
static SERVE_PANICKED: AtomicBool = AtomicBool::new(false);

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  JwtIssuer:
    Type: String
  JwtAudience:
    Type: CommaDelimitedList
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: fuzz
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: fuzz
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: PK
          AttributeType: S
      KeySchema:
        - AttributeName: PK
          KeyType: HASH
  Echo:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Echo
        States:
          Echo:
            Type: Pass
            End: true
  HttpApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: fuzz
      ProtocolType: HTTP
  Authorizer:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref HttpApi
      Name: jwt
      AuthorizerType: JWT
      IdentitySource:
        - $request.header.Authorization
      JwtConfiguration:
        Issuer: !Ref JwtIssuer
        Audience: !Ref JwtAudience
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref HttpApi
      StageName: $default
      AutoDeploy: true
  EchoIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref HttpApi
      IntegrationType: AWS_PROXY
      IntegrationSubtype: StepFunctions-StartSyncExecution
      PayloadFormatVersion: "1.0"
      RequestParameters:
        StateMachineArn: !Ref Echo
        Input: '{"body":${request.body},"user":"${context.authorizer.claims.sub}"}'
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref HttpApi
      RouteKey: POST /echo
      AuthorizationType: JWT
      AuthorizerId: !Ref Authorizer
      Target: !Sub "integrations/${EchoIntegration}"
"#;

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("asl-fuzz-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a data directory for serve");
        let template = dir.join("template.yaml");
        std::fs::write(&template, TEMPLATE).expect("write the fuzz template");
        let args = asl_serve::ServeArgs {
            stack_name: "fuzz".into(),
            limits: asl_serve::ConnectionLimits { header_timeout_ms: 2_000, idle_timeout_ms: 2_000, max_connections: 64 },
            ..asl_serve::ServeArgs::local(template, dir.clone())
        };
        let (handle, _banner) = asl_serve::start(&args).unwrap_or_else(|e| panic!("serve did not start: {e}"));
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The runtime's threads (workers and the blocking pool) are all called "serve".
            if std::thread::current().name() == Some("serve") {
                SERVE_PANICKED.store(true, Ordering::SeqCst);
            }
            previous(info);
        }));
        let token = asl_serve::mint_token(&dir, "fuzzer", asl_serve::template::LOCAL_ISSUER, asl_serve::template::LOCAL_AUDIENCE, 30 * 86_400)
            .expect("a token");
        Served { aws: handle.aws_addr, api: handle.api_addr, token, _handle: handle }
    })
}

/// SigV4's `X-Amz-Date`: the ISO-8601 basic format (`20130524T000000Z`).
fn amz_date(secs: u64) -> String {
    format_iso8601(secs as i64 * 1000).replace(['-', ':'], "")
}

fn replace_all(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Fills in the placeholders: the date, the token, then the signature of the request as
/// it reads now (parsed leniently here; serve parses it for real).
fn fill_in(input: &[u8], token: &str) -> Vec<u8> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let date = amz_date(now);
    let b = replace_all(input, b"AMZDATE", date.as_bytes());
    let b = replace_all(&b, b"AMZDAY", &date.as_bytes()[..8]);
    let b = replace_all(&b, b"Bearer TOKEN", format!("Bearer {token}").as_bytes());
    let Some(at) = b.windows(b"Signature=SIGN".len()).position(|w| w == b"Signature=SIGN") else { return b };
    let Some(head_end) = b.windows(4).position(|w| w == b"\r\n\r\n") else { return b };
    let head = String::from_utf8_lossy(&b[..head_end]).into_owned();
    let body = &b[head_end + 4..];
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("");
    let target = first.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().replace("Signature=SIGN", "Signature=")))
        .collect();
    let req = asl_serve::sigv4::Request { method, path, query, headers: &headers, body };
    let keys = asl_serve::sigv4::Keys { access_key: "test".into(), secret_key: "test".into() };
    match asl_serve::sigv4::client_signature(&req, &keys) {
        Some(sig) => {
            let mut out = b[..at].to_vec();
            out.extend_from_slice(format!("Signature={sig}").as_bytes());
            out.extend_from_slice(&b[at + b"Signature=SIGN".len()..]);
            out
        }
        None => b,
    }
}

/// One connection: the bytes, a half-close, the answer (whatever serve sends until it closes).
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(addr).expect("serve accepts connections");
    c.set_read_timeout(Some(Duration::from_secs(10))).expect("a read timeout");
    c.set_write_timeout(Some(Duration::from_secs(10))).expect("a write timeout");
    // serve may answer (and close) before reading everything: a failed write is not a failure.
    let _ = c.write_all(bytes);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    if let Err(e) = c.read_to_end(&mut out) {
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
            panic!("serve neither answered nor closed within 10 s");
        }
    }
    out
}

pub fn run(input: &[u8]) {
    let s = served();
    SERVE_PANICKED.store(false, Ordering::SeqCst);
    let bytes = fill_in(input, &s.token);
    for addr in [s.aws, s.api] {
        let answer = exchange(addr, &bytes);
        assert!(!SERVE_PANICKED.load(Ordering::SeqCst), "a serve thread panicked");
        // Every answer on a connection (pipelined requests each get one).
        let text = String::from_utf8_lossy(&answer);
        for status in text.match_indices("HTTP/1.1 ").filter_map(|(i, _)| text.get(i + 9..i + 12)) {
            assert!(status != "500", "serve answered 500: {}", &text[..text.len().min(600)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
    }
}
