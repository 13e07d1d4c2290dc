//! Bucket versioning: versions, delete markers, reads and deletes by version id,
//! ListObjectVersions and its paging, suspension, events, persistence.
//! Behaviour per https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html,
//! .../DeletingObjectVersions.html, .../AddingObjectstoVersionSuspendedBuckets.html and the
//! API pages of GetObject, DeleteObject and ListObjectVersions.

use asl_aws::CallContext;
use asl_s3::s3::*;
use asl_s3::versions::{ListObjectVersionsInput, ListedVersion};

const T0: i64 = 1_636_675_200_000;

fn setup() -> (S3, CallContext) {
    let mut s3 = S3::new();
    let c = CallContext::new(T0, 7);
    s3.create_bucket("bucket", &c).unwrap();
    s3.set_eventbridge("bucket", true).unwrap();
    (s3, c)
}

/// `setup`'s bucket with versioning enabled.
fn versioned() -> (S3, CallContext) {
    let (mut s3, c) = setup();
    s3.put_bucket_versioning("bucket", "Enabled").unwrap();
    (s3, c)
}

fn put(s3: &mut S3, c: &CallContext, key: &str, body: &[u8]) -> PutObjectOutput {
    s3.put_object(PutObjectInput { bucket: "bucket".into(), key: key.into(), body: body.to_vec(), ..Default::default() }, c).unwrap()
}

fn body(s3: &S3, key: &str, version: Option<&str>) -> Vec<u8> {
    s3.get_object_version("bucket", key, version, None).unwrap().body
}

fn versions(s3: &S3, f: impl FnOnce(&mut ListObjectVersionsInput)) -> Vec<ListedVersion> {
    let mut i = ListObjectVersionsInput { scope: ListScope::bucket("bucket"), ..Default::default() };
    f(&mut i);
    s3.list_object_versions(&i).unwrap().versions
}

/// (key, is latest, is a delete marker) of every listed version.
fn shape(v: &[ListedVersion]) -> Vec<(String, bool, bool)> {
    v.iter().map(|v| (v.key.clone(), v.is_latest, v.object.is_none())).collect()
}

#[test]
fn a_bucket_without_versioning_reports_no_version_ids() {
    let (mut s3, c) = setup();
    assert_eq!(put(&mut s3, &c, "a", b"1").version_id, None);
    assert_eq!(s3.get_object("bucket", "a", None).unwrap().version_id, None);
    assert_eq!(s3.get_bucket_versioning("bucket").unwrap(), None);
    let d = s3.delete_object_version("bucket", "a", None, None, &c).unwrap();
    assert!(!d.delete_marker && d.version_id.is_none());
    assert!(s3.object("bucket", "a").is_none());
    assert!(versions(&s3, |_| {}).is_empty());
}

#[test]
fn every_write_of_an_enabled_bucket_is_a_new_version() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "a", b"before"); // the null version
    s3.put_bucket_versioning("bucket", "Enabled").unwrap();
    assert_eq!(s3.get_bucket_versioning("bucket").unwrap(), Some(Versioning::Enabled));
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    let v2 = put(&mut s3, &c, "a", b"two").version_id.unwrap();
    assert_ne!(v1, v2);
    assert_eq!((v1.len(), v2.len()), (32, 32));
    assert_eq!(body(&s3, "a", None), b"two");
    assert_eq!(body(&s3, "a", Some(&v1)), b"one");
    assert_eq!(body(&s3, "a", Some("null")), b"before");
    assert_eq!(s3.get_object("bucket", "a", None).unwrap().version_id.as_deref(), Some(v2.as_str()));
    assert_eq!(s3.head_object_version("bucket", "a", Some(&v1)).unwrap().content_length, 3);
    let listed = versions(&s3, |_| {});
    let ids: Vec<&str> = listed.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids, vec![v2.as_str(), v1.as_str(), "null"], "newest first");
    assert_eq!(shape(&listed), vec![("a".into(), true, false), ("a".into(), false, false), ("a".into(), false, false)]);
    // ListObjectsV2 sees the current objects only.
    let l = s3.list_objects_v2(&ListObjectsV2Input { scope: ListScope::bucket("bucket"), ..Default::default() }).unwrap();
    assert_eq!(l.contents.len(), 1);
}

