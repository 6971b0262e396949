#!/usr/bin/env python3
"""Search latency over one channel of ~1M messages (SPEC §10), against a running rift-server.

    ./scripts/search-bench.py seed BASE_URL DB N      # SQLite: DB is the server's rift.db
    ./scripts/search-bench.py seed BASE_URL PG_URL N  # PostgreSQL (psql on PATH)
    ./scripts/search-bench.py bench BASE_URL [RUNS]

`seed` registers a user, creates a server and fills its `general` channel with N messages of 8
words from a 2,000-word vocabulary, plus one message with the rare word "zyzzyva"; the absent
word is "quixotry". State (token, channel) goes to ./search-bench.json. `bench` times
`GET /api/search` (channel-scoped and unscoped) over loopback and prints p50/p99 per query.
"""
import json, os, random, subprocess, sys, time, urllib.parse, urllib.request, uuid

STATE = "search-bench.json"


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def uuid7(ms, rand):
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand & ((1 << 74) - 1) & ~(0x3 << 62)) | 0x2 << 62
    return uuid.UUID(int=value)


def rows(n, channel, author):
    rng = random.Random(7)
    vocab = [f"w{i:04d}" for i in range(2000)] + ["hello", "world", "rift", "chat"] * 50
    start_ms = int(time.time() * 1000) - n * 10
    rare_at = n // 3
    for i in range(n):
        words = rng.choices(vocab, k=8)
        if i == rare_at:
            words[3] = "zyzzyva"
        ms = start_ms + i * 10
        yield uuid7(ms, rng.getrandbits(74)), channel, author, " ".join(words), ms * 1000


def seed(base, target, n):
    name = f"bench{random.randrange(10**6)}"
    session = call(base, "POST", "/api/auth/register", body={"username": name, "password": "password123"})
    token, author = session["access_token"], uuid.UUID(session["user"]["id"])
    server = call(base, "POST", "/api/servers", token, {"name": "Search bench"})
    channel = uuid.UUID(call(base, "GET", f"/api/servers/{server['id']}/channels", token)[0]["id"])
    t0 = time.time()
    if target.startswith("postgres"):
        proc = subprocess.Popen(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], stdin=subprocess.PIPE, text=True)
        proc.stdin.write("COPY messages (id, channel_id, author_id, content, created_at) FROM STDIN;\n")
        for mid, ch, au, content, micros in rows(n, channel, author):
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(micros // 1_000_000)) + f".{micros % 1_000_000:06d}+00"
            proc.stdin.write(f"{mid}\t{ch}\t{au}\t{content}\t{ts}\n")
        proc.stdin.write("\\.\nANALYZE messages;\n")
        proc.stdin.close()
        assert proc.wait() == 0
    else:
        import sqlite3
        db = sqlite3.connect(target, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        batch = []
        for mid, ch, au, content, micros in rows(n, channel, author):
            batch.append((mid.bytes, ch.bytes, au.bytes, content, micros))
            if len(batch) == 50_000:
                db.executemany("INSERT INTO messages (id, channel_id, author_id, content, created_at) VALUES (?,?,?,?,?)", batch)
                db.commit()
                batch = []
        db.executemany("INSERT INTO messages (id, channel_id, author_id, content, created_at) VALUES (?,?,?,?,?)", batch)
        db.commit()
        # No ANALYZE: a real deployment has no planner statistics, and that is where the
        # newest-first channel walk was chosen.
        db.close()
    print(f"seeded {n} messages in {time.time() - t0:.0f} s")
    json.dump({"username": name, "channel": str(channel)}, open(STATE, "w"))


def bench(base, runs):
    state = json.load(open(STATE))
    token = call(base, "POST", "/api/auth/login", body={"username": state["username"], "password": "password123"})["access_token"]
    channel = state["channel"]
    queries = [("rare word, channel", "zyzzyva", True), ("absent word, channel", "quixotry", True),
               ("rare word, everywhere", "zyzzyva", False), ("absent word, everywhere", "quixotry", False),
               ("common word, channel", "hello", True), ("two common words, channel", "hello world", True)]
    for label, q, scoped in queries:
        path = "/api/search?" + urllib.parse.urlencode({"q": q, **({"channel_id": channel} if scoped else {})})
        times = []
        deadline = time.time() + 120
        for _ in range(runs):
            t = time.perf_counter()
            found = call(base, "GET", path, token)
            times.append((time.perf_counter() - t) * 1000)
            if time.time() > deadline:
                break
        times.sort()
        p = lambda f: times[min(len(times) - 1, int(f * len(times)))]
        print(f"{label:28} q={q!r:14} hits={len(found):3} runs={len(times):4} p50={p(0.5):9.2f} ms p99={p(0.99):9.2f} ms")


if __name__ == "__main__":
    mode, base = sys.argv[1], sys.argv[2]
    if mode == "seed":
        seed(base, sys.argv[3], int(sys.argv[4]))
    else:
        bench(base, int(sys.argv[3]) if len(sys.argv) > 3 else 200)
