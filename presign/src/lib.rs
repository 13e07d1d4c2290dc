//! Presigned URL issuance for the file manager (pure logic lives here; main.rs is the lambda_runtime glue).
