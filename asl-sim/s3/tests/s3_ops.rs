//! S3 operations, error codes/messages, ranges, listing, multipart, persistence.

use asl_s3::s3::*;
use asl_aws::CallContext;
use std::collections::BTreeMap;

const T0: i64 = 1_636_675_200_000; // 2021-11-12T00:00:00Z

fn ctx() -> CallContext {
    CallContext::new(T0, 42)
}

fn setup() -> (S3, CallContext) {
    let mut s3 = S3::new();
    let c = ctx();
    s3.create_bucket("bucket", &c).unwrap();
    (s3, c)
}

fn put(s3: &mut S3, c: &CallContext, key: &str, body: &[u8]) -> PutObjectOutput {
    s3.put_object(PutObjectInput { bucket: "bucket".into(), key: key.into(), body: body.to_vec(), ..Default::default() }, c)
        .unwrap()
}

fn err(code: &str, status: u16, message: &str, e: S3Error) {
    assert_eq!((e.code.as_str(), e.status, e.message.as_str()), (code, status, message));
}

#[test]
fn buckets() {
    let (mut s3, c) = setup();
    err(
        "BucketAlreadyOwnedByYou",
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
        s3.create_bucket("bucket", &c).unwrap_err(),
    );
    for bad in ["ab", "UPPER", "a..b", "-abc", "abc-", "192.168.1.1", "under_score", &"x".repeat(64)] {
        let e = s3.create_bucket(bad, &c).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("InvalidBucketName", 400), "{bad}");
        assert_eq!(e.message, "The specified bucket is not valid.");
    }
    s3.create_bucket("other.bucket-1", &c).unwrap();
    assert_eq!(s3.list_buckets().iter().map(|b| b.0.as_str()).collect::<Vec<_>>(), ["bucket", "other.bucket-1"]);
    put(&mut s3, &c, "k", b"x");
    err("BucketNotEmpty", 409, "The bucket you tried to delete is not empty", s3.delete_bucket("bucket").unwrap_err());
    s3.delete_object("bucket", "k", &c).unwrap();
    s3.delete_bucket("bucket").unwrap();
    let e = s3.delete_bucket("bucket").unwrap_err();
    err("NoSuchBucket", 404, "The specified bucket does not exist", e.clone());
    assert_eq!(e.extra, vec![("BucketName".to_string(), "bucket".to_string())]);
    assert!(s3.head_bucket("nope").is_err());
}

