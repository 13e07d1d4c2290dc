//! Fuzz targets for asl-sim's parsers and evaluators, on stable Rust.
//!
//! Each [`Target`] takes arbitrary bytes and drives one front door of the language core with
//! them. A target fails only by panicking (a crash), by not returning (a hang: the runner's
//! watchdog) or by exhausting memory (the runner runs under a memory limit); every other
//! outcome, an error included, is the code under test doing its job.
//!
//! Inputs come from [`mutate::inputs`]: seeds of the target's corpus (`corpus/<target>/`)
//! changed by proptest-generated edits, so a failure shrinks to a small input. Three ways to
//! run them:
//! * `cargo test -p asl-fuzz`: every seed and every saved regression (`corpus/regressions/`),
//!   then a few hundred generated inputs per target;
//! * `asl-fuzz --seconds 20 all` (the bounded CI run in `.ci/run`);
//! * `asl-fuzz --seconds 300 jsonata` (the long local run, see README.md).

pub mod mutate;
mod serve_http;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    /// Seeds, each one input (the corpus is split into inputs by [`Target::seeds`]).
    corpus: &'static str,
    /// How the corpus text is split: one input per line, or the whole file as one input.
    per_line: bool,
    /// Tokens the mutator inserts: the grammar's keywords and punctuation.
    pub dictionary: &'static [&'static str],
    /// Runs one input; must return (quickly) whatever the input.
    pub run: fn(&[u8]),
}

impl Target {
    /// The seed inputs.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        if self.per_line {
            self.corpus.lines().filter(|l| !l.trim().is_empty()).map(|l| l.as_bytes().to_vec()).collect()
        } else {
            self.corpus.split("\n\u{1e}\n").map(|d| d.as_bytes().to_vec()).collect()
        }
    }
}

/// Every target.
pub fn targets() -> &'static [Target] {
    &TARGETS
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

