//! $formatNumber: XPath F&O 3.1 fn:format-number picture strings, as JSONata 2.0.6 implements them.

use crate::errors::make;
use crate::value::{Map, Value};
use crate::Error;

struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: char,
    per_mille: char,
    zero: char,
    digit: char,
    pattern: char,
}

struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
    sub: Vec<char>,
}

struct Pic {
    int_group_positions: Vec<usize>,
    regular: usize,
    min_int: usize,
    scaling: usize,
    prefix: String,
    frac_group_positions: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    suffix: String,
    picture: Vec<char>,
}

fn index_of(v: &[char], c: char) -> Option<usize> {
    v.iter().position(|x| *x == c)
}
fn last_index_of(v: &[char], c: char) -> Option<usize> {
    v.iter().rposition(|x| *x == c)
}

pub(crate) fn format_number(value: f64, picture: &str, opts: Option<&Map>, pos: usize) -> Result<String, Error> {
    let mut p = Props {
        decimal: '.',
        grouping: ',',
        exponent: 'e',
        minus: "-".into(),
        percent: '%',
        per_mille: '\u{2030}',
        zero: '0',
        digit: '#',
        pattern: ';',
    };
    if let Some(o) = opts {
        for (k, v) in o.iter() {
            let Value::Str(s) = v else { continue };
            let c = s.chars().next().unwrap_or(' ');
            match &**k {
                "decimal-separator" => p.decimal = c,
                "grouping-separator" => p.grouping = c,
                "exponent-separator" => p.exponent = c,
                "minus-sign" => p.minus = s.to_string(),
                "percent" => p.percent = c,
                "per-mille" => p.per_mille = c,
                "zero-digit" => p.zero = c,
                "digit" => p.digit = c,
                "pattern-separator" => p.pattern = c,
                _ => {}
            }
        }
    }
    let zc = p.zero as u32;
    let family: Vec<char> = (zc..zc + 10).filter_map(char::from_u32).collect();
    let is_digit = |c: char| family.contains(&c);
    let mut active: Vec<char> = family.clone();
    active.extend([p.decimal, p.exponent, p.grouping, p.digit, p.pattern]);
    let is_active = |c: char| active.contains(&c);
    let err = |code: &str| make(code, Some(pos), None, None);

    let subs: Vec<Vec<char>> = picture.split(p.pattern).map(|s| s.chars().collect()).collect();
    if subs.len() > 2 {
        return Err(err("D3080"));
    }
    let split_parts = |sp: &Vec<char>| -> Parts {
        let prefix_len = sp.iter().position(|c| is_active(*c) && *c != p.exponent).unwrap_or(sp.len());
        let suffix_start = sp.iter().rposition(|c| is_active(*c) && *c != p.exponent).map(|i| i + 1).unwrap_or(sp.len());
        let prefix: Vec<char> = sp[..prefix_len].to_vec();
        let suffix: Vec<char> = if suffix_start >= prefix_len { sp[suffix_start..].to_vec() } else { vec![] };
        let end = sp.len() - suffix.len();
        let active_part: Vec<char> = if end >= prefix_len { sp[prefix_len..end].to_vec() } else { vec![] };
        let exp_pos = sp[prefix_len.min(sp.len())..].iter().position(|c| *c == p.exponent).map(|i| i + prefix_len);
        let (mantissa, exponent) = match exp_pos {
            Some(ep) if ep <= sp.len() - suffix.len() => {
                let ep = ep - prefix_len;
                (active_part[..ep.min(active_part.len())].to_vec(), Some(active_part[(ep + 1).min(active_part.len())..].to_vec()))
            }
            _ => (active_part.clone(), None),
        };
        let (integer, fractional) = match index_of(&mantissa, p.decimal) {
            None => (mantissa.clone(), suffix.clone()),
            Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
        };
        Parts { prefix, suffix, active: active_part, mantissa, exponent, integer, fractional, sub: sp.clone() }
    };
    let parts: Vec<Parts> = subs.iter().map(split_parts).collect();
    for pt in &parts {
        let sp = &pt.sub;
        let mut error: Option<&str> = None;
        let dp = index_of(sp, p.decimal);
        if dp != last_index_of(sp, p.decimal) {
            error = Some("D3081");
        }
        if index_of(sp, p.percent) != last_index_of(sp, p.percent) {
            error = Some("D3082");
        }
        if index_of(sp, p.per_mille) != last_index_of(sp, p.per_mille) {
            error = Some("D3083");
        }
        if index_of(sp, p.percent).is_some() && index_of(sp, p.per_mille).is_some() {
            error = Some("D3084");
        }
        if !pt.mantissa.iter().any(|c| is_digit(*c) || *c == p.digit) {
            error = Some("D3085");
        }
        if pt.active.iter().any(|c| !is_active(*c)) {
            error = Some("D3086");
        }
        if let Some(d) = dp {
            if (d > 0 && sp[d - 1] == p.grouping) || sp.get(d + 1) == Some(&p.grouping) {
                error = Some("D3087");
            }
        } else if pt.integer.last() == Some(&p.grouping) {
            error = Some("D3088");
        }
        if sp.windows(2).any(|w| w[0] == p.grouping && w[1] == p.grouping) {
            error = Some("D3089");
        }
        if let Some(od) = index_of(&pt.integer, p.digit) {
            if pt.integer[..od].iter().any(|c| is_digit(*c)) {
                error = Some("D3090");
            }
        }
        if let Some(od) = last_index_of(&pt.fractional, p.digit) {
            if pt.fractional[od..].iter().any(|c| is_digit(*c)) {
                error = Some("D3091");
            }
        }
        if let Some(e) = &pt.exponent {
            if !e.is_empty() && (index_of(sp, p.percent).is_some() || index_of(sp, p.per_mille).is_some()) {
                error = Some("D3092");
            }
            if e.is_empty() || e.iter().any(|c| !is_digit(*c)) {
                error = Some("D3093");
            }
        }
        if let Some(code) = error {
            return Err(err(code));
        }
    }
    let analyse = |pt: &Parts| -> Pic {
        let grouping_positions = |part: &[char], to_left: bool| -> Vec<usize> {
            let mut out = vec![];
            let mut gp = index_of(part, p.grouping);
            while let Some(g) = gp {
                let slice = if to_left { &part[..g] } else { &part[g..] };
                out.push(slice.iter().filter(|c| is_digit(**c) || **c == p.digit).count());
                gp = pt.integer.get(g + 1..).and_then(|r| index_of(r, p.grouping)).map(|i| i + g + 1);
            }
            out
        };
        let igp = grouping_positions(&pt.integer, false);
        let regular = {
            if igp.is_empty() {
                0
            } else {
                fn gcd(a: usize, b: usize) -> usize {
                    if b == 0 {
                        a
                    } else {
                        gcd(b, a % b)
                    }
                }
                let f = igp.iter().copied().reduce(gcd).unwrap_or(0);
                if f == 0 || !(1..=igp.len()).all(|i| igp.contains(&(i * f))) {
                    0
                } else {
                    f
                }
            }
        };
        let fgp = grouping_positions(&pt.fractional, true);
        let mut min_int = pt.integer.iter().filter(|c| is_digit(**c)).count();
        let scaling = min_int;
        let mut min_frac = pt.fractional.iter().filter(|c| is_digit(**c)).count();
        let mut max_frac = pt.fractional.iter().filter(|c| is_digit(**c) || **c == p.digit).count();
        let exp_present = pt.exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if exp_present {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if exp_present && min_int == 0 && index_of(&pt.integer, p.digit).is_some() {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = pt.exponent.as_ref().map(|e| e.iter().filter(|c| is_digit(**c)).count()).unwrap_or(0);
        Pic {
            int_group_positions: igp,
            regular,
            min_int,
            scaling,
            prefix: pt.prefix.iter().collect(),
            frac_group_positions: fgp,
            min_frac,
            max_frac,
            min_exp,
            suffix: pt.suffix.iter().collect(),
            picture: pt.sub.clone(),
        }
    };
    let mut vars: Vec<Pic> = parts.iter().map(analyse).collect();
    if vars.len() == 1 {
        let mut second = analyse(&parts[0]);
        second.prefix = format!("{}{}", p.minus, second.prefix);
        vars.push(second);
    }
    let pic = if value >= 0.0 { &vars[0] } else { &vars[1] };
    let adjusted = if pic.picture.contains(&p.percent) {
        value * 100.0
    } else if pic.picture.contains(&p.per_mille) {
        value * 1000.0
    } else {
        value
    };
    let mut mantissa = adjusted;
    let mut exponent: Option<i32> = None;
    if pic.min_exp != 0 {
        let max_m = 10f64.powi(pic.scaling as i32);
        let min_m = 10f64.powi(pic.scaling as i32 - 1);
        let mut e = 0;
        if mantissa != 0.0 {
            while mantissa.abs() < min_m {
                mantissa *= 10.0;
                e -= 1;
            }
            while mantissa.abs() > max_m {
                mantissa /= 10.0;
                e += 1;
            }
        }
        exponent = Some(e);
    }
    let rounded = crate::functions::round_half_even(mantissa, pic.max_frac as i32);
    let make_string = |v: f64, dp: usize| -> Vec<char> {
        let s = format!("{:.*}", dp, v.abs());
        s.chars()
            .map(|c| if c.is_ascii_digit() { family[(c as u8 - b'0') as usize] } else { c })
            .collect()
    };
    let mut sv = make_string(rounded, pic.max_frac);
    match index_of(&sv, '.') {
        None => sv.push(p.decimal),
        Some(i) => sv[i] = p.decimal,
    }
    while sv.first() == Some(&p.zero) {
        sv.remove(0);
    }
    while sv.last() == Some(&p.zero) {
        sv.pop();
    }
    let dpos = index_of(&sv, p.decimal).unwrap_or(0);
    let pad_left = pic.min_int as i64 - dpos as i64;
    let pad_right = pic.min_frac as i64 - (sv.len() as i64 - dpos as i64 - 1);
    if pad_left > 0 {
        let mut v = vec![p.zero; pad_left as usize];
        v.extend(sv);
        sv = v;
    }
    if pad_right > 0 {
        sv.extend(vec![p.zero; pad_right as usize]);
    }
    let mut dpos = index_of(&sv, p.decimal).unwrap_or(0);
    if pic.regular > 0 {
        let gc = if dpos >= 1 { (dpos - 1) / pic.regular } else { 0 };
        for g in 1..=gc {
            let at = dpos - g * pic.regular;
            sv.insert(at, p.grouping);
        }
    } else {
        for gp in &pic.int_group_positions {
            if *gp <= dpos {
                sv.insert(dpos - gp, p.grouping);
                dpos += 1;
            }
        }
    }
    let dpos = index_of(&sv, p.decimal).unwrap_or(0);
    for gp in &pic.frac_group_positions {
        let at = gp + dpos + 1;
        if at <= sv.len() {
            sv.insert(at, p.grouping);
        }
    }
    let dpos = index_of(&sv, p.decimal);
    if pic.min_frac == 0 && dpos == Some(sv.len() - 1) {
        sv.pop();
    }
    let mut out: String = sv.into_iter().collect();
    if let Some(e) = exponent {
        let mut se: String = make_string(e as f64, 0).into_iter().collect();
        let pl = pic.min_exp as i64 - se.chars().count() as i64;
        if pl > 0 {
            se = format!("{}{}", p.zero.to_string().repeat(pl as usize), se);
        }
        out = format!("{}{}{}{}", out, p.exponent, if e < 0 { p.minus.as_str() } else { "" }, se);
    }
    Ok(format!("{}{}{}", pic.prefix, out, pic.suffix))
}
