#!/usr/bin/python3
"""A real SMTP receiver for tests (aiosmtpd, Debian's python3-aiosmtpd).

usage: smtp.py PORT MAILDIR

Every accepted message is written to MAILDIR/NNNN.eml as received, with
X-Envelope-From and X-Envelope-To lines in front. Runs until killed.

While MAILDIR/.slow holds a number, each message is answered that many
seconds late (a slow mail server). While MAILDIR/.lose-answer exists, the next message is stored and the
connection then closed instead of answering 250 (the file is removed): to
the sender, a try that died between DATA and the answer.
"""
import asyncio
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(os.path.join(self.maildir, ".slow")) as f:
                await asyncio.sleep(float(f.read().strip() or 0))
        except (OSError, ValueError):
            pass
        with self.lock:
            self.count += 1
            n = self.count
        tmp = os.path.join(self.maildir, ".%04d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            for r in envelope.rcpt_tos:
                f.write(b"X-Envelope-To: " + r.encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(self.maildir, "%04d.eml" % n))
        lose = os.path.join(self.maildir, ".lose-answer")
        if os.path.exists(lose):
            os.unlink(lose)
            server.transport.abort()
        return "250 Message accepted"


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(maildir, exist_ok=True)
    controller = Controller(Handler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *a: (controller.stop(), os._exit(0)))
    signal.pause()


if __name__ == "__main__":
    main()
