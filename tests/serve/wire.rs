//! The one raw HTTP/1.1 exchange of the serve tests' hand-made clients (main.rs's `http`,
//! messaging.rs's signed `post`): one request per connection, read until serve closes it.

use std::io::{Read, Write};
use std::time::Duration;

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
