//! `asl-sim simulate`: deterministic simulation of concurrent executions against the
//! embedded services, with duplicated, delayed and reordered event deliveries and service
//! faults; invariants are checked at quiescence, failures are shrunk and replay by seed.
//! See docs/simulation.md.

pub mod invariants;
pub mod scenario;
pub mod sched;

use sched::{Mode, Pool, RunOptions, RunResult, Script, Step};

/// `println!` that ends the process quietly (status 141) when standard output is closed (`| head`).
macro_rules! println {
    () => { println!("") };
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(141); // as if killed by SIGPIPE
        }
    }};
}
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The scenario file (YAML).
    pub scenario: std::path::PathBuf,
    /// The first seed (default: the scenario's `seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many seeded runs (default: the scenario's `runs`, else 100); seeds are consecutive.
    #[arg(long)]
    pub runs: Option<u64>,
    /// Run this one seed again: its full step trace, then the shrunk failure if it fails.
    #[arg(long, conflicts_with_all = ["seed", "runs"])]
    pub replay: Option<u64>,
    /// Succeed (exit 0) only if some run breaks an invariant: for scenarios that show a defect.
    #[arg(long)]
    pub expect_violation: bool,
    /// Do not shrink a failure.
    #[arg(long)]
    pub no_shrink: bool,
    /// Seeds run on this many threads at once (default: the number of CPUs, at most 8).
    /// Each run stays deterministic; the lowest failing seed is reported.
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// One checked run.
pub struct Checked {
    pub seed: u64,
    pub result: RunResult,
    pub violations: Vec<(String, String)>,
}

pub fn check_run(sc: &scenario::Scenario, result: RunResult, seed: u64) -> Checked {
    let doc = {
        let mut w = result.world.lock();
        invariants::state_document(&mut w, &result.executions)
    };
    let mut violations = invariants::check_all(&sc.invariants, &doc);
    if let Some(a) = &result.aborted {
        violations.push(("run-finished".into(), a.clone()));
    }
    Checked { seed, result, violations }
}

pub fn run_seed(sc: &scenario::Scenario, pool: &mut Pool, seed: u64, trace: bool, history: bool) -> Checked {
    let r = sched::run(sc, pool, seed, Mode::Random(seed), &RunOptions { record_history: history, trace });
    check_run(sc, r, seed)
}

pub fn run_script(sc: &scenario::Scenario, pool: &mut Pool, seed: u64, script: &Script, trace: bool, history: bool) -> Checked {
    let r = sched::run(sc, pool, seed, Mode::Scripted(script), &RunOptions { record_history: history, trace });
    check_run(sc, r, seed)
}

/// Shrinks a failing run: fewer operations, fewer duplicates, fewer faults, and a shorter
/// explicit schedule (the rest runs in a fixed order), as long as one of the originally
/// violated invariants still fails. Returns the minimal script and the number of trials.
pub fn shrink(sc: &scenario::Scenario, pool: &mut Pool, failing: &Checked, max_trials: usize) -> (Script, usize) {
    let target: BTreeSet<String> = failing.violations.iter().map(|v| v.0.clone()).collect();
    let mut cur = failing.result.script.clone();
    cur.steps.truncate(failing.result.from_script);
    let mut trials = 0usize;
    let seed = failing.seed;
    let mut attempt = |cand: &Script, trials: &mut usize| -> Option<Script> {
        *trials += 1;
        let c = run_script(sc, pool, seed, cand, false, false);
        if c.violations.iter().any(|v| target.contains(&v.0)) {
            let mut s = c.result.script;
            s.steps.truncate(c.result.from_script);
            Some(s)
        } else {
            None
        }
    };
    loop {
        let mut progress = false;
        // 1. operations
        let mut i = cur.ops.len();
        while i > 0 && trials < max_trials {
            i -= 1;
            if i >= cur.ops.len() {
                continue;
            }
            let mut cand = cur.clone();
            let (idx, _) = cand.ops.remove(i);
            cand.steps.retain(|s| s != &Step::Op(idx));
            if let Some(s) = attempt(&cand, &mut trials) {
                cur = s;
                progress = true;
            }
        }
        // 2. duplicates
        for d in cur.dups.clone() {
            if trials >= max_trials {
                break;
            }
            let mut cand = cur.clone();
            cand.dups.remove(&d);
            if let Some(s) = attempt(&cand, &mut trials) {
                cur = s;
                progress = true;
            }
        }
        // 3. faults
        let mut k = 0;
        while k < cur.steps.len() && trials < max_trials {
            if let Step::Call(l, Some(_)) = &cur.steps[k] {
                let mut cand = cur.clone();
                cand.steps[k] = Step::Call(l.clone(), None);
                if let Some(s) = attempt(&cand, &mut trials) {
                    cur = s;
                    progress = true;
                }
            }
            k += 1;
        }
        // 4. the explicit schedule, in chunks of halving size
        let mut size = (cur.steps.len() / 2).max(1);
        loop {
            let mut start = 0;
            while start < cur.steps.len() && trials < max_trials {
                let end = (start + size).min(cur.steps.len());
                let mut cand = cur.clone();
                cand.steps.drain(start..end);
                match attempt(&cand, &mut trials) {
                    Some(s) if s.steps.len() < cur.steps.len() || s.ops.len() < cur.ops.len() => {
                        cur = s;
                        progress = true;
                    }
                    _ => start = end,
                }
            }
            if size == 1 || trials >= max_trials {
                break;
            }
            size /= 2;
        }
        if !progress || trials >= max_trials {
            break;
        }
    }
    (cur, trials)
}

