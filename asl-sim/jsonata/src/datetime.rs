//! Date/time and integer picture formatting ($fromMillis, $toMillis, $formatInteger, $parseInteger),
//! following XPath F&O 3.1 picture strings as JSONata 2.0.6 interprets them.

use crate::errors::make;
use crate::value::Value;
use crate::Error;

const FEW: [&str; 20] = [
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve", "Thirteen",
    "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth", "Eleventh",
    "Twelfth", "Thirteenth", "Fourteenth", "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth",
];
const DECADES: [&str; 9] = ["Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred"];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];
const DAYS: [&str; 8] = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
];
const DECIMAL_GROUPS: [u32; 37] = [
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50,
    0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
];
const MILLIS_DAY: f64 = 86_400_000.0;

fn number_to_words(value: f64, ordinal: bool) -> String {
    fn lookup(num: f64, prev: bool, ord: bool) -> String {
        if num <= 19.0 {
            let n = num as usize;
            format!("{}{}", if prev { " and " } else { "" }, if ord { ORDINALS[n] } else { FEW[n] })
        } else if num < 100.0 {
            let tens = (num / 10.0).floor() as usize;
            let rem = num % 10.0;
            let mut w = format!("{}{}", if prev { " and " } else { "" }, DECADES[tens - 2]);
            if rem > 0.0 {
                w.push('-');
                w.push_str(&lookup(rem, false, ord));
            } else if ord {
                w.pop();
                w.push_str("ieth");
            }
            w
        } else if num < 1000.0 {
            let hundreds = (num / 100.0).floor() as usize;
            let rem = num % 100.0;
            let mut w = format!("{}{} Hundred", if prev { ", " } else { "" }, FEW[hundreds]);
            if rem > 0.0 {
                w.push_str(&lookup(rem, true, ord));
            } else if ord {
                w.push_str("th");
            }
            w
        } else {
            let mut mag = (num.log10() / 3.0).floor() as usize;
            if mag > MAGNITUDES.len() {
                mag = MAGNITUDES.len();
            }
            let factor = 10f64.powi(mag as i32 * 3);
            let mant = (num / factor).floor();
            let rem = num - mant * factor;
            let mut w =
                format!("{}{} {}", if prev { ", " } else { "" }, lookup(mant, false, false), MAGNITUDES[mag - 1]);
            if rem > 0.0 {
                w.push_str(&lookup(rem, true, ord));
            } else if ord {
                w.push_str("th");
            }
            w
        }
    }
    lookup(value, false, ordinal)
}

fn word_value(w: &str) -> Option<f64> {
    for (i, x) in FEW.iter().enumerate() {
        if x.eq_ignore_ascii_case(w) {
            return Some(i as f64);
        }
    }
    for (i, x) in ORDINALS.iter().enumerate() {
        if x.eq_ignore_ascii_case(w) {
            return Some(i as f64);
        }
    }
    for (i, x) in DECADES.iter().enumerate() {
        let v = (i as f64 + 2.0) * 10.0;
        if x.eq_ignore_ascii_case(w) {
            return Some(v);
        }
        let ieth = format!("{}ieth", &x[..x.len() - 1]);
        if ieth.eq_ignore_ascii_case(w) {
            return Some(v);
        }
    }
    if w.eq_ignore_ascii_case("hundredth") {
        return Some(100.0);
    }
    for (i, x) in MAGNITUDES.iter().enumerate() {
        let v = 10f64.powi((i as i32 + 1) * 3);
        if x.eq_ignore_ascii_case(w) || format!("{}th", x).eq_ignore_ascii_case(w) {
            return Some(v);
        }
    }
    None
}

fn words_to_number(text: &str) -> f64 {
    let re = regex::Regex::new(r",\s|\sand\s|[\s\-]").unwrap();
    let mut segs: Vec<f64> = vec![0.0];
    for part in re.split(text) {
        let v = word_value(part).unwrap_or(f64::NAN);
        if v < 100.0 || v.is_nan() {
            let mut top = segs.pop().unwrap_or(0.0);
            if top >= 1000.0 {
                segs.push(top);
                top = 0.0;
            }
            segs.push(top + v);
        } else {
            let t = segs.pop().unwrap_or(0.0);
            segs.push(t * v);
        }
    }
    segs.iter().sum()
}

fn decimal_to_roman(mut v: f64) -> String {
    const R: [(f64, &str); 13] = [
        (1000.0, "m"),
        (900.0, "cm"),
        (500.0, "d"),
        (400.0, "cd"),
        (100.0, "c"),
        (90.0, "xc"),
        (50.0, "l"),
        (40.0, "xl"),
        (10.0, "x"),
        (9.0, "ix"),
        (5.0, "v"),
        (4.0, "iv"),
        (1.0, "i"),
    ];
    let mut out = String::new();
    'outer: while v > 0.0 {
        for (n, s) in R {
            if v >= n {
                out.push_str(s);
                v -= n;
                continue 'outer;
            }
        }
        break;
    }
    out
}

