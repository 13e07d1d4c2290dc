//! The attacks of issue 18 on serve's front doors, each refused with AWS's (or API
//! Gateway's) status and error, and each checked to have changed nothing.

use super::*;
use wire::{head_with, sign_request};
use std::net::TcpStream;


fn send(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> HttpResp {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http(method, url, &h, body)
}

fn sha256(b: &[u8]) -> String {
    asl_serve::sigv4::sha256_hex(b)
}

fn object(s: &Serve, key: &str) -> Option<Vec<u8>> {
    let url = format!("{}/{BUCKET}/{key}", s.aws());
    let r = send("GET", &url, &sign_request("s3", "GET", &url, &[("x-amz-content-sha256", &sha256(b""))], b""), b"");
    match r.status {
        200 => Some(r.body),
        404 => None,
        other => panic!("GET {key}: {other} {}", r.text()),
    }
}

fn put_object(s: &Serve, key: &str, body: &[u8]) {
    let url = format!("{}/{BUCKET}/{key}", s.aws());
    let r = send("PUT", &url, &sign_request("s3", "PUT", &url, &[("x-amz-content-sha256", &sha256(body))], body), body);
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Everything a request could change: the bucket's listing (keys, ETags, sizes, times)
/// and every item of the inventory table, once background executions have settled (two
/// reads 300 ms apart agree). Compared before and after an attack: a refusal changes nothing.
fn settled(s: &Serve) -> (String, Value) {
    let read = || {
        let url = format!("{}/{BUCKET}?list-type=2", s.aws());
        let list = send("GET", &url, &sign_request("s3", "GET", &url, &[("x-amz-content-sha256", &sha256(b""))], b""), b"");
        assert_eq!(list.status, 200, "{}", list.text());
        let url = format!("{}/", s.aws());
        let body = json!({"TableName": TABLE, "ConsistentRead": true}).to_string();
        let h = sign_request("dynamodb", "POST", &url, &[("content-type", "application/x-amz-json-1.0"), ("x-amz-target", "DynamoDB_20120810.Scan")], body.as_bytes());
        let scan = send("POST", &url, &h, body.as_bytes());
        assert_eq!(scan.status, 200, "{}", scan.text());
        let mut items: Vec<String> = scan.json()["Items"].as_array().unwrap().iter().map(Value::to_string).collect();
        items.sort();
        (list.text(), json!(items))
    };
    let mut last = read();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(300));
        let now = read();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the data never settled");
}

/// A presigned PUT URL from the file manager's own API (signs content-length;host only).
/// Uploads `docs/NAME` through its create URL; the URL.
fn uploaded(s: &Serve, token: &str, name: &str, body: &[u8]) -> String {
    let url = create_url(s, token, name, body.len());
    assert_eq!(http("PUT", &url, &[("content-length", &body.len().to_string())], body).status, 200);
    url
}

fn create_url(s: &Serve, token: &str, name: &str, size: usize) -> String {
    let r = api_call(s, "POST", "/files/create", Some(token), &json!({"path": "docs/", "name": name, "size": size}));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["url"].as_str().unwrap().to_string()
}

/// Guards 022ef06's unsigned-x-amz-* rule (undo_fixes.py 1): without it bob's copy of alice's file succeeds.
#[test]
fn presigned_put_with_unsigned_amz_headers_is_refused() {
    let s = Serve::start(&[]);
    put_object(&s, "alice/docs/secret.txt", b"alice's secret");
    let bob = s.token("bob", 3600);
    // Bob's own size-0 URL with alice's file as an unsigned copy source.
    let url = create_url(&s, &bob, "stolen.txt", 0);
    let meta_url = create_url(&s, &bob, "meta.txt", 2);
    let before = settled(&s);
    let r = http("PUT", &url, &[("content-length", "0"), ("x-amz-copy-source", &format!("/{BUCKET}/alice/docs/secret.txt"))], b"");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<Code>AccessDenied</Code><Message>There were headers present in the request which were not signed</Message>"), "{}", r.text());
    assert!(r.text().contains("<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>"), "{}", r.text());
    assert_eq!(object(&s, "bob/docs/stolen.txt"), None, "the copy happened");
    // Unsigned user metadata rides on nobody's signature either.
    let url = meta_url;
    let r = http("PUT", &url, &[("content-length", "2"), ("x-amz-meta-owner", "alice")], b"hi");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<HeadersNotSigned>x-amz-meta-owner</HeadersNotSigned>"), "{}", r.text());
    assert_eq!(object(&s, "bob/docs/meta.txt"), None);
    assert_eq!(settled(&s), before, "a refused request changed the data");
    // The same URL without the extra header works.
    assert_eq!(http("PUT", &url, &[("content-length", "2")], b"hi").status, 200);
    assert_eq!(object(&s, "bob/docs/meta.txt").as_deref(), Some(b"hi".as_slice()));
}

/// Guards 022ef06's payload-hash check (undo_fixes.py 2): without it the replay replaces the object.
#[test]
fn header_signed_put_replayed_with_another_body_is_refused() {
    let s = Serve::start(&[]);
    let url = format!("{}/{BUCKET}/alice/docs/a.txt", s.aws());
    let body = b"the original";
    let headers = sign_request("s3", "PUT", &url, &[("x-amz-content-sha256", &sha256(body))], body);
    assert_eq!(send("PUT", &url, &headers, body).status, 200);
    let before = settled(&s);
    // Same signed headers, another body of the same length.
    let r = send("PUT", &url, &headers, b"the replaced");
    assert_eq!(r.status, 400, "{}", r.text());
    // (serve's XML escapes the apostrophes; an XML parser reads S3's message.)
    let text = r.text().replace("&apos;", "'");
    assert!(text.contains("<Code>XAmzContentSHA256Mismatch</Code><Message>The provided 'x-amz-content-sha256' header does not match what was computed.</Message>"), "{text}");
    assert!(r.text().contains(&format!("<ClientComputedContentSHA256>{}</ClientComputedContentSHA256>", sha256(body))), "{}", r.text());
    assert!(r.text().contains(&format!("<S3ComputedContentSHA256>{}</S3ComputedContentSHA256>", sha256(b"the replaced"))), "{}", r.text());
    assert_eq!(object(&s, "alice/docs/a.txt").as_deref(), Some(body.as_slice()));
    assert_eq!(settled(&s), before, "a refused request changed the data");
    // S3 wants the header on every header-signed request, and only its documented values.
    let r = send("PUT", &url, &sign_request("s3", "PUT", &url, &[], b"x"), b"x");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Missing required header for this request: x-amz-content-sha256"), "{}", r.text());
    let r = send("PUT", &url, &sign_request("s3", "PUT", &url, &[("x-amz-content-sha256", "not-a-hash")], b"x"), b"x");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>InvalidArgument</Code>") && r.text().contains("<ArgumentName>x-amz-content-sha256</ArgumentName>"), "{}", r.text());
    // UNSIGNED-PAYLOAD is S3's own choice to leave the body unsigned: accepted.
    let r = send("PUT", &url, &sign_request("s3", "PUT", &url, &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")], b"unsigned"), b"unsigned");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(object(&s, "alice/docs/a.txt").as_deref(), Some(b"unsigned".as_slice()));
}

fn quota_item(s: &Serve, user: &str) -> HttpResp {
    let url = s.aws();
    let body = json!({"TableName": TABLE, "Key": {"PK": {"S": format!("USER#{user}")}, "SK": {"S": "QUOTA"}}, "ConsistentRead": true}).to_string();
    let h = sign_request("dynamodb", "POST", &format!("{url}/"), &[("content-type", "application/x-amz-json-1.0"), ("x-amz-target", "DynamoDB_20120810.GetItem")], body.as_bytes());
    send("POST", &format!("{url}/"), &h, body.as_bytes())
}

/// Guards 022ef06's JSON-service body hashing (undo_fixes.py 3): without it the forged quota is written.
#[test]
fn dynamodb_body_is_bound_by_the_signature() {
    let s = Serve::start(&[]);
    let url = format!("{}/", s.aws());
    let put = |used: &str| json!({"TableName": TABLE, "Item": {"PK": {"S": "USER#alice"}, "SK": {"S": "QUOTA"}, "UsedBytes": {"N": used}}}).to_string();
    let good = put("10");
    let target = ("x-amz-target", "DynamoDB_20120810.PutItem");
    let ct = ("content-type", "application/x-amz-json-1.0");
    let h = sign_request("dynamodb", "POST", &url, &[ct, target], good.as_bytes());
    let r = send("POST", &url, &h, good.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let before = settled(&s);

    // The attack: the signed request replayed with another body and an unsigned
    // x-amz-content-sha256 that claims the new body's hash.
    let evil = put("-999999999");
    let mut forged = h.clone();
    forged.push(("x-amz-content-sha256".into(), sha256(evil.as_bytes())));
    let r = send("POST", &url, &forged, evil.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["__type"], "com.amazonaws.dynamodb.v20120810#InvalidSignatureException", "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("x-amz-content-sha256"), "{}", r.text());
    // Signed, but not the body's hash: the body the service hashes is what counts.
    let sha = sha256(good.as_bytes());
    let h2 = sign_request("dynamodb", "POST", &url, &[ct, target, ("x-amz-content-sha256", &sha)], good.as_bytes());
    let r = send("POST", &url, &h2, evil.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["__type"], "com.amazonaws.dynamodb.v20120810#InvalidSignatureException", "{}", r.text());
    // Plain replay with another body.
    let r = send("POST", &url, &h, evil.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    // UNSIGNED-PAYLOAD is S3's alone: a DynamoDB signature always covers the body's hash.
    let h3 = sign_request("dynamodb", "POST", &url, &[ct, target, ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")], evil.as_bytes());
    let r = send("POST", &url, &h3, evil.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["__type"], "com.amazonaws.dynamodb.v20120810#InvalidSignatureException", "{}", r.text());

    let item = quota_item(&s, "alice");
    assert_eq!(item.json()["Item"]["UsedBytes"]["N"], "10", "{}", item.text());
    assert_eq!(settled(&s), before, "a refused request changed the data");
}

/// S3's integrity headers, each checked against the body before anything is stored
/// (guards checksum.rs; before it, every one of these PUTs replaced the object with 200).
/// Codes and messages as recorded on AWS (errors.jsonl: TestS3PutObjectChecksum,
/// test_s3_invalid_content_md5).
/// (undo_fixes.py 11.)
#[test]
fn checksums_and_content_md5_are_verified() {
    let s = Serve::start(&[]);
    let key = "alice/docs/sum.txt";
    put_object(&s, key, b"original");
    let before = settled(&s);
    let url = format!("{}/{BUCKET}/{key}", s.aws());
    let body = b"hello world";
    let sha = sha256(body);
    let put = |extra: &[(&str, &str)]| {
        let mut signed = vec![("x-amz-content-sha256", sha.as_str())];
        signed.extend_from_slice(extra);
        send("PUT", &url, &sign_request("s3", "PUT", &url, &signed, body), body)
    };
    let refused = |r: HttpResp, code: &str, message: &str| {
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains(&format!("<Code>{code}</Code><Message>{message}</Message>")), "{}", r.text());
        r
    };
    // CRC32("hello world") is DUoRhQ==: any other 4-byte value is a mismatch.
    refused(put(&[("x-amz-checksum-crc32", "Zi0vCQ==")]), "BadDigest", "The CRC32 you specified did not match the calculated checksum.");
    refused(put(&[("x-amz-checksum-crc32c", "AAAAAA==")]), "BadDigest", "The CRC32C you specified did not match the calculated checksum.");
    refused(put(&[("x-amz-checksum-sha256", "not base64")]), "InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid.");
    refused(
        put(&[("x-amz-checksum-crc32", "DUoRhQ=="), ("x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=")]),
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    );
    // MD5("hello") in Content-MD5, a body of "hello world".
    let r = refused(put(&[("content-md5", "XUFAKrxLKna5cZ2REBfFkg==")]), "BadDigest", "The Content-MD5 you specified did not match what we received.");
    assert!(r.text().contains("<ExpectedDigest>5d41402abc4b2a76b9719d911017c592</ExpectedDigest>"), "{}", r.text());
    let r = refused(put(&[("content-md5", "__invalid__")]), "InvalidDigest", "The Content-MD5 you specified was invalid.");
    assert!(r.text().contains("<Content-MD5>__invalid__</Content-MD5>"), "{}", r.text());
    // A streaming upload whose trailing checksum does not match its chunks.
    let framed = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:Zi0vCQ==\r\n\r\n";
    let h = sign_request(
        "s3",
        "PUT",
        &url,
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        b"",
    );
    refused(send("PUT", &url, &h, framed), "BadDigest", "The CRC32 you specified did not match the calculated checksum.");
    assert_eq!(object(&s, key).as_deref(), Some(b"original".as_slice()));
    assert_eq!(settled(&s), before, "a refused request changed the data");
    // The same requests with the right values are stored, and answered with the checksum.
    let r = put(&[("x-amz-checksum-crc32", "DUoRhQ=="), ("content-md5", "XrY7u+Ae7tCTyyK7j1rNww==")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-checksum-crc32"), Some("DUoRhQ=="));
    let framed = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
    assert_eq!(send("PUT", &url, &h, framed).status, 200);
    assert_eq!(object(&s, key).as_deref(), Some(body.as_slice()));
}

/// Writes a raw request, then stops writing (the client's half-close), and reads the answer.

fn raw(addr: std::net::SocketAddr, bytes: &[u8], half_close: bool) -> (Option<u16>, String, Duration) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    // Written from another thread: serve may answer (and close) before the client is done.
    let mut w = c.try_clone().unwrap();
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&bytes);
        if half_close {
            let _ = w.shutdown(std::net::Shutdown::Write);
        }
    });
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
    (status, text, t.elapsed())
}

fn request_target(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("http://").unwrap();
    let i = rest.find('/').unwrap();
    (&rest[..i], &rest[i..])
}

/// Guards 022ef06's body errors (undo_fixes.py 4): without it 2 of 5 bytes get 200 and an emptied file.
#[test]
fn a_truncated_upload_is_400_and_keeps_the_old_file() {
    let s = Serve::start(&[]);
    let alice = s.token("alice", 3600);
    let url = uploaded(&s, &alice, "five.txt", b"12345");
    let before = settled(&s);
    // The same URL again, sending 2 of the 5 bytes before the client stops.
    let (host, target) = request_target(&url);
    let req = format!("PUT {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\nab");
    let (status, text, _) = raw(s.h().aws_addr, req.as_bytes(), true);
    assert_eq!(status, Some(400), "{text}");
    assert!(text.contains("<Code>IncompleteBody</Code>"), "{text}");
    assert_eq!(object(&s, "alice/docs/five.txt").as_deref(), Some(b"12345".as_slice()));
    assert_eq!(settled(&s), before, "a refused request changed the data");
}

/// An `aws-chunked` body: `chunks` of data, each signed in a chain from the seed (the
/// request's own signature), then the final empty chunk.
fn chunked(chunks: &[&[u8]], seed: &str, time: SystemTime) -> Vec<u8> {
    let identity = aws_credential_types::Credentials::new("test", "test", None, None, "tests").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder().identity(&identity).region("us-east-1").name("s3").time(time).settings(()).build().unwrap();
    let mut prev = seed.to_string();
    let mut out = Vec::new();
    for c in chunks.iter().chain([&b""[..]].iter()) {
        let sig = aws_sigv4::sign::v4::sign_chunk(&bytes_of(c), &prev, &params).unwrap().signature().to_string();
        out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
        prev = sig;
    }
    out
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

/// A streaming (aws-chunked) PUT signed at `time`; returns its headers and the seed signature.
fn streaming_headers(url: &str, decoded_len: usize, encoded_len: usize, payload: &str) -> (Vec<(String, String)>, String) {
    let dl = decoded_len.to_string();
    let el = encoded_len.to_string();
    let h = sign_request(
        "s3",
        "PUT",
        url,
        &[("content-encoding", "aws-chunked"), ("content-length", &el), ("x-amz-content-sha256", payload), ("x-amz-decoded-content-length", &dl)],
        b"",
    );
    let auth = h.iter().find(|(k, _)| k == "authorization").unwrap().1.clone();
    let seed = auth.rsplit("Signature=").next().unwrap().to_string();
    (h.into_iter().filter(|(k, _)| k != "content-length").collect(), seed)
}

fn date_of(headers: &[(String, String)]) -> SystemTime {
    let d = &headers.iter().find(|(k, _)| k == "x-amz-date").unwrap().1;
    let secs = asl_serve::sigv4::parse_amz_date(d).unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
}

/// Guards 022ef06's chunk-signature chain (undo_fixes.py 5) and chunk bounds (12).
#[test]
fn aws_chunked_bodies_are_verified_chunk_by_chunk() {
    let s = Serve::start(&[]);
    let url = format!("{}/{BUCKET}/alice/docs/chunked.txt", s.aws());
    let payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    let (probe, _) = streaming_headers(&url, 10, 0, payload);
    let time = date_of(&probe);
    // Sign first to learn the seed, then build the body and send with its true length.
    let body_len = |chunks: &[&[u8]]| chunked(chunks, &"0".repeat(64), time).len();
    let chunks: [&[u8]; 2] = [b"hello", b"world"];
    let (headers, seed) = streaming_headers(&url, 10, body_len(&chunks), payload);
    let body = chunked(&chunks, &seed, date_of(&headers));
    let r = send("PUT", &url, &headers, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(object(&s, "alice/docs/chunked.txt").as_deref(), Some(b"helloworld".as_slice()));
    let before = settled(&s);

    // A chunk changed after signing.
    let mut tampered = body.clone();
    let i = tampered.windows(5).position(|w| w == b"world").unwrap();
    tampered[i..i + 5].copy_from_slice(b"WORLD");
    let r = send("PUT", &url, &headers, &tampered);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<Code>SignatureDoesNotMatch</Code>"), "{}", r.text());

    // Truncated framing inside a complete HTTP body: 400, not a panic.
    // Each body is chained from its own request's signature, so that what is refused is
    // the framing, not the first chunk's signature (which S3 checks first, as it streams).
    for cut in [3, 30, body.len() - 20, body.len() - 1] {
        let (h, seed) = streaming_headers(&url, 10, cut, payload);
        let own = chunked(&chunks, &seed, date_of(&h));
        let short = &own[..cut];
        let r = send("PUT", &url, &h, short);
        assert_eq!(r.status, 400, "cut {cut}: {}", r.text());
        assert!(r.text().contains("<Code>IncompleteBody</Code>"), "cut {cut}: {}", r.text());
    }
    // Unsigned chunks framing cut short too.
    let (h, _) = streaming_headers(&url, 10, 8, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    let r = send("PUT", &url, &h, b"a\r\nhello");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>IncompleteBody</Code>"), "{}", r.text());
    assert_eq!(object(&s, "alice/docs/chunked.txt").as_deref(), Some(b"helloworld".as_slice()));
    assert_eq!(settled(&s), before, "a refused request changed the data");
}

/// Guards 022ef06's head-first admission and declared-length limits (undo_fixes.py 6).
#[test]
fn identity_and_limits_before_the_body() {
    let s = Serve::start(&[]);
    let aws = s.h().aws_addr;
    let before = settled(&s);
    // Unsigned, 300 MB declared, no body sent: answered at once, nothing read.
    let req = format!("PUT /{BUCKET}/x HTTP/1.1\r\nhost: {aws}\r\ncontent-length: 300000000\r\n\r\n");
    let (status, text, took) = raw(aws, req.as_bytes(), false);
    assert_eq!(status, Some(403), "{text}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Signed, but over S3's 5 GiB single-PUT limit: EntityTooLarge from the Content-Length.
    let url = format!("{}/{BUCKET}/big", s.aws());
    let len = (5u64 * 1024 * 1024 * 1024 + 1).to_string();
    let h = sign_request("s3", "PUT", &url, &[("content-length", &len), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")], b"");
    let req = head_with(format!("PUT /{BUCKET}/big HTTP/1.1\r\nhost: {aws}\r\n"), &h);
    let (status, text, took) = raw(aws, req.as_bytes(), false);
    assert_eq!(status, Some(400), "{text}");
    assert!(text.contains("<Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message>"), "{text}");
    assert!(text.contains(&format!("<ProposedSize>{len}</ProposedSize><MaxSizeAllowed>5368709120</MaxSizeAllowed>")), "{text}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The HTTP API: the token first, then API Gateway's 10 MB payload quota.
    let api = s.h().api_addr;
    let req = format!("POST /files/list HTTP/1.1\r\nhost: {api}\r\ncontent-length: 300000000\r\n\r\n");
    let (status, text, _) = raw(api, req.as_bytes(), false);
    assert_eq!(status, Some(401), "{text}");
    assert!(text.ends_with("{\"message\":\"Unauthorized\"}"), "{text}");
    let token = s.token("alice", 3600);
    let req = format!("POST /files/list HTTP/1.1\r\nhost: {api}\r\nauthorization: Bearer {token}\r\ncontent-length: {}\r\n\r\n", 10 * 1024 * 1024 + 1);
    let (status, text, _) = raw(api, req.as_bytes(), false);
    assert_eq!(status, Some(413), "{text}");
    assert!(text.ends_with("{\"message\":\"Request Entity Too Large\"}"), "{text}");
    // A body without Content-Length that grows past the limit is cut off as well.
    let mut req = format!("POST /files/list HTTP/1.1\r\nhost: {api}\r\nauthorization: Bearer {token}\r\ntransfer-encoding: chunked\r\n\r\n").into_bytes();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..11 {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (status, text, _) = raw(api, &req, false);
    assert_eq!(status, Some(413), "{}", &text[..text.len().min(300)]);
    // A DynamoDB request over its 16 MB request size (its signature covers the body's
    // hash, so the head checks pass and the declared length refuses it).
    let h = sign_request("dynamodb", "POST", &format!("{}/", s.aws()), &[("x-amz-target", "DynamoDB_20120810.PutItem")], b"");
    let req = head_with(format!("POST / HTTP/1.1\r\nhost: {aws}\r\ncontent-length: {}\r\n", 16 * 1024 * 1024 + 1), &h);
    let (status, text, _) = raw(aws, req.as_bytes(), false);
    assert_eq!(status, Some(413), "{text}");
    assert!(text.contains("RequestEntityTooLarge"), "{text}");
    assert_eq!(settled(&s), before, "a refused request changed the data");
}

/// Guards 022ef06's header timeout and connection cap (undo_fixes.py 7).
#[test]
fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let limits = asl_serve::ConnectionLimits { header_timeout_ms: 600, idle_timeout_ms: 600, max_connections: 2 };
    let s = Serve::start_with(&[], limits);
    let aws = s.h().aws_addr;
    // A client that opens a connection and sends nothing is closed.
    let (_, text, took) = raw(aws, b"", false);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Half a request head, then nothing.
    let (_, _, took) = raw(aws, b"GET / HTTP/1.1\r\nhost: x\r\n", false);
    assert!(took < Duration::from_secs(10), "{took:?}");
    // A presigned PUT whose body stalls: S3's RequestTimeout, the object untouched.
    let alice = s.token("alice", 3600);
    let url = create_url(&s, &alice, "slow.txt", 5);
    let (host, target) = request_target(&url);
    let req = format!("PUT {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\nab");
    let (status, text, _) = raw(aws, req.as_bytes(), false);
    assert_eq!(status, Some(400), "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    assert_eq!(object(&s, "alice/docs/slow.txt"), None);
    // Two idle connections take both slots: a third client is served only once the
    // header timeout has closed one of them.
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(aws).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let r = http("GET", &format!("http://{aws}/"), &[], b"");
    assert_eq!(r.status, 403);
    assert!(t.elapsed() >= Duration::from_millis(300), "served while both slots were taken: {:?}", t.elapsed());
    drop(idle);
}

/// Guards 022ef06's JSON-escaped mappings and required sub (undo_fixes.py 8).
#[test]
fn the_identity_cannot_be_injected_or_missing() {
    let s = Serve::start(&[]);
    let alice = s.token("alice", 3600);
    uploaded(&s, &alice, "a.txt", b"abc");
    let list = |token: &str| sync_output(&api_call(&s, "POST", "/files/list", Some(token), &json!({})));
    wait_until("alice's file in the inventory", || list(&alice)["items"].as_array().is_some_and(|a| !a.is_empty()));
    // A sub that would close the string and add a "user" of its own.
    let mallory = s.token("mallory\",\"user\":\"alice", 3600);
    let out = list(&mallory);
    assert_eq!(out["items"].as_array().map(Vec::len).unwrap_or(0), 0, "mallory listed alice's files: {out}");
    let quota = sync_output(&api_call(&s, "GET", "/quota", Some(&mallory), &Value::Null));
    assert_eq!(quota["usedBytes"], json!(0), "mallory read alice's quota: {quota}");
    // A body that tries the same from the other side stays the body.
    let r = api_call(&s, "POST", "/files/list", Some(&mallory), &json!({"x": "\",\"user\":\"alice"}));
    assert_eq!(sync_output(&r)["items"].as_array().map(Vec::len).unwrap_or(0), 0);

    // Tokens without a usable sub or with NumericDates of the wrong type: 401.
    let issuer = asl_serve::jwt::Issuer::open(&s.data_dir).unwrap();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let base = asl_serve::jwt::claims("alice", asl_serve::template::LOCAL_ISSUER, asl_serve::template::LOCAL_AUDIENCE, now, 3600);
    for (k, v) in [
        ("sub", Value::Null),
        ("sub", json!("")),
        ("sub", json!(7)),
        ("nbf", json!(now as f64 + 3600.5)),
        ("nbf", json!((now + 3600).to_string())),
        ("iat", json!(now as f64 + 3600.5)),
        ("exp", json!((now + 3600).to_string())),
    ] {
        let mut c = base.clone();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
        let token = issuer.sign(&c).unwrap();
        let r = api_call(&s, "POST", "/files/list", Some(&token), &json!({}));
        assert_eq!((r.status, r.json()), (401, json!({"message": "Unauthorized"})), "{k}={v}");
        assert!(r.header("www-authenticate").is_some_and(|h| h.contains("invalid_token")), "{k}={v}");
    }
}

/// Guards the name and input checks of validate.rs and sfn_control.rs (undo_fixes.py 9).
#[test]
fn execution_names_and_input_sizes_are_validated() {
    let s = Serve::start(&[]);
    rt().block_on(async {
        use aws_sdk_sfn::error::ProvideErrorMetadata;
        let c = s.sfn().await;
        let machines = c.list_state_machines().send().await.unwrap();
        let del = machines.state_machines().iter().find(|m| m.name() == "DeleteStateMachine").unwrap().state_machine_arn().to_string();
        let input = json!({"detail": {"body": {"path": "docs/", "name": "nope.txt"}, "user": "alice"}}).to_string();
        let e = c.start_execution().state_machine_arn(&del).name("../../etc/x").input(&input).send().await.unwrap_err();
        let e = e.into_service_error();
        assert!(e.is_invalid_name(), "{e:?}");
        assert_eq!(e.message(), Some("Invalid Name: '../../etc/x'"));
        let long = "x".repeat(10_000);
        let e = c.start_execution().state_machine_arn(&del).name(&long).input(&input).send().await.unwrap_err();
        let e = e.into_service_error();
        // Over 80 characters is InvalidName (validate.rs says why), like the wrong characters.
        assert!(e.is_invalid_name(), "{e:?}");
        assert_eq!(e.message(), Some(format!("Invalid Name: '{long}'").as_str()));
        // Over the 256 KiB input quota: the model's length constraint, without the value.
        let big = json!({"pad": "x".repeat(300 * 1024)}).to_string();
        let e = c.start_execution().state_machine_arn(&del).input(&big).send().await.unwrap_err();
        let e = e.into_service_error();
        assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
        assert_eq!(e.message(), Some("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to 262144"));
        let list = c.list_executions().state_machine_arn(&del).send().await.unwrap();
        assert!(list.executions().is_empty(), "a refused StartExecution started something");
        // Exactly 80 characters of the allowed kind is a name.
        let ok = "a".repeat(80);
        c.start_execution().state_machine_arn(&del).name(&ok).input(&input).send().await.unwrap();
    });
}

/// Guards serve's DeleteObjects shape check (undo_fixes.py 10) and asl-s3's own: undoing serve's
/// alone still passes, because asl-s3 refuses an empty key list with MalformedXML as well.
#[test]
fn malformed_s3_xml_changes_nothing() {
    let s = Serve::start(&[]);
    put_object(&s, "alice/docs/keep.txt", b"keep");
    let before = settled(&s);
    let url = format!("{}/{BUCKET}?delete", s.aws());
    let bodies: [&[u8]; 4] = [b"<Delete><Object><Key>alice/docs/keep.txt</Key>", b"not xml", b"<Delete></Delete>", b""];
    for body in bodies {
        let r = send("POST", &url, &sign_request("s3", "POST", &url, &[("x-amz-content-sha256", &sha256(body))], body), body);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("<Code>MalformedXML</Code>"), "{}", r.text());
    }
    assert_eq!(object(&s, "alice/docs/keep.txt").as_deref(), Some(b"keep".as_slice()));
    assert_eq!(settled(&s), before, "a refused request changed the data");
}

/// A bounded fuzz of the HTTP front door: mutated requests (request line, headers, body
/// framing, SigV4 Authorization values) from a fixed seed. serve must answer or close
/// each one, never crash or hang, and still serve a good request afterwards.
/// More cases: `SERVE_FUZZ_CASES=20000 cargo test -p asl-serve-tests fuzz`.
/// Guards no single fix: undoing the aws-chunked bounds check (undo_fixes.py 12) still passes,
/// since its seeds never reach a truncated aws-chunked body; the serve-http fuzz target does.
#[test]
fn fuzz_the_http_front_door() {
    let s = Serve::start_with(&[], asl_serve::ConnectionLimits { header_timeout_ms: 500, idle_timeout_ms: 500, max_connections: 64 });
    let n: usize = std::env::var("SERVE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let aws = s.h().aws_addr;
    let url = format!("http://{aws}/{BUCKET}/fuzz/k");
    let signed = sign_request("s3", "PUT", &url, &[("x-amz-content-sha256", &sha256(b"hello"))], b"hello");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut good = format!("PUT /{BUCKET}/fuzz/k HTTP/1.1\r\nhost: {aws}\r\ncontent-length: 5\r\n");
    for (k, v) in &signed {
        good.push_str(&format!("{k}: {v}\r\n"));
    }
    good.push_str("\r\nhello");
    seeds.push(good.into_bytes());
    seeds.push(format!("POST / HTTP/1.1\r\nhost: {aws}\r\nx-amz-target: DynamoDB_20120810.GetItem\r\nauthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\r\nx-amz-date: 20240101T000000Z\r\ncontent-length: 2\r\n\r\n{{}}").into_bytes());
    seeds.push(format!("PUT /{BUCKET}/c HTTP/1.1\r\nhost: {aws}\r\ncontent-encoding: aws-chunked\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").into_bytes());
    seeds.push(format!("GET /{BUCKET}/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00 HTTP/1.1\r\nhost: {aws}\r\n\r\n").into_bytes());
    let interesting: [&[u8]; 14] = [
        b"\r\n", b":", b";", b",", b"=", b"/", b"%", b"%zz", b"\0", b"\xff\xfe", b"AWS4-HMAC-SHA256", b"chunk-signature=", b"ffffffffffffffff", b"-1",
    ];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for case in 0..n {
        let mut b = seeds[case % seeds.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (b.len() + 1);
            match next() % 4 {
                0 if !b.is_empty() => {
                    let end = (at + 1 + (next() as usize) % 8).min(b.len());
                    b.drain(at.min(end)..end);
                }
                1 => {
                    let ins = interesting[(next() as usize) % interesting.len()];
                    b.splice(at..at, ins.iter().copied());
                }
                2 if at < b.len() => b[at] = next() as u8,
                _ => b.truncate(at),
            }
        }
        let mut c = TcpStream::connect(aws).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(&b);
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let t = Instant::now();
        let _ = c.read_to_end(&mut out);
        assert!(t.elapsed() < Duration::from_secs(9), "case {case} hung: {:?}", String::from_utf8_lossy(&b));
        if out.starts_with(b"HTTP/1.1 5") && !out.starts_with(b"HTTP/1.1 501") {
            panic!("case {case}: {} for {:?}", String::from_utf8_lossy(&out[..out.len().min(200)]), String::from_utf8_lossy(&b));
        }
    }
    // Still serving.
    put_object(&s, "fuzz/after", b"ok");
    assert_eq!(object(&s, "fuzz/after").as_deref(), Some(b"ok".as_slice()));
}
