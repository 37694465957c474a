#!/usr/bin/env python3
"""Capture server for seismo-correlator's receiver tests.

Records every POST (path, arrival time, JSON body, and "done": when the
answer was written, null until then) and serves them back on GET /captured
as a JSON list. A path containing /fail answers 500, so retry behaviour can
be tested; /hang holds the request until GET /release (a receiver that
hangs); /slow answers after 1.5 s. Loopback only.

  capture.py PORT
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

captured = []
lock = threading.Lock()
released = threading.Event()


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
        rec = {"path": self.path, "time": time.time(), "body": body, "done": None,
               "content_type": self.headers.get("Content-Type", "")}
        with lock:
            captured.append(rec)
        if "/hang" in self.path:
            released.wait(120)
        elif "/slow" in self.path:
            time.sleep(1.5)
        status = 500 if "/fail" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")
        self.wfile.flush()
        with lock:
            rec["done"] = time.time()

    def do_GET(self):
        if self.path == "/release":
            released.set()
        with lock:
            data = json.dumps(captured).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
