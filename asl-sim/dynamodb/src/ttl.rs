//! Time to Live: UpdateTimeToLive, DescribeTimeToLive, and the background deletion of
//! expired items, which a driver triggers with [`Database::sweep_expired`].
//!
//! AWS's semantics (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
//! and howitworks-ttl.html):
//! - the TTL attribute holds a Number, the expiry in Unix epoch seconds; an item whose
//!   attribute is missing, not a Number, or a Number set is never expired;
//! - an item is eligible once the time is past its expiry, and is deleted later, "typically
//!   within a few days", by a background process that consumes no write capacity;
//! - until then reads (GetItem, Query, Scan) still return the expired item: a caller that
//!   must not see it filters on the attribute itself;
//! - items whose expiry is more than five years in the past are not deleted (AWS treats such
//!   a value as a mistake, e.g. milliseconds);
//! - enabling an enabled TTL, or disabling a disabled one, is a ValidationException.
//!
//! The emulation has no clock (the crate does no I/O): the driver decides when the sweep runs
//! and passes the time in. Status changes take effect at once (AWS shows ENABLING for up to an
//! hour; the emulation answers ENABLED straight away, as DynamoDB Local does).

use crate::ops::no_table;
use crate::value::AttrValue;
use crate::{Database, DynamoError};
use serde_json::{json, Value};

/// AWS ignores expiry times more than five years old.
const FIVE_YEARS_SECS: f64 = 5.0 * 365.0 * 24.0 * 3600.0;

fn table_name_of(req: &Value) -> Result<String, DynamoError> {
    match req.get("TableName") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(DynamoError::validation(
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
        )),
    }
}

