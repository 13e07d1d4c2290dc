//! The standard library (and the AWS Step Functions additions).

use crate::errors::make;
use crate::eval::{boolean, Builtin, Ev, Func, NativeFn, R};
use crate::signature::Signature;
use crate::value::{deep_equal, fmt_number, to_precision_num, Map, Value};
use crate::Error;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

const TABLE: &[(&str, &str, NativeFn)] = &[
    ("sum", "<a<n>:n>", f_sum),
    ("count", "<a:n>", f_count),
    ("max", "<a<n>:n>", f_max),
    ("min", "<a<n>:n>", f_min),
    ("average", "<a<n>:n>", f_average),
    ("string", "<x-b?:s>", f_string),
    ("substring", "<s-nn?:s>", f_substring),
    ("substringBefore", "<s-s:s>", f_substring_before),
    ("substringAfter", "<s-s:s>", f_substring_after),
    ("lowercase", "<s-:s>", f_lowercase),
    ("uppercase", "<s-:s>", f_uppercase),
    ("length", "<s-:n>", f_length),
    ("trim", "<s-:s>", f_trim),
    ("pad", "<s-ns?:s>", f_pad),
    ("match", "<s-f<s:o>n?:a<o>>", f_match),
    ("contains", "<s-(sf):b>", f_contains),
    ("replace", "<s-(sf)(sf)n?:s>", f_replace),
    ("split", "<s-(sf)n?:a<s>>", f_split),
    ("join", "<a<s>s?:s>", f_join),
    ("formatNumber", "<n-so?:s>", f_format_number),
    ("formatBase", "<n-n?:s>", f_format_base),
    ("formatInteger", "<n-s:s>", f_format_integer),
    ("parseInteger", "<s-s:n>", f_parse_integer),
    ("number", "<(nsb)-:n>", f_number),
    ("floor", "<n-:n>", f_floor),
    ("ceil", "<n-:n>", f_ceil),
    ("round", "<n-n?:n>", f_round),
    ("abs", "<n-:n>", f_abs),
    ("sqrt", "<n-:n>", f_sqrt),
    ("power", "<n-n:n>", f_power),
    ("random", "<n?:n>", f_random),
    ("boolean", "<x-:b>", f_boolean),
    ("not", "<x-:b>", f_not),
    ("map", "<af>", f_map),
    ("zip", "<a+>", f_zip),
    ("filter", "<af>", f_filter),
    ("single", "<af?>", f_single),
    ("reduce", "<afj?:j>", f_reduce),
    ("sift", "<o-f?:o>", f_sift),
    ("keys", "<x-:a<s>>", f_keys),
    ("lookup", "<x-s:x>", f_lookup),
    ("append", "<xx:a>", f_append),
    ("exists", "<x:b>", f_exists),
    ("spread", "<x-:a<o>>", f_spread),
    ("merge", "<a<o>:o>", f_merge),
    ("reverse", "<a:a>", f_reverse),
    ("each", "<o-f:a>", f_each),
    ("error", "<s?:x>", f_error),
    ("assert", "<bs?:x>", f_assert),
    ("type", "<x:s>", f_type),
    ("sort", "<af?:a>", f_sort),
    ("shuffle", "<a:a>", f_shuffle),
    ("distinct", "<x:x>", f_distinct),
    ("base64encode", "<s-:s>", f_base64encode),
    ("base64decode", "<s-:s>", f_base64decode),
    ("encodeUrlComponent", "<s-:s>", f_encode_url_component),
    ("encodeUrl", "<s-:s>", f_encode_url),
    ("decodeUrlComponent", "<s-:s>", f_decode_url_component),
    ("decodeUrl", "<s-:s>", f_decode_url),
    ("eval", "<sx?:x>", f_eval),
    ("toMillis", "<s-s?:n>", f_to_millis),
    ("fromMillis", "<n-s?s?:s>", f_from_millis),
    ("clone", "<(oa)-:o>", f_clone),
    ("now", "<s?s?:s>", f_now),
    ("millis", "<:n>", f_millis),
    // AWS Step Functions additions
    ("partition", "<an:a>", f_partition),
    ("range", "<nnn?:a>", f_range),
    ("hash", "<s-s?:s>", f_hash),
    ("uuid", "<:s>", f_uuid),
    ("parse", "<s-:j>", f_parse),
];

static BUILTINS: OnceLock<HashMap<&'static str, Builtin>> = OnceLock::new();

pub(crate) fn lookup(name: &str) -> Option<&'static Builtin> {
    let m = BUILTINS.get_or_init(|| {
        TABLE
            .iter()
            .map(|(n, s, f)| (*n, Builtin { name: n, sig: Signature::parse(s).expect("builtin signature"), f: *f }))
            .collect()
    });
    m.get(name)
}

pub(crate) fn strip_output(v: Value) -> Value {
    v
}

fn e(code: &str, pos: usize) -> Error {
    make(code, Some(pos), None, None)
}

fn ev(code: &str, pos: usize, v: &str) -> Error {
    make(code, Some(pos), None, Some(v))
}

fn arg(args: &[Value], i: usize) -> &Value {
    // callers pad the argument list (see eval::apply_func), so this is in range
    &args[i.min(args.len() - 1)]
}

fn opt_num(args: &[Value], i: usize) -> Option<f64> {
    arg(args, i).num()
}

/// Argument `i` as a count limit ($match, $replace, $split): absent, or a number that must
/// not be negative (error `code`).
fn opt_limit(args: &[Value], i: usize, code: &str, pos: usize) -> Result<Option<usize>, Error> {
    match opt_num(args, i) {
        Some(l) if l < 0.0 => Err(e(code, pos)),
        limit => Ok(limit.map(|l| l as usize)),
    }
}

