#!/usr/bin/python3
"""A slow OpenAI-compatible provider on one asyncio event loop, for bench/.

usage: slowllm.py PORT WORDS INTERVAL_MS

POST /v1/chat/completions with "stream": true answers text/event-stream,
chunked: a role chunk, then WORDS chat.completion.chunk objects, one every
INTERVAL_MS (like a real model writing), a finish_reason chunk, a usage
chunk and data: [DONE]. Without "stream" it answers the whole reply at
once. One coroutine per connection, no thread per request, so thousands
of streams cost this process little of the machine's two cores.
GET /_stats answers {"open": streams now, "served": streams finished}.
"""
import asyncio
import json
import sys

PORT, WORDS, INTERVAL = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0
stats = {"open": 0, "served": 0}


def chunk(obj):
    data = ("data: " + json.dumps(obj) + "\n\n").encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


def delta(content=None, role=None, finish=None):
    d = {}
    if role:
        d["role"] = role
    if content is not None:
        d["content"] = content
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench",
            "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for h in lines[1:]:
                if h.lower().startswith("content-length:"):
                    length = int(h.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if method == "GET" and path == "/_stats":
                out = json.dumps(stats).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
                await writer.drain()
                continue
            req = json.loads(body or b"{}")
            words = ["word%d" % i for i in range(WORDS)]
            if not req.get("stream"):
                out = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion",
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                                               "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 100, "completion_tokens": WORDS}}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
                await writer.drain()
                continue
            stats["open"] += 1
            try:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                writer.write(chunk(delta(role="assistant", content="")))
                await writer.drain()
                for i, w in enumerate(words):
                    await asyncio.sleep(INTERVAL)
                    writer.write(chunk(delta(content=(" " if i else "") + w)))
                    await writer.drain()
                writer.write(chunk(delta(finish="stop")))
                writer.write(chunk({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": [],
                                    "usage": {"prompt_tokens": 100, "completion_tokens": WORDS}}))
                data = b"data: [DONE]\n\n"
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                await writer.drain()
            finally:
                stats["open"] -= 1
                stats["served"] += 1
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()


asyncio.run(main())