impl Database {
    /// UpdateTimeToLive: `{"TableName", "TimeToLiveSpecification": {"Enabled", "AttributeName"}}`.
    pub(crate) fn update_time_to_live(&mut self, req: &Value) -> Result<Value, DynamoError> {
        let name = table_name_of(req)?;
        if !self.tables.contains_key(&name) {
            return Err(no_table(&name));
        }
        let spec = req.get("TimeToLiveSpecification").ok_or_else(|| {
            DynamoError::validation(
                "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let enabled = spec.get("Enabled").and_then(Value::as_bool).ok_or_else(|| {
            DynamoError::validation(
                "1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let attribute = match spec.get("AttributeName") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
            Some(Value::String(s)) => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{s}' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255"
                )))
            }
            _ => {
                return Err(DynamoError::validation(
                    "1 validation error detected: Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null",
                ))
            }
        };
        match (self.ttl.get(&name), enabled) {
            (Some(current), true) if current == &attribute => {
                return Err(DynamoError::validation("TimeToLive is already enabled"))
            }
            (Some(current), true) => {
                return Err(DynamoError::validation(format!(
                    "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
                )))
            }
            (None, false) => return Err(DynamoError::validation("TimeToLive is already disabled")),
            (Some(_), false) => {
                if self.track {
                    self.dirty_tables.insert(name.clone());
                }
                self.ttl.remove(&name);
            }
            (None, true) => {
                if self.track {
                    self.dirty_tables.insert(name.clone());
                }
                self.ttl.insert(name, attribute.clone());
            }
        }
        Ok(json!({"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}))
    }

    /// DescribeTimeToLive: `{"TimeToLiveDescription": {"TimeToLiveStatus", "AttributeName"?}}`.
    pub(crate) fn describe_time_to_live(&mut self, req: &Value) -> Result<Value, DynamoError> {
        let name = table_name_of(req)?;
        if !self.tables.contains_key(&name) {
            return Err(no_table(&name));
        }
        Ok(match self.ttl.get(&name) {
            Some(attribute) => json!({"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}}),
            None => json!({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}),
        })
    }

    /// The TTL attribute of `table`, if TTL is enabled on it.
    pub fn time_to_live_attribute(&self, table: &str) -> Option<&str> {
        self.ttl.get(table).map(String::as_str)
    }

    /// The background TTL deletion, run when the driver decides (`now_secs`: Unix epoch
    /// seconds). Deletes every item of every TTL-enabled table whose TTL attribute is a Number
    /// not after `now_secs` and not more than five years before it. Returns the keys deleted,
    /// as `(table, key in DynamoDB JSON)`, in table then key order, so that a driver can emit
    /// the Streams records (a service deletion, `userIdentity` dynamodb.amazonaws.com).
    pub fn sweep_expired(&mut self, now_secs: f64) -> Vec<(String, Value)> {
        let mut expired = Vec::new();
        for (table_name, attribute) in &self.ttl {
            let Some(table) = self.tables.get(table_name) else { continue };
            let key_names: Vec<&String> =
                std::iter::once(&table.hash.0).chain(table.range.as_ref().map(|r| &r.0)).collect();
            for item in table.data.values().flat_map(|p| p.values()) {
                let Some(AttrValue::N(n)) = item.get(attribute) else { continue };
                let Ok(expiry) = n.to_canonical().parse::<f64>() else { continue };
                if expiry > now_secs || expiry < now_secs - FIVE_YEARS_SECS {
                    continue;
                }
                let key: serde_json::Map<String, Value> = key_names
                    .iter()
                    .filter_map(|k| item.get(*k).map(|v| ((*k).clone(), v.to_json())))
                    .collect();
                expired.push((table_name.clone(), Value::Object(key)));
            }
        }
        for (table, key) in &expired {
            // Through DeleteItem so that the counters and indexes stay consistent; the key was
            // just read from the table, so the call cannot fail.
            let _ = self.call("DeleteItem", &json!({"TableName": table, "Key": key}));
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Database {
        let mut db = Database::new();
        db.call(
            "CreateTable",
            &json!({"TableName": "ttl-test", "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                    "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}]}),
        )
        .unwrap();
        for (sk, exp) in [("old", json!({"N": "1000"})), ("new", json!({"N": "5000"})), ("str", json!({"S": "1000"})), ("none", Value::Null), ("ancient", json!({"N": "1"}))] {
            let mut item = json!({"PK": {"S": "u"}, "SK": {"S": sk}});
            if !exp.is_null() {
                item["ExpiresAt"] = exp;
            }
            db.call("PutItem", &json!({"TableName": "ttl-test", "Item": item})).unwrap();
        }
        db
    }

    fn keys(db: &mut Database) -> Vec<String> {
        let out = db.call("Scan", &json!({"TableName": "ttl-test"})).unwrap();
        out["Items"].as_array().unwrap().iter().map(|i| i["SK"]["S"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn update_and_describe_follow_aws() {
        let mut db = db();
        let off = db.call("DescribeTimeToLive", &json!({"TableName": "ttl-test"})).unwrap();
        assert_eq!(off, json!({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}));
        let spec = json!({"TableName": "ttl-test", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "ExpiresAt"}});
        assert_eq!(
            db.call("UpdateTimeToLive", &spec).unwrap(),
            json!({"TimeToLiveSpecification": {"Enabled": true, "AttributeName": "ExpiresAt"}})
        );
        let on = db.call("DescribeTimeToLive", &json!({"TableName": "ttl-test"})).unwrap();
        assert_eq!(on, json!({"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}}));
        let again = db.call("UpdateTimeToLive", &spec).unwrap_err();
        assert_eq!((again.code.as_str(), again.message.as_str()), ("ValidationException", "TimeToLive is already enabled"));
        let other = json!({"TableName": "ttl-test", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "Other"}});
        assert!(db.call("UpdateTimeToLive", &other).unwrap_err().message.contains("current AttributeName is ExpiresAt"));
        let disable = json!({"TableName": "ttl-test", "TimeToLiveSpecification": {"Enabled": false, "AttributeName": "ExpiresAt"}});
        db.call("UpdateTimeToLive", &disable).unwrap();
        assert_eq!(db.call("UpdateTimeToLive", &disable).unwrap_err().message, "TimeToLive is already disabled");
        let missing = db.call("DescribeTimeToLive", &json!({"TableName": "nope"})).unwrap_err();
        assert_eq!(missing.code, "ResourceNotFoundException");
        let bad = db.call("UpdateTimeToLive", &json!({"TableName": "ttl-test"})).unwrap_err();
        assert_eq!(bad.code, "ValidationException");
    }

    #[test]
    fn expired_items_stay_readable_until_the_sweep() {
        let mut db = db();
        let spec = json!({"TableName": "ttl-test", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "ExpiresAt"}});
        db.call("UpdateTimeToLive", &spec).unwrap();
        // Past its expiry but not swept: reads still return it (AWS documents this).
        let got = db.call("GetItem", &json!({"TableName": "ttl-test", "Key": {"PK": {"S": "u"}, "SK": {"S": "old"}}})).unwrap();
        assert!(got.get("Item").is_some());
        let deleted = db.sweep_expired(11.0 + FIVE_YEARS_SECS);
        // "old" (1000) is due; "new" (5000) too at this time; "ancient" (1) is over five years
        // older than now and is left; a string or a missing attribute never expires.
        let deleted: Vec<&str> = deleted.iter().map(|(_, k)| k["SK"]["S"].as_str().unwrap()).collect();
        assert_eq!(deleted, ["new", "old"]);
        assert_eq!(keys(&mut db), ["ancient", "none", "str"]);
    }

    #[test]
    fn sweep_respects_the_expiry_and_disabled_tables() {
        let mut db = db();
        assert!(db.sweep_expired(10_000.0).is_empty(), "TTL not enabled: nothing is deleted");
        let spec = json!({"TableName": "ttl-test", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "ExpiresAt"}});
        db.call("UpdateTimeToLive", &spec).unwrap();
        let deleted = db.sweep_expired(1000.0);
        assert_eq!(deleted.len(), 2, "expiry 1000 is due at 1000, and so is 1: {deleted:?}");
        assert_eq!(keys(&mut db), ["new", "none", "str"]);
        assert_eq!(db.time_to_live_attribute("ttl-test"), Some("ExpiresAt"));
    }
}
