//! The Step Functions HTTP Task, `arn:aws:states:::http:invoke`, as AWS documents it in
//! "Call HTTPS APIs in Step Functions workflows"
//! (https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html), authorised by
//! EventBridge connections (`AWS::Events::Connection`,
//! https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html).
//!
//! The pure parts (reading the task's parameters, merging a connection into the request,
//! URL-encoding, shaping the result) are separate from the one part that does I/O,
//! [`HttpInvoker`], so that they are tested without a network.

pub mod api_gateway;
pub mod connection;
pub mod encode;
pub mod invoker;
pub mod request;
pub mod response;

pub use connection::{Auth, Connection, Connections, Param};
pub use invoker::HttpInvoker;
pub use request::{HttpRequest, TaskSpec};

/// A failed call: the error name and the cause Step Functions reports.
pub type Failure = (String, String);

pub(crate) fn failure(error: &str, cause: impl Into<String>) -> Failure {
    (error.to_string(), cause.into())
}

/// The documentation page the HTTP Task's behaviour comes from; causes cite it.
pub const DOCS: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html";
