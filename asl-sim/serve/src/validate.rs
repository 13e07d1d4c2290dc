//! Step Functions' request validation that serve shares between its Step Functions API
//! and the HTTP API's StepFunctions integrations: execution names and input sizes.

/// An execution's (or state machine's) name, as StartExecution documents it
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html):
/// 1 to 80 characters, none of whitespace, `< > { } [ ]`, `? *`,
/// `" # % \ ^ | ~ ` $ & , ; : /` or control characters (U+0000–001F, U+007F–009F).
/// A name of the wrong characters is `InvalidName` ("Invalid Name: '…'", recorded on AWS
/// for CreateActivity). A name over 80 characters is `InvalidName` too: the Step Functions
/// API's own check (StartExecution's documented InvalidName, "The provided name is not
/// valid") and what its control plane in `sfn_control.rs` answers; AWS's recordings hold no
/// over-long execution name, so both front doors give the same answer. An empty name is
/// the model's length constraint, a ValidationException.
pub fn name(field: &str, name: &str) -> Result<(), (String, String)> {
    let n = name.chars().count();
    if n == 0 {
        return Err((
            "ValidationException".into(),
            format!("1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ));
    }
    if n > 80 {
        return Err(("InvalidName".into(), format!("Invalid Name: '{name}'")));
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
/// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). Over it is the
/// API model's length constraint, a ValidationException that names the field without its
/// (sensitive) value, worded as the Step Functions control plane (`sfn_control.rs`) words it.
pub const MAX_INPUT_BYTES: usize = 262_144;

pub fn input_size(text: &str) -> Result<(), (String, String)> {
    if text.len() > MAX_INPUT_BYTES {
        return Err((
            "ValidationException".into(),
            format!("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {MAX_INPUT_BYTES}"),
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
        assert_eq!(name("name", &long).unwrap_err(), ("InvalidName".to_string(), format!("Invalid Name: '{long}'")));
        assert_eq!(name("name", "").unwrap_err().0, "ValidationException");
        assert!(input_size(&"x".repeat(MAX_INPUT_BYTES)).is_ok());
        assert_eq!(input_size(&"x".repeat(MAX_INPUT_BYTES + 1)).unwrap_err().0, "ValidationException");
    }
}
