//! `asl-sim graph`: the state machine as a diagram (Mermaid, Graphviz dot, or
//! SVG drawn natively). Choice rules label their edges, Catch edges are
//! dashed red, Retry is a loop on the state, Map and Parallel are boxes
//! holding their machines.

pub mod model;
pub mod svg;
pub mod text;
