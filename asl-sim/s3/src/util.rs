//! Small helpers of S3: digests and encodings. (Ids and time are asl-aws's.)

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

pub(crate) use asl_aws::crc32::crc32;

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
    fn digests() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"false"), "68934a3e9455fa72420237eb05902327");
        assert_eq!(b64_encode(&crc32(b"false").to_be_bytes()), "K81oMA==");
        assert_eq!(b64_encode(&crc32(b"0").to_be_bytes()), "9NvfIQ==");
    }

    #[test]
    fn encodings() {
        assert_eq!(form_urlencode_key("red flower+x/é.jpg"), "red+flower%2Bx/%C3%A9.jpg");
        assert_eq!(percent_decode("a%20b%2Fc%zz%"), Some("a b/c%zz%".to_string()));
    }
}
