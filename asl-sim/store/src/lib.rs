//! serve's durable store: what `asl-sim serve` must not lose.
//!
//! The data is a set of *entries*, each a byte value under a (space, key) pair: one
//! space per kind of record (S3 objects of a bucket, DynamoDB items of a table,
//! execution records, ...), so a restart reads each kind in key order and a deleted
//! table is one `Clear`. Object bodies are *blobs*: files written before the entry
//! that names them is committed.
//!
//! The one invariant: when [`Store::commit`] returns `Ok`, its operations are on disk
//! (all of them or, after a crash, none), so a request may be acknowledged.
//! Concurrent commits are grouped into one transaction and one fsync (group commit).
//!
//! Two implementations behind the trait: [`SqliteStore`] (the default of serve) and
//! [`MemoryStore`] (`--in-memory`, tests). This crate knows nothing of AWS: the
//! drivers decide what an entry holds.

mod blobs;
mod memory;
mod sequencer;
mod sqlite;

pub use blobs::{BlobDir, BlobWriter};
pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// The on-disk format this build reads and writes (the `meta` table's `format_version`).
/// Version 0 was serve's `state.json` snapshot, which the driver upgrades. Version 1 had
/// no `codec` column (every value stored as it is); it is upgraded in place on opening.
pub const FORMAT_VERSION: i64 = 2;

/// One change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Sets the entry (space, key) to value, replacing any.
    Put {
        space: String,
        key: String,
        value: Vec<u8>,
    },
    /// Removes the entry; removing a missing entry is not an error.
    Delete { space: String, key: String },
    /// Removes every entry of the space.
    Clear { space: String },
}

impl Op {
    pub fn put(space: impl Into<String>, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Op {
        Op::Put {
            space: space.into(),
            key: key.into(),
            value: value.into(),
        }
    }
    pub fn delete(space: impl Into<String>, key: impl Into<String>) -> Op {
        Op::Delete {
            space: space.into(),
            key: key.into(),
        }
    }
    pub fn clear(space: impl Into<String>) -> Op {
        Op::Clear {
            space: space.into(),
        }
    }
}

/// What went wrong, so a driver can answer the right thing (a full disk is the
/// client's 503 and a retry, a corrupt database a refusal to start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No space left on the device (or SQLite's SQLITE_FULL).
    Full,
    /// The database file is not a database, or damaged.
    Corrupt,
    /// The data directory holds another format version.
    Version,
    /// Any other I/O failure.
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub kind: ErrorKind,
    pub message: String,
}

impl StoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            message: message.into(),
        }
    }
    pub(crate) fn io(what: &str, e: &std::io::Error) -> StoreError {
        // ENOSPC (28) and EDQUOT (122): the disk is full for us.
        let full = matches!(e.raw_os_error(), Some(28) | Some(122))
            || e.kind() == std::io::ErrorKind::StorageFull;
        StoreError::new(
            if full { ErrorKind::Full } else { ErrorKind::Io },
            format!("{what}: {e}"),
        )
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A place in the order of commits, taken with [`Store::reserve`]; it must be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// The durable store.
///
/// Commits apply in the order their tickets were reserved, whatever order they are
/// filled in: a driver reserves while it holds the lock under which the change was
/// made (so two changes of one key commit in the order they happened), prepares the
/// operations without the lock (writing bodies), then fills and waits.
pub trait Store: Send + Sync {
    /// Takes the next place in the order of commits.
    fn reserve(&self) -> Ticket;
    /// Gives a reserved place its operations (possibly none). Every ticket must be
    /// filled exactly once: later commits wait for it.
    fn fill(&self, ticket: Ticket, ops: Vec<Op>);
    /// Waits until the ticket's operations are applied. `Ok` means durable: the change
    /// survives a crash of the process (and, for [`SqliteStore`], of the machine).
    /// Concurrent tickets are applied together (group commit: one transaction, one fsync).
    fn wait(&self, ticket: Ticket) -> Result<()>;
    /// Applies `ops` atomically, in order, after every earlier ticket.
    fn commit(&self, ops: Vec<Op>) -> Result<()> {
        let t = self.reserve();
        self.fill(t, ops);
        self.wait(t)
    }
    /// Every entry of `space`, in key order (byte order of the UTF-8 keys).
    fn scan(&self, space: &str, each: &mut dyn FnMut(&str, &[u8])) -> Result<()>;
    /// The spaces that have entries and whose name starts with `prefix`, sorted.
    fn spaces(&self, prefix: &str) -> Result<Vec<String>>;
    /// One entry.
    fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Where object bodies live.
    fn blobs(&self) -> &dyn Blobs;
    /// Whether the data outlives the process (false for [`MemoryStore`]).
    fn durable(&self) -> bool;
    /// Whether a commit has failed since the store was opened. Its tickets' changes may
    /// be on disk later than the tickets after them (the driver commits them again), so a
    /// driver must not delete what those older entries may still name (blobs) until a
    /// restart has read the store again.
    fn has_failed(&self) -> bool;
}

/// Object bodies, by id. A blob is written whole (and synced) before the entry that
/// names it is committed, and removed after the commit that stops naming it, so a
/// crash leaves at worst an unnamed blob, which [`Blobs::sweep`] removes.
pub trait Blobs: Send + Sync {
    /// Starts the blob `id` (from [`new_blob_id`]); bytes are written as they come, so
    /// a body need not be held whole.
    fn create(&self, id: &str) -> Result<Box<dyn BlobWrite>>;
    /// Bytes `start..end` of a blob (end exclusive, clamped to its size).
    fn read(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>>;
    /// Removes a blob no committed entry names any more. Missing blobs are fine.
    fn remove(&self, id: &str);
    /// Removes every blob not in `keep` (and unfinished ones); returns how many.
    fn sweep(&self, keep: &std::collections::HashSet<String>) -> Result<usize>;
}

/// A blob being written.
pub trait BlobWrite: Send {
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Makes the blob durable under its id and returns the id and the size.
    fn finish(self: Box<Self>) -> Result<(String, u64)>;
}

/// Writes `bytes` as one new blob and returns its id.
pub fn write_blob(blobs: &dyn Blobs, bytes: &[u8]) -> Result<String> {
    let id = new_blob_id();
    let mut w = blobs.create(&id)?;
    w.write(bytes)?;
    Ok(w.finish()?.0)
}

/// A fresh blob id (hex): time, process and a counter, so two processes on one data
/// dir (or one process restarted within a millisecond) never collide.
pub fn new_blob_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{t:016x}{:08x}{n:08x}", std::process::id())
}
