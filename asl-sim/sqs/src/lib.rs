//! An in-memory Amazon SQS. No I/O: the time of each call is passed in, ids come from a
//! seeded generator, and every malformed request gets SQS's error, never a panic.
//!
//! [`Sqs::call`] takes one API call in the JSON protocol's shape (`X-Amz-Target:
//! AmazonSQS.<Action>`, PascalCase members, the same shape Step Functions' aws-sdk
//! integration passes) and answers the JSON response body or an [`SqsError`]. The query
//! protocol (form-encoded `Action=`) is translated to this shape by the HTTP front door.
//!
//! Modelled: standard and FIFO queues; SendMessage(Batch) with DelaySeconds, message
//! attributes, the size limit (`MaximumMessageSize`, 1 MiB by default), SQS's MD5 digests,
//! FIFO message groups, sequence numbers and deduplication (content-based or by id, a
//! 5-minute window, per queue or per group); ReceiveMessage with visibility timeouts,
//! receive counts and system attributes; redrive policies (a message received more than
//! `maxReceiveCount` times moves to its dead-letter queue); DeleteMessage(Batch),
//! ChangeMessageVisibility(Batch), PurgeQueue (once per 60 s), queue attributes, tags,
//! ListQueues, ListDeadLetterSourceQueues, GetQueueUrl, retention.
//!
//! Long polling: [`Sqs::receive`] answers at once and tells a driver whether it may wait
//! (`WaitTimeSeconds` or the queue's `ReceiveMessageWaitTimeSeconds`) and when the next
//! message becomes visible; the driver sleeps and asks again. [`Sqs::call`] never waits.
//!
//! Deliberate differences: standard queues deliver in send order and exactly once per
//! receive (SQS is best-effort ordered, at-least-once); a deleted queue's name can be
//! reused at once (SQS asks for 60 s); KMS attributes are stored, never used.

mod error;
pub mod lambda_event;
pub mod message;
pub mod sfn;

pub use error::SqsError;
pub use message::{md5_hex, md5_of_attributes, AttributeValue, Attributes, MessageAttribute};
pub use sfn::{step_functions_call, IntegrationStyle};

use message::{attributes_json, attributes_size, parse_attributes, select_attributes, valid_chars};
use asl_aws::ids::PersistedIds;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// FIFO deduplication window (SQS Developer Guide, "Exactly-once processing").
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;
const PURGE_INTERVAL_MS: i64 = 60 * 1000;
const MAX_VISIBILITY_S: i64 = 43_200;
const MAX_BATCH_BYTES: usize = 1_048_576;

/// Settable attributes of every queue, with SQS's defaults (CreateQueue API reference).
const STANDARD_DEFAULTS: &[(&str, &str)] = &[
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "1048576"),
    ("MessageRetentionPeriod", "345600"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("VisibilityTimeout", "30"),
    ("SqsManagedSseEnabled", "true"),
];
const FIFO_DEFAULTS: &[(&str, &str)] =
    &[("ContentBasedDeduplication", "false"), ("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")];
const OTHER_SETTABLE: &[&str] =
    &["Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"];
const READ_ONLY: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];
const SYSTEM_ATTRIBUTES: &[&str] = &[
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    id: String,
    body: String,
    attributes: Attributes,
    md5_body: String,
    sent_ms: i64,
    visible_at_ms: i64,
    receive_count: u32,
    first_receive_ms: Option<i64>,
    /// Number of the latest receive; a receipt handle names the receive that issued it.
    receive_serial: u64,
    group_id: Option<String>,
    dedup_id: Option<String>,
    sequence_number: Option<String>,
    trace_header: Option<String>,
    dlq_source_arn: Option<String>,
}

impl Message {
    fn in_flight(&self, now: i64) -> bool {
        self.receive_count > 0 && self.visible_at_ms > now
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Queue {
    name: String,
    fifo: bool,
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    created_ms: i64,
    modified_ms: i64,
    messages: Vec<Message>,
    /// Deduplication id (prefixed by the group when the scope is `messageGroup`) → (sent at,
    /// message id, sequence number).
    dedup: HashMap<String, (i64, String, Option<String>)>,
    last_purge_ms: Option<i64>,
}

impl Queue {
    fn attr_i64(&self, name: &str) -> i64 {
        self.attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    fn expire(&mut self, now: i64) {
        let retention = self.attr_i64("MessageRetentionPeriod") * 1000;
        self.messages.retain(|m| now - m.sent_ms < retention);
        self.dedup.retain(|_, (t, _, _)| now - *t < DEDUP_WINDOW_MS);
    }

    fn redrive(&self) -> Option<(String, u32)> {
        let p: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        let arn = p.get("deadLetterTargetArn")?.as_str()?.to_string();
        let max = match p.get("maxReceiveCount")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Some((arn, max as u32))
    }
}

/// What a receive found, and what a driver needs to long-poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The ReceiveMessage response body (`{}` when no message was available).
    pub response: Value,
    /// How many messages the response carries.
    pub count: usize,
    /// Seconds the caller asked to wait for messages (request or queue default), 0–20.
    pub wait_seconds: u32,
    /// When the next message of the queue becomes visible (a delay or a visibility timeout
    /// ending), if any: a driver that may still wait can retry then.
    pub next_visible_ms: Option<i64>,
}

/// The in-memory SQS of one account and region. Its serde form is what a driver persists
/// (queues, messages in flight, dedup windows and id counters, so ids stay unique after a restart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sqs {
    pub region: String,
    pub account: String,
    /// Queue URLs are `<url_base>/<account>/<name>`; serve points it at its own endpoint.
    pub url_base: String,
    queues: BTreeMap<String, Queue>,
    #[serde(flatten)]
    ids: PersistedIds,
    receive_serial: u64,
    sequence: u64,
    /// Queues created, changed or deleted since [`Sqs::take_changes`]: a driver stores
    /// those. (Messages dropped when their retention ends are not counted: a restored
    /// queue drops them again at its next call.)
    #[serde(skip)]
    changed: BTreeSet<String>,
}


// ---- request member access (the JSON protocol's types; numbers also as strings, which
// is how the query protocol carries them) ----

fn str_param<'a>(p: &'a Value, k: &str) -> Result<Option<&'a str>, SqsError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SqsError::serialization(format!("{k} must be a string"))),
    }
}

