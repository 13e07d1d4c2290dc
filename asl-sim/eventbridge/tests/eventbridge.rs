//! EventBridge: buses, rules, targets, PutEvents validation, routing, input transformation.

use asl_eventbridge::events::*;
use asl_aws::CallContext;
use serde_json::{json, Value};

const T0: i64 = 1_636_675_200_000;

fn ctx() -> CallContext {
    let mut c = CallContext::new(T0, 3);
    c.region = "eu-west-1".into();
    c.account = "123456789012".into();
    c
}

fn eb() -> EventBridge {
    let mut eb = EventBridge::new("123456789012", "eu-west-1");
    eb.create_event_bus("app-bus").unwrap();
    eb
}

fn entry(source: &str, dt: &str, detail: &str) -> PutEventsEntry {
    PutEventsEntry {
        source: Some(source.into()),
        detail_type: Some(dt.into()),
        detail: Some(detail.into()),
        event_bus_name: Some("app-bus".into()),
        ..Default::default()
    }
}

fn rule(eb: &mut EventBridge, name: &str, pattern: Value, targets: Vec<Target>) {
    eb.put_rule(&PutRuleInput {
        name: name.into(),
        event_pattern: Some(pattern.to_string()),
        event_bus_name: Some("app-bus".into()),
        ..Default::default()
    })
    .unwrap();
    eb.put_targets(Some("app-bus"), name, &targets).unwrap();
}

fn target(id: &str) -> Target {
    Target { id: id.into(), arn: format!("arn:aws:states:eu-west-1:123456789012:stateMachine:{id}"), ..Default::default() }
}

