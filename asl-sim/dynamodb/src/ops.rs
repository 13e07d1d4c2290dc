//! The DynamoDB operations.

use crate::expr::{self, Cond, Ctx, Path, PathElem, Update};
use crate::value::{item_size, item_to_json, parse_attr, parse_item, AttrValue, Item, KeyVal, SER_PREFIX};
use crate::{Database, DynamoError, KeyType, Table};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

pub(crate) const MAX_ITEM_SIZE: usize = 400 * 1024;
pub(crate) const PAGE_SIZE: usize = 1024 * 1024;

fn not_found() -> DynamoError {
    DynamoError::new("ResourceNotFoundException", "Requested resource not found")
}

/// The error of the table operations (DescribeTable, DeleteTable, TTL) on a missing table.
pub(crate) fn no_table(name: &str) -> DynamoError {
    DynamoError::new("ResourceNotFoundException", format!("Requested resource not found: Table: {name} not found"))
}

fn ccf() -> DynamoError {
    DynamoError::new("ConditionalCheckFailedException", "The conditional request failed")
}

/// Turns an attribute-value parse message into the right error kind.
fn attr_err(msg: String) -> DynamoError {
    match msg.strip_prefix(SER_PREFIX) {
        Some(m) => DynamoError::serialization(m),
        None => DynamoError::validation(msg),
    }
}

// ------------------------------------------------------------ request field access

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Checks required members; DynamoDB reports all missing ones at once.
fn require(req: &Value, fields: &[&str]) -> Result<(), DynamoError> {
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| req.get(**f).is_none_or(Value::is_null))
        .map(|f| format!("Value null at '{}' failed to satisfy constraint: Member must not be null", lower_first(f)))
        .collect();
    validation_errors(missing)
}

/// `Ok` without errors, else one ValidationException listing them all, as DynamoDB does
/// ("2 validation errors detected: ...; ...").
fn validation_errors(errs: Vec<String>) -> Result<(), DynamoError> {
    if errs.is_empty() {
        return Ok(());
    }
    Err(DynamoError::validation(format!(
        "{} validation error{} detected: {}",
        errs.len(),
        if errs.len() > 1 { "s" } else { "" },
        errs.join("; ")
    )))
}

fn get_str<'a>(req: &'a Value, field: &str) -> Result<Option<&'a str>, DynamoError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Bool(_)) => Err(DynamoError::serialization("class java.lang.Boolean can not be converted to an String")),
        Some(Value::Number(_)) => Err(DynamoError::serialization("NUMBER_VALUE can not be converted to a String")),
        Some(Value::Array(_)) => Err(DynamoError::serialization("Start of list found where not expected")),
        Some(Value::Object(_)) => Err(DynamoError::serialization("Start of structure or map found where not expected.")),
    }
}

fn get_bool(req: &Value, field: &str) -> Result<Option<bool>, DynamoError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(DynamoError::serialization(format!("Unexpected value type in payload for {field}"))),
    }
}

fn get_obj<'a>(req: &'a Value, field: &str) -> Result<Option<&'a Map<String, Value>>, DynamoError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(Value::Array(_)) => Err(DynamoError::serialization("Start of list found where not expected")),
        Some(_) => Err(DynamoError::serialization("Expected map or null")),
    }
}

fn get_arr<'a>(req: &'a Value, field: &str) -> Result<Option<&'a Vec<Value>>, DynamoError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(Value::Object(_)) => Err(DynamoError::serialization("Start of structure or map found where not expected.")),
        Some(_) => Err(DynamoError::serialization("Expected list or null")),
    }
}

fn get_int(req: &Value, field: &str) -> Result<Option<i64>, DynamoError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        // Limit, Segment and TotalSegments are Integer members: 32-bit. A number that does not fit
        // (2^64 used to become i64::MAX and pass) is refused when the request is read, like a
        // string is; AWS documents no message for it, this is the JSON deserializer's wording
        // for a token of the wrong kind ("STRING_VALUE cannot be converted to Integer").
        Some(Value::Number(n)) => {
            let whole = n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e18).map(|f| f as i64));
            match whole.and_then(|i| i32::try_from(i).ok()) {
                Some(i) => Ok(Some(i64::from(i))),
                None => Err(DynamoError::serialization("NUMBER_VALUE cannot be converted to Integer")),
            }
        }
        Some(Value::String(_)) => Err(DynamoError::serialization("class java.lang.String can not be converted to an Integer")),
        Some(Value::Bool(_)) => Err(DynamoError::serialization("class java.lang.Boolean can not be converted to an Integer")),
        Some(_) => Err(DynamoError::serialization("Start of structure or map found where not expected.")),
    }
}

fn enum_check(req: &Value, field: &str, allowed: &[&str]) -> Result<Option<String>, DynamoError> {
    match get_str(req, field)? {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(s) => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{s}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            lower_first(field),
            allowed.join(", ")
        ))),
    }
}

/// `ConsumedCapacity` for `ReturnConsumedCapacity` TOTAL or INDEXES (None otherwise).
fn consumed_capacity(req: &Value, table: &str, units: f64) -> Result<Option<Value>, DynamoError> {
    match enum_check(req, "ReturnConsumedCapacity", &["INDEXES", "TOTAL", "NONE"])?.as_deref() {
        Some("TOTAL") => Ok(Some(json!({ "CapacityUnits": units, "TableName": table }))),
        Some("INDEXES") => Ok(Some(json!({ "CapacityUnits": units, "Table": { "CapacityUnits": units }, "TableName": table }))),
        _ => Ok(None),
    }
}

fn read_units(bytes: usize, consistent: bool) -> f64 {
    let u = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        u
    } else {
        u / 2.0
    }
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

fn add_capacity(resp: &mut Value, cc: Option<Value>) {
    if let (Some(cc), Value::Object(m)) = (cc, resp) {
        m.insert("ConsumedCapacity".into(), cc);
    }
}

fn table_name(req: &Value) -> Result<String, DynamoError> {
    let name = get_str(req, "TableName")?.unwrap_or_default();
    validate_table_name(name, "tableName")?;
    Ok(name.to_string())
}

fn validate_table_name(name: &str, field: &str) -> Result<(), DynamoError> {
    let mut errs = Vec::new();
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
        errs.push(format!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        ));
    }
    if name.len() < 3 {
        errs.push(format!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 3"
        ));
    }
    if name.len() > 255 {
        errs.push(format!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to 255"
        ));
    }
    validation_errors(errs)
}

// ------------------------------------------------------------ expression parameters

pub(crate) struct ExprParams {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttrValue>,
    has_names: bool,
    has_values: bool,
}

