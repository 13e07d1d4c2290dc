#!/usr/bin/env python3
"""Writes tests/file-manager/scenarios/**.json. The expected results come from a small model of
the intended semantics written here (S3 sequencer order, tombstones, quota = sum of live sizes,
DynamoDB Query paging), not from running the workflows, so that running the scenarios checks the
workflows against the model. Re-run after changing a scenario:  python generate_scenarios.py"""
import base64, hashlib, itertools, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "scenarios")
TABLE, BUCKET = "Inventory", "files"
PAD = "0" * 32
TABLE_DEF = {
    "TableName": TABLE,
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
written = []


def md5(body):
    return hashlib.md5(body.encode()).hexdigest()


def fixture(items=(), objects=()):
    return {
        "dynamodb": {"tables": [dict(TABLE_DEF, Items=sorted(items, key=sort_key))]},
        "s3": {"buckets": [{"Name": BUCKET, "EventBridge": True, "Objects": [{"Key": k, "Body": b} for k, b in sorted(objects)]}]},
    }


def sort_key(item):
    return (item["PK"]["S"].encode(), item["SK"]["S"].encode())


def file_item(key, body, seq, live=True):
    return {
        "PK": {"S": key.split("/")[0]}, "SK": {"S": key},
        "Size": {"N": str(len(body.encode())) if live else "0"}, "Etag": {"S": md5(body) if live else ""},
        "Seq": {"S": seq + PAD}, "Sequencer": {"S": seq}, "Live": {"BOOL": live},
    }


def quota_item(user, total):
    return {"PK": {"S": user}, "SK": {"S": "Quota"}, "TotalSize": {"N": str(total)}}


def s3_event(kind, key, seq, body=None, reason=None, n=0, bucket=BUCKET):
    detail = {
        "version": "0", "bucket": {"name": bucket}, "object": {"key": key, "sequencer": seq},
        "request-id": f"REQ{n:013d}", "requester": "123456789012", "source-ip-address": "192.0.2.10",
        "reason": reason or ("PutObject" if kind == "put" else "DeleteObject"),
    }
    if kind == "put":
        detail["object"].update(size=len(body.encode()), etag=md5(body))
    else:
        detail["deletion-type"] = "Permanently Deleted"
    if detail["reason"] == "Lifecycle Expiration":
        detail["requester"] = "s3.amazonaws.com"
        del detail["source-ip-address"]
    return {
        "version": "0", "id": f"00000000-0000-4000-8000-{n:012d}",
        "detail-type": "Object Created" if kind == "put" else "Object Deleted", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": "eu-west-1",
        "resources": [f"arn:aws:s3:::{bucket}"], "detail": detail,
    }


def newer(a, b):
    """S3's rule: right-pad the shorter sequencer with zeros, then compare as strings."""
    width = max(len(a), len(b))
    return a.ljust(width, "0") > b.ljust(width, "0")


class Model:
    """The intended semantics of update-inventory, event by event."""

    def __init__(self, items):
        self.items = {(i["PK"]["S"], i["SK"]["S"]): json.loads(json.dumps(i)) for i in items}

    def apply(self, ev):
        if ev["detail-type"] not in ("Object Created", "Object Deleted") or "/" not in ev["detail"]["object"]["key"]:
            return {"Outcome": "ignored"}
        o = ev["detail"]["object"]
        key, seq, user = o["key"], o["sequencer"], o["key"].split("/")[0]
        cur = self.items.get((user, key))
        if cur and not newer(seq, cur["Sequencer"]["S"]):
            return {"Outcome": "stale", "Key": key, "Sequencer": seq, "CurrentSequencer": cur["Sequencer"]["S"]}
        live = ev["detail-type"] == "Object Created"
        old = int(cur["Size"]["N"]) if cur and cur["Live"]["BOOL"] else 0
        new = o["size"] if live else 0
        self.items[(user, key)] = {
            "PK": {"S": user}, "SK": {"S": key}, "Size": {"N": str(new)}, "Etag": {"S": o["etag"] if live else ""},
            "Seq": {"S": seq + PAD}, "Sequencer": {"S": seq}, "Live": {"BOOL": live},
        }
        q = self.items.setdefault((user, "Quota"), quota_item(user, 0))
        q["TotalSize"]["N"] = str(int(q["TotalSize"]["N"]) + new - old)
        return {"Outcome": "applied", "Key": key, "User": user, "Live": live, "Sequencer": seq, "Delta": new - old}

    def table(self):
        return sorted(self.items.values(), key=sort_key)


def write(folder, name, scn):
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    path = os.path.join(OUT, folder, name + ".json")
    for t, items in scn.get("expect", {}).get("tables", {}).items():
        scn["expect"]["tables"][t] = sorted(items, key=sort_key)
    runs = scn.pop("runs")
    text = json.dumps(dict(scn, runs="@RUNS@"), indent=1, ensure_ascii=False)
    # one run per line keeps the long permutation files small and diffable
    lines = ",\n  ".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in runs)
    text = text.replace('"@RUNS@"', "[\n  " + lines + "\n ]")
    scn["runs"] = runs
    with open(path, "w") as f:
        f.write(text + "\n")
    written.append(path)


