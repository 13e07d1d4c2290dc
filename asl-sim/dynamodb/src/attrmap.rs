//! `AttrMap`: the attribute map of an item or of an `M` value, kept compact.
//!
//! Why not a `BTreeMap<String, AttrValue>`: an item has a handful of attributes, and a B-tree
//! leaf reserves room for eleven (about 700 bytes whatever the item holds) plus one heap string
//! per name. With a million items that overhead was most of serve's memory and of its restart
//! time. Here the attributes sit in one exactly-sized vector sorted by name (lookups are binary
//! searches, iteration is in name order as before), and names of up to 24 bytes live inline in
//! a `CompactString`, so most names allocate nothing.
//!
//! Invariant: names are unique and strictly ascending in byte order (the order `BTreeMap<String, _>`
//! iterated in, which the wire output and the item-size arithmetic rely on).

use crate::value::AttrValue;
use compact_str::CompactString;
use std::fmt;

/// An attribute name: inline up to 24 bytes.
pub type Name = CompactString;

#[derive(Clone, Default, PartialEq)]
pub struct AttrMap {
    entries: Vec<(Name, AttrValue)>,
}

impl AttrMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        AttrMap { entries: Vec::with_capacity(n) }
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.find(name).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut AttrValue> {
        match self.find(name) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; returns the value it replaces, as `BTreeMap::insert` does.
    pub fn insert(&mut self, name: impl AsRef<str>, value: AttrValue) -> Option<AttrValue> {
        let name = name.as_ref();
        match self.find(name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (Name::from(name), value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<AttrValue> {
        match self.find(name) {
            Ok(i) => Some(self.entries.remove(i).1),
            Err(_) => None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes in ascending name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &AttrValue)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&str, &mut AttrValue)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &AttrValue> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut AttrValue> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut AttrValue) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k.as_str(), v));
    }

    /// Drops spare capacity: items that are stored for long are built once and then kept.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }

    /// Bytes this map holds on the heap beyond its own header (for memory accounting in tests
    /// and benchmarks; values' own heap parts are not counted).
    pub fn entry_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(Name, AttrValue)>()
    }

    /// Builds from entries in any order, the later of two equal names winning (as collecting
    /// into a `BTreeMap` does).
    fn from_unsorted(mut entries: Vec<(Name, AttrValue)>) -> Self {
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            // A stable sort keeps equal names in input order; keep the last of each run.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Name, AttrValue)> = Vec::with_capacity(entries.len());
            for e in entries {
                match out.last_mut() {
                    Some(last) if last.0 == e.0 => *last = e,
                    _ => out.push(e),
                }
            }
            entries = out;
        }
        entries.shrink_to_fit();
        AttrMap { entries }
    }
}

impl fmt::Debug for AttrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>> FromIterator<(K, AttrValue)> for AttrMap {
    fn from_iter<I: IntoIterator<Item = (K, AttrValue)>>(iter: I) -> Self {
        AttrMap::from_unsorted(iter.into_iter().map(|(k, v)| (Name::from(k.as_ref()), v)).collect())
    }
}

impl<K: AsRef<str>> Extend<(K, AttrValue)> for AttrMap {
    fn extend<I: IntoIterator<Item = (K, AttrValue)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: AsRef<str>, const N: usize> From<[(K, AttrValue); N]> for AttrMap {
    fn from(entries: [(K, AttrValue); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl IntoIterator for AttrMap {
    type Item = (Name, AttrValue);
    type IntoIter = std::vec::IntoIter<(Name, AttrValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a AttrMap {
    type Item = (&'a str, &'a AttrValue);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Name, AttrValue)>, fn(&'a (Name, AttrValue)) -> (&'a str, &'a AttrValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<'a> IntoIterator for &'a mut AttrMap {
    type Item = (&'a str, &'a mut AttrValue);
    type IntoIter =
        std::iter::Map<std::slice::IterMut<'a, (Name, AttrValue)>, fn(&'a mut (Name, AttrValue)) -> (&'a str, &'a mut AttrValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn s(v: &str) -> AttrValue {
        AttrValue::S(v.to_string())
    }

    #[test]
    fn behaves_as_the_btreemap_it_replaces() {
        // The same operations on both, in an order that exercises inserts before, between and
        // after existing names, replacement, removal and duplicates in FromIterator.
        let ops: &[(&str, Option<&str>)] = &[
            ("m", Some("1")),
            ("a", Some("2")),
            ("z", Some("3")),
            ("m", Some("4")),
            ("a", None),
            ("b", Some("5")),
            ("a-name-longer-than-twenty-four-bytes", Some("6")),
            ("q", None),
            ("", Some("7")),
        ];
        let mut ours = AttrMap::new();
        let mut theirs: BTreeMap<String, AttrValue> = BTreeMap::new();
        for (name, value) in ops {
            match value {
                Some(v) => assert_eq!(ours.insert(name, s(v)), theirs.insert(name.to_string(), s(v))),
                None => assert_eq!(ours.remove(name), theirs.remove(*name)),
            }
            assert!(ours.iter().map(|(k, v)| (k.to_string(), v.clone())).eq(theirs.clone()));
            assert_eq!(ours.len(), theirs.len());
        }
        assert_eq!(ours.get("m"), Some(&s("4")));
        assert!(ours.contains_key("") && !ours.contains_key("a"));
        let collected: AttrMap = [("b", s("x")), ("a", s("y")), ("b", s("z"))].into();
        assert_eq!(collected.iter().collect::<Vec<_>>(), [("a", &s("y")), ("b", &s("z"))]);
        let mut kept = collected.clone();
        kept.retain(|k, _| k != "a");
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn is_smaller_than_a_btree_leaf() {
        let item: AttrMap = (0..5).map(|i| (format!("attr{i}"), AttrValue::Bool(true))).collect();
        // Five entries, exactly sized: far below the ~700 bytes of a B-tree leaf.
        assert_eq!(item.entry_bytes(), 5 * std::mem::size_of::<(Name, AttrValue)>());
        assert!(item.entry_bytes() < 400, "{}", item.entry_bytes());
    }
}