fn valid_placeholder(k: &str, prefix: char) -> bool {
    k.len() > 1 && k.starts_with(prefix) && k[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `field` (ExpressionAttributeNames or ExpressionAttributeValues): absent, or a non-empty
/// map from placeholders (`prefix` and a word) to what `value` reads of each one's value.
fn placeholders<T>(
    req: &Value,
    field: &str,
    prefix: char,
    value: impl Fn(&str, &Value) -> Result<T, DynamoError>,
) -> Result<Option<BTreeMap<String, T>>, DynamoError> {
    let Some(map) = get_obj(req, field)? else { return Ok(None) };
    if map.is_empty() {
        return Err(DynamoError::validation(format!("{field} must not be empty")));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        if !valid_placeholder(k, prefix) {
            return Err(DynamoError::validation(format!("{field} contains invalid key: Syntax error; key: \"{k}\"")));
        }
        out.insert(k.clone(), value(k, v)?);
    }
    Ok(Some(out))
}

fn expr_params(req: &Value) -> Result<ExprParams, DynamoError> {
    let names = placeholders(req, "ExpressionAttributeNames", '#', |k, v| {
        let Value::String(s) = v else {
            return Err(DynamoError::serialization("Unexpected value type in payload"));
        };
        if s.is_empty() {
            return Err(DynamoError::validation(format!(
                "ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}"
            )));
        }
        Ok(s.clone())
    })?;
    let values = placeholders(req, "ExpressionAttributeValues", ':', |k, v| {
        parse_attr(v, 1).map_err(|m| match m.strip_prefix(SER_PREFIX) {
            Some(s) => DynamoError::serialization(s),
            None => DynamoError::validation(format!("ExpressionAttributeValues contains invalid value: {m} for key {k}")),
        })
    })?;
    Ok(ExprParams {
        has_names: names.is_some(),
        has_values: values.is_some(),
        names: names.unwrap_or_default(),
        values: values.unwrap_or_default(),
    })
}

/// Parsed expressions of one request.
#[derive(Default)]
pub(crate) struct Exprs {
    pub condition: Option<Cond>,
    pub filter: Option<Cond>,
    pub key: Option<Cond>,
    pub update: Option<Update>,
    pub projection: Option<Vec<Path>>,
}

/// Parses the expressions a request carries; `kinds` lists the expression members the
/// operation accepts, in the order DynamoDB parses them.
const LEGACY: &[&str] = &[
    "AttributesToGet", "Expected", "AttributeUpdates", "KeyConditions", "QueryFilter", "ScanFilter", "ConditionalOperator",
];
const EXPRESSIONS: &[&str] = &[
    "ProjectionExpression", "ConditionExpression", "UpdateExpression", "KeyConditionExpression", "FilterExpression",
];

/// The legacy (non-expression) parameters: mixing them with expressions is
/// DynamoDB's own error; AttributesToGet becomes a projection here, the others are
/// translated by the `legacy` module.
fn legacy_params(req: &Value) -> Result<Option<Vec<Path>>, DynamoError> {
    let present = |f: &&str| req.get(*f).is_some_and(|v| !v.is_null());
    let legacy: Vec<&str> = LEGACY.iter().copied().filter(|f| present(f)).collect();
    if legacy.is_empty() {
        return Ok(None);
    }
    let exprs: Vec<&str> = EXPRESSIONS.iter().copied().filter(|f| present(f)).collect();
    if !exprs.is_empty() {
        return Err(DynamoError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            exprs.join(", ")
        )));
    }
    if !legacy.contains(&"AttributesToGet") {
        return Ok(None);
    }
    let list = get_arr(req, "AttributesToGet")?.expect("present");
    if list.is_empty() {
        return Err(DynamoError::validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut paths: Vec<Path> = Vec::new();
    for a in list {
        let Value::String(name) = a else {
            return Err(DynamoError::serialization("Unexpected value type in payload"));
        };
        let p = vec![PathElem::Attr(name.clone())];
        if paths.contains(&p) {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Duplicate value in attribute name: {name}"
            )));
        }
        paths.push(p);
    }
    Ok(Some(paths))
}

fn parse_exprs(req: &Value, kinds: &[&str]) -> Result<Exprs, DynamoError> {
    let legacy_projection = legacy_params(req)?;
    let p = expr_params(req)?;
    let mut out = Exprs::default();
    if legacy_projection.is_some() && kinds.contains(&"ProjectionExpression") {
        out.projection = legacy_projection;
    }
    if kinds.contains(&"ConditionExpression") {
        out.condition = crate::legacy::expected(req)?;
    }
    if kinds.contains(&"UpdateExpression") {
        out.update = crate::legacy::attribute_updates(req)?;
    }
    if kinds.contains(&"KeyConditionExpression") {
        out.key = crate::legacy::key_conditions(req)?;
        out.filter = crate::legacy::filter(req, "QueryFilter")?;
    } else if kinds.contains(&"FilterExpression") {
        out.filter = crate::legacy::filter(req, "ScanFilter")?;
    }
    let mut ctx = Ctx::new(&p.names, &p.values);
    let mut any = false;
    let mut any_with_values = false;
    for kind in kinds {
        let Some(src) = get_str(req, kind)? else { continue };
        any = true;
        let r = match *kind {
            "ConditionExpression" => expr::parse_condition(kind, src, &mut ctx).map(|c| out.condition = Some(c)),
            "FilterExpression" => expr::parse_condition(kind, src, &mut ctx).map(|c| out.filter = Some(c)),
            "KeyConditionExpression" => expr::parse_condition(kind, src, &mut ctx).map(|c| out.key = Some(c)),
            "UpdateExpression" => expr::parse_update(src, &mut ctx).map(|u| out.update = Some(u)),
            "ProjectionExpression" => expr::parse_projection(src, &mut ctx).map(|x| out.projection = Some(x)),
            _ => Ok(()),
        };
        if *kind != "ProjectionExpression" {
            any_with_values = true;
        }
        r.map_err(DynamoError::validation)?;
    }
    if p.has_names && !any {
        return Err(DynamoError::validation("ExpressionAttributeNames can only be specified when using expressions"));
    }
    if p.has_values && !any_with_values {
        return Err(DynamoError::validation("ExpressionAttributeValues can only be specified when using expressions"));
    }
    ctx.check_unused().map_err(DynamoError::validation)?;
    Ok(out)
}

// ------------------------------------------------------------ keys

pub(crate) type FullKey = (KeyVal, Option<KeyVal>);

impl Table {
    pub(crate) fn keydef(&self) -> KeyDef {
        KeyDef { hash: self.hash.clone(), range: self.range.clone() }
    }

    pub(crate) fn key_names_pub(&self) -> Vec<&str> {
        self.key_names()
    }

    fn key_names(&self) -> Vec<&str> {
        let mut v = vec![self.hash.0.as_str()];
        if let Some((r, _)) = &self.range {
            v.push(r.as_str());
        }
        v
    }

    fn is_key_attr(&self, name: &str) -> bool {
        self.hash.0 == name || self.range.as_ref().is_some_and(|r| r.0 == name)
    }

    fn check_key_val(name: &str, t: KeyType, v: &AttrValue) -> Option<KeyVal> {
        let k = v.as_key()?;
        let ok = matches!((t, &k), (KeyType::S, KeyVal::S(_)) | (KeyType::N, KeyVal::N(_)) | (KeyType::B, KeyVal::B(_)));
        let _ = name;
        ok.then_some(k)
    }

    fn empty_key_check(&self, item: &Item) -> Result<(), DynamoError> {
        for name in self.key_names() {
            if let Some(v) = item.get(name) {
                let empty = matches!(v, AttrValue::S(s) if s.is_empty()) || matches!(v, AttrValue::B(b) if b.is_empty());
                if empty {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {name}",
                        if matches!(v, AttrValue::S(_)) { "string" } else { "binary" }
                    )));
                }
            }
        }
        Ok(())
    }

    /// Key from a `Key` member (Get/Update/Delete): exactly the key attributes.
    fn key_from_key(&self, key: &Item) -> Result<FullKey, DynamoError> {
        let bad = || DynamoError::validation("The provided key element does not match the schema");
        if key.len() != self.key_names().len() {
            return Err(bad());
        }
        let hv = key.get(&self.hash.0).ok_or_else(bad)?;
        let hk = Table::check_key_val(&self.hash.0, self.hash.1, hv).ok_or_else(bad)?;
        let rk = match &self.range {
            Some((rn, rt)) => {
                let rv = key.get(rn).ok_or_else(bad)?;
                Some(Table::check_key_val(rn, *rt, rv).ok_or_else(bad)?)
            }
            None => None,
        };
        self.empty_key_check(key)?;
        Ok((hk, rk))
    }

    /// Key from a whole item (Put).
    pub(crate) fn key_from_item(&self, item: &Item) -> Result<FullKey, DynamoError> {
        let mut keys = Vec::new();
        let mut defs = vec![(&self.hash.0, self.hash.1)];
        if let Some((rn, rt)) = &self.range {
            defs.push((rn, *rt));
        }
        for (name, t) in defs {
            let v = item.get(name.as_str()).ok_or_else(|| {
                DynamoError::validation(format!("One or more parameter values were invalid: Missing the key {name} in the item"))
            })?;
            let k = Table::check_key_val(name, t, v).ok_or_else(|| {
                DynamoError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {name} expected: {} actual: {}",
                    t.name(),
                    v.type_name()
                ))
            })?;
            keys.push(k);
        }
        self.empty_key_check(item)?;
        let mut it = keys.into_iter();
        let hk = it.next().expect("hash key");
        let rk = it.next();
        self.key_size_check(&hk, rk.as_ref())?;
        Ok((hk, rk))
    }

    fn key_size_check(&self, hk: &KeyVal, rk: Option<&KeyVal>) -> Result<(), DynamoError> {
        let size = |k: &KeyVal| k.to_attr().size();
        if size(hk) > 2048 {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
            ));
        }
        if rk.is_some_and(|r| size(r) > 1024) {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
            ));
        }
        Ok(())
    }

    pub(crate) fn key_item(&self, key: &FullKey) -> Item {
        let mut item = Item::new();
        item.insert(self.hash.0.clone(), key.0.to_attr());
        if let (Some((rn, _)), Some(rk)) = (&self.range, &key.1) {
            item.insert(rn.clone(), rk.to_attr());
        }
        item
    }

    fn get(&self, key: &FullKey) -> Option<&Item> {
        self.data.get(&key.0)?.get(&key.1)
    }

    pub(crate) fn put(&mut self, key: FullKey, item: Item) {
        if self.track {
            self.dirty.insert(key.clone());
        }
        let size = item_size(&item);
        let part = self.data.entry(key.0).or_default();
        if let Some(old) = part.insert(key.1, item) {
            self.size_bytes -= item_size(&old);
        } else {
            self.item_count += 1;
        }
        self.size_bytes += size;
    }

    fn delete(&mut self, key: &FullKey) {
        if self.track {
            self.dirty.insert(key.clone());
        }
        if let Some(part) = self.data.get_mut(&key.0) {
            if let Some(old) = part.remove(&key.1) {
                self.item_count -= 1;
                self.size_bytes -= item_size(&old);
            }
            if part.is_empty() {
                self.data.remove(&key.0);
            }
        }
    }
}

