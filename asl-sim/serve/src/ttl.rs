//! DynamoDB Time to Live in serve: the template's `TimeToLiveSpecification` is enabled at
//! start-up, and a thread runs the background deletion of expired items
//! (`asl_dynamodb::Database::sweep_expired`) every `ASL_SIM_TTL_SWEEP_SECONDS` (default 60).
//!
//! AWS (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html):
//! expired items are deleted "typically within a few days" of their expiry, and reads return
//! them until then (a caller that must not see them filters on the attribute). The sweep's
//! deletions are committed like any request's (`persist::flush`), so a restart does not bring
//! a deleted item back.

use crate::State;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Enables TTL on the template's tables that ask for it (the template's attribute wins over
/// one stored by an earlier run).
pub fn enable(world: &mut crate::world::World, tables: &[(String, String)]) -> Result<(), String> {
    for (table, attribute) in tables {
        let current = world.dynamodb.time_to_live_attribute(table).map(str::to_string);
        if current.as_deref() == Some(attribute.as_str()) {
            continue;
        }
        if let Some(other) = current {
            let off = serde_json::json!({"TableName": table, "TimeToLiveSpecification": {"Enabled": false, "AttributeName": other}});
            world.dynamodb.call("UpdateTimeToLive", &off).map_err(|e| format!("{table}: UpdateTimeToLive: {}: {}", e.code, e.message))?;
        }
        let on = serde_json::json!({"TableName": table, "TimeToLiveSpecification": {"Enabled": true, "AttributeName": attribute}});
        world.dynamodb.call("UpdateTimeToLive", &on).map_err(|e| format!("{table}: UpdateTimeToLive: {}: {}", e.code, e.message))?;
    }
    Ok(())
}

/// The sweep interval: `ASL_SIM_TTL_SWEEP_SECONDS` (seconds, fractions allowed; 0 turns the
/// sweep off), default 60.
pub fn interval() -> Result<Option<Duration>, String> {
    match std::env::var("ASL_SIM_TTL_SWEEP_SECONDS") {
        Err(_) => Ok(Some(Duration::from_secs(60))),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s == 0.0 => Ok(None),
            Ok(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(format!("ASL_SIM_TTL_SWEEP_SECONDS={v}: expected a number of seconds (0: no sweep)")),
        },
    }
}

/// Starts the sweep thread (none when the interval is off).
pub fn start(state: &Arc<State>, every: Option<Duration>) -> Result<(), String> {
    let Some(every) = every else { return Ok(()) };
    let state = state.clone();
    std::thread::Builder::new()
        .name("ttl-sweep".into())
        .spawn(move || {
            let mut next = Instant::now() + every;
            while !state.shutting_down.load(Ordering::SeqCst) {
                if Instant::now() >= next {
                    sweep(&state);
                    next = Instant::now() + every;
                }
                // Short sleeps so that shutdown is never kept waiting.
                std::thread::sleep(next.saturating_duration_since(Instant::now()).min(Duration::from_millis(200)));
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the TTL sweep thread: {e}"))
}

/// One background deletion, committed.
fn sweep(state: &Arc<State>) {
    let now_secs = crate::wall_millis() as f64 / 1000.0;
    let deleted = state.world.lock().dynamodb.sweep_expired(now_secs);
    if deleted.is_empty() {
        return;
    }
    // A failed commit leaves the deletions in the world, for the next commit to store.
    let committed = crate::persist::flush(state, Vec::new());
    if !state.quiet {
        match committed {
            Ok(()) => eprintln!("TTL: deleted {} expired item(s)", deleted.len()),
            Err(e) => eprintln!("TTL: deleted {} expired item(s), not yet committed: {}", deleted.len(), e.message),
        }
    }
}