def inventory_scenario(name, description, items, objects, events, orders, with_outputs=True):
    """Each order is an independent run from the fixture; all must end in the same table."""
    final = None
    runs = []
    for order in orders:
        m = Model(items)
        execs = []
        for i in order:
            out = m.apply(events[i][1])
            e = {"input": events[i][0], "status": "SUCCEEDED"}
            if with_outputs:
                e["output"] = out
            execs.append(e)
        if final is not None and m.table() != final:
            raise SystemExit(f"{name}: the model itself is order-dependent")
        final = m.table()
        runs.append({"name": " ".join(events[i][0] for i in order), "executions": execs})
    write("update-inventory", name, {
        "description": description,
        "workflow": "workflows/update-inventory.asl.yaml",
        "substitutions": {"TableName": TABLE},
        "fixture": fixture(items, objects),
        "inputs": {label: ev for label, ev in events},
        "runs": runs,
        "expect": {"tables": {TABLE: final}, "invariants": ["inventory-equals-bucket", "quota-equals-sum"]},
    })


def distinct_orders(n_events, dup=1):
    idx = [i for i in range(n_events) for _ in range(dup)]
    return [list(p) for p in sorted(set(itertools.permutations(idx)))]


def gen_update_inventory():
    K = "alice/docs/report.txt"
    v1, v2 = "first version", "second, longer version"
    P1 = ("put-v1", s3_event("put", K, "0067A1B2C3D4E5F601", v1, n=1))
    P2 = ("put-v2", s3_event("put", K, "0067A1B2C3D4E5F602", v2, n=2))
    D = ("delete", s3_event("delete", K, "0067A1B2C3D4E5F603", n=3))
    P3 = ("put-v3", s3_event("put", K, "0067A1B2C3D4E5F604", "third", n=4))
    inventory_scenario("create", "A new file: the item and the Quota item are created.",
                       [], [(K, v1)], [P1], [[0]])
    inventory_scenario("overwrite", "Overwriting a 22-byte file with a 13-byte one moves the quota by -9; bob is untouched.",
                       [file_item(K, v2, "0067A1B2C3D4E5F602"), quota_item("alice", 22),
                        file_item("bob/b.txt", "bob's", "0011"), quota_item("bob", 5)],
                       [(K, v1), ("bob/b.txt", "bob's")],
                       [("put-v1-newer", s3_event("put", K, "0067A1B2C3D4E5F6FF", v1, n=5))], [[0]])
    inventory_scenario("overwrite-empty-file", "Old size 0: the negated old size is -0 and the delta is the new size.",
                       [file_item(K, "", "0067A1B2C3D4E5F601"), quota_item("alice", 0)], [(K, "abc")],
                       [("put-abc", s3_event("put", K, "0067A1B2C3D4E5F602", "abc", n=6))], [[0]])
    inventory_scenario("delete", "Deleting a file leaves a tombstone and takes its size off the quota.",
                       [file_item(K, v1, "0067A1B2C3D4E5F601"), quota_item("alice", 13)], [], [D], [[0]])
    inventory_scenario("delete-missing-file", "An Object Deleted for a key never seen: a tombstone, quota 0, SUCCEEDED.",
                       [], [], [D], [[0]])
    inventory_scenario("lifecycle-expiration", "Lifecycle expirations are Object Deleted events too.",
                       [file_item(K, v1, "0067A1B2C3D4E5F601"), quota_item("alice", 13)], [],
                       [("expired", s3_event("delete", K, "0067A1B2C3D4E5F605", reason="Lifecycle Expiration", n=7))], [[0]])
    inventory_scenario("each-event-duplicated-in-order", "put, overwrite and delete, each delivered twice in a row.",
                       [], [], [P1, P2, D], [[0, 0, 1, 1, 2, 2]])
    inventory_scenario("create-duplicated", "A duplicated create counts once; the duplicate ends SUCCEEDED as stale.",
                       [], [(K, v1)], [P1], [[0, 0]])
    inventory_scenario("every-order-put-overwrite-delete", "All 6 orders of put, overwrite, delete end deleted, quota 0.",
                       [], [], [P1, P2, D], distinct_orders(3))
    inventory_scenario("every-order-put-delete-recreate", "All 6 orders of put, delete, put-again end with the last put live.",
                       [], [(K, "third")], [P1, D, P3], distinct_orders(3))
    inventory_scenario("every-order-duplicated", "All 90 orders of put, overwrite, delete with every event delivered twice.",
                       [], [], [P1, P2, D], distinct_orders(3, dup=2))
    inventory_scenario("every-order-four-events-duplicated",
                       "All orders of put, overwrite, delete, put-again, each duplicated (2520 runs; outputs not listed).",
                       [], [(K, "third")], [P1, P2, D, P3], distinct_orders(4, dup=2), with_outputs=False)
    # Sequencers of different lengths: by S3's rule (right-pad, then compare) the 16-digit one is
    # later; a left-padding (numeric) comparison would pick the 18-digit one.
    A = ("put-18-digits", s3_event("put", K, "0067A1B2C3D4E5F600", "abc", n=8))
    B = ("put-16-digits", s3_event("put", K, "0067A1B2C3D4E5F7", "abcdefg", n=9))
    inventory_scenario("sequencer-lengths-differ", "Sequencers are right-padded with zeros before comparing (S3 rule).",
                       [], [(K, "abcdefg")], [A, B], distinct_orders(2))
    X = ("other-detail-type", dict(s3_event("put", K, "0067A1B2C3D4E5F601", v1, n=10), **{"detail-type": "Object Restore Completed"}))
    Y = ("key-without-user", s3_event("put", "README", "0067A1B2C3D4E5F601", v1, n=11))
    inventory_scenario("ignored-events", "Events that are not object changes of a USER/... key change nothing.",
                       [], [("README", v1)][:0], [X, Y], [[0], [1]])

    # Concurrency: two executions interleaved state by state.
    KA, KB = "alice/a.txt", "alice/b.txt"
    PA = ("put-a", s3_event("put", KA, "00AA01", "aaaa", n=12))
    PB = ("put-b", s3_event("put", KB, "00BB01", "bbbbbbbbbb", n=13))
    m = Model([])
    outs = {l: m.apply(e) for l, e in (PA, PB)}
    write("update-inventory", "concurrent-puts-different-keys", {
        "description": "Two uploads by one user processed concurrently: both items and the sum in the Quota item.",
        "workflow": "workflows/update-inventory.asl.yaml",
        "substitutions": {"TableName": TABLE},
        "fixture": fixture([], [(KA, "aaaa"), (KB, "bbbbbbbbbb")]),
        "inputs": {"put-a": PA[1], "put-b": PB[1]},
        "runs": [
            {"name": "b runs between a's read and a's write",
             "interleaved": [{"id": "a", "input": "put-a", "status": "SUCCEEDED", "output": outs["put-a"]},
                             {"id": "b", "input": "put-b", "status": "SUCCEEDED", "output": outs["put-b"]}],
             "schedule": [{"id": "a", "until_state_exited": "Read Current"}, {"id": "b"}, {"id": "a"}]},
            {"name": "both read, then both write",
             "interleaved": [{"id": "a", "input": "put-a", "status": "SUCCEEDED", "output": outs["put-a"]},
                             {"id": "b", "input": "put-b", "status": "SUCCEEDED", "output": outs["put-b"]}],
             "schedule": [{"id": "a", "until_state_exited": "Compute Delta"}, {"id": "b", "until_state_exited": "Compute Delta"},
                          {"id": "a"}, {"id": "b"}]},
        ],
        "expect": {"tables": {TABLE: m.table()}, "invariants": ["inventory-equals-bucket", "quota-equals-sum"]},
    })
    OLD = ("put-old", s3_event("put", K, "0067A1B2C3D4E5F601", "old", n=14))
    NEW = ("put-new", s3_event("put", K, "0067A1B2C3D4E5F602", "the newer body", n=15))
    m = Model([]); m.apply(OLD[1]); m.apply(NEW[1])
    write("update-inventory", "concurrent-same-key", {
        "description": "Old and new version of one key processed concurrently: the transaction of the one that "
                       "read first is cancelled, it re-reads, and ends stale (if older) or applies the right delta.",
        "workflow": "workflows/update-inventory.asl.yaml",
        "substitutions": {"TableName": TABLE},
        "fixture": fixture([], [(K, "the newer body")]),
        "inputs": {"put-old": OLD[1], "put-new": NEW[1]},
        "runs": [
            {"name": "old reads, new completes, old writes",
             "interleaved": [
                 {"id": "old", "input": "put-old", "status": "SUCCEEDED",
                  "output": {"Outcome": "stale", "Key": K, "Sequencer": "0067A1B2C3D4E5F601", "CurrentSequencer": "0067A1B2C3D4E5F602"}},
                 {"id": "new", "input": "put-new", "status": "SUCCEEDED",
                  "output": {"Outcome": "applied", "Key": K, "User": "alice", "Live": True, "Sequencer": "0067A1B2C3D4E5F602", "Delta": 14}}],
             "schedule": [{"id": "old", "until_state_exited": "Compute Delta"}, {"id": "new"}, {"id": "old"}]},
            {"name": "new reads, old completes, new writes",
             "interleaved": [
                 {"id": "old", "input": "put-old", "status": "SUCCEEDED",
                  "output": {"Outcome": "applied", "Key": K, "User": "alice", "Live": True, "Sequencer": "0067A1B2C3D4E5F601", "Delta": 3}},
                 {"id": "new", "input": "put-new", "status": "SUCCEEDED",
                  "output": {"Outcome": "applied", "Key": K, "User": "alice", "Live": True, "Sequencer": "0067A1B2C3D4E5F602", "Delta": 11}}],
             "schedule": [{"id": "new", "until_state_exited": "Compute Delta"}, {"id": "old"}, {"id": "new"}]},
        ],
        "expect": {"tables": {TABLE: m.table()}, "invariants": ["inventory-equals-bucket", "quota-equals-sum"]},
    })


