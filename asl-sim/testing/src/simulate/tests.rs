//! Simulation tests over the scenarios in tests/simulation/ (run by `cargo test`, hence by
//! `.ci/run`).

use super::*;
use std::path::PathBuf;

fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/simulation").join(name)
}

fn load(name: &str) -> scenario::Scenario {
    scenario::load(&scenario_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn names(c: &Checked) -> BTreeSet<String> {
    c.violations.iter().map(|v| v.0.clone()).collect()
}

#[test]
fn same_seed_same_run_step_for_step() {
    let sc = load("file-manager.sim.yaml");
    let mut pool = Pool::new();
    for seed in [1u64, 7, 42, 1234] {
        let a = run_seed(&sc, &mut pool, seed, true, true);
        let b = run_seed(&sc, &mut pool, seed, true, true);
        assert_eq!(a.result.trace, b.result.trace, "seed {seed}");
        assert!(a.result.trace.len() > 10);
        let ha: Vec<_> = a.result.executions.iter().map(|e| (e.label.clone(), e.history.clone())).collect();
        let hb: Vec<_> = b.result.executions.iter().map(|e| (e.label.clone(), e.history.clone())).collect();
        assert_eq!(ha, hb, "histories of seed {seed}");
        // The recorded script replays the same run (delays are already in its order).
        let c = run_script(&sc, &mut pool, seed, &a.result.script, true, false);
        let strip = |t: &[String]| -> Vec<String> { t.iter().map(|l| l.split(" (delayed until").next().unwrap_or(l).to_string()).collect() };
        assert_eq!(strip(&a.result.trace), strip(&c.result.trace), "script of seed {seed}");
    }
    let a = run_seed(&sc, &mut pool, 1, true, false);
    let b = run_seed(&sc, &mut pool, 2, true, false);
    assert_ne!(a.result.trace, b.result.trace);
}

/// The acceptance scenario: the fixed update-inventory and delete workflows keep the
/// inventory and the quotas exact over thousands of seeded runs.
#[test]
fn file_manager_invariants_hold_over_2000_seeded_runs() {
    let sc = load("file-manager.sim.yaml");
    let mut pool = Pool::new();
    let s = explore(&sc, 1, 2000, 2);
    if let Some(c) = &s.failed {
        report_failure(&sc, &mut pool, c, true);
        panic!("seed {} breaks {:?}; replay: asl-sim simulate tests/simulation/file-manager.sim.yaml --replay {}", c.seed, names(c), c.seed);
    }
    assert_eq!(s.runs, 2000);
    // The scenario really exercises what it claims to.
    assert!(s.duplicates > 1000 && s.faults > 1000 && s.executions > 20_000, "{} dups {} faults {} execs", s.duplicates, s.faults, s.executions);
}

/// The blog's original workflow under the same scenario is caught, the seed replays the
/// failure, and the shrunk schedule still fails, with fewer operations.
#[test]
fn original_update_inventory_is_caught_and_replays() {
    for file in ["original-update-inventory.sim.yaml", "original-no-faults.sim.yaml"] {
        let sc = load(file);
        let mut pool = Pool::new();
        let s = explore(&sc, 1, 1000, 2);
        let failed = s.failed.unwrap_or_else(|| panic!("{file}: no run broke an invariant"));
        let broken = names(&failed);
        assert!(broken.contains("inventory-matches-bucket") || broken.contains("quota-equals-sum"), "{file}: {broken:?}");
        let again = run_seed(&sc, &mut pool, failed.seed, true, false);
        assert_eq!(again.violations, failed.violations, "{file}: replay of seed {}", failed.seed);
        let (script, _) = shrink(&sc, &mut pool, &failed, 3000);
        let minimal = run_script(&sc, &mut pool, failed.seed, &script, true, false);
        assert!(!minimal.violations.is_empty(), "{file}: the shrunk schedule passes");
        assert!(script.ops.len() <= failed.result.script.ops.len());
        assert!(minimal.result.script.steps.len() <= failed.result.script.steps.len());
    }
}

#[test]
fn original_double_counts_a_duplicated_create() {
    // Without faults and with every event duplicated, the original adds a file's size twice.
    let sc = load("original-no-faults.sim.yaml");
    let mut pool = Pool::new();
    let op = |key: &str, size| scenario::Op { kind: scenario::OpKind::Put { size }, key: key.into() };
    let script = Script {
        ops: vec![(0, op("alice/a.txt", 5))],
        dups: ["e0'".to_string()].into_iter().collect(),
        steps: vec![Step::Op(0), Step::Start("e0".into()), Step::Start("e0'".into()), Step::Call("e0".into(), None), Step::Call("e0'".into(), None)],
    };
    let c = run_script(&sc, &mut pool, 1, &script, true, false);
    assert!(c.violations.iter().any(|v| v.0 == "quota-equals-sum" && v.1.contains("10")), "{:?}\n{}", c.violations, c.result.trace.join("\n"));
}

#[test]
fn faults_have_aws_names_and_retries_absorb_them() {
    let sc = load("faults.sim.yaml");
    let s = explore(&sc, 1, 300, 2);
    assert!(s.failed.is_none(), "{:?}", s.failed.as_ref().map(|c| (c.seed, c.violations.clone())));
    assert!(s.faults > 100);
    // A lost answer after a non-idempotent write is caught.
    let sc = load("faults-lost-answer.sim.yaml");
    let s = explore(&sc, 1, 300, 2);
    let c = s.failed.expect("a lost answer double-counts");
    assert!(names(&c).contains("counted-once"));
}

#[test]
fn fault_error_names_follow_the_integration() {
    let rule = |kind: &str| scenario::FaultRule {
        kind: kind.into(),
        error: None,
        cause: None,
        probability: 1.0,
        steps: vec![],
        services: vec![],
        states: vec![],
        machines: vec![],
        applied: false,
    };
    let name = |kind: &str, res: &str, t: Option<f64>| match sched::fault_error(&rule(kind), res, t, 1) {
        sched::Fault::Error { error, .. } => error,
        sched::Fault::Hang => "hang".into(),
    };
    assert_eq!(name("throttle", "arn:aws:states:::aws-sdk:dynamodb:getItem", None), "DynamoDb.ProvisionedThroughputExceededException");
    assert_eq!(name("throttle", "arn:aws:states:::dynamodb:putItem", None), "DynamoDB.ProvisionedThroughputExceededException");
    assert_eq!(name("5xx", "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", None), "DynamoDb.InternalServerErrorException");
    assert_eq!(name("5xx", "arn:aws:states:::dynamodb:updateItem", None), "DynamoDB.InternalServerError");
    assert_eq!(name("throttle", "arn:aws:states:::aws-sdk:s3:deleteObject", None), "S3.S3Exception");
    assert_eq!(name("5xx", "arn:aws:states:::aws-sdk:s3:deleteObject", None), "S3.S3Exception");
    assert_eq!(name("timeout", "arn:aws:states:::aws-sdk:s3:deleteObject", None), "S3.SdkClientException");
    assert_eq!(name("throttle", "arn:aws:states:::lambda:invoke", None), "Lambda.TooManyRequestsException");
    assert_eq!(name("5xx", "arn:aws:lambda:us-east-1:123456789012:function:f", None), "Lambda.ServiceException");
    assert_eq!(name("timeout", "arn:aws:states:::lambda:invoke", Some(3.0)), "States.Timeout");
    assert_eq!(name("lambda-error", "arn:aws:states:::lambda:invoke", None), "Error");
    assert_eq!(name("hang", "arn:aws:states:::lambda:invoke", None), "hang");
}

#[test]
fn a_hang_without_timeout_leaves_the_execution_running() {
    let sc = load("hang.sim.yaml");
    let mut pool = Pool::new();
    let c = run_seed(&sc, &mut pool, 1, true, true);
    // The fault is injected at step 4 exactly, whatever the seed.
    assert!(c.result.trace.iter().any(|l| l.starts_with("#4 ") && l.contains("FAULT no answer")), "{}", c.result.trace.join("\n"));
    let hung: Vec<_> = c.result.executions.iter().filter(|e| e.status == "RUNNING").collect();
    assert_eq!(hung.len(), 1);
    assert_eq!(hung[0].history.last().and_then(|e| e["type"].as_str()), Some("TaskStarted"));
    assert!(c.violations.iter().any(|v| v.0 == "no-failed-executions" && v.1.contains("RUNNING Hung")));
    // The other execution still ran both of its updates.
    let doc = invariants::state_document(&mut c.result.world.lock(), &[]);
    assert_eq!(doc["tables"]["counters"][0]["n"], 2);
}