fn req_str<'a>(p: &'a Value, k: &str) -> Result<&'a str, SqsError> {
    str_param(p, k)?.ok_or_else(|| SqsError::missing_parameter(k))
}

fn int_param(p: &Value, k: &str) -> Result<Option<i64>, SqsError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| SqsError::serialization(format!("{k} must be an integer")))
        }
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SqsError::invalid_value(s, k, "Value must be an integer.")),
        Some(_) => Err(SqsError::serialization(format!("{k} must be an integer"))),
    }
}

fn string_list(p: &Value, k: &str) -> Result<Vec<String>, SqsError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| SqsError::serialization(format!("{k} must be a list of strings"))))
            .collect(),
        Some(_) => Err(SqsError::serialization(format!("{k} must be a list of strings"))),
    }
}

fn string_map(p: &Value, k: &str) -> Result<BTreeMap<String, String>, SqsError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(name, v)| match v {
                Value::String(s) => Ok((name.clone(), s.clone())),
                // Step Functions users write numbers and booleans for attribute values.
                Value::Number(_) | Value::Bool(_) => Ok((name.clone(), v.to_string())),
                _ => Err(SqsError::serialization(format!("{k}.{name} must be a string"))),
            })
            .collect(),
        Some(_) => Err(SqsError::serialization(format!("{k} must be a map of strings"))),
    }
}

fn entries<'a>(p: &'a Value, entry_shape: &str) -> Result<&'a Vec<Value>, SqsError> {
    let list = match p.get("Entries") {
        None | Some(Value::Null) => return Err(SqsError::missing_parameter("Entries")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(SqsError::serialization("Entries must be a list")),
    };
    if list.is_empty() {
        return Err(SqsError::empty_batch(entry_shape));
    }
    if list.len() > 10 {
        return Err(SqsError::too_many_entries(list.len()));
    }
    let mut seen = std::collections::HashSet::new();
    for e in list {
        let id = req_str(e, "Id")?;
        if id.is_empty() || id.len() > 80 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(SqsError::invalid_batch_entry_id());
        }
        if !seen.insert(id) {
            return Err(SqsError::ids_not_distinct(id));
        }
    }
    Ok(list)
}

fn failed_entry(id: &str, e: &SqsError) -> Value {
    json!({"Code": e.code, "Id": id, "Message": e.message, "SenderFault": e.sender_fault})
}

/// MessageGroupId and MessageDeduplicationId: 1 to 128 alphanumeric or punctuation
/// characters (recorded wording).
fn validate_fifo_token(v: &str, parameter: &str) -> Result<(), SqsError> {
    let ok = !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(SqsError::invalid_value(
            v,
            parameter,
            &format!("{parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."),
        ))
    }
}

