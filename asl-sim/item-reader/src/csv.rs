//! Delimited text ("ItemReader (Map)", ReaderConfig: CSVHeaderLocation FIRST_ROW or GIVEN with
//! CSVHeaders; CSVDelimiter COMMA, PIPE, SEMICOLON, SPACE, TAB). Every value is a string; a
//! row with fewer fields than headers fills the rest with "", extra fields are dropped
//! (both recorded on AWS in the conformance cases).

use crate::{failed, Failure};
use serde_json::{Map, Value};

fn split_line(line: &str, delim: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if cur.is_empty() && !quoted => quoted = true,
            '"' if quoted => quoted = false,
            c if c == delim && !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

pub(crate) fn rows(text: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    let delim = match config.get("CSVDelimiter").and_then(Value::as_str).unwrap_or("COMMA") {
        "COMMA" => ',',
        "PIPE" => '|',
        "SEMICOLON" => ';',
        "SPACE" => ' ',
        "TAB" => '\t',
        other => other.chars().next().unwrap_or(','),
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).peekable();
    let headers: Vec<String> = match config.get("CSVHeaderLocation").and_then(Value::as_str).unwrap_or("FIRST_ROW") {
        "GIVEN" => config
            .get("CSVHeaders")
            .and_then(Value::as_array)
            .ok_or_else(|| failed("CSVHeaders must be given when CSVHeaderLocation is GIVEN"))?
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => match lines.next() {
            Some(l) => split_line(l, delim),
            None => return Ok(Vec::new()),
        },
    };
    let mut out = Vec::new();
    let rows: Vec<&str> = lines.collect();
    let n = rows.len();
    for (i, line) in rows.into_iter().enumerate() {
        // The newline that ends the file does not start another row.
        if i + 1 == n && line.is_empty() {
            break;
        }
        let fields = split_line(line, delim);
        let mut m = Map::new();
        for (j, h) in headers.iter().enumerate() {
            m.insert(h.clone(), Value::String(fields.get(j).cloned().unwrap_or_default()));
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}
