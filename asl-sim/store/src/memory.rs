//! The store of `--in-memory` and of tests: the same contract, nothing on disk.

use crate::sequencer::Sequencer;
use crate::{BlobWrite, Blobs, ErrorKind, Op, Result, Store, StoreError, Ticket};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, BTreeMap<String, Vec<u8>>>>,
    sequencer: Sequencer,
    blobs: MemoryBlobs,
    /// Fault injection for tests: this many next applies fail as a full disk would.
    failing: Mutex<usize>,
}

#[derive(Default)]
struct MemoryBlobs {
    blobs: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Makes the next `n` group commits fail (nothing of them applied), as a full disk
    /// does: for tests of what a driver does when a commit fails.
    pub fn fail_next_commits(&self, n: usize) {
        *lock(&self.failing) = n;
    }
}

impl MemoryStore {
    fn apply(&self, ops: &[Op]) -> Result<()> {
        {
            let mut failing = lock(&self.failing);
            if *failing > 0 {
                *failing -= 1;
                return Err(StoreError::new(ErrorKind::Full, "injected failure: no space left on device"));
            }
        }
        let mut e = lock(&self.entries);
        for op in ops.iter().cloned() {
            match op {
                Op::Put { space, key, value } => {
                    e.entry(space).or_default().insert(key, value);
                }
                Op::Delete { space, key } => {
                    if let Some(s) = e.get_mut(&space) {
                        s.remove(&key);
                        if s.is_empty() {
                            e.remove(&space);
                        }
                    }
                }
                Op::Clear { space } => {
                    e.remove(&space);
                }
            }
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    fn reserve(&self) -> Ticket {
        self.sequencer.reserve()
    }
    fn fill(&self, ticket: Ticket, ops: Vec<Op>) {
        self.sequencer.fill(ticket, ops)
    }
    fn wait(&self, ticket: Ticket) -> Result<()> {
        self.sequencer.wait(ticket, &|ops| self.apply(ops))
    }
    fn scan(&self, space: &str, each: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
        let e = lock(&self.entries);
        for (k, v) in e.get(space).into_iter().flatten() {
            each(k, v);
        }
        Ok(())
    }
    fn spaces(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(lock(&self.entries)
            .keys()
            .filter(|s| s.starts_with(prefix))
            .cloned()
            .collect())
    }
    fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(lock(&self.entries)
            .get(space)
            .and_then(|s| s.get(key))
            .cloned())
    }
    fn blobs(&self) -> &dyn Blobs {
        &self.blobs
    }
    fn durable(&self) -> bool {
        false
    }
    fn has_failed(&self) -> bool {
        self.sequencer.has_failed()
    }
}

struct MemoryBlobWriter {
    id: String,
    bytes: Vec<u8>,
    blobs: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
}

impl BlobWrite for MemoryBlobWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<(String, u64)> {
        let id = self.id;
        let size = self.bytes.len() as u64;
        lock(&self.blobs).insert(id.clone(), Arc::new(self.bytes));
        Ok((id, size))
    }
}

impl Blobs for MemoryBlobs {
    fn create(&self, id: &str) -> Result<Box<dyn BlobWrite>> {
        Ok(Box::new(MemoryBlobWriter {
            id: id.to_string(),
            bytes: Vec::new(),
            blobs: self.blobs.clone(),
        }))
    }
    fn read(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let b = lock(&self.blobs)
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::new(ErrorKind::Io, format!("no blob {id}")))?;
        let end = (end as usize).min(b.len());
        let start = (start as usize).min(end);
        Ok(b[start..end].to_vec())
    }
    fn remove(&self, id: &str) {
        lock(&self.blobs).remove(id);
    }
    fn sweep(&self, keep: &HashSet<String>) -> Result<usize> {
        let mut b = lock(&self.blobs);
        let before = b.len();
        b.retain(|id, _| keep.contains(id));
        Ok(before - b.len())
    }
}
