//! HTTP/1.1 plumbing (hyper) shared by the front doors.
//!
//! A request is admitted in two steps so that a refused request costs nothing: the
//! front door first sees only the head (method, path, headers) and either refuses it
//! (no identity, a bad signature, a declared body over the operation's limit) or names
//! the most body it accepts; only then is the body read, bounded by that limit and by
//! an idle timeout. A body that cannot be read whole (the client stops early, bad
//! chunked framing, over the limit, stalled) is answered by the front door's own error
//! and the handler never runs: no handler ever sees a partial or substituted body.
//!
//! The connection itself is bounded too: a header-read timeout (which also closes
//! idle keep-alive connections, since hyper restarts it while waiting for the next
//! request head) and a cap on concurrent connections (further clients wait in the
//! listen backlog until one ends).
//!
//! Handlers are ordinary blocking functions run on the blocking pool, since the
//! services sit behind a mutex and executions are synchronous.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A request's head: everything a front door may check before reading the body.
pub struct Head {
    pub method: String,
    /// Path as sent (percent-encoded).
    pub path: String,
    pub query: String,
    /// Lower-cased names, in order.
    pub headers: Vec<(String, String)>,
    pub peer: SocketAddr,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }
    /// The declared body length: `Ok(None)` without a Content-Length, `Err` when it is not a number.
    pub fn content_length(&self) -> Result<Option<u64>, ()> {
        match self.header("content-length") {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| ()),
        }
    }
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub struct Req {
    pub method: String,
    /// Path as sent (percent-encoded).
    pub path: String,
    pub query: String,
    /// Lower-cased names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub peer: SocketAddr,
}

