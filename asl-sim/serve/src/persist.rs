//! What serve stores, and when (issue 12): every change is committed to the store
//! before the request (or execution step) that made it is answered.
//!
//! The services stay pure: S3 and DynamoDB record which buckets, objects, uploads,
//! tables and items changed (`take_changes`), and [`flush`] reads their state now
//! under the world lock, takes the next place in the store's commit order there (so
//! two changes of one key commit in the order they happened), then writes the new
//! bodies and commits without the lock. Event deliveries (the outbox) become RUNNING
//! execution records in the same commit as the change that caused them, so an
//! acknowledged upload's workflow runs even if serve is killed right after.
//!
//! Spaces of the store:
//! - `s3:bucket` name → creation time, EventBridge flag
//! - `s3:object:<bucket>` key → metadata and the blob id of the body (none when empty)
//! - `s3:version:<bucket>` key → its older versions and delete markers, newest first,
//!   each object with the blob of its body (versioned buckets)
//! - `s3:upload:<bucket>` upload id → the upload and its parts' blobs
//! - `ddb:table` name → description and TTL attribute; `ddb:item:<table>` key → item
//! - `sfn:execution` ARN → the execution record; `sfn:checkpoint` ARN → the parked
//!   `Execution` value (see exec.rs)
//! - `sfn:machine` name → a state machine with its versions, aliases and tags
//!   (sfn_control.rs; the registry is written whole when the API changed it)
//! - `sqs:queue` name → the queue whole, with its messages (written when it changed)
//! - `service` `sqs` → SQS's id counters; `sns` → SNS whole (topics, subscriptions);
//!   `events` → EventBridge whole (buses, rules, targets, the targets' RetryPolicy and
//!   DeadLetterConfig); `activities` → the activities and their tasks not yet handed to a
//!   worker. These are small: each is written whole when its stored form differs from the
//!   last one committed.

