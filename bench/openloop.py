#!/usr/bin/python3
"""An open-loop load generator for visitor messages.

usage: openloop.py BASE_URL[,BASE_URL...] TARGETS_FILE RATE SECONDS

TARGETS_FILE has one "TOKEN CONVERSATION_ID" line per visitor. Requests
(POST /api/v1/widget/conversations/ID/messages) are started at a fixed
rate whatever the answers do (open loop: a slow answer does not slow the
sending, so queueing shows in the latencies), round-robin over the
visitors, on keep-alive HTTPS connections opened as needed. Latency is
measured from when a request was due, not from when it was sent, so a
client that falls behind does not hide it (no coordinated omission).
Several base URLs (hosts of one deployment) take the requests in turn.

Prints one line: sent, ok, errors, achieved rate, p50, p90, p99, max (ms)
of every answer; with errors, their statuses and problem codes, and the
p99 of the 201s.
"""
import asyncio
import json
import ssl
import sys
import time
from urllib.parse import urlparse

from httpio import read_response

BASE, TARGETS, RATE, SECONDS = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
hosts = [urlparse(b) for b in BASE.split(",")]
u = hosts[0]
targets = [line.split() for line in open(TARGETS) if line.strip()]
ctx = None
if u.scheme == "https":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

idle = [[] for _ in hosts]
lat = []
ok_lat = []  # the answers that were 201
errors = [0]
codes = {}


async def connect(h):
    return await asyncio.open_connection(h.hostname, h.port, ssl=ctx)


def addr(i):
    """Each visitor its own client address (bench/run trusts X-Forwarded-For
    from loopback), as real visitors are: nginx's per-address limit holds."""
    v = i % len(targets)
    return "198.18.%d.%d" % (v // 250, v % 250 + 1)


async def one(i, due):
    tok, conv = targets[i % len(targets)]
    hi = i % len(hosts)
    h, pool = hosts[hi], idle[hi]
    body = json.dumps({"content": "How often should I water tomatoes? (%d)" % i}).encode()
    req = ("POST /api/v1/widget/conversations/%s/messages HTTP/1.1\r\nHost: %s\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "X-Forwarded-For: %s\r\nContent-Length: %d\r\n\r\n"
           % (conv, h.hostname, tok, addr(i), len(body))).encode() + body
    w = None
    try:
        conn = pool.pop() if pool else await connect(h)
        r, w = conn
        w.write(req)
        status, body, keep = await read_response(r)
        lat.append((time.monotonic() - due) * 1000.0)
        if status != 201:
            errors[0] += 1
            try:
                code = "%d/%s" % (status, json.loads(body)["code"])
            except (ValueError, KeyError, TypeError):
                code = str(status)
            codes[code] = codes.get(code, 0) + 1
        else:
            ok_lat.append(lat[-1])
        if keep:
            pool.append(conn)
        else:
            w.close()
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors[0] += 1
        codes["io"] = codes.get("io", 0) + 1
        lat.append((time.monotonic() - due) * 1000.0)
        if w is not None:
            w.close()


async def main():
    start = time.monotonic() + 0.2
    total = int(RATE * SECONDS)
    tasks = []
    for i in range(total):
        due = start + i / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    s = sorted(lat)

    def pct(p):
        return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")
    print("sent %d ok %d errors %d rate %.0f/s p50 %.1f p90 %.1f p99 %.1f max %.1f ms" % (
        total, len(s) - errors[0], errors[0], total / elapsed, pct(0.50), pct(0.90), pct(0.99),
        s[-1] if s else float("nan")) + ("" if not codes else " (%s)" % " ".join(
            "%s:%d" % (k, v) for k, v in sorted(codes.items(), key=str))) +
        (" ok_p99 %.1f ms" % sorted(ok_lat)[min(len(ok_lat) - 1, int(len(ok_lat) * 0.99))] if codes and ok_lat else ""))


asyncio.run(main())
