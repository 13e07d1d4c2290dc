//! What every emulated AWS service shares, and nothing else: deterministic ids
//! ([`ids`]), ARNs ([`arn`]), timestamps in AWS's formats ([`time`]), the
//! defaults a local account runs with ([`defaults`]), the context a service call
//! carries ([`CallContext`]), the event envelope services hand to EventBridge
//! ([`Event`]), XML text escaping for AWS's XML protocols ([`xml`]) and the one scan of
//! a decimal number's text ([`number`]).
//!
//! Invariant: no I/O. No clock, no OS randomness, no files, no network: time and
//! seeds are passed in, so every service built on this crate replays exactly.

pub mod arn;
pub mod context;
pub mod defaults;
pub mod event;
pub mod ids;
pub mod number;
pub mod time;
pub mod xml;

pub use context::CallContext;
pub use event::Event;
pub use ids::IdGen;
