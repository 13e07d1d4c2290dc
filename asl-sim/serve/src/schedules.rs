//! The template's EventBridge Scheduler schedules (`AWS::Scheduler::Schedule`) fired at
//! their state machine targets, as Scheduler's templated StartExecution target does.
//!
//! Expressions (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
//! `rate(value unit)` (unit minute(s), hour(s) or day(s)) fires every interval from the
//! moment serve starts (Scheduler starts a rate schedule when it is created; serve
//! creates the template's schedules at start-up), and `at(yyyy-mm-ddThh:mm:ss)` fires
//! once, in UTC. `cron(...)` expressions and other time zones are accepted and named in
//! the banner as not fired: serve does not evaluate them.

use crate::State;
use asl_world::template::ScheduleDef;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// When a schedule fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Every so many milliseconds.
    Every(i64),
    /// Once, at this time (ms since the epoch).
    At(i64),
}

/// Reads a schedule expression; `Ok(None)`: a valid kind serve does not fire (cron).
pub fn parse(expression: &str, timezone: &str) -> Result<Option<When>, String> {
    let e = expression.trim();
    if let Some(body) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = body.split_whitespace();
        let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{expression}: a rate expression is rate(value unit), e.g. rate(5 minutes)"));
        };
        let value: i64 = value.parse().ok().filter(|v| *v > 0).ok_or_else(|| format!("{expression}: the rate's value must be a positive whole number"))?;
        let unit_ms = match unit {
            "minute" | "minutes" => 60_000,
            "hour" | "hours" => 3_600_000,
            "day" | "days" => 86_400_000,
            _ => return Err(format!("{expression}: the rate's unit must be minute(s), hour(s) or day(s)")),
        };
        return Ok(Some(When::Every(value.saturating_mul(unit_ms))));
    }
    if let Some(body) = e.strip_prefix("at(").and_then(|r| r.strip_suffix(')')) {
        let at = asl_aws::time::parse_timestamp(&format!("{body}Z"))
            .filter(|_| body.len() == 19)
            .ok_or_else(|| format!("{expression}: a one-time expression is at(yyyy-mm-ddThh:mm:ss)"))?;
        if timezone != "UTC" && timezone != "Etc/UTC" {
            return Ok(None);
        }
        return Ok(Some(When::At(at)));
    }
    if e.starts_with("cron(") && e.ends_with(')') {
        return Ok(None);
    }
    Err(format!("{expression}: a schedule expression is rate(...), at(...) or cron(...)"))
}

struct Armed {
    logical: String,
    machine_arn: String,
    input: serde_json::Value,
    when: When,
    next_ms: i64,
}

/// Checks every schedule and starts the thread that fires the ones serve runs; returns
/// banner notices for the ones it does not fire.
pub fn start(state: &Arc<State>, schedules: &[ScheduleDef], now_ms: i64) -> Result<Vec<String>, String> {
    let mut notices = Vec::new();
    let mut armed = Vec::new();
    for s in schedules {
        let when = parse(&s.expression, &s.timezone).map_err(|e| format!("{}: {e}", s.logical))?;
        if state.machine_by_arn(&s.target_arn).is_none() {
            return Err(format!("{}: target {} is not a state machine of this template (serve fires schedules at state machines only)", s.logical, s.target_arn));
        }
        match (s.enabled, when) {
            (false, _) => notices.push(format!("{} is DISABLED: not fired", s.logical)),
            (true, None) => notices.push(format!("{} ({} in {}) is not fired: serve fires rate() and UTC at() schedules", s.logical, s.expression, s.timezone)),
            (true, Some(when)) => {
                let next_ms = match when {
                    When::Every(ms) => now_ms + ms,
                    When::At(at) => at,
                };
                armed.push(Armed { logical: s.logical.clone(), machine_arn: s.target_arn.clone(), input: s.input.clone(), when, next_ms });
            }
        }
    }
    if !armed.is_empty() {
        let state = state.clone();
        std::thread::Builder::new()
            .name("schedules".into())
            .spawn(move || fire_loop(&state, armed))
            .map_err(|e| format!("cannot start the schedule thread: {e}"))?;
    }
    Ok(notices)
}

