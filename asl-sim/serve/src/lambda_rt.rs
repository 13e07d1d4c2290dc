//! Functions as their real binaries behind an emulation of the Lambda Runtime API
//! (`/2018-06-01/runtime/invocation/next`, `/invocation/{id}/response`,
//! `/invocation/{id}/error`, `/init/error`), the API `lambda_runtime` speaks. Each
//! function has its own Runtime API listener and one process, started on the first
//! invocation and restarted if it exits; invocations queue for it, as on a single
//! Lambda instance.

use super::http::{self, BoxFut, Req, Resp};
use super::template::FunctionDef;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

struct Invocation {
    id: String,
    body: Vec<u8>,
    deadline_ms: i64,
}

type Reply = Result<Vec<u8>, Value>;

struct Inner {
    def: FunctionDef,
    queue_tx: tokio::sync::mpsc::UnboundedSender<Invocation>,
    queue_rx: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, mpsc::Sender<Reply>>>,
}

pub struct Function {
    inner: Arc<Inner>,
    pub binary: Option<PathBuf>,
    env: Vec<(String, String)>,
    addr: Mutex<Option<SocketAddr>>,
    child: Mutex<Option<Child>>,
    handle: tokio::runtime::Handle,
    stop_tx: tokio::sync::watch::Sender<bool>,
    ids: std::sync::atomic::AtomicU64,
}

/// The newest of the places cargo (or cargo-lambda) puts the binary.
pub fn find_binary(base: &Path, bin: &str) -> Option<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(t));
    }
    dirs.push(base.join("target"));
    let mut candidates = Vec::new();
    for d in dirs {
        candidates.push(d.join("debug").join(bin));
        candidates.push(d.join("release").join(bin));
        candidates.push(d.join("lambda").join(bin).join("bootstrap"));
    }
    candidates
        .into_iter()
        .filter_map(|p| std::fs::metadata(&p).ok().filter(|m| m.is_file()).and_then(|m| m.modified().ok()).map(|t| (t, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
}

impl Function {
    pub fn new(def: FunctionDef, binary: Option<PathBuf>, env: Vec<(String, String)>, handle: tokio::runtime::Handle) -> Function {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (stop_tx, _) = tokio::sync::watch::channel(false);
        Function {
            inner: Arc::new(Inner { def, queue_tx: tx, queue_rx: tokio::sync::Mutex::new(rx), pending: Mutex::new(HashMap::new()) }),
            binary,
            env,
            addr: Mutex::new(None),
            child: Mutex::new(None),
            handle,
            stop_tx,
            ids: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn runtime_api(&self) -> Result<SocketAddr, String> {
        let mut addr = self.addr.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = *addr {
            return Ok(a);
        }
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot open the Runtime API port: {e}"))?;
        std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let a = std_listener.local_addr().map_err(|e| e.to_string())?;
        let inner = self.inner.clone();
        let stop = self.stop_tx.subscribe();
        let _g = self.handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(|e| e.to_string())?;
        self.handle.spawn(http::serve(listener, stop, move |req| runtime_api(inner.clone(), req)));
        *addr = Some(a);
        Ok(a)
    }

    fn ensure_process(&self) -> Result<(), String> {
        let Some(bin) = &self.binary else {
            return Err(format!("the binary {} of {} was not found (build it with `cargo build -p {}`)", self.inner.def.binary, self.inner.def.logical, self.inner.def.binary));
        };
        let addr = self.runtime_api()?;
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = child.as_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                return Ok(());
            }
        }
        let d = &self.inner.def;
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        for k in ["PATH", "HOME", "TMPDIR", "RUST_LOG", "RUST_BACKTRACE", "SSL_CERT_FILE"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &d.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", d.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", d.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "asl-sim")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", super::template::REGION)
            .env("AWS_DEFAULT_REGION", super::template::REGION)
            .env("_HANDLER", &d.binary)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let c = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        *child = Some(c);
        Ok(())
    }

    /// Invokes the function with `payload`; Ok(result JSON) or Err(error object as
    /// Lambda reports it: `{"errorType","errorMessage"}`).
    pub fn invoke(&self, payload: &Value) -> Result<Value, Value> {
        self.ensure_process().map_err(|m| json!({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": m}))?;
        let n = self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = asl_core::rng::uuid_v4(super::wall_millis() as u64, n);
        let (tx, rx) = mpsc::channel();
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), tx);
        let timeout = self.inner.def.timeout_s.max(1);
        let deadline_ms = super::wall_millis() + timeout as i64 * 1000;
        let _ = self.inner.queue_tx.send(Invocation { id: id.clone(), body: super::json_text(payload), deadline_ms });
        match rx.recv_timeout(Duration::from_secs(timeout)) {
            Ok(Ok(bytes)) => Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                // As Lambda does, a timed-out instance is not reused.
                self.kill();
                Err(json!({"errorType": "Sandbox.Timedout", "errorMessage": format!("Task timed out after {timeout}.00 seconds")}))
            }
        }
    }

    fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn stop(&self) {
        self.kill();
        let _ = self.stop_tx.send(true);
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.kill();
    }
}

const PREFIX: &str = "/2018-06-01/runtime/";

fn runtime_api(inner: Arc<Inner>, req: Req) -> BoxFut {
    Box::pin(async move {
        let Some(rest) = req.path.strip_prefix(PREFIX) else {
            return Resp::json(404, "application/json", &json!({"errorType": "NotFound", "errorMessage": "unknown Runtime API path"}));
        };
        if req.method == "GET" && rest == "invocation/next" {
            let inv = inner.queue_rx.lock().await.recv().await;
            let Some(inv) = inv else { return Resp::new(500) };
            return Resp::new(200)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", inv.id.clone())
                .header("lambda-runtime-deadline-ms", inv.deadline_ms.to_string())
                .header(
                    "lambda-runtime-invoked-function-arn",
                    inner.def.arn.clone(),
                )
                .header("lambda-runtime-trace-id", format!("Root=1-00000000-{};Sampled=0", &inv.id.replace('-', "")[..24]))
                .body(inv.body);
        }
        if req.method == "POST" && rest == "init/error" {
            eprintln!("lambda {}: init error: {}", inner.def.name, String::from_utf8_lossy(&req.body));
            return Resp::json(202, "application/json", &json!({"status": "OK"}));
        }
        if req.method == "POST" {
            if let Some(x) = rest.strip_prefix("invocation/") {
                let (id, what) = x.split_once('/').unwrap_or((x, ""));
                let tx = inner.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                let Some(tx) = tx else {
                    return Resp::json(400, "application/json", &json!({"errorType": "InvalidRequestID", "errorMessage": "unknown or finished request id"}));
                };
                let reply = match what {
                    "response" => Ok(req.body.to_vec()),
                    "error" => Err(serde_json::from_slice(&req.body).unwrap_or_else(|_| {
                        json!({"errorType": req.header("lambda-runtime-function-error-type").unwrap_or("Unhandled"), "errorMessage": String::from_utf8_lossy(&req.body)})
                    })),
                    _ => return Resp::new(404),
                };
                let _ = tx.send(reply);
                return Resp::json(202, "application/json", &json!({"status": "OK"}));
            }
        }
        Resp::new(404)
    })
}
