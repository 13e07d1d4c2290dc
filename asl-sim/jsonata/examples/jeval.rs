//! Evaluate expressions from the command line: `jeval EXPR [DATA_JSON]`, or one expression
//! per line on stdin (`EXPR`, `EXPR<TAB>DATA_JSON` or `EXPR<TAB>DATA_JSON<TAB>BINDINGS_JSON`).
use std::io::BufRead;

fn run(expr: &str, data: Option<&str>) -> String {
    let (data, bindings) = match data.map(|d| d.split_once('\t')) {
        Some(Some((d, b))) => (Some(d), Some(b)),
        _ => (data, None),
    };
    let data: Option<serde_json::Value> = data.and_then(|d| serde_json::from_str(d).ok());
    let b: serde_json::Map<String, serde_json::Value> =
        bindings.and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
    let mut seed = 42u64;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut env = jsonata::Env { bindings: &b, now_millis: 1_700_000_000_000, random: &mut rnd };
    match jsonata::parse(expr).and_then(|e| e.evaluate(data.as_ref(), &mut env)) {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "undefined".into(),
        Err(e) => format!("ERROR {}", e),
    }
}

fn outcome(expr: &str, data: Option<&str>) -> serde_json::Value {
    let data: Option<serde_json::Value> = data.and_then(|d| serde_json::from_str(d).ok());
    let b = serde_json::Map::new();
    let mut rnd = || 0.5;
    let mut env = jsonata::Env { bindings: &b, now_millis: 1_700_000_000_000, random: &mut rnd };
    match jsonata::parse(expr).and_then(|e| e.evaluate(data.as_ref(), &mut env)) {
        Ok(Some(v)) => serde_json::json!({ "result": v }),
        Ok(None) => serde_json::json!({ "undefined": true }),
        Err(e) => serde_json::json!({ "code": e.code }),
    }
}

fn main() {
    if std::env::var("JEVAL_JSON").is_ok() {
        // one JSON outcome per input line, in the case-file format
        for line in std::io::stdin().lock().lines() {
            let line = line.unwrap();
            let (e, d) = match line.split_once('\t') {
                Some((e, d)) => (e.to_string(), Some(d.to_string())),
                None => (line.clone(), None),
            };
            println!("{}", outcome(&e, d.as_deref()));
        }
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 {
        println!("{}", run(&args[1], args.get(2).map(|s| s.as_str())));
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if line.trim().is_empty() {
            continue;
        }
        let (e, d) = match line.split_once('\t') {
            Some((e, d)) => (e.to_string(), Some(d.to_string())),
            None => (line.clone(), None),
        };
        println!("{:<60} => {}", e, run(&e, d.as_deref()));
    }
}
