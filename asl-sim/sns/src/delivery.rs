//! How SNS retries an HTTP(S) delivery: the delivery policy of the subscription (or its
//! topic's, or SNS's default) as the list of delays before each retry, and which answers
//! count as failures. Pure: a driver makes the requests and sleeps the delays.
//!
//! Sources:
//! - https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html: the four
//!   phases (immediate, pre-backoff, backoff, post-backoff), the `healthyRetryPolicy` /
//!   `http.defaultHealthyRetryPolicy` members, `disableSubscriptionOverrides`, the
//!   `requestPolicy.headerContentType`, and the 3,600-second hard limit on a policy's total
//!   retry time.
//! - https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.retry.html: by default "up to
//!   three retries with a delay between failed attempts set at 20 seconds".
//! - https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html: a status
//!   outside 200-4xx, or no answer within about 15 seconds, is a failed delivery, retried;
//!   a 4xx answer is not retried.

use super::Sns;
use serde_json::Value;

/// SNS's default content type of HTTP(S) deliveries.
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";
/// How long SNS waits for an endpoint's answer before counting the attempt as failed.
pub const ATTEMPT_TIMEOUT_SECONDS: u64 = 15;
/// The hard limit on the sum of a policy's retry delays.
pub const MAX_TOTAL_RETRY_SECONDS: u64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

/// A `healthyRetryPolicy`, with SNS's defaults for what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_delay_target: u64,
    pub max_delay_target: u64,
    pub num_retries: u64,
    pub num_no_delay_retries: u64,
    pub num_min_delay_retries: u64,
    pub num_max_delay_retries: u64,
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// The HTTP(S) default: 3 retries, 20 seconds apart (what EffectiveDeliveryPolicy shows).
    fn default() -> Self {
        RetryPolicy {
            min_delay_target: 20,
            max_delay_target: 20,
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            num_max_delay_retries: 0,
            backoff: Backoff::Linear,
        }
    }
}

impl RetryPolicy {
    /// Reads a `healthyRetryPolicy` object; members it lacks keep the defaults.
    pub fn from_json(v: &Value) -> RetryPolicy {
        let d = RetryPolicy::default();
        let n = |k: &str, default: u64| v.get(k).and_then(Value::as_u64).unwrap_or(default);
        let min = n("minDelayTarget", d.min_delay_target).max(1);
        RetryPolicy {
            min_delay_target: min,
            max_delay_target: n("maxDelayTarget", d.max_delay_target).max(min),
            num_retries: n("numRetries", d.num_retries),
            num_no_delay_retries: n("numNoDelayRetries", 0),
            num_min_delay_retries: n("numMinDelayRetries", 0),
            num_max_delay_retries: n("numMaxDelayRetries", 0),
            backoff: match v.get("backoffFunction").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("arithmetic") => Backoff::Arithmetic,
                Some("geometric") => Backoff::Geometric,
                Some("exponential") => Backoff::Exponential,
                _ => Backoff::Linear,
            },
        }
    }

    /// The delay in seconds before each retry, in order (its length is the number of
    /// retries). Phases: `numNoDelayRetries` at 0, `numMinDelayRetries` at the minimum, the
    /// backoff phase (the retries left over) rising from the minimum to the maximum, then
    /// `numMaxDelayRetries` at the maximum; cut where the total would pass 3,600 seconds.
    ///
    /// AWS documents the four backoff functions only as a graph in which each rises from
    /// minDelayTarget to maxDelayTarget over the phase; the curves here keep those end points
    /// and the graph's order: geometric rises fastest at first (square root), linear and
    /// arithmetic evenly, exponential slowest at first (a constant ratio). SNS also adds
    /// jitter; these delays are the policy's targets without it, so that a run replays.
    pub fn delays(&self) -> Vec<u64> {
        let (min, max) = (self.min_delay_target, self.max_delay_target);
        let fixed = self.num_no_delay_retries + self.num_min_delay_retries + self.num_max_delay_retries;
        let backoff = self.num_retries.saturating_sub(fixed);
        let mut out = Vec::new();
        out.extend(std::iter::repeat_n(0, self.num_no_delay_retries as usize));
        out.extend(std::iter::repeat_n(min, self.num_min_delay_retries as usize));
        for i in 1..=backoff {
            let x = i as f64 / backoff as f64;
            let span = (max - min) as f64;
            let d = match self.backoff {
                Backoff::Linear | Backoff::Arithmetic => min as f64 + span * x,
                Backoff::Geometric => min as f64 + span * x.sqrt(),
                Backoff::Exponential => min as f64 * (max as f64 / min as f64).powf(x).max(1.0),
            };
            out.push((d.round() as u64).clamp(min, max));
        }
        out.extend(std::iter::repeat_n(max, self.num_max_delay_retries as usize));
        out.truncate(self.num_retries as usize);
        let mut total = 0;
        out.into_iter()
            .take_while(|d| {
                total += d;
                total <= MAX_TOTAL_RETRY_SECONDS
            })
            .collect()
    }
}

/// What a driver needs to make one subscription's HTTP(S) deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPlan {
    pub retry: RetryPolicy,
    pub content_type: String,
}

impl Default for HttpPlan {
    fn default() -> Self {
        HttpPlan { retry: RetryPolicy::default(), content_type: DEFAULT_CONTENT_TYPE.to_string() }
    }
}

/// Whether an attempt failed and is retried: no answer (refused, reset, timed out; `None`)
/// or a status outside 200-499. A 4xx is the endpoint's final word.
pub fn attempt_failed(status: Option<u16>) -> bool {
    !status.is_some_and(|s| (200..500).contains(&s))
}

/// The plan from the topic's `DeliveryPolicy` (`{"http": {"defaultHealthyRetryPolicy",
/// "disableSubscriptionOverrides", "defaultRequestPolicy"}}`) and the subscription's
/// (`{"healthyRetryPolicy", "requestPolicy"}`), the subscription's winning unless the topic
/// disables overrides. Unparsable policies count as absent (SNS refuses them when set).
pub fn plan(topic_policy: Option<&str>, subscription_policy: Option<&str>) -> HttpPlan {
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok()).unwrap_or(Value::Null);
    let topic = parse(topic_policy);
    let topic_http = &topic["http"];
    let sub = parse(subscription_policy);
    let overrides = topic_http["disableSubscriptionOverrides"] != Value::Bool(true);
    let retry = match (&sub["healthyRetryPolicy"], &topic_http["defaultHealthyRetryPolicy"]) {
        (s @ Value::Object(_), _) if overrides => RetryPolicy::from_json(s),
        (_, t @ Value::Object(_)) => RetryPolicy::from_json(t),
        _ => RetryPolicy::default(),
    };
    let own_type = sub["requestPolicy"]["headerContentType"].as_str().filter(|_| overrides);
    let content_type =
        own_type.or(topic_http["defaultRequestPolicy"]["headerContentType"].as_str()).unwrap_or(DEFAULT_CONTENT_TYPE).to_string();
    HttpPlan { retry, content_type }
}

impl Sns {
    /// The delivery plan of a subscription (its topic's and its own `DeliveryPolicy`); the
    /// default plan if the subscription is gone.
    pub fn http_plan(&self, subscription_arn: &str) -> HttpPlan {
        let Some(s) = self.subscriptions.get(subscription_arn) else { return HttpPlan::default() };
        let topic_policy = self.topics.get(&s.topic_arn).and_then(|t| t.attributes.get("DeliveryPolicy"));
        plan(topic_policy.map(String::as_str), s.attributes.get("DeliveryPolicy").map(String::as_str))
    }
}
