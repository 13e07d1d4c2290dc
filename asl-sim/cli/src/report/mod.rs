//! Self-contained HTML reports of executions (issue 8). Placeholder until implemented.

use asl_core::definition::Definition;
use asl_core::engine::Outcome;

/// Writes the HTML report of one execution to `path`.
pub fn write(_def: &Definition, _source: &str, _outcome: &Outcome, _path: &std::path::Path) -> Result<(), String> {
    Err("HTML reports are not implemented yet".into())
}
