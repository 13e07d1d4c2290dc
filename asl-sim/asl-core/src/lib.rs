//! The Amazon States Language core.
