//! The one type S3 (and any other event source) and EventBridge touch through:
//! an event in EventBridge's envelope.

use serde_json::{json, Value};

/// An event as EventBridge delivers it (the envelope).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub detail_type: String,
    pub source: String,
    pub account: String,
    /// `2021-11-12T00:00:00Z`
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Value,
}

impl Event {
    /// The envelope in EventBridge's field order:
    /// version, id, detail-type, source, account, time, region, resources, detail.
    pub fn to_json(&self) -> Value {
        json!({
            "version": "0",
            "id": self.id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": self.account,
            "time": self.time,
            "region": self.region,
            "resources": self.resources,
            "detail": self.detail,
        })
    }
}
