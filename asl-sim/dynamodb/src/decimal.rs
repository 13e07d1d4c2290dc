//! A small exact decimal type for DynamoDB numbers: up to 38 significant digits,
//! magnitude between 1E-130 and 9.99…E+125. No floats anywhere.

use std::cmp::Ordering;
use std::fmt;

/// An exact decimal. Invariant: `digits` has no leading and no trailing zeros
/// (each element 0..=9); zero is the empty digit list with `neg == false`.
/// Value = 0.d1 d2 … dn × 10^exp.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

/// Why a number was refused, with DynamoDB's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    NotNumeric(String),
    Overflow,
    Underflow,
    TooPrecise,
}

impl NumberError {
    pub fn message(&self) -> String {
        match self {
            NumberError::NotNumeric(s) if s.is_empty() => {
                "The parameter cannot be converted to a numeric value".to_string()
            }
            NumberError::NotNumeric(s) => {
                format!("The parameter cannot be converted to a numeric value: {s}")
            }
            NumberError::Overflow => "Number overflow. Attempting to store a number with magnitude larger than supported range".to_string(),
            NumberError::Underflow => "Number underflow. Attempting to store a number with magnitude smaller than supported range".to_string(),
            NumberError::TooPrecise => "Attempting to store more than 38 significant digits in a Number".to_string(),
        }
    }
}

pub const MAX_DIGITS: usize = 38;

impl Default for Decimal {
    fn default() -> Self {
        Decimal::zero()
    }
}

