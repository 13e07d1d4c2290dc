//! Fidelity details recorded on AWS.

use super::*;
use serde_json::json;

/// Every task returns one string just over the 256 KiB payload limit.
struct Oversized;
impl Services for Oversized {
    fn call(&mut self, _call: &TaskCall<'_>, _clock: &mut dyn Clock) -> Result<Value, TaskError> {
        Ok(Value::String("a".repeat(257 * 1024)))
    }
}

fn oversized_cause(resource: &str) -> Option<Value> {
    let text = format!(
        r#"{{"StartAt":"Call","States":{{"Call":{{"Type":"Task","Resource":"{resource}","Catch":[{{"ErrorEquals":["States.ALL"],"Next":"Caught"}}],"End":true}},"Caught":{{"Type":"Pass","End":true}}}}}}"#
    );
    let (def, _) = crate::load_definition(&text, &Default::default());
    let out = run(&def.expect("definition"), json!({}), &ExecutionConfig::default(), &mut Oversized, &mut VirtualClock { now: 0 }, false);
    out.end.output.and_then(|o| o.get("Cause").cloned())
}

// Recorded by AWS (LocalStack test_states_errors): an oversized result is
// blamed on the function's ARN for a direct Lambda resource, and on the
// service name ('lambda') for the lambda:invoke integration.
#[test]
fn data_limit_cause_names_the_function_arn_or_the_service() {
    let arn = "arn:aws:lambda:us-east-1:111111111111:function:big";
    assert_eq!(
        oversized_cause(arn),
        Some(json!(format!("The state/task '{arn}' returned a result with a size exceeding the maximum number of bytes service limit.")))
    );
    assert_eq!(
        oversized_cause("arn:aws:states:::lambda:invoke"),
        Some(json!("The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."))
    );
}
