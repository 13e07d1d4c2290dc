//! No input makes asl-sim panic, hang or exhaust memory: each gets a clear
//! diagnostic or AWS's failure.

use asl_core::engine::{self, ExecutionConfig, NoServices, VirtualClock};

fn load(text: &str) -> Result<asl_core::definition::Definition, String> {
    let (def, diags) = asl_core::load_definition(text, &Default::default());
    match def {
        Some(d) if diags.iter().all(|d| d.severity != asl_core::diagnostic::Severity::Error) => Ok(d),
        _ => Err(diags.iter().map(|d| format!("{}: {}", d.pos, d.message)).collect::<Vec<_>>().join("; ")),
    }
}

#[test]
fn malformed_documents_get_positions() {
    for (text, want) in [
        ("{\"StartAt\": ", "1:13"),
        ("StartAt: [\n", "2:1"),
        ("{\"a\": 1e99999}", "out of range"),
        ("- - - [", ""),
        ("\u{0}", ""),
        ("[]", "must be an object"),
        ("StartAt: 5\nStates: 7\n", "States must be an object"),
    ] {
        let e = load(text).expect_err(text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn deep_nesting_and_alias_bombs_are_refused() {
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    assert!(load(&deep).unwrap_err().contains("nesting"));
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (p, c) in ('a'..'k').zip('b'..='k') {
        bomb.push_str(&format!("{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"));
    }
    assert!(load(&bomb).unwrap_err().contains("alias"));
}

#[test]
fn wrong_types_everywhere_are_diagnostics() {
    let cases = [
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":"yes"}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":"x","End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":{}}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":[],"End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":7,"Retry":{},"End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"B"}],"End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":7},"End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Format("},"End":true}}}"#,
    ];
    for c in cases {
        assert!(load(c).is_err(), "{c}");
    }
}

#[test]
fn huge_numbers_and_odd_inputs_run() {
    let def = load(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"s.$":"States.MathAdd($.a, $.b)"},"End":true}}}"#).expect("def");
    let mut clock = VirtualClock { now: 0 };
    let out = engine::run(&def, serde_json::json!({"a": i64::MAX, "b": 1}), &ExecutionConfig::default(), &mut NoServices, &mut clock, false);
    assert_eq!(out.end.error.as_deref(), Some("States.Runtime"));
    let out = engine::run(&def, serde_json::json!({"a": 1e300, "b": "x"}), &ExecutionConfig::default(), &mut NoServices, &mut clock, false);
    assert_eq!(out.end.error.as_deref(), Some("States.Runtime"));
}