use super::State;
use crate::world::World;
use asl_s3::s3::{Body, BodySource, Bucket, Object, Part, Upload, Version, Versioning};
use asl_store::{new_blob_id, Op, Store, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub const BUCKETS: &str = "s3:bucket";
pub const OBJECTS: &str = "s3:object:";
pub const UPLOADS: &str = "s3:upload:";
pub const VERSIONS: &str = "s3:version:";
pub const TABLES: &str = "ddb:table";
pub const ITEMS: &str = "ddb:item:";
pub const EXECUTIONS: &str = "sfn:execution";
pub const CHECKPOINTS: &str = "sfn:checkpoint";
pub const QUEUES: &str = "sqs:queue";
pub const SERVICES: &str = "service";

pub struct Persist {
    pub store: Arc<dyn Store>,
    /// How S3 reads a stored body: from its blob, on demand.
    pub source: Arc<dyn BodySource>,
    /// The blob of every stored body, so that the commit that replaces or deletes it
    /// can remove the file afterwards. Locked only under the world lock.
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// (bucket, key) → the blob its collected entry names.
    objects: HashMap<(String, String), String>,
    /// (bucket, key) → the blobs its collected older versions name.
    versions: HashMap<(String, String), Vec<String>>,
    /// How many objects name each blob: CopyObject of a stored body shares the source's
    /// blob (no copy of the bytes), so a blob is removed only when no object names it.
    /// Every collect reads every change, so after it these counts are those of the
    /// objects in memory: a blob whose count is 0 cannot be named again.
    refs: HashMap<String, usize>,
    /// (bucket, upload id, part number) → (etag, last modified, blob)
    parts: HashMap<(String, String, u32), (String, i64, String)>,
    /// `service` entry → the text last collected (SNS, EventBridge, activities).
    snapshots: HashMap<&'static str, String>,
}

impl Known {
    fn name(&mut self, bucket: &str, key: &str, blob: String) {
        *self.refs.entry(blob.clone()).or_default() += 1;
        self.objects.insert((bucket.to_string(), key.to_string()), blob);
    }
    /// Forgets the blob of an object; returns it when no object names it any more.
    fn unname(&mut self, bucket: &str, key: &str) -> Option<String> {
        let blob = self.objects.remove(&(bucket.to_string(), key.to_string()))?;
        self.unref(blob)
    }
    /// The older versions of a key name these blobs (after [`Known::unname_versions`]).
    fn name_versions(&mut self, bucket: &str, key: &str, blobs: Vec<String>) {
        for b in &blobs {
            *self.refs.entry(b.clone()).or_default() += 1;
        }
        if !blobs.is_empty() {
            self.versions.insert((bucket.to_string(), key.to_string()), blobs);
        }
    }
    /// Forgets the blobs of a key's older versions; returns those no object names any more.
    fn unname_versions(&mut self, bucket: &str, key: &str) -> Vec<String> {
        let blobs = self.versions.remove(&(bucket.to_string(), key.to_string())).unwrap_or_default();
        blobs.into_iter().filter_map(|b| self.unref(b)).collect()
    }
    fn unref(&mut self, blob: String) -> Option<String> {
        let n = self.refs.get_mut(&blob)?;
        *n -= 1;
        if *n > 0 {
            return None;
        }
        self.refs.remove(&blob);
        Some(blob)
    }
}

/// Where a body that may leave memory lives: a key's current object, or one of its older
/// versions (by version id; `None` is the null version).
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    Current,
    Older(Option<String>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A commit being prepared: its place, its entries, the bodies to write first and the
/// blobs to remove once it is durable.
pub struct Pending {
    ticket: asl_store::Ticket,
    ops: Vec<Op>,
    writes: Vec<Write>,
    removals: Vec<String>,
    /// Bodies that leave memory once committed.
    swaps: Vec<Swap>,
    /// What the commit covers, to be marked changed again if it fails.
    retry: Retry,
}

/// The changes a failed commit had taken from the world. They were (maybe) already
/// answered to *other* requests, whose own flush found nothing left to commit: they are
/// put back, so the next commit stores them (with their state then), and a request is
/// never acknowledged on the strength of a commit that failed.
pub struct Retry {
    s3: asl_s3::s3::Changes,
    dynamodb: asl_dynamodb::Changes,
    queues: BTreeSet<String>,
    snapshots: Vec<&'static str>,
}

/// A body that may leave memory once committed: (bucket, key, where, the bytes written, blob id).
pub type Swap = (String, String, Slot, Arc<Vec<u8>>, String);

/// A blob to write before the commit: new bytes (shared with the object in memory, not copied).
struct Write(String, Arc<Vec<u8>>);

/// The blobs of the store, as S3 reads them.
struct StoredBodies(Arc<dyn Store>);

impl BodySource for StoredBodies {
    fn read(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>, String> {
        read_body(&*self.0, id, start, end).map_err(|e| e.message)
    }
}

/// Bodies up to this size are stored in the database, in the commit of the entry that
/// names them, instead of as a file: a small PUT then costs no file creation, fsync and
/// rename of its own, only its share of the group commit's one fsync. (Measured: the
/// separate fsync of each small body was what held durable small PUTs to a few hundred a
/// second.) Larger bodies stay files, streamed from disk when read.
pub const INLINE_MAX: usize = 32 * 1024;

/// Ids of bodies kept in the database (the `s3:body` space): never a file name, since
/// file blobs' ids are hex only.
const INLINE_PREFIX: &str = "db-";

pub const BODIES: &str = "s3:body";

/// A stored body's bytes `start..end`, from the database or from its file.
fn read_body(store: &dyn Store, id: &str, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
    if !id.starts_with(INLINE_PREFIX) {
        return store.blobs().read(id, start, end);
    }
    let bytes = store.get(BODIES, id)?.ok_or_else(|| StoreError::new(asl_store::ErrorKind::Corrupt, format!("the stored body {id} is missing")))?;
    let (start, end) = (start.min(bytes.len() as u64) as usize, end.min(bytes.len() as u64) as usize);
    Ok(bytes[start..end.max(start)].to_vec())
}

impl Persist {
    pub fn new(store: Arc<dyn Store>) -> Persist {
        let source: Arc<dyn BodySource> = Arc::new(StoredBodies(store.clone()));
        Persist { store, source, known: Mutex::new(Known::default()) }
    }

    /// Reads what changed in the world (the world lock is held) and reserves the commit.
    /// `target_extras`: the EventBridge targets' settings serve keeps beside the world
    /// ([`super::events_api::TargetExtras::to_json`]).
    pub fn collect(&self, w: &mut World, extra: Vec<Op>, target_extras: Value) -> Pending {
        let mut known = lock(&self.known);
        let s3c = w.s3.take_changes();
        let mut p = Pending {
            ticket: self.store.reserve(),
            ops: Vec::new(),
            writes: Vec::new(),
            removals: Vec::new(),
            swaps: Vec::new(),
            retry: Retry { s3: s3c.clone(), dynamodb: asl_dynamodb::Changes::default(), queues: BTreeSet::new(), snapshots: Vec::new() },
        };
        for name in &s3c.buckets {
            match w.s3.buckets.get(name) {
                Some(b) => p.ops.push(Op::put(BUCKETS, name.clone(), bucket_json(b).to_string())),
                None => {
                    p.ops.push(Op::delete(BUCKETS, name.clone()));
                    p.ops.push(Op::clear(format!("{OBJECTS}{name}")));
                    p.ops.push(Op::clear(format!("{UPLOADS}{name}")));
                    p.ops.push(Op::clear(format!("{VERSIONS}{name}")));
                }
            }
        }
        let mut unnamed = Vec::new();
        for (bucket, key) in &s3c.objects {
            unnamed.extend(known.unname(bucket, key));
            match w.s3.object(bucket, key) {
                Some(o) => {
                    let blob = p.blob_of(o, bucket, key, Slot::Current);
                    if let Some(id) = &blob {
                        known.name(bucket, key, id.clone());
                    }
                    p.ops.push(Op::put(format!("{OBJECTS}{bucket}"), key.clone(), object_json(o, blob.as_deref()).to_string()));
                }
                None => p.ops.push(Op::delete(format!("{OBJECTS}{bucket}"), key.clone())),
            }
        }
        for (bucket, key) in &s3c.versions {
            unnamed.extend(known.unname_versions(bucket, key));
            let list = w.s3.buckets.get(bucket).and_then(|b| b.versions.get(key)).filter(|l| !l.is_empty());
            let Some(list) = list else {
                p.ops.push(Op::delete(format!("{VERSIONS}{bucket}"), key.clone()));
                continue;
            };
            let mut named = Vec::new();
            let mut entries = Vec::with_capacity(list.len());
            for v in list {
                entries.push(match v {
                    Version::Object(o) => {
                        let blob = p.blob_of(o, bucket, key, Slot::Older(o.version_id.clone()));
                        named.extend(blob.clone());
                        object_json(o, blob.as_deref())
                    }
                    Version::DeleteMarker(m) => asl_s3::versions::marker_json(m),
                });
            }
            known.name_versions(bucket, key, named);
            p.ops.push(Op::put(format!("{VERSIONS}{bucket}"), key.clone(), Value::Array(entries).to_string()));
        }
        // A blob unnamed by one key and named by another of this collect (a copy, then
        // an overwrite of the source) stays.
        p.removals.extend(unnamed.into_iter().filter(|b| !known.refs.contains_key(b)));
        for (bucket, upload_id) in &s3c.uploads {
            let upload = w.s3.buckets.get(bucket).and_then(|b| b.uploads.get(upload_id));
            let mut parts = serde_json::Map::new();
            let mut live = HashSet::new();
            if let Some(u) = upload {
                for (n, part) in &u.parts {
                    live.insert(*n);
                    let k = (bucket.clone(), upload_id.clone(), *n);
                    let blob = match known.parts.get(&k) {
                        Some((etag, lm, blob)) if *etag == part.etag && *lm == part.last_modified_ms => blob.clone(),
                        _ => {
                            let id = new_blob_id();
                            p.writes.push(Write(id.clone(), Arc::new(part.body.clone())));
                            if let Some((_, _, old)) = known.parts.insert(k, (part.etag.clone(), part.last_modified_ms, id.clone())) {
                                p.removals.push(old);
                            }
                            id
                        }
                    };
                    parts.insert(n.to_string(), json!({"etag": part.etag, "lastModified": part.last_modified_ms, "size": part.body.len(), "blob": blob}));
                }
            }
            let gone: Vec<_> = known.parts.keys().filter(|(b, u, n)| b == bucket && u == upload_id && !live.contains(n)).cloned().collect();
            for k in gone {
                if let Some((_, _, old)) = known.parts.remove(&k) {
                    p.removals.push(old);
                }
            }
            match upload {
                Some(u) => p.ops.push(Op::put(
                    format!("{UPLOADS}{bucket}"),
                    upload_id.clone(),
                    json!({"key": u.key, "initiated": u.initiated_ms, "contentType": u.content_type, "metadata": u.metadata, "parts": parts, "tags": u.tags}).to_string(),
                )),
                None => p.ops.push(Op::delete(format!("{UPLOADS}{bucket}"), upload_id.clone())),
            }
        }
        let dc = w.dynamodb.take_changes();
        // Names and keys only: what changed is read again if this commit fails.
        p.retry.dynamodb.tables = dc.tables.iter().map(|(n, _)| (n.clone(), None)).collect();
        p.retry.dynamodb.items = dc.items.iter().map(|(t, k, _)| (t.clone(), k.clone(), None)).collect();
        for (name, t) in dc.tables {
            match t {
                Some(t) => p.ops.push(Op::put(TABLES, name, t.to_string())),
                None => {
                    p.ops.push(Op::delete(TABLES, name.clone()));
                    p.ops.push(Op::clear(format!("{ITEMS}{name}")));
                }
            }
        }
        for (table, key, item) in dc.items {
            let space = format!("{ITEMS}{table}");
            p.ops.push(match item {
                Some(item) => Op::put(space, key, item.to_string()),
                None => Op::delete(space, key),
            });
        }
        let queues = w.sqs.take_changes();
        if !queues.is_empty() {
            for name in &queues {
                p.ops.push(match w.sqs.queue_json(name) {
                    Some(q) => Op::put(QUEUES, name.clone(), q.to_string()),
                    None => Op::delete(QUEUES, name.clone()),
                });
            }
            p.ops.push(Op::put(SERVICES, "sqs", w.sqs.counters_json().to_string()));
        }
        p.retry.queues = queues;
        let events = json!({"eventBridge": w.events.to_json(), "targetExtras": target_extras}).to_string();
        let activities = w.activities.to_json().to_string();
        for (entry, text) in [("sns", w.sns.to_json().to_string()), ("events", events), ("activities", activities)] {
            if known.snapshots.get(entry) != Some(&text) {
                p.ops.push(Op::put(SERVICES, entry, text.clone()));
                known.snapshots.insert(entry, text);
                p.retry.snapshots.push(entry);
            }
        }
        // A body kept in the database leaves it in the commit that stops naming it.
        let (inline, files): (Vec<String>, Vec<String>) = std::mem::take(&mut p.removals).into_iter().partition(|id| id.starts_with(INLINE_PREFIX));
        p.removals = files;
        p.ops.extend(inline.into_iter().map(|id| Op::delete(BODIES, id)));
        p.ops.extend(extra);
        p
    }

    /// Writes the bodies, commits and waits (without the world lock). The ticket is
    /// always filled, also when a body cannot be written, so later commits go on.
    /// Returns the bodies that may now leave memory, or the error and what to put back
    /// ([`Persist::retry`], under the world lock).
    pub fn complete(&self, p: Pending) -> Result<Vec<Swap>, (StoreError, Retry)> {
        let blobs = self.store.blobs();
        let mut written = Vec::new();
        for Write(id, bytes) in &p.writes {
            let r = blobs.create(id).and_then(|mut b| {
                b.write(bytes)?;
                b.finish()
            });
            if let Err(e) = r {
                self.store.fill(p.ticket, Vec::new());
                let _ = self.store.wait(p.ticket);
                for id in written {
                    blobs.remove(id);
                }
                return Err((e, p.retry));
            }
            written.push(id);
        }
        self.store.fill(p.ticket, p.ops);
        if let Err(e) = self.store.wait(p.ticket) {
            return Err((e, p.retry));
        }
        // After a failed commit the store may still name blobs that memory no longer
        // does (the failed changes are committed again later): removing nothing until
        // a restart, whose sweep removes every unnamed blob, keeps every named one.
        if !self.store.has_failed() {
            for id in &p.removals {
                blobs.remove(id);
            }
        }
        Ok(p.swaps)
    }

    /// Marks the changes of a failed commit changed again (the world lock is held).
    pub fn retry(&self, w: &mut World, r: Retry) {
        w.s3.restore_changes(r.s3);
        w.dynamodb.restore_changes(&r.dynamodb);
        w.sqs.mark_changed(r.queues);
        let mut known = lock(&self.known);
        for entry in r.snapshots {
            known.snapshots.remove(entry);
        }
    }

    /// Replaces in-memory bodies by their stored blobs (the world lock is held), unless
    /// the object changed meanwhile: serve's memory does not grow with the bytes stored.
    pub fn release(&self, w: &mut World, swaps: Vec<Swap>) {
        let known = lock(&self.known);
        for (bucket, key, slot, bytes, id) in swaps {
            // The latest collect of the key must name this blob: the same bytes may be
            // back under the key (copied away and back) with another blob named since.
            let k = (bucket.clone(), key.clone());
            let named = match &slot {
                Slot::Current => known.objects.get(&k) == Some(&id),
                Slot::Older(_) => known.versions.get(&k).is_some_and(|v| v.contains(&id)),
            };
            if !named {
                continue;
            }
            let Some(b) = w.s3.buckets.get_mut(&bucket) else { continue };
            let o = match &slot {
                Slot::Current => b.objects.get_mut(&key),
                Slot::Older(vid) => b.versions.get_mut(&key).and_then(|l| {
                    l.iter_mut().find_map(|v| match v {
                        Version::Object(o) if o.version_id == *vid => Some(o),
                        _ => None,
                    })
                }),
            };
            let Some(o) = o else { continue };
            if o.body.in_memory().is_some_and(|b| Arc::ptr_eq(b, &bytes)) {
                o.body = Body::stored(&id, bytes.len() as u64, self.source.clone());
            }
        }
    }

    /// Runs a whole commit of the world's changes and `extra` by one holder of the world
    /// (`run --state`, tests): collect, complete, then release or retry. serve goes through
    /// [`flush`], which adds the event deliveries and lets other requests in meanwhile.
    pub fn commit(&self, w: &mut World, extra: Vec<Op>, target_extras: Value) -> Result<(), StoreError> {
        let pending = self.collect(w, extra, target_extras);
        match self.complete(pending) {
            Ok(swaps) => {
                self.release(w, swaps);
                Ok(())
            }
            Err((e, retry)) => {
                self.retry(w, retry);
                Err(e)
            }
        }
    }
}

impl Pending {
    /// The blob that will hold an object's body: a new one for bytes in memory (written
    /// before the commit, and the body swapped for it after), the same one for a body
    /// already stored (a copy, or a version that became older), none when empty.
    fn blob_of(&mut self, o: &Object, bucket: &str, key: &str, slot: Slot) -> Option<String> {
        if o.body.is_empty() {
            return None;
        }
        match (o.body.in_memory(), o.body.stored_id()) {
            (Some(bytes), _) if bytes.len() <= INLINE_MAX => {
                let id = format!("{INLINE_PREFIX}{}", new_blob_id());
                self.ops.push(Op::put(BODIES, id.clone(), bytes.as_slice()));
                self.swaps.push((bucket.to_string(), key.to_string(), slot, bytes.clone(), id.clone()));
                Some(id)
            }
            (Some(bytes), _) => {
                let id = new_blob_id();
                self.writes.push(Write(id.clone(), bytes.clone()));
                self.swaps.push((bucket.to_string(), key.to_string(), slot, bytes.clone(), id.clone()));
                Some(id)
            }
            (None, stored) => stored.map(str::to_string),
        }
    }
}

fn bucket_json(b: &Bucket) -> Value {
    json!({"created": b.creation_ms, "eventBridge": b.eventbridge, "versioning": b.versioning.map(Versioning::as_str)})
}

fn object_json(o: &Object, blob: Option<&str>) -> Value {
    json!({
        "etag": o.etag, "contentType": o.content_type, "metadata": o.metadata, "tags": o.tags,
        "lastModified": o.last_modified_ms, "partsCount": o.parts_count, "size": o.body.len(), "blob": blob,
        "versionId": o.version_id,
    })
}

/// Commits the world's changes and `extra`, and starts the executions that event
/// deliveries target (their records committed in the same transaction). Without a
/// store (never the case in serve) it only dispatches.
pub fn flush(state: &Arc<State>, extra: Vec<Op>) -> Result<(), StoreError> {
    let registry_changed;
    let (pending, starts, deliveries) = {
        let mut w = state.world.lock();
        // S3's events go to EventBridge here too, under the same lock as the change is
        // read: a change and the deliveries it causes are always in one commit.
        let events = w.s3.drain_events();
        if !events.is_empty() {
            let mut c = asl_aws::CallContext::new(super::wall_millis(), state.next_seed());
            c.region = super::template::REGION.into();
            c.account = super::template::ACCOUNT.into();
            for e in events {
                let d = w.events.put_service_event(None, &e, &c);
                w.pending.extend(d);
            }
        }
        let deliveries = w.take_deliveries();
        let kept = deliveries.clone();
        let mut extra = extra;
        // The state machine registry, when the API changed it.
        let machines = state.machines.stored_ops();
        registry_changed = !machines.is_empty();
        extra.extend(machines);
        let starts = super::exec::register_deliveries(state, &mut w, deliveries, &mut extra);
        let target_extras = state.target_extras.to_json();
        (state.persist.collect(&mut w, extra, target_extras), starts, kept)
    };
    match state.persist.complete(pending) {
        Ok(swaps) => {
            if !swaps.is_empty() {
                state.persist.release(&mut state.world.lock(), swaps);
            }
            super::exec::enqueue_starts(state, starts);
            Ok(())
        }
        Err((e, retry)) => {
            // Not durable: the client is told so, and the executions the change would
            // start are not run (their records were not committed). The changes and
            // their deliveries go back to the world, for the next commit to store.
            super::exec::forget(state, &starts);
            if registry_changed {
                state.machines.mark_changed();
            }
            let mut w = state.world.lock();
            state.persist.retry(&mut w, retry);
            let mut deliveries = deliveries;
            deliveries.append(&mut w.pending);
            w.pending = deliveries;
            Err(e)
        }
    }
}

/// The first sequencer after a restart at `now_ms`: past every one issued up to the end of
/// this second (high half), and past those of a run restarted earlier in the same second:
/// the millisecond sits in the top 10 bits of the low half, leaving each run 2^22 events
/// before it could reach the next millisecond's floor.
fn restart_sequencer_floor(now_ms: i64) -> u64 {
    let now_ms = now_ms.max(0) as u64;
    ((now_ms / 1000 + 1) << 32) | ((now_ms % 1000) << 22)
}

fn parse(what: &str, key: &str, v: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(v).map_err(|e| format!("the stored {what} {key:?} is damaged ({e}); move the data directory away to start empty"))
}

/// Rebuilds the services' data from the store (start-up). Returns how many objects,
/// items and blobs (orphans removed) it found.
pub fn restore(store: &dyn Store, w: &mut World, persist: &Persist, target_extras: &super::events_api::TargetExtras) -> Result<(usize, usize), String> {
    let err = |e: StoreError| e.message;
    let mut buckets = Vec::new();
    store.scan(BUCKETS, &mut |k, v| buckets.push((k.to_string(), v.to_vec()))).map_err(err)?;
    let mut keep = HashSet::new();
    let mut known = lock(&persist.known);
    let mut objects = 0;
    for (name, v) in buckets {
        let b = parse("bucket", &name, &v)?;
        let mut bucket = Bucket {
            name: name.clone(),
            creation_ms: b["created"].as_i64().unwrap_or(0),
            eventbridge: b["eventBridge"].as_bool().unwrap_or(false),
            objects: BTreeMap::new(),
            uploads: BTreeMap::new(),
            // Sequencers are not stored: they must still only grow across a restart, or an
            // event made just after it (in the same second as the last ones before the
            // kill) looks older than those, and the inventory drops it as stale. Every
            // sequencer issued before has the epoch second in its high half (asl_s3's
            // `emit`), so starting past this second's range keeps them in order.
            last_sequencer: restart_sequencer_floor(super::wall_millis()),
            versioning: b["versioning"].as_str().and_then(Versioning::parse),
            versions: BTreeMap::new(),
        };
        objects += scan_decoded(
            store,
            &format!("{OBJECTS}{name}"),
            |k, v| restore_object(&persist.source, k, v).map(|(o, blob)| (k.to_string(), o, blob)),
            |(k, o, blob)| {
                if let Some(id) = blob {
                    keep.insert(id.clone());
                    known.name(&name, &k, id);
                }
                bucket.objects.insert(k, o);
                Ok(())
            },
        )?;
        scan_each(store, &format!("{VERSIONS}{name}"), |k, v| {
            let (list, blobs) = restore_versions(&persist.source, k, v)?;
            keep.extend(blobs.iter().cloned());
            known.name_versions(&name, k, blobs);
            bucket.versions.insert(k.to_string(), list);
            Ok(())
        })?;
        scan_each(store, &format!("{UPLOADS}{name}"), |k, v| {
            let (u, blobs) = restore_upload(store, k, v)?;
            for (n, etag, lm, id) in blobs {
                keep.insert(id.clone());
                known.parts.insert((name.clone(), k.to_string(), n), (etag, lm, id));
            }
            bucket.uploads.insert(k.to_string(), u);
            Ok(())
        })?;
        w.s3.buckets.insert(name, bucket);
    }
    let mut tables = Vec::new();
    store.scan(TABLES, &mut |k, v| tables.push((k.to_string(), v.to_vec()))).map_err(err)?;
    let mut items = 0;
    for (name, v) in tables {
        let t = parse("table", &name, &v)?;
        w.dynamodb.restore_table(&t).map_err(|e| format!("the stored table {name}: {e}"))?;
        let decoder = w.dynamodb.item_decoder(&name).ok_or_else(|| format!("the stored table {name} was not restored"))?;
        let db = &mut w.dynamodb;
        items += scan_decoded(
            store,
            &format!("{ITEMS}{name}"),
            |k, v| decoder.decode(v).map_err(|e| format!("the stored item {k} of {name} is damaged ({e}); move the data directory away to start empty")),
            |item| db.restore_decoded(&name, item),
        )?;
    }
    restore_messaging(store, w, target_extras, &mut known)?;
    drop(known);
    store.blobs().sweep(&keep).map_err(err)?;
    Ok((objects, items))
}

/// Entries per batch handed to a decoding thread at start-up.
const DECODE_BATCH: usize = 2048;

/// Like [`scan_each`], for the large spaces (objects, items): each entry's value is
/// decoded by `decode` and handed to `put` (in no particular order). Decoding is most of
/// the work of a restart, so it runs on other threads while this one reads the store and
/// puts; when they are all busy this thread decodes too. A million items are back in
/// well under a second on two cores. Returns how many entries were put.
fn scan_decoded<T: Send>(
    store: &dyn Store,
    space: &str,
    decode: impl Fn(&str, &[u8]) -> Result<T, String> + Sync,
    mut put: impl FnMut(T) -> Result<(), String>,
) -> Result<usize, String> {
    type Raw = Vec<(String, Vec<u8>)>;
    let decode_all = |batch: Raw| -> Result<Vec<T>, String> { batch.iter().map(|(k, v)| decode(k, v)).collect() };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).clamp(1, 4);
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<Vec<T>, String>>();
        let to_workers: Vec<std::sync::mpsc::SyncSender<Raw>> = (0..workers)
            .map(|_| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Raw>(2);
                let done = done_tx.clone();
                let decode_all = &decode_all;
                scope.spawn(move || rx.into_iter().try_for_each(|batch| done.send(decode_all(batch))));
                tx
            })
            .collect();
        drop(done_tx);
        let mut count = 0;
        let mut problem: Option<String> = None;
        let mut take = |decoded: Result<Vec<T>, String>| match decoded {
            Ok(values) if problem.is_none() => {
                count += values.len();
                problem = values.into_iter().try_for_each(&mut put).err();
            }
            Ok(_) => {}
            Err(e) => {
                problem.get_or_insert(e);
            }
        };
        let mut batch = Vec::with_capacity(DECODE_BATCH);
        let mut next = 0usize;
        store
            .scan(space, &mut |k, v| {
                batch.push((k.to_string(), v.to_vec()));
                if batch.len() < DECODE_BATCH {
                    return;
                }
                let mut full = Some(std::mem::replace(&mut batch, Vec::with_capacity(DECODE_BATCH)));
                for i in 0..workers {
                    let w = (next + i) % workers;
                    match to_workers[w].try_send(full.take().expect("a batch")) {
                        Ok(()) => {
                            next = w + 1;
                            break;
                        }
                        Err(std::sync::mpsc::TrySendError::Full(back) | std::sync::mpsc::TrySendError::Disconnected(back)) => full = Some(back),
                    }
                }
                if let Some(full) = full {
                    take(decode_all(full));
                }
                while let Ok(decoded) = done_rx.try_recv() {
                    take(decoded);
                }
            })
            .map_err(|e| e.message)?;
        take(decode_all(batch));
        drop(to_workers);
        for decoded in done_rx {
            take(decoded);
        }
        problem.map_or(Ok(count), Err)
    })
}

