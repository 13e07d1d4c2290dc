//! HTTP/1.1 plumbing (hyper): whole bodies in, whole bodies out. Handlers are
//! ordinary blocking functions run on the blocking pool, since the services sit
//! behind a mutex and executions are synchronous.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;

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
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
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

pub async fn serve<H>(listener: TcpListener, mut stop: tokio::sync::watch::Receiver<bool>, handler: H)
where
    H: Fn(Req) -> BoxFut + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(_) => Bytes::new(),
                    };
                    let mut headers: Vec<(String, String)> = parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                        .collect();
                    if !headers.iter().any(|(k, _)| k == "host") {
                        if let Some(a) = parts.uri.authority() {
                            headers.push(("host".into(), a.to_string()));
                        }
                    }
                    let r = Req {
                        method: parts.method.as_str().to_string(),
                        path: parts.uri.path().to_string(),
                        query: parts.uri.query().unwrap_or("").to_string(),
                        headers,
                        body,
                        peer,
                    };
                    let head = r.method == "HEAD";
                    let resp = handler(r).await;
                    let mut b = hyper::Response::builder().status(resp.status);
                    let mut has_len = false;
                    for (k, v) in &resp.headers {
                        has_len |= k.eq_ignore_ascii_case("content-length");
                        b = b.header(k.as_str(), v.as_str());
                    }
                    let body = if head { Vec::new() } else { resp.body };
                    if head && !has_len {
                        b = b.header("content-length", "0");
                    }
                    Ok::<_, std::convert::Infallible>(b.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))))
                }
            });
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
