//! Diagnostics for people: `file:line:col: severity: message`, then the
//! source line with a caret, as rustc does. The only place that formats
//! diagnostics as text.

use crate::diagnostic::{Diagnostic, Severity};

pub fn diagnostic(file: &str, source: &str, d: &Diagnostic) -> String {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{file}:{}:{}: {sev}[{}]: {}\n", d.pos.line, d.pos.col, d.code, d.message);
    if let Some(line) = source.lines().nth(d.pos.line.saturating_sub(1) as usize) {
        let n = d.pos.line.to_string();
        let pad = " ".repeat(n.len());
        let caret_pad: String = line.chars().take(d.pos.col.saturating_sub(1) as usize).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        out.push_str(&format!("{pad} |\n{n} | {line}\n{pad} | {caret_pad}^\n"));
    }
    out
}
