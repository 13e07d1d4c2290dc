//! An in-memory Amazon SNS. No I/O: the time of each call is passed in, ids come from a
//! seeded generator, and SNS's deliveries are computed, not made: [`Sns::call`] answers
//! the API response and the [`Delivery`]s (endpoint and exact body) a driver hands to SQS
//! queues, Lambda functions and HTTP(S) endpoints.
//!
//! Requests are JSON objects with the SDK's PascalCase members (what Step Functions'
//! aws-sdk integration passes; the query-protocol front door builds the same shape):
//! `Attributes` is a map, `Tags` a list of `{Key, Value}`, `MessageAttributes` a map of
//! `{DataType, StringValue | BinaryValue}`.
//!
//! Modelled: standard and FIFO topics (sequence numbers, 5-minute deduplication by id or
//! content), Publish and PublishBatch with subjects, message attributes and
//! `MessageStructure: json`; Subscribe (sqs, lambda, http, https; http(s) subscriptions wait
//! for ConfirmSubscription, with the SubscriptionConfirmation message delivered),
//! Unsubscribe, ListSubscriptions(ByTopic), Get/SetSubscriptionAttributes with raw message
//! delivery and filter policies on attributes or the body ([`filter`]); topic attributes,
//! tags; SNS's error codes and messages (aws-recorded/errors.jsonl).
//!
//! Deliberate differences: signatures are deterministic placeholders (no AWS private key),
//! so `Signature` does not verify against `SigningCertURL`; email, sms and mobile push
//! subscriptions are accepted but deliver nothing; delivery retries and subscription DLQs
//! are the driver's business.

mod error;
pub mod filter;
pub mod sfn;
pub mod delivery;

pub use error::SnsError;
pub use sfn::{step_functions_call, IntegrationStyle};

use asl_aws::ids::PersistedIds;
// `2012-04-25T21:49:25.719Z`, the envelope's Timestamp.
use asl_aws::time::format_millis;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

const MAX_MESSAGE_BYTES: usize = 262_144;
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;
const PROTOCOLS: &[&str] = &["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"];

/// One message SNS sends to one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub subscription_arn: String,
    /// `sqs`, `lambda`, `http`, `https`.
    pub protocol: String,
    /// The queue ARN, function ARN or URL.
    pub endpoint: String,
    /// What the endpoint receives: the JSON envelope, the raw message, or for Lambda the
    /// event (`{"Records": [...]}`) as JSON text.
    pub body: String,
    /// Raw delivery to SQS: the message attributes as SQS message attributes (JSON shape).
    pub sqs_message_attributes: Option<Value>,
    pub message_group_id: Option<String>,
    pub message_deduplication_id: Option<String>,
    /// HTTP(S) deliveries: the headers SNS sends.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Topic {
    arn: String,
    name: String,
    fifo: bool,
    attributes: BTreeMap<String, String>,
    tags: Vec<(String, String)>,
    sequence: u64,
    dedup: HashMap<String, (i64, String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Subscription {
    arn: String,
    topic_arn: String,
    protocol: String,
    endpoint: String,
    attributes: BTreeMap<String, String>,
    /// Confirmation token while an http(s) subscription is pending.
    pending_token: Option<String>,
    /// Parsed from the `FilterPolicy` attribute; not stored, rebuilt by [`Sns::from_json`].
    #[serde(skip)]
    filter: Option<filter::Rule>,
}

impl Subscription {
    fn raw(&self) -> bool {
        self.attributes.get("RawMessageDelivery").is_some_and(|v| v == "true")
    }
}

/// The in-memory SNS of one account and region. Its serde form (through [`Sns::to_json`]) is
/// what a driver persists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sns {
    pub region: String,
    pub account: String,
    /// Base of the URLs in envelopes (`SigningCertURL`, `UnsubscribeURL`, `SubscribeURL`).
    pub endpoint: String,
    topics: BTreeMap<String, Topic>,
    subscriptions: BTreeMap<String, Subscription>,
    #[serde(flatten)]
    ids: PersistedIds,
}


fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).into()
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- request members ----

fn str_param<'a>(p: &'a Value, k: &str) -> Result<Option<&'a str>, SnsError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SnsError::validation(format!("1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a string", lower_first(k)))),
    }
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    c.next().map(|f| f.to_lowercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// A required member; SNS words a missing one as a null constraint violation.
fn req_str<'a>(p: &'a Value, k: &str) -> Result<&'a str, SnsError> {
    str_param(p, k)?.ok_or_else(|| {
        SnsError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(k)
        ))
    })
}

fn attributes_param(p: &Value) -> Result<BTreeMap<String, String>, SnsError> {
    match p.get("Attributes") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                // Policies written as JSON objects in Step Functions parameters.
                Value::Object(_) | Value::Array(_) | Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
                Value::Null => Ok((k.clone(), String::new())),
            })
            .collect(),
        Some(_) => Err(SnsError::invalid_parameter("Attributes")),
    }
}