/// What a data directory held at start-up.
pub struct Opened {
    pub objects: usize,
    pub items: usize,
    /// A `state.json` of format version 0 was loaded into the empty store: once its
    /// contents are committed, [`finish_upgrade`] renames it.
    pub upgrading: bool,
}

/// Loads a store into the world (start-up of serve and of `run --state`), or, when the store
/// is empty and `legacy_dir` holds a `state.json` of the format before, that file (SQS, SNS
/// and the rest of what it holds, all marked changed so the first commit stores them;
/// `keep_events` false drops its EventBridge part, which serve 0.x never used). From here
/// on the world's changes are tracked.
pub fn open_into(store: &dyn Store, w: &mut World, persist: &Persist, target_extras: &super::events_api::TargetExtras, legacy_dir: Option<&Path>, keep_events: bool) -> Result<Opened, String> {
    let (objects, items) = restore(store, w, persist, target_extras)?;
    let legacy = legacy_dir.map(|d| d.join(super::exec::STATE_FILE));
    let upgrading = objects + items == 0 && legacy.as_ref().is_some_and(|l| l.exists()) && store.spaces("").map_err(|e| e.message)?.is_empty();
    if let (true, Some(path)) = (upgrading, &legacy) {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e} (move it away to start empty)", path.display()))?;
        if let (false, Some(m)) = (keep_events, v.as_object_mut()) {
            m.remove("events");
        }
        w.load_state(&v).map_err(|e| format!("{}: {e}", path.display()))?;
        w.s3.mark_all_changed();
        w.dynamodb.mark_all_changed();
        let queues = w.sqs.queue_names();
        w.sqs.mark_changed(queues);
    }
    w.s3.track_changes();
    w.dynamodb.track_changes();
    Ok(Opened { objects, items, upgrading })
}

