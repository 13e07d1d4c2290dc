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
        // Point inside the expression: the offset counts from the start of the field's text.
        Err(e) => Err(match e.position {
            Some(p) => format!("{e} (at character {} of the field)", p + 2),
            None => e.to_string(),
        }),
    })
}
