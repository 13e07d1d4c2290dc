//! Global and local secondary indexes: definitions, key validation on writes, and
//! Query/Scan with `IndexName`. Index entries are derived from the table's items at
//! read time, so an index read costs a pass over the table (or, for a local index,
//! over one partition).

use crate::expr::{self, Cond};
use crate::ops::{key_condition, KeyCond, KeyDef};
use crate::value::{item_size, item_to_json, AttrValue, Item, KeyVal};
use crate::{DynamoError, Index, IndexProjection, KeyType, Table};
use serde_json::{json, Map, Value};

fn key_of(item: &Item, def: &(String, KeyType)) -> Option<KeyVal> {
    let v = item.get(&def.0)?;
    let k = v.as_key()?;
    let ok = matches!((def.1, &k), (KeyType::S, KeyVal::S(_)) | (KeyType::N, KeyVal::N(_)) | (KeyType::B, KeyVal::B(_)));
    ok.then_some(k)
}

impl Index {
    pub(crate) fn keydef(&self) -> KeyDef {
        KeyDef { hash: self.hash.clone(), range: self.range.clone() }
    }

    fn key_attrs(&self) -> Vec<&(String, KeyType)> {
        let mut v = vec![&self.hash];
        if let Some(r) = &self.range {
            v.push(r);
        }
        v
    }

    /// The index entry for an item: None when the item lacks an index key.
    fn entry(&self, table: &Table, item: &Item) -> Option<(KeyVal, Option<KeyVal>)> {
        let h = key_of(item, &self.hash)?;
        let r = match &self.range {
            Some(r) => Some(key_of(item, r)?),
            None => None,
        };
        let _ = table;
        Some((h, r))
    }

    /// The attributes the index holds for an item.
    pub(crate) fn project(&self, table: &Table, item: &Item) -> Item {
        match &self.projection {
            IndexProjection::All => item.clone(),
            p => {
                let mut out = Item::new();
                let mut keep: Vec<&str> = table.key_names_pub();
                keep.extend(self.key_attrs().iter().map(|k| k.0.as_str()));
                if let IndexProjection::Include(extra) = p {
                    keep.extend(extra.iter().map(|s| s.as_str()));
                }
                for k in keep {
                    if let Some(v) = item.get(k) {
                        out.insert(k.to_string(), v.clone());
                    }
                }
                out
            }
        }
    }
}

/// Validates the index key attributes of an item about to be written.
pub(crate) fn check_index_keys(table: &Table, item: &Item) -> Result<(), DynamoError> {
    for ix in &table.indexes {
        for (name, t) in ix.key_attrs() {
            let Some(v) = item.get(name) else { continue };
            let ok = matches!((t, v), (KeyType::S, AttrValue::S(_)) | (KeyType::N, AttrValue::N(_)) | (KeyType::B, AttrValue::B(_)));
            if !ok {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {} Actual: {} IndexName: {}",
                    t.name(),
                    v.type_name(),
                    ix.name
                )));
            }
            if matches!(v, AttrValue::S(s) if s.is_empty()) || matches!(v, AttrValue::B(b) if b.is_empty()) {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {name}",
                    if matches!(v, AttrValue::S(_)) { "string" } else { "binary" },
                    ix.name
                )));
            }
        }
    }
    Ok(())
}

fn ix_err(field: &str, i: usize, msg: &str) -> DynamoError {
    DynamoError::validation(format!("1 validation error detected: Value null at '{field}.{i}.member.{msg}' failed to satisfy constraint: Member must not be null"))
}

