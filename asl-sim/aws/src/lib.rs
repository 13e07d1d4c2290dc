//! What every emulated AWS service shares, and nothing else: deterministic ids
//! ([`ids`]), ARNs ([`arn`]), timestamps in AWS's formats ([`time`]), the
//! defaults a local account runs with ([`defaults`]), the context a service call
//! carries ([`CallContext`]), the event envelope services hand to EventBridge
//! ([`Event`]), XML text escaping for AWS's XML protocols ([`xml`]), the one scan of
//! a decimal number's text ([`number`]), the CRC-32 of AWS's checksums ([`crc32`]) and what
//! the services' Step Functions integrations share ([`integration`]).
//!
//! Invariant: no I/O. No clock, no OS randomness, no files, no network: time and
//! seeds are passed in, so every service built on this crate replays exactly.

pub mod arn;
pub mod context;
pub mod crc32;
pub mod defaults;
pub mod event;
pub mod ids;
pub mod integration;
pub mod number;
pub mod time;
pub mod xml;

pub use context::CallContext;
pub use event::Event;
pub use ids::IdGen;
