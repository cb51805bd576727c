"""What the local servers share: a request handler that answers in one call."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


class Responder(BaseHTTPRequestHandler):
    def send_body(self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        """Status, type, length and any extra headers, then the body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