#[test]
fn a_delete_without_a_version_id_leaves_a_delete_marker() {
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    s3.drain_events();
    let d = s3.delete_object_version("bucket", "a", None, None, &c).unwrap();
    assert!(d.delete_marker);
    let marker = d.version_id.unwrap();
    // The key is gone for plain reads, with the marker's headers.
    let e = s3.get_object("bucket", "a", None).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("NoSuchKey", 404));
    assert!(e.headers.contains(&("x-amz-delete-marker".into(), "true".into())));
    assert!(e.headers.contains(&("x-amz-version-id".into(), marker.clone())));
    assert!(s3.list_objects_v2(&ListObjectsV2Input { scope: ListScope::bucket("bucket"), ..Default::default() }).unwrap().contents.is_empty());
    // The old version is still there; the marker itself cannot be read.
    assert_eq!(body(&s3, "a", Some(&v1)), b"one");
    let e = s3.get_object_version("bucket", "a", Some(&marker), None).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("MethodNotAllowed", 405));
    assert!(e.extra.contains(&("ResourceType".into(), "DeleteMarker".into())));
    assert_eq!(shape(&versions(&s3, |_| {})), vec![("a".into(), true, true), ("a".into(), false, false)]);
    // The event says a marker was created.
    let ev = s3.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].detail["deletion-type"], "Delete Marker Created");
    assert_eq!(ev[0].detail["object"]["version-id"], marker.as_str());
    assert_eq!(ev[0].detail["object"]["etag"], "d41d8cd98f00b204e9800998ecf8427e");
    // Deleting the marker by its id brings the object back.
    let d = s3.delete_object_version("bucket", "a", Some(&marker), None, &c).unwrap();
    assert!(d.delete_marker);
    assert_eq!(d.version_id.as_deref(), Some(marker.as_str()));
    assert_eq!(body(&s3, "a", None), b"one");
    assert_eq!(s3.drain_events()[0].detail["deletion-type"], "Permanently Deleted");
}

#[test]
fn deleting_the_current_version_promotes_the_previous_one() {
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    let v2 = put(&mut s3, &c, "a", b"two").version_id.unwrap();
    let d = s3.delete_object_version("bucket", "a", Some(&v2), None, &c).unwrap();
    assert!(!d.delete_marker);
    assert_eq!(body(&s3, "a", None), b"one");
    assert_eq!(s3.get_object("bucket", "a", None).unwrap().version_id.as_deref(), Some(v1.as_str()));
    let e = s3.get_object_version("bucket", "a", Some(&v2), None).unwrap_err();
    assert_eq!((e.code.as_str(), e.status, e.message.as_str()), ("NoSuchVersion", 404, "The specified version does not exist."));
    // A version id that is not one S3 could have issued is refused; a missing one deletes nothing and succeeds.
    let e = s3.get_object_version("bucket", "a", Some("bad id"), None).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidArgument", "Invalid version id specified"));
    assert!(s3.delete_object_version("bucket", "a", Some(&v2), None, &c).is_ok());
    s3.delete_object_version("bucket", "a", Some(&v1), None, &c).unwrap();
    assert!(s3.object("bucket", "a").is_none());
    assert!(s3.buckets["bucket"].is_empty());
    s3.delete_bucket("bucket").unwrap();
}

#[test]
fn a_suspended_bucket_writes_and_deletes_the_null_version() {
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    s3.put_bucket_versioning("bucket", "Suspended").unwrap();
    assert_eq!(put(&mut s3, &c, "a", b"n1").version_id.as_deref(), Some("null"));
    assert_eq!(put(&mut s3, &c, "a", b"n2").version_id.as_deref(), Some("null"));
    // The second null write replaced the first; the enabled-time version stays.
    let ids: Vec<String> = versions(&s3, |_| {}).into_iter().map(|v| v.version_id).collect();
    assert_eq!(ids, vec!["null".to_string(), v1.clone()]);
    assert_eq!(body(&s3, "a", None), b"n2");
    // A delete puts a null delete marker in place of the null version.
    let d = s3.delete_object_version("bucket", "a", None, None, &c).unwrap();
    assert_eq!((d.delete_marker, d.version_id.as_deref()), (true, Some("null")));
    assert_eq!(shape(&versions(&s3, |_| {})), vec![("a".into(), true, true), ("a".into(), false, false)]);
    assert_eq!(body(&s3, "a", Some(&v1)), b"one");
    // Versioning can be suspended, never removed; an unknown status is malformed.
    assert_eq!(s3.put_bucket_versioning("bucket", "Off").unwrap_err().code, "MalformedXML");
}

#[test]
fn a_bucket_with_versions_left_cannot_be_deleted() {
    let (mut s3, c) = versioned();
    put(&mut s3, &c, "a", b"one");
    s3.delete_object("bucket", "a", &c).unwrap();
    let e = s3.delete_bucket("bucket").unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all versions in the bucket.")
    );
}

#[test]
fn events_carry_the_version_id() {
    let (mut s3, c) = versioned();
    let v = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    let ev = s3.drain_events();
    assert_eq!(ev[0].detail["object"]["version-id"], v.as_str());
    let keys: Vec<&String> = ev[0].detail["object"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["key", "size", "etag", "version-id", "sequencer"], "the documented order");
    s3.put_bucket_versioning("bucket", "Suspended").unwrap();
    put(&mut s3, &c, "a", b"two");
    assert!(s3.drain_events()[0].detail["object"].get("version-id").is_none(), "a null version has no id to give");
}

