//! API-level tests that do not fit the data-driven cases: the blog regression,
//! 1 MB paging, state round trips, error bodies and robustness on garbage input.

use asl_dynamodb::{step_functions_call, Database, DynamoError, IntegrationStyle};
use serde_json::{json, Value};

fn files_db() -> Database {
    let mut db = Database::default();
    db.call(
        "CreateTable",
        &json!({
            "TableName": "Files",
            "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}, {"AttributeName": "Key", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "S"}, {"AttributeName": "Key", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    db
}

/// The blog's `Update Item` state (`SET Size = :size, Etag = :etag`) fails on AWS
/// because SIZE is a reserved word; the optimized integration names the error
/// `DynamoDB.AmazonDynamoDBException`.
#[test]
fn regression_blog_update_item_reserved_size() {
    let mut db = files_db();
    db.call("PutItem", &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}, "Size": {"N": "1"}}}))
        .unwrap();
    let params = json!({
        "TableName": "Files",
        "Key": {"Id": {"S": "u"}, "Key": {"S": "k"}},
        "UpdateExpression": "SET Size = :size, Etag = :etag",
        "ExpressionAttributeValues": {":size": {"N": "2048"}, ":etag": {"S": "\"abc\""}}
    });
    let (error, cause) = step_functions_call(&mut db, IntegrationStyle::Optimized, "updateItem", &params).unwrap_err();
    assert_eq!(error, "DynamoDB.AmazonDynamoDBException");
    let msg = "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: Size";
    assert!(cause.starts_with(&format!("{msg} (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException; Request ID: ")), "{cause}");
    assert!(cause.ends_with("; Proxy: null)"), "{cause}");
    // nothing changed
    let got = db.call("GetItem", &json!({"TableName": "Files", "Key": {"Id": {"S": "u"}, "Key": {"S": "k"}}})).unwrap();
    assert_eq!(got["Item"]["Size"], json!({"N": "1"}));
    // the same call to DynamoDB directly
    let e = db.call("UpdateItem", &params).unwrap_err();
    assert_eq!(e.code, "ValidationException");
    assert_eq!(e.message, msg);
    assert_eq!(e.status, 400);
    assert_eq!(e.to_body(), json!({"__type": "com.amazon.coral.validate#ValidationException", "message": msg}));
}

#[test]
fn error_bodies() {
    let mut db = files_db();
    let e = db.call("GetItem", &json!({"TableName": "Nope", "Key": {"Id": {"S": "u"}}})).unwrap_err();
    assert_eq!(
        e.to_body(),
        json!({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "Requested resource not found"})
    );
    db.call("PutItem", &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}}})).unwrap();
    let e: DynamoError = db
        .call(
            "PutItem",
            &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}}, "ConditionExpression": "attribute_not_exists(Id)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
        )
        .unwrap_err();
    assert_eq!(
        e.to_body(),
        json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}}, "message": "The conditional request failed"})
    );
}

fn big_item(i: usize, kb: usize) -> Value {
    json!({"Id": {"S": "p"}, "Key": {"S": format!("k{i:05}")}, "blob": {"S": "x".repeat(kb * 1024)}})
}

