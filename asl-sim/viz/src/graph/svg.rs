//! SVG drawn natively: a small layered (Sugiyama-style) layout.
//!
//! Per block: ranks by longest path from the start (back edges reversed),
//! doubled so that every edge crosses at least one in-between layer where its
//! label sits as a node of its own (as Graphviz does); dummy nodes for long
//! edges; barycentre ordering sweeps keeping the ordering with the fewest
//! crossings; x positions by isotonic regression (pool adjacent violators)
//! towards the neighbours' average, which keeps chains straight. Map and
//! Parallel states are laid out recursively and drawn as boxes holding their
//! machines.

use super::model::{Block, EdgeKind, GNode, NodeKind};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// What an execution did, for the report's highlighting.
#[derive(Default, Debug)]
pub struct Highlight {
    pub visited: HashSet<String>,
    pub failed: HashSet<String>,
    /// States a running execution is in now (the console's live view).
    pub running: HashSet<String>,
    /// (from, to) state names of the transitions taken; "Start"/"End" for the markers.
    pub taken: HashSet<(String, String)>,
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Approximate text width in px for a sans-serif font of `size` px.
pub fn text_w(s: &str, size: f64) -> f64 {
    let mut w = 0.0;
    for c in s.chars() {
        w += match c {
            'i' | 'l' | 'j' | '.' | ',' | '\'' | '|' | '!' | ':' | ';' | 'I' | ' ' => 0.3,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.4,
            'm' | 'w' | 'M' | 'W' => 0.9,
            c if c.is_ascii_uppercase() => 0.7,
            c if c.is_ascii_digit() => 0.58,
            _ => 0.58,
        };
    }
    w * size
}

const NAME_PX: f64 = 13.0;
const DETAIL_PX: f64 = 10.5;
const LABEL_PX: f64 = 10.5;
const LABEL_LINE: f64 = 13.0;
const RETRY_EXTRA: f64 = 62.0;

fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if lines.len() > 4 {
        lines.truncate(4);
        lines[3].push_str(" …");
    }
    lines
}

struct Laid {
    w: f64,
    h: f64,
    svg: String,
}

/// A layered-graph node: a state, or a dummy on a long edge (maybe carrying a label).
struct LNode {
    w: f64,
    h: f64,
    real: Option<usize>,
    label: Vec<String>,
    rank: usize,
    x: f64,
    y: f64,
}

struct Chain {
    edge: usize,
    nodes: Vec<usize>,
    reversed: bool,
}

fn node_size(n: &GNode, inner: Option<&Laid>) -> (f64, f64) {
    match n.kind {
        NodeKind::Start | NodeKind::End => (58.0, 26.0),
        NodeKind::State => {
            if let Some(l) = inner {
                return ((l.w + 24.0).max(text_w(&n.name, NAME_PX) + 80.0), l.h + 38.0);
            }
            let w = text_w(&n.name, NAME_PX).max(text_w(&n.detail, DETAIL_PX)) + 30.0;
            let h = if n.detail.is_empty() { 36.0 } else { 48.0 };
            let w = w.max(96.0);
            (if n.retry.is_empty() { w } else { w + 2.0 * RETRY_EXTRA }, h)
        }
    }
}