fn tags_param(p: &Value) -> Result<Vec<(String, String)>, SnsError> {
    let list = match p.get("Tags") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(SnsError::invalid_parameter("Tags")),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for t in list {
        let k = req_str(t, "Key")?.to_string();
        let v = str_param(t, "Value")?.unwrap_or("").to_string();
        if out.iter().any(|(ok, _)| *ok == k) {
            return Err(SnsError::invalid_parameter("Duplicated keys are not allowed."));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// `An ARN must have at least 6 elements, not N` (recorded for TopicArn and SubscriptionArn).
fn check_arn(arn: &str, param: &str) -> Result<Vec<String>, SnsError> {
    if arn.is_empty() {
        return Err(SnsError::invalid_parameter(format!("{param} Reason: no value for required parameter")));
    }
    let parts: Vec<String> = arn.split(':').map(str::to_string).collect();
    if parts.len() < 6 {
        return Err(SnsError::invalid_parameter(format!("{param} Reason: An ARN must have at least 6 elements, not {}", parts.len())));
    }
    Ok(parts)
}

#[derive(Debug, Clone)]
struct Attr {
    data_type: String,
    string: Option<String>,
    binary: Option<Vec<u8>>,
}

/// Message attributes with SNS's validation (messages recorded in errors.jsonl,
/// test_empty_or_wrong_message_attributes). `path` names the member for ValidationError.
fn message_attributes(p: &Value, path: &str) -> Result<BTreeMap<String, Attr>, SnsError> {
    let obj = match p.get("MessageAttributes") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(SnsError::invalid_parameter("MessageAttributes")),
    };
    let mut out = BTreeMap::new();
    for (name, v) in obj {
        if name.len() >= 256 {
            return Err(SnsError::parameter_value_invalid("Length of message attribute name must be less than 256 bytes."));
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(SnsError::parameter_value_invalid(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        if name.starts_with('.') {
            return Err(SnsError::parameter_value_invalid("Invalid message attribute name starting with character '.' was found."));
        }
        if name.ends_with('.') {
            return Err(SnsError::parameter_value_invalid("Invalid message attribute name ending with character '.' was found."));
        }
        if name.contains("..") {
            return Err(SnsError::parameter_value_invalid("Message attribute name can not have successive '.' character."));
        }
        let data_type = match v.get("DataType") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(SnsError::validation(format!(
                    "1 validation error detected: Value null at '{path}messageAttributes.{name}.member.dataType' failed to satisfy constraint: Member must not be null"
                )))
            }
        };
        let string = v.get("StringValue").and_then(Value::as_str).map(str::to_string);
        let binary = match v.get("BinaryValue") {
            Some(Value::String(s)) => {
                use base64::Engine;
                Some(base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| SnsError::invalid_parameter("MessageAttributes"))?)
            }
            _ => None,
        };
        let base = data_type.split('.').next().unwrap_or("");
        match base {
            "String" | "Number" | "Binary" => {
                // A value in the other field than the type's, or none at all (recorded wording).
                let (field, given, empty, other) = if base == "Binary" {
                    ("Binary", binary.is_some(), binary.as_ref().is_none_or(Vec::is_empty), string.is_some())
                } else {
                    ("String", string.is_some(), string.as_deref().is_none_or(str::is_empty), binary.is_some())
                };
                if !given && other {
                    return Err(SnsError::parameter_value_invalid(format!(
                        "The message attribute '{name}' with type '{base}' must use field '{field}'."
                    )));
                }
                if empty {
                    return Err(SnsError::parameter_value_invalid(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                    )));
                }
                if base == "Number" && string.as_deref().and_then(|s| s.trim().parse::<f64>().ok()).is_none() {
                    // UNVERIFIED wording.
                    return Err(SnsError::parameter_value_invalid(format!(
                        "Could not cast message attribute '{name}' value to number."
                    )));
                }
            }
            _ => {
                return Err(SnsError::parameter_value_invalid(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )))
            }
        }
        out.insert(name.clone(), Attr { data_type, string, binary });
    }
    Ok(out)
}

fn attributes_size(attrs: &BTreeMap<String, Attr>) -> usize {
    attrs
        .iter()
        .map(|(n, a)| n.len() + a.data_type.len() + a.string.as_ref().map_or(0, String::len) + a.binary.as_ref().map_or(0, Vec::len))
        .sum()
}

/// One message to fan out.
struct Outgoing {
    message_id: String,
    message: String,
    /// `MessageStructure: json`: the per-protocol messages.
    per_protocol: Option<Map<String, Value>>,
    subject: Option<String>,
    attributes: BTreeMap<String, Attr>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    sequence_number: Option<String>,
}

impl Sns {
    pub fn new(region: &str, account: &str, seed: u64) -> Sns {
        Sns {
            region: region.to_string(),
            account: account.to_string(),
            endpoint: format!("https://sns.{region}.amazonaws.com"),
            topics: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            ids: PersistedIds::new(seed),
        }
    }

    pub fn request_id(&mut self) -> String {
        self.ids.next_uuid()
    }

    /// The whole state (topics, subscriptions, dedup windows, id counters) for persistence.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The state [`Sns::to_json`] wrote; filter policies are parsed again from their attributes.
    pub fn from_json(v: &Value) -> Result<Sns, String> {
        let mut sns: Sns = serde_json::from_value(v.clone()).map_err(|e| format!("the stored SNS state cannot be read: {e}"))?;
        for sub in sns.subscriptions.values_mut() {
            let Some(policy) = sub.attributes.get("FilterPolicy") else { continue };
            let scope = match sub.attributes.get("FilterPolicyScope").map(String::as_str) {
                Some("MessageBody") => filter::Scope::MessageBody,
                _ => filter::Scope::MessageAttributes,
            };
            sub.filter = Some(filter::parse(policy, scope).map_err(|_| format!("the stored filter policy of {} cannot be read", sub.arn))?);
        }
        Ok(sns)
    }

    pub fn topic_arn(&self, name: &str) -> String {
        format!("arn:aws:sns:{}:{}:{}", self.region, self.account, name)
    }

    /// The existing topic an ARN names, or SNS's error for it.
    fn topic_for(&self, arn: &str, param: &str) -> Result<String, SnsError> {
        let parts = check_arn(arn, param)?;
        if parts[2] != "sns" || parts[3] != self.region || parts[4] != self.account {
            return Err(SnsError::invalid_parameter(param));
        }
        if self.topics.contains_key(arn) {
            Ok(arn.to_string())
        } else {
            Err(SnsError::not_found("Topic does not exist"))
        }
    }

