//! An in-memory DynamoDB that speaks DynamoDB JSON requests and answers. No I/O:
//! no files, no clock, no network, no randomness; every malformed request gets
//! DynamoDB's error, never a panic.
//!
//! [`Database::call`] takes one DynamoDB API call as the JSON 1.0 protocol carries it
//! (CreateTable, DeleteTable, DescribeTable, ListTables, GetItem, PutItem, UpdateItem,
//! DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem, TransactGetItems,
//! TransactWriteItems) and answers with DynamoDB's response body or its error.
//! [`step_functions_call`] wraps it the way Step Functions' optimized
//! (`arn:aws:states:::dynamodb:*`) and aws-sdk (`arn:aws:states:::aws-sdk:dynamodb:*`)
//! integrations do.
//!
//! What it models: HASH and HASH+RANGE tables (S, N, B keys) with global and local
//! secondary indexes; condition, filter, key-condition, update and projection
//! expressions with DynamoDB's reserved words, placeholder rules, error texts and
//! error priorities; 38-digit decimal numbers (never floats) in DynamoDB's canonical
//! form; item sizes, the 400 KB item limit and the 1 MB read page; Limit,
//! ExclusiveStartKey/LastEvaluatedKey, Select, Count/ScannedCount; ReturnValues,
//! ReturnValuesOnConditionCheckFailure, ReturnConsumedCapacity; atomic transactions
//! with CancellationReasons; batch calls (nothing is ever left unprocessed).
//!
//! Deliberate differences: tables are ACTIVE at once (CreateTable answers CREATING,
//! DescribeTable ACTIVE); `CreationDateTime` is 0 (no clock); Scan returns partitions
//! in hash-key order, not DynamoDB's hash order; request ids are derived from a call
//! counter; index reads scan the table (correct, but O(table)); the legacy parameters
//! (AttributesToGet, Expected, ConditionalOperator, KeyConditions, QueryFilter,
//! ScanFilter, AttributeUpdates) are translated into expressions, so their rarer
//! validation messages are approximations; expressions nested more than 100 levels
//! deep are refused as a syntax error; TransactWriteItems ClientRequestTokens never
//! expire (DynamoDB forgets them after 10 minutes).

#![allow(clippy::result_large_err)] // DynamoError is the public error type; its size is part of the API

mod attrmap;
pub mod decimal;
pub mod expr;
mod index;
mod legacy;
mod ops;
mod restore;
mod sfn;
mod ttl;
pub mod value;

use serde_json::Value;
use std::collections::BTreeMap;
use value::{Item, KeyVal};

pub use restore::{DecodedItem, ItemDecoder};
pub use sfn::{step_functions_call, IntegrationStyle};

/// An error as DynamoDB returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamoError {
    /// "ValidationException", "ConditionalCheckFailedException", ...
    pub code: String,
    pub message: String,
    /// The HTTP status DynamoDB uses.
    pub status: u16,
    /// Extra members of the error body: `CancellationReasons`, or `Item` for
    /// `ReturnValuesOnConditionCheckFailure`.
    pub extra: Option<Value>,
}

impl DynamoError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        DynamoError { code: code.to_string(), message: message.into(), status: 400, extra: None }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        DynamoError::new("ValidationException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        DynamoError::new("SerializationException", message)
    }

    /// The `__type` DynamoDB puts in the error body.
    pub fn type_name(&self) -> String {
        match self.code.as_str() {
            "ValidationException" => "com.amazon.coral.validate#ValidationException".to_string(),
            "SerializationException" | "UnknownOperationException" => format!("com.amazon.coral.service#{}", self.code),
            c => format!("com.amazonaws.dynamodb.v20120810#{c}"),
        }
    }

    /// The JSON error body as DynamoDB sends it.
    pub fn to_body(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("__type".into(), Value::String(self.type_name()));
        if let Some(Value::Object(extra)) = &self.extra {
            for (k, v) in extra {
                m.insert(k.clone(), v.clone());
            }
        }
        let key = if self.code == "SerializationException" { "Message" } else { "message" };
        m.insert(key.into(), Value::String(self.message.clone()));
        Value::Object(m)
    }
}

