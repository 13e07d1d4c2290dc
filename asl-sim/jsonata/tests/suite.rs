//! Runs the JSONata project's own test suite (not part of this repository) from
//! ../../../shared/jsonata/cases, with the comparison rules of its `run` script.
//! JSONATA_FILTER=text limits the cases; JSONATA_SHOW=n prints n failures.

mod common;

const FLOOR: f64 = 1.0;

#[test]
fn jsonata_suite() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/jsonata/cases");
    if !dir.is_dir() {
        println!("suite folder {} not found: skipping", dir.display());
        return;
    }
    let filter = std::env::var("JSONATA_FILTER").ok();
    let show: usize = std::env::var("JSONATA_SHOW").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let res = common::run_dir(&dir, filter.as_deref());
    let (mut tp, mut tf, mut tc) = (0, 0, 0);
    let mut shown = 0;
    println!("{:<36} {:>5} {:>5} {:>5}", "group", "pass", "fail", "crash");
    for (g, p, f, c, fails) in &res {
        tp += p;
        tf += f;
        tc += c;
        if f + c > 0 {
            println!("{:<36} {:>5} {:>5} {:>5}", g, p, f, c);
        }
        for m in fails {
            if shown < show {
                println!("    {}", m);
                shown += 1;
            }
        }
    }
    let total = tp + tf + tc;
    println!("jsonata: {} passed, {} failed ({} crashed) of {}", tp, tf + tc, tc, total);
    assert_eq!(tc, 0, "crashes");
    if filter.is_none() && total > 0 {
        let rate = tp as f64 / total as f64;
        assert!(rate >= FLOOR, "pass rate {:.3} below floor {}", rate, FLOOR);
    }
}