/// Parses GlobalSecondaryIndexes / LocalSecondaryIndexes of a CreateTable request.
pub(crate) fn parse_indexes(
    req: &Value,
    defs: &[(String, KeyType)],
    table_hash: &str,
    table_range: Option<&str>,
    table_name: &str,
    provisioned: bool,
) -> Result<Vec<Index>, DynamoError> {
    let mut out: Vec<Index> = Vec::new();
    for (member, global) in [("GlobalSecondaryIndexes", true), ("LocalSecondaryIndexes", false)] {
        let list = match req.get(member) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(a)) => a,
            Some(_) => return Err(DynamoError::serialization("Expected list or null")),
        };
        let field = if global { "globalSecondaryIndexes" } else { "localSecondaryIndexes" };
        if list.is_empty() {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: List of {member} is empty"
            )));
        }
        if !global && table_range.is_none() {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        }
        for (i, ix) in list.iter().enumerate() {
            let n = i + 1;
            let name = ix.get("IndexName").and_then(Value::as_str).ok_or_else(|| ix_err(field, n, "indexName"))?;
            let ks = ix.get("KeySchema").and_then(Value::as_array).ok_or_else(|| ix_err(field, n, "keySchema"))?;
            let proj = ix.get("Projection").ok_or_else(|| ix_err(field, n, "projection"))?;
            if name.len() < 3 || name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{name}' at '{field}.{n}.member.indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
                )));
            }
            if out.iter().any(|o| o.name == name) {
                return Err(DynamoError::validation(format!("One or more parameter values were invalid: Duplicate index name: {name}")));
            }
            let mut keys: Vec<(String, String)> = Vec::new();
            for k in ks {
                let an = k.get("AttributeName").and_then(Value::as_str).unwrap_or_default();
                let kt = k.get("KeyType").and_then(Value::as_str).unwrap_or_default();
                keys.push((an.to_string(), kt.to_string()));
            }
            if keys.is_empty() || keys.len() > 2 || keys[0].1 != "HASH" || keys.get(1).is_some_and(|k| k.1 != "RANGE") {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Invalid KeySchema for index: {name}"
                )));
            }
            let find = |a: &str| defs.iter().find(|d| d.0 == a).map(|d| d.1);
            let mut typed = Vec::new();
            for (a, _) in &keys {
                match find(a) {
                    Some(t) => typed.push((a.clone(), t)),
                    None => {
                        let names: Vec<&str> = defs.iter().map(|d| d.0.as_str()).collect();
                        return Err(DynamoError::validation(format!(
                            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{a}], AttributeDefinitions: [{}]",
                            names.join(", ")
                        )));
                    }
                }
            }
            if !global {
                if typed.len() != 2 {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: Index KeySchema does not have a range key for index: {name}"
                    )));
                }
                if typed[0].0 != table_hash {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {}, table hash key: {table_hash}",
                        typed[0].0
                    )));
                }
            }
            let ptype = proj.get("ProjectionType").and_then(Value::as_str).unwrap_or("");
            let non_key: Option<Vec<String>> = proj
                .get("NonKeyAttributes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect());
            let projection = match (ptype, &non_key) {
                ("ALL", None) => IndexProjection::All,
                ("KEYS_ONLY", None) => IndexProjection::KeysOnly,
                ("INCLUDE", Some(nk)) if !nk.is_empty() => IndexProjection::Include(nk.clone()),
                ("INCLUDE", _) => {
                    return Err(DynamoError::validation(
                        "One or more parameter values were invalid: NonKeyAttributes must be specified and not empty when ProjectionType is INCLUDE",
                    ))
                }
                ("ALL" | "KEYS_ONLY", Some(_)) => {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: ProjectionType is {ptype}, but NonKeyAttributes is specified"
                    )))
                }
                _ => {
                    return Err(DynamoError::validation(format!(
                        "1 validation error detected: Value '{ptype}' at '{field}.{n}.member.projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
                    )))
                }
            };
            let pt = ix.get("ProvisionedThroughput");
            if global && provisioned && pt.is_none() {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {name}"
                )));
            }
            if global && !provisioned && pt.is_some() {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
                )));
            }
            let mut d = Map::new();
            d.insert("IndexName".into(), json!(name));
            d.insert("KeySchema".into(), Value::Array(keys.iter().map(|(a, t)| json!({"AttributeName": a, "KeyType": t})).collect()));
            d.insert("Projection".into(), proj.clone());
            if global {
                d.insert("IndexStatus".into(), json!("ACTIVE"));
                d.insert("ProvisionedThroughput".into(), provisioned_throughput(pt));
            }
            d.insert("IndexSizeBytes".into(), json!(0));
            d.insert("ItemCount".into(), json!(0));
            d.insert("IndexArn".into(), json!(format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table_name}/index/{name}")));
            out.push(Index {
                name: name.to_string(),
                global,
                hash: typed[0].clone(),
                range: typed.get(1).cloned(),
                projection,
                description: Value::Object(d),
            });
        }
    }
    Ok(out)
}