impl std::fmt::Display for DynamoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for DynamoError {}

#[derive(Clone, Debug, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

pub(crate) type Partition = BTreeMap<Option<KeyVal>, Item>;

/// Which attributes a secondary index holds besides the keys.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum IndexProjection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// A global or local secondary index. Index entries are not stored: queries derive
/// them from the table's items (naive, O(table size) per index read).
#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub name: String,
    pub global: bool,
    pub hash: (String, KeyType),
    pub range: Option<(String, KeyType)>,
    pub projection: IndexProjection,
    pub description: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub hash: (String, KeyType),
    pub range: Option<(String, KeyType)>,
    /// The table description (without the live counters).
    pub description: Value,
    pub data: BTreeMap<KeyVal, Partition>,
    pub indexes: Vec<Index>,
    pub item_count: usize,
    pub size_bytes: usize,
    /// Keys written or deleted since the last [`Database::take_changes`] (when tracking).
    pub dirty: std::collections::BTreeSet<(KeyVal, Option<KeyVal>)>,
    pub track: bool,
}

/// The whole in-memory database.
#[derive(Clone, Debug, Default)]
pub struct Database {
    pub(crate) tables: BTreeMap<String, Table>,
    /// Counts calls; used to derive deterministic request ids.
    pub(crate) requests: u64,
    /// TransactWriteItems ClientRequestTokens seen, with their TransactItems. Without
    /// a clock they never expire (DynamoDB forgets them after 10 minutes).
    pub(crate) tx_tokens: BTreeMap<String, Value>,
    /// Tables with Time to Live enabled, and their TTL attribute (see `ttl.rs`).
    pub(crate) ttl: BTreeMap<String, String>,
    /// Whether writes are recorded for [`Database::take_changes`] (a driver that persists).
    pub(crate) track: bool,
    /// Tables created, deleted or reconfigured since the last [`Database::take_changes`].
    pub(crate) dirty_tables: std::collections::BTreeSet<String>,
}

/// What changed since the last [`Database::take_changes`], for a driver that persists
/// the data: each as its state now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// (table name, its description and TTL attribute) or None when the table was deleted.
    pub tables: Vec<(String, Option<Value>)>,
    /// (table, key in canonical DynamoDB JSON text, the item now in DynamoDB JSON or None when deleted).
    pub items: Vec<(String, String, Option<Value>)>,
}

impl Database {
    pub fn new() -> Self {
        Database::default()
    }

    /// One DynamoDB API call: `operation` is the X-Amz-Target action name
    /// ("PutItem", "CreateTable", ...), `request` the JSON body. Returns the JSON body
    /// DynamoDB answers.
    pub fn call(&mut self, operation: &str, request: &Value) -> Result<Value, DynamoError> {
        self.requests += 1;
        if !request.is_object() {
            return Err(DynamoError::serialization("Start of structure or map found where not expected."));
        }
        // the full X-Amz-Target form is accepted too
        let operation = operation.strip_prefix("DynamoDB_20120810.").unwrap_or(operation);
        match operation {
            "CreateTable" => self.create_table(request),
            "DeleteTable" => self.delete_table(request),
            "DescribeTable" => self.describe_table(request),
            "ListTables" => self.list_tables(request),
            "GetItem" => self.get_item(request),
            "PutItem" => self.put_item(request),
            "UpdateItem" => self.update_item(request),
            "DeleteItem" => self.delete_item(request),
            "Query" => self.query(request),
            "Scan" => self.scan(request),
            "BatchGetItem" => self.batch_get_item(request),
            "BatchWriteItem" => self.batch_write_item(request),
            "TransactGetItems" => self.transact_get_items(request),
            "TransactWriteItems" => self.transact_write_items(request),
            "UpdateTimeToLive" => self.update_time_to_live(request),
            "DescribeTimeToLive" => self.describe_time_to_live(request),
            _ => Err(DynamoError::new("UnknownOperationException", "")),
        }
    }

