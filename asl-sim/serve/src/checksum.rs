//! S3's integrity checks on an uploaded body: `Content-MD5` and the `x-amz-checksum-*`
//! headers (or trailers of an `aws-chunked` body), checked against the data once it has
//! been read and unframed, before any handler stores it
//! (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
//! Errors, codes and messages are AWS's, from `aws-recorded/errors.jsonl`
//! (test_s3_invalid_content_md5, TestS3PutObjectChecksum).

use base64::Engine;

/// A refusal: S3 code, message and the extra elements of its error document (status 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestError {
    pub code: &'static str,
    pub message: String,
    pub extra: Vec<(String, String)>,
}

fn refuse(code: &'static str, message: impl Into<String>) -> DigestError {
    DigestError { code, message: message.into(), extra: Vec::new() }
}

/// The algorithms S3 accepts, by the suffix of their header (`x-amz-checksum-crc32`).
const ALGORITHMS: [(&str, &str); 5] = [("crc32", "CRC32"), ("crc32c", "CRC32C"), ("crc64nvme", "CRC64NVME"), ("sha1", "SHA1"), ("sha256", "SHA256")];

/// The body's checksum by one algorithm, as S3 writes it (base64 of the big-endian digest).
pub fn compute(algorithm: &str, data: &[u8]) -> Option<String> {
    use crc_fast::{checksum, CrcAlgorithm};
    let digest: Vec<u8> = match algorithm {
        "crc32" => (checksum(CrcAlgorithm::Crc32IsoHdlc, data) as u32).to_be_bytes().to_vec(),
        "crc32c" => (checksum(CrcAlgorithm::Crc32Iscsi, data) as u32).to_be_bytes().to_vec(),
        "crc64nvme" => checksum(CrcAlgorithm::Crc64Nvme, data).to_be_bytes().to_vec(),
        "sha1" => ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec(),
        "sha256" => ring::digest::digest(&ring::digest::SHA256, data).as_ref().to_vec(),
        _ => return None,
    };
    Some(base64::engine::general_purpose::STANDARD.encode(digest))
}

fn digest_len(algorithm: &str) -> usize {
    match algorithm {
        "crc32" | "crc32c" => 4,
        "crc64nvme" => 8,
        "sha1" => 20,
        _ => 32,
    }
}

/// The checksum a request asked for and S3 verified: its algorithm and value, for the response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub algorithm: &'static str,
    pub value: String,
}

/// Checks a body against the request's `Content-MD5`, when sent (any S3 request).
pub fn content_md5(headers: &[(String, String)], body: &[u8]) -> Result<(), DigestError> {
    match headers.iter().find(|(k, _)| k == "content-md5") {
        Some((_, md5)) => check_md5(md5.trim(), body),
        None => Ok(()),
    }
}

/// Checks the data of an upload (PutObject, UploadPart; without any aws-chunked framing)
/// against its `Content-MD5` and its one `x-amz-checksum-*` value, from `headers` or, for
/// a streaming upload that declared it in `x-amz-trailer`, from `trailers`.
/// (CompleteMultipartUpload's checksum headers are the object's, not its body's: not checked here.)
pub fn check(headers: &[(String, String)], trailers: &[(String, String)], data: &[u8]) -> Result<Option<Verified>, DigestError> {
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    content_md5(headers, data)?;
    if let Some(alg) = get("x-amz-sdk-checksum-algorithm") {
        // Not recorded for PutObject; CreateMultipartUpload's recorded refusal of an unknown algorithm.
        if !ALGORITHMS.iter().any(|(_, upper)| upper.eq_ignore_ascii_case(alg)) {
            return Err(refuse(
                "InvalidRequest",
                "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
            ));
        }
    }
    let declared_trailer = get("x-amz-trailer").map(|t| t.to_ascii_lowercase());
    let mut given: Vec<(&'static str, &'static str, &str)> = Vec::new();
    for (suffix, upper) in ALGORITHMS {
        let name = format!("x-amz-checksum-{suffix}");
        if let Some(v) = get(&name) {
            given.push((suffix, upper, v));
        }
        if declared_trailer.as_deref() == Some(name.as_str()) {
            // A declared trailer that never came is a broken body: S3's MalformedTrailerError.
            let Some(v) = trailers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.trim()) else {
                return Err(refuse(
                    "MalformedTrailerError",
                    "The request contained trailing data that was not well-formed or did not conform to our published schema.",
                ));
            };
            given.push((suffix, upper, v));
        }
    }
    if given.len() > 1 {
        return Err(refuse("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."));
    }
    let Some((suffix, upper, value)) = given.pop() else { return Ok(None) };
    let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok();
    if decoded.is_none_or(|d| d.len() != digest_len(suffix)) {
        return Err(refuse("InvalidRequest", format!("Value for x-amz-checksum-{suffix} header is invalid.")));
    }
    let computed = compute(suffix, data).unwrap_or_default();
    if computed != value {
        return Err(refuse("BadDigest", format!("The {upper} you specified did not match the calculated checksum.")));
    }
    Ok(Some(Verified { algorithm: suffix, value: computed }))
}

