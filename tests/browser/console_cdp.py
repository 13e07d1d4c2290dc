#!/usr/bin/env python3
"""Drives serve's console in headless Chromium over the DevTools protocol, the way a
user would: it opens the console, checks that every state machine of the template is
listed, starts an execution through the page's form, watches it finish without a
reload, opens its graph and history, answers a waiting callback and an activity task
through the Waiting tasks forms, and filters the executions list.

Only the standard library: the DevTools protocol is JSON over a WebSocket, and the
small client below speaks the part of RFC 6455 a local DevTools endpoint needs.

Usage: console_cdp.py CONSOLE_URL DEVTOOLS_WS_URL MACHINE... [--shots DIR]
Exits 1 on the first failed check, naming it.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.parse


class WebSocket:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"DevTools refused the WebSocket: {head[:200]!r}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, text):
        self._frame(0x1, text.encode())

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            message += payload
            if fin:
                return message.decode()


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser_ws):
        self.ws = WebSocket(browser_ws)
        self.next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def js(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"script failed: {expression}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def wait(self, expression, what, timeout=20.0):
        until = time.time() + timeout
        while time.time() < until:
            try:
                v = self.js(expression)
                if v:
                    return v
            except RuntimeError:
                pass  # the page is navigating
            time.sleep(0.1)
        fail(f"{what} (waited {timeout:.0f} s for: {expression})")

    def loaded(self):
        self.wait("document.readyState === 'complete' && document.documentElement.getAttribute('data-console-ready') === '1'", "the console page loaded and its script ran")

    def goto(self, url):
        self.call("Page.navigate", {"url": url})
        time.sleep(0.05)
        self.loaded()

    def fill(self, selector, value):
        """Types into a field as a user would: the value, then the input event the page listens to."""
        ok = self.js(
            f"(function(){{var e=document.querySelector({json.dumps(selector)}); if(!e) return false; e.value={json.dumps(value)};"
            " e.dispatchEvent(new Event('input', {bubbles: true})); return true;})()"
        )
        if not ok:
            fail(f"no field {selector} to fill")

    def follow(self, selector, what):
        """Clicks a link and waits for the page it leads to (not the one still shown)."""
        before = self.js("location.href")
        self.click(selector, what)
        self.wait(f"location.href !== {json.dumps(before)}", f"{what}: the click led to another page")
        self.loaded()

    def click(self, selector, what):
        if not self.js(f"(function(){{var e=document.querySelector({json.dumps(selector)}); if(!e) return false; e.click(); return true;}})()"):
            fail(f"{what}: no element {selector}")

    def shot(self, directory, name):
        if directory:
            data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
            with open(os.path.join(directory, name), "wb") as f:
                f.write(base64.b64decode(data))
            print(f"screenshot: {os.path.join(directory, name)}")


def fail(message):
    print(f"check_console: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(cond, message):
    if not cond:
        fail(message)


def main():
    args = sys.argv[1:]
    shots = None
    if "--shots" in args:
        i = args.index("--shots")
        shots = args[i + 1]
        del args[i : i + 2]
    console, browser_ws, machines = args[0], args[1], args[2:]
    check(machines, "the template names no state machine")
    p = Page(browser_ws)

    # 1. Every state machine of the template is listed.
    p.goto(console)
    listed = p.js("Array.from(document.querySelectorAll('#machines tr[data-machine]')).map(function(r){return r.getAttribute('data-machine')})")
    for m in machines:
        check(m in listed, f"state machine {m} is not on the console's first page (listed: {listed})")
    print(f"ok: the console lists the template's {len(machines)} state machines")

    # 2. Start an execution through the page and watch it finish without a reload.
    p.follow('tr[data-machine="SleepyStateMachine"] a', "open SleepyStateMachine")
    check("/_console/machine" in p.js("location.href"), "the machine link did not open the machine page")
    check(p.js("document.querySelectorAll('#graph svg .node').length") >= 3, "the machine page shows no graph")
    check("SecondsPath" in p.js("document.getElementById('definition').textContent"), "the machine page shows no definition")
    p.fill("#start-form textarea[name=input]", '{"seconds": 2}')
    p.click("#start-button", "start the execution")
    p.wait("location.href.indexOf('/_console/execution?') >= 0 && document.documentElement.getAttribute('data-console-ready') === '1'", "the start form led to the execution page")
    p.js("window.__sameDocument = 'yes'")
    p.wait("document.querySelector('#graph .node.running[data-state=\"Sleep\"]') !== null || document.querySelector('#status [data-status]').getAttribute('data-status') !== 'RUNNING'", "the running execution's graph marks the state it is in")
    saw_running = p.js("document.querySelector('#graph .node.running[data-state=\"Sleep\"]') !== null")
    p.wait("document.querySelector('#status [data-status]').getAttribute('data-status') === 'SUCCEEDED'", "the execution page shows SUCCEEDED", timeout=20)
    check(p.js("window.__sameDocument") == "yes", "the page reloaded instead of updating itself")
    check(saw_running, "the graph never showed Sleep as the running state")
    print("ok: started through the form; the page showed the running state, then SUCCEEDED without a reload")

    # 3. Its graph and history.
    visited = p.js("Array.from(document.querySelectorAll('#graph .node.visited')).map(function(n){return n.getAttribute('data-state')}).filter(Boolean)")
    check("Sleep" in visited and "Done" in visited, f"the graph does not highlight the path taken (visited: {visited})")
    check(p.js("document.querySelectorAll('#graph .edge.taken').length") >= 2, "no transition highlighted as taken")
    kinds = p.js("Array.from(document.querySelectorAll('#history tbody tr td:nth-child(2)')).map(function(t){return t.textContent})")
    for k in ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"]:
        check(k in kinds, f"the history table has no {k} (has {kinds})")
    states = p.js("Array.from(document.querySelectorAll('#states tbody tr[data-state]')).map(function(r){return r.getAttribute('data-state')})")
    check(states == ["Sleep", "Done"], f"the states table is not Sleep, Done: {states}")
    check('"slept"' in p.js("document.getElementById('output').textContent"), "the execution's output is not shown")
    p.shot(shots, "console-execution.png")
    print("ok: the graph highlights Sleep → Done; the history and each state's input/output are shown")

    # 4. A waiting callback answered through the form; attacker-shaped input stays text.
    p.goto(console)
    p.follow('tr[data-machine="ApprovalStateMachine"] a', "open ApprovalStateMachine")
    hostile = '{"request": "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"}'
    p.fill("#start-form textarea[name=input]", hostile)
    p.click("#start-button", "start the approval")
    p.wait("location.href.indexOf('/_console/execution?') >= 0 && document.documentElement.getAttribute('data-console-ready') === '1'", "the approval's execution page")
    arn = p.js("new URLSearchParams(location.search).get('arn')")
    p.wait("document.getElementById('running-states') && document.getElementById('running-states').textContent === 'AskForApproval'", "the approval waits in AskForApproval")
    check(p.js("document.querySelectorAll('main img, main script').length") == 0 and p.js("window.__pwned") is None, "the execution input was rendered as HTML")
    check("<img src=x" in p.js("document.querySelector('.io pre').textContent"), "the input is not shown as text")
    p.shot(shots, "console-running.png")
    p.follow('nav a[href="/_console/tasks"]', "open Waiting tasks")
    card = f'article.task[data-execution="{arn}"]'
    p.wait(f"document.querySelector({json.dumps(card)}) !== null", "the approval is listed among the waiting tasks")
    check("AskForApproval" in p.js(f"document.querySelector({json.dumps(card)}).textContent"), "the task card does not name its state")
    p.fill(card + " form.success textarea", '{"approved": true}')
    p.shot(shots, "console-tasks.png")
    p.click(card + " form.success button", "send task success")
    p.wait(f"location.href.indexOf('/_console/execution?') >= 0 && document.documentElement.getAttribute('data-console-ready') === '1'", "the answer led back to the execution")
    p.wait("document.querySelector('#status [data-status]').getAttribute('data-status') === 'SUCCEEDED'", "the answered approval SUCCEEDED")
    check('"approved": true' in p.js("document.getElementById('output').textContent"), "the task's answer is not in the output")
    print("ok: the waiting callback was answered through the form; the execution SUCCEEDED with the answer")

    # 5. An activity task failed through the form: the error and cause are shown, redrive's state is explained.
    p.goto(console)
    p.follow('tr[data-machine="ActivityStateMachine"] a', "open ActivityStateMachine")
    p.fill("#start-form textarea[name=input]", '{"document": "contract.pdf"}')
    p.click("#start-button", "start the activity machine")
    p.wait("location.href.indexOf('/_console/execution?') >= 0 && document.documentElement.getAttribute('data-console-ready') === '1'", "the activity's execution page")
    arn = p.js("new URLSearchParams(location.search).get('arn')")
    p.goto(console + "tasks")
    card = f'article.task[data-execution="{arn}"]'
    p.wait(f"document.querySelector({json.dumps(card)}) !== null", "the activity task is listed")
    check("Activity task" in p.js(f"document.querySelector({json.dumps(card)} + ' h2').textContent"), "the activity task is not labelled as one")
    p.fill(card + " form.failure input[name=error]", "Rejected")
    p.fill(card + " form.failure input[name=cause]", "not signed")
    p.click(card + " form.failure button", "send task failure")
    p.wait("location.href.indexOf('/_console/execution?') >= 0 && document.documentElement.getAttribute('data-console-ready') === '1'", "the failure led back to the execution")
    p.wait("document.querySelector('#status [data-status]').getAttribute('data-status') === 'FAILED'", "the activity's execution FAILED")
    check(p.js("document.getElementById('error').textContent") == "Rejected", "the error is not shown")
    check(p.js("document.getElementById('cause').textContent") == "not signed", "the cause is not shown")
    check(p.js("document.getElementById('redrive-form') !== null || document.getElementById('redrive-note') !== null"), "a failed execution says nothing about redrive")
    check(p.js("document.querySelector('#graph .node.failed[data-state=\"Review\"]') !== null"), "the graph does not mark Review as failed")
    print("ok: the activity task was failed through the form; error and cause shown, Review marked failed")

    # 6. The executions list: all three, filtered by status.
    p.follow('nav a[href="/_console/executions"]', "open Executions")
    rows = p.js("document.querySelectorAll('#executions-table tbody tr[data-execution]').length")
    check(rows == 3, f"the executions list shows {rows} executions, not 3")
    p.click('.chips a[href*="status=SUCCEEDED"]', "filter SUCCEEDED")
    p.wait("location.href.indexOf('status=SUCCEEDED') >= 0 && document.readyState === 'complete' && document.querySelector('.chips a.on[href*=\"status=SUCCEEDED\"]') !== null", "the SUCCEEDED filter page loaded")
    p.loaded()
    statuses = p.js("Array.from(document.querySelectorAll('#executions-table [data-status]')).map(function(b){return b.getAttribute('data-status')})")
    check(statuses == ["SUCCEEDED", "SUCCEEDED"], f"the SUCCEEDED filter shows {statuses}")
    p.goto(console + "executions")
    p.shot(shots, "console-executions.png")
    p.goto(console)
    p.shot(shots, "console-machines.png")
    print("ok: the executions list pages and filters by status")


if __name__ == "__main__":
    main()
