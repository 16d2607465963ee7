"""A local HTTP sink for tracers' exporters: accepts every POST, keeps nothing.

Run as ``python bench/sink.py PORT`` in its own process, so that the CPU it
spends does not count against the tracer being measured.
"""

import http.server
import sys


class Accept(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Accept)
    server.serve_forever()
