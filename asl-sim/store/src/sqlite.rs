//! The store on disk: `<dir>/store.sqlite` (SQLite in WAL mode) and `<dir>/blobs/`.
//!
//! Durability: `synchronous=FULL`. In WAL mode NORMAL skips the fsync of the WAL at
//! each commit, so a power loss may drop the last commits after they were
//! acknowledged; FULL syncs the WAL before COMMIT returns, which is what "durable
//! before the answer" means. Its cost is one fsync per commit, shared by every
//! request of a group (see [`SqliteStore::commit`]).
//!
//! Values of 1 KiB or more are stored LZ4-compressed when that saves a tenth
//! (`codec` 1; 0 is a value as it is). They are mostly execution records and checkpoints
//! of JSON that shrink several times, and fewer bytes per commit is what lets durable
//! PUTs keep up (issue 12). Compression happens in [`Store::fill`], on the caller's
//! thread, not under the connection's lock.

use crate::sequencer::Sequencer;
use crate::{BlobDir, Blobs, ErrorKind, Op, Result, Store, StoreError, Ticket, FORMAT_VERSION};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    sequencer: Sequencer,
    blobs: BlobDir,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub const DATABASE_FILE: &str = "store.sqlite";

impl SqliteStore {
    /// Opens (or creates) the store of a data directory. Refuses a database of another
    /// format version, and a file that is not a database, with what to do about it.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(&format!("cannot create {}", dir.display()), &e))?;
        let path = dir.join(DATABASE_FILE);
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, e))?;
        let setup = |conn: &Connection| -> rusqlite::Result<Option<i64>> {
            // journal_mode answers with a row; a damaged file fails here or at the first read.
            conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
            // An 8 MiB page cache (the default is 2 MiB): execution records, rewritten at each
            // checkpoint, otherwise send every commit back to the file for the pages it updates.
            conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA cache_size=-8192;")?;
            let has_meta: bool = conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'",
                [],
                |r| r.get::<_, i64>(0),
            )? > 0;
            if !has_meta {
                return Ok(None);
            }
            conn.query_row(
                "SELECT value FROM meta WHERE key='format_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|v| v.map(|s| s.parse::<i64>().unwrap_or(-1)))
        };
        let version = setup(&conn).map_err(|e| sql_error(&path, e))?;
        match version {
            None => {
                conn.execute_batch(&format!(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                     CREATE TABLE IF NOT EXISTS entries (space TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, codec INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (space, key)) WITHOUT ROWID;
                     INSERT OR REPLACE INTO meta VALUES ('format_version', '{FORMAT_VERSION}');
                     COMMIT;"
                ))
                .map_err(|e| sql_error(&path, e))?;
            }
            Some(v) if v == FORMAT_VERSION => {}
            // Version 1's values are all stored as they are: codec 0. Adding a column with
            // a default rewrites no row, so the upgrade is instant whatever the size.
            Some(1) => conn
                .execute_batch(&format!(
                    "BEGIN;
                     ALTER TABLE entries ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
                     UPDATE meta SET value = '{FORMAT_VERSION}' WHERE key = 'format_version';
                     COMMIT;"
                ))
                .map_err(|e| sql_error(&path, e))?,
            Some(v) => {
                return Err(StoreError::new(
                    ErrorKind::Version,
                    format!(
                        "{}: the data has format version {v}; this asl-sim reads version {FORMAT_VERSION}. \
                         Use the asl-sim that wrote it, or move the directory away to start empty",
                        path.display()
                    ),
                ))
            }
        }
        let blobs = BlobDir::open(&dir.join("blobs"))?;
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
            sequencer: Sequencer::default(),
            blobs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn apply(&self, conn: &mut Connection, ops: &[Op]) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO entries (space, key, value, codec) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM entries WHERE space = ?1 AND key = ?2")?;
            let mut clear = tx.prepare_cached("DELETE FROM entries WHERE space = ?1")?;
            for op in ops {
                match op {
                    Op::Put { space, key, value } => {
                        let (codec, bytes) = encoded(value);
                        put.execute(params![space, key, bytes, codec])?
                    }
                    Op::Delete { space, key } => del.execute(params![space, key])?,
                    Op::Clear { space } => clear.execute(params![space])?,
                };
            }
        }
        tx.commit()
    }
}

/// Values shorter than this are stored as they are.
const COMPRESS_FROM: usize = 1024;
const RAW: u8 = 0;
const LZ4: u8 = 1;

/// A value as [`Store::fill`] hands it on: its codec byte, then the stored bytes.
fn encode(value: Vec<u8>) -> Vec<u8> {
    if value.len() >= COMPRESS_FROM {
        let packed = lz4_flex::block::compress_prepend_size(&value);
        if packed.len() < value.len() - value.len() / 10 {
            let mut out = Vec::with_capacity(packed.len() + 1);
            out.push(LZ4);
            out.extend_from_slice(&packed);
            return out;
        }
    }
    let mut out = value;
    out.insert(0, RAW);
    out
}

