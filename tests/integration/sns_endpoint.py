#!/usr/bin/env python3
"""An SNS http/https subscriber for run_sns_http.sh: records every POST it gets.

usage: sns_endpoint.py PORT RECORD_FILE [CERT KEY]

Each POST is appended to RECORD_FILE as one JSON line {"path", "headers", "body"} before the
answer goes. A path starting /fail answers 500, anything else 200. With CERT and KEY it
serves https. It serves until killed (the test stops it by PID).
"""
import http.server
import json
import ssl
import sys


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        line = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body}
        with open(self.server.record, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
        status = 500 if self.path.startswith("/fail") else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    port, record = int(sys.argv[1]), sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    server.record = record
    if len(sys.argv) == 5:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