#[test]
fn list_object_versions_pages_with_key_and_version_markers() {
    let (mut s3, c) = versioned();
    for k in ["a", "b", "dir/x", "dir/y"] {
        put(&mut s3, &c, k, b"1");
        put(&mut s3, &c, k, b"2");
    }
    s3.delete_object("bucket", "b", &c).unwrap();
    let all = versions(&s3, |_| {});
    assert_eq!(all.len(), 9);
    // Page by two through every version and marker, as a paginator does.
    let mut seen = Vec::new();
    let (mut km, mut vm) = (None, None);
    loop {
        let out = s3
            .list_object_versions(&ListObjectVersionsInput { scope: ListScope { max_keys: Some(2), ..ListScope::bucket("bucket") }, key_marker: km.clone(), version_id_marker: vm.clone(), ..Default::default() })
            .unwrap();
        seen.extend(out.versions.iter().map(|v| (v.key.clone(), v.version_id.clone())));
        if !out.page.is_truncated {
            break;
        }
        km = out.next_key_marker;
        vm = out.next_version_id_marker;
    }
    let expected: Vec<(String, String)> = all.iter().map(|v| (v.key.clone(), v.version_id.clone())).collect();
    assert_eq!(seen, expected);
    // A delimiter rolls keys up; a prefix narrows.
    let out = s3.list_object_versions(&ListObjectVersionsInput { scope: ListScope { delimiter: Some("/".into()), ..ListScope::bucket("bucket") }, ..Default::default() }).unwrap();
    assert_eq!(out.page.common_prefixes, vec!["dir/"]);
    assert_eq!(out.versions.len(), 5);
    assert_eq!(versions(&s3, |i| i.scope.prefix = Some("dir/".into())).len(), 4);
    let e = s3.list_object_versions(&ListObjectVersionsInput { scope: ListScope::bucket("bucket"), version_id_marker: Some("x".into()), ..Default::default() }).unwrap_err();
    assert_eq!(e.code, "InvalidArgument");
}

#[test]
fn a_copy_reads_the_version_it_names() {
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    put(&mut s3, &c, "a", b"two");
    let copy = |s3: &mut S3, v: &str| {
        s3.copy_object(
            CopyObjectInput { source_bucket: "bucket".into(), source_key: "a".into(), source_version_id: Some(v.into()), bucket: "bucket".into(), key: "b".into(), ..Default::default() },
            &c,
        )
    };
    let out = copy(&mut s3, &v1).unwrap();
    assert_eq!(out.source_version_id.as_deref(), Some(v1.as_str()));
    assert!(out.version_id.is_some());
    assert_eq!(body(&s3, "b", None), b"one");
    let marker = s3.delete_object_version("bucket", "a", None, None, &c).unwrap().version_id.unwrap();
    let e = copy(&mut s3, &marker).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidRequest", 400));
}

#[test]
fn versions_survive_to_json_and_back() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "a", b"null one");
    s3.put_bucket_versioning("bucket", "Enabled").unwrap();
    put(&mut s3, &c, "a", b"two");
    s3.delete_object("bucket", "a", &c).unwrap();
    put(&mut s3, &c, "b", b"b");
    let back = S3::from_json(&s3.to_json()).unwrap();
    assert_eq!(back.get_bucket_versioning("bucket").unwrap(), Some(Versioning::Enabled));
    assert_eq!(versions(&back, |_| {}), versions(&s3, |_| {}));
    assert_eq!(body(&back, "a", Some("null")), b"null one");
}

#[test]
fn delete_objects_with_version_ids() {
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    put(&mut s3, &c, "b", b"b");
    let out = s3.delete_object_versions("bucket", &[("a".into(), Some(v1.clone())), ("b".into(), None), ("c".into(), Some("bad".into()))], &c).unwrap();
    assert_eq!(out.deleted.len(), 2);
    assert_eq!((out.deleted[0].version_id.as_deref(), out.deleted[0].delete_marker), (Some(v1.as_str()), false));
    assert!(out.deleted[1].delete_marker && out.deleted[1].delete_marker_version_id.is_some());
    assert_eq!(out.errors, vec![("c".to_string(), "InvalidArgument".to_string(), "Invalid version id specified".to_string())]);
}

#[test]
fn removing_an_older_delete_marker_leaves_the_current_object() {
    // put v1, delete (marker), put v3: the marker is now an older version. Deleting it by id
    // removes only it (DeletingObjectVersions.html); v3 stays current.
    let (mut s3, c) = versioned();
    let v1 = put(&mut s3, &c, "a", b"one").version_id.unwrap();
    let marker = s3.delete_object_version("bucket", "a", None, None, &c).unwrap().version_id.unwrap();
    let v3 = put(&mut s3, &c, "a", b"three").version_id.unwrap();
    let d = s3.delete_object_version("bucket", "a", Some(&marker), None, &c).unwrap();
    assert!(d.delete_marker);
    assert_eq!(s3.get_object("bucket", "a", None).unwrap().version_id.as_deref(), Some(v3.as_str()));
    let ids: Vec<String> = versions(&s3, |_| {}).into_iter().map(|v| v.version_id).collect();
    assert_eq!(ids, vec![v3, v1]);
}
