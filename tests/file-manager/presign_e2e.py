#!/usr/bin/env python3
"""End-to-end check of the presign binary, offline: moto_server plays S3 and DynamoDB (through
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB) and a tiny fake Lambda Runtime API feeds it
API Gateway payload 2.0 events. Needs `pip install "moto[server]"` and a built binary.
Usage: python tests/file-manager/presign_e2e.py [path/to/presign]"""
import json, os, queue, subprocess, sys, threading, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

from moto_local import free_port, start_moto

BIN = sys.argv[1] if len(sys.argv) > 1 else "/work/target-presign/debug/presign"


events, results = queue.Queue(), queue.Queue()


class Runtime(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        n, ev = events.get()
        body = json.dumps(ev).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{n}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:presign")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        results.put((self.path, json.loads(data or b"null")))
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()


def event(route, body, sub="alice"):
    claims = {"sub": sub} if sub else {}
    return {"version": "2.0", "routeKey": route, "rawPath": route.split(" ")[1], "headers": {},
            "requestContext": {"http": {"method": "POST", "path": route.split(" ")[1]},
                               "authorizer": {"jwt": {"claims": claims, "scopes": None}}},
            "body": json.dumps(body), "isBase64Encoded": False}


def main():
    rt_port = free_port()
    moto, endpoint = start_moto()
    server = ThreadingHTTPServer(("127.0.0.1", rt_port), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="eu-west-1",
               AWS_ENDPOINT_URL_S3=endpoint, AWS_ENDPOINT_URL_DYNAMODB=endpoint, BUCKET_NAME="files", TABLE_NAME="Inventory",
               QUOTA_BYTES="100", URL_EXPIRY_SECONDS="60", AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{rt_port}",
               AWS_LAMBDA_FUNCTION_NAME="presign", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="1",
               AWS_LAMBDA_LOG_STREAM_NAME="s", AWS_LAMBDA_LOG_GROUP_NAME="g")
    lam = None
    failures = []
    try:
        kw = dict(endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
        s3, ddb = boto3.client("s3", **kw), boto3.client("dynamodb", **kw)
        s3.create_bucket(Bucket="files", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        ddb.create_table(TableName="Inventory", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}])
        ddb.put_item(TableName="Inventory", Item={"PK": {"S": "alice"}, "SK": {"S": "Quota"}, "TotalSize": {"N": "90"}})
        ddb.put_item(TableName="Inventory", Item={"PK": {"S": "alice"}, "SK": {"S": "alice/old.txt"}, "Size": {"N": "30"}, "Live": {"BOOL": True}})
        lam = subprocess.Popen([BIN], env=env)
        n = [0]

        def invoke(ev):
            n[0] += 1
            events.put((n[0], ev))
            path, res = results.get(timeout=30)
            if not path.endswith("/response"):
                raise SystemExit(f"invocation error: {res}")
            return res["statusCode"], json.loads(res["body"])

        def expect(what, got, want):
            print(("ok   " if got == want else "FAIL ") + f"{what}: {got}" + ("" if got == want else f" (want {want})"))
            if got != want:
                failures.append(what)

        st, body = invoke(event("POST /files/create", {"path": "docs/", "name": "a.txt", "size": 10}))
        expect("create within quota", st, 200)
        expect("path-style URL on the local endpoint", body["url"].startswith(f"{endpoint}/files/alice/docs/a.txt?"), True)
        req = urllib.request.Request(body["url"], data=b"0123456789", method="PUT",
                                     headers=dict(body["headers"], **{"content-type": "application/octet-stream"}))
        expect("upload through the presigned PUT", urllib.request.urlopen(req).status, 200)
        st, body = invoke(event("POST /files/create", {"path": "docs/", "name": "b.txt", "size": 11}))
        expect("create over quota", (st, body["error"]), (413, "QuotaExceeded"))
        st, body = invoke(event("POST /files/create", {"name": "old.txt", "size": 40}))
        expect("overwrite counts only the difference (90 - 30 + 40 = 100)", st, 200)
        st, body = invoke(event("POST /files/fetch", {"path": "docs", "name": "a.txt"}))
        expect("fetch existing", (st, body.get("size")), (200, 10))
        expect("download through the presigned GET", urllib.request.urlopen(body["url"]).read(), b"0123456789")
        st, body = invoke(event("POST /files/fetch", {"path": "docs/", "name": "missing.txt"}))
        expect("fetch missing is a real 404", (st, body["error"]), (404, "NotFound"))
        st, body = invoke(event("POST /files/fetch", {"path": "../bob/", "name": "a.txt"}))
        expect("dot-dot is 400", st, 400)
        st, body = invoke(event("POST /files/fetch", {"user": "bob", "name": "a.txt"}, sub=None))
        expect("no verified user is 401", st, 401)
    finally:
        if lam:
            lam.kill()
        moto.kill()
        server.shutdown()
    print("presign e2e:", "FAILED " + ", ".join(failures) if failures else "all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
