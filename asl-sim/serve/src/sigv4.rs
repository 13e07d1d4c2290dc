//! SigV4 verification of requests to the AWS endpoint, header-signed and presigned.
//!
//! aws-sigv4 (the SDKs' own signer) has no verify API, so a request is verified by
//! signing it again with the same inputs (the signed headers the client named, its
//! date, region and service, the configured secret) and comparing the signatures in
//! constant time. The checks run in the order S3 uses (reference §6.3): parameters,
//! algorithm, credential date, clock skew, expiry, access key, signature.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const MAX_EXPIRES: u64 = 604_800;
const MAX_SKEW_SECONDS: i64 = 900;

/// The request as received.
pub struct Request<'a> {
    pub method: &'a str,
    /// Path as sent (still percent-encoded).
    pub path: &'a str,
    /// Raw query string (without `?`).
    pub query: &'a str,
    /// Lower-cased names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Why a request was refused: an S3-style code, message, HTTP status and extra elements.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub extra: Vec<(String, String)>,
}

impl AuthError {
    fn new(code: &'static str, message: impl Into<String>, status: u16) -> Self {
        AuthError { code, message: message.into(), status, extra: Vec::new() }
    }
    fn mismatch() -> Self {
        AuthError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            403,
        )
    }
}

/// Which service a request was signed for (from its credential scope).
#[derive(Debug, Clone)]
pub struct Verified {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

pub struct Keys {
    pub access_key: String,
    pub secret_key: String,
}

fn header<'a>(req: &'a Request<'_>, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Query parameters, decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `20130524T000000Z` → seconds since the epoch.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.ends_with('Z') || s.as_bytes()[8] != b'T' {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let days = asl_core::time::days_from_civil(n(0, 4)?, n(4, 6)?, n(6, 8)?);
    Some(days * 86_400 + n(9, 11)? * 3600 + n(11, 13)? * 60 + n(13, 15)?)
}

fn iso(secs: i64) -> String {
    asl_aws::time::format_iso8601(secs * 1000)
}

struct Scope {
    access_key: String,
    date: String,
    region: String,
    service: String,
}

fn parse_credential(c: &str) -> Option<Scope> {
    let parts: Vec<&str> = c.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" {
        return None;
    }
    Some(Scope { access_key: parts[0].into(), date: parts[1].into(), region: parts[2].into(), service: parts[3].into() })
}

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Is the request signed at all (header or query)?
pub fn is_signed(req: &Request<'_>) -> bool {
    header(req, "authorization").is_some() || query_pairs(req.query).iter().any(|(k, _)| k == "X-Amz-Signature" || k == "Signature")
}

/// S3's legacy SigV2 query authentication (`AWSAccessKeyId`, `Expires`, `Signature`), which
/// older clients (AWS CLI v1's `s3 presign`, older boto3) still produce. HMAC-SHA1 from ring.
fn verify_v2_presigned(req: &Request<'_>, q: &[(String, String)], keys: &Keys, now: i64) -> Result<Verified, AuthError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(ak), Some(expires), Some(sig)) = (get("AWSAccessKeyId"), get("Expires"), get("Signature")) else {
        return Err(AuthError::new("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters", 403));
    };
    let expires: i64 = expires
        .parse()
        .map_err(|_| AuthError::new("AccessDenied", "Invalid date (should be seconds since epoch): ".to_string() + expires, 403))?;
    if now > expires {
        let mut e = AuthError::new("AccessDenied", "Request has expired", 403);
        e.extra = vec![("Expires".into(), iso(expires)), ("ServerTime".into(), iso(now))];
        return Err(e);
    }
    if ak != keys.access_key {
        return Err(invalid_key(ak));
    }
    // The sub-resources that are part of the canonical resource, sorted.
    const SUB: &[&str] = &[
        "acl", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy", "requestPayment",
        "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    ];
    let mut subs: Vec<&(String, String)> = q.iter().filter(|(k, _)| SUB.contains(&k.as_str())).collect();
    subs.sort();
    let mut resource = req.path.to_string();
    for (i, (k, v)) in subs.iter().enumerate() {
        resource.push(if i == 0 { '?' } else { '&' });
        resource.push_str(k);
        if !v.is_empty() {
            resource.push('=');
            resource.push_str(v);
        }
    }
    let mut amz: Vec<(&str, &str)> = req.headers.iter().filter(|(k, _)| k.starts_with("x-amz-")).map(|(k, v)| (k.as_str(), v.trim())).collect();
    amz.sort();
    let amz: String = amz.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let sts = format!(
        "{}\n{}\n{}\n{expires}\n{amz}{resource}",
        req.method,
        header(req, "content-md5").unwrap_or(""),
        header(req, "content-type").unwrap_or("")
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, keys.secret_key.as_bytes());
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, sts.as_bytes()).as_ref());
    compare(&expected, sig)?;
    Ok(Verified { access_key: ak.to_string(), region: super::template::REGION.into(), service: "s3".into() })
}