    /// Starts recording every change for [`Database::take_changes`].
    pub fn track_changes(&mut self) {
        self.track = true;
        for t in self.tables.values_mut() {
            t.track = true;
        }
    }

    /// Records everything as changed (a driver storing the whole state once).
    pub fn mark_all_changed(&mut self) {
        for (name, t) in self.tables.iter_mut() {
            self.dirty_tables.insert(name.clone());
            let keys: Vec<_> = t.data.iter().flat_map(|(h, p)| p.keys().map(move |r| (h.clone(), r.clone()))).collect();
            t.dirty.extend(keys);
        }
    }

    /// The tables and items changed since the last call, as they are now.
    pub fn take_changes(&mut self) -> Changes {
        let mut out = Changes::default();
        for name in std::mem::take(&mut self.dirty_tables) {
            out.tables.push((name.clone(), self.tables.get(&name).map(|t| self.persisted_table(&name, t))));
        }
        for (name, t) in self.tables.iter_mut() {
            if t.dirty.is_empty() {
                continue;
            }
            for key in std::mem::take(&mut t.dirty) {
                let key_text = serde_json::to_string(&value::item_to_json(&t.key_item(&key))).unwrap_or_default();
                let item = t.data.get(&key.0).and_then(|p| p.get(&key.1)).map(value::item_to_json);
                out.items.push((name.clone(), key_text, item));
            }
        }
        out
    }

    /// Records again as changed the tables and items of an earlier [`Database::take_changes`]
    /// (a driver whose commit of them failed): the next call reads their state then. Only
    /// names and keys are used; items of tables deleted since are covered by the deletion.
    pub fn restore_changes(&mut self, c: &Changes) {
        for (name, _) in &c.tables {
            self.dirty_tables.insert(name.clone());
        }
        for (table, key_text, _) in &c.items {
            let Some(t) = self.tables.get_mut(table) else { continue };
            let key = serde_json::from_str::<Value>(key_text).map_err(|e| e.to_string()).and_then(|v| value::parse_item(&v));
            if let Some(k) = key.ok().and_then(|k| t.key_from_item(&k).ok()) {
                t.dirty.insert(k);
            }
        }
    }

    /// A table's description and TTL setting, as [`Database::restore_table`] takes them.
    fn persisted_table(&self, name: &str, t: &Table) -> Value {
        serde_json::json!({ "Table": self.describe(t, "ACTIVE"), "TimeToLiveAttribute": self.ttl.get(name) })
    }

