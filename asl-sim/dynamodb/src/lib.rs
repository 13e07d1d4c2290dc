//! An in-memory DynamoDB that speaks DynamoDB JSON requests and answers. No I/O.