fn roman_to_decimal(s: &str) -> f64 {
    let mut dec = 0.0;
    let mut max = 1.0;
    for c in s.chars().rev() {
        let v = match c.to_ascii_uppercase() {
            'M' => 1000.0,
            'D' => 500.0,
            'C' => 100.0,
            'L' => 50.0,
            'X' => 10.0,
            'V' => 5.0,
            'I' => 1.0,
            _ => f64::NAN,
        };
        if v < max {
            dec -= v;
        } else {
            max = v;
            dec += v;
        }
    }
    dec
}

fn decimal_to_letters(mut v: f64, a: char) -> String {
    let mut letters = vec![];
    while v > 0.0 {
        letters.push(char::from_u32(((v - 1.0) % 26.0) as u32 + a as u32).unwrap_or('?'));
        v = ((v - 1.0) / 26.0).floor();
    }
    letters.reverse();
    letters.into_iter().collect()
}

fn letters_to_decimal(s: &str, a: char) -> f64 {
    let cs: Vec<char> = s.chars().collect();
    let mut d = 0.0;
    for i in 0..cs.len() {
        d += (cs[cs.len() - i - 1] as i64 - a as i64 + 1) as f64 * 26f64.powi(i as i32);
    }
    d
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    Sequence,
}
#[derive(Clone, Copy, PartialEq, Debug)]
enum Case {
    Upper,
    Lower,
    Title,
}

#[derive(Clone, Debug)]
struct IntFormat {
    primary: Primary,
    case: Case,
    ordinal: bool,
    zero_code: u32,
    mandatory: usize,
    optional: usize,
    regular: bool,
    seps: Vec<(usize, char)>, // (position, char); when regular, one element
    token: String,
}

fn analyse_integer_picture(picture: &str, pos: usize) -> Result<IntFormat, Error> {
    let mut f = IntFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero_code: 0x30,
        mandatory: 0,
        optional: 0,
        regular: false,
        seps: vec![],
        token: String::new(),
    };
    let primary = match picture.rfind(';') {
        None => picture,
        Some(i) => {
            if picture[i + 1..].starts_with('o') {
                f.ordinal = true;
            }
            &picture[..i]
        }
    };
    match primary {
        "A" => {
            f.case = Case::Upper;
            f.primary = Primary::Letters
        }
        "a" => f.primary = Primary::Letters,
        "I" => {
            f.case = Case::Upper;
            f.primary = Primary::Roman
        }
        "i" => f.primary = Primary::Roman,
        "W" => {
            f.case = Case::Upper;
            f.primary = Primary::Words
        }
        "Ww" => {
            f.case = Case::Title;
            f.primary = Primary::Words
        }
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut sep_pos = 0;
            let mut seps = vec![];
            for c in primary.chars().rev() {
                let cp = c as u32;
                let mut digit = false;
                for g in DECIMAL_GROUPS {
                    if cp >= g && cp <= g + 9 {
                        digit = true;
                        f.mandatory += 1;
                        sep_pos += 1;
                        match zero {
                            None => zero = Some(g),
                            Some(z) if z != g => return Err(make("D3131", Some(pos), None, None)),
                            _ => {}
                        }
                        break;
                    }
                }
                if !digit {
                    if c == '#' {
                        sep_pos += 1;
                        f.optional += 1;
                    } else {
                        seps.push((sep_pos, c));
                    }
                }
            }
            if f.mandatory > 0 {
                f.zero_code = zero.unwrap_or(0x30);
                match regular_separator(&seps) {
                    Some(r) => {
                        f.regular = true;
                        f.seps = vec![r];
                    }
                    None => {
                        f.regular = false;
                        f.seps = seps;
                    }
                }
            } else {
                f.primary = Primary::Sequence;
                f.token = primary.to_string();
            }
        }
    }
    Ok(f)
}

fn regular_separator(seps: &[(usize, char)]) -> Option<(usize, char)> {
    if seps.is_empty() {
        return None;
    }
    let c = seps[0].1;
    if seps.iter().any(|s| s.1 != c) {
        return None;
    }
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let factor = seps.iter().map(|s| s.0).reduce(gcd).unwrap_or(0);
    if factor == 0 {
        return None;
    }
    for i in 1..=seps.len() {
        if !seps.iter().any(|s| s.0 == i * factor) {
            return None;
        }
    }
    Some((factor, c))
}

fn insert_at_char(s: &str, pos: usize, c: char) -> String {
    let mut cs: Vec<char> = s.chars().collect();
    cs.insert(pos.min(cs.len()), c);
    cs.into_iter().collect()
}

