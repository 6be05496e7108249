#!/usr/bin/python3
"""A shop's website, for the knowledge-base fetcher: pages, a sitemap, a
robots.txt, a PDF and a DOCX (made here, byte by byte), redirects.

usage: site.py PORT

Serves (BASE is http://127.0.0.1:PORT):
  /robots.txt            User-agent: * / Disallow: /private/
  /sitemap.xml           a sitemap listing the pages below, one page on a
                         private address, a redirect to a link-local one
  /help/*.html           HTML pages
  /private/secret.html   a page robots.txt forbids
  /files/guide.pdf       a PDF with a line of text
  /files/care.docx       a DOCX with a paragraph
  /files/bomb.docx       a DOCX whose XML unpacks to 64 MiB
  /redirect-meta         302 to http://169.254.169.254/latest/meta-data/
Control API:
  POST /_set        {"path", "status"?, "body"?, "type"?}: changes a path
  GET /_requests    the paths asked for, in order
Prints nothing on stdout.
"""
import io
import json
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
BASE = "http://127.0.0.1:%d" % PORT


def pdf(text):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"]
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream +
                b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return out


def docx(paragraphs, pad=0):
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % p
                   for p in paragraphs)
    xml = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="%s">'
           '<w:body>%s</w:body></w:document>' % (w, body))
    if pad:
        xml = xml.replace("<w:body>", "<w:body><!--" + " " * pad + "-->")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", xml)
    return out.getvalue()


def page(title, text):
    return ("<!doctype html><html><head><title>%s</title></head><body>"
            "<nav>Home | Shop</nav><main><h1>%s</h1><p>%s</p></main>"
            "<script>var tracking = 1;</script></body></html>"
            % (title, title, text)).encode()


def sitemap(paths):
    locs = "".join("<url><loc>%s</loc></url>" % (p if p.startswith("http")
                                                 else BASE + p)
                   for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://'
            'www.sitemaps.org/schemas/sitemap/0.9">%s</urlset>'
            % locs).encode()


LOCK = threading.Lock()
REQUESTS = []
PAGES = {
    "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
    "/sitemap.xml": (200, "application/xml", sitemap([
        "/help/tents.html", "/help/boots.html", "/private/secret.html",
        "/files/guide.pdf", "/files/care.docx", "/help/gone.html",
        "http://10.0.0.1/internal.html", "/redirect-meta"])),
    "/help/tents.html": (200, "text/html; charset=utf-8", page(
        "Tents", "Our tents are waterproof to 3000 mm and pitch in five "
        "minutes.")),
    "/help/boots.html": (200, "text/html", page(
        "Boots", "Leather boots need wax once a month.")),
    "/help/gone.html": (200, "text/html", page(
        "Old offer", "The winter sale ends on Sunday.")),
    "/private/secret.html": (200, "text/html", page(
        "Secret", "Staff discount code STAFF-99.")),
    "/files/guide.pdf": (200, "application/pdf", pdf(
        "Our sleeping bags keep you warm at minus ten degrees.")),
    "/files/care.docx": (200, "application/vnd.openxmlformats-"
                         "officedocument.wordprocessingml.document", docx(
                             ["Wash the rain jacket at thirty degrees.",
                              "Dry it on low heat to renew the coating."])),
    "/files/bomb.docx": (200, "application/octet-stream",
                         docx(["Boom."], pad=64 * 1024 * 1024)),
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send(self, status, ctype, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                body = json.dumps(REQUESTS).encode()
            return self.send(200, "application/json", body)
        with LOCK:
            REQUESTS.append(self.path)
            found = PAGES.get(self.path)
        if self.path == "/redirect-meta":
            return self.send(302, "text/plain", b"moved", {
                "Location": "http://169.254.169.254/latest/meta-data/"})
        if found is None:
            return self.send(404, "text/plain", b"not found")
        self.send(*found)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        o = json.loads(self.rfile.read(n) or b"{}")
        if self.path != "/_set":
            return self.send(404, "text/plain", b"not found")
        with LOCK:
            if o.get("status") == 404:
                PAGES.pop(o["path"], None)
            elif o["path"] == "/sitemap.xml":
                PAGES[o["path"]] = (200, "application/xml",
                                    sitemap(o["pages"]))
            else:
                PAGES[o["path"]] = (200, o.get("type", "text/html"),
                                    page(o.get("title", "Page"),
                                         o["body"]))
        self.send(200, "application/json", b"{}")


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
