# Undoes each fix the attack tests (attacks.rs) guard, so that each can be seen failing
# without it: `python3 tests/serve/undo_fixes.py && cargo test -p asl-serve-tests --test serve attacks::`,
# then `git checkout asl-sim/serve`. The numbers are the ones the tests' comments cite.
# Last run: 10 of 12 attack tests fail; malformed_s3_xml_changes_nothing and
# fuzz_the_http_front_door pass (see their comments).
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..') + '/'
def sub(path, old, new):
    p = root + path
    s = open(p).read()
    assert old in s, (path, old[:60])
    s = s.replace(old, new, 1)
    open(p, 'w').write(s)
# 1 unsigned x-amz-* headers
sub('asl-sim/serve/src/sigv4.rs', "fn unsigned_amz_headers(req: &Request<'_>, signed: &str) -> Result<(), AuthError> {\n", "fn unsigned_amz_headers(req: &Request<'_>, signed: &str) -> Result<(), AuthError> {\n    if true { return Ok(()); }\n")
# 2 payload hash compared with the body
sub('asl-sim/serve/src/sigv4.rs', "if &computed != declared {", "if false && &computed != declared {")
# 3 JSON services trust an x-amz-content-sha256 header
sub('asl-sim/serve/src/sigv4.rs', "Some(b) => (SignableBody::Bytes(b), Payload::Checked),", "Some(b) => (header(req, \"x-amz-content-sha256\").map(|h| SignableBody::Precomputed(h.to_string())).unwrap_or(SignableBody::Bytes(b)), Payload::Checked),")
# 4 a broken body becomes an empty one
sub('asl-sim/serve/src/http.rs', "Some(Err(_)) => return Err(BodyError::Incomplete),", "Some(Err(_)) => return Ok(Bytes::new()),")
# 5 chunk signatures not compared
sub('asl-sim/serve/src/sigv4.rs', "            compare(expected.signature(), given)?;\n", "            let _ = compare(expected.signature(), given);\n")
# 6 the body read (unbounded) before the head is checked
sub('asl-sim/serve/src/http.rs', "    let resp = match front.admit(&head) {", "    let early = read_body(body, u64::MAX, limits.body_idle_timeout).await;\n    let resp = match front.admit(&head) {")
sub('asl-sim/serve/src/http.rs', "                match read_body(body, limit, limits.body_idle_timeout).await {", "                match early {")
sub('asl-sim/serve/src/http.rs', "if declared.is_some_and(|n| n > limit) {", "if false && declared.is_some_and(|n| n > limit) {")
# 7 no header timeout, no connection cap
sub('asl-sim/serve/src/http.rs', "builder.header_read_timeout(limits.header_timeout);", "builder.header_read_timeout(None);")
sub('asl-sim/serve/src/http.rs', "Semaphore::new(limits.max_connections.max(1))", "Semaphore::new(100_000)")
# 8 sub pasted unescaped; tokens without sub
sub('asl-sim/serve/src/api.rs', "                let quoted = Value::String(value).to_string();\n                out.push_str(&quoted[1..quoted.len() - 1]);", "                out.push_str(&value);")
sub('asl-sim/serve/src/jwt.rs', "            _ => return Err(\"the token has no valid sub claim\".into()),", "            _ => {}")
# 9 names and input sizes
sub('asl-sim/serve/src/validate.rs', "pub fn name(field: &str, name: &str) -> Result<(), (String, String)> {\n", "pub fn name(field: &str, name: &str) -> Result<(), (String, String)> {\n    if true { return Ok(()); }\n")
sub('asl-sim/serve/src/sfn_control.rs', "pub fn valid_name(name: &str) -> bool {\n", "pub fn valid_name(name: &str) -> bool {\n    if true { return !name.is_empty(); }\n")
sub('asl-sim/serve/src/sfn_control.rs', "Some(Value::String(s)) if s.len() > MAX_INPUT =>", "Some(Value::String(s)) if false && s.len() > MAX_INPUT =>")
# 10 malformed DeleteObjects XML
sub('asl-sim/serve/src/s3.rs', "if !body.contains(\"<Delete\") || keys.is_empty() || keys.len() != objects.len() || keys.len() > 1000 {", "if keys.len() > 1000 {")
# 11 checksums
sub('asl-sim/serve/src/aws.rs', "let digest = if upload {", "let digest: Result<Option<checksum::Verified>, checksum::DigestError> = Ok(None);\n            let _unused = if upload {")
# 12 a truncated aws-chunked body indexes past its end (the 500 panic of issue 18)
sub('asl-sim/serve/src/sigv4.rs', "let end = start.checked_add(size).filter(|e| *e <= b.len()).ok_or_else(incomplete)?;", "let end = start + size;")