fn parse_key_member(req: &Value, field: &str) -> Result<Item, DynamoError> {
    let v = req.get(field).unwrap_or(&Value::Null);
    parse_item(v).map_err(attr_err)
}

// ------------------------------------------------------------ write preparation

/// A write computed against the current state, not yet applied.
pub(crate) struct Prepared {
    table: String,
    key: FullKey,
    /// None: nothing to write (ConditionCheck); Some(None): delete; Some(Some(item)): put.
    write: Option<Option<Item>>,
    response: Value,
    /// Write capacity units the write consumes.
    units: f64,
}

pub(crate) enum PrepErr {
    /// The request is invalid.
    Fail(DynamoError),
    /// Valid, but failed while evaluated against the item (a ValidationError reason in a transaction).
    Runtime(DynamoError),
    /// The condition failed; carries the old item for ReturnValuesOnConditionCheckFailure.
    Cond(Option<Item>, bool),
}

impl From<DynamoError> for PrepErr {
    fn from(e: DynamoError) -> Self {
        PrepErr::Fail(e)
    }
}

fn rvoccf(req: &Value) -> Result<bool, DynamoError> {
    Ok(enum_check(req, "ReturnValuesOnConditionCheckFailure", &["ALL_OLD", "NONE"])?.as_deref() == Some("ALL_OLD"))
}

/// PutItem and DeleteItem accept every ReturnValues name but answer only these two.
fn only_all_old(rv: &Option<String>) -> Result<(), PrepErr> {
    match rv.as_deref() {
        Some(r) if r != "NONE" && r != "ALL_OLD" => Err(DynamoError::validation("ReturnValues can only be ALL_OLD or NONE").into()),
        _ => Ok(()),
    }
}

/// The response of a put or delete: `Attributes` (the old item) for ALL_OLD when there was one.
fn all_old_response(rv: Option<&str>, old: Option<&Item>) -> Map<String, Value> {
    let mut response = Map::new();
    if let (Some("ALL_OLD"), Some(o)) = (rv, old) {
        response.insert("Attributes".into(), item_to_json(o));
    }
    response
}

impl Database {
    fn table(&self, name: &str) -> Result<&Table, DynamoError> {
        self.tables.get(name).ok_or_else(not_found)
    }

    fn apply(&mut self, p: Prepared) {
        let Some(write) = p.write else { return };
        if let Some(t) = self.tables.get_mut(&p.table) {
            match write {
                Some(item) => t.put(p.key, item),
                None => t.delete(&p.key),
            }
        }
    }

    fn check_condition(cond: &Option<Cond>, old: Option<&Item>, rv: bool) -> Result<(), PrepErr> {
        if let Some(c) = cond {
            let empty = Item::new();
            if !expr::eval_cond(c, old.unwrap_or(&empty)) {
                return Err(PrepErr::Cond(old.cloned(), rv));
            }
        }
        Ok(())
    }

