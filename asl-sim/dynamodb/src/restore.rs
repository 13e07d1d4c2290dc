//! Putting stored items back at start-up, fast: a store with a million items must be
//! ready in well under a second (issue 12).
//!
//! Two things make it fast. Items are read straight from their stored DynamoDB JSON into
//! [`Item`]s by a serde visitor, without the `serde_json::Value` tree in between (which,
//! with `preserve_order`, is an index map per object: a third of the time). And decoding
//! is split from inserting: an [`ItemDecoder`] holds only the table's key schema, so it
//! can run on another thread while the table is filled ([`Database::restore_decoded`]).
//!
//! Stored items were valid when they were written, so the checks are those that keep the
//! table sound (one type per attribute, the key attributes present and of their types),
//! not PutItem's validation messages.

use crate::decimal::Decimal;
use crate::ops::{FullKey, KeyDef};
use crate::value::{base64_decode, item_size, AttrMap, AttrValue, Item, KeyVal};
use crate::{Database, KeyType};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// DynamoDB's own limit on nesting (`parse_attr` checks the same for requests).
const MAX_DEPTH: usize = 32;

/// Decodes one table's stored items: its key schema and nothing else (`Send + Sync`).
#[derive(Clone, Debug)]
pub struct ItemDecoder {
    key: KeyDef,
}

/// A stored item, decoded, with its key and size computed: what the table needs to take it.
#[derive(Debug)]
pub struct DecodedItem {
    key: FullKey,
    item: Item,
    size: usize,
}

impl ItemDecoder {
    /// Decodes one item from its stored DynamoDB JSON (`{"PK": {"S": "a"}, ...}`).
    pub fn decode(&self, stored: &[u8]) -> Result<DecodedItem, String> {
        let mut de = serde_json::Deserializer::from_slice(stored);
        let item = de.deserialize_map(MapVisitor { depth: 1 }).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        let key_of = |(name, t): &(String, KeyType)| -> Result<KeyVal, String> {
            let v = item.get(name).ok_or_else(|| format!("the key attribute {name} is missing"))?;
            match (t, v) {
                (KeyType::S, AttrValue::S(s)) => Ok(KeyVal::S(s.clone())),
                (KeyType::N, AttrValue::N(n)) => Ok(KeyVal::N(n.clone())),
                (KeyType::B, AttrValue::B(b)) => Ok(KeyVal::B(b.clone())),
                _ => Err(format!("the key attribute {name} is a {}, the table's key is {}", v.type_name(), t.name())),
            }
        };
        let hash = key_of(&self.key.hash)?;
        let range = self.key.range.as_ref().map(key_of).transpose()?;
        let size = item_size(&item);
        Ok(DecodedItem { key: (hash, range), item, size })
    }
}

impl Database {
    /// The decoder for a table's stored items; None if there is no such table.
    pub fn item_decoder(&self, table: &str) -> Option<ItemDecoder> {
        self.tables.get(table).map(|t| ItemDecoder { key: t.keydef() })
    }

    /// Puts a decoded item back (restart): no change is recorded, since it is what the
    /// store holds.
    pub fn restore_decoded(&mut self, table: &str, decoded: DecodedItem) -> Result<(), String> {
        let t = self.tables.get_mut(table).ok_or_else(|| format!("no table {table}"))?;
        let DecodedItem { key, item, size } = decoded;
        match t.data.entry(key.0).or_default().insert(key.1, item) {
            Some(old) => t.size_bytes -= item_size(&old),
            None => t.item_count += 1,
        }
        t.size_bytes += size;
        Ok(())
    }
}

/// An attribute map: a whole item, or the value of an `M`.
struct MapVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for MapVisitor {
    type Value = AttrMap;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of attribute names to attribute values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(name) = map.next_key::<crate::attrmap::Name>()? {
            let v = map.next_value_seed(AttrSeed { depth: self.depth })?;
            out.push((name, v));
        }
        Ok(out.into_iter().collect())
    }
}

impl<'de> DeserializeSeed<'de> for MapVisitor {
    type Value = AttrMap;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// One attribute value: `{"S": "..."}`, `{"N": "12"}`, `{"M": {...}}`, ...
#[derive(Clone, Copy)]
struct AttrSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for AttrSeed {
    type Value = AttrValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AttrValue, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("attributes nested deeper than DynamoDB allows"));
        }
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AttrSeed {
    type Value = AttrValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute value such as {\"S\": \"text\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttrValue, A::Error> {
        let mut found = None;
        while let Some(tag) = map.next_key::<TagName>()? {
            let v = match tag.0 {
                Tag::S => AttrValue::S(map.next_value()?),
                Tag::N => AttrValue::N(map.next_value_seed(NumberSeed)?),
                Tag::B => AttrValue::B(map.next_value_seed(BinarySeed)?),
                Tag::Bool => AttrValue::Bool(map.next_value()?),
                Tag::Null => {
                    let _: bool = map.next_value()?;
                    AttrValue::Null
                }
                Tag::SS => AttrValue::SS(map.next_value()?),
                Tag::NS => AttrValue::NS(map.next_value_seed(ListOf(NumberSeed))?),
                Tag::BS => AttrValue::BS(map.next_value_seed(ListOf(BinarySeed))?),
                Tag::M => AttrValue::M(map.next_value_seed(MapVisitor { depth: self.depth + 1 })?),
                Tag::L => AttrValue::L(map.next_value_seed(ListOf(AttrSeed { depth: self.depth + 1 }))?),
            };
            if found.replace(v).is_some() {
                return Err(de::Error::custom("an attribute value with more than one type"));
            }
        }
        found.ok_or_else(|| de::Error::custom("an attribute value with no type"))
    }
}

enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    SS,
    NS,
    BS,
    M,
    L,
}

/// A type tag, read without allocating.
struct TagName(Tag);

impl<'de> de::Deserialize<'de> for TagName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TagName, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TagName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute type (S, N, B, BOOL, NULL, SS, NS, BS, M, L)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TagName, E> {
                Ok(TagName(match s {
                    "S" => Tag::S,
                    "N" => Tag::N,
                    "B" => Tag::B,
                    "BOOL" => Tag::Bool,
                    "NULL" => Tag::Null,
                    "SS" => Tag::SS,
                    "NS" => Tag::NS,
                    "BS" => Tag::BS,
                    "M" => Tag::M,
                    "L" => Tag::L,
                    other => return Err(E::custom(format!("unknown attribute type {other:?}"))),
                }))
            }
        }
        d.deserialize_str(V)
    }
}

/// A number, from its text.
#[derive(Clone, Copy)]
struct NumberSeed;

impl<'de> DeserializeSeed<'de> for NumberSeed {
    type Value = Decimal;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decimal, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NumberSeed {
    type Value = Decimal;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number as a string")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Decimal, E> {
        Decimal::parse(s).map_err(|e| E::custom(e.message()))
    }
}

/// A binary value, from its base64 text.
#[derive(Clone, Copy)]
struct BinarySeed;

impl<'de> DeserializeSeed<'de> for BinarySeed {
    type Value = Vec<u8>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for BinarySeed {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("base64 text")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
        base64_decode(s).ok_or_else(|| E::custom("invalid base64"))
    }
}

/// A list whose members each decode with the same seed (`NS`, `BS`, `L`).
struct ListOf<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for ListOf<S> {
    type Value = Vec<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ListOf<S> {
    type Value = Vec<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self.0)? {
            out.push(v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db() -> Database {
        let mut db = Database::default();
        let req = json!({"TableName": "Files", "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "N"}], "BillingMode": "PAY_PER_REQUEST"});
        db.call("CreateTable", &req).expect("table");
        db
    }

    #[test]
    fn a_decoded_item_is_the_item_its_json_describes() {
        let mut db = db();
        let item = json!({"PK": {"S": "u"}, "SK": {"N": "12.50"}, "B": {"B": "AAEC"}, "T": {"BOOL": true}, "Z": {"NULL": true},
            "SS": {"SS": ["a", "b"]}, "NS": {"NS": ["1", "2e3"]}, "BS": {"BS": ["AA=="]},
            "M": {"M": {"x": {"L": [{"S": "y"}, {"M": {}}, {"N": "-0"}]}}}});
        let d = db.item_decoder("Files").expect("decoder");
        let decoded = d.decode(item.to_string().as_bytes()).expect("decodes");
        assert_eq!(decoded.item, crate::value::parse_item(&item).expect("parses"));
        db.restore_decoded("Files", decoded).expect("restored");
        let got = db.call("GetItem", &json!({"TableName": "Files", "Key": {"PK": {"S": "u"}, "SK": {"N": "12.5"}}})).expect("get");
        assert_eq!(got["Item"], crate::value::item_to_json(&crate::value::parse_item(&item).expect("parses")));
        let scan = db.call("Scan", &json!({"TableName": "Files"})).expect("scan");
        assert_eq!(scan["Count"], 1);
    }

    #[test]
    fn a_damaged_item_is_an_error_that_says_what_is_wrong() {
        let d = db().item_decoder("Files").expect("decoder");
        let cases = [
            (r#"{"PK": {"S": "u"}}"#, "the key attribute SK is missing"),
            (r#"{"PK": {"S": "u"}, "SK": {"S": "1"}}"#, "the key attribute SK is a S, the table's key is N"),
            (r#"{"PK": {"S": "u", "N": "1"}, "SK": {"N": "1"}}"#, "more than one type"),
            (r#"{"PK": {}, "SK": {"N": "1"}}"#, "no type"),
            (r#"{"PK": {"Q": "u"}, "SK": {"N": "1"}}"#, "unknown attribute type \"Q\""),
            (r#"{"PK": {"S": "u"}, "SK": {"N": "x"}}"#, "numeric"),
            (r#"{"PK": {"S": "u"}, "SK": {"N": "1"}} trailing"#, "trailing"),
            (r#"{"PK": {"S": "u"}, "SK": {"N": "1"}, "B": {"B": "!"}}"#, "base64"),
        ];
        for (text, want) in cases {
            let e = d.decode(text.as_bytes()).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
        let deep = format!("{}{{\"S\": \"x\"}}{}", "{\"L\": [".repeat(40), "]}".repeat(40));
        let e = d.decode(format!(r#"{{"PK": {{"S": "u"}}, "SK": {{"N": "1"}}, "D": {deep}}}"#).as_bytes()).expect_err("deep");
        assert!(e.contains("nested"), "{e}");
    }
}
