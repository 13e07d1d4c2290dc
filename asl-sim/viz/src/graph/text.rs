//! Mermaid and Graphviz dot output.

use super::model::{Block, EdgeKind, GNode, NodeKind};

fn mm_text(s: &str) -> String {
    s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}

/// The first node of a block's machine that an edge into a Map/Parallel can point at (dot).
fn first_leaf(b: &Block) -> Option<&GNode> {
    let n = b.nodes.first()?;
    if n.children.is_empty() {
        Some(n)
    } else {
        n.children.first().and_then(first_leaf)
    }
}

pub fn mermaid(b: &Block, title: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(t) = title {
        s.push_str(&format!("---\ntitle: {}\n---\n", mm_text(t)));
    }
    s.push_str("flowchart TD\n");
    mm_block(b, 1, &mut s);
    s.push_str("  classDef task fill:#e8f0fe,stroke:#3b6fd8\n");
    s.push_str("  classDef choice fill:#fff4d6,stroke:#c99a06\n");
    s.push_str("  classDef fail fill:#fde2e1,stroke:#c0392b\n");
    s.push_str("  classDef succeed fill:#def7e5,stroke:#1e8e3e\n");
    s.push_str("  classDef marker fill:#444,stroke:#444,color:#fff\n");
    s
}

/// A container state's children, in either format: one block (a Map's) inline, several
/// (a Parallel's branches) each between the opening and closing text `branch` gives.
fn children(n: &GNode, depth: usize, s: &mut String, block: fn(&Block, usize, &mut String), branch: impl Fn(usize) -> (String, String)) {
    if n.children.len() == 1 {
        return block(&n.children[0], depth + 1, s);
    }
    for (i, c) in n.children.iter().enumerate() {
        let (open, close) = branch(i);
        s.push_str(&open);
        block(c, depth + 2, s);
        s.push_str(&close);
    }
}

