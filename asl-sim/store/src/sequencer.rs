//! The order of commits and their grouping, shared by both stores.

use crate::{Op, Result, Ticket};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    /// The first ticket not yet taken by an applier.
    next_apply: u64,
    filled: BTreeMap<u64, Vec<Op>>,
    results: HashMap<u64, Result<()>>,
}

#[derive(Default)]
pub(crate) struct Sequencer {
    queue: Mutex<Queue>,
    changed: Condvar,
    /// One applier at a time; it applies every filled ticket in order (group commit).
    applier: Mutex<()>,
    /// Set (for good) by the first failed apply, before any later ticket is applied.
    failed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sequencer {
    /// Whether an apply has failed since the store was opened.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    pub(crate) fn reserve(&self) -> Ticket {
        let mut q = lock(&self.queue);
        let t = q.next_ticket;
        q.next_ticket += 1;
        Ticket(t)
    }

    pub(crate) fn fill(&self, t: Ticket, ops: Vec<Op>) {
        lock(&self.queue).filled.insert(t.0, ops);
        self.changed.notify_all();
    }

    /// Waits until every ticket up to `t` is filled, then either finds `t` applied by
    /// another caller or applies the whole filled prefix itself with `apply` (which gets
    /// the operations of all those tickets, in ticket order).
    pub(crate) fn wait(&self, t: Ticket, apply: &dyn Fn(&[Op]) -> Result<()>) -> Result<()> {
        let t = t.0;
        {
            let mut q = lock(&self.queue);
            loop {
                if let Some(r) = q.results.remove(&t) {
                    return r;
                }
                if (q.next_apply..=t).all(|i| q.filled.contains_key(&i)) {
                    break;
                }
                q = self
                    .changed
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        let applier = lock(&self.applier);
        let (tickets, ops) = {
            let mut q = lock(&self.queue);
            if let Some(r) = q.results.remove(&t) {
                return r;
            }
            let mut tickets = Vec::new();
            let mut ops = Vec::new();
            loop {
                let next = q.next_apply;
                let Some(batch) = q.filled.remove(&next) else {
                    break;
                };
                tickets.push(q.next_apply);
                ops.extend(batch);
                q.next_apply += 1;
            }
            (tickets, ops)
        };
        let result = apply(&ops);
        if result.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        // Posted before the applier is released: the next one must find its ticket answered.
        let mut q = lock(&self.queue);
        let mut mine = None;
        for i in tickets {
            if i == t {
                mine = Some(result.clone());
            } else {
                q.results.insert(i, result.clone());
            }
        }
        drop(q);
        drop(applier);
        self.changed.notify_all();
        mine.expect("the prefix taken reaches the caller's ticket")
    }
}
