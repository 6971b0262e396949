#!/usr/bin/env python3
"""Memory under a burst of sign-ups and logins (SPEC §10).

Starts nothing: point it at a running rift-server (RATE_LIMITS=off) and its pid. Registers
SIGNUPS users and then logs in LOGINS times, CONCURRENCY requests at a time, over loopback; samples
the server's VmRSS from /proc/PID/status every 50 ms and prints idle, peak, and after-burst figures.

    ./scripts/auth-burst.py PID [BASE_URL] [SIGNUPS] [LOGINS] [CONCURRENCY]
"""
import json, sys, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

pid = int(sys.argv[1])
base = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:3200"
signups = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
logins = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
concurrency = int(sys.argv[5]) if len(sys.argv) > 5 else 8
run = f"{int(time.time()) % 100000}"


def rss_mib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


peak = 0.0
stop = False


def sample():
    global peak
    while not stop:
        peak = max(peak, rss_mib())
        time.sleep(0.05)


def post(path, body, ok):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == ok, r.status
        r.read()


def register(n):
    post("/api/auth/register", {"username": f"b{run}_{n}", "password": "correct horse battery"}, 201)


def login(n):
    post("/api/auth/login", {"username": f"b{run}_{n % signups}", "password": "correct horse battery"}, 200)


idle = rss_mib()
threading.Thread(target=sample, daemon=True).start()
t0 = time.time()
with ThreadPoolExecutor(concurrency) as pool:
    list(pool.map(register, range(signups)))
t1 = time.time()
with ThreadPoolExecutor(concurrency) as pool:
    list(pool.map(login, range(logins)))
t2 = time.time()
end = rss_mib()
time.sleep(10)
stop = True
settled = rss_mib()
print(f"signups={signups} logins={logins} concurrency={concurrency}")
print(f"idle_before={idle:.1f}MiB peak={peak:.1f}MiB at_end={end:.1f}MiB after_10s={settled:.1f}MiB")
print(f"signup_time={t1 - t0:.1f}s ({signups / (t1 - t0):.1f}/s) login_time={t2 - t1:.1f}s ({logins / max(t2 - t1, 1e-9):.1f}/s)")