/// After the first commit of an upgraded directory: `state.json` becomes `state.json.upgraded`.
pub fn finish_upgrade(dir: &Path) -> Result<(), String> {
    let legacy = dir.join(super::exec::STATE_FILE);
    let done = dir.join("state.json.upgraded");
    std::fs::rename(&legacy, &done).map_err(|e| format!("cannot rename {}: {e}", legacy.display()))
}

/// `asl-sim run --state DIR`: the store and format of `serve --data-dir`, so a directory one
/// wrote is one the other reads. Opened before the run (what the directory holds is loaded
/// into the world), committed after it.
pub struct DataDir {
    dir: PathBuf,
    persist: Persist,
    /// The targets' settings a directory serve wrote holds: written back as they were read.
    target_extras: super::events_api::TargetExtras,
    upgrading: bool,
}

impl DataDir {
    /// Opens (creating it if needed) the directory and loads it into `w`.
    pub fn open(dir: &Path, w: &mut World) -> Result<DataDir, String> {
        let store: Arc<dyn Store> = Arc::new(asl_store::SqliteStore::open(dir).map_err(|e| e.message)?);
        let persist = Persist::new(store.clone());
        let target_extras = super::events_api::TargetExtras::default();
        let opened = open_into(&*store, w, &persist, &target_extras, Some(dir), true)?;
        Ok(DataDir { dir: dir.to_path_buf(), persist, target_extras, upgrading: opened.upgrading })
    }