#[test]
fn put_events_entry_validation() {
    let mut eb = eb();
    let c = ctx();
    let mut no_source = entry("x", "t", "{}");
    no_source.source = None;
    let mut no_dt = entry("x", "t", "{}");
    no_dt.detail_type = None;
    let mut no_detail = entry("x", "t", "{}");
    no_detail.detail = None;
    let mut bad_bus = entry("x", "t", "{}");
    bad_bus.event_bus_name = Some("nope".into());
    let entries = vec![
        entry("FileApi", "DeleteFile", r#"{"user":"alice"}"#),
        no_source,
        no_dt,
        no_detail,
        entry("x", "t", r#""jsonstring""#),
        entry("x", "t", "[1]"),
        entry("x", "t", "not json"),
        entry("aws.s3", "t", "{}"),
        bad_bus,
        entry("x", "t", "{}"),
    ];
    let (res, _) = eb.put_events(&entries, &c).unwrap();
    let j = res.to_json();
    assert_eq!(j["FailedEntryCount"], 8);
    let e = j["Entries"].as_array().unwrap();
    assert_eq!(e.len(), 10);
    assert!(e[0]["EventId"].is_string() && e[9]["EventId"].is_string());
    assert_ne!(e[0]["EventId"], e[9]["EventId"]);
    let err = |i: usize| (e[i]["ErrorCode"].as_str().unwrap(), e[i]["ErrorMessage"].as_str().unwrap());
    assert_eq!(err(1), ("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."));
    assert_eq!(err(2), ("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."));
    assert_eq!(err(3), ("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."));
    for i in 4..=6 {
        assert_eq!(err(i), ("MalformedDetail", "Detail is malformed."));
    }
    assert_eq!(err(7), ("NotAuthorizedForSourceException", "Not authorized for the source."));
    assert_eq!(err(8).0, "ResourceNotFoundException");
    // Response key order as AWS: Entries then FailedEntryCount.
    assert!(j.to_string().starts_with(r#"{"Entries":[{"EventId":"#));

    let e = eb.put_events(&[], &c).unwrap_err();
    assert_eq!(e.code, "ValidationException");
    let eleven: Vec<PutEventsEntry> = (0..11).map(|_| entry("x", "t", "{}")).collect();
    assert!(eb.put_events(&eleven, &c).unwrap_err().message.contains("less than or equal to 10"));
    // An empty Detail is a missing one.
    let (res, _) = eb.put_events(&[entry("x", "t", "")], &c).unwrap();
    assert_eq!(res.entries[0], Err(("InvalidArgument".into(), "Parameter Detail is not valid. Reason: Detail is a required argument.".into())));
    // Size limit over the whole request.
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(200 * 1024));
    let e = eb.put_events(&[entry("x", "t", &big), entry("x", "t", &big)], &c).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "Total size of the entries in the request is over the limit."));
    assert_eq!(eb.put_events(&[entry("x", "t", &big)], &c).unwrap().0.failed_entry_count, 0);
}

#[test]
fn routing_and_envelope() {
    let mut eb = eb();
    let c = ctx();
    rule(&mut eb, "delete", json!({"source": ["FileApi"], "detail-type": ["DeleteFile"]}), vec![target("b"), target("a")]);
    rule(&mut eb, "other", json!({"source": ["Other"]}), vec![target("c")]);
    rule(&mut eb, "all", json!({"detail": {"user": [{"exists": true}]}}), vec![target("d")]);
    eb.set_rule_state(Some("app-bus"), "all", RuleState::Disabled).unwrap();
    let mut e = entry("FileApi", "DeleteFile", r#"{"user":"alice","path":"/docs","name":"a.txt"}"#);
    e.resources = vec!["arn:aws:s3:::files".into()];
    e.time_ms = Some(T0 + 60_000);
    let (res, d) = eb.put_events(&[e], &c).unwrap();
    assert_eq!(res.failed_entry_count, 0);
    // Rules by name, targets in the order they were put.
    assert_eq!(d.iter().map(|x| x.target_id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    assert_eq!(d[0].rule_arn, "arn:aws:events:eu-west-1:123456789012:rule/app-bus/delete");
    assert_eq!(d[0].event_bus_name, "app-bus");
    let id = res.entries[0].clone().unwrap();
    insta::assert_json_snapshot!("custom_event_envelope", d[0].event);
    assert_eq!(d[0].event["id"], id.as_str());
    assert_eq!(d[0].input, d[0].event, "no Input/InputPath/InputTransformer: the whole event");
    assert_eq!(d[0].input_text, d[0].event.to_string());
    // Enabling the rule adds its target.
    eb.set_rule_state(Some("app-bus"), "all", RuleState::Enabled).unwrap();
    let (_, d) = eb.put_events(&[entry("FileApi", "DeleteFile", r#"{"user":"bob"}"#)], &c).unwrap();
    assert_eq!(d.iter().map(|x| x.target_id.as_str()).collect::<Vec<_>>(), ["d", "b", "a"]);
    // Events on the default bus do not reach rules of app-bus.
    let mut on_default = entry("FileApi", "DeleteFile", "{}");
    on_default.event_bus_name = None;
    let (_, d) = eb.put_events(&[on_default], &c).unwrap();
    assert!(d.is_empty());
    // The bus may be given by ARN.
    let mut by_arn = entry("FileApi", "DeleteFile", "{}");
    by_arn.event_bus_name = Some("arn:aws:events:eu-west-1:123456789012:event-bus/app-bus".into());
    let (_, d) = eb.put_events(&[by_arn], &c).unwrap();
    assert_eq!(d.len(), 2);
}

#[test]
fn input_and_input_path() {
    let mut eb = eb();
    let c = ctx();
    let mut t1 = target("const");
    t1.input = Some(r#"{"fixed": [1, 2]}"#.into());
    let mut t2 = target("detail");
    t2.input_path = Some("$.detail".into());
    let mut t3 = target("deep");
    t3.input_path = Some("$.detail.items[1].name".into());
    let mut t4 = target("missing");
    t4.input_path = Some("$.detail.nope".into());
    let mut t5 = target("dt");
    t5.input_path = Some("$.detail-type".into());
    rule(&mut eb, "r", json!({"source": ["s"]}), vec![t1, t2, t3, t4, t5]);
    let (_, d) = eb.put_events(&[entry("s", "T", r#"{"items":[{"name":"a"},{"name":"b"}]}"#)], &c).unwrap();
    assert_eq!(d[0].input, json!({"fixed": [1, 2]}));
    assert_eq!(d[0].input_text, r#"{"fixed": [1, 2]}"#);
    assert_eq!(d[1].input, json!({"items": [{"name": "a"}, {"name": "b"}]}));
    assert_eq!(d[2].input, json!("b"));
    assert_eq!(d[3].input, Value::Null);
    assert_eq!(d[4].input, json!("T"));
}

#[test]
fn input_transformer() {
    let mut eb = eb();
    let c = ctx();
    let paths = vec![
        ("instance".to_string(), "$.detail.instance-id".to_string()),
        ("state".to_string(), "$.detail.state".to_string()),
        ("n".to_string(), "$.detail.count".to_string()),
        ("obj".to_string(), "$.detail.tags".to_string()),
        ("missing".to_string(), "$.detail.nope".to_string()),
        ("quote".to_string(), "$.detail.quote".to_string()),
    ];
    let t = |id: &str, tpl: &str| Target {
        input_transformer: Some(InputTransformer { input_paths_map: paths.clone(), input_template: tpl.to_string() }),
        ..target(id)
    };
    rule(
        &mut eb,
        "r",
        json!({"source": ["ec2"]}),
        vec![
            t("json", r#"{"instance": <instance>, "state": [9, <state>, true], "n": <n>, "tags": <obj>, "m": <missing>, "Transformed": "Yes"}"#),
            t("instr", r#"{"msg": "<instance> is in state <state> (<n>)", "q": "<quote>", "m": "<missing>"}"#),
            t("text", "<instance> is in state <state>"),
            t("text-quoted", r#"<instance> is in state "<state>""#),
            t("predef", r#"{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>", "at": <aws.events.event.ingestion-time>, "ev": <aws.events.event>, "full": <aws.events.event.json>}"#),
            t("not-a-placeholder", r#"{"x": "a < b > c", "y": "<a b>"}"#),
            t("json-string", r#""<aws.events.rule-name> triggered by <instance>""#),
            t("json-string-escaped", r#""<instance> is in state \"<state>\"""#),
        ],
    );
    let detail = r#"{"instance-id":"i-0123456789","state":"RUNNING","count":3,"tags":{"a":"b"},"quote":"say \"hi\""}"#;
    let (_, d) = eb.put_events(&[entry("ec2", "EC2 Instance State-change Notification", detail)], &c).unwrap();
    assert_eq!(
        d[0].input,
        json!({"instance": "i-0123456789", "state": [9, "RUNNING", true], "n": 3, "tags": {"a": "b"}, "m": "", "Transformed": "Yes"})
    );
    assert_eq!(d[1].input, json!({"msg": "i-0123456789 is in state RUNNING (3)", "q": "say \"hi\"", "m": ""}));
    // Plain text is sent as is.
    assert_eq!(d[2].input, json!("i-0123456789 is in state RUNNING"));
    assert_eq!(d[2].input_text, "i-0123456789 is in state RUNNING");
    assert_eq!(d[3].input_text, r#"i-0123456789 is in state "RUNNING""#);
    let p = &d[4].input;
    assert_eq!(p["rule"], "r");
    assert_eq!(p["arn"], "arn:aws:events:eu-west-1:123456789012:rule/app-bus/r");
    assert_eq!(p["at"], "2021-11-12T00:00:00Z");
    // Recorded on AWS: aws.events.event's keys.
    assert_eq!(
        p["ev"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "account", "detailType", "time", "source", "region", "resources", "version"]
    );
    assert_eq!(p["ev"]["detailType"], "EC2 Instance State-change Notification");
    assert_eq!(p["full"]["detail"]["count"], 3);
    assert_eq!(d[5].input, json!({"x": "a < b > c", "y": "<a b>"}));
    // A template that is a JSON string gives a JSON string (the documented examples).
    assert_eq!(d[6].input, json!("r triggered by i-0123456789"));
    assert_eq!(d[6].input_text, r#""r triggered by i-0123456789""#);
    assert_eq!(d[7].input, json!("i-0123456789 is in state \"RUNNING\""));
}

#[test]
fn management_errors() {
    let mut eb = eb();
    let e = eb.create_event_bus("app-bus").unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ResourceAlreadyExistsException", "Event bus app-bus already exists."));
    let e = eb
        .put_rule(&PutRuleInput { name: "r".into(), event_pattern: Some(r#"{"source":["x"]}"#.into()), event_bus_name: Some("nope".into()), ..Default::default() })
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ResourceNotFoundException", "Event bus nope does not exist."));
    let e = eb
        .put_rule(&PutRuleInput { name: "r".into(), event_pattern: Some(r#"{"a": 1}"#.into()), ..Default::default() })
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("InvalidEventPatternException", "Event pattern is not valid. Reason: \"a\" must be an object or an array")
    );
    let e = eb.put_rule(&PutRuleInput { name: "r".into(), ..Default::default() }).unwrap_err();
    assert_eq!(e.message, "Parameter(s) EventPattern or ScheduleExpression must be specified.");
    let e = eb.put_rule(&PutRuleInput { name: "bad name".into(), event_pattern: Some(r#"{"source":["x"]}"#.into()), ..Default::default() }).unwrap_err();
    assert_eq!(e.code, "ValidationException");
    let e = eb.put_targets(None, "nope", &[target("a")]).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ResourceNotFoundException", "Rule nope does not exist on EventBus default."));
    eb.put_rule(&PutRuleInput { name: "r".into(), event_pattern: Some(r#"{"source":["x"]}"#.into()), ..Default::default() }).unwrap();
    let mut both = target("t");
    both.input = Some("{}".into());
    both.input_path = Some("$.detail".into());
    assert_eq!(eb.put_targets(None, "r", &[both]).unwrap_err().code, "ValidationException");
    // Recorded on AWS.
    let mut undefined = target("t");
    undefined.input_transformer = Some(InputTransformer { input_paths_map: vec![], input_template: r#"{"a": <notdefinedkey>}"#.into() });
    let e = eb.put_targets(None, "r", &[undefined]).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "InputTemplate for target t contains invalid placeholder notdefinedkey."));
    let mut both = target("t");
    both.input_path = Some("$.detail".into());
    both.input_transformer = Some(InputTransformer { input_paths_map: vec![], input_template: "{}".into() });
    let e = eb.put_targets(None, "r", &[both]).unwrap_err();
    assert_eq!(e.message, "Only one of Input, InputPath, or InputTransformer must be provided for target t.");
    let mut bad_input = target("t");
    bad_input.input = Some("{nope".into());
    assert_eq!(eb.put_targets(None, "r", &[bad_input]).unwrap_err().code, "ValidationException");
    eb.put_targets(None, "r", &[target("t")]).unwrap();
    let mut replaced = target("t");
    replaced.arn = "arn:new".into();
    eb.put_targets(None, "r", &[replaced]).unwrap();
    assert_eq!(eb.get_rule(None, "r").unwrap().targets.len(), 1);
    assert_eq!(eb.get_rule(None, "r").unwrap().targets[0].arn, "arn:new");
    let e = eb.delete_rule(None, "r").unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "Rule can't be deleted since it has targets."));
    eb.remove_targets(None, "r", &["t"]).unwrap();
    eb.delete_rule(None, "r").unwrap();
    assert!(eb.get_rule(None, "r").is_none());
    // Re-putting a rule keeps its targets.
    rule(&mut eb, "keep", json!({"source": ["x"]}), vec![target("k")]);
    eb.put_rule(&PutRuleInput { name: "keep".into(), event_pattern: Some(r#"{"source":["y"]}"#.into()), event_bus_name: Some("app-bus".into()), ..Default::default() }).unwrap();
    assert_eq!(eb.get_rule(Some("app-bus"), "keep").unwrap().targets.len(), 1);
    assert!(eb.delete_event_bus("default").is_err());
}

#[test]
fn persistence_round_trip() {
    let mut eb = eb();
    let mut t = target("x");
    t.input_transformer = Some(InputTransformer {
        input_paths_map: vec![("b".into(), "$.detail.b".into()), ("a".into(), "$.detail.a".into())],
        input_template: r#"{"a": <a>}"#.into(),
    });
    rule(&mut eb, "r", json!({"source": ["x"]}), vec![t, Target { input_path: Some("$.detail".into()), ..target("y") }]);
    eb.put_rule(&PutRuleInput { name: "d".into(), event_pattern: Some(r#"{"source":["x"]}"#.into()), state: Some(RuleState::Disabled), ..Default::default() }).unwrap();
    let j = eb.to_json();
    let back = EventBridge::from_json(&j).unwrap();
    assert_eq!(back, eb);
    assert_eq!(back.to_json(), j);
    assert!(EventBridge::from_json(&json!({})).is_err());
}

#[test]
fn test_event_pattern_and_list_rules() {
    let mut eb = eb();
    let event = r#"{"id":"1","source":"test-source","detail-type":"t","account":"123456789012","region":"us-east-2","time":"2022-07-13T13:48:01Z","detail":{"a":1}}"#;
    assert_eq!(eb.test_event_pattern(r#"{"detail":{"a":[1]}}"#, event), Ok(true));
    assert_eq!(eb.test_event_pattern(r#"{"detail":{"a":[2]}}"#, event), Ok(false));
    // Recorded on AWS: a payload that is not an event.
    let e = eb.test_event_pattern(r#"{"source":["x"]}"#, "plain string").unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "Parameter Event is not valid."));
    assert!(eb.test_event_pattern(r#"{"source":["x"]}"#, r#"{"source":"x"}"#).is_err());
    assert_eq!(eb.test_event_pattern(r#"{"source": "x"}"#, event).unwrap_err().code, "InvalidEventPatternException");
    rule(&mut eb, "b-rule", json!({"source": ["x"]}), vec![]);
    rule(&mut eb, "a-rule", json!({"source": ["x"]}), vec![]);
    rule(&mut eb, "other", json!({"source": ["x"]}), vec![]);
    let names: Vec<&str> = eb.list_rules(Some("app-bus"), None).unwrap().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a-rule", "b-rule", "other"]);
    assert_eq!(eb.list_rules(Some("app-bus"), Some("b-")).unwrap().len(), 1);
    assert!(eb.list_rules(None, None).unwrap().is_empty());
    assert_eq!(eb.list_rules(Some("nope"), None).unwrap_err().code, "ResourceNotFoundException");
}