    pub(crate) fn prepare_put(&self, req: &Value, in_tx: bool) -> Result<Prepared, PrepErr> {
        require(req, &["TableName", "Item"])?;
        let name = table_name(req)?;
        let rv_allowed: &[&str] = if in_tx { &["ALL_OLD", "NONE"] } else { &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] };
        let rv = enum_check(req, "ReturnValues", rv_allowed)?;
        let rvf = rvoccf(req)?;
        let item = parse_key_member(req, "Item")?;
        let ex = parse_exprs(req, &["ConditionExpression"])?;
        only_all_old(&rv)?;
        let table = self.table(&name)?;
        let key = table.key_from_item(&item)?;
        crate::index::check_index_keys(table, &item)?;
        if item_size(&item) > MAX_ITEM_SIZE {
            return Err(DynamoError::validation("Item size has exceeded the maximum allowed size").into());
        }
        let old = table.get(&key);
        Database::check_condition(&ex.condition, old, rvf)?;
        let response = all_old_response(rv.as_deref(), old);
        let units = write_units(item_size(&item).max(old.map_or(0, item_size)));
        Ok(Prepared { table: name, key, write: Some(Some(item)), response: Value::Object(response), units })
    }

    pub(crate) fn prepare_delete(&self, req: &Value, _in_tx: bool) -> Result<Prepared, PrepErr> {
        require(req, &["TableName", "Key"])?;
        let name = table_name(req)?;
        let rv = enum_check(req, "ReturnValues", &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"])?;
        let rvf = rvoccf(req)?;
        let key_item = parse_key_member(req, "Key")?;
        let ex = parse_exprs(req, &["ConditionExpression"])?;
        only_all_old(&rv)?;
        let table = self.table(&name)?;
        let key = table.key_from_key(&key_item)?;
        let old = table.get(&key);
        Database::check_condition(&ex.condition, old, rvf)?;
        let response = all_old_response(rv.as_deref(), old);
        let write = if old.is_some() { Some(None) } else { None };
        let units = write_units(old.map_or(0, item_size));
        Ok(Prepared { table: name, key, write, response: Value::Object(response), units })
    }

    pub(crate) fn prepare_update(&self, req: &Value, _in_tx: bool) -> Result<Prepared, PrepErr> {
        require(req, &["TableName", "Key"])?;
        let name = table_name(req)?;
        let rv = enum_check(req, "ReturnValues", &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"])?;
        let rvf = rvoccf(req)?;
        let key_item = parse_key_member(req, "Key")?;
        let ex = parse_exprs(req, &["UpdateExpression", "ConditionExpression"])?;
        let table = self.table(&name)?;
        let key = table.key_from_key(&key_item)?;
        if let Some(u) = &ex.update {
            for p in &u.order {
                if let Some(PathElem::Attr(a)) = p.first() {
                    if table.is_key_attr(a) {
                        return Err(DynamoError::validation(format!(
                            "One or more parameter values were invalid: Cannot update attribute {a}. This attribute is part of the key"
                        ))
                        .into());
                    }
                }
            }
        }
        let old = table.get(&key);
        Database::check_condition(&ex.condition, old, rvf)?;
        let base = old.cloned().unwrap_or_else(|| table.key_item(&key));
        let new = match &ex.update {
            Some(u) => expr::apply_update(u, &base).map_err(|m| PrepErr::Runtime(DynamoError::validation(m)))?,
            None => base,
        };
        crate::index::check_index_keys(table, &new).map_err(PrepErr::Runtime)?;
        if item_size(&new) > MAX_ITEM_SIZE {
            return Err(PrepErr::Runtime(DynamoError::validation("Item size to update has exceeded the maximum allowed size")));
        }
        let mut response = Map::new();
        let paths: Vec<Path> = ex.update.as_ref().map(|u| u.order.clone()).unwrap_or_default();
        let attrs = match rv.as_deref() {
            Some("ALL_OLD") => old.cloned(),
            Some("ALL_NEW") => Some(new.clone()),
            Some("UPDATED_OLD") => old.map(|o| expr::project(o, &paths)),
            Some("UPDATED_NEW") => Some(expr::project(&new, &paths)),
            _ => None,
        };
        if let Some(a) = attrs {
            if !a.is_empty() {
                response.insert("Attributes".into(), item_to_json(&a));
            }
        }
        let units = write_units(item_size(&new).max(old.map_or(0, item_size)));
        Ok(Prepared { table: name, key, write: Some(Some(new)), response: Value::Object(response), units })
    }

    fn prepare_condition_check(&self, req: &Value) -> Result<Prepared, PrepErr> {
        require(req, &["TableName", "Key", "ConditionExpression"])?;
        let name = table_name(req)?;
        let rvf = rvoccf(req)?;
        let key_item = parse_key_member(req, "Key")?;
        let ex = parse_exprs(req, &["ConditionExpression"])?;
        let table = self.table(&name)?;
        let key = table.key_from_key(&key_item)?;
        let old = table.get(&key);
        Database::check_condition(&ex.condition, old, rvf)?;
        let units = read_units(old.map_or(0, item_size), true);
        Ok(Prepared { table: name, key, write: None, response: json!({}), units })
    }

    fn single_write(
        &mut self,
        req: &Value,
        prep: fn(&Database, &Value, bool) -> Result<Prepared, PrepErr>,
    ) -> Result<Value, DynamoError> {
        match prep(self, req, false) {
            Ok(p) => {
                let mut resp = p.response.clone();
                add_capacity(&mut resp, consumed_capacity(req, &p.table, p.units)?);
                self.apply(p);
                Ok(resp)
            }
            Err(PrepErr::Fail(e)) | Err(PrepErr::Runtime(e)) => Err(e),
            Err(PrepErr::Cond(old, rv)) => {
                let mut e = ccf();
                if rv {
                    if let Some(o) = old {
                        e.extra = Some(json!({ "Item": item_to_json(&o) }));
                    }
                }
                Err(e)
            }
        }
    }

    pub(crate) fn put_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        self.single_write(req, Database::prepare_put)
    }

    pub(crate) fn delete_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        self.single_write(req, Database::prepare_delete)
    }

    pub(crate) fn update_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        self.single_write(req, Database::prepare_update)
    }

    // ------------------------------------------------------------ reads

    fn read_one(&self, req: &Value) -> Result<Option<Item>, DynamoError> {
        Ok(self.read_one_sized(req)?.0)
    }

    /// The (projected) item and the size of the whole stored item.
    fn read_one_sized(&self, req: &Value) -> Result<(Option<Item>, usize), DynamoError> {
        require(req, &["TableName", "Key"])?;
        let name = table_name(req)?;
        let key_item = parse_key_member(req, "Key")?;
        let ex = parse_exprs(req, &["ProjectionExpression"])?;
        let table = self.table(&name)?;
        let key = table.key_from_key(&key_item)?;
        let stored = table.get(&key);
        let size = stored.map_or(0, item_size);
        Ok((
            stored.map(|i| match &ex.projection {
                Some(p) => expr::project(i, p),
                None => i.clone(),
            }),
            size,
        ))
    }

    pub(crate) fn get_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        let consistent = get_bool(req, "ConsistentRead")?.unwrap_or(false);
        let (found, size) = self.read_one_sized(req)?;
        let mut resp = match found {
            Some(i) => json!({ "Item": item_to_json(&i) }),
            None => json!({}),
        };
        let name = get_str(req, "TableName")?.unwrap_or_default();
        add_capacity(&mut resp, consumed_capacity(req, name, read_units(size, consistent))?);
        Ok(resp)
    }

    // ------------------------------------------------------------ query & scan

    pub(crate) fn query(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TableName"])?;
        let name = table_name(req)?;
        let common = read_common(req)?;
        if get_str(req, "KeyConditionExpression")?.is_none() && req.get("KeyConditions").is_none_or(Value::is_null) {
            return Err(DynamoError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        }
        let forward = get_bool(req, "ScanIndexForward")?.unwrap_or(true);
        let ex = parse_exprs(req, &["KeyConditionExpression", "FilterExpression", "ProjectionExpression"])?;
        let table = self.table(&name)?;
        if let Some(ixname) = get_str(req, "IndexName")? {
            return self.read_index(req, table, ixname, &common, &ex, true, forward);
        }
        let kc = key_condition(&table.keydef(), ex.key.as_ref().expect("key condition parsed"))?;
        if let Some(f) = &ex.filter {
            let mut paths = Vec::new();
            expr::cond_paths(f, &mut paths);
            for p in paths {
                if let Some(PathElem::Attr(a)) = p.first() {
                    if table.is_key_attr(a) {
                        return Err(DynamoError::validation(format!(
                            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {a}"
                        )));
                    }
                }
            }
        }
        let start = match &common.start {
            Some(s) => {
                let k = start_key(table, s)?;
                if table.range.is_none() && k.0 == kc.hash {
                    return Err(DynamoError::validation("The query can return at most one row and cannot be restarted"));
                }
                let has_sort = !matches!(kc.sort, SortCond::Any);
                if has_sort && (k.0 != kc.hash || !kc.sort_matches(&k.1)) {
                    return Err(DynamoError::validation("The provided starting key does not match the range key predicate"));
                }
                if k.0 != kc.hash {
                    return Err(DynamoError::validation(
                        "The provided starting key is outside query boundaries based on provided conditions",
                    ));
                }
                Some(k.1)
            }
            None => None,
        };
        let mut page = Page::new(&common, &ex, table);
        if let Some((hk_ref, part)) = table.data.get_key_value(&kc.hash) {
            let (lo, hi) = kc.bounds();
            let (lo, hi) = match (&start, forward) {
                (Some(s), true) => (tighter_lo(lo, Bound::Excluded(s.clone())), hi),
                (Some(s), false) => (lo, tighter_hi(hi, Bound::Excluded(s.clone()))),
                (None, _) => (lo, hi),
            };
            if range_nonempty(&lo, &hi) {
                let range = part.range((lo, hi));
                let iter: Box<dyn Iterator<Item = (&Option<KeyVal>, &Item)>> =
                    if forward { Box::new(range) } else { Box::new(range.rev()) };
                for (rk, item) in iter {
                    if !kc.matches_prefix(rk) {
                        if forward {
                            break;
                        }
                        continue;
                    }
                    if page.push(hk_ref, rk, item) {
                        break;
                    }
                }
            }
        }
        let consistent = get_bool(req, "ConsistentRead")?.unwrap_or(false);
        let cc = consumed_capacity(req, &name, read_units(page.size, consistent))?;
        let mut out = page.finish();
        add_capacity(&mut out, cc);
        Ok(out)
    }

    pub(crate) fn scan(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TableName"])?;
        let name = table_name(req)?;
        let common = read_common(req)?;
        let segment = get_int(req, "Segment")?;
        let total = get_int(req, "TotalSegments")?;
        let seg = match (segment, total) {
            (None, None) => None,
            (Some(s), Some(t)) => {
                if !(1..=1_000_000).contains(&t) {
                    return Err(DynamoError::validation(format!(
                        "1 validation error detected: Value '{t}' at 'totalSegments' failed to satisfy constraint: Member must have value {}",
                        if t < 1 { "greater than or equal to 1" } else { "less than or equal to 1000000" }
                    )));
                }
                if s < 0 || s >= t {
                    return Err(DynamoError::validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is out of bounds for TotalSegments: {t}"
                    )));
                }
                Some((s as u64, t as u64))
            }
            (Some(_), None) => return Err(DynamoError::validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")),
            (None, Some(_)) => return Err(DynamoError::validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")),
        };
        let ex = parse_exprs(req, &["FilterExpression", "ProjectionExpression"])?;
        let table = self.table(&name)?;
        if let Some(ixname) = get_str(req, "IndexName")? {
            return self.read_index(req, table, ixname, &common, &ex, false, true);
        }
        let start = match &common.start {
            Some(s) => Some(start_key(table, s)?),
            None => None,
        };
        let mut page = Page::new(&common, &ex, table);
        let parts: Box<dyn Iterator<Item = (&KeyVal, &crate::Partition)>> = match &start {
            Some((h, _)) => Box::new(table.data.range((Bound::Included(h.clone()), Bound::Unbounded))),
            None => Box::new(table.data.iter()),
        };
        'outer: for (hk, part) in parts {
            if let Some((s, t)) = seg {
                if segment_of(hk, t) != s {
                    continue;
                }
            }
            let items: Box<dyn Iterator<Item = (&Option<KeyVal>, &Item)>> = match &start {
                Some((h, r)) if h == hk => Box::new(part.range((Bound::Excluded(r.clone()), Bound::Unbounded))),
                _ => Box::new(part.iter()),
            };
            for (rk, item) in items {
                if page.push(hk, rk, item) {
                    break 'outer;
                }
            }
        }
        let consistent = get_bool(req, "ConsistentRead")?.unwrap_or(false);
        let cc = consumed_capacity(req, &name, read_units(page.size, consistent))?;
        let mut out = page.finish();
        add_capacity(&mut out, cc);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn read_index(
        &self,
        req: &Value,
        table: &Table,
        ixname: &str,
        common: &ReadCommon,
        ex: &Exprs,
        is_query: bool,
        forward: bool,
    ) -> Result<Value, DynamoError> {
        let ix = table
            .indexes
            .iter()
            .find(|i| i.name == ixname)
            .ok_or_else(|| DynamoError::validation(format!("The table does not have the specified index: {ixname}")))?;
        let consistent = get_bool(req, "ConsistentRead")?.unwrap_or(false);
        if ix.global && consistent {
            return Err(DynamoError::validation("Consistent reads are not supported on global secondary indexes"));
        }
        let select = common.select.as_deref();
        if ix.global && select == Some("ALL_ATTRIBUTES") && ix.projection != crate::IndexProjection::All {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                ix.name
            )));
        }
        let fetch_all = !ix.global && select == Some("ALL_ATTRIBUTES");
        let kc = match (is_query, &ex.key) {
            (true, Some(k)) => Some(crate::index::index_key_condition(ix, k)?),
            _ => None,
        };
        if let (true, Some(f)) = (is_query, &ex.filter) {
            let mut paths = Vec::new();
            expr::cond_paths(f, &mut paths);
            for p in paths {
                if let Some(PathElem::Attr(a)) = p.first() {
                    if ix.hash.0 == *a || ix.range.as_ref().is_some_and(|r| r.0 == *a) || table.is_key_attr(a) {
                        return Err(DynamoError::validation(format!(
                            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {a}"
                        )));
                    }
                }
            }
        }
        let read = crate::index::IndexRead { index: ix, forward, fetch_all };
        let rows = crate::index::rows(table, &read, kc.as_ref());
        let start = match &common.start {
            Some(esk) => crate::index::start_position(table, ix, &rows, esk, forward)?,
            None => 0,
        };
        let (mut out, size) = crate::index::read_page(
            table,
            ix,
            &rows,
            start,
            common.limit,
            select == Some("COUNT"),
            ex.filter.as_ref(),
            ex.projection.as_ref(),
        );
        let name = get_str(req, "TableName")?.unwrap_or_default();
        add_capacity(&mut out, consumed_capacity(req, name, read_units(size, consistent))?);
        Ok(out)
    }

    // ------------------------------------------------------------ batch & transactions

    pub(crate) fn batch_get_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["RequestItems"])?;
        let items = get_obj(req, "RequestItems")?.expect("required");
        if items.is_empty() {
            return Err(DynamoError::validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
        let mut total = 0;
        let mut plan = Vec::new();
        for (tname, spec) in items {
            validate_table_name(tname, "requestItems")?;
            let keys = get_arr(spec, "Keys")?.ok_or_else(|| {
                DynamoError::validation(format!("1 validation error detected: Value null at 'requestItems.{tname}.member.keys' failed to satisfy constraint: Member must not be null"))
            })?;
            if keys.is_empty() {
                return Err(DynamoError::validation(format!("1 validation error detected: Value '[]' at 'requestItems.{tname}.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")));
            }
            total += keys.len();
            let ex = parse_exprs(spec, &["ProjectionExpression"])?;
            let mut parsed = Vec::new();
            for k in keys {
                parsed.push(parse_item(k).map_err(attr_err)?);
            }
            plan.push((tname.clone(), ex.projection, parsed));
        }
        if total > 100 {
            return Err(DynamoError::validation("Too many items requested for the BatchGetItem call"));
        }
        let mut responses = Map::new();
        for (tname, proj, keys) in plan {
            let table = self.table(&tname)?;
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for k in keys {
                let key = table.key_from_key(&k)?;
                if !seen.insert(key.clone()) {
                    return Err(DynamoError::validation("Provided list of item keys contains duplicates"));
                }
                if let Some(i) = table.get(&key) {
                    let i = match &proj {
                        Some(p) => expr::project(i, p),
                        None => i.clone(),
                    };
                    out.push(item_to_json(&i));
                }
            }
            responses.insert(tname, Value::Array(out));
        }
        Ok(json!({ "Responses": responses, "UnprocessedKeys": {} }))
    }

    pub(crate) fn batch_write_item(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["RequestItems"])?;
        let items = get_obj(req, "RequestItems")?.expect("required");
        if items.is_empty() {
            return Err(DynamoError::validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
        let total: usize = items.values().map(|v| v.as_array().map_or(0, |a| a.len())).sum();
        if total > 25 {
            return Err(DynamoError::validation(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            ));
        }
        let mut plan = Vec::new();
        let mut seen = HashSet::new();
        for (tname, reqs) in items {
            validate_table_name(tname, "requestItems")?;
            let reqs = match reqs {
                Value::Array(a) if !a.is_empty() => a,
                _ => return Err(DynamoError::validation(
                    "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
                )),
            };
            for r in reqs {
                let put = get_obj(r, "PutRequest")?;
                let del = get_obj(r, "DeleteRequest")?;
                let (sub, is_put) = match (put, del) {
                    (Some(_), None) => (r.get("PutRequest").expect("present"), true),
                    (None, Some(_)) => (r.get("DeleteRequest").expect("present"), false),
                    // (DynamoDB's exact text for this case is not documented)
                    _ => return Err(DynamoError::validation("Each WriteRequest must contain exactly one of PutRequest or DeleteRequest")),
                };
                let mut one = sub.clone();
                if let Value::Object(o) = &mut one {
                    o.insert("TableName".into(), Value::String(tname.clone()));
                }
                let prepared = if is_put { self.prepare_put(&one, false) } else { self.prepare_delete(&one, false) };
                let p = match prepared {
                    Ok(p) => p,
                    Err(PrepErr::Fail(e)) | Err(PrepErr::Runtime(e)) => return Err(e),
                    Err(PrepErr::Cond(..)) => return Err(ccf()),
                };
                if !seen.insert((tname.clone(), p.key.clone())) {
                    return Err(DynamoError::validation("Provided list of item keys contains duplicates"));
                }
                plan.push(p);
            }
        }
        for p in plan {
            self.apply(p);
        }
        Ok(json!({ "UnprocessedItems": {} }))
    }

    pub(crate) fn transact_get_items(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TransactItems"])?;
        let items = get_arr(req, "TransactItems")?.expect("required");
        check_tx_len(items.len())?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for it in items {
            let get = it.get("Get").ok_or_else(|| {
                DynamoError::validation("1 validation error detected: Value null at 'transactItems.1.member.get' failed to satisfy constraint: Member must not be null")
            })?;
            let r = self.read_one(get)?;
            let name = get.get("TableName").and_then(Value::as_str).unwrap_or_default().to_string();
            let key = get.get("Key").map(|k| k.to_string()).unwrap_or_default();
            if !seen.insert((name, key)) {
                return Err(DynamoError::validation("Transaction request cannot include multiple operations on one item"));
            }
            out.push(match r {
                Some(i) => json!({ "Item": item_to_json(&i) }),
                None => json!({}),
            });
        }
        Ok(json!({ "Responses": out }))
    }

    pub(crate) fn transact_write_items(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TransactItems"])?;
        let items = get_arr(req, "TransactItems")?.expect("required");
        check_tx_len(items.len())?;
        let token = get_str(req, "ClientRequestToken")?.map(str::to_string);
        if let Some(t) = &token {
            if t.is_empty() || t.len() > 36 {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{t}' at 'clientRequestToken' failed to satisfy constraint: Member must have length {}",
                    if t.is_empty() { "greater than or equal to 1" } else { "less than or equal to 36" }
                )));
            }
            if let Some(previous) = self.tx_tokens.get(t) {
                if previous == &req["TransactItems"] {
                    return Ok(json!({}));
                }
                return Err(DynamoError::new(
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                ));
            }
        }
        let result = self.transact_write_items_once(items);
        if let (Some(t), Ok(_)) = (token, &result) {
            self.tx_tokens.insert(t, req["TransactItems"].clone());
        }
        result
    }

    fn transact_write_items_once(&mut self, items: &[Value]) -> Result<Value, DynamoError> {
        let mut results = Vec::new();
        let mut seen = HashSet::new();
        for it in items {
            let kinds: Vec<&str> = ["ConditionCheck", "Put", "Update", "Delete"]
                .into_iter()
                .filter(|k| it.get(*k).is_some_and(|v| !v.is_null()))
                .collect();
            if kinds.len() != 1 {
                return Err(DynamoError::validation(
                    "TransactItems can only contain one of Check, Put, Update or Delete",
                ));
            }
            let sub = &it[kinds[0]];
            let r = match kinds[0] {
                "ConditionCheck" => self.prepare_condition_check(sub),
                "Put" => self.prepare_put(sub, true),
                "Update" => self.prepare_update(sub, true),
                _ => self.prepare_delete(sub, true),
            };
            if let Err(PrepErr::Fail(e)) = r {
                return Err(e);
            }
            // identify the item for the duplicate check
            let id = match &r {
                Ok(p) => Some((p.table.clone(), p.key.clone())),
                Err(_) => {
                    let name = sub.get("TableName").and_then(Value::as_str).unwrap_or_default();
                    self.tables.get(name).and_then(|t| {
                        let k = if kinds[0] == "Put" {
                            parse_item(sub.get("Item")?).ok().and_then(|i| t.key_from_item(&i).ok())
                        } else {
                            parse_item(sub.get("Key")?).ok().and_then(|i| t.key_from_key(&i).ok())
                        };
                        k.map(|k| (name.to_string(), k))
                    })
                }
            };
            if let Some(id) = id {
                if !seen.insert(id) {
                    return Err(DynamoError::validation("Transaction request cannot include multiple operations on one item"));
                }
            }
            results.push(r);
        }
        if results.iter().all(|r| r.is_ok()) {
            for p in results.into_iter().flatten() {
                self.apply(p);
            }
            return Ok(json!({}));
        }
        let mut codes = Vec::new();
        let mut reasons = Vec::new();
        for r in &results {
            match r {
                Ok(_) => {
                    codes.push("None");
                    reasons.push(json!({ "Code": "None" }));
                }
                Err(PrepErr::Cond(old, rv)) => {
                    codes.push("ConditionalCheckFailed");
                    let mut m = Map::new();
                    m.insert("Code".into(), "ConditionalCheckFailed".into());
                    if *rv {
                        if let Some(o) = old {
                            m.insert("Item".into(), item_to_json(o));
                        }
                    }
                    m.insert("Message".into(), "The conditional request failed".into());
                    reasons.push(Value::Object(m));
                }
                Err(PrepErr::Runtime(e)) | Err(PrepErr::Fail(e)) => {
                    codes.push("ValidationError");
                    reasons.push(json!({ "Code": "ValidationError", "Message": e.message }));
                }
            }
        }
        let mut e = DynamoError::new(
            "TransactionCanceledException",
            format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        );
        e.extra = Some(json!({ "CancellationReasons": reasons }));
        Err(e)
    }

    // ------------------------------------------------------------ tables

    pub(crate) fn describe(&self, t: &Table, status: &str) -> Value {
        let mut d = t.description.clone();
        if let Value::Object(m) = &mut d {
            m.insert("TableStatus".into(), Value::String(status.to_string()));
            m.insert("TableSizeBytes".into(), json!(t.size_bytes));
            m.insert("ItemCount".into(), json!(t.item_count));
            crate::index::describe_indexes(t, m);
        }
        d
    }

    pub(crate) fn create_table(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["AttributeDefinitions", "TableName", "KeySchema"])?;
        let name = table_name(req)?;
        let defs = get_arr(req, "AttributeDefinitions")?.expect("required");
        let schema = get_arr(req, "KeySchema")?.expect("required");
        let mut errs = Vec::new();
        let mut def_map: Vec<(String, KeyType)> = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            let an = get_str(d, "AttributeName")?;
            let at = get_str(d, "AttributeType")?;
            if an.is_none() {
                errs.push(format!("Value null at 'attributeDefinitions.{}.member.attributeName' failed to satisfy constraint: Member must not be null", i + 1));
            }
            let t = match at {
                Some("S") => Some(KeyType::S),
                Some("N") => Some(KeyType::N),
                Some("B") => Some(KeyType::B),
                Some(other) => {
                    errs.push(format!("Value '{other}' at 'attributeDefinitions.{}.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", i + 1));
                    None
                }
                None => {
                    errs.push(format!("Value null at 'attributeDefinitions.{}.member.attributeType' failed to satisfy constraint: Member must not be null", i + 1));
                    None
                }
            };
            if let (Some(an), Some(t)) = (an, t) {
                def_map.push((an.to_string(), t));
            }
        }
        let mut ks: Vec<(String, String)> = Vec::new();
        for (i, k) in schema.iter().enumerate() {
            let an = get_str(k, "AttributeName")?;
            let kt = get_str(k, "KeyType")?;
            match kt {
                Some("HASH") | Some("RANGE") => {}
                Some(other) => errs.push(format!("Value '{other}' at 'keySchema.{}.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", i + 1)),
                None => errs.push(format!("Value null at 'keySchema.{}.member.keyType' failed to satisfy constraint: Member must not be null", i + 1)),
            }
            if an.is_none() {
                errs.push(format!("Value null at 'keySchema.{}.member.attributeName' failed to satisfy constraint: Member must not be null", i + 1));
            }
            if let (Some(a), Some(t)) = (an, kt) {
                ks.push((a.to_string(), t.to_string()));
            }
        }
        if schema.is_empty() || schema.len() > 2 {
            errs.push(format!(
                "Value '{}' at 'keySchema' failed to satisfy constraint: Member must have length {}",
                Value::Array(schema.clone()),
                if schema.is_empty() { "greater than or equal to 1" } else { "less than or equal to 2" }
            ));
        }
        validation_errors(errs)?;
        let billing = enum_check(req, "BillingMode", &["PROVISIONED", "PAY_PER_REQUEST"])?.unwrap_or_else(|| "PROVISIONED".into());
        let pt = get_obj(req, "ProvisionedThroughput")?;
        if billing == "PAY_PER_REQUEST" && pt.is_some() {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        if billing == "PROVISIONED" && pt.is_none() {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            ));
        }
        if ks[0].1 != "HASH" {
            return Err(DynamoError::validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type"));
        }
        if ks.len() == 2 {
            if ks[1].1 != "RANGE" {
                return Err(DynamoError::validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"));
            }
            if ks[0].0 == ks[1].0 {
                return Err(DynamoError::validation("Both the Hash Key and the Range Key element in the KeySchema have the same name"));
            }
        }
        let def_names: Vec<&str> = def_map.iter().map(|d| d.0.as_str()).collect();
        let missing: Vec<&str> = ks.iter().map(|k| k.0.as_str()).filter(|k| !def_names.contains(k)).collect();
        if !missing.is_empty() {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                missing.join(", "),
                def_names.join(", ")
            )));
        }
        let indexes = crate::index::parse_indexes(
            req,
            &def_map,
            &ks[0].0,
            ks.get(1).map(|k| k.0.as_str()),
            &name,
            billing == "PROVISIONED",
        )?;
        let mut used: Vec<&str> = ks.iter().map(|k| k.0.as_str()).collect();
        for ix in &indexes {
            for k in std::iter::once(&ix.hash).chain(ix.range.iter()) {
                if !used.contains(&k.0.as_str()) {
                    used.push(k.0.as_str());
                }
            }
        }
        if def_map.len() != used.len() || def_names.iter().any(|d| !used.contains(d)) {
            if indexes.is_empty() {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
                ));
            }
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
                def_names.join(", "),
                used.join(", ")
            )));
        }
        if self.tables.contains_key(&name) {
            return Err(DynamoError::new("ResourceInUseException", format!("Table already exists: {name}")));
        }
        let find = |n: &str| def_map.iter().find(|d| d.0 == n).map(|d| d.1).expect("checked");
        let hash = (ks[0].0.clone(), find(&ks[0].0));
        let range = ks.get(1).map(|k| (k.0.clone(), find(&k.0)));
        let mut d = Map::new();
        d.insert("AttributeDefinitions".into(), Value::Array(def_map.iter().map(|(n, t)| json!({"AttributeName": n, "AttributeType": t.name()})).collect()));
        d.insert("TableName".into(), Value::String(name.clone()));
        d.insert("KeySchema".into(), Value::Array(ks.iter().map(|(n, t)| json!({"AttributeName": n, "KeyType": t})).collect()));
        d.insert("TableStatus".into(), "ACTIVE".into());
        d.insert("CreationDateTime".into(), json!(0));
        // Checked above: an object or null.
        d.insert("ProvisionedThroughput".into(), crate::index::provisioned_throughput(req.get("ProvisionedThroughput")));
        d.insert("TableSizeBytes".into(), json!(0));
        d.insert("ItemCount".into(), json!(0));
        d.insert("TableArn".into(), Value::String(format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}")));
        d.insert("TableId".into(), Value::String(table_id(&name)));
        if billing == "PAY_PER_REQUEST" {
            d.insert("BillingModeSummary".into(), json!({"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": 0}));
        }
        d.insert("DeletionProtectionEnabled".into(), json!(false));
        let table = Table {
            hash,
            range,
            description: Value::Object(d),
            data: BTreeMap::new(),
            indexes,
            item_count: 0,
            size_bytes: 0,
            dirty: Default::default(),
            track: self.track,
        };
        let desc = self.describe(&table, "CREATING");
        if self.track {
            self.dirty_tables.insert(name.clone());
        }
        self.tables.insert(name, table);
        Ok(json!({ "TableDescription": desc }))
    }

    pub(crate) fn delete_table(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TableName"])?;
        let name = table_name(req)?;
        let t = self.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let desc = self.describe(t, "DELETING");
        self.tables.remove(&name);
        if self.track {
            self.dirty_tables.insert(name.clone());
        }
        Ok(json!({ "TableDescription": desc }))
    }

    pub(crate) fn describe_table(&mut self, req: &Value) -> Result<Value, DynamoError> {
        require(req, &["TableName"])?;
        let name = table_name(req)?;
        let t = self.tables.get(&name).ok_or_else(|| no_table(&name))?;
        Ok(json!({ "Table": self.describe(t, "ACTIVE") }))
    }

    pub(crate) fn list_tables(&mut self, req: &Value) -> Result<Value, DynamoError> {
        let limit = get_int(req, "Limit")?;
        if let Some(l) = limit {
            if !(1..=100).contains(&l) {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {}",
                    if l < 1 { "greater than or equal to 1" } else { "less than or equal to 100" }
                )));
            }
        }
        let start = get_str(req, "ExclusiveStartTableName")?;
        let names: Vec<&String> = self
            .tables
            .keys()
            .filter(|n| start.is_none_or(|s| n.as_str() > s))
            .collect();
        let limit = limit.unwrap_or(100) as usize;
        let mut out = json!({ "TableNames": names.iter().take(limit).collect::<Vec<_>>() });
        if names.len() > limit {
            out["LastEvaluatedTableName"] = Value::String(names[limit - 1].clone());
        }
        Ok(out)
    }
}

