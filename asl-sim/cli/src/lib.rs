//! The `asl-sim` binary's commands: clap declarations (`cli`) and the thin glue of
//! `run`, `validate`, `eval` and `graph`; `test`, `simulate` and `serve` are their own
//! crates (asl-testing, asl-serve). `main.rs` only dispatches.

pub mod cli;
pub mod eval;
pub mod graph;
pub mod run;
pub mod test_state;
pub mod validate;

// Where the commands' building blocks live; imported at the root so the commands read
// `crate::world::World`, `crate::report::write`, ... as before the split.
use asl_core::render;
use asl_viz::report;
use asl_world::{clock, lambda, mocks, world};

pub use asl_serve as serve;
pub use asl_testing::{simulate, testing};
