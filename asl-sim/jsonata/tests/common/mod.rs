//! Shared case runner: the comparison rules of /work/shared/jsonata/run.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;

pub fn num_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    let ai = a.is_i64() || a.is_u64();
    let bi = b.is_i64() || b.is_u64();
    if ai && bi {
        return a == b;
    }
    let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    if x == y {
        return true;
    }
    (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
}

pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_equal(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).map(|w| json_equal(v, w)).unwrap_or(false))
        }
        _ => a == b,
    }
}

pub fn multiset_equal(e: &Value, a: &Value) -> bool {
    let (Value::Array(e), Value::Array(a)) = (e, a) else { return json_equal(e, a) };
    if e.len() != a.len() {
        return false;
    }
    let mut left: Vec<&Value> = a.iter().collect();
    for item in e {
        match left.iter().position(|c| json_equal(item, c)) {
            Some(i) => {
                left.remove(i);
            }
            None => return false,
        }
    }
    true
}

pub enum Verdict {
    Pass,
    Fail(String),
    Crash(String),
}

pub fn run_case(case: &Value) -> Verdict {
    let expr = case["expr"].as_str().unwrap_or("").to_string();
    let data = case.get("data").cloned();
    let bindings = case.get("bindings").and_then(|b| b.as_object().cloned()).unwrap_or_default();
    let outcome = std::panic::catch_unwind(move || {
        let mut rnd = {
            let mut s: u64 = 0x1234_5678;
            move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64
            }
        };
        let mut env = jsonata::Env { bindings: &bindings, now_millis: 1_700_000_000_000, random: &mut rnd };
        jsonata::parse(&expr).and_then(|e| e.evaluate(data.as_ref(), &mut env))
    });
    let actual = match outcome {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Verdict::Crash(format!("panic: {}", msg));
        }
        Ok(a) => a,
    };
    let exp = &case["expected"];
    let ok = if let Some(r) = exp.get("result") {
        match &actual {
            Ok(Some(v)) => {
                if case.get("unordered").and_then(|u| u.as_bool()).unwrap_or(false) {
                    multiset_equal(r, v)
                } else {
                    json_equal(r, v)
                }
            }
            _ => false,
        }
    } else if exp.get("undefined").is_some() {
        matches!(actual, Ok(None))
    } else {
        let code = exp.get("code").and_then(|c| c.as_str()).unwrap_or("");
        matches!(&actual, Err(e) if e.code == code)
    };
    if ok {
        Verdict::Pass
    } else {
        let got = match &actual {
            Ok(Some(v)) => format!("result {}", v),
            Ok(None) => "undefined".to_string(),
            Err(e) => format!("error {}", e),
        };
        let mut g = got;
        g.truncate(300);
        Verdict::Fail(format!("expected {} got {}", exp, g))
    }
}

/// Runs every `<group>/<case>.json` under `dir`; returns (group, pass, fail, crash, failures).
pub fn run_dir(dir: &Path, filter: Option<&str>) -> Vec<(String, usize, usize, usize, Vec<String>)> {
    let mut groups: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    groups.sort();
    let mut out = vec![];
    for g in groups {
        if !g.is_dir() {
            continue;
        }
        let gname = g.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(&g).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let (mut p, mut f, mut c, mut fails) = (0, 0, 0, vec![]);
        for file in files {
            if file.extension().map(|x| x != "json").unwrap_or(true) {
                continue;
            }
            let name = format!("{}/{}", gname, file.file_stem().unwrap().to_string_lossy());
            if let Some(flt) = filter {
                if !name.contains(flt) {
                    continue;
                }
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let case: Value = serde_json::from_str(&text).unwrap();
            let t0 = std::time::Instant::now();
            let verdict = run_case(&case);
            let dt = t0.elapsed();
            if dt.as_millis() > 500 {
                println!("    slow: {} took {:?}", name, dt);
            }
            match verdict {
                Verdict::Pass => p += 1,
                Verdict::Fail(m) => {
                    f += 1;
                    fails.push(format!("{} | {} | {}", name, case["expr"].as_str().unwrap_or("").replace('\n', " "), m));
                }
                Verdict::Crash(m) => {
                    c += 1;
                    fails.push(format!("CRASH {} | {} | {}", name, case["expr"], m));
                }
            }
        }
        out.push((gname, p, f, c, fails));
    }
    out
}
