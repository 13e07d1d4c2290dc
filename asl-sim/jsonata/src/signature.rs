//! Function signatures (`<s-n?:s>`) and argument validation.

use crate::value::Value;
use crate::Error;

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub allowed: String, // symbols accepted
    pub ty: char,        // main type char ('a','f','(',...)
    pub quant: char,     // ' ', '?', '+'
    pub context: bool,
    pub subtype: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Signature {
    pub params: Vec<Param>,
}

pub(crate) fn symbol(v: &Value) -> char {
    match v {
        Value::Func(_) => 'f',
        Value::Str(_) => 's',
        Value::Num(_) => 'n',
        Value::Bool(_) => 'b',
        Value::Null => 'l',
        Value::Arr(_) => 'a',
        Value::Obj(_) => 'o',
        Value::Undefined => 'm',
    }
}

fn find_close(chars: &[char], start: usize, open: char, close: char) -> Option<usize> {
    let mut depth = 1;
    let mut i = start;
    while i + 1 < chars.len() {
        i += 1;
        if chars[i] == open {
            depth += 1;
        } else if chars[i] == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

impl Signature {
    pub fn parse(sig: &str) -> Result<Signature, Error> {
        let chars: Vec<char> = sig.chars().collect();
        let mut params: Vec<Param> = vec![];
        let mut i = 1; // skip '<'
        while i < chars.len() {
            let c = chars[i];
            if c == ':' {
                break;
            }
            match c {
                's' | 'n' | 'b' | 'l' | 'o' => params.push(Param {
                    allowed: format!("{}m", c),
                    ty: c,
                    quant: ' ',
                    context: false,
                    subtype: None,
                }),
                'a' => params.push(Param { allowed: "asnblfom".into(), ty: 'a', quant: ' ', context: false, subtype: None }),
                'f' => params.push(Param { allowed: "f".into(), ty: 'f', quant: ' ', context: false, subtype: None }),
                'j' => params.push(Param { allowed: "asnblom".into(), ty: 'j', quant: ' ', context: false, subtype: None }),
                'x' => params.push(Param { allowed: "asnblfom".into(), ty: 'x', quant: ' ', context: false, subtype: None }),
                '(' => {
                    let end = find_close(&chars, i, '(', ')').ok_or_else(|| crate::errors::err("S0402", i))?;
                    let choice: String = chars[i + 1..end].iter().collect();
                    if choice.contains('<') {
                        return Err(crate::errors::err("S0402", i));
                    }
                    params.push(Param { allowed: format!("{}m", choice), ty: '(', quant: ' ', context: false, subtype: None });
                    i = end;
                }
                '<' => {
                    let last = params.last_mut().ok_or_else(|| crate::errors::err("S0401", i))?;
                    if last.ty != 'a' && last.ty != 'f' {
                        return Err(crate::errors::err("S0401", i));
                    }
                    let end = find_close(&chars, i, '<', '>').ok_or_else(|| crate::errors::err("S0401", i))?;
                    last.subtype = Some(chars[i + 1..end].iter().collect());
                    i = end;
                }
                '?' | '+' => {
                    if let Some(last) = params.last_mut() {
                        last.quant = c;
                    }
                }
                '-' => {
                    if let Some(last) = params.last_mut() {
                        last.context = true;
                        last.quant = '?';
                    }
                }
                '>' => break,
                _ => {}
            }
            i += 1;
        }
        Ok(Signature { params })
    }

    fn match_from(&self, sym: &[char], pi: usize, si: usize, out: &mut Vec<(usize, usize)>) -> bool {
        if pi == self.params.len() {
            return si == sym.len();
        }
        let p = &self.params[pi];
        let ok = |c: char| p.allowed.contains(c);
        let mut max = 0;
        while si + max < sym.len() && ok(sym[si + max]) {
            max += 1;
            if p.quant != '+' {
                break;
            }
        }
        let min = if p.quant == '?' { 0 } else { 1 };
        let mut n = max;
        loop {
            if n < min {
                return false;
            }
            out.push((si, n));
            if self.match_from(sym, pi + 1, si + n, out) {
                return true;
            }
            out.pop();
            if n == 0 {
                return false;
            }
            n -= 1;
        }
    }

    /// Validate and coerce the arguments.
    pub fn validate(&self, args: &[Value], context: &Value, fname: &str, pos: usize) -> Result<Vec<Value>, Error> {
        let sym: Vec<char> = args.iter().map(symbol).collect();
        let mut m = Vec::with_capacity(self.params.len());
        if !self.match_from(&sym, 0, 0, &mut m) {
            // find the failing argument
            let mut good_to = 0;
            for pi in 0..self.params.len() {
                let partial = Signature { params: self.params[..=pi].to_vec() };
                let mut found = None;
                // longest prefix match
                for end in (0..=sym.len()).rev() {
                    let mut mm = vec![];
                    if partial.match_from(&sym[..end], 0, 0, &mut mm) {
                        found = Some(end);
                        break;
                    }
                }
                match found {
                    None => break,
                    Some(e) => good_to = e,
                }
            }
            let mut e = crate::errors::make("T0410", Some(pos), Some(fname), None);
            e.message = e.message.replace("{{index}}", &(good_to + 1).to_string());
            return Err(e);
        }
        // room for the padding eval::apply_func adds
        let mut out = Vec::with_capacity(self.params.len().max(args.len()) + 4);
        let mut arg_index = 0;
        for (pi, p) in self.params.iter().enumerate() {
            let (start, n) = m[pi];
            if n == 0 {
                if p.context {
                    let ct = symbol(context);
                    if p.allowed.contains(ct) {
                        out.push(context.clone());
                    } else {
                        let mut e = crate::errors::make("T0411", Some(pos), Some(fname), None);
                        e.message = e.message.replace("{{index}}", &(arg_index + 1).to_string());
                        return Err(e);
                    }
                } else {
                    out.push(args.get(arg_index).cloned().unwrap_or(Value::Undefined));
                    arg_index += 1;
                }
                continue;
            }
            for k in 0..n {
                let single = sym[start + k];
                let mut arg = args[arg_index].clone();
                if p.ty == 'a' {
                    if single == 'm' {
                        arg = Value::Undefined;
                    } else {
                        let mut ok = true;
                        if let Some(st) = &p.subtype {
                            let stc = st.chars().next().unwrap_or('x');
                            if single != 'a' {
                                if single.to_string() != *st {
                                    ok = false;
                                }
                            } else if let Value::Arr(a) = &arg {
                                if !a.items.is_empty() {
                                    let it = symbol(&a.items[0]);
                                    if it != stc {
                                        ok = false;
                                    } else {
                                        ok = a.items.iter().all(|v| symbol(v) == it);
                                    }
                                }
                            }
                        }
                        if !ok {
                            let mut e = crate::errors::make("T0412", Some(pos), Some(fname), None);
                            e.message = e
                                .message
                                .replace("{{index}}", &(arg_index + 1).to_string())
                                .replace("{{type}}", p.subtype.as_deref().unwrap_or(""));
                            return Err(e);
                        }
                        if single != 'a' {
                            arg = Value::array(vec![arg]);
                        }
                    }
                }
                out.push(arg);
                arg_index += 1;
            }
        }
        Ok(out)
    }
}