def gen_contention():
    K = "alice/hot.txt"
    bodies = {"b": "1", "c": "22", "d": "333", "e": "4444", "a": "the newest body"}
    seqs = {"b": "00F001", "c": "00F002", "d": "00F003", "e": "00F004", "a": "00F009"}
    ev = {x: s3_event("put", K, seqs[x], bodies[x], n=40 + i) for i, x in enumerate("bcdea")}
    m = Model([])
    outs = {x: m.apply(ev[x]) for x in "bcdea"}
    sched = []
    for x in "bcde":
        sched += [{"id": "a", "until_state_exited": "Compute Delta"}, {"id": x}]
    sched.append({"id": "a"})
    write("update-inventory", "concurrent-contention-backoff", {
        "description": "Four newer-than-read writes land between one execution's read and its transaction: it is "
                       "cancelled four times (three immediate retries, then the random back-off Wait) and finally "
                       "applies with the delta from the last version it read.",
        "workflow": "workflows/update-inventory.asl.yaml",
        "substitutions": {"TableName": TABLE},
        "fixture": fixture([], [(K, bodies["a"])]),
        "inputs": {f"put-{x}": ev[x] for x in "abcde"},
        "runs": [{"name": "a is overtaken four times",
                  "interleaved": [{"id": x, "input": f"put-{x}", "status": "SUCCEEDED", "output": outs[x]} for x in "abcde"],
                  "schedule": sched}],
        "expect": {"tables": {TABLE: m.table()}, "invariants": ["inventory-equals-bucket", "quota-equals-sum"]},
    })


