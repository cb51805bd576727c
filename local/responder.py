"""What the local servers share: a server on 127.0.0.1 served from a thread, and a quiet request
handler that answers in one call."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalServer(ThreadingHTTPServer):
    """A stand-in served from a daemon thread: ``start``/``stop``, or ``with``."""

    daemon_threads = True
    thread_name: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> Self:
        kwargs = {"poll_interval": 0.05}
        threading.Thread(target=self.serve_forever, kwargs=kwargs, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Responder(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read state, not logs
        pass

    def send_body(self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        """Status, type, length and any extra headers, then the body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def signing_key_id(handler: BaseHTTPRequestHandler, body: bytes, secrets: dict[str, str], service: str) -> str | None:
    """The AccessKeyId that signed ``handler``'s POST with SigV4 for ``service``, as AWS checks it (a known key,
    its scope, the headers it signed), or None."""
    import re

    from alibaba_cloud.aws.sigv4 import AwsCredentials, authorization

    given = handler.headers.get("Authorization", "")
    credential = re.search(rf"Credential=([^/]+)/(\d{{8}})/([^/]+)/{service}/aws4_request", given)
    signed_names = re.search(r"SignedHeaders=([^,]+)", given)
    if credential is None or signed_names is None or credential[1] not in secrets:
        return None
    headers = [(name, handler.headers.get(name, "")) for name in signed_names[1].split(";")]
    expected = authorization(
        "POST",
        handler.path,
        "",
        headers,
        body,
        AwsCredentials(credential[1], secrets[credential[1]]),
        credential[3],
        service,
        handler.headers.get("X-Amz-Date", ""),
    )
    return credential[1] if expected == given else None
