//! The evaluator (a port of the semantics of jsonata-js's evaluate()).

use crate::errors::{err, make};
use crate::parser::{Kind, LambdaDef, Node, RegexLit, SortTerm, Stage};
use crate::value::{deep_equal, Arr, Map, Value};
use crate::{Env, Error};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

pub(crate) type R = Result<Value, Error>;

pub(crate) struct Frame {
    // frames hold few bindings: a vector beats a hash map here
    vars: RefCell<Vec<(Arc<str>, Value)>>,
    parent: Option<Rc<Frame>>,
}

impl Frame {
    pub fn new(parent: Option<Rc<Frame>>) -> Rc<Frame> {
        Rc::new(Frame { vars: RefCell::new(Vec::new()), parent })
    }
    pub fn bind(&self, name: &Arc<str>, v: Value) {
        let mut vars = self.vars.borrow_mut();
        if let Some(slot) = vars.iter_mut().find(|(k, _)| **k == **name) {
            slot.1 = v;
        } else {
            vars.push((name.clone(), v));
        }
    }
    pub fn bind_str(&self, name: &str, v: Value) {
        self.bind(&Arc::from(name), v);
    }
    fn get(&self, name: &str) -> Option<Value> {
        self.vars.borrow().iter().rev().find(|(k, _)| &**k == name).map(|(_, v)| v.clone())
    }
    pub fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.get(name) {
            return Some(v);
        }
        let mut f = self.parent.clone();
        while let Some(fr) = f {
            if let Some(v) = fr.get(name) {
                return Some(v);
            }
            f = fr.parent.clone();
        }
        None
    }
}

pub(crate) type NativeFn = fn(&mut Ev, &[Value], &Value, usize) -> R;

pub(crate) struct Builtin {
    pub name: &'static str,
    pub sig: crate::signature::Signature,
    pub f: NativeFn,
}

pub(crate) enum Func {
    Lambda { def: Arc<LambdaDef>, input: Value, env: Rc<Frame> },
    Builtin(&'static Builtin),
    Partial { f: Value, args: Vec<Option<Value>> },
    Regex(Arc<RegexLit>),
    /// the `next` of a regex match object: continues matching from a byte offset
    RegexNext(Arc<RegexLit>, Rc<str>, usize),
    Chain(Value, Value),
    Transform { def: Arc<(Node, Node, Option<Node>)>, env: Rc<Frame>, pos: usize },
}

pub(crate) fn arity(f: &Func) -> usize {
    match f {
        Func::Lambda { def, .. } => def.params.len(),
        Func::Builtin(b) => {
            if b.name == "string" {
                1 // JavaScript's Function.length ignores the defaulted `prettify`
            } else {
                b.sig.params.len()
            }
        }
        Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
        Func::Regex(_) => 1,
        Func::RegexNext(..) => 0,
        Func::Chain(..) => 1,
        Func::Transform { .. } => 1,
    }
}

pub(crate) struct Ev<'x, 'a> {
    pub env: &'x mut Env<'a>,
    pub depth: usize,
    /// Nodes evaluated so far, against `limits::MAX_STEPS`.
    pub steps: u64,
    /// Per-item work so far, against `limits::MAX_WORK` (see there).
    pub work: u64,
    pub globals: HashMap<String, Value>,
    pub call_env: Option<Rc<Frame>>,
}

/// Nesting limit for evaluation (about 4 units per level of non-tail JSONata recursion).
const MAX_DEPTH: usize = 16000;
/// The work an array or object constructor costs besides its items: building the array, or
/// a map and its key index (measured: about thirty times a range item, the unit of
/// `limits::MAX_WORK`), so that ten million of them (`[1..10000000].{"a": $}`) stop in
/// seconds, not after 14 s and 4 GB.
const ALLOC_WORK: usize = 32;

fn take_items(v: Value) -> Vec<Value> {
    match v {
        Value::Arr(a) => match Rc::try_unwrap(a) {
            Ok(mut a) => std::mem::take(&mut a.items),
            Err(a) => a.items.clone(),
        },
        Value::Undefined => vec![],
        v => vec![v],
    }
}

pub(crate) fn is_numeric(v: &Value) -> Result<bool, Error> {
    match v {
        Value::Num(n) => {
            if n.is_nan() {
                Ok(false)
            } else if !n.is_finite() {
                Err(make("D1001", None, None, Some(&crate::value::fmt_number(*n))))
            } else {
                Ok(true)
            }
        }
        _ => Ok(false),
    }
}

pub(crate) fn boolean(v: &Value) -> Option<bool> {
    Some(match v {
        Value::Undefined => return None,
        Value::Arr(a) => {
            if a.items.len() == 1 {
                boolean(&a.items[0]).unwrap_or(false)
            } else {
                a.items.iter().any(|x| boolean(x) == Some(true))
            }
        }
        Value::Str(s) => !s.is_empty(),
        Value::Num(n) => *n != 0.0 && !n.is_nan(),
        Value::Obj(o) => !o.is_empty(),
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::Func(_) => false,
    })
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || flatten_into_inner(v, out))
}

fn flatten_into_inner(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Arr(a) => a.items.iter().for_each(|x| flatten_into(x, out)),
        v => out.push(v.clone()),
    }
}

pub(crate) fn lookup_key(input: &Value, key: &str) -> Value {
    match input {
        Value::Arr(a) => {
            let mut out = Vec::new();
            for it in &a.items {
                match lookup_key(it, key) {
                    Value::Undefined => {}
                    Value::Arr(r) => out.extend(r.items.iter().cloned()),
                    v => out.push(v),
                }
            }
            Value::seq(out)
        }
        Value::Obj(o) => o.get(key).cloned().unwrap_or(Value::Undefined),
        _ => Value::Undefined,
    }
}