def gen_original():
    K = "alice/docs/report.txt"
    P1 = s3_event("put", K, "0067A1B2C3D4E5F601", "first version", n=1)["detail"]
    P2 = s3_event("put", K, "0067A1B2C3D4E5F602", "second, longer version", n=2)["detail"]
    D = s3_event("delete", K, "0067A1B2C3D4E5F603", n=3)["detail"]
    created = {"PK": {"S": "alice"}, "SK": {"S": K}, "User": {"S": "alice"}, "Path": {"S": K}, "Bucket": {"S": BUCKET},
               "Size": {"N": "13"}, "Etag": {"S": md5("first version")}}
    base = {"workflow": "tests/file-manager/original/updateinventory.asl.yaml", "substitutions": {"TableName": TABLE}}
    write("original", "create-works", dict(base,
        description="The original handles a first upload (input is the event detail, as with InputPath $.detail).",
        fixture=fixture([], [(K, "first version")]), inputs={"put-v1": P1},
        runs=[{"executions": [{"input": "put-v1", "status": "SUCCEEDED"}]}],
        expect={"tables": {TABLE: [created, quota_item("alice", 13)]}, "invariants": ["inventory-equals-bucket", "quota-equals-sum"]}))
    write("original", "overwrite-fails-reserved-word", dict(base,
        description="DEFECT: every overwrite fails on AWS: 'SET Size = ...' uses the reserved word Size.",
        fixture=fixture([created, quota_item("alice", 13)], [(K, "second, longer version")]), inputs={"put-v2": P2},
        runs=[{"executions": [{"input": "put-v2", "status": "FAILED", "error": "DynamoDB.AmazonDynamoDBException"}]}],
        expect={"tables": {TABLE: [created, quota_item("alice", 13)]}, "violated_invariants": ["inventory-equals-bucket"]}))
    write("original", "duplicate-create-fails", dict(base,
        description="DEFECT: a duplicated Object Created takes the overwrite path and fails the same way.",
        fixture=fixture([], [(K, "first version")]), inputs={"put-v1": P1},
        runs=[{"executions": [{"input": "put-v1", "status": "SUCCEEDED"},
                              {"input": "put-v1", "status": "FAILED", "error": "DynamoDB.AmazonDynamoDBException"}]}],
        expect={"tables": {TABLE: [created, quota_item("alice", 13)]}}))
    write("original", "reordered-delete-resurrects", dict(base,
        description="DEFECT: Object Deleted delivered before the Object Created it follows: the file is deleted from S3 "
                    "but stays in the inventory and in the quota.",
        fixture=fixture([], []), inputs={"put-v1": P1, "delete": D},
        runs=[{"executions": [{"input": "delete", "status": "SUCCEEDED"}, {"input": "put-v1", "status": "SUCCEEDED"}]}],
        expect={"tables": {TABLE: [created, quota_item("alice", 13)]},
                "violated_invariants": ["inventory-equals-bucket"]}))


