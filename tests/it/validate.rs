//! Validation: every file in `tests/cases/validate/` is checked, and the
//! rendered diagnostics (rustc-style, with the source line) are snapshotted.
//! Files named `ok-*` must produce no error.

use asl_core::diagnostic::Severity;

#[test]
fn validate_snapshots() {
    let dir = crate::root().join("tests/cases/validate");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    assert!(paths.len() >= 5);
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let (_, mut diags) = asl_core::load_definition(&text, &Default::default());
        diags.sort_by_key(|d| (d.pos, d.code));
        if name.starts_with("ok-") {
            let errors: Vec<_> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
        } else {
            assert!(!diags.is_empty(), "{name}: expected diagnostics");
        }
        let rendered: String = diags.iter().map(|d| asl_core::render::diagnostic(&name, &text, d)).collect();
        insta::assert_snapshot!(name.clone(), rendered);
    }
}

#[test]
fn every_workflow_validates_without_errors() {
    let dir = crate::root().join("workflows");
    let subs = [
        ("TableName", "inventory"),
        ("BucketName", "files"),
        ("EventBusName", "bus"),
        ("QuotaBytes", "1073741824"),
        ("DeadLetterQueueUrl", "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq"),
        ("GraceSeconds", "900"),
        ("CopyObjectMaxBytes", "5368709120"),
        ("CopyPartBytes", "1073741824"),
    ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("workflows") {
        let path = e.expect("entry").path();
        if !path.to_string_lossy().ends_with(".asl.yaml") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&path).expect("read");
        let (def, diags) = asl_core::load_definition(&text, &subs);
        let errors: Vec<_> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
        assert!(def.is_some() && errors.is_empty(), "{}: {errors:?}", path.display());
    }
    assert!(n >= 5, "expected the file manager's workflows, found {n}");
}