#[test]
fn put_get_head() {
    let (mut s3, c) = setup();
    let out = put(&mut s3, &c, "dir/file.txt", b"hello world");
    assert_eq!(out.etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
    let mut meta = BTreeMap::new();
    meta.insert("X-Amz-Meta-Owner".to_string(), "alice".to_string());
    meta.insert("Purpose".to_string(), "demo".to_string());
    let c2 = CallContext::new(T0 + 5_000, 1);
    s3.put_object(
        PutObjectInput {
            bucket: "bucket".into(),
            key: "typed".into(),
            body: b"{}".to_vec(),
            content_type: Some("application/json".into()),
            metadata: meta,
            tags: Default::default(),
        },
        &c2,
    )
    .unwrap();
    let g = s3.get_object("bucket", "dir/file.txt", None).unwrap();
    assert_eq!(g.body, b"hello world");
    assert_eq!((g.status, g.content_length), (200, 11));
    assert_eq!(g.content_type, "binary/octet-stream");
    assert_eq!(g.last_modified_ms, T0);
    // LastModified is kept to the second.
    s3.put_object(PutObjectInput { bucket: "bucket".into(), key: "ms".into(), ..Default::default() }, &CallContext::new(T0 + 1_999, 2)).unwrap();
    assert_eq!(s3.object("bucket", "ms").unwrap().last_modified_ms, T0 + 1_000);
    let h = s3.head_object("bucket", "typed").unwrap();
    assert!(h.body.is_empty());
    assert_eq!(h.content_length, 2);
    assert_eq!(h.content_type, "application/json");
    assert_eq!(h.last_modified_ms, T0 + 5_000);
    assert_eq!(
        h.metadata.into_iter().collect::<Vec<_>>(),
        vec![("owner".to_string(), "alice".to_string()), ("purpose".to_string(), "demo".to_string())]
    );
    let e = s3.get_object("bucket", "missing", None).unwrap_err();
    err("NoSuchKey", 404, "The specified key does not exist.", e.clone());
    assert_eq!(e.extra, vec![("Key".to_string(), "missing".to_string())]);
    err("NoSuchBucket", 404, "The specified bucket does not exist", s3.get_object("nope", "k", None).unwrap_err());
    err("NoSuchKey", 404, "The specified key does not exist.", s3.head_object("bucket", "missing").unwrap_err());
    // Overwrite replaces body, etag and metadata.
    put(&mut s3, &c, "typed", b"v2");
    let h = s3.head_object("bucket", "typed").unwrap();
    assert!(h.metadata.is_empty());
    assert_eq!(h.content_type, "binary/octet-stream");
    // Keys: empty and too long.
    let e = s3
        .put_object(PutObjectInput { bucket: "bucket".into(), key: "k".repeat(1025), ..Default::default() }, &c)
        .unwrap_err();
    err("KeyTooLongError", 400, "Your key is too long", e);
    put(&mut s3, &c, &"k".repeat(1024), b"");
    let e = s3.put_object(PutObjectInput { bucket: "nope".into(), key: "k".into(), ..Default::default() }, &c).unwrap_err();
    assert_eq!(e.code, "NoSuchBucket");
}

#[test]
fn ranges() {
    // (header, object size, expected): Some((start, end)) = partial, None = whole object,
    // Err = InvalidRange.
    type Want = Result<Option<(u64, u64)>, ()>;
    let table: Vec<(&str, u64, Want)> = vec![
        ("bytes=0-4", 11, Ok(Some((0, 4)))),
        ("bytes=6-", 11, Ok(Some((6, 10)))),
        ("bytes=-5", 11, Ok(Some((6, 10)))),
        ("bytes=-50", 11, Ok(Some((0, 10)))),
        ("bytes=5-100", 11, Ok(Some((5, 10)))),
        ("bytes=10-10", 11, Ok(Some((10, 10)))),
        ("bytes=11-", 11, Err(())),
        ("bytes=11-20", 11, Err(())),
        ("bytes=-0", 11, Err(())),
        ("bytes=0-0", 0, Err(())),
        ("bytes=-1", 0, Err(())),
        ("bytes=5-2", 11, Ok(None)),
        ("bytes=0-1,3-4", 11, Ok(None)),
        ("bytes=a-b", 11, Ok(None)),
        ("items=0-1", 11, Ok(None)),
        ("bytes=", 11, Ok(None)),
        ("garbage", 11, Ok(None)),
    ];
    for (h, size, want) in table {
        let got = parse_range(h, size);
        match (&want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(w, g, "{h}"),
            (Err(()), Err(e)) => {
                assert_eq!((e.code.as_str(), e.status), ("InvalidRange", 416), "{h}");
                assert_eq!(e.message, "The requested range is not satisfiable");
                assert!(e.extra.contains(&("ActualObjectSize".to_string(), size.to_string())));
            }
            _ => panic!("{h}: want {want:?}, got {got:?}"),
        }
    }
    let (mut s3, c) = setup();
    put(&mut s3, &c, "k", b"hello world");
    let g = s3.get_object("bucket", "k", Some("bytes=6-")).unwrap();
    assert_eq!((g.body.as_slice(), g.status, g.content_length), (&b"world"[..], 206, 5));
    assert_eq!(g.content_range.as_deref(), Some("bytes 6-10/11"));
    assert_eq!(g.etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
    assert_eq!(s3.get_object("bucket", "k", Some("bytes=20-")).unwrap_err().code, "InvalidRange");
    assert_eq!(s3.get_object("bucket", "k", Some("bytes=3-1")).unwrap().status, 200);
}

#[test]
fn delete_and_delete_objects() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "a", b"1");
    put(&mut s3, &c, "b", b"2");
    s3.delete_object("bucket", "a", &c).unwrap();
    s3.delete_object("bucket", "a", &c).unwrap(); // idempotent
    assert!(s3.object("bucket", "a").is_none());
    assert_eq!(s3.delete_object("nope", "a", &c).unwrap_err().code, "NoSuchBucket");
    let out = s3.delete_objects("bucket", &["b".to_string(), "zz".to_string(), String::new()], &c).unwrap();
    assert_eq!(out.deleted.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["b", "zz"]);
    assert!(out.deleted.iter().all(|d| !d.delete_marker && d.version_id.is_none()));
    assert_eq!(out.errors, vec![(String::new(), "InvalidArgument".to_string(), "Invalid argument.".to_string())]);
    assert!(s3.object("bucket", "b").is_none());
    let e = s3.delete_objects("bucket", &[], &c).unwrap_err();
    err("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema", e);
    let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    assert_eq!(s3.delete_objects("bucket", &many, &c).unwrap_err().code, "MalformedXML");
    assert_eq!(s3.delete_objects("bucket", &many[..1000], &c).unwrap().deleted.len(), 1000);
}

