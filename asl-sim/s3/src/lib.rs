//! In-memory S3 and EventBridge. No I/O.
//!
//! * [`s3`]: buckets, objects, multipart uploads, ListObjectsV2, with S3's error codes and
//!   the EventBridge notifications S3 sends ("Object Created" / "Object Deleted").
//! * [`events`]: EventBridge buses, rules, targets, PutEvents and input transformation.
//! * [`pattern`]: the EventBridge event-pattern language (validation and matching).
//! * [`sfn`]: the Step Functions integration layer (`aws-sdk:s3:*`, `events:putEvents`,
//!   `aws-sdk:eventbridge:putEvents`).
//!
//! Time and ids come from the caller through [`CallContext`]; the crate reads no clock,
//! no file and no OS randomness.
//!
//! The blog's update-inventory path, end to end:
//!
//! ```
//! use asl_s3_events::events::{EventBridge, PutRuleInput, Target};
//! use asl_s3_events::s3::{PutObjectInput, S3};
//! use asl_s3_events::{s3_step_functions_call, CallContext};
//! use serde_json::json;
//!
//! let ctx = CallContext::new(1_700_000_000_000, 1);
//! let mut s3 = S3::new();
//! s3.create_bucket("files", &ctx).unwrap();
//! s3.set_eventbridge("files", true).unwrap();
//!
//! let mut eb = EventBridge::new(&ctx.account, &ctx.region);
//! eb.put_rule(&PutRuleInput {
//!     name: "inventory".into(),
//!     event_pattern: Some(r#"{"source":["aws.s3"],"detail-type":["Object Created","Object Deleted"]}"#.into()),
//!     ..Default::default()
//! }).unwrap();
//! eb.put_targets(None, "inventory", &[Target {
//!     id: "sm".into(),
//!     arn: "arn:aws:states:us-east-1:111122223333:stateMachine:UpdateInventory".into(),
//!     input_path: Some("$.detail".into()),
//!     ..Default::default()
//! }]).unwrap();
//!
//! // A PUT through the typed API (the HTTP front door) ...
//! s3.put_object(PutObjectInput { bucket: "files".into(), key: "alice/a.txt".into(),
//!                                body: b"hello".to_vec(), ..Default::default() }, &ctx).unwrap();
//! // ... or a delete from a state machine task.
//! let (out, events) = s3_step_functions_call(&mut s3, "deleteObject",
//!     &json!({"Bucket": "files", "Key": "alice/a.txt"}), &ctx).unwrap();
//! assert_eq!(out, json!({}));
//! assert_eq!(events.len(), 2); // the PUT's "Object Created" and this "Object Deleted"
//!
//! // S3 events go to the default bus; each delivery starts a state machine.
//! let deliveries: Vec<_> = events.iter().flat_map(|e| eb.put_service_event(None, e, &ctx)).collect();
//! assert_eq!(deliveries[0].input["reason"], "PutObject");
//! assert_eq!(deliveries[1].input["reason"], "DeleteObject");
//! ```

pub mod events;
pub mod pattern;
pub mod s3;
pub mod sfn;
mod util;

pub use events::{Delivery, Event, EventBridge, EventsError};
pub use s3::{S3Error, S3};
pub use sfn::{events_step_functions_call, s3_step_functions_call, PutEventsStyle};
pub use util::{format_iso8601, format_iso8601_millis, format_http_date, IdGen};

/// What a call needs from the outside world: the time, ids, region, account and the
/// requester's identity. Ids are drawn from [`IdGen`], a deterministic generator seeded by
/// the caller.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Milliseconds since the Unix epoch.
    pub now_ms: i64,
    pub region: String,
    pub account: String,
    /// The S3 request id (`x-amz-request-id`), also the `request-id` of S3 events.
    pub request_id: String,
    /// The S3 extended request id (`x-amz-id-2`).
    pub extended_request_id: String,
    /// `requester` of S3 events: the account id or a service principal.
    pub requester: String,
    /// `source-ip-address` of S3 events; `None` leaves the field out (as for lifecycle events).
    pub source_ip: Option<String>,
    /// Source of event ids and upload ids.
    pub ids: IdGen,
    /// The state machine and execution that make a Step Functions call; the optimized
    /// `events:putEvents` integration appends both ARNs to each entry's `resources`.
    pub state_machine_arn: Option<String>,
    pub execution_arn: Option<String>,
}

impl CallContext {
    /// A context with defaults suitable for tests: region `us-east-1`, account
    /// `111122223333`, requester = account, source ip `127.0.0.1`.
    pub fn new(now_ms: i64, seed: u64) -> Self {
        CallContext {
            now_ms,
            region: "us-east-1".to_string(),
            account: "111122223333".to_string(),
            request_id: "0000000000000000".to_string(),
            extended_request_id: "0000000000000000000000000000000000000000000000000000000000000000"
                .to_string(),
            requester: "111122223333".to_string(),
            source_ip: Some("127.0.0.1".to_string()),
            ids: IdGen::new(seed),
            state_machine_arn: None,
            execution_arn: None,
        }
    }
}
