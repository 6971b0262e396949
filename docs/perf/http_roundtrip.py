#!/usr/bin/env python3
"""Where a lone REST send's time goes on this machine: starts a release rift-server on a temp
SQLite file, then times requests one at a time over one keep-alive connection (Python's own
client, so its overhead is in every row alike): a request that touches nothing (health), one
that authenticates (reads the user), one that reads a channel, and a message send. GAP seconds
pass between requests (0.02 is the 20 msg/s of `rift-load latency --rate 20`; 0 keeps every
thread awake).

    python3 docs/perf/http_roundtrip.py target/release/rift-server 0.02
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

binary, gap = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
data = tempfile.mkdtemp()
env = dict(os.environ, RIFT_DATA_DIR=data, DATABASE_URL=f"sqlite://{data}/rift.db",
           LISTEN_ADDR=f"127.0.0.1:{port}", RATE_LIMITS="off", CLIENT_DIR=f"{data}/none", RUST_LOG="warn")
server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            break
        except OSError:
            time.sleep(0.1)

    def call(method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        answer = conn.getresponse()
        text = answer.read()
        if answer.status >= 300:
            raise SystemExit(f"{method} {path}: {answer.status} {text!r}")
        return json.loads(text) if text else None

    token = call("POST", "/api/auth/register", {"username": "ada", "password": "correct horse battery"})["access_token"]
    server_id = call("POST", "/api/servers", {"name": "timing"}, token)["id"]
    channel = call("GET", f"/api/servers/{server_id}/channels", None, token)[0]["id"]

    def timed(label, request, n=300):
        times = []
        for i in range(n):
            start = time.perf_counter()
            request(i)
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(gap)
        times.sort()
        print(f"{label:32s} p50 {times[n // 2]:.3f} ms  p90 {times[int(n * 0.9)]:.3f} ms  min {times[0]:.3f} ms")

    print(f"one request at a time, {gap} s apart")
    timed("GET /api/health", lambda i: call("GET", "/api/health"))
    timed("GET /api/users/me", lambda i: call("GET", "/api/users/me", None, token))
    timed("GET /api/channels/:id", lambda i: call("GET", f"/api/channels/{channel}", None, token))
    timed("POST /api/channels/:id/messages", lambda i: call("POST", f"/api/channels/{channel}/messages", {"content": f"hello {i}"}, token))
finally:
    server.terminate()
