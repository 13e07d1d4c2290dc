//! The Step Functions integrations over the in-memory DynamoDB.
//!
//! Optimized (`arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`):
//! the result is DynamoDB's response plus `SdkHttpMetadata` and `SdkResponseMetadata`;
//! errors are `DynamoDB.<Code>`, with ValidationException surfacing as
//! `DynamoDB.AmazonDynamoDBException` (AWS SDK for Java v1 naming), and the cause is
//! `<message> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: <Code>; Request ID: <id>; Proxy: null)`.
//!
//! aws-sdk (`arn:aws:states:::aws-sdk:dynamodb:<action>`): the plain API response;
//! errors are `DynamoDb.<Name>Exception`, with ValidationException surfacing as
//! `DynamoDb.DynamoDbException` (AWS SDK for Java v2 naming), and the cause is
//! `<message> (Service: DynamoDb, Status Code: 400, Request ID: <id>)`.

use crate::{Database, DynamoError};
use asl_aws::integration::not_recognized;
use serde_json::Value;

/// Which Step Functions integration a Task state uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationStyle {
    /// `arn:aws:states:::dynamodb:getItem` etc.
    Optimized,
    /// `arn:aws:states:::aws-sdk:dynamodb:getItem` etc.
    AwsSdk,
}

const OPTIMIZED: &[(&str, &str)] = &[
    ("getItem", "GetItem"),
    ("putItem", "PutItem"),
    ("updateItem", "UpdateItem"),
    ("deleteItem", "DeleteItem"),
];

const AWS_SDK: &[(&str, &str)] = &[
    ("getItem", "GetItem"),
    ("putItem", "PutItem"),
    ("updateItem", "UpdateItem"),
    ("deleteItem", "DeleteItem"),
    ("query", "Query"),
    ("scan", "Scan"),
    ("batchGetItem", "BatchGetItem"),
    ("batchWriteItem", "BatchWriteItem"),
    ("transactGetItems", "TransactGetItems"),
    ("transactWriteItems", "TransactWriteItems"),
    ("createTable", "CreateTable"),
    ("deleteTable", "DeleteTable"),
    ("describeTable", "DescribeTable"),
    ("listTables", "ListTables"),
];

/// Runs a Task state's DynamoDB integration: `action` as written in the resource ARN,
/// `parameters` the state's resolved Parameters. Returns the state's result, or
/// `(error, cause)` as Step Functions reports the failure.
pub fn step_functions_call(
    db: &mut Database,
    style: IntegrationStyle,
    action: &str,
    parameters: &Value,
) -> Result<Value, (String, String)> {
    let (table, prefix) = match style {
        IntegrationStyle::Optimized => (OPTIMIZED, "arn:aws:states:::dynamodb:"),
        IntegrationStyle::AwsSdk => (AWS_SDK, "arn:aws:states:::aws-sdk:dynamodb:"),
    };
    let Some((_, op)) = table.iter().find(|(a, _)| *a == action) else {
        return Err(not_recognized(prefix, action));
    };
    let result = db.call(op, parameters);
    let request_id = db.request_id();
    match (style, result) {
        (IntegrationStyle::Optimized, Ok(body)) => Ok(optimized_output(body, &request_id)),
        (IntegrationStyle::AwsSdk, Ok(body)) => Ok(body),
        (IntegrationStyle::Optimized, Err(e)) => Err(optimized_error(&e, &request_id)),
        (IntegrationStyle::AwsSdk, Err(e)) => Err(aws_sdk_error(&e, &request_id)),
    }
}

fn optimized_output(body: Value, request_id: &str) -> Value {
    let text = body.to_string();
    let crc = asl_aws::crc32::crc32(text.as_bytes()).to_string();
    let headers: [(&str, String); 6] = [
        ("Connection", "keep-alive".into()),
        ("Content-Length", text.len().to_string()),
        ("Content-Type", "application/x-amz-json-1.0".into()),
        ("Server", "Server".into()),
        ("x-amz-crc32", crc),
        ("x-amzn-RequestId", request_id.to_string()),
    ];
    asl_aws::integration::with_sdk_v1_metadata(body, &headers, request_id)
}

fn optimized_error(e: &DynamoError, request_id: &str) -> (String, String) {
    let name = match e.code.as_str() {
        "ValidationException" | "SerializationException" | "UnknownOperationException" => "AmazonDynamoDBException".to_string(),
        c => c.to_string(),
    };
    (
        format!("DynamoDB.{name}"),
        format!(
            "{} (Service: AmazonDynamoDBv2; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
            e.message, e.status, e.code, request_id
        ),
    )
}

fn aws_sdk_error(e: &DynamoError, request_id: &str) -> (String, String) {
    let name = match e.code.as_str() {
        "ValidationException" | "SerializationException" | "UnknownOperationException" => "DynamoDbException".to_string(),
        c if c.ends_with("Exception") => c.to_string(),
        c => format!("{c}Exception"),
    };
    (
        format!("DynamoDb.{name}"),
        format!("{} (Service: DynamoDb, Status Code: {}, Request ID: {})", e.message, e.status, request_id),
    )
}