fn validate_queue_name(name: &str, fifo: bool) -> Result<(), SqsError> {
    let stem = if fifo { name.strip_suffix(".fifo") } else { Some(name) };
    let ok = stem.is_some_and(|s| {
        !s.is_empty() && name.len() <= 80 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if ok {
        return Ok(());
    }
    Err(SqsError::invalid_parameter_value(if fifo || name.ends_with(".fifo") {
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
    } else {
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
    }))
}

impl Sqs {
    pub fn new(region: &str, account: &str, seed: u64) -> Sqs {
        Sqs {
            region: region.to_string(),
            account: account.to_string(),
            url_base: format!("https://sqs.{region}.amazonaws.com"),
            queues: BTreeMap::new(),
            ids: PersistedIds::new(seed),
            receive_serial: 0,
            sequence: 0,
            changed: BTreeSet::new(),
        }
    }

    /// A request id for the next response (`x-amzn-RequestId`, Step Functions causes).
    pub fn request_id(&mut self) -> String {
        self.ids.next_uuid()
    }

    /// The whole state (queues, messages with their visibility and receive counts, dedup
    /// windows, id counters) for persistence.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The state [`Sqs::to_json`] wrote.
    pub fn from_json(v: &Value) -> Result<Sqs, String> {
        serde_json::from_value(v.clone()).map_err(|e| format!("the stored SQS state cannot be read: {e}"))
    }

    /// Runs `one` on each entry of a batch request; an entry's failure goes in `Failed`, the
    /// others in `Successful` (a malformed entry id fails the whole request, as `entries` checks).
    fn batch_each(&mut self, p: &Value, entry_shape: &str, mut one: impl FnMut(&mut Sqs, &Value) -> Result<(), SqsError>) -> Result<Value, SqsError> {
        let list = entries(p, entry_shape)?.clone();
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for e in &list {
            let id = req_str(e, "Id")?;
            match one(self, e) {
                Ok(()) => ok.push(json!({"Id": id})),
                Err(err) => failed.push(failed_entry(id, &err)),
            }
        }
        Ok(batch_result(ok, failed))
    }

    /// A queue about to change (the caller checked that it exists): marked for the driver.
    fn touch(&mut self, name: &str) -> &mut Queue {
        self.changed.insert(name.to_string());
        self.queues.get_mut(name).expect("the caller checked that the queue exists")
    }

    /// The queues created, changed or deleted since the last call (a deleted one is no
    /// longer in [`Sqs::queue_json`]).
    pub fn take_changes(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.changed)
    }

    /// Marks queues as changed again (a driver whose commit of them failed).
    pub fn mark_changed(&mut self, names: impl IntoIterator<Item = String>) {
        self.changed.extend(names);
    }

    /// One queue whole (attributes, tags, messages with their visibility and receive
    /// counts, the deduplication window), as [`Sqs::restore_queue`] reads it.
    pub fn queue_json(&self, name: &str) -> Option<Value> {
        self.queues.get(name).and_then(|q| serde_json::to_value(q).ok())
    }

    /// The id counters, stored beside the queues so that ids, receipt handles and
    /// sequence numbers stay unique after a restart.
    pub fn counters_json(&self) -> Value {
        json!({"ids": self.ids, "receiveSerial": self.receive_serial, "sequence": self.sequence})
    }

    /// Puts back a queue [`Sqs::queue_json`] wrote.
    pub fn restore_queue(&mut self, v: &Value) -> Result<(), String> {
        let q: Queue = serde_json::from_value(v.clone()).map_err(|e| format!("a stored SQS queue cannot be read: {e}"))?;
        self.queues.insert(q.name.clone(), q);
        Ok(())
    }

    /// Puts back the counters [`Sqs::counters_json`] wrote.
    pub fn restore_counters(&mut self, v: &Value) -> Result<(), String> {
        let bad = |e: serde_json::Error| format!("the stored SQS counters cannot be read: {e}");
        self.ids = serde_json::from_value(v.get("ids").cloned().unwrap_or(Value::Null)).map_err(bad)?;
        self.receive_serial = v.get("receiveSerial").and_then(Value::as_u64).unwrap_or(0);
        self.sequence = v.get("sequence").and_then(Value::as_u64).unwrap_or(0);
        Ok(())
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{}", self.url_base, self.account, name)
    }

    pub fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{}:{}", self.region, self.account, name)
    }

    /// The queue name a URL names: `<anything>/<account>/<name>`; the host is not checked
    /// (clients reach serve under many names), the account is.
    fn name_from_url(&self, url: &str) -> Option<String> {
        let path = url.split(['?', '#']).next()?.trim_end_matches('/');
        let mut it = path.rsplit('/');
        let name = it.next()?;
        let account = it.next()?;
        (account == self.account && self.queues.contains_key(name)).then(|| name.to_string())
    }

    /// The name of the queue with this ARN, if it exists.
    pub fn name_from_arn(&self, arn: &str) -> Option<String> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 6 || parts[2] != "sqs" || parts[4] != self.account {
            return None;
        }
        self.queues.contains_key(parts[5]).then(|| parts[5].to_string())
    }

    /// The URL of the queue with this ARN (SNS subscriptions name queues by ARN).
    pub fn url_for_arn(&self, arn: &str) -> Option<String> {
        self.name_from_arn(arn).map(|n| self.queue_url(&n))
    }

    /// Whether the queue with this ARN is a FIFO queue (`None`: no such queue).
    pub fn is_fifo_arn(&self, arn: &str) -> Option<bool> {
        let name = self.name_from_arn(arn)?;
        Some(self.queues[&name].fifo)
    }

    fn queue_name(&self, p: &Value) -> Result<String, SqsError> {
        let url = req_str(p, "QueueUrl")?;
        self.name_from_url(url).ok_or_else(SqsError::non_existent_queue)
    }

    /// Names of the existing queues.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }

    /// Runs one API call; `action` is the operation name (`SendMessage`, ...).
    pub fn call(&mut self, action: &str, p: &Value, now_ms: i64) -> Result<Value, SqsError> {
        if !p.is_object() && !p.is_null() {
            return Err(SqsError::serialization("The request body must be a JSON object"));
        }
        for q in self.queues.values_mut() {
            q.expire(now_ms);
        }
        match action {
            "CreateQueue" => self.create_queue(p, now_ms),
            "DeleteQueue" => {
                let name = self.queue_name(p)?;
                self.queues.remove(&name);
                self.changed.insert(name);
                Ok(json!({}))
            }
            "GetQueueUrl" => {
                let name = req_str(p, "QueueName")?;
                if let Some(owner) = str_param(p, "QueueOwnerAWSAccountId")? {
                    if owner != self.account {
                        return Err(SqsError::non_existent_queue());
                    }
                }
                if !self.queues.contains_key(name) {
                    return Err(SqsError::non_existent_queue());
                }
                Ok(json!({"QueueUrl": self.queue_url(name)}))
            }
            "ListQueues" => self.list_queues(p),
            "GetQueueAttributes" => self.get_queue_attributes(p, now_ms),
            "SetQueueAttributes" => self.set_queue_attributes(p, now_ms),
            "PurgeQueue" => {
                let name = self.queue_name(p)?;
                let q = self.touch(&name);
                if q.last_purge_ms.is_some_and(|t| now_ms - t < PURGE_INTERVAL_MS) {
                    return Err(SqsError::purge_in_progress(&name));
                }
                q.last_purge_ms = Some(now_ms);
                q.messages.clear();
                Ok(json!({}))
            }
            "SendMessage" => self.send_message(p, now_ms),
            "SendMessageBatch" => self.send_message_batch(p, now_ms),
            "ReceiveMessage" => self.receive(p, now_ms).map(|r| r.response),
            "DeleteMessage" => {
                let name = self.queue_name(p)?;
                let handle = req_str(p, "ReceiptHandle")?.to_string();
                self.delete_message(&name, &handle, now_ms).map(|()| json!({}))
            }
            "DeleteMessageBatch" => {
                let name = self.queue_name(p)?;
                self.batch_each(p, "DeleteMessageBatchRequestEntry", |sqs, e| sqs.delete_message(&name, req_str(e, "ReceiptHandle")?, now_ms))
            }
            "ChangeMessageVisibility" => {
                let name = self.queue_name(p)?;
                let handle = req_str(p, "ReceiptHandle")?.to_string();
                let t = int_param(p, "VisibilityTimeout")?.ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
                self.change_visibility(&name, &handle, t, now_ms).map(|()| json!({}))
            }
            "ChangeMessageVisibilityBatch" => {
                let name = self.queue_name(p)?;
                self.batch_each(p, "ChangeMessageVisibilityBatchRequestEntry", |sqs, e| {
                    let h = req_str(e, "ReceiptHandle")?;
                    let t = int_param(e, "VisibilityTimeout")?.ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
                    sqs.change_visibility(&name, h, t, now_ms)
                })
            }
            "TagQueue" => {
                let name = self.queue_name(p)?;
                let tags = string_map(p, "Tags")?;
                let q = self.touch(&name);
                q.tags.extend(tags);
                Ok(json!({}))
            }
            "UntagQueue" => {
                let name = self.queue_name(p)?;
                let keys = string_list(p, "TagKeys")?;
                let q = self.touch(&name);
                for k in keys {
                    q.tags.remove(&k);
                }
                Ok(json!({}))
            }
            "ListQueueTags" => {
                let name = self.queue_name(p)?;
                let q = &self.queues[&name];
                Ok(if q.tags.is_empty() { json!({}) } else { json!({"Tags": q.tags}) })
            }
            "ListDeadLetterSourceQueues" => {
                let name = self.queue_name(p)?;
                let arn = self.queue_arn(&name);
                let urls: Vec<String> = self
                    .queues
                    .values()
                    .filter(|q| q.redrive().is_some_and(|(dlq, _)| dlq == arn))
                    .map(|q| self.queue_url(&q.name))
                    .collect();
                Ok(json!({"queueUrls": urls}))
            }
            other => Err(SqsError::unknown_operation(other)),
        }
    }

    fn create_queue(&mut self, p: &Value, now_ms: i64) -> Result<Value, SqsError> {
        let name = req_str(p, "QueueName")?.to_string();
        let given = string_map(p, "Attributes")?;
        let fifo = match given.get("FifoQueue").map(String::as_str) {
            Some("true") => true,
            Some("false") | None => false,
            Some(v) => {
                return Err(SqsError::invalid_attribute_value(format!("Invalid value for the parameter FifoQueue. Reason: {v} is not a valid boolean.")))
            }
        };
        validate_queue_name(&name, fifo)?;
        if !fifo && name.ends_with(".fifo") {
            return Err(SqsError::invalid_parameter_value(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        let mut attributes: BTreeMap<String, String> =
            STANDARD_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if fifo {
            attributes.insert("FifoQueue".into(), "true".into());
            attributes.extend(FIFO_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        }
        for (k, v) in &given {
            if k == "FifoQueue" {
                if !fifo {
                    // `FifoQueue=false` is accepted on a standard queue and not stored.
                    continue;
                }
            } else {
                self.validate_attribute(k, v, fifo, &name)?;
            }
            attributes.insert(k.clone(), v.clone());
        }
        check_sse_exclusive(&given)?;
        let tags = string_map(p, "tags")?;
        if let Some(existing) = self.queues.get(&name) {
            // Idempotent when every given attribute matches (CreateQueue API reference).
            for (k, v) in &given {
                if k == "FifoQueue" && !fifo {
                    continue;
                }
                if existing.attributes.get(k) != Some(v) {
                    return Err(SqsError::queue_already_exists(k));
                }
            }
            return Ok(json!({"QueueUrl": self.queue_url(&name)}));
        }
        self.changed.insert(name.clone());
        self.queues.insert(
            name.clone(),
            Queue {
                name: name.clone(),
                fifo,
                attributes,
                tags,
                created_ms: now_ms,
                modified_ms: now_ms,
                messages: Vec::new(),
                dedup: HashMap::new(),
                last_purge_ms: None,
            },
        );
        Ok(json!({"QueueUrl": self.queue_url(&name)}))
    }

    /// Validates one settable attribute (SetQueueAttributes / CreateQueue API reference;
    /// the standard-queue-FIFO-attribute messages are recorded).
    fn validate_attribute(&self, k: &str, v: &str, fifo: bool, queue: &str) -> Result<(), SqsError> {
        let range = |lo: i64, hi: i64| -> Result<(), SqsError> {
            match v.trim().parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(SqsError::invalid_attribute_value(format!("Invalid value for the parameter {k}."))),
            }
        };
        let boolean = || -> Result<(), SqsError> {
            if v == "true" || v == "false" {
                Ok(())
            } else {
                Err(SqsError::invalid_attribute_value(format!("Invalid value for the parameter {k}.")))
            }
        };
        match k {
            "DelaySeconds" => range(0, 900),
            "MaximumMessageSize" => range(1024, 1_048_576),
            "MessageRetentionPeriod" => range(60, 1_209_600),
            "ReceiveMessageWaitTimeSeconds" => range(0, 20),
            "VisibilityTimeout" => range(0, MAX_VISIBILITY_S),
            "KmsDataKeyReusePeriodSeconds" => range(60, 86_400),
            "SqsManagedSseEnabled" => boolean(),
            "Policy" | "KmsMasterKeyId" | "RedriveAllowPolicy" => Ok(()),
            "RedrivePolicy" => self.validate_redrive(v, fifo, queue),
            "ContentBasedDeduplication" if fifo => boolean(),
            "DeduplicationScope" if fifo => match v {
                "queue" | "messageGroup" => Ok(()),
                _ => Err(SqsError::invalid_attribute_value(format!("Invalid value for the parameter {k}."))),
            },
            "FifoThroughputLimit" if fifo => match v {
                "perQueue" | "perMessageGroupId" => Ok(()),
                _ => Err(SqsError::invalid_attribute_value(format!("Invalid value for the parameter {k}."))),
            },
            "DeduplicationScope" => {
                Err(SqsError::invalid_attribute_name("You can specify the DeduplicationScope only when FifoQueue is set to true."))
            }
            "FifoThroughputLimit" => {
                Err(SqsError::invalid_attribute_name("You can specify the FifoThroughputLimit only when FifoQueue is set to true."))
            }
            other => Err(SqsError::unknown_attribute(other)),
        }
    }

    /// RedrivePolicy: `{"deadLetterTargetArn": <existing queue of the same type>,
    /// "maxReceiveCount": 1..1000}`. Wordings are not recorded (UNVERIFIED); they follow
    /// SQS's `Value <v> for parameter RedrivePolicy is invalid. Reason: ...` pattern.
    fn validate_redrive(&self, v: &str, fifo: bool, queue: &str) -> Result<(), SqsError> {
        if v.is_empty() {
            return Ok(()); // an empty policy removes the redrive policy
        }
        let bad = |reason: &str| Err(SqsError::invalid_value(v, "RedrivePolicy", reason));
        let Ok(Value::Object(m)) = serde_json::from_str::<Value>(v) else {
            return bad("Redrive policy is not a valid JSON map.");
        };
        let Some(arn) = m.get("deadLetterTargetArn").and_then(Value::as_str) else {
            return bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.");
        };
        let count = match m.get("maxReceiveCount") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            None => return bad("Redrive policy does not contain mandatory attribute: maxReceiveCount."),
            _ => None,
        };
        if !count.is_some_and(|c| (1..=1000).contains(&c)) {
            return bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.");
        }
        let Some(dlq) = self.name_from_arn(arn) else {
            return bad("Dead letter target does not exist.");
        };
        if dlq == queue {
            return bad("Dead letter target can not be the source queue.");
        }
        if self.queues[&dlq].fifo != fifo {
            return bad(if fifo {
                "Dead-letter queue of a FIFO queue must also be a FIFO queue."
            } else {
                "Dead-letter queue of a standard queue must also be a standard queue."
            });
        }
        Ok(())
    }

    fn list_queues(&self, p: &Value) -> Result<Value, SqsError> {
        let prefix = str_param(p, "QueueNamePrefix")?.unwrap_or("");
        let max = int_param(p, "MaxResults")?;
        if let Some(m) = max {
            if !(1..=1000).contains(&m) {
                return Err(SqsError::invalid_value(&m.to_string(), "MaxResults", "MaxResults must be an integer between 1 and 1000."));
            }
        }
        let after = match str_param(p, "NextToken")? {
            Some(t) => Some(
                message::b64_decode(t)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| SqsError::invalid_parameter_value("Invalid NextToken value."))?,
            ),
            None => None,
        };
        let names: Vec<&String> = self
            .queues
            .keys()
            .filter(|n| n.starts_with(prefix) && after.as_ref().is_none_or(|a| *n > a))
            .collect();
        // Without MaxResults SQS returns at most 1000 queues and no token.
        let limit = max.unwrap_or(1000) as usize;
        let page: Vec<String> = names.iter().take(limit).map(|n| self.queue_url(n)).collect();
        let mut out = Map::new();
        if !page.is_empty() {
            out.insert("QueueUrls".into(), json!(page));
        }
        if max.is_some() && names.len() > limit {
            out.insert("NextToken".into(), json!(message::b64_encode(names[limit - 1].as_bytes())));
        }
        Ok(Value::Object(out))
    }

    fn get_queue_attributes(&self, p: &Value, now: i64) -> Result<Value, SqsError> {
        let name = self.queue_name(p)?;
        let wanted = string_list(p, "AttributeNames")?;
        let q = &self.queues[&name];
        let all = self.all_attributes(q, now);
        let mut out = Map::new();
        for w in &wanted {
            if w == "All" {
                out = all.clone();
                break;
            }
            let known = READ_ONLY.contains(&w.as_str())
                || STANDARD_DEFAULTS.iter().any(|(k, _)| k == w)
                || OTHER_SETTABLE.contains(&w.as_str())
                || w == "FifoQueue"
                || FIFO_DEFAULTS.iter().any(|(k, _)| k == w);
            if !known {
                return Err(SqsError::unknown_attribute(w));
            }
            if let Some(v) = all.get(w) {
                out.insert(w.clone(), v.clone());
            }
        }
        Ok(if out.is_empty() { json!({}) } else { json!({"Attributes": out}) })
    }

    fn all_attributes(&self, q: &Queue, now: i64) -> Map<String, Value> {
        let visible = q.messages.iter().filter(|m| m.visible_at_ms <= now).count();
        let in_flight = q.messages.iter().filter(|m| m.in_flight(now)).count();
        let delayed = q.messages.iter().filter(|m| m.receive_count == 0 && m.visible_at_ms > now).count();
        let mut m = Map::new();
        m.insert("QueueArn".into(), json!(self.queue_arn(&q.name)));
        m.insert("ApproximateNumberOfMessages".into(), json!(visible.to_string()));
        m.insert("ApproximateNumberOfMessagesNotVisible".into(), json!(in_flight.to_string()));
        m.insert("ApproximateNumberOfMessagesDelayed".into(), json!(delayed.to_string()));
        m.insert("CreatedTimestamp".into(), json!((q.created_ms / 1000).to_string()));
        m.insert("LastModifiedTimestamp".into(), json!((q.modified_ms / 1000).to_string()));
        for (k, v) in &q.attributes {
            m.insert(k.clone(), json!(v));
        }
        m
    }

    fn set_queue_attributes(&mut self, p: &Value, now: i64) -> Result<Value, SqsError> {
        let name = self.queue_name(p)?;
        let given = string_map(p, "Attributes")?;
        let fifo = self.queues[&name].fifo;
        for (k, v) in &given {
            if k == "FifoQueue" {
                // Recorded: a standard queue does not know the attribute; a FIFO queue
                // refuses to change type.
                return Err(if fifo {
                    SqsError::invalid_attribute_value("Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
                } else {
                    SqsError::unknown_attribute("FifoQueue")
                });
            }
            if READ_ONLY.contains(&k.as_str()) {
                return Err(SqsError::unknown_attribute(k));
            }
            if k == "ContentBasedDeduplication" && !fifo {
                return Err(SqsError::unknown_attribute(k));
            }
            self.validate_attribute(k, v, fifo, &name)?;
        }
        check_sse_exclusive(&given)?;
        let q = self.touch(&name);
        for (k, v) in given {
            if k == "RedrivePolicy" && v.is_empty() {
                q.attributes.remove(&k);
            } else {
                q.attributes.insert(k, v);
            }
        }
        q.modified_ms = now;
        Ok(json!({}))
    }

    // ---- sending ----

    /// Validates one message against its queue and enqueues it; returns the entry's result
    /// (`MessageId`, MD5s, `SequenceNumber`). `in_batch` selects the batch wordings.
    fn enqueue(&mut self, name: &str, p: &Value, now: i64, in_batch: bool) -> Result<Value, SqsError> {
        let body = match str_param(p, "MessageBody")? {
            Some(b) if !b.is_empty() => b.to_string(),
            _ => return Err(SqsError::missing_parameter("MessageBody")),
        };
        if !valid_chars(&body) {
            return Err(SqsError::invalid_message_contents());
        }
        let attributes = parse_attributes(p.get("MessageAttributes"))?;
        let trace_header = match p.get("MessageSystemAttributes").and_then(|s| s.get("AWSTraceHeader")) {
            Some(a) => a.get("StringValue").and_then(Value::as_str).map(str::to_string),
            None => None,
        };
        let delay = int_param(p, "DelaySeconds")?;
        let group = str_param(p, "MessageGroupId")?.map(str::to_string);
        let dedup = str_param(p, "MessageDeduplicationId")?.map(str::to_string);
        let q = &self.queues[name];
        let max = q.attr_i64("MaximumMessageSize") as usize;
        let size = body.len() + attributes_size(&attributes);
        if size > max {
            let lead = if in_batch { "One or more parameters cannot be validated." } else { "One or more parameters are invalid." };
            return Err(SqsError::invalid_parameter_value(format!("{lead} Reason: Message must be shorter than {max} bytes.")));
        }
        if let Some(g) = &group {
            validate_fifo_token(g, "MessageGroupId")?;
        }
        if let Some(d) = &dedup {
            validate_fifo_token(d, "MessageDeduplicationId")?;
        }
        let delay_s = match delay {
            Some(d) if q.fifo => {
                // Recorded: FIFO queues take no per-message delay.
                return Err(SqsError::invalid_value(
                    &d.to_string(),
                    "DelaySeconds",
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
            Some(d) if !(0..=900).contains(&d) => {
                return Err(SqsError::invalid_value(&d.to_string(), "DelaySeconds", "DelaySeconds must be >= 0 and <= 900."))
            }
            Some(d) => d,
            None => q.attr_i64("DelaySeconds"),
        };
        let md5_body = md5_hex(body.as_bytes());
        let md5_attributes = message::md5_of_attributes(&attributes);
        let mut dedup_key = None;
        let mut dedup_value = None;
        if q.fifo {
            let Some(g) = &group else {
                // Recorded: MissingParameter for SendMessage, InvalidParameterValue in a batch.
                return Err(if in_batch {
                    SqsError::invalid_parameter_value("The request must contain the parameter MessageGroupId.")
                } else {
                    SqsError::missing_parameter("MessageGroupId")
                });
            };
            let content_based = q.attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true");
            let id = match (&dedup, content_based) {
                (Some(d), _) => d.clone(),
                // Content-based deduplication: the SHA-256 hex digest of the body, which
                // ReceiveMessage reports as MessageDeduplicationId (FIFO queue docs).
                (None, true) => message::sha256_hex(body.as_bytes()),
                (None, false) => {
                    return Err(SqsError::invalid_parameter_value(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
            };
            let per_group = q.attributes.get("DeduplicationScope").is_some_and(|s| s == "messageGroup");
            dedup_value = Some(id.clone());
            let key = if per_group { format!("{g}\u{0}{id}") } else { id };
            if let Some((_, mid, seq)) = q.dedup.get(&key) {
                // A duplicate is accepted and not enqueued; SQS answers with the first send's ids.
                let mut out = send_result(mid, &md5_body, md5_attributes.as_deref());
                if let Some(s) = seq {
                    out.insert("SequenceNumber".into(), json!(s));
                }
                return Ok(Value::Object(out));
            }
            dedup_key = Some(key);
        } else if dedup.is_some() {
            return Err(SqsError::invalid_value(
                dedup.as_deref().unwrap_or(""),
                "MessageDeduplicationId",
                "The request include parameter that is not valid for this queue type.",
            ));
        }
        let id = self.ids.next_uuid();
        let sequence_number = if self.queues[name].fifo {
            self.sequence += 1;
            Some(format!("{:020}", 18_000_000_000_000_000_000u128 + self.sequence as u128))
        } else {
            None
        };
        let q = self.touch(name);
        if let Some(k) = dedup_key {
            q.dedup.insert(k, (now, id.clone(), sequence_number.clone()));
        }
        let mut out = send_result(&id, &md5_body, md5_attributes.as_deref());
        if let Some(s) = &sequence_number {
            out.insert("SequenceNumber".into(), json!(s));
        }
        q.messages.push(Message {
            id,
            body,
            attributes,
            md5_body,
            sent_ms: now,
            visible_at_ms: now + delay_s * 1000,
            receive_count: 0,
            first_receive_ms: None,
            receive_serial: 0,
            group_id: group,
            dedup_id: dedup_value,
            sequence_number,
            trace_header,
            dlq_source_arn: None,
        });
        Ok(Value::Object(out))
    }

    fn send_message(&mut self, p: &Value, now: i64) -> Result<Value, SqsError> {
        let name = self.queue_name(p)?;
        self.enqueue(&name, p, now, false)
    }

    fn send_message_batch(&mut self, p: &Value, now: i64) -> Result<Value, SqsError> {
        let name = self.queue_name(p)?;
        let list = entries(p, "SendMessageBatchRequestEntry")?.clone();
        let total: usize = list
            .iter()
            .map(|e| {
                let body = e.get("MessageBody").and_then(Value::as_str).map_or(0, str::len);
                body + parse_attributes(e.get("MessageAttributes")).map(|a| attributes_size(&a)).unwrap_or(0)
            })
            .sum();
        if total > MAX_BATCH_BYTES {
            return Err(SqsError::batch_too_long(MAX_BATCH_BYTES, total));
        }
        let q = &self.queues[&name];
        if q.fifo {
            // Recorded: these two fail the whole batch, not an entry.
            let content_based = q.attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true");
            for e in &list {
                if str_param(e, "MessageGroupId")?.is_none() {
                    return Err(SqsError::invalid_parameter_value("The request must contain the parameter MessageGroupId."));
                }
                if !content_based && str_param(e, "MessageDeduplicationId")?.is_none() {
                    return Err(SqsError::invalid_parameter_value(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            }
        }
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for e in &list {
            let id = req_str(e, "Id")?;
            match self.enqueue(&name, e, now, true) {
                Ok(Value::Object(mut r)) => {
                    r.insert("Id".into(), json!(id));
                    ok.push(Value::Object(r));
                }
                Ok(_) => unreachable!("enqueue answers an object"),
                Err(err) => failed.push(failed_entry(id, &err)),
            }
        }
        Ok(batch_result(ok, failed))
    }

    // ---- receiving ----

    /// ReceiveMessage without waiting, plus what a long-polling driver needs.
    pub fn receive(&mut self, p: &Value, now: i64) -> Result<Received, SqsError> {
        let name = self.queue_name(p)?;
        let max = int_param(p, "MaxNumberOfMessages")?.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(SqsError::invalid_value(&max.to_string(), "MaxNumberOfMessages", "Must be between 1 and 10, if provided."));
        }
        let wait = int_param(p, "WaitTimeSeconds")?;
        if let Some(w) = wait {
            if !(0..=20).contains(&w) {
                return Err(SqsError::invalid_value(&w.to_string(), "WaitTimeSeconds", "Must be >= 0 and <= 20, if provided."));
            }
        }
        let visibility = int_param(p, "VisibilityTimeout")?;
        if let Some(v) = visibility {
            if !(0..=MAX_VISIBILITY_S).contains(&v) {
                return Err(SqsError::invalid_value(
                    &v.to_string(),
                    "VisibilityTimeout",
                    "Must be >= 0 and <= 43200, if provided.",
                ));
            }
        }
        let mut system_names = string_list(p, "AttributeNames")?;
        system_names.extend(string_list(p, "MessageSystemAttributeNames")?);
        let attribute_names = string_list(p, "MessageAttributeNames")?;
        let q = self.queues.get(&name).expect("exists");
        let wait_seconds = wait.unwrap_or_else(|| q.attr_i64("ReceiveMessageWaitTimeSeconds")) as u32;
        let visibility_ms = visibility.unwrap_or_else(|| q.attr_i64("VisibilityTimeout")) * 1000;
        let redrive = q.redrive().and_then(|(arn, max)| self.name_from_arn(&arn).map(|dlq| (dlq, max)));
        let source_arn = self.queue_arn(&name);

        let q = self.touch(&name);
        let fifo = q.fifo;
        let blocked: std::collections::HashSet<String> = if fifo {
            q.messages.iter().filter(|m| m.in_flight(now)).filter_map(|m| m.group_id.clone()).collect()
        } else {
            Default::default()
        };
        let mut picked = Vec::new();
        let mut to_dlq = Vec::new();
        for (i, m) in q.messages.iter().enumerate() {
            if picked.len() as i64 >= max {
                break;
            }
            if m.visible_at_ms > now {
                continue;
            }
            if let Some(g) = &m.group_id {
                if fifo && blocked.contains(g) {
                    continue;
                }
            }
            if let Some((_, max_receives)) = &redrive {
                if m.receive_count >= *max_receives {
                    to_dlq.push(i);
                    continue;
                }
            }
            picked.push(i);
        }
        let mut moved = Vec::new();
        for &i in to_dlq.iter().rev() {
            moved.push(q.messages.remove(i));
        }
        // Indexes shift after removals; recompute them from the ids.
        let picked_ids: Vec<String> = picked.iter().map(|&i| q.messages_id_at(i, &to_dlq)).collect();
        let mut out = Vec::new();
        for id in &picked_ids {
            self.receive_serial += 1;
            let serial = self.receive_serial;
            let handle_random = self.ids.next_u64();
            // (Not `touch`: `self.account` is read while the message is borrowed.)
            self.changed.insert(name.clone());
            let q = self.queues.get_mut(&name).expect("picked from this queue");
            let m = q.messages.iter_mut().find(|m| &m.id == id).expect("picked from this queue");
            m.receive_count += 1;
            m.first_receive_ms.get_or_insert(now);
            m.visible_at_ms = now + visibility_ms;
            m.receive_serial = serial;
            let handle = receipt_handle(&name, &m.id, serial, handle_random);
            out.push(received_json(m, &handle, &system_names, &attribute_names, &self.account));
        }
        if let Some((dlq, _)) = redrive {
            let dq = self.touch(&dlq);
            for mut m in moved.into_iter().rev() {
                // The message keeps its id, body, attributes and first enqueue time
                // (retention counts from the original enqueue, SQS DLQ docs); its receive
                // count starts over.
                m.receive_count = 0;
                m.first_receive_ms = None;
                m.visible_at_ms = now;
                m.dlq_source_arn = Some(source_arn.clone());
                dq.messages.push(m);
            }
        }
        let q = &self.queues[&name];
        let next_visible_ms = q.messages.iter().map(|m| m.visible_at_ms).filter(|t| *t > now).min();
        let count = out.len();
        let response = if out.is_empty() { json!({}) } else { json!({"Messages": out}) };
        Ok(Received { response, count, wait_seconds, next_visible_ms })
    }

    fn find_by_handle(&mut self, name: &str, handle: &str) -> Result<Option<(usize, u64)>, SqsError> {
        let Some((qn, mid, serial)) = parse_receipt_handle(handle) else {
            return Err(SqsError::receipt_handle_invalid(handle));
        };
        if qn != name {
            return Err(SqsError::receipt_handle_invalid(handle));
        }
        let q = &self.queues[name];
        Ok(q.messages.iter().position(|m| m.id == mid).map(|i| (i, serial)))
    }

    fn delete_message(&mut self, name: &str, handle: &str, now: i64) -> Result<(), SqsError> {
        let found = self.find_by_handle(name, handle)?;
        let q = self.touch(name);
        let Some((i, serial)) = found else {
            return Ok(()); // already deleted: DeleteMessage is idempotent
        };
        let m = &q.messages[i];
        let current = m.receive_serial == serial;
        if q.fifo {
            // Recorded: on a FIFO queue a handle stops working once its visibility timeout ends.
            if !current || !m.in_flight(now) {
                return Err(SqsError::invalid_value(handle, "ReceiptHandle", "The receipt handle has expired."));
            }
            q.messages.remove(i);
        } else if current {
            // Standard queues accept a handle after its timeout (SQS deletes the message).
            q.messages.remove(i);
        }
        // An older handle of a re-received standard message: the call succeeds and the
        // message stays ("the request succeeds, but the message might not be deleted",
        // DeleteMessage API reference).
        Ok(())
    }

    fn change_visibility(&mut self, name: &str, handle: &str, timeout: i64, now: i64) -> Result<(), SqsError> {
        if !(0..=MAX_VISIBILITY_S).contains(&timeout) {
            return Err(SqsError::invalid_value(
                &timeout.to_string(),
                "VisibilityTimeout",
                "VisibilityTimeout must be an integer between 0 and 43200",
            ));
        }
        let found = self.find_by_handle(name, handle)?;
        let q = self.touch(name);
        let m = found.filter(|(i, serial)| q.messages[*i].receive_serial == *serial).map(|(i, _)| &mut q.messages[i]);
        match m {
            Some(m) if m.in_flight(now) => {
                m.visible_at_ms = now + timeout * 1000;
                Ok(())
            }
            _ => Err(SqsError::invalid_value(
                handle,
                "ReceiptHandle",
                "Message does not exist or is not available for visibility timeout change.",
            )),
        }
    }

    /// Messages currently stored in a queue (visible, delayed or in flight), for tests and
    /// inspection: `(message id, body)` in send order.
    pub fn peek(&self, name: &str) -> Vec<(String, String)> {
        self.queues.get(name).map_or_else(Vec::new, |q| q.messages.iter().map(|m| (m.id.clone(), m.body.clone())).collect())
    }
}

impl Queue {
    /// The id of the message that was at index `i` before the messages at `removed` were taken out.
    fn messages_id_at(&self, i: usize, removed: &[usize]) -> String {
        let shift = removed.iter().filter(|&&r| r < i).count();
        self.messages[i - shift].id.clone()
    }
}

/// KMS and SQS-managed encryption cannot both be set (recorded wording).
fn check_sse_exclusive(given: &BTreeMap<String, String>) -> Result<(), SqsError> {
    if given.contains_key("KmsMasterKeyId") && given.get("SqsManagedSseEnabled").is_some_and(|v| v == "true") {
        return Err(SqsError::invalid_attribute_name(
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.",
        ));
    }
    Ok(())
}

fn send_result(id: &str, md5_body: &str, md5_attributes: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("MD5OfMessageBody".into(), json!(md5_body));
    if let Some(a) = md5_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(a));
    }
    out.insert("MessageId".into(), json!(id));
    out
}

fn batch_result(ok: Vec<Value>, failed: Vec<Value>) -> Value {
    let mut out = Map::new();
    if !failed.is_empty() {
        out.insert("Failed".into(), Value::Array(failed));
    }
    out.insert("Successful".into(), Value::Array(ok));
    Value::Object(out)
}

/// Receipt handles name the queue, the message and the receive that issued them, plus
/// random bits so that handles are not guessable from one another.
fn receipt_handle(queue: &str, message_id: &str, serial: u64, random: u64) -> String {
    message::b64_encode(format!("{queue} {message_id} {serial} {random:016x}").as_bytes())
}

fn parse_receipt_handle(h: &str) -> Option<(String, String, u64)> {
    let raw = String::from_utf8(message::b64_decode(h)?).ok()?;
    let mut it = raw.split(' ');
    let (q, m, s, r) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || r.len() != 16 {
        return None;
    }
    Some((q.to_string(), m.to_string(), s.parse().ok()?))
}

fn received_json(m: &Message, handle: &str, system: &[String], attr_names: &[String], account: &str) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(m.id));
    out.insert("ReceiptHandle".into(), json!(handle));
    out.insert("MD5OfBody".into(), json!(m.md5_body));
    out.insert("Body".into(), json!(m.body));
    let all = system.iter().any(|s| s == "All");
    let want = |n: &str| all || system.iter().any(|s| s == n);
    let mut attrs = Map::new();
    for n in SYSTEM_ATTRIBUTES {
        if !want(n) {
            continue;
        }
        let v = match *n {
            "SenderId" => Some(account.to_string()),
            "SentTimestamp" => Some(m.sent_ms.to_string()),
            "ApproximateReceiveCount" => Some(m.receive_count.to_string()),
            "ApproximateFirstReceiveTimestamp" => m.first_receive_ms.map(|t| t.to_string()),
            "SequenceNumber" => m.sequence_number.clone(),
            "MessageDeduplicationId" => m.dedup_id.clone(),
            "MessageGroupId" => m.group_id.clone(),
            "AWSTraceHeader" => m.trace_header.clone(),
            "DeadLetterQueueSourceArn" => m.dlq_source_arn.clone(),
            _ => None,
        };
        if let Some(v) = v {
            attrs.insert(n.to_string(), json!(v));
        }
    }
    if !attrs.is_empty() {
        out.insert("Attributes".into(), Value::Object(attrs));
    }
    let selected = select_attributes(&m.attributes, attr_names);
    if let Some(md5) = message::md5_of_attributes(&selected) {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
        out.insert("MessageAttributes".into(), attributes_json(&selected));
    }
    Value::Object(out)
}
