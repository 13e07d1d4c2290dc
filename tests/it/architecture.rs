//! The crate map of ARCHITECTURE.md, checked: each workspace crate depends only on
//! crates of lower layers, and the pure crates (the language and the service
//! emulations) pull no I/O or async crate, not even transitively. Read from
//! `cargo metadata`, i.e. from the dependency graph cargo actually resolves.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The layers of ARCHITECTURE.md ("Crates"). A crate may depend on crates of lower
/// layers only. New crates must be placed here (the test names any it does not know).
const LAYERS: &[(&str, u8)] = &[
    // 0: vocabulary shared by everything.
    ("asl-aws", 0),
    // The services' case-file runner (a dev-dependency only; serde_json alone).
    ("asl-cases", 0),
    // 1: JSONata (its dates on asl-aws's calendar).
    ("jsonata", 1),
    // 2: the language and the pure service emulations.
    ("asl-core", 2),
    ("asl-dynamodb", 2),
    ("asl-s3", 2),
    ("asl-eventbridge", 2),
    ("asl-sqs", 2),
    ("asl-sns", 2),
    ("asl-item-reader", 2),
    ("asl-http-task", 2),
    // 3: the world behind Task states, and the pictures.
    ("asl-world", 3),
    ("asl-store", 3),
    ("asl-viz", 3),
    ("asl-handler", 2),
    // 4: the drivers.
    ("asl-testing", 4),
    ("asl-serve", 4),
    // 5: the binaries and the test crates.
    ("asl-sim", 5),
    ("presign", 5),
    ("asl-tests", 5),
    ("asl-serve-tests", 5),
    ("asl-fuzz", 5),
];

/// Crates that must stay pure: no clock, files, network or async runtime of their own.
const PURE: &[&str] = &["asl-aws", "jsonata", "asl-core", "asl-dynamodb", "asl-s3", "asl-eventbridge", "asl-sqs", "asl-sns", "asl-item-reader"];

/// Crates whose presence in a pure crate's dependency closure means I/O or async.
fn is_io_crate(name: &str) -> bool {
    const IO: &[&str] = &[
        "tokio", "mio", "hyper", "hyper-util", "h2", "socket2", "async-std", "smol", "rusqlite", "libsqlite3-sys",
        "reqwest", "ureq", "rustls", "aws-config", "lambda_runtime",
    ];
    IO.contains(&name) || name.starts_with("aws-sdk-") || name.starts_with("aws-smithy-")
}

struct Graph {
    /// package id → package name
    names: BTreeMap<String, String>,
    /// package id → ids of its normal and build dependencies (not dev-dependencies)
    deps: BTreeMap<String, Vec<String>>,
    workspace: BTreeSet<String>,
}

/// The host's target triple: the graph is resolved for the platform being built, so
/// cargo needs no manifest of another platform's crates (and no network).
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc).arg("-vV").output().expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn graph() -> &'static Graph {
    static GRAPH: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
    GRAPH.get_or_init(load_graph)
}

fn load_graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = super::root().join("Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host_triple(), "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let names = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap_or_default().to_string(), p["name"].as_str().unwrap_or_default().to_string()))
        .collect();
    let workspace = meta["workspace_members"].as_array().expect("members").iter().filter_map(Value::as_str).map(str::to_string).collect();
    let mut deps = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve graph") {
        let id = node["id"].as_str().unwrap_or_default().to_string();
        let linked: Vec<String> = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["dep_kinds"].as_array().into_iter().flatten().any(|k| k["kind"].as_str() != Some("dev")))
            .filter_map(|d| d["pkg"].as_str().map(str::to_string))
            .collect();
        deps.insert(id, linked);
    }
    Graph { names, deps, workspace }
}

fn layer(name: &str) -> u8 {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).unwrap_or_else(|| {
        panic!("workspace crate {name} has no layer: place it in LAYERS (tests/it/architecture.rs) and in ARCHITECTURE.md")
    })
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let g = graph();
    let mut wrong = Vec::new();
    for id in &g.workspace {
        let name = &g.names[id];
        for dep in &g.deps[id] {
            if !g.workspace.contains(dep) {
                continue;
            }
            let dep_name = &g.names[dep];
            if layer(dep_name) >= layer(name) {
                wrong.push(format!("{name} (layer {}) depends on {dep_name} (layer {})", layer(name), layer(dep_name)));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies against the layering of ARCHITECTURE.md:\n{}", wrong.join("\n"));
}

#[test]
fn pure_crates_pull_no_io_or_async_crate() {
    let g = graph();
    let mut wrong = Vec::new();
    for id in g.workspace.iter().filter(|id| PURE.contains(&g.names[*id].as_str())) {
        // Everything linked into the crate, transitively.
        let mut seen = BTreeSet::new();
        let mut todo = vec![(id.clone(), vec![g.names[id].clone()])];
        while let Some((at, path)) = todo.pop() {
            for dep in &g.deps[&at] {
                if seen.insert(dep.clone()) {
                    let mut p = path.clone();
                    p.push(g.names[dep].clone());
                    if is_io_crate(&g.names[dep]) {
                        wrong.push(p.join(" → "));
                    }
                    todo.push((dep.clone(), p));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "pure crates that link an I/O or async crate:\n{}", wrong.join("\n"));
}

#[test]
fn only_serve_runs_an_async_runtime() {
    let g = graph();
    let tokio_users: BTreeSet<&str> = g
        .workspace
        .iter()
        .filter(|id| g.deps[*id].iter().any(|d| g.names[d] == "tokio"))
        .map(|id| g.names[id].as_str())
        .collect();
    for name in &tokio_users {
        assert!(
            matches!(*name, "asl-serve" | "asl-serve-tests" | "presign"),
            "{name} depends on tokio directly; only serve (and the Lambda binary) may"
        );
    }
}
