//! In-memory S3 and EventBridge. No I/O.
