//! ARNs as AWS writes them: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//! (S3 bucket ARNs leave region and account empty: `arn:aws:s3:::bucket`.)

use crate::defaults::PARTITION;

/// `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub fn arn(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:{PARTITION}:{service}:{region}:{account}:{resource}")
}

/// A Lambda function's ARN.
pub fn lambda_function(region: &str, account: &str, name: &str) -> String {
    arn("lambda", region, account, &format!("function:{name}"))
}

/// A state machine's ARN.
pub fn state_machine(region: &str, account: &str, name: &str) -> String {
    arn("states", region, account, &format!("stateMachine:{name}"))
}

/// A DynamoDB table's ARN.
pub fn dynamodb_table(region: &str, account: &str, name: &str) -> String {
    arn("dynamodb", region, account, &format!("table/{name}"))
}

/// An EventBridge event bus's ARN.
pub fn event_bus(region: &str, account: &str, name: &str) -> String {
    arn("events", region, account, &format!("event-bus/{name}"))
}

/// An S3 bucket's ARN (no region, no account).
pub fn s3_bucket(name: &str) -> String {
    format!("arn:{PARTITION}:s3:::{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_arns() {
        assert_eq!(lambda_function("us-east-1", "123456789012", "f"), "arn:aws:lambda:us-east-1:123456789012:function:f");
        assert_eq!(state_machine("eu-west-1", "1", "M"), "arn:aws:states:eu-west-1:1:stateMachine:M");
        assert_eq!(s3_bucket("files"), "arn:aws:s3:::files");
        assert_eq!(event_bus("r", "a", "default"), "arn:aws:events:r:a:event-bus/default");
        assert_eq!(dynamodb_table("r", "a", "t"), "arn:aws:dynamodb:r:a:table/t");
    }
}
