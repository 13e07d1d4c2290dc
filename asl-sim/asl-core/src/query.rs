//! The bridge to JSONata: recognising `{% … %}` templates and holding their
//! parsed expressions.

/// A parsed JSONata expression with its source (for messages).
#[derive(Debug)]
pub struct JsonataExpr {
    pub src: String,
    pub parsed: jsonata::Expression,
}

/// `None` when `s` is not a `{% … %}` template; otherwise the parsed
/// expression or the parse error as text.
pub fn jsonata_template(s: &str) -> Option<Result<JsonataExpr, String>> {
    // AWS treats a string as an expression only when it starts with `{%` and
    // ends with `%}` exactly: " {% x %} " is a plain string.
    let inner = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(match jsonata::parse(inner) {
        Ok(parsed) => Ok(JsonataExpr { src: inner.to_string(), parsed }),
        Err(e) => Err(e.to_string()),
    })
}
