//! The Amazon States Language core: loading with positions, validation,
//! JSONPath, intrinsic functions, Choice rules and the interpreter.
//!
//! Invariant: this crate does no I/O. It takes text and values and returns
//! values and diagnostics; time, randomness and service calls are injected
//! (`engine::Clock`, a seed, `engine::Services`).
//!
//! ```
//! use asl_core::{load_definition, engine};
//! let src = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}}"#;
//! let (def, diags) = load_definition(src, &Default::default());
//! assert!(diags.is_empty());
//! let mut clock = engine::VirtualClock { now: 0 };
//! let out = engine::run(&def.unwrap(), serde_json::json!({}), &Default::default(), &mut engine::NoServices, &mut clock, false);
//! assert_eq!(out.end.output, Some(serde_json::json!(1)));
//! ```

pub mod choice;
pub mod definition;
pub mod diagnostic;
pub mod engine;
pub mod hash;
pub mod history;
pub mod intrinsics;
pub mod path;
pub mod query;
pub mod render;
pub mod size;
pub mod tree;

// Ids, randomness and timestamps are shared with the AWS services (asl-aws); the
// old module paths stay so `crate::rng::…` and `crate::time::…` keep working.
pub use asl_aws::ids as rng;
pub use asl_aws::time;

use std::collections::HashMap;

/// Parses (JSON or YAML) and lowers a definition. The definition is `None`
/// when the text cannot be read at all; diagnostics say why.
pub fn load_definition(text: &str, subs: &HashMap<String, String>) -> (Option<definition::Definition>, Vec<diagnostic::Diagnostic>) {
    match tree::load(text) {
        Ok(root) => definition::lower(&root, subs),
        Err(e) => (
            None,
            vec![diagnostic::Diagnostic { code: "E000", severity: diagnostic::Severity::Error, pos: e.pos, message: e.message }],
        ),
    }
}
