//! The crate's own data-driven cases: tests/cases/<group>/<case>.json, in the format of the
//! JSONata suite (expr, data, expected {result | undefined | code}). Regenerate with
//! tests/gen/gen.py after reviewing outcomes.

mod common;

#[test]
fn own_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let res = common::run_dir(&dir, None);
    let mut failures = vec![];
    let mut total = 0;
    for (_, p, f, c, fails) in &res {
        total += p + f + c;
        failures.extend(fails.iter().cloned());
    }
    for f in &failures {
        println!("{}", f);
    }
    assert!(total > 300, "expected the case files to be present");
    assert!(failures.is_empty(), "{} of {} own cases failed", failures.len(), total);
}