pub(crate) fn frame_from_tuple(env: &Rc<Frame>, tuple: &Value) -> Rc<Frame> {
    let f = Frame::new(Some(env.clone()));
    if let Value::Obj(o) = tuple {
        let mut vars = f.vars.borrow_mut();
        for (k, v) in o.iter() {
            vars.push((Arc::from(&**k), v.clone()));
        }
    }
    f
}

fn tuple_at(t: &Value) -> Value {
    match t {
        Value::Obj(o) => o.get("@").cloned().unwrap_or(Value::Undefined),
        _ => Value::Undefined,
    }
}

/// fn.append semantics
pub(crate) fn append(a: Value, b: Value) -> Value {
    if a.is_undef() {
        return b;
    }
    if b.is_undef() {
        return a;
    }
    let mut items = take_items(a);
    match b {
        Value::Arr(bb) => items.extend(bb.items.iter().cloned()),
        v => items.push(v),
    }
    Value::array(items)
}

/// `append`, refusing a result past `limits::MAX_ARRAY_ITEMS` before building it.
pub(crate) fn append_checked(a: Value, b: Value, pos: usize) -> R {
    let len = |v: &Value| match v {
        Value::Undefined => 0,
        Value::Arr(x) => x.items.len(),
        _ => 1,
    };
    crate::limits::check_array("$append", len(&a) as u128 + len(&b) as u128, pos)?;
    Ok(append(a, b))
}

fn set_flag(v: &mut Value, f: impl FnOnce(&mut Arr)) {
    if let Value::Arr(a) = v {
        f(Rc::make_mut(a));
    }
}

impl<'x, 'a> Ev<'x, 'a> {
    /// Charges `items` units of per-item work; past the budget the evaluation ends with U1002.
    pub(crate) fn charge(&mut self, items: usize, pos: usize) -> Result<(), Error> {
        self.work = self.work.saturating_add(items as u64);
        if self.work > crate::limits::MAX_WORK {
            return Err(err("U1002", pos));
        }
        Ok(())
    }