    /// Runs one API call (`Publish`, `CreateTopic`, ...): the response and the deliveries.
    pub fn call(&mut self, action: &str, p: &Value, now_ms: i64) -> Result<(Value, Vec<Delivery>), SnsError> {
        if !p.is_object() && !p.is_null() {
            return Err(SnsError::invalid_parameter("the request must be a map of parameters"));
        }
        let none = |v: Value| Ok((v, Vec::new()));
        match action {
            "CreateTopic" => none(self.create_topic(p)?),
            "DeleteTopic" => {
                let arn = req_str(p, "TopicArn")?;
                check_arn(arn, "TopicArn")?;
                self.topics.remove(arn);
                self.subscriptions.retain(|_, s| s.topic_arn != arn);
                none(json!({}))
            }
            "ListTopics" => {
                let arns: Vec<&String> = self.topics.keys().collect();
                let (page, next) = paginate(&arns, str_param(p, "NextToken")?, 100)?;
                let mut out = json!({"Topics": page.iter().map(|a| json!({"TopicArn": a})).collect::<Vec<_>>()});
                if let Some(n) = next {
                    out["NextToken"] = json!(n);
                }
                none(out)
            }
            "GetTopicAttributes" => {
                let arn = self.topic_for(req_str(p, "TopicArn")?, "TopicArn")?;
                none(json!({"Attributes": self.topic_attributes(&arn)}))
            }
            "SetTopicAttributes" => {
                let arn = self.topic_for(req_str(p, "TopicArn")?, "TopicArn")?;
                let name = req_str(p, "AttributeName")?.to_string();
                let value = str_param(p, "AttributeValue")?.unwrap_or("").to_string();
                let fifo = self.topics[&arn].fifo;
                validate_topic_attribute(&name, &value, fifo, false)?;
                self.topics.get_mut(&arn).expect("checked").attributes.insert(name, value);
                none(json!({}))
            }
            "Subscribe" => self.subscribe(p, now_ms),
            "ConfirmSubscription" => {
                let topic = req_str(p, "TopicArn")?;
                if check_arn(topic, "Topic").is_err() {
                    return Err(SnsError::invalid_parameter("Topic"));
                }
                if !self.topics.contains_key(topic) {
                    return Err(SnsError::invalid_parameter("Token"));
                }
                let token = req_str(p, "Token")?;
                let sub = self
                    .subscriptions
                    .values_mut()
                    .find(|s| s.topic_arn == topic && s.pending_token.as_deref() == Some(token))
                    .ok_or_else(|| SnsError::new("InvalidParameter", "Invalid token", 400))?;
                sub.pending_token = None;
                none(json!({"SubscriptionArn": sub.arn}))
            }
            "Unsubscribe" => {
                let arn = str_param(p, "SubscriptionArn")?.unwrap_or("");
                let parts = check_arn(arn, "SubscriptionArn")?;
                if parts.len() != 7 || parts[6].len() != 36 {
                    return Err(SnsError::invalid_parameter("SubscriptionId"));
                }
                self.subscriptions.remove(arn);
                none(json!({}))
            }
            "ListSubscriptions" | "ListSubscriptionsByTopic" => {
                let topic = if action == "ListSubscriptionsByTopic" {
                    Some(self.topic_for(req_str(p, "TopicArn")?, "TopicArn")?)
                } else {
                    None
                };
                let subs: Vec<&Subscription> =
                    self.subscriptions.values().filter(|s| topic.as_ref().is_none_or(|t| &s.topic_arn == t)).collect();
                let keys: Vec<&String> = subs.iter().map(|s| &s.arn).collect();
                let (page, next) = paginate(&keys, str_param(p, "NextToken")?, 100)?;
                let list: Vec<Value> = page
                    .iter()
                    .map(|arn| {
                        let s = &self.subscriptions[arn.as_str()];
                        json!({"SubscriptionArn": if s.pending_token.is_some() { "PendingConfirmation" } else { s.arn.as_str() },
                               "Owner": self.account, "Protocol": s.protocol, "Endpoint": s.endpoint, "TopicArn": s.topic_arn})
                    })
                    .collect();
                let mut out = json!({"Subscriptions": list});
                if let Some(n) = next {
                    out["NextToken"] = json!(n);
                }
                none(out)
            }
            "GetSubscriptionAttributes" => {
                let arn = req_str(p, "SubscriptionArn")?;
                check_arn(arn, "SubscriptionArn")?;
                let s = self.subscriptions.get(arn).ok_or_else(|| SnsError::not_found("Subscription does not exist"))?;
                let mut m = Map::new();
                m.insert("ConfirmationWasAuthenticated".into(), json!("true"));
                m.insert("Endpoint".into(), json!(s.endpoint));
                m.insert("Owner".into(), json!(self.account));
                m.insert("PendingConfirmation".into(), json!(if s.pending_token.is_some() { "true" } else { "false" }));
                m.insert("Protocol".into(), json!(s.protocol));
                m.insert("RawMessageDelivery".into(), json!("false"));
                m.insert("SubscriptionArn".into(), json!(s.arn));
                m.insert("SubscriptionPrincipal".into(), json!(format!("arn:aws:iam::{}:root", self.account)));
                m.insert("TopicArn".into(), json!(s.topic_arn));
                for (k, v) in &s.attributes {
                    m.insert(k.clone(), json!(v));
                }
                if s.attributes.contains_key("FilterPolicy") && !s.attributes.contains_key("FilterPolicyScope") {
                    m.insert("FilterPolicyScope".into(), json!("MessageAttributes"));
                }
                none(json!({"Attributes": m}))
            }
            "SetSubscriptionAttributes" => {
                let arn = req_str(p, "SubscriptionArn")?.to_string();
                check_arn(&arn, "SubscriptionArn")?;
                let name = req_str(p, "AttributeName")?.to_string();
                let value = str_param(p, "AttributeValue")?.unwrap_or("").to_string();
                let s = self.subscriptions.get(&arn).ok_or_else(|| SnsError::not_found("Subscription does not exist"))?;
                let mut attrs = s.attributes.clone();
                if value.is_empty() && (name == "FilterPolicy" || name == "RedrivePolicy") {
                    attrs.remove(&name);
                } else {
                    attrs.insert(name.clone(), value);
                }
                let filter = self.validate_subscription_attributes(&attrs, Some(&name), &s.protocol, &s.topic_arn)?;
                let s = self.subscriptions.get_mut(&arn).expect("checked");
                s.attributes = attrs;
                s.filter = filter;
                none(json!({}))
            }
            "Publish" => self.publish(p, now_ms),
            "PublishBatch" => self.publish_batch(p, now_ms),
            "TagResource" => {
                let arn = self.tag_target(p)?;
                let tags = tags_param(p)?;
                let t = self.topics.get_mut(&arn).expect("checked");
                for (k, v) in tags {
                    match t.tags.iter_mut().find(|(ok, _)| *ok == k) {
                        Some(e) => e.1 = v,
                        None => t.tags.push((k, v)),
                    }
                }
                none(json!({}))
            }
            "UntagResource" => {
                let arn = self.tag_target(p)?;
                let keys: Vec<String> = p.get("TagKeys").and_then(Value::as_array).map_or_else(Vec::new, |a| {
                    a.iter().filter_map(Value::as_str).map(str::to_string).collect()
                });
                self.topics.get_mut(&arn).expect("checked").tags.retain(|(k, _)| !keys.contains(k));
                none(json!({}))
            }
            "ListTagsForResource" => {
                let arn = self.tag_target(p)?;
                let tags: Vec<Value> = self.topics[&arn].tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
                none(json!({"Tags": tags}))
            }
            other => Err(SnsError::new("InvalidAction", format!("The action {other} is not valid for this endpoint."), 400)),
        }
    }

