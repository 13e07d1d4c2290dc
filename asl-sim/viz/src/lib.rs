//! Pictures of state machines and executions: [`graph`] draws a definition (Mermaid,
//! Graphviz dot, SVG laid out natively), [`report`] writes the self-contained HTML
//! report of an execution. Pure functions of a definition and an outcome, except
//! `report::write`, which writes the one file it is given.

pub mod graph;
pub mod report;
