//! SNS errors as the query protocol returns them (code, message, HTTP status), with the
//! exception class the AWS SDKs generate for each code.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsError {
    /// The `<Code>` of the error response: `InvalidParameter`, `NotFound`, ...
    pub code: String,
    pub message: String,
    pub status: u16,
    pub sender_fault: bool,
}

impl SnsError {
    pub fn new(code: &str, message: impl Into<String>, status: u16) -> SnsError {
        SnsError { code: code.into(), message: message.into(), status, sender_fault: true }
    }

    /// `Invalid parameter: <detail>`, SNS's most common error.
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> SnsError {
        SnsError::new("InvalidParameter", format!("Invalid parameter: {detail}"), 400)
    }

    pub fn parameter_value_invalid(message: impl Into<String>) -> SnsError {
        SnsError::new("ParameterValueInvalid", message, 400)
    }

    pub fn validation(message: impl Into<String>) -> SnsError {
        SnsError::new("ValidationError", message, 400)
    }

    pub fn not_found(message: &str) -> SnsError {
        SnsError::new("NotFound", message, 404)
    }

    /// The SDK exception class name (SNS's model names the shape differently from the
    /// code for ParameterValueInvalid and ValidationError).
    pub fn exception_name(&self) -> String {
        match self.code.as_str() {
            "ParameterValueInvalid" => "InvalidParameterValueException".to_string(),
            "ValidationError" => "ValidationException".to_string(),
            c if c.ends_with("Exception") => c.to_string(),
            c => format!("{c}Exception"),
        }
    }
}

impl std::fmt::Display for SnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SnsError {}