    /// Commits what the run changed.
    pub fn commit(&mut self, w: &mut World) -> Result<(), String> {
        self.persist.commit(w, Vec::new(), self.target_extras.to_json()).map_err(|e| e.message)?;
        if std::mem::take(&mut self.upgrading) {
            finish_upgrade(&self.dir)?;
        }
        Ok(())
    }
}

/// Runs `each` on every entry of a space, in key order, until one fails (its error is the
/// answer; the scan itself failing is a store error).
fn scan_each(store: &dyn Store, space: &str, mut each: impl FnMut(&str, &[u8]) -> Result<(), String>) -> Result<(), String> {
    let mut problem = None;
    store
        .scan(space, &mut |k, v| {
            if problem.is_none() {
                problem = each(k, v).err();
            }
        })
        .map_err(|e| e.message)?;
    problem.map_or(Ok(()), Err)
}

/// SQS's queues and counters, SNS and EventBridge, as [`Persist::collect`] stored them.
/// The template's queues, topics, buses and rules are created after this, where missing
/// (its rules and their targets are put again: the template's settings win for its own).
fn restore_messaging(store: &dyn Store, w: &mut World, target_extras: &super::events_api::TargetExtras, known: &mut Known) -> Result<(), String> {
    let err = |e: StoreError| e.message;
    scan_each(store, QUEUES, |name, v| w.sqs.restore_queue(&parse("SQS queue", name, v)?))?;
    if let Some(v) = store.get(SERVICES, "sqs").map_err(err)? {
        w.sqs.restore_counters(&parse("SQS state", "sqs", &v)?)?;
    }
    if let Some(v) = store.get(SERVICES, "sns").map_err(err)? {
        let endpoint = w.sns.endpoint.clone();
        w.sns = asl_sns::Sns::from_json(&parse("SNS state", "sns", &v)?)?;
        w.sns.endpoint = endpoint;
        known.snapshots.insert("sns", String::from_utf8_lossy(&v).into_owned());
    }
    if let Some(v) = store.get(SERVICES, "activities").map_err(err)? {
        w.activities = asl_world::activities::Activities::from_json(&parse("activities", "activities", &v)?)?;
        known.snapshots.insert("activities", String::from_utf8_lossy(&v).into_owned());
    }
    if let Some(v) = store.get(SERVICES, "events").map_err(err)? {
        let e = parse("EventBridge state", "events", &v)?;
        w.events = asl_eventbridge::EventBridge::from_json(&e["eventBridge"]).map_err(|m| format!("the stored EventBridge state cannot be read: {m}"))?;
        if !e["targetExtras"].is_null() {
            target_extras.restore(&e["targetExtras"])?;
        }
        known.snapshots.insert("events", String::from_utf8_lossy(&v).into_owned());
    }
    Ok(())
}