    /// Whether a table exists (DescribeTable would also count every index's items).
    pub fn has_table(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// Recreates a table from what [`Changes::tables`] gave (no items).
    pub fn restore_table(&mut self, persisted: &Value) -> Result<(), String> {
        let desc = persisted.get("Table").ok_or("missing Table")?;
        let req = create_request_from_description(desc);
        self.create_table(&req).map_err(|e| e.to_string())?;
        let name = req.get("TableName").and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(a) = persisted.get("TimeToLiveAttribute").and_then(Value::as_str) {
            self.ttl.insert(name.clone(), a.to_string());
        }
        self.dirty_tables.remove(&name);
        Ok(())
    }

    /// The whole state: every table's description and its items in DynamoDB JSON,
    /// tables by name, items in key order.
    pub fn to_json(&self) -> Value {
        let tables: Vec<Value> = self
            .tables
            .values()
            .map(|t| {
                let items: Vec<Value> =
                    t.data.values().flat_map(|p| p.values()).map(value::item_to_json).collect();
                serde_json::json!({ "Table": self.describe(t, "ACTIVE"), "Items": items })
            })
            .collect();
        serde_json::json!({ "Tables": tables })
    }

    /// A table's items in DynamoDB JSON, in key order (partition key, then sort key;
    /// strings in UTF-8 byte order, numbers numerically). None if there is no such table.
    pub fn items(&self, table: &str) -> Option<Vec<Value>> {
        let t = self.tables.get(table)?;
        Some(t.data.values().flat_map(|p| p.values()).map(value::item_to_json).collect())
    }

    /// Rebuilds a database from [`Database::to_json`] output
    /// (`{"Tables": [{"Table": <description>, "Items": [...]}]}`), or from a fixture
    /// that lists CreateTable requests with their items
    /// (`{"tables": [{"TableName": ..., "KeySchema": ..., ..., "Items": [...]}]}`).
    pub fn from_json(v: &Value) -> Result<Database, String> {
        let mut db = Database::default();
        let tables = v
            .get("Tables")
            .or_else(|| v.get("tables"))
            .and_then(Value::as_array)
            .ok_or("expected a \"Tables\" (or \"tables\") array")?;
        for t in tables {
            let req = match t.get("Table") {
                Some(desc) => create_request_from_description(desc),
                None => {
                    let mut req = t.as_object().ok_or("a table entry must be an object")?.clone();
                    req.remove("Items");
                    Value::Object(req)
                }
            };
            db.create_table(&req).map_err(|e| e.to_string())?;
            let name = req.get("TableName").and_then(Value::as_str).unwrap_or_default().to_string();
            for item in t.get("Items").and_then(Value::as_array).map(|a| a.as_slice()).unwrap_or(&[]) {
                db.call("PutItem", &serde_json::json!({ "TableName": name, "Item": item }))
                    .map_err(|e| format!("table {name}: {e}"))?;
            }
        }
        db.requests = 0;
        Ok(db)
    }

    /// A deterministic 52-character request id for the current call.
    pub(crate) fn request_id(&self) -> String {
        const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut x = self.requests.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        let mut s = String::with_capacity(52);
        for _ in 0..52 {
            x ^= x >> 33;
            x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            x ^= x >> 29;
            s.push(ALPHA[(x % 36) as usize] as char);
        }
        s
    }
}

fn create_request_from_description(desc: &Value) -> Value {
    let mut req = serde_json::Map::new();
    for k in ["TableName", "KeySchema", "AttributeDefinitions"] {
        if let Some(x) = desc.get(k) {
            req.insert(k.into(), x.clone());
        }
    }
    for k in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        if let Some(Value::Array(list)) = desc.get(k) {
            let cleaned: Vec<Value> = list
                .iter()
                .map(|ix| {
                    let mut m = serde_json::Map::new();
                    for f in ["IndexName", "KeySchema", "Projection"] {
                        if let Some(x) = ix.get(f) {
                            m.insert(f.into(), x.clone());
                        }
                    }
                    if let Some(pt) = ix.get("ProvisionedThroughput") {
                        if desc.pointer("/BillingModeSummary/BillingMode").and_then(Value::as_str) != Some("PAY_PER_REQUEST") {
                            m.insert(
                                "ProvisionedThroughput".into(),
                                serde_json::json!({"ReadCapacityUnits": pt.get("ReadCapacityUnits").cloned().unwrap_or(1.into()), "WriteCapacityUnits": pt.get("WriteCapacityUnits").cloned().unwrap_or(1.into())}),
                            );
                        }
                    }
                    Value::Object(m)
                })
                .collect();
            req.insert(k.into(), Value::Array(cleaned));
        }
    }
    let billing = desc.pointer("/BillingModeSummary/BillingMode").and_then(Value::as_str).unwrap_or("PROVISIONED");
    req.insert("BillingMode".into(), Value::String(billing.to_string()));
    if billing != "PAY_PER_REQUEST" {
        let pt = desc.get("ProvisionedThroughput").cloned().unwrap_or(Value::Null);
        req.insert(
            "ProvisionedThroughput".into(),
            serde_json::json!({
                "ReadCapacityUnits": pt.get("ReadCapacityUnits").cloned().unwrap_or(1.into()),
                "WriteCapacityUnits": pt.get("WriteCapacityUnits").cloned().unwrap_or(1.into()),
            }),
        );
    }
    Value::Object(req)
}