/// Index descriptions with live counts, grouped as DynamoDB describes them.
/// The `ProvisionedThroughput` of a table's or index's description: the units `pt` (the
/// request's `ProvisionedThroughput`) gives, 0 for those it does not.
pub(crate) fn provisioned_throughput(pt: Option<&Value>) -> Value {
    let units = |k: &str| pt.and_then(|p| p.get(k)).cloned().unwrap_or(json!(0));
    json!({"NumberOfDecreasesToday": 0, "ReadCapacityUnits": units("ReadCapacityUnits"), "WriteCapacityUnits": units("WriteCapacityUnits")})
}

pub(crate) fn describe_indexes(table: &Table, d: &mut Map<String, Value>) {
    let mut gsi = Vec::new();
    let mut lsi = Vec::new();
    for ix in &table.indexes {
        let mut count = 0usize;
        let mut size = 0usize;
        for item in table.data.values().flat_map(|p| p.values()) {
            if ix.entry(table, item).is_some() {
                count += 1;
                size += item_size(&ix.project(table, item));
            }
        }
        let mut desc = ix.description.clone();
        if let Value::Object(m) = &mut desc {
            m.insert("IndexSizeBytes".into(), json!(size));
            m.insert("ItemCount".into(), json!(count));
        }
        if ix.global {
            gsi.push(desc);
        } else {
            lsi.push(desc);
        }
    }
    if !gsi.is_empty() {
        d.insert("GlobalSecondaryIndexes".into(), Value::Array(gsi));
    }
    if !lsi.is_empty() {
        d.insert("LocalSecondaryIndexes".into(), Value::Array(lsi));
    }
}

/// One index entry, owned.
pub(crate) struct Row {
    ih: KeyVal,
    ir: Option<KeyVal>,
    th: KeyVal,
    tr: Option<KeyVal>,
    /// The attributes returned (the index projection, or the whole item).
    item: Item,
}

impl Row {
    fn order_key(&self) -> (&Option<KeyVal>, &KeyVal, &Option<KeyVal>) {
        (&self.ir, &self.th, &self.tr)
    }
}

/// Options of an index read.
pub(crate) struct IndexRead<'a> {
    pub index: &'a Index,
    pub forward: bool,
    pub fetch_all: bool,
}

/// Builds the index entries in index order (hash, range, then the table key), for one
/// index hash value (Query) or all of them (Scan).
pub(crate) fn rows(table: &Table, read: &IndexRead, kc: Option<&KeyCond>) -> Vec<Row> {
    let ix = read.index;
    let mut rows: Vec<Row> = Vec::new();
    for (th, part) in &table.data {
        for (tr, item) in part {
            let Some((ih, ir)) = ix.entry(table, item) else { continue };
            if let Some(kc) = kc {
                if ih != kc.hash || !kc.sort_matches(&ir) {
                    continue;
                }
            }
            let returned = if read.fetch_all { item.clone() } else { ix.project(table, item) };
            rows.push(Row { ih, ir, th: th.clone(), tr: tr.clone(), item: returned });
        }
    }
    rows.sort_by(|a, b| a.ih.cmp(&b.ih).then_with(|| a.order_key().cmp(&b.order_key())));
    if !read.forward {
        rows.reverse();
    }
    rows
}

