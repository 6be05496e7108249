#!/usr/bin/python3
"""A fake of reCAPTCHA's siteverify endpoint, speaking its wire format.

usage: recaptcha.py PORT SECRET LOG

POST form fields secret, response, remoteip; answers JSON like Google:
  response "pass"  -> success, score 0.9
  response "low"   -> success, score 0.1 (a v3 bot score)
  anything else    -> success false, error-codes ["invalid-input-response"]
A wrong secret -> success false, ["invalid-input-secret"]. Each request
appends "response remoteip" (never the secret) to LOG.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

PORT, SECRET, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(n).decode())
        secret = form.get("secret", [""])[0]
        resp = form.get("response", [""])[0]
        ip = form.get("remoteip", [""])[0]
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (resp, ip))
        if secret != SECRET:
            out = {"success": False, "error-codes": ["invalid-input-secret"]}
        elif resp == "pass":
            out = {"success": True, "score": 0.9, "action": "register"}
        elif resp == "low":
            out = {"success": True, "score": 0.1, "action": "register"}
        else:
            out = {"success": False, "error-codes": ["invalid-input-response"]}
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), H).serve_forever()