    pub fn eval(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> R {
        self.steps += 1;
        if self.steps > crate::limits::MAX_STEPS {
            return Err(err("U1002", node.pos));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(err("U1001", node.pos));
        }
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || self.eval_inner(node, input, env));
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> R {
        let mut result = match &node.kind {
            Kind::Path(steps) => self.eval_path(node, steps, input, env)?,
            Kind::Binary(op, l, r) => self.eval_binary(node, op, l, r, input, env)?,
            Kind::Neg(e) => {
                let v = self.eval(e, input, env)?;
                match v {
                    Value::Undefined => Value::Undefined,
                    Value::Num(n) if is_numeric(&v)? => Value::Num(-n),
                    _ => return Err(make("D1002", Some(node.pos), Some("-"), None)),
                }
            }
            Kind::Array(items) => {
                let mut out: Vec<Value> = Vec::new();
                for item in items {
                    let v = self.eval(item, input, env)?;
                    if v.is_undef() {
                        continue;
                    }
                    if matches!(item.kind, Kind::Array(_)) {
                        out.push(v);
                    } else {
                        match v {
                            Value::Arr(a) => {
                                if out.is_empty() {
                                    out = match Rc::try_unwrap(a) {
                                        Ok(mut a) => std::mem::take(&mut a.items),
                                        Err(a) => a.items.clone(),
                                    };
                                } else {
                                    out.extend(a.items.iter().cloned());
                                }
                            }
                            v => out.push(v),
                        }
                    }
                }
                self.charge(out.len() + ALLOC_WORK, node.pos)?;
                let cons = node.consarray;
                Value::arr_with(out, |a| a.cons = cons)
            }
            Kind::Object(pairs) => self.eval_group(pairs, node.pos, input.clone(), env)?,
            Kind::Name(n) => lookup_key(input, n),
            Kind::Str(s) => Value::str(s),
            Kind::Num(n) => Value::Num(*n),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null => Value::Null,
            Kind::Wildcard => {
                let mut out = vec![];
                let inp = match input {
                    Value::Arr(a) if a.outer && !a.items.is_empty() => a.items[0].clone(),
                    v => v.clone(),
                };
                match &inp {
                    Value::Obj(o) => {
                        for v in o.values() {
                            match v {
                                Value::Arr(_) => flatten_into(v, &mut out),
                                v => out.push(v.clone()),
                            }
                        }
                    }
                    Value::Arr(a) => {
                        for v in &a.items {
                            match v {
                                Value::Arr(_) => flatten_into(v, &mut out),
                                v => out.push(v.clone()),
                            }
                        }
                    }
                    _ => {}
                }
                Value::seq(out)
            }
            Kind::Descendant => {
                if input.is_undef() {
                    Value::Undefined
                } else {
                    let mut out = vec![];
                    recurse_descendants(input, &mut out);
                    if out.len() == 1 {
                        out.pop().unwrap()
                    } else {
                        Value::seq(out)
                    }
                }
            }
            Kind::ParentL(label) => env.lookup(label).unwrap_or(Value::Undefined),
            Kind::Parent(_) => Value::Undefined,
            Kind::Condition(c, t, e) => {
                let cv = self.eval(c, input, env)?;
                if boolean(&cv) == Some(true) {
                    self.eval(t, input, env)?
                } else if let Some(e) = e {
                    self.eval(e, input, env)?
                } else {
                    Value::Undefined
                }
            }
            Kind::Block(exprs) => {
                let frame = Frame::new(Some(env.clone()));
                let mut r = Value::Undefined;
                for e in exprs {
                    r = self.eval(e, input, &frame)?;
                }
                r
            }
            Kind::Bind(name, rhs) => {
                let v = self.eval(rhs, input, env)?;
                env.bind(name, v.clone());
                v
            }
            Kind::Regex(r) => Value::Func(Rc::new(Func::Regex(r.clone()))),
            Kind::Function { proc_, args, partial: false } => self.eval_function(node, proc_, args, input, env, None)?,
            Kind::Function { proc_, args, partial: true } => self.eval_partial(node, proc_, args, input, env)?,
            Kind::Var(name) => {
                if name.is_empty() {
                    match input {
                        Value::Arr(a) if a.outer => a.items.first().cloned().unwrap_or(Value::Undefined),
                        v => v.clone(),
                    }
                } else {
                    self.lookup_var(env, name)
                }
            }
            Kind::Lambda(def) => {
                Value::Func(Rc::new(Func::Lambda { def: def.clone(), input: input.clone(), env: env.clone() }))
            }
            Kind::Apply(l, r) => self.eval_apply(node, l, r, input, env)?,
            Kind::Transform(t) => {
                Value::Func(Rc::new(Func::Transform { def: t.clone(), env: env.clone(), pos: node.pos }))
            }
            Kind::Sort(_) => Value::Undefined,
            Kind::Placeholder => Value::Undefined,
            _ => return Err(make("S0206", Some(node.pos), None, None)),
        };
        if let Some(preds) = &node.predicate {
            for p in preds {
                if let Stage::Filter(e, _) = p {
                    result = self.eval_filter(e, result, env)?;
                }
            }
        }
        if !matches!(node.kind, Kind::Path(_)) {
            if let Some(g) = &node.group {
                result = self.eval_group(&g.0, g.1, result, env)?;
            }
        }
        if let Value::Arr(a) = &result {
            if a.seq && !a.tuple {
                if node.keep_array && !a.keep {
                    set_flag(&mut result, |a| a.keep = true);
                }
                let a = result.as_arr().unwrap();
                if a.items.is_empty() {
                    return Ok(Value::Undefined);
                } else if a.items.len() == 1 && !a.keep {
                    return Ok(a.items[0].clone());
                }
            }
        }
        Ok(result)
    }

    pub fn lookup_var(&mut self, env: &Rc<Frame>, name: &str) -> Value {
        if let Some(v) = env.lookup(name) {
            return v;
        }
        if let Some(v) = self.globals.get(name) {
            return v.clone();
        }
        if let Some(j) = self.env.bindings.get(name) {
            let v = crate::value::from_json(j);
            self.globals.insert(name.to_string(), v.clone());
            return v;
        }
        if let Some(b) = crate::functions::lookup(name) {
            // one value per builtin and evaluation, so that `$sum = $sum` holds
            let v = Value::Func(Rc::new(Func::Builtin(b)));
            self.globals.insert(name.to_string(), v.clone());
            return v;
        }
        Value::Undefined
    }

    fn var_exists(&mut self, env: &Rc<Frame>, name: &str) -> bool {
        !self.lookup_var(env, name).is_undef()
    }

    /// A call's procedure that evaluated to nothing: written as a name that is a variable
    /// (`x(1)` meaning `$x(1)`), it is error `code` (T1005 for a call, T1007 for a partial
    /// application); otherwise the caller reports it.
    fn check_callable(&mut self, call: &Node, proc_: &Node, proc_v: &Value, env: &Rc<Frame>, code: &str) -> Result<(), Error> {
        if proc_v.is_undef() {
            if let Kind::Path(steps) = &proc_.kind {
                if let Kind::Name(n) = &steps[0].kind {
                    if self.var_exists(env, n) {
                        return Err(make(code, Some(call.pos), Some(n), None));
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ paths

    fn eval_path(&mut self, node: &Node, steps: &[Node], input: &Value, env: &Rc<Frame>) -> R {
        let mut input_seq: Value = if input.is_array() && !matches!(steps[0].kind, Kind::Var(_)) {
            input.clone()
        } else {
            Value::seq(vec![input.clone()])
        };
        let mut result = Value::Undefined;
        let mut is_tuple = false;
        let mut tuples: Option<Vec<Value>> = None;
        let n = steps.len();
        for (ii, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            if ii == 0 && step.consarray {
                result = self.eval(step, &input_seq, env)?;
            } else if is_tuple {
                tuples = Some(self.eval_tuple_step(step, &input_seq, tuples.take(), env)?);
            } else {
                result = self.eval_step(step, &input_seq, env, ii == n - 1)?;
            }
            if !is_tuple {
                let empty = match &result {
                    Value::Undefined => true,
                    Value::Arr(a) => a.items.is_empty(),
                    _ => false,
                };
                if empty {
                    break;
                }
            }
            if step.focus.is_none() {
                input_seq = result.clone();
            }
        }
        if is_tuple {
            let t = tuples.clone().unwrap_or_default();
            if node.tuple {
                result = Value::arr_with(t, |a| {
                    a.seq = true;
                    a.tuple = true
                });
            } else {
                result = Value::seq(t.iter().map(tuple_at).collect());
            }
        }
        if node.keep_singleton_array {
            match &result {
                Value::Arr(a) => {
                    if a.cons && !a.seq {
                        result = Value::arr_with(vec![result.clone()], |a| {
                            a.seq = true;
                            a.keep = true
                        });
                    } else {
                        set_flag(&mut result, |a| a.keep = true);
                    }
                }
                Value::Undefined => {}
                v => {
                    result = Value::arr_with(vec![v.clone()], |a| {
                        a.seq = true;
                        a.keep = true
                    });
                }
            }
        }
        if let Some(g) = &node.group {
            let inp = if is_tuple {
                Value::arr_with(tuples.unwrap_or_default(), |a| {
                    a.seq = true;
                    a.tuple = true
                })
            } else {
                result.clone()
            };
            result = self.eval_group(&g.0, g.1, inp, env)?;
        }
        Ok(result)
    }

    fn eval_step(&mut self, step: &Node, input: &Value, env: &Rc<Frame>, last: bool) -> R {
        if let Kind::Sort(terms) = &step.kind {
            let mut r = self.eval_sort(terms, step.pos, input, env)?;
            if let Some(st) = &step.stages {
                r = self.eval_stages(st, r, env)?;
            }
            return Ok(r);
        }
        let items: &[Value] = match input {
            Value::Arr(a) => &a.items,
            _ => std::slice::from_ref(input),
        };
        let mut results: Vec<Value> = Vec::with_capacity(items.len());
        for it in items {
            let mut res = self.eval(step, it, env)?;
            if let Some(st) = &step.stages {
                for s in st {
                    if let Stage::Filter(e, _) = s {
                        res = self.eval_filter(e, res, env)?;
                    }
                }
            }
            if !res.is_undef() {
                results.push(res);
            }
        }
        if last && results.len() == 1 {
            if let Value::Arr(a) = &results[0] {
                if !a.seq {
                    return Ok(results.pop().unwrap());
                }
            }
        }
        let total: u128 = results.iter().map(|r| match r {
            Value::Arr(a) if !a.cons => a.items.len() as u128,
            _ => 1,
        }).sum();
        crate::limits::check_array("A path step", total, step.pos)?;
        self.charge(total as usize, step.pos)?;
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Value::Arr(a) if !a.cons => match Rc::try_unwrap(a) {
                    Ok(mut a) => out.append(&mut a.items),
                    Err(a) => out.extend(a.items.iter().cloned()),
                },
                v => out.push(v),
            }
        }
        Ok(Value::seq(out))
    }

    fn eval_stages(&mut self, stages: &[Stage], input: Value, env: &Rc<Frame>) -> R {
        let mut result = input;
        for s in stages {
            match s {
                Stage::Filter(e, _) => result = self.eval_filter(e, result, env)?,
                Stage::Index(name) => {
                    if let Value::Arr(a) = &mut result {
                        let a = Rc::make_mut(a);
                        for (i, t) in a.items.iter_mut().enumerate() {
                            if let Value::Obj(o) = t {
                                Rc::make_mut(o).insert(Rc::from(&**name), Value::Num(i as f64));
                            }
                        }
                    }
                }
            }
        }
        Ok(result)
    }

    fn eval_tuple_step(
        &mut self,
        step: &Node,
        input: &Value,
        tuples: Option<Vec<Value>>,
        env: &Rc<Frame>,
    ) -> Result<Vec<Value>, Error> {
        if let Kind::Sort(terms) = &step.kind {
            let mut result = if let Some(t) = tuples {
                let tv = Value::arr_with(t, |a| {
                    a.seq = true;
                    a.tuple = true
                });
                self.eval_sort(terms, step.pos, &tv, env)?
            } else {
                let sorted = self.eval_sort(terms, step.pos, input, env)?;
                let mut out = vec![];
                for (i, v) in sorted.members().into_iter().enumerate() {
                    let mut m = Map::new();
                    m.insert(Rc::from("@"), v);
                    if let Some(ix) = &step.index {
                        m.insert(Rc::from(&**ix), Value::Num(i as f64));
                    }
                    out.push(Value::Obj(Rc::new(m)));
                }
                Value::arr_with(out, |a| {
                    a.seq = true;
                    a.tuple = true
                })
            };
            if let Some(st) = &step.stages {
                result = self.eval_stages(st, result, env)?;
            }
            return Ok(take_items(result));
        }
        let tuples = match tuples {
            Some(t) => t,
            None => input
                .members()
                .into_iter()
                .map(|v| {
                    let mut m = Map::new();
                    m.insert(Rc::from("@"), v);
                    Value::Obj(Rc::new(m))
                })
                .collect(),
        };
        let mut result = vec![];
        for t in &tuples {
            let step_env = frame_from_tuple(env, t);
            let at = tuple_at(t);
            let res = self.eval(step, &at, &step_env)?;
            if res.is_undef() {
                continue;
            }
            let is_tuple_res = matches!(&res, Value::Arr(a) if a.tuple);
            let items = match &res {
                Value::Arr(a) => a.items.clone(),
                v => vec![v.clone()],
            };
            let base = match t {
                Value::Obj(o) => (**o).clone(),
                _ => Map::new(),
            };
            for (bb, item) in items.into_iter().enumerate() {
                let mut tuple = base.clone();
                if is_tuple_res {
                    if let Value::Obj(o) = &item {
                        for (k, v) in o.iter() {
                            tuple.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    if let Some(f) = &step.focus {
                        tuple.insert(Rc::from(&**f), item);
                        tuple.insert(Rc::from("@"), at.clone());
                    } else {
                        tuple.insert(Rc::from("@"), item);
                    }
                    if let Some(ix) = &step.index {
                        tuple.insert(Rc::from(&**ix), Value::Num(bb as f64));
                    }
                    if let Some(al) = &step.anc_label {
                        tuple.insert(Rc::from(&**al), at.clone());
                    }
                }
                // a tuple copies every binding before it: weighted so that a runaway cross
                // product stops while its live tuples still fit in a few hundred megabytes
                self.charge(32 * (tuple.len() + 1), step.pos)?;
                result.push(Value::Obj(Rc::new(tuple)));
            }
        }
        crate::limits::check_array("A path step", result.len() as u128, step.pos)?;
        if let Some(st) = &step.stages {
            let r = Value::arr_with(result, |a| {
                a.seq = true;
                a.tuple = true
            });
            return Ok(take_items(self.eval_stages(st, r, env)?));
        }
        Ok(result)
    }

    pub fn eval_filter(&mut self, pred: &Node, input: Value, env: &Rc<Frame>) -> R {
        let is_tuple = matches!(&input, Value::Arr(a) if a.tuple);
        let single: [Value; 1];
        let items: &[Value] = match &input {
            Value::Arr(a) => &a.items,
            Value::Undefined => &[],
            v => {
                single = [v.clone()];
                &single
            }
        };
        let mut out = vec![];
        if let Kind::Num(n) = pred.kind {
            let mut idx = n.floor();
            if idx < 0.0 {
                idx += items.len() as f64;
            }
            if idx >= 0.0 && (idx as usize) < items.len() {
                let item = items[idx as usize].clone();
                if let Value::Arr(_) = &item {
                    return Ok(item);
                }
                out.push(item);
            }
        } else {
            let len = items.len() as f64;
            for (index, item) in items.iter().enumerate() {
                let (ctx, fenv) = if is_tuple {
                    (tuple_at(item), frame_from_tuple(env, item))
                } else {
                    (item.clone(), env.clone())
                };
                let res = self.eval(pred, &ctx, &fenv)?;
                let nums: Option<Vec<f64>> = match &res {
                    Value::Num(n) => {
                        is_numeric(&res)?;
                        Some(vec![*n])
                    }
                    Value::Arr(a) if a.items.iter().all(|x| matches!(x, Value::Num(_))) => {
                        Some(a.items.iter().map(|x| x.num().unwrap()).collect())
                    }
                    _ => None,
                };
                if let Some(nums) = nums {
                    for n in nums {
                        let mut ii = n.floor();
                        if ii < 0.0 {
                            ii += len;
                        }
                        if ii == index as f64 {
                            out.push(item.clone());
                        }
                    }
                } else if boolean(&res) == Some(true) {
                    out.push(item.clone());
                }
            }
        }
        Ok(Value::arr_with(out, |a| {
            a.seq = true;
            a.tuple = is_tuple
        }))
    }

    // ------------------------------------------------------------ group / object constructor

    fn eval_group(&mut self, pairs: &[(Node, Node)], pos: usize, input: Value, env: &Rc<Frame>) -> R {
        let reduce = matches!(&input, Value::Arr(a) if a.tuple);
        let mut items = match input {
            Value::Arr(a) => a.items.clone(),
            v => vec![v],
        };
        // Each item is copied into a group per key, and each call builds a map: weighed so
        // that a million object constructors (`[1..1000000].{"a": $}`) cost what they take.
        self.charge(4 * items.len() * pairs.len().max(1) + ALLOC_WORK, pos)?;
        if items.is_empty() {
            items.push(Value::Undefined);
        }
        enum Data {
            One(Value),
            Many(Vec<Value>),
        }
        let mut groups: indexmap::IndexMap<Rc<str>, (Data, usize)> = indexmap::IndexMap::new();
        for item in &items {
            let fenv = if reduce { frame_from_tuple(env, item) } else { env.clone() };
            let ctx = if reduce { tuple_at(item) } else { item.clone() };
            for (pi, (k, _)) in pairs.iter().enumerate() {
                let key = self.eval(k, &ctx, &fenv)?;
                let key = match key {
                    Value::Undefined => continue,
                    Value::Str(s) => s,
                    _ => return Err(make("T1003", Some(pos), None, None)),
                };
                if let Some(entry) = groups.get_mut(&key) {
                    if entry.1 != pi {
                        return Err(make("D1009", Some(pos), None, Some(&key)));
                    }
                    let d = std::mem::replace(&mut entry.0, Data::Many(vec![]));
                    let mut v = match d {
                        Data::One(Value::Arr(a)) => a.items.clone(),
                        Data::One(Value::Undefined) => vec![],
                        Data::One(x) => vec![x],
                        Data::Many(v) => v,
                    };
                    match item {
                        Value::Arr(a) => v.extend(a.items.iter().cloned()),
                        Value::Undefined => {}
                        x => v.push(x.clone()),
                    }
                    entry.0 = Data::Many(v);
                } else {
                    groups.insert(key, (Data::One(item.clone()), pi));
                }
            }
        }
        let mut result = Map::new();
        for (key, (data, pi)) in groups {
            let data = match data {
                Data::One(v) => v,
                Data::Many(v) => Value::array(v),
            };
            let (ctx, fenv) = if reduce {
                let tuple = reduce_tuple_stream(&data);
                let at = tuple_at(&tuple);
                let mut t = match tuple {
                    Value::Obj(o) => (*o).clone(),
                    _ => Map::new(),
                };
                t.shift_remove("@");
                (at, frame_from_tuple(env, &Value::Obj(Rc::new(t))))
            } else {
                (data, env.clone())
            };
            let v = self.eval(&pairs[pi].1, &ctx, &fenv)?;
            if !v.is_undef() {
                result.insert(key, v);
            }
        }
        Ok(Value::Obj(Rc::new(result.js_order())))
    }

    // ------------------------------------------------------------ sort

    fn eval_sort(&mut self, terms: &[SortTerm], pos: usize, input: &Value, env: &Rc<Frame>) -> R {
        let is_tuple = matches!(input, Value::Arr(a) if a.tuple);
        let items = match input {
            Value::Arr(a) => a.items.clone(),
            Value::Undefined => vec![],
            v => vec![v.clone()],
        };
        // a comparison sort touches each item about log2(n) times
        self.charge(items.len() * (usize::BITS - items.len().leading_zeros()).max(1) as usize, pos)?;
        let mut keys: Vec<Vec<Value>> = Vec::with_capacity(items.len());
        for it in &items {
            let (ctx, fenv) = if is_tuple { (tuple_at(it), frame_from_tuple(env, it)) } else { (it.clone(), env.clone()) };
            let mut k = vec![];
            for t in terms {
                k.push(self.eval(&t.expr, &ctx, &fenv)?);
            }
            keys.push(k);
        }
        let mut error: Option<Error> = None;
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let cmp = |a: &usize, b: &usize, error: &mut Option<Error>| -> std::cmp::Ordering {
            use std::cmp::Ordering::*;
            for (ti, t) in terms.iter().enumerate() {
                let aa = &keys[*a][ti];
                let bb = &keys[*b][ti];
                let c = match (aa, bb) {
                    (Value::Undefined, Value::Undefined) => continue,
                    (Value::Undefined, _) => return Greater,
                    (_, Value::Undefined) => return Less,
                    (Value::Num(x), Value::Num(y)) => x.partial_cmp(y).unwrap_or(Equal),
                    (Value::Str(x), Value::Str(y)) => crate::functions::cmp_js_str(x, y),
                    (Value::Num(_) | Value::Str(_), Value::Num(_) | Value::Str(_)) => {
                        if error.is_none() {
                            *error = Some(make("T2007", Some(pos), None, None));
                        }
                        return Equal;
                    }
                    _ => {
                        if error.is_none() {
                            *error = Some(make("T2008", Some(pos), None, None));
                        }
                        return Equal;
                    }
                };
                if c == Equal {
                    continue;
                }
                return if t.descending { c.reverse() } else { c };
            }
            Equal
        };
        idx.sort_by(|a, b| cmp(a, b, &mut error));
        if let Some(e) = error {
            return Err(e);
        }
        let out: Vec<Value> = idx.into_iter().map(|i| items[i].clone()).collect();
        Ok(Value::arr_with(out, |a| {
            a.seq = true;
            a.tuple = is_tuple
        }))
    }

    // ------------------------------------------------------------ operators

    fn eval_binary(&mut self, node: &Node, op: &str, l: &Node, r: &Node, input: &Value, env: &Rc<Frame>) -> R {
        let lhs = self.eval(l, input, env)?;
        if op == "and" || op == "or" {
            let lb = boolean(&lhs).unwrap_or(false);
            if op == "and" {
                if !lb {
                    return Ok(Value::Bool(false));
                }
            } else if lb {
                return Ok(Value::Bool(true));
            }
            let rhs = self.eval(r, input, env)?;
            return Ok(Value::Bool(boolean(&rhs).unwrap_or(false)));
        }
        let rhs = self.eval(r, input, env)?;
        let pos = node.pos;
        match op {
            "+" | "-" | "*" | "/" | "%" => {
                if !lhs.is_undef() && !is_numeric(&lhs)? {
                    return Err(make("T2001", Some(pos), Some(op), None));
                }
                if !rhs.is_undef() && !is_numeric(&rhs)? {
                    return Err(make("T2002", Some(pos), Some(op), None));
                }
                let (Value::Num(a), Value::Num(b)) = (&lhs, &rhs) else { return Ok(Value::Undefined) };
                let (a, b) = (*a, *b);
                Ok(Value::Num(match op {
                    "+" => a + b,
                    "-" => a - b,
                    "*" => a * b,
                    "/" => a / b,
                    _ => a % b,
                }))
            }
            "=" | "!=" => {
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Value::Bool(false));
                }
                let eq = deep_equal(&lhs, &rhs);
                Ok(Value::Bool(if op == "=" { eq } else { !eq }))
            }
            "<" | "<=" | ">" | ">=" => {
                let lc = matches!(lhs, Value::Undefined | Value::Str(_) | Value::Num(_));
                let rc = matches!(rhs, Value::Undefined | Value::Str(_) | Value::Num(_));
                if !lc || !rc {
                    return Err(make("T2010", Some(pos), Some(op), None));
                }
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Value::Undefined);
                }
                let ord = match (&lhs, &rhs) {
                    (Value::Num(a), Value::Num(b)) => a.partial_cmp(b),
                    (Value::Str(a), Value::Str(b)) => Some(crate::functions::cmp_js_str(a, b)),
                    _ => return Err(make("T2009", Some(pos), Some(op), None)),
                };
                let Some(o) = ord else { return Ok(Value::Bool(false)) };
                use std::cmp::Ordering::*;
                Ok(Value::Bool(match op {
                    "<" => o == Less,
                    "<=" => o != Greater,
                    ">" => o == Greater,
                    _ => o != Less,
                }))
            }
            "&" => {
                let text = |v: &Value| -> Result<Rc<str>, Error> {
                    Ok(match v {
                        Value::Undefined => Rc::from(""),
                        Value::Str(s) => s.clone(),
                        v => Rc::from(crate::functions::to_string(v, false).map_err(|e| at(e, pos))?),
                    })
                };
                let (l, r) = (text(&lhs)?, text(&rhs)?);
                crate::limits::check_string("The & operator", l.len() as u128 + r.len() as u128, pos)?;
                let mut s = String::with_capacity(l.len() + r.len());
                s.push_str(&l);
                s.push_str(&r);
                Ok(Value::string(s))
            }
            ".." => {
                let is_int = |v: &Value| matches!(v, Value::Num(n) if n.fract() == 0.0 && n.is_finite());
                if !lhs.is_undef() && !is_int(&lhs) {
                    return Err(make("T2003", Some(pos), None, None));
                }
                if !rhs.is_undef() && !is_int(&rhs) {
                    return Err(make("T2004", Some(pos), None, None));
                }
                let (Value::Num(a), Value::Num(b)) = (&lhs, &rhs) else { return Ok(Value::Undefined) };
                if a > b {
                    return Ok(Value::Undefined);
                }
                let size = b - a + 1.0;
                if size > 1e7 {
                    return Err(make("D2014", Some(pos), None, Some(&crate::value::fmt_number(size))));
                }
                self.charge(size as usize, pos)?;
                let (a, b) = (*a as i64, *b as i64);
                Ok(Value::seq((a..=b).map(|x| Value::Num(x as f64)).collect()))
            }
            "in" => {
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Value::Bool(false));
                }
                let items = rhs.members();
                Ok(Value::Bool(items.iter().any(|x| strict_equal(x, &lhs))))
            }
            _ => Err(make("S0201", Some(pos), Some(op), None)),
        }
    }

