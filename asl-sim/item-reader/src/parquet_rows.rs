//! Parquet files: each row becomes one item, an object of its columns. AWS's pages do not say
//! how typed values appear in the items; numbers and booleans stay JSON numbers and booleans,
//! strings stay strings, dates and timestamps become ISO-8601 text (UTC), nested groups,
//! lists and maps become objects and arrays, anything else its text form.

use crate::{failed, Failure};
use asl_aws::time::civil_from_days;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use serde_json::{Map, Number, Value};

pub(crate) fn rows(body: &[u8]) -> Result<Vec<Value>, Failure> {
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| failed(format!("The object is not a readable Parquet file: {e}")))?;
    let iter = reader.get_row_iter(None).map_err(|e| failed(format!("The Parquet file cannot be read: {e}")))?;
    let mut out = Vec::new();
    for row in iter {
        let row = row.map_err(|e| failed(format!("A row of the Parquet file cannot be read: {e}")))?;
        out.push(row_value(&row));
    }
    Ok(out)
}

fn row_value(row: &Row) -> Value {
    let mut m = Map::new();
    for (name, field) in row.get_column_iter() {
        m.insert(name.clone(), field_value(field));
    }
    Value::Object(m)
}

fn float(f: f64) -> Value {
    // NaN and infinities have no JSON number: their text.
    Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
}

fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn timestamp_micros(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let (days, s) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let frac = if micros % 1000 == 0 { format!("{:03}", micros / 1000) } else { format!("{micros:06}") };
    format!("{}T{:02}:{:02}:{:02}.{frac}Z", date(days), s / 3600, s % 3600 / 60, s % 60)
}

fn field_value(f: &Field) -> Value {
    match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(n) => Value::from(*n),
        Field::Short(n) => Value::from(*n),
        Field::Int(n) => Value::from(*n),
        Field::Long(n) => Value::from(*n),
        Field::UByte(n) => Value::from(*n),
        Field::UShort(n) => Value::from(*n),
        Field::UInt(n) => Value::from(*n),
        Field::ULong(n) => Value::from(*n),
        Field::Float(x) => float(f64::from(*x)),
        Field::Double(x) => float(*x),
        Field::Str(s) => Value::String(s.clone()),
        Field::Date(d) => Value::String(date(i64::from(*d))),
        Field::TimestampMillis(ms) => Value::String(timestamp_micros(ms.saturating_mul(1000))),
        Field::TimestampMicros(us) => Value::String(timestamp_micros(*us)),
        Field::Group(row) => row_value(row),
        Field::ListInternal(list) => Value::Array(list.elements().iter().map(field_value).collect()),
        Field::MapInternal(map) => {
            let mut m = Map::new();
            for (k, v) in map.entries() {
                let key = match k {
                    Field::Str(s) => s.clone(),
                    other => other.to_string(),
                };
                m.insert(key, field_value(v));
            }
            Value::Object(m)
        }
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => Value::String(f.to_string()),
        },
        // Decimals keep every digit as text; times of day and half floats as parquet prints them.
        other => Value::String(other.to_string().trim_matches('"').to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_000), "2022-01-08");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(timestamp_micros(1_668_558_572_000_000), "2022-11-16T00:29:32.000Z");
        assert_eq!(timestamp_micros(1_500_001), "1970-01-01T00:00:01.500001Z");
    }
}