impl Decimal {
    pub fn zero() -> Decimal {
        Decimal { neg: false, digits: Vec::new(), exp: 0 }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// Number of significant digits.
    pub fn precision(&self) -> usize {
        self.digits.len()
    }

    fn normalize(neg: bool, mut digits: Vec<u8>, mut exp: i64) -> Decimal {
        let lead = digits.iter().take_while(|d| **d == 0).count();
        if lead == digits.len() {
            return Decimal::zero();
        }
        digits.drain(..lead);
        exp -= lead as i64;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Decimal { neg, digits, exp }
    }

    /// Parses without range checks (syntax only).
    pub fn parse_unchecked(s: &str) -> Result<Decimal, NumberError> {
        let bad = || NumberError::NotNumeric(s.to_string());
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = Vec::new();
        let mut int_digits: i64 = 0;
        let mut seen_digit = false;
        let mut seen_dot = false;
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    digits.push(c - b'0');
                    if !seen_dot {
                        int_digits += 1;
                    }
                    seen_digit = true;
                }
                b'.' if !seen_dot => seen_dot = true,
                b'e' | b'E' => break,
                _ => return Err(bad()),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad());
        }
        let mut e: i64 = 0;
        if i < b.len() {
            // exponent
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                eneg = b[i] == b'-';
                i += 1;
            }
            if i >= b.len() {
                return Err(bad());
            }
            while i < b.len() {
                match b[i] {
                    c @ b'0'..=b'9' => {
                        e = e.saturating_mul(10).saturating_add((c - b'0') as i64);
                        if e > 1_000_000_000 {
                            e = 1_000_000_000;
                        }
                    }
                    _ => return Err(bad()),
                }
                i += 1;
            }
            if eneg {
                e = -e;
            }
        }
        let d = Decimal::normalize(neg, digits, int_digits + e);
        Ok(d)
    }

    /// Parses and applies DynamoDB's range and precision rules.
    pub fn parse(s: &str) -> Result<Decimal, NumberError> {
        let d = Decimal::parse_unchecked(s)?;
        d.check()?;
        Ok(d)
    }

    /// DynamoDB's limits: overflow, underflow, then precision.
    pub fn check(&self) -> Result<(), NumberError> {
        if self.is_zero() {
            return Ok(());
        }
        let sci = self.exp - 1; // scientific exponent
        if sci > 125 {
            return Err(NumberError::Overflow);
        }
        if sci < -130 {
            return Err(NumberError::Underflow);
        }
        if self.digits.len() > MAX_DIGITS {
            return Err(NumberError::TooPrecise);
        }
        Ok(())
    }

    pub fn neg(&self) -> Decimal {
        if self.is_zero() {
            return self.clone();
        }
        Decimal { neg: !self.neg, digits: self.digits.clone(), exp: self.exp }
    }

    fn cmp_abs(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exp.cmp(&other.exp).then_with(|| self.digits.cmp(&other.digits))
    }

    /// Coefficient digits aligned so that the last digit has weight 10^low.
    fn aligned(&self, low: i64, high: i64) -> Vec<u8> {
        // digits cover weights exp-1 down to exp-len
        let width = (high - low) as usize;
        let mut v = vec![0u8; width];
        for (k, d) in self.digits.iter().enumerate() {
            let weight = self.exp - 1 - k as i64;
            let pos = (high - 1 - weight) as usize;
            v[pos] = *d;
        }
        v
    }

    pub fn add(&self, other: &Decimal) -> Decimal {
        if self.is_zero() {
            return other.clone();
        }
        if other.is_zero() {
            return self.clone();
        }
        let low = (self.exp - self.digits.len() as i64).min(other.exp - other.digits.len() as i64);
        let high = self.exp.max(other.exp) + 1;
        let a = self.aligned(low, high);
        let b = other.aligned(low, high);
        if self.neg == other.neg {
            let mut r = vec![0u8; a.len()];
            let mut carry = 0u8;
            for i in (0..a.len()).rev() {
                let s = a[i] + b[i] + carry;
                r[i] = s % 10;
                carry = s / 10;
            }
            Decimal::normalize(self.neg, r, high)
        } else {
            let (big, small, neg) = match self.cmp_abs(other) {
                Ordering::Equal => return Decimal::zero(),
                Ordering::Greater => (a, b, self.neg),
                Ordering::Less => (b, a, other.neg),
            };
            let mut r = vec![0u8; big.len()];
            let mut borrow = 0i8;
            for i in (0..big.len()).rev() {
                let mut s = big[i] as i8 - small[i] as i8 - borrow;
                if s < 0 {
                    s += 10;
                    borrow = 1;
                } else {
                    borrow = 0;
                }
                r[i] = s as u8;
            }
            Decimal::normalize(neg, r, high)
        }
    }

    pub fn sub(&self, other: &Decimal) -> Decimal {
        self.add(&other.neg())
    }

    /// DynamoDB's canonical text: plain notation, no exponent, no trailing zeros.
    pub fn to_canonical(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let n = self.digits.len() as i64;
        let ds: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        if self.exp <= 0 {
            s.push_str("0.");
            for _ in 0..(-self.exp) {
                s.push('0');
            }
            s.push_str(&ds);
        } else if self.exp >= n {
            s.push_str(&ds);
            for _ in 0..(self.exp - n) {
                s.push('0');
            }
        } else {
            s.push_str(&ds[..self.exp as usize]);
            s.push('.');
            s.push_str(&ds[self.exp as usize..]);
        }
        s
    }

    /// Bytes DynamoDB counts for this number in item-size arithmetic:
    /// about one byte per two significant digits, plus one.
    pub fn storage_size(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        // digits grouped in pairs aligned on the decimal point
        let n = self.digits.len() as i64;
        let low = self.exp - n; // weight of last digit is low
        let high = self.exp; // weight of first digit is high-1
        let lo_pair = low.div_euclid(2);
        let hi_pair = (high - 1).div_euclid(2);
        ((hi_pair - lo_pair + 1) as usize) + 1 + usize::from(self.neg)
    }

    /// Integer value if this decimal is a non-negative integer that fits.
    pub fn to_usize(&self) -> Option<usize> {
        if self.neg {
            return None;
        }
        if self.is_zero() {
            return Some(0);
        }
        if self.exp < self.digits.len() as i64 || self.exp > 18 {
            return None;
        }
        let mut v: usize = 0;
        for k in 0..self.exp as usize {
            let d = *self.digits.get(k).unwrap_or(&0) as usize;
            v = v.checked_mul(10)?.checked_add(d)?;
        }
        Some(v)
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("1.50", "1.5"),
            ("0", "0"),
            ("-0", "0"),
            ("000123", "123"),
            ("1e5", "100000"),
            ("1E+2", "100"),
            ("1.5e-3", "0.0015"),
            ("-12.3400", "-12.34"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+7", "7"),
            ("0.000", "0"),
            ("100", "100"),
            ("1e-3", "0.001"),
        ];
        for (i, o) in cases {
            assert_eq!(d(i).to_canonical(), o, "input {i}");
        }
        let tiny = format!("0.{}1", "0".repeat(129));
        assert_eq!(d("1e-130").to_canonical(), tiny);
        assert_eq!(d(&tiny).to_canonical(), tiny);
    }

    #[test]
    fn parse_errors() {
        for s in ["", "abc", "1.2.3", "1e", "e5", "--1", "1 ", " 1", "0x10", "1e+", "Infinity", "NaN", "."] {
            assert!(matches!(Decimal::parse(s), Err(NumberError::NotNumeric(_))), "{s}");
        }
        assert_eq!(
            Decimal::parse("abc").unwrap_err().message(),
            "The parameter cannot be converted to a numeric value: abc"
        );
    }

    #[test]
    fn limits() {
        assert!(Decimal::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(Decimal::parse("1E+126"), Err(NumberError::Overflow));
        assert_eq!(Decimal::parse("-1E+126"), Err(NumberError::Overflow));
        assert!(Decimal::parse("1E-130").is_ok());
        assert_eq!(Decimal::parse("1E-131"), Err(NumberError::Underflow));
        assert!(Decimal::parse("12345678901234567890123456789012345678").is_ok());
        assert_eq!(
            Decimal::parse("123456789012345678901234567890123456789"),
            Err(NumberError::TooPrecise)
        );
        // trailing zeros are not significant
        assert!(Decimal::parse("1234567890123456789012345678901234567800000").is_ok());
        assert_eq!(
            Decimal::parse("1E+126").unwrap_err().message(),
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
    }

    #[test]
    fn ordering() {
        let mut v: Vec<Decimal> = ["10", "-1", "2", "0", "-10.5", "0.001", "1e3", "-0.0001"].iter().map(|s| d(s)).collect();
        v.sort();
        let out: Vec<String> = v.iter().map(|x| x.to_canonical()).collect();
        assert_eq!(out, ["-10.5", "-1", "-0.0001", "0", "0.001", "2", "10", "1000"]);
        assert_eq!(d("1.0"), d("1"));
        assert_eq!(d("1.0").cmp(&d("1.00")), Ordering::Equal);
    }

    #[test]
    fn arithmetic() {
        let cases = [
            ("1", "2", "3", "-1"),
            ("0.1", "0.2", "0.3", "-0.1"),
            ("99", "1", "100", "98"),
            ("-5", "3", "-2", "-8"),
            ("1e10", "1e-10", "10000000000.0000000001", "9999999999.9999999999"),
            ("1.5", "-1.5", "0", "3"),
            ("0", "-7", "-7", "7"),
        ];
        for (a, b, sum, diff) in cases {
            assert_eq!(d(a).add(&d(b)).to_canonical(), sum, "{a}+{b}");
            assert_eq!(d(a).sub(&d(b)).to_canonical(), diff, "{a}-{b}");
        }
        // precision overflow detected by check()
        let big = d("99999999999999999999999999999999999999");
        assert_eq!(big.add(&d("0.1")).check(), Err(NumberError::TooPrecise));
        let top = d("9.9999999999999999999999999999999999999E+125");
        assert_eq!(top.add(&d("1E+125")).check(), Err(NumberError::Overflow));
    }

    #[test]
    fn to_usize() {
        assert_eq!(d("12").to_usize(), Some(12));
        assert_eq!(d("1.5").to_usize(), None);
        assert_eq!(d("-1").to_usize(), None);
        assert_eq!(d("1e3").to_usize(), Some(1000));
    }

    /// Exact decimal text of `v / 10^scale`, trimmed the way DynamoDB prints numbers.
    fn scaled(v: i128, scale: u32) -> String {
        let neg = v < 0;
        let a = v.unsigned_abs();
        let p = 10u128.pow(scale);
        let (int, frac) = (a / p, a % p);
        let mut s = int.to_string();
        if scale > 0 && frac > 0 {
            let f = format!("{:0width$}", frac, width = scale as usize);
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        if neg && s != "0" {
            s.insert(0, '-');
        }
        s
    }

    #[test]
    fn arithmetic_matches_integer_arithmetic() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let scale = (next() % 7) as u32;
            let a = (next() as i64 >> (next() % 40)) as i128;
            let b = (next() as i64 >> (next() % 40)) as i128;
            let (da, db) = (d(&scaled(a, scale)), d(&scaled(b, scale)));
            assert_eq!(da.add(&db).to_canonical(), scaled(a + b, scale), "{a} + {b} at scale {scale}");
            assert_eq!(da.sub(&db).to_canonical(), scaled(a - b, scale), "{a} - {b} at scale {scale}");
            assert_eq!(da.cmp(&db), a.cmp(&b), "{a} cmp {b}");
        }
    }

    #[test]
    fn storage_sizes() {
        // one byte per two significant digits (paired around the decimal point), plus one
        assert_eq!(d("0").storage_size(), 1);
        assert_eq!(d("1").storage_size(), 2);
        assert_eq!(d("12").storage_size(), 2);
        assert_eq!(d("123").storage_size(), 3);
        assert_eq!(d("12345").storage_size(), 4);
        assert_eq!(d("0.5").storage_size(), 2);
        assert_eq!(d("-1").storage_size(), 3);
        assert!(d("12345678901234567890123456789012345678").storage_size() <= 21);
    }

    #[test]
    fn exponent_forms_are_equal() {
        assert_eq!(d("1.5e1"), d("15"));
        assert_eq!(d("150e-1"), d("15"));
        assert_eq!(d("0.00015E5"), d("15"));
        assert_eq!(d("-0.0"), Decimal::zero());
        assert!(d("-0.0001") < Decimal::zero());
        assert!(d("1e-130") > Decimal::zero());
    }
}