pub fn verify(req: &Request<'_>, keys: &Keys, now: i64) -> Result<Verified, AuthError> {
    let q = query_pairs(req.query);
    if q.iter().any(|(k, _)| k == "X-Amz-Signature") {
        return verify_presigned(req, &q, keys, now);
    }
    if q.iter().any(|(k, _)| k == "AWSAccessKeyId") && q.iter().any(|(k, _)| k == "Signature") {
        return verify_v2_presigned(req, &q, keys, now);
    }
    let Some(auth) = header(req, "authorization") else {
        return Err(AuthError::new("AccessDenied", "Access Denied", 403));
    };
    verify_header(req, auth, keys, now)
}

fn verify_presigned(req: &Request<'_>, q: &[(String, String)], keys: &Keys, now: i64) -> Result<Verified, AuthError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let bad_params = || {
        AuthError::new("AuthorizationQueryParametersError", "The authorization query parameters that you provided are not valid.", 400)
    };
    let (Some(alg), Some(cred), Some(date), Some(expires), Some(signed), Some(sig)) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    ) else {
        return Err(bad_params());
    };
    if alg != "AWS4-HMAC-SHA256" {
        return Err(AuthError::new(
            "AuthorizationQueryParametersError",
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            400,
        ));
    }
    let scope = parse_credential(cred).ok_or_else(bad_params)?;
    let t = parse_amz_date(date).ok_or_else(bad_params)?;
    let expires: u64 = expires.parse().map_err(|_| bad_params())?;
    if expires > MAX_EXPIRES {
        return Err(AuthError::new(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
            400,
        ));
    }
    if !date.starts_with(&scope.date) {
        return Err(AuthError::mismatch());
    }
    if t - now > MAX_SKEW_SECONDS {
        return Err(AuthError::new("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", 403));
    }
    if now - t > expires as i64 {
        let mut e = AuthError::new("AccessDenied", "Request has expired", 403);
        e.extra = vec![
            ("X-Amz-Expires".into(), expires.to_string()),
            ("Expires".into(), iso(t + expires as i64)),
            ("ServerTime".into(), iso(now)),
        ];
        return Err(e);
    }
    if scope.access_key != keys.access_key {
        return Err(invalid_key(&scope.access_key));
    }
    // Everything but the signature parameters is signed as an ordinary parameter.
    let sig_params = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"];
    let rest: Vec<&str> = req
        .query
        .split('&')
        .filter(|kv| !kv.is_empty() && !sig_params.contains(&decode(kv.split('=').next().unwrap_or("")).as_str()))
        .collect();
    let body = match get("X-Amz-Content-Sha256") {
        Some(h) => SignableBody::Precomputed(h.to_string()),
        None => SignableBody::UnsignedPayload,
    };
    let expected = resign(req, &rest.join("&"), signed, body, &scope, t, keys, SignatureLocation::QueryParams, Some(expires))?;
    compare(&expected, sig)?;
    Ok(Verified { access_key: scope.access_key, region: scope.region, service: scope.service })
}

fn invalid_key(ak: &str) -> AuthError {
    let mut e = AuthError::new("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403);
    e.extra.push(("AWSAccessKeyId".into(), ak.to_string()));
    e
}

fn verify_header(req: &Request<'_>, auth: &str, keys: &Keys, now: i64) -> Result<Verified, AuthError> {
    let malformed = || AuthError::new("AuthorizationHeaderMalformed", "The authorization header that you provided is not valid.", 400);
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        AuthError::new("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.", 400)
    })?;
    let mut cred = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let (Some(cred), Some(signed), Some(sig)) = (cred, signed, sig) else { return Err(malformed()) };
    let scope = parse_credential(cred).ok_or_else(malformed)?;
    let date = header(req, "x-amz-date").ok_or_else(|| {
        AuthError::new("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)
    })?;
    let t = parse_amz_date(date).ok_or_else(malformed)?;
    if !date.starts_with(&scope.date) {
        return Err(AuthError::mismatch());
    }
    if (t - now).abs() > MAX_SKEW_SECONDS {
        return Err(AuthError::new("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", 403));
    }
    if scope.access_key != keys.access_key {
        return Err(invalid_key(&scope.access_key));
    }
    let body = match header(req, "x-amz-content-sha256") {
        Some(h) => SignableBody::Precomputed(h.to_string()),
        None => SignableBody::Bytes(req.body),
    };
    let expected = resign(req, req.query, signed, body, &scope, t, keys, SignatureLocation::Headers, None)?;
    compare(&expected, sig)?;
    Ok(Verified { access_key: scope.access_key, region: scope.region, service: scope.service })
}

