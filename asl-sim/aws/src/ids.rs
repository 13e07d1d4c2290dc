//! Deterministic ids and randomness: nothing here asks the OS. Callers seed it
//! (the CLI from the clock, tests and simulations from a fixed seed), so a run
//! replays exactly.
//!
//! One mixing function ([`splitmix64`]) serves both generators: [`SplitMix64`]
//! (a stream, for `States.MathRandom` and execution ids) and [`IdGen`] (a hash of
//! seed and counter, for the services' request, event and upload ids).

use std::cell::Cell;

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function of `x + γ`: a strong 64-bit mix of a counter or state.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: tiny, fast, and good enough for ids and `MathRandom`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        let out = splitmix64(self.0);
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        out
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A version-4 UUID from 128 random bits.
pub fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A deterministic id generator: UUIDv4-shaped strings from a seed and a counter.
/// Shared by reference (the counter is a `Cell`) so a `&CallContext` can draw ids;
/// cloning copies the current position.
#[derive(Debug, Clone)]
pub struct IdGen {
    seed: u64,
    counter: Cell<u64>,
}

impl IdGen {
    pub fn new(seed: u64) -> Self {
        IdGen { seed, counter: Cell::new(0) }
    }

    fn next_u64(&self) -> u64 {
        let n = self.counter.get();
        self.counter.set(n.wrapping_add(1));
        splitmix64(self.seed ^ splitmix64(n.wrapping_add(GOLDEN_GAMMA)))
    }

    /// The next UUID (version 4 layout, lowercase hex).
    pub fn next_uuid(&self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid_v4(hi, lo)
    }

    /// The next opaque token of `len` characters from `[A-Za-z0-9]`.
    pub fn next_token(&self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut v = self.next_u64();
        let mut left = 10;
        for _ in 0..len {
            if left == 0 {
                v = self.next_u64();
                left = 10;
            }
            out.push(ALPHABET[(v % 62) as usize] as char);
            v /= 62;
            left -= 1;
        }
        out
    }
}

/// The id stream of a service whose whole state is persisted as plain data (SQS, SNS): the
/// seed and how many values were drawn, so ids stay unique after a restart. Owners flatten
/// it into their serde form (`seed` and `counter` stay top-level fields of the stored state).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PersistedIds {
    seed: u64,
    counter: u64,
}

impl PersistedIds {
    pub fn new(seed: u64) -> Self {
        PersistedIds { seed, counter: 0 }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        splitmix64(self.seed ^ splitmix64(self.counter))
    }

    /// The next UUID (version 4 layout, lowercase hex).
    pub fn next_uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid_v4(hi, lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_stream_is_the_reference_sequence() {
        // The first outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn ids_are_deterministic_uuid_v4() {
        let a = IdGen::new(7);
        let b = IdGen::new(7);
        let x = a.next_uuid();
        assert_eq!(x, b.next_uuid());
        assert_ne!(x, a.next_uuid());
        assert_eq!(x.len(), 36);
        assert_eq!(&x[14..15], "4");
        assert!(matches!(&x[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(a.next_token(20).len(), 20);
    }
}
