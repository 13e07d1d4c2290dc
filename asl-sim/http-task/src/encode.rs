//! URL encoding of a JSON object, as the HTTP Task's `Transform` applies it to a request body
//! ("Apply URL-encoding on request body",
//! https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html#url-encode-request-body).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// `RequestEncodingOptions.ArrayFormat`. AWS's page gives, for `{"array": ["a","b","c","d"]}`:
/// INDICES `array[0]=a&array[1]=b&...` (the default), REPEAT `array=a&array=b&...`,
/// COMMAS `array=a,b,c,d`, BRACKETS `array[]=a&array[]=b&...`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArrayFormat {
    #[default]
    Indices,
    Repeat,
    Commas,
    Brackets,
}

impl ArrayFormat {
    pub fn parse(s: &str) -> Option<ArrayFormat> {
        Some(match s {
            "INDICES" => ArrayFormat::Indices,
            "REPEAT" => ArrayFormat::Repeat,
            "COMMAS" => ArrayFormat::Commas,
            "BRACKETS" => ArrayFormat::Brackets,
            _ => return None,
        })
    }
}

/// Everything but RFC 3986's unreserved characters and the comma is escaped. The comma (of
/// COMMAS) and the brackets of nested keys stay literal, as AWS's examples print them; both are
/// legal in a query or form body and servers decode both spellings alike.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b',');

fn escape(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        // AWS's page is silent on null; an empty value is what form encoders (qs) write.
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// The `(key, value)` pairs of an object, keys already carrying their brackets.
pub fn pairs(v: &Value, format: ArrayFormat) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            push(k.clone(), v, format, &mut out);
        }
    }
    out
}

fn push(key: String, v: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                push(format!("{key}[{k}]"), v, format, out);
            }
        }
        Value::Array(items) => {
            // COMMAS can only join scalars; arrays holding objects or arrays fall back to indices.
            if format == ArrayFormat::Commas && items.iter().all(|i| scalar(i).is_some()) {
                let joined: Vec<String> = items.iter().filter_map(scalar).collect();
                out.push((key, joined.join(",")));
                return;
            }
            for (i, item) in items.iter().enumerate() {
                let k = match format {
                    ArrayFormat::Repeat => key.clone(),
                    ArrayFormat::Brackets => format!("{key}[]"),
                    ArrayFormat::Indices | ArrayFormat::Commas => format!("{key}[{i}]"),
                };
                push(k, item, format, out);
            }
        }
        other => out.push((key, scalar(other).unwrap_or_default())),
    }
}

/// `k=v&k=v`, each part percent-encoded (the brackets of nested keys kept).
pub fn join(pairs: &[(String, String)]) -> String {
    let escape_key = |k: &str| -> String {
        // Escape each segment between brackets, keep the brackets themselves.
        let mut s = String::new();
        let mut rest = k;
        while let Some(i) = rest.find(['[', ']']) {
            s.push_str(&escape(&rest[..i]));
            s.push_str(&rest[i..i + 1]);
            rest = &rest[i + 1..];
        }
        s.push_str(&escape(rest));
        s
    };
    pairs.iter().map(|(k, v)| format!("{}={}", escape_key(k), escape(v))).collect::<Vec<_>>().join("&")
}

/// The URL-encoded form of a request body object.
pub fn url_encode(v: &Value, format: ArrayFormat) -> String {
    join(&pairs(v, format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Source: "Apply URL-encoding on request body",
    /// https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html#url-encode-request-body
    #[test]
    fn array_formats_as_aws_documents_them() {
        let body = json!({"array": ["a", "b", "c", "d"]});
        let cases = [
            ("INDICES", "array[0]=a&array[1]=b&array[2]=c&array[3]=d"),
            ("REPEAT", "array=a&array=b&array=c&array=d"),
            ("COMMAS", "array=a,b,c,d"),
            ("BRACKETS", "array[]=a&array[]=b&array[]=c&array[]=d"),
        ];
        for (name, want) in cases {
            let f = ArrayFormat::parse(name).unwrap();
            assert_eq!(url_encode(&body, f), want, "{name}");
        }
        assert_eq!(ArrayFormat::default(), ArrayFormat::Indices);
        assert_eq!(ArrayFormat::parse("indices"), None);
    }

    #[test]
    fn scalars_nesting_and_escaping() {
        let body = json!({"name": "Jane Doe", "n": 1.5, "ok": true, "none": null, "addr": {"city": "São Paulo", "zip": "01000"},
            "tags": [{"k": "a&b"}], "e=q": "x+y"});
        assert_eq!(
            url_encode(&body, ArrayFormat::Indices),
            "name=Jane%20Doe&n=1.5&ok=true&none=&addr[city]=S%C3%A3o%20Paulo&addr[zip]=01000&tags[0][k]=a%26b&e%3Dq=x%2By"
        );
        // COMMAS cannot join objects: indices instead.
        assert_eq!(url_encode(&json!({"t": [{"k": 1}]}), ArrayFormat::Commas), "t[0][k]=1");
        assert_eq!(url_encode(&json!({}), ArrayFormat::Repeat), "");
    }
}
