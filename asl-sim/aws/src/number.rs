//! The decimal-number grammar that YAML core-schema numbers (templates, definitions) and JSONata's
//! `$number` all start from: `digits ( . digits )? ( [eE] [-+]? digits )?`. Each caller
//! decides what it accepts around it (a leading `+`, `.5`, `5.`, hex); the scan is one.

/// What [`scan_decimal`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalScan {
    pub int_digits: usize,
    /// Whether a `.` followed the integer digits.
    pub dot: bool,
    pub frac_digits: usize,
    /// `false` when an `e`/`E` was not followed by digits (such text is no number).
    pub exponent_ok: bool,
    /// The index just past the scanned number.
    pub end: usize,
}

/// Scans `digits ( . digits )? ( [eE] [-+]? digits )?` in `b` from `start` (after any sign).
pub fn scan_decimal(b: &[u8], start: usize) -> DecimalScan {
    let digits_from = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_from(start);
    let int_digits = i - start;
    let dot = b.get(i) == Some(&b'.');
    let mut frac_digits = 0;
    if dot {
        let end = digits_from(i + 1);
        frac_digits = end - (i + 1);
        i = end;
    }
    let mut exponent_ok = true;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits_from(i);
        exponent_ok = end > i;
        i = end;
    }
    DecimalScan { int_digits, dot, frac_digits, exponent_ok, end: i }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_integer_fraction_and_exponent() {
        let s = |t: &str| scan_decimal(t.as_bytes(), 0);
        assert_eq!(s("12.50e-3"), DecimalScan { int_digits: 2, dot: true, frac_digits: 2, exponent_ok: true, end: 8 });
        assert_eq!(s(".5"), DecimalScan { int_digits: 0, dot: true, frac_digits: 1, exponent_ok: true, end: 2 });
        assert_eq!(s("5."), DecimalScan { int_digits: 1, dot: true, frac_digits: 0, exponent_ok: true, end: 2 });
        assert!(!s("1e").exponent_ok);
        assert!(!s("1e+").exponent_ok);
        assert_eq!(s("7x").end, 1);
    }
}
