//! Diagnostics are data: a code, a severity, a position and a message. Only the
//! CLI renders them for people.

use crate::tree::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable code: `E0xx` errors AWS would reject, `W0xx` lints.
    pub code: &'static str,
    pub severity: Severity,
    pub pos: Pos,
    /// Lower-case, no trailing period.
    pub message: String,
}