fn meta_of(v: &Value) -> BTreeMap<String, String> {
    strings_field(v, "metadata")
}

/// A `{name: string}` field of a stored record (metadata, tags); absent in older records.
fn strings_field(v: &Value, field: &str) -> BTreeMap<String, String> {
    v[field].as_object().map(|m| m.iter().filter_map(|(k, x)| Some((k.clone(), x.as_str()?.to_string()))).collect()).unwrap_or_default()
}

fn body_of(store: &dyn Store, v: &Value) -> Result<(Vec<u8>, Option<String>), String> {
    match v["blob"].as_str() {
        Some(id) => {
            let size = v["size"].as_u64().unwrap_or(u64::MAX);
            let body = read_body(store, id, 0, size).map_err(|e| format!("{e}: a stored body is missing; move the data directory away to start empty"))?;
            Ok((body, Some(id.to_string())))
        }
        None => Ok((Vec::new(), None)),
    }
}

/// An object's metadata; its body stays in its blob until it is read (start-up reads no body).
fn restore_object(source: &Arc<dyn BodySource>, key: &str, v: &[u8]) -> Result<(Object, Option<String>), String> {
    Ok(object_of(source, &parse("object", key, v)?))
}

/// A key's older versions and delete markers, and the blobs their bodies are in.
fn restore_versions(source: &Arc<dyn BodySource>, key: &str, v: &[u8]) -> Result<(Vec<Version>, Vec<String>), String> {
    let list = parse("versions of", key, v)?;
    let entries = list.as_array().ok_or_else(|| format!("the stored versions of {key:?} are damaged (not a list); move the data directory away to start empty"))?;
    let mut versions = Vec::with_capacity(entries.len());
    let mut blobs = Vec::new();
    for e in entries {
        if e["deleteMarker"].as_bool() == Some(true) {
            versions.push(Version::DeleteMarker(asl_s3::versions::marker_from_json(e)));
        } else {
            let (o, blob) = object_of(source, e);
            blobs.extend(blob);
            versions.push(Version::Object(o));
        }
    }
    Ok((versions, blobs))
}