static TARGETS: [Target; 6] = [
    Target {
        name: "definition",
        corpus: DEFINITION_CORPUS,
        per_line: false,
        dictionary: &[
            "{", "}", "[", "]", ":", ",", "\"", "\n", "  ", "- ", "&a ", "*a", "!Sub ", "\"StartAt\"", "\"States\"", "\"Type\"",
            "\"Pass\"", "\"Task\"", "\"Choice\"", "\"Wait\"", "\"Map\"", "\"Parallel\"", "\"Succeed\"", "\"Fail\"", "\"Next\"",
            "\"End\": true", "\"Retry\"", "\"Catch\"", "\"ErrorEquals\"", "\"States.ALL\"", "\"Parameters\"", "\"ResultPath\"",
            "\"InputPath\"", "\"OutputPath\"", "\"ResultSelector\"", "\"ItemsPath\"", "\"ItemProcessor\"", "\"Iterator\"",
            "\"Branches\"", "\"Choices\"", "\"Default\"", "\"Variable\"", "\"StringEquals\"", "\"Seconds\"", "\"Timestamp\"",
            "\"QueryLanguage\"", "\"JSONata\"", "\"Arguments\"", "\"Output\"", "\"Assign\"", "\"Condition\"", "\"Items\"",
            "\"{% $states.input %}\"", "\"{% [1..1e7] %}\"", "\"x.$\"", "\"$.a\"", "\"$$.Map.Item.Value\"", "\"States.Format('{}', $.a)\"",
            "\"MaxConcurrency\"", "\"ToleratedFailurePercentage\"", "\"ItemBatcher\"", "\"MaxAttempts\": 3", "1e999", "-0", "0x1F",
            "\"\\ud800\"", "\u{feff}", "~", "null", "true", "\"${Var}\"",
        ],
        run: run_definition,
    },
    Target {
        name: "jsonpath",
        corpus: include_str!("../corpus/jsonpath/seeds.txt"),
        per_line: true,
        dictionary: &[
            "$", "$$", ".", "..", "[", "]", "*", "?(", ")", "@", "@.id", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "=~", "/.*/", "'",
            "\"", ":", "::", "-1", "0", "2147483648", "99999999999999999999", ",", ".length()", "['a']", "[0]", "[-1:]", "\\",
        ],
        run: run_jsonpath,
    },
    Target {
        name: "jsonata",
        corpus: include_str!("../corpus/jsonata/seeds.txt"),
        per_line: true,
        dictionary: &[
            "(", ")", "[", "]", "{", "}", ".", "..", ",", ";", ":=", "?", ":", "$", "$$", "$f", "function($x){ $x }", "function($a, $b)",
            "$f($x)", "$f := function($x){ $f($x) + 1 }", "λ", "&", "+", "-", "*", "/", "%", "=", "!=", "<", ">", "and", "or", "in",
            "~>", "^(", "#$i", "@$v", "**", "%", "`a b`", "\"", "'", "/a+/i", "1e308", "1e9", "9223372036854775807", "-0", "true",
            "null", "$pad(", "$join(", "$string(", "$replace(", "$split(", "$append(", "$zip(", "$map(", "$filter(", "$reduce(",
            "$sort(", "$each(", "$sift(", "$single(", "$formatNumber(", "$formatBase(", "$formatInteger(", "$fromMillis(",
            "$toMillis(", "[Y,1000000000]", "#,##0.00", "$eval(", "$match(", "$range(", "$partition(", "$hash(", "$parse(",
            "|", "|{}|", "[1..10000000]", "<s-n?:s>", "/*", "*/",
        ],
        run: run_jsonata,
    },
    Target {
        name: "intrinsic",
        corpus: include_str!("../corpus/intrinsic/seeds.txt"),
        per_line: true,
        dictionary: &[
            "States.Format(", "States.StringToJson(", "States.JsonToString(", "States.Array(", "States.ArrayPartition(",
            "States.ArrayContains(", "States.ArrayRange(", "States.ArrayGetItem(", "States.ArrayLength(", "States.ArrayUnique(",
            "States.Base64Encode(", "States.Base64Decode(", "States.Hash(", "States.JsonMerge(", "States.MathRandom(",
            "States.MathAdd(", "States.StringSplit(", "States.UUID(", ")", ",", "'", "\\'", "\\{", "{}", "$.a", "$.nums", "$.o",
            "$$.Execution.Id", "$myVar", "-9223372036854775808", "9223372036854775807", "1e300", "0", "-1", "null", "true",
            "'MD5'", "'SHA-512'", "$.nums[*]", "$..a",
        ],
        run: run_intrinsic,
    },
    Target {
        name: "dynamodb",
        corpus: include_str!("../corpus/dynamodb/seeds.txt"),
        per_line: true,
        dictionary: &[
            "SET ", "REMOVE ", "ADD ", "DELETE ", " = ", " + ", " - ", ",", ".", "[0]", "[99999999999]", "(", ")", " AND ", " OR ",
            "NOT ", " BETWEEN ", " IN ", "<", "<=", "<>", ">", "attribute_exists(", "attribute_not_exists(", "attribute_type(",
            "begins_with(", "contains(", "size(", "if_not_exists(", "list_append(", ":one", ":big", ":tiny", ":neg", ":str",
            ":list", ":ss", ":pk", ":t", "#s", "#missing", "pk", "sk", "n", "m", "tags", "ss", "zz", "\u{0}", "\"",
        ],
        run: run_dynamodb,
    },
    Target {
        name: "serve-http",
        corpus: include_str!("../corpus/serve-http/requests.txt"),
        per_line: false,
        dictionary: &[
            "\r\n", "\r\n\r\n", "\n", ": ", ",", ";", "=", "/", "?", "&", "%", "%zz", "%00", "\0", "\u{ff}", " HTTP/1.1", " HTTP/1.0",
            "GET ", "PUT ", "POST ", "HEAD ", "DELETE ", "OPTIONS ", "content-length: ", "content-length: 0", "content-length: 18446744073709551616",
            "transfer-encoding: chunked", "content-encoding: aws-chunked", "x-amz-decoded-content-length: ", "expect: 100-continue",
            "connection: close", "host: ", "x-amz-content-sha256: ", "UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-trailer: x-amz-checksum-crc32", "x-amz-checksum-crc32: ", "x-amz-checksum-sha256: ",
            "content-md5: ", "x-amz-copy-source: ", "x-amz-meta-a: ", "x-amz-target: ", "DynamoDB_20120810.", "AWSStepFunctions.",
            "AWSEvents.", "AmazonSQS.", "application/x-amz-json-1.0", "application/x-www-form-urlencoded", "Action=", "authorization: ",
            "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=SIGN", "x-amz-date: AMZDATE", "X-Amz-Signature=", "X-Amz-Expires=",
            "AWSAccessKeyId=", "Bearer TOKEN", "Bearer ", "0\r\n\r\n", "ffffffffffffffff\r\n", ";chunk-signature=", "?uploads", "?delete",
            "?list-type=2", "&partNumber=1", "&uploadId=", "<Delete><Object><Key>", "</Key></Object></Delete>", "<CompleteMultipartUpload>",
            "{\"TableName\":\"fuzz\"", "{\"S\":\"x\"}", "{}", "[", "]", "\"", "-1", "99999999999999999999",
        ],
        run: serve_http::run,
    },
];