/// Pool-adjacent-violators: positions in order, as close to `want` as
/// possible while keeping `min_sep[i]` between centre i and i+1.
fn place(want: &[f64], weight: &[f64], min_sep: &[f64]) -> Vec<f64> {
    let n = want.len();
    let mut off = vec![0.0; n];
    for i in 1..n {
        off[i] = off[i - 1] + min_sep[i - 1];
    }
    // blocks: (sum w*t, sum w, count)
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for i in 0..n {
        let w = weight[i].max(1e-6);
        blocks.push((w * (want[i] - off[i]), w, 1));
        while blocks.len() > 1 {
            let l = blocks.len();
            let (a, b) = (blocks[l - 2], blocks[l - 1]);
            if a.0 / a.1 > b.0 / b.1 {
                blocks.truncate(l - 2);
                blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (s, w, c) in blocks {
        for _ in 0..c {
            let i = out.len();
            out.push(s / w + off[i]);
        }
    }
    out
}

fn crossings(layers: &[Vec<usize>], chains: &[Chain], pos: &[usize], rank_of: &[usize]) -> usize {
    let mut total = 0;
    let mut by_layer: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for c in chains {
        for w in c.nodes.windows(2) {
            by_layer.entry(rank_of[w[0]]).or_default().push((pos[w[0]], pos[w[1]]));
        }
    }
    let _ = layers;
    for segs in by_layer.values() {
        for i in 0..segs.len() {
            for j in i + 1..segs.len() {
                let (a, b) = (segs[i], segs[j]);
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    total += 1;
                }
            }
        }
    }
    total
}

fn layout(b: &Block, hl: Option<&Highlight>) -> Laid {
    let n = b.nodes.len();
    let inner: Vec<Option<Laid>> = b
        .nodes
        .iter()
        .map(|nd| {
            if nd.children.is_empty() {
                None
            } else if nd.children.len() == 1 {
                Some(layout(&nd.children[0], hl))
            } else {
                // Parallel: branches side by side, each in a dashed box.
                let laid: Vec<Laid> = nd.children.iter().map(|c| layout(c, hl)).collect();
                let h = laid.iter().map(|l| l.h).fold(0.0, f64::max) + 26.0;
                let mut x = 0.0;
                let mut svg = String::new();
                for (i, l) in laid.iter().enumerate() {
                    let bw = l.w + 16.0;
                    let _ = write!(
                        svg,
                        "<g class=\"branch\"><rect x=\"{x:.1}\" y=\"0\" width=\"{bw:.1}\" height=\"{h:.1}\" rx=\"6\"/><text class=\"branch-label\" x=\"{:.1}\" y=\"14\">Branch {}</text><g transform=\"translate({:.1},22)\">{}</g></g>",
                        x + 8.0,
                        i + 1,
                        x + 8.0,
                        l.svg
                    );
                    x += bw + 14.0;
                }
                Some(Laid { w: x - 14.0, h, svg })
            }
        })
        .collect();
    let sizes: Vec<(f64, f64)> = b.nodes.iter().zip(&inner).map(|(nd, l)| node_size(nd, l.as_ref())).collect();

    // Depth-first order from the start; back edges point at a node on the stack.
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in b.edges.iter().enumerate() {
        if e.from != e.to {
            adj[e.from].push(i);
        }
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut back = vec![false; b.edges.len()];
    let mut order: Vec<usize> = Vec::new(); // discovery order
    let mut post: Vec<usize> = Vec::new();
    let mut roots: Vec<usize> = vec![b.start.min(n.saturating_sub(1))];
    roots.extend(0..n);
    for r in roots {
        if n == 0 || state[r] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(r, 0)];
        state[r] = 1;
        order.push(r);
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if *k < adj[v].len() {
                let ei = adj[v][*k];
                *k += 1;
                let t = b.edges[ei].to;
                match state[t] {
                    0 => {
                        state[t] = 1;
                        order.push(t);
                        stack.push((t, 0));
                    }
                    1 => back[ei] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                post.push(v);
                stack.pop();
            }
        }
    }
    // Longest path in topological order (reverse post-order).
    let mut rank = vec![0usize; n];
    for &v in post.iter().rev() {
        for &ei in &adj[v] {
            if !back[ei] {
                let t = b.edges[ei].to;
                rank[t] = rank[t].max(rank[v] + 2);
            }
        }
    }
    if let Some(end) = b.nodes.iter().position(|x| x.kind == NodeKind::End) {
        let max = (0..n).filter(|&i| i != end).map(|i| rank[i]).max().unwrap_or(0);
        rank[end] = rank[end].max(max + 2);
    }

    // Layered graph with dummies.
    let mut ln: Vec<LNode> = (0..n).map(|i| LNode { w: sizes[i].0, h: sizes[i].1, real: Some(i), label: vec![], rank: rank[i], x: 0.0, y: 0.0 }).collect();
    let mut chains: Vec<Chain> = Vec::new();
    for (ei, e) in b.edges.iter().enumerate() {
        if e.from == e.to {
            continue;
        }
        let (top, bottom, reversed) = if back[ei] || rank[e.from] > rank[e.to] { (e.to, e.from, true) } else { (e.from, e.to, false) };
        let mut nodes = vec![top];
        let label = if e.label.is_empty() { vec![] } else { wrap(&e.label, 30) };
        let (r0, r1) = (rank[top], rank[bottom]);
        let span = r1.saturating_sub(r0);
        for (k, r) in (r0 + 1..r1).enumerate() {
            let carries = !label.is_empty() && if reversed { k + 2 == span } else { k == 0 };
            let (w, h, lab) = if carries {
                let w = label.iter().map(|l| text_w(l, LABEL_PX)).fold(0.0, f64::max) + 10.0;
                (w, label.len() as f64 * LABEL_LINE + 4.0, label.clone())
            } else {
                (4.0, 0.0, vec![])
            };
            ln.push(LNode { w, h, real: None, label: lab, rank: r, x: 0.0, y: 0.0 });
            nodes.push(ln.len() - 1);
        }
        nodes.push(bottom);
        chains.push(Chain { edge: ei, nodes, reversed });
    }
    let max_rank = ln.iter().map(|x| x.rank).max().unwrap_or(0);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); max_rank + 1];
    // Initial order: discovery order for states, chain order for dummies.
    let disc: HashMap<usize, usize> = order.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let mut key: Vec<f64> = vec![0.0; ln.len()];
    for (i, k) in key.iter_mut().enumerate().take(n) {
        *k = *disc.get(&i).unwrap_or(&i) as f64;
    }
    for c in &chains {
        let base = key[c.nodes[0]];
        for (k, &d) in c.nodes.iter().enumerate().skip(1) {
            if ln[d].real.is_none() {
                key[d] = base + 0.01 * k as f64;
            }
        }
    }
    for (i, l) in ln.iter().enumerate() {
        layers[l.rank].push(i);
    }
    for layer in &mut layers {
        layer.sort_by(|a, b| key[*a].partial_cmp(&key[*b]).unwrap_or(std::cmp::Ordering::Equal));
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); ln.len()];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); ln.len()];
    for c in &chains {
        for w in c.nodes.windows(2) {
            succs[w[0]].push(w[1]);
            preds[w[1]].push(w[0]);
        }
    }
    let rank_of: Vec<usize> = ln.iter().map(|l| l.rank).collect();
    let positions = |layers: &Vec<Vec<usize>>| {
        let mut pos = vec![0usize; ln.len()];
        for l in layers {
            for (i, &v) in l.iter().enumerate() {
                pos[v] = i;
            }
        }
        pos
    };
    let mut best = layers.clone();
    let mut best_c = crossings(&layers, &chains, &positions(&layers), &rank_of);
    for it in 0..16 {
        let pos = positions(&layers);
        let down = it % 2 == 0;
        let range: Vec<usize> = if down { (1..layers.len()).collect() } else { (0..layers.len().saturating_sub(1)).rev().collect() };
        let mut pos = pos;
        for r in range {
            let nb = if down { &preds } else { &succs };
            let mut keyed: Vec<(f64, usize)> = layers[r]
                .iter()
                .map(|&v| {
                    let ns = &nb[v];
                    let k = if ns.is_empty() { pos[v] as f64 } else { ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64 };
                    (k, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            layers[r] = keyed.into_iter().map(|x| x.1).collect();
            for (i, &v) in layers[r].iter().enumerate() {
                pos[v] = i;
            }
        }
        let c = crossings(&layers, &chains, &positions(&layers), &rank_of);
        if c < best_c {
            best_c = c;
            best = layers.clone();
        }
    }
    let layers = best;

    // x by isotonic regression towards the neighbours, sweeping down and up.
    let sep = |a: &LNode, b: &LNode| -> f64 {
        let gap = if a.real.is_none() && b.real.is_none() { 10.0 } else { 22.0 };
        (a.w + b.w) / 2.0 + gap
    };
    for layer in &layers {
        let mut x = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                x += sep(&ln[layer[i - 1]], &ln[v]);
            }
            ln[v].x = x;
        }
    }
    for it in 0..24 {
        let mode = it % 3; // 0 down, 1 up, 2 both
        let range: Vec<usize> = if mode == 1 { (0..layers.len()).rev().collect() } else { (0..layers.len()).collect() };
        for r in range {
            let layer = &layers[r];
            if layer.is_empty() {
                continue;
            }
            let mut want = Vec::with_capacity(layer.len());
            let mut weight = Vec::with_capacity(layer.len());
            for &v in layer {
                let ns: Vec<usize> = match mode {
                    0 => preds[v].clone(),
                    1 => succs[v].clone(),
                    _ => preds[v].iter().chain(&succs[v]).copied().collect(),
                };
                if ns.is_empty() {
                    want.push(ln[v].x);
                    weight.push(0.2);
                } else {
                    want.push(ns.iter().map(|&u| ln[u].x).sum::<f64>() / ns.len() as f64);
                    // Dummies pull harder: long edges stay straight.
                    weight.push(if ln[v].real.is_none() { 4.0 } else { 1.0 });
                }
            }
            let seps: Vec<f64> = layer.windows(2).map(|w| sep(&ln[w[0]], &ln[w[1]])).collect();
            let xs = place(&want, &weight, &seps);
            for (k, &v) in layer.iter().enumerate() {
                ln[v].x = xs[k];
            }
        }
    }
    let min_x = ln.iter().map(|l| l.x - l.w / 2.0).fold(f64::INFINITY, f64::min);
    let max_x = ln.iter().map(|l| l.x + l.w / 2.0).fold(f64::NEG_INFINITY, f64::max);
    let pad = 4.0;
    for l in &mut ln {
        l.x += pad - min_x;
    }
    let mut y = pad;
    for layer in &layers {
        let h = layer.iter().map(|&v| ln[v].h).fold(0.0, f64::max);
        for &v in layer {
            ln[v].y = y + h / 2.0;
        }
        y += h + 12.0;
    }
    let width = (max_x - min_x) + 2.0 * pad;
    let height = y - 12.0 + pad;

    // Drawing: edges under nodes.
    let mut svg = String::new();
    let name_of = |i: usize| b.nodes[i].name.clone();
    for c in &chains {
        let e = &b.edges[c.edge];
        let mut pts: Vec<(f64, f64)> = c.nodes.iter().map(|&v| (ln[v].x, ln[v].y)).collect();
        let (first, last) = (c.nodes[0], *c.nodes.last().unwrap_or(&c.nodes[0]));
        let (fh, lh) = (ln[first].h / 2.0, ln[last].h / 2.0);
        if c.reversed {
            // Drawn from the lower node's right side up to the upper node's right side.
            let (fw, lw) = (box_w(&b.nodes, &ln, first) / 2.0, box_w(&b.nodes, &ln, last) / 2.0);
            pts[0] = (ln[first].x + fw.min(40.0), ln[first].y + fh);
            let k = pts.len() - 1;
            pts[k] = (ln[last].x + lw.min(40.0), ln[last].y - lh);
            pts.reverse();
        } else {
            pts[0].1 += fh;
            let k = pts.len() - 1;
            pts[k].1 -= lh;
        }
        let (from_n, to_n) = (name_of(e.from), name_of(e.to));
        let taken = hl.is_some_and(|h| h.taken.contains(&(from_n.clone(), to_n.clone())));
        let class = match e.kind {
            EdgeKind::Catch => "edge catch",
            EdgeKind::Default => "edge default",
            EdgeKind::Choice => "edge choice",
            EdgeKind::Next => "edge",
        };
        let mut d = format!("M{:.1},{:.1}", pts[0].0, pts[0].1);
        for w in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let my = (y1 - y0) / 2.0;
            let _ = write!(d, " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x0, y0 + my, x1, y1 - my, x1, y1);
        }
        let marker = if taken { "arrow-taken" } else if e.kind == EdgeKind::Catch { "arrow-catch" } else { "arrow" };
        let _ = write!(
            svg,
            "<path class=\"{class}{}\" d=\"{d}\" marker-end=\"url(#{marker})\" data-from=\"{}\" data-to=\"{}\"><title>{}</title></path>",
            if taken { " taken" } else { "" },
            esc(&from_n),
            esc(&to_n),
            esc(&if e.label.is_empty() { format!("{from_n} → {to_n}") } else { e.label.clone() })
        );
        for &v in &c.nodes {
            let l = &ln[v];
            if l.label.is_empty() {
                continue;
            }
            let lc = match e.kind {
                EdgeKind::Catch => "label catch",
                EdgeKind::Default => "label default",
                _ => "label",
            };
            let _ = write!(svg, "<g class=\"{lc}{}\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\"/>", if taken { " taken" } else { "" }, esc(&e.label), l.x - l.w / 2.0, l.y - l.h / 2.0, l.w, l.h);
            for (k, line) in l.label.iter().enumerate() {
                let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>", l.x, l.y - l.h / 2.0 + 2.0 + LABEL_LINE * (k as f64 + 0.78), esc(line));
            }
            svg.push_str("</g>");
        }
    }
    for (i, nd) in b.nodes.iter().enumerate() {
        let l = &ln[i];
        let visited = hl.is_some_and(|h| h.visited.contains(&nd.name));
        let failed = hl.is_some_and(|h| h.failed.contains(&nd.name));
        let running = hl.is_some_and(|h| h.running.contains(&nd.name));
        let state_class = if running { " running" } else if failed { " failed" } else if visited { " visited" } else { "" };
        match nd.kind {
            NodeKind::Start | NodeKind::End => {
                let _ = write!(
                    svg,
                    "<g class=\"node marker{state_class}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"13\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
                    l.x - l.w / 2.0,
                    l.y - l.h / 2.0,
                    l.w,
                    l.h,
                    l.x,
                    l.y + 4.0,
                    nd.name
                );
            }
            NodeKind::State if inner[i].is_some() => {
                let inn = inner[i].as_ref().map(|x| (x.w, x.svg.as_str())).unwrap_or((0.0, ""));
                let (x0, y0) = (l.x - l.w / 2.0, l.y - l.h / 2.0);
                let _ = write!(
                    svg,
                    "<g class=\"node compound {}{state_class}\" data-state=\"{}\" id=\"node-{}\"><title>{}: {}</title><rect class=\"frame\" x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\"/><text class=\"compound-title\" x=\"{:.1}\" y=\"{:.1}\">{}: {}</text><g transform=\"translate({:.1},{:.1})\">{}</g></g>",
                    if nd.ty == "Parallel" { "parallel" } else { "map" },
                    esc(&nd.name),
                    nd.id,
                    nd.ty,
                    esc(&nd.name),
                    l.w,
                    l.h,
                    x0 + 10.0,
                    y0 + 18.0,
                    nd.ty,
                    esc(&nd.name),
                    x0 + (l.w - inn.0) / 2.0,
                    y0 + 30.0,
                    inn.1
                );
            }
            NodeKind::State => {
                let bw = box_w(&b.nodes, &ln, i);
                let (x0, y0) = (l.x - bw / 2.0, l.y - l.h / 2.0);
                let ty = match nd.ty {
                    "Choice" => "choice",
                    "Fail" => "fail",
                    "Succeed" => "succeed",
                    "Task" => "task",
                    "Wait" => "wait",
                    _ => "pass",
                };
                let rx = if nd.ty == "Choice" { l.h / 2.0 } else { 6.0 };
                let _ = write!(
                    svg,
                    "<g class=\"node {ty}{state_class}\" data-state=\"{}\" id=\"node-{}\"><title>{} ({})</title><rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" rx=\"{rx:.1}\"/>",
                    esc(&nd.name),
                    nd.id,
                    esc(&nd.name),
                    nd.ty,
                    l.h
                );
                if nd.detail.is_empty() {
                    let _ = write!(svg, "<text class=\"name\" x=\"{:.1}\" y=\"{:.1}\">{}</text>", l.x, l.y + 4.5, esc(&nd.name));
                } else {
                    let _ = write!(
                        svg,
                        "<text class=\"name\" x=\"{:.1}\" y=\"{:.1}\">{}</text><text class=\"detail\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                        l.x,
                        l.y - 2.0,
                        esc(&nd.name),
                        l.x,
                        l.y + 13.0,
                        esc(&nd.detail)
                    );
                }
                if !nd.retry.is_empty() {
                    // A loop on the right side: the state runs again on these errors.
                    let (rx0, ry) = (x0 + bw, l.y);
                    let _ = write!(
                        svg,
                        "<g class=\"retry\"><title>Retry: {}</title><path d=\"M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" marker-end=\"url(#arrow-retry)\"/><text x=\"{:.1}\" y=\"{:.1}\">Retry ×{}</text></g>",
                        esc(&nd.retry.join("; ")),
                        rx0,
                        ry - 7.0,
                        rx0 + 22.0,
                        ry - 16.0,
                        rx0 + 22.0,
                        ry + 16.0,
                        rx0 + 2.0,
                        ry + 7.0,
                        rx0 + 24.0,
                        ry + 4.0,
                        retry_count(nd)
                    );
                }
                svg.push_str("</g>");
            }
        }
    }
    Laid { w: width, h: height, svg }
}

