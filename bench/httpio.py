"""One HTTP/1.1 response read off an asyncio stream, for bench/'s clients
(openloop.py, streams.py): status, body (Content-Length or chunked) and
whether the connection may be kept."""


async def read_response(r):
    """Returns (status, body bytes, keep-alive)."""
    head = await r.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, chunked, keep, body = 0, False, True, b""
    for line in head.split(b"\r\n"):
        k, _, v = line.partition(b":")
        k = k.lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
        elif k == b"connection" and b"close" in v.lower():
            keep = False
    if chunked:
        while True:
            size = int((await r.readuntil(b"\r\n")).strip(), 16)
            body += (await r.readexactly(size + 2))[:size]
            if size == 0:
                break
    elif length:
        body = await r.readexactly(length)
    return status, body, keep