#[test]
fn copy_object() {
    let (mut s3, c) = setup();
    s3.create_bucket("dest", &c).unwrap();
    let mut meta = BTreeMap::new();
    meta.insert("a".to_string(), "1".to_string());
    s3.put_object(
        PutObjectInput { bucket: "bucket".into(), key: "src".into(), body: b"data".to_vec(), content_type: Some("text/plain".into()), metadata: meta, tags: Default::default() },
        &c,
    )
    .unwrap();
    let later = CallContext::new(T0 + 1000, 9);
    let out = s3
        .copy_object(CopyObjectInput { source_bucket: "bucket".into(), source_key: "src".into(), bucket: "dest".into(), key: "copy".into(), ..Default::default() }, &later)
        .unwrap();
    assert_eq!(out.etag, s3.object("bucket", "src").unwrap().etag);
    assert_eq!(out.last_modified_ms, T0 + 1000);
    let o = s3.object("dest", "copy").unwrap();
    assert_eq!((o.content_type.as_str(), o.metadata.get("a").map(String::as_str)), ("text/plain", Some("1")));
    // REPLACE
    let mut m2 = BTreeMap::new();
    m2.insert("b".to_string(), "2".to_string());
    s3.copy_object(
        CopyObjectInput { source_bucket: "bucket".into(), source_key: "src".into(), bucket: "bucket".into(), key: "src".into(),
                          metadata_directive: MetadataDirective::Replace, content_type: None, metadata: m2, tags: None, source_version_id: None },
        &c,
    )
    .unwrap();
    let o = s3.object("bucket", "src").unwrap();
    assert_eq!(o.content_type, "binary/octet-stream");
    assert_eq!(o.metadata.keys().collect::<Vec<_>>(), ["b"]);
    // COPY onto itself is illegal.
    let e = s3
        .copy_object(CopyObjectInput { source_bucket: "bucket".into(), source_key: "src".into(), bucket: "bucket".into(), key: "src".into(), ..Default::default() }, &c)
        .unwrap_err();
    err("InvalidRequest", 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.", e);
    let e = s3
        .copy_object(CopyObjectInput { source_bucket: "bucket".into(), source_key: "nope".into(), bucket: "dest".into(), key: "x".into(), ..Default::default() }, &c)
        .unwrap_err();
    assert_eq!(e.code, "NoSuchKey");
    let e = s3
        .copy_object(CopyObjectInput { source_bucket: "bucket".into(), source_key: "src".into(), bucket: "nope".into(), key: "x".into(), ..Default::default() }, &c)
        .unwrap_err();
    assert_eq!(e.code, "NoSuchBucket");
}

fn list(s3: &S3, f: impl FnOnce(&mut ListObjectsV2Input)) -> ListObjectsV2Output {
    let mut i = ListObjectsV2Input { scope: ListScope::bucket("bucket"), ..Default::default() };
    f(&mut i);
    s3.list_objects_v2(&i).unwrap()
}

fn keys(o: &ListObjectsV2Output) -> Vec<&str> {
    o.contents.iter().map(|c| c.key.as_str()).collect()
}

#[test]
fn list_objects_v2() {
    let (mut s3, c) = setup();
    for k in ["b", "a/2", "a/1", "B", "é", "a", "a/sub/x", "c/1", "c/2", "a-", "z"] {
        put(&mut s3, &c, k, k.as_bytes());
    }
    let all = list(&s3, |_| {});
    // UTF-8 byte order: uppercase before lowercase, '-' (0x2D) before '/' (0x2F), é last.
    assert_eq!(keys(&all), ["B", "a", "a-", "a/1", "a/2", "a/sub/x", "b", "c/1", "c/2", "z", "é"]);
    assert_eq!((all.key_count, all.page.is_truncated, all.page.max_keys), (11, false, 1000));
    assert_eq!(all.contents[0].size, 1);
    assert_eq!(all.next_continuation_token, None);

    let d = list(&s3, |i| i.scope.delimiter = Some("/".into()));
    assert_eq!(keys(&d), ["B", "a", "a-", "b", "z", "é"]);
    assert_eq!(d.page.common_prefixes, ["a/", "c/"]);
    assert_eq!(d.key_count, 8);

    let p = list(&s3, |i| {
        i.scope.prefix = Some("a/".into());
        i.scope.delimiter = Some("/".into());
    });
    assert_eq!(keys(&p), ["a/1", "a/2"]);
    assert_eq!(p.page.common_prefixes, ["a/sub/"]);
    assert_eq!(p.page.prefix, "a/");

    let sa = list(&s3, |i| i.start_after = Some("a/2".into()));
    assert_eq!(keys(&sa)[0], "a/sub/x");
    assert_eq!(sa.start_after.as_deref(), Some("a/2"));

    let none = list(&s3, |i| i.scope.prefix = Some("q".into()));
    assert_eq!((none.key_count, none.contents.len()), (0, 0));

    // Paging with a delimiter: common prefixes count towards MaxKeys and are not repeated.
    let mut seen_keys = Vec::new();
    let mut seen_prefixes = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let listed = list(&s3, |i| {
            i.scope.delimiter = Some("/".into());
            i.scope.max_keys = Some(3);
            i.continuation_token = token.clone();
        });
        pages += 1;
        assert!(listed.key_count <= 3);
        assert_eq!(listed.continuation_token, token);
        seen_keys.extend(listed.contents.iter().map(|c| c.key.clone()));
        seen_prefixes.extend(listed.page.common_prefixes.clone());
        if !listed.page.is_truncated {
            assert!(listed.next_continuation_token.is_none());
            break;
        }
        token = listed.next_continuation_token.clone();
        assert!(token.is_some());
    }
    assert_eq!(pages, 3);
    assert_eq!(seen_keys, ["B", "a", "a-", "b", "z", "é"]);
    assert_eq!(seen_prefixes, ["a/", "c/"]);

    let zero = list(&s3, |i| i.scope.max_keys = Some(0));
    assert_eq!((zero.key_count, zero.page.max_keys), (0, 0));
    let big = list(&s3, |i| i.scope.max_keys = Some(5000));
    assert_eq!((big.key_count, big.page.max_keys), (11, 5000));

    let e = s3
        .list_objects_v2(&ListObjectsV2Input { scope: ListScope::bucket("bucket"), continuation_token: Some("bogus!".into()), ..Default::default() })
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidArgument", "The continuation token provided is incorrect"));
    let e = s3.list_objects_v2(&ListObjectsV2Input { scope: ListScope { max_keys: Some(-1), ..ListScope::bucket("bucket") }, ..Default::default() }).unwrap_err();
    assert_eq!(e.code, "InvalidArgument");
    assert_eq!(s3.list_objects_v2(&ListObjectsV2Input { scope: ListScope::bucket("nope"), ..Default::default() }).unwrap_err().code, "NoSuchBucket");
}