/// The definition corpus: the project's workflows, validation cases and two hand-written
/// machines, separated by a line holding only U+001E (record separator).
const DEFINITION_CORPUS: &str = concat!(
    include_str!("../corpus/definition/delete.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/fetch.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/list.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/quota.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/update-inventory.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/bad-fields.asl.json"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/choice-rules.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/missing-next.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/ok-file-manager-style.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/structure.asl.yaml"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/jsonata-map.asl.json"),
    "\n\u{1e}\n",
    include_str!("../corpus/definition/jsonpath-parallel.asl.json"),
);

/// The document every path, expression and intrinsic reads.
fn document() -> Value {
    json!({
        "a": "xyz",
        "n": 3,
        "nums": [1, 2, 3, 3],
        "o": {"k": 1, "deep": {"er": [true, null]}},
        "p": {"k": 2},
        "list": [
            {"id": 1, "name": "x", "tags": ["t1"]},
            {"id": 2, "name": "y", "tags": []},
            {"id": 3, "name": "z"}
        ]
    })
}

fn context() -> Value {
    json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e-1", "Name": "e-1", "Input": document()},
        "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00Z"},
        "StateMachine": {"Name": "m"},
        "Map": {"Item": {"Index": 0, "Value": {"id": 1}}}
    })
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Load (JSON or YAML), lower and validate; a definition without errors is also run
/// (no services, virtual clock) when it has no Retry (the engine's retry loop is checked by
/// its own tests) and is small enough to run in a moment.
fn run_definition(bytes: &[u8]) {
    let text = text(bytes);
    let subs: HashMap<String, String> = [("TableName", "t"), ("BucketName", "b"), ("Var", "v")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (def, diags) = asl_core::load_definition(&text, &subs);
    for d in &diags {
        assert!(!d.message.is_empty(), "a diagnostic without a message: {d:?}");
    }
    let Some(def) = def else { return };
    if diags.iter().any(|d| d.severity == asl_core::diagnostic::Severity::Error) || text.contains("Retry") || text.len() > 8192 {
        return;
    }
    let mut clock = asl_core::engine::VirtualClock { now: 1_700_000_000_000 };
    let config = asl_core::engine::ExecutionConfig::default();
    let _ = asl_core::engine::run(&def, document(), &config, &mut asl_core::engine::NoServices, &mut clock, false);
}

fn run_jsonpath(bytes: &[u8]) {
    let text = text(bytes);
    let Ok(path) = asl_core::path::Path::parse(&text) else { return };
    let doc = document();
    let _ = path.select(&doc);
    let _ = path.select(&context());
    let _ = path.select(&json!([[[]], null, "s", 1.5]));
    let _ = path.is_definite();
    if let Some(steps) = path.steps() {
        let mut target = doc.clone();
        let _ = asl_core::path::write(&mut target, &steps, json!({"w": 1}));
    }
}

fn run_jsonata(bytes: &[u8]) {
    let text = text(bytes);
    let Ok(expr) = jsonata::parse(&text) else { return };
    let doc = document();
    let mut bindings = serde_json::Map::new();
    bindings.insert("states".into(), json!({"input": doc.clone(), "context": context()}));
    bindings.insert("x".into(), json!(2));
    let mut n = 0u32;
    let mut random = || {
        n = n.wrapping_add(1);
        f64::from(n % 100) / 100.0
    };
    let mut env = jsonata::Env { bindings: &bindings, now_millis: 1_700_000_000_000, random: &mut random };
    if let Err(e) = expr.evaluate_outcome(Some(&doc), &mut env) {
        assert!(!e.code.is_empty() && !e.message.is_empty(), "an error without code or message: {e:?}");
    }
    let _ = expr.evaluate(None, &mut env);
}

fn run_intrinsic(bytes: &[u8]) {
    let text = text(bytes);
    let Ok(call) = asl_core::intrinsics::parse(&text) else { return };
    let doc = document();
    let ctx = context();
    let var = json!({"v": [1, 2]});
    let variables = |name: &str| if name == "myVar" { Some(&var) } else { None };
    let mut state = 7u64;
    let mut random = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state
    };
    let mut scope = asl_core::intrinsics::Scope { input: &doc, context: &ctx, variables: &variables, random: &mut random };
    if let Err(e) = asl_core::intrinsics::eval(&call, &mut scope) {
        assert!(!e.is_empty(), "an intrinsic error without a cause");
    }
}

