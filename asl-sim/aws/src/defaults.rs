//! The identity of the local account every command runs as unless told otherwise.
//! One place, so `run`, `test`, `simulate` and `serve` agree on ARNs.

/// The region of ARNs and of `$$.Execution.Id` when none is configured.
pub const REGION: &str = "us-east-1";
/// The AWS account id of the local account (the one AWS uses in its documentation).
pub const ACCOUNT: &str = "123456789012";
/// The partition of ARNs.
pub const PARTITION: &str = "aws";
/// `AWS::StackName` when none is given: the stack of the repository's SAM app, under
/// which `asl-sim serve` documents its resource names (`file-manager-filebucket`).
pub const STACK_NAME: &str = "file-manager";