    // ------------------------------------------------------------ functions

    fn eval_function(
        &mut self,
        node: &Node,
        proc_: &Node,
        args: &[Node],
        input: &Value,
        env: &Rc<Frame>,
        applyto: Option<Value>,
    ) -> R {
        let proc_v = self.eval(proc_, input, env)?;
        self.check_callable(node, proc_, &proc_v, env, "T1005")?;
        let mut evaluated = Vec::with_capacity(args.len() + 1);
        if let Some(a) = applyto {
            evaluated.push(a);
        }
        for a in args {
            evaluated.push(self.eval(a, input, env)?);
        }
        self.call_env = Some(env.clone());
        self.apply(&proc_v, evaluated, input, node.pos).map_err(|mut e| {
            if e.position.is_none() {
                e.position = Some(node.pos);
            }
            if e.message.contains("{{token}}") {
                let name = match &proc_.kind {
                    Kind::Path(steps) => match &steps[0].kind {
                        Kind::Name(n) => n.to_string(),
                        _ => String::new(),
                    },
                    Kind::Var(v) => v.to_string(),
                    _ => String::new(),
                };
                e.message = e.message.replace("{{token}}", &name);
            }
            e
        })
    }

    fn eval_partial(&mut self, node: &Node, proc_: &Node, args: &[Node], input: &Value, env: &Rc<Frame>) -> R {
        let mut evaluated = vec![];
        for a in args {
            if let Kind::Placeholder = a.kind {
                evaluated.push(None);
            } else {
                evaluated.push(Some(self.eval(a, input, env)?));
            }
        }
        let proc_v = self.eval(proc_, input, env)?;
        self.check_callable(node, proc_, &proc_v, env, "T1007")?;
        if !proc_v.is_func() {
            return Err(make("T1008", Some(node.pos), None, None));
        }
        Ok(Value::Func(Rc::new(Func::Partial { f: proc_v, args: evaluated })))
    }