fn format_int(value: f64, f: &IntFormat, pos: usize) -> Result<String, Error> {
    let neg = value < 0.0;
    let value = value.abs();
    let mut s = match f.primary {
        Primary::Letters => decimal_to_letters(value, if f.case == Case::Upper { 'A' } else { 'a' }),
        Primary::Roman => {
            let r = decimal_to_roman(value);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = number_to_words(value, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => {
            let mut s = format!("{}", value as u128);
            let len = s.chars().count();
            crate::limits::check_string("A date/time or integer picture's width", f.mandatory as u128, pos)?;
            if f.mandatory > len {
                s = format!("{}{}", "0".repeat(f.mandatory - len), s);
            }
            if f.zero_code != 0x30 {
                s = s.chars().map(|c| char::from_u32(c as u32 + f.zero_code - 0x30).unwrap_or(c)).collect();
            }
            if f.regular {
                let (p, c) = f.seps[0];
                let len = s.chars().count();
                let n = (len - 1) / p;
                for ii in (1..=n).rev() {
                    let l = s.chars().count();
                    let at = l - ii * p;
                    s = insert_at_char(&s, at, c);
                }
            } else {
                for (p, c) in f.seps.iter().rev() {
                    let l = s.chars().count();
                    if *p <= l {
                        s = insert_at_char(&s, l - p, *c);
                    }
                }
            }
            if f.ordinal {
                let cs: Vec<char> = s.chars().collect();
                let last = cs.last().copied().unwrap_or('0');
                let mut suffix = match last {
                    '1' => "st",
                    '2' => "nd",
                    '3' => "rd",
                    _ => "th",
                };
                if cs.len() > 1 && cs[cs.len() - 2] == '1' {
                    suffix = "th";
                }
                s.push_str(suffix);
            }
            s
        }
        Primary::Sequence => return Err(make("D3130", Some(pos), None, Some(&f.token))),
    };
    if neg {
        s.insert(0, '-');
    }
    Ok(s)
}

pub(crate) fn format_integer(n: f64, pic: &str, pos: usize) -> Result<String, Error> {
    let f = analyse_integer_picture(pic, pos)?;
    format_int(n.floor(), &f, pos)
}

struct Matcher {
    regex: String,
    parse: Box<dyn Fn(&str) -> Option<f64>>,
}

fn int_matcher(f: &IntFormat, fixed: Option<usize>, pos: usize) -> Result<Matcher, Error> {
    let upper = f.case == Case::Upper;
    Ok(match f.primary {
        Primary::Letters => {
            let a = if upper { 'A' } else { 'a' };
            Matcher {
                regex: if upper { "[A-Z]+".into() } else { "[a-z]+".into() },
                parse: Box::new(move |v| Some(letters_to_decimal(v, a))),
            }
        }
        Primary::Roman => Matcher {
            regex: if upper { "[MDCLXVI]+".into() } else { "[mdclxvi]+".into() },
            parse: Box::new(|v| Some(roman_to_decimal(v))),
        },
        Primary::Words => {
            let mut words: Vec<String> = vec![];
            for w in FEW.iter().chain(ORDINALS.iter()).chain(DECADES.iter()).chain(MAGNITUDES.iter()) {
                words.push(w.to_lowercase());
            }
            for w in DECADES.iter() {
                words.push(format!("{}ieth", &w[..w.len() - 1]).to_lowercase());
            }
            for w in MAGNITUDES.iter() {
                words.push(format!("{}th", w).to_lowercase());
            }
            words.push("hundredth".into());
            words.sort_by_key(|w| std::cmp::Reverse(w.len()));
            Matcher {
                regex: format!("(?:{}|and|[\\-, ])+", words.join("|")),
                parse: Box::new(|v| Some(words_to_number(&v.to_lowercase()))),
            }
        }
        Primary::Decimal => {
            let mut regex = match fixed {
                Some(n) => format!("[0-9]{{{}}}", n),
                None => "[0-9]+".to_string(),
            };
            let mut chars_in: String = String::new();
            for (_, c) in &f.seps {
                chars_in.push_str(&regex::escape(&c.to_string()));
            }
            if f.zero_code != 0x30 {
                let z = char::from_u32(f.zero_code).unwrap_or('0');
                let nine = char::from_u32(f.zero_code + 9).unwrap_or('9');
                regex = format!("[{}-{}{}]+", z, nine, chars_in);
            } else if !chars_in.is_empty() && fixed.is_none() {
                regex = format!("[0-9{}]+", chars_in);
            }
            if f.ordinal {
                regex.push_str("(?:th|st|nd|rd)");
            }
            let f2 = f.clone();
            Matcher {
                regex,
                parse: Box::new(move |v| {
                    let mut digits: String = v.to_string();
                    if f2.ordinal {
                        let n = digits.chars().count();
                        digits = digits.chars().take(n.saturating_sub(2)).collect();
                    }
                    digits = digits.chars().filter(|c| !f2.seps.iter().any(|s| s.1 == *c)).collect();
                    if f2.regular {
                        digits = digits.replace(',', "");
                    }
                    if f2.zero_code != 0x30 {
                        digits = digits
                            .chars()
                            .map(|c| char::from_u32((c as u32).wrapping_sub(f2.zero_code) + 0x30).unwrap_or(c))
                            .collect();
                    }
                    digits.parse::<f64>().ok()
                }),
            }
        }
        Primary::Sequence => return Err(make("D3130", Some(pos), None, Some(&f.token))),
    })
}

pub(crate) fn parse_integer(s: &str, pic: &str, pos: usize) -> Result<Value, Error> {
    let f = analyse_integer_picture(pic, pos)?;
    let m = int_matcher(&f, None, pos)?;
    Ok(match (m.parse)(s) {
        Some(n) if !n.is_nan() => Value::Num(n),
        _ => Value::Undefined,
    })
}

// ------------------------------------------------------------------ calendar arithmetic

/// Days since the epoch of a date whose month may overflow (`Date.UTC` accepts month 13),
/// on the one proleptic Gregorian calendar of asl-aws.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let months = m - 1;
    asl_aws::time::days_from_civil(y + months.div_euclid(12), months.rem_euclid(12) + 1, d)
}

use asl_aws::time::civil_from_days;

/// Date.UTC(year, month0, day, h, m, s, ms)
fn date_utc(y: f64, m0: f64, d: f64, h: f64, mi: f64, s: f64, ms: f64) -> f64 {
    let days = days_from_civil(y as i64, m0 as i64 + 1, 1) as f64 + (d - 1.0);
    days * MILLIS_DAY + h * 3_600_000.0 + mi * 60_000.0 + s * 1000.0 + ms
}

struct Dt {
    millis: f64,
    year: i64,
    month: i64, // 0-based
    day: i64,
    hours: i64,
    minutes: i64,
    seconds: i64,
    ms: i64,
    weekday: i64, // 0 = Sunday
}

fn dt(millis: f64) -> Dt {
    let days = (millis / MILLIS_DAY).floor() as i64;
    let rem = millis as i64 - days * 86_400_000;
    let (y, m, d) = civil_from_days(days);
    Dt {
        millis,
        year: y,
        month: m - 1,
        day: d,
        hours: rem / 3_600_000,
        minutes: (rem / 60_000) % 60,
        seconds: (rem / 1000) % 60,
        ms: rem % 1000,
        weekday: (days + 4).rem_euclid(7),
    }
}

fn start_of_first_week(year: i64, month0: i64) -> f64 {
    let jan1 = date_utc(year as f64, month0 as f64, 1.0, 0.0, 0.0, 0.0, 0.0);
    let mut dow = dt(jan1).weekday;
    if dow == 0 {
        dow = 7;
    }
    if dow > 4 {
        jan1 + (8 - dow) as f64 * MILLIS_DAY
    } else {
        jan1 - (dow - 1) as f64 * MILLIS_DAY
    }
}

fn next_month(y: i64, m: i64) -> (i64, i64) {
    if m == 11 {
        (y + 1, 0)
    } else {
        (y, m + 1)
    }
}
fn prev_month(y: i64, m: i64) -> (i64, i64) {
    if m == 0 {
        (y - 1, 11)
    } else {
        (y, m - 1)
    }
}

fn delta_weeks(start: f64, end: f64) -> f64 {
    (end - start) / (MILLIS_DAY * 7.0) + 1.0
}

enum Frag {
    N(f64),
    S(&'static str),
    None,
}

fn fragment(d: &Dt, c: char) -> Frag {
    Frag::N(match c {
        'Y' => d.year as f64,
        'M' => d.month as f64 + 1.0,
        'D' => d.day as f64,
        'd' => {
            let first = date_utc(d.year as f64, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
            ((d.millis - first) / MILLIS_DAY).floor() + 1.0
        }
        'F' => {
            if d.weekday == 0 {
                7.0
            } else {
                d.weekday as f64
            }
        }
        'W' => {
            let s1 = start_of_first_week(d.year, 0);
            let today = date_utc(d.year as f64, d.month as f64, d.day as f64, 0.0, 0.0, 0.0, 0.0);
            let mut week = delta_weeks(s1, today);
            if week > 52.0 {
                if today >= start_of_first_week(d.year + 1, 0) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = delta_weeks(start_of_first_week(d.year - 1, 0), today);
            }
            week.floor()
        }
        'w' => {
            let s1 = start_of_first_week(d.year, d.month);
            let today = date_utc(d.year as f64, d.month as f64, d.day as f64, 0.0, 0.0, 0.0, 0.0);
            let mut week = delta_weeks(s1, today);
            if week > 4.0 {
                let (ny, nm) = next_month(d.year, d.month);
                if today >= start_of_first_week(ny, nm) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                let (py, pm) = prev_month(d.year, d.month);
                week = delta_weeks(start_of_first_week(py, pm), today);
            }
            week.floor()
        }
        'X' => {
            let s = start_of_first_week(d.year, 0);
            let e = start_of_first_week(d.year + 1, 0);
            if d.millis < s {
                d.year as f64 - 1.0
            } else if d.millis >= e {
                d.year as f64 + 1.0
            } else {
                d.year as f64
            }
        }
        'x' => {
            let s = start_of_first_week(d.year, d.month);
            let (ny, nm) = next_month(d.year, d.month);
            let e = start_of_first_week(ny, nm);
            if d.millis < s {
                prev_month(d.year, d.month).1 as f64 + 1.0
            } else if d.millis >= e {
                nm as f64 + 1.0
            } else {
                d.month as f64 + 1.0
            }
        }
        'H' => d.hours as f64,
        'h' => {
            let h = d.hours % 12;
            if h == 0 {
                12.0
            } else {
                h as f64
            }
        }
        'P' => return Frag::S(if d.hours >= 12 { "pm" } else { "am" }),
        'm' => d.minutes as f64,
        's' => d.seconds as f64,
        'f' => d.ms as f64,
        'C' | 'E' => return Frag::S("ISO"),
        _ => return Frag::None,
    })
}

// ------------------------------------------------------------------ picture analysis

#[derive(Clone)]
struct Marker {
    component: char,
    width_min: Option<usize>,
    width_max: Option<usize>,
    pres1: String,
    pres2: Option<char>,
    names: Option<Case>,
    int_format: Option<IntFormat>,
    n: i64,
}

enum Part {
    Lit(String),
    Mark(Marker),
}

fn default_pres(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'w' | 'X' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

fn analyse_datetime_picture(picture: &str, pos: usize) -> Result<Vec<Part>, Error> {
    let cs: Vec<char> = picture.chars().collect();
    let mut parts = vec![];
    let add_lit = |parts: &mut Vec<Part>, s: usize, e: usize| {
        if e > s {
            let lit: String = cs[s..e].iter().collect();
            parts.push(Part::Lit(lit.replace("]]", "]")));
        }
    };
    let mut start = 0;
    let mut p = 0;
    while p < cs.len() {
        if cs[p] == '[' {
            if cs.get(p + 1) == Some(&'[') {
                add_lit(&mut parts, start, p);
                parts.push(Part::Lit("[".into()));
                p += 2;
                start = p;
                continue;
            }
            add_lit(&mut parts, start, p);
            start = p;
            let close = cs[start..].iter().position(|c| *c == ']').map(|i| i + start);
            let Some(close) = close else { return Err(make("D3135", Some(pos), None, None)) };
            p = close;
            let marker: String = cs[start + 1..p].iter().filter(|c| !c.is_whitespace()).collect();
            let mc: Vec<char> = marker.chars().collect();
            let component = mc.first().copied().unwrap_or(' ');
            let mut m = Marker {
                component,
                width_min: None,
                width_max: None,
                pres1: String::new(),
                pres2: None,
                names: None,
                int_format: None,
                n: -1,
            };
            let pres_mod: String;
            if let Some(comma) = marker.rfind(',') {
                let wm = &marker[comma + 1..];
                let (mn, mx) = match wm.find('-') {
                    None => (wm, None),
                    Some(d) => (&wm[..d], Some(&wm[d + 1..])),
                };
                // A width past the string limit is refused when formatting (format_int); capping it
                // here keeps `mandatory + optional` from overflowing on a width like 2^64-1.
                fn pw(s: &str) -> Option<usize> {
                    if s == "*" || s.is_empty() {
                        None
                    } else {
                        s.parse::<u128>().ok().map(|w| w.min(u128::from(u32::MAX)) as usize)
                    }
                }
                m.width_min = pw(mn);
                m.width_max = mx.and_then(pw);
                // `[,Y]`: the comma is the component itself, so there is no presentation
                // modifier (slicing past the comma panicked; found by fuzzing)
                pres_mod = marker.get(component.len_utf8()..comma).unwrap_or("").to_string();
            } else {
                pres_mod = marker.get(component.len_utf8()..).unwrap_or("").to_string();
            }
            let pm: Vec<char> = pres_mod.chars().collect();
            if pm.len() == 1 {
                m.pres1 = pres_mod.clone();
            } else if pm.len() > 1 {
                let last = *pm.last().unwrap();
                if "atco".contains(last) {
                    m.pres2 = Some(last);
                    m.pres1 = pm[..pm.len() - 1].iter().collect();
                } else {
                    m.pres1 = pres_mod.clone();
                }
            } else {
                match default_pres(component) {
                    Some(d) => m.pres1 = d.to_string(),
                    None => return Err(make("D3132", Some(pos), None, Some(&component.to_string()))),
                }
            }
            if default_pres(component).is_none() {
                return Err(make("D3132", Some(pos), None, Some(&component.to_string())));
            }
            let p1: Vec<char> = m.pres1.chars().collect();
            if p1.first() == Some(&'n') {
                m.names = Some(Case::Lower);
            } else if p1.first() == Some(&'N') {
                m.names = Some(if p1.get(1) == Some(&'n') { Case::Title } else { Case::Upper });
            } else if "YMDdFWwXxHhmsf".contains(component) {
                let mut ip = m.pres1.clone();
                if let Some(p2) = m.pres2 {
                    ip.push(';');
                    ip.push(p2);
                }
                let mut f = analyse_integer_picture(&ip, pos)?;
                if let Some(mn) = m.width_min {
                    if f.mandatory < mn {
                        f.mandatory = mn;
                    }
                }
                if component == 'Y' {
                    m.n = -1;
                    if let Some(mx) = m.width_max {
                        m.n = mx as i64;
                        f.mandatory = mx;
                    } else {
                        let w = f.mandatory + f.optional;
                        if w >= 2 {
                            m.n = w as i64;
                        }
                    }
                }
                m.int_format = Some(f);
            }
            if component == 'Z' || component == 'z' {
                m.int_format = Some(analyse_integer_picture(&m.pres1, pos)?);
            }
            parts.push(Part::Mark(m));
            start = p + 1;
        }
        p += 1;
    }
    add_lit(&mut parts, start, cs.len());
    Ok(parts)
}

fn iso_picture() -> &'static str {
    "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"
}

/// The most milliseconds from the epoch a JavaScript `Date` holds (ECMA-262 §21.4.1.1);
/// past it JSONata's `Date` is invalid.
const MAX_DATE_MILLIS: f64 = 8.64e15;

/// `Ok(None)` when the instant (with its offset) is outside what a JavaScript `Date` holds:
/// JSONata 2.0.6's result there is not documented (it formats an invalid Date), so the
/// result is undefined rather than a made-up date.
pub(crate) fn from_millis(millis: f64, pic: Option<&str>, tz: Option<&str>, pos: usize) -> Result<Option<String>, Error> {
    let (mut oh, mut om) = (0i64, 0i64);
    if let Some(tz) = tz {
        let t = tz.trim();
        let digits: String =
            t.chars().enumerate().take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))).map(|x| x.1).collect();
        let off: i64 = digits.parse().unwrap_or(0);
        oh = (off as f64 / 100.0).floor() as i64;
        om = off % 100;
    }
    let parts = analyse_datetime_picture(pic.unwrap_or(iso_picture()), pos)?;
    // In f64: a timezone of many digits must not overflow the integer arithmetic.
    let offset_millis = (60.0 * oh as f64 + om as f64) * 60_000.0;
    let local = millis.floor() + offset_millis;
    if !millis.is_finite() || millis.abs() > MAX_DATE_MILLIS || !local.is_finite() || local.abs() > MAX_DATE_MILLIS {
        return Ok(None);
    }
    let d = dt(local);
    let mut out = String::new();
    for part in &parts {
        match part {
            Part::Lit(s) => out.push_str(s),
            Part::Mark(m) => out.push_str(&format_component(&d, m, oh, om, pos)?),
        }
    }
    Ok(Some(out))
}

