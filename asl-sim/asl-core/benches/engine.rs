//! Engine throughput: the Pass+Choice loop that counts to 1,000 (2,001 state
//! transitions), run in-process. `cargo bench -p asl-core --bench engine`.
//! The figure is state transitions per second (median of several batches).

use asl_core::engine::{self, ExecutionConfig, NoServices, VirtualClock};
use std::time::Instant;

fn main() {
    let src = include_str!("../../../tests/bench/count-to-1000.asl.json");
    let (def, diags) = asl_core::load_definition(src, &Default::default());
    assert!(diags.is_empty(), "{diags:?}");
    let def = def.expect("definition");
    let config = ExecutionConfig::default();
    let run_once = || {
        let mut clock = VirtualClock { now: 0 };
        let out = engine::run(&def, serde_json::json!({"count": 0}), &config, &mut NoServices, &mut clock, false);
        assert_eq!(out.output, Some(serde_json::json!({"count": 1000})));
        out.path.len() - 1
    };
    let transitions = run_once();
    assert_eq!(transitions, 2001);
    let mut rates = Vec::new();
    for _ in 0..15 {
        let runs = 50;
        let t = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(run_once());
        }
        let secs = t.elapsed().as_secs_f64();
        rates.push((runs * transitions) as f64 / secs);
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let median = rates[rates.len() / 2];
    println!("count-to-1000: {transitions} transitions per run, {:.0} transitions/s (median of {} batches), {:.1} µs per run", median, rates.len(), transitions as f64 / median * 1e6);
}