#[allow(clippy::too_many_arguments)]
fn resign(
    req: &Request<'_>,
    query: &str,
    signed_headers: &str,
    body: SignableBody<'_>,
    scope: &Scope,
    t: i64,
    keys: &Keys,
    location: SignatureLocation,
    expires: Option<u64>,
) -> Result<String, AuthError> {
    let names: Vec<&str> = signed_headers.split(';').collect();
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !headers.iter().any(|(k, _)| *k == "host") {
        return Err(AuthError::mismatch());
    }
    let host = header(req, "host").unwrap_or("localhost");
    let uri = if query.is_empty() { format!("http://{host}{}", req.path) } else { format!("http://{host}{}?{query}", req.path) };
    let signable = SignableRequest::new(req.method, uri, headers.into_iter(), body).map_err(|_| AuthError::mismatch())?;
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = expires.map(Duration::from_secs);
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    // Only what the client signed is passed in, so nothing is excluded here.
    settings.excluded_headers = None;
    if scope.service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let identity = Credentials::new(&keys.access_key, &keys.secret_key, None, None, "asl-sim").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(UNIX_EPOCH + Duration::from_secs(t.max(0) as u64))
        .settings(settings)
        .build()
        .map_err(|_| AuthError::mismatch())?;
    let out = sign(signable, &params.into()).map_err(|_| AuthError::mismatch())?;
    Ok(out.signature().to_string())
}

fn compare(expected: &str, given: &str) -> Result<(), AuthError> {
    let a = expected.as_bytes();
    let b = given.as_bytes();
    let mut diff = (a.len() ^ b.len()) as u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    if diff == 0 {
        Ok(())
    } else {
        Err(AuthError::mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's presigned URL example (reference §6.2).
    #[test]
    fn aws_presigned_example() {
        let headers = vec![("host".to_string(), "examplebucket.s3.amazonaws.com".to_string())];
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let req = Request { method: "GET", path: "/test.txt", query, headers: &headers, body: b"" };
        let keys = Keys { access_key: "AKIAIOSFODNN7EXAMPLE".into(), secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into() };
        let t = parse_amz_date("20130524T000000Z").unwrap();
        assert!(verify(&req, &keys, t + 10).is_ok());
        assert_eq!(verify(&req, &keys, t + 86_401).unwrap_err().message, "Request has expired");
        let tampered = query.replace("d404", "d405");
        let req2 = Request { query: &tampered, ..req };
        assert_eq!(verify(&req2, &keys, t + 10).unwrap_err().code, "SignatureDoesNotMatch");
        let req3 = Request { method: "PUT", path: "/test.txt", query, headers: &headers, body: b"" };
        assert_eq!(verify(&req3, &keys, t + 10).unwrap_err().code, "SignatureDoesNotMatch");
    }

    /// AWS's SigV2 query-string example (S3 developer guide, "Query string request authentication").
    #[test]
    fn sigv2_presigned_example() {
        let headers = vec![("host".to_string(), "s3.amazonaws.com".to_string())];
        let query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D";
        let req = Request { method: "GET", path: "/johnsmith/photos/puppy.jpg", query, headers: &headers, body: b"" };
        let keys = Keys { access_key: "AKIAIOSFODNN7EXAMPLE".into(), secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into() };
        assert!(verify(&req, &keys, 1175139000).is_ok());
        assert_eq!(verify(&req, &keys, 1175139621).unwrap_err().message, "Request has expired");
        let req2 = Request { path: "/johnsmith/photos/kitten.jpg", ..req };
        assert_eq!(verify(&req2, &keys, 1175139000).unwrap_err().code, "SignatureDoesNotMatch");
    }
}
