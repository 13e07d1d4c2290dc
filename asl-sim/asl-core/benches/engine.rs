//! Engine throughput, in-process. `cargo bench -p asl-core --bench engine`.
//! Times are CPU time of the benchmark thread where Linux reports it.
//!
//! 1. The Pass+Choice loop that counts to 1,000 (2,001 state transitions):
//!    state transitions per second (median of several batches).
//! 2. An inline Map over 10,000 input items whose ItemSelector reads
//!    `$$.Map.Item.Value` and whose Pass formats each item (EXPRESS).
//! 3. The same shape over 10,000 and 100,000 generated items (JSONata; the
//!    items are made inside the machine, so the 256 KiB input quota does not
//!    apply): the cost per item must not grow with the item count.

use asl_core::engine::{self, ExecutionConfig, ExecutionType, NoServices, Status, VirtualClock};
use std::time::Instant;

// The allocator of the asl-sim binary (asl-sim/cli/src/main.rs), so these figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so figures
/// hold on a machine shared with other work; wall time elsewhere.
struct Timer {
    wall: Instant,
    cpu: Option<u64>,
}

fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

impl Timer {
    fn start() -> Timer {
        Timer { wall: Instant::now(), cpu: cpu_ns() }
    }
    /// Seconds on the CPU (or of wall time).
    fn secs(&self) -> f64 {
        match (self.cpu, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => self.wall.elapsed().as_secs_f64(),
        }
    }
}

fn load(src: &str) -> asl_core::definition::Definition {
    let (def, diags) = asl_core::load_definition(src, &Default::default());
    assert!(diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error), "{diags:?}");
    def.expect("definition")
}

fn count_loop() {
    let def = load(include_str!("../../../tests/bench/count-to-1000.asl.json"));
    let config = ExecutionConfig::default();
    let run_once = || {
        let mut clock = VirtualClock { now: 0 };
        let out = engine::run(&def, serde_json::json!({"count": 0}), &config, &mut NoServices, &mut clock, false);
        assert_eq!(out.end.output, Some(serde_json::json!({"count": 1000})));
        out.path.len() - 1
    };
    let transitions = run_once();
    assert_eq!(transitions, 2001);
    let mut rates = Vec::new();
    for _ in 0..15 {
        let runs = 50;
        let t = Timer::start();
        for _ in 0..runs {
            std::hint::black_box(run_once());
        }
        let secs = t.secs();
        rates.push((runs * transitions) as f64 / secs);
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let median = rates[rates.len() / 2];
    println!("count-to-1000: {transitions} transitions per run, {:.0} transitions/s (median of {} batches), {:.1} µs per run", median, rates.len(), transitions as f64 / median * 1e6);
}

/// Median wall time of `runs` executions, in milliseconds.
fn time_map(def: &asl_core::definition::Definition, input: &serde_json::Value, runs: usize) -> f64 {
    let config = ExecutionConfig { execution_type: ExecutionType::Express, ..Default::default() };
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Timer::start();
        let out = engine::run(def, input.clone(), &config, &mut NoServices, &mut VirtualClock { now: 0 }, false);
        times.push(t.secs() * 1000.0);
        assert_eq!(out.status, Status::Succeeded, "{:?} {:?}", out.end.error, out.end.cause);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn maps() {
    let def = load(include_str!("../../../tests/bench/map-items.asl.json"));
    let input: serde_json::Value = serde_json::from_str(include_str!("../../../tests/bench/map-10000-input.json")).unwrap();
    let ms = time_map(&def, &input, 5);
    println!("map-items (JSONPath, 10,000 input items, $$.Map.Item.Value): {ms:.1} ms per execution");
    let def = load(include_str!("../../../tests/bench/map-generated.asl.json"));
    let small = time_map(&def, &serde_json::json!({"n": 10_000}), 5);
    let large = time_map(&def, &serde_json::json!({"n": 100_000}), 3);
    println!("map-generated (JSONata): 10,000 items {small:.1} ms, 100,000 items {large:.1} ms ({:.1}x)", large / small);
}

/// `cargo bench -p asl-core --bench engine [count|maps]`: one part alone (for a profiler).
fn main() {
    let only = std::env::args().skip(1).find(|a| a == "count" || a == "maps");
    if only.as_deref() != Some("maps") {
        count_loop();
    }
    if only.as_deref() != Some("count") {
        maps();
    }
}
