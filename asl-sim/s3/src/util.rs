//! Small helpers: deterministic ids, time formatting, digests, encodings.

use std::cell::Cell;

/// A deterministic id generator: UUIDv4-shaped strings from a seed and a counter.
/// Cloning copies the current position.
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
        splitmix64(self.seed ^ splitmix64(n.wrapping_add(0x9E37_79B9_7F4A_7C15)))
    }

    /// The next UUID (version 4 layout, lowercase hex).
    pub fn next_uuid(&self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
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

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// (year, month, day, hour, minute, second, millis) of a Unix time in milliseconds.
fn civil(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        ((sod % 3600) / 60) as u32,
        (sod % 60) as u32,
        millis,
    )
}

/// `2021-11-12T00:00:00Z` (the EventBridge event `time` format).
pub fn format_iso8601(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2021-11-12T00:00:00.000Z` (S3's ListObjects `LastModified` format).
pub fn format_iso8601_millis(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `Fri, 12 Nov 2021 00:00:00 GMT` (the `Last-Modified` HTTP header format).
pub fn format_http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s, _) = civil(ms);
    let wd = DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    let mon = MONTHS[(mo as usize).saturating_sub(1).min(11)];
    format!("{wd}, {d:02} {mon} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` to Unix milliseconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i];
        let f3: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = f3.parse().ok()?;
    }
    let offset_min: i64 = match s.get(i..) {
        Some("Z") | Some("z") => 0,
        Some(rest) if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && rest.as_bytes()[3] == b':' => {
            let hh: i64 = rest.get(1..3)?.parse().ok()?;
            let mm: i64 = rest.get(4..6)?.parse().ok()?;
            let v = hh * 60 + mm;
            if rest.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    // days_from_civil
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + millis)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub(crate) fn md5_bytes(data: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let out = Md5::digest(data);
    let mut a = [0u8; 16];
    a.copy_from_slice(out.as_slice());
    a
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&md5_bytes(data))
}

/// CRC-32 (IEEE, the `ChecksumCRC32` algorithm).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

pub(crate) fn b64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// `application/x-www-form-urlencoded` style, as classic S3 notifications encode keys:
/// space → `+`, unreserved characters and `/` kept, everything else `%XX`.
pub(crate) fn form_urlencode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-decoding (`%XX`); invalid escapes are kept literally. Returns `None` when the
/// result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = (b[i + 1] as char).to_digit(16);
            let l = (b[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert_eq!(format_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso8601(1_636_675_200_000), "2021-11-12T00:00:00Z");
        assert_eq!(format_iso8601_millis(1_636_675_200_123), "2021-11-12T00:00:00.123Z");
        assert_eq!(format_http_date(1_636_675_200_000), "Fri, 12 Nov 2021 00:00:00 GMT");
        assert_eq!(parse_iso8601("2021-11-12T00:00:00Z"), Some(1_636_675_200_000));
        assert_eq!(parse_iso8601("2021-11-12T01:00:00.5+01:00"), Some(1_636_675_200_500));
        assert_eq!(parse_iso8601("2021-13-12T00:00:00Z"), None);
        assert_eq!(parse_iso8601("garbage"), None);
        for ms in [0i64, 951_782_400_000, 4_102_444_800_000, 1_709_164_800_999] {
            assert_eq!(parse_iso8601(&format_iso8601_millis(ms)), Some(ms));
        }
    }

    #[test]
    fn digests() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"false"), "68934a3e9455fa72420237eb05902327");
        assert_eq!(b64_encode(&crc32(b"false").to_be_bytes()), "K81oMA==");
        assert_eq!(b64_encode(&crc32(b"0").to_be_bytes()), "9NvfIQ==");
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

    #[test]
    fn encodings() {
        assert_eq!(form_urlencode_key("red flower+x/é.jpg"), "red+flower%2Bx/%C3%A9.jpg");
        assert_eq!(percent_decode("a%20b%2Fc%zz%"), Some("a b/c%zz%".to_string()));
    }
}