def api_event(detail, n=1):
    return {"version": "0", "id": f"10000000-0000-4000-8000-{n:012d}", "detail-type": "DeleteFile", "source": "FileApi",
            "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": "eu-west-1", "resources": [], "detail": detail}


def gen_delete():
    K = "alice/docs/a.txt"
    items = [file_item(K, "hello", "0A01"), file_item("alice/docs/gone.txt", "", "0A03", live=False),
             file_item("alice/top.txt", "top", "0A02"), file_item("bob/docs/a.txt", "bob", "0B01"),
             quota_item("alice", 8), quota_item("bob", 3)]
    objects = [(K, "hello"), ("alice/top.txt", "top"), ("bob/docs/a.txt", "bob")]
    base = {"workflow": "workflows/delete.asl.yaml", "substitutions": {"TableName": TABLE, "BucketName": BUCKET},
            "fixture": fixture(items, objects)}

    def scn(name, description, body, status, output=None, error=None, remaining=None):
        e = {"input": "request", "status": status}
        if output is not None:
            e["output"] = output
        if error:
            e["error"] = error
        write("delete", name, dict(base, description=description,
              inputs={"request": api_event({"body": body, "user": "alice"})}, runs=[{"executions": [e]}],
              expect={"tables": {TABLE: sorted(items, key=sort_key)},
                      "buckets": {BUCKET: sorted(k for k, _ in objects if k not in (remaining or []))}}))

    scn("delete-existing", "Deletes the S3 object; the inventory changes later, through the Object Deleted event.",
        {"path": "docs/", "name": "a.txt"}, "SUCCEEDED", {"Outcome": "deleted", "Key": K}, remaining=[K])
    scn("delete-path-without-slash", "path 'docs' is the same folder as 'docs/'.",
        {"path": "docs", "name": "a.txt"}, "SUCCEEDED", {"Outcome": "deleted", "Key": K}, remaining=[K])
    scn("delete-in-root", "No path (or an empty one) means the user's root folder.",
        {"name": "top.txt"}, "SUCCEEDED", {"Outcome": "deleted", "Key": "alice/top.txt"}, remaining=["alice/top.txt"])
    scn("delete-missing-file", "A file that is not in the inventory: nothing is deleted, SUCCEEDED with not-found.",
        {"path": "docs/", "name": "nope.txt"}, "SUCCEEDED", {"Outcome": "not-found", "Key": "alice/docs/nope.txt"})
    scn("delete-tombstoned-file", "A file already deleted (tombstone): not-found.",
        {"path": "docs/", "name": "gone.txt"}, "SUCCEEDED", {"Outcome": "not-found", "Key": "alice/docs/gone.txt"})
    scn("delete-ignores-user-in-body", "A 'user' in the body is ignored: the user comes from the JWT claim (detail.user).",
        {"user": "bob", "path": "docs/", "name": "a.txt"}, "SUCCEEDED", {"Outcome": "deleted", "Key": K}, remaining=[K])
    scn("delete-rejects-dot-dot", "'..' segments are refused before any lookup.",
        {"path": "../bob/docs/", "name": "a.txt"}, "FAILED", error="InvalidRequest")
    scn("delete-rejects-empty-segment", "Empty segments are refused.",
        {"path": "docs//", "name": "a.txt"}, "FAILED", error="InvalidRequest")
    scn("delete-rejects-leading-slash", "A leading '/' is refused.",
        {"path": "/docs/", "name": "a.txt"}, "FAILED", error="InvalidRequest")
    # The delete runs after the request was answered: an upload of the same name made since
    # (its Object Created event not yet in the inventory) is another version, and it stays.
    newer = [(k, "newer upload" if k == K else b) for k, b in objects]
    write("delete", "delete-spares-newer-upload", dict(base,
          description="The key holds a newer upload than the inventory lists: the conditional delete (If-Match) "
                      "fails with 412, nothing is deleted, SUCCEEDED with superseded.",
          fixture=fixture(items, newer), inputs={"request": api_event({"body": {"path": "docs/", "name": "a.txt"}, "user": "alice"})},
          runs=[{"executions": [{"input": "request", "status": "SUCCEEDED", "output": {"Outcome": "superseded", "Key": K}}]}],
          expect={"tables": {TABLE: sorted(items, key=sort_key)}, "buckets": {BUCKET: sorted(k for k, _ in newer)}}))