fn check_md5(given: &str, data: &[u8]) -> Result<(), DigestError> {
    use md5::Digest;
    let Some(expected) = base64::engine::general_purpose::STANDARD.decode(given).ok().filter(|d| d.len() == 16) else {
        let mut e = refuse("InvalidDigest", "The Content-MD5 you specified was invalid.");
        e.extra.push(("Content-MD5".into(), given.to_string()));
        return Err(e);
    };
    let computed = md5::Md5::digest(data);
    if computed.as_slice() != expected.as_slice() {
        // As recorded: the client's digest in hex, S3's in base64.
        let mut e = refuse("BadDigest", "The Content-MD5 you specified did not match what we received.");
        e.extra.push(("ExpectedDigest".into(), expected.iter().map(|b| format!("{b:02x}")).collect()));
        e.extra.push(("CalculatedDigest".into(), base64::engine::general_purpose::STANDARD.encode(computed)));
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Known values: "hello world" under each algorithm (as the AWS SDKs compute them).
    #[test]
    fn known_checksums() {
        assert_eq!(compute("crc32", b"hello world").unwrap(), "DUoRhQ==");
        assert_eq!(compute("crc32c", b"hello world").unwrap(), "yZRlqg==");
        assert_eq!(compute("sha1", b"hello world").unwrap(), "Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
        assert_eq!(compute("sha256", b"hello world").unwrap(), "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=");
        assert_eq!(compute("crc64nvme", b"hello world").unwrap().len(), 12);
        assert_eq!(compute("md4", b"x"), None);
    }

    #[test]
    fn content_md5() {
        // MD5("hello") = 5d41402abc4b2a76b9719d911017c592.
        let good = "XUFAKrxLKna5cZ2REBfFkg==";
        assert_eq!(check(&h(&[("content-md5", good)]), &[], b"hello"), Ok(None));
        let e = check(&h(&[("content-md5", good)]), &[], b"hellO").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("BadDigest", "The Content-MD5 you specified did not match what we received."));
        assert_eq!(e.extra[0], ("ExpectedDigest".to_string(), "5d41402abc4b2a76b9719d911017c592".to_string()));
        let e = check(&h(&[("content-md5", "__invalid__")]), &[], b"hello").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("InvalidDigest", "The Content-MD5 you specified was invalid."));
        assert_eq!(e.extra, vec![("Content-MD5".to_string(), "__invalid__".to_string())]);
        // Valid base64 of the wrong length is invalid too.
        assert_eq!(check(&h(&[("content-md5", "AAAA")]), &[], b"").unwrap_err().code, "InvalidDigest");
    }

    #[test]
    fn checksum_headers_and_trailers() {
        let ok = check(&h(&[("x-amz-checksum-crc32", "DUoRhQ==")]), &[], b"hello world").unwrap();
        assert_eq!(ok, Some(Verified { algorithm: "crc32", value: "DUoRhQ==".into() }));
        let e = check(&h(&[("x-amz-checksum-crc32", "DUoRhQ==")]), &[], b"hello World").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("BadDigest", "The CRC32 you specified did not match the calculated checksum."));
        let e = check(&h(&[("x-amz-checksum-sha256", "abc")]), &[], b"x").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid."));
        let two = h(&[("x-amz-checksum-crc32", "DUoRhQ=="), ("x-amz-checksum-crc32c", "yZRlqg==")]);
        assert_eq!(check(&two, &[], b"hello world").unwrap_err().message, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
        // Declared as a trailer: its value is the trailer's; a missing trailer is a broken body.
        let declared = h(&[("x-amz-trailer", "x-amz-checksum-crc32c")]);
        assert!(check(&declared, &h(&[("x-amz-checksum-crc32c", "yZRlqg==")]), b"hello world").unwrap().is_some());
        assert_eq!(check(&declared, &h(&[("x-amz-checksum-crc32c", "yZRlqg==")]), b"hello").unwrap_err().code, "BadDigest");
        assert_eq!(check(&declared, &[], b"hello").unwrap_err().code, "MalformedTrailerError");
        assert_eq!(check(&h(&[("x-amz-sdk-checksum-algorithm", "MD4")]), &[], b"").unwrap_err().code, "InvalidRequest");
        assert_eq!(check(&h(&[("x-amz-sdk-checksum-algorithm", "CRC32")]), &[], b""), Ok(None));
    }
}
