#!/usr/bin/env python3
"""Capture server for seismo-correlator's receiver tests.

Records every POST (path, arrival time, JSON body) and serves them back on
GET /captured as a JSON list. A path containing /fail answers 500, so retry
behaviour can be tested. Loopback only.

  capture.py PORT
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

captured = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode("utf-8", "replace")}
        with lock:
            captured.append({"path": self.path, "time": time.time(), "body": body,
                             "content_type": self.headers.get("Content-Type", "")})
        status = 500 if "/fail" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        with lock:
            data = json.dumps(captured).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