fn format_component(d: &Dt, m: &Marker, oh: i64, om: i64, pos: usize) -> Result<String, Error> {
    let c = m.component;
    let frag = fragment(d, c);
    if "YMDdFWwXxHhms".contains(c) {
        let Frag::N(mut v) = frag else { return Ok(String::new()) };
        if c == 'Y' && m.n != -1 {
            v %= 10f64.powi(m.n as i32);
        }
        if let Some(case) = m.names {
            let mut name = if c == 'M' || c == 'x' {
                MONTHS[(v as usize).saturating_sub(1).min(11)].to_string()
            } else if c == 'F' {
                DAYS[(v as usize).min(7)].to_string()
            } else {
                return Err(make("D3133", Some(pos), None, Some(&c.to_string())));
            };
            match case {
                Case::Upper => name = name.to_uppercase(),
                Case::Lower => name = name.to_lowercase(),
                Case::Title => {}
            }
            if let Some(mx) = m.width_max {
                if name.chars().count() > mx {
                    name = name.chars().take(mx).collect();
                }
            }
            return Ok(name);
        }
        return format_int(v, m.int_format.as_ref().ok_or_else(|| make("D3133", Some(pos), None, Some(&c.to_string())))?, pos);
    }
    match c {
        'f' => {
            let Frag::N(v) = frag else { return Ok(String::new()) };
            format_int(v, m.int_format.as_ref().ok_or_else(|| make("D3133", Some(pos), None, Some(&c.to_string())))?, pos)
        }
        'Z' | 'z' => {
            let offset = oh * 100 + om;
            let f = m.int_format.as_ref().ok_or_else(|| make("D3133", Some(pos), None, Some(&c.to_string())))?;
            let mut s = if f.regular {
                format_int(offset as f64, f, pos)?
            } else {
                let nd = f.mandatory;
                if nd == 1 || nd == 2 {
                    let mut s = format_int(oh as f64, f, pos)?;
                    if om != 0 {
                        s.push(':');
                        s.push_str(&format_integer(om as f64, "00", pos)?);
                    }
                    s
                } else if nd == 3 || nd == 4 {
                    format_int(offset as f64, f, pos)?
                } else {
                    return Err(make("D3134", Some(pos), None, None));
                }
            };
            if offset >= 0 {
                s.insert(0, '+');
            }
            if c == 'z' {
                s = format!("GMT{}", s);
            }
            if offset == 0 && m.pres2 == Some('t') {
                s = "Z".into();
            }
            Ok(s)
        }
        'P' => {
            let Frag::S(s) = frag else { return Ok(String::new()) };
            Ok(if m.names == Some(Case::Upper) { s.to_uppercase() } else { s.to_string() })
        }
        'C' | 'E' => {
            let Frag::S(s) = frag else { return Ok(String::new()) };
            Ok(s.to_string())
        }
        _ => Ok(String::new()),
    }
}

