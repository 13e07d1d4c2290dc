//! The world behind Task states: a [`world::World`] routes each Task Resource to an
//! embedded service (asl-dynamodb, asl-s3, asl-eventbridge), a Lambda runner or a mock,
//! and adds Step Functions' integration shapes. Also here, because every driver (`run`,
//! `test`, `simulate`, `serve`) needs them: the ItemReader, the wall clock and the
//! CloudFormation template model.
//!
//! I/O is limited to what a Task does locally: running a Lambda function's command and
//! reading files a template or fixture names. No network, no async runtime.

pub mod activities;
pub mod cfn;
pub mod clock;
pub mod item_reader;
pub mod lambda;
pub mod mocks;
pub mod output_schema;
pub mod targets;
pub mod template;
pub mod world;

pub use world::{SharedWorld, World};
