//! S3 → EventBridge notifications: shapes (insta snapshots), sequencer ordering, key
//! encoding, and the blog's S3 → default bus → state machine path.

use asl_eventbridge::events::{EventBridge, PutRuleInput, Target};
use asl_s3::s3::*;
use asl_aws::{CallContext, Event};
use std::cmp::Ordering;
use std::collections::BTreeMap;

const T0: i64 = 1_636_675_200_000; // 2021-11-12T00:00:00Z

fn ctx_at(ms: i64) -> CallContext {
    let mut c = CallContext::new(ms, 7);
    c.region = "eu-west-1".into();
    c.account = "123456789012".into();
    c.requester = "123456789012".into();
    c.request_id = "N4N7GDK58NMKJ12R".into();
    c.source_ip = Some("1.2.3.4".into());
    c
}

fn setup() -> (S3, CallContext) {
    let mut s3 = S3::new();
    let c = ctx_at(T0);
    s3.create_bucket("files", &c).unwrap();
    s3.set_eventbridge("files", true).unwrap();
    (s3, c)
}

fn put(s3: &mut S3, c: &CallContext, key: &str, body: &[u8]) {
    s3.put_object(PutObjectInput { bucket: "files".into(), key: key.into(), body: body.to_vec(), ..Default::default() }, c)
        .unwrap();
}

fn jsons(events: &[Event]) -> Vec<serde_json::Value> {
    events.iter().map(Event::to_json).collect()
}

#[test]
fn object_created_put_shape() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "alice/docs/report.txt", b"hello");
    let ev = s3.drain_events();
    assert_eq!(ev.len(), 1);
    insta::assert_json_snapshot!("object_created_put", jsons(&ev));
    assert!(s3.drain_events().is_empty(), "drain empties the outbox");
}

#[test]
fn object_deleted_shape() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "alice/x", b"1");
    s3.drain_events();
    s3.delete_object("files", "alice/x", &ctx_at(T0 + 1000)).unwrap();
    let ev = s3.drain_events();
    insta::assert_json_snapshot!("object_deleted", jsons(&ev));
    // An unversioned delete carries only key and sequencer.
    let obj = ev[0].detail["object"].as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["key", "sequencer"]);
}