// ------------------------------------------------------------------ parsing

pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    // the shape jsonata 2.0.6 accepts before handing the string to Date.parse
    let shape = regex::Regex::new(
        r"^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$",
    )
    .ok()?;
    if !shape.is_match(s) {
        return None;
    }
    let re = regex::Regex::new(
        r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$",
    )
    .ok()?;
    let c = re.captures(s)?;
    let g = |i: usize| c.get(i).map(|m| m.as_str());
    let y: f64 = g(1)?.parse().ok()?;
    let mo: f64 = g(2).map(|x| x.parse().unwrap_or(1.0)).unwrap_or(1.0);
    let d: f64 = g(3).map(|x| x.parse().unwrap_or(1.0)).unwrap_or(1.0);
    let h: f64 = g(4).map(|x| x.parse().unwrap_or(0.0)).unwrap_or(0.0);
    let mi: f64 = g(5).map(|x| x.parse().unwrap_or(0.0)).unwrap_or(0.0);
    let sec: f64 = g(6).map(|x| x.parse().unwrap_or(0.0)).unwrap_or(0.0);
    let ms: f64 = g(7).map(|x| format!("0.{}", x).parse::<f64>().unwrap_or(0.0) * 1000.0).unwrap_or(0.0).floor();
    if !(1.0..=12.0).contains(&mo) || !(1.0..=31.0).contains(&d) || h > 24.0 || mi > 59.0 || sec > 59.0 {
        return None;
    }
    let mut t = date_utc(y, mo - 1.0, d, h, mi, sec, ms);
    if let Some(z) = g(8) {
        if z != "Z" {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let oh: f64 = digits[..2].parse().ok()?;
            let om: f64 = digits[2..].parse().ok()?;
            t -= sign * (oh * 60.0 + om) * 60_000.0;
        }
    }
    Some(t as i64)
}