/// The codec and bytes of an [`encode`]d value.
fn encoded(value: &[u8]) -> (u8, &[u8]) {
    match value.split_first() {
        Some((codec, bytes)) => (*codec, bytes),
        None => (RAW, value),
    }
}

/// A stored value as it was put.
fn decode<'a>(path: &Path, codec: i64, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>> {
    match codec as u8 {
        RAW if codec == 0 => Ok(Cow::Borrowed(bytes)),
        LZ4 if codec == 1 => lz4_flex::block::decompress_size_prepended(bytes).map(Cow::Owned).map_err(|e| {
            StoreError::new(
                ErrorKind::Corrupt,
                format!("{}: a compressed value is damaged ({e}): restore the database from a backup or move the data directory away to start empty", path.display()),
            )
        }),
        _ => Err(StoreError::new(
            ErrorKind::Version,
            format!("{}: a value has codec {codec}, which this asl-sim does not know: use the asl-sim that wrote it", path.display()),
        )),
    }
}

/// SQLite's errors in the store's terms.
fn sql_error(path: &Path, e: rusqlite::Error) -> StoreError {
    let kind = match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => ErrorKind::Full,
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => ErrorKind::Corrupt,
        _ => ErrorKind::Io,
    };
    let hint = match kind {
        ErrorKind::Full => " (the disk is full: free space and retry; nothing acknowledged was lost)",
        ErrorKind::Corrupt => " (the database is damaged: restore it from a backup or move the data directory away to start empty)",
        _ => "",
    };
    StoreError::new(kind, format!("{}: {e}{hint}", path.display()))
}

impl Store for SqliteStore {
    fn reserve(&self) -> Ticket {
        self.sequencer.reserve()
    }

    fn fill(&self, ticket: Ticket, ops: Vec<Op>) {
        let ops = ops
            .into_iter()
            .map(|op| match op {
                Op::Put { space, key, value } => Op::Put { space, key, value: encode(value) },
                other => other,
            })
            .collect();
        self.sequencer.fill(ticket, ops)
    }

    /// Group commit: the caller whose ticket is next applies every filled ticket in one
    /// transaction (one fsync of the WAL); the others find theirs done.
    fn wait(&self, ticket: Ticket) -> Result<()> {
        self.sequencer.wait(ticket, &|ops| {
            if ops.is_empty() {
                return Ok(());
            }
            // The blobs these entries name must be durable first.
            self.blobs.sync_if_needed()?;
            let mut conn = lock(&self.conn);
            self.apply(&mut conn, ops)
                .map_err(|e| sql_error(&self.path, e))
        })
    }

    fn scan(&self, space: &str, each: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
        let conn = lock(&self.conn);
        let sql = |e| sql_error(&self.path, e);
        let mut st = conn
            .prepare_cached("SELECT key, value, codec FROM entries WHERE space = ?1 ORDER BY key")
            .map_err(sql)?;
        let mut rows = st.query(params![space]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let key = row.get_ref(0).and_then(|k| Ok(k.as_str()?)).map_err(sql)?;
            let value = row.get_ref(1).and_then(|v| Ok(v.as_blob()?)).map_err(sql)?;
            let codec = row.get::<_, i64>(2).map_err(sql)?;
            each(key, &decode(&self.path, codec, value)?);
        }
        Ok(())
    }

    fn spaces(&self, prefix: &str) -> Result<Vec<String>> {
        let conn = lock(&self.conn);
        let run = || -> rusqlite::Result<Vec<String>> {
            // Skip from one space to the next through the primary key instead of reading every entry.
            let mut out = Vec::new();
            let mut st = conn.prepare_cached(
                "SELECT space FROM entries WHERE space > ?1 ORDER BY space LIMIT 1",
            )?;
            let mut first = conn.prepare_cached(
                "SELECT space FROM entries WHERE space >= ?1 ORDER BY space LIMIT 1",
            )?;
            let mut cur: Option<String> =
                first.query_row(params![prefix], |r| r.get(0)).optional()?;
            while let Some(s) = cur {
                if !s.starts_with(prefix) {
                    break;
                }
                cur = st.query_row(params![s], |r| r.get(0)).optional()?;
                out.push(s);
            }
            Ok(out)
        };
        run().map_err(|e| sql_error(&self.path, e))
    }

    fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let conn = lock(&self.conn);
        let found = conn
            .prepare_cached("SELECT value, codec FROM entries WHERE space = ?1 AND key = ?2")
            .and_then(|mut st| {
                st.query_row(params![space, key], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
                    .optional()
            })
            .map_err(|e| sql_error(&self.path, e))?;
        match found {
            Some((value, 0)) => Ok(Some(value)),
            Some((value, codec)) => decode(&self.path, codec, &value).map(|v| Some(v.into_owned())),
            None => Ok(None),
        }
    }

    fn blobs(&self) -> &dyn Blobs {
        &self.blobs
    }

    fn durable(&self) -> bool {
        true
    }

    fn has_failed(&self) -> bool {
        self.sequencer.has_failed()
    }
}