fn object_of(source: &Arc<dyn BodySource>, o: &Value) -> (Object, Option<String>) {
    let blob = o["blob"].as_str().map(str::to_string);
    let body = match &blob {
        Some(id) => Body::stored(id, o["size"].as_u64().unwrap_or(0), source.clone()),
        None => Body::from(Vec::new()),
    };
    (
        Object {
            body,
            etag: o["etag"].as_str().unwrap_or_default().to_string(),
            content_type: o["contentType"].as_str().unwrap_or(asl_s3::s3::DEFAULT_CONTENT_TYPE).to_string(),
            metadata: meta_of(o),
            last_modified_ms: o["lastModified"].as_i64().unwrap_or(0),
            parts_count: o["partsCount"].as_u64().map(|n| n as u32),
            tags: strings_field(o, "tags"),
            version_id: o["versionId"].as_str().map(str::to_string),
        },
        blob,
    )
}

type PartBlobs = Vec<(u32, String, i64, String)>;

fn restore_upload(store: &dyn Store, id: &str, v: &[u8]) -> Result<(Upload, PartBlobs), String> {
    let u = parse("upload", id, v)?;
    let mut parts = BTreeMap::new();
    let mut blobs = Vec::new();
    for (n, part) in u["parts"].as_object().into_iter().flatten() {
        let n: u32 = n.parse().map_err(|_| format!("the stored upload {id} is damaged (part {n})"))?;
        let (body, blob) = body_of(store, part)?;
        let etag = part["etag"].as_str().unwrap_or_default().to_string();
        let lm = part["lastModified"].as_i64().unwrap_or(0);
        if let Some(b) = blob {
            blobs.push((n, etag.clone(), lm, b));
        }
        parts.insert(n, Part { body, etag, last_modified_ms: lm });
    }
    Ok((
        Upload {
            key: u["key"].as_str().unwrap_or_default().to_string(),
            initiated_ms: u["initiated"].as_i64().unwrap_or(0),
            content_type: u["contentType"].as_str().unwrap_or(asl_s3::s3::DEFAULT_CONTENT_TYPE).to_string(),
            metadata: meta_of(&u),
            parts,
            tags: strings_field(&u, "tags"),
        },
        blobs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asl_aws::CallContext;
    use asl_s3::s3::{compare_sequencers, PutObjectInput};

    fn sequencers(s3: &mut asl_s3::S3) -> Vec<String> {
        s3.drain_events().iter().map(|e| e.detail["object"]["sequencer"].as_str().unwrap().to_string()).collect()
    }

    /// A bucket with EventBridge events on, as `restore` leaves it after a restart at
    /// `restart_ms` (`None`: a first start).
    fn s3_restarted_at(restart_ms: Option<i64>) -> asl_s3::S3 {
        let mut s3 = asl_s3::S3::new();
        s3.create_bucket("files", &CallContext::new(0, 1)).unwrap();
        s3.set_eventbridge("files", true).unwrap();
        if let Some(t) = restart_ms {
            s3.buckets.get_mut("files").unwrap().last_sequencer = restart_sequencer_floor(t);
        }
        s3
    }

    fn puts(s3: &mut asl_s3::S3, n: usize, now_ms: i64) {
        for i in 0..n {
            let input = PutObjectInput { bucket: "files".into(), key: format!("k{}", i % 7), body: vec![1], content_type: None, metadata: Default::default(), tags: Default::default() };
            s3.put_object(input, &CallContext::new(now_ms, 2)).unwrap();
        }
    }

    /// A body of at most INLINE_MAX bytes is an entry of the commit (read back from the
    /// database once it left memory), a larger one a blob file; overwriting and deleting
    /// remove the old body's entry in the same commit.
    #[test]
    fn small_bodies_are_entries_and_leave_with_their_object() {
        let store: Arc<dyn Store> = Arc::new(asl_store::MemoryStore::new());
        let persist = Persist::new(store.clone());
        let mut w = World::new("us-east-1", "123456789012");
        w.s3.track_changes();
        w.s3.create_bucket("files", &CallContext::new(0, 1)).unwrap();
        let world = Mutex::new(w);
        let put = |key: &str, body: Vec<u8>| {
            let input = PutObjectInput { bucket: "files".into(), key: key.into(), body, content_type: None, metadata: Default::default(), tags: Default::default() };
            lock(&world).s3.put_object(input, &CallContext::new(1, 2)).unwrap();
        };
        let entries = || {
            let mut n = 0;
            store.scan(BODIES, &mut |_, _| n += 1).unwrap();
            n
        };
        let stored_id = |key: &str| lock(&world).s3.object("files", key).and_then(|o| o.body.stored_id().map(str::to_string));
        put("small", vec![7; INLINE_MAX]);
        put("large", vec![8; INLINE_MAX + 1]);
        persist.commit(&mut lock(&world), Vec::new(), Value::Null).unwrap();
        assert_eq!(entries(), 1);
        assert!(stored_id("small").is_some_and(|id| id.starts_with(INLINE_PREFIX)), "the small body left memory for its entry");
        assert!(stored_id("large").is_some_and(|id| !id.starts_with(INLINE_PREFIX)), "the large one is a file");
        // Body::range is inclusive (an HTTP range): both sources answer the same bytes.
        let back = |key: &str| lock(&world).s3.object("files", key).unwrap().body.range(10, 20).unwrap();
        assert_eq!(back("small"), vec![7; 11], "read back from the database");
        assert_eq!(back("large"), vec![8; 11], "read back from its file");
        put("small", b"new".to_vec());
        persist.commit(&mut lock(&world), Vec::new(), Value::Null).unwrap();
        assert_eq!(entries(), 1, "the overwritten body's entry is gone");
        lock(&world).s3.delete_object("files", "small", &CallContext::new(2, 3)).unwrap();
        persist.commit(&mut lock(&world), Vec::new(), Value::Null).unwrap();
        assert_eq!(entries(), 0, "and the deleted one's");
    }

    /// The crash test's lost delete: thousands of events in one second, a restart in that
    /// same second, then a delete: its sequencer must still sort after every earlier one.
    #[test]
    fn sequencers_keep_growing_across_a_restart_in_the_same_second() {
        let now = 1_764_700_000_123;
        let mut before = s3_restarted_at(None);
        puts(&mut before, 5000, now);
        let last_before = sequencers(&mut before).pop().unwrap();
        let mut after = s3_restarted_at(Some(now + 400));
        after.delete_object("files", "k1", &CallContext::new(now + 400, 2)).unwrap();
        puts(&mut after, 3000, now + 400);
        let after_events = sequencers(&mut after);
        assert_eq!(compare_sequencers(&after_events[0], &last_before), std::cmp::Ordering::Greater, "{} after {last_before}", after_events[0]);
        // A second kill and restart 300 ms later, still in the same second.
        let mut again = s3_restarted_at(Some(now + 700));
        again.delete_object("files", "k2", &CallContext::new(now + 700, 3)).unwrap();
        let first_again = sequencers(&mut again).pop().unwrap();
        let last_after = after_events.last().unwrap();
        assert_eq!(compare_sequencers(&first_again, last_after), std::cmp::Ordering::Greater, "{first_again} after {last_after}");
    }
}
