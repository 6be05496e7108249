#!/usr/bin/python3
"""Visitors who each send one message and watch the reply stream in.

usage: streams.py BASE_URL BOT_KEY ORIGIN COUNT RATE READY_FILE

Creates COUNT visitors (a session and a conversation each, from their own
X-Forwarded-For address), subscribes each to its conversation's events
(server-sent events held by nginx), then posts one message per visitor,
RATE a second (0: as fast as 64 connections go). Writes "posted N in S s"
to READY_FILE once every message is accepted, then waits (at most 300 s)
for every stored reply and prints one line: accepted, replies, the time
from each POST to the first reply.delta and to the stored reply (p50,
p99, max, ms), and the POSTs' own latency.
"""
import asyncio
import json
import ssl
import sys
import time
from urllib.parse import urlparse

from httpio import read_response

BASE, KEY, ORIGIN, COUNT, RATE, READY = (sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                         float(sys.argv[5]), sys.argv[6])
u = urlparse(BASE)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def xff(i):
    return "198.%d.%d.%d" % (18 + i // 62500, (i // 250) % 250, i % 250 + 1)


async def request(conn, method, path, body=None, headers=()):
    r, w = conn
    data = json.dumps(body).encode() if body is not None else b""
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    w.write(("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
             % (method, path, u.hostname, len(data), h)).encode() + data)
    status, payload, _ = await read_response(r)
    if status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, path, status, payload[:200]))
    return status, json.loads(payload) if payload else None


async def pool(n):
    return [await asyncio.open_connection(u.hostname, u.port, ssl=ctx) for _ in range(n)]


class Visitor:
    def __init__(self, i):
        self.i, self.token, self.conv = i, None, None
        self.posted = self.first = self.done = None


async def setup(conns, visitors):
    q = asyncio.Queue()
    for v in visitors:
        q.put_nowait(v)

    async def worker(conn):
        while not q.empty():
            v = q.get_nowait()
            st, o = await request(conn, "POST", "/api/v1/widget/sessions", {"bot_key": KEY},
                                  [("Origin", ORIGIN), ("X-Forwarded-For", xff(v.i))])
            v.token = o["token"]
            st, o = await request(conn, "POST", "/api/v1/widget/conversations", None,
                                  [("Authorization", "Bearer " + v.token), ("X-Forwarded-For", xff(v.i))])
            v.conv = o["id"]
    await asyncio.gather(*(worker(c) for c in conns))


async def watch(v, opened):
    r, w = await asyncio.open_connection(u.hostname, u.port, ssl=ctx)
    w.write(("GET /api/v1/widget/conversations/%s/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
             "Authorization: Bearer %s\r\nX-Forwarded-For: %s\r\n\r\n" % (v.conv, u.hostname, v.token, xff(v.i))).encode())
    await r.readuntil(b"\r\n\r\n")
    opened.release()
    buf = b""
    try:
        while v.done is None:
            chunk = await r.read(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                for line in ev.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    try:
                        d = json.loads(line[5:])
                    except ValueError:
                        continue
                    now = time.monotonic()
                    if d.get("type") == "reply.delta" and v.first is None:
                        v.first = now
                    elif d.get("type") == "message" and d["message"].get("role") == "bot":
                        if v.first is None:
                            v.first = now
                        v.done = now
    finally:
        w.close()


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


async def main():
    visitors = [Visitor(i) for i in range(COUNT)]
    conns = await pool(64)
    await setup(conns, visitors)
    opened = asyncio.Semaphore(0)
    watchers = []
    for start in range(0, COUNT, 100):
        batch = visitors[start:start + 100]
        watchers += [asyncio.ensure_future(watch(v, opened)) for v in batch]
        for _ in batch:
            await opened.acquire()
    post_lat, accepted = [], [0]
    q = asyncio.Queue()
    t0 = time.monotonic()

    async def poster(conn):
        while True:
            v = await q.get()
            if v is None:
                return
            v.posted = time.monotonic()
            st, o = await request(conn, "POST", "/api/v1/widget/conversations/%s/messages" % v.conv,
                                  {"content": "How often should I water tomatoes?"},
                                  [("Authorization", "Bearer " + v.token), ("X-Forwarded-For", xff(v.i))])
            post_lat.append((time.monotonic() - v.posted) * 1000)
            if st == 201:
                accepted[0] += 1
    posters = [asyncio.ensure_future(poster(c)) for c in conns]
    for n, v in enumerate(visitors):
        if RATE > 0:
            delay = t0 + n / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        q.put_nowait(v)
    for _ in posters:
        q.put_nowait(None)
    await asyncio.gather(*posters)
    with open(READY, "w") as f:
        f.write("posted %d in %.1f s\n" % (accepted[0], time.monotonic() - t0))
    try:
        await asyncio.wait_for(asyncio.gather(*watchers, return_exceptions=True), 300)
    except asyncio.TimeoutError:
        pass
    first = sorted((v.first - v.posted) * 1000 for v in visitors if v.first and v.posted)
    done = sorted((v.done - v.posted) * 1000 for v in visitors if v.done and v.posted)
    post_lat.sort()
    print("accepted %d/%d, replies %d; first delta p50 %.1f p99 %.1f max %.1f ms; stored reply p50 %.0f p99 %.0f "
          "max %.0f ms; POST p50 %.1f p99 %.1f max %.1f ms"
          % (accepted[0], COUNT, len(done), pct(first, .5), pct(first, .99), first[-1] if first else float("nan"),
             pct(done, .5), pct(done, .99), done[-1] if done else float("nan"),
             pct(post_lat, .5), pct(post_lat, .99), post_lat[-1] if post_lat else float("nan")))


asyncio.run(main())