fn print_history(e: &sched::ExecRecord) {
    println!("  {} = execution {} of {}: {}{}", e.label, e.name, e.machine, e.status, e.end.error.as_ref().map(|x| format!(" {x}")).unwrap_or_default());
    println!("    input: {}", e.input);
    for h in &e.history {
        let ty = h["type"].as_str().unwrap_or("");
        let mut line = format!("    {:>3} {ty}", h["id"]);
        for (k, v) in h.as_object().into_iter().flatten() {
            if let Some(d) = v.as_object() {
                if k.ends_with("EventDetails") {
                    if let Some(n) = d.get("name").and_then(|x| x.as_str()) {
                        line.push_str(&format!(" {n}"));
                    }
                    for f in ["error", "resource"] {
                        if let Some(x) = d.get(f).and_then(|x| x.as_str()) {
                            line.push_str(&format!(" {x}"));
                        }
                    }
                    if ty.ends_with("StateExited") || ty == "TaskSucceeded" || ty == "ExecutionSucceeded" {
                        if let Some(o) = d.get("output").and_then(|x| x.as_str()) {
                            let o: String = if o.chars().count() > 140 { o.chars().take(140).chain("…".chars()).collect() } else { o.to_string() };
                            line.push_str(&format!(" → {o}"));
                        }
                    }
                }
            }
        }
        println!("{line}");
    }
}

/// Prints a failure: the violations, the shrunk schedule and the histories it involves.
pub fn report_failure(sc: &scenario::Scenario, pool: &mut Pool, failing: &Checked, shrink_it: bool) {
    let seed = failing.seed;
    println!("FAILED: seed {seed} breaks {} invariant(s):", failing.violations.iter().map(|v| v.0.as_str()).collect::<BTreeSet<_>>().len());
    for (n, v) in &failing.violations {
        println!("  {n}: {v}");
    }
    let (script, trials) = if shrink_it {
        shrink(sc, pool, failing, 3000)
    } else {
        let mut s = failing.result.script.clone();
        s.steps.truncate(failing.result.from_script);
        (s, 0)
    };
    let minimal = run_script(sc, pool, seed, &script, true, true);
    println!();
    println!(
        "minimal failing run (shrunk in {trials} trials from {} operations and {} steps to {} operations and {} steps):",
        failing.result.script.ops.len(),
        failing.result.script.steps.len(),
        minimal.result.script.ops.len(),
        minimal.result.script.steps.len()
    );
    for line in &minimal.result.trace {
        println!("  {line}");
    }
    println!("violations of the minimal run:");
    for (n, v) in &minimal.violations {
        println!("  {n}: {v}");
    }
    println!("final state of the minimal run:");
    let doc = {
        let mut w = minimal.result.world.lock();
        invariants::state_document(&mut w, &[])
    };
    for (t, items) in doc["tables"].as_object().into_iter().flatten() {
        for it in items.as_array().into_iter().flatten() {
            println!("  table {t}: {it}");
        }
    }
    for (b, objs) in doc["buckets"].as_object().into_iter().flatten() {
        for (k, o) in objs.as_object().into_iter().flatten() {
            println!("  bucket {b}: {k} {o}");
        }
    }
    println!("execution histories:");
    for e in &minimal.result.executions {
        print_history(e);
    }
    println!();
    println!("replay: asl-sim simulate {} --replay {seed}", sc.path.display());
}