    fn eval_apply(&mut self, node: &Node, l: &Node, r: &Node, input: &Value, env: &Rc<Frame>) -> R {
        let lhs = self.eval(l, input, env)?;
        if let Kind::Function { proc_, args, partial: false } = &r.kind {
            return self.eval_function(r, proc_, args, input, env, Some(lhs));
        }
        let func = self.eval(r, input, env)?;
        if !func.is_func() {
            return Err(make("T2006", Some(node.pos), None, None));
        }
        if lhs.is_func() {
            return Ok(Value::Func(Rc::new(Func::Chain(lhs, func))));
        }
        self.apply(&func, vec![lhs], &Value::Undefined, node.pos)
    }

    pub fn apply(&mut self, f: &Value, args: Vec<Value>, input: &Value, pos: usize) -> R {
        let mut result = self.apply_inner(f, args, input, pos)?;
        // An endless tail-recursive loop ends at the step budget (U1002), counted in `eval`.
        while let Value::Func(fr) = &result {
            let (def, tinput, tenv) = match &**fr {
                Func::Lambda { def, input, env } if def.thunk => (def.clone(), input.clone(), env.clone()),
                _ => break,
            };
            let Kind::Function { proc_, args, .. } = &def.body.kind else { break };
            let next = self.eval(proc_, &tinput, &tenv)?;
            let mut evaluated = vec![];
            for a in args {
                evaluated.push(self.eval(a, &tinput, &tenv)?);
            }
            if next.is_undef() {
                if let Kind::Path(steps) = &proc_.kind {
                    if let Kind::Name(n) = &steps[0].kind {
                        if self.var_exists(&tenv, n) {
                            return Err(make("T1005", Some(def.body.pos), Some(n), None));
                        }
                    }
                }
            }
            result = self.apply_inner(&next, evaluated, input, def.body.pos)?;
        }
        Ok(result)
    }