fn fire_loop(state: &Arc<State>, mut armed: Vec<Armed>) {
    while !state.shutting_down.load(Ordering::SeqCst) && !armed.is_empty() {
        let now = crate::wall_millis();
        for a in armed.iter_mut().filter(|a| a.next_ms <= now) {
            fire(state, a);
            a.next_ms = match a.when {
                // A rate schedule that fell behind (a suspended laptop) fires once, then keeps its rhythm.
                When::Every(ms) => a.next_ms + ms * ((now - a.next_ms) / ms + 1),
                When::At(_) => i64::MAX,
            };
        }
        armed.retain(|a| a.next_ms != i64::MAX);
        let next = armed.iter().map(|a| a.next_ms).min().unwrap_or(now);
        // Short sleeps so that shutdown is never kept waiting.
        std::thread::sleep(Duration::from_millis((next - crate::wall_millis()).clamp(1, 200) as u64));
    }
}

fn fire(state: &Arc<State>, a: &Armed) {
    let Some(machine) = state.machine_by_arn(&a.machine_arn) else {
        if !state.quiet {
            eprintln!("schedule {}: its target {} no longer exists", a.logical, a.machine_arn);
        }
        return;
    };
    match crate::exec::start_async(state, &machine, None, a.input.clone()) {
        Ok((arn, _)) if !state.quiet => eprintln!("schedule {}: started {arn}", a.logical),
        Ok(_) => {}
        Err((code, message)) if !state.quiet => eprintln!("schedule {}: the start failed: {code}: {message}", a.logical),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
    #[test]
    fn expressions_as_scheduler_writes_them() {
        assert_eq!(parse("rate(5 minutes)", "UTC"), Ok(Some(When::Every(300_000))));
        assert_eq!(parse("rate(1 hour)", "UTC"), Ok(Some(When::Every(3_600_000))));
        assert_eq!(parse("rate(2 days)", "UTC"), Ok(Some(When::Every(172_800_000))));
        assert_eq!(parse("at(2026-12-02T07:00:00)", "UTC"), Ok(Some(When::At(asl_aws::time::parse_timestamp("2026-12-02T07:00:00Z").unwrap_or(0)))));
        assert_eq!(parse("cron(0 12 * * ? *)", "UTC"), Ok(None));
        assert_eq!(parse("at(2026-12-02T07:00:00)", "Europe/Paris"), Ok(None));
        for bad in ["rate(0 minutes)", "rate(5 weeks)", "rate(minutes)", "rate(5 minutes extra)", "at(2026-12-02)", "at(2026-02-30T00:00:00)", "every 5 minutes"] {
            assert!(parse(bad, "UTC").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_template_schedule_starts_its_machine() {
        let dir = std::env::temp_dir().join(format!("asl-schedules-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // A one-time schedule two seconds from now, and a DISABLED one that must not fire.
        let at = asl_aws::time::format_iso8601(crate::wall_millis() + 2_000);
        let at = &at[..19];
        let template = format!(
            "Resources:\n  Tick:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Definition:\n        StartAt: P\n        States:\n          P: {{Type: Pass, End: true}}\n  Once:\n    Type: AWS::Scheduler::Schedule\n    Properties:\n      ScheduleExpression: at({at})\n      FlexibleTimeWindow: {{Mode: \"OFF\"}}\n      Target:\n        Arn: !Ref Tick\n        RoleArn: arn:aws:iam::123456789012:role/r\n        Input: '{{\"from\": \"schedule\"}}'\n  Off:\n    Type: AWS::Scheduler::Schedule\n    Properties:\n      ScheduleExpression: rate(1 minute)\n      State: DISABLED\n      FlexibleTimeWindow: {{Mode: \"OFF\"}}\n      Target:\n        Arn: !Ref Tick\n        RoleArn: arn:aws:iam::123456789012:role/r\n"
        );
        let path = dir.join("template.yaml");
        std::fs::write(&path, template).expect("template");
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: crate::ServeArgs,
        }
        let cli = Cli::parse_from(["serve", "--template", path.to_str().unwrap_or_default(), "--aws-port", "0", "--api-port", "0", "--in-memory", "--quiet", "--data-dir", dir.to_str().unwrap_or_default()]);
        let (handle, banner) = crate::start(&cli.serve).expect("serve starts");
        assert!(banner.contains("Off is DISABLED: not fired"), "{banner}");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let inputs = loop {
            let inputs: Vec<serde_json::Value> = handle.state.executions.records.lock().map(|r| r.values().map(|x| x.input.clone()).collect()).unwrap_or_default();
            if !inputs.is_empty() || std::time::Instant::now() > deadline {
                break inputs;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(inputs, vec![serde_json::json!({"from": "schedule"})]);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(handle.state.executions.records.lock().map(|r| r.len()).unwrap_or(0), 1, "an at() schedule fires once");
    }
}
