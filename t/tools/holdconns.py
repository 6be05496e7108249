#!/usr/bin/python3
"""Holds many connections open from one local address, as a slowloris
client does: holdconns.py FROM_ADDR PORT COUNT MODE

MODE "header": each connection sends the start of a request header and
never finishes it. MODE "body": each sends a whole POST header announcing
a body that never comes. Prints "ready N" (N connections made) once all
are open, then waits until its standard input closes.
"""
import resource
import socket
import sys


def main():
    addr, port, count, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
    if mode == "body":
        head = (b"POST /api/v1/csp-report HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/csp-report\r\nContent-Length: 1000\r\n\r\n{")
    held = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((addr, 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(head)
        except OSError:
            s.close()
            break
        held.append(s)
    print("ready %d" % len(held), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
