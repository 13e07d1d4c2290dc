//! `asl-fuzz [--seconds N] [--seed N] [--hang-seconds N] [--out DIR] TARGET... | all`
//!
//! Runs each target for N seconds (default 60) on inputs generated from its corpus, then prints
//! executions, executions per second and what failed. A panic is shrunk by proptest to a small
//! input; a case that runs longer than `--hang-seconds` (default 10) is a hang. Both are written
//! to DIR (default `target/fuzz-failures`) and the run exits 1. Memory is bounded from outside
//! (`ulimit -v`, as `.ci/run` does): an OOM ends the process with an allocation failure.

use asl_fuzz::{mutate, target, targets, Target};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The case being run, for the watchdog: when it started, its target, its bytes.
static CURRENT: Mutex<Option<(Instant, &'static str, Vec<u8>)>> = Mutex::new(None);
/// The message of the last panic, caught by the silent hook.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

struct Options {
    seconds: u64,
    seed: u64,
    hang: Duration,
    out: std::path::PathBuf,
    targets: Vec<&'static Target>,
}

fn options() -> Result<Options, String> {
    let mut o = Options { seconds: 60, seed: 0, hang: Duration::from_secs(10), out: "target/fuzz-failures".into(), targets: Vec::new() };
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |what: &str| -> Result<u64, String> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{what} needs a whole number"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = number("--seconds")?,
            "--seed" => seed = Some(number("--seed")?),
            "--hang-seconds" => o.hang = Duration::from_secs(number("--hang-seconds")?),
            "--out" => o.out = args.next().ok_or("--out needs a directory")?.into(),
            "all" => o.targets.extend(targets()),
            "-h" | "--help" => {
                let names: Vec<_> = targets().iter().map(|t| t.name).collect();
                return Err(format!(
                    "usage: asl-fuzz [--seconds N] [--seed N] [--hang-seconds N] [--out DIR] TARGET... | all\ntargets: {}",
                    names.join(", ")
                ));
            }
            name => o.targets.push(target(name).ok_or_else(|| format!("unknown target {name:?} (try --help)"))?),
        }
    }
    if o.targets.is_empty() {
        return Err("name at least one target, or all (try --help)".into());
    }
    // Without --seed each run explores new inputs; the seed is printed so a run can be replayed.
    o.seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    Ok(o)
}

fn save(out: &std::path::Path, name: &str, kind: &str, input: &[u8]) -> std::path::PathBuf {
    let _ = std::fs::create_dir_all(out);
    let path = out.join(format!("{name}-{kind}-{}.txt", std::process::id()));
    if let Err(e) = std::fs::write(&path, input) {
        eprintln!("asl-fuzz: cannot write {}: {e}", path.display());
    }
    path
}

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Panics are the findings: keep their message, print them once (after shrinking).
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = info.to_string();
        }
    }));
    let hang = o.hang;
    let out = o.out.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        let Ok(cur) = CURRENT.lock() else { continue };
        if let Some((started, name, input)) = cur.as_ref() {
            if started.elapsed() > hang {
                let path = save(&out, name, "hang", input);
                eprintln!("asl-fuzz: {name}: HANG: one input ran over {hang:?}; saved as {}", path.display());
                eprintln!("input: {:?}", String::from_utf8_lossy(input));
                std::process::exit(1);
            }
        }
    });
    println!("asl-fuzz: seed {}, {} s per target", o.seed, o.seconds);
    let mut failed = false;
    for (k, t) in o.targets.iter().enumerate() {
        let seeds = t.seeds();
        let strategy = mutate::inputs(seeds.clone(), t.dictionary);
        // A runner runs its `cases` once; each batch gets a fresh runner whose generator is keyed
        // by (seed, target, batch), so a run replays exactly from its seed.
        let runner_for = |batch: u64| {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&o.seed.to_le_bytes());
            key[8] = k as u8;
            key[16..24].copy_from_slice(&batch.to_le_bytes());
            let config = Config { cases: 256, failure_persistence: None, max_shrink_iters: 4096, ..Config::default() };
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
        };
        let mut batch = 0u64;
        let executions = AtomicU64::new(0);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(o.seconds);
        let run = t.run;
        let name = t.name;
        let result = loop {
            if Instant::now() >= deadline {
                break Ok(());
            }
            let mut runner = runner_for(batch);
            batch += 1;
            let r = runner.run(&strategy, |input| {
                if let Ok(mut c) = CURRENT.lock() {
                    *c = Some((Instant::now(), name, input.clone()));
                }
                let outcome = std::panic::catch_unwind(|| run(&input));
                if let Ok(mut c) = CURRENT.lock() {
                    *c = None;
                }
                executions.fetch_add(1, Ordering::Relaxed);
                outcome.map_err(|_| TestCaseError::fail(LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default()))
            });
            match r {
                Ok(()) => {}
                Err(TestError::Fail(why, input)) => break Err((why.to_string(), input)),
                Err(TestError::Abort(why)) => break Err((why.to_string(), Vec::new())),
            }
        };
        let n = executions.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name:>10}: {n} executions in {secs:.1} s ({:.0}/s), {} seeds, {}",
            n as f64 / secs.max(1e-9),
            seeds.len(),
            if result.is_ok() { "no failures" } else { "FAILED" }
        );
        if let Err((why, input)) = result {
            failed = true;
            let path = save(&o.out, name, "crash", &input);
            eprintln!("asl-fuzz: {name}: CRASH: {why}\nminimal input ({} bytes) saved as {}: {:?}", input.len(), path.display(), String::from_utf8_lossy(&input));
        }
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {mib} MiB");
    }
    std::process::exit(i32::from(failed));
}
