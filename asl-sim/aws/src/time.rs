//! Timestamps: the one implementation of calendar arithmetic, ISO-8601 / RFC 3339
//! parsing and the formats AWS writes (Step Functions, EventBridge, S3, HTTP dates).

/// How strictly [`parse_timestamp`] and [`parse_iso8601`] read a timestamp: Step
/// Functions (Choice `Timestamp*` rules, Wait `Timestamp`) accepts only a real
/// calendar date, `T` and `Z`; EventBridge's `Time` is more forgiving.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    StepFunctions,
    EventBridge,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)` to milliseconds since the
/// epoch, as Step Functions reads timestamps: the day must exist in its month.
/// Digits beyond milliseconds are accepted and ignored, as AWS does.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    parse(s, Strictness::StepFunctions)
}

/// Parses an ISO-8601 timestamp as EventBridge's PutEvents `Time` accepts it:
/// `T`, `t` or a space between date and time, `z` for `Z`, a leap second, and
/// any day up to 31.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    parse(s, Strictness::EventBridge)
}

fn parse(s: &str, strictness: Strictness) -> Option<i64> {
    let lenient = strictness == Strictness::EventBridge;
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let date_time_separator = b[10] == b'T' || (lenient && (b[10] == b't' || b[10] == b' '));
    if b[4] != b'-' || b[7] != b'-' || !date_time_separator || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let (last_day, last_second) = if lenient { (31, 60) } else { (days_in_month(y, mo), 59) };
    if !(1..=12).contains(&mo) || d < 1 || d > last_day || h > 23 || mi > 59 || sec > last_second {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i];
        millis = format!("{:0<3}", &frac[..frac.len().min(3)]).parse().ok()?;
    }
    let offset_min = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(b'z') if lenient && i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if !lenient && (oh > 23 || om > 59) {
                return None;
            }
            let v = oh * 60 + om;
            if *c == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + millis)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The calendar fields of a Unix time in milliseconds.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
}

fn civil(ms: i64) -> Civil {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    Civil { year, month, day, hour: sod / 3600, minute: sod % 3600 / 60, second: sod % 60, millis: ms.rem_euclid(1000) }
}

/// `2024-01-02T03:04:05.678Z`: `$$.Execution.StartTime`, history timestamps, S3's
/// ListObjects `LastModified`.
pub fn format_millis(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
    )
}

/// The same as [`format_millis`], under the name the S3 code reads best with.
pub fn format_iso8601_millis(ms: i64) -> String {
    format_millis(ms)
}

/// `2021-11-12T00:00:00Z` (the EventBridge event `time` format, SigV4's date).
pub fn format_iso8601(ms: i64) -> String {
    let c = civil(ms);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// `Fri, 12 Nov 2021 00:00:00 GMT` (the `Last-Modified` HTTP header format).
pub fn format_http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let c = civil(ms);
    let weekday = DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    let month = MONTHS[(c.month as usize).saturating_sub(1).min(11)];
    format!("{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT", c.day, c.year, c.hour, c.minute, c.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = parse_timestamp("2012-10-09T19:00:55Z").unwrap();
        assert_eq!(format_millis(t), "2012-10-09T19:00:55.000Z");
        assert_eq!(parse_timestamp("2012-10-09T21:00:55+02:00"), Some(t));
        assert_eq!(parse_timestamp("2012-10-09T19:00:55.123456Z"), Some(t + 123));
        for bad in ["2016-13-05T21:29:29Z", "05-12-2016T21:29:29Z", "2023-02-24 12:15:56.832957", "2012-02-30T00:00:00Z", "2012-10-09t19:00:55z", ""] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn eventbridge_times() {
        assert_eq!(format_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso8601(1_636_675_200_000), "2021-11-12T00:00:00Z");
        assert_eq!(format_iso8601_millis(1_636_675_200_123), "2021-11-12T00:00:00.123Z");
        assert_eq!(format_http_date(1_636_675_200_000), "Fri, 12 Nov 2021 00:00:00 GMT");
        assert_eq!(parse_iso8601("2021-11-12T00:00:00Z"), Some(1_636_675_200_000));
        assert_eq!(parse_iso8601("2021-11-12t00:00:00z"), Some(1_636_675_200_000));
        assert_eq!(parse_iso8601("2021-11-12T01:00:00.5+01:00"), Some(1_636_675_200_500));
        assert_eq!(parse_iso8601("2021-13-12T00:00:00Z"), None);
        assert_eq!(parse_iso8601("garbage"), None);
        for ms in [0i64, 951_782_400_000, 4_102_444_800_000, 1_709_164_800_999, -86_400_001] {
            assert_eq!(parse_iso8601(&format_iso8601_millis(ms)), Some(ms));
        }
    }
}
