//! Every fuzz target over its seeds, over each input a fuzzing run once found
//! (`corpus/regressions/<target>/`), then over a few hundred generated inputs.

use asl_fuzz::{mutate, targets};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

#[test]
fn seeds_run() {
    for t in targets() {
        let seeds = t.seeds();
        assert!(seeds.len() >= 5, "{}: only {} seeds", t.name, seeds.len());
        for s in seeds {
            (t.run)(&s);
        }
    }
}

#[test]
fn regressions_run() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/regressions");
    let mut ran = 0;
    for t in targets() {
        let Ok(entries) = std::fs::read_dir(dir.join(t.name)) else { continue };
        for e in entries.flatten() {
            let input = std::fs::read(e.path()).expect("read a regression input");
            let started = std::time::Instant::now();
            (t.run)(&input);
            let took = started.elapsed();
            // A hang detector, not a speed test: asl-fuzz's own limit (10 s) for the optimized
            // build CI tests; an unoptimized build runs the evaluator about 15x slower.
            let limit = std::time::Duration::from_secs(if cfg!(debug_assertions) { 150 } else { 10 });
            assert!(took < limit, "{}: {} took {took:?}", t.name, e.path().display());
            ran += 1;
        }
    }
    assert!(ran > 0, "no regression inputs under {}", dir.display());
}

#[test]
fn generated_inputs_run() {
    for (k, t) in targets().iter().enumerate() {
        let config = Config { cases: 200, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[k as u8 + 1; 32]));
        let strategy = mutate::inputs(t.seeds(), t.dictionary);
        let run = t.run;
        if let Err(e) = runner.run(&strategy, |input| {
            run(&input);
            Ok(())
        }) {
            panic!("{}: {e}", t.name);
        }
    }
}
