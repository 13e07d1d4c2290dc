//! In-memory S3. No I/O.
//!
//! * [`s3`]: buckets, objects, multipart uploads, ListObjectsV2, with S3's error codes and
//!   the EventBridge notifications S3 sends ("Object Created" / "Object Deleted") as
//!   [`asl_aws::Event`]s, which the caller hands to EventBridge (asl-eventbridge).
//! * [`versions`]: bucket versioning (versions, delete markers, ListObjectVersions).
//! * [`sfn`]: the Step Functions integration layer (`aws-sdk:s3:*`).
//!
//! Time and ids come from the caller through [`CallContext`]; the crate reads no clock,
//! no file and no OS randomness.

pub mod s3;
pub mod sfn;
mod util;
pub mod versions;

pub use asl_aws::{CallContext, Event};
pub use s3::{S3Error, S3};
pub use sfn::s3_step_functions_call;