pub(crate) fn cmp_js_str(a: &str, b: &str) -> std::cmp::Ordering {
    // JavaScript compares UTF-16 code units
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

// ------------------------------------------------------------------ JSON stringify

fn json_quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn stringify(v: &Value, pretty: bool, indent: usize, out: &mut String) -> Result<(), Error> {
    // Checked before each value (each at most a string of the input) so a huge or hugely shared
    // value stops near the limit instead of being written out whole.
    if out.len() > crate::limits::MAX_STRING_BYTES {
        return Err(crate::limits::too_big("$string", out.len() as u128, "bytes", crate::limits::MAX_STRING_BYTES, None));
    }
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || stringify_inner(v, pretty, indent, out))
}

fn stringify_inner(v: &Value, pretty: bool, indent: usize, out: &mut String) -> Result<(), Error> {
    match v {
        Value::Undefined | Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Num(n) => {
            if !n.is_finite() {
                return Err(make("D1001", None, None, Some(&fmt_number(*n))));
            } else {
                out.push_str(&fmt_number(to_precision_num(*n, 15)));
            }
        }
        Value::Str(s) => json_quote(s, out),
        Value::Func(_) => out.push_str("\"\""),
        Value::Arr(a) => {
            if a.items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in a.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                stringify(x, pretty, indent + 1, out)?;
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push(']');
        }
        Value::Obj(o) => {
            let entries: Vec<_> = o.iter().filter(|(_, v)| !v.is_undef()).collect();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                json_quote(k, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                stringify(x, pretty, indent + 1, out)?;
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push('}');
        }
    }
    Ok(())
}

pub(crate) fn to_string(v: &Value, pretty: bool) -> Result<String, Error> {
    Ok(match v {
        Value::Str(s) => s.to_string(),
        Value::Func(_) => String::new(),
        Value::Num(n) if !n.is_finite() => return Err(make("D3001", None, None, Some(&fmt_number(*n)))),
        Value::Arr(a) if a.outer && !a.items.is_empty() => return to_string(&a.items[0], pretty),
        v => {
            let mut s = String::new();
            stringify(v, pretty, 0, &mut s)?;
            if s.len() > crate::limits::MAX_STRING_BYTES {
                return Err(crate::limits::too_big("$string", s.len() as u128, "bytes", crate::limits::MAX_STRING_BYTES, None));
            }
            s
        }
    })
}

// ------------------------------------------------------------------ aggregates

fn nums(v: &Value) -> Vec<f64> {
    match v {
        Value::Arr(a) => a.items.iter().filter_map(|x| x.num()).collect(),
        Value::Num(n) => vec![*n],
        _ => vec![],
    }
}

fn f_sum(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    if arg(a, 0).is_undef() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Num(nums(arg(a, 0)).iter().sum()))
}
fn f_count(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(Value::Num(match arg(a, 0) {
        Value::Undefined => 0.0,
        Value::Arr(x) => x.items.len() as f64,
        _ => 1.0,
    }))
}
fn f_max(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let n = nums(arg(a, 0));
    if n.is_empty() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Num(n.into_iter().fold(f64::NEG_INFINITY, f64::max)))
}
fn f_min(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let n = nums(arg(a, 0));
    if n.is_empty() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Num(n.into_iter().fold(f64::INFINITY, f64::min)))
}
fn f_average(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let n = nums(arg(a, 0));
    if n.is_empty() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Num(n.iter().sum::<f64>() / n.len() as f64))
}

// ------------------------------------------------------------------ strings

fn f_string(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let pretty = matches!(arg(a, 1), Value::Bool(true));
    Ok(Value::string(to_string(v, pretty).map_err(|mut x| {
        x.position = Some(pos);
        x
    })?))
}

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn js_slice_idx(i: f64, len: usize) -> usize {
    let i = if i.is_nan() { 0.0 } else { i.trunc() };
    if i < 0.0 {
        (len as f64 + i).max(0.0) as usize
    } else {
        (i as usize).min(len)
    }
}

fn f_substring(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let cs = chars_of(s);
    let len = cs.len();
    let mut start = opt_num(a, 1).unwrap_or(0.0);
    if len as f64 + start < 0.0 {
        start = 0.0;
    }
    if let Some(l) = opt_num(a, 2) {
        if l <= 0.0 {
            return Ok(Value::str(""));
        }
        let end = if start >= 0.0 { start + l } else { len as f64 + start + l };
        let (s0, e0) = (js_slice_idx(start, len), js_slice_idx(end, len));
        if s0 >= e0 {
            return Ok(Value::str(""));
        }
        return Ok(Value::string(cs[s0..e0].iter().collect()));
    }
    let s0 = js_slice_idx(start, len);
    Ok(Value::string(cs[s0..].iter().collect()))
}