#[test]
fn multipart_upload() {
    let (mut s3, c) = setup();
    s3.min_part_size = 1;
    let id = s3.create_multipart_upload("bucket", "big", Some("text/plain"), &BTreeMap::new(), &c).unwrap();
    let e1 = s3.upload_part("bucket", "big", &id, 1, b"hello ".to_vec(), &c).unwrap();
    let e2 = s3.upload_part("bucket", "big", &id, 2, b"world".to_vec(), &c).unwrap();
    assert_eq!(e1, "\"f814893777bcc2295fff05f00e508da6\"");
    assert_eq!(e2, "\"7d793037a0760186574b0282f2f435e7\"");
    let parts = s3.list_parts("bucket", "big", &id).unwrap();
    assert_eq!(parts.iter().map(|p| (p.part_number, p.size)).collect::<Vec<_>>(), [(1, 6), (2, 5)]);
    // Wrong etag → InvalidPart; order → InvalidPartOrder.
    let e = s3.complete_multipart_upload("bucket", "big", &id, &[(1, e1.clone()), (2, "\"00\"".into())], &c).unwrap_err();
    err("InvalidPart", 400, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", e);
    let e = s3.complete_multipart_upload("bucket", "big", &id, &[(2, e2.clone()), (1, e1.clone())], &c).unwrap_err();
    err("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number.", e);
    let e = s3.complete_multipart_upload("bucket", "big", &id, &[(3, e2.clone())], &c).unwrap_err();
    assert_eq!(e.code, "InvalidPart");
    // ETags may be given without quotes.
    let out = s3
        .complete_multipart_upload("bucket", "big", &id, &[(1, e1.trim_matches('"').to_string()), (2, e2.clone())], &c)
        .unwrap();
    assert_eq!(out.etag, "\"e09e4fd6265b36115fe3db32df945d84-2\"");
    let o = s3.object("bucket", "big").unwrap();
    assert_eq!((o.body.bytes().unwrap().as_slice(), o.content_type.as_str(), o.parts_count), (&b"hello world"[..], "text/plain", Some(2)));
    // Upload is gone.
    let e = s3.upload_part("bucket", "big", &id, 3, b"x".to_vec(), &c).unwrap_err();
    err("NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", e);
    assert_eq!(s3.list_parts("bucket", "big", &id).unwrap_err().code, "NoSuchUpload");
}

#[test]
fn multipart_errors() {
    let (mut s3, c) = setup();
    let id = s3.create_multipart_upload("bucket", "k", None, &BTreeMap::new(), &c).unwrap();
    let e1 = s3.upload_part("bucket", "k", &id, 1, vec![b'a'; 10], &c).unwrap();
    let e2 = s3.upload_part("bucket", "k", &id, 2, vec![b'b'; 10], &c).unwrap();
    let e = s3.complete_multipart_upload("bucket", "k", &id, &[(1, e1.clone()), (2, e2.clone())], &c).unwrap_err();
    err("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.", e);
    // A single small part is fine (the last part may be small).
    let one = s3.complete_multipart_upload("bucket", "k", &id, &[(2, e2)], &c).unwrap();
    assert!(one.etag.ends_with("-1\""));
    let e = s3.upload_part("bucket", "k", "nope", 1, vec![], &c).unwrap_err();
    assert_eq!(e.code, "NoSuchUpload");
    let id2 = s3.create_multipart_upload("bucket", "k2", None, &BTreeMap::new(), &c).unwrap();
    assert_ne!(id, id2);
    for n in [0, 10_001] {
        let e = s3.upload_part("bucket", "k2", &id2, n, vec![], &c).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"));
    }
    // The upload id belongs to its key.
    assert_eq!(s3.upload_part("bucket", "other", &id2, 1, vec![], &c).unwrap_err().code, "NoSuchUpload");
    let e = s3.complete_multipart_upload("bucket", "k2", &id2, &[], &c).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidRequest", "You must specify at least one part"));
    s3.abort_multipart_upload("bucket", "k2", &id2).unwrap();
    assert_eq!(s3.abort_multipart_upload("bucket", "k2", &id2).unwrap_err().code, "NoSuchUpload");
    assert!(s3.object("bucket", "k2").is_none());
}

#[test]
fn persistence_round_trip() {
    let (mut s3, c) = setup();
    s3.set_eventbridge("bucket", true).unwrap();
    put(&mut s3, &c, "text", "héllo".as_bytes());
    put(&mut s3, &c, "bin", &[0xff, 0x00, 0xfe]);
    let id = s3.create_multipart_upload("bucket", "mp", None, &BTreeMap::new(), &c).unwrap();
    s3.upload_part("bucket", "mp", &id, 1, vec![0x80], &c).unwrap();
    s3.drain_events();
    let j = s3.to_json();
    assert_eq!(j["buckets"]["bucket"]["objects"]["text"]["body"], "héllo");
    assert_eq!(j["buckets"]["bucket"]["objects"]["text"]["encoding"], "utf8");
    assert_eq!(j["buckets"]["bucket"]["objects"]["bin"]["body"], "/wD+");
    assert_eq!(j["buckets"]["bucket"]["objects"]["bin"]["encoding"], "base64");
    let back = S3::from_json(&j).unwrap();
    assert_eq!(back, s3);
    // Text survives serialization to a string too.
    let again = S3::from_json(&serde_json::from_str(&j.to_string()).unwrap()).unwrap();
    assert_eq!(again, s3);
    assert!(S3::from_json(&serde_json::json!({"nope": 1})).is_err());
    assert!(S3::from_json(&serde_json::json!({"buckets": {"b": {"objects": {"k": {"body": "!!", "encoding": "base64"}}}}})).is_err());
}

#[test]
fn default_is_new() {
    assert_eq!(S3::default(), S3::new());
    assert_eq!(S3::new().min_part_size, 5 * 1024 * 1024);
    assert!(S3::new().delete_event_for_missing_key);
    assert_eq!(S3::new().key_encoding, KeyEncoding::Raw);
}

/// A conditional delete (If-Match) removes the object only while it still has the ETag
/// the caller read: the file manager's delete workflow decides on an inventory read and
/// must not remove an upload of the same key made since (issue 12's crash test).
#[test]
fn conditional_delete_removes_only_the_version_that_was_read() {
    let (mut s3, c) = setup();
    let old = put(&mut s3, &c, "u/f.bin", b"old body").etag;
    let new = put(&mut s3, &c, "u/f.bin", b"new body").etag;
    assert_ne!(old, new);
    // The ETag read before the overwrite, quoted (as S3 lists it) or bare (as S3 events carry it).
    let bare_old = old.trim_matches('"').to_string();
    for stale in [old.as_str(), bare_old.as_str()] {
        err(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
            s3.delete_object_if_match("bucket", "u/f.bin", Some(stale), &c).unwrap_err(),
        );
    }
    assert_eq!(s3.get_object("bucket", "u/f.bin", None).unwrap().body, b"new body");
    s3.delete_object_if_match("bucket", "u/f.bin", Some(new.trim_matches('"')), &c).unwrap();
    err("NoSuchKey", 404, "The specified key does not exist.", s3.get_object("bucket", "u/f.bin", None).unwrap_err());
    // Missing key: 404 with a condition (an unconditional delete of a missing key succeeds).
    err("NoSuchKey", 404, "The specified key does not exist.", s3.delete_object_if_match("bucket", "u/f.bin", Some("*"), &c).unwrap_err());
    s3.delete_object("bucket", "u/f.bin", &c).unwrap();
    put(&mut s3, &c, "u/g.bin", b"x");
    s3.delete_object_if_match("bucket", "u/g.bin", Some("*"), &c).unwrap();
    assert!(s3.get_object("bucket", "u/g.bin", None).is_err());
}

/// The same through the Step Functions SDK integration: `IfMatch` of `s3:deleteObject`;
/// PreconditionFailed is not a modelled exception of the Java SDK, so it surfaces as
/// `S3.S3Exception` with the 412 in its cause.
#[test]
fn sdk_delete_object_honours_if_match() {
    let (mut s3, c) = setup();
    let old = put(&mut s3, &c, "u/f.bin", b"old").etag;
    put(&mut s3, &c, "u/f.bin", b"new");
    let p = serde_json::json!({"Bucket": "bucket", "Key": "u/f.bin", "IfMatch": old.trim_matches('"')});
    let (error, cause) = asl_s3::s3_step_functions_call(&mut s3, "deleteObject", &p, &c).unwrap_err();
    assert_eq!(error, "S3.S3Exception");
    assert!(cause.starts_with("At least one of the pre-conditions you specified did not hold (Service: S3, Status Code: 412,"), "{cause}");
    assert_eq!(s3.get_object("bucket", "u/f.bin", None).unwrap().body, b"new");
    let cur = s3.head_object("bucket", "u/f.bin").unwrap().etag;
    let p = serde_json::json!({"Bucket": "bucket", "Key": "u/f.bin", "IfMatch": cur});
    asl_s3::s3_step_functions_call(&mut s3, "deleteObject", &p, &c).unwrap();
    assert!(s3.get_object("bucket", "u/f.bin", None).is_err());
    let p = serde_json::json!({"Bucket": "bucket", "Key": "u/f.bin", "IfMatch": 7});
    let (error, _) = asl_s3::s3_step_functions_call(&mut s3, "deleteObject", &p, &c).unwrap_err();
    assert!(error.starts_with("S3."), "{error}");
}

#[test]
fn tags_are_validated_kept_by_copies_and_saved() {
    let (mut s3, c) = setup();
    let tags = parse_tagging_header("a=1&b=x%26y").unwrap();
    assert_eq!(tags.get("b").map(String::as_str), Some("x&y"));
    s3.put_object(PutObjectInput { bucket: "bucket".into(), key: "k".into(), body: b"v".to_vec(), tags, ..Default::default() }, &c).unwrap();
    assert_eq!(s3.get_object("bucket", "k", None).unwrap().tag_count, 2);
    let e = parse_tagging_header("a=1&a=2").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidArgument", 400));
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), String::new())).collect();
    err("BadRequest", 400, "Object tags cannot be greater than 10", s3.put_object_tagging("bucket", "k", &eleven).unwrap_err());
    err("InvalidTag", 400, "The TagKey you have provided is invalid", s3.put_object_tagging("bucket", "k", &[(String::new(), "v".into())]).unwrap_err());
    assert_eq!(s3.get_object_tagging("bucket", "k").unwrap().len(), 2, "a refused change keeps the old tags");
    s3.copy_object(CopyObjectInput { source_bucket: "bucket".into(), source_key: "k".into(), bucket: "bucket".into(), key: "c".into(), ..Default::default() }, &c).unwrap();
    assert_eq!(s3.get_object_tagging("bucket", "c").unwrap(), s3.get_object_tagging("bucket", "k").unwrap());
    let back = S3::from_json(&s3.to_json()).unwrap();
    assert_eq!(back.get_object_tagging("bucket", "c").unwrap().get("a").map(String::as_str), Some("1"));
    s3.delete_object_tagging("bucket", "k").unwrap();
    assert!(s3.get_object_tagging("bucket", "k").unwrap().is_empty());
    err("NoSuchKey", 404, "The specified key does not exist.", s3.delete_object_tagging("bucket", "nope").unwrap_err());
}
