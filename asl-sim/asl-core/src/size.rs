//! The UTF-8 size of a value's JSON text, computed without building the text.

use serde_json::Value;

/// Bytes of `v` serialised compactly; stops counting past the payload quota.
pub fn json_len(v: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match v {
        Value::Null => 4,
        Value::Bool(b) => if *b { 4 } else { 5 },
        _ => {
            let mut c = Counter(0);
            let _ = serde_json::to_writer(&mut c, v);
            c.0
        }
    }
}
