//! Invariants, checked at quiescence over the final state of the services and the
//! executions. The state document that JSONata invariants see:
//!
//! ```json
//! {"tables": {"inventory": [ {"PK": "alice", "SK": "alice/a.txt", "Size": 3, ...} ]},
//!  "buckets": {"files": {"alice/a.txt": {"size": 3, "etag": "..."}}},
//!  "executions": [{"id": "e3", "machine": "...", "status": "SUCCEEDED", "error": null}]}
//! ```
//! Items are plain JSON (DynamoDB's `{"S": ...}` unwrapped, numbers as numbers).

use super::scenario::Invariant;
use super::sched::ExecRecord;
use crate::world::World;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// DynamoDB JSON to plain JSON.
pub fn plain(v: &Value) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    if m.len() == 1 {
        let (k, x) = m.iter().next().expect("one entry");
        match (k.as_str(), x) {
            ("S", Value::String(s)) => return json!(s),
            ("N", Value::String(n)) => {
                return n
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| n.parse::<f64>().map(Value::from))
                    .unwrap_or_else(|_| json!(n));
            }
            ("BOOL", b @ Value::Bool(_)) => return b.clone(),
            ("NULL", _) => return Value::Null,
            ("M", Value::Object(inner)) => return Value::Object(inner.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            ("L", Value::Array(a)) => return Value::Array(a.iter().map(plain).collect()),
            ("SS" | "NS" | "BS" | "B", x) => return x.clone(),
            _ => {}
        }
    }
    Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
}

/// Every item of a table (Scan, all pages), as plain JSON.
pub fn scan(world: &mut World, table: &str) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut req = json!({"TableName": table});
    loop {
        let out = world.dynamodb.call("Scan", &req).map_err(|e| format!("Scan {table}: {}: {}", e.code, e.message))?;
        for it in out.get("Items").and_then(Value::as_array).into_iter().flatten() {
            items.push(plain(it));
        }
        match out.get("LastEvaluatedKey") {
            Some(k) => req["ExclusiveStartKey"] = k.clone(),
            None => break,
        }
    }
    Ok(items)
}

