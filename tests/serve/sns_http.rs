//! SNS HTTP(S) subscriptions through serve (issue 14): the SubscriptionConfirmation POST,
//! confirming by the SubscribeURL, Notification POSTs in SNS's envelope with its headers,
//! raw message delivery, the delivery policy's retries, deliveries made after Publish
//! answered and off every lock, and the UnsubscribeURL. The endpoint is a small HTTP server
//! on 127.0.0.1 that records every request and answers the statuses it is told to.

use super::{form, Serve};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    at: Instant,
}

impl Received {
    fn header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The subscribed endpoint: records requests; answers the next scripted status (200 once the
/// script is used up), after `delay` if set.
#[derive(Clone, Default)]
struct Endpoint {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Endpoint {
    fn start() -> (Endpoint, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let ep = Endpoint::default();
        let e = ep.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let e = e.clone();
                std::thread::spawn(move || e.serve(conn));
            }
        });
        (ep, url)
    }
    fn serve(&self, mut conn: std::net::TcpStream) {
        let mut r = BufReader::new(conn.try_clone().unwrap());
        let mut line = String::new();
        if r.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        let _ = r.read_exact(&mut body);
        self.received.lock().unwrap().push(Received { path, headers, body: String::from_utf8_lossy(&body).into_owned(), at: Instant::now() });
        let status = {
            let mut s = self.script.lock().unwrap();
            if s.is_empty() { 200 } else { s.remove(0) }
        };
        std::thread::sleep(*self.delay.lock().unwrap());
        let _ = write!(conn, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    }
    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    fn wait_for(&self, n: usize, what: &str) -> Vec<Received> {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out waiting for {what}: {:?}", self.requests());
    }
}

/// An unsigned GET, as an endpoint follows SubscribeURL / UnsubscribeURL.
fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out)
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let i = s.find(a).unwrap_or_else(|| panic!("no {a} in {s}")) + a.len();
    &s[i..i + s[i..].find(b).unwrap()]
}

/// Creates a topic and subscribes the endpoint; confirms it by its SubscribeURL. Returns
/// (topic ARN, subscription ARN, the confirmation request).
fn subscribe_and_confirm(host: &str, ep: &Endpoint, url: &str, topic: &str) -> (String, String, Received) {
    let r = form(host, "sns", &[("Action", "CreateTopic"), ("Name", topic)]);
    let topic = between(&r.body, "<TopicArn>", "</TopicArn>").to_string();
    let before = ep.requests().len();
    let r = form(host, "sns", &[("Action", "Subscribe"), ("TopicArn", &topic), ("Protocol", "http"), ("Endpoint", &format!("{url}/hook"))]);
    // https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html: "pending confirmation" until confirmed.
    assert!(r.body.contains("<SubscriptionArn>pending confirmation</SubscriptionArn>"), "{}", r.body);
    let confirmation = ep.wait_for(before + 1, "the SubscriptionConfirmation POST")[before].clone();
    let envelope = confirmation.json();
    let (status, answer) = get(envelope["SubscribeURL"].as_str().unwrap());
    assert_eq!(status, 200, "{answer}");
    let sub = between(&answer, "<SubscriptionArn>", "</SubscriptionArn>").to_string();
    (topic, sub, confirmation)
}