    fn apply_inner(&mut self, f: &Value, args: Vec<Value>, input: &Value, pos: usize) -> R {
        let Value::Func(func) = f else {
            return Err(make("T1006", Some(pos), None, None));
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(err("U1001", pos));
        }
        let r = self.apply_func(func, args, input, pos);
        self.depth -= 1;
        r
    }

    fn apply_func(&mut self, func: &Rc<Func>, args: Vec<Value>, input: &Value, pos: usize) -> R {
        match &**func {
            Func::Lambda { def, input: linput, env } => {
                let args = match &def.signature {
                    Some(sig) => sig.validate(&args, input, "", pos)?,
                    None => args,
                };
                let frame = Frame::new(Some(env.clone()));
                for (i, p) in def.params.iter().enumerate() {
                    frame.bind(p, args.get(i).cloned().unwrap_or(Value::Undefined));
                }
                self.eval(&def.body, linput, &frame)
            }
            Func::Builtin(b) => {
                // a builtin walks its array and object arguments without evaluating nodes
                let touched: usize = args
                    .iter()
                    .map(|a| match a {
                        Value::Arr(a) => a.items.len(),
                        Value::Obj(o) => o.len(),
                        _ => 1,
                    })
                    .sum();
                self.charge(touched, pos)?;
                let mut args = b.sig.validate(&args, input, b.name, pos)?;
                let n = args.len();
                args.resize(n + 4, Value::Undefined);
                (b.f)(self, &args[..], input, pos)
            }
            Func::Partial { f, args: bound } => {
                let mut it = args.into_iter();
                let full: Vec<Value> =
                    bound.iter().map(|b| match b { Some(v) => v.clone(), None => it.next().unwrap_or(Value::Undefined) }).collect();
                if let Value::Func(inner) = f {
                    if let Func::Lambda { def, input: linput, env } = &**inner {
                        // jsonata drops the signature of a partially applied lambda
                        let frame = Frame::new(Some(env.clone()));
                        for (i, p) in def.params.iter().enumerate() {
                            frame.bind(p, full.get(i).cloned().unwrap_or(Value::Undefined));
                        }
                        let body = def.clone();
                        let linput = linput.clone();
                        return self.eval(&body.body, &linput, &frame);
                    }
                }
                self.apply(f, full, input, pos)
            }
            Func::Chain(a, b) => {
                let x = args.into_iter().next().unwrap_or(Value::Undefined);
                let r1 = self.apply(a, vec![x], input, pos)?;
                self.apply(b, vec![r1], input, pos)
            }
            Func::Regex(re) => {
                let s = args.into_iter().next().unwrap_or(Value::Undefined);
                match s {
                    Value::Str(s) => crate::functions::regex_match_object(re, &s, 0, false, pos),
                    _ => Ok(Value::Undefined),
                }
            }
            Func::RegexNext(re, s, from) => {
                if *from >= s.len() {
                    return Ok(Value::Undefined);
                }
                crate::functions::regex_match_object(re, s, *from, true, pos)
            }
            Func::Transform { def, env, pos } => {
                let obj = args.into_iter().next().unwrap_or(Value::Undefined);
                self.transform(def, env, *pos, obj)
            }
        }
    }

