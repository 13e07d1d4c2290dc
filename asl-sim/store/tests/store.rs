//! The store's contract, for both implementations, and the SQLite store's files.

use asl_store::{write_blob, ErrorKind, MemoryStore, Op, SqliteStore, Store, FORMAT_VERSION};
use std::collections::HashSet;
use std::sync::Arc;

fn entries(s: &dyn Store, space: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    s.scan(space, &mut |k, v| out.push((k.to_string(), v.to_vec())))
        .unwrap();
    out
}

fn contract(s: &dyn Store) {
    s.commit(vec![
        Op::put("a", "2", b"two".to_vec()),
        Op::put("a", "1", b"one".to_vec()),
        Op::put("b:x", "k", b"v".to_vec()),
    ])
    .unwrap();
    assert_eq!(
        entries(s, "a"),
        vec![("1".into(), b"one".to_vec()), ("2".into(), b"two".to_vec())]
    );
    s.commit(vec![
        Op::put("a", "1", b"uno".to_vec()),
        Op::delete("a", "2"),
        Op::delete("a", "missing"),
    ])
    .unwrap();
    assert_eq!(entries(s, "a"), vec![("1".into(), b"uno".to_vec())]);
    assert_eq!(s.get("a", "1").unwrap(), Some(b"uno".to_vec()));
    assert_eq!(s.get("a", "2").unwrap(), None);
    s.commit(vec![
        Op::put("b:y", "k", b"v".to_vec()),
        Op::put("c", "k", b"v".to_vec()),
    ])
    .unwrap();
    assert_eq!(
        s.spaces("b:").unwrap(),
        vec!["b:x".to_string(), "b:y".to_string()]
    );
    s.commit(vec![Op::clear("b:x")]).unwrap();
    assert_eq!(s.spaces("b:").unwrap(), vec!["b:y".to_string()]);
    // Ops apply in order within a commit.
    s.commit(vec![Op::clear("c"), Op::put("c", "k2", b"after".to_vec())])
        .unwrap();
    assert_eq!(entries(s, "c"), vec![("k2".into(), b"after".to_vec())]);

    let blobs = s.blobs();
    let id = write_blob(blobs, b"hello, world").unwrap();
    assert_eq!(blobs.read(&id, 0, u64::MAX).unwrap(), b"hello, world");
    assert_eq!(blobs.read(&id, 7, 12).unwrap(), b"world");
    assert_eq!(blobs.read(&id, 20, 30).unwrap(), b"");
    let other = write_blob(blobs, b"unnamed").unwrap();
    assert_eq!(blobs.sweep(&HashSet::from([id.clone()])).unwrap(), 1);
    assert!(blobs.read(&other, 0, 10).is_err());
    blobs.remove(&id);
    assert!(blobs.read(&id, 0, 10).is_err());
}

#[test]
fn memory_store_keeps_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn sqlite_store_keeps_the_contract_and_reopens_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        contract(&s);
        assert!(s.durable());
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(entries(&s, "a"), vec![("1".into(), b"uno".to_vec())]);
    assert_eq!(entries(&s, "c"), vec![("k2".into(), b"after".to_vec())]);
}

#[test]
fn concurrent_commits_are_grouped_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    s.commit(vec![Op::put("n", format!("{t:02}-{i:03}"), vec![t as u8])])
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(s);
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(entries(&s, "n").len(), 400);
}

#[test]
fn another_format_version_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    rusqlite_set_version(dir.path(), FORMAT_VERSION + 1);
    let e = SqliteStore::open(dir.path()).err().expect("refused");
    assert_eq!(e.kind, ErrorKind::Version, "{e}");
    assert!(
        e.message
            .contains(&format!("format version {}", FORMAT_VERSION + 1))
            && e.message.contains("move the directory away"),
        "{e}"
    );
}

fn rusqlite_set_version(dir: &std::path::Path, v: i64) {
    // The store's own file, edited the way a newer asl-sim would leave it.
    let c = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    c.execute_batch(&format!("UPDATE meta SET value='{v}'"))
        .unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.sqlite"), vec![0x42u8; 8192]).unwrap();
    let e = SqliteStore::open(dir.path()).err().expect("refused");
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    assert!(e.message.contains("damaged"), "{e}");
}

#[test]
fn an_abandoned_blob_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    let mut w = s.blobs().create(&asl_store::new_blob_id()).unwrap();
    w.write(b"partial").unwrap();
    drop(w);
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
        0
    );
}

