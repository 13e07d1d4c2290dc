//! SNS's HTTP(S) deliveries: the SubscriptionConfirmation and Notification POSTs, made off
//! every lock and retried by the subscription's delivery policy (asl-sns's `delivery`
//! module: SNS's default is 3 retries, 20 seconds apart;
//! https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).
//!
//! One scheduler thread keeps the attempts due, in order of their time; each attempt runs on
//! a thread of its own, so a slow endpoint (SNS waits about 15 seconds) delays no other. A
//! delivery whose retries run out is dropped, as SNS drops it when the subscription has no
//! dead-letter queue. Deliveries are not persisted: a restart loses the retries still
//! pending (SNS promises at-least-once only while the service runs).

use asl_sns::delivery::{attempt_failed, HttpPlan, ATTEMPT_TIMEOUT_SECONDS};
use asl_sns::Delivery;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Attempt {
    delivery: Delivery,
    plan: Arc<HttpPlan>,
    /// 0 for the first attempt, n for the n-th retry.
    number: usize,
    due: Instant,
}

/// The outbox: hands deliveries to the scheduler thread. Cloned into the world as its
/// `sns_http_sink`; the thread ends when the last sender is gone (serve stopped).
#[derive(Clone)]
pub struct Outbox {
    tx: Arc<Mutex<Sender<Attempt>>>,
}

impl Outbox {
    pub fn start() -> Outbox {
        let (tx, rx) = channel::<Attempt>();
        let tx = Arc::new(Mutex::new(tx));
        // Weak: the thread must not keep its own channel open, or it would outlive serve.
        let retries = Arc::downgrade(&tx);
        std::thread::Builder::new()
            .name("sns-http".into())
            .spawn(move || {
                let mut due: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
                let mut waiting: std::collections::HashMap<u64, Attempt> = Default::default();
                let mut seq = 0u64;
                loop {
                    let next = due.peek().map(|Reverse((t, _))| *t);
                    let received = match next {
                        Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    };
                    match received {
                        Ok(a) => {
                            seq += 1;
                            due.push(Reverse((a.due, seq)));
                            waiting.insert(seq, a);
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) if due.is_empty() => return,
                        Err(RecvTimeoutError::Disconnected) => {
                            std::thread::sleep(next.map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now())))
                        }
                    }
                    while let Some(Reverse((t, id))) = due.peek().copied() {
                        if t > Instant::now() {
                            break;
                        }
                        due.pop();
                        let Some(a) = waiting.remove(&id) else { continue };
                        let retries = retries.clone();
                        std::thread::spawn(move || {
                            if let (Some(next), Some(tx)) = (attempt(a), retries.upgrade()) {
                                let _ = tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).send(next);
                            }
                        });
                    }
                }
            })
            .expect("spawn the sns-http thread");
        Outbox { tx }
    }

    /// Queues the first attempt of each delivery, now.
    pub fn send(&self, deliveries: Vec<(Delivery, HttpPlan)>) {
        let tx = self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (delivery, plan) in deliveries {
            let _ = tx.send(Attempt { delivery, plan: Arc::new(plan), number: 0, due: Instant::now() });
        }
    }

    /// The world's sink: deliveries go to this outbox.
    pub fn sink(&self) -> Arc<asl_world::world::SnsHttpSink> {
        let outbox = self.clone();
        Arc::new(move |deliveries| outbox.send(deliveries))
    }
}

/// Makes one attempt; the next one if this one failed and the policy has retries left.
fn attempt(a: Attempt) -> Option<Attempt> {
    let status = post(&a.delivery, &a.plan.content_type);
    if !attempt_failed(status) {
        return None;
    }
    let delay = *a.plan.retry.delays().get(a.number)?;
    Some(Attempt { due: Instant::now() + Duration::from_secs(delay), number: a.number + 1, ..a })
}

/// POSTs the delivery; the answer's status, or `None` when there was none in time.
fn post(d: &Delivery, content_type: &str) -> Option<u16> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(ATTEMPT_TIMEOUT_SECONDS))).build().into();
    let mut req = ureq::http::Request::builder().method("POST").uri(d.endpoint.as_str());
    for (k, v) in &d.headers {
        if !k.eq_ignore_ascii_case("content-type") {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let req = req.header("Content-Type", content_type).body(d.body.clone()).ok()?;
    let mut resp = agent.run(req).ok()?;
    // Read the answer out so the connection ends cleanly; its body means nothing to SNS.
    let _ = resp.body_mut().with_config().limit(1 << 20).read_to_vec();
    Some(resp.status().as_u16())
}
