//! The one raw HTTP/1.1 exchange of the serve tests' hand-made clients (main.rs's `http`,
//! messaging.rs's signed `post`): one request per connection, read until serve closes it;
//! and the one SigV4 header signing of requests made by hand (attacks.rs, messaging.rs).

use aws_sigv4::http_request::{sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode};
use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

/// What came back: the status, the headers (names lower-cased), the head's text and the
/// bytes after it (still chunked if the answer was).
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    // Read by messaging.rs (is the answer chunked?), not by main.rs's client.
    #[allow(dead_code)]
    pub head: String,
    pub body: Vec<u8>,
}

/// Sends `head` (request line and headers, ending in the empty line) and `body` to `host`.
pub fn exchange(host: &str, head: &str, body: &[u8]) -> Raw {
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let body = buf[split + 4..].to_vec();
    Raw { status, headers, head, body }
}

/// Header-signs a request like an SDK: `signed` headers (plus host, x-amz-date) are signed
/// with the declared `x-amz-content-sha256` (for S3) or the body's hash (JSON services).
/// Returns the headers to send (without host, which `http` adds).
pub fn sign_request(service: &str, method: &str, url: &str, signed: &[(&str, &str)], body: &[u8]) -> Vec<(String, String)> {
    let host = url.strip_prefix("http://").unwrap().split('/').next().unwrap();
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    headers.extend(signed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let body = match signed.iter().find(|(k, _)| *k == "x-amz-content-sha256") {
        Some((_, h)) => SignableBody::Precomputed(h.to_string()),
        None => SignableBody::Bytes(body),
    };
    let req = SignableRequest::new(method, url, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), body).unwrap();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    if service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let identity = aws_credential_types::Credentials::new("test", "test", None, None, "tests").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let (instructions, _) = sign(req, &params).unwrap().into_parts();
    let mut out: Vec<(String, String)> = signed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    out.extend(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

/// A request head: `start` (request line and first headers), then `headers` and the blank line.
pub fn head_with(start: String, headers: &[(String, String)]) -> String {
    let mut req = start;
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req + "\r\n"
}