fn f_substring_before(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let Value::Str(c) = arg(a, 1) else { return Ok(Value::Str(s.clone())) };
    Ok(match s.find(&**c) {
        Some(p) => Value::str(&s[..p]),
        None => Value::Str(s.clone()),
    })
}
fn f_substring_after(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let Value::Str(c) = arg(a, 1) else { return Ok(Value::Str(s.clone())) };
    Ok(match s.find(&**c) {
        Some(p) => Value::str(&s[p + c.len()..]),
        None => Value::Str(s.clone()),
    })
}
fn f_lowercase(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::string(s.to_lowercase()))
}
fn f_uppercase(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::string(s.to_uppercase()))
}
fn f_length(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::Num(s.chars().count() as f64))
}
fn f_trim(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let mut out = String::new();
    let mut in_ws = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            in_ws = false;
            out.push(c);
        }
    }
    let out = out.strip_prefix(' ').unwrap_or(&out);
    let out = out.strip_suffix(' ').unwrap_or(out);
    Ok(Value::str(out))
}
fn f_pad(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let width = opt_num(a, 1).unwrap_or(0.0);
    let ch = match arg(a, 2) {
        Value::Str(c) if !c.is_empty() => c.to_string(),
        _ => " ".to_string(),
    };
    let len = s.chars().count() as f64;
    let pad_len = width.abs().trunc() - len;
    if pad_len > 0.0 {
        // Size the result before building it: a width of 1e9 would allocate a gigabyte and one
        // near 2^63 overflow the capacity. Whole cycles of the padding text, then a prefix of it.
        let cycle_chars = ch.chars().count() as f64;
        let whole = (pad_len / cycle_chars).floor();
        let rest = (pad_len - whole * cycle_chars) as usize;
        let rest_bytes: usize = ch.chars().take(rest).map(char::len_utf8).sum();
        let bytes = s.len() as f64 + whole * ch.len() as f64 + rest_bytes as f64;
        crate::limits::check_string("$pad", bytes.min(u128::MAX as f64) as u128, pos)?;
        let padding: String = ch.chars().cycle().take(pad_len as usize).collect();
        Ok(Value::string(if width > 0.0 { format!("{}{}", s, padding) } else { format!("{}{}", padding, s) }))
    } else {
        Ok(Value::Str(s.clone()))
    }
}

// ------------------------------------------------------------------ regex helpers

pub(crate) struct RMatch {
    pub start: usize, // byte offsets into the subject
    pub end: usize,
    pub text: String,
    pub index: f64, // character index of the match
    pub groups: Vec<Value>,
}