fn retry_count(nd: &GNode) -> String {
    // "errors ×N" → N of the first retrier.
    nd.retry.first().and_then(|r| r.rsplit('×').next()).unwrap_or("").to_string()
}

/// The drawn box width (layout widths include room for the Retry loop).
fn box_w(nodes: &[GNode], ln: &[LNode], i: usize) -> f64 {
    if i < nodes.len() && !nodes[i].retry.is_empty() && nodes[i].children.is_empty() {
        ln[i].w - 2.0 * RETRY_EXTRA
    } else {
        ln[i].w
    }
}

pub const STYLE: &str = r#"
.sm text{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;text-anchor:middle;fill:#16191f}
.sm .node rect{fill:#fff;stroke:#879196;stroke-width:1.2}
.sm .node.task rect{fill:#eef4fd;stroke:#5a82c4}
.sm .node.choice rect{fill:#fff8e5;stroke:#c99a06}
.sm .node.fail rect{fill:#fdecea;stroke:#c0392b}
.sm .node.succeed rect{fill:#e9f7ee;stroke:#1e8e3e}
.sm .node.wait rect{fill:#f3eefc;stroke:#7b61ff}
.sm .node.marker rect{fill:#545b64;stroke:#545b64}
.sm .node.marker text{fill:#fff;font-size:11px;font-weight:600}
.sm .node .name{font-size:13px;font-weight:600}
.sm .node .detail{font-size:10.5px;fill:#545b64}
.sm .node.compound>rect.frame{fill:#fbfaff;stroke:#7b61ff;stroke-dasharray:6 3}
.sm .compound-title{font-size:12px;font-weight:700;text-anchor:start;fill:#5b45d6}
.sm .branch>rect{fill:none;stroke:#a99bf0;stroke-dasharray:3 3}
.sm .branch-label{font-size:10px;text-anchor:start;fill:#7b61ff}
.sm .edge{fill:none;stroke:#687078;stroke-width:1.3}
.sm .edge.catch{stroke:#c0392b;stroke-dasharray:6 4}
.sm .edge.default{stroke-dasharray:2 3}
.sm .label rect{fill:#fff;stroke:none;opacity:.92}
.sm .label text{font-size:10.5px;fill:#414750}
.sm .label.catch text{fill:#c0392b}
.sm .retry path{fill:none;stroke:#d9730d;stroke-width:1.3;stroke-dasharray:3 2}
.sm .retry text{font-size:10px;fill:#d9730d;text-anchor:start}
.sm .node.visited>rect{fill:#d9f2e1;stroke:#1e8e3e;stroke-width:2.2}
.sm .node.compound.visited>rect.frame{fill:#f3fbf5;stroke:#1e8e3e;stroke-width:2}
.sm .node.failed>rect,.sm .node.compound.failed>rect.frame{fill:#fbd9d5;stroke:#c0392b;stroke-width:2.4}
.sm .node.marker.visited>rect{fill:#1e8e3e;stroke:#1e8e3e}
.sm .node.running>rect,.sm .node.compound.running>rect.frame{fill:#dbeafe;stroke:#0972d3;stroke-width:2.6;stroke-dasharray:5 3}
.sm .edge.taken{stroke:#1e8e3e;stroke-width:2.6;stroke-dasharray:none}
.sm .label.taken text{fill:#1e6b35;font-weight:600}
"#;

/// The whole definition as a standalone SVG document.
pub fn render(b: &Block, hl: Option<&Highlight>) -> String {
    let laid = layout(b, hl);
    let m = 12.0;
    let (w, h) = (laid.w + 2.0 * m, laid.h + 2.0 * m);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sm\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\"><style>{STYLE}</style><defs>\
<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#687078\"/></marker>\
<marker id=\"arrow-catch\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c0392b\"/></marker>\
<marker id=\"arrow-taken\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1e8e3e\"/></marker>\
<marker id=\"arrow-retry\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d9730d\"/></marker>\
</defs><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/><g transform=\"translate({m},{m})\">{}</g></svg>\n",
        laid.svg
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_keeps_separation_and_balances() {
        let xs = place(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0], &[10.0, 10.0]);
        assert_eq!(xs, vec![-10.0, 0.0, 10.0]);
        let xs = place(&[0.0, 100.0], &[1.0, 1.0], &[10.0]);
        assert_eq!(xs, vec![0.0, 100.0]);
    }

    #[test]
    fn draws_nested_boxes_and_highlights() {
        let src = r#"{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"P"}],"Default":"M"},
            "P":{"Type":"Parallel","Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Pass","End":true}}},{"StartAt":"B2","States":{"B2":{"Type":"Pass","End":true}}}],"Next":"T"},
            "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"Next":"T"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":3}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"Next":"C2"},
            "C2":{"Type":"Choice","Choices":[{"Variable":"$.again","BooleanEquals":true,"Next":"C"}],"Default":"S"},
            "F":{"Type":"Fail","Error":"E"},
            "S":{"Type":"Succeed"}}}"#;
        let (def, _) = asl_core::load_definition(src, &Default::default());
        let g = super::super::model::build(&def.unwrap());
        let mut hl = Highlight::default();
        hl.visited.insert("C".into());
        hl.taken.insert(("C".into(), "P".into()));
        let svg = render(&g, Some(&hl));
        assert!(svg.contains("class=\"node compound parallel\""), "{svg}");
        assert!(svg.contains("class=\"node compound map\""));
        assert!(svg.contains("Branch 2"));
        assert!(svg.contains("$.a == 1"));
        assert!(svg.contains("class=\"edge catch\""));
        assert!(svg.contains("Retry ×3"));
        assert!(svg.contains("class=\"node choice visited\""));
        assert!(svg.contains("class=\"edge choice taken\""));
        assert!(!svg.contains("NaN"));
        assert!(asl_core::tree::load("{}").is_ok());
    }
}
