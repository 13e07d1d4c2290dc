//! Date/time and integer picture formatting ($fromMillis, $toMillis, $formatInteger, $parseInteger).
use crate::value::Value;
use crate::Error;

pub(crate) fn format_integer(n: f64, _pic: &str, _pos: usize) -> Result<String, Error> {
    Ok(crate::value::fmt_number(n))
}
pub(crate) fn parse_integer(s: &str, _pic: &str, _pos: usize) -> Result<Value, Error> {
    Ok(s.parse::<f64>().map(Value::Num).unwrap_or(Value::Undefined))
}
pub(crate) fn parse_datetime(_s: &str, _pic: &str, _pos: usize) -> Result<Value, Error> {
    Ok(Value::Undefined)
}
pub(crate) fn parse_iso(_s: &str) -> Option<i64> {
    None
}
pub(crate) fn from_millis(n: f64, _pic: Option<&str>, _tz: Option<&str>, _pos: usize) -> Result<String, Error> {
    Ok(crate::value::fmt_number(n))
}
