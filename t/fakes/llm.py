#!/usr/bin/python3
"""A fake OpenAI-compatible Chat Completions provider, speaking its wire format.

usage: llm.py PORT LOGFILE

POST /v1/chat/completions answers like OpenAI (and Ollama, llama.cpp):
  "stream": false -> one chat.completion JSON object with usage;
  "stream": true  -> text/event-stream, chunked, one chat.completion.chunk
                     per word (first a role chunk, then the words, then a
                     finish_reason chunk, a usage chunk with empty choices
                     when stream_options.include_usage, then data: [DONE]),
                     each flushed on its own.
The reply is "I can help with that.", or, when the last user message
contains [[echo]], that message's content. Default usage: prompt_tokens =
characters of all message contents // 4, completion_tokens = words.

Control API on the same port:
  POST /_script     a JSON array of behaviours, consumed one per completion
                    request, first in first out:
                      {"reply": "text"}              this content
                      {"status": 429, "retry_after": 0}
                      {"status": 500}                an OpenAI error reply
                      {"error_in_stream": true}      a role chunk (and the
                          words of "reply", if given), then an error object
                      {"delay_ms": N, ...}           sleep first
                      {"chunk_delay_ms": N, ...}     sleep between chunks
                      {"hold": true, ...}            wait for POST /_release
                          (at most 20 s) before answering
                      {"usage": {"prompt_tokens": N, "completion_tokens": M}}
                      {"finish_reason": "length"}
                  In "reply", {system} stands for the first message's
                  content and {canary} for the word after "Confidential
                  marker: " in the system messages (a leaking model).
  GET /_requests    every request so far: [{"headers": {...}, "body": {...}}]
  GET /_held        {"held": N}: completion requests waiting for a release
  POST /_release    lets every held request go on
  DELETE /_requests forgets them and empties the script.
Anything else: 404 with an OpenAI error object.

Each completion request also appends one JSON line to LOGFILE, with the
Authorization header reduced to its length: the log is searched for the
tests' secrets (t/lib/secrets-in-logs) and the API key is one. GET
/_requests has it whole. Prints nothing on stdout.
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG = int(sys.argv[1]), sys.argv[2]
DEFAULT_REPLY = "I can help with that."
MAX_BODY = 4 * 1024 * 1024

lock = threading.Lock()
script = []
requests = []
serial = [0]
held = [0]
released = threading.Condition(lock)
generation = [0]

ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", "unknown_url", "Unknown request URL."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded."),
}


def error_object(status, message=None):
    kind, code, text = ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error."))
    return {"error": {"message": message or text, "type": kind, "param": None, "code": code}}


def dumps(obj):
    """Compact, as OpenAI sends it."""
    return json.dumps(obj, separators=(",", ":"))


def tokens(text):
    """Words with their leading white space; they join back to 'text'."""
    return re.findall(r"\s*\S+|\s+$", text)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, extra=()):
        body = dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def not_found(self):
        self.send_json(404, error_object(
            404, "Unknown request URL: %s %s." % (self.command, self.path)))

    def do_GET(self):
        if self.path == "/_requests":
            with lock:
                out = list(requests)
            self.send_json(200, out)
        elif self.path == "/_held":
            with lock:
                n = held[0]
            self.send_json(200, {"held": n})
        else:
            self.not_found()

    def do_DELETE(self):
        if self.path == "/_requests":
            with lock:
                requests.clear()
                script.clear()
            self.send_json(200, {"ok": True})
        else:
            self.not_found()

    def do_POST(self):
        try:
            raw = self.read_body()
        except ValueError:
            self.send_json(413, error_object(400, "Request too large."))
            self.close_connection = True
            return
        if self.path == "/_script":
            try:
                items = json.loads(raw)
                assert isinstance(items, list) and all(isinstance(b, dict) for b in items)
            except (ValueError, AssertionError):
                self.send_json(400, error_object(400, "_script wants a JSON array of objects."))
                return
            with lock:
                script.extend(items)
            self.send_json(200, {"queued": len(items)})
        elif self.path == "/_release":
            with lock:
                generation[0] += 1
                released.notify_all()
            self.send_json(200, {"ok": True})
        elif self.path == "/v1/chat/completions":
            self.completion(raw)
        else:
            self.not_found()

    def record(self, body):
        headers = {k: self.headers.get(k) for k in ("Authorization", "Content-Type")}
        logged = dict(headers)
        if logged["Authorization"] is not None:
            logged["Authorization"] = "[%d bytes]" % len(logged["Authorization"])
        with lock:
            requests.append({"headers": headers, "body": body})
            with open(LOG, "a") as f:
                f.write(json.dumps({"headers": logged, "body": body}) + "\n")

    def completion(self, raw):
        try:
            body = json.loads(raw)
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            body = None
        self.record(body)
        with lock:
            b = script.pop(0) if script else {}
            serial[0] += 1
            cid = "chatcmpl-fake%06d" % serial[0]
        if b.get("hold"):
            # Waits for the test's signal: a reply that starts only once
            # the test has seen what must come first.
            with lock:
                held[0] += 1
                mine = generation[0]
                released.wait_for(lambda: generation[0] != mine, timeout=20)
                held[0] -= 1
        if b.get("delay_ms"):
            time.sleep(b["delay_ms"] / 1000.0)
        if body is None or not isinstance(body.get("messages"), list):
            self.send_json(400, error_object(400, "We could not parse the JSON body of your request."))
            return
        if b.get("status"):
            extra = []
            if "retry_after" in b:
                extra.append(("Retry-After", str(b["retry_after"])))
            self.send_json(int(b["status"]), error_object(int(b["status"])), extra)
            return
        msgs = body["messages"]
        reply = b.get("reply")
        if isinstance(reply, str):
            # {system} and {canary}: what a model that leaks would say.
            system = "".join(m.get("content") or "" for m in msgs
                             if isinstance(m, dict) and m.get("role") == "system")
            marker = re.search(r"Confidential marker: (\S+)", system)
            reply = reply.replace("{system}", msgs[0].get("content") or "" if msgs else "")
            reply = reply.replace("{canary}", marker.group(1) if marker else "")
        if reply is None:
            reply = DEFAULT_REPLY
            users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
            last = users[-1].get("content") if users else None
            if isinstance(last, str) and "[[echo]]" in last:
                reply = last
        usage = {
            "prompt_tokens": sum(len(m.get("content") or "") for m in msgs
                                 if isinstance(m, dict) and isinstance(m.get("content"), str)) // 4,
            "completion_tokens": len(reply.split()),
        }
        usage.update(b.get("usage") or {})
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = body.get("model", "fake")
        finish = b.get("finish_reason", "stop")
        if body.get("stream"):
            self.stream(b, cid, model, reply, usage, finish, body)
        elif b.get("error_in_stream"):
            self.send_json(200, error_object(500))
        else:
            self.send_json(200, {
                "id": cid, "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "logprobs": None, "finish_reason": finish,
                             "message": {"role": "assistant", "content": reply,
                                         "refusal": None}}],
                "usage": usage,
            })

    def chunk(self, data):
        payload = ("data: %s\n\n" % data).encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def stream(self, b, cid, model, reply, usage, finish, body):
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        pause = (b.get("chunk_delay_ms") or 0) / 1000.0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def obj(delta, fin=None, choices=True):
            o = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": model, "system_fingerprint": None,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": fin}] if choices else []}
            if want_usage:
                o["usage"] = None
            return dumps(o)

        self.chunk(obj({"role": "assistant", "content": "", "refusal": None}))
        if b.get("error_in_stream"):
            for t in tokens(b.get("reply") or ""):
                time.sleep(pause)
                self.chunk(obj({"content": t}))
            self.chunk(dumps(error_object(500)))
        else:
            for t in tokens(reply):
                time.sleep(pause)
                self.chunk(obj({"content": t}))
            self.chunk(obj({}, finish))
            if want_usage:
                u = json.loads(obj({}, choices=False))
                u["usage"] = usage
                self.chunk(dumps(u))
            self.chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hung up (a timeout test) is not an error.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


Server(("127.0.0.1", PORT), H).serve_forever()