impl Req {
    pub fn from_head(head: Head, body: Bytes) -> Req {
        Req { method: head.method, path: head.path, query: head.query, headers: head.headers, body, peer: head.peer }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }
    pub fn query_param(&self, name: &str) -> Option<String> {
        super::sigv4::query_pairs(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn has_query(&self, name: &str) -> bool {
        super::sigv4::query_pairs(&self.query).iter().any(|(k, _)| k == name)
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn new(status: u16) -> Resp {
        Resp { status, headers: Vec::new(), body: Vec::new() }
    }
    pub fn json(status: u16, content_type: &str, v: &serde_json::Value) -> Resp {
        Resp { status, headers: vec![("content-type".into(), content_type.into())], body: super::json_text(v) }
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Resp {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub fn body(mut self, b: Vec<u8>) -> Resp {
        self.body = b;
        self
    }
}

pub type BoxFut = Pin<Box<dyn Future<Output = Resp> + Send>>;

/// A handler that runs on the blocking pool.
pub fn blocking<F>(f: F) -> BoxFut
where
    F: FnOnce() -> Resp + Send + 'static,
{
    Box::pin(async move {
        match tokio::task::spawn_blocking(f).await {
            Ok(r) => r,
            Err(_) => Resp::json(500, "application/json", &serde_json::json!({"message": "Internal Server Error"})),
        }
    })
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The connection ended (or the chunked framing broke) before the body did.
    Incomplete,
    /// More bytes than the front door admitted (a body without Content-Length that grew past the limit).
    TooLarge { limit: u64 },
    /// No byte arrived for the idle timeout.
    Timeout,
}

/// What a front door admits before the body is read.
pub struct Admitted<T> {
    /// The most body bytes this request may carry.
    pub limit: u64,
    /// What the head checks found (the verified identity, the route), handed to `handle`.
    pub ticket: T,
}

/// A front door: checks on the head, the answer to a broken body, the handler.
pub trait Front: Send + Sync + 'static {
    type Ticket: Send + 'static;
    /// Runs before any body byte is read; a refusal here reads nothing more.
    fn admit(&self, head: &Head) -> Result<Admitted<Self::Ticket>, Resp>;
    /// The answer when the body cannot be read whole (the handler does not run).
    fn body_error(&self, head: &Head, e: BodyError) -> Resp;
    fn handle(&self, req: Req, ticket: Self::Ticket) -> BoxFut;
}

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most time to receive a request head, and to wait for the next one on a kept-alive connection.
    pub header_timeout: Option<Duration>,
    /// Most time between two body bytes.
    pub body_idle_timeout: Option<Duration>,
    /// Concurrent connections served; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Limits {
    /// No timeouts: for the Lambda Runtime API, whose only client is the function's own process.
    pub fn internal() -> Limits {
        Limits { header_timeout: None, body_idle_timeout: None, max_connections: 64 }
    }
}

/// Serves a plain handler with no head checks (the Lambda Runtime API).
pub async fn serve<H>(listener: TcpListener, stop: tokio::sync::watch::Receiver<bool>, handler: H)
where
    H: Fn(Req) -> BoxFut + Send + Sync + 'static,
{
    struct Plain<H>(H);
    impl<H: Fn(Req) -> BoxFut + Send + Sync + 'static> Front for Plain<H> {
        type Ticket = ();
        fn admit(&self, _: &Head) -> Result<Admitted<()>, Resp> {
            // A Lambda response or error is at most 6 MB; a little room for the framing.
            Ok(Admitted { limit: 8 * 1024 * 1024, ticket: () })
        }
        fn body_error(&self, _: &Head, _: BodyError) -> Resp {
            Resp::json(400, "application/json", &serde_json::json!({"errorType": "InvalidRequest", "errorMessage": "the request body could not be read"}))
        }
        fn handle(&self, req: Req, _: ()) -> BoxFut {
            (self.0)(req)
        }
    }
    serve_front(listener, stop, Arc::new(Plain(handler)), Limits::internal()).await
}

/// Reads a body whole, bounded by `limit` bytes and `idle` between frames.
async fn read_body(mut body: Incoming, limit: u64, idle: Option<Duration>) -> Result<Bytes, BodyError> {
    let mut buf = BytesMut::new();
    loop {
        let next = match idle {
            Some(d) => match tokio::time::timeout(d, body.frame()).await {
                Ok(f) => f,
                Err(_) => return Err(BodyError::Timeout),
            },
            None => body.frame().await,
        };
        match next {
            None => return Ok(buf.freeze()),
            Some(Err(_)) => return Err(BodyError::Incomplete),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() as u64 + data.len() as u64 > limit {
                        return Err(BodyError::TooLarge { limit });
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}

fn head_of(parts: &hyper::http::request::Parts, peer: SocketAddr) -> Head {
    let mut headers: Vec<(String, String)> =
        parts.headers.iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    if !headers.iter().any(|(k, _)| k == "host") {
        if let Some(a) = parts.uri.authority() {
            headers.push(("host".into(), a.to_string()));
        }
    }
    Head {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        peer,
    }
}

async fn respond<F: Front>(front: Arc<F>, limits: Limits, req: hyper::Request<Incoming>, peer: SocketAddr) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let head = head_of(&parts, peer);
    let is_head = head.method == "HEAD";
    let resp = match front.admit(&head) {
        Err(r) => r,
        Ok(Admitted { limit, ticket }) => {
            // A declared length over the limit is refused before a byte is read.
            let declared = head.content_length().ok().flatten();
            if declared.is_some_and(|n| n > limit) {
                front.body_error(&head, BodyError::TooLarge { limit })
            } else {
                match read_body(body, limit, limits.body_idle_timeout).await {
                    Ok(bytes) => front.handle(Req::from_head(head, bytes), ticket).await,
                    Err(e) => front.body_error(&head, e),
                }
            }
        }
    };
    let mut b = hyper::Response::builder().status(resp.status);
    let mut has_len = false;
    for (k, v) in &resp.headers {
        has_len |= k.eq_ignore_ascii_case("content-length");
        b = b.header(k.as_str(), v.as_str());
    }
    let body = if is_head { Vec::new() } else { resp.body };
    if is_head && !has_len {
        b = b.header("content-length", "0");
    }
    b.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

pub async fn serve_front<F: Front>(listener: TcpListener, mut stop: tokio::sync::watch::Receiver<bool>, front: Arc<F>, limits: Limits) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        // A free slot first: while every slot is taken, new clients wait in the backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let front = front.clone();
                async move { Ok::<_, std::convert::Infallible>(respond(front, limits, req, peer).await) }
            });
            let mut builder = http1::Builder::new();
            builder.keep_alive(true).timer(TokioTimer::new());
            builder.header_read_timeout(limits.header_timeout);
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