#[test]
fn tickets_apply_in_reservation_order_whatever_the_fill_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let first = s.reserve();
    let second = s.reserve();
    // The later change is ready first; it must not be overwritten by the earlier one.
    s.fill(second, vec![Op::put("k", "x", b"new".to_vec())]);
    let waiter = {
        let s = s.clone();
        std::thread::spawn(move || s.wait(second))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        s.get("k", "x").unwrap(),
        None,
        "not applied before the earlier ticket is filled"
    );
    s.fill(first, vec![Op::put("k", "x", b"old".to_vec())]);
    s.wait(first).unwrap();
    waiter.join().unwrap().unwrap();
    assert_eq!(s.get("k", "x").unwrap(), Some(b"new".to_vec()));
}

#[test]
fn every_waited_ticket_is_readable_at_once_under_contention() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let order = Arc::new(std::sync::Mutex::new(()));
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let s = s.clone();
            let order = order.clone();
            std::thread::spawn(move || {
                for i in 0..100u32 {
                    // Reserve under a shared lock (as serve does under the world lock),
                    // prepare without it, with a varying delay.
                    let ticket = {
                        let _g = order.lock().unwrap();
                        s.reserve()
                    };
                    if (t + i) % 3 == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(((t * 37 + i * 11) % 500) as u64));
                    }
                    let key = format!("{t}-{i}");
                    // Every third ticket carries nothing (a request whose change another one committed).
                    let ops = if i % 3 == 2 { Vec::new() } else { vec![Op::put("c", key.clone(), vec![1])] };
                    s.fill(ticket, ops);
                    s.wait(ticket).unwrap();
                    if i % 3 != 2 {
                        assert_eq!(s.get("c", &key).unwrap(), Some(vec![1]), "ticket {ticket:?} answered before it was applied");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A large JSON-like value and an incompressible one of the same size.
fn large_values() -> (Vec<u8>, Vec<u8>) {
    let json: Vec<u8> = (0..400).flat_map(|i| format!("{{\"type\":\"TaskStateEntered\",\"id\":{i}}},").into_bytes()).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..json.len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    (json, noise)
}

#[test]
fn large_values_are_stored_compressed_and_read_back_as_put() {
    let dir = tempfile::tempdir().unwrap();
    let (json, noise) = large_values();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        s.commit(vec![Op::put("h", "json", json.clone()), Op::put("h", "noise", noise.clone()), Op::put("h", "small", b"{}".to_vec())]).unwrap();
        assert_eq!(s.get("h", "json").unwrap(), Some(json.clone()));
    }
    let c = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
    let stored = |k: &str| -> (i64, usize) {
        c.query_row("SELECT codec, length(value) FROM entries WHERE space = 'h' AND key = ?1", [k], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize))).unwrap()
    };
    let (codec, len) = stored("json");
    assert!(codec == 1 && len * 4 < json.len(), "json stored with codec {codec}, {len} of {} bytes", json.len());
    assert_eq!(stored("noise"), (0, noise.len()), "what does not compress is stored as it is");
    assert_eq!(stored("small"), (0, 2));
    drop(c);
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(entries(&s, "h"), vec![("json".into(), json), ("noise".into(), noise), ("small".into(), b"{}".to_vec())]);
}

#[test]
fn a_version_1_database_is_upgraded_in_place_and_keeps_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What asl-sim's format 1 created: no codec column.
        let c = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
        c.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE entries (space TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (space, key)) WITHOUT ROWID;
             INSERT INTO meta VALUES ('format_version', '1');
             INSERT INTO entries VALUES ('a', '1', x'01020304'), ('a', '2', CAST('{\"k\":1}' AS BLOB));",
        )
        .unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(entries(&s, "a"), vec![("1".into(), vec![1, 2, 3, 4]), ("2".into(), b"{\"k\":1}".to_vec())]);
    let (json, _) = large_values();
    s.commit(vec![Op::put("a", "3", json.clone())]).unwrap();
    drop(s);
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.get("a", "3").unwrap(), Some(json));
    assert_eq!(s.get("a", "1").unwrap(), Some(vec![1, 2, 3, 4]), "a value that starts with the LZ4 codec byte stays as it was");
}

#[test]
fn a_damaged_compressed_value_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = large_values();
    SqliteStore::open(dir.path()).unwrap().commit(vec![Op::put("h", "json", json)]).unwrap();
    let c = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
    c.execute_batch("UPDATE entries SET value = substr(value, 1, 40) WHERE key = 'json'").unwrap();
    c.execute_batch("INSERT INTO entries VALUES ('h', 'odd', x'00', 7)").unwrap();
    drop(c);
    let s = SqliteStore::open(dir.path()).unwrap();
    let e = s.get("h", "json").expect_err("damaged");
    assert!(e.kind == ErrorKind::Corrupt && e.message.contains("compressed value is damaged"), "{e}");
    let e = s.scan("h", &mut |_, _| {}).expect_err("damaged");
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    let e = s.get("h", "odd").expect_err("unknown codec");
    assert!(e.kind == ErrorKind::Version && e.message.contains("codec 7"), "{e}");
}
