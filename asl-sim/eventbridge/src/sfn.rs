//! The Step Functions service integrations for EventBridge
//! (`arn:aws:states:::events:putEvents` and `arn:aws:states:::aws-sdk:eventbridge:putEvents`).
//!
//! Results have the SDK's PascalCase shapes; failures are `(error, cause)` as the task
//! reports them (aws-services.md §3.3).

use crate::events::{entry_from_json, Delivery, EventBridge, EventsError};
use asl_aws::CallContext;
use serde_json::Value;

/// Which EventBridge integration a task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutEventsStyle {
    /// `arn:aws:states:::events:putEvents` (optionally `.waitForTaskToken`).
    Optimized,
    /// `arn:aws:states:::aws-sdk:eventbridge:putEvents`.
    AwsSdk,
}

/// Everything a putEvents task produced: the task outcome and the deliveries of the
/// entries EventBridge accepted (which happen even when the optimized task fails on
/// another entry, as recorded on AWS).
#[derive(Debug, Clone, PartialEq)]
pub struct PutEventsCall {
    pub outcome: Result<Value, (String, String)>,
    pub deliveries: Vec<Delivery>,
}

fn events_api_error(e: &EventsError, style: PutEventsStyle, ctx: &CallContext) -> (String, String) {
    // UNVERIFIED: no recording of a whole-call EventBridge failure through Step Functions;
    // names follow the DynamoDB pattern (SDK v1 for optimized, SDK v2 for aws-sdk).
    match style {
        PutEventsStyle::Optimized => (
            if e.code == "ValidationException" {
                "EventBridge.AmazonEventBridgeException".to_string()
            } else {
                format!("EventBridge.{}", e.code)
            },
            format!(
                "{} (Service: AmazonEventBridge; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                e.message, e.status, e.code, ctx.request_id
            ),
        ),
        PutEventsStyle::AwsSdk => (
            if e.code == "ValidationException" {
                "EventBridge.EventBridgeException".to_string()
            } else if e.code.ends_with("Exception") {
                format!("EventBridge.{}", e.code)
            } else {
                format!("EventBridge.{}Exception", e.code)
            },
            format!("{} (Service: EventBridge, Status Code: {}, Request ID: {})", e.message, e.status, ctx.request_id),
        ),
    }
}

/// Runs a putEvents task and keeps the deliveries even when the task fails.
pub fn events_step_functions_call_detailed(
    bus: &mut EventBridge,
    style: PutEventsStyle,
    parameters: &Value,
    ctx: &CallContext,
) -> PutEventsCall {
    let fail = |e: (String, String)| PutEventsCall { outcome: Err(e), deliveries: Vec::new() };
    let raw_entries = match parameters.get("Entries") {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            return fail(events_api_error(
                &EventsError::new("ValidationException", "Entries must be a list"),
                style,
                ctx,
            ))
        }
    };
    let mut entries = Vec::with_capacity(raw_entries.len());
    for e in &raw_entries {
        // The optimized integration takes Detail as a JSON value (recorded); the aws-sdk one
        // is given the same leniency (UNVERIFIED).
        match entry_from_json(e, true) {
            Ok(mut entry) => {
                if style == PutEventsStyle::Optimized {
                    entry.resources.extend(ctx.state_machine_arn.iter().cloned());
                    entry.resources.extend(ctx.execution_arn.iter().cloned());
                }
                entries.push(entry);
            }
            Err(msg) => return fail(events_api_error(&EventsError::new("ValidationException", msg), style, ctx)),
        }
    }
    match bus.put_events(&entries, ctx) {
        Err(e) => fail(events_api_error(&e, style, ctx)),
        Ok((result, deliveries)) => {
            let out = result.to_json();
            let outcome = if style == PutEventsStyle::Optimized && result.failed_entry_count > 0 {
                Err(("EventBridge.FailedEntry".to_string(), out.to_string()))
            } else {
                Ok(out)
            };
            PutEventsCall { outcome, deliveries }
        }
    }
}

/// Runs a putEvents task: the result `{"Entries":[…],"FailedEntryCount":n}` and the
/// deliveries to start. The optimized integration fails with `EventBridge.FailedEntry`
/// (cause: the response JSON) when any entry fails; the aws-sdk one returns the response.
/// On failure the deliveries of accepted entries are dropped here; use
/// [`events_step_functions_call_detailed`] to keep them.
pub fn events_step_functions_call(
    bus: &mut EventBridge,
    style: PutEventsStyle,
    parameters: &Value,
    ctx: &CallContext,
) -> Result<(Value, Vec<Delivery>), (String, String)> {
    let call = events_step_functions_call_detailed(bus, style, parameters, ctx);
    call.outcome.map(|v| (v, call.deliveries))
}