fn check_tx_len(n: usize) -> Result<(), DynamoError> {
    if n == 0 || n > 100 {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length {}",
            if n == 0 { "greater than or equal to 1" } else { "less than or equal to 100" }
        )));
    }
    Ok(())
}

fn table_id(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let h2 = h.rotate_left(17).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let hex = format!("{h:016x}{h2:016x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn segment_of(hk: &KeyVal, total: u64) -> u64 {
    let bytes: Vec<u8> = match hk {
        KeyVal::S(s) => s.as_bytes().to_vec(),
        KeyVal::N(n) => n.to_canonical().into_bytes(),
        KeyVal::B(b) => b.clone(),
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % total
}

// ------------------------------------------------------------ paging

struct ReadCommon {
    limit: Option<usize>,
    select: Option<String>,
    start: Option<Item>,
}

fn read_common(req: &Value) -> Result<ReadCommon, DynamoError> {
    let limit = match get_int(req, "Limit")? {
        Some(l) if l < 1 => {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )))
        }
        Some(l) => Some(l as usize),
        None => None,
    };
    let select = enum_check(req, "Select", &["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"])?;
    let proj_name = if req.get("AttributesToGet").is_some_and(|v| !v.is_null()) { "AttributesToGet" } else { "ProjectionExpression" };
    let has_proj = get_str(req, "ProjectionExpression")?.is_some() || proj_name == "AttributesToGet";
    match select.as_deref() {
        Some("ALL_PROJECTED_ATTRIBUTES") if req.get("IndexName").is_none() => {
            return Err(DynamoError::validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"));
        }
        Some("SPECIFIC_ATTRIBUTES") if !has_proj => {
            return Err(DynamoError::validation(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ));
        }
        Some(s @ ("ALL_ATTRIBUTES" | "COUNT" | "ALL_PROJECTED_ATTRIBUTES")) if has_proj => {
            return Err(DynamoError::validation(format!(
                "Cannot specify the {proj_name} when choosing to get {s}"
            )));
        }
        _ => {}
    }
    let start = match get_obj(req, "ExclusiveStartKey")? {
        Some(_) => Some(parse_key_member(req, "ExclusiveStartKey")?),
        None => None,
    };
    Ok(ReadCommon { limit, select, start })
}