/// The key condition of an index Query.
pub(crate) fn index_key_condition(ix: &Index, c: &Cond) -> Result<KeyCond, DynamoError> {
    key_condition(&ix.keydef(), c)
}

/// Position after the ExclusiveStartKey, which must name the table and index keys.
pub(crate) fn start_position(table: &Table, ix: &Index, rows: &[Row], esk: &Item, forward: bool) -> Result<usize, DynamoError> {
    let invalid = || DynamoError::validation("The provided starting key is invalid: The provided key element does not match the schema");
    let mut names: Vec<&str> = table.key_names_pub();
    for k in ix.key_attrs() {
        if !names.contains(&k.0.as_str()) {
            names.push(k.0.as_str());
        }
    }
    if esk.len() != names.len() || names.iter().any(|n| !esk.contains_key(*n)) {
        return Err(invalid());
    }
    let th = key_of(esk, &table.hash).ok_or_else(invalid)?;
    let tr = match &table.range {
        Some(r) => Some(key_of(esk, r).ok_or_else(invalid)?),
        None => None,
    };
    let ih = key_of(esk, &ix.hash).ok_or_else(invalid)?;
    let ir = match &ix.range {
        Some(r) => Some(key_of(esk, r).ok_or_else(invalid)?),
        None => None,
    };
    let target = (&ih, (&ir, &th, &tr));
    Ok(rows
        .iter()
        .position(|r| {
            let k = (&r.ih, r.order_key());
            if forward {
                k > target
            } else {
                k < target
            }
        })
        .unwrap_or(rows.len()))
}

/// Reads index rows into a page: the same Limit / 1 MB / filter rules as the table.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_page(
    table: &Table,
    ix: &Index,
    rows: &[Row],
    start: usize,
    limit: Option<usize>,
    count_only: bool,
    filter: Option<&Cond>,
    projection: Option<&Vec<expr::Path>>,
) -> (Value, usize) {
    let mut items = Vec::new();
    let (mut count, mut scanned, mut size) = (0usize, 0usize, 0usize);
    let mut last: Option<&Row> = None;
    let mut stopped = false;
    for row in &rows[start.min(rows.len())..] {
        let sz = item_size(&row.item);
        if scanned > 0 && size + sz > crate::ops::PAGE_SIZE {
            stopped = true;
            break;
        }
        size += sz;
        scanned += 1;
        last = Some(row);
        if filter.is_none_or(|f| expr::eval_cond(f, &row.item)) {
            count += 1;
            if !count_only {
                items.push(match projection {
                    Some(p) => item_to_json(&expr::project(&row.item, p)),
                    None => item_to_json(&row.item),
                });
            }
        }
        if limit.is_some_and(|l| scanned >= l) || size >= crate::ops::PAGE_SIZE {
            stopped = true;
            break;
        }
    }
    let mut m = Map::new();
    m.insert("Count".into(), json!(count));
    if !count_only {
        m.insert("Items".into(), Value::Array(items));
    }
    if let (true, Some(r)) = (stopped, last) {
        let mut k = Item::new();
        k.insert(table.hash.0.clone(), r.th.to_attr());
        if let (Some(rn), Some(rv)) = (&table.range, &r.tr) {
            k.insert(rn.0.clone(), rv.to_attr());
        }
        k.insert(ix.hash.0.clone(), r.ih.to_attr());
        if let (Some(rn), Some(rv)) = (&ix.range, &r.ir) {
            k.insert(rn.0.clone(), rv.to_attr());
        }
        m.insert("LastEvaluatedKey".into(), item_to_json(&k));
    }
    m.insert("ScannedCount".into(), json!(scanned));
    (Value::Object(m), size)
}

