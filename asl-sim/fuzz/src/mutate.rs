//! Inputs for the fuzz targets: a seed of the target's corpus changed by a short list of edits
//! (byte and token insertions, deletions, repetitions, splices with another seed), or now and
//! then raw bytes. Built from proptest strategies, so a failing input shrinks to few edits.

use proptest::prelude::*;

/// One change to an input. Offsets are taken modulo the input's length, so every edit applies
/// to every input and shrinking never produces an invalid edit list.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Insert a token of the target's dictionary (`token` modulo its length).
    Token { at: u32, token: u16 },
    /// Insert one byte.
    Byte { at: u32, byte: u8 },
    /// Overwrite one byte.
    Replace { at: u32, byte: u8 },
    /// Remove up to `len` bytes.
    Delete { at: u32, len: u8 },
    /// Repeat a span `times` more times: deep nesting, long strings, big numbers.
    Repeat { at: u32, len: u8, times: u8 },
    /// Insert a span of another seed.
    Splice { at: u32, seed: u16, from: u32, len: u16 },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<u32>(), any::<u16>()).prop_map(|(at, token)| Edit::Token { at, token }),
        2 => (any::<u32>(), any::<u8>()).prop_map(|(at, byte)| Edit::Byte { at, byte }),
        2 => (any::<u32>(), any::<u8>()).prop_map(|(at, byte)| Edit::Replace { at, byte }),
        2 => (any::<u32>(), 1u8..16).prop_map(|(at, len)| Edit::Delete { at, len }),
        1 => (any::<u32>(), 1u8..24, 1u8..64).prop_map(|(at, len, times)| Edit::Repeat { at, len, times }),
        1 => (any::<u32>(), any::<u16>(), any::<u32>(), 1u16..200).prop_map(|(at, seed, from, len)| Edit::Splice { at, seed, from, len }),
    ]
}

/// Applies `edits` to `seeds[index]`; every byte offset is clamped into the current input.
pub fn apply(seeds: &[Vec<u8>], dictionary: &[&str], index: usize, edits: &[Edit]) -> Vec<u8> {
    let mut out = seeds.get(index % seeds.len().max(1)).cloned().unwrap_or_default();
    let pos = |at: u32, len: usize| at as usize % (len + 1);
    for e in edits {
        match *e {
            Edit::Token { at, token } => {
                if let Some(t) = dictionary.get(token as usize % dictionary.len().max(1)) {
                    let p = pos(at, out.len());
                    out.splice(p..p, t.bytes());
                }
            }
            Edit::Byte { at, byte } => {
                let p = pos(at, out.len());
                out.insert(p, byte);
            }
            Edit::Replace { at, byte } => {
                if !out.is_empty() {
                    let p = at as usize % out.len();
                    out[p] = byte;
                }
            }
            Edit::Delete { at, len } => {
                let p = pos(at, out.len());
                let end = (p + len as usize).min(out.len());
                out.drain(p..end);
            }
            Edit::Repeat { at, len, times } => {
                let p = pos(at, out.len());
                let end = (p + len as usize).min(out.len());
                let span = out[p..end].to_vec();
                for _ in 0..times {
                    out.splice(end..end, span.iter().copied());
                }
            }
            Edit::Splice { at, seed, from, len } => {
                if let Some(other) = seeds.get(seed as usize % seeds.len().max(1)) {
                    let f = pos(from, other.len());
                    let end = (f + len as usize).min(other.len());
                    let p = pos(at, out.len());
                    out.splice(p..p, other[f..end].iter().copied());
                }
            }
        }
        // Inputs stay small: the targets are about structure, not volume (the size limits have
        // their own tests).
        out.truncate(64 * 1024);
    }
    out
}

/// The strategy of a target's inputs: mostly edited seeds, sometimes raw bytes.
pub fn inputs(seeds: Vec<Vec<u8>>, dictionary: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    let seeds = std::sync::Arc::new(seeds);
    prop_oneof![
        9 => (0..n, prop::collection::vec(edit(), 0..10))
            .prop_map(move |(i, edits)| apply(&seeds, dictionary, i, &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_to_any_input() {
        let seeds = vec![b"{\"a\": 1}".to_vec(), Vec::new()];
        let edits = [
            Edit::Token { at: 3, token: 0 },
            Edit::Repeat { at: 0, len: 1, times: 3 },
            Edit::Delete { at: 99, len: 2 },
            Edit::Splice { at: 0, seed: 0, from: 1, len: 3 },
            Edit::Replace { at: 7, byte: b'x' },
        ];
        let out = apply(&seeds, &["[["], 0, &edits);
        // {"a[[": 1}  ->  {{{{"a[[": 1}  ->  {{"a[[": 1}  ->  "a"{{"a[[": 1}  ->  "a"{{"ax[": 1}
        assert_eq!(String::from_utf8_lossy(&out), "\"a\"{{\"ax[\": 1}");
        // the empty seed only gets the splice, then the overwrite
        assert_eq!(apply(&seeds, &[], 1, &edits), b"\"x\"".to_vec());
    }
}
