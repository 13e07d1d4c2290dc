//! Step Functions' request validation that serve shares between its Step Functions API
//! and the HTTP API's StepFunctions integrations: execution names and input sizes.

/// An execution's (or state machine's) name, as StartExecution documents it
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html):
/// 1 to 80 characters, none of whitespace, `< > { } [ ]`, `? *`,
/// `" # % \ ^ | ~ ` $ & , ; : /` or control characters (U+0000–001F, U+007F–009F).
/// The length is checked first, by the API's model, with its ValidationException (as
/// AWS answers a name of 81 characters); the characters then give `InvalidName`
/// ("Invalid Name: '…'", recorded on AWS).
pub fn name(field: &str, name: &str) -> Result<(), (String, String)> {
    let n = name.chars().count();
    if n == 0 {
        return Err((
            "ValidationException".into(),
            format!("1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ));
    }
    if n > 80 {
        return Err((
            "ValidationException".into(),
            format!("1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to 80"),
        ));
    }
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let bad = |c: char| c.is_whitespace() || FORBIDDEN.contains(c) || (c as u32) <= 0x1F || (0x7F..=0x9F).contains(&(c as u32));
    if name.chars().any(bad) {
        return Err(("InvalidName".into(), format!("Invalid Name: '{name}'")));
    }
    Ok(())
}

/// Execution input is at most 262,144 bytes (StartExecution's `input`: "Length Constraints:
/// Maximum length of 262144"; the 256 KiB payload quota,
/// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). AWS's message
/// for an oversized input is not recorded; the error is InvalidExecutionInput, worded
/// like its other InvalidExecutionInput messages.
pub const MAX_INPUT_BYTES: usize = 262_144;

pub fn input_size(text: &str) -> Result<(), (String, String)> {
    if text.len() > MAX_INPUT_BYTES {
        return Err((
            "InvalidExecutionInput".into(),
            format!("Invalid State Machine Execution Input: 'The input of {} bytes exceeds the maximum size of {MAX_INPUT_BYTES} bytes'", text.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["first", "a-b_c.d", "Ünïcødé", &"x".repeat(80), "(paren)'s!@+="] {
            assert!(name("name", ok).is_ok(), "{ok}");
        }
        for bad in ["../../etc/x", "a b", "a\tb", "a<b", "a{b", "a]b", "a?b", "a*b", "a\"b", "a#b", "a%b", "a\\b", "a^b", "a|b", "a~b", "a`b", "a$b", "a&b", "a,b", "a;b", "a:b", "a\u{1}b", "a\u{85}b"] {
            assert_eq!(name("name", bad).unwrap_err(), ("InvalidName".to_string(), format!("Invalid Name: '{bad}'")));
        }
        let long = "x".repeat(81);
        let e = name("name", &long).unwrap_err();
        assert_eq!(e.0, "ValidationException");
        assert!(e.1.ends_with("at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"), "{}", e.1);
        assert_eq!(name("name", "").unwrap_err().0, "ValidationException");
        assert!(input_size(&"x".repeat(MAX_INPUT_BYTES)).is_ok());
        assert_eq!(input_size(&"x".repeat(MAX_INPUT_BYTES + 1)).unwrap_err().0, "InvalidExecutionInput");
    }
}