/// The expression (the whole input) as every kind of DynamoDB expression, against a table
/// holding two items, through the public API (`Database::call`) as a client would send it.
fn run_dynamodb(bytes: &[u8]) {
    let expr = text(bytes).into_owned();
    let mut db = asl_dynamodb::Database::new();
    let setup = [
        (
            "CreateTable",
            json!({"TableName": "fuzz", "BillingMode": "PAY_PER_REQUEST",
                   "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]}),
        ),
        (
            "PutItem",
            json!({"TableName": "fuzz", "Item": {"pk": {"S": "p"}, "sk": {"N": "1"}, "n": {"N": "5"}, "s": {"S": "xyz"},
                   "tags": {"L": [{"S": "a"}, {"N": "2"}]}, "m": {"M": {"a": {"N": "1"}, "b": {"BOOL": true}}}, "ss": {"SS": ["a"]}}}),
        ),
        ("PutItem", json!({"TableName": "fuzz", "Item": {"pk": {"S": "p"}, "sk": {"N": "2"}}})),
    ];
    for (op, req) in &setup {
        db.call(op, req).expect("setup");
    }
    let all_values: BTreeMap<&str, Value> = [
        (":one", json!({"N": "1"})),
        (":big", json!({"N": "9.9999999999999999999999999999999999999E+125"})),
        (":tiny", json!({"N": "1E-130"})),
        (":neg", json!({"N": "-9.9999999999999999999999999999999999999E+125"})),
        (":str", json!({"S": "x"})),
        (":list", json!({"L": [{"N": "1"}]})),
        (":ss", json!({"SS": ["a", "b"]})),
        (":pk", json!({"S": "p"})),
        (":t", json!({"S": "N"})),
    ]
    .into_iter()
    .collect();
    // DynamoDB refuses unused placeholders, so pass only those the expression mentions.
    let values: serde_json::Map<String, Value> =
        all_values.iter().filter(|(k, _)| expr.contains(**k)).map(|(k, v)| (k.to_string(), v.clone())).collect();
    let mut names = serde_json::Map::new();
    if expr.contains("#s") {
        names.insert("#s".into(), json!("s"));
    }
    let with = |mut req: Value| {
        if !values.is_empty() {
            req["ExpressionAttributeValues"] = Value::Object(values.clone());
        }
        if !names.is_empty() {
            req["ExpressionAttributeNames"] = Value::Object(names.clone());
        }
        req
    };
    let key = json!({"pk": {"S": "p"}, "sk": {"N": "1"}});
    let calls = [
        ("UpdateItem", with(json!({"TableName": "fuzz", "Key": key, "UpdateExpression": expr, "ReturnValues": "ALL_NEW"}))),
        ("UpdateItem", with(json!({"TableName": "fuzz", "Key": key, "UpdateExpression": "REMOVE z", "ConditionExpression": expr}))),
        ("Query", with(json!({"TableName": "fuzz", "KeyConditionExpression": expr}))),
        ("Scan", with(json!({"TableName": "fuzz", "FilterExpression": expr, "Limit": 1}))),
        ("Scan", with(json!({"TableName": "fuzz", "ProjectionExpression": expr}))),
        ("DeleteItem", with(json!({"TableName": "fuzz", "Key": key, "ConditionExpression": expr, "ReturnValues": "ALL_OLD"}))),
    ];
    for (op, req) in &calls {
        if let Err(e) = db.call(op, req) {
            assert!(!e.message.is_empty(), "{op}: an error without a message: {e:?}");
        }
    }
}
