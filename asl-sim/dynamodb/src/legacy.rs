//! The legacy (pre-expression) parameters, translated into expression trees:
//! Expected + ConditionalOperator, KeyConditions, QueryFilter, ScanFilter,
//! AttributeUpdates. (AttributesToGet is handled with the projections.)

use crate::expr::{CmpOp, Cond, Operand, PathElem, Update};
use crate::value::{parse_attr, AttrValue, SER_PREFIX};
use crate::DynamoError;
use serde_json::Value;

fn invalid(msg: String) -> DynamoError {
    DynamoError::validation(format!("One or more parameter values were invalid: {msg}"))
}

fn attr(v: &Value) -> Result<AttrValue, DynamoError> {
    parse_attr(v, 1).map_err(|m| match m.strip_prefix(SER_PREFIX) {
        Some(s) => DynamoError::serialization(s),
        None => DynamoError::validation(m),
    })
}

fn path(name: &str) -> Operand {
    Operand::Path(vec![PathElem::Attr(name.to_string())])
}

fn val(v: AttrValue) -> Operand {
    Operand::Value(String::new(), v)
}

fn func(name: &str, args: Vec<Operand>) -> Cond {
    Cond::Func(name.to_string(), args)
}

/// One `{ComparisonOperator, AttributeValueList}` (or `Value`) condition on an attribute.
fn comparison(name: &str, cond: &Value) -> Result<Cond, DynamoError> {
    let op = cond.get("ComparisonOperator").and_then(Value::as_str).unwrap_or_default();
    let mut args: Vec<AttrValue> = Vec::new();
    if let Some(list) = cond.get("AttributeValueList").and_then(Value::as_array) {
        for v in list {
            args.push(attr(v)?);
        }
    } else if let Some(v) = cond.get("Value").filter(|v| !v.is_null()) {
        args.push(attr(v)?);
    }
    let wanted = match op {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => args.len() == 1,
        "NOT_NULL" | "NULL" => args.is_empty(),
        "IN" => !args.is_empty(),
        "BETWEEN" => args.len() == 2,
        other => {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )))
        }
    };
    if !wanted {
        return Err(invalid(format!("Invalid number of argument(s) for the {op} ComparisonOperator")));
    }
    let scalar = |v: &AttrValue| matches!(v, AttrValue::S(_) | AttrValue::N(_) | AttrValue::B(_));
    let mut it = args.into_iter();
    let mut next = || it.next().expect("counted");
    Ok(match op {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" => {
            let v = next();
            if op != "EQ" && op != "NE" && !scalar(&v) {
                return Err(invalid(format!("ComparisonOperator {op} is not valid for {} AttributeValue type", v.type_name())));
            }
            let cmp = match op {
                "EQ" => CmpOp::Eq,
                "NE" => CmpOp::Ne,
                "LE" => CmpOp::Le,
                "LT" => CmpOp::Lt,
                "GE" => CmpOp::Ge,
                _ => CmpOp::Gt,
            };
            Cond::Cmp(cmp, path(name), val(v))
        }
        "NOT_NULL" => func("attribute_exists", vec![path(name)]),
        "NULL" => func("attribute_not_exists", vec![path(name)]),
        "CONTAINS" => func("contains", vec![path(name), val(next())]),
        // NOT_CONTAINS is false when the attribute is missing
        "NOT_CONTAINS" => Cond::And(
            Box::new(func("attribute_exists", vec![path(name)])),
            Box::new(Cond::Not(Box::new(func("contains", vec![path(name), val(next())])))),
        ),
        "BEGINS_WITH" => {
            let v = next();
            if !matches!(v, AttrValue::S(_) | AttrValue::B(_)) {
                return Err(invalid(format!("ComparisonOperator BEGINS_WITH is not valid for {} AttributeValue type", v.type_name())));
            }
            func("begins_with", vec![path(name), val(v)])
        }
        "IN" => Cond::In(path(name), it.map(val).collect()),
        _ => {
            let (lo, hi) = (next(), next());
            Cond::Between(path(name), val(lo), val(hi))
        }
    })
}

fn combine(conds: Vec<Cond>, or: bool) -> Option<Cond> {
    conds.into_iter().reduce(|a, b| if or { Cond::Or(Box::new(a), Box::new(b)) } else { Cond::And(Box::new(a), Box::new(b)) })
}

fn conditional_operator(req: &Value) -> Result<bool, DynamoError> {
    match req.get("ConditionalOperator").and_then(Value::as_str) {
        None | Some("AND") => Ok(false),
        Some("OR") => Ok(true),
        Some(other) => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]"
        ))),
    }
}