pub struct Summary {
    pub runs: u64,
    pub steps: u64,
    pub executions: u64,
    pub faults: u64,
    pub duplicates: u64,
    pub failed: Option<Checked>,
    pub seconds: f64,
}

/// Runs seeds `first..first+runs` on `jobs` threads and reports the lowest failing seed
/// (each thread takes every `jobs`-th seed in order and stops past a known failure).
pub fn explore(sc: &scenario::Scenario, first: u64, runs: u64, jobs: usize) -> Summary {
    use std::sync::atomic::{AtomicU64, Ordering};
    let t0 = Instant::now();
    let jobs = jobs.clamp(1, runs.max(1) as usize);
    let lowest_failure = AtomicU64::new(u64::MAX);
    let end = first.saturating_add(runs);
    let parts: Vec<Summary> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs as u64)
            .map(|k| {
                let lowest_failure = &lowest_failure;
                scope.spawn(move || {
                    let mut pool = Pool::new();
                    let mut s = Summary { runs: 0, steps: 0, executions: 0, faults: 0, duplicates: 0, failed: None, seconds: 0.0 };
                    let mut seed = first + k;
                    while seed < end && seed < lowest_failure.load(Ordering::SeqCst) {
                        let c = run_seed(sc, &mut pool, seed, false, false);
                        s.runs += 1;
                        s.steps += c.result.script.steps.len() as u64;
                        s.executions += c.result.executions.len() as u64;
                        s.duplicates += c.result.script.dups.len() as u64;
                        s.faults += c.result.script.steps.iter().filter(|x| matches!(x, Step::Call(_, Some(_)))).count() as u64;
                        if !c.violations.is_empty() {
                            lowest_failure.fetch_min(seed, Ordering::SeqCst);
                            s.failed = Some(c);
                            break;
                        }
                        seed += jobs as u64;
                    }
                    s
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a simulation thread panicked")).collect()
    });
    let mut s = Summary { runs: 0, steps: 0, executions: 0, faults: 0, duplicates: 0, failed: None, seconds: 0.0 };
    for p in parts {
        s.runs += p.runs;
        s.steps += p.steps;
        s.executions += p.executions;
        s.faults += p.faults;
        s.duplicates += p.duplicates;
        if let Some(c) = p.failed {
            if s.failed.as_ref().is_none_or(|f| c.seed < f.seed) {
                s.failed = Some(c);
            }
        }
    }
    s.seconds = t0.elapsed().as_secs_f64();
    s
}

/// The default number of threads for `explore`.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8)
}

pub fn main(args: SimulateArgs) -> i32 {
    let sc = match scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return 2;
        }
    };
    let mut pool = Pool::new();
    if let Some(seed) = args.replay {
        let c = run_seed(&sc, &mut pool, seed, true, true);
        println!("replay of seed {seed} ({}):", sc.path.display());
        for line in &c.result.trace {
            println!("  {line}");
        }
        println!(
            "{} steps, {} executions: {}",
            c.result.script.steps.len(),
            c.result.executions.len(),
            if c.violations.is_empty() { "every invariant holds" } else { "invariants broken" }
        );
        if c.violations.is_empty() {
            return if args.expect_violation { 1 } else { 0 };
        }
        println!();
        report_failure(&sc, &mut pool, &c, !args.no_shrink);
        return if args.expect_violation { 0 } else { 1 };
    }
    let first = args.seed.unwrap_or(sc.seed);
    let runs = args.runs.unwrap_or(sc.runs);
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    println!("simulate {}: {runs} runs from seed {first} on {jobs} thread(s)", sc.path.display());
    let s = explore(&sc, first, runs, jobs);
    let rate = s.runs as f64 / s.seconds.max(1e-9);
    println!(
        "{} runs, {} steps, {} executions, {} duplicated deliveries, {} injected faults in {:.2} s ({rate:.0} runs/s)",
        s.runs, s.steps, s.executions, s.duplicates, s.faults, s.seconds
    );
    match s.failed {
        None => {
            println!("ok: every invariant held in every run");
            if args.expect_violation {
                println!("error: --expect-violation, but no run broke an invariant");
                1
            } else {
                0
            }
        }
        Some(c) => {
            println!();
            report_failure(&sc, &mut pool, &c, !args.no_shrink);
            if args.expect_violation {
                0
            } else {
                1
            }
        }
    }
}

#[cfg(test)]
mod tests;