fn char_index(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

fn rmatch_from(s: &str, c: &fancy_regex::Captures<'_, str>) -> RMatch {
    let m = c.get(0).unwrap();
    RMatch {
        start: m.start(),
        end: m.end(),
        text: m.as_str().to_string(),
        index: char_index(s, m.start()) as f64,
        groups: (1..c.len()).map(|i| c.get(i).map(|g| Value::str(g.as_str())).unwrap_or(Value::Undefined)).collect(),
    }
}

/// All successive matches, as jsonata's regex closure + next() would produce them.
pub(crate) fn regex_all(re: &crate::regex_conv::JsRegex, s: &str, limit: Option<usize>, pos: usize) -> Result<Vec<RMatch>, Error> {
    let mut out = vec![];
    let mut last = 0usize;
    let mut first = true;
    loop {
        if let Some(l) = limit {
            if out.len() >= l {
                break;
            }
        }
        if !first && last >= s.len() {
            break;
        }
        let Some(c) = re.captures_at(s, last) else { break };
        let m = c.get(0).unwrap();
        if !first && m.start() == m.end() {
            return Err(ev("D1004", pos, re.as_str()));
        }
        out.push(rmatch_from(s, &c));
        last = m.end();
        first = false;
    }
    Ok(out)
}

fn match_value(m: &RMatch, with_index: bool) -> Value {
    let mut o = Map::new();
    o.insert(Rc::from("match"), Value::str(&m.text));
    if with_index {
        o.insert(Rc::from("index"), Value::Num(m.index));
    } else {
        o.insert(Rc::from("start"), Value::Num(m.index));
        o.insert(Rc::from("end"), Value::Num(m.index + m.text.chars().count() as f64));
    }
    o.insert(Rc::from("groups"), Value::array(m.groups.clone()));
    Value::Obj(Rc::new(o))
}

pub(crate) fn regex_match_object(
    re: &std::sync::Arc<crate::parser::RegexLit>,
    s: &Rc<str>,
    from: usize,
    is_next: bool,
    pos: usize,
) -> R {
    match re.regex.captures_at(s, from) {
        Some(c) => {
            let m = rmatch_from(s, &c);
            if is_next && m.start == m.end {
                return Err(ev("D1004", pos, re.regex.as_str()));
            }
            let end = m.end;
            let Value::Obj(mut o) = match_value(&m, false) else { return Ok(Value::Undefined) };
            Rc::make_mut(&mut o)
                .insert(Rc::from("next"), Value::Func(Rc::new(Func::RegexNext(re.clone(), s.clone(), end))));
            Ok(Value::Obj(o))
        }
        None => Ok(Value::Undefined),
    }
}

fn as_regex(v: &Value) -> Option<crate::regex_conv::JsRegex> {
    match v {
        Value::Func(f) => match &**f {
            Func::Regex(r) => Some(r.regex.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Matches produced by a custom matcher function (a function argument that is not a regex):
/// it returns {match, start, end, groups, next} and next() gives the following match.
fn custom_matches(ev: &mut Ev, f: &Value, s: &str, limit: Option<usize>, pos: usize) -> Result<Vec<RMatch>, Error> {
    let mut out = vec![];
    let mut cur = ev.apply(f, vec![Value::str(s)], &Value::Undefined, pos)?;
    let byte_of = |ci: f64| {
        if ci <= 0.0 {
            0
        } else {
            s.char_indices().nth(ci as usize).map(|(b, _)| b).unwrap_or(s.len())
        }
    };
    loop {
        if let Some(l) = limit {
            if out.len() >= l {
                break;
            }
        }
        let o = match &cur {
            Value::Undefined => break,
            Value::Obj(o) => {
                let ok = matches!(o.get("start"), Some(Value::Num(_)))
                    || matches!(o.get("groups"), Some(Value::Arr(_)))
                    || matches!(o.get("next"), Some(Value::Func(_)));
                if !ok {
                    return Err(make("T1010", Some(pos), None, None));
                }
                o.clone()
            }
            v => {
                if boolean(v) == Some(false) {
                    break;
                }
                return Err(make("T1010", Some(pos), None, None));
            }
        };
        let text = o.get("match").and_then(|m| m.as_str().map(|x| x.to_string())).unwrap_or_default();
        let index = o.get("start").and_then(|x| x.num()).unwrap_or(0.0);
        let start = byte_of(index).min(s.len());
        let mut end = (start + text.len()).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        let groups = match o.get("groups") {
            Some(Value::Arr(a)) => a.items.clone(),
            _ => vec![],
        };
        out.push(RMatch { start, end, text, index, groups });
        let next = o.get("next").cloned().unwrap_or(Value::Undefined);
        if !next.is_func() {
            break;
        }
        cur = ev.apply(&next, vec![], &Value::Undefined, pos)?;
    }
    Ok(out)
}

fn f_match(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let lim = opt_limit(a, 2, "D3040", pos)?;
    let ms = match as_regex(arg(a, 1)) {
        Some(re) => regex_all(&re, s, lim, pos)?,
        None => custom_matches(ev, arg(a, 1), s, lim, pos)?,
    };
    Ok(Value::seq(ms.iter().map(|m| match_value(m, true)).collect()))
}

fn f_contains(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::Bool(match arg(a, 1) {
        Value::Str(t) => s.contains(&**t),
        f => match as_regex(f) {
            Some(re) => re.is_match(s),
            None => !custom_matches(ev, f, s, Some(1), pos)?.is_empty(),
        },
    }))
}

fn expand_replacement(rep: &str, m: &RMatch) -> String {
    let mut out = String::new();
    let r: Vec<char> = rep.chars().collect();
    let ng = m.groups.len();
    let mut i = 0;
    while i < r.len() {
        let c = r[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if i >= r.len() {
            out.push('$');
            break;
        }
        let d = r[i];
        if d == '$' {
            out.push('$');
            i += 1;
        } else if d == '0' {
            out.push_str(&m.text);
            i += 1;
        } else {
            let max_digits = if ng == 0 { 1 } else { (ng as f64).log10().floor() as usize + 1 };
            let digits: String = r[i..].iter().take(max_digits).take_while(|c| c.is_ascii_digit()).collect();
            let mut digits = digits;
            if digits.is_empty() {
                out.push('$');
                continue;
            }
            let mut idx: usize = digits.parse().unwrap_or(0);
            if max_digits > 1 && idx > ng {
                digits.pop();
                if digits.is_empty() {
                    out.push('$');
                    continue;
                }
                idx = digits.parse().unwrap_or(0);
            }
            if ng > 0 && idx >= 1 {
                if let Some(Value::Str(g)) = m.groups.get(idx - 1) {
                    out.push_str(g);
                }
            }
            i += idx.to_string().len();
        }
    }
    out
}

fn f_replace(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    if let Value::Str(p) = arg(a, 1) {
        if p.is_empty() {
            return Err(e("D3010", pos));
        }
    }
    let lim = opt_limit(a, 3, "D3011", pos)?;
    let rep = arg(a, 2).clone();
    if let Value::Str(p) = arg(a, 1) {
        let reps = match &rep {
            Value::Str(r) => r.to_string(),
            _ => String::new(),
        };
        let mut out = String::new();
        let mut rest: &str = s;
        let mut count = 0;
        while let Some(i) = rest.find(&**p) {
            if let Some(l) = lim {
                if count >= l {
                    break;
                }
            }
            crate::limits::check_string("$replace", out.len() as u128 + i as u128 + reps.len() as u128, pos)?;
            out.push_str(&rest[..i]);
            out.push_str(&reps);
            rest = &rest[i + p.len()..];
            count += 1;
        }
        out.push_str(rest);
        return Ok(Value::string(out));
    }
    let ms = match as_regex(arg(a, 1)) {
        Some(re) => regex_all(&re, s, lim, pos)?,
        None => custom_matches(ev, arg(a, 1), s, lim, pos)?,
    };
    let mut out = String::new();
    let mut last = 0;
    for m in &ms {
        crate::limits::check_string("$replace", out.len() as u128 + s.len() as u128, pos)?;
        out.push_str(&s[last..m.start.max(last)]);
        match &rep {
            Value::Str(r) => out.push_str(&expand_replacement(r, m)),
            f => {
                let mv = match_value(m, true);
                let r = ev.apply(f, vec![mv], &Value::Undefined, pos)?;
                match r {
                    Value::Str(x) => out.push_str(&x),
                    _ => return Err(e("D3012", pos)),
                }
            }
        }
        last = m.end.max(last);
    }
    out.push_str(&s[last..]);
    Ok(Value::string(out))
}

fn f_split(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let lim = opt_limit(a, 2, "D3020", pos)?;
    let mut out: Vec<Value> = vec![];
    if lim == Some(0) {
        return Ok(Value::array(out));
    }
    match arg(a, 1) {
        Value::Str(sep) => {
            if sep.is_empty() {
                out = s.chars().map(|c| Value::string(c.to_string())).collect();
            } else {
                out = s.split(&**sep).map(Value::str).collect();
            }
            if let Some(l) = lim {
                out.truncate(l);
            }
        }
        f => {
            let ms = match as_regex(f) {
                Some(re) => regex_all(&re, s, lim, pos)?,
                None => custom_matches(ev, f, s, lim, pos)?,
            };
            let mut start = 0;
            for m in &ms {
                out.push(Value::str(&s[start..m.start.max(start)]));
                start = m.end.max(start);
            }
            if lim.map(|l| ms.len() < l).unwrap_or(true) {
                out.push(Value::str(&s[start..]));
            }
        }
    }
    Ok(Value::array(out))
}

fn f_join(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let sep = arg(a, 1).as_str().unwrap_or("").to_string();
    let members = v.members();
    let bytes: u128 = members.iter().map(|x| x.as_str().map_or(0, str::len) as u128).sum::<u128>()
        + (sep.len() as u128) * (members.len().saturating_sub(1) as u128);
    crate::limits::check_string("$join", bytes, pos)?;
    let parts: Vec<&str> = members.iter().map(|x| x.as_str().unwrap_or("")).collect();
    Ok(Value::string(parts.join(&sep)))
}

fn f_format_number(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Num(n) = arg(a, 0) else { return Ok(Value::Undefined) };
    let pic = arg(a, 1).as_str().unwrap_or("").to_string();
    let opts = match arg(a, 2) {
        Value::Obj(o) => Some(o.clone()),
        _ => None,
    };
    crate::numfmt::format_number(*n, &pic, opts.as_deref(), pos).map(Value::string)
}

fn f_format_base(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Num(n) = arg(a, 0) else { return Ok(Value::Undefined) };
    let n = round_half_even(*n, 0);
    let radix = opt_num(a, 1).unwrap_or(10.0);
    if !(2.0..=36.0).contains(&radix) {
        return Err(ev("D3100", pos, &fmt_number(radix)));
    }
    let radix = radix as u32;
    let neg = n < 0.0;
    let mut x = n.abs() as u128;
    let mut digits = vec![];
    if x == 0 {
        digits.push('0');
    }
    while x > 0 {
        digits.push(std::char::from_digit((x % radix as u128) as u32, radix).unwrap());
        x /= radix as u128;
    }
    if neg {
        digits.push('-');
    }
    digits.reverse();
    Ok(Value::string(digits.into_iter().collect()))
}

fn f_format_integer(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Num(n) = arg(a, 0) else { return Ok(Value::Undefined) };
    let pic = arg(a, 1).as_str().unwrap_or("");
    crate::datetime::format_integer(*n, pic, pos).map(Value::string)
}

fn f_parse_integer(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let pic = arg(a, 1).as_str().unwrap_or("");
    crate::datetime::parse_integer(s, pic, pos)
}

// ------------------------------------------------------------------ numbers

fn f_number(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    Ok(match arg(a, 0) {
        Value::Undefined => Value::Undefined,
        Value::Num(n) => Value::Num(*n),
        Value::Bool(b) => Value::Num(if *b { 1.0 } else { 0.0 }),
        Value::Str(s) => match parse_js_number(s) {
            Some(n) => Value::Num(n),
            None => return Err(ev("D3030", pos, s)),
        },
        v => return Err(ev("D3030", pos, &to_string(v, false).unwrap_or_default())),
    })
}

fn parse_js_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let sign = usize::from(b.first() == Some(&b'-'));
    let scan = asl_aws::number::scan_decimal(b, sign);
    if scan.int_digits == 0 {
        // hex/octal/binary
        let lower = s.to_ascii_lowercase();
        for (p, r) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(rest) = lower.strip_prefix(p) {
                if !rest.is_empty() {
                    return u64::from_str_radix(rest, r).ok().map(|x| x as f64);
                }
            }
        }
        return None;
    }
    if (scan.dot && scan.frac_digits == 0) || !scan.exponent_ok {
        return None;
    }
    if scan.end != b.len() {
        let lower = s.to_ascii_lowercase();
        for (p, r) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(rest) = lower.strip_prefix(p) {
                return u64::from_str_radix(rest, r).ok().map(|x| x as f64);
            }
        }
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_finite() {
        Some(v)
    } else {
        None
    }
}

fn f_floor(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(match arg(a, 0) {
        Value::Num(n) => Value::Num(n.floor()),
        _ => Value::Undefined,
    })
}
fn f_ceil(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(match arg(a, 0) {
        Value::Num(n) => Value::Num(n.ceil()),
        _ => Value::Undefined,
    })
}
fn f_abs(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(match arg(a, 0) {
        Value::Num(n) => Value::Num(n.abs()),
        _ => Value::Undefined,
    })
}
fn f_sqrt(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    Ok(match arg(a, 0) {
        Value::Num(n) => {
            if *n < 0.0 {
                return Err(ev("D3060", pos, &fmt_number(*n)));
            }
            Value::Num(n.sqrt())
        }
        _ => Value::Undefined,
    })
}
fn f_power(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Num(b) = arg(a, 0) else { return Ok(Value::Undefined) };
    let x = opt_num(a, 1).unwrap_or(f64::NAN);
    let r = b.powf(x);
    if !r.is_finite() {
        return Err(ev("D3061", pos, &fmt_number(*b)));
    }
    Ok(Value::Num(r))
}

fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

pub(crate) fn round_half_even(arg: f64, precision: i32) -> f64 {
    let mut x = arg;
    if precision != 0 {
        let s = fmt_number(x);
        let (m, e) = match s.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
            None => (s.clone(), 0),
        };
        x = format!("{}e{}", m, e + precision).parse().unwrap_or(x);
    }
    let mut r = js_round(x);
    let diff = r - x;
    if diff.abs() == 0.5 && (r % 2.0).abs() == 1.0 {
        r -= 1.0;
    }
    if precision != 0 {
        let s = fmt_number(r);
        let (m, e) = match s.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
            None => (s.clone(), 0),
        };
        r = format!("{}e{}", m, e - precision).parse().unwrap_or(r);
    }
    if r == 0.0 {
        r = 0.0;
    }
    r
}

fn f_round(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Num(n) = arg(a, 0) else { return Ok(Value::Undefined) };
    let p = opt_num(a, 1).unwrap_or(0.0) as i32;
    Ok(Value::Num(round_half_even(*n, p)))
}

fn f_random(ev: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    if let Some(seed) = opt_num(a, 0) {
        // deterministic: splitmix64 of the seed
        let mut z = seed.to_bits().wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        return Ok(Value::Num((z >> 11) as f64 / (1u64 << 53) as f64));
    }
    Ok(Value::Num((ev.env.random)()))
}

// ------------------------------------------------------------------ booleans

fn f_boolean(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(match boolean(arg(a, 0)) {
        Some(b) => Value::Bool(b),
        None => Value::Undefined,
    })
}
fn f_not(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(match boolean(arg(a, 0)) {
        Some(b) => Value::Bool(!b),
        None => Value::Undefined,
    })
}
fn f_exists(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(Value::Bool(!arg(a, 0).is_undef()))
}

// ------------------------------------------------------------------ higher order

fn fn_arity(f: &Value) -> usize {
    match f {
        Value::Func(x) => crate::eval::arity(x),
        _ => 0,
    }
}

fn hof_args(f: &Value, a1: Value, a2: Value, a3: &Value) -> Vec<Value> {
    let n = fn_arity(f);
    let mut v = vec![a1];
    if n >= 2 {
        v.push(a2);
    }
    if n >= 3 {
        v.push(a3.clone());
    }
    v
}

fn f_map(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let arr = arg(a, 0);
    if arr.is_undef() {
        return Ok(Value::Undefined);
    }
    let f = arg(a, 1);
    let items = arr.members();
    let mut out = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        let r = ev.apply(f, hof_args(f, x.clone(), Value::Num(i as f64), arr), &Value::Undefined, pos)?;
        if !r.is_undef() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}
fn f_filter(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let arr = arg(a, 0);
    if arr.is_undef() {
        return Ok(Value::Undefined);
    }
    let f = arg(a, 1);
    let items = arr.members();
    let mut out = vec![];
    for (i, x) in items.iter().enumerate() {
        let r = ev.apply(f, hof_args(f, x.clone(), Value::Num(i as f64), arr), &Value::Undefined, pos)?;
        if boolean(&r) == Some(true) {
            out.push(x.clone());
        }
    }
    Ok(Value::seq(out))
}
fn f_single(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let arr = arg(a, 0);
    if arr.is_undef() {
        return Ok(Value::Undefined);
    }
    let f = arg(a, 1);
    let items = arr.members();
    let mut found: Option<Value> = None;
    for (i, x) in items.iter().enumerate() {
        let ok = if f.is_undef() {
            true
        } else {
            let r = ev.apply(f, hof_args(f, x.clone(), Value::Num(i as f64), arr), &Value::Undefined, pos)?;
            boolean(&r) == Some(true)
        };
        if ok {
            if found.is_some() {
                return Err(e("D3138", pos));
            }
            found = Some(x.clone());
        }
    }
    found.ok_or_else(|| e("D3139", pos))
}
fn f_reduce(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let arr = arg(a, 0);
    if arr.is_undef() {
        return Ok(Value::Undefined);
    }
    let f = arg(a, 1);
    let n = fn_arity(f);
    if n < 2 {
        return Err(e("D3050", pos));
    }
    let items = arr.members();
    let init = arg(a, 2);
    let (mut result, mut idx) =
        if init.is_undef() && !items.is_empty() { (items[0].clone(), 1) } else { (init.clone(), 0) };
    while idx < items.len() {
        let mut args = vec![result, items[idx].clone()];
        if n >= 3 {
            args.push(Value::Num(idx as f64));
        }
        if n >= 4 {
            args.push(arr.clone());
        }
        result = ev.apply(f, args, &Value::Undefined, pos)?;
        idx += 1;
    }
    Ok(result)
}
fn f_zip(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let a = &a[..a.len() - 4];
    let len = a.iter().map(|x| if let Value::Arr(v) = x { v.items.len() } else { 0 }).min().unwrap_or(0);
    let mut out = vec![];
    for i in 0..len {
        out.push(Value::array(a.iter().map(|x| x.as_arr().unwrap().items[i].clone()).collect()));
    }
    Ok(Value::array(out))
}
fn f_sift(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Obj(o) = arg(a, 0) else { return Ok(Value::Undefined) };
    let f = arg(a, 1);
    let objv = arg(a, 0).clone();
    let mut out = Map::new();
    for (k, v) in o.iter() {
        let r = ev.apply(f, hof_args(f, v.clone(), Value::Str(k.clone()), &objv), &Value::Undefined, pos)?;
        if boolean(&r) == Some(true) {
            out.insert(k.clone(), v.clone());
        }
    }
    if out.is_empty() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Obj(Rc::new(out.js_order())))
}
fn f_each(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Obj(o) = arg(a, 0) else { return Ok(Value::Undefined) };
    let f = arg(a, 1);
    let objv = arg(a, 0).clone();
    let mut out = vec![];
    for (k, v) in o.iter() {
        let r = ev.apply(f, hof_args(f, v.clone(), Value::Str(k.clone()), &objv), &Value::Undefined, pos)?;
        if !r.is_undef() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}

// ------------------------------------------------------------------ objects / arrays

fn keys_of(v: &Value, out: &mut indexmap::IndexSet<Rc<str>>) {
    match v {
        Value::Arr(a) => a.items.iter().for_each(|x| keys_of(x, out)),
        Value::Obj(o) => o.keys().for_each(|k| {
            out.insert(k.clone());
        }),
        _ => {}
    }
}
fn f_keys(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let mut ks = indexmap::IndexSet::new();
    keys_of(arg(a, 0), &mut ks);
    if matches!(arg(a, 0), Value::Arr(_)) {
        // the keys of an array of objects are gathered in an object, hence JavaScript's order
        let mut m = Map::new();
        for k in ks {
            m.insert(k, Value::Null);
        }
        return Ok(Value::seq(m.js_order().keys().cloned().map(Value::Str).collect()));
    }
    Ok(Value::seq(ks.into_iter().map(Value::Str).collect()))
}
fn f_lookup(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let k = arg(a, 1).as_str().unwrap_or("").to_string();
    Ok(crate::eval::lookup_key(arg(a, 0), &k))
}
fn f_append(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    crate::eval::append_checked(arg(a, 0).clone(), arg(a, 1).clone(), pos)
}
fn spread_into(v: &Value, out: &mut Vec<Value>) -> bool {
    match v {
        Value::Arr(a) => {
            for x in &a.items {
                if !spread_into(x, out) {
                    out.push(x.clone());
                }
            }
            true
        }
        Value::Obj(o) => {
            for (k, x) in o.iter() {
                let mut m = Map::new();
                m.insert(k.clone(), x.clone());
                out.push(Value::Obj(Rc::new(m)));
            }
            true
        }
        _ => false,
    }
}
fn f_spread(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    match v {
        Value::Arr(_) | Value::Obj(_) => {
            let mut out = vec![];
            spread_into(v, &mut out);
            Ok(Value::seq(out))
        }
        v => Ok(v.clone()),
    }
}
fn f_merge(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let mut m = Map::new();
    for o in v.members() {
        if let Value::Obj(o) = o {
            for (k, x) in o.iter() {
                m.insert(k.clone(), x.clone());
            }
        }
    }
    Ok(Value::Obj(Rc::new(m.js_order())))
}
fn f_reverse(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    match v {
        Value::Undefined => Ok(Value::Undefined),
        Value::Arr(x) if x.items.len() <= 1 => Ok(v.clone()),
        _ => {
            let mut items = v.members();
            items.reverse();
            Ok(Value::array(items))
        }
    }
}
fn f_error(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let msg = arg(a, 0).as_str().unwrap_or("$error() function evaluated").to_string();
    Err(ev("D3137", pos, &msg))
}
fn f_assert(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    if !matches!(arg(a, 0), Value::Bool(true)) {
        let msg = arg(a, 1).as_str().unwrap_or("$assert() statement failed").to_string();
        return Err(ev("D3141", pos, &msg));
    }
    Ok(Value::Undefined)
}
fn f_type(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    Ok(Value::str(v.type_name()))
}

fn merge_sort(ev: &mut Ev, items: Vec<Value>, cmp: &mut dyn FnMut(&mut Ev, &Value, &Value) -> Result<bool, Error>) -> Result<Vec<Value>, Error> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mid = items.len() / 2;
    let mut left = items;
    let right = left.split_off(mid);
    let l = merge_sort(ev, left, cmp)?;
    let r = merge_sort(ev, right, cmp)?;
    let mut out = Vec::with_capacity(l.len() + r.len());
    let (mut i, mut j) = (0, 0);
    while i < l.len() && j < r.len() {
        if cmp(ev, &l[i], &r[j])? {
            out.push(r[j].clone());
            j += 1;
        } else {
            out.push(l[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&l[i..]);
    out.extend_from_slice(&r[j..]);
    Ok(out)
}

fn f_sort(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let items = v.members();
    if items.len() <= 1 {
        return Ok(v.clone());
    }
    let f = arg(a, 1).clone();
    if f.is_undef() {
        let all_num = items.iter().all(|x| matches!(x, Value::Num(_)));
        let all_str = items.iter().all(|x| matches!(x, Value::Str(_)));
        if !all_num && !all_str {
            return Err(e("D3070", pos));
        }
        let mut items = items;
        if all_num {
            items.sort_by(|x, y| x.num().unwrap().partial_cmp(&y.num().unwrap()).unwrap_or(std::cmp::Ordering::Equal));
        } else {
            items.sort_by(|x, y| cmp_js_str(x.as_str().unwrap(), y.as_str().unwrap()));
        }
        return Ok(Value::array(items));
    }
    let mut cmp = |ev: &mut Ev, x: &Value, y: &Value| -> Result<bool, Error> {
        let r = ev.apply(&f, vec![x.clone(), y.clone()], &Value::Undefined, pos)?;
        Ok(match r {
            Value::Bool(b) => b,
            Value::Undefined | Value::Null => false,
            Value::Num(n) => n != 0.0 && !n.is_nan(),
            Value::Str(s) => !s.is_empty(),
            _ => true,
        })
    };
    Ok(Value::array(merge_sort(ev, items, &mut cmp)?))
}

fn f_shuffle(ev: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let mut items = v.members();
    if items.len() <= 1 {
        return Ok(v.clone());
    }
    for i in (1..items.len()).rev() {
        let j = (((ev.env.random)()) * (i as f64 + 1.0)).floor() as usize;
        items.swap(i, j.min(i));
    }
    Ok(Value::array(items))
}

fn f_distinct(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let v = arg(a, 0);
    let Value::Arr(arr) = v else { return Ok(v.clone()) };
    if arr.items.len() <= 1 {
        return Ok(v.clone());
    }
    let mut out: Vec<Value> = vec![];
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for x in &arr.items {
        match x {
            Value::Str(s) => {
                if seen.insert(format!("s{}", s)) {
                    out.push(x.clone());
                }
            }
            Value::Num(n) => {
                if seen.insert(format!("n{}", if *n == 0.0 { 0.0 } else { *n })) {
                    out.push(x.clone());
                }
            }
            Value::Bool(b) => {
                if seen.insert(format!("b{}", b)) {
                    out.push(x.clone());
                }
            }
            Value::Null => {
                if seen.insert("l".into()) {
                    out.push(x.clone());
                }
            }
            _ => {
                if !out.iter().any(|y| deep_equal(x, y)) {
                    out.push(x.clone());
                }
            }
        }
    }
    Ok(if arr.seq { Value::seq(out) } else { Value::array(out) })
}

fn f_clone(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    Ok(crate::eval::deep_clone(arg(a, 0)))
}

// ------------------------------------------------------------------ encoding

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn f_base64encode(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { B64[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { B64[n as usize & 63] as char } else { '=' });
    }
    Ok(Value::string(out))
}
fn f_base64decode(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = vec![];
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits = bits << 6 | v as u32;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Ok(Value::string(String::from_utf8_lossy(&out).into_owned()))
}

fn encode_uri(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{:02X}", b));
            }
        }
    }
    out
}
fn decode_uri(s: &str, reserved: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = vec![];
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            let v = u8::from_str_radix(h, 16).ok()?;
            if v < 0x80 && reserved.contains(v as char) {
                out.extend_from_slice(&b[i..i + 3]);
            } else {
                out.push(v);
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
fn f_encode_url_component(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::string(encode_uri(s, "")))
}
fn f_encode_url(_: &mut Ev, a: &[Value], _: &Value, _: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    Ok(Value::string(encode_uri(s, ";,/?:@&=+$#")))
}
fn f_decode_url_component(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    decode_uri(s, "").map(Value::string).ok_or_else(|| ev("D3140", pos, s))
}
fn f_decode_url(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    decode_uri(s, ";,/?:@&=+$#").map(Value::string).ok_or_else(|| ev("D3140", pos, s))
}

// ------------------------------------------------------------------ eval

fn f_eval(ev: &mut Ev, a: &[Value], input: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let mut inp = input.clone();
    let focus = arg(a, 1);
    if !focus.is_undef() {
        inp = focus.clone();
        if let Value::Arr(x) = &inp {
            if !x.seq {
                inp = Value::arr_with(vec![inp.clone()], |a| {
                    a.seq = true;
                    a.outer = true
                });
            }
        }
    }
    let parsed = crate::parser::parse(s).map_err(|x| ev_err("D3120", pos, &x.message))?;
    let env = ev.call_env.clone().unwrap_or_else(|| crate::eval::Frame::new(None));
    ev.eval(&parsed.root, &inp, &env).map_err(|x| ev_err("D3121", pos, &x.message))
}
fn ev_err(code: &str, pos: usize, m: &str) -> Error {
    ev(code, pos, m)
}

// ------------------------------------------------------------------ date/time

fn f_to_millis(evr: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    match arg(a, 1) {
        Value::Str(p) => crate::datetime::parse_datetime(s, p, pos, evr.env.now_millis as f64),
        _ => crate::datetime::parse_iso(s).map(|m| Value::Num(m as f64)).ok_or_else(|| ev("D3110", pos, s)),
    }
}
fn f_from_millis(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Num(n) = arg(a, 0) else { return Ok(Value::Undefined) };
    let pic = arg(a, 1).as_str().map(|s| s.to_string());
    let tz = arg(a, 2).as_str().map(|s| s.to_string());
    Ok(crate::datetime::from_millis(*n, pic.as_deref(), tz.as_deref(), pos)?.map(Value::string).unwrap_or(Value::Undefined))
}
fn f_now(ev: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let pic = arg(a, 0).as_str().map(|s| s.to_string());
    let tz = arg(a, 1).as_str().map(|s| s.to_string());
    Ok(crate::datetime::from_millis(ev.env.now_millis as f64, pic.as_deref(), tz.as_deref(), pos)?.map(Value::string).unwrap_or(Value::Undefined))
}
fn f_millis(ev: &mut Ev, _: &[Value], _: &Value, _: usize) -> R {
    Ok(Value::Num(ev.env.now_millis as f64))
}

// ------------------------------------------------------------------ AWS additions

fn f_partition(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let v = arg(a, 0);
    if v.is_undef() {
        return Ok(Value::Undefined);
    }
    let size = opt_num(a, 1).unwrap_or(0.0);
    if size < 1.0 || size.fract() != 0.0 {
        return Err(ev("D3137", pos, "The size argument of $partition must be a positive integer"));
    }
    let items = v.members();
    Ok(Value::array(items.chunks(size as usize).map(|c| Value::array(c.to_vec())).collect()))
}
fn f_range(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let (Some(s), Some(en)) = (opt_num(a, 0), opt_num(a, 1)) else { return Ok(Value::Undefined) };
    let step = opt_num(a, 2).unwrap_or(1.0);
    if step == 0.0 || !step.is_finite() {
        return Err(ev("D3137", pos, "The step argument of $range must be a non-zero number"));
    }
    let count = ((en - s) / step).floor() + 1.0;
    if count > 1e7 {
        return Err(ev("D2014", pos, &fmt_number(count)));
    }
    let mut out = vec![];
    if count >= 1.0 {
        for i in 0..(count as usize) {
            out.push(Value::Num(s + step * i as f64));
        }
    }
    Ok(Value::array(out))
}
fn f_hash(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    use md5::Digest;
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    let alg = arg(a, 1).as_str().unwrap_or("SHA-256").to_string();
    let bytes: Vec<u8> = match alg.as_str() {
        "MD5" => md5::Md5::digest(s.as_bytes()).to_vec(),
        "SHA-1" => sha1::Sha1::digest(s.as_bytes()).to_vec(),
        "SHA-256" => sha2::Sha256::digest(s.as_bytes()).to_vec(),
        "SHA-384" => sha2::Sha384::digest(s.as_bytes()).to_vec(),
        "SHA-512" => sha2::Sha512::digest(s.as_bytes()).to_vec(),
        _ => return Err(ev("D3137", pos, &format!("Unsupported hash algorithm: {}", alg))),
    };
    Ok(Value::string(bytes.iter().map(|b| format!("{:02x}", b)).collect()))
}
fn f_uuid(ev: &mut Ev, _: &[Value], _: &Value, _: usize) -> R {
    let mut b = [0u8; 16];
    for x in b.iter_mut() {
        *x = (((ev.env.random)()) * 256.0).floor().clamp(0.0, 255.0) as u8;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{:02x}", x)).collect();
    Ok(Value::string(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])))
}
fn f_parse(_: &mut Ev, a: &[Value], _: &Value, pos: usize) -> R {
    let Value::Str(s) = arg(a, 0) else { return Ok(Value::Undefined) };
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(j) => Ok(crate::value::from_json(&j)),
        Err(x) => Err(ev("D3137", pos, &format!("Unable to parse JSON: {}", x))),
    }
}