    fn tag_target(&self, p: &Value) -> Result<String, SnsError> {
        let arn = req_str(p, "ResourceArn")?;
        check_arn(arn, "ResourceArn")?;
        if self.topics.contains_key(arn) {
            Ok(arn.to_string())
        } else {
            Err(SnsError::new("ResourceNotFound", "Resource does not exist", 404))
        }
    }

    fn create_topic(&mut self, p: &Value) -> Result<Value, SnsError> {
        let name = req_str(p, "Name")?.to_string();
        let attrs = attributes_param(p)?;
        let fifo = attrs.get("FifoTopic").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let stem = if fifo { name.strip_suffix(".fifo") } else { Some(name.as_str()) };
        let valid = stem.is_some_and(|s| {
            !s.is_empty() && name.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        if !valid {
            // Recorded for an empty name; the other naming rules report the same parameter.
            return Err(SnsError::invalid_parameter("Topic Name"));
        }
        for (k, v) in &attrs {
            validate_topic_attribute(k, v, fifo, true)?;
        }
        let tags = tags_param(p)?;
        let arn = self.topic_arn(&name);
        if let Some(t) = self.topics.get(&arn) {
            // Idempotent with the same attributes and tags (recorded wordings otherwise).
            if attrs.iter().any(|(k, v)| t.attributes.get(k) != Some(v)) {
                return Err(SnsError::invalid_parameter("Attributes Reason: Topic already exists with different attributes"));
            }
            if !tags.is_empty() && tags.iter().any(|tag| !t.tags.contains(tag)) {
                return Err(SnsError::invalid_parameter("Tags Reason: Topic already exists with different tags"));
            }
            return Ok(json!({"TopicArn": arn}));
        }
        let mut attributes = attrs;
        attributes.entry("DisplayName".into()).or_default();
        if fifo {
            attributes.insert("FifoTopic".into(), "true".into());
            attributes.entry("ContentBasedDeduplication".into()).or_insert_with(|| "false".into());
        }
        self.topics.insert(
            arn.clone(),
            Topic { arn: arn.clone(), name, fifo, attributes, tags, sequence: 0, dedup: HashMap::new() },
        );
        Ok(json!({"TopicArn": arn}))
    }

    fn topic_attributes(&self, arn: &str) -> Map<String, Value> {
        let t = &self.topics[arn];
        let subs: Vec<&Subscription> = self.subscriptions.values().filter(|s| s.topic_arn == arn).collect();
        let confirmed = subs.iter().filter(|s| s.pending_token.is_none()).count();
        let mut m = Map::new();
        m.insert("Owner".into(), json!(self.account));
        m.insert("TopicArn".into(), json!(t.arn));
        m.insert("SubscriptionsConfirmed".into(), json!(confirmed.to_string()));
        m.insert("SubscriptionsPending".into(), json!((subs.len() - confirmed).to_string()));
        m.insert("SubscriptionsDeleted".into(), json!("0"));
        m.insert(
            "Policy".into(),
            json!(json!({"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow",
                "Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission",
                "SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":t.arn,
                "Condition":{"StringEquals":{"AWS:SourceOwner":self.account}}}]})
            .to_string()),
        );
        m.insert(
            "EffectiveDeliveryPolicy".into(),
            json!(json!({"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,
                "numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,
                "defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}})
            .to_string()),
        );
        for (k, v) in &t.attributes {
            m.insert(k.clone(), json!(v));
        }
        m
    }

    /// Validates a subscription's attributes; returns its parsed filter policy.
    /// `set` names the attribute of a SetSubscriptionAttributes call (its messages have no
    /// `Attributes Reason:` part, recorded).
    fn validate_subscription_attributes(
        &self,
        attrs: &BTreeMap<String, String>,
        set: Option<&str>,
        protocol: &str,
        topic_arn: &str,
    ) -> Result<Option<filter::Rule>, SnsError> {
        let reason = |detail: String| {
            if set.is_some() {
                SnsError::invalid_parameter(detail)
            } else {
                SnsError::invalid_parameter(format!("Attributes Reason: {detail}"))
            }
        };
        for (k, v) in attrs {
            if set.is_some_and(|s| s != k) {
                continue; // already stored, so already valid
            }
            match k.as_str() {
                "RawMessageDelivery" => {
                    if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) || v.is_empty() {
                        return Err(reason(format!("RawMessageDelivery: Invalid value [{v}]. Must be true or false.")));
                    }
                }
                "FilterPolicyScope" => {
                    if v != "MessageAttributes" && v != "MessageBody" {
                        return Err(SnsError::invalid_parameter(format!(
                            "FilterPolicyScope: Invalid value [{v}]. Please use either MessageBody or MessageAttributes"
                        )));
                    }
                }
                "RedrivePolicy" => {
                    if let Some(m) = filter::json_syntax_error(v) {
                        return Err(reason(format!("RedrivePolicy: {m}")));
                    }
                    let parsed: Value = serde_json::from_str(v).unwrap_or(Value::Null);
                    let target = parsed.get("deadLetterTargetArn").and_then(Value::as_str).unwrap_or("");
                    let parts: Vec<&str> = target.split(':').collect();
                    if parts.len() != 6 || parts[2] != "sqs" {
                        return Err(reason("RedrivePolicy: deadLetterTargetArn is an invalid arn".into()));
                    }
                    let topic_fifo = self.topics.get(topic_arn).is_some_and(|t| t.fifo);
                    if topic_fifo && !parts[5].ends_with(".fifo") {
                        return Err(reason(
                            "RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.".into(),
                        ));
                    }
                }
                "FilterPolicy" | "DeliveryPolicy" | "SubscriptionRoleArn" | "ReplayPolicy" => {}
                _ => return Err(SnsError::invalid_parameter("AttributeName")),
            }
        }
        let _ = protocol;
        let Some(policy) = attrs.get("FilterPolicy") else { return Ok(None) };
        let scope = match attrs.get("FilterPolicyScope").map(String::as_str) {
            Some("MessageBody") => filter::Scope::MessageBody,
            _ => filter::Scope::MessageAttributes,
        };
        match filter::parse(policy, scope) {
            Ok(rule) => Ok(Some(rule)),
            Err(filter::Refusal::Policy(m)) => Err(reason(format!("FilterPolicy: {m}"))),
            Err(filter::Refusal::Other(m)) => Err(SnsError::invalid_parameter(m)),
        }
    }

    fn subscribe(&mut self, p: &Value, now: i64) -> Result<(Value, Vec<Delivery>), SnsError> {
        let topic = self.topic_for(req_str(p, "TopicArn")?, "TopicArn")?;
        let protocol = req_str(p, "Protocol")?.to_string();
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return Err(SnsError::invalid_parameter(format!("Amazon SNS does not support this protocol string: {protocol}")));
        }
        let endpoint = str_param(p, "Endpoint")?.unwrap_or("").to_string();
        match protocol.as_str() {
            "sqs" => {
                let parts: Vec<&str> = endpoint.split(':').collect();
                if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" {
                    return Err(SnsError::invalid_parameter("SQS endpoint ARN"));
                }
                if parts[5].ends_with(".fifo") && !self.topics[&topic].fifo {
                    return Err(SnsError::invalid_parameter(
                        "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                    ));
                }
            }
            "lambda" => {
                let parts: Vec<&str> = endpoint.split(':').collect();
                if parts.len() < 7 || parts[0] != "arn" || parts[2] != "lambda" {
                    return Err(SnsError::invalid_parameter("Lambda endpoint ARN"));
                }
            }
            "http" | "https" if !endpoint.starts_with(&format!("{protocol}://")) => {
                return Err(SnsError::invalid_parameter("Endpoint must match the specified protocol"));
            }
            _ => {}
        }
        if self.topics[&topic].fifo && !matches!(protocol.as_str(), "sqs" | "firehose") {
            return Err(SnsError::invalid_parameter(format!("Invalid protocol type: {protocol}")));
        }
        let attrs = attributes_param(p)?;
        let filter = self.validate_subscription_attributes(&attrs, None, &protocol, &topic)?;
        let return_arn = p.get("ReturnSubscriptionArn").is_some_and(|v| v == &json!(true) || v == &json!("true"));
        if let Some(s) = self.subscriptions.values().find(|s| s.topic_arn == topic && s.protocol == protocol && s.endpoint == endpoint) {
            if !attrs.is_empty() && attrs.iter().any(|(k, v)| s.attributes.get(k) != Some(v)) {
                return Err(SnsError::invalid_parameter("Attributes Reason: Subscription already exists with different attributes"));
            }
            let arn = if s.pending_token.is_some() && !return_arn { "pending confirmation".to_string() } else { s.arn.clone() };
            return Ok((json!({"SubscriptionArn": arn}), Vec::new()));
        }
        let arn = format!("{topic}:{}", self.ids.next_uuid());
        let needs_confirmation = protocol == "http" || protocol == "https";
        let token = needs_confirmation.then(|| {
            let a = self.ids.next_u64();
            let b = self.ids.next_u64();
            format!("{a:016x}{b:016x}")
        });
        let mut deliveries = Vec::new();
        if let Some(t) = &token {
            let message_id = self.ids.next_uuid();
            let subscribe_url = format!("{}/?Action=ConfirmSubscription&TopicArn={topic}&Token={t}", self.endpoint);
            let message = format!(
                "You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
            );
            let fields = vec![
                ("Type", json!("SubscriptionConfirmation")),
                ("MessageId", json!(message_id)),
                ("Token", json!(t)),
                ("TopicArn", json!(topic)),
                ("Message", json!(message)),
                ("SubscribeURL", json!(subscribe_url)),
                ("Timestamp", json!(format_millis(now))),
                ("SignatureVersion", json!("1")),
                ("Signature", json!(self.signature(&message_id))),
                ("SigningCertURL", json!(self.cert_url())),
            ];
            deliveries.push(Delivery {
                subscription_arn: arn.clone(),
                protocol: protocol.clone(),
                endpoint: endpoint.clone(),
                body: pretty_envelope(&fields),
                sqs_message_attributes: None,
                message_group_id: None,
                message_deduplication_id: None,
                headers: http_headers("SubscriptionConfirmation", &message_id, &topic, None, false),
            });
        }
        self.subscriptions.insert(
            arn.clone(),
            Subscription { arn: arn.clone(), topic_arn: topic, protocol, endpoint, attributes: attrs, pending_token: token.clone(), filter },
        );
        let shown = if token.is_some() && !return_arn { "pending confirmation".to_string() } else { arn };
        Ok((json!({"SubscriptionArn": shown}), deliveries))
    }

    fn signature(&self, message_id: &str) -> String {
        // A placeholder of an RSA-2048 signature's size (256 bytes): SNS signs with AWS's key.
        let mut bytes = Vec::with_capacity(256);
        let mut block = sha256(format!("{}{message_id}", self.ids.seed()).as_bytes());
        while bytes.len() < 256 {
            bytes.extend_from_slice(&block);
            block = sha256(&block);
        }
        b64(&bytes[..256])
    }

    fn cert_url(&self) -> String {
        let h = hex(&sha256(self.region.as_bytes())[..16]);
        format!("{}/SimpleNotificationService-{h}.pem", self.endpoint)
    }

    /// Validates one Publish (or batch entry) and reserves its ids; `Ok(None)` for a FIFO
    /// duplicate inside the deduplication window (accepted, not delivered).
    fn prepare(&mut self, topic: &str, p: &Value, now: i64, path: &str) -> Result<(Outgoing, bool), SnsError> {
        let message = match str_param(p, "Message")? {
            Some(m) if !m.is_empty() => m.to_string(),
            Some(_) => return Err(SnsError::invalid_parameter("Empty message")),
            None => {
                return Err(SnsError::validation(format!(
                    "1 validation error detected: Value null at '{path}message' failed to satisfy constraint: Member must not be null"
                )))
            }
        };
        let subject = str_param(p, "Subject")?.map(str::to_string);
        if let Some(s) = &subject {
            // Subjects: ASCII, no line breaks, 1 to 99 characters (Publish API reference).
            if s.is_empty() || s.len() >= 100 || !s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
                return Err(SnsError::invalid_parameter("Subject"));
            }
        }
        let attributes = message_attributes(p, path)?;
        if message.len() + attributes_size(&attributes) > MAX_MESSAGE_BYTES {
            return Err(SnsError::invalid_parameter("Message too long"));
        }
        let per_protocol = match str_param(p, "MessageStructure")? {
            Some("json") => {
                let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&message) else {
                    return Err(SnsError::invalid_parameter("Message Structure - JSON message body failed to parse"));
                };
                if !m.get("default").is_some_and(Value::is_string) {
                    return Err(SnsError::invalid_parameter("Message Structure - No default entry in JSON message body"));
                }
                Some(m)
            }
            Some(other) => return Err(SnsError::invalid_parameter(format!("MessageStructure Reason: {other} is not a valid value"))),
            None => None,
        };
        let group_id = str_param(p, "MessageGroupId")?.map(str::to_string);
        let dedup_param = str_param(p, "MessageDeduplicationId")?.map(str::to_string);
        let t = &self.topics[topic];
        let mut sequence_number = None;
        let mut dedup_id = None;
        let mut duplicate = false;
        if t.fifo {
            if group_id.is_none() {
                return Err(SnsError::invalid_parameter("The MessageGroupId parameter is required for FIFO topics"));
            }
            let content_based = t.attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true");
            let id = match (dedup_param, content_based) {
                (Some(d), _) => d,
                (None, true) => hex(&sha256(message.as_bytes())),
                (None, false) => {
                    return Err(SnsError::invalid_parameter(
                        "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
            };
            dedup_id = Some(id);
        } else if dedup_param.is_some() {
            return Err(SnsError::invalid_parameter(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        let mut message_id = String::new();
        if let Some(id) = &dedup_id {
            let t = self.topics.get_mut(topic).expect("checked");
            t.dedup.retain(|_, (at, _, _)| now - *at < DEDUP_WINDOW_MS);
            if let Some((_, mid, seq)) = t.dedup.get(id) {
                message_id = mid.clone();
                sequence_number = Some(seq.clone());
                duplicate = true;
            }
        }
        if !duplicate {
            message_id = self.ids.next_uuid();
            let t = self.topics.get_mut(topic).expect("checked");
            if t.fifo {
                t.sequence += 1;
                let seq = format!("{:020}", 10_000_000_000_000_000_000u128 + t.sequence as u128);
                if let Some(id) = &dedup_id {
                    t.dedup.insert(id.clone(), (now, message_id.clone(), seq.clone()));
                }
                sequence_number = Some(seq);
            }
        }
        Ok((Outgoing { message_id, message, per_protocol, subject, attributes, group_id, dedup_id, sequence_number }, duplicate))
    }

    fn publish(&mut self, p: &Value, now: i64) -> Result<(Value, Vec<Delivery>), SnsError> {
        let topic = match (str_param(p, "TopicArn")?, str_param(p, "TargetArn")?, str_param(p, "PhoneNumber")?) {
            (Some(t), None, None) => self.topic_for(t, "TopicArn")?,
            (None, Some(t), None) => {
                check_arn(t, "TargetArn")?;
                if !self.topics.contains_key(t) {
                    return Err(SnsError::invalid_parameter("TargetArn Reason: No endpoint found for the target arn specified"));
                }
                t.to_string()
            }
            (None, None, Some(n)) => {
                let digits = n.strip_prefix('+').unwrap_or("");
                if digits.is_empty() || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
                    return Err(SnsError::invalid_parameter(format!("PhoneNumber Reason: {n} is not valid to publish to")));
                }
                // SMS is accepted and not delivered anywhere (documented difference).
                return Ok((json!({"MessageId": self.ids.next_uuid()}), Vec::new()));
            }
            (None, None, None) => return Err(SnsError::invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter")),
            _ => return Err(SnsError::invalid_parameter("Only one of TopicArn, TargetArn or PhoneNumber can be specified")),
        };
        let (out, duplicate) = self.prepare(&topic, p, now, "")?;
        let mut resp = json!({"MessageId": out.message_id});
        if let Some(s) = &out.sequence_number {
            resp["SequenceNumber"] = json!(s);
        }
        let deliveries = if duplicate { Vec::new() } else { self.fan_out(&topic, &out, now) };
        Ok((resp, deliveries))
    }

    fn publish_batch(&mut self, p: &Value, now: i64) -> Result<(Value, Vec<Delivery>), SnsError> {
        let topic = self.topic_for(req_str(p, "TopicArn")?, "TopicArn")?;
        let entries = match p.get("PublishBatchRequestEntries") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => {
                return Err(SnsError::validation(
                    "1 validation error detected: Value null at 'publishBatchRequestEntries' failed to satisfy constraint: Member must not be null",
                ))
            }
            Some(_) => return Err(SnsError::invalid_parameter("PublishBatchRequestEntries")),
        };
        if entries.is_empty() {
            return Err(SnsError::new("EmptyBatchRequest", "The batch request doesn't contain any entries.", 400));
        }
        if entries.len() > 10 {
            return Err(SnsError::new("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.", 400));
        }
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        for e in &entries {
            let id = req_str(e, "Id")?;
            if id.len() > 80 {
                return Err(SnsError::new("InvalidBatchEntryId", format!("The Id of a batch entry in the batch request is too long: {id}"), 400));
            }
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(SnsError::new(
                    "InvalidBatchEntryId",
                    format!("The Id of a batch entry in the batch request contains an impermissible character: {id}"),
                    400,
                ));
            }
            if !seen.insert(id.to_string()) {
                return Err(SnsError::new("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.", 400));
            }
            total += e.get("Message").and_then(Value::as_str).map_or(0, str::len);
        }
        if total > MAX_MESSAGE_BYTES {
            return Err(SnsError::new("BatchRequestTooLong", "The length of all the messages put together is more than the limit.", 400));
        }
        if self.topics[&topic].fifo {
            // Recorded as whole-request errors.
            let content_based = self.topics[&topic].attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true");
            for e in &entries {
                if str_param(e, "MessageGroupId")?.is_none() {
                    return Err(SnsError::invalid_parameter("The MessageGroupId parameter is required for FIFO topics"));
                }
                if !content_based && str_param(e, "MessageDeduplicationId")?.is_none() {
                    return Err(SnsError::invalid_parameter(
                        "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            }
        }
        let (mut ok, mut failed, mut deliveries) = (Vec::new(), Vec::new(), Vec::new());
        for (i, e) in entries.iter().enumerate() {
            let id = req_str(e, "Id")?.to_string();
            let path = format!("publishBatchRequestEntries.{}.member.", i + 1);
            match self.prepare(&topic, e, now, &path) {
                Ok((out, duplicate)) => {
                    let mut r = json!({"Id": id, "MessageId": out.message_id});
                    if let Some(s) = &out.sequence_number {
                        r["SequenceNumber"] = json!(s);
                    }
                    ok.push(r);
                    if !duplicate {
                        deliveries.extend(self.fan_out(&topic, &out, now));
                    }
                }
                // A ValidationError fails the whole request (recorded); others fail the entry.
                Err(err) if err.code == "ValidationError" => return Err(err),
                Err(err) => failed.push(json!({"Id": id, "Code": err.code, "Message": err.message, "SenderFault": true})),
            }
        }
        Ok((json!({"Successful": ok, "Failed": failed}), deliveries))
    }

    /// The deliveries of one message to the topic's confirmed subscriptions whose filter
    /// policies match.
    fn fan_out(&mut self, topic: &str, m: &Outgoing, now: i64) -> Vec<Delivery> {
        let subs: Vec<Subscription> =
            self.subscriptions.values().filter(|s| s.topic_arn == topic && s.pending_token.is_none()).cloned().collect();
        let body_json: Option<Value> = serde_json::from_str(&m.message).ok();
        let mut out = Vec::new();
        for s in subs {
            if let Some(rule) = &s.filter {
                let scope_body = s.attributes.get("FilterPolicyScope").is_some_and(|v| v == "MessageBody");
                let matched = if scope_body {
                    // A body policy never matches a body that is not a JSON object.
                    body_json.as_ref().is_some_and(|b| b.is_object() && filter::matches(rule, &|path| filter::body_leaves(b, path)))
                } else {
                    filter::matches(rule, &|path: &[String]| {
                        let a = m.attributes.get(path.first()?)?;
                        Some(filter::attribute_leaves(&a.data_type, a.string.as_deref()))
                    })
                };
                if !matched {
                    continue;
                }
            }
            let text = match &m.per_protocol {
                Some(per) => per.get(&s.protocol).or_else(|| per.get("default")).and_then(Value::as_str).unwrap_or("").to_string(),
                None => m.message.clone(),
            };
            let unsubscribe_url = format!("{}/?Action=Unsubscribe&SubscriptionArn={}", self.endpoint, s.arn);
            let signature = self.signature(&m.message_id);
            let cert = self.cert_url();
            let timestamp = format_millis(now);
            let attrs_envelope: Map<String, Value> = m
                .attributes
                .iter()
                .map(|(k, a)| {
                    let v = match (&a.string, &a.binary) {
                        (Some(sv), _) => sv.clone(),
                        (None, Some(b)) => b64(b),
                        _ => String::new(),
                    };
                    (k.clone(), json!({"Type": a.data_type, "Value": v}))
                })
                .collect();
            let (body, sqs_attrs) = match s.protocol.as_str() {
                "lambda" => {
                    let mut sns = Map::new();
                    sns.insert("Type".into(), json!("Notification"));
                    sns.insert("MessageId".into(), json!(m.message_id));
                    if let Some(seq) = &m.sequence_number {
                        sns.insert("SequenceNumber".into(), json!(seq));
                    }
                    sns.insert("TopicArn".into(), json!(topic));
                    sns.insert("Subject".into(), m.subject.as_ref().map_or(Value::Null, |s| json!(s)));
                    sns.insert("Message".into(), json!(text));
                    sns.insert("Timestamp".into(), json!(timestamp));
                    sns.insert("SignatureVersion".into(), json!("1"));
                    sns.insert("Signature".into(), json!(signature));
                    sns.insert("SigningCertUrl".into(), json!(cert));
                    sns.insert("UnsubscribeUrl".into(), json!(unsubscribe_url));
                    sns.insert("MessageAttributes".into(), Value::Object(attrs_envelope));
                    let event = json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                        "EventSubscriptionArn": s.arn, "Sns": sns}]});
                    (event.to_string(), None)
                }
                _ if s.raw() => {
                    let sqs_attrs = (s.protocol == "sqs" && !m.attributes.is_empty()).then(|| {
                        Value::Object(
                            m.attributes
                                .iter()
                                .map(|(k, a)| {
                                    let v = match (&a.string, &a.binary) {
                                        (Some(sv), _) => json!({"DataType": a.data_type, "StringValue": sv}),
                                        (None, Some(b)) => json!({"DataType": a.data_type, "BinaryValue": b64(b)}),
                                        _ => json!({"DataType": a.data_type}),
                                    };
                                    (k.clone(), v)
                                })
                                .collect(),
                        )
                    });
                    (text.clone(), sqs_attrs)
                }
                _ => {
                    let mut fields = vec![("Type", json!("Notification")), ("MessageId", json!(m.message_id))];
                    if let Some(seq) = &m.sequence_number {
                        fields.push(("SequenceNumber", json!(seq)));
                    }
                    fields.push(("TopicArn", json!(topic)));
                    if let Some(sub) = &m.subject {
                        fields.push(("Subject", json!(sub)));
                    }
                    fields.push(("Message", json!(text)));
                    fields.push(("Timestamp", json!(timestamp)));
                    fields.push(("SignatureVersion", json!("1")));
                    fields.push(("Signature", json!(signature)));
                    fields.push(("SigningCertURL", json!(cert)));
                    fields.push(("UnsubscribeURL", json!(unsubscribe_url)));
                    if !attrs_envelope.is_empty() {
                        fields.push(("MessageAttributes", Value::Object(attrs_envelope)));
                    }
                    (pretty_envelope(&fields), None)
                }
            };
            let headers = if s.protocol == "http" || s.protocol == "https" {
                http_headers("Notification", &m.message_id, topic, Some(&s.arn), s.raw())
            } else {
                Vec::new()
            };
            out.push(Delivery {
                subscription_arn: s.arn.clone(),
                protocol: s.protocol.clone(),
                endpoint: s.endpoint.clone(),
                body,
                sqs_message_attributes: sqs_attrs,
                message_group_id: m.group_id.clone(),
                message_deduplication_id: m.dedup_id.clone(),
                headers,
            });
        }
        out
    }

    /// ARNs of existing topics.
    pub fn topic_arns(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// The topic name of an ARN, if the topic exists.
    pub fn topic_name(&self, arn: &str) -> Option<&str> {
        self.topics.get(arn).map(|t| t.name.as_str())
    }
}

fn validate_topic_attribute(k: &str, v: &str, fifo: bool, creating: bool) -> Result<(), SnsError> {
    match k {
        "DisplayName" | "Policy" | "DeliveryPolicy" | "KmsMasterKeyId" | "TracingConfig" | "SignatureVersion" | "ArchivePolicy"
        | "DataProtectionPolicy" | "FifoThroughputScope" => Ok(()),
        "FifoTopic" if creating => Ok(()),
        "ContentBasedDeduplication" if fifo => {
            if v == "true" || v == "false" {
                Ok(())
            } else {
                Err(SnsError::invalid_parameter(format!("Attributes Reason: ContentBasedDeduplication: Invalid value [{v}]. Must be true or false.")))
            }
        }
        "ContentBasedDeduplication" => Err(SnsError::invalid_parameter(
            "Attributes Reason: Content based deduplication can only be set for FIFO topics",
        )),
        _ if k.ends_with("SuccessFeedbackRoleArn") || k.ends_with("FailureFeedbackRoleArn") || k.ends_with("SuccessFeedbackSampleRate") => {
            Ok(())
        }
        _ => Err(SnsError::invalid_parameter("AttributeName")),
    }
}

fn http_headers(kind: &str, message_id: &str, topic: &str, sub: Option<&str>, raw: bool) -> Vec<(String, String)> {
    let mut h = vec![
        ("x-amz-sns-message-type".to_string(), kind.to_string()),
        ("x-amz-sns-message-id".to_string(), message_id.to_string()),
        ("x-amz-sns-topic-arn".to_string(), topic.to_string()),
    ];
    if let Some(s) = sub {
        h.push(("x-amz-sns-subscription-arn".to_string(), s.to_string()));
    }
    if raw {
        h.push(("x-amz-sns-rawdelivery".to_string(), "true".to_string()));
    }
    h.push(("Content-Type".to_string(), "text/plain; charset=UTF-8".to_string()));
    h.push(("User-Agent".to_string(), "Amazon Simple Notification Service Agent".to_string()));
    h
}

/// SNS's envelope layout ("Amazon SNS message and JSON formats",
/// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html): one
/// member per line, `"Key" : value`, two-space indent; message attributes one per line.
pub fn pretty_envelope(fields: &[(&str, Value)]) -> String {
    let mut s = String::from("{\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        let value = match v {
            Value::Object(m) => {
                let inner: Vec<String> = m.iter().map(|(ak, av)| format!("    {} : {}", json!(ak), av)).collect();
                format!("{{\n{}\n  }}", inner.join(",\n"))
            }
            other => other.to_string(),
        };
        s.push_str(&format!("  \"{k}\" : {value}"));
        s.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    s.push('}');
    s
}

/// A page of `keys` after the token; the token is the last key of the page, base64.
fn paginate<'a>(keys: &[&'a String], token: Option<&str>, size: usize) -> Result<(Vec<&'a String>, Option<String>), SnsError> {
    use base64::Engine;
    let after = match token {
        Some(t) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| SnsError::invalid_parameter("NextToken"))?,
        ),
        None => None,
    };
    let rest: Vec<&String> = keys.iter().copied().filter(|k| after.as_ref().is_none_or(|a| *k > a)).collect();
    let page: Vec<&String> = rest.iter().copied().take(size).collect();
    let next = (rest.len() > size).then(|| b64(page.last().map_or(&[][..], |k| k.as_bytes())));
    Ok((page, next))
}
