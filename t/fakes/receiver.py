#!/usr/bin/python3
"""A customer's webhook receiver: takes POSTs on any path, keeps them.

usage: receiver.py PORT

Every POST to a path not starting with /_ is a delivery: it is recorded
(path, headers, raw body) the moment it arrives, then answered as the next
scripted behaviour says, first in first out:
    {"status": N}                answer N (default 200, body "ok")
    {"body": "text"}             with this body
    {"location": "URL"}          with a Location header (redirects)
    {"delay_ms": N}              sleep first (timeouts)
    {"hold": true}               wait until POST /_release (kill tests)
An empty script answers 200 "ok".

Control API:
  POST /_script     a JSON array of behaviours to append
  GET /_requests    [{"path", "headers": {lower-case name: value}, "body"}]
  DELETE /_requests forgets them, empties the script, releases holds
  POST /_release    lets held requests answer (200)
Prints nothing on stdout.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
MAX_BODY = 1024 * 1024

lock = threading.Lock()
script = []
requests = []
release = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(n, MAX_BODY))

    def do_GET(self):
        if self.path == "/_requests":
            with lock:
                body = json.dumps(requests).encode()
            self.reply(200, body, "application/json")
        else:
            self.reply(404)

    def do_DELETE(self):
        if self.path == "/_requests":
            with lock:
                requests.clear()
                script.clear()
            release.set()
            self.reply(204)
        else:
            self.reply(404)

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_script":
            with lock:
                script.extend(json.loads(body))
            release.clear()
            self.reply(204)
            return
        if self.path == "/_release":
            release.set()
            self.reply(204)
            return
        if self.path.startswith("/_"):
            self.reply(404)
            return
        with lock:
            requests.append({
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            b = script.pop(0) if script else {}
        if b.get("hold"):
            release.wait(60)
        if b.get("delay_ms"):
            time.sleep(b["delay_ms"] / 1000)
        headers = {"Location": b["location"]} if "location" in b else None
        try:
            self.reply(b.get("status", 200), b.get("body", "ok").encode(),
                       headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
