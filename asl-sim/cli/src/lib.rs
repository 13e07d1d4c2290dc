//! The `asl-sim` engine crate: the embedded AWS world behind Task states, the
//! CLI commands, and (later) the HTTP front door. `main.rs` only dispatches.

pub mod cli;
pub mod clock;
pub mod eval;
pub mod graph;
pub mod item_reader;
pub mod lambda;
pub mod mocks;
pub mod render;
pub mod report;
pub mod run;
pub mod serve;
pub mod simulate;
pub mod testing;
pub mod validate;
pub mod world;
pub mod xml;