fn start_key(table: &Table, s: &Item) -> Result<FullKey, DynamoError> {
    table.key_from_key(s).map_err(|_| {
        DynamoError::validation("The provided starting key is invalid: The provided key element does not match the schema")
    })
}

struct Page<'a> {
    limit: Option<usize>,
    count_only: bool,
    filter: Option<&'a Cond>,
    projection: Option<&'a Vec<Path>>,
    items: Vec<Value>,
    count: usize,
    scanned: usize,
    size: usize,
    last: Option<(&'a KeyVal, &'a Option<KeyVal>)>,
    table: &'a Table,
    stopped: bool,
}

impl<'a> Page<'a> {
    fn new(c: &ReadCommon, ex: &'a Exprs, table: &'a Table) -> Self {
        Page {
            limit: c.limit,
            count_only: c.select.as_deref() == Some("COUNT"),
            filter: ex.filter.as_ref(),
            projection: ex.projection.as_ref(),
            items: Vec::new(),
            count: 0,
            scanned: 0,
            size: 0,
            last: None,
            table,
            stopped: false,
        }
    }

    /// Reads one item; returns true when the page is full.
    fn push(&mut self, hk: &'a KeyVal, rk: &'a Option<KeyVal>, item: &'a Item) -> bool {
        let sz = item_size(item);
        if self.scanned > 0 && self.size + sz > PAGE_SIZE {
            // this item does not fit: the previous one is the last evaluated
            self.stopped = true;
            return true;
        }
        self.size += sz;
        self.scanned += 1;
        self.last = Some((hk, rk));
        if self.filter.is_none_or(|f| expr::eval_cond(f, item)) {
            self.count += 1;
            if !self.count_only {
                self.items.push(match self.projection {
                    Some(p) => item_to_json(&expr::project(item, p)),
                    None => item_to_json(item),
                });
            }
        }
        self.stopped = self.limit.is_some_and(|l| self.scanned >= l) || self.size >= PAGE_SIZE;
        self.stopped
    }