/// A Query reads at most 1 MB per page; paging with LastEvaluatedKey visits every
/// item exactly once.
#[test]
fn query_pages_at_one_megabyte() {
    let mut db = files_db();
    for i in 0..35 {
        db.call("PutItem", &json!({"TableName": "Files", "Item": big_item(i, 100)})).unwrap();
    }
    let mut start: Option<Value> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut req = json!({"TableName": "Files", "KeyConditionExpression": "Id = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "ProjectionExpression": "#k", "ExpressionAttributeNames": {"#k": "Key"}});
        if let Some(s) = &start {
            req["ExclusiveStartKey"] = s.clone();
        }
        let r = db.call("Query", &req).unwrap();
        pages += 1;
        let items = r["Items"].as_array().unwrap();
        // 100 KB items: ten fit in 1 MB (1,048,576 bytes), the eleventh would not
        assert!(items.len() <= 10, "page of {} items", items.len());
        assert_eq!(r["ScannedCount"], json!(items.len()));
        seen.extend(items.iter().map(|i| i["Key"]["S"].as_str().unwrap().to_string()));
        match r.get("LastEvaluatedKey") {
            Some(k) => {
                assert_eq!(k["Key"]["S"].as_str().unwrap(), seen.last().unwrap());
                start = Some(k.clone());
            }
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    let expected: Vec<String> = (0..35).map(|i| format!("k{i:05}")).collect();
    assert_eq!(seen, expected);

    // Scan pages the same way, and Limit combines with the size limit
    let r = db.call("Scan", &json!({"TableName": "Files", "Select": "COUNT"})).unwrap();
    assert_eq!(r["ScannedCount"], json!(10));
    assert!(r.get("LastEvaluatedKey").is_some());
    let r = db.call("Scan", &json!({"TableName": "Files", "Select": "COUNT", "Limit": 3})).unwrap();
    assert_eq!(r["ScannedCount"], json!(3));
}

#[test]
fn state_round_trip() {
    let mut db = files_db();
    for i in 0..5 {
        db.call(
            "PutItem",
            &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": format!("k{i}")}, "n": {"N": format!("{i}.50")}, "b": {"B": "AQID"}, "ss": {"SS": ["b", "a"]}}}),
        )
        .unwrap();
    }
    db.call(
        "CreateTable",
        &json!({"TableName": "Prov", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}], "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}}),
    )
    .unwrap();
    db.call("PutItem", &json!({"TableName": "Prov", "Item": {"id": {"N": "10"}}})).unwrap();
    db.call("PutItem", &json!({"TableName": "Prov", "Item": {"id": {"N": "9"}}})).unwrap();
    let state = db.to_json();
    assert_eq!(state["Tables"][0]["Table"]["TableName"], "Files");
    assert_eq!(state["Tables"][0]["Items"][0]["n"], json!({"N": "0.5"}));
    assert_eq!(state["Tables"][1]["Items"], json!([{"id": {"N": "9"}}, {"id": {"N": "10"}}]));
    let mut back = Database::from_json(&state).unwrap();
    assert_eq!(back.to_json(), state);
    let d = back.call("DescribeTable", &json!({"TableName": "Prov"})).unwrap();
    assert_eq!(d["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"], json!(5));
    assert_eq!(d["Table"]["ItemCount"], json!(2));
    assert!(Database::from_json(&json!({"nope": 1})).is_err());
    // the scenario fixture form: CreateTable requests with their items
    let mut fx = Database::from_json(&json!({"tables": [{
        "TableName": "Inventory",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "Items": [{"PK": {"S": "alice"}, "SK": {"S": "Quota"}, "TotalSize": {"N": "10"}}]
    }]}))
    .unwrap();
    assert_eq!(fx.items("Inventory").unwrap().len(), 1);
    assert!(fx.items("Nope").is_none());
    let got = fx.call("GetItem", &json!({"TableName": "Inventory", "Key": {"PK": {"S": "alice"}, "SK": {"S": "Quota"}}})).unwrap();
    assert_eq!(got["Item"]["TotalSize"], json!({"N": "10"}));
    assert!(Database::from_json(&json!({"Tables": [{"Table": {"TableName": "x"}}]})).is_err());
}

/// Garbage in must give DynamoDB errors, never a panic.
#[test]
fn no_panics_on_garbage() {
    let mut db = files_db();
    db.call("PutItem", &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}, "l": {"L": [{"N": "1"}]}, "m": {"M": {}}}}))
        .unwrap();
    let pieces = [
        "a", "#n", ":v", ":w", "(", ")", "[", "]", "[0]", "[99999999999999999999]", ",", ".", "=", "<>", "<", "<=", ">", ">=", "+", "-",
        "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE", "size", "contains", "begins_with",
        "attribute_exists", "attribute_type", "if_not_exists", "list_append", "l", "m", "Id", "Key", "é", "!", "\"", " ", "#", ":",
    ];
    let mut seed: u64 = 0x1234_5678;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..4000 {
        let len = (next() % 9) as usize;
        let expr: Vec<&str> = (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
        let expr = expr.join(if next() % 2 == 0 { " " } else { "" });
        let values = json!({":v": {"N": "1"}, ":w": {"L": []}});
        let names = json!({"#n": "l"});
        let key = json!({"Id": {"S": "u"}, "Key": {"S": "k"}});
        let reqs = [
            ("UpdateItem", json!({"TableName": "Files", "Key": key, "UpdateExpression": expr, "ExpressionAttributeValues": values, "ExpressionAttributeNames": names})),
            ("PutItem", json!({"TableName": "Files", "Item": key, "ConditionExpression": expr, "ExpressionAttributeValues": values, "ExpressionAttributeNames": names})),
            ("Query", json!({"TableName": "Files", "KeyConditionExpression": expr, "ExpressionAttributeValues": values, "ExpressionAttributeNames": names})),
            ("Scan", json!({"TableName": "Files", "FilterExpression": expr, "ProjectionExpression": expr, "ExpressionAttributeNames": names})),
            ("GetItem", json!({"TableName": "Files", "Key": key, "ProjectionExpression": expr})),
        ];
        for (op, req) in reqs {
            let _ = db.call(op, &req);
        }
    }
    // nesting and size extremes
    let deep = [
        "(".repeat(2000) + "a = :v" + &")".repeat(2000),
        "NOT ".repeat(1000) + "a = :v",
        "size(".repeat(1000) + "a" + &")".repeat(1000) + " = :v",
        "a".repeat(5000) + " = :v",
        "a.".repeat(2000) + "b = :v",
        "a".to_string() + &"[0]".repeat(1000) + " = :v",
    ];
    for expr in deep {
        let key = json!({"Id": {"S": "u"}, "Key": {"S": "k"}});
        let _ = db.call("PutItem", &json!({"TableName": "Files", "Item": key, "ConditionExpression": expr, "ExpressionAttributeValues": {":v": {"N": "1"}}}));
        let set = format!("SET x = {}", expr.replace(" = :v", ""));
        let _ = db.call("UpdateItem", &json!({"TableName": "Files", "Key": key, "UpdateExpression": set}));
    }
    let mut nested = json!({"S": "x"});
    for _ in 0..100 {
        nested = json!({"L": [nested]});
    }
    let e = db.call("PutItem", &json!({"TableName": "Files", "Item": {"Id": {"S": "u"}, "Key": {"S": "k"}, "n": nested}})).unwrap_err();
    assert_eq!(e.code, "ValidationException");
    assert_eq!(
        e.message,
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
    );

    // malformed request shapes
    let shapes = [
        json!(null),
        json!([]),
        json!({"TableName": []}),
        json!({"TableName": "Files", "Key": "x"}),
        json!({"TableName": "Files", "Key": {"Id": {"S": 1}}}),
        json!({"TableName": "Files", "Item": {"Id": {"L": {}}}}),
        json!({"TableName": "Files", "Item": {"Id": {"B": "!!!!"}}}),
        json!({"TableName": "Files", "Item": {"Id": {"SS": [1]}}}),
        json!({"TableName": "Files", "Limit": -5, "KeyConditionExpression": "Id = :v", "ExpressionAttributeValues": {":v": {"S": "u"}}}),
        json!({"TableName": "Files", "Limit": 1e300, "ExclusiveStartKey": {"Id": {"S": "u"}, "Key": {"N": "1"}}}),
        json!({"RequestItems": {"Files": 5}}),
        json!({"RequestItems": {"Files": [{}]}}),
        json!({"RequestItems": {"Files": {"Keys": [5]}}}),
        json!({"TransactItems": [5, {"Put": 7}]}),
        json!({"TransactItems": [{"Update": {"TableName": "Files", "Key": {"Id": {"S": "u"}, "Key": {"S": "k"}}, "UpdateExpression": "SET l[5] = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}}}]}),
        json!({"TableName": "Files", "KeySchema": [{}], "AttributeDefinitions": [5]}),
        json!({"TableName": "Xyz", "KeySchema": [], "AttributeDefinitions": []}),
        json!({"TableName": "Files", "Segment": 3}),
        json!({"TableName": "Files", "Segment": 0, "TotalSegments": 0}),
    ];
    let ops = [
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactGetItems",
        "TransactWriteItems", "CreateTable", "DeleteTable", "DescribeTable", "ListTables",
    ];
    for s in &shapes {
        for op in ops {
            let _ = db.call(op, s);
            let _ = step_functions_call(&mut db, IntegrationStyle::AwsSdk, "query", s);
        }
    }
}

/// Arithmetic that leaves DynamoDB's number range, and numbers written outside it, are refused
/// with DynamoDB's ValidationException; nothing is written. Range and messages:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number>
/// ("Positive range: 1E-130 to 9.9999999999999999999999999999999999999E+125").
#[test]
fn numbers_outside_dynamodb_range_are_refused() {
    let mut db = Database::default();
    db.call(
        "CreateTable",
        &json!({"TableName": "Nums", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}),
    )
    .unwrap();
    let max = "9.9999999999999999999999999999999999999E+125";
    db.call("PutItem", &json!({"TableName": "Nums", "Item": {"pk": {"S": "a"}, "n": {"N": max}, "m": {"N": format!("-{max}")}}})).unwrap();
    let overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range";
    let underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    let update = |expr: &str, values: Value| {
        json!({"TableName": "Nums", "Key": {"pk": {"S": "a"}}, "UpdateExpression": expr, "ExpressionAttributeValues": values})
    };
    let cases = [
        (update("ADD n :v", json!({":v": {"N": max}})), overflow),
        (update("ADD n :v", json!({":v": {"N": "1E+125"}})), overflow),
        (update("ADD m :v", json!({":v": {"N": "-1E+125"}})), overflow),
        (update("SET n = n + :v", json!({":v": {"N": max}})), overflow),
        (update("SET n = m - :v", json!({":v": {"N": max}})), overflow),
        (update("SET x = :v", json!({":v": {"N": "1E+126"}})), overflow),
        (update("SET x = :v", json!({":v": {"N": "1E-131"}})), underflow),
        (update("ADD x :v", json!({":v": {"N": "-1E-131"}})), underflow),
        (json!({"TableName": "Nums", "Item": {"pk": {"S": "b"}, "n": {"N": "1E-131"}}}), underflow),
        (json!({"TableName": "Nums", "Item": {"pk": {"S": "b"}, "n": {"NS": ["1", "1E+126"]}}}), overflow),
        (json!({"TableName": "Nums", "Key": {"pk": {"S": "a"}}, "AttributeUpdates": {"n": {"Action": "ADD", "Value": {"N": max}}}}), overflow),
        (json!({"TableName": "Nums", "Key": {"pk": {"S": "a"}}, "AttributeUpdates": {"m": {"Action": "ADD", "Value": {"N": format!("-{max}")}}}}), overflow),
    ];
    for (req, message) in cases {
        let op = if req.get("Item").is_some() { "PutItem" } else { "UpdateItem" };
        let e = db.call(op, &req).expect_err(&req.to_string());
        assert_eq!((e.code.as_str(), e.status), ("ValidationException", 400), "{req}");
        // a value given in the request is named ("ExpressionAttributeValues contains invalid
        // value: <message> for key :v", "One or more parameter values were invalid: <message>")
        assert!(e.message.contains(message), "{req}: {}", e.message);
    }
    // through Step Functions' integrations and inside a transaction too
    for style in [IntegrationStyle::Optimized, IntegrationStyle::AwsSdk] {
        let (error, cause) = step_functions_call(&mut db, style, "updateItem", &update("ADD n :v", json!({":v": {"N": max}}))).unwrap_err();
        assert!(error.starts_with("DynamoDb") || error.starts_with("DynamoDB"), "{error}");
        assert!(cause.starts_with(overflow), "{cause}");
    }
    let e = db
        .call("TransactWriteItems", &json!({"TransactItems": [{"Update": update("SET n = n + :v", json!({":v": {"N": "1E+125"}}))}]}))
        .unwrap_err();
    assert_eq!(e.code, "TransactionCanceledException");
    assert_eq!(e.message, "Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError]");
    assert_eq!(e.extra.as_ref().and_then(|x| x["CancellationReasons"][0]["Message"].as_str()), Some(overflow), "{e:?}");
    let got = db.call("GetItem", &json!({"TableName": "Nums", "Key": {"pk": {"S": "a"}}})).unwrap();
    let nines = format!("{}{}", "9".repeat(38), "0".repeat(88));
    assert_eq!(got["Item"], json!({"pk": {"S": "a"}, "n": {"N": nines}, "m": {"N": format!("-{nines}")}}));
    // the edges themselves are accepted
    db.call("UpdateItem", &update("SET x = :a, y = :b", json!({":a": {"N": "1E-130"}, ":b": {"N": "-1E-130"}}))).unwrap();
}

/// `Limit` is an Integer of at least 1 (Query/Scan API references: "Type: Integer, Valid Range:
/// Minimum value of 1"); 2^64 used to be read as i64::MAX and answered 200.
#[test]
fn limit_must_be_a_positive_int32() {
    let mut db = files_db();
    for limit in [json!(0), json!(-1), json!(-2147483648)] {
        let e = db.call("Scan", &json!({"TableName": "Files", "Limit": limit})).unwrap_err();
        assert_eq!(e.code, "ValidationException", "{limit}");
        assert_eq!(
            e.message,
            format!("1 validation error detected: Value '{}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", limit_text(&limit)),
            "{limit}"
        );
    }
    for limit in [json!(18446744073709551616.0), json!(-18446744073709551616.0), json!(2147483648u64), json!(-2147483649i64), json!(9223372036854775807i64), json!(1.5)] {
        for op in ["Scan", "Query"] {
            let mut req = json!({"TableName": "Files", "Limit": limit});
            if op == "Query" {
                req["KeyConditionExpression"] = json!("Id = :u");
                req["ExpressionAttributeValues"] = json!({":u": {"S": "u"}});
            }
            let e = db.call(op, &req).unwrap_err();
            assert_eq!((e.code.as_str(), e.status), ("SerializationException", 400), "{op} {limit}: {e:?}");
            assert_eq!(e.message, "NUMBER_VALUE cannot be converted to Integer", "{op} {limit}");
        }
    }
    let e = db.call("ListTables", &json!({"Limit": 18446744073709551616.0})).unwrap_err();
    assert_eq!(e.code, "SerializationException");
    assert_eq!(db.call("Scan", &json!({"TableName": "Files", "Limit": 2147483647})).unwrap()["Count"], json!(0));
}

fn limit_text(v: &Value) -> String {
    match v.as_i64() {
        Some(i) => i.to_string(),
        None => v.to_string(),
    }
}
