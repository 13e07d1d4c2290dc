//! Data-driven tests for the event-pattern language: (pattern, event, expected).
//! Expected is `Ok(match?)` or `Err(reason)` for InvalidEventPatternException, whose
//! message is `Event pattern is not valid. Reason: <reason>`. The invalid cases and their
//! reasons are the ones recorded against AWS (LocalStack snapshot tests, 2024).

use asl_eventbridge::pattern::{test_event_pattern, Pattern};
use serde_json::{json, Value};

fn ev(detail: Value) -> Value {
    json!({
        "version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2022-07-13T13:48:01Z", "region": "us-east-2",
        "resources": ["arn:aws:s3:::bucket-1", "arn:aws:s3:::bucket-2"],
        "detail": detail,
    })
}

enum Want {
    Match,
    NoMatch,
    Invalid(&'static str),
}
use Want::*;

fn cases() -> Vec<(&'static str, Value, Value, Want)> {
    let d = |v: Value| ev(v);
    vec![
        // ---- exact values
        ("exact string", json!({"source": ["aws.s3"]}), d(json!({})), Match),
        ("exact string no match", json!({"source": ["aws.ec2"]}), d(json!({})), NoMatch),
        ("exact is case sensitive", json!({"source": ["AWS.S3"]}), d(json!({})), NoMatch),
        ("array is OR", json!({"detail-type": ["Object Deleted", "Object Created"]}), d(json!({})), Match),
        ("several fields AND", json!({"source": ["aws.s3"], "detail-type": ["Object Deleted"]}), d(json!({})), NoMatch),
        ("missing field", json!({"detail": {"nope": ["x"]}}), d(json!({})), NoMatch),
        ("nested", json!({"detail": {"bucket": {"name": ["b"]}}}), d(json!({"bucket": {"name": "b"}})), Match),
        ("nested no match", json!({"detail": {"bucket": {"name": ["c"]}}}), d(json!({"bucket": {"name": "b"}})), NoMatch),
        ("keys case sensitive", json!({"detail": {"Key": ["v"]}}), d(json!({"key": "v"})), NoMatch),
        ("number exact", json!({"detail": {"n": [300]}}), d(json!({"n": 300})), Match),
        ("number by value", json!({"detail": {"n": [300]}}), d(json!({"n": 300.0})), Match),
        ("number by value, exponent", json!({"detail": {"n": [3.0e2]}}), d(json!({"n": 300})), Match),
        ("number differs", json!({"detail": {"n": [300]}}), d(json!({"n": 300.5})), NoMatch),
        ("anything-but number by value", json!({"detail": {"n": [{"anything-but": [300]}]}}), d(json!({"n": 300.0})), NoMatch),
        ("number vs string", json!({"detail": {"n": ["300"]}}), d(json!({"n": 300})), NoMatch),
        ("boolean", json!({"detail": {"b": [true]}}), d(json!({"b": true})), Match),
        ("boolean no match", json!({"detail": {"b": [true]}}), d(json!({"b": false})), NoMatch),
        ("boolean vs string", json!({"detail": {"b": ["true"]}}), d(json!({"b": true})), NoMatch),
        ("null value", json!({"detail": {"x": [null]}}), d(json!({"x": null})), Match),
        ("null vs missing", json!({"detail": {"x": [null]}}), d(json!({})), NoMatch),
        ("empty string", json!({"detail": {"x": [""]}}), d(json!({"x": ""})), Match),
        ("empty string vs null", json!({"detail": {"x": [""]}}), d(json!({"x": null})), NoMatch),
        ("event array intersects", json!({"resources": ["arn:aws:s3:::bucket-2", "zzz"]}), d(json!({})), Match),
        ("event array disjoint", json!({"resources": ["arn:aws:s3:::bucket-3"]}), d(json!({})), NoMatch),
        ("empty event array vs null", json!({"detail": {"r": [null]}}), d(json!({"r": []})), NoMatch),
        ("array of objects", json!({"detail": {"items": {"k": ["b"]}}}), d(json!({"items": [{"k": "a"}, {"k": "b"}]})), Match),
        ("array of objects, same element", json!({"detail": {"items": {"k": ["a"], "v": [2]}}}),
            d(json!({"items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]})), NoMatch),
        ("object where leaf expected", json!({"detail": {"o": ["x"]}}), d(json!({"o": {"a": "x"}})), NoMatch),
        // ---- dots join paths, in patterns and in events
        ("dotted pattern key", json!({"detail": {"state.status": ["running"]}}), d(json!({"state": {"status": "running"}})), Match),
        ("dotted event key", json!({"detail": {"state": {"status": ["running"]}}}), d(json!({"state.status": "running"})), Match),
        ("dotted both", json!({"detail.state.status": ["running"]}), d(json!({"state.status": "running"})), Match),
        ("dotted event key, deeper", json!({"detail": {"state": {"status": ["running"]}}}), d(json!({"state.status": {"status": "running"}})), NoMatch),
        ("dotted pattern key, deeper", json!({"detail": {"state.status": {"status": ["running"]}}}), d(json!({"state": {"status": "running"}})), NoMatch),
        ("detail as JSON text", json!({"detail": {"my-key": ["my-value"]}}), ev(json!("{\"my-key\": \"my-value\"}")), NoMatch),
        ("exists in list of objects", json!({"detail": {"automations": {"id": [{"exists": true}]}}}),
            d(json!({"automations": [{"key1": "value1"}, {"id": "x"}, {"key2": "value2"}]})), Match),
        // ---- prefix / suffix
        ("prefix", json!({"detail": {"key": [{"prefix": "uploads/"}]}}), d(json!({"key": "uploads/a.png"})), Match),
        ("prefix no match", json!({"detail": {"key": [{"prefix": "uploads/"}]}}), d(json!({"key": "other/a.png"})), NoMatch),
        ("prefix case", json!({"detail": {"key": [{"prefix": "Uploads/"}]}}), d(json!({"key": "uploads/a"})), NoMatch),
        ("prefix on number", json!({"detail": {"key": [{"prefix": "1"}]}}), d(json!({"key": 12})), NoMatch),
        ("prefix ignore case", json!({"detail": {"key": [{"prefix": {"equals-ignore-case": "UPLOADS/"}}]}}), d(json!({"key": "uploads/a"})), Match),
        ("suffix", json!({"detail": {"key": [{"suffix": ".png"}]}}), d(json!({"key": "a.png"})), Match),
        ("suffix no match", json!({"detail": {"key": [{"suffix": ".png"}]}}), d(json!({"key": "a.jpg"})), NoMatch),
        ("suffix ignore case", json!({"detail": {"key": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}), d(json!({"key": "a.png"})), Match),
        ("prefix in event array", json!({"resources": [{"prefix": "arn:aws:s3:::bucket-2"}]}), d(json!({})), Match),
        // ---- equals-ignore-case
        ("ignore case", json!({"detail-type": [{"equals-ignore-case": "object created"}]}), d(json!({})), Match),
        ("ignore case no match", json!({"detail-type": [{"equals-ignore-case": "object deleted"}]}), d(json!({})), NoMatch),
        ("ignore case empty", json!({"detail": {"x": [{"equals-ignore-case": ""}]}}), d(json!({"x": ""})), Match),
        // ---- anything-but
        ("anything-but string", json!({"detail": {"state": [{"anything-but": "initializing"}]}}), d(json!({"state": "running"})), Match),
        ("anything-but string equal", json!({"detail": {"state": [{"anything-but": "initializing"}]}}), d(json!({"state": "initializing"})), NoMatch),
        ("anything-but matches null", json!({"detail": {"state": [{"anything-but": "initializing"}]}}), d(json!({"state": null})), Match),
        ("anything-but missing field", json!({"detail": {"state": [{"anything-but": "initializing"}]}}), d(json!({})), NoMatch),
        ("anything-but list", json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}), d(json!({"state": "stopped"})), NoMatch),
        ("anything-but list other", json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}), d(json!({"state": "ok"})), Match),
        ("anything-but number", json!({"detail": {"x": [{"anything-but": 100}]}}), d(json!({"x": 100})), NoMatch),
        ("anything-but number other", json!({"detail": {"x": [{"anything-but": [100, 200]}]}}), d(json!({"x": 300})), Match),
        ("anything-but prefix", json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}), d(json!({"state": "initializing"})), NoMatch),
        ("anything-but prefix other", json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}), d(json!({"state": "running"})), Match),
        ("anything-but prefix list", json!({"detail": {"state": [{"anything-but": {"prefix": ["init", "run"]}}]}}), d(json!({"state": "running"})), NoMatch),
        ("anything-but suffix", json!({"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}), d(json!({"f": "a.txt"})), NoMatch),
        ("anything-but suffix other", json!({"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}), d(json!({"f": "a.png"})), Match),
        ("anything-but ignore case", json!({"detail": {"s": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}}), d(json!({"s": "running"})), NoMatch),
        ("anything-but ignore case list", json!({"detail": {"s": [{"anything-but": {"equals-ignore-case": ["A", "B"]}}]}}), d(json!({"s": "c"})), Match),
        ("anything-but wildcard", json!({"detail": {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}}), d(json!({"p": "/usr/lib/x"})), NoMatch),
        ("anything-but wildcard other", json!({"detail": {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}}), d(json!({"p": "/usr/bin/x"})), Match),
        ("anything-but prefix on number", json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}), d(json!({"state": 12})), Match),
        ("anything-but empty wildcard", json!({"detail": {"p": [{"anything-but": {"wildcard": ""}}]}}), d(json!({"p": "dir/init/file"})), Match),
        ("anything-but in event array", json!({"detail": {"s": [{"anything-but": "a"}]}}), d(json!({"s": ["a", "b"]})), Match),
        // ---- numeric
        ("numeric range", json!({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}), d(json!({"n": 5})), Match),
        ("numeric range out", json!({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}), d(json!({"n": 5.5})), NoMatch),
        ("numeric lower bound exclusive", json!({"detail": {"n": [{"numeric": [">", 0]}]}}), d(json!({"n": 0})), NoMatch),
        ("numeric equals", json!({"detail": {"n": [{"numeric": ["=", 300]}]}}), d(json!({"n": 300.0})), Match),
        ("numeric int vs float", json!({"detail": {"n": [{"numeric": [">=", 1.5]}]}}), d(json!({"n": 2})), Match),
        ("numeric on string", json!({"detail": {"n": [{"numeric": [">", 0]}]}}), d(json!({"n": "5"})), NoMatch),
        ("numeric on null", json!({"detail": {"n": [{"numeric": [">", 0]}]}}), d(json!({"n": null})), NoMatch),
        ("numeric upper only", json!({"detail": {"n": [{"numeric": ["<", 10]}]}}), d(json!({"n": -3})), Match),
        // ---- exists
        ("exists true", json!({"detail": {"state": [{"exists": true}]}}), d(json!({"state": "pending"})), Match),
        ("exists true missing", json!({"detail": {"state": [{"exists": true}]}}), d(json!({})), NoMatch),
        ("exists true null", json!({"detail": {"state": [{"exists": true}]}}), d(json!({"state": null})), Match),
        ("exists true empty array", json!({"detail": {"state": [{"exists": true}]}}), d(json!({"state": []})), NoMatch),
        ("exists true object", json!({"detail": {"state": [{"exists": true}]}}), d(json!({"state": {"a": 1}})), NoMatch),
        ("exists false", json!({"detail": {"state": [{"exists": false}]}}), d(json!({})), Match),
        ("exists false present", json!({"detail": {"state": [{"exists": false}]}}), d(json!({"state": "x"})), NoMatch),
        ("exists false empty array", json!({"detail": {"state": [{"exists": false}]}}), d(json!({"state": []})), Match),
        ("exists false missing parent", json!({"detail": {"a": {"b": [{"exists": false}]}}}), d(json!({})), Match),
        ("exists false missing detail", json!({"detail": {"a": [{"exists": false}]}}), json!({"source": "x"}), Match),
        ("or-exists parent", json!({"detail": {"home": {"S": [{"anything-but": ["roses"]}, {"exists": false}]}}}),
            d(json!({"purchased": {"N": "789"}})), Match),
        // ---- wildcard
        ("wildcard", json!({"detail": {"p": [{"wildcard": "dir/*.png"}]}}), d(json!({"p": "dir/a/b.png"})), Match),
        ("wildcard no match", json!({"detail": {"p": [{"wildcard": "dir/*.png"}]}}), d(json!({"p": "dir/a.jpg"})), NoMatch),
        ("wildcard repeating", json!({"detail": {"p": [{"wildcard": "*a*a*"}]}}), d(json!({"p": "banana"})), Match),
        ("wildcard no star is exact", json!({"detail": {"p": [{"wildcard": "abc"}]}}), d(json!({"p": "abcd"})), NoMatch),
        ("wildcard escaped star", json!({"detail": {"p": [{"wildcard": "a\\*"}]}}), d(json!({"p": "a*"})), Match),
        ("wildcard escaped star literal", json!({"detail": {"p": [{"wildcard": "a\\*"}]}}), d(json!({"p": "ab"})), NoMatch),
        // ---- cidr
        ("cidr v4", json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), d(json!({"ip": "10.0.0.255"})), Match),
        ("cidr v4 out", json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), d(json!({"ip": "10.0.1.0"})), NoMatch),
        ("cidr v6", json!({"detail": {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}}), d(json!({"ip": "2001:db8:1234:1a00::10"})), Match),
        ("cidr v6 out", json!({"detail": {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}}), d(json!({"ip": "2001:db8:1234:1a01::10"})), NoMatch),
        ("cidr not an ip", json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), d(json!({"ip": "nope"})), NoMatch),
        ("cidr on number", json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), d(json!({"ip": 10})), NoMatch),
        // ---- $or
        ("or first", json!({"source": ["aws.s3"], "$or": [{"detail": {"a": ["1"]}}, {"detail": {"b": ["2"]}}]}), d(json!({"a": "1"})), Match),
        ("or second", json!({"$or": [{"detail": {"a": ["1"]}}, {"detail": {"b": ["2"]}}]}), d(json!({"b": "2"})), Match),
        ("or none", json!({"$or": [{"detail": {"a": ["1"]}}, {"detail": {"b": ["2"]}}]}), d(json!({"a": "2"})), NoMatch),
        ("or nested", json!({"detail": {"$or": [{"c": [{"numeric": [">", 10]}]}, {"d": [{"exists": true}]}]}}), d(json!({"d": 0})), Match),
        ("or with anything-but", json!({"detail": {"$or": [{"s": [{"anything-but": "x"}]}, {"t": ["y"]}]}}), d(json!({"s": "x", "t": "z"})), NoMatch),
        // ---- several alternatives mixing operators
        ("mixed alternatives", json!({"detail": {"k": ["exact", {"prefix": "pre"}, {"numeric": [">", 5]}]}}), d(json!({"k": 7})), Match),
        ("mixed alternatives none", json!({"detail": {"k": ["exact", {"prefix": "pre"}, {"numeric": [">", 5]}]}}), d(json!({"k": "post"})), NoMatch),
        // ---- the blog's rules
        ("blog s3 rule", json!({"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]}), d(json!({})), Match),
        ("blog delete rule", json!({"source": ["FileApi"], "detail-type": ["DeleteFile"]}), d(json!({})), NoMatch),
        // ---- invalid patterns (AWS-recorded reasons)
        ("int not list", json!({"int": 42}), d(json!({})), Invalid("\"int\" must be an object or an array")),
        ("string not list", json!({"string": "my-value"}), d(json!({})), Invalid("\"string\" must be an object or an array")),
        ("empty array", json!({"resources": []}), d(json!({})), Invalid("Empty arrays are not allowed")),
        ("pattern is array", json!(["not", "a", "dict"]), d(json!({})), Invalid("Filter is not an object")),
        ("operator case NUMERIC", json!({"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}), d(json!({})), Invalid("Unrecognized match type NUMERIC")),
        ("operator case EXISTS", json!({"my_key": [{"EXISTS": true}]}), d(json!({})), Invalid("Unrecognized match type EXISTS")),
        ("numeric two lower bounds", json!({"detail": {"c": [{"numeric": [">", 0, ">", 0]}]}}), d(json!({})), Invalid("Bad numeric range operator: >")),
        ("numeric missing value", json!({"detail": {"c": [{"numeric": [">", 0, "<"]}]}}), d(json!({})), Invalid("Value of < must be numeric")),
        ("wildcard consecutive", json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}), d(json!({})), Invalid("Consecutive wildcard characters at pos 26")),
        ("wildcard int", json!({"EventBusArn": [{"wildcard": 123}]}), d(json!({})), Invalid("wildcard match pattern must be a string")),
        ("wildcard list", json!({"EventBusArn": [{"wildcard": ["a*"]}]}), d(json!({})), Invalid("wildcard match pattern must be a string")),
        ("ignore case list", json!({"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}), d(json!({})), Invalid("equals-ignore-case match pattern must be a string")),
        ("ignore case object", json!({"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}), d(json!({})), Invalid("equals-ignore-case match pattern must be a string")),
        ("cidr no slash", json!({"detail": {"ip": [{"cidr": "bad-value"}]}}), d(json!({})), Invalid("Malformed CIDR, one '/' required")),
        ("cidr bad mask", json!({"detail": {"ip": [{"cidr": "10.0.0.0/xx"}]}}), d(json!({})), Invalid("Malformed CIDR, mask bits must be an integer")),
        ("cidr bad ip", json!({"detail": {"ip": [{"cidr": "xx.11.xx/8"}]}}), d(json!({})), Invalid("Nonstandard IP address: xx.11.xx")),
        ("cidr bad v6", json!({"detail": {"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}}), d(json!({})), Invalid("Nonstandard IP address: xxxx:db8:1234:1a00::")),
        ("cidr list", json!({"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}), d(json!({})), Invalid("prefix match pattern must be a string")),
        ("anything-but ignore case number", json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}), d(json!({})),
            Invalid("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")),
        ("anything-but ignore case numbers", json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}), d(json!({})),
            Invalid("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")),
        ("anything-but wildcard list int", json!({"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}), d(json!({})), Invalid("wildcard match pattern must be a string")),
        ("anything-but wildcard int", json!({"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}), d(json!({})), Invalid("wildcard match pattern must be a string")),
        ("anything-but suffix list int", json!({"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}), d(json!({})), Invalid("prefix/suffix match pattern must be a string")),
        ("anything-but suffix int", json!({"detail": {"FileName": [{"anything-but": {"suffix": 123}}]}}), d(json!({})), Invalid("prefix/suffix match pattern must be a string")),
        ("anything-but prefix list int", json!({"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}), d(json!({})), Invalid("prefix/suffix match pattern must be a string")),
        ("anything-but prefix int", json!({"detail": {"state": [{"anything-but": {"prefix": 123}}]}}), d(json!({})), Invalid("prefix/suffix match pattern must be a string")),
        ("anything-but prefix ignore case", json!({"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}), d(json!({})),
            Invalid("Value of anything-but must be an array or single string/number value.")),
        ("anything-but suffix ignore case", json!({"detail": {"FileName": [{"anything-but": {"suffix": {"equals-ignore-case": ".png"}}}]}}), d(json!({})),
            Invalid("Value of anything-but must be an array or single string/number value.")),
        ("prefix list", json!({"time": [{"prefix": ["2022-07-13"]}]}), d(json!({})), Invalid("prefix match pattern must be a string")),
        ("prefix int", json!({"time": [{"prefix": 123}]}), d(json!({})), Invalid("prefix match pattern must be a string")),
        ("suffix int", json!({"FileName": [{"suffix": 123}]}), d(json!({})), Invalid("suffix match pattern must be a string")),
        ("suffix list", json!({"FileName": [{"suffix": [".png"]}]}), d(json!({})), Invalid("suffix match pattern must be a string")),
        // ---- invalid patterns (event-ruler's wording; not recorded on AWS)
        ("empty pattern", json!({}), d(json!({})), Invalid("Empty objects are not allowed")),
        ("empty nested object", json!({"detail": {}}), d(json!({})), Invalid("Empty objects are not allowed")),
        ("empty operator", json!({"a": [{}]}), d(json!({})), Invalid("Match expression name not found")),
        ("two operators", json!({"a": [{"prefix": "x", "suffix": "y"}]}), d(json!({})), Invalid("Only one key allowed in match expression")),
        ("nested array value", json!({"a": [[1]]}), d(json!({})), Invalid("Match value must be String, number, true, false, or null")),
        ("exists not bool", json!({"a": [{"exists": "yes"}]}), d(json!({})), Invalid("exists match pattern must be either true or false.")),
        ("numeric not array", json!({"a": [{"numeric": 5}]}), d(json!({})), Invalid("Value of numeric must be an array.")),
        ("numeric empty", json!({"a": [{"numeric": []}]}), d(json!({})), Invalid("Invalid member in numeric match: ]")),
        ("numeric unknown op", json!({"a": [{"numeric": ["!=", 5]}]}), d(json!({})), Invalid("Unrecognized numeric range operator: !=")),
        ("numeric equals not number", json!({"a": [{"numeric": ["=", "5"]}]}), d(json!({})), Invalid("Value of equals must be numeric")),
        ("numeric equals extra", json!({"a": [{"numeric": ["=", 5, "<", 6]}]}), d(json!({})), Invalid("Too many elements in numeric expression")),
        ("numeric upper then more", json!({"a": [{"numeric": ["<", 5, ">", 1]}]}), d(json!({})), Invalid("Too many elements in numeric expression")),
        ("numeric range value", json!({"a": [{"numeric": [">", 0, 5]}]}), d(json!({})), Invalid("Bad value in numeric range: 5")),
        ("numeric too many terms", json!({"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]}), d(json!({})), Invalid("Too many terms in numeric range expression")),
        ("numeric bottom above top", json!({"a": [{"numeric": [">", 5, "<", 5]}]}), d(json!({})), Invalid("Bottom must be less than top")),
        ("or not array", json!({"$or": {"a": ["1"]}}), d(json!({})), Invalid("It must be an Array followed with $or.")),
        ("or one item", json!({"$or": [{"a": ["1"]}]}), d(json!({})), Invalid("There must have at least 2 Objects in $or relationship.")),
        ("or non object", json!({"$or": [{"a": ["1"]}, 2]}), d(json!({})), Invalid("Only JSON object is allowed in array of $or relationship.")),
        ("anything-but mixed list", json!({"a": [{"anything-but": ["x", 1]}]}), d(json!({})),
            Invalid("Inside anything but list, either all values are number or string, mixed type is not supported")),
        ("anything-but empty list", json!({"a": [{"anything-but": []}]}), d(json!({})),
            Invalid("Inside anything but list, either all values are number or string, mixed type is not supported")),
        ("anything-but null in list", json!({"a": [{"anything-but": ["x", null]}]}), d(json!({})), Invalid("Inside anything but list, start|null|boolean is not supported.")),
        ("anything-but null", json!({"a": [{"anything-but": null}]}), d(json!({})), Invalid("Value of anything-but must be an array or single string/number value.")),
        ("anything-but empty object", json!({"a": [{"anything-but": {}}]}), d(json!({})), Invalid("Anything-But expression name not found")),
        ("anything-but unknown", json!({"a": [{"anything-but": {"numeric": [">", 1]}}]}), d(json!({})), Invalid("Unsupported anything-but pattern: numeric")),
        ("anything-but empty prefix", json!({"a": [{"anything-but": {"prefix": ""}}]}), d(json!({})), Invalid("Null prefix/suffix not allowed")),
    ]
}

#[test]
fn pattern_table() {
    let mut failures = Vec::new();
    let all = cases();
    for (name, pattern, event, want) in &all {
        let got = test_event_pattern(&pattern.to_string(), event);
        let ok = match (want, &got) {
            (Match, Ok(true)) | (NoMatch, Ok(false)) => true,
            (Invalid(reason), Err(e)) => e.message == format!("Event pattern is not valid. Reason: {reason}"),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn invalid_json_pattern() {
    let e = Pattern::parse("this is valid json but not a dict").unwrap_err();
    assert_eq!(
        e.message,
        "Event pattern is not valid. Reason: Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
    );
    assert!(Pattern::parse("{\"a\": ").unwrap_err().message.starts_with("Event pattern is not valid. Reason: "));
}

#[test]
fn or_combination_limit() {
    // 11 × 11 × 11 = 1331 combinations > 1000.
    let or = || json!([{"a": ["1"]}, {"b": ["1"]}, {"c": ["1"]}, {"d": ["1"]}, {"e": ["1"]}, {"f": ["1"]},
                      {"g": ["1"]}, {"h": ["1"]}, {"i": ["1"]}, {"j": ["1"]}, {"k": ["1"]}]);
    let p = json!({"x": {"$or": or()}, "y": {"$or": or()}, "z": {"$or": or()}});
    assert!(Pattern::from_value(&p).is_err());
    let ok = json!({"x": {"$or": or()}, "y": {"$or": or()}});
    assert!(Pattern::from_value(&ok).is_ok());
}

#[test]
fn malformed_input_never_panics() {
    for text in ["", "{", "[]", "null", "1", "\"s\"", "{\"a\": [{}]}", "{\"a\": [[1]]}", "{\"a\": [{\"numeric\": []}]}",
                 "{\"a\": [{\"numeric\": [\"!=\", 1]}]}", "{\"a\": [{\"anything-but\": []}]}", "{\"a\": [{\"anything-but\": null}]}",
                 "{\"a\": [{\"anything-but\": {\"prefix\": \"\"}}]}", "{\"$or\": 1}", "{\"$or\": [{\"a\": [1]}]}",
                 "{\"a\": [{\"exists\": \"yes\"}]}", "{\"a\": [{\"prefix\": \"x\", \"suffix\": \"y\"}]}", "{\"a\": [{\"cidr\": \"1.2.3.4/40\"}]}"] {
        assert!(Pattern::parse(text).is_err(), "{text} should be invalid");
    }
}
