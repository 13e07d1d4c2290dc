//! serve as its own JWT issuer: one ECDSA P-256 key (ES256) kept in
//! `<data-dir>/jwt-signing-key.p8` (PKCS#8, created on first use by `serve` or `token`,
//! mode 0600). `asl-sim token` signs with it; serve's local authorizer verifies with
//! its public key and checks issuer, audience (or client_id), expiry and not-before,
//! as API Gateway's JWT authorizer does (reference §7.1). AWS never accepts these tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const KEY_FILE: &str = "jwt-signing-key.p8";
pub const KID: &str = "asl-sim-local";

pub struct Issuer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    pub key_path: PathBuf,
}

impl Issuer {
    /// Loads the key from `dir`, creating it (and `dir`) if needed.
    pub fn open(dir: &Path) -> Result<Issuer, String> {
        let path = dir.join(KEY_FILE);
        let rng = SystemRandom::new();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|_| "cannot generate a key".to_string())?;
                write_private(&path, doc.as_ref())?;
                doc.as_ref().to_vec()
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &bytes, &rng)
            .map_err(|_| format!("{} is not a PKCS#8 P-256 key; delete it to make a new one", path.display()))?;
        Ok(Issuer { pair, rng, key_path: path })
    }

    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": KID});
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.pair.sign(&self.rng, input.as_bytes()).map_err(|_| "signing failed".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }

    /// The public key as a JWKS document (served at `/.well-known/jwks.json`).
    pub fn jwks(&self) -> Value {
        let pk = self.pair.public_key().as_ref();
        // Uncompressed point: 0x04 || X (32) || Y (32).
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(&pk[1..33]), "y": URL_SAFE_NO_PAD.encode(&pk[33..65])}]})
    }

    /// Verifies a token as the JWT authorizer does; the error is the
    /// `error_description` API Gateway would give.
    pub fn verify(&self, token: &str, issuer: &str, audiences: &[String], now: i64) -> Result<Value, String> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err("the token is not a JWT".into());
        };
        let header: Value = decode_json(h).ok_or("the token header is not valid")?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err("the token's algorithm is not supported".into());
        }
        if header.get("kid").and_then(Value::as_str) != Some(KID) {
            return Err("the token's kid does not match a key of the issuer".into());
        }
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| "the token signature is not valid")?;
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.pair.public_key().as_ref());
        key.verify(format!("{h}.{c}").as_bytes(), &sig).map_err(|_| "signature verification failed".to_string())?;
        let claims: Value = decode_json(c).ok_or("the token claims are not valid")?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(format!("the token issuer does not match {issuer}"));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => audiences.contains(a),
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str().is_some_and(|x| audiences.iter().any(|y| y == x))),
            _ => claims.get("client_id").and_then(Value::as_str).is_some_and(|c| audiences.iter().any(|y| y == c)),
        };
        if !aud_ok {
            return Err("the token does not have a valid audience".into());
        }
        check_times(&claims, now)?;
        // The integrations identify the caller by `sub`: a token without one (or with a
        // number, an object, "") would act as a user nobody is.
        match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err("the token has no valid sub claim".into()),
        }
        Ok(claims)
    }
}

/// Leeway for clocks that differ a little (RFC 7519 §4.1.4 allows "some small leeway").
const LEEWAY_SECONDS: f64 = 5.0;

/// `exp` (required), `nbf` and `iat` (optional) are RFC 7519 NumericDates: JSON numbers,
/// integer or not. Any other type makes the token invalid, as API Gateway's JWT authorizer
/// validates them (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
/// `exp` after now, `nbf` and `iat` before now.
fn check_times(claims: &Value, now: i64) -> Result<(), String> {
    let now = now as f64;
    let date = |k: &str| -> Result<Option<f64>, String> {
        match claims.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| format!("the token's {k} claim is not a NumericDate")),
            Some(_) => Err(format!("the token's {k} claim is not a NumericDate")),
        }
    };
    match date("exp")? {
        None => return Err("the token has no exp claim".into()),
        Some(exp) if exp <= now => return Err("the token has expired".into()),
        Some(_) => {}
    }
    if date("nbf")?.is_some_and(|t| t > now + LEEWAY_SECONDS) {
        return Err("the token is not valid yet (nbf is in the future)".into());
    }
    if date("iat")?.is_some_and(|t| t > now + LEEWAY_SECONDS) {
        return Err("the token's iat is in the future".into());
    }
    Ok(())
}

fn decode_json(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    // Two processes racing to create the key: the first rename wins for both.
    if path.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Ok(());
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `90`, `90s`, `15m`, `1h`, `7d` → seconds (negative values allowed, for tests of expiry).
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1),
        (i, 'm') => (&s[..i], 60),
        (i, 'h') => (&s[..i], 3600),
        (i, 'd') => (&s[..i], 86_400),
        _ => (s, 1),
    };
    num.parse::<i64>().ok().map(|n| n * mult)
}

pub fn claims(user: &str, issuer: &str, audience: &str, now: i64, expires_in: i64) -> Value {
    json!({
        "sub": user,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "token_use": "id",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let dir = std::env::temp_dir().join(format!("asl-sim-jwt-{}", std::process::id()));
        let i = Issuer::open(&dir).unwrap();
        let aud = vec!["a".to_string()];
        let t = i.sign(&claims("alice", "iss", "a", 100, 60)).unwrap();
        assert_eq!(i.verify(&t, "iss", &aud, 120).unwrap()["sub"], "alice");
        assert!(i.verify(&t, "iss", &aud, 161).unwrap_err().contains("expired"));
        assert!(i.verify(&t, "other", &aud, 120).is_err());
        assert!(i.verify(&t, "iss", &["b".to_string()], 120).is_err());
        let mut tampered = t.clone();
        tampered.replace_range(t.len() - 3.., "AAA");
        assert!(i.verify(&tampered, "iss", &aud, 120).is_err());
        // The same key after a reload.
        let j = Issuer::open(&dir).unwrap();
        assert!(j.verify(&t, "iss", &aud, 120).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("-5m"), Some(-300));
    }

    /// The claims an attacker controls the types of (issue 18): each refused with its reason.
    #[test]
    fn claim_types_and_times() {
        let dir = std::env::temp_dir().join(format!("asl-sim-jwt-claims-{}", std::process::id()));
        let i = Issuer::open(&dir).unwrap();
        let aud = vec!["a".to_string()];
        let base = claims("alice", "iss", "a", 1000, 3600);
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v;
            }
            i.sign(&c).unwrap()
        };
        let check = |t: String| i.verify(&t, "iss", &aud, 1000);
        assert!(check(with("exp", json!(4600.5))).is_ok(), "a fractional exp is a NumericDate");
        for (k, v, why) in [
            ("sub", Value::Null, "sub"),
            ("sub", json!(""), "sub"),
            ("sub", json!(42), "sub"),
            ("sub", json!({"user": "alice"}), "sub"),
            ("exp", Value::Null, "no exp"),
            ("exp", json!("4600"), "NumericDate"),
            ("exp", json!(999.5), "expired"),
            ("nbf", json!(2000.5), "not valid yet"),
            ("nbf", json!("2000"), "NumericDate"),
            ("nbf", json!(true), "NumericDate"),
            ("iat", json!(2000.25), "iat"),
            ("iat", json!("1000"), "NumericDate"),
        ] {
            let e = check(with(k, v.clone())).expect_err(&format!("{k}={v} accepted"));
            assert!(e.contains(why), "{k}={v}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