    // ------------------------------------------------------------ transform

    fn transform(&mut self, def: &Arc<(Node, Node, Option<Node>)>, env: &Rc<Frame>, pos: usize, obj: Value) -> R {
        if obj.is_undef() {
            return Ok(Value::Undefined);
        }
        match &obj {
            Value::Obj(_) | Value::Arr(_) => {}
            _ => return Err(make("T0410", Some(pos), Some("transform"), None)),
        }
        let clone = self.lookup_var(env, "clone");
        if !clone.is_func() {
            return Err(err("T2013", pos));
        }
        let result = deep_clone(&obj);
        let matches = self.eval(&def.0, &result, env)?;
        let mut modified: HashMap<usize, Rc<Map>> = HashMap::new();
        for m in matches.members() {
            let Value::Obj(orig) = &m else {
                // updates on non-objects: evaluate for errors
                let u = self.eval(&def.1, &m, env)?;
                if !u.is_undef() && !matches!(u, Value::Obj(_)) {
                    return Err(make("T2011", Some(def.1.pos), None, None));
                }
                continue;
            };
            let key = Rc::as_ptr(orig) as *const u8 as usize;
            let current = modified.get(&key).cloned().unwrap_or_else(|| orig.clone());
            let cur_v = Value::Obj(current.clone());
            let update = self.eval(&def.1, &cur_v, env)?;
            let mut newmap = (*current).clone();
            match &update {
                Value::Undefined => {}
                Value::Obj(u) => {
                    for (k, v) in u.iter() {
                        newmap.insert(k.clone(), v.clone());
                    }
                }
                _ => return Err(make("T2011", Some(def.1.pos), None, None)),
            }
            if let Some(d) = &def.2 {
                let dels = self.eval(d, &cur_v, env)?;
                if !dels.is_undef() {
                    let list = dels.members();
                    if !list.iter().all(|x| matches!(x, Value::Str(_))) {
                        return Err(make("T2012", Some(d.pos), None, None));
                    }
                    for k in list {
                        if let Value::Str(k) = k {
                            newmap.shift_remove(&*k);
                        }
                    }
                }
            }
            modified.insert(key, Rc::new(newmap.js_order()));
        }
        if modified.is_empty() {
            return Ok(result);
        }
        Ok(rebuild(&result, &modified, 0))
    }
}

