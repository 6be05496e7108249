#!/usr/bin/python3
"""Idle event subscribers for bench/run.

usage: subscribers.py BASE_URL PATH TOKEN COUNT READY_FILE

Opens COUNT server-sent-event subscriptions to BASE_URL + PATH, with
TOKEN as the Bearer credential (HTTPS
keep-alive, certificate not checked), writes "COUNT_OK COUNT_FAILED" to
READY_FILE once every one has its answer head, then holds them open,
reading whatever arrives, until killed. Each connection comes from its own
X-Forwarded-For address (bench/run trusts it from loopback), as real
visitors would.
"""
import asyncio
import ssl
import sys
from urllib.parse import urlparse

BASE, PATH, TOKEN, COUNT, READY = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
u = urlparse(BASE)
ctx = None
if u.scheme == "https":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
held = []


async def one(i):
    try:
        r, w = await asyncio.open_connection(u.hostname, u.port, ssl=ctx)
        w.write(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
                 "Authorization: Bearer %s\r\nX-Forwarded-For: 198.18.%d.%d\r\n\r\n"
                 % (PATH, u.hostname, TOKEN, 100 + i // 250, i % 250 + 1)).encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
        ok = b" 200 " in head.split(b"\r\n", 1)[0]
        held.append((r, w))
        return ok
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return False


async def drain(r):
    try:
        while await r.read(65536):
            pass
    except OSError:
        pass


async def main():
    results = []
    # Open them in batches, so the TLS handshakes do not all pile up.
    for start in range(0, COUNT, 100):
        results += await asyncio.gather(*(one(i) for i in range(start, min(COUNT, start + 100))))
    ok = sum(1 for x in results if x)
    with open(READY, "w") as f:
        f.write("%d %d\n" % (ok, COUNT - ok))
    await asyncio.gather(*(drain(r) for r, _ in held))


asyncio.run(main())
