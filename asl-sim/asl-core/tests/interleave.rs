//! `ExecutionConfig::interleave`: the seed chooses how Parallel branches and Map
//! iterations interleave; each seed replays; the results never depend on it.

use asl_core::engine::{self, ExecutionConfig, NoServices, Status, VirtualClock};
use serde_json::{json, Value};
use std::collections::HashSet;

const DEF: &str = r#"{
  "StartAt": "P",
  "States": {
    "P": {
      "Type": "Parallel",
      "Branches": [
        {"StartAt": "A1", "States": {"A1": {"Type": "Pass", "Next": "A2"}, "A2": {"Type": "Pass", "Next": "A3"}, "A3": {"Type": "Pass", "Result": [1, 2, 3], "End": true}}},
        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Next": "B2"}, "B2": {"Type": "Pass", "Next": "B3"}, "B3": {"Type": "Pass", "Result": "b", "End": true}}}
      ],
      "Next": "M"
    },
    "M": {
      "Type": "Map",
      "ItemsPath": "$[0]",
      "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}, "Y": {"Type": "Pass", "End": true}}},
      "End": true
    }
  }
}"#;

fn run(interleave: Option<u64>) -> (Value, Vec<String>) {
    let (def, diags) = asl_core::load_definition(DEF, &Default::default());
    let def = def.unwrap_or_else(|| panic!("{diags:?}"));
    let config = ExecutionConfig { interleave, ..Default::default() };
    let mut clock = VirtualClock { now: 0 };
    let out = engine::run(&def, json!(["xyz"]), &config, &mut NoServices, &mut clock, false);
    assert_eq!(out.status, Status::Succeeded, "{out:?}");
    (out.end.output.unwrap_or(Value::Null), out.path)
}

#[test]
fn without_interleave_each_branch_runs_to_its_end_in_order() {
    let (out, path) = run(None);
    assert_eq!(out, json!([1, 2, 3]));
    assert_eq!(path, ["P", "A1", "A2", "A3", "B1", "B2", "B3", "M", "X", "Y", "X", "Y", "X", "Y"]);
}

#[test]
fn seeds_choose_the_order_replay_it_and_never_change_the_result() {
    let mut orders = HashSet::new();
    for seed in 0..64 {
        let (out, path) = run(Some(seed));
        assert_eq!(out, json!([1, 2, 3]), "seed {seed}");
        // Each branch still runs its states in order.
        let a: Vec<_> = path.iter().filter(|s| s.starts_with('A')).collect();
        let b: Vec<_> = path.iter().filter(|s| s.starts_with('B')).collect();
        assert_eq!(a, ["A1", "A2", "A3"]);
        assert_eq!(b, ["B1", "B2", "B3"]);
        assert_eq!(run(Some(seed)).1, path, "seed {seed} replays");
        orders.insert(path);
    }
    // Interleavings, not only the two sequential orders.
    assert!(orders.len() >= 6, "only {} orders: {orders:?}", orders.len());
    assert!(orders.iter().any(|p| p.iter().position(|s| s == "B1") < p.iter().position(|s| s == "A3")));
    // Map iterations interleave too: some order starts a second X before the first Y.
    assert!(orders.iter().any(|p| p[8..] != ["X", "Y", "X", "Y", "X", "Y"]));
}
