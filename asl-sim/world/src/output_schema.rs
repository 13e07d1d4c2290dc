//! What AWS's API says a Task's result looks like, and the check TestState makes of a
//! mocked result against it (`mock.fieldValidationMode`,
//! https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html):
//! STRICT (the default) requires every required field and checks the type, enum and
//! range of every field given; PRESENT checks only the fields given; NONE checks nothing.
//! Fields the API does not have are ignored in both (recorded on AWS: `{"random":
//! "json"}` passes STRICT).
//!
//! The shapes are botocore's service models (`data/aws-output-shapes.json`, written by
//! `data/extract_output_shapes.py`; the file names the botocore version and the
//! services). A resource with no model here (a service not in the file, an HTTP or API
//! Gateway task, a `.sync` job other than Step Functions', a callback) is not checked:
//! AWS's docs do not list which resources AWS validates, and refusing a mock asl-sim cannot
//! judge would be worse than letting it through.
//!
//! The messages are AWS's (recorded): "Mock result schema validation error: Field 'X'
//! must be an array", "... Required field 'X' is missing", "... is not an expected
//! value", "... is smaller than the minimum length", "... is less than the minimum
//! value", "... exceeds the maximum value". Not recorded, and worded the same way:
//! "must be an object", "must be a boolean", "exceeds the maximum length".

use serde_json::{Map, Value};
use std::sync::OnceLock;

const MODELS: &str = include_str!("../data/aws-output-shapes.json");

/// How strictly a mocked result is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Present,
    None,
}

impl FieldValidation {
    /// `STRICT`, `PRESENT` or `NONE`; absent means STRICT (API_MockInput's default).
    pub fn parse(s: Option<&str>) -> Option<FieldValidation> {
        match s {
            None | Some("STRICT") => Some(FieldValidation::Strict),
            Some("PRESENT") => Some(FieldValidation::Present),
            Some("NONE") => Some(FieldValidation::None),
            Some(_) => None,
        }
    }
}

fn models() -> Option<&'static Map<String, Value>> {
    static PARSED: OnceLock<Option<Value>> = OnceLock::new();
    // The file is embedded and a test parses it: None only if it were corrupt, and then
    // nothing is checked rather than a panic.
    PARSED.get_or_init(|| serde_json::from_str::<Value>(MODELS).ok()).as_ref()?.get("services")?.as_object()
}

/// The API operation whose output a Task resource returns: (service, operation,
/// top-level members whose type Step Functions changes, so they are not checked).
fn operation(resource: &str) -> Option<(String, String, &'static [&'static str])> {
    let r = asl_handler::parse_resource(resource)?;
    let op = member_key(r.action);
    if resource.split(':').nth(5) == Some("aws-sdk") {
        // `.waitForTaskToken`: the result is what SendTaskSuccess sends.
        return r.pattern.is_empty().then(|| (r.service.to_string(), op, &[][..]));
    }
    let (service, exempt): (&str, &'static [&'static str]) = match (r.service, r.action, r.pattern) {
        // The optimized Lambda integration parses Payload as JSON.
        ("lambda", "invoke", "") => ("lambda", &["Payload"]),
        ("states", "startExecution", "") => ("sfn", &[]),
        ("states", "startExecution", ".sync") => return Some(("sfn".into(), "DescribeExecution".into(), &[])),
        // `.sync:2` parses Input and Output as JSON.
        ("states", "startExecution", ".sync:2") => return Some(("sfn".into(), "DescribeExecution".into(), &["Input", "Output"])),
        ("events", "putEvents", "") => ("eventbridge", &[]),
        // The optimized Bedrock integration parses Body as JSON.
        ("bedrock", "invokeModel", "") => ("bedrockruntime", &["Body"]),
        (_, _, p) if !p.is_empty() => return None,
        ("http" | "apigateway", _, _) => return None,
        ("elasticmapreduce", _, _) => ("emr", &[]),
        (s, _, _) => (s, &[]),
    };
    Some((service.to_string(), op, exempt))
}

/// Checks a mocked `result` for `resource`: `Err` is the ValidationException's message.
pub fn check_mock_result(resource: &str, result: &Value, mode: FieldValidation) -> Result<(), String> {
    if mode == FieldValidation::None {
        return Ok(());
    }
    let Some((service, op, exempt)) = operation(resource) else { return Ok(()) };
    let Some(model) = models().and_then(|m| m.get(&service)) else { return Ok(()) };
    let Some(shape) = model.get("ops").and_then(|o| o.get(&op)).and_then(Value::as_str) else { return Ok(()) };
    let Some(shapes) = model.get("shapes").and_then(Value::as_object) else { return Ok(()) };
    let checker = Checker { shapes, mode };
    let Some(root) = shapes.get(shape) else { return Ok(()) };
    if !result.is_object() {
        // Not recorded: AWS's docs only say the result must match the API's output.
        return Err(format!("{PREFIX}The mocked result of '{resource}' must be a JSON object"));
    }
    checker.structure(root, result, exempt).map_err(|m| format!("{PREFIX}{m}"))
}