pub fn state_document(world: &mut World, executions: &[ExecRecord]) -> Value {
    let mut tables = Map::new();
    let names: Vec<String> = world
        .dynamodb
        .call("ListTables", &json!({}))
        .ok()
        .and_then(|v| v.get("TableNames").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    for t in names {
        tables.insert(t.clone(), Value::Array(scan(world, &t).unwrap_or_default()));
    }
    let mut buckets = Map::new();
    for (name, b) in &world.s3.buckets {
        let objs: Map<String, Value> = b
            .objects
            .iter()
            .map(|(k, o)| (k.clone(), json!({"size": o.size(), "etag": o.etag.trim_matches('"')})))
            .collect();
        buckets.insert(name.clone(), Value::Object(objs));
    }
    let execs: Vec<Value> = executions
        .iter()
        .map(|e| json!({"id": e.label, "machine": e.machine, "status": e.status, "error": e.end.error, "output": e.end.output}))
        .collect();
    json!({"tables": tables, "buckets": buckets, "executions": execs})
}

fn is_live(item: &Value) -> bool {
    item.get("SK").and_then(Value::as_str) != Some("Quota") && item.get("Live").map(|l| l == &json!(true)).unwrap_or(true)
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The violations of one invariant (empty when it holds).
pub fn check(inv: &Invariant, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match inv {
        Invariant::InventoryMatchesBucket { table, bucket } => {
            let items = doc["tables"][table].as_array().cloned().unwrap_or_default();
            let objects = doc["buckets"][bucket].as_object().cloned().unwrap_or_default();
            let mut live: BTreeMap<String, Value> = BTreeMap::new();
            for it in items.iter().filter(|i| is_live(i)) {
                if let Some(sk) = it.get("SK").and_then(Value::as_str) {
                    live.insert(sk.to_string(), it.clone());
                }
            }
            for (key, o) in &objects {
                match live.get(key) {
                    None => out.push(format!("object {bucket}/{key} ({} bytes) has no live inventory item", o["size"])),
                    Some(it) => {
                        if num(it.get("Size")) != o["size"].as_f64() {
                            out.push(format!("item {key}: Size {} but the object has {} bytes", it.get("Size").unwrap_or(&Value::Null), o["size"]));
                        }
                        if it.get("Etag").and_then(Value::as_str) != o["etag"].as_str() {
                            out.push(format!("item {key}: Etag {} but the object's is {}", it.get("Etag").unwrap_or(&Value::Null), o["etag"]));
                        }
                    }
                }
            }
            for (key, it) in &live {
                if !objects.contains_key(key) {
                    out.push(format!("live inventory item {key} (Size {}) has no object in {bucket}", it.get("Size").unwrap_or(&Value::Null)));
                }
            }
        }
        Invariant::QuotaEqualsSum { table } => {
            let items = doc["tables"][table].as_array().cloned().unwrap_or_default();
            let mut sums: BTreeMap<String, f64> = BTreeMap::new();
            let mut quotas: BTreeMap<String, f64> = BTreeMap::new();
            for it in &items {
                let pk = it.get("PK").and_then(Value::as_str).unwrap_or("").to_string();
                if it.get("SK").and_then(Value::as_str) == Some("Quota") {
                    quotas.insert(pk, num(it.get("TotalSize")).unwrap_or(f64::NAN));
                } else if is_live(it) {
                    *sums.entry(pk).or_default() += num(it.get("Size")).unwrap_or(f64::NAN);
                }
            }
            for (user, sum) in &sums {
                match quotas.get(user) {
                    None if *sum != 0.0 => out.push(format!("user {user}: live files total {sum} bytes but there is no Quota item")),
                    Some(q) if q != sum => out.push(format!("user {user}: Quota TotalSize {q} but the live files total {sum}")),
                    _ => {}
                }
            }
            for (user, q) in &quotas {
                if !sums.contains_key(user) && *q != 0.0 {
                    out.push(format!("user {user}: Quota TotalSize {q} but the user has no live file"));
                }
            }
        }
        Invariant::NoFailedExecutions { allow } => {
            for e in doc["executions"].as_array().into_iter().flatten() {
                let status = e["status"].as_str().unwrap_or("");
                if status == "SUCCEEDED" {
                    continue;
                }
                let error = e["error"].as_str().unwrap_or("");
                if allow.iter().any(|a| a == error || a == status) {
                    continue;
                }
                out.push(format!("execution {} ({}) ended {status} {error}", e["id"].as_str().unwrap_or(""), e["machine"].as_str().unwrap_or("")));
            }
        }
        Invariant::Jsonata { name, expr, text } => {
            let bindings = Map::new();
            let mut rnd = || 0.5;
            let mut env = jsonata::Env { bindings: &bindings, now_millis: 0, random: &mut rnd };
            match expr.evaluate(Some(doc), &mut env) {
                Ok(Some(Value::Bool(true))) => {}
                Ok(Some(Value::Array(a))) if a.is_empty() => {}
                Ok(Some(Value::Array(a))) => out.extend(a.iter().map(|x| format!("{name}: {}", x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())))),
                Ok(Some(Value::String(s))) => out.push(format!("{name}: {s}")),
                Ok(v) => out.push(format!("{name}: `{text}` gave {}", v.map(|v| v.to_string()).unwrap_or("undefined".into()))),
                Err(e) => out.push(format!("{name}: `{text}` failed: {e}")),
            }
        }
    }
    out
}

/// All violations, each prefixed with its invariant's name.
pub fn check_all(invs: &[Invariant], doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for inv in invs {
        for v in check(inv, doc) {
            out.push((inv.name(), v));
        }
    }
    out
}
