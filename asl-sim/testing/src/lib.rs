//! The drivers that judge workflows: [`testing`] (`asl-sim test`: test suites of cases
//! with mocks, expected outputs and snapshots) and [`simulate`] (`asl-sim simulate`:
//! many executions under a seeded scheduler with faults, then invariants).

// The world, its Lambda runners and mocks live in asl-world, the report in asl-viz, the
// diagnostics renderer in asl-core; these imports keep the `crate::world`,
// `crate::lambda`, `crate::mocks`, `crate::report` and `crate::render` paths the two
// drivers are written against.
use asl_core::render;
use asl_viz::report;
use asl_world::{lambda, mocks, world};

pub mod simulate;
pub mod testing;