/// https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html (the request and
/// its headers), https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
/// and .../http-notification-json.html (the two envelopes).
#[test]
fn confirmation_then_notifications_in_sns_envelopes() {
    let s = Serve::start();
    let host = s.aws();
    let (ep, url) = Endpoint::start();
    let (topic, sub, confirmation) = subscribe_and_confirm(&host, &ep, &url, "orders");
    assert_eq!(confirmation.path, "/hook");
    assert_eq!(confirmation.header("x-amz-sns-message-type"), Some("SubscriptionConfirmation"));
    assert_eq!(confirmation.header("x-amz-sns-topic-arn"), Some(topic.as_str()));
    assert_eq!(confirmation.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(confirmation.header("user-agent"), Some("Amazon Simple Notification Service Agent"));
    let c = confirmation.json();
    assert_eq!(confirmation.header("x-amz-sns-message-id"), c["MessageId"].as_str());
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"] {
        assert!(keys.contains(&k), "{k} missing: {c}");
    }
    assert_eq!(c["Type"], "SubscriptionConfirmation");
    assert!(c["SubscribeURL"].as_str().unwrap().starts_with(&format!("http://{host}/?Action=ConfirmSubscription&TopicArn={topic}&Token=")), "{c}");
    assert!(sub.starts_with(&format!("{topic}:")), "{sub}");
    let r = form(&host, "sns", &[("Action", "ListSubscriptionsByTopic"), ("TopicArn", &topic)]);
    assert!(r.body.contains(&format!("<SubscriptionArn>{sub}</SubscriptionArn>")), "confirmed: {}", r.body);

    let r = form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "order 17 shipped"), ("Subject", "shipping"),
        ("MessageAttributes.entry.1.Name", "kind"), ("MessageAttributes.entry.1.Value.DataType", "String"), ("MessageAttributes.entry.1.Value.StringValue", "ship")]);
    let message_id = between(&r.body, "<MessageId>", "</MessageId>").to_string();
    let n = ep.wait_for(2, "the Notification POST")[1].clone();
    assert_eq!(n.header("x-amz-sns-message-type"), Some("Notification"));
    assert_eq!(n.header("x-amz-sns-message-id"), Some(message_id.as_str()));
    assert_eq!(n.header("x-amz-sns-subscription-arn"), Some(sub.as_str()));
    assert_eq!(n.header("x-amz-sns-topic-arn"), Some(topic.as_str()));
    assert_eq!(n.header("x-amz-sns-rawdelivery"), None);
    let e = n.json();
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 11, "{e}");
    assert_eq!((e["Type"].as_str(), e["MessageId"].as_str(), e["TopicArn"].as_str()), (Some("Notification"), Some(message_id.as_str()), Some(topic.as_str())));
    assert_eq!((e["Subject"].as_str(), e["Message"].as_str()), (Some("shipping"), Some("order 17 shipped")));
    assert_eq!(e["MessageAttributes"], json!({"kind": {"Type": "String", "Value": "ship"}}));
    assert_eq!(e["SignatureVersion"], "1");
    assert!(e["Timestamp"].as_str().unwrap().ends_with('Z') && e["Signature"].as_str().is_some() && e["SigningCertURL"].as_str().is_some(), "{e}");
    // The envelope's own layout: one member per line (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html).
    assert!(n.body.starts_with("{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : "), "{}", n.body);

    // Raw message delivery: the message alone, and x-amz-sns-rawdelivery
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html).
    form(&host, "sns", &[("Action", "SetSubscriptionAttributes"), ("SubscriptionArn", &sub), ("AttributeName", "RawMessageDelivery"), ("AttributeValue", "true")]);
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "{\"order\": 18}")]);
    let raw = ep.wait_for(3, "the raw POST")[2].clone();
    assert_eq!(raw.body, "{\"order\": 18}");
    assert_eq!(raw.header("x-amz-sns-rawdelivery"), Some("true"));

    // The UnsubscribeURL ends the subscription, unsigned.
    let (status, answer) = get(e["UnsubscribeURL"].as_str().unwrap());
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<UnsubscribeResponse"), "{answer}");
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "after")]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ep.requests().len(), 3, "nothing after unsubscribing");
    // A forged link is refused by ConfirmSubscription itself.
    let (status, answer) = get(&format!("http://{host}/?Action=ConfirmSubscription&TopicArn={topic}&Token=0000"));
    assert!((400..500).contains(&status), "{answer}");
}

/// Retries by the delivery policy: a 5xx or no answer is retried, at the policy's delays; a
/// 4xx is final (https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html,
/// https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html).
#[test]
fn failed_deliveries_are_retried_by_the_delivery_policy() {
    let s = Serve::start();
    let host = s.aws();
    let (ep, url) = Endpoint::start();
    let (topic, sub, _) = subscribe_and_confirm(&host, &ep, &url, "retried");
    let policy = r#"{"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 2, "numNoDelayRetries": 1}}"#;
    let r = form(&host, "sns", &[("Action", "SetSubscriptionAttributes"), ("SubscriptionArn", &sub), ("AttributeName", "DeliveryPolicy"), ("AttributeValue", policy)]);
    assert_eq!(r.status, 200, "{}", r.body);
    // 500, then 503, then 200: three attempts of the same message, the last after 1 s.
    *ep.script.lock().unwrap() = vec![500, 503];
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "retry me")]);
    let got = ep.wait_for(4, "two retries")[1..].to_vec();
    assert!(got.iter().all(|r| r.json()["Message"] == "retry me" && r.header("x-amz-sns-message-id") == got[0].header("x-amz-sns-message-id")));
    assert!(got[1].at - got[0].at < Duration::from_millis(900), "the immediate retry");
    assert!(got[2].at - got[1].at >= Duration::from_millis(950), "the retry at the minimum delay: {:?}", got[2].at - got[1].at);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ep.requests().len(), 4, "delivered: no more attempts");
    // Retries run out: 1 + 2 attempts, then the message is dropped.
    *ep.script.lock().unwrap() = vec![500, 500, 500, 500];
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "gives up")]);
    ep.wait_for(7, "three failed attempts");
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(ep.requests().len(), 7);
    // A 4xx is the endpoint's final answer.
    *ep.script.lock().unwrap() = vec![404];
    form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "not found")]);
    ep.wait_for(8, "the 404 attempt");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ep.requests().len(), 8, "a 4xx is not retried");
}

/// SNS delivers asynchronously: Publish answers before a slow endpoint does, and serve keeps
/// answering other calls meanwhile (the POST holds no lock).
#[test]
fn publish_answers_before_a_slow_endpoint() {
    let s = Serve::start();
    let host = s.aws();
    let (ep, url) = Endpoint::start();
    let (topic, _, _) = subscribe_and_confirm(&host, &ep, &url, "slow");
    *ep.delay.lock().unwrap() = Duration::from_secs(3);
    let t = Instant::now();
    let r = form(&host, "sns", &[("Action", "Publish"), ("TopicArn", &topic), ("Message", "slowly")]);
    assert_eq!(r.status, 200);
    ep.wait_for(2, "the POST to the slow endpoint");
    let r = form(&host, "sns", &[("Action", "ListTopics")]);
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "Publish and ListTopics waited for the endpoint: {:?}", t.elapsed());
}
