//! Object bodies as files: `<dir>/<id>`, written as `<id>.tmp`, synced, renamed.

use crate::{BlobWrite, Blobs, ErrorKind, Result, StoreError};
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A directory of blobs.
pub struct BlobDir {
    dir: PathBuf,
    /// A rename into the directory is durable only once the directory is synced; the
    /// store syncs it once per group commit, before the entries that name the blobs.
    unsynced: Arc<AtomicBool>,
}

impl BlobDir {
    pub fn open(dir: &Path) -> Result<BlobDir> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(&format!("cannot create {}", dir.display()), &e))?;
        Ok(BlobDir {
            dir: dir.to_path_buf(),
            unsynced: Arc::new(AtomicBool::new(false)),
        })
    }

    fn path(&self, id: &str) -> Result<PathBuf> {
        // Ids are ours (hex); anything else is a damaged entry, never a path to follow.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::new(
                ErrorKind::Corrupt,
                format!("{}: invalid blob id {id:?}", self.dir.display()),
            ));
        }
        Ok(self.dir.join(id))
    }

    /// Syncs the directory if a blob was renamed into it since the last call.
    pub fn sync_if_needed(&self) -> Result<()> {
        if self.unsynced.swap(false, Ordering::SeqCst) {
            if let Err(e) = File::open(&self.dir).and_then(|d| d.sync_all()) {
                self.unsynced.store(true, Ordering::SeqCst);
                return Err(StoreError::io(
                    &format!("cannot sync {}", self.dir.display()),
                    &e,
                ));
            }
        }
        Ok(())
    }
}

/// A blob being written to its temporary file.
pub struct BlobWriter {
    id: String,
    tmp: PathBuf,
    done: PathBuf,
    file: Option<File>,
    size: u64,
    unsynced: Arc<AtomicBool>,
}

impl BlobWrite for BlobWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("open until finished");
        f.write_all(bytes)
            .map_err(|e| StoreError::io(&format!("cannot write {}", self.tmp.display()), &e))?;
        self.size += bytes.len() as u64;
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<(String, u64)> {
        let f = self.file.take().expect("open until finished");
        f.sync_all()
            .map_err(|e| StoreError::io(&format!("cannot sync {}", self.tmp.display()), &e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.done)
            .map_err(|e| StoreError::io(&format!("cannot rename {}", self.tmp.display()), &e))?;
        self.unsynced.store(true, Ordering::SeqCst);
        Ok((std::mem::take(&mut self.id), self.size))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Abandoned (an error, a client that went away): leave no temporary file.
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Blobs for BlobDir {
    fn create(&self, id: &str) -> Result<Box<dyn BlobWrite>> {
        let done = self.path(id)?;
        let id = id.to_string();
        let tmp = self.dir.join(format!("{id}.tmp"));
        let file = File::create(&tmp)
            .map_err(|e| StoreError::io(&format!("cannot create {}", tmp.display()), &e))?;
        Ok(Box::new(BlobWriter {
            id,
            tmp,
            done,
            file: Some(file),
            size: 0,
            unsynced: self.unsynced.clone(),
        }))
    }

    fn read(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let path = self.path(id)?;
        let mut f = File::open(&path)
            .map_err(|e| StoreError::io(&format!("cannot read {}", path.display()), &e))?;
        let size = f
            .metadata()
            .map_err(|e| StoreError::io(&format!("cannot read {}", path.display()), &e))?
            .len();
        let end = end.min(size);
        let start = start.min(end);
        let mut out = vec![0u8; (end - start) as usize];
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.read_exact(&mut out))
            .map_err(|e| StoreError::io(&format!("cannot read {}", path.display()), &e))?;
        Ok(out)
    }

    fn remove(&self, id: &str) {
        if let Ok(p) = self.path(id) {
            let _ = std::fs::remove_file(p);
        }
    }

    fn sweep(&self, keep: &HashSet<String>) -> Result<usize> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io(&format!("cannot list {}", self.dir.display()), &e))?;
        let mut removed = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) {
                let _ = std::fs::remove_file(e.path());
                removed += 1;
            }
        }
        Ok(removed)
    }
}