const PREFIX: &str = "Mock result schema validation error: ";

struct Checker<'a> {
    shapes: &'a Map<String, Value>,
    mode: FieldValidation,
}

/// Step Functions names every member with its first letter in upper case (the SDK's
/// member names: `executionArn` in Step Functions' own API is `ExecutionArn`; recorded),
/// and an operation by its action so (`getObject` is `GetObject`).
fn member_key(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl Checker<'_> {
    fn structure(&self, shape: &Value, v: &Value, exempt: &[&str]) -> Result<(), String> {
        let Some(obj) = v.as_object() else { return Ok(()) };
        let required: Vec<&str> = shape.get("r").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for m in shape.get("m").and_then(Value::as_array).into_iter().flatten() {
            let (Some(name), Some(member_shape)) = (m.get(0).and_then(Value::as_str), m.get(1).and_then(Value::as_str)) else { continue };
            let key = member_key(name);
            if exempt.contains(&key.as_str()) {
                continue;
            }
            match obj.get(&key) {
                // A null is read as an absent field (the SDKs' deserializers do the same).
                None | Some(Value::Null) => {
                    if self.mode == FieldValidation::Strict && required.contains(&name) {
                        return Err(format!("Required field '{key}' is missing"));
                    }
                }
                Some(x) => self.value(member_shape, x, &key)?,
            }
        }
        Ok(())
    }

    fn value(&self, shape_name: &str, v: &Value, field: &str) -> Result<(), String> {
        let Some(shape) = self.shapes.get(shape_name) else { return Ok(()) };
        let bad = |what: &str| Err(format!("Field '{field}' {what}"));
        let num = |k: &str| shape.get(k).and_then(Value::as_f64);
        match shape.get("t").and_then(Value::as_str).unwrap_or("") {
            "s" => {
                if !v.is_object() {
                    return bad("must be an object");
                }
                self.structure(shape, v, &[])
            }
            "l" => {
                let Some(items) = v.as_array() else { return bad("must be an array") };
                self.length(items.len(), shape, field)?;
                let item = shape.get("i").and_then(Value::as_str).unwrap_or("");
                items.iter().try_for_each(|x| self.value(item, x, field))
            }
            "m" => {
                let Some(entries) = v.as_object() else { return bad("must be an object") };
                let value_shape = shape.get("v").and_then(Value::as_str).unwrap_or("");
                entries.values().try_for_each(|x| self.value(value_shape, x, field))
            }
            "S" | "B" => {
                let Some(s) = v.as_str() else { return bad("must be a string") };
                if let Some(values) = shape.get("e").and_then(Value::as_array) {
                    if !values.iter().any(|e| e.as_str() == Some(s)) {
                        return bad("is not an expected value");
                    }
                }
                self.length(s.chars().count(), shape, field)
            }
            "N" => {
                let Some(n) = v.as_f64() else { return bad("must be a number") };
                if num("min").is_some_and(|min| n < min) {
                    return bad("is less than the minimum value");
                }
                if num("max").is_some_and(|max| n > max) {
                    return bad("exceeds the maximum value");
                }
                Ok(())
            }
            "Z" if !v.is_boolean() => bad("must be a boolean"),
            // Timestamps are ISO 8601 text in Step Functions' results (recorded: a boolean
            // and a number are both refused with this message).
            "T" if !v.is_string() => bad("must be a string"),
            _ => Ok(()),
        }
    }

    fn length(&self, len: usize, shape: &Value, field: &str) -> Result<(), String> {
        let len = len as f64;
        if shape.get("min").and_then(Value::as_f64).is_some_and(|min| len < min) {
            return Err(format!("Field '{field}' is smaller than the minimum length"));
        }
        if shape.get("max").and_then(Value::as_f64).is_some_and(|max| len > max) {
            return Err(format!("Field '{field}' exceeds the maximum length"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(resource: &str, result: Value, mode: FieldValidation) -> Result<(), String> {
        check_mock_result(resource, &result, mode)
    }

    const SFN: &str = "arn:aws:states:::states:startExecution";

    #[test]
    fn the_embedded_models_parse_and_name_their_services() {
        let m = models().expect("aws-output-shapes.json parses");
        for s in ["lambda", "sfn", "eventbridge", "dynamodb", "s3", "sqs", "sns", "kms"] {
            assert!(m.get(s).and_then(|x| x.get("ops")).is_some_and(Value::is_object), "{s}");
        }
    }

    // The cases below are AWS's recordings (aws-recorded/stepfunctions-api.jsonl,
    // test_field_validation_mode*.py): the same results and messages.
    #[test]
    fn strict_requires_the_required_fields_present_does_not() {
        let missing = Err(format!("{PREFIX}Required field 'ExecutionArn' is missing"));
        assert_eq!(check(SFN, json!({}), FieldValidation::Strict), missing);
        // Step Functions' member names start in upper case: `executionArn` is not it.
        assert_eq!(check(SFN, json!({"executionArn": "a", "startDate": "b"}), FieldValidation::Strict), missing);
        assert_eq!(check(SFN, json!({}), FieldValidation::Present), Ok(()));
        assert_eq!(check(SFN, json!({"executionArn": "a", "startDate": "b"}), FieldValidation::Present), Ok(()));
        assert_eq!(check(SFN, json!({"ExecutionArn": "a", "StartDate": true}), FieldValidation::None), Ok(()));
    }

    #[test]
    fn types_are_checked_in_strict_and_present() {
        for mode in [FieldValidation::Strict, FieldValidation::Present] {
            let e = |m: &str| Err(format!("{PREFIX}{m}"));
            assert_eq!(check(SFN, json!({"ExecutionArn": "a", "StartDate": true}), mode), e("Field 'StartDate' must be a string"));
            assert_eq!(check(SFN, json!({"ExecutionArn": "a", "StartDate": 12}), mode), e("Field 'StartDate' must be a string"));
            assert_eq!(check(SFN, json!({"ExecutionArn": 1, "StartDate": "d"}), mode), e("Field 'ExecutionArn' must be a string"));
            let eb = "arn:aws:states:::events:putEvents";
            assert_eq!(check(eb, json!({"FailedEntryCount": 0, "Entries": {"EventId": "x"}}), mode), e("Field 'Entries' must be an array"));
            assert_eq!(check(eb, json!({"Entries": [{"EventId": "a"}, {"EventId": 2}]}), mode), e("Field 'EventId' must be a string"));
            let lambda = "arn:aws:states:::lambda:invoke";
            assert_eq!(check(lambda, json!({"StatusCode": "200", "Payload": {"any": "json"}}), mode), e("Field 'StatusCode' must be a number"));
            let ddb = "arn:aws:states:::dynamodb:putItem";
            assert_eq!(check(ddb, json!({"ConsumedCapacity": {"CapacityUnits": "1"}}), mode), e("Field 'CapacityUnits' must be a number"));
            let s3 = "arn:aws:states:::aws-sdk:s3:getObject";
            assert_eq!(check(s3, json!({"ContentLength": "10"}), mode), e("Field 'ContentLength' must be a number"));
            assert_eq!(check(s3, json!({"StorageClass": "FAST"}), mode), e("Field 'StorageClass' is not an expected value"));
            assert_eq!(check(s3, json!({"StorageClass": "STANDARD", "ContentLength": 3}), mode), Ok(()));
            let kms = "arn:aws:states:::aws-sdk:kms:encrypt";
            assert_eq!(check(kms, json!({"CiphertextBlob": 5}), mode), e("Field 'CiphertextBlob' must be a string"));
            assert_eq!(check(kms, json!({"CiphertextBlob": ""}), mode), e("Field 'CiphertextBlob' is smaller than the minimum length"));
            let get_function = "arn:aws:states:::aws-sdk:lambda:getFunction";
            assert_eq!(check(get_function, json!({"Configuration": {"MemorySize": 64}}), mode), e("Field 'MemorySize' is less than the minimum value"));
            assert_eq!(check(get_function, json!({"Configuration": {"MemorySize": 40000}}), mode), e("Field 'MemorySize' exceeds the maximum value"));
        }
    }

    #[test]
    fn fields_the_api_does_not_have_are_ignored() {
        let lambda = "arn:aws:states:::lambda:invoke";
        assert_eq!(check(lambda, json!({"random": "json"}), FieldValidation::Strict), Ok(()));
        assert_eq!(check(lambda, json!({}), FieldValidation::Strict), Ok(()));
    }

    #[test]
    fn resources_without_a_model_are_not_checked() {
        for r in [
            "arn:aws:states:::http:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::glue:startJobRun.sync",
            "arn:aws:states:::aws-sdk:ec2:describeInstances",
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ] {
            assert_eq!(check(r, json!({"StatusCode": "x"}), FieldValidation::Strict), Ok(()), "{r}");
        }
        // `.sync` Step Functions children answer DescribeExecution's shape.
        assert!(check("arn:aws:states:::states:startExecution.sync", json!({}), FieldValidation::Strict).is_err());
        // `.sync:2` parses Output: an object there is right.
        let done = json!({"ExecutionArn": "a", "StartDate": "d", "Status": "SUCCEEDED", "StateMachineArn": "s", "Output": {"x": 1}});
        assert_eq!(check("arn:aws:states:::states:startExecution.sync:2", done, FieldValidation::Strict), Ok(()));
    }

    #[test]
    fn a_result_that_is_not_an_object_is_refused_where_a_model_exists() {
        assert!(check(SFN, json!([1]), FieldValidation::Present).is_err());
        assert_eq!(check("arn:aws:states:::http:invoke", json!([1]), FieldValidation::Strict), Ok(()));
    }
}