pub(crate) fn parse_datetime(s: &str, pic: &str, pos: usize, now: f64) -> Result<Value, Error> {
    let parts = analyse_datetime_picture(pic, pos)?;
    let mut regex = String::from("^");
    let mut parsers: Vec<Option<(char, Box<dyn Fn(&str) -> Option<f64>>)>> = vec![];
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Lit(l) => {
                regex.push('(');
                regex.push_str(&regex::escape(l));
                regex.push(')');
                parsers.push(None);
            }
            Part::Mark(m) => {
                let c = m.component;
                if c == 'Z' || c == 'z' {
                    let f = m.int_format.clone().unwrap();
                    let sep = if f.regular { Some(f.seps[0].1) } else { None };
                    let mut r = String::new();
                    if c == 'z' {
                        r.push_str("GMT");
                    }
                    r.push_str("[-+][0-9]+");
                    if let Some(sc) = sep {
                        r.push_str(&regex::escape(&sc.to_string()));
                        r.push_str("[0-9]+");
                    }
                    regex.push('(');
                    regex.push_str(&r);
                    regex.push(')');
                    let is_z = c == 'z';
                    parsers.push(Some((
                        c,
                        Box::new(move |v: &str| {
                            let v = if is_z { &v[3..] } else { v };
                            let pi = |x: &str| -> f64 {
                                let t: String = x
                                    .chars()
                                    .enumerate()
                                    .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
                                    .map(|x| x.1)
                                    .collect();
                                t.parse().unwrap_or(0.0)
                            };
                            let (h, m) = if let Some(sc) = sep {
                                let i = v.find(sc).unwrap_or(v.len());
                                (pi(&v[..i]), pi(v.get(i + 1..).unwrap_or("")))
                            } else {
                                let nd = v.len() - 1;
                                if nd <= 2 {
                                    (pi(v), 0.0)
                                } else {
                                    (pi(&v[..3]), pi(&v[3..]))
                                }
                            };
                            Some(h * 60.0 + m)
                        }),
                    )));
                } else if let Some(f) = &m.int_format {
                    let next_is_marker = matches!(parts.get(i + 1), Some(Part::Mark(_)));
                    let fixed = if next_is_marker && f.primary == Primary::Decimal { Some(f.mandatory.max(1)) } else { None };
                    let mt = int_matcher(f, fixed, pos)?;
                    regex.push('(');
                    regex.push_str(&mt.regex);
                    regex.push(')');
                    parsers.push(Some((c, mt.parse)));
                } else {
                    let mut lookup: Vec<(String, f64)> = vec![];
                    if c == 'M' || c == 'x' {
                        for (i, n) in MONTHS.iter().enumerate() {
                            let k = match m.width_max {
                                Some(mx) => n.chars().take(mx).collect(),
                                None => n.to_string(),
                            };
                            lookup.push((k, i as f64 + 1.0));
                        }
                    } else if c == 'F' {
                        for (i, n) in DAYS.iter().enumerate().skip(1) {
                            let k = match m.width_max {
                                Some(mx) => n.chars().take(mx).collect(),
                                None => n.to_string(),
                            };
                            lookup.push((k, i as f64));
                        }
                    } else if c == 'P' {
                        lookup = vec![("am".into(), 0.0), ("pm".into(), 1.0)];
                    } else {
                        return Err(make("D3133", Some(pos), None, Some(&c.to_string())));
                    }
                    regex.push_str("([a-zA-Z]+)");
                    parsers.push(Some((
                        c,
                        Box::new(move |v: &str| lookup.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)).map(|x| x.1)),
                    )));
                }
            }
        }
    }
    regex.push('$');
    let re = regex::RegexBuilder::new(&regex).case_insensitive(true).build().map_err(|_| make("D3136", Some(pos), None, None))?;
    let Some(caps) = re.captures(s) else { return Ok(Value::Undefined) };
    let mut comps: std::collections::HashMap<char, f64> = std::collections::HashMap::new();
    for (i, p) in parsers.iter().enumerate() {
        if let Some((c, f)) = p {
            if let Some(v) = caps.get(i + 1).and_then(|m| f(m.as_str())) {
                comps.insert(*c, v);
            } else {
                comps.insert(*c, f64::NAN);
            }
        }
    }
    if comps.is_empty() {
        return Ok(Value::Undefined);
    }
    let mask_of = |chars: &str| -> u32 {
        let mut mask = 0u32;
        for c in chars.chars() {
            mask <<= 1;
            if comps.contains_key(&c) {
                mask += 1;
            }
        }
        mask
    };
    let is_type = |t: u32, mask: u32| (!t & mask) == 0 && (t & mask) != 0;
    let dmask = mask_of("YXMxWwdD");
    let date_a = is_type(161, dmask);
    let date_b = !date_a && is_type(130, dmask);
    let date_c = is_type(84, dmask);
    let date_d = !date_c && is_type(72, dmask);
    let tmask = mask_of("PHhmsf");
    let time_a = is_type(23, tmask);
    let time_b = !time_a && is_type(47, tmask);
    let date_comps = if date_b {
        "Yd"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let nowd = dt(now);
    let mut start_spec = false;
    let mut end_spec = false;
    for c in format!("{}{}", date_comps, time_comps).chars() {
        if !comps.contains_key(&c) {
            if start_spec {
                comps.insert(c, if "MDd".contains(c) { 1.0 } else { 0.0 });
                end_spec = true;
            } else {
                let v = match fragment(&nowd, c) {
                    Frag::N(n) => n,
                    Frag::S(s) => {
                        if s == "pm" {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Frag::None => 0.0,
                };
                comps.insert(c, v);
            }
        } else {
            start_spec = true;
            if end_spec {
                return Err(make("D3136", Some(pos), None, None));
            }
        }
    }
    let g = |c: char| comps.get(&c).copied().unwrap_or(0.0);
    let mut month0 = if g('M') > 0.0 { g('M') - 1.0 } else { 0.0 };
    let mut day = g('D');
    if date_b {
        let first = date_utc(g('Y'), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        let dd = dt(first + (g('d') - 1.0) * MILLIS_DAY);
        month0 = dd.month as f64;
        day = dd.day as f64;
    }
    if date_c || date_d {
        return Err(make("D3136", Some(pos), None, None));
    }
    let mut hours = g('H');
    if time_b {
        hours = if g('h') == 12.0 { 0.0 } else { g('h') };
        if g('P') == 1.0 {
            hours += 12.0;
        }
    }
    let vals = [g('Y'), month0, day, hours, g('m'), g('s'), g('f')];
    if vals.iter().any(|v| v.is_nan()) {
        return Ok(Value::Undefined);
    }
    let mut millis = date_utc(g('Y'), month0, day, hours, g('m'), g('s'), g('f'));
    let tz = comps.get(&'Z').or(comps.get(&'z')).copied().unwrap_or(0.0);
    if tz != 0.0 && !tz.is_nan() {
        millis -= tz * 60_000.0;
    }
    Ok(Value::Num(millis))
}