fn rebuild(v: &Value, modified: &HashMap<usize, Rc<Map>>, depth: usize) -> Value {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || rebuild_inner(v, modified, depth))
}

fn rebuild_inner(v: &Value, modified: &HashMap<usize, Rc<Map>>, depth: usize) -> Value {
    if depth > 1000 {
        return v.clone();
    }
    match v {
        Value::Obj(o) => {
            let key = Rc::as_ptr(o) as *const u8 as usize;
            let src = modified.get(&key).cloned().unwrap_or_else(|| o.clone());
            let mut m = Map::with_capacity(src.len());
            for (k, x) in src.iter() {
                m.insert(k.clone(), rebuild(x, modified, depth + 1));
            }
            Value::Obj(Rc::new(m))
        }
        Value::Arr(a) => {
            let items = a.items.iter().map(|x| rebuild(x, modified, depth + 1)).collect();
            Value::arr_with(items, |n| {
                n.seq = a.seq;
                n.keep = a.keep;
                n.cons = a.cons;
                n.outer = a.outer;
            })
        }
        v => v.clone(),
    }
}

pub(crate) fn deep_clone(v: &Value) -> Value {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || deep_clone_inner(v))
}

fn deep_clone_inner(v: &Value) -> Value {
    match v {
        Value::Obj(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, x) in o.iter() {
                m.insert(k.clone(), deep_clone(x));
            }
            Value::Obj(Rc::new(m))
        }
        Value::Arr(a) => Value::array(a.items.iter().map(deep_clone).collect()),
        v => v.clone(),
    }
}

fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Arr(x), Value::Arr(y)) => Rc::ptr_eq(x, y),
        (Value::Obj(x), Value::Obj(y)) => Rc::ptr_eq(x, y),
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => deep_equal(a, b),
    }
}

fn at(mut e: Error, pos: usize) -> Error {
    if e.position.is_none() {
        e.position = Some(pos);
    }
    e
}

fn recurse_descendants(v: &Value, out: &mut Vec<Value>) {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || recurse_descendants_inner(v, out))
}

fn recurse_descendants_inner(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Arr(a) => a.items.iter().for_each(|x| recurse_descendants(x, out)),
        Value::Obj(o) => {
            out.push(v.clone());
            o.values().for_each(|x| recurse_descendants(x, out));
        }
        v => out.push(v.clone()),
    }
}

fn reduce_tuple_stream(v: &Value) -> Value {
    match v {
        Value::Arr(a) => {
            let mut result = match a.items.first() {
                Some(Value::Obj(o)) => (**o).clone(),
                _ => Map::new(),
            };
            for t in a.items.iter().skip(1) {
                if let Value::Obj(o) = t {
                    for (k, x) in o.iter() {
                        let cur = result.get(k).cloned().unwrap_or(Value::Undefined);
                        result.insert(k.clone(), append(cur, x.clone()));
                    }
                }
            }
            Value::Obj(Rc::new(result))
        }
        v => v.clone(),
    }
}
