//! Simulation tests over the scenarios in tests/simulation/.

use super::*;
use std::path::PathBuf;

fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/simulation").join(name)
}

fn load(name: &str) -> scenario::Scenario {
    scenario::load(&scenario_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn same_seed_same_run_step_for_step() {
    let sc = load("file-manager.sim.yaml");
    let mut pool = Pool::new();
    for seed in [1u64, 7, 42, 1234] {
        let a = run_seed(&sc, &mut pool, seed, true, false);
        let b = run_seed(&sc, &mut pool, seed, true, false);
        assert_eq!(a.result.trace, b.result.trace, "seed {seed}");
        assert!(a.result.trace.len() > 10);
        // The recorded script replays the same run.
        let c = run_script(&sc, &mut pool, seed, &a.result.script, true, false);
        assert_eq!(a.result.trace, c.result.trace, "script of seed {seed}");
    }
    let a = run_seed(&sc, &mut pool, 1, true, false);
    let b = run_seed(&sc, &mut pool, 2, true, false);
    assert_ne!(a.result.trace, b.result.trace);
}
