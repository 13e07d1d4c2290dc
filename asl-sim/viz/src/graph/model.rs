//! A definition as a drawable graph: one `Block` per machine (the top level,
//! each Parallel branch, each Map processor), nodes for states, labelled edges.

use asl_core::definition::{CmpKind, CmpOp, Definition, Dyn, Kind, Machine, Operand, Rule, TypeTest};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    Next,
    Choice,
    Default,
    Catch,
}

#[derive(Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: String,
    pub kind: EdgeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Start,
    End,
    State,
}

#[derive(Debug)]
pub struct GNode {
    /// Unique over the whole graph: `s0`, `s1`, ... (`start`/`end` at the top).
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// `Task`, `Choice`, ...
    pub ty: &'static str,
    /// A second line: the Task's resource, shortened.
    pub detail: String,
    /// Nested machines: one for a Map (its processor), one per Parallel branch.
    pub children: Vec<Block>,
    /// One line per retrier: `errors ×N`.
    pub retry: Vec<String>,
    pub terminal: bool,
}

#[derive(Debug, Default)]
pub struct Block {
    pub nodes: Vec<GNode>,
    pub edges: Vec<Edge>,
    /// The node where the machine starts (the Start marker at the top level).
    pub start: usize,
}

pub fn build(def: &Definition) -> Block {
    let mut counter = 0;
    let mut b = block(&def.machine, &mut counter);
    // Start and End markers at the top level, as the console draws them.
    let n = b.nodes.len();
    let start = def.machine.start;
    b.nodes.push(GNode { id: "start_".into(), name: "Start".into(), kind: NodeKind::Start, ty: "", detail: String::new(), children: vec![], retry: vec![], terminal: false });
    b.nodes.push(GNode { id: "end_".into(), name: "End".into(), kind: NodeKind::End, ty: "", detail: String::new(), children: vec![], retry: vec![], terminal: false });
    b.edges.insert(0, Edge { from: n, to: start, label: String::new(), kind: EdgeKind::Next });
    b.start = n;
    for i in 0..n {
        if b.nodes[i].terminal {
            b.edges.push(Edge { from: i, to: n + 1, label: String::new(), kind: EdgeKind::Next });
        }
    }
    b
}

fn short_resource(r: &str) -> String {
    if let Some(rest) = r.strip_prefix("arn:aws:states:::") {
        return rest.strip_prefix("aws-sdk:").unwrap_or(rest).to_string();
    }
    if r.contains(":lambda:") && r.contains(":function:") {
        return format!("lambda:{}", r.rsplit(":function:").next().unwrap_or(r));
    }
    let parts: Vec<&str> = r.split(':').collect();
    if parts.len() > 5 && parts[0] == "arn" {
        return format!("{}:{}", parts[2], parts[5..].join(":"));
    }
    r.to_string()
}

fn block(m: &Machine, counter: &mut usize) -> Block {
    let mut b = Block { start: m.start, ..Default::default() };
    for s in &m.states {
        let id = format!("s{}", *counter);
        *counter += 1;
        let (ty, detail, children) = match &s.kind {
            Kind::Pass { .. } => ("Pass", String::new(), vec![]),
            Kind::Task(t) => ("Task", short_resource(&t.resource), vec![]),
            Kind::Choice { .. } => ("Choice", String::new(), vec![]),
            Kind::Wait(_) => ("Wait", String::new(), vec![]),
            Kind::Succeed => ("Succeed", String::new(), vec![]),
            Kind::Fail { error, .. } => {
                let d = match error {
                    Some(Dyn::Literal(e)) => e.clone(),
                    _ => String::new(),
                };
                ("Fail", d, vec![])
            }
            Kind::Parallel { branches } => ("Parallel", format!("{} branches", branches.len()), branches.iter().map(|x| block(x, counter)).collect()),
            Kind::Map(map) => (if map.distributed { "Map (distributed)" } else { "Map" }, String::new(), vec![block(&map.processor, counter)]),
        };
        let retry = s
            .retry
            .iter()
            .map(|r| {
                let errs = if r.errors.len() <= 2 { r.errors.join(", ") } else { format!("{}, +{}", r.errors[0], r.errors.len() - 1) };
                format!("{errs} ×{}", r.max_attempts)
            })
            .collect();
        let terminal = s.end || matches!(s.kind, Kind::Succeed | Kind::Fail { .. });
        b.nodes.push(GNode { id, name: s.name.clone(), kind: NodeKind::State, ty, detail, children, retry, terminal });
    }
    for (i, s) in m.states.iter().enumerate() {
        if let Kind::Choice { choices, default } = &s.kind {
            for c in choices {
                b.edges.push(Edge { from: i, to: c.transition.next, label: rule_text(&c.rule), kind: EdgeKind::Choice });
            }
            if let Some(d) = default {
                b.edges.push(Edge { from: i, to: *d, label: "Default".into(), kind: EdgeKind::Default });
            }
        }
        if let Some(n) = s.next {
            b.edges.push(Edge { from: i, to: n, label: String::new(), kind: EdgeKind::Next });
        }
        for c in &s.catch {
            let errs = if c.errors.len() <= 2 { c.errors.join(", ") } else { format!("{}, +{}", c.errors[0], c.errors.len() - 1) };
            b.edges.push(Edge { from: i, to: c.transition.next, label: format!("Catch {errs}"), kind: EdgeKind::Catch });
        }
    }
    b
}

fn literal(v: &serde_json::Value) -> String {
    v.to_string()
}

/// A Choice rule as a short human-readable condition.
pub fn rule_text(r: &Rule) -> String {
    match r {
        Rule::And(rs) => rs.iter().map(paren).collect::<Vec<_>>().join(" and "),
        Rule::Or(rs) => rs.iter().map(paren).collect::<Vec<_>>().join(" or "),
        Rule::Not(x) => format!("not {}", paren(x)),
        Rule::Compare { variable, op, kind, operand } => {
            let o = match op {
                CmpOp::Eq => "==",
                CmpOp::Lt => "<",
                CmpOp::Gt => ">",
                CmpOp::Le => "<=",
                CmpOp::Ge => ">=",
            };
            let rhs = match operand {
                Operand::Literal(v) => literal(v),
                Operand::Path(p) => p.as_str().to_string(),
            };
            let t = if *kind == CmpKind::Timestamp { " (time)" } else { "" };
            format!("{} {o} {rhs}{t}", variable.as_str())
        }
        Rule::Test { variable, test, expected } => {
            let what = match test {
                TypeTest::Null => "null",
                TypeTest::Present => "present",
                TypeTest::Numeric => "numeric",
                TypeTest::String => "a string",
                TypeTest::Boolean => "a boolean",
                TypeTest::Timestamp => "a timestamp",
            };
            format!("{} is {}{what}", variable.as_str(), if *expected { "" } else { "not " })
        }
        Rule::Matches { variable, pattern } => format!("{} matches \"{pattern}\"", variable.as_str()),
        Rule::Condition(d) => match d {
            Dyn::Literal(b) => b.to_string(),
            Dyn::Path(p) => p.as_str().to_string(),
            Dyn::Intrinsic(_) => "(intrinsic)".into(),
            Dyn::Jsonata(e) => e.src.clone(),
        },
    }
}

fn paren(r: &Rule) -> String {
    match r {
        Rule::And(_) | Rule::Or(_) => format!("({})", rule_text(r)),
        _ => rule_text(r),
    }
}
