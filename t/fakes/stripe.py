#!/usr/bin/python3
"""A fake Stripe API: the few calls parley makes, in Stripe's wire format.

usage: stripe.py PORT SECRET_KEY

Requests must carry "Authorization: Bearer SECRET_KEY" (else 401 with a
Stripe error object); POST bodies are application/x-www-form-urlencoded
with Stripe's bracket notation (line_items[0][price]=...).
  POST /v1/checkout/sessions          needs mode, line_items[0][price],
                                      success_url, cancel_url; answers a
                                      checkout.session with an https url
  POST /v1/billing_portal/sessions    needs customer; answers a portal
                                      session with an https url
  GET /v1/subscriptions/ID            the subscription set with /_subscriptions,
                                      or 404 resource_missing
  DELETE /v1/subscriptions/ID         cancels it (status canceled)
Control API:
  POST /_subscriptions {ID: object}   sets subscriptions
  POST /_fail {"count": N}            the next N API calls answer 500
  GET /_requests                      [{method, path, authorization, form}]
  DELETE /_requests                   forgets requests, failures, subscriptions
Prints nothing on stdout.
"""
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

PORT, KEY = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
requests, subs, fail = [], {}, [0]


def error(kind, msg, code=None):
    e = {"type": kind, "message": msg}
    if code:
        e["code"] = code
    return {"error": e}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode()

    def control(self, method, raw):
        if method == "GET" and self.path == "/_requests":
            with lock:
                return self.reply(200, requests)
        if method == "DELETE" and self.path == "/_requests":
            with lock:
                requests.clear()
                subs.clear()
                fail[0] = 0
            return self.reply(204)
        if method == "POST" and self.path == "/_subscriptions":
            with lock:
                subs.update(json.loads(raw))
            return self.reply(204)
        if method == "POST" and self.path == "/_fail":
            with lock:
                fail[0] = json.loads(raw)["count"]
            return self.reply(204)
        return self.reply(404, error("invalid_request_error", "Unknown control call"))

    def api(self, method, raw):
        form = dict(parse_qsl(raw, keep_blank_values=True))
        with lock:
            requests.append({"method": method, "path": self.path,
                             "authorization": self.headers.get("Authorization"),
                             "form": form})
            failing = fail[0] > 0
            if failing:
                fail[0] -= 1
        if self.headers.get("Authorization") != "Bearer " + KEY:
            return self.reply(401, error("invalid_request_error",
                                         "Invalid API Key provided."))
        if failing:
            return self.reply(500, error("api_error", "Something went wrong on Stripe's end."))
        if method == "POST" and self.path == "/v1/checkout/sessions":
            for k in ("mode", "line_items[0][price]", "success_url", "cancel_url"):
                if not form.get(k):
                    return self.reply(400, error("invalid_request_error",
                                                 "Missing required param: %s." % k, "parameter_missing"))
            sid = "cs_test_" + secrets.token_hex(12)
            return self.reply(200, {
                "id": sid, "object": "checkout.session", "mode": form["mode"],
                "client_reference_id": form.get("client_reference_id"),
                "customer": form.get("customer"),
                "customer_email": form.get("customer_email"),
                "metadata": {"plan": form.get("metadata[plan]")},
                "url": "https://checkout.stripe.com/c/pay/" + sid})
        if method == "POST" and self.path == "/v1/billing_portal/sessions":
            if not form.get("customer"):
                return self.reply(400, error("invalid_request_error",
                                             "Missing required param: customer.", "parameter_missing"))
            sid = "bps_" + secrets.token_hex(12)
            return self.reply(200, {
                "id": sid, "object": "billing_portal.session", "customer": form["customer"],
                "return_url": form.get("return_url"),
                "url": "https://billing.stripe.com/p/session/" + sid})
        if self.path.startswith("/v1/subscriptions/"):
            sid = self.path[len("/v1/subscriptions/"):]
            with lock:
                s = subs.get(sid)
                if s is not None and method == "DELETE":
                    s["status"] = "canceled"
            if s is None:
                return self.reply(404, error("invalid_request_error",
                                             "No such subscription: '%s'" % sid, "resource_missing"))
            return self.reply(200, s)
        return self.reply(404, error("invalid_request_error", "Unrecognized request URL."))

    def handle_any(self, method):
        raw = self.body()
        if self.path.startswith("/_"):
            return self.control(method, raw)
        return self.api(method, raw)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
