//! The context of one service call: what a call needs from the outside world.

use crate::ids::IdGen;

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
