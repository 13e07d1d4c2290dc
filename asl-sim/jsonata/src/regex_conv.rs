//! Translate JavaScript regular-expression syntax to the `regex` crate's syntax where they differ.

pub(crate) fn convert(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            match n {
                'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                'D' => out.push_str(if in_class { "\\D" } else { "[^0-9]" }),
                'w' => out.push_str(if in_class { "0-9A-Za-z_" } else { "[0-9A-Za-z_]" }),
                'W' => out.push_str(if in_class { "\\W" } else { "[^0-9A-Za-z_]" }),
                '/' => out.push('/'),
                '-' => out.push_str("\\-"),
                'u' if i + 6 <= chars.len() && chars[i + 2..i + 6].iter().all(|c| c.is_ascii_hexdigit()) => {
                    let hex: String = chars[i + 2..i + 6].iter().collect();
                    out.push_str(&format!("\\x{{{}}}", hex));
                    i += 6;
                    continue;
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            } else if c == '[' {
                out.push('\\');
            }
            out.push(c);
        } else {
            if c == '[' {
                in_class = true;
                out.push(c);
                if i + 1 < chars.len() && chars[i + 1] == '^' {
                    out.push('^');
                    i += 1;
                }
                if i + 1 < chars.len() && chars[i + 1] == ']' {
                    out.push_str("\\]");
                    i += 1;
                }
            } else if c == '.' {
                // JavaScript's `.` stops at every line terminator, not only at \n
                out.push_str("[^\\n\\r\\x{2028}\\x{2029}]");
            } else {
                out.push(c);
            }
        }
        i += 1;
    }
    out
}

/// A JavaScript-flavoured regular expression (lookaround and backreferences included).
#[derive(Debug, Clone)]
pub(crate) struct JsRegex {
    re: fancy_regex::Regex,
    source: String,
}

impl JsRegex {
    pub fn new(pattern: &str, flags: &str) -> Result<JsRegex, String> {
        let mut p = String::new();
        if flags.contains('i') || flags.contains('m') {
            p.push_str("(?");
            if flags.contains('i') {
                p.push('i');
            }
            if flags.contains('m') {
                p.push('m');
            }
            p.push(')');
        }
        p.push_str(&convert(pattern));
        let re = fancy_regex::RegexBuilder::new(&p).backtrack_limit(1_000_000).build().map_err(|e| e.to_string())?;
        Ok(JsRegex { re, source: pattern.to_string() })
    }
    /// Captures of the first match starting at or after byte offset `pos`.
    pub fn captures_at<'t>(&self, s: &'t str, pos: usize) -> Option<fancy_regex::Captures<'t, str>> {
        self.re.captures_from_pos(s, pos).ok().flatten()
    }
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s).unwrap_or(false)
    }
    pub fn as_str(&self) -> &str {
        &self.source
    }
}