    fn finish(self) -> Value {
        let stopped = self.stopped;
        let mut m = Map::new();
        m.insert("Count".into(), json!(self.count));
        if !self.count_only {
            m.insert("Items".into(), Value::Array(self.items));
        }
        if stopped {
            if let Some((hk, rk)) = self.last {
                let k = self.table.key_item(&(hk.clone(), rk.clone()));
                m.insert("LastEvaluatedKey".into(), item_to_json(&k));
            }
        }
        m.insert("ScannedCount".into(), json!(self.scanned));
        Value::Object(m)
    }
}

// ------------------------------------------------------------ key conditions

/// The key attributes of a table or an index.
#[derive(Clone, Debug)]
pub(crate) struct KeyDef {
    pub hash: (String, KeyType),
    pub range: Option<(String, KeyType)>,
}

pub(crate) enum SortCond {
    Any,
    Cmp(expr::CmpOp, KeyVal),
    Between(KeyVal, KeyVal),
    BeginsWith(KeyVal),
}

pub(crate) struct KeyCond {
    pub hash: KeyVal,
    pub sort: SortCond,
}

type RangeBound = Bound<Option<KeyVal>>;

fn tighter_lo(a: RangeBound, b: RangeBound) -> RangeBound {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y {
                a
            } else if y > x {
                b
            } else if matches!(a, Bound::Excluded(_)) {
                a
            } else {
                b
            }
        }
    }
}

fn tighter_hi(a: RangeBound, b: RangeBound) -> RangeBound {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y {
                a
            } else if y < x {
                b
            } else if matches!(a, Bound::Excluded(_)) {
                a
            } else {
                b
            }
        }
    }
}

/// BTreeMap::range panics on inverted or empty-excluded ranges; check first.
fn range_nonempty(lo: &RangeBound, hi: &RangeBound) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a), Bound::Excluded(b)) | (Bound::Excluded(a), Bound::Included(b)) => a < b,
        (Bound::Excluded(a), Bound::Excluded(b)) => a < b,
        _ => true,
    }
}