def listing_model(items, user, prefix, limit, token=None):
    """DynamoDB Query semantics: Limit counts items read before the filter; LastEvaluatedKey
    whenever the limit stopped the read."""
    keys = sorted((i for i in items if i["PK"]["S"] == user and i["SK"]["S"].startswith(f"{user}/{prefix}")), key=sort_key)
    if token:
        after = base64.b64decode(token).decode()
        keys = [i for i in keys if i["SK"]["S"].encode() > after.encode()]
    page = keys[:limit]
    out = [{"key": i["SK"]["S"], "name": i["SK"]["S"].split("/")[-1], "size": int(i["Size"]["N"]), "etag": i["Etag"]["S"]}
           for i in page if i["Live"]["BOOL"]]
    nxt = base64.b64encode(page[-1]["SK"]["S"].encode()).decode() if len(keys) >= limit and page else None
    return {"items": out, "folders": [], "nextToken": nxt}


def gen_list():
    files = {"alice/a.txt": "a", "alice/docs/b.txt": "bb", "alice/docs/c.txt": "ccc", "alice/docs/sub/d.txt": "dddd",
             "alice/photos/e.jpg": "eeeee", "alice/photos/f.jpg": "ffffff", "bob/secret.txt": "secret"}
    items = [file_item(k, v, f"0C{n:02d}") for n, (k, v) in enumerate(sorted(files.items()))]
    items.append(file_item("alice/docs/bb-deleted.txt", "", "0C99", live=False))
    items += [quota_item("alice", 21), quota_item("bob", 6)]
    base = {"workflow": "workflows/list.asl.yaml", "substitutions": {"TableName": TABLE, "BucketName": BUCKET},
            "fixture": fixture(items, sorted(files.items()))}

    def req(body, user="alice"):
        return {"body": body, "user": user}

    # flat paging: follow the tokens the model produces
    inputs, runs, token, n = {}, [], None, 1
    while True:
        body = {"limit": 2} if token is None else {"limit": 2, "token": token}
        out = listing_model(items, "alice", "", 2, token)
        inputs[f"page-{n}"] = req(body)
        runs.append({"name": f"page {n}", "executions": [{"input": f"page-{n}", "status": "SUCCEEDED", "output": out}]})
        if out["nextToken"] is None:
            break
        token, n = out["nextToken"], n + 1
    write("list", "flat-paging", dict(base, description="Flat view, 2 per page: follow nextToken to the end. The tombstone "
          "counts toward Limit (DynamoDB evaluates before filtering), so one page has a single item; bob's files never appear. "
          "The last page is short, so the end does not depend on whether DynamoDB returns LastEvaluatedKey at an exact boundary.",
          inputs=inputs, runs=runs, expect={"tables": {TABLE: sorted(items, key=sort_key)}}))
    write("list", "flat-prefix", dict(base, description="Flat view under docs/: every live file below it, sub-folders included.",
          inputs={"docs": req({"prefix": "docs/"})},
          runs=[{"executions": [{"input": "docs", "status": "SUCCEEDED", "output": listing_model(items, "alice", "docs/", 100)}]}],
          expect={}))
    write("list", "empty", dict(base, description="A user without files gets an empty page and no token.",
          inputs={"carol": req({}, user="carol")},
          runs=[{"executions": [{"input": "carol", "status": "SUCCEEDED", "output": {"items": [], "folders": [], "nextToken": None}}]}],
          expect={}))

    def obj(k):
        return {"key": k, "name": k.split("/")[-1], "size": len(files[k]), "etag": '"%s"' % md5(files[k])}

    write("list", "folder-view", dict(base, description="Folder view: immediate files and sub-folders of a prefix (S3 ListObjectsV2, Delimiter '/').",
          inputs={"root": req({"view": "folders"}), "docs": req({"view": "folders", "prefix": "docs/"})},
          runs=[{"executions": [{"input": "root", "status": "SUCCEEDED", "output": {
                    "items": [obj("alice/a.txt")], "folders": [{"prefix": "alice/docs/"}, {"prefix": "alice/photos/"}], "nextToken": None}}]},
                {"executions": [{"input": "docs", "status": "SUCCEEDED", "output": {
                    "items": [obj("alice/docs/b.txt"), obj("alice/docs/c.txt")], "folders": [{"prefix": "alice/docs/sub/"}], "nextToken": None}}]}],
          expect={}))
    write("list", "folder-view-paging", dict(base, description="Folder view with limit 2: the first page holds a.txt and docs/, and an opaque S3 token.",
          inputs={"root": req({"view": "folders", "limit": 2})},
          runs=[{"executions": [{"input": "root", "status": "SUCCEEDED", "output": {
                    "items": [obj("alice/a.txt")], "folders": [{"prefix": "alice/docs/"}], "nextToken": {"$type": "string"}}}]}],
          expect={}))
    write("list", "invalid-requests", dict(base, description="Bad limit, unknown view, a folder prefix without '/': FAILED InvalidRequest.",
          inputs={"limit-0": req({"limit": 0}), "limit-text": req({"limit": "10"}), "view": req({"view": "tree"}),
                  "prefix": req({"view": "folders", "prefix": "docs"})},
          runs=[{"executions": [{"input": i, "status": "FAILED", "error": "InvalidRequest"}]}
                for i in ("limit-0", "limit-text", "view", "prefix")],
          expect={}))
    write("list", "foreign-token", dict(base, description="A token naming another user's key cannot leave the caller's partition: FAILED InvalidToken.",
          inputs={"steal": req({"token": base64.b64encode(b"bob/secret.txt").decode()})},
          runs=[{"executions": [{"input": "steal", "status": "FAILED", "error": "InvalidToken"}]}],
          expect={}))


