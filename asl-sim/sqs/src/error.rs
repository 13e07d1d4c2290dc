//! SQS errors as the service returns them.
//!
//! Each error has the code the query protocol (and botocore, through the JSON protocol's
//! `x-amzn-query-error` header) reports, e.g. `AWS.SimpleQueueService.NonExistentQueue`,
//! and the shape name the JSON protocol puts in `__type`, e.g. `QueueDoesNotExist`
//! (the pairs are recorded in aws-recorded/errors.jsonl, field `error_extra.QueryErrorCode`).

/// An SQS error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    /// The query-protocol code: `AWS.SimpleQueueService.NonExistentQueue`, `InvalidParameterValue`...
    pub code: String,
    /// The JSON-protocol shape name (`__type` without its namespace): `QueueDoesNotExist`,
    /// `InvalidParameterValueException`...
    pub shape: String,
    pub message: String,
    pub status: u16,
    /// `Sender` faults are the caller's; SQS marks server faults `Receiver`.
    pub sender_fault: bool,
}

impl SqsError {
    fn new(code: &str, shape: &str, message: impl Into<String>) -> SqsError {
        SqsError { code: code.into(), shape: shape.into(), message: message.into(), status: 400, sender_fault: true }
    }

    pub fn non_existent_queue() -> SqsError {
        SqsError::new("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "The specified queue does not exist.")
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> SqsError {
        SqsError::new("InvalidParameterValue", "InvalidParameterValueException", message)
    }

    /// `Value <v> for parameter <p> is invalid. Reason: <reason>`
    pub fn invalid_value(value: &str, parameter: &str, reason: &str) -> SqsError {
        SqsError::invalid_parameter_value(format!("Value {value} for parameter {parameter} is invalid. Reason: {reason}"))
    }

    pub fn missing_parameter(parameter: &str) -> SqsError {
        SqsError::new(
            "MissingParameter",
            "MissingRequiredParameterException",
            format!("The request must contain the parameter {parameter}."),
        )
    }

    pub fn invalid_attribute_name(message: impl Into<String>) -> SqsError {
        SqsError::new("InvalidAttributeName", "InvalidAttributeName", message)
    }

    pub fn unknown_attribute(name: &str) -> SqsError {
        SqsError::invalid_attribute_name(format!("Unknown Attribute {name}."))
    }

    pub fn invalid_attribute_value(message: impl Into<String>) -> SqsError {
        SqsError::new("InvalidAttributeValue", "InvalidAttributeValue", message)
    }

    pub fn queue_already_exists(attribute: &str) -> SqsError {
        SqsError::new(
            "QueueAlreadyExists",
            "QueueNameExists",
            format!("A queue already exists with the same name and a different value for attribute {attribute}"),
        )
    }

    pub fn too_many_entries(sent: usize) -> SqsError {
        SqsError::new(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            "TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are 10. You have sent {sent}."),
        )
    }

    /// Message from the SQS API reference (EmptyBatchRequest); no recording.
    pub fn empty_batch(entry_shape: &str) -> SqsError {
        SqsError::new(
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "EmptyBatchRequest",
            format!("There should be at least one {entry_shape} in the request."),
        )
    }

    /// Message wording not recorded; the code is the API reference's BatchEntryIdsNotDistinct.
    pub fn ids_not_distinct(id: &str) -> SqsError {
        SqsError::new(
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            "BatchEntryIdsNotDistinct",
            format!("Id {id} repeated."),
        )
    }

    pub fn invalid_batch_entry_id() -> SqsError {
        SqsError::new(
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
        )
    }

    pub fn batch_too_long(max: usize, sent: usize) -> SqsError {
        SqsError::new(
            "AWS.SimpleQueueService.BatchRequestTooLong",
            "BatchRequestTooLong",
            format!("Batch requests cannot be longer than {max} bytes. You have sent {sent} bytes."),
        )
    }

    /// Wording not recorded: the API reference names the error ReceiptHandleIsInvalid.
    pub fn receipt_handle_invalid(handle: &str) -> SqsError {
        SqsError::new(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }

    pub fn purge_in_progress(queue_name: &str) -> SqsError {
        SqsError {
            status: 403,
            ..SqsError::new(
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                "PurgeQueueInProgress",
                format!("Only one PurgeQueue operation on {queue_name} is allowed every 60 seconds."),
            )
        }
    }

    pub fn message_not_inflight() -> SqsError {
        SqsError::new("AWS.SimpleQueueService.MessageNotInflight", "MessageNotInflight", "The message referred to isn't in flight.")
    }

    /// The characters SQS accepts in a body or string attribute (SendMessage API reference).
    pub fn invalid_message_contents() -> SqsError {
        SqsError::new(
            "InvalidMessageContents",
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    }

    pub fn unsupported_operation(message: impl Into<String>) -> SqsError {
        SqsError::new("AWS.SimpleQueueService.UnsupportedOperation", "UnsupportedOperation", message)
    }

    /// An action SQS does not have (the JSON protocol's UnknownOperationException).
    pub fn unknown_operation(action: &str) -> SqsError {
        SqsError::new("InvalidAction", "UnknownOperationException", format!("The action {action} is not valid for this endpoint."))
    }

    /// A request member of the wrong JSON type (what the JSON protocol's deserializer rejects).
    pub fn serialization(message: impl Into<String>) -> SqsError {
        SqsError::new("SerializationException", "SerializationException", message)
    }

    /// The JSON protocol's error body: `{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": ...}`.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::json!({"__type": format!("com.amazonaws.sqs#{}", self.shape), "message": self.message})
    }

    /// The JSON protocol's `x-amzn-query-error` header value: `<code>;Sender`.
    pub fn query_error_header(&self) -> String {
        format!("{};{}", self.code, if self.sender_fault { "Sender" } else { "Receiver" })
    }

    /// The message the query protocol sends: the same text, except for a missing queue, which
    /// the query protocol words differently (both recorded on AWS).
    pub fn query_message(&self) -> &str {
        if self.shape == "QueueDoesNotExist" {
            "The specified queue does not exist for this wsdl version."
        } else {
            &self.message
        }
    }
}

impl std::fmt::Display for SqsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SqsError {}