impl KeyCond {
    fn bounds(&self) -> (RangeBound, RangeBound) {
        use expr::CmpOp::*;
        let s = |k: &KeyVal| Some(k.clone());
        match &self.sort {
            SortCond::Any => (Bound::Unbounded, Bound::Unbounded),
            SortCond::Cmp(Eq, k) => (Bound::Included(s(k)), Bound::Included(s(k))),
            SortCond::Cmp(Lt, k) => (Bound::Unbounded, Bound::Excluded(s(k))),
            SortCond::Cmp(Le, k) => (Bound::Unbounded, Bound::Included(s(k))),
            SortCond::Cmp(Gt, k) => (Bound::Excluded(s(k)), Bound::Unbounded),
            SortCond::Cmp(Ge, k) => (Bound::Included(s(k)), Bound::Unbounded),
            SortCond::Cmp(Ne, _) => (Bound::Unbounded, Bound::Unbounded),
            SortCond::Between(a, b) => (Bound::Included(s(a)), Bound::Included(s(b))),
            SortCond::BeginsWith(p) => (Bound::Included(s(p)), Bound::Unbounded),
        }
    }

    /// Whether a sort key value satisfies the sort-key condition.
    pub(crate) fn sort_matches(&self, rk: &Option<KeyVal>) -> bool {
        use expr::CmpOp::*;
        let Some(k) = rk else { return matches!(self.sort, SortCond::Any) };
        match &self.sort {
            SortCond::Any => true,
            SortCond::Cmp(Eq, v) => k == v,
            SortCond::Cmp(Lt, v) => k < v,
            SortCond::Cmp(Le, v) => k <= v,
            SortCond::Cmp(Gt, v) => k > v,
            SortCond::Cmp(Ge, v) => k >= v,
            SortCond::Cmp(Ne, v) => k != v,
            SortCond::Between(a, b) => a <= k && k <= b,
            SortCond::BeginsWith(_) => self.matches_prefix(rk),
        }
    }

    fn matches_prefix(&self, rk: &Option<KeyVal>) -> bool {
        match (&self.sort, rk) {
            (SortCond::BeginsWith(KeyVal::S(p)), Some(KeyVal::S(s))) => s.starts_with(p.as_str()),
            (SortCond::BeginsWith(KeyVal::B(p)), Some(KeyVal::B(s))) => s.starts_with(p),
            (SortCond::BeginsWith(_), _) => false,
            _ => true,
        }
    }
}

pub(crate) fn key_condition(table: &KeyDef, c: &Cond) -> Result<KeyCond, DynamoError> {
    fn flatten<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) -> Result<(), DynamoError> {
        match c {
            Cond::And(a, b) => {
                flatten(a, out)?;
                flatten(b, out)
            }
            Cond::Paren(a) => flatten(a, out),
            Cond::Or(..) => Err(DynamoError::validation("Invalid operator used in KeyConditionExpression: OR")),
            Cond::Not(..) => Err(DynamoError::validation("Invalid operator used in KeyConditionExpression: NOT")),
            Cond::In(..) => Err(DynamoError::validation("Invalid operator used in KeyConditionExpression: IN")),
            Cond::Cmp(expr::CmpOp::Ne, ..) => Err(DynamoError::validation("Invalid operator used in KeyConditionExpression: <>")),
            Cond::Func(name, _) if name != "begins_with" => {
                Err(DynamoError::validation(format!("Invalid operator used in KeyConditionExpression: {name}")))
            }
            other => {
                out.push(other);
                Ok(())
            }
        }
    }
    let mut parts = Vec::new();
    flatten(c, &mut parts)?;
    let attr_of = |p: &Path| -> Result<String, DynamoError> {
        if p.len() != 1 {
            return Err(DynamoError::validation("KeyConditionExpressions cannot have conditions on nested attributes"));
        }
        match &p[0] {
            PathElem::Attr(a) => Ok(a.clone()),
            PathElem::Index(_) => Err(DynamoError::validation("KeyConditionExpressions cannot have conditions on nested attributes")),
        }
    };
    let multi = || DynamoError::validation("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition");
    let mut conds: Vec<(String, SortCond)> = Vec::new();
    for p in parts {
        let (attr, sc) = match p {
            Cond::Cmp(op, a, b) => match (a, b) {
                (expr::Operand::Path(pa), expr::Operand::Value(_, v)) => (attr_of(pa)?, (op, v)),
                (expr::Operand::Value(_, v), expr::Operand::Path(pb)) => {
                    let flipped = match op {
                        expr::CmpOp::Lt => expr::CmpOp::Gt,
                        expr::CmpOp::Le => expr::CmpOp::Ge,
                        expr::CmpOp::Gt => expr::CmpOp::Lt,
                        expr::CmpOp::Ge => expr::CmpOp::Le,
                        o => *o,
                    };
                    let attr = attr_of(pb)?;
                    let k = key_value_for(table, &attr, v)?;
                    conds.push((attr, SortCond::Cmp(flipped, k)));
                    continue;
                }
                (expr::Operand::Path(_), expr::Operand::Path(_)) => return Err(multi()),
                _ => return Err(DynamoError::validation("Invalid condition in KeyConditionExpression: No key attribute specified")),
            },
            Cond::Between(a, lo, hi) => match (a, lo, hi) {
                (expr::Operand::Path(pa), expr::Operand::Value(_, l), expr::Operand::Value(_, h)) => {
                    let attr = attr_of(pa)?;
                    let l = key_value_for(table, &attr, l)?;
                    let h = key_value_for(table, &attr, h)?;
                    conds.push((attr, SortCond::Between(l, h)));
                    continue;
                }
                _ => return Err(multi()),
            },
            Cond::Func(_, args) => match (&args[0], &args[1]) {
                (expr::Operand::Path(pa), expr::Operand::Value(_, v)) => {
                    let attr = attr_of(pa)?;
                    let k = key_value_for(table, &attr, v)?;
                    if matches!(k, KeyVal::N(_)) {
                        return Err(DynamoError::validation(
                            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                        ));
                    }
                    conds.push((attr, SortCond::BeginsWith(k)));
                    continue;
                }
                _ => return Err(multi()),
            },
            _ => return Err(DynamoError::validation("Invalid KeyConditionExpression: Syntax error")),
        };
        let k = key_value_for(table, &attr, sc.1)?;
        conds.push((attr, SortCond::Cmp(*sc.0, k)));
    }
    if conds.len() > 2 {
        return Err(DynamoError::validation("KeyConditionExpressions must only contain one condition per key"));
    }
    if conds.len() == 2 && conds[0].0 == conds[1].0 {
        return Err(DynamoError::validation("KeyConditionExpressions must only contain one condition per key"));
    }
    let mut hash = None;
    let mut sort = SortCond::Any;
    for (attr, sc) in conds {
        if attr == table.hash.0 {
            match sc {
                SortCond::Cmp(expr::CmpOp::Eq, k) => hash = Some(k),
                _ => return Err(DynamoError::validation("Query key condition not supported")),
            }
        } else if table.range.as_ref().is_some_and(|r| r.0 == attr) {
            sort = sc;
        } else {
            let missing = if hash.is_none() { table.hash.0.clone() } else { table.range.as_ref().map(|r| r.0.clone()).unwrap_or_else(|| attr.clone()) };
            return Err(DynamoError::validation(format!("Query condition missed key schema element: {missing}")));
        }
    }
    let hash = hash.ok_or_else(|| DynamoError::validation(format!("Query condition missed key schema element: {}", table.hash.0)))?;
    Ok(KeyCond { hash, sort })
}

fn key_value_for(table: &KeyDef, attr: &str, v: &AttrValue) -> Result<KeyVal, DynamoError> {
    let t = if table.hash.0 == attr {
        table.hash.1
    } else if let Some((_, t)) = table.range.as_ref().filter(|r| r.0 == attr) {
        *t
    } else {
        // not a key attribute: reported by the caller
        return v.as_key().ok_or_else(|| {
            DynamoError::validation(format!("Query condition missed key schema element: {}", table.hash.0))
        });
    };
    if matches!(v, AttrValue::S(s) if s.is_empty()) || matches!(v, AttrValue::B(b) if b.is_empty()) {
        return Err(DynamoError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {attr}",
            if matches!(v, AttrValue::S(_)) { "string" } else { "binary" }
        )));
    }
    match (t, v) {
        (KeyType::S, AttrValue::S(s)) => Ok(KeyVal::S(s.clone())),
        (KeyType::N, AttrValue::N(n)) => Ok(KeyVal::N(n.clone())),
        (KeyType::B, AttrValue::B(b)) => Ok(KeyVal::B(b.clone())),
        _ => Err(DynamoError::validation("One or more parameter values were invalid: Condition parameter type does not match schema type")),
    }
}