/// `Expected` (with `Exists`/`Value` or comparison operators).
pub(crate) fn expected(req: &Value) -> Result<Option<Cond>, DynamoError> {
    let Some(Value::Object(map)) = req.get("Expected") else { return Ok(None) };
    let or = conditional_operator(req)?;
    let mut conds = Vec::new();
    for (key, c) in map {
        let has = |f: &str| c.get(f).is_some_and(|v| !v.is_null());
        if has("ComparisonOperator") {
            if has("Exists") {
                return Err(invalid(format!("Exists and ComparisonOperator cannot be used together for Attribute: {key}")));
            }
            if has("AttributeValueList") && has("Value") {
                return Err(invalid(format!("Value and AttributeValueList cannot be used together for Attribute: {key}")));
            }
            conds.push(comparison(key, c)?);
            continue;
        }
        if has("AttributeValueList") {
            return Err(invalid(format!("AttributeValueList can only be used with a ComparisonOperator for Attribute: {key}")));
        }
        let exists = c.get("Exists").and_then(Value::as_bool);
        match (exists, c.get("Value").filter(|v| !v.is_null())) {
            (Some(false), None) => conds.push(func("attribute_not_exists", vec![path(key)])),
            (Some(false), Some(_)) => {
                return Err(invalid(format!("Value cannot be used when Exists is false for Attribute: {key}")))
            }
            (e, None) => {
                return Err(invalid(format!(
                    "Value must be provided when Exists is {} for Attribute: {key}",
                    if e.is_some() { "true" } else { "null" }
                )))
            }
            (_, Some(v)) => conds.push(Cond::Cmp(CmpOp::Eq, path(key), val(attr(v)?))),
        }
    }
    Ok(combine(conds, or))
}

/// `QueryFilter` / `ScanFilter`.
pub(crate) fn filter(req: &Value, field: &str) -> Result<Option<Cond>, DynamoError> {
    let Some(Value::Object(map)) = req.get(field) else { return Ok(None) };
    let or = conditional_operator(req)?;
    let mut conds = Vec::new();
    for (key, c) in map {
        conds.push(comparison(key, c)?);
    }
    Ok(combine(conds, or))
}

/// `KeyConditions`: only the operators a key condition allows.
pub(crate) fn key_conditions(req: &Value) -> Result<Option<Cond>, DynamoError> {
    let Some(Value::Object(map)) = req.get("KeyConditions") else { return Ok(None) };
    let mut conds = Vec::new();
    for (key, c) in map {
        let op = c.get("ComparisonOperator").and_then(Value::as_str).unwrap_or_default();
        if !["EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN"].contains(&op) {
            comparison(key, c)?; // argument errors first
            return Err(DynamoError::validation("Attempted conditional constraint is not an indexable operation"));
        }
        conds.push(comparison(key, c)?);
    }
    Ok(combine(conds, false))
}

/// `AttributeUpdates` as an update expression.
pub(crate) fn attribute_updates(req: &Value) -> Result<Option<Update>, DynamoError> {
    let Some(Value::Object(map)) = req.get("AttributeUpdates") else { return Ok(None) };
    let mut u = Update::default();
    for (key, c) in map {
        let action = c.get("Action").and_then(Value::as_str).unwrap_or("PUT");
        let value = match c.get("Value").filter(|v| !v.is_null()) {
            Some(v) => Some(attr(v)?),
            None => None,
        };
        let target = vec![PathElem::Attr(key.clone())];
        u.order.push(target.clone());
        match (action, value) {
            ("PUT", Some(v)) => u.sets.push((target, val(v))),
            ("PUT", None) => {
                return Err(invalid(format!("Only DELETE action is allowed when no attribute value is specified: {key}")))
            }
            ("DELETE", None) => u.removes.push(target),
            ("DELETE", Some(v)) => {
                if !matches!(v, AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_)) {
                    return Err(invalid(format!("DELETE action with value is not supported for the type {}", v.type_name())));
                }
                u.deletes.push((target, val(v)));
            }
            ("ADD", Some(AttrValue::L(l))) => {
                let current = Operand::Func("if_not_exists".into(), vec![path(key), val(AttrValue::L(Vec::new()))]);
                u.sets.push((target, Operand::Func("list_append".into(), vec![current, val(AttrValue::L(l))])));
            }
            ("ADD", Some(v)) => {
                if !matches!(v, AttrValue::N(_) | AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_)) {
                    return Err(invalid(format!("ADD action is not supported for the type {}", v.type_name())));
                }
                u.adds.push((target, val(v)));
            }
            ("ADD", None) => {
                return Err(invalid(format!("Only DELETE action is allowed when no attribute value is specified: {key}")))
            }
            (other, _) => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{key}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )))
            }
        }
    }
    Ok(Some(u))
}