#[test]
fn copy_and_multipart_reasons() {
    let (mut s3, c) = setup();
    s3.min_part_size = 1;
    put(&mut s3, &c, "src", b"abc");
    s3.copy_object(CopyObjectInput { source_bucket: "files".into(), source_key: "src".into(), bucket: "files".into(), key: "dst".into(), ..Default::default() }, &c)
        .unwrap();
    let id = s3.create_multipart_upload("files", "mp", None, &BTreeMap::new(), &c).unwrap();
    let e1 = s3.upload_part("files", "mp", &id, 1, b"hello ".to_vec(), &c).unwrap();
    let e2 = s3.upload_part("files", "mp", &id, 2, b"world".to_vec(), &c).unwrap();
    s3.complete_multipart_upload("files", "mp", &id, &[(1, e1), (2, e2)], &c).unwrap();
    s3.delete_objects("files", &["src".into(), "dst".into()], &c).unwrap();
    let ev = s3.drain_events();
    let summary: Vec<(String, String, String)> = ev
        .iter()
        .map(|e| {
            (
                e.detail_type.clone(),
                e.detail["reason"].as_str().unwrap().to_string(),
                e.detail["object"]["etag"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Object Created".into(), "PutObject".into(), "900150983cd24fb0d6963f7d28e17f72".into()),
            ("Object Created".into(), "CopyObject".into(), "900150983cd24fb0d6963f7d28e17f72".into()),
            ("Object Created".into(), "CompleteMultipartUpload".into(), "e09e4fd6265b36115fe3db32df945d84-2".into()),
            ("Object Deleted".into(), "DeleteObject".into(), "-".into()),
            ("Object Deleted".into(), "DeleteObject".into(), "-".into()),
        ]
    );
    assert_eq!(ev[2].detail["object"]["size"], 11);
    assert!(ev.iter().filter(|e| e.detail_type == "Object Deleted").all(|e| e.detail["deletion-type"] == "Permanently Deleted"));
    // Event ids are distinct.
    let mut ids: Vec<&str> = ev.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ev.len());
}

#[test]
fn no_events_unless_enabled() {
    let mut s3 = S3::new();
    let c = ctx_at(T0);
    s3.create_bucket("quiet", &c).unwrap();
    s3.put_object(PutObjectInput { bucket: "quiet".into(), key: "k".into(), ..Default::default() }, &c).unwrap();
    s3.delete_object("quiet", "k", &c).unwrap();
    assert!(s3.drain_events().is_empty());
    s3.set_eventbridge("quiet", true).unwrap();
    s3.put_object(PutObjectInput { bucket: "quiet".into(), key: "k".into(), ..Default::default() }, &c).unwrap();
    assert_eq!(s3.drain_events().len(), 1);
    // Failed calls emit nothing.
    assert!(s3.get_object("quiet", "nope", None).is_err());
    assert!(s3.copy_object(CopyObjectInput { source_bucket: "quiet".into(), source_key: "nope".into(), bucket: "quiet".into(), key: "x".into(), ..Default::default() }, &c).is_err());
    assert!(s3.drain_events().is_empty());
}

#[test]
fn delete_of_missing_key_is_configurable() {
    let (mut s3, c) = setup();
    s3.delete_object("files", "never-existed", &c).unwrap();
    assert_eq!(s3.drain_events().len(), 1);
    s3.delete_event_for_missing_key = false;
    s3.delete_object("files", "never-existed", &c).unwrap();
    assert!(s3.drain_events().is_empty());
}

#[test]
fn sequencer_increases_per_bucket() {
    let (mut s3, c) = setup();
    s3.create_bucket("other", &c).unwrap();
    s3.set_eventbridge("other", true).unwrap();
    let mut seqs = Vec::new();
    for (i, t) in [T0, T0, T0 + 1, T0 + 5_000, T0 + 5_000, T0 + 86_400_000].iter().enumerate() {
        put(&mut s3, &ctx_at(*t), "same-key", format!("v{i}").as_bytes());
        s3.put_object(PutObjectInput { bucket: "other".into(), key: "same-key".into(), ..Default::default() }, &ctx_at(*t)).unwrap();
        if i % 2 == 0 {
            s3.delete_object("files", "same-key", &ctx_at(*t)).unwrap();
        }
    }
    for e in s3.drain_events() {
        if e.detail["bucket"]["name"] == "files" {
            seqs.push(e.detail["object"]["sequencer"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seqs.len(), 9);
    assert_eq!(&seqs[0][..10], format!("00{:08X}", T0 / 1000));
    for w in seqs.windows(2) {
        assert_eq!(compare_sequencers(&w[0], &w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        // As real events: 18 uppercase hex digits, `00` then the epoch seconds.
        assert_eq!(w[0].len(), 18);
        assert!(w[1].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
    }
    // A clock that goes backwards still gives increasing sequencers.
    put(&mut s3, &ctx_at(T0 - 10_000), "same-key", b"late");
    let late = s3.drain_events()[0].detail["object"]["sequencer"].as_str().unwrap().to_string();
    assert_eq!(compare_sequencers(seqs.last().unwrap(), &late), Ordering::Less);
    // Persisted state keeps the counter.
    let mut back = S3::from_json(&s3.to_json()).unwrap();
    back.put_object(PutObjectInput { bucket: "files".into(), key: "same-key".into(), ..Default::default() }, &ctx_at(T0)).unwrap();
    let after = back.drain_events()[0].detail["object"]["sequencer"].as_str().unwrap().to_string();
    assert_eq!(compare_sequencers(&late, &after), Ordering::Less);
}

#[test]
fn sequencer_comparison_pads_right() {
    let table = [
        ("617f08299329d189", "617f08299329d18a", Ordering::Less),
        ("617F08299329D189", "617f08299329d189", Ordering::Equal),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", Ordering::Less),
        ("0055AED6DCD9028", "0055AED6DCD90281E5", Ordering::Less), // padded: ...9028000 < ...90281E5
        ("0055AED6DCD903", "0055AED6DCD90281E5", Ordering::Greater), // padded: ...903000 > ...9028..
        ("ABC", "ABC000", Ordering::Equal),
        ("B", "AFFFFFFF", Ordering::Greater),
    ];
    for (a, b, want) in table {
        assert_eq!(compare_sequencers(a, b), want, "{a} vs {b}");
        assert_eq!(compare_sequencers(b, a), want.reverse(), "{b} vs {a}");
    }
}

#[test]
fn key_encoding_option() {
    let (mut s3, c) = setup();
    put(&mut s3, &c, "alice/red flower+1.jpg", b"x");
    s3.key_encoding = KeyEncoding::FormUrlEncoded;
    put(&mut s3, &c, "alice/red flower+1.jpg", b"x");
    let ev = s3.drain_events();
    assert_eq!(ev[0].detail["object"]["key"], "alice/red flower+1.jpg");
    assert_eq!(ev[1].detail["object"]["key"], "alice/red+flower%2B1.jpg");
}

#[test]
fn requester_and_source_ip() {
    let (mut s3, mut c) = setup();
    c.source_ip = None;
    c.requester = "s3.amazonaws.com".into();
    put(&mut s3, &c, "k", b"");
    let ev = s3.drain_events();
    assert!(ev[0].detail.get("source-ip-address").is_none());
    assert_eq!(ev[0].detail["requester"], "s3.amazonaws.com");
    assert_eq!(ev[0].detail["object"]["size"], 0);
    assert_eq!(ev[0].detail["object"]["etag"], "d41d8cd98f00b204e9800998ecf8427e");
}

/// The blog: bucket events on the default bus, rule `{source:[aws.s3], detail-type:[Object
/// Created, Object Deleted]}` with `InputPath: $.detail` → the state machine gets `detail`.
#[test]
fn blog_update_inventory_path() {
    let (mut s3, c) = setup();
    let mut eb = EventBridge::new("123456789012", "eu-west-1");
    eb.put_rule(&PutRuleInput {
        name: "UpdateInventoryRule".into(),
        event_pattern: Some(r#"{"source":["aws.s3"],"detail-type":["Object Created","Object Deleted"]}"#.into()),
        ..Default::default()
    })
    .unwrap();
    eb.put_targets(
        None,
        "UpdateInventoryRule",
        &[Target {
            id: "sm".into(),
            arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:UpdateInventory".into(),
            input_path: Some("$.detail".into()),
            ..Default::default()
        }],
    )
    .unwrap();
    put(&mut s3, &c, "alice/a.txt", b"hello");
    s3.delete_object("files", "alice/a.txt", &c).unwrap();
    let mut deliveries = Vec::new();
    for e in s3.drain_events() {
        deliveries.extend(eb.put_service_event(None, &e, &c));
    }
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].target_arn, "arn:aws:states:eu-west-1:123456789012:stateMachine:UpdateInventory");
    assert_eq!(deliveries[0].input["reason"], "PutObject");
    assert_eq!(deliveries[0].input["object"]["key"], "alice/a.txt");
    assert_eq!(deliveries[0].input["object"]["size"], 5);
    assert_eq!(deliveries[1].input["reason"], "DeleteObject");
    assert_eq!(deliveries[1].input["deletion-type"], "Permanently Deleted");
    assert_eq!(deliveries[1].rule_arn, "arn:aws:events:eu-west-1:123456789012:rule/UpdateInventoryRule");
    // A rule on a custom bus does not see S3 events.
    eb.create_event_bus("serverless-file-manager-eventbus").unwrap();
    eb.put_rule(&PutRuleInput {
        name: "Other".into(),
        event_pattern: Some(r#"{"source":["aws.s3"]}"#.into()),
        event_bus_name: Some("serverless-file-manager-eventbus".into()),
        ..Default::default()
    })
    .unwrap();
    eb.put_targets(Some("serverless-file-manager-eventbus"), "Other", &[Target { id: "x".into(), arn: "arn:x".into(), ..Default::default() }])
        .unwrap();
    put(&mut s3, &c, "alice/b.txt", b"x");
    let ev = s3.drain_events();
    let d = eb.put_service_event(None, &ev[0], &c);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule_name, "UpdateInventoryRule");
}
