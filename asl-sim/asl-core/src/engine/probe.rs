//! One state run alone, its data flow recorded: what Step Functions' TestState API
//! answers (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html).
//!
//! The state runs in the real interpreter (the same data flow, errors, retriers and
//! catchers as an execution); the probe only records each stage and changes three
//! things TestState changes: the state's transition is reported, not followed; a
//! matching retrier is reported (`RETRIABLE`, with the back-off it would wait), not
//! waited for; a Map or Parallel state takes its mocked result instead of running its
//! branches.

use super::{Ending, TaskError};
use serde_json::{Map, Value};

/// What TestState is asked to do beyond the state and its input.
#[derive(Clone, Debug, Default)]
pub struct TestStateOptions {
    /// Variables in scope before the state runs (`variables`).
    pub variables: Map<String, Value>,
    /// `$$` instead of the one the engine builds (`context`).
    pub context: Option<Value>,
    /// How many retries the matching retrier has made already
    /// (`stateConfiguration.retrierRetryCount`).
    pub retrier_retry_count: u32,
    /// A Map or Parallel state's mocked result or error (`mock`): the state's own
    /// result; its branches or iterations do not run.
    pub container_mock: Option<Result<Value, TaskError>>,
}

/// TestState's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    /// A retrier matched the error and has attempts left.
    Retriable,
    /// A catcher took the error.
    CaughtError,
}

impl TestStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// The data at each stage of the state's processing (AWS's `inspectionData`); a stage
/// the state did not reach, or does not have, is `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inspection {
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    /// All variables in scope after the state's Assign (only when it has one).
    pub variables: Option<Value>,
    pub error_details: ErrorDetails,
    pub max_concurrency: Option<f64>,
    pub tolerated_failure_count: Option<f64>,
    pub tolerated_failure_percentage: Option<f64>,
}

/// How the state's Retry and Catch handled its error (AWS's `inspectionData.errorDetails`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorDetails {
    pub retry_index: Option<usize>,
    pub retry_backoff_interval_seconds: Option<i64>,
    pub catch_index: Option<usize>,
}

/// What the state did.
#[derive(Clone, Debug, PartialEq)]
pub struct TestReport {
    pub status: TestStatus,
    pub end: Ending,
    /// The state the execution would go to next (`Next`, the chosen branch, the catcher's `Next`).
    pub next_state: Option<String>,
    pub inspection: Inspection,
}

/// Why a state could not be tested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestStateError {
    /// The task was handed to a service that answers later (a callback or activity
    /// without a mock): nobody will answer it within one TestState call.
    Pending { state: String, resource: String },
}

impl std::fmt::Display for TestStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestStateError::Pending { state, resource } => write!(
                f,
                "the task of state '{state}' ({resource}) waits for an answer that cannot come within one TestState call; give it a mock"
            ),
        }
    }
}

/// The probe the interpreter carries while a state is tested.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    pub(crate) options: TestStateOptions,
    pub(crate) inspection: Inspection,
    /// The error a retrier would retry (status RETRIABLE).
    pub(crate) retriable: bool,
    /// The error a catcher took (reported with status CAUGHT_ERROR).
    pub(crate) caught: Option<TaskError>,
}