def gen_fetch_quota():
    items = [file_item("alice/docs/a.txt", "hello", "0D01"), file_item("alice/docs/gone.txt", "", "0D02", live=False),
             quota_item("alice", 5)]
    base = {"workflow": "workflows/fetch.asl.yaml", "substitutions": {"TableName": TABLE},
            "fixture": fixture(items, [("alice/docs/a.txt", "hello")])}
    cases = [
        ("found", {"path": "docs/", "name": "a.txt"}, "SUCCEEDED",
         {"found": True, "key": "alice/docs/a.txt", "name": "a.txt", "size": 5, "etag": md5("hello")}, None),
        ("missing", {"path": "docs", "name": "b.txt"}, "SUCCEEDED", {"found": False, "key": "alice/docs/b.txt"}, None),
        ("tombstone", {"path": "docs/", "name": "gone.txt"}, "SUCCEEDED", {"found": False, "key": "alice/docs/gone.txt"}, None),
        ("other-user-in-body", {"user": "bob", "path": "docs/", "name": "a.txt"}, "SUCCEEDED",
         {"found": True, "key": "alice/docs/a.txt", "name": "a.txt", "size": 5, "etag": md5("hello")}, None),
        ("dot-dot", {"path": "docs/../../bob/", "name": "a.txt"}, "FAILED", None, "InvalidRequest"),
    ]
    for name, body, status, out, err in cases:
        e = {"input": "request", "status": status}
        if out is not None:
            e["output"] = out
        if err:
            e["error"] = err
        write("fetch", name, dict(base, description=f"File info lookup: {name}.", inputs={"request": {"body": body, "user": "alice"}},
              runs=[{"executions": [e]}], expect={}))
    qbase = {"workflow": "workflows/quota.asl.yaml", "substitutions": {"TableName": TABLE, "QuotaBytes": "1073741824"},
             "fixture": fixture(items, [("alice/docs/a.txt", "hello")])}
    write("quota", "with-usage", dict(qbase, description="The Quota item's TotalSize and the configured quota.",
          inputs={"alice": {"user": "alice"}},
          runs=[{"executions": [{"input": "alice", "status": "SUCCEEDED", "output": {"user": "alice", "usedBytes": 5, "reservedBytes": 0, "quotaBytes": 1073741824}}]}],
          expect={}))
    write("quota", "no-usage", dict(qbase, description="A user with no Quota item uses 0 bytes.",
          inputs={"dave": {"user": "dave"}},
          runs=[{"executions": [{"input": "dave", "status": "SUCCEEDED", "output": {"user": "dave", "usedBytes": 0, "reservedBytes": 0, "quotaBytes": 1073741824}}]}],
          expect={}))


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    gen_update_inventory()
    gen_contention()
    gen_original()
    gen_delete()
    gen_list()
    gen_fetch_quota()
    print(f"wrote {len(written)} scenarios")