fn mm_block(b: &Block, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    for n in &b.nodes {
        let label = if n.detail.is_empty() { mm_text(&n.name) } else { format!("{}<br/><small>{}</small>", mm_text(&n.name), mm_text(&n.detail)) };
        match n.kind {
            NodeKind::Start | NodeKind::End => s.push_str(&format!("{pad}{}((\"{}\")):::marker\n", n.id, n.name)),
            NodeKind::State if !n.children.is_empty() => {
                s.push_str(&format!("{pad}subgraph {}[\"{}: {}\"]\n", n.id, n.ty, mm_text(&n.name)));
                s.push_str(&format!("{pad}  direction TB\n"));
                let branch = |i: usize| (format!("{pad}  subgraph {}_b{i}[\"Branch {}\"]\n", n.id, i + 1), format!("{pad}  end\n"));
                children(n, depth, s, mm_block, branch);
                s.push_str(&format!("{pad}end\n"));
            }
            NodeKind::State => {
                let (open, close, class) = match n.ty {
                    "Choice" => ("{", "}", "choice"),
                    "Fail" => ("[[", "]]", "fail"),
                    "Succeed" => ("([", "])", "succeed"),
                    "Task" => ("[", "]", "task"),
                    _ => ("[", "]", ""),
                };
                let class = if class.is_empty() { String::new() } else { format!(":::{class}") };
                s.push_str(&format!("{pad}{}{open}\"{label}\"{close}{class}\n", n.id));
            }
        }
    }
    for e in &b.edges {
        let (from, to) = (&b.nodes[e.from].id, &b.nodes[e.to].id);
        let label = mm_text(&e.label);
        let line = match (e.kind, label.is_empty()) {
            (EdgeKind::Catch, _) => format!("{from} -. \"{label}\" .-> {to}"),
            (EdgeKind::Default, _) => format!("{from} -- \"{label}\" --> {to}"),
            (_, true) => format!("{from} --> {to}"),
            (_, false) => format!("{from} -- \"{label}\" --> {to}"),
        };
        s.push_str(&format!("{pad}{line}\n"));
    }
    for n in &b.nodes {
        if !n.retry.is_empty() {
            s.push_str(&format!("{pad}{} -. \"Retry {}\" .-> {}\n", n.id, mm_text(&n.retry.join("; ")), n.id));
        }
    }
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn dot(b: &Block, title: Option<&str>) -> String {
    let mut s = String::from("digraph StateMachine {\n  compound=true;\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    if let Some(t) = title {
        s.push_str(&format!("  label=\"{}\";\n  labelloc=t;\n", dot_text(t)));
    }
    dot_block(b, 1, &mut s);
    s.push_str("}\n");
    s
}

/// The dot node an edge into (or out of) node `n` attaches to, and the cluster to clip at.
fn dot_anchor(n: &GNode) -> (String, Option<String>) {
    if n.children.is_empty() {
        (n.id.clone(), None)
    } else {
        let leaf = n.children.first().and_then(first_leaf).map(|l| l.id.clone()).unwrap_or_else(|| n.id.clone());
        (leaf, Some(format!("cluster_{}", n.id)))
    }
}

fn dot_block(b: &Block, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    for n in &b.nodes {
        match n.kind {
            NodeKind::Start | NodeKind::End => {
                s.push_str(&format!("{pad}{} [label=\"{}\", shape=circle, style=filled, fillcolor=\"#444444\", fontcolor=white, fontsize=9];\n", n.id, n.name))
            }
            NodeKind::State if !n.children.is_empty() => {
                s.push_str(&format!("{pad}subgraph cluster_{} {{\n{pad}  label=\"{}: {}\";\n{pad}  style=\"rounded\";\n{pad}  color=\"#7b61ff\";\n", n.id, n.ty, dot_text(&n.name)));
                let branch = |i: usize| {
                    (format!("{pad}  subgraph cluster_{}_b{i} {{\n{pad}    label=\"Branch {}\";\n{pad}    style=dashed;\n", n.id, i + 1), format!("{pad}  }}\n"))
                };
                children(n, depth, s, dot_block, branch);
                s.push_str(&format!("{pad}}}\n"));
            }
            NodeKind::State => {
                let (shape, fill) = match n.ty {
                    "Choice" => ("diamond", "#fff4d6"),
                    "Fail" => ("box", "#fde2e1"),
                    "Succeed" => ("box", "#def7e5"),
                    "Task" => ("box", "#e8f0fe"),
                    _ => ("box", "#ffffff"),
                };
                let label = if n.detail.is_empty() { dot_text(&n.name) } else { format!("{}\\n{}", dot_text(&n.name), dot_text(&n.detail)) };
                s.push_str(&format!("{pad}{} [label=\"{label}\", shape={shape}, fillcolor=\"{fill}\"];\n", n.id));
                if !n.retry.is_empty() {
                    s.push_str(&format!(
                        "{pad}{} -> {} [label=\"Retry {}\", style=dotted, color=\"#e67e22\", fontcolor=\"#e67e22\", dir=back, arrowtail=vee];\n",
                        n.id,
                        n.id,
                        dot_text(&n.retry.join("\n"))
                    ));
                }
            }
        }
    }
    for e in &b.edges {
        let (from, ltail) = dot_anchor(&b.nodes[e.from]);
        let (to, lhead) = dot_anchor(&b.nodes[e.to]);
        let mut attrs = Vec::new();
        if !e.label.is_empty() {
            attrs.push(format!("label=\"{}\"", dot_text(&e.label)));
        }
        match e.kind {
            EdgeKind::Catch => attrs.push("style=dashed, color=\"#c0392b\", fontcolor=\"#c0392b\"".into()),
            EdgeKind::Default => attrs.push("style=bold".into()),
            _ => {}
        }
        if let Some(l) = ltail {
            attrs.push(format!("ltail={l}"));
        }
        if let Some(l) = lhead {
            attrs.push(format!("lhead={l}"));
        }
        let a = if attrs.is_empty() { String::new() } else { format!(" [{}]", attrs.join(", ")) };
        s.push_str(&format!("{pad}{from} -> {to}{a};\n"));
    }
}
