//! In-memory EventBridge. No I/O.
//!
//! * [`events`]: buses, rules, targets, PutEvents and input transformation; events from
//!   other services (S3's notifications) arrive as [`asl_aws::Event`]s.
//! * [`pattern`]: the event-pattern language (validation and matching).
//! * [`sfn`]: the Step Functions integration layer (`events:putEvents`,
//!   `aws-sdk:eventbridge:putEvents`).
//!
//! Time and ids come from the caller through [`CallContext`]; the crate reads no clock,
//! no file and no OS randomness.
//!
//! The blog's update-inventory path, end to end:
//!
//! ```
//! use asl_eventbridge::events::{EventBridge, PutRuleInput, Target};
//! use asl_s3::s3::{PutObjectInput, S3};
//! use asl_s3::{s3_step_functions_call, CallContext};
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
pub mod sfn;

pub use asl_aws::{CallContext, Event};
pub use events::{Delivery, EventBridge, EventsError};
pub use sfn::{events_step_functions_call, PutEventsStyle};
